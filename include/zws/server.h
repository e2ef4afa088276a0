/* zws — the event-loop runtime: a server (and client connections) served by
 * one loop per thread, epoll or io_uring underneath.
 *
 *     zws_server *srv;
 *     zws_server_new(&srv, opts);               // opts: zws_opts, may be NULL
 *     zws_server_route(srv, "/echo", &handlers, ud);
 *     zws_server_listen(srv, NULL, 9001, err, sizeof err);
 *     zws_server_run(srv, 0);                   // 0: one loop per core; blocks
 *
 * Threads. Each loop runs on its own thread and owns its connections: the
 * handlers of a connection are called on its loop's thread only, and
 * zws_ws_* calls are made there (inside a handler, or in a task posted to
 * that loop). What is safe from any thread: zws_server_publish,
 * zws_server_send (by connection id), zws_loop_post, zws_server_stop.
 *
 * Ownership. A message reaches the message handler as a borrowed view valid
 * until the handler returns: parse it there, or keep it with zws_ws_keep()
 * (a zws_buf, detached without a copy when the message has its own buffer).
 * Sends are copied (or, for zws_ws_send_buf, referenced) before the call
 * returns, so the caller's bytes are the caller's again at once.
 *
 * Corking. Everything sent while the loop dispatches events is queued and
 * written once per connection at the end of the loop's pass: an echo of a
 * batch of messages costs one read and one write.
 *
 * Errors: 0 or a negative ZWS_E... code, as everywhere in zws. */
#ifndef ZWS_SERVER_H
#define ZWS_SERVER_H

#include "buf.h"
#include "common.h"
#include "conn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zws_server zws_server;
typedef struct zws_loop zws_loop;
typedef struct zws_ws zws_ws;

/* What to do with a connection whose buffered output passes the maximum
 * (zws_server_set_backpressure). Control frames and close frames are never
 * dropped. */
enum zws_backpressure {
    ZWS_BP_CLOSE = 0, /* fail it with 1008 (default) */
    ZWS_BP_DROP = 1   /* drop data messages sent to it until it drains */
};

/* Handlers of one route; any may be NULL. Called on the connection's loop. */
typedef struct zws_handlers {
    /* The upgrade request passed the RFC 6455 checks: accept (0) or refuse
     * with an HTTP status, as zws_opts_set_upgrade_hook documents; *user
     * becomes the connection's user data. */
    int (*upgrade)(void *ud, zws_upgrade *u, void **user);
    void (*open)(zws_ws *ws);
    /* A whole text or binary message; data is borrowed until return. */
    void (*message)(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len);
    /* The connection wants more output. Called when both hold:
     *  - some of its output (of any kind: messages, frames, pongs) was
     *    written to the socket since drain was last called, or since open;
     *  - what is still buffered (zws_ws_buffered) is at or below the
     *    low-water mark (zws_server_set_backpressure), whether or not it
     *    was ever above it.
     * At most once per loop pass, from the end-of-pass flush, just before
     * the connection's output is written, so what it sends goes out in
     * that write. A producer that wants to send as fast as the peer reads
     * sends up to the mark here, and is called again as soon as a write
     * has brought its output back to the mark: in the next pass when the
     * socket took everything, after the socket became writable (epoll
     * event or io_uring poll completion) and the write that followed when
     * it did not. No timer is needed. A handler that sends nothing is not
     * called again until more output has been queued and written. Not
     * called once the closing handshake has begun. */
    void (*drain)(zws_ws *ws);
    /* Called once for every opened connection: code 1006 when it ended
     * without a close frame (reset, timeout), else the peer's code or ours. */
    void (*close)(zws_ws *ws, uint16_t code, const char *reason, size_t len);
    /* With zws_opts_set_surface_control: pings (already answered) and
     * pongs. */
    void (*ping)(zws_ws *ws, const uint8_t *data, size_t len);
    void (*pong)(zws_ws *ws, const uint8_t *data, size_t len);
} zws_handlers;

/* A plain HTTP request on the server's port (health checks, a REST
 * snapshot). */
