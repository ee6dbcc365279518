/* cases/c_death.c - peer death by clean close, reset and silence, each
 * producing ChannelClosed(PEER_GONE, NOTIFICATION_RELEASE); keepalive and
 * the Ping/Pong barrier (SPEC 14.2, 16). */
#include "common.h"

typedef enum { DIE_CLOSE, DIE_RESET, DIE_SILENCE } death_kind;

static const char *const DEATH_NAME[] = {"closes (FIN)", "resets (SO_LINGER 0)", "goes silent"};

/* Makes c die the given way and returns the time of its last frame. */
static int64_t kill_peer(pc_conn *c, death_kind how)
{
    int64_t last = c->last_tx_us;
    if (how == DIE_CLOSE) pc_close(c);
    else if (how == DIE_RESET) pc_abort(c);
    else pc_silence(c);
    return how == DIE_SILENCE ? last : pc_now_us();
}

/* How long the survivors may wait for the news. */
static int news_wait(pc_t *t, const pc_conn *dying, death_kind how)
{
    return how == DIE_SILENCE ? pc_scaled_ms(t, dying->limits.keepalive_timeout_ms) + 2 * pc_wait_ms(t) : pc_wait_ms(t);
}

/* A silent connection is closed by the broker: Goodbye(KEEPALIVE_TIMEOUT),
 * EOF, no sooner than keepalive_timeout_ms after its last frame. */
static void check_silent_death(pc_t *t, pc_conn *c, int64_t last_us)
{
    uint32_t timeout = c->limits.keepalive_timeout_ms;
    pc_await_eof(c, pc_scaled_ms(t, timeout) + 2 * pc_wait_ms(t), "PANP-KA-4",
                 pc_sprintf(t, "the broker closing a connection silent for %u ms", timeout));
    int64_t after = (c->eof_us - last_us) / 1000;
    if (after < (int64_t)timeout)
        pc_fail(t, "PANP-KA-5", pc_sprintf(t, "no keepalive close before %u ms of silence", timeout), "closed after %" PRId64 " ms",
                after);
    panp_body_kind gb = PANP_BODY_GOODBYE;
    const panp_frame *g = pc_try_await(c, pc_m_kind, &gb, 0);
    if (!g || g->body.goodbye.reason != PANP_GOODBYE_KEEPALIVE_TIMEOUT)
        pc_fail(t, "PANP-KA-4", "Goodbye(KEEPALIVE_TIMEOUT) before the close", "%s", g ? pc_frame_text(t, g) : "none");
}

static void check_release(pc_t *t, const panp_channel_closed *cc, const char *req)
{
    if (!panp_bytes_is_uuid(cc->notification_type, PANP_TYPE_NOTIFICATION_RELEASE) || cc->payload.len)
        pc_fail(t, req, "ChannelClosed(PEER_GONE) with type NOTIFICATION_RELEASE and no payload", "type %zu bytes, payload %zu",
                cc->notification_type.len, cc->payload.len);
}

/* The sender dies with a unidirectional channel, an unanswered question
 * and an acquired conversation: every listener learns it. */
