/* tls.h - reaching a tls: broker (SPEC 4.4) without changing how the suite
 * reads and writes.
 *
 * pc_tls_dial() connects, runs the TLS handshake (TLS 1.3, ALPN panp/1,
 * the broker verified against the profile's tls_ca and name, the
 * identity's client certificate if any) and returns one end of a Unix
 * socketpair; a relay thread moves bytes between the other end and the TLS
 * session.  Everything above dial.c then works on that descriptor as on a
 * tcp: one: the broker's close arrives as EOF, the suite's close becomes
 * close_notify and a closed TCP connection.  What does not carry over: a
 * reset the suite makes (SO_LINGER 0) reaches the broker as an orderly
 * close, and a reset by the broker as EOF. */
#ifndef PC_TLS_H
#define PC_TLS_H

#include <stddef.h>

#include "dial.h"

/* A connected, blocking descriptor (pc_dial() makes it non-blocking), or
 * -1 with the reason ("TLS handshake with tls:...: ...") in err. */
int pc_tls_dial(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen);

#endif
