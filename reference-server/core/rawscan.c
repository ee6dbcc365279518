/* rawscan.c - strict reading of raw protobuf levels (see rawscan.h). */
#include "rawscan.h"

#include "panp/msg.h"

/* A minimal varint of at most 10 bytes fitting 64 bits; 0 when there is none. */
static size_t varint(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        if (i == 9 && p[i] > 1) return 0;
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i > 0 && p[i] == 0) return 0; /* padded */
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

bool raw_walk(const uint8_t *msg, size_t len, raw_fn fn, void *arg)
{
    size_t off = 0;
    while (off < len) {
        uint64_t tag, v = 0;
        size_t n = varint(msg + off, len - off, &tag);
        if (n == 0) return false;
        off += n;
        raw_field f = {.number = (uint32_t)(tag >> 3), .wire_type = (unsigned)(tag & 7)};
        if ((tag >> 3) == 0 || (tag >> 3) > 536870911u) return false;
        switch (f.wire_type) {
        case 0:
            if ((n = varint(msg + off, len - off, &v)) == 0) return false;
            f.value = v;
            break;
        case 1: n = 8; break;
        case 5: n = 4; break;
        case 2:
            if ((n = varint(msg + off, len - off, &v)) == 0 || v > len - off - n) return false;
            f.data = msg + off + n;
            f.len = (size_t)v;
            n += (size_t)v;
            break;
        default:
            return false;
        }
        if (n > len - off) return false;
        off += n;
        if (fn && !fn(&f, arg)) return false;
    }
    return true;
}

static bool known_body(uint32_t field)
{
    return (field >= 2 && field <= 11) || (field >= 16 && field <= 30);
}

bool raw_broker_accepts(uint32_t body)
{
    switch (body) {
    case PANP_BODY_SEND: case PANP_BODY_REPLY: case PANP_BODY_PING: case PANP_BODY_HELLO:
    case PANP_BODY_REGISTER: case PANP_BODY_RENEW: case PANP_BODY_UNREGISTER:
    case PANP_BODY_LIST_REGISTRATIONS: case PANP_BODY_OPEN_CHANNEL: case PANP_BODY_CLOSE_CHANNEL:
    case PANP_BODY_GOODBYE:
        return true;
    default:
        return false;
    }
}

static bool frame_field(const raw_field *f, void *arg)
{
    raw_frame *r = arg;
    if (f->number == 1) {
        if (f->wire_type != 0 || r->request_id != UINT64_MAX) return false; /* wrong type, twice */
        r->request_id = f->value;
    } else if (known_body(f->number)) {
        if (f->wire_type != 2 || r->body) return false; /* wrong type, twice, two members */
        r->body = f->number;
        r->body_data = f->data;
        r->body_len = f->len;
    }
    return true;
}

void raw_frame_scan(const uint8_t *buf, size_t len, raw_frame *out)
{
    *out = (raw_frame){.request_id = UINT64_MAX};
    out->well_formed = raw_walk(buf, len, frame_field, out);
    if (out->request_id == UINT64_MAX) out->request_id = 0;
}

typedef struct find_ctx {
    uint32_t number;
    const raw_field *found;
    raw_field copy;
} find_ctx;

static bool find_field(const raw_field *f, void *arg)
{
    find_ctx *k = arg;
    if (f->number == k->number) {
        k->copy = *f;
        k->found = &k->copy;
    }
    return true;
}

uint64_t raw_uint(const uint8_t *msg, size_t len, uint32_t number, uint64_t dflt)
{
    find_ctx k = {.number = number};
    if (!raw_walk(msg, len, find_field, &k) || !k.found || k.found->wire_type != 0) return dflt;
    return k.found->value;
}

bool raw_bytes(const uint8_t *msg, size_t len, uint32_t number, const uint8_t **data, size_t *dlen)
{
    find_ctx k = {.number = number};
    if (!raw_walk(msg, len, find_field, &k) || !k.found || k.found->wire_type != 2) return false;
    *data = k.found->data;
    *dlen = k.found->len;
    return true;
}
