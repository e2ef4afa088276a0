/* zws client: stdin becomes messages, received messages go to stdout.
 *
 * One thread: poll() on stdin and the socket. OpenSSL must not see an
 * SSL_read and an SSL_write at once from two threads, and one thread also
 * keeps the order of output and the closing logic simple.
 *
 * The blocking zws_recv is made safe to call from the poll loop with a 1 ms
 * read timeout: when the socket holds only part of a frame, zws_recv keeps
 * what it read and returns ZWS_ETIMEDOUT instead of blocking stdin out.
 * Writes have a 2 ms timeout for the same reason: a server that echoes
 * stops reading when we stop reading its echoes, so a send that cannot go
 * on leaves the rest queued (the backlog), stdin waits, and the loop reads
 * replies until the socket takes the rest.
 *
 * On a terminal the output is marked ("< " for what arrived, "> " for what
 * was sent or the prompt) and slash commands are read; piped, lines are
 * plain, so scripts see exactly the messages. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tool.h"
#include "zws/url.h"
#include "zws/utf8.h"

#define CMD "client"
#define READ_CHUNK (64u << 10)     /* stdin bytes read per wake-up: in binary
                                      mode, the largest message sent */
#define LINE_MAX_BYTES (32u << 20) /* longer stdin lines are not sent (zws's
                                      writer takes frames up to 64 MiB) */
#define DRAIN_MAX 256              /* events per wake-up before stdin's turn */
#define DEFAULT_LINGER_MS 500
#define DEFAULT_COMMAND_WAIT_MS 5000 /* -c without -w: longest wait for replies */
#define PROBE_TIMEOUT_MS 2000      /* the TLS check after a silent ws:// port */

/* Marks and colours on a terminal. */
#define C_IN "\033[36m"  /* "< ": what arrived */
#define C_OUT "\033[32m" /* "> ": what we sent, and the prompt */
#define C_CTL "\033[33m" /* pings, pongs, the close */
#define C_OFF "\033[0m"

typedef struct args {
    const char *url;
    const char **headers, **protos, **msgs, **execs; /* each room for argc */
    size_t nheaders, nprotos, nmsgs, nexecs;
    const char *ca, *proxy, *origin, *auth, *cert, *key;
    int insecure, binary, raw, base64, ping, verbose, show_pp, deflate;
    int slash;    /* -1: on when stdin is a terminal */
    int no_color;
    uint64_t timeout_ms, max_message, close_after, linger_ms;
    int64_t wait_ms;       /* -w in ms; -1 when not given */
    int64_t ping_every_ms; /* --ping-interval; 0: none */
    int have_timeout, have_max_message;
} args;

typedef struct session {
    zws_conn *c;
    const args *a;
    uint64_t received;
    size_t awaiting;      /* -c: replies still to print */
    uint8_t ping_data[125];
    size_t ping_len;
    int64_t ping_sent;    /* ns; 0 when no ping of ours is outstanding */
    int ping_report;      /* print the round trip of that ping */
    int64_t next_ping;    /* ns: the next --ping-interval ping; 0: none */
    int64_t wait_until;   /* ns: close then (-w, or -c's default); 0: none */
    int stalled;          /* zws_recv timed out mid-frame: wait for the socket */
    int backlog;          /* output queued that the socket did not take yet */
    int stdin_open;
    int lingering;        /* stdin ended: waiting for the server to go quiet */
    int64_t quiet_since;  /* ns: the end of stdin or the last message since */
    uint64_t lineno;
    uint64_t unsent;      /* lines not sent */
    int bad_close;        /* the server closed with an error code */
    int skipping;         /* dropping the rest of an over-long line */
    int marks, color;     /* stdout is a terminal: "< " / "> ", coloured */
    int prompt;           /* stdin and stdout are terminals: show "> " */
    int in_tty;           /* stdin is a terminal: it echoes what is typed */
    int prompt_shown;     /* the prompt is on screen, nothing after it */
    int slash;            /* slash commands are read */
    char *buf;            /* stdin bytes not yet sent: a partial line */
    size_t len, cap;
} session;

