/* The zero-copy extractor: one pass over the payload, keys dispatched by
 * name as they come, known values converted in place (decimal strings to
 * fixed point, integers, booleans, level arrays into the parser's storage),
 * every other value validated as JSON and skipped. The message's type is
 * decided once its object is complete, and the fields that type needs are
 * checked then, so members may come in any order. */
#include <stddef.h>
#include <string.h>

#include "zws/mask.h"
#include "zws/md.h"

/* Bits of the fields seen in one object (duplicates, and the type check). */
enum {
    F_e = 1u << 0, F_E = 1u << 1, F_s = 1u << 2, F_t = 1u << 3, F_p = 1u << 4,
    F_q = 1u << 5, F_T = 1u << 6, F_m = 1u << 7, F_M = 1u << 8, F_a = 1u << 9,
    F_f = 1u << 10, F_l = 1u << 11, F_u = 1u << 12, F_U = 1u << 13, F_b = 1u << 14,
    F_B = 1u << 15, F_A = 1u << 16, F_LAST = 1u << 17, F_BIDS = 1u << 18,
    F_ASKS = 1u << 19, F_RESULT = 1u << 20, F_ID = 1u << 21, F_ERROR = 1u << 22,
    F_STREAM = 1u << 23, F_DATA = 1u << 24, F_CODE = 1u << 25, F_MSG = 1u << 26
};

typedef struct cur {
    const char *p, *end, *start;
    zws_md_parser *ps;
    size_t used;  /* levels stored */
    char at, bt;  /* what "a" and "b" held: '[' levels, '"' a decimal, '0' an integer */
} cur;

static int fail(cur *c, int err, const char *what)
{
    c->ps->what = what;
    c->ps->at = (size_t)(c->p - c->start);
    return err;
}

