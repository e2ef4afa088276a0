/* zws md: a market-data consumer on zws's event loop.
 *
 * Connects (by default to a feed it starts in this process on loopback),
 * subscribes to streams sharded over connections, parses every message
 * with the zero-copy extractor, keeps a local order book per symbol from
 * the diff-depth stream and REST snapshots (libcurl, on a helper thread),
 * reconnects with backoff and jitter, and measures what each handoff
 * strategy costs:
 *   inline  parse the borrowed view in the message handler;
 *   copy    zws_buf copy through a single-producer single-consumer ring to
 *           a parser thread;
 *   ref     zws_ws_keep (detached without a copy when the message has its
 *           own buffer, else copied) through the same ring;
 *   naive   malloc and memcpy per message, a mutex-and-condition queue.
 * The books, counters and latency histogram belong to the thread that
 * parses; the view reads counters published with relaxed atomics. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "zws/md.h"
#include "zws/server.h"

#define CMD "md"
#define MAX_SYMS 1024
#define SYM_SLOTS (2 * MAX_SYMS) /* the symbols' hash table; a power of two */
/* The ring to the parser thread: at most RING items and RING_BYTES of
 * payload in it. Deep enough to ride out a scheduler's time slice when the
 * loop, the parser and an in-process feed share two cores (4,096 items
 * gave 0.61x of inline's bookTicker throughput, 65,536 0.75-0.87x). */
#define RING 65536 /* entries; a power of two */
#define RING_BYTES (8u << 20)
#define BACK (2 * RING) /* buffers given back (at most about RING + 127 at once) */
#define KEEP_MAX 65536 /* bytes: copy frees larger buffers when they come back */
#define LAT_BUCKETS (64 * 40)

/* ---- allocations, counted across the library and this program ---- */

/* Only the consumer's threads count (the loop and the parser): an
 * in-process feed allocates on its own thread. */
static atomic_ulong n_allocs;
static _Thread_local int counting;

static void *count_malloc(size_t n)
{
    if (counting)
        atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    return malloc(n);
}

static void *count_realloc(void *p, size_t n)
{
    if (counting)
        atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    return realloc(p, n);
}

/* ---- latency: a log-linear histogram (64 steps per power of two) ---- */

/* Written by the parsing thread alone, read by the view's timer on the
 * loop thread: relaxed atomics, the counts an instant's approximation. */
typedef struct hist {
    _Atomic uint64_t b[LAT_BUCKETS];
} hist;

static unsigned bucket_of(uint64_t v)
{
    if (v < 64)
        return (unsigned)v;
    unsigned e = 63 - (unsigned)__builtin_clzll(v); /* >= 6 */
    unsigned m = (unsigned)(v >> (e - 6)) & 63;
    unsigned b = (e - 5) * 64 + m;
    return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

static uint64_t bucket_value(unsigned b)
{
    if (b < 64)
        return b;
    unsigned e = b / 64 + 5, m = b % 64;
    return ((uint64_t)(64 + m) << (e - 6));
}

/* The samples: the buckets' sum (a count of its own, read while the
 * buckets grow, could be ahead of them and put a percentile past the last). */
static uint64_t hist_count(hist *h)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < LAT_BUCKETS; i++)
        n += atomic_load_explicit(&h->b[i], memory_order_relaxed);
    return n;
}

static uint64_t hist_pct(hist *h, double p)
{
    uint64_t n = hist_count(h);
    if (!n)
        return 0;
    uint64_t want = (uint64_t)((double)n * p), seen = 0;
    if (want >= n)
        want = n - 1;
    for (unsigned i = 0; i < LAT_BUCKETS; i++) {
        seen += atomic_load_explicit(&h->b[i], memory_order_relaxed);
        if (seen > want)
            return bucket_value(i);
    }
    return bucket_value(LAT_BUCKETS - 1);
}

/* ---- state ---- */

enum { ST_INLINE, ST_COPY, ST_REF, ST_NAIVE };
static const char *const strategy_names[] = {"inline", "copy", "ref", "naive"};

typedef struct sym {
    char name[24]; /* upper case */
    size_t len;
    zws_md_book *book; /* when a depth stream is subscribed */
    atomic_int fetching; /* a snapshot is on its way */
    int64_t bid, ask, bid_qty, ask_qty;
    _Atomic int64_t view_bid, view_ask;
    int verified; /* --verify: 1 equal, -1 different */
    uint64_t gaps; /* the book's gap count, as last added to md.gaps */
} sym;

typedef struct shard {
    struct md *m;
    int index;
    zws_ws *ws;
    char **streams;
    int nstreams;
    int attempt;
    int64_t down_since; /* ms, -1 while up */
    int ever_up;
} shard;

/* What crosses to the parser thread. */
typedef struct item {
    zws_buf *b;       /* copy and ref */
    uint8_t *raw;     /* naive */
    size_t len;
    int tag;          /* 0 a message; 1 a snapshot for sym; 2 a verify snapshot */
    int sym;
} item;

typedef struct nnode {
    struct nnode *next;
    item it;
} nnode;

typedef struct md {
    /* options */
    const char *url, *rest, *record_path;
    char **streams;
    int nstreams, per_conn, nconns, strategy, json, view, verify, quiet, deflate;
    double duration, rate;
    int drop_every, levels, kick_ms, insecure;
    const char *ca;
    int64_t work_ns;
    uint64_t seed;
    const char *symbols;
    /* runtime */
    zws_server *srv;
    zws_loop *loop;
    zws_md_feed *feed;
    pthread_t feed_thread;
    shard *shards;
    int nshards;
    sym syms[MAX_SYMS];
    int nsyms;
    int16_t sym_slot[SYM_SLOTS]; /* index + 1 into syms, 0 for none */
    int last_sym;                /* the last one found */
    zws_md_parser parser;
    zws_md_level *levels_buf;
    hist lat;
    int lat_from_feed;
    /* counters: written by the parsing thread, read by the view */
    _Atomic uint64_t msgs, bytes, by_kind[ZWS_MD_KIND_COUNT], parse_errors, parse_ns_sum,
        parse_ns_n, ring_waits, reconnects, gaps, snapshots, results;
    _Atomic uint64_t lat_p50, lat_p99, lat_p999;
    char first_error[200];
    /* The ring (copy, ref): the loop thread pushes, the parser pops. Each
     * side writes its own index on a cache line of its own and keeps a copy
     * of the other's, read again only when the ring looks full or empty.
     * The parser gives the buffers back through `back`, in the order it
     * got them, to the loop thread: copy copies the next messages into them
     * in that order (copy_of), ref frees them there, where they were
     * allocated (take_back): a free in another thread takes the
     * allocator's arena lock against the loop's next allocations. The
     * loop thread publishes its head at every push (a plain store: the
     * check for a sleeping parser that needs a fence after it is made once
     * a pass, see publish_pass); the parser its tail
     * and back_head every 64 items and when the ring is empty, and copy
     * its back_tail every 64 buffers and when it waits for room. */
    item *ring;
    zws_buf **back;
    struct {
        _Alignas(64) _Atomic uint64_t head; /* items pushed */
        uint64_t tail_seen;                 /* the parser's tail, as last read */
        _Atomic uint64_t back_tail;         /* buffers taken from back */
        uint64_t back_taken;                /* back_tail, not yet published */
        uint64_t back_head_seen;            /* the parser's back_head, as last read */
        uint64_t bytes;                     /* payload bytes pushed */
        uint64_t bytes_done_seen;           /* the parser's bytes_done, as last read */
        /* when it waits for room: the tail and bytes_done to be woken at */
        _Atomic uint64_t want_tail, want_bytes;
    } prod;
    struct {
        _Alignas(64) _Atomic uint64_t tail; /* items done */
        _Atomic uint64_t back_head;         /* buffers given back */
        _Atomic uint64_t bytes_done;        /* payload bytes of the items done */
        /* the parser's own, on a line the loop thread does not read */
        _Alignas(64) uint64_t back_given;   /* back_head, not yet published */
        uint64_t back_tail_seen;
        uint64_t bytes;                     /* bytes_done, not yet published */
    } cons;
    _Alignas(64) char after_ring;
    /* the naive queue */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    nnode *qhead, *qtail;
    size_t qn, qbytes; /* what is queued, bounded as the ring is */
    int qfull;         /* the loop thread waits on room for half of it */
    atomic_int stop_parser;
    atomic_int sleeping; /* the ring's parser waits on qcond */
    pthread_cond_t room;
    atomic_int full; /* the loop thread waits on room */
    int pass_armed;  /* publish_pass is due at the end of this pass */
    pthread_t parser_thread;
    int have_parser;
    /* snapshots over HTTP */
    pthread_t rest_thread;
    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    int rq[MAX_SYMS * 2];
    int rq_tag[MAX_SYMS * 2];
    int nrq;
    int rest_stop;
    /* the run */
    int64_t t0_ns, t_end_ms, first_msg_ns, last_msg_ns;
    uint64_t allocs_at_first, allocs_at_end, msgs_at_first;
    clockid_t loop_clock;
    int64_t loop_cpu0, parser_cpu_ns;
    double cpu_ns_per_msg;
    int phase; /* 0 running, 1 verifying, 2 done */
    int64_t verify_deadline;
    int verify_sent;
    int view_lines;
    FILE *record;
    uint64_t recorded;
    int exit_code;
    double clock_ns; /* clock_pair_ns() */
    int rest_thread_started;
} md;

