/* test_conn.c - the connection state machine: preface, Hello, every body
 * in every state, authentication, framing errors, keepalive, Goodbye. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static panp_frame hello(panp_auth auth, const char *token)
{
    panp_frame f = {.kind = PANP_BODY_HELLO};
    f.body.hello = (panp_hello){.min_version = 1, .max_version = 1, .software = "t", .auth = auth};
    if (token) f.body.hello.token = (panp_bytes){(const uint8_t *)token, strlen(token)};
    return f;
}

/* A new connection that has sent its preface, and nothing more. */
static h_conn *after_preface(h_world *w, core_transport t, const char *user)
{
    h_conn *c = h_accept(w, t, user);
    h_bytes(w, c, PANP_PREFACE, PANP_PREFACE_LEN);
    return c;
}

/* A new connection that has sent its preface and Hello(auth, token). */
static h_conn *hello_from(h_world *w, core_transport t, const char *user, panp_auth auth,
                          const char *token)
{
    h_conn *c = after_preface(w, t, user);
    panp_frame f = hello(auth, token);
    h_request(w, c, &f);
    return c;
}

/* The next frame is a fatal Error with this code, and the core closes c. */
static panp_frame *expect_fatal(h_world *w, h_conn *c, panp_error_code code)
{
    panp_frame *e = h_expect_error(w, c, code, true);
    h_expect_closing(w, c);
    return e;
}

/* Sends a Goodbye(CLIENT_DONE): no request, so no request id. */
static void client_done(h_world *w, h_conn *c)
{
    panp_frame g = {.kind = PANP_BODY_GOODBYE};
    g.body.goodbye.reason = PANP_GOODBYE_CLIENT_DONE;
    h_frame(w, c, &g);
}

/* [PANP-PREF-2] [PANP-CONN-7] [PANP-LIM-1] [PANP-LIM-4] The broker answers the client's preface with its own, then frames. */
static void t_preface_then_welcome(void **state)
{
    h_world *w = *state;
    h_conn *c = h_accept(w, CORE_TRANSPORT_UNIX, "alice");
    h_drain(w, c, SIZE_MAX);
    assert_int_equal(core_conn_queued(c->cc), 0); /* nothing before the client's preface */
    /* one byte at a time */
    for (int i = 0; i < PANP_PREFACE_LEN; i++) h_bytes(w, c, PANP_PREFACE + i, 1);
    panp_frame f = hello(PANP_AUTH_EXTERNAL, NULL);
    uint64_t rid = h_request(w, c, &f);
    panp_frame *wf = h_expect(w, c, PANP_BODY_WELCOME); /* the client framer checked the preface */
    assert_int_equal(wf->request_id, rid);
    assert_int_equal(wf->body.welcome.version, 1);
    assert_string_equal(wf->body.welcome.server_name, "test-server");
    assert_true(wf->body.welcome.has_limits);
    assert_int_equal(wf->body.welcome.limits.max_frame_size, 65536);
    assert_int_equal(wf->body.welcome.limits.max_registrations, 64);
    assert_int_equal(wf->body.welcome.limits.max_channels, 64);
    assert_int_equal(wf->body.welcome.limits.keepalive_interval_ms, 30000);
    assert_int_equal(wf->body.welcome.limits.keepalive_timeout_ms, 90000);
    assert_int_equal(wf->body.welcome.limits.max_lease_seconds, 86400);
    assert_int_equal(wf->body.welcome.limits.max_outbound_bytes, 1024 * 1024);
    assert_string_equal(wf->body.welcome.identity.user, "alice");
    assert_true(wf->body.welcome.identity.may_open_channels);
    assert_false(wf->body.welcome.identity.server_admin);
    assert_false(wf->body.welcome.identity.trusted);
}

