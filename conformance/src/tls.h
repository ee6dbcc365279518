/* tls.h - the tls: binding (SPEC 4.4) for the suite, both ways, without
 * changing how the suite reads and writes.
 *
 * pc_tls_dial() connects, runs the TLS handshake (TLS 1.3, ALPN panp/1,
 * the broker verified against the profile's tls_ca and name, the
 * identity's client certificate if any) and returns one end of a Unix
 * socketpair; a relay thread moves bytes between the other end and the TLS
 * session.  Everything above dial.c then works on that descriptor as on a
 * tcp: one: the broker's close arrives as EOF, the suite's close becomes
 * close_notify and a closed TCP connection.  What does not carry over: a
 * reset the suite makes (SO_LINGER 0) reaches the broker as an orderly
 * close, and a reset by the broker as EOF.  Probe options (dial.h) offer
 * other ALPN lists and TLS versions, for the cases that check the broker
 * refuses them.
 *
 * pc_tls_accept() is the other side, for the client-side mode: the suite
 * plays a tls: broker with a certificate from its own throwaway PKI
 * (generated in memory on first use; the CA is written to a temporary file
 * the client under test is told to trust), records what the ClientHello
 * offered (ALPN, SNI), and returns a relayed descriptor the same way. */
#ifndef PC_TLS_H
#define PC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dial.h"

/* What a dial learned (pc_dial_opts.tls_info). */
typedef struct pc_tls_info {
    bool hello_sent;       /* a ClientHello left: a failure was the broker's answer, not ours */
    bool handshake_done;
    char version[16];      /* negotiated, e.g. "TLSv1.3" */
    char alpn[64];         /* the protocol the broker selected; "" none */
} pc_tls_info;

/* A connected, blocking descriptor (pc_dial() makes it non-blocking), or
 * -1 with the reason ("TLS handshake with tls:...: ...") in err. */
int pc_tls_dial(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen);
/* A plain TCP connection to HOST:PORT (blocking, TCP_NODELAY), from
 * bind_host when not NULL; -1 with the reason. */
int pc_tls_tcp_connect(const pc_addr *a, int rcvbuf, const char *bind_host, char *err, size_t errlen);

/* Waits (at most timeout_ms) until every relay thread has ended: their
 * connections are closed when a case ends; call before exiting, so no
 * thread still holds OpenSSL state then. */
void pc_tls_quiesce(int timeout_ms);

/* ---- the suite as a tls: broker -------------------------------------------- */

typedef enum {
    PC_BCERT_GOOD = 0,     /* localhost, 127.0.0.1, ::1; from the suite's CA; valid now */
    PC_BCERT_WRONG_NAME,   /* wrong.example only */
    PC_BCERT_OTHER_CA,     /* like GOOD, from a CA nobody trusts */
    PC_BCERT_EXPIRED,      /* like GOOD, expired yesterday */
    PC_BCERT_COUNT
} pc_broker_cert;

/* The name PC_BCERT_WRONG_NAME carries. */
#define PC_BCERT_OTHER_NAME "wrong.example"

/* The PEM file of the CA the suite's broker certificates chain to (made on
 * first use, removed at exit), or NULL with the reason. */
const char *pc_tls_suite_ca(char *err, size_t errlen);

typedef struct pc_tls_server_info {
    uint8_t first[8];      /* the client's first bytes, before any TLS */
    size_t nfirst;
    bool client_hello;     /* a ClientHello was parsed */
    bool alpn_offered;
    char alpn[256];        /* offered protocols, comma-separated */
    bool sni_sent;
    char sni[256];
    bool handshake_done;
    char version[16];
} pc_tls_server_info;

/* Runs the server side of a handshake on an accepted socket, within
 * timeout_ms.  Returns a relayed descriptor (blocking) on success; -1 with
 * the reason otherwise (info says how far it got: no bytes, not TLS, a
 * ClientHello but no completed handshake). */
int pc_tls_accept(int fd, pc_broker_cert cert, int timeout_ms, pc_tls_server_info *info, char *err, size_t errlen);

#endif
