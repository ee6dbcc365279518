/* framer.c - the streaming framer: connection preface, varint length
 * prefixes, frame bodies (see codec.h).
 *
 * The prefix is judged byte by byte (minimal, at most 5 bytes, within the
 * limit) before any body byte is buffered, so a hostile length costs no
 * memory.  A body that arrives whole in one chunk is returned in place,
 * without a copy; only bodies split across chunks are assembled in the
 * framer's buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "panp/codec.h"

enum { MAX_PREFIX = 5 };

/* Why a framer failed.  Kept as this, not as a panp_status (~280 bytes in
 * every connection of a broker, for the rare failure): feed() formats the
 * status from it on every call after the failure. */
typedef enum {
    FAIL_NONE = 0,
    FAIL_PREFACE,       /* the stream does not start with the preface */
    FAIL_PREFIX_LONG,   /* a length prefix of more than 5 bytes */
    FAIL_PREFIX_PADDED, /* a length prefix not minimally encoded */
    FAIL_TOO_LARGE,     /* prefix_val over fail_limit */
    FAIL_NO_MEMORY      /* the body could not be buffered */
} fail_kind;

struct panp_framer {
    uint32_t max;
    uint32_t fail_limit;  /* FAIL_TOO_LARGE: max when it failed (set_max may change max) */
    bool owns_self;
    bool owns_buf;
    bool delivered;       /* the last call returned a frame; reset on the next */
    bool in_body;
    uint8_t preface_seen; /* preface bytes matched; PANP_PREFACE_LEN when done */
    uint8_t prefix_len;   /* prefix bytes read so far */
    uint8_t failed;       /* a fail_kind: repeated on every call after a failure */
    uint64_t prefix_val;  /* stays the rejected length after FAIL_TOO_LARGE */
    uint64_t prefix_off;  /* stream offset of the current prefix */
    uint64_t fail_at;     /* stream offset of the failure */
    size_t body_len;
    size_t body_have;
    uint64_t offset;      /* stream bytes consumed before this call */
    uint8_t *buf;
    size_t cap;
    /* Heap framers grow their buffer; storage framers have none, and then
     * nothing in panp_framer_feed() refers to malloc (no heap linked). */
    bool (*grow)(panp_framer *fr, size_t need);
};

static bool heap_grow(panp_framer *fr, size_t need)
{
    uint8_t *grown = realloc(fr->buf, need);
    if (!grown)
        return false;
    fr->buf = grown;
    fr->cap = need;
    return true;
}

static void framer_setup(panp_framer *fr, uint32_t max, bool preface)
{
    memset(fr, 0, sizeof *fr);
    fr->max = max ? max : PANP_DEFAULT_MAX_FRAME;
    fr->preface_seen = preface ? 0 : PANP_PREFACE_LEN;
}

panp_framer *panp_framer_new(uint32_t max_frame_size, bool expect_preface)
{
    panp_framer *fr = malloc(sizeof *fr);
    if (!fr)
        return NULL;
    framer_setup(fr, max_frame_size, expect_preface);
    fr->owns_self = true;
    fr->owns_buf = true;
    fr->grow = heap_grow;
    return fr;
}

size_t panp_framer_storage_size(uint32_t max_frame_size)
{
    return sizeof(panp_framer) + (max_frame_size ? max_frame_size : PANP_DEFAULT_MAX_FRAME);
}

panp_framer *panp_framer_init(void *storage, size_t storage_size, uint32_t max_frame_size,
                              bool expect_preface)
{
    if (!storage || storage_size < sizeof(panp_framer) ||
        (uintptr_t)storage % _Alignof(panp_framer) != 0)
        return NULL;
    panp_framer *fr = storage;
    framer_setup(fr, max_frame_size, expect_preface);
    fr->buf = (uint8_t *)storage + sizeof *fr;
    fr->cap = storage_size - sizeof *fr;
    return fr;
}

void panp_framer_free(panp_framer *fr)
{
    if (!fr)
        return;
    if (fr->owns_buf)
        free(fr->buf);
    if (fr->owns_self)
        free(fr);
}

void panp_framer_set_max(panp_framer *fr, uint32_t max_frame_size)
{
    fr->max = max_frame_size ? max_frame_size : PANP_DEFAULT_MAX_FRAME;
}

