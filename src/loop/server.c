/* The event-loop server: accepting, the upgrade (or a plain HTTP answer),
 * reading into the loop's buffer, timeouts, limits, and the zws_ws API.
 * The protocol after the upgrade is the session's (internal/session.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/limits.h"
#include "internal/loop.h"
#include "internal/parser.h"
#include "internal/upgrade.h"
#include "zws/frame.h"

#define HEAD_MAX 8192          /* an HTTP request head, at most */
#define LINGER_MS 2000          /* reading until EOF after our shutdown */


/* ---- per-address caps and the memory budget (internal/limits.h) ---- */

static void addr_done_handshake(zws_ws *ws)
{
    if (!(ws->flags & ZWS__F_CLIENT) && ws->kind == ZWS__K_HANDSHAKE)
        zws__limits_handshake_done(ws->loop->srv->lim, ws->addr);
}

static void addr_release(zws_server *srv, zws_ws *ws)
{
    if (ws->flags & ZWS__F_CLIENT)
        return; /* addr shares its place with client */
    zws__limits_release(srv->lim, ws->addr, ws->kind == ZWS__K_HANDSHAKE);
    ws->addr = NULL;
}

static size_t usage(const zws_ws *ws)
{
    size_t u = ws->keep ? ws->keep->cap : 0;
    if (ws->kind == ZWS__K_WS || ws->kind == ZWS__K_HTTP)
        u += zws__session_held(&ws->s);
    return u;
}

/* Brings ws's charge up to date; over the budget, a connection that grew is
 * failed (1009 when its message is what grew, 1008 for its output). */
static void charge(zws_ws *ws)
{
    zws_server *srv = ws->loop->srv;
    if (zws__limits_charge(srv->lim, &ws->charged, usage(ws)) && ws->kind == ZWS__K_WS &&
        !zws__session_done(&ws->s)) {
        zws__ws_fail(ws, zws__session_budget_code(&ws->s), ZWS__BUDGET_REASON);
        /* no handler is running here: what it assembled can go at once */
        if (ws->s.p)
            zws__parser_release(ws->s.p);
        charge(ws);
    }
}

/* ---- connection lifetime ---- */

void zws__ws_free(zws_ws *ws)
{
    zws_server *srv = ws->loop->srv;
    zws__limits_uncharge(srv->lim, &ws->charged);
    addr_release(srv, ws);
    zws__transport_close(&ws->tr);
    if (ws->s.live)
        zws__session_free(&ws->s);
    zws__free(ws->keep);
    zws__free(ws->names);
    zws__free(ws->subs);
    if (ws->flags & ZWS__F_CLIENT)
        zws__client_free(ws->client);
    zws__free(ws);
}

int zws__ws_set_names(zws_ws *ws, const zws__route *route, const char *path, size_t plen,
                      const char *sub, size_t slen)
{
    if (!sub)
        slen = 0;
    zws__free(ws->names);
    ws->names = NULL;
    ws->flags &= ~ZWS__F_RPATH;
    if (!slen) { /* the common case keeps nothing */
        if (plen == 1 && path[0] == '/')
            return 0;
        if (route && route->path && strlen(route->path) == plen &&
            memcmp(route->path, path, plen) == 0) {
            ws->flags |= ZWS__F_RPATH;
            return 0;
        }
    }
    char *n = zws__malloc(plen + slen + 2);
    if (!n)
        return ZWS_ENOMEM;
    memcpy(n, path, plen);
    n[plen] = 0;
    if (slen)
        memcpy(n + plen + 1, sub, slen);
    n[plen + 1 + slen] = 0;
    ws->names = n;
    return 0;
}

/* The connection's protocol life is over (close handshake done, failed,
 * timed out): the close handler runs now, once. */
static void ws_ended(zws_ws *ws, uint16_t code, const char *why, size_t len)
{
    if (!(ws->flags & ZWS__F_OPENED))
        return;
    ws->flags &= ~ZWS__F_OPENED;
    if (ws->route->h.close)
        ws->route->h.close(ws, code, why, len);
}

