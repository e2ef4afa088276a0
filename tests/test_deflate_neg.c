/* permessage-deflate negotiation (RFC 7692 §7): the client's offer strings,
 * the server's pick among offers (every parameter, every decline falling
 * through to the next offer, malformed headers), the client's check of the
 * answer with its reasons, a round trip over a grid of both sides' options
 * whose parameters must mirror each other, and zws_opts_set_deflate. */
#include "testutil.h"

#include "internal/deflate.h"
#include "internal/opts.h"

#define EXT "Sec-WebSocket-Extensions"

static zws__pmd_cfg cfg(int snct, int cnct, int smwb, int cmwb)
{
    zws__pmd_cfg c = {1, snct, cnct, smwb, cmwb, 6, 8, 0};
    return c;
}

static zws_http_header hdr(const char *v)
{
    zws_http_header h = {EXT, strlen(EXT), v, strlen(v)};
    return h;
}

static zws__pmd_params params(int our_nct, int peer_nct, int our_bits, int peer_bits)
{
    zws__pmd_params p = {our_nct, peer_nct, our_bits, peer_bits};
    return p;
}

static void same_params(const char *ctx, const zws__pmd_params *got, const zws__pmd_params *want)
{
    if (got->our_no_context_takeover != want->our_no_context_takeover ||
        got->peer_no_context_takeover != want->peer_no_context_takeover ||
        got->our_window_bits != want->our_window_bits ||
        got->peer_window_bits != want->peer_window_bits)
        fail_msg("%s: got our_nct %d peer_nct %d our_bits %d peer_bits %d, want %d %d %d %d", ctx,
                 got->our_no_context_takeover, got->peer_no_context_takeover,
                 got->our_window_bits, got->peer_window_bits, want->our_no_context_takeover,
                 want->peer_no_context_takeover, want->our_window_bits, want->peer_window_bits);
}

/* ---- client offers ---- */

static void offer_is(zws__pmd_cfg c, const char *want)
{
    char buf[ZWS__PMD_HEADER_MAX];
    memset(buf, 'x', sizeof buf);
    int n = zws__pmd_offer(&c, buf, sizeof buf);
    if (n < 0 || strcmp(buf, want) != 0 || (size_t)n != strlen(want))
        fail_msg("offer: got %d \"%s\", want \"%s\"", n, n < 0 ? "" : buf, want);
}

static void test_offer_strings(void **state)
{
    (void)state;
    offer_is(cfg(0, 0, 0, 0), "permessage-deflate; client_max_window_bits");
    offer_is(cfg(0, 0, 0, 10), "permessage-deflate; client_max_window_bits=10");
    offer_is(cfg(0, 0, 9, 0), "permessage-deflate; client_max_window_bits; server_max_window_bits=9");
    offer_is(cfg(1, 0, 0, 0), "permessage-deflate; client_max_window_bits; server_no_context_takeover");
    offer_is(cfg(0, 1, 0, 15), "permessage-deflate; client_max_window_bits=15; client_no_context_takeover");
    offer_is(cfg(1, 1, 12, 11),
             "permessage-deflate; client_max_window_bits=11; server_max_window_bits=12; "
             "server_no_context_takeover; client_no_context_takeover");
}

static void test_offer_space(void **state)
{
    (void)state;
    zws__pmd_cfg c = cfg(1, 1, 15, 15);
    char buf[ZWS__PMD_HEADER_MAX];
    int n = zws__pmd_offer(&c, buf, sizeof buf);
    assert_true(n > 0 && n < ZWS__PMD_HEADER_MAX);
    char small[ZWS__PMD_HEADER_MAX];
    assert_int_equal(zws__pmd_offer(&c, small, (size_t)n + 1), n);
    assert_string_equal(small, buf);
    assert_int_equal(zws__pmd_offer(&c, small, (size_t)n), ZWS_ENOSPACE);
    assert_string_equal(small, "");
    assert_int_equal(zws__pmd_offer(&c, small, 0), ZWS_ENOSPACE);
}

/* ---- server: accepting offers ---- */

