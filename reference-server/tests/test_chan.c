/* test_chan.c - channels: opening rights, the delivery table end to end,
 * type enforcement, sequence numbers and FIFO, close and discard, and the
 * bidirectional conversation state machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- opening */

/* [PANP-CHAN-2] [PANP-CHAN-3] [PANP-CHAN-4] */
static void t_open_rights(void **state)
{
    h_world *w = *state;
    h_conn *bob = h_connect(w, "bob"); /* not a sender */
    req_error(w, bob, h_open_frame(h_server(), H_TYPE_A, PER, UNI), PANP_ERR_ACCESS_DENIED, NULL);
    /* printer admins may open on their printer only */
    h_conn *pa = h_connect(w, "padmin");
    h_open(w, pa, h_printer("P1"), H_TYPE_A, ALL, UNI);
    req_error(w, pa, h_open_frame(h_printer("P2"), H_TYPE_A, PER, UNI), PANP_ERR_ACCESS_DENIED, NULL);
    /* senders: PER_USER anywhere, ALL_USERS nowhere they do not administer */
    h_conn *s = h_connect(w, "sender");
    h_open(w, s, h_printer("P2"), H_TYPE_A, PER, BIDI);
    req_error(w, s, h_open_frame(h_server(), H_TYPE_A, ALL, UNI), PANP_ERR_ACCESS_DENIED,
              "open_channel.user_filter");
    /* trusted components may open */
    h_conn *sp = h_connect(w, "spooler");
    h_open(w, sp, h_server(), H_TYPE_A, PER, UNI);
    /* on_behalf_of: trusted only */
    panp_frame f = h_open_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.open_channel.has_on_behalf_of = true;
    f.body.open_channel.on_behalf_of = (panp_job_context){.job_id = 9, .job_owner = "bob"};
    req_error(w, s, f, PANP_ERR_ACCESS_DENIED, "open_channel.on_behalf_of");
    h_request(w, sp, &f);
    h_expect(w, sp, PANP_BODY_CHANNEL_OPENED);
}

/* [PANP-REG-2] [PANP-REG-3] [PANP-WIRE-15] */
static void t_open_bad_arguments(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "sender");
    static const uint8_t nil[16];
    h_reject_both(w, s, h_open_frame(h_server(), PANP_TYPE_NOTIFICATION_RELEASE, PER, UNI),
                  PANP_ERR_INVALID_ARGUMENT, "open_channel.notification_type");
    h_reject_both(w, s, h_open_frame(h_server(), nil, PER, UNI), PANP_ERR_INVALID_ARGUMENT,
                  "open_channel.notification_type");
    req_error(w, s, h_open_frame(h_printer("Nope"), H_TYPE_A, PER, UNI), PANP_ERR_NOT_FOUND,
              "open_channel.target.printer");
    h_reject_both(w, s, h_open_frame(h_server(), H_TYPE_A, 0, UNI), PANP_ERR_INVALID_ARGUMENT,
                  "open_channel.user_filter");
    h_reject_both(w, s, h_open_frame(h_server(), H_TYPE_A, PER, 0), PANP_ERR_INVALID_ARGUMENT,
                  "open_channel.style");
    h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
}

/* [PANP-CHAN-5] */
static void t_channel_limits(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_channels = 2;
    w->cfg->limits.max_channels_per_user = 3;
    h_start(w);
    h_conn *s = h_connect(w, "sender");
    h_conn *s2 = h_connect(w, "sender");
    uint64_t c1 = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    panp_frame *e = req_error(w, s, h_open_frame(h_server(), H_TYPE_A, PER, UNI),
                              PANP_ERR_RESOURCE_EXHAUSTED, NULL);
    assert_non_null(strstr(e->body.error.message, "per connection"));
    h_open(w, s2, h_server(), H_TYPE_A, PER, UNI);
    e = req_error(w, s2, h_open_frame(h_server(), H_TYPE_A, PER, UNI), PANP_ERR_RESOURCE_EXHAUSTED, NULL);
    assert_non_null(strstr(e->body.error.message, "per user"));
    /* closing gives the quota back */
    expect_outcome(close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, c1, NULL, NULL), PANP_CLOSE_OUTCOME_CLOSED);
    h_open(w, s2, h_server(), H_TYPE_A, PER, UNI);
    h_free(w);
}

/* [PANP-CHAN-7] [PANP-CHAN-8] [PANP-CHAN-9] */
static void t_channel_ids_unique_and_scoped(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "sender");
    h_conn *s2 = h_connect(w, "sender");
    uint64_t a = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    uint64_t b = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    uint64_t c = h_open(w, s2, h_server(), H_TYPE_A, PER, UNI);
    assert_true(a != b && b != c && a != c);
    /* another connection's channel looks never issued */
    req_error(w, s2, h_send_frame(a, H_TYPE_A, "x"), PANP_ERR_CHANNEL_NOT_OPENED, "send.channel_id");
    req_error(w, s, h_send_frame(12345, H_TYPE_A, "x"), PANP_ERR_CHANNEL_NOT_OPENED, "send.channel_id");
    req_error(w, s, h_send_frame(b + 1, H_TYPE_A, "x"), PANP_ERR_CHANNEL_NOT_OPENED, NULL);
    expect_outcome(close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, a, NULL, NULL), PANP_CLOSE_OUTCOME_CLOSED);
    req_error(w, s, h_send_frame(a, H_TYPE_A, "x"), PANP_ERR_CHANNEL_ALREADY_CLOSED, "send.channel_id");
    /* closing twice: already closed */
    panp_frame *r = close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, a, NULL, NULL);
    assert_int_equal(r->kind, PANP_BODY_ERROR);
    assert_int_equal(r->body.error.code, PANP_ERR_CHANNEL_ALREADY_CLOSED);
    r = close_req(w, s2, PANP_CLOSE_SIDE_CHANNEL, b, NULL, NULL);
    assert_int_equal(r->body.error.code, PANP_ERR_CHANNEL_NOT_OPENED);
    /* a new channel never reuses an id */
    uint64_t d = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    assert_true(d != a && d != b);
}

/* ---- sending and delivery */