/* Fails an open connection for a reason of ours: the close frame is queued,
 * the close handler told, the output flushed, then the socket shut. */
void zws__ws_fail(zws_ws *ws, uint16_t code, const char *why)
{
    if (ws->kind != ZWS__K_WS || zws__session_done(&ws->s))
        return;
    zws_event ev = {.close_code = code, .reason = why, .reason_len = strlen(why)};
    zws__session_fail(&ws->s, ZWS_EPROTO, &ev);
    ws_ended(ws, code, why, strlen(why));
    zws__ws_dirty(ws);
}

/* An open connection (not closing) with a drain handler that wrote output
 * since drain was last called and is at or below the low-water mark: it
 * wants more. */
static int wants_more(const zws_ws *ws)
{
    return (ws->flags & (ZWS__F_MOVED | ZWS__F_OPENED | ZWS__F_DEAD)) ==
               (ZWS__F_MOVED | ZWS__F_OPENED) &&
           ws->s.state == ZWS__S_OPEN && ws->route->h.drain &&
           zws__session_pending(&ws->s) <= ws->loop->srv->bp_low;
}

void zws__ws_drain(zws_ws *ws)
{
    ws->flags &= ~ZWS__F_DRAINQ;
    /* more may have been queued since it was made due: the write that
     * follows makes it due again once the output is back at the mark */
    if (!wants_more(ws))
        return;
    ws->flags &= ~ZWS__F_MOVED;
    ws->route->h.drain(ws);
}

/* Output written (or stalled): a drain call made due for the connection's
 * next turn in a flush (this pass's when the write came from a writability
 * event, the next pass's when it was the flush's own), and after the last
 * byte of a finished connection, our shutdown and a bounded linger for the
 * peer's EOF (closing with unread input would send a reset over our
 * close). */
void zws__ws_after_write(zws_ws *ws)
{
    size_t pending = zws__session_pending(&ws->s);
    if (!(ws->flags & ZWS__F_DRAINQ) && wants_more(ws)) {
        ws->flags |= ZWS__F_DRAINQ;
        zws__ws_dirty(ws);
    }
    if (pending || (ws->flags & ZWS__F_SHUT) || (ws->flags & ZWS__F_DEAD))
        goto out;
    if (ws->kind == ZWS__K_HTTP || (ws->kind == ZWS__K_WS && zws__session_done(&ws->s))) {
        zws__transport_shutdown(&ws->tr, 0);
        ws->flags |= ZWS__F_SHUT;
        zws__ws_set_hs_deadline(ws, ws->loop->now + LINGER_MS);
        zws__ws_schedule(ws);
    }
out:
    charge(ws);
}

void zws__ws_writable(zws_ws *ws)
{
    if (ws->kind == ZWS__K_CONNECTING && !zws__client_sent(ws)) {
        zws__client_step(ws);
        return;
    }
    if (ws->flags & ZWS__F_TLS) { /* the TLS handshake wanted to write */
        zws__ws_readable(ws);
        return;
    }
    zws__ws_write(ws);
}

int64_t zws__ws_deadline(const zws_ws *ws)
{
    zws_server *srv = ws->loop->srv;
    int64_t d = -1;
    if (ws->kind != ZWS__K_WS || (ws->flags & ZWS__F_SHUT))
        d = zws__ws_hs_deadline(ws);
    else
        d = zws__session_deadline(&ws->s);
    int64_t stall = zws__ws_stall_since(ws);
    if (stall >= 0 && srv->write_ms > 0) {
        int64_t w = stall + srv->write_ms;
        d = d < 0 || w < d ? w : d;
    }
    return d;
}

