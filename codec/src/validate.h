/* validate.h - the frame-view half of the validator (the raw-bytes half is
 * wire.c).  Shared by both backends and by the encoder. */
#ifndef PANP_VALIDATE_H
#define PANP_VALIDATE_H

#include <stdbool.h>

#include "panp/codec.h"

/* How strict to be. */
typedef enum {
    VM_RECEIVED = 0,      /* a decoded frame: the scanner already applied the field rules */
    VM_FIELD_RULES = 1,   /* a frame built in memory: apply them here too */
    VM_EMITTING = 3       /* about to be encoded: field rules, and no 0 in required enums */
} validate_mode;

/* Semantic rules (required fields, non-zero ids, well-known types...),
 * plus per mode the field rules the wire scanner enforces on received
 * bytes (sizes, UTF-8, UUID/handle lengths, enum ranges).  peer sets enum
 * leniency: a receiving client (SPEC 6.3) accepts unknown values and 0 in
 * every enum field; others accept neither.  An emitter is lenient about
 * unknown values in frames a client receives (re-encoding what a newer
 * broker sent) but never sends 0 where the SPEC requires a value.  The body
 * is not checked against the role (see validate_role). */
panp_error_code validate_view(const panp_frame *f, panp_peer peer, validate_mode mode,
                              panp_status *st);

/* PROTOCOL_VIOLATION when a receiver in that role does not accept the
 * frame's body, or the frame has none. */
panp_error_code validate_role(const panp_frame *f, panp_peer peer, panp_status *st);

/* The emitting rules of a Notify's fields 1 to 3 (head) or 4 to 10. */
panp_error_code validate_notify_part(const panp_notify *n, bool head, panp_status *st);

/* Which leniency the encoder validates with: frames a client may receive
 * are checked as a client would check them. */
panp_peer validate_encode_peer(panp_body_kind kind);

#endif /* PANP_VALIDATE_H */
