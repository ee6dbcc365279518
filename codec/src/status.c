/* status.c - errors as values: filling a panp_status.
 *
 * The message always starts with the field path so that a log line or an
 * Error frame built from it names the culprit without more context.
 */
#include <stdarg.h>
#include <string.h>

#include "fmt.h"
#include "panp/codec.h"

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
