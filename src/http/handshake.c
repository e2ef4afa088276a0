/* The WebSocket opening handshake (RFC 6455 §4): keys, server and client
 * validation, and the request and response builders. */
#include <limits.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal/http.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_KEY 64 /* longest key hashed; a valid one has 24 bytes */

/* ---- keys ---- */

int zws_handshake_client_key(char out[ZWS_HANDSHAKE_KEY_LEN + 1])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, (int)sizeof raw) != 1)
        return ZWS_EIO;
    EVP_EncodeBlock((unsigned char *)out, raw, (int)sizeof raw);
    return 0;
}

static int b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* 16 bytes encode to 22 characters and "==": 24 characters with one "="
 * would be 17 bytes, without padding 18, and shorter inputs fewer than 16.
 * Nonzero unused bits in the last character are accepted (RFC 4648 §3.5
 * lets decoders choose). */
int zws_handshake_key_valid(const char *key, size_t len)
{
    if (!key || len != ZWS_HANDSHAKE_KEY_LEN || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!b64_char((unsigned char)key[i]))
            return 0;
    return 1;
}

int zws_handshake_accept_key(const char *key, size_t key_len,
                             char out[ZWS_HANDSHAKE_ACCEPT_LEN + 1])
{
    unsigned char in[MAX_KEY + sizeof WS_GUID - 1], md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (key_len > MAX_KEY || (!key && key_len))
        return ZWS_EINVAL;
    if (key_len)
        memcpy(in, key, key_len);
    memcpy(in + key_len, WS_GUID, sizeof WS_GUID - 1);
    if (EVP_Digest(in, key_len + sizeof WS_GUID - 1, md, &md_len, EVP_sha1(), NULL) != 1 ||
        md_len != 20)
        return ZWS_EHANDSHAKE;
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    return 0;
}

/* ---- server: request validation ---- */

static int reject(zws_handshake_request *out, int status, const char *why)
{
    out->status = status;
    out->error = why;
    return ZWS_EHANDSHAKE;
}

/* 1 if s[0..n) starts with the lower-case prefix p, ASCII case folded. */
static int iprefix(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (zws__lower((unsigned char)s[i]) != (unsigned char)p[i])
            return 0;
    return 1;
}

/* origin-form is the path itself; absolute-form (RFC 6455 §4.2.1 allows an
 * http(s) URI, ws(s) too for good measure) yields the part after the
 * authority. Anything else (authority-form, "*") is no resource name. */
static int target_path(const char *t, size_t n, zws_handshake_request *out)
{
    static const char *const schemes[] = {"http://", "https://", "ws://", "wss://"};
    if (n > 0 && t[0] == '/') {
        out->path = t;
        out->path_len = n;
        return 0;
    }
    for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
        if (!iprefix(t, n, schemes[k]))
            continue;
        size_t b = strlen(schemes[k]), i = b;
        while (i < n && t[i] != '/' && t[i] != '?' && t[i] != '#')
            i++;
        if (i == b || (i < n && t[i] != '/'))
            return -1;
        out->path = i < n ? t + i : "/";
        out->path_len = i < n ? n - i : 1;
        return 0;
    }
    return -1;
}

static int check_host_origin(const zws_http_header *h, size_t n, zws_handshake_request *out)
{
    const zws_http_header *host = zws_http_find_header(h, n, "Host");
    if (!host || host->value_len == 0)
        return reject(out, 400, "missing Host header");
    if (zws_http_count_header(h, n, "Host") > 1)
        return reject(out, 400, "more than one Host header");
    out->host = host->value;
    out->host_len = host->value_len;
    /* Two Origins would let a check pass on one while the app reads the other. */
    if (zws_http_count_header(h, n, "Origin") > 1)
        return reject(out, 400, "more than one Origin header");
    const zws_http_header *origin = zws_http_find_header(h, n, "Origin");
    if (origin) {
        out->origin = origin->value;
        out->origin_len = origin->value_len;
    }
    return 0;
}

