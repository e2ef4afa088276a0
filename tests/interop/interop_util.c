/* Helpers shared by the interop drivers. */
#include "interop_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *interop_prog = "interop";

_Noreturn void interop_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: FAIL: ", interop_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

void interop_fill_binary(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u; /* never 0: xorshift would stick */
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(xorshift(&s) >> 24);
}

void interop_fill_text(uint8_t *p, size_t len, uint32_t seed)
{
    /* ASCII, 'é' (2 bytes), '✓' (3), U+1D11E (4): every UTF-8 length, so code
     * points straddle the peer's frame and read boundaries. */
    static const char *const pieces[] = {"a", "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9d\x84\x9e",
                                         "Z", " "};
    uint32_t s = seed * 2654435761u + 7u;
    size_t i = 0;
    while (i < len) {
        const char *piece = pieces[xorshift(&s) % 6];
        size_t n = 0;
        while (piece[n])
            n++;
        if (n > len - i) {
            piece = "x";
            n = 1;
        }
        for (size_t k = 0; k < n; k++)
            p[i + k] = (uint8_t)piece[k];
        i += n;
    }
}

const char *interop_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    static char msg[160];
    if (alen != blen) {
        snprintf(msg, sizeof msg, "length %zu, expected %zu", alen, blen);
        return msg;
    }
    for (size_t i = 0; i < alen; i++)
        if (a[i] != b[i]) {
            snprintf(msg, sizeof msg, "byte %zu is 0x%02x, expected 0x%02x (length %zu)", i,
                     a[i], b[i], alen);
            return msg;
        }
    return "identical";
}

int64_t interop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void interop_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One "key" or "key=N" item of ZWS_INTEROP_DEFLATE into d. */
static void deflate_item(zws_deflate_opts *d, const char *item, size_t n)
{
    char key[32];
    const char *eq = memchr(item, '=', n);
    size_t klen = eq ? (size_t)(eq - item) : n;
    if (klen >= sizeof key)
        interop_fail("ZWS_INTEROP_DEFLATE: item '%.*s' not known", (int)n, item);
    memcpy(key, item, klen);
    key[klen] = 0;
    long v = 0;
    if (eq) {
        char *end;
        v = strtol(eq + 1, &end, 10);
        if (end != item + n || end == eq + 1 || v < 0)
            interop_fail("ZWS_INTEROP_DEFLATE: '%.*s' needs a number", (int)n, item);
    }
    if (!eq && strcmp(key, "scnt") == 0)
        d->server_no_context_takeover = 1;
    else if (!eq && strcmp(key, "ccnt") == 0)
        d->client_no_context_takeover = 1;
    else if (!eq && strcmp(key, "on") == 0)
        ;
    else if (eq && strcmp(key, "sbits") == 0)
        d->server_max_window_bits = (int)v;
    else if (eq && strcmp(key, "cbits") == 0)
        d->client_max_window_bits = (int)v;
    else if (eq && strcmp(key, "threshold") == 0)
        d->threshold = (size_t)v;
    else if (eq && strcmp(key, "level") == 0)
        d->level = (int)v;
    else
        interop_fail("ZWS_INTEROP_DEFLATE: item '%.*s' not known", (int)n, item);
}

void interop_opts_from_env(zws_opts *o)
{
    const char *spec = getenv("ZWS_INTEROP_DEFLATE");
    if (spec && *spec && strcmp(spec, "off") != 0) {
        zws_deflate_opts d;
        memset(&d, 0, sizeof d);
        for (const char *p = spec; *p;) {
            size_t n = strcspn(p, ",");
            deflate_item(&d, p, n);
            p += n + (p[n] == ',');
        }
        int r = zws_opts_set_deflate(o, &d);
        if (r)
            interop_fail("zws_opts_set_deflate(%s): %s", spec, zws_errname(r));
    }
    const char *max = getenv("ZWS_INTEROP_MAX_MESSAGE");
    if (max && *max) {
        char *end;
        unsigned long long v = strtoull(max, &end, 10);
        if (*end || v == 0)
            interop_fail("ZWS_INTEROP_MAX_MESSAGE: '%s' is not a size in bytes", max);
        zws_opts_set_limits(o, v, v);
    }
}

const char *interop_ext_mismatch(const char *got)
{
    static char msg[400];
    const char *want = getenv("ZWS_INTEROP_EXPECT");
    if (!want)
        return NULL;
    const char *w = strcmp(want, "none") == 0 ? "" : want;
    if (strcmp(got, w) == 0)
        return NULL;
    snprintf(msg, sizeof msg, "extensions agreed: '%s', expected '%s'", got, w);
    return msg;
}

/* threshold=N of ZWS_INTEROP_PEER_DEFLATE, 0 unless given. */
static size_t peer_threshold(void)
{
    const char *spec = getenv("ZWS_INTEROP_PEER_DEFLATE");
    const char *t = spec ? strstr(spec, "threshold=") : NULL;
    return t ? (size_t)strtoull(t + 10, NULL, 10) : 0;
}

void interop_tally_note(interop_tally *t, const char *extensions, size_t len, int compressed)
{
    int want = *extensions && len >= peer_threshold();
    t->messages++;
    t->compressed += compressed != 0;
    if (!t->bad[0] && (compressed != 0) != want)
        snprintf(t->bad, sizeof t->bad, "message %zu (%zu bytes) came %scompressed",
                 t->messages, len, compressed ? "" : "un");
}

void interop_tally_verdict(const interop_tally *t, char *out, size_t n)
{
    if (!t->messages)
        snprintf(out, n, "bad: no messages came");
    else if (t->bad[0])
        snprintf(out, n, "bad: %s (the peer's threshold %zu)", t->bad,
                 peer_threshold());
    else
        snprintf(out, n, "ok: %zu of %zu messages came compressed (the peer's "
                 "threshold %zu)", t->compressed, t->messages, peer_threshold());
}
