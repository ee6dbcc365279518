/* test_fake.c - libpanp against the scripted fake broker (fake.h): the
 * orders of events a real broker produces only by luck (a ChannelClosed
 * crossing a close, silence, a broken response, Goodbye), callbacks that
 * close or unregister from inside themselves, connection loss and
 * reconnect, keepalive, and both API styles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "fake.h"
#include "panp/adapters/libevent.h"
#include "panp/adapters/poll.h"
#include "panp/client.h"

/* ---- a record of what the callbacks saw ------------------------------------------- */

typedef struct seen {
    int notify;
    int closed;
    int ended;
    int replies;
    int conn_up, conn_lost, conn_restored, conn_dead;
    panp_close_reason last_reason;
    panp_closed_info last_closed;
    panp_reg_end_reason last_end;
    char last_payload[256];
    uint64_t last_conv_id;
    panp_conversation *cv;     /* retained by the test when kept */
    panp_registration *reg;
    /* Scripted reactions inside callbacks. */
    bool close_in_notify;      /* answer by closing with a reason, from on_notify */
    bool unregister_in_notify;
    bool release_in_closed;    /* release the channel inside its on_closed */
    bool free_in_notify;       /* panp_free_deferred() from on_notify */
    panp_close_result inner_result;
    panp_error_code inner_code;
    struct event_base *base;
} seen;

static void on_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                      const panp_notify *n, void *data)
{
    seen *s = data;
    s->notify++;
    snprintf(s->last_payload, sizeof s->last_payload, "%.*s", (int)n->payload.len,
             (const char *)n->payload.data);
    s->last_conv_id = n->conversation_id;
    if (cv && !s->cv) {
        s->cv = cv;
        panp_conversation_retain(cv);
    }
    panp_status st;
    if (s->close_in_notify && cv)
        s->inner_code = panp_conversation_close(c, cv, "yes", 3, &s->inner_result, &st);
    if (s->unregister_in_notify)
        s->inner_code = panp_unregister_listener(c, reg, &st);
    if (s->free_in_notify) {
        panp_free_deferred(c);
        if (s->base)
            event_base_loopbreak(s->base);
    }
}

static void on_conv_closed(panp_client *c, panp_registration *reg, panp_conversation *cv,
                           const panp_closed_info *info, void *data)
{
    (void)c, (void)reg, (void)cv;
    seen *s = data;
    s->closed++;
    s->last_reason = info->reason;
    s->last_closed = *info;
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
    (void)c, (void)ch;
    seen *s = data;
    s->replies++;
    snprintf(s->last_payload, sizeof s->last_payload, "%.*s", (int)r->payload.len,
             (const char *)r->payload.data);
}

static void on_chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info,
                           void *data)
{
    seen *s = data;
    s->closed++;
    s->last_reason = info->reason;
    s->last_closed = *info;
    if (s->release_in_closed)
        panp_channel_release(c, ch);
}

static void on_conn(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    (void)c, (void)why;
    seen *s = data;
    if (ev == PANP_CONN_UP) s->conn_up++;
    if (ev == PANP_CONN_LOST) s->conn_lost++;
    if (ev == PANP_CONN_RESTORED) s->conn_restored++;
    if (ev == PANP_CONN_DEAD) s->conn_dead++;
}

static panp_register_params reg_params(seen *s, panp_style style)
{
    return (panp_register_params){.type = PANP_TYPE_ASYNC_UI, .style = style,
                                  .on_notify = on_notify, .on_closed = on_conv_closed,
                                  .on_ended = on_ended, .data = s};
}

static panp_channel_params chan_params(seen *s, panp_style style)
{
    return (panp_channel_params){.type = PANP_TYPE_ASYNC_UI, .style = style,
                                 .on_reply = on_reply, .on_closed = on_chan_closed, .data = s};
}

static panp_client *connect_fake(fake *fb, seen *s, panp_options *extra)
{
    panp_options o = extra ? *extra : (panp_options){0};
    o.broker = fake_address(fb);
    o.on_connection = on_conn;
    o.data = s;
    panp_client *c = NULL;
    panp_status st;
    panp_error_code e = panp_connect(&o, &c, &st);
    if (e != PANP_OK)
        fail_msg("connect: %s", st.message);
    return c;
}

