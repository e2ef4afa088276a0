/* Opening handshake: the HTTP head parser (every two-way split, every
 * rejection), lists and extension offers, keys, server and client
 * validation, the builders, and a full client-server round trip. */
#include "testutil.h"

#define MAXH 32

static const char RFC_KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char RFC_ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static const char RFC_REQUEST[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

static const char RFC_RESPONSE[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Protocol: chat\r\n"
    "\r\n";

/* A copy of exactly n bytes, so ASan sees any read past the input. */
static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

typedef struct req_result {
    int r;
    zws_http_request req;
    zws_http_header h[MAXH];
    char *buf;
} req_result;

static void parse_req_n(req_result *out, const char *s, size_t n, size_t max_head)
{
    out->buf = dup_exact(s, n);
    out->r = zws_http_parse_request(&out->req, out->buf, n, out->h, MAXH, max_head);
}

static int parse_req(req_result *out, const char *s)
{
    parse_req_n(out, s, strlen(s), 0);
    return out->r;
}

/* The views in *hs point into the parsed copy, so it is kept until the
 * next call of validate or check_response (or the end of the run). */
static char *validated;

static int validate(const char *s, zws_handshake_request *hs)
{
    static req_result p;
    free(validated);
    int r = parse_req(&p, s);
    validated = p.buf;
    assert_true(r > 0);
    return zws_handshake_validate_request(&p.req, hs);
}

static int free_validated(void **state)
{
    (void)state;
    free(validated);
    validated = NULL;
    return 0;
}

static int view_eq(const char *v, size_t n, const char *s)
{
    return v && strlen(s) == n && memcmp(v, s, n) == 0;
}

/* ---- keys ---- */

static void test_rfc_accept(void **state)
{
    (void)state;
    char out[ZWS_HANDSHAKE_ACCEPT_LEN + 1];
    assert_int_equal(zws_handshake_accept_key(RFC_KEY, strlen(RFC_KEY), out), 0);
    assert_string_equal(out, RFC_ACCEPT);
    char big[65];
    memset(big, 'A', sizeof big);
    assert_int_equal(zws_handshake_accept_key(big, 65, out), ZWS_EINVAL);
}

static void test_keys(void **state)
{
    (void)state;
    char a[ZWS_HANDSHAKE_KEY_LEN + 1], b[ZWS_HANDSHAKE_KEY_LEN + 1];
    assert_int_equal(zws_handshake_client_key(a), 0);
    assert_int_equal(zws_handshake_client_key(b), 0);
    assert_int_equal(strlen(a), 24);
    assert_true(zws_handshake_key_valid(a, 24));
    assert_string_not_equal(a, b);
    assert_true(zws_handshake_key_valid(RFC_KEY, 24));
    assert_false(zws_handshake_key_valid("AAAAAAAAAAAAAAAAAAAA", 20));     /* 15 bytes */
    assert_false(zws_handshake_key_valid("AAAAAAAAAAAAAAAAAAAAAAA=", 24)); /* 17 bytes */
    assert_false(zws_handshake_key_valid("AAAAAAAAAAAAAAAAAAAAAAAA", 24)); /* 18 bytes */
    assert_false(zws_handshake_key_valid("AAAAAAAAAAAAAAAAAAAAA*==", 24));
    assert_false(zws_handshake_key_valid("AAAAAAAAAAAAAAAAAAAAA=A=", 24));
    assert_false(zws_handshake_key_valid("AAAAAAAAAAAAAAAAAAAAAA", 22));
    assert_false(zws_handshake_key_valid(NULL, 0));
}

/* ---- request parsing ---- */

static void test_parse_rfc_request(void **state)
{
    (void)state;
    /* Frame bytes after the head are not part of it. */
    char in[sizeof RFC_REQUEST + 2];
    memcpy(in, RFC_REQUEST, sizeof RFC_REQUEST - 1);
    memcpy(in + sizeof RFC_REQUEST - 1, "\x81\x85", 2);
    req_result p;
    parse_req_n(&p, in, sizeof in - 1, 0);
    assert_int_equal(p.r, (int)strlen(RFC_REQUEST));
    assert_true(view_eq(p.req.method, p.req.method_len, "GET"));
    assert_true(view_eq(p.req.target, p.req.target_len, "/chat"));
    assert_int_equal(p.req.version_major, 1);
    assert_int_equal(p.req.version_minor, 1);
    assert_int_equal(p.req.num_headers, 7);
    assert_ptr_equal(p.req.headers, p.h);
    assert_true(view_eq(p.h[0].name, p.h[0].name_len, "Host"));
    assert_true(view_eq(p.h[0].value, p.h[0].value_len, "server.example.com"));
    assert_true(view_eq(p.h[5].value, p.h[5].value_len, "chat, superchat"));
    assert_true(p.h[0].name >= p.buf && p.h[0].name < p.buf + p.r); /* views, not copies */
    const zws_http_header *k = zws_http_find_header(p.h, 7, "sec-websocket-KEY");
    assert_non_null(k);
    assert_true(view_eq(k->value, k->value_len, RFC_KEY));
    assert_null(zws_http_find_header(p.h, 7, "Cookie"));
    assert_int_equal(zws_http_count_header(p.h, 7, "HOST"), 1);
    assert_null(p.req.error);
    free(p.buf);
}

static void test_parse_value_whitespace(void **state)
{
    (void)state;
    req_result p;
    assert_true(parse_req(&p, "GET / HTTP/1.1\r\nA:x\r\nB: \t y z \t\r\nC:\r\nD:   \r\n\r\n") > 0);
    assert_true(view_eq(p.h[0].value, p.h[0].value_len, "x"));
    assert_true(view_eq(p.h[1].value, p.h[1].value_len, "y z"));
    assert_int_equal(p.h[2].value_len, 0);
    assert_int_equal(p.h[3].value_len, 0);
    free(p.buf);
    /* obs-text in values is accepted, as HTTP allows. */
    assert_true(parse_req(&p, "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n") > 0);
    free(p.buf);
}

static void same_request(const req_result *a, const req_result *b)
{
    assert_int_equal(a->r, b->r);
    assert_int_equal(a->req.method - a->buf, b->req.method - b->buf);
    assert_int_equal(a->req.method_len, b->req.method_len);
    assert_int_equal(a->req.target - a->buf, b->req.target - b->buf);
    assert_int_equal(a->req.target_len, b->req.target_len);
    assert_int_equal(a->req.version_minor, b->req.version_minor);
    assert_int_equal(a->req.num_headers, b->req.num_headers);
    for (size_t i = 0; i < a->req.num_headers; i++) {
        assert_int_equal(a->h[i].name - a->buf, b->h[i].name - b->buf);
        assert_int_equal(a->h[i].name_len, b->h[i].name_len);
        assert_int_equal(a->h[i].value - a->buf, b->h[i].value - b->buf);
        assert_int_equal(a->h[i].value_len, b->h[i].value_len);
    }
}

static const char *const VALID_REQUESTS[] = {
    RFC_REQUEST,
    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    "GET http://h:8080/p?q=1 HTTP/1.9\r\nhost:h:8080\r\nupgrade:websocket\r\n"
    "connection:upgrade\r\nsec-websocket-key:AAAAAAAAAAAAAAAAAAAAAA==\r\n"
    "sec-websocket-version:13\r\n\r\n",
};

/* Every two-way split: the prefix needs more; the whole parses the same as
 * in one go, with trailing frame bytes. */
static void test_request_splits(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof VALID_REQUESTS / sizeof *VALID_REQUESTS; v++) {
        char in[1024];
        size_t head = strlen(VALID_REQUESTS[v]);
        memcpy(in, VALID_REQUESTS[v], head);
        memcpy(in + head, "\x88\x80", 2);
        req_result whole;
        parse_req_n(&whole, in, head + 2, 0);
        assert_int_equal(whole.r, (int)head);
        zws_handshake_request hs;
        assert_int_equal(zws_handshake_validate_request(&whole.req, &hs), 0);
        for (size_t k = 0; k <= head + 2; k++) {
            req_result part;
            parse_req_n(&part, in, k, 0);
            if (k < head) {
                assert_int_equal(part.r, 0);
            } else {
                same_request(&part, &whole);
            }
            free(part.buf);
        }
        free(whole.buf);
    }
}

static void expect_bad_request(const char *s, int err, const char *why)
{
    req_result p;
    assert_int_equal(parse_req(&p, s), err);
    assert_non_null(p.req.error);
    if (why && !strstr(p.req.error, why))
        fail_msg("error '%s' lacks '%s' for %s", p.req.error, why, s);
    free(p.buf);
}

static void test_request_rejections(void **state)
{
    (void)state;
    expect_bad_request("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", ZWS_EHTTP, "folding");
    expect_bad_request("GET / HTTP/1.1\r\n\tX: a\r\n\r\n", ZWS_EHTTP, "folding");
    expect_bad_request("GET / HTTP/1.1\r\nNoColon\r\n\r\n", ZWS_EHTTP, "colon");
    expect_bad_request("GET / HTTP/1.1\r\nHost : a\r\n\r\n", ZWS_EHTTP, "whitespace");
    expect_bad_request("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", ZWS_EHTTP, "header name");
    expect_bad_request("GET / HTTP/1.1\r\n: a\r\n\r\n", ZWS_EHTTP, "empty header name");
    expect_bad_request("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", ZWS_EHTTP, "control");
    expect_bad_request("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", ZWS_EHTTP, "control");
    expect_bad_request("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", ZWS_EHTTP, "bare CR");
    expect_bad_request("GET / HTTP/1.1\r\nX: a\n\r\n", ZWS_EHTTP, "bare LF");
    expect_bad_request("GET / HTTP/1.1\nX: a\r\n\r\n", ZWS_EHTTP, "bare LF");
    expect_bad_request("GET / HTTP/1.1\r\nX: a\r\n\n", ZWS_EHTTP, "bare LF");
    expect_bad_request("GET / HTTP/1.1\r\nX: a\r\n\rx", ZWS_EHTTP, "bare CR");
    expect_bad_request("GET  / HTTP/1.1\r\n\r\n", ZWS_EHTTP, "target");
    expect_bad_request("GET /  HTTP/1.1\r\n\r\n", ZWS_EHTTP, "version");
    expect_bad_request(" GET / HTTP/1.1\r\n\r\n", ZWS_EHTTP, "method");
    expect_bad_request("\r\nGET / HTTP/1.1\r\n\r\n", ZWS_EHTTP, "method");
    expect_bad_request("GET / http/1.1\r\n\r\n", ZWS_EHTTP, "version");
    expect_bad_request("GET / HTTP/1.10\r\n\r\n", ZWS_EHTTP, "junk");
    expect_bad_request("GET / HTTP/1\r\n\r\n", ZWS_EHTTP, "version");
    expect_bad_request("GET /\r\n\r\n", ZWS_EHTTP, "target");
    expect_bad_request("GET /a\x01 HTTP/1.1\r\n\r\n", ZWS_EHTTP, "target");
    expect_bad_request("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", ZWS_EHTTP, "target");
    expect_bad_request("G(T / HTTP/1.1\r\n\r\n", ZWS_EHTTP, "method");
    expect_bad_request("GET / HTTP/1.1 \r\n\r\n", ZWS_EHTTP, "junk");
}

static void test_limits(void **state)
{
    (void)state;
    /* A head of exactly max_head bytes fits; one byte less does not. */
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = strlen(s);
    req_result p;
    parse_req_n(&p, s, n, n);
    assert_int_equal(p.r, (int)n);
    free(p.buf);
    parse_req_n(&p, s, n, n - 1);
    assert_int_equal(p.r, ZWS_ETOOBIG);
    assert_non_null(strstr(p.req.error, "too large"));
    free(p.buf);
    /* Over the default 8 KiB, reported before the head is complete. */
    size_t big = 9000;
    char *b = malloc(big);
    memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
    memset(b + 19, 'a', big - 19);
    parse_req_n(&p, b, 8191, 0);
    assert_int_equal(p.r, 0);
    free(p.buf);
    parse_req_n(&p, b, 8192, 0);
    assert_int_equal(p.r, ZWS_ETOOBIG);
    free(p.buf);
    parse_req_n(&p, b, big, 0);
    assert_int_equal(p.r, ZWS_ETOOBIG);
    free(p.buf);
    free(b);
    /* Too many header fields. */
    char many[2048] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < MAXH + 1; i++)
        strcat(many, "X: y\r\n");
    strcat(many, "\r\n");
    expect_bad_request(many, ZWS_ETOOBIG, "too many");
    zws_http_request req;
    zws_http_header h[2];
    const char *two = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
    assert_int_equal(zws_http_parse_request(&req, two, strlen(two), h, 2, 0), (int)strlen(two));
    assert_int_equal(zws_http_parse_request(&req, two, strlen(two), h, 1, 0), ZWS_ETOOBIG);
    assert_int_equal(zws_http_parse_request(&req, NULL, 0, h, 2, 0), 0);
}

