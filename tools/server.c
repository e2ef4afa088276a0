/* zws server: a blocking server, one detached thread per connection.
 *
 * The main thread only accepts: the opening handshake runs on the
 * connection's own thread, so a slow or silent client cannot hold up the
 * others. A finished thread puts itself on the done list; the main thread
 * joins it there, so at exit no thread is still on its way out. SIGINT and SIGTERM are blocked everywhere except inside the main
 * thread's ppoll(), so they always land there (a worker blocked in zws_recv
 * would otherwise swallow one) and never between its check and its wait. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"
#include "zws/handshake.h"

#define CMD "server"
#define DEFAULT_MAX_CONNS 256
#define THREAD_STACK (512u << 10) /* zws and OpenSSL need far less than 8 MiB */
#define ACCEPT_BACKOFF_MS 100     /* after a failed accept, e.g. out of fds */

typedef struct args {
    const char *host, *cert, *key;
    const char **protos; /* room for argc entries */
    size_t nprotos;
    uint64_t port, max_message, max_conns, idle_ms, write_ms;
    int have_port, have_max_message, echo, raw, quiet;
} args;

typedef struct server {
    zws_listener *l;
    int echo, raw, quiet, tls;
    unsigned max_conns;
    atomic_uint active; /* connections with a thread */
    unsigned long last_id;
    pthread_attr_t attr;
    pthread_mutex_t lock; /* guards done */
    struct job *done;     /* finished threads, to join */
} server;

typedef struct job {
    server *srv;
    zws_conn *c;
    unsigned long id;
    pthread_t thread;
    struct job *next; /* on srv->done */
} job;

void cmd_server_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws server --port P [options]\n\n"
        "Accepts WebSocket connections, each on its own thread. With --echo, sends\n"
        "every message back with the same opcode; without it, prints each message on\n"
        "stdout, one per line (text as is, binary as lowercase hex). Pings are\n"
        "answered. Once listening, prints \"listening on PORT\" on stdout. Connections,\n"
        "closes and refused handshakes are logged on stderr. SIGINT or SIGTERM stops\n"
        "the server (exit 0) and drops open connections.\n\n"
        "Options:\n"
        "  -p, --port P             port (required; 0 picks a free one)\n"
        "      --host H             address to listen on (default: every address,\n"
        "                           IPv6 and IPv4)\n"
        "  -e, --echo               send each message back\n"
        "      --cert FILE          TLS: certificate chain (PEM); needs --key\n"
        "      --key FILE           TLS: private key (PEM)\n"
        "  -s, --subprotocol P      a subprotocol supported, in order of preference\n"
        "                           (repeatable)\n"
        "      --max-message BYTES  largest message accepted (suffix k, m, g;\n"
        "                           default 16m)\n"
        "      --max-conns N        connections at once (default %d); beyond it, plain\n"
        "                           connections get 503 and TLS ones are dropped\n"
        "      --idle-timeout MS    close (1001) a connection silent this long\n"
        "                           (default 120000; 0 = never)\n"
        "      --write-timeout MS   drop a peer that takes none of an echo this long\n"
        "                           (default 30000; 0 = never)\n"
        "  -r, --raw                print binary messages as their raw bytes\n"
        "  -q, --quiet              log nothing on stderr\n"
        "  -h, --help               show this help\n\n"
        "Exit status: 0 stopped by a signal; 1 usage error; 2 could not listen\n"
        "(address in use, unreadable certificate or key).\n",
        DEFAULT_MAX_CONNS);
}

/* ---- command line ---- */

enum { OPT_HOST = 256, OPT_CERT, OPT_KEY, OPT_MAX_MESSAGE, OPT_MAX_CONNS, OPT_IDLE, OPT_WRITE };

