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

#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"

typedef struct wire_info {
    uint64_t request_id;
    panp_body_kind kind;
    size_t body_off; /* the body submessage's bytes within the frame */
    size_t body_len;
} wire_info;

/* Scans one Frame (no length prefix).  On success fills *info and returns
 * PANP_ERR_UNSPECIFIED.  Malformed encoding is PROTOCOL_VIOLATION and
 * stops the scan; a field rule broken by a well-formed frame is
 * INVALID_ARGUMENT, reported only when the whole frame is well-formed (a
 * frame that is both is malformed: fatal wins).  st->request_id carries
 * the request id whenever the scan got far enough to read it. */
panp_error_code wire_scan(const uint8_t *buf, size_t len, panp_peer peer, wire_info *info,
                          panp_status *st);

/* Reads one varint at p (at most end - p bytes).  Returns its length, or 0
 * when it is cut short, longer than 10 bytes, overflows 64 bits or is not
 * minimally encoded; *why then says which. */
size_t wire_varint(const uint8_t *p, const uint8_t *end, uint64_t *v, const char **why);

#endif /* PANP_WIRE_H */
