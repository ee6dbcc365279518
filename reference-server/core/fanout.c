/* fanout.c - one shared Notify tail, small per-listener headers. */
#include "fanout.h"

#include <stdlib.h>
#include <string.h>

static size_t read_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* Skips the leading fields numbered 1..3 of an encoded Notify. */
static size_t skip_listener_fields(const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        uint64_t tag, v;
        size_t n = read_varint(p + off, len - off, &tag);
        if (n == 0 || (tag >> 3) > 3) break;
        size_t m = read_varint(p + off + n, len - off - n, &v);
        if (m == 0) return SIZE_MAX;
        if ((tag & 7) == 2) {
            if (v > len - off - n - m) return SIZE_MAX;
            m += (size_t)v;
        } else if ((tag & 7) != 0) {
            return SIZE_MAX;
        }
        off += n + m;
    }
    return off;
}

panp_error_code fanout_tail(const panp_notify *n, blob **out, panp_status *st)
{
    /* The codec validates what it encodes, and a Notify needs a handle:
     * encode with a placeholder, then cut fields 1..3 off. */
    static const uint8_t placeholder[PANP_HANDLE_MIN_LEN];
    panp_frame f = {.kind = PANP_BODY_NOTIFY};
    f.body.notify = *n;
    f.body.notify.registration = (panp_bytes){placeholder, sizeof(placeholder)};
    f.body.notify.conversation_id = n->style == PANP_STYLE_BIDIRECTIONAL ? 1 : 0;
    f.body.notify.client_state = (panp_bytes){NULL, 0};

    size_t need = 0;
    *out = NULL;
    panp_error_code rc = panp_encode(PANP_BACKEND_PROTOBUF_C, &f, NULL, 0, &need, st);
    if (rc != PANP_ERR_RESOURCE_EXHAUSTED && rc != PANP_ERR_UNSPECIFIED) return rc;
    uint8_t *buf = malloc(need ? need : 1);
    if (!buf) return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "", "out of memory");
    rc = panp_encode(PANP_BACKEND_PROTOBUF_C, &f, buf, need, &need, st);
    if (rc != PANP_ERR_UNSPECIFIED) {
        free(buf);
        return rc;
    }
    /* buf = 0x12 varint(len) notify-bytes */
    uint64_t nlen = 0;
    size_t hl = need > 1 && buf[0] == 0x12 ? read_varint(buf + 1, need - 1, &nlen) : 0;
    size_t skip = hl ? skip_listener_fields(buf + 1 + hl, need - 1 - hl) : SIZE_MAX;
    if (hl == 0 || nlen != need - 1 - hl || skip == SIZE_MAX) {
        free(buf);
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "notify",
                               "unexpected Notify encoding");
    }
    size_t tail_off = 1 + hl + skip;
    blob *b = blob_new(need - tail_off);
    if (!b) {
        free(buf);
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "", "out of memory");
    }
    memcpy(b->data, buf + tail_off, b->len);
    free(buf);
    *out = b;
    return PANP_ERR_UNSPECIFIED;
}

size_t fanout_header(uint8_t *hdr, panp_bytes registration, uint64_t conversation_id,
                     panp_bytes client_state, size_t tail_len, size_t *frame_len)
{
    uint8_t fields[FANOUT_HDR_MAX];
    size_t f = 0;
    if (registration.len) {
        fields[f++] = 0x0a;
        f += panp_varint_put(fields + f, registration.len);
        memcpy(fields + f, registration.data, registration.len);
        f += registration.len;
    }
    if (conversation_id) {
        fields[f++] = 0x10;
        f += panp_varint_put(fields + f, conversation_id);
    }
    if (client_state.len) {
        fields[f++] = 0x1a;
        f += panp_varint_put(fields + f, client_state.len);
        memcpy(fields + f, client_state.data, client_state.len);
        f += client_state.len;
    }
    size_t notify_len = f + tail_len;
    size_t flen = 1 + panp_varint_size(notify_len) + notify_len;
    size_t h = panp_varint_put(hdr, flen);
    hdr[h++] = 0x12;
    h += panp_varint_put(hdr + h, notify_len);
    memcpy(hdr + h, fields, f);
    *frame_len = flen;
    return h + f;
}
