/* notify.c - the frames of a Send's fan-out written straight to bytes:
 * each listener's Notify, encoded once per Send and once per listener
 * (SPEC 15.2; see codec.h), and the Sent response.
 *
 * A Notify's per-listener fields (registration = 1, conversation_id = 2,
 * client_state = 3) come first in canonical order, so a listener's frame is
 *
 *   varint(frame_len) 12 varint(notify_len) [fields 1..3] [fields 4..10]
 *
 * The two parts are written here directly in canonical form (the rules of
 * size.c): no backend struct, no heap, nothing but the bytes.  test_api
 * proves head + shared, prefix + fields + shared and Sent equal both
 * backends' panp_encode_delimited().
 */
#include <string.h>

#include "panp/codec.h"
#include "status.h"
#include "validate.h"

typedef struct out {
    uint8_t *p;
} out;

static size_t tag_size(unsigned number)
{
    return panp_varint_size((uint64_t)number << 3);
}

static void put_varint(out *o, uint64_t v)
{
    o->p += panp_varint_put(o->p, v);
}

static void put_tag(out *o, unsigned number, unsigned wire_type)
{
    put_varint(o, (uint64_t)number << 3 | wire_type);
}

static void put_len(out *o, unsigned number, const void *data, size_t len)
{
    put_tag(o, number, 2);
    put_varint(o, len);
    if (len)
        memcpy(o->p, data, len);
    o->p += len;
}

static size_t len_size(unsigned number, size_t len)
{
    return tag_size(number) + panp_varint_size(len) + len;
}

/* Canonical proto3: zero scalars and empty strings/bytes are left out. */
static size_t u_size(unsigned number, uint64_t v)
{
    return v ? tag_size(number) + panp_varint_size(v) : 0;
}

static void put_u(out *o, unsigned number, uint64_t v)
{
    if (v) {
        put_tag(o, number, 0);
        put_varint(o, v);
    }
}

static size_t b_size(unsigned number, panp_bytes b)
{
    return b.len ? len_size(number, b.len) : 0;
}

static void put_b(out *o, unsigned number, panp_bytes b)
{
    if (b.len)
        put_len(o, number, b.data, b.len);
}

static size_t str_len(const char *s)
{
    return s ? strlen(s) : 0;
}

static size_t s_size(unsigned number, const char *s)
{
    size_t n = str_len(s);
    return n ? len_size(number, n) : 0;
}

static void put_s(out *o, unsigned number, const char *s)
{
    size_t n = str_len(s);
    if (n)
        put_len(o, number, s, n);
}

static size_t sender_size(const panp_sender_info *s)
{
    return s_size(1, s->user) + u_size(2, s->job_id) + s_size(3, s->job_owner);
}

/* Target: server is an empty submessage, printer a oneof member (written
 * even when empty, though the validator refuses that). */
static size_t target_inner(const panp_target *t)
{
    return t->kind == PANP_TARGET_SERVER ? len_size(1, 0) : len_size(2, str_len(t->printer));
}

static size_t shared_size(const panp_notify *n)
{
    size_t size = u_size(4, n->channel_id) + u_size(5, n->sequence) +
                  b_size(6, n->notification_type) + u_size(7, (uint64_t)(int64_t)n->style);
    if (n->has_sender)
        size += len_size(8, sender_size(&n->sender));
    if (n->target.kind == PANP_TARGET_SERVER || n->target.kind == PANP_TARGET_PRINTER)
        size += len_size(9, target_inner(&n->target));
    return size + b_size(10, n->payload);
}

static size_t head_fields_size(const panp_notify *n)
{
    return b_size(1, n->registration) + u_size(2, n->conversation_id) + b_size(3, n->client_state);
}

size_t panp_notify_frame_size(const panp_notify *n, size_t shared_len)
{
    size_t notify_len = head_fields_size(n) + shared_len;
    return tag_size(PANP_BODY_NOTIFY) + panp_varint_size(notify_len) + notify_len;
}

/* Size queries come once per Send and per delivery: no printf here. */
static panp_error_code short_buffer(panp_status *st)
{
    return panp_status_short_buffer(st, 0);
}

static panp_error_code ok(panp_status *st)
{
    if (st) {
        st->code = PANP_ERR_UNSPECIFIED;
        st->offset = SIZE_MAX;
        st->request_id = 0;
        st->field[0] = st->message[0] = '\0';
    }
    return PANP_ERR_UNSPECIFIED;
}

