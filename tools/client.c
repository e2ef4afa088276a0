/* zws client: stdin lines become messages, received messages go to stdout.
 *
 * One thread: poll() on stdin and the socket. OpenSSL must not see an
 * SSL_read and an SSL_write at once from two threads, and one thread also
 * keeps the order of output and the closing logic simple.
 *
 * The blocking zws_recv is made safe to call from the poll loop with a 1 ms
 * read timeout: when the socket holds only part of a frame, zws_recv keeps
 * what it read and returns ZWS_ETIMEDOUT instead of blocking stdin out. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"
#include "zws/url.h"
#include "zws/utf8.h"

#define CMD "client"
#define READ_CHUNK (64u << 10)     /* stdin bytes read per wake-up */
#define LINE_MAX_BYTES (32u << 20) /* longer stdin lines are dropped (zws's
                                      writer takes frames up to 64 MiB) */
#define DRAIN_MAX 256              /* events per wake-up before stdin's turn */
#define DEFAULT_LINGER_MS 500

typedef struct args {
    const char *url;
    const char **headers, **protos, **msgs; /* each room for argc entries */
    size_t nheaders, nprotos, nmsgs;
    const char *ca, *proxy;
    int insecure, binary, raw, ping, verbose;
    uint64_t timeout_ms, max_message, close_after, linger_ms;
    int have_timeout, have_max_message;
} args;

typedef struct session {
    zws_conn *c;
    const args *a;
    uint64_t received;
    size_t awaiting;    /* -c: replies still to print */
    uint8_t ping_data[8];
    int64_t ping_sent;  /* ns; 0 when no ping is outstanding */
    int stalled;        /* zws_recv timed out mid-frame: wait for the socket */
    int stdin_open;
    int lingering;      /* stdin ended: waiting for the server to go quiet */
    int64_t quiet_since; /* ns: the end of stdin or the last message since */
    uint64_t lineno;
    int skipping;       /* dropping the rest of an over-long line */
    char *buf;          /* stdin bytes not yet sent: a partial line */
    size_t len, cap;
} session;

void cmd_client_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws client URL [options]\n\n"
        "Connects to URL (ws:// or wss://). Each line of stdin is sent as a text\n"
        "message (without its newline); each message received is printed on stdout,\n"
        "one per line: text as is, binary as lowercase hex. At the end of stdin, waits\n"
        "until no message has come for --linger ms, closes (1000) and exits.\n\n"
        "Options:\n"
        "  -c, --command MSG        send MSG, print the reply, close and exit; repeatable:\n"
        "                           all are sent, as many replies printed (stdin unused)\n"
        "  -H, --header 'NAME: VALUE'  extra request header (repeatable)\n"
        "  -s, --subprotocol P      offer subprotocol P (repeatable, in order)\n"
        "      --ca FILE            also trust the CA certificates in FILE (PEM)\n"
        "  -k, --insecure           do not verify the server's certificate\n"
        "  -b, --binary             send stdin lines (and -c) as binary messages\n"
        "  -r, --raw                print binary messages as their raw bytes, with\n"
        "                           no newline after them\n"
        "      --ping               send a ping once connected; print the round trip\n"
        "                           time on stderr when the pong comes\n"
        "      --close-after N      close after receiving N messages\n"
        "      --linger MS          after the end of stdin, wait until no message has\n"
        "                           come for MS ms (default %d; 0: close at once)\n"
        "  -t, --timeout MS         connect timeout and handshake timeout, each\n"
        "                           (default 10000; 0: none)\n"
        "      --proxy URL          HTTP proxy http://[user:pass@]host:port, \"\" for none\n"
        "                           (default: http_proxy, https_proxy, no_proxy)\n"
        "      --max-message BYTES  largest message accepted (suffix k, m, g;\n"
        "                           default 16m)\n"
        "  -v, --verbose            report the connection and our close on stderr\n"
        "  -h, --help               show this help\n\n"
        "When the server closes, \"closed: CODE REASON\" goes to stderr and the exit\n"
        "status is 0 whatever the code: the closing handshake completed.\n"
        "SIGINT or SIGTERM closes with 1001 (a second one kills).\n\n"
        "Exit status: 0 done; 1 usage error; 2 could not connect, or the handshake\n"
        "was refused (the HTTP status and the start of the body are printed); 3 the\n"
        "server broke the protocol (the close code and reason we sent are printed),\n"
        "or the connection was lost without a closing handshake; 4 stdout could\n"
        "not be written (the connection is closed with 1001).\n",
        DEFAULT_LINGER_MS);
}