static md *the_md; /* for the signal handler */

/* What reading the clock twice costs, taken off the sampled parse times:
 * the median of many back-to-back pairs. */
static double clock_pair_ns(void)
{
    enum { N = 501 };
    static int64_t d[N];
    for (int i = 0; i < N; i++) {
        int64_t a = tool_now_ns();
        d[i] = tool_now_ns() - a;
    }
    for (int i = 1; i < N; i++) /* insertion sort: N is small */
        for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
            int64_t t = d[j];
            d[j] = d[j - 1];
            d[j - 1] = t;
        }
    return (double)d[N / 2];
}

static uint64_t ld(_Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }
/* Single writer: a relaxed load and store, no locked instruction. */
static void bump(_Atomic uint64_t *v, uint64_t n)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t thread_cpu_ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts))
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- symbols ---- */

/* Symbols are kept in upper case and matched in either. */
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

static uint32_t sym_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t k = 0; k < len; k++)
        h = (h ^ (uint8_t)upper(s[k])) * 16777619u;
    return h;
}

static int sym_is(const sym *y, const char *s, size_t len)
{
    if (y->len != len)
        return 0;
    for (size_t k = 0; k < len; k++)
        if (upper(s[k]) != y->name[k])
            return 0;
    return 1;
}

/* The symbol named s (either case), or -1: the last one found, else by
 * hash, so the cost is the same for one symbol or a thousand. */
static int sym_find(md *m, const char *s, size_t len)
{
    if (m->nsyms && sym_is(&m->syms[m->last_sym], s, len))
        return m->last_sym;
    for (uint32_t i = sym_hash(s, len);; i++) {
        int k = m->sym_slot[i & (SYM_SLOTS - 1)] - 1;
        if (k < 0)
            return -1;
        if (sym_is(&m->syms[k], s, len))
            return m->last_sym = k;
    }
}

static int sym_add(md *m, const char *s, size_t len)
{
    int i = sym_find(m, s, len);
    if (i >= 0 || m->nsyms == MAX_SYMS || len >= sizeof m->syms[0].name)
        return i;
    sym *y = &m->syms[m->nsyms];
    memset(y, 0, sizeof *y);
    for (size_t k = 0; k < len; k++)
        y->name[k] = upper(s[k]);
    y->len = len;
    uint32_t h = sym_hash(s, len);
    while (m->sym_slot[h & (SYM_SLOTS - 1)])
        h++;
    m->sym_slot[h & (SYM_SLOTS - 1)] = (int16_t)(m->nsyms + 1);
    return m->nsyms++;
}

/* ---- snapshots: a helper thread with libcurl ---- */

typedef struct membuf {
    char *p;
    size_t n, cap;
} membuf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    membuf *b = ud;
    size_t n = size * nmemb;
    if (b->n + n > (64u << 20))
        return 0; /* a snapshot is far smaller: refuse the rest */
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return n;
}

static void deliver(md *m, item *it);

typedef struct posted {
    md *m;
    item it;
} posted;

static void on_posted(zws_loop *l, void *arg)
{
    posted *p = arg;
    if (l)
        deliver(p->m, &p->it);
    else
        zws_buf_unref(p->it.b);
    free(p);
}

static void request_snapshot(md *m, int s, int tag)
{
    if (tag == 1 && atomic_exchange(&m->syms[s].fetching, 1))
        return;
    pthread_mutex_lock(&m->rlock);
    if (m->nrq < MAX_SYMS * 2) {
        m->rq[m->nrq] = s;
        m->rq_tag[m->nrq++] = tag;
    }
    pthread_cond_signal(&m->rcond);
    pthread_mutex_unlock(&m->rlock);
}

static void *rest_main(void *arg)
{
    md *m = arg;
    CURL *c = curl_easy_init();
    for (;;) {
        pthread_mutex_lock(&m->rlock);
        while (!m->nrq && !m->rest_stop)
            pthread_cond_wait(&m->rcond, &m->rlock);
        if (m->rest_stop) {
            pthread_mutex_unlock(&m->rlock);
            break;
        }
        int s = m->rq[0], tag = m->rq_tag[0];
        memmove(m->rq, m->rq + 1, (size_t)(m->nrq - 1) * sizeof *m->rq);
        memmove(m->rq_tag, m->rq_tag + 1, (size_t)(m->nrq - 1) * sizeof *m->rq_tag);
        m->nrq--;
        pthread_mutex_unlock(&m->rlock);
        char url[512];
        snprintf(url, sizeof url, "%s/api/v3/depth?symbol=%s&limit=%d", m->rest,
                 m->syms[s].name, tag == 2 ? 5000 : 5000);
        membuf b = {0};
        long status = 0;
        CURLcode r = CURLE_FAILED_INIT;
        if (c) {
            curl_easy_setopt(c, CURLOPT_URL, url);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
            if (m->ca)
                curl_easy_setopt(c, CURLOPT_CAINFO, m->ca);
            if (m->insecure) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
            }
            r = curl_easy_perform(c);
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        }
        posted *p = malloc(sizeof *p);
        if (r != CURLE_OK || status != 200 || !p) {
            if (!m->quiet && !m->view)
                fprintf(stderr, "zws md: snapshot of %s failed: %s (HTTP %ld)\n",
                        m->syms[s].name, r != CURLE_OK ? curl_easy_strerror(r) : "status",
                        status);
            free(b.p);
            free(p);
            atomic_store(&m->syms[s].fetching, 0); /* asked for again by the next event */
            usleep(200000);
            continue;
        }
        p->m = m;
        p->it = (item){.b = zws_buf_new_copy(b.p, b.n), .tag = tag, .sym = s};
        free(b.p);
        if (!p->it.b || zws_loop_post(m->loop, on_posted, p)) {
            zws_buf_unref(p->it.b);
            free(p);
            atomic_store(&m->syms[s].fetching, 0);
        }
    }
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

/* ---- processing (on the parsing thread) ---- */

/* symbol: in upper case, as the feed keys its notes (a partial
 * depth message names it only in its stream, in lower case). */
static void note_latency(md *m, const zws_md_msg *msg, zws_md_view symbol)
{
    int64_t lat = -1;
    if (m->feed) {
        if (msg->id % 64 && msg->kind != ZWS_MD_DEPTH_PARTIAL &&
            msg->kind != ZWS_MD_DEPTH_UPDATE)
            return;
        int64_t sent = zws_md_feed_sent_ns(m->feed, msg->kind, symbol, msg->id);
        if (sent < 0)
            return;
        lat = tool_now_ns() - sent;
    } else if (msg->event_time > 0) {
        if ((ld(&m->msgs) & 63) != 0)
            return;
        lat = (wall_ms() - msg->event_time) * 1000000;
    }
    if (lat < 0)
        return;
    bump(&m->lat.b[bucket_of((uint64_t)lat)], 1);
}

static void compare_book(md *m, int s, const zws_md_msg *snap)
{
    sym *y = &m->syms[s];
    static zws_md_level got[1000];
    int same = zws_md_book_update_id(y->book) == snap->id;
    for (int bid = 0; same && bid < 2; bid++) {
        const zws_md_level *want = bid ? snap->bids : snap->asks;
        size_t nw = bid ? snap->nbids : snap->nasks;
        if (nw > 1000)
            nw = 1000;
        size_t ng = zws_md_book_levels(y->book, bid, got, nw);
        same = ng == nw && memcmp(got, want, nw * sizeof *want) == 0;
    }
    y->verified = same ? 1 : -1;
    if (!same)
        fprintf(stderr, "zws md: %s: the book is at update %lld (%s), the snapshot at %lld\n",
                y->name, (long long)zws_md_book_update_id(y->book),
                zws_md_book_state(y->book) == ZWS_MD_BOOK_LIVE ? "live" : "resyncing",
                (long long)snap->id);
}

