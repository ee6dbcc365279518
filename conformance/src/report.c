/* report.c - text, TAP, JUnit and JSON reports. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

bool pc_format_parse(const char *s, pc_format *out)
{
    static const struct {
        const char *name;
        pc_format fmt;
    } names[] = {{"text", PC_FMT_TEXT}, {"tap", PC_FMT_TAP}, {"junit", PC_FMT_JUNIT}, {"json", PC_FMT_JSON}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(s, names[i].name)) {
            *out = names[i].fmt;
            return true;
        }
    }
    return false;
}

void pc_summary_add(pc_summary *s, const pc_result *r)
{
    switch (r->verdict) {
    case PC_PASS: s->pass++; break;
    case PC_WARN: s->warn++; break;
    case PC_SKIP: s->skip++; break;
    case PC_FAIL: s->fail++; break;
    case PC_ERROR: s->error++; break;
    }
    s->duration_us += r->duration_us;
}

static const char *req_text(const pc_spec *spec, const char *id, const char **level)
{
    const pc_requirement *q = spec && id ? pc_spec_find(spec, id) : NULL;
    *level = q ? pc_level_name(q->level) : NULL;
    return q ? q->text : NULL;
}

/* The failure block shared by the text, TAP and JUnit forms. */
static void failure_detail(sbuf *b, const pc_result *r, const pc_spec *spec, const char *ind)
{
    if (r->verdict == PC_FAIL) {
        const char *level, *text = req_text(spec, r->req, &level);
        sbuf_printf(b, "%srequirement: %s%s%s%s\n", ind, r->req ? r->req : "?", level ? " (" : "", level ? level : "",
                    level ? ")" : "");
        if (text) sbuf_printf(b, "%s  %s\n", ind, text);
        sbuf_printf(b, "%sexpected: %s\n", ind, r->expected ? r->expected : "");
        sbuf_printf(b, "%sactual:   %s\n", ind, r->actual ? r->actual : "");
    } else if (r->message) {
        sbuf_printf(b, "%s%s: %s\n", ind, r->verdict == PC_ERROR ? "harness/environment error" : "reason", r->message);
    }
    if (r->warnings.len) {
        sbuf_printf(b, "%sSHOULDs not met:\n", ind);
        const char *p = sbuf_str(&r->warnings);
        while (*p) {
            size_t n = strcspn(p, "\n");
            sbuf_printf(b, "%s  %.*s\n", ind, (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
    sbuf_printf(b, "%scase checks: %s\n", ind, r->def->reqs);
    if (r->transcript && r->verdict != PC_SKIP) sbuf_printf(b, "%stranscript:\n%s", ind, r->transcript);
}

void pc_report_text_case(FILE *f, const pc_result *r, const pc_spec *spec, bool verbose)
{
    fprintf(f, "%-5s %s  (%.0f ms)", pc_verdict_name(r->verdict), r->def->name, (double)r->duration_us / 1000.0);
    if (r->verdict == PC_SKIP) fprintf(f, "  [%s]", r->message ? r->message : "skipped");
    fputc('\n', f);
    if (r->verdict == PC_FAIL || r->verdict == PC_ERROR || (r->verdict == PC_WARN) ||
        (verbose && r->verdict != PC_SKIP)) {
        sbuf b = SBUF_INIT;
        failure_detail(&b, r, spec, "      ");
        fputs(sbuf_str(&b), f);
        sbuf_free(&b);
    }
    fflush(f);
}

void pc_report_text_summary(FILE *f, const pc_summary *s, bool strict)
{
    size_t passed = s->pass + (strict ? 0 : s->warn);
    size_t failed = s->fail + s->error + (strict ? s->warn : 0);
    fprintf(f, "\n%zu PASS, %zu WARN, %zu SKIP (not passes), %zu FAIL, %zu ERROR in %.1f s%s\n", s->pass, s->warn,
            s->skip, s->fail, s->error, (double)s->duration_us / 1e6, strict ? " (--strict: WARN fails)" : "");
    fprintf(f, "panp-conformance: %zu passed, %zu failed\n", passed, failed);
}

/* ---- TAP ------------------------------------------------------------- */

static void write_tap(FILE *f, const pc_result *rs, size_t n, const pc_spec *spec)
{
    fprintf(f, "TAP version 13\n1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const pc_result *r = &rs[i];
        bool ok = r->verdict == PC_PASS || r->verdict == PC_WARN || r->verdict == PC_SKIP;
        fprintf(f, "%s %zu - %s", ok ? "ok" : "not ok", i + 1, r->def->name);
        if (r->verdict == PC_SKIP) fprintf(f, " # SKIP %s", r->message ? r->message : "");
        if (r->verdict == PC_WARN) fprintf(f, " # WARN SHOULD not met");
        fputc('\n', f);
        if (r->verdict == PC_PASS || r->verdict == PC_SKIP) continue;
        sbuf b = SBUF_INIT;
        failure_detail(&b, r, spec, "  # ");
        /* Transcript lines already start with blanks: prefix each with '#'. */
        for (const char *p = sbuf_str(&b); *p;) {
            size_t m = strcspn(p, "\n");
            fprintf(f, "%s%.*s\n", strncmp(p, "  # ", 4) ? "  # " : "", (int)m, p);
            p += m + (p[m] == '\n');
        }
        sbuf_free(&b);
    }
}

/* ---- JUnit ----------------------------------------------------------- */

static void xml_attr(FILE *f, const char *name, const char *value)
{
    sbuf b = SBUF_INIT;
    sbuf_xml(&b, value);
    fprintf(f, " %s=\"%s\"", name, sbuf_str(&b));
    sbuf_free(&b);
}

static void xml_text(FILE *f, const char *s)
{
    sbuf b = SBUF_INIT;
    sbuf_xml(&b, s);
    fputs(sbuf_str(&b), f);
    sbuf_free(&b);
}

static void write_junit_case(FILE *f, const pc_result *r, const pc_spec *spec)
{
    const char *dot = strchr(r->def->name, '.');
    char cls[64];
    snprintf(cls, sizeof(cls), "panp.%.*s", dot ? (int)(dot - r->def->name) : 40, r->def->name);
    fputs("    <testcase", f);
    xml_attr(f, "classname", cls);
    xml_attr(f, "name", r->def->name);
    fprintf(f, " time=\"%.3f\">\n", (double)r->duration_us / 1e6);
    sbuf b = SBUF_INIT;
    failure_detail(&b, r, spec, "");
    if (r->verdict == PC_FAIL || r->verdict == PC_ERROR) {
        const char *tag = r->verdict == PC_FAIL ? "failure" : "error";
        char *msg = NULL;
        if (r->verdict == PC_FAIL && asprintf(&msg, "%s: %s", r->req ? r->req : "?", r->expected ? r->expected : "") < 0)
            msg = NULL;
        fprintf(f, "      <%s", tag);
        xml_attr(f, "message", msg ? msg : r->message ? r->message : "");
        fputs(">", f);
        xml_text(f, sbuf_str(&b));
        fprintf(f, "</%s>\n", tag);
        free(msg);
    } else if (r->verdict == PC_SKIP) {
        fputs("      <skipped", f);
        xml_attr(f, "message", r->message ? r->message : "");
        fputs("/>\n", f);
    } else if (r->verdict == PC_WARN) {
        fputs("      <system-out>", f);
        xml_text(f, sbuf_str(&b));
        fputs("</system-out>\n", f);
    }
    sbuf_free(&b);
    fputs("    </testcase>\n", f);
}

static void write_junit(FILE *f, const pc_result *rs, size_t n, const pc_summary *s, const pc_spec *spec,
                        const char *target)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"panp-conformance\"", f);
    fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"", n, s->fail, s->error,
            s->skip, (double)s->duration_us / 1e6);
    xml_attr(f, "hostname", target);
    fputs(">\n", f);
    for (size_t i = 0; i < n; i++) write_junit_case(f, &rs[i], spec);
    fputs("  </testsuite>\n</testsuites>\n", f);
}

/* ---- JSON ------------------------------------------------------------ */

static void json_member(sbuf *b, const char *key, const char *value, bool comma)
{
    if (comma) sbuf_putc(b, ',');
    sbuf_json_str(b, key);
    sbuf_putc(b, ':');
    if (value) sbuf_json_str(b, value);
    else sbuf_puts(b, "null");
}

static void json_reqs(sbuf *b, const char *reqs)
{
    sbuf_puts(b, ",\"requirements\":[");
    bool first = true;
    for (const char *p = reqs; *p;) {
        p += strspn(p, " ,");
        size_t m = strcspn(p, " ,");
        if (!m) break;
        char id[64];
        snprintf(id, sizeof(id), "%.*s", (int)m, p);
        if (!first) sbuf_putc(b, ',');
        sbuf_json_str(b, id);
        first = false;
        p += m;
    }
    sbuf_putc(b, ']');
}

static void json_case(sbuf *b, const pc_result *r, const pc_spec *spec)
{
    sbuf_putc(b, '{');
    json_member(b, "name", r->def->name, false);
    json_member(b, "summary", r->def->summary, true);
    json_reqs(b, r->def->reqs);
    json_member(b, "verdict", pc_verdict_name(r->verdict), true);
    sbuf_printf(b, ",\"duration_ms\":%.3f", (double)r->duration_us / 1000.0);
    const char *level, *text = req_text(spec, r->req, &level);
    json_member(b, "requirement", r->req, true);
    json_member(b, "requirement_level", level, true);
    json_member(b, "requirement_text", text, true);
    json_member(b, "message", r->message, true);
    json_member(b, "expected", r->expected, true);
    json_member(b, "actual", r->actual, true);
    json_member(b, "warnings", r->warnings.len ? sbuf_str(&r->warnings) : NULL, true);
    json_member(b, "transcript", r->transcript, true);
    sbuf_putc(b, '}');
}

static void write_json(FILE *f, const pc_result *rs, size_t n, const pc_summary *s, const pc_spec *spec,
                       const char *target)
{
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "{\"suite\":\"panp-conformance\"");
    json_member(&b, "target", target, true);
    sbuf_printf(&b, ",\"summary\":{\"pass\":%zu,\"warn\":%zu,\"skip\":%zu,\"fail\":%zu,\"error\":%zu,\"duration_s\":%.3f}",
                s->pass, s->warn, s->skip, s->fail, s->error, (double)s->duration_us / 1e6);
    sbuf_puts(&b, ",\"cases\":[\n");
    for (size_t i = 0; i < n; i++) {
        json_case(&b, &rs[i], spec);
        sbuf_puts(&b, i + 1 < n ? ",\n" : "\n");
    }
    sbuf_puts(&b, "]}\n");
    fputs(sbuf_str(&b), f);
    sbuf_free(&b);
}

void pc_report_write(FILE *f, pc_format fmt, const pc_result *results, size_t n, const pc_summary *s,
                     const pc_spec *spec, const char *target)
{
    switch (fmt) {
    case PC_FMT_TEXT:
        for (size_t i = 0; i < n; i++) pc_report_text_case(f, &results[i], spec, false);
        pc_report_text_summary(f, s, false);
        break;
    case PC_FMT_TAP: write_tap(f, results, n, spec); break;
    case PC_FMT_JUNIT: write_junit(f, results, n, s, spec, target); break;
    case PC_FMT_JSON: write_json(f, results, n, s, spec, target); break;
    }
}
