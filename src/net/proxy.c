/* HTTP proxies: which one applies (environment, no_proxy), the CONNECT
 * exchange, and zws__transport_connect, which puts TCP, proxy and TLS
 * together. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal/transport.h"

#define HEAD_MAX 8192 /* largest CONNECT response head we read */
#define CRED_MAX 255  /* longest user name or password, decoded */

/* ---- which proxy ---- */

static const char *env2(const char *lower, const char *upper)
{
    const char *v = getenv(lower);
    if (v && *v)
        return v;
    v = upper ? getenv(upper) : NULL;
    return v && *v ? v : NULL;
}

void zws__proxy_env_read(zws__proxy_env *env)
{
    /* In a CGI program HTTP_PROXY comes from the request's "Proxy:" header
     * ("httpoxy"): only trust the lower-case name there. */
    int cgi = getenv("REQUEST_METHOD") != NULL;
    env->http_proxy = env2("http_proxy", cgi ? NULL : "HTTP_PROXY");
    env->https_proxy = env2("https_proxy", "HTTPS_PROXY");
    env->no_proxy = env2("no_proxy", "NO_PROXY");
}

const char *zws__proxy_select(const zws__proxy_env *env, const zws_url *target)
{
    const char *p = target->secure ? env->https_proxy : env->http_proxy;
    if (!p || !*p)
        return NULL;
    if (env->no_proxy &&
        zws__no_proxy_match(env->no_proxy, target->host, target->host_len, target->port))
        return NULL;
    return p;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* IP literal in p[0..n) to binary: AF_INET, AF_INET6, or 0. */
static int parse_ip(const char *p, size_t n, unsigned char out[16])
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, out) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, tmp, out) == 1)
        return AF_INET6;
    return 0;
}

/* Digits only, 0..65535 and at most 5 of them; -1 otherwise. */
static long parse_num(const char *p, size_t n, long max)
{
    long v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v <= max ? v : -1;
}

/* "addr/bits" against an IP literal host. */
static int cidr_match(const char *e, size_t n, const char *host, size_t hlen)
{
    const char *slash = memchr(e, '/', n);
    unsigned char net[16], ip[16];
    int fam = parse_ip(e, (size_t)(slash - e), net);
    if (!fam || parse_ip(host, hlen, ip) != fam)
        return 0;
    long bits = parse_num(slash + 1, n - (size_t)(slash - e) - 1, fam == AF_INET ? 32 : 128);
    if (bits < 0)
        return 0;
    size_t whole = (size_t)bits / 8;
    if (memcmp(net, ip, whole) != 0)
        return 0;
    unsigned rest = (unsigned)bits % 8;
    if (!rest)
        return 1;
    unsigned mask = (0xffu << (8 - rest)) & 0xffu;
    return (net[whole] & mask) == (ip[whole] & mask);
}

/* Entry host (no port, no brackets) against the target host. */
static int host_match(const char *e, size_t n, const char *host, size_t hlen)
{
    if (n && e[n - 1] == '.')
        n--;
    if (hlen && host[hlen - 1] == '.')
        hlen--;
    if (memchr(e, '/', n))
        return cidr_match(e, n, host, hlen);
    unsigned char a[16], b[16];
    int fe = parse_ip(e, n, a), fh = parse_ip(host, hlen, b);
    if (fe || fh) /* addresses match exactly, never as suffixes */
        return fe == fh && memcmp(a, b, fe == AF_INET ? 4 : 16) == 0;
    if (n >= 2 && e[0] == '*' && e[1] == '.') {
        e += 2;
        n -= 2;
    } else if (n && e[0] == '.') {
        e++;
        n--;
    }
    if (n == 0 || hlen < n)
        return 0;
    if (hlen == n)
        return eq_nocase(host, e, n);
    return host[hlen - n - 1] == '.' && eq_nocase(host + hlen - n, e, n);
}

/* One no_proxy entry, trimmed and non-empty. */
static int entry_match(const char *e, size_t n, const char *host, size_t hlen,
                       uint16_t port)
{
    if (n == 1 && e[0] == '*')
        return 1;
    const char *hp = e, *portp = NULL;
    size_t hn = n;
    if (e[0] == '[') {
        const char *close = memchr(e, ']', n);
        if (!close)
            return 0;
        hp = e + 1;
        hn = (size_t)(close - e - 1);
        if (close + 1 < e + n) {
            if (close[1] != ':')
                return 0;
            portp = close + 2;
        }
    } else {
        /* One ':' separates a port; several make a bare IPv6 address. */
        const char *c = memchr(e, ':', n);
        if (c && !memchr(c + 1, ':', n - (size_t)(c + 1 - e))) {
            hn = (size_t)(c - e);
            portp = c + 1;
        }
    }
    if (portp && parse_num(portp, (size_t)(e + n - portp), 65535) != (long)port)
        return 0;
    return hn && host_match(hp, hn, host, hlen);
}

