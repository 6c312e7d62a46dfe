/* ec/ecs.c — Reed-Solomon stripes: layout, encode, decode with a cache of
 * decode tables, checksums, and the choice of isa-l routine. */
#include "ec/ecs.h"

#include <isa-l/crc.h>
#include <isa-l/erasure_code.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Decode tables per (survivors used, chunks rebuilt) pattern. Entries are
 * written once and never moved or freed before ecs_code_free(), so a reader
 * may use one after dropping the lock. When the cache is full, tables are
 * built per call. */
#define ECS_CACHE_SLOTS 256

struct ecs_tables {
    uint64_t sources; /* 0 = empty slot */
    uint64_t rebuild;
    unsigned char *tables; /* isa-l tables: 32 * d * popcount(rebuild) bytes */
};

typedef void (*ecs_encode_fn)(int len, int k, int rows, unsigned char *tables,
                              unsigned char **src, unsigned char **dst);

/* The isa-l encode routine, chosen once per process. */
static ecs_encode_fn encode_impl = ec_encode_data;
static const char *encode_impl_name = "dispatch";
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static const struct {
    const char *name;
    ecs_encode_fn fn;
    const char *cpu; /* feature __builtin_cpu_supports() must report */
} impls[] = {
    {"avx2", ec_encode_data_avx2, "avx2"},
    {"avx", ec_encode_data_avx, "avx"},
    {"sse", ec_encode_data_sse, "ssse3"},
};

static int cpu_has(const char *feature)
{
    /* __builtin_cpu_supports needs a literal. */
    if (strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2");
    if (strcmp(feature, "avx") == 0) return __builtin_cpu_supports("avx");
    if (strcmp(feature, "ssse3") == 0) return __builtin_cpu_supports("ssse3");
    return 0;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* isa-l's dispatcher picks the widest instructions, which is not always the
 * fastest (on some AMD parts its AVX routine beats AVX2 by a third). Time
 * each candidate on a 10+2 stripe that fits in cache and keep the best.
 * FNCACHE_EC_IMPL=dispatch|avx2|avx|sse overrides the measurement. */
static void choose_impl(void)
{
    const char *forced = getenv("FNCACHE_EC_IMPL");
    if (forced != NULL && strcmp(forced, "dispatch") == 0) return;
    for (size_t i = 0; forced != NULL && i < sizeof impls / sizeof impls[0]; i++) {
        if (strcmp(forced, impls[i].name) == 0 && cpu_has(impls[i].cpu)) {
            encode_impl = impls[i].fn;
            encode_impl_name = impls[i].name;
            return;
        }
    }

    enum { D = 10, P = 2, LEN = 16384, REPS = 40 };
    unsigned char matrix[(D + P) * D], tables[32 * D * P];
    unsigned char *buf = malloc((size_t)(D + P) * LEN);
    if (buf == NULL) return;
    unsigned char *src[D], *dst[P];
    for (int i = 0; i < D; i++) src[i] = buf + (size_t)i * LEN;
    for (int i = 0; i < P; i++) dst[i] = buf + (size_t)(D + i) * LEN;
    for (size_t i = 0; i < (size_t)D * LEN; i++) buf[i] = (unsigned char)(i * 131 + 7);
    gf_gen_cauchy1_matrix(matrix, D + P, D);
    ec_init_tables(D, P, matrix + D * D, tables);

    /* Candidates take turns, best round kept, so a preemption during one
     * round cannot decide the choice. */
    enum { NIMPL = sizeof impls / sizeof impls[0] };
    double fastest[NIMPL];
    for (int i = 0; i < NIMPL; i++) fastest[i] = 1e9;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < NIMPL; i++) {
            if (!cpu_has(impls[i].cpu)) continue;
            double t0 = seconds();
            for (int r = 0; r < REPS; r++) impls[i].fn(LEN, D, P, tables, src, dst);
            double t = seconds() - t0;
            if (t < fastest[i]) fastest[i] = t;
        }
    }
    int best = -1;
    for (int i = 0; i < NIMPL; i++)
        if (fastest[i] < 1e9 && (best < 0 || fastest[i] < fastest[best])) best = i;
    if (best >= 0) {
        encode_impl = impls[best].fn;
        encode_impl_name = impls[best].name;
    }
    free(buf);
}

const char *ecs_impl_name(void)
{
    pthread_once(&impl_once, choose_impl);
    return encode_impl_name;
}

const char *ecs_strerror(int err)
{
    switch (err) {
    case 0: return "success";
#define ECS_TEXT(name, value, text) case name: return text;
        ECS_ERRORS(ECS_TEXT)
#undef ECS_TEXT
    }
    return "unknown erasure-coding error";
}

/* isa-l reads its tables with 32-byte vector loads: keep them on cache-line
 * boundaries (with malloc's 16-byte alignment, 10+4 encoding measured about
 * 10% slower here). */