/* [PANP-CHAN-11] [PANP-ERR-5] */
static void t_send_type_mismatch(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "sender");
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    req_error(w, s, h_send_frame(ch, H_TYPE_B, "x"), PANP_ERR_TYPE_MISMATCH, "send.notification_type");
    /* NOTIFICATION_RELEASE is never the channel's type */
    for (int path = 0; path < 2; path++) {
        panp_frame f = h_send_frame(ch, PANP_TYPE_NOTIFICATION_RELEASE, "x");
        if (path == 0) h_request_raw(w, s, &f);
        else h_inject(w, s, &f);
        panp_frame *e = h_expect(w, s, PANP_BODY_ERROR);
        assert_true(e->body.error.code == PANP_ERR_TYPE_MISMATCH ||
                    e->body.error.code == PANP_ERR_INVALID_ARGUMENT);
        assert_string_equal(e->body.error.field, "send.notification_type");
        assert_false(e->body.error.fatal);
    }
    /* the channel still works */
    assert_int_equal(h_send(w, s, ch, H_TYPE_A, "x")->body.sent.sequence, 1);
}

/* [PANP-CHAN-12] [PANP-CHAN-13] [PANP-CHAN-14] [PANP-ORD-1] */
static void t_sequence_fifo_and_recipients(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, UNI, false);
    h_conn *s = t.s, *l1 = t.l1, *l2 = t.l2;
    h_handle r1 = t.h1;
    h_register(w, s, h_server(), H_TYPE_A, PER, UNI); /* on the opener's own connection */
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    for (int i = 1; i <= 5; i++) {
        char p[8];
        snprintf(p, sizeof(p), "m%d", i);
        panp_frame *sent = h_send(w, s, ch, H_TYPE_A, p);
        assert_int_equal(sent->body.sent.sequence, i);
        assert_int_equal(sent->body.sent.recipients, 2);
    }
    for (int i = 1; i <= 5; i++) {
        char p[8];
        snprintf(p, sizeof(p), "m%d", i);
        panp_frame *n = expect_notify(w, l1, ch, (uint64_t)i, p);
        assert_true(h_bytes_eq(n->body.notify.registration, r1.b, 16));
        assert_int_equal(n->body.notify.conversation_id, 0);
        assert_int_equal(n->body.notify.style, UNI);
        assert_string_equal(n->body.notify.sender.user, "alice");
        assert_int_equal(n->body.notify.target.kind, PANP_TARGET_SERVER);
        assert_true(panp_bytes_is_uuid(n->body.notify.notification_type, H_TYPE_A));
        expect_notify(w, l2, ch, (uint64_t)i, p);
    }
    /* never to the opener's own connection */
    h_expect_none(w, s);
    /* a second channel has its own sequence */
    uint64_t ch2 = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    assert_int_equal(h_send(w, s, ch2, H_TYPE_A, "x")->body.sent.sequence, 1);
}

/* [PANP-CHAN-12] */
static void t_no_listeners_is_success(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    panp_frame *sent = h_send(w, s, ch, H_TYPE_A, "anyone?");
    assert_int_equal(sent->body.sent.sequence, 1);
    assert_int_equal(sent->body.sent.recipients, 0);
}

/* [PANP-CHAN-14] */
static void t_client_state_echoed(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    h_conn *l = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.register_listener.client_state = (panp_bytes){(const uint8_t *)"cookie-42", 9};
    registered(w, l, f);
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    h_send(w, s, ch, H_TYPE_A, "x");
    panp_frame *n = expect_notify(w, l, ch, 1, "x");
    assert_true(h_payload_is(n->body.notify.client_state, "cookie-42"));
}

/* [PANP-DLV-1] [PANP-DLV-2] [PANP-DLV-3] [PANP-DLV-4] [PANP-DLV-5] [PANP-DLV-6] */
static void t_delivery_table_end_to_end(void **state)
{
    h_world *w = *state;
    h_conn *alice_s = h_connect(w, "alice"); /* sender */
    h_conn *alice_l = h_connect(w, "alice");
    h_conn *bob = h_connect(w, "bob");
    h_conn *padmin = h_connect(w, "padmin");
    h_conn *padmin_all = h_connect(w, "padmin");
    h_conn *root = h_connect(w, "root");
    h_register(w, alice_l, h_printer("P1"), H_TYPE_A, PER, UNI);
    h_register(w, bob, h_printer("P1"), H_TYPE_A, PER, UNI);
    h_register(w, padmin, h_printer("P1"), H_TYPE_A, PER, UNI);     /* admin, PER_USER reg */
    h_register(w, padmin_all, h_printer("P1"), H_TYPE_A, ALL, UNI); /* admin, ALL_USERS reg */
    h_register(w, root, h_server(), H_TYPE_A, ALL, UNI);            /* server target only */

    /* PER_USER from alice: alice (same user), padmin (admin, both regs); not bob */
    uint64_t ch = h_open(w, alice_s, h_printer("P1"), H_TYPE_A, PER, UNI);
    assert_int_equal(h_send(w, alice_s, ch, H_TYPE_A, "per")->body.sent.recipients, 3);
    expect_notify(w, alice_l, ch, 1, "per");
    expect_notify(w, padmin, ch, 1, "per");
    expect_notify(w, padmin_all, ch, 1, "per");
    h_expect_none(w, bob);
    h_expect_none(w, root); /* a server registration does not see printer channels */

    /* ALL_USERS from the printer admin: everyone registered on P1 */
    h_conn *pa_s = h_connect(w, "padmin");
    uint64_t ch2 = h_open(w, pa_s, h_printer("P1"), H_TYPE_A, ALL, UNI);
    assert_int_equal(h_send(w, pa_s, ch2, H_TYPE_A, "all")->body.sent.recipients, 4);
    expect_notify(w, alice_l, ch2, 1, "all");
    expect_notify(w, bob, ch2, 1, "all");
    expect_notify(w, padmin, ch2, 1, "all");
    expect_notify(w, padmin_all, ch2, 1, "all");

    /* another type or style does not match */
    uint64_t ch3 = h_open(w, alice_s, h_printer("P1"), H_TYPE_B, PER, UNI);
    assert_int_equal(h_send(w, alice_s, ch3, H_TYPE_B, "b")->body.sent.recipients, 0);
    uint64_t ch4 = h_open(w, alice_s, h_printer("P1"), H_TYPE_A, PER, BIDI);
    assert_int_equal(h_send(w, alice_s, ch4, H_TYPE_A, "q")->body.sent.recipients, 0);
    h_expect_none(w, alice_l);
}

