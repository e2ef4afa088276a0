/* zws-bench: harness and entry point. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "zws/zws.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Operations per repetition: grown until one run lasts min_time / 4, then
 * scaled to last min_time. */
static uint64_t calibrate(const bench_opts *o, bench_fn fn, void *ctx)
{
    uint64_t n = 1;
    for (;;) {
        double t0 = now();
        fn(ctx, n);
        double dt = now() - t0;
        if (dt >= o->min_time / 4 || n >= (1ull << 40)) {
            double want = o->min_time / (dt > 0 ? dt : 1e-9);
            if (want > 1)
                n = (uint64_t)((double)n * want) + 1;
            return n;
        }
        n *= (dt < o->min_time / 64) ? 16 : 2;
    }
}

static int reps_of(const bench_opts *o)
{
    return o->reps < 1 ? 1 : (o->reps > 64 ? 64 : o->reps);
}

static bench_stat stat_of(double *samples, int reps)
{
    qsort(samples, (size_t)reps, sizeof samples[0], cmp_double);
    bench_stat s = {reps % 2 ? samples[reps / 2]
                             : (samples[reps / 2 - 1] + samples[reps / 2]) / 2,
                    samples[0], samples[reps - 1]};
    return s;
}

static double timed(bench_fn fn, void *ctx, uint64_t n)
{
    double t0 = now();
    fn(ctx, n);
    return (now() - t0) / (double)n;
}

bench_stat bench_run(const bench_opts *o, bench_fn fn, void *ctx)
{
    uint64_t n = calibrate(o, fn, ctx);
    double samples[64];
    int reps = reps_of(o);
    for (int r = 0; r < reps; r++)
        samples[r] = timed(fn, ctx, n);
    return stat_of(samples, reps);
}

double bench_measure(const bench_opts *o, bench_fn fn, void *ctx)
{
    return bench_run(o, fn, ctx).med;
}

void bench_group(const bench_opts *o, int k, const bench_fn *fns, void *const *ctxs,
                 bench_stat *t, bench_stat *x)
{
    uint64_t n[BENCH_GROUP_MAX];
    double st[BENCH_GROUP_MAX][64], sx[BENCH_GROUP_MAX][64];
    int reps = reps_of(o);
    k = k < BENCH_GROUP_MAX ? k : BENCH_GROUP_MAX;
    for (int i = 0; i < k; i++)
        n[i] = calibrate(o, fns[i], ctxs[i]);
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < k; i++) {
            st[i][r] = timed(fns[i], ctxs[i], n[i]);
            sx[i][r] = st[0][r] / st[i][r];
        }
    for (int i = 0; i < k; i++) {
        if (t)
            t[i] = stat_of(st[i], reps);
        if (x)
            x[i] = stat_of(sx[i], reps);
    }
}

void bench_pair(const bench_opts *o, bench_fn base, void *bctx, bench_fn cand,
                void *cctx, bench_stat *tb, bench_stat *tc, bench_stat *ratio)
{
    bench_fn fns[2] = {base, cand};
    void *ctxs[2] = {bctx, cctx};
    bench_stat t[2], x[2];
    bench_group(o, 2, fns, ctxs, t, x);
    if (tb)
        *tb = t[0];
    if (tc)
        *tc = t[1];
    if (ratio)
        *ratio = x[1];
}

bench_stat bench_rate(bench_stat sec, double units, double scale)
{
    bench_stat r = {units / sec.med / scale, units / sec.hi / scale,
                    units / sec.lo / scale};
    return r;
}

const char *bench_fmt_stat(int digits, bench_stat s)
{
    return bench_fmt("%.*f (%.*f-%.*f)", digits, s.med, digits, s.lo, digits, s.hi);
}

static int ncols_cur;
static int nrows_cur;
static int ntables;
/* Text tables are printed at the end, once column widths are known. */
static const char *title_cur;
#define MAX_ROWS 256
static char *cells_cur[MAX_ROWS + 1][16];

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void json_row(const char *const *cells)
{
    printf("[");
    for (int i = 0; i < ncols_cur; i++) {
        if (i)
            printf(", ");
        json_str(cells[i]);
    }
    printf("]");
}

void bench_table_begin(const bench_opts *o, const char *title,
                       const char *const *columns, int ncols)
{
    ncols_cur = ncols > 16 ? 16 : ncols;
    nrows_cur = 0;
    title_cur = title;
    if (o->json) {
        printf("%s\n  {\"title\": ", ntables++ ? "," : "");
        json_str(title);
        printf(", \"columns\": ");
        json_row(columns);
        printf(", \"rows\": [");
        return;
    }
    for (int i = 0; i < ncols_cur; i++)
        cells_cur[0][i] = strdup(columns[i]);
    nrows_cur = 1;
}

