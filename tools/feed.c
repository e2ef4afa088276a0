/* zws feed: a local exchange market-data service (zws/md.h's feed) for
 * offline runs, tests and benchmarks. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"
#include "zws/md.h"

#define CMD "feed"

static zws_md_feed *running; /* for the signal handler */

void cmd_feed_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws feed [--port P] [options]\n\n"
        "Serves an exchange's public market streams (Binance's spot format) from a\n"
        "seeded random walk over a real order book: raw streams at /ws/<stream>,\n"
        "combined ones at /stream?streams=<a>/<b>, live SUBSCRIBE, UNSUBSCRIBE and\n"
        "LIST_SUBSCRIPTIONS requests, and the REST depth snapshot at\n"
        "/api/v3/depth?symbol=BTCUSDT&limit=1000. Streams: <symbol>@trade, @aggTrade,\n"
        "@bookTicker, @depth, @depth@100ms, @depth5/10/20 (optionally @100ms).\n"
        "It keeps the service's rules: a ping every 20 s, a close when no pong\n"
        "echoed it within a minute, a lifetime announced by serverShutdown, at\n"
        "most 1024 streams a connection and 5 incoming messages a second.\n"
        "Prints \"listening on PORT\" on stdout; a summary on stderr at the end.\n\n"
        "Options:\n"
        "  -p, --port P            port (default 9443; 0 picks a free one)\n"
        "      --host H            address (default 127.0.0.1)\n"
        "  -s, --symbols LIST      comma-separated (default btcusdt,ethusdt,solusdt,bnbusdt)\n"
        "  -r, --rate N|max        book steps a second per symbol (default 1000); max:\n"
        "                          replay pre-rendered frames as fast as clients read\n"
        "      --seed N            the walk's seed (default 1)\n"
        "      --levels N          book levels a side, 10..5000 (default 2000)\n"
        "  -d, --duration S        stop after S seconds (default: until SIGINT)\n"
        "      --ping-interval S   ping every S seconds (default 20)\n"
        "      --pong-timeout S    close without a pong for S seconds (default 60)\n"
        "      --lifetime S        connection lifetime (default 86400)\n"
        "      --max-streams N     streams a connection (default 1024)\n"
        "      --max-incoming N    incoming messages a second (default 5)\n"
        "      --max-buffer BYTES  unread output a client may leave (default 8m)\n"
        "      --drop-every N      drop one diff-depth event in N (tests gap handling)\n"
        "      --replay FILE       serve a zws md --record file instead: every connection\n"
        "                          gets every message in order, at the recorded pace\n"
        "                          (or as fast as it reads, with --rate max), then a close\n"
        "      --deflate           accept permessage-deflate when a client offers it\n"
        "      --cert FILE         TLS: certificate chain (PEM); needs --key\n"
        "      --key FILE          TLS: private key (PEM)\n"
        "      --json              the summary as JSON on stdout\n"
        "  -q, --quiet             no summary\n"
        "  -h, --help              show this help\n");
}

static void on_stop(int sig)
{
    (void)sig;
    if (running)
        zws_md_feed_stop(running);
}

static void *stop_after(void *arg)
{
    double *secs = arg;
    struct timespec ts = {(time_t)*secs, (long)((*secs - (double)(time_t)*secs) * 1e9)};
    while (nanosleep(&ts, &ts) && running)
        ;
    if (running)
        zws_md_feed_stop(running);
    return NULL;
}

