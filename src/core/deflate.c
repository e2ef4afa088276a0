/* permessage-deflate (RFC 7692), the data path, on zlib's raw deflate.
 *
 * Receiving: the parser hands each compressed message to inflate_piece()
 * (its extension hook) frame by frame, as the bytes arrive; the output goes
 * straight into the parser's message buffer, whose reserve call refuses to
 * grow past max_message. So a small frame that would expand to gigabytes
 * fails with 1009 as soon as its output passes the limit, holding no more
 * than the limit; text is validated as it streams out.
 *
 * Sending: each message (or each part of one sent in fragments) is
 * compressed with a sync flush; the last part loses the 00 00 ff ff that
 * flush ends with (§7.2.1), and RSV1 goes on the first frame only.
 *
 * Without context takeover in a direction, the stream is reset after each
 * message; zws__deflate_trim releases such a stream's memory between
 * messages (an idle connection then holds neither window). */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "internal/alloc.h"
#include "internal/buf.h"
#include "internal/deflate.h"
#include "zws/frame.h"
#include "zws/writer.h"

#define OUT_MIN 1024 /* compressed bytes room grown by at least this */

struct zws__deflate {
    zws__pmd_params p;
    int level, mem_level;
    size_t threshold;
    z_stream in, out;
    int in_ready, out_ready; /* the streams are initialised */
    int in_dirty;            /* the inflater has seen part of a message */
    int ended;               /* a BFINAL block ended the last input */
    int msg_open;            /* a message sent in parts is under way */
    int msg_compressed;      /* ... and compressed (RSV1 was set) */
    uint8_t *obuf;           /* compressed output of one put */
    size_t ocap;
    char desc[ZWS__PMD_HEADER_MAX]; /* what was agreed, as a header value */
};

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
    (void)opaque;
    return zws__malloc((size_t)items * size);
}

static void z_free(void *opaque, void *ptr)
{
    (void)opaque;
    zws__free(ptr);
}

int zws__deflate_new(zws__deflate **out, const zws__pmd_params *p,
                     const zws__pmd_cfg *cfg)
{
    zws__deflate *d = zws__malloc(sizeof *d);
    if (!d)
        return ZWS_ENOMEM;
    memset(d, 0, sizeof *d);
    d->p = *p;
    d->level = cfg->level ? cfg->level : 6;
    d->mem_level = cfg->mem_level ? cfg->mem_level : 8;
    d->threshold = cfg->threshold;
    /* zlib cannot compress with an 8-bit raw window (it takes 9); the
     * negotiation never agrees to it. */
    if (d->p.our_window_bits < 9 || d->p.our_window_bits > 15)
        d->p.our_window_bits = 15;
    *out = d;
    return 0;
}

void zws__deflate_describe(zws__deflate *d, enum zws_role role)
{
    const zws__pmd_params *p = &d->p;
    int server = role == ZWS_ROLE_SERVER;
    int s_nct = server ? p->our_no_context_takeover : p->peer_no_context_takeover;
    int c_nct = server ? p->peer_no_context_takeover : p->our_no_context_takeover;
    int s_bits = server ? p->our_window_bits : p->peer_window_bits;
    int c_bits = server ? p->peer_window_bits : p->our_window_bits;
    char sb[48] = "", cb[48] = "";
    if (s_bits && s_bits < 15)
        snprintf(sb, sizeof sb, "; server_max_window_bits=%d", s_bits);
    if (c_bits && c_bits < 15)
        snprintf(cb, sizeof cb, "; client_max_window_bits=%d", c_bits);
    snprintf(d->desc, sizeof d->desc, "permessage-deflate%s%s%s%s",
             s_nct ? "; server_no_context_takeover" : "",
             c_nct ? "; client_no_context_takeover" : "", sb, cb);
}

const char *zws__deflate_description(const zws__deflate *d) { return d->desc; }

void zws__deflate_free(zws__deflate *d)
{
    if (!d)
        return;
    if (d->in_ready)
        inflateEnd(&d->in);
    if (d->out_ready)
        deflateEnd(&d->out);
    zws__free(d->obuf);
    zws__free(d);
}

void zws__deflate_trim(zws__deflate *d)
{
    if (d->in_ready && d->p.peer_no_context_takeover && !d->in_dirty) {
        inflateEnd(&d->in);
        d->in_ready = 0;
    }
    if (d->out_ready && d->p.our_no_context_takeover && !d->msg_open) {
        deflateEnd(&d->out);
        d->out_ready = 0;
    }
    if (!d->msg_open && d->ocap > 64 * 1024) {
        zws__free(d->obuf);
        d->obuf = NULL;
        d->ocap = 0;
    }
}

int zws__deflate_trimmable(const zws__deflate *d)
{
    return (d->in_ready && d->p.peer_no_context_takeover && !d->in_dirty) ||
           (d->out_ready && d->p.our_no_context_takeover && !d->msg_open);
}

