/* ops.c - request helpers and event matchers for cases. */
#include "ops.h"

#include <inttypes.h>
#include <string.h>

#include "fmt.h"
#include "reqids.h"

panp_target pc_server(void) { return (panp_target){.kind = PANP_TARGET_SERVER}; }
panp_target pc_printer(const char *name) { return (panp_target){.kind = PANP_TARGET_PRINTER, .printer = name}; }
panp_bytes pc_b(const void *p, size_t n) { return (panp_bytes){p, n}; }
panp_bytes pc_s(const char *s) { return (panp_bytes){(const uint8_t *)s, s ? strlen(s) : 0}; }
panp_bytes pc_uuid(const uint8_t *u) { return (panp_bytes){u, u ? PANP_UUID_LEN : 0}; }

bool pc_bytes_eq(panp_bytes b, const void *p, size_t n)
{
    return b.len == n && (n == 0 || memcmp(b.data, p, n) == 0);
}

const char *pc_frame_text(pc_t *t, const panp_frame *f)
{
    sbuf b = SBUF_INIT;
    pc_fmt_frame(&b, f);
    char *s = pc_strdup(t, sbuf_str(&b));
    sbuf_free(&b);
    return s;
}

const panp_frame *pc_call(pc_conn *c, panp_frame *f, const char *req)
{
    uint64_t rid = pc_req(c, f);
    return pc_response(c, rid, req);
}

const panp_frame *pc_call_expect(pc_conn *c, panp_frame *f, panp_body_kind kind, const char *req)
{
    panp_body_kind asked = f->kind;
    const panp_frame *r = pc_call(c, f, req);
    if (r->kind != kind)
        pc_fail(c->t, req, pc_sprintf(c->t, "%s answering %s", panp_body_name(kind), panp_body_name(asked)),
                "%s", pc_frame_text(c->t, r));
    return r;
}

void pc_check_error(pc_conn *c, const panp_frame *got, panp_error_code code, bool fatal, const char *req,
                    const char *field)
{
    pc_t *t = c->t;
    const char *want = pc_sprintf(t, "Error{code=%s%s}", panp_error_code_name(code), fatal ? " fatal" : "");
    if (got->kind != PANP_BODY_ERROR || got->body.error.code != code)
        pc_fail(t, req, want, "%s", pc_frame_text(t, got));
    if (got->body.error.fatal != fatal)
        pc_fail(t, R_ERROR_FATAL, want, "%s (fatal flag %s)", pc_frame_text(t, got),
                got->body.error.fatal ? "set on an error that is not fatal" : "missing");
    if (field && strcmp(got->body.error.field, field) != 0)
        pc_fail(t, R_ERROR_FIELD, pc_sprintf(t, "%s with field \"%s\"", want, field), "%s", pc_frame_text(t, got));
}

const panp_frame *pc_call_error(pc_conn *c, panp_frame *f, panp_error_code code, const char *req,
                                const char *field)
{
    const panp_frame *r = pc_call(c, f, req);
    pc_check_error(c, r, code, false, req, field);
    return r;
}

bool pc_m_error_rid0(const panp_frame *f, const void *unused)
{
    (void)unused;
    return f->kind == PANP_BODY_ERROR && f->request_id == 0;
}

void pc_expect_close_after_fatal(pc_conn *c, const panp_frame *err, const char *req)
{
    pc_t *t = c->t;
    size_t from = err ? pc_rx_index(c, err) : 0;
    pc_await_eof(c, -1, R_FATAL_THEN_CLOSE, "the connection closed after the fatal Error");
    const panp_frame *f;
    while ((f = pc_try_await(c, NULL, NULL, 0)) != NULL) {
        if (err && pc_rx_index(c, f) < from) continue;
        if (f->kind == PANP_BODY_GOODBYE && f->body.goodbye.reason == PANP_GOODBYE_PROTOCOL_ERROR) continue;
        pc_fail(t, R_FATAL_THEN_CLOSE, "nothing after a fatal Error but an optional Goodbye(PROTOCOL_ERROR)", "%s",
                pc_frame_text(t, f));
    }
    (void)req;
}

void pc_expect_fatal(pc_conn *c, uint64_t rid, panp_error_code code, const char *req, const char *field)
{
    pc_t *t = c->t;
    const char *want = pc_sprintf(t, "Error{code=%s fatal} with request_id %" PRIu64, panp_error_code_name(code), rid);
    /* any Error: one with the wrong request_id is reported as such */
    panp_body_kind ek = PANP_BODY_ERROR;
    const panp_frame *f = pc_await(c, pc_m_kind, &ek, -1, req, want);
    if (f->request_id != rid)
        pc_fail(t, "PANP-ERR-8", want, "%s%s", pc_frame_text(t, f),
                rid ? "" : " (a frame whose length prefix or encoding failed is answered with request_id 0)");
    pc_check_error(c, f, code, true, req, field);
    pc_expect_close_after_fatal(c, f, req);
}

