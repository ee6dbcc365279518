/* config.c - panpd's INI file (libinih) into a panpd_config (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"

typedef struct parse_ctx {
    panpd_settings *s;
    panpd_config *cfg;
    const char *name;
    char *err;
    size_t errlen;
    int printer; /* index of the current [printer NAME] section, or -1 */
} parse_ctx;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int config_parse_level(const char *s, log_level *out)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    return -1;
}

const char *config_level_name(log_level lv)
{
    return lv <= LOG_DEBUG ? level_names[lv] : "?";
}

static int fail(parse_ctx *p, const char *fmt, const char *a, const char *b)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, a, b);
    snprintf(p->err, p->errlen, "%s", msg);
    return 0;
}

/* "a, b c" -> a b c */
static int add_list(strlist *l, const char *value)
{
    const char *p = value;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        size_t n = strcspn(p, ", \t");
        if (n == 0) break;
        char item[256];
        if (n >= sizeof(item)) return -1;
        memcpy(item, p, n);
        item[n] = 0;
        if (strlist_add(l, item) != 0) return -1;
        p += n;
    }
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1")) *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0")) *out = false;
    else return -1;
    return 0;
}

static uint32_t *limit_field(panpd_limits *l, const char *name)
{
    static const struct { const char *name; size_t off; } fields[] = {
#define F(x) {#x, offsetof(panpd_limits, x)}
        F(max_frame_size), F(max_registrations), F(max_registrations_per_user),
        F(max_registrations_total), F(max_channels), F(max_channels_per_user),
        F(max_channels_total), F(max_outbound_bytes), F(keepalive_interval_ms),
        F(keepalive_timeout_ms), F(max_lease_seconds), F(hello_timeout_ms), F(flush_timeout_ms),
        F(max_pending_connections), F(max_pending_per_peer),
#undef F
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(fields[i].name, name) == 0) return (uint32_t *)((char *)l + fields[i].off);
    return NULL;
}

static uint32_t *net_limit_field(panpd_net_limits *l, const char *name)
{
    if (!strcmp(name, "max_connections")) return &l->max_connections;
    if (!strcmp(name, "max_connections_per_peer")) return &l->max_connections_per_peer;
    if (!strcmp(name, "tls_handshake_timeout_ms")) return &l->tls_handshake_timeout_ms;
    return NULL;
}

/* A file named in the configuration, relative to its directory. */
static char *resolve(const char *base, const char *path);

static int set_path(parse_ctx *p, char **slot, const char *key, const char *value)
{
    free(*slot);
    *slot = NULL;
    if (!*value) return 1;
    *slot = resolve(p->name, value);
    return *slot ? 1 : fail(p, "tls.%s: out of memory%s", key, "");
}

