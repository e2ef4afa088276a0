/* Inbound protocol: frames to events, sans-I/O (see include/zws/parser.h).
 *
 * States:
 *   HEADER  waiting for a frame header at the start of the input;
 *   WAIT    header parsed, waiting for the whole frame to be in the caller's
 *           buffer (control frames, single-frame messages): delivered in
 *           place. Bytes that arrived are unmasked and validated already, so
 *           a retry resumes at `done` and invalid UTF-8 fails at once;
 *   STREAM  the frame's payload is consumed as it comes and appended to the
 *           assembly buffer (fragments, frames too big for the caller's
 *           buffer, extension-transformed messages). */
#include <string.h>

#include "internal/alloc.h"
#include "internal/parser.h"
#include "internal/buf.h"
#include "internal/frame.h"
#include "zws/mask.h"
#include "zws/parser.h"
#include "zws/utf8.h"

#define DEFAULT_LIMIT ((uint64_t)16 << 20)

enum { S_HEADER, S_WAIT, S_STREAM, S_DEAD };

struct zws_parser {
    enum zws_role role;
    int state;
    uint64_t max_frame;
    uint64_t max_message;
    size_t buffer_size;
    zws_parser_ext ext;     /* ext.payload == NULL: none */

    zws_frame fr;           /* the current frame's header */
    uint64_t done;          /* payload bytes of fr already processed */

    int msg_open;           /* a message is being assembled */
    unsigned msg_opcode;
    unsigned msg_rsv;
    int msg_ext;            /* the extension transforms this message */
    zws_utf8 utf8;          /* for the message (or close reason) in work */
    zws_buf *asmb;          /* assembly buffer, reused across messages */
    int delivered;          /* last event was an assembled message */
};

int zws_parser_new(zws_parser **out, enum zws_role role)
{
    if (!out || (role != ZWS_ROLE_SERVER && role != ZWS_ROLE_CLIENT))
        return ZWS_EINVAL;
    zws_parser *p = zws__malloc(sizeof *p);
    if (!p)
        return ZWS_ENOMEM;
    memset(p, 0, sizeof *p);
    p->role = role;
    p->max_frame = DEFAULT_LIMIT;
    p->max_message = DEFAULT_LIMIT;
    p->buffer_size = SIZE_MAX;
    *out = p;
    return 0;
}

void zws_parser_free(zws_parser *p)
{
    if (!p)
        return;
    zws__free(p->asmb);
    zws__free(p);
}

void zws_parser_reset(zws_parser *p)
{
    p->state = S_HEADER;
    p->done = 0;
    p->msg_open = 0;
    p->delivered = 0;
    if (p->asmb)
        p->asmb->len = 0;
}

int zws_parser_set_limits(zws_parser *p, uint64_t max_frame, uint64_t max_message)
{
    if ((max_frame >> 63) || (max_message >> 63))
        return ZWS_EINVAL;
    /* Lengths must fit in memory: this matters on 32-bit hosts. */
    if (max_frame > SIZE_MAX)
        max_frame = SIZE_MAX;
    if (max_message > SIZE_MAX)
        max_message = SIZE_MAX;
    if (max_frame)
        p->max_frame = max_frame;
    if (max_message)
        p->max_message = max_message;
    return 0;
}

void zws_parser_set_buffer_size(zws_parser *p, size_t size)
{
    /* Control frames are always waited for whole: the buffer must hold the
     * largest one (2 + 4 + 125 bytes). */
    p->buffer_size = size < ZWS_PARSER_MIN_BUFFER ? ZWS_PARSER_MIN_BUFFER : size;
}

int zws_parser_set_ext(zws_parser *p, const zws_parser_ext *ext)
{
    if (p->msg_open || p->state == S_STREAM || p->state == S_WAIT)
        return ZWS_ESTATE;
    if (ext && (!ext->payload || ext->rsv == 0 || (ext->rsv & ~7u)))
        return ZWS_EINVAL;
    if (ext)
        p->ext = *ext;
    else
        memset(&p->ext, 0, sizeof p->ext);
    return 0;
}

