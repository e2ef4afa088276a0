/* URL parser: valid ws/wss/http URLs with every host form, defaults and
 * views into the input; proxy URLs with userinfo; and one rejection per
 * rule, each with its reason. */
#include "testutil.h"

static zws_url parse_ok(const char *s, unsigned flags)
{
    zws_url u;
    const char *why = NULL;
    int r = zws_url_parse(&u, s, flags, &why);
    if (r != 0)
        fail_msg("%s: %s", s, why ? why : "(no reason)");
    /* Every view lies inside s, or is one of the static defaults. */
    size_t n = strlen(s);
    const char *views[] = {u.scheme, u.user, u.password, u.host, u.path, u.query};
    const size_t lens[] = {u.scheme_len, u.user_len, u.password_len, u.host_len, u.path_len,
                     u.query_len};
    for (int i = 0; i < 6; i++) {
        if (!views[i] || (views[i] >= s && views[i] + lens[i] <= s + n))
            continue;
        assert_true((i == 0 && lens[i] == 4) || (i == 3 && u.is_unix) ||
                    (i == 4 && lens[i] == 1) || (i == 5 && lens[i] == 0));
    }
    return u;
}

static void expect_bad(const char *s, unsigned flags, const char *reason_part)
{
    zws_url u;
    const char *why = NULL;
    int r = zws_url_parse(&u, s, flags, &why);
    if (r != ZWS_EURL)
        fail_msg("%s: accepted, expected failure containing \"%s\"", s, reason_part);
    assert_non_null(why);
    if (!strstr(why, reason_part))
        fail_msg("%s: reason \"%s\" lacks \"%s\"", s, why, reason_part);
    assert_null(u.host);
}

static void eqv(const char *p, size_t n, const char *want)
{
    if (strlen(want) != n || memcmp(p, want, n) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)n, p, want);
}

/* ws+unix://SOCKET[:TARGET]: the socket file, then the request target. */
static void test_unix(void **state)
{
    (void)state;
    zws_url u = parse_ok("ws+unix:///run/app.sock:/chat?room=1", 0);
    assert_int_equal(u.is_unix, 1);
    eqv(u.unix_path, u.unix_path_len, "/run/app.sock");
    eqv(u.host, u.host_len, "localhost");
    eqv(u.path, u.path_len, "/chat");
    eqv(u.query, u.query_len, "?room=1");
    assert_int_equal(u.secure, 0);
    assert_int_equal(u.port, 80);
    char buf[64];
    assert_int_equal(zws_url_authority(&u, 0, buf, sizeof buf), 9);
    assert_string_equal(buf, "localhost");

    u = parse_ok("ws+unix://relative.sock", 0); /* no target: "/" */
    eqv(u.unix_path, u.unix_path_len, "relative.sock");
    eqv(u.path, u.path_len, "/");
    u = parse_ok("WSS+UNIX:///tmp/s:?x", 0);
    assert_int_equal(u.secure, 1);
    assert_int_equal(u.port, 443);
    eqv(u.path, u.path_len, "/");
    eqv(u.query, u.query_len, "?x");
    u = parse_ok("ws://example.com/", 0);
    assert_int_equal(u.is_unix, 0);
    assert_null(u.unix_path);

    expect_bad("ws+unix://", 0, "empty socket path");
    expect_bad("ws+unix://:/x", 0, "empty socket path");
    expect_bad("ws+unix:///run/a.sock:chat", 0, "must start with '/'");
    expect_bad("ws+unix:///run/a.sock?x", 0, "the request path goes after a ':'");
    expect_bad("ws+unix:///run/a.sock:/x#frag", 0, "fragment");
    expect_bad("ws+unix:///run/a b.sock", 0, "space");
    char longp[160] = "ws+unix:///";
    memset(longp + 11, 'a', 110);
    expect_bad(longp, 0, "socket path too long");
    expect_bad("ws+unix:///run/a.sock", ZWS_URL_PROXY, "unsupported proxy scheme");
}

