/* zws — blocking WebSocket connections over TCP or TLS: clients
 * (zws_connect) and simple servers (zws_listen, zws_accept).
 *
 * Ownership. A received message is a borrowed view (zws_event.data, and
 * zws_event.reason of a close) into the connection's read buffer or message
 * buffer. It stays valid until the next zws_recv, zws_close or zws_conn_free
 * on that connection: those read input over it. Every other call leaves it
 * alone, so the view may be passed straight to zws_send, zws_sendv,
 * zws_ping (and sent in parts, deferred, flushed with zws_flush): an echo
 * needs no copy. zws_conn_keep keeps it beyond that (detaches without a
 * copy when the message has its own buffer, copies otherwise).
 *
 * Errors. Functions return 0 (or an event type, > 0) on success and a
 * negative ZWS_E... code on failure. Functions that can fail for reasons a
 * person must read (connect, accept, handshake) also fill a caller-provided
 * message buffer with one line saying what went wrong, e.g. the HTTP status
 * and the start of the body when a server refused the upgrade. */
#ifndef ZWS_CONN_H
#define ZWS_CONN_H

#include "buf.h"
#include "common.h"
#include "handshake.h"
#include "parser.h"
#include "writer.h" /* ZWS_WRITE_MORE, a zws_send flag */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zws_conn zws_conn;
typedef struct zws_listener zws_listener;
typedef struct zws_opts zws_opts;

/* ---- options: an object with setters, so adding one breaks no ABI ---- */

/* Returns 0 or ZWS_ENOMEM. Options are copied by the calls that take them;
 * free them whenever convenient. */
ZWS_EXTERN int zws_opts_new(zws_opts **out);
ZWS_EXTERN void zws_opts_free(zws_opts *o);

enum zws_timeout {
    ZWS_TIMEOUT_CONNECT = 0,   /* TCP connect (and proxy CONNECT); default 10 s */
    ZWS_TIMEOUT_HANDSHAKE = 1, /* TLS + HTTP upgrade, one deadline; default 10 s */
    ZWS_TIMEOUT_READ = 2,      /* one zws_recv call; default 0 = wait forever */
    ZWS_TIMEOUT_CLOSE = 3,     /* waiting for the peer's close; writing
                                  automatic replies (a peer that takes none
                                  of our pongs for this long is dropped);
                                  lingering in zws_conn_free; default 5 s */
    ZWS_TIMEOUT_WRITE = 4      /* one zws_send, zws_sendv, zws_flush or
                                  zws_ping writing to a peer that does not
                                  read: ZWS_ETIMEDOUT, the rest stays queued;
                                  default 0 = wait forever */
};
/* ms 0 means no timeout. */
ZWS_EXTERN void zws_opts_set_timeout(zws_opts *o, enum zws_timeout which, int ms);

/* Extra request (client) or response (server) header, copied. 0,
 * ZWS_ENOMEM, or ZWS_EINVAL when zws_opts_header_refusal(name, value) gives
 * a reason: names that are not HTTP tokens, values with control characters
 * (CR, LF, NUL, DEL...; HTAB is allowed), and names zws writes itself: Host,
 * Origin (see zws_opts_set_origin), Upgrade, Connection, Content-Length,
 * Transfer-Encoding, Sec-WebSocket-*. A header this call accepts is one
 * the handshake sends. */
ZWS_EXTERN int zws_opts_add_header(zws_opts *o, const char *name, const char *value);
/* Why zws_opts_add_header would refuse name: value, as a short line for a
 * person ("not an HTTP token", "Host is derived from the URL", "value
 * contains a control character"...), or NULL when it would add it. The
 * string is static. */
ZWS_EXTERN const char *zws_opts_header_refusal(const char *name, const char *value);
/* Client (zws_connect, and an event loop's client connections, which take
 * their server's options): the request's Origin header, copied; NULL or "" sends none (the default).
 * 0, ZWS_ENOMEM, or ZWS_EINVAL for a value with control characters (as
 * zws_opts_add_header checks values). Servers ignore it: their check is
 * zws_opts_set_origin_check. */
ZWS_EXTERN int zws_opts_set_origin(zws_opts *o, const char *origin);
/* Client: subprotocols to offer, in order. Server: subprotocols supported,
 * in the server's order of preference: the first of them that the client
 * offered is chosen; none offered or none in common, none is chosen.
 * Copied. 0, ZWS_ENOMEM, or ZWS_EINVAL when name is not an HTTP token. */
