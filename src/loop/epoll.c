/* The epoll backend: edge-triggered, non-blocking sockets. A connection is
 * watched for input from the start; writability is asked for only while a
 * write came up short (so a busy socket's ACKs wake nobody), and dropped
 * again once its output drains. */
#include <sys/epoll.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/loop.h"

#define EVENTS 256

typedef struct {
    int epfd;
    struct epoll_event ev[EVENTS];
} ep_state;

/* Tags for the two descriptors that are not connections. */
static char listen_tag, wake_tag;

static int ep_ctl(ep_state *e, int op, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(e->epfd, op, fd, &ev) ? ZWS_EIO : 0;
}

static int ep_init(zws_loop *l)
{
    ep_state *e = zws__malloc(sizeof *e);
    if (!e)
        return ZWS_ENOMEM;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        zws__free(e);
        return ZWS_EIO;
    }
    l->be_state = e;
    int r = ep_ctl(e, EPOLL_CTL_ADD, l->wake_fd, EPOLLIN, &wake_tag);
    if (!r && l->listen_fd >= 0)
        r = ep_ctl(e, EPOLL_CTL_ADD, l->listen_fd, EPOLLIN, &listen_tag);
    return r;
}

static void ep_free(zws_loop *l)
{
    ep_state *e = l->be_state;
    close(e->epfd);
    zws__free(e);
    l->be_state = NULL;
}

static int ep_add(zws_loop *l, zws_ws *ws)
{
    return ep_ctl(l->be_state, EPOLL_CTL_ADD, ws->tr.fd, EPOLLIN | EPOLLRDHUP | EPOLLET, ws);
}

/* Closing the descriptor removes it from the set: no call of its own. */
static void ep_del(zws_loop *l, zws_ws *ws)
{
    (void)l;
    (void)ws;
}

static void ep_want_out(zws_loop *l, zws_ws *ws, int on)
{
    uint32_t ev = EPOLLIN | EPOLLRDHUP | EPOLLET | (on ? EPOLLOUT : 0);
    ep_ctl(l->be_state, EPOLL_CTL_MOD, ws->tr.fd, ev, ws);
}

static int ep_wait(zws_loop *l, int timeout_ms)
{
    ep_state *e = l->be_state;
    int n = epoll_wait(e->epfd, e->ev, EVENTS, timeout_ms);
    l->now = zws__now_ms();
    if (n < 0)
        return 0; /* EINTR: a signal, the pass goes on */
    for (int i = 0; i < n; i++) {
        void *p = e->ev[i].data.ptr;
        uint32_t ev = e->ev[i].events;
        if (p == &listen_tag) {
            zws__loop_accept(l);
            continue;
        }
        if (p == &wake_tag) {
            zws__loop_run_tasks(l);
            continue;
        }
        zws_ws *ws = p;
        if (ws->flags & ZWS__F_DEAD) /* closed earlier in this batch */
            continue;
        if ((ev & EPOLLOUT) && (ws->flags & ZWS__F_OUT))
            zws__ws_writable(ws);
        if (!(ws->flags & ZWS__F_DEAD) && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            zws__ws_readable(ws);
    }
    return 0;
}

const zws__backend zws__epoll_backend = {
    .name = "epoll",
    .init = ep_init,
    .free = ep_free,
    .add = ep_add,
    .del = ep_del,
    .want_out = ep_want_out,
    .wait = ep_wait,
    .flush = zws__loop_flush_dirty,
};