static void run_sender_dies(pc_t *t)
{
    death_kind how = (death_kind)(uintptr_t)t->def->arg;
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg uni = listen_on(t, sid, "uni-listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_reg offered = listen_on(t, sid, "offered", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_reg winner = listen_on(t, sid, "winner", pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t c1 = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "uni");
    uint64_t c2 = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "unanswered");
    uint64_t c3 = open_and_send(s, t->type2, PANP_STYLE_BIDIRECTIONAL, "answered");
    pc_await_notify(uni.c, c1, 1, NULL);
    uint64_t v2 = pc_await_notify(offered.c, c2, 1, NULL)->conversation_id;
    uint64_t v3 = pc_await_notify(winner.c, c3, 1, NULL)->conversation_id;
    pc_reply(winner.c, v3, t->type2, "won", NULL);
    pc_await_reply_delivery(s, c3, NULL);
    pc_note(t, "the sender %s", DEATH_NAME[how]);
    int64_t last = kill_peer(s, how);
    int wait = news_wait(t, s, how);
    struct {
        pc_conn *c;
        uint64_t ch, conv;
    } who[] = {{uni.c, c1, 0}, {offered.c, c2, v2}, {winner.c, c3, v3}};
    for (size_t i = 0; i < 3; i++) {
        pc_chan_match m = {.chan = who[i].ch, .conv = who[i].conv};
        const panp_frame *f = pc_await(who[i].c, pc_m_closed, &m, wait, "PANP-REL-3",
                                       pc_sprintf(t, "ChannelClosed(PEER_GONE) of channel %" PRIu64 " on %s", who[i].ch, who[i].c->label));
        if (f->body.channel_closed.reason != PANP_CLOSE_REASON_PEER_GONE)
            pc_fail(t, "PANP-REL-3", "reason PEER_GONE", "%s", pc_frame_text(t, f));
        check_release(t, &f->body.channel_closed, "PANP-REL-3");
    }
    if (how == DIE_SILENCE) check_silent_death(t, s, last);
    else if ((pc_now_us() - last) / 1000 >= (int64_t)s->limits.keepalive_timeout_ms)
        pc_fail(t, "PANP-REL-6", "peer-gone processing as soon as the close is seen", "it took longer than the keepalive timeout");
}

/* The winner of a conversation dies: the sender learns it; an offered
 * listener's death, in contrast, is not reported. */
static void run_winner_dies(pc_t *t)
{
    death_kind how = (death_kind)(uintptr_t)t->def->arg;
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg w = listen_on(t, sid, "winner", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "q1");
    uint64_t conv = pc_await_notify(w.c, ch, 1, NULL)->conversation_id;
    pc_reply(w.c, conv, t->type, "a1", NULL);
    pc_await_reply_delivery(s, ch, NULL);
    pc_note(t, "the winner %s", DEATH_NAME[how]);
    int64_t last = kill_peer(w.c, how);
    pc_chan_match m = {.chan = ch};
    const panp_frame *f = pc_await(s, pc_m_closed, &m, news_wait(t, w.c, how), "PANP-REL-4",
                                   "ChannelClosed(PEER_GONE) to the sender");
    if (f->body.channel_closed.reason != PANP_CLOSE_REASON_PEER_GONE)
        pc_fail(t, "PANP-REL-4", "reason PEER_GONE", "%s", pc_frame_text(t, f));
    check_release(t, &f->body.channel_closed, "PANP-REL-4");
    if (how == DIE_SILENCE) check_silent_death(t, w.c, last);
    pc_notify_err(s, ch, t->type, "anyone?", PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11");
}

static void run_offered_dies(pc_t *t)
{
    death_kind how = (death_kind)(uintptr_t)t->def->arg;
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg a = listen_on(t, sid, "offered-dies", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_reg b = listen_on(t, sid, "offered-stays", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "q");
    pc_await_notify(a.c, ch, 1, NULL);
    uint64_t conv = pc_await_notify(b.c, ch, 1, NULL)->conversation_id;
    kill_peer(a.c, how);
    pc_conn *watch = pc_connect(t, sid, "same-user");
    await_listed(watch, t->type, 1, "PANP-REG-11"); /* the broker has seen the death */
    pc_barrier(s, NULL);
    pc_assert_no_closed(s, ch, "PANP-REL-5");
    pc_reply(b.c, conv, t->type, "I am still here", "PANP-REL-5");
    pc_await_reply_delivery(s, ch, "PANP-REL-5");
}

/* ---- keepalive ----------------------------------------------------------------- */

static void run_keepalive_alive(pc_t *t)
{
    pc_conn *alive = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "pinging");
    pc_conn *silent = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 1), "silent");
    int64_t last = kill_peer(silent, DIE_SILENCE);
    check_silent_death(t, silent, last);
    /* the pinging connection lived as long and is still served */
    pc_barrier(alive, "PANP-KA-5");
    if (alive->eof) pc_fail(t, "PANP-KA-5", "a connection that sends frames is not closed", "it was closed");
}

