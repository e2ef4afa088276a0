/* URL parser for ws:// / wss:// URLs and http:// proxy URLs: views into the
 * input, no allocation. See include/zws/url.h for what is accepted. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "zws/url.h"

static int fail(zws_url *u, const char **why, const char *msg)
{
    memset(u, 0, sizeof *u);
    if (why)
        *why = msg;
    return ZWS_EURL;
}

static int is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Case-insensitive comparison of a view with a lower-case literal. */
static int eq_nocase(const char *p, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[i])
            return 0;
    }
    return i == n && lit[i] == '\0';
}

/* Whole-string checks first, so every later step may assume visible
 * ASCII. */
static const char *check_bytes(const char *s)
{
    if (!*s)
        return "empty URL";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == ' ')
            return "space in URL (percent-encode it as %20)";
        if (c < 0x20 || c == 0x7f)
            return "control character in URL";
        if (c >= 0x80)
            return "non-ASCII byte in URL (percent-encode it)";
    }
    return NULL;
}

/* Sets u->scheme/secure/port defaults and returns where "//" ends, or NULL
 * with *why set. Proxy mode takes a URL without "scheme://" as http. */
static const char *parse_scheme(zws_url *u, const char *s, unsigned flags,
                                const char **why)
{
    const char *p = s;
    if (is_alpha(*p)) {
        while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
            p++;
    }
    int proxy = (flags & ZWS_URL_PROXY) != 0;
    if (p == s || p[0] != ':' || p[1] != '/' || p[2] != '/') {
        if (proxy) {
            u->scheme = "http";
            u->scheme_len = 4;
            u->port = 80;
            return s;
        }
        *why = "missing scheme: expected ws:// or wss://";
        return NULL;
    }
    size_t n = (size_t)(p - s);
    if (!proxy && (eq_nocase(s, n, "ws+unix") || eq_nocase(s, n, "wss+unix"))) {
        u->scheme = s;
        u->scheme_len = n;
        u->secure = (uint8_t)(n == 8);
        u->port = u->secure ? 443 : 80;
        u->is_unix = 1;
        return p + 3;
    }
    int ws = eq_nocase(s, n, "ws"), wss = eq_nocase(s, n, "wss");
    int http = eq_nocase(s, n, "http"), https = eq_nocase(s, n, "https");
    if (proxy && https) {
        *why = "https:// proxies (TLS to the proxy) are not supported";
        return NULL;
    }
    if (proxy ? !http : !(ws || wss || http || https)) {
        *why = proxy ? "unsupported proxy scheme: expected http://"
                     : "unknown scheme: expected ws:// or wss://";
        return NULL;
    }
    u->scheme = s;
    u->scheme_len = n;
    u->secure = (uint8_t)(wss || https);
    u->port = u->secure ? 443 : 80;
    return p + 3;
}

/* RFC 3986 userinfo: unreserved, sub-delims, ':' and %XX escapes. */
static const char *check_userinfo(const char *p, size_t n)
{
    static const char ok[] = "-._~!$&'()*+,;=:";
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            if (n - i < 3 || !is_hex(p[i + 1]) || !is_hex(p[i + 2]))
                return "bad percent-escape in user name or password";
            i += 2;
        } else if (!is_alpha(c) && !is_digit(c) && !strchr(ok, c)) {
            return "invalid character in user name or password "
                   "(percent-encode it)";
        }
    }
    return NULL;
}

/* Splits "user[:pass]@" off the authority [a, e); returns where the host
 * starts, or NULL with *why set. */
static const char *parse_userinfo(zws_url *u, const char *a, const char *e,
                                  unsigned flags, const char **why)
{
    const char *at = memchr(a, '@', (size_t)(e - a));
    if (!at)
        return a;
    if (!(flags & ZWS_URL_PROXY)) {
        *why = "user name or password in a WebSocket URL is not supported";
        return NULL;
    }
    if (memchr(at + 1, '@', (size_t)(e - at - 1))) {
        *why = "'@' in a user name or password must be percent-encoded as %40";
        return NULL;
    }
    if ((*why = check_userinfo(a, (size_t)(at - a))) != NULL)
        return NULL;
    const char *colon = memchr(a, ':', (size_t)(at - a));
    u->user = a;
    u->user_len = (size_t)((colon ? colon : at) - a);
    if (colon) {
        u->password = colon + 1;
        u->password_len = (size_t)(at - colon - 1);
    }
    return at + 1;
}

