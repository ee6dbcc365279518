/* req.c - the request queue.
 *
 * A request is encoded and queued for the socket as soon as it is made
 * (or held until the Welcome), then waits on c->pend_* for the response
 * with its request_id.  Requests about an object the broker has not
 * numbered yet (a send on a channel still opening) wait on that object and
 * go out when its ChannelOpened/Registered arrives.  Answers the library
 * can give itself go through c->done_* so no completion ever runs inside
 * the call that made the request.
 *
 * Every way a request can end goes through the same per-kind handler: a
 * real response, or a synthetic Error (connection lost, object closed
 * before it could be sent).  That is where the close races are settled:
 * CHANNEL_ALREADY_CLOSED on a close, a close lost with the connection, an
 * unregister of a registration that already ended, are all successes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

static const char *rq_name(rq_kind k)
{
    switch (k) {
    case RQ_PING: return "Ping";
    case RQ_REGISTER: return "Register";
    case RQ_RENEW: return "Renew";
    case RQ_UNREGISTER: return "Unregister";
    case RQ_LIST: return "ListRegistrations";
    case RQ_OPEN: return "OpenChannel";
    case RQ_SEND: return "Send";
    case RQ_REPLY: return "Reply";
    case RQ_CLOSE_CHAN:
    case RQ_CLOSE_CONV: return "CloseChannel";
    }
    return "?";
}

preq *req_new(rq_kind kind, pobj *obj, panp_done_cb cb, void *data)
{
    preq *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->kind = kind;
    r->obj = obj;
    if (obj)
        obj_retain(obj);
    r->cb = cb;
    r->cb_data = data;
    return r;
}

void panp_reg_list_free(panp_reg_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->entries[i].user);
        free(l->entries[i].printer);
    }
    free(l->entries);
    *l = (panp_reg_list){0};
}

void req_free(panp_client *c, preq *r)
{
    if (r->obj)
        obj_release(c, r->obj);
    pbuf_free(&r->body);
    free(r->printer);
    panp_reg_list_free(&r->list);
    free(r);
}

bool req_accepting(panp_client *c, panp_status *st)
{
    if (c->freeing)
        return st_set(st, PANP_ERR_DISCONNECTED, "the context is being freed"), false;
    if (c->state == CS_READY)
        return true;
    /* Before the first Welcome requests are held, so an async caller can
     * register right after panp_async_connect(). */
    if (!c->ever_up && (c->state == CS_CONNECTING || c->state == CS_HANDSHAKE))
        return true;
    if (c->last_error.code != PANP_OK)
        st_set(st, PANP_ERR_DISCONNECTED, "not connected to the broker (%s)",
               c->last_error.message);
    else
        st_set(st, PANP_ERR_DISCONNECTED, "not connected to the broker");
    return false;
}

/* ---- building and sending ------------------------------------------------- */

static panp_notification reason_of(const preq *r, const uint8_t *type)
{
    return (panp_notification){
        .notification_type = {type, PANP_UUID_LEN},
        .payload = {pbuf_head(&r->body), pbuf_len(&r->body)},
    };
}

static void req_frame(const preq *r, panp_frame *f)
{
    memset(f, 0, sizeof *f);
    panp_registration *reg = (panp_registration *)r->obj;
    panp_channel *ch = (panp_channel *)r->obj;
    panp_conversation *cv = (panp_conversation *)r->obj;
    panp_bytes body = {pbuf_head(&r->body), pbuf_len(&r->body)};
    switch (r->kind) {
    case RQ_PING:
        f->kind = PANP_BODY_PING;
        break;
    case RQ_REGISTER:
        reg_frame(reg, f);
        break;
    case RQ_RENEW:
        f->kind = PANP_BODY_RENEW;
        f->body.renew.handle = (panp_bytes){reg->handle, reg->handle_len};
        f->body.renew.lease_seconds = r->lease;
        break;
    case RQ_UNREGISTER:
        f->kind = PANP_BODY_UNREGISTER;
        f->body.unregister.handle = (panp_bytes){reg->handle, reg->handle_len};
        break;
    case RQ_LIST:
        f->kind = PANP_BODY_LIST_REGISTRATIONS;
        f->body.list_registrations.target = r->target;
        f->body.list_registrations.target.printer = r->printer;
        f->body.list_registrations.offset = (uint32_t)r->list.count;
        break;
    case RQ_OPEN:
        break; /* built by the caller: never deferred */
    case RQ_SEND:
        f->kind = PANP_BODY_SEND;
        f->body.send = (panp_send){ch->id, {ch->type, PANP_UUID_LEN}, body};
        break;
    case RQ_REPLY:
        f->kind = PANP_BODY_REPLY;
        f->body.reply = (panp_reply){cv->id, {cv->type, PANP_UUID_LEN}, body};
        break;
    case RQ_CLOSE_CHAN:
        f->kind = PANP_BODY_CLOSE_CHANNEL;
        f->body.close_channel.side = PANP_CLOSE_SIDE_CHANNEL;
        f->body.close_channel.id = ch->id;
        f->body.close_channel.has_reason = r->has_reason;
        if (r->has_reason)
            f->body.close_channel.reason = reason_of(r, ch->type);
        break;
    case RQ_CLOSE_CONV:
        f->kind = PANP_BODY_CLOSE_CHANNEL;
        f->body.close_channel.side = PANP_CLOSE_SIDE_CONVERSATION;
        f->body.close_channel.id = cv->id;
        f->body.close_channel.has_reason = r->has_reason;
        if (r->has_reason)
            f->body.close_channel.reason = reason_of(r, cv->type);
        break;
    }
}

