/* config.h - panpd's INI configuration: loading, checking, and the
 * embedded default used when no file is given.
 *
 *   [server]   name, listen (repeatable), users_file, allow_remote_tokens
 *   [printer NAME]  admins
 *   [access]   server_admins, senders, trusted
 *   [limits]   max_frame_size, max_registrations, max_registrations_per_user,
 *              max_registrations_total, max_channels, max_channels_per_user,
 *              max_channels_total, max_outbound_bytes, keepalive_interval_ms,
 *              keepalive_timeout_ms, max_lease_seconds, hello_timeout_ms,
 *              flush_timeout_ms, max_pending_connections, max_pending_per_peer
 *   [log]      level = error | warn | info | debug
 *
 * Lists are separated by commas or blanks.  The users file holds one
 * "USER:SHA256-HEX-OF-TOKEN" per line; tokens themselves are never stored. */
#ifndef PANPD_CONFIG_H
#define PANPD_CONFIG_H

#include <stddef.h>

#include "conf.h"

/* NULL with a reason ("FILE:LINE: ...") in err. */
panpd_config *config_load_file(const char *path, char *err, size_t errlen);
/* `name` is used in messages and to resolve a relative users_file (its
 * directory), like a file path. */
panpd_config *config_load_string(const char *text, const char *name, char *err, size_t errlen);
/* The embedded default for `user` (the user running panpd); malloc'd. */
char *config_default_text(const char *user);
int config_parse_level(const char *s, log_level *out);
const char *config_level_name(log_level lv);

#endif
