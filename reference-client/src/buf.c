/* buf.c - growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

bool pbuf_reserve(pbuf *b, size_t n)
{
    if (b->cap - b->end >= n)
        return true;
    /* Slide unread bytes to the front before growing: the output queue is
     * mostly drained, so this usually avoids the realloc. */
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        if (b->cap - b->end >= n)
            return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->end < n) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

bool pbuf_append(pbuf *b, const void *p, size_t n)
{
    if (n == 0)
        return true;
    if (!pbuf_reserve(b, n))
        return false;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return true;
}

void pbuf_consume(pbuf *b, size_t n)
{
    b->start += n;
    if (b->start >= b->end)
        b->start = b->end = 0;
}

void pbuf_clear(pbuf *b) { b->start = b->end = 0; }

void pbuf_free(pbuf *b)
{
    free(b->data);
    *b = (pbuf){0};
}
