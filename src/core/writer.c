/* Outbound framing: frames built in a pending-output buffer (copied, and
 * masked for clients) or described by iovecs over the caller's memory. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "internal/alloc.h"
#include "internal/writer.h"
#include "zws/mask.h"
#include "zws/writer.h"

struct zws__keypool {
    size_t pos; /* next unused byte of keys */
    uint8_t keys[ZWS__KEYPOOL_BYTES];
};

struct zws_writer {
    enum zws_role role;
    int in_msg;          /* a message begun with ZWS_WRITE_MORE is open */
    size_t frag;         /* max payload per frame, 0 = no fragmentation */
    size_t max_pending;
    uint8_t *buf;        /* pending output is buf[head..len) */
    size_t head, len, cap;
    uint64_t refills;    /* pool refills this writer caused */
    /* Mask keys (client role only): a pool of the writer's own, made at the
     * first key, or one shared with the writer's loop (zws__writer_set_keys):
     * a server writer carries none. */
    zws__keypool *keys;
    int own_keys;
};

int zws__keypool_new(zws__keypool **out)
{
    zws__keypool *k = zws__malloc(sizeof *k);
    if (!k)
        return ZWS_ENOMEM;
    k->pos = ZWS__KEYPOOL_BYTES;
    *out = k;
    return 0;
}

void zws__keypool_free(zws__keypool *k)
{
    if (!k)
        return;
    /* The pool holds future mask keys: do not leave them in freed memory. */
    explicit_bzero(k->keys, sizeof k->keys);
    zws__free(k);
}

void zws__writer_set_keys(zws_writer *w, zws__keypool *k)
{
    if (w->own_keys)
        zws__keypool_free(w->keys);
    w->keys = k;
    w->own_keys = 0;
}

int zws_writer_new(zws_writer **out, enum zws_role role)
{
    if (!out || (role != ZWS_ROLE_SERVER && role != ZWS_ROLE_CLIENT))
        return ZWS_EINVAL;
    zws_writer *w = zws__malloc(sizeof *w);
    if (!w)
        return ZWS_ENOMEM;
    memset(w, 0, sizeof *w);
    w->role = role;
    w->max_pending = (size_t)64 << 20;
    *out = w;
    return 0;
}

void zws_writer_free(zws_writer *w)
{
    if (!w)
        return;
    zws__free(w->buf);
    if (w->own_keys)
        zws__keypool_free(w->keys);
    zws__free(w);
}

void zws_writer_set_frag_size(zws_writer *w, size_t n) { w->frag = n; }

void zws_writer_set_max_pending(zws_writer *w, size_t n) { w->max_pending = n; }

uint64_t zws__writer_refills(const zws_writer *w) { return w->refills; }

