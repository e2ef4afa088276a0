/* browser_server: the event-loop server the headless-browser test
 * (browser.sh) points Chromium at.
 *
 *   browser_server --page HTML [--host ADDR] [--port N]
 *
 * GET / answers the test page (browser.html); /ws is an echo WebSocket with permessage-deflate from
 * ZWS_INTEROP_DEFLATE ("on" when unset). Lines on stdout, one each:
 *   listening on PORT
 *   ext: VALUE        for every WebSocket opened: zws_ws_extensions
 *   received: VERDICT for every WebSocket that echoed something, once it
 *                     closed: whether the page's messages came compressed
 *                     (interop_tally_verdict; zws_ws_compressed)
 *   RESULT ...        the page's verdict, sent as a text message starting
 *                     "RESULT " on its WebSocket or as GET /result?TEXT
 *                     (percent-encoded, for failures that lost the socket)
 * Exits 0 after SIGTERM or SIGINT once the server stopped. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zws/server.h>

#include "interop_util.h"

static char *page;
static size_t page_len;

static void load_page(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        interop_fail("cannot open %s", path);
    size_t cap = 1 << 16;
    page = malloc(cap);
    size_t n;
    while (page && (n = fread(page + page_len, 1, cap - page_len, f)) > 0) {
        page_len += n;
        if (page_len == cap) {
            char *more = realloc(page, cap *= 2);
            if (!more)
                interop_fail("out of memory");
            page = more;
        }
    }
    if (!page || ferror(f))
        interop_fail("cannot read %s", path);
    fclose(f);
}

static zws_server *srv;

static void on_open(zws_ws *ws)
{
    printf("ext: %s\n", zws_ws_extensions(ws));
    interop_tally *t = calloc(1, sizeof *t);
    if (!t)
        interop_fail("out of memory");
    zws_ws_set_user(ws, t);
}

static void on_message(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len)
{
    if (opcode == ZWS_OP_TEXT && len >= 7 && len < 4096 && memcmp(data, "RESULT ", 7) == 0) {
        printf("%.*s\n", (int)len, (const char *)data);
        return;
    }
    interop_tally_note(zws_ws_user(ws), zws_ws_extensions(ws), len, zws_ws_compressed(ws));
    zws_ws_send(ws, opcode, data, len);
}

/* How the page's messages came, once its socket is gone. */
static void on_close(zws_ws *ws, uint16_t code, const char *reason, size_t len)
{
    (void)code;
    (void)reason;
    (void)len;
    interop_tally *t = zws_ws_user(ws);
    if (t->messages) {
        char v[256];
        interop_tally_verdict(t, v, sizeof v);
        printf("received: %s\n", v);
    }
    free(t);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* GET /result?TEXT: the page's verdict when its WebSocket is gone. */
static void on_result(void *ud, const zws_handshake_request *req, zws_http_reply *reply)
{
    (void)ud;
    const char *q = memchr(req->path, '?', req->path_len);
    char out[4096] = "";
    size_t n = 0;
    if (q) {
        const char *end = req->path + req->path_len;
        for (q++; q < end && n + 1 < sizeof out; q++) {
            int hi, lo;
            if (*q == '%' && end - q >= 3 && (hi = hexval(q[1])) >= 0 &&
                (lo = hexval(q[2])) >= 0) {
                out[n++] = (char)(hi * 16 + lo);
                q += 2;
            } else {
                out[n++] = *q;
            }
        }
    }
    printf("RESULT %.*s\n", (int)n, out);
    reply->body = "noted\n";
    reply->body_len = 6;
}

static void on_page(void *ud, const zws_handshake_request *req, zws_http_reply *reply)
{
    (void)ud;
    (void)req;
    reply->content_type = "text/html; charset=utf-8";
    reply->body = page;
    reply->body_len = page_len;
}

static void on_signal(int sig)
{
    (void)sig;
    zws_server_stop(srv);
}

int main(int argc, char **argv)
{
    interop_prog = "browser_server";
    const char *host = "127.0.0.1", *page_path = NULL;
    long port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--page") == 0)
            page_path = argv[i + 1];
        else
            interop_fail("unknown option %s", argv[i]);
    }
    if (!page_path) {
        fprintf(stderr, "usage: browser_server --page HTML [--host ADDR] [--port N]\n");
        return 2;
    }
    load_page(page_path);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *spec = getenv("ZWS_INTEROP_DEFLATE");
    if (!spec || !*spec)
        setenv("ZWS_INTEROP_DEFLATE", "on", 1);
    zws_opts *o;
    if (zws_opts_new(&o))
        interop_fail("out of memory");
    interop_opts_from_env(o);
    char err[256];
    int r = zws_server_new(&srv, o, err, sizeof err);
    zws_opts_free(o);
    if (r)
        interop_fail("server: %s: %s", zws_errname(r), err);
    zws_handlers h = {.open = on_open, .message = on_message, .close = on_close};
    if (zws_server_route(srv, "/ws", &h, NULL) || zws_server_http_route(srv, "/", on_page, NULL) ||
        zws_server_http_route(srv, "/result", on_result, NULL))
        interop_fail("route");
    if ((r = zws_server_listen(srv, host, (uint16_t)port, err, sizeof err)))
        interop_fail("listen on %s:%ld: %s", host, port, err);
    printf("listening on %u\n", (unsigned)zws_server_port(srv));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    r = zws_server_run(srv, 1);
    fprintf(stderr, "%s: stopped (%s backend)%s\n", interop_prog, zws_server_backend(srv),
            r ? ", with an error" : "");
    zws_server_free(srv);
    free(page);
    return r ? 1 : 0;
}
