/* client_int.h - libpanp internals shared by its modules.
 *
 * Module map:
 *   conn.c      connection life: connect, handshake, loss, reconnect, timers
 *   io.c        socket reads and writes, frame intake, event-loop hooks
 *   req.c       the request queue: encode, send, match responses, complete
 *   event.c     broker events: Notify, ReplyDelivery, ChannelClosed, ...
 *   obj.c       registrations, channels, conversations: refcounts, closure
 *   listener.c  listener requests      sender.c  sender requests
 *   sync.c      the blocking API on top of the async one
 *   util.c      names, status helpers, well-known types
 */
#ifndef PANP_CLIENT_INT_H
#define PANP_CLIENT_INT_H

#include <stdarg.h>
#include <sys/types.h>

#include "addr.h"
#include "buf.h"
#include "map.h"
#include "panp/client.h"

#define BACKEND PANP_BACKEND_PROTOBUF_C
#define RBUF_SIZE 16384

typedef struct preq preq;
struct ssl_st;
struct ssl_ctx_st;
struct bio_method_st;

/* ---- objects ----------------------------------------------------------- */

typedef enum { OBJ_REG = 1, OBJ_CHAN = 2, OBJ_CONV = 3 } obj_kind;

/* Common head of every object.  References: the application's (reg and
 * channel from creation until unregister/release; conversations only when
 * retained), the library's while the object is live on the wire, one per
 * request naming it, one held across each callback about it, and a
 * conversation's on its registration.  The memory goes at zero. */
typedef struct pobj {
    struct pobj *prev, *next; /* c->objects */
    obj_kind kind;
    int refs;
    bool released;            /* given back by the application: no more callbacks */
    preq *wait_head;          /* requests waiting for the object's broker id */
    preq *wait_tail;
    void *data;
} pobj;

typedef enum {
    REG_PENDING = 1, /* Register sent */
    REG_LIVE,        /* handle valid on this connection */
    REG_WAITING,     /* connection lost; registered again on the next one */
    REG_ENDED        /* unregistered, ended by the broker, or failed */
} reg_state;

struct panp_registration {
    pobj o;
    reg_state state;
    bool rereg; /* the pending Register re-creates it after a reconnect */
    uint8_t handle[PANP_HANDLE_MAX_LEN];
    size_t handle_len;
    uint32_t lease_granted;
    bool auto_renew;
    bool renewing;    /* a Renew (ours or the application's) is on its way */
    int64_t renew_at; /* when the library renews; -1: never */
    /* The parameters, kept to register again after a reconnect. */
    char *printer; /* NULL: server */
    uint8_t type[PANP_UUID_LEN];
    panp_user_filter filter;
    panp_style style;
    uint32_t lease;
    uint8_t cstate[PANP_CLIENT_STATE_MAX];
    size_t cstate_len;
    panp_notify_cb on_notify;
    panp_conv_closed_cb on_closed;
    panp_reg_ended_cb on_ended;
};

typedef enum {
    CH_OPENING = 1, /* OpenChannel sent */
    CH_OPEN,
    CH_CLOSED,      /* closed after being open: on_closed ran or is due */
    CH_FAILED       /* the open failed: never open, no on_closed */
} chan_state;

struct panp_channel {
    pobj o;
    chan_state state;
    bool closing;     /* a CloseChannel is on its way */
    bool closed_told; /* on_closed has run (or was skipped: released) */
    uint64_t id;
    uint8_t type[PANP_UUID_LEN];
    panp_style style;
    panp_reply_cb on_reply;
    panp_chan_closed_cb on_closed;
};

struct panp_conversation {
    pobj o;
    panp_registration *reg; /* referenced */
    uint64_t id;
    uint64_t channel_id;
    uint8_t type[PANP_UUID_LEN];
    bool closed;
    bool closing;
    bool closed_told;
};

/* ---- requests ------------------------------------------------------------ */

typedef enum {
    RQ_PING = 1,
    RQ_REGISTER,
    RQ_RENEW,
    RQ_UNREGISTER,
    RQ_LIST,
    RQ_OPEN,
    RQ_SEND,
    RQ_REPLY,
    RQ_CLOSE_CHAN,
    RQ_CLOSE_CONV
} rq_kind;