static int on_tls(parse_ctx *p, const char *name, const char *value)
{
    panpd_tls_settings *t = &p->s->tls;
    t->configured = true;
    if (!strcmp(name, "cert")) return set_path(p, &t->cert, name, value);
    if (!strcmp(name, "key")) return set_path(p, &t->key, name, value);
    if (!strcmp(name, "ca")) return set_path(p, &t->ca, name, value);
    if (!strcmp(name, "crl")) return set_path(p, &t->crl, name, value);
    if (!strcmp(name, "identity_map")) return set_path(p, &t->identity_map, name, value);
    if (!strcmp(name, "client_identity")) {
        static const struct { const char *n; tls_identity_kind k; } kinds[] = {
            {"cn", TLS_ID_CN}, {"san-email", TLS_ID_SAN_EMAIL}, {"san-uri", TLS_ID_SAN_URI},
            {"san-dns", TLS_ID_SAN_DNS}};
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
            if (!strcmp(value, kinds[i].n)) {
                t->client_identity = kinds[i].k;
                return 1;
            }
        return fail(p, "tls.client_identity: want cn, san-email, san-uri or san-dns, not \"%s\"%s", value, "");
    }
    if (!strcmp(name, "client_cert")) {
        if (!strcmp(value, "required")) t->client_cert = TLS_CLIENT_CERT_REQUIRED;
        else if (!strcmp(value, "optional")) t->client_cert = TLS_CLIENT_CERT_OPTIONAL;
        else if (!strcmp(value, "none")) t->client_cert = TLS_CLIENT_CERT_NONE;
        else return fail(p, "tls.client_cert: want required, optional or none, not \"%s\"%s", value, "");
        return 1;
    }
    if (!strcmp(name, "auth")) {
        strlist l = {0};
        if (add_list(&l, value) != 0) return fail(p, "tls.auth: bad list%s%s", "", "");
        t->offer_external = t->offer_token = false;
        int ok = l.n > 0;
        for (size_t i = 0; ok && i < l.n; i++) {
            if (!strcmp(l.v[i], "external")) t->offer_external = true;
            else if (!strcmp(l.v[i], "token")) t->offer_token = true;
            else ok = 0;
        }
        strlist_free(&l);
        return ok ? 1 : fail(p, "tls.auth: want external, token or both, not \"%s\"%s", value, "");
    }
    if (!strcmp(name, "min_version")) {
        if (!strcmp(value, "1.3")) t->min_version = TLS1_3_VERSION;
        else if (!strcmp(value, "1.2")) t->min_version = TLS1_2_VERSION;
        else return fail(p, "tls.min_version: want 1.3 or 1.2, not \"%s\"%s", value, "");
        return 1;
    }
    return fail(p, "[tls]: unknown key \"%s\"%s", name, "");
}

static int on_server(parse_ctx *p, const char *name, const char *value)
{
    panpd_config *c = p->cfg;
    if (strcmp(name, "name") == 0) {
        free(c->server_name);
        c->server_name = strdup(value);
        return c->server_name != NULL;
    }
    if (strcmp(name, "listen") == 0) {
        strlist tmp = {0};
        if (add_list(&tmp, value) != 0) return fail(p, "server.listen: bad list%s%s", "", "");
        for (size_t i = 0; i < tmp.n; i++) {
            listen_addr a;
            char why[200];
            if (addr_parse(tmp.v[i], &a, why, sizeof(why)) != 0 || strlist_add(&c->listen, tmp.v[i])) {
                strlist_free(&tmp);
                return fail(p, "server.listen: %s%s", why, "");
            }
        }
        strlist_free(&tmp);
        return 1;
    }
    if (strcmp(name, "users_file") == 0) {
        free(c->users_file);
        c->users_file = *value ? strdup(value) : NULL;
        return 1;
    }
    /* TOKEN over plain tcp off the loopback: listening there and accepting
     * tokens from remote peers (SPEC SEC-9, SEC-11).  allow_remote_tokens is
     * the key's older name. */
    if (strcmp(name, "insecure_plaintext_tokens") == 0 || strcmp(name, "allow_remote_tokens") == 0) {
        if (parse_bool(value, &c->allow_remote_tokens) == 0) return 1;
        return fail(p, "server.%s: want true or false, not \"%s\"", name, value);
    }
    return fail(p, "[server]: unknown key \"%s\"%s", name, "");
}