static int check_upgrade(const zws_http_header *h, size_t n, zws_handshake_request *out)
{
    if (!zws_http_find_header(h, n, "Upgrade"))
        return reject(out, 426, "not a WebSocket handshake (no Upgrade header)");
    if (!zws_http_has_token(h, n, "Upgrade", "websocket"))
        return reject(out, 400, "Upgrade header does not name websocket");
    if (!zws_http_has_token(h, n, "Connection", "upgrade"))
        return reject(out, 400, "Connection header does not contain upgrade");
    /* Version before key, so a client of an older draft learns which
     * version to speak (426) rather than that its key is bad. */
    const zws_http_header *v = zws_http_find_header(h, n, "Sec-WebSocket-Version");
    if (!v || zws_http_count_header(h, n, "Sec-WebSocket-Version") != 1 ||
        v->value_len != 2 || memcmp(v->value, "13", 2) != 0)
        return reject(out, 426, "Sec-WebSocket-Version must be 13");
    const zws_http_header *key = zws_http_find_header(h, n, "Sec-WebSocket-Key");
    if (!key)
        return reject(out, 400, "missing Sec-WebSocket-Key");
    if (zws_http_count_header(h, n, "Sec-WebSocket-Key") > 1)
        return reject(out, 400, "more than one Sec-WebSocket-Key");
    if (!zws_handshake_key_valid(key->value, key->value_len))
        return reject(out, 400, "Sec-WebSocket-Key is not base64 of 16 bytes");
    out->key = key->value;
    out->key_len = key->value_len;
    return 0;
}

/* Bytes after the head are frames; a request body there would be read as
 * frames, so a request announcing one is refused. */
static int check_body(const zws_http_header *h, size_t n, zws_handshake_request *out)
{
    if (zws_http_find_header(h, n, "Transfer-Encoding"))
        return reject(out, 400, "upgrade request with a body");
    for (size_t i = 0; i < n; i++)
        if (zws__ieq(h[i].name, h[i].name_len, "Content-Length") &&
            !(h[i].value_len == 1 && h[i].value[0] == '0'))
            return reject(out, 400, "upgrade request with a body");
    return 0;
}

/* Checked here so that later iteration by the application cannot fail. */
static int check_offers(const zws_http_header *h, size_t n, zws_handshake_request *out)
{
    zws_http_list it;
    const char *e;
    size_t len;
    int r;
    zws_http_list_init(&it, h, n, "Sec-WebSocket-Protocol");
    while ((r = zws_http_list_next(&it, &e, &len)) > 0)
        if (!zws__is_token(e, len))
            return reject(out, 400, "malformed Sec-WebSocket-Protocol");
    if (r < 0)
        return reject(out, 400, "malformed Sec-WebSocket-Protocol");
    zws_ext_offer offer;
    zws_http_list_init(&it, h, n, "Sec-WebSocket-Extensions");
    while ((r = zws_ext_next(&it, &offer)) > 0)
        ;
    if (r < 0)
        return reject(out, 400, "malformed Sec-WebSocket-Extensions");
    return 0;
}

int zws_handshake_validate_request(const zws_http_request *req, zws_handshake_request *out)
{
    const zws_http_header *h = req->headers;
    size_t n = req->num_headers;
    memset(out, 0, sizeof *out);
    out->headers = h;
    out->num_headers = n;
    /* Methods are case-sensitive (RFC 9110 §9.1). */
    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
        return reject(out, 405, "method must be GET");
    if (req->version_major != 1)
        return reject(out, 505, "HTTP version not supported");
    if (req->version_minor < 1)
        return reject(out, 400, "WebSocket needs HTTP/1.1");
    int r = check_host_origin(h, n, out);
    if (r == 0)
        r = check_upgrade(h, n, out);
    if (r == 0 && target_path(req->target, req->target_len, out) < 0)
        r = reject(out, 400, "request target is not a path");
    if (r == 0)
        r = check_body(h, n, out);
    if (r == 0)
        r = check_offers(h, n, out);
    if (r < 0)
        return r;
    out->status = 101;
    return 0;
}

