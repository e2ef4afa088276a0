/* Transport, socket half: TCP connect/listen/accept, plain read/writev,
 * and the dispatch to the TLS half (tls.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/tls.h"
#include "internal/transport.h"
#include "internal/wait.h"

/* ---- sockets ---- */

static void set_nodelay(int fd)
{
    int one = 1;
    /* Frames are written whole and flushed on purpose: Nagle would only add
     * latency. Failure (not a TCP socket) is harmless. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* "1.2.3.4:80" or "[::1]:80" for messages. */
static void addr_text(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "(unknown address)");
        return;
    }
    snprintf(buf, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* One non-blocking connect attempt; returns the fd, or -1 with errno set
 * (ETIMEDOUT when the deadline passed). */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    /* EINTR on a non-blocking connect: it carries on in the background. */
    if (r < 0 && errno != EINPROGRESS && errno != EINTR)
        goto fail;
    if (r < 0) {
        int w = zws__wait_fd(fd, POLLOUT, deadline);
        if (w != 0) {
            if (w == ZWS_ETIMEDOUT)
                errno = ETIMEDOUT;
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            goto fail;
        if (soerr) {
            errno = soerr;
            goto fail;
        }
    }
    set_nodelay(fd);
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int resolve(struct addrinfo **res, const char *host, uint16_t port, int passive,
                   char *err, size_t errlen)
{
    char serv[8];
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int r = getaddrinfo(host, serv, &hints, res);
    if (r == 0)
        return 0;
    zws__errf(err, errlen, "resolve %s: %s", host,
              r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
    return ZWS_ERESOLVE;
}

int zws__tcp_connect(int *fd_out, const char *host, uint16_t port, int timeout_ms,
                     char *err, size_t errlen)
{
    if (!fd_out || !host || !*host) {
        zws__errf(err, errlen, "connect: no host");
        return ZWS_EINVAL;
    }
    *fd_out = -1;
    struct addrinfo *res;
    int rc = resolve(&res, host, port, 0, err, errlen);
    if (rc)
        return rc;
    int64_t deadline = zws__deadline(timeout_ms);
    int left = 0, tried = 0, e = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        left++;
    char where[NI_MAXHOST + 16] = "";
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next, left--) {
        /* Share what time is left among the addresses still to try, so one
         * black-holed address cannot eat the whole timeout. */
        int64_t dl = deadline;
        if (deadline >= 0 && left > 1)
            dl = zws__now_ms() + zws__remaining_ms(deadline) / left;
        tried++;
        int fd = connect_one(ai, dl);
        if (fd >= 0) {
            freeaddrinfo(res);
            *fd_out = fd;
            return 0;
        }
        e = errno;
        addr_text(ai->ai_addr, ai->ai_addrlen, where, sizeof where);
        if (deadline >= 0 && zws__remaining_ms(deadline) == 0)
            break;
    }
    freeaddrinfo(res);
    const char *more = tried > 1 ? " (other addresses failed too)" : "";
    if (e == ETIMEDOUT) {
        zws__errf(err, errlen, "connect to %s: timed out after %d ms%s", where,
                  timeout_ms, more);
        return ZWS_ETIMEDOUT;
    }
    zws__errf(err, errlen, "connect to %s: %s%s", where, strerror(e), more);
    return ZWS_ECONNECT;
}

/* Binds and listens on one address; returns the fd or -1 with errno set. */
static int listen_on(int family, const struct sockaddr *sa, socklen_t len,
                     unsigned flags, int dual)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    /* REUSEADDR: restart without waiting out TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if ((flags & ZWS__LISTEN_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)
        goto fail;
    if (bind(fd, sa, len) < 0 || listen(fd, SOMAXCONN) < 0)
        goto fail;
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* NULL host: one dual-stack [::] socket, or 0.0.0.0 without IPv6. */
static int listen_any(uint16_t port, unsigned flags)
{
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_any;
    a6.sin6_port = htons(port);
    int fd = listen_on(AF_INET6, (struct sockaddr *)&a6, sizeof a6, flags, 1);
    if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL &&
                    errno != EPROTONOSUPPORT && errno != ENOPROTOOPT))
        return fd;
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    a4.sin_port = htons(port);
    return listen_on(AF_INET, (struct sockaddr *)&a4, sizeof a4, flags, 0);
}

