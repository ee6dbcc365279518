/* backend.h - what codec.c needs from each protobuf runtime.
 *
 * A backend only translates: the wire scanner has already accepted the
 * bytes and the validator runs on the view afterwards, so a backend error
 * means either too little storage (RESOURCE_EXHAUSTED) or a disagreement
 * between the runtime and the scanner (INTERNAL, a bug).
 */
#ifndef PANP_BACKEND_H
#define PANP_BACKEND_H

#include "panp/codec.h"
#include "wire.h"

/* A bump allocator over caller storage, optionally growing in heap chunks
 * up to a budget (hosts); its memory dies with the storage / the chunks. */
typedef struct arena_chunk arena_chunk;
typedef struct arena {
    uint8_t *base;
    size_t size;
    size_t used;
    size_t budget;       /* bytes the heap chunks may add in total */
    size_t grown;        /* bytes they added so far */
    arena_chunk *chunks; /* heap chunks, freed by arena_release() */
    bool failed;
} arena;

enum { ARENA_ALIGN = 16 }; /* >= alignof(max_align_t) on every target we build */

void arena_init(arena *a, void *storage, size_t size, size_t heap_budget);
void *arena_alloc_slow(arena *a, size_t size);
void arena_release(arena_chunk *chunks);

/* The common case inline: protobuf-c calls this for every struct, string
 * and bytes value it unpacks. */
static inline void *arena_alloc(arena *a, size_t size)
{
    size_t r = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (r >= size && r && a->size - a->used >= r) { /* r < size: it wrapped */
        void *p = a->base + a->used;
        a->used += r;
        return p;
    }
    return arena_alloc_slow(a, size);
}

#ifndef PANP_NO_PROTOBUF_C
size_t pbc_storage_size(size_t frame_len);
size_t pbc_heap_budget(size_t frame_len);
panp_error_code pbc_decode(const uint8_t *buf, const wire_info *wi, arena *a, panp_frame *out,
                           panp_status *st);
/* Encoders write exactly size bytes (the size view_size() computed) and
 * fail with INTERNAL if their runtime disagrees about it. */
panp_error_code pbc_encode(const panp_frame *f, uint8_t *buf, size_t size, panp_status *st);
#endif

size_t npb_decode_storage_size(panp_body_kind kind);
panp_error_code npb_decode(const uint8_t *buf, const wire_info *wi, void *storage, size_t size,
                           panp_frame *out, panp_status *st);
size_t npb_encode_storage_size(panp_body_kind kind);
panp_error_code npb_encode(const panp_frame *f, uint8_t *buf, size_t size, void *storage,
                           size_t storage_size, panp_status *st);

#endif /* PANP_BACKEND_H */
