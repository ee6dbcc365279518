/* panp/client.h - libpanp, the panp client library.
 *
 * One context (panp_client) is one connection to a broker.  It serves
 * listeners (register, receive Notify, reply, close) and senders (open a
 * channel, send, receive replies, close) at the same time.
 *
 * Two ways to drive it, as in hiredis:
 *   - blocking: panp_connect(); each request (panp_register_listener(), panp_channel_send(),
 *     ...) waits for its response, and events that arrive meanwhile are
 *     dispatched to their callbacks.  panp_poll() waits for events alone.
 *   - event loop: panp_async_connect() plus panp_async_attach() with hooks
 *     (adapters/libevent.h, adapters/poll.h); requests (panp_async_*) return
 *     at once and report through a completion callback.
 * Async requests may also be used on a blocking context: their completions
 * run inside the next panp_poll() or blocking call.
 *
 * Errors are values: every call returns a panp_error_code (PANP_OK is 0)
 * and fills the panp_status it is given (may be NULL) with a message.
 * Codes below PANP_ERR_LOCAL_BASE (1000, panp/msg.h) are the wire's
 * ErrorCode values, as the broker sent them; codes from it on are the
 * library's own (PANP_ERR_IO, ...), never sent or received.
 *
 * Threads.  There is no global state: contexts are independent.  A context
 * and every object it hands out are used by one thread at a time; calls
 * from several threads need the caller's own lock around all of them.
 *
 * Callbacks run on the thread that drives the context, from inside
 * panp_poll(), a blocking request, or panp_async_on_*().  Inside any
 * callback you may:
 *   - make requests, blocking or async, including panp_channel_close(),
 *     panp_conversation_close(), panp_conversation_reply() and panp_unregister_listener() on the
 *     very channel, conversation or registration the callback is about
 *     (objects are kept alive across the callback);
 *   - release objects (panp_channel_release(), panp_conversation_release());
 *   - call panp_free_deferred(): the context is freed when the outermost
 *     library call on the stack returns.  Do not touch it after that call.
 * You must not call panp_free() from a callback (if you do, it behaves as
 * panp_free_deferred()).  A blocking request inside a callback dispatches
 * further events before it returns, so callbacks may nest.
 *
 * Completions.  An async request that returns an error never calls its
 * callback.  One that returns PANP_OK calls it exactly once: with the
 * broker's answer, with PANP_ERR_DISCONNECTED if the connection is lost
 * first, or when the context is freed.  A completion the library can give
 * without asking the broker (closing a channel that is already closed) is
 * never called from inside the request call itself, and may run before the
 * completions of earlier requests.
 *
 * Closing races (seed 001) are settled here, not by the caller:
 *   - on_closed is called exactly once for every channel whose open
 *     succeeded and for every conversation a Notify showed you, whatever
 *     ended it: the peer, the broker, the connection, or your own close;
 *   - closing something that is already closed, that another listener
 *     acquired, or (listener) withdrawing from an unanswered question all
 *     succeed, with a panp_close_result saying which happened;
 *   - objects stay valid until you release them, even after on_closed.
 */
#ifndef PANP_CLIENT_H
#define PANP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"
#include "panp/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PANP_CLIENT_VERSION "0.1.0"
#define PANP_DEFAULT_BROKER "unix:./run/panpd.sock"

/* ---- error codes ------------------------------------------------------ */

#define PANP_OK PANP_ERR_UNSPECIFIED
/* The library's own codes, in the range msg.h reserves (PANP_ERR_LOCAL_BASE
 * and up: never on the wire). */