int zws__tcp_listen(int *fd_out, const char *host, uint16_t port, unsigned flags,
                    uint16_t *bound, char *err, size_t errlen)
{
    if (!fd_out)
        return ZWS_EINVAL;
    *fd_out = -1;
    int fd = -1, e = 0;
    if (!host) {
        fd = listen_any(port, flags);
        e = errno;
    } else {
        struct addrinfo *res;
        int rc = resolve(&res, host, port, 1, err, errlen);
        if (rc)
            return rc;
        for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = listen_on(ai->ai_family, ai->ai_addr, ai->ai_addrlen, flags, 0);
            e = errno;
        }
        freeaddrinfo(res);
    }
    if (fd < 0) {
        zws__errf(err, errlen, "listen on %s port %u: %s", host ? host : "*",
                  (unsigned)port, strerror(e));
        return ZWS_EIO;
    }
    if (bound)
        *bound = local_port(fd);
    *fd_out = fd;
    return 0;
}

/* sockaddr_un for path; -1 when it does not fit. */
static int unix_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof a->sun_path)
        return -1;
    memcpy(a->sun_path, path, n);
    return 0;
}

int zws__unix_connect(int *fd_out, const char *path, int timeout_ms, char *err,
                      size_t errlen)
{
    *fd_out = -1;
    struct addrinfo ai;
    struct sockaddr_un a;
    if (!path || unix_addr(&a, path)) {
        zws__errf(err, errlen, "connect: bad socket path");
        return ZWS_EINVAL;
    }
    memset(&ai, 0, sizeof ai);
    ai.ai_family = AF_UNIX;
    ai.ai_socktype = SOCK_STREAM;
    ai.ai_addr = (struct sockaddr *)&a;
    ai.ai_addrlen = sizeof a;
    int64_t deadline = zws__deadline(timeout_ms);
    for (;;) {
        int fd = connect_one(&ai, deadline);
        if (fd >= 0) {
            *fd_out = fd;
            return 0;
        }
        /* A full backlog: a unix socket says EAGAIN at once, where TCP
         * would wait. Wait here too, up to the deadline. */
        if (errno != EAGAIN || (deadline >= 0 && zws__remaining_ms(deadline) == 0))
            break;
        poll(NULL, 0, 5);
    }
    int e = errno == EAGAIN ? ETIMEDOUT : errno;
    zws__errf(err, errlen, "connect to unix socket %s: %s", path, strerror(e));
    return e == ETIMEDOUT ? ZWS_ETIMEDOUT : ZWS_ECONNECT;
}

/* Is a server answering on the socket file at a? (A full backlog counts.) */
static int unix_live(const struct sockaddr_un *a)
{
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return 1; /* cannot tell: do not remove anything */
    int r = connect(probe, (const struct sockaddr *)a, sizeof *a);
    int live = r == 0 || errno != ECONNREFUSED;
    close(probe);
    return live;
}

