/* conn.c - the connection state machine.
 *
 *   AWAIT_PREFACE -> AWAIT_HELLO -> READY -> CLOSING -> CLOSED
 *
 * Bytes come in here, pass the preface check and the framer, and are
 * decoded with the broker's view of the wire profile in the connection's
 * phase: the codec applies every check SPEC 6.5 puts before a request's own
 * (malformed, role, state, request id, field rules, Hello's 7.3 steps 1 to 8)
 * and its status is the Error to send, forwarded as it is.  What passes is
 * dispatched according to the state.  A connection that ends (fatal error,
 * Goodbye, keepalive silence, slow consumer) is torn down at the end of the
 * core call that ended it, so no list being walked by the caller changes
 * under it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

static const char *state_name(conn_state s)
{
    static const char *names[] = {"await-preface", "await-hello", "ready", "closing", "closed"};
    return s <= CS_CLOSED ? names[s] : "?";
}

void conn_rearm(core *c, core_conn *conn)
{
    const panpd_limits *l = &c->cfg->limits;
    uint64_t when;
    switch (conn->state) {
    case CS_AWAIT_PREFACE:
    case CS_AWAIT_HELLO:
        when = conn->connected_at + l->hello_timeout_ms;
        break;
    case CS_READY:
        /* Peer death is silence longer than the timeout. */
        when = conn->last_rx + l->keepalive_timeout_ms + 1;
        break;
    case CS_CLOSING:
        when = conn->closing_since + l->flush_timeout_ms;
        break;
    default:
        timer_cancel(&c->timers, &conn->timer);
        return;
    }
    if (timer_arm(&c->timers, &conn->timer, when) != 0) {
        /* Without a timer a dead peer would never be noticed. */
        core_log(c, LOG_ERROR, conn, "out of memory arming a timer; closing");
        conn->state = CS_CLOSED;
    }
}

void conn_fail(core *c, core_conn *conn, conn_state st)
{
    if (conn->state >= st) return;
    if (conn->state < CS_CLOSING) {
        conn->closing_since = c->now;
        if (!conn->torn_down && !list_linked(&conn->reap_link)) list_add_tail(&c->reap, &conn->reap_link);
    }
    core_log(c, LOG_DEBUG, conn, "%s -> %s", state_name(conn->state), state_name(st));
    conn->state = st;
    if (st == CS_CLOSED) outq_clear(&conn->q);
    conn_rearm(c, conn);
    core_wake(c, conn);
}

void conn_slow_consumer(core *c, core_conn *conn)
{
    if (conn->state >= CS_CLOSING) return;
    c->stats.slow_consumer_closes++;
    core_log(c, LOG_WARN, conn, "slow consumer: %zu bytes queued; closing", conn->q.bytes);
    /* Its backlog would never drain: free it now, keep only a frame that is
     * half on the wire, and say why. */
    outq_clear(&conn->q);
    conn_fail(c, conn, CS_CLOSING);
    emit_goodbye(c, conn, PANP_GOODBYE_SLOW_CONSUMER, "outbound queue limit exceeded");
}

void conn_teardown(core *c, core_conn *conn)
{
    if (conn->torn_down) return;
    conn->torn_down = true;
    list_remove(&conn->reap_link);
    chan_conn_gone(c, conn);
    reg_drop_all(c, conn);
}

void conn_reap(core *c)
{
    while (!list_empty(&c->reap)) {
        core_conn *conn = list_entry(c->reap.next, core_conn, reap_link);
        conn_teardown(c, conn);
    }
}

void conn_timer_fired(core *c, core_conn *conn)
{
    const panpd_limits *l = &c->cfg->limits;
    switch (conn->state) {
    case CS_AWAIT_PREFACE:
    case CS_AWAIT_HELLO:
        if (c->now >= conn->connected_at + l->hello_timeout_ms) {
            core_log(c, LOG_INFO, conn, "no Hello within %u ms; closing", l->hello_timeout_ms);
            conn_fail(c, conn, CS_CLOSED);
            return;
        }
        break;
    case CS_READY:
        if (c->now > conn->last_rx + l->keepalive_timeout_ms) {
            core_log(c, LOG_INFO, conn, "silent for %llu ms: peer gone",
                     (unsigned long long)(c->now - conn->last_rx));
            emit_goodbye(c, conn, PANP_GOODBYE_KEEPALIVE_TIMEOUT, "keepalive timeout");
            conn_fail(c, conn, CS_CLOSING);
            return;
        }
        break;
    case CS_CLOSING:
        if (c->now >= conn->closing_since + l->flush_timeout_ms) {
            core_log(c, LOG_INFO, conn, "flush deadline passed with %zu bytes unsent", conn->q.bytes);
            conn_fail(c, conn, CS_CLOSED);
            return;
        }
        break;
    default:
        return;
    }
    conn_rearm(c, conn);
}