static void test_basic(void **state)
{
    (void)state;
    zws_url u = parse_ok("ws://example.com/chat?room=1&x=%20", 0);
    eqv(u.scheme, u.scheme_len, "ws");
    eqv(u.host, u.host_len, "example.com");
    eqv(u.path, u.path_len, "/chat");
    eqv(u.query, u.query_len, "?room=1&x=%20");
    assert_int_equal(u.port, 80);
    assert_int_equal(u.port_given, 0);
    assert_int_equal(u.secure, 0);
    assert_int_equal(u.host_type, ZWS_URL_HOST_NAME);
    assert_null(u.user);

    u = parse_ok("wss://example.com", 0);
    assert_int_equal(u.port, 443);
    assert_int_equal(u.secure, 1);
    eqv(u.path, u.path_len, "/");
    assert_int_equal(u.query_len, 0);

    u = parse_ok("WSS://Example.COM:8443/a/b/", 0);
    eqv(u.scheme, u.scheme_len, "WSS");
    eqv(u.host, u.host_len, "Example.COM");
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.port_given, 1);
    assert_int_equal(u.secure, 1);
    eqv(u.path, u.path_len, "/a/b/");

    u = parse_ok("Ws://h?only=query", 0);
    eqv(u.path, u.path_len, "/");
    eqv(u.query, u.query_len, "?only=query");
    u = parse_ok("ws://h:1/", 0);
    assert_int_equal(u.port, 1);
    u = parse_ok("ws://h:65535", 0);
    assert_int_equal(u.port, 65535);
    u = parse_ok("ws://h:00080/", 0);
    assert_int_equal(u.port, 80);
    u = parse_ok("ws://under_score.-x~/", 0);
    eqv(u.host, u.host_len, "under_score.-x~");
    /* http(s) are aliases, as in browsers' WebSocket constructor. */
    u = parse_ok("http://h/x", 0);
    assert_int_equal(u.secure, 0);
    assert_int_equal(u.port, 80);
    u = parse_ok("HTTPS://h/x", 0);
    assert_int_equal(u.secure, 1);
    assert_int_equal(u.port, 443);
    /* Query characters a server might dislike are not ours to judge. */
    u = parse_ok("ws://h/p?a=[1]&b={2}|\"'`^\\", 0);
    eqv(u.query, u.query_len, "?a=[1]&b={2}|\"'`^\\");
    u = parse_ok("ws://h/a?b?c/d", 0);
    eqv(u.path, u.path_len, "/a");
    eqv(u.query, u.query_len, "?b?c/d");
}

static void test_ip_hosts(void **state)
{
    (void)state;
    zws_url u = parse_ok("ws://127.0.0.1:9001/", 0);
    eqv(u.host, u.host_len, "127.0.0.1");
    assert_int_equal(u.host_type, ZWS_URL_HOST_IPV4);
    assert_int_equal(u.port, 9001);

    u = parse_ok("ws://[::1]:8080/x", 0);
    eqv(u.host, u.host_len, "::1");
    assert_int_equal(u.host_type, ZWS_URL_HOST_IPV6);
    assert_int_equal(u.port, 8080);
    eqv(u.path, u.path_len, "/x");

    u = parse_ok("wss://[2001:db8::a:b]", 0);
    eqv(u.host, u.host_len, "2001:db8::a:b");
    assert_int_equal(u.port, 443);
    u = parse_ok("ws://[::ffff:192.0.2.1]?q", 0);
    eqv(u.host, u.host_len, "::ffff:192.0.2.1");
    eqv(u.query, u.query_len, "?q");
    /* Digits and dots elsewhere in a name are fine. */
    u = parse_ok("ws://1.2.3.4.example/", 0);
    assert_int_equal(u.host_type, ZWS_URL_HOST_NAME);
    u = parse_ok("ws://1a.2/", 0);
    assert_int_equal(u.host_type, ZWS_URL_HOST_NAME);
}

