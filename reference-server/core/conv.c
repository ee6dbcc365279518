/* conv.c - bidirectional conversations: one listener registration's side
 * of one bidirectional channel (SPEC 12.3).
 *
 *   OFFERED --Reply / Close with a reason--> ACQUIRED (the winner)
 *   OFFERED --another listener won--> LOST (remembered for its late Close)
 *   OFFERED --Close without a reason, Unregister, lease--> withdrawn (freed)
 *
 * A conversation lives on its listener's connection; its id carries that
 * connection's serial and the conversation bit, so a freed one reads as
 * "already closed" there and as "not opened" everywhere else. */
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

/* Live or lost conversation of this listener. */
static conv *own_conv(core *c, core_conn *conn, uint64_t rid, uint64_t id, const char *field)
{
#ifdef PANPD_BROKEN_CONV_ID_REUSE
    /* BROKEN ON PURPOSE (conformance/broken.mk): the wire id lacks the serial (conv_new()) */
    if (SERIAL_OF(id) == 0) id |= (uint64_t)conn->serial << 32;
#endif
    conv *cv = hmap_get(&c->convs, &id, sizeof(id));
    if (cv && cv->conn == conn) return cv;
    chan_gone_or_unknown(c, conn, rid, chan_issued(id, conn, conn->next_conv, true), field);
    return NULL;
}

static void conv_free(core *c, conv *cv)
{
    hmap_del(&c->convs, &cv->id, sizeof(cv->id));
    list_remove(&cv->chan_link);
    list_remove(&cv->conn_link);
    list_remove(&cv->reg_link);
    if (cv->state == CV_LOST) cv->conn->nlost--;
    c->stats.conversations--;
    free(cv);
}

static conv *conv_new(core *c, chan *ch, reg *r)
{
    core_conn *l = r->conn;
    if (l->next_conv >= ID_COUNTER_MAX) return NULL;
    uint64_t id = ((uint64_t)l->serial << 32) | CONV_ID_BIT | (l->next_conv + 1);
    uint64_t wire_id = id;
#ifdef PANPD_BROKEN_CONV_ID_REUSE
    /* BROKEN ON PURPOSE (conformance/broken.mk): conversation ids without the connection
     * serial: listeners on different connections get the same ids */
    wire_id = LOCAL_OF(id);
#endif
    uint8_t fields[PANP_NOTIFY_FIELDS_MAX];
    size_t len = emit_notify_fields(c, r->handle, wire_id, r->client_state, r->style, fields);
    if (len == 0) return NULL;
    conv *cv = calloc(1, sizeof(*cv) + len);
    if (!cv) return NULL;
    cv->id = id;
    cv->state = CV_OFFERED;
    cv->ch = ch;
    cv->conn = l;
    cv->reg = r;
    memcpy(cv->handle, r->handle, sizeof(cv->handle));
    memcpy(cv->notify_fields, fields, len);
    cv->notify_fields_len = (uint8_t)len;
    if (hmap_put(&c->convs, &cv->id, sizeof(cv->id), cv) != 0) {
        free(cv);
        return NULL;
    }
    l->next_conv++;
    list_add_tail(&ch->convs, &cv->chan_link);
    list_add_tail(&l->convs, &cv->conn_link);
    list_add_tail(&r->convs, &cv->reg_link);
    c->stats.conversations++;
    return cv;
}

/* One listener leaves a conversation; `why` 0 tells it nothing. */
void conv_end(core *c, conv *cv, panp_close_reason why, const panp_notification *reason)
{
    emit_discard_tag(c, cv->conn, cv->ch->id, cv->id);
    if (why) chan_tell_closed(c, cv->conn, cv->ch, cv, NULL, why, reason);
    conv_free(c, cv);
}

static void conv_lose(core *c, conv *cv)
{
    core_conn *l = cv->conn;
    emit_discard_tag(c, l, cv->ch->id, cv->id);
    /* BROKEN ON PURPOSE (conformance/broken.mk): PANPD_BROKEN_LOSERS_NOT_TOLD leaves this out */
#ifndef PANPD_BROKEN_LOSERS_NOT_TOLD
    chan_tell_closed(c, l, cv->ch, cv, NULL, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER, NULL);
#endif
    list_remove(&cv->chan_link);
    list_remove(&cv->reg_link);
    list_remove(&cv->conn_link);
    cv->ch = NULL;
    cv->reg = NULL;
    cv->state = CV_LOST;
    list_add_tail(&l->lost, &cv->conn_link);
    l->nlost++;
    while (l->nlost > MAX_LOST_PER_CONN) conv_free(c, list_entry(l->lost.next, conv, conn_link));
}

void conv_forget_lost(core *c, core_conn *conn)
{
    while (!list_empty(&conn->lost)) conv_free(c, list_entry(conn->lost.next, conv, conn_link));
}

/* The first answer: everyone else offered the question has lost. */
static void conv_acquire(core *c, chan *ch, conv *winner)
{
    ch->winner = winner;
    winner->state = CV_ACQUIRED;
    chan_stop_waiting(ch);
    list_node *n, *t;
    list_for_each_safe(n, t, &ch->convs) {
        conv *cv = list_entry(n, conv, chan_link);
        if (cv != winner) conv_lose(c, cv);
    }
}

