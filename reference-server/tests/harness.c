/* harness.c - fake connections, clock and randomness around the core (see
 * harness.h). */
#include "harness.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t H_TYPE_A[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
                              0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
const uint8_t H_TYPE_B[16] = {0x21, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
                              0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x02};

static int h_random(void *ud, uint8_t *buf, size_t len)
{
    h_world *w = ud;
    if (w->random_fails) return -1;
    for (size_t i = 0; i < len; i++) {
        /* splitmix64: deterministic, and distinct for every call. */
        uint64_t z = (w->rnd += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf[i] = (uint8_t)(z ^ (z >> 31));
    }
    return 0;
}

static void h_wake(void *ud, core_conn *cc)
{
    h_conn *c = core_conn_data(cc);
    (void)ud;
    if (c) c->wakes++;
}

static void h_log(void *ud, log_level lv, const char *line)
{
    h_world *w = ud;
    if (w->log) fprintf(stderr, "[core %d] %s\n", (int)lv, line);
}

h_world *h_new(void)
{
    h_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->log = getenv("PANPD_TEST_LOG") != NULL;
    w->now = 1000000;
    panpd_config *c = w->cfg = conf_new();
    assert_non_null(c);
    c->server_name = strdup("test-server");
    c->log_level = LOG_DEBUG;
    int p1 = conf_add_printer(c, "P1");
    assert_int_equal(conf_add_printer(c, "P2"), 1);
    strlist_add(&c->printers[p1].admins, "padmin");
    strlist_add(&c->server_admins, "root");
    strlist_add(&c->senders, "alice");
    strlist_add(&c->senders, "sender");
    strlist_add(&c->trusted, "spooler");
    uint8_t h[32];
    SHA256((const uint8_t *)H_TOKEN, strlen(H_TOKEN), h);
    conf_add_token(c, "tokuser", h);
    return w;
}

void h_start(h_world *w)
{
    char err[128];
    assert_int_equal(conf_check(w->cfg, err, sizeof(err)), 0);
    core_hooks hooks = {.ud = w, .random = h_random, .wake = h_wake, .log = h_log};
    w->core = core_new(w->cfg, &hooks, w->now);
    assert_non_null(w->core);
}

void h_free(h_world *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nconns; i++) {
        h_conn *c = &w->conns[i];
        while (c->in_head != c->in_tail) panp_frame_free(c->inbox[c->in_head++ % H_INBOX]);
        panp_framer_free(c->fr);
    }
    for (size_t i = 0; i < w->nkeep; i++) panp_frame_free(w->keep[i]);
    core_free(w->core);
    conf_free(w->cfg);
    free(w);
}

h_conn *h_accept(h_world *w, core_transport t, const char *user)
{
    assert_true(w->nconns < H_MAX_CONNS);
    h_conn *c = &w->conns[w->nconns++];
    memset(c, 0, sizeof(*c));
    c->w = w;
    c->user = user;
    c->next_rid = 1;
    c->max_frame = PANP_DEFAULT_MAX_FRAME;
    c->fr = panp_framer_new(PANP_DEFAULT_MAX_FRAME, true);
    assert_non_null(c->fr);
    core_peer peer = {.transport = t,
                      .user = t == CORE_TRANSPORT_UNIX ? user : NULL,
                      .address = "test",
                      .loopback = w->remote ? false : true};
    c->cc = core_connect(w->core, &peer, w->now);
    if (c->cc) core_conn_set_data(c->cc, c);
    return c;
}

h_conn *h_connect_opts(h_world *w, const char *user, const char *session, uint32_t max_frame)
{
    h_conn *c = h_accept(w, CORE_TRANSPORT_UNIX, user);
    assert_non_null(c->cc);
    h_bytes(w, c, PANP_PREFACE, PANP_PREFACE_LEN);
    panp_frame f = {.kind = PANP_BODY_HELLO};
    f.body.hello = (panp_hello){.min_version = 1, .max_version = 1, .software = "harness",
                                .auth = PANP_AUTH_EXTERNAL, .session_label = session,
                                .max_frame_size = max_frame};
    if (max_frame) {
        c->max_frame = max_frame;
        panp_framer_set_max(c->fr, max_frame);
    }
    h_request(w, c, &f);
    panp_frame *wf = h_expect(w, c, PANP_BODY_WELCOME);
    assert_string_equal(wf->body.welcome.identity.user, user);
    return c;
}