/* [PANP-PREF-3] */
static void t_bad_preface_closes_silently(void **state)
{
    h_world *w = *state;
    h_conn *c = h_accept(w, CORE_TRANSPORT_UNIX, "alice");
    h_bytes(w, c, "GET / HTTP/1.1\r\n", 16);
    assert_int_equal(core_conn_queued(c->cc), 0); /* not even an Error */
    assert_int_equal(h_io(c), CORE_IO_CLOSE);
    /* a wrong byte in the middle */
    h_conn *d = h_accept(w, CORE_TRANSPORT_UNIX, "alice");
    h_bytes(w, d, "\x89PANQ\r\n\x1a", 8);
    assert_int_equal(h_io(d), CORE_IO_CLOSE);
    assert_int_equal(core_conn_queued(d->cc), 0);
}

/* [PANP-CONN-2] */
static void t_await_hello_rejects_every_other_body(void **state)
{
    h_world *w = *state;
    panp_body_kind kinds[] = {PANP_BODY_PING, PANP_BODY_REGISTER, PANP_BODY_RENEW,
                              PANP_BODY_UNREGISTER, PANP_BODY_LIST_REGISTRATIONS,
                              PANP_BODY_OPEN_CHANNEL, PANP_BODY_SEND, PANP_BODY_REPLY,
                              PANP_BODY_CLOSE_CHANNEL};
    uint8_t handle[16] = {1};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        h_conn *c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
        panp_frame f;
        switch (kinds[i]) {
        case PANP_BODY_REGISTER: f = h_register_frame(h_server(), H_TYPE_A, 1, 1); break;
        case PANP_BODY_OPEN_CHANNEL: f = h_open_frame(h_server(), H_TYPE_A, 1, 1); break;
        case PANP_BODY_SEND: f = h_send_frame(5, H_TYPE_A, "x"); break;
        case PANP_BODY_REPLY: f = h_reply_frame(5, H_TYPE_A, "x"); break;
        case PANP_BODY_CLOSE_CHANNEL: f = h_close_frame(PANP_CLOSE_SIDE_CHANNEL, 5, NULL, NULL); break;
        default:
            memset(&f, 0, sizeof(f));
            f.kind = kinds[i];
            if (kinds[i] == PANP_BODY_RENEW) f.body.renew.handle = (panp_bytes){handle, 16};
            if (kinds[i] == PANP_BODY_UNREGISTER) f.body.unregister.handle = (panp_bytes){handle, 16};
            break;
        }
        h_request(w, c, &f);
        panp_frame *e = expect_fatal(w, c, PANP_ERR_PROTOCOL_VIOLATION);
        assert_int_equal(e->request_id, f.request_id);
    }
}

/* [PANP-CONN-1] A Goodbye before Hello is not a request: still not allowed. */
static void t_await_hello_goodbye_is_violation(void **state)
{
    h_world *w = *state;
    h_conn *c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
    client_done(w, c);
    expect_fatal(w, c, PANP_ERR_PROTOCOL_VIOLATION);
}

/* [PANP-VER-2] */
static void t_hello_unsupported_version(void **state)
{
    h_world *w = *state;
    h_conn *c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
    panp_frame f = hello(PANP_AUTH_EXTERNAL, NULL);
    f.body.hello.min_version = 2;
    f.body.hello.max_version = 3;
    h_request(w, c, &f);
    expect_fatal(w, c, PANP_ERR_UNSUPPORTED_VERSION);
}

/* [PANP-TRANS-6] */
static void t_hello_mechanism_not_offered(void **state)
{
    h_world *w = *state;
    /* TOKEN over the Unix socket */
    h_conn *c = hello_from(w, CORE_TRANSPORT_UNIX, "alice", PANP_AUTH_TOKEN, H_TOKEN);
    expect_fatal(w, c, PANP_ERR_UNAUTHENTICATED);
    /* EXTERNAL over TCP */
    h_conn *d = hello_from(w, CORE_TRANSPORT_TCP, NULL, PANP_AUTH_EXTERNAL, NULL);
    expect_fatal(w, d, PANP_ERR_UNAUTHENTICATED);
}