typedef struct zws_http_reply {
    int status;              /* default 200 */
    const char *content_type; /* default "text/plain" */
    const void *body;        /* copied before zws_server writes it */
    size_t body_len;
} zws_http_reply;
typedef void (*zws_http_handler)(void *ud, const zws_handshake_request *req,
                                 zws_http_reply *reply);

/* New server (no loop runs yet). o (may be NULL) is copied: timeouts
 * (ZWS_TIMEOUT_HANDSHAKE for the upgrade; ZWS_TIMEOUT_CLOSE for the closing
 * handshake), limits, buffer size, TLS certificate, subprotocols, headers,
 * surface control. 0 or ZWS_ENOMEM, ZWS_ETLS (bad certificate or key). */
ZWS_EXTERN int zws_server_new(zws_server **out, const zws_opts *o, char *err,
                              size_t errlen);
/* After zws_server_run returned (or when it never ran). */
ZWS_EXTERN void zws_server_free(zws_server *srv);

/* Before run: handlers for path (exact match, query ignored; "*" for every
 * path without a route of its own). Unknown paths are refused with 404.
 * 0, ZWS_ENOMEM, ZWS_EINVAL (path already routed), ZWS_ESTATE (running). */
ZWS_EXTERN int zws_server_route(zws_server *srv, const char *path, const zws_handlers *h,
                                void *ud);
/* Before run: a plain HTTP GET route. */
ZWS_EXTERN int zws_server_http_route(zws_server *srv, const char *path, zws_http_handler h,
                                     void *ud);

/* Timeouts the loop keeps without a system call per timer (ms, 0 = none).
 * Defaults: idle 120 s (no input), ping 0 (no keepalive; with one, a ping
 * after this long without input and a pong deadline of the same length),
 * write 30 s (output pending and none of it taken by the peer). The
 * handshake timeout (default 10 s) comes from the options. */
ZWS_EXTERN void zws_server_set_timeouts(zws_server *srv, int idle_ms, int ping_ms,
                                        int write_ms);
/* Buffered output per connection: above max (default 16 MiB) the policy
 * applies; at or below low (default max / 4), drain is called after each
 * pass that wrote some of it (see zws_handlers.drain). */
ZWS_EXTERN void zws_server_set_backpressure(zws_server *srv, size_t max, size_t low,
                                            enum zws_backpressure policy);
/* Limits against crowds: connections in handshake and in all per client
 * address (0 = none), and a memory budget across all connections for
 * message assembly and buffered output (0 = none): a connection over a cap
 * is closed as it is accepted; one whose message or output would pass the
 * budget is closed with 1009 or 1008. Defaults: the options' (1024, 0 and
 * 1 GiB unless zws_opts_set_server_limits said otherwise), the same
 * mechanism the blocking listener applies. */
ZWS_EXTERN void zws_server_set_limits(zws_server *srv, int per_addr_handshakes,
                                      int per_addr_conns, size_t memory_budget);
/* The loop backend for run: "epoll", "uring" or NULL (ZWS_LOOP from the
 * environment, else the default). io_uring unavailable or refused falls
 * back to epoll, said once on stderr. ZWS_EINVAL for another name. */
ZWS_EXTERN int zws_server_set_backend(zws_server *srv, const char *name);

/* Listens on host:port (NULL: every address; port 0: any free port) before
 * run: each loop gets its own socket on the port (SO_REUSEPORT). */
ZWS_EXTERN int zws_server_listen(zws_server *srv, const char *host, uint16_t port,
                                 char *err, size_t errlen);
ZWS_EXTERN uint16_t zws_server_port(const zws_server *srv);

/* Runs nthreads loops (0: one per core) until zws_server_stop; blocks the
 * calling thread, which runs the first loop. Without zws_server_listen the
 * loops serve client connections only (zws_loop_connect). After it returns
 * the server may listen and run again. 0 or ZWS_ENOMEM, ZWS_EIO, ZWS_ESTATE
 * (already running). */
