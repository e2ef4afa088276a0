/* Market data: the zero-copy extractor against jansson (a general JSON
 * parser, the baseline) on the same generated messages; what a copy and a
 * cross-thread handoff cost per message; and the order book's update cost
 * as the book grows from 100 to 100,000 levels. */
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "md_corpus.h"
#include "zws/buf.h"
#include "zws/md.h"

#define NMSG 4096

typedef struct corpus {
    char *bytes;
    size_t off[NMSG], len[NMSG];
    size_t total, n;
} corpus;

static void add_msg(const char *msg, size_t len, void *ud)
{
    corpus *c = ud;
    size_t i = c->n;
    c->off[i] = c->total;
    c->len[i] = len;
    memcpy(c->bytes + c->total, msg, len);
    c->total += len;
    c->n++;
}

/* NMSG messages of one kind (bench/md_corpus.c). */
static void make_corpus(corpus *c, int kind)
{
    c->bytes = malloc((size_t)NMSG * 1400);
    c->total = 0;
    c->n = 0;
    if (md_corpus(kind, NMSG, add_msg, c))
        abort();
}

typedef struct pctx {
    corpus *c;
    zws_md_parser p;
    zws_md_level lv[64];
    int64_t sum;
} pctx;

static void run_extract(void *arg, uint64_t n)
{
    pctx *x = arg;
    zws_md_msg m;
    for (uint64_t i = 0; i < n; i++) {
        size_t k = i % NMSG;
        if (zws_md_parse(&x->p, (const uint8_t *)x->c->bytes + x->c->off[k], x->c->len[k], &m))
            abort();
        x->sum += m.id + m.bid_px + m.px + (int64_t)m.nbids;
    }
    bench_sink(&x->sum);
}

/* The baseline: jansson builds the document, then the same fields are read
 * from it (strings converted with the same fixed-point routine). */
static void run_jansson(void *arg, uint64_t n)
{
    pctx *x = arg;
    for (uint64_t i = 0; i < n; i++) {
        size_t k = i % NMSG;
        json_error_t e;
        json_t *j = json_loadb(x->c->bytes + x->c->off[k], x->c->len[k], 0, &e);
        if (!j)
            abort();
        json_t *o = json_object_get(j, "data"); /* the combined streams' envelope */
        if (o)
            x->sum += (int64_t)strlen(json_string_value(json_object_get(j, "stream")));
        else
            o = j;
        json_t *v = json_object_get(o, "u");
        if (!v)
            v = json_object_get(o, "t");
        if (!v)
            v = json_object_get(o, "lastUpdateId");
        x->sum += json_integer_value(v);
        const char *px = json_string_value(json_object_get(o, "b"));
        if (!px)
            px = json_string_value(json_object_get(o, "p"));
        int64_t f = 0;
        if (px)
            zws_md_decimal(px, strlen(px), 8, &f);
        json_t *bids = json_object_get(o, "bids");
        for (size_t b = 0; bids && b < json_array_size(bids); b++) {
            const char *s = json_string_value(json_array_get(json_array_get(bids, b), 0));
            int64_t q;
            zws_md_decimal(s, strlen(s), 8, &q);
            f += q;
        }
        x->sum += f;
        json_decref(j);
    }
    bench_sink(&x->sum);
}

/* A copy per message: zws_buf_new_copy and the unref that frees it. */
static void run_copy(void *arg, uint64_t n)
{
    pctx *x = arg;
    for (uint64_t i = 0; i < n; i++) {
        size_t k = i % NMSG;
        zws_buf *b = zws_buf_new_copy(x->c->bytes + x->c->off[k], x->c->len[k]);
        bench_sink(b);
        zws_buf_unref(b);
    }
}

/* A copy into a buffer used again (zws_buf_refill), as `zws md -S copy`
 * makes its copies once the parser gives buffers back. */
static void run_refill(void *arg, uint64_t n)
{
    pctx *x = arg;
    zws_buf *b = zws_buf_new(4096);
    if (!b)
        abort();
    for (uint64_t i = 0; i < n; i++) {
        size_t k = i % NMSG;
        if (!zws_buf_refill(b, x->c->bytes + x->c->off[k], x->c->len[k]))
            abort();
        bench_sink(b);
    }
    zws_buf_unref(b);
}

/* A cross-thread handoff: pointers through a single-producer
 * single-consumer ring to a thread that takes them, per message. */
#define HRING 4096
typedef struct handoff {
    void *slot[HRING];
    _Atomic uint64_t head, tail;
    atomic_int stop;
    uint64_t taken;
} handoff;

static void *taker(void *arg)
{
    handoff *h = arg;
    for (;;) {
        uint64_t t = atomic_load_explicit(&h->tail, memory_order_relaxed);
        uint64_t hd = atomic_load_explicit(&h->head, memory_order_acquire);
        if (t == hd) {
            if (atomic_load(&h->stop))
                return NULL;
            sched_yield();
            continue;
        }
        for (; t != hd; t++)
            bench_sink(h->slot[t % HRING]);
        h->taken += hd - atomic_load_explicit(&h->tail, memory_order_relaxed);
        atomic_store_explicit(&h->tail, hd, memory_order_release);
    }
}

static void run_handoff(void *arg, uint64_t n)
{
    handoff *h = arg;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t hd = atomic_load_explicit(&h->head, memory_order_relaxed);
        while (hd - atomic_load_explicit(&h->tail, memory_order_acquire) >= HRING)
            sched_yield();
        h->slot[hd % HRING] = (void *)(uintptr_t)(i + 1);
        atomic_store_explicit(&h->head, hd + 1, memory_order_release);
    }
    while (atomic_load(&h->tail) != atomic_load(&h->head))
        sched_yield();
}

