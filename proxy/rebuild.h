/* proxy/rebuild.h — a restarted proxy rebuilds its index from the nodes'
 * inventories, so a proxy crash loses nothing the fleet still holds.
 *
 * Every node is asked for its inventory (LIST, page by page; asking a
 * sleeping node invokes it). Records are grouped by key and version; for
 * each key the newest version with at least d chunks is indexed
 * (px_cache_adopt), its absent chunks marked missing for repair. Older
 * versions, versions with fewer than d chunks, expired objects and chunks
 * of another code are deleted from the nodes. Nodes that have not answered
 * by the deadline are left out: what they hold counts as missing.
 *
 * Ownership: the rebuild owns its table and its requests; it frees itself
 * once done() has run and the last request has come back.
 */
#ifndef FNCACHE_PROXY_REBUILD_H
#define FNCACHE_PROXY_REBUILD_H

#include <stdint.h>

#include "proxy/cache.h"

struct px_rebuild_stats {
    uint64_t nodes_listed, nodes_failed, chunks_seen;
    uint64_t objects, incomplete, discarded; /* indexed; of those, with chunks missing; versions deleted */
    int highest_node;                        /* highest node holding an indexed chunk, or -1 */
    uint64_t elapsed_ms;
};

/* List nodes 0..nodes-1 (the pool must accept them) within timeout_ms,
 * then index what was found and call done. Returns 0 or a negative errno
 * (done does not run then). */
int px_rebuild_start(struct px_cache *c, unsigned nodes, uint64_t timeout_ms,
                     void (*done)(const struct px_rebuild_stats *st, void *arg), void *arg);

#endif
