/* permessage-deflate's receive path, the inflater alone: zlib's inflate
 * beside ISA-L's igzip (isal_inflate, raw deflate) on market-data JSON,
 * built only when CMake finds ISA-L (Debian: libisal-dev).
 *
 * The messages are compressed as permessage-deflate sends them (raw deflate,
 * 15-bit window, level 6, a sync flush per message, its 00 00 ff ff cut);
 * each inflater gets a message's payload and then the four-byte tail, as the
 * parser hands them to src/core/deflate.c, and writes into one output buffer
 * reused for every message (the parser's message buffer).
 *
 * With context takeover, a message refers back into the previous 32 KiB of
 * output, which the output buffer no longer holds: zlib keeps its own window,
 * and isal_inflate keeps the last output in its state (tmp_out_buffer) —
 * the copying either does is inside the figures. Without context takeover
 * the stream is reset after every message (inflateReset, isal_inflate_reset);
 * there a third column is isal_inflate_stateless on the payload copied
 * beside its tail (one call; it cannot take a message in pieces).
 *
 * Every inflater is checked against the original bytes, over two passes with
 * the output buffer poisoned before each message, before and after timing;
 * the program aborts on any difference. */
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench.h"
#include "md_corpus.h"

#define NMSG 512
#define NBATCH 32

static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};

/* One kind of message, compressed for one mode. */
typedef struct set {
    uint8_t **raw, **comp;
    size_t *len, *clen;
    int n, cap;
    size_t bytes, cbytes, max;
} set;

static void set_add(set *s, const char *msg, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->raw = realloc(s->raw, (size_t)s->cap * sizeof *s->raw);
        s->len = realloc(s->len, (size_t)s->cap * sizeof *s->len);
        if (!s->raw || !s->len)
            abort();
    }
    s->raw[s->n] = malloc(len);
    if (!s->raw[s->n])
        abort();
    memcpy(s->raw[s->n], msg, len);
    s->len[s->n++] = len;
    s->bytes += len;
    if (len > s->max)
        s->max = len;
}

static void add_one(const char *msg, size_t len, void *ud) { set_add(ud, msg, len); }

/* depth20 updates concatenated, one per line, into batches of at most
 * batch bytes. */
typedef struct batcher {
    set *s;
    char *buf;
    size_t used, batch;
} batcher;

static void add_batched(const char *msg, size_t len, void *ud)
{
    batcher *b = ud;
    if (b->s->n == NBATCH)
        return;
    if (b->used && b->used + len + 1 > b->batch) {
        set_add(b->s, b->buf, b->used);
        b->used = 0;
    }
    memcpy(b->buf + b->used, msg, len);
    b->used += len;
    b->buf[b->used++] = '\n';
}

static int load(set *s, int kind, size_t batch)
{
    memset(s, 0, sizeof *s);
    if (!batch)
        return md_corpus(kind, NMSG, add_one, s);
    batcher b = {s, malloc(batch), 0, batch};
    if (!b.buf)
        abort();
    /* depth20 lines are well over 100 B: this is more than enough */
    int r = md_corpus(MD_CORPUS_DEPTH20, (int)(NBATCH * (batch / 100 + 1)), add_batched, &b);
    free(b.buf);
    return r || s->n < NBATCH ? -1 : 0;
}

/* Compresses the set as permessage-deflate does, one stream (nct: reset
 * after each message). */
static void compress_set(set *s, int nct)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    s->comp = malloc((size_t)s->n * sizeof *s->comp);
    s->clen = malloc((size_t)s->n * sizeof *s->clen);
    if (!s->comp || !s->clen)
        abort();
    s->cbytes = 0;
    for (int k = 0; k < s->n; k++) {
        size_t cap = deflateBound(&z, s->len[k]) + 16;
        s->comp[k] = malloc(cap);
        if (!s->comp[k])
            abort();
        z.next_in = s->raw[k];
        z.avail_in = (uInt)s->len[k];
        z.next_out = s->comp[k];
        z.avail_out = (uInt)cap;
        int r = deflate(&z, Z_SYNC_FLUSH);
        size_t n = cap - z.avail_out;
        if ((r != Z_OK && r != Z_BUF_ERROR) || z.avail_in || n < 4 ||
            memcmp(s->comp[k] + n - 4, tail, 4) != 0)
            abort();
        s->clen[k] = n - 4;
        s->cbytes += n - 4;
        if (nct && deflateReset(&z) != Z_OK)
            abort();
    }
    deflateEnd(&z);
}