void tool_feed_summary(FILE *f, const zws_md_feed_stats *s, double secs, int json)
{
    uint64_t total = 0;
    for (int k = 0; k < ZWS_MD_KIND_COUNT; k++)
        total += s->sent[k];
    /* fast mode: a refill that found the client's output empty means the
     * feed was not keeping ahead of the consumer */
    const char *bound = "-";
    if (s->fills)
        bound = s->fills_starved * 2 > s->fills ? "feed" : "consumer";
    if (json) {
        fprintf(f, "{\"seconds\":%.3f,\"messages\":%llu,\"bytes\":%llu,\"conns\":%llu,"
                   "\"by_kind\":{",
                secs, (unsigned long long)total, (unsigned long long)s->bytes,
                (unsigned long long)s->conns);
        int first = 1;
        for (int k = 1; k < ZWS_MD_KIND_COUNT; k++)
            if (s->sent[k]) {
                fprintf(f, "%s\"%s\":%llu", first ? "" : ",", zws_md_kind_name(k),
                        (unsigned long long)s->sent[k]);
                first = 0;
            }
        fprintf(f, "},\"requests\":%llu,\"bad_requests\":%llu,\"snapshots\":%llu,"
                   "\"dropped_events\":%llu,\"closed\":{\"slow\":%llu,\"rate\":%llu,"
                   "\"pong\":%llu,\"lifetime\":%llu},\"bottleneck\":\"%s\"}\n",
                (unsigned long long)s->requests, (unsigned long long)s->bad_requests,
                (unsigned long long)s->snapshots, (unsigned long long)s->dropped_events,
                (unsigned long long)s->closed_slow, (unsigned long long)s->closed_rate,
                (unsigned long long)s->closed_pong, (unsigned long long)s->closed_lifetime,
                bound);
        return;
    }
    fprintf(f, "feed: %llu messages (%.0f/s), %.1f MB, %llu connections in %.1f s\n",
            (unsigned long long)total, secs > 0 ? (double)total / secs : 0,
            (double)s->bytes / 1e6, (unsigned long long)s->conns, secs);
    for (int k = 1; k < ZWS_MD_KIND_COUNT; k++)
        if (s->sent[k])
            fprintf(f, "  %-12s %llu\n", zws_md_kind_name(k), (unsigned long long)s->sent[k]);
    fprintf(f, "  requests %llu (%llu refused), snapshots %llu, depth events dropped %llu\n",
            (unsigned long long)s->requests, (unsigned long long)s->bad_requests,
            (unsigned long long)s->snapshots, (unsigned long long)s->dropped_events);
    if (s->closed_rate || s->closed_pong || s->closed_lifetime)
        fprintf(f, "  closed: %llu over the message rate, %llu without a pong, %llu at their "
                   "lifetime\n",
                (unsigned long long)s->closed_rate, (unsigned long long)s->closed_pong,
                (unsigned long long)s->closed_lifetime);
    if (s->fills)
        fprintf(f, "  the %s was the bottleneck (%llu of %llu refills found the output "
                   "empty)\n",
                bound, (unsigned long long)s->fills_starved, (unsigned long long)s->fills);
}

static int secs_ms(const char *s, int64_t max_ms, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == 0 || *end || !(v > 0) || v * 1000 > (double)max_ms)
        return -1;
    *out = (int64_t)(v * 1000);
    return *out > 0 ? 0 : -1;
}