static void test_rejected(void **state)
{
    (void)state;
    expect_bad("", 0, "empty URL");
    expect_bad("example.com/chat", 0, "missing scheme");
    expect_bad("ws:/example.com", 0, "missing scheme");
    expect_bad("ftp://example.com/", 0, "unknown scheme");
    expect_bad("wsx://example.com/", 0, "unknown scheme");
    expect_bad("ws://", 0, "empty host");
    expect_bad("ws:///path", 0, "empty host");
    expect_bad("ws://:80/", 0, "empty host");
    expect_bad("ws://h:/", 0, "empty port");
    expect_bad("ws://h:0/", 0, "port 0");
    expect_bad("ws://h:65536/", 0, "out of range");
    expect_bad("ws://h:99999999999999999999/", 0, "out of range");
    expect_bad("ws://h:8o/", 0, "not a number");
    expect_bad("ws://h:-1/", 0, "not a number");
    expect_bad("ws://h:+80/", 0, "not a number");
    expect_bad("ws://h/chat#frag", 0, "fragment");
    expect_bad("ws://h#", 0, "fragment");
    expect_bad("ws://h/a?b#c", 0, "fragment");
    expect_bad("ws://h/a b", 0, "space");
    expect_bad(" ws://h/", 0, "space");
    expect_bad("ws://h/\t", 0, "control");
    expect_bad("ws://h/\x7f", 0, "control");
    expect_bad("ws://h/\xc3\xa9", 0, "non-ASCII");
    expect_bad("ws://user:pw@h/", 0, "not supported");
    expect_bad("ws://[::1/", 0, "unterminated '['");
    expect_bad("ws://[::1", 0, "unterminated '['");
    expect_bad("ws://[::1]x/", 0, "after ']'");
    expect_bad("ws://[::1]:/", 0, "empty port");
    expect_bad("ws://[]/", 0, "invalid IPv6");
    expect_bad("ws://[::g]/", 0, "invalid IPv6");
    expect_bad("ws://[1:2:3:4:5:6:7:8:9]/", 0, "invalid IPv6");
    expect_bad("ws://[fe80::1%25eth0]/", 0, "zone");
    expect_bad("ws://[v1.x]/", 0, "IPvFuture");
    expect_bad("ws://::1/", 0, "brackets");
    expect_bad("ws://fe80::1:8080/", 0, "brackets");
    expect_bad("ws://256.1.1.1/", 0, "invalid IPv4");
    expect_bad("ws://1.2.3/", 0, "invalid IPv4");
    expect_bad("ws://010.0.0.1/", 0, "invalid IPv4");
    expect_bad("ws://1.2.3.4./", 0, "invalid IPv4");
    expect_bad("ws://123/", 0, "invalid IPv4");
    expect_bad("ws://exa%6dple.com/", 0, "percent-encoded host");
    expect_bad("ws://exa!mple.com/", 0, "invalid character in host");
    expect_bad("ws://h[/", 0, "invalid character in host");
    char big[300] = "ws://";
    memset(big + 5, 'a', 256);
    big[261] = '\0';
    expect_bad(big, 0, "too long");
    big[260] = '\0'; /* exactly 255 is fine */
    parse_ok(big, 0);

    zws_url u;
    assert_int_equal(zws_url_parse(NULL, "ws://h", 0, NULL), ZWS_EINVAL);
    assert_int_equal(zws_url_parse(&u, NULL, 0, NULL), ZWS_EINVAL);
    assert_int_equal(zws_url_parse(&u, "nope", 0, NULL), ZWS_EURL); /* why may be NULL */
}

static void test_proxy_mode(void **state)
{
    (void)state;
    zws_url u = parse_ok("http://user:p%40ss@proxy.local:3128", ZWS_URL_PROXY);
    eqv(u.user, u.user_len, "user");
    eqv(u.password, u.password_len, "p%40ss");
    eqv(u.host, u.host_len, "proxy.local");
    assert_int_equal(u.port, 3128);

    u = parse_ok("HTTP://[::1]:8888/", ZWS_URL_PROXY);
    eqv(u.host, u.host_len, "::1");
    assert_null(u.user);
    u = parse_ok("http://alice@10.0.0.1", ZWS_URL_PROXY);
    eqv(u.user, u.user_len, "alice");
    assert_null(u.password);
    assert_int_equal(u.port, 80);
    u = parse_ok("http://alice:@10.0.0.1", ZWS_URL_PROXY);
    assert_non_null(u.password);
    assert_int_equal(u.password_len, 0);
    u = parse_ok("http://:secret@h", ZWS_URL_PROXY);
    assert_int_equal(u.user_len, 0);
    eqv(u.password, u.password_len, "secret");
    u = parse_ok("http://a:b:c@h", ZWS_URL_PROXY); /* ':' in a password is fine */
    eqv(u.password, u.password_len, "b:c");
    /* The usual environment shorthand: no scheme. */
    u = parse_ok("proxy:3128", ZWS_URL_PROXY);
    eqv(u.scheme, u.scheme_len, "http");
    eqv(u.host, u.host_len, "proxy");
    assert_int_equal(u.port, 3128);
    u = parse_ok("u:p@proxy:3128", ZWS_URL_PROXY);
    eqv(u.user, u.user_len, "u");
    u = parse_ok("[::1]:3128", ZWS_URL_PROXY);
    eqv(u.host, u.host_len, "::1");

    expect_bad("https://proxy:3128", ZWS_URL_PROXY, "not supported");
    expect_bad("ws://proxy:3128", ZWS_URL_PROXY, "expected http://");
    expect_bad("socks5://proxy:1080", ZWS_URL_PROXY, "expected http://");
    expect_bad("http://proxy:3128/path", ZWS_URL_PROXY, "path or query");
    expect_bad("http://proxy:3128/?q", ZWS_URL_PROXY, "path or query");
    expect_bad("http://proxy:3128#x", ZWS_URL_PROXY, "fragment");
    expect_bad("http://a@b@proxy", ZWS_URL_PROXY, "%40");
    expect_bad("http://a%4@proxy", ZWS_URL_PROXY, "percent-escape");
    expect_bad("http://a%zz@proxy", ZWS_URL_PROXY, "percent-escape");
    expect_bad("http://a\"b@proxy", ZWS_URL_PROXY, "invalid character in user");
    expect_bad("http://u:p@:3128", ZWS_URL_PROXY, "empty host");
    expect_bad("http://proxy:0", ZWS_URL_PROXY, "port 0");
}

