/* The application's API of the event-loop server (zws/server.h): the
 * server object, its loops' threads, and the zws_ws calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/deflate.h"
#include "internal/loop.h"
#include "internal/tls.h"
#include "zws/frame.h"
#include "zws/handshake.h"

/* ---- the server ---- */

int zws_server_new(zws_server **out, const zws_opts *o, char *err, size_t errlen)
{
    zws__errf(err, errlen, "%s", "");
    zws_server *srv = zws__malloc(sizeof *srv);
    if (!srv)
        return ZWS_ENOMEM;
    memset(srv, 0, sizeof *srv);
    srv->first_fd = -1;
    srv->idle_ms = 120000;
    srv->write_ms = 30000;
    srv->bp_max = (size_t)16 << 20;
    srv->bp_low = srv->bp_max / 4;
    pthread_mutex_init(&srv->alock, NULL);
    int r = zws__opts_copy(&srv->o, o);
    if (!r) /* the options' limits, until zws_server_set_limits */
        r = zws__limits_new(&srv->lim, srv->o->per_addr_hs, srv->o->per_addr_conns,
                            srv->o->budget);
    if (!r && srv->o->cert_file)
        r = zws__tls_server_ctx(&srv->tls, srv->o->cert_file, srv->o->key_file, err, errlen);
    if (!r) {
        /* OpenSSL's one-time set-up behind the first SHA-1 (configuration,
         * providers: some 2 MiB of its code paged in) happens now, not in
         * the first client's handshake. */
        char accept[ZWS_HANDSHAKE_ACCEPT_LEN + 1];
        (void)zws_handshake_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept);
    }
    if (r) {
        zws_server_free(srv);
        return r;
    }
    *out = srv;
    return 0;
}

void zws_server_free(zws_server *srv)
{
    if (!srv)
        return;
    for (size_t i = 0; i < srv->nroutes; i++)
        zws__free(srv->routes[i].path);
    zws__free(srv->routes);
    zws__limits_unref(srv->lim);
    if (srv->first_fd >= 0)
        close(srv->first_fd);
    if (srv->tls)
        zws__tls_ctx_free(srv->tls);
    if (srv->client_tls)
        zws__tls_ctx_free(srv->client_tls);
    zws_opts_free(srv->o);
    zws__free(srv->host_copy);
    pthread_mutex_destroy(&srv->alock);
    zws__free(srv);
}

static int add_route(zws_server *srv, const char *path, const zws_handlers *h,
                     zws_http_handler http, void *ud)
{
    if (atomic_load(&srv->running))
        return ZWS_ESTATE;
    if (!path || (!h && !http))
        return ZWS_EINVAL;
    for (size_t i = 0; i < srv->nroutes; i++) {
        zws__route *r = &srv->routes[i];
        if (strcmp(r->path, path) == 0) {
            /* one path may have both a WebSocket and an HTTP route */
            int taken = h ? (r->h.open || r->h.message || r->h.upgrade || r->h.close)
                          : r->http != NULL;
            if (taken)
                return ZWS_EINVAL;
            if (h)
                r->h = *h, r->ud = ud;
            else
                r->http = http, r->ud = r->ud ? r->ud : ud;
            return 0;
        }
    }
    zws__route *rs = zws__realloc(srv->routes, (srv->nroutes + 1) * sizeof *rs);
    if (!rs)
        return ZWS_ENOMEM;
    srv->routes = rs;
    zws__route *r = &rs[srv->nroutes];
    memset(r, 0, sizeof *r);
    size_t n = strlen(path) + 1;
    if (!(r->path = zws__malloc(n)))
        return ZWS_ENOMEM;
    memcpy(r->path, path, n);
    if (h)
        r->h = *h;
    r->http = http;
    r->ud = ud;
    srv->nroutes++;
    srv->any = NULL; /* the array may have moved */
    for (size_t i = 0; i < srv->nroutes; i++)
        if (strcmp(srv->routes[i].path, "*") == 0)
            srv->any = &srv->routes[i];
    return 0;
}

int zws_server_route(zws_server *srv, const char *path, const zws_handlers *h, void *ud)
{
    return h ? add_route(srv, path, h, NULL, ud) : ZWS_EINVAL;
}

int zws_server_http_route(zws_server *srv, const char *path, zws_http_handler h, void *ud)
{
    return h ? add_route(srv, path, NULL, h, ud) : ZWS_EINVAL;
}

