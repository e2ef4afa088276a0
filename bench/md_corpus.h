/* The market-data benchmarks' messages: the same ones for zws-bench (C) and
 * zws-bench-simdjson (C++). */
#ifndef ZWS_BENCH_MD_CORPUS_H
#define ZWS_BENCH_MD_CORPUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MD_CORPUS_TICKER_STREAM: bookTicker in the combined streams' envelope,
 * {"stream":"<symbol>@bookTicker","data":{...}}, as a consumer of several
 * streams receives it. */
enum {
    MD_CORPUS_TICKER = 0,
    MD_CORPUS_TRADE = 1,
    MD_CORPUS_DEPTH20 = 2,
    MD_CORPUS_TICKER_STREAM = 3,
    MD_CORPUS_KINDS = 4
};

/* Calls each(msg, len, ud) for n messages of one kind from the generator
 * (seed 9, btcusdt and ethusdt in turn). Returns 0, or -1 when the
 * generator cannot start. */
int md_corpus(int kind, int n, void (*each)(const char *msg, size_t len, void *ud), void *ud);

#ifdef __cplusplus
}
#endif
#endif
