/* Masking throughput: every kernel this CPU runs, in place, against the
 * naive design it replaces (byte at a time with key[i % 4]) and against
 * memcpy of the same size.
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

static void run_naive(void *p, uint64_t n)
{
    struct mask_ctx *c = p;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++, off = next_off(c, off)) {
        naive_mask(c->buf + off, c->len, key);
        bench_sink(c->buf + off);
    }
}

static void run_kernel(void *p, uint64_t n)
{
    struct mask_ctx *c = p;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++, off = next_off(c, off)) {
        c->k->mask_copy(c->buf + off, c->buf + off, c->len, key, 0);
        bench_sink(c->buf + off);
    }
}

static void run_public(void *p, uint64_t n)
{
    struct mask_ctx *c = p;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++, off = next_off(c, off)) {
        zws_mask(c->buf + off, c->len, key, 0);
        bench_sink(c->buf + off);
    }
}

static void run_memcpy(void *p, uint64_t n)
{
    struct mask_ctx *c = p;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++, off = next_off(c, off)) {
        memcpy(c->dst + off, c->buf + off, c->len);
        bench_sink(c->dst + off);
    }
}

static void row(const bench_opts *o, size_t len, const char *name, double gbs,
                double base, double copy)
{
    const char *cells[] = {bench_size(len), name, bench_fmt("%.2f", gbs),
                           bench_fmt("%.1f", gbs / base),
                           bench_fmt("%.2f", gbs / copy)};
    bench_table_row(o, cells);
}

void bench_mask(const bench_opts *o)
{
    static const size_t sizes[] = {64, 1024, 64 << 10, 1 << 20};
    static const char *const cols[] = {"size", "kernel", "GB/s", "x baseline",
                                       "x memcpy"};
    void *a = NULL, *b = NULL;
    if (posix_memalign(&a, 64, 1 << 20) || posix_memalign(&b, 64, 1 << 20))
        abort();
    struct mask_ctx c = {.buf = a, .dst = b};
    bench_random(c.buf, 1 << 20, 1);
    bench_random(c.dst, 1 << 20, 2);

    bench_table_begin(o,
                      "masking in place (64-byte aligned, warm cache; "
                      "baseline: byte-wise key[i % 4])",
                      cols, 5);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        c.len = sizes[s];
        c.window = c.len < WINDOW ? WINDOW : c.len;
        double base = (double)c.len / bench_measure(o, run_naive, &c) / 1e9;
        double copy = (double)c.len / bench_measure(o, run_memcpy, &c) / 1e9;
        row(o, c.len, "byte-wise i%4", base, base, copy);
        for (size_t i = 0; i < zws__mask_nkernels; i++) {
            c.k = &zws__mask_kernels[i];
            if (!zws__cpu_supports(c.k->level))
                continue;
            row(o, c.len, c.k->name,
                (double)c.len / bench_measure(o, run_kernel, &c) / 1e9, base,
                copy);
        }
        row(o, c.len, bench_fmt("zws_mask (%s)", zws_mask_kernel()),
            (double)c.len / bench_measure(o, run_public, &c) / 1e9, base, copy);
        row(o, c.len, "memcpy", copy, base, copy);
    }
    bench_table_end(o);
    free(a);
    free(b);
}
