/* proxy/fleet.h — the fleet's size follows the data.
 *
 * Growing: when the chunk bytes placed pass PX_FLEET_HIGH percent of what
 * the current nodes hold, or a write finds no node with room, nodes are
 * added (a quarter more, at least one) up to max_nodes; new objects reach
 * them through rendezvous hashing, old ones stay where the index says.
 * Eviction happens only when the fleet is at its cap and full.
 *
 * Shrinking: when usage has stayed below PX_FLEET_LOW percent for
 * shrink_after_ms, and one node fewer would still be below the high mark,
 * the highest-numbered node is drained: placement skips it, and background
 * repair moves its chunks (it reads the survivors and writes elsewhere, so
 * an object never has fewer than d readable chunks while it moves). Once
 * it holds nothing it leaves the fleet and is no longer kept warm. The
 * highest-numbered node goes first so the fleet stays PREFIX0..N-1: on AWS
 * the functions must exist up to the cap.
 *
 * Ownership: borrows the cache and the pool; owns its timer and history.
 */
#ifndef FNCACHE_PROXY_FLEET_H
#define FNCACHE_PROXY_FLEET_H

#include <stdint.h>
#include <uv.h>

#include "proxy/cache.h"

#define PX_FLEET_HIGH 80
#define PX_FLEET_LOW 30
#define PX_FLEET_HISTORY 64

struct px_fleet_sample {
    uint64_t unix_ms;
    unsigned nodes;
    uint64_t used;
};

struct px_fleet {
    struct px_cache *cache;
    uv_timer_t timer;
    unsigned min_nodes, max_nodes;
    uint64_t shrink_after_ms;
    uint64_t low_since_ms;         /* usage low since then; 0 = not low */
    int draining;                  /* the node being drained, or -1 */
    int can_drain;                 /* background repair is on */
    uint64_t grown, shrunk;
    struct px_fleet_sample history[PX_FLEET_HISTORY]; /* a ring of size changes */
    unsigned nhistory;
};

/* Size the fleet between min_nodes (the cache's current size) and
 * max_nodes; shrink only when can_drain. Hooks itself to the cache. */
int px_fleet_init(struct px_fleet *f, uv_loop_t *loop, struct px_cache *cache, unsigned max_nodes,
                  uint64_t shrink_after_ms, int can_drain);
/* The fleet's size changed from outside (an index rebuild found more). */
void px_fleet_note(struct px_fleet *f);
void px_fleet_close(struct px_fleet *f);

#endif
