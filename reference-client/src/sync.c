/* sync.c - the blocking API: each call makes the async request with a
 * completion that fills a result on the stack, then turns the built-in
 * poll() loop (io_drive) until that completion ran.  Events arriving
 * meanwhile are dispatched to their callbacks as usual. */
#include <string.h>

#include "client_int.h"

typedef struct sync_wait {
    bool done;
    bool drop_failed; /* register/open: give a failed object back */
    panp_result res;
    panp_status st;
    panp_reg_list list;
} sync_wait;

static void sync_done(panp_client *c, const panp_result *r, void *data)
{
    sync_wait *w = data;
    if (w->drop_failed && r->code != PANP_OK) {
        /* The caller never sees a failed object; the request still holds
         * a reference, so this cannot free it under our feet. */
        if (r->registration) {
            r->registration->o.released = true;
            obj_release(c, &r->registration->o);
        }
        if (r->channel)
            panp_channel_release(c, r->channel);
    }
    w->done = true;
    w->res = *r;
    w->st = *r->status;
    w->res.status = &w->st;
    if (r->list) { /* take the list over: the request frees what it still owns */
        panp_reg_list *src = (panp_reg_list *)r->list;
        w->list = *src;
        memset(src, 0, sizeof *src);
        w->res.list = &w->list;
    }
}

static bool blocking_ok(panp_client *c, panp_status *st)
{
    if (c->async) {
        st_set(st, PANP_ERR_INVALID_ARGUMENT,
               "blocking call on a context made by panp_async_connect; use panp_async_*");
        return false;
    }
    return true;
}

/* Runs the loop until w is done; returns its code (st filled). */
static panp_error_code sync_run(panp_client *c, panp_error_code started, sync_wait *w,
                                panp_status *st)
{
    if (started != PANP_OK)
        return started;
    io_enter(c);
    const bool *outer = c->break_on;
    c->break_on = &w->done;
    while (!w->done)
        io_drive(c, -1);
    c->break_on = outer;
    io_leave(c); /* may free the context (deferred free): do not touch c below */
    return st_copy(st, &w->st);
}

#define SYNC_START(c, st)                                                                          \
    sync_wait w_;                                                                                  \
    memset(&w_, 0, sizeof w_);                                                                     \
    if (!blocking_ok(c, st))                                                                       \
        return PANP_ERR_INVALID_ARGUMENT

panp_error_code panp_register_listener(panp_client *c, const panp_register_params *p,
                              panp_registration **out, panp_status *st)
{
    SYNC_START(c, st);
    panp_registration *reg = NULL;
    w_.drop_failed = true;
    panp_error_code e =
        sync_run(c, panp_async_register_listener(c, p, &reg, sync_done, &w_, st), &w_, st);
    if (out)
        *out = e == PANP_OK ? reg : NULL;
    return e;
}

panp_error_code panp_renew_registration(panp_client *c, panp_registration *reg,
                                        uint32_t lease_seconds,
                           uint32_t *granted, panp_status *st)
{
    SYNC_START(c, st);
    panp_error_code e = sync_run(
        c, panp_async_renew_registration(c, reg, lease_seconds, sync_done, &w_, st), &w_, st);
    if (e == PANP_OK && granted)
        *granted = w_.res.lease_seconds;
    return e;
}

panp_error_code panp_unregister_listener(panp_client *c, panp_registration *reg, panp_status *st)
{
    SYNC_START(c, st);
    return sync_run(c, panp_async_unregister_listener(c, reg, sync_done, &w_, st), &w_, st);
}

panp_error_code panp_get_registrations(panp_client *c, const panp_target *target,
                                        panp_reg_list *out, panp_status *st)
{
    memset(out, 0, sizeof *out);
    SYNC_START(c, st);
    panp_error_code e =
        sync_run(c, panp_async_get_registrations(c, target, sync_done, &w_, st), &w_, st);
    if (e == PANP_OK)
        *out = w_.list;
    else
        panp_reg_list_free(&w_.list);
    return e;
}