/* [PANP-AUTH-1] [PANP-AUTH-3] [PANP-SEC-2] */
static void t_hello_token_auth(void **state)
{
    h_world *w = *state;
    h_conn *c = hello_from(w, CORE_TRANSPORT_TCP, "ignored", PANP_AUTH_TOKEN, H_TOKEN);
    panp_frame *wf = h_expect(w, c, PANP_BODY_WELCOME);
    /* identity from the token, nothing the client wrote */
    assert_string_equal(wf->body.welcome.identity.user, "tokuser");
    assert_string_equal(core_conn_user(c->cc), "tokuser");

    h_conn *d = hello_from(w, CORE_TRANSPORT_TCP, NULL, PANP_AUTH_TOKEN, "secret-token-2");
    expect_fatal(w, d, PANP_ERR_UNAUTHENTICATED);

    h_conn *e = hello_from(w, CORE_TRANSPORT_TCP, NULL, PANP_AUTH_TOKEN, NULL);
    h_expect_error(w, e, PANP_ERR_UNAUTHENTICATED, true);
}

/* [PANP-CONN-2] */
static void t_second_hello_is_violation(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame f = hello(PANP_AUTH_EXTERNAL, NULL);
    h_request(w, c, &f);
    expect_fatal(w, c, PANP_ERR_PROTOCOL_VIOLATION);
}

/* [PANP-CONN-3] */
static void t_hello_deadline(void **state)
{
    h_world *w = *state;
    h_conn *a = h_accept(w, CORE_TRANSPORT_UNIX, "alice"); /* says nothing */
    h_conn *b = h_accept(w, CORE_TRANSPORT_UNIX, "bob");   /* preface only */
    h_bytes(w, b, PANP_PREFACE, PANP_PREFACE_LEN);
    h_drain(w, b, SIZE_MAX);
    assert_int_equal(core_next_deadline(w->core), w->now + 10000);
    h_advance(w, 9999);
    assert_true(h_io(a) & CORE_IO_READ);
    h_advance(w, 1);
    assert_int_equal(h_io(a), CORE_IO_CLOSE);
    assert_int_equal(h_io(b), CORE_IO_CLOSE);
}

/* [PANP-CONN-10] */
static void t_request_id_zero(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame f = {.kind = PANP_BODY_PING};
    h_frame(w, c, &f); /* request_id 0 */
    panp_frame *e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, false);
    assert_string_equal(e->body.error.field, "frame.request_id");
    /* the connection goes on */
    h_request(w, c, &f);
    h_expect(w, c, PANP_BODY_PONG);
}

/* [PANP-CONN-8] [PANP-CONN-9] [PANP-KA-2] */
static void t_ping_pong_in_order(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame p = {.kind = PANP_BODY_PING};
    panp_frame r = h_register_frame(h_server(), H_TYPE_A, 1, 2);
    uint64_t r1 = h_request(w, c, &r);
    uint64_t r2 = h_request(w, c, &p);
    uint64_t r3 = h_request(w, c, &p);
    assert_int_equal(h_expect(w, c, PANP_BODY_REGISTERED)->request_id, r1);
    assert_int_equal(h_expect(w, c, PANP_BODY_PONG)->request_id, r2);
    assert_int_equal(h_expect(w, c, PANP_BODY_PONG)->request_id, r3);
}

/* [PANP-FRAME-3] [PANP-FRAME-4] [PANP-FLOW-6] */
static void t_oversized_frame(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    h_conn *other = h_connect(w, "bob");
    /* length prefix 65537: rejected from the prefix, the body is never read */
    uint8_t prefix[3] = {0x81, 0x80, 0x04};
    h_bytes(w, c, prefix, sizeof(prefix));
    panp_frame *e = expect_fatal(w, c, PANP_ERR_FRAME_TOO_LARGE);
    assert_int_equal(e->request_id, 0);
    uint8_t junk[100] = {0};
    h_bytes(w, c, junk, sizeof(junk)); /* ignored */
    /* another client keeps being served */
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, other, &p);
    h_expect(w, other, PANP_BODY_PONG);
}

