/* coverage.h - which SPEC requirements the cases check.
 *
 * `panp-conformance --coverage SPEC.md` lists every requirement with its
 * level and the cases citing it, and fails when a MUST / MUST NOT has no
 * case, when a case cites an ID the SPEC does not define, or when a waiver
 * (a requirement no black-box test can observe, with the reason) is stale:
 * it names an unknown ID, a non-MUST, or one a case now cites. */
#ifndef PC_COVERAGE_H
#define PC_COVERAGE_H

#include <stdio.h>

#include "registry.h"

typedef struct pc_waiver {
    const char *id;
    const char *reason;
} pc_waiver;

extern const pc_waiver pc_waivers[];
extern const size_t pc_n_waivers;

/* Returns the exit status: 0 when every rule holds. */
int pc_coverage(const pc_registry *reg, const char *spec_path, FILE *out);

/* Calls fn for each requirement ID in a case's reqs string. */
void pc_each_req(const char *reqs, void (*fn)(const char *id, void *arg), void *arg);

#endif