void zws_server_set_timeouts(zws_server *srv, int idle_ms, int ping_ms, int write_ms)
{
    srv->idle_ms = idle_ms > 0 ? idle_ms : 0;
    srv->ping_ms = ping_ms > 0 ? ping_ms : 0;
    srv->write_ms = write_ms > 0 ? write_ms : 0;
}

void zws_server_set_backpressure(zws_server *srv, size_t max, size_t low,
                                 enum zws_backpressure policy)
{
    srv->bp_max = max ? max : SIZE_MAX / 2;
    srv->bp_low = low <= srv->bp_max ? low : srv->bp_max;
    srv->bp_policy = policy;
}

void zws_server_set_limits(zws_server *srv, int per_addr_handshakes, int per_addr_conns,
                           size_t memory_budget)
{
    srv->lim->per_addr_hs = per_addr_handshakes > 0 ? per_addr_handshakes : 0;
    srv->lim->per_addr_conns = per_addr_conns > 0 ? per_addr_conns : 0;
    srv->lim->budget = memory_budget;
}

static const zws__backend *backend_named(const char *name)
{
    if (strcmp(name, "epoll") == 0)
        return &zws__epoll_backend;
    if (strcmp(name, "uring") == 0 || strcmp(name, "io_uring") == 0)
        return zws__uring_backend ? zws__uring_backend : &zws__epoll_backend;
    return NULL;
}

int zws_server_set_backend(zws_server *srv, const char *name)
{
    if (!name) {
        srv->be = NULL;
        return 0;
    }
    const zws__backend *be = backend_named(name);
    if (!be)
        return ZWS_EINVAL;
    srv->be = be;
    return 0;
}

int zws_server_listen(zws_server *srv, const char *host, uint16_t port, char *err,
                      size_t errlen)
{
    if (srv->first_fd >= 0 || atomic_load(&srv->running))
        return ZWS_ESTATE;
    if (host && !(srv->host_copy = zws__malloc(strlen(host) + 1)))
        return ZWS_ENOMEM;
    if (host)
        strcpy(srv->host_copy, host);
    srv->host = srv->host_copy;
    int r = zws__tcp_listen(&srv->first_fd, host, port, ZWS__LISTEN_REUSEPORT, &srv->port,
                            err, errlen);
    srv->listening = r == 0;
    return r;
}

uint16_t zws_server_port(const zws_server *srv) { return srv->port; }

void zws_server_on_loop(zws_server *srv, void (*fn)(zws_loop *, void *), void *arg)
{
    srv->on_loop = fn;
    srv->on_loop_arg = arg;
}

static void *loop_thread(void *arg)
{
    zws__loop_run(arg);
    return NULL;
}

/* The backend: the one asked for, else ZWS_LOOP, else the default; io_uring
 * that cannot start falls back to epoll, said once. */
static const zws__backend *choose_backend(zws_server *srv)
{
    const zws__backend *be = srv->be;
    const char *env = getenv("ZWS_LOOP");
    if (!be && env && *env) {
        be = backend_named(env);
        if (!be)
            fprintf(stderr, "zws: ZWS_LOOP=%s is not a loop backend (epoll, uring); "
                            "using epoll\n", env);
    }
    return be ? be : &zws__epoll_backend;
}

static int start_loops(zws_server *srv, int n)
{
    const zws__backend *be = choose_backend(srv);
    srv->loops = zws__malloc((size_t)n * sizeof *srv->loops);
    if (!srv->loops)
        return ZWS_ENOMEM;
    memset(srv->loops, 0, (size_t)n * sizeof *srv->loops);
    for (int i = 0; i < n; i++) {
        int r = zws__loop_new(&srv->loops[i], srv, i, be);
        if (r)
            return r;
        zws_loop *l = srv->loops[i];
        char err[256];
        if (i == 0) {
            l->listen_fd = srv->first_fd;
            srv->first_fd = -1;
        } else if (srv->listening && (r = zws__tcp_listen(&l->listen_fd, srv->host, srv->port,
                                                          ZWS__LISTEN_REUSEPORT, NULL, err,
                                                          sizeof err))) {
            fprintf(stderr, "zws: %s\n", err);
            return r;
        }
    }
    srv->be = be;
    atomic_store_explicit(&srv->nloops, n, memory_order_release); /* published */
    return 0;
}

/* On the loop's own thread (an io_uring ring belongs to the thread that
 * made it): the backend chosen, or epoll when io_uring cannot start. */
