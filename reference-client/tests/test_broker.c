/* test_broker.c - libpanp against a real panpd (started per test on a
 * temporary Unix socket and loopback TCP port): both API styles talking to
 * each other, the first-responder and close races as the broker really
 * produces them, peer death, kill -9 and reconnect, shutdown, users and
 * tokens, leases, listing, and the prnasnot facade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "broker.h"
#include "panp/adapters/libevent.h"
#include "panp/adapters/poll.h"
#include "panp/client.h"
#include "panp/prnasnot.h"

/* ---- what callbacks saw ---------------------------------------------------------- */

typedef struct seen {
    int notify, closed, ended, replies, lost, restored, dead, done;
    panp_closed_info last_closed;
    char closed_payload[64];
    panp_reg_end_reason last_end;
    char payload[128];
    char sender[64];
    char job_owner[64];
    panp_conversation *cv; /* the last conversation shown (retained) */
    /* scripted reactions */
    bool close_in_notify;
    bool unregister_in_notify;
    bool ask_again_in_reply;
    panp_channel *ch;
    panp_error_code inner;
    panp_close_result inner_result;
} seen;

static void keep_cv(seen *s, panp_client *c, panp_conversation *cv)
{
    if (!cv || s->cv == cv)
        return;
    if (s->cv)
        panp_conversation_release(c, s->cv);
    s->cv = cv;
    panp_conversation_retain(cv);
}

static void drop_cv(seen *s, panp_client *c)
{
    if (s->cv)
        panp_conversation_release(c, s->cv);
    s->cv = NULL;
}

static void on_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                      const panp_notify *n, void *data)
{
    seen *s = data;
    s->notify++;
    snprintf(s->payload, sizeof s->payload, "%.*s", (int)n->payload.len,
             (const char *)n->payload.data);
    snprintf(s->sender, sizeof s->sender, "%s", n->has_sender ? n->sender.user : "");
    snprintf(s->job_owner, sizeof s->job_owner, "%s", n->has_sender ? n->sender.job_owner : "");
    keep_cv(s, c, cv);
    panp_status st;
    if (s->close_in_notify && cv)
        s->inner = panp_conversation_close(c, cv, "done", 4, &s->inner_result, &st);
    if (s->unregister_in_notify)
        s->inner = panp_unregister_listener(c, reg, &st);
}

static void on_closed_l(panp_client *c, panp_registration *reg, panp_conversation *cv,
                        const panp_closed_info *info, void *data)
{
    (void)c, (void)reg, (void)cv;
    seen *s = data;
    s->closed++;
    s->last_closed = *info;
    snprintf(s->closed_payload, sizeof s->closed_payload, "%.*s", (int)info->payload.len,
             (const char *)info->payload.data);
}

static void on_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason why, void *data)
{
    (void)c, (void)reg;
    seen *s = data;
    s->ended++;
    s->last_end = why;
}

static void on_reply(panp_client *c, panp_channel *ch, const panp_reply_delivery *r, void *data)
{
    seen *s = data;
    s->replies++;
    snprintf(s->payload, sizeof s->payload, "%.*s", (int)r->payload.len,
             (const char *)r->payload.data);
    snprintf(s->sender, sizeof s->sender, "%s", r->responder);
    panp_status st;
    if (s->ask_again_in_reply)
        s->inner = panp_async_channel_send(c, ch, "and again?", 10, NULL, NULL, &st);
}

static void on_closed_s(panp_client *c, panp_channel *ch, const panp_closed_info *info,
                        void *data)
{
    (void)c, (void)ch;
    seen *s = data;
    s->closed++;
    s->last_closed = *info;
    snprintf(s->closed_payload, sizeof s->closed_payload, "%.*s", (int)info->payload.len,
             (const char *)info->payload.data);
}

static void on_conn(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    (void)c, (void)why;
    seen *s = data;
    if (ev == PANP_CONN_LOST) s->lost++;
    if (ev == PANP_CONN_RESTORED) s->restored++;
    if (ev == PANP_CONN_DEAD) s->dead++;
}

static void on_done(panp_client *c, const panp_result *r, void *data)
{
    (void)c;
    seen *s = data;
    s->done++;
    s->inner = r->code;
}

static panp_register_params lparams(seen *s, const char *printer, panp_style style)
{
    return (panp_register_params){.printer = printer, .type = PANP_TYPE_ASYNC_UI,
                                  .style = style, .on_notify = on_notify,
                                  .on_closed = on_closed_l, .on_ended = on_ended, .data = s};
}

