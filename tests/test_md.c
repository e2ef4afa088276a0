/* libzws_md: the extractor (known messages, decimals, malformed input, a
 * differential run against jansson), the order book and its sync
 * procedure, the generator's book against the book kept from its own
 * diff-depth stream, and the feed's fast mode across a pause. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka needs these first. */
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>

#include "zws/md.h"
#include "zws/zws.h"

static zws_md_level storage[10000];

static int parse(const char *s, zws_md_msg *m, zws_md_parser *p)
{
    zws_md_parser_init(p, storage, sizeof storage / sizeof storage[0]);
    return zws_md_parse(p, (const uint8_t *)s, strlen(s), m);
}

static int view_is(zws_md_view v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* Two parses agree in every field but the views. */
static void assert_same_values(const zws_md_msg *a, const zws_md_msg *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->event_time, b->event_time);
    assert_int_equal(a->trade_time, b->trade_time);
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->first_id, b->first_id);
    assert_int_equal(a->last_id, b->last_id);
    assert_int_equal(a->px, b->px);
    assert_int_equal(a->qty, b->qty);
    assert_int_equal(a->buyer_maker, b->buyer_maker);
    assert_int_equal(a->buyer_order_id, b->buyer_order_id);
    assert_int_equal(a->seller_order_id, b->seller_order_id);
    assert_int_equal(a->bid_px, b->bid_px);
    assert_int_equal(a->bid_qty, b->bid_qty);
    assert_int_equal(a->ask_px, b->ask_px);
    assert_int_equal(a->ask_qty, b->ask_qty);
    assert_int_equal(a->nbids, b->nbids);
    assert_int_equal(a->nasks, b->nasks);
    for (size_t i = 0; i < a->nbids; i++) {
        assert_int_equal(a->bids[i].px, b->bids[i].px);
        assert_int_equal(a->bids[i].qty, b->bids[i].qty);
    }
    for (size_t i = 0; i < a->nasks; i++) {
        assert_int_equal(a->asks[i].px, b->asks[i].px);
        assert_int_equal(a->asks[i].qty, b->asks[i].qty);
    }
    assert_int_equal(a->err_code, b->err_code);
    assert_int_equal(a->stream.len, b->stream.len);
    assert_int_equal(a->symbol.len, b->symbol.len);
    assert_int_equal(a->result.len, b->result.len);
    assert_int_equal(a->err_msg.len, b->err_msg.len);
}

/* Two parses of the same bytes agree in every field, views by address. */
static void assert_same_msg(const zws_md_msg *a, const zws_md_msg *b)
{
    assert_same_values(a, b);
    assert_ptr_equal(a->stream.p, b->stream.p);
    assert_ptr_equal(a->symbol.p, b->symbol.p);
    assert_ptr_equal(a->result.p, b->result.p);
    assert_ptr_equal(a->err_msg.p, b->err_msg.p);
}

/* The readers this machine has: 1 when the SIMD ones are among them. */
static int simd_readers(void)
{
    zws_md_parser p;
    zws_md_parser_init(&p, NULL, 0);
    return p.simd;
}

/* ---- known messages (the exchange's documented examples) ---- */

static void test_trade(void **st)
{
    (void)st;
    zws_md_msg m;
    zws_md_parser p;
    assert_int_equal(parse("{\"e\":\"trade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"t\":12345678901,"
                           "\"p\":\"0.001\",\"q\":\"100\",\"T\":1672515782134,\"m\":true,\"M\":true}",
                           &m, &p),
                     0);
    assert_int_equal(m.kind, ZWS_MD_TRADE);
    assert_int_equal(m.event_time, 1672515782136);
    assert_int_equal(m.trade_time, 1672515782134);
    assert_true(view_is(m.symbol, "BNBBTC"));
    assert_int_equal(m.id, 12345678901); /* past 2^32 */
    assert_int_equal(m.px, 100000);
    assert_int_equal(m.qty, 10000000000);
    assert_int_equal(m.buyer_maker, 1);
    /* the older form with order ids in "b" and "a" */
    assert_int_equal(parse("{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":2,\"p\":\"1\",\"q\":\"1\","
                           "\"b\":88,\"a\":50,\"T\":1,\"m\":false,\"M\":true}",
                           &m, &p),
                     0);
    assert_int_equal(m.buyer_order_id, 88);
    assert_int_equal(m.seller_order_id, 50);
    assert_int_equal(m.buyer_maker, 0);
}

static void test_agg_trade(void **st)
{
    (void)st;
    zws_md_msg m;
    zws_md_parser p;
    assert_int_equal(parse("{\"e\":\"aggTrade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"a\":12345,"
                           "\"p\":\"0.001\",\"q\":\"100\",\"f\":100,\"l\":105,\"T\":1672515782136,"
                           "\"m\":true,\"M\":true}",
                           &m, &p),
                     0);
    assert_int_equal(m.kind, ZWS_MD_AGG_TRADE);
    assert_int_equal(m.id, 12345);
    assert_int_equal(m.first_id, 100);
    assert_int_equal(m.last_id, 105);
}

static void test_book_ticker(void **st)
{
    (void)st;
    zws_md_msg m;
    zws_md_parser p;
    assert_int_equal(parse("{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\","
                           "\"B\":\"31.21000000\",\"a\":\"25.36520000\",\"A\":\"40.66000000\"}",
                           &m, &p),
                     0);
    assert_int_equal(m.kind, ZWS_MD_BOOK_TICKER);
    assert_int_equal(m.id, 400900217);
    assert_int_equal(m.event_time, -1); /* spot's bookTicker has no "E" */
    assert_int_equal(m.bid_px, 2535190000);
    assert_int_equal(m.bid_qty, 3121000000);
    assert_int_equal(m.ask_px, 2536520000);
    assert_int_equal(m.ask_qty, 4066000000);
    /* a string where a price belongs to a level array is a type error */
    assert_int_equal(parse("{\"u\":1,\"s\":\"X\",\"b\":[],\"B\":\"1\",\"a\":\"1\",\"A\":\"1\"}", &m,
                           &p),
                     ZWS_MD_ETYPE);
}

