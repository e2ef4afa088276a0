/* UTF-8 validation, AVX2: 64 bytes per step, all-ASCII steps skipped, others
 * checked by three nibble lookups per byte pair plus the rule that the 3rd
 * and 4th bytes of long sequences are continuations. */
#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#include "internal/utf8.h"

#define AVX2 __attribute__((target("avx2")))

struct tables {
    __m256i prev_hi, prev_lo, cur_hi, low4, incomplete;
};

AVX2 static void load_tables(struct tables *t)
{
    t->prev_hi = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)zws__utf8_nibbles[0]));
    t->prev_lo = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)zws__utf8_nibbles[1]));
    t->cur_hi = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)zws__utf8_nibbles[2]));
    t->low4 = _mm256_set1_epi8(0x0F);
    /* Nonzero after a saturating subtract where a lead byte in the last
     * three positions still needs bytes from the next block. */
    t->incomplete =
        _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                         -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                         -1, (char)0xEF, (char)0xDF, (char)0xBF);
}

/* Nonzero bytes where cur, with prev the 32 bytes before it, breaks a rule. */
AVX2 static __m256i check(const struct tables *t, __m256i cur, __m256i prev)
{
    /* The bytes 1, 2 and 3 positions back: alignr works within 128-bit
     * lanes, so it is fed the previous lane alongside each lane. */
    __m256i lanes = _mm256_permute2x128_si256(prev, cur, 0x21);
    __m256i prev1 = _mm256_alignr_epi8(cur, lanes, 15);
    __m256i prev2 = _mm256_alignr_epi8(cur, lanes, 14);
    __m256i prev3 = _mm256_alignr_epi8(cur, lanes, 13);

    __m256i p_hi = _mm256_and_si256(_mm256_srli_epi16(prev1, 4), t->low4);
    __m256i p_lo = _mm256_and_si256(prev1, t->low4);
    __m256i c_hi = _mm256_and_si256(_mm256_srli_epi16(cur, 4), t->low4);
    __m256i bad = _mm256_and_si256(
        _mm256_and_si256(_mm256_shuffle_epi8(t->prev_hi, p_hi),
                         _mm256_shuffle_epi8(t->prev_lo, p_lo)),
        _mm256_shuffle_epi8(t->cur_hi, c_hi));

    /* High bit set where prev2 >= E0 or prev3 >= F0: this byte must be a
     * continuation, which cancels the 2CONT bit of a legitimate pair. */
    __m256i must =
        _mm256_or_si256(_mm256_subs_epu8(prev2, _mm256_set1_epi8(0xE0 - 0x80)),
                        _mm256_subs_epu8(prev3, _mm256_set1_epi8(0xF0 - 0x80)));
    must = _mm256_and_si256(must, _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(bad, must);
}

AVX2 static int is_ascii(__m256i x) { return !_mm256_movemask_epi8(x); }

/* Checks one 64-byte step in full. *prev and *pending carry what the next
 * step needs: the last 32 bytes, and which of them start a sequence that is
 * not finished yet. Returns nonzero on error. */
AVX2 static int step64(const struct tables *t, __m256i a, __m256i b,
                       __m256i *prev, __m256i *pending)
{
    __m256i err = _mm256_or_si256(check(t, a, *prev), check(t, b, a));
    *pending = _mm256_subs_epu8(b, t->incomplete);
    *prev = b;
    return !_mm256_testz_si256(err, err);
}

/* The last len - i (< 64) bytes, after a main loop that left prev and
 * pending for position i. */
AVX2 static size_t finish(const struct tables *t, const uint8_t *p, size_t len,
                          size_t i, __m256i prev, __m256i pending)
{
    __m256i a, b;
    if (len == i)
        return _mm256_testz_si256(pending, pending) ? len
                                                    : zws__utf8_resume(p, i);
    if (len >= 96) {
        /* The last 64 bytes again, with the 32 before them as context:
         * bytes checked twice are checked the same way. */
        a = _mm256_loadu_si256((const __m256i *)(p + len - 64));
        b = _mm256_loadu_si256((const __m256i *)(p + len - 32));
        /* the common tail of a text message: ASCII after a finished
         * sequence (the 64 bytes cover everything from i on) */
        if (_mm256_testz_si256(pending, pending) && is_ascii(_mm256_or_si256(a, b)))
            return len;
        prev = _mm256_loadu_si256((const __m256i *)(p + len - 96));
        if (step64(t, a, b, &prev, &pending))
            return zws__utf8_resume(p, len - 64);
        /* The last block must not leave a sequence open. */
        return _mm256_testz_si256(pending, pending) ? len
                                                    : zws__utf8_resume(p, len);
    }
    /* Too short to back up: a copy padded with zeros, so that a sequence cut
     * short at the end shows as an error on the padding. */
    uint8_t last[64] = {0};
    memcpy(last, p + i, len - i);
    a = _mm256_loadu_si256((const __m256i *)last);
    b = _mm256_loadu_si256((const __m256i *)(last + 32));
    if (_mm256_testz_si256(pending, pending) && is_ascii(_mm256_or_si256(a, b)))
        return len;
    if (step64(t, a, b, &prev, &pending))
        return zws__utf8_resume(p, i);
    return len;
}

AVX2 size_t zws__utf8_vec_avx2(const uint8_t *p, size_t len)
{
    struct tables t;
    load_tables(&t);
    __m256i prev = _mm256_setzero_si256();
    __m256i pending = _mm256_setzero_si256();
    size_t i = 0;
    while (len - i >= 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        if (!is_ascii(_mm256_or_si256(a, b))) {
            if (step64(&t, a, b, &prev, &pending))
                return zws__utf8_resume(p, i);
            i += 64;
            continue;
        }
        /* ASCII cannot finish a sequence left open; once that is checked,
         * ASCII behind ASCII needs no check at all, and zeros stand in for
         * the ASCII bytes as the previous block of the next check. */
        if (!_mm256_testz_si256(pending, pending))
            return zws__utf8_resume(p, i);
        pending = prev = _mm256_setzero_si256();
        for (i += 64; len - i >= 128; i += 128) {
            a = _mm256_or_si256(
                _mm256_loadu_si256((const __m256i *)(p + i)),
                _mm256_loadu_si256((const __m256i *)(p + i + 32)));
            b = _mm256_or_si256(
                _mm256_loadu_si256((const __m256i *)(p + i + 64)),
                _mm256_loadu_si256((const __m256i *)(p + i + 96)));
            if (!is_ascii(_mm256_or_si256(a, b)))
                break;
        }
    }
    return finish(&t, p, len, i, prev, pending);
}

#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__utf8_avx2_unused;
#endif
