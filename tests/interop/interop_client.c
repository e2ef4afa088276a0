/* interop_client: the "our client" half of the interop tests. Connects with
 * zws_connect to a peer's server (Node's ws or Python's websockets, started
 * by run.sh) and runs one scenario against it:
 *
 *   interop_client URL SCENARIO [--ca PEM] [--expect-error TEXT]
 *
 * Compression and the message limit come from the environment
 * (ZWS_INTEROP_DEFLATE, ZWS_INTEROP_MAX_MESSAGE); every connection checks
 * the extension agreed against ZWS_INTEROP_EXPECT when it is set.
 *
 * The peer echoes every message and obeys the "#cmd" lines of README.md.
 * Every mismatch ends the program with status 1 and one line saying what was
 * expected and what came; an alarm bounds the whole run. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zws/conn.h>
#include <zws/writer.h>

#include "interop_util.h"

#define RUN_LIMIT_S 60
#define READ_TIMEOUT_MS 30000
#define REPORT_WAIT_MS 5000

static const char *url;
static const char *ca_file;
static const char *proxy; /* --proxy: an HTTP proxy to go through */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "interop_client: FAIL: scenario did not finish in time\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

static zws_conn *open_conn(void)
{
    zws_opts *o;
    if (zws_opts_new(&o))
        interop_fail("out of memory");
    zws_opts_set_timeout(o, ZWS_TIMEOUT_READ, READ_TIMEOUT_MS);
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, 10000);
    zws_opts_set_surface_control(o, 1);
    if (ca_file && zws_opts_set_ca_file(o, ca_file))
        interop_fail("zws_opts_set_ca_file failed");
    /* The tests talk to 127.0.0.1 only: a proxy from the environment would
     * send them elsewhere; --proxy names the test's own proxy. */
    zws_opts_set_proxy(o, proxy ? proxy : "");
    interop_opts_from_env(o);
    zws_conn *c;
    char err[512];
    int r = zws_connect(&c, url, o, err, sizeof err);
    zws_opts_free(o);
    if (r)
        interop_fail("zws_connect(%s): %s: %s", url, zws_errname(r), err);
    const char *bad = interop_ext_mismatch(zws_conn_extensions(c));
    if (bad)
        interop_fail("zws_connect(%s): %s", url, bad);
    return c;
}

static void send_or_die(zws_conn *c, unsigned opcode, const void *d, size_t len,
                        unsigned flags, const char *what)
{
    int r = zws_send(c, opcode, d, len, flags);
    if (r)
        interop_fail("%s: zws_send: %s", what, zws_errname(r));
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void cmd(zws_conn *c, const char *fmt, ...)
{
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "%s", INTEROP_CMD);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    send_or_die(c, ZWS_OP_TEXT, line, strlen(line), 0, line);
}

static const char *type_name(int r)
{
    switch (r) {
    case ZWS_EV_MESSAGE: return "message";
    case ZWS_EV_PING: return "ping";
    case ZWS_EV_PONG: return "pong";
    case ZWS_EV_CLOSE: return "close";
    default: return zws_errname(r);
    }
}

/* The next event, which must be of the given type. */
static void expect_event(zws_conn *c, int type, zws_event *ev, const char *what)
{
    int r = zws_recv(c, ev);
    if (r == type)
        return;
    if (r == ZWS_EV_CLOSE)
        interop_fail("%s: expected a %s, got the peer's close %u '%.*s'", what,
                     type_name(type), ev->close_code, (int)ev->reason_len,
                     ev->reason ? ev->reason : "");
    if (r < 0)
        interop_fail("%s: expected a %s, zws_recv failed: %s (close code %u)", what,
                     type_name(type), zws_errname(r), ev->close_code);
    interop_fail("%s: expected a %s, got a %s", what, type_name(type), type_name(r));
}

/* The echoes expect_message has seen since scenario_pmd zeroed it. */
static interop_tally echoes;

static void expect_message(zws_conn *c, unsigned opcode, const void *d, size_t len,
                           const char *what, zws_event *out)
{
    zws_event ev;
    expect_event(c, ZWS_EV_MESSAGE, &ev, what);
    if (ev.opcode != opcode)
        interop_fail("%s: opcode %u, expected %u", what, ev.opcode, opcode);
    if (ev.len != len || (len && memcmp(ev.data, d, len) != 0))
        interop_fail("%s: echo differs: %s", what, interop_diff(ev.data, ev.len, d, len));
    interop_tally_note(&echoes, zws_conn_extensions(c), ev.len, (ev.rsv & ZWS_RSV1) != 0);
    if (out)
        *out = ev;
}

