/* testutil.c - helpers shared by the codec tests (see testutil.h). */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

const panp_backend tu_backends[2] = {PANP_BACKEND_PROTOBUF_C, PANP_BACKEND_NANOPB};

const char *tu_backend_name(panp_backend b)
{
    return b == PANP_BACKEND_PROTOBUF_C ? "protobuf-c" : "nanopb";
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tu_list(const char *dir, const char *suffix, size_t *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0, sl = strlen(suffix);
    *count = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    *count = n;
    return names;
}

void tu_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* "key": "value" or "key": number on one line. */
static bool json_field(const char *line, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < cap; p++) {
            if (*p == '\\' && p[1])
                p++;
            out[n++] = *p;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < cap)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return true;
}

tu_negative *tu_negative_index(const char *path, size_t *count)
{
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    *count = 0;
    if (!text)
        return NULL;
    text = realloc(text, len + 1);
    text[len] = '\0';
    tu_negative *items = calloc(1024, sizeof *items);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && *count < 1024;
         line = strtok_r(NULL, "\n", &save)) {
        tu_negative *e = &items[*count];
        if (!json_field(line, "file", e->file, sizeof e->file))
            continue;
        json_field(line, "level", e->level, sizeof e->level);
        json_field(line, "peer", e->peer, sizeof e->peer);
        json_field(line, "expect", e->expect, sizeof e->expect);
        json_field(line, "field", e->field, sizeof e->field);
        json_field(line, "why", e->why, sizeof e->why);
        char num[32];
        if (json_field(line, "max_frame_size", num, sizeof num))
            e->max_frame_size = (uint32_t)strtoul(num, NULL, 10);
        (*count)++;
    }
    free(text);
    return items;
}

panp_peer tu_peer(const char *name)
{
    if (strcmp(name, "broker") == 0)
        return PANP_PEER_BROKER;
    if (strcmp(name, "client") == 0)
        return PANP_PEER_CLIENT;
    return PANP_PEER_ANY;
}

panp_error_code tu_code(const char *name)
{
    for (int c = 0; c <= PANP_ERR_INTERNAL; c++)
        if (strcmp(panp_error_code_name((panp_error_code)c), name) == 0)
            return (panp_error_code)c;
    return (panp_error_code)-1;
}

const char *tu_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 4 < cap && i < 64; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    if (n > 64 && o + 4 < cap)
        snprintf(out + o, cap - o, "...");
    return out;
}

/* ---- sample frames ---------------------------------------------------------*/

static const uint8_t TYPE[16] = {0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
                                 0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};
