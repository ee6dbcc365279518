/* chan.c - channels: OpenChannel, Send, the sender's CloseChannel, and
 * what happens to channels when their peers go.
 *
 * A channel belongs to the connection that opened it.  A unidirectional
 * channel copies each Send to every registration the delivery decision
 * selects at that moment.  A bidirectional one offers its first Send (the
 * question) through one conversation per selected registration (conv.c)
 * and, once someone answered, talks to the winner alone (SPEC 12.2).
 *
 * Ids carry the issuing connection's serial in their high 32 bits and a
 * per-connection counter below, so "issued here and since closed" is told
 * apart from "never issued here" without keeping tombstones. */
#include <stdlib.h>
#include <string.h>

#include "core_int.h"
#include "deliver.h"

/* May this registration see this channel?  Target, type and style matched
 * already (same bucket). */
bool chan_eligible(core *c, const chan *ch, const reg *r)
{
    const core_conn *l = r->conn;
#ifdef PANPD_BROKEN_BIDI_TO_OPENER
    /* BROKEN ON PURPOSE (conformance/broken.mk): questions reach the opener's own
     * registrations */
    if (l == ch->owner && ch->style == PANP_STYLE_BIDIRECTIONAL && l->state == CS_READY) return true;
#endif
    if (l == ch->owner || l->state != CS_READY) return false;
    (void)c;
    deliver_in in = {
        .channel_filter = ch->filter,
        .reg_filter = r->filter,
        /* user records are interned by name: one pointer compare, unless the
         * channel speaks for a job owner who may not be connected */
        .listener_is_addressed = ch->has_job ? strcmp(l->user->name, ch->job_owner) == 0
                                             : l->user == ch->owner->user,
        .listener_is_admin = r->admin, /* r->target == ch->target: same bucket */
        .channel_session = ch->job_session,
        .listener_session = l->session_label,
    };
    return deliver_decide(&in);
}

static void target_view(const core *c, uint32_t target, panp_target *t)
{
    const char *printer = conf_target_name(c->cfg, target);
    *t = printer ? (panp_target){PANP_TARGET_PRINTER, printer} : (panp_target){PANP_TARGET_SERVER, NULL};
}

/* ---- id lookups */

bool chan_issued(uint64_t id, const core_conn *conn, uint32_t counter, bool conv_kind)
{
    uint32_t low = LOCAL_OF(id);
    if (SERIAL_OF(id) != conn->serial || ((low & CONV_ID_BIT) != 0) != conv_kind) return false;
    low &= ~CONV_ID_BIT;
    return low != 0 && low <= counter;
}

void chan_gone_or_unknown(core *c, core_conn *conn, uint64_t rid, bool was_issued, const char *field)
{
    if (was_issued)
        emit_error(c, conn, rid, PANP_ERR_CHANNEL_ALREADY_CLOSED, field, false,
                   "%s: already closed", field);
    else
        emit_error(c, conn, rid, PANP_ERR_CHANNEL_NOT_OPENED, field, false,
                   "%s: not opened on this connection", field);
}

static chan *own_chan(core *c, core_conn *conn, uint64_t rid, uint64_t id, const char *field)
{
    chan *ch = hmap_get(&c->chans, &id, sizeof(id));
    if (ch && ch->owner == conn) return ch;
    chan_gone_or_unknown(c, conn, rid, chan_issued(id, conn, conn->next_chan, false), field);
    return NULL;
}

bool chan_same_type(const chan *ch, panp_bytes t)
{
    return t.len == PANP_UUID_LEN && memcmp(t.data, ch->type, PANP_UUID_LEN) == 0;
}