/* Offers the pending question to a registration.  A listener that cannot
 * take it (queue full, frame too large) is told at once, so it never waits
 * for a question that will not come. */
bool conv_offer(core *c, chan *ch, reg *r)
{
    conv *cv = conv_new(c, ch, r);
    if (!cv) return false;
    notify_out no = notify_out_of(ch->question);
    if (emit_notify(c, r->conn, cv->notify_fields, cv->notify_fields_len, &no, OUTQ_CONVERSATION,
                    ch->id, cv->id))
        return true;
    c->stats.notifies_dropped++;
    conv_end(c, cv, PANP_CLOSE_REASON_SLOW_CONSUMER, NULL);
    return false;
}

void conv_offer_waiting(core *c, reg *r)
{
    list_node *n, *t;
    list_for_each_safe(n, t, &r->b->waiting) {
        chan *ch = list_entry(n, chan, waiting_link);
        if (chan_eligible(c, ch, r)) conv_offer(c, ch, r);
    }
}

void conv_on_reply(core *c, core_conn *conn, uint64_t rid, const panp_reply *rp)
{
#ifdef PANPD_BROKEN_UNI_REPLY_ACCEPTED
    /* BROKEN ON PURPOSE (conformance/broken.mk): a unidirectional "reply" is taken */
    if (rp->conversation_id == 0) {
        panp_frame ok = {.request_id = rid, .kind = PANP_BODY_OK};
        emit_control(c, conn, &ok);
        return;
    }
#endif
    conv *cv = own_conv(c, conn, rid, rp->conversation_id, "reply.conversation_id");
    if (!cv) return;
    if (cv->state == CV_LOST) {
        emit_error(c, conn, rid, PANP_ERR_CHANNEL_ALREADY_CLOSED, "reply.conversation_id", false,
                   "reply.conversation_id: already closed");
        return;
    }
    chan *ch = cv->ch;
    if (!chan_same_type(ch, rp->notification_type)) {
        emit_error(c, conn, rid, PANP_ERR_TYPE_MISMATCH, "reply.notification_type", false,
                   "reply.notification_type: differs from the channel's type");
        return;
    }
    if (cv->state == CV_ACQUIRED && !ch->pending) {
        emit_error(c, conn, rid, PANP_ERR_NO_PENDING_QUESTION, "reply.conversation_id", false,
                   "reply.conversation_id: no question is outstanding");
        return;
    }
    panp_frame f = {.kind = PANP_BODY_REPLY_DELIVERY};
    f.body.reply_delivery = (panp_reply_delivery){
        .channel_id = ch->id,
        .sequence = ch->pending_seq,
        .responder = conn->user->name,
        .notification_type = rp->notification_type,
        .payload = rp->payload,
    };
    if (!emit_fits(c, ch->owner, &f)) {
        /* Refused before anything changes: the listener can answer again
         * with less (SPEC BIDI-15). */
        emit_error(c, conn, rid, PANP_ERR_RESOURCE_EXHAUSTED, "reply.payload", false,
                   "reply.payload: too large for the sender's frame size");
        return;
    }
    if (cv->state == CV_OFFERED) conv_acquire(c, ch, cv);
    ch->pending = false;
    /* The sender's ReplyDelivery first: connections are written in the
     * order they were woken, and the answer is what a round trip waits on. */
    emit_control(c, ch->owner, &f);
    panp_frame ok = {.request_id = rid, .kind = PANP_BODY_OK};
    emit_control(c, conn, &ok);
}

void conv_on_close(core *c, core_conn *conn, uint64_t rid, const panp_close_channel *cl)
{
    conv *cv = own_conv(c, conn, rid, cl->id, "close_channel.conversation_id");
    if (!cv) return;
    if (cv->state == CV_LOST) {
        /* A success: the question was answered, just not by this one.  The
         * conversation stays LOST, so asking again gives the same answer. */
        chan_close_result(c, conn, rid, PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER);
        return;
    }
    chan *ch = cv->ch;
    if (!chan_check_reason(c, conn, rid, ch, cl)) return;
    if (cv->state == CV_OFFERED && !cl->has_reason) {
        conv_end(c, cv, PANP_CLOSE_REASON_UNSPECIFIED, NULL);
        chan_close_result(c, conn, rid, PANP_CLOSE_OUTCOME_WITHDRAWN);
        return;
    }
    /* Closing with a reason answers the question; the winner's close, with
     * or without one, ends the channel. */
    if (cv->state == CV_OFFERED) conv_acquire(c, ch, cv);
    chan_close_result(c, conn, rid, PANP_CLOSE_OUTCOME_CLOSED);
    chan_close(c, ch, PANP_CLOSE_REASON_CLOSED_BY_LISTENER, cl->has_reason ? &cl->reason : NULL,
               true, cv);
}

void conv_reg_ending(core *c, reg *r, panp_close_reason why)
{
    while (!list_empty(&r->convs)) {
        conv *cv = list_entry(r->convs.next, conv, reg_link);
        if (cv->state == CV_OFFERED) {
            conv_end(c, cv, why, NULL);
        } else {
            /* An acquired conversation outlives its registration. */
            list_remove(&cv->reg_link);
            cv->reg = NULL;
        }
    }
}
