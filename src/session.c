/* The sans-I/O session (see internal/session.h): the protocol behaviour of
 * one connection, shared by the blocking and the event-loop drivers. */
#include <string.h>

#include "internal/deflate.h"
#include "internal/parser.h"
#include "internal/session.h"
#include "internal/writer.h"
#include "zws/frame.h"
#include "zws/utf8.h"

static int make_parser(zws__session *s, const zws__session_cfg *cfg)
{
    int r = zws_parser_new(&s->p, cfg->role);
    if (r)
        return r;
    zws_parser_set_limits(s->p, cfg->max_frame, cfg->max_message);
    zws_parser_set_buffer_size(s->p, cfg->buffer_size);
    if (s->deflate) {
        zws_parser_ext ext;
        zws__deflate_parser_ext(s->deflate, &ext);
        zws_parser_set_ext(s->p, &ext); /* a new parser is between messages */
    }
    return 0;
}

static int make_writer(zws__session *s, const zws__session_cfg *cfg)
{
    int r = zws_writer_new(&s->w, cfg->role);
    if (r)
        return r;
    if (cfg->max_pending)
        zws_writer_set_max_pending(s->w, cfg->max_pending);
    if (cfg->keys)
        zws__writer_set_keys(s->w, cfg->keys);
    return 0;
}

int zws__session_init(zws__session *s, const zws__session_cfg *cfg)
{
    memset(s, 0, sizeof *s);
    s->role = (uint8_t)cfg->role;
    s->surface = cfg->surface != 0;
    s->live = 1;
    zws__outq_init(&s->q);
    if (cfg->lazy) {
        s->cfg = cfg;
        return 0;
    }
    int r = make_parser(s, cfg);
    if (!r)
        r = make_writer(s, cfg);
    if (r)
        zws__session_free(s);
    return r;
}

zws_writer *zws__session_writer(zws__session *s)
{
    if (!s->w && s->cfg)
        make_writer(s, s->cfg);
    return s->w;
}

int zws__session_append(zws__session *s, const void *bytes, size_t n, int exempt)
{
    zws_writer *w = zws__session_writer(s);
    return w ? zws__writer_append(w, bytes, n, exempt) : ZWS_ENOMEM;
}

void zws__session_trim_input(zws__session *s)
{
    if (s->cfg && s->p && zws__parser_idle(s->p)) {
        zws_parser_free(s->p);
        s->p = NULL;
    }
}

void zws__session_trim_output(zws__session *s)
{
    if (!s->cfg || !zws__outq_empty(&s->q))
        return;
    zws__outq_trim(&s->q);
    if (s->w && zws__writer_idle(s->w)) {
        zws_writer_free(s->w);
        s->w = NULL;
    }
}

int zws__session_set_deflate(zws__session *s, const zws__pmd_params *p,
                             const zws__pmd_cfg *cfg)
{
    zws__deflate *d;
    int r = zws__deflate_new(&d, p, cfg);
    if (r)
        return r;
    zws_parser_ext ext;
    zws__deflate_parser_ext(d, &ext);
    if (s->p && (r = zws_parser_set_ext(s->p, &ext)) != 0) { /* else at its making */
        zws__deflate_free(d);
        return r;
    }
    zws__deflate_free(s->deflate);
    s->deflate = d;
    zws__deflate_describe(d, s->role);
    return 0;
}

const char *zws__session_extensions(const zws__session *s)
{
    return s->deflate ? zws__deflate_description(s->deflate) : "";
}

int zws__session_compresses(const zws__session *s, size_t len)
{
    return s->deflate && len >= zws__deflate_threshold(s->deflate);
}

void zws__session_free(zws__session *s)
{
    zws__deflate_free(s->deflate);
    s->deflate = NULL;
    zws__outq_free(&s->q);
    zws_parser_free(s->p);
    zws_writer_free(s->w);
    s->p = NULL;
    s->w = NULL;
    s->live = 0;
}

void zws__session_input_at(zws__session *s, int64_t now)
{
    s->last_input = zws__ms32_of(now);
    s->pinged = 0;
}

/* The driver's clock; 0 for a session without timers (no cfg). */
static int64_t clock_now(const zws__session *s)
{
    return s->cfg && s->cfg->clock ? *s->cfg->clock : 0;
}

/* Queues a close frame (the reason cut to 123 bytes: callers pass our
 * static ASCII texts or checked reasons). */
static int queue_close(zws__session *s, uint16_t code, const char *reason, size_t rlen)
{
    uint8_t payload[125];
    size_t n = 0;
    if (code) {
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)code;
        if (rlen > 123)
            rlen = 123;
        if (rlen)
            memcpy(payload + 2, reason, rlen);
        n = 2 + rlen;
    }
    zws_writer *w = zws__session_writer(s);
    return w ? zws_writer_put(w, ZWS_OP_CLOSE, payload, n, 0) : ZWS_ENOMEM;
}