/* Polls until *counter reaches n (or 3 s pass). */
static void poll_until(panp_client *c, const int *counter, int n)
{
    panp_status st;
    for (int i = 0; i < 300 && *counter < n; i++)
        panp_poll(c, 10, &st);
    assert_true(*counter >= n);
}

/* ---- basics ------------------------------------------------------------------------ */

static void test_connect_welcome_sync(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.user_name = "alice"});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    const panp_session_info *si = panp_session(c);
    assert_non_null(si);
    assert_string_equal(si->user, "alice");
    assert_int_equal(si->limits.max_frame_size, 65536);
    assert_true(panp_is_connected(c));
    assert_true(panp_fd(c) >= 0);
    assert_int_equal(s.conn_up, 1);
    panp_status st;
    assert_int_equal(panp_sync(c, &st), PANP_OK);
    assert_int_equal(fake_count(fb, PANP_BODY_PING), 1);
    panp_free(c);
    assert_true(fake_wait_count(fb, PANP_BODY_GOODBYE, 1, 2000));
    fake_stop(fb);
}

static void test_refused(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.refuse = PANP_ERR_UNAUTHENTICATED});
    panp_options o = {.broker = fake_address(fb)};
    panp_client *c = (panp_client *)1;
    panp_status st;
    assert_int_equal(panp_connect(&o, &c, &st), PANP_ERR_UNAUTHENTICATED);
    assert_null(c);
    assert_non_null(strstr(st.message, "refused"));
    fake_stop(fb);
}

static void test_no_broker(void **state)
{
    (void)state;
    panp_options o = {.broker = "unix:/nonexistent/panp.sock"};
    panp_client *c;
    panp_status st;
    assert_int_equal(panp_connect(&o, &c, &st), PANP_ERR_CONNECT);
    assert_non_null(strstr(st.message, "/nonexistent/panp.sock"));
    o.broker = "bogus:x";
    assert_int_equal(panp_connect(&o, &c, &st), PANP_ERR_INVALID_ARGUMENT);
    o.broker = "tls:localhost:1"; /* a tls: address is dialled like tcp: (SPEC 4.4) */
    assert_int_equal(panp_connect(&o, &c, &st), PANP_ERR_CONNECT);
}

static void test_notify_and_unregister(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params p = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    p.client_state = "cookie";
    p.client_state_len = 6;
    panp_registration *reg;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, &reg, &st), PANP_OK);
    assert_true(panp_registration_is_live(reg));
    uint8_t h[16];
    fake_handle(1, h);
    assert_memory_equal(panp_registration_handle(reg).data, h, 16);

    panp_frame n = fake_notify(h, 5, 0, 1, "toner low");
    fake_send(fb, &n);
    poll_until(c, &s.notify, 1);
    assert_string_equal(s.last_payload, "toner low");

    /* A unidirectional close reaches the registration, with no object. */
    panp_frame cl = fake_closed(5, 0, h, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    fake_send(fb, &cl);
    poll_until(c, &s.closed, 1);
    assert_int_equal(s.last_reason, PANP_CLOSE_REASON_CLOSED_BY_SENDER);

    assert_int_equal(panp_unregister_listener(c, reg, &st), PANP_OK);
    assert_int_equal(fake_count(fb, PANP_BODY_UNREGISTER), 1);
    /* Nothing for that handle reaches us any more. */
    fake_send(fb, &n);
    assert_int_equal(panp_sync(c, &st), PANP_OK);
    assert_int_equal(s.notify, 1);
    panp_free(c);
    fake_stop(fb);
}

/* ---- seed 001: the close races --------------------------------------------------------- */

static bool cross_close_sender(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_CLOSE_CHANNEL)
        return false;
    /* The listener closed first: its ChannelClosed crosses our close. */
    panp_frame ev = fake_closed(f->body.close_channel.id, 0, NULL,
                                PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    fake_send(fb, &ev);
    panp_frame err = fake_error(f->request_id, PANP_ERR_CHANNEL_ALREADY_CLOSED, false);
    fake_send(fb, &err);
    return true;
}

