/* The zws command: what the subcommands (tools/<name>.c) share.
 *
 * Every subcommand is int cmd_<name>(int argc, char **argv), called with
 * argv[0] = "<name>", returning the process exit status, plus
 * cmd_<name>_usage(FILE *) for --help and "zws help <name>". Add new ones to
 * the table in main.c. */
#ifndef ZWS_TOOL_H
#define ZWS_TOOL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "zws/conn.h"

/* Exit statuses (DESIGN.md, "The zws command"). */
enum {
    TOOL_EXIT_OK = 0,       /* done */
    TOOL_EXIT_USAGE = 1,    /* bad command line */
    TOOL_EXIT_CONNECT = 2,  /* could not connect, or the handshake was refused */
    TOOL_EXIT_PROTOCOL = 3, /* the peer broke the protocol, or vanished without
                               a closing handshake */
    TOOL_EXIT_OUTPUT = 4,   /* stdout could not be written (disk full, a
                               closed pipe...) */
    TOOL_EXIT_PEER_CLOSE = 5, /* client: the server closed with a code other
                                 than 1000, 1001 or none */
    TOOL_EXIT_UNSENT = 6    /* client: input that was not sent (a line not
                               valid UTF-8, or too long) */
};

int cmd_client(int argc, char **argv);
void cmd_client_usage(FILE *f);
int cmd_server(int argc, char **argv);
void cmd_server_usage(FILE *f);
int cmd_serve(int argc, char **argv);
void cmd_serve_usage(FILE *f);
int cmd_bench(int argc, char **argv);
void cmd_bench_usage(FILE *f);
int cmd_feed(int argc, char **argv);
void cmd_feed_usage(FILE *f);
int cmd_md(int argc, char **argv);
void cmd_md_usage(FILE *f);

struct zws_md_feed_stats;
/* The feed's summary: lines for people, or one JSON object. */
void tool_feed_summary(FILE *f, const struct zws_md_feed_stats *s, double secs, int json);

/* Prints "zws CMD: <message>" and a hint to run --help on stderr; returns
 * TOOL_EXIT_USAGE. */
int tool_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Turns getopt_long's ':' (missing value) or '?' (unknown option, or a
 * value given to an option that takes none) into a usage error naming the
 * option. Parse with opterr = 0 and an optstring starting with ':'; before
 * each getopt_long call, note optind: that is prev_optind. */
int tool_bad_option(const char *cmd, int c, char **argv, int prev_optind);

/* Parses a decimal number no larger than max. With suffixes, "k", "m" and
 * "g" (either case) multiply by 1024, 1024^2, 1024^3. Returns 0 or -1. */
int tool_parse_u64(const char *s, uint64_t max, int suffixes, uint64_t *out);

/* How tool_print_message shows binary messages. */
#define TOOL_SHOW_RAW 0x1u    /* the bytes exactly, nothing added */
#define TOOL_SHOW_BASE64 0x2u /* base64 instead of hex */

/* Writes one received message to f and a newline: text as is; binary as
 * "[binary N bytes] " and lowercase hex (or base64), so it cannot pass for
 * a text message of hex digits; or, with TOOL_SHOW_RAW, its bytes exactly
 * and nothing else. Does not flush. */
void tool_print_message(FILE *f, unsigned opcode, const uint8_t *data, size_t len,
                        unsigned how);
/* Lowercase hex of data, nothing added. */
void tool_print_hex(FILE *f, const uint8_t *data, size_t len);
/* Base64 (RFC 4648, padded) of in into out (room for 4 * ((len + 2) / 3) + 1
 * bytes), NUL-terminated; returns its length. */
size_t tool_base64(char *out, const uint8_t *in, size_t len);
/* Hex digits (either case; spaces and ':' between bytes ignored) into out
 * (room for len / 2 bytes); returns the byte count, or -1 for anything
 * else or an odd digit count. */
int tool_hex_decode(uint8_t *out, const char *hex, size_t len);

/* Monotonic clock in nanoseconds. */
int64_t tool_now_ns(void);

/* SIGINT and SIGTERM set a flag instead of killing the process, and make
 * tool_stop_fd() readable, so a poll() that includes it wakes even when the
 * signal came just before the call. once: the handler is reset after the
 * first signal, so a second one kills as usual. Returns 0 or -1 (no pipe). */
int tool_catch_stop_signals(int once);
/* The signal that arrived (0: none yet). */
int tool_stop_signal(void);
/* Readable once a stop signal arrived (-1 before tool_catch_stop_signals). */
int tool_stop_fd(void);

/* Opens /dev/null on any of fds 0, 1, 2 that is closed, so no socket opened
 * later can become stdin or stdout. Returns 0 or -1. */
int tool_standard_fds(void);

/* Flushes stdout; on a write error, says so on stderr and returns -1. */
int tool_flush_stdout(const char *cmd);

#endif
