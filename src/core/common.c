/* Version, error names, close code rules, allocator hooks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal/alloc.h"
#include "zws/common.h"

unsigned zws_version(void) { return ZWS_VERSION_HEX; }

const char *zws_version_string(void) { return ZWS_VERSION_STRING; }

const char *zws_strerror(int err)
{
    switch (err) {
#define ZWS__ERR_STR(name, val, desc)                                          \
    case ZWS_E##name:                                                          \
        return desc;
        ZWS_ERRNO_MAP(ZWS__ERR_STR)
#undef ZWS__ERR_STR
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

const char *zws_errname(int err)
{
    switch (err) {
#define ZWS__ERR_NAME(name, val, desc)                                         \
    case ZWS_E##name:                                                          \
        return "ZWS_E" #name;
        ZWS_ERRNO_MAP(ZWS__ERR_NAME)
#undef ZWS__ERR_NAME
    case 0:
        return "OK";
    default:
        return "UNKNOWN";
    }
}

int zws_close_code_valid(unsigned code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

static void *(*malloc_hook)(size_t) = malloc;
static void *(*realloc_hook)(void *, size_t) = realloc;
static void (*free_hook)(void *) = free;

void zws_set_allocator(void *(*malloc_fn)(size_t),
                       void *(*realloc_fn)(void *, size_t),
                       void (*free_fn)(void *))
{
    malloc_hook = malloc_fn ? malloc_fn : malloc;
    realloc_hook = realloc_fn ? realloc_fn : realloc;
    free_hook = free_fn ? free_fn : free;
}

void *zws__malloc(size_t n) { return malloc_hook(n ? n : 1); }

void *zws__realloc(void *p, size_t n) { return realloc_hook(p, n ? n : 1); }

void zws__free(void *p)
{
    if (p)
        free_hook(p);
}

#define PAGE 4096u

void *zws__malloc_paged(size_t n)
{
    if (n > SIZE_MAX - PAGE - sizeof(void *))
        return NULL;
    uint8_t *raw = zws__malloc(n + PAGE + sizeof(void *));
    if (!raw)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + sizeof(void *) + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    void **p = (void **)a;
    p[-1] = raw; /* the allocation to give back */
    return p;
}

void zws__free_paged(void *p)
{
    if (p)
        zws__free(((void **)p)[-1]);
}

char *zws__strndup(const char *s, size_t n)
{
    char *d = zws__malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}
