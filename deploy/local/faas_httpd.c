/* deploy/local/faas_httpd.c — libmicrohttpd daemons driven by the libuv loop. */
#include "deploy/local/faas_httpd.h"

#include "common/log.h"
#include "deploy/local/faas.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void on_timer(uv_timer_t *t);

static void httpd_drive(struct faas_httpd *h)
{
    /* MHD keeps connections that still have buffered work on an internal
     * "ready" list (edge-triggered epoll inside); MHD_get_timeout() says 0
     * then, so run again a few times before falling back to a 0 ms timer. */
    MHD_UNSIGNED_LONG_LONG t = 0;
    int have = 0;
    for (int i = 0; i < 4; i++) {
        MHD_run(h->d);
        have = MHD_get_timeout(h->d, &t) == MHD_YES;
        if (!have || t > 0) break;
    }
    cm_trace("drive port %u: timeout %d %llu", h->port, have, (unsigned long long)t);
    if (have)
        uv_timer_start(&h->timer, on_timer, (uint64_t)t, 0);
    else
        uv_timer_stop(&h->timer);
}

static void on_timer(uv_timer_t *t)
{
    struct faas_httpd *h = t->data;
    if (h->d != NULL) httpd_drive(h);
}

void faas_httpd_kick(struct faas_httpd *h)
{
    if (h->d != NULL) uv_timer_start(&h->timer, on_timer, 0, 0);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct faas_httpd *h = p->data;
    if (status < 0) cm_warn("http poll: %s", uv_strerror(status));
    cm_trace("poll port %u events %d", h->port, events);
    if (h->d != NULL) httpd_drive(h);
}

int faas_httpd_start(struct faas_httpd *h, uv_loop_t *loop, const char *addr, uint16_t port,
                     MHD_AccessHandlerCallback handler, void *cls,
                     MHD_RequestCompletedCallback completed, void *ccls)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        cm_error("bad listen address '%s' (IPv4 expected)", addr);
        return FAAS_EHTTP;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    h->d = MHD_start_daemon(
        flags, port, NULL, NULL, handler, cls, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
        MHD_OPTION_NOTIFY_COMPLETED, completed, ccls, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000, MHD_OPTION_END);
    if (h->d == NULL) {
        cm_error("cannot start an HTTP server on %s:%u", addr, port);
        return FAAS_EHTTP;
    }
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = pi != NULL ? pi->port : port;
    const union MHD_DaemonInfo *ei = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (ei == NULL) {
        MHD_stop_daemon(h->d);
        h->d = NULL;
        return FAAS_EHTTP;
    }
    uv_poll_init(loop, &h->poll, ei->epoll_fd);
    uv_timer_init(loop, &h->timer);
    h->poll.data = h;
    h->timer.data = h;
    h->open_handles = 2;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    return 0;
}

static void on_handle_closed(uv_handle_t *hd)
{
    struct faas_httpd *h = hd->data;
    if (--h->open_handles == 0 && h->on_closed != NULL) h->on_closed(h);
}

void faas_httpd_stop(struct faas_httpd *h, void (*on_closed)(struct faas_httpd *h))
{
    h->on_closed = on_closed;
    if (h->d == NULL) {
        if (on_closed != NULL) on_closed(h);
        return;
    }
    /* Unwatch the epoll fd before MHD closes it. */
    uv_close((uv_handle_t *)&h->poll, on_handle_closed);
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
    struct MHD_Daemon *d = h->d;
    h->d = NULL;
    MHD_stop_daemon(d);
}
