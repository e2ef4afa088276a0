/* permessage-deflate (RFC 7692): negotiation (pmd_neg.c) and the data path
 * (deflate.c). Internal: the public switch is zws_opts_set_deflate. */
#ifndef ZWS_INTERNAL_DEFLATE_H
#define ZWS_INTERNAL_DEFLATE_H

#include <stddef.h>

#include "zws/handshake.h"
#include "zws/parser.h"
#include "zws/buf.h"
#include "zws/writer.h"

/* What the application asks for (a copy of zws_deflate_opts, defaults
 * filled in). Window bits: 0 = not asked for (15). */
typedef struct zws__pmd_cfg {
    int enabled;
    int server_no_context_takeover; /* client: offer it; server: ask for it */
    int client_no_context_takeover;
    int server_max_window_bits;     /* 0 or 9..15 */
    int client_max_window_bits;     /* 0 or 9..15 */
    int level;                      /* zlib level 1..9 */
    int mem_level;                  /* zlib memLevel 1..9 */
    size_t threshold;               /* shorter messages go uncompressed */
} zws__pmd_cfg;

/* What was agreed, seen from our side. */
typedef struct zws__pmd_params {
    int our_no_context_takeover;  /* we reset our compressor per message */
    int peer_no_context_takeover; /* the peer resets its own: our inflater
                                     may be reset (and released) too */
    int our_window_bits;          /* we compress with this window, 9..15 */
    int peer_window_bits;         /* the peer compresses within this, 8..15 */
} zws__pmd_params;

/* Longest extension header value zws__pmd_offer or zws__pmd_accept write. */
#define ZWS__PMD_HEADER_MAX 160

/* Client: the Sec-WebSocket-Extensions value offering cfg, NUL-terminated.
 * Returns its length or ZWS_ENOSPACE. */
int zws__pmd_offer(const zws__pmd_cfg *cfg, char *buf, size_t cap);

/* Client: checks the response's Sec-WebSocket-Extensions headers h[0..n)
 * against what cfg offered. Returns 1 with *out (accepted), 0 (the server
 * did not take permessage-deflate), or ZWS_EHANDSHAKE with *why set to a
 * static sentence (a parameter not allowed or not offered, a duplicate, a
 * value out of range, an 8-bit client window zlib cannot compress with). */
int zws__pmd_response(const zws__pmd_cfg *cfg, const zws_http_header *h, size_t n,
                      zws__pmd_params *out, const char **why);

/* Server: the first permessage-deflate offer in the request's headers
 * h[0..n) that cfg can accept. Returns 1 with *out and the response value
 * in resp (NUL-terminated), 0 when none is acceptable or cfg is not
 * enabled (decline: no extension, the handshake goes on), ZWS_EHTTP for a malformed header
 * (anywhere in the list), or ZWS_ENOSPACE when resp[0..cap) is too small
 * (ZWS__PMD_HEADER_MAX always fits). On anything but 1, *out is zeroed and
 * resp is "" (when cap > 0). */
int zws__pmd_accept(const zws__pmd_cfg *cfg, const zws_http_header *h, size_t n,
                    zws__pmd_params *out, char *resp, size_t cap);

/* ---- the data path (deflate.c) ---- */

typedef struct zws__deflate zws__deflate;

/* The state of one connection's extension. 0 or ZWS_ENOMEM; zlib's
 * streams are made when first needed. */
int zws__deflate_new(zws__deflate **out, const zws__pmd_params *p,
                     const zws__pmd_cfg *cfg);
void zws__deflate_free(zws__deflate *d);

/* The parser hook that inflates messages with RSV1 (zws_parser_set_ext).
 * Its failures: ZWS_ETOOBIG (1009) as soon as the output would pass
 * max_message, ZWS_EUTF8 (1007) for text, ZWS_EEXT (1007) for corrupt
 * data, ZWS_ENOMEM (1011); the inflater's memory is released then. */
void zws__deflate_parser_ext(zws__deflate *d, zws_parser_ext *ext);

/* A data message, or a part of one (flags ZWS_WRITE_MORE, opcode CONT
 * after the first), compressed onto w with RSV1 on its first frame; whole
 * messages shorter than the threshold go uncompressed. Returns as
 * zws_writer_put. After a failure mid-message the compressor's state no
 * longer matches the peer's: the connection must close. */
int zws__deflate_send(zws__deflate *d, struct zws_writer *w, unsigned opcode,
                      const void *data, size_t len, unsigned flags);

/* Between messages: releases the streams of the directions without
 * context takeover, and a large output buffer. */
void zws__deflate_trim(zws__deflate *d);
/* Would zws__deflate_trim release a stream now? */
int zws__deflate_trimmable(const zws__deflate *d);

/* Writes down what was agreed, as the header value would say it (window
 * bits below 15 only), seen by a connection of role, once: the
 * description returns it (valid while d lives). */
void zws__deflate_describe(zws__deflate *d, enum zws_role role);
const char *zws__deflate_description(const zws__deflate *d);

/* Compress-once for pub/sub. A connection whose compressor is reset after
 * every message (our_no_context_takeover) can take a message compressed
 * alone, shared with others of the same window: its window bits, or 0 when
 * it cannot (context taken over, or a message of its own under way). */
int zws__deflate_shared_bits(const zws__deflate *d);
size_t zws__deflate_threshold(const zws__deflate *d);
/* One whole server frame (unmasked, RSV1) of data[0..len) compressed alone
 * with a window of bits (9..15). 0 with *out (one reference), ZWS_ENOMEM,
 * ZWS_EINVAL. */
int zws__deflate_frame(const zws__pmd_cfg *cfg, int bits, unsigned opcode,
                       const uint8_t *data, size_t len, zws_buf **out);

/* Bytes the state holds now (zlib's streams by zlib's own formula). */
size_t zws__deflate_held(const zws__deflate *d);

#endif
