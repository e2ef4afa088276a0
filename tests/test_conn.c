/* Blocking connections over loopback: handshakes both ways, echo at every
 * size class (in place, direct reads into the message buffer, by-reference
 * sends), fragments, ping/pong, closing handshakes, protocol failures with
 * their close codes, refused and malformed handshakes, timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"
#include "zws/conn.h"
#include "zws/frame.h"

typedef struct server {
    zws_listener *l;
    pthread_t thread;
    void (*handler)(zws_conn *c, struct server *s);
    int conns;          /* connections to serve */
    int handshake_rc;   /* result of the last handshake */
    char err[256];
    int result;         /* handler's verdict: 0 ok */
    atomic_int go;      /* set by the test to move a raw handler on */
    char url[64];
} server;

static void *serve(void *arg)
{
    server *s = arg;
    for (int i = 0; i < s->conns; i++) {
        zws_conn *c;
        if (zws_accept(s->l, &c, s->err, sizeof s->err))
            break;
        s->handshake_rc = zws_conn_handshake(c, s->err, sizeof s->err);
        if (s->handshake_rc == 0 && s->handler)
            s->handler(c, s);
        zws_conn_free(c);
    }
    return NULL;
}

static void start(server *s, void (*handler)(zws_conn *, server *), int conns,
                  zws_opts *o)
{
    memset(s, 0, sizeof *s);
    atomic_init(&s->go, 0);
    s->handler = handler;
    s->conns = conns;
    char err[256];
    assert_int_equal(zws_listen(&s->l, "127.0.0.1", 0, o, err, sizeof err), 0);
    snprintf(s->url, sizeof s->url, "ws://127.0.0.1:%u/echo?x=1", zws_listener_port(s->l));
    pthread_create(&s->thread, NULL, serve, s);
}

static void stop(server *s)
{
    pthread_join(s->thread, NULL);
    zws_listener_free(s->l);
}

/* Echoes messages until the peer closes or fails; pings are answered by
 * the library. */
static void echo(zws_conn *c, server *s)
{
    zws_event ev;
    int r;
    while ((r = zws_recv(c, &ev)) == ZWS_EV_MESSAGE)
        if (zws_send(c, ev.opcode, ev.data, ev.len, 0))
            break;
    s->result = r;
    if (r == ZWS_EV_CLOSE) {
        s->result = ev.close_code;
        memcpy(s->err, ev.reason, ev.reason_len < 100 ? ev.reason_len : 100);
        s->err[ev.reason_len < 100 ? ev.reason_len : 100] = 0;
    }
}

static zws_conn *client(const char *url, zws_opts *o)
{
    zws_conn *c = NULL;
    char err[256];
    int r = zws_connect(&c, url, o, err, sizeof err);
    if (r)
        fprintf(stderr, "connect: %s\n", err);
    assert_int_equal(r, 0);
    return c;
}

/* A blocking connection waiting in zws_recv for more than a second
 * releases the compression streams of directions without context takeover
 * (as the loop's idle sweep does), and makes them again for the next
 * message. */
static void test_deflate_idle_release(void **state)
{
    (void)state;
    tu_counting_allocator();
    zws_deflate_opts d = {.server_no_context_takeover = 1, .client_no_context_takeover = 1};
    zws_opts *so = NULL, *co = NULL;
    assert_int_equal(zws_opts_new(&so), 0);
    assert_int_equal(zws_opts_new(&co), 0);
    zws_opts_set_deflate(so, &d);
    zws_opts_set_deflate(co, &d);
    server s;
    start(&s, echo, 1, so);
    zws_conn *c = client(s.url, co);
    assert_string_equal(zws_conn_extensions(c),
                        "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    static const char msg[] = "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"p\":\"97000.10\",\"q\":\"0.5\"}";
    zws_event ev;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(zws_send(c, ZWS_OP_TEXT, msg, sizeof msg - 1, 0), 0);
        assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
        assert_memory_equal(ev.data, msg, sizeof msg - 1);
        assert_int_not_equal(ev.rsv & ZWS_RSV1, 0); /* the echo came compressed */
        /* Only the server's thread allocates or frees from here: it waits in
         * zws_recv, the client is idle. */
        usleep(200 * 1000);
        long before = tu_live;
        usleep(1500 * 1000);
        long after = tu_live;
        assert_true(after < before); /* its inflater and deflater went back */
    }
    zws_close(c, 1000, NULL);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 1000);
    zws_opts_free(so);
    zws_opts_free(co);
    zws_set_allocator(NULL, NULL, NULL);
}

static void test_echo_sizes(void **state)
{
    (void)state;
    server s;
    start(&s, echo, 1, NULL);
    zws_conn *c = client(s.url, NULL);
    assert_string_equal(zws_conn_path(c), "/echo?x=1");
    const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 200000, 3 << 20};
    uint8_t *msg = malloc(3 << 20);
    uint64_t seed = 9;
    for (size_t i = 0; i < (3u << 20); i++)
        msg[i] = (uint8_t)tu_rand(&seed);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(zws_send(c, ZWS_OP_BINARY, msg, sizes[i], 0), 0);
        zws_event ev;
        assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
        assert_int_equal(ev.opcode, ZWS_OP_BINARY);
        assert_int_equal(ev.len, sizes[i]);
        if (sizes[i])
            assert_memory_equal(ev.data, msg, sizes[i]);
    }
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "h\xc3\xa9llo", 6, 0), 0);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.opcode, ZWS_OP_TEXT);
    /* Keep it past the next call: copied (it was a view in the buffer). */
    zws_buf *kept;
    assert_int_equal(zws_conn_keep(c, &kept), 0);
    assert_int_equal(zws_close(c, 4000, "bye"), 0);
    assert_memory_equal(zws_buf_data(kept), "h\xc3\xa9llo", 6);
    zws_buf_unref(kept);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 4000);
    assert_string_equal(s.err, "bye");
    free(msg);
}

static void test_fragments_and_batches(void **state)
{
    (void)state;
    server s;
    start(&s, echo, 1, NULL);
    zws_conn *c = client(s.url, NULL);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "frag", 4, ZWS_WRITE_MORE), 0);
    assert_int_equal(zws_ping(c, "p", 1), 0);
    assert_int_equal(zws_send(c, ZWS_OP_CONT, "ment", 4, ZWS_WRITE_MORE), 0);
    assert_int_equal(zws_send(c, ZWS_OP_CONT, "ed", 2, 0), 0);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, 10);
    assert_memory_equal(ev.data, "fragmented", 10);
    /* A batch: one write for many messages. */
    zws_msgv v[100];
    char text[100][8];
    for (int i = 0; i < 100; i++) {
        snprintf(text[i], sizeof text[i], "m%03d", i);
        v[i] = (zws_msgv){ZWS_OP_TEXT, text[i], 4};
    }
    assert_int_equal(zws_sendv(c, v, 100), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
        assert_memory_equal(ev.data, text[i], 4);
    }
    /* Deferred sends go out with the flush. */
    assert_int_equal(zws_send(c, ZWS_OP_BINARY, "a", 1, ZWS_SEND_MORE_DATA), 0);
    assert_int_equal(zws_send(c, ZWS_OP_BINARY, "b", 1, ZWS_SEND_MORE_DATA), 0);
    assert_int_equal(zws_flush(c), 0);
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_memory_equal(ev.data, "b", 1);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 1000);
}

