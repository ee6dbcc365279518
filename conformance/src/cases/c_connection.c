/* cases/c_connection.c - preface, handshake, connection states, requests
 * and responses, Goodbye (SPEC sections 5.1, 7, 20). */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* ---- preface ------------------------------------------------------------ */

static void run_preface_broker_first(pc_t *t)
{
    /* The suite sends preface and Hello in one write (allowed, PREF-6); the
     * harness fails the case unless the broker's preface precedes its
     * first frame. */
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    pc_barrier(c, NULL);
}

static void bad_preface(pc_t *t, const void *bytes, size_t n, const char *what)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    pc_send_raw(c, bytes, n, what);
    /* A Hello right behind it: a broker that skipped the check would answer. */
    raw_hello h = rh_valid(c);
    pbw f = PBW_INIT;
    rh_encode(&f, &h);
    pc_send_pbw(c, &f, "Hello");
    pbw_free(&f);
    pc_expect_silent_close(c, "PANP-PREF-4");
}

static void run_preface_wrong_first(pc_t *t) { bad_preface(t, "\x88PANP\r\n\x1a", 8, "preface with a wrong first byte"); }
static void run_preface_wrong_last(pc_t *t) { bad_preface(t, "\x89PANP\r\n\x1b", 8, "preface with a wrong eighth byte"); }
static void run_preface_7bit(pc_t *t) { bad_preface(t, "\x09PANP\n\x1a", 7, "preface through a 7-bit, LF-only path"); }

static void run_preface_http(pc_t *t)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: panp\r\n\r\n";
    bad_preface(t, req, sizeof(req) - 1, "an HTTP request");
}

static void run_preface_byte_by_byte(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    raw_hello h = rh_valid(c);
    pbw f = PBW_INIT, d = PBW_INIT;
    rh_encode(&f, &h);
    pbw_raw(&d, PANP_PREFACE, PANP_PREFACE_LEN);
    pbw_delimit(&d, &f);
    /* One byte per write, each flushed, so the broker sees partial input. */
    for (size_t i = 0; i < d.len; i++) {
        pc_send_raw(c, d.buf + i, 1, "one byte");
        pc_flush(c);
        usleep(500);
    }
    c->raw_sent = false;
    pc_expect_rid(c, h.rid);
    c->sent_preface = true;
    pbw_free(&f);
    pbw_free(&d);
    const panp_frame *w = pc_await_hello_response(c, h.rid);
    if (w->kind != PANP_BODY_WELCOME) pc_fail(t, "PANP-FRAME-1", "a Welcome", "%s", pc_frame_text(t, w));
}

/* ---- Welcome -------------------------------------------------------------- */

static void run_welcome_fields(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    const panp_welcome *w = &c->welcome->body.welcome;
    if (c->welcome->request_id != 1) pc_fail(t, "PANP-CONN-11", "Welcome with the Hello's request_id 1", "%s", pc_frame_text(t, c->welcome));
    if (w->version != 1) pc_fail(t, "PANP-VER-3", "Welcome.version 1 for a client offering 1..1", "%s", pc_frame_text(t, c->welcome));
    if (!w->has_limits || !w->has_identity)
        pc_fail(t, "PANP-CONN-11", "Welcome with limits and identity", "%s", pc_frame_text(t, c->welcome));
}

static void run_limits_announced(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    const panp_limits *l = &c->welcome->body.welcome.limits;
    const char *got = pc_frame_text(t, c->welcome);
    if (l->max_frame_size < PANP_MIN_MAX_FRAME) pc_fail(t, "PANP-FRAME-6", "max_frame_size >= 4096", "%s", got);
    if (!l->max_registrations || !l->max_channels || !l->keepalive_interval_ms || !l->keepalive_timeout_ms ||
        !l->max_outbound_bytes)
        pc_fail(t, "PANP-LIM-2", "every Limits field but max_lease_seconds non-zero", "%s", got);
    if ((uint64_t)l->keepalive_timeout_ms < 2 * (uint64_t)l->keepalive_interval_ms)
        pc_fail(t, "PANP-LIM-3", "keepalive_timeout_ms >= 2 x keepalive_interval_ms", "%s", got);
    if (l->max_outbound_bytes < 131072) pc_fail(t, "PANP-LIM-4", "max_outbound_bytes >= 131072", "%s", got);
}

