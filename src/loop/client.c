/* Client connections on a loop: a name resolved off the loop (a helper
 * thread for names, nothing for IP literals), a non-blocking connect, TLS,
 * the upgrade request queued through the session, the response read like
 * any input; then the connection runs the session in the client role with
 * the loop's mask-key pool. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/deflate.h"
#include "internal/loop.h"
#include "internal/tls.h"
#include "zws/url.h"

enum { PH_RESOLVE, PH_CONNECT, PH_TLS, PH_SENT };

struct zws__client {
    int phase;
    char host[ZWS_URL_HOST_MAX + 1];
    uint16_t port;
    int secure;
    char key[ZWS_HANDSHAKE_KEY_LEN + 1];
    char target[2048];
    struct addrinfo *ai, *next_ai; /* from the resolver thread */
    int gai_err;
    zws__route route;              /* the application's handlers */
};


static void client_fail(zws_ws *ws, const char *fmt, const char *detail)
{
    char why[512];
    snprintf(why, sizeof why, fmt, detail ? detail : "");
    ws->flags |= ZWS__F_OPENED; /* the close handler reports the failure */
    zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, why);
}

static int open_socket(zws_ws *ws, const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    zws__transport_init(&ws->tr, fd);
    return 0;
}

/* Connects to the next address; the loop says when it is writable. */
static void connect_next(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    struct zws__client *c = ws->client;
    while (c->next_ai) {
        const struct addrinfo *ai = c->next_ai;
        c->next_ai = ai->ai_next;
        if (open_socket(ws, ai))
            continue;
        c->phase = PH_CONNECT;
        ws->flags &= ~ZWS__F_OUT; /* a new socket: nothing asked of it yet */
        if (l->be->add(l, ws)) {
            client_fail(ws, "cannot watch the socket%s", NULL);
            return;
        }
        zws__ws_want_out(ws, 1);
        return;
    }
    client_fail(ws, "connect to %s failed", c->host);
}

static void send_request(zws_ws *ws)
{
    zws_server *srv = ws->loop->srv;
    struct zws__client *c = ws->client;
    char req[8192], offer[ZWS__PMD_HEADER_MAX];
    const char *exts = NULL;
    if (srv->o->pmd.enabled && zws__pmd_offer(&srv->o->pmd, offer, sizeof offer) > 0)
        exts = offer;
    int n = zws_handshake_client_key(c->key);
    if (!n)
        n = zws_handshake_build_request(req, sizeof req, c->host, c->port, c->secure, c->target,
                                        c->key, (const char *const *)srv->o->protos,
                                        srv->o->nprotos, exts, srv->o->origin, srv->o->headers,
                                        srv->o->nheaders);
    if (n < 0 || zws__ws_start_session(ws, ZWS_ROLE_CLIENT) ||
        zws__session_append(&ws->s, req, (size_t)n, 1)) {
        client_fail(ws, "cannot build the request%s", NULL);
        return;
    }
    c->phase = PH_SENT;
    zws__ws_dirty(ws);
}

/* Connect and TLS, on readiness; then the request. */
void zws__client_step(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    struct zws__client *c = ws->client;
    if (c->phase == PH_CONNECT) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(ws->tr.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == EINPROGRESS || err == EALREADY)
            return;
        if (err) {
            l->be->del(l, ws); /* try the next address */
            zws__transport_close(&ws->tr);
            connect_next(ws);
            return;
        }
        zws__ws_want_out(ws, 0);
        c->phase = c->secure ? PH_TLS : PH_SENT;
        if (!c->secure) {
            send_request(ws);
            return;
        }
    }
    if (c->phase == PH_TLS) {
        char err[256];
        int r = zws__transport_tls_client(&ws->tr, l->srv->client_tls, c->host, 0, err,
                                          sizeof err);
        if (r == ZWS_EAGAIN) {
            zws__ws_want_out(ws, ws->tr.want == POLLOUT);
            return;
        }
        if (r) {
            client_fail(ws, "%s", err);
            return;
        }
        zws__ws_want_out(ws, 0);
        send_request(ws);
    }
}

int zws__client_sent(const zws_ws *ws) { return ws->client->phase == PH_SENT; }

/* The response head in buf[0..len): the bytes it took, 0 while incomplete;
 * the connection is opened or failed. */
