/* cases/c_flow.c - flow control and slow consumers (SPEC 17): a listener
 * that stops reading costs only itself; the broker stays bounded, drops
 * unidirectional notifications with a visible sequence gap, closes
 * conversations it cannot feed, and closes a connection whose control
 * frames overflow the allowance. */
#include "common.h"

#define BIG 32768 /* payload of flood notifications */

/* Sends until a Send is queued for fewer than `full` registrations (a
 * drop), or FAIL: the broker's queues would be unbounded.  Returns the
 * sequence of the first Send that was not queued for everyone. */
static uint64_t flood_until_drop(pc_t *t, pc_conn *s, uint64_t ch, uint32_t full, const char *payload)
{
    uint64_t limit = (uint64_t)s->limits.max_outbound_bytes / BIG + (64u << 20) / BIG;
    for (uint64_t i = 0; i < limit; i++) {
        panp_sent st = pc_notify(s, ch, t->type, payload, "PANP-FLOW-7");
        pc_forget_used(s);
        if (st.recipients < full) return st.sequence;
    }
    pc_fail(t, "PANP-FLOW-1", pc_sprintf(t, "a drop once the paused listener's queue exceeds max_outbound_bytes (%u)",
                                         s->limits.max_outbound_bytes),
            "%" PRIu64 " notifications of %d bytes were all queued for it", limit, BIG);
}

