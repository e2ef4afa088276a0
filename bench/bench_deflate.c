/* permessage-deflate: what compression costs and saves on market-data JSON.
 *
 *   ratio and cost: compressed size over the original, compression ns per
 *     message, and receiving (frames through the parser, inflated) against
 *     receiving the same messages uncompressed — the baseline — with context
 *     takeover and without.
 *   zws bench --md's messages (20 B, 1 KiB, 16 KiB of the feed's stream):
 *     compressed size over the original and compression ns per message, the
 *     whole ring in order, as one connection of the echo benchmark sends it.
 *   broadcast: one 1 KiB message to 100 subscribers whose compressors reset
 *     per message: compressed per subscriber (the baseline) against
 *     compressed once and queued on all.
 *   memory: bytes one connection's extension holds after a message, with
 *     context takeover and without, and after the idle sweep's trim.
 *   with ISA-L (bench_isal.c): the inflater alone, zlib's beside ISA-L's. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "internal/deflate.h"
#include "md_corpus.h"
#include "md_payload.h"
#include "zws/frame.h"
#include "zws/parser.h"
#include "zws/writer.h"

#define NMSG 512
#define SUBSCRIBERS 100

typedef struct corpus {
    char *msgs[NMSG];
    size_t lens[NMSG];
    int n;
    size_t bytes;
} corpus;

static void add_msg(const char *msg, size_t len, void *ud)
{
    corpus *c = ud;
    if (c->n == NMSG)
        return;
    c->msgs[c->n] = malloc(len);
    memcpy(c->msgs[c->n], msg, len);
    c->lens[c->n++] = len;
    c->bytes += len;
}

static zws__pmd_cfg cfg = {.enabled = 1, .level = 6, .mem_level = 8};

/* ---- sending: compression ---- */

typedef struct send_ctx {
    const corpus *c;
    zws__deflate *d;
    zws_writer *w;
    size_t out; /* compressed bytes of the last pass */
} send_ctx;

static void run_compress(void *p, uint64_t n)
{
    send_ctx *s = p;
    for (uint64_t i = 0; i < n; i++) {
        int k = (int)(i % (uint64_t)s->c->n);
        zws__deflate_send(s->d, s->w, ZWS_OP_TEXT, s->c->msgs[k], s->c->lens[k], 0);
        size_t len;
        zws_writer_pending(s->w, &len);
        if (k == 0)
            s->out = 0;
        s->out += len;
        zws_writer_consume(s->w, len);
    }
}

/* ---- receiving: frames through the parser ---- */

typedef struct recv_ctx {
    uint8_t *wire; /* NMSG masked client frames */
    size_t len;
    zws_parser *p;
} recv_ctx;

static void run_receive(void *v, uint64_t n)
{
    recv_ctx *r = v;
    uint8_t *buf = malloc(r->len);
    for (uint64_t i = 0; i < n; i += NMSG) {
        memcpy(buf, r->wire, r->len); /* the parser unmasks in place */
        size_t off = 0, used;
        zws_event ev;
        while (off < r->len && zws_parser_next(r->p, buf + off, r->len - off, &used, &ev) > 0) {
            off += used;
            bench_sink(ev.data);
        }
    }
    free(buf);
}

/* The corpus as a client sends it, compressed (nct: no context takeover). */
static void make_wire(const corpus *c, int compressed, int nct, recv_ctx *r)
{
    zws_writer *w;
    zws_writer_new(&w, ZWS_ROLE_CLIENT);
    zws__pmd_params pp = {nct, nct, 15, 15};
    zws__deflate *d = NULL;
    zws__deflate_new(&d, &pp, &cfg);
    for (int k = 0; k < c->n; k++) {
        if (compressed)
            zws__deflate_send(d, w, ZWS_OP_TEXT, c->msgs[k], c->lens[k], 0);
        else
            zws_writer_put(w, ZWS_OP_TEXT, c->msgs[k], c->lens[k], 0);
    }
    const uint8_t *b = zws_writer_pending(w, &r->len);
    r->wire = malloc(r->len);
    memcpy(r->wire, b, r->len);
    zws__deflate_free(d);
    zws_writer_free(w);
}

