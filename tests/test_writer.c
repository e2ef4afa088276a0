/* Outbound framing: exact bytes for servers, masked round trips for
 * clients, fresh keys from a batched pool, fragmentation, coalescing,
 * iovecs, limits. */
#include <pthread.h>

#include "internal/writer.h"
#include "testutil.h"

static zws_writer *writer(enum zws_role role)
{
    zws_writer *w = NULL;
    assert_int_equal(zws_writer_new(&w, role), 0);
    return w;
}

/* Parses everything pending in w with a parser of the other role. */
static void parse_pending(zws_writer *w, tu_log *log)
{
    size_t n;
    const uint8_t *out = zws_writer_pending(w, &n);
    enum zws_role peer = ZWS_ROLE_SERVER;
    zws_parser *p = NULL;
    uint8_t *copy = malloc(n + 1);
    memcpy(copy, out, n);
    /* The writer's role is not exposed; a masked first frame means client. */
    if (n >= 2 && !(copy[1] & 0x80))
        peer = ZWS_ROLE_CLIENT;
    assert_int_equal(zws_parser_new(&p, peer), 0);
    tu_drive(p, copy, n, tu_chunk_all, NULL, log);
    zws_parser_free(p);
    free(copy);
}

static void test_server_exact_bytes(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_SERVER);
    assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, "Hello", 5, 0), 0);
    assert_int_equal(zws_writer_put(w, ZWS_OP_PING, "Hello", 5, 0), 0);
    size_t n;
    const uint8_t *out = zws_writer_pending(w, &n);
    const uint8_t want[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o',
                            0x89, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    zws_writer_consume(w, 7);
    out = zws_writer_pending(w, &n);
    assert_int_equal(n, 7);
    assert_memory_equal(out, want + 7, 7);
    zws_writer_consume(w, 7);
    zws_writer_pending(w, &n);
    assert_int_equal(n, 0);
    zws_writer_free(w);
}

static void test_client_roundtrip_and_keys(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_CLIENT);
    const size_t sizes[] = {0, 1, 5, 125, 126, 65535, 65536, 100000};
    uint8_t *payload = malloc(100000);
    uint64_t seed = 3;
    for (size_t i = 0; i < 100000; i++)
        payload[i] = (uint8_t)tu_rand(&seed);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        assert_int_equal(zws_writer_put(w, ZWS_OP_BINARY, payload, sizes[i], 0), 0);
    tu_log log = {0};
    parse_pending(w, &log);
    assert_int_equal(log.n, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(log.recs[i].len, sizes[i]);
        if (sizes[i])
            assert_memory_equal(log.recs[i].data, payload, sizes[i]);
    }
    tu_log_free(&log);
    /* Keys differ from frame to frame. */
    size_t n;
    const uint8_t *out = zws_writer_pending(w, &n);
    uint8_t k1[4], k2[4];
    memcpy(k1, out + 2, 4);          /* empty frame: 2-byte header, key */
    memcpy(k2, out + 6 + 2, 4);      /* next frame: 1 byte payload */
    assert_memory_not_equal(k1, k2, 4);
    zws_writer_free(w);
    free(payload);
}

/* getrandom is called once per 1024 frames, not once per frame. */
static void test_key_pool_batched(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_CLIENT);
    uint32_t seen_same = 0, prev = 0;
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, "x", 1, 0), 0);
        size_t n;
        const uint8_t *out = zws_writer_pending(w, &n);
        uint32_t key;
        memcpy(&key, out + 2, 4);
        seen_same += i && key == prev;
        prev = key;
        zws_writer_consume(w, n);
    }
    assert_int_equal(zws__writer_refills(w), 3);
    assert_true(seen_same < 3);
    zws_writer_free(w);
}

static void test_fragmentation(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_SERVER);
    zws_writer_set_frag_size(w, 100);
    char text[1000];
    for (int i = 0; i < 1000; i++)
        text[i] = (char)('a' + i % 26);
    assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, text, 1000, 0), 0);
    assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, text, 100, 0), 0);
    size_t n;
    const uint8_t *out = zws_writer_pending(w, &n);
    assert_int_equal(n, 10 * 102 + 102);
    for (int f = 0; f < 10; f++) {
        uint8_t b0 = out[f * 102];
        assert_int_equal(b0 & 0x0f, f ? ZWS_OP_CONT : ZWS_OP_TEXT);
        assert_int_equal(b0 >> 7, f == 9);
    }
    assert_int_equal(out[1020], 0x81); /* exactly frag_size: one frame */
    tu_log log = {0};
    parse_pending(w, &log);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.recs[0].len, 1000);
    assert_memory_equal(log.recs[0].data, text, 1000);
    tu_log_free(&log);
    zws_writer_free(w);
}