static void run_limits_defaults(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    const panp_limits *l = &c->welcome->body.welcome.limits;
    if (l->max_frame_size != 65536 || l->max_registrations != 64 || l->max_channels != 64 ||
        l->keepalive_interval_ms != 30000 || l->keepalive_timeout_ms != 90000 || l->max_lease_seconds != 86400 ||
        l->max_outbound_bytes != 1048576)
        pc_warn(t, "PANP-LIM-5", "announced limits differ from the SPEC defaults: %s", pc_frame_text(t, c->welcome));
}

/* ---- versions ------------------------------------------------------------- */

static void run_version_range(pc_t *t)
{
    pc_hello_opts o = {.min_version = 1, .max_version = 9};
    pc_conn *c = pc_connect_opts(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", &o);
    if (c->welcome->body.welcome.version != 1)
        pc_fail(t, "PANP-VER-1", "version 1, the highest the broker implements within 1..9", "%s",
                pc_frame_text(t, c->welcome));
}

static void run_version_unsupported(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    raw_hello h = rh_valid(c);
    h.min = 2;
    h.max = 3;
    rh_send(c, &h);
    const panp_frame *f = pc_response(c, h.rid, "PANP-VER-2");
    pc_check_error(c, f, PANP_ERR_UNSUPPORTED_VERSION, true, "PANP-VER-2", NULL);
    const char *field = f->body.error.field;
    if (strcmp(field, "hello.min_version") && strcmp(field, "hello.max_version"))
        pc_fail(t, "PANP-ERR-9", "field hello.min_version or hello.max_version", "%s", pc_frame_text(t, f));
    if (!strchr(f->body.error.message, '1'))
        pc_fail(t, "PANP-VER-2", "a message stating the range the broker implements (1)", "%s", pc_frame_text(t, f));
    pc_expect_close_after_fatal(c, f, "PANP-VER-2");
}

/* ---- Hello checks, in order (7.3) ---------------------------------------- */

typedef struct hello_check {
    raw_hello h;        /* fields set here override the valid Hello */
    unsigned set;       /* which of them */
    panp_error_code code;
    const char *field;
    const char *req;
} hello_check;

enum { HS_RID = 1, HS_MIN = 2, HS_MAX = 4, HS_SOFT = 8, HS_AUTH = 16, HS_TOKEN = 32, HS_SESSION = 64, HS_FRAME = 128 };

static const char SOFT65[] = "0123456789012345678901234567890123456789012345678901234567890123X";
static const char LABEL65[] = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdX";

static const hello_check HC_RID0 = {{.rid = 0, .min = 0}, HS_RID | HS_MIN, PANP_ERR_INVALID_ARGUMENT, "frame.request_id", "PANP-CONN-10"};
static const hello_check HC_MIN0 = {{.min = 0, .auth = 9}, HS_MIN | HS_AUTH, PANP_ERR_INVALID_ARGUMENT, "hello.min_version", "PANP-CONN-10"};
static const hello_check HC_MAXLOW = {{.min = 2, .max = 1}, HS_MIN | HS_MAX, PANP_ERR_INVALID_ARGUMENT, "hello.max_version", "PANP-CONN-10"};
static const hello_check HC_SOFT = {{.software = SOFT65, .auth = 9}, HS_SOFT | HS_AUTH, PANP_ERR_INVALID_ARGUMENT, "hello.software", "PANP-WIRE-13"};
static const hello_check HC_AUTH0 = {{.auth = 0}, HS_AUTH, PANP_ERR_INVALID_ARGUMENT, "hello.auth", "PANP-WIRE-16"};
static const hello_check HC_AUTH9 = {{.auth = 9}, HS_AUTH, PANP_ERR_INVALID_ARGUMENT, "hello.auth", "PANP-WIRE-16"};
static const hello_check HC_EXT_TOKEN = {{.auth = PANP_AUTH_EXTERNAL, .token = "secret"}, HS_AUTH | HS_TOKEN, PANP_ERR_INVALID_ARGUMENT, "hello.token", "PANP-CONN-10"};
static const hello_check HC_SESSION = {{.session = LABEL65, .max_frame = 100}, HS_SESSION | HS_FRAME, PANP_ERR_INVALID_ARGUMENT, "hello.session_label", "PANP-CONN-10"};
static const hello_check HC_SESSION_UTF8 = {{.session = "caf\xc3"}, HS_SESSION, PANP_ERR_INVALID_ARGUMENT, "hello.session_label", "PANP-WIRE-12"};
static const hello_check HC_FRAME1 = {{.max_frame = 1}, HS_FRAME, PANP_ERR_INVALID_ARGUMENT, "hello.max_frame_size", "PANP-FRAME-8"};
static const hello_check HC_FRAME4095 = {{.max_frame = 4095, .min = 7, .max = 8}, HS_FRAME | HS_MIN | HS_MAX, PANP_ERR_INVALID_ARGUMENT, "hello.max_frame_size", "PANP-FRAME-8"};

static void apply_check(raw_hello *h, const hello_check *hc)
{
    if (hc->set & HS_RID) h->rid = hc->h.rid;
    if (hc->set & HS_MIN) h->min = hc->h.min;
    if (hc->set & HS_MAX) h->max = hc->h.max;
    if (hc->set & HS_SOFT) h->software = hc->h.software;
    if (hc->set & HS_AUTH) h->auth = hc->h.auth;
    if (hc->set & HS_TOKEN) h->token = hc->h.token;
    if (hc->set & HS_SESSION) h->session = hc->h.session;
    if (hc->set & HS_FRAME) h->max_frame = hc->h.max_frame;
    if ((hc->set & HS_MIN) && !(hc->set & HS_MAX) && h->max < h->min) h->max = h->min;
}

static void run_hello_check(pc_t *t)
{
    const hello_check *hc = t->def->arg;
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    raw_hello h = rh_valid(c);
    apply_check(&h, hc);
    rh_send(c, &h);
    pc_expect_fatal(c, h.rid, hc->code, hc->req, hc->field);
}

static void run_hello_token_too_long(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    raw_hello h = rh_valid(c);
    h.auth = PANP_AUTH_TOKEN;
    h.token = filler(t, 513, 't');
    h.session = LABEL65; /* step 7 comes after step 6 */
    rh_send(c, &h);
    pc_expect_fatal(c, h.rid, PANP_ERR_INVALID_ARGUMENT, "PANP-WIRE-13", "hello.token");
}

static void run_hello_version_before_credentials(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    pc_identity nobody = {.name = "unknown-uid", .user = "", .has_uid = p->has_unknown_uid, .uid = p->unknown_uid,
                          .gid = p->unknown_uid, .token = "no-such-token-0123456789"};
    /* Credentials that identify nobody: a wrong token, or a uid without a
     * name when the profile gives one (else a valid uid: the order of the
     * version step before it is still checked against the later steps). */
    const pc_identity *who = is_tcp(t) || p->has_unknown_uid ? &nobody : pc_who(t, PC_ROLE_PLAIN, 0);
    pc_conn *c = pc_dial_as(t, who, "client", 0);
    raw_hello h = rh_valid(c);
    h.min = 5;
    h.max = 6;
    rh_send(c, &h);
    pc_expect_fatal(c, h.rid, PANP_ERR_UNSUPPORTED_VERSION, "PANP-CONN-10", NULL);
}

static void run_hello_mechanism_before_credentials(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    raw_hello h = rh_valid(c);
    /* the mechanism this transport does not offer, with bad credentials */
    h.auth = is_tcp(t) ? PANP_AUTH_EXTERNAL : PANP_AUTH_TOKEN;
    h.token = is_tcp(t) ? NULL : "no-such-token";
    rh_send(c, &h);
    pc_expect_fatal(c, h.rid, PANP_ERR_UNAUTHENTICATED, is_tcp(t) ? "PANP-TRANS-8" : "PANP-TRANS-7", "hello.auth");
}

/* ---- Hello deadline --------------------------------------------------------- */

static void hello_deadline(pc_t *t, bool send_preface)
{
    uint32_t ms = t->opt->profile->hello_timeout_ms;
    if (!ms) pc_skip(t, "not applicable: the profile gives no hello_timeout_ms");
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    if (send_preface) {
        pc_send_raw(c, PANP_PREFACE, PANP_PREFACE_LEN, "preface, then nothing");
        c->raw_sent = false;
    }
    int64_t t0 = pc_now_us();
    pc_await_eof(c, pc_scaled_ms(t, ms) + pc_wait_ms(t), "PANP-CONN-5",
                 pc_sprintf(t, "the broker closing the connection after its %" PRIu32 " ms Hello deadline", ms));
    int64_t took = (pc_now_us() - t0) / 1000;
    if (took + 50 < (int64_t)ms) pc_fail(t, "PANP-CONN-5", pc_sprintf(t, "the close no sooner than %" PRIu32 " ms", ms), "after %" PRId64 " ms", took);
    const panp_frame *f = pc_try_await(c, NULL, NULL, 0);
    if (f) pc_fail(t, "PANP-CONN-5", "no frame (no Welcome) before the close", "%s", pc_frame_text(t, f));
}

static void run_hello_deadline_after_preface(pc_t *t) { hello_deadline(t, true); }
static void run_hello_deadline_silent(pc_t *t) { hello_deadline(t, false); }

/* ---- state machine ---------------------------------------------------------- */

/* An empty body of the case's kind (its arg) with request id 7, which
 * the broker must refuse with a fatal PROTOCOL_VIOLATION. */
static void empty_body_is_fatal(pc_conn *c, const char *what_fmt, const char *req)
{
    panp_body_kind kind = (panp_body_kind)(uintptr_t)c->t->def->arg;
    pbw f = PBW_INIT;
    empty_body_frame(&f, 7, kind);
    pc_send_pbw_req(c, &f, 7, pc_sprintf(c->t, what_fmt, panp_body_name(kind)));
    pbw_free(&f);
    pc_expect_fatal(c, 7, PANP_ERR_PROTOCOL_VIOLATION, req, NULL);
}

static void run_await_hello_rejects(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    pc_send_raw(c, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
    c->raw_sent = false;
    c->sent_preface = true;
    empty_body_is_fatal(c, "%s before Hello", "PANP-CONN-2");
}

static void run_ready_rejects_broker_body(pc_t *t)
{
    empty_body_is_fatal(pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client"), "a %s, which only brokers send",
                        "PANP-CONN-4");
}

static void run_ready_second_hello(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    raw_hello h = rh_valid(c);
    h.rid = 2;
    pbw f = PBW_INIT;
    rh_encode(&f, &h);
    pc_send_pbw_req(c, &f, 2, "a second Hello");
    pbw_free(&f);
    pc_expect_fatal(c, 2, PANP_ERR_PROTOCOL_VIOLATION, "PANP-CONN-3", NULL);
}

static void run_closing_discards(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    /* A fatal frame and, in the same write, requests that must never be
     * answered: the broker is CLOSING once it has read the first. */
    pbw f = PBW_INIT, d = PBW_INIT;
    empty_body_frame(&f, 2, PANP_BODY_PONG);
    pbw_delimit(&d, &f);
    pbw_free(&f);
    empty_body_frame(&f, 3, PANP_BODY_PING);
    pbw_delimit(&d, &f);
    pbw_free(&f);
    pc_send_raw(c, d.buf, d.len, "a Pong (fatal), then a Ping in the same write");
    pbw_free(&d);
    pc_expect_fatal(c, 2, PANP_ERR_PROTOCOL_VIOLATION, "PANP-CONN-7", NULL);
}

/* ---- requests ------------------------------------------------------------- */

static void run_request_id_zero(pc_t *t)
{
    pc_conn *s = pc_connect(t, pc_who(t, PC_ROLE_SENDER, 0), "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    panp_frame f = {.kind = PANP_BODY_SEND, .body.send = {ch, pc_uuid(t->type), pc_s("zero")}};
    pc_send(s, &f); /* request_id 0 on purpose */
    const panp_frame *e = pc_await(s, pc_m_error_rid0, NULL, -1, "PANP-CONN-15", "Error with request_id 0");
    pc_check_error(s, e, PANP_ERR_INVALID_ARGUMENT, false, "PANP-CONN-15", "frame.request_id");
    /* Not acted upon: the next accepted Send is still the first. */
    panp_sent sent = pc_notify(s, ch, t->type, "one", NULL);
    if (sent.sequence != 1)
        pc_fail(t, "PANP-ERR-7", "sequence 1: the refused Send must not have used a number", "sequence %" PRIu64, sent.sequence);
}

static void run_pipelined(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_SENDER, 0), "client");
    enum { MAX_ROUNDS = 20 };
    size_t rounds = c->limits.max_registrations < MAX_ROUNDS ? c->limits.max_registrations : MAX_ROUNDS;
    uint64_t rids[MAX_ROUNDS * 3];
    panp_body_kind want[MAX_ROUNDS * 3];
    size_t n = 0;
    uint8_t *types = random_bytes(t, MAX_ROUNDS * PANP_UUID_LEN);
    /* Everything is written before anything is read. */
    for (size_t i = 0; i < rounds; i++) {
        panp_frame reg = {.kind = PANP_BODY_REGISTER,
                          .body.register_listener = pc_reg_args(pc_server(), types + i * PANP_UUID_LEN,
                                                                PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL)};
        panp_frame ping = {.kind = PANP_BODY_PING};
        panp_frame bad = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(types, 16)};
        want[n] = PANP_BODY_REGISTERED;
        rids[n++] = pc_req(c, &reg);
        want[n] = PANP_BODY_PONG;
        rids[n++] = pc_req(c, &ping);
        want[n] = PANP_BODY_ERROR;
        rids[n++] = pc_req(c, &bad);
    }
    /* The harness fails the case on any response out of order. */
    for (size_t i = 0; i < n; i++) {
        const panp_frame *r = pc_response(c, rids[i], "PANP-CONN-12");
        if (r->kind != want[i])
            pc_fail(t, "PANP-CONN-13", pc_sprintf(t, "%s for request %" PRIu64, panp_body_name(want[i]), rids[i]), "%s",
                    pc_frame_text(t, r));
    }
}

