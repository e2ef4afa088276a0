/* interop_loop_server: the interop echo server (interop_server.c's "#cmd"
 * protocol, see README.md) on the event loop (zws/server.h), so Node's and
 * Python's clients test the loop's session, upgrade and TLS as well.
 *
 *   interop_loop_server [--host ADDR] [--port N] [--cert PEM --key PEM]
 *
 * Prints "listening on PORT"; exits 0 after SIGTERM or SIGINT once the
 * server stopped gracefully (every connection closed). ZWS_LOOP picks the
 * backend; compression, the message limit and the extension check come from
 * the environment as for interop_server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zws/server.h>

#include "interop_util.h"

#define MAX_REPORTS 128

typedef struct session {
    char tag[64];
    unsigned frag_next;  /* fragments for the next echo; 0: one frame */
    int frag_ping;
    char pong_want[126];
    size_t pong_len;
    int pong_pending;
    long closing;        /* the close code we started with, or 0 */
    interop_tally got;   /* the peer's messages echoed: compressed? */
} session;

/* Loop threads only touch these from their own handlers; one loop runs. */
static struct {
    char tag[64];
    char what[192];
} reports[MAX_REPORTS];
static int nreports;
static zws_server *srv;

static void report_set(const session *s, const char *what)
{
    if (!s->tag[0])
        return;
    int i;
    for (i = 0; i < nreports && strcmp(reports[i].tag, s->tag) != 0; i++)
        ;
    if (i == nreports && nreports < MAX_REPORTS)
        nreports++;
    if (i < MAX_REPORTS) {
        snprintf(reports[i].tag, sizeof reports[i].tag, "%s", s->tag);
        snprintf(reports[i].what, sizeof reports[i].what, "%s", what);
    }
}

static void send_text(zws_ws *ws, const char *s)
{
    zws_ws_send(ws, ZWS_OP_TEXT, s, strlen(s));
}

static void command(zws_ws *ws, session *s, const char *line)
{
    char reply[256];
    if (strcmp(line, "ext") == 0) {
        send_text(ws, zws_ws_extensions(ws));
    } else if (strcmp(line, "compressed") == 0) {
        interop_tally_verdict(&s->got, reply, sizeof reply);
        send_text(ws, reply);
    } else if (strncmp(line, "tag ", 4) == 0) {
        snprintf(s->tag, sizeof s->tag, "%.63s", line + 4);
    } else if (strncmp(line, "report ", 7) == 0) {
        snprintf(reply, sizeof reply, "pending");
        for (int i = 0; i < nreports; i++)
            if (strcmp(reports[i].tag, line + 7) == 0)
                snprintf(reply, sizeof reply, "%s", reports[i].what);
        send_text(ws, reply);
    } else if (strncmp(line, "frag ", 5) == 0) {
        char *end;
        long n = strtol(line + 5, &end, 10);
        s->frag_next = n > 0 && n < 100000 ? (unsigned)n : 0;
        s->frag_ping = strcmp(end, " ping") == 0;
    } else if (strncmp(line, "ping ", 5) == 0) {
        size_t n = strlen(line + 5);
        s->pong_len = n > 125 ? 125 : n;
        memcpy(s->pong_want, line + 5, s->pong_len);
        s->pong_pending = 1;
        zws_ws_ping(ws, s->pong_want, s->pong_len);
    } else if (strncmp(line, "close ", 6) == 0) {
        char *end;
        s->closing = strtol(line + 6, &end, 10);
        if (zws_ws_close(ws, (uint16_t)s->closing, *end == ' ' ? end + 1 : ""))
            s->closing = -1;
    } else {
        snprintf(reply, sizeof reply, "error unknown command: %.200s", line);
        send_text(ws, reply);
    }
}

