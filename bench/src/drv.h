/* drv.h - what a protocol driver gives the scenarios.
 *
 * Three drivers (drv_panp.c over libpanp's async API, drv_mqtt.c over
 * libmosquitto at QoS 0, drv_nats.c: a small NATS text-protocol client)
 * behind one table, so every scenario runs the same code against every
 * broker.  All connections are non-blocking and live on the shared evloop;
 * nothing here blocks except the TCP connect() libmosquitto does itself.
 *
 * Roles:
 *   listener   connect, subscribe to a topic, hand each message to on_msg
 *   sender     connect, get ready to publish on a topic (panp: open a channel)
 *   responder  listener that answers each request with the same payload
 *   requester  sender whose replies come to on_msg (panp: bidirectional
 *              channel + ReplyDelivery; MQTT: a response topic; NATS: an inbox)
 */
#ifndef BENCH_DRV_H
#define BENCH_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

typedef struct bconn bconn; /* a driver's connection (opaque) */
typedef void (*msg_fn)(void *ud, const uint8_t *payload, size_t len);

typedef struct benv {
    evloop *loop;
    const char *host;   /* tcp: 127.0.0.1 */
    int port;           /* tcp port; 0 with a unix path */
    const char *unix_path;
    const char *token;  /* panp TOKEN over tcp */
} benv;

typedef enum { ROLE_LISTENER, ROLE_SENDER, ROLE_RESPONDER, ROLE_REQUESTER } brole;

typedef struct drv {
    const char *name;
    /* Starts connecting; the connection is usable once ready() says 1. */
    bconn *(*open)(benv *env, brole role, const char *topic, msg_fn on_msg, void *ud);
    int (*ready)(bconn *c);                 /* 1 ready, 0 not yet, -1 failed */
    bool (*can_publish)(bconn *c);          /* room in the driver's own window/buffer */
    int (*publish)(bconn *c, const void *payload, size_t len); /* 0 or -1 */
    void (*pause)(bconn *c, bool stop);     /* stop/resume reading (slow consumer) */
    int (*fd)(bconn *c);                    /* -1 if none yet */
    const char *(*error)(bconn *c);         /* NULL while healthy */
    void (*close)(bconn *c);
} drv;

extern const drv drv_panp, drv_mqtt, drv_nats;

#endif