static const struct option long_options[] = {
    {"port", required_argument, NULL, 'p'},
    {"host", required_argument, NULL, OPT_HOST},
    {"echo", no_argument, NULL, 'e'},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"subprotocol", required_argument, NULL, 's'},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"write-timeout", required_argument, NULL, OPT_WRITE},
    {"raw", no_argument, NULL, 'r'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int number(const char *opt, const char *s, uint64_t min, uint64_t max,
                  int suffixes, uint64_t *out)
{
    if (tool_parse_u64(s, max, suffixes, out) == 0 && *out >= min)
        return -1;
    return tool_usage_error(CMD, "%s: '%s' is not a number from %llu to %llu", opt, s,
                            (unsigned long long)min, (unsigned long long)max);
}

/* One option; returns -1 to go on, or an exit status. */
static int option(args *a, int c, char **argv, int prev_optind)
{
    switch (c) {
    case 'p': a->have_port = 1; return number("--port", optarg, 0, 65535, 0, &a->port);
    case OPT_HOST: a->host = optarg; return -1;
    case 'e': a->echo = 1; return -1;
    case OPT_CERT: a->cert = optarg; return -1;
    case OPT_KEY: a->key = optarg; return -1;
    case 's': a->protos[a->nprotos++] = optarg; return -1;
    case OPT_MAX_MESSAGE:
        a->have_max_message = 1;
        return number("--max-message", optarg, 1, UINT64_MAX >> 1, 1, &a->max_message);
    case OPT_IDLE: return number("--idle-timeout", optarg, 0, INT32_MAX, 0, &a->idle_ms);
    case OPT_WRITE: return number("--write-timeout", optarg, 0, INT32_MAX, 0, &a->write_ms);
    case OPT_MAX_CONNS:
        return number("--max-conns", optarg, 1, 1u << 20, 0, &a->max_conns);
    case 'r': a->raw = 1; return -1;
    case 'q': a->quiet = 1; return -1;
    case 'h': cmd_server_usage(stdout); return TOOL_EXIT_OK;
    default: return tool_bad_option(CMD, c, argv, prev_optind);
    }
}

/* Returns -1 when a holds a command line to run, or an exit status. */
static int parse_args(args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->max_conns = DEFAULT_MAX_CONNS;
    a->idle_ms = 120000;
    a->write_ms = 30000;
    a->protos = calloc((size_t)argc, sizeof *a->protos);
    if (!a->protos) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_USAGE;
    }
    opterr = 0;
    int c, prev = optind;
    while ((c = getopt_long(argc, argv, ":p:es:rqh", long_options, NULL)) != -1) {
        int st = option(a, c, argv, prev);
        if (st >= 0)
            return st;
        prev = optind;
    }
    if (optind < argc)
        return tool_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->have_port)
        return tool_usage_error(CMD, "missing --port (0 picks a free one)");
    if (!a->cert != !a->key)
        return tool_usage_error(CMD, "--cert and --key go together");
    return -1;
}

/* ---- logging and output ---- */

/* One whole line per call, so lines from different threads never mix. */
static void say(const server *srv, unsigned long id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const server *srv, unsigned long id, const char *fmt, ...)
{
    if (srv->quiet)
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "[%lu] ", id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

/* "1.2.3.4:5678" or "[::1]:5678", for logs. */
static void peer_text(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "?");
        return;
    }
    const char *h = host;
    if (strncmp(h, "::ffff:", 7) == 0 && strchr(h + 7, '.'))
        h += 7; /* an IPv4 client of the dual-stack socket */
    snprintf(buf, cap, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, serv);
}

static void print_message(const server *srv, const zws_event *ev)
{
    flockfile(stdout);
    tool_print_message(stdout, ev->opcode, ev->data, ev->len, srv->raw);
    fflush(stdout);
    funlockfile(stdout);
}

/* ---- one connection ---- */

