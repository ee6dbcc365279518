/* fuzz_common.h - what the panp fuzz targets share: a failure macro, an
 * input reader for structured targets, the receiver of each body kind and a
 * field-by-field comparison of two frame views.
 *
 * Everything here talks to the codec through panp/codec.h and panp/msg.h
 * only, so the harnesses run unchanged against any codec that implements
 * that API (fuzz/README.md, "Another codec"); the comparison is
 * codec/src/compare.c, which reads views only and which fuzz.mk compiles
 * into every target whichever codec is under test.  Nothing here keeps
 * state.
 */
#ifndef PANP_FUZZ_COMMON_H
#define PANP_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "panp/codec.h"
#include "panp/compare.h"

/* An invariant broke: say which, where and why, then abort so libFuzzer
 * saves the input as a crash. */
#define FZ_CHECK(cond, ...)                                                                       \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "\n%s:%d: invariant failed: %s\n  ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* ---- the receiving side's phase --------------------------------------------
 * panp_decode_received() and panp_validate_received() are optional in a
 * codec under test (weak): without them the phase checks are skipped and
 * fz_decode() decodes as panp_decode() does. */
#pragma weak panp_decode_received
#pragma weak panp_validate_received

static inline bool fz_have_phases(void) { return panp_decode_received && panp_validate_received; }

static inline panp_error_code fz_decode(const panp_decode_opts *o, panp_phase phase,
                                        const uint8_t *buf, size_t len, panp_frame **out,
                                        panp_status *st)
{
    if (phase == PANP_PHASE_NONE || !fz_have_phases())
        return panp_decode(o, buf, len, out, st);
    return panp_decode_received(o, phase, buf, len, out, st);
}

/* ---- structured input ----------------------------------------------------
 * Reads values from the fuzzer's bytes front to back; past the end every
 * read yields zero, so any input is a complete script. */
typedef struct fz_in {
    const uint8_t *p;
    size_t left;
} fz_in;

static inline fz_in fz_in_make(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    return in;
}

static inline uint8_t fz_u8(fz_in *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static inline bool fz_bool(fz_in *in) { return fz_u8(in) & 1; }

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fz_u8(in);
    return v;
}

static inline uint64_t fz_u64(fz_in *in)
{
    uint64_t hi = fz_u32(in);
    return hi << 32 | fz_u32(in);
}

/* A number below n (n > 0). */
static inline uint32_t fz_below(fz_in *in, uint32_t n) { return fz_u8(in) % n; }

/* Up to n bytes taken straight from the input (fewer at its end). */
static inline const uint8_t *fz_take(fz_in *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;
    *got = n < in->left ? n : in->left;
    in->p += *got;
    in->left -= *got;
    return p;
}

/* A length chosen to hit the limits of SPEC 6.4: 0, 1, the UUID and
 * handle bounds, the string limits and one past them, the payload limit
 * and the 16-bit edge of nanopb's field sizes; or any value below 70000. */
size_t fz_len(fz_in *in);

/* ---- the receiver of each body (proto comments, SPEC 7.2/7.6) ------------*/

/* PANP_PEER_BROKER for client -> broker bodies, PANP_PEER_CLIENT for
 * broker -> client ones; Goodbye goes both ways and gets PANP_PEER_CLIENT
 * (the lenient one); PANP_PEER_ANY for kinds outside the schema. */
panp_peer fz_receiver(panp_body_kind kind);
/* Whether a receiver in that role accepts the body at all. */
bool fz_accepts(panp_peer peer, panp_body_kind kind);
/* Every body kind of panp.v1, and how many. */
extern const panp_body_kind fz_kinds[];
extern const size_t fz_nkinds;

/* ---- comparing views ------------------------------------------------------
 * panp/compare.h, on what the frame means: NULL and "" are the same string
 * and empty bytes equal whatever their pointer (fuzz_encode builds views
 * whose NULLs a decoder returns as ""), bytes compare by content, members
 * that the kind or a has_* flag makes irrelevant are ignored.  On a
 * difference writes the field's path and both values into why and returns
 * false. */
static inline bool fz_frames_equal(const panp_frame *a, const panp_frame *b, char *why,
                                   size_t cap)
{
    return panp_frames_equal(a, b, PANP_COMPARE_NULL_IS_EMPTY, why, cap);
}

/* Hex for messages, as much as fits in cap (panp_hex). */
static inline const char *fz_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    return panp_hex(p, n, out, cap);
}

#endif /* PANP_FUZZ_COMMON_H */
