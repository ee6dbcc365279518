/* vectors.h - the negative golden vectors (conformance/vectors/negative,
 * owned by the codec), turned into one broker case each: the vector's
 * bytes are sent to a live broker, which must answer with the Error the
 * index names (then close where that Error is fatal) and must go on serving
 * other connections. */
#ifndef PC_VECTORS_H
#define PC_VECTORS_H

#include "harness.h"

typedef struct pc_vectors pc_vectors;

/* What a client-side vector case needs (its def->arg). */
typedef struct pc_client_vector {
    const char *file;
    const char *field;        /* the validator's field path */
    const uint8_t *bytes;
    size_t len;
    bool accept;              /* the SPEC says accept (CLI-2), not close (CLI-3) */
} pc_client_vector;

/* Runs one client-side vector (client/c_client.c). */
void cs_run_vector(pc_t *t);

/* Loads dir/negative/index.json and builds case definitions (named
 * "vector.negative.<name>").  On failure returns NULL with a reason;
 * the registry then adds a case that reports the failure as an ERROR, so a
 * missing index never passes silently. */
pc_vectors *pc_vectors_load(const char *dir, char *err, size_t errlen);
size_t pc_vectors_count(const pc_vectors *v);
const pc_case_def *pc_vectors_case(const pc_vectors *v, size_t i);
/* The vectors a client receives, as client-side cases ("client.vector.<name>"). */
size_t pc_vectors_client_count(const pc_vectors *v);
const pc_case_def *pc_vectors_client_case(const pc_vectors *v, size_t i);
void pc_vectors_free(pc_vectors *v);

/* The stand-in case used when the index cannot be loaded. */
void pc_vectors_missing_run(pc_t *t);

#endif
