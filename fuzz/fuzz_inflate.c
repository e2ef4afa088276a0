/* permessage-deflate's inflate path (the parser's extension hook) on random
 * input: as raw compressed data (mostly corrupt), or as data compressed
 * here with a random window and level and then possibly corrupted, sent in
 * one to three frames, fed in random chunks, under a random message limit.
 * No crash, no leak; memory held never past the limit; an intact stream
 * comes back byte for byte, or fails with 1009 when it is too large for the
 * limit (1007 for text that is not UTF-8). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal/deflate.h"
#include "internal/parser.h"
#include "zws/frame.h"
#include "zws/mask.h"
#include "zws/parser.h"
#include "zws/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Raw deflate with a sync flush, tail removed, as a peer sends it. */
static uint8_t *compress_raw(const uint8_t *in, size_t n, int bits, int level, size_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, (uLong)n) + 16;
    uint8_t *c = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = c;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK)
        abort();
    *out = cap - z.avail_out;
    deflateEnd(&z);
    if (*out >= 4)
        *out -= 4;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    unsigned f = data[0], g = data[1], chunk = data[2] % 61 + 1;
    int compress_here = f & 1, text = (f >> 1) & 1, nct = (f >> 2) & 1;
    int parts = (int)((f >> 3) & 3) % 3 + 1;
    int peer_bits = 8 + (int)((f >> 5) & 7);
    uint64_t limit = (uint64_t)1 << (g % 22); /* 1 B .. 2 MiB */
    size_t corrupt_at = data[3];
    data += 4;
    size -= 4;

    /* The payload: the input as it is, or compressed here. */
    const uint8_t *payload = data;
    size_t plen = size;
    uint8_t *owned = NULL;
    int intact = 0;
    if (compress_here) {
        int bits = peer_bits < 9 ? 9 : peer_bits; /* zlib's smallest */
        owned = compress_raw(data, size, bits, (int)(g >> 5) + 1, &plen);
        payload = owned;
        intact = corrupt_at >= 200 || plen == 0;
        if (!intact)
            owned[corrupt_at % plen] ^= (uint8_t)(0x5a | 1);
    }

    zws__pmd_cfg cfg = {.enabled = 1, .level = 6, .mem_level = 8};
    zws__pmd_params pp = {0, nct, 15, peer_bits};
    zws__deflate *d;
    zws_parser *p;
    if (zws__deflate_new(&d, &pp, &cfg) || zws_parser_new(&p, ZWS_ROLE_SERVER))
        abort();
    zws_parser_set_limits(p, UINT64_MAX >> 1, limit);
    zws_parser_ext ext;
    zws__deflate_parser_ext(d, &ext);
    if (zws_parser_set_ext(p, &ext))
        abort();

    /* Frames: masked, RSV1 on the first, the payload cut in parts. */
    size_t cap = plen + 14 * (size_t)parts, wlen = 0, at = 0;
    uint8_t *wire = malloc(cap ? cap : 1);
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    for (int i = 0; i < parts; i++) {
        size_t n = i + 1 < parts ? plen / (size_t)parts : plen - at;
        unsigned op = i ? ZWS_OP_CONT : text ? ZWS_OP_TEXT : ZWS_OP_BINARY;
        int h = zws_frame_write_header(wire + wlen, op, i + 1 == parts, i ? 0 : ZWS_RSV1, n,
                                       key);
        if (h <= 0)
            abort();
        wlen += (size_t)h;
        memcpy(wire + wlen, payload + at, n);
        zws_mask(wire + wlen, n, key, 0);
        wlen += n;
        at += n;
    }

    /* Fed in chunks, unconsumed bytes presented again, as a driver does. */
    uint8_t *buf = malloc(wlen ? wlen : 1);
    size_t have = 0, pos = 0;
    int result = 0;
    zws_event ev;
    uint64_t got_len = 0;
    const uint8_t *got = NULL;
    while (!result) {
        size_t k = wlen - pos < chunk ? wlen - pos : chunk;
        memcpy(buf + have, wire + pos, k);
        have += k;
        pos += k;
        size_t off = 0;
        while (off < have) {
            size_t used = 0;
            int r = zws_parser_next(p, buf + off, have - off, &used, &ev);
            off += used; /* consumed even when it asks for more */
            if (r < 0 || r == ZWS_EV_MESSAGE) {
                result = r;
                break;
            }
            if (r == 0)
                break;
        }
        if (!result && zws__parser_held(p) > limit + 256)
            abort(); /* the assembly never grows past the limit */
        memmove(buf, buf + off, have - off);
        have -= off;
        if (!result && pos == wlen)
            break;
    }
    if (result == ZWS_EV_MESSAGE) {
        got_len = ev.len;
        got = ev.data;
        if (got_len > limit)
            abort();
        if (text && !zws_utf8_valid(got, got_len))
            abort();
    } else if (result < 0 && ev.close_code != 1007 && ev.close_code != 1009 &&
               ev.close_code != 1002 && ev.close_code != 1011) {
        abort();
    }
    if (intact) {
        int fits = size <= limit, utf8 = !text || zws_utf8_valid(data, size);
        if (fits && utf8 &&
            (result != ZWS_EV_MESSAGE || got_len != size || (size && memcmp(got, data, size))))
            abort(); /* an intact stream must come back as it was */
        if (!fits && result != ZWS_ETOOBIG && !(text && result == ZWS_EUTF8))
            abort();
    }
    free(buf);
    free(wire);
    free(owned);
    zws_parser_free(p);
    zws__deflate_free(d);
    return 0;
}
