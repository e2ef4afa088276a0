/* Frame header parsing, inlined into the parser's hot loop; zws_frame_parse()
 * is the same code behind the public symbol. */
#ifndef ZWS_INTERNAL_FRAME_H
#define ZWS_INTERNAL_FRAME_H

#include <string.h>

#include "zws/frame.h"

static inline int zws__frame_fail(zws_frame *f, int err, uint16_t code,
                                  const char *why)
{
    f->close_code = code;
    f->error = why;
    return err;
}

/* First two bytes: everything that can be judged without the length and
 * key, so a bad frame fails before the rest of its header arrives. */
static inline int zws__frame_check_start(zws_frame *f, uint8_t b0, uint8_t b1,
                                         enum zws_role receiver,
                                         unsigned allow_rsv)
{
    unsigned op = b0 & 0x0fu;
    if ((op >= 3 && op <= 7) || op >= 11)
        return zws__frame_fail(f, ZWS_EPROTO, 1002, "reserved opcode");
    if (((b0 >> 4) & 0x7u) & ~allow_rsv)
        return zws__frame_fail(f, ZWS_EPROTO, 1002,
                               "reserved bit set without an extension");
    if (op >= 8) {
        if (!(b0 & 0x80u))
            return zws__frame_fail(f, ZWS_EPROTO, 1002,
                                   "fragmented control frame");
        if ((b1 & 0x7fu) > 125)
            return zws__frame_fail(f, ZWS_EPROTO, 1002,
                                   "control frame payload over 125 bytes");
    }
    int masked = b1 >> 7;
    if (receiver == ZWS_ROLE_SERVER && !masked)
        return zws__frame_fail(f, ZWS_EPROTO, 1002,
                               "unmasked frame from a client");
    if (receiver == ZWS_ROLE_CLIENT && masked)
        return zws__frame_fail(f, ZWS_EPROTO, 1002,
                               "masked frame from a server");
    return 0;
}

/* Byte by byte so it is right on any host; compilers turn it into one load
 * and a byte swap. */
static inline uint64_t zws__load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void zws__store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline int zws__frame_parse(zws_frame *f, const uint8_t *p, size_t len,
                                   enum zws_role receiver, unsigned allow_rsv,
                                   uint64_t max_payload, size_t *need)
{
    if (len < 2) {
        if (need)
            *need = 2 - len;
        return 0;
    }
    uint8_t b0 = p[0], b1 = p[1];
    int r = zws__frame_check_start(f, b0, b1, receiver, allow_rsv);
    if (r)
        return r;
    unsigned l7 = b1 & 0x7fu;
    size_t hlen = 2u + (l7 == 126 ? 2u : l7 == 127 ? 8u : 0u) + (b1 >> 7) * 4u;
    if (len < hlen) {
        if (need)
            *need = hlen - len;
        return 0;
    }
    uint64_t plen = l7;
    if (l7 == 126) {
        plen = (uint64_t)p[2] << 8 | p[3];
    } else if (l7 == 127) {
        plen = zws__load_be64(p + 2);
        if (plen >> 63)
            return zws__frame_fail(f, ZWS_EPROTO, 1002,
                                   "64-bit payload length with the top bit set");
    }
    if (plen > max_payload)
        return zws__frame_fail(f, ZWS_ETOOBIG, 1009, "frame too big");
    f->fin = b0 >> 7;
    f->rsv = (b0 >> 4) & 0x7u;
    f->opcode = b0 & 0x0fu;
    f->masked = b1 >> 7;
    if (f->masked)
        memcpy(f->mask_key, p + hlen - 4, 4);
    f->len = plen;
    f->header_len = (uint8_t)hlen;
    f->payload = p + hlen;
    f->close_code = 0;
    f->error = NULL;
    return (int)hlen;
}

#endif