static int fail(zws_parser *p, zws_event *ev, int err, uint16_t code,
                const char *why)
{
    p->state = S_DEAD;
    p->msg_open = 0;
    memset(ev, 0, sizeof *ev);
    ev->close_code = code;
    ev->reason = why;
    ev->reason_len = strlen(why);
    return err;
}

static uint16_t code_for(int err)
{
    switch (err) {
    case ZWS_EPROTO:
        return ZWS_CLOSE_PROTOCOL;
    case ZWS_ETOOBIG:
        return ZWS_CLOSE_TOO_BIG;
    case ZWS_ENOMEM:
        return ZWS_CLOSE_INTERNAL;
    default:
        return ZWS_CLOSE_INVALID_DATA;
    }
}

static int fail_err(zws_parser *p, zws_event *ev, int err)
{
    const char *why = err == ZWS_EUTF8 ? "invalid UTF-8 in a text message"
                                       : zws_strerror(err);
    return fail(p, ev, err, code_for(err), why);
}

/* Grows the assembly buffer to hold `more` bytes past its length:
 * geometric, never past what max_message allows. */
static int asmb_reserve(zws_parser *p, uint64_t more)
{
    size_t len = p->asmb ? p->asmb->len : 0;
    if (more > p->max_message - len || more > SIZE_MAX - len)
        return ZWS_ETOOBIG;
    size_t need = len + (size_t)more;
    if (p->asmb && p->asmb->cap >= need)
        return 0;
    size_t cap = p->asmb ? p->asmb->cap * 2 : 256;
    if (cap < need)
        cap = need;
    if (cap > p->max_message)
        cap = (size_t)p->max_message > need ? (size_t)p->max_message : need;
    zws_buf *b = zws__buf_reserve(p->asmb, cap);
    if (!b)
        return ZWS_ENOMEM;
    p->asmb = b;
    return 0;
}

/* Unmasks n payload bytes at dst (copied from src, or in place when
 * dst == src) starting at payload offset p->done. */
static void unmask(zws_parser *p, uint8_t *dst, const uint8_t *src, size_t n)
{
    if (p->fr.masked)
        zws_mask_copy(dst, src, n, p->fr.mask_key, (unsigned)(p->done & 3));
    else if (dst != src)
        memcpy(dst, src, n);
}

/* Appends n bytes of the message to the assembly buffer (room reserved),
 * validating text. */
static int append(zws_parser *p, const uint8_t *src, size_t n, int in_place)
{
    uint8_t *dst = p->asmb->data + p->asmb->len;
    if (!in_place)
        unmask(p, dst, src, n);
    else if (p->fr.masked)
        zws_mask(dst, n, p->fr.mask_key, (unsigned)(p->done & 3));
    if (p->msg_opcode == ZWS_OP_TEXT && zws_utf8_feed(&p->utf8, dst, n, NULL))
        return ZWS_EUTF8;
    p->asmb->len += n;
    p->done += n;
    return 0;
}

static int check_close(zws_parser *p, zws_event *ev)
{
    if (ev->len == 0) {
        ev->close_code = ZWS_CLOSE_NO_STATUS;
        ev->reason = "";
        return 0;
    }
    if (ev->len == 1)
        return fail(p, ev, ZWS_EPROTO, 1002, "close payload of 1 byte");
    unsigned code = (unsigned)ev->data[0] << 8 | ev->data[1];
    if (!zws_close_code_valid(code))
        return fail(p, ev, ZWS_EPROTO, 1002, "invalid close code");
    if (!zws_utf8_valid(ev->data + 2, ev->len - 2))
        return fail(p, ev, ZWS_EUTF8, 1007, "close reason is not UTF-8");
    ev->close_code = (uint16_t)code;
    ev->reason = (const char *)ev->data + 2;
    ev->reason_len = ev->len - 2;
    return 0;
}

