/* Masking (RFC 6455 §5.3): public entry points, the portable 64-bit-word
 * kernel, the byte-wise reference, and the one-time choice of kernel. */
#include <stdatomic.h>

#include "internal/cpu.h"
#include "internal/simd.h"
#include "internal/mask.h"
#include "zws/mask.h"

unsigned zws__mask_ref(uint8_t *dst, const uint8_t *src, size_t len,
                       const uint8_t key[4], unsigned phase)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (uint8_t)(src[i] ^ key[(phase + i) & 3]);
    return (unsigned)((phase + len) & 3);
}

/* The word kernel's body, inlined where small frames skip the dispatch. */
static inline __attribute__((always_inline)) unsigned
mask_word(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
          unsigned phase)
{
    unsigned next = (unsigned)((phase + len) & 3);
    uint32_t k32 = zws__mask_key32(key, phase);
    if (len >= 16) {
        uint64_t k = ((uint64_t)k32 << 32) | k32;
        /* memcpy, not casts: any alignment, no aliasing trouble, and it
         * compiles to plain unaligned loads where the CPU has them. Arrays of
         * two words: with one of four shared by both steps, gcc 12 also
         * stored the loop's words to the stack. */
        for (; len >= 32; len -= 32, src += 32, dst += 32) {
            uint64_t w[2], v[2];
            memcpy(w, src, 16);
            memcpy(v, src + 16, 16);
            w[0] ^= k;
            w[1] ^= k;
            v[0] ^= k;
            v[1] ^= k;
            memcpy(dst, w, 16);
            memcpy(dst + 16, v, 16);
        }
        if (len >= 16) {
            uint64_t w[2];
            memcpy(w, src, 16);
            w[0] ^= k;
            w[1] ^= k;
            memcpy(dst, w, 16);
            len -= 16;
            src += 16;
            dst += 16;
        }
    }
    zws__mask_small(dst, src, len, k32);
    return next;
}

ZWS__MASK_ALIGN unsigned zws__mask_word(uint8_t *dst, const uint8_t *src,
                                        size_t len, const uint8_t key[4],
                                        unsigned phase)
{
    return mask_word(dst, src, len, key, phase);
}

#if defined(__x86_64__)
/* Kernels by size. Below WIDE_FROM bytes the 256- and 512-bit kernels lose
 * to the word kernel: their set-up (key broadcast, the 16-byte step, the
 * tail) is not paid back. Measured with `zws-bench --reps 9 mask` ("small
 * frames", kernels interleaved per repetition) on the bench machine (AMD
 * Zen 3, AVX2, no AVX-512, shared and noisy), AVX2 against the word kernel
 * in two runs: 0.72-0.90x at 8-32 B, 0.98x and 1.12x at 96 B, 1.03x and
 * 1.24x at 128 B, 1.15x and 1.30x at 192 B, 1.33x and 1.57x at 256 B; the
 * public calls' inlined word kernel at 96 B was 1.11x and 1.17x, ahead of
 * AVX2 there. So the cut stays at 128 B. SSE2 against word below 128 B
 * swung between 0.82x and 1.26x from run to run (under 32 B they run the
 * same scalar code), so the word kernel takes the small frames: never
 * slower than itself. AVX-512 gets the same cut, not measured (no AVX-512
 * on the bench machine). */
#define WIDE_FROM 128

ZWS__MASK_ALIGN static unsigned
mask_avx2_sized(uint8_t *dst, const uint8_t *src, size_t len,
                const uint8_t key[4], unsigned phase)
{
    return len < WIDE_FROM ? zws__mask_word(dst, src, len, key, phase)
                           : zws__mask_avx2(dst, src, len, key, phase);
}

ZWS__MASK_ALIGN static unsigned
mask_avx512_sized(uint8_t *dst, const uint8_t *src, size_t len,
                  const uint8_t key[4], unsigned phase)
{
    return len < WIDE_FROM ? zws__mask_word(dst, src, len, key, phase)
                           : zws__mask_avx512(dst, src, len, key, phase);
}
#endif

