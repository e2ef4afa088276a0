/* The io_uring backend (liburing): multishot accept; multishot receive into
 * a ring of provided buffers, so input arrives without a read call and is
 * parsed where the kernel put it; the wake eventfd and writability as
 * multishot / one-shot polls; one io_uring_enter per pass submits every
 * re-arm and waits for the next completions.
 *
 * Writes stay writev calls at the end of the pass (one per dirty
 * connection): an io_uring send that cannot complete at once keeps reading
 * the caller's memory later, and the connection's output buffer moves as
 * the application appends to it, so handing it to the kernel asynchronously
 * would need a copy per send. TLS connections are read through OpenSSL on a
 * readiness poll, as with epoll.
 *
 * A connection named by an operation in flight is freed only after that
 * operation's last completion (zws__ws_op_done). */
#include "internal/loop.h"

#ifndef ZWS_HAVE_URING
const zws__backend *const zws__uring_backend = NULL;
#else

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal/alloc.h"

#define ENTRIES 4096
/* Provided receive buffers: 4 MiB per loop. A buffer is the backend's
 * chunk, the largest frame parsed in place; a frame that spans two buffers
 * is copied into its message buffer. 32 KiB keeps the common 16 KiB
 * payloads (16 KiB + header) in place: with 16 KiB buffers every such
 * frame was copied, and 200 x 16 KiB echoes cost 1.17x uWebSockets'
 * server CPU instead of 0.98x. */
#define NBUFS 128 /* a power of two */
#define BUF_SIZE (32u << 10)
/* From a page-aligned base, buffer i starts i * 64 bytes into a page, never
 * 1-63 bytes past one (see zws__malloc_paged). */
#define BUF_STRIDE (BUF_SIZE + ZWS__RBUF_PAD)
#define BGID 1

/* user_data: a pointer with the operation in its low bits */
enum { OP_ACCEPT = 1, OP_WAKE = 2, OP_RECV = 3, OP_POLLIN = 4, OP_POLLOUT = 5, OP_CANCEL = 6 };
#define OP_MASK 7u

typedef struct {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    int accept_armed;
} ur_state;

static struct io_uring_sqe *sqe_get(ur_state *u)
{
    struct io_uring_sqe *s = io_uring_get_sqe(&u->ring);
    if (!s) { /* full: submit what is queued to make room */
        io_uring_submit(&u->ring);
        s = io_uring_get_sqe(&u->ring);
    }
    return s;
}

