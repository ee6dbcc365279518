/* map.c - open-addressing hash map, linear probing, tombstones (map.h). */
#include "map.h"

#include <stdlib.h>

#define TOMB UINT64_MAX

static size_t slot_of(uint64_t key, size_t cap)
{
    /* Broker ids carry a connection serial in the high bits and a counter
     * in the low bits; mix them so both spread. */
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static bool grow(idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    if (m->live * 4 < m->cap)
        cap = m->cap; /* mostly tombstones: rehash in place */
    idmap_slot *s = calloc(cap, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        uint64_t k = m->slots[i].key;
        if (k == 0 || k == TOMB)
            continue;
        size_t j = slot_of(k, cap);
        while (s[j].key)
            j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    m->used = m->live;
    return true;
}

static idmap_slot *find(const idmap *m, uint64_t key);

bool idmap_put(idmap *m, uint64_t key, void *val)
{
    idmap_slot *old = find(m, key);
    if (old) {
        old->val = val;
        return true;
    }
    if ((m->used + 1) * 4 > m->cap * 3 && !grow(m))
        return false;
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].key && m->slots[i].key != TOMB)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == 0)
        m->used++;
    m->slots[i] = (idmap_slot){key, val};
    m->live++;
    return true;
}

static idmap_slot *find(const idmap *m, uint64_t key)
{
    if (m->cap == 0 || key == 0 || key == TOMB)
        return NULL;
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].key) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void *idmap_get(const idmap *m, uint64_t key)
{
    idmap_slot *s = find(m, key);
    return s ? s->val : NULL;
}

void *idmap_del(idmap *m, uint64_t key)
{
    idmap_slot *s = find(m, key);
    if (!s)
        return NULL;
    void *v = s->val;
    s->key = TOMB;
    s->val = NULL;
    m->live--;
    return v;
}

void idmap_free(idmap *m)
{
    free(m->slots);
    *m = (idmap){0};
}
