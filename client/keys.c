/* client/keys.c — Zipf sampling by rejection-inversion, key names. */
#include "client/keys.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

/* log1p(x)/x and expm1(x)/x, both continuous at 0, where they are 1. */
static double log1p_over(double x)
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x / 2 + x * x / 3;
}

static double expm1_over(double x)
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x / 2 + x * x / 6;
}

/* The density h(x) = x^-s and its integral from 1, H(x) = (x^(1-s) - 1) /
 * (1 - s) (log x when s = 1), written so that s = 1 needs no special case;
 * H_inv is H's inverse. */
static double h(const struct cl_zipf *z, double x)
{
    return exp(-z->s * log(x));
}

static double H(const struct cl_zipf *z, double x)
{
    double lx = log(x);
    return lx * expm1_over((1 - z->s) * lx);
}

static double H_inv(const struct cl_zipf *z, double u)
{
    double t = (1 - z->s) * u;
    if (t < -1) t = -1; /* rounding at the far end of the range */
    return exp(u * log1p_over(t));
}

int cl_zipf_init(struct cl_zipf *z, uint64_t n, double s)
{
    if (n < 1 || !(s > 0) || !isfinite(s)) return -EINVAL;
    z->n = n;
    z->s = s;
    z->h_x1 = H(z, 1.5) - 1;
    z->h_n = H(z, (double)n + 0.5);
    z->s_cut = 2 - H_inv(z, H(z, 2.5) - h(z, 2));
    return 0;
}

uint64_t cl_zipf_sample(const struct cl_zipf *z, struct cl_rng *r)
{
    for (;;) {
        /* u uniform over (h_x1, h_n]: the area under the hat function */
        double u = z->h_n + cl_rng_unit(r) * (z->h_x1 - z->h_n);
        double x = H_inv(z, u);
        double kd = floor(x + 0.5);
        if (kd < 1) kd = 1;
        if (kd > (double)z->n) kd = (double)z->n;
        /* accept at once inside the squeeze, else compare with the exact
         * area of k's bar */
        if (kd - x <= z->s_cut || u >= H(z, kd + 0.5) - h(z, kd)) return (uint64_t)kd - 1;
    }
}

int cl_keys_init(struct cl_keys *k, uint64_t n, double zipf_s)
{
    if (n < 1) return -EINVAL;
    k->n = n;
    k->zipf = zipf_s > 0;
    return k->zipf ? cl_zipf_init(&k->z, n, zipf_s) : 0;
}

uint64_t cl_keys_pick(const struct cl_keys *k, struct cl_rng *r)
{
    return k->zipf ? cl_zipf_sample(&k->z, r) : cl_rng_below(r, k->n);
}

int cl_key_name(char *out, size_t cap, const char *prefix, uint64_t index)
{
    int n = snprintf(out, cap, "%s%llu", prefix, (unsigned long long)index);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int cl_key_valid(const char *k, size_t n)
{
    if (n == 0 || n > 250) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= ' ' || k[i] == 0x7f) return 0;
    return 1;
}
