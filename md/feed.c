/* The feed: the exchange's market-stream service, on one zws loop.
 *
 * Paced (rate > 0): a 10 ms timer steps each symbol's book and publishes
 * what the steps produced to pub/sub topics, one per stream and form ("r:"
 * raw, "c:" inside the combined envelope), so each message is framed once
 * for all its subscribers. Fast (rate 0): each connection is refilled from
 * pre-rendered frames of its streams, with the id and the event time
 * written into the frame's digits, whenever it wants more: the drain
 * handler, called once what was queued has gone down to the low-water mark
 * (half of the fill), also for a socket that took everything at once, so no
 * timer polls the clients. The diff-depth streams always come from the live
 * book. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zws/frame.h"
#include "zws/md.h"
#include "zws/server.h"

enum {
    S_TRADE, S_AGG, S_TICKER, S_DEPTH, S_DEPTH100,
    S_P5, S_P5F, S_P10, S_P10F, S_P20, S_P20F, NTYPES
};
static const char *const type_names[NTYPES] = {
    "trade", "aggTrade", "bookTicker", "depth", "depth@100ms", "depth5",
    "depth5@100ms", "depth10", "depth10@100ms", "depth20", "depth20@100ms"};
static const enum zws_md_kind type_kind[NTYPES] = {
    ZWS_MD_TRADE, ZWS_MD_AGG_TRADE, ZWS_MD_BOOK_TICKER, ZWS_MD_DEPTH_UPDATE,
    ZWS_MD_DEPTH_UPDATE, ZWS_MD_DEPTH_PARTIAL, ZWS_MD_DEPTH_PARTIAL, ZWS_MD_DEPTH_PARTIAL,
    ZWS_MD_DEPTH_PARTIAL, ZWS_MD_DEPTH_PARTIAL, ZWS_MD_DEPTH_PARTIAL};
static int partial_levels(int t) { return t >= S_P20 ? 20 : t >= S_P10 ? 10 : 5; }
static int is_partial(int t) { return t >= S_P5; }
static int is_fast_speed(int t) { return t == S_DEPTH100 || (is_partial(t) && (t - S_P5) % 2); }

#define TPL_N 256            /* pre-rendered frames per stream */
#define FILL_HIGH (4u << 20) /* fast mode: refill a connection's output up to this */
#define FILL_CHUNK (64u << 10) /* fast mode: frames built and queued at a time */
#define LAT_SLOTS (1u << 16)
#define LAT_EVERY 64         /* one id in this many is noted for latency */
#define MAX_REQ 65536

typedef struct tpl {
    char *buf;
    /* frame k: its header at off[k], its payload of len[k] bytes after it
     * (the frames keep their lengths: ids keep their widths) */
    uint32_t off[TPL_N], len[TPL_N];
    uint8_t hlen[TPL_N];
    int32_t e_at[TPL_N], id_at[TPL_N]; /* digit offsets in the frame, -1 none */
    uint8_t id_w[TPL_N];
    uint32_t pos;
    uint64_t next_id;
} tpl;

typedef struct fconn {
    zws_ws *ws;
    struct zws_md_feed *f;
    int combined;
    uint32_t *streams;
    uint32_t n, cap;
    uint32_t rr;
    int64_t opened, last_pong, win_start;
    int win_count;
    char ping[24];
    size_t ping_len;
    int closing;
    int dead;                /* closed: freed at the next tick (callers up the stack may hold it) */
    struct fconn *gnext;
    size_t replay_at;        /* the next record to send */
    int64_t replay_t0;       /* ms the replay started for this connection */
    struct fconn *prev, *next;
} fconn;

struct lat_slot {
    _Atomic uint64_t key;
    _Atomic int64_t ns;
};

struct zws_md_feed {
    zws_md_feed_opts o;
    zws_server *srv;
    zws_md_gen *gen;
    size_t nsym;
    uint32_t nstreams;
    uint32_t (*subs)[2];     /* subscribers per stream and form */
    tpl **tpls;              /* [stream * 2 + combined], built on first use */
    fconn *conns;
    fconn *graveyard;        /* closed connections, freed at the next tick */
    size_t fill_high;        /* fast mode: refill output up to this */
    double carry;            /* paced: fractional steps left over */
    int64_t last_tick, next_100, next_1000, next_ping, next_kick;
    uint64_t drop_count;
    atomic_int paused;
    atomic_int drop_every;   /* o.drop_every, changed by zws_md_feed_set_loss */
    int was_paused;
    char *scratch;           /* rendering buffer */
    size_t scratch_cap;
    char *env;               /* envelope buffer */
    struct lat_slot *lat;
    struct {
        _Atomic uint64_t v;
    } st[sizeof(zws_md_feed_stats) / sizeof(uint64_t)];
    char errbuf[160];
    /* replay: the recording and where each record starts */
    uint8_t *rec;
    size_t rec_len, nrec;
    size_t *rec_off;
};

#define STAT(f, field) \
    atomic_fetch_add_explicit(&(f)->st[offsetof(zws_md_feed_stats, field) / 8].v, 1, \
                              memory_order_relaxed)
#define STAT_ADD(f, field, n) \
    atomic_fetch_add_explicit(&(f)->st[offsetof(zws_md_feed_stats, field) / 8].v, (n), \
                              memory_order_relaxed)

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- latency notes for an in-process consumer ---- */

static uint64_t lat_key(enum zws_md_kind k, const char *sym, size_t len, int64_t id)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)sym[i]) * 1099511628211ULL;
    h ^= (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)k << 56;
    return h | 1; /* 0 marks an empty slot */
}

/* Which messages are noted: one id in LAT_EVERY, and every depth message
 * while paced (they come ten a second, and their ids are not consecutive). */
static int lat_noted(const zws_md_feed *f, enum zws_md_kind k, int64_t id)
{
    if (k == ZWS_MD_DEPTH_PARTIAL || k == ZWS_MD_DEPTH_UPDATE)
        return f->o.rate > 0 || id % LAT_EVERY == 0;
    return id % LAT_EVERY == 0;
}

static void lat_note(zws_md_feed *f, enum zws_md_kind k, size_t sym, int64_t id)
{
    if (!lat_noted(f, k, id))
        return;
    const char *s = zws_md_gen_symbol(f->gen, sym);
    uint64_t key = lat_key(k, s, strlen(s), id);
    struct lat_slot *sl = &f->lat[key & (LAT_SLOTS - 1)];
    atomic_store_explicit(&sl->key, 0, memory_order_relaxed);
    atomic_store_explicit(&sl->ns, mono_ns(), memory_order_release);
    atomic_store_explicit(&sl->key, key, memory_order_release);
}

