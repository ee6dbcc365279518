/* fmt.c - text forms of decoded frames. */
#include "fmt.h"

#include <inttypes.h>

#include "panp/codec.h"

const char *pc_filter_name(panp_user_filter f)
{
    switch (f) {
    case PANP_USER_FILTER_UNSPECIFIED: return "UNSPECIFIED";
    case PANP_USER_FILTER_PER_USER: return "PER_USER";
    case PANP_USER_FILTER_ALL_USERS: return "ALL_USERS";
    }
    return "?";
}

const char *pc_style_name(panp_style s)
{
    switch (s) {
    case PANP_STYLE_UNSPECIFIED: return "UNSPECIFIED";
    case PANP_STYLE_BIDIRECTIONAL: return "BIDI";
    case PANP_STYLE_UNIDIRECTIONAL: return "UNIDI";
    }
    return "?";
}

const char *pc_outcome_name(panp_close_outcome o)
{
    switch (o) {
    case PANP_CLOSE_OUTCOME_UNSPECIFIED: return "UNSPECIFIED";
    case PANP_CLOSE_OUTCOME_CLOSED: return "CLOSED";
    case PANP_CLOSE_OUTCOME_WITHDRAWN: return "WITHDRAWN";
    case PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER: return "ACQUIRED_BY_ANOTHER";
    }
    return "?";
}

const char *pc_goodbye_name(panp_goodbye_reason r)
{
    switch (r) {
    case PANP_GOODBYE_UNSPECIFIED: return "UNSPECIFIED";
    case PANP_GOODBYE_CLIENT_DONE: return "CLIENT_DONE";
    case PANP_GOODBYE_SERVER_SHUTDOWN: return "SERVER_SHUTDOWN";
    case PANP_GOODBYE_PROTOCOL_ERROR: return "PROTOCOL_ERROR";
    case PANP_GOODBYE_KEEPALIVE_TIMEOUT: return "KEEPALIVE_TIMEOUT";
    case PANP_GOODBYE_SLOW_CONSUMER: return "SLOW_CONSUMER";
    }
    return "?";
}

const char *pc_reg_end_name(panp_reg_end_reason r)
{
    switch (r) {
    case PANP_REG_END_UNSPECIFIED: return "UNSPECIFIED";
    case PANP_REG_END_LEASE_EXPIRED: return "LEASE_EXPIRED";
    case PANP_REG_END_TARGET_REMOVED: return "TARGET_REMOVED";
    }
    return "?";
}

void pc_fmt_bytes(sbuf *b, panp_bytes v)
{
    if (v.len == PANP_UUID_LEN) {
        char text[37];
        panp_uuid_format(v.data, text);
        sbuf_puts(b, text);
        if (panp_bytes_is_uuid(v, PANP_TYPE_NOTIFICATION_RELEASE)) sbuf_puts(b, "(RELEASE)");
    } else if (v.len == 0) {
        sbuf_puts(b, "''");
    } else if (v.len <= 32) {
        sbuf_puts(b, "0x");
        sbuf_hex(b, v.data, v.len);
    } else {
        sbuf_printf(b, "<%zu bytes: ", v.len);
        sbuf_hex(b, v.data, 8);
        sbuf_puts(b, "...>");
    }
}

void pc_fmt_target(sbuf *b, const panp_target *t)
{
    switch (t->kind) {
    case PANP_TARGET_NONE: sbuf_puts(b, "none"); break;
    case PANP_TARGET_SERVER: sbuf_puts(b, "server"); break;
    case PANP_TARGET_PRINTER:
        sbuf_puts(b, "printer:");
        sbuf_json_str(b, t->printer);
        break;
    case PANP_TARGET_EMPTY: sbuf_puts(b, "empty"); break;
    }
}

static void fmt_limits(sbuf *b, const panp_limits *l)
{
    sbuf_printf(b, "{frame=%" PRIu32 " regs=%" PRIu32 " chans=%" PRIu32 " ka=%" PRIu32 "/%" PRIu32
                   "ms lease=%" PRIu32 "s outbound=%" PRIu32 "}",
                l->max_frame_size, l->max_registrations, l->max_channels, l->keepalive_interval_ms,
                l->keepalive_timeout_ms, l->max_lease_seconds, l->max_outbound_bytes);
}