void zws__ws_timeout(zws_ws *ws)
{
    zws_server *srv = ws->loop->srv;
    int64_t now = ws->loop->now;
    int64_t stall = zws__ws_stall_since(ws);
    if (stall >= 0 && srv->write_ms > 0 && now >= stall + srv->write_ms) {
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, "write timeout: the peer does not read");
        return;
    }
    if (ws->kind != ZWS__K_WS || (ws->flags & ZWS__F_SHUT)) {
        int64_t hs = zws__ws_hs_deadline(ws);
        if (hs < 0 || now < hs)
            return;
        if (ws->kind == ZWS__K_CONNECTING) /* the close handler reports it */
            ws->flags |= ZWS__F_OPENED;
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, "timed out");
        return;
    }
    int was = ws->s.state;
    int r = zws__session_tick(&ws->s, now);
    if (r == ZWS_ETIMEDOUT) { /* no close from the peer in time */
        ws_ended(ws, ZWS_CLOSE_ABNORMAL, "close timed out", 15);
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, "close timed out");
        return;
    }
    if (was == ZWS__S_OPEN && ws->s.state != ZWS__S_OPEN)
        ws_ended(ws, ZWS_CLOSE_GOING_AWAY, "timeout", 7);
    if (zws__session_want_write(&ws->s))
        zws__ws_dirty(ws);
}

/* ---- accepting ---- */

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void zws__loop_accepted(zws_loop *l, int fd)
{
    zws_server *srv = l->srv;
    if (l->stopping) {
        close(fd);
        return;
    }
    zws__addr_count *a;
    if (zws__limits_take(srv->lim, fd, &a)) {
        close(fd); /* over a per-address cap (or no memory to count it) */
        return;
    }
    zws_ws *ws = zws__malloc(sizeof *ws);
    if (!ws) {
        close(fd);
        zws__limits_release(srv->lim, a, 1); /* undo the count */
        return;
    }
    memset(ws, 0, sizeof *ws);
    set_nodelay(fd);
    zws__transport_init(&ws->tr, fd);
    ws->kind = ZWS__K_HANDSHAKE;
    ws->addr = a;
    ws->last_write = zws__ms32_of(l->now);
    int hs = srv->o->timeout[ZWS_TIMEOUT_HANDSHAKE];
    zws__ws_set_hs_deadline(ws, hs > 0 ? l->now + hs : -1);
    zws__loop_add(l, ws);
    if (srv->tls)
        ws->flags |= ZWS__F_TLS;
    if (l->be->add(l, ws)) {
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
        return;
    }
    zws__ws_schedule(ws);
}

void zws__loop_accept(zws_loop *l)
{
    if (l->stopping)
        return;
    for (int i = 0; i < 256; i++) { /* bounded: other events get their turn */
        int fd = accept4(l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                fprintf(stderr, "zws: accept: %s\n", strerror(errno));
            return;
        }
        zws__loop_accepted(l, fd);
    }
    zws__loop_wake(l); /* more may wait: come back after this pass */
}

/* ---- the upgrade ---- */

static const zws__route *find_route(const zws_server *srv, const char *path, size_t len)
{
    const char *q = memchr(path, '?', len);
    size_t n = q ? (size_t)(q - path) : len;
    for (size_t i = 0; i < srv->nroutes; i++) {
        const zws__route *r = &srv->routes[i];
        if (strlen(r->path) == n && memcmp(r->path, path, n) == 0)
            return r;
    }
    return srv->any;
}

/* A session to carry the answer (and, after a 101, the connection); for a
 * client, the request first. */
int zws__ws_start_session(zws_ws *ws, enum zws_role role)
{
    if (ws->s.live)
        return 0;
    int r = zws__session_init(&ws->s, &ws->loop->scfg[role]);
    if (r)
        return r;
    zws__session_input_at(&ws->s, ws->loop->now);
    return 0;
}

/* Answers with raw HTTP bytes, then closes (K_HTTP). */
static void answer_and_close(zws_ws *ws, const char *resp, int n)
{
    addr_done_handshake(ws);
    ws->kind = ZWS__K_HTTP;
    zws__ws_set_hs_deadline(ws, ws->loop->now + (ws->loop->srv->write_ms > 0
                                                      ? ws->loop->srv->write_ms
                                                      : LINGER_MS));
    if (n <= 0 || zws__ws_start_session(ws, ZWS_ROLE_SERVER) || zws__session_append(&ws->s, resp, (size_t)n, 1)) {
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
        return;
    }
    zws__ws_dirty(ws);
    zws__ws_schedule(ws);
}