/* ChannelClosed to one side.  For the listener side, cv or r names it. */
void chan_tell_closed(core *c, core_conn *to, const chan *ch, const conv *cv, const reg *r,
                      panp_close_reason why, const panp_notification *reason)
{
    panp_frame f = {.kind = PANP_BODY_CHANNEL_CLOSED};
    panp_channel_closed *cc = &f.body.channel_closed;
    cc->channel_id = ch->id;
    cc->reason = why;
    if (cv) {
        cc->conversation_id = cv->id;
#ifdef PANPD_BROKEN_CONV_ID_REUSE
        /* BROKEN ON PURPOSE (conformance/broken.mk): see conv_new() */
        cc->conversation_id = LOCAL_OF(cv->id);
#endif
        cc->registration = (panp_bytes){cv->handle, sizeof(cv->handle)};
    } else if (r) {
        cc->registration = (panp_bytes){r->handle, sizeof(r->handle)};
    }
    if (why == PANP_CLOSE_REASON_PEER_GONE || why == PANP_CLOSE_REASON_SERVER_SHUTDOWN) {
        cc->notification_type = (panp_bytes){PANP_TYPE_NOTIFICATION_RELEASE, PANP_UUID_LEN};
    } else if (reason) {
        cc->notification_type = reason->notification_type;
        cc->payload = reason->payload;
    }
    if (reason && to->state < CS_CLOSING && !emit_fits(c, to, &f)) {
        /* Too large for this peer with the closer's reason: the close
         * itself must still arrive (SPEC CHAN-20). */
        cc->notification_type = (panp_bytes){NULL, 0};
        cc->payload = (panp_bytes){NULL, 0};
    }
    emit_control(c, to, &f);
}

void chan_stop_waiting(chan *ch)
{
    list_remove(&ch->waiting_link);
    blob_unref(ch->question);
    ch->question = NULL;
}

/* ---- closing a channel */

static void chan_free(core *c, chan *ch)
{
    hmap_del(&c->chans, &ch->id, sizeof(ch->id));
    list_remove(&ch->owner_link);
    list_remove(&ch->bucket_link);
    chan_stop_waiting(ch);
    ch->owner->nchans--;
    ch->owner->user->chans--;
    c->stats.channels--;
    bucket_maybe_free(c, ch->b);
    free(ch->job_owner);
    free(ch->job_session);
    free(ch);
}

/* Closes the channel for everybody still in it.  Listeners first: what was
 * queued for them on this channel is discarded so the ChannelClosed is not
 * stuck behind it (and nothing of the channel follows it).  `closer` (a
 * conversation) and, unless tell_owner, the owner hear nothing: they get a
 * response instead, or are gone. */
void chan_close(core *c, chan *ch, panp_close_reason why, const panp_notification *reason,
                       bool tell_owner, conv *closer)
{
    core_log(c, LOG_DEBUG, ch->owner, "channel %llx closes: %s", (unsigned long long)ch->id,
             panp_close_reason_name(why));
#ifdef PANPD_BROKEN_DEATH_AS_CLOSE
    /* BROKEN ON PURPOSE (conformance/broken.mk): a dead peer's channels close as if it
     * had closed them: no PEER_GONE, no NOTIFICATION_RELEASE */
    if (why == PANP_CLOSE_REASON_PEER_GONE)
        why = closer ? PANP_CLOSE_REASON_CLOSED_BY_LISTENER : PANP_CLOSE_REASON_CLOSED_BY_SENDER;
#endif
#ifdef PANPD_BROKEN_PEER_GONE_SILENT
    /* BROKEN ON PURPOSE (conformance/broken.mk): a dead peer's channels vanish without
     * a ChannelClosed */
    if (why == PANP_CLOSE_REASON_PEER_GONE) {
        while (!list_empty(&ch->convs))
            conv_end(c, list_entry(ch->convs.next, conv, chan_link), PANP_CLOSE_REASON_UNSPECIFIED, NULL);
        chan_free(c, ch);
        return;
    }
#endif
    if (ch->style == PANP_STYLE_UNIDIRECTIONAL) {
        list_node *n;
        list_for_each(n, &ch->b->regs) {
            reg *r = list_entry(n, reg, bucket_link);
            if (!chan_eligible(c, ch, r)) continue;
            /* BROKEN ON PURPOSE (conformance/broken.mk): PANPD_BROKEN_KEEP_QUEUED leaves this out */
#ifndef PANPD_BROKEN_KEEP_QUEUED
            emit_discard_channel(c, r->conn, ch->id);
#endif
            chan_tell_closed(c, r->conn, ch, NULL, r, why, reason);
        }
    } else {
        while (!list_empty(&ch->convs)) {
            conv *cv = list_entry(ch->convs.next, conv, chan_link);
            conv_end(c, cv, cv == closer ? PANP_CLOSE_REASON_UNSPECIFIED : why, reason);
        }
    }
    if (tell_owner) chan_tell_closed(c, ch->owner, ch, NULL, NULL, why, reason);
    chan_free(c, ch);
}

