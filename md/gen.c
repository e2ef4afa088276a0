/* The feed generator: a book per symbol, kept as two sorted arrays (bids
 * high to low, asks low to high; a few thousand levels at most, so a
 * memmove per inserted level is cheap next to rendering), moved by a seeded
 * random walk. Changed prices are remembered per diff-depth speed until
 * that speed's next update renders them with their current quantity. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zws/md.h"

#define DEC 8 /* prices and quantities are rendered with 8 decimals, as the real feed does */

typedef struct chg {
    int64_t px;
    int bid;
} chg;

typedef struct sym {
    char upper[24], lower[24];
    int64_t tick, lot;       /* at scale 1e8 */
    zws_md_level *side[2];   /* [0] asks ascending, [1] bids descending */
    size_t n[2];
    int64_t uid;             /* book update id */
    int64_t first_pending[2];/* first update id not yet in a diff of speed k */
    chg *chg[2];
    size_t nchg[2], chg_cap[2];
    int64_t trade_id, agg_id;
    int64_t last_px, last_qty;
    int last_maker;
} sym;

struct zws_md_gen {
    sym *s;
    size_t n;
    int levels;
    uint64_t rng;
};

static uint64_t rnd(zws_md_gen *g)
{
    /* xorshift64*: fast, and the same sequence for the same seed */
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * UINT64_C(2685821657736338717);
}

static uint64_t below(zws_md_gen *g, uint64_t n) { return n ? rnd(g) % n : 0; }

static const struct {
    const char *name;
    int64_t px, tick, lot;
} known[] = {
    {"BTCUSDT", 9000000000000, 1000000, 1000},
    {"ETHUSDT", 300000000000, 1000000, 10000},
    {"SOLUSDT", 15000000000, 1000000, 100000},
    {"BNBUSDT", 60000000000, 1000000, 100000},
    {"XRPUSDT", 60000000, 10000, 10000000},
    {"DOGEUSDT", 1500000, 1000, 100000000},
};

static int64_t qty_rand(zws_md_gen *g, const sym *s) { return s->lot * (int64_t)(1 + below(g, 5000)); }

static int note(sym *s, int bid, int64_t px)
{
    for (int k = 0; k < 2; k++) {
        if (s->nchg[k] == s->chg_cap[k]) {
            size_t cap = s->chg_cap[k] ? s->chg_cap[k] * 2 : 256;
            chg *c = realloc(s->chg[k], cap * sizeof *c);
            if (!c)
                return -ENOMEM;
            s->chg[k] = c;
            s->chg_cap[k] = cap;
        }
        s->chg[k][s->nchg[k]++] = (chg){px, bid};
    }
    return 0;
}

/* Index of px on a side, or where it would go (as a negative -1 - pos). */
static long find(const sym *s, int bid, int64_t px)
{
    const zws_md_level *a = s->side[bid];
    size_t lo = 0, hi = s->n[bid];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int before = bid ? a[mid].px > px : a[mid].px < px;
        if (a[mid].px == px)
            return (long)mid;
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1 - (long)lo;
}

static void set_level(zws_md_gen *g, sym *s, int bid, int64_t px, int64_t qty)
{
    long at = find(s, bid, px);
    zws_md_level *a = s->side[bid];
    if (at >= 0) {
        if (qty) {
            a[at].qty = qty;
        } else {
            memmove(a + at, a + at + 1, (s->n[bid] - (size_t)at - 1) * sizeof *a);
            s->n[bid]--;
        }
    } else {
        if (!qty)
            return;
        size_t pos = (size_t)(-1 - at);
        if (s->n[bid] == (size_t)g->levels) {
            if (pos == s->n[bid])
                return; /* worse than every level of a full side */
            /* the worst level goes to make room */
            int64_t worst = a[s->n[bid] - 1].px;
            s->n[bid]--;
            note(s, bid, worst);
        }
        memmove(a + pos + 1, a + pos, (s->n[bid] - pos) * sizeof *a);
        a[pos] = (zws_md_level){px, qty};
        s->n[bid]++;
    }
    s->uid++;
    note(s, bid, px);
}