int zws__no_proxy_match(const char *no_proxy, const char *host, size_t host_len,
                        uint16_t port)
{
    const char *p = no_proxy;
    if (!p || !host || !host_len)
        return 0;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        if (e > p && entry_match(p, (size_t)(e - p), host, host_len, port))
            return 1;
        p = e;
    }
    return 0;
}

/* ---- CONNECT ---- */

/* "Proxy-Authorization: Basic ...\r\n" for the proxy's userinfo, or "". */
static int auth_header(const zws_url *proxy, char *out, size_t cap)
{
    char cred[2 * CRED_MAX + 2];
    out[0] = '\0';
    if (!proxy->user)
        return 0;
    int un = zws_url_decode(proxy->user, proxy->user_len, cred, CRED_MAX + 1);
    if (un < 0)
        return un;
    cred[un] = ':';
    int pn = 0;
    if (proxy->password) {
        pn = zws_url_decode(proxy->password, proxy->password_len, cred + un + 1,
                            CRED_MAX + 1);
        if (pn < 0)
            return pn;
    }
    unsigned char b64[4 * ((sizeof cred + 2) / 3) + 1];
    int bn = EVP_EncodeBlock(b64, (const unsigned char *)cred, un + 1 + pn);
    OPENSSL_cleanse(cred, sizeof cred);
    int n = snprintf(out, cap, "Proxy-Authorization: Basic %.*s\r\n", bn, (char *)b64);
    OPENSSL_cleanse(b64, sizeof b64);
    return n > 0 && (size_t)n < cap ? 0 : ZWS_ENOSPACE;
}

static int send_all(int fd, const char *p, size_t len, int64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = zws__wait_fd(fd, POLLOUT, deadline);
            if (w)
                return w;
        } else if (errno != EINTR) {
            return ZWS_EIO;
        }
    }
    return 0;
}

/* Reads the response head and not one byte more: peek, find the blank
 * line, then consume exactly up to it. Whatever follows belongs to the
 * tunnel (a TLS server never speaks first, but nothing here relies on it). */
static int read_head(int fd, char *buf, size_t cap, int64_t deadline, size_t *len)
{
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + have, cap - have, MSG_PEEK);
        if (n == 0)
            return ZWS_ECLOSED;
        if (n < 0) {
            int w = 0;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                w = zws__wait_fd(fd, POLLIN, deadline);
            else if (errno != EINTR)
                w = ZWS_EIO;
            if (w)
                return w;
            continue;
        }
        size_t end = have + (size_t)n, take = (size_t)n;
        int found = 0;
        for (size_t i = have >= 3 ? have - 3 : 0; i + 4 <= end; i++) {
            if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
                take = i + 4 - have;
                found = 1;
                break;
            }
        }
        ssize_t m;
        do
            m = recv(fd, buf + have, take, 0); /* peeked: cannot block */
        while (m < 0 && errno == EINTR);
        if (m != (ssize_t)take)
            return ZWS_EIO;
        have += take;
        if (found) {
            *len = have;
            return 0;
        }
        if (have == cap)
            return ZWS_ETOOBIG;
    }
}

/* The status line, printable, for messages; returns the status code or -1
 * when the line is not "HTTP/1.x NNN ...". */
static int status_line(const char *head, size_t len, char *out, size_t cap)
{
    const char *eol = memchr(head, '\r', len);
    size_t n = eol ? (size_t)(eol - head) : len, o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        out[o++] = head[i] >= 0x20 && head[i] < 0x7f ? head[i] : (char)'?';
    out[o] = '\0';
    if (n < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[7] < '0' || head[7] > '9' ||
        head[8] != ' ' ||
        (n > 12 && head[12] != ' '))
        return -1;
    long code = parse_num(head + 9, 3, 999);
    return code >= 100 ? (int)code : -1;
}

static int connect_fail(int rc, const char *who, int timeout_ms, char *err, size_t errlen)
{
    if (rc == ZWS_ETIMEDOUT) {
        zws__errf(err, errlen, "proxy %s: no answer to CONNECT within %d ms", who,
                  timeout_ms);
        return rc;
    }
    if (rc == ZWS_ECLOSED)
        zws__errf(err, errlen, "proxy %s closed the connection without answering CONNECT",
                  who);
    else if (rc == ZWS_ETOOBIG)
        zws__errf(err, errlen, "proxy %s: response to CONNECT longer than %d bytes",
                  who, HEAD_MAX);
    else
        zws__errf(err, errlen, "proxy %s: %s", who, strerror(errno));
    return ZWS_EPROXY;
}

