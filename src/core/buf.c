/* Owned, reference-counted byte buffers: header and bytes in one allocation. */
#include <string.h>

#include "internal/alloc.h"
#include "internal/buf.h"

zws_buf *zws__buf_reserve(zws_buf *b, size_t cap)
{
    if (b && b->cap >= cap)
        return b;
    if (cap > SIZE_MAX - sizeof(zws_buf))
        return NULL;
    zws_buf *n = zws__realloc(b, sizeof(zws_buf) + cap);
    if (!n)
        return NULL;
    if (!b) {
        atomic_init(&n->refs, 1);
        n->len = 0;
    }
    n->cap = cap;
    return n;
}

zws_buf *zws_buf_new(size_t len)
{
    zws_buf *b = zws__buf_reserve(NULL, len);
    if (b)
        b->len = len;
    return b;
}

zws_buf *zws_buf_new_copy(const void *data, size_t len)
{
    zws_buf *b = zws_buf_new(len);
    if (b && len)
        memcpy(b->data, data, len);
    return b;
}

zws_buf *zws_buf_refill(zws_buf *b, const void *data, size_t len)
{
    /* acquire: the reference given up last (its unref released) is done
     * with the bytes before they are written again */
    if (b->cap < len || atomic_load_explicit(&b->refs, memory_order_acquire) != 1)
        return NULL;
    if (len)
        memcpy(b->data, data, len);
    b->len = len;
    return b;
}

zws_buf *zws_buf_ref(zws_buf *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void zws_buf_unref(zws_buf *b)
{
    if (!b)
        return;
    /* Release on every drop, acquire for the last: its owner sees every
     * other owner's accesses as done. (acq_rel rather than a separate
     * fence, which ThreadSanitizer cannot follow; the same on x86.) */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        zws__free(b);
}

const uint8_t *zws_buf_data(const zws_buf *b) { return b->data; }

uint8_t *zws_buf_mut(zws_buf *b) { return b->data; }

size_t zws_buf_len(const zws_buf *b) { return b->len; }
