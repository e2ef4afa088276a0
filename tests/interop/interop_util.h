/* Helpers shared by the interop drivers (interop_client.c, interop_server.c).
 *
 * The drivers talk to real peers (Node's ws, Python's websockets) through a
 * tiny text protocol on top of plain echo; see README.md in this folder. */
#ifndef ZWS_INTEROP_UTIL_H
#define ZWS_INTEROP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <zws/common.h>
#include <zws/conn.h>

/* Prefix of a control message: never the start of a generated payload. */
#define INTEROP_CMD "#cmd "

/* Prints "<prog>: FAIL: <message>" to stderr and exits 1. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
_Noreturn void interop_fail(const char *fmt, ...);

/* Set once by main; prefixes every diagnostic. */
extern const char *interop_prog;

/* Filled with len bytes: a pseudo-random pattern seeded by seed. */
void interop_fill_binary(uint8_t *p, size_t len, uint32_t seed);
/* Filled with exactly len bytes of valid UTF-8 mixing 1- to 4-byte code
 * points, so a peer that splits or validates text badly shows it. */
void interop_fill_text(uint8_t *p, size_t len, uint32_t seed);

/* Describes where a and b first differ (for failure messages). */
const char *interop_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* permessage-deflate and the message limit from the environment, for the
 * deflate tests (README.md, "Compression"):
 *   ZWS_INTEROP_DEFLATE      unset or "off": compression off; "on": on with
 *                            the defaults; else a comma list of scnt, ccnt,
 *                            sbits=N, cbits=N, threshold=N, level=N
 *   ZWS_INTEROP_MAX_MESSAGE  max_frame and max_message, in bytes
 * Applies them to o; a malformed value ends the program (status 1). */
void interop_opts_from_env(zws_opts *o);

/* Checks an agreed extension (zws_conn_extensions, zws_ws_extensions)
 * against ZWS_INTEROP_EXPECT ("none" for no extension; unset: no check).
 * NULL when it matches, else a static sentence saying both. */
const char *interop_ext_mismatch(const char *got);

/* Which of the peer's data messages came compressed (RSV1: ev.rsv &
 * ZWS_RSV1, zws_ws_compressed), checked against what the peer should do:
 * with an extension agreed, compress every message at least its threshold
 * long (threshold=N of ZWS_INTEROP_PEER_DEFLATE, 0 unless given: Node's ws
 * as pmd.js configures it, and websockets, which compresses everything);
 * without one, none. One tally per connection; zero it to start. */
typedef struct interop_tally {
    size_t messages, compressed;
    char bad[160]; /* the first message that broke the rule, "" if none */
} interop_tally;
void interop_tally_note(interop_tally *t, const char *extensions, size_t len, int compressed);
/* "ok: N of M messages came compressed ..." or "bad: ..." naming the first
 * message that broke the rule, into out (n bytes). */
void interop_tally_verdict(const interop_tally *t, char *out, size_t n);

int64_t interop_now_ms(void);
void interop_sleep_ms(int ms);

#endif
