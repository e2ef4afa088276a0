/* Blocking client and server over loopback, one connection, in one process
 * (server on a thread: on a 2-core machine each side gets about one core).
 *
 *   throughput: binary messages client -> server, flush per send (one
 *     write per message, the naive design) against deferred sends flushed
 *     once per batch of 64; write syscalls per message on the client and
 *     read syscalls per message on the server, counted by the transport.
 *   receiving: the market-data direction, server -> client (unmasked
 *     frames into the client's zws_recv), with the same two ways of
 *     sending; messages per second and read syscalls per message on the
 *     client.
 *   handshakes: connect + opening handshake + closing handshake per
 *     connection, plain and TLS (ECDHE P-256, a throwaway certificate). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "internal/conn.h"
#include "zws/zws.h"
#include "zws/conn.h"

#define BATCH 64

typedef struct srv {
    zws_listener *l;
    const uint8_t *payload; /* what "get" requests send */
    pthread_t thread;
    int loop;          /* serve connections until one asks for /stop */
    uint64_t reads;    /* read syscalls of the last connection */
    uint64_t msgs;     /* binary messages it received */
} srv;

/* Sends n binary messages of len bytes, flushed once per BATCH or each. */
static int send_many(zws_conn *c, const uint8_t *msg, size_t len, uint64_t n, int batched)
{
    for (uint64_t i = 0; i < n; i++) {
        int more = batched && (i + 1) % BATCH && i + 1 < n;
        int r = zws_send(c, ZWS_OP_BINARY, msg, len, more ? ZWS_SEND_MORE_DATA : 0);
        if (r)
            return r;
    }
    return 0;
}

/* Counts the binary messages announced by each "go:N" text and answers
 * "ok" when all arrived; answers "get:N:LEN:BATCHED" with N messages. */
static void serve_conn(srv *s, zws_conn *c)
{
    zws_event ev;
    uint64_t want = 0, got = 0;
    int r;
    while ((r = zws_recv(c, &ev)) == ZWS_EV_MESSAGE) {
        if (ev.opcode == ZWS_OP_TEXT && memcmp(ev.data, "get:", 4) == 0) {
            char *end;
            uint64_t n = strtoull((const char *)ev.data + 4, &end, 10);
            size_t len = strtoull(end + 1, &end, 10);
            int batched = end[1] == '1';
            if (send_many(c, s->payload, len, n, batched))
                break;
        } else if (ev.opcode == ZWS_OP_TEXT) {
            want = strtoull((const char *)ev.data + 3, NULL, 10);
            got = 0;
        } else if (s->msgs++, ++got == want) {
            zws_send(c, ZWS_OP_TEXT, "ok", 2, 0);
        }
    }
    uint64_t w;
    zws__conn_io_counts(c, &s->reads, &w);
}

static void *serve(void *arg)
{
    srv *s = arg;
    for (int stop = 0; !stop;) {
        zws_conn *c;
        char err[256];
        if (zws_accept(s->l, &c, err, sizeof err))
            break;
        if (zws_conn_handshake(c, err, sizeof err) == 0) {
            stop = !s->loop || strcmp(zws_conn_path(c), "/stop") == 0;
            serve_conn(s, c);
        }
        zws_conn_free(c);
    }
    return NULL;
}

static void srv_start(srv *s, const zws_opts *o, int loop)
{
    char err[256];
    memset(s, 0, sizeof *s);
    s->loop = loop;
    if (zws_listen(&s->l, "127.0.0.1", 0, o, err, sizeof err)) {
        fprintf(stderr, "zws-bench: listen: %s\n", err);
        exit(1);
    }
    pthread_create(&s->thread, NULL, serve, s);
}

typedef struct tput {
    zws_conn *c;
    const uint8_t *msg;
    size_t len;
    int batched;
} tput;

static void send_round(void *arg, uint64_t n)
{
    tput *t = arg;
    char go[32];
    int k = snprintf(go, sizeof go, "go:%llu", (unsigned long long)n);
    if (zws_send(t->c, ZWS_OP_TEXT, go, (size_t)k, 0) ||
        send_many(t->c, t->msg, t->len, n, t->batched))
        abort();
    zws_event ev;
    if (zws_recv(t->c, &ev) != ZWS_EV_MESSAGE)
        abort();
}

static zws_conn *connect_path(const srv *s, const char *scheme, const char *path,
                              const zws_opts *o)
{
    char url[64], err[256];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", scheme, zws_listener_port(s->l),
             path);
    zws_conn *c;
    if (zws_connect(&c, url, o, err, sizeof err)) {
        fprintf(stderr, "zws-bench: connect: %s\n", err);
        exit(1);
    }
    return c;
}

static zws_conn *connect_to(const srv *s, const char *scheme, const zws_opts *o)
{
    return connect_path(s, scheme, "/", o);
}

/* One round of the receiving direction: ask for n, read n. */
static void recv_round(void *arg, uint64_t n)
{
    tput *t = arg;
    char get[64];
    int k = snprintf(get, sizeof get, "get:%llu:%zu:%d", (unsigned long long)n, t->len,
                     t->batched);
    if (zws_send(t->c, ZWS_OP_TEXT, get, (size_t)k, 0))
        abort();
    zws_event ev;
    for (uint64_t i = 0; i < n; i++)
        if (zws_recv(t->c, &ev) != ZWS_EV_MESSAGE || ev.len != t->len)
            abort();
}

/* One table row's measurement: a fresh server and connection, a counted
 * round of COUNTED messages (syscalls per message), then the timed runs. */
#define COUNTED 20000

