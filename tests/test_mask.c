/* Masking tests: every kernel this CPU can run against the byte-wise
 * reference (all lengths 0..300, all phases, src and dst misalignments
 * 0..63, copy and in place, guard bytes and guard pages around the buffers),
 * random sizes up to 4 MiB, the public API, kernel selection, and the
 * choice of kernel by size that zws_mask makes, over the same cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal/cpu.h"
#include "internal/mask.h"
#include "zws/mask.h"

#define MAXLEN 300
#define GUARD 64

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd() >> 32);
}

/* 64-byte aligned, so an offset into it is exactly that misalignment; sized
 * exactly, so ASan flags any access past n. */
static uint8_t *alloc64(size_t n)
{
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, 64, n ? n : 1), 0);
    return p;
}

static void check_same(const struct zws__mask_kernel *k, const uint8_t *got,
                       const uint8_t *want, size_t n, const char *what,
                       size_t len, unsigned phase, size_t s, size_t d)
{
    if (memcmp(got, want, n) == 0)
        return;
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    fail_msg("%s: %s len %zu phase %u src+%zu dst+%zu: byte %zu is %02x, "
             "want %02x",
             k->name, what, len, phase, s, d, i, got[i], want[i]);
}

/* The kernels this CPU supports; the list is printed once so a log shows
 * what was covered. */
static size_t supported(const struct zws__mask_kernel **out)
{
    size_t n = 0;
    for (size_t i = 0; i < zws__mask_nkernels; i++)
        if (zws__cpu_supports(zws__mask_kernels[i].level))
            out[n++] = &zws__mask_kernels[i];
    return n;
}

/* Copy mode for one length and src misalignment s, every phase, kernel and
 * dst misalignment: src sized exactly (ASan sees any over-read), dst with
 * GUARD bytes checked on each side. */
