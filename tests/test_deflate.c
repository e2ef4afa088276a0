/* permessage-deflate's data path: a client's writer compressing into a
 * server's parser inflating, at every size class, with and without context
 * takeover, every window, in fragments; the threshold; decompression bombs
 * stopped at max_message with bounded memory; corrupt data, bad UTF-8,
 * BFINAL blocks, RSV1 where it is not allowed; releasing idle streams. */
#include <zlib.h>

#include "internal/deflate.h"
#include "internal/parser.h"
#include "testutil.h"
#include "zws/writer.h"

typedef struct pair {
    zws_writer *w;     /* the client's */
    zws__deflate *tx;  /* the client's compressor */
    zws__deflate *rx;  /* the server's inflater */
    zws_parser *p;     /* the server's */
} pair;

static void pair_new(pair *pr, int client_nct, int server_nct, int client_bits,
                     int server_bits, size_t threshold, uint64_t max_message)
{
    zws__pmd_cfg cfg = {.enabled = 1, .level = 6, .mem_level = 8, .threshold = threshold};
    /* The client's view and the server's: mirror images. */
    zws__pmd_params c = {client_nct, server_nct, client_bits, server_bits};
    zws__pmd_params s = {server_nct, client_nct, server_bits, client_bits};
    assert_int_equal(zws_writer_new(&pr->w, ZWS_ROLE_CLIENT), 0);
    assert_int_equal(zws__deflate_new(&pr->tx, &c, &cfg), 0);
    assert_int_equal(zws__deflate_new(&pr->rx, &s, &cfg), 0);
    assert_int_equal(zws_parser_new(&pr->p, ZWS_ROLE_SERVER), 0);
    zws_parser_set_limits(pr->p, max_message, max_message);
    zws_parser_ext ext;
    zws__deflate_parser_ext(pr->rx, &ext);
    assert_int_equal(zws_parser_set_ext(pr->p, &ext), 0);
}

static void pair_free(pair *pr)
{
    zws_writer_free(pr->w);
    zws__deflate_free(pr->tx);
    zws__deflate_free(pr->rx);
    zws_parser_free(pr->p);
}

/* The writer's pending bytes, taken. */
static uint8_t *take(pair *pr, size_t *n)
{
    const uint8_t *b = zws_writer_pending(pr->w, n);
    uint8_t *copy = malloc(*n + 1);
    memcpy(copy, b, *n);
    zws_writer_consume(pr->w, *n);
    return copy;
}

/* Compressible and not: text with repeats, then a noisy tail. */
static void fill(uint8_t *b, size_t n, unsigned seed)
{
    static const char words[] = "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"p\":\"97000.10\"} ";
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = i % 7 == 3 ? (uint8_t)('a' + (seed >> 16) % 26)
                          : (uint8_t)words[i % (sizeof words - 1)];
    }
}

/* Sends one message in parts parts (1: whole) and checks it arrives. */
static void round_trip(pair *pr, unsigned opcode, size_t len, int parts, unsigned seed)
{
    uint8_t *msg = malloc(len + 1);
    fill(msg, len, seed);
    size_t at = 0;
    for (int i = 0; i < parts; i++) {
        size_t n = i + 1 < parts ? len / (size_t)parts : len - at;
        unsigned op = i == 0 ? opcode : ZWS_OP_CONT;
        assert_int_equal(zws__deflate_send(pr->tx, pr->w, op, msg + at, n,
                                           i + 1 < parts ? ZWS_WRITE_MORE : 0),
                         0);
        at += n;
    }
    size_t n;
    uint8_t *wire = take(pr, &n);
    tu_log log = {0};
    tu_drive(pr->p, wire, n, tu_chunk_all, NULL, &log);
    if (log.n != 1 || log.recs[0].type != ZWS_EV_MESSAGE)
        fail_msg("%zu bytes in %d parts: %d events, the first %d (%s)", len, parts, log.n,
                 log.recs[0].type, log.recs[0].reason);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].type, ZWS_EV_MESSAGE);
    assert_int_equal(log.recs[0].opcode, opcode);
    assert_int_equal(log.recs[0].len, len);
    assert_memory_equal(log.recs[0].data, msg, len);
    tu_log_free(&log);
    free(wire);
    free(msg);
}

static void test_round_trips(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 20, 125, 126, 1000, 65535, 65536, 300000};
    for (int nct = 0; nct < 4; nct++) {
        for (int bits = 9; bits <= 15; bits += 3) {
            pair pr;
            pair_new(&pr, nct & 1, nct >> 1, bits, bits == 9 ? 15 : bits, 0, 16u << 20);
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                round_trip(&pr, ZWS_OP_TEXT, sizes[i], 1, (unsigned)i);
                round_trip(&pr, ZWS_OP_BINARY, sizes[i], 1, (unsigned)i + 100);
                if (sizes[i] >= 3)
                    round_trip(&pr, ZWS_OP_TEXT, sizes[i], 3, (unsigned)i + 200);
            }
            pair_free(&pr);
        }
    }
}