struct preq {
    preq *next;
    rq_kind kind;
    uint64_t id;       /* request_id once on the wire */
    int64_t sent_ms;
    panp_done_cb cb;   /* NULL: started by the library itself */
    void *cb_data;
    pobj *obj;         /* referenced; NULL for ping and list */
    bool on_wire;
    /* Inputs kept for requests sent later (deferred, paged, re-sent). */
    pbuf body;         /* payload or reason */
    bool has_reason;
    uint32_t lease;
    panp_target target;
    char *printer;     /* owned copy for target.printer */
    /* Outputs. */
    panp_result res;
    panp_status st;
    panp_reg_list list;
};

/* ---- the context ---------------------------------------------------------- */

typedef enum {
    CS_IDLE = 1,   /* no socket; a reconnect may be scheduled */
    CS_CONNECTING, /* non-blocking connect in progress */
    CS_HANDSHAKE,  /* preface and Hello queued; awaiting preface and Welcome */
    CS_READY,
    CS_DEAD        /* no socket and no retry */
} conn_state;

struct panp_client {
    /* Options (owned copies). */
    char *broker;
    char *token;
    char *session_label;
    char *software;
    uint32_t max_frame;
    int connect_timeout_ms;
    int request_timeout_ms;
    bool reconnect;
    uint32_t backoff_min, backoff_max, backoff;
    panp_conn_cb on_connection;
    void *data;
    paddr addr;
    /* tls: (tls.c) */
    char *tls_ca, *tls_cert, *tls_key, *tls_name;
    uint16_t tls_min;
    bool insecure_token;
    struct ssl_ctx_st *tls_ctx; /* made once per context */
    struct bio_method_st *tls_bio_meth; /* the MSG_NOSIGNAL socket BIO's */
    struct ssl_st *ssl;         /* the current connection's */
    bool tcp_up;                /* connect() finished; tls: the handshake follows */
    bool tls_hs_want_read;      /* the handshake waits for readability (else writability) */
    bool tls_rd_wants_w;        /* SSL_read() waits for writability */
    int tls_verify_error, tls_verify_depth; /* the first certificate check that failed */
    char tls_verify_subject[200];

    bool async;
    bool hooked;
    panp_loop_hooks hooks;
    int armed_fd;
    bool armed_read, armed_write;
    int64_t armed_timer; /* absolute ms, -1 none */

    conn_state state;
    int fd;
    bool ever_up;
    uint64_t gen;           /* bumped at each connection loss */
    int64_t deadline;       /* connect/handshake deadline or reconnect time; -1 none */
    int64_t last_send_ms;
    panp_framer *framer;
    uint8_t rbuf[RBUF_SIZE];
    size_t rpos, rlen;
    pbuf out;               /* bytes for the socket */
    pbuf held;              /* requests made before the first Welcome */
    bool goodbye;           /* the broker said Goodbye */
    panp_status goodbye_st;

    bool have_info;
    panp_session_info info;
    char **info_strings;    /* every string info points at */
    size_t info_nstrings;
    panp_status last_error;

    int64_t renew_due;      /* earliest renew_at of any registration (may be stale-early); -1 */
    uint64_t next_id;
    uint64_t hello_id;      /* request_id of this connection's Hello ([PANP-CLI-6]) */
    preq *pend_head, *pend_tail; /* sent (or held): awaiting their response */
    preq *done_head, *done_tail; /* settled locally: completion not yet run */

    pobj *objects;
    idmap chans;            /* channel_id -> panp_channel (open ones) */
    idmap convs;            /* conversation_id -> panp_conversation (open ones) */

    uint64_t ncalls;        /* application callbacks run so far (panp_poll) */
    const bool *break_on;   /* innermost blocking call's "done": stop reading there */
    int depth;              /* library calls on the stack that may run callbacks */
    bool free_pending;
    bool freeing;
};

/* Public calls accept st == NULL; internally there is always a status. */
#define ST_OR_LOCAL(st)                                                                            \
    panp_status st_local_;                                                                         \
    if (!(st))                                                                                     \
    (st) = &st_local_

