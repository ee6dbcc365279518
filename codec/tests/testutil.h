/* testutil.h - helpers shared by the codec tests: files, vectors, sample
 * frames, field-by-field view comparison. */
#ifndef PANP_TESTUTIL_H
#define PANP_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"
#include "panp/compare.h"

#ifndef VECTOR_ROOT
#define VECTOR_ROOT "conformance/vectors"
#endif

extern const panp_backend tu_backends[2];
const char *tu_backend_name(panp_backend b);

/* Whole file, malloc'd (free it); NULL when unreadable. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Sorted names of the files in dir ending in suffix; free with
 * tu_free_names. */
char **tu_list(const char *dir, const char *suffix, size_t *count);
void tu_free_names(char **names, size_t count);

/* One entry of negative/index.json. */
typedef struct tu_negative {
    char file[128];
    char level[16];
    char peer[16];
    char expect[32];
    char field[96];
    char why[256];
    uint32_t max_frame_size; /* 0: default */
} tu_negative;

/* Parses index.json (one entry per line, as gen_negative.py writes it). */
tu_negative *tu_negative_index(const char *path, size_t *count);

panp_peer tu_peer(const char *name);
panp_error_code tu_code(const char *name);

/* A valid frame of every body kind, built from static data; kinds lists
 * them all (count in *n). */
void tu_sample(panp_body_kind kind, panp_frame *f);
const panp_body_kind *tu_all_kinds(size_t *n);

/* Field-by-field comparison of two views, strict about the decoded form
 * (no NULL strings, empty bytes with a NULL pointer): panp/compare.h.  On a
 * difference writes the field path and both values into why and returns
 * false. */
static inline bool tu_frames_equal(const panp_frame *a, const panp_frame *b, char *why,
                                   size_t cap)
{
    return panp_frames_equal(a, b, 0, why, cap);
}

/* Hex for messages, as much as fits in cap (panp_hex). */
static inline const char *tu_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    return panp_hex(p, n, out, cap);
}

#endif /* PANP_TESTUTIL_H */
