/* size.c - the canonical encoded size of a frame view, computed from the
 * view alone.
 *
 * panp_validate() needs the size to enforce a frame limit without building
 * a backend's structs (nanopb's would need 63 KiB on a device), and the
 * tests use it as a third opinion next to protobuf-c's and nanopb's sizes.
 * Rules (canonical proto3): zero scalars and empty strings/bytes are
 * omitted, except oneof members, which are always written; a present
 * submessage is written even when empty.
 */
#include <string.h>

#include "size.h"

static size_t tag(unsigned number)
{
    return panp_varint_size((uint64_t)number << 3);
}

static size_t u(unsigned number, uint64_t v)
{
    return v ? tag(number) + panp_varint_size(v) : 0;
}

/* Enums and bools: int32-sized values, sign-extended like protoc does. */
static size_t e(unsigned number, long long v)
{
    return v ? tag(number) + panp_varint_size((uint64_t)v) : 0;
}

static size_t len_field(unsigned number, size_t len)
{
    return tag(number) + panp_varint_size(len) + len;
}

static size_t b(unsigned number, panp_bytes v)
{
    return v.len ? len_field(number, v.len) : 0;
}

static size_t s(unsigned number, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    return n ? len_field(number, n) : 0;
}

static size_t target(unsigned number, const panp_target *t)
{
    size_t n;
    switch (t->kind) {
    case PANP_TARGET_SERVER:
        n = len_field(1, 0);
        break;
    case PANP_TARGET_PRINTER:
        n = len_field(2, t->printer ? strlen(t->printer) : 0);
        break;
    case PANP_TARGET_EMPTY:
        n = 0;
        break;
    default:
        return 0;
    }
    return len_field(number, n);
}

static size_t hello(const panp_hello *m)
{
    return u(1, m->min_version) + u(2, m->max_version) + s(3, m->software) + e(4, m->auth) +
           b(5, m->token) + s(6, m->session_label) + u(7, m->max_frame_size);
}

static size_t welcome(const panp_welcome *m)
{
    size_t n = u(1, m->version) + s(2, m->software) + s(3, m->server_name);
    if (m->has_limits) {
        const panp_limits *l = &m->limits;
        n += len_field(4, u(1, l->max_frame_size) + u(2, l->max_registrations) +
                              u(3, l->max_channels) + u(4, l->keepalive_interval_ms) +
                              u(5, l->keepalive_timeout_ms) + u(6, l->max_lease_seconds) +
                              u(7, l->max_outbound_bytes));
    }
    if (m->has_identity) {
        const panp_identity *i = &m->identity;
        size_t k = s(1, i->user) + e(2, i->server_admin) + e(4, i->may_open_channels) +
                   e(5, i->trusted) + e(6, i->admin_printers_truncated);
        for (size_t j = 0; j < i->admin_printers_count; j++) /* repeated: empty kept */
            k += len_field(3, i->admin_printers[j] ? strlen(i->admin_printers[j]) : 0);
        n += len_field(5, k);
    }
    return n;
}

static size_t registration_list(const panp_registration_list *m)
{
    size_t n = u(2, m->total);
    for (size_t j = 0; j < m->registrations_count; j++) {
        const panp_registration_info *i = &m->registrations[j];
        n += len_field(1, b(1, i->handle) + s(2, i->user) + target(3, &i->target) +
                              b(4, i->notification_type) + e(5, i->user_filter) +
                              e(6, i->style) + u(7, i->lease_remaining_seconds));
    }
    return n;
}

static size_t notify(const panp_notify *m)
{
    size_t n = b(1, m->registration) + u(2, m->conversation_id) + b(3, m->client_state) +
               u(4, m->channel_id) + u(5, m->sequence) + b(6, m->notification_type) +
               e(7, m->style) + target(9, &m->target) + b(10, m->payload);
    if (m->has_sender)
        n += len_field(8, s(1, m->sender.user) + u(2, m->sender.job_id) +
                              s(3, m->sender.job_owner));
    return n;
}

static size_t open_channel(const panp_open_channel *m)
{
    size_t n = target(1, &m->target) + b(2, m->notification_type) + e(3, m->user_filter) +
               e(4, m->style);
    if (m->has_on_behalf_of)
        n += len_field(5, u(1, m->on_behalf_of.job_id) + s(2, m->on_behalf_of.job_owner) +
                              s(3, m->on_behalf_of.session_label));
    return n;
}