/* The status a failed framer reports, the same on every call. */
static void failure_status(const panp_framer *fr, panp_status *st)
{
    static const struct {
        panp_error_code code;
        const char *field, *what;
    } fixed[] = {
        [FAIL_PREFACE] = {PANP_ERR_PROTOCOL_VIOLATION, "preface",
                          "the peer did not send the panp preface"},
        [FAIL_PREFIX_LONG] = {PANP_ERR_PROTOCOL_VIOLATION, "frame",
                              "length prefix longer than 5 bytes"},
        [FAIL_PREFIX_PADDED] = {PANP_ERR_PROTOCOL_VIOLATION, "frame",
                                "length prefix not minimally encoded"},
        [FAIL_NO_MEMORY] = {PANP_ERR_RESOURCE_EXHAUSTED, "frame", "no memory for the frame body"},
    };
    size_t at = (size_t)fr->fail_at;
    if (fr->failed == FAIL_TOO_LARGE)
        panp_status_set(st, PANP_ERR_FRAME_TOO_LARGE, at, "frame",
                        "frame of %llu bytes exceeds the limit of %u",
                        (unsigned long long)fr->prefix_val, (unsigned)fr->fail_limit);
    else
        panp_status_set(st, fixed[fr->failed].code, at, fixed[fr->failed].field, "%s",
                        fixed[fr->failed].what);
}

/* at: offset in the stream (not in this chunk). */
static panp_framer_result fail(panp_framer *fr, uint64_t at, fail_kind why, panp_status *st)
{
    fr->failed = (uint8_t)why;
    fr->fail_at = at;
    fr->fail_limit = fr->max;
    if (st)
        failure_status(fr, st);
    return PANP_FRAMER_ERROR;
}

/* Makes room for the whole body (heap mode grows, storage mode cannot). */
static bool reserve(panp_framer *fr, size_t need)
{
    return need <= fr->cap || (fr->grow && fr->grow(fr, need));
}

/* One prefix byte; returns false (after fail()) when the prefix is bad. */
static bool prefix_byte(panp_framer *fr, uint8_t b, uint64_t at, panp_status *st)
{
    if (fr->prefix_len == 0)
        fr->prefix_off = at;
    fr->prefix_val |= (uint64_t)(b & 0x7f) << (7 * fr->prefix_len);
    fr->prefix_len++;
    if (b & 0x80) {
        if (fr->prefix_len == MAX_PREFIX)
            return fail(fr, at, FAIL_PREFIX_LONG, st), false;
        return true;
    }
    if (b == 0 && fr->prefix_len > 1)
        return fail(fr, at, FAIL_PREFIX_PADDED, st), false;
    if (fr->prefix_val > fr->max || (!fr->grow && fr->prefix_val > fr->cap))
        return fail(fr, fr->prefix_off, FAIL_TOO_LARGE, st), false;
    fr->in_body = true;
    fr->body_len = (size_t)fr->prefix_val;
    fr->body_have = 0;
    return true;
}

static void next_frame(panp_framer *fr)
{
    fr->in_body = false;
    fr->prefix_len = 0;
    fr->prefix_val = 0;
    fr->body_len = fr->body_have = 0;
}

panp_framer_result panp_framer_feed(panp_framer *fr, const uint8_t *data, size_t len, size_t *used,
                                    const uint8_t **frame, size_t *frame_len, panp_status *st)
{
    size_t i = 0;
    *used = 0;
    if (fr->failed) {
        if (st)
            failure_status(fr, st);
        return PANP_FRAMER_ERROR;
    }
    if (fr->delivered) {
        next_frame(fr);
        fr->delivered = false;
    }
    panp_framer_result r = PANP_FRAMER_NEED_MORE;
    while (r == PANP_FRAMER_NEED_MORE && (i < len || (fr->in_body && fr->body_len == 0))) {
        if (fr->preface_seen < PANP_PREFACE_LEN) {
            if (data[i] != (uint8_t)PANP_PREFACE[fr->preface_seen])
                r = fail(fr, fr->offset + i, FAIL_PREFACE, st);
            else
                fr->preface_seen++, i++;
        } else if (!fr->in_body) {
            if (!prefix_byte(fr, data[i], fr->offset + i, st))
                r = PANP_FRAMER_ERROR;
            i++;
        } else if (fr->body_have == 0 && len - i >= fr->body_len) {
            /* whole body in this chunk: no copy */
            *frame = len ? data + i : (const uint8_t *)"";
            *frame_len = fr->body_len;
            i += fr->body_len;
            r = PANP_FRAMER_FRAME;
        } else {
            if (!reserve(fr, fr->body_len)) {
                r = fail(fr, fr->offset + i, FAIL_NO_MEMORY, st);
                break;
            }
            size_t take = fr->body_len - fr->body_have;
            take = take < len - i ? take : len - i;
            memcpy(fr->buf + fr->body_have, data + i, take);
            fr->body_have += take;
            i += take;
            if (fr->body_have == fr->body_len) {
                *frame = fr->buf;
                *frame_len = fr->body_len;
                r = PANP_FRAMER_FRAME;
            }
        }
    }
    if (r == PANP_FRAMER_FRAME)
        fr->delivered = true;
    *used = i;
    fr->offset += i;
    return r;
}
