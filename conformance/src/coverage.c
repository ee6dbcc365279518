/* coverage.c - the requirement coverage report and gate. */
#include "coverage.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "spec.h"

void pc_each_req(const char *reqs, void (*fn)(const char *id, void *arg), void *arg)
{
    for (const char *p = reqs ? reqs : ""; *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (!n) break;
        char id[64];
        snprintf(id, sizeof(id), "%.*s", (int)n, p);
        fn(id, arg);
        p += n;
    }
}

typedef struct cov_state {
    const pc_spec *spec;
    sbuf *cited_by;          /* per requirement: case names */
    size_t *ncited;
    const char *case_name;
    size_t unknown;
    FILE *out;
} cov_state;

static void cite(const char *id, void *arg)
{
    cov_state *s = arg;
    const pc_requirement *q = pc_spec_find(s->spec, id);
    if (!q) {
        fprintf(s->out, "coverage: case %s cites %s, which SPEC.md does not define\n", s->case_name, id);
        s->unknown++;
        return;
    }
    size_t i = (size_t)(q - s->spec->reqs);
    if (s->ncited[i]++) sbuf_puts(&s->cited_by[i], ", ");
    sbuf_puts(&s->cited_by[i], s->case_name);
}

static const pc_waiver *find_waiver(const char *id)
{
    for (size_t i = 0; i < pc_n_waivers; i++)
        if (!strcmp(pc_waivers[i].id, id)) return &pc_waivers[i];
    return NULL;
}

/* A waiver is stale when its ID is unknown, not a MUST, or cited. */
static size_t check_waivers(const pc_spec *spec, const size_t *ncited, FILE *out)
{
    size_t bad = 0;
    for (size_t i = 0; i < pc_n_waivers; i++) {
        const pc_requirement *q = pc_spec_find(spec, pc_waivers[i].id);
        const char *why = !q ? "is not defined in SPEC.md"
                          : !pc_level_is_must(q->level) ? "is not a MUST (only MUSTs need waivers)"
                          : ncited[q - spec->reqs] ? "is cited by a case (remove the waiver)"
                                                   : NULL;
        if (why) {
            fprintf(out, "coverage: stale waiver: %s %s\n", pc_waivers[i].id, why);
            bad++;
        }
    }
    return bad;
}

int pc_coverage(const pc_registry *reg, const char *spec_path, FILE *out)
{
    pc_spec spec;
    char err[512];
    if (!pc_spec_load(&spec, spec_path, err, sizeof(err))) {
        fprintf(out, "coverage: %s\n", err);
        return 2;
    }
    cov_state s = {&spec, pc_xcalloc(spec.n, sizeof(sbuf)), pc_xcalloc(spec.n, sizeof(size_t)), NULL, 0, out};
    for (size_t i = 0; i < reg->n; i++) {
        s.case_name = reg->v[i].def->name;
        pc_each_req(reg->v[i].def->reqs, cite, &s);
    }
    size_t must = 0, must_cov = 0, waived = 0, missing = 0, other = 0, other_cov = 0;
    for (size_t i = 0; i < spec.n; i++) {
        const pc_requirement *q = &spec.reqs[i];
        const pc_waiver *w = find_waiver(q->id);
        bool is_must = pc_level_is_must(q->level);
        if (is_must) {
            must++;
            if (s.ncited[i]) must_cov++;
            else if (w) waived++;
            else missing++;
        } else if (q->level != PC_LEVEL_DEPRECATED) {
            other++;
            if (s.ncited[i]) other_cov++;
        }
        const char *cases = s.ncited[i] ? sbuf_str(&s.cited_by[i]) : w && !s.ncited[i] ? "(waived)" : "-";
        if (is_must && !s.ncited[i] && !w)
            fprintf(out, "%-16s %-10s NO CASE: %s\n", q->id, pc_level_name(q->level), q->text);
        else
            fprintf(out, "%-16s %-10s %s%s%s\n", q->id, pc_level_name(q->level), cases,
                    w && !s.ncited[i] ? ": " : "", w && !s.ncited[i] ? w->reason : "");
    }
    size_t stale = check_waivers(&spec, s.ncited, out);
    fprintf(out, "coverage: %zu of %zu MUST/MUST NOT requirements checked by a case, %zu waived, %zu without a case; "
                 "%zu of %zu SHOULD/MAY cited; %zu unknown IDs cited; %zu stale waivers\n",
            must_cov, must, waived, missing, other_cov, other, s.unknown, stale);
    fprintf(out, "coverage: %zu passed, %zu failed\n", must_cov + waived, missing + s.unknown + stale);
    for (size_t i = 0; i < spec.n; i++) sbuf_free(&s.cited_by[i]);
    free(s.cited_by);
    free(s.ncited);
    pc_spec_free(&spec);
    return missing || s.unknown || stale ? 1 : 0;
}