static void test_depth(void **st)
{
    (void)st;
    zws_md_msg m;
    zws_md_parser p;
    assert_int_equal(parse("{\"e\":\"depthUpdate\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"U\":157,"
                           "\"u\":160,\"b\":[[\"0.0024\",\"10\"]],\"a\":[[\"0.0026\",\"100\"],"
                           "[\"0.0027\",\"0\"]]}",
                           &m, &p),
                     0);
    assert_int_equal(m.kind, ZWS_MD_DEPTH_UPDATE);
    assert_int_equal(m.first_id, 157);
    assert_int_equal(m.last_id, 160);
    assert_int_equal(m.id, 160);
    assert_int_equal(m.nbids, 1);
    assert_int_equal(m.nasks, 2);
    assert_int_equal(m.bids[0].px, 240000);
    assert_int_equal(m.bids[0].qty, 1000000000);
    assert_int_equal(m.asks[1].px, 270000);
    assert_int_equal(m.asks[1].qty, 0);
    /* partial book, through the combined-stream envelope: no symbol */
    assert_int_equal(parse("{\"stream\":\"bnbbtc@depth5\",\"data\":{\"lastUpdateId\":160,"
                           "\"bids\":[[\"0.0024\",\"10\"]],\"asks\":[[\"0.0026\",\"100\"]]}}",
                           &m, &p),
                     0);
    assert_int_equal(m.kind, ZWS_MD_DEPTH_PARTIAL);
    assert_true(view_is(m.stream, "bnbbtc@depth5"));
    assert_int_equal(m.symbol.len, 0);
    assert_int_equal(m.id, 160);
    assert_int_equal(m.nbids + m.nasks, 2);
    /* more levels than the storage: a clear error */
    zws_md_level two[2];
    zws_md_parser_init(&p, two, 2);
    const char *three = "{\"lastUpdateId\":1,\"bids\":[[\"1\",\"1\"],[\"2\",\"1\"]],"
                        "\"asks\":[[\"3\",\"1\"]]}";
    assert_int_equal(zws_md_parse(&p, (const uint8_t *)three, strlen(three), &m), ZWS_MD_ELEVELS);
}

static void test_control_messages(void **st)
{
    (void)st;
    zws_md_msg m;
    zws_md_parser p;
    assert_int_equal(parse("{\"result\":null,\"id\":1}", &m, &p), 0);
    assert_int_equal(m.kind, ZWS_MD_RESULT);
    assert_int_equal(m.id, 1);
    assert_true(view_is(m.result, "null"));
    assert_int_equal(parse("{\"result\":[\"btcusdt@trade\",\"btcusdt@depth\"],\"id\":3}", &m, &p),
                     0);
    assert_true(view_is(m.result, "[\"btcusdt@trade\",\"btcusdt@depth\"]"));
    assert_int_equal(parse("{\"error\":{\"code\":2,\"msg\":\"Invalid request: unknown "
                           "method\"},\"id\":7}",
                           &m, &p),
                     0);
    assert_int_equal(m.kind, ZWS_MD_ERROR);
    assert_int_equal(m.err_code, 2);
    assert_int_equal(m.id, 7);
    assert_true(view_is(m.err_msg, "Invalid request: unknown method"));
    assert_int_equal(parse("{\"code\":0,\"msg\":\"Unknown property\",\"id\":null}", &m, &p), 0);
    assert_int_equal(m.kind, ZWS_MD_ERROR);
    assert_int_equal(parse("{\"e\":\"serverShutdown\",\"E\":1}", &m, &p), 0);
    assert_int_equal(m.kind, ZWS_MD_SHUTDOWN);
}