/* ---- response parsing ---- */

typedef struct res_result {
    int r;
    zws_http_response res;
    zws_http_header h[MAXH];
    char *buf;
} res_result;

static int parse_res_n(res_result *out, const char *s, size_t n)
{
    out->buf = dup_exact(s, n);
    out->r = zws_http_parse_response(&out->res, out->buf, n, out->h, MAXH, 0);
    return out->r;
}

static int parse_res(res_result *out, const char *s) { return parse_res_n(out, s, strlen(s)); }

static void test_response_splits(void **state)
{
    (void)state;
    static const char *const valid[] = {
        RFC_RESPONSE,
        "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
        "HTTP/1.0 503 \r\n\r\n",
    };
    for (size_t v = 0; v < sizeof valid / sizeof *valid; v++) {
        size_t head = strlen(valid[v]);
        char in[512];
        memcpy(in, valid[v], head);
        memcpy(in + head, "abc", 3);
        res_result whole;
        assert_int_equal(parse_res_n(&whole, in, head + 3), (int)head);
        for (size_t k = 0; k <= head + 3; k++) {
            res_result part;
            parse_res_n(&part, in, k);
            if (k < head) {
                assert_int_equal(part.r, 0);
            } else {
                assert_int_equal(part.r, whole.r);
                assert_int_equal(part.res.status, whole.res.status);
                assert_int_equal(part.res.reason - part.buf, whole.res.reason - whole.buf);
                assert_int_equal(part.res.reason_len, whole.res.reason_len);
                assert_int_equal(part.res.num_headers, whole.res.num_headers);
                for (size_t i = 0; i < whole.res.num_headers; i++)
                    assert_int_equal(part.h[i].value - part.buf, whole.h[i].value - whole.buf);
            }
            free(part.buf);
        }
        free(whole.buf);
    }
    res_result p;
    assert_true(parse_res(&p, RFC_RESPONSE) > 0);
    assert_int_equal(p.res.status, 101);
    assert_true(view_eq(p.res.reason, p.res.reason_len, "Switching Protocols"));
    free(p.buf);
    assert_true(parse_res(&p, "HTTP/1.1 200\r\n\r\n") > 0);
    assert_int_equal(p.res.reason_len, 0);
    free(p.buf);
}