/* The server sends large messages by reference and fragmented; the client
 * reads frames larger than its buffer straight into the message buffer. */
static void big_sender(zws_conn *c, server *s)
{
    static uint8_t big[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    zws_event ev;
    s->result = zws_recv(c, &ev); /* "go" */
    zws_send(c, ZWS_OP_BINARY, big, sizeof big, 0);
    zws_send(c, ZWS_OP_BINARY, big, 100000, ZWS_WRITE_MORE);
    zws_send(c, ZWS_OP_CONT, big + 100000, 1000, 0);
    zws_ping(c, "srv", 3);
    s->result = zws_recv(c, &ev);
    if (s->result == ZWS_EV_CLOSE)
        s->result = ev.close_code;
}

static void test_large_from_server(void **state)
{
    (void)state;
    server s;
    start(&s, big_sender, 1, NULL);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_buffer_size(o, 16 << 10);
    zws_opts_set_surface_control(o, 1);
    zws_conn *c = client(s.url, o);
    zws_opts_free(o);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "go", 2, 0), 0);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, 1 << 20);
    assert_true(ev.flags & ZWS_EV_ASSEMBLED);
    for (size_t i = 0; i < ev.len; i += 4099)
        assert_int_equal(ev.data[i], (uint8_t)(i * 7));
    zws_buf *kept;
    assert_int_equal(zws_conn_keep(c, &kept), 0);
    assert_ptr_equal(zws_buf_data(kept), ev.data); /* detached, not copied */
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, 101000);
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_PING);
    assert_memory_equal(ev.data, "srv", 3);
    assert_int_equal(zws_close(c, 1001, "going"), 0);
    assert_int_equal(zws_buf_data(kept)[4099], (uint8_t)(4099 * 7));
    zws_buf_unref(kept);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 1001);
}

/* ---- echoing a received view ---- */

/* Sends ev's message back five times while ev is still the view zws_recv
 * returned: in two fragments around a ping of its start, twice in one
 * zws_sendv, deferred then flushed, and last from zws_conn_keep's buffer.
 * The header promises the view survives each of these calls. */
static int echo_view(zws_conn *c, const zws_event *ev)
{
    size_t part = ev->len / 3;
    int r = zws_send(c, ev->opcode, ev->data, part, ZWS_WRITE_MORE);
    if (!r)
        r = zws_ping(c, ev->data, part < 125 ? part : 125);
    if (!r)
        r = zws_send(c, ZWS_OP_CONT, ev->data + part, ev->len - part, 0);
    zws_msgv v[2] = {{ev->opcode, ev->data, ev->len}, {ev->opcode, ev->data, ev->len}};
    if (!r)
        r = zws_sendv(c, v, 2);
    if (!r)
        r = zws_send(c, ev->opcode, ev->data, ev->len, ZWS_SEND_MORE_DATA);
    if (!r)
        r = zws_flush(c);
    zws_buf *kept = NULL;
    if (!r)
        r = zws_conn_keep(c, &kept);
    if (!r)
        r = zws_send(c, ev->opcode, zws_buf_data(kept), zws_buf_len(kept), 0);
    zws_buf_unref(kept);
    return r;
}

static void view_echo(zws_conn *c, server *s)
{
    zws_event ev;
    int r;
    while ((r = zws_recv(c, &ev)) == ZWS_EV_MESSAGE)
        if (echo_view(c, &ev))
            break;
    s->result = r == ZWS_EV_CLOSE ? ev.close_code : r;
}

/* Sizes in place, at the read buffer's edge and read straight into the
 * message buffer; each sent whole and in three fragments (reassembled). */
static const size_t view_sizes[] = {0, 1, 125, 126, 65535, 65536, 200000, 3 << 20};
static uint8_t *view_msg;

static void make_view_msg(void)
{
    view_msg = malloc(3 << 20);
    uint64_t seed = 14;
    for (size_t i = 0; i < (3u << 20); i++)
        view_msg[i] = (uint8_t)tu_rand(&seed);
}

static int send_view_msg(zws_conn *c, size_t len, int fragmented)
{
    if (!fragmented)
        return zws_send(c, ZWS_OP_BINARY, view_msg, len, 0);
    size_t a = len / 3, b = len / 3;
    int r = zws_send(c, ZWS_OP_BINARY, view_msg, a, ZWS_WRITE_MORE);
    if (!r)
        r = zws_send(c, ZWS_OP_CONT, view_msg + a, b, ZWS_WRITE_MORE);
    return r ? r : zws_send(c, ZWS_OP_CONT, view_msg + a + b, len - a - b, 0);
}

/* 0 when the five echoes of view_msg[0..len) arrive intact. */
static int expect_view_echoes(zws_conn *c, size_t len)
{
    for (int k = 0; k < 5; k++) {
        zws_event ev;
        int r = zws_recv(c, &ev);
        if (r != ZWS_EV_MESSAGE || ev.opcode != ZWS_OP_BINARY || ev.len != len ||
            (len && memcmp(ev.data, view_msg, len) != 0))
            return r < 0 ? r : -1000 - k;
    }
    return 0;
}

/* The server echoes its views (by reference when large). */
static void test_echo_view_server(void **state)
{
    (void)state;
    make_view_msg();
    server s;
    start(&s, view_echo, 1, NULL);
    zws_conn *c = client(s.url, NULL);
    for (size_t i = 0; i < sizeof view_sizes / sizeof view_sizes[0]; i++)
        for (int frag = 0; frag < 2; frag++) {
            assert_int_equal(send_view_msg(c, view_sizes[i], frag), 0);
            assert_int_equal(expect_view_echoes(c, view_sizes[i]), 0);
        }
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 1000);
    free(view_msg);
}

static void view_source(zws_conn *c, server *s)
{
    s->result = 0;
    for (size_t i = 0; i < sizeof view_sizes / sizeof view_sizes[0] && !s->result; i++)
        for (int frag = 0; frag < 2 && !s->result; frag++) {
            s->result = send_view_msg(c, view_sizes[i], frag);
            if (!s->result)
                s->result = expect_view_echoes(c, view_sizes[i]);
        }
    zws_close(c, 1000, NULL);
}

/* The client echoes its views (masked while copied from them). */
static void test_echo_view_client(void **state)
{
    (void)state;
    make_view_msg();
    server s;
    start(&s, view_source, 1, NULL);
    zws_conn *c = client(s.url, NULL);
    zws_event ev;
    int r;
    while ((r = zws_recv(c, &ev)) == ZWS_EV_MESSAGE)
        assert_int_equal(echo_view(c, &ev), 0);
    assert_int_equal(r, ZWS_EV_CLOSE);
    assert_int_equal(ev.close_code, 1000);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 0);
    free(view_msg);
}