h_conn *h_connect(h_world *w, const char *user)
{
    return h_connect_opts(w, user, "", 0);
}

void h_bytes(h_world *w, h_conn *c, const void *data, size_t len)
{
    core_on_bytes(w->core, c->cc, data, len, w->now);
}

void h_frame(h_world *w, h_conn *c, const panp_frame *f)
{
    size_t need = 0;
    panp_status st;
    panp_error_code rc = panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    if (rc != PANP_ERR_RESOURCE_EXHAUSTED && rc != PANP_ERR_UNSPECIFIED)
        fail_msg("encode %s: %s", panp_body_name(f->kind), st.message);
    uint8_t *buf = malloc(need);
    assert_non_null(buf);
    rc = panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, buf, need, &need, &st);
    if (rc != PANP_ERR_UNSPECIFIED) fail_msg("encode %s: %s", panp_body_name(f->kind), st.message);
    h_bytes(w, c, buf, need);
    free(buf);
}

uint64_t h_request(h_world *w, h_conn *c, panp_frame *f)
{
    f->request_id = c->next_rid++;
    h_frame(w, c, f);
    return f->request_id;
}

void h_disconnect(h_world *w, h_conn *c, core_gone why)
{
    assert_false(c->gone);
    c->gone = true;
    core_disconnect(w->core, c->cc, why, w->now);
    c->cc = NULL;
}

void h_advance(h_world *w, uint64_t ms)
{
    w->now += ms;
    core_tick(w->core, w->now);
}

bool h_ending(h_conn *c)
{
    unsigned io = h_io(c);
    return (io & (CORE_IO_DRAINED | CORE_IO_CLOSE)) && !(io & (CORE_IO_READ | CORE_IO_WRITE));
}

unsigned h_io(h_conn *c)
{
    return c->cc ? core_conn_io(c->cc) : CORE_IO_CLOSE;
}

void h_drain(h_world *w, h_conn *c, size_t limit)
{
    if (c->gone || !c->cc) return;
    struct iovec iov[16];
    int n;
    while (limit > 0 && (n = core_conn_iov(c->cc, iov, 16)) > 0) {
        size_t total = 0;
        for (int i = 0; i < n && limit > 0; i++) {
            size_t take = iov[i].iov_len < limit ? iov[i].iov_len : limit;
            const uint8_t *p = iov[i].iov_base;
            size_t left = take;
            while (left > 0) {
                size_t used = 0, flen = 0;
                const uint8_t *frame;
                panp_status st;
                panp_framer_result r = panp_framer_feed(c->fr, p, left, &used, &frame, &flen, &st);
                if (r == PANP_FRAMER_ERROR) fail_msg("client framer: %s", st.message);
                p += used;
                left -= used;
                if (r == PANP_FRAMER_FRAME) {
                    panp_frame *f = NULL;
                    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, c->max_frame};
                    if (panp_decode(&o, frame, flen, &f, &st) != PANP_ERR_UNSPECIFIED)
                        fail_msg("decoding what the broker sent: %s (%s)", st.message, st.field);
                    assert_true(c->in_tail - c->in_head < H_INBOX);
                    c->inbox[c->in_tail++ % H_INBOX] = f;
                }
            }
            total += take;
            limit -= take;
        }
        core_conn_wrote(w->core, c->cc, total, w->now);
    }
    if (core_conn_io(c->cc) & CORE_IO_CLOSE) c->close_seen = true;
}

panp_frame *h_next(h_world *w, h_conn *c)
{
    if (c->in_head == c->in_tail) h_drain(w, c, SIZE_MAX);
    if (c->in_head == c->in_tail) return NULL;
    panp_frame *f = c->inbox[c->in_head++ % H_INBOX];
    assert_true(w->nkeep < H_MAX_FRAMES);
    w->keep[w->nkeep++] = f;
    return f;
}

