/* proxy/repair.c — the background repair scheduler. */
#include "proxy/repair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 10
#define MAX_TRIES 3
#define BUSY_GAP_MS 1000 /* while clients are busy: one start a second */

struct px_repair_job {
    struct px_repair_job *next;
    struct px_repair *r;
    uint64_t version;
    int tries;
    int level;
    uint8_t key_len;
    char key[PX_KEY_MAX];
};

static int level_of(const struct px_object *o)
{
    int spare = o->p - __builtin_popcountll(o->missing);
    if (spare < 0) spare = 0;
    return spare < PX_REPAIR_LEVELS ? spare : PX_REPAIR_LEVELS - 1;
}

static void on_tick(uv_timer_t *t);

static void wake(struct px_repair *r)
{
    if (!r->closing && !uv_is_active((uv_handle_t *)&r->timer)) {
        r->last_ms = uv_now(r->timer.loop);
        uv_timer_start(&r->timer, on_tick, TICK_MS, TICK_MS);
    }
}

/* Queue j for o at o's danger level; o remembers it, so the same damage
 * reported again (a drain reports it every tick) queues nothing more. */
static void enqueue(struct px_repair *r, struct px_repair_job *j, struct px_object *o)
{
    int level = level_of(o);
    j->level = level;
    o->queued = (uint8_t)(level + 1);
    j->next = NULL;
    if (r->tail[level]) r->tail[level]->next = j;
    else r->head[level] = j;
    r->tail[level] = j;
    r->queued++;
    wake(r);
}

static void on_damaged(struct px_cache *c, struct px_object *o, void *arg)
{
    (void)c;
    struct px_repair *r = arg;
    if (r->rate == 0 || r->closing) return;
    if (o->queued && o->queued - 1 <= level_of(o)) return; /* already waiting, as urgently */
    struct px_repair_job *j = malloc(sizeof *j);
    if (j == NULL) return; /* the next read repairs it */
    j->r = r;
    j->version = o->version;
    j->tries = 0;
    j->key_len = o->key_len;
    memcpy(j->key, px_object_key(o), o->key_len);
    enqueue(r, j, o);
}

/* The object a job is about, if it still needs repair. */
static struct px_object *target(struct px_repair *r, const struct px_repair_job *j)
{
    struct px_object *o = px_index_peek(&r->cache->index, j->key, j->key_len);
    if (o == NULL || o->dead || o->version != j->version || o->missing == 0) return NULL;
    return o;
}

static void on_repaired(void *arg, uint64_t bytes)
{
    (void)bytes;
    struct px_repair_job *j = arg;
    struct px_repair *r = j->r;
    r->running--;
    r->repairs++;
    struct px_object *o = r->closing ? NULL : target(r, j);
    if (o != NULL && ++j->tries < MAX_TRIES) enqueue(r, j, o);
    else free(j);
    wake(r);
}

static struct px_repair_job *pop(struct px_repair *r)
{
    for (int l = 0; l < PX_REPAIR_LEVELS; l++) {
        struct px_repair_job *j = r->head[l];
        if (j == NULL) continue;
        r->head[l] = j->next;
        if (r->head[l] == NULL) r->tail[l] = NULL;
        r->queued--;
        return j;
    }
    return NULL;
}

static void on_tick(uv_timer_t *t)
{
    struct px_repair *r = t->data;
    struct px_cache *c = r->cache;
    uint64_t now = uv_now(t->loop);
    double burst = (double)r->rate / 4;
    r->tokens += (double)r->rate * (double)(now - r->last_ms) / 1000.0;
    if (r->tokens > burst) r->tokens = burst;
    r->last_ms = now;
    while (r->queued > 0 && r->running < r->max_running && r->tokens > 0) {
        if (c->client_io > 0 && now - r->last_start_ms < BUSY_GAP_MS) break;
        struct px_repair_job *j = pop(r);
        struct px_object *o = target(r, j);
        if (o != NULL && o->queued != j->level + 1) o = NULL; /* overtaken by a more urgent job */
        else if (o != NULL) o->queued = 0;
        if (o == NULL || o->repairing) { /* gone, repaired, or a read is repairing it */
            free(j);
            continue;
        }
        uint64_t cost = (uint64_t)(o->d + __builtin_popcountll(o->missing)) * o->chunk_len;
        if (px_cache_repair(c, o, on_repaired, j) != 0) {
            free(j);
            continue;
        }
        r->running++;
        r->tokens -= (double)cost;
        r->last_start_ms = now;
    }
    if (r->queued == 0 && r->running == 0) uv_timer_stop(t);
}

int px_repair_init(struct px_repair *r, uv_loop_t *loop, struct px_cache *cache, uint64_t rate)
{
    memset(r, 0, sizeof *r);
    r->cache = cache;
    r->rate = rate;
    r->max_running = 4;
    int rc = uv_timer_init(loop, &r->timer);
    if (rc != 0) return rc;
    r->timer.data = r;
    cache->damaged = on_damaged;
    cache->damaged_arg = r;
    return 0;
}

void px_repair_close(struct px_repair *r)
{
    r->closing = 1;
    r->cache->damaged = NULL;
    struct px_repair_job *j;
    while ((j = pop(r)) != NULL) free(j);
    uv_close((uv_handle_t *)&r->timer, NULL);
}
