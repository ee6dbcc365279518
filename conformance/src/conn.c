/* conn.c - connections to the broker: socket I/O, strict decoding,
 * request bookkeeping, keepalive and the wait loop shared by a case's
 * connections. */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fmt.h"
#include "loose.h"
#include "ops.h"
#include "reqids.h"

#define PC_READ_CHUNK 65536
#define PC_READS_PER_ROUND 16

static const panp_limits DEFAULT_LIMITS = {
    .max_frame_size = PANP_DEFAULT_MAX_FRAME,
    .keepalive_interval_ms = 30000,
    .keepalive_timeout_ms = 90000,
};

static void log_c(pc_conn *c, char dir, const char *text) { pc_tr_add(&c->t->tr, pc_now_us(), c->label, dir, text); }

static void log_frame(pc_conn *c, char dir, const panp_frame *f, const char *suffix)
{
    sbuf b = SBUF_INIT;
    pc_fmt_frame(&b, f);
    if (suffix) sbuf_puts(&b, suffix);
    log_c(c, dir, sbuf_str(&b));
    sbuf_free(&b);
}

static pc_conn *conn_new(pc_t *t, const pc_identity *id, const char *label, int fd)
{
    if (t->nconns == PC_MAX_CONNS) pc_error(t, "a case may open at most %d connections", PC_MAX_CONNS);
    pc_conn *c = pc_xcalloc(1, sizeof(*c));
    c->t = t;
    c->id = id;
    c->fd = fd;
    snprintf(c->label, sizeof(c->label), "%s", label);
    /* What the broker may send us is bounded by what our Hello says
     * (max_frame_size 0 = the 65536 default) until a case says otherwise. */
    c->framer = panp_framer_new(PANP_DEFAULT_MAX_FRAME, false);
    if (!c->framer) pc_oom();
    c->keepalive = true;
    c->check_order = true;
    c->next_rid = 1;
    c->limits = DEFAULT_LIMITS;
    c->last_tx_us = pc_now_us();
    t->conns[t->nconns++] = c;
    return c;
}

void pc_conn_free(pc_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    for (size_t i = 0; i < c->nrx; i++) panp_frame_free(c->rx[i].f);
    free(c->rx);
    free(c->rbuf);
    free(c->out);
    panp_framer_free(c->framer);
    free(c->flows);
    free(c);
}

pc_conn *pc_conn_adopt(pc_t *t, int fd, const char *label)
{
    pc_conn *c = conn_new(t, NULL, label, fd);
    c->as_broker = true;
    c->keepalive = false;
    c->check_order = false;
    log_c(c, '-', "accepted a connection from the client under test");
    return c;
}

pc_conn *pc_try_dial_at(pc_t *t, const pc_addr *a, const pc_identity *id, const char *label, const pc_dial_opts *opts,
                        char *err, size_t errlen)
{
    pc_dial_opts o = *opts;
    if (id && a->kind == PC_ADDR_UNIX) {
        if (!id->has_uid) pc_error(t, "identity %s has no uid, needed for a unix: broker", id->name);
        o.as_uid = true;
        o.uid = id->uid;
        o.gid = id->gid;
    } else if (a->kind == PC_ADDR_TLS) { /* the certificate is the identity (tls.c) */
        if (!o.tls_ca) o.tls_ca = t->opt->profile->tls_ca;
        if (!o.tls_server_name) o.tls_server_name = t->opt->profile->tls_server_name;
        if (id && !o.tls_cert) {
            o.tls_cert = id->tls_cert;
            o.tls_key = id->tls_key;
        }
    } else if (id && !id->token) {
        pc_error(t, "identity %s has no token, needed for a tcp: broker", id->name);
    }
    int fd = pc_dial(a, &o, err, errlen);
    if (fd < 0) return NULL;
    char full[sizeof(((pc_conn *)0)->label)];
    snprintf(full, sizeof(full), "%.30s(%.30s)", label, id ? id->name : "anon");
    pc_conn *c = conn_new(t, id, full, fd);
    c->kind = a->kind;
    log_c(c, '-', pc_sprintf(t, "connected to %s%s%s", a->text, o.bind_host ? " from " : "", o.bind_host ? o.bind_host : ""));
    return c;
}

pc_conn *pc_dial_at(pc_t *t, const pc_addr *a, const pc_identity *id, const char *label, const pc_dial_opts *o)
{
    char err[300];
    pc_conn *c = pc_try_dial_at(t, a, id, label, o, err, sizeof(err));
    if (!c) pc_error(t, "cannot reach the broker: %s", err);
    return c;
}

pc_conn *pc_dial_as(pc_t *t, const pc_identity *id, const char *label, int rcvbuf)
{
    pc_dial_opts o = {.rcvbuf = rcvbuf};
    return pc_dial_at(t, &t->opt->broker, id, label, &o);
}

bool pc_conn_token_auth(const pc_conn *c)
{
    return c->kind == PC_ADDR_TCP ||
           (c->kind == PC_ADDR_TLS && !pc_profile_tls_offers(c->t->opt->profile, "external"));
}

