/* wire.h - the wire scanner: walks raw Frame bytes against the panp.v1
 * schema table and enforces the whole wire profile before any protobuf
 * runtime sees them.
 *
 * Both backends decode only what this scanner accepted, so every decision
 * the runtimes would make differently (padded varints, uint32 overflow,
 * duplicates, unknown fields, UTF-8, sizes...) is made here, once.
 */
#ifndef PANP_WIRE_H
#define PANP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"

typedef struct wire_info {
    uint64_t request_id;
    panp_body_kind kind;
    size_t body_off; /* the body submessage's bytes within the frame */
    size_t body_len;
    /* A Goodbye a broker takes although a field breaks a rule the runtimes
     * cannot represent: decode it as {reason: goodbye_reason, message: ""}
     * without a backend. */
    bool goodbye_sanitized;
    int32_t goodbye_reason;
} wire_info;

/* Scans one Frame (no length prefix) and applies every check of SPEC 6.5
 * that a frame's bytes decide, in that order: malformed encoding anywhere
 * (PROTOCOL_VIOLATION, request_id 0: the scan stops there), no body, a
 * body the peer's role or phase does not accept (PROTOCOL_VIOLATION, the
 * frame's request_id), request_id 0 on a request (broker, phase set), then
 * the field rules -- the schema's and each message's own (SPEC 6.3, 7.3,
 * 9.1, 10.1, 10.5) -- of which the first in field-number order, depth first,
 * is reported (INVALID_ARGUMENT, the frame's request_id).  On success fills
 * *info and returns PANP_ERR_UNSPECIFIED. */
panp_error_code wire_scan(const uint8_t *buf, size_t len, panp_peer peer, panp_phase phase,
                          wire_info *info, panp_status *st);

/* The phase and request-id checks (SPEC 6.5 steps 3 and 4) on a frame whose
 * encoding and role already passed; shared with the view validator. */
panp_error_code wire_frame_checks(panp_body_kind kind, uint64_t request_id, panp_peer peer,
                                  panp_phase phase, panp_status *st);

/* Error.field of a body's root for a receiver: the body's name (SPEC 19.3
 * roots), or "frame.<member>" for a body a broker never accepts when a
 * broker receives it (its name is no root of SPEC 19.3). */
const char *wire_body_root(panp_body_kind kind, panp_peer peer, char *buf, size_t cap);

/* Reads one varint at p (at most end - p bytes).  Returns its length, or 0
 * when it is cut short, longer than 10 bytes, overflows 64 bits or is not
 * minimally encoded; *why then says which. */
size_t wire_varint(const uint8_t *p, const uint8_t *end, uint64_t *v, const char **why);

#endif /* PANP_WIRE_H */
