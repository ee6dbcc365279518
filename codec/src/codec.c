/* codec.c - the public decode/encode/validate entry points: run the wire
 * scanner, hand the frame to the chosen backend, run the validator.
 *
 * The order is the point: the scanner sees the bytes before any runtime
 * does, so both backends only ever decode frames the wire profile accepts,
 * and the validator sees the view after, so both apply the same semantic
 * rules to the same view.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fastpath.h"
#include "size.h"
#include "status.h"
#include "validate.h"
#include "wire.h"

/* One heap block per decoded frame; the frame comes first so that
 * panp_frame_free() can find the block from the frame pointer. */
typedef struct decoded {
    panp_frame frame;
    arena_chunk *chunks; /* protobuf-c arena overflow, if any */
    max_align_t storage[];
} decoded;

size_t panp_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t panp_varint_put(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

static void status_ok(panp_status *st, uint64_t request_id)
{
    st->code = PANP_ERR_UNSPECIFIED;
    st->offset = SIZE_MAX;
    st->request_id = request_id;
    st->field[0] = '\0';
    st->message[0] = '\0';
}

static panp_decode_opts resolve(const panp_decode_opts *opts)
{
    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_ANY, PANP_DEFAULT_MAX_FRAME};
    if (opts)
        o = *opts;
    if (o.max_frame_size == 0)
        o.max_frame_size = PANP_DEFAULT_MAX_FRAME;
    return o;
}

static bool backend_ok(panp_backend b)
{
#ifdef PANP_NO_PROTOBUF_C
    return b == PANP_BACKEND_NANOPB;
#else
    return b == PANP_BACKEND_PROTOBUF_C || b == PANP_BACKEND_NANOPB;
#endif
}

/* The checks before any backend runs: arguments, size, wire profile. */
static panp_error_code precheck(const panp_decode_opts *o, panp_phase phase, const uint8_t *buf,
                                size_t len, wire_info *wi, panp_status *st)
{
    if (!backend_ok(o->backend))
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "backend %d not built",
                               (int)o->backend);
    if (!buf && len)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "NULL buffer");
    if (len > o->max_frame_size) /* SPEC 19.1: no field; the body is not read */
        return panp_status_set(st, PANP_ERR_FRAME_TOO_LARGE, 0, "",
                               "frame of %zu bytes exceeds the limit of %u", len,
                               (unsigned)o->max_frame_size);
    return wire_scan(len ? buf : (const uint8_t *)"", len, o->peer, phase, wi, st);
}

/* Backend decode + semantic validation into given storage. */
static panp_error_code decode_scanned(const panp_decode_opts *o, const uint8_t *buf,
                                      const wire_info *wi, void *storage, size_t size,
                                      size_t heap_budget, arena_chunk **chunks, panp_frame *out,
                                      panp_status *st)
{
    panp_error_code rc;
    if (wi->goodbye_sanitized) {
        /* A broker's Goodbye whose fields no runtime holds (see wire.h). */
        (void)storage, (void)size, (void)heap_budget;
        *chunks = NULL;
        memset(out, 0, sizeof *out);
        out->request_id = wi->request_id;
        out->kind = PANP_BODY_GOODBYE;
        out->body.goodbye.reason = (panp_goodbye_reason)wi->goodbye_reason;
        out->body.goodbye.message = "";
        return PANP_ERR_UNSPECIFIED;
    }
#ifndef PANP_NO_PROTOBUF_C
    if (o->backend == PANP_BACKEND_PROTOBUF_C) {
        arena a;
        arena_init(&a, storage, size, heap_budget);
        rc = pbc_decode(buf, wi, &a, out, st);
        *chunks = a.chunks;
    } else
#endif
    {
        (void)heap_budget;
        *chunks = NULL;
        rc = npb_decode(buf, wi, storage, size, out, st);
    }
    if (!rc)
        rc = validate_view(out, o->peer, VM_RECEIVED, st);
    if (rc)
        st->request_id = wi->request_id;
    return rc;
}

size_t panp_decode_storage_size(panp_backend backend, panp_body_kind kind, size_t frame_len)
{
#ifndef PANP_NO_PROTOBUF_C
    if (backend == PANP_BACKEND_PROTOBUF_C)
        return pbc_storage_size(frame_len) + pbc_heap_budget(frame_len);
#endif
    (void)frame_len;
    return backend == PANP_BACKEND_NANOPB ? npb_decode_storage_size(kind) : 0;
}

