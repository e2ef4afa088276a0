/* Transport: a byte pipe over a TCP socket, plain or OpenSSL TLS, plus TCP
 * connect/listen/accept helpers and HTTP proxy CONNECT. No WebSocket logic.
 *
 * Timeouts. Every call that may wait takes timeout_ms: -1 waits for ever
 * (blocking use), 0 never waits (non-blocking use: ZWS_EAGAIN, and
 * t->want says whether to wait for POLLIN or POLLOUT), > 0 waits up to that
 * many milliseconds (ZWS_ETIMEDOUT). Sockets are always O_NONBLOCK
 * underneath; blocking behaviour is a poll() when the kernel says EAGAIN, so
 * the one mode costs nothing when data is already there.
 *
 * SIGPIPE. Never raised, and the process's signal disposition is never
 * touched: plain writes use sendmsg(MSG_NOSIGNAL); TLS goes through a small
 * custom OpenSSL BIO whose write is send(MSG_NOSIGNAL) (OpenSSL's socket BIO
 * uses write(), which raises SIGPIPE on a reset connection). A write to a
 * closed peer fails with ZWS_EIO ("Broken pipe").
 *
 * Error text. Functions that set up a connection (connect, listen, accept,
 * TLS handshakes, CONNECT) fill err[errlen] (may be NULL) with one line,
 * e.g. "connect to 127.0.0.1:9: Connection refused". read/writev do not take
 * a buffer (they run per message): on failure they record errno / the
 * OpenSSL error in the transport, and zws__transport_errmsg() formats it. */
#ifndef ZWS_INTERNAL_TRANSPORT_H
#define ZWS_INTERNAL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "zws/common.h"
#include "zws/url.h"
#include "internal/wait.h"

struct ssl_st;     /* OpenSSL SSL */
struct ssl_ctx_st; /* OpenSSL SSL_CTX */

#define ZWS__FOREVER (-1)

/* What only some transports need, in an allocation of its own so a plain
 * connection of the event loop carries none of it: the TLS state, and the
 * syscall counters of the blocking connections (zws__transport_count). */
typedef struct zws__transport_x {
    struct ssl_st *ssl;     /* NULL for plain TCP */
    unsigned char *stage;   /* TLS writev gather buffer (lazily allocated) */
    size_t wretry;          /* length of an SSL_write that must be retried */
    unsigned long last_ssl; /* ERR_get_error() of the last failure, or 0 */
    uint64_t nreads;        /* recv / send calls on a plain socket (for */
    uint64_t nwrites;       /* syscalls-per-message benchmarks) */
    uint8_t tls_dead;       /* fatal TLS error seen: no close_notify */
    uint8_t handshaking;    /* non-blocking TLS handshake in progress */
    uint8_t drained;        /* TLS: the last recv() found the socket empty */
} zws__transport_x;

typedef struct zws__transport { /* 16 bytes: every idle connection has one */
    int fd;                 /* -1 when not connected */
    int16_t last_errno;     /* errno of the last failure, or 0 */
    uint8_t want;           /* after ZWS_EAGAIN: POLLIN or POLLOUT */
    uint8_t eof;            /* the peer closed (ZWS_ECLOSED was returned) */
    zws__transport_x *x;    /* TLS or counted, else NULL (freed by close) */
} zws__transport;

/* The TLS session (SSL *), or NULL for plain TCP. */
static inline struct ssl_st *zws__transport_ssl(const zws__transport *t)
{
    return t->x ? t->x->ssl : NULL;
}
/* The extra state, made now if there is none: NULL when out of memory. */
zws__transport_x *zws__transport_ext(zws__transport *t);
/* Counts recv / send calls on the plain socket from now on (x->nreads,
 * x->nwrites). 0 or ZWS_ENOMEM. */
int zws__transport_count(zws__transport *t);

/* ---- sockets ---- */

