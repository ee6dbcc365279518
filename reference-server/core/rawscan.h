/* rawscan.h - a strict look at a frame's raw bytes, for deciding how to
 * answer a frame the codec rejected.
 *
 * The codec stops at the first rule it checks and reports it; SPEC 6.5
 * fixes a different order for a few cases (the request id and the state
 * before field rules, Hello's table order, a request's target before its
 * type, malformed bytes before a foreign body, request_id 0 for malformed
 * encodings).  These helpers read just enough of the frame, with the wire
 * profile's strictness, to answer as the SPEC orders. */
#ifndef PANPD_RAWSCAN_H
#define PANPD_RAWSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct raw_field {
    uint32_t number;
    unsigned wire_type;
    uint64_t value;      /* varint fields */
    const uint8_t *data; /* length-delimited fields */
    size_t len;
} raw_field;

/* Calls fn for every field of one message level; false when that level is
 * malformed (SPEC 6.2 rows 1 to 6) or fn returns false. */
typedef bool (*raw_fn)(const raw_field *f, void *arg);
bool raw_walk(const uint8_t *msg, size_t len, raw_fn fn, void *arg);

typedef struct raw_frame {
    bool well_formed;   /* the Frame's own level: no malformation, at most one body */
    uint64_t request_id;
    uint32_t body;      /* the known body's field number, 0 if none */
    const uint8_t *body_data;
    size_t body_len;
} raw_frame;

void raw_frame_scan(const uint8_t *buf, size_t len, raw_frame *out);
bool raw_broker_accepts(uint32_t body);
/* A varint field of a message level, or `dflt` when absent. */
uint64_t raw_uint(const uint8_t *msg, size_t len, uint32_t number, uint64_t dflt);
/* A length-delimited field: true when present (data/len set). */
bool raw_bytes(const uint8_t *msg, size_t len, uint32_t number, const uint8_t **data, size_t *dlen);

#endif
