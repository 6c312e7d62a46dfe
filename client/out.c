/* client/out.c — human-readable figures and a small JSON writer. */
#include "client/out.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

const char *cl_fmt_bytes(char *buf, size_t cap, double b)
{
    static const char *unit[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (fabs(b) >= 1024 && u < 5)
        b /= 1024, u++;
    if (u == 0)
        snprintf(buf, cap, "%.0f B", b);
    else
        snprintf(buf, cap,
                 fabs(b) < 10    ? "%.2f %s"
                 : fabs(b) < 100 ? "%.1f %s"
                                 : "%.0f %s",
                 b, unit[u]);
    return buf;
}

const char *cl_fmt_ns(char *buf, size_t cap, double ns)
{
    if (ns < 1e3)
        snprintf(buf, cap, "%.0fns", ns);
    else if (ns < 1e6)
        snprintf(buf, cap, ns < 1e4 ? "%.2fus" : ns < 1e5 ? "%.1fus" : "%.0fus", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, cap, ns < 1e7 ? "%.2fms" : ns < 1e8 ? "%.1fms" : "%.0fms", ns / 1e6);
    else if (ns < 60e9)
        snprintf(buf, cap, ns < 1e10 ? "%.2fs" : "%.1fs", ns / 1e9);
    else
        snprintf(buf, cap, "%.0fm%02.0fs", floor(ns / 60e9), fmod(floor(ns / 1e9), 60));
    return buf;
}

const char *cl_fmt_secs(char *buf, size_t cap, uint64_t s)
{
    unsigned long long v = s;
    if (v < 60)
        snprintf(buf, cap, "%llus", v);
    else if (v < 3600)
        snprintf(buf, cap, "%llum%02llus", v / 60, v % 60);
    else if (v < 86400)
        snprintf(buf, cap, "%lluh%02llum", v / 3600, v / 60 % 60);
    else
        snprintf(buf, cap, "%llud%02lluh", v / 86400, v / 3600 % 24);
    return buf;
}

int cl_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    if (*p == '0' && isdigit((unsigned char)p[1])) return 0; /* JSON has no leading zeros */
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == 0 && p - s < 40;
}

/* ---- JSON ------------------------------------------------------------- */

void cl_json_init(struct cl_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = 1;
}

static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The separator and key before a value at the current level. */
static void member(struct cl_json *j, const char *key)
{
    if (!j->first[j->depth]) fputc(',', j->f);
    j->first[j->depth] = 0;
    if (key != NULL) {
        quoted(j->f, key);
        fputc(':', j->f);
    }
}

static void open_level(struct cl_json *j, const char *key, char open, char close)
{
    member(j, key);
    fputc(open, j->f);
    if (j->depth + 1 < CL_JSON_DEPTH) j->depth++;
    j->close[j->depth] = close;
    j->first[j->depth] = 1;
}

void cl_json_object(struct cl_json *j, const char *key)
{
    open_level(j, key, '{', '}');
}

void cl_json_array(struct cl_json *j, const char *key)
{
    open_level(j, key, '[', ']');
}

void cl_json_end(struct cl_json *j)
{
    if (j->depth == 0) return;
    fputc(j->close[j->depth], j->f);
    if (--j->depth == 0) fputc('\n', j->f);
}

void cl_json_str(struct cl_json *j, const char *key, const char *v)
{
    member(j, key);
    quoted(j->f, v);
}

void cl_json_u64(struct cl_json *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void cl_json_num(struct cl_json *j, const char *key, double v)
{
    member(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.10g", v);
    else
        fputs("null", j->f);
}

void cl_json_bool(struct cl_json *j, const char *key, int v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->f);
}

void cl_json_auto(struct cl_json *j, const char *key, const char *text)
{
    if (!cl_is_number(text)) {
        cl_json_str(j, key, text);
        return;
    }
    member(j, key);
    fputs(text, j->f);
}