/* ---- Goodbye ------------------------------------------------------------------ */

static void goodbye_case(pc_t *t, uint64_t rid, panp_goodbye_reason reason, const char *msg, const char *req)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg l = listen_on(t, sid, "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_notify(s, ch, t->type, "hello", NULL);
    pc_await_notify(l.c, ch, 1, NULL);
    /* Hand-built: an encoder may refuse reason 0 */
    pbw body = PBW_INIT, f = PBW_INIT;
    if (reason) pbw_uint(&body, 1, reason);
    pbw_str(&body, 2, msg);
    frame_wrap(&f, rid, PANP_BODY_GOODBYE, &body);
    pc_send_pbw(s, &f, pc_sprintf(t, "Goodbye{request_id=%" PRIu64 " reason=%s message=\"%s\"}", rid, pc_goodbye_name(reason), msg));
    pbw_free(&body);
    pbw_free(&f);
    const panp_channel_closed *cc = pc_await_closed(l.c, ch, 0, PANP_CLOSE_REASON_PEER_GONE, req);
    (void)cc;
    pc_await_eof(s, -1, "PANP-CONN-18", "the broker closing the connection after the client's Goodbye");
    const panp_frame *after = pc_try_await(s, NULL, NULL, 0);
    if (after && after->kind != PANP_BODY_GOODBYE)
        pc_fail(t, "PANP-CONN-18", "no response to a Goodbye", "%s", pc_frame_text(t, after));
}