static void test_response_rejections(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "HTTP/1.1 99 Low\r\n\r\n",       "HTTP/1.1 1010 X\r\n\r\n",
        "HTTP/1.1  101 X\r\n\r\n",       "HTTP/1.1 10a X\r\n\r\n",
        "HTTP/1.1 101 X\x01\r\n\r\n",   "HTTP/1.1 101 OK\n\r\n",
        "HTTP/11 101 OK\r\n\r\n",        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 101 OK\r\nA: b\r\n c\r\n\r\n",
        "HTTP/1.1 101 OK\r\nA b\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        res_result p;
        if (parse_res(&p, bad[i]) != ZWS_EHTTP)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(p.res.error);
        free(p.buf);
    }
}

/* ---- lists and extension offers ---- */

static void collect(const char *value1, const char *value2, const char *expect)
{
    zws_http_header h[3] = {
        {"Connection", 10, value1, strlen(value1)},
        {"Other", 5, "nope", 4},
        {"connection", 10, value2, strlen(value2)},
    };
    zws_http_list it;
    const char *e;
    size_t n;
    char got[256] = "";
    int r;
    zws_http_list_init(&it, h, 3, "CONNECTION");
    while ((r = zws_http_list_next(&it, &e, &n)) > 0) {
        strncat(got, e, n);
        strcat(got, "|");
    }
    assert_int_equal(r, 0);
    assert_string_equal(got, expect);
}

