/* Output queue: writer bytes interleaved with zws_buf references. */
#include <string.h>

#include "internal/alloc.h"
#include "internal/outq.h"

void zws__outq_init(zws__outq *q) { memset(q, 0, sizeof *q); }

void zws__outq_free(zws__outq *q)
{
    for (size_t i = 0; i < q->n; i++)
        zws_buf_unref(q->seg[q->head + i].buf);
    zws__free(q->seg);
    q->seg = NULL;
    q->head = q->n = q->cap = q->accounted = q->ref_bytes = 0;
}

static size_t writer_bytes(const zws_writer *w)
{
    size_t n = 0;
    if (w)
        zws_writer_pending(w, &n);
    return n;
}

int zws__outq_push_ref(zws__outq *q, const zws_writer *w, zws_buf *buf, size_t off,
                       size_t len)
{
    if (!len)
        return 0;
    if (q->head + q->n == q->cap) {
        if (q->head) { /* slide the live segments to the front */
            memmove(q->seg, q->seg + q->head, q->n * sizeof *q->seg);
            q->head = 0;
        } else {
            if (q->cap > UINT32_MAX / 2)
                return ZWS_ENOMEM;
            uint32_t cap = q->cap ? q->cap * 2 : 4;
            zws__seg *s = zws__realloc(q->seg, cap * sizeof *s);
            if (!s)
                return ZWS_ENOMEM;
            q->seg = s;
            q->cap = cap;
        }
    }
    size_t before = writer_bytes(w) - q->accounted;
    q->seg[q->head + q->n++] = (zws__seg){before, zws_buf_ref(buf), off, len};
    q->accounted += before;
    q->ref_bytes += len;
    return 0;
}

size_t zws__outq_bytes(const zws__outq *q, const zws_writer *w)
{
    return writer_bytes(w) + q->ref_bytes;
}

int zws__outq_iov(const zws__outq *q, const zws_writer *w, struct iovec *iov, int max)
{
    size_t wlen = 0;
    const uint8_t *wp = w ? zws_writer_pending(w, &wlen) : NULL;
    int k = 0;
    for (size_t i = 0; i < q->n && k < max; i++) {
        const zws__seg *s = &q->seg[q->head + i];
        if (s->before) {
            iov[k++] = (struct iovec){(void *)(uintptr_t)wp, s->before};
            wp += s->before;
            if (k == max)
                break;
        }
        iov[k++] = (struct iovec){(void *)(uintptr_t)(zws_buf_data(s->buf) + s->off), s->len};
    }
    size_t tail = wlen - q->accounted;
    if (tail && k < max)
        iov[k++] = (struct iovec){(void *)(uintptr_t)wp, tail};
    return k;
}

void zws__outq_consume(zws__outq *q, zws_writer *w, size_t n)
{
    while (n && q->n) {
        zws__seg *s = &q->seg[q->head];
        if (s->before) {
            size_t k = n < s->before ? n : s->before;
            zws_writer_consume(w, k);
            s->before -= k;
            q->accounted -= k;
            n -= k;
            continue;
        }
        size_t k = n < s->len ? n : s->len;
        s->off += k;
        s->len -= k;
        q->ref_bytes -= k;
        n -= k;
        if (!s->len) {
            zws_buf_unref(s->buf);
            q->head++;
            if (--q->n == 0)
                q->head = 0;
        }
    }
    if (n && w)
        zws_writer_consume(w, n);
}
