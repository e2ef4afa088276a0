/* Writer internals visible to tests and benchmarks. */
#ifndef ZWS_INTERNAL_WRITER_H
#define ZWS_INTERNAL_WRITER_H

#include "zws/writer.h"

/* How many times the writer refilled its mask-key pool from the kernel. */
uint64_t zws__writer_refills(const zws_writer *w);

#endif
