/* Inbound protocol: zero-copy delivery, reassembly, interleaved control
 * frames, every failure with its close code, chunked and byte-at-a-time
 * input, detach, direct reads, the extension hook, failing allocations. */
#include "testutil.h"

static zws_parser *server(void)
{
    zws_parser *p = NULL;
    assert_int_equal(zws_parser_new(&p, ZWS_ROLE_SERVER), 0);
    return p;
}

/* Feeds the whole stream at once; returns the log. */
static void feed_all(zws_parser *p, const uint8_t *s, size_t n, tu_log *log)
{
    tu_drive(p, s, n, tu_chunk_all, NULL, log);
}

static void test_single_frame_zero_copy(void **state)
{
    (void)state;
    zws_parser *p = server();
    uint8_t buf[64];
    size_t n = tu_frame(buf, ZWS_OP_TEXT, 1, 0, "Hello", 5, 1);
    tu_counting_allocator();
    size_t used;
    zws_event ev;
    assert_int_equal(zws_parser_next(p, buf, n, &used, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(tu_allocs, 0);
    zws_set_allocator(NULL, NULL, NULL);
    assert_int_equal(used, n);
    assert_int_equal(ev.opcode, ZWS_OP_TEXT);
    assert_int_equal(ev.flags & ZWS_EV_ASSEMBLED, 0);
    assert_ptr_equal(ev.data, buf + 6); /* a view into the input */
    assert_memory_equal(ev.data, "Hello", 5);
    assert_int_equal(zws_parser_next(p, buf + n, 0, &used, &ev), 0);
    zws_buf *b;
    assert_int_equal(zws_parser_detach(p, &b), ZWS_ESTATE);
    zws_parser_free(p);
}

static void test_client_role_unmasked(void **state)
{
    (void)state;
    zws_parser *p = NULL;
    assert_int_equal(zws_parser_new(&p, ZWS_ROLE_CLIENT), 0);
    const uint8_t in[] = {0x82, 0x03, 1, 2, 3};
    uint8_t buf[sizeof in];
    memcpy(buf, in, sizeof in);
    size_t used;
    zws_event ev;
    assert_int_equal(zws_parser_next(p, buf, sizeof buf, &used, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.opcode, ZWS_OP_BINARY);
    assert_memory_equal(ev.data, in + 2, 3);
    zws_parser_free(p);
}

static void test_sizes(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = sizes[i];
        uint8_t *payload = malloc(len + 1), *wire = malloc(len + 14);
        uint64_t seed = len + 1;
        for (size_t k = 0; k < len; k++)
            payload[k] = (uint8_t)tu_rand(&seed);
        size_t n = tu_frame(wire, ZWS_OP_BINARY, 1, 0, payload, len, 1);
        zws_parser *p = server();
        tu_log log = {0};
        feed_all(p, wire, n, &log);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.recs[0].type, ZWS_EV_MESSAGE);
        assert_int_equal(log.recs[0].len, len);
        if (len)
            assert_memory_equal(log.recs[0].data, payload, len);
        tu_log_free(&log);
        zws_parser_free(p);
        free(payload);
        free(wire);
    }
}

/* A stream with everything: messages, fragments, interleaved control frames,
 * empty frames and a close. */
static size_t mixed_stream(uint8_t *s)
{
    size_t n = 0;
    n += tu_frame(s + n, ZWS_OP_TEXT, 1, 0, "one", 3, 1);
    n += tu_frame(s + n, ZWS_OP_BINARY, 1, 0, "", 0, 1);
    n += tu_frame(s + n, ZWS_OP_TEXT, 0, 0, "fra", 3, 1);
    n += tu_frame(s + n, ZWS_OP_PING, 1, 0, "p1", 2, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 0, 0, "", 0, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 0, 0, "gme", 3, 1);
    n += tu_frame(s + n, ZWS_OP_PONG, 1, 0, "", 0, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "nted \xc3\xa9", 7, 1);
    n += tu_frame(s + n, ZWS_OP_BINARY, 0, 0, "\x00\xff", 2, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "\x01", 1, 1);
    n += tu_frame(s + n, ZWS_OP_TEXT, 1, 0, "after", 5, 1);
    n += tu_frame(s + n, ZWS_OP_CLOSE, 1, 0, "\x03\xe8" "bye", 5, 1);
    return n;
}

static void check_mixed(const tu_log *log)
{
    assert_int_equal(log->n, 8);
    const tu_rec *r = log->recs;
    assert_int_equal(r[0].type, ZWS_EV_MESSAGE);
    assert_memory_equal(r[0].data, "one", 3);
    assert_int_equal(r[1].type, ZWS_EV_MESSAGE);
    assert_int_equal(r[1].len, 0);
    assert_int_equal(r[1].opcode, ZWS_OP_BINARY);
    assert_int_equal(r[2].type, ZWS_EV_PING);
    assert_memory_equal(r[2].data, "p1", 2);
    assert_int_equal(r[3].type, ZWS_EV_PONG);
    assert_int_equal(r[4].type, ZWS_EV_MESSAGE);
    assert_int_equal(r[4].opcode, ZWS_OP_TEXT);
    assert_int_equal(r[4].len, 13);
    assert_memory_equal(r[4].data, "fragmented \xc3\xa9", 13);
    assert_true(r[4].flags & ZWS_EV_ASSEMBLED);
    assert_int_equal(r[5].opcode, ZWS_OP_BINARY);
    assert_memory_equal(r[5].data, "\x00\xff\x01", 3);
    assert_memory_equal(r[6].data, "after", 5);
    assert_int_equal(r[7].type, ZWS_EV_CLOSE);
    assert_int_equal(r[7].code, 1000);
    assert_string_equal(r[7].reason, "bye");
}

static void test_mixed_stream_whole(void **state)
{
    (void)state;
    uint8_t s[512];
    size_t n = mixed_stream(s);
    zws_parser *p = server();
    tu_log log = {0};
    feed_all(p, s, n, &log);
    check_mixed(&log);
    tu_log_free(&log);
    /* Nothing after a close. */
    size_t used;
    zws_event ev;
    assert_int_equal(zws_parser_next(p, s, n, &used, &ev), ZWS_ESTATE);
    zws_parser_free(p);
}

static void test_mixed_stream_chunked(void **state)
{
    (void)state;
    uint8_t s[512];
    size_t n = mixed_stream(s);
    for (size_t k = 1; k <= 16; k++) {
        zws_parser *p = server();
        tu_log log = {0};
        tu_drive(p, s, n, tu_chunk_fixed, &k, &log);
        check_mixed(&log);
        tu_log_free(&log);
        zws_parser_free(p);
    }
    for (uint64_t seed = 1; seed < 200; seed++) {
        uint64_t st = seed * 7919;
        zws_parser *p = server();
        tu_log log = {0};
        tu_drive(p, s, n, tu_chunk_random, &st, &log);
        check_mixed(&log);
        tu_log_free(&log);
        zws_parser_free(p);
    }
}

/* ---- a frame not yet whole leaves the input as it was ---- */

/* Every prefix of a masked frame, short and with a 16-bit length, text and
 * binary (and text that is not UTF-8), is given with the rest of the frame
 * in memory after it: the parser waits (or fails) without writing past
 * what it was given, and the whole frame then parses to its payload. */
static void test_prefix_leaves_input(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 5, 125, 126, 300};
    static const unsigned ops[] = {ZWS_OP_TEXT, ZWS_OP_BINARY};
    uint8_t payload[300], wire[320], buf[320];
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (size_t oi = 0; oi < 2; oi++)
            for (int bad = 0; bad < 2; bad++) {
                size_t len = lens[li];
                for (size_t i = 0; i < len; i++)
                    payload[i] = (uint8_t)('a' + i % 26);
                if (bad && len)
                    payload[len - 1] = 0xff; /* not UTF-8 */
                size_t n = tu_frame(wire, ops[oi], 1, 0, payload, len, 1);
                int fails = bad && len && ops[oi] == ZWS_OP_TEXT;
                for (size_t k = 0; k <= n; k++) {
                    zws_parser *p = server();
                    memcpy(buf, wire, n);
                    size_t used = 99;
                    zws_event ev;
                    int r = zws_parser_next(p, buf, k, &used, &ev);
                    if (k < n) {
                        assert_true(r == 0 || (fails && r < 0));
                        if (r == 0)
                            assert_memory_equal(buf + k, wire + k, n - k);
                    }
                    if (r == 0 && k < n) { /* the rest comes: the same bytes, all of them */
                        r = zws_parser_next(p, buf + used, n - used, &used, &ev);
                    }
                    if (fails) {
                        assert_true(r < 0);
                        assert_int_equal(ev.close_code, 1007);
                    } else {
                        assert_int_equal(r, ZWS_EV_MESSAGE);
                        assert_int_equal(ev.opcode, ops[oi]);
                        assert_int_equal(ev.len, len);
                        if (len)
                            assert_memory_equal(ev.data, payload, len);
                    }
                    zws_parser_free(p);
                }
            }
}