void cmd_client_usage(FILE *f)
{
    fputs(
        "Usage: zws client URL [options]\n\n"
        "Connects to URL: ws://, wss://, http:// and https:// (aliases of ws:// and\n"
        "wss://), or ws+unix:///path/to.sock:/request-path for a unix domain socket.\n"
        "Each line of stdin is sent as a text message (without its newline); each\n"
        "message received is printed on stdout, one per line: text as is, binary as\n"
        "\"[binary N bytes] \" and lowercase hex. At the end of stdin, waits until no\n"
        "message has come for --linger ms (or for -w seconds), closes (1000), exits.\n\n"
        "On a terminal, what arrived is marked \"< \" and what was sent \"> \" (the\n"
        "prompt, when stdin is a terminal too), in colour unless --no-color or the\n"
        "NO_COLOR variable is set; and lines starting with '/' are commands:\n"
        "  /ping [TEXT]  /pong [TEXT]  /close [CODE [REASON]]  /binary HEX  /help\n"
        "('//' at the start sends a line that starts with '/').\n\n", f);
    fprintf(f,
        "Options:\n"
        "  -c, --command MSG        send MSG, print the reply, close and exit; repeatable:\n"
        "                           all are sent, as many replies printed (stdin unused;\n"
        "                           waits up to -w, default %d s, for the replies)\n"
        "  -x, --execute MSG        send MSG once connected and keep printing until the\n"
        "                           server closes, -w passes or a signal (repeatable;\n"
        "                           stdin unused)\n"
        "  -w, --wait S             after the last message sent (the end of stdin, or\n"
        "                           every -c or -x sent), wait up to S seconds (decimals\n"
        "                           allowed) for replies, then close with 1000, exit 0\n"
        "  -H, --header 'NAME: VALUE'  extra request header (repeatable; Origin is\n"
        "                           the same as --origin)\n"
        "      --origin ORIGIN      send the Origin header, e.g. http://example.com\n"
        "      --auth USER:PASS     HTTP Basic authentication\n"
        "  -s, --subprotocol P      offer subprotocol P (repeatable, in order)\n"
        "      --deflate            offer permessage-deflate (compression, RFC 7692)\n"
        "      --ca FILE            also trust the CA certificates in FILE (PEM)\n"
        "  -k, --insecure           do not verify the server's certificate\n"
        "      --cert FILE          client certificate chain (PEM) for servers that\n"
        "                           ask for one (mutual TLS); needs --key\n"
        "      --key FILE           the client certificate's private key (PEM)\n"
        "  -b, --binary             send stdin as binary messages, a chunk as read at a\n"
        "                           time (up to 64 KiB each; no line splitting, every\n"
        "                           byte sent); -c and -x messages as binary too\n"
        "  -r, --raw                print binary messages as their raw bytes, with\n"
        "                           no marker and no newline after them\n"
        "      --base64             print binary messages in base64, not hex\n"
        "  -P, --show-ping-pong     print the server's pings and pongs\n"
        "      --ping               send a ping once connected; print the round trip\n"
        "                           time on stderr when the pong comes\n"
        "      --ping-interval S    send a ping every S seconds\n"
        "      --slash, --no-slash  read slash commands, or not (default: only when\n"
        "                           stdin is a terminal)\n"
        "      --no-color           no colour on a terminal\n"
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
        "  -h, --help               show this help\n\n",
        DEFAULT_COMMAND_WAIT_MS / 1000, DEFAULT_LINGER_MS);
    fputs(
        "When the server closes, \"closed: CODE REASON\" goes to stderr.\n"
        "SIGINT or SIGTERM closes with 1001 (a second one kills).\n\n"
        "Exit status: 0 done; 1 usage error; 2 could not connect, or the handshake\n"
        "was refused (the HTTP status and the start of the body are printed); 3 the\n"
        "server broke the protocol (the close code and reason we sent are printed),\n"
        "or the connection was lost without a closing handshake; 4 stdout could\n"
        "not be written, a closed pipe included (the connection is closed with\n"
        "1001); 5 the server closed with a code other than 1000 or 1001 (e.g. 1009:\n"
        "a message was too big for it); 6 some input was not sent (a line that is\n"
        "not valid UTF-8 without --binary, or longer than 32 MiB). When several\n"
        "apply, the lowest but 0 wins.\n", f);
}

/* ---- command line ---- */

enum {
    OPT_CA = 256, OPT_PING, OPT_CLOSE_AFTER, OPT_LINGER, OPT_PROXY, OPT_MAX_MESSAGE,
    OPT_ORIGIN, OPT_AUTH, OPT_CERT, OPT_KEY, OPT_BASE64, OPT_PING_INTERVAL, OPT_SLASH,
    OPT_NO_SLASH, OPT_NO_COLOR, OPT_DEFLATE
};

static const struct option long_options[] = {
    {"command", required_argument, NULL, 'c'},
    {"execute", required_argument, NULL, 'x'},
    {"wait", required_argument, NULL, 'w'},
    {"header", required_argument, NULL, 'H'},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"subprotocol", required_argument, NULL, 's'},
    {"ca", required_argument, NULL, OPT_CA},
    {"insecure", no_argument, NULL, 'k'},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"binary", no_argument, NULL, 'b'},
    {"raw", no_argument, NULL, 'r'},
    {"base64", no_argument, NULL, OPT_BASE64},
    {"show-ping-pong", no_argument, NULL, 'P'},
    {"ping", no_argument, NULL, OPT_PING},
    {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},
    {"slash", no_argument, NULL, OPT_SLASH},
    {"no-slash", no_argument, NULL, OPT_NO_SLASH},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"deflate", no_argument, NULL, OPT_DEFLATE},
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