static void refuse(zws_ws *ws, int status, const char *why, const zws_http_header *extra,
                   size_t n_extra)
{
    char resp[2048];
    int n = zws__upgrade_build_refusal(status, why, extra, n_extra, resp, sizeof resp);
    answer_and_close(ws, resp, n);
}

static void http_answer(zws_ws *ws, const zws__route *route, const zws_http_request *req)
{
    zws_handshake_request hr;
    memset(&hr, 0, sizeof hr);
    hr.path = req->target;
    hr.path_len = req->target_len;
    hr.headers = req->headers;
    hr.num_headers = req->num_headers;
    zws_http_reply rep = {.status = 200, .content_type = "text/plain"};
    route->http(route->ud, &hr, &rep);
    if (rep.status < 100 || rep.status > 599)
        rep.status = 500;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     rep.status, zws_http_status_text(rep.status),
                     rep.content_type ? rep.content_type : "text/plain", rep.body_len);
    if (n <= 0 || (size_t)n >= sizeof head) {
        refuse(ws, 500, "bad reply", NULL, 0);
        return;
    }
    answer_and_close(ws, head, n);
    if (!(ws->flags & ZWS__F_DEAD) && rep.body_len &&
        zws__session_append(&ws->s, rep.body, rep.body_len, 1))
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
}

/* The 101 goes out at once from the stack, so a connection that then stays
 * idle never has an output buffer; only what the socket did not take is
 * queued (first, before anything the open handler sends). */
static int queue_101(zws_ws *ws, const char *resp, size_t n)
{
    struct iovec v = {.iov_base = (void *)(uintptr_t)resp, .iov_len = n};
    ptrdiff_t w = zws__transport_ssl(&ws->tr) ? 0 : zws__transport_writev(&ws->tr, &v, 1, 0);
    if (w == ZWS_EAGAIN)
        w = 0;
    if (w < 0)
        return (int)w;
    ws->last_write = zws__ms32_of(ws->loop->now);
    return (size_t)w < n ? zws__session_append(&ws->s, resp + w, n - (size_t)w, 1) : 0;
}

typedef struct {
    const zws__route *route;
    void **user;
} hook_ctx;

static int route_hook(void *ctx, zws_upgrade *u)
{
    hook_ctx *h = ctx;
    return h->route->h.upgrade(h->route->ud, u, h->user);
}

/* Upgrades ws for the validated request; 0, or the connection was answered
 * otherwise (refused, killed). */
static int upgrade(zws_ws *ws, const zws__route *route, const zws_handshake_request *hs)
{
    zws_server *srv = ws->loop->srv;
    zws_upgrade u;
    zws__upgrade_ext ext;
    const char *why;
    void *user = NULL;
    hook_ctx ctx = {route, &user};
    int status = zws__upgrade_decide(srv->o, hs, route->h.upgrade ? route_hook : NULL, &ctx,
                                     &u, &ext, &why);
    if (status) {
        refuse(ws, status, why, u.headers, u.headers ? u.num_headers : 0);
        return -1;
    }
    char resp[4096];
    int n = zws__upgrade_build_101(srv->o, hs, &u, &ext, resp, sizeof resp);
    if (n < 0) {
        refuse(ws, n == ZWS_ENOMEM ? 503 : 500, "cannot build the answer", NULL, 0);
        return -1;
    }
    zws_loop *l = ws->loop;
    if (zws__ws_start_session(ws, ZWS_ROLE_SERVER) ||
        (ext.deflate && zws__session_set_deflate(&ws->s, &ext.pmd, &srv->o->pmd)) ||
        queue_101(ws, resp, (size_t)n) ||
        zws__ws_set_names(ws, route, hs->path, hs->path_len, u.subprotocol,
                          u.subprotocol ? strlen(u.subprotocol) : 0)) {
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
        return -1;
    }
    ws->id = ((uint64_t)(l->index + 1) << 56) | ++l->next_seq;
    if (zws__ids_put(l, ws)) {
        zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
        return -1;
    }
    addr_done_handshake(ws);
    zws__ws_opened(ws, route, user);
    return 0;
}