static void test_sender_close_crossing_closed(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = cross_close_sender});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_channel_params p = chan_params(&s, PANP_STYLE_BIDIRECTIONAL);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_channel_open(c, &p, &ch, &st), PANP_OK);
    assert_true(panp_channel_is_open(ch));
    panp_close_result r = PANP_CLOSE_RESULT_NONE;
    assert_int_equal(panp_channel_close(c, ch, "bye", 3, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.last_reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_false(s.last_closed.by_self);
    /* Again: still a success, still one on_closed, nothing on the wire. */
    assert_int_equal(panp_channel_close(c, ch, NULL, 0, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(s.closed, 1);
    assert_int_equal(fake_count(fb, PANP_BODY_CLOSE_CHANNEL), 1);
    assert_int_equal(panp_channel_send(c, ch, "x", 1, NULL, &st), PANP_ERR_CHANNEL_ALREADY_CLOSED);
    assert_true(panp_channel_is_closed(ch));
    panp_channel_release(c, ch);
    panp_free(c);
    fake_stop(fb);
}

static bool cross_close_listener(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_CLOSE_CHANNEL && f->kind != PANP_BODY_REPLY)
        return false;
    uint64_t conv = f->kind == PANP_BODY_REPLY ? f->body.reply.conversation_id
                                               : f->body.close_channel.id;
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame ev = fake_closed(9, conv, h, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    fake_send(fb, &ev);
    if (f->kind == PANP_BODY_REPLY) {
        panp_frame err = fake_error(f->request_id, PANP_ERR_CHANNEL_ALREADY_CLOSED, false);
        fake_send(fb, &err);
    } else {
        panp_frame r = {.request_id = f->request_id, .kind = PANP_BODY_CHANNEL_CLOSE_RESULT};
        r.body.channel_close_result.outcome = PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER;
        fake_send(fb, &r);
    }
    return true;
}

static void test_listener_close_crossing_answered(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = cross_close_listener});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params p = reg_params(&s, PANP_STYLE_BIDIRECTIONAL);
    panp_registration *reg;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, &reg, &st), PANP_OK);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame q = fake_notify(h, 9, 77, 1, "PIN?");
    fake_send(fb, &q);
    poll_until(c, &s.notify, 1);
    assert_non_null(s.cv);
    assert_int_equal(panp_conversation_id(s.cv), 77);
    panp_close_result r = PANP_CLOSE_RESULT_NONE;
    assert_int_equal(panp_conversation_close(c, s.cv, NULL, 0, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.last_reason, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    assert_true(panp_conversation_is_closed(s.cv));
    /* Closing again, or replying, touches nothing freed. */
    assert_int_equal(panp_conversation_close(c, s.cv, NULL, 0, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(panp_conversation_reply(c, s.cv, "1", 1, &st),
                     PANP_ERR_CHANNEL_ALREADY_CLOSED);
    assert_int_equal(s.closed, 1);
    panp_conversation_release(c, s.cv);

    /* A Reply crossing the same ChannelClosed: the reply fails (it was not
     * taken), the closure is still reported exactly once. */
    s.cv = NULL;
    q = fake_notify(h, 9, 78, 1, "PIN?");
    fake_send(fb, &q);
    poll_until(c, &s.notify, 2);
    assert_int_equal(panp_conversation_reply(c, s.cv, "1234", 4, &st),
                     PANP_ERR_CHANNEL_ALREADY_CLOSED);
    assert_int_equal(s.closed, 2);
    panp_conversation_release(c, s.cv);
    panp_free(c);
    fake_stop(fb);
}

static void test_unknown_conversation_closed(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params p = reg_params(&s, PANP_STYLE_BIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, NULL, &st), PANP_OK);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame ev = fake_closed(3, 55, h, PANP_CLOSE_REASON_SLOW_CONSUMER);
    fake_send(fb, &ev);
    poll_until(c, &s.closed, 1);
    assert_int_equal(s.last_closed.conversation_id, 55);
    assert_int_equal(s.last_reason, PANP_CLOSE_REASON_SLOW_CONSUMER);
    panp_free(c);
    fake_stop(fb);
}

/* ---- callbacks that act on their own object --------------------------------------------- */

static void test_close_inside_notify(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {.close_in_notify = true};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params p = reg_params(&s, PANP_STYLE_BIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, NULL, &st), PANP_OK);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame q = fake_notify(h, 4, 40, 1, "OK to print?");
    fake_send(fb, &q);
    poll_until(c, &s.closed, 1);
    assert_int_equal(s.inner_code, PANP_OK);
    assert_int_equal(s.inner_result, PANP_CLOSE_RESULT_CLOSED);
    assert_true(s.last_closed.by_self);
    assert_true(s.last_closed.has_reason);
    assert_int_equal(s.last_reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    bool has_reason = false;
    assert_true(fake_last_close(fb, &has_reason));
    assert_true(has_reason);
    panp_conversation_release(c, s.cv);
    panp_free(c);
    fake_stop(fb);
}

static void test_unregister_inside_notify(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {.unregister_in_notify = true};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params p = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, NULL, &st), PANP_OK);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame n1 = fake_notify(h, 4, 0, 1, "one");
    panp_frame n2 = fake_notify(h, 4, 0, 2, "two");
    fake_send(fb, &n1);
    fake_send(fb, &n2); /* already on its way when we unregister */
    poll_until(c, &s.notify, 1);
    assert_int_equal(panp_sync(c, &st), PANP_OK);
    assert_int_equal(s.inner_code, PANP_OK);
    assert_int_equal(s.notify, 1);
    assert_int_equal(fake_count(fb, PANP_BODY_UNREGISTER), 1);
    panp_free(c);
    fake_stop(fb);
}