ZWS_EXTERN int zws_opts_add_subprotocol(zws_opts *o, const char *name);
/* Largest frame and message accepted (default 16 MiB each). */
ZWS_EXTERN void zws_opts_set_limits(zws_opts *o, uint64_t max_frame, uint64_t max_message);
/* Servers (zws_listen, and the event-loop server of server.h made with
 * these options): limits against crowds of hostile peers. Per client
 * address (TCP peers; those of a unix socket are not counted): connections
 * in the opening handshake at once, and connections in all (defaults 1024
 * and 0; 0 = no cap). A connection over a cap is closed as it is
 * accepted, before a byte of it is read (zws_accept returns ZWS_ELIMIT),
 * so a crowd of slow handshakes from one address cannot fill the server.
 * And a memory budget across all of a listener's connections for message
 * assembly and buffered output (default 1 GiB; 0 = none), beside the
 * per-connection max_message: a frame's whole length is charged when its
 * header arrives, before its payload is read, and the connection whose
 * message (or output) would pass the budget is failed with 1009 (or 1008).
 * Connections holding less than 64 KiB are not charged; an assembly buffer
 * larger than 256 KiB is freed between messages. The event-loop server's
 * own limits setter (server.h) overrides these. */
ZWS_EXTERN void zws_opts_set_server_limits(zws_opts *o, int per_addr_handshakes,
                                           int per_addr_conns, size_t memory_budget);
/* Read buffer size (default 64 KiB): frames that fit are delivered in place;
 * larger ones are read straight into their message buffer. */
ZWS_EXTERN void zws_opts_set_buffer_size(zws_opts *o, size_t n);
/* zws_recv also returns pings and pongs (pongs are still sent for you). */
ZWS_EXTERN void zws_opts_set_surface_control(zws_opts *o, int on);

/* TLS client: CA file in addition to the system store; verification off
 * (only when asked for explicitly). */
ZWS_EXTERN int zws_opts_set_ca_file(zws_opts *o, const char *path);
ZWS_EXTERN void zws_opts_set_insecure(zws_opts *o, int on);
/* TLS server: certificate chain and private key (PEM files). A client
 * presents them to a server that asks for a certificate (mutual TLS). */
ZWS_EXTERN int zws_opts_set_cert(zws_opts *o, const char *cert_file, const char *key_file);

/* Client proxy: "http://[user:pass@]host:port". Without a call, the
 * http_proxy / https_proxy / no_proxy environment variables (and their
 * upper-case forms) apply; "" disables proxies. */
ZWS_EXTERN int zws_opts_set_proxy(zws_opts *o, const char *url);

/* Server: Origin check. Return 1 to accept; 0 answers 403. origin is NULL
 * when the request had none. */
ZWS_EXTERN void zws_opts_set_origin_check(zws_opts *o,
                                          int (*check)(void *ud, const char *origin),
                                          void *ud);

/* Server: the upgrade hook, called on the connection's thread once a request
 * passed the RFC 6455 checks and the Origin check, before zws answers it. It
 * decides by path, headers or offers: return 0 to accept, or an HTTP status
 * from 400 to 599 to refuse (404 for an unknown path, 401, 403, 503...;
 * anything else counts as 500). u->request is valid during the call only;
 * iterate its headers with zws_http_list_* (Sec-WebSocket-Protocol) or
 * zws_ext_next (Sec-WebSocket-Extensions offers). No extension is accepted
 * at this level yet: zws answers none. */
typedef struct zws_upgrade {
    const zws_handshake_request *request; /* in */
    /* in: zws's pick among zws_opts_add_subprotocol's names, or NULL; out:
     * the hook may set another the client offered (refused with 500 if the
     * client did not), or NULL for none. */
    const char *subprotocol;
    const char *reason;               /* out: a refusal's detail, or NULL */
    /* out: extra headers for this connection's answer: the 101 (after the
     * opts' headers) or the refusal (WWW-Authenticate with a 401, say) */
    const zws_http_header *headers;
    size_t num_headers;
} zws_upgrade;
/* Strings and headers the hook stores in *u must stay valid until
 * zws_conn_handshake returns (static, or owned by ud); zws copies the
 * subprotocol. */