/* Seconds with decimals ("2", "0.25") into ms, at most a day. */
static int seconds(const char *opt, const char *s, int64_t *ms)
{
    char *end = NULL;
    double v = (*s >= '0' && *s <= '9') || *s == '.' ? strtod(s, &end) : -1;
    if (v < 0 || *end || !(v <= 86400)) /* NaN fails the last test */
        return tool_usage_error(CMD, "%s: '%s' is not a number of seconds (0 to 86400)",
                                opt, s);
    *ms = (int64_t)(v * 1000 + 0.5);
    return -1;
}

/* One option; returns -1 to go on, or an exit status. */
static int option(args *a, int c, char **argv, int prev_optind)
{
    switch (c) {
    case 'c': a->msgs[a->nmsgs++] = optarg; return -1;
    case 'x': a->execs[a->nexecs++] = optarg; return -1;
    case 'w': return seconds("--wait", optarg, &a->wait_ms);
    case 'H': a->headers[a->nheaders++] = optarg; return -1;
    case 's': a->protos[a->nprotos++] = optarg; return -1;
    case OPT_ORIGIN: a->origin = optarg; return -1;
    case OPT_AUTH: a->auth = optarg; return -1;
    case OPT_CA: a->ca = optarg; return -1;
    case 'k': a->insecure = 1; return -1;
    case OPT_CERT: a->cert = optarg; return -1;
    case OPT_KEY: a->key = optarg; return -1;
    case 'b': a->binary = 1; return -1;
    case 'r': a->raw = 1; return -1;
    case OPT_BASE64: a->base64 = 1; return -1;
    case 'P': a->show_pp = 1; return -1;
    case OPT_PING: a->ping = 1; return -1;
    case OPT_PING_INTERVAL: {
        int st = seconds("--ping-interval", optarg, &a->ping_every_ms);
        if (st < 0 && a->ping_every_ms == 0)
            return tool_usage_error(CMD, "--ping-interval: must be more than 0");
        return st;
    }
    case OPT_SLASH: a->slash = 1; return -1;
    case OPT_NO_SLASH: a->slash = 0; return -1;
    case OPT_NO_COLOR: a->no_color = 1; return -1;
    case OPT_DEFLATE: a->deflate = 1; return -1;
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
    a->wait_ms = -1;
    a->slash = -1;
    a->headers = calloc(4 * (size_t)argc, sizeof *a->headers);
    if (!a->headers) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_USAGE;
    }
    a->protos = a->headers + argc;
    a->msgs = a->protos + argc;
    a->execs = a->msgs + argc;
    opterr = 0;
    int c, prev = optind;
    while ((c = getopt_long(argc, argv, ":c:x:w:H:s:kbrPt:vh", long_options, NULL)) != -1) {
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
    if (a->nmsgs && a->nexecs)
        return tool_usage_error(CMD, "-c and -x exclude each other (-c waits for replies, "
                                     "-x keeps printing)");
    if (!a->cert != !a->key)
        return tool_usage_error(CMD, "--cert and --key go together");
    if (a->slash == 1 && a->binary)
        return tool_usage_error(CMD, "--slash reads lines: it does not go with --binary");
    if (a->auth && !strchr(a->auth, ':'))
        return tool_usage_error(CMD, "--auth '%s': expected USER:PASS", a->auth);
    for (size_t i = 0; i < a->nmsgs + a->nexecs && !a->binary; i++) {
        const char *m = i < a->nmsgs ? a->msgs[i] : a->execs[i - a->nmsgs];
        if (!zws_utf8_valid((const uint8_t *)m, strlen(m)))
            return tool_usage_error(CMD, "%s '%s' is not valid UTF-8 (use --binary)",
                                    i < a->nmsgs ? "-c" : "-x", m);
    }
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
    int r = ZWS_ENOMEM;
    if (name && strcasecmp(name, "Origin") == 0) /* the option of its own */
        r = zws_opts_set_origin(o, value);
    else if (name)
        r = zws_opts_add_header(o, name, value);
    const char *why = r == ZWS_EINVAL && name ? zws_opts_header_refusal(name, value) : NULL;
    free(name);
    if (r == ZWS_EINVAL)
        return tool_usage_error(CMD, "-H '%s': %s", h, why ? why : "not a header zws can send");
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, zws_strerror(r));
        return TOOL_EXIT_USAGE;
    }
    return -1;
}

/* --auth USER:PASS as an Authorization header. */
static int add_auth(zws_opts *o, const char *cred)
{
    size_t n = strlen(cred);
    char *v = malloc(6 + 4 * ((n + 2) / 3) + 1);
    if (!v) {
        fprintf(stderr, "zws %s: out of memory\n", CMD);
        return TOOL_EXIT_USAGE;
    }
    memcpy(v, "Basic ", 6);
    tool_base64(v + 6, (const uint8_t *)cred, n);
    int r = zws_opts_add_header(o, "Authorization", v);
    free(v);
    if (r)
        return tool_usage_error(CMD, "--auth: %s", zws_strerror(r));
    return -1;
}

