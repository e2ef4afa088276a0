/* Dispatch of the SIMD kernel families, each resolved once at first use or
 * all at once by zws_simd_init() (core/simd.c, above mask and utf8). */
#ifndef ZWS_INTERNAL_SIMD_H
#define ZWS_INTERNAL_SIMD_H

/* Idempotent and thread-safe. */
void zws__mask_select(void);
void zws__utf8_select(void);

#endif