/* ---- a caller buffer smaller than some frames ---- */

/* Messages under and over the caller buffers below, whole and fragmented,
 * with a 125-byte ping (the largest control frame) after every fragment but
 * the last. Text is "héllo wörld " repeated (14 bytes, two 2-byte
 * sequences), so pieces split UTF-8 sequences. */
static const struct {
    unsigned op;
    size_t len, frags;
} big_msgs[] = {
    {ZWS_OP_TEXT, 28, 1},      {ZWS_OP_BINARY, 300, 1}, {ZWS_OP_TEXT, 994, 1},
    {ZWS_OP_BINARY, 126, 1},   {ZWS_OP_TEXT, 5012, 3},  {ZWS_OP_BINARY, 70000, 1},
    {ZWS_OP_TEXT, 0, 1},       {ZWS_OP_BINARY, 2000, 4}, {ZWS_OP_BINARY, 4000, 1},
};
#define NBIG (sizeof big_msgs / sizeof big_msgs[0])

static uint8_t big_byte(size_t m, size_t i)
{
    static const char text[] = "h\xc3\xa9llo w\xc3\xb6rld ";
    return big_msgs[m].op == ZWS_OP_TEXT ? (uint8_t)text[i % 14] : (uint8_t)(i * 31 + m);
}

/* Builds the stream (ending in a close) into s; largest[m] gets the wire size
 * of message m's largest frame. Returns the length. */