static void test_decimal(void **st)
{
    (void)st;
    int64_t v;
    assert_int_equal(zws_md_decimal("25.35190000", 11, 8, &v), 0);
    assert_int_equal(v, 2535190000);
    assert_int_equal(zws_md_decimal("0", 1, 8, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(zws_md_decimal("-1.5", 4, 2, &v), 0);
    assert_int_equal(v, -150);
    assert_int_equal(zws_md_decimal("1.50", 4, 1, &v), 0); /* zeros past the scale are fine */
    assert_int_equal(v, 15);
    assert_int_equal(zws_md_decimal("1.55", 4, 1, &v), ZWS_MD_ERANGE); /* never rounded */
    assert_int_equal(zws_md_decimal("92233720368.54775807", 20, 8, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(zws_md_decimal("92233720368.54775808", 20, 8, &v), ZWS_MD_ERANGE);
    assert_int_equal(zws_md_decimal("99999999999999999999999", 23, 0, &v), ZWS_MD_ERANGE);
    const char *bad[] = {"", "-", ".", "1.", ".5", "1e5", "+1", "1 ", "0x10", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(zws_md_decimal(bad[i], strlen(bad[i]), 8, &v), ZWS_MD_ESYNTAX);
    char buf[32];
    size_t n = zws_md_format_decimal(buf, 2535190000, 8);
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "25.35190000", 11);
    n = zws_md_format_decimal(buf, -5, 2);
    assert_memory_equal(buf, "-0.05", n);
    n = zws_md_format_decimal(buf, 42, 0);
    assert_memory_equal(buf, "42", n);
}

/* ---- malformed input: each with the error it must give ---- */

static void test_malformed(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        int err;
    } cases[] = {
        {"", ZWS_MD_ESYNTAX},
        {"   ", ZWS_MD_ESYNTAX},
        {"{", ZWS_MD_ESYNTAX},
        {"{\"u\":1,", ZWS_MD_ESYNTAX},
        {"{\"u\":1 2}", ZWS_MD_ESYNTAX},
        {"[1,2]", ZWS_MD_EKIND},
        {"{}", ZWS_MD_EKIND},
        {"{\"e\":\"kline\",\"E\":1}", ZWS_MD_EKIND},
        {"{\"e\":\"trade\",\"E\":\"1\"}", ZWS_MD_ETYPE},
        {"{\"e\":\"trade\",\"E\":1.5}", ZWS_MD_ETYPE},
        {"{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":1.5}", ZWS_MD_ETYPE},
        {"{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":1}",
         ZWS_MD_ETYPE},
        {"{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1}",
         ZWS_MD_EMISSING},
        {"{\"e\":\"trade\",\"E\":99999999999999999999}", ZWS_MD_ERANGE},
        {"{\"e\":\"trade\",\"E\":9223372036854775808}", ZWS_MD_ERANGE},
        {"{\"u\":1,\"s\":\"X\",\"b\":\"1.123456789\",\"B\":\"1\",\"a\":\"1\",\"A\":\"1\"}",
         ZWS_MD_ERANGE},
        {"{\"u\":01}", ZWS_MD_ESYNTAX},
        {"{\"u\":1,\"u\":2}", ZWS_MD_EDUP},
        {"{\"x\":1,\"x\":2,\"u\":1}", ZWS_MD_EDUP},
        {"{\"x\":{\"y\":1,\"y\":2}}", ZWS_MD_EDUP},
        {"{\"s\":\"a\\qb\"}", ZWS_MD_ESYNTAX},
        {"{\"s\":\"a\\u12\"}", ZWS_MD_ESYNTAX},
        {"{\"s\":\"a\\ud800\"}", ZWS_MD_ESYNTAX},
        {"{\"s\":\"a\\udc00\"}", ZWS_MD_ESYNTAX},
        {"{\"s\":\"a\\u0000\"}", ZWS_MD_ESYNTAX},
        {"{\"s\":\"a\tb\"}", ZWS_MD_ESYNTAX},
        {"{\"s\":\"abc", ZWS_MD_ESYNTAX},
        {"{\"x\":tru}", ZWS_MD_ESYNTAX},
        {"{\"x\":-}", ZWS_MD_ESYNTAX},
        {"{\"x\":1.}", ZWS_MD_ESYNTAX},
        {"{\"x\":1e}", ZWS_MD_ESYNTAX},
        {"{\"u\":1}x", ZWS_MD_ESYNTAX},
        {"{\"stream\":\"a\"}", ZWS_MD_EMISSING},
        {"{\"stream\":\"a\",\"data\":[]}", ZWS_MD_ETYPE},
        {"{\"lastUpdateId\":1,\"bids\":[[\"1\"]],\"asks\":[]}", ZWS_MD_ESYNTAX},
        {"{\"lastUpdateId\":1,\"bids\":[[1,2]],\"asks\":[]}", ZWS_MD_ETYPE},
        {"{\"lastUpdateId\":1,\"bids\":{},\"asks\":[]}", ZWS_MD_ETYPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zws_md_msg m;
        zws_md_parser p;
        int r = parse(cases[i].in, &m, &p);
        if (r != cases[i].err)
            fail_msg("case %zu (%s): got %d (%s), want %d", i, cases[i].in, r,
                     p.what ? p.what : "-", cases[i].err);
        assert_non_null(p.what); /* every failure says why */
        assert_true(p.at <= strlen(cases[i].in));
    }
    /* deep nesting: refused before the stack is at risk */
    char deep[4096];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"x\":");
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    deep[n] = 0;
    zws_md_msg m;
    zws_md_parser p;
    assert_int_equal(parse(deep, &m, &p), ZWS_MD_EDEPTH);
}

/* Every prefix of every kind of message fails cleanly (truncation), and
 * the whole one parses. Bytes are copied to an exact-size allocation so a
 * read past the end is caught by the sanitizer build. */
static void test_truncated(void **st)
{
    (void)st;
    zws_md_gen *g;
    const char *syms[] = {"btcusdt"};
    assert_int_equal(zws_md_gen_new(&g, syms, 1, 7, 50), 0);
    char buf[8192];
    for (int kind = 0; kind < 5; kind++) {
        zws_md_gen_step(g, 0, 1000);
        size_t len = 0;
        switch (kind) {
        case 0: len = zws_md_gen_trade(g, 0, 1000, buf, sizeof buf); break;
        case 1: len = zws_md_gen_agg_trade(g, 0, 1000, buf, sizeof buf); break;
        case 2: len = zws_md_gen_book_ticker(g, 0, buf, sizeof buf); break;
        case 3: len = zws_md_gen_depth_update(g, 0, 1, 1000, buf, sizeof buf); break;
        case 4: len = zws_md_gen_depth(g, 0, 20, buf, sizeof buf); break;
        }
        assert_true(len > 0);
        for (size_t cut = 0; cut <= len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, buf, cut);
            for (int simd = 0; simd <= simd_readers(); simd++) {
                zws_md_msg m;
                zws_md_parser p;
                zws_md_parser_init(&p, storage, sizeof storage / sizeof storage[0]);
                p.simd = simd;
                int r = zws_md_parse(&p, copy, cut, &m);
                if (cut == len)
                    assert_int_equal(r, 0);
                else
                    assert_true(r < 0);
            }
            free(copy);
        }
    }
    zws_md_gen_free(g);
}

/* ---- the fast path's readers against the general parser ----
 * Messages in the feed's order with numbers of every shape around the fast
 * readers' limits (digits before and after the point, integer lengths,
 * leading zeros, signs, the payload's end right after a number), at several
 * scales: each reader's answer, fast or not, is the general parser's. The
 * general parser reads the same message with a space after its brace. */
static void check_against_general(const char *msg, int decimals)
{
    size_t len = strlen(msg);
    char spaced[512];
    assert_true(len + 1 < sizeof spaced);
    spaced[0] = '{';
    spaced[1] = ' ';
    memcpy(spaced + 2, msg + 1, len - 1);
    static zws_md_level ga[64], fa[64];
    zws_md_parser g, f;
    zws_md_msg gm, fm;
    zws_md_parser_init(&g, ga, 64);
    g.decimals = decimals;
    int gr = zws_md_parse(&g, (const uint8_t *)spaced, len + 1, &gm);
    assert_int_equal(g.fast, 0);
    for (int simd = 0; simd <= simd_readers(); simd++) {
        zws_md_parser_init(&f, fa, 64);
        f.decimals = decimals;
        f.simd = simd;
        int fr = zws_md_parse(&f, (const uint8_t *)msg, len, &fm);
        if (fr != gr)
            fail_msg("simd %d scale %d: %d, general %d: %s", simd, decimals, fr, gr, msg);
        if (fr)
            continue;
        assert_same_values(&fm, &gm);
        assert_memory_equal(fm.symbol.p, gm.symbol.p, fm.symbol.len);
        assert_memory_equal(fm.stream.p, gm.stream.p, fm.stream.len);
    }
}

static void test_fast_readers(void **st)
{
    (void)st;
    static const char *const decs[] = {
        "0", "7", "12", "0.1", "1.5", "25.35190000", "0.00000001", "89999.99000000",
        "1234567.12345678", "12345678.12345678", "123456789.1", "1.123456789", "1.1234567890",
        "1.12345678901", "00012.5", "-1.5", "1.", ".5", "1e5", "1.5e1", "+1", "1,5", "",
        "9999999999999999", "99999999.99999999", "0.0000000000", "12.30000000000",
        "1\\u0030", "1 "};
    static const char *const ints[] = {
        "0", "1", "9", "10", "400900217", "1000000365397", "123456789012345", "1234567890123456",
        "12345678901234567", "9223372036854775807", "9223372036854775808", "01", "-5", "1.0",
        "1e3", "2E2", "1.", "00"};
    static const int scales[] = {0, 2, 7, 8, 9, 10, 11};
    char msg[512];
    size_t nd = sizeof decs / sizeof decs[0], ni = sizeof ints / sizeof ints[0];
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        for (size_t i = 0; i < nd; i++) {
            for (size_t j = 0; j < nd; j += 3) {
                /* the decimal under test in each place, the last right at the end */
                snprintf(msg, sizeof msg,
                         "{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"%s\",\"B\":\"%s\","
                         "\"a\":\"%s\",\"A\":\"%s\"}",
                         decs[i], decs[j], decs[j], decs[i]);
                check_against_general(msg, scales[s]);
                /* and against the careful routine on its own (the general
                 * parser shares the fast path's eight-byte readers) */
                int64_t want_b, want_bq;
                int okb = zws_md_decimal(decs[i], strlen(decs[i]), scales[s], &want_b) == 0;
                int okq = zws_md_decimal(decs[j], strlen(decs[j]), scales[s], &want_bq) == 0;
                for (int simd = 0; simd <= simd_readers(); simd++) {
                    zws_md_parser p;
                    zws_md_msg m;
                    zws_md_parser_init(&p, NULL, 0);
                    p.decimals = scales[s];
                    p.simd = simd;
                    int r = zws_md_parse(&p, (const uint8_t *)msg, strlen(msg), &m);
                    assert_int_equal(r == 0, okb && okq);
                    if (r == 0) {
                        assert_int_equal(m.bid_px, want_b);
                        assert_int_equal(m.bid_qty, want_bq);
                        assert_int_equal(m.ask_qty, want_b);
                    }
                }
                snprintf(msg, sizeof msg, "{\"lastUpdateId\":5,\"bids\":[[\"%s\",\"%s\"]],"
                         "\"asks\":[[\"%s\",\"%s\"]]}", decs[i], decs[j], decs[j], decs[i]);
                check_against_general(msg, scales[s]);
            }
        }
        for (size_t i = 0; i < ni; i++) {
            snprintf(msg, sizeof msg,
                     "{\"e\":\"trade\",\"E\":%s,\"s\":\"BTCUSDT\",\"t\":%s,\"p\":\"1.5\","
                     "\"q\":\"2\",\"T\":%s,\"m\":true,\"M\":true}",
                     ints[i], ints[(i + 3) % ni], ints[i]);
            check_against_general(msg, scales[s]);
            snprintf(msg, sizeof msg,
                     "{\"u\":%s,\"s\":\"BNBUSDT\",\"b\":\"1\",\"B\":\"2\",\"a\":\"3\","
                     "\"A\":\"4\"}", ints[i]);
            check_against_general(msg, scales[s]);
        }
    }
    /* strings of every length up to past three loads, bare and enveloped;
     * the fast path takes them all */
    for (size_t n = 0; n < 50; n++) {
        char name[64];
        memset(name, 'a', n);
        name[n] = 0;
        snprintf(msg, sizeof msg, "{\"stream\":\"%s@bookTicker\",\"data\":{\"u\":5,\"s\":"
                 "\"%s\",\"b\":\"1.5\",\"B\":\"2\",\"a\":\"3\",\"A\":\"4.25000000\"}}", name, name);
        check_against_general(msg, 8);
        for (int simd = 0; simd <= simd_readers(); simd++) {
            zws_md_parser p;
            zws_md_msg m;
            zws_md_parser_init(&p, NULL, 0);
            p.simd = simd;
            assert_int_equal(zws_md_parse(&p, (const uint8_t *)msg, strlen(msg), &m), 0);
            assert_int_equal(p.fast, 1);
            assert_int_equal(m.stream.len, n + 11);
            assert_int_equal(m.symbol.len, n);
        }
    }
    /* empty books with no level storage at all: no offset on a NULL
     * (UBSan's pointer-overflow check in the sanitizer tree) */
    for (int simd = 0; simd <= simd_readers(); simd++) {
        static const char *const empty[] = {
            "{\"lastUpdateId\":160,\"bids\":[],\"asks\":[]}",
            "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\"b\":[],\"a\":[]}",
            "{\"lastUpdateId\":160, \"bids\":[],\"asks\":[]}"};
        for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
            zws_md_parser p;
            zws_md_msg m;
            zws_md_parser_init(&p, NULL, 0);
            p.simd = simd;
            assert_int_equal(zws_md_parse(&p, (const uint8_t *)empty[i], strlen(empty[i]), &m), 0);
            assert_int_equal(m.nbids + m.nasks, 0);
        }
    }
    /* and the readers do take the feed's usual shapes */
    zws_md_parser p;
    zws_md_msg m;
    assert_int_equal(parse("{\"u\":1000000365397,\"s\":\"BTCUSDT\",\"b\":\"89999.99000000\","
                           "\"B\":\"0.04189000\",\"a\":\"90000.00000000\",\"A\":\"7\"}",
                           &m, &p),
                     0);
    assert_int_equal(p.fast, 1);
    assert_int_equal(m.bid_px, 8999999000000);
    assert_int_equal(m.ask_qty, 700000000);
}