/* A whole frame sits at `payload`: fill in its event. */
static int deliver_in_place(zws_parser *p, uint8_t *payload, zws_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->data = payload;
    ev->len = (size_t)p->fr.len;
    switch (p->fr.opcode) {
    case ZWS_OP_PING:
        return ev->type = ZWS_EV_PING;
    case ZWS_OP_PONG:
        return ev->type = ZWS_EV_PONG;
    case ZWS_OP_CLOSE: {
        int r = check_close(p, ev);
        if (r)
            return r;
        p->state = S_DEAD;
        return ev->type = ZWS_EV_CLOSE;
    }
    default:
        if (p->fr.opcode == ZWS_OP_TEXT && !zws_utf8_complete(&p->utf8))
            return fail(p, ev, ZWS_EUTF8, 1007,
                        "text message ends inside a UTF-8 sequence");
        ev->opcode = p->fr.opcode;
        ev->rsv = p->fr.rsv;
        return ev->type = ZWS_EV_MESSAGE;
    }
}

static int deliver_assembled(zws_parser *p, zws_event *ev)
{
    if (p->msg_opcode == ZWS_OP_TEXT && !zws_utf8_complete(&p->utf8))
        return fail(p, ev, ZWS_EUTF8, 1007,
                    "text message ends inside a UTF-8 sequence");
    memset(ev, 0, sizeof *ev);
    ev->type = ZWS_EV_MESSAGE;
    ev->opcode = p->msg_opcode;
    ev->rsv = p->msg_rsv;
    ev->flags = ZWS_EV_ASSEMBLED;
    ev->data = p->asmb ? p->asmb->data : (const uint8_t *)"";
    ev->len = p->asmb ? p->asmb->len : 0;
    p->msg_open = 0;
    p->delivered = 1;
    return ZWS_EV_MESSAGE;
}

/* Fragmentation rules and the choice between WAIT and STREAM for a data
 * frame whose header was just parsed. */
static int begin_data(zws_parser *p, zws_event *ev)
{
    const zws_frame *f = &p->fr;
    if (f->opcode == ZWS_OP_CONT) {
        if (!p->msg_open)
            return fail(p, ev, ZWS_EPROTO, 1002,
                        "continuation frame with no message open");
        if (f->rsv)
            return fail(p, ev, ZWS_EPROTO, 1002,
                        "reserved bit set on a continuation frame");
    } else {
        if (p->msg_open)
            return fail(p, ev, ZWS_EPROTO, 1002,
                        "new message while a fragmented one is open");
        p->msg_opcode = f->opcode;
        p->msg_rsv = f->rsv;
        p->msg_ext = p->ext.payload && (f->rsv & p->ext.rsv);
        zws_utf8_reset(&p->utf8);
        if (p->asmb)
            p->asmb->len = 0;
        if (f->fin && !p->msg_ext && f->header_len + f->len <= p->buffer_size) {
            if (f->len > p->max_message)
                return fail(p, ev, ZWS_ETOOBIG, 1009, "message too big");
            p->state = S_WAIT;
            return 0;
        }
    }
    p->msg_open = 1;
    p->state = S_STREAM;
    if (!p->msg_ext) {
        int r = asmb_reserve(p, f->len);
        if (r)
            return fail(p, ev, r, code_for(r),
                        r == ZWS_ETOOBIG ? "message too big" : "out of memory");
    }
    return 0;
}

static int on_header(zws_parser *p, uint8_t *in, size_t len, size_t *off,
                     zws_event *ev)
{
    unsigned allow = p->ext.payload ? p->ext.rsv : 0;
    int r = zws__frame_parse(&p->fr, in + *off, len - *off, p->role, allow,
                             p->max_frame, NULL);
    if (r <= 0)
        return r < 0 ? fail(p, ev, r, p->fr.close_code, p->fr.error) : 0;
    p->done = 0;
    if (p->fr.opcode >= ZWS_OP_CLOSE) {
        if (p->fr.rsv)
            return fail(p, ev, ZWS_EPROTO, 1002,
                        "reserved bit set on a control frame");
        p->state = S_WAIT;
        return 0;
    }
    r = begin_data(p, ev);
    if (r == 0 && p->state == S_STREAM)
        *off += p->fr.header_len;
    return r;
}

/* WAIT: returns 1 when the frame is complete (event in *ev), 0 for more
 * input, < 0 on failure. */
