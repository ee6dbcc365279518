/* hmap.c - chained hash map keyed by SipHash-1-3 (see hmap.h). */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                         \
    do {                                                                 \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);        \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                           \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                           \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);        \
    } while (0)

static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

uint64_t hmap_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t full = len - (len % 8);
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load64_le(in + i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++) b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void hmap_init(hmap *m, const uint8_t seed[16])
{
    memset(m, 0, sizeof(*m));
    m->k0 = load64_le(seed);
    m->k1 = load64_le(seed + 8);
}

void hmap_free(hmap *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hmap_entry *e = m->buckets[i];
        while (e) {
            hmap_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}

static hmap_entry **find(const hmap *m, const void *key, size_t klen, uint64_t h)
{
    hmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        hmap_entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return pp;
    }
    return pp;
}

void *hmap_get(const hmap *m, const void *key, size_t klen)
{
    if (m->count == 0) return NULL;
    uint64_t h = hmap_siphash(m->k0, m->k1, key, klen);
    hmap_entry **pp = find(m, key, klen, h);
    return *pp ? (*pp)->val : NULL;
}

static int grow(hmap *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
    hmap_entry **b = calloc(nb, sizeof(*b));
    if (!b) return -1;
    for (size_t i = 0; i < m->nbuckets; i++) {
        hmap_entry *e = m->buckets[i];
        while (e) {
            hmap_entry *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return 0;
}

int hmap_put(hmap *m, const void *key, size_t klen, void *val)
{
    if (m->count >= m->nbuckets && grow(m) != 0) return -1;
    hmap_entry *e = malloc(sizeof(*e));
    if (!e) return -1;
    e->hash = hmap_siphash(m->k0, m->k1, key, klen);
    e->key = key;
    e->klen = klen;
    e->val = val;
    hmap_entry **head = &m->buckets[e->hash & (m->nbuckets - 1)];
    e->next = *head;
    *head = e;
    m->count++;
    return 0;
}

void *hmap_del(hmap *m, const void *key, size_t klen)
{
    if (m->count == 0) return NULL;
    uint64_t h = hmap_siphash(m->k0, m->k1, key, klen);
    hmap_entry **pp = find(m, key, klen, h);
    hmap_entry *e = *pp;
    if (!e) return NULL;
    *pp = e->next;
    void *val = e->val;
    free(e);
    m->count--;
    return val;
}

void hmap_iter_init(hmap_iter *it, const hmap *m)
{
    it->m = m;
    it->bucket = 0;
    it->next = NULL;
}

void *hmap_iter_next(hmap_iter *it)
{
    while (!it->next) {
        if (it->bucket >= it->m->nbuckets) return NULL;
        it->next = it->m->buckets[it->bucket++];
    }
    hmap_entry *e = it->next;
    it->next = e->next;
    return e->val;
}
