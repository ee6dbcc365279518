/* cases/c_bidi.c - bidirectional channels: offers, first responder wins,
 * withdraw, races, late listeners, dialog with the winner (SPEC 12). */
#include "common.h"

#define NL 3 /* listeners per scenario */

typedef struct bidi {
    pc_conn *s;
    pc_reg l[NL];
    uint64_t conv[NL];
    uint64_t ch;
} bidi;

/* NL listeners of the sender's own user (row 3 of 13.2), a question asked
 * and offered to all of them. */
static bidi bidi_ask(pc_t *t, size_t nl)
{
    bidi b = {0};
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    for (size_t i = 0; i < nl; i++)
        b.l[i] = listen_on(t, sid, pc_sprintf(t, "listener-%zu", i), pc_server(), t->type, PANP_USER_FILTER_PER_USER,
                           PANP_STYLE_BIDIRECTIONAL);
    b.s = pc_connect(t, sid, "sender");
    b.ch = pc_open(b.s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    panp_sent st = pc_notify(b.s, b.ch, t->type, "question?", NULL);
    if (st.recipients != nl)
        pc_fail(t, "PANP-BIDI-2", pc_sprintf(t, "the question offered to all %zu listeners (recipients)", nl), "%u", st.recipients);
    for (size_t i = 0; i < nl; i++) {
        b.conv[i] = pc_await_notify(b.l[i].c, b.ch, 1, "PANP-BIDI-2")->conversation_id;
        for (size_t j = 0; j < i; j++)
            if (b.conv[j] == b.conv[i])
                pc_fail(t, "PANP-BIDI-2", "a new conversation id for each listener", "%" PRIu64 " twice", b.conv[i]);
    }
    return b;
}

static bool m_closed_conv(const panp_frame *f, const void *arg)
{
    return f->kind == PANP_BODY_CHANNEL_CLOSED && f->body.channel_closed.conversation_id == *(const uint64_t *)arg;
}

static void run_offer_to_all(pc_t *t) { bidi_ask(t, NL); }

static void run_awaiting_reply(pc_t *t)
{
    bidi b = bidi_ask(t, 1);
    panp_frame f = {.kind = PANP_BODY_SEND, .body.send = {b.ch, pc_uuid(t->type), pc_s("again?")}};
    pc_call_error(b.s, &f, PANP_ERR_AWAITING_REPLY, "PANP-BIDI-5", "send.channel_id");
    pc_reply(b.l[0].c, b.conv[0], t->type, "answer", NULL);
    pc_await_reply_delivery(b.s, b.ch, NULL);
    panp_sent st = pc_notify(b.s, b.ch, t->type, "next", "PANP-BIDI-5");
    if (st.sequence != 2) pc_fail(t, "PANP-CHAN-15", "sequence 2 (the refused Send used none)", "%" PRIu64, st.sequence);
    pc_call_error(b.s, &f, PANP_ERR_AWAITING_REPLY, "PANP-BIDI-5", "send.channel_id");
}

/* Everyone answers in the same instant; exactly one wins. */
static void race_round(pc_t *t)
{
    bidi b = bidi_ask(t, NL);
    uint64_t rid[NL];
    for (size_t i = 0; i < NL; i++) {
        panp_frame f = {.kind = PANP_BODY_REPLY,
                        .body.reply = {b.conv[i], pc_uuid(t->type), pc_s(pc_sprintf(t, "answer from %zu", i))}};
        rid[i] = pc_req(b.l[i].c, &f); /* queued only: all are written by the same poll round */
    }
    size_t winners = 0, winner = 0;
    for (size_t i = 0; i < NL; i++) {
        const panp_frame *r = pc_response(b.l[i].c, rid[i], "PANP-BIDI-6");
        if (r->kind == PANP_BODY_OK) {
            winners++;
            winner = i;
            continue;
        }
        pc_check_error(b.l[i].c, r, PANP_ERR_CHANNEL_ALREADY_CLOSED, false, "PANP-BIDI-13", NULL);
        /* the loser learnt why before its error ([PANP-ORD-4]) */
        const panp_frame *cc = pc_peek(b.l[i].c, m_closed_conv, &b.conv[i]);
        if (!cc) { /* late (ORD-4) or never (BIDI-8)? what was queued with it is here after a barrier */
            pc_barrier(b.l[i].c, NULL);
            cc = pc_peek(b.l[i].c, m_closed_conv, &b.conv[i]);
            pc_fail(t, cc ? "PANP-ORD-4" : "PANP-BIDI-8",
                    "ChannelClosed(ANSWERED_BY_ANOTHER) to the loser, before the CHANNEL_ALREADY_CLOSED response", "%s",
                    cc ? "after it" : "none");
        }
        if (pc_rx_index(b.l[i].c, cc) > pc_rx_index(b.l[i].c, r))
            pc_fail(t, "PANP-ORD-4", "ChannelClosed(ANSWERED_BY_ANOTHER) before the CHANNEL_ALREADY_CLOSED response",
                    "after it");
        if (cc->body.channel_closed.reason != PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER)
            pc_fail(t, "PANP-BIDI-8", "reason ANSWERED_BY_ANOTHER", "%s", pc_frame_text(t, cc));
    }
    if (winners != 1) pc_fail(t, "PANP-BIDI-6", "exactly one Reply accepted", "%zu accepted", winners);
    const panp_reply_delivery *rd = pc_await_reply_delivery(b.s, b.ch, "PANP-BIDI-7");
    const char *want = pc_sprintf(t, "answer from %zu", winner);
    if (rd->sequence != 1 || strcmp(rd->responder, pc_who(t, PC_ROLE_SENDER, 0)->user) || !pc_bytes_eq(rd->payload, want, strlen(want)) || !panp_bytes_is_uuid(rd->notification_type, t->type))
        pc_fail(t, "PANP-BIDI-7", "ReplyDelivery{seq 1, responder, type, the winner's payload}", "%s",
                pc_frame_text(t, b.s->rx[b.s->nrx - 1].f));
    pc_barrier(b.s, NULL);
    pc_assert_none(b.s, pc_m_kind, &(panp_body_kind){PANP_BODY_REPLY_DELIVERY}, "PANP-BIDI-6", "a second ReplyDelivery");
    /* losers (ANSWERED_BY_ANOTHER already seen) */
    for (size_t i = 0; i < NL; i++) {
        if (i == winner) continue;
        pc_try_await(b.l[i].c, m_closed_conv, &b.conv[i], 0);
        panp_close_outcome o = pc_close_channel(b.l[i].c, 0, b.conv[i], NULL, NULL, "PANP-BIDI-12");
        if (o != PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER)
            pc_fail(t, "PANP-BIDI-12", "ACQUIRED_BY_ANOTHER for a lost conversation", "%s", pc_outcome_name(o));
    }
}

static void run_first_responder_wins(pc_t *t)
{
    for (int round = 0; round < 5; round++) {
        /* a fresh type per round: the previous round's closing connections
         * may still hold matching registrations inside the broker */
        memcpy(t->type, random_bytes(t, PANP_UUID_LEN), PANP_UUID_LEN);
        race_round(t);
        for (size_t i = 0; i < t->nconns; i++) pc_close(t->conns[i]);
    }
}

static void run_losers_told(pc_t *t)
{
    bidi b = bidi_ask(t, NL);
    pc_reply(b.l[1].c, b.conv[1], t->type, "mine", "PANP-BIDI-6");
    pc_await_reply_delivery(b.s, b.ch, "PANP-BIDI-7");
    for (size_t i = 0; i < NL; i++) {
        if (i == 1) continue;
        pc_await_closed(b.l[i].c, b.ch, b.conv[i], PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER, "PANP-BIDI-8");
        panp_frame f = {.kind = PANP_BODY_REPLY, .body.reply = {b.conv[i], pc_uuid(t->type), pc_s("late")}};
        pc_call_error(b.l[i].c, &f, PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-BIDI-13", NULL);
    }
    pc_barrier(b.l[1].c, NULL);
    pc_assert_no_closed(b.l[1].c, b.ch, "PANP-BIDI-8"); /* the winner is not told it lost */
}

static void run_loser_close_after_channel_closed(pc_t *t)
{
    bidi b = bidi_ask(t, 2);
    pc_reply(b.l[0].c, b.conv[0], t->type, "mine", NULL);
    pc_await_closed(b.l[1].c, b.ch, b.conv[1], PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER, "PANP-BIDI-8");
    pc_close_channel(b.s, b.ch, 0, NULL, NULL, NULL); /* the whole channel is gone now */
    panp_close_outcome o = pc_close_channel(b.l[1].c, 0, b.conv[1], t->type, "reason", "PANP-BIDI-12");
    if (o != PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER)
        pc_fail(t, "PANP-BIDI-12", "ACQUIRED_BY_ANOTHER even after the channel closed", "%s", pc_outcome_name(o));
}

static void run_winner_dialog(pc_t *t)
{
    bidi b = bidi_ask(t, 2);
    pc_reply(b.l[0].c, b.conv[0], t->type, "a1", NULL);
    pc_await_reply_delivery(b.s, b.ch, NULL);
    /* a matching registration made now gets nothing: the channel is won */
    pc_reg late = listen_on(t, pc_who(t, PC_ROLE_SENDER, 0), "late", pc_server(), t->type, PANP_USER_FILTER_PER_USER,
                            PANP_STYLE_BIDIRECTIONAL);
    panp_frame r0 = {.kind = PANP_BODY_REPLY, .body.reply = {b.conv[0], pc_uuid(t->type), pc_s("unasked")}};
    pc_call_error(b.l[0].c, &r0, PANP_ERR_NO_PENDING_QUESTION, "PANP-BIDI-10", "reply.conversation_id");
    for (uint64_t q = 2; q <= 4; q++) {
        panp_sent st = pc_notify(b.s, b.ch, t->type, pc_sprintf(t, "q%" PRIu64, q), "PANP-BIDI-9");
        if (st.recipients != 1 || st.sequence != q)
            pc_fail(t, "PANP-BIDI-9", pc_sprintf(t, "Sent{seq=%" PRIu64 " recipients=1}", q), "seq %" PRIu64 " recipients %u",
                    st.sequence, st.recipients);
        const panp_notify *n = pc_await_notify(b.l[0].c, b.ch, q, "PANP-BIDI-9");
        if (n->conversation_id != b.conv[0]) pc_fail(t, "PANP-BIDI-9", "the winner's conversation id", "%" PRIu64, n->conversation_id);
        pc_reply(b.l[0].c, b.conv[0], t->type, pc_sprintf(t, "a%" PRIu64, q), NULL);
        const panp_reply_delivery *rd = pc_await_reply_delivery(b.s, b.ch, "PANP-BIDI-7");
        if (rd->sequence != q) pc_fail(t, "PANP-BIDI-7", pc_sprintf(t, "ReplyDelivery.sequence %" PRIu64, q), "%" PRIu64, rd->sequence);
    }
    pc_conn *others[] = {b.l[1].c, late.c};
    pc_settle(b.s, others, 2);
    pc_assert_no_notify(late.c, b.ch, "PANP-BIDI-4");
    pc_chan_match m = {.chan = b.ch, .seq = 2};
    pc_assert_none(b.l[1].c, pc_m_notify, &m, "PANP-BIDI-9", "later questions to a loser");
}

static void run_late_listener(pc_t *t)
{
    bidi b = bidi_ask(t, 1);
    pc_conn *late = pc_connect(t, pc_who(t, PC_ROLE_SENDER, 0), "late-listener");
    panp_frame reg = {.kind = PANP_BODY_REGISTER,
                      .body.register_listener = pc_reg_args(pc_server(), t->type, PANP_USER_FILTER_PER_USER,
                                                            PANP_STYLE_BIDIRECTIONAL)};
    panp_frame ping = {.kind = PANP_BODY_PING};
    uint64_t r1 = pc_req(late, &reg), r2 = pc_req(late, &ping); /* pipelined */
    const panp_frame *registered = pc_response(late, r1, "PANP-REG-1");
    const panp_frame *pong = pc_response(late, r2, "PANP-KA-2");
    pc_chan_match m = {.chan = b.ch, .seq = 1};
    const panp_frame *n = pc_peek(late, pc_m_notify, &m);
    size_t ni = n ? pc_rx_index(late, n) : SIZE_MAX;
    if (!n || ni < pc_rx_index(late, registered) || ni > pc_rx_index(late, pong))
        pc_fail(t, "PANP-BIDI-3", "the unanswered question right after Registered, before the next response",
                "%s", n ? "out of place" : "no Notify before the Pong");
    (void)registered;
    uint64_t conv = n->body.notify.conversation_id;
    pc_try_await(late, pc_m_notify, &m, 0);
    pc_reply(late, conv, t->type, "late answer", "PANP-BIDI-3");
    pc_await_reply_delivery(b.s, b.ch, "PANP-BIDI-3");
    pc_await_closed(b.l[0].c, b.ch, b.conv[0], PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER, "PANP-BIDI-8");
}

static void run_withdraw(pc_t *t)
{
    bidi b = bidi_ask(t, 2);
    panp_close_outcome o = pc_close_channel(b.l[0].c, 0, b.conv[0], NULL, NULL, "PANP-BIDI-11");
    if (o != PANP_CLOSE_OUTCOME_WITHDRAWN) pc_fail(t, "PANP-BIDI-11", "WITHDRAWN", "%s", pc_outcome_name(o));
    pc_settle(b.l[0].c, &b.s, 1);
    pc_assert_no_closed(b.s, b.ch, "PANP-BIDI-11");
    pc_reply(b.l[1].c, b.conv[1], t->type, "I answer", "PANP-BIDI-11");
    pc_await_reply_delivery(b.s, b.ch, "PANP-BIDI-11");
    panp_frame r = {.kind = PANP_BODY_REPLY, .body.reply = {b.conv[0], pc_uuid(t->type), pc_s("after withdraw")}};
    pc_call_error(b.l[0].c, &r, PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11", NULL);
    panp_frame c = pc_close_frame(0, b.conv[0], NULL, NULL);
    pc_call_error(b.l[0].c, &c, PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11", NULL);
}

static void run_close_with_reason_wins(pc_t *t)
{
    bidi b = bidi_ask(t, 2);
    panp_close_outcome o = pc_close_channel(b.l[0].c, 0, b.conv[0], t->type, "declined", "PANP-BIDI-15");
    if (o != PANP_CLOSE_OUTCOME_CLOSED) pc_fail(t, "PANP-BIDI-15", "CLOSED", "%s", pc_outcome_name(o));
    const panp_channel_closed *cc = pc_await_closed(b.s, b.ch, 0, PANP_CLOSE_REASON_CLOSED_BY_LISTENER, "PANP-BIDI-15");
    if (!panp_bytes_is_uuid(cc->notification_type, t->type) || !pc_bytes_eq(cc->payload, "declined", 8) ||
        cc->conversation_id || cc->registration.len)
        pc_fail(t, "PANP-CHAN-23", "ChannelClosed to the sender with the reason's type and payload, no conversation",
                "%s", pc_frame_text(t, b.s->rx[b.s->nrx - 1].f));
    pc_await_closed(b.l[1].c, b.ch, b.conv[1], PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER, "PANP-BIDI-8");
    pc_notify_err(b.s, b.ch, t->type, "more?", PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11");
}

static void run_winner_closes(pc_t *t)
{
    for (int with_reason = 0; with_reason < 2; with_reason++) {
        memcpy(t->type, random_bytes(t, PANP_UUID_LEN), PANP_UUID_LEN);
        bidi b = bidi_ask(t, 1);
        pc_reply(b.l[0].c, b.conv[0], t->type, "a1", NULL);
        pc_await_reply_delivery(b.s, b.ch, NULL);
        panp_close_outcome o = pc_close_channel(b.l[0].c, 0, b.conv[0], with_reason ? t->type : NULL, "done", "PANP-BIDI-14");
        if (o != PANP_CLOSE_OUTCOME_CLOSED) pc_fail(t, "PANP-BIDI-14", "CLOSED", "%s", pc_outcome_name(o));
        const panp_channel_closed *cc = pc_await_closed(b.s, b.ch, 0, PANP_CLOSE_REASON_CLOSED_BY_LISTENER, "PANP-BIDI-14");
        if ((cc->payload.len != 0) != with_reason) pc_fail(t, "PANP-CHAN-23", "the reason payload exactly when given", "%s", pc_frame_text(t, b.s->rx[b.s->nrx - 1].f));
        for (size_t i = 0; i < t->nconns; i++) pc_close(t->conns[i]);
    }
}

static void run_sender_close_reaches_all(pc_t *t)
{
    bidi b = bidi_ask(t, 2);
    pc_close_channel(b.s, b.ch, 0, NULL, NULL, "PANP-CHAN-21");
    for (size_t i = 0; i < 2; i++) {
        const panp_channel_closed *cc = pc_await_closed(b.l[i].c, b.ch, b.conv[i], PANP_CLOSE_REASON_CLOSED_BY_SENDER, "PANP-CHAN-21");
        if (cc->registration.len != b.l[i].hlen) pc_fail(t, "PANP-CHAN-23", "the registration handle", "%zu bytes", cc->registration.len);
    }
    /* acquired: the winner is told too (a new type: the listeners above are still registered) */
    memcpy(t->type, random_bytes(t, PANP_UUID_LEN), PANP_UUID_LEN);
    bidi w = bidi_ask(t, 1);
    pc_reply(w.l[0].c, w.conv[0], t->type, "a", NULL);
    pc_await_reply_delivery(w.s, w.ch, NULL);
    pc_close_channel(w.s, w.ch, 0, NULL, NULL, NULL);
    pc_await_closed(w.l[0].c, w.ch, w.conv[0], PANP_CLOSE_REASON_CLOSED_BY_SENDER, "PANP-BIDI-1");
}

static void run_reply_type_mismatch(pc_t *t)
{
    bidi b = bidi_ask(t, 1);
    panp_frame f = {.kind = PANP_BODY_REPLY, .body.reply = {b.conv[0], pc_uuid(t->type2), pc_s("x")}};
    pc_call_error(b.l[0].c, &f, PANP_ERR_TYPE_MISMATCH, "PANP-BIDI-16", "reply.notification_type");
    f.body.reply.notification_type = pc_uuid(PANP_TYPE_NOTIFICATION_RELEASE);
    pc_call_error(b.l[0].c, &f, PANP_ERR_TYPE_MISMATCH, "PANP-REL-2", "reply.notification_type");
    pc_settle(b.l[0].c, &b.s, 1);
    pc_assert_none(b.s, pc_m_kind, &(panp_body_kind){PANP_BODY_REPLY_DELIVERY}, "PANP-BIDI-16", "a ReplyDelivery");
    pc_reply(b.l[0].c, b.conv[0], t->type, "right type", "PANP-BIDI-16"); /* state unchanged: still OFFERED */
}

static void run_reply_too_large_for_sender(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg l = listen_on(t, sid, "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_hello_opts small = {.max_frame_size = PANP_MIN_MAX_FRAME};
    pc_conn *s = pc_connect_opts(t, sid, "small-sender", &small);
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "q");
    uint64_t conv = pc_await_notify(l.c, ch, 1, NULL)->conversation_id;
    panp_frame f = {.kind = PANP_BODY_REPLY, .body.reply = {conv, pc_uuid(t->type), pc_s(filler(t, 6000, 'a'))}};
    pc_call_error(l.c, &f, PANP_ERR_RESOURCE_EXHAUSTED, "PANP-BIDI-17", "reply.payload");
    pc_reply(l.c, conv, t->type, "short answer", "PANP-BIDI-17"); /* nothing changed: it can still win */
    pc_await_reply_delivery(s, ch, "PANP-BIDI-17");
}

static void run_conversation_id_is_not_channel_id(pc_t *t)
{
    bidi b = bidi_ask(t, 1);
    /* the listener's conversation id as a channel id, and the channel id as a conversation id */
    panp_frame c1 = pc_close_frame(b.conv[0], 0, NULL, NULL);
    pc_call_error(b.l[0].c, &c1, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-CHAN-12", NULL);
    panp_frame r = {.kind = PANP_BODY_REPLY, .body.reply = {b.ch, pc_uuid(t->type), pc_s("x")}};
    pc_call_error(b.s, &r, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-CHAN-12", "reply.conversation_id");
    pc_reply(b.l[0].c, b.conv[0], t->type, "still fine", "PANP-ERR-7");
}

static void run_asking_survives_listener_loss(pc_t *t)
{
    bidi b = bidi_ask(t, 2);
    pc_close(b.l[0].c);
    pc_abort(b.l[1].c);
    pc_conn *watch = pc_connect(t, pc_who(t, PC_ROLE_SENDER, 0), "same-user");
    await_listed(watch, t->type, 0, "PANP-REG-11");
    pc_barrier(b.s, NULL);
    pc_assert_no_closed(b.s, b.ch, "PANP-REL-5");
    pc_reg fresh = listen_on(t, pc_who(t, PC_ROLE_SENDER, 0), "new-listener", pc_server(), t->type,
                             PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    uint64_t conv = pc_await_notify(fresh.c, b.ch, 1, "PANP-BIDI-3")->conversation_id;
    pc_reply(fresh.c, conv, t->type, "here", "PANP-BIDI-1");
    pc_await_reply_delivery(b.s, b.ch, "PANP-BIDI-1");
}

/* The sender and the winner close at the same instant: exactly one CLOSED;
 * the other learns it by ChannelClosed before its own CHANNEL_ALREADY_CLOSED. */
static void close_race_round(pc_t *t)
{
    bidi b = bidi_ask(t, 1);
    pc_reply(b.l[0].c, b.conv[0], t->type, "won", NULL);
    pc_await_reply_delivery(b.s, b.ch, NULL);
    panp_frame fs = pc_close_frame(b.ch, 0, NULL, NULL), fl = pc_close_frame(0, b.conv[0], NULL, NULL);
    uint64_t rs = pc_req(b.s, &fs), rl = pc_req(b.l[0].c, &fl); /* written in the same poll round */
    const panp_frame *as = pc_response(b.s, rs, "PANP-CHAN-25"), *al = pc_response(b.l[0].c, rl, "PANP-CHAN-25");
    bool s_won = as->kind == PANP_BODY_CHANNEL_CLOSE_RESULT && as->body.channel_close_result.outcome == PANP_CLOSE_OUTCOME_CLOSED;
    bool l_won = al->kind == PANP_BODY_CHANNEL_CLOSE_RESULT && al->body.channel_close_result.outcome == PANP_CLOSE_OUTCOME_CLOSED;
    if (s_won == l_won)
        pc_fail(t, "PANP-CHAN-25", "exactly one of the two CloseChannel answered CLOSED", "sender: %s; winner: %s",
                pc_frame_text(t, as), pc_frame_text(t, al));
    pc_conn *loser = s_won ? b.l[0].c : b.s;
    const panp_frame *lost = s_won ? al : as;
    pc_check_error(loser, lost, PANP_ERR_CHANNEL_ALREADY_CLOSED, false, "PANP-CHAN-25", NULL);
    pc_chan_match m = {.chan = b.ch};
    const panp_frame *cc = pc_find_received(loser, pc_m_closed, &m);
    if (!cc || pc_rx_index(loser, cc) > pc_rx_index(loser, lost))
        pc_fail(t, "PANP-ORD-4", "the ChannelClosed before the CHANNEL_ALREADY_CLOSED response", "%s", cc ? "after it" : "none");
    panp_close_reason want = s_won ? PANP_CLOSE_REASON_CLOSED_BY_SENDER : PANP_CLOSE_REASON_CLOSED_BY_LISTENER;
    if (cc->body.channel_closed.reason != want)
        pc_fail(t, "PANP-CHAN-23", pc_sprintf(t, "reason %s", panp_close_reason_name(want)), "%s", pc_frame_text(t, cc));
}

static void run_close_race(pc_t *t)
{
    for (int round = 0; round < 10; round++) {
        memcpy(t->type, random_bytes(t, PANP_UUID_LEN), PANP_UUID_LEN);
        close_race_round(t);
        for (size_t i = 0; i < t->nconns; i++) pc_close(t->conns[i]);
    }
}

static const pc_case_def CASES[] = {
    CASE("bidi.close-race-sender-and-winner", "PANP-CHAN-25 PANP-ORD-4 PANP-CHAN-11",
         "sender and winner close in the same instant, ten times: one CLOSED, the other told by ChannelClosed, then "
         "CHANNEL_ALREADY_CLOSED",
         run_close_race),
    CASE("bidi.offer-to-every-listener", "PANP-BIDI-2 PANP-CHAN-16",
         "the first Send is offered to all three matching registrations, each with its own conversation id", run_offer_to_all),
    CASE("bidi.awaiting-reply", "PANP-BIDI-5 PANP-CONN-17 PANP-CHAN-15",
         "a second Send before an answer: AWAITING_REPLY send.channel_id at once; after the answer the next Send is #2",
         run_awaiting_reply),
    CASE("bidi.first-responder-wins", "PANP-BIDI-6 PANP-BIDI-7 PANP-BIDI-8 PANP-BIDI-13 PANP-BIDI-12 PANP-ORD-4",
         "three listeners reply in the same instant, five times: one Ok, one ReplyDelivery, the others told and refused",
         run_first_responder_wins),
    CASE("bidi.losers-told", "PANP-BIDI-8 PANP-BIDI-13",
         "when one listener wins the others get ChannelClosed(ANSWERED_BY_ANOTHER) and their Replies CHANNEL_ALREADY_CLOSED",
         run_losers_told),
    CASE("bidi.loser-close-after-channel-closed", "PANP-BIDI-12",
         "a loser's CloseChannel after the whole channel closed still answers ACQUIRED_BY_ANOTHER", run_loser_close_after_channel_closed),
    CASE("bidi.winner-dialog", "PANP-BIDI-9 PANP-BIDI-10 PANP-BIDI-4 PANP-BIDI-7",
         "after the win: questions go to the winner alone with its conversation id, no late offer, unasked Reply refused",
         run_winner_dialog),
    CASE("bidi.late-listener-gets-question", "PANP-BIDI-3 PANP-DLV-10",
         "a registration made while a question is unanswered gets it right after Registered and can win", run_late_listener),
    CASE("bidi.withdraw", "PANP-BIDI-11 PANP-CHAN-11",
         "CloseChannel without a reason while offered: WITHDRAWN, the sender hears nothing, another listener answers",
         run_withdraw),
    CASE("bidi.close-with-reason-wins", "PANP-BIDI-15 PANP-BIDI-8 PANP-CHAN-23",
         "an offered listener closing with a reason wins and closes: CLOSED_BY_LISTENER with the reason to the sender",
         run_close_with_reason_wins),
    CASE("bidi.winner-closes", "PANP-BIDI-14 PANP-CHAN-23",
         "the winner closes with and without a reason: CLOSED, and the sender gets ChannelClosed(CLOSED_BY_LISTENER)",
         run_winner_closes),
    CASE("bidi.sender-close-reaches-listeners", "PANP-CHAN-21 PANP-BIDI-1 PANP-CHAN-23",
         "the sender's close reaches every offered listener, and the winner of an acquired channel", run_sender_close_reaches_all),
    CASE("bidi.reply-type-mismatch", "PANP-BIDI-16 PANP-REL-2 PANP-ERR-7",
         "a Reply of another type or of NOTIFICATION_RELEASE: TYPE_MISMATCH, nothing changes", run_reply_type_mismatch),
    CASE("bidi.reply-too-large-for-sender", "PANP-BIDI-17 PANP-ERR-7",
         "a Reply too large for the sender's 4096-byte frames: RESOURCE_EXHAUSTED reply.payload, state unchanged",
         run_reply_too_large_for_sender),
    CASE("bidi.id-kinds-separate", "PANP-CHAN-12",
         "a conversation id used as a channel id, or the reverse: CHANNEL_NOT_OPENED", run_conversation_id_is_not_channel_id),
    CASE("bidi.asking-survives-listener-loss", "PANP-REL-5 PANP-BIDI-1 PANP-BIDI-3",
         "all offered listeners die: nothing to the sender, the question stays open for a new registration",
         run_asking_survives_listener_loss),
};

PC_TABLE(pc_cases_bidi, CASES);