static void fatal(core *c, core_conn *conn, uint64_t rid, panp_error_code code, const char *field,
                  const char *msg)
{
    emit_error(c, conn, rid, code, field, true, "%s", msg);
    conn_fail(c, conn, CS_CLOSING);
}

static panp_phase phase_of(const core_conn *conn)
{
    return conn->state == CS_READY ? PANP_PHASE_READY : PANP_PHASE_HANDSHAKE;
}

/* A frame the codec refused: its status is the Error to send.  Fatal for a
 * protocol violation, and for anything answering the Hello (SPEC 19.1). */
static void reject(core *c, core_conn *conn, const panp_status *st)
{
    bool fatal_error = st->code == PANP_ERR_PROTOCOL_VIOLATION ||
                       st->code == PANP_ERR_FRAME_TOO_LARGE || conn->state != CS_READY;
#ifdef PANPD_BROKEN_MALFORMED_NO_CLOSE
    /* BROKEN ON PURPOSE (conformance/broken.mk): a malformed frame in READY is answered
     * without closing the connection */
    if (st->code == PANP_ERR_PROTOCOL_VIOLATION && conn->state == CS_READY) fatal_error = false;
#endif
    emit_error(c, conn, st->request_id, st->code, st->field, fatal_error, "%s", st->message);
    if (fatal_error) conn_fail(c, conn, CS_CLOSING);
}

bool conn_target_lookup(core *c, core_conn *conn, uint64_t rid, const panp_target *t,
                        const char *req, uint32_t *target)
{
    char field[64];
    if (t->kind == PANP_TARGET_SERVER) {
        *target = CONF_TARGET_SERVER;
        return true;
    }
    *target = conf_printer_target(c->cfg, t->printer);
    if (*target != 0) return true;
    /* The name is the client's: it is not echoed into the message. */
    snprintf(field, sizeof(field), "%s.target.printer", req);
    emit_error(c, conn, rid, PANP_ERR_NOT_FOUND, field, false, "%s: no such printer", field);
    return false;
}

static user_rec *user_get(core *c, const char *name)
{
    user_rec *u = hmap_get(&c->users, name, strlen(name));
    if (u) return u;
    u = calloc(1, sizeof(*u));
    if (!u || !(u->name = strdup(name)) || hmap_put(&c->users, u->name, strlen(u->name), u) != 0) {
        if (u) free(u->name);
        free(u);
        return NULL;
    }
    return u;
}

static void user_put(core *c, user_rec *u)
{
    if (!u || u->conns || u->regs || u->chans) return;
    hmap_del(&c->users, u->name, strlen(u->name));
    free(u->name);
    free(u);
}

/* Identity.admin_printers: the printers this user administers by name
 * (server administrators administer all of them and need no list). */
static size_t admin_printers(const core *c, const char *user, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->cfg->nprinters && n < max; i++)
        if (strlist_has(&c->cfg->printers[i].admins, user)) out[n++] = c->cfg->printers[i].name;
    return n;
}