static size_t big_stream(uint8_t *s, size_t *largest)
{
    static uint8_t payload[70000], ping[125];
    memset(ping, 'p', sizeof ping);
    size_t n = 0;
    for (size_t m = 0; m < NBIG; m++) {
        size_t len = big_msgs[m].len, frags = big_msgs[m].frags, at = 0;
        for (size_t i = 0; i < len; i++)
            payload[i] = big_byte(m, i);
        largest[m] = 0;
        for (size_t f = 0; f < frags; f++) {
            /* Uneven pieces: a third, then the rest split evenly. */
            size_t piece = f + 1 == frags ? len - at
                           : f == 0       ? len / 3
                                          : (len - len / 3) / (frags - 1);
            size_t w = tu_frame(s + n, f ? ZWS_OP_CONT : big_msgs[m].op, f + 1 == frags, 0,
                                payload + at, piece, 1);
            largest[m] = w > largest[m] ? w : largest[m];
            n += w;
            at += piece;
            if (f + 1 < frags)
                n += tu_frame(s + n, ZWS_OP_PING, 1, 0, ping, sizeof ping, 1);
        }
    }
    n += tu_frame(s + n, ZWS_OP_CLOSE, 1, 0, "\x03\xe8", 2, 1);
    return n;
}

/* Feeds s[0..n) the way a connection with a read buffer of cap bytes does:
 * each read (at most chunk bytes) goes into the buffer's free tail, or with
 * direct, straight into the message buffer while the parser offers one.
 * Asserts the parser never waits for more than cap bytes: a full buffer
 * with no progress would be a frame it should have streamed. */
static void drive_capped(zws_parser *p, const uint8_t *s, size_t n, size_t cap,
                         size_t chunk, int direct, tu_log *log, size_t *direct_bytes)
{
    uint8_t *buf = malloc(cap);
    size_t have = 0, pos = 0;
    for (;;) {
        size_t off = 0, used;
        zws_event ev;
        int r;
        while ((r = zws_parser_next(p, buf + off, have - off, &used, &ev)) > 0) {
            off += used;
            tu_record(log, r, &ev);
            if (r == ZWS_EV_CLOSE)
                break;
        }
        if (r == ZWS_EV_CLOSE || r < 0) {
            if (r < 0)
                tu_record(log, r, &ev);
            break;
        }
        off += used;
        memmove(buf, buf + off, have - off);
        have -= off;
        if (pos == n)
            break;
        size_t k = chunk < n - pos ? chunk : n - pos;
        uint8_t *dst;
        size_t room = direct ? zws_parser_direct(p, &dst) : 0;
        if (room) {
            assert_int_equal(have, 0); /* an open frame took all input */
            k = k < room ? k : room;
            memcpy(dst, s + pos, k);
            pos += k;
            *direct_bytes += k;
            if ((r = zws_parser_direct_done(p, k, &ev)) != 0) {
                tu_record(log, r, &ev);
                break;
            }
            continue;
        }
        k = k < cap - have ? k : cap - have;
        assert_true(k > 0);
        memcpy(buf + have, s + pos, k);
        have += k;
        pos += k;
    }
    free(buf);
}

/* Frames larger than the caller's buffer are streamed: consumed as they
 * arrive (the buffer never has to hold them), delivered assembled
 * (ZWS_EV_ASSEMBLED on a message that came as one frame shows it), and with
 * direct reads the rest of their payload lands in the message buffer.
 * Frames that fit are still delivered in place. */
