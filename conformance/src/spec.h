/* spec.h - the requirements of SPEC.md: IDs, levels and text.
 *
 * Reads requirements the way tools/check-spec.py defines them: a line or
 * bullet (or table row) starting with "[PANP-AREA-N]", its text running to
 * the next blank line, bullet, heading, table or code fence; the level is
 * the first RFC 2119 keyword in that text. */
#ifndef PC_SPEC_H
#define PC_SPEC_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    PC_LEVEL_NONE = 0,
    PC_LEVEL_MUST,
    PC_LEVEL_MUST_NOT,
    PC_LEVEL_SHOULD,
    PC_LEVEL_SHOULD_NOT,
    PC_LEVEL_MAY,
    PC_LEVEL_DEPRECATED
} pc_level;

typedef struct pc_requirement {
    char *id;
    pc_level level;
    char *text;     /* whitespace collapsed */
    char *section;  /* the nearest heading above it */
    int line;
} pc_requirement;

typedef struct pc_spec {
    pc_requirement *reqs;
    size_t n;
} pc_spec;

bool pc_spec_load(pc_spec *s, const char *path, char *err, size_t errlen);
void pc_spec_free(pc_spec *s);
const pc_requirement *pc_spec_find(const pc_spec *s, const char *id);
const char *pc_level_name(pc_level l);
bool pc_level_is_must(pc_level l); /* MUST or MUST NOT */

#endif
