/* listener.c - the listener's requests (event-loop form): register, renew,
 * unregister, list, reply, close or withdraw a conversation.  sync.c
 * builds the blocking forms on these. */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* Settles a request the library answers itself (see req.c). */
static panp_error_code settle_ok(panp_client *c, rq_kind kind, pobj *o, panp_close_result close,
                                 panp_done_cb cb, void *data, panp_status *st)
{
    preq *r = req_new(kind, o, cb, data);
    if (!r)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    r->res.close = close;
    if (kind == RQ_UNREGISTER || kind == RQ_RENEW)
        r->res.registration = (panp_registration *)o;
    else
        r->res.conversation = (panp_conversation *)o;
    req_settle(c, r);
    return PANP_OK;
}

static panp_error_code check_register(const panp_register_params *p, panp_status *st)
{
    if (!p)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "register: no parameters");
    if (!type_ok(p->type, st, "register.notification_type"))
        return st->code;
    if (p->client_state_len > PANP_CLIENT_STATE_MAX)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT,
                      "register.client_state: at most %d bytes, got %zu", PANP_CLIENT_STATE_MAX,
                      p->client_state_len);
    if (p->user_filter > PANP_USER_FILTER_ALL_USERS || p->style > PANP_STYLE_UNIDIRECTIONAL)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "register: unknown user filter or style");
    return PANP_OK;
}

panp_error_code panp_async_register_listener(panp_client *c, const panp_register_params *p,
                                    panp_registration **out, panp_done_cb cb, void *data,
                                    panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local;
    if (out)
        *out = NULL;
    if (check_register(p, st) != PANP_OK || !req_accepting(c, st))
        return st->code;
    panp_registration *reg = obj_new(c, OBJ_REG, sizeof *reg);
    if (!reg)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    obj_retain(&reg->o); /* the application's reference */
    reg->state = REG_PENDING;
    reg->printer = xstrdup(p->printer);
    memcpy(reg->type, p->type, PANP_UUID_LEN);
    reg->filter = p->user_filter ? p->user_filter : PANP_USER_FILTER_PER_USER;
    reg->style = p->style ? p->style : PANP_STYLE_UNIDIRECTIONAL;
    reg->lease = p->lease_seconds;
    reg->auto_renew = !p->no_auto_renew;
    reg->renew_at = -1;
    if (p->client_state_len)
        memcpy(reg->cstate, p->client_state, p->client_state_len);
    reg->cstate_len = p->client_state_len;
    reg->on_notify = p->on_notify;
    reg->on_closed = p->on_closed;
    reg->on_ended = p->on_ended;
    reg->o.data = p->data;
    preq *r = req_new(RQ_REGISTER, &reg->o, cb, data);
    panp_error_code e = (p->printer && !reg->printer) || !r
                            ? st_set(st, PANP_ERR_NOMEM, "out of memory")
                            : req_submit(c, r, st);
    if (e != PANP_OK) {
        if (r)
            req_free(c, r);
        reg->state = REG_ENDED;
        reg->o.released = true;
        obj_release(c, &reg->o);
        obj_release(c, &reg->o);
        return e;
    }
    if (out)
        *out = reg;
    return PANP_OK;
}

panp_error_code panp_async_renew_registration(panp_client *c, panp_registration *reg,
                                              uint32_t lease_seconds, panp_done_cb cb, void *data,
                                              panp_status *st)
{
    ST_OR_LOCAL(st);
    if (reg->o.released)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "renew: the registration was unregistered");
    if (reg->state == REG_ENDED)
        return st_set(st, PANP_ERR_NOT_FOUND, "renew: the registration has ended");
    if (reg->state == REG_WAITING || !req_accepting(c, st))
        return st_set(st, PANP_ERR_DISCONNECTED, "renew: not connected to the broker");
    preq *r = req_new(RQ_RENEW, &reg->o, cb, data);
    if (!r)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    r->lease = lease_seconds;
    reg->lease = lease_seconds; /* what re-registrations and auto-renewals ask for from now on */
    if (reg->state == REG_PENDING) {
        req_wait_on(&reg->o, r);
        reg->renewing = true;
        return PANP_OK;
    }
    panp_error_code e = req_submit(c, r, st);
    if (e != PANP_OK)
        req_free(c, r);
    else
        reg->renewing = true;
    return e;
}