/* ---- output ---------------------------------------------------------- */

static void queue_bytes(pc_conn *c, const void *p, size_t n)
{
    if (c->outoff == c->outlen) c->outoff = c->outlen = 0;
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + n) cap *= 2;
        c->out = pc_xrealloc(c->out, cap);
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
    c->last_tx_us = pc_now_us();
}

static void conn_write(pc_conn *c)
{
    while (c->outoff < c->outlen && !c->write_failed) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) {
            c->write_failed = true;
            c->write_errno = errno;
            log_c(c, '-', pc_sprintf(c->t, "write failed: %s (%zu bytes unsent)", strerror(errno),
                                     c->outlen - c->outoff));
            return;
        }
        c->outoff += (size_t)n;
    }
}

/* Requests the codec will not encode (they break a field rule on purpose)
 * go out through the non-validating encoder. */
static bool encode_loose(pc_conn *c, const panp_frame *f, const panp_status *why)
{
    pbw frame = PBW_INIT, d = PBW_INIT;
    if (!pc_loose_encode(f, &frame)) return false;
    pbw_delimit(&d, &frame);
    log_c(c, '-', pc_sprintf(c->t, "(encoded without validation: %s)", why->message));
    queue_bytes(c, d.buf, d.len);
    pbw_free(&frame);
    pbw_free(&d);
    return true;
}

static void encode_into(pc_conn *c, const panp_frame *f)
{
    panp_status st;
    size_t need = 0;
    panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    if (need == 0 && encode_loose(c, f, &st)) return;
    if (need == 0) pc_error(c->t, "the codec refused to encode %s: %s", panp_body_name(f->kind), st.message);
    uint8_t *buf = pc_xmalloc(need);
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, buf, need, &need, &st) != PANP_ERR_UNSPECIFIED) {
        free(buf);
        pc_error(c->t, "the codec refused to encode %s: %s", panp_body_name(f->kind), st.message);
    }
    queue_bytes(c, buf, need);
    free(buf);
}

static void push_pending(pc_conn *c, uint64_t rid)
{
    if (c->npending == PC_MAX_PENDING) pc_error(c->t, "more than %d requests in flight", PC_MAX_PENDING);
    c->pending[c->npending++] = rid;
}

void pc_expect_rid(pc_conn *c, uint64_t rid) { push_pending(c, rid); }

void pc_send(pc_conn *c, const panp_frame *f)
{
    log_frame(c, '>', f, NULL);
    encode_into(c, f);
}

uint64_t pc_req(pc_conn *c, panp_frame *f)
{
    if (f->request_id == 0) f->request_id = c->next_rid++;
    pc_send(c, f);
    push_pending(c, f->request_id);
    return f->request_id;
}

void pc_send_raw(pc_conn *c, const void *p, size_t n, const char *what)
{
    sbuf b = SBUF_INIT;
    sbuf_printf(&b, "raw %zu bytes: %s [", n, what);
    sbuf_hex(&b, p, n < 48 ? n : 48);
    sbuf_puts(&b, n > 48 ? "...]" : "]");
    log_c(c, '>', sbuf_str(&b));
    sbuf_free(&b);
    c->raw_sent = true;
    queue_bytes(c, p, n);
}

void pc_send_pbw(pc_conn *c, const pbw *frame, const char *what)
{
    pbw d = PBW_INIT;
    pbw_delimit(&d, frame);
    pc_send_raw(c, d.buf, d.len, what);
    pbw_free(&d);
}

void pc_send_pbw_req(pc_conn *c, const pbw *frame, uint64_t rid, const char *what)
{
    bool was_raw = c->raw_sent;
    pc_send_pbw(c, frame, what);
    c->raw_sent = was_raw;
    if (rid) push_pending(c, rid);
}

/* ---- input ----------------------------------------------------------- */

static void fail_bad_frame(pc_conn *c, const char *req, const char *why, const uint8_t *p, size_t n)
{
    sbuf b = SBUF_INIT;
    sbuf_printf(&b, "%s; frame bytes (%zu): ", why, n);
    sbuf_hex(&b, p, n < 256 ? n : 256);
    log_c(c, '<', sbuf_str(&b));
    char *msg = pc_strdup(c->t, sbuf_str(&b));
    sbuf_free(&b);
    pc_fail(c->t, req, "every frame from the broker valid and canonically encoded", "%s", msg);
}

