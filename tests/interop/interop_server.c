/* interop_server: an echo server on zws's blocking API, the "our server"
 * half of the interop tests. Node's and Python's clients connect to it.
 *
 *   interop_server [--host ADDR] [--port N] [--cert PEM --key PEM]
 *                  [--handshake-timeout MS]
 *
 * Prints "listening on PORT" once it accepts connections (--port 0 picks a
 * free one), then "ext: VALUE" (zws_conn_extensions) for every connection
 * whose handshake succeeded, serves each on its own thread, and exits 0 after
 * SIGTERM or SIGINT once every connection has ended, so a sanitizer build
 * checks for leaks at a clean exit rather than at a kill.
 *
 * Every message is echoed with its own opcode, except text messages that
 * start with "#cmd ", which drive the server (see README.md):
 *   tag NAME        name this connection: how it ends is kept for "report"
 *   report NAME     reply with how the connection NAME ended: "CODE REASON"
 *                   for the peer's close frame, "failed ERR CODE" when zws
 *                   failed it, "pending" while it is still open
 *   frag N [ping]   echo the next message in N fragments (with a ping
 *                   between the first two)
 *   ping PAYLOAD    ping; on the matching pong, reply "pong PAYLOAD"
 *   close CODE [R]  start the closing handshake with CODE and reason R
 *   ext             reply with the extensions agreed (zws_conn_extensions)
 *   compressed      reply whether the peer's messages echoed so far came
 *                   compressed as they should ("ok: ..." or "bad: ...",
 *                   interop_tally_verdict; also printed as "received: ..."
 *                   when the connection ends)
 *
 * Compression and the message limit come from the environment
 * (ZWS_INTEROP_DEFLATE, ZWS_INTEROP_MAX_MESSAGE); with ZWS_INTEROP_EXPECT
 * set, a connection whose agreed extension differs is closed at once with
 * 4001 and a reason saying both. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zws/conn.h>
#include <zws/writer.h>

#include "interop_util.h"

/* How often an idle connection thread looks at the stop flag. */
#define POLL_MS 200
#define MAX_REPORTS 128
#define SHUTDOWN_WAIT_MS 5000

static atomic_int stopping;
static int stop_pipe[2] = {-1, -1};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static int active; /* connection threads still running */

static struct {
    char tag[64];
    char what[192];
} reports[MAX_REPORTS];
static int nreports;

typedef struct session {
    zws_conn *c;
    char tag[64];
    int reported;
    unsigned frag_next;   /* fragments for the next echo; 0: one frame */
    int frag_ping;        /* and a ping between its first two fragments */
    char pong_want[126];  /* payload of our outstanding ping */
    size_t pong_len;
    int pong_pending;
    interop_tally got;    /* the peer's messages echoed: compressed? */
} session;

static void report_set(session *s, const char *what)
{
    if (!s->tag[0] || s->reported)
        return;
    s->reported = 1;
    pthread_mutex_lock(&lock);
    int i;
    for (i = 0; i < nreports && strcmp(reports[i].tag, s->tag) != 0; i++)
        ;
    if (i == nreports && nreports < MAX_REPORTS)
        nreports++;
    if (i < MAX_REPORTS) {
        snprintf(reports[i].tag, sizeof reports[i].tag, "%s", s->tag);
        snprintf(reports[i].what, sizeof reports[i].what, "%s", what);
    }
    pthread_mutex_unlock(&lock);
}

static void report_get(const char *tag, char *out, size_t n)
{
    snprintf(out, n, "pending");
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nreports; i++)
        if (strcmp(reports[i].tag, tag) == 0)
            snprintf(out, n, "%s", reports[i].what);
    pthread_mutex_unlock(&lock);
}

static int send_text(zws_conn *c, const char *s)
{
    return zws_send(c, ZWS_OP_TEXT, s, strlen(s), 0);
}

/* Echoes a message as n frames: the first with the message's opcode, then
 * continuations, the last one final. */
static int send_fragmented(zws_conn *c, unsigned opcode, const uint8_t *d, size_t len,
                           unsigned n, int ping)
{
    size_t part = len / n;
    for (unsigned i = 0; i < n; i++) {
        size_t off = part * i;
        size_t plen = i + 1 == n ? len - off : part;
        int r = zws_send(c, i == 0 ? opcode : ZWS_OP_CONT, d + off, plen,
                         i + 1 == n ? 0 : ZWS_WRITE_MORE);
        if (!r && ping && i == 0) /* control frames may come between fragments */
            r = zws_ping(c, "frag-ping", 9);
        if (r)
            return r;
    }
    return 0;
}

/* Runs one "#cmd" line. Returns 1 when the connection is finished, 0 to go
 * on, a negative zws error when sending failed. */
