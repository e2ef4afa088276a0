#include "md_payload.h"

#include <stdlib.h>
#include <string.h>

#include "zws/md.h"

#define NSYM 4
#define T0_MS 1700000000000
#define MSG_CAP 65536 /* room for any one message (a depthUpdate of 100 ms of changes) */

typedef struct stream {
    zws_md_gen *g;
    uint64_t step;   /* generator steps so far, all symbols */
    size_t sym;      /* the symbol of the last step */
    int64_t now;     /* its time */
    unsigned due;    /* messages of the last step not yet rendered (bits) */
    char *msg;       /* the current message */
    size_t len;
} stream;

enum { DUE_TRADE = 1, DUE_TICKER = 2, DUE_DIFF = 4, DUE_DEPTH20 = 8 };

static void step(stream *s)
{
    s->sym = (size_t)(s->step % NSYM);
    uint64_t n = s->step / NSYM; /* this symbol's step count: one a millisecond */
    s->now = T0_MS + (int64_t)n;
    int what = zws_md_gen_step(s->g, s->sym, s->now);
    s->due = (what & ZWS_MD_GEN_TRADE ? DUE_TRADE : 0u) | (what & ZWS_MD_GEN_TOP ? DUE_TICKER : 0u) |
             (n % 100 == 99 ? DUE_DIFF : 0u) | (n % 1000 == 999 ? DUE_DEPTH20 : 0u);
    s->step++;
}

/* Renders the stream's next message into s->msg. */
static void next_message(stream *s)
{
    for (s->len = 0; !s->len;) {
        while (!s->due)
            step(s);
        unsigned k = s->due & -s->due; /* lowest bit: the order above */
        s->due &= ~k;
        if (k == DUE_TRADE)
            s->len = zws_md_gen_trade(s->g, s->sym, s->now, s->msg, MSG_CAP);
        else if (k == DUE_TICKER)
            s->len = zws_md_gen_book_ticker(s->g, s->sym, s->msg, MSG_CAP);
        else if (k == DUE_DIFF) /* 0 when nothing changed: no message */
            s->len = zws_md_gen_depth_update(s->g, s->sym, 1, s->now, s->msg, MSG_CAP);
        else
            s->len = zws_md_gen_depth(s->g, s->sym, 20, s->msg, MSG_CAP);
    }
}

/* One payload: whole messages and newlines while they fit, then the next
 * message's start to fill it. */
static void fill(stream *s, uint8_t *p, size_t size)
{
    size_t at = 0;
    for (;;) {
        next_message(s);
        size_t sep = at ? 1 : 0;
        if (at + sep + s->len > size) {
            if (at + sep < size) { /* cut: its start fills the rest */
                if (sep)
                    p[at++] = '\n';
                memcpy(p + at, s->msg, size - at);
            } else if (sep) /* exactly one byte left: the separator */
                p[at] = '\n';
            return;
        }
        if (sep)
            p[at++] = '\n';
        memcpy(p + at, s->msg, s->len);
        at += s->len;
        if (at == size)
            return;
    }
}

uint8_t *tool_md_payloads(size_t size, size_t count)
{
    static const char *const syms[NSYM] = {"btcusdt", "ethusdt", "solusdt", "bnbusdt"};
    if (!size || !count || count > SIZE_MAX / size)
        return NULL;
    stream s = {0};
    uint8_t *out = malloc(size * count);
    s.msg = malloc(MSG_CAP);
    if (!out || !s.msg || zws_md_gen_new(&s.g, syms, NSYM, 1, 1000)) {
        free(out);
        free(s.msg);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        fill(&s, out + i * size, size);
    zws_md_gen_free(s.g);
    free(s.msg);
    return out;
}

size_t tool_md_ring_count(size_t size)
{
    const size_t bytes = (size_t)1 << 20;
    size_t n = size ? (bytes + size - 1) / size : 0;
    return n < 4 ? 4 : n;
}