static void send_welcome(core *c, core_conn *conn, uint64_t rid)
{
    const panpd_limits *l = &c->cfg->limits;
    const char *printers[65];
    size_t total = admin_printers(c, conn->user->name, printers, 65);
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_WELCOME};
    panp_welcome *w = &f.body.welcome;
    w->version = PANP_PROTOCOL_VERSION;
    w->software = CORE_SOFTWARE;
    w->server_name = c->cfg->server_name;
    w->has_limits = true;
    w->limits = (panp_limits){
        .max_frame_size = l->max_frame_size,
        .max_registrations = l->max_registrations,
        .max_channels = l->max_channels,
        .keepalive_interval_ms = l->keepalive_interval_ms,
        .keepalive_timeout_ms = l->keepalive_timeout_ms,
        .max_lease_seconds = l->max_lease_seconds,
        .max_outbound_bytes = l->max_outbound_bytes,
    };
    w->has_identity = true;
    w->identity.user = conn->user->name;
    w->identity.server_admin = conn->server_admin;
    /* On every target; a printer administrator without it still opens
     * channels on its printers (SPEC 8.2). */
    w->identity.may_open_channels = conn->may_open || conn->trusted || conn->server_admin;
    w->identity.trusted = conn->trusted;
    w->identity.admin_printers = printers;
    w->identity.admin_printers_count = total > 64 ? 64 : total;
    w->identity.admin_printers_truncated = total > 64;
    /* The list is informational: shorten it until the Welcome fits the
     * client's frame limit rather than fail the connection. */
    for (;;) {
        panp_status st;
        size_t need = 0;
        panp_error_code rc = panp_encode(PANP_BACKEND_PROTOBUF_C, &f, NULL, 0, &need, &st);
        bool fits = (rc == PANP_ERR_RESOURCE_EXHAUSTED || rc == PANP_ERR_UNSPECIFIED) &&
                    need <= conn->peer_max_frame;
        if (fits || w->identity.admin_printers_count == 0) break;
        w->identity.admin_printers_count /= 2;
        w->identity.admin_printers_truncated = true;
    }
    emit_control(c, conn, &f);
}

/* SPEC 7.3 steps 9 to 12 (the codec checked steps 1 to 8): version,
 * mechanism, credentials, shutdown. */
static const char *hello_identify(core *c, core_conn *conn, uint64_t rid, const panp_hello *h)
{
    if (h->min_version > PANP_PROTOCOL_VERSION || h->max_version < PANP_PROTOCOL_VERSION) {
        const char *field = h->min_version > PANP_PROTOCOL_VERSION ? "hello.min_version" : "hello.max_version";
        emit_error(c, conn, rid, PANP_ERR_UNSUPPORTED_VERSION, field, true,
                   "%s: this broker implements protocol versions 1 to 1", field);
        conn_fail(c, conn, CS_CLOSING);
        return NULL;
    }
    /* SPEC 4.2 to 4.4: unix offers EXTERNAL, tcp TOKEN, a tls listener
     * what its configuration says. */
    unsigned want = h->auth == PANP_AUTH_EXTERNAL ? CORE_OFFER_EXTERNAL : CORE_OFFER_TOKEN;
    if (!(conn->offers & want)) {
        fatal(c, conn, rid, PANP_ERR_UNAUTHENTICATED, "hello.auth",
              conn->offers == CORE_OFFER_EXTERNAL ? "hello.auth: this transport offers EXTERNAL only"
                                                  : "hello.auth: this transport offers TOKEN only");
        return NULL;
    }
    const char *user = NULL;
    if (want == CORE_OFFER_EXTERNAL) {
        user = conn->transport_user;
        if (!user || !*user) {
            fatal(c, conn, rid, PANP_ERR_UNAUTHENTICATED, "hello.auth",
                  conn->transport == CORE_TRANSPORT_TLS
                      ? "hello.auth: no verified client certificate maps to a user"
                      : "hello.auth: the peer's uid has no user name");
            return NULL;
        }
    } else {
        /* Off the local host a bearer token would travel in clear text
         * (SPEC SEC-9); inside TLS it does not. */
        if (conn->transport == CORE_TRANSPORT_TCP && !conn->loopback && !c->cfg->allow_remote_tokens) {
            fatal(c, conn, rid, PANP_ERR_UNAUTHENTICATED, "hello.token",
                  "hello.token: authentication failed");
            return NULL;
        }
        user = conf_token_user(c->cfg, h->token.data, h->token.len);
        if (!user) {
            /* One message for every rejected token, whatever the reason. */
            fatal(c, conn, rid, PANP_ERR_UNAUTHENTICATED, "hello.token",
                  "hello.token: authentication failed");
            return NULL;
        }
    }
    if (c->shutting_down) {
        fatal(c, conn, rid, PANP_ERR_SHUTTING_DOWN, "hello", "hello: the broker is shutting down");
        return NULL;
    }
    return user;
}