static const uint8_t HANDLE[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
static const char *const PRINTERS[2] = {"Office-2F", "Lab"};
static const panp_registration_info INFOS[2] = {
    {{HANDLE, 16}, "alice", {PANP_TARGET_PRINTER, "Lab"}, {TYPE, 16}, PANP_USER_FILTER_PER_USER,
     PANP_STYLE_BIDIRECTIONAL, 60},
    {{NULL, 0}, "bob", {PANP_TARGET_SERVER, ""}, {TYPE, 16}, PANP_USER_FILTER_ALL_USERS,
     PANP_STYLE_UNIDIRECTIONAL, 0},
};

#define B(p, n) ((panp_bytes){(const uint8_t *)(p), (n)})

static const panp_body_kind ALL_KINDS[] = {
    PANP_BODY_NOTIFY, PANP_BODY_SEND, PANP_BODY_SENT, PANP_BODY_REPLY,
    PANP_BODY_REPLY_DELIVERY, PANP_BODY_CHANNEL_CLOSED, PANP_BODY_PING, PANP_BODY_PONG,
    PANP_BODY_ERROR, PANP_BODY_OK, PANP_BODY_HELLO, PANP_BODY_WELCOME,
    PANP_BODY_REGISTER, PANP_BODY_REGISTERED, PANP_BODY_RENEW, PANP_BODY_RENEWED,
    PANP_BODY_UNREGISTER, PANP_BODY_LIST_REGISTRATIONS, PANP_BODY_REGISTRATION_LIST,
    PANP_BODY_OPEN_CHANNEL, PANP_BODY_CHANNEL_OPENED, PANP_BODY_CLOSE_CHANNEL,
    PANP_BODY_CHANNEL_CLOSE_RESULT, PANP_BODY_REGISTRATION_ENDED, PANP_BODY_GOODBYE,
};

const panp_body_kind *tu_all_kinds(size_t *n)
{
    *n = sizeof ALL_KINDS / sizeof ALL_KINDS[0];
    return ALL_KINDS;
}

static void sample_big(panp_body_kind kind, panp_frame *f)
{
    switch (kind) {
    case PANP_BODY_NOTIFY: {
        panp_notify *m = &f->body.notify;
        m->registration = B(HANDLE, 16);
        m->conversation_id = 77;
        m->client_state = B("state", 5);
        m->channel_id = 5;
        m->sequence = 1;
        m->notification_type = B(TYPE, 16);
        m->style = PANP_STYLE_BIDIRECTIONAL;
        m->has_sender = true;
        m->sender.user = "svc";
        m->sender.job_id = 9;
        m->sender.job_owner = "carol";
        m->target.kind = PANP_TARGET_PRINTER;
        m->target.printer = "Office-2F";
        m->payload = B("hello", 5);
        break;
    }
    case PANP_BODY_HELLO:
        f->body.hello.min_version = 1;
        f->body.hello.max_version = 1;
        f->body.hello.software = "test/1";
        f->body.hello.auth = PANP_AUTH_TOKEN;
        f->body.hello.token = B("secret", 6);
        f->body.hello.session_label = "s1";
        break;
    case PANP_BODY_WELCOME: {
        panp_welcome *m = &f->body.welcome;
        m->version = 1;
        m->software = "panpd";
        m->server_name = "srv";
        m->has_limits = true;
        m->limits.max_frame_size = 65536;
        m->limits.keepalive_interval_ms = 30000;
        m->has_identity = true;
        m->identity.user = "alice";
        m->identity.admin_printers = PRINTERS;
        m->identity.admin_printers_count = 2;
        m->identity.trusted = true;
        break;
    }
    case PANP_BODY_REGISTER: {
        panp_register *m = &f->body.register_listener;
        m->target.kind = PANP_TARGET_SERVER;
        m->notification_type = B(TYPE, 16);
        m->user_filter = PANP_USER_FILTER_PER_USER;
        m->style = PANP_STYLE_BIDIRECTIONAL;
        m->lease_seconds = 60;
        m->client_state = B("cs", 2);
        break;
    }
    case PANP_BODY_REGISTRATION_LIST:
        f->body.registration_list.registrations = INFOS;
        f->body.registration_list.registrations_count = 2;
        f->body.registration_list.total = 2;
        break;
    case PANP_BODY_OPEN_CHANNEL: {
        panp_open_channel *m = &f->body.open_channel;
        m->target.kind = PANP_TARGET_PRINTER;
        m->target.printer = "Office-2F";
        m->notification_type = B(TYPE, 16);
        m->user_filter = PANP_USER_FILTER_PER_USER;
        m->style = PANP_STYLE_UNIDIRECTIONAL;
        m->has_on_behalf_of = true;
        m->on_behalf_of.job_id = 3;
        m->on_behalf_of.job_owner = "carol";
        m->on_behalf_of.session_label = "";
        break;
    }
    case PANP_BODY_CLOSE_CHANNEL:
        f->body.close_channel.side = PANP_CLOSE_SIDE_CHANNEL;
        f->body.close_channel.id = 5;
        f->body.close_channel.has_reason = true;
        f->body.close_channel.reason.notification_type = B(TYPE, 16);
        f->body.close_channel.reason.payload = B("bye", 3);
        break;
    default:
        break;
    }
}

void tu_sample(panp_body_kind kind, panp_frame *f)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->request_id = 42;
    switch (kind) {
    case PANP_BODY_SEND:
        f->body.send.channel_id = 5;
        f->body.send.notification_type = B(TYPE, 16);
        f->body.send.payload = B("payload", 7);
        break;
    case PANP_BODY_SENT:
        f->body.sent.sequence = 1;
        f->body.sent.recipients = 2;
        break;
    case PANP_BODY_REPLY:
        f->body.reply.conversation_id = 77;
        f->body.reply.notification_type = B(TYPE, 16);
        f->body.reply.payload = B("yes", 3);
        break;
    case PANP_BODY_REPLY_DELIVERY:
        f->body.reply_delivery.channel_id = 5;
        f->body.reply_delivery.sequence = 1;
        f->body.reply_delivery.responder = "alice";
        f->body.reply_delivery.notification_type = B(TYPE, 16);
        f->body.reply_delivery.payload = B("yes", 3);
        break;
    case PANP_BODY_CHANNEL_CLOSED:
        f->body.channel_closed.channel_id = 5;
        f->body.channel_closed.reason = PANP_CLOSE_REASON_PEER_GONE;
        f->body.channel_closed.notification_type = B(PANP_TYPE_NOTIFICATION_RELEASE, 16);
        break;
    case PANP_BODY_ERROR:
        f->body.error.code = PANP_ERR_NOT_FOUND;
        f->body.error.message = "unregister.handle: no such registration";
        f->body.error.field = "unregister.handle";
        f->body.error.fatal = true;
        break;
    case PANP_BODY_REGISTERED:
        f->body.registered.handle = B(HANDLE, 16);
        f->body.registered.lease_seconds = 60;
        break;
    case PANP_BODY_RENEW:
        f->body.renew.handle = B(HANDLE, 20);
        f->body.renew.lease_seconds = 60;
        break;
    case PANP_BODY_RENEWED:
        f->body.renewed.lease_seconds = 60;
        break;
    case PANP_BODY_UNREGISTER:
        f->body.unregister.handle = B(HANDLE, 16);
        break;
    case PANP_BODY_LIST_REGISTRATIONS:
        f->body.list_registrations.target.kind = PANP_TARGET_PRINTER;
        f->body.list_registrations.target.printer = "Lab";
        f->body.list_registrations.offset = 3;
        break;
    case PANP_BODY_CHANNEL_OPENED:
        f->body.channel_opened.channel_id = 5;
        break;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        f->body.channel_close_result.outcome = PANP_CLOSE_OUTCOME_CLOSED;
        break;
    case PANP_BODY_REGISTRATION_ENDED:
        f->body.registration_ended.handle = B(HANDLE, 16);
        f->body.registration_ended.reason = PANP_REG_END_LEASE_EXPIRED;
        break;
    case PANP_BODY_GOODBYE:
        f->body.goodbye.reason = PANP_GOODBYE_CLIENT_DONE;
        f->body.goodbye.message = "bye";
        break;
    case PANP_BODY_OK:
    case PANP_BODY_PING:
    case PANP_BODY_PONG:
        break;
    default:
        sample_big(kind, f);
        break;
    }
}