static int fill_opts(const args *a, zws_opts *o)
{
    for (size_t i = 0; i < a->nheaders; i++) {
        int st = add_header(o, a->headers[i]);
        if (st >= 0)
            return st;
    }
    if (a->origin && zws_opts_set_origin(o, a->origin))
        return tool_usage_error(CMD, "--origin '%s': not a valid header value", a->origin);
    if (a->auth) {
        int st = add_auth(o, a->auth);
        if (st >= 0)
            return st;
    }
    for (size_t i = 0; i < a->nprotos; i++)
        if (zws_opts_add_subprotocol(o, a->protos[i]))
            return tool_usage_error(CMD, "--subprotocol '%s': not a valid token",
                                    a->protos[i]);
    if (a->ca && zws_opts_set_ca_file(o, a->ca))
        return tool_usage_error(CMD, "--ca: out of memory");
    if (a->cert && zws_opts_set_cert(o, a->cert, a->key))
        return tool_usage_error(CMD, "--cert/--key: out of memory");
    if (a->proxy) {
        zws_url u;
        const char *why = "invalid";
        if (*a->proxy && zws_url_parse(&u, a->proxy, ZWS_URL_PROXY, &why))
            return tool_usage_error(CMD, "--proxy '%s': %s", a->proxy, why);
        if (zws_opts_set_proxy(o, a->proxy))
            return tool_usage_error(CMD, "--proxy: out of memory");
    }
    zws_opts_set_insecure(o, a->insecure);
    if (a->deflate) {
        zws_deflate_opts d = {0};
        zws_opts_set_deflate(o, &d);
    }
    if (a->have_timeout) {
        zws_opts_set_timeout(o, ZWS_TIMEOUT_CONNECT, (int)a->timeout_ms);
        zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, (int)a->timeout_ms);
    }
    if (a->have_max_message)
        zws_opts_set_limits(o, a->max_message, a->max_message);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, 1);  /* see the top of this file */
    zws_opts_set_timeout(o, ZWS_TIMEOUT_WRITE, 2); /* ditto */
    zws_opts_set_surface_control(o, 1);          /* pongs for rtt, -P */
    return -1;
}

/* A ws:// port that closed without a word may speak TLS: try it, briefly.
 * Returns 1 when a TLS handshake completed there. */
static int speaks_tls(const char *url)
{
    zws_url u;
    if (zws_url_parse(&u, url, ZWS_URL_WS, NULL) || u.secure || u.is_unix)
        return 0;
    /* The same host and port: wss:// alone would mean 443. */
    char auth[ZWS_URL_HOST_MAX + 16], target[4096], tls[sizeof auth + sizeof target + 8];
    zws_opts *o = NULL;
    if (zws_url_authority(&u, 1, auth, sizeof auth) < 0 ||
        zws_url_target(&u, target, sizeof target) < 0 || zws_opts_new(&o))
        return 0;
    snprintf(tls, sizeof tls, "wss://%s%s", auth, target);
    zws_opts_set_insecure(o, 1); /* only the protocol is in question */
    zws_opts_set_timeout(o, ZWS_TIMEOUT_CONNECT, PROBE_TIMEOUT_MS);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, PROBE_TIMEOUT_MS);
    zws_conn *c = NULL;
    int r = zws_connect(&c, tls, o, NULL, 0);
    zws_conn_free(c);
    zws_opts_free(o);
    /* Past TLS: upgraded, refused, or an HTTP answer it did not like. */
    return r == 0 || r == ZWS_EHANDSHAKE || r == ZWS_EHTTP;
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
        if (r == ZWS_ECLOSED && speaks_tls(a->url))
            fprintf(stderr, "zws %s: the port speaks TLS: use wss://\n", CMD);
        return TOOL_EXIT_CONNECT;
    }
    if (a->verbose) {
        const char *p = zws_conn_subprotocol(s->c), *x = zws_conn_extensions(s->c);
        fprintf(stderr, "connected to %s%s%s%s%s\n", a->url, *p ? ", subprotocol " : "", p,
                *x ? ", extensions " : "", x);
    }
    return -1;
}

/* ---- output ---- */

/* Before anything is printed: the prompt goes (it is redrawn later). */
static void begin_line(session *s)
{
    if (s->prompt_shown) {
        fputs("\r\033[K", stdout);
        s->prompt_shown = 0;
    }
}

static void mark(const session *s, const char *colour, const char *m)
{
    if (s->color)
        fprintf(stdout, "%s%s%s", colour, m, C_OFF);
    else
        fputs(m, stdout);
}

static void show_prompt(session *s)
{
    if (!s->prompt || s->prompt_shown || !s->stdin_open)
        return;
    mark(s, C_OUT, "> ");
    s->prompt_shown = 1;
}

