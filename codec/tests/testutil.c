/* testutil.c - helpers shared by the codec tests (see testutil.h). */
#include <dirent.h>
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
