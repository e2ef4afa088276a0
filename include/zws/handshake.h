/* zws — the opening handshake (RFC 6455 §4): an HTTP/1.1 head parser, the
 * server's and the client's validation, Sec-WebSocket-Key/Accept, and the
 * builders of requests and responses. Sans-I/O: bytes in, bytes out; nothing
 * here allocates or touches a socket.
 *
 * Ownership. Every `const char *` + length pair in a result struct is a view
 * into the caller's input buffer (or, where said, a static string): nothing
 * is copied, nothing is NUL-terminated, and the view is valid only while the
 * caller keeps those bytes unchanged. Header arrays are the caller's.
 *
 * Server flow:
 *
 *     zws_http_header hdrs[64];
 *     zws_http_request req;
 *     int n = zws_http_parse_request(&req, buf, len, hdrs, 64, 0);
 *     if (n == 0) read more, call again with all the bytes so far;
 *     if (n < 0)  answer n == ZWS_ETOOBIG ? 431 : 400 and close;
 *     zws_handshake_request hs;
 *     if (zws_handshake_validate_request(&req, &hs) < 0)
 *         answer hs.status (zws_handshake_build_error) and close;
 *     else answer 101 (zws_handshake_build_response); frames start at buf + n.
 *
 * Client flow: zws_handshake_client_key, zws_handshake_build_request, then
 * zws_http_parse_response on what comes back and
 * zws_handshake_validate_response; frames start at the head's end.
 *
 * Decisions (strict where HTTP allows leniency, since a WebSocket peer never
 * needs it and leniency invites request-smuggling ambiguities):
 *   - Lines end in CRLF only. A bare LF and a bare CR are ZWS_EHTTP.
 *   - No empty lines before the start line; obsolete line folding (a header
 *     line starting with SP or HTAB) is ZWS_EHTTP.
 *   - A status line may omit the SP before an empty reason phrase.
 *   - A server answers HTTP/1.0 with 400 (WebSocket needs HTTP/1.1: an
 *     HTTP/1.0 server must ignore Upgrade), and any major version other than
 *     1 with 505. */
#ifndef ZWS_HANDSHAKE_H
#define ZWS_HANDSHAKE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- HTTP/1.1 heads ------------------------------------------------------ */

#define ZWS_HTTP_MAX_HEAD_DEFAULT 8192 /* bytes of a head, start line to CRLFCRLF */

/* One header field. Parsed: views into the input, the value without its
 * leading and trailing whitespace (possibly empty). As builder input: the
 * caller's strings, not necessarily NUL-terminated. */
typedef struct zws_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} zws_http_header;

typedef struct zws_http_request {
    const char *method;              /* view, e.g. "GET" */
    size_t method_len;
    const char *target;              /* view, e.g. "/chat?room=1" */
    size_t target_len;
    int version_major, version_minor; /* one digit each */
    const zws_http_header *headers;  /* the caller's array, num_headers used */
    size_t num_headers;
    const char *error;               /* on failure: static text, else NULL */
} zws_http_request;

typedef struct zws_http_response {
    int version_major, version_minor;
    int status;                      /* 100-999 */
    const char *reason;              /* view, possibly empty */
    size_t reason_len;
    const zws_http_header *headers;  /* the caller's array, num_headers used */
    size_t num_headers;
    const char *error;               /* on failure: static text, else NULL */
} zws_http_response;

/* Parses the head of an HTTP/1.x request in buf[0..len). Stateless: when it
 * returns 0, call again with the same bytes followed by more.
 * headers: the caller's array of max_headers entries, filled with views.
 * max_head: largest head accepted, in bytes (0: ZWS_HTTP_MAX_HEAD_DEFAULT;
 * values over INT_MAX count as INT_MAX).
 * Returns:
 *   > 0  the head's length (through the empty line): bytes after it are
 *        the body or, after an upgrade, WebSocket frames;
 *   0    incomplete: more bytes needed;
 *   ZWS_EHTTP    malformed (req->error says how) — answer 400;
 *   ZWS_ETOOBIG  the head exceeds max_head (reported as soon as max_head
 *                bytes are buffered without an end), or has more than
 *                max_headers fields — answer 431.
 * A result other than 0 for some bytes is the same for any longer input that
 * starts with them. Fields of *req are meaningful only when > 0 is returned,
 * except error. */
