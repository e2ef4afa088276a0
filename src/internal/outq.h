/* The output queue of a connection: the bytes its writer coalesced, with
 * references to zws_bufs (a large payload, a shared pub/sub frame) queued
 * between them in order. Resumable after any partial write: consume() takes
 * exactly what the kernel took, and the next iov() starts there.
 *
 * The writer's buffer stays one FIFO of bytes; each reference segment
 * records how many of those bytes go out before it, so no byte is copied to
 * place a reference behind pending output. The writer is passed to each
 * call (the session makes it only when output is queued): NULL means it
 * holds nothing. */
#ifndef ZWS_INTERNAL_OUTQ_H
#define ZWS_INTERNAL_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "zws/buf.h"
#include "zws/writer.h"

typedef struct zws__seg {
    size_t before; /* writer bytes that go out before this segment */
    zws_buf *buf;  /* one reference, held until the segment is written */
    size_t off, len;
} zws__seg;

/* The queued segments with their bookkeeping, in one allocation made at
 * the first reference queued, so a connection that queues none (and one
 * trimmed since) carries a single pointer. */
typedef struct zws__segs {
    uint32_t head, n, cap; /* seg[head..head+n) */
    size_t accounted;      /* sum of before over the queued segments */
    size_t ref_bytes;      /* bytes of the queued segments */
    zws__seg seg[];
} zws__segs;

typedef struct zws__outq {
    zws__segs *v; /* NULL: no segment queued */
} zws__outq;

void zws__outq_init(zws__outq *q);
/* Drops every reference still queued. */
void zws__outq_free(zws__outq *q);
/* Frees the segment array when no segment is queued (an idle connection). */
void zws__outq_trim(zws__outq *q);
static inline int zws__outq_empty(const zws__outq *q) { return !q->v || q->v->n == 0; }

/* Queues buf[off..off+len) behind what is pending (takes a new reference).
 * 0 or ZWS_ENOMEM. */
int zws__outq_push_ref(zws__outq *q, const zws_writer *w, zws_buf *buf, size_t off,
                       size_t len);

/* Bytes waiting: the writer's and the references'. */
size_t zws__outq_bytes(const zws__outq *q, const zws_writer *w);

/* Fills up to max iovecs with what to write next, in order; returns how
 * many. Valid until the queue or the writer changes. */
int zws__outq_iov(const zws__outq *q, const zws_writer *w, struct iovec *iov, int max);

/* n bytes were written from the front. */
void zws__outq_consume(zws__outq *q, zws_writer *w, size_t n);

#endif