/* Resolves host (name, IPv4 or IPv6 literal without brackets) and connects
 * to each address in turn until one answers, within timeout_ms in all (each
 * attempt gets an equal share of what is left, the last one all of it;
 * name resolution itself is not bounded: getaddrinfo has no timeout). The
 * socket is O_NONBLOCK, close-on-exec, TCP_NODELAY. Returns 0 with *fd_out,
 * ZWS_ERESOLVE, ZWS_ECONNECT (message from the last address tried),
 * ZWS_ETIMEDOUT, ZWS_EINVAL. */
int zws__tcp_connect(int *fd_out, const char *host, uint16_t port, int timeout_ms,
                     char *err, size_t errlen);

#define ZWS__LISTEN_REUSEPORT 0x1u /* SO_REUSEPORT: several listeners share
                                      the port (one per loop thread) */

/* Listening socket on host:port. host NULL: every address, IPv6 and IPv4 on
 * one dual-stack [::] socket (IPV6_V6ONLY off), or 0.0.0.0 where IPv6 is
 * unavailable; otherwise the first address host resolves to that binds.
 * SO_REUSEADDR always; port 0 picks a free port, reported in *bound (may be
 * NULL). The socket is O_NONBLOCK and close-on-exec. Returns 0 with
 * *fd_out, ZWS_ERESOLVE, ZWS_EIO (bind/listen failed, e.g. "Address already
 * in use"). */
int zws__tcp_listen(int *fd_out, const char *host, uint16_t port, unsigned flags,
                    uint16_t *bound, char *err, size_t errlen);

/* Unix domain stream sockets: connect to the socket file path (within
 * timeout_ms), or listen on it. Listening refuses a path where a server
 * answers (ZWS_EIO, "in use") and replaces a stale socket file nobody
 * listens on; the caller removes the file when done. Same returns as the
 * TCP calls (no ZWS_ERESOLVE). */
int zws__unix_connect(int *fd_out, const char *path, int timeout_ms, char *err,
                      size_t errlen);
int zws__unix_listen(int *fd_out, const char *path, char *err, size_t errlen);

/* Accepts one connection on lfd, waiting up to timeout_ms. The new socket
 * is O_NONBLOCK, close-on-exec, TCP_NODELAY; the caller owns it. Aborted
 * handshakes (ECONNABORTED) and EINTR are retried. Returns 0 with *fd_out,
 * ZWS_EAGAIN (timeout 0), ZWS_ETIMEDOUT, ZWS_EIO (e.g. out of descriptors). */
int zws__tcp_accept(int lfd, int *fd_out, int timeout_ms, char *err, size_t errlen);

/* ---- TLS contexts (create once, share between connections) ---- */

/* Client context: TLS 1.2+, the system CA store (default verify paths) plus
 * ca_file (PEM, may be NULL), peer verification on unless insecure, ALPN
 * "http/1.1". Loading the system store parses a few hundred certificates:
 * share the context (SSL_CTX is reference counted and thread safe to use).
 * Returns 0 with *out (free with zws__tls_ctx_free), ZWS_ETLS, ZWS_ENOMEM. */
int zws__tls_client_ctx(struct ssl_ctx_st **out, const char *ca_file, int insecure,
                        char *err, size_t errlen);
/* A client certificate chain and key (PEM) for servers that ask for one
 * (mutual TLS), on a context of zws__tls_client_ctx's. On failure the
 * context is freed and *ctx set to NULL. 0 or ZWS_ETLS. */
int zws__tls_client_cert(struct ssl_ctx_st **ctx, const char *cert_file,
                         const char *key_file, char *err, size_t errlen);

/* Server context: TLS 1.2+, certificate chain and private key from PEM
 * files (checked to match), ALPN "http/1.1" selected when offered (a client
 * offering only other protocols gets no ALPN rather than a failure).
 * Returns 0 with *out, ZWS_ETLS, ZWS_ENOMEM. */
int zws__tls_server_ctx(struct ssl_ctx_st **out, const char *cert_file,
                        const char *key_file, char *err, size_t errlen);

void zws__tls_ctx_free(struct ssl_ctx_st *ctx);

/* ---- the transport ---- */

