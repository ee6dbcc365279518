/* map.h - a small hash map from a non-zero uint64 id to a pointer: open
 * channels by channel_id and conversations by conversation_id. */
#ifndef PANP_CLIENT_MAP_H
#define PANP_CLIENT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct idmap_slot {
    uint64_t key; /* 0: empty; UINT64_MAX: deleted */
    void *val;
} idmap_slot;

typedef struct idmap {
    idmap_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t used; /* live + deleted */
    size_t live;
} idmap;

bool idmap_put(idmap *m, uint64_t key, void *val); /* key must be 1..UINT64_MAX-1 */
void *idmap_get(const idmap *m, uint64_t key);
void *idmap_del(idmap *m, uint64_t key);
void idmap_free(idmap *m);

#endif