#define PANP_ERR_CLIENT_BASE PANP_ERR_LOCAL_BASE
/* A socket call failed (the message says which and why). */
#define PANP_ERR_IO ((panp_error_code)(PANP_ERR_LOCAL_BASE + 1))
/* The broker could not be reached (no socket, refused, unresolvable). */
#define PANP_ERR_CONNECT ((panp_error_code)(PANP_ERR_LOCAL_BASE + 2))
/* The broker did not answer in time; the connection is dropped. */
#define PANP_ERR_TIMEOUT ((panp_error_code)(PANP_ERR_LOCAL_BASE + 3))
/* No connection: lost, not up yet, or the context is being freed. */
#define PANP_ERR_DISCONNECTED ((panp_error_code)(PANP_ERR_LOCAL_BASE + 4))
#define PANP_ERR_NOMEM ((panp_error_code)(PANP_ERR_LOCAL_BASE + 5))
/* tls: failed: the TLS handshake, the broker's certificate (untrusted,
 * expired, for another name), or the broker refused ours.  The message
 * says which. */
#define PANP_ERR_TLS ((panp_error_code)(PANP_ERR_LOCAL_BASE + 6))

/* A name for every code, wire or local: "CHANNEL_ALREADY_CLOSED", "IO"
 * (panp_error_code_name() calls every local code "LOCAL"). */
const char *panp_strerror(panp_error_code code);

/* ---- objects ------------------------------------------------------------ */

typedef struct panp_client panp_client;
typedef struct panp_registration panp_registration; /* listener: one Register */
typedef struct panp_channel panp_channel;           /* sender: one OpenChannel */
typedef struct panp_conversation panp_conversation; /* listener: one side of a bidi channel */

/* How a channel or conversation ended, given to on_closed. */
typedef struct panp_closed_info {
    uint64_t channel_id;
    uint64_t conversation_id;    /* 0 on the sender side and for unidirectional */
    panp_close_reason reason;    /* unknown future values are passed through */
    bool by_self;                /* your own close (or withdraw) ended it */
    bool connection_lost;        /* the library lost the broker (reason PEER_GONE) */
    bool release;                /* the type is NOTIFICATION_RELEASE */
    bool has_reason;             /* the closer attached a reason notification */
    panp_bytes notification_type;/* as sent; empty when none */
    panp_bytes payload;          /* the closer's reason payload, if any */
} panp_closed_info;

/* Registration ends the library reports beside the broker's reasons, in
 * the range msg.h reserves for them (PANP_REG_END_LOCAL_BASE and up). */
#define PANP_REG_END_DISCONNECTED ((panp_reg_end_reason)(PANP_REG_END_LOCAL_BASE + 1)) /* connection lost, no reconnect */
#define PANP_REG_END_REREGISTER_FAILED ((panp_reg_end_reason)(PANP_REG_END_LOCAL_BASE + 2)) /* refused after a reconnect */

/* Listener callbacks.  `cv` is NULL for unidirectional registrations (for
 * them on_closed reports the channel by info->channel_id).  `data` is the
 * registration's data. */
typedef void (*panp_notify_cb)(panp_client *c, panp_registration *reg, panp_conversation *cv,
                               const panp_notify *n, void *data);
typedef void (*panp_conv_closed_cb)(panp_client *c, panp_registration *reg, panp_conversation *cv,
                                    const panp_closed_info *info, void *data);
typedef void (*panp_reg_ended_cb)(panp_client *c, panp_registration *reg,
                                  panp_reg_end_reason reason, void *data);

/* Sender callbacks; `data` is the channel's data. */
typedef void (*panp_reply_cb)(panp_client *c, panp_channel *ch, const panp_reply_delivery *r,
                              void *data);
typedef void (*panp_chan_closed_cb)(panp_client *c, panp_channel *ch,
                                    const panp_closed_info *info, void *data);

/* ---- connecting --------------------------------------------------------- */

typedef enum {
    PANP_CONN_UP = 1,       /* Welcome received for the first time */
    PANP_CONN_RESTORED = 2, /* up again after a loss; registrations are being renewed */
    PANP_CONN_LOST = 3,     /* lost; a reconnect is scheduled */
    PANP_CONN_DEAD = 4      /* lost for good; every later request fails */
} panp_conn_event;