static void accept_is(zws__pmd_cfg c, const char *offer, const char *want_resp,
                      zws__pmd_params want)
{
    zws_http_header h = hdr(offer);
    zws__pmd_params p;
    char resp[ZWS__PMD_HEADER_MAX];
    int r = zws__pmd_accept(&c, &h, 1, &p, resp, sizeof resp);
    if (r != 1)
        fail_msg("accept \"%s\": %d, want 1", offer, r);
    if (strcmp(resp, want_resp) != 0)
        fail_msg("accept \"%s\": answered \"%s\", want \"%s\"", offer, resp, want_resp);
    same_params(offer, &p, &want);
}

static void declined(zws__pmd_cfg c, const char *offer)
{
    zws_http_header h = hdr(offer);
    zws__pmd_params p;
    char resp[ZWS__PMD_HEADER_MAX] = "junk";
    int r = zws__pmd_accept(&c, &h, 1, &p, resp, sizeof resp);
    if (r != 0)
        fail_msg("accept \"%s\": %d (\"%s\"), want a decline", offer, r, resp);
    assert_string_equal(resp, "");
    assert_int_equal(p.our_window_bits, 0);
}

static const char PMD[] = "permessage-deflate";

static void test_accept_plain(void **state)
{
    (void)state;
    accept_is(cfg(0, 0, 0, 0), PMD, PMD, params(0, 0, 15, 15));
    accept_is(cfg(0, 0, 0, 0), " ,  permessage-deflate  , ", PMD, params(0, 0, 15, 15));
}

/* Each parameter alone in the offer, then all together. */
static void test_accept_offer_params(void **state)
{
    (void)state;
    zws__pmd_cfg c = cfg(0, 0, 0, 0);
    accept_is(c, "permessage-deflate; server_no_context_takeover",
              "permessage-deflate; server_no_context_takeover", params(1, 0, 15, 15));
    accept_is(c, "permessage-deflate; client_no_context_takeover",
              "permessage-deflate; client_no_context_takeover", params(0, 1, 15, 15));
    accept_is(c, "permessage-deflate; server_max_window_bits=10",
              "permessage-deflate; server_max_window_bits=10", params(0, 0, 10, 15));
    accept_is(c, "permessage-deflate; server_max_window_bits=9",
              "permessage-deflate; server_max_window_bits=9", params(0, 0, 9, 15));
    accept_is(c, "permessage-deflate; server_max_window_bits=15",
              "permessage-deflate; server_max_window_bits=15", params(0, 0, 15, 15));
    accept_is(c, "permessage-deflate; client_max_window_bits", PMD, params(0, 0, 15, 15));
    accept_is(c, "permessage-deflate; client_max_window_bits=9", PMD, params(0, 0, 15, 9));
    /* We only inflate what the client compresses: 8 is fine. */
    accept_is(c, "permessage-deflate; client_max_window_bits=8", PMD, params(0, 0, 15, 8));
    accept_is(c,
              "permessage-deflate; client_max_window_bits=12; server_max_window_bits=11; "
              "client_no_context_takeover; server_no_context_takeover",
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=11",
              params(1, 1, 11, 12));
}

/* Each server option alone against a few offers. */
static void test_accept_server_cfg(void **state)
{
    (void)state;
    accept_is(cfg(1, 0, 0, 0), PMD, "permessage-deflate; server_no_context_takeover",
              params(1, 0, 15, 15));
    accept_is(cfg(0, 1, 0, 0), PMD, "permessage-deflate; client_no_context_takeover",
              params(0, 1, 15, 15));
    accept_is(cfg(0, 1, 0, 0), "permessage-deflate; client_no_context_takeover",
              "permessage-deflate; client_no_context_takeover", params(0, 1, 15, 15));

    zws__pmd_cfg s10 = cfg(0, 0, 10, 0);
    accept_is(s10, PMD, "permessage-deflate; server_max_window_bits=10", params(0, 0, 10, 15));
    accept_is(s10, "permessage-deflate; server_max_window_bits=12",
              "permessage-deflate; server_max_window_bits=10", params(0, 0, 10, 15));
    accept_is(s10, "permessage-deflate; server_max_window_bits=9",
              "permessage-deflate; server_max_window_bits=9", params(0, 0, 9, 15));

    zws__pmd_cfg c10 = cfg(0, 0, 0, 10);
    /* Not offered: never sent, and the client may use 15. */
    accept_is(c10, PMD, PMD, params(0, 0, 15, 15));
    accept_is(c10, "permessage-deflate; client_max_window_bits",
              "permessage-deflate; client_max_window_bits=10", params(0, 0, 15, 10));
    accept_is(c10, "permessage-deflate; client_max_window_bits=12",
              "permessage-deflate; client_max_window_bits=10", params(0, 0, 15, 10));
    accept_is(c10, "permessage-deflate; client_max_window_bits=9",
              "permessage-deflate; client_max_window_bits=9", params(0, 0, 15, 9));
    accept_is(c10, "permessage-deflate; client_max_window_bits=8",
              "permessage-deflate; client_max_window_bits=8", params(0, 0, 15, 8));

    accept_is(cfg(1, 1, 12, 9), "permessage-deflate; client_max_window_bits",
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=12; client_max_window_bits=9",
              params(1, 1, 12, 9));
}