static void run_goodbye_clean(pc_t *t) { goodbye_case(t, 0, PANP_GOODBYE_CLIENT_DONE, "done", "PANP-CONN-18"); }
static void run_goodbye_any_content(pc_t *t) { goodbye_case(t, 77, PANP_GOODBYE_UNSPECIFIED, "odd goodbye", "PANP-CONN-19"); }

/* ---- every broker frame kind, checked by the harness ------------------ */

/* A session that makes the broker send every response and event kind.
 * The harness checks each frame on receipt: canonical encoding (re-encoding
 * gives the same bytes, so no unknown field, padding or default value),
 * only v1 enum values, events with request_id 0, Errors with a code and a
 * message starting with their field, responses in order. */
static void run_every_frame_kind(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_conn *l = pc_connect(t, sid, "listener");
    pc_reg uni = pc_register(l, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register(l, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    panp_frame renew = {.kind = PANP_BODY_RENEW, .body.renew = {pc_b(uni.handle, uni.hlen), 60}};
    pc_call_expect(l, &renew, PANP_BODY_RENEWED, "PANP-CONN-13");
    list_regs(l, pc_server(), 0, "PANP-CONN-13");
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t u = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "to all");
    uint64_t b = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "question");
    pc_await_notify(l, u, 1, NULL);
    uint64_t conv = pc_await_notify(l, b, 1, NULL)->conversation_id;
    pc_reply(l, conv, t->type, "answer", NULL);
    pc_await_reply_delivery(s, b, NULL);
    pc_close_channel(s, u, 0, t->type, "bye", NULL);
    pc_await_closed(l, u, 0, PANP_CLOSE_REASON_CLOSED_BY_SENDER, NULL);
    pc_close_channel(l, 0, conv, NULL, NULL, NULL);
    pc_await_closed(s, b, 0, PANP_CLOSE_REASON_CLOSED_BY_LISTENER, NULL);
    panp_frame bad = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(t->type, 16)};
    pc_call_error(l, &bad, PANP_ERR_NOT_FOUND, "PANP-ERR-3", "unregister.handle");
    pc_unregister(&uni);
    pc_barrier(l, NULL);
    pc_barrier(s, NULL);
}

