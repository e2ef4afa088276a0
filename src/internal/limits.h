/* Limits against crowds of hostile peers, one mechanism for both drivers:
 * the event loop's server (loop/server.c) and the blocking listener
 * (conn.c) each hold one zws__limits and charge it the same way.
 *
 * Per client address (TCP peers; IPv4 as v4-mapped IPv6): connections in
 * the opening handshake and in all, counted from accept until the
 * handshake ends and until the connection is freed, in a hash table under
 * one lock. An address over a cap is refused at accept, before any of its
 * bytes is read.
 *
 * A memory budget across all connections for message assembly and buffered
 * output. A connection brings its charge up to date (zws__limits_charge)
 * whenever what it holds may have grown: before it reads a large frame's
 * payload into the buffer the frame's header reserved, and after input or
 * queued output. Over the budget, the connection that grew is failed: 1009
 * when its message is what grew, 1008 for its output
 * (the code from zws__session_budget_code). */
#ifndef ZWS_INTERNAL_LIMITS_H
#define ZWS_INTERNAL_LIMITS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal/session.h"

/* A connection's memory counts against the budget from this much on: the
 * small buffers every connection has stay out of it. */
#define ZWS__CHARGE_MIN (64u << 10)
/* Assembly buffers larger than this are freed between messages, so a
 * connection that once took a large message does not keep its charge. */
#define ZWS__TRIM_ABOVE (256u << 10)
#define ZWS__ADDR_BUCKETS 1024
#define ZWS__BUDGET_REASON "server memory budget reached"

typedef struct zws__addr_count zws__addr_count;

typedef struct zws__limits {
    atomic_int refs;
    int per_addr_hs, per_addr_conns; /* 0: no cap */
    size_t budget;                   /* bytes; 0: none */
    atomic_size_t used;              /* bytes charged now */
    atomic_size_t peak;              /* the most used has been (tests, benchmarks) */
    pthread_mutex_t lock;            /* the address table */
    zws__addr_count *b[ZWS__ADDR_BUCKETS];
} zws__limits;

/* One reference. 0 or ZWS_ENOMEM. */
int zws__limits_new(zws__limits **out, int per_addr_hs, int per_addr_conns, size_t budget);
zws__limits *zws__limits_ref(zws__limits *l);
void zws__limits_unref(zws__limits *l);

/* zws__limits_take's refusals. */
enum { ZWS__ADDR_HANDSHAKES = 1, ZWS__ADDR_CONNS = 2 };

/* Counts a new connection, in handshake, from fd's peer: 0 with *out (NULL
 * when nothing was counted: no cap set, or not a TCP peer), or
 * ZWS__ADDR_HANDSHAKES / ZWS__ADDR_CONNS when that cap refuses it, or
 * ZWS_ENOMEM. */
int zws__limits_take(zws__limits *l, int fd, zws__addr_count **out);
/* The connection counted in a left its handshake (upgraded or not). */
void zws__limits_handshake_done(zws__limits *l, zws__addr_count *a);
/* The connection counted in a is gone (in_handshake: before it left it). */
void zws__limits_release(zws__limits *l, zws__addr_count *a, int in_handshake);

/* Brings a connection's charge (*charged, 0 at first) to usage bytes (0
 * below ZWS__CHARGE_MIN). Returns 1 when it grew and the total is over the
 * budget: fail the connection, free what it holds, and charge it again. */
int zws__limits_charge(zws__limits *l, size_t *charged, size_t usage);
/* Gives back a connection's whole charge. */
void zws__limits_uncharge(zws__limits *l, size_t *charged);

/* What a session holds for the budget: its assembly buffer (a large
 * frame's whole length once its header arrived) and its queued output. */
size_t zws__session_held(const zws__session *s);
/* The close code for a session the budget refused: 1009 when its message
 * holds more than its output, else 1008. */
uint16_t zws__session_budget_code(const zws__session *s);

#endif