static void test_token_lists(void **state)
{
    (void)state;
    collect("keep-alive, Upgrade", "", "keep-alive|Upgrade|");
    collect(" , ,a,,b , ", "\tc\t", "a|b|c|");
    collect("a b, c", "", "a b|c|");
    collect("x; q=\"1,2\", y", "z=\"\\\"\"", "x; q=\"1,2\"|y|z=\"\\\"\"|");
    collect("", "", "");
    zws_http_header h[2] = {{"Connection", 10, "keep-alive, Upgrade", 19},
                            {"Upgrade", 7, "h2c, WebSocket", 14}};
    assert_true(zws_http_has_token(h, 2, "Connection", "upgrade"));
    assert_true(zws_http_has_token(h, 2, "connection", "KEEP-ALIVE"));
    assert_false(zws_http_has_token(h, 2, "Connection", "upgrad"));
    assert_false(zws_http_has_token(h, 2, "Connection", "upgrade2"));
    assert_true(zws_http_has_token(h, 2, "Upgrade", "websocket"));
    assert_false(zws_http_has_token(h, 2, "Keep-Alive", "upgrade"));
    /* An unterminated quoted-string ends the iteration with an error. */
    zws_http_header q = {"X", 1, "a, \"b, c", 8};
    zws_http_list it;
    const char *e;
    size_t n;
    zws_http_list_init(&it, &q, 1, "x");
    assert_int_equal(zws_http_list_next(&it, &e, &n), 1);
    assert_int_equal(zws_http_list_next(&it, &e, &n), ZWS_EHTTP);
    assert_int_equal(zws_http_list_next(&it, &e, &n), 0);
    zws_http_header q2 = {"X", 1, "\"a\\", 3};
    zws_http_list_init(&it, &q2, 1, "x");
    assert_int_equal(zws_http_list_next(&it, &e, &n), ZWS_EHTTP);
}

static void test_extension_offers(void **state)
{
    (void)state;
    const char *v = "permessage-deflate; client_max_window_bits, "
                    "permessage-deflate; server_no_context_takeover";
    zws_http_header h = {"Sec-WebSocket-Extensions", 24, v, strlen(v)};
    zws_http_list it;
    zws_ext_offer o;
    zws_http_list_init(&it, &h, 1, "sec-websocket-extensions");
    assert_int_equal(zws_ext_next(&it, &o), 1);
    assert_true(view_eq(o.name, o.name_len, "permessage-deflate"));
    assert_int_equal(o.num_params, 1);
    assert_true(view_eq(o.params[0].name, o.params[0].name_len, "client_max_window_bits"));
    assert_null(o.params[0].value);
    assert_int_equal(zws_ext_next(&it, &o), 1);
    assert_int_equal(o.num_params, 1);
    assert_true(view_eq(o.params[0].name, o.params[0].name_len, "server_no_context_takeover"));
    assert_int_equal(zws_ext_next(&it, &o), 0);

    const char *e = "x-foo ; a = 1 ;b=\"10\";c;d=\"z\"";
    assert_int_equal(zws_ext_parse(e, strlen(e), &o), 0);
    assert_true(view_eq(o.name, o.name_len, "x-foo"));
    assert_int_equal(o.num_params, 4);
    assert_true(view_eq(o.params[0].value, o.params[0].value_len, "1"));
    assert_true(view_eq(o.params[1].value, o.params[1].value_len, "10"));
    assert_null(o.params[2].value);
    assert_true(view_eq(o.params[3].value, o.params[3].value_len, "z"));

    static const char *const bad[] = {
        "", ";a", "x;", "x;;a", "x a", "x;a=", "x;a=\"\"", "x;a=\"1", "x;a=\"a b\"",
        "x;a=\"\\1\"", "x;a=1 2", "x;=1", "x;a=\"1\"2", "x,y",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (zws_ext_parse(bad[i], strlen(bad[i]), &o) != ZWS_EHTTP)
            fail_msg("accepted extension '%s'", bad[i]);
    const char *nine = "x;a;b;c;d;e;f;g;h;i";
    assert_int_equal(zws_ext_parse(nine, strlen(nine), &o), ZWS_ETOOBIG);
    assert_int_equal(zws_ext_parse(nine, strlen(nine) - 2, &o), 0);
    assert_int_equal(o.num_params, ZWS_EXT_MAX_PARAMS);
}

/* ---- server validation ---- */

static void test_validate_rfc(void **state)
{
    (void)state;
    zws_handshake_request hs;
    assert_int_equal(validate(RFC_REQUEST, &hs), 0);
    assert_int_equal(hs.status, 101);
    assert_null(hs.error);
    assert_true(view_eq(hs.path, hs.path_len, "/chat"));
    assert_true(view_eq(hs.host, hs.host_len, "server.example.com"));
    assert_true(view_eq(hs.origin, hs.origin_len, "http://example.com"));
    assert_true(view_eq(hs.key, hs.key_len, RFC_KEY));
    assert_int_equal(hs.num_headers, 7);
}

/* A request made of the RFC's, with one header line replaced (or, with an
 * empty replacement, removed) and a different request line if given. */
static int variant(const char *line, const char *name, const char *repl,
                   zws_handshake_request *hs)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s\r\n", line ? line : "GET /chat HTTP/1.1");
    const char *p = strstr(RFC_REQUEST, "\r\n") + 2;
    while (*p != '\r') {
        const char *end = strstr(p, "\r\n") + 2;
        if (name && strncmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':')
            strcat(buf, repl);
        else
            strncat(buf, p, (size_t)(end - p));
        p = end;
    }
    strcat(buf, "\r\n");
    return validate(buf, hs);
}

static void expect_status(const char *line, const char *name, const char *repl, int status,
                          const char *why)
{
    zws_handshake_request hs;
    assert_int_equal(variant(line, name, repl, &hs), ZWS_EHANDSHAKE);
    if (hs.status != status)
        fail_msg("%s / %s: status %d (%s), wanted %d", line ? line : "", repl ? repl : "",
                 hs.status, hs.error, status);
    assert_non_null(hs.error);
    if (!strstr(hs.error, why))
        fail_msg("error '%s' lacks '%s'", hs.error, why);
}