static int on_access(parse_ctx *p, const char *name, const char *value)
{
    strlist *l = !strcmp(name, "server_admins") ? &p->cfg->server_admins
                 : !strcmp(name, "senders")     ? &p->cfg->senders
                 : !strcmp(name, "trusted")     ? &p->cfg->trusted
                                                : NULL;
    if (!l) return fail(p, "[access]: unknown key \"%s\"%s", name, "");
    return add_list(l, value) == 0 ? 1 : fail(p, "access.%s: bad list%s", name, "");
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *p = user;
    if (strncmp(section, "printer ", 8) == 0) {
        const char *printer = section + 8;
        if (p->printer < 0 || strcmp(p->cfg->printers[p->printer].name, printer) != 0) {
            p->printer = (int)conf_printer_target(p->cfg, printer) - 1;
            if (p->printer < 0 && (p->printer = conf_add_printer(p->cfg, printer)) < 0) return 0;
        }
        if (strcmp(name, "admins") != 0) return fail(p, "[printer %s]: unknown key \"%s\"", printer, name);
        return add_list(&p->cfg->printers[p->printer].admins, value) == 0 ? 1 : 0;
    }
    if (strcmp(section, "server") == 0) return on_server(p, name, value);
    if (strcmp(section, "access") == 0) return on_access(p, name, value);
    if (strcmp(section, "tls") == 0) return on_tls(p, name, value);
    if (strcmp(section, "limits") == 0) {
        uint32_t *f = limit_field(&p->cfg->limits, name);
        if (!f) f = net_limit_field(&p->s->net, name);
        if (!f) return fail(p, "[limits]: unknown key \"%s\"%s", name, "");
        if (parse_u32(value, f) != 0) return fail(p, "limits.%s: not a number: \"%s\"", name, value);
        return 1;
    }
    if (strcmp(section, "log") == 0) {
        if (strcmp(name, "level") != 0) return fail(p, "[log]: unknown key \"%s\"%s", name, "");
        if (config_parse_level(value, &p->cfg->log_level) == 0) return 1;
        return fail(p, "log.level: want error, warn, info or debug, not \"%s\"%s", value, "");
    }
    return fail(p, "unknown section [%s]%s", section, "");
}

static int hex_nibble(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A path relative to the configuration's own directory. */
static char *resolve(const char *base, const char *path)
{
    const char *slash = base ? strrchr(base, '/') : NULL;
    if (path[0] == '/' || !slash) return strdup(path);
    size_t n = (size_t)(slash - base) + 1 + strlen(path) + 1;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%.*s%s", (int)(slash - base + 1), base, path);
    return out;
}

static int load_users(panpd_config *c, const char *cfgname, char *err, size_t errlen)
{
    char *path = resolve(cfgname, c->users_file);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "users_file %s: %s", path ? path : c->users_file, strerror(errno));
        free(path);
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        s[strcspn(s, "\r\n")] = 0;
        if (!*s || *s == '#') continue;
        char *colon = strrchr(s, ':');
        uint8_t hash[32];
        bool ok = colon && colon > s && strlen(colon + 1) == 64;
        for (int i = 0; ok && i < 32; i++) {
            int hi = hex_nibble(colon[1 + 2 * i]), lo = hex_nibble(colon[2 + 2 * i]);
            ok = hi >= 0 && lo >= 0;
            hash[i] = (uint8_t)(hi << 4 | lo);
        }
        if (!ok) {
            /* Never echo the line: it might be a token pasted by mistake. */
            snprintf(err, errlen, "%s:%d: want USER:SHA256-HEX (64 hex digits)", path, lineno);
            rc = -1;
            break;
        }
        *colon = 0;
        if (conf_add_token(c, s, hash) != 0) rc = -1;
    }
    fclose(f);
    free(path);
    return rc;
}

/* USER:IDENTITY per line.  The user part cannot hold a colon; the identity
 * (a URI, say) may. */
