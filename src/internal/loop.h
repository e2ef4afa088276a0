/* The event loop's internals, shared by loop/loop.c (passes, timers,
 * posting, flushing), loop/epoll.c and loop/uring.c (backends),
 * loop/server.c (accept, upgrade, routes, the zws_ws API) and
 * loop/pubsub.c (topics).
 *
 * A connection (zws_ws) is one allocation holding its transport, its
 * session (once upgraded) and the bookkeeping below. Input is read into the
 * loop's one receive buffer; after a pass a connection keeps only the
 * incomplete frame at the end of its input (keep), in an allocation freed as
 * soon as it drains. */
#ifndef ZWS_INTERNAL_LOOP_H
#define ZWS_INTERNAL_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal/limits.h"
#include "internal/opts.h"
#include "internal/session.h"
#include "internal/transport.h"
#include "zws/server.h"

#define ZWS__RBUF_SIZE (512u << 10) /* the loop's receive buffer */
#define ZWS__RBUF_PAD 64            /* past its end, for the kernels' over-read */
#define ZWS__TICK_MS 64             /* timer wheel resolution */
#define ZWS__WHEEL 1024             /* slots: 65 s before a timer goes round */

enum zws__ws_kind {
    ZWS__K_HANDSHAKE, /* reading the HTTP request (TLS first if any) */
    ZWS__K_WS,        /* upgraded: the session runs */
    ZWS__K_HTTP,      /* answered a plain request or refused: write, close */
    ZWS__K_CONNECTING /* client: TCP connect, TLS, then the upgrade */
};

/* zws_ws.flags */
#define ZWS__F_DIRTY 0x01u    /* on the loop's dirty list */
#define ZWS__F_OUT 0x02u      /* waiting for writability (EPOLLOUT armed) */
#define ZWS__F_OPENED 0x04u   /* open was called: close will be */
#define ZWS__F_DEAD 0x08u     /* closed; freed after the pass */
#define ZWS__F_SHUT 0x10u     /* our direction is shut: read until EOF */
#define ZWS__F_MOVED 0x20u    /* output was written since drain was last called */
#define ZWS__F_TLS 0x40u      /* TLS handshake still to finish */
#define ZWS__F_CLIENT 0x80u   /* a client connection */
#define ZWS__F_INLIST 0x100u  /* on a wheel slot's list */
#define ZWS__F_FIRING 0x200u  /* on the list of the slot being visited */
#define ZWS__F_AGAIN 0x400u   /* input left unread this pass: read next pass */
#define ZWS__F_HSDL 0x800u    /* hs_deadline is set */
#define ZWS__F_STALL 0x1000u  /* stall_since is set */
#define ZWS__F_RPATH 0x2000u  /* the request path is the route's (names NULL) */
#define ZWS__F_DRAINQ 0x4000u /* drain is due: called at its next flush (dirty) */

/* Input one connection may take per pass, in receive buffers: a peer that
 * keeps its socket full cannot hold the loop (timers, other connections,
 * the flush) for ever. */
#define ZWS__READS_PER_PASS 4

typedef struct zws__route {
    char *path;
    zws_handlers h;
    void *ud;
    zws_http_handler http;
} zws__route;

/* The incomplete frame at the end of a connection's input, kept for its
 * next read: one allocation, freed as soon as nothing is left. */
typedef struct zws__kept {
    size_t len, cap;
    uint8_t data[];
} zws__kept;

/* Fields are ordered so the compiler adds no padding: this is the memory
 * of every idle connection (with its id table slot, and its names when
 * they are not the route's). 216 bytes, a 224-byte heap chunk. Times are
 * kept in 32 bits (zws__ms32, read against the loop's clock). */
