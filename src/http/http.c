/* HTTP/1.1 heads for the opening handshake: a stateless, allocation-free
 * parser that returns views into the caller's bytes, header lookup, list
 * iteration and extension-offer parsing. */
#include <limits.h>

#include "internal/http.h"

/* Scanner results besides the negative ZWS_E codes. */
enum { NEED = 0, OK = 1 };

/* The scanner reads p[pos..lim): lim is the input length capped at the head
 * limit, so nothing past either is ever read. Every decision depends only on
 * bytes already read, which is what makes a result on a prefix final. */
typedef struct scan {
    const unsigned char *p;
    size_t pos;
    size_t lim;
    const char *error;
} scan;

static int fail(scan *s, const char *why)
{
    s->error = why;
    return ZWS_EHTTP;
}

/* Line ends are CRLF only: accepting a bare LF (or CR) would let two parsers
 * on the path disagree on where a header ends. */
static int crlf(scan *s, const char *junk)
{
    if (s->pos >= s->lim)
        return NEED;
    unsigned char c = s->p[s->pos];
    if (c == '\n')
        return fail(s, "bare LF (lines must end in CRLF)");
    if (c != '\r')
        return fail(s, junk);
    if (s->pos + 1 >= s->lim)
        return NEED;
    if (s->p[s->pos + 1] != '\n')
        return fail(s, "bare CR");
    s->pos += 2;
    return OK;
}

/* "HTTP/" DIGIT "." DIGIT */
static int version(scan *s, int *major, int *minor)
{
    static const char pat[] = "HTTP/0.0";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (s->pos >= s->lim)
            return NEED;
        unsigned char c = s->p[s->pos];
        int ok = pat[i] == '0' ? (c >= '0' && c <= '9') : c == (unsigned char)pat[i];
        if (!ok)
            return fail(s, "bad HTTP version");
        s->pos++;
    }
    *major = s->p[s->pos - 3] - '0';
    *minor = s->p[s->pos - 1] - '0';
    return OK;
}

/* Reads up to the SP that ends a request-line part; accept(c) says which
 * bytes may appear in it. */
static int until_space(scan *s, int (*accept)(unsigned char), const char *bad,
                       const char *empty, size_t *begin)
{
    *begin = s->pos;
    for (;;) {
        if (s->pos >= s->lim)
            return NEED;
        unsigned char c = s->p[s->pos];
        if (c == ' ')
            break;
        if (!accept(c))
            return fail(s, bad);
        s->pos++;
    }
    if (s->pos == *begin)
        return fail(s, empty);
    s->pos++; /* the SP */
    return OK;
}

static int target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

static int method_char(unsigned char c) { return zws__is_tchar(c); }

static int request_line(scan *s, zws_http_request *req)
{
    size_t b;
    int r = until_space(s, method_char, "bad request line (method)",
                        "bad request line (empty method)", &b);
    if (r != OK)
        return r;
    req->method = (const char *)s->p + b;
    req->method_len = s->pos - 1 - b;
    r = until_space(s, target_char, "bad request line (target)",
                    "bad request line (empty target)", &b);
    if (r != OK)
        return r;
    req->target = (const char *)s->p + b;
    req->target_len = s->pos - 1 - b;
    r = version(s, &req->version_major, &req->version_minor);
    if (r != OK)
        return r;
    return crlf(s, "bad request line (junk after the version)");
}

static int status_line(scan *s, zws_http_response *res)
{
    int r = version(s, &res->version_major, &res->version_minor);
    if (r != OK)
        return r;
    const char *bad = "bad status line";
    int status = 0;
    for (int i = 0; i < 4; i++) {
        if (s->pos >= s->lim)
            return NEED;
        unsigned char c = s->p[s->pos++];
        if (i == 0 ? c != ' ' : (c < '0' || c > '9'))
            return fail(s, bad);
        status = i == 0 ? 0 : status * 10 + (c - '0');
    }
    if (status < 100)
        return fail(s, bad);
    res->status = status;
    if (s->pos >= s->lim)
        return NEED;
    /* Some servers send no SP when the reason phrase is empty. */
    if (s->p[s->pos] == ' ')
        s->pos++;
    else if (s->p[s->pos] != '\r' && s->p[s->pos] != '\n')
        return fail(s, bad);
    size_t b = s->pos;
    while (s->pos < s->lim && s->p[s->pos] != '\r' && s->p[s->pos] != '\n') {
        if (!zws__is_vchar_ws(s->p[s->pos]))
            return fail(s, "control character in the reason phrase");
        s->pos++;
    }
    res->reason = (const char *)s->p + b;
    res->reason_len = s->pos - b;
    return crlf(s, bad);
}

