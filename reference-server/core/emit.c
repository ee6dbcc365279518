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

bool emit_notify(core *c, core_conn *to, const uint8_t *hdr, size_t hdr_len, blob *tail,
                 size_t frame_len, outq_kind kind, uint64_t chan_id, uint64_t tag)
{
    if (to->state >= CS_CLOSING) return false;
    if (frame_len > to->peer_max_frame) {
        core_log(c, LOG_WARN, to, "Notify of %zu bytes exceeds the peer's max frame %u",
                 frame_len, to->peer_max_frame);
        return false;
    }
    if (!admit(c, to, kind, hdr_len + tail->len)) return false;
    bool was_empty = outq_empty(&to->q);
    if (outq_push(&to->q, kind, chan_id, tag, hdr, hdr_len, tail) != 0) return false;
    c->stats.notifies_queued++;
    queued(c, to, was_empty);
    return true;
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