/* ---- view comparison --------------------------------------------------------*/

typedef struct cmp {
    char *why;
    size_t cap;
    bool ok;
} cmp;

static void differ(cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void differ(cmp *c, const char *fmt, ...)
{
    if (!c->ok)
        return;
    c->ok = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->cap, fmt, ap);
    va_end(ap);
}

static void eq_u(cmp *c, const char *name, uint64_t a, uint64_t b)
{
    if (a != b)
        differ(c, "%s: %llu vs %llu", name, (unsigned long long)a, (unsigned long long)b);
}

static void eq_b(cmp *c, const char *name, panp_bytes a, panp_bytes b)
{
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        differ(c, "%s: %zu bytes vs %zu bytes", name, a.len, b.len);
    if ((a.len == 0 && a.data) || (b.len == 0 && b.data))
        differ(c, "%s: empty bytes with a non-NULL pointer", name);
}

static void eq_s(cmp *c, const char *name, const char *a, const char *b)
{
    if (!a || !b)
        differ(c, "%s: NULL string after decode", name);
    else if (strcmp(a, b) != 0)
        differ(c, "%s: \"%s\" vs \"%s\"", name, a, b);
}

static void eq_target(cmp *c, const char *name, const panp_target *a, const panp_target *b)
{
    eq_u(c, name, a->kind, b->kind);
    if (a->kind == PANP_TARGET_PRINTER)
        eq_s(c, name, a->printer, b->printer);
}

