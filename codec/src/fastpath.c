/* fastpath.c - a received Notify in one pass (see fastpath.h).
 *
 * Kinds, limits, oneofs, required flags and message rules come from the
 * schema table, varints go through wire_varint() and strings through
 * text_check(), as in the wire scanner, so the two cannot disagree on a
 * limit.  What this file adds is the decision to give up on anything
 * outside the canonical common case; it never reports an error itself.
 */
#include <string.h>

#include "fastpath.h"
#include "schema.h"
#include "text.h"
#include "wire.h"

enum { WT_VARINT = 0, WT_LEN = 2 };

/* Per field of every Notify: inline, as in wire.c, except when optimising
 * for size. */
#ifdef __OPTIMIZE_SIZE__
#define HOT static inline
#else
#define HOT static inline __attribute__((always_inline))
#endif

/* Field numbers of panp.proto's Frame, Notify, SenderInfo and Target that
 * the view needs; test_schema ties the table to the proto. */
enum { FRAME_REQUEST_ID = 1 };
enum {
    N_REGISTRATION = 1,
    N_CONVERSATION_ID,
    N_CLIENT_STATE,
    N_CHANNEL_ID,
    N_SEQUENCE,
    N_NOTIFICATION_TYPE,
    N_STYLE,
    N_SENDER,
    N_TARGET,
    N_PAYLOAD
};
enum { S_USER = 1, S_JOB_ID, S_JOB_OWNER };
enum { T_SERVER = 1, T_PRINTER };

/* One message instance being read. */
typedef struct walk {
    const uint8_t *p, *end;
    const schema_msg *m;
    panp_peer peer;
    uint32_t last; /* the last field number read: canonical form only rises */
    uint32_t seen; /* bit n: field n read (one-byte tags: n <= 15) */
    bool oneof;    /* a member of the message's oneof was read */
} walk;

/* One field as read. */
typedef struct value {
    const schema_field *f;
    uint32_t number;
    uint64_t v;   /* varint fields */
    panp_bytes b; /* length-delimited fields */
} value;

static walk walk_of(const uint8_t *p, size_t len, const schema_msg *m, panp_peer peer)
{
    walk w = {p, p + len, m, peer, 0, 0, false};
    return w;
}

/* Varints of one and two bytes (tags, lengths up to 16383, small ids)
 * inline; the rest, and every non-minimal form, through the scanner's
 * reader. */
HOT bool read_varint(walk *w, uint64_t *v)
{
    const uint8_t *p = w->p;
    if (p < w->end && p[0] < 0x80) {
        *v = p[0];
        w->p = p + 1;
        return true;
    }
    if (w->end - p >= 2 && p[1] < 0x80 && p[1] != 0) {
        *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        w->p = p + 2;
        return true;
    }
    const char *why;
    size_t n = wire_varint(p, w->end, v, &why);
    w->p = p + n;
    return n != 0;
}

HOT bool read_span(walk *w, panp_bytes *b)
{
    uint64_t n;
    if (!read_varint(w, &n) || n > (uint64_t)(w->end - w->p))
        return false;
    b->data = w->p;
    b->len = (size_t)n;
    w->p += n;
    return true;
}

/* Plain ASCII without NUL needs no decoder (wire.c, check_string). */
static bool string_ok(const schema_field *f, panp_bytes b)
{
    if (b.len == 0 || b.len > f->max)
        return false;
    size_t i = 0;
    while (i < b.len && (uint8_t)(b.data[i] - 1) < 0x7f)
        i++;
    const char *why;
    return i == b.len || text_check(b.data, b.len, &why) == b.len;
}

/* Reads a field's value by its kind, with its wire type, and keeps only
 * what the full path takes as it is.  0 and empty values are defaults
 * written out, which canonical form never contains: the full path's to
 * judge.  Submessages are walked by the caller. */
