/* proxy/place.c — rendezvous hashing over the fleet. */
#include "proxy/place.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

int px_place(uint64_t key_hash, const uint8_t *eligible, size_t n, int k, uint16_t *out)
{
    uint64_t score[64];
    int found = 0;
    if (k > 64) k = 64;
    /* keep the k best in descending order: insertion into a short array */
    for (size_t i = 0; i < n && i < 65536; i++) {
        if (eligible != NULL && !eligible[i]) continue;
        uint64_t s = mix(key_hash ^ mix(i + 0x9E3779B97F4A7C15ull));
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
