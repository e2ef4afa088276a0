/* Streaming UTF-8 validation: the scalar DFA (reference and portable
 * kernel), the streaming wrapper around the vector kernels, and the one-time
 * choice of kernel. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "internal/cpu.h"
#include "internal/simd.h"
#include "internal/utf8.h"
#include "zws/utf8.h"

#define ACC ZWS__UTF8_ACCEPT
#define REJ ZWS__UTF8_REJECT
#define C1 ZWS__UTF8_CONT1
#define C2 ZWS__UTF8_CONT2
#define C3 ZWS__UTF8_CONT3

/* The transition word of one byte: for each state, the state after it. The
 * REJECT slot always holds REJECT so a failure sticks. */
#define ROW(acc, c1, c2, c3, e0, ed, f0, f4)                                   \
    (((uint64_t)(acc) << ACC) | ((uint64_t)REJ << REJ) |                       \
     ((uint64_t)(c1) << C1) | ((uint64_t)(c2) << C2) |                         \
     ((uint64_t)(c3) << C3) | ((uint64_t)(e0) << ZWS__UTF8_E0) |               \
     ((uint64_t)(ed) << ZWS__UTF8_ED) | ((uint64_t)(f0) << ZWS__UTF8_F0) |     \
     ((uint64_t)(f4) << ZWS__UTF8_F4))

/* A byte that may only start a sequence: from ACCEPT it goes to `to`, from
 * inside a sequence it is an error. */
#define LEAD(to) ROW(to, REJ, REJ, REJ, REJ, REJ, REJ, REJ)

/* Unicode Table 3-7, one class of bytes per row. The second bytes of E0, ED,
 * F0 and F4 are the restricted ranges: that is where overlongs, surrogates
 * and code points above U+10FFFF are refused, at the first byte that proves
 * them. */
#define R_ASCII LEAD(ACC)
#define R_80_8F ROW(REJ, ACC, C1, C2, REJ, C1, REJ, C2)
#define R_90_9F ROW(REJ, ACC, C1, C2, REJ, C1, C2, REJ)
#define R_A0_BF ROW(REJ, ACC, C1, C2, C1, REJ, C2, REJ)
#define R_BAD LEAD(REJ) /* C0, C1 (overlong), F5-FF (above U+10FFFF) */
#define R_2 LEAD(C1)    /* C2-DF */
#define R_3 LEAD(C2)    /* E1-EC, EE-EF */
#define R_4 LEAD(C3)    /* F1-F3 */

#define X2(r) r, r
#define X4(r) X2(r), X2(r)
#define X8(r) X4(r), X4(r)
#define X16(r) X8(r), X8(r)
#define X32(r) X16(r), X16(r)
#define X64(r) X32(r), X32(r)

/* clang-format off */
static const uint64_t rows[] = {
    X64(R_ASCII), X64(R_ASCII),             /* 00-7F */
    X16(R_80_8F),                           /* 80-8F */
    X16(R_90_9F),                           /* 90-9F */
    X32(R_A0_BF),                           /* A0-BF */
    X2(R_BAD),                              /* C0-C1 */
    X16(R_2), X8(R_2), X4(R_2), X2(R_2),    /* C2-DF */
    LEAD(ZWS__UTF8_E0),                     /* E0 */
    X8(R_3), X4(R_3),                       /* E1-EC */
    LEAD(ZWS__UTF8_ED),                     /* ED */
    X2(R_3),                                /* EE-EF */
    LEAD(ZWS__UTF8_F0),                     /* F0 */
    X2(R_4), R_4,                           /* F1-F3 */
    LEAD(ZWS__UTF8_F4),                     /* F4 */
    X8(R_BAD), X2(R_BAD), R_BAD,            /* F5-FF */
};
/* clang-format on */
_Static_assert(sizeof rows / sizeof rows[0] == 256, "one row per byte");

/* The shift keeps the state's upper bits as garbage; only the low 6 bits
 * mean anything, and masking the count keeps the shift defined. */
