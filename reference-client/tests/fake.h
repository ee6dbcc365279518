/* fake.h - a scripted fake broker for libpanp's tests.
 *
 * It listens on a Unix socket in a temporary directory and serves one
 * connection at a time from its own thread, speaking the server side of
 * panp with the real codec.  Every frame it receives goes first to the
 * test's handler; what the handler does not take gets a plausible default
 * answer (Registered, ChannelOpened, Sent, Pong, ...).  So a test scripts
 * only what it is about: a ChannelClosed crossing a close, a wrong
 * request_id, silence, a Goodbye. */
#ifndef PANP_CLIENT_TESTS_FAKE_H
#define PANP_CLIENT_TESTS_FAKE_H

#include <stdbool.h>

#include "panp/client.h"

typedef struct fake fake;

/* Return true when you answered f yourself (or want it unanswered). */
typedef bool (*fake_handler)(fake *fb, const panp_frame *f, void *user);

typedef struct fake_config {
    fake_handler handler;
    panp_body_kind on;           /* the handler sees only frames of this kind (NONE: all) */
    void *user;
    panp_limits limits;          /* zero fields take the protocol defaults */
    const char *user_name;       /* identity in the Welcome; default "tester" */
    panp_error_code refuse;      /* non-zero: answer Hello with this fatal Error */
} fake_config;

fake *fake_start(const fake_config *cfg);
void fake_stop(fake *fb);
const char *fake_address(const fake *fb); /* "unix:/tmp/.../broker.sock" */

/* Thread-safe: from the handler or the test thread. */
void fake_send(fake *fb, const panp_frame *f);
/* Two frames in one write, so the client reads them together. */
void fake_send2(fake *fb, const panp_frame *a, const panp_frame *b);
/* The default answer for a request (what the fake does unhandled). */
void fake_default(fake *fb, const panp_frame *f);
/* Ends the current connection abruptly (peer death seen by the client). */
void fake_drop(fake *fb);
/* Stops/starts accepting (a broker that is down). */
void fake_pause(fake *fb, bool paused);

/* What it has seen, for assertions. */
int fake_count(fake *fb, panp_body_kind kind); /* frames received of a kind */
int fake_connections(fake *fb);                /* connections accepted */
bool fake_last_close(fake *fb, bool *has_reason); /* last CloseChannel seen */

/* Waits (polling) up to ms for fake_count(kind) >= n. */
bool fake_wait_count(fake *fb, panp_body_kind kind, int n, int ms);

/* Small builders for events and answers. */
panp_frame fake_notify(const uint8_t handle[16], uint64_t channel, uint64_t conv, uint64_t seq,
                       const char *payload);
panp_frame fake_closed(uint64_t channel, uint64_t conv, const uint8_t *handle,
                       panp_close_reason why);
panp_frame fake_error(uint64_t request_id, panp_error_code code, bool fatal);

/* The handle the fake gives the n-th Register (1-based) of the run. */
void fake_handle(int n, uint8_t out[16]);

#endif
