/* fuzz_common.c - see fuzz_common.h.  Written from panp.proto and SPEC.md,
 * not from the codec's sources, so it does not share the codec's mistakes. */
#include <stdarg.h>
#include <string.h>

#include "fuzz_common.h"

size_t fz_len(fz_in *in)
{
    static const size_t edges[] = {0,   1,   15,  16,  17,  31,  32,  33,    64,    65,
                                   128, 129, 255, 256, 512, 513, 4096, 63488, 63489, 65535};
    uint8_t sel = fz_u8(in);
    if (sel < 2 * sizeof edges / sizeof edges[0])
        return edges[sel / 2];
    if (sel < 200)
        return sel - 40; /* small: 0..159 */
    uint32_t v = fz_u8(in);
    return (v << 8 | fz_u8(in)) % 70000;
}

/* ---- receivers ----------------------------------------------------------- */

const panp_body_kind fz_kinds[] = {
    PANP_BODY_NOTIFY,          PANP_BODY_SEND,          PANP_BODY_SENT,
    PANP_BODY_REPLY,           PANP_BODY_REPLY_DELIVERY, PANP_BODY_CHANNEL_CLOSED,
    PANP_BODY_PING,            PANP_BODY_PONG,          PANP_BODY_ERROR,
    PANP_BODY_OK,              PANP_BODY_HELLO,         PANP_BODY_WELCOME,
    PANP_BODY_REGISTER,        PANP_BODY_REGISTERED,    PANP_BODY_RENEW,
    PANP_BODY_RENEWED,         PANP_BODY_UNREGISTER,    PANP_BODY_LIST_REGISTRATIONS,
    PANP_BODY_REGISTRATION_LIST, PANP_BODY_OPEN_CHANNEL, PANP_BODY_CHANNEL_OPENED,
    PANP_BODY_CLOSE_CHANNEL,   PANP_BODY_CHANNEL_CLOSE_RESULT, PANP_BODY_REGISTRATION_ENDED,
    PANP_BODY_GOODBYE,
};
const size_t fz_nkinds = sizeof fz_kinds / sizeof fz_kinds[0];

panp_peer fz_receiver(panp_body_kind kind)
{
    switch (kind) {
    case PANP_BODY_SEND:
    case PANP_BODY_REPLY:
    case PANP_BODY_PING:
    case PANP_BODY_HELLO:
    case PANP_BODY_REGISTER:
    case PANP_BODY_RENEW:
    case PANP_BODY_UNREGISTER:
    case PANP_BODY_LIST_REGISTRATIONS:
    case PANP_BODY_OPEN_CHANNEL:
    case PANP_BODY_CLOSE_CHANNEL:
        return PANP_PEER_BROKER;
    case PANP_BODY_NOTIFY:
    case PANP_BODY_SENT:
    case PANP_BODY_REPLY_DELIVERY:
    case PANP_BODY_CHANNEL_CLOSED:
    case PANP_BODY_PONG:
    case PANP_BODY_ERROR:
    case PANP_BODY_OK:
    case PANP_BODY_WELCOME:
    case PANP_BODY_REGISTERED:
    case PANP_BODY_RENEWED:
    case PANP_BODY_REGISTRATION_LIST:
    case PANP_BODY_CHANNEL_OPENED:
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
    case PANP_BODY_REGISTRATION_ENDED:
    case PANP_BODY_GOODBYE:
        return PANP_PEER_CLIENT;
    case PANP_BODY_NONE:
        break;
    }
    return PANP_PEER_ANY;
}

bool fz_accepts(panp_peer peer, panp_body_kind kind)
{
    panp_peer r = fz_receiver(kind);
    if (r == PANP_PEER_ANY)
        return false; /* no body, or not in the schema */
    if (peer == PANP_PEER_ANY || kind == PANP_BODY_GOODBYE)
        return true;
    return r == peer;
}

/* ---- comparison ----------------------------------------------------------- */

typedef struct cmp {
    bool same;
    char *why;
    size_t cap;
} cmp;

static void differ(cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void differ(cmp *c, const char *fmt, ...)
{
    if (!c->same)
        return; /* keep the first difference */
    c->same = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->cap, fmt, ap);
    va_end(ap);
}