static void on_hello(core *c, core_conn *conn, uint64_t rid, const panp_hello *h)
{
    const char *user = hello_identify(c, conn, rid, h);
    if (!user) return;
    conn->user = user_get(c, user);
    if (conn->user) conn->user->conns++;
    conn->session_label = strdup(h->session_label ? h->session_label : "");
    if (!conn->user || !conn->session_label) {
        fatal(c, conn, rid, PANP_ERR_INTERNAL, "", "out of memory");
        return;
    }
    /* Rights are fixed for the life of the connection (SPEC AUTH-5). */
    conn->server_admin = conf_is_server_admin(c->cfg, user);
    conn->may_open = conf_is_sender(c->cfg, user);
    conn->trusted = conf_is_trusted(c->cfg, user);
    conn->peer_max_frame = h->max_frame_size ? h->max_frame_size : PANP_DEFAULT_MAX_FRAME;
    conn->state = CS_READY;
    conn->last_rx = c->now; /* keepalive runs from Welcome */
    list_remove(&conn->pending_link);
    c->npending--;
    panp_framer_set_max(conn->framer, c->cfg->limits.max_frame_size);
    conn_rearm(c, conn);
    core_log(c, LOG_INFO, conn, "hello: user %s via %s, software \"%s\"%s%s", user,
             h->auth == PANP_AUTH_EXTERNAL ? "EXTERNAL" : "TOKEN", h->software ? h->software : "",
             *conn->session_label ? ", session " : "", conn->session_label);
    send_welcome(c, conn, rid);
}

static void on_ping(core *c, core_conn *conn, uint64_t rid)
{
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_PONG};
    emit_control(c, conn, &f);
}

/* f passed the codec in the READY phase: a request with its request id, or
 * a Goodbye (whatever it holds, SPEC 7.5). */
static void dispatch_ready(core *c, core_conn *conn, const panp_frame *f)
{
    uint64_t rid = f->request_id;
    switch (f->kind) {
    case PANP_BODY_GOODBYE:
        core_log(c, LOG_INFO, conn, "goodbye from the client");
        conn_fail(c, conn, CS_CLOSING);
        break;
    case PANP_BODY_PING: on_ping(c, conn, rid); break;
    case PANP_BODY_REGISTER: reg_on_register(c, conn, rid, &f->body.register_listener); break;
    case PANP_BODY_RENEW: reg_on_renew(c, conn, rid, &f->body.renew); break;
    case PANP_BODY_UNREGISTER: reg_on_unregister(c, conn, rid, &f->body.unregister); break;
    case PANP_BODY_LIST_REGISTRATIONS: reg_on_list(c, conn, rid, &f->body.list_registrations); break;
    case PANP_BODY_OPEN_CHANNEL: chan_on_open(c, conn, rid, &f->body.open_channel); break;
    case PANP_BODY_SEND: chan_on_send(c, conn, rid, &f->body.send); break;
    case PANP_BODY_REPLY: conv_on_reply(c, conn, rid, &f->body.reply); break;
    case PANP_BODY_CLOSE_CHANNEL: chan_on_close(c, conn, rid, &f->body.close_channel); break;
    default:
        fatal(c, conn, rid, PANP_ERR_PROTOCOL_VIOLATION, "", "a broker does not accept this body");
        break;
    }
}

/* A frame the codec accepted in the connection's phase. */
static void dispatch(core *c, core_conn *conn, const panp_frame *f)
{
    core_log(c, LOG_DEBUG, conn, "<- %s (request %llu)", panp_body_name(f->kind),
             (unsigned long long)f->request_id);
    if (conn->state == CS_AWAIT_HELLO)
        on_hello(c, conn, f->request_id, &f->body.hello);
    else if (conn->state == CS_READY)
        dispatch_ready(c, conn, f);
}

void conn_frame(core *c, core_conn *conn, const panp_frame *f)
{
    /* Only through core_on_frame(): the caller vouches for the preface... */
    if (conn->state == CS_AWAIT_PREFACE)
        conn_input(c, conn, (const uint8_t *)PANP_PREFACE, PANP_PREFACE_LEN);
    if (conn->state != CS_AWAIT_HELLO && conn->state != CS_READY) return;
    /* ...not for the frame: it gets the checks received bytes get. */
    panp_status st;
    if (panp_validate_received(f, PANP_PEER_BROKER, phase_of(conn), &st) != PANP_ERR_UNSPECIFIED)
        reject(c, conn, &st);
    else
        dispatch(c, conn, f);
}

