/* Masking throughput, each figure beside the one it can fairly be held to:
 *
 *   in place: every kernel this CPU runs and the dispatched zws_mask,
 *     against the naive design it replaces (byte at a time, key[i % 4]) and
 *     against an in-place pass over the same bytes that does the same
 *     memory traffic (load, add 1 to each byte, store; the compiler's own
 *     code at this CPU's widest vectors), the most an in-place masking pass
 *     could hope to reach;
 *   while copying: zws_mask_copy and each kernel into a second buffer,
 *     against memcpy between the same two buffers;
 *   small frames: nanoseconds per call at 8 B to 1 KiB for each kernel, for
 *     each level's choice of kernel by size (mask.c; called the way the
 *     kernels are, so the rows compare) and for zws_mask itself (one call
 *     deeper: it is in the library): the table the size cut comes from.
 *
 * Warm-cache figures, which is the case that matters (a frame is masked
 * right after it was read or built): small sizes walk through a 16 KiB
 * window that stays in L1, 64 KiB runs from L2, 1 MiB from L2/L3. The walk
 * keeps one call's loads from waiting on the previous call's stores to the
 * same bytes, which would time store-forwarding latency, not masking. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "internal/cpu.h"
#include "internal/mask.h"
#include "zws/mask.h"

#define WINDOW (16u << 10)

struct mask_ctx {
    uint8_t *buf, *dst;
    size_t len, window; /* calls step by len through window bytes */
    const struct zws__mask_kernel *k;
};

static size_t next_off(const struct mask_ctx *c, size_t off)
{
    off += c->len;
    return off + c->len > c->window ? 0 : off;
}

static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* The baseline, kept naive on purpose: the plain loop, with the key copied
 * into a volatile local. Volatile accesses cannot be merged or widened, so
 * no compiler at any flags vectorises it, while each byte still costs what
 * the plain loop costs unvectorised: a key byte load, a load, an xor and a
 * store. Checked on the bench machine at 1 KiB: gcc 1.7 and clang 3.4 GB/s,
 * the same as the plain loop built with -fno-tree-vectorize / -fno-vectorize
 * (gcc -O2 and clang -O2 happen not to vectorise it today either). Reading
 * the static key through a volatile pointer instead swung between 0.9 and
 * 1.8 GB/s with where the linker put the key (4K aliasing with the stores),
 * so the local copy keeps the ratio stable. noinline: one call per buffer,
 * like the kernels. */
__attribute__((noinline)) static void naive_mask(uint8_t *buf, size_t len,
                                                 const uint8_t key_[4])
{
    volatile uint8_t k[4] = {key_[0], key_[1], key_[2], key_[3]};
    for (size_t i = 0; i < len; i++)
        buf[i] ^= k[i % 4];
}

/* The in-place reference: 64 bytes at a time as vectors of the width the
 * CPU has (GCC vector extension: 16, 32 or 64 bytes), each loaded,
 * incremented and stored back, then bytes; the compiler's code, through a
 * may_alias byte-aligned vector type (via memcpy, or one 64-byte type on
 * AVX2, gcc 12 bounced every vector through the stack). Built
 * once per vector width and the widest this CPU runs is used, so it gets the
 * registers the best kernel gets. Every size in its table is a multiple of
 * 64, so the byte loop never runs there. An add, not an xor with a constant:
 * nothing a compiler could fold across calls. */
typedef uint8_t v16 __attribute__((vector_size(16), aligned(1), may_alias));
typedef uint8_t v32 __attribute__((vector_size(32), aligned(1), may_alias));
typedef uint8_t v64 __attribute__((vector_size(64), aligned(1), may_alias));

#define INPLACE_PASS(name, attr, V)                                           \
    attr __attribute__((noinline)) static void name(uint8_t *buf, size_t len) \
    {                                                                         \
        size_t i = 0;                                                         \
        for (; i + 64 <= len; i += 64)                                        \
            for (size_t j = 0; j < 64; j += sizeof(V))                        \
                *(V *)(buf + i + j) += 1;                                     \
        for (; i < len; i++)                                                  \
            buf[i]++;                                                         \
    }

INPLACE_PASS(pass_base, , v16)
#if defined(__x86_64__)
INPLACE_PASS(pass_avx2, __attribute__((target("avx2"))), v32)
INPLACE_PASS(pass_avx512, __attribute__((target("avx512f,avx512bw"))), v64)
#endif

static void (*inplace_pass)(uint8_t *buf, size_t len) = pass_base;
static const char *inplace_isa = "baseline ISA";

static void choose_inplace_pass(void)
{
#if defined(__x86_64__)
    if (zws__cpu_supports(ZWS__SIMD_AVX512)) {
        inplace_pass = pass_avx512;
        inplace_isa = "avx512";
    } else if (zws__cpu_supports(ZWS__SIMD_AVX2)) {
        inplace_pass = pass_avx2;
        inplace_isa = "avx2";
    }
#endif
}

