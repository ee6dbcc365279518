/* buf.h - a growable byte buffer with a read position: the socket's output
 * queue and copies of payloads that must outlive a call. */
#ifndef PANP_CLIENT_BUF_H
#define PANP_CLIENT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pbuf {
    uint8_t *data;
    size_t start; /* first unread byte */
    size_t end;   /* one past the last byte */
    size_t cap;
} pbuf;

static inline size_t pbuf_len(const pbuf *b) { return b->end - b->start; }
/* NULL for an empty buffer that never held anything (NULL + 0 is undefined). */
static inline const uint8_t *pbuf_head(const pbuf *b) { return b->data ? b->data + b->start : NULL; }

/* Makes room for n more bytes at the end; false when out of memory. */
bool pbuf_reserve(pbuf *b, size_t n);
bool pbuf_append(pbuf *b, const void *p, size_t n);
/* Drops n bytes from the front. */
void pbuf_consume(pbuf *b, size_t n);
void pbuf_clear(pbuf *b);
void pbuf_free(pbuf *b);

#endif