/* [PANP-WIRE-4] [PANP-WIRE-9] [PANP-ERR-6] */
static void t_malformed_protobuf_is_fatal(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    /* Frame { request_id = 1, field 8 (ping) with wire type 7 } */
    uint8_t bad[] = {3, 0x08, 0x01, 0x47};
    h_bytes(w, c, bad, sizeof(bad));
    panp_frame *e = expect_fatal(w, c, PANP_ERR_PROTOCOL_VIOLATION);
    assert_int_equal(e->request_id, 0); /* the encoding failed: PV0 */
}

/* [PANP-WIRE-5] [PANP-WIRE-9] */
static void t_truncated_submessage_is_fatal(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    /* register_listener (18) claims 10 bytes, 2 follow */
    uint8_t bad[] = {6, 0x08, 0x01, 0x92, 0x01, 0x0a, 0x0a};
    h_bytes(w, c, bad, sizeof(bad));
    h_expect_error(w, c, PANP_ERR_PROTOCOL_VIOLATION, true);
}

/* [PANP-FRAME-2] */
static void t_empty_frame_is_violation(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    uint8_t zero = 0;
    h_bytes(w, c, &zero, 1);
    expect_fatal(w, c, PANP_ERR_PROTOCOL_VIOLATION);
}

/* [PANP-CONN-2] */
static void t_broker_bodies_from_client_are_violations(void **state)
{
    h_world *w = *state;
    panp_body_kind kinds[] = {PANP_BODY_NOTIFY, PANP_BODY_SENT, PANP_BODY_PONG, PANP_BODY_OK,
                              PANP_BODY_WELCOME, PANP_BODY_REGISTERED, PANP_BODY_CHANNEL_OPENED};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        h_conn *c = h_connect(w, "alice");
        /* hand-encoded: Frame { request_id = 1, <kind> = {} } */
        uint8_t raw[8];
        size_t n = 0;
        raw[n++] = 0; /* length, below */
        raw[n++] = 0x08;
        raw[n++] = 0x01;
        uint32_t tag = ((uint32_t)kinds[i] << 3) | 2;
        if (tag < 0x80) {
            raw[n++] = (uint8_t)tag;
        } else {
            raw[n++] = (uint8_t)(tag | 0x80);
            raw[n++] = (uint8_t)(tag >> 7);
        }
        raw[n++] = 0x00;
        raw[0] = (uint8_t)(n - 1);
        h_bytes(w, c, raw, n);
        panp_frame *e = expect_fatal(w, c, PANP_ERR_PROTOCOL_VIOLATION);
        assert_int_equal(e->request_id, 1); /* well formed: the id is echoed */
    }
}

/* [PANP-WIRE-12] [PANP-ERR-5] A field rule broken in a well-formed frame: answered, not fatal. */
static void t_field_rule_is_not_fatal(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, 1, 2);
    /* hand-encode a 3-byte notification_type: Frame{1:7, 18:{1:{1:{}}, 2:"abc"}} */
    uint8_t raw[] = {14, 0x08, 0x07, 0x92, 0x01, 0x09, 0x0a, 0x02, 0x0a, 0x00, 0x12, 0x03, 'a', 'b', 'c'};
    h_bytes(w, c, raw, sizeof(raw));
    panp_frame *e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, false);
    assert_int_equal(e->request_id, 7);
    assert_non_null(strstr(e->body.error.field, "notification_type"));
    h_request(w, c, &f);
    h_expect(w, c, PANP_BODY_REGISTERED);
}

/* [PANP-KA-3] [PANP-KA-4] */
static void t_keepalive_silence(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    h_advance(w, 60000);
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, c, &p); /* any frame resets the clock */
    h_expect(w, c, PANP_BODY_PONG);
    h_advance(w, 90000); /* silence equal to the timeout is allowed */
    assert_true(h_io(c) & CORE_IO_READ);
    h_advance(w, 1);
    panp_frame *g = h_expect(w, c, PANP_BODY_GOODBYE);
    assert_int_equal(g->body.goodbye.reason, PANP_GOODBYE_KEEPALIVE_TIMEOUT);
    h_expect_closing(w, c);
}