/* Every timed loop starts on a 64-byte line, as the kernels do (mask.h,
 * ZWS__MASK_ALIGN): at 8 B a call is about ten cycles, and a loop that the
 * linker put across a fetch line differently from its neighbour moved "x
 * word" by 10-20% with no change to the code timed (0.89x and 1.00x at 8 B
 * for the same zws_mask code in two builds that placed it differently). */
#define RUN_FN __attribute__((aligned(64))) static void

#define LOOP(body)                                                            \
    struct mask_ctx *c = p;                                                   \
    size_t off = 0;                                                           \
    for (uint64_t i = 0; i < n; i++, off = next_off(c, off)) {                \
        body;                                                                 \
    }

RUN_FN run_naive(void *p, uint64_t n)
{
    LOOP(naive_mask(c->buf + off, c->len, key); bench_sink(c->buf + off))
}

RUN_FN run_inplace_pass(void *p, uint64_t n)
{
    LOOP(inplace_pass(c->buf + off, c->len); bench_sink(c->buf + off))
}

RUN_FN run_kernel(void *p, uint64_t n)
{
    LOOP(c->k->mask_copy(c->buf + off, c->buf + off, c->len, key, 0);
         bench_sink(c->buf + off))
}

RUN_FN run_dispatch(void *p, uint64_t n)
{
    LOOP(c->k->dispatch(c->buf + off, c->buf + off, c->len, key, 0);
         bench_sink(c->buf + off))
}

RUN_FN run_public(void *p, uint64_t n)
{
    LOOP(zws_mask(c->buf + off, c->len, key, 0); bench_sink(c->buf + off))
}

RUN_FN run_kernel_copy(void *p, uint64_t n)
{
    LOOP(c->k->mask_copy(c->dst + off, c->buf + off, c->len, key, 0);
         bench_sink(c->dst + off))
}

RUN_FN run_public_copy(void *p, uint64_t n)
{
    LOOP(zws_mask_copy(c->dst + off, c->buf + off, c->len, key, 0);
         bench_sink(c->dst + off))
}

RUN_FN run_memcpy(void *p, uint64_t n)
{
    LOOP(memcpy(c->dst + off, c->buf + off, c->len); bench_sink(c->dst + off))
}

static void set_len(struct mask_ctx *c, size_t len)
{
    c->len = len;
    c->window = len < WINDOW ? WINDOW : len;
}

static bench_stat gbs(const bench_opts *o, bench_fn fn, struct mask_ctx *c)
{
    return bench_rate(bench_run(o, fn, c), (double)c->len, 1e9);
}

/* One row per kernel this CPU runs, then the dispatched entry point. */
typedef void (*row_fn)(const bench_opts *o, struct mask_ctx *c, const char *name,
                       bench_fn fn, double *ref);

static void each_kernel(const bench_opts *o, struct mask_ctx *c, row_fn row,
                        bench_fn kernel, bench_fn public, const char *public_name,
                        double *ref)
{
    for (size_t i = 0; i < zws__mask_nkernels; i++) {
        c->k = &zws__mask_kernels[i];
        if (zws__cpu_supports(c->k->level))
            row(o, c, c->k->name, kernel, ref);
    }
    row(o, c, bench_fmt("%s (%s)", public_name, zws_mask_kernel()), public, ref);
}

/* ref[0]: the naive baseline's GB/s, ref[1]: the reference pass's. */
static void row_gbs2(const bench_opts *o, struct mask_ctx *c, const char *name,
                     bench_fn fn, double *ref)
{
    bench_stat g = gbs(o, fn, c);
    bench_table_row(o, (const char *const[]){bench_size(c->len), name,
                                             bench_fmt_stat(2, g),
                                             bench_fmt("%.1f", g.med / ref[0]),
                                             bench_fmt("%.2f", g.med / ref[1])});
}

static void row_gbs1(const bench_opts *o, struct mask_ctx *c, const char *name,
                     bench_fn fn, double *ref)
{
    bench_stat g = gbs(o, fn, c);
    bench_table_row(o, (const char *const[]){bench_size(c->len), name,
                                             bench_fmt_stat(2, g),
                                             bench_fmt("%.2f", g.med / ref[0])});
}

static const size_t big_sizes[] = {64, 1024, 64 << 10, 1 << 20};
#define NBIG (sizeof big_sizes / sizeof big_sizes[0])

