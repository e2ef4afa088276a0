/* AVX2 masking kernel: 32-byte vectors, four per iteration, then one 16-byte
 * step and the shared scalar tail, whose exact-size stores never cover bytes
 * past the buffer; frames under 16 bytes stay scalar. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "internal/mask.h"

/* From this length on, dst is aligned first (measured: 1.4x at 64 KiB when
 * dst is off by a typical 6- or 14-byte header; no gain below ~512 B). */
#define ALIGN_FROM 512

ZWS__MASK_ALIGN __attribute__((target("avx2")))
unsigned zws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase)
{
    unsigned next = (unsigned)((phase + len) & 3);
    uint32_t k32 = zws__mask_key32(key, phase);
    if (len < 16) {
        /* First and on its own, so the compiler keeps tiny frames free of
         * the register saves the long path needs. */
        zws__mask_small(dst, src, len, k32);
        return next;
    }
    if (len >= ALIGN_FROM) {
        /* Unaligned 32-byte stores split a cache line every other time;
         * bring dst to a 32-byte boundary with exact-size stores, which
         * leave nothing pending that the aligned loads below overlap. */
        size_t head = (size_t)(-(uintptr_t)dst & 31);
        if (head & 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)src);
            _mm_storeu_si128((__m128i *)dst,
                             _mm_xor_si128(a, _mm_set1_epi32((int)k32)));
        }
        zws__mask_small(dst + (head & 16), src + (head & 16), head & 15, k32);
        src += head;
        dst += head;
        len -= head;
        k32 = zws__mask_key_skip(k32, head);
    }
    /* 4-periodic key: every block a multiple of 4 bytes in uses it. */
    __m256i k = _mm256_set1_epi32((int)k32);
    for (; len >= 128; len -= 128, src += 128, dst += 128) {
        /* All loads before any store keeps dst == src correct. */
        __m256i a = _mm256_loadu_si256((const __m256i *)src);
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + 96));
        _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + 96), _mm256_xor_si256(d, k));
    }
    for (; len >= 32; len -= 32, src += 32, dst += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)src);
        _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(a, k));
    }
    if (len >= 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)src);
        _mm_storeu_si128((__m128i *)dst,
                         _mm_xor_si128(a, _mm256_castsi256_si128(k)));
        len -= 16;
        src += 16;
        dst += 16;
    }
    zws__mask_small(dst, src, len, k32);
    return next;
}
#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__mask_avx2_unused;
#endif