/* Invalid UTF-8 from the client: the server fails the connection with 1007
 * and the client sees that close. */
static void test_invalid_utf8_closes_1007(void **state)
{
    (void)state;
    server s;
    start(&s, echo, 1, NULL);
    zws_conn *c = client(s.url, NULL);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "bad \xff", 5, 0), 0);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_CLOSE);
    assert_int_equal(ev.close_code, 1007);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "x", 1, 0), ZWS_ECLOSED);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, ZWS_EUTF8);
}

static void test_read_timeout(void **state)
{
    (void)state;
    server s;
    start(&s, echo, 1, NULL);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, 100);
    zws_conn *c = client(s.url, o);
    zws_opts_free(o);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_ETIMEDOUT);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "still", 5, 0), 0);
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
}

static void test_subprotocol_and_headers(void **state)
{
    (void)state;
    zws_opts *so;
    zws_opts_new(&so);
    zws_opts_add_subprotocol(so, "v2.zws");
    zws_opts_add_subprotocol(so, "v1.zws");
    assert_int_equal(zws_opts_add_header(so, "X-Bad", "a\r\nb"), ZWS_EINVAL);
    assert_int_equal(zws_opts_add_header(so, "X-Server", "zws"), 0);
    server s;
    start(&s, echo, 1, so);
    zws_opts_free(so);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_add_subprotocol(o, "v1.zws");
    zws_opts_add_subprotocol(o, "v2.zws");
    zws_opts_add_header(o, "X-Client", "test");
    zws_conn *c = client(s.url, o);
    zws_opts_free(o);
    assert_string_equal(zws_conn_subprotocol(c), "v2.zws"); /* server's preference */
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
}

/* ---- options: headers and Origin ---- */

/* Every name a handshake builder writes itself, in several spellings. */
static const char *const builder_names[] = {
    "Host", "origin", "ORIGIN", "Upgrade", "connection", "Content-Length",
    "transfer-encoding", "Sec-WebSocket-Key", "sec-websocket-accept",
    "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions",
};

static int request_takes(const char *name, const char *value)
{
    char out[1024], key[ZWS_HANDSHAKE_KEY_LEN + 1];
    zws_http_header h = {name, strlen(name), value, strlen(value)};
    assert_int_equal(zws_handshake_client_key(key), 0);
    return zws_handshake_build_request(out, sizeof out, "h", 80, 0, "/", key, NULL, 0, NULL,
                                       NULL, &h, 1) > 0;
}

static int response_takes(const char *name, const char *value)
{
    char out[1024];
    zws_http_header h = {name, strlen(name), value, strlen(value)};
    return zws_handshake_build_response(out, sizeof out, "dGhlIHNhbXBsZSBub25jZQ==", 24, NULL,
                                        NULL, &h, 1) > 0;
}

static void test_header_refusals(void **state)
{
    (void)state;
    zws_opts *o;
    zws_opts_new(&o);
    for (size_t i = 0; i < sizeof builder_names / sizeof builder_names[0]; i++) {
        assert_int_equal(zws_opts_add_header(o, builder_names[i], "x"), ZWS_EINVAL);
        assert_non_null(zws_opts_header_refusal(builder_names[i], "x"));
    }
    assert_int_equal(zws_opts_add_header(o, "Sec-WebSocket-Anything", "x"), ZWS_EINVAL);
    /* A header the options take is one both handshakes send, and a name or
     * value either refuses is refused by the options too. */
    const char *const names[] = {"X-Client", "Content-Type", "Allow", "Authorization",
                                 "Cookie", "User-Agent", "Bad Name", "Bad:Name", "Ä"};
    const char *const values[] = {"plain", "tab\there", "", "del\x7f", "cr\rlf", "nl\n",
                                  "obs-text \xc3\xa9"};
    for (size_t i = 0; i < sizeof builder_names / sizeof builder_names[0]; i++)
        assert_false(request_takes(builder_names[i], "x") && response_takes(builder_names[i], "x"));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t j = 0; j < sizeof values / sizeof values[0]; j++) {
            int opts = zws_opts_add_header(o, names[i], values[j]) == 0;
            int both = request_takes(names[i], values[j]) && response_takes(names[i], values[j]);
            if (opts != both)
                fail_msg("'%s: %s': options %d, handshakes %d", names[i], values[j], opts, both);
            assert_int_equal(opts, zws_opts_header_refusal(names[i], values[j]) == NULL);
        }
    /* The reasons. */
    assert_null(zws_opts_header_refusal("X-Client", "ok"));
    assert_string_equal(zws_opts_header_refusal("Origin", "https://a.example"),
                        "Origin is set with zws_opts_set_origin");
    assert_string_equal(zws_opts_header_refusal("host", "h"), "Host is derived from the URL");
    assert_string_equal(zws_opts_header_refusal("Sec-WebSocket-Protocol", "p"),
                        "subprotocols are set with zws_opts_add_subprotocol");
    assert_string_equal(zws_opts_header_refusal("Bad Name", "v"), "not an HTTP token");
    assert_string_equal(zws_opts_header_refusal("", "v"), "no header name");
    assert_string_equal(zws_opts_header_refusal(NULL, "v"), "no header name");
    assert_string_equal(zws_opts_header_refusal("X-A", NULL), "no header value");
    assert_string_equal(zws_opts_header_refusal("X-A", "a\r\nX-B: b"),
                        "value contains a control character");
    /* Subprotocols are tokens, as both handshakes want them. */
    assert_int_equal(zws_opts_add_subprotocol(o, "v1.zws"), 0);
    assert_int_equal(zws_opts_add_subprotocol(o, "v\xc3\xa9"), ZWS_EINVAL);
    assert_int_equal(zws_opts_add_subprotocol(o, "a\x7f"), ZWS_EINVAL);
    assert_int_equal(zws_opts_add_subprotocol(o, ""), ZWS_EINVAL);
    zws_opts_free(o);
}

/* Written by the server's thread, read once it has been joined. */
static char seen_origin[2][128];
static int seen_origins;

static int record_origin(void *ud, const char *origin)
{
    (void)ud;
    if (seen_origins < 2)
        snprintf(seen_origin[seen_origins], sizeof seen_origin[0], "%s",
                 origin ? origin : "(none)");
    seen_origins++;
    return 1;
}

/* The client's Origin reaches the server's check; unset, none is sent. */
static void test_origin(void **state)
{
    (void)state;
    zws_opts *so;
    zws_opts_new(&so);
    zws_opts_set_origin_check(so, record_origin, NULL);
    seen_origins = 0;
    server s;
    start(&s, echo, 2, so);
    zws_opts_free(so);
    zws_opts *o;
    zws_opts_new(&o);
    assert_int_equal(zws_opts_set_origin(o, "https://a.example\r\nX-Evil: 1"), ZWS_EINVAL);
    assert_int_equal(zws_opts_set_origin(o, "https://app.example"), 0);
    zws_conn *c = client(s.url, o);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    assert_int_equal(zws_opts_set_origin(o, ""), 0); /* unset */
    c = client(s.url, o);
    zws_opts_free(o);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(seen_origins, 2);
    assert_string_equal(seen_origin[0], "https://app.example");
    assert_string_equal(seen_origin[1], "(none)");
}

