/* SSE2 masking kernel (x86-64 baseline): 16-byte vectors, four per
 * iteration; frames under 16 bytes never touch a vector register. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "internal/mask.h"

ZWS__MASK_ALIGN __attribute__((target("sse2")))
unsigned zws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase)
{
    unsigned next = (unsigned)((phase + len) & 3);
    uint32_t k32 = zws__mask_key32(key, phase);
    if (len >= 16) {
        /* The key is 4-periodic, so every 16-byte block (a multiple of 4
         * bytes from the start) uses the same rotated key. */
        __m128i k = _mm_set1_epi32((int)k32);
        for (; len >= 64; len -= 64, src += 64, dst += 64) {
            /* All loads before any store keeps dst == src correct. */
            __m128i a = _mm_loadu_si128((const __m128i *)src);
            __m128i b = _mm_loadu_si128((const __m128i *)(src + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(src + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(src + 48));
            _mm_storeu_si128((__m128i *)dst, _mm_xor_si128(a, k));
            _mm_storeu_si128((__m128i *)(dst + 16), _mm_xor_si128(b, k));
            _mm_storeu_si128((__m128i *)(dst + 32), _mm_xor_si128(c, k));
            _mm_storeu_si128((__m128i *)(dst + 48), _mm_xor_si128(d, k));
        }
        for (; len >= 16; len -= 16, src += 16, dst += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)src);
            _mm_storeu_si128((__m128i *)dst, _mm_xor_si128(a, k));
        }
    }
    zws__mask_small(dst, src, len, k32);
    return next;
}
#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__mask_sse2_unused;
#endif