static void test_small_buffer_streams(void **state)
{
    (void)state;
    static uint8_t s[100000];
    size_t largest[NBIG];
    size_t n = big_stream(s, largest);
    const size_t caps[] = {1, ZWS_PARSER_MIN_BUFFER, 200, 1024, 4096};
    const size_t chunks[] = {1, 7, 100, 4096};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++)
            for (int direct = 0; direct < 2; direct++) {
                size_t cap = caps[c] < ZWS_PARSER_MIN_BUFFER ? ZWS_PARSER_MIN_BUFFER : caps[c];
                zws_parser *p = server();
                zws_parser_set_buffer_size(p, caps[c]);
                tu_log log = {0};
                size_t direct_bytes = 0, streamed = 0;
                drive_capped(p, s, n, cap, chunks[k], direct, &log, &direct_bytes);
                int e = 0;
                for (size_t m = 0; m < NBIG; m++) {
                    for (size_t f = 1; f < big_msgs[m].frags; f++, e++) {
                        assert_int_equal(log.recs[e].type, ZWS_EV_PING);
                        assert_int_equal(log.recs[e].len, 125);
                    }
                    const tu_rec *r = &log.recs[e++];
                    assert_int_equal(r->type, ZWS_EV_MESSAGE);
                    assert_int_equal(r->opcode, big_msgs[m].op);
                    assert_int_equal(r->len, big_msgs[m].len);
                    for (size_t i = 0; i < r->len; i++)
                        assert_int_equal(r->data[i], big_byte(m, i));
                    int whole = big_msgs[m].frags == 1;
                    int fits = largest[m] <= cap;
                    assert_int_equal(!!(r->flags & ZWS_EV_ASSEMBLED), !(whole && fits));
                    streamed += whole && !fits;
                }
                assert_int_equal(log.recs[e].type, ZWS_EV_CLOSE);
                assert_int_equal(log.n, e + 1);
                /* Every cap here is smaller than some whole frame. */
                assert_true(streamed > 0);
                if (direct)
                    assert_true(direct_bytes > 0);
                tu_log_free(&log);
                zws_parser_free(p);
            }
}

static void expect_failure(const uint8_t *s, size_t n, int err, uint16_t code,
                           enum zws_role role)
{
    for (size_t k = 1; k <= n; k = k < 4 ? k + 1 : k * 2) {
        zws_parser *p = NULL;
        assert_int_equal(zws_parser_new(&p, role), 0);
        tu_log log = {0};
        tu_drive(p, s, n, tu_chunk_fixed, &k, &log);
        assert_true(log.n >= 1);
        assert_int_equal(log.recs[log.n - 1].type, err);
        assert_int_equal(log.recs[log.n - 1].code, code);
        assert_true(log.recs[log.n - 1].reason[0] != 0);
        size_t used;
        zws_event ev;
        uint8_t b[2] = {0x81, 0x80};
        assert_int_equal(zws_parser_next(p, b, 2, &used, &ev), ZWS_ESTATE);
        tu_log_free(&log);
        zws_parser_free(p);
    }
}

static void test_fragmentation_errors(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = tu_frame(s, ZWS_OP_CONT, 1, 0, "x", 1, 1);
    expect_failure(s, n, ZWS_EPROTO, 1002, ZWS_ROLE_SERVER);
    n = tu_frame(s, ZWS_OP_TEXT, 0, 0, "a", 1, 1);
    n += tu_frame(s + n, ZWS_OP_TEXT, 1, 0, "b", 1, 1);
    expect_failure(s, n, ZWS_EPROTO, 1002, ZWS_ROLE_SERVER);
    n = tu_frame(s, ZWS_OP_BINARY, 0, 0, "a", 1, 1);
    n += tu_frame(s + n, ZWS_OP_BINARY, 1, 0, "b", 1, 1);
    expect_failure(s, n, ZWS_EPROTO, 1002, ZWS_ROLE_SERVER);
    /* Header rules reach the parser too: unmasked from a client. */
    n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "a", 1, 0);
    expect_failure(s, n, ZWS_EPROTO, 1002, ZWS_ROLE_SERVER);
    n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "a", 1, 1);
    expect_failure(s, n, ZWS_EPROTO, 1002, ZWS_ROLE_CLIENT);
    n = tu_frame(s, ZWS_OP_TEXT, 1, ZWS_RSV1, "a", 1, 1);
    expect_failure(s, n, ZWS_EPROTO, 1002, ZWS_ROLE_SERVER);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "ok\xc0\xafno", 6, 1);
    expect_failure(s, n, ZWS_EUTF8, 1007, ZWS_ROLE_SERVER);
    /* Truncated at message end. */
    n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "ok\xe2\x82", 4, 1);
    expect_failure(s, n, ZWS_EUTF8, 1007, ZWS_ROLE_SERVER);
    n = tu_frame(s, ZWS_OP_TEXT, 0, 0, "ok\xe2", 3, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "\x82", 1, 1);
    expect_failure(s, n, ZWS_EUTF8, 1007, ZWS_ROLE_SERVER);
    /* Binary is not checked. */
    n = tu_frame(s, ZWS_OP_BINARY, 1, 0, "\xff\xfe", 2, 1);
    zws_parser *p = server();
    tu_log log = {0};
    feed_all(p, s, n, &log);
    assert_int_equal(log.recs[0].type, ZWS_EV_MESSAGE);
    tu_log_free(&log);
    zws_parser_free(p);
}