static void fmt_identity(sbuf *b, const panp_identity *id)
{
    sbuf_puts(b, "{user=");
    sbuf_json_str(b, id->user);
    if (id->server_admin) sbuf_puts(b, " server_admin");
    if (id->admin_printers_count) {
        sbuf_puts(b, " admin_printers=[");
        for (size_t i = 0; i < id->admin_printers_count; i++) {
            if (i) sbuf_putc(b, ',');
            sbuf_json_str(b, id->admin_printers[i]);
        }
        sbuf_putc(b, ']');
    }
    if (id->may_open_channels) sbuf_puts(b, " may_open");
    if (id->trusted) sbuf_puts(b, " trusted");
    if (id->admin_printers_truncated) sbuf_puts(b, " truncated");
    sbuf_putc(b, '}');
}

static void fmt_hello(sbuf *b, const panp_hello *h)
{
    sbuf_printf(b, "versions=%" PRIu32 "..%" PRIu32 " auth=%d", h->min_version, h->max_version, (int)h->auth);
    if (h->token.len) sbuf_printf(b, " token=<%zu bytes>", h->token.len);
    if (h->session_label && *h->session_label) {
        sbuf_puts(b, " session=");
        sbuf_json_str(b, h->session_label);
    }
    if (h->max_frame_size) sbuf_printf(b, " max_frame=%" PRIu32, h->max_frame_size);
}

static void fmt_welcome(sbuf *b, const panp_welcome *w)
{
    sbuf_printf(b, "version=%" PRIu32 " software=", w->version);
    sbuf_json_str(b, w->software);
    if (w->has_limits) {
        sbuf_puts(b, " limits=");
        fmt_limits(b, &w->limits);
    }
    if (w->has_identity) {
        sbuf_puts(b, " identity=");
        fmt_identity(b, &w->identity);
    }
}

static void fmt_register(sbuf *b, const panp_register *r)
{
    sbuf_puts(b, "target=");
    pc_fmt_target(b, &r->target);
    sbuf_puts(b, " type=");
    pc_fmt_bytes(b, r->notification_type);
    sbuf_printf(b, " filter=%s style=%s", pc_filter_name(r->user_filter), pc_style_name(r->style));
    if (r->lease_seconds) sbuf_printf(b, " lease=%" PRIu32 "s", r->lease_seconds);
    if (r->client_state.len) {
        sbuf_puts(b, " client_state=");
        pc_fmt_bytes(b, r->client_state);
    }
}

static void fmt_open(sbuf *b, const panp_open_channel *o)
{
    sbuf_puts(b, "target=");
    pc_fmt_target(b, &o->target);
    sbuf_puts(b, " type=");
    pc_fmt_bytes(b, o->notification_type);
    sbuf_printf(b, " filter=%s style=%s", pc_filter_name(o->user_filter), pc_style_name(o->style));
    if (o->has_on_behalf_of) {
        sbuf_printf(b, " on_behalf_of={job=%" PRIu32 " owner=", o->on_behalf_of.job_id);
        sbuf_json_str(b, o->on_behalf_of.job_owner);
        if (o->on_behalf_of.session_label && *o->on_behalf_of.session_label) {
            sbuf_puts(b, " session=");
            sbuf_json_str(b, o->on_behalf_of.session_label);
        }
        sbuf_putc(b, '}');
    }
}