static void test_release_inside_closed(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {.release_in_closed = true};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_channel_params p = chan_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_channel_open(c, &p, &ch, &st), PANP_OK);
    panp_frame ev = fake_closed(panp_channel_id(ch), 0, NULL, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    fake_send(fb, &ev);
    poll_until(c, &s.closed, 1);
    assert_true(s.last_closed.release);
    /* ch is gone (released inside the callback); the context is fine. */
    assert_int_equal(panp_sync(c, &st), PANP_OK);
    panp_free(c);
    fake_stop(fb);
}

static void test_deferred_free_blocking(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {.free_in_notify = true};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params p = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_register_listener(c, &p, NULL, &st), PANP_OK);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame n = fake_notify(h, 4, 0, 1, "bye");
    fake_send(fb, &n);
    while (s.notify == 0)
        panp_poll(c, 10, &st);
    /* c was freed as panp_poll returned: not touched again. */
    assert_true(fake_wait_count(fb, PANP_BODY_GOODBYE, 1, 2000));
    fake_stop(fb);
}

/* ---- losing the broker ---------------------------------------------------------------------- */

static void test_connection_lost(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen ls = {0}, ss = {0};
    panp_client *c = connect_fake(fb, &ls, NULL);
    panp_register_params rp = reg_params(&ls, PANP_STYLE_BIDIRECTIONAL);
    panp_channel_params cp = chan_params(&ss, PANP_STYLE_BIDIRECTIONAL);
    panp_registration *reg;
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &rp, &reg, &st), PANP_OK);
    assert_int_equal(panp_channel_open(c, &cp, &ch, &st), PANP_OK);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame q = fake_notify(h, 99, 100, 1, "?");
    fake_send(fb, &q);
    poll_until(c, &ls.notify, 1);
    fake_drop(fb);
    poll_until(c, &ls.conn_dead, 1);
    /* Exactly a broker-side peer death: PEER_GONE + NOTIFICATION_RELEASE. */
    assert_int_equal(ss.closed, 1);
    assert_int_equal(ss.last_reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_true(ss.last_closed.release && ss.last_closed.connection_lost);
    assert_int_equal(ls.closed, 1);
    assert_int_equal(ls.last_reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_int_equal(ls.ended, 1);
    assert_int_equal((int)ls.last_end, (int)PANP_REG_END_DISCONNECTED);
    assert_int_equal(panp_poll(c, 0, &st), PANP_ERR_DISCONNECTED);
    assert_int_equal(panp_channel_send(c, ch, "x", 1, NULL, &st), PANP_ERR_CHANNEL_ALREADY_CLOSED);
    panp_close_result r;
    assert_int_equal(panp_channel_close(c, ch, NULL, 0, &r, &st), PANP_OK);
    assert_int_equal(r, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(panp_unregister_listener(c, reg, &st), PANP_OK);
    assert_int_equal(panp_sync(c, &st), PANP_ERR_DISCONNECTED);
    panp_conversation_release(c, ls.cv);
    panp_channel_release(c, ch);
    panp_free(c);
    fake_stop(fb);
}

static void test_reconnect(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {0}, ss = {0};
    panp_options o = {.reconnect = true, .reconnect_min_ms = 20, .reconnect_max_ms = 80};
    panp_client *c = connect_fake(fb, &s, &o);
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel_params cp = chan_params(&ss, PANP_STYLE_UNIDIRECTIONAL);
    panp_registration *reg;
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &rp, &reg, &st), PANP_OK);
    assert_int_equal(panp_channel_open(c, &cp, &ch, &st), PANP_OK);

    /* The broker is down for a while: a few attempts fail. */
    fake_pause(fb, true);
    fake_drop(fb);
    poll_until(c, &s.conn_lost, 1);
    assert_int_equal(ss.closed, 1);
    assert_true(ss.last_closed.connection_lost);
    assert_int_equal(s.ended, 0); /* registrations survive a reconnect */
    assert_false(panp_registration_is_live(reg));
    assert_int_equal(panp_channel_send(c, ch, "x", 1, NULL, &st), PANP_ERR_CHANNEL_ALREADY_CLOSED);
    for (int i = 0; i < 20; i++)
        panp_poll(c, 10, &st);
    assert_int_equal(s.conn_restored, 0);
    fake_pause(fb, false);
    poll_until(c, &s.conn_restored, 1);
    assert_true(fake_wait_count(fb, PANP_BODY_REGISTER, 2, 2000));
    assert_int_equal(panp_sync(c, &st), PANP_OK);
    assert_true(panp_registration_is_live(reg));
    uint8_t h[16];
    fake_handle(2, h);
    assert_memory_equal(panp_registration_handle(reg).data, h, 16);
    panp_frame n = fake_notify(h, 7, 0, 1, "after");
    fake_send(fb, &n);
    poll_until(c, &s.notify, 1);
    assert_string_equal(s.last_payload, "after");
    panp_channel_release(c, ch);
    panp_free(c);
    fake_stop(fb);
}

