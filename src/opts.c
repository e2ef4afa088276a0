/* zws_opts: connection options, deep-copied into each listener (and each
 * client connection) so callers may free theirs at once; a listener's copy
 * is shared by reference with the connections it accepts. */
#include <string.h>

#include "internal/alloc.h"
#include "internal/http.h"
#include "internal/opts.h"

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = zws__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void pmd_defaults(zws__pmd_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->level = 6;
    c->mem_level = 8;
}

int zws_opts_new(zws_opts **out)
{
    zws_opts *o = zws__malloc(sizeof *o);
    if (!o)
        return ZWS_ENOMEM;
    memset(o, 0, sizeof *o);
    atomic_init(&o->refs, 1);
    o->timeout[ZWS_TIMEOUT_CONNECT] = 10000;
    o->timeout[ZWS_TIMEOUT_HANDSHAKE] = 10000;
    o->timeout[ZWS_TIMEOUT_READ] = 0;
    o->timeout[ZWS_TIMEOUT_CLOSE] = 5000;
    o->max_frame = (uint64_t)16 << 20;
    o->max_message = (uint64_t)16 << 20;
    o->buffer_size = 64 << 10;
    o->per_addr_hs = 1024;
    o->per_addr_conns = 0;
    o->budget = (size_t)1 << 30;
    pmd_defaults(&o->pmd);
    *out = o;
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zws__free(v[i]);
    zws__free(v);
}

zws_opts *zws__opts_ref(zws_opts *o)
{
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
    return o;
}