static unsigned char *table_alloc(int d, int rows)
{
    size_t n = (size_t)32 * d * rows;
    return aligned_alloc(64, (n + 63) & ~(size_t)63);
}

static uint64_t low_bits(int n) { return n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1); }

int ecs_code_init(struct ecs_code *code, int d, int p)
{
    memset(code, 0, sizeof *code);
    if (d < 1 || p < 0 || d + p > ECS_MAX_CHUNKS) return ECS_EINVAL;
    pthread_once(&impl_once, choose_impl);

    int n = d + p;
    code->d = d;
    code->p = p;
    code->matrix = malloc((size_t)n * d);
    code->encode_tables = table_alloc(d, p > 0 ? p : 1);
    code->cache = calloc(ECS_CACHE_SLOTS, sizeof *code->cache);
    if (code->matrix == NULL || code->encode_tables == NULL || code->cache == NULL) {
        ecs_code_free(code);
        return ECS_ENOMEM;
    }
    gf_gen_cauchy1_matrix(code->matrix, n, d);
    if (d == 1) /* every parity row 1: a 1+p code is p plain copies */
        memset(code->matrix, 1, (size_t)n);
    if (p > 0) ec_init_tables(d, p, code->matrix + d * d, code->encode_tables);
    pthread_mutex_init(&code->cache_lock, NULL);
    return 0;
}

void ecs_code_free(struct ecs_code *code)
{
    if (code->cache != NULL) {
        for (unsigned i = 0; i < ECS_CACHE_SLOTS; i++) free(code->cache[i].tables);
        pthread_mutex_destroy(&code->cache_lock);
    }
    free(code->cache);
    free(code->matrix);
    free(code->encode_tables);
    memset(code, 0, sizeof *code);
}

size_t ecs_chunk_len(int d, size_t len)
{
    if (d < 1 || len == 0) return 0;
    size_t per = len / (size_t)d + (len % (size_t)d != 0);
    return (per + ECS_ALIGN - 1) & ~(size_t)(ECS_ALIGN - 1);
}

size_t ecs_stripe_size(int d, size_t len) { return (size_t)(d < 1 ? 0 : d) * ecs_chunk_len(d, len); }

void ecs_stripe_split(int d, unsigned char *stripe, size_t len, unsigned char **data)
{
    size_t chunk_len = ecs_chunk_len(d, len);
    if (chunk_len > 0) memset(stripe + len, 0, (size_t)d * chunk_len - len);
    for (int i = 0; i < d; i++) data[i] = stripe + (size_t)i * chunk_len;
}

int ecs_encode(const struct ecs_code *code, size_t chunk_len,
               unsigned char *const *data, unsigned char **parity)
{
    if (code->matrix == NULL) return ECS_EINVAL;
    if (chunk_len > ECS_MAX_CHUNK_LEN) return ECS_ETOOBIG;
    if (code->p == 0 || chunk_len == 0) return 0;
    encode_impl((int)chunk_len, code->d, code->p, code->encode_tables,
                (unsigned char **)data, parity);
    return 0;
}

uint64_t ecs_all_chunks(const struct ecs_code *code) { return low_bits(code->d + code->p); }

uint64_t ecs_missing_data(const struct ecs_code *code, uint64_t present)
{
    return low_bits(code->d) & ~present;
}

/* The d survivors to decode from: the lowest-numbered ones, so data chunks
 * are preferred and an intact data set needs no matrix inversion. */
static uint64_t pick_sources(uint64_t present, int d)
{
    uint64_t sources = 0;
    for (int taken = 0; taken < d; taken++) {
        uint64_t lowest = present & (~present + 1);
        sources |= lowest;
        present &= ~lowest;
    }
    return sources;
}

/* isa-l tables that turn the chunks in `sources` into those in `rebuild`. */
static unsigned char *build_tables(const struct ecs_code *code, uint64_t sources, uint64_t rebuild)
{
    int d = code->d, rows = __builtin_popcountll(rebuild);
    unsigned char *b = malloc((size_t)d * d), *inv = malloc((size_t)d * d);
    unsigned char *coef = malloc((size_t)d * rows);
    unsigned char *tables = table_alloc(d, rows);
    if (b == NULL || inv == NULL || coef == NULL || tables == NULL) goto fail;

    /* Rows of the generator matrix for the survivors, inverted: inv maps
     * survivors back to data chunks. */
    int r = 0;
    for (int i = 0; i < d + code->p; i++)
        if (sources >> i & 1) memcpy(b + (size_t)r++ * d, code->matrix + (size_t)i * d, (size_t)d);
    if (gf_invert_matrix(b, inv, d) != 0) goto fail; /* cannot happen for a Cauchy code */

    r = 0;
    for (int i = 0; i < d + code->p; i++) {
        if (!(rebuild >> i & 1)) continue;
        unsigned char *out = coef + (size_t)r++ * d;
        if (i < d) {
            memcpy(out, inv + (size_t)i * d, (size_t)d);
        } else { /* parity row times inv: survivors -> this parity chunk */
            const unsigned char *row = code->matrix + (size_t)i * d;
            for (int j = 0; j < d; j++) {
                unsigned char s = 0;
                for (int k = 0; k < d; k++) s ^= gf_mul(row[k], inv[(size_t)k * d + j]);
                out[j] = s;
            }
        }
    }
    ec_init_tables(d, rows, coef, tables);
    free(b);
    free(inv);
    free(coef);
    return tables;
fail:
    free(b);
    free(inv);
    free(coef);
    free(tables);
    return NULL;
}

