/* sbuf.h - a growable text buffer for messages, transcripts and reports.
 *
 * Out of memory is fatal here (the suite cannot report anything without
 * text), so the functions return nothing and callers never check. */
#ifndef PC_SBUF_H
#define PC_SBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sbuf {
    char *s;     /* always NUL-terminated once anything was added */
    size_t len;
    size_t cap;
} sbuf;

#define SBUF_INIT {NULL, 0, 0}

void sbuf_putc(sbuf *b, char c);
void sbuf_put(sbuf *b, const char *s, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void sbuf_json_str(sbuf *b, const char *s);
/* Appends s escaped for XML text and attributes. */
void sbuf_xml(sbuf *b, const char *s);
/* Appends n bytes as lower-case hex, no separators. */
void sbuf_hex(sbuf *b, const uint8_t *p, size_t n);
const char *sbuf_str(const sbuf *b); /* "" when empty */
void sbuf_reset(sbuf *b);
void sbuf_free(sbuf *b);

/* Aborts with a message: for out-of-memory only. */
void pc_oom(void) __attribute__((noreturn));
void *pc_xmalloc(size_t n);
void *pc_xcalloc(size_t n, size_t size);
void *pc_xrealloc(void *p, size_t n);
char *pc_xstrdup(const char *s);

#endif
