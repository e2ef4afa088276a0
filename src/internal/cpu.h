/* CPU feature detection and SIMD level selection, shared by the masking and
 * UTF-8 kernels. Levels are ordered: a module uses its best kernel whose
 * level is <= the selected one. */
#ifndef ZWS_INTERNAL_CPU_H
#define ZWS_INTERNAL_CPU_H

enum zws__simd_level {
    ZWS__SIMD_WORD = 0,  /* portable C, 64-bit words */
    ZWS__SIMD_SSE2 = 1,  /* x86-64 baseline */
    ZWS__SIMD_NEON = 1,  /* aarch64 baseline: same rank as SSE2 */
    ZWS__SIMD_AVX2 = 2,
    ZWS__SIMD_AVX512 = 3 /* AVX-512F + BW (+ VL), OS saves ZMM state */
};

/* 1 when this CPU and OS can run code of the given level. */
int zws__cpu_supports(int level);

/* Best level this CPU supports. */
int zws__cpu_best(void);

/* The level in force: ZWS_SIMD if set and supported, else the best. Chosen
 * once (thread-safe); *err (may be NULL) gets ZWS_ESIMD when ZWS_SIMD was
 * set to something unusable, else 0. */
int zws__simd_level(int *err);

/* Parses a level name ("word", "sse2", "neon", "avx2", "avx512").
 * Returns the level or -1. */
int zws__simd_parse(const char *name);

#endif