/* The order book: random sets and removals near the top of a book of a
 * given depth (the depth stays about constant), with one in eight anywhere
 * in the book, or none (top_only): the second is the structure's own cost,
 * the first adds the cache misses of a book larger than the cache. */
typedef struct bctx {
    zws_md_book *b;
    int64_t levels;
    uint64_t rng;
    int top_only;
} bctx;

static void run_book(void *arg, uint64_t n)
{
    bctx *x = arg;
    for (uint64_t i = 0; i < n; i++) {
        x->rng = x->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = x->rng >> 33;
        int bid = (int)(r & 1);
        int64_t k = (int64_t)((r >> 1) % (uint64_t)(x->levels < 50 ? x->levels : 50));
        if (!x->top_only && (r >> 20) % 8 == 0)
            k = (int64_t)((r >> 1) % (uint64_t)x->levels); /* now and then anywhere */
        int64_t px = bid ? (1000000 - k) * 1000 : (1000001 + k) * 1000;
        /* remove and put back: the best moves, the depth stays */
        zws_md_book_set(x->b, bid, px, 0);
        zws_md_book_set(x->b, bid, px, (int64_t)(r % 1000) + 1);
    }
    zws_md_level l;
    zws_md_book_best(x->b, 1, &l);
    bench_sink(&l);
}

void bench_md(const bench_opts *o)
{
    static const char *const names[MD_CORPUS_KINDS] = {"bookTicker", "trade", "depth20",
                                                       "bookTicker, combined stream"};
    static const char *const cols[] = {"message", "bytes", "zws_md_parse", "msgs/s",
                                       "jansson", "speed-up"};
    bench_table_begin(o, "market data: extractor vs jansson (same messages, same fields)",
                      cols, 6);
    static corpus cs[MD_CORPUS_KINDS];
    for (int k = 0; k < MD_CORPUS_KINDS; k++) {
        corpus *c = &cs[k];
        make_corpus(c, k);
        static pctx x;
        memset(&x, 0, sizeof x);
        x.c = c;
        zws_md_parser_init(&x.p, x.lv, 64);
        double t = bench_measure(o, run_extract, &x);
        double tj = bench_measure(o, run_jansson, &x);
        const char *cells[] = {names[k], bench_fmt("%zu", c->total / NMSG),
                               bench_fmt("%.1f ns", t * 1e9), bench_fmt("%.1f M", 1e-6 / t),
                               bench_fmt("%.0f ns", tj * 1e9), bench_fmt("%.1fx", tj / t)};
        bench_table_row(o, cells);
    }
    bench_table_end(o);

    static const char *const hcols[] = {"step", "per message"};
    bench_table_begin(o, "market data: what a copy and a cross-thread handoff cost", hcols, 2);
    {
        static pctx x;
        x.c = &cs[0];
        double t = bench_measure(o, run_copy, &x);
        const char *cells[] = {bench_fmt("zws_buf copy + free (%zu B)", cs[0].total / NMSG),
                               bench_fmt("%.1f ns", t * 1e9)};
        bench_table_row(o, cells);
        t = bench_measure(o, run_refill, &x);
        const char *cellsr[] = {bench_fmt("zws_buf_refill (%zu B)", cs[0].total / NMSG),
                                bench_fmt("%.1f ns", t * 1e9)};
        bench_table_row(o, cellsr);
        static handoff h;
        memset(&h, 0, sizeof h);
        pthread_t th;
        pthread_create(&th, NULL, taker, &h);
        t = bench_measure(o, run_handoff, &h);
        atomic_store(&h.stop, 1);
        pthread_join(th, NULL);
        const char *cells2[] = {"SPSC ring to another thread", bench_fmt("%.1f ns", t * 1e9)};
        bench_table_row(o, cells2);
    }
    bench_table_end(o);

    static const char *const bcols[] = {"book depth", "update, 1 in 8 anywhere", "vs 100",
                                        "update, near the top", "vs 100"};
    bench_table_begin(o, "market data: order book update (remove + set) cost by depth", bcols,
                      5);
    double base[2] = {0, 0};
    static const int64_t depths[] = {100, 1000, 10000, 100000};
    for (int i = 0; i < 4; i++) {
        double t[2];
        for (int top = 0; top < 2; top++) {
            bctx x = {.levels = depths[i], .rng = 12345, .top_only = top};
            zws_md_book_new(&x.b);
            for (int64_t k = 0; k < depths[i]; k++) {
                zws_md_book_set(x.b, 1, (1000000 - k) * 1000, 1 + k % 7);
                zws_md_book_set(x.b, 0, (1000001 + k) * 1000, 1 + k % 7);
            }
            t[top] = bench_measure(o, run_book, &x);
            if (i == 0)
                base[top] = t[top];
            zws_md_book_free(x.b);
        }
        const char *cells[] = {bench_fmt("%lld levels a side", (long long)depths[i]),
                               bench_fmt("%.1f ns", t[0] * 1e9), bench_fmt("%.2fx", t[0] / base[0]),
                               bench_fmt("%.1f ns", t[1] * 1e9), bench_fmt("%.2fx", t[1] / base[1])};
        bench_table_row(o, cells);
    }
    bench_table_end(o);
}