static panp_channel_params sparams(seen *s, const char *printer, panp_style style)
{
    return (panp_channel_params){.printer = printer, .type = PANP_TYPE_ASYNC_UI, .style = style,
                                 .on_reply = on_reply, .on_closed = on_closed_s, .data = s};
}

static panp_client *open_client(const char *addr, const char *token, seen *s, bool reconnect)
{
    panp_options o = {.broker = addr, .token = token, .on_connection = on_conn, .data = s,
                      .reconnect = reconnect, .reconnect_min_ms = 50, .reconnect_max_ms = 200};
    panp_client *c = NULL;
    panp_status st;
    if (panp_connect(&o, &c, &st) != PANP_OK)
        fail_msg("connect %s: %s", addr, st.message);
    return c;
}

static panp_registration *listen_ok(panp_client *c, seen *s, const char *printer, panp_style style)
{
    panp_register_params p = lparams(s, printer, style);
    panp_registration *reg;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, &reg, &st), PANP_OK);
    return reg;
}

static panp_channel *open_ok(panp_client *c, seen *s, const char *printer, panp_style style)
{
    panp_channel_params p = sparams(s, printer, style);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_channel_open(c, &p, &ch, &st), PANP_OK);
    return ch;
}

/* A listener and a sender on the Unix socket, and a channel of `style`
 * between them on the print server. */
typedef struct duo {
    seen ls, ss;
    panp_client *l, *s;
    panp_registration *reg;
    panp_channel *ch;
} duo;

static void duo_up(duo *d, broker *b, panp_style style, bool reconnect_listener)
{
    d->l = open_client(b->unix_addr, NULL, &d->ls, reconnect_listener);
    d->s = open_client(b->unix_addr, NULL, &d->ss, false);
    d->reg = listen_ok(d->l, &d->ls, NULL, style);
    d->ch = open_ok(d->s, &d->ss, NULL, style);
}

/* Turns both blocking contexts until *counter reaches n (5 s at most). */
static void pump2(panp_client *a, panp_client *b, const int *counter, int n)
{
    panp_status st;
    for (int i = 0; i < 500 && *counter < n; i++) {
        if (a)
            panp_poll(a, 5, &st);
        if (b)
            panp_poll(b, 5, &st);
    }
    assert_true(*counter >= n);
}

static int setup(void **state)
{
    broker *b = calloc(1, sizeof *b);
    const char *extra = *state ? (const char *)*state : NULL;
    if (!broker_start(b, extra)) {
        broker_cleanup(b);
        free(b);
        return -1;
    }
    *state = b;
    return 0;
}

static int teardown(void **state)
{
    broker *b = *state;
    broker_cleanup(b);
    free(b);
    return 0;
}

/* ---- both API styles, interoperating -------------------------------------------------- */

