/* zws server: a blocking server, one detached thread per connection.
 *
 * Without --echo it is a listen mode: messages from clients go to stdout,
 * and lines on stdin go to every connected client. The main thread reads
 * stdin and queues each line on every open connection, waking its thread
 * through an eventfd: a connection is only ever used by its own thread, so
 * those threads poll the socket and the eventfd (zws_recv with a 1 ms read
 * timeout, as the client does, so a partial frame never blocks the wake-up),
 * and keep the idle timeout themselves.
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"
#include "zws/handshake.h"
#include "zws/utf8.h"

#define CMD "server"
#define DEFAULT_MAX_CONNS 256
#define DEFAULT_PER_ADDR_HS 16     /* handshakes at once from one address */
#define DEFAULT_PER_ADDR_CONNS 64  /* connections from one address */
#define DEFAULT_HANDSHAKE_MS 10000
#define THREAD_STACK (512u << 10) /* zws and OpenSSL need far less than 8 MiB */
#define ACCEPT_BACKOFF_MS 100     /* after a failed accept, e.g. out of fds */
#define OUTBOX_MAX (16u << 20)    /* stdin bytes queued for one client at most */
#define LINE_MAX_BYTES (16u << 20) /* longer stdin lines are not sent */
#define READ_CHUNK (64u << 10)

typedef struct args {
    const char *host, *cert, *key, *unix_path;
    const char **protos; /* room for argc entries */
    size_t nprotos;
    uint64_t port, max_message, max_conns, idle_ms, write_ms, handshake_ms;
    uint64_t per_hs, per_conns, budget;
    int have_port, have_max_message, echo, raw, quiet, deflate;
} args;

typedef struct server {
    zws_listener *l;
    int echo, raw, quiet, tls;
    int idle_ms;          /* listen mode keeps the idle timeout itself */
    atomic_uint open;     /* connections past the handshake */
    atomic_int output_failed; /* stdout could not be written: stopping */
    struct job *conns;    /* those connections (guarded by lock) */
    int stdin_open;       /* listen mode: stdin is read */
    char *in;             /* stdin bytes not sent yet: a partial line */
    size_t in_len, in_cap;
    uint64_t lineno;
    int skipping;         /* dropping the rest of an over-long line */
    unsigned max_conns;
    atomic_uint active; /* connections with a thread */
    unsigned long last_id;
    unsigned long refused;   /* over a per-address cap, not logged yet */
    int64_t refused_said;    /* ns when the last refusal was logged */
    pthread_attr_t attr;
    pthread_mutex_t lock; /* guards done */
    struct job *done;     /* finished threads, to join */
} server;

/* A stdin line queued for one connection. */
typedef struct out_line {
    struct out_line *next;
    size_t len;
    char data[];
} out_line;

typedef struct job {
    server *srv;
    zws_conn *c;
    unsigned long id;
    pthread_t thread;
    struct job *next; /* on srv->done */
    /* listen mode; guarded by srv->lock */
    struct job *prev_conn, *next_conn; /* on srv->conns */
    int wake;                          /* eventfd: lines are queued */
    out_line *out, **out_tail;
    size_t out_bytes;
    int dropping;                      /* the outbox was full: said once */
} job;

