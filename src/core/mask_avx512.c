/* AVX-512BW masking kernel: 64-byte vectors, four per iteration, and masked
 * loads/stores (no scalar code at all) for the tail, for the alignment head
 * and for whole frames under 64 bytes.
 *
 * Where a masked access sits matters more than its width. A masked store
 * still occupies its whole vector span as far as store-to-load forwarding
 * is concerned: a later load that overlaps the span, even only its masked-off
 * lanes, waits until the store reaches the cache (~20 cycles on Zen 4). A
 * start-anchored tail spills past the buffer into the next frame's header,
 * which the parser reads next, and that stall tripled the cost of a 10-byte
 * frame in a back-to-back stream. So every masked access here is anchored
 * to END where the buffer ends: its span then covers only bytes of this
 * buffer, already loaded, or, for frames under 16 bytes, the frame header
 * before them (masked frames carry at least 6 header bytes). Masked-off
 * lanes neither fault nor write, so spans crossing into unmapped pages or
 * other objects are harmless; addresses outside the buffer are formed
 * through uintptr_t, never by pointer arithmetic. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "internal/mask.h"

/* From this length on, dst is brought to a 64-byte boundary first: every
 * unaligned 64-byte store straddles two cache lines (measured: 1.3x at
 * 1 KiB, 1.6x at 64 KiB when dst is off by a 6-byte header). At 256 B the
 * extra masked op cost 20% instead. */
#define ALIGN_FROM 512

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))

/* 1 <= len <= 16: one masked 16-byte access ending at the buffer's end. */
TARGET static inline void mask_le16(uint8_t *dst, const uint8_t *src,
                                    size_t len, uint32_t k32)
{
    __mmask16 m = (__mmask16)(0xffffu << (16 - len));
    __m128i k = _mm_set1_epi32((int)zws__mask_key_skip(k32, len));
    const void *s = (const void *)((uintptr_t)src + len - 16);
    void *d = (void *)((uintptr_t)dst + len - 16);
    _mm_mask_storeu_epi8(d, m, _mm_xor_si128(_mm_maskz_loadu_epi8(m, s), k));
}

/* 16 < len < 64: a plain vector at the start and a masked one of the same
 * width ending at the end, which overlaps it; both loaded before either is
 * stored, so in place works and nothing waits on a store. */
TARGET static inline void mask_lt64(uint8_t *dst, const uint8_t *src,
                                    size_t len, uint32_t k32)
{
    uint32_t kt32 = zws__mask_key_skip(k32, len);
    if (len <= 32) {
        __mmask16 m = (__mmask16)(0xffffu << (32 - len));
        __m128i t = _mm_maskz_loadu_epi8(m, src + len - 16);
        __m128i a = _mm_loadu_si128((const __m128i *)src);
        _mm_storeu_si128((__m128i *)dst,
                         _mm_xor_si128(a, _mm_set1_epi32((int)k32)));
        _mm_mask_storeu_epi8(dst + len - 16, m,
                             _mm_xor_si128(t, _mm_set1_epi32((int)kt32)));
    } else {
        __mmask32 m = (__mmask32)(0xffffffffu << (64 - len));
        __m256i t = _mm256_maskz_loadu_epi8(m, src + len - 32);
        __m256i a = _mm256_loadu_si256((const __m256i *)src);
        _mm256_storeu_si256((__m256i *)dst,
                            _mm256_xor_si256(a, _mm256_set1_epi32((int)k32)));
        _mm256_mask_storeu_epi8(
            dst + len - 32, m,
            _mm256_xor_si256(t, _mm256_set1_epi32((int)kt32)));
    }
}

ZWS__MASK_ALIGN TARGET unsigned
zws__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                 const uint8_t key[4], unsigned phase)
{
    unsigned next = (unsigned)((phase + len) & 3);
    uint32_t k32 = zws__mask_key32(key, phase);
    if (len <= 16) {
        if (len)
            mask_le16(dst, src, len, k32);
        return next;
    }
    if (len < 64) {
        mask_lt64(dst, src, len, k32);
        return next;
    }
    /* The tail: the last r bytes, as the top lanes of the 64 bytes ending
     * at the end, loaded now, before any store that overlaps them. */
    size_t head = len >= ALIGN_FROM ? (size_t)(-(uintptr_t)dst & 63) : 0;
    size_t r = (len - head) & 63;
    __mmask64 tm = (__mmask64)(r ? ~0ull << (64 - r) : 0);
    uint8_t *tdst = dst + len - 64;
    __m512i t = _mm512_maskz_loadu_epi8(tm, src + len - 64);
    __m512i kt = _mm512_set1_epi32((int)zws__mask_key_skip(k32, len));
    __m512i k = _mm512_set1_epi32((int)k32);
    if (head) {
        /* The head's store spans the first aligned block: load that first. */
        __mmask64 m = (__mmask64)((1ull << head) - 1);
        __m512i h = _mm512_maskz_loadu_epi8(m, src);
        __m512i a = _mm512_loadu_si512((const void *)(src + head));
        _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(h, k));
        k = _mm512_set1_epi32((int)zws__mask_key_skip(k32, head));
        _mm512_storeu_si512((void *)(dst + head), _mm512_xor_si512(a, k));
        src += head + 64;
        dst += head + 64;
        len -= head + 64;
    }
    /* Every block from here is a multiple of 4 bytes on: same key. */
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
    /* Skipped when empty: even an all-off masked store would block loads of
     * its span (here, this buffer's last bytes) from forwarding. */
    if (r)
        _mm512_mask_storeu_epi8(tdst, tm, _mm512_xor_si512(t, kt));
    return next;
}
#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__mask_avx512_unused;
#endif