static void expect_text(zws_conn *c, const char *s, const char *what)
{
    expect_message(c, ZWS_OP_TEXT, s, strlen(s), what, NULL);
}

/* Asks the server, on a new connection, how the connection it knows as tag
 * ended; waits while it says "pending" (its close may be a moment behind
 * ours). Returns a static string. */
static const char *report_of(const char *tag)
{
    static char out[256];
    zws_conn *c = open_conn();
    int64_t until = interop_now_ms() + REPORT_WAIT_MS;
    for (;;) {
        cmd(c, "report %s", tag);
        zws_event ev;
        expect_event(c, ZWS_EV_MESSAGE, &ev, "report");
        snprintf(out, sizeof out, "%.*s", (int)ev.len, (const char *)ev.data);
        if (strcmp(out, "pending") != 0 || interop_now_ms() > until)
            break;
        interop_sleep_ms(50);
    }
    zws_close(c, 1000, NULL);
    zws_conn_free(c);
    return out;
}

static void make_tag(char *tag, size_t n, const char *what)
{
    static int seq;
    snprintf(tag, n, "zws-%ld-%s-%d", (long)getpid(), what, ++seq);
}

static void close_ok(zws_conn *c, uint16_t code, const char *reason, const char *what)
{
    int r = zws_close(c, code, reason);
    if (r)
        interop_fail("%s: zws_close(%u): %s", what, code, zws_errname(r));
    zws_conn_free(c);
}

/* ---- scenarios ---- */

/* Every size class of the frame header (7-bit, 16-bit and 64-bit lengths and
 * their edges), both opcodes, up to the 16 MiB default limit. */
static void sizes_on(zws_conn *c, size_t max)
{
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 65537, 1u << 20, 16u << 20};
    uint8_t *buf = malloc(max ? max : 1);
    if (!buf)
        interop_fail("out of memory");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i] > max)
            continue;
        for (unsigned opcode = ZWS_OP_TEXT; opcode <= ZWS_OP_BINARY; opcode++) {
            char what[64];
            snprintf(what, sizeof what, "%s %zu bytes", opcode == ZWS_OP_TEXT ? "text" : "binary",
                     sizes[i]);
            if (opcode == ZWS_OP_TEXT)
                interop_fill_text(buf, sizes[i], (uint32_t)i);
            else
                interop_fill_binary(buf, sizes[i], (uint32_t)i);
            send_or_die(c, opcode, buf, sizes[i], 0, what);
            expect_message(c, opcode, buf, sizes[i], what, NULL);
            printf("ok: %s echoed\n", what);
        }
    }
    free(buf);
}

static void scenario_sizes(size_t max)
{
    zws_conn *c = open_conn();
    sizes_on(c, max);
    close_ok(c, 1000, "sizes done", "sizes");
}

/* A text command whose one-line answer is returned (static). */
static const char *ask(zws_conn *c, const char *line)
{
    static char out[512];
    zws_event ev;
    cmd(c, "%s", line);
    expect_event(c, ZWS_EV_MESSAGE, &ev, line);
    snprintf(out, sizeof out, "%.*s", (int)ev.len, (const char *)ev.data);
    return out;
}

/* Compressed: the extension agreed as both sides see it (ours is checked
 * by open_conn), the sizes up to 1 MiB, then the peer's word on which of
 * our messages came compressed (those under our threshold must not), and
 * ours on the peer's echoes (interop_tally: every one, with threshold 0). */
static void scenario_pmd(void)
{
    zws_conn *c = open_conn();
    const char *want = getenv("ZWS_INTEROP_PEER_EXPECT");
    if (!want)
        want = getenv("ZWS_INTEROP_EXPECT");
    const char *got = ask(c, "ext");
    if (want && strcmp(got, strcmp(want, "none") == 0 ? "" : want) != 0)
        interop_fail("the peer says it agreed '%s', expected '%s'", got, want);
    printf("ok: extensions: ours '%s', the peer's '%s'\n", zws_conn_extensions(c), got);
    memset(&echoes, 0, sizeof echoes);
    sizes_on(c, 1u << 20);
    char v[256];
    interop_tally_verdict(&echoes, v, sizeof v);
    if (strncmp(v, "ok", 2) != 0)
        interop_fail("the peer's echoes: %s", v);
    printf("ok: the peer's echoes: %s\n", v);
    got = ask(c, "compressed");
    if (strncmp(got, "ok", 2) != 0)
        interop_fail("the peer on our compression: %s", got);
    printf("ok: the peer on our compression: %s\n", got);
    close_ok(c, 1000, "pmd done", "pmd");
}