/* A message received (dir "< ") or sent (dir "> ", shown only when stdin
 * is not a terminal, which has echoed it already). */
static void show(session *s, const char *dir, unsigned opcode, const uint8_t *data,
                 size_t len)
{
    unsigned how = (s->a->raw ? TOOL_SHOW_RAW : 0) | (s->a->base64 ? TOOL_SHOW_BASE64 : 0);
    if (s->marks) {
        begin_line(s);
        mark(s, dir[0] == '<' ? C_IN : C_OUT, dir);
    }
    tool_print_message(stdout, opcode, data, len, how);
}

/* A ping or pong: "[ping] TEXT", or its size and hex when it is not
 * printable text. */
static void show_control(session *s, const char *what, const uint8_t *data, size_t len)
{
    if (s->marks) {
        begin_line(s);
        mark(s, C_IN, "< ");
    }
    int text = zws_utf8_valid(data, len);
    for (size_t i = 0; i < len && text; i++)
        text = data[i] >= 0x20 && data[i] != 0x7f; /* nothing that moves the cursor */
    if (text) {
        fprintf(stdout, "%s[%s]%s%s", s->color ? C_CTL : "", what, s->color ? C_OFF : "",
                len ? " " : "");
        fwrite(data, 1, len, stdout);
        fputc('\n', stdout);
        return;
    }
    fprintf(stdout, "%s[%s %zu bytes]%s ", s->color ? C_CTL : "", what, len,
            s->color ? C_OFF : "");
    tool_print_hex(stdout, data, len);
    fputc('\n', stdout);
}

/* ---- closing ---- */

static int close_now(session *s, uint16_t code, const char *reason)
{
    begin_line(s);
    fflush(stdout);
    int r = zws_close(s->c, code, reason);
    if (r == ZWS_EINVAL) {
        fprintf(stderr, "zws %s: %u is not a close code to send\n", CMD, (unsigned)code);
        return close_now(s, ZWS_CLOSE_NORMAL, NULL);
    }
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
        return close_now(s, ZWS_CLOSE_NORMAL, NULL);
    if (a->nmsgs && s->awaiting == 0 && !s->ping_sent)
        return close_now(s, ZWS_CLOSE_NORMAL, NULL);
    return -1;
}

/* zws_recv failed: the close code zws sent for a violation, or why the
 * connection broke. */
static int recv_failed(session *s, int r, const zws_event *ev)
{
    begin_line(s);
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
    if (s->a->show_pp)
        show_control(s, "pong", ev->data, ev->len);
    if (!s->ping_sent || ev->len != s->ping_len ||
        memcmp(ev->data, s->ping_data, s->ping_len) != 0)
        return; /* unsolicited pongs are allowed (RFC 6455 §5.5.3) */
    if (s->ping_report) {
        begin_line(s);
        fflush(stdout);
        fprintf(stderr, "pong: %.3f ms\n", (double)(tool_now_ns() - s->ping_sent) / 1e6);
    }
    s->ping_sent = 0;
}

static int on_close(session *s, const zws_event *ev)
{
    begin_line(s);
    fflush(stdout);
    fprintf(stderr, "closed: %u%s%.*s\n", (unsigned)ev->close_code,
            ev->reason_len ? " " : "", (int)ev->reason_len, ev->reason ? ev->reason : "");
    uint16_t code = ev->close_code;
    s->bad_close = code != ZWS_CLOSE_NORMAL && code != ZWS_CLOSE_GOING_AWAY &&
                   code != ZWS_CLOSE_NO_STATUS;
    return TOOL_EXIT_OK;
}