static void run_pong_barrier(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg l = listen_on(t, sid, "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    for (uint64_t q = 1; q <= 50; q++) {
        panp_frame f = {.kind = PANP_BODY_SEND, .body.send = {ch, pc_uuid(t->type), pc_s("barrier")}};
        pc_req(s, &f); /* not awaited: the Pong must still come after the Sent */
        pc_barrier(s, "PANP-KA-3");
        pc_barrier(l.c, "PANP-KA-3");
        notify_now(l.c, ch, q, "PANP-KA-3");
    }
}

/* ---- shutdown (the profile's shutdown_command stops the broker) ---------- */

static bool m_goodbye(const panp_frame *f, const void *unused)
{
    (void)unused;
    return f->kind == PANP_BODY_GOODBYE;
}

/* Waits for the connection's Goodbye(SERVER_SHUTDOWN) and checks that the
 * given ChannelClosed frames came before it. */
static void expect_shutdown_on(pc_t *t, pc_conn *c, const uint64_t *chans, size_t n)
{
    int wait = pc_wait_ms(t) * 2;
    const panp_frame *g = pc_await(c, m_goodbye, NULL, wait, "PANP-REL-8", pc_sprintf(t, "Goodbye(SERVER_SHUTDOWN) on %s", c->label));
    if (g->body.goodbye.reason != PANP_GOODBYE_SERVER_SHUTDOWN)
        pc_fail(t, "PANP-REL-8", "Goodbye(SERVER_SHUTDOWN)", "%s", pc_frame_text(t, g));
    for (size_t i = 0; i < n; i++) {
        pc_chan_match m = {.chan = chans[i]};
        const panp_frame *cc = pc_find_received(c, pc_m_closed, &m);
        if (!cc || pc_rx_index(c, cc) > pc_rx_index(c, g))
            pc_fail(t, "PANP-REL-7", pc_sprintf(t, "ChannelClosed(SERVER_SHUTDOWN) for channel %" PRIu64 " before the Goodbye", chans[i]),
                    "%s", cc ? "after the Goodbye" : "none");
        if (cc->body.channel_closed.reason != PANP_CLOSE_REASON_SERVER_SHUTDOWN)
            pc_fail(t, "PANP-REL-7", "reason SERVER_SHUTDOWN", "%s", pc_frame_text(t, cc));
        check_release(t, &cc->body.channel_closed, "PANP-REL-7");
        pc_try_await(c, pc_m_closed, &m, 0);
    }
    pc_await_eof(c, pc_wait_ms(t) * 2, "PANP-REL-8", "the broker closing the connection after its Goodbye");
}

static void run_shutdown(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg uni = listen_on(t, sid, "uni-listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_reg off = listen_on(t, sid, "offered", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_reg win = listen_on(t, sid, "winner", pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *idle = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "idle");
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t c1 = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "uni");
    uint64_t c2 = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "unanswered");
    uint64_t c3 = open_and_send(s, t->type2, PANP_STYLE_BIDIRECTIONAL, "answered");
    pc_await_notify(uni.c, c1, 1, NULL);
    pc_await_notify(off.c, c2, 1, NULL);
    pc_reply(win.c, pc_await_notify(win.c, c3, 1, NULL)->conversation_id, t->type2, "won", NULL);
    pc_await_reply_delivery(s, c3, NULL);
    pc_barrier(idle, NULL);
    pc_note(t, "running the profile's shutdown_command: %s", t->opt->profile->shutdown_command);
    if (system(t->opt->profile->shutdown_command) != 0) pc_error(t, "shutdown_command failed");
    /* A request read after shutdown began: SHUTTING_DOWN, or no answer at
     * all when the Goodbye was already queued. */
    pc_chan_match m1 = {.chan = c1};
    pc_await(s, pc_m_closed, &m1, pc_wait_ms(t) * 2, "PANP-REL-7", "ChannelClosed(SERVER_SHUTDOWN) to the sender");
    panp_frame reg = {.kind = PANP_BODY_REGISTER,
                      .body.register_listener = pc_reg_args(pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL)};
    uint64_t rid = pc_req(s, &reg);
    pc_conn *all[] = {uni.c, off.c, win.c, s};
    const uint64_t chans[][3] = {{c1}, {c2}, {c3}, {c1, c2, c3}};
    const size_t nch[] = {1, 1, 1, 3};
    for (size_t i = 0; i < 4; i++) expect_shutdown_on(t, all[i], chans[i], nch[i]);
    expect_shutdown_on(t, idle, NULL, 0);
    const panp_frame *r = pc_peek(s, pc_m_rid, &rid);
    if (r) pc_check_error(s, r, PANP_ERR_SHUTTING_DOWN, false, "PANP-REL-9", NULL);
}

