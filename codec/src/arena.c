/* arena.c - bump allocation over caller storage, growing into a bounded
 * number of heap bytes when allowed (see backend.h).
 *
 * protobuf-c allocates many small objects per frame and frees them all at
 * once; an arena makes that one free, makes the budget a hard limit, and
 * lets devices and callers with their own buffers decode without a heap.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#include "backend.h"

struct arena_chunk {
    arena_chunk *next;
    size_t size;
    size_t used;
    alignas(ARENA_ALIGN) uint8_t data[];
};

_Static_assert(ARENA_ALIGN >= alignof(max_align_t), "arena alignment too small");

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

/* The base is aligned here once, so arena_alloc() need not. */
void arena_init(arena *a, void *storage, size_t size, size_t heap_budget)
{
    uintptr_t at = (uintptr_t)storage;
    size_t pad = storage ? round_up(at) - at : 0;
    a->base = (uint8_t *)storage + pad;
    a->size = size > pad ? size - pad : 0;
    a->used = 0;
    a->budget = heap_budget;
    a->grown = 0;
    a->chunks = NULL;
    a->failed = false;
}

static void *from_chunk(arena *a, size_t size)
{
    arena_chunk *c = a->chunks;
    if (c && c->size - c->used >= size) {
        void *p = c->data + c->used;
        c->used += size;
        return p;
    }
    /* Double what was grown so far: O(log n) chunks for any frame. */
    size_t want = size > a->grown ? size : a->grown;
    if (want < 4096)
        want = 4096;
    if (want > a->budget - a->grown)
        want = a->budget - a->grown;
    if (want < size)
        return NULL;
    c = malloc(sizeof *c + want);
    if (!c)
        return NULL;
    c->next = a->chunks;
    c->size = want;
    c->used = size;
    a->chunks = c;
    a->grown += want;
    return c->data;
}

void *arena_alloc_slow(arena *a, size_t size)
{
    if (size > SIZE_MAX / 2) {
        a->failed = true;
        return NULL;
    }
    size = round_up(size ? size : 1);
    if (a->size - a->used >= size) { /* only size 0 gets here with room */
        void *p = a->base + a->used;
        a->used += size;
        return p;
    }
    void *p = a->budget > a->grown ? from_chunk(a, size) : NULL;
    if (!p)
        a->failed = true;
    return p;
}

void arena_release(arena_chunk *chunks)
{
    while (chunks) {
        arena_chunk *next = chunks->next;
        free(chunks);
        chunks = next;
    }
}
