/* permessage-deflate negotiation on arbitrary offers. The first 4 bytes
 * make a server and a client configuration; the rest, split at '\n', are
 * Sec-WebSocket-Extensions header values. The server picks an offer; its
 * answer must reparse and pass the client's check within range; the same
 * bytes as a server's answer go through the client's check; and the
 * client's own offer, accepted by the server, must give both sides mirror
 * parameters. No crash, no read past the input (ASan). */
#include <stdlib.h>
#include <string.h>

#include "internal/deflate.h"
#include "zws/zws.h"

#define MAXH 4
#define EXT "Sec-WebSocket-Extensions"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int BITS[8] = {0, 9, 10, 11, 12, 13, 14, 15};

static zws__pmd_cfg make_cfg(uint8_t a, uint8_t b)
{
    zws__pmd_cfg c = {1, a & 1, a >> 1 & 1, BITS[a >> 2 & 7], BITS[b & 7], 6, 8, 0};
    return c;
}

static void check_params(const zws__pmd_params *p)
{
    if (p->our_window_bits < 9 || p->our_window_bits > 15 || p->peer_window_bits < 8 ||
        p->peer_window_bits > 15 || (unsigned)p->our_no_context_takeover > 1 ||
        (unsigned)p->peer_no_context_takeover > 1)
        abort();
}

static int zeroed(const zws__pmd_params *p)
{
    return !p->our_no_context_takeover && !p->peer_no_context_takeover && !p->our_window_bits &&
           !p->peer_window_bits;
}

/* 1 when every element of the headers' extension list parses. */
static int list_ok(const zws_http_header *h, size_t n)
{
    zws_http_list it;
    zws_ext_offer o;
    int r;
    zws_http_list_init(&it, h, n, EXT);
    while ((r = zws_ext_next(&it, &o)) > 0)
        ;
    return r == 0;
}

/* The client's check on an answer value: a code it documents, params in
 * range, a reason exactly when it refuses. */
static int client_check(const zws__pmd_cfg *c, const zws_http_header *h, size_t n,
                        zws__pmd_params *p)
{
    const char *why = "unset";
    int r = zws__pmd_response(c, h, n, p, &why);
    if (r == 1) {
        check_params(p);
        if (why)
            abort();
    } else if (r == ZWS_EHANDSHAKE) {
        if (!why || !*why)
            abort();
    } else if (r != 0 || why || !zeroed(p)) {
        abort();
    }
    return r;
}

static void check_answer(const zws__pmd_cfg *s, const zws__pmd_cfg *c, const zws__pmd_params *sp,
                         const char *resp)
{
    check_params(sp);
    if ((s->server_max_window_bits && sp->our_window_bits > s->server_max_window_bits) ||
        (s->server_no_context_takeover && !sp->our_no_context_takeover) ||
        (s->client_no_context_takeover && !sp->peer_no_context_takeover))
        abort();
    size_t len = strlen(resp);
    zws_ext_offer o;
    if (len >= ZWS__PMD_HEADER_MAX || zws_ext_parse(resp, len, &o) != 0 ||
        o.name_len != 18 || memcmp(o.name, "permessage-deflate", 18) != 0)
        abort();
    zws_http_header rh = {EXT, strlen(EXT), resp, len};
    zws__pmd_params cp;
    /* Not this client's offer: it may refuse, but never miss the answer. */
    if (client_check(c, &rh, 1, &cp) == 0)
        abort();
}

/* The client's own offer, accepted and answered: mirror images. */
static void round_trip(const zws__pmd_cfg *s, const zws__pmd_cfg *c)
{
    char offer[ZWS__PMD_HEADER_MAX], resp[ZWS__PMD_HEADER_MAX];
    int n = zws__pmd_offer(c, offer, sizeof offer);
    if (n <= 0)
        abort();
    zws_http_header oh = {EXT, strlen(EXT), offer, (size_t)n};
    zws__pmd_params sp, cp;
    if (zws__pmd_accept(s, &oh, 1, &sp, resp, sizeof resp) != 1)
        abort();
    check_answer(s, c, &sp, resp);
    zws_http_header rh = {EXT, strlen(EXT), resp, strlen(resp)};
    if (client_check(c, &rh, 1, &cp) != 1)
        abort();
    if (sp.our_no_context_takeover != cp.peer_no_context_takeover ||
        sp.peer_no_context_takeover != cp.our_no_context_takeover ||
        sp.our_window_bits != cp.peer_window_bits || sp.peer_window_bits != cp.our_window_bits)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    zws__pmd_cfg s = make_cfg(data[0], data[1]), c = make_cfg(data[2], data[3]);
    data += 4;
    size -= 4;
    /* Each value in a buffer of its own, exactly its size. */
    zws_http_header h[MAXH];
    char *bufs[MAXH];
    size_t n = 0, start = 0;
    for (;;) {
        size_t end = start;
        if (n < MAXH - 1)
            while (end < size && data[end] != '\n')
                end++;
        else
            end = size;
        size_t len = end - start;
        bufs[n] = malloc(len ? len : 1);
        if (!bufs[n])
            abort();
        if (len)
            memcpy(bufs[n], data + start, len);
        h[n] = (zws_http_header){EXT, strlen(EXT), bufs[n], len};
        n++;
        if (end >= size)
            break;
        start = end + 1;
    }

    zws__pmd_params sp, cp;
    char resp[ZWS__PMD_HEADER_MAX];
    int r = zws__pmd_accept(&s, h, n, &sp, resp, sizeof resp);
    if (r == 1)
        check_answer(&s, &c, &sp, resp);
    else if ((r != 0 && r != ZWS_EHTTP) || resp[0] != '\0' || !zeroed(&sp))
        abort();
    /* Malformed exactly when the list does not parse. */
    if ((r == ZWS_EHTTP) != !list_ok(h, n))
        abort();
    /* The same values as a server's answer. */
    r = client_check(&c, h, n, &cp);
    if (r == 0 && !list_ok(h, n))
        abort();
    round_trip(&s, &c);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    return 0;
}