static void test_manual_fragments(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_CLIENT);
    assert_int_equal(zws_writer_put(w, ZWS_OP_CONT, "x", 1, 0), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, "ab", 2, ZWS_WRITE_MORE | ZWS_RSV1), 0);
    assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, "x", 1, 0), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, ZWS_OP_CONT, "x", 1, ZWS_RSV1), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, ZWS_OP_PING, "p", 1, 0), 0);
    assert_int_equal(zws_writer_put(w, ZWS_OP_CONT, "cd", 2, ZWS_WRITE_MORE), 0);
    assert_int_equal(zws_writer_put(w, ZWS_OP_CONT, "e", 1, 0), 0);
    size_t n;
    const uint8_t *out = zws_writer_pending(w, &n);
    assert_int_equal(out[0], 0x41); /* TEXT, RSV1, not final */
    zws_writer_free(w);
    /* Without RSV1 the parser (no extension) takes the sequence. */
    w = writer(ZWS_ROLE_CLIENT);
    zws_writer_put(w, ZWS_OP_TEXT, "ab", 2, ZWS_WRITE_MORE);
    zws_writer_put(w, ZWS_OP_PING, "p", 1, 0);
    zws_writer_put(w, ZWS_OP_CONT, "cd", 2, ZWS_WRITE_MORE);
    zws_writer_put(w, ZWS_OP_CONT, "e", 1, 0);
    tu_log log = {0};
    parse_pending(w, &log);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.recs[0].type, ZWS_EV_PING);
    assert_memory_equal(log.recs[1].data, "abcde", 5);
    tu_log_free(&log);
    zws_writer_free(w);
}

static void test_rejects(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_SERVER);
    char big[126] = {0};
    assert_int_equal(zws_writer_put(w, ZWS_OP_PING, big, 126, 0), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, ZWS_OP_CLOSE, big, 2, ZWS_WRITE_MORE), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, 3, big, 1, 0), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, 11, big, 1, 0), ZWS_EINVAL);
    assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, big, 1, 0x8000), ZWS_EINVAL);
    zws_writer_set_max_pending(w, 100);
    assert_int_equal(zws_writer_put(w, ZWS_OP_BINARY, big, 98, 0), 0);
    assert_int_equal(zws_writer_put(w, ZWS_OP_BINARY, big, 0, 0), ZWS_ENOSPACE);
    assert_int_equal(zws_writer_put(w, ZWS_OP_PONG, big, 0, 0), ZWS_ENOSPACE);
    size_t n;
    zws_writer_pending(w, &n);
    assert_int_equal(n, 100);
    /* A close frame goes in over the limit: a full writer can still close. */
    assert_int_equal(zws_writer_put(w, ZWS_OP_CLOSE, "\x03\xf0", 2, 0), 0);
    zws_writer_pending(w, &n);
    assert_int_equal(n, 104);
    zws_writer_consume(w, 4);
    zws_writer_consume(w, 50);
    assert_int_equal(zws_writer_put(w, ZWS_OP_BINARY, big, 40, 0), 0);
    zws_writer_pending(w, &n);
    assert_int_equal(n, 92);
    zws_writer_consume(w, 1000); /* more than pending: clamps */
    zws_writer_pending(w, &n);
    assert_int_equal(n, 0);
    zws_writer_free(w);
    assert_int_equal(zws_writer_new(NULL, ZWS_ROLE_SERVER), ZWS_EINVAL);
    zws_writer_free(NULL);
}

static void test_coalescing(void **state)
{
    (void)state;
    zws_writer *w = writer(ZWS_ROLE_CLIENT);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(zws_writer_put(w, ZWS_OP_TEXT, "0123456789abcdefghij", 20, 0), 0);
    size_t n;
    zws_writer_pending(w, &n);
    assert_int_equal(n, 1000 * 26); /* one contiguous region: one write */
    tu_log log = {0};
    zws_writer_consume(w, 26 * 900);
    parse_pending(w, &log);
    assert_int_equal(log.n, 100);
    tu_log_free(&log);
    zws_writer_free(w);
}