int64_t zws_md_feed_sent_ns(const zws_md_feed *f, enum zws_md_kind kind, zws_md_view symbol,
                            int64_t id)
{
    if (id < 0 || !lat_noted(f, kind, id))
        return -1;
    uint64_t key = lat_key(kind, symbol.p, symbol.len, id);
    struct lat_slot *sl = &f->lat[key & (LAT_SLOTS - 1)];
    if (atomic_load_explicit(&sl->key, memory_order_acquire) != key)
        return -1;
    int64_t ns = atomic_load_explicit(&sl->ns, memory_order_acquire);
    return atomic_load_explicit(&sl->key, memory_order_acquire) == key ? ns : -1;
}

/* ---- streams ---- */

/* "<symbol>@<type>" (lower-case symbol) to a stream number, or -1. */
static int stream_parse(const zws_md_feed *f, const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (!at || at == s)
        return -1;
    size_t sl = (size_t)(at - s);
    for (size_t i = 0; i < sl; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return -1; /* streams name symbols in lower case */
    int sym = zws_md_gen_find(f->gen, s, sl);
    if (sym < 0)
        return -1;
    const char *t = at + 1;
    size_t tl = len - sl - 1;
    for (int k = 0; k < NTYPES; k++)
        if (strlen(type_names[k]) == tl && memcmp(type_names[k], t, tl) == 0)
            return sym * NTYPES + k;
    if (tl == 12 && memcmp(t, "depth@1000ms", 12) == 0)
        return sym * NTYPES + S_DEPTH;
    return -1;
}

static size_t stream_name(const zws_md_feed *f, uint32_t st, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s@%s", zws_md_gen_lower(f->gen, st / NTYPES),
                     type_names[st % NTYPES]);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void topic_of(const zws_md_feed *f, uint32_t st, int combined, char *buf, size_t cap)
{
    buf[0] = combined ? 'c' : 'r';
    buf[1] = ':';
    stream_name(f, st, buf + 2, cap - 2);
}

static int conn_has(const fconn *c, uint32_t st)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->streams[i] == st)
            return 1;
    return 0;
}

static int conn_add(fconn *c, uint32_t st)
{
    if (conn_has(c, st))
        return 0;
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 8;
        uint32_t *s = realloc(c->streams, cap * sizeof *s);
        if (!s)
            return -ENOMEM;
        c->streams = s;
        c->cap = cap;
    }
    c->streams[c->n++] = st;
    zws_md_feed *f = c->f;
    /* the fast streams come from the refill, everything else by topic */
    int by_topic = f->o.rate > 0 || st % NTYPES == S_DEPTH || st % NTYPES == S_DEPTH100;
    if (by_topic) {
        char topic[80];
        topic_of(f, st, c->combined, topic, sizeof topic);
        int r = zws_ws_subscribe(c->ws, topic);
        if (r)
            return r;
    }
    f->subs[st][c->combined]++;
    return 0;
}

static void conn_remove(fconn *c, uint32_t st)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->streams[i] == st) {
            c->streams[i] = c->streams[--c->n];
            char topic[80];
            topic_of(c->f, st, c->combined, topic, sizeof topic);
            zws_ws_unsubscribe(c->ws, topic);
            c->f->subs[st][c->combined]--;
            return;
        }
}

/* ---- rendering and publishing (paced, and the diff-depth streams) ---- */

static void publish(zws_md_feed *f, uint32_t st, const char *msg, size_t len, int64_t id)
{
    enum zws_md_kind k = type_kind[st % NTYPES];
    for (int comb = 0; comb < 2; comb++) {
        if (!f->subs[st][comb])
            continue;
        char topic[80];
        topic_of(f, st, comb, topic, sizeof topic);
        const char *out = msg;
        size_t n = len;
        if (comb) {
            char name[64];
            size_t nl = stream_name(f, st, name, sizeof name);
            n = (size_t)snprintf(f->env, f->scratch_cap + 128, "{\"stream\":\"%.*s\",\"data\":",
                                 (int)nl, name);
            memcpy(f->env + n, msg, len);
            n += len;
            f->env[n++] = '}';
            out = f->env;
        }
        lat_note(f, k, st / NTYPES, id);
        zws_server_publish(f->srv, topic, out, n, ZWS_OP_TEXT);
        STAT_ADD(f, sent[k], f->subs[st][comb]);
        STAT_ADD(f, bytes, (uint64_t)n * f->subs[st][comb]);
    }
}

static int wanted(const zws_md_feed *f, uint32_t st)
{
    return f->subs[st][0] || f->subs[st][1];
}

/* One step of symbol i, and what it produced, to the paced streams. */
static void step_paced(zws_md_feed *f, size_t i, int64_t now_ms)
{
    int what = zws_md_gen_step(f->gen, i, now_ms);
    if (f->o.rate <= 0)
        return; /* fast mode: the book walks for the diff-depth streams only */
    uint32_t base = (uint32_t)(i * NTYPES);
    size_t n;
    if ((what & ZWS_MD_GEN_TRADE) && wanted(f, base + S_TRADE) &&
        (n = zws_md_gen_trade(f->gen, i, now_ms, f->scratch, f->scratch_cap)))
        publish(f, base + S_TRADE, f->scratch, n, zws_md_gen_trade_id(f->gen, i, 0));
    if ((what & ZWS_MD_GEN_TRADE) && wanted(f, base + S_AGG) &&
        (n = zws_md_gen_agg_trade(f->gen, i, now_ms, f->scratch, f->scratch_cap)))
        publish(f, base + S_AGG, f->scratch, n, zws_md_gen_trade_id(f->gen, i, 1));
    if ((what & ZWS_MD_GEN_TOP) && wanted(f, base + S_TICKER) &&
        (n = zws_md_gen_book_ticker(f->gen, i, f->scratch, f->scratch_cap)))
        publish(f, base + S_TICKER, f->scratch, n, zws_md_gen_update_id(f->gen, i));
}

static void depth_tick(zws_md_feed *f, int fast_speed, int64_t now_ms, int lossless)
{
    for (size_t i = 0; i < f->nsym; i++) {
        uint32_t base = (uint32_t)(i * NTYPES);
        size_t n = zws_md_gen_depth_update(f->gen, i, fast_speed, now_ms, f->scratch,
                                           f->scratch_cap);
        uint32_t st = base + (fast_speed ? S_DEPTH100 : S_DEPTH);
        int every = atomic_load_explicit(&f->drop_every, memory_order_relaxed);
        if (n && !lossless && every > 0 && ++f->drop_count % (uint64_t)every == 0) {
            STAT(f, dropped_events);
            n = 0; /* injected loss: the subscribers see a gap in U/u */
        }
        if (n)
            publish(f, st, f->scratch, n, zws_md_gen_update_id(f->gen, i));
        if (f->o.rate <= 0)
            continue;
        for (int t = S_P5; t < NTYPES; t++) {
            if (is_fast_speed(t) != fast_speed || !wanted(f, base + (uint32_t)t))
                continue;
            n = zws_md_gen_depth(f->gen, i, partial_levels(t), f->scratch, f->scratch_cap);
            if (n)
                publish(f, base + (uint32_t)t, f->scratch, n, zws_md_gen_update_id(f->gen, i));
        }
    }
}