ZWS_EXTERN void zws_opts_set_upgrade_hook(zws_opts *o,
                                          int (*hook)(void *ud, zws_upgrade *u),
                                          void *ud);

/* permessage-deflate (RFC 7692): compressed messages, negotiated in the
 * opening handshake. Off by default. Every field at 0 asks nothing
 * particular: zws_deflate_opts d = {0}; zws_opts_set_deflate(o, &d); turns
 * compression on with zlib level 6 and 15-bit windows both ways.
 *
 * Client: the request offers permessage-deflate once, with the parameters
 * below; a server that answers without it leaves compression off, and an
 * answer that breaks RFC 7692 or refuses one of our requests fails the
 * handshake (ZWS_EHANDSHAKE, the message says which parameter).
 * Server: of the client's offers, the first one that is valid and that zws
 * can serve is accepted with the parameters below; when none is (unknown or
 * repeated parameters, bad values, a server window of 8 bits, which zlib
 * cannot compress with), the connection goes on uncompressed.
 * Memory: a direction without context takeover gives its zlib stream back
 * when zws_recv has waited a second without input, and makes it again for
 * the next message. */
typedef struct zws_deflate_opts {
    /* Client: asks the server to reset its compressor after every message
     * (our inflater then keeps no window between messages); a server that
     * does not agree fails the handshake. Server: we reset our compressor
     * after every message, and say so; also done whenever a client asks. */
    int server_no_context_takeover;
    /* Client: we reset our compressor after every message, and say so in
     * the offer. Server: asks the client to; RFC 7692 obliges it. */
    int client_no_context_takeover;
    /* 0 (the default: no limit asked, 15) or 9..15. Client: the largest
     * window, 2^N bytes, the server may compress with; an answer with a
     * larger one or without the parameter fails the handshake. Server: the
     * window we compress with; a smaller one the client asks for wins. */
    int server_max_window_bits;
    /* 0 or 9..15. Client: the window we compress with (the server may
     * lower it); 0 still offers the parameter, without a value, so the
     * server may choose. Server: the limit asked of a client that offered
     * the parameter (at most the value it offered); a client that did not
     * offer it compresses with up to 15 bits. */
    int client_max_window_bits;
    int level;        /* zlib compression level 1..9; 0: 6 */
    int mem_level;    /* zlib memLevel 1..9; 0: 8 */
    size_t threshold; /* messages shorter than this go uncompressed; 0: none */
} zws_deflate_opts;
/* Turns permessage-deflate on with *d (copied), or off with d NULL (the
 * default). 0, or ZWS_EINVAL for a value out of range (window bits other
 * than 0 or 9..15, level or mem_level outside 0..9); o is then unchanged.
 * A no_context_takeover field counts as set when nonzero. */
ZWS_EXTERN int zws_opts_set_deflate(zws_opts *o, const zws_deflate_opts *d);

/* ---- client ---- */

/* Connects to a ws:// or wss:// URL (host may be a name, IPv4, or [IPv6]),
 * through a proxy if one applies, and performs the opening handshake.
 * Returns 0 with *out, or ZWS_EURL, ZWS_ERESOLVE, ZWS_ECONNECT, ZWS_ETIMEDOUT,
 * ZWS_ETLS, ZWS_EPROXY, ZWS_EHANDSHAKE, ZWS_EHTTP, ZWS_ENOMEM, with a message
 * in err (may be NULL). o may be NULL for defaults. */
ZWS_EXTERN int zws_connect(zws_conn **out, const char *url, const zws_opts *o,
                           char *err, size_t errlen);

/* ---- server ---- */

/* Listens on host:port (host NULL: all addresses, IPv6 and IPv4; port 0: any
 * free port, see zws_listener_port). TLS when o has a certificate. */
ZWS_EXTERN int zws_listen(zws_listener **out, const char *host, uint16_t port,
                          const zws_opts *o, char *err, size_t errlen);
/* Listens on the unix domain socket file path (at most 107 bytes): a stale
 * socket file nobody listens on is replaced, one a server answers on is
 * refused (ZWS_EIO); zws_listener_free removes the file. Clients reach it
 * with "ws+unix://PATH:/request-path". zws_listener_port is 0. 0 or
 * ZWS_EINVAL, ZWS_ENOMEM, ZWS_EIO, ZWS_ETLS. */
