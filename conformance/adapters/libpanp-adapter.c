/* libpanp-adapter.c - the reference client library (libpanp) behind the
 * conformance suite's client adapter protocol (conformance/README.md,
 * "Client-side mode").
 *
 * Reads one JSON command per line on stdin, runs it with libpanp's
 * blocking API, writes one JSON result line per command and one JSON line
 * per event the library delivers (events can come while a command waits:
 * libpanp dispatches them from inside blocking calls).  Exits at EOF on
 * stdin.  Objects are named by the labels the suite gives ("reg", "chan");
 * conversations by their id. */
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "panp/client.h"
#include "sbuf.h"

#define MAX_OBJS 64
#define PAYLOAD_MAX 70000

typedef struct named {
    char label[32];
    void *obj;
} named;

typedef struct adapter {
    panp_client *c;
    named regs[MAX_OBJS], chans[MAX_OBJS];
    size_t nregs, nchans;
    struct {
        uint64_t id;
        panp_conversation *cv;
    } convs[MAX_OBJS * 4];
    size_t nconvs;
} adapter;

/* ---- output -------------------------------------------------------------- */

static void emit(sbuf *b)
{
    sbuf_putc(b, '\n');
    fwrite(b->s, 1, b->len, stdout);
    fflush(stdout);
    sbuf_free(b);
}

static void hex_member(sbuf *b, const char *key, panp_bytes v)
{
    sbuf_printf(b, ",\"%s\":\"", key);
    sbuf_hex(b, v.data, v.len);
    sbuf_putc(b, '"');
}

static void reason_member(sbuf *b, panp_close_reason r)
{
    const char *name = panp_close_reason_name(r);
    if (strcmp(name, "?")) sbuf_printf(b, ",\"reason\":\"%s\"", name);
    else sbuf_printf(b, ",\"reason\":\"%d\"", (int)r);
}

static const char *label_of(named *v, size_t n, const void *obj)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].obj == obj) return v[i].label;
    return "?";
}

static void *obj_of(named *v, size_t n, const char *label)
{
    for (size_t i = 0; label && i < n; i++)
        if (!strcmp(v[i].label, label)) return v[i].obj;
    return NULL;
}

/* ---- library callbacks ---------------------------------------------------- */

static void on_notify(panp_client *c, panp_registration *reg, panp_conversation *cv, const panp_notify *n, void *data)
{
    (void)c;
    adapter *a = data;
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "{\"event\":\"notify\",\"reg\":");
    sbuf_json_str(&b, label_of(a->regs, a->nregs, reg));
    sbuf_printf(&b, ",\"conversation\":\"%" PRIu64 "\",\"channel_id\":\"%" PRIu64 "\",\"sequence\":\"%" PRIu64 "\"",
                n->conversation_id, n->channel_id, n->sequence);
    hex_member(&b, "type", n->notification_type);
    hex_member(&b, "payload", n->payload);
    hex_member(&b, "client_state", n->client_state);
    sbuf_puts(&b, "}");
    emit(&b);
    if (cv && a->nconvs < sizeof(a->convs) / sizeof(a->convs[0])) {
        for (size_t i = 0; i < a->nconvs; i++)
            if (a->convs[i].cv == cv) return;
        panp_conversation_retain(cv);
        a->convs[a->nconvs].id = n->conversation_id;
        a->convs[a->nconvs++].cv = cv;
    }
}

static void closed_members(sbuf *b, const panp_closed_info *info)
{
    sbuf_printf(b, ",\"channel_id\":\"%" PRIu64 "\",\"conversation\":\"%" PRIu64 "\"", info->channel_id,
                info->conversation_id);
    reason_member(b, info->reason);
    sbuf_printf(b, ",\"release\":%s,\"by_self\":%s", info->release ? "true" : "false", info->by_self ? "true" : "false");
    hex_member(b, "payload", info->payload);
    sbuf_puts(b, "}");
}

static void on_conv_closed(panp_client *c, panp_registration *reg, panp_conversation *cv, const panp_closed_info *info,
                           void *data)
{
    (void)c;
    (void)cv;
    adapter *a = data;
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "{\"event\":\"closed\",\"reg\":");
    sbuf_json_str(&b, label_of(a->regs, a->nregs, reg));
    closed_members(&b, info);
    emit(&b);
}