int cmd_feed(int argc, char **argv)
{
    static const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},       {"host", required_argument, NULL, 'H'},
        {"symbols", required_argument, NULL, 's'},    {"rate", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 'S'},       {"levels", required_argument, NULL, 'l'},
        {"duration", required_argument, NULL, 'd'},   {"ping-interval", required_argument, NULL, 'P'},
        {"pong-timeout", required_argument, NULL, 'T'}, {"lifetime", required_argument, NULL, 'L'},
        {"max-streams", required_argument, NULL, 'm'}, {"max-incoming", required_argument, NULL, 'i'},
        {"max-buffer", required_argument, NULL, 'b'}, {"drop-every", required_argument, NULL, 'D'},
        {"cert", required_argument, NULL, 'C'},       {"key", required_argument, NULL, 'K'},
        {"replay", required_argument, NULL, 'R'},     {"deflate", no_argument, NULL, 'Z'},
        {"json", no_argument, NULL, 'j'},             {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    zws_md_feed_opts o;
    memset(&o, 0, sizeof o);
    o.rate = 1000;
    o.seed = 1;
    uint64_t port = 9443, v;
    const char *host = "127.0.0.1";
    double duration = 0;
    int json = 0, quiet = 0;
    int64_t ms;
    opterr = 0;
    optind = 1;
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, ":p:s:r:d:qh", longs, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'p':
            if (tool_parse_u64(optarg, 65535, 0, &port))
                return tool_usage_error(CMD, "bad port '%s'", optarg);
            break;
        case 'H': host = optarg; break;
        case 's': o.symbols = optarg; break;
        case 'r':
            if (strcmp(optarg, "max") == 0) {
                o.rate = 0;
            } else {
                char *end;
                o.rate = strtod(optarg, &end);
                if (*end || !(o.rate > 0) || o.rate > 1e7)
                    return tool_usage_error(CMD, "bad --rate '%s' (steps a second, or max)",
                                            optarg);
            }
            break;
        case 'S':
            if (tool_parse_u64(optarg, UINT64_MAX, 0, &o.seed))
                return tool_usage_error(CMD, "bad --seed '%s'", optarg);
            break;
        case 'l':
            if (tool_parse_u64(optarg, 5000, 0, &v) || v < 10)
                return tool_usage_error(CMD, "bad --levels '%s' (10 to 5000)", optarg);
            o.levels = (int)v;
            break;
        case 'd':
            if (secs_ms(optarg, INT32_MAX, &ms))
                return tool_usage_error(CMD, "bad --duration '%s'", optarg);
            duration = (double)ms / 1000;
            break;
        case 'P':
            if (secs_ms(optarg, INT32_MAX, &ms))
                return tool_usage_error(CMD, "bad --ping-interval '%s'", optarg);
            o.ping_ms = (int)ms;
            break;
        case 'T':
            if (secs_ms(optarg, INT32_MAX, &ms))
                return tool_usage_error(CMD, "bad --pong-timeout '%s'", optarg);
            o.pong_timeout_ms = (int)ms;
            break;
        case 'L':
            if (secs_ms(optarg, INT64_MAX / 2, &ms))
                return tool_usage_error(CMD, "bad --lifetime '%s'", optarg);
            o.lifetime_ms = ms;
            break;
        case 'm':
            if (tool_parse_u64(optarg, 1024, 0, &v) || !v)
                return tool_usage_error(CMD, "bad --max-streams '%s' (1 to 1024)", optarg);
            o.max_streams = (int)v;
            break;
        case 'i':
            if (tool_parse_u64(optarg, 1000000, 0, &v) || !v)
                return tool_usage_error(CMD, "bad --max-incoming '%s'", optarg);
            o.max_incoming = (int)v;
            break;
        case 'b':
            if (tool_parse_u64(optarg, UINT64_MAX >> 1, 1, &v) || v < 65536)
                return tool_usage_error(CMD, "bad --max-buffer '%s' (64k at least)", optarg);
            o.max_buffered = (size_t)v;
            break;
        case 'D':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &v))
                return tool_usage_error(CMD, "bad --drop-every '%s'", optarg);
            o.drop_every = (int)v;
            break;
        case 'R': o.replay = optarg; break;
        case 'C': o.cert = optarg; break;
        case 'K': o.key = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'Z': o.deflate = 1; break;
        case 'h': cmd_feed_usage(stdout); return TOOL_EXIT_OK;
        default: return tool_bad_option(CMD, c, argv, prev);
        }
    }
    if (optind < argc)
        return tool_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o.cert != !o.key)
        return tool_usage_error(CMD, "--cert and --key go together");
    o.replay_max = o.rate <= 0;
    char err[512] = "";
    zws_md_feed *f;
    int r = zws_md_feed_new(&f, &o, err, sizeof err);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, *err ? err : zws_strerror(r));
        return r == ZWS_EINVAL ? TOOL_EXIT_USAGE : TOOL_EXIT_CONNECT;
    }
    if ((r = zws_md_feed_listen(f, host, (uint16_t)port, err, sizeof err))) {
        fprintf(stderr, "zws %s: %s\n", CMD, *err ? err : zws_strerror(r));
        zws_md_feed_free(f);
        return TOOL_EXIT_CONNECT;
    }
    printf("listening on %u\n", zws_md_feed_port(f));
    fflush(stdout);
    running = f;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_t timer;
    int timed = duration > 0 && pthread_create(&timer, NULL, stop_after, &duration) == 0;
    int64_t t0 = tool_now_ns();
    r = zws_md_feed_run(f);
    double secs = (double)(tool_now_ns() - t0) / 1e9;
    running = NULL;
    if (timed) {
        pthread_kill(timer, SIGTERM); /* wakes its sleep; the handler does nothing now */
        pthread_join(timer, NULL);
    }
    zws_md_feed_stats st;
    zws_md_feed_stats_get(f, &st);
    if (json)
        tool_feed_summary(stdout, &st, secs, 1);
    else if (!quiet)
        tool_feed_summary(stderr, &st, secs, 0);
    zws_md_feed_free(f);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, zws_strerror(r));
        return TOOL_EXIT_CONNECT;
    }
    return TOOL_EXIT_OK;
}
