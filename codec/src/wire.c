/* wire.c - the wire scanner (see wire.h).
 *
 * One pass over the bytes per message level, driven by the schema table.
 * The Frame's top level is walked first without descending, so the request
 * id is known (and echoed in any error) even when a broken body comes
 * before it on the wire; then the body is walked in depth.  Field paths
 * are kept as a stack of table pointers and only formatted on error.
 */
#include <stdarg.h>
#include <string.h>

#include "fmt.h"
#include "schema.h"
#include "text.h"
#include "wire.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
enum { MAX_DEPTH = 8, MAX_FIELD_NUMBER = (1 << 29) - 1 };

/* The per-field helpers below run for every field of every frame: forced
 * inline for speed, except when optimising for size (device builds). */
#ifdef __OPTIMIZE_SIZE__
#define HOT static inline
#else
#define HOT static inline __attribute__((always_inline))
#endif

typedef struct path_elem {
    const schema_field *field;
    uint32_t number;
    size_t index; /* repeated fields: element index; SIZE_MAX otherwise */
} path_elem;

/* Where a field-rule error sits in SPEC 6.5's order: the field numbers
 * (and element indexes) from the body down to the field, compared
 * lexicographically, a message before its own fields. */
enum { KEY_MAX = MAX_DEPTH + 1, KEY_INDEX_BITS = 20 };

typedef struct scanner {
    const uint8_t *base;
    panp_peer peer;
    panp_status *st;
    bool soft;     /* st holds a field-rule error, the first in field order so far */
    bool lenient;  /* field rules off: a broker receiving a Goodbye (SPEC 7.5) */
    bool sanitize; /* ...and a field broke one the runtimes cannot hold */
    int32_t goodbye_reason;
    panp_body_kind kind;
    uint64_t request_id;
    size_t depth;
    path_elem path[MAX_DEPTH];
    size_t key_len;
    uint32_t key[KEY_MAX];
} scanner;

/* What one message instance held: which fields, with what values (the
 * values only below the Frame, whose rules need them). */
enum { FV = SCHEMA_MAX_FIELDS + 1 };
typedef struct seen_state {
    uint32_t fields; /* bit n: field n seen (numbers are <= 30) */
    uint32_t set;    /* bit n: field n holds a value other than its default
                        (oneof members and submessages: present) */
    const schema_field *oneof;
    size_t repeated;
} seen_state;

typedef struct field_values {
    uint32_t val[FV];         /* varints: the value, at most UINT32_MAX (the rules compare
                                 uint32 and enum values; larger ones broke a rule already);
                                 length-delimited: the length */
    const uint8_t *where[FV]; /* varints: the tag; length-delimited: the value */
} field_values;

size_t wire_varint(const uint8_t *p, const uint8_t *end, uint64_t *v, const char **why)
{
    uint64_t value = 0;
    size_t max = (size_t)(end - p) < 10 ? (size_t)(end - p) : 10;
    for (size_t i = 0; i < max; i++) {
        uint8_t b = p[i];
        if (i == 9 && b > 1) {
            *why = "varint overflows 64 bits";
            return 0;
        }
        value |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b & 0x80)
            continue;
        if (b == 0 && i > 0) {
            *why = "varint not minimally encoded";
            return 0;
        }
        *v = value;
        return i + 1;
    }
    *why = max == 10 ? "varint longer than 10 bytes" : "truncated varint";
    return 0;
}

const char *wire_body_root(panp_body_kind kind, panp_peer peer, char *buf, size_t cap)
{
    const char *name = schema_body_path(kind);
    if (peer != PANP_PEER_BROKER || (schema_body_dir(kind) & SD_TO_BROKER))
        return name;
    fmt_s(buf, cap, "frame.%s", name);
    return buf;
}

/* "register.target.printer", "registration_list.registrations[3].user",
 * "frame.request_id"; bodies are roots of their own (wire_body_root).
 * name, when given, replaces the leaf's (a oneof: "close_channel.side"). */
