/* obj.c - registrations, channels and conversations: reference counts,
 * the once-only closing callbacks, and what a lost connection does to them.
 *
 * Why reference counts: the Windows API frees a channel "on your behalf"
 * when it closes, so a Release or CloseChannel racing the ChannelClosed
 * callback touches freed memory (seed 001).  Here memory only goes when
 * nobody (application, library, pending request, running callback) holds
 * the object, and closure is a state, reported exactly once. */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

void *obj_new(panp_client *c, obj_kind kind, size_t size)
{
    pobj *o = calloc(1, size);
    if (!o)
        return NULL;
    o->kind = kind;
    o->refs = 1; /* the library's "live" reference */
    o->next = c->objects;
    if (c->objects)
        c->objects->prev = o;
    c->objects = o;
    return o;
}

void obj_retain(pobj *o) { o->refs++; }

static void obj_destroy(panp_client *c, pobj *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        c->objects = o->next;
    if (o->next)
        o->next->prev = o->prev;
    if (o->kind == OBJ_REG)
        free(((panp_registration *)o)->printer);
    free(o);
}

void obj_release(panp_client *c, pobj *o)
{
    if (--o->refs > 0)
        return;
    panp_registration *reg = NULL;
    if (o->kind == OBJ_CONV)
        reg = ((panp_conversation *)o)->reg;
    obj_destroy(c, o);
    if (reg)
        obj_release(c, &reg->o);
}

void obj_free_all(panp_client *c)
{
    while (c->objects)
        obj_destroy(c, c->objects);
}

panp_conversation *conv_new(panp_client *c, panp_registration *reg, const panp_notify *n)
{
    panp_conversation *cv = obj_new(c, OBJ_CONV, sizeof *cv);
    if (!cv)
        return NULL;
    if (!idmap_put(&c->convs, n->conversation_id, cv)) {
        obj_release(c, &cv->o);
        return NULL;
    }
    cv->reg = reg;
    obj_retain(&reg->o);
    cv->id = n->conversation_id;
    cv->channel_id = n->channel_id;
    if (n->notification_type.len == PANP_UUID_LEN)
        memcpy(cv->type, n->notification_type.data, PANP_UUID_LEN);
    return cv;
}

/* ---- closure, once --------------------------------------------------------- */

void chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info)
{
    if (ch->closed_told)
        return;
    ch->closed_told = true;
    ch->state = CH_CLOSED;
    ch->closing = false;
    idmap_del(&c->chans, ch->id);
    /* The live reference still held here keeps ch valid across the
     * callback, even if the callback releases the channel. */
    if (!ch->o.released && !c->freeing && ch->on_closed) {
        c->ncalls++;
        ch->on_closed(c, ch, info, ch->o.data);
    }
    obj_release(c, &ch->o);
}

void conv_closed(panp_client *c, panp_conversation *cv, const panp_closed_info *info)
{
    if (cv->closed_told)
        return;
    cv->closed_told = true;
    cv->closed = true;
    cv->closing = false;
    idmap_del(&c->convs, cv->id);
    panp_registration *reg = cv->reg;
    if (!c->freeing && reg->on_closed) {
        c->ncalls++;
        reg->on_closed(c, reg, cv, info, reg->o.data);
    }
    obj_release(c, &cv->o);
}

void reg_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason why, bool tell)
{
    if (reg->state == REG_ENDED)
        return;
    reg->state = REG_ENDED;
    reg->rereg = false;
    obj_retain(&reg->o); /* across the callback */
    obj_release(c, &reg->o); /* the live reference */
    if (tell && !reg->o.released && !c->freeing && reg->on_ended) {
        c->ncalls++;
        reg->on_ended(c, reg, why, reg->o.data);
    }
    obj_release(c, &reg->o);
}

