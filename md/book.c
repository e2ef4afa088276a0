/* The local order book: each side a ladder of quantities indexed by price
 * in ticks from a base, a bitmap of the occupied slots and a summary bitmap
 * over that (one bit per non-zero bitmap word). Setting or removing a level
 * is a store and two bit operations; finding the next best level after the
 * best is removed looks at one word, then at most the summary words, so no
 * operation walks the book's levels. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zws/md.h"

#define MIN_SLOTS (1u << 12)
#define MAX_SLOTS (1u << 25)

typedef struct side {
    int64_t *qty;   /* w slots; 0 = no level */
    uint64_t *bits; /* w / 64 */
    uint64_t *sum;  /* w / 4096 */
    int64_t base;   /* the price (in ticks) of slot 0 */
    size_t w, n;
    int64_t best;   /* slot of the best level, -1 when empty */
    int bid;
} side;

typedef struct ev {
    int64_t U, u;
    size_t off, nb, na;
} ev;

#define MAX_BUFFERED_LEVELS (1u << 22)

struct zws_md_book {
    side s[2]; /* [0] asks, [1] bids */
    int64_t tick;
    int64_t uid;
    int state;
    ev *evs;
    size_t nev, ev_cap;
    zws_md_level *pool;
    size_t npool, pool_cap;
    zws_md_book_stats st;
};

static void side_free(side *s)
{
    free(s->qty);
    free(s->bits);
    free(s->sum);
    memset(s, 0, sizeof *s);
    s->best = -1;
}

static int side_alloc(side *s, size_t w)
{
    int64_t *q = calloc(w, sizeof *q);
    uint64_t *b = calloc(w / 64, sizeof *b);
    uint64_t *m = calloc(w / 4096 ? w / 4096 : 1, sizeof *m);
    if (!q || !b || !m) {
        free(q);
        free(b);
        free(m);
        return -ENOMEM;
    }
    s->qty = q;
    s->bits = b;
    s->sum = m;
    s->w = w;
    s->n = 0;
    s->best = -1;
    return 0;
}

static inline void bit_set(side *s, size_t i)
{
    s->bits[i >> 6] |= UINT64_C(1) << (i & 63);
    s->sum[i >> 12] |= UINT64_C(1) << ((i >> 6) & 63);
}

static inline void bit_clear(side *s, size_t i)
{
    uint64_t *w = &s->bits[i >> 6];
    *w &= ~(UINT64_C(1) << (i & 63));
    if (!*w)
        s->sum[i >> 12] &= ~(UINT64_C(1) << ((i >> 6) & 63));
}

/* The highest occupied slot <= i, or -1. */
static int64_t find_below(const side *s, int64_t i)
{
    if (i < 0)
        return -1;
    size_t wi = (size_t)i >> 6;
    uint64_t m = s->bits[wi] & (~UINT64_C(0) >> (63 - (i & 63)));
    if (m)
        return (int64_t)(wi << 6 | (63 - (size_t)__builtin_clzll(m)));
    /* the summary: bitmap words below wi */
    size_t si = wi >> 6;
    uint64_t sm = (wi & 63) ? s->sum[si] & ((UINT64_C(1) << (wi & 63)) - 1) : 0;
    for (;;) {
        if (sm) {
            size_t w = si << 6 | (63 - (size_t)__builtin_clzll(sm));
            return (int64_t)(w << 6 | (63 - (size_t)__builtin_clzll(s->bits[w])));
        }
        if (si == 0)
            return -1;
        sm = s->sum[--si];
    }
}

/* The lowest occupied slot >= i, or -1. */
static int64_t find_above(const side *s, int64_t i)
{
    if ((size_t)i >= s->w)
        return -1;
    size_t wi = (size_t)i >> 6;
    uint64_t m = s->bits[wi] & (~UINT64_C(0) << (i & 63));
    if (m)
        return (int64_t)(wi << 6 | (size_t)__builtin_ctzll(m));
    size_t si = wi >> 6, nsum = s->w >> 12 ? s->w >> 12 : 1;
    uint64_t sm = (wi & 63) == 63 ? 0 : s->sum[si] & (~UINT64_C(0) << ((wi & 63) + 1));
    for (;;) {
        if (sm) {
            size_t w = si << 6 | (size_t)__builtin_ctzll(sm);
            return (int64_t)(w << 6 | (size_t)__builtin_ctzll(s->bits[w]));
        }
        if (++si >= nsum)
            return -1;
        sm = s->sum[si];
    }
}

