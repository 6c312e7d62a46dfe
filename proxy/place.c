/* proxy/place.c — rendezvous hashing over the fleet. */
#include "proxy/place.h"

#include "common/hash.h"

int px_place(uint64_t key_hash, const uint8_t *eligible, size_t n, int k, uint16_t *out)
{
    uint64_t score[64];
    int found = 0;
    if (k > 64) k = 64;
    /* keep the k best in descending order: insertion into a short array */
    for (size_t i = 0; i < n && i < 65536; i++) {
        if (eligible != NULL && !eligible[i]) continue;
        uint64_t s = cm_mix64(key_hash ^ cm_mix64(i + 0x9E3779B97F4A7C15ull));
        if (found == k && s <= score[k - 1]) continue;
        int at = found < k ? found++ : k - 1;
        while (at > 0 && score[at - 1] < s) {
            score[at] = score[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        score[at] = s;
        out[at] = (uint16_t)i;
    }
    return found;
}
