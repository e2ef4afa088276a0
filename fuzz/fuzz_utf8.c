/* libFuzzer target: every UTF-8 kernel this CPU runs, fed in chunks, must
 * agree with the byte-at-a-time DFA on the verdict, the absolute offset of
 * the offending byte and whether the input ends on a boundary.
 *
 * Input: two header bytes choose the chunking (byte 0, low 2 bits: one
 * piece, pieces of 1-4, 1-64 or 1-1024 bytes; the rest seed the sizes) and
 * the form of the rest (byte 0, bit 2 clear: the bytes to validate; set: a
 * description of them that expand() turns into mostly valid text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal/cpu.h"
#include "internal/utf8.h"
#include "zws/utf8.h"
#include "utf8_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct verdict {
    int failed;
    size_t bad;
    int complete;
};

static int differ(struct verdict a, struct verdict b)
{
    return a.failed != b.failed || a.bad != b.bad || a.complete != b.complete;
}

static size_t next_chunk(uint64_t *x, unsigned scale)
{
    static const size_t limits[4] = {SIZE_MAX, 4, 64, 1024};
    if (scale == 0)
        return limits[0];
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    /* Empty pieces too: a parser may feed a zero-length frame. */
    return (size_t)(*x % (limits[scale] + 1));
}

/* k == NULL: the public entry point with the selected kernel. */
static struct verdict feed(const struct zws__utf8_kernel *k, const uint8_t *p,
                           size_t len, unsigned scale, uint64_t seed)
{
    struct verdict r = {0, 0, 0};
    zws_utf8 v = ZWS_UTF8_INIT;
    uint64_t x = seed | 1;
    size_t pos = 0, bad = 0;
    for (;;) {
        size_t n = next_chunk(&x, scale);
        if (n > len - pos)
            n = len - pos;
        int rc = k ? zws__utf8_feed_with(k, &v, p + pos, n, &bad)
                   : zws_utf8_feed(&v, p + pos, n, &bad);
        if (rc) {
            if (rc != ZWS_EUTF8 || bad >= n || zws_utf8_complete(&v))
                abort();
            r.failed = 1;
            r.bad = pos + bad;
            /* Failure sticks, and blames the first byte of what follows. */
            bad = 1;
            if (zws_utf8_feed(&v, p, len, &bad) != ZWS_EUTF8 || bad != 0)
                abort();
            return r;
        }
        pos += n;
        if (pos == len)
            break;
    }
    r.complete = zws_utf8_complete(&v);
    return r;
}

/* The raw vector validator: accepts exactly the complete, valid inputs, and
 * otherwise names a point from which the DFA reaches the same verdict. */
static void check_vec(const struct zws__utf8_kernel *k, const uint8_t *p,
                      size_t len, uint32_t state, size_t bad)
{
    size_t q = k->vec(p, len);
    if ((q == len) != (state == ZWS__UTF8_ACCEPT) || q > len)
        abort();
    if (q == len)
        return;
    size_t b2 = 0;
    uint32_t s2 = zws__utf8_dfa(ZWS__UTF8_ACCEPT, p + q, len - q, &b2);
    if (s2 != state || (state == ZWS__UTF8_REJECT && q + b2 != bad))
        abort();
}

static void run(const uint8_t *p, size_t len, unsigned scale, uint64_t seed)
{
    struct verdict want = {0, 0, 0};
    uint32_t s = zws__utf8_dfa(ZWS__UTF8_ACCEPT, p, len, &want.bad);
    want.failed = s == ZWS__UTF8_REJECT;
    want.complete = s == ZWS__UTF8_ACCEPT;
    if (!want.failed)
        want.bad = 0;

    for (size_t i = 0; i < zws__utf8_nkernels; i++) {
        const struct zws__utf8_kernel *k = &zws__utf8_kernels[i];
        if (!zws__cpu_supports(k->level))
            continue;
        if (differ(feed(k, p, len, scale, seed), want) ||
            differ(feed(k, p, len, 0, 0), want))
            abort();
        if (k->vec)
            check_vec(k, p, len, s, want.bad);
    }
    if (differ(feed(NULL, p, len, scale, seed), want) ||
        zws_utf8_valid(p, len) != want.complete)
        abort();
}

/* A valid scalar value of 2, 3 or 4 bytes, or one at a range edge. */
static uint32_t make_cp(unsigned kind, uint32_t v)
{
    static const uint32_t edge[8] = {0x7F,   0x80,   0x7FF,   0x800,
                                     0xD7FF, 0xE000, 0x10000, 0x10FFFF};
    uint32_t cp;
    switch (kind) {
    case 0:
        return 0x80 + v % 0x780;
    case 1:
        cp = 0x800 + v * 37 % 0xF000;
        return cp >= 0xD800 ? cp + 0x800 : cp;
    case 2:
        return 0x10000 + v * 263 % 0x100000;
    default:
        return edge[v & 7];
    }
}

/* Structured input: mostly valid UTF-8 of every width, with raw sequences
 * (any lead or edge byte, then up to three bytes from the edges of the
 * continuation range) sprinkled in, so one bad sequence often sits in an
 * otherwise valid input where only the vector check can miss it. Token t:
 * t < 80 is itself; t < C0 is a valid character (width from bits 4-5, value
 * from the low bits and the next byte); t >= C0 is a raw sequence (lead from
 * the low 5 bits, count and continuations from the next byte). Writes at
 * most 4 bytes per input byte. */
static size_t expand(const uint8_t *in, size_t n, uint8_t *out)
{
    static const uint8_t lead[32] = {
        0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
        0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3,
        0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xFB, 0xFC, 0xFE, 0xFF, 0x20,
    };
    static const uint8_t cont[4] = {0x80, 0x9F, 0xA0, 0xBF};
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t t = in[i];
        if (t < 0x80) {
            out[o++] = t;
            continue;
        }
        uint8_t next = i + 1 < n ? in[++i] : 0;
        if (t < 0xC0) {
            o += tu_utf8_encode(out + o, make_cp(t >> 4 & 3, (t & 0xFu) << 8 | next));
            continue;
        }
        out[o++] = lead[t & 31];
        for (unsigned k = 0; k < (unsigned)(next >> 6); k++)
            out[o++] = cont[next >> (2 * k) & 3];
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned scale = data[0] & 3;
    uint64_t seed = (uint64_t)data[0] << 8 | data[1];
    size_t len = size - 2;
    if (!(data[0] & 4)) {
        run(data + 2, len, scale, seed);
        return 0;
    }
    uint8_t *tmp = malloc(4 * len + 1);
    if (!tmp)
        abort();
    size_t n = expand(data + 2, len, tmp);
    /* Exactly n bytes, so the sanitizer sees any read past the end. */
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memcpy(p, tmp, n);
    free(tmp);
    len = n;
    run(p, len, scale, seed);
    free(p);
    return 0;
}