static void eq_welcome(cmp *c, const panp_welcome *a, const panp_welcome *b)
{
    eq_u(c, "welcome.version", a->version, b->version);
    eq_s(c, "welcome.software", a->software, b->software);
    eq_s(c, "welcome.server_name", a->server_name, b->server_name);
    eq_u(c, "welcome.has_limits", a->has_limits, b->has_limits);
    if (a->has_limits && b->has_limits && memcmp(&a->limits, &b->limits, sizeof a->limits) != 0)
        differ(c, "welcome.limits");
    eq_u(c, "welcome.has_identity", a->has_identity, b->has_identity);
    if (!a->has_identity || !b->has_identity)
        return;
    const panp_identity *x = &a->identity, *y = &b->identity;
    eq_s(c, "identity.user", x->user, y->user);
    eq_u(c, "identity.server_admin", x->server_admin, y->server_admin);
    eq_u(c, "identity.may_open_channels", x->may_open_channels, y->may_open_channels);
    eq_u(c, "identity.trusted", x->trusted, y->trusted);
    eq_u(c, "identity.admin_printers_truncated", x->admin_printers_truncated,
         y->admin_printers_truncated);
    eq_u(c, "identity.admin_printers_count", x->admin_printers_count, y->admin_printers_count);
    for (size_t i = 0; c->ok && i < x->admin_printers_count; i++)
        eq_s(c, "identity.admin_printers[]", x->admin_printers[i], y->admin_printers[i]);
}

static void eq_list(cmp *c, const panp_registration_list *a, const panp_registration_list *b)
{
    eq_u(c, "registration_list.total", a->total, b->total);
    eq_u(c, "registration_list.count", a->registrations_count, b->registrations_count);
    for (size_t i = 0; c->ok && i < a->registrations_count; i++) {
        const panp_registration_info *x = &a->registrations[i], *y = &b->registrations[i];
        eq_b(c, "info.handle", x->handle, y->handle);
        eq_s(c, "info.user", x->user, y->user);
        eq_target(c, "info.target", &x->target, &y->target);
        eq_b(c, "info.notification_type", x->notification_type, y->notification_type);
        eq_u(c, "info.user_filter", x->user_filter, y->user_filter);
        eq_u(c, "info.style", x->style, y->style);
        eq_u(c, "info.lease_remaining_seconds", x->lease_remaining_seconds,
             y->lease_remaining_seconds);
    }
}

static void eq_notify(cmp *c, const panp_notify *a, const panp_notify *b)
{
    eq_b(c, "notify.registration", a->registration, b->registration);
    eq_u(c, "notify.conversation_id", a->conversation_id, b->conversation_id);
    eq_b(c, "notify.client_state", a->client_state, b->client_state);
    eq_u(c, "notify.channel_id", a->channel_id, b->channel_id);
    eq_u(c, "notify.sequence", a->sequence, b->sequence);
    eq_b(c, "notify.notification_type", a->notification_type, b->notification_type);
    eq_u(c, "notify.style", a->style, b->style);
    eq_u(c, "notify.has_sender", a->has_sender, b->has_sender);
    eq_s(c, "notify.sender.user", a->sender.user, b->sender.user);
    eq_u(c, "notify.sender.job_id", a->sender.job_id, b->sender.job_id);
    eq_s(c, "notify.sender.job_owner", a->sender.job_owner, b->sender.job_owner);
    eq_target(c, "notify.target", &a->target, &b->target);
    eq_b(c, "notify.payload", a->payload, b->payload);
}

