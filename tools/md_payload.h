/* Market-data payloads for load generation: text messages of an exact size
 * filled with an exchange's stream messages (Binance's spot format) from
 * zws/md.h's feed generator. Used by `zws bench --md` and by zws-bench's
 * deflate suite, so both measure the same bytes. */
#ifndef ZWS_TOOL_MD_PAYLOAD_H
#define ZWS_TOOL_MD_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The stream the payloads are cut from: BTCUSDT, ETHUSDT, SOLUSDT and
 * BNBUSDT in turn, one generator step each a millisecond (seed 1, 1000
 * levels a side), a trade message when a step traded, a bookTicker when it
 * moved the top of the book, a depthUpdate every 100 ms and a depth20
 * snapshot every second per symbol. The same every time. */

/* count payloads of size bytes each, one after the other in one allocation
 * (payload i at i * size), which the caller frees. Each payload starts with
 * a whole message and holds as many as fit, newline-separated; the rest is
 * the start of the next message, cut to make exactly size bytes (a payload
 * smaller than one message is that message's first bytes). The next payload
 * starts with the message after the cut one, so consecutive payloads carry
 * the stream on, never a repeat. ASCII only: valid UTF-8 wherever it is
 * cut. Returns NULL when out of memory (or size or count is 0). */
uint8_t *tool_md_payloads(size_t size, size_t count);

/* How many payloads of size bytes `zws bench --md` renders ahead: at least
 * 1 MiB of them, far past deflate's 32 KiB window, so context takeover
 * never finds a whole earlier message, and at least 4. */
size_t tool_md_ring_count(size_t size);

#endif
