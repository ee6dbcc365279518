/* compare.c - field-by-field comparison of frame views (see panp/compare.h).
 *
 * Only panp/msg.h and the C library: the fuzzers link this file beside
 * whatever codec they test. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "panp/compare.h"

/* A comparison under way.  Only the first difference is reported: once
 * same is false every check is a no-op and loops over lists stop. */
typedef struct cmp {
    unsigned flags;
    bool same;
    char *why;
    size_t cap;
    const char *scope; /* the list element being compared ("a.b[2]"), or NULL */
} cmp;

static void differ(cmp *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void differ(cmp *c, const char *name, const char *fmt, ...)
{
    if (!c->same)
        return;
    c->same = false;
    if (!c->cap)
        return;
    int n = c->scope ? snprintf(c->why, c->cap, "%s.%s: ", c->scope, name)
                     : snprintf(c->why, c->cap, "%s: ", name);
    size_t used = n > 0 ? (size_t)n : 0;
    if (used >= c->cap)
        return; /* the name alone filled why */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why + used, c->cap - used, fmt, ap);
    va_end(ap);
}

/* ---- field kinds ----------------------------------------------------------- */

static void eq_u(cmp *c, const char *name, uint64_t a, uint64_t b)
{
    if (a != b)
        differ(c, name, "%llu vs %llu", (unsigned long long)a, (unsigned long long)b);
}

/* Presence of an optional submessage (the view's has_* flags). */
static void eq_has(cmp *c, const char *name, bool a, bool b)
{
    if (a != b)
        differ(c, name, "%s vs %s", a ? "present" : "absent", b ? "present" : "absent");
}

static void eq_count(cmp *c, const char *name, size_t a, size_t b)
{
    if (a != b)
        differ(c, name, "%zu vs %zu elements", a, b);
}

static bool str_same(unsigned flags, const char *a, const char *b)
{
    if (!a || !b) {
        if (!(flags & PANP_COMPARE_NULL_IS_EMPTY))
            return false; /* a decoded view never holds NULL */
        a = a ? a : "";
        b = b ? b : "";
    }
    return strcmp(a, b) == 0;
}

static const char *quoted(const char *s, char *out, size_t cap)
{
    if (!s)
        return "NULL";
    snprintf(out, cap, "\"%.40s\"", s);
    return out;
}

static void eq_s(cmp *c, const char *name, const char *a, const char *b)
{
    if (str_same(c->flags, a, b))
        return;
    char x[48], y[48];
    differ(c, name, "%s vs %s", quoted(a, x, sizeof x), quoted(b, y, sizeof y));
}

/* Decoders give empty bytes a NULL pointer; hand-built views need not. */
static bool bytes_form_ok(unsigned flags, panp_bytes v)
{
    return (flags & PANP_COMPARE_NULL_IS_EMPTY) || v.len || !v.data;
}

static bool bytes_same(panp_bytes a, panp_bytes b)
{
    if (a.len != b.len)
        return false;
    if (!a.len || a.data == b.data)
        return true;
    return a.data && b.data && memcmp(a.data, b.data, a.len) == 0;
}

static void eq_b(cmp *c, const char *name, panp_bytes a, panp_bytes b)
{
    if (!bytes_form_ok(c->flags, a) || !bytes_form_ok(c->flags, b)) {
        differ(c, name, "empty bytes with a non-NULL pointer");
        return;
    }
    if (bytes_same(a, b))
        return;
    char x[36], y[36];
    differ(c, name, "%zu bytes %s vs %zu bytes %s", a.len, panp_hex(a.data, a.len, x, sizeof x),
           b.len, panp_hex(b.data, b.len, y, sizeof y));
}

/* The printer's name means something only when both targets are printers. */
static void eq_target(cmp *c, const char *name, const panp_target *a, const panp_target *b)
{
    eq_u(c, name, a->kind, b->kind);
    if (!c->same || a->kind != PANP_TARGET_PRINTER || b->kind != PANP_TARGET_PRINTER)
        return;
    char printer[64];
    snprintf(printer, sizeof printer, "%s.printer", name);
    eq_s(c, printer, a->printer, b->printer);
}