panp_error_code panp_decode_into(const panp_decode_opts *opts, const uint8_t *buf, size_t len,
                                 void *storage, size_t storage_size, panp_frame *out,
                                 panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local;
    panp_decode_opts o = resolve(opts);
    wire_info wi;
    panp_error_code rc = precheck(&o, PANP_PHASE_NONE, buf, len, &wi, st);
    if (rc)
        return rc;
    arena_chunk *chunks;
    rc = decode_scanned(&o, buf, &wi, storage, storage_size, 0, &chunks, out, st);
    if (!rc)
        status_ok(st, wi.request_id);
    return rc;
}

panp_error_code panp_decode(const panp_decode_opts *opts, const uint8_t *buf, size_t len,
                            panp_frame **out, panp_status *st)
{
    return panp_decode_received(opts, PANP_PHASE_NONE, buf, len, out, st);
}

panp_error_code panp_decode_received(const panp_decode_opts *opts, panp_phase phase,
                                     const uint8_t *buf, size_t len, panp_frame **out,
                                     panp_status *st)
{
#ifdef PANP_FASTPATH
    if (codec_decode_fast(opts, phase, buf, len, out, st))
        return PANP_ERR_UNSPECIFIED;
#endif
    return codec_decode_full(opts, phase, buf, len, out, st);
}

#ifdef PANP_FASTPATH
/* Only what the full path would take through its first checks (backend,
 * buffer, size) reaches the fast path, so those errors stay the full
 * path's. */
bool codec_decode_fast(const panp_decode_opts *opts, panp_phase phase, const uint8_t *buf,
                       size_t len, panp_frame **out, panp_status *st)
{
    panp_decode_opts o = resolve(opts);
    fastpath_frame ff;
    if (!backend_ok(o.backend) || !buf || len > o.max_frame_size ||
        !fastpath_scan(buf, len, o.peer, phase, &ff))
        return false;
    decoded *d = malloc(sizeof *d + ff.storage);
    if (!d) /* the full path reports it */
        return false;
    d->chunks = NULL;
    fastpath_build(&ff, (uint8_t *)d->storage, &d->frame);
    if (st)
        status_ok(st, d->frame.request_id);
    *out = &d->frame;
    return true;
}
#endif

panp_error_code codec_decode_full(const panp_decode_opts *opts, panp_phase phase,
                                  const uint8_t *buf, size_t len, panp_frame **out,
                                  panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local;
    *out = NULL;
    panp_decode_opts o = resolve(opts);
    wire_info wi;
    panp_error_code rc = precheck(&o, phase, buf, len, &wi, st);
    if (rc)
        return rc;
    size_t size = 0, budget = 0;
#ifndef PANP_NO_PROTOBUF_C
    if (o.backend == PANP_BACKEND_PROTOBUF_C) {
        size = pbc_storage_size(len);
        budget = pbc_heap_budget(len);
    } else
#endif
        size = npb_decode_storage_size(wi.kind);
    decoded *d = malloc(sizeof *d + size);
    if (!d)
        return panp_status_set(st, PANP_ERR_RESOURCE_EXHAUSTED, SIZE_MAX, "frame",
                               "no memory for a %zu-byte frame", len);
    rc = decode_scanned(&o, buf, &wi, d->storage, size, budget, &d->chunks, &d->frame, st);
    if (rc) {
        panp_frame_free(&d->frame);
        return rc;
    }
    status_ok(st, wi.request_id);
    *out = &d->frame;
    return PANP_ERR_UNSPECIFIED;
}

void panp_frame_free(panp_frame *frame)
{
    if (!frame)
        return;
    decoded *d = (decoded *)frame;
#ifndef PANP_NO_PROTOBUF_C
    arena_release(d->chunks);
#endif
    free(d);
}

/* ---- encode --------------------------------------------------------------*/

static panp_error_code validate_for_encode(const panp_frame *f, panp_status *st)
{
    panp_error_code rc = validate_role(f, PANP_PEER_ANY, st);
    return rc ? rc : validate_view(f, validate_encode_peer(f->kind), VM_EMITTING, st);
}

/* The size comes from the view (size.c); the backend then writes exactly
 * that many bytes and checks its runtime agrees. */
static panp_error_code encode_impl(panp_backend backend, const panp_frame *f, uint8_t *buf,
                                   size_t cap, size_t *needed, void *storage, size_t size,
                                   bool delimited, panp_status *st)
{
    size_t body = view_size(f);
    size_t prefix = delimited ? panp_varint_size(body) : 0;
    *needed = prefix + body;
    if (!buf || cap < *needed)
        return panp_status_short_buffer(st, f->request_id);
    if (delimited)
        panp_varint_put(buf, body);
    panp_error_code rc;
#ifndef PANP_NO_PROTOBUF_C
    if (backend == PANP_BACKEND_PROTOBUF_C)
        rc = pbc_encode(f, buf + prefix, body, st);
    else
#endif
        rc = npb_encode(f, buf + prefix, body, storage, size, st);
    (void)backend; /* only nanopb in device builds */
    if (!rc)
        status_ok(st, f->request_id);
    return rc;
}