/* A unix domain socket: an echo through ws+unix, the path the server saw,
 * a live socket refused, a stale one replaced, the file gone at the end. */
static void path_echo(zws_conn *c, server *s)
{
    snprintf(s->url, sizeof s->url, "%s", zws_conn_path(c));
    echo(c, s);
}

static void test_unix_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/zws-test-unix.XXXXXX", path[128], url[192], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/app.sock", dir);
    snprintf(url, sizeof url, "ws+unix://%s:/chat?x=1", path);
    /* A stale socket file: bound, never listened on, closed. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    server s;
    memset(&s, 0, sizeof s);
    atomic_init(&s.go, 0);
    s.handler = path_echo;
    s.conns = 2; /* the probe of the second listener below, then the client */
    assert_int_equal(zws_listen_unix(&s.l, path, NULL, err, sizeof err), 0);
    assert_int_equal(zws_listener_port(s.l), 0);
    pthread_create(&s.thread, NULL, serve, &s);
    zws_listener *second;
    assert_int_equal(zws_listen_unix(&second, path, NULL, err, sizeof err), ZWS_EIO);
    assert_non_null(strstr(err, "in use"));
    zws_conn *c = client(url, NULL);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "over unix", 9, 0), 0);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, 9);
    assert_memory_equal(ev.data, "over unix", 9);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
    assert_string_equal(s.url, "/chat?x=1");
    assert_int_equal(access(path, F_OK), -1); /* removed with the listener */
    assert_int_equal(zws_connect(&c, url, NULL, err, sizeof err), ZWS_ECONNECT);
    assert_non_null(strstr(err, path));
    assert_int_equal(zws_listen_unix(&second, "", NULL, err, sizeof err), ZWS_EINVAL);
    rmdir(dir);
}

/* zws_pong: an unsolicited pong reaches the peer as a pong, and nothing
 * answers it. */
static void pong_then_echo(zws_conn *c, server *s)
{
    assert_int_equal(zws_pong(c, "beat", 4), 0);
    char big[126] = {0};
    assert_int_equal(zws_pong(c, big, sizeof big), ZWS_EINVAL);
    echo(c, s);
}

static void test_unsolicited_pong(void **state)
{
    (void)state;
    server s;
    start(&s, pong_then_echo, 1, NULL);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_surface_control(o, 1);
    zws_conn *c = client(s.url, o);
    zws_opts_free(o);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_PONG);
    assert_int_equal(ev.len, 4);
    assert_memory_equal(ev.data, "beat", 4);
    assert_int_equal(zws_pong(c, "", 0), 0); /* the client's, to the server */
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "after", 5, 0), 0);
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_memory_equal(ev.data, "after", 5);
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    assert_int_equal(zws_pong(c, "x", 1), ZWS_ECLOSED);
    zws_conn_free(c);
    stop(&s);
    assert_int_equal(s.result, 1000);
}

/* A TLS record where the HTTP response was due: ws:// to a TLS port. */
static void *tls_alert_server(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    char buf[1024];
    (void)!read(fd, buf, sizeof buf);
    static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46};
    (void)!write(fd, alert, sizeof alert);
    close(fd);
    return NULL;
}

static void test_tls_answer_to_plain(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
    pthread_t t;
    pthread_create(&t, NULL, tls_alert_server, &lfd);
    char url[64], err[256];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ntohs(a.sin_port));
    zws_conn *c = NULL;
    assert_int_equal(zws_connect(&c, url, NULL, err, sizeof err), ZWS_EHANDSHAKE);
    assert_non_null(strstr(err, "use wss://"));
    pthread_join(t, NULL);
    close(lfd);
}

/* ---- refused and malformed handshakes ---- */

/* Sends a raw request to a server made with o; returns the handshake's
 * result with the whole answer in resp. */
static int raw_exchange(zws_opts *o, const char *request, char *resp, size_t cap)
{
    server s;
    start(&s, NULL, 1, o);
    int fd = tu_connect_from(NULL, zws_listener_port(s.l));
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t n = 0;
    ssize_t k;
    while (n + 1 < cap && (k = read(fd, resp + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    resp[n] = 0;
    close(fd);
    stop(&s);
    return s.handshake_rc;
}

static void expect_status(const char *request, const char *status, const char *header)
{
    char resp[2048];
    int rc = raw_exchange(NULL, request, resp, sizeof resp);
    if (strncmp(resp, status, strlen(status)) != 0)
        fail_msg("wanted '%s', got '%.60s'", status, resp);
    if (header)
        assert_non_null(strstr(resp, header));
    assert_int_equal(rc, ZWS_EHANDSHAKE);
}

static void test_bad_handshakes(void **state)
{
    (void)state;
    const char *base = "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    char req[1024];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\n%sSec-WebSocket-Version: 13\r\n\r\n", base);
    expect_status(req, "HTTP/1.1 400", NULL);
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\n%sSec-WebSocket-Key: "
             "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", base);
    expect_status(req, "HTTP/1.1 426", "Sec-WebSocket-Version: 13");
    expect_status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                  "HTTP/1.1 405", "Allow: GET");
    expect_status("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 426", NULL);
    static char big[12000];
    memset(big, 0, sizeof big);
    strcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(big + strlen(big), 'a', 10000);
    strcat(big, "\r\n\r\n");
    expect_status(big, "HTTP/1.1 431", NULL);
    expect_status("GET / HTTP/1.1\r\n Host: folded\r\n\r\n", "HTTP/1.1 400", NULL);
}

static void test_slowloris(void **state)
{
    (void)state;
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, 300);
    server s;
    start(&s, NULL, 1, o);
    zws_opts_free(o);
    int fd = tu_connect_from(NULL, zws_listener_port(s.l));
    const char *part = "GET / HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(write(fd, part, strlen(part)), (ssize_t)strlen(part));
    stop(&s); /* returns once the server gave up */
    assert_int_equal(s.handshake_rc, ZWS_ETIMEDOUT);
    close(fd);
}

/* A plain HTTP server that refuses: the client reports status and body. */
static void *http_404(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    (void)n;
    const char *resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 14\r\n"
                       "Connection: close\r\n\r\nno such socket";
    n = write(fd, resp, strlen(resp));
    close(fd);
    return NULL;
}