static void copy_case(const struct zws__mask_kernel **ks, size_t nk, size_t len,
                      size_t s)
{
    size_t total = GUARD + 63 + len + GUARD;
    uint8_t *sb = alloc64(s + len), *sref = malloc(s + len + 1);
    uint8_t *db = alloc64(total), *pristine = malloc(total),
            *want = malloc(len + 1);
    const uint8_t key[4] = {(uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(),
                            (uint8_t)rnd()};
    fill(sb, s + len);
    memcpy(sref, sb, s + len);
    fill(pristine, total);
    memcpy(db, pristine, total);
    for (unsigned phase = 0; phase < 4; phase++) {
        zws__mask_ref(want, sb + s, len, key, phase);
        for (size_t i = 0; i < nk; i++) {
            for (size_t d = 0; d < 64; d++) {
                uint8_t *dst = db + GUARD + d;
                unsigned r = ks[i]->mask_copy(dst, sb + s, len, key, phase);
                assert_int_equal(r, (phase + len) & 3);
                check_same(ks[i], dst - GUARD, pristine + d, GUARD,
                           "guard before dst", len, phase, s, d);
                check_same(ks[i], dst, want, len, "copy", len, phase, s, d);
                check_same(ks[i], dst + len, pristine + GUARD + d + len, GUARD,
                           "guard after dst", len, phase, s, d);
                memcpy(dst, pristine + GUARD + d, len);
            }
            check_same(ks[i], sb, sref, s + len, "copy src", len, phase, s, 0);
        }
    }
    free(sb);
    free(sref);
    free(db);
    free(pristine);
    free(want);
}

static void inplace_case(const struct zws__mask_kernel **ks, size_t nk,
                         size_t len, size_t m)
{
    size_t total = GUARD + m + len + GUARD;
    uint8_t *b = alloc64(total), *pristine = malloc(total),
            *want = malloc(total);
    const uint8_t key[4] = {(uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(),
                            (uint8_t)rnd()};
    fill(pristine, total);
    for (unsigned phase = 0; phase < 4; phase++) {
        memcpy(want, pristine, total);
        zws__mask_ref(want + GUARD + m, want + GUARD + m, len, key, phase);
        for (size_t i = 0; i < nk; i++) {
            memcpy(b, pristine, total);
            uint8_t *p = b + GUARD + m;
            unsigned r = ks[i]->mask_copy(p, p, len, key, phase);
            assert_int_equal(r, (phase + len) & 3);
            check_same(ks[i], b, want, total, "in place", len, phase, m, m);
        }
    }
    free(b);
    free(pristine);
    free(want);
}

static void test_kernels_copy(void **state)
{
    (void)state;
    const struct zws__mask_kernel *ks[16];
    size_t nk = supported(ks);
    for (size_t i = 0; i < nk; i++)
        print_message("kernel %s\n", ks[i]->name);
    for (size_t len = 0; len <= MAXLEN; len++)
        for (size_t s = 0; s < 64; s++)
            copy_case(ks, nk, len, s);
}

static void test_kernels_inplace(void **state)
{
    (void)state;
    const struct zws__mask_kernel *ks[16];
    size_t nk = supported(ks);
    for (size_t len = 0; len <= MAXLEN; len++)
        for (size_t m = 0; m < 64; m++)
            inplace_case(ks, nk, len, m);
}

/* The public entry points as kernels, for copy_case and inplace_case. */
static unsigned public_copy(uint8_t *dst, const uint8_t *src, size_t len,
                            const uint8_t key[4], unsigned phase)
{
    return zws_mask_copy(dst, src, len, key, phase);
}

static unsigned public_inplace(uint8_t *dst, const uint8_t *src, size_t len,
                               const uint8_t key[4], unsigned phase)
{
    assert_ptr_equal(dst, src);
    return zws_mask(dst, len, key, phase);
}

/* What zws_mask runs at each level this CPU supports (kernels chosen by
 * size) and the public calls themselves, against the reference at every
 * length 0..300 (so on both sides of each size cut), every phase, every src
 * and dst misalignment, copy and in place. */
static void test_dispatch(void **state)
{
    (void)state;
    struct zws__mask_kernel ks[20];
    const struct zws__mask_kernel *copy[20], *inplace[20];
    size_t nk = 0, ncopy = 0, ninplace = 0;
    for (size_t i = 0; i < zws__mask_nkernels; i++) {
        const struct zws__mask_kernel *k = &zws__mask_kernels[i];
        /* The cut lies where the lengths below cover both sides of it. */
        assert_true(k->wide_from + 64 <= MAXLEN);
        assert_non_null(k->dispatch);
        if (!zws__cpu_supports(k->level))
            continue;
        ks[nk] = *k;
        ks[nk].name = k->wide_from ? "dispatch by size" : k->name;
        ks[nk].mask_copy = k->dispatch;
        copy[ncopy++] = inplace[ninplace++] = &ks[nk++];
        print_message("level %s: %s kernel from %zu B on\n", k->name, k->name,
                      k->wide_from);
    }
    ks[nk] = (struct zws__mask_kernel){"zws_mask_copy", 0, public_copy, public_copy, 0};
    copy[ncopy++] = inplace[ninplace++] = &ks[nk++];
    ks[nk] = (struct zws__mask_kernel){"zws_mask", 0, public_inplace, public_inplace, 0};
    inplace[ninplace++] = &ks[nk++];
    for (size_t len = 0; len <= MAXLEN; len++)
        for (size_t m = 0; m < 64; m++) {
            copy_case(copy, ncopy, len, m);
            inplace_case(inplace, ninplace, len, m);
        }
}

/* Phases 4..255 mean phase % 4, at every length 0..300 through each level's
 * choice by size and the public calls: the short path takes a second key
 * word from phase + len (the word that ends the frame), so a phase that is
 * not reduced first would show there. */
static void test_dispatch_phase_mod4(void **state)
{
    (void)state;
    uint8_t orig[MAXLEN], want[MAXLEN], got[MAXLEN];
    const uint8_t key[4] = {0x5a, 0xc3, 0x0f, 0x99};
    fill(orig, MAXLEN);
    for (size_t len = 0; len <= MAXLEN; len++)
        for (unsigned phase = 4; phase < 256; phase += 1 + (phase > 16) * 37) {
            unsigned want_next = (phase + (unsigned)len) & 3;
            zws__mask_ref(want, orig, len, key, phase & 3);
            for (size_t i = 0; i < zws__mask_nkernels; i++) {
                const struct zws__mask_kernel *k = &zws__mask_kernels[i];
                if (!zws__cpu_supports(k->level))
                    continue;
                memcpy(got, orig, len);
                assert_int_equal(k->dispatch(got, got, len, key, phase), want_next);
                check_same(k, got, want, len, "phase > 3", len, phase, 0, 0);
            }
            memcpy(got, orig, len);
            assert_int_equal(zws_mask(got, len, key, phase), want_next);
            assert_memory_equal(got, want, len);
            memset(got, 0, sizeof got);
            assert_int_equal(zws_mask_copy(got, orig, len, key, phase), want_next);
            assert_memory_equal(got, want, len);
        }
}

/* RW pages with an unmapped (PROT_NONE) page on each side: a kernel that
 * reads or writes one byte beyond its buffer faults in any build. */
struct fenced {
    uint8_t *map, *lo, *hi; /* lo: first usable byte, hi: one past the last */
    size_t maplen;
};

static void fence(struct fenced *f, size_t pages)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    f->maplen = (pages + 2) * pg;
    f->map =
        mmap(NULL, f->maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(f->map != MAP_FAILED);
    assert_int_equal(mprotect(f->map + pg, pages * pg, PROT_READ | PROT_WRITE),
                     0);
    f->lo = f->map + pg;
    f->hi = f->lo + pages * pg;
}

static void test_kernels_guard_pages(void **state)
{
    (void)state;
    const struct zws__mask_kernel *ks[16];
    size_t nk = supported(ks);
    struct fenced fs, fd;
    fence(&fs, 3);
    fence(&fd, 3);
    static const size_t big[] = {511,  512,  513,  1000, 4095,
                                 4096, 4097, 8191, 8192};
    size_t nbig = sizeof big / sizeof big[0];
    uint8_t *want = malloc(8192), *orig = malloc(8192);
    const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    for (size_t li = 0; li <= MAXLEN + nbig; li++) {
        size_t len = li <= MAXLEN ? li : big[li - MAXLEN - 1];
        fill(orig, len);
        for (unsigned phase = 0; phase < 4; phase++) {
            zws__mask_ref(want, orig, len, key, phase);
            for (size_t i = 0; i < nk; i++) {
                /* 0: both against the upper fence, 1: both against the lower,
                 * 2 and 3: in place at either end. */
                for (int where = 0; where < 4; where++) {
                    uint8_t *src = (where & 1) ? fs.lo : fs.hi - len;
                    uint8_t *dst =
                        where >= 2 ? src : ((where & 1) ? fd.lo : fd.hi - len);
                    memcpy(src, orig, len);
                    unsigned r = ks[i]->mask_copy(dst, src, len, key, phase);
                    assert_int_equal(r, (phase + len) & 3);
                    check_same(ks[i], dst, want, len, "fenced", len, phase,
                               (size_t)where, (size_t)where);
                }
            }
        }
    }
    free(want);
    free(orig);
    munmap(fs.map, fs.maplen);
    munmap(fd.map, fd.maplen);
}

/* Random sizes up to 4 MiB, a handful only: the reference is slow under
 * ASan and these exercise the unrolled loops, not new edge cases. */
static void test_kernels_random_large(void **state)
{
    (void)state;
    const struct zws__mask_kernel *ks[16];
    size_t nk = supported(ks);
    const size_t max = 4u << 20;
    uint8_t *src = alloc64(max + 64), *dst = alloc64(max + 64);
    uint8_t *want = malloc(max + 64), *orig = malloc(max + 64);
    fill(orig, max + 64);
    for (int t = 0; t < 8; t++) {
        size_t len = t == 0 ? max : (size_t)(rnd() % (t < 4 ? max : 70000)) + 1;
        size_t s = rnd() & 63, d = rnd() & 63;
        unsigned phase = (unsigned)(rnd() & 3);
        const uint8_t key[4] = {(uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(),
                                (uint8_t)rnd()};
        zws__mask_ref(want, orig + s, len, key, phase);
        for (size_t i = 0; i < nk; i++) {
            memcpy(src, orig, s + len);
            assert_int_equal(
                ks[i]->mask_copy(dst + d, src + s, len, key, phase),
                (phase + len) & 3);
            check_same(ks[i], dst + d, want, len, "copy", len, phase, s, d);
            assert_int_equal(
                ks[i]->mask_copy(src + s, src + s, len, key, phase),
                (phase + len) & 3);
            check_same(ks[i], src + s, want, len, "in place", len, phase, s, s);
        }
    }
    free(src);
    free(dst);
    free(want);
    free(orig);
}

/* The public functions, and a payload masked in pieces (as it arrives over
 * several reads) equals the payload masked at once. */
static void test_public_api(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint8_t *orig = malloc(N), *want = malloc(N), *buf = malloc(N),
            *out = malloc(N);
    const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
    fill(orig, N);
    for (unsigned phase = 0; phase < 4; phase++) {
        zws__mask_ref(want, orig, N, key, phase);
        memcpy(buf, orig, N);
        assert_int_equal(zws_mask(buf, N, key, phase), (phase + N) & 3);
        assert_memory_equal(buf, want, N);
        assert_int_equal(zws_mask_copy(out, orig, N, key, phase),
                         (phase + N) & 3);
        assert_memory_equal(out, want, N);
        assert_int_equal(zws_mask_copy(out, out, 0, key, phase), phase);
        for (int t = 0; t < 50; t++) {
            memcpy(buf, orig, N);
            unsigned ph = phase;
            for (size_t at = 0; at < N;) {
                size_t n = (size_t)(rnd() % (t < 25 ? 20 : 700));
                if (n > N - at)
                    n = N - at;
                ph = t & 1 ? zws_mask(buf + at, n, key, ph)
                           : zws_mask_copy(buf + at, buf + at, n, key, ph);
                at += n;
            }
            assert_int_equal(ph, (phase + N) & 3);
            assert_memory_equal(buf, want, N);
        }
    }
    /* Empty buffers may be NULL (UBSan would flag NULL + 0 arithmetic). */
    assert_int_equal(zws_mask(NULL, 0, key, 3), 3);
    assert_int_equal(zws_mask_copy(NULL, NULL, 0, key, 1), 1);
    /* Only phase % 4 counts. */
    memcpy(buf, orig, 64);
    assert_int_equal(zws_mask(buf, 64, key, 6), 2);
    zws__mask_ref(want, orig, 64, key, 2);
    assert_memory_equal(buf, want, 64);
    free(orig);
    free(want);
    free(buf);
    free(out);
}

static void test_simd_parse(void **state)
{
    (void)state;
    assert_int_equal(zws__simd_parse("word"), ZWS__SIMD_WORD);
#if defined(__x86_64__)
    assert_int_equal(zws__simd_parse("sse2"), ZWS__SIMD_SSE2);
    assert_int_equal(zws__simd_parse("avx2"), ZWS__SIMD_AVX2);
    assert_int_equal(zws__simd_parse("avx512"), ZWS__SIMD_AVX512);
    assert_int_equal(zws__simd_parse("neon"), -1);
#elif defined(__aarch64__)
    assert_int_equal(zws__simd_parse("neon"), ZWS__SIMD_NEON);
    assert_int_equal(zws__simd_parse("avx2"), -1);
#endif
    assert_int_equal(zws__simd_parse(""), -1);
    assert_int_equal(zws__simd_parse("AVX2"), -1);
    assert_int_equal(zws__simd_parse("avx"), -1);
    assert_int_equal(zws__simd_parse("auto"), -1);
}

/* The table is ordered, starts with "word", and zws__mask_best picks the
 * highest level that does not exceed the one asked for. */
static void test_kernel_table(void **state)
{
    (void)state;
    assert_true(zws__mask_nkernels >= 1);
    assert_string_equal(zws__mask_kernels[0].name, "word");
    assert_int_equal(zws__mask_kernels[0].level, ZWS__SIMD_WORD);
    for (size_t i = 1; i < zws__mask_nkernels; i++)
        assert_true(zws__mask_kernels[i].level >
                    zws__mask_kernels[i - 1].level);
    for (int level = ZWS__SIMD_WORD; level <= ZWS__SIMD_AVX512; level++) {
        const struct zws__mask_kernel *b = zws__mask_best(level);
        assert_true(b->level <= level);
        for (size_t i = 0; i < zws__mask_nkernels; i++)
            if (zws__mask_kernels[i].level <= level)
                assert_true(zws__mask_kernels[i].level <= b->level);
    }
    /* The active kernel is the table's choice for the level in force. */
    const char *name = zws_mask_kernel();
    assert_non_null(name);
    assert_string_equal(name, zws__mask_best(zws__simd_level(NULL))->name);
    assert_true(
        zws__cpu_supports(zws__mask_best(zws__simd_level(NULL))->level));
    print_message("active kernel %s\n", name);
}

struct first_use_arg {
    uint8_t buf[1000];
    int ok;
};

static void *first_use_thread(void *p)
{
    struct first_use_arg *a = p;
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t want[sizeof a->buf];
    zws__mask_ref(want, a->buf, sizeof a->buf, key, 1);
    zws_mask(a->buf, sizeof a->buf, key, 1);
    a->ok = memcmp(a->buf, want, sizeof want) == 0;
    return NULL;
}

/* Runs in a fresh child, where nothing has chosen a kernel yet: ZWS_SIMD
 * forces the level, and the first calls race from several threads. */
static int child_check(const char *env)
{
    if (env)
        setenv("ZWS_SIMD", env, 1);
    else
        unsetenv("ZWS_SIMD");
    struct first_use_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        for (size_t j = 0; j < sizeof args[i].buf; j++)
            args[i].buf[j] = (uint8_t)(j * 7 + (size_t)i);
        if (pthread_create(&th[i], NULL, first_use_thread, &args[i]))
            return 10;
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (!args[i].ok)
            return 11;
    }
    int err = zws_simd_init();
    int forced = env && *env && strcmp(env, "auto") != 0;
    int want = forced ? zws__simd_parse(env) : zws__cpu_best();
    int want_err = 0;
    if (want < 0 || want > zws__cpu_best()) {
        want = zws__cpu_best();
        want_err = ZWS_ESIMD;
    }
    if (err != want_err)
        return 12;
    if (zws__simd_level(NULL) != want)
        return 13;
    if (strcmp(zws_mask_kernel(), zws__mask_best(want)->name) != 0)
        return 14;
    return 0;
}

static void test_simd_env(void **state)
{
    (void)state;
    static const char *const envs[] = {NULL,   "",       "auto", "word", "sse2",
                                       "avx2", "avx512", "neon", "bogus"};
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_check(envs[i]));
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("ZWS_SIMD=%s: child status %d",
                     envs[i] ? envs[i] : "(unset)", st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simd_parse),
        /* Before anything in this process picks a kernel: its children
         * inherit that choice, and they must make their own. */
        cmocka_unit_test(test_simd_env),
        cmocka_unit_test(test_kernel_table),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_kernels_copy),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_dispatch_phase_mod4),
        cmocka_unit_test(test_kernels_inplace),
        cmocka_unit_test(test_kernels_guard_pages),
        cmocka_unit_test(test_kernels_random_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
