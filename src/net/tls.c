/* Transport, TLS half: contexts, a send(MSG_NOSIGNAL) BIO, handshakes with
 * clear verification errors, and read/writev/shutdown over OpenSSL. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal/alloc.h"
#include "internal/tls.h"
#include "internal/transport.h"

/* Plaintext of one full TLS record: the unit writev gathers into. */
#define STAGE_CAP 16384

static const unsigned char alpn_http11[] = "\x08http/1.1";
#define ALPN_LEN (sizeof alpn_http11 - 1)

/* ---- a socket BIO that cannot raise SIGPIPE ----
 * OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when
 * the peer has reset the connection; there is no per-socket way to stop
 * that on Linux (SO_NOSIGPIPE is BSD) short of changing the process's
 * disposition, which a library must not do. This BIO is the same thing
 * with send(MSG_NOSIGNAL) and recv(). The BIO's data is the transport
 * (which owns and closes the fd); a short recv() marks it drained, which
 * tells an edge-triggered loop that the socket was empty. */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static zws__transport *bio_tr(BIO *b) { return BIO_get_data(b); }
static int bio_fd(BIO *b) { return bio_tr(b)->fd; }

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = send(bio_fd(b), data, len, MSG_NOSIGNAL);
        if (n >= 0) {
            *written = (size_t)n;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        *written = 0;
        return 0;
    }
}

static int bio_read(BIO *b, char *data, size_t len, size_t *readbytes)
{
    BIO_clear_retry_flags(b);
    *readbytes = 0;
    for (;;) {
        ssize_t n = recv(bio_fd(b), data, len, 0);
        if (n > 0) {
            *readbytes = (size_t)n;
            bio_tr(b)->x->drained = (size_t)n < len;
            return 1;
        }
        if (n == 0) {
            /* OpenSSL asks BIO_eof() to tell EOF from an error. */
            BIO_set_flags(b, BIO_FLAGS_IN_EOF);
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_read(b);
            bio_tr(b)->x->drained = 1;
        }
        return 0;
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* nothing is buffered here */
        return 1;
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_C_GET_FD:
        if (ptr)
            *(int *)ptr = bio_fd(b);
        return bio_fd(b);
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
                                     BIO_TYPE_DESCRIPTOR,
                                 "zws socket");
    if (!m)
        return;
    if (!BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
}

/* ---- contexts ---- */

/* The text of an OpenSSL error code: its reason, e.g. "wrong version
 * number", falling back to the full error string. */
static const char *ssl_reason(unsigned long code, char *buf, size_t cap)
{
    const char *r = code ? ERR_reason_error_string(code) : NULL;
    if (r)
        return r;
    if (!code)
        return "unknown error";
    ERR_error_string_n(code, buf, cap);
    return buf;
}

static int ctx_fail(SSL_CTX *ctx, char *err, size_t errlen, const char *what,
                    const char *path)
{
    char buf[256];
    unsigned long code = ERR_peek_last_error();
    zws__errf(err, errlen, "TLS: %s %s: %s", what, path, ssl_reason(code, buf, sizeof buf));
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return ZWS_ETLS;
}

static int ctx_new(SSL_CTX **out, const SSL_METHOD *method, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx) {
        ERR_clear_error();
        zws__errf(err, errlen, "TLS: cannot create a context (out of memory)");
        return ZWS_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* PARTIAL_WRITE: SSL_write returns once a record is out, so
     * non-blocking writes make progress record by record. MOVING_BUFFER: a
     * retried write may come from another address (the caller's memory
     * after our gather buffer, or the reverse) with the same bytes. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS); /* idle: no record buffers */
    /* Peers often close TCP without close_notify; WebSocket's close frame
     * already detects truncation, so such an EOF is an ordinary close. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    /* Read whole socket buffers, not 5-byte record headers then bodies:
     * half the read syscalls for a stream of small records. */
    SSL_CTX_set_read_ahead(ctx, 1);
    *out = ctx;
    return 0;
}

int zws__tls_client_ctx(SSL_CTX **out, const char *ca_file, int insecure, char *err,
                        size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx;
    int rc = ctx_new(&ctx, TLS_client_method(), err, errlen);
    if (rc)
        return rc;
    if (!insecure) {
        /* A missing system store is not fatal: ca_file may be all we need. */
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            ERR_clear_error();
        if (ca_file && SSL_CTX_load_verify_file(ctx, ca_file) != 1)
            return ctx_fail(ctx, err, errlen, "cannot load CA file", ca_file);
    }
    SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_alpn_protos(ctx, alpn_http11, ALPN_LEN) != 0) /* 0 is success */
        return ctx_fail(ctx, err, errlen, "cannot set", "ALPN");
    *out = ctx;
    return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, alpn_http11, ALPN_LEN, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The certificate chain and key ctx presents; frees ctx on failure. */