static void set_failure(zws_event *ev, uint16_t code, const char *why)
{
    memset(ev, 0, sizeof *ev);
    ev->close_code = code;
    ev->reason = why;
    ev->reason_len = strlen(why);
}

/* The peer broke the protocol: our close carries the parser's code (only
 * while open: after our own close the peer's answer is all we wait for). */
int zws__session_fail(zws__session *s, int err, zws_event *ev)
{
    if (s->state == ZWS__S_OPEN)
        queue_close(s, ev->close_code, ev->reason, ev->reason_len);
    s->state = ZWS__S_CLOSED;
    return err;
}

/* One event from the parser: its type for the application, 0 to go on, or a
 * failure. */
static int on_event(zws__session *s, int type, zws_event *ev)
{
    switch (type) {
    case ZWS_EV_PING:
        if (s->state == ZWS__S_OPEN) {
            zws_writer *w = zws__session_writer(s);
            int r = w ? zws_writer_put(w, ZWS_OP_PONG, ev->data, ev->len, 0) : ZWS_ENOMEM;
            if (r) { /* the peer pings faster than it reads */
                set_failure(ev, ZWS_CLOSE_POLICY, "too many unanswered pings");
                return zws__session_fail(s, r, ev);
            }
            s->replies = 1;
        }
        return s->surface ? type : 0;
    case ZWS_EV_PONG:
        return s->surface ? type : 0;
    case ZWS_EV_CLOSE:
        if (s->state == ZWS__S_OPEN) { /* echo the code (RFC 6455 §5.5.1) */
            uint16_t code = ev->close_code == ZWS_CLOSE_NO_STATUS ? 0 : ev->close_code;
            queue_close(s, code, NULL, 0);
            s->replies = 1;
        }
        s->state = ZWS__S_CLOSED;
        return type;
    default:
        return type;
    }
}

int zws__session_recv(zws__session *s, uint8_t *in, size_t len, size_t *used, zws_event *ev)
{
    *used = 0;
    if (s->state == ZWS__S_CLOSED)
        return ZWS_ECLOSED;
    if (!s->p && (!s->cfg || make_parser(s, s->cfg))) {
        set_failure(ev, ZWS_CLOSE_INTERNAL, "out of memory");
        return zws__session_fail(s, ZWS_ENOMEM, ev);
    }
    for (;;) {
        size_t n;
        int r = zws_parser_next(s->p, in + *used, len - *used, &n, ev);
        *used += n;
        if (r < 0)
            return zws__session_fail(s, r, ev);
        if (r == 0)
            return 0;
        r = on_event(s, r, ev);
        if (r)
            return r;
    }
}

size_t zws__session_direct(zws__session *s, uint8_t **dst)
{
    if (s->state == ZWS__S_CLOSED || !s->p) { /* no parser: no frame under way */
        *dst = NULL;
        return 0;
    }
    return zws_parser_direct(s->p, dst);
}

int zws__session_direct_done(zws__session *s, size_t n, zws_event *ev)
{
    int r = zws_parser_direct_done(s->p, n, ev);
    return r < 0 ? zws__session_fail(s, r, ev) : r;
}