static void format_path(const scanner *s, const schema_field *leaf, const char *name, char *out,
                        size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    if (s->depth == 0 && leaf && leaf->kind != SK_MSG) {
        fmt_s(out, cap, "frame.%s", leaf->name);
        return;
    }
    for (size_t i = 0; i <= s->depth && n < cap; i++) {
        const schema_field *f = i < s->depth ? s->path[i].field : leaf;
        if (!f)
            break;
        const char *nm = i == s->depth && name ? name : f->name;
        if (i == 0) {
            char root[48];
            nm = wire_body_root((panp_body_kind)(f - schema_frame.fields), s->peer, root,
                                sizeof root);
            n += fmt_s(out + n, cap - n, "%s", nm);
        } else {
            n += fmt_s(out + n, cap - n, ".%s", nm);
        }
        if (i < s->depth && s->path[i].index != SIZE_MAX && n < cap)
            n += fmt_s(out + n, cap - n, "[%zu]", s->path[i].index);
    }
    if (!out[0])
        fmt_s(out, cap, "frame");
}

static size_t make_key(const scanner *s, const schema_field *leaf, uint32_t *key)
{
    size_t n = 0;
    for (size_t i = 1; i < s->depth; i++) {
        size_t idx = s->path[i].index == SIZE_MAX ? 0 : s->path[i].index + 1;
        if (idx >= (1u << KEY_INDEX_BITS))
            idx = (1u << KEY_INDEX_BITS) - 1;
        key[n++] = s->path[i].number << KEY_INDEX_BITS | (uint32_t)idx;
    }
    if (leaf && s->depth > 0) {
        const schema_msg *m = s->path[s->depth - 1].field->sub;
        key[n++] = (uint32_t)(leaf - m->fields) << KEY_INDEX_BITS;
    }
    return n;
}

static bool key_less(const uint32_t *a, size_t an, const uint32_t *b, size_t bn)
{
    for (size_t i = 0; i < an && i < bn; i++)
        if (a[i] != b[i])
            return a[i] < b[i];
    return an < bn;
}

/* Errors are the rare path: kept out of line so the scan loop stays small. */
static panp_error_code report_at(scanner *s, panp_error_code code, const uint8_t *at,
                                 const schema_field *leaf, const char *name, const char *fmt,
                                 ...) __attribute__((format(printf, 6, 7), noinline, cold));

/* Records an error: a PROTOCOL_VIOLATION always (the caller stops); an
 * INVALID_ARGUMENT (a field rule) when it comes before the one recorded in
 * field order (the caller carries on, looking for a malformation).  at may
 * be NULL (an absent field: no offset). */
static panp_error_code report_at(scanner *s, panp_error_code code, const uint8_t *at,
                                 const schema_field *leaf, const char *name, const char *fmt,
                                 ...)
{
    bool hard = code != PANP_ERR_INVALID_ARGUMENT;
    uint32_t key[KEY_MAX];
    size_t key_len = 0;
    if (!hard) {
        if (s->lenient) {
            s->sanitize = true;
            return PANP_ERR_UNSPECIFIED;
        }
        key_len = make_key(s, leaf, key);
        if (s->soft && !key_less(key, key_len, s->key, s->key_len))
            return PANP_ERR_UNSPECIFIED;
    }
    char path[sizeof s->st->field];
    char text[sizeof s->st->message];
    va_list ap;
    va_start(ap, fmt);
    fmt_v(text, sizeof text, fmt, ap);
    va_end(ap);
    format_path(s, leaf, name, path, sizeof path);
    panp_status_set(s->st, code, at ? (size_t)(at - s->base) : SIZE_MAX, path, "%s", text);
    if (hard)
        return code;
    s->soft = true;
    memcpy(s->key, key, key_len * sizeof key[0]);
    s->key_len = key_len;
    return PANP_ERR_UNSPECIFIED;
}

#define report(s, code, at, leaf, ...) report_at((s), (code), (at), (leaf), NULL, __VA_ARGS__)