size_t zws__deflate_held(const zws__deflate *d)
{
    /* zlib's own accounting (zconf.h): inflate 1 << windowBits plus about
     * 7 KiB; deflate (1 << (windowBits + 2)) + (1 << (memLevel + 9)). */
    size_t n = sizeof *d + d->ocap;
    if (d->in_ready) {
        int wb = d->p.peer_window_bits < 9 ? 9 : d->p.peer_window_bits;
        n += ((size_t)1 << wb) + 7 * 1024;
    }
    if (d->out_ready)
        n += ((size_t)1 << (d->p.our_window_bits + 2)) + ((size_t)1 << (d->mem_level + 9));
    return n;
}

/* ---- receiving ---- */

static int inflater(zws__deflate *d)
{
    if (d->in_ready)
        return 0;
    memset(&d->in, 0, sizeof d->in);
    d->in.zalloc = z_alloc;
    d->in.zfree = z_free;
    /* A window at least as large as the peer's reads its stream; zlib
     * peers told 8 bits compress with 9. */
    int wb = d->p.peer_window_bits < 9 ? 9 : d->p.peer_window_bits;
    int r = inflateInit2(&d->in, -wb);
    if (r != Z_OK)
        return r == Z_MEM_ERROR ? ZWS_ENOMEM : ZWS_EEXT;
    d->in_ready = 1;
    return 0;
}

/* Inflates in[0..len) into the message; returns 0 or a ZWS_E code. */
static int inflate_into(zws__deflate *d, zws_parser *p, const uint8_t *in, size_t len)
{
    d->in.next_in = (Bytef *)(uintptr_t)in;
    d->in.avail_in = (uInt)len;
    for (;;) {
        uint8_t *dst, probe;
        size_t room;
        int r = zws_parser_out_reserve(p, 1, &dst, &room), full = r == ZWS_ETOOBIG;
        if (r && !full)
            return r;
        if (full) { /* at max_message: one byte more, if it comes, is too much */
            dst = &probe;
            room = 1;
        }
        if (room > (1u << 30))
            room = 1u << 30;
        d->in.next_out = dst;
        d->in.avail_out = (uInt)room;
        int z = inflate(&d->in, Z_SYNC_FLUSH);
        size_t made = room - d->in.avail_out;
        if (full && made)
            return ZWS_ETOOBIG; /* the message would pass max_message */
        if (made && (r = zws_parser_out_commit(p, made)) != 0)
            return r; /* ZWS_EUTF8, at the first bad byte's batch */
        if (z == Z_STREAM_END) {
            /* A block with BFINAL set (RFC 7692 §7.2.3.4): that stream is
             * over. More data starts a new one; if none comes before the
             * message ends, there is no tail to add. */
            if (inflateReset(&d->in) != Z_OK)
                return ZWS_EEXT;
            d->ended = d->in.avail_in == 0;
            if (d->ended)
                return 0;
            continue;
        }
        d->ended = 0;
        if (z == Z_NEED_DICT || z == Z_DATA_ERROR || z == Z_STREAM_ERROR)
            return ZWS_EEXT; /* corrupt data, or a dictionary we never agreed */
        if (z == Z_MEM_ERROR)
            return ZWS_ENOMEM;
        /* Done when all input is in and zlib left room unused (nothing more
         * to write out); Z_BUF_ERROR: no progress possible, input used up. */
        if (d->in.avail_in == 0 && (d->in.avail_out != 0 || z == Z_BUF_ERROR))
            return 0;
    }
}

static int inflate_piece(void *ud, zws_parser *p, const uint8_t *in, size_t len, int fin)
{
    zws__deflate *d = ud;
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    int r = inflater(d);
    if (r)
        return r;
    d->in_dirty = 1;
    if (len && (r = inflate_into(d, p, in, len)) != 0)
        goto failed;
    if (!fin)
        return 0;
    if (!d->ended && (r = inflate_into(d, p, tail, sizeof tail)) != 0)
        goto failed;
    d->in_dirty = 0;
    d->ended = 0;
    if (d->p.peer_no_context_takeover && inflateReset(&d->in) != Z_OK)
        return ZWS_EEXT;
    return 0;
failed:
    /* The connection fails: the stream's memory goes now, not at free. */
    inflateEnd(&d->in);
    d->in_ready = 0;
    return r;
}

void zws__deflate_parser_ext(zws__deflate *d, zws_parser_ext *ext)
{
    ext->rsv = ZWS_RSV1;
    ext->payload = inflate_piece;
    ext->ud = d;
}

/* ---- sending ---- */

static int deflater(zws__deflate *d)
{
    if (d->out_ready)
        return 0;
    memset(&d->out, 0, sizeof d->out);
    d->out.zalloc = z_alloc;
    d->out.zfree = z_free;
    int r = deflateInit2(&d->out, d->level, Z_DEFLATED, -d->p.our_window_bits,
                         d->mem_level, Z_DEFAULT_STRATEGY);
    if (r != Z_OK)
        return r == Z_MEM_ERROR ? ZWS_ENOMEM : ZWS_EINVAL;
    d->out_ready = 1;
    return 0;
}