static void on_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason reason, void *data)
{
    (void)c;
    adapter *a = data;
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "{\"event\":\"registration_ended\",\"reg\":");
    sbuf_json_str(&b, label_of(a->regs, a->nregs, reg));
    sbuf_printf(&b, ",\"reason\":\"%d\"}", (int)reason);
    emit(&b);
}

static void on_reply(panp_client *c, panp_channel *ch, const panp_reply_delivery *r, void *data)
{
    (void)c;
    adapter *a = data;
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "{\"event\":\"reply\",\"chan\":");
    sbuf_json_str(&b, label_of(a->chans, a->nchans, ch));
    sbuf_printf(&b, ",\"sequence\":\"%" PRIu64 "\",\"responder\":", r->sequence);
    sbuf_json_str(&b, r->responder);
    hex_member(&b, "payload", r->payload);
    sbuf_puts(&b, "}");
    emit(&b);
}

static void on_chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info, void *data)
{
    (void)c;
    adapter *a = data;
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "{\"event\":\"closed\",\"chan\":");
    sbuf_json_str(&b, label_of(a->chans, a->nchans, ch));
    closed_members(&b, info);
    emit(&b);
}

static void on_connection(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    (void)c;
    (void)data;
    static const char *const names[] = {"?", "up", "restored", "lost", "dead"};
    sbuf b = SBUF_INIT;
    sbuf_printf(&b, "{\"event\":\"connection\",\"state\":\"%s\",\"message\":", names[ev <= 4 ? ev : 0]);
    sbuf_json_str(&b, why ? why->message : "");
    sbuf_puts(&b, "}");
    emit(&b);
}

/* ---- commands ----------------------------------------------------------------- */

static void result(uint64_t id, panp_error_code code, const panp_status *st, const char *extra)
{
    sbuf b = SBUF_INIT;
    sbuf_printf(&b, "{\"id\":%" PRIu64 ",\"ok\":%s", id, code == PANP_OK ? "true" : "false");
    if (code != PANP_OK) {
        sbuf_puts(&b, ",\"code\":");
        sbuf_json_str(&b, panp_strerror(code));
        sbuf_puts(&b, ",\"message\":");
        sbuf_json_str(&b, st ? st->message : "");
    }
    if (extra) sbuf_puts(&b, extra);
    sbuf_puts(&b, "}");
    emit(&b);
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; s && s[0] && s[1] && n < cap; s += 2) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

static panp_user_filter filter_of(const char *s) { return s && !strcmp(s, "ALL_USERS") ? PANP_USER_FILTER_ALL_USERS : PANP_USER_FILTER_PER_USER; }
static panp_style style_of(const char *s) { return s && !strcmp(s, "BIDIRECTIONAL") ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL; }

static panp_conversation *conv_of(adapter *a, const pj_value *cmd)
{
    uint64_t id = 0;
    const char *s = pj_get_str(cmd, "conversation", NULL);
    if (s) id = strtoull(s, NULL, 10);
    for (size_t i = 0; i < a->nconvs; i++)
        if (a->convs[i].id == id) return a->convs[i].cv;
    return NULL;
}

static void cmd_connect(adapter *a, uint64_t id, const pj_value *cmd)
{
    panp_options o = {.broker = pj_get_str(cmd, "broker", NULL), .token = pj_get_str(cmd, "token", NULL),
                      .session_label = pj_get_str(cmd, "session_label", NULL), .connect_timeout_ms = 5000,
                      .request_timeout_ms = 5000, .on_connection = on_connection, .data = a,
                      .tls_ca_file = pj_get_str(cmd, "tls_ca", NULL), .tls_cert_file = pj_get_str(cmd, "tls_cert", NULL),
                      .tls_key_file = pj_get_str(cmd, "tls_key", NULL),
                      .tls_server_name = pj_get_str(cmd, "tls_server_name", NULL)};
    if (a->c) { /* a connect after a failed or finished one: a fresh client */
        panp_free(a->c);
        a->c = NULL;
        a->nregs = a->nchans = a->nconvs = 0;
    }
    panp_status st;
    panp_error_code rc = panp_connect(&o, &a->c, &st);
    result(id, rc, &st, NULL);
}

