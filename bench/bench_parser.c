/* The parser end to end (header, unmask, UTF-8 check, reassembly) against
 * the naive design: a heap copy of every frame's payload, and fragmented
 * messages kept as a list of fragment copies joined at the end. Both sides
 * use the same masking and UTF-8 kernels, so the ratio measures the design,
 * not the kernels (their own tables measure those).
 *
 * The parser unmasks in place. So that one input buffer can be parsed again
 * and again, the text is printable ASCII and the key's bytes are below 0x80:
 * masked or unmasked, the bytes stay valid UTF-8, and the work per byte is
 * the same either way.
 *
 * A second table adds the read: bytes come out of a pipe with read(2),
 * either straight into the free tail of the connection's read buffer (what
 * zws_conn does) or into a stack buffer and then copied there (the naive
 * design), and are parsed in the read buffer either way. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the read path ---- */
#define READ_MAX 16384   /* bytes per read(2), the same for both designs */
#define RBUF_CAP 65536   /* the connection's read buffer */

typedef struct rd {
    int fd[2];           /* a pipe: each round writes src into it, then reads */
    uint8_t *src;
    size_t len, msgs;
    uint8_t *rbuf;
    zws_parser *p;
    int via_stack;       /* the naive design */
} rd;

/* Parses what rbuf[0..*have) holds, keeps the partial frame at the front. */
static size_t parse_rbuf(rd *c, size_t *have)
{
    size_t off = 0, used, got = 0;
    zws_event ev;
    int r;
    while ((r = zws_parser_next(c->p, c->rbuf + off, *have - off, &used, &ev)) > 0) {
        off += used;
        bench_sink(ev.data);
        got++;
    }
    if (r < 0)
        abort();
    off += used;
    memmove(c->rbuf, c->rbuf + off, *have - off);
    *have -= off;
    return got;
}

static void run_read(void *arg, uint64_t n)
{
    rd *c = arg;
    uint8_t stack[READ_MAX];
    while (n--) {
        if (write(c->fd[1], c->src, c->len) != (ptrdiff_t)c->len)
            abort();
        size_t left = c->len, have = 0, got = 0;
        while (left) {
            size_t room = RBUF_CAP - have;
            room = room < READ_MAX ? room : READ_MAX;
            room = room < left ? room : left;
            ptrdiff_t k;
            if (c->via_stack) {
                k = read(c->fd[0], stack, room);
                if (k > 0)
                    memcpy(c->rbuf + have, stack, (size_t)k);
            } else {
                k = read(c->fd[0], c->rbuf + have, room);
            }
            if (k <= 0)
                abort();
            have += (size_t)k;
            left -= (size_t)k;
            got += parse_rbuf(c, &have);
        }
        if (got != c->msgs || have)
            abort();
    }
}

static void read_table(const bench_opts *o)
{
    static const char *cols[] = {"workload", "read", "M msgs/s", "GB/s", "x baseline"};
    bench_table_begin(o, "read(2) from a pipe + parse (16 KiB reads into a 64 KiB "
                         "read buffer; the same reads, parse and pipe writes on "
                         "both sides; median (min-max), interleaved)", cols, 5);
    const size_t sizes[] = {20, 1024, 16384};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        rd c = {.via_stack = 0};
        /* One round: 128 KiB of frames, all in the pipe at once. */
        size_t total = 128 << 10;
        if (pipe(c.fd))
            abort();
        if (fcntl(c.fd[1], F_SETPIPE_SZ, 1 << 20) < (int)(total + sizes[i] + 14)) {
            fprintf(stderr, "zws-bench: no 1 MiB pipe (fs.pipe-max-size): read table "
                            "left out\n");
            close(c.fd[0]);
            close(c.fd[1]);
            break;
        }
        c.src = malloc(total + sizes[i] + 14);
        c.len = bench_frames(c.src, total, sizes[i], ZWS_OP_TEXT, 1, &c.msgs);
        c.rbuf = malloc(RBUF_CAP);
        if (zws_parser_new(&c.p, ZWS_ROLE_SERVER))
            abort();
        zws_parser_set_buffer_size(c.p, RBUF_CAP);
        rd naive = c;
        naive.via_stack = 1;
        bench_stat t_naive, t_zws, x;
        bench_pair(o, run_read, &naive, run_read, &c, &t_naive, &t_zws, &x);
        double msgs = (double)c.msgs, bytes = msgs * (double)sizes[i];
        const char *name = bench_fmt("%s messages", bench_size(sizes[i]));
        bench_table_row(o, (const char *const[]){
            name, "into a stack buffer, then copied (baseline)",
            bench_fmt_stat(3, bench_rate(t_naive, msgs, 1e6)),
            bench_fmt("%.2f", bytes / t_naive.med / 1e9), "1.00"});
        bench_table_row(o, (const char *const[]){
            name, "into the read buffer (zws)",
            bench_fmt_stat(3, bench_rate(t_zws, msgs, 1e6)),
            bench_fmt("%.2f", bytes / t_zws.med / 1e9), bench_fmt_stat(2, x)});
        zws_parser_free(c.p);
        free(c.rbuf);
        free(c.src);
        close(c.fd[0]);
        close(c.fd[1]);
    }
    bench_table_end(o);
}

void bench_parser(const bench_opts *o)
{
    static const char *cols[] = {"workload", "design", "M msgs/s", "GB/s",
                                 "allocs/msg", "x baseline"};
    bench_table_begin(o, "parser end to end (server side: masked text, unmask + "
                         "UTF-8 check + reassembly; median (min-max), repetitions "
                         "of the two designs interleaved)", cols, 6);
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
        bench_stat t_naive, t_zws, x;
        bench_pair(o, run_naive, &c, run_zws, &c, &t_naive, &t_zws, &x);
        double msgs = (double)c.msgs, bytes = msgs * (double)c.msg_len;
        bench_table_row(o, (const char *const[]){
            w[i].name, "naive (copy per frame, join list)",
            bench_fmt_stat(3, bench_rate(t_naive, msgs, 1e6)),
            bench_fmt("%.2f", bytes / t_naive.med / 1e9), bench_fmt("%.2f", a_naive),
            "1.00"});
        bench_table_row(o, (const char *const[]){
            w[i].name, "zws parser", bench_fmt_stat(3, bench_rate(t_zws, msgs, 1e6)),
            bench_fmt("%.2f", bytes / t_zws.med / 1e9), bench_fmt("%.2f", a_zws),
            bench_fmt_stat(2, x)});
        zws_parser_free(c.p);
        free(c.buf);
    }
    bench_table_end(o);
    read_table(o);
}