static void pend_append(panp_client *c, preq *r)
{
    r->next = NULL;
    if (c->pend_tail)
        c->pend_tail->next = r;
    else
        c->pend_head = r;
    c->pend_tail = r;
}

panp_error_code req_submit_frame(panp_client *c, preq *r, panp_frame *f, panp_status *st)
{
    uint64_t id = ++c->next_id;
    f->request_id = id;
    pbuf *dst = c->state == CS_READY ? &c->out : &c->held;
    panp_error_code e = io_put_frame(c, dst, f, st);
    if (e != PANP_OK)
        return e;
    r->id = id;
    r->sent_ms = now_ms();
    r->on_wire = true;
    pend_append(c, r);
    io_arm(c);
    return PANP_OK;
}

panp_error_code req_submit(panp_client *c, preq *r, panp_status *st)
{
    panp_frame f;
    req_frame(r, &f);
    return req_submit_frame(c, r, &f, st);
}

void req_wait_on(pobj *o, preq *r)
{
    r->next = NULL;
    if (o->wait_tail)
        o->wait_tail->next = r;
    else
        o->wait_head = r;
    o->wait_tail = r;
}

/* ---- completing --------------------------------------------------------------- */

static void req_complete(panp_client *c, preq *r)
{
    r->res.code = r->st.code;
    r->res.status = &r->st;
    if (r->kind == RQ_LIST)
        r->res.list = &r->list;
    if (r->cb) {
        c->ncalls++;
        r->cb(c, &r->res, r->cb_data);
    }
    req_free(c, r);
}

void req_settle(panp_client *c, preq *r)
{
    r->next = NULL;
    if (c->done_tail)
        c->done_tail->next = r;
    else
        c->done_head = r;
    c->done_tail = r;
    io_arm(c);
}

void req_run_done(panp_client *c)
{
    while (c->done_head) {
        preq *r = c->done_head;
        c->done_head = r->next;
        if (!c->done_head)
            c->done_tail = NULL;
        req_complete(c, r);
    }
}

/* ---- per-kind handlers ----------------------------------------------------------- */

static bool is_local(panp_error_code code) { return (int)code >= PANP_ERR_CLIENT_BASE; }

static void take_error(preq *r, const panp_frame *f)
{
    const panp_error_msg *e = &f->body.error;
    st_set(&r->st, e->code == PANP_OK ? PANP_ERR_INTERNAL : e->code, "%s",
           e->message && *e->message ? e->message : panp_strerror(e->code));
    if (e->field)
        snprintf(r->st.field, sizeof r->st.field, "%s", e->field);
    r->st.request_id = r->id;
}

/* true when f is the body wanted; otherwise r->st says what went wrong. */
static bool expect(preq *r, const panp_frame *f, panp_body_kind want)
{
    if (f->kind == want)
        return true;
    if (f->kind == PANP_BODY_ERROR)
        take_error(r, f);
    else
        st_set(&r->st, PANP_ERR_PROTOCOL_VIOLATION, "the broker answered %s with %s",
               rq_name(r->kind), panp_body_name(f->kind));
    return false;
}