size_t zws__client_head(zws_ws *ws, uint8_t *buf, size_t len)
{
    zws_server *srv = ws->loop->srv;
    struct zws__client *c = ws->client;
    zws_http_response res;
    zws_http_header hdrs[64];
    int head = zws_http_parse_response(&res, buf, len, hdrs, 64, 8192);
    if (head == 0)
        return 0;
    if (head < 0) {
        client_fail(ws, "malformed HTTP response: %s", res.error);
        return len;
    }
    zws_handshake_response hr;
    char err[160];
    char offer[ZWS__PMD_HEADER_MAX];
    const char *exts = NULL;
    if (srv->o->pmd.enabled && zws__pmd_offer(&srv->o->pmd, offer, sizeof offer) > 0)
        exts = offer; /* what send_request offered: the same options */
    if (zws_handshake_validate_response(&res, c->key, (const char *const *)srv->o->protos,
                                        srv->o->nprotos, exts, &hr, err, sizeof err)) {
        client_fail(ws, "%s", err);
        return len;
    }
    if (exts) {
        zws__pmd_params pp;
        const char *why = NULL;
        int k = zws__pmd_response(&srv->o->pmd, res.headers, res.num_headers, &pp, &why);
        if (k < 0 || (k == 1 && zws__session_set_deflate(&ws->s, &pp, &srv->o->pmd))) {
            client_fail(ws, "permessage-deflate: %s", why ? why : "out of memory");
            return len;
        }
    }
    /* out of memory: the path reads "/" and the subprotocol "" */
    zws__ws_set_names(ws, NULL, c->target, strlen(c->target), hr.protocol, hr.protocol_len);
    zws__ws_opened(ws, &c->route, ws->user);
    return (size_t)head;
}

void zws__client_free(struct zws__client *c)
{
    if (!c)
        return;
    if (c->ai)
        freeaddrinfo(c->ai);
    zws__free(c);
}

/* ---- starting one ---- */

typedef struct {
    zws_loop *loop;
    zws_ws *ws;
    uint64_t id;
} resolve_job;

static void resolved(zws_loop *l, void *arg)
{
    resolve_job *j = arg;
    zws_ws *ws = l ? zws__ids_get(l, j->id) : NULL;
    if (ws) {
        struct zws__client *c = ws->client;
        if (c->gai_err)
            client_fail(ws, "cannot resolve: %s", gai_strerror(c->gai_err));
        else
            connect_next(ws);
    }
    zws__free(j);
}

static void *resolver(void *arg)
{
    resolve_job *j = arg;
    struct zws__client *c = j->ws->client;
    char port[8];
    snprintf(port, sizeof port, "%u", c->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    c->gai_err = getaddrinfo(c->host, port, &hints, &c->ai);
    c->next_ai = c->ai;
    if (zws_loop_post(j->loop, resolved, j))
        zws__free(j); /* the connection then ends at its deadline */
    return NULL;
}

static int start(zws_loop *l, zws_ws *ws)
{
    struct zws__client *c = ws->client;
    ws->id = ((uint64_t)(l->index + 1) << 56) | ++l->next_seq;
    if (zws__ids_put(l, ws))
        return ZWS_ENOMEM;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    char port[8];
    snprintf(port, sizeof port, "%u", c->port);
    if (getaddrinfo(c->host, port, &hints, &c->ai) == 0) { /* a literal: now */
        c->next_ai = c->ai;
        connect_next(ws);
        return 0;
    }
    c->ai = NULL;
    resolve_job *j = zws__malloc(sizeof *j);
    if (!j)
        return ZWS_ENOMEM;
    *j = (resolve_job){l, ws, ws->id};
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&t, &attr, resolver, j);
    pthread_attr_destroy(&attr);
    if (r) {
        zws__free(j);
        return ZWS_EIO;
    }
    return 0;
}

int zws_loop_connect(zws_loop *l, const char *url, const zws_handlers *h, void *user)
{
    zws_url u;
    if (!h || zws_url_parse(&u, url, ZWS_URL_WS, NULL) || u.is_unix)
        return ZWS_EURL;
    zws_server *srv = l->srv;
    if (u.secure && !srv->client_tls) {
        pthread_mutex_lock(&srv->alock);
        int r = srv->client_tls ? 0
                                : zws__tls_client_ctx(&srv->client_tls, srv->o->ca_file,
                                                      srv->o->insecure, NULL, 0);
        pthread_mutex_unlock(&srv->alock);
        if (r)
            return r;
    }
    zws_ws *ws = zws__malloc(sizeof *ws);
    struct zws__client *c = zws__malloc(sizeof *c);
    if (!ws || !c) {
        zws__free(ws);
        zws__free(c);
        return ZWS_ENOMEM;
    }
    memset(ws, 0, sizeof *ws);
    memset(c, 0, sizeof *c);
    ws->tr.fd = -1;
    ws->client = c;
    ws->user = user;
    ws->kind = ZWS__K_CONNECTING;
    ws->flags = ZWS__F_CLIENT;
    ws->last_write = zws__ms32_of(l->now);
    c->route.h = *h;
    c->route.path = NULL;
    c->port = u.port;
    c->secure = u.secure;
    if (zws_url_host(&u, c->host, sizeof c->host) < 0 ||
        zws_url_target(&u, c->target, sizeof c->target) < 0) {
        zws__client_free(c);
        zws__free(ws);
        return ZWS_EURL;
    }
    ws->route = &c->route;
    int hs = srv->o->timeout[ZWS_TIMEOUT_CONNECT] + srv->o->timeout[ZWS_TIMEOUT_HANDSHAKE];
    zws__ws_set_hs_deadline(ws, hs > 0 ? l->now + hs : -1);
    zws__loop_add(l, ws);
    int r = start(l, ws);
    if (r) {
        client_fail(ws, "cannot start: %s", zws_strerror(r));
        return 0; /* reported through the close handler */
    }
    zws__ws_schedule(ws);
    return 0;
}
