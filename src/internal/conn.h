/* Blocking-connection internals (benchmarks read its counters). */
#ifndef ZWS_INTERNAL_CONN_H
#define ZWS_INTERNAL_CONN_H

#include "internal/opts.h"
#include "zws/conn.h"

/* Read and write syscalls the connection made (plain TCP; benchmarks). */
void zws__conn_io_counts(const zws_conn *c, uint64_t *reads, uint64_t *writes);

#endif
