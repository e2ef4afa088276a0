/* NEON masking kernel (aarch64 baseline, so no target attribute): 16-byte
 * vectors, four per iteration; frames under 16 bytes stay scalar. */
#if defined(__aarch64__)
#include <arm_neon.h>

#include "internal/mask.h"

ZWS__MASK_ALIGN unsigned zws__mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase)
{
    unsigned next = (unsigned)((phase + len) & 3);
    uint32_t k32 = zws__mask_key32(key, phase);
    if (len >= 16) {
        /* Built through memory so lane order is byte order on either
         * endianness (vreinterpret of a u32 splat is not, on big-endian). */
        uint8_t kb[16];
        for (int i = 0; i < 16; i += 4)
            memcpy(kb + i, &k32, 4);
        uint8x16_t k = vld1q_u8(kb);
        for (; len >= 64; len -= 64, src += 64, dst += 64) {
            /* All loads before any store keeps dst == src correct. */
            uint8x16_t a = vld1q_u8(src);
            uint8x16_t b = vld1q_u8(src + 16);
            uint8x16_t c = vld1q_u8(src + 32);
            uint8x16_t d = vld1q_u8(src + 48);
            vst1q_u8(dst, veorq_u8(a, k));
            vst1q_u8(dst + 16, veorq_u8(b, k));
            vst1q_u8(dst + 32, veorq_u8(c, k));
            vst1q_u8(dst + 48, veorq_u8(d, k));
        }
        for (; len >= 16; len -= 16, src += 16, dst += 16)
            vst1q_u8(dst, veorq_u8(vld1q_u8(src), k));
    }
    zws__mask_small(dst, src, len, k32);
    return next;
}
#else
/* ISO C wants at least one declaration per translation unit. */
typedef int zws__mask_neon_unused;
#endif