static int command(session *s, const char *line)
{
    char reply[256];
    if (strncmp(line, "tag ", 4) == 0) {
        snprintf(s->tag, sizeof s->tag, "%.63s", line + 4);
        return 0;
    }
    if (strcmp(line, "ext") == 0)
        return send_text(s->c, zws_conn_extensions(s->c));
    if (strcmp(line, "compressed") == 0) {
        interop_tally_verdict(&s->got, reply, sizeof reply);
        return send_text(s->c, reply);
    }
    if (strncmp(line, "report ", 7) == 0) {
        report_get(line + 7, reply, sizeof reply);
        return send_text(s->c, reply);
    }
    if (strncmp(line, "frag ", 5) == 0) {
        char *end;
        long n = strtol(line + 5, &end, 10);
        s->frag_next = n > 0 && n < 100000 ? (unsigned)n : 0;
        s->frag_ping = strcmp(end, " ping") == 0;
        return 0;
    }
    if (strncmp(line, "ping ", 5) == 0) {
        size_t n = strlen(line + 5);
        if (n > 125)
            n = 125;
        memcpy(s->pong_want, line + 5, n);
        s->pong_len = n;
        s->pong_pending = 1;
        return zws_ping(s->c, s->pong_want, n);
    }
    if (strncmp(line, "close ", 6) == 0) {
        char *end;
        long code = strtol(line + 6, &end, 10);
        const char *reason = *end == ' ' ? end + 1 : "";
        int r = zws_close(s->c, (uint16_t)code, reason);
        if (r)
            fprintf(stderr, "%s: close %ld: %s\n", interop_prog, code, zws_errname(r));
        /* The close we started was answered; say what the peer sent back. */
        snprintf(reply, sizeof reply, "%s close %ld", r ? "failed" : "answered", code);
        report_set(s, reply);
        return 1;
    }
    snprintf(reply, sizeof reply, "error unknown command: %.200s", line);
    return send_text(s->c, reply);
}

static int on_message(session *s, const zws_event *ev)
{
    size_t plen = strlen(INTEROP_CMD);
    if (ev->opcode == ZWS_OP_TEXT && ev->len > plen && ev->len < 512 &&
        memcmp(ev->data, INTEROP_CMD, plen) == 0) {
        char line[512];
        memcpy(line, ev->data + plen, ev->len - plen);
        line[ev->len - plen] = 0;
        return command(s, line);
    }
    interop_tally_note(&s->got, zws_conn_extensions(s->c), ev->len, (ev->rsv & ZWS_RSV1) != 0);
    unsigned n = s->frag_next;
    s->frag_next = 0;
    if (n > 1)
        return send_fragmented(s->c, ev->opcode, ev->data, ev->len, n, s->frag_ping);
    return zws_send(s->c, ev->opcode, ev->data, ev->len, 0);
}

static int on_pong(session *s, const zws_event *ev)
{
    if (!s->pong_pending)
        return 0; /* unsolicited pongs are allowed (RFC 6455 §5.5.3) */
    char reply[160];
    s->pong_pending = 0;
    if (ev->len == s->pong_len && memcmp(ev->data, s->pong_want, ev->len) == 0)
        snprintf(reply, sizeof reply, "pong %.*s", (int)ev->len, (const char *)ev->data);
    else
        snprintf(reply, sizeof reply, "pong-mismatch %zu bytes", ev->len);
    return send_text(s->c, reply);
}

/* Serves one connection until it ends. */
static void serve(session *s)
{
    char err[256], what[192];
    int r = zws_conn_handshake(s->c, err, sizeof err);
    if (r) {
        fprintf(stderr, "%s: handshake: %s: %s\n", interop_prog, zws_errname(r), err);
        return;
    }
    printf("ext: %s\n", zws_conn_extensions(s->c));
    const char *bad = interop_ext_mismatch(zws_conn_extensions(s->c));
    if (bad) {
        /* The peer fails on this close and shows the reason. */
        fprintf(stderr, "%s: %s\n", interop_prog, bad);
        char reason[124];
        snprintf(reason, sizeof reason, "%s", bad); /* a close reason: at most 123 bytes */
        zws_close(s->c, 4001, reason);
        return;
    }
    for (;;) {
        zws_event ev;
        r = zws_recv(s->c, &ev);
        if (r == ZWS_ETIMEDOUT) {
            if (atomic_load(&stopping))
                break;
            continue;
        }
        if (r < 0) {
            snprintf(what, sizeof what, "failed %s %u", zws_errname(r), ev.close_code);
            fprintf(stderr, "%s: recv: %s (%.*s)\n", interop_prog, what,
                    ev.reason ? (int)strlen(ev.reason) : 0, ev.reason ? ev.reason : "");
            report_set(s, what);
            return;
        }
        if (r == ZWS_EV_CLOSE) {
            snprintf(what, sizeof what, "%u %.*s", ev.close_code, (int)ev.reason_len,
                     ev.reason ? ev.reason : "");
            report_set(s, what);
            return;
        }
        if (r == ZWS_EV_MESSAGE)
            r = on_message(s, &ev);
        else if (r == ZWS_EV_PONG)
            r = on_pong(s, &ev);
        else
            r = 0; /* a ping: zws already answered it */
        if (r < 0) {
            fprintf(stderr, "%s: send: %s\n", interop_prog, zws_errname(r));
            break;
        }
        if (r > 0)
            return;
    }
    report_set(s, "1006 abnormal");
}