/* ---- differential: against jansson on generated and mutated messages ---- */

static int64_t j_int(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
}

/* A decimal string to fixed point another way: the digits without the
 * point, padded with zeros to 8 decimals, read by strtoll. */
static int64_t ref_decimal(const char *s)
{
    char d[64];
    size_t n = 0, frac = 0;
    int after = 0;
    for (; *s && n < 40; s++) {
        if (*s == '.') {
            after = 1;
            continue;
        }
        d[n++] = *s;
        frac += after;
    }
    while (frac < 8) {
        d[n++] = '0';
        frac++;
    }
    n -= frac - 8; /* past 8 decimals only zeros are accepted: drop them */
    d[n] = 0;
    return strtoll(d, NULL, 10);
}

static int64_t j_dec(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? ref_decimal(json_string_value(v)) : INT64_MIN;
}

static void check_levels(json_t *arr, const zws_md_level *lv, size_t n)
{
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(arr, i);
        assert_int_equal(ref_decimal(json_string_value(json_array_get(pair, 0))), lv[i].px);
        assert_int_equal(ref_decimal(json_string_value(json_array_get(pair, 1))), lv[i].qty);
    }
}

/* A view holds a string as sent: equal to the decoded one when it has no
 * escapes. */
static void check_view(json_t *s, zws_md_view v)
{
    assert_true(json_is_string(s));
    if (memchr(v.p, '\\', v.len))
        return;
    assert_int_equal(json_string_length(s), v.len);
    assert_memory_equal(json_string_value(s), v.p, v.len);
}

