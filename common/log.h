/* common/log.h — leveled logging to stderr, shared by every program.
 *
 * One process-wide level, set once at start-up from -v flags. Messages carry
 * a wall-clock timestamp, the level and the program name given to
 * cm_log_init(). Nothing here allocates; the name pointer is borrowed and must
 * outlive logging (pass a string literal or argv[0]).
 */
#ifndef FNCACHE_COMMON_LOG_H
#define FNCACHE_COMMON_LOG_H

enum cm_log_level {
    CM_LOG_ERROR = 0,
    CM_LOG_WARN = 1,
    CM_LOG_INFO = 2,
    CM_LOG_DEBUG = 3,
    CM_LOG_TRACE = 4,
};

void cm_log_init(const char *program, enum cm_log_level level);
void cm_log_set_level(enum cm_log_level level);
enum cm_log_level cm_log_get_level(void);
int cm_log_enabled(enum cm_log_level level);

void cm_log(enum cm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define cm_error(...) cm_log(CM_LOG_ERROR, __VA_ARGS__)
#define cm_warn(...) cm_log(CM_LOG_WARN, __VA_ARGS__)
#define cm_info(...) cm_log(CM_LOG_INFO, __VA_ARGS__)
#define cm_debug(...) \
    do { if (cm_log_enabled(CM_LOG_DEBUG)) cm_log(CM_LOG_DEBUG, __VA_ARGS__); } while (0)
#define cm_trace(...) \
    do { if (cm_log_enabled(CM_LOG_TRACE)) cm_log(CM_LOG_TRACE, __VA_ARGS__); } while (0)

#endif