static inline void ws(cur *c)
{
    /* the feed sends none: one compare in the common case */
    if (__builtin_expect(c->p < c->end && (unsigned char)*c->p > ' ', 1))
        return;
    while (c->p < c->end && (unsigned char)*c->p <= ' ' &&
           (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Eight bytes at a time: is any of them a quote, a backslash or a control
 * character? (The classic has-zero-byte and has-less-than tricks.) */
static inline uint64_t special8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t z = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x);
    return z & high; /* the lowest set bit marks the first such byte exactly */
}

static inline int peek(cur *c)
{
    ws(c);
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static inline int expect(cur *c, char ch, const char *what)
{
    if (peek(c) != (unsigned char)ch)
        return fail(c, ZWS_MD_ESYNTAX, what);
    c->p++;
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A string at the cursor (after its opening quote): *v is its raw
 * contents. Escapes are checked, never decoded; a \u escape must name a
 * valid code point (surrogates in pairs). */
static int string_body(cur *c, zws_md_view *v)
{
    const char *s = c->p;
    for (;;) {
        /* the common case: plain bytes up to the closing quote */
        while (c->end - c->p >= 8) {
            uint64_t sp = special8(c->p);
            if (sp) {
                c->p += __builtin_ctzll(sp) >> 3;
                break;
            }
            c->p += 8;
        }
        while (c->p < c->end) {
            unsigned char ch = (unsigned char)*c->p;
            if (ch == '"' || ch == '\\' || ch < 0x20)
                break;
            c->p++;
        }
        if (c->p >= c->end)
            return fail(c, ZWS_MD_ESYNTAX, "unterminated string");
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return fail(c, ZWS_MD_ESYNTAX, "control character in a string");
        /* an escape */
        if (c->end - c->p < 2)
            return fail(c, ZWS_MD_ESYNTAX, "unterminated escape");
        char e = c->p[1];
        if (e == 'u') {
            if (c->end - c->p < 6)
                return fail(c, ZWS_MD_ESYNTAX, "short \\u escape");
            unsigned cp = 0;
            for (int i = 2; i < 6; i++) {
                int h = hexval((unsigned char)c->p[i]);
                if (h < 0)
                    return fail(c, ZWS_MD_ESYNTAX, "bad hex digit in a \\u escape");
                cp = cp << 4 | (unsigned)h;
            }
            c->p += 6;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(c, ZWS_MD_ESYNTAX, "lone low surrogate in a \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo = 0;
                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u')
                    return fail(c, ZWS_MD_ESYNTAX, "high surrogate without its pair");
                for (int i = 2; i < 6; i++) {
                    int h = hexval((unsigned char)c->p[i]);
                    if (h < 0)
                        return fail(c, ZWS_MD_ESYNTAX, "bad hex digit in a \\u escape");
                    lo = lo << 4 | (unsigned)h;
                }
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(c, ZWS_MD_ESYNTAX, "high surrogate without its pair");
                c->p += 6;
            }
            if (cp == 0)
                return fail(c, ZWS_MD_ESYNTAX, "\\u0000 in a string");
            continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
            e != 'r' && e != 't')
            return fail(c, ZWS_MD_ESYNTAX, "invalid escape in a string");
        c->p += 2;
    }
    v->p = s;
    v->len = (size_t)(c->p - s);
    c->p++; /* the closing quote */
    return 0;
}

static int string(cur *c, zws_md_view *v, const char *what)
{
    if (peek(c) != '"')
        return fail(c, ZWS_MD_ETYPE, what);
    c->p++;
    return string_body(c, v);
}

/* A JSON number's grammar, from the cursor; *is_int says it had neither a
 * fraction nor an exponent. */
static int number(cur *c, int *is_int)
{
    const char *p = c->p;
    if (p < c->end && *p == '-')
        p++;
    if (p >= c->end || *p < '0' || *p > '9')
        return fail(c, ZWS_MD_ESYNTAX, "bad number");
    if (*p == '0') {
        p++;
    } else {
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
    }
    *is_int = 1;
    if (p < c->end && *p == '.') {
        p++;
        if (p >= c->end || *p < '0' || *p > '9')
            return fail(c, ZWS_MD_ESYNTAX, "bad number: no digit after the point");
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
        *is_int = 0;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= c->end || *p < '0' || *p > '9')
            return fail(c, ZWS_MD_ESYNTAX, "bad number: no digit in the exponent");
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
        *is_int = 0;
    }
    c->p = p;
    return 0;
}

/* An integer field: digits straight to int64, overflow refused. */
static const int64_t pow10_tab[19] = {1,
                                      10,
                                      100,
                                      1000,
                                      10000,
                                      100000,
                                      1000000,
                                      10000000,
                                      100000000,
                                      1000000000,
                                      10000000000,
                                      100000000000,
                                      1000000000000,
                                      10000000000000,
                                      100000000000000,
                                      1000000000000000,
                                      10000000000000000,
                                      100000000000000000,
                                      1000000000000000000};

static int integer_slow(cur *c, int64_t *out, const char *what) __attribute__((noinline, cold));

/* ---- digits eight at a time ----
 * A little-endian load puts the first digit in the lowest byte. A byte is
 * a digit when, XORed with '0', it is at most 9: adding 0x76 then sets its
 * top bit only for the others (a carry can only reach bytes above the first
 * non-digit, which do not matter). */
static inline uint64_t load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* How many of the eight bytes at x are digits before the first that is not. */
static inline __attribute__((always_inline)) unsigned lead_digits(uint64_t x)
{
    uint64_t t = x ^ 0x3030303030303030ULL;
    uint64_t bad = (t | (t + 0x7676767676767676ULL)) & 0x8080808080808080ULL;
    return bad ? (unsigned)__builtin_ctzll(bad) >> 3 : 8;
}

/* The value of the first n (1..8) digits of x. */
static inline __attribute__((always_inline)) uint64_t digits_value(uint64_t x, unsigned n)
{
    /* move them to the top and fill below with '0', so eight digits remain */
    if (n < 8) {
        unsigned sh = 8 * (8 - n);
        x = (x << sh) | (0x3030303030303030ULL >> (64 - sh));
    }
    x -= 0x3030303030303030ULL;
    x = x * 10 + (x >> 8); /* pairs */
    x = (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
        32;
    return x;
}

/* Up to 16 digits at p (17 bytes readable): *n gets how many there were
 * (17 when more follow), the return their value. */
static inline uint64_t digits16(const char *p, unsigned *n)
{
    uint64_t x = load8(p);
    unsigned a = lead_digits(x);
    if (a < 8) {
        *n = a;
        return a ? digits_value(x, a) : 0;
    }
    uint64_t hi = digits_value(x, 8);
    uint64_t y = load8(p + 8);
    unsigned b = lead_digits(y);
    if (b == 8) {
        *n = (unsigned)(p[16] >= '0' && p[16] <= '9') ? 17 : 16;
        return hi * 100000000ULL + digits_value(y, 8);
    }
    *n = 8 + b;
    return b ? hi * (uint64_t)pow10_tab[b] + digits_value(y, b) : hi;
}

#define HOT static inline __attribute__((always_inline))
#define COLD static __attribute__((noinline, cold))

/* The scale as the decimal readers use it: at most fmax digits after the
 * point (the scale, and no more than eight), and mul[-f] the factor that
 * brings f decimals to the scale (mul points at 10^decimals). */
typedef struct fscale {
    unsigned fmax;
    const int64_t *mul;
} fscale;

/* The fast readers take a scale of at most this many decimals, so a number
 * of up to 8 integer digits fits in int64 at the scale. */
#define FAST_MAX_DECIMALS 10

/* The scale of dec decimals (0 to FAST_MAX_DECIMALS). */
HOT fscale fscale_of(int dec)
{
    return (fscale){dec < 8 ? (unsigned)dec : 8, pow10_tab + dec};
}

/* ---- the portable readers: eight bytes at a time ----
 * Each takes only the common form of its value and returns the cursor past
 * it, or NULL; strings and decimal strings stop before the closing quote.
 * The fast path's portable copy uses them, and so do integer() and
 * decimal() below before their careful readers. */

/* A string's contents up to its closing quote, without escapes. */
HOT const char *str_word(const char *p, const char *end, zws_md_view *v)
{
    const char *s = p;
    while (end - p >= 8) {
        uint64_t sp = special8(p);
        if (sp) {
            p += __builtin_ctzll(sp) >> 3;
            if (*p != '"')
                return NULL;
            v->p = s;
            v->len = (size_t)(p - s);
            return p;
        }
        p += 8;
    }
    return NULL;
}

/* An integer of 1 to 16 digits, no sign, no leading zero. What follows is
 * the caller's to check (a fraction or an exponent makes it no integer). */
HOT const char *int_word(const char *p, const char *end, int64_t *out)
{
    if (end - p < 18 || (unsigned)(*p - '1') >= 9)
        return NULL;
    unsigned n;
    uint64_t v = digits16(p, &n);
    p += n;
    if (n > 16)
        return NULL;
    *out = (int64_t)v;
    return p;
}

/* A decimal string's digits: 1 to 7 before the point, 1 to sc.fmax after
 * it, or no point. */
HOT const char *dec_word(const char *p, const char *end, fscale sc, int64_t *out)
{
    if (end - p < 8)
        return NULL;
    uint64_t x = load8(p);
    unsigned n = lead_digits(x);
    if (n - 1 >= 7)
        return NULL;
    uint64_t v = digits_value(x, n);
    p += n;
    int frac = 0;
    if (*p == '.') {
        p++;
        if (end - p < 9)
            return NULL;
        uint64_t y = load8(p);
        unsigned f = lead_digits(y);
        if (f - 1 >= sc.fmax || (f == 8 && (unsigned)(p[8] - '0') < 10))
            return NULL;
        v = v * (uint64_t)pow10_tab[f] + digits_value(y, f);
        frac = (int)f;
        p += f;
    }
    *out = (int64_t)(v * (uint64_t)sc.mul[-frac]);
    return p;
}

/* An integer field: up to 16 digits without a sign the fast way; anything
 * else (a sign, more digits, the end of the input near) the careful way. */
HOT int integer(cur *c, int64_t *out, const char *what)
{
    const char *q = int_word(c->p, c->end, out);
    if (q && *q != '.' && *q != 'e' && *q != 'E') {
        c->p = q;
        return 0;
    }
    return integer_slow(c, out, what);
}

static int integer_slow(cur *c, int64_t *out, const char *what)
{
    int ch = peek(c);
    if (ch != '-' && (ch < '0' || ch > '9'))
        return fail(c, ZWS_MD_ETYPE, what);
    const char *s = c->p;
    int neg = *s == '-';
    const char *d = s + neg;
    uint64_t v = 0;
    const char *p = d;
    while (p < c->end && *p >= '0' && *p <= '9') {
        unsigned dg = (unsigned)(*p - '0');
        if (v > (UINT64_C(9223372036854775808) - dg) / 10)
            return fail(c, ZWS_MD_ERANGE, "integer too large for int64");
        v = v * 10 + dg;
        p++;
    }
    if (p == d)
        return fail(c, ZWS_MD_ESYNTAX, "bad number");
    if (*d == '0' && p - d > 1)
        return fail(c, ZWS_MD_ESYNTAX, "leading zero in a number");
    if (p < c->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return fail(c, ZWS_MD_ETYPE, what);
    if (!neg && v > INT64_MAX)
        return fail(c, ZWS_MD_ERANGE, "integer too large for int64");
    c->p = p;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}


int zws_md_decimal(const char *s, size_t len, int decimals, int64_t *out)
{
    if (decimals < 0 || decimals > 18)
        return ZWS_MD_ERANGE;
    const char *p = s, *end = s + len;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    uint64_t v = 0;
    const char *d = p;
    while (p < end && (unsigned)(*p - '0') < 10) {
        if (v > (UINT64_MAX - 9) / 10)
            return ZWS_MD_ERANGE; /* past int64 in any case; checked exactly below */
        v = v * 10 + (unsigned)(*p - '0');
        p++;
    }
    if (p == d)
        return ZWS_MD_ESYNTAX;
    int frac = 0;
    if (p < end && *p == '.') {
        p++;
        const char *f = p;
        while (p < end && (unsigned)(*p - '0') < 10) {
            if (frac < decimals) {
                if (v > (UINT64_MAX - 9) / 10)
                    return ZWS_MD_ERANGE;
                v = v * 10 + (unsigned)(*p - '0');
                frac++;
            } else if (*p != '0') {
                return ZWS_MD_ERANGE; /* more precision than the scale */
            }
            p++;
        }
        if (p == f)
            return ZWS_MD_ESYNTAX;
    }
    if (p != end)
        return ZWS_MD_ESYNTAX;
    /* scale up what the string left out */
    int64_t m = pow10_tab[decimals - frac];
    if (v > (uint64_t)INT64_MAX / (uint64_t)m)
        return ZWS_MD_ERANGE;
    v *= (uint64_t)m;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

size_t zws_md_format_decimal(char *buf, int64_t v, int decimals)
{
    char tmp[32];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int digits = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
        digits++;
        if (digits == decimals)
            tmp[n++] = '.';
    } while (u || digits <= decimals);
    size_t o = 0;
    if (v < 0)
        buf[o++] = '-';
    while (n)
        buf[o++] = tmp[--n];
    if (decimals == 0 && o && buf[o - 1] == '.')
        o--;
    return o;
}

static int decimal_slow(cur *c, int64_t *out, const char *what) __attribute__((noinline, cold));

/* A price or quantity: a decimal string at the parser's scale, read in one
 * pass without the string's own scan when it is plain digits, a point and
 * digits (dec_word's forms), else the careful way. */
HOT int decimal(cur *c, int64_t *out, const char *what)
{
    const char *p = c->p;
    int dec = c->ps->decimals;
    if (c->end - p >= 2 && *p == '"' && (unsigned)dec <= FAST_MAX_DECIMALS) {
        const char *q = dec_word(p + 1, c->end, fscale_of(dec), out);
        if (q && *q == '"') {
            c->p = q + 1;
            return 0;
        }
    }
    return decimal_slow(c, out, what);
}

COLD int decimal_slow(cur *c, int64_t *out, const char *what)
{
    zws_md_view v;
    int r = string(c, &v, what);
    if (r)
        return r;
    r = zws_md_decimal(v.p, v.len, c->ps->decimals, out);
    if (r) { /* a string, but not a number: the field's type is wrong */
        c->p = v.p;
        return r == ZWS_MD_ERANGE ? fail(c, r, "decimal out of range for the scale")
                                  : fail(c, ZWS_MD_ETYPE, "not a decimal string");
    }
    return 0;
}

static int boolean(cur *c, int *out, const char *what)
{
    int ch = peek(c);
    if (ch == 't' && c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) {
        c->p += 4;
        *out = 1;
        return 0;
    }
    if (ch == 'f' && c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) {
        c->p += 5;
        *out = 0;
        return 0;
    }
    return fail(c, ch == 't' || ch == 'f' ? ZWS_MD_ESYNTAX : ZWS_MD_ETYPE, what);
}

static int skip_value(cur *c, int depth);

/* Checks a member name against the ones already seen in this object. */
static int check_dup(cur *c, zws_md_view *seen, int *nseen, zws_md_view k)
{
    for (int i = 0; i < *nseen; i++)
        if (seen[i].len == k.len && memcmp(seen[i].p, k.p, k.len) == 0)
            return fail(c, ZWS_MD_EDUP, "duplicate key");
    if (*nseen == ZWS_MD_MAX_KEYS)
        return fail(c, ZWS_MD_EDEPTH, "too many members in one object");
    seen[(*nseen)++] = k;
    return 0;
}

/* Any object (skipped): its members validated, duplicates refused. */
static int skip_object(cur *c, int depth)
{
    zws_md_view seen[ZWS_MD_MAX_KEYS];
    int nseen = 0;
    c->p++; /* '{' */
    if (peek(c) == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        zws_md_view k;
        int r;
        if (peek(c) != '"')
            return fail(c, ZWS_MD_ESYNTAX, "expected a member name");
        c->p++;
        if ((r = string_body(c, &k)) || (r = check_dup(c, seen, &nseen, k)) ||
            (r = expect(c, ':', "expected ':' after a member name")) ||
            (r = skip_value(c, depth + 1)))
            return r;
        int ch = peek(c);
        if (ch < 0)
            return fail(c, ZWS_MD_ESYNTAX, "truncated");
        c->p++;
        if (ch == '}')
            return 0;
        if (ch != ',')
            return fail(c, ZWS_MD_ESYNTAX, "expected ',' or '}' in an object");
    }
}

static int skip_value(cur *c, int depth)
{
    if (depth > ZWS_MD_MAX_DEPTH)
        return fail(c, ZWS_MD_EDEPTH, "nested too deep");
    int ch = peek(c), r, is_int;
    zws_md_view v;
    switch (ch) {
    case '"':
        c->p++;
        return string_body(c, &v);
    case '{':
        return skip_object(c, depth);
    case '[':
        c->p++;
        if (peek(c) == ']') {
            c->p++;
            return 0;
        }
        for (;;) {
            if ((r = skip_value(c, depth + 1)))
                return r;
            ch = peek(c);
            if (ch < 0)
                return fail(c, ZWS_MD_ESYNTAX, "truncated");
            c->p++;
            if (ch == ']')
                return 0;
            if (ch != ',')
                return fail(c, ZWS_MD_ESYNTAX, "expected ',' or ']' in an array");
        }
    case 't':
        if (c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) {
            c->p += 4;
            return 0;
        }
        break;
    case 'f':
        if (c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) {
            c->p += 5;
            return 0;
        }
        break;
    case 'n':
        if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
            c->p += 4;
            return 0;
        }
        break;
    default:
        if (ch == '-' || (ch >= '0' && ch <= '9'))
            return number(c, &is_int);
        if (ch < 0)
            return fail(c, ZWS_MD_ESYNTAX, "truncated: a value is missing");
    }
    return fail(c, ZWS_MD_ESYNTAX, "invalid value");
}

/* [[price, qty], ...] into the parser's storage. */
static int levels(cur *c, const zws_md_level **out, size_t *n, const char *what)
{
    if (peek(c) != '[')
        return fail(c, ZWS_MD_ETYPE, what);
    c->p++;
    /* no offset on the storage when there is none (NULL, 0 levels) */
    zws_md_level *lv = c->used ? c->ps->levels + c->used : c->ps->levels;
    size_t k = 0;
    *out = lv;
    if (peek(c) == ']') {
        c->p++;
        *n = 0;
        return 0;
    }
    for (;;) {
        int r;
        if (c->used + k >= c->ps->cap)
            return fail(c, ZWS_MD_ELEVELS, "more price levels than the parser holds");
        if (peek(c) != '[')
            return fail(c, ZWS_MD_ETYPE, "a price level is not an array");
        c->p++;
        if ((r = decimal(c, &lv[k].px, "a level's price is not a string")) ||
            (r = expect(c, ',', "expected ',' in a price level")) ||
            (r = decimal(c, &lv[k].qty, "a level's quantity is not a string")))
            return r;
        /* Binance's levels are pairs; anything after is skipped */
        while (peek(c) == ',') {
            c->p++;
            if ((r = skip_value(c, 3)))
                return r;
        }
        if ((r = expect(c, ']', "expected ']' after a price level")))
            return r;
        k++;
        int ch = peek(c);
        if (ch < 0)
            return fail(c, ZWS_MD_ESYNTAX, "truncated");
        c->p++;
        if (ch == ']')
            break;
        if (ch != ',')
            return fail(c, ZWS_MD_ESYNTAX, "expected ',' or ']' in the levels");
    }
    c->used += k;
    *n = k;
    return 0;
}

static int key_is(zws_md_view k, const char *s, size_t n)
{
    return k.len == n && memcmp(k.p, s, n) == 0;
}

#define KEY(lit) key_is(k, lit, sizeof lit - 1)

static int object(cur *c, zws_md_msg *m, int depth, uint32_t *seen_out);

/* {"code":N,"msg":"..."} of an error answer. */
static int error_object(cur *c, zws_md_msg *m, int depth)
{
    uint32_t seen = 0;
    int r = object(c, m, depth, &seen);
    if (r)
        return r;
    if (!(seen & F_CODE))
        return fail(c, ZWS_MD_EMISSING, "error without a code");
    return 0;
}

/* A member of a message object whose name is k. */
static int member(cur *c, zws_md_msg *m, zws_md_view k, uint32_t *seen, int depth,
                  zws_md_view *other, int *nother)
{
    uint32_t bit = 0;
    int r = 0;
    zws_md_view v;
    if (k.len == 1) {
        switch (k.p[0]) {
        case 'e':
            bit = F_e;
            if (!(r = string(c, &v, "\"e\" is not a string"))) {
                if (key_is(v, "trade", 5))
                    m->kind = ZWS_MD_TRADE;
                else if (key_is(v, "aggTrade", 8))
                    m->kind = ZWS_MD_AGG_TRADE;
                else if (key_is(v, "depthUpdate", 11))
                    m->kind = ZWS_MD_DEPTH_UPDATE;
                else if (key_is(v, "serverShutdown", 14))
                    m->kind = ZWS_MD_SHUTDOWN;
                else
                    m->kind = ZWS_MD_NONE;
            }
            break;
        case 'E': bit = F_E; r = integer(c, &m->event_time, "\"E\" is not an integer"); break;
        case 's': bit = F_s; r = string(c, &m->symbol, "\"s\" is not a string"); break;
        case 't': bit = F_t; r = integer(c, &m->id, "\"t\" is not an integer"); break;
        case 'p': bit = F_p; r = decimal(c, &m->px, "\"p\" is not a decimal string"); break;
        case 'q': bit = F_q; r = decimal(c, &m->qty, "\"q\" is not a decimal string"); break;
        case 'T': bit = F_T; r = integer(c, &m->trade_time, "\"T\" is not an integer"); break;
        case 'm': bit = F_m; r = boolean(c, &m->buyer_maker, "\"m\" is not a boolean"); break;
        case 'M': {
            int ignore;
            bit = F_M;
            r = boolean(c, &ignore, "\"M\" is not a boolean");
            break;
        }
        case 'a': /* aggTrade: its id; bookTicker: best ask; depth: asks */
            bit = F_a;
            c->at = (char)peek(c);
            if (c->at == '[')
                r = levels(c, &m->asks, &m->nasks, "\"a\" is not an array");
            else if (c->at == '"')
                r = decimal(c, &m->ask_px, "\"a\" is not a decimal string");
            else if (!(r = integer(c, &m->seller_order_id, "\"a\" has the wrong type")))
                c->at = '0';
            break;
        case 'b': /* bookTicker: best bid; depth: bids; old trades: an order id */
            bit = F_b;
            c->bt = (char)peek(c);
            if (c->bt == '[')
                r = levels(c, &m->bids, &m->nbids, "\"b\" is not an array");
            else if (c->bt == '"')
                r = decimal(c, &m->bid_px, "\"b\" is not a decimal string");
            else if (!(r = integer(c, &m->buyer_order_id, "\"b\" has the wrong type")))
                c->bt = '0';
            break;
        case 'A': bit = F_A; r = decimal(c, &m->ask_qty, "\"A\" is not a decimal string"); break;
        case 'B': bit = F_B; r = decimal(c, &m->bid_qty, "\"B\" is not a decimal string"); break;
        case 'f': bit = F_f; r = integer(c, &m->first_id, "\"f\" is not an integer"); break;
        case 'l': bit = F_l; r = integer(c, &m->last_id, "\"l\" is not an integer"); break;
        case 'U': bit = F_U; r = integer(c, &m->first_id, "\"U\" is not an integer"); break;
        case 'u': bit = F_u; r = integer(c, &m->last_id, "\"u\" is not an integer"); break;
        }
    } else if (KEY("lastUpdateId")) {
        bit = F_LAST;
        r = integer(c, &m->id, "\"lastUpdateId\" is not an integer");
    } else if (KEY("bids")) {
        bit = F_BIDS;
        r = levels(c, &m->bids, &m->nbids, "\"bids\" is not an array");
    } else if (KEY("asks")) {
        bit = F_ASKS;
        r = levels(c, &m->asks, &m->nasks, "\"asks\" is not an array");
    } else if (KEY("result")) {
        bit = F_RESULT;
        ws(c);
        const char *s = c->p;
        if (!(r = skip_value(c, depth + 1)))
            m->result = (zws_md_view){s, (size_t)(c->p - s)};
    } else if (KEY("id")) {
        bit = F_ID;
        int ch = peek(c);
        if (ch == 'n' || ch == '"') {
            m->id = -1;
            r = skip_value(c, depth + 1);
        } else {
            r = integer(c, &m->id, "\"id\" is not an integer, a string or null");
        }
    } else if (KEY("error")) {
        bit = F_ERROR;
        if (peek(c) != '{')
            r = fail(c, ZWS_MD_ETYPE, "\"error\" is not an object");
        else
            r = error_object(c, m, depth + 1);
    } else if (KEY("code")) {
        bit = F_CODE;
        r = integer(c, &m->err_code, "\"code\" is not an integer");
    } else if (KEY("msg")) {
        bit = F_MSG;
        r = string(c, &m->err_msg, "\"msg\" is not a string");
    } else if (KEY("stream") && depth == 0) {
        bit = F_STREAM;
        r = string(c, &m->stream, "\"stream\" is not a string");
    } else if (KEY("data") && depth == 0) {
        bit = F_DATA;
        if (peek(c) != '{')
            return fail(c, ZWS_MD_ETYPE, "\"data\" is not an object");
        uint32_t inner = 0;
        if (!(r = object(c, m, depth + 1, &inner)))
            seen[1] = inner; /* the envelope's caller passed two words */
    }
    if (r)
        return r;
    if (!bit) {
        if ((r = check_dup(c, other, nother, k)))
            return r;
        return skip_value(c, depth + 1);
    }
    if (seen[0] & bit)
        return fail(c, ZWS_MD_EDUP, "duplicate key");
    seen[0] |= bit;
    return 0;
}

/* An object at the cursor ('{' next); seen[0] gets its fields' bits, and
 * for an envelope, seen[1] those of its data. */
static int object(cur *c, zws_md_msg *m, int depth, uint32_t *seen)
{
    zws_md_view other[ZWS_MD_MAX_KEYS];
    int nother = 0;
    if (depth > ZWS_MD_MAX_DEPTH)
        return fail(c, ZWS_MD_EDEPTH, "nested too deep");
    c->p++;
    if (peek(c) == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        zws_md_view k;
        int r;
        if (peek(c) != '"')
            return fail(c, ZWS_MD_ESYNTAX, "expected a member name");
        const char *p = c->p;
        if (c->end - p >= 4 && p[2] == '"' && p[3] == ':' && p[1] != '\\' &&
            (unsigned char)p[1] >= 0x20 && p[1] != '"') {
            k.p = p + 1; /* a one-letter name, as most of the feed's are */
            k.len = 1;
            c->p = p + 4;
        } else {
            c->p++;
            if ((r = string_body(c, &k)) ||
                (r = expect(c, ':', "expected ':' after a member name")))
                return r;
        }
        if ((r = member(c, m, k, seen, depth, other, &nother)))
            return r;
        int ch = peek(c);
        if (ch < 0)
            return fail(c, ZWS_MD_ESYNTAX, "truncated object");
        c->p++;
        if (ch == '}')
            return 0;
        if (ch != ',')
            return fail(c, ZWS_MD_ESYNTAX, "expected ',' or '}' in an object");
    }
}

/* ---- the fast path: the feed's own member order ----
 *
 * The exchange writes each message type with its members in one order.
 * When a message follows that order exactly (checked literal by literal),
 * the values are read straight into place: no key dispatch, no duplicate
 * bookkeeping (a fixed sequence has none), no type check afterwards. Any
 * difference, even a space, and the general parser starts over on the
 * message, so the result and every error are the general parser's. The
 * fast readers take only the common forms (no sign, no escape, numbers of
 * moderate length) and give up on anything else, so the path keeps its
 * cursor in a register and never calls out; the general parser reads what
 * they leave. Each reader takes the cursor and returns it past what it read,
 * or NULL. Numbers and strings stop before their closing quote, which the
 * next literal checks.
 *
 * The fast path only starts on messages of 16 bytes or more, so a reader
 * near the end may load the last 16 bytes of the payload instead of 16 from
 * its cursor, and it runs only at a scale of at most FAST_MAX_DECIMALS. */
#define FAST_MIN_LEN 16

static inline uint32_t load4(const char *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

static inline uint16_t load2(const char *p)
{
    uint16_t x;
    memcpy(&x, p, 2);
    return x;
}

/* The literal s (n bytes) at p. With s and n constants, each piece is one
 * load and a compare with an immediate: whole words, then what is left as
 * one word ending at n (overlapping the last), or as two overlapping
 * halves of four or two bytes for short literals. */
static inline __attribute__((always_inline)) const char *lit(const char *p, const char *end,
                                                             const char *s, size_t n)
{
    if ((size_t)(end - p) < n)
        return NULL;
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        if (load8(p + k) != load8(s + k))
            return NULL;
    if (k == n)
        return p + n;
    if (n >= 8) {
        if (load8(p + n - 8) != load8(s + n - 8))
            return NULL;
    } else if (n >= 4) {
        if (load4(p) != load4(s) || load4(p + n - 4) != load4(s + n - 4))
            return NULL;
    } else if (n >= 2) {
        if (load2(p) != load2(s) || load2(p + n - 2) != load2(s + n - 2))
            return NULL;
    } else if (*p != *s) {
        return NULL;
    }
    return p + n;
}
#define LIT(s) lit(p, end, s, sizeof s - 1)

static inline __attribute__((always_inline)) const char *fast_bool(const char *p,
                                                                   const char *end, int *out)
{
    const char *q;
    if ((q = LIT("true"))) {
        *out = 1;
        return q;
    }
    if ((q = LIT("false"))) {
        *out = 0;
        return q;
    }
    return NULL;
}

#define FAST(name) name##_word
#define FAST_FN static
#define STR str_word
#define INT int_word
#define DEC dec_word
#include "extract_fast.inc"
#undef FAST
#undef FAST_FN
#undef STR
#undef INT
#undef DEC

#if defined(__x86_64__)
#define ZWS_MD_SSSE3 1
#include <immintrin.h>

/* ---- the SSSE3 readers: sixteen bytes at a time ----
 * One unaligned load takes the whole number; a compare finds its digits,
 * so the point and the end are the first two bytes that are not digits. A
 * shuffle then moves the digits, the point left out, to the right end of a
 * register with zeros before them, and three multiply-adds turn the sixteen
 * digits into two eight-digit halves. When fewer than sixteen bytes are left
 * the load takes the payload's last sixteen, and o says how far into the
 * register the cursor is.
 *
 * shuf[d][f]: for d digits, a point and f digits from the register's first
 * byte (f = 0: no point), the shuffle that right-aligns them; 0x80 lanes
 * become zeros. Rows with d up to 15 serve the integers (f = 0). */
#define SH(d, f, i)                                                                      \
    ((i) < 16 - (f) - (d) ? 0x80 : (i) < 16 - (f) ? (i) - 16 + (f) + (d) : (i) - 15 + (f) + (d))
#define SHR(d, f)                                                                        \
    {SH(d, f, 0),  SH(d, f, 1),  SH(d, f, 2),  SH(d, f, 3), SH(d, f, 4),  SH(d, f, 5),   \
     SH(d, f, 6),  SH(d, f, 7),  SH(d, f, 8),  SH(d, f, 9), SH(d, f, 10), SH(d, f, 11),  \
     SH(d, f, 12), SH(d, f, 13), SH(d, f, 14), SH(d, f, 15)}
#define SHD(d)                                                                           \
    {SHR(d, 0), SHR(d, 1), SHR(d, 2), SHR(d, 3), SHR(d, 4),                              \
     SHR(d, 5), SHR(d, 6), SHR(d, 7), SHR(d, 8)}
static const uint8_t shuf[16][9][16] __attribute__((aligned(16))) = {
    SHD(0), SHD(1), SHD(2),  SHD(3),  SHD(4),  SHD(5),  SHD(6),  SHD(7),
    SHD(8), SHD(9), SHD(10), SHD(11), SHD(12), SHD(13), SHD(14), SHD(15)};

#define SSSE3 static inline __attribute__((always_inline, target("ssse3")))

/* Each reader works on sixteen bytes: those from p when they are all in
 * the payload (o = 0), else the payload's last sixteen with p at o. The
 * reading itself is one always-inlined function called with each, so the
 * common case is compiled with o = 0 and has no shift. */
#define LOAD16(q) _mm_loadu_si128((const __m128i *)(const void *)(q))

/* A bit for each byte of x from o on that is not a digit: x + 0x50 puts
 * '0'..'9' at -128..-119, the only bytes not greater than -119. */
SSSE3 unsigned non_digits(__m128i x, unsigned o)
{
    __m128i t = _mm_add_epi8(x, _mm_set1_epi8(0x50));
    return (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(t, _mm_set1_epi8(-119))) >> o;
}

/* The value of the digits shuf[d][f] picks from x (at most sixteen). */
SSSE3 uint64_t digits_value16(__m128i x, const uint8_t *sh, unsigned o)
{
    __m128i idx = _mm_load_si128((const __m128i *)(const void *)sh);
    if (o)
        idx = _mm_add_epi8(idx, _mm_set1_epi8((char)o));
    __m128i z = _mm_shuffle_epi8(_mm_sub_epi8(x, _mm_set1_epi8('0')), idx);
    z = _mm_maddubs_epi16(z, _mm_set1_epi16(0x010a));   /* pairs: 10a + b */
    z = _mm_madd_epi16(z, _mm_set1_epi32(0x00010064));  /* fours: 100ab + cd */
    z = _mm_packs_epi32(z, z);
    z = _mm_madd_epi16(z, _mm_set1_epi32(0x00012710));  /* eights: 10000abcd + efgh */
    uint64_t r = (uint64_t)_mm_cvtsi128_si64(z);
    return (r & 0xffffffffu) * 100000000u + (r >> 32);
}

/* A bit for each byte of x from o on that is a quote, a backslash or a
 * control character. */
SSSE3 unsigned specials(__m128i x, unsigned o)
{
    __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                           _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                              _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x));
    return (unsigned)_mm_movemask_epi8(sp) >> o;
}

/* A string's contents up to its closing quote, without escapes. */
SSSE3 const char *str_simd(const char *p, const char *end, zws_md_view *v)
{
    const char *s = p;
    unsigned m;
    for (;;) {
        if (__builtin_expect(end - p >= 16, 1)) {
            if ((m = specials(LOAD16(p), 0)))
                break;
            p += 16;
        } else {
            if (end - p <= 0 || !(m = specials(LOAD16(end - 16), (unsigned)(p - (end - 16)))))
                return NULL;
            break;
        }
    }
    p += __builtin_ctz(m);
    if (*p != '"')
        return NULL;
    v->p = s;
    v->len = (size_t)(p - s);
    return p;
}

/* A bit in nd means p is inside the payload. (A fraction or an exponent
 * after the digits fails the literal that follows.) */
SSSE3 const char *int_at(const char *p, __m128i x, unsigned o, int64_t *out)
{
    unsigned nd = non_digits(x, o);
    if (!nd || *p == '0' || (nd & 1))
        return NULL;
    unsigned n = (unsigned)__builtin_ctz(nd);
    *out = (int64_t)digits_value16(x, shuf[n][0], o);
    return p + n;
}

/* An integer of 1 to 15 digits, no sign, no leading zero. */
SSSE3 const char *int_simd(const char *p, const char *end, int64_t *out)
{
    if (__builtin_expect(end - p >= 16, 1))
        return int_at(p, LOAD16(p), 0, out);
    return end - p > 0 ? int_at(p, LOAD16(end - 16), (unsigned)(p - (end - 16)), out) : NULL;
}

SSSE3 const char *dec_at(const char *p, __m128i x, unsigned o, fscale sc, int64_t *out)
{
    unsigned nd = non_digits(x, o);
    if (!nd)
        return NULL;
    unsigned d = (unsigned)__builtin_ctz(nd), e = d, f = 0;
    if (d - 1 >= 8)
        return NULL;
    if (__builtin_expect(p[d] == '.', 1)) {
        unsigned rest = nd & (nd - 1);
        if (!rest)
            return NULL;
        e = (unsigned)__builtin_ctz(rest);
        f = e - d - 1;
        if (f - 1 >= sc.fmax)
            return NULL;
    }
    *out = (int64_t)(digits_value16(x, shuf[d][f], o) * (uint64_t)sc.mul[-(int)f]);
    return p + e;
}

/* A decimal string's digits: 1 to 8 before the point, 1 to sc.fmax after
 * it, or no point. */
SSSE3 const char *dec_simd(const char *p, const char *end, fscale sc, int64_t *out)
{
    if (__builtin_expect(end - p >= 16, 1))
        return dec_at(p, LOAD16(p), 0, sc, out);
    return end - p > 0 ? dec_at(p, LOAD16(end - 16), (unsigned)(p - (end - 16)), sc, out)
                       : NULL;
}

#define FAST(name) name##_ssse3
#define FAST_FN static __attribute__((target("ssse3")))
#define STR str_simd
#define INT int_simd
#define DEC dec_simd
#include "extract_fast.inc"
#undef FAST
#undef FAST_FN
#undef STR
#undef INT
#undef DEC
#endif

/* The fast path's number readers follow the level zws chose for its own
 * kernels (ZWS_SIMD forces one): SSSE3 comes with every x86-64 level above
 * SSE2, so "word" and "sse2" keep the portable readers. */
static int simd_level(void)
{
#ifdef ZWS_MD_SSSE3
    const char *k = zws_mask_kernel();
    return strcmp(k, "word") != 0 && strcmp(k, "sse2") != 0 && __builtin_cpu_supports("ssse3");
#else
    return 0;
#endif
}

void zws_md_parser_init(zws_md_parser *p, zws_md_level *storage, size_t nlevels)
{
    p->decimals = 8;
    p->levels = storage;
    p->cap = storage ? nlevels : 0;
    p->what = NULL;
    p->at = 0;
    p->fast = 0;
    p->simd = simd_level();
}

/* The fields each type needs. */
#define NEED_TRADE (F_e | F_E | F_s | F_t | F_p | F_q | F_T | F_m)
#define NEED_AGG (F_e | F_E | F_s | F_a | F_p | F_q | F_f | F_l | F_T | F_m)
#define NEED_TICKER (F_u | F_s | F_b | F_B | F_a | F_A)
#define NEED_DEPTH (F_e | F_E | F_s | F_U | F_u | F_b | F_a)
#define NEED_PARTIAL (F_LAST | F_BIDS | F_ASKS)

static int classify(cur *c, zws_md_msg *m, uint32_t f)
{
    uint32_t need = 0;
    switch (m->kind) {
    case ZWS_MD_TRADE: need = NEED_TRADE; break;
    case ZWS_MD_AGG_TRADE: need = NEED_AGG; break;
    case ZWS_MD_DEPTH_UPDATE: need = NEED_DEPTH; break;
    case ZWS_MD_SHUTDOWN: need = F_e | F_E; break;
    default:
        if (f & F_e)
            return fail(c, ZWS_MD_EKIND, "unknown event type in \"e\"");
        if (f & F_LAST) {
            m->kind = ZWS_MD_DEPTH_PARTIAL;
            need = NEED_PARTIAL;
        } else if (f & F_ERROR) {
            m->kind = ZWS_MD_ERROR;
            need = F_ERROR;
        } else if ((f & (F_CODE | F_MSG)) == (F_CODE | F_MSG)) {
            m->kind = ZWS_MD_ERROR; /* the older form: code and msg at the top */
            need = F_CODE;
        } else if (f & F_RESULT) {
            m->kind = ZWS_MD_RESULT;
            need = F_RESULT | F_ID;
        } else if (f & F_u) {
            m->kind = ZWS_MD_BOOK_TICKER;
            need = NEED_TICKER;
        } else {
            return fail(c, ZWS_MD_EKIND, "not a market-data message");
        }
    }
    if ((f & need) != need)
        return fail(c, ZWS_MD_EMISSING, "a field this message type needs is missing");
    /* "a" and "b" mean different things by type: their JSON types must fit */
    char want_a = 0, want_b = 0;
    switch (m->kind) {
    case ZWS_MD_BOOK_TICKER: want_a = want_b = '"'; m->id = m->last_id; break;
    case ZWS_MD_DEPTH_UPDATE: want_a = want_b = '['; m->id = m->last_id; break;
    case ZWS_MD_AGG_TRADE:
        want_a = '0';
        m->id = m->seller_order_id;
        m->seller_order_id = -1;
        if (f & F_b)
            want_b = '0';
        break;
    case ZWS_MD_TRADE:
        if (f & F_a)
            want_a = '0';
        if (f & F_b)
            want_b = '0';
        break;
    default:
        if (f & F_a)
            want_a = c->at;
        if (f & F_b)
            want_b = c->bt;
    }
    if ((f & F_a && c->at != want_a) || (f & F_b && c->bt != want_b))
        return fail(c, ZWS_MD_ETYPE, "\"a\" or \"b\" has the wrong type for this message");
    return 0;
}

/* A message with nothing read yet, and no failure. Field by field rather
 * than a memset of the struct, which gcc 12 makes a `rep stos`: 13 ns of a
 * 45 ns bookTicker parse went to its start-up. Every field of zws_md_msg is
 * set here. */
static inline void clear(zws_md_parser *p, zws_md_msg *m)
{
    /* one view at a time: a chain of struct assignments is stored once and
     * loaded back whole for the next, a load that waits for the two
     * halves' stores (a store-forwarding stall: 70 % of this function's
     * samples when the message's lines came from another core) */
    const zws_md_view none = {NULL, 0};
    m->kind = ZWS_MD_NONE;
    m->stream = none;
    m->symbol = none;
    m->result = none;
    m->err_msg = none;
    m->event_time = m->trade_time = m->id = m->first_id = m->last_id = -1;
    m->px = m->qty = 0;
    m->buyer_maker = 0;
    m->buyer_order_id = m->seller_order_id = -1;
    m->bid_px = m->bid_qty = m->ask_px = m->ask_qty = 0;
    m->bids = m->asks = NULL;
    m->nbids = m->nasks = 0;
    m->err_code = 0;
    p->what = NULL;
    p->at = 0;
}

/* The general parser, from the start of the message (cleared). */
static __attribute__((noinline)) int parse_general(zws_md_parser *p, const uint8_t *data,
                                                   size_t len, zws_md_msg *m)
{
    cur c = {(const char *)data, (const char *)data + len, (const char *)data, p, 0, 0, 0};
    if (peek(&c) != '{') {
        int r = skip_value(&c, 0);
        if (r)
            return r;
        if (peek(&c) >= 0)
            return fail(&c, ZWS_MD_ESYNTAX, "bytes after the value");
        c.p = c.start;
        return fail(&c, ZWS_MD_EKIND, "a message is a JSON object");
    }
    uint32_t seen[2] = {0, 0};
    int r = object(&c, m, 0, seen);
    if (r)
        return r;
    if (peek(&c) >= 0)
        return fail(&c, ZWS_MD_ESYNTAX, "bytes after the message");
    uint32_t f = seen[0];
    if (f & (F_STREAM | F_DATA)) {
        if ((f & (F_STREAM | F_DATA)) != (F_STREAM | F_DATA))
            return fail(&c, ZWS_MD_EMISSING, "an envelope needs \"stream\" and \"data\"");
        f = seen[1];
    }
    return classify(&c, m, f);
}

int zws_md_parse(zws_md_parser *p, const uint8_t *data, size_t len, zws_md_msg *out)
{
    clear(p, out);
    p->fast = 0;
    if (len >= FAST_MIN_LEN && (unsigned)p->decimals <= FAST_MAX_DECIMALS) {
#ifdef ZWS_MD_SSSE3
        p->fast = p->simd ? fast_path_ssse3((const char *)data, len, p, out)
                          : fast_path_word((const char *)data, len, p, out);
#else
        p->fast = fast_path_word((const char *)data, len, p, out);
#endif
        if (p->fast)
            return 0;
        /* not in the feed's own order: the general parser, from the start */
        clear(p, out);
    }
    return parse_general(p, data, len, out);
}

const char *zws_md_strerror(int err)
{
    switch (err) {
    case ZWS_MD_OK: return "success";
    case ZWS_MD_ESYNTAX: return "invalid JSON";
    case ZWS_MD_ETYPE: return "a field has the wrong type";
    case ZWS_MD_ERANGE: return "a number out of range";
    case ZWS_MD_EDEPTH: return "nested too deep";
    case ZWS_MD_EDUP: return "duplicate key";
    case ZWS_MD_EMISSING: return "a required field is missing";
    case ZWS_MD_ELEVELS: return "too many price levels";
    case ZWS_MD_EKIND: return "not a market-data message";
    }
    return "unknown error";
}

const char *zws_md_kind_name(enum zws_md_kind k)
{
    static const char *const names[ZWS_MD_KIND_COUNT] = {
        "none", "trade", "aggTrade", "bookTicker", "depthUpdate",
        "depth", "serverShutdown", "result", "error"};
    return (unsigned)k < ZWS_MD_KIND_COUNT ? names[k] : "?";
}
