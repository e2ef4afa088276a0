/* UTF-8 validator tests: the DFA against an independent decoder, every
 * error class with its exact offset, chunk splits, every kernel against the
 * DFA, the vector lookup tables exhaustively, and reads bounded by a guard
 * page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal/cpu.h"
#include "internal/utf8.h"
#include "zws/utf8.h"
#include "utf8_encode.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* What a validator concluded about a whole input. */
struct verdict {
    int failed;
    size_t bad;   /* absolute offset, when failed */
    int complete; /* ends on a boundary, when not failed */
};

static struct verdict dfa_verdict(const uint8_t *p, size_t len)
{
    struct verdict v = {0, 0, 0};
    uint32_t s = zws__utf8_dfa(ZWS__UTF8_ACCEPT, p, len, &v.bad);
    v.failed = s == ZWS__UTF8_REJECT;
    if (!v.failed)
        v.bad = 0;
    v.complete = s == ZWS__UTF8_ACCEPT;
    return v;
}

/* Feeds p in the pieces [0,cuts[0]), [cuts[0],cuts[1]), ..., [last,len)
 * through kernel k's streaming entry (or the public one when k is NULL). */
static struct verdict feed_cuts(const struct zws__utf8_kernel *k,
                                const uint8_t *p, size_t len,
                                const size_t *cuts, size_t ncuts)
{
    struct verdict r = {0, 0, 0};
    zws_utf8 v = ZWS_UTF8_INIT;
    size_t start = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        size_t bad = (size_t)-1;
        int rc = k ? zws__utf8_feed_with(k, &v, p + start, end - start, &bad)
                   : zws_utf8_feed(&v, p + start, end - start, &bad);
        if (rc != 0) {
            if (rc != ZWS_EUTF8 || bad >= end - start || zws_utf8_complete(&v))
                fail_msg("bad failure report: rc %d bad %zu chunk %zu", rc, bad,
                         end - start);
            r.failed = 1;
            r.bad = start + bad;
            return r;
        }
        start = end;
    }
    r.complete = zws_utf8_complete(&v);
    return r;
}

static int same(struct verdict a, struct verdict b)
{
    return a.failed == b.failed && a.bad == b.bad && a.complete == b.complete;
}

static void expect_same(struct verdict got, struct verdict want,
                        const char *what, const char *kname)
{
    if (!same(got, want))
        fail_msg("%s [%s]: got failed=%d bad=%zu complete=%d, want failed=%d "
                 "bad=%zu complete=%d",
                 what, kname, got.failed, got.bad, got.complete, want.failed,
                 want.bad, want.complete);
}

/* Kernels this machine runs, and NULL for the public (selected) path. */
static const struct zws__utf8_kernel *kernels[8];
static size_t nkernels;

static void find_kernels(void)
{
    nkernels = 0;
    for (size_t i = 0; i < zws__utf8_nkernels && nkernels < 7; i++)
        if (zws__cpu_supports(zws__utf8_kernels[i].level))
            kernels[nkernels++] = &zws__utf8_kernels[i];
}

static const char *kname(const struct zws__utf8_kernel *k)
{
    return k ? k->name : "public";
}

/* ---- an independent reference: RFC 3629 by decoding ---------------------- */

static int seq_len(uint8_t b)
{
    if (b < 0x80)
        return 1;
    if (b < 0xC0)
        return 0;
    if (b < 0xE0)
        return 2;
    if (b < 0xF0)
        return 3;
    return b < 0xF8 ? 4 : 0;
}

/* Can the first `have` bytes of an n-byte sequence still become a scalar
 * value of the right length? Fill the rest with the smallest and largest
 * continuation payloads and intersect with what is allowed. */
static int completable(const uint8_t *s, int have, int n)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t lo = s[0] & (0x7Fu >> n), hi = lo;
    for (int k = 1; k < n; k++) {
        lo = lo << 6 | (k < have ? s[k] & 0x3Fu : 0);
        hi = hi << 6 | (k < have ? s[k] & 0x3Fu : 0x3F);
    }
    uint32_t a = lo > min_cp[n] ? lo : min_cp[n];
    uint32_t b = hi < 0x10FFFF ? hi : 0x10FFFF;
    return a <= b && !(a >= 0xD800 && b <= 0xDFFF);
}

