/* text.c - UTF-8 and NUL checks for strings (see text.h).
 *
 * Strings on this protocol are short and mostly ASCII, so the loop skips
 * eight ASCII bytes at a time and decodes only what is left.
 */
#include <string.h>

#include "text.h"

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* True when none of the eight bytes is NUL or has its high bit set. */
static int plain_ascii8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    uint64_t has_zero = (v - ONES) & ~v & HIGHS;
    return ((v & HIGHS) | has_zero) == 0;
}

static int in(uint8_t b, uint8_t lo, uint8_t hi)
{
    return b >= lo && b <= hi;
}

/* Length of the sequence a lead byte starts, with the allowed range of the
 * second byte (which is where overlongs, surrogates and > U+10FFFF are
 * excluded); 0 for a byte that cannot start a sequence. */
static size_t lead_info(uint8_t b, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (in(b, 0xC2, 0xDF))
        return 2;
    if (b == 0xE0)
        *lo = 0xA0;
    else if (b == 0xED)
        *hi = 0x9F;
    if (in(b, 0xE0, 0xEF))
        return 3;
    if (b == 0xF0)
        *lo = 0x90;
    else if (b == 0xF4)
        *hi = 0x8F;
    if (in(b, 0xF0, 0xF4))
        return 4;
    return 0;
}

/* Checks one multi-byte sequence at p[i]; returns its length or 0. */
static size_t sequence_at(const uint8_t *p, size_t i, size_t len, const char **why)
{
    uint8_t lo, hi;
    size_t n = lead_info(p[i], &lo, &hi);
    if (n == 0) {
        *why = (p[i] == 0xC0 || p[i] == 0xC1) ? "overlong UTF-8 sequence"
               : p[i] < 0xC0                   ? "stray UTF-8 continuation byte"
                                               : "byte not allowed in UTF-8";
        return 0;
    }
    if (len - i < n) {
        *why = "UTF-8 sequence cut short";
        return 0;
    }
    if (!in(p[i + 1], lo, hi)) {
        *why = p[i + 1] < 0x80 || p[i + 1] > 0xBF ? "bad UTF-8 continuation byte"
               : p[i] == 0xED                     ? "UTF-16 surrogate in UTF-8"
               : p[i] == 0xF4                     ? "code point above U+10FFFF"
                                                  : "overlong UTF-8 sequence";
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if (!in(p[i + k], 0x80, 0xBF)) {
            *why = "bad UTF-8 continuation byte";
            return 0;
        }
    }
    return n;
}

size_t text_check(const uint8_t *p, size_t len, const char **why)
{
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8 && plain_ascii8(p + i)) {
            i += 8;
            continue;
        }
        if (p[i] == 0) {
            *why = "NUL character in string";
            return i;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = sequence_at(p, i, len, why);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}