static void check_same(json_t *root, const zws_md_msg *m)
{
    json_t *o = root;
    if (m->stream.len) {
        check_view(json_object_get(root, "stream"), m->stream);
        o = json_object_get(root, "data");
    }
    if (m->symbol.len)
        check_view(json_object_get(o, "s"), m->symbol);
    switch (m->kind) {
    case ZWS_MD_TRADE:
        assert_int_equal(j_int(o, "E"), m->event_time);
        assert_int_equal(j_int(o, "t"), m->id);
        assert_int_equal(j_dec(o, "p"), m->px);
        assert_int_equal(j_dec(o, "q"), m->qty);
        assert_int_equal(json_is_true(json_object_get(o, "m")), m->buyer_maker);
        break;
    case ZWS_MD_AGG_TRADE:
        assert_int_equal(j_int(o, "a"), m->id);
        assert_int_equal(j_int(o, "f"), m->first_id);
        assert_int_equal(j_int(o, "l"), m->last_id);
        assert_int_equal(j_dec(o, "p"), m->px);
        break;
    case ZWS_MD_BOOK_TICKER:
        assert_int_equal(j_int(o, "u"), m->id);
        assert_int_equal(j_dec(o, "b"), m->bid_px);
        assert_int_equal(j_dec(o, "B"), m->bid_qty);
        assert_int_equal(j_dec(o, "a"), m->ask_px);
        assert_int_equal(j_dec(o, "A"), m->ask_qty);
        break;
    case ZWS_MD_DEPTH_UPDATE:
        assert_int_equal(j_int(o, "U"), m->first_id);
        assert_int_equal(j_int(o, "u"), m->last_id);
        check_levels(json_object_get(o, "b"), m->bids, m->nbids);
        check_levels(json_object_get(o, "a"), m->asks, m->nasks);
        break;
    case ZWS_MD_DEPTH_PARTIAL:
        assert_int_equal(j_int(o, "lastUpdateId"), m->id);
        check_levels(json_object_get(o, "bids"), m->bids, m->nbids);
        check_levels(json_object_get(o, "asks"), m->asks, m->nasks);
        break;
    default:
        break;
    }
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_differential(void **st)
{
    (void)st;
    long total = 1000000;
    const char *env = getenv("ZWS_MD_DIFF_N");
    if (env && *env)
        total = atol(env);
    const char *syms[] = {"btcusdt", "ethusdt", "solusdt"};
    zws_md_gen *g;
    assert_int_equal(zws_md_gen_new(&g, syms, 3, 42, 200), 0);
    static char buf[65536], wrapped[65536 + 64];
    long ok = 0, rejected_both = 0, fast = 0, kinds[ZWS_MD_KIND_COUNT] = {0};
    /* ASCII only: the payload of a text frame is valid UTF-8 (zws checked it) */
    static const char *const junk = "{}[]\",:\\0123456789.-etrufalsn \x01";
    for (long n = 0; n < total; n++) {
        size_t i = (size_t)(next_rand() % 3);
        int64_t now = 1700000000000 + n;
        zws_md_gen_step(g, i, now);
        size_t len = 0;
        switch (next_rand() % 6) {
        case 0: len = zws_md_gen_trade(g, i, now, buf, sizeof buf); break;
        case 1: len = zws_md_gen_agg_trade(g, i, now, buf, sizeof buf); break;
        case 2: len = zws_md_gen_book_ticker(g, i, buf, sizeof buf); break;
        case 3: len = zws_md_gen_depth_update(g, i, 1, now, buf, sizeof buf); break;
        case 4: len = zws_md_gen_depth(g, i, (int)(5 + next_rand() % 16), buf, sizeof buf); break;
        case 5:
            len = (size_t)snprintf(buf, sizeof buf, "{\"result\":null,\"id\":%ld}", n);
            break;
        }
        if (!len)
            continue;
        const char *msg = buf;
        if (next_rand() % 3 == 0) { /* the combined streams' envelope */
            int w = snprintf(wrapped, sizeof wrapped, "{\"stream\":\"%s@x\",\"data\":%.*s}",
                             zws_md_gen_lower(g, i), (int)len, buf);
            msg = wrapped;
            len = (size_t)w;
        } else {
            memcpy(wrapped, buf, len);
            msg = wrapped;
        }
        if (next_rand() % 4 == 0) { /* a space after the brace: the general path reads it */
            memmove(wrapped + 2, wrapped + 1, len - 1);
            wrapped[1] = ' ';
            len++;
        }
        int mutated = next_rand() % 5 == 0;
        if (mutated) { /* one to three random bytes changed, or a cut */
            int k = 1 + (int)(next_rand() % 3);
            for (int j = 0; j < k; j++)
                wrapped[next_rand() % len] = junk[next_rand() % strlen(junk)];
            if (next_rand() % 4 == 0)
                len = (size_t)(next_rand() % len);
        }
        zws_md_msg m;
        zws_md_parser p;
        zws_md_parser_init(&p, storage, sizeof storage / sizeof storage[0]);
        int r = zws_md_parse(&p, (const uint8_t *)msg, len, &m);
        if (p.simd) { /* the portable readers give the same, failures included */
            static zws_md_level other[10000];
            zws_md_msg m2;
            zws_md_parser p2;
            zws_md_parser_init(&p2, other, sizeof other / sizeof other[0]);
            p2.simd = 0;
            int r2 = zws_md_parse(&p2, (const uint8_t *)msg, len, &m2);
            assert_int_equal(r, r2);
            if (r == 0)
                assert_same_msg(&m, &m2);
            else
                assert_int_equal(p.at, p2.at);
        }
        /* the feed's own order, bare or in the envelope, takes the fast
         * path; a space after the brace never does */
        int plain = !mutated && msg[1] != ' ' && m.kind != ZWS_MD_RESULT;
        if (r == 0 && plain && !p.fast)
            fail_msg("a generated message missed the fast path: %.*s", (int)len, msg);
        if (r == 0 && msg[1] == ' ' && p.fast)
            fail_msg("the fast path took a message out of its order: %.*s", (int)len, msg);
        fast += p.fast;
        json_error_t je;
        json_t *root = json_loadb(msg, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK * 0,
                                  &je);
        if (!root) {
            /* jansson says it is not JSON: so must we */
            if (r >= 0)
                fail_msg("accepted what jansson rejects (%s): %.*s", je.text, (int)len, msg);
            rejected_both++;
            continue;
        }
        if (r == ZWS_MD_ESYNTAX)
            fail_msg("syntax error on valid JSON (%s at %zu): %.*s", p.what, p.at, (int)len, msg);
        if (r == 0) {
            if (getenv("ZWS_MD_DIFF_SHOW"))
                fprintf(stderr, "%.*s\n", (int)len, msg);
            check_same(root, &m);
            ok++;
            kinds[m.kind]++;
        } else if (!mutated) {
            fail_msg("rejected a generated message (%s): %.*s", p.what, (int)len, msg);
        }
        json_decref(root);
    }
    print_message("differential: %ld messages, %ld agreed in every field, %ld rejected by both\n",
                  total, ok, rejected_both);
    for (int k = ZWS_MD_TRADE; k <= ZWS_MD_DEPTH_PARTIAL; k++)
        assert_true(kinds[k] > 0);
    assert_true(kinds[ZWS_MD_RESULT] > 0);
    assert_true(ok > total / 2);
    assert_true(rejected_both > 0);
    assert_true(fast > total / 3);
    zws_md_gen_free(g);
}

/* ---- the order book ---- */

static void test_book_basic(void **st)
{
    (void)st;
    zws_md_book *b;
    assert_int_equal(zws_md_book_new(&b), 0);
    zws_md_level l;
    assert_int_equal(zws_md_book_best(b, 1, &l), 0);
    const int64_t T = 1000000; /* 0.01 */
    assert_int_equal(zws_md_book_set(b, 1, 100 * T, 5), 0);
    assert_int_equal(zws_md_book_set(b, 1, 99 * T, 6), 0);
    assert_int_equal(zws_md_book_set(b, 1, 101 * T, 7), 0);
    assert_int_equal(zws_md_book_set(b, 0, 102 * T, 8), 0);
    assert_int_equal(zws_md_book_set(b, 0, 105 * T, 9), 0);
    assert_int_equal(zws_md_book_best(b, 1, &l), 1);
    assert_int_equal(l.px, 101 * T);
    assert_int_equal(zws_md_book_best(b, 0, &l), 1);
    assert_int_equal(l.px, 102 * T);
    assert_int_equal(zws_md_book_set(b, 1, 101 * T, 0), 0); /* the best goes */
    assert_int_equal(zws_md_book_best(b, 1, &l), 1);
    assert_int_equal(l.px, 100 * T);
    assert_int_equal(l.qty, 5);
    zws_md_level lv[4];
    assert_int_equal(zws_md_book_levels(b, 1, lv, 4), 2);
    assert_int_equal(lv[1].px, 99 * T);
    /* a finer price than the tick learned so far, and one far away */
    assert_int_equal(zws_md_book_set(b, 0, 102 * T + T / 2, 3), 0);
    assert_int_equal(zws_md_book_best(b, 0, &l), 1);
    assert_int_equal(l.px, 102 * T);
    assert_int_equal(zws_md_book_set(b, 0, 102 * T, 0), 0);
    assert_int_equal(zws_md_book_best(b, 0, &l), 1);
    assert_int_equal(l.px, 102 * T + T / 2);
    assert_int_equal(zws_md_book_set(b, 0, 200000 * T, 1), 0);
    assert_int_equal(zws_md_book_levels(b, 0, lv, 4), 3);
    assert_int_equal(lv[2].px, 200000 * T);
    assert_int_equal(zws_md_book_depth(b, 0), 3);
    /* removing what is not there changes nothing */
    assert_int_equal(zws_md_book_set(b, 1, 7 * T, 0), 0);
    assert_int_equal(zws_md_book_depth(b, 1), 2);
    zws_md_book_free(b);
}

/* A price off the tick makes the tick finer and moves every level; one
 * that would need a ladder wider than its limit is refused, the book as it
 * was. */
static void test_book_retick(void **st)
{
    (void)st;
    zws_md_book *b;
    assert_int_equal(zws_md_book_new(&b), 0);
    const int64_t big = 4000000000000000000; /* the tick it teaches: no factor 3 */
    assert_int_equal(zws_md_book_set(b, 1, big, 5), 0);
    assert_int_equal(zws_md_book_set(b, 0, 2 * big, 7), 0);
    /* 3 shares only 1 with the tick: the ladder would span 4e18 ticks */
    assert_int_equal(zws_md_book_set(b, 1, 3, 1), ZWS_MD_ERANGE);
    zws_md_level l;
    assert_int_equal(zws_md_book_best(b, 1, &l), 1);
    assert_int_equal(l.px, big);
    assert_int_equal(l.qty, 5);
    assert_int_equal(zws_md_book_best(b, 0, &l), 1);
    assert_int_equal(l.px, 2 * big);
    assert_int_equal(zws_md_book_depth(b, 1), 1);
    assert_int_equal(zws_md_book_depth(b, 0), 1);
    /* a finer tick that fits still moves every level */
    zws_md_book_free(b);
    assert_int_equal(zws_md_book_new(&b), 0);
    assert_int_equal(zws_md_book_set(b, 1, 1000, 5), 0);
    assert_int_equal(zws_md_book_set(b, 1, 2000, 6), 0);
    assert_int_equal(zws_md_book_set(b, 1, 1500, 7), 0);
    assert_int_equal(zws_md_book_set(b, 1, 1001, 8), 0);
    zws_md_level lv[4];
    assert_int_equal(zws_md_book_levels(b, 1, lv, 4), 4);
    assert_int_equal(lv[0].px, 2000);
    assert_int_equal(lv[1].px, 1500);
    assert_int_equal(lv[2].px, 1001);
    assert_int_equal(lv[3].px, 1000);
    assert_int_equal(lv[3].qty, 5);
    zws_md_book_free(b);
}

/* Random sets and removals against a plain sorted array. */
static void test_book_random(void **st)
{
    (void)st;
    zws_md_book *b;
    assert_int_equal(zws_md_book_new(&b), 0);
    enum { N = 3000 };
    static int64_t ref[2][N]; /* qty by tick offset */
    memset(ref, 0, sizeof ref);
    const int64_t T = 1000, base = 50000;
    for (int it = 0; it < 200000; it++) {
        int bid = (int)(next_rand() & 1);
        int64_t k = (int64_t)(next_rand() % N);
        int64_t q = next_rand() % 3 ? (int64_t)(next_rand() % 1000) : 0;
        assert_int_equal(zws_md_book_set(b, bid, (base + k) * T, q), 0);
        ref[bid][k] = q;
        if (it % 20000 == 0 || it == 199999) {
            static zws_md_level got[N];
            for (int s = 0; s < 2; s++) {
                size_t n = zws_md_book_levels(b, s, got, N), j = 0;
                for (int64_t x = 0; x < N; x++) {
                    int64_t kk = s ? N - 1 - x : x;
                    if (!ref[s][kk])
                        continue;
                    assert_true(j < n);
                    assert_int_equal(got[j].px, (base + kk) * T);
                    assert_int_equal(got[j].qty, ref[s][kk]);
                    j++;
                }
                assert_int_equal(j, n);
                assert_int_equal(zws_md_book_depth(b, s), n);
            }
        }
    }
    zws_md_book_free(b);
}

static int parse_into(zws_md_parser *p, const char *s, size_t n, zws_md_msg *m)
{
    zws_md_parser_init(p, storage, sizeof storage / sizeof storage[0]);
    return zws_md_parse(p, (const uint8_t *)s, n, m);
}

static void test_book_sync(void **st)
{
    (void)st;
    zws_md_book *b;
    assert_int_equal(zws_md_book_new(&b), 0);
    zws_md_msg m;
    zws_md_parser p;
    char s[512];
#define EVENT(U, u, px, q)                                                                     \
    snprintf(s, sizeof s,                                                                      \
             "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":%d,\"u\":%d,\"b\":[[\"%s\","     \
             "\"%s\"]],\"a\":[]}",                                                             \
             U, u, px, q)
    /* buffered until the snapshot */
    EVENT(101, 103, "10.00", "1");
    assert_int_equal(parse_into(&p, s, strlen(s), &m), 0);
    assert_int_equal(zws_md_book_event(b, &m), ZWS_MD_BOOK_WAIT);
    EVENT(104, 106, "10.01", "2");
    assert_int_equal(parse_into(&p, s, strlen(s), &m), 0);
    assert_int_equal(zws_md_book_event(b, &m), ZWS_MD_BOOK_WAIT);
    /* a snapshot older than the first buffered event is refused */
    const char *old = "{\"lastUpdateId\":90,\"bids\":[[\"9.00\",\"1\"]],\"asks\":[]}";
    assert_int_equal(parse_into(&p, old, strlen(old), &m), 0);
    assert_int_equal(zws_md_book_snapshot(b, &m), ZWS_MD_BOOK_RESYNC);
    /* one inside the first event: that event applies (its older part is
     * already in the snapshot), the second too */
    const char *snap = "{\"lastUpdateId\":102,\"bids\":[[\"9.00\",\"1\"],[\"10.00\",\"5\"]],"
                       "\"asks\":[[\"11.00\",\"1\"]]}";
    assert_int_equal(parse_into(&p, snap, strlen(snap), &m), 0);
    assert_int_equal(zws_md_book_snapshot(b, &m), ZWS_MD_BOOK_LIVE);
    assert_int_equal(zws_md_book_update_id(b), 106);
    zws_md_level l;
    assert_int_equal(zws_md_book_best(b, 1, &l), 1);
    assert_int_equal(l.px, 1001000000);
    /* stale: ignored */
    EVENT(100, 105, "10.01", "0");
    assert_int_equal(parse_into(&p, s, strlen(s), &m), 0);
    assert_int_equal(zws_md_book_event(b, &m), ZWS_MD_BOOK_LIVE);
    assert_int_equal(zws_md_book_depth(b, 1), 3);
    /* in sequence */
    EVENT(107, 107, "10.01", "0");
    assert_int_equal(parse_into(&p, s, strlen(s), &m), 0);
    assert_int_equal(zws_md_book_event(b, &m), ZWS_MD_BOOK_LIVE);
    assert_int_equal(zws_md_book_depth(b, 1), 2);
    /* a gap: resync needed, the book is dropped */
    EVENT(109, 110, "10.02", "1");
    assert_int_equal(parse_into(&p, s, strlen(s), &m), 0);
    assert_int_equal(zws_md_book_event(b, &m), ZWS_MD_BOOK_RESYNC);
    assert_int_equal(zws_md_book_depth(b, 1), 0);
    const char *snap2 = "{\"lastUpdateId\":111,\"bids\":[[\"9.50\",\"1\"]],\"asks\":[]}";
    assert_int_equal(parse_into(&p, snap2, strlen(snap2), &m), 0);
    assert_int_equal(zws_md_book_snapshot(b, &m), ZWS_MD_BOOK_LIVE);
    assert_int_equal(zws_md_book_update_id(b), 111);
    zws_md_book_stats stt;
    zws_md_book_stats_get(b, &stt);
    assert_int_equal(stt.gaps, 1);
    assert_int_equal(stt.refused, 1);
    assert_int_equal(stt.stale, 2); /* the stale live one, and 109..110 replayed on snap2 */
    assert_int_equal(stt.snapshots, 2);
    zws_md_book_free(b);
#undef EVENT
}

/* The generator's book, followed through its own diff-depth stream with
 * events dropped now and then (gaps) and snapshots taken to resync, equals
 * the book kept from the stream. */
static void test_book_follows_generator(void **st)
{
    (void)st;
    const char *syms[] = {"btcusdt"};
    zws_md_gen *g;
    assert_int_equal(zws_md_gen_new(&g, syms, 1, 3, 1000), 0);
    zws_md_book *b;
    assert_int_equal(zws_md_book_new(&b), 0);
    static char buf[1 << 20];
    zws_md_msg m;
    zws_md_parser p;
    int resyncs = 0;
    for (int round = 0; round < 3000; round++) {
        for (int k = 0; k < 10; k++)
            zws_md_gen_step(g, 0, round);
        size_t n = zws_md_gen_depth_update(g, 0, 1, round, buf, sizeof buf);
        if (!n)
            continue;
        if (round % 500 == 250)
            continue; /* lost on the way: a gap */
        assert_int_equal(parse_into(&p, buf, n, &m), 0);
        int state = zws_md_book_event(b, &m);
        assert_true(state >= 0);
        if (state != ZWS_MD_BOOK_LIVE && round % 7 == 0) { /* the snapshot arrives later */
            n = zws_md_gen_depth(g, 0, 5000, buf, sizeof buf);
            assert_int_equal(parse_into(&p, buf, n, &m), 0);
            assert_true(zws_md_book_snapshot(b, &m) >= 0);
            resyncs++;
        }
    }
    assert_int_equal(zws_md_book_state(b), ZWS_MD_BOOK_LIVE);
    assert_true(resyncs >= 6);
    assert_int_equal(zws_md_book_update_id(b), zws_md_gen_update_id(g, 0));
    static zws_md_level want[1000], got[1000];
    for (int bid = 0; bid < 2; bid++) {
        size_t nw = zws_md_gen_levels(g, 0, bid, want, 1000);
        size_t ng = zws_md_book_levels(b, bid, got, 1000);
        assert_int_equal(nw, ng);
        assert_memory_equal(want, got, nw * sizeof *want);
    }
    zws_md_book_free(b);
    zws_md_gen_free(g);
}

/* ---- the feed ---- */

static void *feed_run(void *f)
{
    zws_md_feed_run(f);
    return NULL;
}

/* n messages from c, each within the read timeout. */
static void recv_n(zws_conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        zws_event ev;
        int r = zws_recv(c, &ev);
        if (r != ZWS_EV_MESSAGE)
            fail_msg("message %d of %d: %s", i, n, zws_strerror(r));
    }
}