const char *zws_handshake_select_subprotocol(const zws_handshake_request *r,
                                             const char *const *supported, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zws_http_list it;
        const char *e;
        size_t len, want = strlen(supported[i]);
        zws_http_list_init(&it, r->headers, r->num_headers, "Sec-WebSocket-Protocol");
        while (zws_http_list_next(&it, &e, &len) > 0)
            if (len == want && memcmp(e, supported[i], len) == 0)
                return supported[i];
    }
    return NULL;
}

/* ---- builders ---- */

/* Output that keeps counting past the end, so one check at the end says
 * whether everything fit; once something did not, len > cap for good and
 * nothing more is written. */
typedef struct wbuf {
    char *p;
    size_t cap;
    size_t len;
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    if (n && w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void put_str(wbuf *w, const char *s) { put(w, s, strlen(s)); }

static void put_uint(wbuf *w, unsigned long v)
{
    char tmp[24];
    int k = snprintf(tmp, sizeof tmp, "%lu", v);
    put(w, tmp, (size_t)k);
}

static void put_header(wbuf *w, const char *name, const char *value, size_t vlen)
{
    put_str(w, name);
    put(w, ": ", 2);
    put(w, value, vlen);
    put(w, "\r\n", 2);
}

static int done(const wbuf *w)
{
    if (w->len > w->cap || w->len > INT_MAX)
        return ZWS_ENOSPACE;
    return (int)w->len;
}

static int value_ok(const char *v, size_t n)
{
    if (!v && n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!zws__is_vchar_ws((unsigned char)v[i]))
            return 0;
    return 1;
}

/* NULL is absent; otherwise checked as a header value. */
static int opt_ok(const char *v) { return !v || value_ok(v, strlen(v)); }

static int is_set(const char *v) { return v && *v; }

#define REQ ZWS__HDR_REQUEST
#define RESP ZWS__HDR_RESPONSE
#define ERR ZWS__HDR_ERROR
static const struct reserved_header {
    const char *name;
    unsigned prefix; /* 1: every name starting with this one */
    unsigned in;
    const char *why;
} reserved_headers[] = {
    {"Host", 0, REQ, "Host is derived from the URL"},
    {"Origin", 0, REQ, "Origin is set with zws_opts_set_origin"},
    {"Upgrade", 0, REQ | RESP | ERR, "Upgrade is written by the handshake"},
    {"Connection", 0, REQ | RESP | ERR, "Connection is written by the handshake"},
    {"Content-Length", 0, REQ | RESP | ERR, "a handshake has no body of the caller's"},
    {"Transfer-Encoding", 0, REQ | RESP | ERR, "a handshake has no body of the caller's"},
    {"Content-Type", 0, ERR, "an error answer's body is text/plain"},
    {"Allow", 0, ERR, "Allow is written with a 405"},
    {"Sec-WebSocket-Key", 0, REQ, "Sec-WebSocket-Key is written by the handshake"},
    {"Sec-WebSocket-Accept", 0, RESP, "Sec-WebSocket-Accept is written by the handshake"},
    {"Sec-WebSocket-Version", 0, REQ | ERR, "Sec-WebSocket-Version is written by the handshake"},
    {"Sec-WebSocket-Protocol", 0, REQ | RESP,
     "subprotocols are set with zws_opts_add_subprotocol"},
    {"Sec-WebSocket-Extensions", 0, REQ | RESP, "extensions are negotiated by zws"},
    /* Any other Sec-WebSocket-* header would be a handshake field zws does
     * not know: not one an application sets through the options. */
    {"Sec-WebSocket-", 1, ZWS__HDR_OPTS, "Sec-WebSocket-* headers belong to the handshake"},
};
#undef REQ
#undef RESP
#undef ERR

const char *zws__header_reserved(const char *name, size_t n, unsigned which)
{
    for (size_t i = 0; i < sizeof reserved_headers / sizeof reserved_headers[0]; i++) {
        const struct reserved_header *r = &reserved_headers[i];
        if (!(r->in & which))
            continue;
        size_t len = strlen(r->name);
        if (r->prefix ? n >= len && zws__ieq_n(name, r->name, len) : zws__ieq(name, n, r->name))
            return r->why;
    }
    return NULL;
}

/* Extra headers: token names, injection-free values, and none of the names
 * the builder owns (a second Upgrade or Content-Length would change what the
 * peer understands). */
static int extra_ok(const zws_http_header *x, size_t n, unsigned which)
{
    if (n && !x)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!x[i].name || !zws__is_token(x[i].name, x[i].name_len) ||
            !value_ok(x[i].value, x[i].value_len) ||
            zws__header_reserved(x[i].name, x[i].name_len, which))
            return 0;
    return 1;
}

static void put_extra(wbuf *w, const zws_http_header *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(w, x[i].name, x[i].name_len);
        put(w, ": ", 2);
        put(w, x[i].value, x[i].value_len);
        put(w, "\r\n", 2);
    }
}

