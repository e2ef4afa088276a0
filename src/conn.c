/* Blocking connections: a driver of the session (internal/session.h) over
 * a transport, with the opening handshake and the waits of the closing one
 * (see include/zws/conn.h). The protocol is the session's; this file only
 * moves bytes and bounds each wait.
 *
 * Reads go straight into the free tail of the connection's buffer; every
 * complete frame of one read is consumed before the next read; a frame
 * larger than the buffer is read directly into its message buffer
 * (zws_parser_direct). Writes coalesce in the writer's buffer and go out in
 * one write per flush; a server's large payloads are sent by reference with
 * writev. Automatic replies (pong, close) join whatever is pending. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/conn.h"
#include "internal/deflate.h"
#include "internal/limits.h"
#include "internal/parser.h"
#include "internal/session.h"
#include "internal/transport.h"
#include "internal/upgrade.h"
#include "zws/frame.h"
#include "zws/writer.h"

#define MAX_HEADERS ZWS__MAX_HEADERS
#define ZERO_COPY_MIN (16u << 10) /* server payloads sent by reference */
#define LATE_READ_MAX (64u << 10) /* bytes read past a deadline (see fill) */
#define LINGER_MAX (64u << 20)    /* bytes drained after our shutdown, when
                                     no close timeout bounds it */
#define COMPACT_MIN 4096          /* move the partial frame when the tail is
                                     smaller than this */