static int load_identity_map(panpd_tls_settings *t, char *err, size_t errlen)
{
    FILE *f = fopen(t->identity_map, "r");
    if (!f) {
        snprintf(err, errlen, "tls.identity_map %s: %s", t->identity_map, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        size_t n = strcspn(s, "\r\n");
        while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
        s[n] = 0;
        if (!*s || *s == '#') continue;
        char *colon = strchr(s, ':');
        char *id = colon ? colon + 1 : NULL;
        while (id && isspace((unsigned char)*id)) id++;
        if (!colon || colon == s || !*id || colon - s > 255 || strlen(id) > 255) {
            snprintf(err, errlen, "%s:%d: want USER:CERTIFICATE-IDENTITY", t->identity_map, lineno);
            rc = -1;
            break;
        }
        *colon = 0;
        for (size_t i = 0; i < t->nmap; i++)
            if (!strcmp(t->map[i].identity, id)) {
                snprintf(err, errlen, "%s:%d: identity mapped twice", t->identity_map, lineno);
                rc = -1;
            }
        tls_map_entry *m = rc ? NULL : realloc(t->map, (t->nmap + 1) * sizeof(*m));
        if (!m) {
            if (!rc) snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        t->map = m;
        m[t->nmap].identity = strdup(id);
        m[t->nmap].user = strdup(s);
        t->nmap++;
        if (!m[t->nmap - 1].identity || !m[t->nmap - 1].user) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

const char *config_tls_user(const panpd_tls_settings *t, const char *identity)
{
    if (!t->identity_map) return identity;
    for (size_t i = 0; i < t->nmap; i++)
        if (!strcmp(t->map[i].identity, identity)) return t->map[i].user;
    return NULL;
}

const char *config_tls_identity_name(tls_identity_kind k)
{
    switch (k) {
    case TLS_ID_CN: return "subject CN";
    case TLS_ID_SAN_EMAIL: return "SAN email";
    case TLS_ID_SAN_URI: return "SAN URI";
    case TLS_ID_SAN_DNS: return "SAN DNS";
    }
    return "?";
}

/* The [tls] section against the listen addresses, and its defaults. */
static int check_tls(panpd_settings *s, char *err, size_t errlen)
{
    panpd_tls_settings *t = &s->tls;
    bool tls_listener = false;
    for (size_t i = 0; i < s->cfg->listen.n; i++)
        if (!strncmp(s->cfg->listen.v[i], "tls:", 4)) tls_listener = true;
    if (!t->configured) {
        if (tls_listener) {
            snprintf(err, errlen, "a tls: listen address needs a [tls] section with cert and key");
            return -1;
        }
        return 0;
    }
    if (!t->offer_external && !t->offer_token) t->offer_external = true;
    if (!t->client_cert)
        t->client_cert = !t->offer_external ? TLS_CLIENT_CERT_NONE
                         : t->offer_token   ? TLS_CLIENT_CERT_OPTIONAL
                                            : TLS_CLIENT_CERT_REQUIRED;
    if (!t->client_identity) t->client_identity = TLS_ID_CN;
    if (!t->min_version) t->min_version = TLS1_3_VERSION;
    if (!t->cert || !t->key) {
        snprintf(err, errlen, "[tls]: cert and key are required");
        return -1;
    }
    if (t->offer_external && t->client_cert == TLS_CLIENT_CERT_NONE) {
        snprintf(err, errlen, "[tls]: auth = external needs client certificates (client_cert = required or optional)");
        return -1;
    }
    if (t->client_cert != TLS_CLIENT_CERT_NONE && !t->ca) {
        snprintf(err, errlen, "[tls]: client certificates are verified against ca = FILE, which is missing");
        return -1;
    }
    if (t->offer_token && !s->cfg->users_file) {
        snprintf(err, errlen, "[tls]: auth = token needs [server] users_file");
        return -1;
    }
    if (t->identity_map && load_identity_map(t, err, errlen) != 0) return -1;
    return 0;
}

static int check_net_limits(const panpd_net_limits *l, char *err, size_t errlen)
{
    if (l->max_connections == 0 || l->max_connections_per_peer == 0 || l->tls_handshake_timeout_ms == 0) {
        snprintf(err, errlen, "limits: counts and timeouts must be > 0");
        return -1;
    }
    return 0;
}

void config_free(panpd_settings *s)
{
    if (!s) return;
    conf_free(s->cfg);
    panpd_tls_settings *t = &s->tls;
    free(t->cert);
    free(t->key);
    free(t->ca);
    free(t->crl);
    free(t->identity_map);
    for (size_t i = 0; i < t->nmap; i++) {
        free(t->map[i].identity);
        free(t->map[i].user);
    }
    free(t->map);
    free(s);
}

/* inih reports no empty section, so printers are collected from the
 * headers first: "[printer Lobby]" alone configures a printer. */
static int prescan_printers(panpd_config *c, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        const char *s = p;
        while (s < p + n && isspace((unsigned char)*s)) s++;
        if ((size_t)(p + n - s) > 9 && strncmp(s, "[printer ", 9) == 0) {
            const char *name = s + 9, *end = memchr(name, ']', (size_t)(p + n - name));
            while (end && end > name && isspace((unsigned char)end[-1])) end--;
            if (end && end > name) {
                char buf[300];
                size_t len = (size_t)(end - name);
                if (len >= sizeof(buf)) return -1;
                memcpy(buf, name, len);
                buf[len] = 0;
                if (!conf_printer_target(c, buf) && conf_add_printer(c, buf) < 0) return -1;
            }
        }
        p += n + (p[n] ? 1 : 0);
    }
    return 0;
}

panpd_settings *config_load_string(const char *text, const char *name, char *err, size_t errlen)
{
    panpd_settings *s = calloc(1, sizeof(*s));
    panpd_config *c = s ? conf_new() : NULL;
    if (!c) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = c;
    s->net = (panpd_net_limits){.max_connections = 8192, .max_connections_per_peer = 2048,
                                .tls_handshake_timeout_ms = 5000};
    parse_ctx p = {.s = s, .cfg = c, .name = name, .err = err, .errlen = errlen, .printer = -1};
    err[0] = 0;
    if (prescan_printers(c, text) != 0) {
        snprintf(err, errlen, "%s: a printer name is too long", name);
        config_free(s);
        return NULL;
    }
    int line = ini_parse_string(text, handler, &p);
    if (line != 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err[0] ? err : "syntax error");
        snprintf(err, errlen, "%s:%d: %s", name, line, why);
        config_free(s);
        return NULL;
    }
    if (!c->server_name) c->server_name = strdup("panp");
    /* SPEC TRANS-4: the well-known socket when no address is named. */
    if (c->listen.n == 0) strlist_add(&c->listen, "unix:/run/panp/panp.sock");
    if ((c->users_file && load_users(c, name, err, errlen) != 0) ||
        conf_check(c, err, errlen) != 0 || check_net_limits(&s->net, err, errlen) != 0 ||
        check_tls(s, err, errlen) != 0) {
        config_free(s);
        return NULL;
    }
    return s;
}

panpd_settings *config_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *t = realloc(text, cap *= 2);
            if (!t) free(text);
            text = t;
        }
    }
    fclose(f);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    text[len] = 0;
    panpd_settings *s = config_load_string(text, path, err, errlen);
    free(text);
    return s;
}

