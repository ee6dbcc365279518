/* config.c - panpd's INI file (libinih) into a panpd_config (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"

typedef struct parse_ctx {
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
    if (strcmp(name, "allow_remote_tokens") == 0) {
        if (parse_bool(value, &c->allow_remote_tokens) == 0) return 1;
        return fail(p, "server.allow_remote_tokens: want true or false, not \"%s\"%s", value, "");
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
    if (strcmp(section, "limits") == 0) {
        uint32_t *f = limit_field(&p->cfg->limits, name);
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

/* A users_file relative to the configuration's own directory. */
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

panpd_config *config_load_string(const char *text, const char *name, char *err, size_t errlen)
{
    panpd_config *c = conf_new();
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    parse_ctx p = {.cfg = c, .name = name, .err = err, .errlen = errlen, .printer = -1};
    err[0] = 0;
    if (prescan_printers(c, text) != 0) {
        snprintf(err, errlen, "%s: a printer name is too long", name);
        conf_free(c);
        return NULL;
    }
    int line = ini_parse_string(text, handler, &p);
    if (line != 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err[0] ? err : "syntax error");
        snprintf(err, errlen, "%s:%d: %s", name, line, why);
        conf_free(c);
        return NULL;
    }
    if (!c->server_name) c->server_name = strdup("panp");
    /* SPEC TRANS-4: the well-known socket when no address is named. */
    if (c->listen.n == 0) strlist_add(&c->listen, "unix:/run/panp/panp.sock");
    if ((c->users_file && load_users(c, name, err, errlen) != 0) ||
        conf_check(c, err, errlen) != 0) {
        conf_free(c);
        return NULL;
    }
    return c;
}

panpd_config *config_load_file(const char *path, char *err, size_t errlen)
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
    panpd_config *c = config_load_string(text, path, err, errlen);
    free(text);
    return c;
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