static void eq_u(cmp *c, const char *name, uint64_t a, uint64_t b)
{
    if (a != b)
        differ(c, "%s: %llu != %llu", name, (unsigned long long)a, (unsigned long long)b);
}

static void eq_s(cmp *c, const char *name, const char *a, const char *b)
{
    if (strcmp(a ? a : "", b ? b : ""))
        differ(c, "%s: \"%.40s\" != \"%.40s\"", name, a ? a : "", b ? b : "");
}

static void eq_b(cmp *c, const char *name, panp_bytes a, panp_bytes b)
{
    if (a.len != b.len)
        differ(c, "%s: %zu bytes != %zu bytes", name, a.len, b.len);
    else if (a.len && memcmp(a.data, b.data, a.len))
        differ(c, "%s: contents differ", name);
}

static void eq_target(cmp *c, const char *name, const panp_target *a, const panp_target *b)
{
    eq_u(c, name, a->kind, b->kind);
    if (a->kind == PANP_TARGET_PRINTER && b->kind == PANP_TARGET_PRINTER)
        eq_s(c, name, a->printer, b->printer);
}

static void eq_welcome(cmp *c, const panp_welcome *a, const panp_welcome *b)
{
    eq_u(c, "welcome.version", a->version, b->version);
    eq_s(c, "welcome.software", a->software, b->software);
    eq_s(c, "welcome.server_name", a->server_name, b->server_name);
    eq_u(c, "welcome.has_limits", a->has_limits, b->has_limits);
    if (a->has_limits && b->has_limits) {
        const panp_limits *x = &a->limits, *y = &b->limits;
        eq_u(c, "limits.max_frame_size", x->max_frame_size, y->max_frame_size);
        eq_u(c, "limits.max_registrations", x->max_registrations, y->max_registrations);
        eq_u(c, "limits.max_channels", x->max_channels, y->max_channels);
        eq_u(c, "limits.keepalive_interval_ms", x->keepalive_interval_ms,
             y->keepalive_interval_ms);
        eq_u(c, "limits.keepalive_timeout_ms", x->keepalive_timeout_ms, y->keepalive_timeout_ms);
        eq_u(c, "limits.max_lease_seconds", x->max_lease_seconds, y->max_lease_seconds);
        eq_u(c, "limits.max_outbound_bytes", x->max_outbound_bytes, y->max_outbound_bytes);
    }
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
    for (size_t i = 0; c->same && i < x->admin_printers_count; i++)
        eq_s(c, "identity.admin_printers[]", x->admin_printers[i], y->admin_printers[i]);
}