/* Decodes strictly and checks the encoding is the canonical one. */
static panp_frame *decode_checked(pc_conn *c, const uint8_t *p, size_t n)
{
    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, c->as_broker ? PANP_PEER_BROKER : PANP_PEER_CLIENT,
                          c->as_broker ? c->limits.max_frame_size : PANP_DEFAULT_MAX_FRAME};
    panp_frame *f = NULL;
    panp_status st;
    if (panp_decode(&o, p, n, &f, &st) != PANP_ERR_UNSPECIFIED)
        fail_bad_frame(c, c->as_broker && st.code == PANP_ERR_FRAME_TOO_LARGE ? R_CLIENT_MAX : R_EMIT_CANONICAL, pc_sprintf(c->t, "undecodable: %s (%s)", st.message,
                                                   panp_error_code_name(st.code)), p, n);
    size_t need = 0;
    panp_encode(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    uint8_t *re = pc_xmalloc(need ? need : 1);
    bool same = panp_encode(PANP_BACKEND_PROTOBUF_C, f, re, need, &need, &st) == PANP_ERR_UNSPECIFIED &&
                need == n && memcmp(re, p, n) == 0;
    free(re);
    if (!same) {
        panp_frame_free(f);
        fail_bad_frame(c, R_EMIT_CANONICAL,
                       "not in canonical form: re-encoding the decoded frame gives other bytes (field order, "
                       "padding, default values, duplicates or unknown fields)",
                       p, n);
    }
    return f;
}

static bool is_event_body(panp_body_kind k)
{
    return k == PANP_BODY_NOTIFY || k == PANP_BODY_REPLY_DELIVERY || k == PANP_BODY_CHANNEL_CLOSED ||
           k == PANP_BODY_REGISTRATION_ENDED || k == PANP_BODY_GOODBYE;
}

/* Responses must answer the oldest request still waiting, once. */
static void check_response(pc_conn *c, const panp_frame *f)
{
    uint64_t rid = f->request_id;
    if (is_event_body(f->kind))
        pc_fail(c->t, R_EVENT_RID, "events (Notify, ReplyDelivery, ChannelClosed, RegistrationEnded, Goodbye) carry request_id 0",
                "%s arrived with request_id %" PRIu64, panp_body_name(f->kind), rid);
    if (c->npending && c->pending[0] == rid) {
        memmove(c->pending, c->pending + 1, (c->npending - 1) * sizeof(*c->pending));
        c->npending--;
        return;
    }
    for (size_t i = 1; i < c->npending; i++) {
        if (c->pending[i] == rid && c->check_order)
            pc_fail(c->t, R_RESPONSE_ORDER, pc_sprintf(c->t, "the response to request %" PRIu64 " first", c->pending[0]),
                    "the response to the later request %" PRIu64 " came first", rid);
        if (c->pending[i] == rid) {
            memmove(c->pending + i, c->pending + i + 1, (c->npending - i - 1) * sizeof(*c->pending));
            c->npending--;
            return;
        }
    }
    if (!c->raw_sent)
        pc_fail(c->t, R_ONE_RESPONSE, "exactly one response per request",
                "a %s with request_id %" PRIu64 ", which no request is waiting for", panp_body_name(f->kind), rid);
}

/* ---- checks every broker frame gets ----------------------------------- */

static pc_flow *flow_of(pc_conn *c, uint64_t chan, panp_bytes reg)
{
    for (size_t i = 0; i < c->nflows; i++) {
        pc_flow *fl = &c->flows[i];
        if (fl->chan == chan && pc_bytes_eq(reg, fl->reg, fl->reglen)) return fl;
    }
    if (c->nflows == c->capflows) {
        c->capflows = c->capflows ? 2 * c->capflows : 16;
        c->flows = pc_xrealloc(c->flows, c->capflows * sizeof(*c->flows));
    }
    pc_flow *fl = &c->flows[c->nflows++];
    memset(fl, 0, sizeof(*fl));
    fl->chan = chan;
    fl->reglen = reg.len <= PANP_HANDLE_MAX_LEN ? reg.len : PANP_HANDLE_MAX_LEN;
    if (fl->reglen) memcpy(fl->reg, reg.data, fl->reglen);
    return fl;
}

static void check_notify(pc_conn *c, const panp_frame *f)
{
    const panp_notify *n = &f->body.notify;
    pc_t *t = c->t;
    if (panp_bytes_is_uuid(n->notification_type, PANP_TYPE_NOTIFICATION_RELEASE))
        pc_fail(t, R_RELEASE_ONLY, "NOTIFICATION_RELEASE only in ChannelClosed", "%s", pc_frame_text(t, f));
    bool bidi = n->style == PANP_STYLE_BIDIRECTIONAL;
    if (n->channel_id == 0 || n->sequence == 0 || !n->has_sender || n->target.kind == PANP_TARGET_NONE ||
        (bidi && n->conversation_id == 0) || (!bidi && n->conversation_id != 0))
        pc_fail(t, R_NOTIFY_FIELDS,
                "a Notify with channel_id, sequence, sender and target set, and a conversation_id exactly when bidirectional",
                "%s", pc_frame_text(t, f));
    pc_flow *fl = flow_of(c, n->channel_id, n->registration);
    if (fl->closed)
        pc_fail(t, R_AFTER_CLOSED, "nothing of a channel after its ChannelClosed", "%s", pc_frame_text(t, f));
    if (n->sequence == fl->last_seq)
        pc_fail(t, R_NO_DUP, "each notification at most once per registration", "sequence %" PRIu64 " again: %s",
                n->sequence, pc_frame_text(t, f));
    if (n->sequence < fl->last_seq)
        pc_fail(t, R_SEQ_ORDER, "increasing sequence numbers per channel and registration",
                "sequence %" PRIu64 " after %" PRIu64 ": %s", n->sequence, fl->last_seq, pc_frame_text(t, f));
    fl->last_seq = n->sequence;
}

