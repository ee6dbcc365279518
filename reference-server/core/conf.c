/* conf.c - the broker's configuration as data, and the access questions the
 * core asks of it. */
#include "conf.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void conf_default_limits(panpd_limits *l)
{
    l->max_frame_size = 65536;
    l->max_registrations = 64;
    l->max_registrations_per_user = 256;
    l->max_channels = 64;
    l->max_channels_per_user = 256;
    l->max_outbound_bytes = 1024 * 1024;
    l->control_allowance_bytes = 64 * 1024;
    l->keepalive_interval_ms = 30000;
    l->keepalive_timeout_ms = 90000;
    l->max_lease_seconds = 86400;
    l->hello_timeout_ms = 10000;
    l->flush_timeout_ms = 5000;
    l->max_registrations_total = 10000;
    l->max_channels_total = 10000;
    l->max_pending_connections = 256;
    l->max_pending_per_peer = 32;
}

panpd_config *conf_new(void)
{
    panpd_config *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->log_level = LOG_INFO;
    conf_default_limits(&c->limits);
    return c;
}

int strlist_add(strlist *l, const char *s)
{
    char *dup = strdup(s);
    char **v = dup ? realloc(l->v, (l->n + 1) * sizeof(*v)) : NULL;
    if (!v) {
        free(dup);
        return -1;
    }
    v[l->n++] = dup;
    l->v = v;
    return 0;
}

bool strlist_has(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], "*") == 0 || strcmp(l->v[i], s) == 0) return true;
    return false;
}

void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void conf_free(panpd_config *c)
{
    if (!c) return;
    free(c->server_name);
    strlist_free(&c->listen);
    free(c->users_file);
    for (size_t i = 0; i < c->nprinters; i++) {
        free(c->printers[i].name);
        strlist_free(&c->printers[i].admins);
    }
    free(c->printers);
    strlist_free(&c->server_admins);
    strlist_free(&c->senders);
    strlist_free(&c->trusted);
    for (size_t i = 0; i < c->ntokens; i++) {
        OPENSSL_cleanse(c->tokens[i].sha256, sizeof(c->tokens[i].sha256));
        free(c->tokens[i].user);
    }
    free(c->tokens);
    free(c);
}

int conf_add_printer(panpd_config *c, const char *name)
{
    char *dup = strdup(name);
    panpd_printer *p = dup ? realloc(c->printers, (c->nprinters + 1) * sizeof(*p)) : NULL;
    if (!p) {
        free(dup);
        return -1;
    }
    c->printers = p;
    p[c->nprinters].name = dup;
    p[c->nprinters].admins = (strlist){0};
    return (int)c->nprinters++;
}

int conf_add_token(panpd_config *c, const char *user, const uint8_t sha256[32])
{
    char *dup = strdup(user);
    panpd_token *t = dup ? realloc(c->tokens, (c->ntokens + 1) * sizeof(*t)) : NULL;
    if (!t) {
        free(dup);
        return -1;
    }
    c->tokens = t;
    t[c->ntokens].user = dup;
    memcpy(t[c->ntokens].sha256, sha256, 32);
    c->ntokens++;
    return 0;
}

int conf_check(const panpd_config *c, char *err, size_t errlen)
{
    const panpd_limits *l = &c->limits;
    if (!c->server_name || !*c->server_name || strlen(c->server_name) > 255) {
        snprintf(err, errlen, "server.name: 1 to 255 bytes required");
        return -1;
    }
    if (l->max_frame_size < 4096 || l->max_frame_size > 16 * 1024 * 1024) {
        snprintf(err, errlen, "limits.max_frame_size: must be 4096..16777216");
        return -1;
    }
    if (l->keepalive_interval_ms == 0 || l->keepalive_timeout_ms / 2 < l->keepalive_interval_ms) {
        snprintf(err, errlen, "limits.keepalive_timeout_ms: must be at least twice keepalive_interval_ms > 0");
        return -1;
    }
    if (l->max_outbound_bytes < 131072) {
        snprintf(err, errlen, "limits.max_outbound_bytes: at least 131072");
        return -1;
    }
    if (l->hello_timeout_ms == 0 || l->flush_timeout_ms == 0 || l->max_registrations == 0 ||
        l->max_channels == 0 || l->max_registrations_per_user == 0 || l->max_channels_per_user == 0 ||
        l->max_registrations_total == 0 || l->max_channels_total == 0 ||
        l->max_pending_connections == 0 || l->max_pending_per_peer == 0) {
        snprintf(err, errlen, "limits: counts and timeouts must be > 0");
        return -1;
    }
    for (size_t i = 0; i < c->nprinters; i++) {
        const char *n = c->printers[i].name;
        if (!*n || strlen(n) > 255) {
            snprintf(err, errlen, "printer name: 1 to 255 bytes required");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->printers[j].name, n) == 0) {
                snprintf(err, errlen, "printer %s: configured twice", n);
                return -1;
            }
    }
    return 0;
}

uint32_t conf_printer_target(const panpd_config *c, const char *name)
{
    for (size_t i = 0; i < c->nprinters; i++)
        if (strcmp(c->printers[i].name, name) == 0) return (uint32_t)i + 1;
    return 0;
}

const char *conf_target_name(const panpd_config *c, uint32_t target)
{
    if (target == CONF_TARGET_SERVER || target > c->nprinters) return NULL;
    return c->printers[target - 1].name;
}

bool conf_is_server_admin(const panpd_config *c, const char *user)
{
    return strlist_has(&c->server_admins, user);
}

bool conf_is_admin_of(const panpd_config *c, const char *user, uint32_t target)
{
    if (conf_is_server_admin(c, user)) return true;
    if (target == CONF_TARGET_SERVER || target > c->nprinters) return false;
    return strlist_has(&c->printers[target - 1].admins, user);
}

bool conf_is_sender(const panpd_config *c, const char *user)
{
    return strlist_has(&c->senders, user);
}

bool conf_is_trusted(const panpd_config *c, const char *user)
{
    return strlist_has(&c->trusted, user);
}

const char *conf_token_user(const panpd_config *c, const uint8_t *token, size_t len)
{
    uint8_t h[SHA256_DIGEST_LENGTH];
    const char *found = NULL;
    if (len == 0) return NULL;
    SHA256(token, len, h);
    for (size_t i = 0; i < c->ntokens; i++) {
        /* No early exit: every entry is compared whatever matched before. */
        int eq = CRYPTO_memcmp(h, c->tokens[i].sha256, sizeof(h)) == 0;
        if (eq && !found) found = c->tokens[i].user;
    }
    OPENSSL_cleanse(h, sizeof(h));
    return found;
}
