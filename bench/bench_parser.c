/* The parser end to end (header, unmask, UTF-8 check, reassembly) against
 * the naive design: a heap copy of every frame's payload, and fragmented
 * messages kept as a list of fragment copies joined at the end. Both sides
 * use the same masking and UTF-8 kernels, so the ratio measures the design,
 * not the kernels (their own tables measure those).
 *
 * The parser unmasks in place. So that one input buffer can be parsed again
 * and again, the text is printable ASCII and the key's bytes are below 0x80:
 * masked or unmasked, the bytes stay valid UTF-8, and the work per byte is
 * the same either way. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "zws/zws.h"

static const uint8_t KEY[4] = {0x1f, 0x2e, 0x3d, 0x4c};

size_t bench_frames(uint8_t *out, size_t total, size_t payload_len, unsigned opcode,
                    int masked, size_t *nframes)
{
    static const char text[] = "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"p\":\"43210.5\","
                               "\"q\":\"0.012\",\"T\":1700000000000,\"m\":true}";
    size_t off = 0, n = 0;
    do {
        int h = zws_frame_write_header(out + off, opcode, 1, 0, payload_len,
                                       masked ? KEY : NULL);
        off += (size_t)h;
        for (size_t i = 0; i < payload_len; i++)
            out[off + i] = (uint8_t)text[i % (sizeof text - 1)] ^
                           (masked ? KEY[i & 3] : 0);
        off += payload_len;
        n++;
    } while (off < total);
    *nframes = n;
    return off;
}

typedef struct ctx {
    uint8_t *buf;
    size_t len;
    size_t msgs;
    size_t msg_len;
    zws_parser *p;
} ctx;

static void run_zws(void *arg, uint64_t n)
{
    ctx *c = arg;
    while (n--) {
        size_t off = 0, used, got = 0;
        zws_event ev;
        int r;
        while ((r = zws_parser_next(c->p, c->buf + off, c->len - off, &used, &ev)) > 0) {
            off += used;
            bench_sink(ev.data);
            got++;
        }
        if (r < 0 || got != c->msgs)
            abort();
    }
}

/* ---- the naive design ---- */
typedef struct frag {
    struct frag *next;
    size_t len;
    uint8_t bytes[];
} frag;

static void deliver_naive(uint8_t *msg, size_t len)
{
    bench_sink(msg);
    (void)len;
    bench_free(msg);
}

static void run_naive(void *arg, uint64_t n)
{
    ctx *c = arg;
    while (n--) {
        size_t off = 0, got = 0, total = 0;
        frag *head = NULL, **tail = &head;
        zws_utf8 v = ZWS_UTF8_INIT;
        zws_frame f;
        while (off < c->len) {
            int h = zws_frame_parse(&f, c->buf + off, c->len - off, ZWS_ROLE_SERVER,
                                    0, UINT64_MAX >> 1, NULL);
            if (h <= 0)
                abort();
            size_t plen = (size_t)f.len;
            frag *fr = bench_malloc(sizeof *fr + plen);
            fr->next = NULL;
            fr->len = plen;
            zws_mask_copy(fr->bytes, f.payload, plen, f.mask_key, 0);
            if (zws_utf8_feed(&v, fr->bytes, plen, NULL))
                abort();
            off += (size_t)h + plen;
            *tail = fr;
            tail = &fr->next;
            total += plen;
            if (!f.fin)
                continue;
            /* Join the fragments into one message. */
            uint8_t *msg = bench_malloc(total + 1);
            size_t at = 0;
            for (frag *x = head, *nx; x; x = nx) {
                nx = x->next;
                memcpy(msg + at, x->bytes, x->len);
                at += x->len;
                bench_free(x);
            }
            if (!zws_utf8_complete(&v))
                abort();
            deliver_naive(msg, total);
            head = NULL;
            tail = &head;
            total = 0;
            zws_utf8_reset(&v);
            got++;
        }
        if (got != c->msgs)
            abort();
    }
}

/* Builds a stream of whole masked text messages, or of one message in
 * `frags` fragments. */
static void build(ctx *c, size_t msg_len, size_t frags)
{
    size_t total = frags > 1 ? msg_len : 256 << 10;
    c->buf = malloc(total + 2 * msg_len + 64 * frags);
    if (frags <= 1) {
        c->len = bench_frames(c->buf, total, msg_len, ZWS_OP_TEXT, 1, &c->msgs);
    } else {
        size_t flen = msg_len / frags, off = 0, dummy;
        for (size_t i = 0; i < frags; i++) {
            size_t used = bench_frames(c->buf + off, 0, flen, ZWS_OP_TEXT, 1, &dummy);
            c->buf[off] = (uint8_t)((i ? ZWS_OP_CONT : ZWS_OP_TEXT) |
                                    (i + 1 == frags ? 0x80 : 0));
            off += used;
        }
        c->len = off;
        c->msgs = 1;
    }
    c->msg_len = msg_len;
}

static double allocs_per_msg(bench_fn fn, ctx *c)
{
    fn(c, 1); /* warm: buffers grown */
    uint64_t before = bench_allocs;
    fn(c, 4);
    return (double)(bench_allocs - before) / (double)(4 * c->msgs);
}

void bench_parser(const bench_opts *o)
{
    static const char *cols[] = {"workload", "design", "M msgs/s", "GB/s",
                                 "allocs/msg", "x baseline"};
    bench_table_begin(o, "parser end to end (server side: masked text, unmask + "
                         "UTF-8 check + reassembly)", cols, 6);
    const struct { size_t len, frags; const char *name; } w[] = {
        {20, 1, "20 B messages"},
        {1024, 1, "1 KiB messages"},
        {16384, 1, "16 KiB messages"},
        {1 << 20, 64, "1 MiB in 64 fragments"},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        ctx c;
        build(&c, w[i].len, w[i].frags);
        if (zws_parser_new(&c.p, ZWS_ROLE_SERVER))
            abort();
        double a_naive = allocs_per_msg(run_naive, &c);
        double a_zws = allocs_per_msg(run_zws, &c);
        double t_naive = bench_measure(o, run_naive, &c);
        double t_zws = bench_measure(o, run_zws, &c);
        double msgs = (double)c.msgs, bytes = msgs * (double)c.msg_len;
        bench_table_row(o, (const char *const[]){
            w[i].name, "naive (copy per frame, join list)",
            bench_fmt("%.3f", msgs / t_naive / 1e6), bench_fmt("%.2f", bytes / t_naive / 1e9),
            bench_fmt("%.2f", a_naive), "1.00"});
        bench_table_row(o, (const char *const[]){
            w[i].name, "zws parser",
            bench_fmt("%.3f", msgs / t_zws / 1e6), bench_fmt("%.2f", bytes / t_zws / 1e9),
            bench_fmt("%.2f", a_zws), bench_fmt("%.2f", t_naive / t_zws)});
        zws_parser_free(c.p);
        free(c.buf);
    }
    bench_table_end(o);
}