struct zws_ws {
    zws_loop *loop;
    zws__transport tr;
    uint8_t kind;              /* enum zws__ws_kind */
    uint8_t inflight;          /* io_uring operations that name ws */
    uint16_t flags;            /* ZWS__F_* */
    uint32_t nsubs;            /* topics subscribed to (subs) */
    zws__session s;            /* valid from the upgrade on (s.live) */
    struct zws__kept *keep;    /* unconsumed input, or NULL */
    const zws__route *route;
    void *user;
    char *names;               /* "path\0subprotocol\0", or NULL: "/" or
                                  the route's path (ZWS__F_RPATH), and no
                                  subprotocol (zws__ws_set_names) */
    uint64_t id;
    zws__ms32 hs_deadline;     /* handshake / connect / linger deadline
                                  (if ZWS__F_HSDL) */
    zws__ms32 stall_since;     /* output pending with no progress since
                                  (if ZWS__F_STALL) */
    zws__ms32 last_write;      /* the last bytes written */
    zws__ms32 sched;           /* the wheel slot time it is on (if
                                  ZWS__F_INLIST or ZWS__F_FIRING) */
    zws_ws *tprev, *tnext;     /* wheel slot list */
    zws_ws *dnext;             /* dirty list */
    zws_ws *anext;             /* the again list (ZWS__F_AGAIN) */
    zws_ws *prev, *next;       /* the loop's connections */
    size_t charged;            /* bytes charged to the memory budget */
    union {
        zws__addr_count *addr;      /* accepted: per-address counters */
        struct zws__client *client; /* ZWS__F_CLIENT: URL, key, handler */
    };
    struct zws__sub **subs;    /* topics subscribed to (capacity: see pubsub.c) */
};

typedef struct zws__task {
    void (*fn)(zws_loop *, void *);
    void *arg;
} zws__task;

/* A timer of zws_loop_timer: a binary min-heap entry ordered by (at, seq). */
typedef struct zws__utimer {
    int64_t at;
    uint64_t seq;
    int (*fn)(zws_loop *, void *);
    void *arg;
} zws__utimer;

typedef struct zws__backend zws__backend;

struct zws_loop {
    zws_server *srv;
    int index;
    const zws__backend *be;
    void *be_state;
    int listen_fd;             /* -1: none (a client-only loop) */
    int wake_fd;               /* eventfd for posted tasks */
    uint8_t *rbuf;             /* ZWS__RBUF_SIZE + ZWS__RBUF_PAD */
    int64_t now;               /* ms, read once per pass */
    uint64_t ws_bytes_in;      /* frame bytes taken by sessions (zws_loop_bytes_in) */
    int64_t next_sweep;        /* when idle connections next give back buffers */
    zws_ws *conns;             /* every live connection */
    size_t nconns;
    zws_ws *dirty;             /* output queued in this pass */
    zws_ws *again;             /* input to read in the next pass */
    zws_ws *dead;              /* closed in this pass, freed after it */
    zws_ws *zombies;           /* dead, freed once no operation names them */
    zws_ws *cur_ws;            /* the connection whose message is being */
    const zws_event *cur_ev;   /* delivered, and that message (zws_ws_keep) */
    zws_ws *wheel[ZWS__WHEEL];
    zws_ws *firing;            /* the slot being visited, popped one by one */
    size_t ntimers;
    int64_t wheel_at;          /* ms of the next slot to visit */
    zws__keypool *keys;        /* client connections' mask keys */
    /* What every connection's session is made from (lazy: parser and
     * writer at first use), by role; set once the backend is known. */
    zws__session_cfg scfg[2];
    pthread_mutex_t tlock;     /* tasks posted from other threads */
    zws__task *tasks;
    size_t ntasks, tasks_cap;
    atomic_int woken;          /* a wake is pending: no second write */
    zws__utimer *utimers;      /* zws_loop_timer's heap */
    size_t nutimers, utimers_cap;
    uint64_t utimer_seq;
    struct zws__topics *topics;
    struct zws__idmap *ids;
    uint64_t next_seq;
    int stopping;
    int64_t stop_deadline;
    pthread_t thread;
};