/* Upgraded (either role): the session runs, open is called. */
void zws__ws_opened(zws_ws *ws, const zws__route *route, void *user)
{
    ws->kind = ZWS__K_WS;
    ws->route = route;
    ws->user = user;
    zws__ws_set_hs_deadline(ws, -1);
    ws->flags |= ZWS__F_OPENED;
    zws__session_input_at(&ws->s, ws->loop->now);
    zws__ws_dirty(ws);
    if (route->h.open)
        route->h.open(ws);
}

static int has_ws_handlers(const zws__route *r)
{
    return r->h.open || r->h.message || r->h.upgrade || r->h.close;
}

/* The request head in buf[0..len): answers it; returns the bytes it took
 * (frames may follow), or 0 while incomplete. */
static size_t handshake_input(zws_ws *ws, uint8_t *buf, size_t len)
{
    zws_server *srv = ws->loop->srv;
    zws_http_request req;
    zws_http_header hdrs[ZWS__MAX_HEADERS];
    int head = zws_http_parse_request(&req, buf, len, hdrs, ZWS__MAX_HEADERS, HEAD_MAX);
    if (head == 0)
        return 0;
    if (head == ZWS_ETOOBIG) {
        refuse(ws, 431, req.error ? req.error : "request head too large", NULL, 0);
        return len;
    }
    if (head < 0) {
        refuse(ws, 400, req.error ? req.error : "malformed request", NULL, 0);
        return len;
    }
    const zws__route *route = find_route(srv, req.target, req.target_len);
    if (route && route->http && !zws_http_find_header(req.headers, req.num_headers, "Upgrade")) {
        http_answer(ws, route, &req);
        return len;
    }
    zws_handshake_request hs;
    if (zws_handshake_validate_request(&req, &hs)) {
        refuse(ws, hs.status, hs.error, NULL, 0);
        return len;
    }
    if (!route || !has_ws_handlers(route)) {
        refuse(ws, 404, "no WebSocket route for this path", NULL, 0);
        return len;
    }
    return upgrade(ws, route, &hs) ? len : (size_t)head;
}

/* ---- input ---- */

/* Events from buf[0..len) for an open connection; returns the bytes taken. */
static size_t ws_input(zws_ws *ws, uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (!(ws->flags & ZWS__F_DEAD)) {
        size_t used;
        zws_event ev;
        int r = zws__session_recv(&ws->s, buf + off, len - off, &used, &ev);
        off += used;
        ws->loop->ws_bytes_in += used;
        if (r == 0)
            break;
        if (r < 0) { /* the peer broke the protocol: our close is queued */
            if (r != ZWS_ECLOSED)
                ws_ended(ws, ev.close_code, ev.reason, ev.reason_len);
            zws__ws_dirty(ws);
            return len;
        }
        const zws_handlers *h = &ws->route->h;
        int open = ws->s.state == ZWS__S_OPEN;
        if (r == ZWS_EV_MESSAGE && open && h->message) {
            zws_loop *l = ws->loop;
            zws_ws *was_ws = l->cur_ws;
            const zws_event *was_ev = l->cur_ev;
            l->cur_ws = ws;
            l->cur_ev = &ev;
            h->message(ws, ev.opcode, ev.data, ev.len);
            l->cur_ws = was_ws;
            l->cur_ev = was_ev;
        } else if (r == ZWS_EV_PING && h->ping) {
            h->ping(ws, ev.data, ev.len);
        } else if (r == ZWS_EV_PONG && h->pong) {
            h->pong(ws, ev.data, ev.len);
        } else if (r == ZWS_EV_CLOSE) {
            ws_ended(ws, ev.close_code, ev.reason, ev.reason_len);
            zws__ws_dirty(ws);
            return len;
        }
    }
    if (ws->s.replies) {
        ws->s.replies = 0;
        zws__ws_dirty(ws);
    }
    return off;
}