static const char default_text[] =
    "# panpd's embedded default configuration (panpd --print-default-config).\n"
    "# A Unix socket under ./run, the user running panpd as administrator and\n"
    "# sender, and two example printers.\n"
    "\n"
    "[server]\n"
    "name = panp-demo\n"
    "listen = unix:./run/panpd.sock\n"
    "# listen = tcp:127.0.0.1:6310\n"
    "# users_file = users   ; USER:SHA256-HEX per line, for TOKEN over tcp\n"
    "# listen = tls:0.0.0.0:6311   ; with a [tls] section: cert, key, ca, ...\n"
    "\n"
    "[printer Office-Laser]\n"
    "admins =\n"
    "\n"
    "[printer Lab-Inkjet]\n"
    "admins =\n"
    "\n"
    "[access]\n"
    "server_admins = %s\n"
    "senders = %s\n"
    "trusted =\n"
    "\n"
    "[limits]\n"
    "max_frame_size = 65536\n"
    "max_registrations = 64\n"
    "max_registrations_per_user = 256\n"
    "max_registrations_total = 10000\n"
    "max_channels = 64\n"
    "max_channels_per_user = 256\n"
    "max_channels_total = 10000\n"
    "max_outbound_bytes = 1048576\n"
    "keepalive_interval_ms = 30000\n"
    "keepalive_timeout_ms = 90000\n"
    "max_lease_seconds = 86400\n"
    "hello_timeout_ms = 10000\n"
    "flush_timeout_ms = 5000\n"
    "max_pending_connections = 256\n"
    "max_pending_per_peer = 32\n"
    "max_connections = 8192\n"
    "max_connections_per_peer = 2048\n"
    "tls_handshake_timeout_ms = 5000\n"
    "\n"
    "[log]\n"
    "level = info\n";

char *config_default_text(const char *user)
{
    size_t n = sizeof(default_text) + 2 * strlen(user);
    char *out = malloc(n);
    if (out) snprintf(out, n, default_text, user, user);
    return out;
}
