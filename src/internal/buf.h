/* zws_buf internals: the parser assembles messages directly in a zws_buf so
 * that handing one over (zws_parser_detach) needs no copy. */
#ifndef ZWS_INTERNAL_BUF_H
#define ZWS_INTERNAL_BUF_H

#include <stdatomic.h>

#include "zws/buf.h"

struct zws_buf {
    atomic_size_t refs;
    size_t len;     /* bytes in use */
    size_t cap;     /* bytes allocated after the header */
    _Alignas(16) uint8_t data[];
};

/* Resizes a buffer nobody else references to hold at least cap bytes (keeps
 * len and contents). b may be NULL (then a new one with len 0). Returns the
 * possibly moved buffer, or NULL when out of memory (b is then unchanged). */
zws_buf *zws__buf_reserve(zws_buf *b, size_t cap);

#endif
