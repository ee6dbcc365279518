/* harness.h - drives the routing core in unit tests: fake connections, a
 * fake clock, a deterministic random source, and decoding of everything
 * the core queued for a connection.
 *
 * Every helper asserts with cmocka, so a test reads as a script:
 *   h_conn *a = h_connect(w, "alice");
 *   h_bytes reg = h_register(w, a, H_SERVER, type, PER_USER, BIDI);
 *   panp_frame *f = h_expect(w, a, PANP_BODY_NOTIFY);
 * Frames returned stay valid until h_free(). */
#ifndef PANPD_HARNESS_H
#define PANPD_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf.h"
#include "core.h"
#include "panp/codec.h"

#define H_MAX_CONNS 64
#define H_MAX_FRAMES 8192
#define H_INBOX 2048

typedef struct h_world h_world;

typedef struct h_conn {
    h_world *w;
    core_conn *cc;
    panp_framer *fr;
    panp_frame *inbox[H_INBOX]; /* decoded, not yet taken */
    size_t in_head, in_tail;
    uint64_t next_rid;
    bool gone;              /* core_disconnect was called */
    bool close_seen;        /* the core asked for the socket to close */
    size_t wakes;
    uint32_t max_frame;     /* what this client announced */
    const char *user;
} h_conn;

struct h_world {
    panpd_config *cfg;
    core *core;
    uint64_t now;
    uint64_t rnd;
    int random_fails;
    h_conn conns[H_MAX_CONNS];
    size_t nconns;
    panp_frame *keep[H_MAX_FRAMES]; /* every frame handed out, freed at h_free */
    size_t nkeep;
    bool log;
    bool remote; /* tcp peers are not on loopback */
};

/* A config with: server "test-server"; printers "P1" (admin "padmin") and
 * "P2"; server admin "root"; senders "alice", "sender"; trusted "spooler";
 * tokens: "tokuser" <- "secret-token-1".  Tests may change cfg before
 * h_start(). */
h_world *h_new(void);
void h_start(h_world *w);
void h_free(h_world *w);

extern const uint8_t H_TYPE_A[16]; /* an ordinary vendor type */
extern const uint8_t H_TYPE_B[16];
#define H_TOKEN "secret-token-1"

/* Connects (unix transport, EXTERNAL as `user`), sends preface and Hello,
 * takes the preface and Welcome. */
h_conn *h_connect(h_world *w, const char *user);
h_conn *h_connect_opts(h_world *w, const char *user, const char *session, uint32_t max_frame);
/* Only the transport: nothing sent yet. */
h_conn *h_accept(h_world *w, core_transport t, const char *user);
void h_bytes(h_world *w, h_conn *c, const void *data, size_t len);
void h_frame(h_world *w, h_conn *c, const panp_frame *f); /* encoded, through the framer */
uint64_t h_request(h_world *w, h_conn *c, panp_frame *f); /* assigns a request id */
void h_disconnect(h_world *w, h_conn *c, core_gone why);
void h_advance(h_world *w, uint64_t ms); /* moves the clock, runs core_tick */

/* Drains what the core queued for c into c's inbox.  `limit` bytes at most
 * (SIZE_MAX: all): a slow reader reads little. */
void h_drain(h_world *w, h_conn *c, size_t limit);
/* The next frame (drains first), or NULL. */
panp_frame *h_next(h_world *w, h_conn *c);
/* The next frame, which must be of this kind. */
panp_frame *h_expect(h_world *w, h_conn *c, panp_body_kind kind);
/* The next frame must be an Error with this code (and this fatal flag). */
panp_frame *h_expect_error(h_world *w, h_conn *c, panp_error_code code, bool fatal);
void h_expect_none(h_world *w, h_conn *c);
/* The core wants the socket closed (after whatever is queued). */
void h_expect_closing(h_world *w, h_conn *c);
unsigned h_io(h_conn *c);
/* Written out and ending: CORE_IO_DRAINED (half-closed, waiting for the
 * peer's EOF or the flush deadline) or CORE_IO_CLOSE. */
bool h_ending(h_conn *c);

/* Requests with their expected success responses. */
typedef struct h_handle {
    uint8_t b[PANP_HANDLE_MAX_LEN];
    size_t len;
} h_handle;
panp_target h_server(void);
panp_target h_printer(const char *name);
panp_frame h_register_frame(panp_target t, const uint8_t type[16], panp_user_filter uf,
                            panp_style st);
h_handle h_register(h_world *w, h_conn *c, panp_target t, const uint8_t type[16],
                    panp_user_filter uf, panp_style st);
panp_frame h_open_frame(panp_target t, const uint8_t type[16], panp_user_filter uf, panp_style st);
uint64_t h_open(h_world *w, h_conn *c, panp_target t, const uint8_t type[16], panp_user_filter uf,
                panp_style st);
panp_frame h_send_frame(uint64_t chan, const uint8_t type[16], const char *payload);
/* Sends and expects Sent; returns it. */
panp_frame *h_send(h_world *w, h_conn *c, uint64_t chan, const uint8_t type[16], const char *payload);
panp_frame h_reply_frame(uint64_t conv, const uint8_t type[16], const char *payload);
panp_frame h_close_frame(panp_close_side side, uint64_t id, const uint8_t *reason_type,
                         const char *reason_payload);

/* Drains and forgets everything queued for c. */
void h_discard(h_world *w, h_conn *c);

/* A minimal protobuf writer, for frames the codec rightly refuses to
 * encode (NOTIFICATION_RELEASE as a type, UNSPECIFIED enums...): the tests
 * must still see what the broker does when such bytes arrive. */
typedef struct hbuf {
    uint8_t b[8192];
    size_t n;
} hbuf;
void hb_varint(hbuf *h, uint64_t v);
void hb_uint(hbuf *h, uint32_t field, uint64_t v);
void hb_bytes(hbuf *h, uint32_t field, const void *data, size_t len);
void hb_sub(hbuf *h, uint32_t field, const hbuf *inner);
/* Sends Frame{request_id = rid, <body_field> = body} with its prefix. */
void h_raw_request(h_world *w, h_conn *c, uint64_t rid, uint32_t body_field, const hbuf *body);
/* Encodes Register, OpenChannel, Send, Reply or CloseChannel with the
 * minimal writer (default values omitted, nothing validated) and sends it
 * with a fresh request id, which it returns. */
uint64_t h_request_raw(h_world *w, h_conn *c, panp_frame *f);
/* A decoded frame straight into the core, skipping the wire and the
 * validator: checks the core's own defences. */
uint64_t h_inject(h_world *w, h_conn *c, panp_frame *f);

/* f must be refused with code (not fatal) naming field, both when its
 * bytes arrive (validator first, then core) and when injected decoded
 * (the core's own check). */
void h_reject_both(h_world *w, h_conn *c, panp_frame f, panp_error_code code, const char *field);

bool h_bytes_eq(panp_bytes b, const void *data, size_t len);
bool h_payload_is(panp_bytes b, const char *s);
panp_bytes h_b(const h_handle *h);

#endif