static void test_utf8_split_across_fragments(void **state)
{
    (void)state;
    /* U+1F600 split over three fragments with a ping in the middle. */
    uint8_t s[64];
    size_t n = tu_frame(s, ZWS_OP_TEXT, 0, 0, "\xf0\x9f", 2, 1);
    n += tu_frame(s + n, ZWS_OP_PING, 1, 0, "", 0, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 0, 0, "\x98", 1, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "\x80", 1, 1);
    zws_parser *p = server();
    tu_log log = {0};
    feed_all(p, s, n, &log);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.recs[0].type, ZWS_EV_PING);
    assert_int_equal(log.recs[1].type, ZWS_EV_MESSAGE);
    assert_memory_equal(log.recs[1].data, "\xf0\x9f\x98\x80", 4);
    tu_log_free(&log);
    zws_parser_free(p);
}

/* RFC 6455 §8.1: fail as soon as the bytes cannot become valid, without
 * waiting for the rest of the message (or of the frame). */
static void test_utf8_fails_fast(void **state)
{
    (void)state;
    uint8_t s[64];
    size_t used;
    zws_event ev;
    /* First fragment invalid; the rest never arrives. */
    size_t n = tu_frame(s, ZWS_OP_TEXT, 0, 0, "a\xed\xa0\x80", 4, 1);
    zws_parser *p = server();
    assert_int_equal(zws_parser_next(p, s, n, &used, &ev), ZWS_EUTF8);
    assert_int_equal(ev.close_code, 1007);
    zws_parser_free(p);
    /* One frame, only its first part received. */
    n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "abc\xff" "defghij", 11, 1);
    p = server();
    assert_int_equal(zws_parser_next(p, s, 3, &used, &ev), 0);
    assert_int_equal(zws_parser_next(p, s, 8, &used, &ev), 0);
    assert_int_equal(zws_parser_next(p, s, 10, &used, &ev), ZWS_EUTF8);
    zws_parser_free(p);
}

static void close_frame(const uint8_t *payload, size_t len, int want_err,
                        uint16_t want_code)
{
    uint8_t s[160];
    size_t n = tu_frame(s, ZWS_OP_CLOSE, 1, 0, payload, len, 1);
    zws_parser *p = server();
    tu_log log = {0};
    feed_all(p, s, n, &log);
    assert_int_equal(log.n, 1);
    if (want_err) {
        assert_int_equal(log.recs[0].type, want_err);
    } else {
        assert_int_equal(log.recs[0].type, ZWS_EV_CLOSE);
    }
    assert_int_equal(log.recs[0].code, want_code);
    tu_log_free(&log);
    zws_parser_free(p);
}

static void test_close_payloads(void **state)
{
    (void)state;
    close_frame(NULL, 0, 0, 1005);
    close_frame((const uint8_t *)"\x03", 1, ZWS_EPROTO, 1002);
    const unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                            5000, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t c[2] = {(uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};
        close_frame(c, 2, ZWS_EPROTO, 1002);
    }
    const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                             1012, 1013, 1014, 3000, 3999, 4000, 4999};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t c[2] = {(uint8_t)(good[i] >> 8), (uint8_t)good[i]};
        close_frame(c, 2, 0, (uint16_t)good[i]);
    }
    close_frame((const uint8_t *)"\x03\xe8\xce\xba\xe1\xbd\xb9", 7, 0, 1000);
    close_frame((const uint8_t *)"\x03\xe8\xce", 3, ZWS_EUTF8, 1007);
    close_frame((const uint8_t *)"\x03\xe8\xed\xa0\x80", 5, ZWS_EUTF8, 1007);
}

static void test_limits(void **state)
{
    (void)state;
    uint8_t s[256];
    uint8_t payload[100] = {0};
    size_t n = tu_frame(s, ZWS_OP_BINARY, 1, 0, payload, 100, 1);
    for (int frame_limit = 0; frame_limit < 2; frame_limit++) {
        zws_parser *p = server();
        assert_int_equal(zws_parser_set_limits(p, frame_limit ? 99 : 0,
                                               frame_limit ? 0 : 99), 0);
        size_t used;
        zws_event ev;
        /* Judged from the header alone. */
        assert_int_equal(zws_parser_next(p, s, 6, &used, &ev), ZWS_ETOOBIG);
        assert_int_equal(ev.close_code, 1009);
        zws_parser_free(p);
    }
    /* A fragmented message passes max_message at the fragment that would
     * exceed it, as soon as that fragment's header is in. */
    n = tu_frame(s, ZWS_OP_TEXT, 0, 0, "12345", 5, 1);
    size_t h2 = n;
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "6789", 4, 1);
    zws_parser *p = server();
    zws_parser_set_limits(p, 0, 8);
    size_t used;
    zws_event ev;
    int r = zws_parser_next(p, s, h2, &used, &ev);
    if (r)
        fprintf(stderr, "reason: %s\n", ev.reason);
    assert_int_equal(r, 0);
    assert_int_equal(used, h2);
    assert_int_equal(zws_parser_next(p, s + h2, 6, &used, &ev), ZWS_ETOOBIG);
    assert_int_equal(ev.close_code, 1009);
    zws_parser_free(p);
    p = server();
    assert_int_equal(zws_parser_set_limits(p, (uint64_t)1 << 63, 0), ZWS_EINVAL);
    zws_parser_free(p);
}