static void process(md *m, const uint8_t *data, size_t len, int tag, int s)
{
    zws_md_msg msg;
    int timed = (ld(&m->msgs) & 15) == 0;
    int64_t t0 = timed ? tool_now_ns() : 0;
    int r = zws_md_parse(&m->parser, data, len, &msg);
    if (timed) {
        bump(&m->parse_ns_sum, (uint64_t)(tool_now_ns() - t0));
        bump(&m->parse_ns_n, 1);
    }
    if (tag) { /* a snapshot from the REST thread */
        sym *y = &m->syms[s];
        if (r || msg.kind != ZWS_MD_DEPTH_PARTIAL || !y->book) {
            atomic_store(&y->fetching, 0);
            return;
        }
        if (tag == 2) {
            compare_book(m, s, &msg);
            return;
        }
        int st = zws_md_book_snapshot(y->book, &msg);
        atomic_store(&y->fetching, 0);
        bump(&m->snapshots, 1);
        if (st == ZWS_MD_BOOK_RESYNC) /* too old for what is buffered: once more */
            request_snapshot(m, s, 1);
        return;
    }
    bump(&m->msgs, 1);
    bump(&m->bytes, len);
    if (r) {
        bump(&m->parse_errors, 1);
        if (!m->first_error[0])
            snprintf(m->first_error, sizeof m->first_error, "%s (%s at byte %zu)",
                     zws_md_strerror(r), m->parser.what, m->parser.at);
        return;
    }
    bump(&m->by_kind[msg.kind], 1);
    zws_md_view sv = msg.symbol;
    if (!sv.len && msg.stream.len) { /* partial depth: the stream names the symbol */
        const char *at = memchr(msg.stream.p, '@', msg.stream.len);
        sv.p = msg.stream.p;
        sv.len = at ? (size_t)(at - msg.stream.p) : msg.stream.len;
    }
    int si = sv.len ? sym_find(m, sv.p, sv.len) : -1;
    sym *y = si >= 0 ? &m->syms[si] : NULL;
    switch (msg.kind) {
    case ZWS_MD_BOOK_TICKER:
        if (y) {
            y->bid = msg.bid_px;
            y->ask = msg.ask_px;
        }
        break;
    case ZWS_MD_DEPTH_UPDATE:
        if (y && y->book) {
            int st = zws_md_book_event(y->book, &msg);
            zws_md_book_stats bs;
            zws_md_book_stats_get(y->book, &bs);
            if (bs.gaps != y->gaps) { /* the book saw a gap: the view's total follows */
                bump(&m->gaps, bs.gaps - y->gaps);
                y->gaps = bs.gaps;
            }
            if (st != ZWS_MD_BOOK_LIVE)
                request_snapshot(m, si, 1);
            zws_md_level l;
            if (st == ZWS_MD_BOOK_LIVE && zws_md_book_best(y->book, 1, &l))
                y->bid = l.px;
            if (st == ZWS_MD_BOOK_LIVE && zws_md_book_best(y->book, 0, &l))
                y->ask = l.px;
        }
        break;
    case ZWS_MD_DEPTH_PARTIAL:
        if (y && msg.nbids && msg.nasks) {
            y->bid = msg.bids[0].px;
            y->ask = msg.asks[0].px;
        }
        break;
    case ZWS_MD_RESULT: bump(&m->results, 1); break;
    case ZWS_MD_ERROR:
        if (!m->first_error[0])
            snprintf(m->first_error, sizeof m->first_error, "the server refused a request: %.*s",
                     (int)msg.err_msg.len, msg.err_msg.p);
        break;
    default: break;
    }
    if (y) {
        atomic_store_explicit(&y->view_bid, y->bid, memory_order_relaxed);
        atomic_store_explicit(&y->view_ask, y->ask, memory_order_relaxed);
    }
    note_latency(m, &msg, y ? (zws_md_view){y->name, y->len} : msg.symbol);
    if (m->work_ns) { /* the slow consumer of --work-ns */
        int64_t until = tool_now_ns() + m->work_ns;
        while (tool_now_ns() < until)
            ;
    }
}

static void process_item(md *m, item *it)
{
    if (it->b) {
        process(m, zws_buf_data(it->b), zws_buf_len(it->b), it->tag, it->sym);
        zws_buf_unref(it->b);
    } else {
        process(m, it->raw, it->len, it->tag, it->sym);
        free(it->raw);
    }
}

/* ---- handoff ---- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* A buffer's header and a message of len bytes in it (the first 2 KiB of
 * a longer one), into this core's cache: to be read, or with write set to
 * be written (PREFETCHW, which gcc emits only with -mprfchw). The lines
 * were last touched on the other thread's core. */
#define PREFETCH_AHEAD 8
static inline void prefetch_buf(const zws_buf *b, size_t len, int write)
{
    const char *p = (const char *)b;
    size_t n = len < 2048 ? len + 128 : 2048;
    for (size_t i = 0; i < n; i += 64) {
#if defined(__x86_64__)
        if (write)
            __asm__ volatile("prefetchw %0" : : "m"(p[i]));
        else
            __builtin_prefetch(p + i);
#else
        if (write)
            __builtin_prefetch(p + i, 1);
        else
            __builtin_prefetch(p + i);
#endif
    }
}

/* On the loop thread: frees the buffers the parser gave back (ref, and
 * the last ones at the end). */
static void take_back(md *m)
{
    uint64_t t = m->prod.back_taken;
    uint64_t h = atomic_load_explicit(&m->cons.back_head, memory_order_acquire);
    for (; t != h; t++)
        zws_buf_unref(m->back[t & (BACK - 1)]);
    m->prod.back_taken = m->prod.back_head_seen = t;
    atomic_store_explicit(&m->prod.back_tail, t, memory_order_release);
}

/* On the loop thread: a zws_buf holding a copy of data[0..len), the oldest
 * buffer given back when it is large enough, else a new one with room to
 * spare. The next one's lines are asked for now, for a message of about
 * this one's size. */
static zws_buf *copy_of(md *m, const uint8_t *data, size_t len)
{
    uint64_t t = m->prod.back_taken;
    if (m->prod.back_head_seen == t)
        m->prod.back_head_seen = atomic_load_explicit(&m->cons.back_head, memory_order_acquire);
    uint64_t h = m->prod.back_head_seen;
    if (t != h) {
        zws_buf *b = m->back[t & (BACK - 1)];
        if (t + 1 != h)
            prefetch_buf(m->back[(t + 1) & (BACK - 1)], len, 1);
        m->prod.back_taken = ++t;
        if ((t & 63) == 0)
            atomic_store_explicit(&m->prod.back_tail, t, memory_order_release);
        /* one made for a large message goes (its size is not kept) */
        if (zws_buf_len(b) <= KEEP_MAX && zws_buf_refill(b, data, len))
            return b;
        zws_buf_unref(b); /* too small for this one, or too large to keep */
    }
    zws_buf *b = zws_buf_new(len + len / 4 + 64);
    return b ? zws_buf_refill(b, data, len) : NULL;
}

/* On the parser thread: a buffer done with, back to the loop thread (or
 * freed here when the way back is full). */
static void give_back(md *m, zws_buf *b)
{
    uint64_t h = m->cons.back_given;
    if (h - m->cons.back_tail_seen >= BACK) {
        m->cons.back_tail_seen = atomic_load_explicit(&m->prod.back_tail, memory_order_acquire);
        if (h - m->cons.back_tail_seen >= BACK) {
            zws_buf_unref(b);
            return;
        }
    }
    m->back[h & (BACK - 1)] = b;
    m->cons.back_given = ++h;
    if ((h & 63) == 0)
        atomic_store_explicit(&m->cons.back_head, h, memory_order_release);
}

/* Waits on c (qlock held) for a signal or a millisecond. */
static void wait_ms(pthread_cond_t *c, pthread_mutex_t *lock)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(c, lock, &ts);
}

/* On the loop thread: wakes the parser when it sleeps. */
static void wake_parser(md *m)
{
    if (atomic_load_explicit(&m->sleeping, memory_order_relaxed) &&
        atomic_exchange_explicit(&m->sleeping, 0, memory_order_relaxed)) {
        pthread_mutex_lock(&m->qlock);
        pthread_cond_signal(&m->qcond);
        pthread_mutex_unlock(&m->qlock);
    }
}

/* On the loop thread, at the end of a pass that pushed: the fence between
 * the pushes' head stores and a last look at the parser's sleeping flag.
 * The parser, before it sleeps, stores that flag, fences, and reads the
 * head, so either it sees the pass's last item or this sees it asleep. A
 * fence at every push would wait for all of the push's stores to be done,
 * the copy into a buffer whose lines are on the parser's core among them:
 * that wait was a third of the loop thread's time. */
static int publish_pass(zws_loop *l, void *arg)
{
    md *m = arg;
    m->pass_armed = 0;
    if (l) {
        atomic_thread_fence(memory_order_seq_cst);
        wake_parser(m);
    }
    return 0;
}

/* On the loop thread: the parser's tail and bytes done, read again (the
 * bytes are stored before the tail). */
static void see_tail(md *m)
{
    m->prod.tail_seen = atomic_load_explicit(&m->cons.tail, memory_order_acquire);
    m->prod.bytes_done_seen = atomic_load_explicit(&m->cons.bytes_done, memory_order_relaxed);
}