/* A small compressed message that inflates past our limit
 * (ZWS_INTEROP_MAX_MESSAGE): 1009 at once, long before 64 MiB are inflated. */
static void scenario_bomb(void)
{
    char tag[64];
    make_tag(tag, sizeof tag, "bomb");
    zws_conn *c = open_conn();
    zws_event ev;
    cmd(c, "tag %s", tag);
    int64_t t0 = interop_now_ms();
    cmd(c, "big %u", 64u << 20);
    int r = zws_recv(c, &ev);
    int64_t ms = interop_now_ms() - t0;
    if (r != ZWS_ETOOBIG || ev.close_code != 1009)
        interop_fail("64 MiB of zeros, compressed: zws_recv gave %s (close %u), expected "
                     "ETOOBIG and 1009", type_name(r), ev.close_code);
    zws_conn_free(c);
    if (ms > 5000)
        interop_fail("the bomb took %lld ms to refuse", (long long)ms);
    const char *got = report_of(tag);
    if (strncmp(got, "1009", 4) != 0)
        interop_fail("zws failed the connection with 1009; the peer saw '%s'", got);
    printf("ok: 64 MiB of zeros refused with 1009 after %lld ms; the peer saw '%s'\n",
           (long long)ms, got);
}

/* We fragment; the peer reassembles and echoes in one piece. */
static void scenario_frag_send(void)
{
    zws_conn *c = open_conn();
    zws_event ev;

    /* One byte per frame: every multi-byte code point is split. */
    static const char text[] = "h\xc3\xa9llo \xe2\x9c\x93 w\xc3\xb6rld \xf0\x9d\x84\x9e!";
    size_t tlen = strlen(text);
    for (size_t i = 0; i < tlen; i++)
        send_or_die(c, i == 0 ? ZWS_OP_TEXT : ZWS_OP_CONT, text + i, 1,
                    i + 1 == tlen ? 0 : ZWS_WRITE_MORE, "text by bytes");
    expect_message(c, ZWS_OP_TEXT, text, tlen, "text sent one byte per frame", NULL);
    printf("ok: text sent one byte per frame\n");

    /* Empty first and last fragments. */
    send_or_die(c, ZWS_OP_TEXT, "", 0, ZWS_WRITE_MORE, "empty fragments");
    send_or_die(c, ZWS_OP_CONT, "abc", 3, ZWS_WRITE_MORE, "empty fragments");
    send_or_die(c, ZWS_OP_CONT, "", 0, 0, "empty fragments");
    expect_text(c, "abc", "empty first and last fragments");
    printf("ok: empty first and last fragments\n");

    /* A ping between the fragments of a message (RFC 6455 §5.4): the pong
     * and the echo both come back, the pong first. */
    size_t blen = 300000;
    uint8_t *bin = malloc(blen);
    if (!bin)
        interop_fail("out of memory");
    interop_fill_binary(bin, blen, 99);
    send_or_die(c, ZWS_OP_BINARY, bin, 100000, ZWS_WRITE_MORE, "binary part 1");
    if (zws_ping(c, "mid", 3))
        interop_fail("zws_ping between fragments failed");
    send_or_die(c, ZWS_OP_CONT, bin + 100000, 100000, ZWS_WRITE_MORE, "binary part 2");
    send_or_die(c, ZWS_OP_CONT, bin + 200000, 100000, 0, "binary part 3");
    expect_event(c, ZWS_EV_PONG, &ev, "pong for a ping between fragments");
    if (ev.len != 3 || memcmp(ev.data, "mid", 3) != 0)
        interop_fail("pong payload differs from the ping's");
    expect_message(c, ZWS_OP_BINARY, bin, blen, "binary in 3 fragments around a ping", NULL);
    printf("ok: binary in 3 fragments with a ping between them\n");
    free(bin);

    /* A large text message in 16 fragments at arbitrary byte offsets. */
    size_t big = 1u << 20;
    uint8_t *t = malloc(big);
    if (!t)
        interop_fail("out of memory");
    interop_fill_text(t, big, 5);
    size_t step = big / 16 + 3; /* not a multiple of any code point length */
    for (size_t off = 0; off < big; off += step) {
        size_t n = big - off < step ? big - off : step;
        send_or_die(c, off == 0 ? ZWS_OP_TEXT : ZWS_OP_CONT, t + off, n,
                    off + n == big ? 0 : ZWS_WRITE_MORE, "big text");
    }
    expect_message(c, ZWS_OP_TEXT, t, big, "1 MiB text in 16 fragments", NULL);
    printf("ok: 1 MiB text in 16 fragments\n");
    free(t);
    close_ok(c, 1000, "frag done", "frag-send");
}

