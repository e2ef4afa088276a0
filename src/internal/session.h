/* The session: one WebSocket connection's protocol behaviour after the
 * upgrade, with no I/O (in the manner of nghttp2's mem_recv / mem_send).
 *
 *   bytes in   zws__session_recv(s, in, len, &used, &ev) -> events out
 *   bytes out  zws__session_iov(s, iov, n) ... zws__session_sent(s, n)
 *   state      zws__session_want_read / _want_write / _done
 *   time       zws__session_deadline(s) and zws__session_tick(s, now)
 *
 * It owns the parser, the writer and the output queue (made at first use
 * and freed when idle in a lazy session, see zws__session_cfg.lazy); it answers pings
 * (queued, so many pings in one read cost one write), echoes the peer's
 * close, fails the connection with the parser's close code, and runs the
 * closing handshake. A driver (the blocking zws_conn, the event loop) moves
 * bytes between it and a transport and decides nothing of the protocol.
 *
 * Input follows the parser's contract (zws/parser.h): bytes not consumed are
 * presented again at the start of the next call. Events' data are borrowed
 * as the parser's are. */
#ifndef ZWS_INTERNAL_SESSION_H
#define ZWS_INTERNAL_SESSION_H

#include <stdint.h>
#include <sys/uio.h>

#include "internal/outq.h"
#include "internal/writer.h"
#include "zws/parser.h"
#include "zws/writer.h"

enum zws__session_state {
    ZWS__S_OPEN = 0,
    ZWS__S_CLOSE_SENT = 1, /* our close is queued; waiting for the peer's */
    ZWS__S_CLOSED = 2      /* nothing more to read: flush, then shut down */
};

/* Timeouts the session keeps as deadlines (ms; 0 = none). */
typedef struct zws__session_timers {
    int idle;      /* no input for this long: close with 1001 (then dropped
                      after the close timeout) */
    int ping;      /* no input for this long: send a ping ... */
    int pong;      /* ... and fail the connection (1001, no closing
                      handshake) without input within this long after it */
    int close;     /* after our close: wait this long for the peer's */
} zws__session_timers;

/* A time (ms, CLOCK_MONOTONIC) kept in 32 bits: its low bits, read back
 * against a clock less than 2^31 ms (24 days) away from it, in the manner
 * of TCP's timestamps. Every time kept so is a deadline's start whose
 * timeout is an int of ms, or a stamp only compared with the clock in the
 * next seconds, so it is always read well within that distance. */
typedef uint32_t zws__ms32;

static inline zws__ms32 zws__ms32_of(int64_t t) { return (zws__ms32)(uint64_t)t; }
/* The full time of v, given a clock now within 2^31 ms of it. */
static inline int64_t zws__ms32_at(zws__ms32 v, int64_t now)
{
    uint32_t d = v - (uint32_t)(uint64_t)now;
    return now + (d < 0x80000000u ? (int64_t)d : (int64_t)d - ((int64_t)1 << 32));
}
/* ms from v to now, for a v at most 2^32 - 1 ms before now. */
static inline uint32_t zws__ms32_since(zws__ms32 v, int64_t now)
{
    return (uint32_t)(uint64_t)now - v;
}

struct zws__session_cfg;

/* 56 bytes: every upgraded connection of the event loop has one, idle or
 * not. What all of a loop's sessions share (their limits, timers and the
 * loop's clock) is in the cfg. */
typedef struct zws__session {
    /* The parser and the writer: made at init, or in a lazy session at
     * first use (the parser when input arrives, the writer when output is
     * queued) and freed again by zws__session_trim_input / _output once
     * they hold nothing, so an idle connection of the event loop keeps
     * neither. NULL meanwhile. */
    zws_parser *p;
    zws_writer *w;
    const struct zws__session_cfg *cfg; /* lazy: what p and w are made from,
                                           the timers and the clock (outlives
                                           the session); else NULL */
    /* permessage-deflate (RFC 7692), once negotiated: inflate through the
     * parser's extension hook (zws_parser_set_ext, RSV1), deflate in
     * zws__session_send before framing. NULL: no extension. */
    struct zws__deflate *deflate;
    zws__outq q;
    zws__ms32 last_input; /* for idle and keepalive */
    zws__ms32 ping_sent;  /* when the keepalive ping went out (if pinged) */
    zws__ms32 close_at;   /* when our close was queued (CLOSE_SENT) */
    uint8_t role;         /* enum zws_role */
    uint8_t state;        /* enum zws__session_state */
    uint8_t surface : 1;  /* hand pings and pongs to the application */
    uint8_t replies : 1;  /* automatic replies queued since the driver last
                             cleared this */
    uint8_t live : 1;     /* between zws__session_init and _free */
    uint8_t pinged : 1;   /* the keepalive ping is out, unanswered */
} zws__session;

typedef struct zws__session_cfg {
    enum zws_role role;
    uint64_t max_frame, max_message;
    size_t buffer_size;   /* the driver's read buffer (zws_parser_set_buffer_size) */
    int surface;
    size_t max_pending;   /* 0: the writer's default */
    zws__keypool *keys;   /* shared mask keys (client role), or NULL */
    int lazy;             /* make the parser and the writer at first use;
                             the session then keeps cfg, which must outlive it */
    /* Lazy sessions only (a session without cfg keeps no deadline): */
    zws__session_timers t;
    const int64_t *clock; /* the driver's clock (ms), read when a close is
                             queued and for deadlines */
} zws__session_cfg;