static void fmt_notify(sbuf *b, const panp_notify *n)
{
    sbuf_puts(b, "reg=");
    pc_fmt_bytes(b, n->registration);
    if (n->conversation_id) sbuf_printf(b, " conv=%" PRIu64, n->conversation_id);
    sbuf_printf(b, " chan=%" PRIu64 " seq=%" PRIu64 " style=%s", n->channel_id, n->sequence,
                pc_style_name(n->style));
    sbuf_puts(b, " type=");
    pc_fmt_bytes(b, n->notification_type);
    if (n->has_sender) {
        sbuf_puts(b, " sender={user=");
        sbuf_json_str(b, n->sender.user);
        if (n->sender.job_id) sbuf_printf(b, " job=%" PRIu32, n->sender.job_id);
        if (n->sender.job_owner && *n->sender.job_owner) {
            sbuf_puts(b, " owner=");
            sbuf_json_str(b, n->sender.job_owner);
        }
        sbuf_putc(b, '}');
    }
    sbuf_puts(b, " target=");
    pc_fmt_target(b, &n->target);
    if (n->client_state.len) {
        sbuf_puts(b, " client_state=");
        pc_fmt_bytes(b, n->client_state);
    }
    sbuf_puts(b, " payload=");
    pc_fmt_bytes(b, n->payload);
}

static void fmt_closed(sbuf *b, const panp_channel_closed *c)
{
    sbuf_printf(b, "chan=%" PRIu64, c->channel_id);
    if (c->conversation_id) sbuf_printf(b, " conv=%" PRIu64, c->conversation_id);
    if (c->registration.len) {
        sbuf_puts(b, " reg=");
        pc_fmt_bytes(b, c->registration);
    }
    sbuf_printf(b, " reason=%s", panp_close_reason_name(c->reason));
    if (c->notification_type.len) {
        sbuf_puts(b, " type=");
        pc_fmt_bytes(b, c->notification_type);
    }
    if (c->payload.len) {
        sbuf_puts(b, " payload=");
        pc_fmt_bytes(b, c->payload);
    }
}

static void fmt_close(sbuf *b, const panp_close_channel *c)
{
    if (c->side == PANP_CLOSE_SIDE_CHANNEL) sbuf_printf(b, "chan=%" PRIu64, c->id);
    else if (c->side == PANP_CLOSE_SIDE_CONVERSATION) sbuf_printf(b, "conv=%" PRIu64, c->id);
    else sbuf_puts(b, "side=none");
    if (c->has_reason) {
        sbuf_puts(b, " reason={type=");
        pc_fmt_bytes(b, c->reason.notification_type);
        sbuf_puts(b, " payload=");
        pc_fmt_bytes(b, c->reason.payload);
        sbuf_putc(b, '}');
    }
}

static void fmt_reglist(sbuf *b, const panp_registration_list *l)
{
    sbuf_printf(b, "total=%" PRIu32 " [", l->total);
    for (size_t i = 0; i < l->registrations_count; i++) {
        const panp_registration_info *r = &l->registrations[i];
        if (i) sbuf_puts(b, ", ");
        sbuf_puts(b, "{user=");
        sbuf_json_str(b, r->user);
        if (r->handle.len) {
            sbuf_puts(b, " handle=");
            pc_fmt_bytes(b, r->handle);
        }
        sbuf_puts(b, " target=");
        pc_fmt_target(b, &r->target);
        sbuf_printf(b, " %s %s}", pc_filter_name(r->user_filter), pc_style_name(r->style));
    }
    sbuf_putc(b, ']');
}

