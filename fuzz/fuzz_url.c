/* URL parsing on arbitrary bytes, in both modes: no crash, no over-read
 * (ASan: the input is an exact-size NUL-terminated copy), every view lies
 * inside the input (or is a static default), accepted URLs keep the
 * invariants the header promises, and formatting them round-trips. The
 * same bytes also go through no_proxy matching as a list and as a host. */
#include <stdlib.h>
#include <string.h>

#include "internal/transport.h"
#include "zws/zws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(const char *v, size_t n, const char *s, size_t len, int may_default)
{
    if (!v) {
        if (n)
            abort();
        return;
    }
    if (v >= s && v + n <= s + len)
        return;
    if (!may_default)
        abort();
}

static void check_accepted(const zws_url *u, const char *s, size_t len, unsigned flags)
{
    check_view(u->scheme, u->scheme_len, s, len, flags & ZWS_URL_PROXY);
    check_view(u->user, u->user_len, s, len, 0);
    check_view(u->password, u->password_len, s, len, 0);
    check_view(u->host, u->host_len, s, len, 0);
    check_view(u->path, u->path_len, s, len, u->path_len == 1);
    check_view(u->query, u->query_len, s, len, u->query_len == 0);
    if (!u->host_len || u->host_len > ZWS_URL_HOST_MAX || !u->port || !u->path_len ||
        u->path[0] != '/' || (u->query_len && u->query[0] != '?'))
        abort();
    if (!(flags & ZWS_URL_PROXY) && (u->user || memchr(u->path, '#', u->path_len)))
        abort();
    /* host and authority re-parse to the same host and port */
    char host[ZWS_URL_HOST_MAX + 1], auth[ZWS_URL_HOST_MAX + 16], again[ZWS_URL_HOST_MAX + 32];
    if (zws_url_host(u, host, sizeof host) != (int)u->host_len)
        abort();
    int n = zws_url_authority(u, 1, auth, sizeof auth);
    if (n <= 0)
        abort();
    memcpy(again, u->secure ? "wss://" : "ws://", u->secure ? 7 : 6);
    strcat(again, auth);
    zws_url v;
    if (zws_url_parse(&v, again, 0, NULL) != 0 || v.port != u->port ||
        v.host_len != u->host_len || memcmp(v.host, u->host, u->host_len) != 0 ||
        v.host_type != u->host_type)
        abort();
    char *target = malloc(u->path_len + u->query_len + 1);
    if (zws_url_target(u, target, u->path_len + u->query_len + 1) !=
        (int)(u->path_len + u->query_len))
        abort();
    free(target);
    (void)zws__no_proxy_match(s, u->host, u->host_len, u->port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 1 ? ZWS_URL_PROXY : ZWS_URL_WS;
    data++;
    size--;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);
    zws_url u;
    const char *why = NULL;
    int r = zws_url_parse(&u, s, flags, &why);
    if (r == 0)
        check_accepted(&u, s, len, flags);
    else if (r != ZWS_EURL || !why || !*why || u.host)
        abort();
    /* The input as a no_proxy list and as a host. */
    (void)zws__no_proxy_match(s, "www.example.com", 15, 443);
    (void)zws__no_proxy_match(s, "10.1.2.3", 8, 80);
    (void)zws__no_proxy_match(s, "fd00::1", 7, 8080);
    (void)zws__no_proxy_match("*.example.com,10.0.0.0/8,[::1]:80,fd00::/8", s, len, 80);
    char dec[64];
    (void)zws_url_decode(s, len, dec, sizeof dec);
    free(s);
    return 0;
}
