/* net.h - panpd's thin event loop around the routing core.
 *
 * libevent 2.1 does the waiting; this layer accepts connections on the
 * configured unix:, tcp: and tls: addresses, proves identities
 * (SO_PEERCRED on Unix sockets, the verified client certificate on tls:),
 * enforces the limits that come before the core sees a connection (open
 * connections in total and per peer, the TLS handshake deadline), moves
 * bytes between sockets (through OpenSSL on tls:) and the core, and turns
 * the core's I/O wishes into socket operations.  Every protocol decision
 * stays in the core. */
#ifndef PANPD_NET_H
#define PANPD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "config.h"
#include "core.h"

typedef struct net net;

/* The settings are borrowed.  Builds the TLS context when a [tls] section
 * exists.  NULL with a reason in err. */
net *net_new(const panpd_settings *s, char *err, size_t errlen);
/* Binds every configured address.  -1 with a reason in err. */
int net_listen(net *n, char *err, size_t errlen);
/* Runs until a SIGTERM/SIGINT-started shutdown has flushed every
 * connection (or its deadline passed).  Returns 0. */
int net_run(net *n);
void net_free(net *n);

/* For tests and the event loop: milliseconds of CLOCK_MONOTONIC. */
uint64_t net_now_ms(void);
/* One log line to stderr if lv is enabled: "panpd: <level>: <text>". */
void net_log(const net *n, log_level lv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
