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
    SF_ONEOF = 1u << 1,   /* member of the message's only oneof */
    SF_REQUIRED = 1u << 2 /* a default (absent) value breaks a rule: 0, empty, no submessage */
};

/* Rules of a message beyond its fields' own (schema_msg.rules): checked
 * by the wire scanner on received bytes, and by validate.c on views. */
typedef enum {
    SR_NONE = 0,
    SR_HELLO,        /* versions, token only with TOKEN, max_frame_size */
    SR_WELCOME,      /* version >= 1 */
    SR_LIMITS,       /* max_frame_size >= 4096 */
    SR_TARGET,       /* one member; printer not empty */
    SR_CLIENT_TYPE,  /* field 2 (notification_type) neither NOTIFICATION_RELEASE nor nil */
    SR_NOTIFY,       /* conversation_id exactly when bidirectional */
    SR_CLOSE_CHANNEL,/* the side oneof must have a member */
    SR_CHANNEL_CLOSED, /* an id; NOTIFICATION_RELEASE exactly for PEER_GONE, SERVER_SHUTDOWN */
    SR_GOODBYE       /* a broker takes any Goodbye (SPEC 7.5) */
} schema_rules;

/* Field numbers of every message but Frame stay below this. */
enum { SCHEMA_MAX_FIELDS = 10 };

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
    uint8_t rules;               /* schema_rules */
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
