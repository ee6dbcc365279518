/* hmap.h - a chained hash map from byte strings to pointers.
 *
 * Keys are not copied: each key points into the value it indexes, which
 * the caller keeps alive while it is in the map.  Clients choose some of
 * the keys (notification types, handles they present), so the hash is
 * SipHash-1-3 keyed by a per-broker secret to keep collisions unplannable. */
#ifndef PANPD_HMAP_H
#define PANPD_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hmap_entry {
    struct hmap_entry *next;
    uint64_t hash;
    const void *key;
    size_t klen;
    void *val;
} hmap_entry;

typedef struct hmap {
    hmap_entry **buckets;
    size_t nbuckets; /* a power of two, or 0 before the first insert */
    size_t count;
    uint64_t k0, k1;
} hmap;

void hmap_init(hmap *m, const uint8_t seed[16]);
void hmap_free(hmap *m); /* frees the entries, never the values */
void *hmap_get(const hmap *m, const void *key, size_t klen);
/* Returns 0, or -1 when out of memory.  The key must not be present. */
int hmap_put(hmap *m, const void *key, size_t klen, void *val);
/* Returns the value removed, or NULL. */
void *hmap_del(hmap *m, const void *key, size_t klen);

/* Iteration that tolerates deleting the current key. */
typedef struct hmap_iter {
    const hmap *m;
    size_t bucket;
    hmap_entry *next;
} hmap_iter;
void hmap_iter_init(hmap_iter *it, const hmap *m);
void *hmap_iter_next(hmap_iter *it);

uint64_t hmap_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif
