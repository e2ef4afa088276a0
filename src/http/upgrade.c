/* The server's decision on a valid upgrade request and the bytes of its
 * answer (see internal/upgrade.h). */
#include <string.h>

#include "internal/alloc.h"
#include "internal/upgrade.h"

int zws__upgrade_decide(const zws_opts *o, const zws_handshake_request *hs,
                        int (*hook)(void *ctx, zws_upgrade *u), void *ctx, zws_upgrade *u,
                        zws__upgrade_ext *ext, const char **why)
{
    memset(u, 0, sizeof *u);
    memset(ext, 0, sizeof *ext);
    u->request = hs;
    if (o->origin_check) {
        char *origin = NULL;
        if (hs->origin && (origin = zws__malloc(hs->origin_len + 1)) != NULL) {
            memcpy(origin, hs->origin, hs->origin_len);
            origin[hs->origin_len] = 0;
        }
        int ok = (!hs->origin || origin) && o->origin_check(o->origin_ud, origin);
        zws__free(origin);
        if (!ok) {
            *why = "origin not allowed";
            return 403;
        }
    }
    u->subprotocol = zws_handshake_select_subprotocol(hs, (const char *const *)o->protos,
                                                      o->nprotos);
    /* An offer we cannot take is declined, not refused (RFC 7692 §5). */
    if (o->pmd.enabled) {
        int r = zws__pmd_accept(&o->pmd, hs->headers, hs->num_headers, &ext->pmd, ext->value,
                                sizeof ext->value);
        if (r == ZWS_EHTTP) {
            *why = "malformed Sec-WebSocket-Extensions";
            return 400;
        }
        ext->deflate = r == 1;
    }
    if (!hook)
        return 0;
    int status = hook(ctx, u);
    if (status == 0) {
        const char *p = u->subprotocol;
        if (!p || zws_handshake_select_subprotocol(hs, &p, 1) == p)
            return 0;
        *why = "the upgrade hook chose a subprotocol the client did not offer";
        return 500;
    }
    *why = u->reason ? u->reason : "refused by the server";
    return status >= 400 && status <= 599 ? status : 500;
}

int zws__upgrade_build_101(const zws_opts *o, const zws_handshake_request *hs,
                           const zws_upgrade *u, const zws__upgrade_ext *ext, char *resp,
                           size_t cap)
{
    const zws_http_header *extra = o->headers;
    size_t n = o->nheaders;
    zws_http_header *all = NULL;
    if (u->num_headers) {
        if (!u->headers || u->num_headers > SIZE_MAX / sizeof *all - n)
            return ZWS_EINVAL;
        all = zws__malloc((n + u->num_headers) * sizeof *all);
        if (!all)
            return ZWS_ENOMEM;
        memcpy(all, o->headers, n * sizeof *all);
        memcpy(all + n, u->headers, u->num_headers * sizeof *all);
        extra = all;
        n += u->num_headers;
    }
    int len = zws_handshake_build_response(resp, cap, hs->key, hs->key_len, u->subprotocol,
                                           ext && ext->deflate ? ext->value : NULL, extra, n);
    zws__free(all);
    return len;
}

int zws__upgrade_build_refusal(int status, const char *why, const zws_http_header *extra,
                               size_t n_extra, char *resp, size_t cap)
{
    /* The body's detail is cut to fit (at a character boundary), so a long
     * reason never costs the client its answer. */
    char detail[ZWS__REFUSAL_DETAIL_MAX + 1];
    size_t dlen = strnlen(why, ZWS__REFUSAL_DETAIL_MAX + 1);
    if (dlen > ZWS__REFUSAL_DETAIL_MAX) {
        dlen = ZWS__REFUSAL_DETAIL_MAX;
        while (dlen > 0 && ((uint8_t)why[dlen] & 0xC0) == 0x80)
            dlen--;
    }
    memcpy(detail, why, dlen);
    detail[dlen] = 0;
    int n = zws_handshake_build_error(resp, cap, status, detail, extra, n_extra);
    if (n < 0 && n_extra) /* the extra headers were bad or too long: without */
        n = zws_handshake_build_error(resp, cap, status, detail, NULL, 0);
    return n;
}