static int use_cert(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err,
                    size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
        return ctx_fail(ctx, err, errlen, "cannot load certificate", cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
        return ctx_fail(ctx, err, errlen, "cannot load private key", key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(ctx, err, errlen, "private key does not match certificate",
                        cert_file);
    return 0;
}

int zws__tls_client_cert(SSL_CTX **ctx, const char *cert_file, const char *key_file,
                         char *err, size_t errlen)
{
    int rc = use_cert(*ctx, cert_file, key_file, err, errlen);
    if (rc)
        *ctx = NULL; /* use_cert freed it */
    return rc;
}

int zws__tls_server_ctx(SSL_CTX **out, const char *cert_file, const char *key_file,
                        char *err, size_t errlen)
{
    *out = NULL;
    if (!cert_file || !key_file) {
        zws__errf(err, errlen, "TLS: a server needs a certificate and a key file");
        return ZWS_EINVAL;
    }
    SSL_CTX *ctx;
    int rc = ctx_new(&ctx, TLS_server_method(), err, errlen);
    if (rc)
        return rc;
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if ((rc = use_cert(ctx, cert_file, key_file, err, errlen)) != 0)
        return rc;
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    *out = ctx;
    return 0;
}

void zws__tls_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

/* ---- handshakes ---- */

/* SNI and the name the certificate must carry. IP literals get neither SNI
 * (RFC 6066 forbids it) nor a DNS check, but an IP address check. */
static int set_peer_name(SSL *ssl, const char *host)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
        return -1;
    return 0;
}

static int hs_setup(zws__transport *t, SSL_CTX *ctx, const char *host, int server,
                    char *err, size_t errlen)
{
    pthread_once(&bio_once, make_bio_method);
    zws__transport_x *x = zws__transport_ext(t);
    SSL *ssl = bio_method && x ? SSL_new(ctx) : NULL;
    BIO *b = ssl ? BIO_new(bio_method) : NULL;
    if (!b) {
        SSL_free(ssl);
        ERR_clear_error();
        zws__errf(err, errlen, "TLS: out of memory");
        return ZWS_ENOMEM;
    }
    BIO_set_data(b, t); /* t stays where it is while the SSL lives */
    SSL_set_bio(ssl, b, b);
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    if (!server && host && *host && set_peer_name(ssl, host) != 0) {
        SSL_free(ssl);
        ERR_clear_error();
        zws__errf(err, errlen, "TLS: cannot use '%s' as the peer's name", host);
        return ZWS_ETLS;
    }
    x->ssl = ssl;
    x->handshaking = 1;
    return 0;
}

static const char *verify_hint(long vr)
{
    switch (vr) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return " (unknown CA: pass its certificate as a CA file)";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return " (check the clock, or renew the certificate)";
    default:
        return "";
    }
}

/* The message and code for a failed handshake: verification first (the
 * most common failure, and the one a person can act on), then the peer
 * closing, then OpenSSL's reason. */
static int hs_error(zws__transport *t, int e, int saved_errno, const char *host,
                    char *err, size_t errlen)
{
    SSL *ssl = t->x->ssl;
    long vr = SSL_get_verify_result(ssl);
    if (!SSL_is_server(ssl) && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) &&
        vr != X509_V_OK) {
        const char *what = X509_verify_cert_error_string(vr);
        if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
            zws__errf(err, errlen,
                      "TLS: certificate verify failed: %s (the certificate is not "
                      "for %s)", what, host ? host : "?");
        else
            zws__errf(err, errlen, "TLS: certificate verify failed: %s%s", what,
                      verify_hint(vr));
        ERR_clear_error();
        return ZWS_ETLS;
    }
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !code && !saved_errno) ||
        ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        zws__errf(err, errlen, "TLS handshake: connection closed by peer");
        return ZWS_ECLOSED;
    }
    if (e == SSL_ERROR_SYSCALL && !code) {
        zws__errf(err, errlen, "TLS handshake: %s", strerror(saved_errno));
        return ZWS_EIO;
    }
    char buf[256];
    const char *hint = ERR_GET_REASON(code) == SSL_R_WRONG_VERSION_NUMBER
                           ? " (is the peer speaking TLS on this port?)"
                           : "";
    zws__errf(err, errlen, "TLS handshake failed: %s%s",
              ssl_reason(code, buf, sizeof buf), hint);
    return ZWS_ETLS;
}

