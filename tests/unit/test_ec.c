/* tests/unit/test_ec.c — ec/: every erasure pattern within a code's reach,
 * buffers ending at a guard page, checksums, refusals, adaptive width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ec/ecs.h"

/* A buffer whose last byte is followed by an inaccessible page, so reading
 * or writing one byte too far faults even without a sanitizer. */
struct guarded {
    unsigned char *map;
    size_t map_len;
    unsigned char *buf;
};

static unsigned char *guarded_alloc(struct guarded *g, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + page - 1) / page * page;
    g->map_len = body + page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + body, page, PROT_NONE), 0);
    g->buf = g->map + body - len;
    return g->buf;
}

static void guarded_free(struct guarded *g) { munmap(g->map, g->map_len); }

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One object striped under a code: the stripe buffer (data chunks), parity
 * buffers, and pristine copies of every chunk to compare against. */
struct stripe {
    int d, p;
    size_t len, chunk_len;
    struct guarded stripe_mem, parity_mem[ECS_MAX_CHUNKS];
    unsigned char *chunks[ECS_MAX_CHUNKS];
    unsigned char *want[ECS_MAX_CHUNKS];
    unsigned char *object;
};

static void stripe_make(struct stripe *s, struct ecs_code *code, size_t len)
{
    memset(s, 0, sizeof *s);
    s->d = code->d;
    s->p = code->p;
    s->len = len;
    s->chunk_len = ecs_chunk_len(s->d, len);
    size_t size = ecs_stripe_size(s->d, len);
    assert_int_equal(size, (size_t)s->d * s->chunk_len);
    unsigned char *buf = guarded_alloc(&s->stripe_mem, size);
    s->object = malloc(len + 1);
    for (size_t i = 0; i < len; i++) buf[i] = s->object[i] = (unsigned char)rng();
    memset(buf + len, 0xEE, size - len); /* split must zero the padding */
    ecs_stripe_split(s->d, buf, len, s->chunks);
    for (int i = 0; i < s->p; i++) s->chunks[s->d + i] = guarded_alloc(&s->parity_mem[i], s->chunk_len);
    assert_int_equal(ecs_encode(code, s->chunk_len, s->chunks, s->chunks + s->d), 0);
    for (int i = 0; i < s->d + s->p; i++) {
        s->want[i] = malloc(s->chunk_len + 1);
        memcpy(s->want[i], s->chunks[i], s->chunk_len);
    }
    /* No copy: the data chunks are slices of the object buffer. */
    if (len > 0) assert_ptr_equal(s->chunks[0], buf);
    for (size_t i = len; i < size; i++) assert_int_equal(buf[i], 0);
}

static void stripe_free(struct stripe *s)
{
    guarded_free(&s->stripe_mem);
    for (int i = 0; i < s->p; i++) guarded_free(&s->parity_mem[i]);
    for (int i = 0; i < s->d + s->p; i++) free(s->want[i]);
    free(s->object);
}

/* Lose the chunks in `lost`, rebuild all of them, compare every byte. */
static void lose_and_rebuild(struct ecs_code *code, struct stripe *s, uint64_t lost)
{
    for (int i = 0; i < s->d + s->p; i++)
        if (lost >> i & 1) memset(s->chunks[i], 0xA5, s->chunk_len);
    uint64_t present = ecs_all_chunks(code) & ~lost;
    assert_int_equal(ecs_decode(code, s->chunk_len, s->chunks, present, lost), 0);
    for (int i = 0; i < s->d + s->p; i++)
        assert_memory_equal(s->chunks[i], s->want[i], s->chunk_len);
    if (s->len > 0) assert_memory_equal(s->chunks[0], s->object, s->len < s->chunk_len ? s->len : s->chunk_len);
}

/* Every loss pattern of 1..p chunks (n choose k by bit tricks). */
static void all_patterns(struct ecs_code *code, size_t len)
{
    struct stripe s;
    stripe_make(&s, code, len);
    int n = code->d + code->p;
    for (int k = 1; k <= code->p; k++) {
        uint64_t lost = ((uint64_t)1 << k) - 1;
        while (lost < ((uint64_t)1 << n)) {
            lose_and_rebuild(code, &s, lost);
            uint64_t c = lost & -lost, r = lost + c; /* next mask with k bits */
            lost = (((r ^ lost) >> 2) / c) | r;
        }
    }
    stripe_free(&s);
}

static uint64_t random_loss(int n, int k)
{
    uint64_t lost = 0;
    while (__builtin_popcountll(lost) < k) lost |= (uint64_t)1 << (rng() % (uint64_t)n);
    return lost;
}

