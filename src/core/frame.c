/* Frame header codec (RFC 6455 §5.2). */
#include "internal/frame.h"

int zws_frame_parse(zws_frame *f, const uint8_t *p, size_t len,
                    enum zws_role receiver, unsigned allow_rsv,
                    uint64_t max_payload, size_t *need)
{
    return zws__frame_parse(f, p, len, receiver, allow_rsv, max_payload, need);
}

size_t zws_frame_header_size(uint64_t len, int masked)
{
    size_t n = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    return n + (masked ? 4 : 0);
}

int zws_frame_write_header(uint8_t *out, unsigned opcode, int fin, unsigned rsv,
                           uint64_t len, const uint8_t *mask_key)
{
    if (opcode > 15 || (len >> 63) || rsv > 7)
        return ZWS_EINVAL;
    if (opcode >= 8 && (!fin || len > ZWS_FRAME_MAX_CONTROL))
        return ZWS_EINVAL;
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80u : 0) | (rsv << 4) | opcode);
    uint8_t m = mask_key ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[1] = m | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = m | 127;
        zws__store_be64(out + 2, len);
        n = 10;
    }
    if (mask_key) {
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return (int)n;
}