/* ---- submessages and list elements ------------------------------------------ */

static void eq_limits(cmp *c, const panp_limits *a, const panp_limits *b)
{
    eq_u(c, "welcome.limits.max_frame_size", a->max_frame_size, b->max_frame_size);
    eq_u(c, "welcome.limits.max_registrations", a->max_registrations, b->max_registrations);
    eq_u(c, "welcome.limits.max_channels", a->max_channels, b->max_channels);
    eq_u(c, "welcome.limits.keepalive_interval_ms", a->keepalive_interval_ms,
         b->keepalive_interval_ms);
    eq_u(c, "welcome.limits.keepalive_timeout_ms", a->keepalive_timeout_ms,
         b->keepalive_timeout_ms);
    eq_u(c, "welcome.limits.max_lease_seconds", a->max_lease_seconds, b->max_lease_seconds);
    eq_u(c, "welcome.limits.max_outbound_bytes", a->max_outbound_bytes, b->max_outbound_bytes);
}

static void eq_identity(cmp *c, const panp_identity *a, const panp_identity *b)
{
    eq_s(c, "welcome.identity.user", a->user, b->user);
    eq_u(c, "welcome.identity.server_admin", a->server_admin, b->server_admin);
    eq_count(c, "welcome.identity.admin_printers", a->admin_printers_count,
             b->admin_printers_count);
    for (size_t i = 0; c->same && i < a->admin_printers_count; i++) {
        char name[64];
        snprintf(name, sizeof name, "welcome.identity.admin_printers[%zu]", i);
        eq_s(c, name, a->admin_printers[i], b->admin_printers[i]);
    }
    eq_u(c, "welcome.identity.may_open_channels", a->may_open_channels, b->may_open_channels);
    eq_u(c, "welcome.identity.trusted", a->trusted, b->trusted);
    eq_u(c, "welcome.identity.admin_printers_truncated", a->admin_printers_truncated,
         b->admin_printers_truncated);
}

static void eq_info(cmp *c, const panp_registration_info *a, const panp_registration_info *b)
{
    eq_b(c, "handle", a->handle, b->handle);
    eq_s(c, "user", a->user, b->user);
    eq_target(c, "target", &a->target, &b->target);
    eq_b(c, "notification_type", a->notification_type, b->notification_type);
    eq_u(c, "user_filter", a->user_filter, b->user_filter);
    eq_u(c, "style", a->style, b->style);
    eq_u(c, "lease_remaining_seconds", a->lease_remaining_seconds, b->lease_remaining_seconds);
}

static void eq_sender(cmp *c, const panp_sender_info *a, const panp_sender_info *b)
{
    eq_s(c, "notify.sender.user", a->user, b->user);
    eq_u(c, "notify.sender.job_id", a->job_id, b->job_id);
    eq_s(c, "notify.sender.job_owner", a->job_owner, b->job_owner);
}

static void eq_job(cmp *c, const panp_job_context *a, const panp_job_context *b)
{
    eq_u(c, "open_channel.on_behalf_of.job_id", a->job_id, b->job_id);
    eq_s(c, "open_channel.on_behalf_of.job_owner", a->job_owner, b->job_owner);
    eq_s(c, "open_channel.on_behalf_of.session_label", a->session_label, b->session_label);
}

/* ---- bodies, one function each, in panp_body_kind order ----------------------- */

typedef void eq_body_fn(cmp *c, const panp_frame *fa, const panp_frame *fb);

