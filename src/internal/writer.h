/* Writer internals visible to tests and benchmarks. */
#ifndef ZWS_INTERNAL_WRITER_H
#define ZWS_INTERNAL_WRITER_H

#include "zws/writer.h"

/* A pool of mask keys, refilled from getrandom(2) 1024 keys at a time. One
 * per loop (or thread): the writers of that loop's client connections share
 * it. Not thread-safe: use it from one thread. */
#define ZWS__KEYPOOL_BYTES 4096
typedef struct zws__keypool zws__keypool;
int zws__keypool_new(zws__keypool **out);
void zws__keypool_free(zws__keypool *k);

/* The writer draws its keys from k (which must outlive it) instead of a pool
 * of its own. */
void zws__writer_set_keys(zws_writer *w, zws__keypool *k);

/* Appends n raw bytes (already framed) to the pending output, within
 * max_pending unless exempt. 0 or ZWS_ENOSPACE / ZWS_ENOMEM. */
int zws__writer_append(zws_writer *w, const void *bytes, size_t n, int exempt);

/* Frees the output buffer when nothing is pending (an idle connection
 * then holds none; the next put allocates again). */
void zws__writer_release(zws_writer *w);

/* Nothing pending and no message open: a new writer would do the same. */
int zws__writer_idle(const zws_writer *w);

/* How many times the writer refilled its mask-key pool from the kernel. */
uint64_t zws__writer_refills(const zws_writer *w);

#endif