static void *conn_thread(void *arg)
{
    session *s = arg;
    serve(s);
    if (s->got.messages) { /* browser.sh reads it */
        char v[256];
        interop_tally_verdict(&s->got, v, sizeof v);
        printf("received: %s\n", v);
    }
    report_set(s, "1006 abnormal");
    zws_conn_free(s->c);
    free(s);
    pthread_mutex_lock(&lock);
    active--;
    pthread_cond_broadcast(&idle);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stopping, 1);
    ssize_t w = write(stop_pipe[1], "x", 1);
    (void)w; /* nothing to do if the pipe is full: one byte is enough */
}

static void start_conn(zws_conn *c)
{
    session *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(stderr, "%s: out of memory: connection dropped\n", interop_prog);
        zws_conn_free(c);
        return;
    }
    s->c = c;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    pthread_mutex_lock(&lock);
    active++;
    pthread_mutex_unlock(&lock);
    if (pthread_create(&t, &attr, conn_thread, s) != 0)
        interop_fail("pthread_create failed");
    pthread_attr_destroy(&attr);
}

/* Waits for the connection threads; 0 when all of them ended in time. */
static int wait_idle(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SHUTDOWN_WAIT_MS / 1000;
    pthread_mutex_lock(&lock);
    while (active > 0)
        if (pthread_cond_timedwait(&idle, &lock, &until) == ETIMEDOUT)
            break;
    int left = active;
    pthread_mutex_unlock(&lock);
    return left;
}

static void usage(void)
{
    fprintf(stderr, "usage: interop_server [--host ADDR] [--port N] [--cert PEM --key PEM] "
                    "[--handshake-timeout MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    interop_prog = "interop_server";
    const char *host = "127.0.0.1", *cert = NULL, *key = NULL;
    long port = 0, hs_ms = 5000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        if (strcmp(a, "--host") == 0)
            host = argv[++i];
        else if (strcmp(a, "--port") == 0)
            port = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--cert") == 0)
            cert = argv[++i];
        else if (strcmp(a, "--key") == 0)
            key = argv[++i];
        else if (strcmp(a, "--handshake-timeout") == 0)
            hs_ms = strtol(argv[++i], NULL, 10);
        else
            usage();
    }
    if (port < 0 || port > 65535 || hs_ms <= 0 || !cert != !key)
        usage();

    /* A peer that vanishes mid-write must give an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (pipe(stop_pipe) != 0)
        interop_fail("pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    zws_opts *o;
    if (zws_opts_new(&o))
        interop_fail("out of memory");
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, (int)hs_ms);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, POLL_MS);
    zws_opts_set_surface_control(o, 1);
    interop_opts_from_env(o);
    if (cert && zws_opts_set_cert(o, cert, key))
        interop_fail("zws_opts_set_cert failed");
    zws_listener *l;
    char err[256];
    int r = zws_listen(&l, host, (uint16_t)port, o, err, sizeof err);
    zws_opts_free(o);
    if (r)
        interop_fail("listen on %s:%ld: %s: %s", host, port, zws_errname(r), err);
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line per printf, from any thread */
    printf("listening on %u\n", (unsigned)zws_listener_port(l));

    while (!atomic_load(&stopping)) {
        struct pollfd p[2] = {{zws_listener_fd(l), POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            interop_fail("poll: %s", strerror(errno));
        }
        if (!(p[0].revents & POLLIN))
            continue;
        zws_conn *c;
        r = zws_accept(l, &c, err, sizeof err);
        if (r) {
            fprintf(stderr, "%s: accept: %s: %s\n", interop_prog, zws_errname(r), err);
            continue;
        }
        start_conn(c);
    }
    zws_listener_free(l);
    int left = wait_idle();
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    if (left)
        interop_fail("%d connection(s) still open %d ms after the stop signal", left,
                     SHUTDOWN_WAIT_MS);
    fprintf(stderr, "%s: stopped cleanly\n", interop_prog);
    return 0;
}