/* "[v6]" at p (p < e, *p == '['); returns the end of the literal. */
static const char *parse_ipv6(zws_url *u, const char *p, const char *e,
                              const char **why)
{
    const char *close = memchr(p, ']', (size_t)(e - p));
    if (!close) {
        *why = "unterminated '[' in host";
        return NULL;
    }
    size_t n = (size_t)(close - p - 1);
    if (memchr(p + 1, '%', n)) {
        *why = "IPv6 zone identifiers (%...) are not supported";
        return NULL;
    }
    if (n && (p[1] | 0x20) == 'v') {
        *why = "IPvFuture addresses are not supported";
        return NULL;
    }
    char tmp[64];
    unsigned char bin[16];
    if (n == 0 || n >= sizeof tmp) {
        *why = "invalid IPv6 address";
        return NULL;
    }
    memcpy(tmp, p + 1, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, bin) != 1) {
        *why = "invalid IPv6 address";
        return NULL;
    }
    u->host = p + 1;
    u->host_len = n;
    u->host_type = ZWS_URL_HOST_IPV6;
    return close + 1;
}

/* Registered name or IPv4 literal in [p, e). */
static const char *check_name(zws_url *u, const char *p, size_t n)
{
    if (n == 0)
        return "empty host";
    if (n > ZWS_URL_HOST_MAX)
        return "host name too long (more than 255 bytes)";
    int numeric = 1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!is_digit(c) && c != '.')
            numeric = 0;
        if (c == '%')
            return "percent-encoded host names are not supported";
        if (!is_alpha(c) && !is_digit(c) && !strchr("-._~", c))
            return "invalid character in host name";
    }
    u->host = p;
    u->host_len = n;
    u->host_type = ZWS_URL_HOST_NAME;
    if (!numeric)
        return NULL;
    /* A host of digits and dots is an address; inet_pton wants exactly
     * four decimal parts, so "1.2.3" or "010.1.1.1" are refused rather than
     * read the way inet_aton would (octal, short forms). */
    char tmp[16];
    unsigned char bin[4];
    if (n >= sizeof tmp)
        return "invalid IPv4 address";
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, bin) != 1)
        return "invalid IPv4 address";
    u->host_type = ZWS_URL_HOST_IPV4;
    return NULL;
}

/* ":port" at p (p < e, *p == ':'). */
static const char *parse_port(zws_url *u, const char *p, const char *e)
{
    p++;
    if (p == e)
        return "empty port after ':'";
    unsigned long v = 0;
    for (; p < e; p++) {
        if (!is_digit(*p))
            return "port is not a number";
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return "port out of range (1-65535)";
    }
    if (v == 0)
        return "port 0 is not allowed";
    u->port = (uint16_t)v;
    u->port_given = 1;
    return NULL;
}

/* Host and port in the authority [a, e). */
static const char *parse_hostport(zws_url *u, const char *a, const char *e)
{
    const char *why = NULL;
    const char *p;
    if (a < e && *a == '[') {
        p = parse_ipv6(u, a, e, &why);
        if (!p)
            return why;
        if (p < e && *p != ':')
            return "unexpected character after ']' (expected ':' and a port)";
    } else {
        p = memchr(a, ':', (size_t)(e - a));
        if (!p)
            p = e;
        else if (memchr(p + 1, ':', (size_t)(e - p - 1)))
            return "an IPv6 address must be in brackets, e.g. ws://[::1]:8080/";
        if ((why = check_name(u, a, (size_t)(p - a))) != NULL)
            return why;
    }
    return p < e ? parse_port(u, p, e) : NULL;
}

/* Path and query from p (which is at '/', '?', '#' or the end). */
static const char *parse_target(zws_url *u, const char *p, unsigned flags)
{
    int proxy = (flags & ZWS_URL_PROXY) != 0;
    if (strchr(p, '#'))
        return proxy ? "a proxy URL must not have a fragment (#...)"
                     : "fragment (#...) not allowed in a WebSocket URL "
                       "(RFC 6455 section 3)";
    const char *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    if (proxy && (q || plen > 1))
        return "a proxy URL must not have a path or query";
    u->path = plen ? p : "/";
    u->path_len = plen ? plen : 1;
    u->query = q ? q : "";
    u->query_len = q ? strlen(q) : 0;
    return NULL;
}

/* "SOCKET[:PATH]" after ws+unix://: the socket's file name runs to the
 * first ':' (so it cannot hold one), the request target follows. The host
 * is "localhost", for the Host header and the TLS name check. Returns where
 * the target starts, or NULL with *why set. */