static void test_iov(void **state)
{
    (void)state;
    zws_writer *c = writer(ZWS_ROLE_CLIENT);
    uint8_t hdr[64];
    struct iovec iov[16];
    assert_int_equal(zws_writer_iov(c, ZWS_OP_TEXT, "x", 1, 0, hdr, sizeof hdr, iov, 16),
                     ZWS_ESTATE);
    zws_writer_free(c);
    zws_writer *w = writer(ZWS_ROLE_SERVER);
    static uint8_t payload[70000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    int k = zws_writer_iov(w, ZWS_OP_BINARY, payload, sizeof payload, 0, hdr,
                           sizeof hdr, iov, 16);
    assert_int_equal(k, 2);
    assert_int_equal(iov[0].iov_len, 10);
    assert_ptr_equal(iov[1].iov_base, payload); /* by reference */
    zws_writer_set_frag_size(w, 30000);
    assert_int_equal(zws_writer_iov(w, ZWS_OP_BINARY, payload, sizeof payload, 0, hdr,
                                    sizeof hdr, iov, 4), ZWS_ENOSPACE);
    assert_int_equal(zws_writer_iov(w, ZWS_OP_BINARY, payload, sizeof payload, 0, hdr,
                                    8, iov, 16), ZWS_ENOSPACE);
    k = zws_writer_iov(w, ZWS_OP_BINARY, payload, sizeof payload, 0, hdr, sizeof hdr,
                       iov, 16);
    assert_int_equal(k, 6);
    /* Gather and parse. */
    size_t total = 0;
    for (int i = 0; i < k; i++)
        total += iov[i].iov_len;
    uint8_t *wire = malloc(total);
    size_t at = 0;
    for (int i = 0; i < k; i++) {
        memcpy(wire + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    zws_parser *p = NULL;
    zws_parser_new(&p, ZWS_ROLE_CLIENT);
    tu_log log = {0};
    tu_drive(p, wire, total, tu_chunk_all, NULL, &log);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].len, sizeof payload);
    assert_memory_equal(log.recs[0].data, payload, sizeof payload);
    tu_log_free(&log);
    zws_parser_free(p);
    free(wire);
    zws_writer_free(w);
}

/* A client writer's life: puts that allocate the writer, its buffer, its
 * key pool and two growths of the buffer (the last one fragmented). Stops at
 * the first failing put, which must be ZWS_ENOMEM and leave nothing
 * pending. Returns the number of messages put; *out gets a copy of the
 * pending bytes (system malloc) and *n their length. */
#define NMSGS 4
static const size_t msg_len[NMSGS] = {5, 100, 1000, 10000};

static int writer_life(uint8_t **out, size_t *n, int *failed)
{
    static uint8_t payload[10000];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 13);
    *out = NULL;
    *n = 0;
    *failed = 0;
    zws_writer *w = NULL;
    int r = zws_writer_new(&w, ZWS_ROLE_CLIENT);
    if (r) {
        assert_int_equal(r, ZWS_ENOMEM);
        *failed = 1;
        return 0;
    }
    int put = 0;
    for (; put < NMSGS; put++) {
        size_t before;
        zws_writer_pending(w, &before);
        zws_writer_set_frag_size(w, put == NMSGS - 1 ? 4096 : 0);
        r = zws_writer_put(w, ZWS_OP_BINARY, payload, msg_len[put], 0);
        if (r) {
            assert_int_equal(r, ZWS_ENOMEM);
            size_t after;
            zws_writer_pending(w, &after);
            assert_int_equal(after, before); /* a failed put writes nothing */
            *failed = 1;
            break;
        }
    }
    const uint8_t *pending = zws_writer_pending(w, n);
    *out = malloc(*n + 1);
    memcpy(*out, pending, *n);
    zws_writer_free(w);
    return put;
}

/* Allocation 0, 1, 2, ... failed in turn until a run needs no failure: each
 * is a clean ZWS_ENOMEM, the messages put before it are intact, nothing
 * leaks, and the run with no failure produces every message. */