/* [PANP-CHAN-14] [PANP-DLV-4] */
static void t_on_behalf_of_job_owner(void **state)
{
    h_world *w = *state;
    h_conn *sp = h_connect(w, "spooler");
    h_conn *bob = h_connect(w, "bob");
    h_conn *carol = h_connect(w, "carol");
    h_conn *spl = h_connect(w, "spooler");
    h_register(w, bob, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, carol, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, spl, h_server(), H_TYPE_A, PER, UNI);
    panp_frame f = h_open_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.open_channel.has_on_behalf_of = true;
    f.body.open_channel.on_behalf_of = (panp_job_context){.job_id = 77, .job_owner = "bob"};
    h_request(w, sp, &f);
    uint64_t ch = h_expect(w, sp, PANP_BODY_CHANNEL_OPENED)->body.channel_opened.channel_id;
    assert_int_equal(h_send(w, sp, ch, H_TYPE_A, "your job")->body.sent.recipients, 1);
    panp_frame *n = expect_notify(w, bob, ch, 1, "your job");
    assert_string_equal(n->body.notify.sender.user, "spooler");
    assert_int_equal(n->body.notify.sender.job_id, 77);
    assert_string_equal(n->body.notify.sender.job_owner, "bob");
    h_expect_none(w, carol);
    h_expect_none(w, spl); /* addressed to the owner, not the opener */
}

/* [PANP-DLV-5] [PANP-DLV-7] [PANP-DLV-8] */
static void t_session_narrowing(void **state)
{
    h_world *w = *state;
    h_conn *sp = h_connect(w, "spooler");
    h_conn *console = h_connect_opts(w, "bob", "console", 0);
    h_conn *rdp = h_connect_opts(w, "bob", "rdp-7", 0);
    h_conn *none = h_connect(w, "bob");
    h_conn *root = h_connect_opts(w, "root", "rdp-9", 0); /* admins are not narrowed */
    h_register(w, console, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, rdp, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, none, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, root, h_server(), H_TYPE_A, PER, UNI);
    panp_frame f = h_open_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.open_channel.has_on_behalf_of = true;
    f.body.open_channel.on_behalf_of =
        (panp_job_context){.job_id = 1, .job_owner = "bob", .session_label = "console"};
    h_request(w, sp, &f);
    uint64_t ch = h_expect(w, sp, PANP_BODY_CHANNEL_OPENED)->body.channel_opened.channel_id;
    assert_int_equal(h_send(w, sp, ch, H_TYPE_A, "x")->body.sent.recipients, 3);
    expect_notify(w, console, ch, 1, "x");
    expect_notify(w, none, ch, 1, "x");
    expect_notify(w, root, ch, 1, "x");
    h_expect_none(w, rdp);
}

/* [PANP-REL-2] */
static void t_release_never_accepted_from_clients(void **state)
{
    h_world *w = *state;
    pair q = ask(w, BIDI);
    const uint8_t *rel = PANP_TYPE_NOTIFICATION_RELEASE;
    struct { h_conn *c; panp_frame f; const char *field; } cases[] = {
        {q.l, h_reply_frame(q.conv, rel, "x"), "reply.notification_type"},
        {q.l, h_close_frame(PANP_CLOSE_SIDE_CONVERSATION, q.conv, rel, ""), "close_channel.reason.notification_type"},
        {q.s, h_close_frame(PANP_CLOSE_SIDE_CHANNEL, q.ch, rel, ""), "close_channel.reason.notification_type"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int path = 0; path < 2; path++) {
            if (path == 0) h_request_raw(w, cases[i].c, &cases[i].f);
            else h_inject(w, cases[i].c, &cases[i].f);
            panp_frame *e = h_expect(w, cases[i].c, PANP_BODY_ERROR);
            assert_true(e->body.error.code == PANP_ERR_TYPE_MISMATCH ||
                        e->body.error.code == PANP_ERR_INVALID_ARGUMENT);
            assert_string_equal(e->body.error.field, cases[i].field);
            assert_false(e->body.error.fatal);
        }
    }
    /* still open after all that */
    panp_frame ok = h_reply_frame(q.conv, H_TYPE_A, "fine");
    h_request(w, q.l, &ok);
    h_expect(w, q.l, PANP_BODY_OK);
}

/* ---- closing a unidirectional channel */

/* [PANP-CHAN-15] [PANP-CHAN-16] [PANP-CHAN-17] [PANP-CHAN-18] */
static void t_sender_close_discards_queued(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, UNI, false);
    h_conn *s = t.s, *l = t.l1, *l2 = t.l2;
    h_handle hl = t.h1;
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    uint64_t other = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    h_send(w, s, ch, H_TYPE_A, "1");
    h_drain(w, l2, SIZE_MAX); /* l2 reads, l does not */
    h_send(w, s, other, H_TYPE_A, "other");
    h_send(w, s, ch, H_TYPE_A, "2");
    h_send(w, s, ch, H_TYPE_A, "3");
    panp_frame *r = close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, ch, H_TYPE_A, "bye");
    expect_outcome(r, PANP_CLOSE_OUTCOME_CLOSED);
    /* l: its unread notifications of ch are gone; other channels' stay */
    expect_notify(w, l, other, 1, "other");
    panp_frame *c = expect_closed(w, l, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    assert_true(h_bytes_eq(c->body.channel_closed.registration, hl.b, 16));
    assert_int_equal(c->body.channel_closed.conversation_id, 0);
    assert_true(panp_bytes_is_uuid(c->body.channel_closed.notification_type, H_TYPE_A));
    assert_true(h_payload_is(c->body.channel_closed.payload, "bye"));
    h_expect_none(w, l);
    /* l2 had read #1 already */
    expect_notify(w, l2, ch, 1, "1");
    expect_notify(w, l2, other, 1, "other");
    expect_closed(w, l2, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    h_expect_none(w, s); /* the sender got its result, no event */
    /* the reason's type must be the channel's */
    r = close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, other, H_TYPE_B, "x");
    assert_int_equal(r->kind, PANP_BODY_ERROR);
    assert_int_equal(r->body.error.code, PANP_ERR_TYPE_MISMATCH);
}