int zws__unix_listen(int *fd_out, const char *path, char *err, size_t errlen)
{
    *fd_out = -1;
    struct sockaddr_un a;
    if (!path || unix_addr(&a, path)) {
        zws__errf(err, errlen, "listen: bad socket path (1 to %zu bytes)",
                  sizeof a.sun_path - 1);
        return ZWS_EINVAL;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        zws__errf(err, errlen, "listen on unix socket %s: %s", path, strerror(errno));
        return ZWS_EIO;
    }
    /* Bind first; only a socket file nobody answers on is replaced, once. */
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    if (r < 0 && errno == EADDRINUSE) {
        struct stat st;
        int sock = lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
        if (!sock || unix_live(&a)) {
            close(fd);
            zws__errf(err, errlen, "listen on unix socket %s: in use%s", path,
                      sock ? " by another server" : " (not a socket)");
            return ZWS_EIO;
        }
        (void)unlink(path);
        r = bind(fd, (struct sockaddr *)&a, sizeof a);
    }
    if (r < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        close(fd);
        zws__errf(err, errlen, "listen on unix socket %s: %s", path, strerror(e));
        return ZWS_EIO;
    }
    *fd_out = fd;
    return 0;
}

int zws__tcp_accept(int lfd, int *fd_out, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = -2; /* computed on the first wait only */
    *fd_out = -1;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            set_nodelay(fd);
            *fd_out = fd;
            return 0;
        }
        /* A client that gave up before we got to it is not our failure. */
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            zws__errf(err, errlen, "accept: %s", strerror(errno));
            return ZWS_EIO;
        }
        if (timeout_ms == 0)
            return ZWS_EAGAIN;
        if (deadline == -2)
            deadline = zws__deadline(timeout_ms);
        int w = zws__wait_fd(lfd, POLLIN, deadline);
        if (w) {
            zws__errf(err, errlen, "accept: %s",
                      w == ZWS_ETIMEDOUT ? "timed out" : strerror(errno));
            return w;
        }
    }
}

/* ---- the transport, plain half and dispatch ---- */

void zws__transport_init(zws__transport *t, int fd)
{
    memset(t, 0, sizeof *t);
    t->fd = fd;
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK))
            (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
}

zws__transport_x *zws__transport_ext(zws__transport *t)
{
    if (!t->x && (t->x = zws__malloc(sizeof *t->x)) != NULL)
        memset(t->x, 0, sizeof *t->x);
    return t->x;
}

int zws__transport_count(zws__transport *t) { return zws__transport_ext(t) ? 0 : ZWS_ENOMEM; }

ptrdiff_t zws__transport_read(zws__transport *t, void *buf, size_t cap, int timeout_ms)
{
    if (cap == 0 || t->fd < 0)
        return ZWS_EINVAL;
    zws__transport_x *x = t->x;
    if (x && x->ssl)
        return zws__tls_read(t, buf, cap, timeout_ms);
    int64_t deadline = -2;
    for (;;) {
        ssize_t n = recv(t->fd, buf, cap, 0);
        if (x)
            x->nreads++;
        if (n > 0)
            return n;
        if (n == 0) {
            t->eof = 1;
            return ZWS_ECLOSED;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            t->last_errno = (int16_t)errno;
            return ZWS_EIO;
        }
        int w = zws__transport_wait(t, POLLIN, timeout_ms, &deadline);
        if (w)
            return w;
    }
}

/* sendmsg from iov[i] onwards, skipping off bytes of iov[i]. Only after a
 * partial write (off > 0) is the head of the list copied, because the
 * kernel takes the array as it is. */