HOT bool read_value(walk *w, const schema_field *f, unsigned wt, value *x)
{
    bool varint = wt == WT_VARINT, len = wt == WT_LEN;
    switch ((schema_kind)f->kind) {
    case SK_U64:
        return varint && read_varint(w, &x->v) && x->v != 0;
    case SK_U32:
        return varint && read_varint(w, &x->v) && x->v != 0 && x->v <= UINT32_MAX;
    case SK_BOOL:
        return varint && read_varint(w, &x->v) && x->v == 1;
    case SK_ENUM: /* a client takes values from newer brokers (SPEC 6.3) */
        return varint && read_varint(w, &x->v) && x->v != 0 &&
               (x->v <= f->max || (w->peer == PANP_PEER_CLIENT && x->v <= INT32_MAX));
    case SK_UUID:
        return len && read_span(w, &x->b) && x->b.len == PANP_UUID_LEN;
    case SK_HANDLE:
        return len && read_span(w, &x->b) && x->b.len >= PANP_HANDLE_MIN_LEN &&
               x->b.len <= PANP_HANDLE_MAX_LEN;
    case SK_BYTES:
        return len && read_span(w, &x->b) && x->b.len != 0 && x->b.len <= f->max;
    case SK_STRING:
        return len && read_span(w, &x->b) && string_ok(f, x->b);
    case SK_MSG:
        return len && read_span(w, &x->b);
    case SK_NONE:
        break;
    }
    return false;
}

/* Reads the next field of w (w->p < w->end); false at anything the fast
 * path leaves to the full path: a tag of more than one byte, a number not
 * above the last (out of order, or twice), an unknown or repeated field, a
 * wrong wire type, a second oneof member, a bad or default value. */
HOT bool next_value(walk *w, value *x)
{
    unsigned tag = *w->p++;
    uint32_t n = tag >> 3;
    if (tag >= 0x80 || n <= w->last || n > w->m->max_number)
        return false;
    const schema_field *f = &w->m->fields[n];
    if (f->flags & (SF_REPEATED | SF_ONEOF)) {
        if ((f->flags & SF_REPEATED) || w->oneof)
            return false;
        w->oneof = true;
    }
    w->last = n;
    w->seen |= 1u << n;
    x->f = f;
    x->number = n;
    return read_value(w, f, tag & 7, x);
}

/* The short walks (the Frame's level, sender, target) share one copy. */
static __attribute__((noinline)) bool next_value_small(walk *w, value *x)
{
    return next_value(w, x);
}

/* Only the fields not seen are looked up: a Notify misses two or three. */
static bool required_seen(const walk *w)
{
    uint32_t all = (2u << w->m->max_number) - 2u; /* bits 1..max_number */
    for (uint32_t missing = all & ~w->seen; missing; missing &= missing - 1)
        if (w->m->fields[__builtin_ctz(missing)].flags & SF_REQUIRED)
            return false;
    return true;
}

/* The message's own rules (wire.c, message_rules), on what it held; a
 * rule this file does not know sends the frame to the full path. */
static bool rules_ok(const walk *w, const panp_notify *n)
{
    switch ((schema_rules)w->m->rules) {
    case SR_NONE:
        return true;
    case SR_TARGET: /* a member; a printer is never empty here (read_value) */
        return w->seen != 0;
    case SR_NOTIFY: /* a conversation id exactly when bidirectional */
        if (n->style == PANP_STYLE_BIDIRECTIONAL)
            return n->conversation_id != 0;
        if (n->style == PANP_STYLE_UNIDIRECTIONAL)
            return n->conversation_id == 0;
        return true;
    default:
        return false;
    }
}

static bool finish(const walk *w, const panp_notify *n)
{
    return required_seen(w) && rules_ok(w, n);
}

/* A submessage that must hold nothing (ServerTarget): anything in it is an
 * unknown field, which the full path skips. */
static bool empty_sub(const value *x, panp_peer peer)
{
    walk w = walk_of(x->b.data, x->b.len, x->f->sub, peer);
    return x->b.len == 0 && finish(&w, NULL);
}

static bool sender_in(const value *sx, panp_peer peer, fastpath_notify *fn)
{
    walk w = walk_of(sx->b.data, sx->b.len, sx->f->sub, peer);
    value x;
    while (w.p < w.end) {
        if (!next_value_small(&w, &x))
            return false;
        switch (x.number) {
        case S_USER:
            fn->user = x.b;
            break;
        case S_JOB_ID:
            fn->frame.body.notify.sender.job_id = (uint32_t)x.v;
            break;
        case S_JOB_OWNER:
            fn->job_owner = x.b;
            break;
        default: /* a field the schema gained: not known here */
            return false;
        }
    }
    fn->frame.body.notify.has_sender = true;
    return finish(&w, NULL);
}

static bool target_in(const value *tx, panp_peer peer, fastpath_notify *fn)
{
    walk w = walk_of(tx->b.data, tx->b.len, tx->f->sub, peer);
    panp_target *t = &fn->frame.body.notify.target;
    value x;
    while (w.p < w.end) {
        if (!next_value_small(&w, &x))
            return false;
        if (x.number == T_SERVER && empty_sub(&x, peer)) {
            t->kind = PANP_TARGET_SERVER;
        } else if (x.number == T_PRINTER) {
            t->kind = PANP_TARGET_PRINTER;
            fn->printer = x.b;
        } else {
            return false;
        }
    }
    return finish(&w, NULL);
}

