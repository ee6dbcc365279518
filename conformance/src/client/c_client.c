/* client/c_client.c - client-side cases: the suite plays the broker and
 * checks a client implementation through its adapter (cs.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cases/common.h"
#include "client/cs.h"
#include "tls.h"
#include "vectors.h"

/* ---- small scripted-broker steps ------------------------------------------ */

static const uint8_t HANDLE1[16] = {0x5a, 0x1e, 0x9c, 0x03, 0x77, 0xd2, 0x41, 0x8b,
                                    0x0f, 0xe6, 0x2d, 0xb4, 0x93, 0x60, 0xc8, 0x15};

static const char *type_text(pc_t *t) { return cs_uuid(t, t->type); }

/* A register command for the case's type; returns its id. */
static uint64_t cmd_register(cs_state *cs, const char *label, const char *filter, const char *style)
{
    return cs_cmd(cs, "register", "\"reg\":\"%s\",\"type\":\"%s\",\"filter\":\"%s\",\"style\":\"%s\"", label,
                  type_text(cs->t), filter, style);
}

/* register command answered with Registered(HANDLE1 + n). */
static void do_register(cs_state *cs, pc_conn *b, const char *label, const char *style, uint8_t n)
{
    pc_t *t = cs->t;
    uint64_t id = cmd_register(cs, label, "PER_USER", style);
    const panp_frame *r = cs_await_request(b, PANP_BODY_REGISTER, "PANP-TYPE-1");
    if (!panp_bytes_is_uuid(r->body.register_listener.notification_type, t->type))
        pc_fail(t, "PANP-TYPE-1", "the type's 16 bytes in text order", "%s", pc_frame_text(t, r));
    uint8_t *h = pc_alloc(t, 16);
    memcpy(h, HANDLE1, 16);
    h[15] = (uint8_t)(h[15] + n);
    panp_frame ok = {.kind = PANP_BODY_REGISTERED, .body.registered = {pc_b(h, 16), 0}};
    cs_respond(b, r->request_id, &ok);
    cs_ok(cs, id, "PANP-CONN-13");
}

static panp_bytes handle_n(pc_t *t, uint8_t n)
{
    uint8_t *h = pc_alloc(t, 16);
    memcpy(h, HANDLE1, 16);
    h[15] = (uint8_t)(h[15] + n);
    return pc_b(h, 16);
}

/* open command answered with ChannelOpened(chan). */
static void do_open(cs_state *cs, pc_conn *b, const char *label, const char *style, uint64_t chan)
{
    uint64_t id = cs_cmd(cs, "open", "\"chan\":\"%s\",\"type\":\"%s\",\"filter\":\"PER_USER\",\"style\":\"%s\"", label,
                         type_text(cs->t), style);
    const panp_frame *r = cs_await_request(b, PANP_BODY_OPEN_CHANNEL, "PANP-CONN-13");
    panp_frame ok = {.kind = PANP_BODY_CHANNEL_OPENED, .body.channel_opened = {chan}};
    cs_respond(b, r->request_id, &ok);
    cs_ok(cs, id, "PANP-CONN-13");
}

static void send_notify(cs_state *cs, pc_conn *b, uint8_t reg, uint64_t chan, uint64_t conv, uint64_t seq)
{
    panp_frame n = {.kind = PANP_BODY_NOTIFY};
    n.body.notify = (panp_notify){.registration = handle_n(cs->t, reg), .conversation_id = conv, .channel_id = chan,
                                  .sequence = seq, .notification_type = pc_uuid(cs->t->type),
                                  .style = conv ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL,
                                  .has_sender = true, .sender = {"sender", 0, ""}, .target = pc_server(),
                                  .payload = pc_s("hello")};
    pc_send(b, &n);
}

static void send_closed(pc_conn *b, panp_channel_closed cc)
{
    panp_frame f = {.kind = PANP_BODY_CHANNEL_CLOSED, .body.channel_closed = cc};
    pc_send(b, &f);
}

/* The client reported a peer death: reason PEER_GONE, with NOTIFICATION_RELEASE. */
static void check_release(pc_t *t, const pj_value *closed, const char *req, const char *expected)
{
    if (!cs_str_is(closed, "reason", "PEER_GONE") || !pj_get_bool(closed, "release", false))
        pc_fail(t, req, expected, "reason %s, release %d", pj_get_str(closed, "reason", "?"),
                pj_get_bool(closed, "release", false));
}

/* sync command answered with Pong. */
static void do_sync(cs_state *cs, pc_conn *b, const char *req)
{
    uint64_t id = cs_cmd0(cs, "sync");
    const panp_frame *p = cs_await_request(b, PANP_BODY_PING, req);
    panp_frame pong = {.kind = PANP_BODY_PONG};
    cs_respond(b, p->request_id, &pong);
    cs_ok(cs, id, req);
}

/* After a command's result: the client must not have sent anything (its
 * socket writes precede its stdout line, so they are readable by now). */
static void assert_client_silent(pc_conn *b, const char *req, const char *what)
{
    pc_try_await(b, pc_m_kind, &(panp_body_kind){PANP_BODY_NONE}, 20);
    pc_assert_none(b, NULL, NULL, req, what);
}

static size_t count_events(cs_state *cs, const char *name, const char *key, const char *value)
{
    size_t n = 0;
    for (size_t i = 0; i < cs->nev; i++)
        if (cs_str_is(cs->ev[i].v, "event", name) && (!key || cs_str_is(cs->ev[i].v, key, value))) n++;
    return n;
}

/* ---- handshake ---------------------------------------------------------------- */

static void run_handshake(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_sync(cs, b, "PANP-KA-2");
}

static void run_wrong_preface(pc_t *t)
{
    cs_state *cs = cs_start(t);
    uint64_t id = cs_cmd(cs, "connect", "%s", cs_broker_fields(cs));
    pc_conn *b = cs_accept(cs, "PANP-PREF-1");
    const panp_frame *h = cs_await_hello(b, "PANP-PREF-1");
    pc_send_raw(b, "\x89PANQ\r\n\x1a", 8, "a wrong preface");
    /* a Welcome the client would otherwise accept: only the preface is wrong */
    panp_frame w = {.kind = PANP_BODY_WELCOME, .body.welcome = {.version = 1}};
    cs_respond(b, h->request_id, &w);
    pc_await_eof(b, -1, "PANP-PREF-5", "the client closing the connection after a wrong preface");
    pc_assert_none(b, NULL, NULL, "PANP-PREF-5", "any frame after the wrong preface");
    cs_not_ok(cs, id, "PANP-PREF-5");
}