void cmd_server_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws server --port P [options]\n\n"
        "       zws server --unix PATH [options]\n\n"
        "Accepts WebSocket connections, each on its own thread. With --echo, sends\n"
        "every message back with the same opcode. Without it, listens as wscat -l\n"
        "does: prints each message on stdout, one per line (text as is, binary as\n"
        "\"[binary N bytes] \" and lowercase hex), prefixed with \"[N] \", the client's\n"
        "number, while more than one client is connected; and sends each line of\n"
        "stdin as a text message to every client connected. Pings are answered.\n"
        "Once listening, prints \"listening on PORT\" (or PATH) on stdout.\n"
        "Connections, closes and refused handshakes are logged on stderr, with the\n"
        "client's number. SIGINT or SIGTERM stops the server (exit 0) and drops\n"
        "open connections.\n\n"
        "Options:\n"
        "  -p, --port P             port (0 picks a free one); --port or --unix is\n"
        "                           required\n"
        "      --unix PATH          listen on a unix domain socket instead (clients\n"
        "                           connect to ws+unix://PATH:/request-path)\n"
        "      --host H             address to listen on (default: every address,\n"
        "                           IPv6 and IPv4)\n"
        "  -e, --echo               send each message back\n"
        "      --deflate            accept permessage-deflate when a client offers it\n"
        "      --cert FILE          TLS: certificate chain (PEM); needs --key\n"
        "      --key FILE           TLS: private key (PEM)\n"
        "  -s, --subprotocol P      a subprotocol supported, in order of preference\n"
        "                           (repeatable)\n"
        "      --max-message BYTES  largest message accepted (suffix k, m, g;\n"
        "                           default 16m)\n"
        "      --max-conns N        connections at once (default %d); beyond it, plain\n"
        "                           connections get 503 and TLS ones are dropped\n"
        "      --per-addr-handshakes N  connections in the opening handshake at once\n"
        "                           from one client address (default %d; 0 = no\n"
        "                           limit); beyond it, closed as they are accepted\n"
        "      --per-addr-conns N   connections from one client address (default %d;\n"
        "                           0 = no limit); beyond it, closed when accepted\n"
        "      --budget BYTES       memory for message assembly and buffered output\n"
        "                           across all connections (suffix k, m, g; default\n"
        "                           1g; 0 = none): a frame is charged its whole\n"
        "                           length when its header arrives; past the budget\n"
        "                           the connection is closed with 1009 (1008 for\n"
        "                           output)\n"
        "      --handshake-timeout MS  drop a client that has not finished its\n"
        "                           opening handshake (TLS included) in MS (default\n"
        "                           %d; 0 = never)\n"
        "      --idle-timeout MS    close (1001) a connection silent this long\n"
        "                           (default 120000; 0 = never)\n"
        "      --write-timeout MS   drop a peer that takes none of an echo this long\n"
        "                           (default 30000; 0 = never)\n"
        "  -r, --raw                print binary messages as their raw bytes\n"
        "  -q, --quiet              log nothing on stderr\n"
        "  -h, --help               show this help\n\n"
        "Exit status: 0 stopped by a signal; 1 usage error; 2 could not listen\n"
        "(address in use, unreadable certificate or key); 4 stdout could not be\n"
        "written (a closed pipe included): the server stops.\n",
        DEFAULT_MAX_CONNS, DEFAULT_PER_ADDR_HS, DEFAULT_PER_ADDR_CONNS, DEFAULT_HANDSHAKE_MS);
}

/* ---- command line ---- */

enum {
    OPT_HOST = 256, OPT_CERT, OPT_KEY, OPT_MAX_MESSAGE, OPT_MAX_CONNS, OPT_IDLE, OPT_WRITE,
    OPT_UNIX, OPT_DEFLATE, OPT_PER_HS, OPT_PER_CONNS, OPT_BUDGET, OPT_HANDSHAKE
};

static const struct option long_options[] = {
    {"port", required_argument, NULL, 'p'},
    {"host", required_argument, NULL, OPT_HOST},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"deflate", no_argument, NULL, OPT_DEFLATE},
    {"echo", no_argument, NULL, 'e'},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"subprotocol", required_argument, NULL, 's'},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"write-timeout", required_argument, NULL, OPT_WRITE},
    {"per-addr-handshakes", required_argument, NULL, OPT_PER_HS},
    {"per-addr-conns", required_argument, NULL, OPT_PER_CONNS},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
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
    case OPT_UNIX: a->unix_path = optarg; return -1;
    case OPT_DEFLATE: a->deflate = 1; return -1;
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
    case OPT_PER_HS:
        return number("--per-addr-handshakes", optarg, 0, INT32_MAX, 0, &a->per_hs);
    case OPT_PER_CONNS:
        return number("--per-addr-conns", optarg, 0, INT32_MAX, 0, &a->per_conns);
    case OPT_BUDGET: return number("--budget", optarg, 0, UINT64_MAX >> 1, 1, &a->budget);
    case OPT_HANDSHAKE:
        return number("--handshake-timeout", optarg, 0, INT32_MAX, 0, &a->handshake_ms);
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
    a->handshake_ms = DEFAULT_HANDSHAKE_MS;
    a->per_hs = DEFAULT_PER_ADDR_HS;
    a->per_conns = DEFAULT_PER_ADDR_CONNS;
    a->budget = (uint64_t)1 << 30;
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
    if (a->unix_path && (a->have_port || a->host))
        return tool_usage_error(CMD, "--unix excludes --port and --host");
    if (!a->have_port && !a->unix_path)
        return tool_usage_error(CMD, "missing --port (0 picks a free one) or --unix PATH");
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
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX) {
        snprintf(buf, cap, "unix socket");
        return;
    }
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