static void cmd_register(adapter *a, uint64_t id, const pj_value *cmd)
{
    uint8_t type[16] = {0}, state[256];
    const char *label = pj_get_str(cmd, "reg", "");
    panp_type_parse(pj_get_str(cmd, "type", ""), type);
    uint64_t lease = 0;
    pj_get_u64(cmd, "lease", &lease);
    panp_register_params p = {.printer = pj_get_str(cmd, "printer", NULL), .type = type,
                              .user_filter = filter_of(pj_get_str(cmd, "filter", NULL)),
                              .style = style_of(pj_get_str(cmd, "style", NULL)), .lease_seconds = (uint32_t)lease,
                              .client_state = state, .client_state_len = unhex(pj_get_str(cmd, "client_state", ""), state, sizeof(state)),
                              .on_notify = on_notify, .on_closed = on_conv_closed, .on_ended = on_ended, .data = a};
    panp_registration *reg = NULL;
    panp_status st;
    /* the label first: events of this registration may come during the call */
    named *slot = a->nregs < MAX_OBJS ? &a->regs[a->nregs] : NULL;
    panp_error_code rc = slot ? panp_register_listener(a->c, &p, &reg, &st) : PANP_ERR_NOMEM;
    if (rc == PANP_OK) {
        snprintf(slot->label, sizeof(slot->label), "%s", label);
        slot->obj = reg;
        a->nregs++;
    }
    result(id, rc, &st, NULL);
}

static void cmd_open(adapter *a, uint64_t id, const pj_value *cmd)
{
    uint8_t type[16] = {0};
    panp_type_parse(pj_get_str(cmd, "type", ""), type);
    panp_channel_params p = {.printer = pj_get_str(cmd, "printer", NULL), .type = type,
                             .user_filter = filter_of(pj_get_str(cmd, "filter", NULL)),
                             .style = style_of(pj_get_str(cmd, "style", NULL)), .on_reply = on_reply,
                             .on_closed = on_chan_closed, .data = a};
    panp_channel *ch = NULL;
    panp_status st;
    panp_error_code rc = a->nchans < MAX_OBJS ? panp_channel_open(a->c, &p, &ch, &st) : PANP_ERR_NOMEM;
    char extra[64] = "";
    if (rc == PANP_OK) {
        snprintf(a->chans[a->nchans].label, sizeof(a->chans[0].label), "%s", pj_get_str(cmd, "chan", ""));
        a->chans[a->nchans++].obj = ch;
        snprintf(extra, sizeof(extra), ",\"channel_id\":\"%" PRIu64 "\"", panp_channel_id(ch));
    }
    result(id, rc, &st, extra);
}

static void cmd_send(adapter *a, uint64_t id, const pj_value *cmd)
{
    uint8_t *payload = malloc(PAYLOAD_MAX);
    size_t n = payload ? unhex(pj_get_str(cmd, "payload", ""), payload, PAYLOAD_MAX) : 0;
    panp_channel *ch = obj_of(a->chans, a->nchans, pj_get_str(cmd, "chan", NULL));
    panp_sent sent = {0};
    panp_status st = {0};
    panp_error_code rc = ch ? panp_channel_send(a->c, ch, payload, n, &sent, &st) : PANP_ERR_CHANNEL_NOT_OPENED;
    char extra[96];
    snprintf(extra, sizeof(extra), ",\"sequence\":\"%" PRIu64 "\",\"recipients\":%u", sent.sequence, sent.recipients);
    result(id, rc, &st, rc == PANP_OK ? extra : NULL);
    free(payload);
}