/* The next level after slot i going away from the best. */
static int64_t next_out(const side *s, int64_t i)
{
    return s->bid ? find_below(s, i - 1) : find_above(s, i + 1);
}

static int64_t first(const side *s)
{
    return s->bid ? find_below(s, (int64_t)s->w - 1) : find_above(s, 0);
}

/* Moves the side to a ladder of w slots based at base. */
static int side_move(side *s, size_t w, int64_t base)
{
    side ns = *s;
    if (side_alloc(&ns, w))
        return -ENOMEM;
    ns.base = base;
    for (int64_t i = first(s); i >= 0; i = next_out(s, i)) {
        size_t j = (size_t)(s->base + i - base);
        ns.qty[j] = s->qty[i];
        bit_set(&ns, j);
        ns.n++;
    }
    ns.best = first(&ns);
    side_free(s);
    *s = ns;
    return 0;
}

/* Slot of price p (in ticks), growing the ladder to hold it. */
static int slot_of(side *s, int64_t p, size_t *out)
{
    if (!s->qty && side_alloc(s, MIN_SLOTS))
        return -ENOMEM;
    if (p >= s->base && p - s->base < (int64_t)s->w) {
        *out = (size_t)(p - s->base);
        return 0;
    }
    if (s->n == 0) { /* empty: centre the ladder on p */
        s->base = p - (int64_t)(s->w / 2);
        *out = s->w / 2;
        return 0;
    }
    int64_t lo = s->base + first(s), hi = lo;
    if (s->bid) {
        hi = lo;
        lo = s->base + find_above(s, 0);
    } else {
        hi = s->base + find_below(s, (int64_t)s->w - 1);
    }
    if (p < lo)
        lo = p;
    if (p > hi)
        hi = p;
    uint64_t span = (uint64_t)(hi - lo) + 1, w = s->w;
    while (w < span * 2) {
        w *= 2;
        if (w > MAX_SLOTS)
            return ZWS_MD_ERANGE;
    }
    int64_t base = lo - (int64_t)((w - span) / 2);
    if (side_move(s, (size_t)w, base))
        return -ENOMEM;
    *out = (size_t)(p - s->base);
    return 0;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a < 0 ? -a : a;
}

/* A finer tick: every level moves to its new slot. */
static int retick(zws_md_book *b, int64_t tick)
{
    /* tick divides the old one; a ladder whose prices would not fit in
     * int64 at the finer tick is refused before anything moves */
    int64_t f = b->tick / tick, top;
    for (int k = 0; k < 2; k++)
        if (b->s[k].qty && __builtin_mul_overflow(b->s[k].base + (int64_t)b->s[k].w, f, &top))
            return ZWS_MD_ERANGE;
    for (int k = 0; k < 2; k++) {
        side *s = &b->s[k], ns;
        memset(&ns, 0, sizeof ns);
        ns.best = -1;
        ns.bid = s->bid;
        for (int64_t i = s->qty ? first(s) : -1; i >= 0; i = next_out(s, i)) {
            size_t j;
            int64_t p = (s->base + i) * f;
            int r = slot_of(&ns, p, &j);
            if (r) {
                side_free(&ns);
                return r;
            }
            ns.qty[j] = s->qty[i];
            bit_set(&ns, j);
            ns.n++;
        }
        ns.best = ns.qty ? first(&ns) : -1;
        side_free(s);
        *s = ns;
        s->bid = k;
    }
    b->tick = tick;
    return 0;
}

