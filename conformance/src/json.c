/* json.c - recursive-descent JSON reader (RFC 8259, depth-limited). */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

#define PJ_MAX_DEPTH 64

typedef struct pj_parser {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    bool failed;
} pj_parser;

static bool fail(pj_parser *ps, const char *what)
{
    if (!ps->failed) snprintf(ps->err, ps->errlen, "%s at offset %zu", what, (size_t)(ps->p - ps->start));
    ps->failed = true;
    return false;
}

static void skip_ws(pj_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool parse_value(pj_parser *ps, pj_value *v, int depth);

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_u4(pj_parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) return fail(ps, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) return fail(ps, "bad \\u escape");
        v = v * 16 + (unsigned)h;
    }
    ps->p += 4;
    *out = v;
    return true;
}

static void put_utf8(sbuf *b, unsigned cp)
{
    if (cp < 0x80) {
        sbuf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        sbuf_putc(b, (char)(0xC0 | (cp >> 6)));
        sbuf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        sbuf_putc(b, (char)(0xE0 | (cp >> 12)));
        sbuf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sbuf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        sbuf_putc(b, (char)(0xF0 | (cp >> 18)));
        sbuf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        sbuf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sbuf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

static bool parse_escape(pj_parser *ps, sbuf *b)
{
    char c = *ps->p++;
    switch (c) {
    case '"': sbuf_putc(b, '"'); return true;
    case '\\': sbuf_putc(b, '\\'); return true;
    case '/': sbuf_putc(b, '/'); return true;
    case 'b': sbuf_putc(b, '\b'); return true;
    case 'f': sbuf_putc(b, '\f'); return true;
    case 'n': sbuf_putc(b, '\n'); return true;
    case 'r': sbuf_putc(b, '\r'); return true;
    case 't': sbuf_putc(b, '\t'); return true;
    case 'u': {
        unsigned cp, lo;
        if (!read_u4(ps, &cp)) return false;
        if (cp >= 0xD800 && cp < 0xDC00) {
            if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') return fail(ps, "lone surrogate");
            ps->p += 2;
            if (!read_u4(ps, &lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, "bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
            return fail(ps, "lone surrogate");
        }
        put_utf8(b, cp);
        return true;
    }
    default: return fail(ps, "bad escape");
    }
}

static bool parse_string(pj_parser *ps, char **out, size_t *outlen)
{
    sbuf b = SBUF_INIT;
    ps->p++; /* opening quote */
    while (ps->p < ps->end && *ps->p != '"') {
        if ((unsigned char)*ps->p < 0x20) {
            sbuf_free(&b);
            return fail(ps, "control character in string");
        }
        if (*ps->p == '\\') {
            ps->p++;
            if (ps->p >= ps->end || !parse_escape(ps, &b)) {
                sbuf_free(&b);
                return fail(ps, "bad escape");
            }
            continue;
        }
        sbuf_putc(&b, *ps->p++);
    }
    if (ps->p >= ps->end) {
        sbuf_free(&b);
        return fail(ps, "unterminated string");
    }
    ps->p++;
    *outlen = b.len;
    *out = b.s ? b.s : pc_xstrdup("");
    return true;
}

static bool parse_number(pj_parser *ps, pj_value *v)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    while (ps->p < ps->end && strchr("0123456789.eE+-", *ps->p)) ps->p++;
    if (ps->p == s) return fail(ps, "unexpected character");
    v->type = PJ_NUM;
    v->str = pc_xmalloc((size_t)(ps->p - s) + 1);
    memcpy(v->str, s, (size_t)(ps->p - s));
    v->str[ps->p - s] = '\0';
    return true;
}

static bool literal(pj_parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return fail(ps, "unexpected word");
    ps->p += n;
    return true;
}

static pj_value *grow(pj_value *v)
{
    v->items = pc_xrealloc(v->items, (v->n + 1) * sizeof(*v->items));
    memset(&v->items[v->n], 0, sizeof(*v->items));
    return &v->items[v->n++];
}

static bool parse_array(pj_parser *ps, pj_value *v, int depth)
{
    v->type = PJ_ARR;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return true;
    }
    for (;;) {
        if (!parse_value(ps, grow(v), depth + 1)) return false;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return true;
        }
        return fail(ps, "expected , or ]");
    }
}

static bool parse_object(pj_parser *ps, pj_value *v, int depth)
{
    v->type = PJ_OBJ;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return true;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected member name");
        char *key;
        size_t klen;
        if (!parse_string(ps, &key, &klen)) return false;
        v->keys = pc_xrealloc(v->keys, (v->n + 1) * sizeof(*v->keys));
        v->keys[v->n] = key;
        pj_value *item = grow(v);
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected :");
        ps->p++;
        if (!parse_value(ps, item, depth + 1)) return false;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return true;
        }
        return fail(ps, "expected , or }");
    }
}

static bool parse_value(pj_parser *ps, pj_value *v, int depth)
{
    if (depth > PJ_MAX_DEPTH) return fail(ps, "nested too deeply");
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    switch (*ps->p) {
    case '{': return parse_object(ps, v, depth);
    case '[': return parse_array(ps, v, depth);
    case '"': v->type = PJ_STR; return parse_string(ps, &v->str, &v->slen);
    case 't': v->type = PJ_BOOL; v->b = true; return literal(ps, "true");
    case 'f': v->type = PJ_BOOL; return literal(ps, "false");
    case 'n': v->type = PJ_NULL; return literal(ps, "null");
    default: return parse_number(ps, v);
    }
}

static void free_members(pj_value *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free_members(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

pj_value *pj_parse(const char *text, size_t len, char *err, size_t errlen)
{
    pj_parser ps = {text, text + len, text, err, errlen, false};
    pj_value *v = pc_xcalloc(1, sizeof(*v));
    if (parse_value(&ps, v, 0)) {
        skip_ws(&ps);
        if (ps.p == ps.end) return v;
        fail(&ps, "trailing characters");
    }
    free_members(v);
    free(v);
    return NULL;
}

void pj_free(pj_value *v)
{
    if (!v) return;
    free_members(v);
    free(v);
}

const pj_value *pj_get(const pj_value *obj, const char *key)
{
    if (!obj || obj->type != PJ_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

const char *pj_get_str(const pj_value *obj, const char *key, const char *dflt)
{
    const pj_value *v = pj_get(obj, key);
    return v && v->type == PJ_STR ? v->str : dflt;
}

bool pj_get_bool(const pj_value *obj, const char *key, bool dflt)
{
    const pj_value *v = pj_get(obj, key);
    return v && v->type == PJ_BOOL ? v->b : dflt;
}

bool pj_u64(const pj_value *v, uint64_t *out)
{
    if (!v || v->type != PJ_NUM || !v->str[0] || strspn(v->str, "0123456789") != strlen(v->str)) return false;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v->str, &end, 10);
    if (errno || *end) return false;
    *out = x;
    return true;
}

bool pj_get_u64(const pj_value *obj, const char *key, uint64_t *out)
{
    return pj_u64(pj_get(obj, key), out);
}