int zws__session_send(zws__session *s, unsigned opcode, const void *data, size_t len,
                      unsigned flags)
{
    if (s->state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    /* Control frames have their own calls, so the close state machine sees
     * them; RSV bits belong to negotiated extensions. */
    if (opcode > ZWS_OP_BINARY || (flags & ~ZWS_WRITE_MORE))
        return ZWS_EINVAL;
    zws_writer *w = zws__session_writer(s);
    if (!w)
        return ZWS_ENOMEM;
    if (s->deflate)
        return zws__deflate_send(s->deflate, w, opcode, data, len, flags);
    return zws_writer_put(w, opcode, data, len, flags);
}

int zws__session_send_ref(zws__session *s, unsigned opcode, zws_buf *payload, size_t off,
                          size_t len)
{
    if (s->state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    if (opcode != ZWS_OP_TEXT && opcode != ZWS_OP_BINARY)
        return ZWS_EINVAL;
    zws_writer *w = zws__session_writer(s);
    if (!w)
        return ZWS_ENOMEM;
    const uint8_t *data = zws_buf_data(payload) + off;
    if (zws__session_compresses(s, len))
        return zws__deflate_send(s->deflate, w, opcode, data, len, 0); /* a copy */
    if (s->role == ZWS_ROLE_CLIENT)
        return zws_writer_put(w, opcode, data, len, 0);
    uint8_t hdr[ZWS_FRAME_MAX_HEADER];
    struct iovec iov[2];
    int k = zws_writer_iov(w, opcode, data, len, 0, hdr, sizeof hdr, iov, 2);
    if (k == ZWS_ENOSPACE) /* fragmented by frag_size: copy */
        return zws_writer_put(w, opcode, data, len, 0);
    if (k < 0)
        return k;
    int r = zws__writer_append(w, hdr, iov[0].iov_len, 0);
    return r ? r : zws__outq_push_ref(&s->q, w, payload, off, len);
}

int zws__session_send_frames(zws__session *s, zws_buf *frames)
{
    if (s->state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    return zws__outq_push_ref(&s->q, s->w, frames, 0, zws_buf_len(frames));
}

int zws__session_ping(zws__session *s, const void *data, size_t len)
{
    if (s->state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    zws_writer *w = zws__session_writer(s);
    return w ? zws_writer_put(w, ZWS_OP_PING, data, len, 0) : ZWS_ENOMEM;
}

int zws__session_pong(zws__session *s, const void *data, size_t len)
{
    if (s->state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    zws_writer *w = zws__session_writer(s);
    return w ? zws_writer_put(w, ZWS_OP_PONG, data, len, 0) : ZWS_ENOMEM;
}

int zws__session_close(zws__session *s, uint16_t code, const char *reason, size_t rlen)
{
    if ((code && !zws_close_code_valid(code)) || rlen > 123 || (rlen && !code) ||
        !zws_utf8_valid((const uint8_t *)reason, rlen))
        return ZWS_EINVAL;
    if (s->state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    int r = queue_close(s, code, reason, rlen);
    s->state = ZWS__S_CLOSE_SENT;
    s->close_at = zws__ms32_of(clock_now(s));
    return r;
}

/* ---- time ---- */

static const zws__session_timers no_timers;

static const zws__session_timers *timers(const zws__session *s)
{
    return s->cfg ? &s->cfg->t : &no_timers;
}

/* ms after the kept time t (read against now), or -1 for no timeout. */
static int64_t after(zws__ms32 t, int ms, int64_t now)
{
    return ms > 0 ? zws__ms32_at(t, now) + ms : -1;
}

static int64_t earliest(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    return b < 0 || a < b ? a : b;
}

static int64_t deadline_at(const zws__session *s, int64_t now)
{
    const zws__session_timers *t = timers(s);
    if (s->state == ZWS__S_CLOSED)
        return -1;
    if (s->state == ZWS__S_CLOSE_SENT)
        return after(s->close_at, t->close, now);
    int64_t d = after(s->last_input, t->idle, now);
    if (s->pinged)
        return earliest(d, after(s->ping_sent, t->pong, now));
    return earliest(d, after(s->last_input, t->ping, now));
}

int64_t zws__session_deadline(const zws__session *s) { return deadline_at(s, clock_now(s)); }

/* Closes for a timer (1001) and starts the close timeout at now. */
static int close_for(zws__session *s, int64_t now, const char *why)
{
    queue_close(s, ZWS_CLOSE_GOING_AWAY, why, strlen(why));
    s->state = ZWS__S_CLOSE_SENT;
    s->close_at = zws__ms32_of(now);
    return 0;
}

int zws__session_tick(zws__session *s, int64_t now)
{
    const zws__session_timers *t = timers(s);
    if (s->state == ZWS__S_CLOSED)
        return 0;
    if (s->state == ZWS__S_CLOSE_SENT) {
        int64_t d = after(s->close_at, t->close, now);
        if (d >= 0 && now >= d) {
            s->state = ZWS__S_CLOSED;
            return ZWS_ETIMEDOUT;
        }
        return 0;
    }
    int64_t idle = after(s->last_input, t->idle, now);
    if (idle >= 0 && now >= idle)
        return close_for(s, now, "idle timeout");
    if (s->pinged) {
        int64_t d = after(s->ping_sent, t->pong, now);
        if (d >= 0 && now >= d) { /* unresponsive: no closing handshake */
            queue_close(s, ZWS_CLOSE_GOING_AWAY, "no pong", 7);
            s->state = ZWS__S_CLOSED;
        }
        return 0;
    }
    int64_t ping = after(s->last_input, t->ping, now);
    zws_writer *w;
    if (ping >= 0 && now >= ping && (w = zws__session_writer(s)) != NULL &&
        zws_writer_put(w, ZWS_OP_PING, "", 0, 0) == 0) {
        s->ping_sent = zws__ms32_of(now);
        s->pinged = 1;
    }
    return 0;
}