static void in_place(const bench_opts *o, struct mask_ctx *c)
{
    static const char *const cols[] = {"size", "kernel", "GB/s", "x baseline",
                                       "x in-place pass"};
    bench_table_begin(o,
                      "masking in place (64-byte aligned, warm cache; baseline: "
                      "byte-wise key[i % 4]; reference: an in-place add pass of "
                      "the same size; GB/s median (min-max))",
                      cols, 5);
    for (size_t s = 0; s < NBIG; s++) {
        set_len(c, big_sizes[s]);
        double ref[2] = {gbs(o, run_naive, c).med, gbs(o, run_inplace_pass, c).med};
        bench_table_row(o, (const char *const[]){
            bench_size(c->len), "byte-wise i%4 (baseline)", bench_fmt("%.2f", ref[0]),
            "1.0", bench_fmt("%.2f", ref[0] / ref[1])});
        each_kernel(o, c, row_gbs2, run_kernel, run_public, "zws_mask", ref);
        bench_table_row(o, (const char *const[]){
            bench_size(c->len), bench_fmt("in-place add pass, %s (reference)", inplace_isa),
            bench_fmt("%.2f", ref[1]),
            bench_fmt("%.1f", ref[1] / ref[0]), "1.00"});
    }
    bench_table_end(o);
}

static void copying(const bench_opts *o, struct mask_ctx *c)
{
    static const char *const cols[] = {"size", "kernel", "GB/s", "x memcpy"};
    bench_table_begin(o,
                      "masking while copying to a second buffer (as a client "
                      "frames a const payload) against memcpy between the same "
                      "buffers; GB/s median (min-max)",
                      cols, 4);
    for (size_t s = 0; s < NBIG; s++) {
        set_len(c, big_sizes[s]);
        double ref[1] = {gbs(o, run_memcpy, c).med};
        each_kernel(o, c, row_gbs1, run_kernel_copy, run_public_copy, "zws_mask_copy",
                    ref);
        bench_table_row(o, (const char *const[]){bench_size(c->len), "memcpy",
                                                 bench_fmt("%.2f", ref[0]), "1.00"});
    }
    bench_table_end(o);
}

/* Per size, every kernel and zws_mask timed in turn within each repetition,
 * so "x word" is a ratio of neighbouring runs, not of runs seconds apart. */
static void small(const bench_opts *o, struct mask_ctx *c)
{
    static const size_t sizes[] = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024};
    static const char *const cols[] = {"size", "kernel", "ns/call", "GB/s", "x word"};
    bench_table_begin(o,
                      "masking small frames in place: each kernel and the "
                      "dispatched zws_mask, which picks by size (ns/call median "
                      "(min-max); x word: per-repetition speed against the word "
                      "kernel, all of a size interleaved)",
                      cols, 5);
    struct mask_ctx cs[BENCH_GROUP_MAX];
    bench_fn fns[BENCH_GROUP_MAX];
    void *ctxs[BENCH_GROUP_MAX];
    const char *names[BENCH_GROUP_MAX];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int k = 0;
        for (size_t i = 0; i < zws__mask_nkernels && k + 1 < BENCH_GROUP_MAX; i++) {
            if (!zws__cpu_supports(zws__mask_kernels[i].level))
                continue;
            cs[k] = *c;
            set_len(&cs[k], sizes[s]);
            cs[k].k = &zws__mask_kernels[i];
            fns[k] = run_kernel;
            names[k] = zws__mask_kernels[i].name;
            ctxs[k] = &cs[k];
            k++;
        }
        /* Each level's choice by size, through the same call as the kernels. */
        for (size_t i = 0; i < zws__mask_nkernels && k + 2 < BENCH_GROUP_MAX; i++) {
            if (!zws__cpu_supports(zws__mask_kernels[i].level) ||
                !zws__mask_kernels[i].wide_from)
                continue;
            cs[k] = *c;
            set_len(&cs[k], sizes[s]);
            cs[k].k = &zws__mask_kernels[i];
            fns[k] = run_dispatch;
            names[k] = bench_fmt("%s level, by size", zws__mask_kernels[i].name);
            ctxs[k] = &cs[k];
            k++;
        }
        cs[k] = *c;
        set_len(&cs[k], sizes[s]);
        fns[k] = run_public;
        names[k] = bench_fmt("zws_mask (%s)", zws_mask_kernel());
        ctxs[k] = &cs[k];
        k++;
        bench_stat t[BENCH_GROUP_MAX], x[BENCH_GROUP_MAX];
        bench_group(o, k, fns, ctxs, t, x);
        for (int i = 0; i < k; i++) {
            bench_stat ns = {t[i].med * 1e9, t[i].lo * 1e9, t[i].hi * 1e9};
            bench_table_row(o, (const char *const[]){
                bench_size(sizes[s]), names[i], bench_fmt_stat(2, ns),
                bench_fmt("%.2f", (double)sizes[s] / t[i].med / 1e9),
                bench_fmt_stat(2, x[i])});
        }
    }
    bench_table_end(o);
}

void bench_mask(const bench_opts *o)
{
    void *a = NULL, *b = NULL;
    if (posix_memalign(&a, 64, 1 << 20) || posix_memalign(&b, 64, 1 << 20))
        abort();
    struct mask_ctx c = {.buf = a, .dst = b};
    choose_inplace_pass();
    bench_random(c.buf, 1 << 20, 1);
    bench_random(c.dst, 1 << 20, 2);
    in_place(o, &c);
    copying(o, &c);
    small(o, &c);
    free(a);
    free(b);
}