/* 0 or ZWS_ENOMEM (never for a lazy session). */
int zws__session_init(zws__session *s, const zws__session_cfg *cfg);

/* The writer, made now if a lazy session has none; NULL: out of memory.
 * For drivers that frame into it themselves (raw HTTP answers, headers of
 * payloads sent by reference). */
zws_writer *zws__session_writer(zws__session *s);
/* Appends raw bytes (already framed, or an HTTP head) to the output, within
 * max_pending unless exempt: 0, ZWS_ENOSPACE, ZWS_ENOMEM. */
int zws__session_append(zws__session *s, const void *bytes, size_t n, int exempt);

/* A lazy session frees its parser when it is between messages (call it
 * outside any handler: no event's data is borrowed then), and its writer
 * when nothing is pending; the next input or output makes them again. */
void zws__session_trim_input(zws__session *s);
void zws__session_trim_output(zws__session *s);

struct zws__pmd_params;
struct zws__pmd_cfg;
/* permessage-deflate as negotiated, from the first message on (before any
 * input after the handshake). 0, ZWS_ENOMEM, ZWS_ESTATE. */
int zws__session_set_deflate(zws__session *s, const struct zws__pmd_params *p,
                             const struct zws__pmd_cfg *cfg);
/* The extensions in use, as a header value ("" for none). */
const char *zws__session_extensions(const zws__session *s);
/* A whole message of len bytes would be compressed: it cannot be sent by
 * reference. */
int zws__session_compresses(const zws__session *s, size_t len);
void zws__session_free(zws__session *s);

/* The next event from in[0..len) (see zws_parser_next): MESSAGE (and PING /
 * PONG when surfaced) for the application; CLOSE when the peer closed (our
 * reply is queued and the session is done); 0 when more input is needed;
 * or a failure (ZWS_EPROTO, ZWS_EUTF8, ZWS_ETOOBIG, ZWS_EEXT, ZWS_ENOMEM,
 * ZWS_ENOSPACE for a peer that pings faster than it reads) with
 * ev->close_code and ev->reason: the close frame carrying them is queued and
 * the session is done. ZWS_ECLOSED once done. */
int zws__session_recv(zws__session *s, uint8_t *in, size_t len, size_t *used, zws_event *ev);

/* Fails the session for a reason of the driver's (ev->close_code and
 * ev->reason set by the caller): queues that close while open, ends the
 * session, returns err. */
int zws__session_fail(zws__session *s, int err, zws_event *ev);

/* A large frame's payload may be read straight into the message buffer
 * (zws_parser_direct): the room, or 0. After reading n bytes there call
 * zws__session_direct_done, which fails the session as recv does. */
size_t zws__session_direct(zws__session *s, uint8_t **dst);
int zws__session_direct_done(zws__session *s, size_t n, zws_event *ev);

/* The driver tells the session that input arrived at now (for idle and
 * keepalive); a close is timed from the driver's clock (cfg->clock). The
 * session never reads the system's clock itself. */
void zws__session_input_at(zws__session *s, int64_t now);

/* Queues a data message (TEXT / BINARY, CONT with ZWS_WRITE_MORE), copied.
 * 0 or ZWS_ECLOSED (not open), ZWS_EINVAL, ZWS_ENOSPACE, ZWS_ENOMEM. */
int zws__session_send(zws__session *s, unsigned opcode, const void *data, size_t len,
                      unsigned flags);
/* Queues a message whose payload is payload[off..off+len), by reference
 * (server role; a client's payload is masked, so it is copied). */
int zws__session_send_ref(zws__session *s, unsigned opcode, zws_buf *payload, size_t off,
                          size_t len);
/* Queues bytes that are already whole frames (a shared pub/sub frame), by
 * reference. */
int zws__session_send_frames(zws__session *s, zws_buf *frames);
int zws__session_ping(zws__session *s, const void *data, size_t len);
/* An unsolicited pong (a one-way heartbeat, RFC 6455 section 5.5.3). */
int zws__session_pong(zws__session *s, const void *data, size_t len);
/* Starts the closing handshake (code 0: no code). Checks code and reason as
 * zws_close documents (ZWS_EINVAL). Not open: ZWS_ECLOSED. */
int zws__session_close(zws__session *s, uint16_t code, const char *reason, size_t rlen);

/* Output: what to write next, and how much of it the transport took. */
static inline int zws__session_iov(const zws__session *s, struct iovec *iov, int max)
{
    return zws__outq_iov(&s->q, s->w, iov, max);
}
static inline void zws__session_sent(zws__session *s, size_t n)
{
    zws__outq_consume(&s->q, s->w, n);
}
static inline size_t zws__session_pending(const zws__session *s)
{
    return zws__outq_bytes(&s->q, s->w);
}

static inline int zws__session_want_read(const zws__session *s) { return s->state != ZWS__S_CLOSED; }
static inline int zws__session_want_write(const zws__session *s)
{
    return zws__session_pending(s) > 0;
}
/* Done: nothing more to read; once the output is written, shut down. */
static inline int zws__session_done(const zws__session *s) { return s->state == ZWS__S_CLOSED; }

/* The earliest deadline the session keeps (ms, CLOCK_MONOTONIC), or -1. */
int64_t zws__session_deadline(const zws__session *s);
/* Acts on deadlines passed at now: a keepalive ping queued, a missed pong or
 * idle timeout starting the close, a close that waited long enough ending
 * the session. Returns 0, or ZWS_ETIMEDOUT when the session ended (done)
 * for want of an answer. */
int zws__session_tick(zws__session *s, int64_t now);

#endif