HOT panp_error_code varint_at(scanner *s, const uint8_t **p, const uint8_t *end,
                                        const schema_field *f, uint64_t *v)
{
    if (*p < end && **p < 0x80) { /* tags and most lengths: one byte */
        *v = *(*p)++;
        return PANP_ERR_UNSPECIFIED;
    }
    const char *why = "";
    size_t n = wire_varint(*p, end, v, &why);
    if (n == 0)
        return report(s, PANP_ERR_PROTOCOL_VIOLATION, *p, f, "%s", why);
    *p += n;
    return PANP_ERR_UNSPECIFIED;
}

/* Reads a length prefix and checks the value fits in what is left. */
HOT panp_error_code length_at(scanner *s, const uint8_t **p, const uint8_t *end,
                                 const schema_field *f, size_t *len)
{
    const uint8_t *start = *p;
    uint64_t v;
    panp_error_code rc = varint_at(s, p, end, f, &v);
    if (rc)
        return rc;
    if (v > (uint64_t)(end - *p))
        return report(s, PANP_ERR_PROTOCOL_VIOLATION, start, f,
                      "length %llu runs past the end (%zu bytes left)", (unsigned long long)v,
                      (size_t)(end - *p));
    *len = (size_t)v;
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code skip_unknown(scanner *s, const uint8_t **p, const uint8_t *end,
                                    unsigned wt)
{
    uint64_t v;
    size_t len = 0;
    switch (wt) {
    case WT_VARINT:
        return varint_at(s, p, end, NULL, &v);
    case WT_LEN: {
        panp_error_code rc = length_at(s, p, end, NULL, &len);
        if (!rc)
            *p += len;
        return rc;
    }
    default:
        len = wt == WT_I64 ? 8 : 4;
        if ((size_t)(end - *p) < len)
            return report(s, PANP_ERR_PROTOCOL_VIOLATION, *p, NULL,
                          "truncated %zu-byte fixed value", len);
        *p += len;
        return PANP_ERR_UNSPECIFIED;
    }
}

HOT unsigned wire_type_of(schema_kind k)
{
    static const uint8_t wt[] = {
        [SK_NONE] = 0xff,   [SK_U32] = WT_VARINT,  [SK_U64] = WT_VARINT,
        [SK_BOOL] = WT_VARINT, [SK_ENUM] = WT_VARINT, [SK_BYTES] = WT_LEN,
        [SK_STRING] = WT_LEN, [SK_UUID] = WT_LEN,    [SK_HANDLE] = WT_LEN,
        [SK_MSG] = WT_LEN,
    };
    return wt[k];
}

HOT panp_error_code check_scalar(scanner *s, const uint8_t *at, const schema_field *f,
                                    uint64_t v)
{
    switch ((schema_kind)f->kind) {
    case SK_U32:
        if (v > UINT32_MAX)
            return report(s, PANP_ERR_PROTOCOL_VIOLATION, at, f,
                          "%llu does not fit in uint32", (unsigned long long)v);
        break;
    case SK_BOOL:
        if (v > 1)
            return report(s, PANP_ERR_PROTOCOL_VIOLATION, at, f, "bool must be 0 or 1, got %llu",
                          (unsigned long long)v);
        break;
    case SK_ENUM:
        /* Negative (10-byte) or beyond int32: well-formed, but no panp enum
         * has such a value and nanopb cannot hold one, so no peer accepts it. */
        if (v > INT32_MAX)
            return report(s, PANP_ERR_INVALID_ARGUMENT, at, f,
                          "enum value %llu out of range", (unsigned long long)v);
        /* Clients accept values from newer brokers (SPEC: forward
         * compatibility); everyone else only knows this version's. */
        if (v > f->max && s->peer != PANP_PEER_CLIENT && !s->lenient)
            return report(s, PANP_ERR_INVALID_ARGUMENT, at, f, "unknown enum value %llu",
                          (unsigned long long)v);
        break;
    default:
        break;
    }
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code check_string(scanner *s, const uint8_t *p, size_t len,
                                    const schema_field *f)
{
    if (len > f->max)
        return report(s, PANP_ERR_INVALID_ARGUMENT, p, f, "at most %u bytes, got %zu",
                      (unsigned)f->max, len);
    size_t i = 0; /* plain ASCII without NUL needs no decoder */
    while (i < len && (uint8_t)(p[i] - 1) < 0x7f)
        i++;
    if (i == len)
        return PANP_ERR_UNSPECIFIED;
    const char *why = "";
    size_t bad = text_check(p, len, &why);
    if (bad != len)
        return report(s, PANP_ERR_INVALID_ARGUMENT, p + bad, f, "%s", why);
    return PANP_ERR_UNSPECIFIED;
}

/* An empty value is an absent one (proto3); whether it may be absent is
 * the validator's business. */
HOT panp_error_code check_bytes(scanner *s, const uint8_t *p, size_t len,
                                   const schema_field *f)
{
    switch ((schema_kind)f->kind) {
    case SK_UUID:
        if (len != 0 && len != PANP_UUID_LEN)
            return report(s, PANP_ERR_INVALID_ARGUMENT, p, f, "want 16 bytes, got %zu", len);
        break;
    case SK_HANDLE:
        if (len != 0 && (len < PANP_HANDLE_MIN_LEN || len > PANP_HANDLE_MAX_LEN))
            return report(s, PANP_ERR_INVALID_ARGUMENT, p, f, "want 16 to 32 bytes, got %zu",
                          len);
        break;
    default:
        if (len > f->max)
            return report(s, PANP_ERR_INVALID_ARGUMENT, p, f, "at most %u bytes, got %zu",
                          (unsigned)f->max, len);
        break;
    }
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code scan_msg(scanner *s, const schema_msg *m, const uint8_t *p,
                                const uint8_t *end);

static panp_error_code scan_sub(scanner *s, const schema_field *f, uint32_t number, size_t index,
                                const uint8_t *p, size_t len)
{
    if (s->depth == MAX_DEPTH) /* the schema nests 5 deep; the table is wrong */
        return report(s, PANP_ERR_INTERNAL, p, f, "schema nests too deep");
    s->path[s->depth].field = f;
    s->path[s->depth].number = number;
    s->path[s->depth].index = index;
    s->depth++;
    panp_error_code rc = scan_msg(s, f->sub, p, p + len);
    s->depth--;
    return rc;
}

HOT panp_error_code note_field(scanner *s, seen_state *seen, const uint8_t *tag,
                                  const schema_field *f, uint64_t number)
{
    if (f->flags & SF_REPEATED) {
        if (++seen->repeated == (size_t)f->max_count + 1)
            return report(s, PANP_ERR_INVALID_ARGUMENT, tag, f, "at most %u elements",
                          (unsigned)f->max_count);
        return PANP_ERR_UNSPECIFIED;
    }
    if (seen->fields & (1u << number))
        return report(s, PANP_ERR_PROTOCOL_VIOLATION, tag, f, "field appears twice");
    seen->fields |= 1u << number;
    if (f->flags & SF_ONEOF) {
        if (seen->oneof)
            return report(s, PANP_ERR_PROTOCOL_VIOLATION, tag, f,
                          "second member of a oneof (%s already set)", seen->oneof->name);
        seen->oneof = f;
    }
    return PANP_ERR_UNSPECIFIED;
}

/* Scans one field's value; *v gets a varint's value or a length, *val
 * where a length-delimited value starts. */
HOT panp_error_code scan_field(scanner *s, const schema_field *f, uint32_t number,
                               const uint8_t **p, const uint8_t *end, size_t index, uint64_t *v,
                               const uint8_t **val)
{
    const uint8_t *at = *p;
    panp_error_code rc;
    if (wire_type_of((schema_kind)f->kind) == WT_VARINT) {
        if ((rc = varint_at(s, p, end, f, v)))
            return rc;
        *val = at;
        return check_scalar(s, at, f, *v);
    }
    size_t len = 0;
    if ((rc = length_at(s, p, end, f, &len)))
        return rc;
    *val = *p;
    *v = len;
    *p += len;
    if (f->kind == SK_STRING)
        return check_string(s, *val, len, f);
    if (f->kind != SK_MSG)
        return check_bytes(s, *val, len, f);
    return scan_sub(s, f, number, index, *val, len);
}

/* Everything but a known field with the right wire type: range and wire
 * type errors, or an unknown field to skip. */
static panp_error_code odd_field(scanner *s, const uint8_t **p, const uint8_t *end,
                                 const uint8_t *tag, uint64_t number, unsigned wt,
                                 const schema_field *f)
{
    if (number == 0 || number > MAX_FIELD_NUMBER)
        return report(s, PANP_ERR_PROTOCOL_VIOLATION, tag, NULL, "field number %llu out of range",
                      (unsigned long long)number);
    if (!((1u << wt) & (1u << WT_VARINT | 1u << WT_I64 | 1u << WT_LEN | 1u << WT_I32)))
        return report(s, PANP_ERR_PROTOCOL_VIOLATION, tag, NULL,
                      "wire type %u (field %llu) not allowed", wt, (unsigned long long)number);
    if (f && f->kind != SK_NONE)
        return report(s, PANP_ERR_PROTOCOL_VIOLATION, tag, f, "wrong wire type %u", wt);
    return skip_unknown(s, p, end, wt); /* unknown: skip, never re-emit */
}

/* Reads the tag at *p; a known field with its own wire type comes back
 * in *f, anything else is handled (skipped or reported) with *f NULL. */
HOT panp_error_code next_field(scanner *s, const schema_msg *m, const uint8_t **p,
                               const uint8_t *end, const schema_field **f, uint64_t *number)
{
    const uint8_t *tag = *p;
    uint64_t key;
    panp_error_code rc;
    if ((rc = varint_at(s, p, end, NULL, &key)))
        return rc;
    *number = key >> 3;
    unsigned wt = (unsigned)(key & 7);
    /* Number 0 lands on the table's empty slot 0: the slow path. */
    *f = *number <= m->max_number ? &m->fields[*number] : NULL;
    if (*f && (*f)->kind != SK_NONE && wt == wire_type_of((schema_kind)(*f)->kind))
        return PANP_ERR_UNSPECIFIED;
    rc = odd_field(s, p, end, tag, *number, wt, *f);
    *f = NULL;
    return rc;
}

/* ---- the rules of a message beyond its fields' own -------------------------
 * Run when a message instance has been scanned, on what it held.  Their
 * texts are validate.c's, which applies the same rules to views. */

#define SET(n) ((seen->set >> (n)) & 1u)
#define VAL(n) (fv->val[n])
#define WHERE(n) (fv->where[n])

static void required(scanner *s, const schema_msg *m, const seen_state *seen)
{
    for (uint32_t n = 1; n <= m->max_number; n++) {
        const schema_field *f = &m->fields[n];
        if (!(f->flags & SF_REQUIRED) || SET(n))
            continue;
        switch ((schema_kind)f->kind) {
        case SK_ENUM: /* a receiving client takes 0 as the generic case (SPEC 6.3) */
            if (s->peer != PANP_PEER_CLIENT)
                report(s, PANP_ERR_INVALID_ARGUMENT, NULL, f, "required (0 is UNSPECIFIED)");
            break;
        case SK_U32:
        case SK_U64:
            report(s, PANP_ERR_INVALID_ARGUMENT, NULL, f, "must be non-zero");
            break;
        case SK_UUID:
            report(s, PANP_ERR_INVALID_ARGUMENT, NULL, f, "want 16 bytes, got 0");
            break;
        default:
            report(s, PANP_ERR_INVALID_ARGUMENT, NULL, f, "required");
            break;
        }
    }
}

static bool is_uuid(const field_values *fv, uint32_t n, const uint8_t *uuid)
{
    return VAL(n) == PANP_UUID_LEN && memcmp(WHERE(n), uuid, PANP_UUID_LEN) == 0;
}

/* SPEC 7.3 steps 2, 3, 6 and 8 (5 is auth's SF_REQUIRED, 4 and 7 field rules). */
static void hello_rules(scanner *s, const schema_msg *m, const field_values *fv)
{
    if (VAL(1) < 1)
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(1), &m->fields[1], "must be at least 1");
    if (VAL(2) < VAL(1))
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(2), &m->fields[2],
               "must be at least min_version");
    if (VAL(5) && VAL(4) != PANP_AUTH_TOKEN)
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(5), &m->fields[5], "only with auth TOKEN");
    if (VAL(7) && VAL(7) < PANP_MIN_MAX_FRAME)
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(7), &m->fields[7],
               "0 or at least %u, got %llu", PANP_MIN_MAX_FRAME, (unsigned long long)VAL(7));
}