static void test_validate_rejections(void **state)
{
    (void)state;
    expect_status(NULL, "Sec-WebSocket-Key", "", 400, "missing Sec-WebSocket-Key");
    expect_status(NULL, "Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n", 400,
                  "16 bytes"); /* 15 bytes */
    expect_status(NULL, "Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n",
                  400, "16 bytes"); /* 17 bytes */
    expect_status(NULL, "Sec-WebSocket-Key",
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                  400, "more than one");
    expect_status(NULL, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n", 426, "13");
    expect_status(NULL, "Sec-WebSocket-Version", "", 426, "13");
    expect_status(NULL, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8\r\n", 426, "13");
    expect_status("POST /chat HTTP/1.1", NULL, NULL, 405, "GET");
    expect_status("get /chat HTTP/1.1", NULL, NULL, 405, "GET");
    expect_status("GET /chat HTTP/1.0", NULL, NULL, 400, "HTTP/1.1");
    expect_status("GET /chat HTTP/2.0", NULL, NULL, 505, "version");
    expect_status(NULL, "Host", "", 400, "Host");
    expect_status(NULL, "Host", "Host:\r\n", 400, "Host");
    expect_status(NULL, "Host", "Host: a\r\nHost: b\r\n", 400, "more than one Host");
    expect_status(NULL, "Origin", "Origin: a\r\nOrigin: b\r\n", 400, "Origin");
    expect_status(NULL, "Upgrade", "Upgrade: h2c\r\n", 400, "websocket");
    expect_status(NULL, "Connection", "Connection: keep-alive\r\n", 400, "upgrade");
    expect_status(NULL, "Connection", "", 400, "upgrade");
    expect_status("GET * HTTP/1.1", NULL, NULL, 400, "path");
    expect_status("GET example.com:80 HTTP/1.1", NULL, NULL, 400, "path");
    expect_status("GET http:///x HTTP/1.1", NULL, NULL, 400, "path");
    expect_status("GET http://a?x HTTP/1.1", NULL, NULL, 400, "path");
    expect_status(NULL, "Origin", "Origin: x\r\nContent-Length: 5\r\n", 400, "body");
    expect_status(NULL, "Origin", "Transfer-Encoding: chunked\r\n", 400, "body");
    expect_status(NULL, "Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: a b\r\n", 400,
                  "Sec-WebSocket-Protocol");
    expect_status(NULL, "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions: x;;\r\n", 400,
                  "Sec-WebSocket-Extensions");
    /* A plain HTTP GET: 426, answered with the headers a client needs. */
    zws_handshake_request hs;
    assert_int_equal(validate("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &hs), ZWS_EHANDSHAKE);
    assert_int_equal(hs.status, 426);
    char out[512];
    int n = zws_handshake_build_error(out, sizeof out, hs.status, NULL, NULL, 0);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"));
}

static void test_validate_accepts(void **state)
{
    (void)state;
    zws_handshake_request hs;
    assert_int_equal(variant(NULL, "Origin", "Content-Length: 0\r\n", &hs), 0);
    assert_null(hs.origin);
    assert_int_equal(variant("GET /chat?a=b HTTP/1.1", NULL, NULL, &hs), 0);
    assert_true(view_eq(hs.path, hs.path_len, "/chat?a=b"));
    assert_int_equal(variant("GET wss://h/x/y HTTP/1.1", NULL, NULL, &hs), 0);
    assert_true(view_eq(hs.path, hs.path_len, "/x/y"));
    assert_int_equal(variant("GET HTTP://h:1 HTTP/1.1", NULL, NULL, &hs), 0);
    assert_true(view_eq(hs.path, hs.path_len, "/"));
    assert_int_equal(variant(NULL, "Upgrade", "Upgrade: foo, WEBSOCKET\r\n", &hs), 0);
}

static void test_select_subprotocol(void **state)
{
    (void)state;
    zws_handshake_request hs;
    assert_int_equal(variant(NULL, "Sec-WebSocket-Protocol",
                             "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: v2, v1\r\n",
                             &hs), 0);
    const char *const pref[] = {"v3", "v1", "chat"};
    assert_ptr_equal(zws_handshake_select_subprotocol(&hs, pref, 3), pref[1]);
    const char *const none[] = {"CHAT", "v"};
    assert_null(zws_handshake_select_subprotocol(&hs, none, 2));
    assert_null(zws_handshake_select_subprotocol(&hs, NULL, 0));
}

/* ---- builders ---- */

/* Every buffer shorter than the output gives ZWS_ENOSPACE. */
static void check_nospace(int (*build)(char *, size_t), int full)
{
    char *buf = calloc(1, (size_t)full);
    for (int cap = 0; cap < full; cap++)
        assert_int_equal(build(cap ? buf : NULL, (size_t)cap), ZWS_ENOSPACE);
    assert_int_equal(build(buf, (size_t)full), full);
    free(buf);
}

static int build_rfc_response(char *out, size_t cap)
{
    return zws_handshake_build_response(out, cap, RFC_KEY, strlen(RFC_KEY), "chat", NULL, NULL, 0);
}

static void test_build_response(void **state)
{
    (void)state;
    char out[512];
    int n = build_rfc_response(out, sizeof out);
    assert_int_equal(n, (int)strlen(RFC_RESPONSE));
    assert_memory_equal(out, RFC_RESPONSE, (size_t)n);
    check_nospace(build_rfc_response, n);

    zws_http_header x[2] = {{"Server", 6, "zws", 3}, {"X-Empty", 7, "", 0}};
    n = zws_handshake_build_response(out, sizeof out, RFC_KEY, 24, NULL,
                                     "permessage-deflate; server_no_context_takeover", x, 2);
    assert_true(n > 0);
    const char *want = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                       "Sec-WebSocket-Extensions: "
                       "permessage-deflate; server_no_context_takeover\r\n"
                       "Server: zws\r\nX-Empty: \r\n\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_memory_equal(out, want, (size_t)n);

    /* Injection and reserved names. */
    zws_http_header bad[] = {{"X", 1, "a\r\nSet-Cookie: b", 17}, {"X\r\nY", 4, "a", 1},
                             {"X", 1, "a\0b", 3},           {"X:Y", 3, "a", 1},
                             {"", 0, "a", 1},               {"upgrade", 7, "x", 1},
                             {"Content-Length", 14, "0", 1}, {"X", 1, "a\nb", 3}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(zws_handshake_build_response(out, sizeof out, RFC_KEY, 24, NULL, NULL,
                                                      &bad[i], 1), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_response(out, sizeof out, RFC_KEY, 24, "a\r\nb", NULL,
                                                  NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_response(out, sizeof out, RFC_KEY, 24, "a b", NULL,
                                                  NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_response(out, sizeof out, RFC_KEY, 24, NULL, "x\ny",
                                                  NULL, 0), ZWS_EINVAL);
    /* Refused before anything is written, even into a tiny buffer. */
    assert_int_equal(zws_handshake_build_response(out, 1, RFC_KEY, 24, NULL, NULL, &bad[0], 1),
                     ZWS_EINVAL);
}

static int build_405(char *out, size_t cap)
{
    return zws_handshake_build_error(out, cap, 405, "method must be GET", NULL, 0);
}

static void test_build_error(void **state)
{
    (void)state;
    char out[512];
    int n = build_405(out, sizeof out);
    const char *want = "HTTP/1.1 405 Method Not Allowed\r\n"
                       "Allow: GET\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 43\r\n"
                       "Connection: close\r\n"
                       "\r\n"
                       "405 Method Not Allowed: method must be GET\n";
    assert_int_equal(n, (int)strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    check_nospace(build_405, n);
    /* The body length matches Content-Length. */
    res_result p;
    int head = parse_res_n(&p, out, (size_t)n);
    assert_true(head > 0);
    assert_int_equal(p.res.status, 405);
    const zws_http_header *cl = zws_http_find_header(p.h, p.res.num_headers, "Content-Length");
    assert_int_equal(atoi(cl->value), n - head);
    free(p.buf);

    n = zws_handshake_build_error(out, sizeof out, 426, NULL, NULL, 0);
    want = "HTTP/1.1 426 Upgrade Required\r\n"
           "Upgrade: websocket\r\n"
           "Sec-WebSocket-Version: 13\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 21\r\n"
           "Connection: Upgrade, close\r\n"
           "\r\n"
           "426 Upgrade Required\n";
    assert_int_equal(n, (int)strlen(want));
    assert_memory_equal(out, want, (size_t)n);

    zws_http_header x = {"Retry-After", 11, "5", 1};
    n = zws_handshake_build_error(out, sizeof out, 431, NULL, &x, 1);
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    assert_non_null(strstr(out, "\r\nRetry-After: 5\r\n\r\n"));
    assert_null(strstr(out, "Allow"));
    zws_http_header inj = {"X", 1, "1\r\n\r\nHTTP/1.1 200 OK", 21};
    assert_int_equal(zws_handshake_build_error(out, sizeof out, 400, NULL, &inj, 1), ZWS_EINVAL);
    zws_http_header res = {"connection", 10, "keep-alive", 10};
    assert_int_equal(zws_handshake_build_error(out, sizeof out, 400, NULL, &res, 1), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_error(out, sizeof out, 101, NULL, NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_error(out, sizeof out, 600, NULL, NULL, 0), ZWS_EINVAL);
}

static const char *const PROTOS[] = {"chat", "superchat"};

static int build_rfc_request(char *out, size_t cap)
{
    zws_http_header x = {"X-Test", 6, "1", 1};
    return zws_handshake_build_request(out, cap, "server.example.com", 80, 0, "/chat", RFC_KEY,
                                       PROTOS, 2, "permessage-deflate; client_max_window_bits",
                                       "http://example.com", &x, 1);
}

static void test_build_request(void **state)
{
    (void)state;
    char out[1024];
    int n = build_rfc_request(out, sizeof out);
    const char *want = "GET /chat HTTP/1.1\r\n"
                       "Host: server.example.com\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Protocol: chat, superchat\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                       "Origin: http://example.com\r\n"
                       "X-Test: 1\r\n"
                       "\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_memory_equal(out, want, (size_t)n);
    check_nospace(build_rfc_request, n);
    zws_handshake_request hs;
    out[n] = '\0';
    assert_int_equal(validate(out, &hs), 0);

    static const struct {
        const char *host;
        uint16_t port;
        int tls;
        const char *line;
    } hosts[] = {
        {"a.example", 0, 0, "Host: a.example\r\n"},   {"a.example", 443, 1, "Host: a.example\r\n"},
        {"a.example", 443, 0, "Host: a.example:443\r\n"},
        {"a.example", 80, 1, "Host: a.example:80\r\n"},
        {"10.0.0.1", 8080, 0, "Host: 10.0.0.1:8080\r\n"},
        {"::1", 9001, 1, "Host: [::1]:9001\r\n"},      {"[::1]", 80, 0, "Host: [::1]\r\n"},
        {"fe80::1", 0, 1, "Host: [fe80::1]\r\n"},
    };
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
        n = zws_handshake_build_request(out, sizeof out, hosts[i].host, hosts[i].port,
                                        hosts[i].tls, NULL, RFC_KEY, NULL, 0, NULL, NULL, NULL, 0);
        assert_true(n > 0);
        out[n] = '\0';
        assert_true(strncmp(out, "GET / HTTP/1.1\r\n", 16) == 0);
        if (strncmp(out + 16, hosts[i].line, strlen(hosts[i].line)) != 0)
            fail_msg("%s:%u -> %s", hosts[i].host, hosts[i].port, out + 16);
        assert_null(strstr(out, "Sec-WebSocket-Protocol"));
        assert_null(strstr(out, "Origin"));
    }
}

static void test_build_request_invalid(void **state)
{
    (void)state;
    char out[1024];
    static const char *const hosts[] = {"", "a b", "a\r\nX: y", "a/b", "a@b", "[::1", "::1]",
                                        "a[b]", "caf\xc3\xa9", "a?b"};
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++)
        assert_int_equal(zws_handshake_build_request(out, sizeof out, hosts[i], 0, 0, "/", RFC_KEY,
                                                     NULL, 0, NULL, NULL, NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_request(out, sizeof out, NULL, 0, 0, "/", RFC_KEY, NULL, 0,
                                                 NULL, NULL, NULL, 0), ZWS_EINVAL);
    static const char *const paths[] = {"chat", "/a b", "/a\r\nX: y", "/\x7f", "/caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, paths[i], RFC_KEY,
                                                     NULL, 0, NULL, NULL, NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, "/", "short", NULL, 0,
                                                 NULL, NULL, NULL, 0), ZWS_EINVAL);
    const char *const badp[] = {"chat", "a b"};
    assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, "/", RFC_KEY, badp, 2,
                                                 NULL, NULL, NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, "/", RFC_KEY, NULL, 1,
                                                 NULL, NULL, NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, "/", RFC_KEY, NULL, 0,
                                                 "x\r\nY: z", NULL, NULL, 0), ZWS_EINVAL);
    assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, "/", RFC_KEY, NULL, 0,
                                                 NULL, "o\n", NULL, 0), ZWS_EINVAL);
    zws_http_header x[] = {{"Host", 4, "evil", 4}, {"Origin", 6, "x", 1},
                           {"X", 1, "a\rb", 3}, {"X Y", 3, "a", 1}, {NULL, 0, "a", 1}};
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        assert_int_equal(zws_handshake_build_request(out, sizeof out, "h", 0, 0, "/", RFC_KEY,
                                                     NULL, 0, NULL, NULL, &x[i], 1), ZWS_EINVAL);
}

/* ---- client validation ---- */

static int check_response(const char *s, const char *const *protos, size_t np, const char *exts,
                          char *err, zws_handshake_response *hr)
{
    static res_result p; /* *hr's views point into it: kept like validate's */
    free(validated);
    int r = parse_res(&p, s);
    validated = p.buf;
    assert_true(r > 0);
    return zws_handshake_validate_response(&p.res, RFC_KEY, protos, np, exts, hr, err, 128);
}

static void expect_client_failure(const char *s, const char *const *protos, size_t np,
                                  const char *exts, const char *msg)
{
    char err[128];
    zws_handshake_response hr;
    assert_int_equal(check_response(s, protos, np, exts, err, &hr), ZWS_EHANDSHAKE);
    assert_string_equal(err, msg);
}

#define RES_HEAD "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
#define RES_ACCEPT "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

static void test_validate_response(void **state)
{
    (void)state;
    char err[128];
    zws_handshake_response hr;
    assert_int_equal(check_response(RFC_RESPONSE, PROTOS, 2, NULL, err, &hr), 0);
    assert_int_equal(hr.status, 101);
    assert_true(view_eq(hr.protocol, hr.protocol_len, "chat"));
    assert_string_equal(err, "");
    assert_int_equal(check_response(RES_HEAD RES_ACCEPT "\r\n", NULL, 0, NULL, err, &hr), 0);
    assert_null(hr.protocol);
    assert_int_equal(check_response(RES_HEAD RES_ACCEPT
                                    "Sec-WebSocket-Extensions: Permessage-Deflate; "
                                    "client_max_window_bits=10\r\n\r\n",
                                    NULL, 0, "x-a, permessage-deflate; client_max_window_bits",
                                    err, &hr), 0);
}

static void test_validate_response_failures(void **state)
{
    (void)state;
    expect_client_failure("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n", NULL, 0, NULL,
                          "server answered 404 Not Found");
    expect_client_failure("HTTP/1.1 200 OK\x80\r\n\r\n", NULL, 0, NULL, "server answered 200 OK?, not 101 Switching Protocols: the URL is not a "
                          "WebSocket endpoint");
    expect_client_failure("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" RES_ACCEPT
                          "\r\n", NULL, 0, NULL, "server response lacks 'Upgrade: websocket'");
    expect_client_failure("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" RES_ACCEPT
                          "\r\n", NULL, 0, NULL, "server response lacks 'Connection: Upgrade'");
    expect_client_failure(RES_HEAD "\r\n", NULL, 0, NULL,
                          "server response lacks Sec-WebSocket-Accept");
    expect_client_failure(RES_HEAD "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOQ=\r\n\r\n",
                          NULL, 0, NULL, "Sec-WebSocket-Accept mismatch");
    expect_client_failure(RES_HEAD RES_ACCEPT RES_ACCEPT "\r\n", NULL, 0, NULL,
                          "server sent more than one Sec-WebSocket-Accept");
    expect_client_failure(RES_HEAD RES_ACCEPT "Sec-WebSocket-Protocol: x\r\n\r\n", PROTOS, 2, NULL,
                          "server chose subprotocol 'x' that was not offered");
    expect_client_failure(RES_HEAD RES_ACCEPT "Sec-WebSocket-Protocol: chat\r\n\r\n", NULL, 0,
                          NULL, "server chose subprotocol 'chat' that was not offered");
    expect_client_failure(RES_HEAD RES_ACCEPT "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
                          PROTOS, 2, NULL, "server chose more than one subprotocol");
    expect_client_failure(RES_HEAD RES_ACCEPT "Sec-WebSocket-Protocol: chat\r\n"
                          "Sec-WebSocket-Protocol: chat\r\n\r\n",
                          PROTOS, 2, NULL, "server chose more than one subprotocol");
    expect_client_failure(RES_HEAD RES_ACCEPT
                          "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                          NULL, 0, NULL,
                          "server chose extension 'permessage-deflate' that was not offered");
    expect_client_failure(RES_HEAD RES_ACCEPT "Sec-WebSocket-Extensions: x-b\r\n\r\n", NULL, 0,
                          "x-a; x-b", "server chose extension 'x-b' that was not offered");
    expect_client_failure(RES_HEAD RES_ACCEPT "Sec-WebSocket-Extensions: x-a;\r\n\r\n", NULL, 0,
                          "x-a", "malformed Sec-WebSocket-Extensions in the response");
    /* Long reasons are cut; err is always terminated, even when tiny. */
    res_result p;
    char line[400] = "HTTP/1.1 500 ";
    memset(line + 13, 'r', 300);
    strcpy(line + 313, "\r\n\r\n");
    assert_true(parse_res(&p, line) > 0);
    char err[128], tiny[8];
    zws_handshake_response hr;
    assert_int_equal(zws_handshake_validate_response(&p.res, RFC_KEY, NULL, 0, NULL, &hr, err,
                                                     sizeof err), ZWS_EHANDSHAKE);
    assert_int_equal(hr.status, 500);
    assert_true(strlen(err) < 120);
    assert_non_null(strstr(err, "..."));
    assert_int_equal(zws_handshake_validate_response(&p.res, RFC_KEY, NULL, 0, NULL, &hr, tiny,
                                                     sizeof tiny), ZWS_EHANDSHAKE);
    assert_string_equal(tiny, "server ");
    assert_int_equal(zws_handshake_validate_response(&p.res, RFC_KEY, NULL, 0, NULL, &hr, NULL, 0),
                     ZWS_EHANDSHAKE);
    free(p.buf);
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
    (void)state;
    char key[ZWS_HANDSHAKE_KEY_LEN + 1];
    assert_int_equal(zws_handshake_client_key(key), 0);
    const char *offer = "permessage-deflate; client_max_window_bits, x-other";
    const char *const protos[] = {"v1.json", "v2.json"};
    char req[1024];
    int n = zws_handshake_build_request(req, sizeof req, "::1", 9001, 1, "/feed?s=BTC", key,
                                        protos, 2, offer, "https://app.example", NULL, 0);
    assert_true(n > 0);
    memcpy(req + n, "\x81\x80", 2); /* a first frame right behind the head */

    zws_http_header h[MAXH];
    zws_http_request pr;
    assert_int_equal(zws_http_parse_request(&pr, req, (size_t)n + 2, h, MAXH, 0), n);
    zws_handshake_request hs;
    assert_int_equal(zws_handshake_validate_request(&pr, &hs), 0);
    assert_true(view_eq(hs.path, hs.path_len, "/feed?s=BTC"));
    assert_true(view_eq(hs.host, hs.host_len, "[::1]:9001"));
    assert_true(view_eq(hs.origin, hs.origin_len, "https://app.example"));
    const char *const supported[] = {"v2.json", "v1.json"};
    const char *chosen = zws_handshake_select_subprotocol(&hs, supported, 2);
    assert_string_equal(chosen, "v2.json");
    zws_http_list it;
    zws_ext_offer o;
    zws_http_list_init(&it, hs.headers, hs.num_headers, "Sec-WebSocket-Extensions");
    assert_int_equal(zws_ext_next(&it, &o), 1);
    assert_true(view_eq(o.name, o.name_len, "permessage-deflate"));

    char res[1024];
    int m = zws_handshake_build_response(res, sizeof res, hs.key, hs.key_len, chosen,
                                         "permessage-deflate", NULL, 0);
    assert_true(m > 0);
    zws_http_response prs;
    assert_int_equal(zws_http_parse_response(&prs, res, (size_t)m, h, MAXH, 0), m);
    zws_handshake_response hr;
    char err[128];
    assert_int_equal(zws_handshake_validate_response(&prs, key, protos, 2, offer, &hr, err,
                                                     sizeof err), 0);
    assert_true(view_eq(hr.protocol, hr.protocol_len, "v2.json"));
    /* The same response checked against another key fails. */
    char other[ZWS_HANDSHAKE_KEY_LEN + 1];
    assert_int_equal(zws_handshake_client_key(other), 0);
    assert_int_equal(zws_handshake_validate_response(&prs, other, protos, 2, offer, &hr, err,
                                                     sizeof err), ZWS_EHANDSHAKE);
    assert_string_equal(err, "Sec-WebSocket-Accept mismatch");
}

static void test_status_text(void **state)
{
    (void)state;
    assert_string_equal(zws_http_status_text(101), "Switching Protocols");
    assert_string_equal(zws_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(zws_http_status_text(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_accept),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_parse_rfc_request),
        cmocka_unit_test(test_parse_value_whitespace),
        cmocka_unit_test(test_request_splits),
        cmocka_unit_test(test_request_rejections),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_response_splits),
        cmocka_unit_test(test_response_rejections),
        cmocka_unit_test(test_token_lists),
        cmocka_unit_test(test_extension_offers),
        cmocka_unit_test(test_validate_rfc),
        cmocka_unit_test(test_validate_rejections),
        cmocka_unit_test(test_validate_accepts),
        cmocka_unit_test(test_select_subprotocol),
        cmocka_unit_test(test_build_response),
        cmocka_unit_test(test_build_error),
        cmocka_unit_test(test_build_request),
        cmocka_unit_test(test_build_request_invalid),
        cmocka_unit_test(test_validate_response),
        cmocka_unit_test(test_validate_response_failures),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests(tests, NULL, free_validated);
}
