/* loose.c - a non-validating encoder for client-to-broker frames. */
#include "loose.h"

#include <string.h>

static void put_bytes(pbw *w, uint32_t field, panp_bytes b)
{
    if (b.len) pbw_bytes(w, field, b.data, b.len);
}

static void put_str(pbw *w, uint32_t field, const char *s)
{
    if (s && *s) pbw_str(w, field, s);
}

static void put_uint(pbw *w, uint32_t field, uint64_t v)
{
    if (v) pbw_uint(w, field, v);
}

static void put_target(pbw *w, uint32_t field, const panp_target *t)
{
    if (t->kind == PANP_TARGET_NONE) return;
    pbw tg = PBW_INIT, empty = PBW_INIT;
    if (t->kind == PANP_TARGET_SERVER) pbw_msg(&tg, 1, &empty);
    else if (t->kind == PANP_TARGET_PRINTER) pbw_str(&tg, 2, t->printer ? t->printer : "");
    pbw_msg(w, field, &tg);
    pbw_free(&tg);
}

static void body_register(pbw *b, const panp_register *r)
{
    put_target(b, 1, &r->target);
    put_bytes(b, 2, r->notification_type);
    put_uint(b, 3, r->user_filter);
    put_uint(b, 4, r->style);
    put_uint(b, 5, r->lease_seconds);
    put_bytes(b, 6, r->client_state);
}

static void body_open(pbw *b, const panp_open_channel *o)
{
    put_target(b, 1, &o->target);
    put_bytes(b, 2, o->notification_type);
    put_uint(b, 3, o->user_filter);
    put_uint(b, 4, o->style);
    if (o->has_on_behalf_of) {
        pbw job = PBW_INIT;
        put_uint(&job, 1, o->on_behalf_of.job_id);
        put_str(&job, 2, o->on_behalf_of.job_owner);
        put_str(&job, 3, o->on_behalf_of.session_label);
        pbw_msg(b, 5, &job);
        pbw_free(&job);
    }
}

static void body_close(pbw *b, const panp_close_channel *c)
{
    /* a oneof member is emitted when set, even when 0 */
    if (c->side == PANP_CLOSE_SIDE_CHANNEL) pbw_uint(b, 1, c->id);
    else if (c->side == PANP_CLOSE_SIDE_CONVERSATION) pbw_uint(b, 2, c->id);
    if (c->has_reason) {
        pbw r = PBW_INIT;
        put_bytes(&r, 1, c->reason.notification_type);
        put_bytes(&r, 2, c->reason.payload);
        pbw_msg(b, 3, &r);
        pbw_free(&r);
    }
}

static void body_hello(pbw *b, const panp_hello *h)
{
    put_uint(b, 1, h->min_version);
    put_uint(b, 2, h->max_version);
    put_str(b, 3, h->software);
    put_uint(b, 4, h->auth);
    put_bytes(b, 5, h->token);
    put_str(b, 6, h->session_label);
    put_uint(b, 7, h->max_frame_size);
}

static bool encode_body(const panp_frame *f, pbw *b)
{
    switch (f->kind) {
    case PANP_BODY_REGISTER: body_register(b, &f->body.register_listener); return true;
    case PANP_BODY_OPEN_CHANNEL: body_open(b, &f->body.open_channel); return true;
    case PANP_BODY_CLOSE_CHANNEL: body_close(b, &f->body.close_channel); return true;
    case PANP_BODY_HELLO: body_hello(b, &f->body.hello); return true;
    case PANP_BODY_SEND:
        put_uint(b, 1, f->body.send.channel_id);
        put_bytes(b, 2, f->body.send.notification_type);
        put_bytes(b, 3, f->body.send.payload);
        return true;
    case PANP_BODY_REPLY:
        put_uint(b, 1, f->body.reply.conversation_id);
        put_bytes(b, 2, f->body.reply.notification_type);
        put_bytes(b, 3, f->body.reply.payload);
        return true;
    case PANP_BODY_UNREGISTER: put_bytes(b, 1, f->body.unregister.handle); return true;
    case PANP_BODY_RENEW:
        put_bytes(b, 1, f->body.renew.handle);
        put_uint(b, 2, f->body.renew.lease_seconds);
        return true;
    case PANP_BODY_LIST_REGISTRATIONS:
        put_target(b, 1, &f->body.list_registrations.target);
        put_uint(b, 2, f->body.list_registrations.offset);
        return true;
    case PANP_BODY_GOODBYE:
        put_uint(b, 1, f->body.goodbye.reason);
        put_str(b, 2, f->body.goodbye.message);
        return true;
    case PANP_BODY_PING: return true;
    default: return false;
    }
}

bool pc_loose_encode(const panp_frame *f, pbw *out)
{
    pbw body = PBW_INIT;
    if (!encode_body(f, &body)) {
        pbw_free(&body);
        return false;
    }
    put_uint(out, 1, f->request_id);
    pbw_msg(out, (uint32_t)f->kind, &body);
    pbw_free(&body);
    return true;
}