static inline uint64_t step(uint64_t s, uint8_t b)
{
    return rows[b] >> (s & 63);
}

uint32_t zws__utf8_dfa(uint32_t state, const uint8_t *p, size_t len,
                       size_t *bad)
{
    uint32_t s = state & 63;
    if (s == REJ) {
        if (bad)
            *bad = 0;
        return REJ;
    }
    for (size_t i = 0; i < len; i++) {
        s = (uint32_t)step(s, p[i]) & 63;
        if (s == REJ) {
            if (bad)
                *bad = i;
            return REJ;
        }
    }
    return s;
}

/* Length of the all-ASCII prefix, in whole 8-byte words. */
static inline size_t ascii_prefix(const uint8_t *p, size_t len)
{
    const uint64_t high = 0x8080808080808080u;
    uint64_t a, b;
    size_t i = 0;
    for (; len - i >= 16; i += 16) {
        memcpy(&a, p + i, 8);
        memcpy(&b, p + i + 8, 8);
        if ((a | b) & high)
            break;
    }
    if (len - i >= 8) {
        memcpy(&a, p + i, 8);
        if (!(a & high))
            i += 8;
    }
    return i;
}

/* The portable kernel: skips ASCII a word pair at a time on a boundary, and
 * otherwise steps the DFA over 16 bytes before looking at the state, since
 * REJECT is absorbing; the exact byte is found again only on failure. */
static uint32_t run_scalar(uint32_t state, const uint8_t *p, size_t len,
                           size_t *bad)
{
    uint64_t s = state & 63;
    size_t i = 0;
    if (s == REJ)
        return zws__utf8_dfa(REJ, p, len, bad);
    while (i < len) {
        if ((s & 63) == ACC) {
            i += ascii_prefix(p + i, len - i);
            if (i == len)
                break;
        }
        size_t n = len - i < 16 ? len - i : 16;
        uint32_t s0 = (uint32_t)(s & 63);
        size_t k = 0;
        for (; k + 4 <= n; k += 4) {
            s = step(s, p[i + k]);
            s = step(s, p[i + k + 1]);
            s = step(s, p[i + k + 2]);
            s = step(s, p[i + k + 3]);
        }
        for (; k < n; k++)
            s = step(s, p[i + k]);
        if ((s & 63) == REJ) {
            size_t off = 0;
            zws__utf8_dfa(s0, p + i, n, &off);
            if (bad)
                *bad = i + off;
            return REJ;
        }
        i += n;
    }
    return (uint32_t)(s & 63);
}

/* Below this, the vector kernels' fixed cost (a padded or masked block) is
 * more than the scalar loop spends. */
#define VEC_MIN 16

/* Length of the longest prefix of p[0..n) that does not end inside a
 * sequence, judging by the lead bytes among the last three. */
static inline size_t cut_at_boundary(const uint8_t *p, size_t n)
{
    if (n >= 1 && p[n - 1] >= 0xC0)
        return n - 1;
    if (n >= 2 && p[n - 2] >= 0xE0)
        return n - 2;
    if (n >= 3 && p[n - 3] >= 0xF0)
        return n - 3;
    return n;
}

/* Streaming around a vector validator: the DFA finishes a code point carried
 * from the previous chunk, the vector kernel takes everything up to the last
 * boundary, and the DFA takes the tail and leaves the state for the next
 * chunk. When the vector kernel fails, the DFA resumes where it says the
 * input was still good and finds the exact byte. */
static inline uint32_t stream(uint32_t state, const uint8_t *p, size_t len,
                              size_t *bad, zws__utf8_vec_fn vec)
{
    uint64_t s = state & 63;
    size_t i = 0, off = 0;
    if (s == REJ)
        return zws__utf8_dfa(REJ, p, len, bad);
    while (s != ACC) {
        if (i == len)
            return (uint32_t)s;
        s = step(s, p[i++]) & 63;
        if (s == REJ) {
            if (bad)
                *bad = i - 1;
            return REJ;
        }
    }
    if (i == len)
        return ACC; /* also keeps NULL + 0 out of the arithmetic below */
    size_t region = cut_at_boundary(p + i, len - i);
    if (region >= VEC_MIN)
        i += vec(p + i, region);
    if (i == len)
        return ACC;
    uint32_t t = run_scalar(ACC, p + i, len - i, &off);
    if (t == REJ && bad)
        *bad = i + off;
    return t;
}