static void test_keepalive(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.limits = {.keepalive_interval_ms = 50,
                                                    .keepalive_timeout_ms = 1000}});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_status st;
    for (int i = 0; i < 25; i++)
        panp_poll(c, 10, &st);
    assert_true(fake_count(fb, PANP_BODY_PING) >= 2);
    assert_true(panp_is_connected(c));
    panp_free(c);
    fake_stop(fb);
}

static void test_auto_renew(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params auto_p = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_register_params manual_p = reg_params(&s, PANP_STYLE_BIDIRECTIONAL);
    auto_p.lease_seconds = 1;     /* the fake grants what is asked */
    manual_p.lease_seconds = 1;
    manual_p.no_auto_renew = true;
    panp_registration *a, *m;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &auto_p, &a, &st), PANP_OK);
    assert_int_equal(panp_register_listener(c, &manual_p, &m, &st), PANP_OK);
    for (int i = 0; i < 130; i++)
        panp_poll(c, 10, &st);
    /* Renewed at half-life: about twice in 1.3 s, only the automatic one. */
    int n = fake_count(fb, PANP_BODY_RENEW);
    assert_true(n >= 1 && n <= 3);
    assert_int_equal(panp_registration_lease(a), 1);
    panp_free(c);
    fake_stop(fb);
}

static bool swallow_send(fake *fb, const panp_frame *f, void *user)
{
    (void)fb, (void)user;
    return f->kind == PANP_BODY_SEND; /* never answered */
}

static void test_request_timeout(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = swallow_send});
    seen s = {0};
    panp_options o = {.request_timeout_ms = 150};
    panp_client *c = connect_fake(fb, &s, &o);
    panp_channel_params cp = chan_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_channel_open(c, &cp, &ch, &st), PANP_OK);
    assert_int_equal(panp_channel_send(c, ch, "x", 1, NULL, &st), PANP_ERR_TIMEOUT);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.conn_dead, 1);
    assert_false(panp_is_connected(c));
    panp_channel_release(c, ch);
    panp_free(c);
    fake_stop(fb);
}

