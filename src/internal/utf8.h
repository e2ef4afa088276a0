/* UTF-8 validation internals: the scalar DFA that is the reference for every
 * kernel, the kernel table, and the lookup tables the vector kernels share.
 *
 * State encoding (the value kept in zws_utf8.state). Each state is the bit
 * offset of its 6-bit slot in a per-byte 64-bit transition word, so one step
 * of the DFA is a table load and a shift: next = (row[byte] >> state) & 63.
 * 0 is ACCEPT (on a code point boundary) so a zeroed struct starts a message;
 * REJECT absorbs every byte; the others are "inside a sequence, these bytes
 * may follow". A caller that stores the state only needs: 0 = boundary,
 * ZWS__UTF8_REJECT = failed, anything else = mid code point. */
#ifndef ZWS_INTERNAL_UTF8_H
#define ZWS_INTERNAL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "zws/utf8.h"

enum {
    ZWS__UTF8_ACCEPT = 0, /* boundary: any lead byte or ASCII may follow */
    ZWS__UTF8_REJECT = 6, /* failed; stays failed */
    ZWS__UTF8_CONT1 = 12, /* one 80-BF to go */
    ZWS__UTF8_CONT2 = 18, /* two 80-BF to go */
    ZWS__UTF8_CONT3 = 24, /* three 80-BF to go (after F1-F3) */
    ZWS__UTF8_E0 = 30,    /* after E0: A0-BF, then one more */
    ZWS__UTF8_ED = 36,    /* after ED: 80-9F (no surrogates), one more */
    ZWS__UTF8_F0 = 42,    /* after F0: 90-BF (no overlong), two more */
    ZWS__UTF8_F4 = 48     /* after F4: 80-8F (<= U+10FFFF), two more */
};

/* The reference: one byte at a time, no fast path. Runs the DFA from state
 * over p[0..len) and returns the new state. When it returns
 * ZWS__UTF8_REJECT, *bad (if not NULL) is the offset in p of the first byte
 * that cannot continue valid UTF-8 (0 if state was already REJECT). */
uint32_t zws__utf8_dfa(uint32_t state, const uint8_t *p, size_t len,
                       size_t *bad);

/* A kernel streams like zws__utf8_dfa and must agree with it exactly (state,
 * verdict, offset); it only differs in speed. */
typedef uint32_t (*zws__utf8_run_fn)(uint32_t state, const uint8_t *p,
                                     size_t len, size_t *bad);

/* A vector validator for one region that starts on a code point boundary.
 * Returns len when p[0..len) is valid and ends on a boundary. Otherwise
 * returns q < len such that p[0..q) is valid and ends on a boundary: the DFA
 * resumes from ZWS__UTF8_ACCEPT at q to find the exact offending byte. Never
 * reads outside p[0..len). */
typedef size_t (*zws__utf8_vec_fn)(const uint8_t *p, size_t len);

struct zws__utf8_kernel {
    const char *name;     /* "scalar", "avx2", "avx512" */
    int level;            /* enum zws__simd_level it needs */
    zws__utf8_run_fn run; /* streaming entry point */
    zws__utf8_vec_fn vec; /* its raw vector validator; NULL for scalar */
};

/* Ordered by level; only kernels compiled for this architecture. Callers run
 * those with zws__cpu_supports(k->level). */
extern const struct zws__utf8_kernel zws__utf8_kernels[];
extern const size_t zws__utf8_nkernels;

/* zws_utf8_feed with a given kernel instead of the selected one: the same
 * code path, so tests and the fuzzer exercise each kernel through it. */
int zws__utf8_feed_with(const struct zws__utf8_kernel *k, zws_utf8 *v,
                        const uint8_t *p, size_t len, size_t *bad);

/* Nibble lookup tables of the vector kernels, indexed by: [0] high nibble of
 * the previous byte, [1] low nibble of the previous byte, [2] high nibble of
 * the current byte. Each bit is one error class (ZWS__UTF8_ERR_*); a pair of
 * bytes is bad when the AND of the three lookups is nonzero, except for
 * ZWS__UTF8_ERR_2CONT, which is XORed with "must be the 3rd/4th byte". */
extern const uint8_t zws__utf8_nibbles[3][16];

enum {
    ZWS__UTF8_ERR_SHORT = 0x01, /* lead byte, then no continuation */
    ZWS__UTF8_ERR_LONG = 0x02,  /* ASCII, then a continuation */
    ZWS__UTF8_ERR_OVL2 = 0x04,  /* C0 or C1, then a continuation */
    ZWS__UTF8_ERR_OVL3 = 0x08,  /* E0 80-9F */
    ZWS__UTF8_ERR_SURR = 0x10,  /* ED A0-BF */
    ZWS__UTF8_ERR_OVL4 = 0x20,  /* F0 80-8F, and F5-FF 80-8F */
    ZWS__UTF8_ERR_BIG = 0x40,   /* F4 90-BF, and F5-FF 90-BF */
    ZWS__UTF8_ERR_2CONT = 0x80  /* continuation after continuation */
};

/* For a vector validator that found an error in the block starting at bs,
 * all of whose checks passed for every byte before bs: the last byte before
 * bs that is not a continuation (or 0) starts a code point with the DFA in
 * ACCEPT. Valid UTF-8 has no 4 continuations in a row, so this looks back at
 * most 4 bytes. */
static inline size_t zws__utf8_resume(const uint8_t *p, size_t bs)
{
    size_t q = bs;
    while (q > 0) {
        q--;
        if ((p[q] & 0xC0) != 0x80)
            break;
    }
    return q;
}

#if defined(__x86_64__)
size_t zws__utf8_vec_avx2(const uint8_t *p, size_t len);
size_t zws__utf8_vec_avx512(const uint8_t *p, size_t len);
#endif

#endif
