/* zws-bench harness: calibrated repetitions, medians, and tables printed as
 * text or JSON. Every speed-up a table shows is a ratio against a baseline
 * measured in the same run. */
#ifndef ZWS_BENCH_H
#define ZWS_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_opts {
    int json;          /* print JSON instead of text tables */
    int reps;          /* repetitions per figure (1..64): median and range */
    double min_time;   /* seconds one repetition should last at least */
} bench_opts;

/* A benchmark body: performs n operations on ctx. */
typedef void (*bench_fn)(void *ctx, uint64_t n);

/* A figure over o->reps repetitions: the median, and the smallest and
 * largest repetition (the spread a reader needs to judge a ratio). */
typedef struct bench_stat {
    double med, lo, hi;
} bench_stat;

/* Seconds per operation over o->reps repetitions, each calibrated to last at
 * least o->min_time. bench_measure() is the median alone. */
bench_stat bench_run(const bench_opts *o, bench_fn fn, void *ctx);
double bench_measure(const bench_opts *o, bench_fn fn, void *ctx);

/* A candidate against its baseline, their repetitions interleaved (base,
 * cand, base, cand, ...) so drift on a shared machine hits both alike.
 * *tb and *tc get seconds per operation; *ratio the per-repetition speed-up
 * tb / tc (median, min, max). Any output may be NULL. */
void bench_pair(const bench_opts *o, bench_fn base, void *bctx, bench_fn cand,
                void *cctx, bench_stat *tb, bench_stat *tc, bench_stat *ratio);

/* The same for k (<= BENCH_GROUP_MAX) candidates, fns[i] run on ctxs[i]:
 * t[i] seconds per operation, x[i] the per-repetition speed-up t[0] / t[i]
 * against the first. t or x may be NULL. */
#define BENCH_GROUP_MAX 8
void bench_group(const bench_opts *o, int k, const bench_fn *fns, void *const *ctxs,
                 bench_stat *t, bench_stat *x);

/* units per second from seconds per operation (units per operation),
 * scaled: 1e6 for millions. lo and hi swap, as a rate inverts time. */
bench_stat bench_rate(bench_stat sec, double units, double scale);

/* "12.3 (11.9-12.8)": median (min-max), each with that many decimals.
 * From the same ring as bench_fmt. */
const char *bench_fmt_stat(int digits, bench_stat s);

/* Tables: begin, rows of preformatted cells, end. */
void bench_table_begin(const bench_opts *o, const char *title,
                       const char *const *columns, int ncols);
void bench_table_row(const bench_opts *o, const char *const *cells);
void bench_table_end(const bench_opts *o);

/* Formatting helpers: return a static ring buffer slot (valid for the next 32
 * calls). */
const char *bench_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *bench_size(size_t bytes); /* "64 B", "1 KiB", "1 MiB" */

/* Allocation counting: the library's allocations go through these (via
 * zws_set_allocator) and so do the baselines', so "allocations per message"
 * compares like with like. */
extern uint64_t bench_allocs;
void *bench_malloc(size_t n);
void *bench_realloc(void *p, size_t n);
void bench_free(void *p);

/* Keeps the compiler from discarding a computed value. */
static inline void bench_sink(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Fills p with pseudo-random bytes from a fixed seed (repeatable runs). */
void bench_random(void *p, size_t n, uint64_t seed);

/* Writes frames of payload_len bytes (text: printable ASCII, so a payload
 * stays valid UTF-8 masked or unmasked; see bench_parser.c) until at least
 * total bytes are written, with a fixed masking key when masked. Returns the
 * bytes used; *nframes gets the count. out must have total + one frame of
 * room. */
size_t bench_frames(uint8_t *out, size_t total, size_t payload_len, unsigned opcode,
                    int masked, size_t *nframes);

/* Benchmarks, one per layer. */
void bench_mask(const bench_opts *o);
void bench_frame(const bench_opts *o);
void bench_utf8(const bench_opts *o);
void bench_parser(const bench_opts *o);
void bench_conn(const bench_opts *o);
void bench_md(const bench_opts *o);
void bench_deflate(const bench_opts *o);
#ifdef ZWS_BENCH_ISAL
void bench_isal(const bench_opts *o); /* in the deflate suite, with ISA-L */
#endif

/* Writes a throwaway EC key and self-signed certificate (localhost,
 * 127.0.0.1) as PEM. Returns 0 or -1. */
int bench_make_cert(const char *cert_path, const char *key_path);

#endif