static void check_closed(pc_conn *c, const panp_frame *f)
{
    const panp_channel_closed *cc = &f->body.channel_closed;
    pc_t *t = c->t;
    bool release = panp_bytes_is_uuid(cc->notification_type, PANP_TYPE_NOTIFICATION_RELEASE);
    bool gone = cc->reason == PANP_CLOSE_REASON_PEER_GONE || cc->reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN;
    if (release != gone)
        pc_fail(t, R_RELEASE_ONLY,
                "type NOTIFICATION_RELEASE exactly when the reason is PEER_GONE or SERVER_SHUTDOWN", "%s",
                pc_frame_text(t, f));
    if (cc->channel_id == 0 || cc->reason == PANP_CLOSE_REASON_UNSPECIFIED)
        pc_fail(t, R_CLOSED_FIELDS, "a ChannelClosed with channel_id and reason set", "%s", pc_frame_text(t, f));
    if (cc->registration.len) flow_of(c, cc->channel_id, cc->registration)->closed = true;
}

static void check_error(pc_conn *c, const panp_frame *f)
{
    const panp_error_msg *e = &f->body.error;
    pc_t *t = c->t;
    if (e->code == PANP_ERR_UNSPECIFIED)
        pc_fail(t, R_ERR_CODE0, "no Error with code UNSPECIFIED", "%s", pc_frame_text(t, f));
    size_t fl = strlen(e->field);
    if (!e->message[0])
        pc_fail(t, R_ERR_MESSAGE, "a non-empty Error.message", "%s", pc_frame_text(t, f));
    if (fl && (strncmp(e->message, e->field, fl) != 0 || strncmp(e->message + fl, ": ", 2) != 0))
        pc_fail(t, R_ERR_MESSAGE, pc_sprintf(t, "Error.message starting with \"%s: \"", e->field), "%s",
                pc_frame_text(t, f));
    /* request_id 0 belongs to a frame that could not be decoded (answered
     * PROTOCOL_VIOLATION or FRAME_TOO_LARGE) or to a request that carried 0
     * itself; the suite sends the latter alone, so any other Error with 0
     * while one of its ordinary requests is the oldest unanswered one has
     * lost that request's id. */
    if (f->request_id == 0 && e->code != PANP_ERR_PROTOCOL_VIOLATION && e->code != PANP_ERR_FRAME_TOO_LARGE &&
        !c->raw_sent && c->npending && c->pending[0] != 0 && c->pending[0] < PC_KEEPALIVE_RID_BASE)
        pc_fail(t, R_ERR_RID, pc_sprintf(t, "the Error answering request %" PRIu64 " to carry request_id %" PRIu64,
                                         c->pending[0], c->pending[0]),
                "%s", pc_frame_text(t, f));
}

static void check_broker_frame(pc_conn *c, const panp_frame *f)
{
    panp_status st;
    /* Decoding as a client accepts unknown enum values (forward
     * compatibility); a v1 broker must not send any. */
    if (panp_validate(f, PANP_PEER_ANY, PANP_DEFAULT_MAX_FRAME, &st) != PANP_ERR_UNSPECIFIED)
        pc_fail(c->t, R_V1_ONLY, "only bodies, fields and enum values defined in version 1", "%s: %s",
                pc_frame_text(c->t, f), st.message);
    if (f->request_id) check_response(c, f);
    if (f->kind == PANP_BODY_NOTIFY) check_notify(c, f);
    else if (f->kind == PANP_BODY_CHANNEL_CLOSED) check_closed(c, f);
    else if (f->kind == PANP_BODY_ERROR) check_error(c, f);
}

/* Client-side mode: what every frame from the client under test must satisfy. */
static bool uuid_is_release(panp_bytes b) { return panp_bytes_is_uuid(b, PANP_TYPE_NOTIFICATION_RELEASE); }

static bool carries_release(const panp_frame *f)
{
    switch (f->kind) {
    case PANP_BODY_REGISTER: return uuid_is_release(f->body.register_listener.notification_type);
    case PANP_BODY_OPEN_CHANNEL: return uuid_is_release(f->body.open_channel.notification_type);
    case PANP_BODY_SEND: return uuid_is_release(f->body.send.notification_type);
    case PANP_BODY_REPLY: return uuid_is_release(f->body.reply.notification_type);
    case PANP_BODY_CLOSE_CHANNEL:
        return f->body.close_channel.has_reason && uuid_is_release(f->body.close_channel.reason.notification_type);
    default: return false;
    }
}

