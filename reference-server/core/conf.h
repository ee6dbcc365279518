/* conf.h - what panpd was told: names, access lists, token hashes, limits.
 *
 * Plain data shared by the INI loader (config.c), which builds it, and the
 * core, which only reads it.  Targets are numbered for the core: 0 is the
 * print server, 1..nprinters the configured printers in order. */
#ifndef PANPD_CONF_H
#define PANPD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_TARGET_SERVER 0u

typedef enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;

typedef struct panpd_limits {
    uint32_t max_frame_size;
    uint32_t max_registrations;          /* per connection */
    uint32_t max_registrations_per_user;
    uint32_t max_channels;               /* per connection */
    uint32_t max_channels_per_user;
    uint32_t max_outbound_bytes;
    uint32_t control_allowance_bytes;    /* control frames beyond max_outbound_bytes */
    uint32_t keepalive_interval_ms;
    uint32_t keepalive_timeout_ms;
    uint32_t max_lease_seconds;          /* 0: uncapped */
    uint32_t hello_timeout_ms;
    uint32_t flush_timeout_ms;           /* how long a closing connection may drain */
    uint32_t max_registrations_total;    /* broker-wide */
    uint32_t max_channels_total;         /* broker-wide */
    uint32_t max_pending_connections;    /* not yet READY, in total */
    uint32_t max_pending_per_peer;       /* not yet READY, per uid or address */
} panpd_limits;

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

typedef struct panpd_printer {
    char *name;
    strlist admins;
} panpd_printer;

typedef struct panpd_token {
    char *user;
    uint8_t sha256[32];
} panpd_token;

typedef struct panpd_config {
    char *server_name;
    strlist listen;        /* "unix:PATH", "tcp:HOST:PORT" */
    char *users_file;      /* NULL: no TOKEN users */
    log_level log_level;
    panpd_printer *printers;
    size_t nprinters;
    strlist server_admins; /* "*" in a list means every authenticated user */
    strlist senders;
    strlist trusted;
    panpd_token *tokens;
    size_t ntokens;
    bool allow_remote_tokens; /* TOKEN from non-loopback tcp peers (SPEC SEC-9) */
    panpd_limits limits;
} panpd_config;

panpd_config *conf_new(void); /* default limits, no names */
void conf_free(panpd_config *c);
void conf_default_limits(panpd_limits *l);
/* Returns 0 or -1 (out of memory). */
int strlist_add(strlist *l, const char *s);
bool strlist_has(const strlist *l, const char *s);
void strlist_free(strlist *l);
int conf_add_printer(panpd_config *c, const char *name); /* returns its index or -1 */
int conf_add_token(panpd_config *c, const char *user, const uint8_t sha256[32]);
/* Sanity of values that came from a file; writes a reason into err. */
int conf_check(const panpd_config *c, char *err, size_t errlen);

/* 0 when the printer is not configured, else its target number. */
uint32_t conf_printer_target(const panpd_config *c, const char *name);
const char *conf_target_name(const panpd_config *c, uint32_t target); /* NULL for the server */
bool conf_is_server_admin(const panpd_config *c, const char *user);
bool conf_is_admin_of(const panpd_config *c, const char *user, uint32_t target);
bool conf_is_sender(const panpd_config *c, const char *user);
bool conf_is_trusted(const panpd_config *c, const char *user);
/* The user whose token this is, or NULL.  Hashes the token and compares it
 * with every stored hash in constant time, so neither a match nor its
 * position leaks through timing. */
const char *conf_token_user(const panpd_config *c, const uint8_t *token, size_t len);

#endif