/* 0: valid and complete; 1: valid so far; -1: *bad is the first byte after
 * which no continuation can be valid. */
static int naive(const uint8_t *p, size_t len, size_t *bad)
{
    size_t i = 0;
    while (i < len) {
        int n = seq_len(p[i]);
        if (n == 0) {
            *bad = i;
            return -1;
        }
        for (int k = 0; k < n; k++) {
            if (i + (size_t)k == len)
                return 1;
            if ((k > 0 && (p[i + k] & 0xC0) != 0x80) ||
                (n > 1 && !completable(p + i, k + 1, n))) {
                *bad = i + (size_t)k;
                return -1;
            }
        }
        i += (size_t)n;
    }
    return 0;
}

static void dfa_matches_naive(const uint8_t *p, size_t len)
{
    size_t nbad = 0, dbad = 0;
    int n = naive(p, len, &nbad);
    uint32_t s = zws__utf8_dfa(ZWS__UTF8_ACCEPT, p, len, &dbad);
    int d = s == ZWS__UTF8_ACCEPT ? 0 : s == ZWS__UTF8_REJECT ? -1 : 1;
    if (n != d || (n < 0 && nbad != dbad))
        fail_msg("DFA vs decoder on %02x %02x %02x %02x (len %zu): %d/%zu vs "
                 "%d/%zu",
                 p[0], len > 1 ? p[1] : 0, len > 2 ? p[2] : 0,
                 len > 3 ? p[3] : 0, len, d, dbad, n, nbad);
}

/* Bytes at and next to every class boundary of Table 3-7. */
static const uint8_t edges[] = {
    0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
    0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF,
    0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF,
};
#define NEDGES (sizeof edges / sizeof edges[0])

/* Every transition of the DFA is reached within three bytes (all states are
 * reachable in two), so all 1-3 byte inputs check the whole table. */
static void t_dfa_vs_decoder(void **st)
{
    (void)st;
    uint8_t b[4];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        dfa_matches_naive(b, 1);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            dfa_matches_naive(b, 2);
            for (unsigned z = 0; z < 256; z++) {
                b[2] = (uint8_t)z;
                dfa_matches_naive(b, 3);
            }
        }
    }
    for (unsigned x = 0; x < 256; x++)
        for (size_t i = 0; i < NEDGES; i++)
            for (size_t j = 0; j < NEDGES; j++)
                for (size_t k = 0; k < NEDGES; k++) {
                    b[0] = (uint8_t)x;
                    b[1] = edges[i];
                    b[2] = edges[j];
                    b[3] = edges[k];
                    dfa_matches_naive(b, 4);
                }
}

/* ---- hand-written vectors -------------------------------------------------
 */

#define OK (-1)      /* valid and complete */
#define PENDING (-2) /* valid so far, ends inside a code point */

struct vec {
    const char *name;
    const char *s;
    size_t len;
    long bad; /* offset of the offending byte, or OK / PENDING */
};
/* clang-format off */
#define V(name, s, bad) {name, s, sizeof(s) - 1, bad}