static void test_client_errors(void **state)
{
    (void)state;
    zws_conn *c = NULL;
    char err[256];
    assert_int_equal(zws_connect(&c, "ftp://127.0.0.1/", NULL, err, sizeof err), ZWS_EURL);
    assert_true(strlen(err) > 0);
    assert_int_equal(zws_connect(&c, "ws://127.0.0.1:1/", NULL, err, sizeof err),
                     ZWS_ECONNECT);
    assert_non_null(strstr(err, "refused"));
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    listen(lfd, 1);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    pthread_t t;
    pthread_create(&t, NULL, http_404, &lfd);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", ntohs(a.sin_port));
    assert_int_equal(zws_connect(&c, url, NULL, err, sizeof err), ZWS_EHANDSHAKE);
    pthread_join(t, NULL);
    close(lfd);
    assert_non_null(strstr(err, "404"));
    assert_non_null(strstr(err, "no such socket"));
}

/* ---- the upgrade hook ---- */

typedef struct hook_log {
    int calls;
    char ext[64];       /* first extension offer's name */
    size_t ext_params;  /* and its parameter count */
    char pick_in[16];   /* the subprotocol zws picked, as the hook saw it */
} hook_log;

static const zws_http_header room_header[] = {{"X-Room", 6, "7", 1}};
static const zws_http_header auth_header[] = {{"WWW-Authenticate", 16, "Basic realm=\"zws\"", 17}};
static const zws_http_header reserved_header[] = {{"Upgrade", 7, "h2c", 3}};
static char long_reason[3000];

static int path_is(const zws_upgrade *u, const char *p)
{
    return u->request->path_len == strlen(p) && memcmp(u->request->path, p, strlen(p)) == 0;
}

static int upgrade_hook(void *ud, zws_upgrade *u)
{
    hook_log *log = ud;
    log->calls++;
    if (path_is(u, "/nope")) {
        u->reason = "no such feed";
        return 404;
    }
    if (path_is(u, "/auth")) {
        u->headers = auth_header;
        u->num_headers = 1;
        return 401;
    }
    if (path_is(u, "/badproto")) {
        u->subprotocol = "never-offered";
        return 0;
    }
    if (path_is(u, "/weird"))
        return 42; /* not an error status: answered as 500 */
    if (path_is(u, "/long")) {
        u->reason = long_reason;
        return 403;
    }
    if (path_is(u, "/reserved") || path_is(u, "/reserved401")) {
        u->headers = reserved_header; /* a name zws writes itself */
        u->num_headers = 1;
        return path_is(u, "/reserved") ? 0 : 401;
    }
    snprintf(log->pick_in, sizeof log->pick_in, "%s", u->subprotocol ? u->subprotocol : "");
    zws_http_list it;
    zws_http_list_init(&it, u->request->headers, u->request->num_headers,
                       "Sec-WebSocket-Extensions");
    zws_ext_offer offer;
    if (zws_ext_next(&it, &offer) == 1) {
        snprintf(log->ext, sizeof log->ext, "%.*s", (int)offer.name_len, offer.name);
        log->ext_params = offer.num_params;
    }
    static const char *const mine[] = {"b.zws"};
    u->subprotocol = zws_handshake_select_subprotocol(u->request, mine, 1);
    u->headers = room_header;
    u->num_headers = 1;
    return 0;
}

/* Requests path (fmt has one %s) from a server made with so: the answer,
 * in resp, must be a refusal starting with status. */
static void refused(zws_opts *so, const char *fmt, const char *path, const char *status,
                    char *resp, size_t cap)
{
    char req[1024];
    snprintf(req, sizeof req, fmt, path);
    assert_int_equal(raw_exchange(so, req, resp, cap), ZWS_EHANDSHAKE);
    if (strncmp(resp, status, strlen(status)) != 0)
        fail_msg("%s: wanted '%s', got '%.60s'", path, status, resp);
}

static void test_upgrade_hook(void **state)
{
    (void)state;
    hook_log log;
    memset(&log, 0, sizeof log);
    zws_opts *so;
    zws_opts_new(&so);
    zws_opts_add_subprotocol(so, "a.zws"); /* zws's pick; the hook overrides it */
    zws_opts_add_header(so, "X-Server", "zws");
    zws_opts_set_upgrade_hook(so, upgrade_hook, &log);

    const char *fmt = "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a.zws, b.zws\r\n"
                      "Sec-WebSocket-Extensions: permessage-deflate; "
                      "client_max_window_bits, x-other\r\n\r\n";
    char req[1024], resp[4096];
    snprintf(req, sizeof req, fmt, "/feed");
    assert_int_equal(raw_exchange(so, req, resp, sizeof resp), 0);
    assert_memory_equal(resp, "HTTP/1.1 101", 12);
    assert_non_null(strstr(resp, "Sec-WebSocket-Protocol: b.zws\r\n"));
    assert_non_null(strstr(resp, "X-Server: zws\r\n"));
    assert_non_null(strstr(resp, "X-Room: 7\r\n"));
    assert_true(strstr(resp, "X-Server: zws") < strstr(resp, "X-Room: 7")); /* opts' first */
    assert_string_equal(log.pick_in, "a.zws");
    assert_null(strstr(resp, "Sec-WebSocket-Extensions")); /* none accepted */
    assert_string_equal(log.ext, "permessage-deflate");
    assert_int_equal(log.ext_params, 1);

    refused(so, fmt, "/nope", "HTTP/1.1 404", resp, sizeof resp);
    assert_non_null(strstr(resp, "no such feed"));
    refused(so, fmt, "/auth", "HTTP/1.1 401", resp, sizeof resp);
    assert_non_null(strstr(resp, "WWW-Authenticate: Basic realm=\"zws\"\r\n"));
    refused(so, fmt, "/badproto", "HTTP/1.1 500", resp, sizeof resp);
    refused(so, fmt, "/weird", "HTTP/1.1 500", resp, sizeof resp);
    /* A reason too long for the answer is cut, not the answer dropped. */
    memset(long_reason, 'r', sizeof long_reason - 1);
    refused(so, fmt, "/long", "HTTP/1.1 403", resp, sizeof resp);
    assert_non_null(strstr(resp, "rrrrrrrr"));
    /* Headers zws writes itself: a 101 is refused, a refusal goes without. */
    refused(so, fmt, "/reserved", "HTTP/1.1 500", resp, sizeof resp);
    refused(so, fmt, "/reserved401", "HTTP/1.1 401", resp, sizeof resp);
    assert_null(strstr(resp, "h2c"));
    assert_int_equal(log.calls, 8);

    /* Our client sees the refusal's status and detail, or the hook's pick. */
    server s;
    start(&s, echo, 2, so);
    char url[96], err[256];
    zws_conn *c = NULL;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/nope", zws_listener_port(s.l));
    assert_int_equal(zws_connect(&c, url, NULL, err, sizeof err), ZWS_EHANDSHAKE);
    assert_non_null(strstr(err, "404"));
    assert_non_null(strstr(err, "no such feed"));
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_add_subprotocol(o, "a.zws");
    zws_opts_add_subprotocol(o, "b.zws");
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/feed", zws_listener_port(s.l));
    c = client(url, o);
    zws_opts_free(o);
    assert_string_equal(zws_conn_subprotocol(c), "b.zws");
    assert_int_equal(zws_close(c, 1000, NULL), 0);
    zws_conn_free(c);
    stop(&s);
    zws_opts_free(so);
}

