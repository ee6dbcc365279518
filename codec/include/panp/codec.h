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
 * it is known (or SIZE_MAX), a request id, and a message naming the field,
 * for example "register.notification_type: want 16 bytes, got 3".
 *
 * panp_decode() fills it with what a broker answers (SPEC 6.5, 7.3, 19):
 * code, field (SPEC 19.3 syntax) and request_id are those of the Error a
 * broker sends for the frame, so a broker forwards the status as its Error
 * without looking at the bytes again: request_id is 0 for a malformed
 * encoding (SPEC ERR-8) and otherwise the frame's.  Whether that Error is
 * fatal is the broker's to say: PROTOCOL_VIOLATION always, anything while
 * the Hello is being answered (SPEC 19.1). */
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

/* Where on its connection the receiver is (SPEC 7.2, 7.6), for the checks
 * that depend on it (panp_decode_received(), panp_validate_received()).
 * PANP_PHASE_NONE: no connection (what panp_decode() does): neither the
 * state nor the request id is checked. */
typedef enum {
    PANP_PHASE_NONE = 0,
    PANP_PHASE_HANDSHAKE = 1, /* before Welcome: a broker takes only Hello; a client only
                                 Welcome, Error and Goodbye */
    PANP_PHASE_READY = 2      /* after Welcome: no Hello (broker), no Welcome (client) */
} panp_phase;

typedef struct panp_decode_opts {
    panp_backend backend;
    panp_peer peer;
    uint32_t max_frame_size; /* 0: PANP_DEFAULT_MAX_FRAME */
} panp_decode_opts;

/* Decodes one Frame (without its length prefix).  On success *out is a
 * frame the caller owns and releases with panp_frame_free().  On failure
 * *out is NULL and st says why.  Returns st->code.
 *
 * Checks run in the order of SPEC 6.5 and the first failure is reported:
 * the size (FRAME_TOO_LARGE, request_id 0); malformed encoding anywhere in
 * the frame (PROTOCOL_VIOLATION, request_id 0); no body, then a body the
 * peer's role never accepts (PROTOCOL_VIOLATION, the frame's request_id);
 * then every field rule in field-number order, depth first (Hello's order
 * is SPEC 7.3's).  panp_decode_received() adds the checks of the
 * receiver's connection between the role and the field rules.  Rules that need the broker's state
 * are not the codec's: an id of 0 is looked up like any other (SPEC 10.2)
 * and NOTIFICATION_RELEASE in Send, Reply or a close reason is compared with
 * the channel's type (SPEC 14.1).  A broker takes any well-formed Goodbye
 * (SPEC 7.5): with PANP_PEER_BROKER its fields are not checked, and a reason
 * or message that breaks a rule arrives as 0 (reason beyond int32) and "". */
panp_error_code panp_decode(const panp_decode_opts *opts, const uint8_t *buf, size_t len,
                            panp_frame **out, panp_status *st);
void panp_frame_free(panp_frame *frame);

/* panp_decode() for a frame received on a connection in that phase: a body
 * the phase does not accept (SPEC 7.2, 7.6: PROTOCOL_VIOLATION, the frame's
 * request_id), then, for PANP_PEER_BROKER, request_id 0 on a request (SPEC
 * 7.4: INVALID_ARGUMENT, frame.request_id, request_id 0) come before the
 * field rules (SPEC 6.5 steps 3 and 4).  The status is then exactly the
 * Error a broker answers. */
panp_error_code panp_decode_received(const panp_decode_opts *opts, panp_phase phase,
                                     const uint8_t *buf, size_t len, panp_frame **out,
                                     panp_status *st);

/* Checks a frame view against the SPEC's field rules (the part of the
 * validator that does not need the raw bytes).  panp_decode() already ran
 * it; encoders run it too so we never emit what we would reject. */
panp_error_code panp_validate(const panp_frame *frame, panp_peer peer, uint32_t max_frame_size,
                              panp_status *st);

/* What panp_decode_received() with this peer and phase answers for the
 * bytes of this view (its canonical encoding), size aside: for frames that
 * reach a receiver decoded (tests, fuzzers, in-process peers). */
panp_error_code panp_validate_received(const panp_frame *frame, panp_peer peer, panp_phase phase,
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

/* ---- Encode-once fan-out (SPEC 15.2) ------------------------------------
 * A broker sends one Notify per listener of a Send; only fields 1 to 3
 * (registration, conversation_id, client_state) differ, and canonical form
 * writes them first.  panp_notify_encode_shared() writes fields 4 to 10 of
 * n once; panp_notify_encode_head() writes, per listener, the length
 * prefix, the Frame's notify tag and length and fields 1 to 3 of its n.
 * head followed by shared is byte for byte panp_encode_delimited() of the
 * Frame {notify: n} (request_id 0: a Notify is an event).  Each validates
 * its own fields as panp_encode() does (the head also checks
 * conversation_id against n->style); buffer rules as panp_encode().  Both
 * write the canonical form themselves: no backend, no heap. */
#define PANP_NOTIFY_PREFIX_MAX (5 + 1 + 5)
#define PANP_NOTIFY_FIELDS_MAX ((2 + PANP_HANDLE_MAX_LEN) + (1 + 10) + (3 + PANP_CLIENT_STATE_MAX))
#define PANP_NOTIFY_HEAD_MAX (PANP_NOTIFY_PREFIX_MAX + PANP_NOTIFY_FIELDS_MAX)
panp_error_code panp_notify_encode_shared(const panp_notify *n, uint8_t *buf, size_t cap,
                                          size_t *needed, panp_status *st);
panp_error_code panp_notify_encode_head(const panp_notify *n, size_t shared_len, uint8_t *buf,
                                        size_t cap, size_t *needed, panp_status *st);
/* The Frame's size without its length prefix (what max_frame_size limits)
 * for n's fields 1 to 3 in front of shared_len bytes of shared part. */
size_t panp_notify_frame_size(const panp_notify *n, size_t shared_len);
/* The head again, split for a broker that keeps each listener's part:
 * panp_notify_encode_fields() validates and writes fields 1 to 3 alone, once
 * for a registration's or a conversation's life (at most
 * PANP_NOTIFY_FIELDS_MAX bytes); panp_notify_prefix() writes, per delivery,
 * the length prefix and the Frame's notify tag and length in front of
 * fields_len + shared_len bytes (at most PANP_NOTIFY_PREFIX_MAX), returns how
 * many, and sets *frame_len (if not NULL) as panp_notify_frame_size() does.
 * prefix + fields + shared is byte for byte head + shared. */
panp_error_code panp_notify_encode_fields(const panp_notify *n, uint8_t *buf, size_t cap,
                                          size_t *needed, panp_status *st);
size_t panp_notify_prefix(size_t fields_len, size_t shared_len, uint8_t *buf, size_t *frame_len);
/* The broker's other frame per Send: Sent {sequence, recipients} with its
 * request id, length-prefixed, byte for byte what panp_encode_delimited()
 * writes for it (sequence >= 1, as every Sent has; nothing can fail).  buf needs
 * PANP_SENT_MAX bytes; returns how many were written. */
#define PANP_SENT_MAX (1 + (1 + 10) + (1 + 1) + (1 + 10) + (1 + 5))
size_t panp_sent_encode(uint64_t request_id, uint64_t sequence, uint32_t recipients, uint8_t *buf);

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