panp_error_code panp_async_unregister_listener(panp_client *c, panp_registration *reg,
                                               panp_done_cb cb,
                                      void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    if (reg->o.released)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "unregister: already unregistered");
    panp_error_code e = PANP_OK;
    reg->o.released = true; /* from now on no callback of it runs */
    switch (reg->state) {
    case REG_PENDING: {
        preq *r = req_new(RQ_UNREGISTER, &reg->o, cb, data);
        if (!r)
            e = st_set(st, PANP_ERR_NOMEM, "out of memory");
        else
            req_wait_on(&reg->o, r); /* goes out once Registered gives a handle */
        break;
    }
    case REG_LIVE: {
        preq *r = req_new(RQ_UNREGISTER, &reg->o, cb, data);
        if (!r)
            e = st_set(st, PANP_ERR_NOMEM, "out of memory");
        else if ((e = req_submit(c, r, st)) != PANP_OK)
            req_free(c, r);
        break;
    }
    case REG_WAITING:
    case REG_ENDED:
        /* Nothing on the wire to undo: the registration is already gone. */
        reg_ended(c, reg, PANP_REG_END_UNSPECIFIED, false);
        e = settle_ok(c, RQ_UNREGISTER, &reg->o, PANP_CLOSE_RESULT_NONE, cb, data, st);
        break;
    }
    if (e != PANP_OK) {
        reg->o.released = false;
        return e;
    }
    obj_release(c, &reg->o); /* the application's reference */
    return PANP_OK;
}

panp_error_code panp_async_get_registrations(panp_client *c, const panp_target *target,
                                              panp_done_cb cb, void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    if (!req_accepting(c, st))
        return st->code;
    preq *r = req_new(RQ_LIST, NULL, cb, data);
    if (!r)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    if (target) {
        r->target = *target;
        r->printer = xstrdup(target->printer);
        r->target.printer = r->printer;
    }
    panp_error_code e = req_submit(c, r, st);
    if (e != PANP_OK)
        req_free(c, r);
    return e;
}

static panp_error_code conv_request(panp_client *c, rq_kind kind, panp_conversation *cv,
                                    const void *payload, size_t len, bool has_payload,
                                    panp_done_cb cb, void *data, panp_status *st)
{
    if (len > PANP_PAYLOAD_MAX)
        return st_set(st, PANP_ERR_FRAME_TOO_LARGE, "payload of %zu bytes is over %d", len,
                      PANP_PAYLOAD_MAX);
    if (!req_accepting(c, st))
        return st->code;
    preq *r = req_new(kind, &cv->o, cb, data);
    if (!r || (len && !pbuf_append(&r->body, payload, len))) {
        if (r)
            req_free(c, r);
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    }
    r->has_reason = has_payload;
    panp_error_code e = req_submit(c, r, st);
    if (e != PANP_OK)
        req_free(c, r);
    return e;
}

panp_error_code panp_async_conversation_reply(panp_client *c, panp_conversation *cv,
                                              const void *payload,
                                 size_t len, panp_done_cb cb, void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    if (cv->closed || cv->closing)
        return st_set(st, PANP_ERR_CHANNEL_ALREADY_CLOSED,
                      "reply: conversation %llu is closed", (unsigned long long)cv->id);
    return conv_request(c, RQ_REPLY, cv, payload, len, true, cb, data, st);
}

panp_error_code panp_async_conversation_close(panp_client *c, panp_conversation *cv,
                                              const void *reason, size_t reason_len,
                                              panp_done_cb cb, void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    if (cv->closed || cv->closing)
        return settle_ok(c, RQ_CLOSE_CONV, &cv->o, PANP_CLOSE_RESULT_ALREADY_CLOSED, cb, data, st);
    panp_error_code e =
        conv_request(c, RQ_CLOSE_CONV, cv, reason, reason_len, reason != NULL, cb, data, st);
    if (e == PANP_OK)
        cv->closing = true;
    return e;
}