/* Context takeover makes a repeated message cheaper; without it, not. */
static void test_context_takeover(void **state)
{
    (void)state;
    size_t first[2], second[2];
    for (int nct = 0; nct < 2; nct++) {
        pair pr;
        pair_new(&pr, nct, 0, 15, 15, 0, 1u << 20);
        uint8_t msg[2000];
        fill(msg, sizeof msg, 7);
        for (int k = 0; k < 2; k++) {
            assert_int_equal(zws__deflate_send(pr.tx, pr.w, ZWS_OP_BINARY, msg, sizeof msg, 0), 0);
            size_t n;
            uint8_t *wire = take(&pr, &n);
            (k ? second : first)[nct] = n;
            tu_log log = {0};
            tu_drive(pr.p, wire, n, tu_chunk_all, NULL, &log);
            assert_int_equal(log.n, 1);
            assert_int_equal(log.recs[0].len, sizeof msg);
            tu_log_free(&log);
            free(wire);
        }
        pair_free(&pr);
    }
    assert_true(second[0] < first[0] / 4); /* the window held the whole message */
    assert_int_equal(second[1], first[1]); /* reset: the same bytes again */
}

/* Below the threshold a whole message goes as it is, RSV1 clear. */
static void test_threshold(void **state)
{
    (void)state;
    pair pr;
    pair_new(&pr, 0, 0, 15, 15, 64, 1u << 20);
    assert_int_equal(zws__deflate_send(pr.tx, pr.w, ZWS_OP_TEXT, "short", 5, 0), 0);
    size_t n;
    uint8_t *wire = take(&pr, &n);
    assert_int_equal(wire[0], 0x81); /* FIN, text, RSV1 clear */
    assert_int_equal(n, 2 + 4 + 5);
    free(wire);
    uint8_t big[200];
    fill(big, sizeof big, 1);
    assert_int_equal(zws__deflate_send(pr.tx, pr.w, ZWS_OP_TEXT, big, sizeof big, 0), 0);
    wire = take(&pr, &n);
    assert_int_equal(wire[0], 0xc1); /* FIN, RSV1, text */
    free(wire);
    pair_free(&pr);
}

/* Raw-deflates in[0..n) the way a peer would (sync flush, tail removed;
 * Z_FINISH for a BFINAL block), framed as one masked client message. */
static uint8_t *peer_message(unsigned opcode, const uint8_t *in, size_t n, int bits,
                             int finish, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *c = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = c;
    z.avail_out = (uInt)cap;
    assert_true(deflate(&z, finish ? Z_FINISH : Z_SYNC_FLUSH) >= 0);
    size_t clen = cap - z.avail_out;
    deflateEnd(&z);
    if (!finish)
        clen -= 4;
    uint8_t *frame = malloc(clen + 16);
    *out_len = tu_frame(frame, opcode, 1, ZWS_RSV1, c, clen, 1);
    free(c);
    return frame;
}

/* A small message that would inflate to 256 MiB: refused with 1009 once its
 * output passes max_message, having used little of its input and held no
 * more than the limit. */
static void test_bomb(void **state)
{
    (void)state;
    size_t big = 256u << 20, limit = 1u << 20;
    uint8_t *zeros = calloc(1, big);
    size_t n;
    uint8_t *wire = peer_message(ZWS_OP_BINARY, zeros, big, 15, 0, &n);
    free(zeros);
    assert_true(n < 512 * 1024); /* about 1000:1 */
    pair pr;
    pair_new(&pr, 0, 0, 15, 15, 0, limit);
    /* Fed in 4 KiB reads, as a socket would deliver it. */
    size_t fed = 0;
    int r = 0;
    zws_event ev;
    while (fed < n) {
        size_t k = n - fed < 4096 ? n - fed : 4096, used = 0;
        r = zws_parser_next(pr.p, wire + fed, k, &used, &ev);
        fed += used;
        if (r < 0)
            break;
        assert_int_equal(used, k);
    }
    assert_int_equal(r, ZWS_ETOOBIG);
    assert_int_equal(ev.close_code, 1009);
    assert_true(fed < 16 * 1024); /* failed fast: a few KiB of input */
    assert_true(zws__parser_held(pr.p) <= limit);
    pair_free(&pr);
    free(wire);
}

/* A message of exactly max_message bytes passes; one byte more does not. */
static void test_exact_limit(void **state)
{
    (void)state;
    for (size_t extra = 0; extra < 2; extra++) {
        pair pr;
        pair_new(&pr, 0, 0, 15, 15, 0, 4096);
        uint8_t msg[4097];
        fill(msg, sizeof msg, 5);
        size_t n;
        uint8_t *wire = peer_message(ZWS_OP_BINARY, msg, 4096 + extra, 15, 0, &n);
        tu_log log = {0};
        tu_drive(pr.p, wire, n, tu_chunk_all, NULL, &log);
        assert_int_equal(log.n, 1);
        if (extra) {
            assert_int_equal(log.recs[0].type, ZWS_ETOOBIG);
            assert_int_equal(log.recs[0].code, 1009);
        } else {
            assert_int_equal(log.recs[0].type, ZWS_EV_MESSAGE);
            assert_int_equal(log.recs[0].len, 4096);
        }
        tu_log_free(&log);
        free(wire);
        pair_free(&pr);
    }
}

