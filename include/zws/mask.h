/* zws — masking (RFC 6455 §5.3) and SIMD kernel selection.
 *
 * A mask key is the 4 bytes as they appear on the wire. `phase` (0..3) is
 * the index into the key of the first byte, so a payload processed in pieces
 * continues where the previous piece stopped: pass the returned phase to the
 * next call. */
#ifndef ZWS_MASK_H
#define ZWS_MASK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* XOR len bytes at buf with the key, in place. Returns the next phase,
 * (phase + len) % 4. */
ZWS_EXTERN unsigned zws_mask(void *buf, size_t len, const uint8_t key[4],
                             unsigned phase);

/* dst[i] = src[i] ^ key[(phase + i) % 4]. dst == src is allowed; any other
 * overlap is not. Returns the next phase. */
ZWS_EXTERN unsigned zws_mask_copy(void *dst, const void *src, size_t len,
                                  const uint8_t key[4], unsigned phase);

/* Selects the SIMD kernels now (masking and UTF-8). Without a call, they are
 * chosen at first use. The environment variable ZWS_SIMD=word|sse2|avx2|avx512
 * forces a level; unset or "auto" picks the best the CPU and OS support.
 * Returns 0, or ZWS_ESIMD when ZWS_SIMD names an unknown level or one this
 * CPU cannot run; the library then falls back to the best supported level, so
 * a program may warn and go on, or stop. */
ZWS_EXTERN int zws_simd_init(void);

/* Name of the active masking kernel: "word", "sse2", "avx2", "avx512" or
 * "neon". Static string. */
ZWS_EXTERN const char *zws_mask_kernel(void);

#ifdef __cplusplus
}
#endif
#endif
