/* pbw.h - a raw protobuf writer for frames the codec would refuse to encode.
 *
 * Malformed, non-canonical or rule-breaking frames (wrong UUID lengths,
 * padded varints, unknown fields, duplicated fields) cannot come out of a
 * validating encoder, so cases that need them build bytes with this. */
#ifndef PC_PBW_H
#define PC_PBW_H

#include <stddef.h>
#include <stdint.h>

typedef struct pbw {
    uint8_t *buf;
    size_t len, cap;
} pbw;

#define PBW_INIT {NULL, 0, 0}

enum { PBW_VARINT = 0, PBW_I64 = 1, PBW_LEN = 2, PBW_I32 = 5 };

void pbw_raw(pbw *w, const void *p, size_t n);
void pbw_varint(pbw *w, uint64_t v);
void pbw_tag(pbw *w, uint32_t field, int wire_type);
void pbw_uint(pbw *w, uint32_t field, uint64_t v);       /* always written, even 0 */
void pbw_bytes(pbw *w, uint32_t field, const void *p, size_t n);
void pbw_str(pbw *w, uint32_t field, const char *s);
void pbw_msg(pbw *w, uint32_t field, const pbw *sub);    /* sub as a length-delimited field */
/* out = varint(len(frame)) + frame: a frame ready for the wire. */
void pbw_delimit(pbw *out, const pbw *frame);
void pbw_free(pbw *w);

#endif
