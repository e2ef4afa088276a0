/* A program that includes zws/zws.h and nothing else of zws's, linked to the
 * shared library: an event-loop echo server on a thread and a blocking
 * client that sends it a message with the options it documents. Exit 0 when
 * the echo comes back. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zws/zws.h>

static void on_message(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len)
{
    zws_ws_send(ws, opcode, data, len);
}

static void *run(void *srv)
{
    return zws_server_run(srv, 1) ? srv : NULL;
}

static int fail(const char *what, int r, const char *err)
{
    fprintf(stderr, "zws_h: %s: %s%s%s\n", what, zws_strerror(r), err ? ": " : "",
            err ? err : "");
    return 1;
}

int main(void)
{
    zws_server *srv;
    char err[256], url[64];
    const zws_handlers h = {.message = on_message};
    int r = zws_server_new(&srv, NULL, err, sizeof err);
    if (r)
        return fail("zws_server_new", r, err);
    if ((r = zws_server_route(srv, "*", &h, NULL)) ||
        (r = zws_server_listen(srv, "127.0.0.1", 0, err, sizeof err)))
        return fail("zws_server_listen", r, err);
    pthread_t t;
    if (pthread_create(&t, NULL, run, srv))
        return 1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", zws_server_port(srv));

    zws_opts *o;
    zws_conn *c = NULL;
    if ((r = zws_opts_new(&o)) || (r = zws_opts_set_origin(o, "https://zws.example")) ||
        (r = zws_opts_add_header(o, "X-Zws", "h")))
        return fail("options", r, NULL);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, 10000);
    r = zws_connect(&c, url, o, err, sizeof err);
    zws_opts_free(o);
    if (r)
        return fail("zws_connect", r, err);
    zws_event ev;
    if ((r = zws_send(c, ZWS_OP_TEXT, "he", 2, ZWS_WRITE_MORE)) ||
        (r = zws_send(c, ZWS_OP_CONT, "llo", 3, 0)))
        return fail("zws_send", r, NULL);
    r = zws_recv(c, &ev);
    int ok = r == ZWS_EV_MESSAGE && ev.len == 5 && memcmp(ev.data, "hello", 5) == 0;
    zws_close(c, ZWS_CLOSE_NORMAL, NULL);
    zws_conn_free(c);
    zws_server_stop(srv);
    void *rc;
    pthread_join(t, &rc);
    zws_server_free(srv);
    if (!ok)
        return fail("zws_recv", r < 0 ? r : 0, "no echo");
    printf("zws.h alone: echo ok (zws %s)\n", zws_version_string());
    return rc ? 1 : 0;
}