static size_t close_channel(const panp_close_channel *m)
{
    size_t n = 0;
    if (m->side == PANP_CLOSE_SIDE_CHANNEL || m->side == PANP_CLOSE_SIDE_CONVERSATION)
        n += tag((unsigned)m->side) + panp_varint_size(m->id); /* oneof: even when 0 */
    if (m->has_reason)
        n += len_field(3, b(1, m->reason.notification_type) + b(2, m->reason.payload));
    return n;
}

size_t view_body_size(const panp_frame *f)
{
    const panp_channel_closed *cc = &f->body.channel_closed;
    const panp_reply_delivery *rd = &f->body.reply_delivery;
    switch (f->kind) {
    case PANP_BODY_NOTIFY:
        return notify(&f->body.notify);
    case PANP_BODY_SEND:
        return u(1, f->body.send.channel_id) + b(2, f->body.send.notification_type) +
               b(3, f->body.send.payload);
    case PANP_BODY_SENT:
        return u(1, f->body.sent.sequence) + u(2, f->body.sent.recipients);
    case PANP_BODY_REPLY:
        return u(1, f->body.reply.conversation_id) + b(2, f->body.reply.notification_type) +
               b(3, f->body.reply.payload);
    case PANP_BODY_REPLY_DELIVERY:
        return u(1, rd->channel_id) + u(2, rd->sequence) + s(3, rd->responder) +
               b(4, rd->notification_type) + b(5, rd->payload);
    case PANP_BODY_CHANNEL_CLOSED:
        return u(1, cc->channel_id) + u(2, cc->conversation_id) + b(3, cc->registration) +
               e(4, cc->reason) + b(5, cc->notification_type) + b(6, cc->payload);
    case PANP_BODY_ERROR:
        return e(1, f->body.error.code) + s(2, f->body.error.message) +
               s(3, f->body.error.field) + e(4, f->body.error.fatal);
    case PANP_BODY_OK:
        return e(1, f->body.ok.info);
    case PANP_BODY_HELLO:
        return hello(&f->body.hello);
    case PANP_BODY_WELCOME:
        return welcome(&f->body.welcome);
    case PANP_BODY_REGISTER: {
        const panp_register *m = &f->body.register_listener;
        return target(1, &m->target) + b(2, m->notification_type) + e(3, m->user_filter) +
               e(4, m->style) + u(5, m->lease_seconds) + b(6, m->client_state);
    }
    case PANP_BODY_REGISTERED:
        return b(1, f->body.registered.handle) + u(2, f->body.registered.lease_seconds);
    case PANP_BODY_RENEW:
        return b(1, f->body.renew.handle) + u(2, f->body.renew.lease_seconds);
    case PANP_BODY_RENEWED:
        return u(1, f->body.renewed.lease_seconds);
    case PANP_BODY_UNREGISTER:
        return b(1, f->body.unregister.handle);
    case PANP_BODY_LIST_REGISTRATIONS:
        return target(1, &f->body.list_registrations.target) +
               u(2, f->body.list_registrations.offset);
    case PANP_BODY_REGISTRATION_LIST:
        return registration_list(&f->body.registration_list);
    case PANP_BODY_OPEN_CHANNEL:
        return open_channel(&f->body.open_channel);
    case PANP_BODY_CHANNEL_OPENED:
        return u(1, f->body.channel_opened.channel_id);
    case PANP_BODY_CLOSE_CHANNEL:
        return close_channel(&f->body.close_channel);
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        return e(1, f->body.channel_close_result.outcome);
    case PANP_BODY_REGISTRATION_ENDED:
        return b(1, f->body.registration_ended.handle) +
               e(2, f->body.registration_ended.reason);
    case PANP_BODY_GOODBYE:
        return e(1, f->body.goodbye.reason) + s(2, f->body.goodbye.message);
    default: /* ping, pong */
        return 0;
    }
}

size_t view_size(const panp_frame *f)
{
    if (f->kind == PANP_BODY_NONE)
        return u(1, f->request_id);
    return u(1, f->request_id) + len_field((unsigned)f->kind, view_body_size(f));
}