/* Takes ownership of a connected socket (sets O_NONBLOCK). Plain until a
 * TLS handshake succeeds. Cannot fail for a valid fd. */
void zws__transport_init(zws__transport *t, int fd);

/* TLS client handshake over t within timeout_ms. With timeout 0 it may
 * return ZWS_EAGAIN (t->want says what to wait for): call it again, with the
 * same arguments, when the socket is ready. host (NUL-terminated, no
 * brackets) is sent as SNI unless it is an IP literal, and the certificate
 * must match it (DNS name, or IP address for literals) unless ctx is
 * insecure. NULL host: no SNI and no name check. On failure t stays plain
 * and still owns its socket. Returns 0, ZWS_ETLS ("TLS: certificate verify
 * failed: hostname mismatch ..."), ZWS_ETIMEDOUT, ZWS_ECLOSED (peer closed
 * during the handshake), ZWS_EIO, ZWS_ENOMEM. */
int zws__transport_tls_client(zws__transport *t, struct ssl_ctx_st *ctx,
                              const char *host, int timeout_ms, char *err,
                              size_t errlen);

/* TLS server handshake, as above. */
int zws__transport_tls_server(zws__transport *t, struct ssl_ctx_st *ctx,
                              int timeout_ms, char *err, size_t errlen);

/* The ALPN protocol agreed on ("" when none or plain). Valid while t is. */
const char *zws__transport_alpn(const zws__transport *t, size_t *len);

/* Reads up to cap bytes straight into buf (the caller's own buffer: no
 * intermediate copy on plain sockets). Returns the count (> 0),
 * ZWS_EAGAIN, ZWS_ETIMEDOUT, ZWS_ECLOSED (orderly EOF; for TLS also an EOF
 * without close_notify: WebSocket's close frame detects truncation),
 * ZWS_EIO (e.g. connection reset), ZWS_ETLS. cap 0 returns ZWS_EINVAL. */
ptrdiff_t zws__transport_read(zws__transport *t, void *buf, size_t cap, int timeout_ms);

/* Writes the iovecs in order. Returns the number of bytes written, which is
 * everything unless timeout_ms is 0 or the timeout passed first (then it is
 * short); when nothing could be written, ZWS_EAGAIN (timeout 0) or
 * ZWS_ETIMEDOUT. Errors: ZWS_EIO (peer gone: EPIPE/ECONNRESET), ZWS_ETLS.
 * After a short count or ZWS_EAGAIN, the next call must start with the
 * bytes not yet written (same content; the iovec boundaries may differ)
 * and, for TLS, offer at least as many of them as that call had left:
 * OpenSSL resends the record it already built (ZWS_EINVAL otherwise).
 * Simplest: always offer everything that is pending.
 * TLS: small iovecs are gathered into one 16 KiB buffer so a batch of small
 * frames becomes one record and one send; iovecs of 2 KiB or more go to
 * SSL_write from the caller's memory, 16 KiB (one record) per call. */
ptrdiff_t zws__transport_writev(zws__transport *t, const struct iovec *iov, int iovcnt,
                                int timeout_ms);

/* Writes all of buf[0..len) within timeout_ms (-1: for ever). Returns 0 or
 * ZWS_ETIMEDOUT (some bytes may have gone), ZWS_EIO, ZWS_ETLS. */
int zws__transport_write_all(zws__transport *t, const void *buf, size_t len,
                             int timeout_ms);

/* Decrypted bytes buffered inside OpenSSL, readable without the socket
 * becoming readable (0 for plain). */
size_t zws__transport_pending(const zws__transport *t);

/* Ends our direction: TLS close_notify (best effort within timeout_ms, not
 * waiting for the peer's), then shutdown(SHUT_WR). Reading stays possible.
 * Returns 0, or ZWS_EIO / ZWS_ETIMEDOUT when close_notify could not go. */
int zws__transport_shutdown(zws__transport *t, int timeout_ms);

/* Frees the TLS state and closes the socket; t may be closed again. */
void zws__transport_close(zws__transport *t);

