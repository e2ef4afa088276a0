#include "md_corpus.h"

#include <stdio.h>

#include "zws/md.h"

int md_corpus(int kind, int n, void (*each)(const char *msg, size_t len, void *ud), void *ud)
{
    const char *syms[] = {"btcusdt", "ethusdt"};
    zws_md_gen *g;
    if (zws_md_gen_new(&g, syms, 2, 9, 1000))
        return -1;
    char one[4096], wrapped[4200];
    for (int i = 0; i < n; i++) {
        size_t s = (size_t)i % 2, len = 0;
        while (!len) {
            int what = zws_md_gen_step(g, s, 1700000000000 + i);
            if ((kind == MD_CORPUS_TICKER || kind == MD_CORPUS_TICKER_STREAM) &&
                (what & ZWS_MD_GEN_TOP))
                len = zws_md_gen_book_ticker(g, s, one, sizeof one);
            else if (kind == MD_CORPUS_TRADE && (what & ZWS_MD_GEN_TRADE))
                len = zws_md_gen_trade(g, s, 1700000000000 + i, one, sizeof one);
            else if (kind == MD_CORPUS_DEPTH20)
                len = zws_md_gen_depth(g, s, 20, one, sizeof one);
        }
        if (kind == MD_CORPUS_TICKER_STREAM) {
            int w = snprintf(wrapped, sizeof wrapped, "{\"stream\":\"%s@bookTicker\",\"data\":%.*s}",
                             syms[s], (int)len, one);
            each(wrapped, (size_t)w, ud);
            continue;
        }
        each(one, len, ud);
    }
    zws_md_gen_free(g);
    return 0;
}