/* ---- command line ---- */

enum { OPT_CA = 256, OPT_PING, OPT_CLOSE_AFTER, OPT_LINGER, OPT_PROXY, OPT_MAX_MESSAGE };

static const struct option long_options[] = {
    {"command", required_argument, NULL, 'c'},
    {"header", required_argument, NULL, 'H'},
    {"subprotocol", required_argument, NULL, 's'},
    {"ca", required_argument, NULL, OPT_CA},
    {"insecure", no_argument, NULL, 'k'},
    {"binary", no_argument, NULL, 'b'},
    {"raw", no_argument, NULL, 'r'},
    {"ping", no_argument, NULL, OPT_PING},
    {"close-after", required_argument, NULL, OPT_CLOSE_AFTER},
    {"linger", required_argument, NULL, OPT_LINGER},
    {"timeout", required_argument, NULL, 't'},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int number(const char *opt, const char *s, uint64_t max, int suffixes,
                  uint64_t *out)
{
    if (tool_parse_u64(s, max, suffixes, out) == 0)
        return -1;
    return tool_usage_error(CMD, "%s: '%s' is not a number from 0 to %llu", opt, s,
                            (unsigned long long)max);
}

/* One option; returns -1 to go on, or an exit status. */
static int option(args *a, int c, char **argv, int prev_optind)
{
    switch (c) {
    case 'c': a->msgs[a->nmsgs++] = optarg; return -1;
    case 'H': a->headers[a->nheaders++] = optarg; return -1;
    case 's': a->protos[a->nprotos++] = optarg; return -1;
    case OPT_CA: a->ca = optarg; return -1;
    case 'k': a->insecure = 1; return -1;
    case 'b': a->binary = 1; return -1;
    case 'r': a->raw = 1; return -1;
    case OPT_PING: a->ping = 1; return -1;
    case 'v': a->verbose = 1; return -1;
    case OPT_PROXY: a->proxy = optarg; return -1;
    case OPT_CLOSE_AFTER:
        return number("--close-after", optarg, UINT64_MAX, 0, &a->close_after);
    case OPT_LINGER: return number("--linger", optarg, INT_MAX, 0, &a->linger_ms);
    case 't':
        a->have_timeout = 1;
        return number("--timeout", optarg, INT_MAX, 0, &a->timeout_ms);
    case OPT_MAX_MESSAGE:
        a->have_max_message = 1;
        return number("--max-message", optarg, UINT64_MAX >> 1, 1, &a->max_message);
    case 'h': cmd_client_usage(stdout); return TOOL_EXIT_OK;
    default: return tool_bad_option(CMD, c, argv, prev_optind);
    }
}

/* Returns -1 when a holds a command line to run, or an exit status. */
static int parse_args(args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->linger_ms = DEFAULT_LINGER_MS;
    a->headers = calloc(3 * (size_t)argc, sizeof *a->headers);
    if (!a->headers) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_USAGE;
    }
    a->protos = a->headers + argc;
    a->msgs = a->protos + argc;
    opterr = 0;
    int c, prev = optind;
    while ((c = getopt_long(argc, argv, ":c:H:s:kbrt:vh", long_options, NULL)) != -1) {
        int st = option(a, c, argv, prev);
        if (st >= 0)
            return st;
        prev = optind;
    }
    if (optind >= argc)
        return tool_usage_error(CMD, "missing URL");
    if (optind + 1 < argc)
        return tool_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    a->url = argv[optind];
    for (size_t i = 0; i < a->nmsgs && !a->binary; i++)
        if (!zws_utf8_valid((const uint8_t *)a->msgs[i], strlen(a->msgs[i])))
            return tool_usage_error(CMD, "-c '%s' is not valid UTF-8 (use --binary)",
                                    a->msgs[i]);
    return -1;
}

/* "Name: value" into the options; returns -1 or an exit status. */
static int add_header(zws_opts *o, const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h)
        return tool_usage_error(CMD, "-H '%s': expected 'Name: value'", h);
    char *name = strndup(h, (size_t)(colon - h));
    const char *value = colon + 1 + strspn(colon + 1, " \t");
    int r = name ? zws_opts_add_header(o, name, value) : ZWS_ENOMEM;
    free(name);
    if (r == ZWS_EINVAL)
        return tool_usage_error(CMD, "-H '%s': not a header zws can send", h);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, zws_strerror(r));
        return TOOL_EXIT_USAGE;
    }
    return -1;
}