ZWS_EXTERN int zws_server_run(zws_server *srv, int nthreads);
/* Graceful stop, from any thread (or a signal handler): stop accepting,
 * close every connection with 1001, and let run return once they are gone
 * or after the close timeout. */
ZWS_EXTERN void zws_server_stop(zws_server *srv);
/* The backend the loops run ("epoll" or "uring"): valid while srv lives. */
ZWS_EXTERN const char *zws_server_backend(const zws_server *srv);

/* ---- connections (on their loop's thread) ---- */

/* Queues a message (TEXT or BINARY), copied; flushed at the end of the
 * pass. 0, ZWS_ECLOSED (closing or closed), ZWS_EINVAL, ZWS_ENOMEM;
 * ZWS_ENOSPACE when the backpressure policy dropped it. */
ZWS_EXTERN int zws_ws_send(zws_ws *ws, unsigned opcode, const void *data, size_t len);
/* Part of a message sent in fragments: opcode TEXT or BINARY for the first
 * part, ZWS_OP_CONT after it; more = 1 on every part but the last. Control
 * frames (zws_ws_ping) may go between parts; other messages may not. */
ZWS_EXTERN int zws_ws_send_part(zws_ws *ws, unsigned opcode, const void *data, size_t len,
                                int more);
/* The same with the payload by reference: ws holds a reference to b until
 * it is written (a client's payload is masked into its own buffer). */
ZWS_EXTERN int zws_ws_send_buf(zws_ws *ws, unsigned opcode, zws_buf *b);
/* Frames built ahead (zws_frame_write_header and the payload after it, unmasked:
 * server connections only), queued by reference as they are, so a sender
 * that renders many small messages at once pays one call for all of them.
 * zws does not parse them: they must be whole text or binary messages, not
 * inside a fragmented one. 0, ZWS_ECLOSED, ZWS_ENOMEM, ZWS_EINVAL (a client
 * connection). */
ZWS_EXTERN int zws_ws_send_frames(zws_ws *ws, zws_buf *frames);
ZWS_EXTERN int zws_ws_ping(zws_ws *ws, const void *data, size_t len);
/* Starts the closing handshake (see zws_close for code and reason). The
 * close handler follows when it is over. */
ZWS_EXTERN int zws_ws_close(zws_ws *ws, uint16_t code, const char *reason);
/* The message being delivered, kept beyond the message handler (see the
 * ownership note above). ZWS_ESTATE outside the message handler. */
ZWS_EXTERN int zws_ws_keep(zws_ws *ws, zws_buf **out);
/* During the message handler: 1 when the message being delivered arrived
 * compressed (RSV1 on its first frame, permessage-deflate agreed), else 0;
 * 0 outside the message handler. */
ZWS_EXTERN int zws_ws_compressed(const zws_ws *ws);
/* Output bytes queued and not yet taken by the kernel. */
ZWS_EXTERN size_t zws_ws_buffered(const zws_ws *ws);
ZWS_EXTERN void *zws_ws_user(const zws_ws *ws);
ZWS_EXTERN void zws_ws_set_user(zws_ws *ws, void *user);
/* The request path ("/" for client connections without one); the agreed
 * subprotocol ("" if none). Valid while ws lives. */
ZWS_EXTERN const char *zws_ws_path(const zws_ws *ws);
ZWS_EXTERN const char *zws_ws_subprotocol(const zws_ws *ws);
/* The extensions agreed ("" for none), as zws_conn_extensions. */
ZWS_EXTERN const char *zws_ws_extensions(const zws_ws *ws);
/* An id that names ws from any thread (never reused within a server). */
ZWS_EXTERN uint64_t zws_ws_id(const zws_ws *ws);
ZWS_EXTERN zws_loop *zws_ws_loop(const zws_ws *ws);
ZWS_EXTERN zws_server *zws_ws_server(const zws_ws *ws);

/* ---- pub/sub ---- */