static const char *name_error(unsigned char c)
{
    if (zws__is_ows(c))
        return "whitespace before the colon of a header field";
    if (c == '\r' || c == '\n')
        return "header line without a colon";
    return "bad character in a header name";
}

/* field-name ":" OWS field-value OWS CRLF; the value view excludes the OWS. */
static int header_line(scan *s, zws_http_header *h)
{
    size_t b = s->pos;
    for (;;) {
        if (s->pos >= s->lim)
            return NEED;
        unsigned char c = s->p[s->pos];
        if (c == ':')
            break;
        if (!zws__is_tchar(c))
            return fail(s, name_error(c));
        s->pos++;
    }
    if (s->pos == b)
        return fail(s, "empty header name");
    h->name = (const char *)s->p + b;
    h->name_len = s->pos - b;
    s->pos++;
    while (s->pos < s->lim && zws__is_ows(s->p[s->pos]))
        s->pos++;
    size_t vb = s->pos, ve = s->pos;
    for (;;) {
        if (s->pos >= s->lim)
            return NEED;
        unsigned char c = s->p[s->pos];
        if (c == '\r' || c == '\n')
            break;
        if (!zws__is_vchar_ws(c))
            return fail(s, "control character in a header value");
        s->pos++;
        if (!zws__is_ows(c))
            ve = s->pos;
    }
    h->value = (const char *)s->p + vb;
    h->value_len = ve - vb;
    return crlf(s, "bad header line");
}

static int header_fields(scan *s, zws_http_header *h, size_t max, size_t *count)
{
    for (;;) {
        if (s->pos >= s->lim)
            return NEED;
        unsigned char c = s->p[s->pos];
        if (c == '\r' || c == '\n')
            return crlf(s, "bad header line"); /* the empty line: the end */
        if (zws__is_ows(c))
            return fail(s, "obsolete line folding");
        if (*count == max) {
            s->error = "too many header fields";
            return ZWS_ETOOBIG;
        }
        int r = header_line(s, &h[*count]);
        if (r != OK)
            return r;
        (*count)++;
    }
}

static size_t head_limit(size_t max_head)
{
    if (max_head == 0)
        return ZWS_HTTP_MAX_HEAD_DEFAULT;
    return max_head > INT_MAX ? INT_MAX : max_head;
}

/* Incomplete after limit bytes means the head cannot fit: report it now
 * rather than let a peer make us buffer more. */
static int finish(scan *s, int r, size_t len, size_t limit, const char **error)
{
    if (r == OK)
        return (int)s->pos;
    if (r == NEED) {
        if (len < limit)
            return 0;
        *error = "HTTP head too large";
        return ZWS_ETOOBIG;
    }
    *error = s->error;
    return r;
}

int zws_http_parse_request(zws_http_request *req, const void *buf, size_t len,
                           zws_http_header *headers, size_t max_headers,
                           size_t max_head)
{
    size_t limit = head_limit(max_head);
    scan s = {buf, 0, len < limit ? len : limit, NULL};
    req->error = NULL;
    req->headers = headers;
    req->num_headers = 0;
    int r = request_line(&s, req);
    if (r == OK)
        r = header_fields(&s, headers, max_headers, &req->num_headers);
    return finish(&s, r, len, limit, &req->error);
}

int zws_http_parse_response(zws_http_response *res, const void *buf, size_t len,
                            zws_http_header *headers, size_t max_headers,
                            size_t max_head)
{
    size_t limit = head_limit(max_head);
    scan s = {buf, 0, len < limit ? len : limit, NULL};
    res->error = NULL;
    res->headers = headers;
    res->num_headers = 0;
    int r = status_line(&s, res);
    if (r == OK)
        r = header_fields(&s, headers, max_headers, &res->num_headers);
    return finish(&s, r, len, limit, &res->error);
}

/* ---- lookup and lists ---- */

static int is_named(const zws_http_header *h, const char *name)
{
    return zws__ieq(h->name, h->name_len, name);
}

const zws_http_header *zws_http_find_header(const zws_http_header *headers, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (is_named(&headers[i], name))
            return &headers[i];
    return NULL;
}

size_t zws_http_count_header(const zws_http_header *headers, size_t n, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)is_named(&headers[i], name);
    return k;
}

static void list_seek(zws_http_list *it)
{
    while (it->index < it->num_headers && !is_named(&it->headers[it->index], it->name))
        it->index++;
}

