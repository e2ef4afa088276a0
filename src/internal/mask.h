/* Masking kernels (RFC 6455 §5.3): the table the dispatcher in mask.c chooses
 * from, and small helpers every kernel shares.
 *
 * Kernel contract: dst[i] = src[i] ^ key[(phase + i) % 4] for i < len, and
 * return (phase + len) % 4. dst == src is allowed (in place); any other
 * overlap is not. Pointers may have any alignment; no byte outside
 * src[0..len) is read and none outside dst[0..len) is written, so a buffer
 * that ends against an unmapped page is safe. Only phase % 4 matters. With
 * len == 0, dst and src may be NULL. Kernels never allocate and keep no
 * state, so they may run on any thread at once. */
#ifndef ZWS_INTERNAL_MASK_H
#define ZWS_INTERNAL_MASK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* On the kernels and the public calls: at 8 B a call is about ten cycles,
 * and where the linker happens to put a function against the 64-byte fetch
 * lines moved one kernel against another by 10-20% in zws-bench (the same
 * code, other objects linked before it). Aligned, its branch targets fall
 * the same way in every program. */
#define ZWS__MASK_ALIGN __attribute__((aligned(64)))

typedef unsigned (*zws__mask_fn)(uint8_t *dst, const uint8_t *src, size_t len,
                                 const uint8_t key[4], unsigned phase);

struct zws__mask_kernel {
    const char *name; /* "word", "sse2", "avx2", "avx512", "neon" */
    int level;        /* enum zws__simd_level the CPU must support */
    zws__mask_fn mask_copy;
    /* What zws_mask() runs when this kernel is chosen: mask_copy itself from
     * wide_from bytes on, a narrower kernel below (0: mask_copy always). */
    zws__mask_fn dispatch;
    size_t wide_from;
};

/* Every kernel compiled for this architecture, ascending level; kernels for
 * other architectures are absent. Callers must check zws__cpu_supports(). */
extern const struct zws__mask_kernel zws__mask_kernels[];
extern const size_t zws__mask_nkernels;

/* The best kernel in the table whose level is <= level (never NULL: "word"
 * has level 0). Points into the static table. */
const struct zws__mask_kernel *zws__mask_best(int level);

/* Byte-at-a-time reference the tests and the fuzzer compare kernels with. */
unsigned zws__mask_ref(uint8_t *dst, const uint8_t *src, size_t len,
                       const uint8_t key[4], unsigned phase);

/* The kernels themselves (contract above). */
unsigned zws__mask_word(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase);
#if defined(__x86_64__)
unsigned zws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase);
unsigned zws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase);
unsigned zws__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4], unsigned phase);
#endif
#if defined(__aarch64__)
unsigned zws__mask_neon(uint8_t *dst, const uint8_t *src, size_t len,
                        const uint8_t key[4], unsigned phase);
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ZWS__MASK_BE 1
#else
#define ZWS__MASK_BE 0
#endif

/* k32 for a chunk that starts n bytes further into the key: byte n % 4 of
 * the old word (in memory order) becomes byte 0. */
static inline uint32_t zws__mask_key_skip(uint32_t k32, size_t n)
{
    unsigned s = (unsigned)(n & 3) * 8;
    if (ZWS__MASK_BE)
        return (k32 << s) | (k32 >> ((32 - s) & 31));
    return (k32 >> s) | (k32 << ((32 - s) & 31));
}

/* The 4 key bytes as they must lie in memory to XOR a chunk that starts at
 * key index phase, as a native-endian word: memcpy'ing it gives key[phase],
 * key[phase + 1], ... A rotate of the loaded key rather than a byte shuffle,
 * so tiny frames pay almost nothing for it. */
static inline uint32_t zws__mask_key32(const uint8_t key[4], unsigned phase)
{
    uint32_t k;
    memcpy(&k, key, 4);
    return zws__mask_key_skip(k, phase);
}

/* Masks len < 16 bytes. 8..15 and 4..7 bytes are two words that overlap in
 * the middle: both are loaded before either is stored, so in place the
 * overlap is masked once, and the second word's key is the key skipped by
 * len (len - 8 and len - 4 are len mod 4). An 8-byte frame is one compare
 * and a load, xor and store pair. Steps of 8, 4, 2 and 1 cost four tests,
 * and gcc laid the 8-byte step out of line in zws_mask: two more taken
 * branches per call, at about ten cycles a call (0.86x the word kernel at
 * 8 B, with fewer instructions). Shared by every kernel's short path and
 * tail. The 2-byte step advances the key by 2. */
static inline void zws__mask_small(uint8_t *dst, const uint8_t *src, size_t len,
                                   uint32_t k32)
{
    uint32_t kt = zws__mask_key_skip(k32, len);
    if (len >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + len - 8, 8);
        a ^= ((uint64_t)k32 << 32) | k32;
        b ^= ((uint64_t)kt << 32) | kt;
        memcpy(dst, &a, 8);
        memcpy(dst + len - 8, &b, 8);
        return;
    }
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + len - 4, 4);
        a ^= k32;
        b ^= kt;
        memcpy(dst, &a, 4);
        memcpy(dst + len - 4, &b, 4);
        return;
    }
    if (len & 2) {
        uint16_t w;
        memcpy(&w, src, 2);
        w ^= (uint16_t)(ZWS__MASK_BE ? k32 >> 16 : k32);
        memcpy(dst, &w, 2);
        k32 = zws__mask_key_skip(k32, 2);
    }
    if (len & 1)
        dst[len - 1] = (uint8_t)(src[len - 1] ^ (ZWS__MASK_BE ? k32 >> 24 : k32));
}

#endif