static void eq_requests(cmp *c, const panp_frame *a, const panp_frame *b)
{
    switch (a->kind) {
    case PANP_BODY_HELLO: {
        const panp_hello *x = &a->body.hello, *y = &b->body.hello;
        eq_u(c, "hello.min_version", x->min_version, y->min_version);
        eq_u(c, "hello.max_version", x->max_version, y->max_version);
        eq_s(c, "hello.software", x->software, y->software);
        eq_u(c, "hello.auth", x->auth, y->auth);
        eq_b(c, "hello.token", x->token, y->token);
        eq_s(c, "hello.session_label", x->session_label, y->session_label);
        eq_u(c, "hello.max_frame_size", x->max_frame_size, y->max_frame_size);
        break;
    }
    case PANP_BODY_REGISTER: {
        const panp_register *x = &a->body.register_listener, *y = &b->body.register_listener;
        eq_target(c, "register.target", &x->target, &y->target);
        eq_b(c, "register.notification_type", x->notification_type, y->notification_type);
        eq_u(c, "register.user_filter", x->user_filter, y->user_filter);
        eq_u(c, "register.style", x->style, y->style);
        eq_u(c, "register.lease_seconds", x->lease_seconds, y->lease_seconds);
        eq_b(c, "register.client_state", x->client_state, y->client_state);
        break;
    }
    case PANP_BODY_OPEN_CHANNEL: {
        const panp_open_channel *x = &a->body.open_channel, *y = &b->body.open_channel;
        eq_target(c, "open_channel.target", &x->target, &y->target);
        eq_b(c, "open_channel.notification_type", x->notification_type, y->notification_type);
        eq_u(c, "open_channel.user_filter", x->user_filter, y->user_filter);
        eq_u(c, "open_channel.style", x->style, y->style);
        eq_u(c, "open_channel.has_on_behalf_of", x->has_on_behalf_of, y->has_on_behalf_of);
        eq_u(c, "on_behalf_of.job_id", x->on_behalf_of.job_id, y->on_behalf_of.job_id);
        eq_s(c, "on_behalf_of.job_owner", x->on_behalf_of.job_owner, y->on_behalf_of.job_owner);
        eq_s(c, "on_behalf_of.session_label", x->on_behalf_of.session_label,
             y->on_behalf_of.session_label);
        break;
    }
    case PANP_BODY_CLOSE_CHANNEL: {
        const panp_close_channel *x = &a->body.close_channel, *y = &b->body.close_channel;
        eq_u(c, "close_channel.side", x->side, y->side);
        eq_u(c, "close_channel.id", x->id, y->id);
        eq_u(c, "close_channel.has_reason", x->has_reason, y->has_reason);
        if (x->has_reason && y->has_reason) {
            eq_b(c, "reason.notification_type", x->reason.notification_type,
                 y->reason.notification_type);
            eq_b(c, "reason.payload", x->reason.payload, y->reason.payload);
        }
        break;
    }
    case PANP_BODY_SEND:
        eq_u(c, "send.channel_id", a->body.send.channel_id, b->body.send.channel_id);
        eq_b(c, "send.notification_type", a->body.send.notification_type,
             b->body.send.notification_type);
        eq_b(c, "send.payload", a->body.send.payload, b->body.send.payload);
        break;
    case PANP_BODY_REPLY:
        eq_u(c, "reply.conversation_id", a->body.reply.conversation_id,
             b->body.reply.conversation_id);
        eq_b(c, "reply.notification_type", a->body.reply.notification_type,
             b->body.reply.notification_type);
        eq_b(c, "reply.payload", a->body.reply.payload, b->body.reply.payload);
        break;
    case PANP_BODY_RENEW:
        eq_b(c, "renew.handle", a->body.renew.handle, b->body.renew.handle);
        eq_u(c, "renew.lease_seconds", a->body.renew.lease_seconds, b->body.renew.lease_seconds);
        break;
    case PANP_BODY_UNREGISTER:
        eq_b(c, "unregister.handle", a->body.unregister.handle, b->body.unregister.handle);
        break;
    case PANP_BODY_LIST_REGISTRATIONS:
        eq_target(c, "list_registrations.target", &a->body.list_registrations.target,
                  &b->body.list_registrations.target);
        eq_u(c, "list_registrations.offset", a->body.list_registrations.offset,
             b->body.list_registrations.offset);
        break;
    default:
        break;
    }
}