static void notify_rules(scanner *s, const schema_msg *m, const seen_state *seen,
                         const field_values *fv)
{
    if (VAL(7) == PANP_STYLE_BIDIRECTIONAL && !SET(2))
        report(s, PANP_ERR_INVALID_ARGUMENT, NULL, &m->fields[2],
               "required for a bidirectional channel");
    if (VAL(7) == PANP_STYLE_UNIDIRECTIONAL && SET(2))
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(2), &m->fields[2],
               "only for a bidirectional channel");
}

static void channel_closed_rules(scanner *s, const schema_msg *m, const seen_state *seen,
                                 const field_values *fv)
{
    static const char *const reasons[] = {"", "", "", "", "PEER_GONE", "", "", "SERVER_SHUTDOWN"};
    uint64_t reason = VAL(4);
    if (!SET(1) && !SET(2))
        report(s, PANP_ERR_INVALID_ARGUMENT, NULL, &m->fields[1],
               "channel_id or conversation_id must be set");
    bool release = is_uuid(fv, 5, PANP_TYPE_NOTIFICATION_RELEASE);
    bool gone = reason == PANP_CLOSE_REASON_PEER_GONE || reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN;
    /* 0 and values from newer brokers reach here only for a client: unknown */
    bool known = reason != 0 && reason <= PANP_CLOSE_REASON_UNREGISTERED;
    if (gone && !release)
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(5), &m->fields[5],
               "must be NOTIFICATION_RELEASE for reason %s", reasons[reason]);
    else if (release && !gone && known)
        report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(5), &m->fields[5],
               "NOTIFICATION_RELEASE only for PEER_GONE or SERVER_SHUTDOWN");
}

