/* A chat server on the zws event loop: every message a client sends goes
 * to everyone in its room (the path: ws://host:9000/room/lobby), the
 * sender included, and GET /health answers "ok". Copy it and change what
 * the handlers do.
 *
 *   cc chat_server.c $(pkg-config --cflags --libs zws) -o chat_server
 *   ./chat_server 9000
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zws/zws.h>

static zws_server *srv;

/* Accept only /room/<name>; the room name becomes the connection's data. */
static int on_upgrade(void *ud, zws_upgrade *u, void **user)
{
    (void)ud;
    const char *p = u->request->path;
    size_t n = u->request->path_len;
    if (n <= 6 || strncmp(p, "/room/", 6) != 0 || n - 6 > 200) {
        u->reason = "rooms are /room/NAME";
        return 404;
    }
    char *room = malloc(n - 6 + 1); /* freed in on_close */
    if (!room)
        return 503;
    memcpy(room, p + 6, n - 6);
    room[n - 6] = 0;
    *user = room;
    return 0;
}

static void on_open(zws_ws *ws)
{
    const char *room = zws_ws_user(ws);
    zws_ws_subscribe(ws, room);
    char hello[256];
    int n = snprintf(hello, sizeof hello, "* someone joined %s", room);
    zws_server_publish(zws_ws_server(ws), room, hello, (size_t)n, ZWS_OP_TEXT);
}

/* data is borrowed: publish copies it into one frame for the whole room. */
static void on_message(zws_ws *ws, unsigned opcode, const uint8_t *data, size_t len)
{
    zws_server_publish(zws_ws_server(ws), zws_ws_user(ws), data, len, opcode);
}

static void on_close(zws_ws *ws, uint16_t code, const char *reason, size_t len)
{
    (void)code;
    (void)reason;
    (void)len;
    free(zws_ws_user(ws));
}

static void health(void *ud, const zws_handshake_request *req, zws_http_reply *reply)
{
    (void)ud;
    (void)req;
    reply->body = "ok\n";
    reply->body_len = 3;
}

static void on_signal(int sig)
{
    (void)sig;
    zws_server_stop(srv); /* safe in a signal handler */
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 9000;
    char err[256];
    if (zws_server_new(&srv, NULL, err, sizeof err)) {
        fprintf(stderr, "chat_server: %s\n", err);
        return 1;
    }
    zws_handlers h = {
        .upgrade = on_upgrade, .open = on_open, .message = on_message, .close = on_close};
    zws_server_route(srv, "*", &h, NULL);
    zws_server_http_route(srv, "/health", health, NULL);
    if (zws_server_listen(srv, NULL, (uint16_t)port, err, sizeof err)) {
        fprintf(stderr, "chat_server: %s\n", err);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("chat on ws://localhost:%u/room/NAME (%s)\n", zws_server_port(srv),
           zws_server_backend(srv));
    fflush(stdout);
    int r = zws_server_run(srv, 0); /* one loop per core, until a signal */
    zws_server_free(srv);
    return r ? 1 : 0;
}