static void check_client_frame(pc_conn *c, const panp_frame *f)
{
    pc_t *t = c->t;
    if (carries_release(f))
        pc_fail(t, R_CLIENT_RELEASE, "no NOTIFICATION_RELEASE in any frame a client sends", "%s", pc_frame_text(t, f));
    if (f->kind == PANP_BODY_GOODBYE) return;
    if (f->request_id == 0)
        pc_fail(t, R_CLIENT_RID, "a non-zero request_id on every request", "%s", pc_frame_text(t, f));
    for (size_t i = 0; i < c->nclient_pending; i++)
        if (c->client_pending[i] == f->request_id)
            pc_fail(t, R_CLIENT_RID, "a request_id no other outstanding request carries", "%s (request %" PRIu64 " still unanswered)",
                    pc_frame_text(t, f), f->request_id);
    if (c->nclient_pending < PC_MAX_PENDING) c->client_pending[c->nclient_pending++] = f->request_id;
}

static void handle_frame(pc_conn *c, const uint8_t *p, size_t n)
{
    panp_frame *f = decode_checked(c, p, n);
    if (c->nrx == c->caprx) {
        c->caprx = c->caprx ? 2 * c->caprx : 32;
        c->rx = pc_xrealloc(c->rx, c->caprx * sizeof(*c->rx));
    }
    pc_rx *r = &c->rx[c->nrx++];
    r->f = f;
    r->t_us = pc_now_us();
    r->used = false;
    log_frame(c, '<', f, NULL);
    if (c->as_broker) check_client_frame(c, f);
    else check_broker_frame(c, f);
}

static void take_preface(pc_conn *c, const uint8_t *p, size_t n, size_t *used)
{
    size_t take = PANP_PREFACE_LEN - c->preface_got;
    if (take > n) take = n;
    memcpy(c->preface + c->preface_got, p, take);
    c->preface_got += take;
    *used = take;
    if (c->preface_got < PANP_PREFACE_LEN) return;
    if (memcmp(c->preface, PANP_PREFACE, PANP_PREFACE_LEN) != 0) {
        sbuf b = SBUF_INIT;
        sbuf_hex(&b, c->preface, PANP_PREFACE_LEN);
        char *got = pc_strdup(c->t, sbuf_str(&b));
        sbuf_free(&b);
        log_c(c, '<', pc_sprintf(c->t, "wrong preface %s", got));
        pc_fail(c->t, c->as_broker ? R_PREFACE_CLIENT : R_PREFACE_BROKER, "the preface 89 50 41 4e 50 0d 0a 1a",
                "%s", got);
    }
    log_c(c, '<', "preface");
}

static void feed(pc_conn *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    if (c->preface_got < PANP_PREFACE_LEN) take_preface(c, p, n, &off);
    while (off < n) {
        size_t used = 0, flen = 0;
        const uint8_t *frame = NULL;
        panp_status st;
        panp_framer_result r = panp_framer_feed(c->framer, p + off, n - off, &used, &frame, &flen, &st);
        off += used;
        if (r == PANP_FRAMER_ERROR)
            pc_fail(c->t,
                    st.code == PANP_ERR_FRAME_TOO_LARGE ? (c->as_broker ? R_CLIENT_MAX : R_FRAME_MAX_OUT) : R_FRAMING,
                    "a well-formed length prefix within the client's max_frame_size", "%s", st.message);
        if (r == PANP_FRAMER_FRAME) handle_frame(c, frame, flen);
        if (r == PANP_FRAMER_NEED_MORE && used == 0) break;
    }
}

static void mark_eof(pc_conn *c, bool reset, const char *how)
{
    c->eof = true;
    c->reset = reset;
    c->eof_us = pc_now_us();
    log_c(c, '<', how);
}

/* Reads what is there (a bounded number of chunks); false on EOF. */
static void conn_read(pc_conn *c)
{
    if (!c->rbuf) c->rbuf = pc_xmalloc(PC_READ_CHUNK);
    uint8_t *buf = c->rbuf;
    for (int i = 0; i < PC_READS_PER_ROUND && !c->eof; i++) {
        ssize_t n = recv(c->fd, buf, PC_READ_CHUNK, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0) {
            mark_eof(c, errno == ECONNRESET, pc_sprintf(c->t, "connection lost: %s", strerror(errno)));
        } else if (n == 0) {
            mark_eof(c, false, "closed by the broker (EOF)");
        } else {
            c->bytes_in += (size_t)n;
            feed(c, buf, (size_t)n);
        }
    }
}

/* ---- the wait loop --------------------------------------------------- */

static void send_keepalive(pc_conn *c)
{
    /* Ids from 2^62 up mark keepalive Pings, whose Pongs nobody awaits. */
    panp_frame f = {.kind = PANP_BODY_PING, .request_id = PC_KEEPALIVE_RID_BASE + c->next_ka_rid++};
    log_frame(c, '>', &f, " (keepalive)");
    encode_into(c, &f);
    push_pending(c, f.request_id);
}