static void message_rules(scanner *s, const schema_msg *m, const seen_state *seen,
                          const field_values *fv, const uint8_t *start)
{
    static const uint8_t nil[PANP_UUID_LEN];
    required(s, m, seen);
    switch ((schema_rules)m->rules) {
    case SR_HELLO:
        hello_rules(s, m, fv);
        break;
    case SR_WELCOME:
        if (VAL(1) < 1)
            report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(1), &m->fields[1], "must be at least 1");
        break;
    case SR_LIMITS:
        if (VAL(1) < PANP_MIN_MAX_FRAME)
            report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(1), &m->fields[1],
                   "at least %u, got %llu", PANP_MIN_MAX_FRAME, (unsigned long long)VAL(1));
        break;
    case SR_TARGET:
        if (!(seen->fields & (1u << 1 | 1u << 2)))
            report(s, PANP_ERR_INVALID_ARGUMENT, start, NULL, "one of server or printer must be set");
        else if ((seen->fields & 1u << 2) && VAL(2) == 0)
            report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(2), &m->fields[2], "must not be empty");
        break;
    case SR_CLIENT_TYPE:
        if (is_uuid(fv, 2, PANP_TYPE_NOTIFICATION_RELEASE))
            report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(2), &m->fields[2],
                   "NOTIFICATION_RELEASE is reserved to the broker");
        else if (is_uuid(fv, 2, nil))
            report(s, PANP_ERR_INVALID_ARGUMENT, WHERE(2), &m->fields[2],
                   "the nil UUID is not a notification type");
        break;
    case SR_NOTIFY:
        notify_rules(s, m, seen, fv);
        break;
    case SR_CLOSE_CHANNEL: /* a oneof that must have a member: named by the oneof (SPEC 19.3) */
        if (!(seen->fields & (1u << 1 | 1u << 2)))
            report_at(s, PANP_ERR_INVALID_ARGUMENT, NULL, &m->fields[1], "side",
                      "one of channel_id or conversation_id must be set");
        break;
    case SR_CHANNEL_CLOSED:
        channel_closed_rules(s, m, seen, fv);
        break;
    case SR_GOODBYE: /* only a broker scans leniently */
    case SR_NONE:
        break;
    }
}