/* ---- OpenChannel */

/* SPEC 10.1 steps 1 to 5, in that order (the codec applied the field
 * rules). */
static bool check_open(core *c, core_conn *conn, uint64_t rid, const panp_open_channel *o,
                       uint32_t *target)
{
    const panpd_limits *l = &c->cfg->limits;
    if (!conn_target_lookup(c, conn, rid, &o->target, "open_channel", target)) return false;
    bool admin = core_is_admin(c, conn, *target);
    if (!conn->may_open && !conn->trusted && !admin) {
        emit_error(c, conn, rid, PANP_ERR_ACCESS_DENIED, "open_channel", false,
                   "open_channel: this user may not open channels on this target");
        return false;
    }
    if (o->has_on_behalf_of && !conn->trusted) {
        emit_error(c, conn, rid, PANP_ERR_ACCESS_DENIED, "open_channel.on_behalf_of", false,
                   "open_channel.on_behalf_of: only trusted components act for a job owner");
        return false;
    }
    /* BROKEN ON PURPOSE (conformance/broken.mk): PANPD_BROKEN_ALL_USERS_OPEN leaves this out */
#ifndef PANPD_BROKEN_ALL_USERS_OPEN
    if (o->user_filter == PANP_USER_FILTER_ALL_USERS && !admin) {
        emit_error(c, conn, rid, PANP_ERR_ACCESS_DENIED, "open_channel.user_filter", false,
                   "open_channel.user_filter: ALL_USERS needs administrator rights on the target");
        return false;
    }
#endif
    const char *limit = conn->nchans >= l->max_channels || conn->next_chan >= ID_COUNTER_MAX
                            ? "per connection"
                        : conn->user->chans >= l->max_channels_per_user ? "per user"
                        : c->stats.channels >= l->max_channels_total     ? "in the broker"
                                                                         : NULL;
    if (limit) {
        emit_error(c, conn, rid, PANP_ERR_RESOURCE_EXHAUSTED, "open_channel", false,
                   "open_channel: open channel limit %s reached", limit);
        return false;
    }
    return true;
}

void chan_on_open(core *c, core_conn *conn, uint64_t rid, const panp_open_channel *o)
{
    uint32_t target;
    if (!check_open(c, conn, rid, o, &target)) return;
    chan *ch = calloc(1, sizeof(*ch));
    bool ok = ch != NULL;
    if (ok) {
        ch->id = ((uint64_t)conn->serial << 32) | (conn->next_chan + 1);
        ch->owner = conn;
        ch->target = target;
        memcpy(ch->type, o->notification_type.data, PANP_UUID_LEN);
        ch->style = o->style;
        ch->filter = o->user_filter;
        ch->has_job = o->has_on_behalf_of;
        list_init(&ch->convs);
        list_init(&ch->waiting_link);
        ch->b = bucket_get(c, target, ch->type, ch->style, true);
        if (ch->has_job) {
            ch->job_id = o->on_behalf_of.job_id;
            ch->job_owner = strdup(o->on_behalf_of.job_owner);
            ch->job_session = strdup(o->on_behalf_of.session_label ? o->on_behalf_of.session_label : "");
            ok = ch->job_owner && ch->job_session;
        }
        ok = ok && ch->b && hmap_put(&c->chans, &ch->id, sizeof(ch->id), ch) == 0;
    }
    if (!ok) {
        if (ch) {
            bucket_maybe_free(c, ch->b);
            free(ch->job_owner);
            free(ch->job_session);
            free(ch);
        }
        emit_error(c, conn, rid, PANP_ERR_INTERNAL, "", false, "open_channel: no resources");
        return;
    }
    conn->next_chan++;
    list_add_tail(&conn->chans, &ch->owner_link);
    list_add_tail(&ch->b->open, &ch->bucket_link);
    conn->nchans++;
    conn->user->chans++;
    c->stats.channels++;
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_CHANNEL_OPENED};
    f.body.channel_opened.channel_id = ch->id;
    emit_control(c, conn, &f);
    core_log(c, LOG_DEBUG, conn, "opened channel %llx (target %u, %s)", (unsigned long long)ch->id,
             target, ch->style == PANP_STYLE_BIDIRECTIONAL ? "bidi" : "unidi");
}

