/* json.h - one flat JSON object per line on stdout (the harness's record
 * of a run).  Keys are fixed identifiers; strings are escaped. */
#ifndef BENCH_JSON_H
#define BENCH_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct jout {
    FILE *f;
    int n;
} jout;

void j_begin(jout *j, FILE *f);
void j_str(jout *j, const char *k, const char *v);
void j_int(jout *j, const char *k, int64_t v);
void j_num(jout *j, const char *k, double v);
void j_bool(jout *j, const char *k, int v);
/* A raw JSON value (an array built by the caller). */
void j_raw(jout *j, const char *k, const char *v);
void j_end(jout *j);

#endif
