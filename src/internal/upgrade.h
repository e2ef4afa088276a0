/* The server's side of an upgrade once the request passed RFC 6455's
 * checks, shared by the blocking driver (conn.c) and the loop (server.c):
 * the Origin check, the subprotocol choice, the upgrade hook, and the bytes
 * of the answer (101 or a refusal). No I/O. */
#ifndef ZWS_INTERNAL_UPGRADE_H
#define ZWS_INTERNAL_UPGRADE_H

#include "internal/deflate.h"
#include "internal/opts.h"
#include "zws/handshake.h"

#define ZWS__MAX_HEADERS 64
#define ZWS__REFUSAL_DETAIL_MAX 512 /* bytes of a refusal's reason in its body */

/* The extensions an upgrade agreed to. */
typedef struct zws__upgrade_ext {
    int deflate;                       /* permessage-deflate accepted */
    zws__pmd_params pmd;               /* ... with these parameters */
    char value[ZWS__PMD_HEADER_MAX];   /* the answer's Sec-WebSocket-Extensions */
} zws__upgrade_ext;

/* Decides: 0 to accept with u filled (u->subprotocol chosen) and ext (the
 * extensions taken from the request's offers, as the options allow), or an
 * HTTP status to refuse with (*why says why; u->headers go with the
 * refusal). hook (may be NULL) is the application's, called as
 * zws_opts_set_upgrade_hook documents. */
int zws__upgrade_decide(const zws_opts *o, const zws_handshake_request *hs,
                        int (*hook)(void *ctx, zws_upgrade *u), void *ctx, zws_upgrade *u,
                        zws__upgrade_ext *ext, const char **why);

/* The 101 with the extensions, the options' headers and the hook's.
 * Length, ZWS_EINVAL (bad headers), ZWS_ENOMEM, ZWS_ENOSPACE (does not
 * fit). */
int zws__upgrade_build_101(const zws_opts *o, const zws_handshake_request *hs,
                           const zws_upgrade *u, const zws__upgrade_ext *ext, char *resp,
                           size_t cap);

/* A refusal: status, a body with why (cut to fit at a character boundary),
 * the extra headers (dropped when they are bad or too long). Length or a
 * negative code. */
int zws__upgrade_build_refusal(int status, const char *why, const zws_http_header *extra,
                               size_t n_extra, char *resp, size_t cap);

#endif