static void on_register(panp_client *c, preq *r, const panp_frame *f)
{
    panp_registration *reg = (panp_registration *)r->obj;
    r->res.registration = reg;
    if (expect(r, f, PANP_BODY_REGISTERED)) {
        const panp_registered *g = &f->body.registered;
        size_t n = g->handle.len <= PANP_HANDLE_MAX_LEN ? g->handle.len : PANP_HANDLE_MAX_LEN;
        memcpy(reg->handle, g->handle.data, n);
        reg->handle_len = n;
        reg->state = REG_LIVE;
        reg_lease_granted(c, reg, g->lease_seconds);
        reg->rereg = false;
        r->res.lease_seconds = g->lease_seconds;
        req_flush_waiting(c, &reg->o);
        return;
    }
    if (reg->rereg && is_local(r->st.code) && c->state == CS_IDLE) {
        reg->state = REG_WAITING; /* lost again: retry on the next connection */
        reg->rereg = false;
        return;
    }
    reg_ended(c, reg, PANP_REG_END_REREGISTER_FAILED, reg->rereg);
    req_release_waiting(c, &reg->o, r->st.code, r->st.message);
}

static void on_renew(panp_client *c, preq *r, const panp_frame *f)
{
    panp_registration *reg = (panp_registration *)r->obj;
    r->res.registration = reg;
    if (expect(r, f, PANP_BODY_RENEWED)) {
        reg_lease_granted(c, reg, f->body.renewed.lease_seconds);
        r->res.lease_seconds = reg->lease_granted;
    } else {
        reg->renewing = false; /* ended meanwhile, or refused: the broker says which */
    }
}

static void on_unregister(panp_client *c, preq *r, const panp_frame *f)
{
    panp_registration *reg = (panp_registration *)r->obj;
    r->res.registration = reg;
    if (!expect(r, f, PANP_BODY_OK)) {
        /* Gone already (lease expiry crossing the request, the connection
         * dropped, the Register failed): what was asked for is true. */
        bool gone = reg->state == REG_ENDED || r->st.code == PANP_ERR_NOT_FOUND ||
                    is_local(r->st.code);
        if (!gone)
            return;
        memset(&r->st, 0, sizeof r->st);
    }
    reg_ended(c, reg, PANP_REG_END_UNSPECIFIED, false);
}

static bool list_append(panp_client *c, panp_reg_list *l, const panp_registration_list *page)
{
    size_t n = l->count + page->registrations_count;
    panp_reg_entry *v = realloc(l->entries, (n ? n : 1) * sizeof *v);
    if (!v)
        return false;
    l->entries = v;
    for (size_t i = 0; i < page->registrations_count; i++) {
        const panp_registration_info *in = &page->registrations[i];
        panp_reg_entry *e = &v[l->count++];
        memset(e, 0, sizeof *e);
        e->handle_len = in->handle.len <= PANP_HANDLE_MAX_LEN ? in->handle.len : 0;
        if (e->handle_len)
            memcpy(e->handle, in->handle.data, e->handle_len);
        e->registration = reg_by_handle(c, in->handle);
        e->user = strdup(in->user ? in->user : "");
        e->target_kind = in->target.kind;
        e->printer = in->target.kind == PANP_TARGET_PRINTER ? xstrdup(in->target.printer) : NULL;
        if (in->notification_type.len == PANP_UUID_LEN)
            memcpy(e->type, in->notification_type.data, PANP_UUID_LEN);
        e->user_filter = in->user_filter;
        e->style = in->style;
        e->lease_remaining_seconds = in->lease_remaining_seconds;
    }
    l->total = page->total;
    return true;
}

/* false when r went out again for the next page. */
static bool on_list(panp_client *c, preq *r, const panp_frame *f)
{
    if (!expect(r, f, PANP_BODY_REGISTRATION_LIST))
        return true;
    const panp_registration_list *page = &f->body.registration_list;
    if (!list_append(c, &r->list, page)) {
        st_set(&r->st, PANP_ERR_NOMEM, "out of memory copying the registration list");
        return true;
    }
    if (page->registrations_count == 0 || r->list.count >= page->total)
        return true;
    return req_submit(c, r, &r->st) != PANP_OK;
}

