/* permessage-deflate negotiation (RFC 7692 §7): the client's offer, the
 * server's pick among the offers, and the client's check of the answer.
 * Both sides derive mirror-image parameters: what one calls our_* the other
 * calls peer_*. */
#include <string.h>

#include "internal/deflate.h"
#include "internal/http.h"

enum { P_SNCT, P_CNCT, P_SMWB, P_CMWB, P_COUNT };

static const char *const PARAM_NAMES[P_COUNT] = {
    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
    "client_max_window_bits"};

#define PMD_NAME "permessage-deflate"

/* One element's parameters, each seen at most once. bits: the value of
 * server_max_window_bits ([0]) and client_max_window_bits ([1]), 0 when
 * absent or given without a value. */
typedef struct pmd_set {
    unsigned char has[P_COUNT];
    int bits[2];
} pmd_set;

static int is_pmd(const zws_ext_offer *o)
{
    return zws__ieq(o->name, o->name_len, PMD_NAME);
}

/* 8..15 in decimal without leading zeros, else -1. */
static int parse_bits(const char *v, size_t n)
{
    if (n == 1 && (v[0] == '8' || v[0] == '9'))
        return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + (v[1] - '0');
    return -1;
}

static int param_index(const zws_ext_param *p)
{
    for (int k = 0; k < P_COUNT; k++)
        if (zws__ieq(p->name, p->name_len, PARAM_NAMES[k]))
            return k;
    return -1;
}

/* One parameter into s. In an offer client_max_window_bits may come without
 * a value; in a response it needs one, as server_max_window_bits always
 * does. Returns 0, or -1 with *why. */
static int take_param(const zws_ext_param *p, int response, pmd_set *s, const char **why)
{
    int k = param_index(p);
    if (k < 0)
        return *why = "unknown permessage-deflate parameter", -1;
    if (s->has[k])
        return *why = "duplicate permessage-deflate parameter", -1;
    s->has[k] = 1;
    if (k == P_SNCT || k == P_CNCT) {
        if (p->value)
            return *why = "a no_context_takeover parameter with a value", -1;
        return 0;
    }
    if (!p->value) {
        if (k == P_CMWB && !response)
            return 0;
        return *why = "max_window_bits without a value", -1;
    }
    int b = parse_bits(p->value, p->value_len);
    if (b < 0)
        return *why = "max_window_bits not a number from 8 to 15", -1;
    s->bits[k - P_SMWB] = b;
    return 0;
}

static int parse_set(const zws_ext_offer *o, int response, pmd_set *s, const char **why)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < o->num_params; i++)
        if (take_param(&o->params[i], response, s, why) < 0)
            return -1;
    return 0;
}

/* A bounded string builder: on overflow it stops writing and remembers. */
typedef struct sbuf {
    char *p;
    size_t cap, len;
    int over;
} sbuf;

static void put(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->over || b->len + n >= b->cap) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void put_bits(sbuf *b, const char *name, int bits)
{
    char v[4] = {'=', '1', '0', '\0'};
    if (bits < 10) {
        v[1] = (char)('0' + bits);
        v[2] = '\0';
    } else {
        v[2] = (char)('0' + bits - 10);
    }
    put(b, "; ");
    put(b, name);
    put(b, v);
}

static int finish(const sbuf *b)
{
    if (b->over) {
        if (b->cap)
            b->p[0] = '\0';
        return ZWS_ENOSPACE;
    }
    return (int)b->len;
}

/* cfg's window bits, 0 when unset or outside what zws_opts_set_deflate
 * lets through. */
static int cfg_bits(int v)
{
    return v >= 9 && v <= 15 ? v : 0;
}

int zws__pmd_offer(const zws__pmd_cfg *cfg, char *buf, size_t cap)
{
    sbuf b = {buf, cap, 0, 0};
    int cmwb = cfg_bits(cfg->client_max_window_bits);
    int smwb = cfg_bits(cfg->server_max_window_bits);
    put(&b, PMD_NAME);
    /* Without a value it still says we can take a limit from the server. */
    if (cmwb)
        put_bits(&b, PARAM_NAMES[P_CMWB], cmwb);
    else
        put(&b, "; client_max_window_bits");
    if (smwb)
        put_bits(&b, PARAM_NAMES[P_SMWB], smwb);
    if (cfg->server_no_context_takeover)
        put(&b, "; server_no_context_takeover");
    if (cfg->client_no_context_takeover)
        put(&b, "; client_no_context_takeover");
    return finish(&b);
}

/* ---- server ---- */