static void set_free(set *s)
{
    for (int k = 0; k < s->n; k++) {
        free(s->raw[k]);
        if (s->comp)
            free(s->comp[k]);
    }
    free(s->raw);
    free(s->len);
    free(s->comp);
    free(s->clen);
}

/* ---- the inflaters, one message each ---- */

typedef struct rx {
    const set *s;
    int nct;
    uint8_t *out; /* one message's room, reused */
    size_t cap;
    uint8_t *in; /* stateless only: payload and tail side by side */
    z_stream z;
    struct inflate_state *st;
} rx;

/* As deflate.c's inflate_into: Z_SYNC_FLUSH until the input is in and room
 * is left. Returns the bytes now in out, or (size_t)-1. */
static size_t zlib_into(z_stream *z, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                        size_t made)
{
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    for (;;) {
        z->next_out = out + made;
        z->avail_out = (uInt)(cap - made);
        int r = inflate(z, Z_SYNC_FLUSH);
        made = cap - z->avail_out;
        if (r != Z_OK && r != Z_BUF_ERROR)
            return (size_t)-1;
        if (z->avail_in == 0 && (z->avail_out != 0 || r == Z_BUF_ERROR))
            return made;
        if (z->avail_out == 0)
            return (size_t)-1; /* out is sized for the largest message */
    }
}

static size_t zlib_message(rx *r, int k)
{
    size_t made = zlib_into(&r->z, r->s->comp[k], r->s->clen[k], r->out, r->cap, 0);
    if (made != (size_t)-1)
        made = zlib_into(&r->z, tail, sizeof tail, r->out, r->cap, made);
    if (r->nct && inflateReset(&r->z) != Z_OK)
        return (size_t)-1;
    return made;
}

static size_t isal_into(struct inflate_state *st, const uint8_t *in, size_t len, uint8_t *out,
                        size_t cap, size_t made)
{
    st->next_in = (uint8_t *)(uintptr_t)in;
    st->avail_in = (uint32_t)len;
    st->next_out = out + made;
    st->avail_out = (uint32_t)(cap - made);
    int r = isal_inflate(st);
    if (r != ISAL_DECOMP_OK || st->avail_in != 0)
        return (size_t)-1;
    return (size_t)(st->next_out - out);
}

static void isal_fresh(struct inflate_state *st)
{
    st->crc_flag = ISAL_DEFLATE;
    st->hist_bits = 15;
}

static size_t isal_message(rx *r, int k)
{
    size_t made = isal_into(r->st, r->s->comp[k], r->s->clen[k], r->out, r->cap, 0);
    if (made != (size_t)-1)
        made = isal_into(r->st, tail, sizeof tail, r->out, r->cap, made);
    if (r->nct) {
        isal_inflate_reset(r->st);
        isal_fresh(r->st);
    }
    return made;
}

static size_t stateless_message(rx *r, int k)
{
    size_t n = r->s->clen[k];
    memcpy(r->in, r->s->comp[k], n);
    memcpy(r->in + n, tail, sizeof tail);
    isal_inflate_init(r->st);
    isal_fresh(r->st);
    r->st->next_in = r->in;
    r->st->avail_in = (uint32_t)(n + sizeof tail);
    r->st->next_out = r->out;
    r->st->avail_out = (uint32_t)r->cap;
    int z = isal_inflate_stateless(r->st);
    if ((z != ISAL_DECOMP_OK && z != ISAL_END_INPUT) || r->st->avail_in != 0)
        return (size_t)-1;
    return (size_t)(r->st->next_out - r->out);
}

typedef size_t (*message_fn)(rx *r, int k);

/* Operations are messages in stream order, from the first at each call:
 * with context takeover a message refers only to those before it in its
 * pass, so starting over at message 0 decodes as the first pass did. */
static void run_n(rx *r, uint64_t n, message_fn one)
{
    for (uint64_t i = 0; i < n; i++) {
        int k = (int)(i % (uint64_t)r->s->n);
        if (one(r, k) != r->s->len[k]) {
            fprintf(stderr, "zws-bench: inflate of message %d failed\n", k);
            abort();
        }
        bench_sink(r->out);
    }
}

static void run_zlib(void *p, uint64_t n) { run_n(p, n, zlib_message); }
static void run_isal(void *p, uint64_t n) { run_n(p, n, isal_message); }
static void run_stateless(void *p, uint64_t n) { run_n(p, n, stateless_message); }