static ssize_t send_from(int fd, const struct iovec *iov, int cnt, int i, size_t off)
{
    if (cnt - i == 1) /* send(2): no msghdr and iovec to copy in */
        return send(fd, (const char *)iov[i].iov_base + off, iov[i].iov_len - off,
                    MSG_NOSIGNAL);
    struct iovec local[64];
    struct msghdr m;
    memset(&m, 0, sizeof m);
    int n = cnt - i < IOV_MAX ? cnt - i : IOV_MAX;
    if (off == 0) {
        m.msg_iov = (struct iovec *)(uintptr_t)(iov + i);
    } else {
        if (n > 64)
            n = 64;
        memcpy(local, iov + i, (size_t)n * sizeof *local);
        local[0].iov_base = (char *)local[0].iov_base + off;
        local[0].iov_len -= off;
        m.msg_iov = local;
    }
    m.msg_iovlen = (size_t)n;
    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static ptrdiff_t plain_writev(zws__transport *t, const struct iovec *iov, int cnt,
                              int timeout_ms)
{
    int64_t deadline = -2;
    ptrdiff_t total = 0;
    int i = 0;
    size_t off = 0;
    for (;;) {
        while (i < cnt && iov[i].iov_len == off) {
            i++;
            off = 0;
        }
        if (i == cnt)
            return total;
        ssize_t n = send_from(t->fd, iov, cnt, i, off);
        if (t->x)
            t->x->nwrites++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                t->last_errno = (int16_t)errno;
                return ZWS_EIO;
            }
            int w = zws__transport_wait(t, POLLOUT, timeout_ms, &deadline);
            if (w)
                return total ? total : w;
            continue;
        }
        total += n;
        int short_write = 0;
        for (size_t left = (size_t)n; left;) {
            size_t k = iov[i].iov_len - off;
            if (left < k) {
                off += left;
                short_write = 1;
                break;
            }
            left -= k;
            i++;
            off = 0;
        }
        /* Non-blocking: a short write means the socket is full; asking
         * again would only fetch an EAGAIN. */
        if (short_write && timeout_ms == 0)
            return total;
    }
}

ptrdiff_t zws__transport_writev(zws__transport *t, const struct iovec *iov, int iovcnt,
                                int timeout_ms)
{
    if (t->fd < 0 || iovcnt < 0 || (iovcnt && !iov))
        return ZWS_EINVAL;
    if (zws__transport_ssl(t))
        return zws__tls_writev(t, iov, iovcnt, timeout_ms);
    return plain_writev(t, iov, iovcnt, timeout_ms);
}

int zws__transport_write_all(zws__transport *t, const void *buf, size_t len,
                             int timeout_ms)
{
    int64_t deadline = zws__deadline(timeout_ms);
    size_t done = 0;
    while (done < len) {
        struct iovec v = {.iov_base = (char *)(uintptr_t)buf + done,
                          .iov_len = len - done};
        int ms = deadline < 0 ? -1 : zws__remaining_ms(deadline);
        if (ms == 0)
            return ZWS_ETIMEDOUT;
        ptrdiff_t n = zws__transport_writev(t, &v, 1, ms);
        if (n < 0)
            return (int)n;
        done += (size_t)n;
    }
    return 0;
}

int zws__transport_shutdown(zws__transport *t, int timeout_ms)
{
    if (t->fd < 0)
        return ZWS_EINVAL;
    int rc = zws__transport_ssl(t) ? zws__tls_shutdown(t, timeout_ms) : 0;
    if (rc == ZWS_EAGAIN)
        return rc; /* close_notify still queued: SHUT_WR would cut it */
    if (shutdown(t->fd, SHUT_WR) < 0 && errno != ENOTCONN && rc == 0) {
        t->last_errno = (int16_t)errno;
        rc = ZWS_EIO;
    }
    return rc;
}

void zws__transport_close(zws__transport *t)
{
    if (t->x) {
        zws__tls_free(t);
        zws__free(t->x->stage);
        zws__free(t->x);
        t->x = NULL;
    }
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

void zws__transport_errmsg(const zws__transport *t, int rc, char *err, size_t errlen)
{
    switch (rc) {
    case ZWS_ECLOSED:
        zws__errf(err, errlen, "connection closed by peer");
        break;
    case ZWS_ETIMEDOUT:
        zws__errf(err, errlen, "timed out");
        break;
    case ZWS_EAGAIN:
        zws__errf(err, errlen, "would block");
        break;
    case ZWS_EIO:
        zws__errf(err, errlen, "%s", t->last_errno ? strerror(t->last_errno)
                                                   : "I/O error");
        break;
    case ZWS_ETLS:
        zws__tls_errmsg(t, err, errlen);
        break;
    default:
        zws__errf(err, errlen, "%s", zws_strerror(rc));
    }
}