/* Checks and validation common to every encode entry point. */
static panp_error_code encode_checks(panp_backend backend, const panp_frame *f, panp_status *st)
{
    if (!f)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "NULL frame");
    if (!backend_ok(backend))
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "backend %d not built",
                               (int)backend);
    return validate_for_encode(f, st);
}

/* The heap-using path lives apart from encode_with_storage(), so firmware
 * that never calls panp_encode() links no malloc. */
static panp_error_code encode_heap(panp_backend backend, const panp_frame *f, uint8_t *buf,
                                  size_t cap, size_t *needed, bool delimited, panp_status *st)
{
    panp_status local;
    size_t dummy;
    if (!st)
        st = &local;
    if (!needed)
        needed = &dummy;
    *needed = 0;
    panp_error_code rc = encode_checks(backend, f, st);
    if (rc)
        return rc;
    size_t total = view_size(f);
    total += delimited ? panp_varint_size(total) : 0;
    bool sizing = !buf || cap < total; /* answered without nanopb's struct */
    if (backend != PANP_BACKEND_NANOPB || sizing)
        return encode_impl(backend, f, buf, cap, needed, NULL, 0, delimited, st);
    size_t size = npb_encode_storage_size(f->kind);
    void *storage = malloc(size);
    if (!storage)
        return panp_status_set(st, PANP_ERR_RESOURCE_EXHAUSTED, SIZE_MAX, "frame",
                               "no memory for nanopb's %zu-byte struct", size);
    rc = encode_impl(backend, f, buf, cap, needed, storage, size, delimited, st);
    free(storage);
    return rc;
}

panp_error_code panp_encode(panp_backend backend, const panp_frame *frame, uint8_t *buf,
                            size_t cap, size_t *needed, panp_status *st)
{
    return encode_heap(backend, frame, buf, cap, needed, false, st);
}

panp_error_code panp_encode_delimited(panp_backend backend, const panp_frame *frame, uint8_t *buf,
                                      size_t cap, size_t *needed, panp_status *st)
{
    return encode_heap(backend, frame, buf, cap, needed, true, st);
}

size_t panp_encode_storage_size(panp_backend backend, panp_body_kind kind)
{
    return backend == PANP_BACKEND_NANOPB ? npb_encode_storage_size(kind) : 0;
}

panp_error_code panp_encode_with_storage(panp_backend backend, const panp_frame *frame,
                                         uint8_t *buf, size_t cap, size_t *needed,
                                         void *storage, size_t storage_size, panp_status *st)
{
    panp_status local;
    size_t dummy;
    if (!st)
        st = &local;
    if (!needed)
        needed = &dummy;
    *needed = 0;
    panp_error_code rc = encode_checks(backend, frame, st);
    return rc ? rc
              : encode_impl(backend, frame, buf, cap, needed, storage, storage_size, false, st);
}

/* ---- validate ------------------------------------------------------------*/

panp_error_code panp_validate(const panp_frame *frame, panp_peer peer, uint32_t max_frame_size,
                              panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local;
    if (!frame)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "NULL frame");
    panp_error_code rc = validate_role(frame, peer, st);
    if (!rc)
        rc = validate_view(frame, peer, VM_FIELD_RULES, st);
    if (rc) {
        st->request_id = frame->request_id;
        return rc;
    }
    if (max_frame_size) {
        size_t size = view_size(frame);
        if (size > max_frame_size) {
            panp_status_set(st, PANP_ERR_FRAME_TOO_LARGE, SIZE_MAX, "frame",
                            "frame of %zu bytes exceeds the limit of %u", size,
                            (unsigned)max_frame_size);
            st->request_id = frame->request_id;
            return PANP_ERR_FRAME_TOO_LARGE;
        }
    }
    status_ok(st, frame->request_id);
    return PANP_ERR_UNSPECIFIED;
}

panp_error_code panp_validate_received(const panp_frame *frame, panp_peer peer, panp_phase phase,
                                       panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local;
    if (!frame)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "NULL frame");
    panp_error_code rc = validate_role(frame, peer, st);
    if (rc) {
        st->request_id = frame->request_id;
        return rc;
    }
    if ((rc = wire_frame_checks(frame->kind, frame->request_id, peer, phase, st)))
        return rc;
    if ((rc = validate_view(frame, peer, VM_FIELD_RULES, st))) {
        st->request_id = frame->request_id;
        return rc;
    }
    status_ok(st, frame->request_id);
    return PANP_ERR_UNSPECIFIED;
}