/* Topics are strings up to 255 bytes. 0 or ZWS_ENOMEM, ZWS_EINVAL. */
ZWS_EXTERN int zws_ws_subscribe(zws_ws *ws, const char *topic);
ZWS_EXTERN int zws_ws_unsubscribe(zws_ws *ws, const char *topic);
/* Sends a message to every subscriber of topic on every loop; safe from any
 * thread. The frame is built once and queued by reference on each
 * subscriber (slow subscribers fall under the backpressure policy). Returns
 * the number of subscribers on the calling loop that got it (0 from another
 * thread: the other loops deliver it on their own pass), or ZWS_ENOMEM,
 * ZWS_EINVAL. */
ZWS_EXTERN int zws_server_publish(zws_server *srv, const char *topic, const void *data,
                                  size_t len, unsigned opcode);

/* ---- client connections (on the loop's thread) ---- */

/* Connects to a ws:// or wss:// URL from loop l, with the server's options
 * (subprotocols to offer, headers, CA file, timeouts: connect + handshake
 * bound the whole setup). Names are resolved on a helper thread, never on
 * the loop. The handlers are h's (copied; upgrade is not used): open once
 * upgraded, then as for server connections. A connection that fails before
 * it opens is reported to close (code 1006, the reason says why) without
 * open. user is the connection's user data. ws+unix URLs are for
 * zws_connect only (ZWS_EURL here). 0, ZWS_EURL, ZWS_ENOMEM, or
 * ZWS_ETLS (no client TLS context). */
ZWS_EXTERN int zws_loop_connect(zws_loop *l, const char *url, const zws_handlers *h,
                                void *user);

/* ---- from any thread ---- */

/* Sends a copy of data to the connection named by id, on its loop. 0 (queued
 * for that loop; dropped there if the connection is gone), ZWS_ENOMEM,
 * ZWS_EINVAL. */
ZWS_EXTERN int zws_server_send(zws_server *srv, uint64_t id, unsigned opcode,
                               const void *data, size_t len);
/* Runs fn(loop, arg) on loop's thread at its next pass; a task still
 * queued when the loop ends runs as fn(NULL, arg), so arg can be freed.
 * The loop pointer (zws_server_loop, zws_ws_loop) is valid until
 * zws_server_run returns. 0 or ZWS_ENOMEM. */
ZWS_EXTERN int zws_loop_post(zws_loop *loop, void (*fn)(zws_loop *, void *), void *arg);
/* ---- on the loop's thread ---- */

/* Calls fn(loop, arg) on each loop's thread once its backend is up, before
 * it serves anything: the place to arm timers or open client connections.
 * Before run. */
ZWS_EXTERN void zws_server_on_loop(zws_server *srv, void (*fn)(zws_loop *, void *),
                                   void *arg);
/* Calls fn(l, arg) on l's thread after ms milliseconds (0: at the end of
 * this pass). fn returns the delay to its next call, or 0 (or less) to
 * stop. A timer still armed when the loop ends is called once as fn(NULL,
 * arg) and then dropped, so arg can be freed. On l's thread only. 0 or
 * ZWS_ENOMEM. */
ZWS_EXTERN int zws_loop_timer(zws_loop *l, int ms, int (*fn)(zws_loop *, void *), void *arg);
/* The loop's clock: monotonic milliseconds, read once per pass. */
ZWS_EXTERN int64_t zws_loop_now(const zws_loop *l);
/* The index of l among its server's loops (0..n-1). */
ZWS_EXTERN int zws_loop_index(const zws_loop *l);
/* The bytes of WebSocket frames l's connections have received since the
 * loop started, as they came off the wire: frame headers and control
 * frames included, compressed payloads before inflating; not the HTTP of
 * the opening handshakes (nor TLS records: counted after decryption). A
 * count for benchmarks, e.g. the compressed size of a peer's messages. On
 * l's thread only. */
ZWS_EXTERN uint64_t zws_loop_bytes_in(const zws_loop *l);

/* The loops of a running server (index 0..n-1), for posting; NULL past
 * the end. */
ZWS_EXTERN zws_loop *zws_server_loop(zws_server *srv, int index);
ZWS_EXTERN zws_server *zws_loop_server(const zws_loop *loop);

#ifdef __cplusplus
}
#endif
#endif