#if defined(__x86_64__)
static uint32_t run_avx2(uint32_t state, const uint8_t *p, size_t len,
                         size_t *bad)
{
    return stream(state, p, len, bad, zws__utf8_vec_avx2);
}

static uint32_t run_avx512(uint32_t state, const uint8_t *p, size_t len,
                           size_t *bad)
{
    return stream(state, p, len, bad, zws__utf8_vec_avx512);
}
#endif

const struct zws__utf8_kernel zws__utf8_kernels[] = {
    {"scalar", ZWS__SIMD_WORD, run_scalar, NULL},
#if defined(__x86_64__)
    {"avx2", ZWS__SIMD_AVX2, run_avx2, zws__utf8_vec_avx2},
    {"avx512", ZWS__SIMD_AVX512, run_avx512, zws__utf8_vec_avx512},
#endif
};
const size_t zws__utf8_nkernels =
    sizeof zws__utf8_kernels / sizeof zws__utf8_kernels[0];

#define SHORT ZWS__UTF8_ERR_SHORT
#define LONG ZWS__UTF8_ERR_LONG
#define OVL2 ZWS__UTF8_ERR_OVL2
#define OVL3 ZWS__UTF8_ERR_OVL3
#define SURR ZWS__UTF8_ERR_SURR
#define OVL4 ZWS__UTF8_ERR_OVL4
#define BIG ZWS__UTF8_ERR_BIG
#define CONT2 ZWS__UTF8_ERR_2CONT
/* Classes that do not depend on the previous byte's low nibble. */
#define ANYLO (SHORT | LONG | CONT2)
/* Classes whose second byte is a continuation, by its high nibble. */
#define CONT (LONG | CONT2)

/* Each class is a product of three sets (previous high nibble, previous low
 * nibble, current high nibble). OVL4 and BIG each cover two rules whose
 * products only meet on pairs that are invalid anyway: F0 8x with F5-FF 8x,
 * and F4 9x-Bx with F5-FF 9x-Bx. */
/* clang-format off */
const uint8_t zws__utf8_nibbles[3][16] = {
    {
        /* previous byte, high nibble: 0-7 ASCII, 8-B continuation, C-F lead */
        LONG, LONG, LONG, LONG, LONG, LONG, LONG, LONG,
        CONT2, CONT2, CONT2, CONT2,
        SHORT | OVL2, SHORT, SHORT | OVL3 | SURR, SHORT | OVL4 | BIG,
    },
    {
        /* previous byte, low nibble */
        ANYLO | OVL2 | OVL3 | OVL4,   /* C0, E0, F0 */
        ANYLO | OVL2,                 /* C1 */
        ANYLO, ANYLO,
        ANYLO | BIG,                  /* F4 */
        ANYLO | OVL4 | BIG, ANYLO | OVL4 | BIG, ANYLO | OVL4 | BIG, /* F5-F7 */
        ANYLO | OVL4 | BIG, ANYLO | OVL4 | BIG, ANYLO | OVL4 | BIG, /* F8-FA */
        ANYLO | OVL4 | BIG, ANYLO | OVL4 | BIG,                     /* FB-FC */
        ANYLO | SURR | OVL4 | BIG,    /* ED, FD */
        ANYLO | OVL4 | BIG, ANYLO | OVL4 | BIG,                     /* FE-FF */
    },
    {
        /* current byte, high nibble */
        SHORT, SHORT, SHORT, SHORT, SHORT, SHORT, SHORT, SHORT,
        CONT | OVL2 | OVL3 | OVL4,    /* 80-8F */
        CONT | OVL2 | OVL3 | BIG,     /* 90-9F */
        CONT | OVL2 | SURR | BIG,     /* A0-AF */
        CONT | OVL2 | SURR | BIG,     /* B0-BF */
        SHORT, SHORT, SHORT, SHORT,
    },
};
/* clang-format on */