/* [PANP-ORD-2] */
static void t_partially_written_notify_is_finished(void **state)
{
    h_world *w = *state;
    pair p = pair_up(w, UNI);
    h_send(w, p.s, p.ch, H_TYPE_A, "half-written");
    h_send(w, p.s, p.ch, H_TYPE_A, "unsent");
    h_drain(w, p.l, 10); /* 10 bytes of the first Notify are on the wire */
    expect_outcome(close_req(w, p.s, PANP_CLOSE_SIDE_CHANNEL, p.ch, NULL, NULL), PANP_CLOSE_OUTCOME_CLOSED);
    expect_notify(w, p.l, p.ch, 1, "half-written");
    expect_closed(w, p.l, p.ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    h_expect_none(w, p.l);
}

/* [PANP-REG-12] */
static void t_unregister_discards_and_stops(void **state)
{
    h_world *w = *state;
    pair p = pair_up(w, UNI);
    h_send(w, p.s, p.ch, H_TYPE_A, "queued");
    panp_frame u = {.kind = PANP_BODY_UNREGISTER};
    u.body.unregister.handle = h_b(&p.h);
    h_request(w, p.l, &u);
    h_expect(w, p.l, PANP_BODY_OK); /* the queued Notify is gone */
    assert_int_equal(h_send(w, p.s, p.ch, H_TYPE_A, "after")->body.sent.recipients, 0);
    expect_outcome(close_req(w, p.s, PANP_CLOSE_SIDE_CHANNEL, p.ch, NULL, NULL), PANP_CLOSE_OUTCOME_CLOSED);
    h_expect_none(w, p.l); /* not even a ChannelClosed for the old handle */
}

/* ---- bidirectional conversations */

typedef struct bidi {
    h_conn *s, *l[3];
    uint64_t ch, conv[3];
} bidi;

static void bidi_setup(h_world *w, bidi *b, int listeners)
{
    b->s = h_connect(w, "alice");
    for (int i = 0; i < listeners; i++) {
        b->l[i] = h_connect(w, "alice");
        h_register(w, b->l[i], h_server(), H_TYPE_A, PER, BIDI);
    }
    b->ch = h_open(w, b->s, h_server(), H_TYPE_A, PER, BIDI);
    panp_frame *sent = h_send(w, b->s, b->ch, H_TYPE_A, "question?");
    assert_int_equal(sent->body.sent.recipients, listeners);
    for (int i = 0; i < listeners; i++) {
        panp_frame *n = expect_notify(w, b->l[i], b->ch, 1, "question?");
        assert_int_equal(n->body.notify.style, BIDI);
        b->conv[i] = n->body.notify.conversation_id;
        assert_true(b->conv[i] != 0);
        for (int j = 0; j < i; j++) assert_true(b->conv[i] != b->conv[j]);
    }
}

static void reply_ok(h_world *w, h_conn *l, uint64_t conv, const char *payload)
{
    panp_frame f = h_reply_frame(conv, H_TYPE_A, payload);
    uint64_t rid = h_request(w, l, &f);
    assert_int_equal(h_expect(w, l, PANP_BODY_OK)->request_id, rid);
}

static panp_frame *reply_err(h_world *w, h_conn *l, uint64_t conv, panp_error_code code)
{
    panp_frame f = h_reply_frame(conv, H_TYPE_A, "x");
    h_request(w, l, &f);
    return h_expect_error(w, l, code, false);
}

/* [PANP-BIDI-2] [PANP-BIDI-5] [PANP-BIDI-6] [PANP-BIDI-7] [PANP-BIDI-10] [PANP-BIDI-11] */
static void t_bidi_first_responder_wins(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 3);
    reply_ok(w, b.l[1], b.conv[1], "yes");
    panp_frame *rd = h_expect(w, b.s, PANP_BODY_REPLY_DELIVERY);
    assert_int_equal(rd->body.reply_delivery.channel_id, b.ch);
    assert_int_equal(rd->body.reply_delivery.sequence, 1);
    assert_string_equal(rd->body.reply_delivery.responder, "alice");
    assert_true(h_payload_is(rd->body.reply_delivery.payload, "yes"));
    panp_frame *c0 = expect_closed(w, b.l[0], b.ch, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    assert_int_equal(c0->body.channel_closed.conversation_id, b.conv[0]);
    expect_closed(w, b.l[2], b.ch, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    h_expect_none(w, b.l[1]);
    /* a loser's Reply crossing its ChannelClosed */
    reply_err(w, b.l[0], b.conv[0], PANP_ERR_CHANNEL_ALREADY_CLOSED);
    /* a loser's CloseChannel: a success, ACQUIRED_BY_ANOTHER */
    expect_outcome(close_req(w, b.l[2], PANP_CLOSE_SIDE_CONVERSATION, b.conv[2], NULL, NULL),
                   PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER);
    /* from now on only the winner hears from the channel */
    assert_int_equal(h_send(w, b.s, b.ch, H_TYPE_A, "next")->body.sent.recipients, 1);
    panp_frame *n = expect_notify(w, b.l[1], b.ch, 2, "next");
    assert_int_equal(n->body.notify.conversation_id, b.conv[1]);
    h_expect_none(w, b.l[0]);
    h_expect_none(w, b.l[2]);
    reply_ok(w, b.l[1], b.conv[1], "ok2");
    rd = h_expect(w, b.s, PANP_BODY_REPLY_DELIVERY);
    assert_int_equal(rd->body.reply_delivery.sequence, 2);
}

/* [PANP-BIDI-4] [PANP-BIDI-8] [PANP-BIDI-14] */
static void t_bidi_awaiting_reply_and_no_pending(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 1);
    req_error(w, b.s, h_send_frame(b.ch, H_TYPE_A, "again"), PANP_ERR_AWAITING_REPLY, "send.channel_id");
    reply_ok(w, b.l[0], b.conv[0], "a1");
    h_expect(w, b.s, PANP_BODY_REPLY_DELIVERY);
    reply_err(w, b.l[0], b.conv[0], PANP_ERR_NO_PENDING_QUESTION);
    h_send(w, b.s, b.ch, H_TYPE_A, "q2");
    req_error(w, b.s, h_send_frame(b.ch, H_TYPE_A, "q3"), PANP_ERR_AWAITING_REPLY, NULL);
    expect_notify(w, b.l[0], b.ch, 2, "q2");
    /* type enforcement on replies */
    panp_frame f = h_reply_frame(b.conv[0], H_TYPE_B, "x");
    h_request(w, b.l[0], &f);
    panp_frame *e = h_expect_error(w, b.l[0], PANP_ERR_TYPE_MISMATCH, false);
    assert_string_equal(e->body.error.field, "reply.notification_type");
    reply_ok(w, b.l[0], b.conv[0], "a2");
}

/* [PANP-BIDI-3] */
static void t_bidi_no_listener_question_waits(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    assert_int_equal(h_send(w, s, ch, H_TYPE_A, "anyone?")->body.sent.recipients, 0);
    req_error(w, s, h_send_frame(ch, H_TYPE_A, "x"), PANP_ERR_AWAITING_REPLY, NULL);
    /* a late listener gets the question right after its Registered */
    h_conn *late = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, BIDI);
    h_request(w, late, &f);
    h_expect(w, late, PANP_BODY_REGISTERED);
    panp_frame *n = expect_notify(w, late, ch, 1, "anyone?");
    reply_ok(w, late, n->body.notify.conversation_id, "me");
    h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
    /* once answered, later listeners get nothing */
    h_conn *later = h_connect(w, "alice");
    h_register(w, later, h_server(), H_TYPE_A, PER, BIDI);
    h_expect_none(w, later);
}