/* ---- Send */

static blob *make_tail(core *c, const chan *ch, const panp_send *s)
{
    panp_notify n = {
        .channel_id = ch->id,
        .sequence = ch->seq,
        .notification_type = {ch->type, PANP_UUID_LEN},
        .style = ch->style,
        .has_sender = true,
        .sender = {.user = ch->owner->user->name,
                   .job_id = ch->has_job ? ch->job_id : 0,
                   .job_owner = ch->has_job ? ch->job_owner : ""},
        .payload = s->payload,
    };
    target_view(c, ch->target, &n.target);
    panp_status st;
    size_t need = 0;
    panp_error_code rc = panp_notify_encode_shared(&n, NULL, 0, &need, &st);
    blob *tail = rc == PANP_ERR_RESOURCE_EXHAUSTED ? blob_new(need) : NULL;
    if (tail && (rc = panp_notify_encode_shared(&n, tail->data, tail->len, &need, &st)) != 0) {
        blob_unref(tail);
        tail = NULL;
    }
    if (!tail)
        core_log(c, LOG_ERROR, ch->owner, "cannot encode a Notify: %s",
                 rc == PANP_ERR_RESOURCE_EXHAUSTED ? "out of memory" : st.message);
    return tail;
}

static uint32_t send_unidirectional(core *c, chan *ch, blob *tail)
{
    uint32_t recipients = 0;
    notify_out no = notify_out_of(tail);
    list_node *n;
    list_for_each(n, &ch->b->regs) {
        reg *r = list_entry(n, reg, bucket_link);
        if (!chan_eligible(c, ch, r)) continue;
        if (emit_notify(c, r->conn, r->notify_fields, r->notify_fields_len, &no, OUTQ_NOTIFY_UNI,
                        ch->id, r->serial))
            recipients++;
        else
            c->stats.notifies_dropped++; /* the listener sees a sequence gap */
    }
    return recipients;
}

static uint32_t send_question(core *c, chan *ch, blob *tail)
{
    uint32_t recipients = 0;
    ch->question = blob_ref(tail);
    list_add_tail(&ch->b->waiting, &ch->waiting_link);
    list_node *n, *t;
    list_for_each_safe(n, t, &ch->b->regs) {
        reg *r = list_entry(n, reg, bucket_link);
        if (chan_eligible(c, ch, r) && conv_offer(c, ch, r)) recipients++;
    }
    return recipients;
}

void chan_on_send(core *c, core_conn *conn, uint64_t rid, const panp_send *s)
{
#ifdef PANPD_BROKEN_SEND_AFTER_CLOSE
    /* BROKEN ON PURPOSE (conformance/broken.mk): a closed channel still takes Sends
     * (nobody receives them) */
    chan *open_ch = hmap_get(&c->chans, &s->channel_id, sizeof(s->channel_id));
    if ((!open_ch || open_ch->owner != conn) && chan_issued(s->channel_id, conn, conn->next_chan, false)) {
        panp_frame sent = {.request_id = rid, .kind = PANP_BODY_SENT};
        sent.body.sent.sequence = 1;
        emit_control(c, conn, &sent);
        return;
    }
#endif
    chan *ch = own_chan(c, conn, rid, s->channel_id, "send.channel_id");
    if (!ch) return;
#ifdef PANPD_BROKEN_SEQUENCE_ON_REJECT
    /* BROKEN ON PURPOSE (conformance/broken.mk): a refused Send uses a number */
    ch->seq++;
#endif
    if (!chan_same_type(ch, s->notification_type)) {
        emit_error(c, conn, rid, PANP_ERR_TYPE_MISMATCH, "send.notification_type", false,
                   "send.notification_type: differs from the channel's type");
        return;
    }
    if (ch->style == PANP_STYLE_BIDIRECTIONAL && ch->pending) {
        emit_error(c, conn, rid, PANP_ERR_AWAITING_REPLY, "send.channel_id", false,
                   "send.channel_id: the last message on this channel is unanswered");
        return;
    }
#ifndef PANPD_BROKEN_SEQUENCE_ON_REJECT /* BROKEN ON PURPOSE (conformance/broken.mk): see above */
    ch->seq++;
#endif
    blob *tail = make_tail(c, ch, s);
    if (!tail) {
        ch->seq--;
        emit_error(c, conn, rid, PANP_ERR_INTERNAL, "", false, "send: cannot encode the notification");
        return;
    }
    uint32_t recipients = 0;
    bool winner_failed = false;
    if (ch->style == PANP_STYLE_UNIDIRECTIONAL) {
        recipients = send_unidirectional(c, ch, tail);
    } else {
        ch->pending = true;
        ch->pending_seq = ch->seq;
        if (!ch->winner) {
            recipients = send_question(c, ch, tail);
        } else {
            conv *w = ch->winner;
            notify_out no = notify_out_of(tail);
            if (emit_notify(c, w->conn, w->notify_fields, w->notify_fields_len, &no,
                            OUTQ_CONVERSATION, ch->id, w->id))
                recipients = 1;
            else
                winner_failed = true;
        }
    }
    blob_unref(tail);
    emit_sent(c, conn, rid, ch->seq, recipients);
    if (winner_failed) {
        c->stats.notifies_dropped++;
        chan_close(c, ch, PANP_CLOSE_REASON_SLOW_CONSUMER, NULL, true, NULL);
    }
}

