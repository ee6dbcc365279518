/* sender.c - the sender's requests (event-loop form): open a channel,
 * send, close, release.  Requests on a channel still opening wait for its
 * ChannelOpened and then go out in the order they were made. */
#include <string.h>

#include "client_int.h"

static panp_error_code check_open(const panp_channel_params *p, panp_status *st)
{
    if (!p)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "open_channel: no parameters");
    if (!type_ok(p->type, st, "open_channel.notification_type"))
        return st->code;
    if (p->user_filter > PANP_USER_FILTER_ALL_USERS || p->style > PANP_STYLE_UNIDIRECTIONAL)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT,
                      "open_channel: unknown user filter or style");
    return PANP_OK;
}

static void open_frame(const panp_channel_params *p, const panp_channel *ch, panp_frame *f)
{
    memset(f, 0, sizeof *f);
    f->kind = PANP_BODY_OPEN_CHANNEL;
    panp_open_channel *o = &f->body.open_channel;
    o->target.kind = p->printer ? PANP_TARGET_PRINTER : PANP_TARGET_SERVER;
    o->target.printer = p->printer;
    o->notification_type = (panp_bytes){ch->type, PANP_UUID_LEN};
    o->user_filter = p->user_filter ? p->user_filter : PANP_USER_FILTER_PER_USER;
    o->style = ch->style;
    if (p->on_behalf_of) {
        o->has_on_behalf_of = true;
        o->on_behalf_of = *p->on_behalf_of;
    }
}

panp_error_code panp_async_channel_open(panp_client *c, const panp_channel_params *p,
                                        panp_channel **out, panp_done_cb cb, void *data,
                                        panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local;
    if (out)
        *out = NULL;
    if (check_open(p, st) != PANP_OK || !req_accepting(c, st))
        return st->code;
    panp_channel *ch = obj_new(c, OBJ_CHAN, sizeof *ch);
    if (!ch)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    obj_retain(&ch->o); /* the application's reference */
    ch->state = CH_OPENING;
    memcpy(ch->type, p->type, PANP_UUID_LEN);
    ch->style = p->style ? p->style : PANP_STYLE_UNIDIRECTIONAL;
    ch->on_reply = p->on_reply;
    ch->on_closed = p->on_closed;
    ch->o.data = p->data;
    panp_frame f;
    open_frame(p, ch, &f);
    preq *r = req_new(RQ_OPEN, &ch->o, cb, data);
    panp_error_code e = r ? req_submit_frame(c, r, &f, st)
                          : st_set(st, PANP_ERR_NOMEM, "out of memory");
    if (e != PANP_OK) {
        if (r)
            req_free(c, r);
        ch->state = CH_FAILED;
        ch->closed_told = true;
        obj_release(c, &ch->o);
        obj_release(c, &ch->o);
        return e;
    }
    if (out)
        *out = ch;
    return PANP_OK;
}

/* Sends r now, or parks it until the channel is open. */
static panp_error_code chan_submit(panp_client *c, panp_channel *ch, preq *r, panp_status *st)
{
    if (ch->state == CH_OPENING) {
        req_wait_on(&ch->o, r);
        return PANP_OK;
    }
    panp_error_code e = req_submit(c, r, st);
    if (e != PANP_OK)
        req_free(c, r);
    return e;
}

static preq *chan_req(panp_client *c, rq_kind kind, panp_channel *ch, const void *payload,
                      size_t len, panp_done_cb cb, void *data)
{
    preq *r = req_new(kind, &ch->o, cb, data);
    if (r && len && !pbuf_append(&r->body, payload, len)) {
        req_free(c, r);
        return NULL;
    }
    return r;
}

panp_error_code panp_async_channel_send(panp_client *c, panp_channel *ch, const void *payload,
                                size_t len, panp_done_cb cb, void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    if (ch->o.released)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "send: the channel was released");
    if (ch->state == CH_FAILED)
        return st_set(st, PANP_ERR_CHANNEL_NOT_OPENED, "send: the channel never opened");
    if (ch->state == CH_CLOSED || ch->closing)
        return st_set(st, PANP_ERR_CHANNEL_ALREADY_CLOSED, "send: channel %llu is closed",
                      (unsigned long long)ch->id);
    if (len > PANP_PAYLOAD_MAX)
        return st_set(st, PANP_ERR_FRAME_TOO_LARGE, "send: payload of %zu bytes is over %d",
                      len, PANP_PAYLOAD_MAX);
    if (!req_accepting(c, st))
        return st->code;
    preq *r = chan_req(c, RQ_SEND, ch, payload, len, cb, data);
    if (!r)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    return chan_submit(c, ch, r, st);
}

static panp_error_code close_req(panp_client *c, panp_channel *ch, const void *reason,
                                 size_t reason_len, panp_done_cb cb, void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    preq *r = chan_req(c, RQ_CLOSE_CHAN, ch, reason, reason_len, cb, data);
    if (!r)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    r->has_reason = reason != NULL;
    if (ch->state == CH_CLOSED || ch->state == CH_FAILED || ch->closing) {
        /* Already over (or about to be): nothing to ask the broker. */
        r->res.channel = ch;
        r->res.close = PANP_CLOSE_RESULT_ALREADY_CLOSED;
        req_settle(c, r);
        return PANP_OK;
    }
    if (!req_accepting(c, st)) {
        req_free(c, r);
        return st->code;
    }
    panp_error_code e = chan_submit(c, ch, r, st);
    if (e == PANP_OK)
        ch->closing = true;
    return e;
}

panp_error_code panp_async_channel_close(panp_client *c, panp_channel *ch, const void *reason,
                                         size_t reason_len, panp_done_cb cb, void *data,
                                         panp_status *st)
{
    ST_OR_LOCAL(st);
    if (reason_len > PANP_PAYLOAD_MAX)
        return st_set(st, PANP_ERR_FRAME_TOO_LARGE, "close: reason of %zu bytes is over %d",
                      reason_len, PANP_PAYLOAD_MAX);
    return close_req(c, ch, reason, reason_len, cb, data, st);
}

void panp_channel_release(panp_client *c, panp_channel *ch)
{
    if (!ch || ch->o.released)
        return;
    ch->o.released = true;
    if ((ch->state == CH_OPEN || ch->state == CH_OPENING) && !ch->closing && !c->freeing)
        (void)close_req(c, ch, NULL, 0, NULL, NULL, NULL);
    obj_release(c, &ch->o);
}