int zws_md_gen_new(zws_md_gen **out, const char *const *symbols, size_t n, uint64_t seed,
                   int levels)
{
    if (!levels)
        levels = 2000;
    if (levels < 10 || levels > 5000 || n == 0)
        return ZWS_MD_ERANGE;
    zws_md_gen *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->s = calloc(n, sizeof *g->s);
    g->n = n;
    g->levels = levels;
    g->rng = seed * UINT64_C(0x9e3779b97f4a7c15) + 0x2545f4914f6cdd1dULL;
    if (!g->rng)
        g->rng = 1;
    if (!g->s)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        sym *s = &g->s[i];
        size_t len = strlen(symbols[i]);
        if (len == 0 || len >= sizeof s->upper) {
            zws_md_gen_free(g);
            return ZWS_MD_ERANGE;
        }
        for (size_t k = 0; k < len; k++) {
            char c = symbols[i][k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                zws_md_gen_free(g);
                return ZWS_MD_ERANGE;
            }
            s->upper[k] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
            s->lower[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        int64_t px = 10000000000, tick = 1000000, lot = 100000;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strcmp(known[k].name, s->upper) == 0) {
                px = known[k].px;
                tick = known[k].tick;
                lot = known[k].lot;
            }
        s->tick = tick;
        s->lot = lot;
        for (int b = 0; b < 2; b++) {
            s->side[b] = calloc((size_t)levels, sizeof(zws_md_level));
            if (!s->side[b])
                goto nomem;
        }
        /* a full book around px, a level on most ticks */
        int64_t mid = px / tick * tick;
        for (int b = 0; b < 2; b++) {
            int64_t p = b ? mid - tick : mid;
            while (s->n[b] < (size_t)levels) {
                if (below(g, 4))
                    s->side[b][s->n[b]++] = (zws_md_level){p, qty_rand(g, s)};
                p += b ? -tick : tick;
            }
        }
        s->uid = 1000000000000 + (int64_t)below(g, 1000000);
        s->first_pending[0] = s->first_pending[1] = s->uid + 1;
        s->trade_id = 5000000000 + (int64_t)below(g, 1000000000); /* past 2^32, as real ids are */
        s->agg_id = s->trade_id / 2;
        s->last_px = mid;
        s->last_qty = lot;
    }
    *out = g;
    return 0;
nomem:
    zws_md_gen_free(g);
    return -ENOMEM;
}

void zws_md_gen_free(zws_md_gen *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->s && i < g->n; i++)
        for (int b = 0; b < 2; b++) {
            free(g->s[i].side[b]);
            free(g->s[i].chg[b]);
        }
    free(g->s);
    free(g);
}

size_t zws_md_gen_count(const zws_md_gen *g) { return g->n; }
const char *zws_md_gen_symbol(const zws_md_gen *g, size_t i) { return g->s[i].upper; }
const char *zws_md_gen_lower(const zws_md_gen *g, size_t i) { return g->s[i].lower; }
int64_t zws_md_gen_update_id(const zws_md_gen *g, size_t i) { return g->s[i].uid; }
int64_t zws_md_gen_trade_id(const zws_md_gen *g, size_t i, int agg)
{
    return agg ? g->s[i].agg_id : g->s[i].trade_id;
}

int zws_md_gen_find(const zws_md_gen *g, const char *name, size_t len)
{
    for (size_t i = 0; i < g->n; i++) {
        const sym *s = &g->s[i];
        if (strlen(s->upper) != len)
            continue;
        size_t k = 0;
        while (k < len && (name[k] == s->upper[k] || name[k] == s->lower[k]))
            k++;
        if (k == len)
            return (int)i;
    }
    return -1;
}