static void test_format(void **state)
{
    (void)state;
    char buf[300];
    zws_url u = parse_ok("wss://[::1]:443/a?b=c", 0);
    assert_int_equal(zws_url_host(&u, buf, sizeof buf), 3);
    assert_string_equal(buf, "::1");
    assert_int_equal(zws_url_authority(&u, 0, buf, sizeof buf), 5);
    assert_string_equal(buf, "[::1]");
    assert_int_equal(zws_url_authority(&u, 1, buf, sizeof buf), 9);
    assert_string_equal(buf, "[::1]:443");
    assert_int_equal(zws_url_target(&u, buf, sizeof buf), 6);
    assert_string_equal(buf, "/a?b=c");
    u = parse_ok("ws://h:8080?x", 0);
    zws_url_authority(&u, 0, buf, sizeof buf);
    assert_string_equal(buf, "h:8080");
    zws_url_target(&u, buf, sizeof buf);
    assert_string_equal(buf, "/?x");
    u = parse_ok("ws://h:80", 0);
    zws_url_authority(&u, 0, buf, sizeof buf);
    assert_string_equal(buf, "h");
    /* Too small: nothing half-written is claimed. */
    assert_int_equal(zws_url_authority(&u, 1, buf, 4), ZWS_ENOSPACE);
    assert_int_equal(zws_url_authority(&u, 1, buf, 5), 4);
    assert_int_equal(zws_url_host(&u, buf, 1), ZWS_ENOSPACE);
    assert_int_equal(zws_url_host(&u, buf, 0), ZWS_ENOSPACE);
    assert_int_equal(zws_url_target(&u, buf, 1), ZWS_ENOSPACE);
    assert_int_equal(zws_url_target(&u, buf, 2), 1);
}

static void test_decode(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(zws_url_decode("p%40ss%3a%2F", 12, out, sizeof out), 6);
    assert_string_equal(out, "p@ss:/");
    assert_int_equal(zws_url_decode("", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(zws_url_decode("%4", 2, out, sizeof out), ZWS_EINVAL);
    assert_int_equal(zws_url_decode("%g0", 3, out, sizeof out), ZWS_EINVAL);
    assert_int_equal(zws_url_decode("%00", 3, out, sizeof out), ZWS_EINVAL);
    assert_int_equal(zws_url_decode("abc", 3, out, 3), ZWS_ENOSPACE);
    assert_int_equal(zws_url_decode("abc", 3, out, 4), 3);
    assert_int_equal(zws_url_decode("abc", 3, out, 0), ZWS_ENOSPACE);
    /* Decoding stops at len, not at a NUL. */
    assert_int_equal(zws_url_decode("ab%41zz", 5, out, sizeof out), 3);
    assert_string_equal(out, "abA");
}

/* Every prefix of a valid URL either parses or fails with a reason, and a
 * parse of a prefix never reads past it (ASan: each is its own copy). */
static void test_prefixes(void **state)
{
    (void)state;
    const char *urls[] = {"wss://user@[2001:db8::1]:8443/a/b?c=d#e",
                          "http://u:p%20w@proxy.example:3128/",
                          "ws://127.0.0.1:65535/?"};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(urls[k]);
        for (size_t i = 0; i <= n; i++) {
            char *s = malloc(i + 1);
            memcpy(s, urls[k], i);
            s[i] = '\0';
            for (unsigned fl = 0; fl < 2; fl++) {
                zws_url u;
                const char *why = NULL;
                int r = zws_url_parse(&u, s, fl, &why);
                assert_true(r == 0 || (r == ZWS_EURL && why && *why));
                if (r == 0)
                    assert_true(u.host_len > 0 && u.port > 0);
            }
            free(s);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),      cmocka_unit_test(test_ip_hosts),
        cmocka_unit_test(test_rejected),   cmocka_unit_test(test_proxy_mode),
        cmocka_unit_test(test_format),     cmocka_unit_test(test_decode),
        cmocka_unit_test(test_prefixes),   cmocka_unit_test(test_unix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
