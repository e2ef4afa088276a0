/* AVX-512BW masking kernel: 64-byte vectors, four per iteration, and a
 * masked load/store for the tail and for whole frames up to 64 bytes, so
 * there is no scalar loop and no byte outside the buffer is touched (masked-
 * off lanes neither fault nor write). */
#if defined(__x86_64__)
#include <immintrin.h>

#include "internal/mask.h"

/* Below this, aligning dst costs more than the split stores it saves. */
#define ALIGN_FROM 256

/* Lanes 0..n-1 for n <= 64; written without BMI2's bzhi, which the AVX-512
 * level check does not promise. */
static inline __mmask64 lanes(size_t n)
{
    return (__mmask64)(n >= 64 ? ~0ull : (1ull << n) - 1);
}

__attribute__((target("avx512f,avx512bw")))
static inline void mask_part(uint8_t *dst, const uint8_t *src, size_t n,
                             __m512i k)
{
    __mmask64 m = lanes(n);
    __m512i a = _mm512_maskz_loadu_epi8(m, src);
    _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(a, k));
}

__attribute__((target("avx512f,avx512bw")))
unsigned zws__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], unsigned phase)
{
    unsigned next = (unsigned)((phase + len) & 3);
    uint32_t k32 = zws__mask_key32(key, phase);
    __m512i k = _mm512_set1_epi32((int)k32);
    if (len <= 64) {
        mask_part(dst, src, len, k);
        return next;
    }
    if (len >= ALIGN_FROM) {
        /* A 64-byte store that is not aligned straddles two cache lines. */
        size_t head = (size_t)(-(uintptr_t)dst & 63);
        if (head) {
            mask_part(dst, src, head, k);
            src += head;
            dst += head;
            len -= head;
            k = _mm512_set1_epi32((int)zws__mask_key_skip(k32, head));
        }
    }
    for (; len >= 256; len -= 256, src += 256, dst += 256) {
        /* All loads before any store keeps dst == src correct. */
        __m512i a = _mm512_loadu_si512((const void *)src);
        __m512i b = _mm512_loadu_si512((const void *)(src + 64));
        __m512i c = _mm512_loadu_si512((const void *)(src + 128));
        __m512i d = _mm512_loadu_si512((const void *)(src + 192));
        _mm512_storeu_si512((void *)dst, _mm512_xor_si512(a, k));
        _mm512_storeu_si512((void *)(dst + 64), _mm512_xor_si512(b, k));
        _mm512_storeu_si512((void *)(dst + 128), _mm512_xor_si512(c, k));
        _mm512_storeu_si512((void *)(dst + 192), _mm512_xor_si512(d, k));
    }
    for (; len >= 64; len -= 64, src += 64, dst += 64) {
        __m512i a = _mm512_loadu_si512((const void *)src);
        _mm512_storeu_si512((void *)dst, _mm512_xor_si512(a, k));
    }
    if (len)
        mask_part(dst, src, len, k);
    return next;
}
#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__mask_avx512_unused;
#endif