int zws_md_gen_step(zws_md_gen *g, size_t i, int64_t now_ms)
{
    (void)now_ms;
    sym *s = &g->s[i];
    int64_t bb = s->n[1] ? s->side[1][0].px : s->last_px - s->tick;
    int64_t ba = s->n[0] ? s->side[0][0].px : s->last_px + s->tick;
    uint64_t r = below(g, 100);
    int bid = (int)below(g, 2), out = 0;
    if (r < 45) { /* a quantity changes near the top */
        if (s->n[bid]) {
            size_t k = (size_t)below(g, s->n[bid] < 20 ? s->n[bid] : 20);
            if (below(g, 4) == 0)
                k = (size_t)below(g, s->n[bid]);
            set_level(g, s, bid, s->side[bid][k].px, qty_rand(g, s));
            out |= k == 0 ? ZWS_MD_GEN_TOP : 0;
        }
    } else if (r < 65) { /* a trade takes from the best level */
        zws_md_level *top = s->n[bid] ? &s->side[bid][0] : NULL;
        if (top) {
            int64_t q = s->lot * (int64_t)(1 + below(g, 200));
            int64_t px = top->px;
            if (q >= top->qty) {
                q = top->qty;
                set_level(g, s, bid, px, 0);
            } else {
                set_level(g, s, bid, px, top->qty - q);
            }
            s->trade_id++;
            s->agg_id++;
            s->last_px = px;
            s->last_qty = q;
            s->last_maker = bid; /* a sell took the bid: the buyer was the maker */
            out |= ZWS_MD_GEN_TRADE | ZWS_MD_GEN_TOP;
        }
    } else if (r < 85) { /* a new level near the top, or inside the spread */
        int64_t off = (int64_t)below(g, 30) - 2;
        int64_t px = bid ? bb - off * s->tick : ba + off * s->tick;
        if (bid ? px < ba : px > bb) {
            if (px > 0 && find(s, bid, px) < 0) {
                set_level(g, s, bid, px, qty_rand(g, s));
                out |= (bid ? px > bb : px < ba) ? ZWS_MD_GEN_TOP : 0;
            }
        }
    } else if (r < 95) { /* a level goes */
        if (s->n[bid] > 1) {
            size_t k = (size_t)below(g, s->n[bid]);
            set_level(g, s, bid, s->side[bid][k].px, 0);
            out |= k == 0 ? ZWS_MD_GEN_TOP : 0;
        }
    } else { /* a new level deep in the book */
        if (s->n[bid]) {
            int64_t deep = s->side[bid][s->n[bid] - 1].px;
            int64_t px = bid ? deep + s->tick * (int64_t)below(g, 50)
                             : deep - s->tick * (int64_t)below(g, 50);
            if (px > 0 && (bid ? px < ba : px > bb) && find(s, bid, px) < 0)
                set_level(g, s, bid, px, qty_rand(g, s));
        }
    }
    return out;
}

/* ---- rendering: small, exact writers (no printf on the hot path) ---- */

