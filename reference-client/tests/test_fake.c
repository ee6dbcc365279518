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

static panp_client *connect_fake(fake *fb, seen *s, const panp_options *extra, bool async)
{
    panp_options o = *extra;
    o.broker = fake_address(fb);
    o.on_connection = on_conn;
    o.data = s;
    panp_client *c = NULL;
    panp_status st;
    panp_error_code e = async ? panp_async_connect(&o, &c, &st) : panp_connect(&o, &c, &st);
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

/* ---- one fake broker and one client per test: the fixtures main() gives tests ------- */

typedef struct rig {
    fake_config cfg;   /* given per test in main() */
    panp_options opts; /* likewise: beyond the broker and on_connection */
    bool async;        /* an event-loop context; the test attaches its adapter */
    bool poll;         /* async too, with the rig's own poll adapter attached */
    panp_poll_adapter pa;
    fake *fb;
    panp_client *c;    /* NULL once the test has freed it */
    seen s;            /* the client's callbacks; tests set its scripted reactions first */
    uint8_t h[16];     /* the handle the fake gives the run's first Register */
} rig;

static int rig_setup(void **state)
{
    rig *r = *state;
    r->fb = fake_start(&r->cfg);
    r->c = connect_fake(r->fb, &r->s, &r->opts, r->async || r->poll);
    fake_handle(1, r->h);
    panp_status st;
    if (r->poll && panp_poll_adapter_attach(&r->pa, r->c, &st) != PANP_OK)
        fail_msg("attach: %s", st.message);
    return 0;
}

static int rig_teardown(void **state)
{
    rig *r = *state;
    if (r->c)
        panp_free(r->c);
    fake_stop(r->fb);
    return 0;
}

static panp_registration *rig_listen(rig *r, panp_style style)
{
    panp_register_params p = reg_params(&r->s, style);
    panp_registration *reg;
    panp_status st;
    assert_int_equal(panp_register_listener(r->c, &p, &reg, &st), PANP_OK);
    return reg;
}

static panp_channel *rig_open(rig *r, seen *s, panp_style style)
{
    panp_channel_params p = chan_params(s, style);
    panp_channel *ch;
    panp_status st;
    assert_int_equal(panp_channel_open(r->c, &p, &ch, &st), PANP_OK);
    return ch;
}

/* A Notify addressed to r->h, which a test moves to a later registration. */
static void rig_notify(rig *r, uint64_t channel, uint64_t conv, uint64_t seq, const char *payload)
{
    panp_frame n = fake_notify(r->h, channel, conv, seq, payload);
    fake_send(r->fb, &n);
}

static void send_closed(fake *fb, uint64_t channel, uint64_t conv, const uint8_t *handle,
                        panp_close_reason why)
{
    panp_frame ev = fake_closed(channel, conv, handle, why);
    fake_send(fb, &ev);
}

static void send_error(fake *fb, uint64_t request_id, panp_error_code code, bool fatal)
{
    panp_frame e = fake_error(request_id, code, fatal);
    fake_send(fb, &e);
}

/* ---- basics ------------------------------------------------------------------------ */

static void test_connect_welcome_sync(void **state)
{
    rig *r = *state;
    const panp_session_info *si = panp_session(r->c);
    assert_non_null(si);
    assert_string_equal(si->user, "alice");
    assert_int_equal(si->limits.max_frame_size, 65536);
    assert_true(panp_is_connected(r->c));
    assert_true(panp_fd(r->c) >= 0);
    assert_int_equal(r->s.conn_up, 1);
    panp_status st;
    assert_int_equal(panp_sync(r->c, &st), PANP_OK);
    assert_int_equal(fake_count(r->fb, PANP_BODY_PING), 1);
    panp_free(r->c);
    r->c = NULL;
    assert_true(fake_wait_count(r->fb, PANP_BODY_GOODBYE, 1, 2000));
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
    rig *r = *state;
    panp_register_params p = reg_params(&r->s, PANP_STYLE_UNIDIRECTIONAL);
    p.client_state = "cookie";
    p.client_state_len = 6;
    panp_registration *reg;
    panp_status st;
    assert_int_equal(panp_register_listener(r->c, &p, &reg, &st), PANP_OK);
    assert_true(panp_registration_is_live(reg));
    assert_memory_equal(panp_registration_handle(reg).data, r->h, 16);

    rig_notify(r, 5, 0, 1, "toner low");
    poll_until(r->c, &r->s.notify, 1);
    assert_string_equal(r->s.last_payload, "toner low");

    /* A unidirectional close reaches the registration, with no object. */
    send_closed(r->fb, 5, 0, r->h, PANP_CLOSE_REASON_CLOSED_BY_SENDER);
    poll_until(r->c, &r->s.closed, 1);
    assert_int_equal(r->s.last_reason, PANP_CLOSE_REASON_CLOSED_BY_SENDER);

    assert_int_equal(panp_unregister_listener(r->c, reg, &st), PANP_OK);
    assert_int_equal(fake_count(r->fb, PANP_BODY_UNREGISTER), 1);
    /* Nothing for that handle reaches us any more. */
    rig_notify(r, 5, 0, 1, "toner low");
    assert_int_equal(panp_sync(r->c, &st), PANP_OK);
    assert_int_equal(r->s.notify, 1);
}

/* ---- seed 001: the close races --------------------------------------------------------- */

static bool cross_close_sender(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    /* The listener closed first: its ChannelClosed crosses our close. */
    send_closed(fb, f->body.close_channel.id, 0, NULL, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    send_error(fb, f->request_id, PANP_ERR_CHANNEL_ALREADY_CLOSED, false);
    return true;
}

static void test_sender_close_crossing_closed(void **state)
{
    rig *r = *state;
    panp_channel *ch = rig_open(r, &r->s, PANP_STYLE_BIDIRECTIONAL);
    assert_true(panp_channel_is_open(ch));
    panp_close_result cr = PANP_CLOSE_RESULT_NONE;
    panp_status st;
    assert_int_equal(panp_channel_close(r->c, ch, "bye", 3, &cr, &st), PANP_OK);
    assert_int_equal(cr, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(r->s.closed, 1);
    assert_int_equal(r->s.last_reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    assert_false(r->s.last_closed.by_self);
    /* Again: still a success, still one on_closed, nothing on the wire. */
    assert_int_equal(panp_channel_close(r->c, ch, NULL, 0, &cr, &st), PANP_OK);
    assert_int_equal(cr, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(r->s.closed, 1);
    assert_int_equal(fake_count(r->fb, PANP_BODY_CLOSE_CHANNEL), 1);
    assert_int_equal(panp_channel_send(r->c, ch, "x", 1, NULL, &st), PANP_ERR_CHANNEL_ALREADY_CLOSED);
    assert_true(panp_channel_is_closed(ch));
    panp_channel_release(r->c, ch);
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
    send_closed(fb, 9, conv, h, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    if (f->kind == PANP_BODY_REPLY) {
        send_error(fb, f->request_id, PANP_ERR_CHANNEL_ALREADY_CLOSED, false);
    } else {
        panp_frame r = {.request_id = f->request_id, .kind = PANP_BODY_CHANNEL_CLOSE_RESULT};
        r.body.channel_close_result.outcome = PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER;
        fake_send(fb, &r);
    }
    return true;
}

static void test_listener_close_crossing_answered(void **state)
{
    rig *r = *state;
    rig_listen(r, PANP_STYLE_BIDIRECTIONAL);
    rig_notify(r, 9, 77, 1, "PIN?");
    poll_until(r->c, &r->s.notify, 1);
    assert_non_null(r->s.cv);
    assert_int_equal(panp_conversation_id(r->s.cv), 77);
    panp_close_result cr = PANP_CLOSE_RESULT_NONE;
    panp_status st;
    assert_int_equal(panp_conversation_close(r->c, r->s.cv, NULL, 0, &cr, &st), PANP_OK);
    assert_int_equal(cr, PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER);
    assert_int_equal(r->s.closed, 1);
    assert_int_equal(r->s.last_reason, PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER);
    assert_true(panp_conversation_is_closed(r->s.cv));
    /* Closing again, or replying, touches nothing freed. */
    assert_int_equal(panp_conversation_close(r->c, r->s.cv, NULL, 0, &cr, &st), PANP_OK);
    assert_int_equal(cr, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(panp_conversation_reply(r->c, r->s.cv, "1", 1, &st),
                     PANP_ERR_CHANNEL_ALREADY_CLOSED);
    assert_int_equal(r->s.closed, 1);
    panp_conversation_release(r->c, r->s.cv);

    /* A Reply crossing the same ChannelClosed: the reply fails (it was not
     * taken), the closure is still reported exactly once. */
    r->s.cv = NULL;
    rig_notify(r, 9, 78, 1, "PIN?");
    poll_until(r->c, &r->s.notify, 2);
    assert_int_equal(panp_conversation_reply(r->c, r->s.cv, "1234", 4, &st),
                     PANP_ERR_CHANNEL_ALREADY_CLOSED);
    assert_int_equal(r->s.closed, 2);
    panp_conversation_release(r->c, r->s.cv);
}

static void test_unknown_conversation_closed(void **state)
{
    rig *r = *state;
    rig_listen(r, PANP_STYLE_BIDIRECTIONAL);
    send_closed(r->fb, 3, 55, r->h, PANP_CLOSE_REASON_SLOW_CONSUMER);
    poll_until(r->c, &r->s.closed, 1);
    assert_int_equal(r->s.last_closed.conversation_id, 55);
    assert_int_equal(r->s.last_reason, PANP_CLOSE_REASON_SLOW_CONSUMER);
}

/* ---- callbacks that act on their own object --------------------------------------------- */

static void test_close_inside_notify(void **state)
{
    rig *r = *state;
    r->s.close_in_notify = true;
    rig_listen(r, PANP_STYLE_BIDIRECTIONAL);
    rig_notify(r, 4, 40, 1, "OK to print?");
    poll_until(r->c, &r->s.closed, 1);
    assert_int_equal(r->s.inner_code, PANP_OK);
    assert_int_equal(r->s.inner_result, PANP_CLOSE_RESULT_CLOSED);
    assert_true(r->s.last_closed.by_self);
    assert_true(r->s.last_closed.has_reason);
    assert_int_equal(r->s.last_reason, PANP_CLOSE_REASON_CLOSED_BY_LISTENER);
    bool has_reason = false;
    assert_true(fake_last_close(r->fb, &has_reason));
    assert_true(has_reason);
    panp_conversation_release(r->c, r->s.cv);
}

static void test_unregister_inside_notify(void **state)
{
    rig *r = *state;
    r->s.unregister_in_notify = true;
    rig_listen(r, PANP_STYLE_UNIDIRECTIONAL);
    rig_notify(r, 4, 0, 1, "one");
    rig_notify(r, 4, 0, 2, "two"); /* already on its way when we unregister */
    poll_until(r->c, &r->s.notify, 1);
    panp_status st;
    assert_int_equal(panp_sync(r->c, &st), PANP_OK);
    assert_int_equal(r->s.inner_code, PANP_OK);
    assert_int_equal(r->s.notify, 1);
    assert_int_equal(fake_count(r->fb, PANP_BODY_UNREGISTER), 1);
}

static void test_release_inside_closed(void **state)
{
    rig *r = *state;
    r->s.release_in_closed = true;
    panp_channel *ch = rig_open(r, &r->s, PANP_STYLE_UNIDIRECTIONAL);
    send_closed(r->fb, panp_channel_id(ch), 0, NULL, PANP_CLOSE_REASON_SERVER_SHUTDOWN);
    poll_until(r->c, &r->s.closed, 1);
    assert_true(r->s.last_closed.release);
    /* ch is gone (released inside the callback); the context is fine. */
    panp_status st;
    assert_int_equal(panp_sync(r->c, &st), PANP_OK);
}

static void test_deferred_free_blocking(void **state)
{
    rig *r = *state;
    r->s.free_in_notify = true;
    rig_listen(r, PANP_STYLE_UNIDIRECTIONAL);
    rig_notify(r, 4, 0, 1, "bye");
    panp_status st;
    while (r->s.notify == 0)
        panp_poll(r->c, 10, &st);
    /* c was freed as panp_poll returned: not touched again. */
    r->c = NULL;
    assert_true(fake_wait_count(r->fb, PANP_BODY_GOODBYE, 1, 2000));
}

/* ---- losing the broker ---------------------------------------------------------------------- */

static void test_connection_lost(void **state)
{
    rig *r = *state;
    seen ss = {0};
    panp_registration *reg = rig_listen(r, PANP_STYLE_BIDIRECTIONAL);
    panp_channel *ch = rig_open(r, &ss, PANP_STYLE_BIDIRECTIONAL);
    rig_notify(r, 99, 100, 1, "?");
    poll_until(r->c, &r->s.notify, 1);
    fake_drop(r->fb);
    poll_until(r->c, &r->s.conn_dead, 1);
    /* Exactly a broker-side peer death: PEER_GONE + NOTIFICATION_RELEASE. */
    assert_int_equal(ss.closed, 1);
    assert_int_equal(ss.last_reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_true(ss.last_closed.release && ss.last_closed.connection_lost);
    assert_int_equal(r->s.closed, 1);
    assert_int_equal(r->s.last_reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_int_equal(r->s.ended, 1);
    assert_int_equal((int)r->s.last_end, (int)PANP_REG_END_DISCONNECTED);
    panp_status st;
    assert_int_equal(panp_poll(r->c, 0, &st), PANP_ERR_DISCONNECTED);
    assert_int_equal(panp_channel_send(r->c, ch, "x", 1, NULL, &st), PANP_ERR_CHANNEL_ALREADY_CLOSED);
    panp_close_result cr;
    assert_int_equal(panp_channel_close(r->c, ch, NULL, 0, &cr, &st), PANP_OK);
    assert_int_equal(cr, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    assert_int_equal(panp_unregister_listener(r->c, reg, &st), PANP_OK);
    assert_int_equal(panp_sync(r->c, &st), PANP_ERR_DISCONNECTED);
    panp_conversation_release(r->c, r->s.cv);
    panp_channel_release(r->c, ch);
}

static void test_reconnect(void **state)
{
    rig *r = *state;
    seen ss = {0};
    panp_registration *reg = rig_listen(r, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch = rig_open(r, &ss, PANP_STYLE_UNIDIRECTIONAL);

    /* The broker is down for a while: a few attempts fail. */
    fake_pause(r->fb, true);
    fake_drop(r->fb);
    poll_until(r->c, &r->s.conn_lost, 1);
    assert_int_equal(ss.closed, 1);
    assert_true(ss.last_closed.connection_lost);
    assert_int_equal(r->s.ended, 0); /* registrations survive a reconnect */
    assert_false(panp_registration_is_live(reg));
    panp_status st;
    assert_int_equal(panp_channel_send(r->c, ch, "x", 1, NULL, &st), PANP_ERR_CHANNEL_ALREADY_CLOSED);
    for (int i = 0; i < 20; i++)
        panp_poll(r->c, 10, &st);
    assert_int_equal(r->s.conn_restored, 0);
    fake_pause(r->fb, false);
    poll_until(r->c, &r->s.conn_restored, 1);
    assert_true(fake_wait_count(r->fb, PANP_BODY_REGISTER, 2, 2000));
    assert_int_equal(panp_sync(r->c, &st), PANP_OK);
    assert_true(panp_registration_is_live(reg));
    /* The re-registration got the run's second handle. */
    fake_handle(2, r->h);
    assert_memory_equal(panp_registration_handle(reg).data, r->h, 16);
    rig_notify(r, 7, 0, 1, "after");
    poll_until(r->c, &r->s.notify, 1);
    assert_string_equal(r->s.last_payload, "after");
    panp_channel_release(r->c, ch);
}

static void test_keepalive(void **state)
{
    rig *r = *state;
    panp_status st;
    for (int i = 0; i < 25; i++)
        panp_poll(r->c, 10, &st);
    assert_true(fake_count(r->fb, PANP_BODY_PING) >= 2);
    assert_true(panp_is_connected(r->c));
}

static void test_auto_renew(void **state)
{
    rig *r = *state;
    panp_register_params auto_p = reg_params(&r->s, PANP_STYLE_UNIDIRECTIONAL);
    panp_register_params manual_p = reg_params(&r->s, PANP_STYLE_BIDIRECTIONAL);
    auto_p.lease_seconds = 1;     /* the fake grants what is asked */
    manual_p.lease_seconds = 1;
    manual_p.no_auto_renew = true;
    panp_registration *a, *m;
    panp_status st;
    assert_int_equal(panp_register_listener(r->c, &auto_p, &a, &st), PANP_OK);
    assert_int_equal(panp_register_listener(r->c, &manual_p, &m, &st), PANP_OK);
    for (int i = 0; i < 130; i++)
        panp_poll(r->c, 10, &st);
    /* Renewed at half-life: about twice in 1.3 s, only the automatic one. */
    int n = fake_count(r->fb, PANP_BODY_RENEW);
    assert_true(n >= 1 && n <= 3);
    assert_int_equal(panp_registration_lease(a), 1);
}

static bool swallow_send(fake *fb, const panp_frame *f, void *user)
{
    (void)fb, (void)f, (void)user;
    return true; /* never answered */
}

static void test_request_timeout(void **state)
{
    rig *r = *state;
    panp_channel *ch = rig_open(r, &r->s, PANP_STYLE_UNIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_channel_send(r->c, ch, "x", 1, NULL, &st), PANP_ERR_TIMEOUT);
    assert_int_equal(r->s.closed, 1);
    assert_int_equal(r->s.conn_dead, 1);
    assert_false(panp_is_connected(r->c));
    panp_channel_release(r->c, ch);
}

static bool wrong_id(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    panp_frame r = {.request_id = f->request_id + 1000, .kind = PANP_BODY_PONG};
    fake_send(fb, &r);
    return true;
}

static void test_broken_broker(void **state)
{
    rig *r = *state;
    panp_status st;
    assert_int_equal(panp_sync(r->c, &st), PANP_ERR_DISCONNECTED);
    assert_int_equal(panp_last_error(r->c)->code, PANP_ERR_PROTOCOL_VIOLATION);
}

static bool goodbye_on_send(fake *fb, const panp_frame *f, void *user)
{
    (void)f, (void)user;
    panp_frame g = {.kind = PANP_BODY_GOODBYE};
    g.body.goodbye.reason = PANP_GOODBYE_SERVER_SHUTDOWN;
    g.body.goodbye.message = "maintenance";
    fake_send(fb, &g);
    return true;
}

static void test_goodbye(void **state)
{
    rig *r = *state;
    panp_channel *ch = rig_open(r, &r->s, PANP_STYLE_UNIDIRECTIONAL);
    panp_status st;
    assert_int_equal(panp_channel_send(r->c, ch, "x", 1, NULL, &st), PANP_ERR_DISCONNECTED);
    assert_non_null(strstr(st.message, "server shutdown"));
    assert_non_null(strstr(st.message, "maintenance"));
    assert_int_equal(r->s.closed, 1);
    panp_channel_release(r->c, ch);
}

static bool fatal_register(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    send_error(fb, f->request_id, PANP_ERR_INVALID_ARGUMENT, true);
    return true;
}

static void test_fatal_error(void **state)
{
    rig *r = *state;
    panp_register_params rp = reg_params(&r->s, PANP_STYLE_UNIDIRECTIONAL);
    panp_registration *reg = (panp_registration *)1;
    panp_status st;
    assert_int_equal(panp_register_listener(r->c, &rp, &reg, &st), PANP_ERR_INVALID_ARGUMENT);
    assert_null(reg);
    assert_false(panp_is_connected(r->c));
    assert_int_equal(r->s.conn_dead, 1);
}

static bool notify_behind_sent(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
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
    rig *r = *state;
    rig_listen(r, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch = rig_open(r, &r->s, PANP_STYLE_UNIDIRECTIONAL);
    assert_false(panp_pending(r->c));
    panp_status st;
    assert_int_equal(panp_channel_send(r->c, ch, "x", 1, NULL, &st), PANP_OK);
    /* The Notify that followed the Sent is buffered, not yet dispatched. */
    assert_int_equal(r->s.notify, 0);
    assert_true(panp_pending(r->c));
    assert_int_equal(panp_poll(r->c, 0, &st), PANP_OK);
    assert_int_equal(r->s.notify, 1);
    assert_false(panp_pending(r->c));
    panp_channel_release(r->c, ch);
}

/* ---- listing ------------------------------------------------------------------------------ */

static bool paged_list(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
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
    rig *r = *state;
    panp_registration *reg = rig_listen(r, PANP_STYLE_UNIDIRECTIONAL);
    panp_target t = {PANP_TARGET_PRINTER, "lobby"};
    panp_reg_list l;
    panp_status st;
    assert_int_equal(panp_get_registrations(r->c, &t, &l, &st), PANP_OK);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.total, 3);
    assert_ptr_equal(l.entries[0].registration, reg);
    assert_null(l.entries[1].registration);
    assert_string_equal(l.entries[2].user, "bob");
    assert_string_equal(l.entries[2].printer, "lobby");
    assert_int_equal(l.entries[2].lease_remaining_seconds, 20);
    assert_int_equal(fake_count(r->fb, PANP_BODY_LIST_REGISTRATIONS), 2);
    panp_reg_list_free(&l);
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

/* Turns the poll adapter until *counter reaches n (3 s at most). */
static void run_until(panp_poll_adapter *pa, const int *counter, int n)
{
    for (int i = 0; i < 300 && *counter < n; i++)
        panp_poll_adapter_run_once(pa, 10);
    assert_int_equal(*counter, n);
}

static void test_async_poll_deferred_sends(void **state)
{
    rig *r = *state;
    panp_status st;
    /* Everything is queued before the Welcome, sends before ChannelOpened. */
    order ord = {0};
    panp_channel_params cp = chan_params(&r->s, PANP_STYLE_UNIDIRECTIONAL);
    panp_channel *ch;
    assert_int_equal(panp_async_channel_open(r->c, &cp, &ch, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_channel_send(r->c, ch, "a", 1, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_channel_send(r->c, ch, "b", 1, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_channel_close(r->c, ch, NULL, 0, record, &ord, &st), PANP_OK);
    /* Blocking calls are refused on an async context. */
    assert_int_equal(panp_sync(r->c, &st), PANP_ERR_INVALID_ARGUMENT);
    run_until(&r->pa, &ord.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ord.codes[i], PANP_OK);
    assert_int_equal(ord.kinds[1], 1); /* sequences in order */
    assert_int_equal(ord.kinds[2], 2);
    assert_int_equal(ord.close, PANP_CLOSE_RESULT_CLOSED);
    assert_int_equal(r->s.conn_up, 1);
    assert_int_equal(r->s.closed, 1);
    assert_true(r->s.last_closed.by_self);

    /* A close of a closed channel completes, but not inside the call. */
    order again = {0};
    assert_int_equal(panp_async_channel_close(r->c, ch, NULL, 0, record, &again, &st), PANP_OK);
    assert_int_equal(again.n, 0);
    assert_int_equal(panp_poll_adapter_timeout(&r->pa), 0);
    panp_poll_adapter_run_once(&r->pa, 10);
    assert_int_equal(again.n, 1);
    assert_int_equal(again.close, PANP_CLOSE_RESULT_ALREADY_CLOSED);
    /* A request that fails at once never calls back. */
    assert_int_equal(panp_async_channel_send(r->c, ch, "x", 1, record, &again, &st),
                     PANP_ERR_CHANNEL_ALREADY_CLOSED);
    panp_poll_adapter_run_once(&r->pa, 0);
    assert_int_equal(again.n, 1);
    panp_channel_release(r->c, ch);
    panp_free(r->c);
    r->c = NULL;
    assert_null(r->pa.c);
}

static void test_async_unregister_while_pending(void **state)
{
    rig *r = *state;
    panp_status st;
    order ord = {0};
    panp_register_params rp = reg_params(&r->s, PANP_STYLE_UNIDIRECTIONAL);
    panp_registration *reg;
    assert_int_equal(panp_async_register_listener(r->c, &rp, &reg, record, &ord, &st), PANP_OK);
    assert_int_equal(panp_async_unregister_listener(r->c, reg, record, &ord, &st), PANP_OK);
    run_until(&r->pa, &ord.n, 2);
    assert_int_equal(ord.codes[0], PANP_OK);
    assert_int_equal(ord.codes[1], PANP_OK);
    assert_int_equal(fake_count(r->fb, PANP_BODY_UNREGISTER), 1);
}

static bool notify_after_register(fake *fb, const panp_frame *f, void *user)
{
    (void)user;
    fake_default(fb, f);
    uint8_t h[16];
    fake_handle(1, h);
    panp_frame n = fake_notify(h, 3, 0, 1, "from libevent");
    fake_send(fb, &n);
    return true;
}

/* Attaches the rig's client to a new event base and registers, async. */
static struct event_base *libevent_listen(rig *r)
{
    struct event_base *base = event_base_new();
    panp_status st;
    assert_int_equal(panp_libevent_attach(r->c, base, &st), PANP_OK);
    panp_register_params rp = reg_params(&r->s, PANP_STYLE_UNIDIRECTIONAL);
    assert_int_equal(panp_async_register_listener(r->c, &rp, NULL, NULL, NULL, &st), PANP_OK);
    return base;
}

static void test_async_libevent_deferred_free(void **state)
{
    rig *r = *state;
    struct event_base *base = libevent_listen(r);
    r->s.free_in_notify = true;
    r->s.base = base;
    struct timeval limit = {3, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    assert_int_equal(r->s.notify, 1);
    assert_string_equal(r->s.last_payload, "from libevent");
    /* The context freed itself (and the adapter) after the callback. */
    r->c = NULL;
    event_base_free(base);
    assert_true(fake_wait_count(r->fb, PANP_BODY_GOODBYE, 1, 2000));
}

static void test_async_reconnect_libevent(void **state)
{
    rig *r = *state;
    struct event_base *base = libevent_listen(r);
    for (int i = 0; i < 300 && !fake_count(r->fb, PANP_BODY_REGISTER); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    fake_drop(r->fb);
    for (int i = 0; i < 3000 && r->s.conn_restored == 0; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    assert_int_equal(r->s.conn_lost, 1);
    assert_int_equal(r->s.conn_restored, 1);
    assert_true(fake_wait_count(r->fb, PANP_BODY_REGISTER, 2, 2000));
    /* Before the base its events live on. */
    panp_free(r->c);
    r->c = NULL;
    event_base_free(base);
}

int main(void)
{
/* A test with its own fake broker and client; the arguments fill the rig's cfg and opts. */
#define RIG(f, ...)                                                                    \
    {.name = #f, .test_func = f, .setup_func = rig_setup, .teardown_func = rig_teardown, \
     .initial_state = &(rig){.c = NULL, __VA_ARGS__}}
    const struct CMUnitTest tests[] = {
        RIG(test_connect_welcome_sync, .cfg = {.user_name = "alice"}),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_no_broker),
        RIG(test_notify_and_unregister),
        RIG(test_sender_close_crossing_closed,
            .cfg = {.handler = cross_close_sender, .on = PANP_BODY_CLOSE_CHANNEL}),
        RIG(test_listener_close_crossing_answered, .cfg = {.handler = cross_close_listener}),
        RIG(test_unknown_conversation_closed),
        RIG(test_close_inside_notify),
        RIG(test_unregister_inside_notify),
        RIG(test_release_inside_closed),
        RIG(test_deferred_free_blocking),
        RIG(test_connection_lost),
        RIG(test_reconnect,
            .opts = {.reconnect = true, .reconnect_min_ms = 20, .reconnect_max_ms = 80}),
        RIG(test_keepalive,
            .cfg = {.limits = {.keepalive_interval_ms = 50, .keepalive_timeout_ms = 1000}}),
        RIG(test_auto_renew),
        RIG(test_request_timeout, .cfg = {.handler = swallow_send, .on = PANP_BODY_SEND},
            .opts = {.request_timeout_ms = 150}),
        RIG(test_broken_broker, .cfg = {.handler = wrong_id, .on = PANP_BODY_PING}),
        RIG(test_goodbye, .cfg = {.handler = goodbye_on_send, .on = PANP_BODY_SEND}),
        RIG(test_fatal_error, .cfg = {.handler = fatal_register, .on = PANP_BODY_REGISTER}),
        RIG(test_list_paging, .cfg = {.handler = paged_list, .on = PANP_BODY_LIST_REGISTRATIONS}),
        RIG(test_blocking_call_keeps_wire_order,
            .cfg = {.handler = notify_behind_sent, .on = PANP_BODY_SEND}),
        RIG(test_async_poll_deferred_sends, .poll = true),
        RIG(test_async_unregister_while_pending, .poll = true),
        RIG(test_async_libevent_deferred_free, .async = true,
            .cfg = {.handler = notify_after_register, .on = PANP_BODY_REGISTER}),
        RIG(test_async_reconnect_libevent, .async = true,
            .opts = {.reconnect = true, .reconnect_min_ms = 20}),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