static void print_message(server *srv, const job *j, const zws_event *ev)
{
    flockfile(stdout);
    if (atomic_load(&srv->open) > 1)
        printf("[%lu] ", j->id);
    tool_print_message(stdout, ev->opcode, ev->data, ev->len, srv->raw ? TOOL_SHOW_RAW : 0);
    int failed = fflush(stdout) != 0 || ferror(stdout);
    funlockfile(stdout);
    /* Messages that cannot be written are lost: stop (exit 4) rather than
     * go on dropping them. The main thread alone takes SIGTERM. */
    if (failed && !atomic_exchange(&srv->output_failed, 1)) {
        fprintf(stderr, "zws %s: writing stdout: %s\n", CMD, strerror(errno));
        kill(getpid(), SIGTERM);
    }
}

/* ---- one connection ---- */

/* An event that ends the connection is logged: returns 1. ETIMEDOUT is the
 * idle timeout here (the read timeout in echo mode). */
static int ended(const server *srv, const job *j, int r, const zws_event *ev)
{
    if (r == ZWS_EV_CLOSE) {
        say(srv, j->id, "closed: %u%s%.*s", (unsigned)ev->close_code,
            ev->reason_len ? " " : "", (int)ev->reason_len, ev->reason ? ev->reason : "");
    } else if (r == ZWS_EPROTO || r == ZWS_EUTF8 || r == ZWS_ETOOBIG || r == ZWS_EEXT) {
        say(srv, j->id, "protocol error: %s; closed with %u %s", zws_strerror(r),
            (unsigned)ev->close_code, ev->reason ? ev->reason : "");
    } else if (r == ZWS_ETIMEDOUT) {
        say(srv, j->id, "idle: closing with 1001");
        zws_close(j->c, 1001, "idle timeout");
    } else if (r < 0) {
        say(srv, j->id, "connection lost: %s", zws_strerror(r));
    } else {
        return 0;
    }
    return 1;
}

/* Echoes messages until the connection ends; logs how it ended. */
static void echo_session(const job *j)
{
    const server *srv = j->srv;
    for (;;) {
        zws_event ev;
        int r = zws_recv(j->c, &ev);
        if (r == ZWS_EV_MESSAGE) {
            /* ev.data is borrowed and still valid: zws_send is the next call */
            r = zws_send(j->c, ev.opcode, ev.data, ev.len, 0);
            if (r) {
                say(srv, j->id, "send failed: %s", zws_strerror(r));
                return;
            }
        } else if (ended(srv, j, r, &ev)) {
            return;
        }
    }
}

/* Sends the stdin lines queued for j; returns 0 or -1 (the send failed). */
static int send_queued(job *j)
{
    uint64_t n;
    if (read(j->wake, &n, sizeof n) < 0 && errno != EAGAIN)
        return 0;
    pthread_mutex_lock(&j->srv->lock);
    out_line *l = j->out;
    j->out = NULL;
    j->out_tail = &j->out;
    j->out_bytes = 0;
    j->dropping = 0;
    pthread_mutex_unlock(&j->srv->lock);
    int r = 0;
    while (l) {
        out_line *next = l->next;
        if (!r)
            r = zws_send(j->c, ZWS_OP_TEXT, l->data, l->len, next ? ZWS_SEND_MORE_DATA : 0);
        free(l);
        l = next;
    }
    if (r)
        say(j->srv, j->id, "send failed: %s", zws_strerror(r));
    return r ? -1 : 0;
}

/* Listen mode: prints what comes, sends what stdin queued, until the
 * connection ends. The idle timeout counts from the last input. */
static void listen_session(job *j)
{
    server *srv = j->srv;
    int64_t last_input = tool_now_ns();
    int stalled = 0; /* zws_recv timed out mid-frame: wait for the socket */
    for (;;) {
        int buffered = !stalled && zws_conn_readable(j->c);
        int timeout = -1;
        if (srv->idle_ms > 0) {
            int64_t left = srv->idle_ms - (tool_now_ns() - last_input) / 1000000;
            timeout = left > 0 ? (int)left : 0;
        }
        struct pollfd p[2] = {
            {.fd = zws_conn_fd(j->c), .events = POLLIN, .revents = 0},
            {.fd = j->wake, .events = POLLIN, .revents = 0},
        };
        int n = poll(p, 2, buffered ? 0 : timeout);
        if (n < 0 && errno != EINTR) {
            say(srv, j->id, "poll: %s", strerror(errno));
            return;
        }
        if (n == 0 && !buffered) {
            zws_event none = {0};
            ended(srv, j, ZWS_ETIMEDOUT, &none);
            return;
        }
        if (n > 0 && p[1].revents && send_queued(j))
            return;
        if (n > 0 && p[0].revents) {
            stalled = 0;
            last_input = tool_now_ns();
        }
        for (int i = 0; i < 256 && (buffered || (n > 0 && p[0].revents)); i++) {
            zws_event ev;
            int r = zws_recv(j->c, &ev);
            if (r == ZWS_ETIMEDOUT) { /* the 1 ms read timeout: a partial frame */
                stalled = 1;
                break;
            }
            if (r == ZWS_EV_MESSAGE)
                print_message(srv, j, &ev);
            else if (ended(srv, j, r, &ev))
                return;
            if (!zws_conn_readable(j->c))
                break;
        }
    }
}

