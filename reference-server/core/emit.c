/* emit.c - frames out: encode, check the recipient's limits, queue.
 *
 * Every frame the core sends passes here, so the slow-consumer policy and
 * the recipient's max frame size are enforced in one place:
 *   - a frame larger than the recipient accepts is never sent;
 *   - data frames (notifications, conversation traffic) must fit in
 *     max_outbound_bytes, else the caller decides (drop or close);
 *   - control frames may use a fixed allowance beyond it; past that the
 *     connection is closed as a slow consumer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

static bool admit(core *c, core_conn *to, outq_kind kind, size_t total)
{
    const panpd_limits *l = &c->cfg->limits;
    switch (outq_check(&to->q, kind, total, l->max_outbound_bytes, l->control_allowance_bytes)) {
    case OUTQ_ADMIT:
        return true;
    case OUTQ_FULL:
        return false;
    case OUTQ_OVERFLOW:
        conn_slow_consumer(c, to);
        return false;
    }
    return false;
}

static void queued(core *c, core_conn *to, bool was_empty)
{
    if (was_empty) core_wake(c, to);
}

/* force: bypass the state check and the bound (a Goodbye after clearing). */
static bool push(core *c, core_conn *to, const panp_frame *f, outq_kind kind, uint64_t chan_id,
                 uint64_t tag, bool force)
{
    panp_status st;
    size_t need = 0;
    if (!force && to->state >= CS_CLOSING) return false;
    panp_error_code rc = panp_encode(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    if (rc != PANP_ERR_RESOURCE_EXHAUSTED && rc != PANP_ERR_UNSPECIFIED) {
        core_log(c, LOG_ERROR, to, "cannot encode %s: %s", panp_body_name(f->kind), st.message);
        return false;
    }
    if (need > to->peer_max_frame) {
        core_log(c, LOG_WARN, to, "%s of %zu bytes exceeds the peer's max frame %u; not sent",
                 panp_body_name(f->kind), need, to->peer_max_frame);
        return false;
    }
    size_t plen = panp_varint_size(need);
    if (!force && !admit(c, to, kind, plen + need)) return false;
    blob *b = blob_new(plen + need);
    if (!b) return false;
    panp_varint_put(b->data, need);
    rc = panp_encode(PANP_BACKEND_PROTOBUF_C, f, b->data + plen, need, &need, &st);
    if (rc != PANP_ERR_UNSPECIFIED) {
        core_log(c, LOG_ERROR, to, "cannot encode %s: %s", panp_body_name(f->kind), st.message);
        blob_unref(b);
        return false;
    }
    bool was_empty = outq_empty(&to->q);
    int pr = outq_push(&to->q, kind, chan_id, tag, NULL, 0, b);
    blob_unref(b);
    if (pr != 0) return false;
    queued(c, to, was_empty);
    return true;
}

bool emit_fits(core *c, const core_conn *to, const panp_frame *f)
{
    panp_status st;
    size_t need = 0;
    (void)c;
    panp_error_code rc = panp_encode(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    return (rc == PANP_ERR_RESOURCE_EXHAUSTED || rc == PANP_ERR_UNSPECIFIED) &&
           need <= to->peer_max_frame;
}

bool emit_frame(core *c, core_conn *to, const panp_frame *f, outq_kind kind, uint64_t chan_id,
                uint64_t tag)
{
    return push(c, to, f, kind, chan_id, tag, false);
}

bool emit_control(core *c, core_conn *to, const panp_frame *f)
{
    return push(c, to, f, OUTQ_CONTROL, 0, 0, false);
}

size_t emit_notify_fields(core *c, const uint8_t *handle, uint64_t conv_id, panp_bytes client_state,
                          panp_style style, uint8_t *out)
{
    panp_notify n = {.registration = {handle, PANP_UUID_LEN},
                     .conversation_id = conv_id,
                     .client_state = client_state,
                     .style = style};
    panp_status st;
    size_t len = 0;
    if (panp_notify_encode_fields(&n, out, PANP_NOTIFY_FIELDS_MAX, &len, &st) != PANP_ERR_UNSPECIFIED) {
        core_log(c, LOG_ERROR, NULL, "cannot encode a Notify: %s", st.message);
        return 0;
    }
    return len;
}

bool emit_notify(core *c, core_conn *to, const uint8_t *fields, size_t fields_len, notify_out *no,
                 outq_kind kind, uint64_t chan_id, uint64_t tag)
{
    if (to->state >= CS_CLOSING) return false;
    if (no->fields_len != fields_len) {
        no->prefix_len = panp_notify_prefix(fields_len, no->tail->len, no->prefix, &no->frame_len);
        no->fields_len = fields_len;
    }
    if (no->frame_len > to->peer_max_frame) {
        core_log(c, LOG_WARN, to, "Notify of %zu bytes exceeds the peer's max frame %u",
                 no->frame_len, to->peer_max_frame);
        return false;
    }
    if (!admit(c, to, kind, no->prefix_len + fields_len + no->tail->len)) return false;
    bool was_empty = outq_empty(&to->q);
    if (outq_push2(&to->q, kind, chan_id, tag, no->prefix, no->prefix_len, fields, fields_len,
                   no->tail) != 0)
        return false;
    c->stats.notifies_queued++;
    queued(c, to, was_empty);
    return true;
}

void emit_sent(core *c, core_conn *to, uint64_t rid, uint64_t sequence, uint32_t recipients)
{
    uint8_t frame[PANP_SENT_MAX];
    size_t len = panp_sent_encode(rid, sequence, recipients, frame);
    /* A Sent is far below any max frame size a peer may announce (at
     * least 4096, SPEC FRAME-8). */
    if (to->state >= CS_CLOSING || !admit(c, to, OUTQ_CONTROL, len)) return;
    bool was_empty = outq_empty(&to->q);
    if (outq_push(&to->q, OUTQ_CONTROL, 0, 0, frame, len, NULL) != 0) return;
    queued(c, to, was_empty);
}

void emit_error(core *c, core_conn *to, uint64_t rid, panp_error_code code, const char *field,
                bool fatal, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
#ifdef PANPD_BROKEN_ERROR_REQUEST_ID
    /* BROKEN ON PURPOSE (conformance/broken.mk): Errors do not echo the request_id */
    if (!fatal) rid = 0;
#endif
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_ERROR};
    f.body.error.code = code;
    f.body.error.message = msg;
    f.body.error.field = field ? field : "";
    f.body.error.fatal = fatal;
    core_log(c, fatal ? LOG_WARN : LOG_INFO, to, "error %s%s (request %llu): %s",
             panp_error_code_name(code), fatal ? " fatal" : "", (unsigned long long)rid, msg);
    push(c, to, &f, OUTQ_CONTROL, 0, 0, false);
}

void emit_goodbye(core *c, core_conn *to, panp_goodbye_reason reason, const char *msg)
{
    panp_frame f = {.kind = PANP_BODY_GOODBYE};
    f.body.goodbye.reason = reason;
    f.body.goodbye.message = msg ? msg : "";
    /* Best effort even past the bound: it is the last frame and small. */
    push(c, to, &f, OUTQ_CONTROL, 0, 0, true);
}

static bool of_channel(const outq_entry *e, const void *arg)
{
    return e->kind != OUTQ_CONTROL && e->channel_id == *(const uint64_t *)arg;
}

static bool of_tag(const outq_entry *e, const void *arg)
{
    const uint64_t *k = arg;
    return e->kind != OUTQ_CONTROL && e->channel_id == k[0] && e->tag == k[1];
}

static bool of_reg(const outq_entry *e, const void *arg)
{
    return e->kind == OUTQ_NOTIFY_UNI && e->tag == *(const uint64_t *)arg;
}

void emit_discard_channel(core *c, core_conn *conn, uint64_t chan_id)
{
    c->stats.notifies_discarded += outq_discard(&conn->q, of_channel, &chan_id);
}

void emit_discard_tag(core *c, core_conn *conn, uint64_t chan_id, uint64_t tag)
{
    uint64_t k[2] = {chan_id, tag};
    c->stats.notifies_discarded += outq_discard(&conn->q, of_tag, k);
}

void emit_discard_reg(core *c, core_conn *conn, uint64_t reg_serial)
{
    c->stats.notifies_discarded += outq_discard(&conn->q, of_reg, &reg_serial);
}