/* ---- fast mode: pre-rendered frames ---- */

static int32_t digits_after(const char *m, size_t len, const char *key, uint8_t *w)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl < len; i++)
        if (memcmp(m + i, key, kl) == 0) {
            size_t j = i + kl, d = 0;
            while (j + d < len && m[j + d] >= '0' && m[j + d] <= '9')
                d++;
            if (w)
                *w = (uint8_t)d;
            return (int32_t)j;
        }
    return -1;
}

static tpl *tpl_build(zws_md_feed *f, uint32_t st, int combined)
{
    int t = (int)(st % NTYPES);
    size_t sym = st / NTYPES;
    const char *name = zws_md_gen_lower(f->gen, sym);
    zws_md_gen *g;
    if (zws_md_gen_new(&g, &name, 1, f->o.seed + st, 100))
        return NULL;
    tpl *p = calloc(1, sizeof *p);
    size_t cap = (size_t)TPL_N * (is_partial(t) ? 1200 : 320), used = 0;
    char *buf = malloc(cap), *one = malloc(8192);
    if (!p || !buf || !one) {
        free(p);
        free(buf);
        free(one);
        zws_md_gen_free(g);
        return NULL;
    }
    int64_t now = wall_ms();
    for (int k = 0; k < TPL_N; k++) {
        size_t n = 0;
        for (int tries = 0; tries < 10000 && !n; tries++) {
            int what = zws_md_gen_step(g, 0, now);
            if (t == S_TRADE && (what & ZWS_MD_GEN_TRADE))
                n = zws_md_gen_trade(g, 0, now, one, 8192);
            else if (t == S_AGG && (what & ZWS_MD_GEN_TRADE))
                n = zws_md_gen_agg_trade(g, 0, now, one, 8192);
            else if (t == S_TICKER && (what & ZWS_MD_GEN_TOP))
                n = zws_md_gen_book_ticker(g, 0, one, 8192);
            else if (is_partial(t))
                n = zws_md_gen_depth(g, 0, partial_levels(t), one, 8192);
        }
        size_t pre = 0;
        char env[80];
        if (combined) {
            char sn[64];
            size_t nl = stream_name(f, st, sn, sizeof sn);
            pre = (size_t)snprintf(env, sizeof env, "{\"stream\":\"%.*s\",\"data\":", (int)nl, sn);
        }
        if (n == 0)
            n = zws_md_gen_depth(g, 0, 5, one, 8192); /* never: a step always comes */
        size_t len = pre + n + (combined ? 1 : 0);
        size_t hl = zws_frame_header_size(len, 0);
        if (used + hl + len > cap) {
            size_t ncap = (used + hl + len) * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                free(one);
                free(p);
                zws_md_gen_free(g);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        p->off[k] = (uint32_t)used;
        p->hlen[k] = (uint8_t)zws_frame_write_header((uint8_t *)buf + used, ZWS_OP_TEXT, 1, 0,
                                                     len, NULL);
        char *m = buf + used + hl;
        memcpy(m, env, pre);
        memcpy(m + pre, one, n);
        p->len[k] = (uint32_t)len;
        if (combined)
            m[pre + n] = '}';
        p->e_at[k] = digits_after(m, p->len[k], "\"E\":", NULL);
        const char *idkey = t == S_TRADE    ? "\"t\":"
                            : t == S_AGG    ? "\"a\":"
                            : t == S_TICKER ? "\"u\":"
                                            : "\"lastUpdateId\":";
        p->id_at[k] = digits_after(m, p->len[k], idkey, &p->id_w[k]);
        used += hl + len;
    }
    free(one);
    p->buf = buf;
    /* ids continue from the first frame's, with as many digits */
    char *m0 = buf + p->off[0] + p->hlen[0];
    p->next_id = 0;
    for (int d = 0; p->id_at[0] >= 0 && d < p->id_w[0]; d++)
        p->next_id = p->next_id * 10 + (uint64_t)(m0[p->id_at[0] + d] - '0');
    zws_md_gen_free(g);
    return p;
}

/* v (below 10^w) as w digits with leading zeros, two at a time: above
 * eight digits the low eight and the rest are two chains of divisions that
 * run side by side, not one of w (a division by a constant is a multiply,
 * four cycles here, and every frame gets an id and most an event time). */
static void put_small(char *at, uint32_t v, int w)
{
    static const char two[] = "00010203040506070809101112131415161718192021222324"
                              "25262728293031323334353637383940414243444546474849"
                              "50515253545556575859606162636465666768697071727374"
                              "75767778798081828384858687888990919293949596979899";
    for (; w >= 2; w -= 2) {
        uint32_t q = v / 100;
        memcpy(at + w - 2, two + 2 * (v - q * 100), 2);
        v = q;
    }
    if (w)
        at[0] = (char)('0' + v);
}

static void put_digits(char *at, uint64_t v, int w)
{
    while (w > 8) {
        uint64_t q = v / 100000000;
        put_small(at + w - 8, (uint32_t)(v - q * 100000000), 8);
        v = q;
        w -= 8;
    }
    put_small(at, (uint32_t)v, w);
}

static tpl *tpl_get(zws_md_feed *f, uint32_t st, int combined)
{
    tpl **slot = &f->tpls[st * 2 + (uint32_t)combined];
    if (!*slot)
        *slot = tpl_build(f, st, combined);
    return *slot;
}

static void fill(fconn *c)
{
    zws_md_feed *f = c->f;
    if (c->closing || !c->ws || atomic_load(&f->paused))
        return;
    uint32_t fast[1024];
    uint32_t nf = 0;
    for (uint32_t i = 0; i < c->n && nf < 1024; i++) {
        int t = (int)(c->streams[i] % NTYPES);
        if (t != S_DEPTH && t != S_DEPTH100)
            fast[nf++] = c->streams[i];
    }
    if (!nf)
        return;
    STAT(f, fills);
    if (zws_ws_buffered(c->ws) == 0)
        STAT(f, fills_starved);
    int64_t now = wall_ms();
    uint64_t sent[ZWS_MD_KIND_COUNT] = {0}, bytes = 0;
    static const uint64_t p10[20] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
                                     1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
                                     10000000000ULL, 100000000000ULL, 1000000000000ULL,
                                     10000000000000ULL, 100000000000000ULL,
                                     1000000000000000ULL, 10000000000000000ULL,
                                     100000000000000000ULL, 1000000000000000000ULL,
                                     10000000000000000000ULL};
    /* A chunk at a time: the frames are chosen and their sizes added up
     * first, then written straight into one buffer of that size, queued
     * by reference in one call. */
    enum { PLAN = 1024 };
    struct {
        tpl *p;
        uint32_t st, k;
    } plan[PLAN];
    while (!c->closing && zws_ws_buffered(c->ws) < f->fill_high) {
        size_t total = 0;
        int n = 0;
        while (n < PLAN) {
            uint32_t st = fast[c->rr % nf];
            tpl *p = tpl_get(f, st, c->combined);
            if (!p)
                return;
            uint32_t k = p->pos % TPL_N;
            size_t size = p->hlen[k] + p->len[k];
            if (n && total + size > FILL_CHUNK)
                break;
            c->rr++;
            p->pos++;
            plan[n].p = p;
            plan[n].st = st;
            plan[n++].k = k;
            total += size;
        }
        zws_buf *b = zws_buf_new(total);
        if (!b)
            break;
        uint8_t *out = zws_buf_mut(b);
        for (int i = 0; i < n; i++) {
            tpl *p = plan[i].p;
            uint32_t k = plan[i].k;
            size_t len = p->len[k];
            memcpy(out, p->buf + p->off[k], p->hlen[k] + len); /* header and payload */
            out += p->hlen[k];
            char *m = (char *)out;
            if (p->e_at[k] >= 0)
                put_digits(m + p->e_at[k], (uint64_t)now, 13);
            uint64_t id = p->next_id++;
            int w = p->id_w[k];
            if (p->id_at[k] >= 0 && w > 0 && w < 20) {
                if (id >= p10[w])
                    id = p->next_id = p10[w - 1]; /* keep the width */
                put_digits(m + p->id_at[k], id, w);
            }
            enum zws_md_kind kind = type_kind[plan[i].st % NTYPES];
            lat_note(f, kind, plan[i].st / NTYPES, (int64_t)id);
            out += len;
            sent[kind]++;
            bytes += len;
        }
        int r = zws_ws_send_frames(c->ws, b);
        zws_buf_unref(b);
        if (r)
            break;
    }
    for (int k = 0; k < ZWS_MD_KIND_COUNT; k++)
        if (sent[k])
            STAT_ADD(f, sent[k], sent[k]);
    STAT_ADD(f, bytes, bytes);
}