ZWS_EXTERN int zws_listen_unix(zws_listener **out, const char *path, const zws_opts *o,
                               char *err, size_t errlen);
ZWS_EXTERN uint16_t zws_listener_port(const zws_listener *l);
ZWS_EXTERN int zws_listener_fd(const zws_listener *l);
ZWS_EXTERN void zws_listener_free(zws_listener *l);

/* Accepts one TCP connection (blocking). The handshake is not done yet, so
 * a slow client cannot hold up the accepting thread: call
 * zws_conn_handshake(), typically on the connection's own thread (the
 * connection counts among its address's handshakes until that returns).
 * ZWS_ELIMIT: the connection was over a per-address cap
 * (zws_opts_set_server_limits) and is closed already, err says which; the
 * listener is fine: accept the next one at once. */
ZWS_EXTERN int zws_accept(zws_listener *l, zws_conn **out, char *err, size_t errlen);

/* Server side of the opening handshake (TLS first when configured), within
 * the handshake timeout. A request that is not a valid upgrade, or that the
 * Origin check or upgrade hook refuses, is answered with an HTTP status and
 * fails with ZWS_EHANDSHAKE; then free the connection. Statuses: 400 bad
 * request, 403 origin refused, 405 not GET, 426 not an upgrade or wrong
 * version, 431 head too large, 505 not HTTP/1.x, and whatever the upgrade
 * hook returns (404 for an unknown path, say). */
ZWS_EXTERN int zws_conn_handshake(zws_conn *c, char *err, size_t errlen);

/* ---- both ---- */

/* Next message (or, if asked, ping/pong) as a borrowed view valid until the
 * next call on c. Pongs and the close reply are sent for you. Returns an
 * event type (> 0): ZWS_EV_MESSAGE, ZWS_EV_PING, ZWS_EV_PONG, or ZWS_EV_CLOSE
 * when the peer closed (ev->close_code, ev->reason; the close was answered
 * and the connection is finished). Failures: ZWS_EPROTO / ZWS_EUTF8 /
 * ZWS_ETOOBIG / ZWS_EEXT / ZWS_ENOMEM / ZWS_ENOSPACE (the connection was
 * failed with the close code in ev->close_code and the reason in
 * ev->reason: 1002, 1007, 1009, 1007, 1011 as zws_parser_next lists them,
 * 1008 for a peer that pings faster than it takes our pongs; on a server,
 * ZWS_ETOOBIG with 1009 or ZWS_ENOSPACE with 1008 when the message being
 * assembled, or the output queued, would pass the listener's memory budget,
 * see zws_opts_set_server_limits), ZWS_ETIMEDOUT
 * (read timeout; the connection is still usable), ZWS_ECLOSED (closed
 * without a close frame, or already closed), ZWS_EIO (also: the peer took
 * none of our automatic replies within the close timeout), ZWS_ETLS. */
ZWS_EXTERN int zws_recv(zws_conn *c, zws_event *ev);

/* Keeps the message last returned by zws_recv beyond the next call: takes
 * its buffer without a copy when it has its own, copies it otherwise. */
ZWS_EXTERN int zws_conn_keep(zws_conn *c, zws_buf **out);

/* zws_send flags */
#define ZWS_SEND_MORE_DATA 0x200u /* defer the flush: more sends follow */

/* Sends a message (opcode TEXT or BINARY), or part of one: with
 * ZWS_WRITE_MORE (writer.h) the message stays open and CONT sends carry the
 * rest, the last without ZWS_WRITE_MORE. Text must be valid UTF-8, which is
 * not checked; control frames go through zws_ping and zws_close. data is
 * copied or written before the call returns; the caller keeps it. Without
 * ZWS_SEND_MORE_DATA, everything pending (including queued pongs) is
 * written before returning, blocking until it is. Returns 0 or ZWS_EINVAL
 * (another opcode or flag, CONT with no message open, TEXT/BINARY while one
 * is), ZWS_ECLOSED (closed or closing), ZWS_EIO (a write failed; or no
 * randomness for a client's mask), ZWS_ETLS, ZWS_ENOSPACE (output over the
 * writer's pending limit; or, on a server, the output queued passed the
 * memory budget: the connection is failed with 1008 and closed), ZWS_ENOMEM. */