static size_t input(zws_ws *ws, uint8_t *buf, size_t len)
{
    size_t off = 0;
    if (ws->kind == ZWS__K_HANDSHAKE || ws->kind == ZWS__K_CONNECTING) {
        off = ws->kind == ZWS__K_CONNECTING ? zws__client_head(ws, buf, len)
                                            : handshake_input(ws, buf, len);
        if (ws->kind != ZWS__K_WS)
            return off ? len : 0;
    }
    if (ws->kind == ZWS__K_WS && off < len)
        off += ws_input(ws, buf + off, len - off);
    return ws->kind == ZWS__K_WS ? off : len;
}

/* Keeps buf[0..n) for the next read: the only per-connection input memory,
 * freed as soon as nothing is left. */
static int keep(zws_ws *ws, const uint8_t *buf, size_t n)
{
    if (!n) {
        zws__free(ws->keep);
        ws->keep = NULL;
        return 0;
    }
    if (!ws->keep || n > ws->keep->cap) {
        zws__kept *k = zws__realloc(ws->keep, sizeof *k + n);
        if (!k)
            return ZWS_ENOMEM;
        k->cap = n;
        ws->keep = k;
    }
    memmove(ws->keep->data, buf, n);
    ws->keep->len = n;
    return 0;
}

static void tls_step(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    char err[256];
    int r = zws__transport_tls_server(&ws->tr, l->srv->tls, 0, err, sizeof err);
    if (r == ZWS_EAGAIN) {
        zws__ws_want_out(ws, ws->tr.want == POLLOUT);
        return;
    }
    if (r) {
        zws__ws_kill(ws, ZWS_CLOSE_TLS, NULL);
        return;
    }
    ws->flags &= ~ZWS__F_TLS;
    zws__ws_want_out(ws, 0);
}

/* After our shutdown: discard until EOF, then close. */
static void linger_read(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    for (;;) {
        ptrdiff_t n = zws__transport_read(&ws->tr, l->rbuf, ZWS__RBUF_SIZE, 0);
        if (n == ZWS_EAGAIN)
            return;
        if (n <= 0) {
            zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
            return;
        }
    }
}

/* Input in buf[0..total), behind nothing kept: events out, the rest kept.
 * 0, or -1 when ws is gone (or was answered and only lingers). */
