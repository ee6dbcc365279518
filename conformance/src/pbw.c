/* pbw.c - raw protobuf writer. */
#include "pbw.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void pbw_raw(pbw *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n) cap *= 2;
        w->buf = pc_xrealloc(w->buf, cap);
        w->cap = cap;
    }
    if (n) memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void pbw_varint(pbw *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    pbw_raw(w, b, n);
}

void pbw_tag(pbw *w, uint32_t field, int wire_type) { pbw_varint(w, ((uint64_t)field << 3) | (uint64_t)wire_type); }

void pbw_uint(pbw *w, uint32_t field, uint64_t v)
{
    pbw_tag(w, field, PBW_VARINT);
    pbw_varint(w, v);
}

void pbw_bytes(pbw *w, uint32_t field, const void *p, size_t n)
{
    pbw_tag(w, field, PBW_LEN);
    pbw_varint(w, n);
    pbw_raw(w, p, n);
}

void pbw_str(pbw *w, uint32_t field, const char *s) { pbw_bytes(w, field, s, strlen(s)); }

void pbw_msg(pbw *w, uint32_t field, const pbw *sub) { pbw_bytes(w, field, sub->buf, sub->len); }

void pbw_delimit(pbw *out, const pbw *frame)
{
    pbw_varint(out, frame->len);
    pbw_raw(out, frame->buf, frame->len);
}

void pbw_free(pbw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}
