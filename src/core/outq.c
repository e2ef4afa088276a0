/* Output queue: writer bytes interleaved with zws_buf references. */
#include <string.h>

#include "internal/alloc.h"
#include "internal/outq.h"

void zws__outq_init(zws__outq *q) { q->v = NULL; }

void zws__outq_free(zws__outq *q)
{
    zws__segs *v = q->v;
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        zws_buf_unref(v->seg[v->head + i].buf);
    zws__free(v);
    q->v = NULL;
}

void zws__outq_trim(zws__outq *q)
{
    if (q->v && q->v->n == 0) {
        zws__free(q->v);
        q->v = NULL;
    }
}

static size_t writer_bytes(const zws_writer *w)
{
    size_t n = 0;
    if (w)
        zws_writer_pending(w, &n);
    return n;
}

/* Room for one more segment at the end. 0 or ZWS_ENOMEM. */
static int make_room(zws__outq *q)
{
    zws__segs *v = q->v;
    if (v && v->head + v->n < v->cap)
        return 0;
    if (v && v->head) { /* slide the live segments to the front */
        memmove(v->seg, v->seg + v->head, v->n * sizeof *v->seg);
        v->head = 0;
        return 0;
    }
    if (v && v->cap > UINT32_MAX / 2)
        return ZWS_ENOMEM;
    uint32_t cap = v ? v->cap * 2 : 4;
    zws__segs *nv = zws__realloc(v, sizeof *nv + cap * sizeof nv->seg[0]);
    if (!nv)
        return ZWS_ENOMEM;
    if (!v)
        memset(nv, 0, sizeof *nv);
    nv->cap = cap;
    q->v = nv;
    return 0;
}

int zws__outq_push_ref(zws__outq *q, const zws_writer *w, zws_buf *buf, size_t off,
                       size_t len)
{
    if (!len)
        return 0;
    if (make_room(q))
        return ZWS_ENOMEM;
    zws__segs *v = q->v;
    size_t before = writer_bytes(w) - v->accounted;
    v->seg[v->head + v->n++] = (zws__seg){before, zws_buf_ref(buf), off, len};
    v->accounted += before;
    v->ref_bytes += len;
    return 0;
}

size_t zws__outq_bytes(const zws__outq *q, const zws_writer *w)
{
    return writer_bytes(w) + (q->v ? q->v->ref_bytes : 0);
}

int zws__outq_iov(const zws__outq *q, const zws_writer *w, struct iovec *iov, int max)
{
    size_t wlen = 0;
    const uint8_t *wp = w ? zws_writer_pending(w, &wlen) : NULL;
    int k = 0;
    const zws__segs *v = q->v;
    size_t accounted = 0;
    if (v) {
        accounted = v->accounted;
        for (size_t i = 0; i < v->n && k < max; i++) {
            const zws__seg *s = &v->seg[v->head + i];
            if (s->before) {
                iov[k++] = (struct iovec){(void *)(uintptr_t)wp, s->before};
                wp += s->before;
                if (k == max)
                    break;
            }
            iov[k++] =
                (struct iovec){(void *)(uintptr_t)(zws_buf_data(s->buf) + s->off), s->len};
        }
    }
    size_t tail = wlen - accounted;
    if (tail && k < max)
        iov[k++] = (struct iovec){(void *)(uintptr_t)wp, tail};
    return k;
}

void zws__outq_consume(zws__outq *q, zws_writer *w, size_t n)
{
    zws__segs *v = q->v;
    while (n && v && v->n) {
        zws__seg *s = &v->seg[v->head];
        if (s->before) {
            size_t k = n < s->before ? n : s->before;
            zws_writer_consume(w, k);
            s->before -= k;
            v->accounted -= k;
            n -= k;
            continue;
        }
        size_t k = n < s->len ? n : s->len;
        s->off += k;
        s->len -= k;
        v->ref_bytes -= k;
        n -= k;
        if (!s->len) {
            zws_buf_unref(s->buf);
            v->head++;
            if (--v->n == 0)
                v->head = 0;
        }
    }
    if (n && w)
        zws_writer_consume(w, n);
}