static void run_hello_refused(pc_t *t)
{
    cs_state *cs = cs_start(t);
    uint64_t id = cs_cmd(cs, "connect", "%s", cs_broker_fields(cs));
    pc_conn *b = cs_accept(cs, "PANP-PREF-1");
    const panp_frame *h = cs_await_hello(b, "PANP-PREF-1");
    pc_send_raw(b, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
    panp_frame e = {.kind = PANP_BODY_ERROR,
                    .body.error = {PANP_ERR_UNAUTHENTICATED, "hello.auth: nobody you know", "hello.auth", true}};
    cs_respond(b, h->request_id, &e);
    const pj_value *r = cs_not_ok(cs, id, "PANP-CLI-8");
    if (!cs_str_is(r, "code", "UNAUTHENTICATED"))
        pc_fail(t, "PANP-CLI-8", "the Hello failure reported as UNAUTHENTICATED", "code %s", pj_get_str(r, "code", "?"));
    assert_client_silent(b, "PANP-CLI-8", "a frame after a fatal Error");
}

/* ---- tolerance --------------------------------------------------------------- */

static void unknowns(pbw *w) { pbw_uint(w, 99, 7); pbw_tag(w, 100, PBW_I64); pbw_raw(w, "12345678", 8); pbw_str(w, 101, "x"); pbw_tag(w, 102, PBW_I32); pbw_raw(w, "1234", 4); }

static void send_with_unknowns(pc_conn *b, const panp_frame *f, const char *what)
{
    size_t need = 0;
    panp_status st;
    panp_encode(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    pbw w = PBW_INIT;
    uint8_t *buf = pc_alloc(b->t, need);
    panp_encode(PANP_BACKEND_PROTOBUF_C, f, buf, need, &need, &st);
    pbw_raw(&w, buf, need);
    unknowns(&w);
    pc_send_pbw(b, &w, what);
    pbw_free(&w);
}

static void run_unknown_fields(pc_t *t)
{
    cs_state *cs = cs_start(t);
    uint64_t id = cs_cmd(cs, "connect", "%s", cs_broker_fields(cs));
    pc_conn *b = cs_accept(cs, "PANP-PREF-1");
    const panp_frame *h = cs_await_hello(b, "PANP-PREF-1");
    pc_send_raw(b, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
    /* Welcome with unknown fields in Frame, Welcome, Limits and Identity */
    pbw lim = PBW_INIT, idn = PBW_INIT, wel = PBW_INIT, f = PBW_INIT;
    panp_limits l = cs_default_limits();
    const uint32_t vals[] = {l.max_frame_size, l.max_registrations, l.max_channels, l.keepalive_interval_ms,
                             l.keepalive_timeout_ms, l.max_lease_seconds, l.max_outbound_bytes};
    for (uint32_t i = 0; i < 7; i++) pbw_uint(&lim, i + 1, vals[i]);
    unknowns(&lim);
    pbw_str(&idn, 1, "tester");
    pbw_uint(&idn, 4, 1);
    unknowns(&idn);
    pbw_uint(&wel, 1, 1);
    pbw_str(&wel, 2, "future-broker/9");
    pbw_msg(&wel, 4, &lim);
    pbw_msg(&wel, 5, &idn);
    unknowns(&wel);
    frame_wrap(&f, h->request_id, PANP_BODY_WELCOME, &wel);
    unknowns(&f);
    cs_respond_raw(b, h->request_id, &f, "Welcome with unknown fields at four levels");
    pbw_free(&lim);
    pbw_free(&idn);
    pbw_free(&wel);
    pbw_free(&f);
    b->limits = l;
    cs_ok(cs, id, "PANP-CLI-1");
    uint64_t rid = cmd_register(cs, "r1", "PER_USER", "UNIDIRECTIONAL");
    const panp_frame *r = cs_await_request(b, PANP_BODY_REGISTER, "PANP-CLI-1");
    panp_frame ok = {.request_id = r->request_id, .kind = PANP_BODY_REGISTERED, .body.registered = {handle_n(t, 1), 0}};
    send_with_unknowns(b, &ok, "Registered with unknown fields");
    cs_answered(b, r->request_id);
    cs_ok(cs, rid, "PANP-CLI-1");
    panp_frame n = {.kind = PANP_BODY_NOTIFY};
    n.body.notify = (panp_notify){.registration = handle_n(t, 1), .channel_id = 9, .sequence = 1,
                                  .notification_type = pc_uuid(t->type), .style = PANP_STYLE_UNIDIRECTIONAL, .has_sender = true,
                                  .sender = {"sender", 0, ""}, .target = pc_server(), .payload = pc_s("hello")};
    send_with_unknowns(b, &n, "Notify with unknown fields");
    const pj_value *ev = cs_event(cs, "notify", "reg", "r1", -1, "PANP-CLI-1");
    if (!cs_str_is(ev, "payload", cs_hex(t, "hello", 5))) pc_fail(t, "PANP-CLI-1", "payload 68656c6c6f", "%s", pj_get_str(ev, "payload", "?"));
    do_sync(cs, b, "PANP-CLI-1");
}

static void run_unknown_enums(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_open(cs, b, "c1", "UNIDIRECTIONAL", 4242);
    /* ChannelClosed with reason 99: closed, reason unknown */
    pbw body = PBW_INIT, f = PBW_INIT;
    pbw_uint(&body, 1, 4242);
    pbw_uint(&body, 4, 99);
    frame_wrap(&f, 0, PANP_BODY_CHANNEL_CLOSED, &body);
    pc_send_pbw(b, &f, "ChannelClosed{chan=4242 reason=99}");
    pbw_free(&body);
    pbw_free(&f);
    cs_event(cs, "closed", "chan", "c1", -1, "PANP-CLI-2");
    /* Error with code 99, not fatal: that request failed, nothing else */
    uint64_t id = cs_cmd0(cs, "sync");
    const panp_frame *p = cs_await_request(b, PANP_BODY_PING, "PANP-CLI-2");
    pbw_uint(&body, 1, 99);
    pbw_str(&body, 2, "something new");
    frame_wrap(&f, p->request_id, PANP_BODY_ERROR, &body);
    cs_respond_raw(b, p->request_id, &f, "Error{code=99} (not fatal)");
    pbw_free(&body);
    pbw_free(&f);
    cs_not_ok(cs, id, "PANP-CLI-2");
    do_sync(cs, b, "PANP-CLI-9");
}

static void run_error_keeps_connection(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_register(cs, b, "r1", "UNIDIRECTIONAL", 1);
    uint64_t id = cmd_register(cs, "r2", "ALL_USERS", "UNIDIRECTIONAL");
    const panp_frame *r = cs_await_request(b, PANP_BODY_REGISTER, "PANP-CLI-9");
    panp_frame e = {.kind = PANP_BODY_ERROR,
                    .body.error = {PANP_ERR_ACCESS_DENIED, "register.user_filter: not an administrator", "register.user_filter", false}};
    cs_respond(b, r->request_id, &e);
    const pj_value *res = cs_not_ok(cs, id, "PANP-CLI-9");
    if (!cs_str_is(res, "code", "ACCESS_DENIED")) pc_fail(t, "PANP-CLI-9", "code ACCESS_DENIED", "%s", pj_get_str(res, "code", "?"));
    send_notify(cs, b, 1, 77, 0, 1);
    cs_event(cs, "notify", "reg", "r1", -1, "PANP-CLI-9");
    do_sync(cs, b, "PANP-CLI-9");
}

static void run_fatal_error(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    uint64_t id = cs_cmd0(cs, "sync");
    const panp_frame *p = cs_await_request(b, PANP_BODY_PING, "PANP-KA-1");
    panp_frame e = {.kind = PANP_BODY_ERROR, .body.error = {PANP_ERR_PROTOCOL_VIOLATION, "frame: broken", "frame", true}};
    cs_respond(b, p->request_id, &e);
    cs_not_ok(cs, id, "PANP-CLI-8");
    uint64_t id2 = cmd_register(cs, "r1", "PER_USER", "UNIDIRECTIONAL");
    cs_not_ok(cs, id2, "PANP-CLI-8");
    assert_client_silent(b, "PANP-CLI-8", "a frame after a fatal Error");
}

static void run_goodbye_stops(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    uint64_t id = cs_cmd0(cs, "sync");
    cs_await_request(b, PANP_BODY_PING, "PANP-KA-1");
    panp_frame g = {.kind = PANP_BODY_GOODBYE, .body.goodbye = {PANP_GOODBYE_SERVER_SHUTDOWN, "bye"}};
    pc_send(b, &g);
    cs_not_ok(cs, id, "PANP-CLI-8");
    uint64_t id2 = cs_cmd0(cs, "sync");
    cs_not_ok(cs, id2, "PANP-CLI-8");
    assert_client_silent(b, "PANP-CLI-8", "a frame after the broker's Goodbye");
}

static void run_events_before_response(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_register(cs, b, "r1", "UNIDIRECTIONAL", 1);
    uint64_t id = cmd_register(cs, "r2", "PER_USER", "BIDIRECTIONAL");
    const panp_frame *r = cs_await_request(b, PANP_BODY_REGISTER, "PANP-CLI-7");
    send_notify(cs, b, 1, 31, 0, 1);
    /* the event must reach the application while the Register is pending */
    cs_event(cs, "notify", "reg", "r1", -1, "PANP-CLI-7");
    panp_frame ok = {.kind = PANP_BODY_REGISTERED, .body.registered = {handle_n(t, 2), 0}};
    cs_respond(b, r->request_id, &ok);
    cs_ok(cs, id, "PANP-CLI-7");
}

static void response_mismatch(pc_t *t, bool wrong_kind)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    uint64_t id = cs_cmd0(cs, "sync");
    const panp_frame *p = cs_await_request(b, PANP_BODY_PING, "PANP-KA-1");
    uint64_t rid = p->request_id;
    if (wrong_kind) {
        panp_frame w = {.request_id = rid, .kind = PANP_BODY_CHANNEL_OPENED, .body.channel_opened = {5}};
        pc_send(b, &w);
    } else {
        panp_frame w = {.request_id = rid + 1000, .kind = PANP_BODY_PONG};
        pc_send(b, &w);
    }
    pc_await_eof(b, -1, "PANP-CLI-6", "the client closing the connection to a broken broker");
    cs_not_ok(cs, id, "PANP-CLI-6");
}

static void run_response_wrong_id(pc_t *t) { response_mismatch(t, false); }
static void run_response_wrong_kind(pc_t *t) { response_mismatch(t, true); }

/* ---- closing -------------------------------------------------------------------- */

static void run_close_crossing_sender(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_open(cs, b, "c1", "BIDIRECTIONAL", 5151);
    uint64_t id = cs_cmd(cs, "close", "\"chan\":\"c1\"");
    const panp_frame *c = cs_await_request(b, PANP_BODY_CLOSE_CHANNEL, "PANP-CLI-10");
    /* the winner closed first: its ChannelClosed crosses our close */
    send_closed(b, (panp_channel_closed){.channel_id = 5151, .reason = PANP_CLOSE_REASON_CLOSED_BY_LISTENER});
    panp_frame e = {.kind = PANP_BODY_ERROR,
                    .body.error = {PANP_ERR_CHANNEL_ALREADY_CLOSED, "close_channel.channel_id: already closed", "close_channel.channel_id", false}};
    cs_respond(b, c->request_id, &e);
    cs_ok(cs, id, "PANP-CLI-10");
    do_sync(cs, b, "PANP-CLI-10");
    if (count_events(cs, "closed", "chan", "c1") != 1)
        pc_fail(t, "PANP-CLI-10", "the channel reported closed exactly once", "%zu times", count_events(cs, "closed", "chan", "c1"));
}

static void run_close_crossing_listener(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_register(cs, b, "r1", "BIDIRECTIONAL", 1);
    send_notify(cs, b, 1, 61, 7001, 1);
    cs_event(cs, "notify", "conversation", "7001", -1, "PANP-CLI-7");
    uint64_t id = cs_cmd(cs, "close", "\"conversation\":\"7001\"");
    const panp_frame *c = cs_await_request(b, PANP_BODY_CLOSE_CHANNEL, "PANP-CLI-10");
    send_closed(b, (panp_channel_closed){.channel_id = 61, .conversation_id = 7001, .registration = handle_n(t, 1),
                                         .reason = PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER});
    panp_frame res = {.kind = PANP_BODY_CHANNEL_CLOSE_RESULT, .body.channel_close_result = {PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER}};
    cs_respond(b, c->request_id, &res);
    cs_ok(cs, id, "PANP-CLI-10");
    do_sync(cs, b, "PANP-CLI-10");
    if (count_events(cs, "closed", "conversation", "7001") != 1)
        pc_fail(t, "PANP-CLI-10", "the conversation reported closed exactly once", "%zu times",
                count_events(cs, "closed", "conversation", "7001"));
}

static void run_question_not_queued(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_register(cs, b, "r1", "BIDIRECTIONAL", 1);
    send_closed(b, (panp_channel_closed){.channel_id = 62, .conversation_id = 7002, .registration = handle_n(t, 1),
                                         .reason = PANP_CLOSE_REASON_SLOW_CONSUMER});
    cs_event(cs, "closed", "conversation", "7002", -1, "PANP-CLI-11");
    do_sync(cs, b, "PANP-CLI-11");
}

static void broker_vanishes(pc_t *t, bool reset)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_open(cs, b, "c1", "UNIDIRECTIONAL", 8001);
    do_open(cs, b, "c2", "BIDIRECTIONAL", 8002);
    do_register(cs, b, "r1", "BIDIRECTIONAL", 1);
    send_notify(cs, b, 1, 63, 7003, 1);
    cs_event(cs, "notify", "conversation", "7003", -1, "PANP-CLI-7");
    /* c2 was closed by the broker before: no second report for it */
    send_closed(b, (panp_channel_closed){.channel_id = 8002, .reason = PANP_CLOSE_REASON_CLOSED_BY_LISTENER});
    cs_event(cs, "closed", "chan", "c2", -1, "PANP-CLI-7");
    do_sync(cs, b, "PANP-KA-1");
    if (reset) pc_abort(b);
    else pc_close(b);
    const pj_value *c1 = cs_event(cs, "closed", "chan", "c1", -1, "PANP-CLI-12");
    const pj_value *cv = cs_event(cs, "closed", "conversation", "7003", -1, "PANP-CLI-12");
    check_release(t, c1, "PANP-CLI-12", "ChannelClosed(PEER_GONE) with NOTIFICATION_RELEASE");
    check_release(t, cv, "PANP-CLI-12", "ChannelClosed(PEER_GONE) with NOTIFICATION_RELEASE");
    cs_event(cs, "registration_ended", "reg", "r1", -1, "PANP-CLI-12");
    if (count_events(cs, "closed", "chan", "c2") != 1)
        pc_fail(t, "PANP-CLI-12", "no second report for a channel already closed", "%zu reports",
                count_events(cs, "closed", "chan", "c2"));
}

static void run_release_from_broker(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_open(cs, b, "c1", "BIDIRECTIONAL", 8101);
    send_closed(b, (panp_channel_closed){.channel_id = 8101, .reason = PANP_CLOSE_REASON_PEER_GONE,
                                         .notification_type = pc_uuid(PANP_TYPE_NOTIFICATION_RELEASE)});
    const pj_value *e = cs_event(cs, "closed", "chan", "c1", -1, "PANP-CLI-7");
    check_release(t, e, "PANP-CLI-7", "the ChannelClosed(PEER_GONE, NOTIFICATION_RELEASE) delivered as such");
    do_sync(cs, b, "PANP-CLI-7");
}

static void run_broker_closes(pc_t *t) { broker_vanishes(t, false); }
static void run_broker_resets(pc_t *t) { broker_vanishes(t, true); }

/* ---- sending ---------------------------------------------------------------------- */

static void run_sent_zero(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_open(cs, b, "c1", "UNIDIRECTIONAL", 9001);
    uint64_t id = cs_cmd(cs, "send", "\"chan\":\"c1\",\"payload\":\"%s\"", cs_hex(t, "ping?", 5));
    const panp_frame *s = cs_await_request(b, PANP_BODY_SEND, "PANP-CONN-13");
    if (s->body.send.channel_id != 9001 || !panp_bytes_is_uuid(s->body.send.notification_type, t->type))
        pc_fail(t, "PANP-TYPE-1", "Send on channel 9001 with the channel's type", "%s", pc_frame_text(t, s));
    panp_frame sent = {.kind = PANP_BODY_SENT, .body.sent = {1, 0}};
    cs_respond(b, s->request_id, &sent);
    const pj_value *r = cs_ok(cs, id, "PANP-CLI-16");
    uint64_t rc = 1;
    if (!pj_get_u64(r, "recipients", &rc) || rc != 0)
        pc_fail(t, "PANP-CLI-16", "success with recipients 0", "%s", cs->ev[cs->nev - 1].line);
}

static void run_no_release(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    uint64_t id = cs_cmd(cs, "open", "\"chan\":\"c1\",\"type\":\"%s\",\"filter\":\"PER_USER\",\"style\":\"UNIDIRECTIONAL\"",
                         cs_uuid(t, PANP_TYPE_NOTIFICATION_RELEASE));
    /* the harness fails the case if the OpenChannel goes out (CLI-17) */
    const pj_value *r = cs_result(cs, id, "PANP-CLI-17");
    if (pj_get_bool(r, "ok", false)) pc_fail(t, "PANP-CLI-17", "the open refused by the library", "it succeeded");
    assert_client_silent(b, "PANP-CLI-17", "an OpenChannel with NOTIFICATION_RELEASE");
}

static void run_max_frame(pc_t *t)
{
    cs_state *cs = cs_start(t);
    panp_limits l = cs_default_limits();
    l.max_frame_size = PANP_MIN_MAX_FRAME;
    pc_conn *b = cs_connect(cs, &l);
    do_open(cs, b, "c1", "UNIDIRECTIONAL", 9002);
    char *payload = pc_alloc(t, 6000 * 2 + 1);
    memset(payload, 'a', 12000);
    uint64_t id = cs_cmd(cs, "send", "\"chan\":\"c1\",\"payload\":\"%s\"", payload);
    /* the harness fails the case on any frame above 4096 bytes (FRAME-10) */
    cs_not_ok(cs, id, "PANP-FRAME-10");
    do_sync(cs, b, "PANP-FRAME-10");
}

static void run_keepalive(pc_t *t)
{
    cs_state *cs = cs_start(t);
    panp_limits l = cs_default_limits();
    l.keepalive_interval_ms = 200;
    l.keepalive_timeout_ms = 1000;
    pc_conn *b = cs_connect(cs, &l);
    int64_t last = pc_now_us(), end = last + (int64_t)pc_scaled_ms(t, 1500) * 1000;
    int slack = pc_scaled_ms(t, 150);
    while (pc_now_us() < end) {
        const panp_frame *f = pc_try_await(b, NULL, NULL, 200 + slack);
        int64_t gap = (pc_now_us() - last) / 1000;
        if (!f || gap > 200 + slack)
            pc_fail(t, "PANP-KA-1", "a frame at least every keepalive_interval_ms (200 ms announced)",
                    "%" PRId64 " ms without a frame", gap);
        if (f->kind == PANP_BODY_PING) {
            panp_frame pong = {.kind = PANP_BODY_PONG};
            cs_respond(b, f->request_id, &pong);
        }
        last = pc_now_us();
    }
}

static void run_acquired_after_unregister(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_register(cs, b, "r1", "BIDIRECTIONAL", 1);
    send_notify(cs, b, 1, 64, 7004, 1);
    cs_event(cs, "notify", "conversation", "7004", -1, "PANP-CLI-7");
    uint64_t id = cs_cmd(cs, "reply", "\"conversation\":\"7004\",\"payload\":\"%s\"", cs_hex(t, "yes", 3));
    const panp_frame *r = cs_await_request(b, PANP_BODY_REPLY, "PANP-CONN-13");
    panp_frame ok = {.kind = PANP_BODY_OK};
    cs_respond(b, r->request_id, &ok);
    cs_ok(cs, id, "PANP-CONN-13");
    id = cs_cmd(cs, "unregister", "\"reg\":\"r1\"");
    const panp_frame *u = cs_await_request(b, PANP_BODY_UNREGISTER, "PANP-CONN-13");
    panp_frame ok2 = {.kind = PANP_BODY_OK};
    cs_respond(b, u->request_id, &ok2);
    cs_ok(cs, id, "PANP-CONN-13");
    send_notify(cs, b, 1, 64, 7004, 2);
    const pj_value *n = cs_event(cs, "notify", "conversation", "7004", -1, "PANP-CLI-18");
    if (!cs_str_is(n, "sequence", "2") && !cs_str_is(n, "sequence", "1"))
        pc_fail(t, "PANP-CLI-18", "the second question delivered", "%s", pj_get_str(n, "sequence", "?"));
}

/* ---- goodbye (SHOULDs) --------------------------------------------------------- */

static void run_disconnect_politely(pc_t *t)
{
    cs_state *cs = cs_start(t);
    pc_conn *b = cs_connect(cs, NULL);
    do_open(cs, b, "c1", "UNIDIRECTIONAL", 9003);
    cs_cmd0(cs, "disconnect");
    const panp_frame *f = pc_try_await(b, NULL, NULL, pc_wait_ms(t));
    if (f && f->kind == PANP_BODY_CLOSE_CHANNEL) {
        panp_frame res = {.kind = PANP_BODY_CHANNEL_CLOSE_RESULT, .body.channel_close_result = {PANP_CLOSE_OUTCOME_CLOSED}};
        cs_respond(b, f->request_id, &res);
        f = pc_try_await(b, NULL, NULL, pc_wait_ms(t));
    } else {
        pc_warn(t, "PANP-CLI-15", "the open channel was not closed before the Goodbye");
    }
    if (!f || f->kind != PANP_BODY_GOODBYE || f->body.goodbye.reason != PANP_GOODBYE_CLIENT_DONE)
        pc_warn(t, "PANP-CLI-14", "no Goodbye(CLIENT_DONE) before the close: %s", f ? pc_frame_text(t, f) : "nothing");
    pc_await_eof(b, -1, "PANP-CLI-14", "the client closing the connection");
}

/* ---- transport ------------------------------------------------------------------------ */

typedef struct extra_listener {
    int fd;
    int accepted;
} extra_listener;

static void on_extra(pc_t *t, void *arg)
{
    (void)t;
    extra_listener *x = arg;
    int fd = accept4(x->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 && x->accepted < 0) x->accepted = fd;
    else if (fd >= 0) close(fd);
}

static bool extra_ready(void *arg) { return ((extra_listener *)arg)->accepted >= 0; }

/* Connects the client through one address form and completes a handshake. */
static bool try_form(cs_state *cs, const char *text)
{
    pc_t *t = cs->t;
    pc_addr a;
    char err[256];
    if (!pc_addr_parse(&a, text, err, sizeof(err))) pc_error(t, "%s", err);
    extra_listener *x = pc_alloc(t, sizeof(*x));
    x->fd = pc_listen(&a, err, sizeof(err));
    x->accepted = -1;
    if (x->fd < 0) return false; /* e.g. no IPv6 here */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(x->fd, (struct sockaddr *)&ss, &sl);
    const char *addr = text;
    if (a.kind == PC_ADDR_TCP) {
        unsigned port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        addr = strchr(a.host, ':') ? pc_sprintf(t, "tcp:[%s]:%u", a.host, port) : pc_sprintf(t, "tcp:%s:%u", a.host, port);
    }
    pc_add_hook(t, x->fd, on_extra, x);
    uint64_t id = cs_cmd(cs, "connect", "\"broker\":\"%s\"", addr);
    if (!pc_wait_for(t, extra_ready, x, pc_wait_ms(t)))
        pc_fail(t, "PANP-TRANS-1", pc_sprintf(t, "a connection through the address %s", addr), "none");
    pc_conn *b = pc_conn_adopt(t, x->accepted, pc_sprintf(t, "as-broker(%s)", addr));
    const panp_frame *h = cs_await_hello(b, "PANP-TRANS-1");
    cs_welcome(b, h->request_id, NULL);
    cs_ok(cs, id, "PANP-TRANS-1");
    uint64_t d = cs_cmd0(cs, "disconnect");
    pc_del_hook(t, x->fd);
    close(x->fd);
    pc_close(b);
    cs_result(cs, d, "PANP-TRANS-1");
    return true;
}

static void run_address_forms(pc_t *t)
{
    cs_state *cs = cs_start(t);
    char dir[] = "/tmp/panp-cs-XXXXXX";
    if (!mkdtemp(dir)) pc_error(t, "mkdtemp failed");
    const char *unix_addr = pc_sprintf(t, "unix:%s/broker.sock", dir);
    bool ok = try_form(cs, unix_addr);
    unlink(unix_addr + 5);
    rmdir(dir);
    if (!ok) pc_error(t, "cannot listen on %s", unix_addr);
    if (!try_form(cs, "tcp:127.0.0.1:0")) pc_error(t, "cannot listen on 127.0.0.1");
    if (!try_form(cs, "tcp:[::1]:0")) pc_note(t, "no IPv6 loopback here: the [::1] form was not tried");
}

/* ---- tls (SPEC 4.4) and tokens in clear text (SPEC 21.4) ----------------------------- */

/* A listener of the suite's own, on 127.0.0.1 (or `host`): raw mode keeps
 * the bytes clients send; otherwise each connection gets the server side of
 * a TLS handshake with the certificate `cert`, and the first completed one
 * becomes a relayed descriptor. */
typedef struct side_listener {
    pc_t *t;
    int fd;
    unsigned port;
    bool raw;
    pc_broker_cert cert;
    int conns;                    /* TCP connections accepted */
    int raw_fds[8];
    sbuf raw_in[8];               /* raw: what each connection sent */
    bool raw_eof[8];
    bool tried;                   /* TLS: a handshake ran (either way) */
    pc_conn *conn;                /* TLS: the completed session (the case closes it), or NULL */
    pc_tls_server_info info;
    char err[300];
} side_listener;

typedef struct raw_conn {
    side_listener *x;
    int i;
} raw_conn;

static void on_raw_data(pc_t *t, void *arg)
{
    side_listener *x = ((raw_conn *)arg)->x;
    int i = ((raw_conn *)arg)->i;
    (void)t;
    char buf[4096];
    ssize_t n = recv(x->raw_fds[i], buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
        sbuf_put(&x->raw_in[i], buf, (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        x->raw_eof[i] = true;
        pc_del_hook(x->t, x->raw_fds[i]);
    }
}

static void on_side_accept(pc_t *t, void *arg)
{
    side_listener *x = arg;
    int fd = accept4(x->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    x->conns++;
    if (x->raw) {
        int i = x->conns - 1;
        if (i >= 8) {
            close(fd);
            return;
        }
        x->raw_fds[i] = fd;
        raw_conn *rc = pc_alloc(t, sizeof(*rc));
        *rc = (raw_conn){x, i};
        pc_add_hook(t, fd, on_raw_data, rc);
        return;
    }
    if (x->tried) { /* one handshake per round */
        close(fd);
        return;
    }
    x->tried = true;
    int relay = pc_tls_accept(fd, x->cert, pc_wait_ms(t), &x->info, x->err, sizeof(x->err));
    if (relay >= 0) {
        fcntl(relay, F_SETFL, fcntl(relay, F_GETFL) | O_NONBLOCK);
        x->conn = pc_conn_adopt(t, relay, "as-broker(tls)");
    }
    sbuf first = SBUF_INIT;
    sbuf_hex(&first, x->info.first, x->info.nfirst);
    pc_note(t, "suite's tls listener: first bytes [%s]; ClientHello %s (ALPN \"%s\"%s, SNI %s%s%s); %s", sbuf_str(&first),
            x->info.client_hello ? "seen" : "not seen", x->info.alpn, x->info.alpn_offered ? "" : " none offered",
            x->info.sni_sent ? "\"" : "", x->info.sni_sent ? x->info.sni : "none", x->info.sni_sent ? "\"" : "",
            x->conn ? pc_sprintf(t, "handshake done (%s)", x->info.version) : x->err);
    sbuf_free(&first);
}

static void side_cleanup(side_listener *x)
{
    pc_del_hook(x->t, x->fd);
    close(x->fd);
    for (int i = 0; i < x->conns && i < 8; i++) {
        if (!x->raw) break;
        if (!x->raw_eof[i]) pc_del_hook(x->t, x->raw_fds[i]);
        close(x->raw_fds[i]);
        sbuf_free(&x->raw_in[i]);
    }
    if (x->conn) pc_close(x->conn);
    x->conn = NULL;
    x->fd = -1;
    x->conns = 0;
}

static side_listener *side_listen(pc_t *t, const char *host, bool raw)
{
    side_listener *x = pc_alloc(t, sizeof(*x));
    x->t = t;
    x->raw = raw;
    pc_addr a;
    char err[256];
    if (!pc_addr_parse(&a, pc_sprintf(t, "tcp:%s:0", host), err, sizeof(err))) pc_error(t, "%s", err);
    x->fd = pc_listen(&a, err, sizeof(err));
    if (x->fd < 0) pc_error(t, "%s", err);
    fcntl(x->fd, F_SETFL, O_NONBLOCK);
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    getsockname(x->fd, (struct sockaddr *)&sin, &sl);
    x->port = ntohs(sin.sin_port);
    pc_add_hook(t, x->fd, on_side_accept, x);
    return x;
}

/* Ready for the next TLS round. */
static void side_reset(side_listener *x, pc_broker_cert cert)
{
    if (x->conn) pc_close(x->conn);
    x->conn = NULL;
    x->tried = false;
    x->cert = cert;
    x->conns = 0;
    memset(&x->info, 0, sizeof(x->info));
    x->err[0] = '\0';
}

static bool side_tried(void *arg) { return ((side_listener *)arg)->tried; }
static bool side_connected(void *arg) { return ((side_listener *)arg)->conns > 0; }
static bool side_never(void *arg)
{
    (void)arg;
    return false;
}

static const char *suite_ca(pc_t *t)
{
    char err[300];
    const char *ca = pc_tls_suite_ca(err, sizeof(err));
    if (!ca) pc_error(t, "%s", err);
    return ca;
}

static bool claims_tls(pc_t *t) { return pc_profile_has_feature(t->opt->profile, "tls"); }

/* connect to tls:HOST:PORT of x, trusting the suite's CA (and the name
 * server_name, if not NULL); returns the command id. */
static uint64_t tls_connect_cmd(cs_state *cs, side_listener *x, const char *host, const char *server_name)
{
    pc_t *t = cs->t;
    return cs_cmd(cs, "connect", "\"broker\":\"tls:%s:%u\",\"tls_ca\":\"%s\"%s%s%s", host, x->port, suite_ca(t),
                  server_name ? ",\"tls_server_name\":\"" : "", server_name ? server_name : "", server_name ? "\"" : "");
}

/* After a handshake the suite completed: the panp session inside it, as
 * any scripted broker plays it, then the client disconnects. */
static void tls_session(cs_state *cs, side_listener *x, uint64_t id, const char *req)
{
    pc_t *t = cs->t;
    if (!x->conn)
        pc_fail(t, req, "a completed TLS handshake with a broker certificate the client trusts",
                "%s", x->tried ? x->err : "no connection");
    pc_conn *b = x->conn;
    x->conn = NULL;
    /* the harness checks the client's first application bytes are the preface */
    const panp_frame *h = cs_await_hello(b, "PANP-TRANS-11");
    cs_welcome(b, h->request_id, NULL);
    cs_ok(cs, id, req);
    do_sync(cs, b, req);
    uint64_t d = cs_cmd0(cs, "disconnect");
    cs_result(cs, d, req);
    pc_close(b);
}

static void run_tls_never_plain(pc_t *t)
{
    cs_state *cs = cs_start(t);
    bool tls = claims_tls(t);
    side_listener *x = side_listen(t, "127.0.0.1", !tls);
    x->cert = PC_BCERT_GOOD;
    uint64_t id = tls_connect_cmd(cs, x, "127.0.0.1", NULL);
    if (!tls) {
        /* [PANP-TRANS-10]: refused as unsupported, never plain tcp */
        cs_not_ok(cs, id, "PANP-TRANS-10");
        pc_wait_for(t, side_connected, x, pc_scaled_ms(t, 50));
        if (x->conns) {
            sbuf h = SBUF_INIT;
            sbuf_hex(&h, (const uint8_t *)x->raw_in[0].s, x->raw_in[0].len < 16 ? x->raw_in[0].len : 16);
            const char *sent = pc_sprintf(t, "%s", sbuf_str(&h));
            sbuf_free(&h);
            pc_fail(t, "PANP-TRANS-10", "a tls: address refused, never reached over plain tcp",
                    "the client connected over tcp and sent [%s]", sent);
        }
        side_cleanup(x);
        return;
    }
    if (!pc_wait_for(t, side_tried, x, pc_wait_ms(t)))
        pc_fail(t, "PANP-TRANS-11", "a TLS handshake on the tls: address", "no connection");
    if (x->info.nfirst >= 2 && !memcmp(x->info.first, PANP_PREFACE, x->info.nfirst < 8 ? x->info.nfirst : 8))
        pc_fail(t, "PANP-TRANS-11", "a TLS ClientHello (16 03 ..) first, never the preface in clear text",
                "the panp preface in clear text");
    if (!x->info.nfirst || x->info.first[0] != 0x16)
        pc_fail(t, "PANP-TRANS-11", "a TLS ClientHello (16 03 ..) first", "%s", x->err);
    tls_session(cs, x, id, "PANP-TRANS-11");
    side_cleanup(x);
}

static void run_tls_verifies_broker(pc_t *t)
{
    cs_state *cs = cs_start(t);
    static const struct {
        pc_broker_cert cert;
        const char *host, *server_name;
        bool ok;
        const char *what;
    } rounds[] = {
        {PC_BCERT_GOOD, "127.0.0.1", NULL, true, "the control: a valid certificate for 127.0.0.1"},
        {PC_BCERT_GOOD, "localhost", NULL, true, "the control: a valid certificate for localhost"},
        {PC_BCERT_WRONG_NAME, "127.0.0.1", NULL, false, "a certificate for " PC_BCERT_OTHER_NAME " at 127.0.0.1"},
        {PC_BCERT_WRONG_NAME, "localhost", NULL, false, "a certificate for " PC_BCERT_OTHER_NAME " at localhost"},
        {PC_BCERT_OTHER_CA, "127.0.0.1", NULL, false, "a certificate from a CA the client does not trust"},
        {PC_BCERT_EXPIRED, "localhost", NULL, false, "an expired certificate"},
        {PC_BCERT_WRONG_NAME, "127.0.0.1", PC_BCERT_OTHER_NAME, true,
         "a certificate for " PC_BCERT_OTHER_NAME ", the name the user configured (tls_server_name)"},
    };
    side_listener *x = side_listen(t, "127.0.0.1", false);
    for (size_t i = 0; i < sizeof(rounds) / sizeof(rounds[0]); i++) {
        side_reset(x, rounds[i].cert);
        pc_note(t, "round %zu: %s", i + 1, rounds[i].what);
        uint64_t id = tls_connect_cmd(cs, x, rounds[i].host, rounds[i].server_name);
        if (rounds[i].ok) {
            pc_wait_for(t, side_tried, x, pc_wait_ms(t));
            tls_session(cs, x, id, "PANP-TRANS-14");
            continue;
        }
        cs_not_ok(cs, id, "PANP-TRANS-14");
        pc_wait_for(t, side_tried, x, pc_scaled_ms(t, 200));
        if (x->info.handshake_done)
            pc_fail(t, "PANP-TRANS-14", pc_sprintf(t, "the client aborting the handshake (%s)", rounds[i].what),
                    "the client finished the handshake");
        if (!x->tried) pc_note(t, "the client did not even connect");
    }
    side_cleanup(x);
}

static void run_tls_alpn_sni(pc_t *t)
{
    cs_state *cs = cs_start(t);
    side_listener *x = side_listen(t, "127.0.0.1", false);
    static const char *const hosts[] = {"localhost", "127.0.0.1"};
    for (size_t i = 0; i < 2; i++) {
        side_reset(x, PC_BCERT_GOOD);
        uint64_t id = tls_connect_cmd(cs, x, hosts[i], NULL);
        if (!pc_wait_for(t, side_tried, x, pc_wait_ms(t)) || !x->info.client_hello)
            pc_fail(t, "PANP-TRANS-16", pc_sprintf(t, "a ClientHello for tls:%s", hosts[i]), "%s",
                    x->tried ? x->err : "no connection");
        bool panp1 = false;
        for (const char *p = x->info.alpn; *p;) {
            size_t n = strcspn(p, ",");
            if (n == 6 && !strncmp(p, "panp/1", 6)) panp1 = true;
            p += n + (p[n] == ',');
        }
        if (!panp1)
            pc_fail(t, "PANP-TRANS-16", "ALPN offering panp/1",
                    x->info.alpn_offered ? "ALPN offers \"%s\"" : "no ALPN extension%s", x->info.alpn);
        if (i == 0 && (!x->info.sni_sent || strcmp(x->info.sni, "localhost")))
            pc_warn(t, "PANP-TRANS-15", "SNI for tls:localhost: %s",
                    x->info.sni_sent ? pc_sprintf(t, "\"%s\"", x->info.sni) : "none sent");
        if (i == 1 && x->info.sni_sent)
            pc_warn(t, "PANP-TRANS-15", "SNI \"%s\" sent for an IP address (SPEC 4.4: none; RFC 6066)", x->info.sni);
        tls_session(cs, x, id, "PANP-TRANS-16");
    }
    side_cleanup(x);
}

static void run_token_not_in_clear(pc_t *t)
{
    char host[64];
    if (!pc_other_local_address(host, sizeof(host))) pc_skip(t, "not applicable: this host has no non-loopback IPv4 address");
    cs_state *cs = cs_start(t);
    side_listener *x = side_listen(t, host, true);
    const char *token = "panp-conformance-secret-7d1e5a";
    pc_note(t, "a broker at tcp:%s:%u, a non-loopback address of this host", host, x->port);
    uint64_t id = cs_cmd(cs, "connect", "\"broker\":\"tcp:%s:%u\",\"token\":\"%s\"", host, x->port, token);
    cs_not_ok(cs, id, "PANP-SEC-10");
    /* whatever reached us was written before the result; collect it */
    pc_wait_for(t, side_never, x, pc_scaled_ms(t, 100));
    for (int i = 0; i < x->conns && i < 8; i++) {
        const sbuf *in = &x->raw_in[i];
        if (in->len && memmem(in->s, in->len, token, strlen(token)))
            pc_fail(t, "PANP-SEC-10", "no token over plain tcp to a non-loopback address",
                    "connection %d carried the token (%zu bytes sent)", i + 1, in->len);
        pc_note(t, "connection %d: %zu bytes, no token", i + 1, in->len);
    }
    side_cleanup(x);
}

/* ---- negative vectors a client receives ---------------------------------------- */

/* The vector with its leading request_id replaced by rid. */
static void patched(pbw *out, const pc_client_vector *v, uint64_t rid)
{
    size_t skip = 0;
    if (v->len > 1 && v->bytes[0] == 0x08) {
        skip = 1;
        while (skip < v->len && (v->bytes[skip] & 0x80)) skip++;
        skip++;
    }
    if (skip) pbw_uint(out, 1, rid);
    pbw_raw(out, v->bytes + skip, v->len - skip);
}

void cs_run_vector(pc_t *t)
{
    const pc_client_vector *v = t->def->arg;
    cs_state *cs = cs_start(t);
    pbw f = PBW_INIT;
    const char *req = v->accept ? "PANP-CLI-2" : "PANP-CLI-3";
    if (!strncmp(v->field, "welcome.", 8)) {
        uint64_t id = cs_cmd(cs, "connect", "%s", cs_broker_fields(cs));
        pc_conn *b = cs_accept(cs, "PANP-PREF-1");
        const panp_frame *h = cs_await_hello(b, "PANP-PREF-1");
        pc_send_raw(b, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
        patched(&f, v, h->request_id);
        cs_respond_raw(b, h->request_id, &f, v->file);
        pbw_free(&f);
        pc_await_eof(b, -1, req, "the client closing the connection");
        cs_not_ok(cs, id, req);
        return;
    }
    pc_conn *b = cs_connect(cs, NULL);
    uint64_t id = 0;
    bool response = !strncmp(v->field, "error.", 6) || !strncmp(v->field, "registration_list.", 18);
    if (response) {
        bool list = v->field[0] == 'r';
        id = list ? cs_cmd0(cs, "list") : cs_cmd0(cs, "sync");
        const panp_frame *r = cs_await_request(b, list ? PANP_BODY_LIST_REGISTRATIONS : PANP_BODY_PING, req);
        patched(&f, v, r->request_id);
        cs_respond_raw(b, r->request_id, &f, v->file);
    } else {
        patched(&f, v, 0);
        pc_send_pbw(b, &f, v->file);
    }
    pbw_free(&f);
    if (v->accept) {
        if (id) cs_result(cs, id, req);
        do_sync(cs, b, req); /* still connected */
        return;
    }
    pc_await_eof(b, -1, req, "the client closing the connection");
    if (id) cs_not_ok(cs, id, req);
}

static const pc_case_def CASES[] = {
    CASE("client.handshake", "PANP-PREF-1 PANP-CLI-5 PANP-VER-3 PANP-CLI-4 PANP-WIRE-1 PANP-FRAME-1 PANP-FRAME-2",
         "the client sends the preface, a Hello whose range holds 1 as its first frame, then Ping with a fresh request id",
         run_handshake),
    CASE("client.wrong-preface", "PANP-PREF-5",
         "a broker answering with a wrong preface: the client closes without sending anything more", run_wrong_preface),
    CASE("client.hello-refused", "PANP-CLI-8",
         "a fatal UNAUTHENTICATED in answer to the Hello: the connect fails with that code; nothing more is sent", run_hello_refused),
    CASE("client.unknown-fields", "PANP-CLI-1 PANP-WIRE-10 PANP-WIRE-2 PANP-VER-4",
         "unknown fields in Welcome (at four levels), Registered and Notify are ignored and never echoed", run_unknown_fields),
    CASE("client.unknown-enum-values", "PANP-CLI-2 PANP-CLI-9",
         "ChannelClosed reason 99 still closes the channel; Error code 99 fails only its request", run_unknown_enums),
    CASE("client.error-not-fatal", "PANP-CLI-9",
         "a non-fatal ACCESS_DENIED fails that Register only: the connection and the other registration go on",
         run_error_keeps_connection),
    CASE("client.error-fatal", "PANP-CLI-8",
         "a fatal Error fails the outstanding request and every later one; the client sends nothing more", run_fatal_error),
    CASE("client.goodbye-from-broker", "PANP-CLI-8",
         "the broker's Goodbye fails the outstanding request and stops the client sending", run_goodbye_stops),
    CASE("client.events-before-response", "PANP-CLI-7",
         "a Notify arriving while a Register waits for its response reaches the application before the response",
         run_events_before_response),
    CASE("client.response-wrong-request-id", "PANP-CLI-6",
         "a Pong with a request_id nobody used: the client closes the connection", run_response_wrong_id),
    CASE("client.response-wrong-kind", "PANP-CLI-6",
         "a ChannelOpened answering a Ping: the client closes the connection", run_response_wrong_kind),
    CASE("client.close-crossing-channel-closed", "PANP-CLI-10 PANP-ORD-4",
         "the sender's close crosses the winner's: ChannelClosed then CHANNEL_ALREADY_CLOSED is a successful close, reported once",
         run_close_crossing_sender),
    CASE("client.close-lost-conversation", "PANP-CLI-10",
         "a listener closing a conversation another listener won: ACQUIRED_BY_ANOTHER is success, reported closed once",
         run_close_crossing_listener),
    CASE("client.question-never-delivered", "PANP-CLI-11",
         "a ChannelClosed(SLOW_CONSUMER) for a conversation the client never saw is reported", run_question_not_queued),
    CASE("client.release-from-broker", "PANP-CLI-7",
         "the broker's ChannelClosed(PEER_GONE, NOTIFICATION_RELEASE) for a channel reaches the application as such",
         run_release_from_broker),
    CASE("client.broker-closes", "PANP-CLI-12",
         "the broker's socket closes: every open channel and conversation is reported closed with PEER_GONE and "
         "NOTIFICATION_RELEASE (not those already closed), registrations end",
         run_broker_closes),
    CASE("client.broker-resets", "PANP-CLI-12",
         "the broker's connection is reset: the same reports as for a close", run_broker_resets),
    CASE("client.sent-is-acceptance", "PANP-CLI-16 PANP-TYPE-1",
         "Sent{recipients=0} is reported as success with 0 recipients", run_sent_zero),
    CASE("client.never-sends-release", "PANP-CLI-17",
         "opening a channel with the NOTIFICATION_RELEASE type fails in the library; nothing is sent", run_no_release),
    CASE("client.max-frame-size", "PANP-FRAME-10",
         "with max_frame_size 4096 announced, a 6000-byte payload is refused locally, no oversized frame is sent", run_max_frame),
    CASE("client.keepalive", "PANP-KA-1",
         "with keepalive_interval_ms 200 announced, an idle client sends a frame at least every 200 ms", run_keepalive),
    CASE("client.acquired-after-unregister", "PANP-CLI-18",
         "after Unregister the client keeps delivering Notify frames of a conversation it acquired",
         run_acquired_after_unregister),
    CASE("client.disconnect-politely", "PANP-CLI-14 PANP-CLI-15",
         "a client that disconnects closes its channels, then says Goodbye(CLIENT_DONE) (SHOULDs: WARN otherwise)",
         run_disconnect_politely),
    CASE("client.address-forms", "PANP-TRANS-1",
         "the client reaches brokers at unix:PATH, tcp:127.0.0.1:PORT and tcp:[::1]:PORT", run_address_forms),
    CASE("client.tls.never-plain", "PANP-TRANS-10 PANP-TRANS-11",
         "on a tls: address the client's first bytes are a TLS ClientHello and the preface comes inside the session; "
         "a client that does not claim tls refuses the address, never reaching it over plain tcp", run_tls_never_plain),
    CASE_FEAT("client.tls.verifies-broker", "PANP-TRANS-14",
              "broker certificates for another name, from an untrusted CA, expired: the connect fails without finishing "
              "the handshake; valid ones, and the other name when configured (tls_server_name), connect", "tls",
              run_tls_verifies_broker),
    CASE_FEAT("client.tls.alpn-and-sni", "PANP-TRANS-16 PANP-TRANS-15",
              "the ClientHello offers ALPN panp/1, carries SNI localhost for tls:localhost (SHOULD) and none for "
              "tls:127.0.0.1", "tls", run_tls_alpn_sni),
    CASE("client.token-not-in-clear", "PANP-SEC-10",
         "connect with a token to tcp: on a non-loopback address of this host: the connect fails and the token never "
         "goes out", run_token_not_in_clear),
};

PC_TABLE(pc_cases_client, CASES);