int zws_md_book_set(zws_md_book *b, int bid, int64_t px, int64_t qty)
{
    if (px <= 0 || qty < 0)
        return ZWS_MD_ERANGE;
    if (!b->tick) {
        b->tick = px;
    } else if (px % b->tick) {
        int r = retick(b, gcd64(b->tick, px));
        if (r)
            return r;
    }
    side *s = &b->s[bid ? 1 : 0];
    int64_t p = px / b->tick;
    if (qty == 0) { /* a removal never grows the ladder */
        if (!s->qty || p < s->base || p - s->base >= (int64_t)s->w)
            return 0;
        size_t i = (size_t)(p - s->base);
        if (!s->qty[i])
            return 0;
        s->qty[i] = 0;
        bit_clear(s, i);
        s->n--;
        if ((int64_t)i == s->best)
            s->best = s->n ? next_out(s, (int64_t)i) : -1;
        return 0;
    }
    size_t i;
    int r = slot_of(s, p, &i);
    if (r)
        return r;
    if (!s->qty[i]) {
        bit_set(s, i);
        s->n++;
        if (s->best < 0 || (s->bid ? (int64_t)i > s->best : (int64_t)i < s->best))
            s->best = (int64_t)i;
    }
    s->qty[i] = qty;
    return 0;
}

void zws_md_book_clear(zws_md_book *b)
{
    for (int k = 0; k < 2; k++) {
        side *s = &b->s[k];
        if (!s->qty)
            continue;
        /* a cleared ladder is reused: only the occupied slots are touched */
        for (int64_t i = s->best; i >= 0; i = next_out(s, i))
            s->qty[i] = 0;
        memset(s->bits, 0, s->w / 64 * sizeof *s->bits);
        memset(s->sum, 0, (s->w / 4096 ? s->w / 4096 : 1) * sizeof *s->sum);
        s->n = 0;
        s->best = -1;
    }
}

int zws_md_book_new(zws_md_book **out)
{
    zws_md_book *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->s[0].best = b->s[1].best = -1;
    b->s[1].bid = 1;
    b->uid = -1;
    *out = b;
    return 0;
}

void zws_md_book_free(zws_md_book *b)
{
    if (!b)
        return;
    side_free(&b->s[0]);
    side_free(&b->s[1]);
    free(b->evs);
    free(b->pool);
    free(b);
}

int zws_md_book_best(const zws_md_book *b, int bid, zws_md_level *out)
{
    const side *s = &b->s[bid ? 1 : 0];
    if (s->best < 0)
        return 0;
    out->px = (s->base + s->best) * b->tick;
    out->qty = s->qty[s->best];
    return 1;
}

size_t zws_md_book_levels(const zws_md_book *b, int bid, zws_md_level *out, size_t n)
{
    const side *s = &b->s[bid ? 1 : 0];
    size_t k = 0;
    for (int64_t i = s->best; i >= 0 && k < n; i = next_out(s, i), k++) {
        out[k].px = (s->base + i) * b->tick;
        out[k].qty = s->qty[i];
    }
    return k;
}

size_t zws_md_book_depth(const zws_md_book *b, int bid) { return b->s[bid ? 1 : 0].n; }

/* ---- the sync procedure ---- */

static int apply_levels(zws_md_book *b, const zws_md_level *bids, size_t nb,
                        const zws_md_level *asks, size_t na)
{
    for (size_t i = 0; i < nb; i++) {
        int r = zws_md_book_set(b, 1, bids[i].px, bids[i].qty);
        if (r)
            return r;
    }
    for (size_t i = 0; i < na; i++) {
        int r = zws_md_book_set(b, 0, asks[i].px, asks[i].qty);
        if (r)
            return r;
    }
    return 0;
}

static void drop_buffer(zws_md_book *b)
{
    b->nev = 0;
    b->npool = 0;
}

