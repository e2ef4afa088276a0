/* The parser on arbitrary streams, both roles, with and without an
 * extension, fed whole and in chunks of fuzzer-chosen sizes: no crash, no
 * leak, and the same events and verdict whichever way the bytes arrive.
 * Text messages and close reasons it accepts are valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "zws/zws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct digest {
    uint64_t h;      /* hash over every event's type, opcode and bytes */
    int events;
    int last;        /* last return value: 0 or an error */
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 0x100000001b3ull;
}

/* An identity transform that writes byte by byte, so which failure comes
 * first (size limit or invalid UTF-8) does not depend on how the input was
 * cut: the differential check below needs that. */
static int identity(void *ud, zws_parser *p, const uint8_t *in, size_t len, int fin)
{
    (void)ud;
    (void)fin;
    for (size_t i = 0; i < len; i++) {
        uint8_t *dst;
        size_t room;
        int r = zws_parser_out_reserve(p, 1, &dst, &room);
        if (r)
            return r;
        *dst = in[i];
        if ((r = zws_parser_out_commit(p, 1)) != 0)
            return r;
    }
    return 0;
}

static void check_event(const zws_event *ev)
{
    if (ev->type == ZWS_EV_MESSAGE && ev->opcode == ZWS_OP_TEXT &&
        !zws_utf8_valid(ev->data, ev->len))
        abort();
    if (ev->type == ZWS_EV_CLOSE &&
        (!zws_utf8_valid((const uint8_t *)ev->reason, ev->reason_len) ||
         (ev->close_code != 1005 && !zws_close_code_valid(ev->close_code))))
        abort();
    if ((ev->type == ZWS_EV_PING || ev->type == ZWS_EV_PONG) && ev->len > 125)
        abort();
}

/* Feeds stream in chunks (sizes from cuts, cycled; 0 = all at once). */
static digest run(const uint8_t *cfg, const uint8_t *stream, size_t n,
                  const uint8_t *cuts, size_t ncuts)
{
    digest d = {0xcbf29ce484222325ull, 0, 0};
    zws_parser *p = NULL;
    if (zws_parser_new(&p, cfg[0] & 1 ? ZWS_ROLE_CLIENT : ZWS_ROLE_SERVER))
        abort();
    zws_parser_set_limits(p, 1 + (cfg[0] >> 1) * 64u, 1 + cfg[1] * 256u);
    if (cfg[0] & 0x80)
        zws_parser_set_buffer_size(p, 2 + cfg[1] % 64);
    zws_parser_ext ext = {.rsv = ZWS_RSV1, .payload = identity};
    if (cfg[1] & 1)
        zws_parser_set_ext(p, &ext);
    uint8_t *buf = malloc(n + 1);
    size_t have = 0, pos = 0, c = 0;
    while (d.last == 0) {
        size_t k = ncuts ? 1 + cuts[c++ % ncuts] % 32 : n;
        if (k > n - pos)
            k = n - pos;
        memcpy(buf + have, stream + pos, k);
        have += k;
        pos += k;
        size_t off = 0, used;
        zws_event ev;
        int r;
        while ((r = zws_parser_next(p, buf + off, have - off, &used, &ev)) > 0) {
            off += used;
            check_event(&ev);
            d.events++;
            mix(&d, &ev.type, sizeof ev.type);
            mix(&d, &ev.opcode, sizeof ev.opcode);
            mix(&d, ev.data, ev.len);
            if (ev.type == ZWS_EV_MESSAGE && (ev.flags & ZWS_EV_ASSEMBLED) &&
                (ev.len & 1)) {
                zws_buf *b;
                if (zws_parser_detach(p, &b))
                    abort();
                zws_buf_unref(b);
            }
        }
        off += used;
        if (r < 0) {
            if (ev.close_code < 1000 || !ev.reason)
                abort();
            d.last = r;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (pos == n)
            break;
    }
    free(buf);
    zws_parser_free(p);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t ncuts = data[2] % 16;
    if (size < 3 + ncuts)
        return 0;
    const uint8_t *cuts = data + 3, *stream = data + 3 + ncuts;
    size_t n = size - 3 - ncuts;
    digest whole = run(data, stream, n, NULL, 0);
    digest chunked = run(data, stream, n, cuts, ncuts);
    /* A stream cut short is judged the same: events and verdict agree,
     * except that chunked feeding may stop at the same failure earlier. */
    if (whole.h != chunked.h || whole.events != chunked.events ||
        whole.last != chunked.last)
        abort();
    return 0;
}
