/* The market-data extractor on arbitrary bytes: no crash, no over-read (the
 * input is an exact-size copy), every view inside the input, level counts
 * within the storage, and parsing is a function of its input (a second
 * parse gives the same result), and the SIMD readers answer as the portable
 * ones do (where this machine has them). The first byte picks the scale and the
 * storage size; depth messages then go through an order book, so its
 * ladder and sync procedure meet odd prices and ids too. */
#include <stdlib.h>
#include <string.h>

#include "zws/md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static zws_md_level storage[4096];
static zws_md_book *book;
static unsigned runs;

static void check_view(zws_md_view v, const uint8_t *s, size_t n)
{
    if (v.len && ((const uint8_t *)v.p < s || (const uint8_t *)v.p + v.len > s + n))
        abort();
}

static zws_md_level other[4096];

/* Every field equal (views by address, levels by value). */
static void check_same(const zws_md_msg *a, const zws_md_msg *b)
{
    if (a->kind != b->kind || a->stream.p != b->stream.p || a->stream.len != b->stream.len ||
        a->symbol.p != b->symbol.p || a->symbol.len != b->symbol.len ||
        a->event_time != b->event_time || a->trade_time != b->trade_time || a->id != b->id ||
        a->first_id != b->first_id || a->last_id != b->last_id || a->px != b->px ||
        a->qty != b->qty || a->buyer_maker != b->buyer_maker ||
        a->buyer_order_id != b->buyer_order_id || a->seller_order_id != b->seller_order_id ||
        a->bid_px != b->bid_px || a->bid_qty != b->bid_qty || a->ask_px != b->ask_px ||
        a->ask_qty != b->ask_qty || a->nbids != b->nbids || a->nasks != b->nasks ||
        a->result.p != b->result.p || a->result.len != b->result.len ||
        a->err_code != b->err_code || a->err_msg.p != b->err_msg.p ||
        a->err_msg.len != b->err_msg.len)
        abort();
    for (size_t i = 0; i < a->nbids; i++)
        if (a->bids[i].px != b->bids[i].px || a->bids[i].qty != b->bids[i].qty)
            abort();
    for (size_t i = 0; i < a->nasks; i++)
        if (a->asks[i].px != b->asks[i].px || a->asks[i].qty != b->asks[i].qty)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned knob = data[0];
    size_t n = size - 1;
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data + 1, n);
    size_t cap = (size_t)(knob & 0x0f) * 256 + (knob & 1);
    if (cap > sizeof storage / sizeof storage[0])
        cap = sizeof storage / sizeof storage[0];
    zws_md_parser p;
    zws_md_parser_init(&p, storage, cap);
    p.decimals = (int)(knob >> 4) + 2; /* 2..17 */
    zws_md_msg m, m2;
    int r = zws_md_parse(&p, copy, n, &m);
    if (r > 0 || r < ZWS_MD_EKIND)
        abort();
    if (r < 0 && (!p.what || p.at > n))
        abort();
    if (p.simd) {
        zws_md_parser q;
        zws_md_msg mq;
        zws_md_parser_init(&q, other, cap);
        q.decimals = p.decimals;
        q.simd = 0;
        int rq = zws_md_parse(&q, copy, n, &mq);
        if (rq != r || (r < 0 && q.at != p.at)) /* fast or not may differ: reach */
            abort();
        if (r == 0)
            check_same(&m, &mq);
    }
    if (r == 0) {
        if (m.kind <= ZWS_MD_NONE || m.kind >= ZWS_MD_KIND_COUNT)
            abort();
        check_view(m.stream, copy, n);
        check_view(m.symbol, copy, n);
        check_view(m.result, copy, n);
        check_view(m.err_msg, copy, n);
        if (m.nbids + m.nasks > cap)
            abort();
        int r2 = zws_md_parse(&p, copy, n, &m2);
        if (r2 != 0 || m2.kind != m.kind || m2.id != m.id || m2.nbids != m.nbids)
            abort();
        if (!book || ++runs % 512 == 0) {
            zws_md_book_free(book);
            book = NULL;
            if (zws_md_book_new(&book))
                abort();
        }
        if (m.kind == ZWS_MD_DEPTH_UPDATE)
            (void)zws_md_book_event(book, &m);
        else if (m.kind == ZWS_MD_DEPTH_PARTIAL)
            (void)zws_md_book_snapshot(book, &m);
        zws_md_level best;
        if (zws_md_book_best(book, 1, &best) && best.qty <= 0)
            abort();
    }
    free(copy);
    return 0;
}
