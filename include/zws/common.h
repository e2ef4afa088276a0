/* zws — common definitions: export macro, version, error codes, protocol enums.
 *
 * Error convention: functions return int; 0 (or a non-negative count) on
 * success and a negative ZWS_E... code on failure. zws_strerror() describes a
 * code, zws_errname() names it. */
#ifndef ZWS_COMMON_H
#define ZWS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define ZWS_EXTERN __attribute__((visibility("default")))
#else
#define ZWS_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define ZWS_VERSION_MAJOR 0
#define ZWS_VERSION_MINOR 1
#define ZWS_VERSION_PATCH 0
#define ZWS_VERSION_STRING "0.1.0"
#define ZWS_VERSION_HEX                                                        \
    ((ZWS_VERSION_MAJOR << 16) | (ZWS_VERSION_MINOR << 8) | ZWS_VERSION_PATCH)

/* Run-time version: ZWS_VERSION_HEX of the library actually loaded. */
ZWS_EXTERN unsigned zws_version(void);
/* Static string, never freed. */
ZWS_EXTERN const char *zws_version_string(void);

/* XX(name, value, description). Retryable codes: ZWS_EAGAIN, ZWS_ETIMEDOUT.
 * Everything else is fatal for the object that returned it. */
#define ZWS_ERRNO_MAP(XX)                                                      \
    XX(NOMEM, -1, "out of memory")                                             \
    XX(INVAL, -2, "invalid argument")                                          \
    XX(PROTO, -3, "WebSocket protocol violation")                              \
    XX(UTF8, -4, "invalid UTF-8 in a text message or close reason")            \
    XX(TOOBIG, -5, "frame or message exceeds the configured limit")            \
    XX(SIMD, -6, "ZWS_SIMD names a kernel that is unknown or unsupported")     \
    XX(STATE, -7, "operation not valid in the current state")                  \
    XX(NOSPACE, -8, "output buffer too small")                                 \
    XX(AGAIN, -9, "operation would block; try again")                          \
    XX(TIMEDOUT, -10, "operation timed out")                                   \
    XX(CLOSED, -11, "connection closed")                                       \
    XX(IO, -12, "I/O error")                                                   \
    XX(EXT, -13, "extension failed to transform a message")                   \
    XX(URL, -14, "malformed or unsupported URL")                               \
    XX(RESOLVE, -15, "could not resolve the host name")                        \
    XX(CONNECT, -16, "could not connect")                                      \
    XX(TLS, -17, "TLS failure (handshake or certificate verification)")        \
    XX(HANDSHAKE, -18, "WebSocket handshake failed or was refused")            \
    XX(HTTP, -19, "malformed HTTP message")                                    \
    XX(PROXY, -20, "HTTP proxy refused or failed the CONNECT")                 \
    XX(LIMIT, -21, "refused: over a per-address connection limit")

enum zws_errno {
#define ZWS__ERR_ENUM(name, val, desc) ZWS_E##name = (val),
    ZWS_ERRNO_MAP(ZWS__ERR_ENUM)
#undef ZWS__ERR_ENUM
};

/* Static strings, never freed. Unknown codes give "unknown error" / "UNKNOWN". */
ZWS_EXTERN const char *zws_strerror(int err);
ZWS_EXTERN const char *zws_errname(int err);

/* Frame opcodes (RFC 6455 §5.2). */
enum zws_opcode {
    ZWS_OP_CONT = 0x0,
    ZWS_OP_TEXT = 0x1,
    ZWS_OP_BINARY = 0x2,
    ZWS_OP_CLOSE = 0x8,
    ZWS_OP_PING = 0x9,
    ZWS_OP_PONG = 0xA
};

/* Which end of the connection this object is. Servers receive masked frames
 * and send unmasked ones; clients the opposite. */
enum zws_role { ZWS_ROLE_SERVER = 0, ZWS_ROLE_CLIENT = 1 };

/* Close status codes (RFC 6455 §7.4.1 and the IANA registry). */
enum zws_close_code {
    ZWS_CLOSE_NORMAL = 1000,
    ZWS_CLOSE_GOING_AWAY = 1001,
    ZWS_CLOSE_PROTOCOL = 1002,
    ZWS_CLOSE_UNSUPPORTED = 1003,
    ZWS_CLOSE_NO_STATUS = 1005,   /* never on the wire: close had no code */
    ZWS_CLOSE_ABNORMAL = 1006,    /* never on the wire: no close frame seen */
    ZWS_CLOSE_INVALID_DATA = 1007,
    ZWS_CLOSE_POLICY = 1008,
    ZWS_CLOSE_TOO_BIG = 1009,
    ZWS_CLOSE_MANDATORY_EXT = 1010,
    ZWS_CLOSE_INTERNAL = 1011,
    ZWS_CLOSE_SERVICE_RESTART = 1012,
    ZWS_CLOSE_TRY_AGAIN = 1013,
    ZWS_CLOSE_BAD_GATEWAY = 1014,
    ZWS_CLOSE_TLS = 1015          /* never on the wire */
};

/* 1 if code may appear in a close frame on the wire: 1000-1003, 1007-1014,
 * 3000-4999. 0 otherwise (0-999, 1004-1006, 1015-2999, >= 5000). */
ZWS_EXTERN int zws_close_code_valid(unsigned code);

/* Memory: every allocation the library makes goes through these. Set them
 * once, before any other zws call; NULL arguments restore the C library's.
 * realloc_fn must accept NULL like realloc(3). */
ZWS_EXTERN void zws_set_allocator(void *(*malloc_fn)(size_t),
                                  void *(*realloc_fn)(void *, size_t),
                                  void (*free_fn)(void *));

#ifdef __cplusplus
}
#endif
#endif
