/* Differential fuzzing of the masking kernels: every kernel this CPU runs
 * must equal the byte-wise reference for the key, phase, alignments and
 * payload the input picks, copying and in place, in one piece or two.
 *
 * Input: key[4], phase, src offset, dst offset, split point, payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal/cpu.h"
#include "internal/mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUARD 64

static uint8_t *alloc64(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 1))
        abort();
    return p;
}

static void expect(int ok)
{
    if (!ok)
        abort();
}

static void run_kernel(const struct zws__mask_kernel *k, const uint8_t *key,
                       unsigned phase, const uint8_t *payload, size_t len,
                       size_t soff, size_t doff, size_t split,
                       const uint8_t *want)
{
    unsigned next = (phase + (unsigned)(len & 3)) & 3;
    /* Exact size: ASan catches a read one byte past the payload. */
    uint8_t *src = alloc64(soff + len);
    uint8_t *db = alloc64(GUARD + doff + len + GUARD);
    uint8_t *dst = db + GUARD + doff;
    memcpy(src + soff, payload, len);
    memset(db, 0xa5, GUARD + doff + len + GUARD);

    expect(k->mask_copy(dst, src + soff, len, key, phase) == next);
    expect(memcmp(dst, want, len) == 0);
    expect(memcmp(src + soff, payload, len) == 0);
    for (size_t i = 0; i < GUARD + doff; i++)
        expect(db[i] == 0xa5);
    for (size_t i = 0; i < GUARD; i++)
        expect(dst[len + i] == 0xa5);

    /* In place, in two pieces: the phase returned by the first continues
     * the key for the second. */
    uint8_t *p = src + soff;
    unsigned mid = k->mask_copy(p, p, split, key, phase);
    expect(mid == ((phase + split) & 3));
    expect(k->mask_copy(p + split, p + split, len - split, key, mid) == next);
    expect(memcmp(p, want, len) == 0);
    free(src);
    free(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    const uint8_t *key = data;
    unsigned phase = data[4]; /* not reduced: only phase % 4 may count */
    size_t soff = data[5] & 63, doff = data[6] & 63;
    const uint8_t *payload = data + 8;
    size_t len = size - 8;
    size_t split = len * data[7] / 255;

    uint8_t *want = malloc(len + 1);
    zws__mask_ref(want, payload, len, key, phase);
    for (size_t i = 0; i < zws__mask_nkernels; i++)
        if (zws__cpu_supports(zws__mask_kernels[i].level))
            run_kernel(&zws__mask_kernels[i], key, phase, payload, len, soff,
                       doff, split, want);
    free(want);
    return 0;
}
