/* CPU detection (cpuid + xgetbv on x86-64) and the one-time choice of SIMD
 * level, honouring ZWS_SIMD. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal/cpu.h"
#include "zws/common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int detect_best(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(d & bit_SSE2))
        return ZWS__SIMD_WORD;
    /* AVX state must be enabled by the OS (OSXSAVE, XCR0 bits 1-2). */
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || (xgetbv0() & 0x6) != 0x6)
        return ZWS__SIMD_SSE2;
    if (__get_cpuid_max(0, NULL) < 7)
        return ZWS__SIMD_SSE2;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & bit_AVX2))
        return ZWS__SIMD_SSE2;
    /* AVX-512: F, BW and VL, and XCR0 opmask + ZMM state (bits 5-7). */
    if ((b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512VL) &&
        (xgetbv0() & 0xe6) == 0xe6)
        return ZWS__SIMD_AVX512;
    return ZWS__SIMD_AVX2;
}
#elif defined(__aarch64__)
static int detect_best(void) { return ZWS__SIMD_NEON; }
#else
static int detect_best(void) { return ZWS__SIMD_WORD; }
#endif

static int best = -1;
static int chosen;
static int chosen_err;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void)
{
    best = detect_best();
    chosen = best;
    const char *env = getenv("ZWS_SIMD");
    if (!env || !*env || strcmp(env, "auto") == 0)
        return;
    int want = zws__simd_parse(env);
    if (want < 0 || want > best) {
        chosen_err = ZWS_ESIMD;
        return;
    }
    chosen = want;
}

int zws__simd_parse(const char *name)
{
    if (strcmp(name, "word") == 0)
        return ZWS__SIMD_WORD;
#if defined(__aarch64__)
    if (strcmp(name, "neon") == 0)
        return ZWS__SIMD_NEON;
#elif defined(__x86_64__) || defined(__i386__)
    if (strcmp(name, "sse2") == 0)
        return ZWS__SIMD_SSE2;
    if (strcmp(name, "avx2") == 0)
        return ZWS__SIMD_AVX2;
    if (strcmp(name, "avx512") == 0)
        return ZWS__SIMD_AVX512;
#endif
    return -1;
}

int zws__cpu_best(void)
{
    pthread_once(&once, choose);
    return best;
}

int zws__cpu_supports(int level) { return level <= zws__cpu_best(); }

int zws__simd_level(int *err)
{
    pthread_once(&once, choose);
    if (err)
        *err = chosen_err;
    return chosen;
}