static bool wrong_id(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_PING)
        return false;
    panp_frame r = {.request_id = f->request_id + 1000, .kind = PANP_BODY_PONG};
    fake_send(fb, &r);
    return true;
}

static void test_broken_broker(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = wrong_id});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_status st;
    assert_int_equal(panp_sync(c, &st), PANP_ERR_DISCONNECTED);
    assert_int_equal(panp_last_error(c)->code, PANP_ERR_PROTOCOL_VIOLATION);
    panp_free(c);
    fake_stop(fb);
}

static bool goodbye_on_send(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_SEND)
        return false;
    panp_frame g = {.kind = PANP_BODY_GOODBYE};
    g.body.goodbye.reason = PANP_GOODBYE_SERVER_SHUTDOWN;
    g.body.goodbye.message = "maintenance";
    fake_send(fb, &g);
    return true;
}

static void test_goodbye(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = goodbye_on_send});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_channel_params cp = chan_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_channel_open(c, &cp, &ch, &st), PANP_OK);
    assert_int_equal(panp_channel_send(c, ch, "x", 1, NULL, &st), PANP_ERR_DISCONNECTED);
    assert_non_null(strstr(st.message, "server shutdown"));
    assert_non_null(strstr(st.message, "maintenance"));
    assert_int_equal(s.closed, 1);
    panp_channel_release(c, ch);
    panp_free(c);
    fake_stop(fb);
}

static bool fatal_register(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_REGISTER)
        return false;
    panp_frame e = fake_error(f->request_id, PANP_ERR_INVALID_ARGUMENT, true);
    fake_send(fb, &e);
    return true;
}

static void test_fatal_error(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = fatal_register});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_registration *reg = (panp_registration *)1;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &rp, &reg, &st), PANP_ERR_INVALID_ARGUMENT);
    assert_null(reg);
    assert_false(panp_is_connected(c));
    assert_int_equal(s.conn_dead, 1);
    panp_free(c);
    fake_stop(fb);
}

static bool notify_behind_sent(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_SEND)
        return false;
    panp_frame sent = {.request_id = f->request_id, .kind = PANP_BODY_SENT};
    sent.body.sent.sequence = 1;
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame n = fake_notify(h, 8, 0, 1, "behind");
    fake_send2(fb, &sent, &n);
    return true;
}

static void test_blocking_call_keeps_wire_order(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = notify_behind_sent});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel_params cp = chan_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &rp, NULL, &st), PANP_OK);
    assert_int_equal(panp_channel_open(c, &cp, &ch, &st), PANP_OK);
    assert_false(panp_pending(c));
    assert_int_equal(panp_channel_send(c, ch, "x", 1, NULL, &st), PANP_OK);
    /* The Notify that followed the Sent is buffered, not yet dispatched. */
    assert_int_equal(s.notify, 0);
    assert_true(panp_pending(c));
    assert_int_equal(panp_poll(c, 0, &st), PANP_OK);
    assert_int_equal(s.notify, 1);
    assert_false(panp_pending(c));
    panp_channel_release(c, ch);
    panp_free(c);
    fake_stop(fb);
}

/* ---- listing ------------------------------------------------------------------------------ */

static bool paged_list(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_LIST_REGISTRATIONS)
        return false;
    static panp_registration_info e[3];
    static uint8_t h1[16];
    fake_handle(1, h1);
    for (int i = 0; i < 3; i++) {
        e[i] = (panp_registration_info){.user = i ? "bob" : "tester",
                                        .target = {PANP_TARGET_PRINTER, "lobby"},
                                        .notification_type = {PANP_TYPE_ASYNC_UI, 16},
                                        .user_filter = PANP_USER_FILTER_PER_USER,
                                        .style = PANP_STYLE_UNIDIRECTIONAL,
                                        .lease_remaining_seconds = 10u * (unsigned)i};
    }
    e[0].handle = (panp_bytes){h1, 16};
    uint32_t off = f->body.list_registrations.offset;
    panp_frame r = {.request_id = f->request_id, .kind = PANP_BODY_REGISTRATION_LIST};
    r.body.registration_list.total = 3;
    r.body.registration_list.registrations = e + off;
    r.body.registration_list.registrations_count = off == 0 ? 2 : 1;
    fake_send(fb, &r);
    return true;
}