static panp_error_code scan_msg(scanner *s, const schema_msg *m, const uint8_t *p,
                                const uint8_t *end)
{
    seen_state seen = {0, 0, NULL, 0};
    field_values fv;
    for (size_t i = 0; i < FV; i++) {
        fv.val[i] = 0;
        fv.where[i] = NULL;
    }
    const uint8_t *start = p;
    panp_error_code rc;
    while (p < end) {
        const uint8_t *tag = p;
        const schema_field *f;
        uint64_t number, v = 0;
        const uint8_t *val = NULL;
        if ((rc = next_field(s, m, &p, end, &f, &number)))
            return rc;
        if (!f)
            continue;
        size_t index = (f->flags & SF_REPEATED) ? seen.repeated : SIZE_MAX;
        if ((rc = note_field(s, &seen, tag, f, number)))
            return rc;
        if ((rc = scan_field(s, f, (uint32_t)number, &p, end, index, &v, &val)))
            return rc;
        if (number < FV && !(f->flags & SF_REPEATED)) {
            fv.val[number] = f->kind == SK_MSG ? 1 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            fv.where[number] = f->kind == SK_MSG ? tag : val;
            if (v || (f->flags & SF_ONEOF) || f->kind == SK_MSG)
                seen.set |= 1u << number;
        }
    }
    if (s->lenient) {
        /* a broker's Goodbye: the reason as sent, if a runtime holds it */
        if (m->rules == SR_GOODBYE)
            s->goodbye_reason = fv.val[1] <= INT32_MAX ? (int32_t)fv.val[1] : 0;
        return PANP_ERR_UNSPECIFIED;
    }
    message_rules(s, m, &seen, &fv, start);
    return PANP_ERR_UNSPECIFIED;
}

