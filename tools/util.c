/* Helpers shared by the zws subcommands: usage errors, numbers, message
 * output, signals. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/* The one piece of global state: a signal handler can reach nothing else. */
static volatile sig_atomic_t stop_signal;

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "zws %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'zws %s --help'.\n", cmd);
    return TOOL_EXIT_USAGE;
}

int tool_bad_option(const char *cmd, int c, char **argv, int prev_optind)
{
    /* optind moves past an argument once all of it is read: in the middle
     * of a bundle such as -xv it still points at the bundle. */
    const char *arg = optind > prev_optind ? argv[optind - 1] : argv[optind];
    if (strncmp(arg, "--", 2) == 0) {
        int len = (int)strcspn(arg, "=");
        if (c == ':')
            return tool_usage_error(cmd, "option '%.*s' needs a value", len, arg);
        if (optopt) /* a known option that takes no value was given one */
            return tool_usage_error(cmd, "option '%.*s' takes no value", len, arg);
        return tool_usage_error(cmd, "unknown option '%.*s'", len, arg);
    }
    if (c == ':')
        return tool_usage_error(cmd, "option '-%c' needs a value", optopt);
    return tool_usage_error(cmd, "unknown option '-%c'", optopt);
}

int tool_parse_u64(const char *s, uint64_t max, int suffixes, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1; /* strtoull would take "-1", " 1" and "" */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    if (suffixes && *end) {
        const char *units = "kmg", *u = strchr(units, *end | 0x20);
        if (!u || end[1])
            return -1;
        shift = 10u * (unsigned)(u - units + 1);
        end++;
    }
    if (*end || v > (max >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

void tool_print_hex(FILE *f, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char chunk[512];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        chunk[n++] = digits[data[i] >> 4];
        chunk[n++] = digits[data[i] & 15];
        if (n == sizeof chunk) {
            fwrite(chunk, 1, n, f);
            n = 0;
        }
    }
    fwrite(chunk, 1, n, f);
}

size_t tool_base64(char *out, const uint8_t *in, size_t len)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < len ? a[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static void print_base64(FILE *f, const uint8_t *data, size_t len)
{
    char chunk[4 * 128 + 1];
    for (size_t i = 0; i < len; i += 3 * 128) {
        size_t n = len - i < 3 * 128 ? len - i : 3 * 128;
        fwrite(chunk, 1, tool_base64(chunk, data + i, n), f);
    }
}

int tool_hex_decode(uint8_t *out, const char *hex, size_t len)
{
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                         : -1;
        if (v < 0 && (c == ' ' || c == ':'))
            continue; /* "41 5a" and "41:5a" read as "415a" */
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (int)n : -1;
}

void tool_print_message(FILE *f, unsigned opcode, const uint8_t *data, size_t len,
                        unsigned how)
{
    if (opcode == ZWS_OP_BINARY && (how & TOOL_SHOW_RAW)) {
        fwrite(data, 1, len, f);
        return;
    }
    if (opcode == ZWS_OP_BINARY) {
        int b64 = (how & TOOL_SHOW_BASE64) != 0;
        fprintf(f, "[binary %zu byte%s%s]%s", len, len == 1 ? "" : "s", b64 ? ", base64" : "",
                len ? " " : "");
        if (b64)
            print_base64(f, data, len);
        else
            tool_print_hex(f, data, len);
    } else {
        fwrite(data, 1, len, f);
    }
    fputc('\n', f);
}

int64_t tool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int stop_pipe[2] = {-1, -1};

static void on_stop(int sig)
{
    int saved = errno;
    stop_signal = sig;
    if (stop_pipe[1] >= 0) {
        ssize_t n = write(stop_pipe[1], "", 1); /* full pipe: already readable */
        (void)n;
    }
    errno = saved;
}

int tool_catch_stop_signals(int once)
{
    int r = 0;
    if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        stop_pipe[0] = stop_pipe[1] = -1;
        r = -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = once ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return r;
}

int tool_stop_signal(void) { return stop_signal; }

int tool_stop_fd(void) { return stop_pipe[0]; }

int tool_standard_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* the lowest free descriptor: fd itself, as the ones below are open */
        if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0)
            return -1;
    }
    return 0;
}

int tool_flush_stdout(const char *cmd)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    int e = errno;
    fprintf(stderr, "zws %s: writing stdout: %s\n", cmd, strerror(e));
    return -1;
}