/* [PANP-CONN-13] */
static void t_goodbye_from_client(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, c, &p);
    client_done(w, c);
    /* what was queued before still goes out; then close */
    assert_int_equal(h_io(c), CORE_IO_WRITE);
    h_expect(w, c, PANP_BODY_PONG);
    assert_int_equal(h_io(c), CORE_IO_DRAINED);
    /* the client's EOF (or the flush deadline) ends it */
    h_advance(w, 5000);
    assert_int_equal(h_io(c), CORE_IO_CLOSE);
}

/* [PANP-CONN-4] */
static void t_closing_ignores_input(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    client_done(w, c);
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, c, &p);
    h_expect_none(w, c);
}

/* [PANP-CONN-5] */
static void t_flush_deadline(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, c, &p);
    client_done(w, c);
    assert_int_equal(h_io(c), CORE_IO_WRITE); /* the peer never reads */
    h_advance(w, 5000);
    assert_int_equal(h_io(c), CORE_IO_CLOSE);
}

/* [PANP-AUTH-6] [PANP-AUTH-7] */
static void t_welcome_identity_and_truncation(void **state)
{
    h_world *w = *state;
    h_conn *r = h_connect(w, "root");
    (void)r;
    h_conn *p = hello_from(w, CORE_TRANSPORT_UNIX, "padmin", PANP_AUTH_EXTERNAL, NULL);
    panp_frame *wf = h_expect(w, p, PANP_BODY_WELCOME);
    const panp_identity *id = &wf->body.welcome.identity;
    assert_false(id->server_admin);
    assert_int_equal(id->admin_printers_count, 1);
    assert_string_equal(id->admin_printers[0], "P1");
    assert_false(id->admin_printers_truncated);
    /* "on every target" only; it may still open channels on P1 (SPEC 8.2) */
    assert_false(id->may_open_channels);

    h_conn *s = hello_from(w, CORE_TRANSPORT_UNIX, "spooler", PANP_AUTH_EXTERNAL, NULL);
    wf = h_expect(w, s, PANP_BODY_WELCOME);
    assert_true(wf->body.welcome.identity.trusted);
}

/* [PANP-AUTH-6] [PANP-FRAME-7] [PANP-WIRE-16] */
static void t_welcome_admin_printers_truncated(void **state)
{
    (void)state;
    h_world *w = h_new();
    char name[300];
    for (int i = 0; i < 70; i++) {
        memset(name, 'p', 250);
        snprintf(name + 250, 50, "%03d", i);
        int idx = conf_add_printer(w->cfg, name);
        strlist_add(&w->cfg->printers[idx].admins, "many");
    }
    h_start(w);
    h_conn *c = h_connect_opts(w, "many", "", 4096);
    (void)c;
    /* h_connect checked the Welcome decoded under the client's 4096 limit */
    panp_frame *wf = w->keep[w->nkeep - 1];
    assert_int_equal(wf->kind, PANP_BODY_WELCOME);
    assert_true(wf->body.welcome.identity.admin_printers_truncated);
    assert_true(wf->body.welcome.identity.admin_printers_count < 64);
    h_free(w);
}

/* [PANP-CONN-6] */
static void t_hello_max_frame_too_small(void **state)
{
    h_world *w = *state;
    h_conn *c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
    /* raw: Frame{1:1, 16:{1:1, 2:1, 4:1, 7:100}} -- the codec may refuse to encode it */
    uint8_t raw[] = {13, 0x08, 0x01, 0x82, 0x01, 0x08, 0x08, 0x01, 0x10, 0x01, 0x20, 0x01, 0x38, 0x64};
    h_bytes(w, c, raw, sizeof(raw));
    panp_frame *e = expect_fatal(w, c, PANP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(e->body.error.field, "max_frame_size"));
}

/* (SPEC 14.3, step 1) */
static void t_connection_refused_after_shutdown(void **state)
{
    h_world *w = *state;
    core_shutdown(w->core, w->now);
    core_peer peer = {.transport = CORE_TRANSPORT_UNIX, .user = "x", .address = "t"};
    assert_null(core_connect(w->core, &peer, w->now));
}

/* [PANP-WIRE-17] [PANP-CONN-10] the state, then request_id 0, before field rules; a
 * target before a type; Hello's versions before its other fields */