static const struct vec vectors[] = {
    V("empty", "", OK),
    V("U+0000", "\x00", OK),
    V("U+007F", "\x7F", OK),
    V("U+0080", "\xC2\x80", OK),
    V("U+07FF", "\xDF\xBF", OK),
    V("U+0800", "\xE0\xA0\x80", OK),
    V("U+D7FF", "\xED\x9F\xBF", OK),
    V("U+E000", "\xEE\x80\x80", OK),
    V("U+FFFF", "\xEF\xBF\xBF", OK),
    V("U+10000", "\xF0\x90\x80\x80", OK),
    V("U+10FFFF", "\xF4\x8F\xBF\xBF", OK),
    V("mixed", "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0"
               "\xC3\xA1-UTF-8!!", OK),
    V("kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", OK),
    V("all widths", "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z", OK),
    /* overlong */
    V("overlong C0 80", "\xC0\x80", 0),
    V("overlong C0 AF", "\xC0\xAF", 0),
    V("overlong C1 BF", "\xC1\xBF", 0),
    V("overlong E0 80 80", "\xE0\x80\x80", 1),
    V("overlong E0 9F BF", "\xE0\x9F\xBF", 1),
    V("overlong F0 80 80 80", "\xF0\x80\x80\x80", 1),
    V("overlong F0 8F BF BF", "\xF0\x8F\xBF\xBF", 1),
    V("overlong after text", "abc\xE0\x80\xAF", 4),
    /* surrogates */
    V("U+D800", "\xED\xA0\x80", 1),
    V("U+DBFF", "\xED\xAF\xBF", 1),
    V("U+DC00", "\xED\xB0\x80", 1),
    V("U+DFFF", "\xED\xBF\xBF", 1),
    V("surrogate pair", "\xED\xA0\x80\xED\xB0\x80", 1),
    V("kosme + surrogate", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"
                           "\xED\xA0\x80" "edited", 12),
    /* above U+10FFFF */
    V("U+110000", "\xF4\x90\x80\x80", 1),
    V("F4 BF", "\xF4\xBF\xBF\xBF", 1),
    V("F5", "\xF5\x80\x80\x80", 0),
    V("F7", "\xF7\xBF\xBF\xBF", 0),
    V("5-byte form", "\xF8\x88\x80\x80\x80", 0),
    V("6-byte form", "\xFC\x84\x80\x80\x80\x80", 0),
    /* bytes that never occur */
    V("C0 alone", "\xC0", 0),
    V("C1 alone", "\xC1", 0),
    V("F5 alone", "\xF5", 0),
    V("FE", "\xFE", 0),
    V("FF", "\xFF", 0),
    V("FF after text", "abcdef\xFF", 6),
    /* stray continuations */
    V("80", "\x80", 0),
    V("BF", "\xBF", 0),
    V("a 80", "a\x80", 1),
    V("2-byte + extra", "\xC2\x80\x80", 2),
    V("3-byte + extra", "\xE1\x80\x80\x80", 3),
    V("4-byte + extra", "\xF1\x80\x80\x80\x80", 4),
    /* interrupted sequences */
    V("C2 then ASCII", "\xC2" "A", 1),
    V("E1 80 then ASCII", "\xE1\x80" "A", 2),
    V("F1 80 80 then ASCII", "\xF1\x80\x80" "A", 3),
    V("E1 then lead", "\xE1\xC2\x80", 1),
    V("F0 90 then lead", "\xF0\x90\xF0", 2),
    /* truncated at the end: fine so far, not complete */
    V("C2 at end", "\xC2", PENDING),
    V("E0 at end", "\xE0", PENDING),
    V("E0 A0 at end", "\xE0\xA0", PENDING),
    V("ED 9F at end", "\xED\x9F", PENDING),
    V("F0 at end", "\xF0", PENDING),
    V("F0 90 at end", "\xF0\x90", PENDING),
    V("F0 90 80 at end", "\xF0\x90\x80", PENDING),
    V("F4 8F BF at end", "\xF4\x8F\xBF", PENDING),
    V("text, F3 BF at end", "a\xF3\xBF", PENDING),
};
/* clang-format on */
#define NVECTORS (sizeof vectors / sizeof vectors[0])

static struct verdict want_of(const struct vec *v, size_t shift)
{
    struct verdict w = {0, 0, 0};
    if (v->bad == OK)
        w.complete = 1;
    else if (v->bad >= 0) {
        w.failed = 1;
        w.bad = shift + (size_t)v->bad;
    }
    return w;
}

/* Valid text put before a vector: ASCII, two-byte and four-byte forms, so
 * the vector lands in the vector kernels' region at various lane offsets. */
static const char prefix_text[] =
    "The quick brown fox \xC3\xA9t\xC3\xA9 \xF0\x9F\xA6\x8A jumps over the "
    "lazy dog \xE4\xB8\xAD\xE6\x96\x87 and runs far away, again and again.";

static size_t build(uint8_t *buf, const struct vec *v, size_t plen)
{
    memcpy(buf, prefix_text, plen);
    memcpy(buf + plen, v->s, v->len);
    return plen + v->len;
}

