/* Frame header parsing: zero-copy views against a baseline that copies each
 * payload into a fresh allocation (the naive design). Both walk the same
 * buffer of back-to-back masked frames with the same header parser, so the
 * ratio is the cost of the copy-per-frame design alone. */
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
    static const char *cols[] = {"frame payload", "design", "M frames/s", "GB/s",
                                 "x baseline"};
    bench_table_begin(o, "frame header parse (masked frames, back to back, "
                         "256 KiB buffer)", cols, 5);
    const size_t sizes[] = {10, 1024, 65536};
    for (size_t i = 0; i < 3; i++) {
        ctx c;
        size_t total = 256 << 10;
        c.buf = malloc(total + sizes[i] + 14);
        c.len = bench_frames(c.buf, total, sizes[i], ZWS_OP_BINARY, 1, &c.frames);
        double t_view = bench_measure(o, parse_views, &c);
        double t_copy = bench_measure(o, parse_copy_baseline, &c);
        double bytes = (double)c.frames * (double)sizes[i];
        const char *sz = bench_size(sizes[i]);
        bench_table_row(o, (const char *const[]){
            sz, "copy per frame (baseline)",
            bench_fmt("%.1f", (double)c.frames / t_copy / 1e6),
            bench_fmt("%.2f", bytes / t_copy / 1e9), "1.00"});
        bench_table_row(o, (const char *const[]){
            sz, "zws view",
            bench_fmt("%.1f", (double)c.frames / t_view / 1e6),
            bench_fmt("%.2f", bytes / t_view / 1e9),
            bench_fmt("%.2f", t_copy / t_view)});
        free(c.buf);
    }
    bench_table_end(o);
}