static void on_open(panp_client *c, preq *r, const panp_frame *f)
{
    panp_channel *ch = (panp_channel *)r->obj;
    r->res.channel = ch;
    if (expect(r, f, PANP_BODY_CHANNEL_OPENED)) {
        ch->id = f->body.channel_opened.channel_id;
        if (idmap_put(&c->chans, ch->id, ch)) {
            ch->state = CH_OPEN;
            req_flush_waiting(c, &ch->o);
            return;
        }
        st_set(&r->st, PANP_ERR_NOMEM, "out of memory recording channel %llu",
               (unsigned long long)ch->id);
        /* A channel we cannot track: close it rather than leak it. */
        preq *cl = req_new(RQ_CLOSE_CHAN, &ch->o, NULL, NULL);
        if (cl && req_submit(c, cl, NULL) != PANP_OK)
            req_free(c, cl);
    }
    /* chan_closed() may have dropped the live reference already (a close
     * waiting on this open, failed first when the context is freed). */
    bool live = !ch->closed_told;
    ch->state = CH_FAILED;
    ch->closed_told = true; /* never open: no on_closed */
    req_release_waiting(c, &ch->o, PANP_ERR_CHANNEL_NOT_OPENED, r->st.message);
    if (live)
        obj_release(c, &ch->o); /* the live reference */
}

static void on_send(preq *r, const panp_frame *f)
{
    r->res.channel = (panp_channel *)r->obj;
    if (expect(r, f, PANP_BODY_SENT)) {
        r->res.sequence = f->body.sent.sequence;
        r->res.recipients = f->body.sent.recipients;
    }
}

static void on_reply(preq *r, const panp_frame *f)
{
    r->res.conversation = (panp_conversation *)r->obj;
    expect(r, f, PANP_BODY_OK);
}

static panp_closed_info own_close(const preq *r, uint64_t ch, uint64_t cv, const uint8_t *type,
                                  panp_close_reason why)
{
    panp_closed_info in = {.channel_id = ch, .conversation_id = cv, .reason = why,
                           .by_self = true, .has_reason = r->has_reason};
    if (r->has_reason) {
        in.notification_type = (panp_bytes){type, PANP_UUID_LEN};
        in.payload = (panp_bytes){pbuf_head(&r->body), pbuf_len(&r->body)};
    }
    return in;
}

/* A close that failed because the thing is closed anyway succeeded. */
static bool close_moot(preq *r, bool told)
{
    if (r->st.code != PANP_ERR_CHANNEL_ALREADY_CLOSED && !told && !is_local(r->st.code))
        return false;
    memset(&r->st, 0, sizeof r->st);
    r->res.close = PANP_CLOSE_RESULT_ALREADY_CLOSED;
    return true;
}