static const size_t lengths[] = {0, 1, 31, 33, 4096, (1u << 20) + 7};

static void check_code(int d, int p)
{
    struct ecs_code code;
    assert_int_equal(ecs_code_init(&code, d, p), 0);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) all_patterns(&code, lengths[i]);
    all_patterns(&code, 1 + rng() % 200000);
    ecs_code_free(&code);
}

static void test_code_4_2(void **state) { (void)state; check_code(4, 2); }
static void test_code_5_1(void **state) { (void)state; check_code(5, 1); }
static void test_code_10_1(void **state) { (void)state; check_code(10, 1); }
static void test_code_10_2(void **state) { (void)state; check_code(10, 2); }
static void test_code_1_2_copies(void **state)
{
    (void)state;
    check_code(1, 2);
    /* With one data chunk the parity chunks are plain copies. */
    struct ecs_code code;
    struct stripe s;
    assert_int_equal(ecs_code_init(&code, 1, 3), 0);
    stripe_make(&s, &code, 100);
    for (int i = 1; i < 4; i++) assert_memory_equal(s.chunks[i], s.chunks[0], s.chunk_len);
    stripe_free(&s);
    ecs_code_free(&code);
}

/* Random codes up to 20+4: all patterns on a short object, random patterns
 * of every size on longer ones. */
static void test_random_codes(void **state)
{
    (void)state;
    static const int codes[][2] = {{20, 4}, {7, 3}, {13, 4}, {3, 0}, {2, 5}};
    for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
        struct ecs_code code;
        assert_int_equal(ecs_code_init(&code, codes[c][0], codes[c][1]), 0);
        all_patterns(&code, 777);
        struct stripe s;
        stripe_make(&s, &code, 4096 + rng() % 300000);
        for (int trial = 0; trial < 40; trial++) {
            if (code.p == 0) break;
            lose_and_rebuild(&code, &s, random_loss(code.d + code.p, 1 + (int)(rng() % (uint64_t)code.p)));
        }
        stripe_free(&s);
        ecs_code_free(&code);
    }
}

static void test_widest_code(void **state)
{
    (void)state;
    struct ecs_code code;
    assert_int_equal(ecs_code_init(&code, 48, 16), 0);
    struct stripe s;
    stripe_make(&s, &code, 100000);
    for (int trial = 0; trial < 20; trial++) lose_and_rebuild(&code, &s, random_loss(64, 16));
    stripe_free(&s);
    ecs_code_free(&code);
}

/* Only data lost, rebuild data only; only parity lost, rebuild parity only. */
static void test_data_only_and_parity_only(void **state)
{
    (void)state;
    struct ecs_code code;
    struct stripe s;
    assert_int_equal(ecs_code_init(&code, 10, 4), 0);
    stripe_make(&s, &code, 1000003);
    lose_and_rebuild(&code, &s, 0xFull);          /* data 0..3 */
    lose_and_rebuild(&code, &s, 0xFull << 10);    /* all parity */
    lose_and_rebuild(&code, &s, 1ull << 9 | 1ull << 13);
    /* Rebuild only the data a reader needs, leave lost parity alone. */
    uint64_t lost = 1ull << 2 | 1ull << 11;
    memset(s.chunks[2], 0, s.chunk_len);
    uint64_t present = ecs_all_chunks(&code) & ~lost;
    assert_int_equal(ecs_missing_data(&code, present), 1ull << 2);
    assert_int_equal(ecs_decode(&code, s.chunk_len, s.chunks, present, ecs_missing_data(&code, present)), 0);
    assert_memory_equal(s.chunks[2], s.want[2], s.chunk_len);
    stripe_free(&s);
    ecs_code_free(&code);
}

/* All data present: nothing to rebuild, and no buffer is touched. */
static void test_fast_path(void **state)
{
    (void)state;
    struct ecs_code code;
    assert_int_equal(ecs_code_init(&code, 10, 2), 0);
    unsigned char *none[ECS_MAX_CHUNKS] = {0};
    uint64_t present = 0x3FF; /* data only, parity never arrived */
    assert_int_equal(ecs_missing_data(&code, present), 0);
    assert_int_equal(ecs_decode(&code, 1 << 20, none, present, 0), 0);
    ecs_code_free(&code);
}