static bool keepalive_active(const pc_conn *c)
{
    return c->keepalive && c->welcome && !c->eof && c->fd >= 0 && !c->write_failed;
}

/* Milliseconds until c must send something to stay alive (<= 0: now). */
static int64_t keepalive_due_ms(const pc_conn *c, int64_t now)
{
    int64_t every = c->limits.keepalive_interval_ms / 2;
    if (every < 20) every = 20;
    return (c->last_tx_us / 1000 + every) - now / 1000;
}

/* A Pong nobody waits for (a keepalive's) is consumed on arrival. */
static void consume_keepalive_pongs(pc_conn *c)
{
    for (size_t i = c->first_unused; i < c->nrx; i++) {
        pc_rx *r = &c->rx[i];
        if (!r->used && r->f && r->f->kind == PANP_BODY_PONG && r->f->request_id >= PC_KEEPALIVE_RID_BASE) r->used = true;
    }
}

static void pump(pc_t *t, int timeout_ms)
{
    struct pollfd pfd[PC_MAX_CONNS + PC_MAX_HOOKS];
    pc_conn *who[PC_MAX_CONNS + PC_MAX_HOOKS];
    size_t n = 0;
    int64_t now = pc_now_us();
    if (now > t->deadline_us) pc_error(t, "the case ran past its time guard (harness fault?)");
    for (size_t i = 0; i < t->nconns; i++) {
        pc_conn *c = t->conns[i];
        if (c->fd < 0) continue;
        if (keepalive_active(c)) {
            int64_t due = keepalive_due_ms(c, now);
            if (due <= 0) {
                send_keepalive(c);
                due = keepalive_due_ms(c, pc_now_us());
            }
            if (due < timeout_ms) timeout_ms = (int)(due > 0 ? due : 0);
        }
        short ev = 0;
        if (!c->eof && !c->paused) ev |= POLLIN;
        if (c->outoff < c->outlen && !c->write_failed) ev |= POLLOUT;
        if (!ev) continue;
        pfd[n].fd = c->fd;
        pfd[n].events = ev;
        pfd[n].revents = 0;
        who[n++] = c;
    }
    size_t nconn = n;
    for (size_t i = 0; i < t->nhooks; i++) {
        pfd[n].fd = t->hooks[i].fd;
        pfd[n].events = POLLIN;
        pfd[n].revents = 0;
        who[n++] = NULL;
    }
    int rc = poll(pfd, n, timeout_ms < 0 ? 0 : timeout_ms);
    if (rc <= 0) return;
    /* Hooks first: they may add connections (accept) or end the case. */
    for (size_t i = nconn; i < n; i++) {
        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        for (size_t h = 0; h < t->nhooks; h++)
            if (t->hooks[h].fd == pfd[i].fd) t->hooks[h].on_readable(t, t->hooks[h].arg);
    }
    for (size_t i = 0; i < nconn; i++) {
        if (pfd[i].revents & POLLOUT) conn_write(who[i]);
        if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (pfd[i].events & POLLIN) conn_read(who[i]);
            else if (pfd[i].revents & POLLERR) conn_write(who[i]); /* surfaces the error */
        }
        consume_keepalive_pongs(who[i]);
    }
}

static int remaining_ms(int64_t deadline_us)
{
    int64_t r = (deadline_us - pc_now_us() + 999) / 1000;
    return r < 0 ? 0 : r > 2000000000 ? 2000000000 : (int)r;
}

bool pc_wait_for(pc_t *t, bool (*pred)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = pc_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        if (pred(arg)) return true;
        int left = remaining_ms(deadline);
        if (left == 0) return false;
        pump(t, left);
    }
}

static bool flushed(void *arg)
{
    pc_conn *c = arg;
    return c->outoff == c->outlen || c->write_failed || c->fd < 0;
}

bool pc_flush(pc_conn *c)
{
    if (c->fd >= 0) conn_write(c);
    if (!pc_wait_for(c->t, flushed, c, pc_wait_ms(c->t)))
        pc_error(c->t, "%s: could not write %zu bytes within %d ms", c->label, c->outlen - c->outoff, pc_wait_ms(c->t));
    return !c->write_failed;
}

const panp_frame *pc_peek(pc_conn *c, pc_match_fn m, const void *arg)
{
    while (c->first_unused < c->nrx && c->rx[c->first_unused].used) c->first_unused++;
    for (size_t i = c->first_unused; i < c->nrx; i++) {
        pc_rx *r = &c->rx[i];
        if (!r->used && r->f && (!m || m(r->f, arg))) return r->f;
    }
    return NULL;
}

static void mark_used(pc_conn *c, const panp_frame *f)
{
    for (size_t i = c->first_unused; i < c->nrx; i++)
        if (c->rx[i].f == f) c->rx[i].used = true;
}

typedef struct await_state {
    pc_conn *c;
    pc_match_fn m;
    const void *arg;
} await_state;