void zws_http_list_init(zws_http_list *it, const zws_http_header *headers, size_t n,
                        const char *name)
{
    it->headers = headers;
    it->num_headers = n;
    it->name = name;
    it->index = 0;
    it->pos = 0;
    list_seek(it);
}

/* One element of v[*pos..len): 1, 0 when only separators remain, or
 * ZWS_EHTTP for an unterminated quoted-string. Quoted-strings are skipped as
 * a whole (escapes included) because they may hold commas. */
static int list_elem(const char *v, size_t len, size_t *pos, const char **e, size_t *elen)
{
    size_t i = *pos;
    while (i < len && (v[i] == ',' || zws__is_ows((unsigned char)v[i])))
        i++;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    size_t b = i, end = i;
    while (i < len && v[i] != ',') {
        if (v[i] == '"') {
            for (i++; i < len && v[i] != '"'; i++)
                if (v[i] == '\\')
                    i++;
            if (i >= len)
                return ZWS_EHTTP;
            end = ++i;
            continue;
        }
        if (!zws__is_ows((unsigned char)v[i]))
            end = i + 1;
        i++;
    }
    *e = v + b;
    *elen = end - b;
    *pos = i;
    return 1;
}

int zws_http_list_next(zws_http_list *it, const char **elem, size_t *elem_len)
{
    while (it->index < it->num_headers) {
        const zws_http_header *h = &it->headers[it->index];
        int r = list_elem(h->value, h->value_len, &it->pos, elem, elem_len);
        if (r < 0)
            it->index = it->num_headers;
        if (r != 0)
            return r;
        it->index++;
        it->pos = 0;
        list_seek(it);
    }
    return 0;
}

int zws_http_has_token(const zws_http_header *headers, size_t n, const char *name,
                       const char *token)
{
    zws_http_list it;
    const char *e;
    size_t len;
    zws_http_list_init(&it, headers, n, name);
    while (zws_http_list_next(&it, &e, &len) > 0)
        if (zws__ieq(e, len, token))
            return 1;
    return 0;
}

const char *zws_http_status_text(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- extension offers ---- */

static size_t skip_ows(const char *s, size_t len, size_t i)
{
    while (i < len && zws__is_ows((unsigned char)s[i]))
        i++;
    return i;
}

static size_t skip_token(const char *s, size_t len, size_t i)
{
    while (i < len && zws__is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* token [ "=" ( token / quoted-string ) ]. RFC 6455 §9.1 requires a quoted
 * value to be a token once unescaped; refusing escapes lets the value be a
 * plain view. */
static int ext_param(const char *e, size_t len, size_t *pos, zws_ext_param *p)
{
    size_t b = *pos, i = skip_token(e, len, *pos);
    if (i == b)
        return ZWS_EHTTP;
    p->name = e + b;
    p->name_len = i - b;
    p->value = NULL;
    p->value_len = 0;
    size_t j = skip_ows(e, len, i);
    if (j >= len || e[j] != '=') {
        *pos = i;
        return 0;
    }
    j = skip_ows(e, len, j + 1);
    int quoted = j < len && e[j] == '"';
    b = j + (size_t)quoted;
    j = skip_token(e, len, b);
    if (j == b)
        return ZWS_EHTTP;
    p->value = e + b;
    p->value_len = j - b;
    if (quoted) {
        if (j >= len || e[j] != '"')
            return ZWS_EHTTP;
        j++;
    }
    *pos = j;
    return 0;
}

int zws_ext_parse(const char *elem, size_t len, zws_ext_offer *out)
{
    size_t i = skip_token(elem, len, 0);
    out->num_params = 0;
    out->name = elem;
    out->name_len = i;
    if (i == 0)
        return ZWS_EHTTP;
    for (;;) {
        i = skip_ows(elem, len, i);
        if (i >= len)
            return 0;
        if (elem[i] != ';')
            return ZWS_EHTTP;
        if (out->num_params == ZWS_EXT_MAX_PARAMS)
            return ZWS_ETOOBIG;
        i = skip_ows(elem, len, i + 1);
        int r = ext_param(elem, len, &i, &out->params[out->num_params]);
        if (r < 0)
            return r;
        out->num_params++;
    }
}

int zws_ext_next(zws_http_list *it, zws_ext_offer *out)
{
    const char *e;
    size_t len;
    int r = zws_http_list_next(it, &e, &len);
    if (r <= 0)
        return r;
    r = zws_ext_parse(e, len, out);
    return r < 0 ? r : 1;
}
