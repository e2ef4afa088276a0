/* zws — inbound protocol: a sans-I/O parser that turns received bytes into
 * WebSocket events (RFC 6455 §5, §6.2, §7).
 *
 * Pull style. The caller owns the input bytes and calls zws_parser_next()
 * until it returns 0 (need more input):
 *
 *     size_t used;
 *     zws_event ev;
 *     int r;
 *     while ((r = zws_parser_next(p, buf + off, len - off, &used, &ev)) > 0) {
 *         off += used;
 *         handle(&ev);                       // ev.data is borrowed, see below
 *     }
 *     if (r < 0) fail_connection(ev.close_code, ev.reason);
 *     off += used;                            // also on 0: bytes were taken
 *     // keep buf[off..len), read more bytes after it, call again
 *
 * Input contract. The parser unmasks payloads in place, so the input is
 * mutable. Bytes it did not consume must be presented again, unchanged, at
 * the start of the next call's input (they may be moved), followed by newer
 * bytes. Consumed bytes are the caller's again.
 *
 * Zero copy. A message that arrived as one frame is delivered as a view into
 * the caller's input: no copy, no allocation. A fragmented message, a frame
 * larger than the caller's buffer (zws_parser_set_buffer_size) and a message
 * transformed by an extension are assembled in one contiguous buffer owned by
 * the parser, grown geometrically and reused for later messages; such events
 * carry ZWS_EV_ASSEMBLED and can be taken without a copy by
 * zws_parser_detach().
 *
 * Control frames interleaved with the fragments of a message are delivered in
 * order, without disturbing the message being assembled. */
#ifndef ZWS_PARSER_H
#define ZWS_PARSER_H

#include "buf.h"
#include "common.h"
#include "frame.h" /* ZWS_RSV1..3 for zws_parser_ext */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zws_parser zws_parser;

enum zws_event_type {
    ZWS_EV_MESSAGE = 1, /* a complete text or binary message */
    ZWS_EV_PING = 2,    /* data: the ping payload (answer with a pong) */
    ZWS_EV_PONG = 3,
    ZWS_EV_CLOSE = 4    /* the peer's close frame; no events follow */
};

/* zws_event.flags */
#define ZWS_EV_ASSEMBLED 0x1u /* data lives in the parser's buffer */

typedef struct zws_event {
    int type;             /* enum zws_event_type */
    unsigned opcode;      /* MESSAGE: ZWS_OP_TEXT or ZWS_OP_BINARY */
    unsigned flags;       /* ZWS_EV_ASSEMBLED */
    unsigned rsv;         /* MESSAGE: RSV bits of its first frame */
    /* The payload, borrowed: a view into the caller's input (valid while the
     * caller keeps those bytes) or, with ZWS_EV_ASSEMBLED, into the parser's
     * buffer (valid until the next call on the parser). Text messages are
     * valid UTF-8. For CLOSE, the whole close payload. */
    const uint8_t *data;
    size_t len;
    /* CLOSE: the peer's code, or 1005 when the frame had none.
     * On failure: the code to close the connection with. */
    uint16_t close_code;
    /* CLOSE: the peer's reason (valid UTF-8, not NUL-terminated), a view like
     * data. On failure: a static NUL-terminated text naming the violation. */
    const char *reason;
    size_t reason_len;
} zws_event;

/* New parser for the given role, with default limits (max_frame and
 * max_message 16 MiB) and no extension. Returns 0 or ZWS_ENOMEM / ZWS_EINVAL.
 * Free with zws_parser_free(). */
ZWS_EXTERN int zws_parser_new(zws_parser **out, enum zws_role role);
ZWS_EXTERN void zws_parser_free(zws_parser *p);

/* Back to the start of a stream, keeping options and the assembly buffer. */
ZWS_EXTERN void zws_parser_reset(zws_parser *p);

/* Largest frame payload and largest message accepted; larger ones fail with
 * ZWS_ETOOBIG and close code 1009. 0 keeps the current value. */
ZWS_EXTERN int zws_parser_set_limits(zws_parser *p, uint64_t max_frame,
                                     uint64_t max_message);

/* The size of the caller's input buffer. A frame (header and payload) that
 * fits is waited for and delivered in place; a larger one is consumed as it
 * arrives and assembled in the parser's buffer (see zws_parser_direct).
 * Control frames are always waited for, so sizes below
 * ZWS_PARSER_MIN_BUFFER are raised to it. Default: SIZE_MAX, every frame is
 * waited for. */