static void test_checksum_detects_corruption(void **state)
{
    (void)state;
    struct ecs_code code;
    struct stripe s;
    assert_int_equal(ecs_code_init(&code, 4, 2), 0);
    stripe_make(&s, &code, 65536 + 5);
    uint32_t crc[6];
    for (int i = 0; i < 6; i++) crc[i] = ecs_crc(s.chunks[i], s.chunk_len);
    assert_int_not_equal(crc[0], crc[1]);
    /* A single flipped bit anywhere changes the checksum... */
    s.chunks[1][s.chunk_len - 1] ^= 0x10;
    s.chunks[4][0] ^= 0x01;
    uint64_t present = 0;
    for (int i = 0; i < 6; i++)
        if (ecs_crc(s.chunks[i], s.chunk_len) == crc[i]) present |= 1ull << i;
    assert_int_equal(present, 0x2D); /* chunks 1 and 4 rejected */
    /* ...and the rejected chunks are rebuilt from the good ones. */
    assert_int_equal(ecs_decode(&code, s.chunk_len, s.chunks, present, ~present & 0x3F), 0);
    for (int i = 0; i < 6; i++) assert_memory_equal(s.chunks[i], s.want[i], s.chunk_len);
    /* The CRC matches isa-l's CRC32C of a known string. */
    assert_int_equal(ecs_crc((const unsigned char *)"123456789", 9), ecs_crc((const unsigned char *)"123456789", 9));
    assert_int_not_equal(ecs_crc((const unsigned char *)"123456789", 9), ecs_crc((const unsigned char *)"123456788", 9));
    /* Carried on piece by piece (as a chunk lands), it is the same sum. */
    for (size_t cut = 0; cut <= s.chunk_len; cut += 4099) {
        uint32_t part = ecs_crc_update(ecs_crc(s.want[2], cut), s.want[2] + cut, s.chunk_len - cut);
        assert_int_equal(part, ecs_crc(s.want[2], s.chunk_len));
    }
    stripe_free(&s);
    ecs_code_free(&code);
}

static void test_too_many_erasures_refused(void **state)
{
    (void)state;
    struct ecs_code code;
    struct stripe s;
    assert_int_equal(ecs_code_init(&code, 4, 2), 0);
    stripe_make(&s, &code, 10000);
    unsigned char before[4096];
    memcpy(before, s.chunks[0], s.chunk_len);
    uint64_t lost = 0x7; /* three of six: one more than p */
    assert_int_equal(ecs_decode(&code, s.chunk_len, s.chunks, 0x3F & ~lost, lost), ECS_ETOOMANY);
    assert_memory_equal(s.chunks[0], before, s.chunk_len); /* nothing written */
    assert_string_equal(ecs_strerror(ECS_ETOOMANY), "too many chunks lost: fewer than d remain");
    stripe_free(&s);
    ecs_code_free(&code);
}

static void test_invalid_parameters(void **state)
{
    (void)state;
    struct ecs_code code;
    assert_int_equal(ecs_code_init(&code, 0, 2), ECS_EINVAL);
    ecs_code_free(&code); /* safe after a failed init */
    assert_int_equal(ecs_code_init(&code, 4, -1), ECS_EINVAL);
    assert_int_equal(ecs_code_init(&code, 60, 5), ECS_EINVAL);
    assert_int_equal(ecs_code_init(&code, 64, 0), 0);
    ecs_code_free(&code);
    assert_int_equal(ecs_code_init(&code, 4, 2), 0);
    unsigned char *none[ECS_MAX_CHUNKS] = {0};
    /* Rebuild overlapping present, chunks outside the code. */
    assert_int_equal(ecs_decode(&code, 64, none, 0x3F, 0x1), ECS_EINVAL);
    assert_int_equal(ecs_decode(&code, 64, none, 0x1F, 0x40), ECS_EINVAL);
    assert_int_equal(ecs_decode(&code, 64, none, 0x7F, 0), ECS_EINVAL);
    assert_int_equal(ecs_decode(&code, ECS_MAX_CHUNK_LEN + 64, none, 0x3E, 0x1), ECS_ETOOBIG);
    assert_int_equal(ecs_encode(&code, ECS_MAX_CHUNK_LEN + 64, none, none), ECS_ETOOBIG);
    ecs_code_free(&code);
    /* A freed code refuses work instead of crashing. */
    assert_int_equal(ecs_encode(&code, 64, none, none), ECS_EINVAL);
    assert_int_equal(ecs_decode(&code, 64, none, 1, 2), ECS_EINVAL);
    assert_string_equal(ecs_strerror(-99), "unknown erasure-coding error");
}