struct zws_server {
    zws_opts *o;
    struct ssl_ctx_st *tls;
    struct ssl_ctx_st *client_tls; /* for wss client connections, made at the first */
    zws__route *routes;
    size_t nroutes;
    const zws__route *any; /* "*" */
    int idle_ms, ping_ms, write_ms;
    size_t bp_max, bp_low;
    int bp_policy;
    struct zws__limits *lim;   /* per-address caps, the memory budget */
    const char *host;
    char *host_copy;
    uint16_t port;
    int first_fd;              /* the socket zws_server_listen bound */
    int listening;             /* zws_server_listen succeeded */
    const zws__backend *be;
    atomic_int nloops;         /* set once the loops exist (other threads read it) */
    atomic_int users;          /* calls from other threads using the loops now */
    zws_loop **loops;
    atomic_int stop;
    atomic_int running;
    atomic_int fell_back;      /* io_uring could not start: epoll runs */
    void (*on_loop)(zws_loop *, void *); /* zws_server_on_loop */
    void *on_loop_arg;
    pthread_mutex_t alock;     /* client_tls, made once */
};

/* The handshake (connect, linger) deadline and the start of a stall, in
 * full ms against the loop's clock, or -1 for none; set with -1 for none. */
static inline int64_t zws__ws_hs_deadline(const zws_ws *ws)
{
    return (ws->flags & ZWS__F_HSDL) ? zws__ms32_at(ws->hs_deadline, ws->loop->now) : -1;
}
static inline void zws__ws_set_hs_deadline(zws_ws *ws, int64_t t)
{
    ws->hs_deadline = zws__ms32_of(t);
    ws->flags = (uint16_t)(t >= 0 ? ws->flags | ZWS__F_HSDL : ws->flags & ~ZWS__F_HSDL);
}
static inline int64_t zws__ws_stall_since(const zws_ws *ws)
{
    return (ws->flags & ZWS__F_STALL) ? zws__ms32_at(ws->stall_since, ws->loop->now) : -1;
}
static inline void zws__ws_set_stall(zws_ws *ws, int64_t t)
{
    ws->stall_since = zws__ms32_of(t);
    ws->flags = (uint16_t)(t >= 0 ? ws->flags | ZWS__F_STALL : ws->flags & ~ZWS__F_STALL);
}

/* ---- backends ---- */

struct zws__backend {
    const char *name;
    /* The most input one delivery brings (0: ZWS__RBUF_SIZE): frames larger
     * than this stream into their message buffer instead of being kept
     * whole, so no input is copied twice. */
    size_t chunk;
    int (*init)(zws_loop *l);         /* 0 or a negative code */
    void (*free)(zws_loop *l);
    int (*add)(zws_loop *l, zws_ws *ws); /* watch a new connection */
    void (*del)(zws_loop *l, zws_ws *ws);
    void (*want_out)(zws_loop *l, zws_ws *ws, int on);
    /* Waits up to timeout_ms and dispatches: zws__loop_accept,
     * zws__ws_readable, zws__ws_writable, zws__loop_run_tasks. */
    int (*wait)(zws_loop *l, int timeout_ms);
    /* Writes the dirty connections' output (end of pass). */
    void (*flush)(zws_loop *l);
};

extern const zws__backend zws__epoll_backend;
/* NULL when io_uring was not built in. */
extern const zws__backend *const zws__uring_backend;

/* ---- loop.c ---- */

int zws__loop_new(zws_loop **out, zws_server *srv, int index, const zws__backend *be);
void zws__loop_free(zws_loop *l);
int zws__loop_run(zws_loop *l);
int zws__loop_start_backend(zws_loop *l);
void zws__loop_wake(zws_loop *l);
void zws__loop_run_tasks(zws_loop *l);
void zws__loop_add(zws_loop *l, zws_ws *ws);
/* Asks the backend for writability (on) or stops asking; F_OUT says which. */
void zws__ws_want_out(zws_ws *ws, int on);
/* ws has input it did not read this pass: read it in the next one. */
void zws__ws_again(zws_ws *ws);
/* Output was queued on ws: flushed at the end of the pass (of the next
 * pass when the flush is under way). */