static void on_message(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len)
{
    session *s = zws_ws_user(ws);
    size_t plen = strlen(INTEROP_CMD);
    if (opcode == ZWS_OP_TEXT && len > plen && len < 512 && memcmp(data, INTEROP_CMD, plen) == 0) {
        char line[512];
        memcpy(line, data + plen, len - plen);
        line[len - plen] = 0;
        command(ws, s, line);
        return;
    }
    interop_tally_note(&s->got, zws_ws_extensions(ws), len, zws_ws_compressed(ws));
    unsigned n = s->frag_next;
    s->frag_next = 0;
    if (n <= 1) {
        zws_ws_send(ws, opcode, data, len);
        return;
    }
    size_t part = len / n;
    for (unsigned i = 0; i < n; i++) {
        size_t off = part * i;
        zws_ws_send_part(ws, i ? ZWS_OP_CONT : opcode, data + off,
                         i + 1 == n ? len - off : part, i + 1 < n);
        if (i == 0 && s->frag_ping)
            zws_ws_ping(ws, "frag-ping", 9);
    }
}

static void on_pong(zws_ws *ws, const uint8_t *data, size_t len)
{
    session *s = zws_ws_user(ws);
    if (!s->pong_pending)
        return;
    s->pong_pending = 0;
    char reply[160];
    if (len == s->pong_len && memcmp(data, s->pong_want, len) == 0)
        snprintf(reply, sizeof reply, "pong %.*s", (int)len, (const char *)data);
    else
        snprintf(reply, sizeof reply, "pong-mismatch %zu bytes", len);
    send_text(ws, reply);
}

static int on_upgrade(void *ud, zws_upgrade *u, void **user)
{
    (void)ud;
    (void)u;
    *user = calloc(1, sizeof(session));
    return *user ? 0 : 503;
}

static void on_close(zws_ws *ws, uint16_t code, const char *reason, size_t len)
{
    session *s = zws_ws_user(ws);
    if (!s)
        return;
    char what[192];
    if (s->closing)
        snprintf(what, sizeof what, "%s close %ld",
                 s->closing > 0 && code != 1006 ? "answered" : "failed", s->closing);
    else
        snprintf(what, sizeof what, "%u %.*s", code, (int)(len > 150 ? 150 : len),
                 reason ? reason : "");
    report_set(s, what);
    free(s);
    zws_ws_set_user(ws, NULL);
}

/* With ZWS_INTEROP_EXPECT: a connection that agreed on other extensions is
 * closed at once with 4001 and a reason saying both. */
static void on_open(zws_ws *ws)
{
    const char *bad = interop_ext_mismatch(zws_ws_extensions(ws));
    if (bad) {
        fprintf(stderr, "%s: %s\n", interop_prog, bad);
        char reason[124];
        snprintf(reason, sizeof reason, "%s", bad); /* a close reason: at most 123 bytes */
        zws_ws_close(ws, 4001, reason);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    zws_server_stop(srv);
}

int main(int argc, char **argv)
{
    interop_prog = "interop_loop_server";
    const char *host = "127.0.0.1", *cert = NULL, *key = NULL;
    long port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--cert") == 0)
            cert = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0)
            key = argv[i + 1];
        else
            interop_fail("unknown option %s", argv[i]);
    }
    zws_opts *o;
    if (zws_opts_new(&o))
        interop_fail("out of memory");
    zws_opts_set_surface_control(o, 1);
    interop_opts_from_env(o);
    if (cert && zws_opts_set_cert(o, cert, key))
        interop_fail("zws_opts_set_cert failed");
    char err[256];
    int r = zws_server_new(&srv, o, err, sizeof err);
    zws_opts_free(o);
    if (r)
        interop_fail("server: %s: %s", zws_errname(r), err);
    zws_handlers h = {.upgrade = on_upgrade, .open = on_open, .message = on_message, .pong = on_pong,
                      .close = on_close};
    if (zws_server_route(srv, "*", &h, NULL))
        interop_fail("route");
    if ((r = zws_server_listen(srv, host, (uint16_t)port, err, sizeof err)))
        interop_fail("listen on %s:%ld: %s", host, port, err);
    printf("listening on %u\n", (unsigned)zws_server_port(srv));
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    r = zws_server_run(srv, 1);
    fprintf(stderr, "%s: stopped (%s backend)%s\n", interop_prog, zws_server_backend(srv),
            r ? ", with an error" : "");
    zws_server_free(srv);
    return r ? 1 : 0;
}