int zws_handshake_build_response(char *out, size_t cap, const char *key, size_t key_len,
                                 const char *protocol, const char *extensions,
                                 const zws_http_header *extra, size_t n_extra)
{
    char accept[ZWS_HANDSHAKE_ACCEPT_LEN + 1];
    if ((!out && cap) || !key || (is_set(protocol) && !zws__is_token(protocol, strlen(protocol))) ||
        !opt_ok(extensions) || !extra_ok(extra, n_extra, ZWS__HDR_RESPONSE))
        return ZWS_EINVAL;
    int r = zws_handshake_accept_key(key, key_len, accept);
    if (r < 0)
        return r;
    wbuf w = {out, cap, 0};
    put_str(&w, "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n");
    put_header(&w, "Sec-WebSocket-Accept", accept, ZWS_HANDSHAKE_ACCEPT_LEN);
    if (is_set(protocol))
        put_header(&w, "Sec-WebSocket-Protocol", protocol, strlen(protocol));
    if (is_set(extensions))
        put_header(&w, "Sec-WebSocket-Extensions", extensions, strlen(extensions));
    put_extra(&w, extra, n_extra);
    put(&w, "\r\n", 2);
    return done(&w);
}

int zws_handshake_build_error(char *out, size_t cap, int status, const char *detail,
                              const zws_http_header *extra, size_t n_extra)
{
    if ((!out && cap) || status < 200 || status > 599 ||
        !extra_ok(extra, n_extra, ZWS__HDR_ERROR))
        return ZWS_EINVAL;
    const char *text = zws_http_status_text(status);
    char code[12];
    snprintf(code, sizeof code, "%d", status);
    size_t body = strlen(code) + 1 + strlen(text) + 1 + (detail ? 2 + strlen(detail) : 0);
    wbuf w = {out, cap, 0};
    put_str(&w, "HTTP/1.1 ");
    put_str(&w, code);
    put(&w, " ", 1);
    put_str(&w, text);
    put(&w, "\r\n", 2);
    if (status == 405)
        put_str(&w, "Allow: GET\r\n");
    if (status == 426)
        put_str(&w, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    put_str(&w, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    put_uint(&w, body);
    put_str(&w, status == 426 ? "\r\nConnection: Upgrade, close\r\n" : "\r\nConnection: close\r\n");
    put_extra(&w, extra, n_extra);
    put(&w, "\r\n", 2);
    put_str(&w, code);
    put(&w, " ", 1);
    put_str(&w, text);
    if (detail) {
        put(&w, ": ", 2);
        put_str(&w, detail);
    }
    put(&w, "\n", 1);
    return done(&w);
}

/* ---- client: request ---- */

/* A host name or address without port. *bracket is set for an IPv6 literal
 * given without brackets (it has colons; a name or IPv4 address has none). */
static int host_ok(const char *h, int *bracket)
{
    size_t n = h ? strlen(h) : 0;
    int colon = 0, bracketed = n > 2 && h[0] == '[' && h[n - 1] == ']';
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= 0x20 || c >= 0x7f || strchr("/?#@\\", c))
            return 0;
        if ((c == '[' || c == ']') && !(bracketed && (i == 0 || i == n - 1)))
            return 0;
        colon |= c == ':';
    }
    *bracket = colon && !bracketed;
    return 1;
}