#define ZWS_PARSER_MIN_BUFFER 131
ZWS_EXTERN void zws_parser_set_buffer_size(zws_parser *p, size_t size);

/* Reads the next event from in[0..len).
 * Returns an enum zws_event_type (> 0) with *ev filled in; 0 when more input
 * is needed; or, when the peer broke the protocol, a negative code with
 * ev->close_code and ev->reason saying how to close the connection:
 *   ZWS_EPROTO  1002  bad frame header, bad fragmentation, bad close payload
 *   ZWS_EUTF8   1007  text message or close reason not valid UTF-8
 *   ZWS_ETOOBIG 1009  frame or message over the limits
 *   ZWS_EEXT    1007  the extension failed
 *   ZWS_ENOMEM  1011  the assembly buffer could not grow
 * In every case *consumed says how many input bytes were taken (also when 0
 * is returned: partial frames of an assembled message are taken as they
 * come). After a failure or a CLOSE event the parser returns ZWS_ESTATE until
 * reset. Failures are reported as soon as detectable: invalid UTF-8 at the
 * fragment or read that brings it, not at the end of the message. */
ZWS_EXTERN int zws_parser_next(zws_parser *p, uint8_t *in, size_t len,
                               size_t *consumed, zws_event *ev);

/* After a MESSAGE event with ZWS_EV_ASSEMBLED: hands the message to the
 * caller as a zws_buf (one reference) without copying; ev->data stays valid
 * and now lives in *out. The parser starts a fresh buffer for the next
 * message. ZWS_ESTATE when the last event was not such a message (copy a view
 * with zws_buf_new_copy instead). */
ZWS_EXTERN int zws_parser_detach(zws_parser *p, zws_buf **out);

/* While a large frame is being assembled: *dst and the return value give the
 * room where the rest of its payload (still masked, as received) may be read
 * directly, skipping the caller's buffer; 0 when no such frame is open (or an
 * extension transforms it). After reading n bytes there, call
 * zws_parser_direct_done(p, n) before anything else; it unmasks and validates
 * them and returns 0 or a failure as zws_parser_next() would (then call
 * zws_parser_next() to get the event). */
ZWS_EXTERN size_t zws_parser_direct(zws_parser *p, uint8_t **dst);
ZWS_EXTERN int zws_parser_direct_done(zws_parser *p, size_t n,
                                      zws_event *ev);

/* Extension hook (for permessage-deflate, RFC 7692). The extension claims
 * RSV bits; a data message whose first frame carries any of them is passed
 * to payload() frame by frame, unmasked, in pieces as they arrive (fin = 1 on
 * the last piece of the message). payload() writes the transformed message
 * with zws_parser_out_reserve/commit and returns 0 or a negative ZWS_E code
 * (ZWS_ETOOBIG, ZWS_EUTF8, ZWS_EPROTO, ZWS_EEXT, ZWS_ENOMEM). Claimed bits are
 * accepted only on the first frame of a data message. */
typedef struct zws_parser_ext {
    unsigned rsv;
    int (*payload)(void *ud, zws_parser *p, const uint8_t *in, size_t len,
                   int fin);
    void *ud;
} zws_parser_ext;

/* Installs a copy of *ext (NULL removes it). Only between messages.
 * Returns 0, ZWS_ESTATE (a message or a frame is under way: its first bytes
 * were fed and its last event is still to come), or ZWS_EINVAL (no payload function, or rsv 0
 * or holding bits other than ZWS_RSV1 | ZWS_RSV2 | ZWS_RSV3). */
ZWS_EXTERN int zws_parser_set_ext(zws_parser *p, const zws_parser_ext *ext);

/* For extensions: room for at least min more bytes of output. Sets *dst and
 * *room (>= min). ZWS_ETOOBIG when the message would pass max_message,
 * ZWS_ENOMEM. */
ZWS_EXTERN int zws_parser_out_reserve(zws_parser *p, size_t min, uint8_t **dst,
                                      size_t *room);
/* Appends n bytes written at *dst. For text, validates them (ZWS_EUTF8). */
ZWS_EXTERN int zws_parser_out_commit(zws_parser *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