static int consume(zws_ws *ws, uint8_t *buf, size_t total)
{
    if (ws->kind == ZWS__K_WS)
        zws__session_input_at(&ws->s, ws->loop->now);
    size_t used = input(ws, buf, total);
    if (ws->flags & ZWS__F_DEAD)
        return -1;
    if (keep(ws, buf + used, total - used)) {
        zws__ws_kill(ws, ZWS_CLOSE_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

/* What every read ends with: memory trimmed and accounted, timers moved. */
static void after_input(zws_ws *ws)
{
    if (ws->flags & ZWS__F_DEAD)
        return;
    if (ws->kind == ZWS__K_WS && ws->s.p) {
        if (zws__session_done(&ws->s)) /* nothing more will be assembled */
            zws__parser_release(ws->s.p);
        else
            zws__parser_trim(ws->s.p, ZWS__TRIM_ABOVE);
    }
    charge(ws);
    zws__ws_schedule(ws);
}

/* Only discarding: after our shutdown, or once answered or done. */
static int lingering(const zws_ws *ws)
{
    return (ws->flags & ZWS__F_SHUT) || ws->kind == ZWS__K_HTTP ||
           (ws->kind == ZWS__K_WS && zws__session_done(&ws->s));
}

static void lost(zws_ws *ws)
{
    if (ws->kind == ZWS__K_WS)
        ws_ended(ws, ZWS_CLOSE_ABNORMAL, "connection lost", 15);
    zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, "connection lost");
}

void zws__ws_received(zws_ws *ws, uint8_t *data, size_t n)
{
    if (ws->flags & ZWS__F_DEAD)
        return;
    if (n == 0) {
        if (lingering(ws))
            zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, NULL);
        else
            lost(ws);
        return;
    }
    if (lingering(ws))
        return;
    if (!ws->keep) { /* in place: views into the backend's buffer */
        if (consume(ws, data, n) == 0)
            after_input(ws);
        return;
    }
    zws_loop *l = ws->loop;
    while (n && !lingering(ws)) { /* behind what was kept, in the loop's buffer */
        size_t off = ws->keep ? ws->keep->len : 0, take = ZWS__RBUF_SIZE - off;
        if (take > n)
            take = n;
        if (off)
            memcpy(l->rbuf, ws->keep->data, off);
        memcpy(l->rbuf + off, data, take);
        data += take;
        n -= take;
        if (consume(ws, l->rbuf, off + take))
            return;
    }
    after_input(ws);
}

void zws__ws_readable(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    if (ws->kind == ZWS__K_CONNECTING && !zws__client_sent(ws)) {
        zws__client_step(ws);
        return;
    }
    if (ws->flags & ZWS__F_TLS) {
        tls_step(ws);
        if (ws->flags & (ZWS__F_TLS | ZWS__F_DEAD))
            return;
    }
    if (lingering(ws)) {
        linger_read(ws);
        return;
    }
    size_t taken = 0;
    for (;;) {
        uint8_t *dst;
        size_t room;
        ptrdiff_t n;
        if (ws->kind == ZWS__K_WS && (room = zws__session_direct(&ws->s, &dst)) != 0) {
            /* a large frame: straight into its message buffer, once the
             * budget has taken its reservation */
            charge(ws);
            if (zws__session_done(&ws->s))
                break;
            n = zws__transport_read(&ws->tr, dst, room, 0);
            if (n > 0) {
                zws_event ev;
                zws__session_input_at(&ws->s, l->now);
                l->ws_bytes_in += (uint64_t)n;
                if (zws__session_direct_done(&ws->s, (size_t)n, &ev) < 0) {
                    ws_ended(ws, ev.close_code, ev.reason, ev.reason_len);
                    zws__ws_dirty(ws);
                    break;
                }
                ws_input(ws, l->rbuf, 0); /* the frame may now be whole */
                continue;
            }
        } else {
            size_t off = ws->keep ? ws->keep->len : 0;
            room = ZWS__RBUF_SIZE - off;
            n = zws__transport_read(&ws->tr, l->rbuf + off, room, 0);
            if (n > 0) {
                if (off)
                    memcpy(l->rbuf, ws->keep->data, off);
                if (consume(ws, l->rbuf, off + (size_t)n))
                    return;
            }
        }
        if (n == ZWS_EAGAIN)
            break;
        if (n <= 0) { /* EOF or a reset: without a close frame */
            lost(ws);
            return;
        }
        if (lingering(ws))
            break;
        taken += (size_t)n;
        if (taken >= (size_t)ZWS__READS_PER_PASS * ZWS__RBUF_SIZE) {
            zws__ws_again(ws); /* more may wait: the next pass reads on */
            break;
        }
        /* A short plain read drained the socket (edge-triggered: new data
         * brings a new event). TLS returns a record at a time: its socket
         * is drained when OpenSSL's last recv() came up short and it holds
         * nothing more. */
        if ((size_t)n < room &&
            (!zws__transport_ssl(&ws->tr) ||
             (ws->tr.x->drained && zws__transport_pending(&ws->tr) == 0)))
            break;
    }
    after_input(ws);
}

/* ---- stopping ---- */

void zws__loop_begin_stop(zws_loop *l)
{
    l->stopping = 1;
    l->stop_deadline = l->now + (l->srv->o->timeout[ZWS_TIMEOUT_CLOSE] > 0
                                     ? l->srv->o->timeout[ZWS_TIMEOUT_CLOSE]
                                     : 5000);
    if (l->listen_fd >= 0) {
        close(l->listen_fd);
        l->listen_fd = -1;
    }
    for (zws_ws *ws = l->conns, *next; ws; ws = next) {
        next = ws->next;
        if (ws->kind == ZWS__K_WS && ws->s.state == ZWS__S_OPEN) {
            zws__session_close(&ws->s, ZWS_CLOSE_GOING_AWAY, "server shutting down", 20);
            zws__ws_dirty(ws);
            zws__ws_schedule(ws);
        } else if (ws->kind == ZWS__K_HANDSHAKE) {
            zws__ws_kill(ws, ZWS_CLOSE_GOING_AWAY, NULL);
        }
    }
}