static void test_failing_allocations(void **state)
{
    (void)state;
    long fail;
    for (fail = 0;; fail++) {
        tu_counting_allocator();
        tu_fail_at = fail;
        uint8_t *out;
        size_t n;
        int failed;
        int put = writer_life(&out, &n, &failed);
        assert_int_equal(tu_live, 0);
        int done = (long)tu_allocs <= fail;
        zws_set_allocator(NULL, NULL, NULL);
        assert_int_equal(failed, !done);
        /* What was put parses back as exactly those messages. */
        zws_parser *p = NULL;
        assert_int_equal(zws_parser_new(&p, ZWS_ROLE_SERVER), 0);
        tu_log log = {0};
        if (n) /* nothing at all when the writer itself was not made */
            tu_drive(p, out, n, tu_chunk_all, NULL, &log);
        assert_int_equal(log.n, put);
        for (int i = 0; i < put; i++) {
            assert_int_equal(log.recs[i].type, ZWS_EV_MESSAGE);
            assert_int_equal(log.recs[i].len, msg_len[i]);
            for (size_t k = 0; k < msg_len[i]; k++)
                assert_int_equal(log.recs[i].data[k], (uint8_t)(k * 13));
        }
        tu_log_free(&log);
        zws_parser_free(p);
        free(out);
        if (done) {
            assert_int_equal(put, NMSGS);
            break;
        }
    }
    /* The writer, its buffer, its key pool, two growths. */
    assert_int_equal(fail, 5);
}

/* ---- zws_buf ---- */
static void *unref_many(void *arg)
{
    zws_buf *b = arg;
    for (int i = 0; i < 100000; i++)
        zws_buf_unref(zws_buf_ref(b));
    return NULL;
}

static void test_buf(void **state)
{
    (void)state;
    zws_buf *b = zws_buf_new_copy("hello", 5);
    assert_non_null(b);
    assert_int_equal(zws_buf_len(b), 5);
    assert_memory_equal(zws_buf_data(b), "hello", 5);
    zws_buf_mut(b)[0] = 'j';
    assert_memory_equal(zws_buf_data(b), "jello", 5);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, unref_many, b);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    zws_buf *c = zws_buf_ref(b);
    zws_buf_unref(b);
    assert_memory_equal(zws_buf_data(c), "jello", 5);
    zws_buf_unref(c);
    zws_buf *e = zws_buf_new_copy(NULL, 0);
    assert_non_null(e);
    assert_int_equal(zws_buf_len(e), 0);
    zws_buf_unref(e);
    zws_buf_unref(NULL);
    assert_null(zws_buf_new(SIZE_MAX));
}

/* Refilling reuses the allocation of a buffer held alone, up to the size it
 * was made with; a shared or too small buffer is left as it was. */
static void test_buf_refill(void **state)
{
    (void)state;
    zws_buf *b = zws_buf_new(8);
    assert_non_null(b);
    assert_ptr_equal(zws_buf_refill(b, "abc", 3), b);
    assert_int_equal(zws_buf_len(b), 3);
    assert_memory_equal(zws_buf_data(b), "abc", 3);
    assert_ptr_equal(zws_buf_refill(b, "12345678", 8), b);
    assert_int_equal(zws_buf_len(b), 8);
    assert_memory_equal(zws_buf_data(b), "12345678", 8);
    assert_null(zws_buf_refill(b, "123456789", 9));
    assert_int_equal(zws_buf_len(b), 8);
    assert_memory_equal(zws_buf_data(b), "12345678", 8);
    zws_buf *r = zws_buf_ref(b);
    assert_null(zws_buf_refill(b, "xy", 2));
    assert_memory_equal(zws_buf_data(r), "12345678", 8);
    zws_buf_unref(r);
    assert_ptr_equal(zws_buf_refill(b, NULL, 0), b);
    assert_int_equal(zws_buf_len(b), 0);
    zws_buf_unref(b);
}

int main(void)
{
    int err = zws_simd_init();
    if (err)
        return fprintf(stderr, "ZWS_SIMD: %s\n", zws_strerror(err)), 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_exact_bytes),
        cmocka_unit_test(test_client_roundtrip_and_keys),
        cmocka_unit_test(test_key_pool_batched),
        cmocka_unit_test(test_fragmentation),
        cmocka_unit_test(test_manual_fragments),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_coalescing),
        cmocka_unit_test(test_iov),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_buf_refill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