panp_registration *reg_by_handle(panp_client *c, panp_bytes h)
{
    if (h.len == 0 || h.len > PANP_HANDLE_MAX_LEN)
        return NULL;
    for (pobj *o = c->objects; o; o = o->next) {
        if (o->kind != OBJ_REG)
            continue;
        panp_registration *reg = (panp_registration *)o;
        if (reg->state == REG_LIVE && reg->handle_len == h.len &&
            memcmp(reg->handle, h.data, h.len) == 0)
            return reg;
    }
    return NULL;
}

void reg_frame(const panp_registration *reg, panp_frame *f)
{
    memset(f, 0, sizeof *f);
    f->kind = PANP_BODY_REGISTER;
    panp_register *r = &f->body.register_listener;
    r->target.kind = reg->printer ? PANP_TARGET_PRINTER : PANP_TARGET_SERVER;
    r->target.printer = reg->printer;
    r->notification_type = (panp_bytes){reg->type, PANP_UUID_LEN};
    r->user_filter = reg->filter;
    r->style = reg->style;
    r->lease_seconds = reg->lease;
    r->client_state = (panp_bytes){reg->cstate, reg->cstate_len};
}

/* ---- leases -------------------------------------------------------------------- */

void reg_lease_granted(panp_client *c, panp_registration *reg, uint32_t granted)
{
    reg->lease_granted = granted;
    reg->renewing = false;
    reg->renew_at = -1;
    if (!reg->auto_renew || granted == 0)
        return;
    reg->renew_at = now_ms() + (int64_t)granted * 500; /* half-life */
    if (c->renew_due < 0 || reg->renew_at < c->renew_due)
        c->renew_due = reg->renew_at;
}

void regs_renew_due(panp_client *c, int64_t now)
{
    if (c->renew_due < 0 || now < c->renew_due)
        return;
    c->renew_due = -1;
    for (pobj *o = c->objects; o; o = o->next) {
        panp_registration *reg = (panp_registration *)o;
        if (o->kind != OBJ_REG || reg->state != REG_LIVE || reg->renew_at < 0)
            continue;
        if (now >= reg->renew_at && !reg->renewing && !o->released) {
            preq *r = req_new(RQ_RENEW, o, NULL, NULL);
            if (r) {
                r->lease = reg->lease;
                if (req_submit(c, r, NULL) == PANP_OK) {
                    reg->renewing = true;
                    reg->renew_at = -1;
                    continue;
                }
                req_free(c, r);
            }
            reg->renew_at = now + 1000; /* could not queue it: try again soon */
        }
        if (reg->renew_at >= 0 && (c->renew_due < 0 || reg->renew_at < c->renew_due))
            c->renew_due = reg->renew_at;
    }
}

/* ---- connection loss --------------------------------------------------------- */

/* A snapshot with a reference on each object: callbacks may free, create
 * or release objects while we walk. */
static pobj **snapshot(panp_client *c, size_t *n)
{
    size_t count = 0;
    for (pobj *o = c->objects; o; o = o->next)
        count++;
    pobj **v = calloc(count ? count : 1, sizeof *v);
    if (!v) {
        *n = 0;
        return NULL;
    }
    count = 0;
    for (pobj *o = c->objects; o; o = o->next) {
        obj_retain(o);
        v[count++] = o;
    }
    *n = count;
    return v;
}

static void lost_one(panp_client *c, pobj *o, bool retry, const panp_closed_info *info)
{
    if (o->kind == OBJ_CHAN) {
        panp_channel *ch = (panp_channel *)o;
        if (ch->state == CH_OPEN)
            chan_closed(c, ch, info);
    } else if (o->kind == OBJ_CONV) {
        panp_conversation *cv = (panp_conversation *)o;
        if (!cv->closed)
            conv_closed(c, cv, info);
    } else {
        panp_registration *reg = (panp_registration *)o;
        if (reg->state != REG_LIVE)
            return; /* PENDING ones fail with their Register */
        reg->handle_len = 0;
        if (reg->o.released)
            return; /* its Unregister completes as a success */
        if (retry)
            reg->state = REG_WAITING;
        else
            reg_ended(c, reg, PANP_REG_END_DISCONNECTED, true);
    }
}