static int on_wait(zws_parser *p, uint8_t *in, size_t len, size_t *off,
                   zws_event *ev)
{
    if (len - *off < p->fr.header_len)
        return 0; /* the caller did not present the frame again */
    uint8_t *payload = in + *off + p->fr.header_len;
    size_t have = len - *off - p->fr.header_len;
    size_t avail = p->fr.len < have ? (size_t)p->fr.len : have;
    if (avail > p->done) {
        size_t n = avail - (size_t)p->done;
        uint8_t *at = payload + p->done;
        unmask(p, at, at, n);
        if (p->fr.opcode == ZWS_OP_TEXT && zws_utf8_feed(&p->utf8, at, n, NULL))
            return fail_err(p, ev, ZWS_EUTF8);
        p->done = avail;
    }
    if (p->done < p->fr.len)
        return 0;
    *off += p->fr.header_len + (size_t)p->fr.len;
    p->state = S_HEADER;
    int r = deliver_in_place(p, payload, ev);
    return r < 0 ? r : 1;
}

static int ext_feed(zws_parser *p, uint8_t *at, size_t n, zws_event *ev)
{
    unmask(p, at, at, n);
    p->done += n;
    int fin = p->fr.fin && p->done == p->fr.len;
    int r = p->ext.payload(p->ext.ud, p, at, n, fin);
    return r ? fail_err(p, ev, r > 0 ? ZWS_EEXT : r) : 0;
}

/* STREAM: returns 1 with an event, 0 for more input (or frame finished
 * without an event: state is then HEADER), < 0 on failure. */
static int on_stream(zws_parser *p, uint8_t *in, size_t len, size_t *off,
                     zws_event *ev)
{
    uint64_t left = p->fr.len - p->done;
    size_t n = left < len - *off ? (size_t)left : len - *off;
    if (n || (p->msg_ext && p->done == 0 && p->fr.len == 0)) {
        int r = p->msg_ext ? ext_feed(p, in + *off, n, ev)
                           : append(p, in + *off, n, 0);
        if (r)
            return r < 0 && p->state == S_DEAD ? r : fail_err(p, ev, r);
        *off += n;
    }
    if (p->done < p->fr.len)
        return 0;
    p->state = S_HEADER;
    if (!p->fr.fin)
        return 0;
    int r = deliver_assembled(p, ev);
    return r < 0 ? r : 1;
}

/* The usual input in one step: a whole text or binary frame with FIN, no
 * RSV bit and a payload under 64 KiB, masked as the role requires, while
 * no message is open (1 and the event). A frame it does not take -- not
 * whole yet, over a limit, not valid UTF-8 -- it leaves as it found it
 * (masked again: XOR with the key twice is no change) to the state
 * machine, which answers for it as for any other (0). Between messages
 * that machine keeps nothing this path would have to set. */
static int whole_frame(zws_parser *p, uint8_t *in, size_t len, size_t *consumed,
                       zws_event *ev)
{
    if (len < 2)
        return 0;
    unsigned b0 = in[0], b1 = in[1], masked = p->role == ZWS_ROLE_SERVER ? 0x80u : 0;
    unsigned l7 = b1 ^ masked; /* the length, when the mask bit is as it must be */
    if ((b0 != 0x81 && b0 != 0x82) || l7 > 126) /* or a 64-bit length */
        return 0;
    size_t hlen = (l7 == 126 ? 4 : 2) + (masked ? 4 : 0), plen = l7;
    if (len < hlen)
        return 0;
    if (l7 == 126)
        plen = (size_t)in[2] << 8 | in[3];
    if (len - hlen < plen || plen > p->max_frame || plen > p->max_message ||
        hlen + plen > p->buffer_size)
        return 0;
    uint8_t *payload = in + hlen;
    if (masked)
        zws_mask(payload, plen, in + hlen - 4, 0);
    if (b0 == 0x81) {
        zws_utf8 u = ZWS_UTF8_INIT;
        if (zws_utf8_feed(&u, payload, plen, NULL) || !zws_utf8_complete(&u)) {
            if (masked)
                zws_mask(payload, plen, in + hlen - 4, 0);
            return 0;
        }
    }
    memset(ev, 0, sizeof *ev);
    ev->type = ZWS_EV_MESSAGE;
    ev->opcode = b0 & 0x0fu;
    ev->data = payload;
    ev->len = plen;
    *consumed = hlen + plen;
    return 1;
}

