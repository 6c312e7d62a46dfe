/* ec/bench_ec.c — erasure-coding throughput of ec/ beside direct isa-l.
 *
 * For each code and object size: encode, decode with one lost data chunk,
 * and decode with p lost data chunks, in GB/s of object data. Each figure
 * is measured twice on the same buffers — through ecs_* and through a plain
 * loop over isa-l's ec_encode_data (its own dispatch) with tables prepared
 * once — in alternating rounds, best round kept. ec/ should reach at least
 * 0.9 of direct isa-l.
 *
 * usage: bench_ec [--code D+P ...] [SIZE_MB ...]
 *        (default: 10+1 10+2 10+4 4+2 5+1; 1 10 100)
 */
#include <isa-l/erasure_code.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "ec/ecs.h"

#define ROUNDS 7
#define MIN_ROUND_NS 40000000ull /* 40 ms */

struct job {
    struct ecs_code *code;
    size_t chunk_len;
    unsigned char **chunks; /* d+p */
    uint64_t lost;          /* 0 = encode */
    /* direct isa-l */
    unsigned char *tables;
    unsigned char *src[ECS_MAX_CHUNKS], *dst[ECS_MAX_CHUNKS];
    int rows;
};

static void run_ecs(struct job *j)
{
    if (j->lost == 0)
        ecs_encode(j->code, j->chunk_len, j->chunks, j->chunks + j->code->d);
    else
        ecs_decode(j->code, j->chunk_len, j->chunks, ecs_all_chunks(j->code) & ~j->lost, j->lost);
}

static void run_direct(struct job *j)
{
    ec_encode_data((int)j->chunk_len, j->code->d, j->rows, j->tables, j->src, j->dst);
}

/* Direct isa-l tables, as isa-l's own example builds them: invert the rows
 * of the survivors, keep the rows of the lost data chunks. */
static void direct_prepare(struct job *j)
{
    int d = j->code->d, p = j->code->p, n = d + p;
    unsigned char *m = malloc((size_t)n * d), *b = malloc((size_t)d * d), *inv = malloc((size_t)d * d);
    gf_gen_cauchy1_matrix(m, n, d);
    if (d == 1) memset(m, 1, (size_t)n);
    j->tables = malloc((size_t)32 * d * (size_t)(p > 0 ? p : 1));
    if (j->lost == 0) {
        ec_init_tables(d, p, m + d * d, j->tables);
        for (int i = 0; i < d; i++) j->src[i] = j->chunks[i];
        for (int i = 0; i < p; i++) j->dst[i] = j->chunks[d + i];
        j->rows = p;
    } else {
        int r = 0;
        for (int i = 0; i < n && r < d; i++)
            if (!(j->lost >> i & 1)) {
                memcpy(b + (size_t)r * d, m + (size_t)i * d, (size_t)d);
                j->src[r++] = j->chunks[i];
            }
        gf_invert_matrix(b, inv, d);
        unsigned char *rows = malloc((size_t)d * p);
        r = 0;
        for (int i = 0; i < d; i++)
            if (j->lost >> i & 1) {
                memcpy(rows + (size_t)r * d, inv + (size_t)i * d, (size_t)d);
                j->dst[r++] = j->chunks[i];
            }
        j->rows = r;
        ec_init_tables(d, r, rows, j->tables);
        free(rows);
    }
    free(m);
    free(b);
    free(inv);
}

/* Seconds per call, best of the rounds. */
static double best_round(void (*fn)(struct job *), struct job *j, double *best)
{
    uint64_t t0 = cm_now_ns(), t;
    unsigned reps = 0;
    do {
        fn(j);
        reps++;
        t = cm_now_ns() - t0;
    } while (t < MIN_ROUND_NS || reps < 2);
    double per = (double)t / 1e9 / reps;
    if (*best == 0 || per < *best) *best = per;
    return per;
}