static int fill_opts(const args *a, zws_opts *o)
{
    for (size_t i = 0; i < a->nheaders; i++) {
        int st = add_header(o, a->headers[i]);
        if (st >= 0)
            return st;
    }
    for (size_t i = 0; i < a->nprotos; i++)
        if (zws_opts_add_subprotocol(o, a->protos[i]))
            return tool_usage_error(CMD, "--subprotocol '%s': not a valid token",
                                    a->protos[i]);
    if (a->ca && zws_opts_set_ca_file(o, a->ca))
        return tool_usage_error(CMD, "--ca: out of memory");
    if (a->proxy) {
        zws_url u;
        const char *why = "invalid";
        if (*a->proxy && zws_url_parse(&u, a->proxy, ZWS_URL_PROXY, &why))
            return tool_usage_error(CMD, "--proxy '%s': %s", a->proxy, why);
        if (zws_opts_set_proxy(o, a->proxy))
            return tool_usage_error(CMD, "--proxy: out of memory");
    }
    zws_opts_set_insecure(o, a->insecure);
    if (a->have_timeout) {
        zws_opts_set_timeout(o, ZWS_TIMEOUT_CONNECT, (int)a->timeout_ms);
        zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, (int)a->timeout_ms);
    }
    if (a->have_max_message)
        zws_opts_set_limits(o, a->max_message, a->max_message);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, 1); /* see the top of this file */
    zws_opts_set_surface_control(o, a->ping);    /* to see the pong */
    return -1;
}

/* Connects; returns -1 with s->c set, or an exit status. */
static int connect_to(session *s, const args *a)
{
    zws_opts *o;
    if (zws_opts_new(&o)) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_CONNECT;
    }
    int st = fill_opts(a, o);
    if (st >= 0) {
        zws_opts_free(o);
        return st;
    }
    char err[512];
    int r = zws_connect(&s->c, a->url, o, err, sizeof err);
    zws_opts_free(o);
    if (r == ZWS_EURL || r == ZWS_EINVAL)
        return tool_usage_error(CMD, "%s", err[0] ? err : zws_strerror(r));
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, err[0] ? err : zws_strerror(r));
        return TOOL_EXIT_CONNECT;
    }
    if (a->verbose) {
        const char *p = zws_conn_subprotocol(s->c);
        fprintf(stderr, "connected to %s%s%s\n", a->url, *p ? ", subprotocol " : "", p);
    }
    return -1;
}

/* ---- closing ---- */

static int close_now(session *s, uint16_t code)
{
    fflush(stdout);
    int r = zws_close(s->c, code, NULL);
    if (r) {
        fprintf(stderr, "zws %s: closing handshake failed: %s\n", CMD, zws_strerror(r));
        return TOOL_EXIT_PROTOCOL;
    }
    if (s->a->verbose)
        fprintf(stderr, "closed with %u\n", (unsigned)code);
    return TOOL_EXIT_OK;
}

/* After a message or a pong: is there nothing left to wait for? */
static int maybe_done(session *s)
{
    const args *a = s->a;
    if (a->close_after && s->received >= a->close_after)
        return close_now(s, ZWS_CLOSE_NORMAL);
    if (a->nmsgs && s->awaiting == 0 && !s->ping_sent)
        return close_now(s, ZWS_CLOSE_NORMAL);
    return -1;
}

/* zws_recv failed: the close code zws sent for a violation, or why the
 * connection broke. */
static int recv_failed(int r, const zws_event *ev)
{
    fflush(stdout);
    if (r == ZWS_EPROTO || r == ZWS_EUTF8 || r == ZWS_ETOOBIG || r == ZWS_EEXT) {
        fprintf(stderr, "zws %s: the server broke the protocol: %s; closed with %u %s\n",
                CMD, zws_strerror(r), (unsigned)ev->close_code,
                ev->reason ? ev->reason : "");
        return TOOL_EXIT_PROTOCOL;
    }
    fprintf(stderr, "zws %s: connection lost without a closing handshake: %s\n", CMD,
            zws_strerror(r));
    return TOOL_EXIT_PROTOCOL;
}

/* ---- receiving ---- */

static void on_pong(session *s, const zws_event *ev)
{
    if (!s->ping_sent || ev->len != sizeof s->ping_data ||
        memcmp(ev->data, s->ping_data, sizeof s->ping_data) != 0)
        return; /* unsolicited pongs are allowed (RFC 6455 §5.5.3) */
    double ms = (double)(tool_now_ns() - s->ping_sent) / 1e6;
    fprintf(stderr, "pong: %.3f ms\n", ms);
    s->ping_sent = 0;
}