static void arm(ur_state *u, int op, void *ptr, int fd)
{
    struct io_uring_sqe *s = sqe_get(u);
    if (!s)
        return;
    switch (op) {
    case OP_ACCEPT:
        io_uring_prep_multishot_accept(s, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
    case OP_WAKE:
    case OP_POLLIN:
        io_uring_prep_poll_multishot(s, fd, POLLIN);
        break;
    case OP_POLLOUT:
        io_uring_prep_poll_add(s, fd, POLLOUT);
        break;
    case OP_RECV:
        io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = BGID;
        break;
    }
    io_uring_sqe_set_data64(s, (uint64_t)(uintptr_t)ptr | (uint64_t)op);
}

static void ur_free(zws_loop *l)
{
    ur_state *u = l->be_state;
    io_uring_queue_exit(&u->ring);
    if (u->br)
        munmap(u->br, NBUFS * sizeof(struct io_uring_buf));
    zws__free_paged(u->bufs);
    zws__free(u);
    l->be_state = NULL;
}

static int ur_init(zws_loop *l)
{
    ur_state *u = zws__malloc(sizeof *u);
    if (!u)
        return ZWS_ENOMEM;
    memset(u, 0, sizeof *u);
    /* Completions are processed only when this loop asks for them, on its
     * own thread: without DEFER_TASKRUN the kernel runs the receive work at
     * the exit of any system call (our writev) and contends for the socket
     * lock there. */
    int r = io_uring_queue_init(ENTRIES, &u->ring,
                                IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (r == -EINVAL) /* kernels before 6.1 */
        r = io_uring_queue_init(ENTRIES, &u->ring, 0);
    if (r < 0) {
        zws__free(u);
        errno = -r;
        return ZWS_EIO;
    }
    l->be_state = u;
    size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    u->bufs = zws__malloc_paged((size_t)NBUFS * BUF_STRIDE);
    if (br == MAP_FAILED || !u->bufs) {
        if (br != MAP_FAILED)
            munmap(br, ring_bytes);
        ur_free(l);
        return ZWS_ENOMEM;
    }
    u->br = br;
    io_uring_buf_ring_init(u->br);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br,
                                   .ring_entries = NBUFS,
                                   .bgid = BGID};
    if ((r = io_uring_register_buf_ring(&u->ring, &reg, 0)) < 0) {
        ur_free(l);
        return ZWS_EIO;
    }
    int mask = io_uring_buf_ring_mask(NBUFS);
    for (int i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * BUF_STRIDE, BUF_SIZE, (unsigned short)i,
                              mask, i);
    io_uring_buf_ring_advance(u->br, NBUFS);
    arm(u, OP_WAKE, l, l->wake_fd);
    if (l->listen_fd >= 0) {
        arm(u, OP_ACCEPT, l, l->listen_fd);
        u->accept_armed = 1;
    }
    if ((r = io_uring_submit(&u->ring)) < 0) {
        ur_free(l);
        return ZWS_EIO;
    }
    return 0;
}

static int ur_add(zws_loop *l, zws_ws *ws)
{
    ur_state *u = l->be_state;
    /* TLS and client connections are read on readiness (through OpenSSL, or
 * while connecting); accepted plain sockets by the ring */
    arm(u, ws->flags & (ZWS__F_TLS | ZWS__F_CLIENT) ? OP_POLLIN : OP_RECV, ws, ws->tr.fd);
    ws->inflight++;
    return 0;
}

static void ur_del(zws_loop *l, zws_ws *ws)
{
    ur_state *u = l->be_state;
    struct io_uring_sqe *s = sqe_get(u);
    if (!s)
        return;
    /* every operation on the descriptor ends (with -ECANCELED) */
    io_uring_prep_cancel_fd(s, ws->tr.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(s, OP_CANCEL);
}

static void ur_want_out(zws_loop *l, zws_ws *ws, int on)
{
    if (!on)
        return; /* a poll that fires late finds nothing to write */
    arm(l->be_state, OP_POLLOUT, ws, ws->tr.fd);
    ws->inflight++;
}

static void give_back(ur_state *u, unsigned bid)
{
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BUF_STRIDE, BUF_SIZE,
                          (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

static void on_recv(ur_state *u, zws_ws *ws, struct io_uring_cqe *c)
{
    int more = c->flags & IORING_CQE_F_MORE;
    if (c->res > 0 && (c->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
        zws__ws_received(ws, u->bufs + (size_t)bid * BUF_STRIDE, (size_t)c->res);
        give_back(u, bid);
    } else if (c->res == 0 || (c->res < 0 && c->res != -ENOBUFS && c->res != -ECANCELED)) {
        zws__ws_received(ws, NULL, 0); /* EOF or a reset */
    }
    if (more)
        return;
    /* ended: out of buffers (re-armed; they come back as this pass ends),
     * or for good */
    if (!(ws->flags & ZWS__F_DEAD) && (c->res > 0 || c->res == -ENOBUFS)) {
        arm(u, OP_RECV, ws, ws->tr.fd);
        return;
    }
    zws__ws_op_done(ws);
}

static void dispatch(zws_loop *l, ur_state *u, struct io_uring_cqe *c)
{
    uint64_t d = io_uring_cqe_get_data64(c);
    int op = (int)(d & OP_MASK);
    void *p = (void *)(uintptr_t)(d & ~(uint64_t)OP_MASK);
    int more = c->flags & IORING_CQE_F_MORE;
    switch (op) {
    case OP_ACCEPT:
        if (c->res >= 0)
            zws__loop_accepted(l, c->res);
        if (!more && !l->stopping && l->listen_fd >= 0)
            arm(u, OP_ACCEPT, l, l->listen_fd);
        break;
    case OP_WAKE:
        zws__loop_run_tasks(l);
        if (!more)
            arm(u, OP_WAKE, l, l->wake_fd);
        break;
    case OP_RECV:
        on_recv(u, p, c);
        break;
    case OP_POLLIN: {
        zws_ws *ws = p;
        if (!(ws->flags & ZWS__F_DEAD) && c->res > 0)
            zws__ws_readable(ws);
        if (more)
            break;
        if (!(ws->flags & ZWS__F_DEAD) && c->res != -ECANCELED)
            arm(u, OP_POLLIN, ws, ws->tr.fd);
        else
            zws__ws_op_done(ws);
        break;
    }
    case OP_POLLOUT: {
        zws_ws *ws = p;
        if (!(ws->flags & ZWS__F_DEAD)) {
            ws->flags &= ~ZWS__F_OUT; /* one-shot: asked again if still short */
            zws__ws_writable(ws);
        }
        zws__ws_op_done(ws);
        break;
    }
    default:
        break;
    }
}

static int ur_wait(zws_loop *l, int timeout_ms)
{
    ur_state *u = l->be_state;
    struct io_uring_cqe *c = NULL;
    int r;
    if (timeout_ms < 0) {
        r = io_uring_submit_and_wait(&u->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                       .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
        r = io_uring_submit_and_wait_timeout(&u->ring, &c, 1, &ts, NULL);
    }
    l->now = zws__now_ms();
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY)
        return ZWS_EIO;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&u->ring, head, c)
    {
        dispatch(l, u, c);
        n++;
    }
    io_uring_cq_advance(&u->ring, n);
    return 0;
}

static const zws__backend uring_backend = {
    .name = "uring",
    .chunk = BUF_SIZE,
    .init = ur_init,
    .free = ur_free,
    .add = ur_add,
    .del = ur_del,
    .want_out = ur_want_out,
    .wait = ur_wait,
    .flush = zws__loop_flush_dirty,
};

const zws__backend *const zws__uring_backend = &uring_backend;

#endif
