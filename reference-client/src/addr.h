/* addr.h - broker addresses ("unix:PATH", "tcp:HOST:PORT", "tls:HOST:PORT")
 * and the non-blocking connect that starts every connection. */
#ifndef PANP_CLIENT_ADDR_H
#define PANP_CLIENT_ADDR_H

#include <stdbool.h>

#include "panp/client.h"

typedef enum { ADDR_UNIX = 1, ADDR_TCP = 2, ADDR_TLS = 3 } addr_kind;

typedef struct paddr {
    addr_kind kind;
    char path[108];  /* ADDR_UNIX */
    char host[256];  /* ADDR_TCP, ADDR_TLS: without brackets */
    char port[16];
} paddr;

/* Parses spec into *a; INVALID_ARGUMENT with a message naming the problem. */
panp_error_code addr_parse(const char *spec, paddr *a, panp_status *st);

/* Creates a non-blocking socket and starts connecting it.  *fd is the
 * socket; *pending is true when the connect is still in progress (wait for
 * writability, then addr_finish()).  PANP_ERR_CONNECT when it failed.
 * loopback_only: tcp addresses that are not loopback addresses are not
 * tried (a token must not cross the network in clear, SPEC SEC-10);
 * PANP_ERR_INVALID_ARGUMENT when that leaves none. */
panp_error_code addr_connect(const paddr *a, bool loopback_only, int *fd, bool *pending,
                             panp_status *st);

/* After writability: did the pending connect succeed? */
panp_error_code addr_finish(int fd, const paddr *a, panp_status *st);

#endif