/* The peer fragments; zws reassembles. */
static void scenario_frag_recv(void)
{
    zws_conn *c = open_conn();
    zws_event ev;
    static const char text[] = "fragments: h\xc3\xa9llo \xe2\x9c\x93 w\xc3\xb6rld "
                               "\xf0\x9d\x84\x9e and some more text to split";
    cmd(c, "frag 4");
    send_or_die(c, ZWS_OP_TEXT, text, strlen(text), 0, "text to fragment");
    expect_message(c, ZWS_OP_TEXT, text, strlen(text), "text echoed in 4 fragments", &ev);
    if (!(ev.flags & ZWS_EV_ASSEMBLED))
        interop_fail("text echo was not fragmented by the peer (no ZWS_EV_ASSEMBLED)");
    printf("ok: text echoed in 4 fragments\n");

    size_t blen = 200001;
    uint8_t *bin = malloc(blen);
    if (!bin)
        interop_fail("out of memory");
    interop_fill_binary(bin, blen, 3);
    cmd(c, "frag 3");
    send_or_die(c, ZWS_OP_BINARY, bin, blen, 0, "binary to fragment");
    expect_message(c, ZWS_OP_BINARY, bin, blen, "binary echoed in 3 fragments", &ev);
    if (!(ev.flags & ZWS_EV_ASSEMBLED))
        interop_fail("binary echo carries no ZWS_EV_ASSEMBLED");
    printf("ok: binary echoed in 3 fragments\n");

    /* Many small fragments, then an ordinary message: the parser must be
     * back to whole-frame delivery. */
    cmd(c, "frag 50");
    send_or_die(c, ZWS_OP_BINARY, bin, 5000, 0, "binary to fragment");
    expect_message(c, ZWS_OP_BINARY, bin, 5000, "binary echoed in 50 fragments", NULL);
    send_or_die(c, ZWS_OP_TEXT, "after", 5, 0, "after");
    expect_text(c, "after", "message after fragmented ones");
    printf("ok: 50 fragments, then a whole message\n");

    /* A ping between the peer's fragments: surfaced first, the message
     * assembled around it. */
    cmd(c, "frag 3 ping");
    send_or_die(c, ZWS_OP_TEXT, text, strlen(text), 0, "text to fragment");
    expect_event(c, ZWS_EV_PING, &ev, "the peer's ping between fragments");
    if (ev.len != 9 || memcmp(ev.data, "frag-ping", 9) != 0)
        interop_fail("ping between fragments: payload '%.*s'", (int)ev.len,
                     (const char *)ev.data);
    expect_message(c, ZWS_OP_TEXT, text, strlen(text), "text in 3 fragments around a ping",
                   NULL);
    printf("ok: text in 3 fragments with the peer's ping between them\n");
    free(bin);
    close_ok(c, 1000, "frag done", "frag-recv");
}

static void scenario_ping(void)
{
    zws_conn *c = open_conn();
    zws_event ev;
    uint8_t big[125];
    interop_fill_binary(big, sizeof big, 11);
    const struct {
        const void *d;
        size_t n;
    } pings[] = {{"zws-ping-1", 10}, {"", 0}, {big, sizeof big}};
    for (size_t i = 0; i < 3; i++) {
        if (zws_ping(c, pings[i].d, pings[i].n))
            interop_fail("zws_ping failed");
        expect_event(c, ZWS_EV_PONG, &ev, "pong");
        if (ev.len != pings[i].n || (ev.len && memcmp(ev.data, pings[i].d, ev.len) != 0))
            interop_fail("pong %zu: %s", i, interop_diff(ev.data, ev.len, pings[i].d, pings[i].n));
        printf("ok: our ping of %zu bytes answered with the same payload\n", pings[i].n);
    }
    cmd(c, "ping srv-ping-7");
    expect_event(c, ZWS_EV_PING, &ev, "the peer's ping");
    if (ev.len != 10 || memcmp(ev.data, "srv-ping-7", 10) != 0)
        interop_fail("peer's ping payload: %s",
                     interop_diff(ev.data, ev.len, (const uint8_t *)"srv-ping-7", 10));
    expect_text(c, "pong srv-ping-7", "the peer's word that our pong matched");
    printf("ok: the peer's ping answered by zws with the same payload\n");
    close_ok(c, 1000, "ping done", "ping");
}