typedef void (*panp_conn_cb)(panp_client *c, panp_conn_event ev, const panp_status *why,
                             void *data);

/* Zero-initialised options are the defaults. */
typedef struct panp_options {
    const char *broker;         /* "unix:PATH", "tcp:HOST:PORT" or "tls:HOST:PORT";
                                   NULL: PANP_DEFAULT_BROKER */
    const char *token;          /* NULL: EXTERNAL auth (transport identity); else TOKEN */
    const char *session_label;  /* narrows delivery to this login session; NULL: none */
    const char *software;       /* NULL: "libpanp/" PANP_CLIENT_VERSION */
    uint32_t max_frame_size;    /* largest frame we accept; 0: 65536 */
    int connect_timeout_ms;     /* 0: 10000 */
    int request_timeout_ms;     /* 0: 30000; < 0: wait forever */
    /* Reconnect after a loss, with a delay doubling from reconnect_min_ms
     * to reconnect_max_ms.  Channels and conversations still end (on_closed
     * with PEER_GONE, connection_lost), requests made while disconnected
     * fail with PANP_ERR_DISCONNECTED, but registrations are kept: they are
     * registered again, with new handles, once the next Welcome arrives
     * (PANP_CONN_LOST says they are down meanwhile).  Without reconnect a
     * loss ends every registration (on_ended, PANP_REG_END_DISCONNECTED). */
    bool reconnect;
    uint32_t reconnect_min_ms;  /* first retry delay; 0: 1000 (MS-PAN) */
    uint32_t reconnect_max_ms;  /* cap of the doubling delay; 0: 60000 (MS-PAN) */
    panp_conn_cb on_connection; /* may be NULL */
    void *data;                 /* passed to on_connection; panp_data() */
    /* tls: brokers (SPEC 4.4).  TLS 1.3, ALPN "panp/1".  The broker's
     * certificate must chain to tls_ca_file (NULL: the system's trust
     * store) and carry the broker's name: the address's HOST, or
     * tls_server_name when set (sent as SNI unless it is an IP address).
     * With a client certificate, EXTERNAL (token NULL) is the identity the
     * broker maps from it.  Ignored for unix: and tcp: addresses. */
    const char *tls_ca_file;     /* PEM trust anchors for the broker's certificate */
    const char *tls_cert_file;   /* PEM client certificate (chain); NULL: none */
    const char *tls_key_file;    /* its PEM private key; NULL: in tls_cert_file */
    const char *tls_server_name; /* the name to verify instead of HOST */
    uint16_t tls_min_version;    /* 0: TLS 1.3; 0x0303 also accepts TLS 1.2 */
    /* A token never goes over plain tcp to an address that is not a
     * loopback address (SPEC SEC-10): the connect fails with
     * PANP_ERR_INVALID_ARGUMENT.  true sends it anyway, in clear text. */
    bool insecure_plaintext_token;
} panp_options;

/* Blocking: connects, exchanges preface, Hello and Welcome, then returns.
 * A refusal by the broker returns its code (UNAUTHENTICATED, ...) with its
 * message.  *out is NULL on failure. */
panp_error_code panp_connect(const panp_options *opt, panp_client **out, panp_status *st);

/* Event loop: starts connecting and returns.  Attach hooks next; requests
 * made before the Welcome are held and sent after it. */
panp_error_code panp_async_connect(const panp_options *opt, panp_client **out, panp_status *st);

/* Says Goodbye, closes the socket, calls pending completions with
 * PANP_ERR_DISCONNECTED and frees every object of the context (all
 * registration, channel and conversation pointers become invalid).  From a
 * callback use panp_free_deferred(). */
void panp_free(panp_client *c);
void panp_free_deferred(panp_client *c);