/* Each invalid or unservable offer is declined alone, and passed over for a
 * valid one after it. */
static void test_accept_declines(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=07",
        "permessage-deflate; server_max_window_bits=015",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=1",
        "permessage-deflate; server_max_window_bits=x",
        "permessage-deflate; server_max_window_bits=\"x\"",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=9.0",
        "permessage-deflate; client_max_window_bits=07",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=\"x\"",
        "permessage-deflate; client_max_window_bits=150",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"true\"",
        "permessage-deflate; server_no_context_takeover; max_window_bits=10",
    };
    zws__pmd_cfg c = cfg(0, 0, 0, 0);
    char two[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        declined(c, bad[i]);
        declined(cfg(1, 1, 12, 12), bad[i]);
        snprintf(two, sizeof two, "%s, permessage-deflate; client_max_window_bits=11", bad[i]);
        accept_is(c, two, PMD, params(0, 0, 15, 11));
    }
}

static void test_accept_order(void **state)
{
    (void)state;
    zws__pmd_cfg c = cfg(0, 0, 0, 0);
    accept_is(c, "permessage-deflate; server_max_window_bits=10, permessage-deflate",
              "permessage-deflate; server_max_window_bits=10", params(0, 0, 10, 15));
    accept_is(c, "permessage-deflate, permessage-deflate; server_max_window_bits=10", PMD,
              params(0, 0, 15, 15));
    accept_is(c,
              "permessage-deflate; server_max_window_bits=8, "
              "permessage-deflate; client_max_window_bits=12, "
              "permessage-deflate; server_no_context_takeover",
              PMD, params(0, 0, 15, 12));
    /* Other extensions are passed over, whatever their parameters. */
    accept_is(c, "x-webkit-deflate-frame; no_context_takeover, foo; server_max_window_bits=8, "
                 "permessage-deflate; client_no_context_takeover",
              "permessage-deflate; client_no_context_takeover", params(0, 1, 15, 15));
    declined(c, "x-webkit-deflate-frame");
    declined(c, "permessage-deflatex, deflate-frame; a=b");
    declined(c, "");
    /* Offers over several header lines, in order. */
    zws_http_header h[3] = {hdr("foo"), {"Host", 4, "example.com", 11},
                            hdr("permessage-deflate; server_max_window_bits=11, permessage-deflate")};
    zws__pmd_params p;
    char resp[ZWS__PMD_HEADER_MAX];
    assert_int_equal(zws__pmd_accept(&c, h, 3, &p, resp, sizeof resp), 1);
    assert_string_equal(resp, "permessage-deflate; server_max_window_bits=11");
    assert_int_equal(p.our_window_bits, 11);
    assert_int_equal(zws__pmd_accept(&c, h, 0, &p, resp, sizeof resp), 0);
    assert_int_equal(zws__pmd_accept(&c, NULL, 0, &p, resp, sizeof resp), 0);
    /* Options with compression off accept nothing. */
    zws__pmd_cfg off = c;
    off.enabled = 0;
    assert_int_equal(zws__pmd_accept(&off, h, 3, &p, resp, sizeof resp), 0);
    assert_string_equal(resp, "");
}