void zws__ws_dirty(zws_ws *ws);
/* Reconsiders ws's place on the timer wheel (its deadline moved earlier). */
void zws__ws_schedule(zws_ws *ws);
/* Writes ws's output now (non-blocking); the flush at the end of a pass. */
void zws__ws_write(zws_ws *ws);
/* Writes the connections dirtied before it started, each after its drain
 * handler if one is due (ZWS__F_DRAINQ); those dirtied while it runs wait
 * for the next pass, so no connection is drained twice in one pass. */
void zws__loop_flush_dirty(zws_loop *l);
/* An io_uring operation naming ws completed for the last time. */
void zws__ws_op_done(zws_ws *ws);
/* The connection is over: the close handler, then freed after the pass. */
void zws__ws_kill(zws_ws *ws, uint16_t code, const char *why);

/* ---- server.c ---- */

void zws__loop_accept(zws_loop *l);
/* A connection the backend accepted (fd non-blocking, close-on-exec). */
void zws__loop_accepted(zws_loop *l, int fd);
/* Bytes the backend received for ws into its own buffer (mutable, padded
 * for the SIMD over-read, valid during the call); n == 0: EOF. */
void zws__ws_received(zws_ws *ws, uint8_t *data, size_t n);
void zws__ws_readable(zws_ws *ws);
void zws__ws_writable(zws_ws *ws);
/* A deadline passed (handshake, idle, ping, write, close, linger). */
void zws__ws_timeout(zws_ws *ws);
int64_t zws__ws_deadline(const zws_ws *ws);
void zws__ws_free(zws_ws *ws);
/* Keeps the request path and the agreed subprotocol (sub NULL: none) in
 * one allocation; nothing when there is no subprotocol and the path is "/"
 * or route's (route may be NULL). 0 or ZWS_ENOMEM. */
int zws__ws_set_names(zws_ws *ws, const zws__route *route, const char *path, size_t plen,
                      const char *sub, size_t slen);
/* After a write (whole or short): a drain call made due (see drain in
 * zws/server.h), the shutdown of a finished connection, the memory budget. */
void zws__ws_after_write(zws_ws *ws);
/* At ws's turn in the flush, before its write: the drain handler, if one
 * was made due and the connection still wants more. */
void zws__ws_drain(zws_ws *ws);
/* Fails an open connection for a reason of ours (close queued, close
 * handler told). */
void zws__ws_fail(zws_ws *ws, uint16_t code, const char *why);
/* 0 when ws may take add more bytes of output; else the backpressure
 * policy acted (ZWS_ENOSPACE: dropped; ZWS_ECLOSED: failed, or not open). */
int zws__ws_admit(zws_ws *ws, size_t add);
zws_loop *zws__loop_current(void);
/* Stop: close every connection with 1001, stop accepting. */
void zws__loop_begin_stop(zws_loop *l);

/* ---- client.c ---- */

void zws__client_step(zws_ws *ws);
int zws__client_sent(const zws_ws *ws);
size_t zws__client_head(zws_ws *ws, uint8_t *buf, size_t len);
void zws__client_free(struct zws__client *c);
int zws__ws_start_session(zws_ws *ws, enum zws_role role);
void zws__ws_opened(zws_ws *ws, const zws__route *route, void *user);

/* ---- pubsub.c ---- */

void zws__topics_free(struct zws__topics *t);
void zws__ws_unsubscribe_all(zws_ws *ws);
/* Delivers a built frame to this loop's subscribers of topic. */
int zws__topics_deliver(zws_loop *l, const char *topic, size_t tlen, zws_buf *frame);

/* ---- ids (loop.c) ---- */

int zws__ids_put(zws_loop *l, zws_ws *ws);
void zws__ids_del(zws_loop *l, uint64_t id);
zws_ws *zws__ids_get(zws_loop *l, uint64_t id);

#endif