static void take_preface(core *c, core_conn *conn, const uint8_t **data, size_t *len)
{
    size_t n = PANP_PREFACE_LEN - conn->preface_got;
    if (n > *len) n = *len;
    memcpy(conn->preface + conn->preface_got, *data, n);
    conn->preface_got += n;
    *data += n;
    *len -= n;
    if (memcmp(conn->preface, PANP_PREFACE, conn->preface_got) != 0) {
        /* Not a panp peer: it would not understand an Error either. */
        core_log(c, LOG_INFO, conn, "bad preface; closing without a word");
        conn_fail(c, conn, CS_CLOSED);
        return;
    }
    if (conn->preface_got < PANP_PREFACE_LEN) return;
    bool was_empty = outq_empty(&conn->q);
    if (outq_push(&conn->q, OUTQ_CONTROL, 0, 0, (const uint8_t *)PANP_PREFACE, PANP_PREFACE_LEN,
                  NULL) != 0) {
        conn_fail(c, conn, CS_CLOSED);
        return;
    }
    conn->state = CS_AWAIT_HELLO;
    if (was_empty) core_wake(c, conn);
}

/* Framer failures: the body was never read, so there is no request id. */
static void bad_prefix(core *c, core_conn *conn, const panp_status *st)
{
    panp_error_code code = st->code == PANP_ERR_FRAME_TOO_LARGE ? PANP_ERR_FRAME_TOO_LARGE
                                                                 : PANP_ERR_PROTOCOL_VIOLATION;
    emit_error(c, conn, 0, code, "", true, "%s", st->message);
    conn_fail(c, conn, CS_CLOSING);
}

void conn_input(core *c, core_conn *conn, const uint8_t *data, size_t len)
{
    if (conn->state >= CS_CLOSING) return;
    while (len > 0 && conn->state < CS_CLOSING) {
        if (conn->state == CS_AWAIT_PREFACE) {
            take_preface(c, conn, &data, &len);
            continue;
        }
        size_t used = 0, flen = 0;
        const uint8_t *frame = NULL;
        panp_status st;
        memset(&st, 0, sizeof(st));
        panp_framer_result r = panp_framer_feed(conn->framer, data, len, &used, &frame, &flen, &st);
        data += used;
        len -= used;
        if (r == PANP_FRAMER_ERROR) {
            bad_prefix(c, conn, &st);
            return;
        }
        if (r == PANP_FRAMER_NEED_MORE) {
            if (used == 0) break;
            continue;
        }
        /* Keepalive counts complete frames, not bytes: a peer that
         * trickles a frame byte by byte is not alive (SPEC KA-3). */
        conn->last_rx = c->now;
        panp_decode_opts opts = {
            .backend = PANP_BACKEND_PROTOBUF_C,
            .peer = PANP_PEER_BROKER,
            .max_frame_size = conn->state == CS_READY ? c->cfg->limits.max_frame_size
                                                      : PANP_DEFAULT_MAX_FRAME,
        };
        panp_frame *f = NULL;
        memset(&st, 0, sizeof(st));
        if (panp_decode_received(&opts, phase_of(conn), frame, flen, &f, &st) != PANP_ERR_UNSPECIFIED) {
            reject(c, conn, &st);
            continue;
        }
        dispatch(c, conn, f);
        panp_frame_free(f);
    }
}

void conn_free(core *c, core_conn *conn)
{
    timer_cancel(&c->timers, &conn->timer);
    list_remove(&conn->link);
    list_remove(&conn->reap_link);
    if (list_linked(&conn->pending_link)) {
        list_remove(&conn->pending_link);
        c->npending--;
    }
    outq_free(&conn->q);
    panp_framer_free(conn->framer);
    if (conn->user) {
        conn->user->conns--;
        user_put(c, conn->user);
    }
    free(conn->transport_user);
    free(conn->address);
    free(conn->peer_id);
    free(conn->session_label);
    free(conn);
}
