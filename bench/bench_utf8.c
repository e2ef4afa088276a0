/* UTF-8 validation throughput: each kernel this CPU runs against the
 * byte-at-a-time DFA (no ASCII fast path), the naive baseline, on ASCII and
 * on mixed text (accented Latin, CJK, emoji). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "internal/cpu.h"
#include "internal/utf8.h"

struct job {
    zws__utf8_run_fn run;
    const uint8_t *p;
    size_t len;
};

static void run_job(void *ctx, uint64_t n)
{
    const struct job *j = ctx;
    for (uint64_t i = 0; i < n; i++) {
        size_t bad = 0;
        uint32_t s = j->run(ZWS__UTF8_ACCEPT, j->p, j->len, &bad);
        bench_sink(&s);
    }
}

static const char *const ascii_words[] = {
    "the",  "quick", "brown",     "fox",      "jumps",  "over",
    "lazy", "dog,",  "price",     "64123.50", "volume", "order",
    "book", "trade", "{\"e\":1}", "market.",
};
/* Mixed text: one list per width so the proportions are chosen, not luck. */
static const char *const latin_words[] = {
    "café",  "naïve",   "Zürich", "señor",  "français",
    "élève", "Ålesund", "Kraków", "Straße", "coöperate",
};
static const char *const cjk_words[] = {
    "東京", "天気", "日本語", "中文", "한국어", "株式市場", "価格", "取引",
};
static const char *const emoji_words[] = {
    "😀", "🚀", "👍🏽", "📈", "🎉", "🔥",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick(const char *const *list, size_t n, uint64_t r)
{
    return list[r % n];
}

/* Exactly len bytes of valid text: words and spaces, padded with spaces. */
static void make_text(uint8_t *p, size_t len, int mixed, uint64_t seed)
{
    size_t i = 0;
    uint64_t r[1];
    for (uint64_t k = 0;; k++) {
        bench_random(r, sizeof r, seed + k);
        const char *w;
        unsigned roll = (unsigned)(r[0] >> 40) % 20;
        if (!mixed || roll < 10)
            w = pick(ascii_words, COUNT(ascii_words), r[0]);
        else if (roll < 15)
            w = pick(latin_words, COUNT(latin_words), r[0]);
        else if (roll < 18)
            w = pick(cjk_words, COUNT(cjk_words), r[0]);
        else
            w = pick(emoji_words, COUNT(emoji_words), r[0]);
        size_t n = strlen(w);
        if (i + n + 1 > len)
            break;
        memcpy(p + i, w, n);
        p[i + n] = ' ';
        i += n + 1;
    }
    memset(p + i, ' ', len - i);
    if (zws__utf8_dfa(ZWS__UTF8_ACCEPT, p, len, NULL) != ZWS__UTF8_ACCEPT) {
        fprintf(stderr, "bench_utf8: generated text is not valid UTF-8\n");
        abort();
    }
}

static double gbps(const bench_opts *o, zws__utf8_run_fn run, const uint8_t *p,
                   size_t len)
{
    struct job j = {run, p, len};
    return (double)len / bench_measure(o, run_job, &j) / 1e9;
}

/* One row: the DFA baseline, then each kernel with its ratio to it. */
static void row(const bench_opts *o, const struct zws__utf8_kernel *const *ks,
                size_t nk, const uint8_t *p, size_t len, int mixed)
{
    const char *cells[3 + 2 * 8];
    int c = 0;
    double base = gbps(o, zws__utf8_dfa, p, len);
    cells[c++] = mixed ? "mixed" : "ascii";
    cells[c++] = bench_size(len);
    cells[c++] = bench_fmt("%.2f", base);
    for (size_t k = 0; k < nk; k++) {
        double g = gbps(o, ks[k]->run, p, len);
        cells[c++] = bench_fmt("%.2f", g);
        cells[c++] = bench_fmt("%.1fx", g / base);
    }
    bench_table_row(o, cells);
}

void bench_utf8(const bench_opts *o)
{
    static const size_t sizes[] = {64, 1u << 10, 64u << 10, 1u << 20};
    const struct zws__utf8_kernel *ks[8];
    size_t nk = 0;
    for (size_t i = 0; i < zws__utf8_nkernels && nk < 8; i++)
        if (zws__cpu_supports(zws__utf8_kernels[i].level))
            ks[nk++] = &zws__utf8_kernels[i];

    const char *cols[3 + 2 * 8];
    int ncols = 0;
    cols[ncols++] = "text";
    cols[ncols++] = "size";
    cols[ncols++] = "dfa GB/s";
    for (size_t k = 0; k < nk; k++) {
        cols[ncols++] = bench_fmt("%s GB/s", ks[k]->name);
        cols[ncols++] = bench_fmt("%s x", ks[k]->name);
    }
    bench_table_begin(o,
                      "utf8: validation, GB/s and ratio to the "
                      "byte-at-a-time DFA",
                      cols, ncols);
    size_t biggest = sizes[COUNT(sizes) - 1];
    uint8_t *buf = malloc(biggest);
    if (!buf) {
        fprintf(stderr, "bench_utf8: out of memory\n");
        return;
    }
    for (int mixed = 0; mixed < 2; mixed++)
        for (size_t s = 0; s < COUNT(sizes); s++) {
            make_text(buf, sizes[s], mixed, 42 + s);
            row(o, ks, nk, buf, sizes[s], mixed);
        }
    bench_table_end(o);
    free(buf);
}
