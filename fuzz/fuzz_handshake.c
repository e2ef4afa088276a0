/* The handshake on arbitrary bytes: request and response heads are parsed
 * whole and as a prefix (a prefix's final answer must be the whole's), then
 * validated, their lists and extension offers walked, and an accepted
 * request answered and the answer checked by the client side. No crash, no
 * read past the input (ASan), and the invariants below hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zws/zws.h"

#define MAXH 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PROTOS[] = {"chat", "superchat", "v1"};
static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";

/* A copy of exactly n bytes, so ASan catches any read past it. */
static char *dup_exact(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

static void check_view(const char *v, size_t n, const char *buf, size_t head)
{
    if (n && (v < buf || v + n > buf + head))
        abort();
}

static void walk_lists(const zws_http_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zws_http_list it;
        const char *e;
        size_t len;
        zws_ext_offer o;
        char name[64];
        size_t k = h[i].name_len < sizeof name - 1 ? h[i].name_len : sizeof name - 1;
        memcpy(name, h[i].name, k);
        name[k] = '\0';
        zws_http_list_init(&it, h, n, name);
        while (zws_http_list_next(&it, &e, &len) > 0) {
            if (len == 0 || e[0] == ' ' || e[0] == '\t' || e[0] == ',' || e[len - 1] == ' ' ||
                e[len - 1] == '\t')
                abort();
            if (zws_ext_parse(e, len, &o) == 0 &&
                (o.name_len == 0 || o.num_params > ZWS_EXT_MAX_PARAMS))
                abort();
        }
        (void)zws_http_has_token(h, n, name, "upgrade");
    }
}

static void same_request(const zws_http_request *a, const char *abuf,
                         const zws_http_request *b, const char *bbuf)
{
    if (a->method - abuf != b->method - bbuf || a->method_len != b->method_len ||
        a->target - abuf != b->target - bbuf || a->target_len != b->target_len ||
        a->version_major != b->version_major || a->version_minor != b->version_minor ||
        a->num_headers != b->num_headers)
        abort();
    for (size_t i = 0; i < a->num_headers; i++)
        if (a->headers[i].name - abuf != b->headers[i].name - bbuf ||
            a->headers[i].value - abuf != b->headers[i].value - bbuf ||
            a->headers[i].name_len != b->headers[i].name_len ||
            a->headers[i].value_len != b->headers[i].value_len)
            abort();
}

/* The server accepted: answer, then check the answer as a client would. */
static void answer_and_check(const zws_handshake_request *hs)
{
    char key[ZWS_HANDSHAKE_KEY_LEN + 1];
    if (!zws_handshake_key_valid(hs->key, hs->key_len) || hs->path_len == 0 || hs->path[0] != '/')
        abort();
    memcpy(key, hs->key, ZWS_HANDSHAKE_KEY_LEN);
    key[ZWS_HANDSHAKE_KEY_LEN] = '\0';
    const char *chosen = zws_handshake_select_subprotocol(hs, PROTOS, 3);
    char out[1024];
    int n = zws_handshake_build_response(out, sizeof out, hs->key, hs->key_len, chosen, NULL,
                                         NULL, 0);
    if (n <= 0)
        abort();
    zws_http_header h[MAXH];
    zws_http_response res;
    zws_handshake_response hr;
    char err[128];
    if (zws_http_parse_response(&res, out, (size_t)n, h, MAXH, 0) != n)
        abort();
    if (zws_handshake_validate_response(&res, key, PROTOS, 3, NULL, &hr, err, sizeof err) != 0)
        abort();
}

static void refuse_and_check(const zws_handshake_request *hs)
{
    char out[1024];
    int n = zws_handshake_build_error(out, sizeof out, hs->status, hs->error, NULL, 0);
    zws_http_header h[MAXH];
    zws_http_response res;
    if (n <= 0 || zws_http_parse_response(&res, out, (size_t)n, h, MAXH, 0) <= 0 ||
        res.status != hs->status)
        abort();
}

static void fuzz_request(const uint8_t *data, size_t size, size_t split, size_t maxh,
                         size_t max_head)
{
    char *buf = dup_exact(data, size);
    zws_http_header h[MAXH], hp[MAXH];
    zws_http_request req, preq;
    int r = zws_http_parse_request(&req, buf, size, h, maxh, max_head);
    if (r > 0) {
        check_view(req.method, req.method_len, buf, (size_t)r);
        check_view(req.target, req.target_len, buf, (size_t)r);
        walk_lists(h, req.num_headers);
        zws_handshake_request hs;
        if (zws_handshake_validate_request(&req, &hs) == 0)
            answer_and_check(&hs);
        else
            refuse_and_check(&hs);
    } else if (r < 0 && !req.error) {
        abort();
    }
    char *pre = dup_exact(data, split);
    int pr = zws_http_parse_request(&preq, pre, split, hp, maxh, max_head);
    if (pr != 0 && pr != r)
        abort();
    if (pr > 0)
        same_request(&preq, pre, &req, buf);
    free(pre);
    free(buf);
}

static void fuzz_response(const uint8_t *data, size_t size, size_t split, size_t maxh,
                          size_t max_head)
{
    char *buf = dup_exact(data, size);
    zws_http_header h[MAXH], hp[MAXH];
    zws_http_response res, pres;
    int r = zws_http_parse_response(&res, buf, size, h, maxh, max_head);
    if (r > 0) {
        check_view(res.reason, res.reason_len, buf, (size_t)r);
        walk_lists(h, res.num_headers);
        zws_handshake_response hr;
        char err[64];
        memset(err, 'x', sizeof err);
        int v = zws_handshake_validate_response(&res, KEY, PROTOS, 2,
                                                "permessage-deflate; client_max_window_bits",
                                                &hr, err, sizeof err);
        if (memchr(err, '\0', sizeof err) == NULL || (v < 0 && err[0] == '\0'))
            abort();
        if (v == 0 && (res.status != 101 || (hr.protocol && hr.protocol_len == 0)))
            abort();
    }
    char *pre = dup_exact(data, split);
    int pr = zws_http_parse_response(&pres, pre, split, hp, maxh, max_head);
    if (pr != 0 && pr != r)
        abort();
    if (pr > 0 && (pres.status != res.status || pres.num_headers != res.num_headers ||
                   pres.reason - pre != res.reason - buf))
        abort();
    free(pre);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* Byte 0: which parser and the limits; bytes 1-2: where to split. */
    unsigned flags = data[0];
    size_t split = ((size_t)data[1] << 8 | data[2]);
    data += 3;
    size -= 3;
    split %= size + 1;
    size_t maxh = flags & 2 ? 4 : MAXH;
    size_t max_head = flags & 4 ? 64 + (size_t)(flags >> 3) * 8 : 0;
    if (flags & 1)
        fuzz_response(data, size, split, maxh, max_head);
    else
        fuzz_request(data, size, split, maxh, max_head);
    return 0;
}