static void scenario_close_client(void)
{
    const struct {
        uint16_t code;
        const char *reason;
    } cases[] = {{1000, "bye"}, {4000, "custom"}, {1001, ""}};
    for (size_t i = 0; i < 3; i++) {
        char tag[64], want[160];
        make_tag(tag, sizeof tag, "close-client");
        zws_conn *c = open_conn();
        cmd(c, "tag %s", tag);
        send_or_die(c, ZWS_OP_TEXT, "hello", 5, 0, "hello");
        expect_text(c, "hello", "echo before closing");
        close_ok(c, cases[i].code, cases[i].reason, "close-client");
        snprintf(want, sizeof want, "%u %s", cases[i].code, cases[i].reason);
        const char *got = report_of(tag);
        if (strcmp(got, want) != 0)
            interop_fail("we closed with '%s'; the peer saw '%s'", want, got);
        printf("ok: peer saw our close '%s'\n", want);
    }
}

static void scenario_close_server(void)
{
    const struct {
        uint16_t code;
        const char *reason;
    } cases[] = {{4000, "custom"}, {1000, "bye"}};
    for (size_t i = 0; i < 2; i++) {
        char tag[64], want[32];
        make_tag(tag, sizeof tag, "close-server");
        zws_conn *c = open_conn();
        zws_event ev;
        cmd(c, "tag %s", tag);
        cmd(c, "close %u %s", cases[i].code, cases[i].reason);
        expect_event(c, ZWS_EV_CLOSE, &ev, "the peer's close");
        if (ev.close_code != cases[i].code || ev.reason_len != strlen(cases[i].reason) ||
            memcmp(ev.reason, cases[i].reason, ev.reason_len) != 0)
            interop_fail("peer closed with %u '%s'; zws saw %u '%.*s'", cases[i].code,
                         cases[i].reason, ev.close_code, (int)ev.reason_len, ev.reason);
        int r = zws_recv(c, &ev);
        if (r != ZWS_ECLOSED)
            interop_fail("zws_recv after the close: %s, expected ECLOSED", type_name(r));
        zws_conn_free(c);
        /* zws answers a close by echoing its code (RFC 6455 §5.5.1). */
        snprintf(want, sizeof want, "%u", cases[i].code);
        const char *got = report_of(tag);
        if (strncmp(got, want, strlen(want)) != 0)
            interop_fail("the peer's close %s was answered, it says, with '%s'", want, got);
        printf("ok: peer's close %u '%s' seen; the peer saw our answer '%s'\n",
               cases[i].code, cases[i].reason, got);
    }
}

static void scenario_badutf8(void)
{
    char tag[64];
    make_tag(tag, sizeof tag, "badutf8");
    zws_conn *c = open_conn();
    zws_event ev;
    cmd(c, "tag %s", tag);
    cmd(c, "badutf8");
    int r = zws_recv(c, &ev);
    if (r != ZWS_EUTF8)
        interop_fail("a text frame with invalid UTF-8: zws_recv gave %s, expected EUTF8",
                     type_name(r));
    if (ev.close_code != 1007)
        interop_fail("invalid UTF-8 failed the connection with %u, expected 1007",
                     ev.close_code);
    r = zws_recv(c, &ev);
    if (r != ZWS_ECLOSED)
        interop_fail("zws_recv after the failure: %s, expected ECLOSED", type_name(r));
    zws_conn_free(c);
    const char *got = report_of(tag);
    if (strncmp(got, "1007", 4) != 0)
        interop_fail("zws failed the connection with 1007; the peer saw '%s'", got);
    printf("ok: invalid UTF-8 failed with 1007; the peer saw '%s'\n", got);
}