static void test_accept_quoted_and_case(void **state)
{
    (void)state;
    zws__pmd_cfg c = cfg(0, 0, 0, 0);
    accept_is(c, "permessage-deflate; server_max_window_bits=\"10\"",
              "permessage-deflate; server_max_window_bits=10", params(0, 0, 10, 15));
    accept_is(c, "permessage-deflate; client_max_window_bits=\"9\"", PMD, params(0, 0, 15, 9));
    accept_is(c, "permessage-deflate;server_max_window_bits = 12 ;client_max_window_bits",
              "permessage-deflate; server_max_window_bits=12", params(0, 0, 12, 15));
    /* Names compare without regard to case, as the handshake's check of
     * offered extensions does. */
    accept_is(c, "PerMessage-Deflate; Server_No_Context_Takeover",
              "permessage-deflate; server_no_context_takeover", params(1, 0, 15, 15));
    declined(c, "permessage-deflate; server_max_window_bits=\"08\"");
}

static void test_accept_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=\"\"",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate; ; server_no_context_takeover",
        "permessage-deflate, foo;;",
        "permessage-deflate; a; b; c; d; e; f; g; h; i",
        "; permessage-deflate",
        "permessage-deflate ;  ",
    };
    zws__pmd_cfg c = cfg(0, 0, 0, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zws_http_header h = hdr(bad[i]);
        zws__pmd_params p;
        char resp[ZWS__PMD_HEADER_MAX] = "junk";
        int r = zws__pmd_accept(&c, &h, 1, &p, resp, sizeof resp);
        if (r != ZWS_EHTTP)
            fail_msg("accept \"%s\": %d, want ZWS_EHTTP", bad[i], r);
        assert_string_equal(resp, "");
    }
    /* Too small for the answer. */
    zws_http_header h = hdr("permessage-deflate; server_no_context_takeover");
    zws__pmd_params p;
    char resp[20];
    assert_int_equal(zws__pmd_accept(&c, &h, 1, &p, resp, sizeof resp), ZWS_ENOSPACE);
    assert_string_equal(resp, "");
    assert_int_equal(p.our_window_bits, 0);
}

/* ---- client: checking the answer ---- */

static void response_is(zws__pmd_cfg c, const char *value, zws__pmd_params want)
{
    zws_http_header h = hdr(value);
    zws__pmd_params p;
    const char *why = "junk";
    int r = zws__pmd_response(&c, &h, 1, &p, &why);
    if (r != 1)
        fail_msg("response \"%s\": %d (%s), want 1", value, r, why ? why : "no reason");
    assert_null(why);
    same_params(value, &p, &want);
}

static void response_bad(zws__pmd_cfg c, const char *value, const char *why_part)
{
    zws_http_header h = hdr(value);
    zws__pmd_params p;
    const char *why = NULL;
    int r = zws__pmd_response(&c, &h, 1, &p, &why);
    if (r != ZWS_EHANDSHAKE)
        fail_msg("response \"%s\": %d, want ZWS_EHANDSHAKE (%s)", value, r, why_part);
    if (!why || !strstr(why, why_part))
        fail_msg("response \"%s\": reason \"%s\" lacks \"%s\"", value, why ? why : "(none)",
                 why_part);
    /* The reason is NULL-safe too. */
    assert_int_equal(zws__pmd_response(&c, &h, 1, &p, NULL), ZWS_EHANDSHAKE);
}

