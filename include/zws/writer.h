/* zws — outbound framing, sans-I/O (RFC 6455 §5.2, §5.3).
 *
 * Frames are built in the writer's output buffer (zws_writer_put), where
 * small frames coalesce so one write syscall carries many, or described as
 * iovecs whose payload is the caller's memory (zws_writer_iov), so a large
 * payload reaches the kernel without a copy.
 *
 * Client role: every frame gets a fresh, unpredictable mask key, drawn from a
 * pool refilled with getrandom(2) a few KiB at a time (not one syscall per
 * frame), and the payload is masked while it is copied into the buffer. */
#ifndef ZWS_WRITER_H
#define ZWS_WRITER_H

#include <sys/uio.h>

#include "common.h"
#include "frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zws_writer zws_writer;

/* zws_writer_put / zws_writer_iov flags. ZWS_RSV1..3 (frame.h) may be or-ed
 * in (set on the first frame of the message only). */
#define ZWS_WRITE_MORE 0x100u /* not the final part: more of this message
                                 follows in later calls (opcode CONT) */

/* Returns 0 or ZWS_ENOMEM / ZWS_EINVAL. Free with zws_writer_free(). */
ZWS_EXTERN int zws_writer_new(zws_writer **out, enum zws_role role);
ZWS_EXTERN void zws_writer_free(zws_writer *w);

/* Split data messages into frames of at most n payload bytes; 0 (default)
 * sends each put as one frame. */
ZWS_EXTERN void zws_writer_set_frag_size(zws_writer *w, size_t n);

/* Upper bound on pending output; a put that would pass it fails with
 * ZWS_ENOSPACE and writes nothing. A close frame is exempt, so a connection
 * can always be closed with a reason. Default 64 MiB. */
ZWS_EXTERN void zws_writer_set_max_pending(zws_writer *w, size_t n);

/* Appends a message (or, with ZWS_WRITE_MORE, part of one) to the output
 * buffer. opcode is TEXT or BINARY to start a message, CONT to continue one
 * started with ZWS_WRITE_MORE, or a control opcode (payload <= 125 bytes,
 * allowed between the parts of a message). The data is copied (and masked,
 * for clients); the caller keeps it. Returns 0 or ZWS_EINVAL (bad opcode,
 * control frame too long, CONT with no message open, TEXT/BINARY while one
 * is open), ZWS_ENOSPACE, ZWS_ENOMEM, ZWS_EIO (no randomness). */
ZWS_EXTERN int zws_writer_put(zws_writer *w, unsigned opcode, const void *data,
                              size_t len, unsigned flags);

/* Bytes waiting to be written: a view valid until the next call that changes
 * the writer. *len may be 0. */
ZWS_EXTERN const uint8_t *zws_writer_pending(const zws_writer *w, size_t *len);

/* Marks n pending bytes as written (n <= pending length). */
ZWS_EXTERN void zws_writer_consume(zws_writer *w, size_t n);

/* Frames a message by reference (server role only: a client's payload must
 * be masked, use zws_writer_put). Headers go into hdr (up to
 * ZWS_FRAME_MAX_HEADER bytes per frame, hdr_cap in all); iov gets two entries
 * per frame, header then payload slice, pointing into hdr and data, which
 * must stay unchanged until written. Returns the number of iov entries used,
 * or ZWS_ESTATE (client role), ZWS_ENOSPACE (iov or hdr too small: one frame
 * per frag_size bytes), or ZWS_EINVAL as zws_writer_put. Pending output from
 * zws_writer_put must be written first. */
ZWS_EXTERN int zws_writer_iov(zws_writer *w, unsigned opcode, const void *data,
                              size_t len, unsigned flags, uint8_t *hdr,
                              size_t hdr_cap, struct iovec *iov, int iovcnt);

#ifdef __cplusplus
}
#endif
#endif