static void ratio_table(const bench_opts *o)
{
    static const char *const cols[] = {"messages", "context", "compressed / original",
                                       "compress ns/msg", "receive ns/msg",
                                       "x uncompressed receive"};
    bench_table_begin(o,
                      "permessage-deflate on market-data JSON (zlib level 6, 15-bit windows; "
                      "receive: frames through the parser, inflated, against the same messages "
                      "uncompressed; median (min-max))",
                      cols, 6);
    static const struct {
        int kind;
        const char *name;
    } kinds[] = {{MD_CORPUS_TICKER, "bookTicker"},
                 {MD_CORPUS_TRADE, "trade"},
                 {MD_CORPUS_DEPTH20, "depth20"}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        corpus c = {0};
        if (md_corpus(kinds[k].kind, NMSG, add_msg, &c))
            return;
        for (int nct = 0; nct < 2; nct++) {
            zws__pmd_params pp = {nct, nct, 15, 15};
            send_ctx s = {&c, NULL, NULL, 0};
            zws__deflate_new(&s.d, &pp, &cfg);
            zws_writer_new(&s.w, ZWS_ROLE_SERVER);
            bench_stat tc = bench_run(o, run_compress, &s);
            run_compress(&s, NMSG); /* one whole pass for the size */
            recv_ctx plain, comp;
            make_wire(&c, 0, nct, &plain);
            make_wire(&c, 1, nct, &comp);
            zws_parser_new(&plain.p, ZWS_ROLE_SERVER);
            zws_parser_new(&comp.p, ZWS_ROLE_SERVER);
            zws__deflate *rx;
            zws__deflate_new(&rx, &pp, &cfg);
            zws_parser_ext ext;
            zws__deflate_parser_ext(rx, &ext);
            zws_parser_set_ext(comp.p, &ext);
            bench_stat tp, tr, x;
            bench_pair(o, run_receive, &plain, run_receive, &comp, &tp, &tr, &x);
            /* x is plain / compressed time: the slow-down is its inverse. */
            bench_stat slow = {1 / x.med, 1 / x.hi, 1 / x.lo};
            const char *cells[] = {
                kinds[k].name, nct ? "reset per message" : "taken over",
                bench_fmt("%.3f", (double)s.out / (double)c.bytes),
                bench_fmt_stat(0, (bench_stat){tc.med * 1e9, tc.lo * 1e9, tc.hi * 1e9}),
                bench_fmt_stat(0, (bench_stat){tr.med * 1e9, tr.lo * 1e9, tr.hi * 1e9}),
                bench_fmt("%s slower", bench_fmt_stat(1, slow))};
            bench_table_row(o, cells);
            zws_parser_free(plain.p);
            zws_parser_free(comp.p);
            zws__deflate_free(rx);
            free(plain.wire);
            free(comp.wire);
            zws__deflate_free(s.d);
            zws_writer_free(s.w);
        }
        for (int i = 0; i < c.n; i++)
            free(c.msgs[i]);
    }
    bench_table_end(o);
}

/* ---- zws bench --md's messages ---- */

typedef struct ring_ctx {
    const uint8_t *msgs; /* n messages of size bytes */
    size_t size, n, next;
    zws__deflate *d;
    zws_writer *w;
    uint64_t in, out; /* payload bytes before and after compression */
} ring_ctx;

/* Compresses the next n messages of the ring. The untimed first pass
 * (count set) also adds up the payload sizes before and after. */
static void ring_pass(ring_ctx *r, uint64_t n, int count)
{
    for (uint64_t i = 0; i < n; i++) {
        zws__deflate_send(r->d, r->w, ZWS_OP_TEXT, r->msgs + r->next * r->size, r->size, 0);
        r->next = (r->next + 1) % r->n;
        size_t len, need;
        const uint8_t *b = zws_writer_pending(r->w, &len);
        zws_frame f;
        if (count &&
            zws_frame_parse(&f, b, len, ZWS_ROLE_CLIENT, ZWS_RSV1, UINT64_MAX, &need) > 0) {
            r->in += r->size;
            r->out += f.len;
        }
        zws_writer_consume(r->w, len);
    }
}