ZWS_EXTERN int zws_send(zws_conn *c, unsigned opcode, const void *data, size_t len,
                        unsigned flags);
/* (zws_send, zws_sendv, zws_flush, zws_ping also return ZWS_ETIMEDOUT when
 * ZWS_TIMEOUT_WRITE passed; what was not written stays queued, and a
 * by-reference send of a large payload is then cut: close the connection.) */

typedef struct zws_msgv {
    unsigned opcode;
    const void *data;
    size_t len;
} zws_msgv;
/* Sends n TEXT/BINARY messages with one write: they are framed into the
 * output buffer together (copied: the caller keeps msgs and their data).
 * On failure the messages before the failing one stay queued for the next
 * flush. Returns 0 or ZWS_ECLOSED (closed or closing), ZWS_EINVAL (an
 * opcode other than TEXT/BINARY, checked before anything is queued; or a
 * message begun with ZWS_WRITE_MORE is still open), ZWS_ENOSPACE,
 * ZWS_ENOMEM, and the write failures of zws_send (ZWS_EIO, ZWS_ETLS). */
ZWS_EXTERN int zws_sendv(zws_conn *c, const zws_msgv *msgs, int n);
/* Writes everything pending (sends deferred with ZWS_SEND_MORE_DATA, queued
 * pongs). Returns 0 or ZWS_ECLOSED (the connection is closed), ZWS_EIO,
 * ZWS_ETLS. */
ZWS_EXTERN int zws_flush(zws_conn *c);
/* Sends a ping with data[0..len) (copied; at most 125 bytes) and writes
 * everything pending. The pong comes back through zws_recv only with
 * zws_opts_set_surface_control. Returns 0 or ZWS_ECLOSED (closed or
 * closing), ZWS_EINVAL (len > 125), ZWS_ENOSPACE, ZWS_ENOMEM, ZWS_EIO,
 * ZWS_ETLS. */
ZWS_EXTERN int zws_ping(zws_conn *c, const void *data, size_t len);
/* An unsolicited pong: a one-way heartbeat the peer does not answer (RFC
 * 6455 section 5.5.3); pongs to the peer's pings are sent for you. Payload
 * at most 125 bytes. Returns as zws_ping. */
ZWS_EXTERN int zws_pong(zws_conn *c, const void *data, size_t len);

/* Closing handshake: sends a close frame (code 0 sends one without a code;
 * reason: valid UTF-8 of at most 123 bytes, only with a code, else
 * ZWS_EINVAL),
 * waits up to the close timeout for the peer's, then shuts the transport
 * down. Messages that arrive meanwhile are discarded. */
ZWS_EXTERN int zws_close(zws_conn *c, uint16_t code, const char *reason);
/* Frees c. A connection still open is closed abruptly (no close frame).
 * One that has closed first reads and discards what the peer still sends,
 * until its EOF or the close timeout (64 MiB without one), so the peer reads our
 * close frame (or HTTP error) instead of a TCP reset. */
ZWS_EXTERN void zws_conn_free(zws_conn *c);

/* The subprotocol agreed on ("" if none): valid while c lives. */
ZWS_EXTERN const char *zws_conn_subprotocol(const zws_conn *c);
/* The extensions agreed in the handshake, as a Sec-WebSocket-Extensions
 * value would say them (e.g. "permessage-deflate;
 * client_no_context_takeover"), or "" for none. Valid while c lives. */
ZWS_EXTERN const char *zws_conn_extensions(const zws_conn *c);
ZWS_EXTERN int zws_conn_fd(const zws_conn *c);
/* 1 when zws holds input that zws_recv can act on before waiting: a whole
 * frame in its buffer, or bytes held by TLS (which poll() cannot see). 0
 * when what is buffered is only part of a frame, already examined or not,
 * and more must come from the socket: poll() it now. A 1 does not promise a
 * whole message (a fragment, or TLS holding part of a record): zws_recv may
 * still wait, up to the read timeout. */
ZWS_EXTERN int zws_conn_readable(const zws_conn *c);
/* Peer's request path (server) or the URL's path (client), with the query:
 * "/chat?room=1". "/" before a server's handshake. Owned by c: valid while
 * c lives (zws_conn_free frees it). */
ZWS_EXTERN const char *zws_conn_path(const zws_conn *c);

#ifdef __cplusplus
}
#endif
#endif