/* ---- requests: {"method":...,"params":[...],"id":...} ---- */

typedef struct feed_req {
    char method[32];
    struct {
        const char *p;
        size_t len;
    } params[1024];
    int nparams;
    const char *id;
    size_t id_len;
} feed_req;

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A plain string (no escapes: stream and method names have none). */
static const char *plain_string(const char *p, const char *e, const char **s, size_t *n)
{
    if (p >= e || *p != '"')
        return NULL;
    const char *q = ++p;
    while (q < e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    if (q >= e || *q != '"')
        return NULL;
    *s = p;
    *n = (size_t)(q - p);
    return q + 1;
}

/* 0, or the error reply's code and message: 0 unknown property, 1 invalid
 * value type, 2 invalid request, 3 invalid JSON (the service's codes). */
static int parse_req(const char *p, size_t len, feed_req *r, const char **why)
{
    const char *e = p + len;
    memset(r, 0, sizeof *r);
    r->nparams = -1;
    p = skip_ws(p, e);
    if (p >= e || *p != '{') {
        *why = "Invalid JSON: expected an object";
        return 3;
    }
    p = skip_ws(p + 1, e);
    int have_method = 0;
    while (p < e && *p != '}') {
        const char *k;
        size_t kl;
        if (!(p = plain_string(p, e, &k, &kl))) {
            *why = "Invalid JSON: expected a property name";
            return 3;
        }
        p = skip_ws(p, e);
        if (p >= e || *p != ':') {
            *why = "Invalid JSON: expected ':'";
            return 3;
        }
        p = skip_ws(p + 1, e);
        if (p >= e) {
            *why = "Invalid JSON: a value is missing";
            return 3;
        }
        if (kl == 6 && memcmp(k, "method", 6) == 0) {
            const char *s;
            size_t n;
            if (!(p = plain_string(p, e, &s, &n)) || n >= sizeof r->method) {
                *why = "Invalid value type: method must be a string";
                return 1;
            }
            memcpy(r->method, s, n);
            r->method[n] = 0;
            have_method = 1;
        } else if (kl == 6 && memcmp(k, "params", 6) == 0) {
            if (p >= e || *p != '[') {
                *why = "Invalid value type: params must be an array of strings";
                return 1;
            }
            p = skip_ws(p + 1, e);
            r->nparams = 0;
            while (p < e && *p != ']') {
                if (r->nparams == 1024) {
                    *why = "Invalid request: too many params";
                    return 2;
                }
                if (!(p = plain_string(p, e, &r->params[r->nparams].p,
                                       &r->params[r->nparams].len))) {
                    *why = "Invalid value type: params must be an array of strings";
                    return 1;
                }
                r->nparams++;
                p = skip_ws(p, e);
                if (p < e && *p == ',')
                    p = skip_ws(p + 1, e);
                else if (p < e && *p != ']') {
                    *why = "Invalid JSON: expected ',' or ']'";
                    return 3;
                }
            }
            if (p >= e) {
                *why = "Invalid JSON: unterminated array";
                return 3;
            }
            p++;
        } else if (kl == 2 && memcmp(k, "id", 2) == 0) {
            const char *s = p;
            if (p < e && *p == '"') {
                const char *v;
                size_t n;
                if (!(p = plain_string(p, e, &v, &n)) || n > 36) {
                    *why = "Invalid value type: id must be an integer, a string of up to 36 "
                           "characters, or null";
                    return 1;
                }
            } else if (e - p >= 4 && memcmp(p, "null", 4) == 0) {
                p += 4;
            } else {
                const char *d = p;
                if (p < e && *p == '-')
                    p++;
                while (p < e && *p >= '0' && *p <= '9')
                    p++;
                if (p == d || p - d > 19 || (p < e && (*p == '.' || *p == 'e' || *p == 'E'))) {
                    *why = "Invalid value type: id must be an integer, a string of up to 36 "
                           "characters, or null";
                    return 1;
                }
            }
            r->id = s;
            r->id_len = (size_t)(p - s);
        } else {
            *why = "Unknown property";
            return 0 - 1; /* code 0, told apart from success below */
        }
        p = skip_ws(p, e);
        if (p < e && *p == ',')
            p = skip_ws(p + 1, e);
        else if (p < e && *p != '}') {
            *why = "Invalid JSON: expected ',' or '}'";
            return 3;
        }
    }
    if (p >= e) {
        *why = "Invalid JSON: unterminated object";
        return 3;
    }
    if (skip_ws(p + 1, e) != e) {
        *why = "Invalid JSON: bytes after the object";
        return 3;
    }
    if (!have_method) {
        *why = "Invalid request: method is missing";
        return 2;
    }
    return 0x100; /* valid */
}

static void reply(fconn *c, const feed_req *r, const char *result, size_t rlen)
{
    if (!c->ws)
        return; /* closed meanwhile (a refill passed the output limit) */
    char out[256 + 64 * 1024];
    int n = snprintf(out, sizeof out, "{\"result\":%.*s,\"id\":%.*s}", (int)rlen, result,
                     r->id ? (int)r->id_len : 4, r->id ? r->id : "null");
    if (n > 0 && (size_t)n < sizeof out)
        zws_ws_send(c->ws, ZWS_OP_TEXT, out, (size_t)n);
}

static void reply_error(fconn *c, const feed_req *r, int code, const char *msg)
{
    char out[512];
    if (!c->ws)
        return;
    int n = snprintf(out, sizeof out, "{\"error\":{\"code\":%d,\"msg\":\"%s\"},\"id\":%.*s}",
                     code, msg, r && r->id ? (int)r->id_len : 4, r && r->id ? r->id : "null");
    STAT(c->f, bad_requests);
    if (n > 0 && (size_t)n < sizeof out)
        zws_ws_send(c->ws, ZWS_OP_TEXT, out, (size_t)n);
}

static void handle_request(fconn *c, const uint8_t *data, size_t len)
{
    zws_md_feed *f = c->f;
    static feed_req r; /* one loop thread */
    const char *why = "";
    STAT(f, requests);
    if (len > MAX_REQ) {
        reply_error(c, NULL, 2, "Invalid request: too long");
        return;
    }
    int code = parse_req((const char *)data, len, &r, &why);
    if (code != 0x100) {
        reply_error(c, r.id ? &r : NULL, code < 0 ? 0 : code, why);
        return;
    }
    int sub = strcmp(r.method, "SUBSCRIBE") == 0, unsub = strcmp(r.method, "UNSUBSCRIBE") == 0;
    if (sub || unsub) {
        if (r.nparams < 0) {
            reply_error(c, &r, 2, "Invalid request: params is missing");
            return;
        }
        uint32_t ids[1024];
        for (int i = 0; i < r.nparams; i++) {
            int st = stream_parse(f, r.params[i].p, r.params[i].len);
            if (st < 0) {
                reply_error(c, &r, 2, "Invalid request: unknown stream name");
                return;
            }
            ids[i] = (uint32_t)st;
        }
        if (sub) {
            uint32_t add = 0;
            for (int i = 0; i < r.nparams; i++)
                add += !conn_has(c, ids[i]);
            if (c->n + add > (uint32_t)f->o.max_streams) {
                reply_error(c, &r, 2, "Invalid request: too many streams for one connection");
                return;
            }
            for (int i = 0; i < r.nparams; i++)
                if (conn_add(c, ids[i])) {
                    reply_error(c, &r, 2, "Invalid request: out of memory");
                    return;
                }
            if (f->o.rate <= 0)
                fill(c);
        } else {
            for (int i = 0; i < r.nparams; i++)
                conn_remove(c, ids[i]);
        }
        reply(c, &r, "null", 4);
    } else if (strcmp(r.method, "LIST_SUBSCRIPTIONS") == 0) {
        static char list[64 * 1024];
        size_t n = 0;
        list[n++] = '[';
        for (uint32_t i = 0; i < c->n && n + 80 < sizeof list; i++) {
            if (i)
                list[n++] = ',';
            list[n++] = '"';
            n += stream_name(f, c->streams[i], list + n, sizeof list - n - 2);
            list[n++] = '"';
        }
        list[n++] = ']';
        reply(c, &r, list, n);
    } else {
        reply_error(c, &r, 2, "Invalid request: unknown method");
    }
}

/* ---- connections ---- */

static void replay_fill(zws_md_feed *f, fconn *c, int64_t now);

/* More frames for c, on open and on drain: a recording's (what is due at
 * its pace, or all that fits), or the pre-rendered frames of a feed as
 * fast as possible; a paced feed sends from its timers. */
static void refill(fconn *c, int64_t now)
{
    if (c->f->rec)
        replay_fill(c->f, c, now);
    else if (c->f->o.rate <= 0)
        fill(c);
}

static int count_incoming(fconn *c)
{
    zws_md_feed *f = c->f;
    int64_t now = zws_loop_now(zws_ws_loop(c->ws));
    if (now - c->win_start >= 1000) {
        c->win_start = now;
        c->win_count = 0;
    }
    if (++c->win_count > f->o.max_incoming && !c->closing) {
        c->closing = 1;
        STAT(f, closed_rate);
        zws_ws_close(c->ws, ZWS_CLOSE_POLICY, "too many incoming messages");
        return -1;
    }
    return 0;
}

/* /ws/<s>, /ws, /stream?streams=<a>/<b>, /stream: the streams in the path. */
static int path_streams(zws_md_feed *f, const char *path, size_t len, int *combined,
                        uint32_t *ids, int max)
{
    const char *q = memchr(path, '?', len);
    size_t plen = q ? (size_t)(q - path) : len;
    int n = 0;
    if (plen >= 3 && memcmp(path, "/ws", 3) == 0) {
        *combined = 0;
        if (plen == 3 || (plen == 4 && path[3] == '/'))
            return 0;
        if (path[3] != '/')
            return -404;
        const char *s = path + 4, *e = path + plen;
        /* /ws/<a>/<b>: Binance also takes several raw streams this way */
        while (s < e) {
            const char *slash = memchr(s, '/', (size_t)(e - s));
            const char *end = slash ? slash : e;
            int st = stream_parse(f, s, (size_t)(end - s));
            if (st < 0)
                return -400;
            if (n == max)
                return -414;
            ids[n++] = (uint32_t)st;
            s = slash ? slash + 1 : e;
        }
        return n;
    }
    if (plen == 7 && memcmp(path, "/stream", 7) == 0) {
        *combined = 1;
        if (!q)
            return 0;
        const char *s = q + 1, *e = path + len;
        while (s < e) {
            const char *amp = memchr(s, '&', (size_t)(e - s));
            const char *end = amp ? amp : e;
            if (end - s > 8 && memcmp(s, "streams=", 8) == 0) {
                const char *v = s + 8;
                while (v < end) {
                    const char *slash = memchr(v, '/', (size_t)(end - v));
                    const char *ve = slash ? slash : end;
                    int st = stream_parse(f, v, (size_t)(ve - v));
                    if (st < 0)
                        return -400;
                    if (n == max)
                        return -414;
                    ids[n++] = (uint32_t)st;
                    v = slash ? slash + 1 : end;
                }
            }
            s = amp ? amp + 1 : e;
        }
        return n;
    }
    return -404;
}

static int on_upgrade(void *ud, zws_upgrade *u, void **user)
{
    zws_md_feed *f = ud;
    uint32_t ids[1025];
    int combined = 0;
    int max = f->o.max_streams < 1024 ? f->o.max_streams : 1024;
    int n = path_streams(f, u->request->path, u->request->path_len, &combined, ids, max + 1);
    if (n == -414 || n > max) {
        u->reason = "too many streams for one connection";
        return 400;
    }
    if (n < 0) {
        u->reason = n == -404 ? "no such endpoint (/ws/<stream> or /stream?streams=...)"
                              : "unknown stream name";
        return -n;
    }
    fconn *c = calloc(1, sizeof *c);
    if (!c)
        return 503;
    c->f = f;
    c->combined = combined;
    c->streams = malloc((size_t)(n ? n : 1) * sizeof *c->streams);
    if (!c->streams) {
        free(c);
        return 503;
    }
    memcpy(c->streams, ids, (size_t)n * sizeof *ids);
    c->n = (uint32_t)n; /* subscribed at open, when the connection exists */
    c->cap = (uint32_t)(n ? n : 1);
    *user = c;
    return 0;
}

static void on_open(zws_ws *ws)
{
    fconn *c = zws_ws_user(ws);
    zws_md_feed *f = c->f;
    c->ws = ws;
    int64_t now = zws_loop_now(zws_ws_loop(ws));
    c->opened = c->last_pong = c->win_start = now;
    uint32_t n = c->n;
    c->n = 0;
    for (uint32_t i = 0; i < n; i++)
        if (conn_add(c, c->streams[i]))
            break;
    c->next = f->conns;
    if (f->conns)
        f->conns->prev = c;
    f->conns = c;
    STAT(f, conns);
    c->replay_t0 = now;
    refill(c, now); /* drain goes on with it */
}

static void on_message(zws_ws *ws, unsigned op, const uint8_t *data, size_t len)
{
    fconn *c = zws_ws_user(ws);
    if (count_incoming(c) || c->f->rec)
        return;
    if (op != ZWS_OP_TEXT) {
        reply_error(c, NULL, 3, "Invalid JSON: requests are text");
        return;
    }
    handle_request(c, data, len);
}

static void on_ping(zws_ws *ws, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    count_incoming(zws_ws_user(ws));
}

static void on_pong(zws_ws *ws, const uint8_t *data, size_t len)
{
    fconn *c = zws_ws_user(ws);
    if (count_incoming(c))
        return;
    /* only a pong echoing our ping counts; an unsolicited one is allowed
     * but keeps nothing alive */
    if (c->ping_len && len == c->ping_len && memcmp(data, c->ping, len) == 0)
        c->last_pong = zws_loop_now(zws_ws_loop(ws));
}

static void on_drain(zws_ws *ws)
{
    refill(zws_ws_user(ws), zws_loop_now(zws_ws_loop(ws)));
}

static void on_close(zws_ws *ws, uint16_t code, const char *reason, size_t len)
{
    (void)code;
    (void)reason;
    (void)len;
    fconn *c = zws_ws_user(ws);
    if (!c)
        return;
    zws_md_feed *f = c->f;
    if (c->ws) { /* opened */
        for (uint32_t i = 0; i < c->n; i++)
            f->subs[c->streams[i]][c->combined]--;
        if (c->prev)
            c->prev->next = c->next;
        else
            f->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    c->ws = NULL;
    c->closing = c->dead = 1;
    c->gnext = f->graveyard;
    f->graveyard = c;
    zws_ws_set_user(ws, NULL);
}

/* ---- timers ---- */

static void housekeeping(zws_md_feed *f, int64_t now)
{
    int ping = now >= f->next_ping;
    if (ping)
        f->next_ping = now + f->o.ping_ms;
    int kick = f->o.kick_every_ms > 0 && now >= f->next_kick;
    if (kick)
        f->next_kick = now + f->o.kick_every_ms;
    for (fconn *c = f->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (kick) { /* injected: as a service restart would */
            c->closing = 1;
            zws_ws_close(c->ws, ZWS_CLOSE_SERVICE_RESTART, "restarting");
            continue;
        }
        if (now - c->opened >= f->o.lifetime_ms) {
            char ev[64];
            int n = snprintf(ev, sizeof ev, "{\"e\":\"serverShutdown\",\"E\":%lld}",
                             (long long)wall_ms());
            zws_ws_send(c->ws, ZWS_OP_TEXT, ev, (size_t)n);
            c->closing = 1;
            STAT(f, closed_lifetime);
            zws_ws_close(c->ws, ZWS_CLOSE_GOING_AWAY, "connection lifetime over");
            continue;
        }
        if (now - c->last_pong >= f->o.pong_timeout_ms) {
            c->closing = 1;
            STAT(f, closed_pong);
            zws_ws_close(c->ws, ZWS_CLOSE_POLICY, "no pong");
            continue;
        }
        if (ping) {
            c->ping_len = (size_t)snprintf(c->ping, sizeof c->ping, "%lld", (long long)wall_ms());
            zws_ws_ping(c->ws, c->ping, c->ping_len);
        }
    }
}

static void bury(zws_md_feed *f)
{
    while (f->graveyard) {
        fconn *c = f->graveyard;
        f->graveyard = c->gnext;
        free(c->streams);
        free(c);
    }
}

static int tick(zws_loop *l, void *arg)
{
    zws_md_feed *f = arg;
    if (!l)
        return 0;
    bury(f);
    int64_t now = zws_loop_now(l);
    int64_t ms = wall_ms();
    int paused = atomic_load(&f->paused);
    if (paused && !f->was_paused) { /* send what the book did before stopping, all of it */
        depth_tick(f, 0, ms, 1);
        depth_tick(f, 1, ms, 1);
    }
    /* resumed: the fills made while paused sent nothing, so no drain would
     * come to start them again */
    if (!paused && f->was_paused && f->o.rate <= 0)
        for (fconn *c = f->conns, *next; c; c = next) {
            next = c->next; /* a fill may close c, never another */
            fill(c);
        }
    f->was_paused = paused;
    if (!paused) {
        double rate = f->o.rate > 0 ? f->o.rate : 1000;
        f->carry += rate * (double)(now - f->last_tick) / 1000.0;
        long steps = (long)f->carry;
        if (steps > (long)rate) /* after a stall, do not burst more than a second */
            steps = (long)rate;
        f->carry -= (double)(long)f->carry;
        for (long k = 0; k < steps; k++)
            for (size_t i = 0; i < f->nsym; i++)
                step_paced(f, i, ms);
        if (now >= f->next_100) {
            depth_tick(f, 1, ms, 0);
            f->next_100 = now + 100;
        }
        if (now >= f->next_1000) {
            depth_tick(f, 0, ms, 0);
            f->next_1000 = now + 1000;
        }
    }
    f->last_tick = now;
    housekeeping(f, now);
    return 10;
}

/* ---- replay ---- */

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads and indexes a recording: 0, or -1 with err set. */
static int load_recording(zws_md_feed *f, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (!b) {
            fclose(fp);
            snprintf(err, errlen, "out of memory reading %s", path);
            return -1;
        }
        size_t k = fread(b + n, 1, cap - n, fp);
        n += k;
        if (k == 0)
            break;
        if (n == cap) {
            if (cap >= ((size_t)1 << 32)) {
                free(b);
                fclose(fp);
                snprintf(err, errlen, "%s is larger than 4 GiB", path);
                return -1;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb)
                free(b);
            b = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    if (n < 8 || memcmp(b, "ZWSMDR1\n", 8)) {
        free(b);
        snprintf(err, errlen, "%s is not a zws md recording (no ZWSMDR1 header)", path);
        return -1;
    }
    size_t nrec = 0, ncap = 1024;
    size_t *off = malloc(ncap * sizeof *off);
    for (size_t p = 8; off && p < n;) {
        if (n - p < 16 || get_le(b + p + 8, 4) > n - p - 16) {
            snprintf(err, errlen, "%s is cut short at byte %zu (record %zu)", path, p, nrec);
            free(off);
            free(b);
            return -1;
        }
        if (nrec == ncap) {
            size_t *no = realloc(off, ncap * 2 * sizeof *off);
            if (!no) {
                free(off);
                off = NULL;
                break;
            }
            off = no;
            ncap *= 2;
        }
        off[nrec++] = p;
        p += 16 + get_le(b + p + 8, 4);
    }
    if (!off) {
        free(b);
        snprintf(err, errlen, "out of memory indexing %s", path);
        return -1;
    }
    f->rec = b;
    f->rec_len = n;
    f->rec_off = off;
    f->nrec = nrec;
    return 0;
}

static void replay_fill(zws_md_feed *f, fconn *c, int64_t now)
{
    if (c->closing)
        return;
    uint64_t t0 = f->nrec ? get_le(f->rec + f->rec_off[0], 8) : 0;
    while (!c->closing && c->replay_at < f->nrec && zws_ws_buffered(c->ws) < f->fill_high) {
        const uint8_t *r = f->rec + f->rec_off[c->replay_at];
        uint64_t t = get_le(r, 8);
        if (!f->o.replay_max && (int64_t)((t - t0) / 1000000) > now - c->replay_t0)
            return; /* not yet: the recorded pace */
        unsigned op = r[12] == ZWS_OP_BINARY ? ZWS_OP_BINARY : ZWS_OP_TEXT;
        size_t len = (size_t)get_le(r + 8, 4);
        if (zws_ws_send(c->ws, op, r + 16, len))
            return;
        STAT(f, sent[ZWS_MD_NONE]);
        STAT_ADD(f, bytes, len);
        c->replay_at++;
    }
    if (!c->closing && c->replay_at == f->nrec) {
        c->closing = 1;
        zws_ws_close(c->ws, ZWS_CLOSE_NORMAL, "replay over");
    }
}

/* At the recorded pace: the records that fell due since the last call (a
 * connection's drain only sends what is already due). */
static int replay_paced(zws_loop *l, void *arg)
{
    zws_md_feed *f = arg;
    if (!l)
        return 0;
    for (fconn *c = f->conns, *next; c; c = next) {
        next = c->next; /* a fill may close c, never another */
        replay_fill(f, c, zws_loop_now(l));
    }
    return 1;
}

/* Replay: the pings, pong deadlines and lifetimes still apply. */
static int tick_replay(zws_loop *l, void *arg)
{
    if (l) {
        bury(arg);
        housekeeping(arg, zws_loop_now(l));
    }
    return 1000;
}

static void on_loop(zws_loop *l, void *arg)
{
    zws_md_feed *f = arg;
    int64_t now = zws_loop_now(l);
    f->last_tick = now;
    f->next_100 = now + 100;
    f->next_1000 = now + 1000;
    f->next_ping = now + f->o.ping_ms;
    f->next_kick = now + f->o.kick_every_ms;
    if (!f->rec)
        zws_loop_timer(l, 10, tick, f);
    else
        zws_loop_timer(l, 1000, tick_replay, f);
    if (f->rec && !f->o.replay_max)
        zws_loop_timer(l, 1, replay_paced, f);
}

/* ---- REST: /api/v3/depth?symbol=BTCUSDT&limit=N ---- */

static int query_get(const char *path, size_t len, const char *name, const char **v,
                     size_t *vl)
{
    const char *q = memchr(path, '?', len);
    if (!q)
        return 0;
    const char *s = q + 1, *e = path + len;
    size_t nl = strlen(name);
    while (s < e) {
        const char *amp = memchr(s, '&', (size_t)(e - s));
        const char *end = amp ? amp : e;
        if ((size_t)(end - s) > nl && memcmp(s, name, nl) == 0 && s[nl] == '=') {
            *v = s + nl + 1;
            *vl = (size_t)(end - *v);
            return 1;
        }
        s = amp ? amp + 1 : e;
    }
    return 0;
}

static void on_depth(void *ud, const zws_handshake_request *req, zws_http_reply *rep)
{
    zws_md_feed *f = ud;
    const char *v;
    size_t vl;
    static char body[64];
    rep->content_type = "application/json";
    if (f->rec) {
        rep->status = 404;
        rep->body = "{\"code\":-1000,\"msg\":\"No snapshots in a replay.\"}";
        rep->body_len = strlen(rep->body);
        return;
    }
    if (!query_get(req->path, req->path_len, "symbol", &v, &vl)) {
        rep->status = 400;
        rep->body = "{\"code\":-1102,\"msg\":\"Mandatory parameter 'symbol' was not sent.\"}";
        rep->body_len = strlen(rep->body);
        return;
    }
    int sym = -1;
    int upper = 1;
    for (size_t i = 0; i < vl; i++)
        upper &= !(v[i] >= 'a' && v[i] <= 'z');
    if (upper)
        sym = zws_md_gen_find(f->gen, v, vl);
    if (sym < 0) {
        rep->status = 400;
        rep->body = "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}";
        rep->body_len = strlen(rep->body);
        return;
    }
    long limit = 100;
    if (query_get(req->path, req->path_len, "limit", &v, &vl)) {
        char num[16];
        if (vl == 0 || vl >= sizeof num) {
            limit = -1;
        } else {
            memcpy(num, v, vl);
            num[vl] = 0;
            char *end;
            limit = strtol(num, &end, 10);
            if (*end)
                limit = -1;
        }
        if (limit < 1 || limit > 5000) {
            rep->status = 400;
            snprintf(body, sizeof body, "{\"code\":-1100,\"msg\":\"Illegal limit.\"}");
            rep->body = body;
            rep->body_len = strlen(body);
            return;
        }
    }
    size_t n = zws_md_gen_depth(f->gen, (size_t)sym, (int)limit, f->scratch, f->scratch_cap);
    STAT(f, snapshots);
    rep->status = 200;
    rep->body = f->scratch;
    rep->body_len = n;
}

static void on_health(void *ud, const zws_handshake_request *req, zws_http_reply *rep)
{
    (void)ud;
    (void)req;
    rep->body = "ok\n";
    rep->body_len = 3;
}

/* ---- the feed ---- */

int zws_md_feed_new(zws_md_feed **out, const zws_md_feed_opts *o, char *err, size_t errlen)
{
    zws_md_feed *f = calloc(1, sizeof *f);
    if (!f)
        return ZWS_ENOMEM;
    f->o = *o;
    if (!f->o.ping_ms)
        f->o.ping_ms = 20000;
    if (!f->o.pong_timeout_ms)
        f->o.pong_timeout_ms = 60000;
    if (!f->o.lifetime_ms)
        f->o.lifetime_ms = 24LL * 3600 * 1000;
    if (!f->o.max_streams)
        f->o.max_streams = 1024;
    if (!f->o.max_incoming)
        f->o.max_incoming = 5;
    if (!f->o.max_buffered)
        f->o.max_buffered = 8u << 20;
    const char *list = o->symbols ? o->symbols : "btcusdt,ethusdt,solusdt,bnbusdt";
    char *copy = strdup(list);
    const char *syms[256];
    size_t n = 0;
    int r = ZWS_ENOMEM;
    if (!copy)
        goto fail;
    for (char *save, *t = strtok_r(copy, ",", &save); t && n < 256; t = strtok_r(NULL, ",", &save))
        syms[n++] = t;
    r = zws_md_gen_new(&f->gen, syms, n, o->seed, o->levels);
    free(copy);
    if (r) {
        snprintf(err, errlen, "bad symbol list or levels: '%s' (letters and digits, 1 to 256 "
                              "symbols; levels 10 to 5000)", list);
        r = ZWS_EINVAL;
        goto fail;
    }
    f->nsym = n;
    f->nstreams = (uint32_t)(n * NTYPES);
    atomic_store(&f->drop_every, o->drop_every);
    if (o->replay && load_recording(f, o->replay, err, errlen)) {
        r = ZWS_EINVAL;
        goto fail;
    }
    f->subs = calloc(f->nstreams, sizeof *f->subs);
    f->tpls = calloc((size_t)f->nstreams * 2, sizeof *f->tpls);
    f->scratch_cap = 5000 * 2 * 48 + 256;
    f->scratch = malloc(f->scratch_cap);
    f->env = malloc(f->scratch_cap + 256);
    f->lat = calloc(LAT_SLOTS, sizeof *f->lat);
    r = ZWS_ENOMEM;
    if (!f->subs || !f->tpls || !f->scratch || !f->env || !f->lat)
        goto fail;
    zws_opts *zo;
    if ((r = zws_opts_new(&zo)))
        goto fail;
    zws_opts_set_surface_control(zo, 1);
    if (o->deflate) {
        zws_deflate_opts d = {0};
        zws_opts_set_deflate(zo, &d);
    }
    if (o->cert && (r = zws_opts_set_cert(zo, o->cert, o->key))) {
        snprintf(err, errlen, "cannot use the certificate or key: %s", zws_strerror(r));
        zws_opts_free(zo);
        goto fail;
    }
    r = zws_server_new(&f->srv, zo, err, errlen);
    zws_opts_free(zo);
    if (r)
        goto fail;
    static const zws_handlers h = {on_upgrade, on_open, on_message, on_drain,
                                   on_close,   on_ping, on_pong};
    if ((r = zws_server_route(f->srv, "*", &h, f)) ||
        (r = zws_server_http_route(f->srv, "/api/v3/depth", on_depth, f)) ||
        (r = zws_server_http_route(f->srv, "/health", on_health, f))) {
        snprintf(err, errlen, "cannot set up the routes: %s", zws_strerror(r));
        goto fail;
    }
    /* pings and the pong deadline are the feed's own; no idle timeout */
    zws_server_set_timeouts(f->srv, 0, 0, 30000);
    /* fast mode keeps a client's output between half of fill_high and
     * fill_high, well inside the limit past which it is closed */
    f->fill_high = FILL_HIGH < f->o.max_buffered / 2 ? FILL_HIGH : f->o.max_buffered / 2;
    zws_server_set_backpressure(f->srv, f->o.max_buffered, f->fill_high / 2, ZWS_BP_CLOSE);
    zws_server_on_loop(f->srv, on_loop, f);
    *out = f;
    return 0;
fail:
    zws_md_feed_free(f);
    return r;
}

void zws_md_feed_free(zws_md_feed *f)
{
    if (!f)
        return;
    zws_server_free(f->srv);
    bury(f);
    for (uint32_t i = 0; f->tpls && i < f->nstreams * 2; i++)
        if (f->tpls[i]) {
            free(f->tpls[i]->buf);
            free(f->tpls[i]);
        }
    free(f->tpls);
    free(f->subs);
    free(f->scratch);
    free(f->env);
    free(f->lat);
    free(f->rec);
    free(f->rec_off);
    zws_md_gen_free(f->gen);
    free(f);
}

int zws_md_feed_listen(zws_md_feed *f, const char *host, uint16_t port, char *err,
                       size_t errlen)
{
    return zws_server_listen(f->srv, host, port, err, errlen);
}

uint16_t zws_md_feed_port(const zws_md_feed *f) { return zws_server_port(f->srv); }
/* One loop: the generator, the book and every connection share a thread. */
int zws_md_feed_run(zws_md_feed *f) { return zws_server_run(f->srv, 1); }
void zws_md_feed_stop(zws_md_feed *f) { zws_server_stop(f->srv); }
void zws_md_feed_pause(zws_md_feed *f, int on) { atomic_store(&f->paused, on ? 1 : 0); }
void zws_md_feed_set_loss(zws_md_feed *f, int drop_every)
{
    atomic_store(&f->drop_every, drop_every > 0 ? drop_every : 0);
}

void zws_md_feed_stats_get(const zws_md_feed *f, zws_md_feed_stats *out)
{
    uint64_t *o = (uint64_t *)out;
    for (size_t i = 0; i < sizeof *out / 8; i++)
        o[i] = atomic_load_explicit(&((zws_md_feed *)f)->st[i].v, memory_order_relaxed);
}