static const char *parse_unix(zws_url *u, const char *a, const char **why)
{
    size_t n = strcspn(a, ":");
    const char *t = a + n;
    if (n == 0)
        *why = "empty socket path: expected ws+unix:///path/to.sock:/request-path";
    else if (n > ZWS_URL_UNIX_MAX)
        *why = "socket path too long (more than 107 bytes)";
    else if (memchr(a, '?', n) || memchr(a, '#', n))
        *why = "'?' or '#' in the socket path: the request path goes after a ':'";
    else if (*t == ':' && t[1] && t[1] != '/' && t[1] != '?' && t[1] != '#')
        *why = "the request path after the socket path must start with '/'";
    if (n == 0 || *why)
        return NULL;
    u->unix_path = a;
    u->unix_path_len = n;
    u->host = "localhost";
    u->host_len = 9;
    u->host_type = ZWS_URL_HOST_NAME;
    return *t == ':' ? t + 1 : t;
}

int zws_url_parse(zws_url *u, const char *s, unsigned flags, const char **why)
{
    if (!u || !s)
        return ZWS_EINVAL;
    memset(u, 0, sizeof *u);
    const char *msg = check_bytes(s);
    if (msg)
        return fail(u, why, msg);
    const char *a = parse_scheme(u, s, flags, &msg);
    if (!a)
        return fail(u, why, msg);
    if (u->is_unix) {
        const char *t = parse_unix(u, a, &msg);
        if (!t)
            return fail(u, why, msg);
        if ((msg = parse_target(u, t, flags)) != NULL)
            return fail(u, why, msg);
        return 0;
    }
    const char *e = a + strcspn(a, "/?#");
    const char *h = parse_userinfo(u, a, e, flags, &msg);
    if (!h)
        return fail(u, why, msg);
    if ((msg = parse_hostport(u, h, e)) != NULL)
        return fail(u, why, msg);
    if ((msg = parse_target(u, e, flags)) != NULL)
        return fail(u, why, msg);
    return 0;
}

/* Appends n bytes at *pos if they fit (room for the final NUL kept). */
static int put(char *buf, size_t cap, size_t *pos, const char *p, size_t n)
{
    /* Results are returned as int: keep them below INT_MAX. */
    if (cap == 0 || n >= cap - *pos || n >= (size_t)INT_MAX - *pos)
        return -1;
    memcpy(buf + *pos, p, n);
    *pos += n;
    buf[*pos] = '\0';
    return 0;
}

int zws_url_host(const zws_url *u, char *buf, size_t cap)
{
    size_t pos = 0;
    if (put(buf, cap, &pos, u->host, u->host_len))
        return ZWS_ENOSPACE;
    return (int)pos;
}

int zws_url_authority(const zws_url *u, int always_port, char *buf, size_t cap)
{
    size_t pos = 0;
    int v6 = u->host_type == ZWS_URL_HOST_IPV6;
    if (put(buf, cap, &pos, "[", v6) || put(buf, cap, &pos, u->host, u->host_len) ||
        put(buf, cap, &pos, "]", v6))
        return ZWS_ENOSPACE;
    if (always_port || u->port != (u->secure ? 443 : 80)) {
        char port[8];
        int n = snprintf(port, sizeof port, ":%u", (unsigned)u->port);
        if (put(buf, cap, &pos, port, (size_t)n))
            return ZWS_ENOSPACE;
    }
    return (int)pos;
}

int zws_url_target(const zws_url *u, char *buf, size_t cap)
{
    size_t pos = 0;
    if (put(buf, cap, &pos, u->path, u->path_len) ||
        put(buf, cap, &pos, u->query, u->query_len))
        return ZWS_ENOSPACE;
    return (int)pos;
}

static int hexval(char c)
{
    return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

int zws_url_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (len - i < 3 || !is_hex(in[i + 1]) || !is_hex(in[i + 2]))
                return ZWS_EINVAL;
            c = (char)(hexval(in[i + 1]) << 4 | hexval(in[i + 2]));
            if (c == '\0')
                return ZWS_EINVAL;
            i += 2;
        }
        if (o + 1 >= cap || o + 1 >= (size_t)INT_MAX)
            return ZWS_ENOSPACE;
        out[o++] = c;
    }
    if (cap == 0)
        return ZWS_ENOSPACE;
    out[o] = '\0';
    return (int)o;
}
