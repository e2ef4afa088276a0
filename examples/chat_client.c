/* A chat client on zws's blocking API: lines from stdin go to the room,
 * messages from the room go to stdout.
 *
 *   cc chat_client.c $(pkg-config --cflags --libs zws) -o chat_client
 *   ./chat_client ws://localhost:9000/room/lobby
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zws/zws.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: chat_client ws://HOST:PORT/room/NAME\n");
        return 1;
    }
    zws_conn *c;
    char err[256];
    if (zws_connect(&c, argv[1], NULL, err, sizeof err)) {
        fprintf(stderr, "chat_client: %s\n", err);
        return 2;
    }
    char line[4096];
    for (;;) {
        /* zws may hold a whole frame already: ask it before waiting */
        struct pollfd p[2] = {{0, POLLIN, 0}, {zws_conn_fd(c), POLLIN, 0}};
        if (!zws_conn_readable(c) && poll(p, 2, -1) < 0)
            break;
        if (zws_conn_readable(c) || (p[1].revents & (POLLIN | POLLHUP))) {
            zws_event ev;
            int r = zws_recv(c, &ev);
            if (r == ZWS_EV_MESSAGE) /* a view: valid until the next zws call */
                printf("%.*s\n", (int)ev.len, (const char *)ev.data);
            else if (r < 0 || r == ZWS_EV_CLOSE)
                break;
            fflush(stdout);
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            if (!fgets(line, sizeof line, stdin))
                break;
            line[strcspn(line, "\n")] = 0;
            if (zws_send(c, ZWS_OP_TEXT, line, strlen(line), 0))
                break;
        }
    }
    zws_close(c, 1000, NULL);
    zws_conn_free(c);
    return 0;
}
