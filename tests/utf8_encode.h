/* Encodes one code point as UTF-8, for building test and fuzz inputs. Shared
 * by tests/test_utf8.c and fuzz/fuzz_utf8.c; no cmocka here. */
#ifndef ZWS_TEST_UTF8_ENCODE_H
#define ZWS_TEST_UTF8_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Writes cp (< 0x110000; surrogates are encoded as given, which makes them
 * invalid input) into o[0..4) and returns the byte count. */
static inline size_t tu_utf8_encode(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