int zws__proxy_connect(int fd, const zws_url *proxy, const zws_url *target,
                       int timeout_ms, char *err, size_t errlen)
{
    char who[ZWS_URL_HOST_MAX + 16], dest[ZWS_URL_HOST_MAX + 16];
    char auth[512], req[1024 + 2 * sizeof dest];
    zws_url_authority(proxy, 1, who, sizeof who);
    if (zws_url_authority(target, 1, dest, sizeof dest) < 0)
        return ZWS_EINVAL;
    if (auth_header(proxy, auth, sizeof auth) < 0) {
        zws__errf(err, errlen, "proxy %s: bad or too long user name or password", who);
        return ZWS_EPROXY;
    }
    int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", dest,
                     dest, auth);
    OPENSSL_cleanse(auth, sizeof auth);
    int64_t deadline = zws__deadline(timeout_ms);
    int rc = send_all(fd, req, (size_t)n, deadline);
    OPENSSL_cleanse(req, sizeof req);
    char head[HEAD_MAX];
    size_t len = 0;
    if (rc == 0)
        rc = read_head(fd, head, sizeof head, deadline, &len);
    if (rc)
        return connect_fail(rc, who, timeout_ms, err, errlen);
    char line[160];
    int code = status_line(head, len, line, sizeof line);
    if (code < 0) {
        zws__errf(err, errlen, "proxy %s: malformed answer to CONNECT: \"%s\"", who, line);
        return ZWS_EPROXY;
    }
    if (code < 200 || code > 299) {
        zws__errf(err, errlen, "proxy %s refused CONNECT to %s: %s", who, dest, line);
        return ZWS_EPROXY;
    }
    return 0;
}

/* ---- all of it ---- */

/* TCP to the proxy and CONNECT through it; failures name the proxy. */
static int via_proxy(int *fd, const char *purl, const zws_url *u, int timeout_ms,
                     char *err, size_t errlen)
{
    zws_url pu;
    const char *why = "";
    if (zws_url_parse(&pu, purl, ZWS_URL_PROXY, &why) != 0) {
        zws__errf(err, errlen, "bad proxy URL: %s", why);
        return ZWS_EPROXY;
    }
    char phost[ZWS_URL_HOST_MAX + 1], sub[256];
    zws_url_host(&pu, phost, sizeof phost);
    int64_t deadline = zws__deadline(timeout_ms);
    int rc = zws__tcp_connect(fd, phost, pu.port, timeout_ms, sub, sizeof sub);
    if (rc) {
        zws__errf(err, errlen, "proxy: %s", sub);
        return rc == ZWS_ETIMEDOUT ? rc : ZWS_EPROXY;
    }
    int left = zws__remaining_ms(deadline);
    rc = zws__proxy_connect(*fd, &pu, u, deadline < 0 ? -1 : left, err, errlen);
    if (rc == ZWS_ETIMEDOUT) { /* name the whole budget, not what was left */
        zws_url_authority(&pu, 1, sub, sizeof sub);
        zws__errf(err, errlen, "proxy %s: no answer to CONNECT within %d ms", sub,
                  timeout_ms);
    }
    if (rc) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int zws__transport_connect(zws__transport *t, const zws_url *u,
                           const zws__connect_opts *o, char *err, size_t errlen)
{
    zws__transport_init(t, -1);
    char host[ZWS_URL_HOST_MAX + 1];
    if (!u || !o || zws_url_host(u, host, sizeof host) < 0 || (u->secure && !o->tls_ctx)) {
        zws__errf(err, errlen, "connect: bad arguments (wss needs a TLS context)");
        return ZWS_EINVAL;
    }
    const char *purl = o->proxy;
    if (u->is_unix)
        purl = ""; /* a local socket: no proxy */
    if (!purl) {
        zws__proxy_env env;
        zws__proxy_env_read(&env);
        purl = zws__proxy_select(&env, u);
    }
    int fd = -1, rc;
    char path[ZWS_URL_UNIX_MAX + 1];
    if (u->is_unix) {
        size_t n = u->unix_path_len < sizeof path ? u->unix_path_len : sizeof path - 1;
        memcpy(path, u->unix_path, n);
        path[n] = '\0';
        rc = zws__unix_connect(&fd, path, o->connect_timeout_ms, err, errlen);
    } else if (purl && *purl) {
        rc = via_proxy(&fd, purl, u, o->connect_timeout_ms, err, errlen);
    } else {
        rc = zws__tcp_connect(&fd, host, u->port, o->connect_timeout_ms, err, errlen);
    }
    if (rc)
        return rc;
    zws__transport_init(t, fd);
    int64_t deadline = zws__deadline(o->tls_timeout_ms);
    if (o->deadline_out)
        *o->deadline_out = deadline;
    if (u->secure) {
        rc = zws__transport_tls_client(t, o->tls_ctx, host, zws__remaining_ms(deadline),
                                       err, errlen);
        if (rc) {
            zws__transport_close(t);
            return rc;
        }
    }
    return 0;
}