static int next_key(zws_writer *w, uint8_t key[4])
{
    if (!w->keys) {
        if (zws__keypool_new(&w->keys))
            return ZWS_ENOMEM;
        w->own_keys = 1;
    }
    zws__keypool *k = w->keys;
    if (k->pos + 4 > ZWS__KEYPOOL_BYTES) {
        size_t got = 0;
        while (got < ZWS__KEYPOOL_BYTES) {
            ssize_t r = getrandom(k->keys + got, ZWS__KEYPOOL_BYTES - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return ZWS_EIO;
            got += (size_t)r;
        }
        k->pos = 0;
        w->refills++;
    }
    memcpy(key, k->keys + k->pos, 4);
    k->pos += 4;
    return 0;
}

/* Checks opcode and flags against the message state; returns the number of
 * frames the payload will take, or a negative error. */
static int64_t plan(const zws_writer *w, unsigned opcode, size_t len,
                    unsigned flags)
{
    if (opcode >= ZWS_OP_CLOSE) {
        if (opcode > ZWS_OP_PONG || len > ZWS_FRAME_MAX_CONTROL ||
            (flags & (ZWS_WRITE_MORE | 0x7u)))
            return ZWS_EINVAL;
        return 1;
    }
    if (opcode > ZWS_OP_BINARY || flags & ~(ZWS_WRITE_MORE | 0x7u))
        return ZWS_EINVAL;
    if ((opcode == ZWS_OP_CONT) != (w->in_msg != 0))
        return ZWS_EINVAL;
    if (opcode == ZWS_OP_CONT && (flags & 0x7u))
        return ZWS_EINVAL;
    if (!w->frag || len <= w->frag)
        return 1;
    return (int64_t)((len + w->frag - 1) / w->frag);
}

static size_t frame_payload(const zws_writer *w, size_t len, int64_t i,
                            int64_t nframes)
{
    if (nframes == 1)
        return len;
    return i + 1 < nframes ? w->frag : len - (size_t)(nframes - 1) * w->frag;
}

/* Makes room for n more pending bytes, moving what is pending to the front
 * before growing. limited: max_pending applies. */
static int reserve(zws_writer *w, size_t n, int limited)
{
    size_t pending = w->len - w->head;
    if (limited && (n > w->max_pending || pending > w->max_pending - n))
        return ZWS_ENOSPACE;
    if (w->cap - w->len >= n)
        return 0;
    if (w->head) {
        memmove(w->buf, w->buf + w->head, pending);
        w->len = pending;
        w->head = 0;
        if (w->cap - w->len >= n)
            return 0;
    }
    size_t cap = w->cap ? w->cap : 256; /* small: an idle connection touches little */
    while (cap < w->len + n)
        cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
    uint8_t *b = zws__realloc(w->buf, cap);
    if (!b)
        return ZWS_ENOMEM;
    w->buf = b;
    w->cap = cap;
    return 0;
}

int zws_writer_put(zws_writer *w, unsigned opcode, const void *data, size_t len,
                   unsigned flags)
{
    int64_t nframes = plan(w, opcode, len, flags);
    if (nframes < 0)
        return (int)nframes;
    int masked = w->role == ZWS_ROLE_CLIENT;
    size_t total = len;
    for (int64_t i = 0; i < nframes; i++)
        total += zws_frame_header_size(frame_payload(w, len, i, nframes), masked);
    /* A close frame (at most 131 bytes) is always taken: failing a peer that
     * filled the buffer must still be able to say why. */
    int r = reserve(w, total, opcode != ZWS_OP_CLOSE);
    if (r)
        return r;
    const uint8_t *src = data;
    size_t at = w->len;
    for (int64_t i = 0; i < nframes; i++) {
        size_t n = frame_payload(w, len, i, nframes);
        int fin = i + 1 == nframes && !(flags & ZWS_WRITE_MORE);
        unsigned op = i ? ZWS_OP_CONT : opcode;
        uint8_t key[4];
        if (masked && (r = next_key(w, key)) != 0)
            return r; /* nothing committed: w->len is unchanged */
        at += (size_t)zws_frame_write_header(w->buf + at, op, fin,
                                             i ? 0 : flags & 0x7u, n,
                                             masked ? key : NULL);
        if (masked)
            zws_mask_copy(w->buf + at, src, n, key, 0);
        else if (n)
            memcpy(w->buf + at, src, n);
        at += n;
        if (n) /* data may be NULL for an empty payload */
            src += n;
    }
    w->len = at;
    if (opcode < ZWS_OP_CLOSE)
        w->in_msg = (flags & ZWS_WRITE_MORE) != 0;
    return 0;
}

const uint8_t *zws_writer_pending(const zws_writer *w, size_t *len)
{
    *len = w->len - w->head;
    return w->buf ? w->buf + w->head : (const uint8_t *)"";
}

void zws_writer_consume(zws_writer *w, size_t n)
{
    size_t pending = w->len - w->head;
    w->head += n < pending ? n : pending;
    if (w->head == w->len)
        w->head = w->len = 0;
}

int zws_writer_iov(zws_writer *w, unsigned opcode, const void *data, size_t len,
                   unsigned flags, uint8_t *hdr, size_t hdr_cap,
                   struct iovec *iov, int iovcnt)
{
    if (w->role == ZWS_ROLE_CLIENT)
        return ZWS_ESTATE;
    int64_t nframes = plan(w, opcode, len, flags);
    if (nframes < 0)
        return (int)nframes;
    size_t hdr_need = 0;
    for (int64_t i = 0; i < nframes; i++)
        hdr_need += zws_frame_header_size(frame_payload(w, len, i, nframes), 0);
    if (nframes > iovcnt / 2 || hdr_need > hdr_cap)
        return ZWS_ENOSPACE;
    const uint8_t *src = data;
    for (int64_t i = 0; i < nframes; i++) {
        size_t n = frame_payload(w, len, i, nframes);
        int fin = i + 1 == nframes && !(flags & ZWS_WRITE_MORE);
        int h = zws_frame_write_header(hdr, i ? ZWS_OP_CONT : opcode, fin,
                                       i ? 0 : flags & 0x7u, n, NULL);
        iov[2 * i].iov_base = hdr;
        iov[2 * i].iov_len = (size_t)h;
        iov[2 * i + 1].iov_base = (void *)(uintptr_t)src;
        iov[2 * i + 1].iov_len = n;
        hdr += h;
        src += n;
    }
    if (opcode < ZWS_OP_CLOSE)
        w->in_msg = (flags & ZWS_WRITE_MORE) != 0;
    return (int)(2 * nframes);
}

int zws__writer_append(zws_writer *w, const void *bytes, size_t n, int exempt)
{
    int r = reserve(w, n, !exempt);
    if (r)
        return r;
    if (n)
        memcpy(w->buf + w->len, bytes, n);
    w->len += n;
    return 0;
}

void zws__writer_release(zws_writer *w)
{
    if (w->head != w->len)
        return;
    zws__free(w->buf);
    w->buf = NULL;
    w->head = w->len = w->cap = 0;
}

int zws__writer_idle(const zws_writer *w) { return w->head == w->len && !w->in_msg; }
