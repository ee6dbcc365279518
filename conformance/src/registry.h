/* registry.h - every case the suite knows: the static tables of the case
 * files plus one case per negative golden vector.
 *
 * Names are stable: a case keeps its name for life (tables may be
 * reordered freely; nothing is numbered by position). */
#ifndef PC_REGISTRY_H
#define PC_REGISTRY_H

#include "harness.h"

typedef enum { PC_MODE_BROKER = 1, PC_MODE_CLIENT = 2 } pc_mode;

typedef struct pc_entry {
    const pc_case_def *def;
    pc_mode mode;
} pc_entry;

typedef struct pc_registry {
    pc_entry *v;
    size_t n;
    pc_case_def *dynamic;   /* vector cases, owned */
    size_t ndynamic;
    void *vectors;          /* owned vector data */
    char *vectors_error;    /* why the vector cases could not be built, or NULL */
} pc_registry;

void pc_registry_build(pc_registry *r, const char *vectors_dir);
void pc_registry_free(pc_registry *r);
/* Glob filters (fnmatch) on case names: a case runs when it matches some
 * --only pattern (or there are none) and no --exclude pattern. */
bool pc_name_selected(const char *name, char *const *only, size_t nonly, char *const *exclude, size_t nexclude);

/* The case tables, one per case file (cases/ *.c, client/ *.c). */
typedef struct pc_case_table {
    const pc_case_def *cases;
    size_t n;
} pc_case_table;

extern const pc_case_table pc_cases_connection;
extern const pc_case_table pc_cases_framing;
extern const pc_case_table pc_cases_auth;
extern const pc_case_table pc_cases_tls;
extern const pc_case_table pc_cases_registration;
extern const pc_case_table pc_cases_channel;
extern const pc_case_table pc_cases_bidi;
extern const pc_case_table pc_cases_delivery;
extern const pc_case_table pc_cases_death;
extern const pc_case_table pc_cases_flow;
extern const pc_case_table pc_cases_client;

#define PC_TABLE(name, array) const pc_case_table name = {array, sizeof(array) / sizeof(array[0])}

#endif
