/* support.h - what the core's unit tests share on top of the harness: a
 * world per test as cmocka fixtures, short names for filters and styles,
 * and request helpers that check their answer.  Each asserts with cmocka,
 * like the harness. */
#ifndef PANPD_TESTS_SUPPORT_H
#define PANPD_TESTS_SUPPORT_H

#include "harness.h"

#define PER PANP_USER_FILTER_PER_USER
#define ALL PANP_USER_FILTER_ALL_USERS
#define BIDI PANP_STYLE_BIDIRECTIONAL
#define UNI PANP_STYLE_UNIDIRECTIONAL

/* Fixtures: *state is a started world with the harness's configuration. */
int world_setup(void **state);
int world_teardown(void **state);
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

/* f must be refused with code, not fatal, answering its own request; and
 * naming field, when field is not NULL. */
panp_frame *req_error(h_world *w, h_conn *c, panp_frame f, panp_error_code code, const char *field);
/* n bytes of c and a NUL, from malloc: the caller frees it. */
char *filled(size_t n, char c);
/* A Ping answered by a Pong: a sign of life, and a barrier. */
void ping(h_world *w, h_conn *c);
/* Takes the Registered of a request the test built itself. */
h_handle registered(h_world *w, h_conn *c, panp_frame f);

/* The next frame on c is this event (payload NULL: not checked). */
panp_frame *expect_notify(h_world *w, h_conn *c, uint64_t chan, uint64_t seq, const char *payload);
/* A ChannelClosed of chan for this reason; for PEER_GONE and
 * SERVER_SHUTDOWN, with NOTIFICATION_RELEASE as its type. */
panp_frame *expect_closed(h_world *w, h_conn *c, uint64_t chan, panp_close_reason why);
/* The same, which must also carry no payload. */
void expect_release(h_world *w, h_conn *c, uint64_t chan, panp_close_reason why);

/* CloseChannel answered (with anything) on the same request. */
panp_frame *close_req(h_world *w, h_conn *c, panp_close_side side, uint64_t id, const uint8_t *rtype,
                      const char *rpayload);
void expect_outcome(panp_frame *r, panp_close_outcome o);

/* A sender and a listener of `style` on the server target, both "alice",
 * and a channel of that style open between them. */
typedef struct pair {
    h_conn *s, *l;
    h_handle h; /* the listener's registration */
    uint64_t ch;
    uint64_t conv; /* after ask(): the conversation of its question */
} pair;
pair pair_up(h_world *w, panp_style style);
/* pair_up(), then "q" sent and its Notify taken. */
pair ask(h_world *w, panp_style style);

/* A sender and two listeners, all "alice" and connected in that order,
 * the listeners registered with `style` on the server target; no channel
 * yet.  small: the first listener announces a 4096-byte max_frame_size. */
typedef struct trio {
    h_conn *s, *l1, *l2;
    h_handle h1, h2;
} trio;
trio trio_up(h_world *w, panp_style style, bool small);

#endif