panp_frame *h_expect(h_world *w, h_conn *c, panp_body_kind kind)
{
    panp_frame *f = h_next(w, c);
    if (!f) fail_msg("%s: expected %s, got nothing", c->user, panp_body_name(kind));
    if (f->kind != kind) {
        if (f->kind == PANP_BODY_ERROR)
            fail_msg("%s: expected %s, got Error %s: %s", c->user, panp_body_name(kind),
                     panp_error_code_name(f->body.error.code), f->body.error.message);
        fail_msg("%s: expected %s, got %s", c->user, panp_body_name(kind), panp_body_name(f->kind));
    }
    return f;
}

panp_frame *h_expect_error(h_world *w, h_conn *c, panp_error_code code, bool fatal)
{
    panp_frame *f = h_expect(w, c, PANP_BODY_ERROR);
    if (f->body.error.code != code)
        fail_msg("%s: expected Error %s, got %s: %s", c->user, panp_error_code_name(code),
                 panp_error_code_name(f->body.error.code), f->body.error.message);
    assert_int_equal(f->body.error.fatal, fatal);
    assert_true(strlen(f->body.error.message) > 0);
    /* [PANP-ERR-8] the message starts with "<field>: " */
    size_t fl = strlen(f->body.error.field);
    if (fl && (strncmp(f->body.error.message, f->body.error.field, fl) != 0 ||
               strncmp(f->body.error.message + fl, ": ", 2) != 0))
        fail_msg("Error.message \"%s\" does not start with \"%s: \"", f->body.error.message,
                 f->body.error.field);
    return f;
}

void h_expect_none(h_world *w, h_conn *c)
{
    panp_frame *f = h_next(w, c);
    if (f) fail_msg("%s: expected nothing, got %s", c->user, panp_body_name(f->kind));
}

void h_expect_closing(h_world *w, h_conn *c)
{
    h_drain(w, c, SIZE_MAX);
    assert_true(h_ending(c));
}

panp_target h_server(void)
{
    return (panp_target){PANP_TARGET_SERVER, NULL};
}

panp_target h_printer(const char *name)
{
    return (panp_target){PANP_TARGET_PRINTER, name};
}

panp_frame h_register_frame(panp_target t, const uint8_t type[16], panp_user_filter uf, panp_style st)
{
    panp_frame f = {.kind = PANP_BODY_REGISTER};
    f.body.register_listener = (panp_register){.target = t,
                                               .notification_type = {type, 16},
                                               .user_filter = uf,
                                               .style = st};
    return f;
}

h_handle h_register(h_world *w, h_conn *c, panp_target t, const uint8_t type[16],
                    panp_user_filter uf, panp_style st)
{
    panp_frame f = h_register_frame(t, type, uf, st);
    uint64_t rid = h_request(w, c, &f);
    panp_frame *r = h_expect(w, c, PANP_BODY_REGISTERED);
    assert_int_equal(r->request_id, rid);
    h_handle h = {.len = r->body.registered.handle.len};
    assert_true(h.len >= PANP_HANDLE_MIN_LEN && h.len <= PANP_HANDLE_MAX_LEN);
    memcpy(h.b, r->body.registered.handle.data, h.len);
    return h;
}

panp_frame h_open_frame(panp_target t, const uint8_t type[16], panp_user_filter uf, panp_style st)
{
    panp_frame f = {.kind = PANP_BODY_OPEN_CHANNEL};
    f.body.open_channel = (panp_open_channel){.target = t,
                                              .notification_type = {type, 16},
                                              .user_filter = uf,
                                              .style = st};
    return f;
}

uint64_t h_open(h_world *w, h_conn *c, panp_target t, const uint8_t type[16], panp_user_filter uf,
                panp_style st)
{
    panp_frame f = h_open_frame(t, type, uf, st);
    uint64_t rid = h_request(w, c, &f);
    panp_frame *r = h_expect(w, c, PANP_BODY_CHANNEL_OPENED);
    assert_int_equal(r->request_id, rid);
    assert_true(r->body.channel_opened.channel_id != 0);
    return r->body.channel_opened.channel_id;
}

