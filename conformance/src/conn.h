/* conn.h - one client connection to the broker under test, as a case uses it.
 *
 * Every byte in or out is logged to the case transcript.  Frames the broker
 * sends are decoded strictly (the codec's client-side validator), checked to
 * be canonical (re-encoding gives the same bytes), checked against the
 * request order, and kept until the case ends; the await functions pick the
 * first not-yet-consumed frame that matches and leave the others for later,
 * so events interleaved with responses never get lost.
 *
 * While any await is in progress every connection of the case is read
 * (a socket nobody reads would stall the broker), except those paused on
 * purpose, and connections past Welcome send a Ping whenever they have
 * been quiet for half the broker's keepalive interval (their Pongs are
 * consumed silently), except those made silent on purpose. */
#ifndef PC_CONN_H
#define PC_CONN_H

#include "harness.h"

typedef struct pc_rx {
    panp_frame *f;
    int64_t t_us;
    bool used;
} pc_rx;

#define PC_MAX_PENDING 4096

/* What the harness remembers of one (channel, registration) stream of
 * Notify frames, to check ordering and silence after ChannelClosed. */
typedef struct pc_flow {
    uint64_t chan;
    uint8_t reg[PANP_HANDLE_MAX_LEN];
    size_t reglen;
    uint64_t last_seq;
    bool closed;
} pc_flow;
#define PC_KEEPALIVE_RID_BASE ((uint64_t)1 << 62)

typedef struct pc_conn {
    pc_t *t;
    char label[64];
    const pc_identity *id;
    pc_addr_kind kind;        /* the binding it was reached by */
    int fd;
    /* inbound */
    panp_framer *framer;
    uint8_t *rbuf;            /* PC_READ_CHUNK bytes, kept: a failing check unwinds from inside a read */
    uint8_t preface[PANP_PREFACE_LEN];
    size_t preface_got;
    pc_rx *rx;
    size_t nrx, caprx;
    size_t first_unused;      /* scan start: everything before it is used */
    uint64_t bytes_in;
    /* outbound */
    uint8_t *out;
    size_t outlen, outcap, outoff;
    bool write_failed;
    int write_errno;
    int64_t last_tx_us;
    /* requests in flight, oldest first: responses must come in this order */
    uint64_t pending[PC_MAX_PENDING];
    size_t npending;
    uint64_t next_rid;
    uint64_t next_ka_rid;
    bool raw_sent;            /* raw bytes went out: request ids unknown */
    pc_flow *flows;
    size_t nflows, capflows;
    /* client-side mode: requests of the client not yet answered */
    uint64_t client_pending[PC_MAX_PENDING];
    size_t nclient_pending;
    /* state */
    bool as_broker;           /* client-side mode: the suite is the broker here */
    bool sent_preface;
    bool eof;
    bool reset;               /* the broker reset the connection */
    int64_t eof_us;
    bool closed_by_us;
    bool paused;              /* not read: a slow consumer */
    bool keepalive;           /* Ping when idle */
    bool check_order;         /* response order checked on receipt */
    size_t barrier_idx;       /* rx index of the last barrier's Pong */
    const panp_frame *welcome;
    panp_limits limits;       /* from Welcome, or defaults */
} pc_conn;

void pc_conn_free(pc_conn *c); /* the runner's, at the end of a case */

/* ---- opening --------------------------------------------------------- */
typedef struct pc_hello_opts {
    uint32_t min_version, max_version;  /* 0: 1 */
    int auth;                           /* 0: from the transport; -1: leave unset */
    const char *token;                  /* NULL: the identity's */
    const char *session_label;
    uint32_t max_frame_size;
    int rcvbuf;                         /* >0: small socket receive buffer */
} pc_hello_opts;

/* Wraps a socket the suite accepted while playing the broker: frames
 * received are checked as a broker checks them, no keepalive, no response
 * bookkeeping (the peer sends requests). */
pc_conn *pc_conn_adopt(pc_t *t, int fd, const char *label);

/* Socket only (no preface, nothing sent). */
pc_conn *pc_dial_as(pc_t *t, const pc_identity *id, const char *label, int rcvbuf);
/* The same to another address of the broker (its tcp_address, tls_address),
 * with dial options (source address, TLS probes); the identity's
 * credentials (uid, client certificate, the profile's tls_ca) are filled in
 * where o leaves them unset.  pc_try_dial_at returns NULL with the reason
 * instead of an ERROR. */
pc_conn *pc_dial_at(pc_t *t, const pc_addr *a, const pc_identity *id, const char *label, const pc_dial_opts *o);
pc_conn *pc_try_dial_at(pc_t *t, const pc_addr *a, const pc_identity *id, const char *label, const pc_dial_opts *o,
                        char *err, size_t errlen);
