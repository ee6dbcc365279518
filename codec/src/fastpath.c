/* fastpath.c - a received Notify or Send in one pass (see fastpath.h).
 *
 * Kinds, limits, oneofs, required flags and message rules come from the
 * schema table, varints go through wire_varint() and strings through
 * text_check(), as in the wire scanner, so the two cannot disagree on a
 * limit.  What this file adds is where each field lands in the view (the
 * view maps below) and the decision to give up on anything outside the
 * canonical common case; it never reports an error itself.
 */
#include <string.h>

#include "fastpath.h"
#include "schema.h"
#include "text.h"
#include "wire.h"

enum { WT_VARINT = 0, WT_LEN = 2 };

/* Per field of every frame taken: inline, as in wire.c, except when
 * optimising for size. */
#ifdef __OPTIMIZE_SIZE__
#define HOT static inline
#else
#define HOT static inline __attribute__((always_inline))
#endif

/* ---- where values land in the view ---------------------------------------- */

typedef struct view_map view_map;

/* One field's place in its message's view struct.  What lies there follows
 * from the field's schema kind: uint64_t, uint32_t, bool, an enum (an int,
 * asserted below), panp_bytes (bytes, UUIDs, handles), a NUL-terminated
 * const char * (strings), or the submessage's own view struct. */
typedef struct dest {
    uint8_t flags;       /* D_* */
    uint8_t member;      /* a oneof member: the value the map's oneof kind takes */
    uint16_t off;        /* the value */
    uint16_t has;        /* D_HAS: the bool saying the submessage was present */
    const view_map *sub; /* submessages */
} dest;

enum {
    D_TAKEN = 1u << 0, /* the fast path knows where the field goes; else it gives up */
    D_HAS = 1u << 1
};

_Static_assert(sizeof(panp_style) == sizeof(int) && sizeof(panp_target_kind) == sizeof(int) &&
                   sizeof(panp_user_filter) == sizeof(int),
               "view enums and oneof kinds are written as int");

/* A message's fields by number; one-byte tags stop at field 15. */
struct view_map {
    uint16_t oneof;    /* the kind naming the member read (members only) */
    const void *blank; /* bodies: the view of an empty body, as the backends give it */
    size_t blank_size;
    dest fields[16];
};

#define AT(type, field) {.flags = D_TAKEN, .off = offsetof(type, field)}
#define MEMBER(value, type, field, map) \
    {.flags = D_TAKEN, .member = (value), .off = offsetof(type, field), .sub = (map)}
#define SUB(type, field, map) {.flags = D_TAKEN, .off = offsetof(type, field), .sub = &(map)}
#define SUB_HAS(type, field, has_field, map)                                        \
    {.flags = D_TAKEN | D_HAS, .off = offsetof(type, field), .has = offsetof(type, has_field), \
     .sub = &(map)}

/* Field numbers of panp.proto's messages; a wrong one shows as a view the
 * full path does not build (test_fastpath). */
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
enum { SEND_CHANNEL_ID = 1, SEND_NOTIFICATION_TYPE, SEND_PAYLOAD };

/* ServerTarget holds nothing (anything in it goes to the full path), so
 * its view is none: only the member's kind is written. */
static const view_map server_map = {0};

static const view_map target_map = {
    .oneof = offsetof(panp_target, kind),
    .fields = {[T_SERVER] = MEMBER(PANP_TARGET_SERVER, panp_target, kind, &server_map),
               [T_PRINTER] = MEMBER(PANP_TARGET_PRINTER, panp_target, printer, NULL)}};

static const view_map sender_map = {.fields = {[S_USER] = AT(panp_sender_info, user),
                                               [S_JOB_ID] = AT(panp_sender_info, job_id),
                                               [S_JOB_OWNER] = AT(panp_sender_info, job_owner)}};

static const panp_notify notify_blank = {.sender = {"", 0, ""}, .target = {.printer = ""}};

static const view_map notify_map = {
    .blank = &notify_blank,
    .blank_size = sizeof notify_blank,
    .fields = {[N_REGISTRATION] = AT(panp_notify, registration),
               [N_CONVERSATION_ID] = AT(panp_notify, conversation_id),
               [N_CLIENT_STATE] = AT(panp_notify, client_state),
               [N_CHANNEL_ID] = AT(panp_notify, channel_id),
               [N_SEQUENCE] = AT(panp_notify, sequence),
               [N_NOTIFICATION_TYPE] = AT(panp_notify, notification_type),
               [N_STYLE] = AT(panp_notify, style),
               [N_SENDER] = SUB_HAS(panp_notify, sender, has_sender, sender_map),
               [N_TARGET] = SUB(panp_notify, target, target_map),
               [N_PAYLOAD] = AT(panp_notify, payload)}};

static const panp_send send_blank = {0};

