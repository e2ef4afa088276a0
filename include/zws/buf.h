/* zws — owned, reference-counted byte buffers.
 *
 * A zws_buf is one allocation: a small header (length, atomic reference
 * count) followed by the bytes. It is what crosses threads and queues: a
 * borrowed view (pointer + length into a read buffer) must not. Reference
 * counting is atomic; the bytes themselves are not synchronised, so do not
 * write to a buffer another thread may be reading. */
#ifndef ZWS_BUF_H
#define ZWS_BUF_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zws_buf zws_buf;

/* New buffer holding a copy of data[0..len), with one reference owned by the
 * caller. NULL when out of memory. data may be NULL when len is 0. */
ZWS_EXTERN zws_buf *zws_buf_new_copy(const void *data, size_t len);

/* New buffer of len uninitialised bytes (fill them through zws_buf_mut). */
ZWS_EXTERN zws_buf *zws_buf_new(size_t len);

/* Refills b, which the caller holds the only reference to, with a copy of
 * data[0..len): its allocation is used again, for a thread that recycles
 * the buffers given back to it rather than allocate one per message (make
 * them with zws_buf_new(room) to leave room for longer messages). data may
 * be NULL when len is 0 and must not point into b. Returns b, or NULL with
 * b unchanged (and still the caller's) when len exceeds the size b was
 * made with (zws_buf_new's len, zws_buf_new_copy's) or other references
 * to b remain. */
ZWS_EXTERN zws_buf *zws_buf_refill(zws_buf *b, const void *data, size_t len);

/* Takes one more reference; returns b. */
ZWS_EXTERN zws_buf *zws_buf_ref(zws_buf *b);

/* Drops one reference; the last one frees the buffer. NULL is ignored. */
ZWS_EXTERN void zws_buf_unref(zws_buf *b);

/* The bytes: valid while the caller holds a reference. */
ZWS_EXTERN const uint8_t *zws_buf_data(const zws_buf *b);
ZWS_EXTERN uint8_t *zws_buf_mut(zws_buf *b);
ZWS_EXTERN size_t zws_buf_len(const zws_buf *b);

#ifdef __cplusplus
}
#endif
#endif
