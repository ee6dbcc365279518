/* sbuf.c - growable text buffer and allocation helpers. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pc_oom(void)
{
    fputs("panp-conformance: out of memory\n", stderr);
    abort();
}

void *pc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) pc_oom();
    return p;
}

void *pc_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) pc_oom();
    return p;
}

void *pc_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) pc_oom();
    return q;
}

char *pc_xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) pc_oom();
    return d;
}

static void reserve(sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    b->s = pc_xrealloc(b->s, cap);
    b->cap = cap;
}

void sbuf_put(sbuf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sbuf_putc(sbuf *b, char c) { sbuf_put(b, &c, 1); }

void sbuf_puts(sbuf *b, const char *s) { sbuf_put(b, s, strlen(s)); }

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sbuf_json_str(sbuf *b, const char *s)
{
    sbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': sbuf_puts(b, "\\\""); break;
        case '\\': sbuf_puts(b, "\\\\"); break;
        case '\n': sbuf_puts(b, "\\n"); break;
        case '\r': sbuf_puts(b, "\\r"); break;
        case '\t': sbuf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) sbuf_printf(b, "\\u%04x", *p);
            else sbuf_putc(b, (char)*p);
        }
    }
    sbuf_putc(b, '"');
}

void sbuf_xml(sbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '<': sbuf_puts(b, "&lt;"); break;
        case '>': sbuf_puts(b, "&gt;"); break;
        case '&': sbuf_puts(b, "&amp;"); break;
        case '"': sbuf_puts(b, "&quot;"); break;
        default:
            /* XML 1.0 forbids most control characters even escaped. */
            if (*p < 0x20 && *p != '\n' && *p != '\t') sbuf_putc(b, '?');
            else sbuf_putc(b, (char)*p);
        }
    }
}

void sbuf_hex(sbuf *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    reserve(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        b->s[b->len++] = digits[p[i] >> 4];
        b->s[b->len++] = digits[p[i] & 15];
    }
    if (b->s) b->s[b->len] = '\0';
}

const char *sbuf_str(const sbuf *b) { return b->s ? b->s : ""; }

void sbuf_reset(sbuf *b)
{
    b->len = 0;
    if (b->s) b->s[0] = '\0';
}

void sbuf_free(sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