void pc_expect_silent_close(pc_conn *c, const char *req)
{
    pc_t *t = c->t;
    pc_await_eof(c, -1, req, "the broker closing the connection");
    if (c->bytes_in)
        pc_fail(t, req, "the connection closed without a single byte from the broker", "%" PRIu64 " bytes arrived first",
                c->bytes_in);
}

/* ---- registrations --------------------------------------------------- */

panp_register pc_reg_args(panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st)
{
    return (panp_register){.target = tg, .notification_type = pc_uuid(type), .user_filter = uf, .style = st};
}

pc_reg pc_register_x(pc_conn *c, const panp_register *r, const char *req)
{
    panp_frame f = {.kind = PANP_BODY_REGISTER, .body.register_listener = *r};
    const panp_frame *resp = pc_call_expect(c, &f, PANP_BODY_REGISTERED, req ? req : R_REGISTER_OK);
    pc_reg out = {.c = c, .lease = resp->body.registered.lease_seconds};
    panp_bytes h = resp->body.registered.handle;
    if (h.len < PANP_HANDLE_MIN_LEN || h.len > PANP_HANDLE_MAX_LEN)
        pc_fail(c->t, R_HANDLE, "a handle of 16 to 32 bytes", "%zu bytes", h.len);
    memcpy(out.handle, h.data, h.len);
    out.hlen = h.len;
    return out;
}

pc_reg pc_register(pc_conn *c, panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st)
{
    panp_register r = pc_reg_args(tg, type, uf, st);
    return pc_register_x(c, &r, NULL);
}

void pc_register_err(pc_conn *c, const panp_register *r, panp_error_code code, const char *req, const char *field)
{
    panp_frame f = {.kind = PANP_BODY_REGISTER, .body.register_listener = *r};
    pc_call_error(c, &f, code, req, field);
}

void pc_unregister(pc_reg *r)
{
    panp_frame f = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(r->handle, r->hlen)};
    pc_call_expect(r->c, &f, PANP_BODY_OK, R_UNREGISTER_OK);
}

/* ---- channels -------------------------------------------------------- */

panp_open_channel pc_open_args(panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st)
{
    return (panp_open_channel){.target = tg, .notification_type = pc_uuid(type), .user_filter = uf, .style = st};
}

uint64_t pc_open_x(pc_conn *c, const panp_open_channel *o, const char *req)
{
    panp_frame f = {.kind = PANP_BODY_OPEN_CHANNEL, .body.open_channel = *o};
    const panp_frame *r = pc_call_expect(c, &f, PANP_BODY_CHANNEL_OPENED, req ? req : R_OPEN_OK);
    if (r->body.channel_opened.channel_id == 0)
        pc_fail(c->t, "PANP-CHAN-2", "a non-zero channel_id", "%s", pc_frame_text(c->t, r));
    return r->body.channel_opened.channel_id;
}

uint64_t pc_open(pc_conn *c, panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st)
{
    panp_open_channel o = pc_open_args(tg, type, uf, st);
    return pc_open_x(c, &o, NULL);
}

void pc_open_err(pc_conn *c, const panp_open_channel *o, panp_error_code code, const char *req, const char *field)
{
    panp_frame f = {.kind = PANP_BODY_OPEN_CHANNEL, .body.open_channel = *o};
    pc_call_error(c, &f, code, req, field);
}

static panp_frame send_frame(uint64_t chan, const uint8_t *type, const char *payload)
{
    return (panp_frame){.kind = PANP_BODY_SEND,
                        .body.send = {.channel_id = chan, .notification_type = pc_uuid(type), .payload = pc_s(payload)}};
}

panp_sent pc_notify(pc_conn *c, uint64_t chan, const uint8_t *type, const char *payload, const char *req)
{
    panp_frame f = send_frame(chan, type, payload);
    return pc_call_expect(c, &f, PANP_BODY_SENT, req ? req : R_SEND_OK)->body.sent;
}

void pc_notify_err(pc_conn *c, uint64_t chan, const uint8_t *type, const char *payload, panp_error_code code,
                   const char *req)
{
    panp_frame f = send_frame(chan, type, payload);
    pc_call_error(c, &f, code, req, NULL);
}

void pc_reply(pc_conn *c, uint64_t conv, const uint8_t *type, const char *payload, const char *req)
{
    panp_frame f = {.kind = PANP_BODY_REPLY,
                    .body.reply = {.conversation_id = conv, .notification_type = pc_uuid(type), .payload = pc_s(payload)}};
    const panp_frame *r = pc_call(c, &f, req ? req : R_REPLY_OK);
    if (r->kind == PANP_BODY_ERROR)
        pc_fail(c->t, req ? req : R_REPLY_OK, "the Reply accepted", "%s", pc_frame_text(c->t, r));
}

