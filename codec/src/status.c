/* status.c - errors as values: filling a panp_status.
 *
 * The message always starts with the field path so that a log line or an
 * Error frame built from it names the culprit without more context.
 */
#include <stdarg.h>
#include <string.h>

#include "fmt.h"
#include "panp/codec.h"
#include "status.h"

panp_error_code panp_status_set(panp_status *st, panp_error_code code, size_t offset,
                                const char *field, const char *fmt, ...)
{
    if (!st)
        return code;
    st->code = code;
    st->offset = offset;
    st->request_id = 0;
    if (!field)
        field = "";
    fmt_s(st->field, sizeof st->field, "%s", field);
    size_t n = field[0] ? fmt_s(st->message, sizeof st->message, "%s: ", field) : 0;
    va_list ap;
    va_start(ap, fmt);
    fmt_v(st->message + n, sizeof st->message - n, fmt, ap);
    va_end(ap);
    return code;
}

panp_error_code panp_status_short_buffer(panp_status *st, uint64_t request_id)
{
    static const char msg[] = "frame: output buffer too small (see needed)";
    if (!st)
        return PANP_ERR_RESOURCE_EXHAUSTED;
    st->code = PANP_ERR_RESOURCE_EXHAUSTED;
    st->offset = SIZE_MAX;
    st->request_id = request_id;
    memcpy(st->field, "frame", sizeof "frame");
    memcpy(st->message, msg, sizeof msg);
    return PANP_ERR_RESOURCE_EXHAUSTED;
}