static const view_map send_map = {
    .blank = &send_blank,
    .blank_size = sizeof send_blank,
    .fields = {[SEND_CHANNEL_ID] = AT(panp_send, channel_id),
               [SEND_NOTIFICATION_TYPE] = AT(panp_send, notification_type),
               [SEND_PAYLOAD] = AT(panp_send, payload)}};

static const dest frame_request_id = AT(panp_frame, request_id);

/* The bodies the fast path takes: a client's Notify, a broker's Send. */
static const view_map *body_map(panp_body_kind kind)
{
    switch (kind) {
    case PANP_BODY_NOTIFY:
        return &notify_map;
    case PANP_BODY_SEND:
        return &send_map;
    default:
        return NULL;
    }
}

/* ---- reading ---------------------------------------------------------------- */

/* One message instance being read. */
typedef struct walk {
    const uint8_t *p, *end;
    const schema_msg *m;
    panp_peer peer;
    uint32_t last; /* the last field number read: canonical form only rises */
    uint32_t seen; /* bit n: field n read (one-byte tags: n <= 15) */
    bool oneof;    /* a member of the message's oneof was read */
} walk;

static walk walk_of(const uint8_t *p, size_t len, const schema_msg *m, panp_peer peer)
{
    walk w = {p, p + len, m, peer, 0, 0, false};
    return w;
}

/* Varints of one to three bytes (tags, lengths, the request ids of a
 * connection's first two million requests) inline, minimal form only (the
 * last byte not 0); the rest, and every non-minimal form, through the
 * scanner's reader. */
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
    if (w->end - p >= 3 && p[1] >= 0x80 && p[2] < 0x80 && p[2] != 0) {
        *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)(p[1] & 0x7f) << 7 | (uint64_t)p[2] << 14;
        w->p = p + 3;
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

/* The field a one-byte tag names, where canonical form has it; NULL at
 * anything the fast path leaves to the full path: a tag of more than one
 * byte, a number not above the last (out of order, or twice), an unknown
 * or repeated field, a second oneof member. */