/* On the loop thread, the ring full at h (of items or of bytes): sleeps
 * until the parser has emptied half of it, leaving the core to the others
 * (the parser wakes it when it sees `full` at one of its tail stores with
 * want_tail and want_bytes passed, each seeing the other's store as the
 * sleeping flag and the head do). */
static void wait_for_room(md *m, uint64_t h)
{
    uint64_t bytes = m->prod.bytes;
    uint64_t want_tail = h > RING / 2 ? h - RING / 2 : 0;
    uint64_t want_bytes = bytes > RING_BYTES / 2 ? bytes - RING_BYTES / 2 : 0;
    atomic_store_explicit(&m->prod.want_tail, want_tail, memory_order_relaxed);
    atomic_store_explicit(&m->prod.want_bytes, want_bytes, memory_order_relaxed);
    bump(&m->ring_waits, 1);
    if (m->strategy == ST_COPY) /* the parser may use the room in back */
        atomic_store_explicit(&m->prod.back_tail, m->prod.back_taken, memory_order_release);
    else
        take_back(m);
    atomic_thread_fence(memory_order_seq_cst); /* the parser is up: see publish_pass */
    wake_parser(m);
    pthread_mutex_lock(&m->qlock);
    atomic_store_explicit(&m->full, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&m->cons.tail, memory_order_seq_cst) < want_tail ||
           atomic_load_explicit(&m->cons.bytes_done, memory_order_acquire) < want_bytes)
        wait_ms(&m->room, &m->qlock);
    atomic_store_explicit(&m->full, 0, memory_order_relaxed);
    pthread_mutex_unlock(&m->qlock);
    see_tail(m);
}

/* On the parser thread, after storing its tail t and bytes_done: wakes the
 * loop thread when it waits for room and has it. */
static void room_made(md *m, uint64_t t)
{
    if (atomic_load_explicit(&m->full, memory_order_seq_cst) &&
        t >= atomic_load_explicit(&m->prod.want_tail, memory_order_relaxed) &&
        m->cons.bytes >= atomic_load_explicit(&m->prod.want_bytes, memory_order_relaxed) &&
        atomic_exchange_explicit(&m->full, 0, memory_order_relaxed)) {
        pthread_mutex_lock(&m->qlock);
        pthread_cond_signal(&m->room);
        pthread_mutex_unlock(&m->qlock);
    }
}

/* An item's fields come as arguments, not in a struct: copying an item
 * whole from the caller's stack loads what was just stored there, and that
 * load waits for every store before it to be done, among them the copy
 * into a buffer whose lines are still on the parser's core. */
static inline __attribute__((always_inline)) void ring_push(md *m, zws_buf *b, size_t len,
                                                            int tag, int symbol)
{
    uint64_t h = atomic_load_explicit(&m->prod.head, memory_order_relaxed);
    if ((h & 63) == 0 && m->strategy != ST_COPY) /* copy takes them in copy_of */
        take_back(m);
    if (h - m->prod.tail_seen >= RING ||
        m->prod.bytes - m->prod.bytes_done_seen >= RING_BYTES) {
        see_tail(m);
        if (h - m->prod.tail_seen >= RING ||
            m->prod.bytes - m->prod.bytes_done_seen >= RING_BYTES)
            wait_for_room(m, h); /* the parser is behind */
    }
    m->prod.bytes += len;
    m->ring[h & (RING - 1)] = (item){.b = b, .len = len, .tag = tag, .sym = symbol};
    atomic_store_explicit(&m->prod.head, h + 1, memory_order_release);
    /* one signal a sleep, not one for each push until the parser is up */
    wake_parser(m);
    if (!m->pass_armed) {
        m->pass_armed = 1;
        if (zws_loop_timer(m->loop, 0, publish_pass, m)) { /* out of memory: now */
            m->pass_armed = 0;
            atomic_thread_fence(memory_order_seq_cst);
            wake_parser(m);
        }
    }
}

static void queue_push(md *m, const item *it)
{
    nnode *n = count_malloc(sizeof *n);
    if (!n)
        return;
    n->next = NULL;
    n->it = *it;
    pthread_mutex_lock(&m->qlock);
    if (m->qn >= RING || m->qbytes >= RING_BYTES) { /* wait as the ring does */
        bump(&m->ring_waits, 1);
        m->qfull = 1;
        while (m->qfull)
            pthread_cond_wait(&m->room, &m->qlock);
    }
    m->qn++;
    m->qbytes += it->len;
    if (m->qtail)
        m->qtail->next = n;
    else
        m->qhead = n;
    m->qtail = n;
    pthread_cond_signal(&m->qcond);
    pthread_mutex_unlock(&m->qlock);
}

static void parser_loop(md *m);

/* The parser thread: its CPU time is read by itself as it ends (a thread's
 * CPU clock is gone once it has been joined). */
static void *parser_main(void *arg)
{
    md *m = arg;
    counting = 1;
    int64_t cpu0 = thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    parser_loop(m);
    m->parser_cpu_ns = thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return NULL;
}

static void parser_loop(md *m)
{
    if (m->strategy == ST_NAIVE) {
        for (;;) {
            pthread_mutex_lock(&m->qlock);
            while (!m->qhead && !atomic_load(&m->stop_parser))
                pthread_cond_wait(&m->qcond, &m->qlock);
            nnode *n = m->qhead;
            if (n) {
                m->qhead = n->next;
                if (!m->qhead)
                    m->qtail = NULL;
                m->qn--;
                m->qbytes -= n->it.len;
                if (m->qfull && m->qn < RING / 2 && m->qbytes < RING_BYTES / 2) {
                    m->qfull = 0;
                    pthread_cond_signal(&m->room);
                }
            }
            pthread_mutex_unlock(&m->qlock);
            if (!n)
                break;
            process_item(m, &n->it);
            free(n);
        }
        return;
    }
    int idle = 0;
    for (;;) {
        uint64_t t = atomic_load_explicit(&m->cons.tail, memory_order_relaxed);
        uint64_t h = atomic_load_explicit(&m->prod.head, memory_order_acquire);
        if (t == h) {
            if (atomic_load(&m->stop_parser))
                break;
            if (++idle < 200) { /* a short spin: the next batch is often near */
                cpu_relax();
                continue;
            }
            /* then sleep until the loop pushes (or a millisecond passes) */
            pthread_mutex_lock(&m->qlock);
            atomic_store_explicit(&m->sleeping, 1, memory_order_seq_cst);
            atomic_thread_fence(memory_order_seq_cst); /* pairs with publish_pass's */
            if (atomic_load_explicit(&m->prod.head, memory_order_seq_cst) == t &&
                !atomic_load(&m->stop_parser)) {
                wait_ms(&m->qcond, &m->qlock);
            }
            atomic_store_explicit(&m->sleeping, 0, memory_order_relaxed);
            pthread_mutex_unlock(&m->qlock);
            idle = 0;
            continue;
        }
        idle = 0;
        /* the tail is published every 64 items and at the batch's end:
         * each store sends its cache line to the loop thread's core */
        for (; t != h; t++) {
            item *it = &m->ring[t & (RING - 1)];
            /* the buffers were written on the loop thread's core: ask for
             * those a few items on while this one is parsed */
            const item *ahead = &m->ring[(t + PREFETCH_AHEAD) & (RING - 1)];
            if (h - t > PREFETCH_AHEAD)
                prefetch_buf(ahead->b, ahead->len, 0);
            process(m, zws_buf_data(it->b), zws_buf_len(it->b), it->tag, it->sym);
            if (it->tag) /* a snapshot: too large to copy messages into */
                zws_buf_unref(it->b);
            else
                give_back(m, it->b);
            m->cons.bytes += it->len;
            if ((t & 63) == 63) {
                atomic_store_explicit(&m->cons.bytes_done, m->cons.bytes, memory_order_relaxed);
                atomic_store_explicit(&m->cons.tail, t + 1, memory_order_seq_cst);
                room_made(m, t + 1);
            }
        }
        atomic_store_explicit(&m->cons.back_head, m->cons.back_given, memory_order_release);
        atomic_store_explicit(&m->cons.bytes_done, m->cons.bytes, memory_order_relaxed);
        atomic_store_explicit(&m->cons.tail, t, memory_order_seq_cst);
        room_made(m, t);
    }
}

/* A message or a snapshot, on the loop thread: parse here or hand off. */
static inline __attribute__((always_inline)) void deliver(md *m, item *it)
{
    if (m->strategy == ST_INLINE) {
        process_item(m, it);
        return;
    }
    if (m->strategy == ST_NAIVE && it->b) { /* snapshots come as zws_bufs */
        it->raw = count_malloc(zws_buf_len(it->b) ? zws_buf_len(it->b) : 1);
        if (!it->raw) {
            zws_buf_unref(it->b);
            return;
        }
        memcpy(it->raw, zws_buf_data(it->b), zws_buf_len(it->b));
        it->len = zws_buf_len(it->b);
        zws_buf_unref(it->b);
        it->b = NULL;
    }
    if (m->strategy == ST_NAIVE)
        queue_push(m, it);
    else
        ring_push(m, it->b, it->len, it->tag, it->sym);
}

