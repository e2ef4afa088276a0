/* Helpers shared by the interop drivers. */
#include "interop_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