ZWS_EXTERN int zws_http_parse_request(zws_http_request *req, const void *buf,
                                      size_t len, zws_http_header *headers,
                                      size_t max_headers, size_t max_head);

/* The same for the head of a response ("HTTP/1.1 101 Switching Protocols").
 * Returns > 0, 0, ZWS_EHTTP or ZWS_ETOOBIG as above. */
ZWS_EXTERN int zws_http_parse_response(zws_http_response *res, const void *buf,
                                       size_t len, zws_http_header *headers,
                                       size_t max_headers, size_t max_head);

/* First header called name (NUL-terminated, compared without regard to
 * case), or NULL. The result points into headers. */
ZWS_EXTERN const zws_http_header *zws_http_find_header(const zws_http_header *headers,
                                                       size_t n, const char *name);
/* How many headers are called name. */
ZWS_EXTERN size_t zws_http_count_header(const zws_http_header *headers, size_t n,
                                        const char *name);

/* Iterator over the elements of a comma-separated list (RFC 9110 §5.6.1)
 * spread over every header called name, in order: elements come without
 * surrounding whitespace; empty elements are skipped; commas inside
 * quoted-strings do not split. The fields belong to the iterator: set them
 * with zws_http_list_init only. It borrows headers and name (both must stay
 * valid while it is used). */
typedef struct zws_http_list {
    const zws_http_header *headers;
    size_t num_headers;
    const char *name;
    size_t index; /* header being read */
    size_t pos;   /* offset in its value */
} zws_http_list;

ZWS_EXTERN void zws_http_list_init(zws_http_list *it, const zws_http_header *headers,
                                   size_t n, const char *name);
/* Returns 1 with the next element as a view in *elem / *elem_len, 0 at the
 * end, or ZWS_EHTTP for an unterminated quoted-string (the iterator then
 * stays at the end). */
ZWS_EXTERN int zws_http_list_next(zws_http_list *it, const char **elem,
                                  size_t *elem_len);

/* 1 if some element of the lists in the headers called name equals token
 * (NUL-terminated) without regard to case, else 0. A malformed list counts
 * as not containing it. E.g. "Connection: keep-alive, Upgrade" contains
 * "upgrade". */
ZWS_EXTERN int zws_http_has_token(const zws_http_header *headers, size_t n,
                                  const char *name, const char *token);

/* Standard reason phrase for a status code ("Not Found"), or "Unknown".
 * Static string. */
ZWS_EXTERN const char *zws_http_status_text(int status);

/* ---- extension offers (Sec-WebSocket-Extensions, RFC 6455 §9.1) -------- */

#define ZWS_EXT_MAX_PARAMS 8

typedef struct zws_ext_param {
    const char *name;  /* view, a token */
    size_t name_len;
    const char *value; /* view, or NULL when the parameter has no value. A
                          quoted value is given without its quotes; it must
                          be a token, so it never holds escapes. */
    size_t value_len;
} zws_ext_param;

typedef struct zws_ext_offer {
    const char *name;  /* view, a token, e.g. "permessage-deflate" */
    size_t name_len;
    zws_ext_param params[ZWS_EXT_MAX_PARAMS];
    size_t num_params;
} zws_ext_offer;

/* Parses one list element, "name *( ; param [= value] )", whitespace allowed
 * around ';' and '='. Returns 0 with *out filled with views into elem, or
 * ZWS_EHTTP (malformed: empty name or parameter, bad characters, a quoted
 * value that is not a token or holds a backslash) or ZWS_ETOOBIG (more than
 * ZWS_EXT_MAX_PARAMS parameters). */
ZWS_EXTERN int zws_ext_parse(const char *elem, size_t len, zws_ext_offer *out);

/* Next offer from an iterator made with zws_http_list_init(it, headers, n,
 * "Sec-WebSocket-Extensions"). Returns 1 with *out filled, 0 at the end,
 * ZWS_EHTTP or ZWS_ETOOBIG as zws_ext_parse. */
ZWS_EXTERN int zws_ext_next(zws_http_list *it, zws_ext_offer *out);

/* ---- keys ---------------------------------------------------------------- */

#define ZWS_HANDSHAKE_KEY_LEN 24    /* base64 of 16 bytes */
#define ZWS_HANDSHAKE_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* Writes a fresh Sec-WebSocket-Key (16 bytes from OpenSSL's CSPRNG, base64)
 * and a NUL into out. Returns 0 or ZWS_EIO (no randomness available). */