static void t_vectors_whole(void **st)
{
    (void)st;
    /* Prefix lengths end on code point boundaries of prefix_text. */
    static const size_t plens[] = {0, 13, 20, 31, 47, 61, 63, 64, 80};
    uint8_t buf[256];
    for (size_t vi = 0; vi < NVECTORS; vi++) {
        const struct vec *v = &vectors[vi];
        for (size_t pi = 0; pi < sizeof plens / sizeof plens[0]; pi++) {
            size_t len = build(buf, v, plens[pi]);
            struct verdict want = want_of(v, plens[pi]);
            expect_same(dfa_verdict(buf, len), want, v->name, "dfa");
            for (size_t ki = 0; ki <= nkernels; ki++) {
                const struct zws__utf8_kernel *k =
                    ki < nkernels ? kernels[ki] : NULL;
                expect_same(feed_cuts(k, buf, len, NULL, 0), want, v->name,
                            kname(k));
            }
            assert_int_equal(zws_utf8_valid(buf, len), want.complete);
        }
    }
}

/* Splitting the input anywhere, into two or three pieces, changes nothing:
 * same verdict, same absolute offset. */
static void t_vectors_split(void **st)
{
    (void)st;
    static const size_t plens[] = {0, 61, 80};
    uint8_t buf[256];
    for (size_t vi = 0; vi < NVECTORS; vi++) {
        const struct vec *v = &vectors[vi];
        for (size_t pi = 0; pi < sizeof plens / sizeof plens[0]; pi++) {
            size_t len = build(buf, v, plens[pi]);
            struct verdict want = want_of(v, plens[pi]);
            /* Cuts inside the prefix matter only near the vector. */
            size_t from = plens[pi] > 8 ? plens[pi] - 8 : 0;
            for (size_t ki = 0; ki <= nkernels; ki++) {
                const struct zws__utf8_kernel *k =
                    ki < nkernels ? kernels[ki] : NULL;
                size_t c[2];
                for (c[0] = 0; c[0] <= len; c[0]++) {
                    expect_same(feed_cuts(k, buf, len, c, 1), want, v->name,
                                kname(k));
                    if (c[0] < from)
                        continue;
                    for (c[1] = c[0]; c[1] <= len; c[1]++)
                        expect_same(feed_cuts(k, buf, len, c, 2), want, v->name,
                                    kname(k));
                }
            }
        }
    }
}