/* The driver's state; the protocol's (open, closing, done) is the session's. */
enum { ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

struct zws_conn {
    enum zws_role role;
    int state;
    zws__transport tr;
    zws__session s;
    uint8_t *rbuf;
    size_t rcap, rpos, rlen;   /* unconsumed input is rbuf[rpos..rlen) */
    zws_opts *o;
    SSL_CTX *tls;              /* server: shared with the listener */
    int need_more;             /* the parser has seen all of rbuf and needs
                                  more input: cleared by a read */
    int starved;               /* the last read found nothing (TLS may hold
                                  part of a record): cleared by a read */
    int shut;                  /* our side is shut down: linger on free */
    zws_event last;            /* the last event zws_recv returned */
    int last_type;
    char *path;
    char *subprotocol;
    /* server: the listener's caps and budget (shared, one reference) */
    zws__limits *lim;
    zws__addr_count *addr;     /* this peer's counters, or NULL */
    int in_handshake;          /* counted among its address's handshakes */
    size_t charged;            /* bytes charged to the memory budget */
};

struct zws_listener {
    int fd;
    uint16_t port;
    zws_opts *o;
    SSL_CTX *tls;
    zws__limits *lim; /* per-address caps and the budget of its connections */
    char *unix_path; /* the socket file to remove when done, or NULL */
    dev_t unix_dev;  /* ... if it is still the one we bound */
    ino_t unix_ino;
};

static int timeout_of(const zws_conn *c, enum zws_timeout which)
{
    int ms = c->o->timeout[which];
    return ms > 0 ? ms : ZWS__FOREVER;
}

/* ---- construction ---- */

static int conn_new(zws_conn **out, enum zws_role role, const zws_opts *o)
{
    zws_conn *c = zws__malloc(sizeof *c);
    if (!c)
        return ZWS_ENOMEM;
    memset(c, 0, sizeof *c);
    c->role = role;
    c->tr.fd = -1;
    /* A listener's options are shared by reference; a client's copied. */
    int r = role == ZWS_ROLE_SERVER ? (c->o = zws__opts_ref((zws_opts *)o), 0)
                                    : zws__opts_copy(&c->o, o);
    if (!r) {
        zws__session_cfg cfg = {
            .role = role,
            .max_frame = c->o->max_frame,
            .max_message = c->o->max_message,
            .buffer_size = c->o->buffer_size,
            .surface = c->o->surface,
        };
        r = zws__session_init(&c->s, &cfg);
    }
    if (!r) {
        c->rcap = c->o->buffer_size;
        c->rbuf = zws__malloc_paged(c->rcap);
        r = c->rbuf ? 0 : ZWS_ENOMEM;
    }
    if (r) {
        zws_conn_free(c);
        return r;
    }
    *out = c;
    return 0;
}

/* After our side closed: read and discard until the peer's EOF (bounded by
 * the close timeout). Closing a socket that still holds unread input makes
 * the kernel send RST, and a peer still writing would lose our close frame
 * or HTTP error before reading it. */
static void linger(zws_conn *c)
{
    if (!c->shut || c->tr.fd < 0 || c->tr.eof || !c->rbuf)
        return;
    /* Bounded by the close timeout, or without one by LINGER_MAX bytes: a
     * peer that keeps sending cannot hold zws_conn_free for ever. */
    int ms0 = timeout_of(c, ZWS_TIMEOUT_CLOSE);
    int64_t deadline = zws__deadline(ms0);
    size_t drained = 0;
    while (ms0 >= 0 || drained < LINGER_MAX) {
        int ms = zws__remaining_ms(deadline);
        if (ms == 0)
            break;
        ptrdiff_t n = zws__transport_read(&c->tr, c->rbuf, c->rcap, ms);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
}

void zws_conn_free(zws_conn *c)
{
    if (!c)
        return;
    linger(c);
    zws__transport_close(&c->tr);
    if (c->lim) {
        zws__limits_uncharge(c->lim, &c->charged);
        zws__limits_release(c->lim, c->addr, c->in_handshake);
        zws__limits_unref(c->lim);
    }
    zws__session_free(&c->s);
    zws__free_paged(c->rbuf);
    zws_opts_free(c->o);
    if (c->tls)
        SSL_CTX_free(c->tls);
    zws__free(c->path);
    zws__free(c->subprotocol);
    zws__free(c);
}

const char *zws_conn_subprotocol(const zws_conn *c)
{
    return c->subprotocol ? c->subprotocol : "";
}

const char *zws_conn_extensions(const zws_conn *c) { return zws__session_extensions(&c->s); }

int zws_conn_fd(const zws_conn *c) { return c->tr.fd; }

void zws__conn_io_counts(const zws_conn *c, uint64_t *reads, uint64_t *writes)
{
    *reads = c->tr.x ? c->tr.x->nreads : 0;
    *writes = c->tr.x ? c->tr.x->nwrites : 0;
}

const char *zws_conn_path(const zws_conn *c) { return c->path ? c->path : "/"; }

/* Does rbuf hold a whole frame (or a broken header, reported at once)? The
 * unexamined bytes always start at a frame boundary: the parser takes the
 * rest of a frame it has begun. */
static int frame_buffered(const zws_conn *c)
{
    size_t avail = c->rlen - c->rpos;
    zws_frame f;
    int hl = zws_frame_parse(&f, c->rbuf + c->rpos, avail, c->role,
                             ZWS_RSV1 | ZWS_RSV2 | ZWS_RSV3, UINT64_MAX, NULL);
    return hl < 0 || (hl > 0 && f.len <= avail - (size_t)hl);
}

int zws_conn_readable(const zws_conn *c)
{
    if (c->rpos < c->rlen && !c->need_more && frame_buffered(c))
        return 1;
    return !c->starved && zws__transport_pending(&c->tr) > 0;
}

/* ---- reading ---- */

/* Reads more input: directly into the message buffer while a large frame is
 * open, else into the free tail of rbuf (after moving the partial frame to
 * the front when the tail is small). */
static int write_pending(zws_conn *c, int timeout_ms);

/* Pongs queued while parsing the last read go out in one write before we
 * wait for more input. Bounded by the read deadline and by the close
 * timeout, the time a peer gets to take our automatic replies: one that
 * does not read them within it is dropped (ZWS_EIO). After a timeout, what
 * was not written stays queued, to go first next time. */
static int flush_replies(zws_conn *c, int64_t deadline)
{
    int read_ms = zws__remaining_ms(deadline);
    int close_ms = timeout_of(c, ZWS_TIMEOUT_CLOSE);
    int by_close = close_ms >= 0 && (read_ms < 0 || close_ms < read_ms);
    int r = write_pending(c, by_close ? close_ms : read_ms);
    if (r == 0)
        c->s.replies = 0;
    if (r == ZWS_ETIMEDOUT && by_close) {
        c->tr.last_errno = ETIMEDOUT;
        return ZWS_EIO;
    }
    return r;
}

/* A read timed out or would block; returns ZWS_ETIMEDOUT. */
static int starve(zws_conn *c)
{
    c->starved = 1;
    return ZWS_ETIMEDOUT;
}

/* One read into dst[0..room) for fill(): the byte count, or ZWS_ETIMEDOUT
 * (starved) or another failure. New input clears need_more and starved;
 * bytes read past the deadline (timeout_ms 0) count in *late. */
/* A wait of more than IDLE_MS first waits IDLE_MS: when nothing came by
 * then, the compression streams of directions without context takeover are
 * released (as the loop's idle sweep does) before the rest of the wait. */
#define IDLE_MS 1000

static ptrdiff_t read_input(zws_conn *c, uint8_t *dst, size_t room, int timeout_ms,
                            size_t *late)
{
    ptrdiff_t n;
    if (c->s.deflate && (timeout_ms < 0 || timeout_ms > IDLE_MS) &&
        zws__deflate_trimmable(c->s.deflate)) {
        n = zws__transport_read(&c->tr, dst, room, IDLE_MS);
        if (n == ZWS_EAGAIN || n == ZWS_ETIMEDOUT) {
            zws__deflate_trim(c->s.deflate);
            n = zws__transport_read(&c->tr, dst, room, timeout_ms < 0 ? -1 : timeout_ms - IDLE_MS);
        }
    } else {
        n = zws__transport_read(&c->tr, dst, room, timeout_ms);
    }
    if (n == ZWS_EAGAIN || n == ZWS_ETIMEDOUT)
        return starve(c);
    if (n < 0)
        return n;
    c->need_more = c->starved = 0;
    if (timeout_ms == 0)
        *late += (size_t)n;
    return n;
}

/* Brings a server connection's charge up to date; over the budget, fails it
 * (1009 for its message, ZWS_ETOOBIG; 1008 for its output, ZWS_ENOSPACE)
 * and frees the message it was assembling. Returns 0 or that failure. */
static int budget(zws_conn *c, zws_event *ev)
{
    if (!c->lim || !zws__limits_charge(c->lim, &c->charged, zws__session_held(&c->s)) ||
        zws__session_done(&c->s))
        return 0;
    uint16_t code = zws__session_budget_code(&c->s);
    memset(ev, 0, sizeof *ev);
    ev->close_code = code;
    ev->reason = ZWS__BUDGET_REASON;
    ev->reason_len = strlen(ev->reason);
    int r = zws__session_fail(&c->s, code == ZWS_CLOSE_TOO_BIG ? ZWS_ETOOBIG : ZWS_ENOSPACE, ev);
    if (c->s.p)
        zws__parser_release(c->s.p);
    zws__limits_charge(c->lim, &c->charged, zws__session_held(&c->s));
    return r;
}

/* late: bytes read past the deadline in this zws_recv so far. */
static int fill(zws_conn *c, int64_t deadline, size_t *late, zws_event *ev)
{
    if (c->s.replies) {
        int r = flush_replies(c, deadline);
        if (r)
            return r;
    }
    /* charged before reading: a large frame reserved its length at its header */
    int b = budget(c, ev);
    if (b)
        return b;
    /* Past the deadline timeout_ms is 0, and one more read runs without
     * waiting, so bytes that already arrived are never left for a timeout;
     * after it, reads go on only while OpenSSL holds decrypted or buffered
     * bytes (which poll() cannot see), up to LATE_READ_MAX: a peer that
     * keeps sending cannot stretch the call. */
    int timeout_ms = zws__remaining_ms(deadline);
    if (timeout_ms == 0 && *late &&
        (*late >= LATE_READ_MAX || zws__transport_pending(&c->tr) == 0))
        return starve(c);
    uint8_t *dst;
    size_t room = zws__session_direct(&c->s, &dst);
    if (room) {
        ptrdiff_t n = read_input(c, dst, room, timeout_ms, late);
        return n < 0 ? (int)n : zws__session_direct_done(&c->s, (size_t)n, ev);
    }
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
    } else if (c->rcap - c->rlen < COMPACT_MIN && c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    if (c->rlen == c->rcap) { /* cannot happen: the parser streams big frames */
        memset(ev, 0, sizeof *ev);
        ev->close_code = ZWS_CLOSE_INTERNAL;
        ev->reason = "read buffer full";
        ev->reason_len = strlen(ev->reason);
        return zws__session_fail(&c->s, ZWS_ETOOBIG, ev);
    }
    ptrdiff_t n = read_input(c, c->rbuf + c->rlen, c->rcap - c->rlen, timeout_ms, late);
    if (n < 0)
        return (int)n;
    c->rlen += (size_t)n;
    return 0;
}

/* Writes what the session holds, consuming each part as it goes out: after
 * a timeout the rest stays queued, and the next flush continues exactly
 * where this one stopped (never re-sending a byte). */
static int write_pending(zws_conn *c, int timeout_ms)
{
    int64_t deadline = zws__deadline(timeout_ms);
    for (;;) {
        struct iovec v[16];
        int k = zws__session_iov(&c->s, v, 16);
        if (!k)
            return 0;
        /* 0 once past the deadline: a non-blocking try, which either
         * writes something or ends the loop */
        int ms = zws__remaining_ms(deadline);
        ptrdiff_t w = zws__transport_writev(&c->tr, v, k, ms);
        if (w < 0)
            return w == ZWS_EAGAIN ? ZWS_ETIMEDOUT : (int)w;
        zws__session_sent(&c->s, (size_t)w);
    }
}

static void finish(zws_conn *c)
{
    zws__transport_shutdown(&c->tr, timeout_of(c, ZWS_TIMEOUT_CLOSE));
    c->shut = 1;
    c->state = ST_CLOSED;
}

/* The session is done (the peer closed, or broke the protocol): what it
 * queued, its close frame last, goes out within the close timeout; then our
 * side shuts down. */
static void end_session(zws_conn *c)
{
    write_pending(c, timeout_of(c, ZWS_TIMEOUT_CLOSE));
    finish(c);
}

static int recv_until(zws_conn *c, zws_event *ev, int64_t deadline)
{
    if (c->state != ST_OPEN)
        return ZWS_ECLOSED;
    c->last_type = 0;
    if (c->lim && c->lim->budget && c->s.p) { /* the last message is no longer borrowed */
        zws__parser_trim(c->s.p, ZWS__TRIM_ABOVE);
        zws__limits_charge(c->lim, &c->charged, zws__session_held(&c->s));
    }
    size_t late = 0;
    for (;;) {
        size_t used;
        int r = zws__session_recv(&c->s, c->rbuf + c->rpos, c->rlen - c->rpos, &used, ev);
        c->rpos += used;
        if (r == 0) {
            c->need_more = 1;
            r = fill(c, deadline, &late, ev);
            if (r == 0)
                continue;
        }
        if (zws__session_done(&c->s)) {
            end_session(c);
        } else if (r < 0 && r != ZWS_ETIMEDOUT && r != ZWS_EAGAIN) {
            memset(ev, 0, sizeof *ev); /* the transport failed */
            ev->close_code = ZWS_CLOSE_ABNORMAL;
            c->state = ST_CLOSED;
        }
        if (r > 0) {
            c->last = *ev;
            c->last_type = r;
        }
        return r;
    }
}

int zws_recv(zws_conn *c, zws_event *ev)
{
    return recv_until(c, ev, zws__deadline(timeout_of(c, ZWS_TIMEOUT_READ)));
}

int zws_conn_keep(zws_conn *c, zws_buf **out)
{
    if (c->last_type != ZWS_EV_MESSAGE)
        return ZWS_ESTATE;
    if (c->last.flags & ZWS_EV_ASSEMBLED)
        return zws_parser_detach(c->s.p, out);
    *out = zws_buf_new_copy(c->last.data, c->last.len);
    return *out ? 0 : ZWS_ENOMEM;
}

/* ---- writing ---- */

/* Writes iov[0..n) completely. */
static int writev_all(zws_conn *c, struct iovec *iov, int n)
{
    while (n > 0) {
        ptrdiff_t w = zws__transport_writev(&c->tr, iov, n, timeout_of(c, ZWS_TIMEOUT_WRITE));
        if (w < 0)
            return (int)w;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* A server's large payload: pending bytes, header and payload in one
 * writev, the payload straight from the caller's memory. */
static int send_by_reference(zws_conn *c, unsigned opcode, const void *data,
                             size_t len, unsigned flags)
{
    uint8_t hdr[ZWS_FRAME_MAX_HEADER * 64];
    struct iovec iov[16 + 128];
    int np = zws__session_iov(&c->s, iov, 16);
    int k = zws_writer_iov(c->s.w, opcode, data, len, flags, hdr, sizeof hdr, iov + np, 128);
    if (k < 0) /* ZWS_ENOSPACE: too many fragments for one call, copy instead */
        return k;
    size_t plen = 0;
    for (int i = 0; i < np; i++)
        plen += iov[i].iov_len;
    int r = writev_all(c, iov, k + np);
    if (r == 0)
        zws__session_sent(&c->s, plen);
    return r;
}

/* After output was queued: over the budget, the connection is failed with
 * 1008 and finished (what is queued, its close last, goes out within the
 * close timeout). 0 or ZWS_ENOSPACE. */
static int sent_budget(zws_conn *c)
{
    zws_event ev;
    if (!budget(c, &ev))
        return 0;
    end_session(c);
    return ZWS_ENOSPACE;
}

int zws_send(zws_conn *c, unsigned opcode, const void *data, size_t len, unsigned flags)
{
    if (c->state != ST_OPEN || c->s.state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    if (opcode > ZWS_OP_BINARY || (flags & ~(ZWS_SEND_MORE_DATA | ZWS_WRITE_MORE)))
        return ZWS_EINVAL;
    unsigned wflags = flags & ~ZWS_SEND_MORE_DATA;
    if (c->role == ZWS_ROLE_SERVER && len >= ZERO_COPY_MIN && !zws__session_compresses(&c->s, len) &&
        !(flags & ZWS_SEND_MORE_DATA)) {
        int r = send_by_reference(c, opcode, data, len, wflags);
        if (r != ZWS_ENOSPACE)
            return r;
    }
    int r = zws__session_send(&c->s, opcode, data, len, wflags);
    if (!r)
        r = sent_budget(c);
    if (r || (flags & ZWS_SEND_MORE_DATA))
        return r;
    return write_pending(c, timeout_of(c, ZWS_TIMEOUT_WRITE));
}

int zws_sendv(zws_conn *c, const zws_msgv *msgs, int n)
{
    if (c->state != ST_OPEN || c->s.state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    for (int i = 0; i < n; i++)
        if (msgs[i].opcode != ZWS_OP_TEXT && msgs[i].opcode != ZWS_OP_BINARY)
            return ZWS_EINVAL;
    for (int i = 0; i < n; i++) {
        int r = zws__session_send(&c->s, msgs[i].opcode, msgs[i].data, msgs[i].len, 0);
        if (r)
            return r; /* the first i stay queued for the next flush */
    }
    int r = sent_budget(c);
    if (r)
        return r;
    return write_pending(c, timeout_of(c, ZWS_TIMEOUT_WRITE));
}

int zws_flush(zws_conn *c)
{
    if (c->state == ST_CLOSED)
        return ZWS_ECLOSED;
    return write_pending(c, timeout_of(c, ZWS_TIMEOUT_WRITE));
}

int zws_ping(zws_conn *c, const void *data, size_t len)
{
    if (c->state != ST_OPEN)
        return ZWS_ECLOSED;
    int r = zws__session_ping(&c->s, data, len);
    return r ? r : write_pending(c, timeout_of(c, ZWS_TIMEOUT_WRITE));
}

int zws_pong(zws_conn *c, const void *data, size_t len)
{
    if (c->state != ST_OPEN)
        return ZWS_ECLOSED;
    int r = zws__session_pong(&c->s, data, len);
    return r ? r : write_pending(c, timeout_of(c, ZWS_TIMEOUT_WRITE));
}

int zws_close(zws_conn *c, uint16_t code, const char *reason)
{
    if (c->state != ST_OPEN)
        return ZWS_ECLOSED;
    int r = zws__session_close(&c->s, code, reason, reason ? strlen(reason) : 0);
    if (r == ZWS_EINVAL)
        return r;
    if (r == 0)
        r = write_pending(c, timeout_of(c, ZWS_TIMEOUT_CLOSE));
    else if (r == ZWS_ECLOSED) /* closing already: wait as the first call did */
        r = 0;
    /* Wait for the peer's close; what arrives before it is discarded. */
    int64_t deadline = zws__deadline(timeout_of(c, ZWS_TIMEOUT_CLOSE));
    while (r == 0 && c->state == ST_OPEN) {
        if (zws__remaining_ms(deadline) == 0) { /* messages still coming */
            r = ZWS_ETIMEDOUT;
            break;
        }
        zws_event ev;
        int t = recv_until(c, &ev, deadline);
        if (t < 0)
            r = t;
    }
    if (c->state != ST_CLOSED)
        finish(c);
    c->last_type = 0;
    return r == ZWS_ECLOSED ? 0 : r;
}

/* ---- client ---- */

/* One TLS client context per (CA file, insecure) pair, shared by every
 * connection: loading the system store costs milliseconds. */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *ca_file;
    int insecure;
    SSL_CTX *ctx;
} ctx_cache[8];

static int client_ctx(SSL_CTX **out, const zws_opts *o, char *err, size_t errlen)
{
    if (o->cert_file) { /* a client certificate: a context of its own */
        int r = zws__tls_client_ctx(out, o->ca_file, o->insecure, err, errlen);
        if (!r)
            r = zws__tls_client_cert(out, o->cert_file, o->key_file, err, errlen);
        return r ? r : 1;
    }
    pthread_mutex_lock(&ctx_lock);
    size_t i;
    for (i = 0; i < 8 && ctx_cache[i].ctx; i++) {
        const char *a = ctx_cache[i].ca_file, *b = o->ca_file;
        if (ctx_cache[i].insecure == o->insecure &&
            ((!a && !b) || (a && b && strcmp(a, b) == 0)))
            break;
    }
    int r = 0;
    if (i < 8 && ctx_cache[i].ctx) {
        *out = ctx_cache[i].ctx;
    } else {
        r = zws__tls_client_ctx(out, o->ca_file, o->insecure, err, errlen);
        char *ca = NULL;
        if (!r && i < 8 && (!o->ca_file || (ca = zws__strndup(o->ca_file, strlen(o->ca_file))))) {
            ctx_cache[i].ctx = *out;
            ctx_cache[i].insecure = o->insecure;
            ctx_cache[i].ca_file = ca;
        } else if (!r) {
            r = 1; /* cache full: the caller frees its own */
        }
    }
    pthread_mutex_unlock(&ctx_lock);
    return r;
}

/* A TLS record (handshake or alert, TLS 1.0-1.3 versions) where an HTTP
 * response was due: a ws:// URL to a port that speaks TLS. */
static int looks_like_tls(const uint8_t *p, size_t n)
{
    return n >= 3 && (p[0] == 0x15 || p[0] == 0x16) && p[1] == 0x03 && p[2] <= 0x04;
}

/* Appends ": <printable start of the body>" to err. */
static void append_body(char *err, size_t errlen, const uint8_t *body, size_t n)
{
    if (!err || !errlen)
        return;
    size_t at = strnlen(err, errlen - 1);
    if (!n || at + 4 >= errlen)
        return;
    at += (size_t)snprintf(err + at, errlen - at, ": ");
    for (size_t i = 0; i < n && i < 120 && at + 1 < errlen; i++) {
        uint8_t ch = body[i];
        err[at++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
    }
    err[at < errlen ? at : errlen - 1] = 0;
}

/* Reads an HTTP head into rbuf until parse() says it is complete, within
 * the handshake deadline. Returns the head's length or an error. */
static int read_head(zws_conn *c, int64_t deadline, int response, void *msg,
                     zws_http_header *hdrs)
{
    for (;;) {
        int r = response
                    ? zws_http_parse_response(msg, c->rbuf, c->rlen, hdrs, MAX_HEADERS, 0)
                    : zws_http_parse_request(msg, c->rbuf, c->rlen, hdrs, MAX_HEADERS, 0);
        if (r != 0)
            return r;
        int left = zws__remaining_ms(deadline);
        if (left == 0)
            return ZWS_ETIMEDOUT;
        ptrdiff_t n = zws__transport_read(&c->tr, c->rbuf + c->rlen, c->rcap - c->rlen, left);
        if (n < 0)
            return (int)n;
        c->rlen += (size_t)n;
    }
}

/* The opening handshake within deadline (shared with TLS before it). */
static int client_handshake(zws_conn *c, const zws_url *u, int64_t deadline, char *err,
                            size_t errlen)
{
    char key[ZWS_HANDSHAKE_KEY_LEN + 1], host[ZWS_URL_HOST_MAX + 1], target[4096];
    int r = zws_handshake_client_key(key);
    if (!r && zws_url_host(u, host, sizeof host) < 0)
        r = ZWS_EURL;
    if (!r && zws_url_target(u, target, sizeof target) < 0)
        r = ZWS_EURL;
    if (r) {
        zws__errf(err, errlen, "cannot build the request: %s", zws_strerror(r));
        return r;
    }
    char offer[ZWS__PMD_HEADER_MAX];
    const char *exts = NULL;
    if (c->o->pmd.enabled && zws__pmd_offer(&c->o->pmd, offer, sizeof offer) > 0)
        exts = offer;
    int n = zws_handshake_build_request((char *)c->rbuf, c->rcap, host, u->port, u->secure,
                                        target, key, (const char *const *)c->o->protos,
                                        c->o->nprotos, exts, c->o->origin, c->o->headers,
                                        c->o->nheaders);
    if (n < 0) {
        zws__errf(err, errlen, "cannot build the request: %s", zws_strerror(n));
        return n;
    }
    r = zws__transport_write_all(&c->tr, c->rbuf, (size_t)n, zws__remaining_ms(deadline));
    if (r) {
        zws__transport_errmsg(&c->tr, r, err, errlen);
        return r;
    }
    zws_http_response res;
    zws_http_header hdrs[MAX_HEADERS];
    int head = read_head(c, deadline, 1, &res, hdrs);
    if (head < 0 && looks_like_tls(c->rbuf, c->rlen)) {
        zws__errf(err, errlen, "the server answered in TLS: use wss:// for this port");
        return ZWS_EHANDSHAKE;
    }
    if (head < 0) {
        if (head == ZWS_EHTTP || head == ZWS_ETOOBIG)
            zws__errf(err, errlen, "malformed HTTP response: %s",
                      res.error ? res.error : zws_strerror(head));
        else
            zws__errf(err, errlen, "no handshake response: %s", zws_strerror(head));
        return head == ZWS_ETOOBIG ? ZWS_EHTTP : head;
    }
    zws_handshake_response hr;
    r = zws_handshake_validate_response(&res, key, (const char *const *)c->o->protos,
                                        c->o->nprotos, exts, &hr, err, errlen);
    if (r) {
        if (res.status != 101) {
            if (c->rlen == (size_t)head) { /* give the body a moment to arrive */
                ptrdiff_t m = zws__transport_read(&c->tr, c->rbuf + c->rlen,
                                                  c->rcap - c->rlen, 200);
                if (m > 0)
                    c->rlen += (size_t)m;
            }
            append_body(err, errlen, c->rbuf + head, c->rlen - (size_t)head);
        }
        return ZWS_EHANDSHAKE;
    }
    if (exts) {
        zws__pmd_params pp;
        const char *why = NULL;
        int k = zws__pmd_response(&c->o->pmd, res.headers, res.num_headers, &pp, &why);
        if (k < 0) {
            zws__errf(err, errlen, "permessage-deflate: %s", why ? why : "bad answer");
            return ZWS_EHANDSHAKE;
        }
        if (k == 1 && (r = zws__session_set_deflate(&c->s, &pp, &c->o->pmd)) != 0)
            return r;
    }
    if (hr.protocol && !(c->subprotocol = zws__strndup(hr.protocol, hr.protocol_len)))
        return ZWS_ENOMEM;
    if (!(c->path = zws__strndup(target, strlen(target))))
        return ZWS_ENOMEM;
    c->rpos = (size_t)head; /* frames may follow the head at once */
    c->state = ST_OPEN;
    return 0;
}

int zws_connect(zws_conn **out, const char *url, const zws_opts *o, char *err,
                size_t errlen)
{
    zws__errf(err, errlen, "%s", "");
    zws_url u;
    const char *why = NULL;
    int r = zws_url_parse(&u, url, ZWS_URL_WS, &why);
    if (r) {
        zws__errf(err, errlen, "bad URL '%s': %s", url, why ? why : zws_strerror(r));
        return r;
    }
    zws_conn *c;
    if ((r = conn_new(&c, ZWS_ROLE_CLIENT, o)) != 0) {
        zws__errf(err, errlen, "%s", zws_strerror(r));
        return r;
    }
    SSL_CTX *ctx = NULL;
    int own_ctx = 0;
    if (u.secure) {
        r = client_ctx(&ctx, c->o, err, errlen);
        own_ctx = r == 1;
        r = r == 1 ? 0 : r;
    }
    int64_t deadline = -1; /* the handshake's: TLS and the HTTP upgrade */
    zws__connect_opts co = {
        .proxy = c->o->proxy_set ? c->o->proxy : NULL,
        .connect_timeout_ms = timeout_of(c, ZWS_TIMEOUT_CONNECT),
        .tls_timeout_ms = timeout_of(c, ZWS_TIMEOUT_HANDSHAKE),
        .tls_ctx = ctx,
        .deadline_out = &deadline,
    };
    if (!r)
        r = zws__transport_connect(&c->tr, &u, &co, err, errlen);
    if (own_ctx)
        zws__tls_ctx_free(ctx);
    if (!r && (r = zws__transport_count(&c->tr)) != 0)
        zws__errf(err, errlen, "out of memory");
    if (!r)
        r = client_handshake(c, &u, deadline, err, errlen);
    if (r) {
        zws_conn_free(c);
        return r;
    }
    *out = c;
    return 0;
}

/* ---- server ---- */

/* The listener of zws_listen and zws_listen_unix (path not NULL). */
static int listen_at(zws_listener **out, const char *host, uint16_t port,
                     const char *path, const zws_opts *o, char *err, size_t errlen)
{
    zws__errf(err, errlen, "%s", "");
    zws_listener *l = zws__malloc(sizeof *l);
    if (!l)
        return ZWS_ENOMEM;
    memset(l, 0, sizeof *l);
    l->fd = -1;
    int r = zws__opts_copy(&l->o, o);
    if (!r)
        r = zws__limits_new(&l->lim, l->o->per_addr_hs, l->o->per_addr_conns, l->o->budget);
    if (!r && l->o->cert_file)
        r = zws__tls_server_ctx(&l->tls, l->o->cert_file, l->o->key_file, err, errlen);
    if (!r && path) {
        r = zws__unix_listen(&l->fd, path, err, errlen);
        struct stat st;
        if (!r && !(l->unix_path = zws__strndup(path, strlen(path))))
            r = ZWS_ENOMEM;
        if (!r && lstat(path, &st) == 0) {
            l->unix_dev = st.st_dev; /* the file to remove: ours, not a successor's */
            l->unix_ino = st.st_ino;
        }
    } else if (!r) {
        r = zws__tcp_listen(&l->fd, host, port, 0, &l->port, err, errlen);
    }
    if (r) {
        zws_listener_free(l);
        return r;
    }
    *out = l;
    return 0;
}

int zws_listen(zws_listener **out, const char *host, uint16_t port, const zws_opts *o,
               char *err, size_t errlen)
{
    return listen_at(out, host, port, NULL, o, err, errlen);
}

int zws_listen_unix(zws_listener **out, const char *path, const zws_opts *o, char *err,
                    size_t errlen)
{
    if (!path) {
        zws__errf(err, errlen, "listen: no socket path");
        return ZWS_EINVAL;
    }
    return listen_at(out, NULL, 0, path, o, err, errlen);
}

uint16_t zws_listener_port(const zws_listener *l) { return l->port; }

int zws_listener_fd(const zws_listener *l) { return l->fd; }

void zws_listener_free(zws_listener *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    struct stat st;
    if (l->unix_path && lstat(l->unix_path, &st) == 0 && st.st_dev == l->unix_dev &&
        st.st_ino == l->unix_ino)
        (void)unlink(l->unix_path);
    if (l->unix_path) {
        zws__free(l->unix_path);
    }
    if (l->tls)
        zws__tls_ctx_free(l->tls);
    zws__limits_unref(l->lim);
    zws_opts_free(l->o);
    zws__free(l);
}

/* Why a cap refused fd's peer, for err. */
static void refused_msg(const zws__limits *lim, int fd, int why, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        const void *at = ss.ss_family == AF_INET6
                             ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                             : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        inet_ntop(ss.ss_family, at, host, sizeof host);
    }
    if (why == ZWS__ADDR_CONNS)
        zws__errf(err, errlen, "refused %s: %d connections from that address (per-address cap)",
                  host, lim->per_addr_conns);
    else
        zws__errf(err, errlen, "refused %s: %d handshakes from that address in progress "
                  "(per-address cap)", host, lim->per_addr_hs);
}

int zws_accept(zws_listener *l, zws_conn **out, char *err, size_t errlen)
{
    int fd;
    int r = zws__tcp_accept(l->fd, &fd, ZWS__FOREVER, err, errlen);
    if (r)
        return r;
    zws__addr_count *a;
    if ((r = zws__limits_take(l->lim, fd, &a)) != 0) {
        if (r > 0)
            refused_msg(l->lim, fd, r, err, errlen);
        close(fd);
        return r > 0 ? ZWS_ELIMIT : r;
    }
    zws_conn *c;
    if ((r = conn_new(&c, ZWS_ROLE_SERVER, l->o)) != 0) {
        zws__limits_release(l->lim, a, 1);
        close(fd);
        return r;
    }
    zws__transport_init(&c->tr, fd);
    c->lim = zws__limits_ref(l->lim);
    c->addr = a;
    c->in_handshake = a != NULL;
    if ((r = zws__transport_count(&c->tr)) != 0) {
        zws__errf(err, errlen, "out of memory");
        zws_conn_free(c);
        return r;
    }
    if (l->tls) {
        SSL_CTX_up_ref(l->tls);
        c->tls = l->tls;
    }
    *out = c;
    return 0;
}

/* Answers a refused upgrade and reports why. */
static int refuse_with(zws_conn *c, int status, const char *why,
                       const zws_http_header *extra, size_t n_extra, char *err,
                       size_t errlen)
{
    char resp[2048];
    int n = zws__upgrade_build_refusal(status, why, extra, n_extra, resp, sizeof resp);
    if (n > 0)
        zws__transport_write_all(&c->tr, resp, (size_t)n, timeout_of(c, ZWS_TIMEOUT_CLOSE));
    zws__transport_shutdown(&c->tr, 0);
    c->shut = 1;
    c->state = ST_CLOSED;
    zws__errf(err, errlen, "refused the upgrade with %d %s: %s", status,
              zws_http_status_text(status), why);
    return ZWS_EHANDSHAKE;
}

static int refuse(zws_conn *c, int status, const char *why, char *err, size_t errlen)
{
    return refuse_with(c, status, why, NULL, 0, err, errlen);
}

static int opts_hook(void *ctx, zws_upgrade *u)
{
    const zws_opts *o = ctx;
    return o->upgrade_hook(o->upgrade_ud, u);
}

static int accept_upgrade(zws_conn *c, const zws_handshake_request *hs, size_t head,
                          int64_t deadline, char *err, size_t errlen)
{
    zws_upgrade u;
    zws__upgrade_ext ext;
    const char *why;
    int status = zws__upgrade_decide(c->o, hs, c->o->upgrade_hook ? opts_hook : NULL, c->o,
                                     &u, &ext, &why);
    if (status) /* the hook's headers go with its refusal (WWW-Authenticate...) */
        return refuse_with(c, status, why, u.headers, u.headers ? u.num_headers : 0, err,
                           errlen);
    char resp[4096];
    int n = zws__upgrade_build_101(c->o, hs, &u, &ext, resp, sizeof resp);
    if (n >= 0 && ext.deflate && zws__session_set_deflate(&c->s, &ext.pmd, &c->o->pmd))
        n = ZWS_ENOMEM;
    if (n == ZWS_ENOMEM)
        return refuse(c, 503, "out of memory", err, errlen);
    if (n == ZWS_EINVAL)
        return refuse(c, 500, "invalid response headers", err, errlen);
    if (n < 0)
        return refuse(c, 500, "response headers do not fit", err, errlen);
    if ((u.subprotocol && !(c->subprotocol = zws__strndup(u.subprotocol, strlen(u.subprotocol)))) ||
        !(c->path = zws__strndup(hs->path, hs->path_len)))
        return ZWS_ENOMEM;
    int r = zws__transport_write_all(&c->tr, resp, (size_t)n, zws__remaining_ms(deadline));
    if (r) {
        zws__transport_errmsg(&c->tr, r, err, errlen);
        return r;
    }
    c->rpos = head;
    c->state = ST_OPEN;
    return 0;
}

static int server_handshake(zws_conn *c, char *err, size_t errlen)
{
    int64_t deadline = zws__deadline(timeout_of(c, ZWS_TIMEOUT_HANDSHAKE));
    int r = 0;
    if (c->tls)
        r = zws__transport_tls_server(&c->tr, c->tls, zws__remaining_ms(deadline), err,
                                      errlen);
    if (r)
        return r;
    zws_http_request req;
    zws_http_header hdrs[MAX_HEADERS];
    int head = read_head(c, deadline, 0, &req, hdrs);
    if (head == ZWS_ETOOBIG)
        return refuse(c, 431, req.error ? req.error : "request head too large", err, errlen);
    if (head == ZWS_EHTTP)
        return refuse(c, 400, req.error ? req.error : "malformed request", err, errlen);
    if (head < 0) {
        zws__errf(err, errlen, "no upgrade request: %s", zws_strerror(head));
        c->state = ST_CLOSED;
        return head;
    }
    zws_handshake_request hs;
    if (zws_handshake_validate_request(&req, &hs))
        return refuse(c, hs.status, hs.error, err, errlen);
    return accept_upgrade(c, &hs, (size_t)head, deadline, err, errlen);
}

int zws_conn_handshake(zws_conn *c, char *err, size_t errlen)
{
    zws__errf(err, errlen, "%s", "");
    if (c->role != ZWS_ROLE_SERVER || c->state != ST_HANDSHAKE)
        return ZWS_ESTATE;
    int r = server_handshake(c, err, errlen);
    if (c->in_handshake) { /* upgraded or not, it no longer counts as one */
        zws__limits_handshake_done(c->lim, c->addr);
        c->in_handshake = 0;
    }
    return r;
}