static void test_list_paging(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = paged_list});
    seen s = {0};
    panp_client *c = connect_fake(fb, &s, NULL);
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_registration *reg;
    panp_status st;
    assert_int_equal(panp_register_listener(c, &rp, &reg, &st), PANP_OK);
    panp_target t = {PANP_TARGET_PRINTER, "lobby"};
    panp_reg_list l;
    assert_int_equal(panp_get_registrations(c, &t, &l, &st), PANP_OK);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.total, 3);
    assert_ptr_equal(l.entries[0].registration, reg);
    assert_null(l.entries[1].registration);
    assert_string_equal(l.entries[2].user, "bob");
    assert_string_equal(l.entries[2].printer, "lobby");
    assert_int_equal(l.entries[2].lease_remaining_seconds, 20);
    assert_int_equal(fake_count(fb, PANP_BODY_LIST_REGISTRATIONS), 2);
    panp_reg_list_free(&l);
    panp_free(c);
    fake_stop(fb);
}

/* ---- the event-loop API ---------------------------------------------------------------------- */

typedef struct order {
    int n;
    int kinds[8];
    panp_error_code codes[8];
    panp_close_result close;
} order;

static void record(panp_client *c, const panp_result *r, void *data)
{
    (void)c;
    order *o = data;
    if (o->n < 8) {
        o->codes[o->n] = r->code;
        o->kinds[o->n++] = r->channel ? (int)r->sequence : -1;
    }
    if (r->close)
        o->close = r->close;
}

