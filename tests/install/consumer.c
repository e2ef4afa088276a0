/* Uses the installed headers and library: frames a message and parses it. */
#include <stdio.h>
#include <string.h>
#include <zws/zws.h>

int main(void)
{
    zws_writer *w;
    zws_parser *p;
    if (zws_writer_new(&w, ZWS_ROLE_CLIENT) || zws_parser_new(&p, ZWS_ROLE_SERVER))
        return 1;
    if (zws_writer_put(w, ZWS_OP_TEXT, "installed", 9, 0))
        return 1;
    size_t n, used;
    const uint8_t *out = zws_writer_pending(w, &n);
    uint8_t buf[64];
    memcpy(buf, out, n);
    zws_event ev;
    int r = zws_parser_next(p, buf, n, &used, &ev);
    int ok = r == ZWS_EV_MESSAGE && ev.len == 9 && memcmp(ev.data, "installed", 9) == 0;
    printf("%s zws %s\n", ok ? "ok" : "FAILED", zws_version_string());
    zws_parser_free(p);
    zws_writer_free(w);
    return ok ? 0 : 1;
}