static void eq_responses(cmp *c, const panp_frame *a, const panp_frame *b)
{
    const panp_channel_closed *x = &a->body.channel_closed, *y = &b->body.channel_closed;
    switch (a->kind) {
    case PANP_BODY_NOTIFY:
        eq_notify(c, &a->body.notify, &b->body.notify);
        break;
    case PANP_BODY_WELCOME:
        eq_welcome(c, &a->body.welcome, &b->body.welcome);
        break;
    case PANP_BODY_REGISTRATION_LIST:
        eq_list(c, &a->body.registration_list, &b->body.registration_list);
        break;
    case PANP_BODY_SENT:
        eq_u(c, "sent.sequence", a->body.sent.sequence, b->body.sent.sequence);
        eq_u(c, "sent.recipients", a->body.sent.recipients, b->body.sent.recipients);
        break;
    case PANP_BODY_REPLY_DELIVERY: {
        const panp_reply_delivery *p = &a->body.reply_delivery, *q = &b->body.reply_delivery;
        eq_u(c, "reply_delivery.channel_id", p->channel_id, q->channel_id);
        eq_u(c, "reply_delivery.sequence", p->sequence, q->sequence);
        eq_s(c, "reply_delivery.responder", p->responder, q->responder);
        eq_b(c, "reply_delivery.notification_type", p->notification_type, q->notification_type);
        eq_b(c, "reply_delivery.payload", p->payload, q->payload);
        break;
    }
    case PANP_BODY_CHANNEL_CLOSED:
        eq_u(c, "channel_closed.channel_id", x->channel_id, y->channel_id);
        eq_u(c, "channel_closed.conversation_id", x->conversation_id, y->conversation_id);
        eq_b(c, "channel_closed.registration", x->registration, y->registration);
        eq_u(c, "channel_closed.reason", x->reason, y->reason);
        eq_b(c, "channel_closed.notification_type", x->notification_type, y->notification_type);
        eq_b(c, "channel_closed.payload", x->payload, y->payload);
        break;
    case PANP_BODY_ERROR:
        eq_u(c, "error.code", a->body.error.code, b->body.error.code);
        eq_s(c, "error.message", a->body.error.message, b->body.error.message);
        eq_s(c, "error.field", a->body.error.field, b->body.error.field);
        eq_u(c, "error.fatal", a->body.error.fatal, b->body.error.fatal);
        break;
    case PANP_BODY_OK:
        eq_u(c, "ok.info", a->body.ok.info, b->body.ok.info);
        break;
    case PANP_BODY_REGISTERED:
        eq_b(c, "registered.handle", a->body.registered.handle, b->body.registered.handle);
        eq_u(c, "registered.lease_seconds", a->body.registered.lease_seconds,
             b->body.registered.lease_seconds);
        break;
    case PANP_BODY_RENEWED:
        eq_u(c, "renewed.lease_seconds", a->body.renewed.lease_seconds,
             b->body.renewed.lease_seconds);
        break;
    case PANP_BODY_CHANNEL_OPENED:
        eq_u(c, "channel_opened.channel_id", a->body.channel_opened.channel_id,
             b->body.channel_opened.channel_id);
        break;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        eq_u(c, "channel_close_result.outcome", a->body.channel_close_result.outcome,
             b->body.channel_close_result.outcome);
        break;
    case PANP_BODY_REGISTRATION_ENDED:
        eq_b(c, "registration_ended.handle", a->body.registration_ended.handle,
             b->body.registration_ended.handle);
        eq_u(c, "registration_ended.reason", a->body.registration_ended.reason,
             b->body.registration_ended.reason);
        break;
    case PANP_BODY_GOODBYE:
        eq_u(c, "goodbye.reason", a->body.goodbye.reason, b->body.goodbye.reason);
        eq_s(c, "goodbye.message", a->body.goodbye.message, b->body.goodbye.message);
        break;
    default:
        eq_requests(c, a, b);
        break;
    }
}

bool tu_frames_equal(const panp_frame *a, const panp_frame *b, char *why, size_t cap)
{
    cmp c = {why, cap, true};
    eq_u(&c, "frame.request_id", a->request_id, b->request_id);
    eq_u(&c, "frame.kind", a->kind, b->kind);
    if (c.ok)
        eq_responses(&c, a, b);
    return c.ok;
}