static int parse_one(pair *pr, uint8_t *wire, size_t n, zws_event *ev)
{
    size_t used;
    return zws_parser_next(pr->p, wire, n, &used, ev);
}

static void test_bad_input(void **state)
{
    (void)state;
    zws_event ev;
    /* Corrupt data: 1007, and the inflater's memory is released. */
    pair pr;
    pair_new(&pr, 0, 0, 15, 15, 0, 1u << 20);
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x13, 0x37};
    uint8_t frame[64];
    size_t n = tu_frame(frame, ZWS_OP_BINARY, 1, ZWS_RSV1, junk, sizeof junk, 1);
    assert_int_equal(parse_one(&pr, frame, n, &ev), ZWS_EEXT);
    assert_int_equal(ev.close_code, 1007);
    assert_true(zws__deflate_held(pr.rx) < 4096);
    pair_free(&pr);

    /* Invalid UTF-8 in compressed text: 1007. */
    pair_new(&pr, 0, 0, 15, 15, 0, 1u << 20);
    static const uint8_t bad[] = "valid, then \xc3\x28 not";
    uint8_t *wire = peer_message(ZWS_OP_TEXT, bad, sizeof bad - 1, 15, 0, &n);
    assert_int_equal(parse_one(&pr, wire, n, &ev), ZWS_EUTF8);
    assert_int_equal(ev.close_code, 1007);
    free(wire);
    pair_free(&pr);

    /* RSV1 on a continuation frame: 1002. */
    pair_new(&pr, 0, 0, 15, 15, 0, 1u << 20);
    size_t a = tu_frame(frame, ZWS_OP_TEXT, 0, ZWS_RSV1, "ab", 2, 1);
    size_t b = tu_frame(frame + a, ZWS_OP_CONT, 1, ZWS_RSV1, "cd", 2, 1);
    tu_log log = {0};
    tu_drive(pr.p, frame, a + b, tu_chunk_all, NULL, &log);
    assert_int_equal(log.recs[log.n - 1].type, ZWS_EPROTO);
    assert_int_equal(log.recs[log.n - 1].code, 1002);
    tu_log_free(&log);
    pair_free(&pr);

    /* RSV1 with no extension negotiated: 1002. */
    zws_parser *p;
    assert_int_equal(zws_parser_new(&p, ZWS_ROLE_SERVER), 0);
    n = tu_frame(frame, ZWS_OP_TEXT, 1, ZWS_RSV1, "x", 1, 1);
    size_t used;
    assert_int_equal(zws_parser_next(p, frame, n, &used, &ev), ZWS_EPROTO);
    assert_int_equal(ev.close_code, 1002);
    zws_parser_free(p);
}

/* A peer that ends messages with BFINAL blocks, or compresses with a
 * 9-bit window after being told 8: both read. */
static void test_peer_variants(void **state)
{
    (void)state;
    pair pr;
    pair_new(&pr, 0, 0, 15, 8, 0, 1u << 20);
    uint8_t msg[3000];
    fill(msg, sizeof msg, 3);
    for (int k = 0; k < 3; k++) {
        size_t n;
        uint8_t *wire = peer_message(ZWS_OP_TEXT, msg, sizeof msg, 9, k == 1, &n);
        tu_log log = {0};
        tu_drive(pr.p, wire, n, tu_chunk_all, NULL, &log);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.recs[0].type, ZWS_EV_MESSAGE);
        assert_int_equal(log.recs[0].len, sizeof msg);
        assert_memory_equal(log.recs[0].data, msg, sizeof msg);
        tu_log_free(&log);
        free(wire);
    }
    pair_free(&pr);
}

/* Without context takeover, trim releases both streams between messages. */
static void test_trim(void **state)
{
    (void)state;
    pair pr;
    pair_new(&pr, 1, 1, 15, 15, 0, 1u << 20);
    round_trip(&pr, ZWS_OP_TEXT, 5000, 1, 9);
    assert_true(zws__deflate_held(pr.tx) > 100 * 1024);
    assert_true(zws__deflate_held(pr.rx) > 32 * 1024);
    zws__deflate_trim(pr.tx);
    zws__deflate_trim(pr.rx);
    assert_true(zws__deflate_held(pr.tx) < 16 * 1024);
    assert_true(zws__deflate_held(pr.rx) < 1024);
    round_trip(&pr, ZWS_OP_TEXT, 5000, 1, 10); /* and they come back */
    pair_free(&pr);
    /* With context takeover the window is the state: kept. */
    pair_new(&pr, 0, 0, 15, 15, 0, 1u << 20);
    round_trip(&pr, ZWS_OP_TEXT, 5000, 1, 9);
    size_t before = zws__deflate_held(pr.rx);
    zws__deflate_trim(pr.rx);
    assert_int_equal(zws__deflate_held(pr.rx), before);
    pair_free(&pr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),   cmocka_unit_test(test_context_takeover),
        cmocka_unit_test(test_threshold),     cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_bad_input),     cmocka_unit_test(test_peer_variants),
        cmocka_unit_test(test_trim),          cmocka_unit_test(test_exact_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