/* Echoes or prints messages until the connection ends; logs how it ended. */
static void session(const job *j)
{
    const server *srv = j->srv;
    for (;;) {
        zws_event ev;
        int r = zws_recv(j->c, &ev);
        if (r == ZWS_EV_MESSAGE && srv->echo) {
            /* ev.data is borrowed and still valid: zws_send is the next call */
            r = zws_send(j->c, ev.opcode, ev.data, ev.len, 0);
            if (r) {
                say(srv, j->id, "send failed: %s", zws_strerror(r));
                return;
            }
        } else if (r == ZWS_EV_MESSAGE) {
            print_message(srv, &ev);
        } else if (r == ZWS_EV_CLOSE) {
            say(srv, j->id, "closed: %u%s%.*s", (unsigned)ev.close_code,
                ev.reason_len ? " " : "", (int)ev.reason_len, ev.reason ? ev.reason : "");
            return;
        } else if (r == ZWS_EPROTO || r == ZWS_EUTF8 || r == ZWS_ETOOBIG ||
                   r == ZWS_EEXT) {
            say(srv, j->id, "protocol error: %s; closed with %u %s", zws_strerror(r),
                (unsigned)ev.close_code, ev.reason ? ev.reason : "");
            return;
        } else if (r == ZWS_ETIMEDOUT) { /* the read timeout is the idle timeout */
            say(srv, j->id, "idle: closing with 1001");
            zws_close(j->c, 1001, "idle timeout");
            return;
        } else if (r < 0) {
            say(srv, j->id, "connection lost: %s", zws_strerror(r));
            return;
        }
    }
}

static void *serve(void *arg)
{
    job *j = arg;
    server *srv = j->srv;
    char peer[NI_MAXHOST + 16], err[512];
    peer_text(zws_conn_fd(j->c), peer, sizeof peer);
    int r = zws_conn_handshake(j->c, err, sizeof err);
    if (r) {
        say(srv, j->id, "%s: handshake failed: %s", peer, err[0] ? err : zws_strerror(r));
    } else {
        const char *proto = zws_conn_subprotocol(j->c);
        say(srv, j->id, "%s connected, path %s%s%s", peer, zws_conn_path(j->c),
            *proto ? ", subprotocol " : "", proto);
        session(j);
    }
    zws_conn_free(j->c);
    /* Waits for dispatch() to have stored j->thread, then queues j to be
     * joined. Once active is 0, every thread is on the done list. */
    pthread_mutex_lock(&srv->lock);
    j->next = srv->done;
    srv->done = j;
    pthread_mutex_unlock(&srv->lock);
    atomic_fetch_sub(&srv->active, 1);
    return NULL;
}

/* Joins and frees the threads that finished. */
static void reap(server *srv)
{
    pthread_mutex_lock(&srv->lock);
    job *j = srv->done;
    srv->done = NULL;
    pthread_mutex_unlock(&srv->lock);
    while (j) {
        job *next = j->next;
        pthread_join(j->thread, NULL);
        free(j);
        j = next;
    }
}

/* ---- accepting ---- */

/* Over the limit: a plain client gets a 503 it can read (best effort, never
 * waiting); a TLS one is dropped, since answering needs a handshake. */