typedef struct run {
    double sec;             /* per message, median */
    double client_reads;    /* per message, counted round */
    double client_writes;   /* per message, counted round */
    double server_reads;    /* per message, whole connection */
} run;

static run measure(const bench_opts *o, bench_fn round, const uint8_t *msg, size_t len,
                   int batched)
{
    srv s;
    srv_start(&s, NULL, 0);
    s.payload = msg;
    tput t = {connect_to(&s, "ws", NULL), msg, len, batched};
    uint64_t r0, w0, r1, w1;
    zws__conn_io_counts(t.c, &r0, &w0);
    round(&t, COUNTED);
    zws__conn_io_counts(t.c, &r1, &w1);
    run out = {bench_measure(o, round, &t), (double)(r1 - r0) / COUNTED,
               /* minus the request ("go" or "get") */
               (double)(w1 - w0 - 1) / COUNTED, 0};
    zws_close(t.c, 1000, NULL);
    zws_conn_free(t.c);
    pthread_join(s.thread, NULL);
    zws_listener_free(s.l);
    out.server_reads = s.msgs ? (double)s.reads / (double)s.msgs : 0;
    return out;
}

static const char *sends_label(int batched)
{
    return batched ? "deferred, flush per 64" : "flush per send";
}

static void throughput(const bench_opts *o, const uint8_t *msg)
{
    static const char *cols[] = {"message", "sends", "M msgs/s", "MB/s",
                                 "client writes/msg", "server reads/msg", "x flush"};
    bench_table_begin(o, "blocking client -> server over loopback, one connection "
                         "(2 cores: about one each)", cols, 7);
    const size_t sizes[] = {20, 1024, 16384};
    for (size_t i = 0; i < 3; i++) {
        double t_flush = 0;
        for (int batched = 0; batched < 2; batched++) {
            run r = measure(o, send_round, msg, sizes[i], batched);
            if (!batched)
                t_flush = r.sec;
            bench_table_row(o, (const char *const[]){
                bench_size(sizes[i]), sends_label(batched), bench_fmt("%.3f", 1 / r.sec / 1e6),
                bench_fmt("%.1f", (double)sizes[i] / r.sec / 1e6),
                bench_fmt("%.3f", r.client_writes), bench_fmt("%.3f", r.server_reads),
                bench_fmt("%.2f", t_flush / r.sec)});
        }
    }
    bench_table_end(o);
}

static void receiving(const bench_opts *o, const uint8_t *msg)
{
    static const char *cols[] = {"message", "server sends", "M msgs/s", "MB/s",
                                 "client reads/msg", "x flush"};
    bench_table_begin(o, "blocking server -> client over loopback, the market-data "
                         "direction (2 cores: about one each)", cols, 6);
    const size_t sizes[] = {20, 200, 1024};
    for (size_t i = 0; i < 3; i++) {
        double t_flush = 0;
        for (int batched = 0; batched < 2; batched++) {
            run r = measure(o, recv_round, msg, sizes[i], batched);
            if (!batched)
                t_flush = r.sec;
            bench_table_row(o, (const char *const[]){
                bench_size(sizes[i]), sends_label(batched), bench_fmt("%.3f", 1 / r.sec / 1e6),
                bench_fmt("%.1f", (double)sizes[i] / r.sec / 1e6),
                bench_fmt("%.3f", r.client_reads), bench_fmt("%.2f", t_flush / r.sec)});
        }
    }
    bench_table_end(o);
}

typedef struct hs {
    const srv *s;
    const char *scheme;
    const zws_opts *o;
} hs;

static void handshake_round(void *arg, uint64_t n)
{
    hs *h = arg;
    while (n--) {
        zws_conn *c = connect_to(h->s, h->scheme, h->o);
        zws_close(c, 1000, NULL);
        zws_conn_free(c);
    }
}

static void handshakes(const bench_opts *o)
{
    static const char *cols[] = {"transport", "handshakes/s", "ms each"};
    bench_table_begin(o, "connect + opening and closing handshake, one at a time "
                         "(server on a thread)", cols, 3);
    char dir[] = "/tmp/zws-bench-XXXXXX", cert[64], key[64];
    if (!mkdtemp(dir))
        abort();
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    if (bench_make_cert(cert, key)) {
        fprintf(stderr, "zws-bench: cannot make a certificate\n");
        exit(1);
    }
    for (int tls = 0; tls < 2; tls++) {
        zws_opts *so, *co;
        zws_opts_new(&so);
        zws_opts_new(&co);
        if (tls) {
            zws_opts_set_cert(so, cert, key);
            zws_opts_set_ca_file(co, cert);
        }
        srv s;
        srv_start(&s, so, 1);
        hs h = {&s, tls ? "wss" : "ws", co};
        bench_opts q = *o;
        q.min_time = o->min_time * 4; /* a few hundred handshakes per sample */
        double sec = bench_measure(&q, handshake_round, &h);
        bench_table_row(o, (const char *const[]){tls ? "TLS (wss)" : "plain (ws)",
                                                  bench_fmt("%.0f", 1 / sec),
                                                  bench_fmt("%.3f", sec * 1e3)});
        zws_conn *c = connect_path(&s, h.scheme, "/stop", co);
        zws_close(c, 1000, NULL);
        zws_conn_free(c);
        pthread_join(s.thread, NULL);
        zws_listener_free(s.l);
        zws_opts_free(so);
        zws_opts_free(co);
    }
    unlink(cert);
    unlink(key);
    rmdir(dir);
    bench_table_end(o);
}

void bench_conn(const bench_opts *o)
{
    uint8_t *msg = malloc(16384);
    bench_random(msg, 16384, 5);
    throughput(o, msg);
    receiving(o, msg);
    free(msg);
    handshakes(o);
}