static void eq_notify(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_notify *a = &fa->body.notify, *b = &fb->body.notify;
    eq_b(c, "notify.registration", a->registration, b->registration);
    eq_u(c, "notify.conversation_id", a->conversation_id, b->conversation_id);
    eq_b(c, "notify.client_state", a->client_state, b->client_state);
    eq_u(c, "notify.channel_id", a->channel_id, b->channel_id);
    eq_u(c, "notify.sequence", a->sequence, b->sequence);
    eq_b(c, "notify.notification_type", a->notification_type, b->notification_type);
    eq_u(c, "notify.style", a->style, b->style);
    eq_has(c, "notify.sender", a->has_sender, b->has_sender);
    if (a->has_sender && b->has_sender)
        eq_sender(c, &a->sender, &b->sender);
    eq_target(c, "notify.target", &a->target, &b->target);
    eq_b(c, "notify.payload", a->payload, b->payload);
}

static void eq_send(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_send *a = &fa->body.send, *b = &fb->body.send;
    eq_u(c, "send.channel_id", a->channel_id, b->channel_id);
    eq_b(c, "send.notification_type", a->notification_type, b->notification_type);
    eq_b(c, "send.payload", a->payload, b->payload);
}

static void eq_sent(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_sent *a = &fa->body.sent, *b = &fb->body.sent;
    eq_u(c, "sent.sequence", a->sequence, b->sequence);
    eq_u(c, "sent.recipients", a->recipients, b->recipients);
}

static void eq_reply(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_reply *a = &fa->body.reply, *b = &fb->body.reply;
    eq_u(c, "reply.conversation_id", a->conversation_id, b->conversation_id);
    eq_b(c, "reply.notification_type", a->notification_type, b->notification_type);
    eq_b(c, "reply.payload", a->payload, b->payload);
}

static void eq_reply_delivery(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_reply_delivery *a = &fa->body.reply_delivery, *b = &fb->body.reply_delivery;
    eq_u(c, "reply_delivery.channel_id", a->channel_id, b->channel_id);
    eq_u(c, "reply_delivery.sequence", a->sequence, b->sequence);
    eq_s(c, "reply_delivery.responder", a->responder, b->responder);
    eq_b(c, "reply_delivery.notification_type", a->notification_type, b->notification_type);
    eq_b(c, "reply_delivery.payload", a->payload, b->payload);
}

static void eq_channel_closed(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_channel_closed *a = &fa->body.channel_closed, *b = &fb->body.channel_closed;
    eq_u(c, "channel_closed.channel_id", a->channel_id, b->channel_id);
    eq_u(c, "channel_closed.conversation_id", a->conversation_id, b->conversation_id);
    eq_b(c, "channel_closed.registration", a->registration, b->registration);
    eq_u(c, "channel_closed.reason", a->reason, b->reason);
    eq_b(c, "channel_closed.notification_type", a->notification_type, b->notification_type);
    eq_b(c, "channel_closed.payload", a->payload, b->payload);
}

static void eq_error(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_error_msg *a = &fa->body.error, *b = &fb->body.error;
    eq_u(c, "error.code", a->code, b->code);
    eq_s(c, "error.message", a->message, b->message);
    eq_s(c, "error.field", a->field, b->field);
    eq_u(c, "error.fatal", a->fatal, b->fatal);
}

static void eq_ok(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    eq_u(c, "ok.info", fa->body.ok.info, fb->body.ok.info);
}

static void eq_hello(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_hello *a = &fa->body.hello, *b = &fb->body.hello;
    eq_u(c, "hello.min_version", a->min_version, b->min_version);
    eq_u(c, "hello.max_version", a->max_version, b->max_version);
    eq_s(c, "hello.software", a->software, b->software);
    eq_u(c, "hello.auth", a->auth, b->auth);
    eq_b(c, "hello.token", a->token, b->token);
    eq_s(c, "hello.session_label", a->session_label, b->session_label);
    eq_u(c, "hello.max_frame_size", a->max_frame_size, b->max_frame_size);
}