HOT const schema_field *field_of(walk *w, unsigned tag)
{
    uint32_t n = tag >> 3;
    if (tag >= 0x80 || n <= w->last || n > w->m->max_number)
        return NULL;
    const schema_field *f = &w->m->fields[n];
    if (f->flags & (SF_REPEATED | SF_ONEOF)) {
        if ((f->flags & SF_REPEATED) || w->oneof)
            return NULL;
        w->oneof = true;
    }
    w->last = n;
    w->seen |= 1u << n;
    return f;
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

/* The message's own rules (wire.c, message_rules), on what it held (view,
 * its view struct); a rule this file does not know sends the frame to the
 * full path. */
static bool rules_ok(const walk *w, const void *view)
{
    switch ((schema_rules)w->m->rules) {
    case SR_NONE:
        return true;
    case SR_TARGET: /* a member; a printer is never empty here (take) */
        return w->seen != 0;
    case SR_NOTIFY: { /* a conversation id exactly when bidirectional */
        const panp_notify *n = view;
        if (n->style == PANP_STYLE_BIDIRECTIONAL)
            return n->conversation_id != 0;
        if (n->style == PANP_STYLE_UNIDIRECTIONAL)
            return n->conversation_id == 0;
        return true;
    }
    default:
        return false;
    }
}

/* ---- into the view ---------------------------------------------------------- */

static void put_int(uint8_t *at, int v)
{
    memcpy(at, &v, sizeof v);
}

/* at: the field in ff->frame. */
static bool add_copy(fastpath_frame *ff, const uint8_t *at, panp_bytes b, bool string)
{
    if (ff->ncopy == FASTPATH_COPIES)
        return false;
    fastpath_copy c = {b.data, b.len, (uint16_t)(at - (const uint8_t *)&ff->frame), string};
    ff->copy[ff->ncopy++] = c;
    ff->storage += b.len + string;
    return true;
}

static bool walk_msg(walk *w, const view_map *map, uint8_t *view, fastpath_frame *ff);

static bool take_msg(const walk *w, const schema_field *f, panp_bytes b, const dest *d,
                     uint8_t *view, fastpath_frame *ff)
{
    walk sw = walk_of(b.data, b.len, f->sub, w->peer);
    if (d->flags & D_HAS)
        *(bool *)(void *)(view + d->has) = true;
    return walk_msg(&sw, d->sub, view + d->off, ff);
}

/* Reads f's value by its kind, with its wire type, keeps only what the
 * full path takes as it is, and puts it where d says in view (its
 * message's view struct).  0 and empty values are defaults written out,
 * which canonical form never contains: the full path's to judge. */
HOT bool take(walk *w, const schema_field *f, unsigned wt, const dest *d, uint8_t *view,
              fastpath_frame *ff)
{
    uint8_t *at = view + d->off;
    bool varint = wt == WT_VARINT, len = wt == WT_LEN;
    uint64_t v;
    panp_bytes b;
    switch ((schema_kind)f->kind) {
    case SK_U64:
        if (!varint || !read_varint(w, &v) || v == 0)
            return false;
        *(uint64_t *)(void *)at = v;
        return true;
    case SK_U32:
        if (!varint || !read_varint(w, &v) || v == 0 || v > UINT32_MAX)
            return false;
        *(uint32_t *)(void *)at = (uint32_t)v;
        return true;
    case SK_BOOL:
        if (!varint || !read_varint(w, &v) || v != 1)
            return false;
        *(bool *)(void *)at = true;
        return true;
    case SK_ENUM: /* a client takes values from newer brokers (SPEC 6.3) */
        if (!varint || !read_varint(w, &v) || v == 0 ||
            (v > f->max && (w->peer != PANP_PEER_CLIENT || v > INT32_MAX)))
            return false;
        put_int(at, (int)v);
        return true;
    case SK_UUID:
        return len && read_span(w, &b) && b.len == PANP_UUID_LEN && add_copy(ff, at, b, false);
    case SK_HANDLE:
        return len && read_span(w, &b) && b.len >= PANP_HANDLE_MIN_LEN &&
               b.len <= PANP_HANDLE_MAX_LEN && add_copy(ff, at, b, false);
    case SK_BYTES:
        return len && read_span(w, &b) && b.len != 0 && b.len <= f->max &&
               add_copy(ff, at, b, false);
    case SK_STRING:
        return len && read_span(w, &b) && string_ok(f, b) && add_copy(ff, at, b, true);
    case SK_MSG:
        return len && read_span(w, &b) && take_msg(w, f, b, d, view, ff);
    case SK_NONE:
        break;
    }
    return false;
}

/* One message instance, by the schema (w->m) and the view map, into view. */
static bool walk_msg(walk *w, const view_map *map, uint8_t *view, fastpath_frame *ff)
{
    while (w->p < w->end) {
        unsigned tag = *w->p++;
        const schema_field *f = field_of(w, tag);
        const dest *d = &map->fields[(tag >> 3) & 15]; /* read only when f is set */
        if (!f || !(d->flags & D_TAKEN))
            return false;
        if (d->member)
            put_int(view + map->oneof, d->member);
        if (!take(w, f, tag & 7, d, view, ff))
            return false;
    }
    return required_seen(w) && rules_ok(w, view);
}

/* The Frame's level: a request id, then one body member (its bytes and
 * schema into *body), nothing else. */
static bool frame_level(const uint8_t *buf, size_t len, panp_peer peer, fastpath_frame *ff,
                        walk *body)
{
    walk w = walk_of(buf, len, &schema_frame, peer);
    while (w.p < w.end) {
        unsigned tag = *w.p++;
        const schema_field *f = field_of(&w, tag);
        panp_bytes b;
        if (!f)
            return false;
        if ((tag >> 3) == FRAME_REQUEST_ID) {
            if (!take(&w, f, tag & 7, &frame_request_id, (uint8_t *)&ff->frame, ff))
                return false;
        } else if (f->kind == SK_MSG && (tag & 7) == WT_LEN && read_span(&w, &b)) {
            ff->frame.kind = (panp_body_kind)(tag >> 3);
            *body = walk_of(b.data, b.len, f->sub, peer);
        } else {
            return false;
        }
    }
    return w.oneof;
}

bool fastpath_scan(const uint8_t *buf, size_t len, panp_peer peer, panp_phase phase,
                   fastpath_frame *ff)
{
    memset(&ff->frame, 0, sizeof ff->frame);
    ff->ncopy = 0;
    ff->storage = 0;
    walk body;
    if (!frame_level(buf, len, peer, ff, &body))
        return false;
    panp_body_kind kind = ff->frame.kind;
    const view_map *map = body_map(kind);
    panp_status why_not; /* written only when the phase or request id refuses the frame */
    if (!map || !schema_body_ok_for(kind, peer) ||
        wire_frame_checks(kind, ff->frame.request_id, peer, phase, &why_not))
        return false;
    memcpy(&ff->frame.body, map->blank, map->blank_size);
    return walk_msg(&body, map, (uint8_t *)&ff->frame.body, ff);
}

void fastpath_build(const fastpath_frame *ff, uint8_t *storage, panp_frame *out)
{
    *out = ff->frame;
    uint8_t *at = storage;
    for (unsigned i = 0; i < ff->ncopy; i++) {
        const fastpath_copy *c = &ff->copy[i];
        void *field = (uint8_t *)out + c->off;
        memcpy(at, c->data, c->len);
        if (c->string) {
            at[c->len] = '\0';
            *(const char **)field = (const char *)at;
            at += c->len + 1;
        } else {
            panp_bytes b = {at, c->len};
            *(panp_bytes *)field = b;
            at += c->len;
        }
    }
}