/* A message over the 16 MiB default limit fails the connection with 1009
 * (from the frame header: zws need not read the payload). */
static void scenario_toobig(void)
{
    char tag[64];
    make_tag(tag, sizeof tag, "toobig");
    zws_conn *c = open_conn();
    zws_event ev;
    cmd(c, "tag %s", tag);
    cmd(c, "big %u", (16u << 20) + 1);
    int r = zws_recv(c, &ev);
    if (r != ZWS_ETOOBIG)
        interop_fail("a message of 16 MiB + 1: zws_recv gave %s, expected ETOOBIG",
                     type_name(r));
    if (ev.close_code != 1009)
        interop_fail("too big failed the connection with %u, expected 1009", ev.close_code);
    zws_conn_free(c);
    const char *got = report_of(tag);
    if (strncmp(got, "1009", 4) != 0)
        interop_fail("zws failed the connection with 1009; the peer saw '%s'", got);
    printf("ok: 16 MiB + 1 failed with 1009; the peer saw '%s'\n", got);
}

/* A short tour for TLS and IPv6 runs. */
static void scenario_basic(void)
{
    scenario_sizes(1u << 20);
    zws_conn *c = open_conn();
    zws_event ev;
    if (zws_ping(c, "basic", 5))
        interop_fail("zws_ping failed");
    expect_event(c, ZWS_EV_PONG, &ev, "pong");
    printf("ok: ping answered\n");
    close_ok(c, 1000, "basic done", "basic");
}

static void scenario_connect_fail(const char *expect)
{
    zws_opts *o;
    if (zws_opts_new(&o))
        interop_fail("out of memory");
    zws_opts_set_timeout(o, ZWS_TIMEOUT_HANDSHAKE, 10000);
    zws_opts_set_proxy(o, proxy ? proxy : "");
    if (ca_file && zws_opts_set_ca_file(o, ca_file))
        interop_fail("zws_opts_set_ca_file failed");
    zws_conn *c;
    char err[512];
    int r = zws_connect(&c, url, o, err, sizeof err);
    zws_opts_free(o);
    if (r == 0) {
        zws_conn_free(c);
        interop_fail("zws_connect(%s) succeeded; expected a failure mentioning '%s'", url,
                     expect);
    }
    if (!strstr(err, expect))
        interop_fail("zws_connect failed with %s: '%s', which does not mention '%s'",
                     zws_errname(r), err, expect);
    printf("ok: zws_connect refused: %s: %s\n", zws_errname(r), err);
}

int main(int argc, char **argv)
{
    interop_prog = "interop_client";
    const char *expect_error = NULL;
    if (argc < 3) {
        fprintf(stderr, "usage: interop_client URL SCENARIO [--ca PEM] [--proxy URL] "
                        "[--expect-error TEXT]\n");
        return 2;
    }
    url = argv[1];
    const char *scenario = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--ca") == 0)
            ca_file = argv[i + 1];
        else if (strcmp(argv[i], "--proxy") == 0)
            proxy = argv[i + 1];
        else if (strcmp(argv[i], "--expect-error") == 0)
            expect_error = argv[i + 1];
        else
            interop_fail("unknown option %s", argv[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(RUN_LIMIT_S);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (strcmp(scenario, "sizes") == 0)
        scenario_sizes(16u << 20);
    else if (strcmp(scenario, "frag-send") == 0)
        scenario_frag_send();
    else if (strcmp(scenario, "frag-recv") == 0)
        scenario_frag_recv();
    else if (strcmp(scenario, "ping") == 0)
        scenario_ping();
    else if (strcmp(scenario, "close-client") == 0)
        scenario_close_client();
    else if (strcmp(scenario, "close-server") == 0)
        scenario_close_server();
    else if (strcmp(scenario, "badutf8") == 0)
        scenario_badutf8();
    else if (strcmp(scenario, "toobig") == 0)
        scenario_toobig();
    else if (strcmp(scenario, "pmd") == 0)
        scenario_pmd();
    else if (strcmp(scenario, "bomb") == 0)
        scenario_bomb();
    else if (strcmp(scenario, "basic") == 0)
        scenario_basic();
    else if (strcmp(scenario, "connect-fail") == 0 && expect_error)
        scenario_connect_fail(expect_error);
    else
        interop_fail("unknown scenario '%s' (connect-fail needs --expect-error)", scenario);
    printf("interop_client: %s: PASS\n", scenario);
    return 0;
}