static _Atomic(const struct zws__utf8_kernel *) active;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    int level = zws__simd_level(NULL);
    const struct zws__utf8_kernel *k = &zws__utf8_kernels[0];
    for (size_t i = 1; i < zws__utf8_nkernels; i++)
        if (zws__utf8_kernels[i].level <= level)
            k = &zws__utf8_kernels[i];
    atomic_store_explicit(&active, k, memory_order_release);
}

void zws__utf8_select(void) { pthread_once(&once, choose); }

static const struct zws__utf8_kernel *kernel(void)
{
    const struct zws__utf8_kernel *k =
        atomic_load_explicit(&active, memory_order_acquire);
    if (!k) {
        zws__utf8_select();
        k = atomic_load_explicit(&active, memory_order_acquire);
    }
    return k;
}

int zws__utf8_feed_with(const struct zws__utf8_kernel *k, zws_utf8 *v,
                        const uint8_t *p, size_t len, size_t *bad)
{
    size_t off = 0;
    v->state = k->run(v->state, p, len, &off);
    if (v->state != REJ)
        return 0;
    if (bad)
        *bad = off;
    return ZWS_EUTF8;
}

/* Up to this many bytes, plain ASCII is told by OR-ing the input a word at
 * a time: the vector kernels' set-up costs more than that on short text
 * (the AVX2 kernel takes about 17 ns for 64 ASCII bytes on the development
 * machine, a market feed's messages are 100-200 bytes). */
#define ASCII_SHORT 256

/* 1 when p[0..len), len < 8, is all ASCII. */
static inline int few_ascii(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] & 0x80)
            return 0;
    return 1;
}

/* 1 when p[0..len), 8 <= len, is all ASCII: the words ORed together and
 * looked at once, the last one overlapping the one before. For short
 * messages, which are nearly always ASCII: no branch per word. Words, not
 * sixteen-byte loads: a payload the parser has just unmasked was stored a
 * word at a time, and a wider load of it waits for those stores to finish
 * (20 B masked messages: 36 M/s with SSE2 loads, 54-92 M/s with words). */
static inline int all_ascii(const uint8_t *p, size_t len)
{
    uint64_t a = 0, b = 0, c = 0, d = 0, w;
    size_t i = 0;
    for (; len - i >= 32; i += 32) {
        memcpy(&w, p + i, 8), a |= w;
        memcpy(&w, p + i + 8, 8), b |= w;
        memcpy(&w, p + i + 16, 8), c |= w;
        memcpy(&w, p + i + 24, 8), d |= w;
    }
    for (; len - i >= 8; i += 8)
        memcpy(&w, p + i, 8), a |= w;
    memcpy(&w, p + len - 8, 8);
    return !((a | b | c | d | w) & 0x8080808080808080u);
}

int zws_utf8_feed(zws_utf8 *v, const uint8_t *p, size_t len, size_t *bad)
{
    size_t i = 0;
    if (v->state == ACC && len && len <= ASCII_SHORT) {
        if (len >= 8 ? all_ascii(p, len) : few_ascii(p, len))
            return 0;
        i = ascii_prefix(p, len); /* the kernel goes on from the first non-ASCII word */
    }
    /* the kernel starts where the ASCII ends: those bytes are read once */
    int r = zws__utf8_feed_with(kernel(), v, i ? p + i : p, len - i, bad);
    if (r && bad)
        *bad += i;
    return r;
}

int zws_utf8_complete(const zws_utf8 *v) { return v->state == ACC; }

void zws_utf8_reset(zws_utf8 *v) { v->state = ACC; }

int zws_utf8_valid(const uint8_t *p, size_t len)
{
    return kernel()->run(ACC, p, len, NULL) == ACC;
}

const char *zws_utf8_kernel(void) { return kernel()->name; }