/* The Frame's own level: request_id and where the body is, without
 * descending into it. */
static panp_error_code scan_top(scanner *s, const uint8_t *p, const uint8_t *end,
                                wire_info *info)
{
    seen_state seen = {0, 0, NULL, 0};
    panp_error_code rc;
    while (p < end) {
        const uint8_t *tag = p;
        const schema_field *f;
        uint64_t number, v;
        size_t len = 0;
        if ((rc = next_field(s, &schema_frame, &p, end, &f, &number)))
            return rc;
        if (!f)
            continue;
        if ((rc = note_field(s, &seen, tag, f, number)))
            return rc;
        if (f->kind == SK_U64) { /* request_id */
            if ((rc = varint_at(s, &p, end, f, &v)))
                return rc;
            s->request_id = info->request_id = v;
            continue;
        }
        if ((rc = length_at(s, &p, end, f, &len)))
            return rc;
        info->kind = (panp_body_kind)number;
        info->body_off = (size_t)(p - s->base);
        info->body_len = len;
        p += len;
    }
    return PANP_ERR_UNSPECIFIED;
}

/* Requests: every body a broker accepts but Goodbye, a notice (SPEC 7.4). */
static bool is_request(panp_body_kind kind)
{
    return kind != PANP_BODY_GOODBYE && (schema_body_dir(kind) & SD_TO_BROKER);
}