static bool notify_field(const value *x, panp_peer peer, fastpath_notify *fn)
{
    panp_notify *n = &fn->frame.body.notify;
    switch (x->number) {
    case N_REGISTRATION:
        n->registration = x->b;
        return true;
    case N_CONVERSATION_ID:
        n->conversation_id = x->v;
        return true;
    case N_CLIENT_STATE:
        n->client_state = x->b;
        return true;
    case N_CHANNEL_ID:
        n->channel_id = x->v;
        return true;
    case N_SEQUENCE:
        n->sequence = x->v;
        return true;
    case N_NOTIFICATION_TYPE:
        n->notification_type = x->b;
        return true;
    case N_STYLE:
        n->style = (panp_style)x->v;
        return true;
    case N_SENDER:
        return sender_in(x, peer, fn);
    case N_TARGET:
        return target_in(x, peer, fn);
    case N_PAYLOAD:
        n->payload = x->b;
        return true;
    default:
        return false;
    }
}

static bool notify_body(panp_bytes body, panp_peer peer, fastpath_notify *fn)
{
    walk w = walk_of(body.data, body.len, schema_body(PANP_BODY_NOTIFY), peer);
    value x;
    while (w.p < w.end)
        if (!next_value(&w, &x) || !notify_field(&x, peer, fn))
            return false;
    return finish(&w, &fn->frame.body.notify);
}

/* The Frame's level: a request id, then the notify member, nothing else. */
static bool frame_level(const uint8_t *buf, size_t len, panp_peer peer, fastpath_notify *fn,
                        panp_bytes *body)
{
    walk w = walk_of(buf, len, &schema_frame, peer);
    value x;
    while (w.p < w.end) {
        if (!next_value_small(&w, &x))
            return false;
        if (x.number == FRAME_REQUEST_ID)
            fn->frame.request_id = x.v;
        else if (x.number == PANP_BODY_NOTIFY)
            *body = x.b;
        else
            return false;
    }
    return (w.seen >> PANP_BODY_NOTIFY) & 1u;
}

bool fastpath_notify_scan(const uint8_t *buf, size_t len, panp_peer peer, panp_phase phase,
                          fastpath_notify *fn)
{
    if (!schema_body_ok_for(PANP_BODY_NOTIFY, peer))
        return false;
    memset(fn, 0, sizeof *fn);
    panp_bytes body = {NULL, 0};
    if (!frame_level(buf, len, peer, fn, &body))
        return false;
    fn->frame.kind = PANP_BODY_NOTIFY;
    panp_status why_not; /* written only when the phase refuses a Notify */
    if (wire_frame_checks(PANP_BODY_NOTIFY, fn->frame.request_id, peer, phase, &why_not))
        return false;
    return notify_body(body, peer, fn);
}

size_t fastpath_notify_storage(const fastpath_notify *fn)
{
    const panp_notify *n = &fn->frame.body.notify;
    return n->registration.len + n->client_state.len + n->notification_type.len +
           n->payload.len + fn->user.len + fn->job_owner.len + fn->printer.len + 3;
}

/* Absent bytes stay {NULL, 0}, as both backends give them. */
static panp_bytes put_bytes(uint8_t **at, panp_bytes b)
{
    if (!b.len)
        return b;
    memcpy(*at, b.data, b.len);
    panp_bytes r = {*at, b.len};
    *at += b.len;
    return r;
}

static const char *put_string(uint8_t **at, panp_bytes s)
{
    if (!s.len)
        return "";
    char *r = (char *)*at;
    memcpy(r, s.data, s.len);
    r[s.len] = '\0';
    *at += s.len + 1;
    return r;
}

void fastpath_notify_build(const fastpath_notify *fn, uint8_t *storage, panp_frame *out)
{
    *out = fn->frame;
    panp_notify *n = &out->body.notify;
    uint8_t *at = storage;
    n->registration = put_bytes(&at, n->registration);
    n->client_state = put_bytes(&at, n->client_state);
    n->notification_type = put_bytes(&at, n->notification_type);
    n->payload = put_bytes(&at, n->payload);
    n->sender.user = put_string(&at, fn->user);
    n->sender.job_owner = put_string(&at, fn->job_owner);
    n->target.printer = put_string(&at, fn->printer);
}