void objs_connection_lost(panp_client *c, bool retry)
{
    /* Exactly what a broker-side peer death looks like: PEER_GONE with
     * NOTIFICATION_RELEASE, for every open channel and conversation. */
    panp_closed_info info = {
        .reason = PANP_CLOSE_REASON_PEER_GONE,
        .connection_lost = true,
        .release = true,
        .notification_type = {PANP_TYPE_NOTIFICATION_RELEASE, PANP_UUID_LEN},
    };
    size_t n;
    pobj **v = snapshot(c, &n);
    for (size_t pass = 0; pass < 2; pass++) {
        /* Channels and conversations first, registrations after: a
         * conversation's on_closed may still look at its registration. */
        for (size_t i = 0; i < n; i++) {
            if ((v[i]->kind == OBJ_REG) != (pass == 1))
                continue;
            if (v[i]->kind == OBJ_CHAN)
                info.channel_id = ((panp_channel *)v[i])->id, info.conversation_id = 0;
            else if (v[i]->kind == OBJ_CONV)
                info.channel_id = ((panp_conversation *)v[i])->channel_id,
                info.conversation_id = ((panp_conversation *)v[i])->id;
            lost_one(c, v[i], retry, &info);
        }
    }
    for (size_t i = 0; i < n; i++)
        obj_release(c, v[i]);
    free(v);
}

void objs_reregister(panp_client *c)
{
    for (pobj *o = c->objects; o; o = o->next) {
        if (o->kind != OBJ_REG || ((panp_registration *)o)->state != REG_WAITING)
            continue;
        panp_registration *reg = (panp_registration *)o;
        preq *r = req_new(RQ_REGISTER, o, NULL, NULL);
        panp_status st;
        reg->state = REG_PENDING;
        reg->rereg = true;
        if (!r || req_submit(c, r, &st) != PANP_OK) {
            if (r)
                req_free(c, r);
            reg->state = REG_WAITING; /* try again on the next connection */
            reg->rereg = false;
        }
    }
}

/* ---- accessors ------------------------------------------------------------------ */

void *panp_registration_data(const panp_registration *reg) { return reg->o.data; }
void panp_registration_set_data(panp_registration *reg, void *data) { reg->o.data = data; }

panp_bytes panp_registration_handle(const panp_registration *reg)
{
    if (reg->state != REG_LIVE)
        return (panp_bytes){NULL, 0};
    return (panp_bytes){reg->handle, reg->handle_len};
}

uint32_t panp_registration_lease(const panp_registration *reg) { return reg->lease_granted; }
bool panp_registration_is_live(const panp_registration *reg) { return reg->state == REG_LIVE; }

void panp_conversation_retain(panp_conversation *cv) { obj_retain(&cv->o); }
void panp_conversation_release(panp_client *c, panp_conversation *cv) { obj_release(c, &cv->o); }
uint64_t panp_conversation_id(const panp_conversation *cv) { return cv->id; }
uint64_t panp_conversation_channel_id(const panp_conversation *cv) { return cv->channel_id; }
panp_registration *panp_conversation_registration(const panp_conversation *cv) { return cv->reg; }
bool panp_conversation_is_closed(const panp_conversation *cv) { return cv->closed; }
void panp_conversation_set_data(panp_conversation *cv, void *data) { cv->o.data = data; }
void *panp_conversation_data(const panp_conversation *cv) { return cv->o.data; }

uint64_t panp_channel_id(const panp_channel *ch) { return ch->id; }
bool panp_channel_is_open(const panp_channel *ch) { return ch->state == CH_OPEN && !ch->closing; }
bool panp_channel_is_closed(const panp_channel *ch)
{
    return ch->state == CH_CLOSED || ch->state == CH_FAILED;
}
void *panp_channel_data(const panp_channel *ch) { return ch->o.data; }
void panp_channel_set_data(panp_channel *ch, void *data) { ch->o.data = data; }