static void put_shared(out *o, const panp_notify *n)
{
    put_u(o, 4, n->channel_id);
    put_u(o, 5, n->sequence);
    put_b(o, 6, n->notification_type);
    put_u(o, 7, (uint64_t)(int64_t)n->style);
    if (n->has_sender) {
        put_tag(o, 8, 2);
        put_varint(o, sender_size(&n->sender));
        put_s(o, 1, n->sender.user);
        put_u(o, 2, n->sender.job_id);
        put_s(o, 3, n->sender.job_owner);
    }
    if (n->target.kind == PANP_TARGET_SERVER || n->target.kind == PANP_TARGET_PRINTER) {
        put_tag(o, 9, 2);
        put_varint(o, target_inner(&n->target));
        if (n->target.kind == PANP_TARGET_SERVER)
            put_len(o, 1, NULL, 0);
        else
            put_len(o, 2, n->target.printer, str_len(n->target.printer));
    }
    put_b(o, 10, n->payload);
}

static void put_fields(out *o, const panp_notify *n)
{
    put_b(o, 1, n->registration);
    put_u(o, 2, n->conversation_id);
    put_b(o, 3, n->client_state);
}

/* What both parts do: validate the part's own fields (head: 1-3 and the
 * conversation id against the style), size them, write them. */
static panp_error_code encode_part(const panp_notify *n, bool head, uint8_t *buf, size_t cap,
                                   size_t *needed, panp_status *st)
{
    size_t dummy;
    if (!needed)
        needed = &dummy;
    *needed = 0;
    if (!n)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "", "NULL notify");
    panp_error_code rc = validate_notify_part(n, head, st);
    if (rc)
        return rc;
    *needed = head ? head_fields_size(n) : shared_size(n);
    if (!buf || cap < *needed)
        return short_buffer(st);
    out o = {buf};
    if (head)
        put_fields(&o, n);
    else
        put_shared(&o, n);
    return (size_t)(o.p - buf) == *needed
               ? ok(st)
               : panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "notify", "size mismatch");
}

panp_error_code panp_notify_encode_shared(const panp_notify *n, uint8_t *buf, size_t cap,
                                          size_t *needed, panp_status *st)
{
    return encode_part(n, false, buf, cap, needed, st);
}

/* The three varints and tag in front of a listener's fields. */
size_t panp_notify_prefix(size_t fields_len, size_t shared_len, uint8_t *buf, size_t *frame_len)
{
    size_t notify_len = fields_len + shared_len;
    size_t flen = tag_size(PANP_BODY_NOTIFY) + panp_varint_size(notify_len) + notify_len;
    out o = {buf};
    put_varint(&o, flen);
    put_tag(&o, PANP_BODY_NOTIFY, 2);
    put_varint(&o, notify_len);
    if (frame_len)
        *frame_len = flen;
    return (size_t)(o.p - buf);
}

panp_error_code panp_notify_encode_fields(const panp_notify *n, uint8_t *buf, size_t cap,
                                          size_t *needed, panp_status *st)
{
    return encode_part(n, true, buf, cap, needed, st);
}

panp_error_code panp_notify_encode_head(const panp_notify *n, size_t shared_len, uint8_t *buf,
                                        size_t cap, size_t *needed, panp_status *st)
{
    size_t fields = 0, dummy;
    if (!needed)
        needed = &dummy;
    panp_error_code rc = panp_notify_encode_fields(n, NULL, 0, &fields, st);
    if (rc != PANP_ERR_RESOURCE_EXHAUSTED) {
        *needed = 0;
        return rc;
    }
    uint8_t prefix[PANP_NOTIFY_PREFIX_MAX];
    size_t plen = panp_notify_prefix(fields, shared_len, prefix, NULL);
    *needed = plen + fields;
    if (!buf || cap < *needed)
        return short_buffer(st);
    memcpy(buf, prefix, plen);
    return panp_notify_encode_fields(n, buf + plen, cap - plen, &fields, st);
}

/* Sent answers every Send: written here directly, like the Notify parts. */
size_t panp_sent_encode(uint64_t request_id, uint64_t sequence, uint32_t recipients, uint8_t *buf)
{
    size_t sent_len = u_size(1, sequence) + u_size(2, recipients);
    size_t frame_len = u_size(1, request_id) + len_size(PANP_BODY_SENT, sent_len);
    out o = {buf};
    put_varint(&o, frame_len);
    put_u(&o, 1, request_id);
    put_tag(&o, PANP_BODY_SENT, 2);
    put_varint(&o, sent_len);
    put_u(&o, 1, sequence);
    put_u(&o, 2, recipients);
    return (size_t)(o.p - buf);
}