static void eq_list(cmp *c, const panp_registration_list *a, const panp_registration_list *b)
{
    eq_u(c, "registration_list.total", a->total, b->total);
    eq_u(c, "registration_list.count", a->registrations_count, b->registrations_count);
    for (size_t i = 0; c->same && i < a->registrations_count; i++) {
        const panp_registration_info *x = &a->registrations[i], *y = &b->registrations[i];
        eq_b(c, "registrations[].handle", x->handle, y->handle);
        eq_s(c, "registrations[].user", x->user, y->user);
        eq_target(c, "registrations[].target", &x->target, &y->target);
        eq_b(c, "registrations[].notification_type", x->notification_type,
             y->notification_type);
        eq_u(c, "registrations[].user_filter", x->user_filter, y->user_filter);
        eq_u(c, "registrations[].style", x->style, y->style);
        eq_u(c, "registrations[].lease_remaining_seconds", x->lease_remaining_seconds,
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
    if (a->has_sender && b->has_sender) {
        eq_s(c, "notify.sender.user", a->sender.user, b->sender.user);
        eq_u(c, "notify.sender.job_id", a->sender.job_id, b->sender.job_id);
        eq_s(c, "notify.sender.job_owner", a->sender.job_owner, b->sender.job_owner);
    }
    eq_target(c, "notify.target", &a->target, &b->target);
    eq_b(c, "notify.payload", a->payload, b->payload);
}

static void eq_body(cmp *c, const panp_frame *fa, const panp_frame *fb)
{
    const __typeof__(fa->body) *a = &fa->body, *b = &fb->body;
    switch (fa->kind) {
    case PANP_BODY_NOTIFY:
        eq_notify(c, &a->notify, &b->notify);
        break;
    case PANP_BODY_SEND:
        eq_u(c, "send.channel_id", a->send.channel_id, b->send.channel_id);
        eq_b(c, "send.notification_type", a->send.notification_type, b->send.notification_type);
        eq_b(c, "send.payload", a->send.payload, b->send.payload);
        break;
    case PANP_BODY_SENT:
        eq_u(c, "sent.sequence", a->sent.sequence, b->sent.sequence);
        eq_u(c, "sent.recipients", a->sent.recipients, b->sent.recipients);
        break;
    case PANP_BODY_REPLY:
        eq_u(c, "reply.conversation_id", a->reply.conversation_id, b->reply.conversation_id);
        eq_b(c, "reply.notification_type", a->reply.notification_type,
             b->reply.notification_type);
        eq_b(c, "reply.payload", a->reply.payload, b->reply.payload);
        break;
    case PANP_BODY_REPLY_DELIVERY: {
        const panp_reply_delivery *x = &a->reply_delivery, *y = &b->reply_delivery;
        eq_u(c, "reply_delivery.channel_id", x->channel_id, y->channel_id);
        eq_u(c, "reply_delivery.sequence", x->sequence, y->sequence);
        eq_s(c, "reply_delivery.responder", x->responder, y->responder);
        eq_b(c, "reply_delivery.notification_type", x->notification_type, y->notification_type);
        eq_b(c, "reply_delivery.payload", x->payload, y->payload);
        break;
    }
    case PANP_BODY_CHANNEL_CLOSED: {
        const panp_channel_closed *x = &a->channel_closed, *y = &b->channel_closed;
        eq_u(c, "channel_closed.channel_id", x->channel_id, y->channel_id);
        eq_u(c, "channel_closed.conversation_id", x->conversation_id, y->conversation_id);
        eq_b(c, "channel_closed.registration", x->registration, y->registration);
        eq_u(c, "channel_closed.reason", x->reason, y->reason);
        eq_b(c, "channel_closed.notification_type", x->notification_type, y->notification_type);
        eq_b(c, "channel_closed.payload", x->payload, y->payload);
        break;
    }
    case PANP_BODY_ERROR:
        eq_u(c, "error.code", a->error.code, b->error.code);
        eq_s(c, "error.message", a->error.message, b->error.message);
        eq_s(c, "error.field", a->error.field, b->error.field);
        eq_u(c, "error.fatal", a->error.fatal, b->error.fatal);
        break;
    case PANP_BODY_OK:
        eq_u(c, "ok.info", a->ok.info, b->ok.info);
        break;
    case PANP_BODY_HELLO: {
        const panp_hello *x = &a->hello, *y = &b->hello;
        eq_u(c, "hello.min_version", x->min_version, y->min_version);
        eq_u(c, "hello.max_version", x->max_version, y->max_version);
        eq_s(c, "hello.software", x->software, y->software);
        eq_u(c, "hello.auth", x->auth, y->auth);
        eq_b(c, "hello.token", x->token, y->token);
        eq_s(c, "hello.session_label", x->session_label, y->session_label);
        eq_u(c, "hello.max_frame_size", x->max_frame_size, y->max_frame_size);
        break;
    }
    case PANP_BODY_WELCOME:
        eq_welcome(c, &a->welcome, &b->welcome);
        break;
    case PANP_BODY_REGISTER: {
        const panp_register *x = &a->register_listener, *y = &b->register_listener;
        eq_target(c, "register.target", &x->target, &y->target);
        eq_b(c, "register.notification_type", x->notification_type, y->notification_type);
        eq_u(c, "register.user_filter", x->user_filter, y->user_filter);
        eq_u(c, "register.style", x->style, y->style);
        eq_u(c, "register.lease_seconds", x->lease_seconds, y->lease_seconds);
        eq_b(c, "register.client_state", x->client_state, y->client_state);
        break;
    }
    case PANP_BODY_REGISTERED:
        eq_b(c, "registered.handle", a->registered.handle, b->registered.handle);
        eq_u(c, "registered.lease_seconds", a->registered.lease_seconds,
             b->registered.lease_seconds);
        break;
    case PANP_BODY_RENEW:
        eq_b(c, "renew.handle", a->renew.handle, b->renew.handle);
        eq_u(c, "renew.lease_seconds", a->renew.lease_seconds, b->renew.lease_seconds);
        break;
    case PANP_BODY_RENEWED:
        eq_u(c, "renewed.lease_seconds", a->renewed.lease_seconds, b->renewed.lease_seconds);
        break;
    case PANP_BODY_UNREGISTER:
        eq_b(c, "unregister.handle", a->unregister.handle, b->unregister.handle);
        break;
    case PANP_BODY_LIST_REGISTRATIONS:
        eq_target(c, "list_registrations.target", &a->list_registrations.target,
                  &b->list_registrations.target);
        eq_u(c, "list_registrations.offset", a->list_registrations.offset,
             b->list_registrations.offset);
        break;
    case PANP_BODY_REGISTRATION_LIST:
        eq_list(c, &a->registration_list, &b->registration_list);
        break;
    case PANP_BODY_OPEN_CHANNEL: {
        const panp_open_channel *x = &a->open_channel, *y = &b->open_channel;
        eq_target(c, "open_channel.target", &x->target, &y->target);
        eq_b(c, "open_channel.notification_type", x->notification_type, y->notification_type);
        eq_u(c, "open_channel.user_filter", x->user_filter, y->user_filter);
        eq_u(c, "open_channel.style", x->style, y->style);
        eq_u(c, "open_channel.has_on_behalf_of", x->has_on_behalf_of, y->has_on_behalf_of);
        if (x->has_on_behalf_of && y->has_on_behalf_of) {
            eq_u(c, "on_behalf_of.job_id", x->on_behalf_of.job_id, y->on_behalf_of.job_id);
            eq_s(c, "on_behalf_of.job_owner", x->on_behalf_of.job_owner,
                 y->on_behalf_of.job_owner);
            eq_s(c, "on_behalf_of.session_label", x->on_behalf_of.session_label,
                 y->on_behalf_of.session_label);
        }
        break;
    }
    case PANP_BODY_CHANNEL_OPENED:
        eq_u(c, "channel_opened.channel_id", a->channel_opened.channel_id,
             b->channel_opened.channel_id);
        break;
    case PANP_BODY_CLOSE_CHANNEL: {
        const panp_close_channel *x = &a->close_channel, *y = &b->close_channel;
        eq_u(c, "close_channel.side", x->side, y->side);
        eq_u(c, "close_channel.id", x->id, y->id);
        eq_u(c, "close_channel.has_reason", x->has_reason, y->has_reason);
        if (x->has_reason && y->has_reason) {
            eq_b(c, "close_channel.reason.notification_type", x->reason.notification_type,
                 y->reason.notification_type);
            eq_b(c, "close_channel.reason.payload", x->reason.payload, y->reason.payload);
        }
        break;
    }
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        eq_u(c, "channel_close_result.outcome", a->channel_close_result.outcome,
             b->channel_close_result.outcome);
        break;
    case PANP_BODY_REGISTRATION_ENDED:
        eq_b(c, "registration_ended.handle", a->registration_ended.handle,
             b->registration_ended.handle);
        eq_u(c, "registration_ended.reason", a->registration_ended.reason,
             b->registration_ended.reason);
        break;
    case PANP_BODY_GOODBYE:
        eq_u(c, "goodbye.reason", a->goodbye.reason, b->goodbye.reason);
        eq_s(c, "goodbye.message", a->goodbye.message, b->goodbye.message);
        break;
    case PANP_BODY_PING:
    case PANP_BODY_PONG:
    case PANP_BODY_NONE:
        break;
    }
}

bool fz_frames_equal(const panp_frame *a, const panp_frame *b, char *why, size_t cap)
{
    cmp c = {true, why, cap};
    if (cap)
        why[0] = '\0';
    eq_u(&c, "frame.request_id", a->request_id, b->request_id);
    eq_u(&c, "frame.kind", a->kind, b->kind);
    if (c.same)
        eq_body(&c, a, b);
    return c.same;
}

const char *fz_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && i < 48 && o + 4 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x ", p[i]);
    if (n > 48 && o + 4 < cap)
        snprintf(out + o, cap - o, "...");
    return out;
}
