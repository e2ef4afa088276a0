/* zws serve: the event-loop server (zws/server.h), one loop per thread.
 * --echo sends every message back; --broadcast publishes every message to
 * every connection (the sender included), in the manner of a chat room. A
 * plain GET /health answers "ok". */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "zws/server.h"

#define CMD "serve"
#define TOPIC "all"

static zws_server *running; /* for the signal handler */

void cmd_serve_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws serve --port P [--echo | --broadcast] [options]\n\n"
        "Serves WebSocket connections from one event loop per thread (epoll or\n"
        "io_uring). --echo sends each message back with its opcode; --broadcast\n"
        "sends each message to every connection, the sender included. Without\n"
        "either, messages are read and dropped. GET /health answers \"ok\".\n"
        "Prints \"listening on PORT\" on stdout once listening. SIGINT or SIGTERM\n"
        "stops it gracefully: every connection is closed with 1001 (exit 0).\n\n"
        "Options:\n"
        "  -p, --port P             port (required; 0 picks a free one)\n"
        "      --host H             address to listen on (default: every address)\n"
        "  -t, --threads N          event loops (default: one per core)\n"
        "  -e, --echo               send each message back\n"
        "  -b, --broadcast          send each message to every connection\n"
        "      --loop NAME          epoll or uring (default: ZWS_LOOP, else epoll)\n"
        "      --cert FILE          TLS: certificate chain (PEM); needs --key\n"
        "      --key FILE           TLS: private key (PEM)\n"
        "      --idle-timeout MS    close connections silent this long (default\n"
        "                           120000; 0 = never)\n"
        "      --ping MS            keepalive ping after MS without input, and drop\n"
        "                           the peer without an answer MS later (default 0)\n"
        "      --max-message BYTES  largest message accepted (suffix k, m, g;\n"
        "                           default 16m)\n"
        "      --write-timeout MS   drop a peer that takes none of its output this\n"
        "                           long (default 30000; 0 = never)\n"
        "      --handshake-timeout MS  drop a client that has not finished its\n"
        "                           opening handshake in MS (default 10000; 0 = never)\n"
        "      --per-addr-handshakes N  handshakes at once per client address\n"
        "                           (default 1024; 0 = no limit)\n"
        "      --per-addr-conns N   connections per client address (default 0 =\n"
        "                           no limit)\n"
        "      --budget BYTES       memory for message assembly and output across\n"
        "                           all connections (default 1g)\n"
        "      --deflate            accept permessage-deflate when a client offers it\n"
        "      --deflate-threshold BYTES  with --deflate: send messages shorter than\n"
        "                           this uncompressed (default 0: compress all)\n"
        "      --deflate-no-context  with --deflate: compress each message on its own\n"
        "                           (server_no_context_takeover; broadcast compresses\n"
        "                           once for all such connections)\n"
        "      --deflate-level N    with --deflate: zlib compression level, 1 (fastest)\n"
        "                           to 9 (smallest) (default 6)\n"
        "      --deflate-mem-level N  with --deflate: zlib memLevel, 1 to 9: the\n"
        "                           compressor's match-finding memory, 2^(N+9) bytes\n"
        "                           (default 8)\n"
        "      --deflate-window-bits N  with --deflate: the window we compress with,\n"
        "                           2^N bytes, 9 to 15, agreed as server_max_window_bits\n"
        "                           (a client asking for less gets less; default 15)\n"
        "  -q, --quiet              log nothing on stderr\n"
        "  -h, --help               show this help\n");
}

typedef struct serve_args {
    const char *host, *cert, *key, *loop;
    uint64_t port, threads, idle, ping, max_message, write_ms, per_hs, per_conns, budget;
    uint64_t deflate_threshold, handshake_ms;
    uint64_t deflate_level, deflate_mem, deflate_bits; /* 0: not given */
    int deflate_nct;
    int have_port, echo, broadcast, quiet, deflate;
} serve_args;

static void on_stop(int sig)
{
    (void)sig;
    if (running)
        zws_server_stop(running);
}

static void on_message(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len)
{
    const int *mode = zws_ws_user(ws);
    if (*mode == 'e')
        zws_ws_send(ws, opcode, data, len);
    else if (*mode == 'b')
        zws_server_publish(zws_ws_server(ws), TOPIC, data, len, opcode);
}

static int mode_echo = 'e', mode_broadcast = 'b', mode_drop = 'd';

