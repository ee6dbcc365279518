/* config.h - panpd's INI configuration: loading, checking, and the
 * embedded default used when no file is given.
 *
 *   [server]   name, listen (repeatable), users_file, insecure_plaintext_tokens
 *              (allow_remote_tokens is its older name)
 *   [tls]      cert, key, ca, crl, auth = external | token | external token,
 *              client_cert = required | optional | none,
 *              client_identity = cn | san-email | san-uri | san-dns,
 *              identity_map, min_version = 1.3 | 1.2
 *   [printer NAME]  admins
 *   [access]   server_admins, senders, trusted
 *   [limits]   max_frame_size, max_registrations, max_registrations_per_user,
 *              max_registrations_total, max_channels, max_channels_per_user,
 *              max_channels_total, max_outbound_bytes, keepalive_interval_ms,
 *              keepalive_timeout_ms, max_lease_seconds, hello_timeout_ms,
 *              flush_timeout_ms, max_pending_connections, max_pending_per_peer,
 *              max_connections, max_connections_per_peer, tls_handshake_timeout_ms
 *   [log]      level = error | warn | info | debug
 *
 * Lists are separated by commas or blanks.  The users file holds one
 * "USER:SHA256-HEX-OF-TOKEN" per line; tokens themselves are never stored.
 * The identity map holds one "USER:CERTIFICATE-IDENTITY" per line.  Paths
 * are relative to the configuration file's directory. */
#ifndef PANPD_CONFIG_H
#define PANPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Which part of a verified client certificate names its user. */
typedef enum {
    TLS_ID_CN = 1,        /* the subject's commonName (exactly one) */
    TLS_ID_SAN_EMAIL = 2, /* a subjectAltName rfc822Name */
    TLS_ID_SAN_URI = 3,   /* a subjectAltName uniformResourceIdentifier */
    TLS_ID_SAN_DNS = 4    /* a subjectAltName dNSName */
} tls_identity_kind;

typedef enum {
    TLS_CLIENT_CERT_REQUIRED = 1, /* no certificate, no handshake */
    TLS_CLIENT_CERT_OPTIONAL = 2, /* asked for and verified when sent */
    TLS_CLIENT_CERT_NONE = 3      /* not asked for */
} tls_client_cert;

typedef struct tls_map_entry {
    char *identity; /* as the certificate states it */
    char *user;
} tls_map_entry;

/* The [tls] section: used by every tls: listener (net/tls.c). */
typedef struct panpd_tls_settings {
    bool configured;          /* the section exists */
    char *cert, *key;         /* the broker's chain and key (PEM) */
    char *ca;                 /* trust anchors for client certificates (PEM) */
    char *crl;                /* optional revocation list (PEM) */
    char *identity_map;       /* optional; without it the identity is the user name */
    tls_map_entry *map;
    size_t nmap;
    tls_identity_kind client_identity;
    tls_client_cert client_cert;
    bool offer_external, offer_token; /* Hello.auth mechanisms offered on tls: */
    int min_version;          /* TLS1_3_VERSION (default) or TLS1_2_VERSION */
} panpd_tls_settings;

/* Limits the event loop enforces before the core sees a connection. */
typedef struct panpd_net_limits {
    uint32_t max_connections;          /* open connections, every state */
    uint32_t max_connections_per_peer; /* the same per uid (unix) or address (tcp, tls) */
    uint32_t tls_handshake_timeout_ms;
} panpd_net_limits;

/* Everything panpd was told: the core's part and the event loop's. */
typedef struct panpd_settings {
    panpd_config *cfg;
    panpd_net_limits net;
    panpd_tls_settings tls;
} panpd_settings;

/* NULL with a reason ("FILE:LINE: ...") in err. */
panpd_settings *config_load_file(const char *path, char *err, size_t errlen);
/* `name` is used in messages and to resolve relative paths (its
 * directory), like a file path. */
panpd_settings *config_load_string(const char *text, const char *name, char *err, size_t errlen);
void config_free(panpd_settings *s);
/* The user a certificate identity maps to, or NULL (map configured), or
 * the identity itself (no map). */
const char *config_tls_user(const panpd_tls_settings *t, const char *identity);
const char *config_tls_identity_name(tls_identity_kind k);
/* The embedded default for `user` (the user running panpd); malloc'd. */
char *config_default_text(const char *user);
int config_parse_level(const char *s, log_level *out);
const char *config_level_name(log_level lv);

#endif