static bool await_done(void *arg)
{
    await_state *s = arg;
    return pc_peek(s->c, s->m, s->arg) || s->c->eof || s->c->fd < 0;
}

const panp_frame *pc_try_await(pc_conn *c, pc_match_fn m, const void *arg, int timeout_ms)
{
    await_state s = {c, m, arg};
    if (timeout_ms < 0) timeout_ms = pc_wait_ms(c->t);
    pc_wait_for(c->t, await_done, &s, timeout_ms);
    const panp_frame *f = pc_peek(c, m, arg);
    if (f) mark_used(c, f);
    return f;
}

static const char *unused_summary(pc_conn *c)
{
    sbuf b = SBUF_INIT;
    size_t count = 0;
    for (size_t i = c->first_unused; i < c->nrx; i++) {
        if (c->rx[i].used || !c->rx[i].f) continue;
        if (count++ < 8) {
            sbuf_puts(&b, count > 1 ? "; " : "");
            pc_fmt_frame(&b, c->rx[i].f);
        }
    }
    if (count > 8) sbuf_printf(&b, "; ... %zu more", count - 8);
    const char *s = pc_strdup(c->t, count ? sbuf_str(&b) : "none");
    sbuf_free(&b);
    return s;
}

const panp_frame *pc_await(pc_conn *c, pc_match_fn m, const void *arg, int timeout_ms, const char *req,
                           const char *what)
{
    if (timeout_ms < 0) timeout_ms = pc_wait_ms(c->t);
    const panp_frame *f = pc_try_await(c, m, arg, timeout_ms);
    if (f) return f;
    if (c->eof || c->fd < 0)
        pc_fail(c->t, req, what, "on %s the connection %s first; frames not yet matched: %s", c->label,
                c->fd < 0 ? "was closed by the suite" : c->reset ? "was reset by the broker" : "was closed by the broker",
                unused_summary(c));
    pc_fail(c->t, req, what, "on %s nothing matching within %d ms; frames not yet matched: %s", c->label,
            timeout_ms, unused_summary(c));
}

bool pc_m_rid(const panp_frame *f, const void *rid) { return f->request_id == *(const uint64_t *)rid; }
bool pc_m_kind(const panp_frame *f, const void *kind) { return f->kind == *(const panp_body_kind *)kind; }
bool pc_m_event(const panp_frame *f, const void *unused)
{
    (void)unused;
    return f->request_id == 0;
}

const panp_frame *pc_response(pc_conn *c, uint64_t rid, const char *req)
{
    return pc_await(c, pc_m_rid, &rid, -1, req,
                    pc_sprintf(c->t, "a response to request %" PRIu64 " on %s", rid, c->label));
}

const panp_frame *pc_find_received(const pc_conn *c, pc_match_fn m, const void *arg)
{
    for (size_t i = 0; i < c->nrx; i++)
        if (c->rx[i].f && (!m || m(c->rx[i].f, arg))) return c->rx[i].f;
    return NULL;
}

size_t pc_rx_index(const pc_conn *c, const panp_frame *f)
{
    for (size_t i = c->nrx; i-- > 0;)
        if (c->rx[i].f == f) return i;
    return SIZE_MAX;
}

void pc_barrier(pc_conn *c, const char *req)
{
    panp_frame f = {.kind = PANP_BODY_PING};
    uint64_t rid = pc_req(c, &f);
    const panp_frame *r = pc_await(c, pc_m_rid, &rid, -1, req ? req : R_PONG,
                                   pc_sprintf(c->t, "Pong #%" PRIu64 " on %s (barrier)", rid, c->label));
    if (r->kind != PANP_BODY_PONG) {
        sbuf b = SBUF_INIT;
        pc_fmt_frame(&b, r);
        char *got = pc_strdup(c->t, sbuf_str(&b));
        sbuf_free(&b);
        pc_fail(c->t, R_PONG, "a Pong answering the Ping", "%s", got);
    }
    c->barrier_idx = pc_rx_index(c, r);
}

void pc_assert_none(pc_conn *c, pc_match_fn m, const void *arg, const char *req, const char *what)
{
    const panp_frame *f = pc_peek(c, m, arg);
    if (!f) return;
    sbuf b = SBUF_INIT;
    pc_fmt_frame(&b, f);
    char *got = pc_strdup(c->t, sbuf_str(&b));
    sbuf_free(&b);
    mark_used(c, f);
    pc_fail(c->t, req, pc_sprintf(c->t, "no %s on %s", what, c->label), "%s", got);
}

static bool is_eof(void *arg) { return ((pc_conn *)arg)->eof; }

bool pc_try_await_eof(pc_conn *c, int timeout_ms)
{
    if (timeout_ms < 0) timeout_ms = pc_wait_ms(c->t);
    if (c->fd < 0) return false;
    return pc_wait_for(c->t, is_eof, c, timeout_ms);
}