const struct zws__mask_kernel zws__mask_kernels[] = {
    {"word", ZWS__SIMD_WORD, zws__mask_word, zws__mask_word, 0},
#if defined(__x86_64__)
    {"sse2", ZWS__SIMD_SSE2, zws__mask_sse2, zws__mask_sse2, 0},
    {"avx2", ZWS__SIMD_AVX2, zws__mask_avx2, mask_avx2_sized, WIDE_FROM},
    {"avx512", ZWS__SIMD_AVX512, zws__mask_avx512, mask_avx512_sized, WIDE_FROM},
#elif defined(__aarch64__)
    {"neon", ZWS__SIMD_NEON, zws__mask_neon, zws__mask_neon, 0},
#endif
};
const size_t zws__mask_nkernels =
    sizeof zws__mask_kernels / sizeof zws__mask_kernels[0];

const struct zws__mask_kernel *zws__mask_best(int level)
{
    const struct zws__mask_kernel *best = &zws__mask_kernels[0];
    for (size_t i = 1; i < zws__mask_nkernels; i++)
        if (zws__mask_kernels[i].level <= level &&
            zws__mask_kernels[i].level >= best->level)
            best = &zws__mask_kernels[i];
    return best;
}

/* The public calls mask frames under SMALL_BELOW bytes themselves, with the
 * word kernel inlined: one compare instead of an indirect call and the same
 * compare behind it. */
#if defined(__x86_64__)
#define SMALL_BELOW WIDE_FROM
#define SMALL_DIRECT(len) ((len) < SMALL_BELOW)
#else
#define SMALL_BELOW 0
#define SMALL_DIRECT(len) 0
#endif

static unsigned first_use(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], unsigned phase);

/* `active`: what the public calls run from SMALL_BELOW bytes on. Relaxed
 * is enough: both point at immutable things (code, the const table), so a
 * thread that sees either pointer can use it, and threads racing through
 * zws__mask_select() store the same values. Starting at first_use spares
 * the hot path a "chosen yet?" test. */
static _Atomic(zws__mask_fn) active = first_use;
static _Atomic(const struct zws__mask_kernel *) chosen;

void zws__mask_select(void)
{
    if (atomic_load_explicit(&chosen, memory_order_relaxed))
        return;
    const struct zws__mask_kernel *k = zws__mask_best(zws__simd_level(NULL));
    /* The public calls reach `active` only from SMALL_BELOW bytes on, where
     * a kernel whose own cut is no higher would just test the length again
     * and jump (about 1 ns of 6 at 128-256 B): they get the kernel itself. */
    atomic_store_explicit(&active,
                          k->wide_from <= SMALL_BELOW ? k->mask_copy : k->dispatch,
                          memory_order_relaxed);
    atomic_store_explicit(&chosen, k, memory_order_relaxed);
}

static unsigned first_use(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], unsigned phase)
{
    zws__mask_select();
    /* Through `chosen`, not `active`: relaxed stores by another thread may
     * become visible in either order, and `active` could still be us. */
    const struct zws__mask_kernel *k =
        atomic_load_explicit(&chosen, memory_order_relaxed);
    return k->dispatch(dst, src, len, key, phase);
}

ZWS__MASK_ALIGN unsigned zws_mask(void *buf, size_t len, const uint8_t key[4],
                                  unsigned phase)
{
    if (SMALL_DIRECT(len))
        return mask_word(buf, buf, len, key, phase);
    zws__mask_fn fn = atomic_load_explicit(&active, memory_order_relaxed);
    return fn(buf, buf, len, key, phase);
}

ZWS__MASK_ALIGN unsigned zws_mask_copy(void *dst, const void *src,
                                       size_t len, const uint8_t key[4],
                                       unsigned phase)
{
    if (SMALL_DIRECT(len))
        return mask_word(dst, src, len, key, phase);
    zws__mask_fn fn = atomic_load_explicit(&active, memory_order_relaxed);
    return fn(dst, src, len, key, phase);
}

const char *zws_mask_kernel(void)
{
    zws__mask_select();
    return atomic_load_explicit(&chosen, memory_order_relaxed)->name;
}