/* [PANP-BIDI-3] [PANP-DLV-9] */
static void t_bidi_late_listener_respects_delivery(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    h_send(w, s, ch, H_TYPE_A, "q");
    h_conn *bob = h_connect(w, "bob");
    h_register(w, bob, h_server(), H_TYPE_A, PER, BIDI);
    h_expect_none(w, bob);
    h_register(w, s, h_server(), H_TYPE_A, PER, BIDI); /* the opener's own connection */
    h_expect_none(w, s);
}

/* [PANP-BIDI-9] */
static void t_bidi_withdraw(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 2);
    expect_outcome(close_req(w, b.l[0], PANP_CLOSE_SIDE_CONVERSATION, b.conv[0], NULL, NULL),
                   PANP_CLOSE_OUTCOME_WITHDRAWN);
    h_expect_none(w, b.s); /* nothing to the sender */
    /* the other listener still may answer */
    reply_ok(w, b.l[1], b.conv[1], "mine");
    h_expect(w, b.s, PANP_BODY_REPLY_DELIVERY);
    h_expect_none(w, b.l[0]); /* withdrawn: not told it lost */
    /* its conversation id now reads as closed */
    reply_err(w, b.l[0], b.conv[0], PANP_ERR_CHANNEL_ALREADY_CLOSED);
}

