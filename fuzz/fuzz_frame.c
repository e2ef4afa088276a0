/* Frame header parsing on arbitrary bytes: no crash, no over-read (ASan),
 * and every accepted header re-encodes to one that parses the same. */
#include <stdlib.h>
#include <string.h>

#include "zws/zws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum zws_role role = data[0] & 1 ? ZWS_ROLE_CLIENT : ZWS_ROLE_SERVER;
    unsigned allow = (data[0] >> 1) & 7;
    uint64_t max = data[0] & 0x10 ? 1000 : UINT64_MAX >> 1;
    data++;
    size--;
    /* A copy of exactly size bytes, so ASan catches any read past it. */
    uint8_t *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    zws_frame f;
    size_t need = 0;
    int r = zws_frame_parse(&f, in, size, role, allow, max, &need);
    if (r == 0 && (need == 0 || need > 14))
        abort();
    if (r < 0 && f.close_code != 1002 && f.close_code != 1009)
        abort();
    if (r > 0) {
        if ((size_t)r != f.header_len || (size_t)r > size || f.payload != in + r)
            abort();
        if (f.len > max || (f.opcode >= 8 && (f.len > 125 || !f.fin)))
            abort();
        uint8_t hdr[ZWS_FRAME_MAX_HEADER];
        int h = zws_frame_write_header(hdr, f.opcode, f.fin, f.rsv, f.len,
                                       f.masked ? f.mask_key : NULL);
        zws_frame g;
        if (h <= 0 || zws_frame_parse(&g, hdr, (size_t)h, role, allow, max, NULL) != h)
            abort();
        if (g.len != f.len || g.opcode != f.opcode || g.fin != f.fin ||
            g.rsv != f.rsv || g.masked != f.masked ||
            (f.masked && memcmp(g.mask_key, f.mask_key, 4)))
            abort();
    }
    free(in);
    return 0;
}
