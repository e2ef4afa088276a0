/* struct zws_opts (opts.c): what every driver reads of the options. */
#ifndef ZWS_INTERNAL_OPTS_H
#define ZWS_INTERNAL_OPTS_H

#include <stdatomic.h>

#include "internal/deflate.h"
#include "zws/conn.h"
#include "zws/handshake.h"

/* Options are copied once by a listener (or a client's connect) and then
 * shared by reference: every connection a listener accepts holds one
 * reference to the listener's copy, never a copy of its own. */
struct zws_opts {
    atomic_int refs;
    int timeout[5];          /* ms, indexed by enum zws_timeout; 0 = none */
    char **hnames, **hvalues;
    zws_http_header *headers; /* views over hnames/hvalues */
    size_t nheaders;
    char **protos;
    size_t nprotos;
    uint64_t max_frame, max_message;
    size_t buffer_size;
    int surface;
    int insecure;
    char *ca_file;
    char *cert_file, *key_file;
    char *proxy;             /* with proxy_set: "" = none */
    int proxy_set;
    char *origin;            /* client: the request's Origin, or NULL */
    int (*origin_check)(void *, const char *);
    void *origin_ud;
    int (*upgrade_hook)(void *, zws_upgrade *);
    void *upgrade_ud;
    zws__pmd_cfg pmd;        /* permessage-deflate; pmd.enabled 0 = off */
    /* servers (both drivers): per-address caps and the memory budget
     * (internal/limits.h); 0 = none */
    int per_addr_hs, per_addr_conns;
    size_t budget;
};

/* Deep copy (one reference); src NULL gives the defaults. */
int zws__opts_copy(zws_opts **out, const zws_opts *src);
/* One more reference; zws_opts_free drops one. Returns o. */
zws_opts *zws__opts_ref(zws_opts *o);

#endif
