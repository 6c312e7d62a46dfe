/* proxy/repair.h — background repair: objects that lost chunks are rebuilt
 * in order of danger (fewest chunks to spare first), under a bandwidth
 * budget, yielding to client traffic.
 *
 * The cache reports every damaged object (px_cache.damaged); the scheduler
 * queues its key and version, not a pointer: an object may be replaced or
 * dropped while it waits, and such an entry is skipped. The object keeps
 * the level it waits at (px_object.queued), so damage reported again queues
 * nothing more unless it is now more urgent. A tick takes the
 * most endangered entries while the budget (bytes read plus bytes written,
 * refilled at `rate` per second, bursts up to a quarter second) lasts.
 * While clients have reads or writes on the fleet, it starts at most one
 * repair a second, so a steady load slows repair down but cannot starve it.
 * An object whose repair failed is tried again, three times at most.
 *
 * Ownership: the scheduler owns its queue; the cache is borrowed.
 */
#ifndef FNCACHE_PROXY_REPAIR_H
#define FNCACHE_PROXY_REPAIR_H

#include <stdint.h>
#include <uv.h>

#include "proxy/cache.h"

#define PX_REPAIR_LEVELS 4 /* 0, 1, 2 chunks to spare, and more */

struct px_repair_job;

struct px_repair {
    struct px_cache *cache;
    uv_timer_t timer;
    uint64_t rate;                 /* bytes per second; 0 = no background repair */
    double tokens;                 /* budget left, in bytes (may go negative) */
    uint64_t last_ms, last_start_ms;
    struct px_repair_job *head[PX_REPAIR_LEVELS], *tail[PX_REPAIR_LEVELS];
    uint64_t queued;               /* jobs waiting */
    unsigned running, max_running;
    int closing;
    uint64_t repairs;              /* background repairs finished */
};

/* rate: bytes per second; 0 leaves damaged objects to the reads. Hooks
 * itself to the cache. Returns 0 or a negative errno. */
int px_repair_init(struct px_repair *r, uv_loop_t *loop, struct px_cache *cache, uint64_t rate);
/* Drop what waits and close the timer; repairs under way finish alone. */
void px_repair_close(struct px_repair *r);

#endif