/* ---- table -------------------------------------------------------------------- */

#define AWAIT_HELLO(body, kind)                                                                              \
    CASE_ARG("state.await-hello.rejects-" body, "PANP-CONN-2 PANP-CONN-1 PANP-ERR-8",                          \
             "a " body " frame before Hello is answered PROTOCOL_VIOLATION (fatal) and the connection closed", \
             run_await_hello_rejects, (const void *)(uintptr_t)(kind))
#define HELLO_CHECK(check, r, s, hc) CASE_ARG("handshake.check." check, r, s, run_hello_check, &hc)
#define READY_REJECTS(body, kind)                                                                            \
    CASE_ARG("state.ready.rejects-" body, "PANP-CONN-4 PANP-CONN-1 PANP-WIRE-9",                               \
             "a " body " frame (a body only brokers send) is answered PROTOCOL_VIOLATION (fatal) and closed",  \
             run_ready_rejects_broker_body, (const void *)(uintptr_t)(kind))

static const pc_case_def CASES[] = {
    CASE("preface.broker-answers-with-preface", "PANP-PREF-3 PANP-PREF-6",
         "preface and Hello sent in one write: the broker's preface comes before its Welcome", run_preface_broker_first),
    CASE("preface.wrong-first-byte", "PANP-PREF-4 PANP-PREF-2",
         "a wrong first preface byte: the broker closes without sending a single byte", run_preface_wrong_first),
    CASE("preface.wrong-last-byte", "PANP-PREF-4 PANP-PREF-2",
         "seven right preface bytes and a wrong eighth: closed, nothing sent (not even its own preface)", run_preface_wrong_last),
    CASE("preface.seven-bit-path", "PANP-PREF-4",
         "a preface mangled by a 7-bit, line-ending-rewriting path is refused silently", run_preface_7bit),
    CASE("preface.http-request", "PANP-PREF-4", "an HTTP request instead of a preface: closed silently", run_preface_http),
    CASE("preface.byte-by-byte", "PANP-PREF-3 PANP-FRAME-1",
         "preface and Hello written one byte per write still get the broker's preface and Welcome", run_preface_byte_by_byte),
    CASE("handshake.welcome-fields", "PANP-CONN-11 PANP-VER-3 PANP-AUTH-6",
         "the Welcome carries the Hello's request_id, version 1, limits and identity", run_welcome_fields),
    CASE("handshake.limits-announced", "PANP-FRAME-6 PANP-LIM-2 PANP-LIM-3 PANP-LIM-4",
         "Welcome.limits: frame size >= 4096, non-zero fields, timeout >= 2 x interval, outbound >= 131072", run_limits_announced),
    CASE_FEAT("handshake.limits-defaults", "PANP-LIM-5",
              "a broker claiming default limits announces the SPEC's defaults", "default-limits", run_limits_defaults),
    CASE("handshake.version-highest-in-range", "PANP-VER-1 PANP-VER-3",
         "a client offering 1..9 gets version 1", run_version_range),
    CASE("handshake.version-unsupported", "PANP-VER-2 PANP-CONN-9",
         "a client offering 2..3 gets UNSUPPORTED_VERSION, fatal, naming the version field and the range 1", run_version_unsupported),
    HELLO_CHECK("request-id-zero", "PANP-CONN-10 PANP-CONN-9",
                "Hello with request_id 0 (and min_version 0): INVALID_ARGUMENT frame.request_id, fatal", HC_RID0),
    HELLO_CHECK("min-version-zero", "PANP-CONN-10 PANP-CONN-9",
                "Hello with min_version 0 (and a bad auth): INVALID_ARGUMENT hello.min_version, fatal", HC_MIN0),
    HELLO_CHECK("max-below-min", "PANP-CONN-10",
                "Hello with max_version < min_version: INVALID_ARGUMENT hello.max_version before the version check", HC_MAXLOW),
    HELLO_CHECK("software-too-long", "PANP-CONN-10 PANP-WIRE-13",
                "Hello.software of 65 bytes (and a bad auth): INVALID_ARGUMENT hello.software", HC_SOFT),
    HELLO_CHECK("auth-unspecified", "PANP-CONN-10 PANP-WIRE-16",
                "Hello.auth 0: INVALID_ARGUMENT hello.auth, fatal", HC_AUTH0),
    HELLO_CHECK("auth-undefined", "PANP-WIRE-16 PANP-CONN-9",
                "Hello.auth 9 (no such mechanism): INVALID_ARGUMENT hello.auth, fatal", HC_AUTH9),
    HELLO_CHECK("token-with-external", "PANP-CONN-10",
                "EXTERNAL with a token: INVALID_ARGUMENT hello.token, fatal", HC_EXT_TOKEN),
    CASE("handshake.check.token-too-long", "PANP-CONN-10 PANP-WIRE-13",
         "a 513-byte token (and a bad session label): INVALID_ARGUMENT hello.token", run_hello_token_too_long),
    HELLO_CHECK("session-label-too-long", "PANP-CONN-10 PANP-WIRE-13",
                "a 65-byte session label (and a bad max_frame_size): INVALID_ARGUMENT hello.session_label", HC_SESSION),
    HELLO_CHECK("session-label-utf8", "PANP-WIRE-12",
                "a session label with truncated UTF-8: INVALID_ARGUMENT hello.session_label", HC_SESSION_UTF8),
    HELLO_CHECK("max-frame-size-1", "PANP-FRAME-8",
                "Hello.max_frame_size 1: INVALID_ARGUMENT hello.max_frame_size, fatal", HC_FRAME1),
    HELLO_CHECK("max-frame-size-4095", "PANP-FRAME-8 PANP-CONN-10",
                "Hello.max_frame_size 4095 (with an unsupported version): INVALID_ARGUMENT hello.max_frame_size first", HC_FRAME4095),
    CASE("handshake.check.version-before-credentials", "PANP-CONN-10",
         "no common version and credentials that identify nobody: UNSUPPORTED_VERSION comes first", run_hello_version_before_credentials),
    CASE("handshake.check.mechanism-before-credentials", "PANP-CONN-10 PANP-TRANS-7 PANP-TRANS-8",
         "the mechanism this binding does not offer: UNAUTHENTICATED hello.auth", run_hello_mechanism_before_credentials),
    CASE("handshake.hello-deadline.after-preface", "PANP-CONN-5",
         "preface but no Hello: the broker closes at its Hello deadline, sending no Welcome", run_hello_deadline_after_preface),
    CASE("handshake.hello-deadline.no-preface", "PANP-CONN-5 PANP-CONN-1",
         "nothing at all: the broker closes at its Hello deadline without sending a byte", run_hello_deadline_silent),
    AWAIT_HELLO("register", PANP_BODY_REGISTER),
    AWAIT_HELLO("renew", PANP_BODY_RENEW),
    AWAIT_HELLO("unregister", PANP_BODY_UNREGISTER),
    AWAIT_HELLO("list-registrations", PANP_BODY_LIST_REGISTRATIONS),
    AWAIT_HELLO("open-channel", PANP_BODY_OPEN_CHANNEL),
    AWAIT_HELLO("send", PANP_BODY_SEND),
    AWAIT_HELLO("close-channel", PANP_BODY_CLOSE_CHANNEL),
    AWAIT_HELLO("reply", PANP_BODY_REPLY),
    AWAIT_HELLO("ping", PANP_BODY_PING),
    AWAIT_HELLO("goodbye", PANP_BODY_GOODBYE),
    AWAIT_HELLO("welcome", PANP_BODY_WELCOME),
    AWAIT_HELLO("notify", PANP_BODY_NOTIFY),
    READY_REJECTS("notify", PANP_BODY_NOTIFY),
    READY_REJECTS("sent", PANP_BODY_SENT),
    READY_REJECTS("reply-delivery", PANP_BODY_REPLY_DELIVERY),
    READY_REJECTS("channel-closed", PANP_BODY_CHANNEL_CLOSED),
    READY_REJECTS("pong", PANP_BODY_PONG),
    READY_REJECTS("error", PANP_BODY_ERROR),
    READY_REJECTS("ok", PANP_BODY_OK),
    READY_REJECTS("welcome", PANP_BODY_WELCOME),
    READY_REJECTS("registered", PANP_BODY_REGISTERED),
    READY_REJECTS("renewed", PANP_BODY_RENEWED),
    READY_REJECTS("registration-list", PANP_BODY_REGISTRATION_LIST),
    READY_REJECTS("channel-opened", PANP_BODY_CHANNEL_OPENED),
    READY_REJECTS("channel-close-result", PANP_BODY_CHANNEL_CLOSE_RESULT),
    READY_REJECTS("registration-ended", PANP_BODY_REGISTRATION_ENDED),
    CASE("state.ready.second-hello", "PANP-CONN-3 PANP-CONN-1",
         "a second Hello in READY: PROTOCOL_VIOLATION, fatal, closed", run_ready_second_hello),
    CASE("state.closing.discards-input", "PANP-CONN-6 PANP-CONN-7 PANP-CONN-8 PANP-ERR-4",
         "after a fatal Error nothing more is answered (a Ping in the same write gets no Pong) and the broker closes", run_closing_discards),
    CASE("request.request-id-zero", "PANP-CONN-15 PANP-ERR-7 PANP-ERR-8",
         "a Send with request_id 0: INVALID_ARGUMENT frame.request_id, request_id 0, not fatal, not acted upon", run_request_id_zero),
    CASE("request.pipelined-responses-in-order", "PANP-CONN-12 PANP-CONN-13 PANP-CONN-14 PANP-ORD-2",
         "60 requests written at once: one response each, in request order, with the success body of its request", run_pipelined),
    CASE("session.every-frame-kind-canonical",
         "PANP-WIRE-1 PANP-WIRE-2 PANP-VER-4 PANP-CONN-13 PANP-CONN-16 PANP-ERR-2 PANP-ERR-3 PANP-ERR-10 PANP-ORD-3",
         "a session drawing every response and event kind from the broker: each frame canonical, v1-only, events with "
         "request_id 0, Errors well-formed",
         run_every_frame_kind),
    CASE("goodbye.client-done-is-peer-death", "PANP-CONN-18 PANP-REL-3 PANP-REL-6",
         "a sender's Goodbye: no response, its listeners get ChannelClosed(PEER_GONE, RELEASE), the broker closes", run_goodbye_clean),
    CASE("goodbye.any-request-id-reason-message", "PANP-CONN-19",
         "a Goodbye with request_id 77 and reason UNSPECIFIED still ends the client", run_goodbye_any_content),
};

PC_TABLE(pc_cases_connection, CASES);