static int hs_run(zws__transport *t, const char *host, int timeout_ms, char *err,
                  size_t errlen)
{
    int64_t deadline = -2;
    int rc;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_do_handshake(t->x->ssl);
        if (r == 1) {
            t->x->handshaking = 0;
            return 0;
        }
        int saved = errno, e = SSL_get_error(t->x->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            rc = hs_error(t, e, saved, host, err, errlen);
            break;
        }
        rc = zws__transport_wait(t, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                                 timeout_ms, &deadline);
        if (rc == ZWS_EAGAIN)
            return rc; /* resumable: the SSL kept, handshaking still set */
        if (rc == ZWS_ETIMEDOUT) {
            zws__errf(err, errlen, "TLS handshake timed out after %d ms", timeout_ms);
            break;
        }
        if (rc) {
            zws__errf(err, errlen, "TLS handshake: poll: %s", strerror(errno));
            break;
        }
    }
    zws__tls_free(t);
    return rc;
}

static int handshake(zws__transport *t, SSL_CTX *ctx, const char *host, int server,
                     int timeout_ms, char *err, size_t errlen)
{
    SSL *ssl = zws__transport_ssl(t);
    if (t->fd < 0 || !ctx || (ssl && !t->x->handshaking)) {
        zws__errf(err, errlen, "TLS: no socket, no context, or TLS already on");
        return ZWS_EINVAL;
    }
    if (!ssl) {
        int rc = hs_setup(t, ctx, host, server, err, errlen);
        if (rc)
            return rc;
    }
    return hs_run(t, host, timeout_ms, err, errlen);
}

int zws__transport_tls_client(zws__transport *t, SSL_CTX *ctx, const char *host,
                              int timeout_ms, char *err, size_t errlen)
{
    return handshake(t, ctx, host, 0, timeout_ms, err, errlen);
}

int zws__transport_tls_server(zws__transport *t, SSL_CTX *ctx, int timeout_ms,
                              char *err, size_t errlen)
{
    return handshake(t, ctx, NULL, 1, timeout_ms, err, errlen);
}

const char *zws__transport_alpn(const zws__transport *t, size_t *len)
{
    const unsigned char *p = NULL;
    unsigned n = 0;
    SSL *ssl = zws__transport_ssl(t);
    if (ssl && !t->x->handshaking)
        SSL_get0_alpn_selected(ssl, &p, &n);
    *len = n;
    return p ? (const char *)p : "";
}

size_t zws__transport_pending(const zws__transport *t)
{
    SSL *ssl = zws__transport_ssl(t);
    if (!ssl || t->x->handshaking)
        return 0;
    int n = SSL_pending(ssl);
    if (n > 0)
        return (size_t)n;
    /* read-ahead may hold whole records not yet decrypted */
    return SSL_has_pending(ssl) ? 1 : 0;
}

/* ---- I/O ---- */

/* Maps a failed SSL_read/SSL_write/SSL_shutdown to a code, recording why. */
static int io_fail(zws__transport *t, int e, int saved_errno)
{
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->eof = 1;
        return ZWS_ECLOSED;
    }
    /* After SYSCALL or SSL errors OpenSSL forbids SSL_shutdown. */
    t->x->tls_dead = 1;
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL && !code) {
        if (!saved_errno) {
            t->eof = 1;
            return ZWS_ECLOSED;
        }
        t->last_errno = (int16_t)saved_errno;
        return ZWS_EIO;
    }
    t->x->last_ssl = code;
    return ZWS_ETLS;
}

static int want_event(int e) { return e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN; }

ptrdiff_t zws__tls_read(zws__transport *t, void *buf, size_t cap, int timeout_ms)
{
    SSL *ssl = t->x->ssl;
    if (t->x->handshaking)
        return ZWS_ESTATE;
    int64_t deadline = -2;
    for (;;) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        if (SSL_read_ex(ssl, buf, cap, &n) == 1)
            return (ptrdiff_t)n;
        int saved = errno, e = SSL_get_error(ssl, 0);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return io_fail(t, e, saved);
        int w = zws__transport_wait(t, (short)want_event(e), timeout_ms, &deadline);
        if (w)
            return w;
    }
}