int zws__loop_start_backend(zws_loop *l)
{
    int r = l->be->init(l);
    if (r && l->be != &zws__epoll_backend) {
        if (!atomic_exchange(&l->srv->fell_back, 1))
            fprintf(stderr, "zws: io_uring unavailable (%s); using epoll\n",
                    zws_strerror(r));
        l->be = &zws__epoll_backend;
        r = l->be->init(l);
    }
    zws_server *srv = l->srv;
    for (int role = ZWS_ROLE_SERVER; role <= ZWS_ROLE_CLIENT; role++)
        l->scfg[role] = (zws__session_cfg){
            .role = (enum zws_role)role,
            .max_frame = srv->o->max_frame,
            .max_message = srv->o->max_message,
            .buffer_size = l->be->chunk ? l->be->chunk : ZWS__RBUF_SIZE,
            .surface = srv->o->surface,
            .max_pending = SIZE_MAX / 2, /* the backpressure policy decides */
            .keys = l->keys,
            .lazy = 1,
            .t = {.idle = srv->idle_ms,
                  .ping = srv->ping_ms,
                  .pong = srv->ping_ms,
                  .close = srv->o->timeout[ZWS_TIMEOUT_CLOSE]},
            .clock = &l->now,
        };
    return r;
}

const char *zws_server_backend(const zws_server *srv)
{
    if (atomic_load(&srv->fell_back))
        return zws__epoll_backend.name;
    return srv->be ? srv->be->name : zws__epoll_backend.name;
}

int zws_server_run(zws_server *srv, int nthreads)
{
    if (atomic_exchange(&srv->running, 1))
        return ZWS_ESTATE;
    if (nthreads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = c > 0 ? (int)c : 1;
    }
    int r = start_loops(srv, nthreads);
    int started = 1;
    for (int i = 1; !r && i < nthreads; i++, started++)
        if (pthread_create(&srv->loops[i]->thread, NULL, loop_thread, srv->loops[i]))
            r = ZWS_EIO;
    if (r)
        zws_server_stop(srv);
    if (!r)
        r = zws__loop_run(srv->loops[0]) ? ZWS_EIO : r;
    for (int i = 1; i < started; i++)
        pthread_join(srv->loops[i]->thread, NULL);
    /* No more posting to these loops; wait out the calls already in. */
    atomic_store(&srv->nloops, 0);
    while (atomic_load(&srv->users))
        sched_yield();
    for (int i = 0; srv->loops && i < nthreads; i++)
        zws__loop_free(srv->loops[i]);
    zws__free(srv->loops);
    srv->loops = NULL;
    srv->listening = 0;
    atomic_store(&srv->stop, 0);
    atomic_store(&srv->running, 0);
    return r;
}

/* Calls from other threads hold srv->users while they touch the loops, so
 * zws_server_run frees them only after the last one is out (atomics only:
 * zws_server_stop stays safe in a signal handler). */
static int enter(zws_server *srv)
{
    atomic_fetch_add(&srv->users, 1);
    return atomic_load(&srv->nloops);
}

static void leave(zws_server *srv) { atomic_fetch_sub(&srv->users, 1); }

void zws_server_stop(zws_server *srv)
{
    atomic_store(&srv->stop, 1);
    int n = enter(srv);
    for (int i = 0; i < n; i++)
        zws__loop_wake(srv->loops[i]);
    leave(srv);
}

zws_loop *zws_server_loop(zws_server *srv, int index)
{
    int n = enter(srv);
    zws_loop *l = index >= 0 && index < n ? srv->loops[index] : NULL;
    leave(srv);
    return l;
}

/* ---- connections ---- */

int zws__ws_admit(zws_ws *ws, size_t add)
{
    if (ws->kind != ZWS__K_WS || ws->s.state != ZWS__S_OPEN)
        return ZWS_ECLOSED;
    zws_server *srv = ws->loop->srv;
    if (zws__session_pending(&ws->s) + add <= srv->bp_max)
        return 0;
    if (srv->bp_policy == ZWS_BP_DROP)
        return ZWS_ENOSPACE;
    zws__ws_fail(ws, ZWS_CLOSE_POLICY, "too much output buffered for a slow reader");
    return ZWS_ECLOSED;
}

#define DIRECT_MIN (16u << 10) /* payloads written at once when nothing waits */

/* A large server payload with nothing queued before it: written now, header
 * and payload by reference, so it is never copied; what the socket does not
 * take is queued. 1 when it did, 0 to queue it the usual way. */