static int on_upgrade(void *ud, zws_upgrade *u, void **user)
{
    (void)u;
    *user = ud;
    return 0;
}

static void on_open(zws_ws *ws)
{
    if (*(const int *)zws_ws_user(ws) == 'b')
        zws_ws_subscribe(ws, TOPIC);
}

static void health(void *ud, const zws_handshake_request *req, zws_http_reply *reply)
{
    (void)ud;
    (void)req;
    reply->body = "ok\n";
    reply->body_len = 3;
}

/* --deflate-level, --deflate-mem-level (1..9) or --deflate-window-bits
 * (9..15: zlib cannot compress with 8 bits) into a. 0 or a usage error. */
static int deflate_knob(int c, const char *arg, serve_args *a)
{
    const char *name = c == 'l' ? "--deflate-level" : c == 'm' ? "--deflate-mem-level"
                                                              : "--deflate-window-bits";
    uint64_t lo = c == 'w' ? 9 : 1, hi = c == 'w' ? 15 : 9, v = 0;
    if (tool_parse_u64(arg, UINT64_MAX >> 1, 0, &v) || v < lo || v > hi)
        return tool_usage_error(CMD, "%s takes %llu to %llu, not '%s'%s", name,
                                (unsigned long long)lo, (unsigned long long)hi, arg,
                                c == 'w' && v == 8 ? " (zlib cannot compress with an "
                                                     "8-bit window)" : "");
    *(c == 'l' ? &a->deflate_level : c == 'm' ? &a->deflate_mem : &a->deflate_bits) = v;
    return 0;
}