static void eq_welcome(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_welcome *a = &fa->body.welcome, *b = &fb->body.welcome;
    eq_u(c, "welcome.version", a->version, b->version);
    eq_s(c, "welcome.software", a->software, b->software);
    eq_s(c, "welcome.server_name", a->server_name, b->server_name);
    eq_has(c, "welcome.limits", a->has_limits, b->has_limits);
    if (a->has_limits && b->has_limits)
        eq_limits(c, &a->limits, &b->limits);
    eq_has(c, "welcome.identity", a->has_identity, b->has_identity);
    if (a->has_identity && b->has_identity)
        eq_identity(c, &a->identity, &b->identity);
}

static void eq_register(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_register *a = &fa->body.register_listener, *b = &fb->body.register_listener;
    eq_target(c, "register.target", &a->target, &b->target);
    eq_b(c, "register.notification_type", a->notification_type, b->notification_type);
    eq_u(c, "register.user_filter", a->user_filter, b->user_filter);
    eq_u(c, "register.style", a->style, b->style);
    eq_u(c, "register.lease_seconds", a->lease_seconds, b->lease_seconds);
    eq_b(c, "register.client_state", a->client_state, b->client_state);
}

static void eq_registered(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_registered *a = &fa->body.registered, *b = &fb->body.registered;
    eq_b(c, "registered.handle", a->handle, b->handle);
    eq_u(c, "registered.lease_seconds", a->lease_seconds, b->lease_seconds);
}

static void eq_renew(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_renew *a = &fa->body.renew, *b = &fb->body.renew;
    eq_b(c, "renew.handle", a->handle, b->handle);
    eq_u(c, "renew.lease_seconds", a->lease_seconds, b->lease_seconds);
}

static void eq_renewed(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    eq_u(c, "renewed.lease_seconds", fa->body.renewed.lease_seconds,
         fb->body.renewed.lease_seconds);
}

static void eq_unregister(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    eq_b(c, "unregister.handle", fa->body.unregister.handle, fb->body.unregister.handle);
}

static void eq_list_registrations(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_list_registrations *a = &fa->body.list_registrations;
    const panp_list_registrations *b = &fb->body.list_registrations;
    eq_target(c, "list_registrations.target", &a->target, &b->target);
    eq_u(c, "list_registrations.offset", a->offset, b->offset);
}

static void eq_registration_list(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_registration_list *a = &fa->body.registration_list;
    const panp_registration_list *b = &fb->body.registration_list;
    eq_count(c, "registration_list.registrations", a->registrations_count,
             b->registrations_count);
    for (size_t i = 0; c->same && i < a->registrations_count; i++) {
        char scope[64];
        snprintf(scope, sizeof scope, "registration_list.registrations[%zu]", i);
        c->scope = scope;
        eq_info(c, &a->registrations[i], &b->registrations[i]);
        c->scope = NULL;
    }
    eq_u(c, "registration_list.total", a->total, b->total);
}

static void eq_open_channel(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_open_channel *a = &fa->body.open_channel, *b = &fb->body.open_channel;
    eq_target(c, "open_channel.target", &a->target, &b->target);
    eq_b(c, "open_channel.notification_type", a->notification_type, b->notification_type);
    eq_u(c, "open_channel.user_filter", a->user_filter, b->user_filter);
    eq_u(c, "open_channel.style", a->style, b->style);
    eq_has(c, "open_channel.on_behalf_of", a->has_on_behalf_of, b->has_on_behalf_of);
    if (a->has_on_behalf_of && b->has_on_behalf_of)
        eq_job(c, &a->on_behalf_of, &b->on_behalf_of);
}

static void eq_channel_opened(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    eq_u(c, "channel_opened.channel_id", fa->body.channel_opened.channel_id,
         fb->body.channel_opened.channel_id);
}

static void eq_close_channel(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_close_channel *a = &fa->body.close_channel, *b = &fb->body.close_channel;
    eq_u(c, "close_channel.side", a->side, b->side);
    eq_u(c, "close_channel.id", a->id, b->id);
    eq_has(c, "close_channel.reason", a->has_reason, b->has_reason);
    if (!a->has_reason || !b->has_reason)
        return;
    eq_b(c, "close_channel.reason.notification_type", a->reason.notification_type,
         b->reason.notification_type);
    eq_b(c, "close_channel.reason.payload", a->reason.payload, b->reason.payload);
}

