/* spec.c - requirement extraction from SPEC.md (mirrors tools/check-spec.py). */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

const char *pc_level_name(pc_level l)
{
    switch (l) {
    case PC_LEVEL_NONE: return "NONE";
    case PC_LEVEL_MUST: return "MUST";
    case PC_LEVEL_MUST_NOT: return "MUST NOT";
    case PC_LEVEL_SHOULD: return "SHOULD";
    case PC_LEVEL_SHOULD_NOT: return "SHOULD NOT";
    case PC_LEVEL_MAY: return "MAY";
    case PC_LEVEL_DEPRECATED: return "deprecated";
    }
    return "?";
}

bool pc_level_is_must(pc_level l) { return l == PC_LEVEL_MUST || l == PC_LEVEL_MUST_NOT; }

/* Matches "[PANP-X-N]" after optional indentation and a bullet or table
 * bar; returns the ID length and where it starts. */
static size_t match_def(const char *line, const char **id)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if ((*p == '-' || *p == '*') && (p[1] == ' ' || p[1] == '\t')) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
    } else if (*p == '|') {
        p++;
        while (*p == ' ' || *p == '\t') p++;
    }
    if (strncmp(p, "[PANP-", 6) != 0) return 0;
    const char *q = p + 6;
    if (!(isupper((unsigned char)*q) || isdigit((unsigned char)*q))) return 0;
    while (isupper((unsigned char)*q) || isdigit((unsigned char)*q)) q++;
    if (*q++ != '-' || !isdigit((unsigned char)*q)) return 0;
    while (isdigit((unsigned char)*q)) q++;
    if (*q != ']') return 0;
    *id = p + 1;
    return (size_t)(q - p - 1);
}

static bool is_break(const char *line)
{
    const char *p = line, *dummy;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '\n') return true;
    if (match_def(line, &dummy)) return true;
    if ((*p == '-' || *p == '*') && (p[1] == ' ' || p[1] == '\t')) return true;
    if (isdigit((unsigned char)*p)) {
        const char *q = p;
        while (isdigit((unsigned char)*q)) q++;
        if (*q == '.' && (q[1] == ' ' || q[1] == '\t')) return true;
    }
    return *p == '#' || *p == '|' || !strncmp(p, "```", 3);
}

static const struct {
    const char *word;
    pc_level level;
} LEVELS[] = {
    {"MUST NOT", PC_LEVEL_MUST_NOT}, {"SHALL NOT", PC_LEVEL_MUST_NOT}, {"SHOULD NOT", PC_LEVEL_SHOULD_NOT},
    {"MUST", PC_LEVEL_MUST},         {"SHALL", PC_LEVEL_MUST},         {"REQUIRED", PC_LEVEL_MUST},
    {"SHOULD", PC_LEVEL_SHOULD},     {"RECOMMENDED", PC_LEVEL_SHOULD}, {"MAY", PC_LEVEL_MAY},
    {"OPTIONAL", PC_LEVEL_MAY},
};

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* The first RFC 2119 keyword in text, at word boundaries. */
static pc_level first_level(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (p > text && word_char(p[-1])) continue;
        for (size_t i = 0; i < sizeof(LEVELS) / sizeof(LEVELS[0]); i++) {
            size_t n = strlen(LEVELS[i].word);
            if (!strncmp(p, LEVELS[i].word, n) && !word_char(p[n])) return LEVELS[i].level;
        }
    }
    return PC_LEVEL_NONE;
}

static void collapse(sbuf *b, const char *s)
{
    for (; *s; s++) {
        bool space = isspace((unsigned char)*s);
        if (space && (b->len == 0 || b->s[b->len - 1] == ' ')) continue;
        sbuf_putc(b, space ? ' ' : *s);
    }
}

static char **read_lines(const char *path, size_t *n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char **lines = NULL, *line = NULL;
    size_t cap = 0, count = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len && line[len - 1] == '\n') line[len - 1] = '\0';
        lines = pc_xrealloc(lines, (count + 1) * sizeof(*lines));
        lines[count++] = pc_xstrdup(line);
    }
    free(line);
    fclose(f);
    *n = count;
    return lines;
}

static void add_req(pc_spec *s, char **lines, size_t nlines, size_t i, const char *id, size_t idlen,
                    const char *section)
{
    sbuf text = SBUF_INIT;
    collapse(&text, lines[i]);
    for (size_t j = i + 1; j < nlines && !is_break(lines[j]); j++) {
        sbuf_putc(&text, ' ');
        collapse(&text, lines[j]);
    }
    s->reqs = pc_xrealloc(s->reqs, (s->n + 1) * sizeof(*s->reqs));
    pc_requirement *r = &s->reqs[s->n++];
    r->id = pc_xmalloc(idlen + 1);
    memcpy(r->id, id, idlen);
    r->id[idlen] = '\0';
    r->text = pc_xstrdup(sbuf_str(&text));
    r->section = pc_xstrdup(section);
    r->line = (int)i + 1;
    r->level = strstr(r->text, "(deprecated)") ? PC_LEVEL_DEPRECATED : first_level(r->text);
    sbuf_free(&text);
}

bool pc_spec_load(pc_spec *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    size_t nlines;
    char **lines = read_lines(path, &nlines, err, errlen);
    if (!lines) return false;
    bool in_code = false;
    char section[256] = "";
    for (size_t i = 0; i < nlines; i++) {
        const char *p = lines[i];
        while (*p == ' ' || *p == '\t') p++;
        if (!strncmp(p, "```", 3)) {
            in_code = !in_code;
            continue;
        }
        if (in_code) continue;
        if (*p == '#') {
            while (*p == '#') p++;
            while (*p == ' ') p++;
            snprintf(section, sizeof(section), "%s", p);
            continue;
        }
        const char *id;
        size_t idlen = match_def(lines[i], &id);
        if (idlen) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%.*s", (int)idlen, id);
            if (!pc_spec_find(s, buf)) add_req(s, lines, nlines, i, id, idlen, section);
        }
    }
    for (size_t i = 0; i < nlines; i++) free(lines[i]);
    free(lines);
    if (s->n == 0) {
        snprintf(err, errlen, "%s: no requirements ([PANP-AREA-N]) found", path);
        return false;
    }
    return true;
}

void pc_spec_free(pc_spec *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->reqs[i].id);
        free(s->reqs[i].text);
        free(s->reqs[i].section);
    }
    free(s->reqs);
    memset(s, 0, sizeof(*s));
}

const pc_requirement *pc_spec_find(const pc_spec *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->reqs[i].id, id)) return &s->reqs[i];
    return NULL;
}