static void measure(struct ecs_code *code, unsigned char **chunks, size_t size, size_t chunk_len,
                    const char *what, uint64_t lost)
{
    struct job j = {.code = code, .chunk_len = chunk_len, .chunks = chunks, .lost = lost};
    direct_prepare(&j);
    double ecs_best = 0, direct_best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        best_round(run_ecs, &j, &ecs_best);
        best_round(run_direct, &j, &direct_best);
    }
    double g_ecs = (double)size / ecs_best / 1e9, g_direct = (double)size / direct_best / 1e9;
    printf("%-6s %6zu MB  %-15s %8.2f %8.2f %7.2f\n", "", size >> 20, what, g_ecs, g_direct,
           g_ecs / g_direct);
    fflush(stdout);
    free(j.tables);
}

int main(int argc, char **argv)
{
    int codes[8][2] = {{10, 1}, {10, 2}, {10, 4}, {4, 2}, {5, 1}};
    int ncodes = 5, custom_codes = 0;
    size_t sizes_mb[8] = {1, 10, 100};
    int nsizes = 3, custom_sizes = 0;
    for (int i = 1; i < argc; i++) {
        int d, p;
        long mb;
        if (strcmp(argv[i], "--code") == 0 && i + 1 < argc && sscanf(argv[i + 1], "%d+%d", &d, &p) == 2 &&
            d >= 1 && p >= 0 && d + p <= ECS_MAX_CHUNKS) {
            if (!custom_codes++) ncodes = 0;
            if (ncodes < 8) codes[ncodes][0] = d, codes[ncodes++][1] = p;
            i++;
        } else if ((mb = strtol(argv[i], NULL, 10)) > 0 && mb <= 4096) {
            if (!custom_sizes++) nsizes = 0;
            if (nsizes < 8) sizes_mb[nsizes++] = (size_t)mb;
        } else {
            fprintf(stderr, "usage: bench_ec [--code D+P ...] [SIZE_MB ...] (1..4096)\n");
            return 2;
        }
    }

    printf("ec/ (ecs_*) vs direct isa-l ec_encode_data; GB/s of object data; best of %d rounds\n",
           ROUNDS);
    printf("ec/ encode routine chosen at start-up: %s (isa-l's dispatch serves the direct loop)\n\n",
           ecs_impl_name());
    printf("%-6s %9s  %-15s %8s %8s %7s\n", "code", "object", "operation", "ec/", "isa-l", "ratio");

    for (int c = 0; c < ncodes; c++) {
        int d = codes[c][0], p = codes[c][1];
        struct ecs_code code;
        if (ecs_code_init(&code, d, p) != 0) return 1;
        printf("%d+%d\n", d, p);
        for (int s = 0; s < nsizes; s++) {
            size_t size = sizes_mb[s] << 20;
            size_t chunk_len = ecs_chunk_len(d, size);
            unsigned char *stripe = aligned_alloc(ECS_ALIGN, ecs_stripe_size(d, size));
            unsigned char *parity = aligned_alloc(ECS_ALIGN, chunk_len * (size_t)p);
            unsigned char *chunks[ECS_MAX_CHUNKS];
            if (stripe == NULL || parity == NULL) return 1;
            for (size_t i = 0; i < size; i++) stripe[i] = (unsigned char)(i * 2654435761u >> 13);
            ecs_stripe_split(d, stripe, size, chunks);
            for (int i = 0; i < p; i++) chunks[d + i] = parity + (size_t)i * chunk_len;

            measure(&code, chunks, size, chunk_len, "encode", 0);
            measure(&code, chunks, size, chunk_len, "decode 1 lost", 1);
            if (p > 1) {
                char what[32];
                snprintf(what, sizeof what, "decode %d lost", p);
                measure(&code, chunks, size, chunk_len, what, ((uint64_t)1 << p) - 1);
            }
            free(stripe);
            free(parity);
        }
        ecs_code_free(&code);
    }
    return 0;
}