static void test_blocking_sender_async_listener(void **state)
{
    broker *b = *state;
    seen ls = {0}, ss = {0};
    panp_options o = {.broker = b->unix_addr};
    panp_client *l;
    panp_status st;
    assert_int_equal(panp_async_connect(&o, &l, &st), PANP_OK);
    panp_poll_adapter pa;
    assert_int_equal(panp_poll_adapter_attach(&pa, l, &st), PANP_OK);
    panp_register_params rp = lparams(&ls, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    assert_int_equal(panp_async_register_listener(l, &rp, NULL, on_done, &ls, &st), PANP_OK);
    for (int i = 0; i < 500 && !ls.done; i++)
        panp_poll_adapter_run_once(&pa, 10);
    assert_int_equal(ls.inner, PANP_OK);

    panp_client *s = open_client(b->unix_addr, NULL, &ss, false);
    panp_channel *ch = open_ok(s, &ss, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    panp_sent sent;
    assert_int_equal(panp_channel_send(s, ch, "hello", 5, &sent, &st), PANP_OK);
    assert_int_equal(sent.sequence, 1);
    assert_int_equal(sent.recipients, 1);
    for (int i = 0; i < 500 && !ls.notify; i++)
        panp_poll_adapter_run_once(&pa, 10);
    assert_string_equal(ls.payload, "hello");
    assert_true(ls.sender[0] != 0);
    panp_close_result r;
    assert_int_equal(panp_channel_close(s, ch, "bye", 3, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_CLOSED);
    for (int i = 0; i < 500 && !ls.closed; i++)
        panp_poll_adapter_run_once(&pa, 10);
    assert_int_equal(ls.last_closed.reason, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    assert_string_equal(ls.closed_payload, "bye");
    panp_channel_release(s, ch);
    panp_free(s);
    panp_free(l);
}

static void test_async_sender_blocking_listener_dialog(void **state)
{
    broker *b = *state;
    seen ls = {0}, ss = {.ask_again_in_reply = true};
    panp_client *l = open_client(b->unix_addr, NULL, &ls, false);
    listen_ok(l, &ls, NULL, PANP_STYLE_BIDIRECTIONAL);
    panp_status st;

    struct event_base *base = event_base_new();
    panp_options o = {.broker = b->unix_addr};
    panp_client *s;
    assert_int_equal(panp_async_connect(&o, &s, &st), PANP_OK);
    assert_int_equal(panp_libevent_attach(s, base, &st), PANP_OK);
    panp_channel_params cp = sparams(&ss, NULL, PANP_STYLE_BIDIRECTIONAL);
    panp_channel *ch;
    assert_int_equal(panp_async_channel_open(s, &cp, &ch, NULL, NULL, &st), PANP_OK);
    assert_int_equal(panp_async_channel_send(s, ch, "print it?", 9, NULL, NULL, &st), PANP_OK);

    for (int i = 0; i < 500 && !ls.notify; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        panp_poll(l, 5, &st);
    }
    assert_string_equal(ls.payload, "print it?");
    assert_non_null(ls.cv);
    assert_int_equal(panp_conversation_reply(l, ls.cv, "yes", 3, &st), PANP_OK);
    /* The sender asks again from inside on_reply; it reaches the winner. */
    for (int i = 0; i < 500 && ls.notify < 2; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        panp_poll(l, 5, &st);
    }
    assert_int_equal(ss.replies, 1);
    assert_string_equal(ls.payload, "and again?");
    panp_close_result r;
    assert_int_equal(panp_conversation_close(l, ls.cv, "no more", 7, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_CLOSED);
    for (int i = 0; i < 500 && !ss.closed; i++)
        event_base_loop(base, EVLOOP_NONBLOCK), usleep(2000);
    assert_int_equal(ss.last_closed.reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_string_equal(ss.closed_payload, "no more");
    assert_int_equal(ls.closed, 1);
    assert_true(ls.last_closed.by_self);
    drop_cv(&ls, l);
    panp_channel_release(s, ch);
    panp_free(s);
    event_base_free(base);
    panp_free(l);
}

/* ---- seed 001 races, produced by the broker ----------------------------------------------- */

static void test_first_responder_race(void **state)
{
    broker *b = *state;
    seen as = {0}, bs = {0}, ss = {0};
    panp_client *a = open_client(b->unix_addr, NULL, &as, false);
    panp_client *bl = open_client(b->unix_addr, NULL, &bs, false);
    panp_client *s = open_client(b->unix_addr, NULL, &ss, false);
    listen_ok(a, &as, "lobby", PANP_STYLE_BIDIRECTIONAL);
    listen_ok(bl, &bs, "lobby", PANP_STYLE_BIDIRECTIONAL);
    panp_status st;
    for (int round = 0; round < 2; round++) {
        panp_channel *ch = open_ok(s, &ss, "lobby", PANP_STYLE_BIDIRECTIONAL);
        panp_sent sent;
        assert_int_equal(panp_channel_send(s, ch, "PIN?", 4, &sent, &st), PANP_OK);
        assert_int_equal(sent.recipients, 2);
        pump2(a, NULL, &as.notify, round + 1);
        pump2(bl, NULL, &bs.notify, round + 1);
        /* A wins; B has its ChannelClosed unread when it acts. */
        assert_int_equal(panp_conversation_reply(a, as.cv, "1234", 4, &st), PANP_OK);
        if (round == 0) {
            panp_close_result r;
            assert_int_equal(panp_conversation_close(bl, bs.cv, NULL, 0, &r, &st), PANP_OK);
            assert_int_equal(r, PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER);
        } else {
            assert_int_equal(panp_conversation_reply(bl, bs.cv, "9999", 4, &st),
                             PANP_ERR_CHANNEL_ALREADY_CLOSED);
        }
        assert_int_equal(bs.closed, round + 1);
        assert_int_equal(bs.last_closed.reason, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
        pump2(s, NULL, &ss.replies, round + 1);
        assert_string_equal(ss.payload, "1234");
        assert_int_equal(panp_channel_close(s, ch, NULL, 0, NULL, &st), PANP_OK);
        panp_channel_release(s, ch);
        pump2(a, NULL, &as.closed, round + 1);
        assert_int_equal(bs.closed, round + 1); /* exactly once */
    }
    drop_cv(&as, a);
    drop_cv(&bs, bl);
    panp_free(s);
    panp_free(bl);
    panp_free(a);
}

static void test_sender_close_crosses_listener_close(void **state)
{
    duo d = {0};
    duo_up(&d, *state, PANP_STYLE_BIDIRECTIONAL, false);
    panp_status st;
    assert_int_equal(panp_channel_send(d.s, d.ch, "go?", 3, NULL, &st), PANP_OK);
    pump2(d.l, NULL, &d.ls.notify, 1);
    panp_close_result r;
    assert_int_equal(panp_conversation_close(d.l, d.ls.cv, "stop", 4, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_CLOSED);
    /* The sender closes without having read the listener's ChannelClosed. */
    assert_int_equal(panp_channel_close(d.s, d.ch, NULL, 0, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(d.ss.closed, 1);
    assert_int_equal(d.ss.last_closed.reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_string_equal(d.ss.closed_payload, "stop");
    assert_int_equal(panp_channel_close(d.s, d.ch, NULL, 0, &r, &st), PANP_OK);
    assert_int_equal(d.ss.closed, 1);
    panp_channel_release(d.s, d.ch);
    drop_cv(&d.ls, d.l);
    panp_free(d.s);
    panp_free(d.l);
}

static void test_callbacks_close_and_unregister(void **state)
{
    broker *b = *state;
    seen ls = {.close_in_notify = true}, us = {.unregister_in_notify = true}, ss = {0};
    panp_client *l = open_client(b->unix_addr, NULL, &ls, false);
    panp_client *s = open_client(b->unix_addr, NULL, &ss, false);
    listen_ok(l, &ls, "lab", PANP_STYLE_BIDIRECTIONAL);
    listen_ok(l, &us, "lab", PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *bch = open_ok(s, &ss, "lab", PANP_STYLE_BIDIRECTIONAL);
    panp_channel *uch = open_ok(s, &ss, "lab", PANP_STYLE_UNIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_channel_send(s, bch, "ok?", 3, NULL, &st), PANP_OK);
    assert_int_equal(panp_channel_send(s, uch, "one", 3, NULL, &st), PANP_OK);
    assert_int_equal(panp_channel_send(s, uch, "two", 3, NULL, &st), PANP_OK);
    pump2(l, s, &ss.closed, 1);
    assert_int_equal(ls.inner, PANP_OK);
    assert_int_equal(ls.inner_result, PANP_CLOSE_RESULT_CLOSED);
    assert_int_equal(ls.closed, 1);
    assert_int_equal(ss.last_closed.reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_string_equal(ss.closed_payload, "done");
    assert_int_equal(panp_sync(s, &st), PANP_OK);
    assert_int_equal(panp_sync(l, &st), PANP_OK);
    assert_int_equal(us.inner, PANP_OK);
    assert_int_equal(us.notify, 1); /* unregistered inside the first one */
    drop_cv(&ls, l);
    panp_free(s); /* closes uch first: listeners see CLOSED_BY_SENDER */
    panp_free(l);
}

/* ---- peer death, kill -9, shutdown -------------------------------------------------------------
 */

static void test_peer_death_release(void **state)
{
    broker *b = *state;
    seen ls = {0};
    panp_client *l = open_client(b->unix_addr, NULL, &ls, false);
    listen_ok(l, &ls, NULL, PANP_STYLE_BIDIRECTIONAL);
    panp_status st;
    pid_t pid = fork();
    if (pid == 0) {
        /* A sender that dies without closing anything. */
        seen ss = {0};
        panp_options o = {.broker = b->unix_addr};
        panp_client *s;
        panp_channel *ch;
        panp_channel_params cp = sparams(&ss, NULL, PANP_STYLE_BIDIRECTIONAL);
        if (panp_connect(&o, &s, &st) || panp_channel_open(s, &cp, &ch, &st) ||
            panp_channel_send(s, ch, "still there?", 12, NULL, &st))
            _exit(1);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pump2(l, NULL, &ls.closed, 1);
    assert_int_equal(ls.notify, 1);
    assert_int_equal(ls.last_closed.reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_true(ls.last_closed.release);
    assert_false(ls.last_closed.connection_lost);
    drop_cv(&ls, l);
    panp_free(l);
}

static void test_kill9_reconnect(void **state)
{
    broker *b = *state;
    duo d = {0};
    duo_up(&d, b, PANP_STYLE_UNIDIRECTIONAL, true);
    panp_status st;

    broker_kill9(b);
    pump2(d.l, d.s, &d.ls.lost, 1);
    pump2(NULL, d.s, &d.ss.closed, 1);
    assert_int_equal(d.ss.last_closed.reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_true(d.ss.last_closed.connection_lost && d.ss.last_closed.release);
    assert_int_equal(d.ss.dead, 1);
    assert_false(panp_registration_is_live(d.reg));
    assert_int_equal(d.ls.ended, 0);

    assert_true(broker_restart(b));
    pump2(d.l, NULL, &d.ls.restored, 1);
    assert_int_equal(panp_sync(d.l, &st), PANP_OK);
    assert_true(panp_registration_is_live(d.reg));
    seen s2s = {0};
    panp_client *s2 = open_client(b->unix_addr, NULL, &s2s, false);
    panp_channel *ch2 = open_ok(s2, &s2s, NULL, PANP_STYLE_UNIDIRECTIONAL);
    panp_sent sent;
    assert_int_equal(panp_channel_send(s2, ch2, "back", 4, &sent, &st), PANP_OK);
    assert_int_equal(sent.recipients, 1);
    pump2(d.l, NULL, &d.ls.notify, 1);
    assert_string_equal(d.ls.payload, "back");
    panp_channel_release(d.s, d.ch);
    panp_free(d.s);
    panp_free(s2);
    panp_free(d.l);
}

static void test_shutdown(void **state)
{
    broker *b = *state;
    duo d = {0};
    duo_up(&d, b, PANP_STYLE_BIDIRECTIONAL, false);
    panp_status st;
    assert_int_equal(panp_channel_send(d.s, d.ch, "?", 1, NULL, &st), PANP_OK);
    pump2(d.l, NULL, &d.ls.notify, 1);
    broker_term(b);
    pump2(d.l, d.s, &d.ls.dead, 1);
    pump2(d.l, d.s, &d.ss.dead, 1);
    assert_int_equal(d.ss.closed, 1);
    assert_int_equal(d.ss.last_closed.reason, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    assert_true(d.ss.last_closed.release);
    assert_int_equal(d.ls.closed, 1);
    assert_int_equal(d.ls.last_closed.reason, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    drop_cv(&d.ls, d.l);
    panp_channel_release(d.s, d.ch);
    panp_free(d.s);
    panp_free(d.l);
}

/* ---- users, tokens, leases, listing ---------------------------------------------------------- */

static void test_users_and_on_behalf(void **state)
{
    broker *b = *state;
    seen al = {0}, bo = {0}, as = {0}, rs = {0}, cs = {0};
    panp_client *alice_l = open_client(b->tcp_addr, "alice-token", &al, false);
    panp_client *bob_l = open_client(b->tcp_addr, "bob-token", &bo, false);
    panp_client *alice_s = open_client(b->tcp_addr, "alice-token", &as, false);
    panp_client *carol = open_client(b->tcp_addr, "carol-token", &cs, false);
    assert_string_equal(panp_session(bob_l)->user, "bob");
    assert_false(panp_session(bob_l)->may_open_channels);
    listen_ok(alice_l, &al, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    listen_ok(bob_l, &bo, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    panp_status st;
    panp_register_params cp = lparams(&cs, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    cp.user_filter = PANP_USER_FILTER_ALL_USERS;
    assert_int_equal(panp_register_listener(carol, &cp, NULL, &st), PANP_ERR_ACCESS_DENIED);
    panp_channel_params chp = sparams(&cs, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    assert_int_equal(panp_channel_open(carol, &chp, &ch, &st), PANP_ERR_ACCESS_DENIED);

    /* alice's per-user notification: alice's listener, not bob's. */
    ch = open_ok(alice_s, &as, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    assert_int_equal(panp_channel_send(alice_s, ch, "for alice", 9, NULL, &st), PANP_OK);
    assert_int_equal(panp_sync(alice_s, &st), PANP_OK);
    pump2(alice_l, NULL, &al.notify, 1);
    assert_int_equal(panp_sync(bob_l, &st), PANP_OK);
    assert_int_equal(bo.notify, 0);
    panp_channel_release(alice_s, ch);

    /* A trusted component notifies bob on behalf of his job. */
    panp_client *root = open_client(b->unix_addr, NULL, &rs, false);
    panp_job_context job = {.job_id = 42, .job_owner = "bob"};
    panp_channel_params jp = sparams(&rs, "lobby", PANP_STYLE_UNIDIRECTIONAL);
    jp.on_behalf_of = &job;
    assert_int_equal(panp_channel_open(root, &jp, &ch, &st), PANP_OK);
    assert_int_equal(panp_channel_send(root, ch, "your job", 8, NULL, &st), PANP_OK);
    pump2(bob_l, NULL, &bo.notify, 1);
    assert_string_equal(bo.job_owner, "bob");
    assert_string_equal(bo.payload, "your job");
    panp_channel_release(root, ch);
    panp_free(root);
    panp_free(carol);
    panp_free(alice_s);
    panp_free(bob_l);
    panp_free(alice_l);
}

static void test_leases_and_listing(void **state)
{
    broker *b = *state;
    seen ls = {0};
    panp_client *l = open_client(b->unix_addr, NULL, &ls, false);
    panp_register_params p1 = lparams(&ls, NULL, PANP_STYLE_UNIDIRECTIONAL);
    panp_register_params p2 = lparams(&ls, "lab", PANP_STYLE_BIDIRECTIONAL);
    p1.lease_seconds = 1;
    p1.no_auto_renew = true; /* let it run out */
    p2.lease_seconds = 5;
    panp_registration *r1, *r2;
    panp_status st;
    assert_int_equal(panp_register_listener(l, &p1, &r1, &st), PANP_OK);
    assert_int_equal(panp_registration_lease(r1), 1);
    assert_int_equal(panp_register_listener(l, &p2, &r2, &st), PANP_OK);
    uint32_t granted = 0;
    assert_int_equal(panp_renew_registration(l, r2, 100, &granted, &st), PANP_OK);
    assert_int_equal(granted, 100);
    panp_reg_list list;
    assert_int_equal(panp_get_registrations(l, NULL, &list, &st), PANP_OK);
    assert_int_equal(list.count, 2);
    assert_ptr_equal(list.entries[0].registration, r1);
    assert_ptr_equal(list.entries[1].registration, r2);
    assert_string_equal(list.entries[1].printer, "lab");
    panp_reg_list_free(&list);
    /* The one-second lease runs out; the other does not. */
    for (int i = 0; i < 300 && !ls.ended; i++)
        panp_poll(l, 10, &st);
    assert_int_equal(ls.ended, 1);
    assert_int_equal(ls.last_end, PANP_REG_END_LEASE_EXPIRED);
    assert_false(panp_registration_is_live(r1));
    assert_true(panp_registration_is_live(r2));
    assert_int_equal(panp_renew_registration(l, r1, 10, NULL, &st), PANP_ERR_NOT_FOUND);
    assert_int_equal(panp_unregister_listener(l, r1, &st), PANP_OK); /* ended: still fine */
    assert_int_equal(panp_unregister_listener(l, r2, &st), PANP_OK);
    assert_int_equal(panp_get_registrations(l, NULL, &list, &st), PANP_OK);
    assert_int_equal(list.count, 0);
    panp_reg_list_free(&list);
    panp_free(l);
}

/* ---- the prnasnot facade --------------------------------------------------------------------- */

typedef struct cb {
    IPrintAsyncNotifyCallback iface;
    ULONG refs;
    int events, closes;
    char last[64];
    bool reply_in_event;    /* listener: answer from inside OnEventNotify */
    bool release_in_closed; /* the Windows habit: Release inside ChannelClosed */
    IPrintAsyncNotifyChannel *kept;
    HRESULT inner;
} cb;

static ULONG cb_addref(IPrintAsyncNotifyCallback *self) { return ++((cb *)self)->refs; }
static ULONG cb_release(IPrintAsyncNotifyCallback *self) { return --((cb *)self)->refs; }

static HRESULT cb_event(IPrintAsyncNotifyCallback *self, IPrintAsyncNotifyChannel *ch,
                        IPrintAsyncNotifyDataObject *data)
{
    cb *c = (cb *)self;
    BYTE *p;
    ULONG n;
    PrintAsyncNotificationType *t;
    data->lpVtbl->AcquireData(data, &p, &n, &t);
    snprintf(c->last, sizeof c->last, "%.*s", (int)n, (const char *)p);
    data->lpVtbl->ReleaseData(data);
    c->events++;
    if (c->reply_in_event && ch) {
        IPrintAsyncNotifyDataObject *d;
        PanpCreateDataObject(t, "accepted", 8, &d);
        c->inner = ch->lpVtbl->SendNotification(ch, d);
        d->lpVtbl->Release(d);
        if (!c->kept) {
            ch->lpVtbl->AddRef(ch);
            c->kept = ch;
        }
    }
    return S_OK;
}

static HRESULT cb_closed(IPrintAsyncNotifyCallback *self, IPrintAsyncNotifyChannel *ch,
                         IPrintAsyncNotifyDataObject *data)
{
    cb *c = (cb *)self;
    (void)data;
    c->closes++;
    if (c->release_in_closed && ch) {
        ch->lpVtbl->Release(ch); /* not owed (no AddRef): must be harmless */
        ch->lpVtbl->Release(ch);
    }
    return S_OK;
}

static const IPrintAsyncNotifyCallbackVtbl cb_vtbl = {cb_addref, cb_release, cb_event, cb_closed};

static void dispatch2(PanpAsyncSession *a, PanpAsyncSession *b, const int *counter, int n)
{
    for (int i = 0; i < 500 && *counter < n; i++) {
        PanpDispatch(a, 5);
        PanpDispatch(b, 5);
    }
    assert_true(*counter >= n);
}

static void test_facade(void **state)
{
    broker *b = *state;
    PanpAsyncSession *ls, *ss;
    assert_int_equal(PanpOpenSession(b->unix_addr, NULL, &ls), S_OK);
    assert_int_equal(PanpOpenSession(b->unix_addr, NULL, &ss), S_OK);
    cb lcb = {.iface = {&cb_vtbl}, .reply_in_event = true};
    cb scb = {.iface = {&cb_vtbl}};
    HANDLE h;
    assert_int_equal(RegisterForPrintAsyncNotifications(ls, "\\\\server\\lobby",
                                                        &PRINT_ASYNC_NOTIFY_ASYNC_UI, kPerUser,
                                                        kBiDirectional, &lcb.iface, &h),
                     S_OK);
    assert_int_equal(lcb.refs, 1);
    IPrintAsyncNotifyChannel *ch;
    assert_int_equal(CreatePrintAsyncNotifyChannel(ss, "lobby", &PRINT_ASYNC_NOTIFY_ASYNC_UI,
                                                   kPerUser, kBiDirectional, &scb.iface, &ch),
                     S_OK);
    IPrintAsyncNotifyDataObject *q;
    assert_int_equal(PanpCreateDataObject(&PRINT_ASYNC_NOTIFY_ASYNC_UI, "print?", 6, &q), S_OK);
    assert_int_equal(ch->lpVtbl->SendNotification(ch, q), S_OK);
    /* One question at a time, as on Windows. */
    assert_int_equal(ch->lpVtbl->SendNotification(ch, q),
                     PANP_HR_ERROR(CHANNEL_WAITING_FOR_CLIENT_NOTIFICATION));
    dispatch2(ls, ss, &scb.events, 1);
    assert_int_equal(lcb.inner, S_OK);
    assert_string_equal(lcb.last, "print?");
    assert_string_equal(scb.last, "accepted");
    IPrintAsyncNotifyDataObject *wrong;
    assert_int_equal(PanpCreateDataObject(&PRINT_PORT_MONITOR_NOTIFY_CHANNEL, "x", 1, &wrong),
                     S_OK);
    assert_int_equal(ch->lpVtbl->SendNotification(ch, wrong),
                     PANP_HR_ERROR(INVALID_NOTIFICATION_TYPE));
    wrong->lpVtbl->Release(wrong);
    q->lpVtbl->Release(q);
    /* The sender closes; both sides hear it exactly once. */
    assert_int_equal(ch->lpVtbl->CloseChannel(ch, NULL), S_OK);
    assert_int_equal(scb.closes, 1);
    dispatch2(ls, ss, &lcb.closes, 1);
    assert_int_equal(PanpChannelCloseReason(lcb.kept), PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    /* Everything after the close is safe and says so. */
    assert_int_equal(ch->lpVtbl->CloseChannel(ch, NULL), PANP_HR_SUCCESS(CHANNEL_ALREADY_CLOSED));
    assert_int_equal(lcb.kept->lpVtbl->CloseChannel(lcb.kept, NULL),
                     PANP_HR_SUCCESS(CHANNEL_ALREADY_CLOSED));
    assert_int_equal(ch->lpVtbl->Release(ch), 0);
    assert_int_equal(lcb.kept->lpVtbl->Release(lcb.kept), 0);
    assert_int_equal(scb.closes, 1);
    assert_int_equal(lcb.closes, 1);

    /* No listeners: success that says so. */
    assert_int_equal(CreatePrintAsyncNotifyChannel(ss, "lab", &PRINT_ASYNC_NOTIFY_ASYNC_UI,
                                                   kPerUser, kUniDirectional, NULL, &ch),
                     S_OK);
    assert_int_equal(PanpCreateDataObject(&PRINT_ASYNC_NOTIFY_ASYNC_UI, "hi", 2, &q), S_OK);
    assert_int_equal(ch->lpVtbl->SendNotification(ch, q), PANP_HR_SUCCESS(NO_LISTENERS));
    q->lpVtbl->Release(q);
    assert_int_equal(ch->lpVtbl->Release(ch), 0); /* open: Release closes it */

    /* A listener with the Windows habit of releasing, unasked, inside
     * ChannelClosed (here twice): ignored, nothing freed under us. */
    cb hcb = {.iface = {&cb_vtbl}, .release_in_closed = true};
    HANDLE h2;
    assert_int_equal(RegisterForPrintAsyncNotifications(ls, "lab", &PRINT_ASYNC_NOTIFY_ASYNC_UI,
                                                        kPerUser, kBiDirectional, &hcb.iface, &h2),
                     S_OK);
    assert_int_equal(CreatePrintAsyncNotifyChannel(ss, "lab", &PRINT_ASYNC_NOTIFY_ASYNC_UI,
                                                   kPerUser, kBiDirectional, &scb.iface, &ch),
                     S_OK);
    assert_int_equal(PanpCreateDataObject(&PRINT_ASYNC_NOTIFY_ASYNC_UI, "q", 1, &q), S_OK);
    assert_int_equal(ch->lpVtbl->SendNotification(ch, q), S_OK);
    q->lpVtbl->Release(q);
    dispatch2(ls, ss, &hcb.events, 1);
    assert_int_equal(ch->lpVtbl->CloseChannel(ch, NULL), S_OK);
    dispatch2(ls, ss, &hcb.closes, 1);
    assert_int_equal(ch->lpVtbl->Release(ch), 0);
    assert_int_equal(UnRegisterForPrintAsyncNotifications(h2), S_OK);

    assert_int_equal(CreatePrintAsyncNotifyChannel(ss, "nowhere", &PRINT_ASYNC_NOTIFY_ASYNC_UI,
                                                   kPerUser, kUniDirectional, NULL, &ch),
                     PANP_E_INVALID_NAME);
    assert_int_equal(UnRegisterForPrintAsyncNotifications(h), S_OK);
    assert_int_equal(UnRegisterForPrintAsyncNotifications(h), PANP_HR_ERROR(ALREADY_UNREGISTERED));
    PanpCloseSession(ss);
    PanpCloseSession(ls);
    assert_int_equal(lcb.refs, 0);
    assert_int_equal(hcb.refs, 0);
}

static void test_facade_channel_outlives_session(void **state)
{
    broker *b = *state;
    PanpAsyncSession *ss;
    assert_int_equal(PanpOpenSession(b->unix_addr, NULL, &ss), S_OK);
    cb scb = {.iface = {&cb_vtbl}};
    IPrintAsyncNotifyChannel *ch;
    assert_int_equal(CreatePrintAsyncNotifyChannel(ss, NULL, &PRINT_ASYNC_NOTIFY_ASYNC_UI,
                                                   kPerUser, kUniDirectional, &scb.iface, &ch),
                     S_OK);
    assert_int_equal(scb.refs, 1);
    PanpCloseSession(ss);
    IPrintAsyncNotifyDataObject *q;
    PanpCreateDataObject(&PRINT_ASYNC_NOTIFY_ASYNC_UI, "late", 4, &q);
    assert_int_equal(ch->lpVtbl->SendNotification(ch, q), PANP_HR_ERROR(CHANNEL_ALREADY_CLOSED));
    q->lpVtbl->Release(q);
    assert_int_equal(ch->lpVtbl->Release(ch), 0);
    assert_int_equal(scb.refs, 0);
}

int main(void)
{
    const char *lease_cfg = "[limits]\nmax_lease_seconds = 3600\n";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blocking_sender_async_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_sender_blocking_listener_dialog, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_first_responder_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_close_crosses_listener_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_close_and_unregister, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_death_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_and_on_behalf, setup, teardown),
        cmocka_unit_test_prestate_setup_teardown(test_leases_and_listing, setup, teardown,
                                                 (void *)lease_cfg),
        cmocka_unit_test_setup_teardown(test_facade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facade_channel_outlives_session, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