/* ---- record ---- */

/* The recording format: an 8-byte magic "ZWSMDR1\n", then per message a
 * 16-byte header -- receive time (ns since the epoch, u64 little-endian),
 * payload length (u32 LE), opcode (u8), connection index (u8), two zero
 * bytes -- and the payload. */
static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void record(md *m, int conn, unsigned op, const uint8_t *data, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint8_t h[16] = {0};
    put_le(h, (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec, 8);
    put_le(h + 8, len, 4);
    h[12] = (uint8_t)op;
    h[13] = (uint8_t)conn;
    if (fwrite(h, 1, 16, m->record) != 16 || fwrite(data, 1, len, m->record) != len) {
        if (!m->first_error[0])
            snprintf(m->first_error, sizeof m->first_error, "cannot write the recording: %s",
                     strerror(errno));
        fclose(m->record);
        m->record = NULL;
        m->exit_code = TOOL_EXIT_OUTPUT;
        return;
    }
    m->recorded++;
}

/* ---- connections ---- */

static const zws_handlers handlers;

static void shard_connect(zws_loop *l, shard *s)
{
    md *m = s->m;
    char url[1024];
    snprintf(url, sizeof url, "%s/stream", m->url);
    if (zws_loop_connect(l, url, &handlers, s) && !m->first_error[0])
        snprintf(m->first_error, sizeof m->first_error, "bad URL '%.100s'", url);
}

static void send_subscribe(shard *s)
{
    size_t cap = 64;
    for (int i = 0; i < s->nstreams; i++)
        cap += strlen(s->streams[i]) + 3;
    char *req = malloc(cap);
    if (!req)
        return;
    size_t n = (size_t)snprintf(req, cap, "{\"method\":\"SUBSCRIBE\",\"params\":[");
    for (int i = 0; i < s->nstreams; i++)
        n += (size_t)snprintf(req + n, cap - n, "%s\"%s\"", i ? "," : "", s->streams[i]);
    n += (size_t)snprintf(req + n, cap - n, "],\"id\":%d}", s->index + 1);
    zws_ws_send(s->ws, ZWS_OP_TEXT, req, n);
    free(req);
}

static void on_open(zws_ws *ws)
{
    shard *s = zws_ws_user(ws);
    md *m = s->m;
    s->ws = ws;
    if (s->down_since >= 0 && s->ever_up) {
        bump(&m->reconnects, 1);
        if (!m->quiet && !m->view)
            fprintf(stderr, "zws md: connection %d back after %lld ms (attempt %d)\n", s->index,
                    (long long)(zws_loop_now(zws_ws_loop(ws)) - s->down_since), s->attempt);
    }
    s->ever_up = 1;
    s->attempt = 0;
    s->down_since = -1;
    send_subscribe(s);
}

static void on_message(zws_ws *ws, unsigned op, const uint8_t *data, size_t len)
{
    shard *s = zws_ws_user(ws);
    md *m = s->m;
    if (m->record)
        record(m, s->index, op, data, len);
    if (m->strategy == ST_INLINE) {
        process(m, data, len, 0, 0);
        return;
    }
    if (m->strategy == ST_COPY) {
        zws_buf *b = copy_of(m, data, len);
        if (b)
            ring_push(m, b, len, 0, 0);
        return;
    }
    item it = {.len = len};
    if (m->strategy == ST_REF) {
        if (zws_ws_keep(ws, &it.b))
            it.b = NULL;
    } else {
        it.raw = count_malloc(len ? len : 1);
        if (it.raw)
            memcpy(it.raw, data, len);
    }
    if (!it.b && !it.raw)
        return;
    deliver(m, &it);
}

static int reconnect_timer(zws_loop *l, void *arg)
{
    shard *s = arg;
    if (l && s->m->phase < 2)
        shard_connect(l, s);
    return 0;
}

static void on_close(zws_ws *ws, uint16_t code, const char *reason, size_t len)
{
    shard *s = zws_ws_user(ws);
    md *m = s->m;
    zws_loop *l = zws_ws_loop(ws);
    s->ws = NULL;
    if (m->phase == 2)
        return;
    if (s->down_since < 0)
        s->down_since = zws_loop_now(l);
    if (!m->quiet && !m->view)
        fprintf(stderr, "zws md: connection %d closed (%u%s%.*s); reconnecting\n", s->index,
                code, len ? ": " : "", (int)len, reason);
    if (!s->ever_up && s->attempt >= 3 && !m->feed) {
        snprintf(m->first_error, sizeof m->first_error, "cannot connect to %s: %.*s", m->url,
                 (int)len, reason);
    }
    /* the books of this shard's symbols lost events: they resync on the
     * next event (its U is past their update id) */
    int backoff = 100 << (s->attempt < 7 ? s->attempt : 7); /* to 12.8 s */
    s->attempt++;
    unsigned r = (unsigned)rand();
    int delay = backoff / 2 + (int)(r % (unsigned)backoff); /* jitter: 0.5x to 1.5x */
    zws_loop_timer(l, delay, reconnect_timer, s);
}

static const zws_handlers handlers = {.open = on_open, .message = on_message,
                                      .close = on_close};

/* ---- the view ---- */

static void summary_line(md *m, char *buf, size_t cap, double secs)
{
    uint64_t n = ld(&m->msgs);
    snprintf(buf, cap, "%llu messages in %.1f s: %.0f/s", (unsigned long long)n, secs,
             secs > 0 ? (double)n / secs : 0);
}

static void draw(md *m, int final)
{
    FILE *f = stdout;
    double secs = (double)(tool_now_ns() - m->t0_ns) / 1e9;
    static uint64_t prev_kind[ZWS_MD_KIND_COUNT];
    static int64_t prev_ns;
    int64_t now = tool_now_ns();
    double dt = prev_ns ? (double)(now - prev_ns) / 1e9 : secs;
    prev_ns = now;
    if (m->view && m->view_lines)
        fprintf(f, "\033[%dA", m->view_lines);
    int lines = 0;
    char line[256];
    summary_line(m, line, sizeof line, secs);
    fprintf(f, "\033[2Kzws md  %s  [%s, %s]\n", line, strategy_names[m->strategy],
            m->feed ? "in-process feed" : m->url);
    lines++;
    for (int k = 1; k < ZWS_MD_KIND_COUNT; k++) {
        uint64_t v = ld(&m->by_kind[k]);
        if (!v)
            continue;
        fprintf(f, "\033[2K  %-12s %12llu  %10.0f/s\n", zws_md_kind_name(k),
                (unsigned long long)v,
                final ? (secs > 0 ? (double)v / secs : 0) /* the last frame: the run's mean */
                      : (dt > 0 ? (double)(v - prev_kind[k]) / dt : 0));
        prev_kind[k] = v;
        lines++;
    }
    uint64_t pn = ld(&m->parse_ns_n);
    uint64_t allocs = atomic_load(&n_allocs);
    uint64_t msgs = ld(&m->msgs);
    double apm = msgs > m->msgs_at_first && m->first_msg_ns
                     ? (double)(allocs - m->allocs_at_first) / (double)(msgs - m->msgs_at_first)
                     : 0;
    fprintf(f, "\033[2K  parse %.0f ns/msg   allocations %.3f/msg   latency p50 %.1f us  p99 "
               "%.1f us  p99.9 %.1f us%s\n",
            pn ? (double)ld(&m->parse_ns_sum) / (double)pn - m->clock_ns : 0, apm,
            (double)ld(&m->lat_p50) / 1e3, (double)ld(&m->lat_p99) / 1e3,
            (double)ld(&m->lat_p999) / 1e3, m->feed ? "" : " (from E, ms clock)");
    lines++;
    fprintf(f, "\033[2K  reconnects %llu   book gaps %llu   snapshots %llu   parse errors %llu\n",
            (unsigned long long)ld(&m->reconnects), (unsigned long long)ld(&m->gaps),
            (unsigned long long)ld(&m->snapshots), (unsigned long long)ld(&m->parse_errors));
    lines++;
    for (int i = 0; i < m->nsyms && i < 8; i++) {
        char b[32], a[32];
        int64_t bid = atomic_load_explicit(&m->syms[i].view_bid, memory_order_relaxed);
        int64_t ask = atomic_load_explicit(&m->syms[i].view_ask, memory_order_relaxed);
        size_t bl = zws_md_format_decimal(b, bid, 8), al = zws_md_format_decimal(a, ask, 8);
        fprintf(f, "\033[2K  %-10s bid %14.*s   ask %14.*s\n", m->syms[i].name, (int)bl, b,
                (int)al, a);
        lines++;
    }
    m->view_lines = lines;
    fflush(f);
}

static void update_latency(md *m)
{
    /* the histogram is the parsing thread's; a racy read here is only for
     * the live view, the summary reads it after that thread stopped */
    atomic_store_explicit(&m->lat_p50, hist_pct(&m->lat, 0.50), memory_order_relaxed);
    atomic_store_explicit(&m->lat_p99, hist_pct(&m->lat, 0.99), memory_order_relaxed);
    atomic_store_explicit(&m->lat_p999, hist_pct(&m->lat, 0.999), memory_order_relaxed);
}

/* ---- the run's timeline (a loop timer) ---- */

static void finish(md *m)
{
    m->phase = 2;
    m->allocs_at_end = atomic_load(&n_allocs);
    m->last_msg_ns = tool_now_ns();
    int64_t cpu = thread_cpu_ns(m->loop_clock) - m->loop_cpu0;
    m->cpu_ns_per_msg = cpu; /* the parser's share is added once it stopped */
    zws_server_stop(m->srv);
}

static int control(zws_loop *l, void *arg)
{
    md *m = arg;
    if (!l)
        return 0;
    int64_t now = zws_loop_now(l);
    if (!m->first_msg_ns && ld(&m->msgs) > 0) {
        /* steady state starts with the first message: connection setup,
         * buffers and books are behind us */
        m->first_msg_ns = tool_now_ns();
        m->allocs_at_first = atomic_load(&n_allocs);
        m->msgs_at_first = ld(&m->msgs);
    }
    update_latency(m);
    if (m->view)
        draw(m, 0);
    /* the last injected loss must be followed by events that reveal it:
     * none in the final 1.5 s of a check (the slowest stream comes once a
     * second) */
    if (m->feed && m->verify && m->duration > 0 && now >= m->t_end_ms - 1500)
        zws_md_feed_set_loss(m->feed, 0);
    if (m->phase == 0 && m->duration > 0 && now >= m->t_end_ms) {
        if (m->verify && m->feed) {
            zws_md_feed_pause(m->feed, 1);
            m->phase = 1;
            m->verify_deadline = now + 5000;
            m->verify_sent = 0;
        } else {
            finish(m);
            return 0;
        }
    }
    if (m->phase == 1) {
        /* the feed flushed its last diffs; once every book took them, ask
         * for each symbol's snapshot and compare */
        int pending = 0;
        for (int i = 0; i < m->nsyms; i++) {
            sym *y = &m->syms[i];
            if (!y->book)
                continue;
            if (!y->verified)
                pending = 1;
        }
        if (!m->verify_sent && now + 4500 >= m->verify_deadline) {
            for (int i = 0; i < m->nsyms; i++)
                if (m->syms[i].book)
                    request_snapshot(m, i, 2);
            m->verify_sent = 1;
        }
        if (!pending || now >= m->verify_deadline) {
            finish(m);
            return 0;
        }
    }
    return 100;
}

static void start(zws_loop *l, void *arg)
{
    md *m = arg;
    counting = 1;
    m->loop = l;
    pthread_getcpuclockid(pthread_self(), &m->loop_clock);
    m->loop_cpu0 = thread_cpu_ns(m->loop_clock);
    m->t0_ns = tool_now_ns();
    m->t_end_ms = zws_loop_now(l) + (int64_t)(m->duration * 1000);
    for (int i = 0; i < m->nshards; i++)
        shard_connect(l, &m->shards[i]);
    zws_loop_timer(l, m->view ? 250 : 100, control, m);
}

/* ---- the summary ---- */

static long max_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
}

