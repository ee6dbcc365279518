/* schema.h - the panp.v1 schema as a compact static table.
 *
 * The wire scanner and the validator both read their limits from here, so a
 * limit exists in exactly one place in C (panp.options holds the same
 * numbers for nanopb; test_schema proves the two agree).  Field numbers
 * index the field arrays directly: every message numbers its fields densely
 * from 1, except Frame, whose gap (12..15) holds empty entries.
 */
#ifndef PANP_SCHEMA_H
#define PANP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"

typedef enum {
    SK_NONE = 0, /* a gap: no field has this number */
    SK_U32,
    SK_U64,
    SK_BOOL,
    SK_ENUM,
    SK_BYTES,
    SK_STRING,
    SK_UUID,   /* bytes: empty (absent) or exactly 16 */
    SK_HANDLE, /* bytes: empty (absent) or 16..32 */
    SK_MSG
} schema_kind;

enum {
    SF_REPEATED = 1u << 0,
    SF_ONEOF = 1u << 1 /* member of the message's only oneof */
};

typedef struct schema_msg schema_msg;

typedef struct schema_field {
    const char *name;      /* as it appears in field paths */
    uint8_t kind;          /* schema_kind */
    uint8_t flags;         /* SF_* */
    uint16_t max_count;    /* SF_REPEATED only */
    uint32_t max;          /* bytes/string: max length; enum: highest defined value */
    const schema_msg *sub; /* SK_MSG only */
} schema_field;

struct schema_msg {
    const char *name;
    uint8_t max_number;          /* fields[0..max_number], fields[0] unused */
    const schema_field *fields;
};

extern const schema_msg schema_frame;

/* The descriptor of a Frame body by its field number, or NULL. */
const schema_msg *schema_body(panp_body_kind kind);

/* The field with that number, or NULL when the schema does not know it. */
static inline const schema_field *schema_lookup(const schema_msg *m, uint64_t number)
{
    if (number == 0 || number > m->max_number || m->fields[number].kind == SK_NONE)
        return NULL;
    return &m->fields[number];
}

/* The path name of a body ("register" for register_listener, as the SPEC
 * names fields in errors). */
const char *schema_body_path(panp_body_kind kind);

/* Who may receive a body: a broker (client -> broker), a client
 * (broker -> client), or both (Goodbye).  0 for PANP_BODY_NONE and unknown
 * kinds. */
enum { SD_TO_BROKER = 1, SD_TO_CLIENT = 2 };
unsigned schema_body_dir(panp_body_kind kind);

/* Whether a receiver in that role accepts the body (PANP_PEER_ANY: any
 * body the schema knows). */
bool schema_body_ok_for(panp_body_kind kind, panp_peer peer);

#endif /* PANP_SCHEMA_H */