/* What the broker told us in its Welcome; NULL before the first one. */
typedef struct panp_session_info {
    uint32_t version;
    const char *server_software;
    const char *server_name;
    panp_limits limits;
    const char *user;               /* who the broker says we are */
    bool server_admin;
    bool may_open_channels;
    bool trusted;
    const char *const *admin_printers;
    size_t admin_printers_count;
} panp_session_info;

const panp_session_info *panp_session(const panp_client *c);
bool panp_is_connected(const panp_client *c);
int panp_fd(const panp_client *c); /* -1 when there is no socket */
void *panp_data(const panp_client *c);
/* Why the connection was last lost or refused (code PANP_OK if never). */
const panp_status *panp_last_error(const panp_client *c);

/* ---- driving a blocking context ------------------------------------------ */

/* Waits up to timeout_ms (< 0: forever) for events, dispatches them, keeps
 * the connection alive and reconnects; returns after the first batch of
 * callbacks or when the time is up.  PANP_ERR_DISCONNECTED once the
 * connection is dead for good. */
panp_error_code panp_poll(panp_client *c, int timeout_ms, panp_status *st);

/* Barrier: a Ping whose Pong proves the broker processed everything sent
 * before it. */
panp_error_code panp_sync(panp_client *c, panp_status *st);

/* A blocking call returns as soon as its own answer is in; frames that
 * arrived behind it stay buffered for the next call, so callbacks see the
 * wire order.  If you wait on panp_fd() in your own poll(), call
 * panp_poll(c, 0, ...) while this is true before you sleep. */
bool panp_pending(const panp_client *c);

/* ---- driving an async context from an event loop ------------------------- */

/* The library tells the loop what to wait for.  fd may change across
 * reconnects: the library removes interest in the old fd (del_*) before it
 * closes it.  set_timer(ms) replaces any earlier timer; ms < 0 cancels it.
 * cleanup runs once, when the context is freed. */
typedef struct panp_loop_hooks {
    void *data;
    void (*add_read)(void *data, int fd);
    void (*del_read)(void *data, int fd);
    void (*add_write)(void *data, int fd);
    void (*del_write)(void *data, int fd);
    void (*set_timer)(void *data, int ms);
    void (*cleanup)(void *data);
} panp_loop_hooks;

panp_error_code panp_async_attach(panp_client *c, const panp_loop_hooks *hooks, panp_status *st);

/* The loop calls these when the fd is readable/writable or the timer fired. */
void panp_async_on_readable(panp_client *c);
void panp_async_on_writable(panp_client *c);
void panp_async_on_timer(panp_client *c);

/* ---- request results ----------------------------------------------------- */

typedef enum {
    PANP_CLOSE_RESULT_NONE = 0,
    PANP_CLOSE_RESULT_CLOSED = 1,              /* this close ended it */
    PANP_CLOSE_RESULT_WITHDRAWN = 2,           /* listener left an unanswered question */
    PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER = 3, /* another listener had answered */
    PANP_CLOSE_RESULT_ALREADY_CLOSED = 4       /* it had ended already; on_closed said why */
} panp_close_result;

const char *panp_close_result_name(panp_close_result r);

/* One ListRegistrations entry (owned copies). */
typedef struct panp_reg_entry {
    uint8_t handle[PANP_HANDLE_MAX_LEN];
    size_t handle_len;                /* 0: not one of ours */
    panp_registration *registration;  /* ours on this context, else NULL */
    char *user;
    panp_target_kind target_kind;     /* SERVER or PRINTER */
    char *printer;                    /* PRINTER only */
    uint8_t type[PANP_UUID_LEN];
    panp_user_filter user_filter;
    panp_style style;
    uint32_t lease_remaining_seconds;
} panp_reg_entry;

typedef struct panp_reg_list {
    panp_reg_entry *entries;
    size_t count;
    uint32_t total;
} panp_reg_list;

void panp_reg_list_free(panp_reg_list *l);