/* [PANP-BIDI-13] */
static void t_bidi_close_with_reason_answers(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 2);
    expect_outcome(close_req(w, b.l[1], PANP_CLOSE_SIDE_CONVERSATION, b.conv[1], H_TYPE_A, "button=1"),
                   PANP_CLOSE_OUTCOME_CLOSED);
    panp_frame *c = expect_closed(w, b.s, b.ch, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_true(panp_bytes_is_uuid(c->body.channel_closed.notification_type, H_TYPE_A));
    assert_true(h_payload_is(c->body.channel_closed.payload, "button=1"));
    assert_int_equal(c->body.channel_closed.conversation_id, 0);
    expect_closed(w, b.l[0], b.ch, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    h_expect_none(w, b.l[1]);
    req_error(w, b.s, h_send_frame(b.ch, H_TYPE_A, "x"), PANP_ERR_CHANNEL_ALREADY_CLOSED, NULL);
    expect_outcome(close_req(w, b.l[0], PANP_CLOSE_SIDE_CONVERSATION, b.conv[0], NULL, NULL),
                   PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER);
}

/* [PANP-BIDI-12] */
static void t_bidi_winner_closes(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 1);
    reply_ok(w, b.l[0], b.conv[0], "a");
    h_expect(w, b.s, PANP_BODY_REPLY_DELIVERY);
    expect_outcome(close_req(w, b.l[0], PANP_CLOSE_SIDE_CONVERSATION, b.conv[0], NULL, NULL),
                   PANP_CLOSE_OUTCOME_CLOSED);
    panp_frame *c = expect_closed(w, b.s, b.ch, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_int_equal(c->body.channel_closed.notification_type.len, 0);
    req_error(w, b.s, h_send_frame(b.ch, H_TYPE_A, "x"), PANP_ERR_CHANNEL_ALREADY_CLOSED, NULL);
}

/* [PANP-CHAN-15] [PANP-BIDI-1] */
static void t_bidi_sender_closes(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 2);
    expect_outcome(close_req(w, b.s, PANP_CLOSE_SIDE_CHANNEL, b.ch, H_TYPE_A, "never mind"),
                   PANP_CLOSE_OUTCOME_CLOSED);
    for (int i = 0; i < 2; i++) {
        panp_frame *c = expect_closed(w, b.l[i], b.ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
        assert_int_equal(c->body.channel_closed.conversation_id, b.conv[i]);
        assert_true(h_payload_is(c->body.channel_closed.payload, "never mind"));
        reply_err(w, b.l[i], b.conv[i], PANP_ERR_CHANNEL_ALREADY_CLOSED);
    }
}

/* [PANP-CHAN-19] [PANP-ORD-4] */
static void t_bidi_close_race(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 1);
    reply_ok(w, b.l[0], b.conv[0], "a");
    h_expect(w, b.s, PANP_BODY_REPLY_DELIVERY);
    /* both close "at once": the broker serves the sender first */
    panp_frame fs = h_close_frame(PANP_CLOSE_SIDE_CHANNEL, b.ch, NULL, NULL);
    panp_frame fl = h_close_frame(PANP_CLOSE_SIDE_CONVERSATION, b.conv[0], NULL, NULL);
    h_request(w, b.s, &fs);
    h_request(w, b.l[0], &fl);
    expect_outcome(h_next(w, b.s), PANP_CLOSE_OUTCOME_CLOSED);
    h_expect_none(w, b.s);
    expect_closed(w, b.l[0], b.ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    panp_frame *e = h_expect_error(w, b.l[0], PANP_ERR_CHANNEL_ALREADY_CLOSED, false);
    assert_int_equal(e->request_id, fl.request_id);
    /* and the other way round (a fresh pair of connections) */
    h_disconnect(w, b.s, CORE_GONE_EOF);
    h_disconnect(w, b.l[0], CORE_GONE_EOF);
    bidi c;
    bidi_setup(w, &c, 1);
    reply_ok(w, c.l[0], c.conv[0], "a");
    h_expect(w, c.s, PANP_BODY_REPLY_DELIVERY);
    fl = h_close_frame(PANP_CLOSE_SIDE_CONVERSATION, c.conv[0], NULL, NULL);
    fs = h_close_frame(PANP_CLOSE_SIDE_CHANNEL, c.ch, NULL, NULL);
    h_request(w, c.l[0], &fl);
    h_request(w, c.s, &fs);
    expect_outcome(h_next(w, c.l[0]), PANP_CLOSE_OUTCOME_CLOSED);
    expect_closed(w, c.s, c.ch, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    h_expect_error(w, c.s, PANP_ERR_CHANNEL_ALREADY_CLOSED, false);
}

/* [PANP-CHAN-9] */
static void t_bidi_unknown_conversation(void **state)
{
    h_world *w = *state;
    bidi b;
    bidi_setup(w, &b, 2);
    /* another listener's conversation id is not this one's */
    reply_err(w, b.l[0], b.conv[1], PANP_ERR_CHANNEL_NOT_OPENED);
    reply_err(w, b.l[0], 999, PANP_ERR_CHANNEL_NOT_OPENED);
    /* a channel id is not a conversation id */
    panp_frame *r = close_req(w, b.s, PANP_CLOSE_SIDE_CONVERSATION, b.ch, NULL, NULL);
    assert_int_equal(r->body.error.code, PANP_ERR_CHANNEL_NOT_OPENED);
    /* a listener cannot close the sender's channel */
    r = close_req(w, b.l[0], PANP_CLOSE_SIDE_CHANNEL, b.ch, NULL, NULL);
    assert_int_equal(r->body.error.code, PANP_ERR_CHANNEL_NOT_OPENED);
}

/* [PANP-REG-13] [PANP-REG-14] [PANP-LEASE-3] [PANP-LEASE-5] */
static void t_bidi_unregister_and_lease(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    h_conn *l1 = h_connect(w, "alice");
    h_conn *l2 = h_connect(w, "alice");
    h_handle h1 = h_register(w, l1, h_server(), H_TYPE_A, PER, BIDI);
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, BIDI);
    f.body.register_listener.lease_seconds = 30;
    h_handle h2 = registered(w, l2, f);
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    uint64_t ch2 = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    h_send(w, s, ch, H_TYPE_A, "q1");
    uint64_t c1 = expect_notify(w, l1, ch, 1, "q1")->body.notify.conversation_id;
    uint64_t c2 = expect_notify(w, l2, ch, 1, "q1")->body.notify.conversation_id;
    /* l1 wins ch; then both get ch2's question */
    reply_ok(w, l1, c1, "won");
    h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
    expect_closed(w, l2, ch, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    h_send(w, s, ch2, H_TYPE_A, "q2");
    uint64_t c1b = expect_notify(w, l1, ch2, 1, "q2")->body.notify.conversation_id;
    expect_notify(w, l2, ch2, 1, "q2");
    /* l1 unregisters: ch2's unacquired question is withdrawn, ch continues */
    panp_frame u = {.kind = PANP_BODY_UNREGISTER};
    u.body.unregister.handle = h_b(&h1);
    h_request(w, l1, &u);
    panp_frame *cc = expect_closed(w, l1, ch2, PANP_CLOSE_REASON_UNREGISTERED);
    assert_int_equal(cc->body.channel_closed.conversation_id, c1b);
    h_expect(w, l1, PANP_BODY_OK);
    h_send(w, s, ch, H_TYPE_A, "still there?");
    panp_frame *n = expect_notify(w, l1, ch, 2, "still there?");
    assert_true(h_bytes_eq(n->body.notify.registration, h1.b, 16));
    reply_ok(w, l1, c1, "yes");
    h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
    /* l2's lease expires: its offered ch2 question closes LEASE_EXPIRED */
    for (int i = 0; i < 3; i++) {
        h_advance(w, 10000);
        ping(w, s);
        ping(w, l1);
    }
    panp_frame *lc = expect_closed(w, l2, ch2, PANP_CLOSE_REASON_LEASE_EXPIRED);
    assert_true(h_bytes_eq(lc->body.channel_closed.registration, h2.b, 16));
    panp_frame *re = h_expect(w, l2, PANP_BODY_REGISTRATION_ENDED);
    assert_true(h_bytes_eq(re->body.registration_ended.handle, h2.b, 16));
    (void)c2;
}

/* [PANP-CHAN-6] field rules, then NOT_FOUND, open right, on_behalf_of, ALL_USERS, limits */
static void t_open_check_order(void **state)
{
    h_world *w = *state;
    h_conn *bob = h_connect(w, "bob");   /* no rights at all */
    h_conn *s = h_connect(w, "sender"); /* may open, not trusted, no admin */
    panp_frame f = h_open_frame(h_printer("Nope"), H_TYPE_A, ALL, UNI);
    f.body.open_channel.has_on_behalf_of = true;
    f.body.open_channel.on_behalf_of = (panp_job_context){.job_id = 1, .job_owner = ""};
    h_reject_both(w, bob, f, PANP_ERR_INVALID_ARGUMENT, "open_channel.on_behalf_of.job_owner");
    f.body.open_channel.on_behalf_of.job_owner = "carol";
    h_reject_both(w, bob, f, PANP_ERR_NOT_FOUND, "open_channel.target.printer");
    f.body.open_channel.target = h_server();
    h_reject_both(w, bob, f, PANP_ERR_ACCESS_DENIED, "open_channel");
    h_reject_both(w, s, f, PANP_ERR_ACCESS_DENIED, "open_channel.on_behalf_of");
    f.body.open_channel.has_on_behalf_of = false;
    h_reject_both(w, s, f, PANP_ERR_ACCESS_DENIED, "open_channel.user_filter");
}

/* [PANP-CHAN-9] [PANP-UNI-3] [PANP-UNI-4] ids of the other kind, id 0, a listener naming the channel */
static void t_ids_of_the_other_kind(void **state)
{
    h_world *w = *state;
    h_conn *a = h_connect(w, "alice");
    h_conn *b = h_connect(w, "alice");
    /* a is sender and listener at once [PANP-TERM-1] */
    h_register(w, a, h_server(), H_TYPE_A, PER, BIDI);
    h_register(w, a, h_server(), H_TYPE_B, PER, UNI);
    uint64_t bq = h_open(w, b, h_server(), H_TYPE_A, PER, BIDI);
    uint64_t bu = h_open(w, b, h_server(), H_TYPE_B, PER, UNI);
    h_send(w, b, bq, H_TYPE_A, "q");
    uint64_t conv = h_expect(w, a, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    h_send(w, b, bu, H_TYPE_B, "u");
    h_expect(w, a, PANP_BODY_NOTIFY);
    uint64_t ach = h_open(w, a, h_server(), H_TYPE_A, PER, UNI);
    /* a's channel id as a conversation id, and the reverse */
    panp_frame r = h_reply_frame(ach, H_TYPE_A, "x");
    h_request(w, a, &r);
    h_expect_error(w, a, PANP_ERR_CHANNEL_NOT_OPENED, false);
    panp_frame sd = h_send_frame(conv, H_TYPE_A, "x");
    h_request(w, a, &sd);
    h_expect_error(w, a, PANP_ERR_CHANNEL_NOT_OPENED, false);
    panp_frame *c = close_req(w, a, PANP_CLOSE_SIDE_CHANNEL, conv, NULL, NULL);
    assert_int_equal(c->body.error.code, PANP_ERR_CHANNEL_NOT_OPENED);
    /* conversation 0 */
    r = h_reply_frame(0, H_TYPE_A, "x");
    h_request_raw(w, a, &r);
    panp_frame *e = h_expect_error(w, a, PANP_ERR_CHANNEL_NOT_OPENED, false);
    assert_string_equal(e->body.error.field, "reply.conversation_id");
    /* a listener closing the unidirectional channel it hears from */
    c = close_req(w, a, PANP_CLOSE_SIDE_CHANNEL, bu, NULL, NULL);
    assert_int_equal(c->body.error.code, PANP_ERR_CHANNEL_NOT_OPENED);
    /* [PANP-CHAN-10] another connection's id reads exactly like a never issued one */
    panp_frame s1 = h_send_frame(bu, H_TYPE_B, "x"), s2 = h_send_frame(0x7777000000000001ULL, H_TYPE_B, "x");
    h_request(w, a, &s1);
    panp_frame *e1 = h_expect_error(w, a, PANP_ERR_CHANNEL_NOT_OPENED, false);
    h_request(w, a, &s2);
    panp_frame *e2 = h_expect_error(w, a, PANP_ERR_CHANNEL_NOT_OPENED, false);
    assert_string_equal(e1->body.error.message, e2->body.error.message);
    assert_string_equal(e1->body.error.field, e2->body.error.field);
}

/* [PANP-BIDI-10] a LOST conversation answers ACQUIRED_BY_ANOTHER, again and again */
static void t_bidi_lost_is_remembered(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, BIDI, false);
    h_conn *s = t.s, *winner = t.l1, *loser = t.l2;
    uint64_t first = 0, ch1 = 0;
    for (int i = 0; i < 300; i++) {
        uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
        h_send(w, s, ch, H_TYPE_A, "q");
        uint64_t wc = h_expect(w, winner, PANP_BODY_NOTIFY)->body.notify.conversation_id;
        uint64_t lc = h_expect(w, loser, PANP_BODY_NOTIFY)->body.notify.conversation_id;
        panp_frame r = h_reply_frame(wc, H_TYPE_A, "a");
        h_request(w, winner, &r);
        h_expect(w, winner, PANP_BODY_OK);
        h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
        h_expect(w, loser, PANP_BODY_CHANNEL_CLOSED);
        panp_frame cl = h_close_frame(PANP_CLOSE_SIDE_CHANNEL, ch, NULL, NULL);
        h_request(w, s, &cl);
        h_expect(w, s, PANP_BODY_CHANNEL_CLOSE_RESULT);
        h_expect(w, winner, PANP_BODY_CHANNEL_CLOSED);
        if (i == 0) first = lc, ch1 = ch;
        if (i == 299) {
            /* after the channel closed too, twice */
            expect_outcome(close_req(w, loser, PANP_CLOSE_SIDE_CONVERSATION, lc, NULL, NULL),
                           PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER);
            expect_outcome(close_req(w, loser, PANP_CLOSE_SIDE_CONVERSATION, lc, H_TYPE_A, "late"),
                           PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER);
        }
    }
    /* the 300th most recent is forgotten after 256: it reads as closed */
    panp_frame *r = close_req(w, loser, PANP_CLOSE_SIDE_CONVERSATION, first, NULL, NULL);
    assert_int_equal(r->kind, PANP_BODY_ERROR);
    assert_int_equal(r->body.error.code, PANP_ERR_CHANNEL_ALREADY_CLOSED);
    (void)ch1;
}

/* [PANP-BIDI-15] a Reply too large for the sender is refused, nothing changes */
static void t_bidi_reply_too_large_for_sender(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect_opts(w, "alice", "", 4096);
    h_conn *l1 = h_connect(w, "alice");
    h_conn *l2 = h_connect(w, "alice");
    h_register(w, l1, h_server(), H_TYPE_A, PER, BIDI);
    h_register(w, l2, h_server(), H_TYPE_A, PER, BIDI);
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, BIDI);
    h_send(w, s, ch, H_TYPE_A, "q");
    uint64_t c1 = h_expect(w, l1, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    uint64_t c2 = h_expect(w, l2, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    char *big = filled(5000, 'b');
    panp_frame r = h_reply_frame(c1, H_TYPE_A, big);
    h_request(w, l1, &r);
    free(big);
    panp_frame *e = h_expect_error(w, l1, PANP_ERR_RESOURCE_EXHAUSTED, false);
    assert_string_equal(e->body.error.field, "reply.payload");
    h_expect_none(w, l2);
    h_expect_none(w, s);
    /* still OFFERED for both: l2 can win */
    r = h_reply_frame(c2, H_TYPE_A, "small");
    h_request(w, l2, &r);
    h_expect(w, l2, PANP_BODY_OK);
    h_expect(w, s, PANP_BODY_REPLY_DELIVERY);
    h_expect(w, l1, PANP_BODY_CHANNEL_CLOSED);
}

/* [PANP-CHAN-20] a ChannelClosed too large for the listener loses its reason, not itself */
static void t_channel_closed_sheds_reason(void **state)
{
    h_world *w = *state;
    trio t = trio_up(w, UNI, true);
    h_conn *s = t.s, *small = t.l1, *big = t.l2;
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    char *p = filled(5000, 'r');
    expect_outcome(close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, ch, H_TYPE_A, p), PANP_CLOSE_OUTCOME_CLOSED);
    panp_frame *c = expect_closed(w, small, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    assert_int_equal(c->body.channel_closed.notification_type.len, 0);
    assert_int_equal(c->body.channel_closed.payload.len, 0);
    c = expect_closed(w, big, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    assert_true(h_payload_is(c->body.channel_closed.payload, p));
    free(p);
}

/* [PANP-UNI-5] [PANP-UNI-2] ChannelClosed to every selected registration; no Notify for later ones */
static void t_uni_close_reaches_every_selected(void **state)
{
    h_world *w = *state;
    pair p = pair_up(w, UNI);
    h_conn *s = p.s, *early = p.l;
    uint64_t ch = p.ch;
    h_send(w, s, ch, H_TYPE_A, "before");
    h_expect(w, early, PANP_BODY_NOTIFY);
    h_send(w, s, ch, H_TYPE_A, "queued, then discarded");
    h_conn *late = h_connect(w, "alice");
    h_handle hl = h_register(w, late, h_server(), H_TYPE_A, PER, UNI);
    h_expect_none(w, late); /* unidirectional notifications are not retained */
    expect_outcome(close_req(w, s, PANP_CLOSE_SIDE_CHANNEL, ch, NULL, NULL), PANP_CLOSE_OUTCOME_CLOSED);
    panp_frame *c = expect_closed(w, late, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    assert_true(h_bytes_eq(c->body.channel_closed.registration, hl.b, 16));
    /* [PANP-CHAN-18] nothing of the channel follows its ChannelClosed */
    expect_closed(w, early, ch, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    h_expect_none(w, early);
}

/* [PANP-REL-2] NOTIFICATION_RELEASE in a Send, Reply or close reason: TYPE_MISMATCH */
static void t_release_is_type_mismatch(void **state)
{
    h_world *w = *state;
    pair q = ask(w, BIDI);
    const uint8_t *rel = PANP_TYPE_NOTIFICATION_RELEASE;
    h_reject_both(w, q.l, h_reply_frame(q.conv, rel, "x"), PANP_ERR_TYPE_MISMATCH, "reply.notification_type");
    h_reject_both(w, q.l, h_close_frame(PANP_CLOSE_SIDE_CONVERSATION, q.conv, rel, ""),
                  PANP_ERR_TYPE_MISMATCH, "close_channel.reason.notification_type");
    h_reject_both(w, q.s, h_close_frame(PANP_CLOSE_SIDE_CHANNEL, q.ch, rel, ""), PANP_ERR_TYPE_MISMATCH,
                  "close_channel.reason.notification_type");
    uint64_t u = h_open(w, q.s, h_server(), H_TYPE_A, PER, UNI);
    h_reject_both(w, q.s, h_send_frame(u, rel, "x"), PANP_ERR_TYPE_MISMATCH, "send.notification_type");
}

/* [PANP-CHAN-5] the broker-wide channel limit counts open channels only */
static void t_channel_limit_broker_wide(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_channels_total = 2;
    h_start(w);
    h_conn *a = h_connect(w, "alice");
    h_conn *s = h_connect(w, "sender");
    uint64_t c1 = h_open(w, a, h_server(), H_TYPE_A, PER, UNI);
    h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    panp_frame *e = req_error(w, s, h_open_frame(h_server(), H_TYPE_A, PER, UNI),
                              PANP_ERR_RESOURCE_EXHAUSTED, "open_channel");
    assert_non_null(strstr(e->body.error.message, "broker"));
    expect_outcome(close_req(w, a, PANP_CLOSE_SIDE_CHANNEL, c1, NULL, NULL), PANP_CLOSE_OUTCOME_CLOSED);
    h_open(w, s, h_server(), H_TYPE_A, PER, UNI);
    h_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_open_rights),
        T(t_open_bad_arguments),
        cmocka_unit_test(t_channel_limits),
        T(t_channel_ids_unique_and_scoped),
        T(t_send_type_mismatch),
        T(t_sequence_fifo_and_recipients),
        T(t_no_listeners_is_success),
        T(t_client_state_echoed),
        T(t_delivery_table_end_to_end),
        T(t_on_behalf_of_job_owner),
        T(t_session_narrowing),
        T(t_release_never_accepted_from_clients),
        T(t_sender_close_discards_queued),
        T(t_partially_written_notify_is_finished),
        T(t_unregister_discards_and_stops),
        T(t_bidi_first_responder_wins),
        T(t_bidi_awaiting_reply_and_no_pending),
        T(t_bidi_no_listener_question_waits),
        T(t_bidi_late_listener_respects_delivery),
        T(t_bidi_withdraw),
        T(t_bidi_close_with_reason_answers),
        T(t_bidi_winner_closes),
        T(t_bidi_sender_closes),
        T(t_bidi_close_race),
        T(t_bidi_unknown_conversation),
        T(t_bidi_unregister_and_lease),
        T(t_open_check_order),
        T(t_ids_of_the_other_kind),
        T(t_bidi_lost_is_remembered),
        T(t_bidi_reply_too_large_for_sender),
        T(t_channel_closed_sheds_reason),
        T(t_uni_close_reaches_every_selected),
        T(t_release_is_type_mismatch),
        cmocka_unit_test(t_channel_limit_broker_wide),
    };
    return cmocka_run_group_tests_name("panpd-core-chan", tests, NULL, NULL);
}
