/* addr.h - broker addresses as SPEC 4.1 writes them: unix:PATH,
 * tcp:HOST:PORT and tls:HOST:PORT (HOST a name, an IPv4 literal or
 * [IPv6]), and, for panpd's own configuration only, tcp:PORT and tls:PORT
 * meaning loopback. */
#ifndef PANPD_ADDR_H
#define PANPD_ADDR_H

#include <stddef.h>

typedef enum { ADDR_UNIX = 1, ADDR_TCP = 2, ADDR_TLS = 3 } addr_kind;

typedef struct listen_addr {
    addr_kind kind;
    char path[108]; /* unix: sun_path's size */
    char host[256]; /* tcp, tls: without brackets */
    char port[6];
} listen_addr;

/* 0, or -1 with a reason in err. */
int addr_parse(const char *spec, listen_addr *out, char *err, size_t errlen);

#endif