panp_error_code panp_conversation_reply(panp_client *c, panp_conversation *cv, const void *payload,
                           size_t len, panp_status *st)
{
    SYNC_START(c, st);
    panp_error_code e = panp_async_conversation_reply(c, cv, payload, len, sync_done, &w_, st);
    return sync_run(c, e, &w_, st);
}

panp_error_code panp_conversation_close(panp_client *c, panp_conversation *cv, const void *reason,
                                        size_t reason_len, panp_close_result *result,
                                        panp_status *st)
{
    SYNC_START(c, st);
    panp_error_code e = sync_run(
        c, panp_async_conversation_close(c, cv, reason, reason_len, sync_done, &w_, st), &w_, st);
    if (result)
        *result = e == PANP_OK ? w_.res.close : PANP_CLOSE_RESULT_NONE;
    return e;
}

panp_error_code panp_channel_open(panp_client *c, const panp_channel_params *p,
                                  panp_channel **out, panp_status *st)
{
    SYNC_START(c, st);
    panp_channel *ch = NULL;
    w_.drop_failed = true;
    panp_error_code e =
        sync_run(c, panp_async_channel_open(c, p, &ch, sync_done, &w_, st), &w_, st);
    if (out)
        *out = e == PANP_OK ? ch : NULL;
    return e;
}

panp_error_code panp_channel_send(panp_client *c, panp_channel *ch, const void *payload, size_t len,
                          panp_sent *out, panp_status *st)
{
    SYNC_START(c, st);
    panp_error_code e =
        sync_run(c, panp_async_channel_send(c, ch, payload, len, sync_done, &w_, st), &w_, st);
    if (e == PANP_OK && out) {
        out->sequence = w_.res.sequence;
        out->recipients = w_.res.recipients;
    }
    return e;
}

panp_error_code panp_channel_close(panp_client *c, panp_channel *ch, const void *reason,
                                   size_t reason_len, panp_close_result *result, panp_status *st)
{
    SYNC_START(c, st);
    panp_error_code e = sync_run(
        c, panp_async_channel_close(c, ch, reason, reason_len, sync_done, &w_, st), &w_, st);
    if (result)
        *result = e == PANP_OK ? w_.res.close : PANP_CLOSE_RESULT_NONE;
    return e;
}

panp_error_code panp_async_sync(panp_client *c, panp_done_cb cb, void *data, panp_status *st)
{
    ST_OR_LOCAL(st);
    if (!req_accepting(c, st))
        return st->code;
    preq *r = req_new(RQ_PING, NULL, cb, data);
    if (!r)
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    panp_error_code e = req_submit(c, r, st);
    if (e != PANP_OK)
        req_free(c, r);
    return e;
}

panp_error_code panp_sync(panp_client *c, panp_status *st)
{
    SYNC_START(c, st);
    return sync_run(c, panp_async_sync(c, sync_done, &w_, st), &w_, st);
}

panp_error_code panp_poll(panp_client *c, int timeout_ms, panp_status *st)
{
    if (!blocking_ok(c, st))
        return PANP_ERR_INVALID_ARGUMENT;
    if (c->state == CS_DEAD)
        return st_set(st, PANP_ERR_DISCONNECTED, "not connected: %s", c->last_error.message);
    int64_t end = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
    uint64_t calls = c->ncalls;
    io_enter(c);
    for (;;) {
        int64_t left = end < 0 ? -1 : end - now_ms();
        io_drive(c, left < 0 ? (end < 0 ? -1 : 0) : (int)left);
        if (c->ncalls != calls || c->state == CS_DEAD || (end >= 0 && now_ms() >= end))
            break;
        if (c->fd < 0 && conn_next_due(c) < 0 && end < 0)
            break; /* nothing left that could ever happen */
    }
    bool dead = c->state == CS_DEAD;
    panp_status last = c->last_error;
    io_leave(c); /* may free the context (deferred free) */
    if (dead)
        return st_set(st, PANP_ERR_DISCONNECTED, "not connected: %s", last.message);
    return st_set(st, PANP_OK, "ok");
}
