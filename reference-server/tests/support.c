/* support.c - shared helpers of the core's unit tests (support.h). */
#include "support.h"

#include <stdlib.h>
#include <string.h>

int world_setup(void **state)
{
    h_world *w = h_new();
    h_start(w);
    *state = w;
    return 0;
}

int world_teardown(void **state)
{
    h_free(*state);
    return 0;
}

panp_frame *req_error(h_world *w, h_conn *c, panp_frame f, panp_error_code code, const char *field)
{
    uint64_t rid = h_request(w, c, &f);
    panp_frame *e = h_expect_error(w, c, code, false);
    assert_int_equal(e->request_id, rid);
    if (field) assert_string_equal(e->body.error.field, field);
    return e;
}

char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

void ping(h_world *w, h_conn *c)
{
    panp_frame p = {.kind = PANP_BODY_PING};
    h_request(w, c, &p);
    h_expect(w, c, PANP_BODY_PONG);
}

h_handle registered(h_world *w, h_conn *c, panp_frame f)
{
    h_request(w, c, &f);
    h_handle h = {.len = 16};
    memcpy(h.b, h_expect(w, c, PANP_BODY_REGISTERED)->body.registered.handle.data, 16);
    return h;
}

panp_frame *expect_notify(h_world *w, h_conn *c, uint64_t chan, uint64_t seq, const char *payload)
{
    panp_frame *n = h_expect(w, c, PANP_BODY_NOTIFY);
    assert_int_equal(n->request_id, 0);
    assert_int_equal(n->body.notify.channel_id, chan);
    assert_int_equal(n->body.notify.sequence, seq);
    if (payload) assert_true(h_payload_is(n->body.notify.payload, payload));
    return n;
}

panp_frame *expect_closed(h_world *w, h_conn *c, uint64_t chan, panp_close_reason why)
{
    panp_frame *f = h_expect(w, c, PANP_BODY_CHANNEL_CLOSED);
    assert_int_equal(f->body.channel_closed.channel_id, chan);
    if (f->body.channel_closed.reason != why)
        fail_msg("%s: ChannelClosed %s, wanted %s", c->user,
                 panp_close_reason_name(f->body.channel_closed.reason), panp_close_reason_name(why));
    bool release = why == PANP_CLOSE_REASON_PEER_GONE || why == PANP_CLOSE_REASON_SERVER_SHUTDOWN;
    if (release)
        assert_true(panp_bytes_is_uuid(f->body.channel_closed.notification_type,
                                       PANP_TYPE_NOTIFICATION_RELEASE));
    return f;
}

void expect_release(h_world *w, h_conn *c, uint64_t chan, panp_close_reason why)
{
    panp_frame *f = expect_closed(w, c, chan, why);
    assert_true(panp_bytes_is_uuid(f->body.channel_closed.notification_type,
                                   PANP_TYPE_NOTIFICATION_RELEASE));
    assert_int_equal(f->body.channel_closed.payload.len, 0);
}

panp_frame *close_req(h_world *w, h_conn *c, panp_close_side side, uint64_t id, const uint8_t *rtype,
                      const char *rpayload)
{
    panp_frame f = h_close_frame(side, id, rtype, rpayload);
    uint64_t rid = h_request(w, c, &f);
    panp_frame *r = h_next(w, c);
    assert_non_null(r);
    assert_int_equal(r->request_id, rid);
    return r;
}

void expect_outcome(panp_frame *r, panp_close_outcome o)
{
    if (r->kind == PANP_BODY_ERROR) fail_msg("close: Error %s", r->body.error.message);
    assert_int_equal(r->kind, PANP_BODY_CHANNEL_CLOSE_RESULT);
    assert_int_equal(r->body.channel_close_result.outcome, o);
}

pair pair_up(h_world *w, panp_style style)
{
    pair p = {0};
    p.s = h_connect(w, "alice"); /* sequenced: expectations follow connection order */
    p.l = h_connect(w, "alice");
    p.h = h_register(w, p.l, h_server(), H_TYPE_A, PER, style);
    p.ch = h_open(w, p.s, h_server(), H_TYPE_A, PER, style);
    return p;
}

pair ask(h_world *w, panp_style style)
{
    pair p = pair_up(w, style);
    h_send(w, p.s, p.ch, H_TYPE_A, "q");
    p.conv = h_expect(w, p.l, PANP_BODY_NOTIFY)->body.notify.conversation_id;
    return p;
}

trio trio_up(h_world *w, panp_style style, bool small)
{
    trio t;
    t.s = h_connect(w, "alice");
    t.l1 = small ? h_connect_opts(w, "alice", "", 4096) : h_connect(w, "alice");
    t.l2 = h_connect(w, "alice");
    t.h1 = h_register(w, t.l1, h_server(), H_TYPE_A, PER, style);
    t.h2 = h_register(w, t.l2, h_server(), H_TYPE_A, PER, style);
    return t;
}