/* ---- replies that do not fit: a peer that sends pings and does not read ---- */

#define PINGS 1500
#define PING_LEN 100

/* The server sends PINGS pings (payload: the index, then filler) without
 * reading, then reads the pongs and checks each one, in order: a pong write
 * cut short by the client's read timeout must continue where it stopped, not
 * start again. */
static void ping_flood(zws_conn *c, server *s)
{
    int fd = zws_conn_fd(c);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); /* plain blocking I/O here */
    uint8_t frame[2 + PING_LEN];
    frame[0] = 0x80 | ZWS_OP_PING;
    frame[1] = PING_LEN;
    memset(frame + 2, 'p', PING_LEN);
    for (uint32_t i = 0; i < PINGS; i++) {
        memcpy(frame + 2, &i, sizeof i);
        size_t off = 0;
        while (off < sizeof frame) {
            ssize_t k = send(fd, frame + off, sizeof frame - off, MSG_NOSIGNAL);
            if (k <= 0) {
                s->result = -1;
                return;
            }
            off += (size_t)k;
        }
    }
    zws_parser *p;
    zws_parser_new(&p, ZWS_ROLE_SERVER);
    static uint8_t buf[1 << 16];
    size_t have = 0;
    uint32_t pongs = 0;
    s->result = 0;
    while (pongs < PINGS && s->result == 0) {
        ssize_t k = recv(fd, buf + have, sizeof buf - have, 0);
        if (k <= 0) {
            s->result = -2;
            break;
        }
        have += (size_t)k;
        size_t off = 0, used;
        zws_event ev;
        int r;
        while ((r = zws_parser_next(p, buf + off, have - off, &used, &ev)) > 0) {
            off += used;
            uint32_t idx;
            memcpy(&idx, ev.data, sizeof idx);
            if (r != ZWS_EV_PONG || ev.len != PING_LEN || idx != pongs) {
                snprintf(s->err, sizeof s->err, "event %d len %zu index %u at pong %u", r,
                         ev.len, (unsigned)idx, (unsigned)pongs);
                s->result = -3;
                break;
            }
            pongs++;
        }
        off += used;
        if (r < 0) {
            snprintf(s->err, sizeof s->err, "parser error %d (%s) at pong %u", r,
                     ev.reason ? ev.reason : "", (unsigned)pongs);
            s->result = -4;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    zws_parser_free(p);
}

static void test_partial_pong_writes(void **state)
{
    (void)state;
    server s;
    start(&s, ping_flood, 1, NULL);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, 1);
    zws_opts_set_surface_control(o, 1);
    zws_conn *c = client(s.url, o);
    zws_opts_free(o);
    int small = 4096;
    setsockopt(zws_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    int pings = 0, timeouts = 0;
    while (pings < PINGS) {
        zws_event ev;
        int r = zws_recv(c, &ev);
        if (r == ZWS_ETIMEDOUT) {
            timeouts++;
            continue;
        }
        if (r != ZWS_EV_PING) {
            stop(&s);
            fail_msg("zws_recv: %s after %d pings (server %d: %s)", zws_strerror(r), pings,
                     s.result, s.err);
        }
        pings++;
    }
    assert_int_equal(zws_flush(c), 0); /* the pongs still queued */
    stop(&s);
    if (s.result)
        fail_msg("server saw %d: %s", s.result, s.err);
    print_message("[ INFO     ] %d read timeouts on the way\n", timeouts);
    zws_conn_free(c);
}

/* ---- peers that flood or stall: every call stays within its timeout ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server side as raw bytes on a blocking socket. */
static int raw_fd(zws_conn *c)
{
    int fd = zws_conn_fd(c);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Sends frame[0..n) over and over until the test says go (or 10 s). */
static void flood(zws_conn *c, server *s, const uint8_t *frame, size_t n)
{
    int fd = raw_fd(c);
    uint8_t burst[4096];
    size_t k = 0;
    while (k + n <= sizeof burst) {
        memcpy(burst + k, frame, n);
        k += n;
    }
    int64_t end = now_ms() + 10000;
    while (!atomic_load(&s->go) && now_ms() < end)
        if (send(fd, burst, k, MSG_NOSIGNAL) <= 0)
            break;
}

static void flood_pongs(zws_conn *c, server *s)
{
    static const uint8_t pong[] = {0x80 | ZWS_OP_PONG, 0};
    flood(c, s, pong, sizeof pong);
}

static void flood_messages(zws_conn *c, server *s)
{
    static const uint8_t msg[] = {0x80 | ZWS_OP_BINARY, 2, 'h', 'i'};
    flood(c, s, msg, sizeof msg);
}

/* Pings without reading the pongs. */
static void flood_pings_unread(zws_conn *c, server *s)
{
    int small = 4096;
    setsockopt(zws_conn_fd(c), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    uint8_t ping[2 + 125] = {0x80 | ZWS_OP_PING, 125};
    memset(ping + 2, 'p', 125);
    flood(c, s, ping, sizeof ping);
}

static zws_conn *flooded_client(server *s, void (*handler)(zws_conn *, server *),
                                int read_ms, int close_ms)
{
    start(s, handler, 1, NULL);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, read_ms);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_CLOSE, close_ms);
    zws_conn *c = client(s->url, o);
    zws_opts_free(o);
    int small = 4096;
    setsockopt(zws_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    return c;
}

static void end_flood(server *s, zws_conn *c)
{
    atomic_store(&s->go, 1);
    zws_conn_free(c);
    stop(s);
}

/* A 200 ms read timeout holds while the peer never stops sending pongs:
 * the margin (2 s against a 10 s flood) only tells a bound from none. */
static void test_flood_read_timeout(void **state)
{
    (void)state;
    server s;
    zws_conn *c = flooded_client(&s, flood_pongs, 200, 5000);
    zws_event ev;
    int64_t t0 = now_ms();
    assert_int_equal(zws_recv(c, &ev), ZWS_ETIMEDOUT);
    int64_t took = now_ms() - t0;
    end_flood(&s, c);
    if (took > 2000)
        fail_msg("zws_recv returned after %lld ms with a 200 ms read timeout", (long long)took);
}

/* zws_close waits for the peer's close frame at most the close timeout,
 * even while messages keep coming. */
static void test_flood_close_timeout(void **state)
{
    (void)state;
    server s;
    zws_conn *c = flooded_client(&s, flood_messages, 0, 300);
    int64_t t0 = now_ms();
    assert_int_equal(zws_close(c, 1000, NULL), ZWS_ETIMEDOUT);
    int64_t took = now_ms() - t0;
    end_flood(&s, c);
    if (took > 3000)
        fail_msg("zws_close returned after %lld ms with a 300 ms close timeout",
                 (long long)took);
}

/* A peer that pings and never reads the pongs is dropped after the close
 * timeout, even with no read timeout. */
static void test_unread_pongs_dropped(void **state)
{
    (void)state;
    server s;
    zws_conn *c = flooded_client(&s, flood_pings_unread, 0, 300);
    zws_event ev;
    int64_t t0 = now_ms();
    int r;
    while ((r = zws_recv(c, &ev)) > 0 && now_ms() - t0 < 8000)
        ;
    int64_t took = now_ms() - t0;
    end_flood(&s, c);
    assert_int_equal(r, ZWS_EIO);
    if (took > 4000)
        fail_msg("dropped after %lld ms with a 300 ms close timeout", (long long)took);
}

/* Two whole frames and half a third in one write, then a pause: readable
 * while a whole frame is buffered, not with half of one. */
static void half_then_rest(zws_conn *c, server *s)
{
    int fd = raw_fd(c);
    static const uint8_t half[] = {0x80 | ZWS_OP_TEXT, 1, 'A', 0x80 | ZWS_OP_TEXT, 1, 'B',
                                   0x80 | ZWS_OP_TEXT, 5, 'h', 'e', 'l'};
    if (send(fd, half, sizeof half, MSG_NOSIGNAL) != (ssize_t)sizeof half)
        return;
    for (int i = 0; i < 5000 && !atomic_load(&s->go); i++)
        poll(NULL, 0, 1);
    (void)send(fd, "lo", 2, MSG_NOSIGNAL);
    char b[64];
    (void)recv(fd, b, sizeof b, 0); /* the client's close */
}

static void test_readable_partial_frame(void **state)
{
    (void)state;
    server s;
    zws_conn *c = flooded_client(&s, half_then_rest, 100, 300);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_memory_equal(ev.data, "A", 1);
    assert_int_equal(zws_conn_readable(c), 1); /* "B" is here whole */
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_memory_equal(ev.data, "B", 1);
    assert_int_equal(zws_conn_readable(c), 0); /* half of "hello" */
    assert_int_equal(zws_recv(c, &ev), ZWS_ETIMEDOUT);
    assert_int_equal(zws_conn_readable(c), 0); /* all of it seen: poll() now */
    atomic_store(&s.go, 1);
    struct pollfd p = {.fd = zws_conn_fd(c), .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "hello", 5);
    zws_conn_free(c);
    stop(&s);
}

/* A server that reads nothing until the test is done with it. */
static void never_reads(zws_conn *c, server *s)
{
    (void)c;
    while (!atomic_load(&s->go))
        usleep(5000);
}

/* ZWS_TIMEOUT_WRITE bounds a send to a peer that does not read, by copy
 * and by reference alike; without it the send would block for ever. */
static void test_write_timeout(void **state)
{
    (void)state;
    server s;
    start(&s, never_reads, 1, NULL);
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_WRITE, 300);
    zws_conn *c = client(s.url, o);
    zws_opts_free(o);
    size_t n = 16u << 20; /* 4 x 16 MiB: more than loopback buffers hold */
    uint8_t *big = calloc(1, n);
    int64_t t0 = now_ms();
    int r = 0;
    for (int i = 0; i < 8 && r == 0; i++)
        r = zws_send(c, ZWS_OP_BINARY, big, n, 0);
    int64_t took = now_ms() - t0;
    assert_int_equal(r, ZWS_ETIMEDOUT);
    assert_true(took >= 250 && took < 5000);
    free(big);
    zws_conn_free(c);
    atomic_store(&s.go, 1);
    stop(&s);
}


/* ---- crowds: per-address caps and the memory budget ---- */


static const char upgrade_req[] =
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/* Accepts the connection waiting on l (it is in the backlog already). */
static int accept_one(zws_listener *l, zws_conn **c, char *err, size_t cap)
{
    return zws_accept(l, c, err, cap);
}

/* 1 when the peer closed fd (EOF or reset) within ms. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char b[512];
    return poll(&p, 1, ms) == 1 && read(fd, b, sizeof b) <= 0;
}

/* zws_accept counts each address's handshakes and connections: over a cap
 * the connection is closed at once (ZWS_ELIMIT) and the listener goes on;
 * another address is not concerned. */
static void test_per_address_caps(void **state)
{
    (void)state;
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_server_limits(o, 2, 3, 0);
    zws_listener *l;
    char err[256];
    assert_int_equal(zws_listen(&l, "127.0.0.1", 0, o, err, sizeof err), 0);
    zws_opts_free(o);
    uint16_t port = zws_listener_port(l);
    int fd[6];
    zws_conn *c[6] = {0};
    for (int i = 0; i < 2; i++) { /* two handshakes under way from 127.0.0.2 */
        fd[i] = tu_connect_from("127.0.0.2", port);
        assert_int_equal(accept_one(l, &c[i], err, sizeof err), 0);
    }
    fd[2] = tu_connect_from("127.0.0.2", port);
    assert_int_equal(accept_one(l, &c[2], err, sizeof err), ZWS_ELIMIT);
    assert_non_null(strstr(err, "127.0.0.2"));
    assert_non_null(strstr(err, "handshakes"));
    assert_true(closed_within(fd[2], 2000));
    close(fd[2]);
    /* 127.0.0.1 has its own counts */
    int other = tu_connect_from("127.0.0.1", port);
    zws_conn *oc;
    assert_int_equal(accept_one(l, &oc, err, sizeof err), 0);
    /* a finished handshake leaves room for another, up to 3 in all */
    assert_int_equal(write(fd[0], upgrade_req, strlen(upgrade_req)), (ssize_t)strlen(upgrade_req));
    assert_int_equal(zws_conn_handshake(c[0], err, sizeof err), 0);
    fd[3] = tu_connect_from("127.0.0.2", port);
    assert_int_equal(accept_one(l, &c[3], err, sizeof err), 0);
    fd[4] = tu_connect_from("127.0.0.2", port);
    assert_int_equal(accept_one(l, &c[4], err, sizeof err), ZWS_ELIMIT);
    assert_non_null(strstr(err, "3 connections"));
    assert_true(closed_within(fd[4], 2000));
    close(fd[4]);
    /* one freed, one more accepted */
    zws_conn_free(c[1]);
    close(fd[1]);
    fd[5] = tu_connect_from("127.0.0.2", port);
    assert_int_equal(accept_one(l, &c[5], err, sizeof err), 0);
    for (int i = 0; i < 6; i++)
        if (c[i] && i != 1 && i != 2 && i != 4) {
            zws_conn_free(c[i]);
            close(fd[i]);
        }
    zws_conn_free(oc);
    close(other);
    zws_listener_free(l);
}

/* A thread-per-connection echo server, as `zws server` is, counting how
 * its connections ended. */
typedef struct crowd {
    zws_listener *l;
    pthread_t acceptor;
    pthread_t threads[64];
    atomic_int nthreads, stop, budget_closes, other_ends;
} crowd;

typedef struct crowd_job {
    crowd *cr;
    zws_conn *c;
} crowd_job;

static void *crowd_conn(void *arg)
{
    crowd_job *j = arg;
    char err[256];
    if (zws_conn_handshake(j->c, err, sizeof err) == 0) {
        zws_event ev;
        int r;
        while ((r = zws_recv(j->c, &ev)) == ZWS_EV_MESSAGE)
            if (zws_send(j->c, ev.opcode, ev.data, ev.len, 0))
                break;
        if (r == ZWS_ETOOBIG && ev.close_code == 1009 && ev.reason &&
            strcmp(ev.reason, "server memory budget reached") == 0)
            atomic_fetch_add(&j->cr->budget_closes, 1);
        else
            atomic_fetch_add(&j->cr->other_ends, 1);
    }
    zws_conn_free(j->c);
    free(j);
    return NULL;
}

static void *crowd_accept(void *arg)
{
    crowd *cr = arg;
    while (!atomic_load(&cr->stop)) {
        zws_conn *c;
        char err[256];
        if (zws_accept(cr->l, &c, err, sizeof err))
            continue;
        if (atomic_load(&cr->stop) || atomic_load(&cr->nthreads) == 64) {
            zws_conn_free(c);
            continue;
        }
        crowd_job *j = malloc(sizeof *j);
        j->cr = cr;
        j->c = c;
        int i = atomic_fetch_add(&cr->nthreads, 1);
        pthread_create(&cr->threads[i], NULL, crowd_conn, j);
    }
    return NULL;
}

static void crowd_start(crowd *cr, zws_opts *o)
{
    memset(cr, 0, sizeof *cr);
    char err[256];
    assert_int_equal(zws_listen(&cr->l, "127.0.0.1", 0, o, err, sizeof err), 0);
    pthread_create(&cr->acceptor, NULL, crowd_accept, cr);
}

/* After every client closed: the threads end, a last connect wakes accept. */
static void crowd_stop(crowd *cr)
{
    atomic_store(&cr->stop, 1);
    close(tu_connect_from("127.0.0.1", zws_listener_port(cr->l)));
    pthread_join(cr->acceptor, NULL);
    for (int i = 0; i < atomic_load(&cr->nthreads); i++)
        pthread_join(cr->threads[i], NULL);
    zws_listener_free(cr->l);
}

/* Writes buf[0..n) to a blocking fd; stops at a failure or after ms
 * without progress. Returns the bytes written. */
static size_t write_for(int fd, const uint8_t *buf, size_t n, int ms)
{
    size_t done = 0;
    while (done < n) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, ms) != 1 || (p.revents & (POLLERR | POLLHUP)))
            break;
        ssize_t w = send(fd, buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0 && errno != EAGAIN)
            break;
        if (w > 0)
            done += (size_t)w;
    }
    return done;
}

