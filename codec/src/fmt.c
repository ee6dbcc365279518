/* fmt.c - a printf subset for status messages (see fmt.h). */
#include <stdint.h>

#include "fmt.h"

typedef struct sink {
    char *out;
    size_t cap, n;
} sink;

static void put(sink *s, char c)
{
    if (s->n + 1 < s->cap)
        s->out[s->n++] = c;
}

static void put_str(sink *s, const char *p)
{
    if (!p)
        p = "(null)";
    while (*p)
        put(s, *p++);
}

/* v / 10 with shifts and adds: 32-bit targets have no 64-bit divide
 * instruction and libgcc's costs 700 bytes of flash. */
static unsigned long long div10(unsigned long long v, unsigned *rem)
{
    unsigned long long q = (v >> 1) + (v >> 2);
    q += q >> 4;
    q += q >> 8;
    q += q >> 16;
    q += q >> 32;
    q >>= 3;
    unsigned r = (unsigned)(v - q * 10);
    if (r > 9) {
        q++;
        r -= 10;
    }
    *rem = r;
    return q;
}

static void put_unsigned(sink *s, unsigned long long v)
{
    char digits[20];
    int n = 0;
    do {
        unsigned r;
        v = div10(v, &r);
        digits[n++] = (char)('0' + r);
    } while (v);
    while (n)
        put(s, digits[--n]);
}

static void put_signed(sink *s, long long v)
{
    if (v < 0) {
        put(s, '-');
        put_unsigned(s, 0ull - (unsigned long long)v);
    } else {
        put_unsigned(s, (unsigned long long)v);
    }
}

/* One conversion after '%'; returns the format position after it. */
static const char *convert(sink *s, const char *f, va_list *ap)
{
    if (f[0] == 'z' && f[1] == 'u') {
        put_unsigned(s, va_arg(*ap, size_t));
        return f + 2;
    }
    if (f[0] == 'l' && f[1] == 'l' && (f[2] == 'u' || f[2] == 'd')) {
        if (f[2] == 'u')
            put_unsigned(s, va_arg(*ap, unsigned long long));
        else
            put_signed(s, va_arg(*ap, long long));
        return f + 3;
    }
    switch (*f) {
    case 's':
        put_str(s, va_arg(*ap, const char *));
        break;
    case 'd':
        put_signed(s, va_arg(*ap, int));
        break;
    case 'u':
        put_unsigned(s, va_arg(*ap, unsigned));
        break;
    case '%':
        put(s, '%');
        break;
    default: /* not supported: shown as is */
        put(s, '%');
        if (*f)
            put(s, *f);
        break;
    }
    return *f ? f + 1 : f;
}

size_t fmt_v(char *out, size_t cap, const char *fmt, va_list ap)
{
    sink s = {out, cap, 0};
    va_list args;
    va_copy(args, ap);
    while (*fmt) {
        if (*fmt != '%')
            put(&s, *fmt++);
        else
            fmt = convert(&s, fmt + 1, &args);
    }
    va_end(args);
    if (cap)
        out[s.n] = '\0';
    return s.n;
}

size_t fmt_s(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = fmt_v(out, cap, fmt, ap);
    va_end(ap);
    return n;
}
