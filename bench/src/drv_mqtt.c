/* drv_mqtt.c - MQTT 3.1.1 at QoS 0 through libmosquitto (Debian's
 * libmosquitto-dev), driven from the bench loop with the library's
 * external-loop calls (mosquitto_socket, _loop_read, _loop_write,
 * _want_write).
 *
 * Topics: listener and sender use "bench/<topic>"; the responder listens on
 * "bench/<topic>/req" and answers on "bench/<topic>/resp", where the
 * requester listens. */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drv.h"

/* libmosquitto reads one packet per mosquitto_loop_read call; take at most
 * this many per readiness event before going back to the loop. */
#define READ_BURST 256

struct bconn {
    benv *env;
    brole role;
    struct mosquitto *m;
    msg_fn on_msg;
    void *ud;
    int fd;
    bool paused;
    int state;
    char err[256];
    char sub_topic[128], pub_topic[128];
};

static void fail(bconn *b, const char *what, const char *msg)
{
    if (b->state != -1) snprintf(b->err, sizeof b->err, "%s: %s", what, msg);
    b->state = -1;
}

static void on_fd(void *ud, int fd, unsigned events);

/* Re-arms the loop after anything that may have queued output. */
static void update(bconn *b)
{
    if (b->fd < 0 || !b->m) return;
    if (b->state != -1 && mosquitto_want_write(b->m)) {
        int rc = mosquitto_loop_write(b->m, 1);
        if (rc != MOSQ_ERR_SUCCESS) fail(b, "write", mosquitto_strerror(rc));
    }
    unsigned want = 0;
    if (b->state != -1) {
        if (!b->paused) want |= EV_READ;
        if (mosquitto_want_write(b->m)) want |= EV_WRITE;
    }
    ev_watch(b->env->loop, b->fd, want, on_fd, b);
}

static void on_fd(void *ud, int fd, unsigned events)
{
    bconn *b = ud;
    (void)fd;
    if (events & EV_WRITE) {
        int rc = mosquitto_loop_write(b->m, 1);
        if (rc != MOSQ_ERR_SUCCESS) fail(b, "write", mosquitto_strerror(rc));
    }
    if ((events & EV_READ) && b->state != -1 && !b->paused) {
        for (int i = 0; i < READ_BURST && b->state != -1 && !b->paused; i++) {
            errno = 0;
            int rc = mosquitto_loop_read(b->m, 1);
            if (rc != MOSQ_ERR_SUCCESS) {
                fail(b, "read", mosquitto_strerror(rc));
                break;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        }
    }
    update(b);
}

static void cb_connect(struct mosquitto *m, void *obj, int rc)
{
    bconn *b = obj;
    if (rc != 0) {
        fail(b, "connack", mosquitto_connack_string(rc));
        return;
    }
    if (b->role == ROLE_SENDER) {
        b->state = 1;
        return;
    }
    int r = mosquitto_subscribe(m, NULL, b->sub_topic, 0);
    if (r != MOSQ_ERR_SUCCESS) fail(b, "subscribe", mosquitto_strerror(r));
}

static void cb_subscribe(struct mosquitto *m, void *obj, int mid, int qos_count, const int *granted)
{
    bconn *b = obj;
    (void)m, (void)mid;
    if (qos_count < 1 || granted[0] > 2)
        fail(b, "subscribe", "refused");
    else if (b->state == 0)
        b->state = 1;
}

static void cb_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    bconn *b = obj;
    if (b->role == ROLE_RESPONDER) {
        int r = mosquitto_publish(m, NULL, b->pub_topic, msg->payloadlen, msg->payload, 0, false);
        if (r != MOSQ_ERR_SUCCESS) fail(b, "publish", mosquitto_strerror(r));
        return;
    }
    b->on_msg(b->ud, msg->payload, (size_t)msg->payloadlen);
}

static bconn *q_open(benv *env, brole role, const char *topic, msg_fn on_msg, void *ud)
{
    static bool inited;
    static unsigned serial;
    if (!inited) {
        mosquitto_lib_init();
        inited = true;
    }
    bconn *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->env = env;
    b->role = role;
    b->on_msg = on_msg;
    b->ud = ud;
    b->fd = -1;
    switch (role) {
    case ROLE_LISTENER:
    case ROLE_SENDER:
        snprintf(b->sub_topic, sizeof b->sub_topic, "bench/%s", topic);
        snprintf(b->pub_topic, sizeof b->pub_topic, "bench/%s", topic);
        break;
    case ROLE_RESPONDER:
        snprintf(b->sub_topic, sizeof b->sub_topic, "bench/%s/req", topic);
        snprintf(b->pub_topic, sizeof b->pub_topic, "bench/%s/resp", topic);
        break;
    case ROLE_REQUESTER:
        snprintf(b->sub_topic, sizeof b->sub_topic, "bench/%s/resp", topic);
        snprintf(b->pub_topic, sizeof b->pub_topic, "bench/%s/req", topic);
        break;
    }
    if (env->unix_path) {
        fail(b, "connect", "MQTT driver: tcp only");
        return b;
    }
    char id[64];
    snprintf(id, sizeof id, "bench-%d-%u", (int)getpid(), serial++);
    b->m = mosquitto_new(id, true, b);
    if (!b->m) {
        fail(b, "mosquitto_new", strerror(errno));
        return b;
    }
    mosquitto_int_option(b->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(b->m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(b->m, cb_connect);
    mosquitto_subscribe_callback_set(b->m, cb_subscribe);
    mosquitto_message_callback_set(b->m, cb_message);
    int rc = mosquitto_connect(b->m, env->host, env->port, 3600);
    if (rc != MOSQ_ERR_SUCCESS) {
        fail(b, "connect", rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return b;
    }
    b->fd = mosquitto_socket(b->m);
    update(b);
    return b;
}

static int q_ready(bconn *b) { return b->state; }

static bool q_can_publish(bconn *b) { return b->state == 1 && !mosquitto_want_write(b->m); }

static int q_publish(bconn *b, const void *payload, size_t len)
{
    if (b->state != 1) return -1;
    int rc = mosquitto_publish(b->m, NULL, b->pub_topic, (int)len, payload, 0, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        fail(b, "publish", mosquitto_strerror(rc));
        return -1;
    }
    update(b);
    return 0;
}

static void q_pause(bconn *b, bool stop)
{
    b->paused = stop;
    update(b);
}

static int q_fd(bconn *b) { return b->fd; }

static const char *q_error(bconn *b) { return b->state == -1 ? b->err : NULL; }

static void q_close(bconn *b)
{
    if (!b) return;
    if (b->m) {
        if (b->fd >= 0) ev_watch(b->env->loop, b->fd, 0, NULL, NULL);
        mosquitto_disconnect(b->m);
        mosquitto_destroy(b->m);
    }
    free(b);
}

const drv drv_mqtt = {"mqtt", q_open, q_ready, q_can_publish, q_publish, q_pause,
                      q_fd, q_error, q_close};
