/* Shared helpers for the unit tests: frame building, an allocator that
 * counts and can fail the Nth allocation, and a driver that feeds a parser
 * the way a connection does (chunks appended to a buffer, unconsumed bytes
 * kept and presented again). */
#ifndef ZWS_TESTUTIL_H
#define ZWS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka needs these first. */
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "zws/zws.h"

/* ---- allocation counting and failure injection ---- */
static uint64_t tu_allocs;   /* allocations attempted since the allocator was set */
static long tu_live;         /* blocks allocated and not yet freed */
static long tu_fail_at = -1; /* fail the allocation with this index */

static inline void *tu_malloc(size_t n)
{
    if ((long)tu_allocs++ == tu_fail_at)
        return NULL;
    void *p = malloc(n);
    tu_live += p != NULL;
    return p;
}

static inline void *tu_realloc(void *p, size_t n)
{
    if ((long)tu_allocs++ == tu_fail_at)
        return NULL;
    void *q = realloc(p, n);
    /* The library never reallocs to 0 bytes: only realloc(NULL) is new. */
    tu_live += !p && q;
    return q;
}

static inline void tu_free(void *p)
{
    tu_live -= p != NULL;
    free(p);
}

/* A TCP connection to 127.0.0.1:port from the address src (NULL: any). */
static inline int tu_connect_from(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    }
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* UNDER_ASAN: RSS is no measure under AddressSanitizer (shadow memory,
 * quarantine). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* This process's resident set, in KiB (0 if /proc cannot be read). */
static inline size_t tu_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %zu kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* Counts allocations from here on. tu_live only balances for blocks both
 * allocated and freed while it is installed. */
static inline void tu_counting_allocator(void)
{
    tu_allocs = 0;
    tu_live = 0;
    tu_fail_at = -1;
    zws_set_allocator(tu_malloc, tu_realloc, tu_free);
}

/* ---- frame building ---- */
static const uint8_t tu_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Appends one frame to out; masked with tu_key (rotated by the frame count
 * so keys vary) when masked is set. Returns bytes written. */
static inline size_t tu_frame(uint8_t *out, unsigned op, int fin, unsigned rsv,
                       const void *data, size_t len, int masked)
{
    static unsigned turn;
    uint8_t key[4];
    for (int i = 0; i < 4; i++)
        key[i] = (uint8_t)(tu_key[(i + turn) & 3] + turn);
    turn++;
    int h = zws_frame_write_header(out, op, fin, rsv, len, masked ? key : NULL);
    assert_true(h > 0);
    for (size_t i = 0; i < len; i++)
        out[h + i] = ((const uint8_t *)data)[i] ^ (masked ? key[i & 3] : 0);
    return (size_t)h + len;
}

/* ---- recording events ---- */
typedef struct tu_rec {
    int type;          /* event type, or the negative error */
    unsigned opcode;
    unsigned flags;
    uint16_t code;
    size_t len;
    uint8_t *data;     /* copy of the payload */
    char reason[128];
} tu_rec;

typedef struct tu_log {
    tu_rec recs[256];
    int n;
} tu_log;

static inline void tu_record(tu_log *log, int r, const zws_event *ev)
{
    assert_true(log->n < 256);
    tu_rec *rec = &log->recs[log->n++];
    memset(rec, 0, sizeof *rec);
    rec->type = r;
    if (r > 0) {
        rec->opcode = ev->opcode;
        rec->flags = ev->flags;
        rec->len = ev->len;
        rec->data = malloc(ev->len + 1);
        if (ev->len)
            memcpy(rec->data, ev->data, ev->len);
    }
    rec->code = ev->close_code;
    if (ev->reason) {
        size_t n = ev->reason_len < 127 ? ev->reason_len : 127;
        memcpy(rec->reason, ev->reason, n);
    }
}

static inline void tu_log_free(tu_log *log)
{
    for (int i = 0; i < log->n; i++)
        free(log->recs[i].data);
    log->n = 0;
}

/* Feeds stream[0..n) to p in chunks whose sizes come from chunk(ctx), as a
 * connection would: appended to a buffer, unconsumed bytes moved to its
 * front and presented again. Records every event and the first failure. */
static inline void tu_drive(zws_parser *p, const uint8_t *stream, size_t n,
                     size_t (*chunk)(void *), void *ctx, tu_log *log)
{
    uint8_t *buf = malloc(n + 1);
    size_t have = 0, pos = 0;
    for (;;) {
        size_t k = chunk(ctx);
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
            tu_record(log, r, &ev);
            if (r == ZWS_EV_CLOSE)
                break;
        }
        if (r == ZWS_EV_CLOSE)
            break;
        off += used;
        if (r < 0) {
            tu_record(log, r, &ev);
            break;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (pos == n)
            break;
    }
    free(buf);
}

static inline size_t tu_chunk_all(void *ctx)
{
    (void)ctx;
    return SIZE_MAX;
}

static inline size_t tu_chunk_fixed(void *ctx) { return *(size_t *)ctx; }

/* xorshift, for chunk sizes and random payloads */
static inline uint64_t tu_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline size_t tu_chunk_random(void *ctx)
{
    return 1 + (size_t)(tu_rand(ctx) % 97);
}

#endif