typedef struct out {
    char *p, *end;
    int full;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->full || (size_t)(o->end - o->p) < n) {
        o->full = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

#define PUT(o, lit) put(o, lit, sizeof lit - 1)

static void put_i64(out *o, int64_t v)
{
    char t[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        t[sizeof t - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[sizeof t - 1 - n++] = '-';
    put(o, t + sizeof t - n, n);
}

static void put_dec(out *o, int64_t v)
{
    char t[32];
    t[0] = '"';
    size_t n = zws_md_format_decimal(t + 1, v, DEC);
    t[1 + n] = '"';
    put(o, t, n + 2);
}

static void put_str_raw(out *o, const char *s) { put(o, s, strlen(s)); }

static void put_str(out *o, const char *s)
{
    PUT(o, "\"");
    put(o, s, strlen(s));
    PUT(o, "\"");
}

static size_t done(out *o, char *buf) { return o->full ? 0 : (size_t)(o->p - buf); }

/* A trade, or (agg) an aggregate trade of that one trade: the same fields
 * but the id's name, and the first and last trade ids of the aggregate. */
static size_t render_trade(const zws_md_gen *g, size_t i, int64_t now_ms, char *buf,
                           size_t cap, int agg)
{
    const sym *s = &g->s[i];
    out o = {buf, buf + cap, 0};
    if (agg)
        PUT(&o, "{\"e\":\"aggTrade\",\"E\":");
    else
        PUT(&o, "{\"e\":\"trade\",\"E\":");
    put_i64(&o, now_ms);
    PUT(&o, ",\"s\":");
    put_str(&o, s->upper);
    put_str_raw(&o, agg ? ",\"a\":" : ",\"t\":");
    put_i64(&o, agg ? s->agg_id : s->trade_id);
    PUT(&o, ",\"p\":");
    put_dec(&o, s->last_px);
    PUT(&o, ",\"q\":");
    put_dec(&o, s->last_qty);
    if (agg) {
        PUT(&o, ",\"f\":");
        put_i64(&o, s->trade_id);
        PUT(&o, ",\"l\":");
        put_i64(&o, s->trade_id);
    }
    PUT(&o, ",\"T\":");
    put_i64(&o, now_ms);
    put_str_raw(&o, s->last_maker ? ",\"m\":true,\"M\":true}" : ",\"m\":false,\"M\":true}");
    return done(&o, buf);
}

size_t zws_md_gen_trade(const zws_md_gen *g, size_t i, int64_t now_ms, char *buf, size_t cap)
{
    return render_trade(g, i, now_ms, buf, cap, 0);
}

size_t zws_md_gen_agg_trade(const zws_md_gen *g, size_t i, int64_t now_ms, char *buf,
                            size_t cap)
{
    return render_trade(g, i, now_ms, buf, cap, 1);
}

size_t zws_md_gen_book_ticker(const zws_md_gen *g, size_t i, char *buf, size_t cap)
{
    const sym *s = &g->s[i];
    out o = {buf, buf + cap, 0};
    zws_md_level b = s->n[1] ? s->side[1][0] : (zws_md_level){0, 0};
    zws_md_level a = s->n[0] ? s->side[0][0] : (zws_md_level){0, 0};
    PUT(&o, "{\"u\":");
    put_i64(&o, s->uid);
    PUT(&o, ",\"s\":");
    put_str(&o, s->upper);
    PUT(&o, ",\"b\":");
    put_dec(&o, b.px);
    PUT(&o, ",\"B\":");
    put_dec(&o, b.qty);
    PUT(&o, ",\"a\":");
    put_dec(&o, a.px);
    PUT(&o, ",\"A\":");
    put_dec(&o, a.qty);
    PUT(&o, "}");
    return done(&o, buf);
}

static int chg_cmp(const void *x, const void *y)
{
    const chg *a = x, *b = y;
    if (a->bid != b->bid)
        return a->bid > b->bid ? -1 : 1; /* bids first */
    if (a->px == b->px)
        return 0;
    return (a->px < b->px) == a->bid ? 1 : -1; /* each side best first */
}

static void put_levels(out *o, const sym *s, const chg *c, size_t n, int bid)
{
    int first = 1;
    int64_t last = -1;
    for (size_t k = 0; k < n; k++) {
        if (c[k].bid != bid || c[k].px == last)
            continue;
        last = c[k].px;
        long at = find(s, bid, c[k].px);
        put_str_raw(o, first ? "[" : ",[");
        first = 0;
        put_dec(o, c[k].px);
        PUT(o, ",");
        put_dec(o, at >= 0 ? s->side[bid][at].qty : 0);
        PUT(o, "]");
    }
}

size_t zws_md_gen_depth_update(zws_md_gen *g, size_t i, int speed, int64_t now_ms, char *buf,
                               size_t cap)
{
    sym *s = &g->s[i];
    int k = speed ? 1 : 0;
    if (s->first_pending[k] > s->uid)
        return 0; /* nothing changed */
    qsort(s->chg[k], s->nchg[k], sizeof(chg), chg_cmp);
    out o = {buf, buf + cap, 0};
    PUT(&o, "{\"e\":\"depthUpdate\",\"E\":");
    put_i64(&o, now_ms);
    PUT(&o, ",\"s\":");
    put_str(&o, s->upper);
    PUT(&o, ",\"U\":");
    put_i64(&o, s->first_pending[k]);
    PUT(&o, ",\"u\":");
    put_i64(&o, s->uid);
    PUT(&o, ",\"b\":[");
    put_levels(&o, s, s->chg[k], s->nchg[k], 1);
    PUT(&o, "],\"a\":[");
    put_levels(&o, s, s->chg[k], s->nchg[k], 0);
    PUT(&o, "]}");
    size_t n = done(&o, buf);
    if (n) {
        s->nchg[k] = 0;
        s->first_pending[k] = s->uid + 1;
    }
    return n;
}

size_t zws_md_gen_depth(const zws_md_gen *g, size_t i, int n, char *buf, size_t cap)
{
    const sym *s = &g->s[i];
    out o = {buf, buf + cap, 0};
    PUT(&o, "{\"lastUpdateId\":");
    put_i64(&o, s->uid);
    for (int bid = 1; bid >= 0; bid--) {
        put_str_raw(&o, bid ? ",\"bids\":[" : "],\"asks\":[");
        size_t m = s->n[bid] < (size_t)n ? s->n[bid] : (size_t)n;
        for (size_t k = 0; k < m; k++) {
            put_str_raw(&o, k ? ",[" : "[");
            put_dec(&o, s->side[bid][k].px);
            PUT(&o, ",");
            put_dec(&o, s->side[bid][k].qty);
            PUT(&o, "]");
        }
    }
    PUT(&o, "]}");
    return done(&o, buf);
}

size_t zws_md_gen_levels(const zws_md_gen *g, size_t i, int bid, zws_md_level *dst, size_t n)
{
    const sym *s = &g->s[i];
    size_t m = s->n[bid ? 1 : 0] < n ? s->n[bid ? 1 : 0] : n;
    memcpy(dst, s->side[bid ? 1 : 0], m * sizeof *dst);
    return m;
}