static void print_summary(md *m)
{
    double secs = (double)(m->last_msg_ns - (m->first_msg_ns ? m->first_msg_ns : m->t0_ns)) / 1e9;
    uint64_t msgs = ld(&m->msgs), steady = msgs - m->msgs_at_first;
    double rate = secs > 0 ? (double)steady / secs : 0;
    double apm = steady ? (double)(m->allocs_at_end - m->allocs_at_first) / (double)steady : 0;
    uint64_t pn = ld(&m->parse_ns_n);
    double parse_ns = pn ? (double)ld(&m->parse_ns_sum) / (double)pn - m->clock_ns : 0;
    if (parse_ns < 0)
        parse_ns = 0;
    double cpu = msgs ? m->cpu_ns_per_msg / (double)msgs : 0;
    double parser_cpu = msgs ? (double)m->parser_cpu_ns / (double)msgs : 0; /* in cpu */
    int checked = 0, equal = 0;
    for (int i = 0; i < m->nsyms; i++)
        if (m->syms[i].verified) {
            checked++;
            equal += m->syms[i].verified > 0;
        }
    uint64_t p50 = hist_pct(&m->lat, 0.5), p99 = hist_pct(&m->lat, 0.99),
             p999 = hist_pct(&m->lat, 0.999);
    if (m->json) {
        printf("{\"strategy\":\"%s\",\"messages\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,"
               "\"consumer_ns_per_msg\":%.1f,\"parser_ns_per_msg\":%.1f,\"parse_ns\":%.1f,"
               "\"allocs_per_msg\":%.4f,"
               "\"latency_ns\":{\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,\"samples\":%llu},"
               "\"by_kind\":{",
               strategy_names[m->strategy], (unsigned long long)msgs, secs, rate, cpu, parser_cpu,
               parse_ns,
               apm, (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)p999,
               (unsigned long long)hist_count(&m->lat));
        int first = 1;
        for (int k = 1; k < ZWS_MD_KIND_COUNT; k++)
            if (ld(&m->by_kind[k])) {
                printf("%s\"%s\":%llu", first ? "" : ",", zws_md_kind_name(k),
                       (unsigned long long)ld(&m->by_kind[k]));
                first = 0;
            }
        printf("},\"parse_errors\":%llu,\"reconnects\":%llu,\"gaps\":%llu,\"snapshots\":%llu,"
               "\"ring_waits\":%llu,\"books_checked\":%d,\"books_equal\":%d,\"recorded\":%llu,"
               "\"max_rss_kb\":%ld,\"connections\":%d}\n",
               (unsigned long long)ld(&m->parse_errors), (unsigned long long)ld(&m->reconnects),
               (unsigned long long)ld(&m->gaps), (unsigned long long)ld(&m->snapshots),
               (unsigned long long)ld(&m->ring_waits), checked, equal,
               (unsigned long long)m->recorded, max_rss_kb(), m->nshards);
        return;
    }
    FILE *f = m->view ? stdout : stderr;
    fprintf(f, "\nsummary (%s): %llu messages, %.0f/s over %.2f s of steady state\n",
            strategy_names[m->strategy], (unsigned long long)msgs, rate, secs);
    fprintf(f, "  consumer CPU %.0f ns/msg (its threads' CPU time), parse %.0f ns/msg, "
               "allocations %.3f/msg\n",
            cpu, parse_ns, apm);
    fprintf(f, "  latency %s: p50 %.1f us, p99 %.1f us, p99.9 %.1f us (%llu samples)\n",
            m->feed ? "feed send to parse" : "event time to parse", (double)p50 / 1e3,
            (double)p99 / 1e3, (double)p999 / 1e3, (unsigned long long)hist_count(&m->lat));
    fprintf(f, "  reconnects %llu, book gaps %llu, snapshots %llu, parse errors %llu",
            (unsigned long long)ld(&m->reconnects), (unsigned long long)ld(&m->gaps),
            (unsigned long long)ld(&m->snapshots), (unsigned long long)ld(&m->parse_errors));
    if (m->strategy == ST_COPY || m->strategy == ST_REF)
        fprintf(f, ", ring full %llu times", (unsigned long long)ld(&m->ring_waits));
    fprintf(f, "\n");
    if (m->verify)
        fprintf(f, "  book check: %d of %d books equal the feed's (top 1000 levels a side)\n",
                equal, checked);
    if (m->record_path)
        fprintf(f, "  recorded %llu messages to %s\n", (unsigned long long)m->recorded,
                m->record_path);
}

/* ---- the command ---- */

