/* Frame header parsing: zero-copy views against a baseline that copies each
 * payload into a fresh allocation (the naive design). Both walk the same
 * buffer of back-to-back masked frames with the same header parser, so the
 * ratio is the cost of the copy-per-frame design alone.
 *
 * The figure is frames per second. The view never reads the payload (that
 * is the point of a view), so bytes per second would count bytes nobody
 * touched: at 64 KiB it came to thousands of GB/s, a number about nothing. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "zws/zws.h"

typedef struct ctx {
    uint8_t *buf;
    size_t len;
    size_t frames;
} ctx;

static void parse_views(void *arg, uint64_t n)
{
    ctx *c = arg;
    zws_frame f;
    while (n--) {
        size_t off = 0;
        while (off < c->len) {
            int h = zws_frame_parse(&f, c->buf + off, c->len - off,
                                    ZWS_ROLE_SERVER, 0, UINT64_MAX >> 1, NULL);
            if (h <= 0)
                abort();
            bench_sink(f.payload);
            off += (size_t)h + (size_t)f.len;
        }
    }
}

static void parse_copy_baseline(void *arg, uint64_t n)
{
    ctx *c = arg;
    zws_frame f;
    while (n--) {
        size_t off = 0;
        while (off < c->len) {
            int h = zws_frame_parse(&f, c->buf + off, c->len - off,
                                    ZWS_ROLE_SERVER, 0, UINT64_MAX >> 1, NULL);
            if (h <= 0)
                abort();
            uint8_t *copy = bench_malloc((size_t)f.len + 1);
            memcpy(copy, f.payload, (size_t)f.len);
            bench_sink(copy);
            bench_free(copy);
            off += (size_t)h + (size_t)f.len;
        }
    }
}

void bench_frame(const bench_opts *o)
{
    static const char *cols[] = {"frame payload", "design", "M frames/s", "ns/frame",
                                 "x baseline"};
    bench_table_begin(o, "frame header parse (masked frames, back to back, "
                         "256 KiB buffer; median (min-max), interleaved)", cols, 5);
    const size_t sizes[] = {10, 1024, 65536};
    for (size_t i = 0; i < 3; i++) {
        ctx c;
        size_t total = 256 << 10;
        c.buf = malloc(total + sizes[i] + 14);
        c.len = bench_frames(c.buf, total, sizes[i], ZWS_OP_BINARY, 1, &c.frames);
        bench_stat t_copy, t_view, x;
        bench_pair(o, parse_copy_baseline, &c, parse_views, &c, &t_copy, &t_view, &x);
        double frames = (double)c.frames;
        const char *sz = bench_size(sizes[i]);
        bench_table_row(o, (const char *const[]){
            sz, "copy per frame (baseline)",
            bench_fmt_stat(1, bench_rate(t_copy, frames, 1e6)),
            bench_fmt("%.1f", t_copy.med / frames * 1e9), "1.00"});
        bench_table_row(o, (const char *const[]){
            sz, "zws view", bench_fmt_stat(1, bench_rate(t_view, frames, 1e6)),
            bench_fmt("%.1f", t_view.med / frames * 1e9), bench_fmt_stat(2, x)});
        free(c.buf);
    }
    bench_table_end(o);
}