static void test_response_accept(void **state)
{
    (void)state;
    zws__pmd_cfg d = cfg(0, 0, 0, 0);
    response_is(d, PMD, params(0, 0, 15, 15));
    response_is(d, "permessage-deflate; server_no_context_takeover", params(0, 1, 15, 15));
    response_is(d, "permessage-deflate; client_no_context_takeover", params(1, 0, 15, 15));
    /* Not offered, but a server may always limit its own window. */
    response_is(d, "permessage-deflate; server_max_window_bits=10", params(0, 0, 15, 10));
    response_is(d, "permessage-deflate; server_max_window_bits=8", params(0, 0, 15, 8));
    response_is(d, "permessage-deflate; client_max_window_bits=9", params(0, 0, 9, 15));
    response_is(d, "permessage-deflate; client_max_window_bits=\"12\"", params(0, 0, 12, 15));
    response_is(d,
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                "server_max_window_bits=11; client_max_window_bits=13",
                params(1, 1, 13, 11));
    /* Other extensions are not ours to judge. */
    response_is(d, "foo; bar=1, permessage-deflate", params(0, 0, 15, 15));

    /* What we offered and the server agreed to, or left to us. */
    response_is(cfg(1, 0, 0, 0), "permessage-deflate; server_no_context_takeover",
                params(0, 1, 15, 15));
    response_is(cfg(0, 1, 0, 0), PMD, params(1, 0, 15, 15));
    response_is(cfg(0, 0, 12, 0), "permessage-deflate; server_max_window_bits=12",
                params(0, 0, 15, 12));
    response_is(cfg(0, 0, 12, 0), "permessage-deflate; server_max_window_bits=9",
                params(0, 0, 15, 9));
    response_is(cfg(0, 0, 0, 12), PMD, params(0, 0, 12, 15));
    response_is(cfg(0, 0, 0, 12), "permessage-deflate; client_max_window_bits=12",
                params(0, 0, 12, 15));
    response_is(cfg(0, 0, 0, 12), "permessage-deflate; client_max_window_bits=10",
                params(0, 0, 10, 15));
}