static void run_ring(void *p, uint64_t n) { ring_pass(p, n, 0); }

static void md_sizes_table(const bench_opts *o)
{
    static const char *const cols[] = {"message", "ring", "context", "compressed / original",
                                       "compress ns/msg"};
    bench_table_begin(o,
                      "permessage-deflate on zws bench --md's messages (market-data stream "
                      "cut to the size; zlib level 6, 15-bit windows; the ratio over one pass "
                      "of the ring in order, payload bytes; median (min-max))",
                      cols, 5);
    static const size_t sizes[] = {20, 1024, 16384};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t size = sizes[k], n = tool_md_ring_count(size);
        uint8_t *msgs = tool_md_payloads(size, n);
        if (!msgs)
            return;
        for (int nct = 0; nct < 2; nct++) {
            zws__pmd_params pp = {nct, nct, 15, 15};
            ring_ctx r = {msgs, size, n, 0, NULL, NULL, 0, 0};
            zws__deflate_new(&r.d, &pp, &cfg);
            zws_writer_new(&r.w, ZWS_ROLE_SERVER);
            ring_pass(&r, n, 1); /* the ratio: one pass from the start, fresh */
            double ratio = (double)r.out / (double)r.in;
            bench_stat t = bench_run(o, run_ring, &r);
            const char *cells[] = {bench_size(size), bench_fmt("%zu x %s", n, bench_size(size)),
                                   nct ? "reset per message" : "taken over",
                                   bench_fmt("%.3f", ratio),
                                   bench_fmt_stat(0, (bench_stat){t.med * 1e9, t.lo * 1e9,
                                                                  t.hi * 1e9})};
            bench_table_row(o, cells);
            zws__deflate_free(r.d);
            zws_writer_free(r.w);
        }
        free(msgs);
    }
    bench_table_end(o);
}

/* ---- broadcast: compress once ---- */

typedef struct fan_ctx {
    const char *msg;
    size_t len;
    zws__deflate *d[SUBSCRIBERS];
    zws_writer *w[SUBSCRIBERS];
} fan_ctx;

static void run_per_subscriber(void *p, uint64_t n)
{
    fan_ctx *f = p;
    for (uint64_t i = 0; i < n; i++) {
        for (int k = 0; k < SUBSCRIBERS; k++) {
            zws__deflate_send(f->d[k], f->w[k], ZWS_OP_TEXT, f->msg, f->len, 0);
            size_t len;
            zws_writer_pending(f->w[k], &len);
            zws_writer_consume(f->w[k], len);
        }
    }
}

static void run_once(void *p, uint64_t n)
{
    fan_ctx *f = p;
    for (uint64_t i = 0; i < n; i++) {
        zws_buf *frame;
        zws__deflate_frame(&cfg, 15, ZWS_OP_TEXT, (const uint8_t *)f->msg, f->len, &frame);
        for (int k = 0; k < SUBSCRIBERS; k++) { /* as pub/sub queues a small frame */
            zws_writer_put(f->w[k], ZWS_OP_TEXT, zws_buf_data(frame), zws_buf_len(frame), 0);
            size_t len;
            zws_writer_pending(f->w[k], &len);
            zws_writer_consume(f->w[k], len);
        }
        zws_buf_unref(frame);
    }
}