void pc_await_eof(pc_conn *c, int timeout_ms, const char *req, const char *what)
{
    if (timeout_ms < 0) timeout_ms = pc_wait_ms(c->t);
    if (!pc_try_await_eof(c, timeout_ms))
        pc_fail(c->t, req, what, "%s still open after %d ms; frames not yet matched: %s", c->label, timeout_ms,
                unused_summary(c));
}

void pc_forget_used(pc_conn *c)
{
    for (size_t i = 0; i < c->nrx; i++) {
        if (c->rx[i].used && c->rx[i].f) {
            panp_frame_free(c->rx[i].f);
            c->rx[i].f = NULL;
        }
    }
}

/* ---- closing --------------------------------------------------------- */

void pc_close(pc_conn *c)
{
    if (c->fd < 0) return;
    close(c->fd);
    c->fd = -1;
    c->closed_by_us = true;
    log_c(c, '-', "closed by the suite (FIN)");
}

void pc_abort(pc_conn *c)
{
    if (c->fd < 0) return;
    pc_abort_fd(c->fd);
    c->fd = -1;
    c->closed_by_us = true;
    log_c(c, '-', c->kind == PC_ADDR_TCP   ? "reset by the suite (SO_LINGER 0: RST)"
                  : c->kind == PC_ADDR_TLS ? "aborted by the suite (over tls: the relay closes in order)"
                                           : "aborted by the suite (a Unix socket has no reset: plain close)");
}

void pc_silence(pc_conn *c)
{
    c->keepalive = false;
    log_c(c, '-', "goes silent: no more frames from the suite");
}

void pc_pause(pc_conn *c, bool paused)
{
    c->paused = paused;
    log_c(c, '-', paused ? "stops reading" : "resumes reading");
}

/* ---- connection setup ------------------------------------------------ */

uint64_t pc_send_hello(pc_conn *c, const pc_hello_opts *o)
{
    static const pc_hello_opts none = {0};
    if (!o) o = &none;
    if (!c->sent_preface) {
        log_c(c, '>', "preface");
        queue_bytes(c, PANP_PREFACE, PANP_PREFACE_LEN);
        c->sent_preface = true;
    }
    bool tcp = pc_conn_token_auth(c);
    panp_frame f = {.kind = PANP_BODY_HELLO};
    panp_hello *h = &f.body.hello;
    h->min_version = o->min_version ? o->min_version : 1;
    h->max_version = o->max_version ? o->max_version : h->min_version > 1 ? h->min_version : 1;
    h->software = "panp-conformance/1";
    h->auth = o->auth < 0 ? PANP_AUTH_UNSPECIFIED : o->auth ? (panp_auth)o->auth : tcp ? PANP_AUTH_TOKEN : PANP_AUTH_EXTERNAL;
    const char *token = o->token ? o->token : (h->auth == PANP_AUTH_TOKEN && c->id) ? c->id->token : NULL;
    if (token && h->auth == PANP_AUTH_TOKEN) h->token = (panp_bytes){(const uint8_t *)token, strlen(token)};
    h->session_label = o->session_label;
    h->max_frame_size = o->max_frame_size;
    if (o->max_frame_size) panp_framer_set_max(c->framer, o->max_frame_size);
    return pc_req(c, &f);
}

static bool preface_or_eof(void *arg)
{
    pc_conn *c = arg;
    return c->preface_got == PANP_PREFACE_LEN || c->eof;
}

const panp_frame *pc_await_hello_response(pc_conn *c, uint64_t rid)
{
    if (!pc_wait_for(c->t, preface_or_eof, c, pc_wait_ms(c->t)) || c->preface_got < PANP_PREFACE_LEN)
        pc_fail(c->t, R_PREFACE_BROKER, "the broker's preface after the client's",
                "%s", c->eof ? "the connection closed first" : "nothing within the wait");
    const panp_frame *f = pc_response(c, rid, NULL);
    if (f->kind == PANP_BODY_WELCOME) {
        c->welcome = f;
        if (f->body.welcome.has_limits) c->limits = f->body.welcome.limits;
    }
    return f;
}

pc_conn *pc_connect_opts(pc_t *t, const pc_identity *id, const char *label, const pc_hello_opts *o)
{
    pc_conn *c = pc_dial_as(t, id, label, o ? o->rcvbuf : 0);
    uint64_t rid = pc_send_hello(c, o);
    const panp_frame *f = pc_await_hello_response(c, rid);
    if (f->kind != PANP_BODY_WELCOME) {
        sbuf b = SBUF_INIT;
        pc_fmt_frame(&b, f);
        char *got = pc_strdup(t, sbuf_str(&b));
        sbuf_free(&b);
        pc_fail(t, "PANP-CONN-5", pc_sprintf(t, "a Welcome for identity %s", id ? id->name : "anon"), "%s", got);
    }
    return c;
}

pc_conn *pc_connect(pc_t *t, const pc_identity *id, const char *label) { return pc_connect_opts(t, id, label, NULL); }
