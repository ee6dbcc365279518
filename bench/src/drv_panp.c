/* drv_panp.c - panp through libpanp's event-loop API (panp_async_*).
 *
 * Each bconn is one panp_client attached to the bench loop through
 * panp_loop_hooks.  Listener: a unidirectional PER_USER registration on the
 * server target; sender: a unidirectional channel; responder: a
 * bidirectional registration answering every question with a Reply of the
 * same payload; requester: a bidirectional channel whose ReplyDelivery
 * frames are the replies.  The topic names the notification type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv.h"
#include "panp/client.h"

/* Sends in flight (Sent not yet back) per sender: libpanp queues without
 * bound, so the driver keeps its own window. */
#define SEND_WINDOW 2048

struct bconn {
    benv *env;
    brole role;
    panp_client *c;
    panp_registration *reg;
    panp_channel *ch;
    msg_fn on_msg;
    void *ud;
    int fd;
    unsigned want;
    bool paused;
    ev_timer timer;
    int state; /* 0 connecting, 1 ready, -1 failed */
    char err[256];
    uint32_t outstanding; /* Sends whose Sent has not come back */
    uint8_t type[PANP_UUID_LEN];
};

static void fail(bconn *b, const char *what, const char *msg)
{
    if (b->state != -1) snprintf(b->err, sizeof b->err, "%s: %s", what, msg ? msg : "?");
    b->state = -1;
}

/* ---- loop hooks */

static void on_fd(void *ud, int fd, unsigned events)
{
    bconn *b = ud;
    (void)fd;
    if (b->c && (events & EV_WRITE)) panp_async_on_writable(b->c);
    if (b->c && (events & EV_READ)) panp_async_on_readable(b->c);
}

static void apply(bconn *b, int fd)
{
    if (fd < 0) return;
    unsigned w = b->want;
    if (b->paused) w &= ~(unsigned)EV_READ;
    ev_watch(b->env->loop, fd, w, on_fd, b);
}

static void h_add_read(void *d, int fd)
{
    bconn *b = d;
    b->fd = fd;
    b->want |= EV_READ;
    apply(b, fd);
}

static void h_del_read(void *d, int fd)
{
    bconn *b = d;
    b->want &= ~(unsigned)EV_READ;
    apply(b, fd);
}

static void h_add_write(void *d, int fd)
{
    bconn *b = d;
    b->fd = fd;
    b->want |= EV_WRITE;
    apply(b, fd);
}

static void h_del_write(void *d, int fd)
{
    bconn *b = d;
    b->want &= ~(unsigned)EV_WRITE;
    apply(b, fd);
}

static void on_timer(void *ud)
{
    bconn *b = ud;
    if (b->c) panp_async_on_timer(b->c);
}

static void h_set_timer(void *d, int ms)
{
    bconn *b = d;
    if (ms < 0)
        ev_timer_cancel(b->env->loop, &b->timer);
    else
        ev_timer_set(b->env->loop, &b->timer, mono_ms() + ms);
}

static void h_cleanup(void *d)
{
    bconn *b = d;
    ev_timer_cancel(b->env->loop, &b->timer);
}

/* ---- library callbacks */

static void on_connection(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    (void)c;
    if (ev == PANP_CONN_LOST || ev == PANP_CONN_DEAD) fail(data, "connection", why ? why->message : "lost");
}

static void on_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                      const panp_notify *n, void *data)
{
    bconn *b = data;
    (void)reg;
    if (b->role == ROLE_RESPONDER) {
        panp_status st;
        if (panp_async_conversation_reply(c, cv, n->payload.data, n->payload.len, NULL, NULL, &st) !=
            PANP_OK)
            fail(b, "reply", st.message);
        return;
    }
    b->on_msg(b->ud, n->payload.data, n->payload.len);
}

static void on_reg_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason why, void *data)
{
    (void)c, (void)reg, (void)why;
    fail(data, "registration", "ended");
}

static void on_reply(panp_client *c, panp_channel *ch, const panp_reply_delivery *r, void *data)
{
    bconn *b = data;
    (void)c, (void)ch;
    b->on_msg(b->ud, r->payload.data, r->payload.len);
}

