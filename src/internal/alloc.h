/* Internal allocation wrappers: every allocation goes through the hooks set
 * by zws_set_allocator(). */
#ifndef ZWS_INTERNAL_ALLOC_H
#define ZWS_INTERNAL_ALLOC_H

#include <stddef.h>

void *zws__malloc(size_t n);
void *zws__realloc(void *p, size_t n);
void zws__free(void *p);
/* s[0..n) copied and NUL-terminated; NULL when out of memory. */
char *zws__strndup(const char *s, size_t n);

#endif
