/* test_flow.c - peer death (close, reset, silence, Goodbye) and
 * NOTIFICATION_RELEASE, shutdown, slow consumers and the memory bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define QMAX 131072
#define ALLOWANCE 65536

/* A sender with one unidirectional and one answered bidirectional channel,
 * and two listeners, in a world of their own (the fixtures below). */
typedef struct scene {
    h_world *w;
    h_conn *s, *lu, *lb;
    uint64_t uni, bidi, conv;
} scene;

static int scene_setup(void **state)
{
    scene *sc = calloc(1, sizeof(*sc));
    assert_non_null(sc);
    void *world;
    world_setup(&world);
    h_world *w = sc->w = world;
    sc->s = h_connect(w, "alice");
    sc->lu = h_connect(w, "alice");
    sc->lb = h_connect(w, "alice");
    h_register(w, sc->lu, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, sc->lb, h_server(), H_TYPE_A, PER, BIDI);
    sc->uni = h_open(w, sc->s, h_server(), H_TYPE_A, PER, UNI);
    sc->bidi = h_open(w, sc->s, h_server(), H_TYPE_A, PER, BIDI);
    h_send(w, sc->s, sc->uni, H_TYPE_A, "u1");
    h_expect(w, sc->lu, PANP_BODY_NOTIFY);
    h_send(w, sc->s, sc->bidi, H_TYPE_A, "q1");
    sc->conv = h_expect(w, sc->lb, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    panp_frame r = h_reply_frame(sc->conv, H_TYPE_A, "a1");
    h_request(w, sc->lb, &r);
    h_expect(w, sc->lb, PANP_BODY_OK);
    h_expect(w, sc->s, PANP_BODY_REPLY_DELIVERY);
    *state = sc;
    return 0;
}

static int scene_teardown(void **state)
{
    scene *sc = *state;
    h_free(sc->w);
    free(sc);
    return 0;
}

static void check_sender_gone(scene *sc)
{
    h_world *w = sc->w;
    expect_release(w, sc->lu, sc->uni, PANP_CLOSE_REASON_PEER_GONE);
    panp_frame *f = h_expect(w, sc->lb, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(f->body.channel_closed.reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_int_equal(f->body.channel_closed.conversation_id, sc->conv);
    assert_true(panp_bytes_is_uuid(f->body.channel_closed.notification_type,
                                   PANP_TYPE_NOTIFICATION_RELEASE));
    h_expect_none(w, sc->lu);
    h_expect_none(w, sc->lb);
    core_stats st;
    core_get_stats(w->core, &st);
    assert_int_equal(st.channels, 0);
    assert_int_equal(st.conversations, 0);
}

/* [PANP-REL-3] [PANP-REL-6] */
static void t_sender_eof(void **state)
{
    scene *sc = *state;
    h_send(sc->w, sc->s, sc->uni, H_TYPE_A, "queued, never read"); /* discarded */
    h_disconnect(sc->w, sc->s, CORE_GONE_EOF);
    check_sender_gone(sc);
}

/* [PANP-REL-3] */
static void t_sender_reset(void **state)
{
    scene *sc = *state;
    h_disconnect(sc->w, sc->s, CORE_GONE_RESET);
    check_sender_gone(sc);
}

/* [PANP-KA-3] [PANP-REL-3] */
static void t_sender_silence(void **state)
{
    scene *sc = *state;
    h_world *w = sc->w;
    for (int i = 0; i < 9; i++) {
        h_advance(w, 10000);
        ping(w, sc->lu);
        ping(w, sc->lb);
    }
    /* exactly the timeout: not yet longer than it */
    h_expect_none(w, sc->lu);
    h_advance(w, 1);
    panp_frame *g = h_expect(w, sc->s, PANP_BODY_GOODBYE);
    assert_int_equal(g->body.goodbye.reason, PANP_GOODBYE_KEEPALIVE_TIMEOUT);
    assert_true(h_ending(sc->s));
    check_sender_gone(sc);
    h_disconnect(w, sc->s, CORE_GONE_FLUSHED);
    h_expect_none(w, sc->lb);
}

/* [PANP-CONN-13] [PANP-REL-3] */
static void t_sender_goodbye(void **state)
{
    scene *sc = *state;
    panp_frame g = {.kind = PANP_BODY_GOODBYE};
    g.body.goodbye.reason = PANP_GOODBYE_CLIENT_DONE;
    h_frame(sc->w, sc->s, &g);
    check_sender_gone(sc);
    h_expect_closing(sc->w, sc->s);
}

/* [PANP-REL-4] */
static void t_winner_dies(void **state)
{
    scene *sc = *state;
    h_world *w = sc->w;
    h_disconnect(w, sc->lb, CORE_GONE_RESET);
    expect_release(w, sc->s, sc->bidi, PANP_CLOSE_REASON_PEER_GONE);
    h_expect_none(w, sc->s);
    req_error(w, sc->s, h_send_frame(sc->bidi, H_TYPE_A, "x"), PANP_ERR_CHANNEL_ALREADY_CLOSED, NULL);
    /* the unidirectional channel is unaffected */
    assert_int_equal(h_send(w, sc->s, sc->uni, H_TYPE_A, "u2")->body.sent.recipients, 1);
}

/* [PANP-REL-5] */
static void t_offered_listener_dies(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, BIDI, false);
    h_conn *s = t.s, *l1 = t.l1, *l2 = t.l2;
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    h_send(w, s, ch, H_TYPE_A, "q");
    h_expect(w, l1, PANP_BODY_NOTIFY);
    uint64_t c2 = h_expect(w, l2, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    h_disconnect(w, l1, CORE_GONE_EOF);
    h_expect_none(w, s); /* it only leaves the conversation */
    panp_frame r = h_reply_frame(c2, H_TYPE_A, "a");
    h_request(w, l2, &r);
    h_expect(w, l2, PANP_BODY_OK);
    h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
}

/* [PANP-REL-5] [PANP-BIDI-3] */
static void t_listener_of_unanswered_question_dies_then_late_listener(void **state)
{
    h_world *w = *state;
    pair q = ask(w, BIDI);
    h_disconnect(w, q.l, CORE_GONE_EOF);
    h_conn *l2 = h_connect(w, "alice");
    h_register(w, l2, h_server(), H_TYPE_A, PER, BIDI);
    panp_frame *n = h_expect(w, l2, PANP_BODY_NOTIFY);
    assert_int_equal(n->body.notify.channel_id, q.ch);
    assert_true(h_payload_is(n->body.notify.payload, "q"));
}

/* [PANP-REL-7] [PANP-REL-8] */
static void t_shutdown(void **state)
{
    scene *sc = *state;
    h_world *w = sc->w;
    h_conn *idle = h_connect(w, "bob");
    h_conn *pre = h_accept(w, CORE_TRANSPORT_UNIX, "carol");   /* AWAIT_PREFACE */
    h_conn *hello = h_accept(w, CORE_TRANSPORT_UNIX, "dave"); /* AWAIT_HELLO */
    h_bytes(w, hello, PANP_PREFACE, PANP_PREFACE_LEN);
    h_conn *lb2 = h_connect(w, "alice"); /* offered an unanswered question */
    h_register(w, lb2, h_server(), H_TYPE_A, PER, BIDI);
    uint64_t q = h_open(w, sc->s, h_server(), H_TYPE_A, PER, BIDI);
    h_send(w, sc->s, q, H_TYPE_A, "open question");
    uint64_t qconv = h_expect(w, lb2, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    h_expect(w, sc->lb, PANP_BODY_NOTIFY);

    core_shutdown(w->core, w->now);
    /* both sides of every channel, then Goodbye */
    for (int i = 0; i < 3; i++) {
        panp_frame *f = h_expect(w, sc->s, PANP_BODY_CHANNEL_CLOSED);
        assert_int_equal(f->body.channel_closed.reason, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
        assert_true(panp_bytes_is_uuid(f->body.channel_closed.notification_type,
                                       PANP_TYPE_NOTIFICATION_RELEASE));
    }
    expect_release(w, sc->lu, sc->uni, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    expect_release(w, sc->lb, sc->bidi, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    expect_release(w, sc->lb, q, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    panp_frame *f = h_expect(w, lb2, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(f->body.channel_closed.conversation_id, qconv);
    assert_int_equal(f->body.channel_closed.reason, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    h_conn *all[] = {sc->s, sc->lu, sc->lb, lb2, idle};
    for (int i = 0; i < 5; i++) {
        panp_frame *g = h_expect(w, all[i], PANP_BODY_GOODBYE);
        assert_int_equal(g->body.goodbye.reason, PANP_GOODBYE_SERVER_SHUTDOWN);
        h_expect_none(w, all[i]);
        assert_true(h_ending(all[i]));
    }
    assert_int_equal(h_io(pre), CORE_IO_CLOSE); /* closed, nothing sent */
    panp_frame *hg = h_expect(w, hello, PANP_BODY_GOODBYE);
    assert_int_equal(hg->body.goodbye.reason, PANP_GOODBYE_SERVER_SHUTDOWN);
    assert_true(h_ending(hello));
    /* requests after shutdown are ignored */
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, idle, &p);
    h_expect_none(w, idle);
    for (int i = 0; i < 5; i++) h_disconnect(w, all[i], CORE_GONE_FLUSHED);
    h_disconnect(w, pre, CORE_GONE_FLUSHED);
    h_disconnect(w, hello, CORE_GONE_FLUSHED);
    assert_int_equal(core_conn_count(w->core), 0);
}

/* ---- slow consumers */

static int small_world(void **state)
{
    h_world *w = h_new();
    w->cfg->limits.max_frame_size = 4096;
    w->cfg->limits.max_outbound_bytes = 131072; /* the smallest the SPEC allows */
    h_start(w);
    *state = w;
    return 0;
}

static char *payload(size_t n, char c)
{
    static char buf[4096];
    memset(buf, c, n);
    buf[n] = 0;
    return buf;
}

/* [PANP-FLOW-2] [PANP-FLOW-6] */
static void t_slow_unidirectional_drops_with_gap(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, UNI, false);
    h_conn *s = t.s, *slow = t.l1, *fast = t.l2;
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    int full_at = 0;
    const int n = 200;
    for (int i = 1; i <= n; i++) {
        panp_frame *sent = h_send(w, s, ch, H_TYPE_A, payload(1000, 'a'));
        if (sent->body.sent.recipients == 1 && !full_at) full_at = i;
        /* the fast one reads everything, every time */
        panp_frame *nf = h_expect(w, fast, PANP_BODY_NOTIFY);
        assert_int_equal(nf->body.notify.sequence, i);
        assert_true(core_conn_queued(slow->cc) <= QMAX);
    }
    assert_true(full_at > 100 && full_at < 140);
    /* the slow one reads: what fitted, then a gap */
    uint64_t last = 0;
    panp_frame *f;
    while ((f = h_next(w, slow)) != NULL) {
        assert_int_equal(f->kind, PANP_BODY_NOTIFY);
        assert_int_equal(f->body.notify.sequence, last + 1);
        last = f->body.notify.sequence;
    }
    assert_int_equal(last, (uint64_t)full_at - 1);
    h_send(w, s, ch, H_TYPE_A, "after");
    f = h_expect(w, slow, PANP_BODY_NOTIFY);
    assert_int_equal(f->body.notify.sequence, n + 1); /* the gap shows */
    assert_int_equal(h_io(slow), CORE_IO_READ);        /* still connected */
    core_stats st;
    core_get_stats(w->core, &st);
    assert_true(st.notifies_dropped >= (uint64_t)(n - full_at));
}

/* [PANP-FLOW-3] [PANP-FLOW-4] */
static void t_slow_bidirectional_listener(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    h_conn *slow = h_connect(w, "alice");
    h_conn *ok = h_connect(w, "alice");
    h_register(w, slow, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, slow, h_server(), H_TYPE_A, PER, BIDI);
    h_register(w, ok, h_server(), H_TYPE_A, PER, BIDI);
    /* fill the slow listener's queue with unidirectional traffic */
    uint64_t u = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    for (int i = 0; i < 50; i++) h_send(w, s, u, H_TYPE_A, payload(3000, 'u'));
    for (int i = 0; i < 10; i++) h_send(w, s, u, H_TYPE_A, payload(1000, 'u'));
    uint64_t b = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    panp_frame *sent = h_send(w, s, b, H_TYPE_A, payload(1000, 'q'));
    assert_int_equal(sent->body.sent.recipients, 1);
    panp_frame *n = h_expect(w, ok, PANP_BODY_NOTIFY);
    uint64_t conv = n->body.notify.conversation_id;
    /* the slow listener is told at once instead of the question */
    panp_frame *f;
    while ((f = h_next(w, slow)) != NULL && f->kind == PANP_BODY_NOTIFY)
        assert_int_equal(f->body.notify.channel_id, u);
    assert_non_null(f);
    assert_int_equal(f->kind, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(f->body.channel_closed.channel_id, b);
    assert_int_equal(f->body.channel_closed.reason, PANP_CLOSE_REASON_SLOW_CONSUMER);
    assert_true(f->body.channel_closed.conversation_id != 0);
    /* the other listener wins; the winner then gets slow */
    panp_frame r = h_reply_frame(conv, H_TYPE_A, "a");
    h_request(w, ok, &r);
    h_expect(w, ok, PANP_BODY_OK);
    h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
    h_register(w, ok, h_server(), H_TYPE_A, PER, UNI);
    for (int i = 0; i < 50; i++) h_send(w, s, u, H_TYPE_A, payload(3000, 'v'));
    for (int i = 0; i < 10; i++) h_send(w, s, u, H_TYPE_A, payload(1000, 'v'));
    sent = h_send(w, s, b, H_TYPE_A, payload(1000, 'w'));
    assert_int_equal(sent->body.sent.recipients, 0);
    panp_frame *c = expect_closed(w, s, b, PANP_CLOSE_REASON_SLOW_CONSUMER);
    assert_int_equal(c->body.channel_closed.conversation_id, 0);
    while ((f = h_next(w, ok)) != NULL && f->kind == PANP_BODY_NOTIFY) continue;
    assert_non_null(f);
    assert_int_equal(f->kind, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(f->body.channel_closed.reason, PANP_CLOSE_REASON_SLOW_CONSUMER);
    assert_int_equal(f->body.channel_closed.conversation_id, conv);
}

/* [PANP-FLOW-5] */
static void t_control_overflow_closes_connection(void **state)
{
    h_world *w = *state;
    h_conn *hog = h_connect(w, "alice"); /* sends, never reads */
    h_conn *l = h_connect(w, "alice");
    h_register(w, l, h_server(), H_TYPE_A, PER, UNI);
    uint64_t ch = h_open(w, hog, h_server(), H_TYPE_A, PER, UNI);
    int n = 0;
    while (h_io(hog) & CORE_IO_READ) {
        /* each answered by an Error: control frames, never dropped */
        panp_frame f = h_send_frame(12345, H_TYPE_A, "x");
        h_request(w, hog, &f);
        assert_true(core_conn_queued(hog->cc) <= QMAX + ALLOWANCE);
        assert_true(++n < 10000);
    }
    assert_true(n > 1000);
    core_stats st;
    core_get_stats(w->core, &st);
    assert_int_equal(st.slow_consumer_closes, 1);
    /* its peers see it gone */
    panp_frame *f = h_expect(w, l, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(f->body.channel_closed.channel_id, ch);
    assert_int_equal(f->body.channel_closed.reason, PANP_CLOSE_REASON_PEER_GONE);
    /* its backlog was freed; Goodbye(SLOW_CONSUMER) is its last frame */
    assert_true(core_conn_queued(hog->cc) < 1024);
    panp_frame *last = NULL, *g;
    while ((g = h_next(w, hog)) != NULL) last = g;
    assert_non_null(last);
    assert_int_equal(last->kind, PANP_BODY_GOODBYE);
    assert_int_equal(last->body.goodbye.reason, PANP_GOODBYE_SLOW_CONSUMER);
    assert_true(h_ending(hog));
}

/* [PANP-FLOW-1] */
static void t_memory_bounded_under_flood(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    h_conn *ls[8];
    for (int i = 0; i < 8; i++) {
        ls[i] = h_connect(w, "alice");
        h_register(w, ls[i], h_server(), H_TYPE_A, PER, UNI);
        h_register(w, ls[i], h_server(), H_TYPE_A, PER, BIDI);
    }
    uint64_t u = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    for (int i = 0; i < 500; i++) {
        panp_frame f = h_send_frame(u, H_TYPE_A, payload(3000, 'x'));
        h_request(w, s, &f);
        h_discard(w, s); /* the sender reads its results */
        for (int j = 0; j < 8; j++) assert_true(core_conn_queued(ls[j]->cc) <= QMAX);
        if (i % 50 == 0) {
            uint64_t b = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
            panp_frame q = h_send_frame(b, H_TYPE_A, "q");
            h_request(w, s, &q);
            panp_frame cl = h_close_frame(PANP_CLOSE_SIDE_CHANNEL, b, NULL, NULL);
            h_request(w, s, &cl);
            h_discard(w, s);
        }
        for (int j = 0; j < 8; j++) assert_true(core_conn_queued(ls[j]->cc) <= QMAX + ALLOWANCE);
    }
    core_stats st;
    core_get_stats(w->core, &st);
    assert_int_equal(st.conns, 9);
}

/* [PANP-FRAME-7] [PANP-FLOW-2] */
static void t_notify_too_large_for_listener(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, UNI, true);
    h_conn *s = t.s, *small = t.l1, *big = t.l2;
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    char *p = filled(5000, 'z');
    assert_int_equal(h_send(w, s, ch, H_TYPE_A, p)->body.sent.recipients, 1);
    free(p);
    h_expect(w, big, PANP_BODY_NOTIFY);
    h_expect_none(w, small);
    assert_int_equal(h_send(w, s, ch, H_TYPE_A, "fits")->body.sent.recipients, 2);
    assert_int_equal(h_expect(w, small, PANP_BODY_NOTIFY)->body.notify.sequence, 2);
}

int main(void)
{
#define SCENE(f) cmocka_unit_test_setup_teardown(f, scene_setup, scene_teardown)
#define SMALL(f) cmocka_unit_test_setup_teardown(f, small_world, world_teardown)
    const struct CMUnitTest tests[] = {
        SCENE(t_sender_eof),
        SCENE(t_sender_reset),
        SCENE(t_sender_silence),
        SCENE(t_sender_goodbye),
        SCENE(t_winner_dies),
        T(t_offered_listener_dies),
        T(t_listener_of_unanswered_question_dies_then_late_listener),
        SCENE(t_shutdown),
        SMALL(t_slow_unidirectional_drops_with_gap),
        SMALL(t_slow_bidirectional_listener),
        SMALL(t_control_overflow_closes_connection),
        SMALL(t_memory_bounded_under_flood),
        T(t_notify_too_large_for_listener),
    };
    return cmocka_run_group_tests_name("panpd-core-flow", tests, NULL, NULL);
}