static int send_direct(zws_ws *ws, unsigned opcode, const void *data, size_t len, int *r)
{
    if (len < DIRECT_MIN || ws->s.role != ZWS_ROLE_SERVER || zws__transport_ssl(&ws->tr) ||
        zws__session_compresses(&ws->s, len) ||
        zws__session_pending(&ws->s) || ws->s.state != ZWS__S_OPEN || opcode > ZWS_OP_BINARY)
        return 0;
    uint8_t hdr[ZWS_FRAME_MAX_HEADER];
    struct iovec iov[2];
    zws_writer *w = zws__session_writer(&ws->s);
    if (!w || zws_writer_iov(w, opcode, data, len, 0, hdr, sizeof hdr, iov, 2) != 2)
        return 0; /* fragmented by a frame size: the usual way */
    ptrdiff_t n = zws__transport_writev(&ws->tr, iov, 2, 0);
    if (n == ZWS_EAGAIN)
        n = 0;
    if (n < 0) { /* the next pass finds the error and ends the connection */
        zws__ws_dirty(ws);
        *r = 0;
        return 1;
    }
    size_t h = iov[0].iov_len, done = (size_t)n;
    *r = 0;
    if (done) {
        ws->last_write = zws__ms32_of(ws->loop->now);
        ws->flags |= ZWS__F_MOVED;
    }
    if (done < h)
        *r = zws__session_append(&ws->s, hdr + done, h - done, 0);
    if (!*r && done < h + len) {
        size_t off = done > h ? done - h : 0;
        *r = zws__session_append(&ws->s, (const uint8_t *)data + off, len - off, 0);
    }
    /* a whole write still passes the flush when the route has a drain
     * handler: the output moved, so it may want more */
    if (done < h + len || ws->route->h.drain)
        zws__ws_dirty(ws);
    return 1;
}

int zws_ws_send(zws_ws *ws, unsigned opcode, const void *data, size_t len)
{
    int r = zws__ws_admit(ws, len);
    if (!r && send_direct(ws, opcode, data, len, &r))
        return r;
    if (!r)
        r = zws__session_send(&ws->s, opcode, data, len, 0);
    if (!r)
        zws__ws_dirty(ws);
    return r;
}

int zws_ws_send_frames(zws_ws *ws, zws_buf *frames)
{
    if (ws->kind == ZWS__K_WS && ws->s.role != ZWS_ROLE_SERVER)
        return ZWS_EINVAL; /* a client's frames are masked one by one */
    int r = zws__ws_admit(ws, zws_buf_len(frames));
    if (!r)
        r = zws__session_send_frames(&ws->s, frames);
    if (!r)
        zws__ws_dirty(ws);
    return r;
}

int zws_ws_send_part(zws_ws *ws, unsigned opcode, const void *data, size_t len, int more)
{
    int r = zws__ws_admit(ws, len);
    if (!r)
        r = zws__session_send(&ws->s, opcode, data, len, more ? ZWS_WRITE_MORE : 0);
    if (!r)
        zws__ws_dirty(ws);
    return r;
}

int zws_ws_send_buf(zws_ws *ws, unsigned opcode, zws_buf *b)
{
    int r = zws__ws_admit(ws, zws_buf_len(b));
    if (!r)
        r = zws__session_send_ref(&ws->s, opcode, b, 0, zws_buf_len(b));
    if (!r)
        zws__ws_dirty(ws);
    return r;
}

int zws_ws_ping(zws_ws *ws, const void *data, size_t len)
{
    if (ws->kind != ZWS__K_WS)
        return ZWS_ECLOSED;
    int r = zws__session_ping(&ws->s, data, len);
    if (!r)
        zws__ws_dirty(ws);
    return r;
}

int zws_ws_close(zws_ws *ws, uint16_t code, const char *reason)
{
    if (ws->kind != ZWS__K_WS)
        return ZWS_ECLOSED;
    int r = zws__session_close(&ws->s, code, reason, reason ? strlen(reason) : 0);
    if (!r) {
        zws__ws_dirty(ws);
        zws__ws_schedule(ws);
    }
    return r;
}

int zws_ws_keep(zws_ws *ws, zws_buf **out)
{
    const zws_event *ev = ws->loop->cur_ev;
    if (ws->loop->cur_ws != ws || !ev)
        return ZWS_ESTATE;
    if (ev->flags & ZWS_EV_ASSEMBLED) /* delivered: the parser exists */
        return zws_parser_detach(ws->s.p, out);
    *out = zws_buf_new_copy(ev->data, ev->len);
    return *out ? 0 : ZWS_ENOMEM;
}

int zws_ws_compressed(const zws_ws *ws)
{
    const zws_event *ev = ws->loop->cur_ev;
    /* RSV1 passes the parser only when permessage-deflate was agreed */
    return ws->loop->cur_ws == ws && ev && (ev->rsv & ZWS_RSV1) ? 1 : 0;
}