/* Fast mode refills a client from the drain handler alone, which comes
 * only after output was written: while paused a fill sends nothing, so the
 * resumed feed has to start its clients again itself. */
static void test_feed_resume(void **st)
{
    (void)st;
    zws_md_feed_opts o;
    memset(&o, 0, sizeof o);
    o.quiet = 1;
    zws_md_feed *f;
    char err[256];
    assert_int_equal(zws_md_feed_new(&f, &o, err, sizeof err), 0);
    assert_int_equal(zws_md_feed_listen(f, "127.0.0.1", 0, err, sizeof err), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feed_run, f), 0);
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/ws/btcusdt@bookTicker", zws_md_feed_port(f));
    zws_opts *co;
    assert_int_equal(zws_opts_new(&co), 0);
    zws_opts_set_timeout(co, ZWS_TIMEOUT_READ, 500);
    zws_conn *c;
    if (zws_connect(&c, url, co, err, sizeof err))
        fail_msg("connect %s: %s", url, err);
    zws_opts_free(co);
    recv_n(c, 100000);
    zws_md_feed_pause(f, 1);
    /* what was queued before the pause (at most a few MiB), then silence */
    int r = 0;
    for (int i = 0; i < 1000000 && (r = zws_recv(c, &(zws_event){0})) == ZWS_EV_MESSAGE; i++)
        ;
    assert_int_equal(r, ZWS_ETIMEDOUT);
    zws_md_feed_pause(f, 0);
    recv_n(c, 100000);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    zws_md_feed_stop(f);
    pthread_join(t, NULL);
    zws_md_feed_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trade),
        cmocka_unit_test(test_agg_trade),
        cmocka_unit_test(test_book_ticker),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_control_messages),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_fast_readers),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_book_basic),
        cmocka_unit_test(test_book_retick),
        cmocka_unit_test(test_book_random),
        cmocka_unit_test(test_book_sync),
        cmocka_unit_test(test_book_follows_generator),
        cmocka_unit_test(test_feed_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