static const pc_case_def CASES[] = {
    CASE_FEAT("shutdown.release-and-goodbye", "PANP-REL-7 PANP-REL-8 PANP-REL-9 PANP-REL-1",
              "broker shutdown: every open channel's sender and listeners get ChannelClosed(SERVER_SHUTDOWN, RELEASE), then "
              "every connection Goodbye(SERVER_SHUTDOWN) and the close (run last: it stops the broker)",
              "shutdown", run_shutdown),
    CASE_ARG("death.sender.close", "PANP-REL-3 PANP-REL-6 PANP-REL-1 PANP-CHAN-23",
             "the sender closes its connection: uni, offered and winning listeners get ChannelClosed(PEER_GONE, RELEASE) at once",
             run_sender_dies, (const void *)(uintptr_t)DIE_CLOSE),
    CASE_ARG("death.sender.reset", "PANP-REL-3 PANP-REL-6 PANP-REL-1",
             "the sender's connection is reset (SO_LINGER 0): every listener gets ChannelClosed(PEER_GONE, RELEASE)",
             run_sender_dies, (const void *)(uintptr_t)DIE_RESET),
    CASE_ARG("death.sender.silence", "PANP-REL-3 PANP-KA-4 PANP-KA-5 PANP-REL-1",
             "the sender goes silent: after keepalive_timeout_ms, Goodbye(KEEPALIVE_TIMEOUT), close, PEER_GONE to listeners",
             run_sender_dies, (const void *)(uintptr_t)DIE_SILENCE),
    CASE_ARG("death.winner.close", "PANP-REL-4 PANP-REL-6 PANP-CHAN-11",
             "the winner closes its connection: the sender gets ChannelClosed(PEER_GONE, RELEASE); the channel is closed",
             run_winner_dies, (const void *)(uintptr_t)DIE_CLOSE),
    CASE_ARG("death.winner.reset", "PANP-REL-4 PANP-REL-6",
             "the winner's connection is reset: the sender gets ChannelClosed(PEER_GONE, RELEASE)", run_winner_dies,
             (const void *)(uintptr_t)DIE_RESET),
    CASE_ARG("death.winner.silence", "PANP-REL-4 PANP-KA-4 PANP-KA-5",
             "the winner goes silent: keepalive close, then ChannelClosed(PEER_GONE, RELEASE) to the sender", run_winner_dies,
             (const void *)(uintptr_t)DIE_SILENCE),
    CASE_ARG("death.offered.close", "PANP-REL-5",
             "an offered listener closes: nothing to the sender, the other offered listener can still win", run_offered_dies,
             (const void *)(uintptr_t)DIE_CLOSE),
    CASE_ARG("death.offered.reset", "PANP-REL-5",
             "an offered listener's connection is reset: nothing to the sender, the question stays open", run_offered_dies,
             (const void *)(uintptr_t)DIE_RESET),
    CASE("keepalive.pinging-connection-survives", "PANP-KA-5 PANP-KA-4 PANP-KA-2",
         "a silent connection is closed after keepalive_timeout_ms while one that pings stays served", run_keepalive_alive),
    CASE("keepalive.pong-is-a-barrier", "PANP-KA-3 PANP-KA-2",
         "50 times: Send (not awaited), Ping on the sender, Ping on the listener: the Notify is always before the listener's Pong",
         run_pong_barrier),
};

PC_TABLE(pc_cases_death, CASES);