static void test_detach(void **state)
{
    (void)state;
    uint8_t s[128];
    size_t n = tu_frame(s, ZWS_OP_BINARY, 0, 0, "abc", 3, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "def", 3, 1);
    size_t first = n;
    n += tu_frame(s + n, ZWS_OP_TEXT, 0, 0, "gh", 2, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "ij", 2, 1);
    zws_parser *p = server();
    size_t used;
    zws_event ev;
    assert_int_equal(zws_parser_next(p, s, n, &used, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(used, first);
    zws_buf *b = NULL;
    assert_int_equal(zws_parser_detach(p, &b), 0);
    assert_ptr_equal(zws_buf_data(b), ev.data); /* no copy */
    assert_int_equal(zws_buf_len(b), 6);
    assert_memory_equal(zws_buf_data(b), "abcdef", 6);
    assert_int_equal(zws_parser_detach(p, &b), ZWS_ESTATE);
    /* The parser carries on with a new buffer; b is unaffected. */
    assert_int_equal(zws_parser_next(p, s + used, n - used, &used, &ev), ZWS_EV_MESSAGE);
    assert_memory_equal(ev.data, "ghij", 4);
    assert_memory_equal(zws_buf_data(b), "abcdef", 6);
    zws_buf_unref(b);
    zws_parser_free(p);
}

/* Once the assembly buffer has grown, further fragmented messages of that
 * size cost no allocation. */
static void test_assembly_buffer_reused(void **state)
{
    (void)state;
    static uint8_t s[70000], payload[16384];
    size_t n = 0;
    for (int f = 0; f < 4; f++)
        n += tu_frame(s + n, f ? ZWS_OP_CONT : ZWS_OP_BINARY, f == 3, 0, payload,
                      sizeof payload, 1);
    zws_parser *p = server();
    tu_counting_allocator();
    for (int round = 0; round < 5; round++) {
        uint8_t *copy = malloc(n);
        memcpy(copy, s, n);
        size_t used;
        zws_event ev;
        assert_int_equal(zws_parser_next(p, copy, n, &used, &ev), ZWS_EV_MESSAGE);
        assert_int_equal(ev.len, 4 * sizeof payload);
        if (round == 0)
            assert_true(tu_allocs >= 1);
        else
            assert_int_equal(tu_allocs, 0);
        tu_allocs = 0;
        free(copy);
    }
    zws_set_allocator(NULL, NULL, NULL);
    zws_parser_free(p);
}

/* A frame larger than the caller's buffer: the caller reads the rest of
 * the payload directly into the message buffer. */
static void test_direct_read(void **state)
{
    (void)state;
    enum { LEN = 10000 };
    static uint8_t payload[LEN], wire[LEN + 14];
    for (size_t i = 0; i < LEN; i++)
        payload[i] = (uint8_t)("héllo wörld "[i % 14]);
    size_t n = tu_frame(wire, ZWS_OP_TEXT, 1, 0, payload, LEN, 1);
    zws_parser *p = server();
    zws_parser_set_buffer_size(p, 4096);
    uint8_t rbuf[4096];
    memcpy(rbuf, wire, 4096);
    size_t used;
    zws_event ev;
    assert_int_equal(zws_parser_next(p, rbuf, 4096, &used, &ev), 0);
    assert_int_equal(used, 4096); /* header and partial payload taken */
    size_t pos = 4096;
    uint8_t *dst;
    size_t room = zws_parser_direct(p, &dst);
    assert_int_equal(room, n - pos);
    /* Arrives in two reads. */
    memcpy(dst, wire + pos, 1000);
    assert_int_equal(zws_parser_direct_done(p, 1000, &ev), 0);
    pos += 1000;
    room = zws_parser_direct(p, &dst);
    assert_int_equal(room, n - pos);
    memcpy(dst, wire + pos, room);
    assert_int_equal(zws_parser_direct_done(p, room, &ev), 0);
    assert_int_equal(zws_parser_direct(p, &dst), 0);
    assert_int_equal(zws_parser_next(p, rbuf, 0, &used, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(ev.len, LEN);
    assert_memory_equal(ev.data, payload, LEN);
    zws_parser_free(p);
}

/* A test extension claiming RSV1: doubles every byte. */
static int doubling(void *ud, zws_parser *p, const uint8_t *in, size_t len, int fin)
{
    int *fins = ud;
    *fins += fin;
    for (size_t i = 0; i < len; i++) {
        uint8_t *dst;
        size_t room;
        int r = zws_parser_out_reserve(p, 2, &dst, &room);
        if (r)
            return r;
        if (in[i] == '!')
            return ZWS_EEXT;
        dst[0] = dst[1] = in[i];
        if ((r = zws_parser_out_commit(p, 2)) != 0)
            return r;
    }
    return 0;
}

static void test_extension_hook(void **state)
{
    (void)state;
    int fins = 0;
    zws_parser_ext ext = {.rsv = ZWS_RSV1, .payload = doubling, .ud = &fins};
    uint8_t s[256];
    size_t n = tu_frame(s, ZWS_OP_TEXT, 0, ZWS_RSV1, "ab", 2, 1);
    n += tu_frame(s + n, ZWS_OP_PING, 1, 0, "", 0, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, 0, "c", 1, 1);
    n += tu_frame(s + n, ZWS_OP_TEXT, 1, 0, "plain", 5, 1);
    n += tu_frame(s + n, ZWS_OP_BINARY, 1, ZWS_RSV1, "", 0, 1);
    for (size_t k = 1; k < 8; k++) {
        zws_parser *p = server();
        assert_int_equal(zws_parser_set_ext(p, &ext), 0);
        fins = 0;
        tu_log log = {0};
        tu_drive(p, s, n, tu_chunk_fixed, &k, &log);
        assert_int_equal(log.n, 4);
        assert_int_equal(log.recs[0].type, ZWS_EV_PING);
        assert_int_equal(log.recs[1].len, 6);
        assert_memory_equal(log.recs[1].data, "aabbcc", 6);
        assert_memory_equal(log.recs[2].data, "plain", 5);
        assert_int_equal(log.recs[3].len, 0);
        assert_int_equal(fins, 2);
        tu_log_free(&log);
        zws_parser_free(p);
    }
    /* RSV1 on a continuation or a control frame fails even when claimed. */
    zws_parser *p = server();
    zws_parser_set_ext(p, &ext);
    n = tu_frame(s, ZWS_OP_TEXT, 0, ZWS_RSV1, "a", 1, 1);
    n += tu_frame(s + n, ZWS_OP_CONT, 1, ZWS_RSV1, "b", 1, 1);
    tu_log log = {0};
    feed_all(p, s, n, &log);
    assert_int_equal(log.recs[log.n - 1].type, ZWS_EPROTO);
    tu_log_free(&log);
    zws_parser_free(p);
    p = server();
    zws_parser_set_ext(p, &ext);
    n = tu_frame(s, ZWS_OP_PING, 1, ZWS_RSV1, "", 0, 1);
    feed_all(p, s, n, &log);
    assert_int_equal(log.recs[0].type, ZWS_EPROTO);
    tu_log_free(&log);
    zws_parser_free(p);
    /* Output over max_message: 1009. Extension failure: 1007. Output that is
     * not UTF-8 in a text message: 1007. */
    const struct { const char *in; int err; uint16_t code; } cases[] = {
        {"abcdef", ZWS_ETOOBIG, 1009}, {"a!", ZWS_EEXT, 1007}, {"\xc3", ZWS_EUTF8, 1007}};
    for (int i = 0; i < 3; i++) {
        p = server();
        zws_parser_set_ext(p, &ext);
        zws_parser_set_limits(p, 0, 10);
        n = tu_frame(s, ZWS_OP_TEXT, 1, ZWS_RSV1, cases[i].in, strlen(cases[i].in), 1);
        feed_all(p, s, n, &log);
        assert_int_equal(log.recs[0].type, cases[i].err);
        assert_int_equal(log.recs[0].code, cases[i].code);
        tu_log_free(&log);
        zws_parser_free(p);
    }
    p = server();
    zws_parser_ext bad = {.rsv = 0x8, .payload = doubling};
    assert_int_equal(zws_parser_set_ext(p, &bad), ZWS_EINVAL);
    bad.rsv = 0;
    assert_int_equal(zws_parser_set_ext(p, &bad), ZWS_EINVAL);
    bad = (zws_parser_ext){.rsv = ZWS_RSV1};
    assert_int_equal(zws_parser_set_ext(p, &bad), ZWS_EINVAL);
    assert_int_equal(zws_parser_set_ext(p, NULL), 0);
    /* Only between messages: not inside a frame, nor between fragments. */
    size_t used;
    zws_event ev;
    n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "hello", 5, 1);
    assert_int_equal(zws_parser_next(p, s, n - 1, &used, &ev), 0);
    assert_int_equal(zws_parser_set_ext(p, &ext), ZWS_ESTATE);
    zws_parser_reset(p);
    n = tu_frame(s, ZWS_OP_TEXT, 0, 0, "he", 2, 1);
    tu_frame(s + n, ZWS_OP_CONT, 1, 0, "llo", 3, 1);
    assert_int_equal(zws_parser_next(p, s, n, &used, &ev), 0);
    assert_int_equal(used, n);
    assert_int_equal(zws_parser_set_ext(p, &ext), ZWS_ESTATE);
    assert_int_equal(zws_parser_next(p, s + n, 9, &used, &ev), ZWS_EV_MESSAGE);
    assert_int_equal(zws_parser_set_ext(p, &ext), 0);
    zws_parser_free(p);
}

/* One message in fragments of 100, 400, 1500 and 2000 bytes: the assembly
 * buffer, 256 bytes after the mixed stream, grows three more times. */
#define GROW_LEN 4000
static size_t growing_stream(uint8_t *s, const uint8_t *payload)
{
    static const size_t frag[] = {100, 400, 1500, 2000};
    size_t n = 0, at = 0;
    for (size_t i = 0; i < 4; i++) {
        n += tu_frame(s + n, i ? ZWS_OP_CONT : ZWS_OP_BINARY, i == 3, 0,
                      payload + at, frag[i], 1);
        at += frag[i];
    }
    return n;
}

/* 1 when the log ends in the failure an allocation failure must give. */
static int failed_alloc(const tu_log *log)
{
    assert_true(log->n > 0);
    const tu_rec *last = &log->recs[log->n - 1];
    if (last->type >= 0)
        return 0;
    assert_int_equal(last->type, ZWS_ENOMEM);
    assert_int_equal(last->code, 1011);
    return 1;
}

/* A parser's life with the allocator installed: new, the mixed stream, reset,
 * a message that grows the buffer. Returns 1 when an allocation failure was
 * reported (and the run stopped there), 0 when everything was parsed. */
static int parser_life(void)
{
    static uint8_t s[512], g[GROW_LEN + 64], payload[GROW_LEN];
    for (size_t i = 0; i < GROW_LEN; i++)
        payload[i] = (uint8_t)(i * 7);
    size_t n = mixed_stream(s), gn = growing_stream(g, payload);
    zws_parser *p = NULL;
    int r = zws_parser_new(&p, ZWS_ROLE_SERVER);
    if (r) {
        assert_int_equal(r, ZWS_ENOMEM);
        return 1;
    }
    tu_log log = {0};
    feed_all(p, s, n, &log);
    int failed = failed_alloc(&log);
    if (!failed)
        check_mixed(&log);
    tu_log_free(&log);
    if (!failed) {
        zws_parser_reset(p);
        feed_all(p, g, gn, &log);
        failed = failed_alloc(&log);
        if (!failed) {
            assert_int_equal(log.n, 1);
            assert_int_equal(log.recs[0].len, GROW_LEN);
            assert_memory_equal(log.recs[0].data, payload, GROW_LEN);
        }
        tu_log_free(&log);
    }
    zws_parser_free(p);
    return failed;
}

/* Allocation 0, 1, 2, ... failed in turn until a run needs no failure: each
 * failure is a clean ZWS_ENOMEM with close code 1011, nothing leaks, and the
 * run that reaches no injected failure parses everything. */
static void test_failing_allocations(void **state)
{
    (void)state;
    long fail;
    for (fail = 0;; fail++) {
        tu_counting_allocator();
        tu_fail_at = fail;
        int failed = parser_life();
        assert_int_equal(tu_live, 0);
        if ((long)tu_allocs <= fail) {
            assert_false(failed);
            break;
        }
        assert_true(failed);
    }
    zws_set_allocator(NULL, NULL, NULL);
    /* The parser, the buffer for the mixed stream, three growths. */
    assert_int_equal(fail, 5);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    zws_parser *p = NULL;
    assert_int_equal(zws_parser_new(&p, (enum zws_role)7), ZWS_EINVAL);
    assert_int_equal(zws_parser_new(NULL, ZWS_ROLE_SERVER), ZWS_EINVAL);
    zws_parser_free(NULL);
    /* Reset brings a failed parser back. */
    p = server();
    uint8_t bad[2] = {0x83, 0x80};
    size_t used;
    zws_event ev;
    assert_int_equal(zws_parser_next(p, bad, 2, &used, &ev), ZWS_EPROTO);
    zws_parser_reset(p);
    uint8_t s[16];
    size_t n = tu_frame(s, ZWS_OP_TEXT, 1, 0, "ok", 2, 1);
    assert_int_equal(zws_parser_next(p, s, n, &used, &ev), ZWS_EV_MESSAGE);
    zws_parser_free(p);
}

int main(void)
{
    int err = zws_simd_init();
    if (err)
        return fprintf(stderr, "ZWS_SIMD: %s\n", zws_strerror(err)), 1;
    fprintf(stderr, "kernels: mask %s, utf8 %s\n", zws_mask_kernel(), zws_utf8_kernel());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_frame_zero_copy),
        cmocka_unit_test(test_client_role_unmasked),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_mixed_stream_whole),
        cmocka_unit_test(test_mixed_stream_chunked),
        cmocka_unit_test(test_small_buffer_streams),
        cmocka_unit_test(test_fragmentation_errors),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_utf8_split_across_fragments),
        cmocka_unit_test(test_prefix_leaves_input),
        cmocka_unit_test(test_utf8_fails_fast),
        cmocka_unit_test(test_close_payloads),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_assembly_buffer_reused),
        cmocka_unit_test(test_direct_read),
        cmocka_unit_test(test_extension_hook),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