/* Two passes, output poisoned before each message, compared byte for byte. */
static void verify(rx *r, message_fn one, const char *who)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < r->s->n; k++) {
            memset(r->out, 0xa5, r->cap);
            size_t made = one(r, k);
            if (made != r->s->len[k] || memcmp(r->out, r->s->raw[k], made) != 0) {
                fprintf(stderr, "zws-bench: %s: message %d of %d decompressed wrong\n", who, k,
                        r->s->n);
                abort();
            }
        }
    }
}

static void rx_init(rx *r, const set *s, int nct)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->nct = nct;
    r->cap = s->max + 64;
    r->out = malloc(r->cap);
    size_t inmax = 0;
    for (int k = 0; k < s->n; k++)
        inmax = s->clen[k] > inmax ? s->clen[k] : inmax;
    r->in = malloc(inmax + sizeof tail);
    r->st = malloc(sizeof *r->st);
    if (!r->out || !r->in || !r->st || inflateInit2(&r->z, -15) != Z_OK)
        abort();
    isal_inflate_init(r->st);
    isal_fresh(r->st);
}

static void rx_free(rx *r)
{
    inflateEnd(&r->z);
    free(r->out);
    free(r->in);
    free(r->st);
}

static const char *ns(bench_stat t)
{
    return bench_fmt_stat(0, (bench_stat){t.med * 1e9, t.lo * 1e9, t.hi * 1e9});
}

static void row(const bench_opts *o, const char *name, const set *s, int nct)
{
    rx zr, ir, sr;
    rx_init(&zr, s, nct);
    rx_init(&ir, s, nct);
    rx_init(&sr, s, nct);
    verify(&zr, zlib_message, "zlib");
    verify(&ir, isal_message, "isal_inflate");
    if (nct)
        verify(&sr, stateless_message, "isal_inflate_stateless");
    bench_fn fns[] = {run_zlib, run_isal, run_stateless};
    void *ctxs[] = {&zr, &ir, &sr};
    bench_stat t[3], x[3];
    bench_group(o, nct ? 3 : 2, fns, ctxs, t, x);
    verify(&zr, zlib_message, "zlib");
    verify(&ir, isal_message, "isal_inflate");
    if (nct)
        verify(&sr, stateless_message, "isal_inflate_stateless");
    double avg = (double)s->bytes / s->n;
    const char *cells[] = {name,
                           bench_fmt("%.0f B", avg),
                           bench_fmt("%.3f", (double)s->cbytes / (double)s->bytes),
                           nct ? "reset per message" : "taken over",
                           ns(t[0]),
                           ns(t[1]),
                           bench_fmt_stat(0, bench_rate(t[0], avg, 1e6)),
                           bench_fmt_stat(0, bench_rate(t[1], avg, 1e6)),
                           bench_fmt_stat(2, x[1]),
                           nct ? ns(t[2]) : "-",
                           nct ? bench_fmt_stat(2, x[2]) : "-"};
    bench_table_row(o, cells);
    rx_free(&zr);
    rx_free(&ir);
    rx_free(&sr);
}

void bench_isal(const bench_opts *o)
{
    static const char *const cols[] = {
        "messages",   "mean size",    "compressed / original", "context",
        "zlib ns/msg", "ISA-L ns/msg", "zlib MB/s",             "ISA-L MB/s",
        "ISA-L x",     "stateless ns/msg", "stateless x"};
    bench_table_begin(o,
                      "permessage-deflate receive, the inflater alone: zlib inflate beside "
                      "ISA-L isal_inflate (raw, 15-bit window; payload then 00 00 ff ff, into "
                      "a reused buffer; stateless: isal_inflate_stateless on payload and tail "
                      "copied together; MB/s of output; x: speed-up over zlib; median (min-max))",
                      cols, 11);
    static const struct {
        int kind;
        size_t batch;
        const char *name;
    } kinds[] = {{MD_CORPUS_TICKER, 0, "bookTicker"},
                 {MD_CORPUS_TRADE, 0, "trade"},
                 {MD_CORPUS_DEPTH20, 0, "depth20"},
                 {MD_CORPUS_DEPTH20, 16 * 1024, "depth20 batches <= 16 KiB"},
                 {MD_CORPUS_DEPTH20, 64 * 1024, "depth20 batches <= 64 KiB"},
                 {MD_CORPUS_DEPTH20, 128 * 1024, "depth20 batches <= 128 KiB"}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int nct = 0; nct < 2; nct++) {
            set s;
            if (load(&s, kinds[k].kind, kinds[k].batch)) {
                set_free(&s);
                break;
            }
            compress_set(&s, nct);
            row(o, kinds[k].name, &s, nct);
            set_free(&s);
        }
    }
    bench_table_end(o);
}