static void cmd_close(adapter *a, uint64_t id, const pj_value *cmd)
{
    uint8_t reason[4096];
    const char *hex = pj_get_str(cmd, "reason", NULL);
    size_t n = unhex(hex, reason, sizeof(reason));
    panp_close_result res = PANP_CLOSE_RESULT_NONE;
    panp_status st = {0};
    panp_error_code rc;
    if (pj_get(cmd, "chan")) {
        panp_channel *ch = obj_of(a->chans, a->nchans, pj_get_str(cmd, "chan", NULL));
        rc = ch ? panp_channel_close(a->c, ch, hex ? reason : NULL, n, &res, &st) : PANP_ERR_CHANNEL_NOT_OPENED;
    } else {
        panp_conversation *cv = conv_of(a, cmd);
        rc = cv ? panp_conversation_close(a->c, cv, hex ? reason : NULL, n, &res, &st) : PANP_ERR_CHANNEL_NOT_OPENED;
    }
    char extra[64];
    snprintf(extra, sizeof(extra), ",\"result\":\"%s\"", panp_close_result_name(res));
    result(id, rc, &st, rc == PANP_OK ? extra : NULL);
}

static void cmd_misc(adapter *a, uint64_t id, const char *name, const pj_value *cmd)
{
    panp_status st = {0};
    panp_error_code rc = PANP_ERR_INVALID_ARGUMENT;
    if (!strcmp(name, "sync")) {
        rc = panp_sync(a->c, &st);
    } else if (!strcmp(name, "unregister")) {
        panp_registration *r = obj_of(a->regs, a->nregs, pj_get_str(cmd, "reg", NULL));
        rc = r ? panp_unregister_listener(a->c, r, &st) : PANP_ERR_NOT_FOUND;
    } else if (!strcmp(name, "reply")) {
        uint8_t *payload = malloc(PAYLOAD_MAX);
        size_t n = payload ? unhex(pj_get_str(cmd, "payload", ""), payload, PAYLOAD_MAX) : 0;
        panp_conversation *cv = conv_of(a, cmd);
        rc = cv ? panp_conversation_reply(a->c, cv, payload, n, &st) : PANP_ERR_CHANNEL_NOT_OPENED;
        free(payload);
    } else if (!strcmp(name, "list")) {
        panp_reg_list l = {0};
        rc = panp_get_registrations(a->c, NULL, &l, &st);
        panp_reg_list_free(&l);
    } else if (!strcmp(name, "disconnect")) {
        panp_free(a->c);
        a->c = NULL;
        a->nregs = a->nchans = a->nconvs = 0;
        rc = PANP_OK;
    }
    result(id, rc, &st, NULL);
}

static void run_command(adapter *a, const char *line)
{
    char err[128];
    pj_value *cmd = pj_parse(line, strlen(line), err, sizeof(err));
    uint64_t id = 0;
    pj_get_u64(cmd, "id", &id);
    const char *name = pj_get_str(cmd, "cmd", "");
    if (!cmd) fprintf(stderr, "adapter: bad command line (%s): %s\n", err, line);
    else if (!strcmp(name, "connect")) cmd_connect(a, id, cmd);
    else if (!a->c) result(id, PANP_ERR_DISCONNECTED, NULL, NULL);
    else if (!strcmp(name, "register")) cmd_register(a, id, cmd);
    else if (!strcmp(name, "open")) cmd_open(a, id, cmd);
    else if (!strcmp(name, "send")) cmd_send(a, id, cmd);
    else if (!strcmp(name, "close")) cmd_close(a, id, cmd);
    else cmd_misc(a, id, name, cmd);
    pj_free(cmd);
}

int main(void)
{
    adapter a = {0};
    sbuf in = SBUF_INIT;
    for (;;) {
        struct pollfd p[2] = {{0, POLLIN, 0}, {a.c ? panp_fd(a.c) : -1, POLLIN, 0}};
        poll(p, 2, 20);
        if (a.c) panp_poll(a.c, 0, NULL); /* events, keepalive, loss */
        if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
        char buf[65536];
        ssize_t n = read(0, buf, sizeof(buf));
        if (n <= 0) break;
        sbuf_put(&in, buf, (size_t)n);
        char *nl;
        while (in.s && (nl = strchr(in.s, '\n')) != NULL) {
            *nl = '\0';
            run_command(&a, in.s);
            size_t rest = in.len - (size_t)(nl + 1 - in.s);
            memmove(in.s, nl + 1, rest);
            in.len = rest;
            in.s[rest] = '\0';
        }
    }
    if (a.c) panp_free(a.c);
    sbuf_free(&in);
    return 0;
}
