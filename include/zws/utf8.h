/* zws — streaming UTF-8 validation (RFC 3629), as RFC 6455 requires of text
 * messages and close reasons.
 *
 * The validator carries its state across calls, so a code point split between
 * two frames or two reads validates. It fails fast: the first byte that cannot
 * be part of valid UTF-8 is reported as soon as it is fed, not at the end of
 * the message (RFC 6455 §8.1). */
#ifndef ZWS_UTF8_H
#define ZWS_UTF8_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A plain value: copy it, keep it on the stack. Zero-initialised means
 * "at the start of a message" (ZWS_UTF8_INIT). */
typedef struct zws_utf8 {
    uint32_t state;
} zws_utf8;
#define ZWS_UTF8_INIT {0}

/* Validates the next len bytes of a stream. Returns 0 when every byte so far
 * is a prefix of valid UTF-8, or ZWS_EUTF8; then *bad (if not NULL) is the
 * offset within this chunk of the first offending byte, and the validator
 * stays failed until zws_utf8_reset(). */
ZWS_EXTERN int zws_utf8_feed(zws_utf8 *v, const uint8_t *p, size_t len,
                             size_t *bad);

/* 1 when the bytes fed so far end on a code point boundary and nothing
 * failed (a complete message may end here), else 0. */
ZWS_EXTERN int zws_utf8_complete(const zws_utf8 *v);

ZWS_EXTERN void zws_utf8_reset(zws_utf8 *v);

/* One-shot: 1 when p[0..len) is complete, valid UTF-8, else 0. */
ZWS_EXTERN int zws_utf8_valid(const uint8_t *p, size_t len);

/* Name of the active UTF-8 kernel: "scalar", "avx2" or "avx512". */
ZWS_EXTERN const char *zws_utf8_kernel(void);

#ifdef __cplusplus
}
#endif
#endif
