/* json.c - see json.h. */
#include "json.h"

#include <math.h>

static void key(jout *j, const char *k)
{
    fprintf(j->f, "%s\"%s\":", j->n++ ? "," : "", k);
}

void j_begin(jout *j, FILE *f)
{
    j->f = f;
    j->n = 0;
    fputc('{', f);
}

void j_str(jout *j, const char *k, const char *v)
{
    key(j, k);
    fputc('"', j->f);
    for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(j->f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(j->f, "\\u%04x", *p);
        else
            fputc(*p, j->f);
    }
    fputc('"', j->f);
}

void j_int(jout *j, const char *k, int64_t v)
{
    key(j, k);
    fprintf(j->f, "%lld", (long long)v);
}

void j_num(jout *j, const char *k, double v)
{
    key(j, k);
    if (isfinite(v))
        fprintf(j->f, "%.6g", v);
    else
        fputs("null", j->f);
}

void j_bool(jout *j, const char *k, int v)
{
    key(j, k);
    fputs(v ? "true" : "false", j->f);
}

void j_raw(jout *j, const char *k, const char *v)
{
    key(j, k);
    fputs(v, j->f);
}

void j_end(jout *j)
{
    fputs("}\n", j->f);
    fflush(j->f);
}