panp_error_code wire_frame_checks(panp_body_kind kind, uint64_t request_id, panp_peer peer,
                                  panp_phase phase, panp_status *st)
{
    if (phase == PANP_PHASE_NONE || peer == PANP_PEER_ANY)
        return PANP_ERR_UNSPECIFIED;
    panp_error_code rc = PANP_ERR_UNSPECIFIED;
    bool handshake = phase == PANP_PHASE_HANDSHAKE;
    if (peer == PANP_PEER_BROKER) {
        if (handshake && kind != PANP_BODY_HELLO)
            rc = panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, SIZE_MAX, "",
                                 "only Hello is accepted before Welcome");
        else if (!handshake && kind == PANP_BODY_HELLO)
            rc = panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, SIZE_MAX, "",
                                 "a second Hello on this connection");
        else if (request_id == 0 && is_request(kind))
            return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "frame.request_id",
                                   "must be non-zero for requests");
    } else {
        bool early = kind == PANP_BODY_WELCOME || kind == PANP_BODY_ERROR ||
                     kind == PANP_BODY_GOODBYE;
        if (handshake && !early)
            rc = panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, SIZE_MAX, "",
                                 "only Welcome, Error or Goodbye are accepted before Welcome");
        else if (!handshake && kind == PANP_BODY_WELCOME)
            rc = panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, SIZE_MAX, "",
                                 "a second Welcome on this connection");
    }
    if (rc)
        st->request_id = request_id;
    return rc;
}

panp_error_code wire_scan(const uint8_t *buf, size_t len, panp_peer peer, panp_phase phase,
                          wire_info *info, panp_status *st)
{
    scanner s; /* path[] and key[] are written before they are read */
    s.base = buf;
    s.peer = peer;
    s.st = st;
    s.soft = false;
    s.lenient = false;
    s.sanitize = false;
    s.goodbye_reason = 0;
    s.kind = PANP_BODY_NONE;
    s.request_id = 0;
    s.depth = 0;
    s.key_len = 0;
    memset(info, 0, sizeof *info);
    /* 1. Malformed encoding anywhere: the Frame's level, then the body in
     * depth (whoever may receive it), collecting field-rule errors. */
    panp_error_code rc = scan_top(&s, buf, buf + len, info);
    if (!rc && info->kind != PANP_BODY_NONE) {
        s.kind = info->kind;
        s.lenient = peer == PANP_PEER_BROKER && info->kind == PANP_BODY_GOODBYE;
        s.path[0].field = &schema_frame.fields[info->kind];
        s.path[0].number = (uint32_t)info->kind;
        s.path[0].index = SIZE_MAX;
        s.depth = 1;
        rc = scan_msg(&s, schema_body(info->kind), buf + info->body_off,
                      buf + info->body_off + info->body_len);
        s.depth = 0;
    }
    if (rc) {
        st->request_id = 0; /* nothing of a malformed frame is trusted (SPEC ERR-8) */
        return rc;
    }
    /* 2. No body, a body the role never accepts, one the phase does not,
     * request_id 0: each replaces a field-rule error. */
    char root[48];
    if (info->kind == PANP_BODY_NONE)
        rc = panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, 0, "frame.body", "frame has no body");
    else if (!schema_body_ok_for(info->kind, peer))
        rc = panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, info->body_off,
                             wire_body_root(info->kind, peer, root, sizeof root),
                             "a %s peer does not accept this body",
                             peer == PANP_PEER_BROKER ? "broker" : "client");
    if (rc) {
        st->request_id = info->request_id;
        return rc;
    }
    if ((rc = wire_frame_checks(info->kind, info->request_id, peer, phase, st)))
        return rc;
    /* 3. The field rules' first failure in field order. */
    if (s.soft) {
        st->request_id = info->request_id;
        return st->code;
    }
    info->goodbye_sanitized = s.sanitize;
    info->goodbye_reason = s.goodbye_reason;
    return PANP_ERR_UNSPECIFIED;
}