typedef struct panp_result {
    panp_error_code code;            /* PANP_OK or why it failed */
    const panp_status *status;       /* never NULL */
    panp_registration *registration; /* register, renew, unregister */
    panp_channel *channel;           /* open, send, channel close */
    panp_conversation *conversation; /* reply, conversation close */
    uint32_t lease_seconds;          /* register, renew: granted */
    uint64_t sequence;               /* send */
    uint32_t recipients;             /* send: 0 means no listeners (still success) */
    panp_close_result close;         /* close */
    const panp_reg_list *list;       /* list: valid during the callback */
} panp_result;

typedef void (*panp_done_cb)(panp_client *c, const panp_result *r, void *data);

/* ---- listeners ------------------------------------------------------------ */

typedef struct panp_register_params {
    const char *printer;           /* NULL: the print server itself */
    const uint8_t *type;           /* 16-byte notification type (required) */
    panp_user_filter user_filter;  /* 0: PER_USER */
    panp_style style;              /* 0: UNIDIRECTIONAL */
    uint32_t lease_seconds;        /* 0: none asked for (the broker may still grant its cap) */
    bool no_auto_renew;            /* the library renews a granted lease at half-life unless set */
    const void *client_state;      /* up to 128 bytes echoed in every Notify */
    size_t client_state_len;
    panp_notify_cb on_notify;
    panp_conv_closed_cb on_closed;
    panp_reg_ended_cb on_ended;
    void *data;
} panp_register_params;

/* A granted lease is renewed at half-life by the library ([PANP-LEASE-8]),
 * asking for lease_seconds again, unless no_auto_renew is set.
 * The registration object belongs to you until panp_unregister_listener(), which
 * always succeeds for a registration that already ended.  After an
 * unregister no Notify of the registration reaches you, except on
 * conversations you already hold, which continue until closed. */
panp_error_code panp_register_listener(panp_client *c, const panp_register_params *p,
                              panp_registration **out, panp_status *st);
panp_error_code panp_renew_registration(panp_client *c, panp_registration *reg,
                                        uint32_t lease_seconds, uint32_t *granted, panp_status *st);
panp_error_code panp_unregister_listener(panp_client *c, panp_registration *reg, panp_status *st);
/* target NULL: our own registrations on every target.  Pages through the
 * whole listing; free *out with panp_reg_list_free(). */
panp_error_code panp_get_registrations(panp_client *c, const panp_target *target,
                                        panp_reg_list *out, panp_status *st);
/* Answer the current question of a bidirectional conversation. */
panp_error_code panp_conversation_reply(panp_client *c, panp_conversation *cv, const void *payload,
                           size_t len, panp_status *st);
/* With a reason (reason non-NULL, even if reason_len is 0): the answer that
 * closes it.  Without: withdraw if unanswered, else close. */
panp_error_code panp_conversation_close(panp_client *c, panp_conversation *cv, const void *reason,
                                        size_t reason_len, panp_close_result *result,
                                        panp_status *st);

panp_error_code panp_async_register_listener(panp_client *c, const panp_register_params *p,
                                    panp_registration **out, panp_done_cb cb, void *data,
                                    panp_status *st);
panp_error_code panp_async_renew_registration(panp_client *c, panp_registration *reg,
                                              uint32_t lease_seconds, panp_done_cb cb, void *data,
                                              panp_status *st);
panp_error_code panp_async_unregister_listener(panp_client *c, panp_registration *reg,
                                               panp_done_cb cb,
                                      void *data, panp_status *st);
panp_error_code panp_async_get_registrations(panp_client *c, const panp_target *target,
                                             panp_done_cb cb, void *data, panp_status *st);
panp_error_code panp_async_conversation_reply(panp_client *c, panp_conversation *cv,
                                              const void *payload,
                                 size_t len, panp_done_cb cb, void *data, panp_status *st);
panp_error_code panp_async_conversation_close(panp_client *c, panp_conversation *cv,
                                              const void *reason, size_t reason_len,
                                              panp_done_cb cb, void *data, panp_status *st);
