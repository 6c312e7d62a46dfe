/* proxy/place.h — which nodes hold an object's chunks.
 *
 * Rendezvous (highest random weight) hashing: every node gets a score from
 * the key's hash and the node's id, and the k best eligible nodes win, in
 * score order (chunk i goes to the i-th). Adding or removing a node moves
 * only the chunks that node wins or held. The chosen nodes are written into
 * the index, so a later change of the fleet never loses an object.
 */
#ifndef FNCACHE_PROXY_PLACE_H
#define FNCACHE_PROXY_PLACE_H

#include <stddef.h>
#include <stdint.h>

/* Choose up to k distinct nodes among n for key_hash, skipping those whose
 * eligible[i] is 0 (full, dead). Writes node numbers to out[0..k-1] and
 * returns how many were found (fewer than k when too few are eligible). */
int px_place(uint64_t key_hash, const uint8_t *eligible, size_t n, int k, uint16_t *out);

#endif
