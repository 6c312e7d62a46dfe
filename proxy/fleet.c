/* proxy/fleet.c — growing and shrinking the fleet. */
#include "proxy/fleet.h"

#include <string.h>

#include "common/clock.h"
#include "common/log.h"

#define TICK_MS 1000

void px_fleet_note(struct px_fleet *f)
{
    struct px_fleet_sample *s = &f->history[f->nhistory++ % PX_FLEET_HISTORY];
    *s = (struct px_fleet_sample){cm_wall_ms(), f->cache->nnodes, f->cache->used};
}

static void resize(struct px_fleet *f, unsigned n)
{
    struct px_cache *c = f->cache;
    cm_info("fleet: %u -> %u nodes (%llu MB of chunks placed)", c->nnodes, n, (unsigned long long)(c->used >> 20));
    px_cache_resize(c, n);
    px_fleet_note(f);
}

static int grow(struct px_fleet *f)
{
    unsigned n = f->cache->nnodes;
    if (n >= f->max_nodes) return 0;
    unsigned more = n / 4 ? n / 4 : 1;
    resize(f, n + more < f->max_nodes ? n + more : f->max_nodes);
    f->grown++;
    return 1;
}

static int on_no_room(struct px_cache *c, void *arg)
{
    (void)c;
    return grow(arg);
}

static uint64_t capacity_of(const struct px_fleet *f, unsigned nodes)
{
    return f->cache->node_capacity * nodes;
}

/* Hand the draining node's chunks to background repair, as long as each
 * object keeps d readable chunks besides. Returns the chunks still there. */
static uint64_t drain_step(struct px_fleet *f)
{
    struct px_cache *c = f->cache;
    uint16_t node = (uint16_t)f->draining;
    uint64_t left = 0;
    for (struct px_object *o = c->index.lru_head; o != NULL; o = o->lru_next) {
        const struct px_chunk_loc *loc = px_object_chunks(o);
        for (int i = 0; i < o->d + o->p; i++) {
            if (loc[i].node != node) continue;
            left++;
            /* again each tick: a repair that gave up is tried anew */
            if (!o->repairing && (o->missing >> i & 1 || __builtin_popcountll(o->missing) < o->p)) {
                o->missing |= (uint64_t)1 << i;
                if (c->damaged != NULL) c->damaged(c, o, c->damaged_arg);
            }
        }
    }
    return left;
}

static void on_tick(uv_timer_t *t)
{
    struct px_fleet *f = t->data;
    struct px_cache *c = f->cache;
    unsigned n = c->nnodes;
    if (f->draining >= 0) {
        if (drain_step(f) == 0 && c->node_used[f->draining] == 0) {
            c->draining[f->draining] = 0;
            f->draining = -1;
            f->shrunk++;
            resize(f, n - 1);
        }
        return;
    }
    if (c->used * 100 > capacity_of(f, n) * PX_FLEET_HIGH) {
        grow(f);
        f->low_since_ms = 0;
        return;
    }
    uint64_t now = uv_now(t->loop);
    int low = c->used * 100 < capacity_of(f, n) * PX_FLEET_LOW &&
              c->used * 100 < capacity_of(f, n - 1) * PX_FLEET_HIGH;
    if (!low || n <= f->min_nodes || !f->can_drain) {
        f->low_since_ms = 0;
        return;
    }
    if (f->low_since_ms == 0) f->low_since_ms = now;
    if (now - f->low_since_ms < f->shrink_after_ms) return;
    f->low_since_ms = 0;
    f->draining = (int)n - 1;
    c->draining[n - 1] = 1;
    cm_info("fleet: draining node %u (%llu bytes of chunks)", n - 1, (unsigned long long)c->node_used[n - 1]);
    drain_step(f);
}

int px_fleet_init(struct px_fleet *f, uv_loop_t *loop, struct px_cache *cache, unsigned max_nodes,
                  uint64_t shrink_after_ms, int can_drain)
{
    memset(f, 0, sizeof *f);
    f->cache = cache;
    f->min_nodes = cache->nnodes;
    f->max_nodes = max_nodes < cache->max_nodes ? max_nodes : cache->max_nodes;
    f->shrink_after_ms = shrink_after_ms;
    f->can_drain = can_drain;
    f->draining = -1;
    int rc = uv_timer_init(loop, &f->timer);
    if (rc != 0) return rc;
    f->timer.data = f;
    cache->no_room = on_no_room;
    cache->no_room_arg = f;
    px_fleet_note(f);
    if (f->max_nodes > f->min_nodes) uv_timer_start(&f->timer, on_tick, TICK_MS, TICK_MS);
    return 0;
}

void px_fleet_close(struct px_fleet *f)
{
    f->cache->no_room = NULL;
    uv_close((uv_handle_t *)&f->timer, NULL);
}
