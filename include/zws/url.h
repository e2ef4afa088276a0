/* zws — URL parsing for WebSocket URLs and HTTP proxy URLs.
 *
 * The parser allocates nothing and copies nothing: every string in a
 * zws_url is a view (pointer + length, not NUL-terminated) into the string
 * that was parsed, or into a static string for defaults ("/" and ""). The
 * views are valid as long as that input string is.
 *
 * Accepted (ZWS_URL_WS mode, the default):
 *   scheme  ws, wss (any case); also http and https as aliases of ws and wss,
 *           as the WHATWG WebSocket constructor accepts them.
 *   host    a registered name (letters, digits, '-', '.', '_', '~'; at most
 *           255 bytes), an IPv4 address in dotted-decimal (a host made only
 *           of digits and dots must be one: "1.2.3" and "010.0.0.1" are
 *           refused, not guessed at), or an IPv6 address in brackets
 *           (brackets stripped in the result). IPv6 zone identifiers
 *           ("[fe80::1%25eth0]") and IPvFuture are refused.
 *   port    1..65535, default 80 (ws, http) or 443 (wss, https).
 *   path    everything from the first '/' or '?' after the host, kept as
 *           written (percent-escapes are not decoded: it goes on the request
 *           line as is). "/" when absent.
 * Unix domain sockets: "ws+unix://SOCKET[:TARGET]" (and wss+unix for TLS
 * over one), e.g. "ws+unix:///run/app.sock:/chat?x=1". SOCKET is the
 * socket's file name up to the first ':' (at most 107 bytes, no '?' or
 * '#'); TARGET, which starts with '/' or '?', is the request target ("/"
 * when absent). host is "localhost" (the Host header and TLS name), port the
 * scheme's default; unix_path views SOCKET.
 * Refused with ZWS_EURL: a fragment ('#', RFC 6455 §3 forbids it), userinfo
 * ("user:pass@", credentials do not belong in a ws URL), any space, control
 * or non-ASCII byte (percent-encode them), an empty host, and a port that is
 * empty, 0, above 65535 or not all digits.
 *
 * ZWS_URL_PROXY mode parses "http://[user[:pass]@]host[:port][/]": scheme
 * http only (TLS to the proxy itself is not supported); a URL without
 * "scheme://" is taken as http, as proxy environment variables are often
 * written "host:port"; default port 80; userinfo allowed (still
 * percent-encoded in the result: see zws_url_decode); no path beyond "/",
 * no query, no fragment. */
#ifndef ZWS_URL_H
#define ZWS_URL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* zws_url_parse flags */
#define ZWS_URL_WS 0x0u    /* a ws:// or wss:// URL (the default) */
#define ZWS_URL_PROXY 0x1u /* an http:// proxy URL, userinfo allowed */

enum zws_url_host_type {
    ZWS_URL_HOST_NAME = 0, /* registered name, to be resolved */
    ZWS_URL_HOST_IPV4 = 1, /* dotted-decimal IPv4 literal */
    ZWS_URL_HOST_IPV6 = 2  /* IPv6 literal; host is without the brackets */
};

/* Longest host accepted (a DNS name is at most 253 bytes). A buffer of
 * ZWS_URL_HOST_MAX + 1 bytes always holds zws_url_host()'s output. */
#define ZWS_URL_HOST_MAX 255
/* Longest socket file name in a ws+unix URL (sun_path less its NUL). */
#define ZWS_URL_UNIX_MAX 107

typedef struct zws_url {
    const char *scheme;   /* as written, e.g. "WSS" */
    size_t scheme_len;
    const char *user;     /* proxy mode: percent-encoded; NULL when none */
    size_t user_len;
    const char *password; /* proxy mode: NULL when no ':' after the user */
    size_t password_len;
    const char *host;     /* never empty; no brackets */
    size_t host_len;
    const char *path;     /* starts with '/'; static "/" when absent */
    size_t path_len;
    const char *query;    /* from the '?' on, or static "" (length 0) */
    size_t query_len;
    uint16_t port;        /* the given port, or the scheme's default */
    uint8_t secure;       /* 1 for wss and https */
    uint8_t host_type;    /* enum zws_url_host_type */
    uint8_t port_given;   /* 1 when the URL names a port */
    uint8_t is_unix;      /* ws+unix or wss+unix: connect to unix_path */
    const char *unix_path; /* the socket's file name (a view), or NULL */
    size_t unix_path_len;
} zws_url;

/* Parses the NUL-terminated string s into *u (views into s). flags is
 * ZWS_URL_WS or ZWS_URL_PROXY. Returns 0, ZWS_EURL with *why (if why is not
 * NULL) set to a static sentence naming the problem, or ZWS_EINVAL for NULL
 * u or s. On failure *u is zeroed. */
ZWS_EXTERN int zws_url_parse(zws_url *u, const char *s, unsigned flags,
                             const char **why);

/* Writes the host, NUL-terminated and without brackets (as getaddrinfo and
 * TLS name checks want it), into buf. Returns its length or ZWS_ENOSPACE. */
ZWS_EXTERN int zws_url_host(const zws_url *u, char *buf, size_t cap);

/* Writes "host[:port]" NUL-terminated into buf, IPv6 in brackets, as the
 * HTTP Host header (port omitted when it is the scheme's default, unless
 * always_port) or a CONNECT request target (always_port = 1) want it.
 * Returns its length or ZWS_ENOSPACE. */
ZWS_EXTERN int zws_url_authority(const zws_url *u, int always_port, char *buf,
                                 size_t cap);

/* Writes the request target (path then query, e.g. "/chat?room=1")
 * NUL-terminated into buf. Returns its length or ZWS_ENOSPACE. */
ZWS_EXTERN int zws_url_target(const zws_url *u, char *buf, size_t cap);

/* Percent-decodes in[0..len) into out (NUL-terminated; out may not overlap
 * in). Returns the decoded length, ZWS_EINVAL for a '%' not followed by two
 * hex digits or a decoded NUL byte, or ZWS_ENOSPACE. Used for proxy
 * credentials. */
ZWS_EXTERN int zws_url_decode(const char *in, size_t len, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