/* Connections that send all but the last byte of a near-16 MiB frame and
 * stall: what the server holds is bounded by the budget, not by
 * connections x max_message; the ones past it are closed with 1009 before
 * their payload is read, and a client beside them is still served. */
static void test_budget_stalled_frames(void **state)
{
    (void)state;
    enum { N = 20 };
    const size_t budget = 64u << 20, len = (16u << 20) - 64;
    zws_opts *o;
    zws_opts_new(&o);
    zws_opts_set_server_limits(o, 0, 0, budget);
    crowd cr;
    crowd_start(&cr, o);
    zws_opts_free(o);
    uint16_t port = zws_listener_port(cr.l);
    size_t rss0 = tu_rss_kib();
    uint8_t *payload = calloc(1, len);
    uint8_t hdr[14];
    static const uint8_t key[4] = {0, 0, 0, 0};
    int hl = zws_frame_write_header(hdr, ZWS_OP_BINARY, 1, 0, len, key);
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = tu_connect_from("127.0.0.2", port);
        char resp[1024];
        assert_int_equal(write(fds[i], upgrade_req, strlen(upgrade_req)),
                         (ssize_t)strlen(upgrade_req));
        ssize_t got = read(fds[i], resp, sizeof resp - 1);
        assert_true(got > 12 && memcmp(resp, "HTTP/1.1 101", 12) == 0);
        assert_int_equal(write(fds[i], hdr, (size_t)hl), hl);
        /* over the budget, failed at its header (the rest is read and
         * dropped while the server lingers for our EOF) */
        write_for(fds[i], payload, len - 1, 1000);
    }
    int64_t end = now_ms() + 5000;
    while (atomic_load(&cr.budget_closes) < N - 5 && now_ms() < end)
        poll(NULL, 0, 10);
    assert_true(atomic_load(&cr.budget_closes) >= N - 5);
    /* a refused one read the reason: a close frame with 1009 */
    uint8_t close_frame[64];
    int saw_1009 = 0;
    for (int i = 0; i < N && !saw_1009; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            ssize_t n = recv(fds[i], close_frame, sizeof close_frame, MSG_DONTWAIT);
            saw_1009 = n >= 4 && close_frame[0] == 0x88 && close_frame[2] == 0x03 &&
                       close_frame[3] == 0xf1;
        }
    }
    assert_true(saw_1009);
    /* a client beside the stalled ones */
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", port);
    zws_conn *c = client(url, NULL);
    assert_int_equal(zws_send(c, ZWS_OP_TEXT, "in", 2, 0), 0);
    zws_event ev;
    assert_int_equal(zws_recv(c, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, 2);
#ifndef UNDER_ASAN
    /* without the budget, N x 16 MiB; with it, the budget and some slack */
    size_t grew = tu_rss_kib() - rss0;
    if (grew > (budget >> 10) + 24 * 1024)
        fail_msg("RSS grew by %zu KiB", grew);
#else
    (void)rss0;
#endif
    zws_close(c, 1000, NULL);
    zws_conn_free(c);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    free(payload);
    crowd_stop(&cr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_sizes),
        cmocka_unit_test(test_deflate_idle_release),
        cmocka_unit_test(test_fragments_and_batches),
        cmocka_unit_test(test_large_from_server),
        cmocka_unit_test(test_echo_view_server),
        cmocka_unit_test(test_echo_view_client),
        cmocka_unit_test(test_invalid_utf8_closes_1007),
        cmocka_unit_test(test_read_timeout),
        cmocka_unit_test(test_subprotocol_and_headers),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_unsolicited_pong),
        cmocka_unit_test(test_tls_answer_to_plain),
        cmocka_unit_test(test_bad_handshakes),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_client_errors),
        cmocka_unit_test(test_upgrade_hook),
        cmocka_unit_test(test_partial_pong_writes),
        cmocka_unit_test(test_flood_read_timeout),
        cmocka_unit_test(test_flood_close_timeout),
        cmocka_unit_test(test_unread_pongs_dropped),
        cmocka_unit_test(test_readable_partial_frame),
        cmocka_unit_test(test_write_timeout),
        cmocka_unit_test(test_per_address_caps),
        cmocka_unit_test(test_budget_stalled_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
