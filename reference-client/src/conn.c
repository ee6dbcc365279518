/* conn.c - the life of a connection: creating a context, connecting,
 * preface + Hello / preface + Welcome, keepalive, timeouts, loss,
 * reconnect with back-off, and freeing.
 *
 * A lost connection looks to the application exactly like a broker-side
 * peer death: every open channel and conversation gets on_closed with
 * PEER_GONE and NOTIFICATION_RELEASE.  With reconnect on, registrations
 * survive: they are registered again (new handles, same objects) once the
 * next Welcome arrives.  Retries start at 1 s and double up to 60 s, the
 * spacing MS-PAN asks of its clients. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_int.h"

/* ---- creating ------------------------------------------------------------------ */

static panp_client *client_new(const panp_options *opt, bool async, panp_status *st)
{
    static const panp_options none;
    if (!opt)
        opt = &none;
    panp_client *c = calloc(1, sizeof *c);
    if (!c) {
        st_set(st, PANP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->armed_fd = -1;
    c->armed_timer = -1;
    c->deadline = -1;
    c->renew_due = -1;
    c->state = CS_IDLE;
    c->async = async;
    c->broker = strdup(opt->broker ? opt->broker : PANP_DEFAULT_BROKER);
    c->token = xstrdup(opt->token);
    c->session_label = xstrdup(opt->session_label);
    c->software = strdup(opt->software ? opt->software : "libpanp/" PANP_CLIENT_VERSION);
    c->max_frame = opt->max_frame_size ? opt->max_frame_size : PANP_DEFAULT_MAX_FRAME;
    c->connect_timeout_ms = opt->connect_timeout_ms ? opt->connect_timeout_ms : 10000;
    c->request_timeout_ms = opt->request_timeout_ms ? opt->request_timeout_ms : 30000;
    c->reconnect = opt->reconnect;
    c->backoff_min = opt->reconnect_min_ms ? opt->reconnect_min_ms : 1000;
    c->backoff_max = opt->reconnect_max_ms ? opt->reconnect_max_ms : 60000;
    if (c->backoff_max < c->backoff_min)
        c->backoff_max = c->backoff_min;
    c->backoff = c->backoff_min;
    c->on_connection = opt->on_connection;
    c->data = opt->data;
    c->tls_ca = xstrdup(opt->tls_ca_file);
    c->tls_cert = xstrdup(opt->tls_cert_file);
    c->tls_key = xstrdup(opt->tls_key_file);
    c->tls_name = xstrdup(opt->tls_server_name);
    c->tls_min = opt->tls_min_version;
    c->insecure_token = opt->insecure_plaintext_token;
    if (!c->broker || !c->software || (opt->token && !c->token) ||
        (opt->session_label && !c->session_label) || (opt->tls_ca_file && !c->tls_ca) ||
        (opt->tls_cert_file && !c->tls_cert) || (opt->tls_key_file && !c->tls_key) ||
        (opt->tls_server_name && !c->tls_name)) {
        st_set(st, PANP_ERR_NOMEM, "out of memory");
        client_destroy(c);
        return NULL;
    }
    if (c->max_frame < PANP_MIN_MAX_FRAME) {
        st_set(st, PANP_ERR_INVALID_ARGUMENT, "max_frame_size: 0 or at least %u",
               PANP_MIN_MAX_FRAME);
        client_destroy(c);
        return NULL;
    }
    if (addr_parse(c->broker, &c->addr, st) != PANP_OK ||
        (c->addr.kind == ADDR_TLS && tls_setup(c, st) != PANP_OK)) {
        client_destroy(c);
        return NULL;
    }
    return c;
}

/* ---- connecting ------------------------------------------------------------------ */

static panp_error_code queue_hello(panp_client *c, panp_status *st)
{
    if (!pbuf_append(&c->out, PANP_PREFACE, PANP_PREFACE_LEN))
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    panp_frame f = {.request_id = c->hello_id = ++c->next_id, .kind = PANP_BODY_HELLO};
    panp_hello *h = &f.body.hello;
    h->min_version = PANP_PROTOCOL_VERSION;
    h->max_version = PANP_PROTOCOL_VERSION;
    h->software = c->software;
    h->auth = c->token ? PANP_AUTH_TOKEN : PANP_AUTH_EXTERNAL;
    if (c->token)
        h->token = (panp_bytes){(const uint8_t *)c->token, strlen(c->token)};
    h->session_label = c->session_label;
    h->max_frame_size = c->max_frame == PANP_DEFAULT_MAX_FRAME ? 0 : c->max_frame;
    return io_put_frame(c, &c->out, &f, st);
}

panp_error_code conn_start(panp_client *c, panp_status *st)
{
    int fd;
    bool pending;
    /* A token crosses plain tcp only to a loopback address (SPEC SEC-10). */
    bool loopback_only = c->token && c->addr.kind == ADDR_TCP && !c->insecure_token;
    panp_error_code e = addr_connect(&c->addr, loopback_only, &fd, &pending, st);
    if (e != PANP_OK)
        return e;
    c->framer = panp_framer_new(c->max_frame, true);
    if (!c->framer) {
        close(fd);
        return st_set(st, PANP_ERR_NOMEM, "out of memory");
    }
    c->fd = fd;
    c->tcp_up = !pending;
    /* tls: the handshake runs in CS_CONNECTING after the TCP connect, from
     * io_write(); its ClientHello needs writability first. */
    c->tls_hs_want_read = false;
    c->state = pending || c->addr.kind == ADDR_TLS ? CS_CONNECTING : CS_HANDSHAKE;
    c->rpos = c->rlen = 0;
    c->goodbye = false;
    pbuf_clear(&c->out);
    e = queue_hello(c, st);
    if (e != PANP_OK) {
        conn_fail(c, st, true);
        return e;
    }
    c->deadline = now_ms() + c->connect_timeout_ms;
    io_arm(c);
    return PANP_OK;
}

static bool keep_welcome(panp_client *c, const panp_welcome *w)
{
    for (size_t i = 0; i < c->info_nstrings; i++)
        free(c->info_strings[i]);
    free(c->info_strings);
    size_t admins = w->has_identity ? w->identity.admin_printers_count : 0;
    size_t n = 3 + admins;
    c->info_strings = calloc(n, sizeof *c->info_strings);
    c->info_nstrings = c->info_strings ? n : 0;
    if (!c->info_strings)
        return false;
    c->info_strings[0] = strdup(w->software ? w->software : "");
    c->info_strings[1] = strdup(w->server_name ? w->server_name : "");
    c->info_strings[2] = strdup(w->has_identity && w->identity.user ? w->identity.user : "");
    for (size_t i = 0; i < admins; i++)
        c->info_strings[3 + i] = strdup(w->identity.admin_printers[i]);
    for (size_t i = 0; i < n; i++)
        if (!c->info_strings[i])
            return false;
    panp_session_info *in = &c->info;
    memset(in, 0, sizeof *in);
    in->version = w->version;
    in->server_software = c->info_strings[0];
    in->server_name = c->info_strings[1];
    in->user = c->info_strings[2];
    if (w->has_limits)
        in->limits = w->limits;
    if (w->has_identity) {
        in->server_admin = w->identity.server_admin;
        in->may_open_channels = w->identity.may_open_channels;
        in->trusted = w->identity.trusted;
    }
    in->admin_printers = (const char *const *)(c->info_strings + 3);
    in->admin_printers_count = admins;
    c->have_info = true;
    return true;
}

static void tell(panp_client *c, panp_conn_event ev, const panp_status *why)
{
    if (!c->on_connection || c->freeing)
        return;
    c->ncalls++;
    c->on_connection(c, ev, why, c->data);
}

static void on_welcome(panp_client *c, const panp_welcome *w)
{
    panp_status st;
    if (w->version != PANP_PROTOCOL_VERSION) {
        st_set(&st, PANP_ERR_UNSUPPORTED_VERSION, "the broker chose protocol version %u",
               w->version);
        conn_fail(c, &st, true);
        return;
    }
    if (!keep_welcome(c, w)) {
        st_set(&st, PANP_ERR_NOMEM, "out of memory keeping the Welcome");
        conn_fail(c, &st, true);
        return;
    }
    c->state = CS_READY;
    c->deadline = -1;
    c->backoff = c->backoff_min;
    bool again = c->ever_up;
    c->ever_up = true;
    int64_t now = now_ms();
    for (preq *r = c->pend_head; r; r = r->next)
        r->sent_ms = now; /* held until now: their clocks start here */
    if (pbuf_len(&c->held) > 0) {
        if (!pbuf_append(&c->out, pbuf_head(&c->held), pbuf_len(&c->held))) {
            st_set(&st, PANP_ERR_NOMEM, "out of memory");
            conn_fail(c, &st, true);
            return;
        }
        pbuf_clear(&c->held);
    }
    objs_reregister(c);
    st_set(&st, PANP_OK, "connected to %s as %s", c->broker, c->info.user);
    tell(c, again ? PANP_CONN_RESTORED : PANP_CONN_UP, &st);
}

void conn_handshake_frame(panp_client *c, const panp_frame *f)
{
    panp_status st;
    if (f->kind == PANP_BODY_WELCOME && f->request_id != c->hello_id) {
        /* A Welcome that answers no Hello: a broken broker ([PANP-CLI-6]). */
        st_set(&st, PANP_ERR_PROTOCOL_VIOLATION, "the broker's Welcome answers request %llu, "
               "not the Hello (%llu)", (unsigned long long)f->request_id,
               (unsigned long long)c->hello_id);
        conn_fail(c, &st, false);
        return;
    }
    if (f->kind == PANP_BODY_WELCOME) {
        on_welcome(c, &f->body.welcome);
        return;
    }
    if (f->kind == PANP_BODY_ERROR) {
        /* Refused (bad token, no common version): retrying cannot help. */
        const panp_error_msg *e = &f->body.error;
        st_set(&st, e->code ? e->code : PANP_ERR_INTERNAL, "the broker refused the connection: %s",
               e->message ? e->message : "");
        if (e->field)
            snprintf(st.field, sizeof st.field, "%s", e->field);
        conn_fail(c, &st, true);
        return;
    }
    st_set(&st, PANP_ERR_PROTOCOL_VIOLATION, "the broker sent %s before its Welcome",
           panp_body_name(f->kind));
    conn_fail(c, &st, false);
}

/* ---- losing it ------------------------------------------------------------------- */

void conn_fail(panp_client *c, const panp_status *why, bool permanent)
{
    if (c->state == CS_DEAD)
        return;
    bool was_ready = c->state == CS_READY;
    panp_status keep = *why; /* why may point into c (goodbye_st) */
    st_copy(&c->last_error, &keep);
    if (c->fd >= 0) {
        io_disarm(c);
        tls_end(c);
        close(c->fd);
        c->fd = -1;
    }
    c->tcp_up = false;
    c->gen++;
    panp_framer_free(c->framer);
    c->framer = NULL;
    c->rpos = c->rlen = 0;
    pbuf_clear(&c->out);
    bool retry = c->reconnect && !permanent && !c->freeing;
    c->state = retry ? CS_IDLE : CS_DEAD;
    c->deadline = -1;
    if (retry) {
        c->deadline = now_ms() + c->backoff;
        c->backoff = c->backoff * 2 > c->backoff_max ? c->backoff_max : c->backoff * 2;
    }
    objs_connection_lost(c, retry);
    panp_error_code code = (int)keep.code >= PANP_ERR_CLIENT_BASE ? keep.code
                                                                   : PANP_ERR_DISCONNECTED;
    req_fail_all(c, code, &keep);
    if (retry && was_ready)
        tell(c, PANP_CONN_LOST, &keep);
    else if (!retry && (c->ever_up || c->async))
        tell(c, PANP_CONN_DEAD, &keep);
    io_arm(c);
}

void conn_lost(panp_client *c, const panp_status *why) { conn_fail(c, why, false); }

void conn_lost_code(panp_client *c, panp_error_code code, const char *fmt, ...)
{
    panp_status st;
    memset(&st, 0, sizeof st);
    st.code = code;
    st.offset = SIZE_MAX;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st.message, sizeof st.message, fmt, ap);
    va_end(ap);
    conn_fail(c, &st, false);
}

/* ---- timers ------------------------------------------------------------------------ */

static int64_t answer_timeout(const panp_client *c)
{
    if (c->request_timeout_ms > 0)
        return c->request_timeout_ms;
    /* Waiting forever was asked for; still, a broker silent for longer
     * than its own keepalive timeout is gone. */
    uint32_t ka = c->info.limits.keepalive_timeout_ms;
    return ka ? (int64_t)ka : -1;
}

int64_t conn_next_due(const panp_client *c)
{
    if (c->done_head)
        return now_ms();
    switch (c->state) {
    case CS_IDLE:
    case CS_CONNECTING:
    case CS_HANDSHAKE:
        return c->deadline;
    case CS_READY: {
        int64_t due = -1, oldest = req_oldest_ms(c), to = answer_timeout(c);
        if (c->info.limits.keepalive_interval_ms)
            due = c->last_send_ms + c->info.limits.keepalive_interval_ms;
        if (to > 0 && oldest >= 0 && (due < 0 || oldest + to < due))
            due = oldest + to;
        if (c->renew_due >= 0 && (due < 0 || c->renew_due < due))
            due = c->renew_due;
        return due;
    }
    case CS_DEAD:
        break;
    }
    return -1;
}

static void send_ping(panp_client *c)
{
    preq *r = req_new(RQ_PING, NULL, NULL, NULL);
    if (!r)
        return;
    if (req_submit(c, r, NULL) != PANP_OK)
        req_free(c, r);
    /* Counted as sent even while it sits in the queue: one Ping per
     * interval, not one per timer tick. */
    c->last_send_ms = now_ms();
}

void conn_timer(panp_client *c)
{
    int64_t now = now_ms();
    panp_status st;
    switch (c->state) {
    case CS_IDLE:
        if (c->deadline >= 0 && now >= c->deadline) {
            c->deadline = -1;
            /* A refused combination of options cannot get better. */
            if (conn_start(c, &st) != PANP_OK)
                conn_fail(c, &st, st.code == PANP_ERR_INVALID_ARGUMENT);
        }
        break;
    case CS_CONNECTING:
    case CS_HANDSHAKE:
        if (c->deadline >= 0 && now >= c->deadline)
            conn_lost_code(c, PANP_ERR_TIMEOUT, "no Welcome from %s within %d ms%s", c->broker,
                           c->connect_timeout_ms,
                           c->state == CS_CONNECTING && c->tcp_up ? " (the TLS handshake did not finish)" : "");
        break;
    case CS_READY: {
        int64_t oldest = req_oldest_ms(c), to = answer_timeout(c);
        if (to > 0 && oldest >= 0 && now >= oldest + to) {
            conn_lost_code(c, PANP_ERR_TIMEOUT, "the broker did not answer within %lld ms",
                           (long long)to);
            break;
        }
        regs_renew_due(c, now);
        uint32_t ka = c->info.limits.keepalive_interval_ms;
        if (ka && now >= c->last_send_ms + ka)
            send_ping(c);
        break;
    }
    case CS_DEAD:
        break;
    }
}

/* ---- public: connect, free, inspect ----------------------------------------------- */

panp_error_code panp_connect(const panp_options *opt, panp_client **out, panp_status *st)
{
    ST_OR_LOCAL(st);
    *out = NULL;
    panp_client *c = client_new(opt, false, st);
    if (!c)
        return st->code;
    panp_error_code e = conn_start(c, st);
    if (e != PANP_OK) {
        client_destroy(c);
        return e;
    }
    uint64_t gen = c->gen;
    c->depth++;
    while (c->state != CS_READY && c->gen == gen)
        io_drive(c, -1);
    c->depth--;
    if (c->state != CS_READY || c->free_pending) {
        e = c->last_error.code ? st_copy(st, &c->last_error)
                               : st_set(st, PANP_ERR_DISCONNECTED, "connection closed");
        client_destroy(c);
        return e;
    }
    *out = c;
    return PANP_OK;
}

panp_error_code panp_async_connect(const panp_options *opt, panp_client **out, panp_status *st)
{
    ST_OR_LOCAL(st);
    *out = NULL;
    panp_client *c = client_new(opt, true, st);
    if (!c)
        return st->code;
    panp_status local;
    panp_error_code e = conn_start(c, &local);
    if (e != PANP_OK) {
        if (!c->reconnect || e == PANP_ERR_INVALID_ARGUMENT) {
            st_copy(st, &local);
            client_destroy(c);
            return e;
        }
        conn_fail(c, &local, false); /* schedules the first retry */
    }
    *out = c;
    return PANP_OK;
}

static void flush_goodbye(panp_client *c)
{
    panp_frame f = {.kind = PANP_BODY_GOODBYE};
    f.body.goodbye.reason = PANP_GOODBYE_CLIENT_DONE;
    if (io_put_frame(c, &c->out, &f, NULL) != PANP_OK)
        return;
    /* Bounded: freeing must not hang on a broker that stopped reading. */
    int64_t end = now_ms() + (c->async ? 0 : 1000);
    while (c->fd >= 0 && pbuf_len(&c->out) > 0) {
        io_write(c);
        int64_t left = end - now_ms();
        if (c->fd < 0 || pbuf_len(&c->out) == 0 || left <= 0)
            break;
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        poll(&p, 1, (int)left);
    }
}

/* Listeners should see CLOSED_BY_SENDER rather than PEER_GONE for the
 * channels still open when we leave ([PANP-CLI-15]). */
static void close_open_channels(panp_client *c)
{
    for (pobj *o = c->objects; o; o = o->next) {
        panp_channel *ch = (panp_channel *)o;
        if (o->kind != OBJ_CHAN || ch->state != CH_OPEN || ch->closing)
            continue;
        preq *r = req_new(RQ_CLOSE_CHAN, o, NULL, NULL);
        if (r && req_submit(c, r, NULL) == PANP_OK)
            ch->closing = true;
        else if (r)
            req_free(c, r);
    }
}

void client_destroy(panp_client *c)
{
    c->depth++;
    if (c->state == CS_READY && c->fd >= 0) {
        close_open_channels(c);
        c->freeing = true;
        flush_goodbye(c);
    }
    c->freeing = true;
    if (c->fd >= 0) {
        io_disarm(c);
        tls_end(c);
        close(c->fd);
        c->fd = -1;
    }
    c->state = CS_DEAD;
    for (bool again = true; again;) {
        again = false;
        for (pobj *o = c->objects; o; o = o->next) {
            if (o->wait_head) {
                req_release_waiting(c, o, PANP_ERR_DISCONNECTED, "the context was freed");
                again = true;
                break;
            }
        }
    }
    panp_status why;
    st_set(&why, PANP_ERR_DISCONNECTED, "the context was freed");
    req_fail_all(c, PANP_ERR_DISCONNECTED, &why);
    req_run_done(c);
    if (c->hooked && c->hooks.cleanup)
        c->hooks.cleanup(c->hooks.data);
    obj_free_all(c);
    idmap_free(&c->chans);
    idmap_free(&c->convs);
    panp_framer_free(c->framer);
    pbuf_free(&c->out);
    pbuf_free(&c->held);
    for (size_t i = 0; i < c->info_nstrings; i++)
        free(c->info_strings[i]);
    free(c->info_strings);
    tls_free(c);
    free(c->broker);
    free(c->token);
    free(c->session_label);
    free(c->software);
    free(c);
}

void panp_free(panp_client *c)
{
    if (!c)
        return;
    if (c->depth > 0) { /* inside a callback: see panp_free_deferred() */
        c->free_pending = true;
        return;
    }
    client_destroy(c);
}

void panp_free_deferred(panp_client *c) { panp_free(c); }

const panp_session_info *panp_session(const panp_client *c)
{
    return c->have_info ? &c->info : NULL;
}

bool panp_is_connected(const panp_client *c) { return c->state == CS_READY; }
int panp_fd(const panp_client *c) { return c->fd; }
void *panp_data(const panp_client *c) { return c->data; }
const panp_status *panp_last_error(const panp_client *c) { return &c->last_error; }