/* The parameters and the answer for an acceptable offer s. */
static int answer(const zws__pmd_cfg *cfg, const pmd_set *s, zws__pmd_params *out, char *resp,
                  size_t cap)
{
    int our = cfg_bits(cfg->server_max_window_bits) ? cfg->server_max_window_bits : 15;
    if (s->has[P_SMWB] && s->bits[0] < our)
        our = s->bits[0];
    int cmwb = cfg_bits(cfg->client_max_window_bits);
    /* A client that did not offer client_max_window_bits may not be sent
     * it, and then compresses with up to 15 bits. */
    int peer = s->has[P_CMWB] && s->bits[1] ? s->bits[1] : 15;
    int send_cmwb = s->has[P_CMWB] && cmwb;
    if (send_cmwb && cmwb < peer)
        peer = cmwb;
    out->our_window_bits = our;
    out->peer_window_bits = peer;
    out->our_no_context_takeover = s->has[P_SNCT] || cfg->server_no_context_takeover;
    /* The offer's client_no_context_takeover is the client's promise. */
    out->peer_no_context_takeover = s->has[P_CNCT] || cfg->client_no_context_takeover;

    sbuf b = {resp, cap, 0, 0};
    put(&b, PMD_NAME);
    if (out->our_no_context_takeover)
        put(&b, "; server_no_context_takeover");
    /* Echoed when the client offered it too: RFC 7692 makes the offer a
     * promise, but some clients (Node's ws) keep their context unless the
     * answer names it, and we drop ours between its messages. */
    if (out->peer_no_context_takeover)
        put(&b, "; client_no_context_takeover");
    /* Accepting an offered server_max_window_bits means echoing it. */
    if (s->has[P_SMWB] || cfg_bits(cfg->server_max_window_bits))
        put_bits(&b, PARAM_NAMES[P_SMWB], our);
    if (send_cmwb)
        put_bits(&b, PARAM_NAMES[P_CMWB], peer);
    int r = finish(&b);
    return r < 0 ? r : 1;
}

int zws__pmd_accept(const zws__pmd_cfg *cfg, const zws_http_header *h, size_t n,
                    zws__pmd_params *out, char *resp, size_t cap)
{
    zws_http_list it;
    zws_ext_offer o;
    pmd_set s, chosen;
    const char *why;
    int r, found = 0;
    memset(out, 0, sizeof *out);
    if (cap)
        resp[0] = '\0';
    if (!cfg->enabled)
        return 0;
    zws_http_list_init(&it, h, n, "Sec-WebSocket-Extensions");
    /* The whole list is walked, so a malformed header is refused wherever
     * the malformed element lies. */
    while ((r = zws_ext_next(&it, &o)) > 0) {
        if (found || !is_pmd(&o) || parse_set(&o, 0, &s, &why) < 0)
            continue;
        /* zlib cannot compress with a 256-byte window (it would use 512). */
        if (s.has[P_SMWB] && s.bits[0] == 8)
            continue;
        chosen = s;
        found = 1;
    }
    if (r < 0)
        return ZWS_EHTTP;
    if (!found)
        return 0;
    r = answer(cfg, &chosen, out, resp, cap);
    if (r < 0)
        memset(out, 0, sizeof *out);
    return r;
}

/* ---- client ---- */

/* The one permessage-deflate element of the response into *s. Returns 1, 0
 * (none), or -1 with *why. */
static int response_set(const zws_http_header *h, size_t n, pmd_set *s, const char **why)
{
    zws_http_list it;
    zws_ext_offer o;
    int r, found = 0;
    zws_http_list_init(&it, h, n, "Sec-WebSocket-Extensions");
    while ((r = zws_ext_next(&it, &o)) > 0) {
        if (!is_pmd(&o))
            continue;
        if (found)
            return *why = "more than one permessage-deflate in the response", -1;
        found = 1;
        if (parse_set(&o, 1, s, why) < 0)
            return -1;
    }
    if (r < 0)
        return *why = "malformed Sec-WebSocket-Extensions in the response", -1;
    return found;
}

/* What the server answered against what cfg offered. NULL when it holds. */
static const char *check_answer(const zws__pmd_cfg *cfg, const pmd_set *s)
{
    int smwb = cfg_bits(cfg->server_max_window_bits);
    int cmwb = cfg_bits(cfg->client_max_window_bits);
    if (s->has[P_CMWB] && s->bits[1] == 8)
        return "client_max_window_bits=8: zlib cannot compress with an 8-bit window";
    if (cmwb && s->has[P_CMWB] && s->bits[1] > cmwb)
        return "client_max_window_bits larger than offered";
    if (smwb && !s->has[P_SMWB])
        return "server ignored server_max_window_bits";
    if (smwb && s->bits[0] > smwb)
        return "server_max_window_bits larger than offered";
    if (cfg->server_no_context_takeover && !s->has[P_SNCT])
        return "server ignored server_no_context_takeover";
    return NULL;
}

int zws__pmd_response(const zws__pmd_cfg *cfg, const zws_http_header *h, size_t n,
                      zws__pmd_params *out, const char **why)
{
    const char *unused;
    pmd_set s;
    if (!why)
        why = &unused;
    *why = NULL;
    memset(out, 0, sizeof *out);
    int r = response_set(h, n, &s, why);
    if (r <= 0)
        return r < 0 ? ZWS_EHANDSHAKE : 0;
    if ((*why = check_answer(cfg, &s)) != NULL)
        return ZWS_EHANDSHAKE;
    int cmwb = cfg_bits(cfg->client_max_window_bits);
    /* Without the server's word we keep what we offered: a client offering
     * client_no_context_takeover or a client_max_window_bits value has
     * promised it, and the server counts on it. */
    out->our_no_context_takeover = s.has[P_CNCT] || cfg->client_no_context_takeover;
    out->peer_no_context_takeover = s.has[P_SNCT];
    out->our_window_bits = s.has[P_CMWB] ? s.bits[1] : cmwb ? cmwb : 15;
    out->peer_window_bits = s.has[P_SMWB] ? s.bits[0] : 15;
    return 1;
}
