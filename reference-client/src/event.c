/* event.c - frames the broker sends on its own (request_id 0): Notify,
 * ReplyDelivery, ChannelClosed, RegistrationEnded, Goodbye, and Errors
 * about the connection as a whole. */
#include <string.h>

#include "client_int.h"

static void ev_notify(panp_client *c, const panp_notify *n)
{
    panp_conversation *cv = NULL;
    panp_registration *reg;
    if (n->conversation_id != 0 && (cv = idmap_get(&c->convs, n->conversation_id))) {
        /* A conversation you hold continues after an unregister or a lease
         * expiry: its registration need not be live any more. */
        reg = cv->reg;
    } else {
        reg = reg_by_handle(c, n->registration);
        /* A new question for a registration you gave back is not shown
         * (the broker withdraws it with ChannelClosed(UNREGISTERED)). */
        if (!reg || reg->o.released)
            return;
        if (n->conversation_id != 0 && !(cv = conv_new(c, reg, n)))
            return;
    }
    if (!reg->on_notify)
        return;
    obj_retain(&reg->o);
    if (cv)
        obj_retain(&cv->o);
    c->ncalls++;
    reg->on_notify(c, reg, cv, n, reg->o.data);
    if (cv)
        obj_release(c, &cv->o);
    obj_release(c, &reg->o);
}

static void ev_reply(panp_client *c, const panp_reply_delivery *r)
{
    panp_channel *ch = idmap_get(&c->chans, r->channel_id);
    if (!ch || ch->o.released || !ch->on_reply)
        return;
    obj_retain(&ch->o);
    c->ncalls++;
    ch->on_reply(c, ch, r, ch->o.data);
    obj_release(c, &ch->o);
}

static void ev_closed(panp_client *c, const panp_channel_closed *cc)
{
    panp_closed_info in = {
        .channel_id = cc->channel_id,
        .conversation_id = cc->conversation_id,
        .reason = cc->reason,
        .release = panp_bytes_is_uuid(cc->notification_type, PANP_TYPE_NOTIFICATION_RELEASE),
        .notification_type = cc->notification_type,
        .payload = cc->payload,
    };
    in.has_reason = cc->notification_type.len > 0 && !in.release;
    if (cc->conversation_id != 0) {
        panp_conversation *cv = idmap_get(&c->convs, cc->conversation_id);
        if (cv) {
            conv_closed(c, cv, &in);
            return;
        }
        /* A question that never reached us (it did not fit our queue):
         * still reported ([PANP-CLI-11]), without a conversation object. */
    }
    if (cc->registration.len > 0) {
        /* Unidirectional listener, or a conversation never shown: no
         * object, tell the registration which channel ended. */
        panp_registration *reg = reg_by_handle(c, cc->registration);
        if (!reg || reg->o.released || !reg->on_closed)
            return;
        obj_retain(&reg->o);
        c->ncalls++;
        reg->on_closed(c, reg, NULL, &in, reg->o.data);
        obj_release(c, &reg->o);
        return;
    }
    panp_channel *ch = idmap_get(&c->chans, cc->channel_id);
    if (ch)
        chan_closed(c, ch, &in);
}

static void ev_goodbye(panp_client *c, const panp_goodbye *g)
{
    c->goodbye = true;
    st_set(&c->goodbye_st, PANP_ERR_DISCONNECTED, "the broker said goodbye (%s)%s%s",
           g->reason == PANP_GOODBYE_SERVER_SHUTDOWN     ? "server shutdown"
           : g->reason == PANP_GOODBYE_PROTOCOL_ERROR    ? "protocol error"
           : g->reason == PANP_GOODBYE_KEEPALIVE_TIMEOUT ? "keepalive timeout"
           : g->reason == PANP_GOODBYE_SLOW_CONSUMER     ? "slow consumer"
                                                         : "unspecified",
           g->message && *g->message ? ": " : "", g->message ? g->message : "");
    /* Nothing more will be answered: fail what is outstanding now and
     * stop sending ([PANP-CLI-8]). */
    conn_lost(c, &c->goodbye_st);
}

static void ev_error(panp_client *c, const panp_error_msg *e)
{
    panp_status st;
    st_set(&st, e->code, "broker error %s: %s", panp_strerror(e->code),
           e->message ? e->message : "");
    st_copy(&c->last_error, &st);
    if (e->fatal)
        conn_lost(c, &st);
}

void ev_dispatch(panp_client *c, const panp_frame *f)
{
    switch (f->kind) {
    case PANP_BODY_NOTIFY: ev_notify(c, &f->body.notify); break;
    case PANP_BODY_REPLY_DELIVERY: ev_reply(c, &f->body.reply_delivery); break;
    case PANP_BODY_CHANNEL_CLOSED: ev_closed(c, &f->body.channel_closed); break;
    case PANP_BODY_REGISTRATION_ENDED: {
        panp_registration *reg = reg_by_handle(c, f->body.registration_ended.handle);
        if (reg)
            reg_ended(c, reg, f->body.registration_ended.reason, true);
        break;
    }
    case PANP_BODY_GOODBYE: ev_goodbye(c, &f->body.goodbye); break;
    case PANP_BODY_ERROR: ev_error(c, &f->body.error); break;
    default: break; /* nothing else arrives unasked */
    }
}