static void run_uni_slow_listener(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_hello_opts tiny = {.rcvbuf = 4096};
    pc_conn *slow = pc_connect_opts(t, sid, "slow-listener", &tiny);
    pc_register(slow, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_reg fast = listen_on(t, sid, "fast-listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_pause(slow, true);
    const char *payload = filler(t, BIG, 'f');
    uint64_t first_drop = flood_until_drop(t, s, ch, 2, payload);
    uint64_t last = first_drop;
    for (int i = 0; i < 3; i++) last = pc_notify(s, ch, t->type, payload, "PANP-FLOW-7").sequence;
    /* the fast listener got everything, in order, while the slow one stalled */
    for (uint64_t q = 1; q <= last; q++) {
        pc_await_notify(fast.c, ch, q, "PANP-FLOW-7");
        pc_forget_used(fast.c);
    }
    pc_pause(slow, false);
    uint64_t after = pc_notify(s, ch, t->type, "after the stall", NULL).sequence;
    pc_await_notify(slow, ch, after, "PANP-FLOW-2");
    /* what the slow one saw: an unbroken run from 1, a gap that covers the
     * drops, then the new one (ordering itself is checked by the harness) */
    uint64_t seen_max_before = 0;
    for (size_t i = 0; i < slow->nrx; i++) {
        const panp_frame *f = slow->rx[i].f;
        if (!f || f->kind != PANP_BODY_NOTIFY || f->body.notify.sequence == after) continue;
        if (f->body.notify.sequence >= first_drop)
            pc_fail(t, "PANP-FLOW-2", pc_sprintf(t, "no Notify for sequence %" PRIu64 " and later (not counted in recipients)", first_drop),
                    "sequence %" PRIu64 " arrived", f->body.notify.sequence);
        if (f->body.notify.sequence > seen_max_before) seen_max_before = f->body.notify.sequence;
    }
    pc_note(t, "the slow listener got 1..%" PRIu64 ", then %" PRIu64 "; sequences %" PRIu64 "..%" PRIu64 " were dropped for it",
            seen_max_before, after, first_drop, last);
}

static void run_uni_frame_size(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_hello_opts small = {.max_frame_size = PANP_MIN_MAX_FRAME};
    pc_conn *sm = pc_connect_opts(t, sid, "small-listener", &small);
    pc_register(sm, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_reg big = listen_on(t, sid, "big-listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    panp_sent st = pc_notify(s, ch, t->type, filler(t, 6000, 'b'), NULL);
    if (st.recipients != 1) pc_fail(t, "PANP-FLOW-2", "recipients 1: the 6000-byte Notify does not fit the 4096-byte listener", "%u", st.recipients);
    pc_notify(s, ch, t->type, "small", NULL);
    pc_await_notify(big.c, ch, 1, "PANP-FLOW-2");
    pc_await_notify(sm, ch, 2, "PANP-FLOW-2");
    pc_chan_match m = {.chan = ch, .seq = 1};
    pc_assert_none(sm, pc_m_notify, &m, "PANP-FRAME-9", "the oversized Notify");
}

static void run_question_frame_size(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_hello_opts small = {.max_frame_size = PANP_MIN_MAX_FRAME};
    pc_conn *sm = pc_connect_opts(t, sid, "small-listener", &small);
    pc_reg smr = pc_register(sm, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_reg big = listen_on(t, sid, "big-listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    panp_sent st = pc_notify(s, ch, t->type, filler(t, 6000, 'q'), NULL);
    if (st.recipients != 1) pc_fail(t, "PANP-FLOW-3", "recipients 1 (the offer queued for the big listener only)", "%u", st.recipients);
    const panp_channel_closed *cc = pc_await_closed(sm, ch, 0, PANP_CLOSE_REASON_SLOW_CONSUMER, "PANP-FLOW-3");
    if (!cc->conversation_id || cc->registration.len != smr.hlen)
        pc_fail(t, "PANP-CHAN-23", "the new conversation id and the handle in the ChannelClosed", "%s", pc_frame_text(t, sm->rx[sm->nrx - 1].f));
    pc_assert_no_notify(sm, ch, "PANP-FLOW-3");
    uint64_t conv = pc_await_notify(big.c, ch, 1, "PANP-FLOW-3")->conversation_id;
    pc_reply(big.c, conv, t->type, "I can read it", "PANP-FLOW-3");
    pc_await_reply_delivery(s, ch, "PANP-FLOW-3");
}

static void run_winner_frame_size(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_hello_opts small = {.max_frame_size = PANP_MIN_MAX_FRAME};
    pc_conn *w = pc_connect_opts(t, sid, "small-winner", &small);
    pc_register(w, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "small question");
    uint64_t conv = pc_await_notify(w, ch, 1, NULL)->conversation_id;
    pc_reply(w, conv, t->type, "ok", NULL);
    pc_await_reply_delivery(s, ch, NULL);
    panp_sent st = pc_notify(s, ch, t->type, filler(t, 6000, 'w'), "PANP-FLOW-4");
    if (st.recipients != 0) pc_fail(t, "PANP-FLOW-4", "Sent{recipients=0}", "%u", st.recipients);
    pc_await_closed(w, ch, conv, PANP_CLOSE_REASON_SLOW_CONSUMER, "PANP-FLOW-4");
    pc_await_closed(s, ch, 0, PANP_CLOSE_REASON_SLOW_CONSUMER, "PANP-FLOW-4");
    pc_notify_err(s, ch, t->type, "closed?", PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-FLOW-4");
}

static bool m_closed_without_notify(const panp_frame *f, const void *arg)
{
    return f->kind == PANP_BODY_CHANNEL_CLOSED && f->body.channel_closed.channel_id == *(const uint64_t *)arg &&
           f->body.channel_closed.reason == PANP_CLOSE_REASON_SLOW_CONSUMER;
}

static void run_question_queue_full(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_hello_opts tiny = {.rcvbuf = 4096};
    pc_conn *slow = pc_connect_opts(t, sid, "slow-listener", &tiny);
    pc_register(slow, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register(slow, pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t flood = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_pause(slow, true);
    flood_until_drop(t, s, flood, 1, filler(t, BIG, 'f'));
    uint64_t ch = pc_open(s, pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    panp_frame f = {.kind = PANP_BODY_SEND, .body.send = {ch, pc_uuid(t->type2), pc_s(filler(t, BIG, 'q'))}};
    const panp_frame *r = pc_call_expect(s, &f, PANP_BODY_SENT, "PANP-FLOW-7");
    if (r->body.sent.recipients) pc_fail(t, "PANP-FLOW-3", "recipients 0: the offer could not be queued", "%u", r->body.sent.recipients);
    pc_pause(slow, false);
    const panp_frame *cc = pc_await(slow, m_closed_without_notify, &ch, -1, "PANP-FLOW-3",
                                    "ChannelClosed(SLOW_CONSUMER) for the offer that did not fit");
    pc_chan_match m = {.chan = ch};
    pc_assert_none(slow, pc_m_notify, &m, "PANP-FLOW-3", "a Notify of the question");
    (void)cc;
}

/* Control frames beyond max_outbound_bytes + 64 KiB close the connection
 * as a slow consumer; below that they are queued. */
static void run_control_overflow(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_hello_opts tiny = {.rcvbuf = 4096};
    pc_conn *slow = pc_connect_opts(t, sid, "slow-listener", &tiny);
    pc_register(slow, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register(slow, pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    /* the slow listener wins a conversation: its death will show there */
    pc_conn *watcher = pc_connect(t, sid, "watcher");
    uint64_t won = open_and_send(watcher, t->type2, PANP_STYLE_BIDIRECTIONAL, "q");
    pc_reply(slow, pc_await_notify(slow, won, 1, NULL)->conversation_id, t->type2, "a", NULL);
    pc_await_reply_delivery(watcher, won, NULL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t flood = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_pause(slow, true);
    flood_until_drop(t, s, flood, 1, filler(t, BIG, 'f'));
    /* each open+close queues one ChannelClosed (a control frame) for it */
    pc_chan_match gone = {.chan = won};
    size_t cycles = 0, max_cycles = 200000;
    while (!pc_peek(watcher, pc_m_closed, &gone) && cycles < max_cycles) {
        uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        pc_close_channel(s, ch, 0, NULL, NULL, NULL);
        pc_forget_used(s);
        cycles++;
    }
    if (cycles == max_cycles)
        pc_fail(t, "PANP-FLOW-6", "the slow consumer closed once its control frames pass max_outbound_bytes + 64 KiB",
                "%zu ChannelClosed frames were queued for it and it is still alive", cycles);
    pc_await_closed(watcher, won, 0, PANP_CLOSE_REASON_PEER_GONE, "PANP-FLOW-6");
    pc_note(t, "the slow consumer was closed after %zu ChannelClosed frames", cycles);
    /* a listener-side ChannelClosed is at most 49 bytes with its prefix:
     * fewer than 64 KiB of them means the allowance was not granted */
    if (cycles * 49 < 65536)
        pc_fail(t, "PANP-FLOW-5", "control frames queued up to 64 KiB beyond max_outbound_bytes",
                "closed after %zu ChannelClosed frames (< 64 KiB)", cycles);
    pc_pause(slow, false);
    pc_await_eof(slow, -1, "PANP-FLOW-6", "the slow consumer's connection closed");
}

static const pc_case_def CASES[] = {
    CASE("flow.uni.slow-listener-drops-with-gap", "PANP-FLOW-1 PANP-FLOW-2 PANP-FLOW-7 PANP-CONN-17",
         "a listener that stops reading: the broker starts dropping (bounded queue), the fast listener gets everything in "
         "order, the sender is answered at once; the slow one sees a sequence gap",
         run_uni_slow_listener),
    CASE("flow.uni.frame-size-drop", "PANP-FLOW-2 PANP-FRAME-9",
         "a Notify larger than a listener's max_frame_size is dropped for it alone, not counted, and leaves a gap", run_uni_frame_size),
    CASE("flow.question.frame-size", "PANP-FLOW-3 PANP-CHAN-23",
         "a question too large for one listener: ChannelClosed(SLOW_CONSUMER) for its new conversation, the others continue",
         run_question_frame_size),
    CASE("flow.question.queue-full", "PANP-FLOW-3 PANP-FLOW-7",
         "a question offered to a listener whose queue is full: ChannelClosed(SLOW_CONSUMER) without any Notify",
         run_question_queue_full),
    CASE("flow.winner.frame-size", "PANP-FLOW-4",
         "the winner cannot take the next question: Sent{recipients=0}, ChannelClosed(SLOW_CONSUMER) to winner and sender",
         run_winner_frame_size),
    CASE("flow.control-overflow-closes", "PANP-FLOW-5 PANP-FLOW-6",
         "a stalled listener's control frames: queued up to the 64 KiB allowance, then the connection is closed as a slow "
         "consumer and its peers see PEER_GONE",
         run_control_overflow),
};

PC_TABLE(pc_cases_flow, CASES);