void zws_opts_free(zws_opts *o)
{
    if (!o || atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
        return;
    free_list(o->hnames, o->nheaders);
    free_list(o->hvalues, o->nheaders);
    zws__free(o->headers);
    free_list(o->protos, o->nprotos);
    zws__free(o->ca_file);
    zws__free(o->cert_file);
    zws__free(o->key_file);
    zws__free(o->proxy);
    zws__free(o->origin);
    zws__free(o);
}

void zws_opts_set_timeout(zws_opts *o, enum zws_timeout which, int ms)
{
    if ((unsigned)which < 5)
        o->timeout[which] = ms < 0 ? 0 : ms;
}

static int push(char ***v, size_t n, char *s)
{
    char **nv = zws__realloc(*v, (n + 1) * sizeof *nv);
    if (!nv)
        return ZWS_ENOMEM;
    nv[n] = s;
    *v = nv;
    return 0;
}

/* Outside what a header value may hold (CTLs but HTAB, and DEL), as the
 * handshake builders check it. */
static int bad_text(const char *s)
{
    for (; *s; s++)
        if (!zws__is_vchar_ws((unsigned char)*s))
            return 1;
    return 0;
}

/* Rebuilds the zws_http_header views after the string lists changed. */
static int sync_headers(zws_opts *o)
{
    zws_http_header *h = zws__realloc(o->headers, (o->nheaders + 1) * sizeof *h);
    if (!h)
        return ZWS_ENOMEM;
    for (size_t i = 0; i < o->nheaders; i++) {
        h[i].name = o->hnames[i];
        h[i].name_len = strlen(o->hnames[i]);
        h[i].value = o->hvalues[i];
        h[i].value_len = strlen(o->hvalues[i]);
    }
    o->headers = h;
    return 0;
}

const char *zws_opts_header_refusal(const char *name, const char *value)
{
    if (!name || !*name)
        return "no header name";
    size_t n = strlen(name);
    if (!zws__is_token(name, n))
        return "not an HTTP token";
    /* The options serve a client's request and a server's 101 alike. */
    const char *why = zws__header_reserved(name, n, ZWS__HDR_REQUEST | ZWS__HDR_RESPONSE |
                                                    ZWS__HDR_OPTS);
    if (why)
        return why;
    if (!value)
        return "no header value";
    if (bad_text(value))
        return "value contains a control character";
    return NULL;
}

int zws_opts_add_header(zws_opts *o, const char *name, const char *value)
{
    if (zws_opts_header_refusal(name, value))
        return ZWS_EINVAL;
    char *n = dup_str(name), *v = dup_str(value);
    if (!n || !v || push(&o->hnames, o->nheaders, n)) {
        zws__free(n);
        zws__free(v);
        return ZWS_ENOMEM;
    }
    if (push(&o->hvalues, o->nheaders, v)) {
        zws__free(v); /* n stays in hnames past nheaders; freed below */
        zws__free(o->hnames[o->nheaders]);
        return ZWS_ENOMEM;
    }
    o->nheaders++;
    int r = sync_headers(o);
    if (r) { /* keep the views in step with the lists */
        o->nheaders--;
        zws__free(o->hnames[o->nheaders]);
        zws__free(o->hvalues[o->nheaders]);
    }
    return r;
}

int zws_opts_add_subprotocol(zws_opts *o, const char *name)
{
    if (!name || !zws__is_token(name, strlen(name))) /* as the handshake wants */
        return ZWS_EINVAL;
    char *s = dup_str(name);
    if (!s || push(&o->protos, o->nprotos, s)) {
        zws__free(s);
        return ZWS_ENOMEM;
    }
    o->nprotos++;
    return 0;
}

void zws_opts_set_limits(zws_opts *o, uint64_t max_frame, uint64_t max_message)
{
    if (max_frame && !(max_frame >> 63))
        o->max_frame = max_frame;
    if (max_message && !(max_message >> 63))
        o->max_message = max_message;
}

void zws_opts_set_server_limits(zws_opts *o, int per_addr_handshakes, int per_addr_conns,
                                size_t memory_budget)
{
    o->per_addr_hs = per_addr_handshakes > 0 ? per_addr_handshakes : 0;
    o->per_addr_conns = per_addr_conns > 0 ? per_addr_conns : 0;
    o->budget = memory_budget;
}

void zws_opts_set_buffer_size(zws_opts *o, size_t n)
{
    /* The handshake head must fit: never below 16 KiB. */
    o->buffer_size = n < (16 << 10) ? (16 << 10) : n;
}

void zws_opts_set_surface_control(zws_opts *o, int on) { o->surface = on != 0; }

static int set_str(char **slot, const char *s)
{
    char *d = NULL;
    if (s && !(d = dup_str(s)))
        return ZWS_ENOMEM;
    zws__free(*slot);
    *slot = d;
    return 0;
}

int zws_opts_set_ca_file(zws_opts *o, const char *path)
{
    return set_str(&o->ca_file, path);
}

void zws_opts_set_insecure(zws_opts *o, int on) { o->insecure = on != 0; }

int zws_opts_set_cert(zws_opts *o, const char *cert_file, const char *key_file)
{
    if (!cert_file || !key_file)
        return ZWS_EINVAL;
    int r = set_str(&o->cert_file, cert_file);
    return r ? r : set_str(&o->key_file, key_file);
}

int zws_opts_set_proxy(zws_opts *o, const char *url)
{
    o->proxy_set = 1;
    return set_str(&o->proxy, url ? url : "");
}

int zws_opts_set_origin(zws_opts *o, const char *origin)
{
    if (origin && bad_text(origin))
        return ZWS_EINVAL;
    return set_str(&o->origin, origin && *origin ? origin : NULL);
}

void zws_opts_set_origin_check(zws_opts *o, int (*check)(void *, const char *),
                               void *ud)
{
    o->origin_check = check;
    o->origin_ud = ud;
}

void zws_opts_set_upgrade_hook(zws_opts *o, int (*hook)(void *, zws_upgrade *),
                               void *ud)
{
    o->upgrade_hook = hook;
    o->upgrade_ud = ud;
}

static int bits_ok(int b)
{
    return b == 0 || (b >= 9 && b <= 15);
}

int zws_opts_set_deflate(zws_opts *o, const zws_deflate_opts *d)
{
    if (!d) {
        pmd_defaults(&o->pmd);
        return 0;
    }
    /* 8 is refused: zlib cannot compress with a 256-byte window. */
    if (!bits_ok(d->server_max_window_bits) || !bits_ok(d->client_max_window_bits) ||
        d->level < 0 || d->level > 9 || d->mem_level < 0 || d->mem_level > 9)
        return ZWS_EINVAL;
    zws__pmd_cfg *c = &o->pmd;
    c->enabled = 1;
    c->server_no_context_takeover = d->server_no_context_takeover != 0;
    c->client_no_context_takeover = d->client_no_context_takeover != 0;
    c->server_max_window_bits = d->server_max_window_bits;
    c->client_max_window_bits = d->client_max_window_bits;
    c->level = d->level ? d->level : 6;
    c->mem_level = d->mem_level ? d->mem_level : 8;
    c->threshold = d->threshold;
    return 0;
}

int zws__opts_copy(zws_opts **out, const zws_opts *src)
{
    zws_opts *o;
    int r = zws_opts_new(&o);
    if (r || !src) {
        *out = r ? NULL : o;
        return r;
    }
    memcpy(o->timeout, src->timeout, sizeof o->timeout);
    o->max_frame = src->max_frame;
    o->max_message = src->max_message;
    o->buffer_size = src->buffer_size;
    o->surface = src->surface;
    o->insecure = src->insecure;
    o->origin_check = src->origin_check;
    o->origin_ud = src->origin_ud;
    o->upgrade_hook = src->upgrade_hook;
    o->upgrade_ud = src->upgrade_ud;
    o->proxy_set = src->proxy_set;
    o->pmd = src->pmd;
    o->per_addr_hs = src->per_addr_hs;
    o->per_addr_conns = src->per_addr_conns;
    o->budget = src->budget;
    for (size_t i = 0; i < src->nheaders && !r; i++)
        r = zws_opts_add_header(o, src->hnames[i], src->hvalues[i]);
    for (size_t i = 0; i < src->nprotos && !r; i++)
        r = zws_opts_add_subprotocol(o, src->protos[i]);
    if (!r)
        r = set_str(&o->ca_file, src->ca_file);
    if (!r)
        r = set_str(&o->cert_file, src->cert_file);
    if (!r)
        r = set_str(&o->key_file, src->key_file);
    if (!r)
        r = set_str(&o->proxy, src->proxy);
    if (!r)
        r = set_str(&o->origin, src->origin);
    if (r) {
        zws_opts_free(o);
        o = NULL;
    }
    *out = o;
    return r;
}