static int buffer_event(zws_md_book *b, const zws_md_msg *m)
{
    size_t need = m->nbids + m->nasks;
    if (b->npool + need > MAX_BUFFERED_LEVELS) {
        drop_buffer(b); /* the next snapshot's check finds the gap */
        b->st.gaps++;
    }
    if (b->nev == b->ev_cap) {
        size_t cap = b->ev_cap ? b->ev_cap * 2 : 64;
        ev *e = realloc(b->evs, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        b->evs = e;
        b->ev_cap = cap;
    }
    if (b->npool + need > b->pool_cap) {
        size_t cap = b->pool_cap ? b->pool_cap : 1024;
        while (cap < b->npool + need)
            cap *= 2;
        zws_md_level *p = realloc(b->pool, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        b->pool = p;
        b->pool_cap = cap;
    }
    ev *e = &b->evs[b->nev++];
    e->U = m->first_id;
    e->u = m->last_id;
    e->off = b->npool;
    e->nb = m->nbids;
    e->na = m->nasks;
    if (m->nbids)
        memcpy(b->pool + b->npool, m->bids, m->nbids * sizeof *m->bids);
    b->npool += m->nbids;
    if (m->nasks)
        memcpy(b->pool + b->npool, m->asks, m->nasks * sizeof *m->asks);
    b->npool += m->nasks;
    return 0;
}

/* One event on a live book: ignored if stale, a gap if it skips ids. */
static int live_event(zws_md_book *b, int64_t U, int64_t u, const zws_md_level *bids,
                      size_t nb, const zws_md_level *asks, size_t na)
{
    if (u <= b->uid) {
        b->st.stale++;
        return 0;
    }
    if (U > b->uid + 1) {
        b->st.gaps++;
        b->state = ZWS_MD_BOOK_RESYNC;
        return 1;
    }
    int r = apply_levels(b, bids, nb, asks, na);
    if (r)
        return r;
    b->uid = u;
    b->st.applied++;
    return 0;
}

int zws_md_book_event(zws_md_book *b, const zws_md_msg *m)
{
    if (m->kind != ZWS_MD_DEPTH_UPDATE || m->first_id > m->last_id)
        return ZWS_MD_ETYPE;
    if (b->state == ZWS_MD_BOOK_LIVE) {
        int r = live_event(b, m->first_id, m->last_id, m->bids, m->nbids, m->asks, m->nasks);
        if (r < 0)
            return r;
        if (r == 0)
            return b->state;
        /* a gap: the book is no longer trusted; keep this event for the next snapshot */
        zws_md_book_clear(b);
        b->uid = -1;
        drop_buffer(b);
    }
    int r = buffer_event(b, m);
    return r ? r : b->state;
}

int zws_md_book_snapshot(zws_md_book *b, const zws_md_msg *m)
{
    if (m->kind != ZWS_MD_DEPTH_PARTIAL || m->id < 0)
        return ZWS_MD_ETYPE;
    int64_t L = m->id;
    /* older than what the buffer starts with: the events between are lost */
    if (b->nev && L < b->evs[0].U - 1) {
        b->st.refused++;
        b->state = ZWS_MD_BOOK_RESYNC;
        return b->state;
    }
    zws_md_book_clear(b);
    int r = apply_levels(b, m->bids, m->nbids, m->asks, m->nasks);
    if (r)
        return r;
    b->uid = L;
    b->state = ZWS_MD_BOOK_LIVE;
    b->st.snapshots++;
    for (size_t i = 0; i < b->nev; i++) {
        const ev *e = &b->evs[i];
        r = live_event(b, e->U, e->u, b->pool + e->off, e->nb, b->pool + e->off + e->nb, e->na);
        if (r < 0)
            return r;
        if (r) { /* a hole inside the buffer: keep what follows it */
            size_t keep = b->nev - i;
            size_t off = e->off;
            memmove(b->evs, b->evs + i, keep * sizeof *b->evs);
            memmove(b->pool, b->pool + off, (b->npool - off) * sizeof *b->pool);
            for (size_t j = 0; j < keep; j++)
                b->evs[j].off -= off;
            b->nev = keep;
            b->npool -= off;
            zws_md_book_clear(b);
            b->uid = -1;
            return b->state;
        }
    }
    drop_buffer(b);
    return b->state;
}

enum zws_md_book_state zws_md_book_state(const zws_md_book *b) { return b->state; }
int64_t zws_md_book_update_id(const zws_md_book *b) { return b->uid; }
void zws_md_book_stats_get(const zws_md_book *b, zws_md_book_stats *out) { *out = b->st; }