static void broadcast_table(const bench_opts *o)
{
    corpus c = {0};
    if (md_corpus(MD_CORPUS_DEPTH20, 1, add_msg, &c))
        return;
    fan_ctx f = {c.msgs[0], c.lens[0], {NULL}, {NULL}};
    zws__pmd_params pp = {1, 0, 15, 15}; /* server_no_context_takeover */
    for (int k = 0; k < SUBSCRIBERS; k++) {
        zws__deflate_new(&f.d[k], &pp, &cfg);
        zws_writer_new(&f.w[k], ZWS_ROLE_SERVER);
    }
    bench_stat tb, tc, x;
    bench_pair(o, run_per_subscriber, &f, run_once, &f, &tb, &tc, &x);
    static const char *const cols[] = {"message", "subscribers", "per subscriber us",
                                       "compressed once us", "x"};
    bench_table_begin(o,
                      "broadcast with permessage-deflate: one message to subscribers that "
                      "reset their context per message (time per publish, median (min-max))",
                      cols, 5);
    const char *cells[] = {bench_fmt("depth20, %zu B", f.len), bench_fmt("%d", SUBSCRIBERS),
                           bench_fmt_stat(1, (bench_stat){tb.med * 1e6, tb.lo * 1e6, tb.hi * 1e6}),
                           bench_fmt_stat(1, (bench_stat){tc.med * 1e6, tc.lo * 1e6, tc.hi * 1e6}),
                           bench_fmt_stat(1, x)};
    bench_table_row(o, cells);
    bench_table_end(o);
    for (int k = 0; k < SUBSCRIBERS; k++) {
        zws__deflate_free(f.d[k]);
        zws_writer_free(f.w[k]);
    }
    free(c.msgs[0]);
}

/* ---- memory ---- */

static void memory_table(const bench_opts *o)
{
    static const char *const cols[] = {"context", "window bits", "mem level",
                                       "after a message", "after the idle trim"};
    bench_table_begin(o,
                      "memory of one connection's permessage-deflate (compressor and "
                      "decompressor, by zlib's formula, after a 1 KiB message each way)",
                      cols, 5);
    static const struct {
        int nct, bits, mem;
    } rows[] = {{0, 15, 8}, {1, 15, 8}, {0, 10, 4}, {1, 10, 4}};
    char msg[1024];
    memset(msg, 'x', sizeof msg);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zws__pmd_cfg c = cfg;
        c.mem_level = rows[i].mem;
        zws__pmd_params pp = {rows[i].nct, rows[i].nct, rows[i].bits, rows[i].bits};
        zws__deflate *tx, *rx;
        zws_writer *w;
        zws_parser *p;
        zws__deflate_new(&tx, &pp, &c);
        zws__deflate_new(&rx, &pp, &c);
        zws_writer_new(&w, ZWS_ROLE_CLIENT);
        zws_parser_new(&p, ZWS_ROLE_SERVER);
        zws_parser_ext ext;
        zws__deflate_parser_ext(rx, &ext);
        zws_parser_set_ext(p, &ext);
        zws__deflate_send(tx, w, ZWS_OP_TEXT, msg, sizeof msg, 0);
        size_t len, used;
        const uint8_t *b = zws_writer_pending(w, &len);
        uint8_t *copy = malloc(len);
        memcpy(copy, b, len);
        zws_event ev;
        zws_parser_next(p, copy, len, &used, &ev);
        size_t held = zws__deflate_held(tx) + zws__deflate_held(rx);
        zws__deflate_trim(tx);
        zws__deflate_trim(rx);
        size_t trimmed = zws__deflate_held(tx) + zws__deflate_held(rx);
        const char *cells[] = {rows[i].nct ? "reset per message" : "taken over",
                               bench_fmt("%d", rows[i].bits), bench_fmt("%d", rows[i].mem),
                               bench_fmt("%.1f KiB", (double)held / 1024),
                               bench_fmt("%.1f KiB", (double)trimmed / 1024)};
        bench_table_row(o, cells);
        free(copy);
        zws_parser_free(p);
        zws_writer_free(w);
        zws__deflate_free(tx);
        zws__deflate_free(rx);
    }
    bench_table_end(o);
}

void bench_deflate(const bench_opts *o)
{
    ratio_table(o);
    md_sizes_table(o);
    broadcast_table(o);
    memory_table(o);
#ifdef ZWS_BENCH_ISAL
    bench_isal(o);
#endif
}