size_t zws_ws_buffered(const zws_ws *ws) { return ws->s.live ? zws__session_pending(&ws->s) : 0; }
void *zws_ws_user(const zws_ws *ws) { return ws->user; }
void zws_ws_set_user(zws_ws *ws, void *user) { ws->user = user; }
const char *zws_ws_path(const zws_ws *ws)
{
    if (ws->names)
        return ws->names;
    return (ws->flags & ZWS__F_RPATH) ? ws->route->path : "/";
}
const char *zws_ws_subprotocol(const zws_ws *ws)
{
    return ws->names ? ws->names + strlen(ws->names) + 1 : "";
}
const char *zws_ws_extensions(const zws_ws *ws) { return zws__session_extensions(&ws->s); }
uint64_t zws_ws_id(const zws_ws *ws) { return ws->id; }
zws_loop *zws_ws_loop(const zws_ws *ws) { return ws->loop; }
zws_server *zws_ws_server(const zws_ws *ws) { return ws->loop->srv; }

/* ---- from any thread ---- */

typedef struct {
    uint64_t id;
    unsigned opcode;
    zws_buf *b;
} send_task;

static void run_send(zws_loop *l, void *arg)
{
    send_task *t = arg;
    zws_ws *ws = l ? zws__ids_get(l, t->id) : NULL;
    if (ws)
        zws_ws_send_buf(ws, t->opcode, t->b);
    zws_buf_unref(t->b);
    zws__free(t);
}

int zws_server_send(zws_server *srv, uint64_t id, unsigned opcode, const void *data,
                    size_t len)
{
    int index = (int)(id >> 56) - 1;
    if (opcode != ZWS_OP_TEXT && opcode != ZWS_OP_BINARY)
        return ZWS_EINVAL;
    send_task *t = zws__malloc(sizeof *t);
    zws_buf *b = zws_buf_new_copy(data, len);
    if (!t || !b) {
        zws__free(t);
        zws_buf_unref(b);
        return ZWS_ENOMEM;
    }
    *t = (send_task){id, opcode, b};
    int n = enter(srv);
    int r = index >= 0 && index < n ? zws_loop_post(srv->loops[index], run_send, t)
                                    : ZWS_EINVAL;
    leave(srv);
    if (r) {
        zws_buf_unref(b);
        zws__free(t);
    }
    return r;
}

typedef struct {
    zws_buf *frame;
    size_t tlen;
    char topic[256];
} publish_task;

static void run_publish(zws_loop *l, void *arg)
{
    publish_task *t = arg;
    if (l)
        zws__topics_deliver(l, t->topic, t->tlen, t->frame);
    zws_buf_unref(t->frame);
    zws__free(t);
}

static int post_publish(zws_loop *l, const char *topic, size_t tlen, zws_buf *frame)
{
    publish_task *t = zws__malloc(sizeof *t);
    if (!t)
        return ZWS_ENOMEM;
    t->frame = zws_buf_ref(frame);
    t->tlen = tlen;
    memcpy(t->topic, topic, tlen);
    int r = zws_loop_post(l, run_publish, t);
    if (r) {
        zws_buf_unref(frame);
        zws__free(t);
    }
    return r;
}

int zws_server_publish(zws_server *srv, const char *topic, const void *data, size_t len,
                       unsigned opcode)
{
    size_t tlen = topic ? strlen(topic) : 0;
    if (!topic || tlen > 255 || (opcode != ZWS_OP_TEXT && opcode != ZWS_OP_BINARY))
        return ZWS_EINVAL;
    /* The frame, once: header and payload, unmasked (server to clients). */
    size_t hl = zws_frame_header_size(len, 0);
    zws_buf *frame = zws_buf_new(hl + len);
    if (!frame)
        return ZWS_ENOMEM;
    uint8_t *p = zws_buf_mut(frame);
    zws_frame_write_header(p, opcode, 1, 0, len, NULL);
    if (len)
        memcpy(p + hl, data, len);
    zws_loop *cur = zws__loop_current();
    if (cur && cur->srv != srv)
        cur = NULL;
    int got = cur ? zws__topics_deliver(cur, topic, tlen, frame) : 0;
    int r = 0;
    int n = enter(srv);
    for (int i = 0; i < n; i++)
        if (srv->loops[i] != cur && (r = post_publish(srv->loops[i], topic, tlen, frame)))
            break;
    leave(srv);
    zws_buf_unref(frame);
    return r ? r : got;
}
