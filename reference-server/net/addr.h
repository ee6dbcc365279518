/* addr.h - broker addresses as SPEC 4.1 writes them: unix:PATH,
 * tcp:HOST:PORT (HOST a name, an IPv4 literal or [IPv6]), and, for panpd's
 * own configuration only, tcp:PORT meaning loopback.  tls: is reserved and
 * refused (SPEC TRANS-8). */
#ifndef PANPD_ADDR_H
#define PANPD_ADDR_H

#include <stddef.h>

typedef enum { ADDR_UNIX = 1, ADDR_TCP = 2 } addr_kind;

typedef struct listen_addr {
    addr_kind kind;
    char path[108]; /* unix: sun_path's size */
    char host[256]; /* tcp, without brackets */
    char port[6];
} listen_addr;

/* 0, or -1 with a reason in err. */
int addr_parse(const char *spec, listen_addr *out, char *err, size_t errlen);

#endif