ZWS_EXTERN int zws_handshake_client_key(char out[ZWS_HANDSHAKE_KEY_LEN + 1]);

/* 1 if key[0..len) is base64 (with padding) of exactly 16 bytes, else 0. */
ZWS_EXTERN int zws_handshake_key_valid(const char *key, size_t len);

/* Writes base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) and a
 * NUL into out. Returns 0, ZWS_EINVAL (key longer than 64 bytes), or
 * ZWS_EHANDSHAKE (libcrypto could not compute SHA-1). */
ZWS_EXTERN int zws_handshake_accept_key(const char *key, size_t key_len,
                                        char out[ZWS_HANDSHAKE_ACCEPT_LEN + 1]);

/* ---- server side --------------------------------------------------------- */

/* A request checked by zws_handshake_validate_request. Views into the
 * request's buffer. */
typedef struct zws_handshake_request {
    const char *path;    /* resource name with query, e.g. "/chat?x=1"; for
                            an absolute-form target, its path part (the
                            static string "/" when it has none) */
    size_t path_len;
    const char *host;    /* the Host header */
    size_t host_len;
    const char *origin;  /* the Origin header, or NULL when absent */
    size_t origin_len;
    const char *key;     /* the Sec-WebSocket-Key, 24 characters */
    size_t key_len;
    /* The request's headers, for the offers: iterate "Sec-WebSocket-Protocol"
     * (tokens, checked) with zws_http_list_* or pick one with
     * zws_handshake_select_subprotocol; iterate "Sec-WebSocket-Extensions"
     * (syntax checked) with zws_ext_next. */
    const zws_http_header *headers;
    size_t num_headers;
    int status;          /* 101 when valid, else the status to answer */
    const char *error;   /* on failure: static text for the log or the
                            error body; NULL when valid */
} zws_handshake_request;

/* Checks a parsed request against RFC 6455 §4.2.1. Returns 0 with *out
 * filled and out->status 101, or ZWS_EHANDSHAKE with out->status and
 * out->error saying what to answer:
 *   405  method other than GET (the answer carries Allow: GET)
 *   505  HTTP major version other than 1
 *   400  HTTP/1.0; Host missing, empty or repeated; Origin repeated; a body
 *        (Content-Length other than 0, or Transfer-Encoding); Upgrade
 *        without "websocket"; Connection without "upgrade"; Sec-WebSocket-Key
 *        missing, repeated or not base64 of 16 bytes; a target that is not
 *        a path or an absolute http(s)/ws(s) URI; malformed
 *        Sec-WebSocket-Protocol or Sec-WebSocket-Extensions
 *   426  no Upgrade header at all (a plain HTTP request), or
 *        Sec-WebSocket-Version missing, repeated or not 13 (the answer
 *        carries Upgrade: websocket and Sec-WebSocket-Version: 13)
 * The checks run in that order: method, version, Host, Upgrade, Connection,
 * Sec-WebSocket-Version, Sec-WebSocket-Key, then the rest. */
ZWS_EXTERN int zws_handshake_validate_request(const zws_http_request *req,
                                              zws_handshake_request *out);

/* The first of supported[0..n) (NUL-terminated names, the server's order of
 * preference) that the client offered in Sec-WebSocket-Protocol (compared
 * exactly: subprotocol names are case-sensitive), returned as that
 * supported[] pointer; NULL when none is in common. */
ZWS_EXTERN const char *zws_handshake_select_subprotocol(const zws_handshake_request *r,
                                                        const char *const *supported,
                                                        size_t n);

/* Builders. Each writes an HTTP head into out[0..cap) and returns its length
 * (no NUL is written), ZWS_ENOSPACE when it does not fit (out then holds
 * garbage), or ZWS_EINVAL for bad arguments, checked before anything is
 * written. Extra headers are given as an array of name/value views; a name
 * must be a token, a value must hold no CTL other than HTAB (so no CR, LF or
 * NUL: no header injection), and names the builder writes itself (listed
 * with each) are refused, compared without regard to case. NULL strings
 * below mean "absent", and so does "" for optional values. */

