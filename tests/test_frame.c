/* Frame header codec: RFC 6455 examples, round trips at the length
 * boundaries, incremental input, and every rejection rule. */
#include "testutil.h"

static const uint64_t ANY = UINT64_MAX >> 1;

static void test_rfc_examples(void **state)
{
    (void)state;
    zws_frame f;
    /* RFC 6455 §5.7: unmasked "Hello" from a server. */
    const uint8_t a[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(zws_frame_parse(&f, a, sizeof a, ZWS_ROLE_CLIENT, 0, ANY, NULL), 2);
    assert_int_equal(f.fin, 1);
    assert_int_equal(f.opcode, ZWS_OP_TEXT);
    assert_int_equal(f.len, 5);
    assert_ptr_equal(f.payload, a + 2);
    assert_memory_equal(f.payload, "Hello", 5);
    /* Masked "Hello" from a client. */
    const uint8_t b[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                         0x7f, 0x9f, 0x4d, 0x51, 0x58};
    assert_int_equal(zws_frame_parse(&f, b, sizeof b, ZWS_ROLE_SERVER, 0, ANY, NULL), 6);
    assert_int_equal(f.masked, 1);
    assert_memory_equal(f.mask_key, b + 2, 4);
    uint8_t out[5];
    zws_mask_copy(out, f.payload, 5, f.mask_key, 0);
    assert_memory_equal(out, "Hello", 5);
    /* Fragmented: first frame not final, continuation final. */
    const uint8_t c1[] = {0x01, 0x03, 'H', 'e', 'l'};
    const uint8_t c2[] = {0x80, 0x02, 'l', 'o'};
    assert_int_equal(zws_frame_parse(&f, c1, sizeof c1, ZWS_ROLE_CLIENT, 0, ANY, NULL), 2);
    assert_int_equal(f.fin, 0);
    assert_int_equal(zws_frame_parse(&f, c2, sizeof c2, ZWS_ROLE_CLIENT, 0, ANY, NULL), 2);
    assert_int_equal(f.opcode, ZWS_OP_CONT);
    assert_int_equal(f.fin, 1);
    /* 256 bytes and 64 KiB binary headers. */
    const uint8_t d[] = {0x82, 0x7e, 0x01, 0x00};
    assert_int_equal(zws_frame_parse(&f, d, sizeof d, ZWS_ROLE_CLIENT, 0, ANY, NULL), 4);
    assert_int_equal(f.len, 256);
    const uint8_t e[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_int_equal(zws_frame_parse(&f, e, sizeof e, ZWS_ROLE_CLIENT, 0, ANY, NULL), 10);
    assert_int_equal(f.len, 65536);
}

static void roundtrip(uint64_t len, int masked)
{
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t hdr[ZWS_FRAME_MAX_HEADER];
    int h = zws_frame_write_header(hdr, ZWS_OP_BINARY, 1, 0, len, masked ? key : NULL);
    assert_int_equal((size_t)h, zws_frame_header_size(len, masked));
    zws_frame f;
    enum zws_role rx = masked ? ZWS_ROLE_SERVER : ZWS_ROLE_CLIENT;
    /* Every proper prefix asks for more, and says how much at least. */
    for (int k = 0; k < h; k++) {
        size_t need = 0;
        assert_int_equal(zws_frame_parse(&f, hdr, (size_t)k, rx, 0, ANY, &need), 0);
        assert_true(need >= 1 && k + need <= (size_t)h);
        if (k >= 2)
            assert_int_equal(k + need, h);
    }
    assert_int_equal(zws_frame_parse(&f, hdr, (size_t)h, rx, 0, ANY, NULL), h);
    assert_int_equal(f.len, len);
    assert_int_equal(f.masked, masked);
    assert_int_equal(f.header_len, h);
    assert_int_equal(f.fin, 1);
    assert_int_equal(f.opcode, ZWS_OP_BINARY);
    if (masked)
        assert_memory_equal(f.mask_key, key, 4);
}

static void test_roundtrip_lengths(void **state)
{
    (void)state;
    const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536,
                             (uint64_t)1 << 32, ((uint64_t)1 << 63) - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        roundtrip(lens[i], 0);
        roundtrip(lens[i], 1);
    }
    assert_int_equal(zws_frame_header_size(125, 0), 2);
    assert_int_equal(zws_frame_header_size(126, 0), 4);
    assert_int_equal(zws_frame_header_size(65536, 1), 14);
}

static void expect_fail(const uint8_t *p, size_t n, enum zws_role rx,
                        unsigned allow, uint64_t max, int err, uint16_t code)
{
    zws_frame f;
    assert_int_equal(zws_frame_parse(&f, p, n, rx, allow, max, NULL), err);
    assert_int_equal(f.close_code, code);
    assert_non_null(f.error);
}

static void test_reserved_opcodes(void **state)
{
    (void)state;
    for (unsigned op = 0; op < 16; op++) {
        uint8_t h[2] = {(uint8_t)(0x80 | op), 0x00};
        zws_frame f;
        int r = zws_frame_parse(&f, h, 2, ZWS_ROLE_CLIENT, 0, ANY, NULL);
        if ((op >= 3 && op <= 7) || op >= 11)
            expect_fail(h, 2, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
        else
            assert_int_equal(r, 2);
    }
}

static void test_rsv_bits(void **state)
{
    (void)state;
    for (unsigned rsv = 1; rsv < 8; rsv++) {
        uint8_t h[2] = {(uint8_t)(0x81 | rsv << 4), 0x00};
        expect_fail(h, 2, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
        zws_frame f;
        assert_int_equal(zws_frame_parse(&f, h, 2, ZWS_ROLE_CLIENT, rsv, ANY, NULL), 2);
        assert_int_equal(f.rsv, rsv);
        /* RSV1 claimed does not allow RSV2. */
        if (rsv & ~ZWS_RSV1)
            expect_fail(h, 2, ZWS_ROLE_CLIENT, ZWS_RSV1, ANY, ZWS_EPROTO, 1002);
    }
}

static void test_control_rules(void **state)
{
    (void)state;
    const uint8_t ops[] = {ZWS_OP_CLOSE, ZWS_OP_PING, ZWS_OP_PONG};
    for (int i = 0; i < 3; i++) {
        uint8_t frag[2] = {ops[i], 0x00}; /* FIN clear */
        expect_fail(frag, 2, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
        uint8_t big[2] = {(uint8_t)(0x80 | ops[i]), 126};
        expect_fail(big, 2, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
        uint8_t ok[2] = {(uint8_t)(0x80 | ops[i]), 125};
        zws_frame f;
        assert_int_equal(zws_frame_parse(&f, ok, 2, ZWS_ROLE_CLIENT, 0, ANY, NULL), 2);
    }
}

static void test_length_top_bit(void **state)
{
    (void)state;
    uint8_t h[10] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0};
    expect_fail(h, 10, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
}

static void test_mask_bit_by_role(void **state)
{
    (void)state;
    const uint8_t unmasked[2] = {0x81, 0x00};
    const uint8_t masked[6] = {0x81, 0x80, 1, 2, 3, 4};
    expect_fail(unmasked, 2, ZWS_ROLE_SERVER, 0, ANY, ZWS_EPROTO, 1002);
    expect_fail(masked, 6, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
    /* Judged from the first two bytes, before the key arrives. */
    expect_fail(masked, 2, ZWS_ROLE_CLIENT, 0, ANY, ZWS_EPROTO, 1002);
}

static void test_max_payload(void **state)
{
    (void)state;
    uint8_t h[4] = {0x82, 0x7e, 0x01, 0x00}; /* 256 bytes */
    expect_fail(h, 4, ZWS_ROLE_CLIENT, 0, 255, ZWS_ETOOBIG, 1009);
    zws_frame f;
    assert_int_equal(zws_frame_parse(&f, h, 4, ZWS_ROLE_CLIENT, 0, 256, NULL), 4);
}

static void test_non_minimal_length_accepted(void **state)
{
    (void)state;
    uint8_t h[4] = {0x82, 0x7e, 0x00, 0x05};
    zws_frame f;
    assert_int_equal(zws_frame_parse(&f, h, 4, ZWS_ROLE_CLIENT, 0, ANY, NULL), 4);
    assert_int_equal(f.len, 5);
}

static void test_write_header_rejects(void **state)
{
    (void)state;
    uint8_t h[ZWS_FRAME_MAX_HEADER];
    assert_int_equal(zws_frame_write_header(h, 16, 1, 0, 0, NULL), ZWS_EINVAL);
    assert_int_equal(zws_frame_write_header(h, 2, 1, 0, (uint64_t)1 << 63, NULL), ZWS_EINVAL);
    assert_int_equal(zws_frame_write_header(h, ZWS_OP_PING, 0, 0, 0, NULL), ZWS_EINVAL);
    assert_int_equal(zws_frame_write_header(h, ZWS_OP_PING, 1, 0, 126, NULL), ZWS_EINVAL);
    assert_int_equal(zws_frame_write_header(h, 1, 1, 8, 0, NULL), ZWS_EINVAL);
    assert_int_equal(zws_frame_write_header(h, ZWS_OP_PING, 1, 0, 125, NULL), 2);
    assert_int_equal(zws_frame_write_header(h, 1, 0, ZWS_RSV1, 0, NULL), 2);
    assert_int_equal(h[0], 0x41);
}

static void test_common(void **state)
{
    (void)state;
    assert_int_equal(zws_version(), ZWS_VERSION_HEX);
    assert_string_equal(zws_version_string(), ZWS_VERSION_STRING);
#define CHECK_ERR(name, val, desc)                                             \
    assert_string_equal(zws_strerror(ZWS_E##name), desc);                      \
    assert_string_equal(zws_errname(ZWS_E##name), "ZWS_E" #name);
    ZWS_ERRNO_MAP(CHECK_ERR)
#undef CHECK_ERR
    assert_string_equal(zws_strerror(-9999), "unknown error");
    for (unsigned c = 0; c < 70000; c++) {
        int want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                   (c >= 3000 && c <= 4999);
        assert_int_equal(zws_close_code_valid(c), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_roundtrip_lengths),
        cmocka_unit_test(test_reserved_opcodes),
        cmocka_unit_test(test_rsv_bits),
        cmocka_unit_test(test_control_rules),
        cmocka_unit_test(test_length_top_bit),
        cmocka_unit_test(test_mask_bit_by_role),
        cmocka_unit_test(test_max_payload),
        cmocka_unit_test(test_non_minimal_length_accepted),
        cmocka_unit_test(test_write_header_rejects),
        cmocka_unit_test(test_common),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