static void on_chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info, void *data)
{
    (void)c, (void)ch;
    char why[64];
    snprintf(why, sizeof why, "closed, reason %d", (int)info->reason);
    fail(data, "channel", why);
}

static void on_ready(panp_client *c, const panp_result *r, void *data)
{
    bconn *b = data;
    (void)c;
    if (r->code == PANP_OK) {
        if (b->state == 0) b->state = 1;
    } else {
        fail(b, b->role == ROLE_LISTENER || b->role == ROLE_RESPONDER ? "register" : "open",
             r->status->message);
    }
}

static void on_sent(panp_client *c, const panp_result *r, void *data)
{
    bconn *b = data;
    (void)c;
    b->outstanding--;
    if (r->code != PANP_OK) fail(b, "send", r->status->message);
}

/* ---- the driver */

static bconn *p_open(benv *env, brole role, const char *topic, msg_fn on_msg, void *ud)
{
    bconn *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->env = env;
    b->role = role;
    b->on_msg = on_msg;
    b->ud = ud;
    b->fd = -1;
    ev_timer_init(&b->timer, on_timer, b);
    char t[64] = {0};
    snprintf(t, sizeof t, "bench/%s", topic);
    memcpy(b->type, t, PANP_UUID_LEN);

    char addr[256];
    if (env->unix_path)
        snprintf(addr, sizeof addr, "unix:%s", env->unix_path);
    else
        snprintf(addr, sizeof addr, "tcp:%s:%d", env->host, env->port);
    panp_options opt = {.broker = addr,
                        .token = env->unix_path ? NULL : env->token,
                        .software = "panp-bench",
                        .connect_timeout_ms = 60000,
                        .request_timeout_ms = 120000,
                        .on_connection = on_connection,
                        .data = b};
    panp_status st;
    if (panp_async_connect(&opt, &b->c, &st) != PANP_OK) {
        fail(b, "connect", st.message);
        b->c = NULL;
        return b;
    }
    panp_loop_hooks h = {b, h_add_read, h_del_read, h_add_write, h_del_write, h_set_timer, h_cleanup};
    if (panp_async_attach(b->c, &h, &st) != PANP_OK) {
        fail(b, "attach", st.message);
        return b;
    }
    panp_error_code e;
    bool bidi = role == ROLE_RESPONDER || role == ROLE_REQUESTER;
    if (role == ROLE_LISTENER || role == ROLE_RESPONDER) {
        panp_register_params p = {.type = b->type,
                                  .style = bidi ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL,
                                  .on_notify = on_notify,
                                  .on_ended = on_reg_ended,
                                  .data = b};
        e = panp_async_register_listener(b->c, &p, &b->reg, on_ready, b, &st);
    } else {
        panp_channel_params p = {.type = b->type,
                                 .style = bidi ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL,
                                 .on_reply = on_reply,
                                 .on_closed = on_chan_closed,
                                 .data = b};
        e = panp_async_channel_open(b->c, &p, &b->ch, on_ready, b, &st);
    }
    if (e != PANP_OK) fail(b, "request", st.message);
    return b;
}

static int p_ready(bconn *b) { return b->state; }

static bool p_can_publish(bconn *b) { return b->state == 1 && b->outstanding < SEND_WINDOW; }

static int p_publish(bconn *b, const void *payload, size_t len)
{
    panp_status st;
    if (b->state != 1) return -1;
    if (panp_async_channel_send(b->c, b->ch, payload, len, on_sent, b, &st) != PANP_OK) {
        fail(b, "send", st.message);
        return -1;
    }
    b->outstanding++;
    return 0;
}

static void p_pause(bconn *b, bool stop)
{
    b->paused = stop;
    apply(b, b->fd);
}

static int p_fd(bconn *b) { return b->c ? panp_fd(b->c) : -1; }

static const char *p_error(bconn *b) { return b->state == -1 ? b->err : NULL; }

static void p_close(bconn *b)
{
    if (!b) return;
    if (b->c) {
        if (b->ch) panp_channel_release(b->c, b->ch);
        panp_free(b->c); /* runs h_cleanup */
    }
    free(b);
}

const drv drv_panp = {"panp", p_open, p_ready, p_can_publish, p_publish, p_pause,
                      p_fd, p_error, p_close};