static void t_refused_frames_in_spec_order(void **state)
{
    h_world *w = *state;
    /* a Send before Hello, with a field error too: the state wins */
    h_conn *c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
    uint8_t send0[] = {4, 0x08, 0x07, 0x1a, 0x00}; /* channel_id 0 */
    h_bytes(w, c, send0, sizeof(send0));
    panp_frame *e = h_expect_error(w, c, PANP_ERR_PROTOCOL_VIOLATION, true);
    assert_int_equal(e->request_id, 7);
    /* a Hello with min_version 0 and an unknown auth value: min_version */
    c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
    uint8_t hello[] = {9, 0x08, 0x01, 0x82, 0x01, 0x04, 0x10, 0x01, 0x20, 0x09};
    h_bytes(w, c, hello, sizeof(hello));
    e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, true);
    assert_string_equal(e->body.error.field, "hello.min_version");
    /* a Hello without request id and min_version 0: the request id */
    c = after_preface(w, CORE_TRANSPORT_UNIX, "alice");
    uint8_t hello0[] = {7, 0x82, 0x01, 0x04, 0x10, 0x01, 0x20, 0x09};
    h_bytes(w, c, hello0, sizeof(hello0));
    e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, true);
    assert_string_equal(e->body.error.field, "frame.request_id");
    /* READY: a Register with request id 0 and a 3-byte type: the request id */
    c = h_connect(w, "alice");
    uint8_t reg0[] = {7, 0x92, 0x01, 0x04, 0x12, 0x02, 'a', 'b'};
    h_bytes(w, c, reg0, sizeof(reg0));
    e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, false);
    assert_string_equal(e->body.error.field, "frame.request_id");
    assert_int_equal(e->request_id, 0);
    /* an empty target and a 3-byte type: the target */
    uint8_t regt[] = {11, 0x08, 0x09, 0x92, 0x01, 0x06, 0x0a, 0x00, 0x12, 0x02, 'a', 'b'};
    h_bytes(w, c, regt, sizeof(regt));
    e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, false);
    assert_string_equal(e->body.error.field, "register.target");
    /* CloseChannel without a side: the oneof's name */
    uint8_t cl[] = {5, 0x08, 0x0a, 0xda, 0x01, 0x00};
    h_bytes(w, c, cl, sizeof(cl));
    e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, false);
    assert_string_equal(e->body.error.field, "close_channel.side");
    /* a malformed bool inside a body a broker never accepts: malformed first, id 0 */
    uint8_t eb[] = {6, 0x08, 0x09, 0x52, 0x02, 0x20, 0x02};
    h_bytes(w, c, eb, sizeof(eb));
    e = h_expect_error(w, c, PANP_ERR_PROTOCOL_VIOLATION, true);
    assert_int_equal(e->request_id, 0);
    /* a Goodbye with an unknown reason still ends the client [PANP-CONN-13] */
    h_conn *g = h_connect(w, "bob");
    uint8_t gb[] = {6, 0x08, 0x07, 0xf2, 0x01, 0x02, 0x08, 0x63};
    gb[0] = 7;
    h_bytes(w, g, gb, sizeof(gb));
    h_expect_none(w, g);
    assert_true(h_ending(g));
}

