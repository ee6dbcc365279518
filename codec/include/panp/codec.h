/* panp/codec.h - encode, decode, validate and frame panp.v1 messages.
 *
 * One API over two backends: protobuf-c on hosts (heap, bounded per frame)
 * and nanopb on devices (static, no heap).  Every decoded frame passes the
 * same strict validator, so both backends accept exactly the same inputs and
 * report the same error code for every rejected one (SPEC.md, "Wire
 * profile").  No function keeps global mutable state; every object belongs
 * to its caller and may be used from one thread at a time.
 */
#ifndef PANP_CODEC_H
#define PANP_CODEC_H

#include "panp/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An error as a value: a SPEC error code, the byte offset in the input when
 * it is known (or SIZE_MAX), the request id when the frame got far enough
 * for it to be read (0 otherwise), and a message naming the field, for
 * example "register.notification_type: want 16 bytes, got 3". */
typedef struct panp_status {
    panp_error_code code; /* PANP_ERR_UNSPECIFIED (0) means success */
    size_t offset;
    uint64_t request_id;
    char field[64];
    char message[192];
} panp_status;

static inline bool panp_status_ok(const panp_status *st) { return st->code == PANP_ERR_UNSPECIFIED; }

typedef enum {
    PANP_BACKEND_PROTOBUF_C = 1, /* hosts */
    PANP_BACKEND_NANOPB = 2      /* devices */
} panp_backend;

/* Which end is decoding: the validator accepts unknown values of the enums
 * a broker emits only when a client decodes (forward compatibility), and
 * checks that the body is one the receiver's role accepts. */
typedef enum {
    PANP_PEER_BROKER = 1, /* frames a broker receives (client -> broker) */
    PANP_PEER_CLIENT = 2, /* frames a client receives (broker -> client) */
    PANP_PEER_ANY = 3     /* tools and tests: role check off, enums strict */
} panp_peer;

typedef struct panp_decode_opts {
    panp_backend backend;
    panp_peer peer;
    uint32_t max_frame_size; /* 0: PANP_DEFAULT_MAX_FRAME */
} panp_decode_opts;

/* Decodes one Frame (without its length prefix).  On success *out is a
 * frame the caller owns and releases with panp_frame_free().  On failure
 * *out is NULL and st says why.  Returns st->code. */
panp_error_code panp_decode(const panp_decode_opts *opts, const uint8_t *buf, size_t len,
                            panp_frame **out, panp_status *st);
void panp_frame_free(panp_frame *frame);

/* Checks a frame view against the SPEC's field rules (the part of the
 * validator that does not need the raw bytes).  panp_decode() already ran
 * it; encoders run it too so we never emit what we would reject. */
panp_error_code panp_validate(const panp_frame *frame, panp_peer peer, uint32_t max_frame_size,
                              panp_status *st);

/* Encodes a frame (without length prefix) in canonical form.  With buf NULL
 * or cap too small, nothing is written, *needed gets the exact size and
 * the result is PANP_ERR_RESOURCE_EXHAUSTED.  Invalid frames are refused
 * with the validator's error. */
panp_error_code panp_encode(panp_backend backend, const panp_frame *frame, uint8_t *buf,
                            size_t cap, size_t *needed, panp_status *st);

/* Same, with the varint length prefix in front: ready for the wire. */
panp_error_code panp_encode_delimited(panp_backend backend, const panp_frame *frame, uint8_t *buf,
                                      size_t cap, size_t *needed, panp_status *st);

/* ---- Caller-provided storage (no heap: devices, or a reused buffer) ------
 * panp_decode() allocates one block per frame.  panp_decode_into() decodes
 * into storage the caller provides instead: the view in *out then points
 * into storage only, lives as long as it, and is never passed to
 * panp_frame_free().  storage must be aligned for any object
 * (alignof(max_align_t)); too little of it is PANP_ERR_RESOURCE_EXHAUSTED.
 *
 * How much: with nanopb, a fixed size per body kind (the body's nanopb
 * struct, sized by panp.options, plus the view's arrays); with protobuf-c, a
 * bound proportional to the frame length (its arena).  kind PANP_BODY_NONE
 * gives the largest size over every kind. */
