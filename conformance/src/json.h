/* json.h - a small JSON reader for the vector index and the client adapter
 * protocol.
 *
 * The whole document becomes a tree the caller frees with pj_free().
 * Numbers keep their source text so 64-bit ids survive (a double would
 * round conversation ids above 2^53). */
#ifndef PC_JSON_H
#define PC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PJ_NULL, PJ_BOOL, PJ_NUM, PJ_STR, PJ_ARR, PJ_OBJ } pj_type;

typedef struct pj_value {
    pj_type type;
    bool b;
    char *str;              /* PJ_STR: decoded text; PJ_NUM: the literal */
    size_t slen;            /* PJ_STR: length (strings may hold \u0000) */
    struct pj_value *items; /* PJ_ARR / PJ_OBJ members */
    char **keys;            /* PJ_OBJ: one per item */
    size_t n;
} pj_value;

/* NULL on a syntax error, with a reason and offset in err. */
pj_value *pj_parse(const char *text, size_t len, char *err, size_t errlen);
void pj_free(pj_value *v);

/* Lookups return NULL / the default when the member is absent or of
 * another type. */
const pj_value *pj_get(const pj_value *obj, const char *key);
const char *pj_get_str(const pj_value *obj, const char *key, const char *dflt);
bool pj_get_bool(const pj_value *obj, const char *key, bool dflt);
/* Unsigned integers only; false when absent, negative, fractional or too
 * large. */
bool pj_get_u64(const pj_value *obj, const char *key, uint64_t *out);
bool pj_u64(const pj_value *v, uint64_t *out);

#endif