/* Listen mode: j joins (on) or leaves the connections stdin goes to. */
static void conns_update(server *srv, job *j, int on)
{
    pthread_mutex_lock(&srv->lock);
    if (on) {
        j->out_tail = &j->out;
        j->next_conn = srv->conns;
        if (srv->conns)
            srv->conns->prev_conn = j;
        srv->conns = j;
    } else {
        if (j->prev_conn)
            j->prev_conn->next_conn = j->next_conn;
        else
            srv->conns = j->next_conn;
        if (j->next_conn)
            j->next_conn->prev_conn = j->prev_conn;
        while (j->out) {
            out_line *next = j->out->next;
            free(j->out);
            j->out = next;
        }
    }
    pthread_mutex_unlock(&srv->lock);
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
    } else if (srv->echo) {
        const char *proto = zws_conn_subprotocol(j->c);
        const char *x = zws_conn_extensions(j->c);
        say(srv, j->id, "%s connected, path %s%s%s%s%s", peer, zws_conn_path(j->c),
            *proto ? ", subprotocol " : "", proto, *x ? ", extensions " : "", x);
        echo_session(j);
    } else if ((j->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        say(srv, j->id, "%s: no eventfd: %s", peer, strerror(errno));
    } else {
        const char *proto = zws_conn_subprotocol(j->c);
        const char *x = zws_conn_extensions(j->c);
        say(srv, j->id, "%s connected, path %s%s%s%s%s", peer, zws_conn_path(j->c),
            *proto ? ", subprotocol " : "", proto, *x ? ", extensions " : "", x);
        atomic_fetch_add(&srv->open, 1);
        conns_update(srv, j, 1);
        listen_session(j);
        conns_update(srv, j, 0);
        atomic_fetch_sub(&srv->open, 1);
        close(j->wake);
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

/* ---- stdin, in listen mode ---- */

/* Queues one line on every open connection. */
static void broadcast(server *srv, const char *data, size_t len)
{
    srv->lineno++;
    if (!zws_utf8_valid((const uint8_t *)data, len)) {
        say(srv, 0, "stdin line %llu is not valid UTF-8, not sent",
            (unsigned long long)srv->lineno);
        return;
    }
    pthread_mutex_lock(&srv->lock);
    for (job *j = srv->conns; j; j = j->next_conn) {
        out_line *l = j->out_bytes + len <= OUTBOX_MAX ? malloc(sizeof *l + len) : NULL;
        if (!l) {
            if (!j->dropping)
                say(srv, j->id, "not reading: stdin lines dropped for this client");
            j->dropping = 1;
            continue;
        }
        l->next = NULL;
        l->len = len;
        memcpy(l->data, data, len);
        *j->out_tail = l;
        j->out_tail = &l->next;
        j->out_bytes += len;
        uint64_t one = 1;
        (void)!write(j->wake, &one, sizeof one);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* Reads stdin; sends its complete lines (and the last one at its end). */
static void on_stdin(server *srv)
{
    if (srv->in_len > LINE_MAX_BYTES) { /* only a partial line is kept */
        say(srv, 0, "stdin line %llu is longer than 16 MiB, not sent",
            (unsigned long long)srv->lineno + 1);
        srv->skipping = 1;
        srv->in_len = 0;
    }
    if (srv->in_cap - srv->in_len < READ_CHUNK) {
        size_t cap = srv->in_cap ? 2 * srv->in_cap : 2 * READ_CHUNK;
        char *b = realloc(srv->in, cap);
        if (!b) {
            say(srv, 0, "out of memory: stdin line %llu not sent",
                (unsigned long long)srv->lineno + 1);
            srv->skipping = 1;
            srv->in_len = 0;
            return;
        }
        srv->in = b;
        srv->in_cap = cap;
    }
    ssize_t n = read(STDIN_FILENO, srv->in + srv->in_len, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        if (srv->in_len && !srv->skipping)
            broadcast(srv, srv->in, srv->in_len);
        srv->stdin_open = 0;
        srv->in_len = 0;
        return;
    }
    srv->in_len += (size_t)n;
    size_t start = 0;
    char *nl;
    while ((nl = memchr(srv->in + start, '\n', srv->in_len - start)) != NULL) {
        size_t end = (size_t)(nl - srv->in);
        if (!srv->skipping)
            broadcast(srv, srv->in + start, end - start);
        else
            srv->lineno++;
        srv->skipping = 0;
        start = end + 1;
    }
    memmove(srv->in, srv->in + start, srv->in_len - start);
    srv->in_len -= start;
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
    job *j = calloc(1, sizeof *j); /* every list link and outbox field starts clear */
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

/* A connection over a per-address cap was closed: logged at most once a
 * second, so a crowd of them costs no more than a line. */
static void refused(server *srv, const char *why)
{
    srv->refused++;
    int64_t now = tool_now_ns();
    if (srv->refused_said && now - srv->refused_said < 1000000000)
        return;
    if (srv->refused > 1)
        say(srv, 0, "%s (%lu refused since the last such line)", why, srv->refused);
    else
        say(srv, 0, "%s", why);
    srv->refused = 0;
    srv->refused_said = now;
}

static void accept_loop(server *srv, const sigset_t *unblocked)
{
    struct pollfd p[2] = {
        {.fd = zws_listener_fd(srv->l), .events = POLLIN, .revents = 0},
        {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0},
    };
    while (!tool_stop_signal()) {
        int n = ppoll(p, srv->stdin_open ? 2 : 1, NULL, unblocked);
        if (n < 0) {
            if (errno != EINTR) {
                say(srv, 0, "poll: %s", strerror(errno));
                poll(NULL, 0, ACCEPT_BACKOFF_MS);
            }
            continue;
        }
        reap(srv);
        if (srv->stdin_open && p[1].revents)
            on_stdin(srv);
        if (!p[0].revents)
            continue;
        zws_conn *c;
        char err[256];
        int r = zws_accept(srv->l, &c, err, sizeof err);
        if (r == ZWS_ELIMIT) { /* closed already: go on accepting at once */
            refused(srv, err);
            continue;
        }
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
    if (a->deflate) {
        zws_deflate_opts d = {0};
        zws_opts_set_deflate(o, &d);
    }
    /* Listen mode polls with a 1 ms read timeout and keeps idle time itself. */
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, a->echo ? (int)a->idle_ms : 1);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_WRITE, (int)a->write_ms);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, (int)a->handshake_ms);
    zws_opts_set_server_limits(o, (int)a->per_hs, (int)a->per_conns,
                               (size_t)(a->budget < SIZE_MAX ? a->budget : SIZE_MAX));
    char err[512] = "";
    int r = 0;
    if (st < 0 && a->unix_path)
        r = zws_listen_unix(&srv->l, a->unix_path, o, err, sizeof err);
    else if (st < 0)
        r = zws_listen(&srv->l, a->host, (uint16_t)a->port, o, err, sizeof err);
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
static int stop(server *srv, int status)
{
    zws_listener_free(srv->l);
    free(srv->in);
    unsigned left = atomic_load(&srv->active);
    if (left == 0) {
        reap(srv);
        pthread_mutex_destroy(&srv->lock);
        return status;
    }
    say(srv, 0, "stopping with %u connection%s open", left, left == 1 ? "" : "s");
    fflush(stdout);
    fflush(stderr);
    _exit(status);
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
    srv.idle_ms = (int)a.idle_ms;
    srv.stdin_open = !a.echo;
    atomic_init(&srv.active, 0);
    atomic_init(&srv.open, 0);
    atomic_init(&srv.output_failed, 0);
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
    if (a.unix_path)
        printf("listening on %s\n", a.unix_path);
    else
        printf("listening on %u\n", (unsigned)zws_listener_port(srv.l));
    fflush(stdout);
    accept_loop(&srv, &unblocked);
    pthread_attr_destroy(&srv.attr);
    return stop(&srv, atomic_load(&srv.output_failed) ? TOOL_EXIT_OUTPUT : TOOL_EXIT_OK);
}
