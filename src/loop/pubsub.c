/* Topics of one loop: name -> the loop's subscribers. A published frame is
 * built once (zws_server_publish) and queued on every subscriber: small
 * frames are copied into each subscriber's coalesced output (cheaper than a
 * segment and a reference count), larger ones go by reference. */
#include <string.h>

#include "internal/alloc.h"
#include "internal/deflate.h"
#include "internal/loop.h"
#include "zws/frame.h"

#define BUCKETS 1024
#define COPY_BELOW 512 /* frames shorter than this are copied per subscriber */

typedef struct zws__sub {
    char *name;
    size_t len;
    zws_ws **ws;
    size_t n, cap;
    struct zws__sub *next;
} zws__sub;

struct zws__topics {
    zws__sub *b[BUCKETS];
};


static size_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return (size_t)(h % BUCKETS);
}

static zws__sub **find(struct zws__topics *t, const char *name, size_t n)
{
    zws__sub **p = &t->b[hash(name, n)];
    while (*p && ((*p)->len != n || memcmp((*p)->name, name, n)))
        p = &(*p)->next;
    return p;
}

void zws__topics_free(struct zws__topics *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        while (t->b[i]) {
            zws__sub *s = t->b[i];
            t->b[i] = s->next;
            zws__free(s->name);
            zws__free(s->ws);
            zws__free(s);
        }
    }
    zws__free(t);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *a = zws__realloc(*arr, nc * elem);
    if (!a)
        return ZWS_ENOMEM;
    *arr = a;
    *cap = nc;
    return 0;
}

/* Room for one more topic in ws->subs. Its capacity is not kept: it is at
 * least max(4, nsubs rounded up to a power of two), as the array is
 * resized only when nsubs is 0 or a power of two from 4 on; it may be more
 * after unsubscribing, which a later resize shrinks safely. */
static int subs_room(zws_ws *ws)
{
    uint32_t n = ws->nsubs;
    if (n && (n < 4 || (n & (n - 1))))
        return 0;
    if (n > UINT32_MAX / 2)
        return ZWS_ENOMEM;
    size_t cap = n ? (size_t)n * 2 : 4;
    void *a = zws__realloc(ws->subs, cap * sizeof *ws->subs);
    if (!a)
        return ZWS_ENOMEM;
    ws->subs = a;
    return 0;
}

int zws_ws_subscribe(zws_ws *ws, const char *topic)
{
    size_t n = topic ? strlen(topic) : 0;
    if (!topic || n > 255 || ws->kind != ZWS__K_WS)
        return ZWS_EINVAL;
    zws_loop *l = ws->loop;
    if (!l->topics) {
        if (!(l->topics = zws__malloc(sizeof *l->topics)))
            return ZWS_ENOMEM;
        memset(l->topics, 0, sizeof *l->topics);
    }
    zws__sub **p = find(l->topics, topic, n);
    zws__sub *s = *p;
    if (s) {
        for (uint32_t i = 0; i < ws->nsubs; i++)
            if (ws->subs[i] == s)
                return 0;
    } else {
        if (!(s = zws__malloc(sizeof *s)))
            return ZWS_ENOMEM;
        memset(s, 0, sizeof *s);
        if (!(s->name = zws__malloc(n + 1))) {
            zws__free(s);
            return ZWS_ENOMEM;
        }
        memcpy(s->name, topic, n + 1);
        s->len = n;
        *p = s;
    }
    if (grow((void **)&s->ws, &s->cap, s->n, sizeof *s->ws) ||
        subs_room(ws))
        return ZWS_ENOMEM; /* an empty new topic stays until the loop ends */
    s->ws[s->n++] = ws;
    ws->subs[ws->nsubs++] = s;
    return 0;
}

static void drop(zws_loop *l, zws__sub *s, zws_ws *ws)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->ws[i] == ws) {
            s->ws[i] = s->ws[--s->n];
            break;
        }
    }
    if (s->n)
        return;
    zws__sub **p = find(l->topics, s->name, s->len);
    *p = s->next;
    zws__free(s->name);
    zws__free(s->ws);
    zws__free(s);
}

int zws_ws_unsubscribe(zws_ws *ws, const char *topic)
{
    if (!topic)
        return ZWS_EINVAL;
    size_t n = strlen(topic);
    for (uint32_t i = 0; i < ws->nsubs; i++) {
        zws__sub *s = ws->subs[i];
        if (s->len == n && memcmp(s->name, topic, n) == 0) {
            ws->subs[i] = ws->subs[--ws->nsubs];
            drop(ws->loop, s, ws);
            return 0;
        }
    }
    return 0;
}

void zws__ws_unsubscribe_all(zws_ws *ws)
{
    while (ws->nsubs)
        drop(ws->loop, ws->subs[--ws->nsubs], ws);
}

/* Queues a whole frame on ws: copied when small, else by reference. */
static int queue_frame(zws_ws *ws, zws_buf *frame)
{
    size_t len = zws_buf_len(frame);
    if (zws__ws_admit(ws, len))
        return -1;
    return len < COPY_BELOW ? zws__session_append(&ws->s, zws_buf_data(frame), len, 0)
                            : zws__session_send_frames(&ws->s, frame);
}

/* A subscriber with permessage-deflate: the message compressed once for
 * every subscriber that resets its compressor per message (one frame per
 * window size, built at the first that needs it), per connection for the
 * others, and as it is below the threshold. */
static int deliver_deflate(zws_ws *ws, zws_buf *frame, const zws_frame *f, zws_buf **shared)
{
    zws__deflate *d = ws->s.deflate;
    if (f->len < zws__deflate_threshold(d))
        return queue_frame(ws, frame);
    int bits = zws__deflate_shared_bits(d);
    if (!bits) {
        if (zws__ws_admit(ws, (size_t)f->len))
            return -1;
        return zws__session_send(&ws->s, f->opcode, f->payload, (size_t)f->len, 0);
    }
    if (!shared[bits] &&
        zws__deflate_frame(&ws->loop->srv->o->pmd, bits, f->opcode, f->payload,
                           (size_t)f->len, &shared[bits]))
        return queue_frame(ws, frame); /* out of memory: uncompressed still works */
    return queue_frame(ws, shared[bits]);
}

int zws__topics_deliver(zws_loop *l, const char *topic, size_t tlen, zws_buf *frame)
{
    if (!l->topics)
        return 0;
    zws__sub *s = *find(l->topics, topic, tlen);
    if (!s)
        return 0;
    zws_frame f; /* the message inside the frame, read at the first
                    subscriber with permessage-deflate */
    int parsed = 0;
    zws_buf *shared[16] = {NULL};
    int got = 0;
    /* A subscriber failed by the backpressure policy stays on the list
     * until it is freed (it refuses sends meanwhile), so the list holds
     * still while it is walked. */
    for (size_t i = 0; i < s->n; i++) {
        zws_ws *ws = s->ws[i];
        if (ws->s.deflate && !parsed)
            parsed = zws_frame_parse(&f, zws_buf_data(frame), zws_buf_len(frame),
                                     ZWS_ROLE_CLIENT, 0, UINT64_MAX >> 1, NULL) > 0 ? 1 : -1;
        int r = ws->s.deflate && parsed > 0 ? deliver_deflate(ws, frame, &f, shared)
                                            : queue_frame(ws, frame);
        if (r == 0) {
            zws__ws_dirty(ws);
            got++;
        }
    }
    for (int b = 0; b < 16; b++)
        zws_buf_unref(shared[b]);
    return got;
}