/* Compresses data[0..len) with a sync flush into d->obuf; *n its length. */
static int compress_part(zws__deflate *d, const void *data, size_t len, size_t *n)
{
    int r = deflater(d);
    if (r)
        return r;
    if (len > (1u << 30))
        return ZWS_EINVAL; /* zlib counts in 32 bits: larger goes in parts */
    size_t want = deflateBound(&d->out, (uLong)len) + 16, done = 0;
    d->out.next_in = (Bytef *)(uintptr_t)data;
    d->out.avail_in = (uInt)len;
    for (;;) {
        if (d->ocap - done < want) {
            size_t cap = done + want < OUT_MIN ? OUT_MIN : done + want;
            uint8_t *b = zws__realloc(d->obuf, cap);
            if (!b)
                return ZWS_ENOMEM;
            d->obuf = b;
            d->ocap = cap;
        }
        d->out.next_out = d->obuf + done;
        d->out.avail_out = (uInt)(d->ocap - done);
        int z = deflate(&d->out, Z_SYNC_FLUSH);
        if (z != Z_OK && z != Z_BUF_ERROR)
            return ZWS_EINVAL;
        done = d->ocap - d->out.avail_out;
        /* The flush is complete when zlib stops short of the end. */
        if (d->out.avail_in == 0 && d->out.avail_out != 0)
            break;
        want = OUT_MIN;
    }
    *n = done;
    return 0;
}

int zws__deflate_send(zws__deflate *d, zws_writer *w, unsigned opcode, const void *data,
                      size_t len, unsigned flags)
{
    int more = (flags & ZWS_WRITE_MORE) != 0;
    if (opcode != ZWS_OP_CONT) {
        if (d->msg_open)
            return ZWS_EINVAL; /* the writer would refuse it too */
        /* Small whole messages go as they are: RSV1 clear. */
        d->msg_compressed = more || len >= d->threshold;
    } else if (!d->msg_open) {
        return ZWS_EINVAL;
    }
    if (!d->msg_compressed) {
        int r = zws_writer_put(w, opcode, data, len, flags);
        if (!r)
            d->msg_open = more;
        return r;
    }
    size_t n;
    int r = compress_part(d, data, len, &n);
    if (r)
        return r;
    static const uint8_t marker[4] = {0x00, 0x00, 0xff, 0xff};
    if (!more && n >= 4 && memcmp(d->obuf + n - 4, marker, 4) == 0) {
        n -= 4; /* the sync flush's 00 00 ff ff: the receiver adds it back */
    } else if (!more && n == 0) {
        /* Nothing new since the last flush: zlib writes nothing, but the
         * message must still read as one, an empty stored block less its
         * last four bytes (§7.2.3.6). */
        d->obuf[0] = 0x00;
        n = 1;
    }
    unsigned wflags = flags | (opcode != ZWS_OP_CONT ? ZWS_RSV1 : 0);
    r = zws_writer_put(w, opcode, d->obuf, n, wflags);
    if (r)
        return r; /* the compressor moved on: the caller must close */
    d->msg_open = more;
    if (!more && d->p.our_no_context_takeover && deflateReset(&d->out) != Z_OK)
        return ZWS_ENOMEM;
    return 0;
}

/* ---- compress-once (pub/sub) ---- */

int zws__deflate_shared_bits(const zws__deflate *d)
{
    return d->p.our_no_context_takeover && !d->msg_open ? d->p.our_window_bits : 0;
}

size_t zws__deflate_threshold(const zws__deflate *d) { return d->threshold; }

int zws__deflate_frame(const zws__pmd_cfg *cfg, int bits, unsigned opcode, const uint8_t *data,
                       size_t len, zws_buf **out)
{
    *out = NULL;
    if (len > (1u << 30) || bits < 9 || bits > 15)
        return ZWS_EINVAL;
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    int r = deflateInit2(&z, cfg->level ? cfg->level : 6, Z_DEFLATED, -bits,
                         cfg->mem_level ? cfg->mem_level : 8, Z_DEFAULT_STRATEGY);
    if (r != Z_OK)
        return r == Z_MEM_ERROR ? ZWS_ENOMEM : ZWS_EINVAL;
    size_t cap = deflateBound(&z, (uLong)len) + 16;
    size_t hmax = ZWS_FRAME_MAX_HEADER;
    zws_buf *b = zws_buf_new(hmax + cap);
    if (!b) {
        deflateEnd(&z);
        return ZWS_ENOMEM;
    }
    uint8_t *base = zws_buf_mut(b);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = base + hmax;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_SYNC_FLUSH); /* room for deflateBound: done in one */
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if ((zr != Z_OK && zr != Z_BUF_ERROR) || z.avail_in != 0 || z.avail_out == 0) {
        zws_buf_unref(b);
        return ZWS_EINVAL;
    }
    n = n >= 4 ? n - 4 : 0; /* the flush marker goes; a fresh stream always has one */
    /* The header goes right before the payload: move the payload down so
     * the frame starts at the buffer's start. */
    size_t h = zws_frame_header_size(n, 0);
    zws_frame_write_header(base, opcode, 1, ZWS_RSV1, n, NULL);
    memmove(base + h, base + hmax, n);
    b->len = h + n;
    *out = b;
    return 0;
}
