/* client/out.h — output for humans and for scripts (prefix cl_fmt_,
 * cl_json_).
 *
 * cl_fmt_* write into the caller's buffer and return it. cl_json is a
 * streaming JSON writer over a FILE the caller owns: objects and arrays
 * nest up to CL_JSON_DEPTH; keys are NULL inside arrays and at the top.
 */
#ifndef FNCACHE_CLIENT_OUT_H
#define FNCACHE_CLIENT_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "0 B", "512 B", "1.5 KB", "100 MB", "2.25 GB" (powers of 1024). */
const char *cl_fmt_bytes(char *buf, size_t cap, double bytes);
/* "850ns", "85.2us", "1.23ms", "2.05s", "3m05s". */
const char *cl_fmt_ns(char *buf, size_t cap, double ns);
/* "45s", "12m03s", "3h02m", "4d03h". */
const char *cl_fmt_secs(char *buf, size_t cap, uint64_t secs);
/* Is s a whole decimal number or a decimal fraction, as JSON writes them? */
int cl_is_number(const char *s);

#define CL_JSON_DEPTH 16

struct cl_json {
    FILE *f;
    int depth;
    char close[CL_JSON_DEPTH]; /* '}' or ']' per open level */
    char first[CL_JSON_DEPTH]; /* nothing written yet at this level */
};

void cl_json_init(struct cl_json *j, FILE *f);
void cl_json_object(struct cl_json *j, const char *key);
void cl_json_array(struct cl_json *j, const char *key);
void cl_json_end(struct cl_json *j); /* closes the innermost; a newline after the last */
void cl_json_str(struct cl_json *j, const char *key, const char *value);
void cl_json_u64(struct cl_json *j, const char *key, uint64_t value);
void cl_json_num(struct cl_json *j, const char *key, double value); /* NaN/inf as null */
void cl_json_bool(struct cl_json *j, const char *key, int value);
/* A number when the text is one (cl_is_number), else a string. */
void cl_json_auto(struct cl_json *j, const char *key, const char *text);

#endif
