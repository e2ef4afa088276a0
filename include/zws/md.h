/* zws/md — market data: a zero-copy extractor for an exchange's public
 * stream messages (Binance's spot format), a local order book kept from the
 * diff-depth stream and a REST snapshot, and the feed generator behind
 * `zws feed`. Linked as libzws_md, beside libzws; it uses only zws's public
 * API.
 *
 * Ownership. zws_md_parse reads a borrowed payload and fills a zws_md_msg
 * whose views (zws_md_view) point into that payload and whose level arrays
 * point into the parser's storage: both are valid until the payload goes
 * away or the parser parses again, whichever is first. Nothing is allocated
 * or copied.
 *
 * Numbers. Prices and quantities arrive as decimal strings ("25.35190000")
 * and become fixed-point int64 at the parser's scale (decimals, default 8:
 * 25.3519 -> 2535190000), digit by digit, never through a double. Ids and
 * times are JSON integers and must fit int64. */
#ifndef ZWS_MD_H
#define ZWS_MD_H

#include <stddef.h>
#include <stdint.h>

#include "common.h" /* ZWS_E... codes of zws_md_feed_new */

#ifdef __cplusplus
extern "C" {
#endif

/* Errors of zws_md_parse and zws_md_decimal (negative). */
enum zws_md_err {
    ZWS_MD_OK = 0,
    ZWS_MD_ESYNTAX = -1,  /* not JSON: truncated, stray byte, bad escape */
    ZWS_MD_ETYPE = -2,    /* a known field has the wrong type */
    ZWS_MD_ERANGE = -3,   /* a number too long for int64, or more decimals than the scale */
    ZWS_MD_EDEPTH = -4,   /* nested deeper than ZWS_MD_MAX_DEPTH */
    ZWS_MD_EDUP = -5,     /* a key appears twice in one object */
    ZWS_MD_EMISSING = -6, /* a field the message's type needs is absent */
    ZWS_MD_ELEVELS = -7,  /* more price levels than the parser's storage */
    ZWS_MD_EKIND = -8     /* valid JSON, but no message type we know */
};

#define ZWS_MD_MAX_DEPTH 32
#define ZWS_MD_MAX_KEYS 32 /* members per object checked for duplicates */

enum zws_md_kind {
    ZWS_MD_NONE = 0,
    ZWS_MD_TRADE,        /* <symbol>@trade: "e":"trade" */
    ZWS_MD_AGG_TRADE,    /* <symbol>@aggTrade */
    ZWS_MD_BOOK_TICKER,  /* <symbol>@bookTicker (no "e", no "E") */
    ZWS_MD_DEPTH_UPDATE, /* <symbol>@depth[@100ms]: "e":"depthUpdate" */
    ZWS_MD_DEPTH_PARTIAL,/* <symbol>@depth<5|10|20>: lastUpdateId, bids, asks */
    ZWS_MD_SHUTDOWN,     /* "e":"serverShutdown": the server closes soon */
    ZWS_MD_RESULT,       /* {"result":...,"id":N}: a request's answer */
    ZWS_MD_ERROR,        /* {"error":{"code":N,"msg":"..."},"id":N} */
    ZWS_MD_KIND_COUNT
};

/* Bytes inside the payload: JSON string contents as sent (escapes left as
 * they are), or a raw JSON value (result). */
typedef struct zws_md_view {
    const char *p;
    size_t len;
} zws_md_view;

typedef struct zws_md_level {
    int64_t px, qty; /* at the parser's scale */
} zws_md_level;

typedef struct zws_md_msg {
    enum zws_md_kind kind;
    zws_md_view stream;  /* combined streams' "stream", else empty */
    zws_md_view symbol;  /* "s" (empty for partial depth) */
    int64_t event_time;  /* "E" ms, -1 without one */
    int64_t trade_time;  /* "T" ms (trades), -1 without */
    /* trade: "t"; aggTrade: "a"; bookTicker: "u"; depthUpdate: "u" (last
     * update id); partial depth: lastUpdateId; result, error: "id" (-1 for
     * null or a string id) */
    int64_t id;
    int64_t first_id;    /* aggTrade "f", depthUpdate "U" */
    int64_t last_id;     /* aggTrade "l", depthUpdate "u" */
    int64_t px, qty;     /* trades */
    int buyer_maker;     /* trades: "m" */
    int64_t buyer_order_id, seller_order_id; /* trades in the older form: "b", "a" */
    int64_t bid_px, bid_qty, ask_px, ask_qty; /* bookTicker */
    const zws_md_level *bids, *asks; /* depth: parser storage */
    size_t nbids, nasks;
    zws_md_view result;  /* result: the raw JSON value ("null", "[...]") */
    int64_t err_code;    /* error: "code" */
    zws_md_view err_msg; /* error: "msg" */
} zws_md_msg;

typedef struct zws_md_parser {
    int decimals;          /* scale of prices and quantities (0..18), default 8 */
    zws_md_level *levels;  /* storage for depth levels (bids, then asks) */
    size_t cap;
    /* After a failure: what and where (byte offset into the payload). */
    const char *what;
    size_t at;
    /* 1 when the last message was read by the fast path (its members in
     * the feed's own order), 0 when by the general parser. */
    int fast;
    /* Set by zws_md_parser_init: 1 when the fast path reads numbers sixteen
     * bytes at a time (SSSE3, on x86-64 unless ZWS_SIMD is "word" or
     * "sse2"), 0 for the portable word-at-a-time readers. Either gives the
     * same results; a caller may set 0. */
    int simd;
} zws_md_parser;

/* Ready to parse with storage for nlevels price levels (bids and asks
 * together; a depth message with more fails with ZWS_MD_ELEVELS). The
 * storage stays the caller's. */
void zws_md_parser_init(zws_md_parser *p, zws_md_level *storage, size_t nlevels);

/* Parses one message (a text frame's payload). 0 and *out filled, or a
 * negative zws_md_err with p->what and p->at saying why and where. Any
 * input is safe: no read past data[len), no allocation. Members this
 * extractor does not know are validated and skipped. UTF-8 is not checked
 * again: a text frame's payload is valid UTF-8 once zws delivers it. */
int zws_md_parse(zws_md_parser *p, const uint8_t *data, size_t len, zws_md_msg *out);

/* A decimal string ("-12.5", "0.00100000") to fixed point with decimals
 * digits after the point: digits past those must be zeros (else
 * ZWS_MD_ERANGE, never rounded). ZWS_MD_ESYNTAX for anything but
 * -?digits[.digits]. */
int zws_md_decimal(const char *s, size_t len, int decimals, int64_t *out);

/* Writes v (fixed point, decimals digits) as a decimal string with exactly
 * decimals digits after the point; returns its length. buf needs 32 bytes. */
size_t zws_md_format_decimal(char *buf, int64_t v, int decimals);

const char *zws_md_strerror(int err);
const char *zws_md_kind_name(enum zws_md_kind k);

/* ---- the local order book ----
 *
 * One symbol's book: price levels on a ladder indexed by price / tick, with
 * bitmaps over it, so setting a level, removing one and finding the best
 * price cost the same whatever the book's depth. The tick is learned from
 * the snapshot's prices (their greatest common step) and refined if a later
 * price is off it; the ladder grows to cover the prices it is given. */
typedef struct zws_md_book zws_md_book;

/* Where the book is in the exchange's sync procedure. */
enum zws_md_book_state {
    ZWS_MD_BOOK_WAIT = 0, /* buffering events until a snapshot arrives */
    ZWS_MD_BOOK_LIVE = 1, /* in sync: events apply as they come */
    ZWS_MD_BOOK_RESYNC = 2/* a gap: a new snapshot is needed (buffering meanwhile) */
};

int zws_md_book_new(zws_md_book **out);
void zws_md_book_free(zws_md_book *b);

/* Sets one level; qty 0 removes it. 0, or ZWS_MD_ERANGE when the price
 * would make the ladder larger than its limit (2^25 ticks a side), or -12
 * (ENOMEM). */
int zws_md_book_set(zws_md_book *b, int bid, int64_t px, int64_t qty);
void zws_md_book_clear(zws_md_book *b);
/* Best level of a side; 0 if the side is empty, else 1. */
int zws_md_book_best(const zws_md_book *b, int bid, zws_md_level *out);
/* Up to n levels of a side from the best outwards; returns how many. */
size_t zws_md_book_levels(const zws_md_book *b, int bid, zws_md_level *out, size_t n);
size_t zws_md_book_depth(const zws_md_book *b, int bid);

/* The sync procedure of the diff-depth stream (Binance's "how to manage a
 * local order book correctly"):
 *   1. events are buffered (copied) until a snapshot is applied;
 *   2. a snapshot older than the first buffered event is refused (returns
 *      ZWS_MD_BOOK_RESYNC: fetch another);
 *   3. buffered events with u <= lastUpdateId are dropped, the rest applied;
 *   4. from then on an event with u < the book's update id is ignored, one
 *      whose U is past the book's update id + 1 is a gap: the book waits for
 *      a new snapshot (state RESYNC), buffering again.
 * zws_md_book_event takes a depthUpdate message; zws_md_book_snapshot a
 * snapshot parsed as ZWS_MD_DEPTH_PARTIAL (the REST answer has that form).
 * Both return the state after the call, or a negative error. */
int zws_md_book_event(zws_md_book *b, const zws_md_msg *m);
int zws_md_book_snapshot(zws_md_book *b, const zws_md_msg *m);
enum zws_md_book_state zws_md_book_state(const zws_md_book *b);
/* The update id the book is at (-1 before a snapshot). */
int64_t zws_md_book_update_id(const zws_md_book *b);
/* Events dropped as stale, gaps seen, snapshots applied. */
typedef struct zws_md_book_stats {
    uint64_t applied, stale, gaps, snapshots, refused;
} zws_md_book_stats;
void zws_md_book_stats_get(const zws_md_book *b, zws_md_book_stats *out);

/* ---- the feed generator (behind `zws feed`) ----
 *
 * Per symbol, an order book (bids and asks, up to a set number of levels a
 * side) moved by a seeded random walk: quantities change, levels come and
 * go, trades take liquidity at the best price and move it. The same seed
 * gives the same messages. Every change advances the symbol's update id, the
 * counter the diff-depth stream's U/u, bookTicker's u and the snapshot's
 * lastUpdateId share. Not thread-safe: one thread drives a generator. */
typedef struct zws_md_gen zws_md_gen;

/* Symbols are given in either case ("btcusdt"); levels per side 10..5000
 * (0: 2000). Known symbols start at a plausible price and tick, others at
 * 100.00 with a 0.01 tick. 0, ZWS_MD_ERANGE (bad levels or symbol) or -12. */
int zws_md_gen_new(zws_md_gen **out, const char *const *symbols, size_t n, uint64_t seed,
                   int levels);
void zws_md_gen_free(zws_md_gen *g);
size_t zws_md_gen_count(const zws_md_gen *g);
/* The symbol in upper case ("BTCUSDT") and in lower case, as streams name it. */
const char *zws_md_gen_symbol(const zws_md_gen *g, size_t i);
const char *zws_md_gen_lower(const zws_md_gen *g, size_t i);
/* Index of a symbol (either case, len bytes), or -1. */
int zws_md_gen_find(const zws_md_gen *g, const char *sym, size_t len);

/* What one step did (bits). */
#define ZWS_MD_GEN_TRADE 1  /* a trade happened */
#define ZWS_MD_GEN_TOP 2    /* the best bid or ask changed */
/* One step of symbol i's walk at time now_ms. Returns its ZWS_MD_GEN_ bits. */
int zws_md_gen_step(zws_md_gen *g, size_t i, int64_t now_ms);

/* Messages of symbol i's current state, rendered into buf (cap bytes, 256
 * at least; a depth message needs about 40 bytes a level). Each returns
 * the length written, or 0 if it did not fit (or, for the depth update,
 * when nothing changed since the last one of that speed). */
size_t zws_md_gen_trade(const zws_md_gen *g, size_t i, int64_t now_ms, char *buf, size_t cap);
size_t zws_md_gen_agg_trade(const zws_md_gen *g, size_t i, int64_t now_ms, char *buf,
                            size_t cap);
size_t zws_md_gen_book_ticker(const zws_md_gen *g, size_t i, char *buf, size_t cap);
/* The changes since the last depth update of this speed (0: the 1000 ms
 * stream, 1: the 100 ms one), which it then forgets. */
size_t zws_md_gen_depth_update(zws_md_gen *g, size_t i, int speed, int64_t now_ms, char *buf,
                               size_t cap);
/* The top n levels a side: a partial-depth message, which is also the
 * REST snapshot's answer. */
size_t zws_md_gen_depth(const zws_md_gen *g, size_t i, int n, char *buf, size_t cap);
/* Up to n levels of a side from the best outwards; returns how many. */
size_t zws_md_gen_levels(const zws_md_gen *g, size_t i, int bid, zws_md_level *out, size_t n);
int64_t zws_md_gen_update_id(const zws_md_gen *g, size_t i);
/* The id of symbol i's last trade (agg = 0) or aggregate trade (agg = 1). */
int64_t zws_md_gen_trade_id(const zws_md_gen *g, size_t i, int agg);

/* ---- the feed: an exchange's market-stream service on zws's loop ----
 *
 * Serves raw streams at /ws/<stream> (and /ws, for live subscriptions),
 * combined streams at /stream?streams=<a>/<b> (envelope {"stream","data"}),
 * the SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS requests, and the REST
 * depth snapshot at /api/v3/depth?symbol=S&limit=N, all from one loop
 * thread that also drives the generator, so a snapshot is always
 * consistent with the diff-depth stream around it. It keeps the service's
 * rules: a ping every 20 s and a close when no pong echoing it came within
 * a minute, a connection lifetime announced by serverShutdown, at most 1024
 * streams a connection and 5 incoming messages a second, and bounded
 * output per client. */
typedef struct zws_md_feed zws_md_feed;

typedef struct zws_md_feed_opts {
    const char *symbols;   /* comma-separated; NULL: btcusdt,ethusdt,solusdt,bnbusdt */
    uint64_t seed;         /* the generator's seed (same seed, same book walk) */
    int levels;            /* book levels a side (0: 2000) */
    /* Generator steps a second per symbol (each step moves the book: a
     * bookTicker when the top changes, a trade and aggTrade when one
     * happens). 0: as fast as possible: trade, aggTrade, bookTicker and
     * partial-depth streams are replayed from pre-rendered frames (ids and
     * event times patched in) as fast as each client takes them, while the
     * book keeps walking at 1000 steps a second for the diff-depth streams. */
    double rate;
    int ping_ms;           /* 0: 20000 */
    int pong_timeout_ms;   /* 0: 60000 */
    int64_t lifetime_ms;   /* 0: 24 h */
    int max_streams;       /* 0: 1024 */
    int max_incoming;      /* incoming messages a second (0: 5) */
    size_t max_buffered;   /* output a client may leave unread (0: 8 MiB) */
    int drop_every;        /* tests: drop one diff-depth event in this many (0: none) */
    int kick_every_ms;     /* tests: close every connection (1012) this often (0: never) */
    /* Replay a recording of `zws md --record` instead of generating: every
     * connection, whatever its path, gets every recorded message in order
     * (requests are not answered: the recording holds the answers it got),
     * at the recorded pace (replay_max = 0) or as fast as it reads, and a
     * close (1000) at the end. */
    const char *replay;
    int replay_max;
    const char *cert, *key;/* PEM files: wss */
    int quiet;             /* no lines on stderr */
    int deflate;           /* accept permessage-deflate when a client offers it
                              (fast mode's pre-rendered frames still go as
                              they are: uncompressed, which is allowed) */
} zws_md_feed_opts;

typedef struct zws_md_feed_stats {
    uint64_t conns, closed_slow, closed_rate, closed_pong, closed_lifetime;
    uint64_t sent[ZWS_MD_KIND_COUNT]; /* messages by kind */
    uint64_t bytes, requests, bad_requests, snapshots, dropped_events;
    uint64_t fills, fills_starved; /* fast mode: refills, and those that found the client's output empty */
} zws_md_feed_stats;

/* 0, or a negative zws error code (ZWS_EINVAL: bad symbols) with err set. */
int zws_md_feed_new(zws_md_feed **out, const zws_md_feed_opts *o, char *err, size_t errlen);
void zws_md_feed_free(zws_md_feed *f);
int zws_md_feed_listen(zws_md_feed *f, const char *host, uint16_t port, char *err,
                       size_t errlen);
uint16_t zws_md_feed_port(const zws_md_feed *f);
/* Serves until zws_md_feed_stop (any thread, or a signal handler). */
int zws_md_feed_run(zws_md_feed *f);
void zws_md_feed_stop(zws_md_feed *f);
/* Stops (on = 1) or restarts the generator, from any thread; a pause first
 * sends out the pending diff-depth changes, so the book a snapshot shows
 * then is the one the streams lead to. */
void zws_md_feed_pause(zws_md_feed *f, int on);
/* Changes drop_every from any thread (0: no more injected loss). A loss
 * just before a pause would go unseen (no later event shows the hole), so a
 * check stops the loss a while before it pauses. */
void zws_md_feed_set_loss(zws_md_feed *f, int drop_every);
/* Counters so far (any thread; each counter is read atomically). */
void zws_md_feed_stats_get(const zws_md_feed *f, zws_md_feed_stats *out);
/* For a consumer in the same process: when the feed queued the message of
 * this kind, symbol and id (monotonic ns, CLOCK_MONOTONIC), or -1 if it did
 * not note it (one id in 64 is noted, and every depth message when paced). */
int64_t zws_md_feed_sent_ns(const zws_md_feed *f, enum zws_md_kind kind, zws_md_view symbol,
                            int64_t id);

#ifdef __cplusplus
}
#endif
#endif