/* One zws_recv; returns -1 to go on, or an exit status. */
static int receive(session *s)
{
    zws_event ev;
    int r = zws_recv(s->c, &ev);
    s->stalled = r == ZWS_ETIMEDOUT;
    switch (r) {
    case ZWS_ETIMEDOUT:
        return -1;
    case ZWS_EV_PING: /* already answered by zws */
        if (s->a->show_pp)
            show_control(s, "ping", ev.data, ev.len);
        return -1;
    case ZWS_EV_MESSAGE:
        show(s, "< ", ev.opcode, ev.data, ev.len);
        s->received++;
        s->quiet_since = tool_now_ns();
        if (s->awaiting)
            s->awaiting--;
        return maybe_done(s);
    case ZWS_EV_PONG:
        on_pong(s, &ev);
        return maybe_done(s);
    case ZWS_EV_CLOSE: /* zws answered it: the closing handshake is done */
        return on_close(s, &ev);
    default:
        return recv_failed(s, r, &ev);
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

/* A write that timed out left the rest queued: not a failure. */
static int wrote(session *s, int r)
{
    if (r != ZWS_ETIMEDOUT)
        return r;
    s->backlog = 1;
    return 0;
}

/* Queues one message (flushed by the caller, or now with flags 0). */
static int send_message(session *s, unsigned op, const void *data, size_t len,
                        unsigned flags)
{
    int r = wrote(s, zws_send(s->c, op, data, len, flags));
    if (r) {
        s->unsent++; /* whatever the server says next, this did not go */
        return send_failed(s, r);
    }
    if (s->marks && !s->in_tty)
        show(s, "> ", op, data, len);
    return -1;
}

static int ping(session *s, const void *data, size_t len, int report)
{
    if (!data) { /* our own payload: the clock, so pongs can be matched */
        int64_t now = tool_now_ns();
        for (size_t i = 0; i < 8; i++)
            s->ping_data[i] = (uint8_t)(now >> (8 * i));
        len = 8;
    } else {
        memcpy(s->ping_data, data, len);
    }
    s->ping_len = len;
    int r = wrote(s, zws_ping(s->c, s->ping_data, len));
    if (r)
        return send_failed(s, r);
    s->ping_sent = tool_now_ns();
    s->ping_report = report;
    return -1;
}

static void not_sent(session *s, const char *why)
{
    s->unsent++;
    begin_line(s);
    fflush(stdout);
    fprintf(stderr, "zws %s: line %llu %s, not sent\n", CMD, (unsigned long long)s->lineno,
            why);
}

static void slash_help(void)
{
    fputs("/ping [TEXT]            a ping (the round trip goes to stderr)\n"
          "/pong [TEXT]            an unsolicited pong\n"
          "/close [CODE [REASON]]  close (default 1000) and exit\n"
          "/binary HEX             a binary message, e.g. /binary 48 69\n"
          "//TEXT                  the text message /TEXT\n",
          stderr);
}

/* A line that starts with '/' (NUL-terminated); returns -1 or an exit
 * status. */
static int slash_command(session *s, const char *line, size_t len)
{
    size_t w = 1;
    while (w < len && line[w] != ' ')
        w++;
    const char *arg = line + w + (w < len);
    size_t alen = len - (size_t)(arg - line);
    int is_ping = w == 5 && memcmp(line, "/ping", 5) == 0;
    if (is_ping || (w == 5 && memcmp(line, "/pong", 5) == 0)) {
        if (alen > 125) {
            fprintf(stderr, "zws %s: a control frame carries at most 125 bytes\n", CMD);
            return -1;
        }
        if (is_ping)
            return ping(s, alen ? arg : NULL, alen, 1);
        int r = wrote(s, zws_pong(s->c, arg, alen));
        return r ? send_failed(s, r) : -1;
    }
    if (w == 6 && memcmp(line, "/close", 6) == 0) {
        char *end = (char *)arg;
        unsigned long code = alen ? strtoul(arg, &end, 10) : ZWS_CLOSE_NORMAL;
        const char *reason = end + strspn(end, " ");
        if (alen && (end == arg || (*end && *end != ' ') || code > 65535)) {
            fprintf(stderr, "zws %s: /close [CODE [REASON]]: '%s' is not a code\n", CMD,
                    arg);
            return -1;
        }
        if (strlen(reason) > 123 || !zws_utf8_valid((const uint8_t *)reason, strlen(reason))) {
            fprintf(stderr, "zws %s: /close: the reason must be UTF-8 of at most 123 bytes\n",
                    CMD);
            return -1;
        }
        if (!zws_close_code_valid((uint16_t)code)) {
            fprintf(stderr, "zws %s: /close: %lu is not a close code to send "
                            "(1000-1003, 1007-1014, 3000-4999)\n",
                    CMD, code);
            return -1;
        }
        return close_now(s, (uint16_t)code, *reason ? reason : NULL);
    }
    if (w == 7 && memcmp(line, "/binary", 7) == 0) {
        uint8_t *b = malloc(alen / 2 + 1);
        int n = b ? tool_hex_decode(b, arg, alen) : -1;
        int st = -1;
        if (n < 0)
            fprintf(stderr, "zws %s: /binary HEX: '%s' is not hex bytes\n", CMD, arg);
        else
            st = send_message(s, ZWS_OP_BINARY, b, (size_t)n, 0);
        free(b);
        return st;
    }
    if (w == 5 && memcmp(line, "/help", 5) == 0) {
        slash_help();
        return -1;
    }
    fprintf(stderr, "zws %s: unknown command '%.*s' (/help lists them; '//' sends a line "
                    "starting with '/')\n",
            CMD, (int)w, line);
    return -1;
}

/* One line of stdin (flushed by the caller); returns -1 or an exit status.
 * line points into s->buf, which a line read here may not outlive. */
static int send_line(session *s, const char *line, size_t len)
{
    s->lineno++;
    if (len > LINE_MAX_BYTES) {
        not_sent(s, "is longer than 32 MiB");
        return -1;
    }
    if (s->slash && len && line[0] == '/') {
        if (len < 2 || line[1] != '/') {
            char *cmd = strndup(line, len); /* line is not NUL-terminated */
            if (!cmd) {
                fprintf(stderr, "zws %s: out of memory\n", CMD);
                return -1;
            }
            fflush(stdout);
            int st = slash_command(s, cmd, len);
            free(cmd);
            return st;
        }
        line++; /* "//x" sends "/x" */
        len--;
    }
    if (!zws_utf8_valid((const uint8_t *)line, len)) {
        not_sent(s, "is not valid UTF-8 (use --binary)");
        return -1;
    }
    return send_message(s, ZWS_OP_TEXT, line, len, ZWS_SEND_MORE_DATA);
}

/* Sends the complete lines in s->buf; keeps the partial one. */
static int send_lines(session *s)
{
    size_t start = 0;
    char *nl;
    while ((nl = memchr(s->buf + start, '\n', s->len - start)) != NULL) {
        size_t end = (size_t)(nl - s->buf);
        int st = -1;
        if (s->skipping)
            s->lineno++; /* the end of the over-long line */
        else
            st = send_line(s, s->buf + start, end - start);
        if (st >= 0)
            return st;
        s->skipping = 0;
        start = end + 1;
    }
    if (s->skipping)
        start = s->len;
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    int r = wrote(s, zws_flush(s->c));
    if (r)
        s->unsent++; /* queued lines that may not have gone */
    return r ? send_failed(s, r) : -1;
}

/* The last message went: close after -w, or once the server goes quiet. */
static int sending_done(session *s)
{
    int64_t now = tool_now_ns();
    if (s->a->wait_ms >= 0) {
        s->wait_until = now + s->a->wait_ms * 1000000;
        return -1;
    }
    if (s->a->linger_ms == 0)
        return close_now(s, ZWS_CLOSE_NORMAL, NULL);
    s->lingering = 1;
    s->quiet_since = now;
    return -1;
}

static int stdin_ended(session *s)
{
    s->stdin_open = 0;
    begin_line(s);
    int st = -1;
    if (s->len && !s->skipping && !s->a->binary) /* a last line without a newline */
        st = send_line(s, s->buf, s->len);
    s->len = 0;
    int r = st < 0 ? wrote(s, zws_flush(s->c)) : 0;
    if (r) {
        s->unsent++;
        st = send_failed(s, r);
    }
    return st >= 0 ? st : sending_done(s);
}

/* Makes room for a read; drops a line that outgrew LINE_MAX_BYTES. */
static int make_room(session *s)
{
    if (s->len > LINE_MAX_BYTES) { /* only a partial line is kept here */
        s->lineno++;
        not_sent(s, "is longer than 32 MiB");
        s->lineno--; /* counted again when its end comes */
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
        (void)close_now(s, ZWS_CLOSE_INTERNAL, NULL);
        return TOOL_EXIT_PROTOCOL;
    }
    ssize_t n = read(STDIN_FILENO, s->buf + s->len, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return -1;
    if (n < 0)
        fprintf(stderr, "zws %s: stdin: %s\n", CMD, strerror(errno));
    if (n <= 0)
        return stdin_ended(s);
    s->prompt_shown = 0; /* the terminal moved past it with the newline */
    if (s->a->binary) /* a chunk as read: every byte, no splitting */
        return send_message(s, ZWS_OP_BINARY, s->buf, (size_t)n, 0);
    s->len += (size_t)n;
    return send_lines(s);
}

/* ---- the loop ---- */

/* ms until the earliest of: the end of lingering, -w, the next ping;
 * -1 for none. */
static int wait_ms(const session *s)
{
    int64_t now = tool_now_ns(), due = INT64_MAX;
    if (s->lingering)
        due = s->quiet_since + (int64_t)s->a->linger_ms * 1000000;
    if (s->wait_until && s->wait_until < due)
        due = s->wait_until;
    if (s->next_ping && s->next_ping < due)
        due = s->next_ping;
    if (due == INT64_MAX)
        return -1;
    int64_t left = (due - now + 999999) / 1000000;
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* The deadlines that passed; returns -1 or an exit status. */
static int timers(session *s)
{
    int64_t now = tool_now_ns();
    if (s->lingering && now - s->quiet_since >= (int64_t)s->a->linger_ms * 1000000)
        return close_now(s, ZWS_CLOSE_NORMAL, NULL);
    if (s->wait_until && now >= s->wait_until) {
        if (s->awaiting) {
            begin_line(s);
            fflush(stdout);
            fprintf(stderr, "zws %s: %zu repl%s not received in time (-w)\n", CMD,
                    s->awaiting, s->awaiting == 1 ? "y" : "ies");
        }
        return close_now(s, ZWS_CLOSE_NORMAL, NULL);
    }
    if (s->next_ping && now >= s->next_ping) {
        s->next_ping = now + s->a->ping_every_ms * 1000000;
        return ping(s, NULL, 0, 0); /* replaces one whose pong never came */
    }
    return -1;
}

static int run(session *s)
{
    for (;;) {
        if (tool_stop_signal())
            return close_now(s, ZWS_CLOSE_GOING_AWAY, NULL);
        int st = timers(s);
        if (st >= 0)
            return st;
        int timeout = wait_ms(s);
        int buffered = !s->stalled && zws_conn_readable(s->c);
        struct pollfd p[3] = {
            {.fd = zws_conn_fd(s->c), .events = s->backlog ? POLLIN | POLLOUT : POLLIN,
             .revents = 0},
            {.fd = tool_stop_fd(), .events = POLLIN, .revents = 0}, /* -1: ignored */
            {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0},
        };
        if (!buffered)
            show_prompt(s);
        if (tool_flush_stdout(CMD)) { /* before waiting, not per message */
            (void)close_now(s, ZWS_CLOSE_GOING_AWAY, NULL);
            return TOOL_EXIT_OUTPUT;
        }
        /* stdin waits while the socket has not taken what we sent */
        int n = poll(p, s->stdin_open && !s->backlog ? 3 : 2, buffered ? 0 : timeout);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "zws %s: poll: %s\n", CMD, strerror(errno));
            (void)close_now(s, ZWS_CLOSE_INTERNAL, NULL);
            return TOOL_EXIT_PROTOCOL;
        }
        if (n < 0)
            continue;
        if (p[0].revents)
            s->stalled = 0;
        if (p[0].revents & POLLOUT) {
            s->backlog = 0;
            int r = wrote(s, zws_flush(s->c));
            if (r)
                return send_failed(s, r);
        }
        if ((p[0].revents & ~POLLOUT) || buffered)
            st = drain(s);
        if (st < 0 && s->stdin_open && !s->backlog && p[2].revents)
            st = on_stdin(s);
        if (st >= 0)
            return st;
    }
}

/* What happens right after connecting: the ping, the -c and -x messages. */
static int start(session *s)
{
    const args *a = s->a;
    int st = a->ping ? ping(s, NULL, 0, 1) : -1;
    if (a->ping_every_ms)
        s->next_ping = tool_now_ns() + a->ping_every_ms * 1000000;
    unsigned op = a->binary ? ZWS_OP_BINARY : ZWS_OP_TEXT;
    size_t n = a->nmsgs + a->nexecs;
    for (size_t i = 0; i < n && st < 0; i++) {
        const char *m = i < a->nmsgs ? a->msgs[i] : a->execs[i - a->nmsgs];
        st = send_message(s, op, m, strlen(m), i + 1 < n ? ZWS_SEND_MORE_DATA : 0);
    }
    if (st >= 0)
        return st;
    s->awaiting = a->nmsgs;
    s->stdin_open = n == 0;
    if (a->nmsgs)
        s->wait_until =
            tool_now_ns() + (a->wait_ms >= 0 ? a->wait_ms : DEFAULT_COMMAND_WAIT_MS) * 1000000;
    else if (a->nexecs && a->wait_ms >= 0)
        s->wait_until = tool_now_ns() + a->wait_ms * 1000000;
    return -1;
}

/* Marks, colour and slash commands from the terminal and the options. */
static void set_mode(session *s, const args *a)
{
    int in_tty = isatty(STDIN_FILENO), out_tty = isatty(STDOUT_FILENO);
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    s->marks = out_tty && !a->raw;
    s->color = s->marks && !a->no_color && !(no_color && *no_color) &&
               !(term && strcmp(term, "dumb") == 0);
    s->prompt = s->marks && in_tty && !a->binary;
    s->in_tty = in_tty;
    s->slash = a->slash >= 0 ? a->slash : in_tty && !a->binary;
}

int cmd_client(int argc, char **argv)
{
    args a;
    int st = parse_args(&a, argc, argv);
    session s;
    memset(&s, 0, sizeof s);
    s.a = &a;
    /* A closed pipe on stdout is a write error (exit 4), not SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (st < 0)
        st = connect_to(&s, &a);
    if (st < 0) {
        set_mode(&s, &a);
        (void)tool_catch_stop_signals(1); /* without the pipe, a signal still
                                             stops us at the next wake-up */
        st = start(&s);
        if (st < 0)
            st = run(&s);
    }
    begin_line(&s);
    if (st != TOOL_EXIT_OUTPUT && tool_flush_stdout(CMD) && st == TOOL_EXIT_OK)
        st = TOOL_EXIT_OUTPUT;
    if (st == TOOL_EXIT_OK && s.bad_close)
        st = TOOL_EXIT_PEER_CLOSE;
    if (st == TOOL_EXIT_OK && s.unsent) {
        fprintf(stderr, "zws %s: %llu line%s not sent\n", CMD, (unsigned long long)s.unsent,
                s.unsent == 1 ? "" : "s");
        st = TOOL_EXIT_UNSENT;
    }
    zws_conn_free(s.c);
    free(s.buf);
    free(a.headers);
    return st;
}