/* One byte at a time, as a parser fed by a slow peer would. */
static void t_vectors_bytewise(void **st)
{
    (void)st;
    uint8_t buf[256];
    size_t cuts[256];
    for (size_t vi = 0; vi < NVECTORS; vi++) {
        size_t len = build(buf, &vectors[vi], 61);
        for (size_t i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        for (size_t ki = 0; ki <= nkernels; ki++) {
            const struct zws__utf8_kernel *k =
                ki < nkernels ? kernels[ki] : NULL;
            expect_same(feed_cuts(k, buf, len, cuts, len ? len - 1 : 0),
                        want_of(&vectors[vi], 61), vectors[vi].name, kname(k));
        }
    }
}

/* A failed validator stays failed, whatever it is fed, until reset. */
static void t_sticky_and_reset(void **st)
{
    (void)st;
    for (size_t ki = 0; ki <= nkernels; ki++) {
        const struct zws__utf8_kernel *k = ki < nkernels ? kernels[ki] : NULL;
        zws_utf8 v = ZWS_UTF8_INIT;
        size_t bad = 99;
        const uint8_t bad_in[] = {'a', 0xFF};
        const uint8_t good[] = "plain ASCII that would be fine on its own....";
#define FEED(p, n)                                                             \
    (k ? zws__utf8_feed_with(k, &v, p, n, &bad) : zws_utf8_feed(&v, p, n, &bad))
        assert_int_equal(FEED(bad_in, 2), ZWS_EUTF8);
        assert_int_equal(bad, 1);
        assert_int_equal(zws_utf8_complete(&v), 0);
        bad = 99;
        assert_int_equal(FEED(good, sizeof good - 1), ZWS_EUTF8);
        assert_int_equal(bad, 0);
        bad = 99;
        assert_int_equal(FEED(good, 0), ZWS_EUTF8);
        assert_int_equal(bad, 0);
        zws_utf8_reset(&v);
        assert_int_equal(zws_utf8_complete(&v), 1);
        assert_int_equal(FEED(good, sizeof good - 1), 0);
        assert_int_equal(zws_utf8_complete(&v), 1);
        /* NULL bad is allowed. */
        assert_int_equal(k ? zws__utf8_feed_with(k, &v, bad_in, 2, NULL)
                           : zws_utf8_feed(&v, bad_in, 2, NULL),
                         ZWS_EUTF8);
#undef FEED
    }
    assert_int_equal(zws_utf8_valid(NULL, 0), 1);
}

/* The selected kernel is the best one at or below the SIMD level. */
static void t_dispatch(void **st)
{
    (void)st;
    int level = zws__simd_level(NULL);
    const char *want = "scalar";
    for (size_t i = 0; i < zws__utf8_nkernels; i++)
        if (zws__utf8_kernels[i].level <= level)
            want = zws__utf8_kernels[i].name;
    assert_string_equal(zws_utf8_kernel(), want);
    assert_string_equal(zws__utf8_kernels[0].name, "scalar");
    for (size_t i = 1; i < zws__utf8_nkernels; i++)
        assert_true(zws__utf8_kernels[i].level >
                    zws__utf8_kernels[i - 1].level);
    for (size_t i = 0; i < nkernels; i++)
        print_message("[ INFO     ] kernel %s\n", kernels[i]->name);
}

/* ---- random inputs: every kernel against the DFA ------------------------- */

static uint32_t random_cp(void)
{
    static const uint32_t edge_cps[] = {0x0,     0x7F,    0x80,   0x7FF,
                                        0x800,   0xD7FF,  0xE000, 0xFFFF,
                                        0x10000, 0x10FFFF};
    switch (rnd_below(8)) {
    case 0:
    case 1:
    case 2:
        return (uint32_t)(0x20 + rnd_below(0x5F));
    case 3:
        return (uint32_t)(0x80 + rnd_below(0x780));
    case 4:
    case 5: {
        uint32_t cp = (uint32_t)(0x800 + rnd_below(0xF800));
        return cp >= 0xD800 && cp < 0xE000 ? cp - 0x800 : cp;
    }
    case 6:
        return (uint32_t)(0x10000 + rnd_below(0x100000));
    default:
        return edge_cps[rnd_below(sizeof edge_cps / sizeof edge_cps[0])];
    }
}

/* Exactly n bytes of valid UTF-8 with mixed widths and ASCII runs long
 * enough for the fast paths. */
static void gen_valid(uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (rnd_below(16) == 0) {
            size_t run = rnd_below(300);
            for (; run && i < n; run--)
                p[i++] = (uint8_t)(0x20 + rnd_below(0x5F));
            continue;
        }
        uint8_t tmp[4];
        size_t w = tu_utf8_encode(tmp, random_cp());
        if (w > n - i)
            w = tu_utf8_encode(tmp, 'x');
        memcpy(p + i, tmp, w);
        i += w;
    }
}

static void corrupt(uint8_t *p, size_t n)
{
    static const uint8_t nasty[] = {0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED,
                                    0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x00, 0x41};
    if (!n)
        return;
    size_t hits = 1 + rnd_below(3);
    for (size_t h = 0; h < hits; h++) {
        size_t at = rnd_below(n);
        p[at] = rnd_below(2) ? nasty[rnd_below(sizeof nasty)] : (uint8_t)rnd();
    }
}

/* Fills p with one of the input kinds; returns a name for messages. */
static const char *gen_input(uint8_t *p, size_t n, unsigned kind)
{
    switch (kind % 5) {
    case 0:
        gen_valid(p, n);
        return "valid";
    case 1:
        gen_valid(p, n);
        corrupt(p, n);
        return "corrupted";
    case 2:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rnd();
        return "random";
    case 3:
        /* High bytes only: long runs of plausible multi-byte sequences. */
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(0x80 | rnd());
        return "random high";
    default:
        gen_valid(p, n);
        if (n)
            p[n - 1] = (uint8_t)(0xC2 + rnd_below(0x33)); /* truncated lead */
        return "truncated";
    }
}

static size_t random_cuts(size_t *cuts, size_t max, size_t len)
{
    size_t scale = (size_t[]){4, 64, 1024, 70000}[rnd_below(4)];
    size_t n = 0, at = 0;
    while (n < max) {
        at += 1 + rnd_below(scale);
        if (at >= len)
            break;
        cuts[n++] = at;
    }
    return n;
}

