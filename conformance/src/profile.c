/* profile.c - the INI profile reader and role selection. */
#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off")) {
        *out = false;
        return true;
    }
    return false;
}

static bool parse_u32(const char *v, uint32_t *out)
{
    if (!*v || strspn(v, "0123456789") != strlen(v)) return false;
    errno = 0;
    unsigned long x = strtoul(v, NULL, 10);
    if (errno || x > UINT32_MAX) return false;
    *out = (uint32_t)x;
    return true;
}

/* Splits a list on commas and blanks into dst (capacity cap). */
static bool parse_list(const char *v, char **dst, size_t *n, size_t cap)
{
    char *copy = pc_xstrdup(v), *save = NULL;
    bool ok = true;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (*n == cap) {
            ok = false;
            break;
        }
        dst[(*n)++] = pc_xstrdup(tok);
    }
    free(copy);
    return ok;
}

static bool broker_key(pc_profile *p, const char *k, const char *v)
{
    if (!strcmp(k, "printers")) return parse_list(v, p->printers, &p->n_printers, PC_MAX_PRINTERS);
    if (!strcmp(k, "features")) return parse_list(v, p->features, &p->n_features, PC_MAX_FEATURES);
    if (!strcmp(k, "absent_printer")) {
        free(p->absent_printer);
        p->absent_printer = pc_xstrdup(v);
        return true;
    }
    if (!strcmp(k, "max_registrations_per_user")) return parse_u32(v, &p->max_registrations_per_user);
    if (!strcmp(k, "max_channels_per_user")) return parse_u32(v, &p->max_channels_per_user);
    if (!strcmp(k, "hello_timeout_ms")) return parse_u32(v, &p->hello_timeout_ms);
    if (!strcmp(k, "unknown_uid")) return p->has_unknown_uid = parse_u32(v, &p->unknown_uid);
    if (!strcmp(k, "flush_timeout_ms")) return parse_u32(v, &p->flush_timeout_ms);
    if (!strcmp(k, "tcp_address")) {
        free(p->tcp_address);
        p->tcp_address = pc_xstrdup(v);
        return true;
    }
    if (!strcmp(k, "shutdown_command")) {
        free(p->shutdown_command);
        p->shutdown_command = pc_xstrdup(v);
        return true;
    }
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {{"tls_ca", offsetof(pc_profile, tls_ca)},
                {"tls_server_name", offsetof(pc_profile, tls_server_name)},
                {"tls_address", offsetof(pc_profile, tls_address)},
                {"tls_auth", offsetof(pc_profile, tls_auth)},
                {"tls_expired_cert", offsetof(pc_profile, tls_expired.cert)},
                {"tls_expired_key", offsetof(pc_profile, tls_expired.key)},
                {"tls_untrusted_cert", offsetof(pc_profile, tls_untrusted.cert)},
                {"tls_untrusted_key", offsetof(pc_profile, tls_untrusted.key)},
                {"tls_wrong_purpose_cert", offsetof(pc_profile, tls_wrong_purpose.cert)},
                {"tls_wrong_purpose_key", offsetof(pc_profile, tls_wrong_purpose.key)},
                {"tls_unmapped_cert", offsetof(pc_profile, tls_unmapped.cert)},
                {"tls_unmapped_key", offsetof(pc_profile, tls_unmapped.key)}};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(k, strs[i].key)) continue;
        if (!strcmp(k, "tls_auth") && strcmp(v, "external") && strcmp(v, "token") && strcmp(v, "both")) return false;
        char **slot = (char **)((char *)p + strs[i].off);
        free(*slot);
        *slot = pc_xstrdup(v);
        return true;
    }
    return false;
}

static bool identity_key(pc_identity *id, const char *k, const char *v)
{
    if (!strcmp(k, "user")) {
        free(id->user);
        id->user = pc_xstrdup(v);
        return true;
    }
    if (!strcmp(k, "token")) {
        free(id->token);
        id->token = pc_xstrdup(v);
        return true;
    }
    if (!strcmp(k, "uid")) return id->has_uid = parse_u32(v, &id->uid);
    if (!strcmp(k, "gid")) return parse_u32(v, &id->gid);
    if (!strcmp(k, "server_admin")) return parse_bool(v, &id->server_admin);
    if (!strcmp(k, "sender")) return parse_bool(v, &id->sender);
    if (!strcmp(k, "trusted")) return parse_bool(v, &id->trusted);
    if (!strcmp(k, "admin_printers"))
        return parse_list(v, id->admin_printers, &id->n_admin_printers, PC_MAX_PRINTERS);
    if (!strcmp(k, "tls_cert") || !strcmp(k, "tls_key")) {
        char **slot = k[4] == 'c' ? &id->tls_cert : &id->tls_key;
        free(*slot);
        *slot = pc_xstrdup(v);
        return true;
    }
    return false;
}

/* Fills in what a section left out: the user name defaults to the section
 * name, the gid to the uid's primary group. */
static void finish_identity(pc_identity *id, bool gid_given)
{
    if (!id->user) id->user = pc_xstrdup(id->name);
    if (id->has_uid && !gid_given) {
        struct passwd *pw = getpwuid(id->uid);
        id->gid = pw ? pw->pw_gid : id->uid;
    }
}

