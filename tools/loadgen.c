/* zws bench: a load generator on the event loop. N client connections each
 * keep K messages in flight (K = 1: closed loop, like uWebSockets'
 * load_test: send, wait for the echo, send again) and check every echo
 * byte for byte. A progress line each second on a terminal, a summary at
 * the end (or --json). */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "md_payload.h"
#include "tool.h"
#include "zws/server.h"

#define CMD "bench"
#define MAX_PIPELINE 1024
#define HIST 64 /* latency buckets: powers of two of nanoseconds */
#define CONNECTING_MAX 256 /* handshakes in flight at once */

void cmd_bench_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws bench URL [options]\n\n"
        "Opens --conns connections to an echo server and keeps --pipeline messages\n"
        "of --size bytes in flight on each (1: send, wait for the echo, send again),\n"
        "checking every echo. Runs on one event loop (one core). Prints a progress\n"
        "line each second on a terminal and a summary at the end.\n\n"
        "Options:\n"
        "  -c, --conns N       connections (default 100)\n"
        "  -s, --size B        message size in bytes (default 20; suffix k, m)\n"
        "  -d, --duration S    seconds of measurement after all are connected\n"
        "                      (default 10)\n"
        "  -k, --pipeline K    messages in flight per connection (default 1)\n"
        "      --text          text messages (default binary)\n"
        "      --md            market-data JSON (implies --text): each message is\n"
        "                      exchange stream messages (trade, bookTicker,\n"
        "                      depthUpdate, depth20; Binance's format, from the\n"
        "                      feed generator), newline-separated, the last cut\n"
        "                      to make --size bytes; each starts with the stream\n"
        "                      message after the previous one's last (a ring of at\n"
        "                      least 1 MiB of the stream, each connection at its\n"
        "                      own place in it)\n"
        "      --dump-payload N\n"
        "                      write the first N messages one connection would\n"
        "                      send to stdout (--size bytes each, nothing between\n"
        "                      them) and exit; no URL needed\n"
        "      --hold          send nothing: hold the connections open for the\n"
        "                      duration (memory per idle connection)\n"
        "      --upgrades      measure upgrades: each connection closes once open\n"
        "                      and a new one takes its place\n"
        "      --loop NAME     epoll or uring\n"
        "      --deflate       offer permessage-deflate (compressed messages)\n"
        "      --json          the summary as one JSON object on stdout\n"
        "  -h, --help          show this help\n\n"
        "Exit status: 0 done, 1 usage error, 2 a connection failed, 3 an echo was\n"
        "wrong or a connection closed during the run.\n");
}

typedef struct bench {
    const char *url, *loop;
    uint64_t conns, size, duration, pipeline;
    int text, json, hold, upgrades, deflate, md;
    uint64_t dump;
    zws_server *srv;
    uint8_t *payload;
    uint8_t *ring; /* --md: ring_n payloads of size bytes, one after the other */
    uint64_t ring_n;
    atomic_int opened, failed, closed_early, bad;
    atomic_int deflated; /* connections that agreed permessage-deflate */
    atomic_uint_fast64_t msgs, bytes;
    atomic_uint_fast64_t wire; /* zws_loop_bytes_in at the last echo */
    atomic_int stopping;
    uint64_t next_conn; /* loop thread: the next peer to connect */
    uint64_t hist[HIST];        /* loop thread only; read after the run */
    char first_error[256];
} bench;

typedef struct peer {
    bench *b;
    int open;
    uint64_t sent, got;
    uint64_t start; /* --md: where in the ring this connection begins */
    int64_t stamp[MAX_PIPELINE]; /* send times of the messages in flight */
} peer;

static int64_t now_ns(void) { return tool_now_ns(); }

/* The message's sequence number in its first bytes, 6 bits a byte as
 * printable ASCII, so a --text message stays valid UTF-8. */
static void put_seq(uint8_t *p, size_t size, uint64_t seq)
{
    static const char digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    for (size_t i = 0; i < 8 && i < size; i++)
        p[i] = (uint8_t)digits[(seq >> (6 * i)) & 63];
}