static int parse(int argc, char **argv, serve_args *a)
{
    static const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},   {"host", required_argument, NULL, 'H'},
        {"threads", required_argument, NULL, 't'}, {"echo", no_argument, NULL, 'e'},
        {"broadcast", no_argument, NULL, 'b'},    {"loop", required_argument, NULL, 'L'},
        {"cert", required_argument, NULL, 'C'},   {"key", required_argument, NULL, 'K'},
        {"idle-timeout", required_argument, NULL, 'I'},
        {"ping", required_argument, NULL, 'P'},
        {"max-message", required_argument, NULL, 'M'},
        {"write-timeout", required_argument, NULL, 'W'},
        {"handshake-timeout", required_argument, NULL, 'S'},
        {"per-addr-handshakes", required_argument, NULL, 'A'},
        {"per-addr-conns", required_argument, NULL, 'N'},
        {"budget", required_argument, NULL, 'B'},
        {"deflate", no_argument, NULL, 'D'},
        {"deflate-threshold", required_argument, NULL, 'T'},
        {"deflate-no-context", no_argument, NULL, 'X'},
        {"deflate-level", required_argument, NULL, 'l'},
        {"deflate-mem-level", required_argument, NULL, 'm'},
        {"deflate-window-bits", required_argument, NULL, 'w'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    a->idle = 120000;
    a->write_ms = 30000;
    a->handshake_ms = 10000;
    a->per_hs = 1024;
    a->budget = (uint64_t)1 << 30;
    a->max_message = (uint64_t)16 << 20;
    opterr = 0;
    optind = 1;
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, ":p:t:ebqh", longs, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'p':
            if (tool_parse_u64(optarg, 65535, 0, &a->port))
                return tool_usage_error(CMD, "bad port '%s'", optarg);
            a->have_port = 1;
            break;
        case 'H': a->host = optarg; break;
        case 't':
            if (tool_parse_u64(optarg, 1024, 0, &a->threads) || a->threads == 0)
                return tool_usage_error(CMD, "bad thread count '%s'", optarg);
            break;
        case 'e': a->echo = 1; break;
        case 'b': a->broadcast = 1; break;
        case 'L':
            if (strcmp(optarg, "epoll") && strcmp(optarg, "uring"))
                return tool_usage_error(CMD, "--loop takes epoll or uring, not '%s'", optarg);
            a->loop = optarg;
            break;
        case 'C': a->cert = optarg; break;
        case 'K': a->key = optarg; break;
        case 'I':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &a->idle))
                return tool_usage_error(CMD, "bad --idle-timeout '%s'", optarg);
            break;
        case 'P':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &a->ping))
                return tool_usage_error(CMD, "bad --ping '%s'", optarg);
            break;
        case 'M':
            if (tool_parse_u64(optarg, UINT64_MAX >> 1, 1, &a->max_message) || !a->max_message)
                return tool_usage_error(CMD, "bad --max-message '%s'", optarg);
            break;
        case 'W':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &a->write_ms))
                return tool_usage_error(CMD, "bad --write-timeout '%s'", optarg);
            break;
        case 'S':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &a->handshake_ms))
                return tool_usage_error(CMD, "bad --handshake-timeout '%s'", optarg);
            break;
        case 'A':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &a->per_hs))
                return tool_usage_error(CMD, "bad --per-addr-handshakes '%s'", optarg);
            break;
        case 'N':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &a->per_conns))
                return tool_usage_error(CMD, "bad --per-addr-conns '%s'", optarg);
            break;
        case 'B':
            if (tool_parse_u64(optarg, UINT64_MAX >> 1, 1, &a->budget))
                return tool_usage_error(CMD, "bad --budget '%s'", optarg);
            break;
        case 'q': a->quiet = 1; break;
        case 'D': a->deflate = 1; break;
        case 'X': a->deflate_nct = 1; break;
        case 'T':
            if (tool_parse_u64(optarg, UINT64_MAX >> 1, 1, &a->deflate_threshold))
                return tool_usage_error(CMD, "bad --deflate-threshold '%s'", optarg);
            break;
        case 'l':
        case 'm':
        case 'w':
            if (deflate_knob(c, optarg, a))
                return TOOL_EXIT_USAGE;
            break;
        case 'h': cmd_serve_usage(stdout); return -1;
        default: return tool_bad_option(CMD, c, argv, prev);
        }
    }
    if (!a->deflate && (a->deflate_level || a->deflate_mem || a->deflate_bits))
        return tool_usage_error(CMD, "--deflate-level, --deflate-mem-level and "
                                     "--deflate-window-bits go with --deflate");
    if (optind < argc)
        return tool_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->have_port)
        return tool_usage_error(CMD, "--port is required");
    if (a->echo && a->broadcast)
        return tool_usage_error(CMD, "--echo and --broadcast exclude each other");
    if (!a->cert != !a->key)
        return tool_usage_error(CMD, "--cert and --key go together");
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    serve_args a;
    int r = parse(argc, argv, &a);
    if (r)
        return r < 0 ? TOOL_EXIT_OK : r;
    zws_opts *o;
    if (zws_opts_new(&o))
        return TOOL_EXIT_CONNECT;
    zws_opts_set_limits(o, a.max_message, a.max_message);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, (int)a.handshake_ms);
    if (a.deflate) {
        zws_deflate_opts d = {0};
        d.threshold = (size_t)a.deflate_threshold;
        d.server_no_context_takeover = a.deflate_nct;
        d.level = (int)a.deflate_level;
        d.mem_level = (int)a.deflate_mem;
        d.server_max_window_bits = (int)a.deflate_bits;
        zws_opts_set_deflate(o, &d); /* the values were checked above */
    }
    if (a.cert && zws_opts_set_cert(o, a.cert, a.key)) {
        zws_opts_free(o);
        return TOOL_EXIT_CONNECT;
    }
    char err[512];
    zws_server *srv;
    r = zws_server_new(&srv, o, err, sizeof err);
    zws_opts_free(o);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, *err ? err : zws_strerror(r));
        return TOOL_EXIT_CONNECT;
    }
    int *mode = a.echo ? &mode_echo : a.broadcast ? &mode_broadcast : &mode_drop;
    zws_handlers h = {.upgrade = on_upgrade, .open = on_open, .message = on_message};
    zws_server_set_timeouts(srv, (int)a.idle, (int)a.ping, (int)a.write_ms);
    zws_server_set_limits(srv, (int)a.per_hs, (int)a.per_conns, (size_t)a.budget);
    if (a.loop)
        zws_server_set_backend(srv, a.loop);
    if ((r = zws_server_route(srv, "*", &h, mode)) == 0)
        r = zws_server_http_route(srv, "/health", health, NULL);
    if (!r)
        r = zws_server_listen(srv, a.host, (uint16_t)a.port, err, sizeof err);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, *err ? err : zws_strerror(r));
        zws_server_free(srv);
        return TOOL_EXIT_CONNECT;
    }
    printf("listening on %u\n", zws_server_port(srv));
    fflush(stdout);
    running = srv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    r = zws_server_run(srv, (int)a.threads);
    running = NULL;
    if (r && !a.quiet)
        fprintf(stderr, "zws %s: %s\n", CMD, zws_strerror(r));
    zws_server_free(srv);
    return r ? TOOL_EXIT_CONNECT : TOOL_EXIT_OK;
}
