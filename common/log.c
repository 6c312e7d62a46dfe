/* common/log.c — leveled logging to stderr. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static const char *log_program = "fncache";
static enum cm_log_level log_level = CM_LOG_INFO;
static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void cm_log_init(const char *program, enum cm_log_level level)
{
    if (program != NULL) log_program = program;
    log_level = level;
}

void cm_log_set_level(enum cm_log_level level) { log_level = level; }
enum cm_log_level cm_log_get_level(void) { return log_level; }
int cm_log_enabled(enum cm_log_level level) { return level <= log_level; }

void cm_log(enum cm_log_level level, const char *fmt, ...)
{
    if (level > log_level) return;
    struct timeval tv;
    struct tm tm;
    char stamp[32], line[2048];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per message so lines from threads do not interleave. */
    fprintf(stderr, "%s.%03ld %s %s: %s\n", stamp, (long)(tv.tv_usec / 1000),
            level_names[level], log_program, line);
}
