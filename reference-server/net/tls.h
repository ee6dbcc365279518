/* tls.h - the broker's side of the tls: binding (SPEC 4.4) on OpenSSL 3.
 *
 * One server context for every tls: listener, built from the [tls]
 * section: TLS 1.3 (1.2 only when configured), ALPN "panp/1", no session
 * resumption, client certificates verified against the configured CA and
 * mapped to a user (subject CN or a subjectAltName, through the optional
 * identity map).  The event loop (net.c) drives each SSL object on its
 * non-blocking socket; this file builds them and explains their failures. */
#ifndef PANPD_TLS_H
#define PANPD_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef struct tls_server tls_server;

/* What certificate verification said about the peer's chain, kept for the
 * log line when the handshake fails. */
typedef struct tls_verify_note {
    int error;          /* X509_V_OK when nothing failed */
    int depth;
    char subject[256];
} tls_verify_note;

/* NULL with a reason in err (unreadable files, a key not matching its
 * certificate, ...). */
tls_server *tls_server_new(const panpd_tls_settings *t, char *err, size_t errlen);
void tls_server_free(tls_server *s);

/* A server-side SSL on the accepted, non-blocking fd; note receives the
 * verification failure, if any, and must live as long as the SSL. */
SSL *tls_server_ssl(tls_server *s, int fd, tls_verify_note *note);

/* After a completed handshake: the user the client certificate names
 * (true), or false with the reason in why ("no client certificate", "CN
 * \"mallory\" is not in the identity map", ...).  desc describes the
 * certificate for logs either way ("" without one). */
bool tls_peer_user(const tls_server *s, SSL *ssl, char *user, size_t ulen, char *why, size_t whylen,
                   char *desc, size_t desclen);

/* One line on why SSL_do_handshake() (or a later read or write) failed
 * with ret; drains OpenSSL's error queue. */
void tls_explain_failure(SSL *ssl, int ret, int saved_errno, const tls_verify_note *note, char *buf,
                         size_t len);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
void tls_describe_session(SSL *ssl, char *buf, size_t len);

#endif