void cmd_md_usage(FILE *f)
{
    fprintf(f,
        "Usage: zws md [URL] [options]\n\n"
        "Consumes an exchange's market streams (Binance's spot format), parsing\n"
        "every message in place with zws's zero-copy extractor, keeping a local\n"
        "order book per symbol with a depth stream (REST snapshot, then the diff\n"
        "stream, resynced on a gap), and showing a live view: messages/s by\n"
        "type, parse cost, allocations, latency, best bid/ask, reconnects.\n"
        "Without URL it starts a feed in this process on loopback (zws feed's),\n"
        "so it runs offline; with one (wss://stream.binance.com:9443) it\n"
        "subscribes there, and fetches snapshots from --rest.\n\n"
        "Options:\n"
        "  -s, --streams LIST     comma-separated streams (default: bookTicker, trade\n"
        "                         and depth@100ms of each --symbols symbol)\n"
        "      --symbols LIST     symbols for the default streams and the in-process\n"
        "                         feed (default btcusdt,ethusdt,solusdt,bnbusdt)\n"
        "  -S, --strategy NAME    inline, copy, ref or naive (default inline)\n"
        "  -c, --conns N          spread the streams over N connections (default: as\n"
        "                         many as --per-conn needs)\n"
        "      --per-conn N       streams a connection carries (default 1024)\n"
        "  -d, --duration S       run S seconds, then print the summary (default 5;\n"
        "                         0 = until SIGINT)\n"
        "  -r, --rate N|max       the in-process feed's rate (default 1000 steps a\n"
        "                         second per symbol; max: as fast as possible)\n"
        "      --seed N           the in-process feed's seed\n"
        "      --drop-every N     the in-process feed drops one depth event in N\n"
        "      --kick-every S     the in-process feed closes every connection each S\n"
        "                         seconds (1012), as a restarting service would\n"
        "      --ca FILE          trust this CA for wss:// and https:// too\n"
        "  -k, --insecure         do not verify the server's certificate\n"
        "      --deflate          offer permessage-deflate (the in-process feed accepts it)\n"
        "      --verify           at the end, pause the feed and check each book's top\n"
        "                         1000 levels against its snapshot (in-process feed)\n"
        "      --rest URL         REST base for snapshots (default: the stream URL's\n"
        "                         host as http(s)://)\n"
        "      --record FILE      write every message with its receive time (format\n"
        "                         in README; zws feed --replay serves it)\n"
        "      --work-ns N        spend N ns of CPU on each message after parsing it\n"
        "                         (a consumer slower than its feed)\n"
        "      --no-view          no live view, only the summary\n"
        "      --json             the summary as one JSON object on stdout\n"
        "  -q, --quiet            no lines on stderr but errors\n"
        "  -h, --help             show this help\n\n"
        "Exit status: 0 done, 1 usage, 2 never connected, 3 messages failed to\n"
        "parse or a book check failed, 4 output could not be written.\n");
}

static int split(const char *list, char ***out)
{
    int n = 0, cap = 16;
    char **v = malloc((size_t)cap * sizeof *v);
    char *copy = strdup(list);
    if (!v || !copy) {
        free(v);
        free(copy);
        return -1;
    }
    for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == cap) {
            cap *= 2;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                return -1;
            v = nv;
        }
        v[n++] = strdup(t);
    }
    free(copy);
    *out = v;
    return n;
}

static void *feed_main(void *arg)
{
    zws_md_feed_run(arg);
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    if (the_md && the_md->srv)
        zws_server_stop(the_md->srv);
}

