/* registry.c - the list of every case, static and vector-driven. */
#include "registry.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "vectors.h"

static const pc_case_table *const BROKER_TABLES[] = {
    &pc_cases_connection, &pc_cases_framing, &pc_cases_auth, &pc_cases_tls, &pc_cases_registration, &pc_cases_channel,
    &pc_cases_bidi,       &pc_cases_delivery, &pc_cases_death, &pc_cases_flow,
};

static void add(pc_registry *r, const pc_case_def *def, pc_mode mode)
{
    r->v = pc_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
    r->v[r->n++] = (pc_entry){def, mode};
}

void pc_registry_build(pc_registry *r, const char *vectors_dir)
{
    memset(r, 0, sizeof(*r));
    for (size_t t = 0; t < sizeof(BROKER_TABLES) / sizeof(BROKER_TABLES[0]); t++)
        for (size_t i = 0; i < BROKER_TABLES[t]->n; i++) add(r, &BROKER_TABLES[t]->cases[i], PC_MODE_BROKER);
    char err[512];
    pc_vectors *v = pc_vectors_load(vectors_dir, err, sizeof(err));
    r->vectors = v;
    if (v) {
        for (size_t i = 0; i < pc_vectors_count(v); i++) add(r, pc_vectors_case(v, i), PC_MODE_BROKER);
    } else {
        r->vectors_error = pc_xstrdup(err);
        r->dynamic = pc_xcalloc(1, sizeof(*r->dynamic));
        r->ndynamic = 1;
        r->dynamic[0] = (pc_case_def){
            .name = "vector.negative.index",
            .reqs = "PANP-WIRE-9",
            .summary = "the negative golden vectors can be loaded (the suite reports ERROR when they cannot)",
            .run = pc_vectors_missing_run,
            .arg = r->vectors_error,
        };
        add(r, &r->dynamic[0], PC_MODE_BROKER);
    }
    for (size_t i = 0; i < pc_cases_client.n; i++) add(r, &pc_cases_client.cases[i], PC_MODE_CLIENT);
    for (size_t i = 0; i < pc_vectors_client_count(v); i++) add(r, pc_vectors_client_case(v, i), PC_MODE_CLIENT);
}

void pc_registry_free(pc_registry *r)
{
    pc_vectors_free(r->vectors);
    free(r->dynamic);
    free(r->vectors_error);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

bool pc_name_selected(const char *name, char *const *only, size_t nonly, char *const *exclude, size_t nexclude)
{
    bool in = nonly == 0;
    for (size_t i = 0; i < nonly && !in; i++) in = fnmatch(only[i], name, 0) == 0;
    for (size_t i = 0; i < nexclude && in; i++) in = fnmatch(exclude[i], name, 0) != 0;
    return in;
}
