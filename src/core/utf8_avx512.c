/* UTF-8 validation, AVX-512 (F + BW + VL): the AVX2 method on 64-byte
 * vectors, with a masked load for the tail so nothing past the end is read. */
#if defined(__x86_64__)

#include <immintrin.h>

#include "internal/utf8.h"

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

struct tables {
    __m512i prev_hi, prev_lo, cur_hi, low4, incomplete;
};

AVX512 static void load_tables(struct tables *t)
{
    t->prev_hi = _mm512_broadcast_i32x4(
        _mm_loadu_si128((const __m128i *)zws__utf8_nibbles[0]));
    t->prev_lo = _mm512_broadcast_i32x4(
        _mm_loadu_si128((const __m128i *)zws__utf8_nibbles[1]));
    t->cur_hi = _mm512_broadcast_i32x4(
        _mm_loadu_si128((const __m128i *)zws__utf8_nibbles[2]));
    t->low4 = _mm512_set1_epi8(0x0F);
    /* Nonzero after a saturating subtract where a lead byte in the last
     * three positions still needs bytes from the next block. */
    t->incomplete = _mm512_set_epi32((int)0xBFDFEFFFu, -1, -1, -1, -1, -1, -1,
                                     -1, -1, -1, -1, -1, -1, -1, -1, -1);
}

/* Nonzero bytes where cur, with prev the 64 bytes before it, breaks a rule. */
AVX512 static __m512i check(const struct tables *t, __m512i cur, __m512i prev)
{
    /* The bytes 1, 2 and 3 positions back: alignr works within 128-bit
     * lanes, so it is fed each lane's predecessor, shifted in by one lane. */
    __m512i lanes = _mm512_alignr_epi32(cur, prev, 12);
    __m512i prev1 = _mm512_alignr_epi8(cur, lanes, 15);
    __m512i prev2 = _mm512_alignr_epi8(cur, lanes, 14);
    __m512i prev3 = _mm512_alignr_epi8(cur, lanes, 13);

    __m512i p_hi = _mm512_and_si512(_mm512_srli_epi16(prev1, 4), t->low4);
    __m512i p_lo = _mm512_and_si512(prev1, t->low4);
    __m512i c_hi = _mm512_and_si512(_mm512_srli_epi16(cur, 4), t->low4);
    /* 0x80: a & b & c in one instruction. */
    __m512i bad =
        _mm512_ternarylogic_epi32(_mm512_shuffle_epi8(t->prev_hi, p_hi),
                                  _mm512_shuffle_epi8(t->prev_lo, p_lo),
                                  _mm512_shuffle_epi8(t->cur_hi, c_hi), 0x80);

    /* High bit set where prev2 >= E0 or prev3 >= F0: this byte must be a
     * continuation, which cancels the 2CONT bit of a legitimate pair. */
    __m512i must =
        _mm512_or_si512(_mm512_subs_epu8(prev2, _mm512_set1_epi8(0xE0 - 0x80)),
                        _mm512_subs_epu8(prev3, _mm512_set1_epi8(0xF0 - 0x80)));
    must = _mm512_and_si512(must, _mm512_set1_epi8((char)0x80));
    return _mm512_xor_si512(bad, must);
}

/* Checks one 64-byte block in full. *prev and *pending carry what the next
 * block needs: its bytes, and which of them start a sequence that is not
 * finished yet. Returns nonzero on error. */
AVX512 static int block(const struct tables *t, __m512i cur, __m512i *prev,
                        __m512i *pending)
{
    __m512i err = check(t, cur, *prev);
    *pending = _mm512_subs_epu8(cur, t->incomplete);
    *prev = cur;
    return _mm512_test_epi8_mask(err, err) != 0;
}

AVX512 static int nonzero(__m512i x)
{
    return _mm512_test_epi8_mask(x, x) != 0;
}

AVX512 size_t zws__utf8_vec_avx512(const uint8_t *p, size_t len)
{
    struct tables t;
    load_tables(&t);
    __m512i prev = _mm512_setzero_si512();
    __m512i pending = _mm512_setzero_si512();
    size_t i = 0;
    while (len - i >= 64) {
        __m512i cur = _mm512_loadu_si512(p + i);
        if (_mm512_movepi8_mask(cur)) {
            if (block(&t, cur, &prev, &pending))
                return zws__utf8_resume(p, i);
            i += 64;
            continue;
        }
        /* ASCII cannot finish a sequence left open; once that is checked,
         * ASCII behind ASCII needs no check at all, and zeros stand in for
         * the ASCII bytes as the previous block of the next check. */
        if (nonzero(pending))
            return zws__utf8_resume(p, i);
        pending = prev = _mm512_setzero_si512();
        for (i += 64; len - i >= 128; i += 128)
            if (_mm512_movepi8_mask(_mm512_or_si512(
                    _mm512_loadu_si512(p + i), _mm512_loadu_si512(p + i + 64))))
                break;
    }
    if (len == i)
        return nonzero(pending) ? zws__utf8_resume(p, i) : len;
    /* The tail, zero-filled by the masked load: at least one zero follows
     * the data, so a sequence cut short at the end shows as an error. */
    __m512i cur = _mm512_maskz_loadu_epi8(~0ull >> (64 - (len - i)), p + i);
    if (!nonzero(pending) && !_mm512_movepi8_mask(cur))
        return len; /* an ASCII tail after a finished sequence */
    if (block(&t, cur, &prev, &pending))
        return zws__utf8_resume(p, i);
    return len;
}

#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__utf8_avx512_unused;
#endif