/* [PANP-CONN-6] the Hello checks in table order, every Error fatal */
static void t_hello_check_order(void **state)
{
    h_world *w = *state;
    struct {
        uint64_t rid;
        uint32_t min, max;
        panp_auth auth;
        const char *token;
        uint32_t max_frame;
        panp_error_code code;
        const char *field;
    } cases[] = {
        {0, 0, 0, 0, "x", 100, PANP_ERR_INVALID_ARGUMENT, "frame.request_id"},
        {1, 0, 0, 0, "x", 100, PANP_ERR_INVALID_ARGUMENT, "hello.min_version"},
        {1, 3, 2, 0, "x", 100, PANP_ERR_INVALID_ARGUMENT, "hello.max_version"},
        {1, 2, 3, 0, "x", 100, PANP_ERR_INVALID_ARGUMENT, "hello.auth"},
        {1, 2, 3, PANP_AUTH_EXTERNAL, "x", 100, PANP_ERR_INVALID_ARGUMENT, "hello.token"},
        {1, 2, 3, PANP_AUTH_TOKEN, "x", 100, PANP_ERR_INVALID_ARGUMENT, "hello.max_frame_size"},
        {1, 2, 3, PANP_AUTH_TOKEN, "x", 0, PANP_ERR_UNSUPPORTED_VERSION, "hello.min_version"},
        {1, 1, 1, PANP_AUTH_TOKEN, "x", 0, PANP_ERR_UNAUTHENTICATED, "hello.auth"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h_conn *c = h_accept(w, CORE_TRANSPORT_UNIX, "alice");
        panp_frame f = {.request_id = cases[i].rid, .kind = PANP_BODY_HELLO};
        f.body.hello = (panp_hello){.min_version = cases[i].min, .max_version = cases[i].max,
                                    .auth = cases[i].auth, .max_frame_size = cases[i].max_frame,
                                    .token = {(const uint8_t *)cases[i].token, strlen(cases[i].token)}};
        core_on_frame(w->core, c->cc, &f, w->now); /* past the validator: the core's own order */
        panp_frame *e = h_expect_error(w, c, cases[i].code, true);
        assert_string_equal(e->body.error.field, cases[i].field);
        h_expect_closing(w, c);
    }
}

/* [PANP-SEC-9] no bearer tokens from off the local host over plaintext tcp */
static void t_token_refused_off_loopback(void **state)
{
    h_world *w = *state;
    w->remote = true;
    h_conn *c = hello_from(w, CORE_TRANSPORT_TCP, NULL, PANP_AUTH_TOKEN, H_TOKEN);
    panp_frame *e = h_expect_error(w, c, PANP_ERR_UNAUTHENTICATED, true);
    assert_string_equal(e->body.error.field, "hello.token");
}

/* [PANP-AUTH-4] one message for every rejected token */
static void t_token_rejections_look_alike(void **state)
{
    h_world *w = *state;
    const char *tokens[] = {"wrong", "", "secret-token-"};
    char first[600] = "";
    for (int i = 0; i < 3; i++) {
        h_conn *c = hello_from(w, CORE_TRANSPORT_TCP, NULL, PANP_AUTH_TOKEN, tokens[i]);
        panp_frame *e = h_expect_error(w, c, PANP_ERR_UNAUTHENTICATED, true);
        if (i == 0) snprintf(first, sizeof(first), "%s", e->body.error.message);
        else assert_string_equal(e->body.error.message, first);
        assert_null(strstr(e->body.error.message, tokens[i][0] ? tokens[i] : "\x01"));
    }
}

/* [PANP-AUTH-2] a uid without a user name is refused */
static void t_unix_uid_without_name(void **state)
{
    h_world *w = *state;
    h_conn *c = hello_from(w, CORE_TRANSPORT_UNIX, NULL, PANP_AUTH_EXTERNAL, NULL);
    h_expect_error(w, c, PANP_ERR_UNAUTHENTICATED, true);
}

/* [PANP-KA-3] [PANP-KA-4] only complete frames keep a connection alive */
static void t_keepalive_counts_complete_frames(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    uint8_t part[2] = {0x40, 0x08}; /* a 64-byte frame that never completes */
    h_bytes(w, c, part, 1);
    for (int i = 0; i < 9; i++) {
        h_advance(w, 10000);
        h_bytes(w, c, part + 1, 1);
    }
    h_advance(w, 1);
    h_expect(w, c, PANP_BODY_GOODBYE);
    h_expect_closing(w, c);
}

/* [PANP-SEC-7] unfinished handshakes are limited, in total and per peer */
static void t_pending_connection_limits(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_pending_connections = 5;
    w->cfg->limits.max_pending_per_peer = 3;
    h_start(w);
    core_peer a = {.transport = CORE_TRANSPORT_UNIX, .user = "a", .address = "x", .peer_id = "uid:1"};
    core_peer b = {.transport = CORE_TRANSPORT_UNIX, .user = "b", .address = "y", .peer_id = "uid:2"};
    core_conn *ca[4], *cb[3];
    for (int i = 0; i < 3; i++) assert_non_null(ca[i] = core_connect(w->core, &a, w->now));
    assert_null(core_connect(w->core, &a, w->now)); /* per peer */
    for (int i = 0; i < 2; i++) assert_non_null(cb[i] = core_connect(w->core, &b, w->now));
    assert_null(core_connect(w->core, &b, w->now)); /* in total */
    /* a finished handshake frees its place */
    core_on_bytes(w->core, ca[0], (const uint8_t *)PANP_PREFACE, PANP_PREFACE_LEN, w->now);
    panp_frame f = hello(PANP_AUTH_EXTERNAL, NULL);
    f.request_id = 1;
    core_on_frame(w->core, ca[0], &f, w->now);
    assert_non_null(ca[3] = core_connect(w->core, &a, w->now));
    /* so does a closed one */
    core_disconnect(w->core, cb[0], CORE_GONE_EOF, w->now);
    assert_non_null(cb[2] = core_connect(w->core, &b, w->now));
    h_free(w);
}

/* [PANP-CONN-1] (7.2: EOF in READY) peer gone at once, the queue still flushed */
static void t_eof_keeps_flushing(void **state)
{
    h_world *w = *state;
    h_conn *s = h_connect(w, "alice");
    h_conn *l = h_connect(w, "alice");
    h_register(w, l, h_server(), H_TYPE_A, 1, 2);
    uint64_t ch = h_open(w, s, h_server(), H_TYPE_A, 1, 2);
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, s, &p);
    core_on_eof(w->core, s->cc, w->now);
    /* [PANP-REL-6] no waiting for the keepalive timeout */
    panp_frame *cc = h_expect(w, l, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(cc->body.channel_closed.channel_id, ch);
    assert_int_equal(cc->body.channel_closed.reason, PANP_CLOSE_REASON_PEER_GONE);
    assert_int_equal(h_io(s), CORE_IO_WRITE);
    h_expect(w, s, PANP_BODY_PONG);
    assert_int_equal(h_io(s), CORE_IO_DRAINED);
    /* before READY, EOF just closes */
    h_conn *d = after_preface(w, CORE_TRANSPORT_UNIX, "bob");
    core_on_eof(w->core, d->cc, w->now);
    assert_int_equal(h_io(d), CORE_IO_CLOSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_preface_then_welcome),
        T(t_bad_preface_closes_silently),
        T(t_await_hello_rejects_every_other_body),
        T(t_await_hello_goodbye_is_violation),
        T(t_hello_unsupported_version),
        T(t_hello_mechanism_not_offered),
        T(t_hello_token_auth),
        T(t_second_hello_is_violation),
        T(t_hello_deadline),
        T(t_request_id_zero),
        T(t_ping_pong_in_order),
        T(t_oversized_frame),
        T(t_malformed_protobuf_is_fatal),
        T(t_truncated_submessage_is_fatal),
        T(t_empty_frame_is_violation),
        T(t_broker_bodies_from_client_are_violations),
        T(t_field_rule_is_not_fatal),
        T(t_keepalive_silence),
        T(t_goodbye_from_client),
        T(t_closing_ignores_input),
        T(t_flush_deadline),
        T(t_welcome_identity_and_truncation),
        cmocka_unit_test(t_welcome_admin_printers_truncated),
        T(t_hello_max_frame_too_small),
        T(t_connection_refused_after_shutdown),
        T(t_hello_check_order),
        T(t_refused_frames_in_spec_order),
        T(t_token_refused_off_loopback),
        T(t_token_rejections_look_alike),
        T(t_unix_uid_without_name),
        T(t_keepalive_counts_complete_frames),
        cmocka_unit_test(t_pending_connection_limits),
        T(t_eof_keeps_flushing),
    };
    return cmocka_run_group_tests_name("panpd-core-conn", tests, NULL, NULL);
}