size_t panp_decode_storage_size(panp_backend backend, panp_body_kind kind, size_t frame_len);
panp_error_code panp_decode_into(const panp_decode_opts *opts, const uint8_t *buf, size_t len,
                                 void *storage, size_t storage_size, panp_frame *out,
                                 panp_status *st);

/* nanopb encodes from its own struct, which panp_encode() allocates on the
 * heap; these let the caller provide it instead.  protobuf-c needs none
 * (size 0; it builds its structs on the stack). */
size_t panp_encode_storage_size(panp_backend backend, panp_body_kind kind);
panp_error_code panp_encode_with_storage(panp_backend backend, const panp_frame *frame,
                                         uint8_t *buf, size_t cap, size_t *needed,
                                         void *storage, size_t storage_size, panp_status *st);

/* Varint helpers for the length prefix. */
size_t panp_varint_size(uint64_t v);
size_t panp_varint_put(uint8_t *dst, uint64_t v); /* dst needs 10 bytes */

/* ---- Streaming framer --------------------------------------------------
 * Feed it bytes in chunks of any size (one at a time works); it yields
 * whole frame bodies.  It checks each length prefix (minimal, at most 5
 * bytes, within max_frame_size) before buffering any of the body, so an
 * oversized frame costs no memory.  After an error it stays failed. */
typedef struct panp_framer panp_framer;

panp_framer *panp_framer_new(uint32_t max_frame_size, bool expect_preface);
void panp_framer_free(panp_framer *fr);
/* The same framer in caller-provided storage (no heap; aligned like
 * panp_decode_into()'s, else NULL): frames larger than the storage holds
 * are FRAME_TOO_LARGE whatever the max says.  panp_framer_free() on it
 * releases nothing. */
size_t panp_framer_storage_size(uint32_t max_frame_size);
panp_framer *panp_framer_init(void *storage, size_t storage_size, uint32_t max_frame_size,
                              bool expect_preface);
void panp_framer_set_max(panp_framer *fr, uint32_t max_frame_size);

typedef enum {
    PANP_FRAMER_NEED_MORE = 0, /* everything fed was consumed; feed more */
    PANP_FRAMER_FRAME = 1,     /* *frame, *frame_len: one whole body */
    PANP_FRAMER_ERROR = 2      /* st says why; offset is in the stream */
} panp_framer_result;

/* Consumes up to len bytes from data (*used says how many) and stops after
 * the first complete frame.  The frame bytes stay valid until the next
 * call.  Call again with the rest of the input until NEED_MORE. */
panp_framer_result panp_framer_feed(panp_framer *fr, const uint8_t *data, size_t len, size_t *used,
                                    const uint8_t **frame, size_t *frame_len, panp_status *st);

/* ---- UUID helpers -------------------------------------------------------*/
/* "ba9a5027-a70e-4ae7-9b7d-eb3e06ad4157" <-> 16 bytes.  Parsing accepts
 * either case, nothing else. */
bool panp_uuid_parse(const char *text, uint8_t out[PANP_UUID_LEN]);
void panp_uuid_format(const uint8_t uuid[PANP_UUID_LEN], char out[37]);
bool panp_bytes_is_uuid(panp_bytes b, const uint8_t uuid[PANP_UUID_LEN]);

/* Fills every member of st (request_id = 0); the message reads
 * "<field>: <formatted text>" when field is non-empty.  st may be NULL.
 * Returns code. */
panp_error_code panp_status_set(panp_status *st, panp_error_code code, size_t offset,
                                const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#ifdef __cplusplus
}
#endif

#endif /* PANP_CODEC_H */