static int path_ok(const char *p)
{
    if (!is_set(p))
        return 1;
    if (p[0] != '/')
        return 0;
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

static int request_args_ok(const char *host, int *bracket, const char *path, const char *key,
                           const char *const *protocols, size_t n_protocols)
{
    if (!host_ok(host, bracket) || !path_ok(path) || !key ||
        !zws_handshake_key_valid(key, strlen(key)) || (n_protocols && !protocols))
        return 0;
    for (size_t i = 0; i < n_protocols; i++)
        if (!protocols[i] || !zws__is_token(protocols[i], strlen(protocols[i])))
            return 0;
    return 1;
}

static void put_host(wbuf *w, const char *host, int bracket, uint16_t port, int tls)
{
    put_str(w, "Host: ");
    if (bracket)
        put(w, "[", 1);
    put_str(w, host);
    if (bracket)
        put(w, "]", 1);
    if (port != 0 && port != (tls ? 443 : 80)) {
        put(w, ":", 1);
        put_uint(w, port);
    }
    put(w, "\r\n", 2);
}

int zws_handshake_build_request(char *out, size_t cap, const char *host, uint16_t port,
                                int tls, const char *path, const char *key,
                                const char *const *protocols, size_t n_protocols,
                                const char *extensions, const char *origin,
                                const zws_http_header *extra, size_t n_extra)
{
    int bracket = 0;
    if ((!out && cap) || !request_args_ok(host, &bracket, path, key, protocols, n_protocols) ||
        !opt_ok(extensions) || !opt_ok(origin) || !extra_ok(extra, n_extra, ZWS__HDR_REQUEST))
        return ZWS_EINVAL;
    wbuf w = {out, cap, 0};
    put_str(&w, "GET ");
    put_str(&w, is_set(path) ? path : "/");
    put_str(&w, " HTTP/1.1\r\n");
    put_host(&w, host, bracket, port, tls);
    put_str(&w, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    put_header(&w, "Sec-WebSocket-Key", key, strlen(key));
    put_str(&w, "Sec-WebSocket-Version: 13\r\n");
    if (n_protocols) {
        put_str(&w, "Sec-WebSocket-Protocol: ");
        for (size_t i = 0; i < n_protocols; i++) {
            if (i)
                put(&w, ", ", 2);
            put_str(&w, protocols[i]);
        }
        put(&w, "\r\n", 2);
    }
    if (is_set(extensions))
        put_header(&w, "Sec-WebSocket-Extensions", extensions, strlen(extensions));
    if (is_set(origin))
        put_header(&w, "Origin", origin, strlen(origin));
    put_extra(&w, extra, n_extra);
    put(&w, "\r\n", 2);
    return done(&w);
}

/* ---- client: response validation ---- */

/* A peer's text made safe for a one-line message: printable ASCII only,
 * at most cap - 4 bytes, "..." when cut. */
static const char *shown(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0, room = cap - 4;
    for (; k < n && k < room; k++) {
        unsigned char c = (unsigned char)s[k];
        dst[k] = (char)((c >= 0x20 && c < 0x7f) ? c : '?');
    }
    if (k < n) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
    return dst;
}

static int failmsg(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return ZWS_EHANDSHAKE;
}

/* "<what> '<name>' that was not offered", name shown safely. */
static int fail_unoffered(char *err, size_t errlen, const char *what, const char *name,
                          size_t len)
{
    if (err && errlen) {
        char show[72];
        snprintf(err, errlen, "server chose %s '%s' that was not offered", what,
                 shown(show, sizeof show, name, len));
    }
    return ZWS_EHANDSHAKE;
}

static int offered_protocol(const char *e, size_t len, const char *const *protocols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (protocols && protocols[i] && strlen(protocols[i]) == len &&
            memcmp(protocols[i], e, len) == 0)
            return 1;
    return 0;
}

static int check_protocol(const zws_http_response *res, const char *const *protocols,
                          size_t n_protocols, zws_handshake_response *out, char *err,
                          size_t errlen)
{
    zws_http_list it;
    const char *e;
    size_t len;
    int r, count = 0;
    zws_http_list_init(&it, res->headers, res->num_headers, "Sec-WebSocket-Protocol");
    while ((r = zws_http_list_next(&it, &e, &len)) > 0) {
        if (++count > 1)
            return failmsg(err, errlen, "server chose more than one subprotocol");
        if (!offered_protocol(e, len, protocols, n_protocols))
            return fail_unoffered(err, errlen, "subprotocol", e, len);
        out->protocol = e;
        out->protocol_len = len;
    }
    if (r < 0)
        return failmsg(err, errlen, "malformed Sec-WebSocket-Protocol in the response");
    return 0;
}

static int offered_extension(const char *offered, const char *name, size_t len)
{
    zws_http_header h = {"Sec-WebSocket-Extensions", 24, offered, offered ? strlen(offered) : 0};
    zws_http_list it;
    zws_ext_offer o;
    zws_http_list_init(&it, &h, 1, h.name);
    while (zws_ext_next(&it, &o) > 0)
        if (o.name_len == len && zws__ieq_n(o.name, name, len))
            return 1;
    return 0;
}

static int check_extensions(const zws_http_response *res, const char *offered, char *err,
                            size_t errlen)
{
    zws_http_list it;
    zws_ext_offer o;
    int r;
    zws_http_list_init(&it, res->headers, res->num_headers, "Sec-WebSocket-Extensions");
    while ((r = zws_ext_next(&it, &o)) > 0)
        if (!offered_extension(offered, o.name, o.name_len))
            return fail_unoffered(err, errlen, "extension", o.name, o.name_len);
    if (r < 0)
        return failmsg(err, errlen, "malformed Sec-WebSocket-Extensions in the response");
    return 0;
}

static int check_accept(const zws_http_response *res, const char *key, char *err, size_t errlen)
{
    const zws_http_header *h = res->headers;
    size_t n = res->num_headers;
    char want[ZWS_HANDSHAKE_ACCEPT_LEN + 1];
    const zws_http_header *a = zws_http_find_header(h, n, "Sec-WebSocket-Accept");
    if (!a)
        return failmsg(err, errlen, "server response lacks Sec-WebSocket-Accept");
    if (zws_http_count_header(h, n, "Sec-WebSocket-Accept") > 1)
        return failmsg(err, errlen, "server sent more than one Sec-WebSocket-Accept");
    if (zws_handshake_accept_key(key, strlen(key), want) < 0)
        return failmsg(err, errlen, "cannot compute Sec-WebSocket-Accept");
    if (a->value_len != ZWS_HANDSHAKE_ACCEPT_LEN ||
        memcmp(a->value, want, ZWS_HANDSHAKE_ACCEPT_LEN) != 0)
        return failmsg(err, errlen, "Sec-WebSocket-Accept mismatch");
    return 0;
}

int zws_handshake_validate_response(const zws_http_response *res, const char *key,
                                    const char *const *protocols, size_t n_protocols,
                                    const char *extensions, zws_handshake_response *out,
                                    char *err, size_t errlen)
{
    const zws_http_header *h = res->headers;
    size_t n = res->num_headers;
    memset(out, 0, sizeof *out);
    out->status = res->status;
    out->headers = h;
    out->num_headers = n;
    if (err && errlen)
        err[0] = '\0';
    if (res->status != 101) {
        char reason[96];
        shown(reason, sizeof reason, res->reason, res->reason_len);
        if (err && errlen)
            snprintf(err, errlen, "server answered %d %s%s", res->status, reason,
                     res->status < 400 ? ", not 101 Switching Protocols: the URL is not a "
                                         "WebSocket endpoint"
                                       : "");
        return ZWS_EHANDSHAKE;
    }
    if (!key)
        return failmsg(err, errlen, "no Sec-WebSocket-Key to check the answer against");
    if (!zws_http_has_token(h, n, "Upgrade", "websocket"))
        return failmsg(err, errlen, "server response lacks 'Upgrade: websocket'");
    if (!zws_http_has_token(h, n, "Connection", "upgrade"))
        return failmsg(err, errlen, "server response lacks 'Connection: Upgrade'");
    int r = check_accept(res, key, err, errlen);
    if (r == 0)
        r = check_protocol(res, protocols, n_protocols, out, err, errlen);
    if (r == 0)
        r = check_extensions(res, extensions, err, errlen);
    return r;
}