/* --md: the payload of message seq of a connection that began at start. */
static const uint8_t *ring_at(const bench *b, uint64_t start, uint64_t seq)
{
    return b->ring + ((start + seq) % b->ring_n) * b->size;
}

static void send_next(zws_ws *ws, peer *p)
{
    bench *b = p->b;
    if (b->ring) { /* the ring's order is the sequence check */
        p->stamp[p->sent % b->pipeline] = now_ns();
        zws_ws_send(ws, ZWS_OP_TEXT, ring_at(b, p->start, p->sent), b->size);
        p->sent++;
        return;
    }
    uint8_t head[8];
    size_t n = b->size < 8 ? b->size : 8;
    memcpy(head, b->payload, n);
    put_seq(b->payload, b->size, p->sent);
    p->stamp[p->sent % b->pipeline] = now_ns();
    zws_ws_send(ws, b->text ? ZWS_OP_TEXT : ZWS_OP_BINARY, b->payload, b->size);
    memcpy(b->payload, head, n);
    p->sent++;
}

static const zws_handlers handlers;
static peer *peers;

/* Connects the next peer, if any: at most CONNECTING_MAX handshakes run at
 * once, so a server's per-address limit on them is not what is measured. */
static void connect_next(zws_loop *l, bench *b)
{
    if (b->next_conn >= b->conns || atomic_load(&b->stopping))
        return;
    peer *p = &peers[b->next_conn];
    p->b = b;
    p->start = b->ring_n ? b->next_conn * b->ring_n / b->conns : 0; /* spread over the ring */
    b->next_conn++;
    if (zws_loop_connect(l, b->url, &handlers, p)) {
        atomic_fetch_add(&b->failed, 1);
        snprintf(b->first_error, sizeof b->first_error, "bad URL '%s'", b->url);
    }
}

static void on_open(zws_ws *ws)
{
    peer *p = zws_ws_user(ws);
    p->open = 1;
    atomic_fetch_add(&p->b->opened, 1);
    if (!strncmp(zws_ws_extensions(ws), "permessage-deflate", 18))
        atomic_fetch_add(&p->b->deflated, 1);
    connect_next(zws_ws_loop(ws), p->b);
    if (p->b->hold)
        return;
    if (p->b->upgrades) { /* counted as an echo; the next one replaces it */
        atomic_fetch_add_explicit(&p->b->msgs, 1, memory_order_relaxed);
        zws_ws_close(ws, 1000, NULL);
        return;
    }
    for (uint64_t i = 0; i < p->b->pipeline; i++)
        send_next(ws, p);
}

static int bucket(int64_t ns)
{
    int k = 0;
    while (ns > 1 && k < HIST - 1) {
        ns >>= 1;
        k++;
    }
    return k;
}

static void on_message(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len)
{
    peer *p = zws_ws_user(ws);
    bench *b = p->b;
    uint8_t want[8];
    size_t n = b->size < 8 ? b->size : 8;
    const uint8_t *rest = b->payload; /* the bytes after the first n */
    if (b->ring) {
        rest = ring_at(b, p->start, p->got);
        memcpy(want, rest, n);
    } else {
        memcpy(want, b->payload, n);
        put_seq(want, n, p->got);
    }
    unsigned op = b->text ? ZWS_OP_TEXT : ZWS_OP_BINARY;
    if (opcode != op || len != b->size || memcmp(data, want, n) ||
        memcmp(data + n, rest + n, len - n)) {
        if (atomic_fetch_add(&b->bad, 1) == 0)
            snprintf(b->first_error, sizeof b->first_error,
                     "echo %llu on a connection differs from what was sent",
                     (unsigned long long)p->got);
        zws_ws_close(ws, 1002, "wrong echo");
        return;
    }
    b->hist[bucket(now_ns() - p->stamp[p->got % b->pipeline])]++;
    p->got++;
    atomic_fetch_add_explicit(&b->msgs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->bytes, len, memory_order_relaxed);
    atomic_store_explicit(&b->wire, zws_loop_bytes_in(zws_ws_loop(ws)), memory_order_relaxed);
    if (!atomic_load_explicit(&b->stopping, memory_order_relaxed))
        send_next(ws, p);
}