typedef struct cursor {
    const struct iovec *iov;
    int cnt, i;
    size_t off;
} cursor;

static void advance(cursor *c, size_t n)
{
    while (c->i < c->cnt) {
        size_t k = c->iov[c->i].iov_len - c->off;
        if (n < k) {
            c->off += n;
            return;
        }
        n -= k;
        c->i++;
        c->off = 0;
    }
}

/* The next SSL_write: a whole record straight from the caller's memory
 * when the current iovec holds one, otherwise up to a record's worth
 * gathered into x->stage, so small frames share one record and one send,
 * and a large payload's head and tail fill their records instead of going
 * out as short ones. Copies at most 16 KiB per record written. */
static size_t next_chunk(zws__transport *t, cursor c, const void **p)
{
    advance(&c, 0);
    if (c.i == c.cnt)
        return 0;
    const char *base = (const char *)c.iov[c.i].iov_base;
    if (c.iov[c.i].iov_len - c.off >= STAGE_CAP) {
        *p = base + c.off;
        return STAGE_CAP;
    }
    size_t n = 0;
    while (c.i < c.cnt && n < STAGE_CAP) {
        size_t k = c.iov[c.i].iov_len - c.off;
        if (k > STAGE_CAP - n)
            k = STAGE_CAP - n;
        memcpy(t->x->stage + n, (const char *)c.iov[c.i].iov_base + c.off, k);
        n += k;
        advance(&c, k);
    }
    *p = t->x->stage;
    return n;
}

/* One SSL_write, waiting as allowed. A write that would block is retried
 * later with at least as many bytes (x->wretry), as OpenSSL requires. */
static int write_chunk(zws__transport *t, const void *p, size_t len, size_t *w,
                       int timeout_ms, int64_t *deadline)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        if (SSL_write_ex(t->x->ssl, p, len, w) == 1) {
            t->x->wretry = 0;
            return 0;
        }
        int saved = errno, e = SSL_get_error(t->x->ssl, 0);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return io_fail(t, e, saved);
        t->x->wretry = len;
        int r = zws__transport_wait(t, (short)want_event(e), timeout_ms, deadline);
        if (r)
            return r;
    }
}

ptrdiff_t zws__tls_writev(zws__transport *t, const struct iovec *iov, int iovcnt,
                          int timeout_ms)
{
    zws__transport_x *x = t->x;
    if (x->handshaking)
        return ZWS_ESTATE;
    if (!x->stage && !(x->stage = zws__malloc(STAGE_CAP)))
        return ZWS_ENOMEM;
    cursor c = {iov, iovcnt, 0, 0};
    int64_t deadline = -2;
    ptrdiff_t total = 0;
    for (;;) {
        const void *p = NULL;
        size_t len = next_chunk(t, c, &p);
        if (len == 0)
            return total;
        if (len < x->wretry)
            return ZWS_EINVAL; /* fewer bytes than the write being retried */
        size_t w = 0;
        int rc = write_chunk(t, p, len, &w, timeout_ms, &deadline);
        if (rc == ZWS_EAGAIN || rc == ZWS_ETIMEDOUT)
            return total ? total : rc;
        if (rc)
            return rc;
        total += (ptrdiff_t)w;
        advance(&c, w);
    }
}

int zws__tls_shutdown(zws__transport *t, int timeout_ms)
{
    SSL *ssl = t->x->ssl;
    if (t->x->tls_dead || t->x->handshaking)
        return 0;
    int64_t deadline = -2;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_shutdown(ssl);
        if (r >= 0)
            return 0; /* close_notify is out; not waiting for the peer's */
        int saved = errno, e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        if (e != SSL_ERROR_WANT_WRITE)
            return io_fail(t, e, saved);
        int w = zws__transport_wait(t, POLLOUT, timeout_ms, &deadline);
        if (w)
            return w;
    }
}

void zws__tls_free(zws__transport *t)
{
    if (!t->x)
        return;
    SSL_free(t->x->ssl); /* frees the BIO too; the fd stays open */
    t->x->ssl = NULL;
    t->x->handshaking = 0;
}

void zws__tls_errmsg(const zws__transport *t, char *err, size_t errlen)
{
    char buf[256];
    zws__errf(err, errlen, "TLS: %s", ssl_reason(t->x ? t->x->last_ssl : 0, buf, sizeof buf));
}