/* One zws_recv; returns -1 to go on, or an exit status. */
static int receive(session *s)
{
    zws_event ev;
    int r = zws_recv(s->c, &ev);
    s->stalled = r == ZWS_ETIMEDOUT;
    switch (r) {
    case ZWS_ETIMEDOUT:
    case ZWS_EV_PING: /* already answered by zws */
        return -1;
    case ZWS_EV_MESSAGE:
        tool_print_message(stdout, ev.opcode, ev.data, ev.len, s->a->raw);
        s->received++;
        s->quiet_since = tool_now_ns();
        if (s->awaiting)
            s->awaiting--;
        return maybe_done(s);
    case ZWS_EV_PONG:
        on_pong(s, &ev);
        return maybe_done(s);
    case ZWS_EV_CLOSE: /* zws answered it: the closing handshake is done */
        fflush(stdout);
        fprintf(stderr, "closed: %u%s%.*s\n", (unsigned)ev.close_code,
                ev.reason_len ? " " : "", (int)ev.reason_len, ev.reason ? ev.reason : "");
        return TOOL_EXIT_OK;
    default:
        return recv_failed(r, &ev);
    }
}

/* Everything zws has buffered, and what one read brings. */
static int drain(session *s)
{
    for (int i = 0; i < DRAIN_MAX; i++) {
        int st = receive(s);
        if (st >= 0)
            return st;
        if (s->stalled || !zws_conn_readable(s->c))
            break;
    }
    return -1;
}

/* ---- sending ---- */

/* A send fails when the server has gone: it may have said why in a close
 * frame not read yet. */
static int send_failed(session *s, int r)
{
    for (int i = 0; i < DRAIN_MAX; i++) {
        int st = receive(s);
        if (st >= 0)
            return st;
        if (s->stalled)
            break;
    }
    fprintf(stderr, "zws %s: send failed: %s\n", CMD, zws_strerror(r));
    return TOOL_EXIT_PROTOCOL;
}

/* Queues one line (flushed by the caller); returns -1 or an exit status. */
static int send_line(session *s, const char *line, size_t len)
{
    s->lineno++;
    if (len > LINE_MAX_BYTES) {
        fprintf(stderr, "zws %s: line %llu is longer than %u bytes, not sent\n", CMD,
                (unsigned long long)s->lineno, LINE_MAX_BYTES);
        return -1;
    }
    unsigned op = s->a->binary ? ZWS_OP_BINARY : ZWS_OP_TEXT;
    if (op == ZWS_OP_TEXT && !zws_utf8_valid((const uint8_t *)line, len)) {
        fprintf(stderr, "zws %s: line %llu is not valid UTF-8, not sent (use --binary)\n",
                CMD, (unsigned long long)s->lineno);
        return -1;
    }
    int r = zws_send(s->c, op, line, len, ZWS_SEND_MORE_DATA);
    return r ? send_failed(s, r) : -1;
}

/* Sends the complete lines in s->buf; keeps the partial one. */
static int send_lines(session *s)
{
    size_t start = 0;
    char *nl;
    while ((nl = memchr(s->buf + start, '\n', s->len - start)) != NULL) {
        size_t end = (size_t)(nl - s->buf);
        int st = s->skipping ? -1 : send_line(s, s->buf + start, end - start);
        if (st >= 0)
            return st;
        s->skipping = 0;
        start = end + 1;
    }
    if (s->skipping)
        start = s->len;
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    int r = zws_flush(s->c);
    return r ? send_failed(s, r) : -1;
}

static int stdin_ended(session *s)
{
    s->stdin_open = 0;
    int st = -1;
    if (s->len && !s->skipping) /* a last line without a newline */
        st = send_line(s, s->buf, s->len);
    s->len = 0;
    int r = st < 0 ? zws_flush(s->c) : 0;
    if (r)
        st = send_failed(s, r);
    if (st >= 0)
        return st;
    if (s->a->linger_ms == 0)
        return close_now(s, ZWS_CLOSE_NORMAL);
    s->lingering = 1;
    s->quiet_since = tool_now_ns();
    return -1;
}

