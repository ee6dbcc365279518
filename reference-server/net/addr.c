/* addr.c - parsing of listen addresses (see addr.h). */
#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *spec, const char *why)
{
    snprintf(err, errlen, "listen address \"%s\": %s", spec, why);
    return -1;
}

static int parse_port(const char *p, char out[6])
{
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p)) return -1;
    long v = strtol(p, NULL, 10);
    if (v < 0 || v > 65535) return -1;
    snprintf(out, 6, "%ld", v);
    return 0;
}

static int parse_inet(const char *spec, const char *rest, listen_addr *out, addr_kind kind, char *err,
                      size_t errlen)
{
    const char *colon;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':') return bad(err, errlen, spec, "want tcp:[IPV6]:PORT or tls:[IPV6]:PORT");
        size_t n = (size_t)(close - rest - 1);
        if (n == 0 || n >= sizeof(out->host)) return bad(err, errlen, spec, "bad host");
        memcpy(out->host, rest + 1, n);
        out->host[n] = 0;
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon) {
            /* tcp:PORT, tls:PORT: loopback, the binding's safe default (SPEC TRANS-9) */
            snprintf(out->host, sizeof(out->host), "127.0.0.1");
            colon = rest - 1;
        } else {
            size_t n = (size_t)(colon - rest);
            if (n == 0 || n >= sizeof(out->host) || memchr(rest, ':', n))
                return bad(err, errlen, spec, "want tcp:HOST:PORT or tls:HOST:PORT (IPv6 in brackets)");
            memcpy(out->host, rest, n);
            out->host[n] = 0;
        }
    }
    if (parse_port(colon + 1, out->port) != 0) return bad(err, errlen, spec, "bad port");
    out->kind = kind;
    return 0;
}

int addr_parse(const char *spec, listen_addr *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(spec, "unix:", 5) == 0) {
        const char *path = spec + 5;
        if (!*path) return bad(err, errlen, spec, "empty path");
        if (strlen(path) >= sizeof(out->path)) return bad(err, errlen, spec, "path too long");
        snprintf(out->path, sizeof(out->path), "%s", path);
        out->kind = ADDR_UNIX;
        return 0;
    }
    if (strncmp(spec, "tcp:", 4) == 0) return parse_inet(spec, spec + 4, out, ADDR_TCP, err, errlen);
    if (strncmp(spec, "tls:", 4) == 0) return parse_inet(spec, spec + 4, out, ADDR_TLS, err, errlen);
    return bad(err, errlen, spec, "want unix:PATH, tcp:HOST:PORT or tls:HOST:PORT");
}
