/* Internal helpers shared by the HTTP parser (http.c) and the handshake
 * (handshake.c): character classes of RFC 9110 and ASCII case folding. */
#ifndef ZWS_INTERNAL_HTTP_H
#define ZWS_INTERNAL_HTTP_H

#include <stddef.h>
#include <string.h>

#include "zws/handshake.h"

/* tchar: the characters of a token (RFC 9110 §5.6.2). */
static inline int zws__is_tchar(unsigned char c)
{
    unsigned char l = (unsigned char)(c | 0x20);
    if ((l >= 'a' && l <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
        return 1;
    default:
        return 0;
    }
}

/* A byte allowed inside a field value or reason phrase: VCHAR, obs-text,
 * SP, HTAB — anything but the other CTLs and DEL. */
static inline int zws__is_vchar_ws(unsigned char c)
{
    return (c >= 0x20 && c != 0x7f) || c == '\t';
}

static inline int zws__is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

static inline unsigned char zws__lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* a[0..n) equals b[0..n), ASCII case folded. */
static inline int zws__ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (zws__lower((unsigned char)a[i]) != zws__lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* a[0..n) equals the NUL-terminated b, ASCII case folded. */
static inline int zws__ieq(const char *a, size_t n, const char *b)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (b[i] == '\0' || zws__lower((unsigned char)a[i]) != zws__lower((unsigned char)b[i]))
            return 0;
    }
    return b[i] == '\0';
}

/* Header names the handshake writes itself, one table for every builder
 * (handshake.c) and for zws_opts_add_header, so they cannot disagree. */
#define ZWS__HDR_REQUEST 1u  /* refused by zws_handshake_build_request */
#define ZWS__HDR_RESPONSE 2u /* refused by zws_handshake_build_response */
#define ZWS__HDR_ERROR 4u    /* refused by zws_handshake_build_error */
#define ZWS__HDR_OPTS 8u     /* refused by zws_opts_add_header only */
/* Why name[0..n) may not be an extra header of any of the builders in
 * which (ZWS__HDR_* bits), or NULL when it may. The text is static. */
const char *zws__header_reserved(const char *name, size_t n, unsigned which);

/* 1 if s[0..n) is a non-empty token. */
static inline int zws__is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!zws__is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

#endif