/* ---- CloseChannel */

void chan_close_result(core *c, core_conn *conn, uint64_t rid, panp_close_outcome outcome)
{
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_CHANNEL_CLOSE_RESULT};
    f.body.channel_close_result.outcome = outcome;
    emit_control(c, conn, &f);
}

bool chan_check_reason(core *c, core_conn *conn, uint64_t rid, const chan *ch,
                       const panp_close_channel *cl)
{
    /* NOTIFICATION_RELEASE is never a channel's type, so it fails here too
     * (SPEC REL-2). */
    if (!cl->has_reason || chan_same_type(ch, cl->reason.notification_type)) return true;
    emit_error(c, conn, rid, PANP_ERR_TYPE_MISMATCH, "close_channel.reason.notification_type", false,
               "close_channel.reason.notification_type: differs from the channel's type");
    return false;
}

static void close_by_sender(core *c, core_conn *conn, uint64_t rid, const panp_close_channel *cl)
{
    chan *ch = own_chan(c, conn, rid, cl->id, "close_channel.channel_id");
    if (!ch || !chan_check_reason(c, conn, rid, ch, cl)) return;
    chan_close_result(c, conn, rid, PANP_CLOSE_OUTCOME_CLOSED);
    chan_close(c, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER, cl->has_reason ? &cl->reason : NULL,
               false, NULL);
}

void chan_on_close(core *c, core_conn *conn, uint64_t rid, const panp_close_channel *cl)
{
    switch (cl->side) {
    case PANP_CLOSE_SIDE_CHANNEL:
        close_by_sender(c, conn, rid, cl);
        break;
    case PANP_CLOSE_SIDE_CONVERSATION:
        conv_on_close(c, conn, rid, cl);
        break;
    default: /* the codec refuses a CloseChannel without a side */
        emit_error(c, conn, rid, PANP_ERR_INVALID_ARGUMENT, "close_channel.side", false,
                   "close_channel.side: channel_id or conversation_id required");
        break;
    }
}

/* ---- registrations and connections going away */

void chan_conn_gone(core *c, core_conn *conn)
{
    while (!list_empty(&conn->chans)) {
        chan *ch = list_entry(conn->chans.next, chan, owner_link);
        chan_close(c, ch, PANP_CLOSE_REASON_PEER_GONE, NULL, false, NULL);
    }
    while (!list_empty(&conn->convs)) {
        conv *cv = list_entry(conn->convs.next, conv, conn_link);
        if (cv->state == CV_ACQUIRED)
            chan_close(c, cv->ch, PANP_CLOSE_REASON_PEER_GONE, NULL, true, cv);
        else
            conv_end(c, cv, PANP_CLOSE_REASON_UNSPECIFIED, NULL);
    }
    conv_forget_lost(c, conn);
}

void chan_close_all(core *c)
{
    list_node *n;
    list_for_each(n, &c->conns) {
        core_conn *conn = list_entry(n, core_conn, link);
        while (!list_empty(&conn->chans)) {
            chan *ch = list_entry(conn->chans.next, chan, owner_link);
            chan_close(c, ch, PANP_CLOSE_REASON_SERVER_SHUTDOWN, NULL, true, NULL);
        }
    }
}