/* The 101 answer: Upgrade: websocket, Connection: Upgrade,
 * Sec-WebSocket-Accept computed from key[0..key_len) (the request's key),
 * Sec-WebSocket-Protocol: protocol (a token) if given,
 * Sec-WebSocket-Extensions: extensions (checked as a header value) if given,
 * then the extra headers. Refused extra names: Upgrade, Connection,
 * Sec-WebSocket-Accept, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions,
 * Content-Length, Transfer-Encoding. ZWS_EHANDSHAKE if SHA-1 failed. */
ZWS_EXTERN int zws_handshake_build_response(char *out, size_t cap, const char *key,
                                            size_t key_len, const char *protocol,
                                            const char *extensions,
                                            const zws_http_header *extra,
                                            size_t n_extra);

/* An error answer with status (200-599) and its standard reason phrase:
 * Content-Type: text/plain; charset=utf-8, Content-Length, Connection: close
 * and a one-line body "<status> <reason>[: <detail>]\n" (detail: NULL or
 * text, e.g. zws_handshake_request.error). 405 adds Allow: GET; 426 adds
 * Upgrade: websocket and Sec-WebSocket-Version: 13 (and its Connection is
 * "Upgrade, close", as a sender of Upgrade must list it). Refused extra
 * names: Content-Type, Content-Length, Transfer-Encoding, Connection, Allow,
 * Upgrade, Sec-WebSocket-Version. The caller closes the connection after
 * sending it. */
ZWS_EXTERN int zws_handshake_build_error(char *out, size_t cap, int status,
                                         const char *detail,
                                         const zws_http_header *extra,
                                         size_t n_extra);

/* ---- client side --------------------------------------------------------- */

/* The upgrade request: "GET <path> HTTP/1.1", Host (host, in brackets when
 * it is an IPv6 literal, with ":port" unless port is 0 or the scheme's
 * default: 443 with tls, 80 without), Upgrade, Connection,
 * Sec-WebSocket-Key: key (from zws_handshake_client_key),
 * Sec-WebSocket-Version: 13, Sec-WebSocket-Protocol listing protocols[0..n)
 * (tokens) if any, Sec-WebSocket-Extensions: extensions if given, Origin:
 * origin if given, then the extra headers.
 * path: "/path?query" (NULL or "" mean "/"); it must start with '/' and hold
 * only visible ASCII (percent-encode the rest). host: a name, an IPv4
 * address, or an IPv6 address with or without brackets; no spaces, CTLs,
 * non-ASCII or "/?#@\". Refused extra names: Host, Upgrade, Connection,
 * Sec-WebSocket-Key, Sec-WebSocket-Version, Sec-WebSocket-Protocol,
 * Sec-WebSocket-Extensions, Origin, Content-Length, Transfer-Encoding. */
ZWS_EXTERN int zws_handshake_build_request(char *out, size_t cap, const char *host,
                                           uint16_t port, int tls, const char *path,
                                           const char *key,
                                           const char *const *protocols,
                                           size_t n_protocols,
                                           const char *extensions,
                                           const char *origin,
                                           const zws_http_header *extra,
                                           size_t n_extra);

/* A response checked by zws_handshake_validate_response. */
typedef struct zws_handshake_response {
    int status;           /* the response's status code */
    const char *protocol; /* view: the subprotocol the server chose, or NULL */
    size_t protocol_len;
    /* The response's headers: iterate "Sec-WebSocket-Extensions" (every
     * name checked to be offered) with zws_ext_next to configure them. */
    const zws_http_header *headers;
    size_t num_headers;
} zws_handshake_response;

/* Checks a parsed response to a request sent with key (NUL-terminated),
 * protocols[0..n_protocols) and extensions (the value sent, or NULL):
 * status 101, Upgrade has "websocket", Connection has "upgrade",
 * Sec-WebSocket-Accept present once and right, at most one subprotocol and
 * one that was offered, every extension named in the response offered, and
 * their syntax. Returns 0 with *out filled, or ZWS_EHANDSHAKE with out->status
 * set and one line in err[0..errlen) (NUL-terminated, truncated to fit; err
 * may be NULL), e.g. "server answered 404 Not Found" (the caller may append
 * a snippet of the body that follows the head), "Sec-WebSocket-Accept
 * mismatch", "server chose subprotocol 'x' that was not offered". */
ZWS_EXTERN int zws_handshake_validate_response(const zws_http_response *res,
                                               const char *key,
                                               const char *const *protocols,
                                               size_t n_protocols,
                                               const char *extensions,
                                               zws_handshake_response *out,
                                               char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