panp_frame h_send_frame(uint64_t chan, const uint8_t type[16], const char *payload)
{
    panp_frame f = {.kind = PANP_BODY_SEND};
    f.body.send = (panp_send){.channel_id = chan,
                              .notification_type = {type, 16},
                              .payload = {(const uint8_t *)payload, payload ? strlen(payload) : 0}};
    return f;
}

panp_frame *h_send(h_world *w, h_conn *c, uint64_t chan, const uint8_t type[16], const char *payload)
{
    panp_frame f = h_send_frame(chan, type, payload);
    uint64_t rid = h_request(w, c, &f);
    panp_frame *r = h_expect(w, c, PANP_BODY_SENT);
    assert_int_equal(r->request_id, rid);
    return r;
}

panp_frame h_reply_frame(uint64_t conv, const uint8_t type[16], const char *payload)
{
    panp_frame f = {.kind = PANP_BODY_REPLY};
    f.body.reply = (panp_reply){.conversation_id = conv,
                                .notification_type = {type, 16},
                                .payload = {(const uint8_t *)payload, payload ? strlen(payload) : 0}};
    return f;
}

panp_frame h_close_frame(panp_close_side side, uint64_t id, const uint8_t *reason_type,
                         const char *reason_payload)
{
    panp_frame f = {.kind = PANP_BODY_CLOSE_CHANNEL};
    f.body.close_channel.side = side;
    f.body.close_channel.id = id;
    if (reason_type) {
        f.body.close_channel.has_reason = true;
        f.body.close_channel.reason.notification_type = (panp_bytes){reason_type, 16};
        f.body.close_channel.reason.payload =
            (panp_bytes){(const uint8_t *)reason_payload, reason_payload ? strlen(reason_payload) : 0};
    }
    return f;
}

bool h_bytes_eq(panp_bytes b, const void *data, size_t len)
{
    return b.len == len && (len == 0 || memcmp(b.data, data, len) == 0);
}

bool h_payload_is(panp_bytes b, const char *s)
{
    return h_bytes_eq(b, s, strlen(s));
}

panp_bytes h_b(const h_handle *h)
{
    return (panp_bytes){h->b, h->len};
}

void h_discard(h_world *w, h_conn *c)
{
    (void)w;
    h_drain(w, c, SIZE_MAX);
    while (c->in_head != c->in_tail) panp_frame_free(c->inbox[c->in_head++ % H_INBOX]);
}

void hb_varint(hbuf *h, uint64_t v)
{
    assert_true(h->n + 10 <= sizeof(h->b));
    h->n += panp_varint_put(h->b + h->n, v);
}

void hb_uint(hbuf *h, uint32_t field, uint64_t v)
{
    hb_varint(h, (uint64_t)field << 3);
    hb_varint(h, v);
}

void hb_bytes(hbuf *h, uint32_t field, const void *data, size_t len)
{
    hb_varint(h, ((uint64_t)field << 3) | 2);
    hb_varint(h, len);
    assert_true(h->n + len <= sizeof(h->b));
    if (len) memcpy(h->b + h->n, data, len);
    h->n += len;
}

void hb_sub(hbuf *h, uint32_t field, const hbuf *inner)
{
    hb_bytes(h, field, inner->b, inner->n);
}

void h_raw_request(h_world *w, h_conn *c, uint64_t rid, uint32_t body_field, const hbuf *body)
{
    hbuf f = {.n = 0}, out = {.n = 0};
    if (rid) hb_uint(&f, 1, rid);
    hb_sub(&f, body_field, body);
    hb_varint(&out, f.n);
    memcpy(out.b + out.n, f.b, f.n);
    out.n += f.n;
    h_bytes(w, c, out.b, out.n);
}

uint64_t h_inject(h_world *w, h_conn *c, panp_frame *f)
{
    f->request_id = c->next_rid++;
    core_on_frame(w->core, c->cc, f, w->now);
    return f->request_id;
}

static void hb_opt_uint(hbuf *h, uint32_t field, uint64_t v)
{
    if (v) hb_uint(h, field, v);
}