bool pc_profile_load(pc_profile *p, const char *path, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->path = pc_xstrdup(path);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    char line[1024];
    int lineno = 0;
    enum { NONE, BROKER, IDENTITY } sect = NONE;
    pc_identity *id = NULL;
    bool gid_given = false, ok = true;
    while (ok && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            if (id) finish_identity(id, gid_given);
            id = NULL;
            char *close = strchr(s, ']');
            if (!close) {
                snprintf(err, errlen, "%s:%d: unterminated section", path, lineno);
                ok = false;
                break;
            }
            *close = '\0';
            char *name = trim(s + 1);
            if (!strcmp(name, "broker")) {
                sect = BROKER;
            } else if (!strncmp(name, "identity", 8) && isspace((unsigned char)name[8])) {
                if (p->n_ids == PC_MAX_IDENTITIES) {
                    snprintf(err, errlen, "%s:%d: too many identities", path, lineno);
                    ok = false;
                    break;
                }
                sect = IDENTITY;
                id = &p->ids[p->n_ids++];
                id->name = pc_xstrdup(trim(name + 8));
                gid_given = false;
            } else {
                snprintf(err, errlen, "%s:%d: unknown section [%s]", path, lineno, name);
                ok = false;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || sect == NONE) {
            snprintf(err, errlen, "%s:%d: expected key = value inside a section", path, lineno);
            ok = false;
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        bool good = sect == BROKER ? broker_key(p, k, v) : identity_key(id, k, v);
        if (sect == IDENTITY && !strcmp(k, "gid")) gid_given = true;
        if (!good) {
            snprintf(err, errlen, "%s:%d: bad key or value: %s = %s", path, lineno, k, v);
            ok = false;
        }
    }
    if (id) finish_identity(id, gid_given);
    fclose(f);
    if (ok && !p->absent_printer) p->absent_printer = pc_xstrdup("panp-conformance-no-such-printer");
    if (ok && p->n_ids == 0) {
        snprintf(err, errlen, "%s: no [identity NAME] sections", path);
        ok = false;
    }
    return ok;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
}

void pc_profile_free(pc_profile *p)
{
    for (size_t i = 0; i < p->n_ids; i++) {
        pc_identity *id = &p->ids[i];
        free(id->name);
        free(id->user);
        free(id->token);
        free(id->tls_cert);
        free(id->tls_key);
        free_list(id->admin_printers, id->n_admin_printers);
    }
    free_list(p->printers, p->n_printers);
    free_list(p->features, p->n_features);
    free(p->absent_printer);
    free(p->tcp_address);
    free(p->shutdown_command);
    free(p->tls_ca);
    free(p->tls_server_name);
    free(p->tls_address);
    free(p->tls_auth);
    pc_cred *creds[] = {&p->tls_expired, &p->tls_untrusted, &p->tls_wrong_purpose, &p->tls_unmapped};
    for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
        free(creds[i]->cert);
        free(creds[i]->key);
    }
    free(p->path);
    memset(p, 0, sizeof(*p));
}

bool pc_profile_has_feature(const pc_profile *p, const char *feature)
{
    /* shutdown is claimed by giving the command that causes it, tls by
     * giving the address where it is served */
    if (!strcmp(feature, "shutdown") && p->shutdown_command) return true;
    if (!strcmp(feature, "tls") && p->tls_address) return true;
    for (size_t i = 0; i < p->n_features; i++)
        if (!strcmp(p->features[i], feature)) return true;
    return false;
}

bool pc_profile_add_features(pc_profile *p, const char *list)
{
    return parse_list(list, p->features, &p->n_features, PC_MAX_FEATURES);
}

bool pc_profile_tls_offers(const pc_profile *p, const char *mech)
{
    const char *a = p->tls_auth ? p->tls_auth : "external";
    return !strcmp(a, "both") || !strcmp(a, mech);
}

bool pc_profile_has_printer(const pc_profile *p, const char *printer)
{
    for (size_t i = 0; i < p->n_printers; i++)
        if (!strcmp(p->printers[i], printer)) return true;
    return false;
}

bool pc_identity_admin_of(const pc_identity *id, const char *printer)
{
    if (id->server_admin) return true;
    if (!printer) return false;
    for (size_t i = 0; i < id->n_admin_printers; i++)
        if (!strcmp(id->admin_printers[i], printer)) return true;
    return false;
}

bool pc_identity_is_admin_anywhere(const pc_identity *id)
{
    return id->server_admin || id->n_admin_printers > 0;
}

bool pc_identity_may_open(const pc_identity *id)
{
    return id->sender || id->trusted || pc_identity_is_admin_anywhere(id);
}

const char *pc_role_name(pc_role role)
{
    switch (role) {
    case PC_ROLE_PLAIN: return "a plain user (no admin rights, not a sender, not trusted)";
    case PC_ROLE_SENDER: return "a sender (not an administrator, not trusted)";
    case PC_ROLE_TRUSTED: return "a trusted component (administers nothing)";
    case PC_ROLE_SERVER_ADMIN: return "a server administrator";
    case PC_ROLE_PRINTER_ADMIN: return "an administrator of a printer who does not administer the server";
    case PC_ROLE_NONADMIN: return "a user who administers nothing";
    }
    return "?";
}

static bool plays(const pc_identity *id, pc_role role)
{
    bool admin = pc_identity_is_admin_anywhere(id);
    switch (role) {
    case PC_ROLE_PLAIN: return !admin && !id->sender && !id->trusted;
    case PC_ROLE_SENDER: return id->sender && !admin && !id->trusted;
    case PC_ROLE_TRUSTED: return id->trusted && !admin;
    case PC_ROLE_SERVER_ADMIN: return id->server_admin;
    case PC_ROLE_PRINTER_ADMIN: return !id->server_admin && id->n_admin_printers > 0;
    case PC_ROLE_NONADMIN: return !admin;
    }
    return false;
}

const pc_identity *pc_profile_pick(const pc_profile *p, pc_role role, size_t n)
{
    for (size_t i = 0; i < p->n_ids; i++)
        if (plays(&p->ids[i], role) && n-- == 0) return &p->ids[i];
    return NULL;
}