int cmd_md(int argc, char **argv)
{
    static const struct option longs[] = {
        {"streams", required_argument, NULL, 's'}, {"symbols", required_argument, NULL, 'Y'},
        {"strategy", required_argument, NULL, 'S'}, {"conns", required_argument, NULL, 'c'},
        {"per-conn", required_argument, NULL, 'P'}, {"duration", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'r'},    {"seed", required_argument, NULL, 'E'},
        {"drop-every", required_argument, NULL, 'D'}, {"verify", no_argument, NULL, 'V'},
        {"rest", required_argument, NULL, 'R'},    {"record", required_argument, NULL, 'W'},
        {"no-view", no_argument, NULL, 'n'},       {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"work-ns", required_argument, NULL, 'w'},
        {"kick-every", required_argument, NULL, 'K'},
        {"ca", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'k'},
        {"deflate", no_argument, NULL, 'Z'},
        {NULL, 0, NULL, 0}};
    static md mm;
    md *m = &mm;
    memset(m, 0, sizeof *m);
    m->duration = 5;
    m->rate = 1000;
    m->per_conn = 1024;
    m->seed = 1;
    m->view = -1;
    const char *streams = NULL;
    uint64_t v;
    opterr = 0;
    optind = 1;
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, ":s:S:c:d:r:kqh", longs, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 's': streams = optarg; break;
        case 'Y': m->symbols = optarg; break;
        case 'S': {
            int k = -1;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, strategy_names[i]) == 0)
                    k = i;
            if (k < 0)
                return tool_usage_error(CMD, "--strategy takes inline, copy, ref or naive, not "
                                             "'%s'", optarg);
            m->strategy = k;
            break;
        }
        case 'c':
            if (tool_parse_u64(optarg, 256, 0, &v) || !v)
                return tool_usage_error(CMD, "bad --conns '%s' (1 to 256)", optarg);
            m->nconns = (int)v;
            break;
        case 'P':
            if (tool_parse_u64(optarg, 1024, 0, &v) || !v)
                return tool_usage_error(CMD, "bad --per-conn '%s' (1 to 1024)", optarg);
            m->per_conn = (int)v;
            break;
        case 'd': {
            char *end;
            m->duration = strtod(optarg, &end);
            if (*end || m->duration < 0 || m->duration > 1e7)
                return tool_usage_error(CMD, "bad --duration '%s'", optarg);
            break;
        }
        case 'r':
            if (strcmp(optarg, "max") == 0) {
                m->rate = 0;
            } else {
                char *end;
                m->rate = strtod(optarg, &end);
                if (*end || !(m->rate > 0))
                    return tool_usage_error(CMD, "bad --rate '%s'", optarg);
            }
            break;
        case 'E':
            if (tool_parse_u64(optarg, UINT64_MAX, 0, &m->seed))
                return tool_usage_error(CMD, "bad --seed '%s'", optarg);
            break;
        case 'D':
            if (tool_parse_u64(optarg, INT32_MAX, 0, &v))
                return tool_usage_error(CMD, "bad --drop-every '%s'", optarg);
            m->drop_every = (int)v;
            break;
        case 'V': m->verify = 1; break;
        case 'R': m->rest = optarg; break;
        case 'W': m->record_path = optarg; break;
        case 'n': m->view = 0; break;
        case 'K': {
            char *end;
            double secs = strtod(optarg, &end);
            if (*end || !(secs > 0) || secs > 1e6)
                return tool_usage_error(CMD, "bad --kick-every '%s'", optarg);
            m->kick_ms = (int)(secs * 1000);
            break;
        }
        case 'A': m->ca = optarg; break;
        case 'k': m->insecure = 1; break;
        case 'Z': m->deflate = 1; break;
        case 'w':
            if (tool_parse_u64(optarg, 100000000, 0, &v))
                return tool_usage_error(CMD, "bad --work-ns '%s'", optarg);
            m->work_ns = (int64_t)v;
            break;
        case 'j': m->json = 1; break;
        case 'q': m->quiet = 1; break;
        case 'h': cmd_md_usage(stdout); return TOOL_EXIT_OK;
        default: return tool_bad_option(CMD, c, argv, prev);
        }
    }
    if (optind < argc)
        m->url = argv[optind++];
    if (optind < argc)
        return tool_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if ((m->verify || m->kick_ms || m->drop_every) && m->url)
        return tool_usage_error(CMD, "--verify, --kick-every and --drop-every are for the "
                                     "in-process feed: no URL");
    if (m->verify && m->duration == 0)
        return tool_usage_error(CMD, "--verify needs a --duration");
    if (m->view < 0)
        m->view = !m->json && isatty(1);
    /* the streams, and the symbols they name */
    int code = 0; /* past here, every exit goes through out: (frees what was made) */
    const char *symlist = m->symbols ? m->symbols : "btcusdt,ethusdt,solusdt,bnbusdt";
    char **syms;
    int nsyms = split(symlist, &syms);
    if (nsyms <= 0) {
        if (nsyms == 0)
            free(syms);
        return tool_usage_error(CMD, "bad --symbols '%s'", symlist);
    }
    if (streams) {
        m->nstreams = split(streams, &m->streams);
    } else {
        m->streams = malloc((size_t)nsyms * 3 * sizeof *m->streams);
        static const char *const kinds[] = {"bookTicker", "trade", "depth@100ms"};
        for (int i = 0; i < nsyms; i++)
            for (int k = 0; k < 3; k++) {
                char b[96];
                snprintf(b, sizeof b, "%s@%s", syms[i], kinds[k]);
                m->streams[m->nstreams++] = strdup(b);
            }
    }
    if (m->nstreams <= 0)
        {
            code = tool_usage_error(CMD, "no streams");
            goto out;
        }
    for (int i = 0; i < m->nstreams; i++) {
        const char *s = m->streams[i], *at = strchr(s, '@');
        if (!at || at == s)
            {
                code = tool_usage_error(CMD, "bad stream '%s' (<symbol>@<type>)", s);
                goto out;
            }
        int si = sym_add(m, s, (size_t)(at - s));
        if (si < 0)
            {
                code = tool_usage_error(CMD, "too many symbols");
                goto out;
            }
        if (strncmp(at + 1, "depth", 5) == 0 && (at[6] == 0 || at[6] == '@') &&
            !m->syms[si].book && zws_md_book_new(&m->syms[si].book)) {
            code = TOOL_EXIT_CONNECT;
            goto out;
        }
    }
    /* shards */
    m->nshards = m->nconns ? m->nconns : (m->nstreams + m->per_conn - 1) / m->per_conn;
    if (m->nshards > m->nstreams)
        m->nshards = m->nstreams;
    m->shards = calloc((size_t)m->nshards, sizeof *m->shards);
    for (int i = 0; i < m->nshards; i++) {
        m->shards[i] = (shard){.m = m, .index = i, .down_since = -1};
        m->shards[i].streams = malloc((size_t)m->nstreams * sizeof(char *));
    }
    for (int i = 0; i < m->nstreams; i++) {
        shard *s = &m->shards[i % m->nshards];
        s->streams[s->nstreams++] = m->streams[i];
    }
    for (int i = 0; i < m->nshards; i++)
        if (m->shards[i].nstreams > m->per_conn) {
            code = tool_usage_error(CMD, "%d streams do not fit %d connections of %d",
                                    m->nstreams, m->nshards, m->per_conn);
            goto out;
        }
    /* the parser's level storage: a snapshot of 5000 levels a side */
    m->levels_buf = malloc(10000 * sizeof *m->levels_buf);
    zws_md_parser_init(&m->parser, m->levels_buf, 10000);
    zws_set_allocator(count_malloc, count_realloc, free);
    m->clock_ns = clock_pair_ns();
    char err[512] = "";
    char urlbuf[256], restbuf[256];
    zws_opts *o;
    int r = zws_opts_new(&o);
    if (r) {
        code = TOOL_EXIT_CONNECT;
        goto out;
    }
    zws_opts_set_limits(o, 64u << 20, 64u << 20);
    if (m->ca && zws_opts_set_ca_file(o, m->ca)) {
        fprintf(stderr, "zws %s: cannot use the CA file %s\n", CMD, m->ca);
        zws_opts_free(o);
        code = TOOL_EXIT_USAGE;
        goto out;
    }
    zws_opts_set_insecure(o, m->insecure);
    if (m->deflate) {
        zws_deflate_opts d = {0};
        zws_opts_set_deflate(o, &d);
    }
    r = zws_server_new(&m->srv, o, err, sizeof err);
    zws_opts_free(o);
    if (r) {
        fprintf(stderr, "zws %s: %s\n", CMD, *err ? err : zws_strerror(r));
        code = TOOL_EXIT_CONNECT;
        goto out;
    }
    if (m->record_path) {
        m->record = fopen(m->record_path, "wb");
        if (!m->record) {
            fprintf(stderr, "zws %s: cannot open %s: %s\n", CMD, m->record_path, strerror(errno));
            code = TOOL_EXIT_OUTPUT;
            goto out;
        }
        fwrite("ZWSMDR1\n", 1, 8, m->record);
    }
    if (m->strategy == ST_COPY || m->strategy == ST_REF) {
        m->ring = malloc(RING * sizeof *m->ring);
        m->back = malloc(BACK * sizeof *m->back);
        if (!m->ring || !m->back) {
            fprintf(stderr, "zws %s: out of memory\n", CMD);
            code = TOOL_EXIT_CONNECT;
            goto out;
        }
    }
    if (!m->url) {
        zws_md_feed_opts fo = {.symbols = symlist, .seed = m->seed, .rate = m->rate,
                               .drop_every = m->drop_every, .kick_every_ms = m->kick_ms,
                               .quiet = 1, .deflate = m->deflate};
        if (zws_md_feed_new(&m->feed, &fo, err, sizeof err) ||
            zws_md_feed_listen(m->feed, "127.0.0.1", 0, err, sizeof err)) {
            fprintf(stderr, "zws %s: the in-process feed: %s\n", CMD, err);
            code = TOOL_EXIT_CONNECT;
            goto out;
        }
        snprintf(urlbuf, sizeof urlbuf, "ws://127.0.0.1:%u", zws_md_feed_port(m->feed));
        m->url = urlbuf;
        pthread_create(&m->feed_thread, NULL, feed_main, m->feed);
    } else {
        size_t ul = strlen(m->url);
        while (ul && m->url[ul - 1] == '/')
            ul--;
        snprintf(urlbuf, sizeof urlbuf, "%.*s", (int)ul, m->url);
        m->url = urlbuf;
    }
    if (!m->rest) {
        int tls = strncmp(m->url, "wss://", 6) == 0;
        const char *host = m->url + (tls ? 6 : 5);
        snprintf(restbuf, sizeof restbuf, "%s://%s", tls ? "https" : "http", host);
        m->rest = restbuf;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&m->rlock, NULL);
    pthread_cond_init(&m->rcond, NULL);
    pthread_mutex_init(&m->qlock, NULL);
    pthread_cond_init(&m->qcond, NULL);
    pthread_cond_init(&m->room, NULL);
    pthread_create(&m->rest_thread, NULL, rest_main, m);
    m->rest_thread_started = 1;
    if (m->strategy != ST_INLINE) {

        pthread_create(&m->parser_thread, NULL, parser_main, m);
        m->have_parser = 1;
    }
    zws_server_set_timeouts(m->srv, 0, 30000, 30000);
    zws_server_on_loop(m->srv, start, m);
    the_md = m;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (m->view)
        fprintf(stdout, "\033[?25l"); /* no cursor while redrawing */
    r = zws_server_run(m->srv, 1);
    if (m->phase != 2) /* stopped by a signal */
        finish(m);
    if (m->have_parser) {
        atomic_store(&m->stop_parser, 1);
        pthread_mutex_lock(&m->qlock);
        pthread_cond_signal(&m->qcond);
        pthread_mutex_unlock(&m->qlock);
        pthread_join(m->parser_thread, NULL);
        m->cpu_ns_per_msg += (double)m->parser_cpu_ns;
        if (m->back) /* the loop has ended: what the parser gave back last */
            take_back(m);
    }
    pthread_mutex_lock(&m->rlock);
    m->rest_stop = 1;
    pthread_cond_signal(&m->rcond);
    pthread_mutex_unlock(&m->rlock);
    pthread_join(m->rest_thread, NULL);
    zws_md_feed_stats fst;
    double feed_secs = (double)(tool_now_ns() - m->t0_ns) / 1e9;
    if (m->feed) {
        zws_md_feed_stop(m->feed);
        pthread_join(m->feed_thread, NULL);
        zws_md_feed_stats_get(m->feed, &fst);
    }
    if (m->view) {
        update_latency(m);
        draw(m, 1);
        fprintf(stdout, "\033[?25h");
    }
    if (m->record && fclose(m->record) && !m->exit_code) {
        fprintf(stderr, "zws %s: cannot write %s: %s\n", CMD, m->record_path, strerror(errno));
        m->exit_code = TOOL_EXIT_OUTPUT;
    }
    m->record = NULL;
    print_summary(m);
    if (m->feed && !m->json)
        tool_feed_summary(m->view ? stdout : stderr, &fst, feed_secs, 0);
    if (tool_flush_stdout(CMD) && !m->exit_code)
        m->exit_code = TOOL_EXIT_OUTPUT;
    code = m->exit_code;
    if (!code && ld(&m->msgs) == 0) {
        fprintf(stderr, "zws %s: no messages%s%s\n", CMD, m->first_error[0] ? ": " : "",
                m->first_error);
        code = TOOL_EXIT_CONNECT;
    } else if (!code && ld(&m->parse_errors)) {
        fprintf(stderr, "zws %s: %llu messages did not parse; the first: %s\n", CMD,
                (unsigned long long)ld(&m->parse_errors), m->first_error);
        code = TOOL_EXIT_PROTOCOL;
    }
    if (!code && m->verify) {
        for (int i = 0; i < m->nsyms; i++)
            if (m->syms[i].book && m->syms[i].verified != 1) {
                fprintf(stderr, "zws %s: the book of %s does not equal the feed's\n", CMD,
                        m->syms[i].name);
                code = TOOL_EXIT_PROTOCOL;
            }
    }
out:
    if (m->record) /* an early exit */
        fclose(m->record);
    zws_server_free(m->srv);
    zws_md_feed_free(m->feed);
    for (int i = 0; i < m->nsyms; i++)
        zws_md_book_free(m->syms[i].book);
    for (int i = 0; i < m->nshards; i++)
        free(m->shards[i].streams);
    free(m->shards);
    for (int i = 0; i < m->nstreams; i++)
        free(m->streams[i]);
    free(m->streams);
    for (int i = 0; i < nsyms; i++)
        free(syms[i]);
    free(syms);
    free(m->levels_buf);
    free(m->ring);
    free(m->back);
    if (m->rest_thread_started)
        curl_global_cleanup();
    return code;
}