static void on_close_chan(panp_client *c, preq *r, const panp_frame *f)
{
    panp_channel *ch = (panp_channel *)r->obj;
    r->res.channel = ch;
    if (expect(r, f, PANP_BODY_CHANNEL_CLOSE_RESULT)) {
        r->res.close = PANP_CLOSE_RESULT_CLOSED;
        panp_closed_info in = own_close(r, ch->id, 0, ch->type, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
        chan_closed(c, ch, &in);
    } else if (close_moot(r, ch->closed_told)) {
        panp_closed_info in = {.channel_id = ch->id};
        chan_closed(c, ch, &in);
    } else {
        ch->closing = false;
    }
}

static void on_close_conv(panp_client *c, preq *r, const panp_frame *f)
{
    panp_conversation *cv = (panp_conversation *)r->obj;
    r->res.conversation = cv;
    if (expect(r, f, PANP_BODY_CHANNEL_CLOSE_RESULT)) {
        panp_closed_info in =
            own_close(r, cv->channel_id, cv->id, cv->type, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
        switch (f->body.channel_close_result.outcome) {
        case PANP_CLOSE_OUTCOME_WITHDRAWN:
            r->res.close = PANP_CLOSE_RESULT_WITHDRAWN;
            break;
        case PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER:
            r->res.close = PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER;
            in = (panp_closed_info){.channel_id = cv->channel_id, .conversation_id = cv->id,
                                    .reason = PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER};
            break;
        default:
            r->res.close = PANP_CLOSE_RESULT_CLOSED;
            break;
        }
        conv_closed(c, cv, &in);
    } else if (close_moot(r, cv->closed_told)) {
        panp_closed_info in = {.channel_id = cv->channel_id, .conversation_id = cv->id};
        conv_closed(c, cv, &in);
    } else {
        cv->closing = false;
    }
}

/* Settles r from f.  false when r is still pending (paging). */
static bool handle(panp_client *c, preq *r, const panp_frame *f)
{
    switch (r->kind) {
    case RQ_PING: expect(r, f, PANP_BODY_PONG); break;
    case RQ_REGISTER: on_register(c, r, f); break;
    case RQ_RENEW: on_renew(c, r, f); break;
    case RQ_UNREGISTER: on_unregister(c, r, f); break;
    case RQ_LIST: return on_list(c, r, f);
    case RQ_OPEN: on_open(c, r, f); break;
    case RQ_SEND: on_send(r, f); break;
    case RQ_REPLY: on_reply(r, f); break;
    case RQ_CLOSE_CHAN: on_close_chan(c, r, f); break;
    case RQ_CLOSE_CONV: on_close_conv(c, r, f); break;
    }
    return true;
}

static void fake_error(panp_frame *f, uint64_t id, panp_error_code code, const char *msg)
{
    memset(f, 0, sizeof *f);
    f->request_id = id;
    f->kind = PANP_BODY_ERROR;
    f->body.error.code = code;
    f->body.error.message = msg;
    f->body.error.field = "";
}

static panp_body_kind success_body(rq_kind k)
{
    switch (k) {
    case RQ_PING: return PANP_BODY_PONG;
    case RQ_REGISTER: return PANP_BODY_REGISTERED;
    case RQ_RENEW: return PANP_BODY_RENEWED;
    case RQ_UNREGISTER: return PANP_BODY_OK;
    case RQ_LIST: return PANP_BODY_REGISTRATION_LIST;
    case RQ_OPEN: return PANP_BODY_CHANNEL_OPENED;
    case RQ_SEND: return PANP_BODY_SENT;
    case RQ_REPLY: return PANP_BODY_OK;
    case RQ_CLOSE_CHAN:
    case RQ_CLOSE_CONV: return PANP_BODY_CHANNEL_CLOSE_RESULT;
    }
    return PANP_BODY_NONE;
}

void req_on_response(panp_client *c, const panp_frame *f)
{
    /* Responses come in request order, so this answers the oldest request
     * or the broker is broken ([PANP-CLI-6]). */
    preq *r = c->pend_head;
    if (!r || r->id != f->request_id ||
        (f->kind != PANP_BODY_ERROR && f->kind != success_body(r->kind))) {
        conn_lost_code(c, PANP_ERR_PROTOCOL_VIOLATION,
                       "the broker sent %s (request %llu) where the answer to %s (request %llu) "
                       "was due",
                       panp_body_name(f->kind), (unsigned long long)f->request_id,
                       r ? rq_name(r->kind) : "nothing", r ? (unsigned long long)r->id : 0ULL);
        return;
    }
    c->pend_head = r->next;
    if (!c->pend_head)
        c->pend_tail = NULL;
    r->next = NULL;
    if (handle(c, r, f))
        req_complete(c, r);
}

void req_fail_all(panp_client *c, panp_error_code code, const panp_status *why)
{
    preq *r = c->pend_head;
    c->pend_head = c->pend_tail = NULL;
    pbuf_clear(&c->held);
    while (r) {
        preq *next = r->next;
        panp_frame f;
        r->next = NULL;
        fake_error(&f, r->id, code, why->message);
        if (handle(c, r, &f))
            req_complete(c, r);
        r = next;
    }
}

void req_release_waiting(panp_client *c, pobj *o, panp_error_code code, const char *why)
{
    preq *r = o->wait_head;
    o->wait_head = o->wait_tail = NULL;
    while (r) {
        preq *next = r->next;
        panp_frame f;
        r->next = NULL;
        fake_error(&f, 0, code, why);
        handle(c, r, &f);
        req_settle(c, r);
        r = next;
    }
}

void req_flush_waiting(panp_client *c, pobj *o)
{
    preq *r = o->wait_head;
    o->wait_head = o->wait_tail = NULL;
    while (r) {
        preq *next = r->next;
        r->next = NULL;
        if (req_submit(c, r, &r->st) != PANP_OK) {
            panp_frame f;
            panp_status why = r->st;
            fake_error(&f, 0, why.code, why.message);
            handle(c, r, &f);
            req_settle(c, r);
        }
        r = next;
    }
}

int64_t req_oldest_ms(const panp_client *c)
{
    return c->pend_head ? c->pend_head->sent_ms : -1;
}