static void fmt_body(sbuf *b, const panp_frame *f)
{
    const void *u = &f->body;
    switch (f->kind) {
    case PANP_BODY_HELLO: fmt_hello(b, u); break;
    case PANP_BODY_WELCOME: fmt_welcome(b, u); break;
    case PANP_BODY_REGISTER: fmt_register(b, u); break;
    case PANP_BODY_OPEN_CHANNEL: fmt_open(b, u); break;
    case PANP_BODY_NOTIFY: fmt_notify(b, u); break;
    case PANP_BODY_CHANNEL_CLOSED: fmt_closed(b, u); break;
    case PANP_BODY_CLOSE_CHANNEL: fmt_close(b, u); break;
    case PANP_BODY_REGISTRATION_LIST: fmt_reglist(b, u); break;
    case PANP_BODY_REGISTERED:
        sbuf_puts(b, "handle=");
        pc_fmt_bytes(b, f->body.registered.handle);
        sbuf_printf(b, " lease=%" PRIu32 "s", f->body.registered.lease_seconds);
        break;
    case PANP_BODY_RENEW:
        sbuf_puts(b, "handle=");
        pc_fmt_bytes(b, f->body.renew.handle);
        sbuf_printf(b, " lease=%" PRIu32 "s", f->body.renew.lease_seconds);
        break;
    case PANP_BODY_RENEWED: sbuf_printf(b, "lease=%" PRIu32 "s", f->body.renewed.lease_seconds); break;
    case PANP_BODY_UNREGISTER:
        sbuf_puts(b, "handle=");
        pc_fmt_bytes(b, f->body.unregister.handle);
        break;
    case PANP_BODY_LIST_REGISTRATIONS:
        sbuf_puts(b, "target=");
        pc_fmt_target(b, &f->body.list_registrations.target);
        sbuf_printf(b, " offset=%" PRIu32, f->body.list_registrations.offset);
        break;
    case PANP_BODY_REGISTRATION_ENDED:
        sbuf_puts(b, "handle=");
        pc_fmt_bytes(b, f->body.registration_ended.handle);
        sbuf_printf(b, " reason=%s", pc_reg_end_name(f->body.registration_ended.reason));
        break;
    case PANP_BODY_CHANNEL_OPENED: sbuf_printf(b, "chan=%" PRIu64, f->body.channel_opened.channel_id); break;
    case PANP_BODY_SEND:
        sbuf_printf(b, "chan=%" PRIu64 " type=", f->body.send.channel_id);
        pc_fmt_bytes(b, f->body.send.notification_type);
        sbuf_puts(b, " payload=");
        pc_fmt_bytes(b, f->body.send.payload);
        break;
    case PANP_BODY_SENT:
        sbuf_printf(b, "seq=%" PRIu64 " recipients=%" PRIu32, f->body.sent.sequence, f->body.sent.recipients);
        break;
    case PANP_BODY_REPLY:
        sbuf_printf(b, "conv=%" PRIu64 " type=", f->body.reply.conversation_id);
        pc_fmt_bytes(b, f->body.reply.notification_type);
        sbuf_puts(b, " payload=");
        pc_fmt_bytes(b, f->body.reply.payload);
        break;
    case PANP_BODY_REPLY_DELIVERY:
        sbuf_printf(b, "chan=%" PRIu64 " seq=%" PRIu64 " responder=", f->body.reply_delivery.channel_id,
                    f->body.reply_delivery.sequence);
        sbuf_json_str(b, f->body.reply_delivery.responder);
        sbuf_puts(b, " payload=");
        pc_fmt_bytes(b, f->body.reply_delivery.payload);
        break;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        sbuf_printf(b, "outcome=%s", pc_outcome_name(f->body.channel_close_result.outcome));
        break;
    case PANP_BODY_ERROR:
        sbuf_printf(b, "code=%s", panp_error_code_name(f->body.error.code));
        if (f->body.error.fatal) sbuf_puts(b, " fatal");
        if (f->body.error.field && *f->body.error.field) {
            sbuf_puts(b, " field=");
            sbuf_json_str(b, f->body.error.field);
        }
        sbuf_puts(b, " message=");
        sbuf_json_str(b, f->body.error.message);
        break;
    case PANP_BODY_GOODBYE:
        sbuf_printf(b, "reason=%s message=", pc_goodbye_name(f->body.goodbye.reason));
        sbuf_json_str(b, f->body.goodbye.message);
        break;
    case PANP_BODY_OK:
    case PANP_BODY_PING:
    case PANP_BODY_PONG:
    case PANP_BODY_NONE:
        break;
    }
}

void pc_fmt_frame(sbuf *b, const panp_frame *f)
{
    if (f->request_id) sbuf_printf(b, "#%" PRIu64 " ", f->request_id);
    sbuf_printf(b, "%s{", panp_body_name(f->kind));
    fmt_body(b, f);
    sbuf_putc(b, '}');
}