static void refuse_busy(server *srv, zws_conn *c, unsigned long id)
{
    say(srv, id, "refused: %u connections open (--max-conns)", srv->max_conns);
    if (!srv->tls) {
        int fd = zws_conn_fd(c);
        char buf[1024];
        /* Read what request has arrived, so closing sends FIN, not RST. */
        (void)recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        int n = zws_handshake_build_error(buf, sizeof buf, 503, "too many connections",
                                          NULL, 0);
        if (n > 0)
            (void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    zws_conn_free(c);
}

static void dispatch(server *srv, zws_conn *c)
{
    unsigned long id = ++srv->last_id;
    /* Only this thread adds to active, so the check cannot be overtaken. */
    if (atomic_load(&srv->active) >= srv->max_conns) {
        refuse_busy(srv, c, id);
        return;
    }
    job *j = malloc(sizeof *j);
    if (j) {
        j->srv = srv;
        j->c = c;
        j->id = id;
        atomic_fetch_add(&srv->active, 1);
        pthread_mutex_lock(&srv->lock);
        int e = pthread_create(&j->thread, &srv->attr, serve, j);
        pthread_mutex_unlock(&srv->lock);
        if (e == 0)
            return;
        atomic_fetch_sub(&srv->active, 1);
        free(j);
        say(srv, id, "no thread for the connection: %s", strerror(e));
    } else {
        say(srv, id, "no memory for the connection");
    }
    zws_conn_free(c);
}

static void accept_loop(server *srv, const sigset_t *unblocked)
{
    struct pollfd p = {.fd = zws_listener_fd(srv->l), .events = POLLIN, .revents = 0};
    while (!tool_stop_signal()) {
        int n = ppoll(&p, 1, NULL, unblocked);
        if (n < 0) {
            if (errno != EINTR) {
                say(srv, 0, "poll: %s", strerror(errno));
                poll(NULL, 0, ACCEPT_BACKOFF_MS);
            }
            continue;
        }
        reap(srv);
        zws_conn *c;
        char err[256];
        int r = zws_accept(srv->l, &c, err, sizeof err);
        if (r) {
            say(srv, 0, "accept: %s", err[0] ? err : zws_strerror(r));
            poll(NULL, 0, ACCEPT_BACKOFF_MS); /* EMFILE would spin otherwise */
            continue;
        }
        dispatch(srv, c);
    }
}

/* ---- setup ---- */

/* Listens as a asks; returns -1 with srv->l set, or an exit status. */
static int listen_on(server *srv, const args *a)
{
    zws_opts *o;
    if (zws_opts_new(&o)) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_CONNECT;
    }
    int st = -1;
    for (size_t i = 0; i < a->nprotos && st < 0; i++)
        if (zws_opts_add_subprotocol(o, a->protos[i]))
            st = tool_usage_error(CMD, "--subprotocol '%s': not a valid token",
                                  a->protos[i]);
    if (st < 0 && a->cert && zws_opts_set_cert(o, a->cert, a->key))
        st = tool_usage_error(CMD, "--cert/--key: out of memory");
    if (a->have_max_message)
        zws_opts_set_limits(o, a->max_message, a->max_message);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, (int)a->idle_ms);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_WRITE, (int)a->write_ms);
    char err[512] = "";
    int r = st < 0 ? zws_listen(&srv->l, a->host, (uint16_t)a->port, o, err, sizeof err)
                   : 0;
    zws_opts_free(o);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, err[0] ? err : zws_strerror(r));
        st = TOOL_EXIT_CONNECT;
    }
    return st;
}

/* Stops: returns normally when no connection is left, so leak checkers see
 * a clean exit; otherwise ends the process here, since worker threads still
 * use srv and OpenSSL, which exit()'s cleanup handlers would free under
 * them. */
static int stop(server *srv)
{
    zws_listener_free(srv->l);
    unsigned left = atomic_load(&srv->active);
    if (left == 0) {
        reap(srv);
        pthread_mutex_destroy(&srv->lock);
        return TOOL_EXIT_OK;
    }
    say(srv, 0, "stopping with %u connection%s open", left, left == 1 ? "" : "s");
    fflush(stdout);
    fflush(stderr);
    _exit(TOOL_EXIT_OK);
}

int cmd_server(int argc, char **argv)
{
    args a;
    int st = parse_args(&a, argc, argv);
    server srv;
    memset(&srv, 0, sizeof srv);
    srv.echo = a.echo;
    srv.raw = a.raw;
    srv.quiet = a.quiet;
    srv.tls = a.cert != NULL;
    srv.max_conns = (unsigned)a.max_conns;
    atomic_init(&srv.active, 0);
    if (st < 0)
        st = listen_on(&srv, &a);
    free(a.protos);
    if (st >= 0)
        return st;
    /* The library never raises SIGPIPE; printing to a closed stdout would. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t stops, unblocked;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stops, &unblocked);
    (void)tool_catch_stop_signals(0);
    pthread_attr_init(&srv.attr);
    pthread_attr_setstacksize(&srv.attr, THREAD_STACK);
    pthread_mutex_init(&srv.lock, NULL);
    printf("listening on %u\n", (unsigned)zws_listener_port(srv.l));
    fflush(stdout);
    accept_loop(&srv, &unblocked);
    pthread_attr_destroy(&srv.attr);
    return stop(&srv);
}