static void eq_channel_close_result(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    eq_u(c, "channel_close_result.outcome", fa->body.channel_close_result.outcome,
         fb->body.channel_close_result.outcome);
}

static void eq_registration_ended(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const panp_registration_ended *a = &fa->body.registration_ended;
    const panp_registration_ended *b = &fb->body.registration_ended;
    eq_b(c, "registration_ended.handle", a->handle, b->handle);
    eq_u(c, "registration_ended.reason", a->reason, b->reason);
}

static void eq_goodbye(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    eq_u(c, "goodbye.reason", fa->body.goodbye.reason, fb->body.goodbye.reason);
    eq_s(c, "goodbye.message", fa->body.goodbye.message, fb->body.goodbye.message);
}

/* Ping and Pong have no fields, so no entry; nor have kinds outside it. */
static eq_body_fn *const BODIES[] = {
    [PANP_BODY_NOTIFY] = eq_notify,
    [PANP_BODY_SEND] = eq_send,
    [PANP_BODY_SENT] = eq_sent,
    [PANP_BODY_REPLY] = eq_reply,
    [PANP_BODY_REPLY_DELIVERY] = eq_reply_delivery,
    [PANP_BODY_CHANNEL_CLOSED] = eq_channel_closed,
    [PANP_BODY_ERROR] = eq_error,
    [PANP_BODY_OK] = eq_ok,
    [PANP_BODY_HELLO] = eq_hello,
    [PANP_BODY_WELCOME] = eq_welcome,
    [PANP_BODY_REGISTER] = eq_register,
    [PANP_BODY_REGISTERED] = eq_registered,
    [PANP_BODY_RENEW] = eq_renew,
    [PANP_BODY_RENEWED] = eq_renewed,
    [PANP_BODY_UNREGISTER] = eq_unregister,
    [PANP_BODY_LIST_REGISTRATIONS] = eq_list_registrations,
    [PANP_BODY_REGISTRATION_LIST] = eq_registration_list,
    [PANP_BODY_OPEN_CHANNEL] = eq_open_channel,
    [PANP_BODY_CHANNEL_OPENED] = eq_channel_opened,
    [PANP_BODY_CLOSE_CHANNEL] = eq_close_channel,
    [PANP_BODY_CHANNEL_CLOSE_RESULT] = eq_channel_close_result,
    [PANP_BODY_REGISTRATION_ENDED] = eq_registration_ended,
    [PANP_BODY_GOODBYE] = eq_goodbye,
};

bool panp_frames_equal(const panp_frame *a, const panp_frame *b, unsigned flags, char *why,
                       size_t why_cap)
{
    cmp c = {flags, true, why, why ? why_cap : 0, NULL};
    if (c.cap)
        why[0] = '\0';
    eq_u(&c, "frame.request_id", a->request_id, b->request_id);
    eq_u(&c, "frame.kind", a->kind, b->kind);
    /* Compared as unsigned: the fuzzers build kinds outside the enum. */
    unsigned kind = (unsigned)a->kind;
    if (c.same && kind < sizeof BODIES / sizeof BODIES[0] && BODIES[kind])
        BODIES[kind](&c, a, b);
    return c.same;
}

const char *panp_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (!cap)
        return out;
    if (!p)
        n = 0; /* nothing to read: an invalid view's NULL data */
    size_t whole = (cap - 1) / 2;
    size_t shown = n <= whole ? n : (cap > 4 ? (cap - 4) / 2 : 0);
    size_t o = 0;
    for (size_t i = 0; i < shown; i++) {
        out[o++] = digits[p[i] >> 4];
        out[o++] = digits[p[i] & 15];
    }
    if (shown < n && o + 3 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