int zws_parser_next(zws_parser *p, uint8_t *in, size_t len, size_t *consumed,
                    zws_event *ev)
{
    size_t off = 0;
    int r = 0;
    *consumed = 0;
    if (p->state == S_DEAD) {
        memset(ev, 0, sizeof *ev);
        ev->close_code = ZWS_CLOSE_PROTOCOL;
        ev->reason = "parser finished: reset it to parse a new stream";
        ev->reason_len = strlen(ev->reason);
        return ZWS_ESTATE;
    }
    if (p->delivered) {
        /* The previous call's assembled message is no longer borrowed. */
        p->delivered = 0;
        if (p->asmb)
            p->asmb->len = 0;
    }
    if (p->state == S_HEADER && !p->msg_open && whole_frame(p, in, len, consumed, ev))
        return ZWS_EV_MESSAGE;
    for (;;) {
        switch (p->state) {
        case S_HEADER:
            r = on_header(p, in, len, &off, ev);
            if (r == 0 && p->state == S_HEADER) {
                *consumed = off;
                return 0;
            }
            break;
        case S_WAIT:
            r = on_wait(p, in, len, &off, ev);
            if (r == 0) {
                *consumed = off;
                return 0;
            }
            break;
        case S_STREAM:
            r = on_stream(p, in, len, &off, ev);
            if (r == 0 && p->state == S_STREAM) {
                *consumed = off;
                return 0;
            }
            break;
        }
        if (r != 0) {
            *consumed = off;
            return r < 0 ? r : ev->type;
        }
    }
}

int zws_parser_detach(zws_parser *p, zws_buf **out)
{
    if (!p->delivered || !p->asmb)
        return ZWS_ESTATE;
    *out = p->asmb;
    p->asmb = NULL;
    p->delivered = 0;
    return 0;
}

size_t zws_parser_direct(zws_parser *p, uint8_t **dst)
{
    if (p->state != S_STREAM || p->msg_ext || p->done >= p->fr.len) {
        *dst = NULL;
        return 0;
    }
    *dst = p->asmb->data + p->asmb->len;
    return (size_t)(p->fr.len - p->done);
}

int zws_parser_direct_done(zws_parser *p, size_t n, zws_event *ev)
{
    if (p->state != S_STREAM || p->msg_ext || n > p->fr.len - p->done)
        return ZWS_ESTATE;
    int r = append(p, NULL, n, 1);
    return r ? fail_err(p, ev, r) : 0;
}

int zws_parser_out_reserve(zws_parser *p, size_t min, uint8_t **dst,
                           size_t *room)
{
    int r = asmb_reserve(p, min);
    if (r)
        return r;
    *dst = p->asmb->data + p->asmb->len;
    *room = p->asmb->cap - p->asmb->len;
    return 0;
}

int zws_parser_out_commit(zws_parser *p, size_t n)
{
    if (!p->asmb)
        return n ? ZWS_EINVAL : 0;
    uint8_t *at = p->asmb->data + p->asmb->len;
    if (n > p->asmb->cap - p->asmb->len)
        return ZWS_EINVAL;
    if (p->msg_opcode == ZWS_OP_TEXT && zws_utf8_feed(&p->utf8, at, n, NULL))
        return ZWS_EUTF8;
    p->asmb->len += n;
    return 0;
}

size_t zws__parser_held(const zws_parser *p) { return p->asmb ? p->asmb->cap : 0; }

void zws__parser_release(zws_parser *p)
{
    zws__free(p->asmb);
    p->asmb = NULL;
    p->delivered = 0;
    p->msg_open = 0;
}

void zws__parser_trim(zws_parser *p, size_t max)
{
    if (p->msg_open || !p->asmb || p->asmb->cap <= max)
        return;
    zws__free(p->asmb);
    p->asmb = NULL;
    p->delivered = 0;
}

int zws__parser_idle(const zws_parser *p)
{
    return p->state == S_DEAD || (p->state == S_HEADER && !p->msg_open);
}