/* ---- util.c ---------------------------------------------------------------- */
int64_t now_ms(void);
panp_error_code st_set(panp_status *st, panp_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
panp_error_code st_copy(panp_status *dst, const panp_status *src);
char *xstrdup(const char *s);
bool type_ok(const uint8_t *type, panp_status *st, const char *field);

/* ---- conn.c ---------------------------------------------------------------- */
panp_error_code conn_start(panp_client *c, panp_status *st);
void conn_lost(panp_client *c, const panp_status *why);
void conn_fail(panp_client *c, const panp_status *why, bool permanent);
void conn_lost_code(panp_client *c, panp_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void conn_connected(panp_client *c);
void conn_handshake_frame(panp_client *c, const panp_frame *f);
int64_t conn_next_due(const panp_client *c);
void conn_timer(panp_client *c);
void client_destroy(panp_client *c);

/* ---- tls.c ----------------------------------------------------------------- */
/* The SSL_CTX from the options (client_new); INVALID_ARGUMENT / TLS. */
panp_error_code tls_setup(panp_client *c, panp_status *st);
/* A client SSL on c->fd, with SNI and the name to verify. */
panp_error_code tls_start(panp_client *c, panp_status *st);
/* 1 done, 0 waiting (c->tls_hs_want_read says for what), -1 failed (st). */
int tls_handshake(panp_client *c, panp_status *st);
/* > 0 bytes; 0 would block; -1 failed (st). */
ssize_t tls_send(panp_client *c, const void *buf, size_t len, panp_status *st);
/* > 0 bytes; 0 EOF; -1 would block; -2 failed (st). */
ssize_t tls_recv(panp_client *c, void *buf, size_t len, panp_status *st);
bool tls_pending(const panp_client *c);
void tls_end(panp_client *c);  /* close_notify (best effort), free the SSL */
void tls_free(panp_client *c); /* the context's SSL_CTX and options */

/* ---- io.c ------------------------------------------------------------------ */
void io_write(panp_client *c);
void io_read(panp_client *c);
void io_arm(panp_client *c);
void io_disarm(panp_client *c);
void io_drive(panp_client *c, int wait_ms);
void io_enter(panp_client *c);
void io_leave(panp_client *c);
panp_error_code io_put_frame(panp_client *c, pbuf *dst, const panp_frame *f, panp_status *st);

/* ---- req.c ------------------------------------------------------------------ */
preq *req_new(rq_kind kind, pobj *obj, panp_done_cb cb, void *data);
void req_free(panp_client *c, preq *r);
panp_error_code req_submit_frame(panp_client *c, preq *r, panp_frame *f, panp_status *st);
panp_error_code req_submit(panp_client *c, preq *r, panp_status *st);
void req_settle(panp_client *c, preq *r);
void req_run_done(panp_client *c);
void req_on_response(panp_client *c, const panp_frame *f);
void req_fail_all(panp_client *c, panp_error_code code, const panp_status *why);
void req_wait_on(pobj *o, preq *r);
void req_release_waiting(panp_client *c, pobj *o, panp_error_code code, const char *why);
void req_flush_waiting(panp_client *c, pobj *o);
int64_t req_oldest_ms(const panp_client *c);
bool req_accepting(panp_client *c, panp_status *st);

/* ---- event.c ---------------------------------------------------------------- */
void ev_dispatch(panp_client *c, const panp_frame *f);

/* ---- obj.c ------------------------------------------------------------------ */
void *obj_new(panp_client *c, obj_kind kind, size_t size);
void obj_retain(pobj *o);
void obj_release(panp_client *c, pobj *o);
void obj_free_all(panp_client *c);
void chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info);
void conv_closed(panp_client *c, panp_conversation *cv, const panp_closed_info *info);
void reg_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason why, bool tell);
panp_registration *reg_by_handle(panp_client *c, panp_bytes h);
void objs_connection_lost(panp_client *c, bool retry);
void objs_reregister(panp_client *c);
void reg_frame(const panp_registration *reg, panp_frame *f);
void reg_lease_granted(panp_client *c, panp_registration *reg, uint32_t granted);
void regs_renew_due(panp_client *c, int64_t now);
panp_conversation *conv_new(panp_client *c, panp_registration *reg, const panp_notify *n);

#endif /* PANP_CLIENT_INT_H */
