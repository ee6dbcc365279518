/* util.c - clocks, status helpers, names and well-known types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

panp_error_code st_set(panp_status *st, panp_error_code code, const char *fmt, ...)
{
    if (!st)
        return code;
    memset(st, 0, sizeof *st);
    st->code = code;
    st->offset = SIZE_MAX;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
    return code;
}

panp_error_code st_copy(panp_status *dst, const panp_status *src)
{
    if (dst && dst != src)
        *dst = *src;
    return src->code;
}

char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool type_ok(const uint8_t *type, panp_status *st, const char *field)
{
    static const uint8_t nil[PANP_UUID_LEN];
    if (!type) {
        st_set(st, PANP_ERR_INVALID_ARGUMENT, "%s: a notification type is required", field);
        return false;
    }
    if (memcmp(type, nil, PANP_UUID_LEN) == 0 ||
        memcmp(type, PANP_TYPE_NOTIFICATION_RELEASE, PANP_UUID_LEN) == 0) {
        st_set(st, PANP_ERR_INVALID_ARGUMENT,
               "%s: the nil UUID and NOTIFICATION_RELEASE cannot be used", field);
        return false;
    }
    return true;
}

const char *panp_strerror(panp_error_code code)
{
    switch ((int)code) {
    case (int)PANP_ERR_IO: return "IO";
    case (int)PANP_ERR_CONNECT: return "CONNECT";
    case (int)PANP_ERR_TIMEOUT: return "TIMEOUT";
    case (int)PANP_ERR_DISCONNECTED: return "DISCONNECTED";
    case (int)PANP_ERR_NOMEM: return "NOMEM";
    case (int)PANP_ERR_TLS: return "TLS";
    case 0: return "OK";
    default: return panp_error_code_name(code);
    }
}

const char *panp_close_result_name(panp_close_result r)
{
    switch (r) {
    case PANP_CLOSE_RESULT_CLOSED: return "CLOSED";
    case PANP_CLOSE_RESULT_WITHDRAWN: return "WITHDRAWN";
    case PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER: return "ACQUIRED_BY_ANOTHER";
    case PANP_CLOSE_RESULT_ALREADY_CLOSED: return "ALREADY_CLOSED";
    case PANP_CLOSE_RESULT_NONE: break;
    }
    return "NONE";
}

static const struct {
    const char *name;
    const uint8_t *uuid;
} well_known[] = {
    {"release", PANP_TYPE_NOTIFICATION_RELEASE},
    {"async-ui", PANP_TYPE_ASYNC_UI},
    {"printer-configuration", PANP_TYPE_PRINTER_CONFIGURATION},
    {"port-monitor", PANP_TYPE_PORT_MONITOR_CHANNEL},
};

bool panp_type_parse(const char *text, uint8_t out[PANP_UUID_LEN])
{
    if (!text)
        return false;
    for (size_t i = 0; i < sizeof well_known / sizeof well_known[0]; i++) {
        if (strcmp(text, well_known[i].name) == 0) {
            memcpy(out, well_known[i].uuid, PANP_UUID_LEN);
            return true;
        }
    }
    return panp_uuid_parse(text, out);
}

const char *panp_type_name(const uint8_t type[PANP_UUID_LEN])
{
    for (size_t i = 0; i < sizeof well_known / sizeof well_known[0]; i++)
        if (memcmp(type, well_known[i].uuid, PANP_UUID_LEN) == 0)
            return well_known[i].name;
    return NULL;
}