static void test_async_poll_deferred_sends(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {0};
    panp_options o = {.broker = fake_address(fb), .on_connection = on_conn, .data = &s};
    panp_client *c;
    panp_status st;
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_OK);
    panp_poll_adapter pa;
    assert_int_equal(panp_poll_adapter_attach(&pa, c, &st), PANP_OK);
    /* Everything is queued before the Welcome, sends before ChannelOpened. */
    order ord = {0};
    panp_channel_params cp = chan_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    assert_int_equal(panp_async_channel_open(c, &cp, &ch, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_channel_send(c, ch, "a", 1, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_channel_send(c, ch, "b", 1, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_channel_close(c, ch, NULL, 0, record, &ord, &st), PANP_OK);
    /* Blocking calls are refused on an async context. */
    assert_int_equal(panp_sync(c, &st), PANP_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 300 && ord.n < 4; i++)
        panp_poll_adapter_run_once(&pa, 10);
    assert_int_equal(ord.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ord.codes[i], PANP_OK);
    assert_int_equal(ord.kinds[1], 1); /* sequences in order */
    assert_int_equal(ord.kinds[2], 2);
    assert_int_equal(ord.close, PANP_CLOSE_RESULT_CLOSED);
    assert_int_equal(s.conn_up, 1);
    assert_int_equal(s.closed, 1);
    assert_true(s.last_closed.by_self);

    /* A close of a closed channel completes, but not inside the call. */
    order again = {0};
    assert_int_equal(panp_async_channel_close(c, ch, NULL, 0, record, &again, &st), PANP_OK);
    assert_int_equal(again.n, 0);
    assert_int_equal(panp_poll_adapter_timeout(&pa), 0);
    panp_poll_adapter_run_once(&pa, 10);
    assert_int_equal(again.n, 1);
    assert_int_equal(again.close, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    /* A request that fails at once never calls back. */
    assert_int_equal(panp_async_channel_send(c, ch, "x", 1, record, &again, &st),
                     PANP_ERR_CHANNEL_ALREADY_CLOSED);
    panp_poll_adapter_run_once(&pa, 0);
    assert_int_equal(again.n, 1);
    panp_channel_release(c, ch);
    panp_free(c);
    assert_null(pa.c);
    fake_stop(fb);
}

static void test_async_unregister_while_pending(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    seen s = {0};
    panp_options o = {.broker = fake_address(fb)};
    panp_client *c;
    panp_status st;
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_OK);
    panp_poll_adapter pa;
    assert_int_equal(panp_poll_adapter_attach(&pa, c, &st), PANP_OK);
    order ord = {0};
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    panp_registration *reg;
    assert_int_equal(panp_async_register_listener(c, &rp, &reg, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_unregister_listener(c, reg, record, &ord, &st), PANP_OK);
    for (int i = 0; i < 300 && ord.n < 2; i++)
        panp_poll_adapter_run_once(&pa, 10);
    assert_int_equal(ord.n, 2);
    assert_int_equal(ord.codes[0], PANP_OK);
    assert_int_equal(ord.codes[1], PANP_OK);
    assert_int_equal(fake_count(fb, PANP_BODY_UNREGISTER), 1);
    panp_free(c);
    fake_stop(fb);
}

static bool notify_after_register(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    if (f->kind != PANP_BODY_REGISTER)
        return false;
    fake_default(fb, f);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame n = fake_notify(h, 3, 0, 1, "from libevent");
    fake_send(fb, &n);
    return true;
}

static void test_async_libevent_deferred_free(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){.handler = notify_after_register});
    struct event_base *base = event_base_new();
    seen s = {.free_in_notify = true, .base = base};
    panp_options o = {.broker = fake_address(fb)};
    panp_client *c;
    panp_status st;
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_OK);
    assert_int_equal(panp_libevent_attach(c, base, &st), PANP_OK);
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    assert_int_equal(panp_async_register_listener(c, &rp, NULL, NULL, NULL, &st), PANP_OK);
    struct timeval limit = {3, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    assert_int_equal(s.notify, 1);
    assert_string_equal(s.last_payload, "from libevent");
    /* The context freed itself (and the adapter) after the callback. */
    event_base_free(base);
    assert_true(fake_wait_count(fb, PANP_BODY_GOODBYE, 1, 2000));
    fake_stop(fb);
}

static void test_async_reconnect_libevent(void **state)
{
    (void)state;
    fake *fb = fake_start(&(fake_config){0});
    struct event_base *base = event_base_new();
    seen s = {0};
    panp_options o = {.broker = fake_address(fb), .reconnect = true, .reconnect_min_ms = 20,
                      .on_connection = on_conn, .data = &s};
    panp_client *c;
    panp_status st;
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_OK);
    assert_int_equal(panp_libevent_attach(c, base, &st), PANP_OK);
    panp_register_params rp = reg_params(&s, PANP_STYLE_UNIDIRECTIONAL);
    assert_int_equal(panp_async_register_listener(c, &rp, NULL, NULL, NULL, &st), PANP_OK);
    for (int i = 0; i < 300 && !fake_count(fb, PANP_BODY_REGISTER); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    fake_drop(fb);
    for (int i = 0; i < 3000 && s.conn_restored == 0; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    assert_int_equal(s.conn_lost, 1);
    assert_int_equal(s.conn_restored, 1);
    assert_true(fake_wait_count(fb, PANP_BODY_REGISTER, 2, 2000));
    panp_free(c);
    event_base_free(base);
    fake_stop(fb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_welcome_sync),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_no_broker),
        cmocka_unit_test(test_notify_and_unregister),
        cmocka_unit_test(test_sender_close_crossing_closed),
        cmocka_unit_test(test_listener_close_crossing_answered),
        cmocka_unit_test(test_unknown_conversation_closed),
        cmocka_unit_test(test_close_inside_notify),
        cmocka_unit_test(test_unregister_inside_notify),
        cmocka_unit_test(test_release_inside_closed),
        cmocka_unit_test(test_deferred_free_blocking),
        cmocka_unit_test(test_connection_lost),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_auto_renew),
        cmocka_unit_test(test_request_timeout),
        cmocka_unit_test(test_broken_broker),
        cmocka_unit_test(test_goodbye),
        cmocka_unit_test(test_fatal_error),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_blocking_call_keeps_wire_order),
        cmocka_unit_test(test_async_poll_deferred_sends),
        cmocka_unit_test(test_async_unregister_while_pending),
        cmocka_unit_test(test_async_libevent_deferred_free),
        cmocka_unit_test(test_async_reconnect_libevent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