static void check_random(const uint8_t *p, size_t len, const char *what)
{
    static size_t cuts[4096];
    struct verdict want = dfa_verdict(p, len);
    for (size_t ki = 0; ki <= nkernels; ki++) {
        const struct zws__utf8_kernel *k = ki < nkernels ? kernels[ki] : NULL;
        expect_same(feed_cuts(k, p, len, NULL, 0), want, what, kname(k));
        size_t nc = random_cuts(cuts, sizeof cuts / sizeof cuts[0], len);
        expect_same(feed_cuts(k, p, len, cuts, nc), want, what, kname(k));
    }
}

static void t_random_small(void **st)
{
    (void)st;
    uint8_t buf[1024];
    for (size_t len = 0; len <= 600; len++)
        for (unsigned kind = 0; kind < 5; kind++)
            for (int rep = 0; rep < 4; rep++)
                check_random(buf, len, gen_input(buf, len, kind));
}

static void t_random_large(void **st)
{
    (void)st;
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (int iter = 0; iter < 60; iter++) {
        size_t len = iter % 4 == 0 ? cap : 1000 + rnd_below(cap - 1000);
        const char *what = gen_input(buf, len, (unsigned)iter);
        check_random(buf, len, what);
        /* Move the error (if any) into the second half too. */
        if (iter % 5 == 1) {
            gen_valid(buf, len);
            buf[len / 2 + rnd_below(len / 2)] = 0xC0;
            check_random(buf, len, "late error");
        }
    }
    free(buf);
}

/* ---- the vector kernels' lookup tables, exhaustively ----------------------
 */

/* Runs k's raw vector validator on buf[0..len), where seq (n bytes) sits at
 * pos among ASCII. It must accept exactly when seq is complete, valid
 * UTF-8, and otherwise return a point from which the DFA reaches the same
 * verdict. `thorough` also re-runs the DFA from that point. */
static void vec_case(const struct zws__utf8_kernel *k, uint8_t *buf, size_t len,
                     size_t pos, const uint8_t *seq, size_t n, int thorough)
{
    memcpy(buf + pos, seq, n);
    int valid =
        zws__utf8_dfa(ZWS__UTF8_ACCEPT, seq, n, NULL) == ZWS__UTF8_ACCEPT;
    size_t q = k->vec(buf, len);
    if ((q == len) != valid || (!valid && q > pos + n))
        goto fail;
    if (thorough && !valid) {
        size_t b1 = 0, b2 = 0;
        uint32_t s1 = zws__utf8_dfa(ZWS__UTF8_ACCEPT, buf, len, &b1);
        uint32_t s2 = zws__utf8_dfa(ZWS__UTF8_ACCEPT, buf + q, len - q, &b2);
        if (s1 != s2 || (s1 == ZWS__UTF8_REJECT && b1 != q + b2))
            goto fail;
    }
    memset(buf + pos, 'a', n);
    return;
fail:
    fail_msg("%s vector validator: %02x %02x %02x %02x (n %zu) at %zu of %zu: "
             "returned %zu, DFA says %s",
             k->name, seq[0], n > 1 ? seq[1] : 0, n > 2 ? seq[2] : 0,
             n > 3 ? seq[3] : 0, n, pos, len, q, valid ? "valid" : "invalid");
}

/* (length, position) pairs for a pair of bytes: at the start, straddling
 * 16-byte lanes, the two AVX2 halves and 64-byte blocks, ending at the very
 * end of the input (whole blocks, padded or masked tails), and across the
 * start of the AVX2 kernel's last, overlapping block (100 - 64 = 36). */
static const size_t places2[][2] = {
    {128, 0},  {128, 14}, {128, 15}, {128, 30},  {128, 31}, {128, 47},
    {128, 62}, {128, 63}, {128, 94}, {128, 126}, {64, 62},  {100, 98},
    {70, 60},  {20, 18},  {3, 1},    {100, 35},  {100, 34},
};
/* Four bytes straddling a lane, the 32-byte halves, a block; at the end. */
static const size_t places4[][2] = {{128, 13}, {128, 29}, {128, 62},
                                    {67, 63},  {100, 96}, {100, 34}};