static void hb_opt_bytes(hbuf *h, uint32_t field, panp_bytes b)
{
    if (b.len) hb_bytes(h, field, b.data, b.len);
}

static void hb_target(hbuf *h, uint32_t field, panp_target t)
{
    hbuf in = {.n = 0};
    if (t.kind == PANP_TARGET_NONE) return;
    if (t.kind == PANP_TARGET_SERVER) hb_bytes(&in, 1, "", 0);
    if (t.kind == PANP_TARGET_PRINTER) hb_bytes(&in, 2, t.printer, strlen(t.printer));
    hb_sub(h, field, &in);
}

uint64_t h_request_raw(h_world *w, h_conn *c, panp_frame *f)
{
    hbuf b = {.n = 0};
    switch (f->kind) {
    case PANP_BODY_REGISTER: {
        const panp_register *r = &f->body.register_listener;
        hb_target(&b, 1, r->target);
        hb_opt_bytes(&b, 2, r->notification_type);
        hb_opt_uint(&b, 3, r->user_filter);
        hb_opt_uint(&b, 4, r->style);
        hb_opt_uint(&b, 5, r->lease_seconds);
        hb_opt_bytes(&b, 6, r->client_state);
        break;
    }
    case PANP_BODY_OPEN_CHANNEL: {
        const panp_open_channel *o = &f->body.open_channel;
        hb_target(&b, 1, o->target);
        hb_opt_bytes(&b, 2, o->notification_type);
        hb_opt_uint(&b, 3, o->user_filter);
        hb_opt_uint(&b, 4, o->style);
        if (o->has_on_behalf_of) {
            hbuf j = {.n = 0};
            const panp_job_context *jc = &o->on_behalf_of;
            hb_opt_uint(&j, 1, jc->job_id);
            if (jc->job_owner && *jc->job_owner) hb_bytes(&j, 2, jc->job_owner, strlen(jc->job_owner));
            if (jc->session_label && *jc->session_label)
                hb_bytes(&j, 3, jc->session_label, strlen(jc->session_label));
            hb_sub(&b, 5, &j);
        }
        break;
    }
    case PANP_BODY_SEND:
        hb_opt_uint(&b, 1, f->body.send.channel_id);
        hb_opt_bytes(&b, 2, f->body.send.notification_type);
        hb_opt_bytes(&b, 3, f->body.send.payload);
        break;
    case PANP_BODY_REPLY:
        hb_opt_uint(&b, 1, f->body.reply.conversation_id);
        hb_opt_bytes(&b, 2, f->body.reply.notification_type);
        hb_opt_bytes(&b, 3, f->body.reply.payload);
        break;
    case PANP_BODY_CLOSE_CHANNEL: {
        const panp_close_channel *cl = &f->body.close_channel;
        if (cl->side != PANP_CLOSE_SIDE_NONE) hb_uint(&b, cl->side == PANP_CLOSE_SIDE_CHANNEL ? 1 : 2, cl->id);
        if (cl->has_reason) {
            hbuf r = {.n = 0};
            hb_opt_bytes(&r, 1, cl->reason.notification_type);
            hb_opt_bytes(&r, 2, cl->reason.payload);
            hb_sub(&b, 3, &r);
        }
        break;
    }
    default:
        fail_msg("h_request_raw: %s not supported", panp_body_name(f->kind));
    }
    f->request_id = c->next_rid++;
    h_raw_request(w, c, f->request_id, (uint32_t)f->kind, &b);
    return f->request_id;
}

void h_reject_both(h_world *w, h_conn *c, panp_frame f, panp_error_code code, const char *field)
{
    for (int path = 0; path < 2; path++) {
        uint64_t rid = path == 0 ? h_request_raw(w, c, &f) : h_inject(w, c, &f);
        panp_frame *e = h_expect_error(w, c, code, false);
        assert_int_equal(e->request_id, rid);
        if (field && strcmp(e->body.error.field, field) != 0)
            fail_msg("%s path: error field \"%s\", wanted \"%s\" (%s)", path ? "core" : "wire",
                     e->body.error.field, field, e->body.error.message);
    }
}
