/* deploy/local/faas_httpd.h — one libmicrohttpd daemon driven by a libuv loop.
 *
 * The daemon runs without any thread of its own (MHD_USE_EPOLL, no internal
 * polling thread): its epoll descriptor is watched with a uv_poll_t and
 * MHD_run() is called from the loop when it is readable; MHD_get_timeout()
 * arms a uv_timer_t. MHD_resume_connection() wakes the epoll descriptor
 *  MHD_resume_connection() is followed by faas_httpd_kick() so that the next
 * loop turn runs the daemon. Everything runs on the loop's thread.
 *
 * Ownership: struct faas_httpd is embedded in the caller's struct and must
 * stay valid until on_closed (given to faas_httpd_stop) has been called.
 */
#ifndef FNCACHE_DEPLOY_LOCAL_FAAS_HTTPD_H
#define FNCACHE_DEPLOY_LOCAL_FAAS_HTTPD_H

#include <microhttpd.h>
#include <stdint.h>
#include <uv.h>

struct faas_httpd {
    struct MHD_Daemon *d;
    uv_poll_t poll;
    uv_timer_t timer;
    uint16_t port;
    int open_handles;
    void (*on_closed)(struct faas_httpd *h);
    void *data; /* the owner's pointer */
};

/* Binds addr:port (port 0 = any free port, read it back from h->port) and
 * starts serving with handler(cls) and completed(ccls). Returns 0 or
 * FAAS_EHTTP. */
int faas_httpd_start(struct faas_httpd *h, uv_loop_t *loop, const char *addr, uint16_t port,
                     MHD_AccessHandlerCallback handler, void *cls,
                     MHD_RequestCompletedCallback completed, void *ccls);
/* Runs the daemon on the next loop turn. Call it after every
 * MHD_resume_connection: in external polling mode MHD requires an MHD_run
 * afterwards (microhttpd.h), the epoll descriptor does not wake by itself. */
void faas_httpd_kick(struct faas_httpd *h);
/* Stops the daemon (MHD calls completed for every connection, suspended ones
 * included: the caller must have resumed them), closes the uv handles and
 * calls on_closed (may be NULL) once they are closed. Never call it from
 * inside this daemon's own handler. */
void faas_httpd_stop(struct faas_httpd *h, void (*on_closed)(struct faas_httpd *h));

#endif