/* Makes room for a read; drops a line that outgrew LINE_MAX_BYTES. */
static int make_room(session *s)
{
    if (s->len > LINE_MAX_BYTES) { /* only a partial line is kept here */
        fprintf(stderr, "zws %s: line %llu is longer than %u bytes, not sent\n", CMD,
                (unsigned long long)s->lineno + 1, LINE_MAX_BYTES);
        s->lineno++;
        s->skipping = 1;
        s->len = 0;
    }
    if (s->cap - s->len >= READ_CHUNK)
        return 0;
    size_t cap = s->cap ? 2 * s->cap : 2 * READ_CHUNK;
    char *b = realloc(s->buf, cap);
    if (!b)
        return -1;
    s->buf = b;
    s->cap = cap;
    return 0;
}

static int on_stdin(session *s)
{
    if (make_room(s)) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        (void)close_now(s, ZWS_CLOSE_INTERNAL);
        return TOOL_EXIT_PROTOCOL;
    }
    ssize_t n = read(STDIN_FILENO, s->buf + s->len, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return -1;
    if (n < 0)
        fprintf(stderr, "zws %s: stdin: %s\n", CMD, strerror(errno));
    if (n <= 0)
        return stdin_ended(s);
    s->len += (size_t)n;
    return send_lines(s);
}

/* ---- the loop ---- */

/* poll() timeout: until the linger period ends, else for ever. */
static int wait_ms(const session *s)
{
    if (!s->lingering)
        return -1;
    int64_t left = (int64_t)s->a->linger_ms - (tool_now_ns() - s->quiet_since) / 1000000;
    return left > 0 ? (int)left : 0;
}

static int run(session *s)
{
    for (;;) {
        if (tool_stop_signal())
            return close_now(s, ZWS_CLOSE_GOING_AWAY);
        int timeout = wait_ms(s);
        if (timeout == 0)
            return close_now(s, ZWS_CLOSE_NORMAL);
        int buffered = !s->stalled && zws_conn_readable(s->c);
        struct pollfd p[3] = {
            {.fd = zws_conn_fd(s->c), .events = POLLIN, .revents = 0},
            {.fd = tool_stop_fd(), .events = POLLIN, .revents = 0}, /* -1: ignored */
            {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0},
        };
        if (tool_flush_stdout(CMD)) { /* before waiting, not per message */
            (void)close_now(s, ZWS_CLOSE_GOING_AWAY);
            return TOOL_EXIT_OUTPUT;
        }
        int n = poll(p, s->stdin_open ? 3 : 2, buffered ? 0 : timeout);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "zws %s: poll: %s\n", CMD, strerror(errno));
            return TOOL_EXIT_PROTOCOL;
        }
        if (n < 0)
            continue;
        if (p[0].revents)
            s->stalled = 0;
        int st = -1;
        if (p[0].revents || buffered)
            st = drain(s);
        if (st < 0 && s->stdin_open && p[2].revents)
            st = on_stdin(s);
        if (st >= 0)
            return st;
    }
}

/* What happens right after connecting: the ping, the -c messages. */
static int start(session *s)
{
    const args *a = s->a;
    if (a->ping) {
        int64_t now = tool_now_ns();
        for (size_t i = 0; i < sizeof s->ping_data; i++)
            s->ping_data[i] = (uint8_t)(now >> (8 * i));
        int r = zws_ping(s->c, s->ping_data, sizeof s->ping_data);
        if (r)
            return send_failed(s, r);
        s->ping_sent = now;
    }
    unsigned op = a->binary ? ZWS_OP_BINARY : ZWS_OP_TEXT;
    for (size_t i = 0; i < a->nmsgs; i++) {
        int r = zws_send(s->c, op, a->msgs[i], strlen(a->msgs[i]),
                         i + 1 < a->nmsgs ? ZWS_SEND_MORE_DATA : 0);
        if (r)
            return send_failed(s, r);
    }
    s->awaiting = a->nmsgs;
    s->stdin_open = a->nmsgs == 0;
    return -1;
}

int cmd_client(int argc, char **argv)
{
    args a;
    int st = parse_args(&a, argc, argv);
    session s;
    memset(&s, 0, sizeof s);
    s.a = &a;
    if (st < 0)
        st = connect_to(&s, &a);
    if (st < 0) {
        (void)tool_catch_stop_signals(1); /* without the pipe, a signal still
                                             stops us at the next wake-up */
        st = start(&s);
        if (st < 0)
            st = run(&s);
    }
    if (tool_flush_stdout(CMD) && st == TOOL_EXIT_OK)
        st = TOOL_EXIT_OUTPUT;
    zws_conn_free(s.c);
    free(s.buf);
    free(a.headers);
    return st;
}