void bench_table_row(const bench_opts *o, const char *const *cells)
{
    if (o->json) {
        printf("%s\n    ", nrows_cur++ ? "," : "");
        json_row(cells);
        fflush(stdout);
        return;
    }
    if (nrows_cur > MAX_ROWS)
        return;
    for (int i = 0; i < ncols_cur; i++)
        cells_cur[nrows_cur][i] = strdup(cells[i]);
    nrows_cur++;
}

void bench_table_end(const bench_opts *o)
{
    if (o->json) {
        printf("]}");
        fflush(stdout);
        return;
    }
    int w[16] = {0};
    for (int r = 0; r < nrows_cur; r++)
        for (int i = 0; i < ncols_cur; i++)
            if ((int)strlen(cells_cur[r][i]) > w[i])
                w[i] = (int)strlen(cells_cur[r][i]);
    printf("\n%s\n\n", title_cur);
    for (int r = 0; r < nrows_cur; r++) {
        for (int i = 0; i < ncols_cur; i++) {
            /* Markdown: first two columns left, figures right. */
            printf(i < 2 ? "| %-*s " : "| %*s ", w[i], cells_cur[r][i]);
            free(cells_cur[r][i]);
        }
        printf("|\n");
        if (r == 0) {
            for (int i = 0; i < ncols_cur; i++) {
                printf("|");
                for (int k = 0; k < w[i] + 2; k++)
                    putchar(i >= 2 && k == w[i] + 1 ? ':' : '-');
            }
            printf("|\n");
        }
    }
    fflush(stdout);
}

const char *bench_fmt(const char *fmt, ...)
{
    static char ring[32][64];
    static int slot;
    char *s = ring[slot++ % 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof ring[0], fmt, ap);
    va_end(ap);
    return s;
}

const char *bench_size(size_t b)
{
    if (b >= (1u << 20) && b % (1u << 20) == 0)
        return bench_fmt("%zu MiB", b >> 20);
    if (b >= 1024 && b % 1024 == 0)
        return bench_fmt("%zu KiB", b >> 10);
    return bench_fmt("%zu B", b);
}

uint64_t bench_allocs;

void *bench_malloc(size_t n)
{
    bench_allocs++;
    return malloc(n);
}

void *bench_realloc(void *p, size_t n)
{
    bench_allocs++;
    return realloc(p, n);
}

void bench_free(void *p) { free(p); }

void bench_random(void *p, size_t n, uint64_t seed)
{
    uint8_t *b = p;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (uint8_t)(x >> 24);
    }
}

static const struct {
    const char *name;
    void (*run)(const bench_opts *);
} suites[] = {
    {"mask", bench_mask},
    {"frame", bench_frame},
    {"utf8", bench_utf8},
    {"parser", bench_parser},
    {"conn", bench_conn},
    {"md", bench_md},
    {"deflate", bench_deflate},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: zws-bench [--json] [--quick] [--reps N] [SUITE...]\n"
               "suites: mask frame utf8 parser conn md deflate (default: all)\n"
               "  --json     print the tables as JSON\n"
               "  --quick    fewer, shorter repetitions (a smoke run)\n"
               "  --reps N   repetitions per figure (1-64, default 7): each figure\n"
               "             is their median, with (min-max) where a table shows it\n");
}

int main(int argc, char **argv)
{
    bench_opts o = {.json = 0, .reps = 7, .min_time = 0.05};
    int want[sizeof suites / sizeof suites[0]] = {0};
    int any = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o.json = 1;
        } else if (strcmp(argv[i], "--quick") == 0) {
            o.reps = 3;
            o.min_time = 0.01;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            o.reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            size_t k;
            for (k = 0; k < sizeof suites / sizeof suites[0]; k++)
                if (strcmp(argv[i], suites[k].name) == 0)
                    break;
            if (k == sizeof suites / sizeof suites[0]) {
                fprintf(stderr, "zws-bench: unknown argument '%s'\n", argv[i]);
                usage(stderr);
                return 1;
            }
            want[k] = any = 1;
        }
    }
    int err = zws_simd_init();
    if (err) {
        fprintf(stderr, "zws-bench: ZWS_SIMD=%s: %s\n", getenv("ZWS_SIMD"),
                zws_strerror(err));
        return 1;
    }
    zws_set_allocator(bench_malloc, bench_realloc, bench_free);
    if (o.json)
        printf("{\"zws\": \"%s\", \"mask_kernel\": \"%s\", \"utf8_kernel\": "
               "\"%s\", \"reps\": %d, \"tables\": [",
               zws_version_string(), zws_mask_kernel(), zws_utf8_kernel(), o.reps);
    else
        printf("zws %s bench: mask kernel %s, utf8 kernel %s; figures are the "
               "median of %d repetitions, (min-max) where shown\n",
               zws_version_string(), zws_mask_kernel(), zws_utf8_kernel(), o.reps);
    for (size_t k = 0; k < sizeof suites / sizeof suites[0]; k++)
        if (!any || want[k])
            suites[k].run(&o);
    if (o.json)
        printf("\n]}\n");
    return 0;
}