static void test_response_reject(void **state)
{
    (void)state;
    zws__pmd_cfg d = cfg(0, 0, 0, 0);
    response_bad(d, "permessage-deflate, permessage-deflate", "more than one");
    response_bad(d, "permessage-deflate; foo", "unknown");
    response_bad(d, "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                 "duplicate");
    response_bad(d, "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
                 "duplicate");
    response_bad(d, "permessage-deflate; server_no_context_takeover=1", "with a value");
    response_bad(d, "permessage-deflate; client_no_context_takeover=x", "with a value");
    response_bad(d, "permessage-deflate; client_max_window_bits", "without a value");
    response_bad(d, "permessage-deflate; server_max_window_bits", "without a value");
    response_bad(d, "permessage-deflate; server_max_window_bits=16", "from 8 to 15");
    response_bad(d, "permessage-deflate; server_max_window_bits=09", "from 8 to 15");
    response_bad(d, "permessage-deflate; client_max_window_bits=7", "from 8 to 15");
    response_bad(d, "permessage-deflate; client_max_window_bits=\"x\"", "from 8 to 15");
    response_bad(d, "permessage-deflate; client_max_window_bits=8", "8-bit window");
    response_bad(d, "permessage-deflate; server_max_window_bits=", "malformed");
    response_bad(cfg(0, 0, 0, 10), "permessage-deflate; client_max_window_bits=11",
                 "client_max_window_bits larger than offered");
    response_bad(cfg(0, 0, 10, 0), PMD, "server ignored server_max_window_bits");
    response_bad(cfg(0, 0, 10, 0), "permessage-deflate; server_max_window_bits=11",
                 "server_max_window_bits larger than offered");
    response_bad(cfg(1, 0, 0, 0), PMD, "server ignored server_no_context_takeover");
    response_bad(cfg(1, 0, 0, 0), "permessage-deflate; client_no_context_takeover",
                 "server ignored server_no_context_takeover");
}

static void test_response_none(void **state)
{
    (void)state;
    zws__pmd_cfg c = cfg(1, 1, 10, 10);
    zws__pmd_params p;
    const char *why = "junk";
    assert_int_equal(zws__pmd_response(&c, NULL, 0, &p, &why), 0);
    assert_null(why);
    zws_http_header h[2] = {{"Upgrade", 7, "websocket", 9}, hdr("x-other; a=1")};
    assert_int_equal(zws__pmd_response(&c, h, 2, &p, &why), 0);
    assert_null(why);
    assert_int_equal(p.our_window_bits, 0);
}

/* ---- both sides ---- */

/* The client's offer, accepted by the server, its answer checked by the
 * client: one side's our_* is the other's peer_*, and both keep what their
 * own options asked. */
static void round_trip(zws__pmd_cfg cl, zws__pmd_cfg sv)
{
    char offer[ZWS__PMD_HEADER_MAX], resp[ZWS__PMD_HEADER_MAX];
    assert_true(zws__pmd_offer(&cl, offer, sizeof offer) > 0);
    zws_http_header oh = hdr(offer);
    zws__pmd_params sp, cp;
    int r = zws__pmd_accept(&sv, &oh, 1, &sp, resp, sizeof resp);
    if (r != 1)
        fail_msg("server declined \"%s\": %d", offer, r);
    zws_ext_offer parsed;
    assert_int_equal(zws_ext_parse(resp, strlen(resp), &parsed), 0);
    zws_http_header rh = hdr(resp);
    const char *why = NULL;
    r = zws__pmd_response(&cl, &rh, 1, &cp, &why);
    if (r != 1)
        fail_msg("client refused \"%s\" to \"%s\": %d %s", resp, offer, r, why ? why : "");
    if (sp.our_no_context_takeover != cp.peer_no_context_takeover ||
        sp.peer_no_context_takeover != cp.our_no_context_takeover ||
        sp.our_window_bits != cp.peer_window_bits || sp.peer_window_bits != cp.our_window_bits)
        fail_msg("offer \"%s\", answer \"%s\": server %d %d %d %d, client %d %d %d %d", offer,
                 resp, sp.our_no_context_takeover, sp.peer_no_context_takeover,
                 sp.our_window_bits, sp.peer_window_bits, cp.our_no_context_takeover,
                 cp.peer_no_context_takeover, cp.our_window_bits, cp.peer_window_bits);
    /* Each side's own requests hold. */
    assert_true(cp.our_window_bits >= 9 && cp.our_window_bits <= 15);
    assert_true(sp.our_window_bits >= 9 && sp.our_window_bits <= 15);
    if (cl.client_max_window_bits)
        assert_true(cp.our_window_bits <= cl.client_max_window_bits);
    if (cl.server_max_window_bits)
        assert_true(cp.peer_window_bits <= cl.server_max_window_bits);
    if (sv.server_max_window_bits)
        assert_true(sp.our_window_bits <= sv.server_max_window_bits);
    if (sv.client_max_window_bits)
        assert_true(sp.peer_window_bits <= sv.client_max_window_bits);
    if (cl.server_no_context_takeover || sv.server_no_context_takeover)
        assert_int_equal(sp.our_no_context_takeover, 1);
    if (cl.client_no_context_takeover || sv.client_no_context_takeover)
        assert_int_equal(cp.our_no_context_takeover, 1);
}

static void test_round_trip_grid(void **state)
{
    (void)state;
    static const int bits[] = {0, 9, 12, 15};
    size_t runs = 0;
    for (int a = 0; a < 64; a++) {
        zws__pmd_cfg cl = cfg(a & 1, a >> 1 & 1, bits[a >> 2 & 3], bits[a >> 4 & 3]);
        for (int b = 0; b < 64; b++) {
            zws__pmd_cfg sv = cfg(b & 1, b >> 1 & 1, bits[b >> 2 & 3], bits[b >> 4 & 3]);
            round_trip(cl, sv);
            runs++;
        }
    }
    assert_int_equal(runs, 64 * 64);
}

/* The options as zws_opts_set_deflate stores them reach both sides. */
static void test_round_trip_opts(void **state)
{
    (void)state;
    zws_opts *co, *so;
    assert_int_equal(zws_opts_new(&co), 0);
    assert_int_equal(zws_opts_new(&so), 0);
    zws_deflate_opts cd = {0}, sd = {0};
    cd.client_max_window_bits = 10;
    cd.server_no_context_takeover = 5;
    sd.server_max_window_bits = 11;
    sd.client_max_window_bits = 9;
    assert_int_equal(zws_opts_set_deflate(co, &cd), 0);
    assert_int_equal(zws_opts_set_deflate(so, &sd), 0);
    round_trip(co->pmd, so->pmd);
    char offer[ZWS__PMD_HEADER_MAX], resp[ZWS__PMD_HEADER_MAX];
    assert_true(zws__pmd_offer(&co->pmd, offer, sizeof offer) > 0);
    assert_string_equal(offer, "permessage-deflate; client_max_window_bits=10; "
                               "server_no_context_takeover");
    zws_http_header h = hdr(offer);
    zws__pmd_params p;
    assert_int_equal(zws__pmd_accept(&so->pmd, &h, 1, &p, resp, sizeof resp), 1);
    assert_string_equal(resp, "permessage-deflate; server_no_context_takeover; "
                              "server_max_window_bits=11; client_max_window_bits=9");
    same_params(resp, &p, &(zws__pmd_params){1, 0, 11, 9});
    zws_opts_free(co);
    zws_opts_free(so);
}

/* ---- zws_opts_set_deflate ---- */

static void test_opts_set_deflate(void **state)
{
    (void)state;
    zws_opts *o;
    assert_int_equal(zws_opts_new(&o), 0);
    assert_int_equal(o->pmd.enabled, 0); /* off by default */
    assert_int_equal(o->pmd.level, 6);
    assert_int_equal(o->pmd.mem_level, 8);

    zws_deflate_opts d = {0};
    assert_int_equal(zws_opts_set_deflate(o, &d), 0);
    assert_int_equal(o->pmd.enabled, 1);
    assert_int_equal(o->pmd.level, 6);
    assert_int_equal(o->pmd.mem_level, 8);
    assert_int_equal(o->pmd.server_max_window_bits, 0);
    assert_int_equal(o->pmd.client_max_window_bits, 0);
    assert_int_equal(o->pmd.threshold, 0);

    d = (zws_deflate_opts){7, -1, 9, 15, 9, 1, 100};
    assert_int_equal(zws_opts_set_deflate(o, &d), 0);
    assert_int_equal(o->pmd.server_no_context_takeover, 1);
    assert_int_equal(o->pmd.client_no_context_takeover, 1);
    assert_int_equal(o->pmd.server_max_window_bits, 9);
    assert_int_equal(o->pmd.client_max_window_bits, 15);
    assert_int_equal(o->pmd.level, 9);
    assert_int_equal(o->pmd.mem_level, 1);
    assert_int_equal(o->pmd.threshold, 100);

    /* Copies carry it. */
    zws_opts *c;
    assert_int_equal(zws__opts_copy(&c, o), 0);
    assert_memory_equal(&c->pmd, &o->pmd, sizeof o->pmd);
    zws_opts_free(c);

    /* Out of range: refused, nothing changed. */
    zws__pmd_cfg before = o->pmd;
    static const zws_deflate_opts bad[] = {
        {0, 0, 8, 0, 0, 0, 0},  {0, 0, 0, 8, 0, 0, 0},  {0, 0, 16, 0, 0, 0, 0},
        {0, 0, 0, 16, 0, 0, 0}, {0, 0, 1, 0, 0, 0, 0},  {0, 0, -1, 0, 0, 0, 0},
        {0, 0, 0, 0, 10, 0, 0}, {0, 0, 0, 0, -1, 0, 0}, {0, 0, 0, 0, 0, 10, 0},
        {0, 0, 0, 0, 0, -1, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(zws_opts_set_deflate(o, &bad[i]), ZWS_EINVAL);
        assert_memory_equal(&o->pmd, &before, sizeof before);
    }

    assert_int_equal(zws_opts_set_deflate(o, NULL), 0);
    assert_int_equal(o->pmd.enabled, 0);
    assert_int_equal(o->pmd.level, 6);
    assert_int_equal(o->pmd.server_no_context_takeover, 0);
    zws_opts_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_strings),
        cmocka_unit_test(test_offer_space),
        cmocka_unit_test(test_accept_plain),
        cmocka_unit_test(test_accept_offer_params),
        cmocka_unit_test(test_accept_server_cfg),
        cmocka_unit_test(test_accept_declines),
        cmocka_unit_test(test_accept_order),
        cmocka_unit_test(test_accept_quoted_and_case),
        cmocka_unit_test(test_accept_malformed),
        cmocka_unit_test(test_response_accept),
        cmocka_unit_test(test_response_reject),
        cmocka_unit_test(test_response_none),
        cmocka_unit_test(test_round_trip_grid),
        cmocka_unit_test(test_round_trip_opts),
        cmocka_unit_test(test_opts_set_deflate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
