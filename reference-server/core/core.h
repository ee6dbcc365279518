/* core.h - the panpd routing core: frames in, frames out.
 *
 * A pure state machine.  It has no sockets, no clock and no global state:
 * the event loop (net/) hands it bytes, a monotonic "now" in milliseconds
 * on every call, and a random source for handles, and asks it what each
 * connection has to write.  Everything the protocol decides (who may do
 * what, who receives which notification, when a conversation is won, what
 * happens to a slow listener or a dead peer) happens here, which is what
 * makes it testable with a fake clock and fuzzable from bytes.
 *
 * Life of a connection, seen from the event loop:
 *   conn = core_connect(...)            socket accepted
 *   core_on_bytes(conn, ...)            bytes read
 *   core_conn_io(conn)                  what to wait for: READ / WRITE / CLOSE
 *   core_conn_iov() + core_conn_wrote() writing
 *   core_disconnect(conn, why)          the socket is gone; conn is freed
 * hooks.wake(conn) is called whenever core_conn_io(conn) may have changed
 * (for any connection, not only the one being served); it must not call
 * back into the core.  No function here frees a connection except
 * core_disconnect() and core_free(). */
#ifndef PANPD_CORE_H
#define PANPD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conf.h"
#include "panp/msg.h"

typedef struct core core;
typedef struct core_conn core_conn;

typedef enum {
    CORE_TRANSPORT_UNIX = 1, /* offers EXTERNAL: identity from peer credentials */
    CORE_TRANSPORT_TCP = 2,  /* offers TOKEN */
    CORE_TRANSPORT_TLS = 3   /* offers what its listener is configured for (core_conn_set_offers):
                                EXTERNAL (the verified client certificate), TOKEN, or both */
} core_transport;

/* Hello.auth mechanisms a connection may use (core_conn_set_offers). */
enum { CORE_OFFER_EXTERNAL = 1, CORE_OFFER_TOKEN = 2 };

typedef struct core_peer {
    core_transport transport;
    const char *user;    /* EXTERNAL identity, as the transport proved it; NULL: none */
    const char *address; /* for logs */
    const char *peer_id; /* who, for the per-peer limit on unfinished handshakes
                            ("uid:1000", "127.0.0.1"); NULL: address */
    bool loopback;       /* tcp: the peer address is a loopback address */
} core_peer;

typedef struct core_hooks {
    void *ud;
    /* Fills buf with len unpredictable bytes; 0 on success. */
    int (*random)(void *ud, uint8_t *buf, size_t len);
    void (*wake)(void *ud, core_conn *conn);
    void (*log)(void *ud, log_level level, const char *line);
} core_hooks;

typedef enum {
    CORE_GONE_EOF = 1,      /* orderly close by the peer */
    CORE_GONE_RESET = 2,    /* reset or I/O error */
    CORE_GONE_FLUSHED = 3   /* we closed it after CORE_IO_CLOSE */
} core_gone;

enum {
    CORE_IO_READ = 1,    /* the core wants input */
    CORE_IO_WRITE = 2,   /* the core has output */
    CORE_IO_DRAINED = 4, /* all written, connection ending: shut the sending side and
                            discard input until EOF (CORE_IO_CLOSE comes at the
                            flush deadline at the latest), so a reset does not
                            destroy the last frames before the peer reads them */
    CORE_IO_CLOSE = 8    /* close the socket now */
};

/* The configuration is borrowed and must outlive the core. */
core *core_new(const panpd_config *cfg, const core_hooks *hooks, uint64_t now);
void core_free(core *c);

/* NULL when the core refuses the connection (shutting down, out of memory). */
core_conn *core_connect(core *c, const core_peer *peer, uint64_t now);
void core_on_bytes(core *c, core_conn *conn, const uint8_t *data, size_t len, uint64_t now);
/* A decoded, validated frame, as if its bytes had arrived (tests, fuzzers). */
void core_on_frame(core *c, core_conn *conn, const panp_frame *f, uint64_t now);
/* EOF from the peer: it is gone, but what is queued is still written
 * (SPEC 7.2); core_disconnect() follows when the socket is closed. */
void core_on_eof(core *c, core_conn *conn, uint64_t now);
void core_disconnect(core *c, core_conn *conn, core_gone why, uint64_t now);

/* Leases, keepalive silence, Hello deadline, flush deadline. */
void core_tick(core *c, uint64_t now);
/* When core_tick() next has work; UINT64_MAX: never. */
uint64_t core_next_deadline(const core *c);

/* Closes every channel (SERVER_SHUTDOWN + NOTIFICATION_RELEASE to both
 * sides), says Goodbye to every connection and refuses new ones.  The event
 * loop then flushes and disconnects until core_conn_count() is 0. */
void core_shutdown(core *c, uint64_t now);
size_t core_conn_count(const core *c);

unsigned core_conn_io(const core_conn *conn);
int core_conn_iov(const core_conn *conn, struct iovec *iov, int max);
void core_conn_wrote(core *c, core_conn *conn, size_t n, uint64_t now);
size_t core_conn_queued(const core_conn *conn);

void core_conn_set_data(core_conn *conn, void *data);
/* The EXTERNAL identity proved after core_connect(), as a tls: connection's
 * client certificate is, before its first byte is handed to the core.
 * NULL: none.  0, or -1 when out of memory. */
int core_conn_set_transport_user(core_conn *conn, const char *user);
/* The Hello.auth mechanisms (CORE_OFFER_*) a connection may use, before its
 * first byte: a tls: listener's configuration.  Without this call unix
 * offers EXTERNAL, tcp TOKEN and tls EXTERNAL. */
void core_conn_set_offers(core_conn *conn, unsigned offers);
void *core_conn_data(const core_conn *conn);
uint32_t core_conn_serial(const core_conn *conn);
const char *core_conn_user(const core_conn *conn); /* "" before Hello */

/* Counters for logs, tests and the memory-bound checks. */
typedef struct core_stats {
    size_t conns, registrations, channels, conversations;
    uint64_t notifies_queued, notifies_dropped, notifies_discarded;
    uint64_t slow_consumer_closes;
} core_stats;
void core_get_stats(const core *c, core_stats *st);

#endif
