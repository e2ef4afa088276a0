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

/* n bytes that start on a 4 KiB boundary, for buffers the kernel copies
 * socket data into. On AMD Zen cores the kernel's copy (rep movsb) runs
 * several times slower when the destination sits a few bytes past the
 * source modulo 4 KiB, and loopback and NIC data start on a page: a
 * receive buffer 16 bytes into a page (malloc's header) made a 64 KiB echo
 * cost 1.4x the CPU of one into a page-aligned buffer. Free with
 * zws__free_paged(). */
void *zws__malloc_paged(size_t n);
void zws__free_paged(void *p);

#endif