static void t_vec_tables(void **st)
{
    (void)st;
    uint8_t buf[128], s[4];
    memset(buf, 'a', sizeof buf);
    for (size_t ki = 0; ki < nkernels; ki++) {
        const struct zws__utf8_kernel *k = kernels[ki];
        if (!k->vec)
            continue;
        /* Every pair of bytes: each entry of the three nibble tables meets
         * every entry of the others. */
        for (size_t pl = 0; pl < sizeof places2 / sizeof places2[0]; pl++)
            for (unsigned x = 0; x < 65536; x++) {
                s[0] = (uint8_t)(x >> 8);
                s[1] = (uint8_t)x;
                vec_case(k, buf, places2[pl][0], places2[pl][1], s, 2, 1);
            }
        /* Every triple, across the lane and half boundaries at 32. */
        for (unsigned x = 0; x < (1u << 24); x++) {
            s[0] = (uint8_t)(x >> 16);
            s[1] = (uint8_t)(x >> 8);
            s[2] = (uint8_t)x;
            vec_case(k, buf, 40, 30, s, 3, 0);
        }
        /* Four bytes: any lead, then the class edges. */
        for (size_t pl = 0; pl < sizeof places4 / sizeof places4[0]; pl++)
            for (unsigned x = 0; x < 256; x++)
                for (size_t i = 0; i < NEDGES * NEDGES * NEDGES; i++) {
                    s[0] = (uint8_t)x;
                    s[1] = edges[i / (NEDGES * NEDGES)];
                    s[2] = edges[i / NEDGES % NEDGES];
                    s[3] = edges[i % NEDGES];
                    vec_case(k, buf, places4[pl][0], places4[pl][1], s, 4, 0);
                }
    }
}

/* ---- no reads outside the input ------------------------------------------ */

/* Inputs that end right before an inaccessible page: an over-read faults. */
static void t_guard_page(void **st)
{
    (void)st;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + pg, pg, PROT_NONE), 0);
    uint8_t *end = map + pg;
    for (size_t len = 0; len <= 520; len++)
        for (unsigned kind = 0; kind < 5; kind++) {
            uint8_t *p = end - len;
            const char *what = gen_input(p, len, kind);
            check_random(p, len, what);
            for (size_t ki = 0; ki < nkernels; ki++)
                if (kernels[ki]->vec)
                    kernels[ki]->vec(p, len);
        }
    munmap(map, 2 * pg);
}

/* The public entry answers short plain ASCII without a kernel: one byte
 * that is not ASCII anywhere in it, at every length around that path's
 * limit, still gets the DFA's verdict (a lone continuation, a lead at the
 * end, a valid pair). */
static void t_short_ascii(void **st)
{
    (void)st;
    static const uint8_t odd[][2] = {{0x80, 'a'}, {0xC3, 'a'}, {0xC3, 0xA9}, {0xFF, 'a'}};
    uint8_t buf[300];
    for (size_t len = 0; len <= 270; len++) {
        memset(buf, 'x', len);
        zws_utf8 v = ZWS_UTF8_INIT;
        assert_int_equal(zws_utf8_feed(&v, buf, len, NULL), 0);
        assert_int_equal(zws_utf8_complete(&v), 1);
        for (size_t at = 0; at < len; at++) {
            for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
                memset(buf, 'x', len);
                buf[at] = odd[k][0];
                if (at + 1 < len)
                    buf[at + 1] = odd[k][1];
                struct verdict want = dfa_verdict(buf, len);
                zws_utf8 w = ZWS_UTF8_INIT;
                size_t bad = 0;
                int r = zws_utf8_feed(&w, buf, len, &bad);
                assert_int_equal(r != 0, want.failed);
                if (want.failed)
                    assert_int_equal(bad, want.bad);
                else
                    assert_int_equal(zws_utf8_complete(&w), want.complete);
            }
        }
    }
}

static int setup(void **st)
{
    (void)st;
    const char *seed = getenv("ZWS_TEST_SEED");
    if (seed)
        rng_state = strtoull(seed, NULL, 0) | 1;
    find_kernels();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_dispatch),
        cmocka_unit_test(t_dfa_vs_decoder),
        cmocka_unit_test(t_vectors_whole),
        cmocka_unit_test(t_vectors_split),
        cmocka_unit_test(t_vectors_bytewise),
        cmocka_unit_test(t_sticky_and_reset),
        cmocka_unit_test(t_vec_tables),
        cmocka_unit_test(t_guard_page),
        cmocka_unit_test(t_random_small),
        cmocka_unit_test(t_random_large),
        cmocka_unit_test(t_short_ascii),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
