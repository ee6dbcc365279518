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
    size_t index; /* repeated fields: element index; SIZE_MAX otherwise */
} path_elem;

typedef struct scanner {
    const uint8_t *base;
    panp_peer peer;
    panp_status *st;
    bool soft; /* st holds a field-rule error; keep scanning for worse */
    uint64_t request_id;
    size_t depth;
    path_elem path[MAX_DEPTH];
} scanner;

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

/* "register.target.printer", "registration_list.registrations[3].user",
 * "frame.request_id"; bodies are roots of their own. */
static void format_path(const scanner *s, const schema_field *leaf, char *out, size_t cap)
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
        n += fmt_s(out + n, cap - n, "%s%s", n ? "." : "", f->name);
        if (i < s->depth && s->path[i].index != SIZE_MAX && n < cap)
            n += fmt_s(out + n, cap - n, "[%zu]", s->path[i].index);
    }
    if (!out[0])
        fmt_s(out, cap, "frame");
}

/* Errors are the rare path: kept out of line so the scan loop stays small. */
static panp_error_code report(scanner *s, panp_error_code code, const uint8_t *at,
                              const schema_field *leaf, const char *fmt, ...)
    __attribute__((format(printf, 5, 6), noinline, cold));

/* Records an error: a PROTOCOL_VIOLATION always (the caller stops), an
 * INVALID_ARGUMENT only if it is the first (the caller carries on). */
static panp_error_code report(scanner *s, panp_error_code code, const uint8_t *at,
                              const schema_field *leaf, const char *fmt, ...)
{
    bool hard = code != PANP_ERR_INVALID_ARGUMENT;
    if (!hard && s->soft)
        return PANP_ERR_UNSPECIFIED;
    char path[sizeof s->st->field];
    char text[sizeof s->st->message];
    va_list ap;
    va_start(ap, fmt);
    fmt_v(text, sizeof text, fmt, ap);
    va_end(ap);
    format_path(s, leaf, path, sizeof path);
    panp_status_set(s->st, code, (size_t)(at - s->base), path, "%s", text);
    s->soft = !hard;
    return hard ? code : PANP_ERR_UNSPECIFIED;
}

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
        if (v > f->max && s->peer != PANP_PEER_CLIENT)
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

static panp_error_code scan_sub(scanner *s, const schema_field *f, size_t index,
                                const uint8_t *p, size_t len)
{
    if (s->depth == MAX_DEPTH) /* the schema nests 5 deep; the table is wrong */
        return report(s, PANP_ERR_INTERNAL, p, f, "schema nests too deep");
    s->path[s->depth].field = f;
    s->path[s->depth].index = index;
    s->depth++;
    panp_error_code rc = scan_msg(s, f->sub, p, p + len);
    s->depth--;
    return rc;
}

/* Per message instance: which fields were seen, the oneof member chosen,
 * the repeated field's element count. */
typedef struct seen_state {
    uint32_t fields; /* bit n: field n seen (numbers are <= 30) */
    const schema_field *oneof;
    size_t repeated;
} seen_state;

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

HOT panp_error_code scan_field(scanner *s, const schema_field *f, const uint8_t **p,
                               const uint8_t *end, size_t index)
{
    const uint8_t *at = *p;
    panp_error_code rc;
    if (wire_type_of((schema_kind)f->kind) == WT_VARINT) {
        uint64_t v;
        if ((rc = varint_at(s, p, end, f, &v)))
            return rc;
        return check_scalar(s, at, f, v);
    }
    size_t len = 0;
    if ((rc = length_at(s, p, end, f, &len)))
        return rc;
    const uint8_t *val = *p;
    *p += len;
    if (f->kind == SK_STRING)
        return check_string(s, val, len, f);
    if (f->kind != SK_MSG)
        return check_bytes(s, val, len, f);
    return scan_sub(s, f, index, val, len);
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

static panp_error_code scan_msg(scanner *s, const schema_msg *m, const uint8_t *p,
                                const uint8_t *end)
{
    seen_state seen = {0, NULL, 0};
    panp_error_code rc;
    while (p < end) {
        const uint8_t *tag = p;
        const schema_field *f;
        uint64_t number;
        if ((rc = next_field(s, m, &p, end, &f, &number)))
            return rc;
        if (!f)
            continue;
        size_t index = (f->flags & SF_REPEATED) ? seen.repeated : SIZE_MAX;
        if ((rc = note_field(s, &seen, tag, f, number)))
            return rc;
        if ((rc = scan_field(s, f, &p, end, index)))
            return rc;
    }
    return PANP_ERR_UNSPECIFIED;
}

/* The Frame's own level: request_id and where the body is, without
 * descending into it (so the request id is known before the body's
 * errors are). */
static panp_error_code scan_top(scanner *s, const uint8_t *p, const uint8_t *end,
                                wire_info *info)
{
    seen_state seen = {0, NULL, 0};
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

panp_error_code wire_scan(const uint8_t *buf, size_t len, panp_peer peer, wire_info *info,
                          panp_status *st)
{
    scanner s; /* path[] is written before it is read: no need to clear it */
    s.base = buf;
    s.peer = peer;
    s.st = st;
    s.soft = false;
    s.request_id = 0;
    s.depth = 0;
    memset(info, 0, sizeof *info);
    panp_error_code rc = scan_top(&s, buf, buf + len, info);
    if (!rc && info->kind == PANP_BODY_NONE)
        rc = report(&s, PANP_ERR_PROTOCOL_VIOLATION, buf, NULL, "frame has no body");
    if (!rc && !schema_body_ok_for(info->kind, peer))
        rc = report(&s, PANP_ERR_PROTOCOL_VIOLATION, buf + info->body_off,
                    &schema_frame.fields[info->kind], "a %s peer does not accept this body",
                    peer == PANP_PEER_BROKER ? "broker" : "client");
    if (!rc) {
        s.path[0].field = &schema_frame.fields[info->kind];
        s.path[0].index = SIZE_MAX;
        s.depth = 1;
        rc = scan_msg(&s, schema_body(info->kind), buf + info->body_off,
                      buf + info->body_off + info->body_len);
    }
    if (!rc && s.soft)
        rc = st->code;
    if (rc)
        st->request_id = s.request_id;
    return rc;
}