/* Does a Hello on c authenticate with TOKEN (tcp, and tls where the
 * profile says the listener offers only TOKEN)? */
bool pc_conn_token_auth(const pc_conn *c);
/* Preface, Hello, and the broker's preface + Welcome; FAIL otherwise. */
pc_conn *pc_connect(pc_t *t, const pc_identity *id, const char *label);
pc_conn *pc_connect_opts(pc_t *t, const pc_identity *id, const char *label, const pc_hello_opts *o);
/* Sends the preface and a Hello built from o; returns its request id. */
uint64_t pc_send_hello(pc_conn *c, const pc_hello_opts *o);
/* Waits for the broker's preface and the response to the Hello. */
const panp_frame *pc_await_hello_response(pc_conn *c, uint64_t rid);

/* ---- sending --------------------------------------------------------- */
/* Assigns a request id (when f->request_id is 0), queues the frame and
 * returns the id.  request_id_zero: send it with id 0 on purpose. */
uint64_t pc_req(pc_conn *c, panp_frame *f);
void pc_send(pc_conn *c, const panp_frame *f);       /* as is, no id assigned */
void pc_send_raw(pc_conn *c, const void *p, size_t n, const char *what);
void pc_send_pbw(pc_conn *c, const pbw *frame, const char *what); /* adds the length prefix */
/* A hand-built request: adds the prefix and expects a response to rid
 * (rid 0: the response, an Error, carries 0 too). */
void pc_send_pbw_req(pc_conn *c, const pbw *frame, uint64_t rid, const char *what);
/* Sends whatever is queued; false when the broker closed first. */
bool pc_flush(pc_conn *c);
/* Marks a request id sent inside raw bytes as expecting a response. */
void pc_expect_rid(pc_conn *c, uint64_t rid);

/* ---- waiting --------------------------------------------------------- */
typedef bool (*pc_match_fn)(const panp_frame *f, const void *arg);

/* The first unconsumed frame matching m (NULL m: any), marked consumed.
 * FAIL (citing req) when the connection closes or timeout_ms passes
 * first; timeout_ms < 0 means pc_wait_ms(). */
const panp_frame *pc_await(pc_conn *c, pc_match_fn m, const void *arg, int timeout_ms, const char *req,
                           const char *what);
/* Like pc_await but returns NULL instead of failing. */
const panp_frame *pc_try_await(pc_conn *c, pc_match_fn m, const void *arg, int timeout_ms);
/* The response to request rid (any body, Error included). */
const panp_frame *pc_response(pc_conn *c, uint64_t rid, const char *req);
/* The first unconsumed frame matching m, already received, or NULL. */
const panp_frame *pc_peek(pc_conn *c, pc_match_fn m, const void *arg);
/* Ping/Pong barrier: on return the broker has processed everything sent
 * on c before it, and every frame it produced for c before the Pong has
 * been received. */
void pc_barrier(pc_conn *c, const char *req);
/* After a barrier: FAIL if an unconsumed frame matching m is waiting. */
void pc_assert_none(pc_conn *c, pc_match_fn m, const void *arg, const char *req, const char *what);
/* Waits until the broker closes the connection; frames before the close
 * stay available.  FAIL when it does not within timeout_ms (<0: default). */
void pc_await_eof(pc_conn *c, int timeout_ms, const char *req, const char *what);
bool pc_try_await_eof(pc_conn *c, int timeout_ms);
/* Pumps every connection of the case until pred(arg) or timeout. */
bool pc_wait_for(pc_t *t, bool (*pred)(void *arg), void *arg, int timeout_ms);
/* The first frame received on c matching m, consumed or not (NULL: none). */
const panp_frame *pc_find_received(const pc_conn *c, pc_match_fn m, const void *arg);
/* Position of a received frame on its connection (SIZE_MAX: not found). */
size_t pc_rx_index(const pc_conn *c, const panp_frame *f);
/* Frees the payloads of consumed frames (bulk tests). */
void pc_forget_used(pc_conn *c);

/* ---- closing --------------------------------------------------------- */
void pc_close(pc_conn *c);     /* orderly close (FIN) */
void pc_abort(pc_conn *c);     /* TCP reset where possible (SO_LINGER 0) */
void pc_silence(pc_conn *c);   /* stop keepalive Pings; keep reading */
void pc_pause(pc_conn *c, bool paused); /* stop / resume reading */

/* ---- matchers -------------------------------------------------------- */
bool pc_m_kind(const panp_frame *f, const void *kind);       /* arg: const panp_body_kind* */
bool pc_m_event(const panp_frame *f, const void *unused);    /* request_id 0 */
bool pc_m_rid(const panp_frame *f, const void *rid);         /* arg: const uint64_t* */

#endif