/* One line about rc, the failure t last returned from read/writev/shutdown
 * (e.g. "read: Connection reset by peer", "TLS: decryption failed"). */
void zws__transport_errmsg(const zws__transport *t, int rc, char *err, size_t errlen);

/* ---- proxies ---- */

typedef struct zws__proxy_env {
    const char *http_proxy;  /* for ws:// targets; NULL or "" for none */
    const char *https_proxy; /* for wss:// targets */
    const char *no_proxy;    /* exclusions, see zws__no_proxy_match */
} zws__proxy_env;

/* Reads http_proxy, https_proxy, no_proxy from the environment, the
 * lower-case name first, then the upper-case one. HTTP_PROXY is ignored
 * when REQUEST_METHOD is set (a CGI program: a client's "Proxy:" header
 * arrives as HTTP_PROXY, the "httpoxy" hole). The strings belong to the
 * environment. */
void zws__proxy_env_read(zws__proxy_env *env);

/* Pure: the proxy URL that applies to target (https_proxy for secure
 * targets, http_proxy otherwise) unless no_proxy excludes it; NULL when none
 * does. The result is one of env's strings. */
const char *zws__proxy_select(const zws__proxy_env *env, const zws_url *target);

/* Pure: 1 if no_proxy excludes host[0..host_len) (no brackets) at port.
 * no_proxy is a list separated by commas or spaces, compared without case:
 *   "*"                    everything
 *   "example.com", ".example.com", "*.example.com"
 *                          that host and every name under it
 *   "host:port", "[::1]:8080"
 *                          that host on that port only (no port: any port)
 *   "10.0.0.0/8", "fd00::/8"
 *                          addresses in a CIDR block (IP literal hosts only)
 * IP literals match exactly (after normalising), never as suffixes. A
 * trailing dot on a name is ignored. */
int zws__no_proxy_match(const char *no_proxy, const char *host, size_t host_len,
                        uint16_t port);

/* Over fd, already connected to the proxy: sends "CONNECT host:port
 * HTTP/1.1" for target with Host and, when proxy has userinfo,
 * Proxy-Authorization: Basic (user and password percent-decoded), then
 * reads the response head (at most 8 KiB, not one byte past it, so the
 * tunnel starts clean) within timeout_ms. Returns 0 when the proxy answered
 * 2xx; ZWS_EPROXY with the status line in err for any other status, a
 * malformed or oversized answer, an EOF or a socket error; ZWS_ETIMEDOUT;
 * ZWS_EINVAL. */
int zws__proxy_connect(int fd, const zws_url *proxy, const zws_url *target,
                       int timeout_ms, char *err, size_t errlen);

/* ---- all of it ---- */

typedef struct zws__connect_opts {
    const char *proxy;          /* proxy URL; NULL: from the environment
                                   (zws__proxy_env_read); "": no proxy */
    int connect_timeout_ms;     /* TCP connect + proxy CONNECT, one deadline */
    int tls_timeout_ms;         /* TLS handshake, and what follows it: the
                                   deadline starts once TCP is connected */
    struct ssl_ctx_st *tls_ctx; /* client context, required for wss */
    int64_t *deadline_out;      /* if set: receives that deadline (-1: none),
                                   for the HTTP upgrade to share */
} zws__connect_opts;

/* Connects t to the URL's host and port, through a proxy when one applies,
 * and runs the TLS handshake for wss (SNI and name check against the URL's
 * host). Returns 0 or ZWS_EINVAL (wss without a context), ZWS_ERESOLVE,
 * ZWS_ECONNECT, ZWS_ETIMEDOUT, ZWS_EPROXY (a bad proxy URL, an unreachable
 * proxy, or a refused CONNECT), ZWS_ETLS, ZWS_EIO, ZWS_ENOMEM, with one line
 * in err. On failure t holds nothing. */
int zws__transport_connect(zws__transport *t, const zws_url *u,
                           const zws__connect_opts *o, char *err, size_t errlen);

#endif