static void on_close(zws_ws *ws, uint16_t code, const char *reason, size_t len)
{
    peer *p = zws_ws_user(ws);
    bench *b = p->b;
    if (atomic_load(&b->stopping))
        return;
    if (b->upgrades && p->open && code == 1000) {
        p->open = 0;
        zws_loop_connect(zws_ws_loop(ws), b->url, &handlers, p);
        return;
    }
    if (!p->open) {
        atomic_fetch_add(&b->failed, 1);
        connect_next(zws_ws_loop(ws), b);
    }
    else
        atomic_fetch_add(&b->closed_early, 1);
    if (!b->first_error[0])
        snprintf(b->first_error, sizeof b->first_error, "connection closed (%u): %.*s", code,
                 (int)(len > 200 ? 200 : len), reason ? reason : "");
}

static const zws_handlers handlers = {
    .open = on_open, .message = on_message, .close = on_close};

static void connect_all(zws_loop *l, void *arg)
{
    bench *b = arg;
    for (int i = 0; l && i < CONNECTING_MAX; i++)
        connect_next(l, b);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

typedef struct result {
    double secs;
    uint64_t msgs, bytes;
    uint64_t wire; /* frame bytes received: headers, compressed payloads */
} result;

/* The controller: connect, wait for everyone, measure, stop. */
static void *control(void *arg)
{
    bench *b = arg;
    zws_loop *l;
    while (!(l = zws_server_loop(b->srv, 0)))
        sleep_ms(1);
    zws_loop_post(l, connect_all, b);
    int64_t t0 = now_ns();
    while (atomic_load(&b->opened) + atomic_load(&b->failed) < (int)b->conns &&
           now_ns() - t0 < 30 * 1000000000LL)
        sleep_ms(5);
    result *r = calloc(1, sizeof *r);
    if (atomic_load(&b->opened) > 0 && !atomic_load(&b->failed)) {
        int tty = isatty(2);
        uint64_t m0 = atomic_load(&b->msgs), y0 = atomic_load(&b->bytes);
        uint64_t w0 = atomic_load(&b->wire);
        int64_t start = now_ns(), last = start;
        uint64_t last_m = m0;
        while (now_ns() - start < (int64_t)b->duration * 1000000000LL &&
               !atomic_load(&b->bad) && !atomic_load(&b->closed_early)) {
            sleep_ms(100);
            int64_t t = now_ns();
            if (tty && t - last >= 1000000000LL) {
                uint64_t m = atomic_load(&b->msgs);
                fprintf(stderr, "\r%3llds  %10.0f msg/s ",
                        (long long)((t - start) / 1000000000LL),
                        (double)(m - last_m) * 1e9 / (double)(t - last));
                last = t;
                last_m = m;
            }
        }
        if (tty)
            fprintf(stderr, "\n");
        r->secs = (double)(now_ns() - start) / 1e9;
        r->msgs = atomic_load(&b->msgs) - m0;
        r->bytes = atomic_load(&b->bytes) - y0;
        r->wire = atomic_load(&b->wire) - w0;
    }
    atomic_store(&b->stopping, 1);
    zws_server_stop(b->srv);
    return r;
}

static double percentile(const uint64_t *h, double q)
{
    uint64_t total = 0, acc = 0;
    for (int i = 0; i < HIST; i++)
        total += h[i];
    for (int i = 0; i < HIST; i++) {
        acc += h[i];
        if (total && (double)acc >= q * (double)total)
            return (double)((uint64_t)1 << i) / 1000.0; /* µs, bucket top */
    }
    return 0;
}

static int parse(int argc, char **argv, bench *b)
{
    static const struct option longs[] = {
        {"conns", required_argument, NULL, 'c'},    {"size", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'}, {"pipeline", required_argument, NULL, 'k'},
        {"text", no_argument, NULL, 'T'},           {"json", no_argument, NULL, 'J'},
        {"hold", no_argument, NULL, 'H'},           {"upgrades", no_argument, NULL, 'U'},
        {"loop", required_argument, NULL, 'L'},     {"help", no_argument, NULL, 'h'},
        {"deflate", no_argument, NULL, 'D'},        {"md", no_argument, NULL, 'M'},
        {"dump-payload", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
    b->conns = 100;
    b->size = 20;
    b->duration = 10;
    b->pipeline = 1;
    opterr = 0;
    optind = 1;
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, ":c:s:d:k:h", longs, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'c':
            if (tool_parse_u64(optarg, 1000000, 0, &b->conns) || !b->conns)
                return tool_usage_error(CMD, "bad --conns '%s'", optarg);
            break;
        case 's':
            if (tool_parse_u64(optarg, 64u << 20, 1, &b->size))
                return tool_usage_error(CMD, "bad --size '%s'", optarg);
            break;
        case 'd':
            if (tool_parse_u64(optarg, 86400, 0, &b->duration) || !b->duration)
                return tool_usage_error(CMD, "bad --duration '%s'", optarg);
            break;
        case 'k':
            if (tool_parse_u64(optarg, MAX_PIPELINE, 0, &b->pipeline) || !b->pipeline)
                return tool_usage_error(CMD, "bad --pipeline '%s' (1 to %d)", optarg,
                                        MAX_PIPELINE);
            break;
        case 'T': b->text = 1; break;
        case 'D': b->deflate = 1; break;
        case 'M': b->md = b->text = 1; break;
        case 'P':
            if (tool_parse_u64(optarg, 1u << 20, 0, &b->dump) || !b->dump)
                return tool_usage_error(CMD, "bad --dump-payload '%s'", optarg);
            break;
        case 'H': b->hold = 1; break;
        case 'U': b->upgrades = 1; break;
        case 'J': b->json = 1; break;
        case 'L':
            if (strcmp(optarg, "epoll") && strcmp(optarg, "uring"))
                return tool_usage_error(CMD, "--loop takes epoll or uring, not '%s'", optarg);
            b->loop = optarg;
            break;
        case 'h': cmd_bench_usage(stdout); return -1;
        default: return tool_bad_option(CMD, c, argv, prev);
        }
    }
    if (b->hold && b->upgrades)
        return tool_usage_error(CMD, "--hold and --upgrades exclude each other");
    if (b->dump && optind == argc)
        return 0; /* nothing to connect to */
    if (optind + 1 != argc)
        return tool_usage_error(CMD, optind < argc ? "one URL only" : "a URL is required");
    b->url = argv[optind];
    return 0;
}

/* --dump-payload: the messages the first connection would send. */
static int dump_payload(bench *b)
{
    for (uint64_t i = 0; i < b->dump; i++) {
        if (b->ring)
            fwrite(ring_at(b, 0, i), 1, b->size, stdout);
        else {
            uint8_t head[8];
            size_t n = b->size < 8 ? b->size : 8;
            memcpy(head, b->payload, n);
            put_seq(b->payload, b->size, i);
            fwrite(b->payload, 1, b->size, stdout);
            memcpy(b->payload, head, n);
        }
    }
    int status = tool_flush_stdout(CMD) ? TOOL_EXIT_OUTPUT : TOOL_EXIT_OK;
    free(peers);
    free(b->payload);
    free(b->ring);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    static bench b;
    memset(&b, 0, sizeof b);
    int r = parse(argc, argv, &b);
    if (r)
        return r < 0 ? TOOL_EXIT_OK : r;
    b.payload = malloc(b.size ? b.size : 1);
    peers = calloc(b.conns, sizeof *peers);
    if (!b.payload || !peers) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_CONNECT;
    }
    for (uint64_t i = 0; i < b.size; i++) /* text-safe: ASCII letters */
        b.payload[i] = (uint8_t)('a' + i % 26);
    if (b.md) {
        b.ring_n = tool_md_ring_count(b.size);
        if (!(b.ring = tool_md_payloads(b.size, b.ring_n))) {
            fprintf(stderr, "zws %s: out of memory\n", CMD);
            return TOOL_EXIT_CONNECT;
        }
    }
    if (b.dump)
        return dump_payload(&b);
    zws_opts *o;
    char err[256];
    zws_deflate_opts dopts = {0};
    if (zws_opts_new(&o) || (b.deflate && zws_opts_set_deflate(o, &dopts)) ||
        zws_server_new(&b.srv, o, err, sizeof err)) {
        fprintf(stderr, "zws %s: cannot start the loop\n", CMD);
        return TOOL_EXIT_CONNECT;
    }
    zws_opts_free(o);
    zws_server_set_timeouts(b.srv, 0, 0, 0);
    if (b.loop)
        zws_server_set_backend(b.srv, b.loop);
    pthread_t ctl;
    pthread_create(&ctl, NULL, control, &b);
    r = zws_server_run(b.srv, 1);
    void *res;
    pthread_join(ctl, &res);
    result *out = res;
    const char *backend = zws_server_backend(b.srv);
    zws_server_free(b.srv);
    int status = TOOL_EXIT_OK;
    if (r || atomic_load(&b.failed) || !atomic_load(&b.opened))
        status = TOOL_EXIT_CONNECT;
    else if (atomic_load(&b.bad) || atomic_load(&b.closed_early))
        status = TOOL_EXIT_PROTOCOL;
    double rate = out->secs > 0 ? (double)out->msgs / out->secs : 0;
    double p50 = percentile(b.hist, 0.5), p99 = percentile(b.hist, 0.99);
    if (b.json) {
        printf("{\"url\":\"%s\",\"conns\":%llu,\"opened\":%d,\"size\":%llu,\"pipeline\":%llu,"
               "\"backend\":\"%s\",\"seconds\":%.3f,\"messages\":%llu,\"msgs_per_s\":%.0f,"
               "\"mib_per_s\":%.2f,\"wire_bytes_in\":%llu,"
               "\"latency_us_p50\":%.1f,\"latency_us_p99\":%.1f,"
               "\"bad_echoes\":%d,\"failed\":%d,\"closed_early\":%d,\"payload\":\"%s\",\"deflated\":%d}\n",
               b.url, (unsigned long long)b.conns, atomic_load(&b.opened),
               (unsigned long long)b.size, (unsigned long long)b.pipeline, backend, out->secs,
               (unsigned long long)out->msgs, rate,
               out->secs > 0 ? (double)out->bytes / out->secs / 1048576.0 : 0,
               (unsigned long long)out->wire, p50, p99, atomic_load(&b.bad),
               atomic_load(&b.failed), atomic_load(&b.closed_early),
               b.md ? "md" : "filler", atomic_load(&b.deflated));
    } else {
        printf("%d/%llu connections, %llu B%s x %llu in flight, %s loop",
               b.upgrades ? (int)b.conns : atomic_load(&b.opened), (unsigned long long)b.conns,
               (unsigned long long)b.size, b.md ? " of market data" : "",
               (unsigned long long)b.pipeline, backend);
        if (b.deflate)
            printf(", permessage-deflate on %d", atomic_load(&b.deflated));
        printf("\n"
               "%llu %s in %.2f s: %.0f/s, %.2f MiB/s\n"
               "latency (send to echo): p50 <= %.1f us, p99 <= %.1f us\n",
               (unsigned long long)out->msgs,
               b.upgrades ? "upgrades" : b.hold ? "messages (holding)" : "echoes", out->secs,
               rate, out->secs > 0 ? (double)out->bytes / out->secs / 1048576.0 : 0, p50, p99);
    }
    if (status != TOOL_EXIT_OK)
        fprintf(stderr, "zws %s: %s\n", CMD,
                b.first_error[0] ? b.first_error : "no connection could be opened");
    if (tool_flush_stdout(CMD))
        status = TOOL_EXIT_OUTPUT;
    free(out);
    free(peers);
    free(b.payload);
    free(b.ring);
    return status;
}
