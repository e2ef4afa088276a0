/* zws — frame header codec (RFC 6455 §5.2). No allocation, no I/O, no copy:
 * a parsed frame's payload pointer points into the caller's bytes. */
#ifndef ZWS_FRAME_H
#define ZWS_FRAME_H

#include "common.h"
#include "mask.h" /* zws_mask_copy, which masks frames */

#ifdef __cplusplus
extern "C" {
#endif

#define ZWS_FRAME_MAX_HEADER 14 /* 2 + 8 (length) + 4 (mask key) */
#define ZWS_FRAME_MAX_CONTROL 125

/* Reserved bits as they sit in zws_frame.rsv and in the flags below. */
#define ZWS_RSV1 0x4u
#define ZWS_RSV2 0x2u
#define ZWS_RSV3 0x1u

typedef struct zws_frame {
    const uint8_t *payload; /* header start + header_len: may lie past the
                               bytes given when the payload is incomplete */
    uint64_t len;           /* payload length from the header */
    uint8_t fin;            /* 1 on the final frame of a message */
    uint8_t rsv;            /* ZWS_RSV1|2|3 bits as received */
    uint8_t opcode;         /* enum zws_opcode */
    uint8_t masked;         /* 1 when a mask key is present */
    uint8_t mask_key[4];    /* valid when masked */
    uint8_t header_len;     /* 2..14 */
    uint16_t close_code;    /* on error: the close code to send (1002/1009) */
    const char *error;      /* on error: static text naming the violation */
} zws_frame;

/* Parse flags. The role says who is receiving: a server requires masked
 * frames, a client requires unmasked ones (violations fail with 1002). RSV
 * bits are rejected unless the matching ZWS_RSVn is passed in allow_rsv (an
 * extension claimed them). */
/* Parses one frame header from p[0..len).
 * Returns:
 *   > 0  the header length; *f is filled in. The payload (f->len bytes at
 *        f->payload) is complete when len >= header length + f->len.
 *   0    more bytes are needed; *need (if not NULL) is how many more, at
 *        least, before the header can be parsed.
 *   < 0  ZWS_EPROTO (f->close_code 1002) for reserved opcodes 3-7 and 11-15,
 *        unclaimed RSV bits, control frames that are fragmented or longer than
 *        125 bytes, 64-bit lengths with the top bit set, or a mask bit wrong
 *        for the role; ZWS_ETOOBIG (f->close_code 1009) when f->len exceeds
 *        max_payload. f->error names the violation.
 * Lengths encoded in more bytes than needed are accepted. */
ZWS_EXTERN int zws_frame_parse(zws_frame *f, const uint8_t *p, size_t len,
                               enum zws_role receiver, unsigned allow_rsv,
                               uint64_t max_payload, size_t *need);

/* Header size for a payload of len bytes, masked or not. */
ZWS_EXTERN size_t zws_frame_header_size(uint64_t len, int masked);

/* Writes a frame header into out (room for ZWS_FRAME_MAX_HEADER bytes).
 * fin is 0 or 1; rsv is a combination of ZWS_RSVn; mask_key is NULL for an
 * unmasked frame. Returns the header length, or ZWS_EINVAL for an opcode
 * outside 0-15, a length with the top bit set, or a control frame that is not
 * final or longer than 125 bytes. The payload is not touched: mask it with
 * zws_mask_copy() when mask_key is given. */
ZWS_EXTERN int zws_frame_write_header(uint8_t *out, unsigned opcode, int fin,
                                      unsigned rsv, uint64_t len,
                                      const uint8_t *mask_key);

#ifdef __cplusplus
}
#endif
#endif
