/* report.h - writing results: text (for people), TAP, JUnit XML and JSON
 * (for CI systems and dashboards).
 *
 * Every format carries, for a failure, the requirement ID and its SPEC
 * text, expected versus actual, and the wire transcript of the case.  The
 * summary counts SKIP apart: a skipped case is never a pass. */
#ifndef PC_REPORT_H
#define PC_REPORT_H

#include <stdio.h>

#include "harness.h"

typedef enum { PC_FMT_TEXT = 1, PC_FMT_TAP, PC_FMT_JUNIT, PC_FMT_JSON } pc_format;

typedef struct pc_summary {
    size_t pass, warn, skip, fail, error;
    int64_t duration_us;
} pc_summary;

bool pc_format_parse(const char *s, pc_format *out);
void pc_summary_add(pc_summary *s, const pc_result *r);

/* Streaming text output: one line per case as it finishes, details for
 * failures and warnings. */
void pc_report_text_case(FILE *f, const pc_result *r, const pc_spec *spec, bool verbose);
void pc_report_text_summary(FILE *f, const pc_summary *s, bool strict);

/* Whole-run reports. */
void pc_report_write(FILE *f, pc_format fmt, const pc_result *results, size_t n, const pc_summary *s,
                     const pc_spec *spec, const char *target);

#endif