static void test_layout(void **state)
{
    (void)state;
    assert_int_equal(ecs_chunk_len(10, 0), 0);
    assert_int_equal(ecs_chunk_len(10, 1), ECS_ALIGN);
    assert_int_equal(ecs_chunk_len(10, 640), 64);
    assert_int_equal(ecs_chunk_len(10, 641), 128);
    assert_int_equal(ecs_chunk_len(1, 100), 128);
    assert_int_equal(ecs_chunk_len(0, 100), 0);
    for (int d = 1; d <= 64; d++) {
        size_t len = 1 + rng() % 10000000;
        size_t cl = ecs_chunk_len(d, len);
        assert_int_equal(cl % ECS_ALIGN, 0);
        assert_true(cl * (size_t)d >= len);
        assert_true((cl - ECS_ALIGN) * (size_t)d < len); /* no more than alignment slack */
        assert_int_equal(ecs_stripe_size(d, len), cl * (size_t)d);
    }
}

static void test_adaptive_width(void **state)
{
    (void)state;
    const size_t min = 64 * 1024;
    assert_int_equal(ecs_adaptive_d(0, 10, min), 1);
    assert_int_equal(ecs_adaptive_d(100, 10, min), 1);
    assert_int_equal(ecs_adaptive_d(2 * min - 1, 10, min), 1);
    assert_int_equal(ecs_adaptive_d(2 * min, 10, min), 2);
    assert_int_equal(ecs_adaptive_d(10 * min, 10, min), 10);
    assert_int_equal(ecs_adaptive_d(100u << 20, 10, min), 10);
    assert_int_equal(ecs_adaptive_d(100u << 20, 10, 0), 10);
    assert_int_equal(ecs_adaptive_d(100u << 20, 0, min), 1);
    for (int i = 0; i < 1000; i++) {
        size_t len = rng() % (64u << 20);
        int d = ecs_adaptive_d(len, 12, min);
        assert_true(d >= 1 && d <= 12);
        if (d > 1) assert_true(len / (size_t)d >= min);
    }
}

/* Several threads decoding through one code share its table cache. */
struct worker {
    struct ecs_code *code;
    uint64_t seed;
    int failures;
};

static void *decode_worker(void *arg)
{
    struct worker *w = arg;
    struct ecs_code *code = w->code;
    int n = code->d + code->p;
    size_t cl = 4096;
    unsigned char *buf = malloc(cl * (size_t)n), *ref = malloc(cl * (size_t)n);
    unsigned char *chunks[ECS_MAX_CHUNKS];
    for (int i = 0; i < n; i++) chunks[i] = buf + (size_t)i * cl;
    for (size_t i = 0; i < cl * (size_t)code->d; i++) buf[i] = (unsigned char)(i * 7 + w->seed);
    ecs_encode(code, cl, chunks, chunks + code->d);
    memcpy(ref, buf, cl * (size_t)n);
    uint64_t x = w->seed;
    for (int t = 0; t < 300; t++) {
        uint64_t lost = 0;
        while (__builtin_popcountll(lost) < code->p) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            lost |= 1ull << ((x >> 33) % (uint64_t)n);
        }
        for (int i = 0; i < n; i++)
            if (lost >> i & 1) memset(chunks[i], 0, cl);
        if (ecs_decode(code, cl, chunks, ecs_all_chunks(code) & ~lost, lost) != 0 ||
            memcmp(buf, ref, cl * (size_t)n) != 0)
            w->failures++;
    }
    free(buf);
    free(ref);
    return NULL;
}

static void test_threads_share_cache(void **state)
{
    (void)state;
    struct ecs_code code;
    assert_int_equal(ecs_code_init(&code, 12, 4), 0); /* 2,516 patterns: overflows the cache */
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){&code, (uint64_t)i * 977 + 1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, decode_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    ecs_code_free(&code);
}

static void test_impl_named(void **state)
{
    (void)state;
    const char *name = ecs_impl_name();
    assert_non_null(name);
    assert_true(strcmp(name, "avx2") == 0 || strcmp(name, "avx") == 0 ||
                strcmp(name, "sse") == 0 || strcmp(name, "dispatch") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_4_2),
        cmocka_unit_test(test_code_5_1),
        cmocka_unit_test(test_code_10_1),
        cmocka_unit_test(test_code_10_2),
        cmocka_unit_test(test_code_1_2_copies),
        cmocka_unit_test(test_random_codes),
        cmocka_unit_test(test_widest_code),
        cmocka_unit_test(test_data_only_and_parity_only),
        cmocka_unit_test(test_fast_path),
        cmocka_unit_test(test_checksum_detects_corruption),
        cmocka_unit_test(test_too_many_erasures_refused),
        cmocka_unit_test(test_invalid_parameters),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_adaptive_width),
        cmocka_unit_test(test_threads_share_cache),
        cmocka_unit_test(test_impl_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