panp_frame pc_close_frame(uint64_t chan, uint64_t conv, const uint8_t *reason_type, const char *reason_payload)
{
    panp_frame f = {.kind = PANP_BODY_CLOSE_CHANNEL};
    f.body.close_channel.side = conv ? PANP_CLOSE_SIDE_CONVERSATION : PANP_CLOSE_SIDE_CHANNEL;
    f.body.close_channel.id = conv ? conv : chan;
    if (reason_type) {
        f.body.close_channel.has_reason = true;
        f.body.close_channel.reason.notification_type = pc_uuid(reason_type);
        f.body.close_channel.reason.payload = pc_s(reason_payload);
    }
    return f;
}

panp_close_outcome pc_close_channel(pc_conn *c, uint64_t chan, uint64_t conv, const uint8_t *reason_type,
                                    const char *reason_payload, const char *req)
{
    panp_frame f = pc_close_frame(chan, conv, reason_type, reason_payload);
    const panp_frame *r = pc_call_expect(c, &f, PANP_BODY_CHANNEL_CLOSE_RESULT, req ? req : R_CLOSE_OK);
    return r->body.channel_close_result.outcome;
}

/* ---- events ---------------------------------------------------------- */

bool pc_m_notify(const panp_frame *f, const void *arg)
{
    const pc_chan_match *m = arg;
    if (f->kind != PANP_BODY_NOTIFY) return false;
    const panp_notify *n = &f->body.notify;
    return (m->any_chan || n->channel_id == m->chan) && (!m->seq || n->sequence == m->seq) &&
           (!m->conv || n->conversation_id == m->conv);
}

bool pc_m_closed(const panp_frame *f, const void *arg)
{
    const pc_chan_match *m = arg;
    if (f->kind != PANP_BODY_CHANNEL_CLOSED) return false;
    const panp_channel_closed *c = &f->body.channel_closed;
    return (m->any_chan || c->channel_id == m->chan) && (!m->conv || c->conversation_id == m->conv);
}

bool pc_m_any_notify(const panp_frame *f, const void *unused)
{
    (void)unused;
    return f->kind == PANP_BODY_NOTIFY;
}

bool pc_m_any_closed(const panp_frame *f, const void *unused)
{
    (void)unused;
    return f->kind == PANP_BODY_CHANNEL_CLOSED;
}

const panp_notify *pc_await_notify(pc_conn *c, uint64_t chan, uint64_t seq, const char *req)
{
    pc_chan_match m = {.chan = chan, .seq = seq};
    const char *what = seq ? pc_sprintf(c->t, "Notify of channel %" PRIu64 " sequence %" PRIu64 " on %s", chan, seq, c->label)
                           : pc_sprintf(c->t, "Notify of channel %" PRIu64 " on %s", chan, c->label);
    return &pc_await(c, pc_m_notify, &m, -1, req ? req : R_DELIVER, what)->body.notify;
}

const panp_channel_closed *pc_await_closed(pc_conn *c, uint64_t chan, uint64_t conv, panp_close_reason reason,
                                           const char *req)
{
    pc_chan_match m = {.chan = chan, .conv = conv};
    const char *what = pc_sprintf(c->t, "ChannelClosed{chan=%" PRIu64 "%s reason=%s} on %s", chan,
                                  conv ? pc_sprintf(c->t, " conv=%" PRIu64, conv) : "",
                                  reason ? panp_close_reason_name(reason) : "any", c->label);
    const panp_frame *f = pc_await(c, pc_m_closed, &m, -1, req, what);
    if (reason && f->body.channel_closed.reason != reason) pc_fail(c->t, req, what, "%s", pc_frame_text(c->t, f));
    return &f->body.channel_closed;
}

static bool m_reply_delivery(const panp_frame *f, const void *arg)
{
    return f->kind == PANP_BODY_REPLY_DELIVERY && f->body.reply_delivery.channel_id == *(const uint64_t *)arg;
}

const panp_reply_delivery *pc_await_reply_delivery(pc_conn *c, uint64_t chan, const char *req)
{
    return &pc_await(c, m_reply_delivery, &chan, -1, req,
                     pc_sprintf(c->t, "ReplyDelivery of channel %" PRIu64 " on %s", chan, c->label))
                ->body.reply_delivery;
}

void pc_assert_no_notify(pc_conn *c, uint64_t chan, const char *req)
{
    pc_chan_match m = {.chan = chan};
    pc_assert_none(c, pc_m_notify, &m, req, pc_sprintf(c->t, "Notify of channel %" PRIu64, chan));
}

void pc_assert_no_closed(pc_conn *c, uint64_t chan, const char *req)
{
    pc_chan_match m = {.chan = chan};
    pc_assert_none(c, pc_m_closed, &m, req, pc_sprintf(c->t, "ChannelClosed of channel %" PRIu64, chan));
}

void pc_settle(pc_conn *actor, pc_conn **observers, size_t n)
{
    pc_barrier(actor, NULL);
    for (size_t i = 0; i < n; i++) pc_barrier(observers[i], NULL);
}