static unsigned cache_slot(uint64_t sources, uint64_t rebuild)
{
    uint64_t h = (sources * 0x9E3779B97F4A7C15ull) ^ (rebuild * 0xC2B2AE3D27D4EB4Full);
    return (unsigned)(h >> 56) % ECS_CACHE_SLOTS;
}

/* Cached tables for a pattern, or NULL with *owned set to tables the caller
 * must free when the cache is full. */
static const unsigned char *decode_tables(struct ecs_code *code, uint64_t sources,
                                          uint64_t rebuild, unsigned char **owned)
{
    *owned = NULL;
    unsigned start = cache_slot(sources, rebuild), i = start;
    pthread_mutex_lock(&code->cache_lock);
    do {
        struct ecs_tables *e = &code->cache[i];
        if (e->sources == 0) break;
        if (e->sources == sources && e->rebuild == rebuild) {
            pthread_mutex_unlock(&code->cache_lock);
            return e->tables;
        }
        i = (i + 1) % ECS_CACHE_SLOTS;
    } while (i != start);
    pthread_mutex_unlock(&code->cache_lock);

    unsigned char *tables = build_tables(code, sources, rebuild);
    if (tables == NULL) return NULL;

    pthread_mutex_lock(&code->cache_lock);
    if (code->cache_used < ECS_CACHE_SLOTS * 3 / 4) {
        /* Another thread may have inserted the same pattern meanwhile. */
        for (i = start; code->cache[i].sources != 0; i = (i + 1) % ECS_CACHE_SLOTS) {
            if (code->cache[i].sources == sources && code->cache[i].rebuild == rebuild) {
                pthread_mutex_unlock(&code->cache_lock);
                free(tables);
                return code->cache[i].tables;
            }
        }
        code->cache[i] = (struct ecs_tables){sources, rebuild, tables};
        code->cache_used++;
        pthread_mutex_unlock(&code->cache_lock);
        return tables;
    }
    pthread_mutex_unlock(&code->cache_lock);
    *owned = tables;
    return tables;
}

int ecs_decode(struct ecs_code *code, size_t chunk_len, unsigned char **chunks,
               uint64_t present, uint64_t rebuild)
{
    if (code->matrix == NULL) return ECS_EINVAL;
    uint64_t all = ecs_all_chunks(code);
    if ((present & ~all) != 0 || (rebuild & ~all) != 0 || (present & rebuild) != 0)
        return ECS_EINVAL;
    if (rebuild == 0) return 0;
    if (chunk_len > ECS_MAX_CHUNK_LEN) return ECS_ETOOBIG;
    if (__builtin_popcountll(present) < code->d) return ECS_ETOOMANY;
    if (chunk_len == 0) return 0;

    uint64_t sources = pick_sources(present, code->d);
    unsigned char *owned;
    const unsigned char *tables = decode_tables(code, sources, rebuild, &owned);
    if (tables == NULL) return ECS_ENOMEM;

    unsigned char *src[ECS_MAX_CHUNKS], *dst[ECS_MAX_CHUNKS];
    int ns = 0, nd = 0;
    for (int i = 0; i < code->d + code->p; i++) {
        if (sources >> i & 1) src[ns++] = chunks[i];
        if (rebuild >> i & 1) dst[nd++] = chunks[i];
    }
    encode_impl((int)chunk_len, code->d, nd, (unsigned char *)tables, src, dst);
    free(owned);
    return 0;
}

uint32_t ecs_crc_update(uint32_t crc, const unsigned char *chunk, size_t len)
{
    while (len > 0) { /* isa-l takes an int length */
        int part = len > (1u << 30) ? (1 << 30) : (int)len;
        crc = crc32_iscsi((unsigned char *)chunk, part, crc);
        chunk += part;
        len -= (size_t)part;
    }
    return crc;
}

uint32_t ecs_crc(const unsigned char *chunk, size_t len) { return ecs_crc_update(0, chunk, len); }

int ecs_adaptive_d(size_t len, int d_max, size_t min_chunk)
{
    if (d_max < 1) return 1;
    if (min_chunk == 0) return d_max;
    size_t d = len / min_chunk;
    if (d < 1) return 1;
    return d > (size_t)d_max ? d_max : (int)d;
}