panp_error_code panp_async_sync(panp_client *c, panp_done_cb cb, void *data, panp_status *st);

void *panp_registration_data(const panp_registration *reg);
void panp_registration_set_data(panp_registration *reg, void *data);
panp_bytes panp_registration_handle(const panp_registration *reg); /* empty unless live */
uint32_t panp_registration_lease(const panp_registration *reg);    /* granted seconds */
bool panp_registration_is_live(const panp_registration *reg);

/* A conversation is valid until its on_closed callback returns; retain it
 * to keep it longer, and release what you retained. */
void panp_conversation_retain(panp_conversation *cv);
void panp_conversation_release(panp_client *c, panp_conversation *cv);
uint64_t panp_conversation_id(const panp_conversation *cv);
uint64_t panp_conversation_channel_id(const panp_conversation *cv);
panp_registration *panp_conversation_registration(const panp_conversation *cv);
bool panp_conversation_is_closed(const panp_conversation *cv);
void panp_conversation_set_data(panp_conversation *cv, void *data);
void *panp_conversation_data(const panp_conversation *cv);

/* ---- senders -------------------------------------------------------------- */

typedef struct panp_channel_params {
    const char *printer;                  /* NULL: the print server itself */
    const uint8_t *type;                  /* 16-byte notification type (required) */
    panp_user_filter user_filter;         /* 0: PER_USER */
    panp_style style;                     /* 0: UNIDIRECTIONAL */
    const panp_job_context *on_behalf_of; /* trusted openers only; NULL: none */
    panp_reply_cb on_reply;
    panp_chan_closed_cb on_closed;
    void *data;
} panp_channel_params;

/* The channel object is yours until panp_channel_release(), whatever
 * happens to the channel itself. */
panp_error_code panp_channel_open(panp_client *c, const panp_channel_params *p,
                                  panp_channel **out, panp_status *st);
/* The notification type is the channel's own.  out may be NULL. */
panp_error_code panp_channel_send(panp_client *c, panp_channel *ch, const void *payload, size_t len,
                          panp_sent *out, panp_status *st);
panp_error_code panp_channel_close(panp_client *c, panp_channel *ch, const void *reason,
                                   size_t reason_len, panp_close_result *result, panp_status *st);

/* Async open returns the channel at once; sends and closes made before it
 * is open wait for the broker's ChannelOpened and then go out in order. */
panp_error_code panp_async_channel_open(panp_client *c, const panp_channel_params *p,
                                        panp_channel **out, panp_done_cb cb, void *data,
                                        panp_status *st);
panp_error_code panp_async_channel_send(panp_client *c, panp_channel *ch, const void *payload,
                                size_t len, panp_done_cb cb, void *data, panp_status *st);
panp_error_code panp_async_channel_close(panp_client *c, panp_channel *ch, const void *reason,
                                         size_t reason_len, panp_done_cb cb, void *data,
                                         panp_status *st);

/* Gives the channel back.  A channel still open is closed (no reason) and
 * no callback of it runs any more; pending completions still run. */
void panp_channel_release(panp_client *c, panp_channel *ch);
uint64_t panp_channel_id(const panp_channel *ch); /* 0 until opened */
bool panp_channel_is_open(const panp_channel *ch);
bool panp_channel_is_closed(const panp_channel *ch);
void *panp_channel_data(const panp_channel *ch);
void panp_channel_set_data(panp_channel *ch, void *data);

/* ---- well-known types ------------------------------------------------------ */

/* "release", "async-ui", "printer-configuration", "port-monitor" or a UUID
 * in text form -> 16 bytes.  false if it is neither. */
bool panp_type_parse(const char *text, uint8_t out[PANP_UUID_LEN]);
/* The well-known name of a type, or NULL. */
const char *panp_type_name(const uint8_t type[PANP_UUID_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* PANP_CLIENT_H */
