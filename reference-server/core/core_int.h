/* core_int.h - the core's objects and the calls its modules make to each
 * other.  Nothing outside reference-server/core includes this. */
#ifndef PANPD_CORE_INT_H
#define PANPD_CORE_INT_H

#include <stdarg.h>

#include "core.h"
#include "hmap.h"
#include "list.h"
#include "outq.h"
#include "panp/codec.h"
#include "timer.h"

#define CORE_SOFTWARE "panpd/0.1.0"
#define MATCH_KEY_LEN (4 + PANP_UUID_LEN + 1)
#define SERIAL_OF(id) ((uint32_t)((id) >> 32))
#define LOCAL_OF(id) ((uint32_t)(id))
/* Channel and conversation ids share the connection serial; bit 31 of the
 * low word tells the kinds apart, so one is never taken for the other. */
#define CONV_ID_BIT 0x80000000u
#define ID_COUNTER_MAX 0x7fffffffu
/* A listener may remember this many conversations it lost, so that its late
 * CloseChannel still gets ACQUIRED_BY_ANOTHER; older ones read as closed. */
#define MAX_LOST_PER_CONN 256
#define LIST_PAGE_MAX 32

enum { TK_CONN = 1, TK_LEASE = 2 };

typedef enum {
    CS_AWAIT_PREFACE = 0,
    CS_AWAIT_HELLO = 1,
    CS_READY = 2,
    CS_CLOSING = 3, /* only what is queued goes out; input is ignored */
    CS_CLOSED = 4   /* nothing more goes out: close the socket now */
} conn_state;

typedef struct user_rec {
    char *name;
    uint32_t conns, regs, chans;
} user_rec;

/* Registrations and channels with the same (target, type, style) meet here. */
typedef struct bucket {
    uint8_t key[MATCH_KEY_LEN];
    list_node regs;     /* reg.bucket_link */
    list_node waiting;  /* bidirectional channels whose question is unanswered */
    list_node open;     /* every open channel with this key */
} bucket;

struct core_conn {
    core *core;
    list_node link;     /* core.conns */
    list_node reap_link;/* core.reap, while teardown is pending */
    uint32_t serial;
    conn_state state;
    bool torn_down;     /* its channels, conversations and registrations are gone */
    core_transport transport;
    unsigned offers;     /* CORE_OFFER_* */
    bool loopback;
    char *transport_user;
    char *address;
    char *peer_id;
    list_node pending_link; /* core.pending, until Welcome */
    user_rec *user;     /* after Welcome */
    bool may_open, trusted, server_admin;
    char *session_label;
    uint32_t peer_max_frame;
    uint8_t preface[PANP_PREFACE_LEN];
    size_t preface_got;
    struct panp_framer *framer;
    outq q;
    uint64_t connected_at, last_rx, closing_since;
    core_timer timer;
    uint32_t next_chan, next_conv; /* how many ids were issued */
    uint32_t nregs, nchans;
    list_node regs;     /* reg.conn_link */
    list_node chans;    /* chan.owner_link */
    list_node convs;    /* live conversations, conv.conn_link */
    list_node lost;     /* lost conversations, oldest first */
    size_t nlost;
    void *data;
};

typedef struct reg {
    uint8_t handle[PANP_UUID_LEN];
    uint64_t serial;
    core_conn *conn;
    bucket *b;
    uint32_t target;
    uint8_t type[PANP_UUID_LEN];
    panp_style style;
    panp_user_filter filter;
    bool admin;              /* its connection administers target (SPEC 13) */
    uint32_t lease_granted;  /* seconds; 0: no expiry */
    core_timer lease;
    list_node conn_link, bucket_link, all_link;
    list_node convs;         /* conv.reg_link */
    panp_bytes client_state; /* points into notify_fields */
    /* Fields 1 to 3 of every Notify it receives, encoded once at Register
     * (SPEC 15.2): a delivery adds only the length prefix. */
    uint8_t notify_fields_len;
    uint8_t notify_fields[];
} reg;

typedef enum { CV_OFFERED = 1, CV_ACQUIRED = 2, CV_LOST = 3 } conv_state;

typedef struct chan chan;

typedef struct conv {
    uint64_t id;
    conv_state state;
    chan *ch;          /* NULL once lost */
    core_conn *conn;   /* the listener */
    reg *reg;          /* NULL once the registration ended */
    uint8_t handle[PANP_UUID_LEN];
    list_node chan_link, conn_link, reg_link;
    /* Notify fields 1 to 3 for this conversation (its id included). */
    uint8_t notify_fields_len;
    uint8_t notify_fields[];
} conv;

struct chan {
    uint64_t id;
    core_conn *owner;
    bucket *b;
    uint32_t target;
    uint8_t type[PANP_UUID_LEN];
    panp_style style;
    panp_user_filter filter;
    bool has_job;
    uint32_t job_id;
    char *job_owner;
    char *job_session;
    uint64_t seq;
    /* bidirectional */
    bool pending;      /* the last message is unanswered */
    uint64_t pending_seq;
    blob *question;    /* the unanswered first question, for late listeners */
    conv *winner;
    list_node convs;   /* offered and acquired conversations */
    list_node owner_link, bucket_link, waiting_link;
};

struct core {
    const panpd_config *cfg;
    core_hooks hooks;
    bool shutting_down;
    uint32_t next_serial;
    uint64_t next_reg_serial;
    list_node conns;
    list_node pending;    /* connections that have not reached READY */
    size_t npending;
    list_node reap;
    list_node all_regs;   /* creation order, for ListRegistrations */
    hmap regs;            /* handle -> reg */
    hmap chans;           /* id -> chan */
    hmap convs;           /* id -> conv (lost ones too) */
    hmap buckets;         /* match key -> bucket */
    hmap users;           /* name -> user_rec */
    timer_heap timers;
    outq_pool outq_pool;  /* recycled queue entries (outq.h) */
    uint64_t now;         /* the "now" of the call being served */
    core_stats stats;
};

/* ---- core.c: logging, identity helpers */
void core_log(core *c, log_level lv, const core_conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool core_is_admin(const core *c, const core_conn *conn, uint32_t target);
void core_wake(core *c, core_conn *conn);

/* ---- emit.c: encoding and queueing with the slow-consumer policy */
/* Returns true when the frame was queued. */
bool emit_frame(core *c, core_conn *to, const panp_frame *f, outq_kind kind, uint64_t chan_id,
                uint64_t tag);
bool emit_control(core *c, core_conn *to, const panp_frame *f);
/* Would f fit the recipient's max frame size? */
bool emit_fits(core *c, const core_conn *to, const panp_frame *f);
/* One Send's shared tail (fields 4 to 10) and the prefix last written in
 * front of it: listeners whose fields have the same length (most: a handle
 * and no client state) share that too. */
typedef struct notify_out {
    blob *tail;
    size_t fields_len;  /* the prefix's; SIZE_MAX before the first */
    size_t frame_len;
    size_t prefix_len;
    uint8_t prefix[PANP_NOTIFY_PREFIX_MAX];
} notify_out;

static inline notify_out notify_out_of(blob *tail)
{
    return (notify_out){.tail = tail, .fields_len = SIZE_MAX};
}

/* A Notify as a listener's fields 1 to 3 + the Send's shared tail (SPEC
 * 15.2): false when it was not queued. */
bool emit_notify(core *c, core_conn *to, const uint8_t *fields, size_t fields_len, notify_out *no,
                 outq_kind kind, uint64_t chan_id, uint64_t tag);
/* The Sent response, written without a backend. */
void emit_sent(core *c, core_conn *to, uint64_t rid, uint64_t sequence, uint32_t recipients);
/* Fields 1 to 3 of the Notifies for one registration (conv_id 0) or one
 * conversation, into out (PANP_NOTIFY_FIELDS_MAX bytes); 0 on failure. */
size_t emit_notify_fields(core *c, const uint8_t *handle, uint64_t conv_id, panp_bytes client_state,
                          panp_style style, uint8_t *out);
void emit_error(core *c, core_conn *to, uint64_t rid, panp_error_code code, const char *field,
                bool fatal, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void emit_goodbye(core *c, core_conn *to, panp_goodbye_reason reason, const char *msg);
/* Frees what a connection has queued for a channel (or one of its
 * conversations / one registration's copies). */
void emit_discard_channel(core *c, core_conn *conn, uint64_t chan_id);
void emit_discard_tag(core *c, core_conn *conn, uint64_t chan_id, uint64_t tag);
void emit_discard_reg(core *c, core_conn *conn, uint64_t reg_serial);

/* ---- conn.c: connection state machine */
void conn_input(core *c, core_conn *conn, const uint8_t *data, size_t len);
/* A decoded frame from core_on_frame(): checked as received bytes are. */
void conn_frame(core *c, core_conn *conn, const panp_frame *f);
/* Ends the connection's protocol life: state CLOSING (or CLOSED), teardown
 * scheduled for the end of the current core call. */
void conn_fail(core *c, core_conn *conn, conn_state st);
void conn_slow_consumer(core *c, core_conn *conn);
void conn_teardown(core *c, core_conn *conn);
void conn_reap(core *c);
void conn_timer_fired(core *c, core_conn *conn);
void conn_rearm(core *c, core_conn *conn);
void conn_free(core *c, core_conn *conn);
/* A request's target, valid by the field rules (the codec's), looked up: a
 * configured printer, or answers NOT_FOUND and returns false. */
bool conn_target_lookup(core *c, core_conn *conn, uint64_t rid, const panp_target *t,
                        const char *req, uint32_t *target);

/* ---- reg.c: registrations */
void reg_on_register(core *c, core_conn *conn, uint64_t rid, const panp_register *r);
void reg_on_renew(core *c, core_conn *conn, uint64_t rid, const panp_renew *r);
void reg_on_unregister(core *c, core_conn *conn, uint64_t rid, const panp_unregister *r);
void reg_on_list(core *c, core_conn *conn, uint64_t rid, const panp_list_registrations *r);
void reg_lease_expired(core *c, reg *r);
void reg_drop_all(core *c, core_conn *conn); /* connection gone: no events */
bucket *bucket_get(core *c, uint32_t target, const uint8_t type[16], panp_style style, bool create);
void bucket_maybe_free(core *c, bucket *b);

/* ---- chan.c: channels */
void chan_on_open(core *c, core_conn *conn, uint64_t rid, const panp_open_channel *o);
void chan_on_send(core *c, core_conn *conn, uint64_t rid, const panp_send *s);
void chan_on_close(core *c, core_conn *conn, uint64_t rid, const panp_close_channel *cl);
/* May this registration see this channel (SPEC 13)?  Same bucket assumed. */
bool chan_eligible(core *c, const chan *ch, const reg *r);
/* Was id issued to conn as this kind, counter being how many were? */
bool chan_issued(uint64_t id, const core_conn *conn, uint32_t counter, bool conv_kind);
/* CHANNEL_ALREADY_CLOSED or CHANNEL_NOT_OPENED for an id not found open. */
void chan_gone_or_unknown(core *c, core_conn *conn, uint64_t rid, bool was_issued, const char *field);
bool chan_same_type(const chan *ch, panp_bytes t);
/* ChannelClosed to one side; for the listener side, cv or r names it. */
void chan_tell_closed(core *c, core_conn *to, const chan *ch, const conv *cv, const reg *r,
                      panp_close_reason why, const panp_notification *reason);
/* The question is no longer offered to later registrations. */
void chan_stop_waiting(chan *ch);
/* Closes the channel for everybody still in it (see chan.c). */
void chan_close(core *c, chan *ch, panp_close_reason why, const panp_notification *reason,
                bool tell_owner, conv *closer);
void chan_close_result(core *c, core_conn *conn, uint64_t rid, panp_close_outcome outcome);
bool chan_check_reason(core *c, core_conn *conn, uint64_t rid, const chan *ch,
                       const panp_close_channel *cl);
/* The peer is gone: close what it owns or won, leave what it was offered. */
void chan_conn_gone(core *c, core_conn *conn);
/* Shutdown: every channel closes with SERVER_SHUTDOWN to both sides. */
void chan_close_all(core *c);

/* ---- conv.c: bidirectional conversations */
/* Offers ch's pending question to r; false when not queued. */
bool conv_offer(core *c, chan *ch, reg *r);
/* A new bidirectional registration sees questions nobody answered yet. */
void conv_offer_waiting(core *c, reg *r);
void conv_on_reply(core *c, core_conn *conn, uint64_t rid, const panp_reply *rp);
/* The listener side of CloseChannel. */
void conv_on_close(core *c, core_conn *conn, uint64_t rid, const panp_close_channel *cl);
/* One listener leaves a conversation; `why` 0 tells it nothing. */
void conv_end(core *c, conv *cv, panp_close_reason why, const panp_notification *reason);
/* A registration ends: its OFFERED conversations close with `why` (nothing
 * is sent when it is 0); ACQUIRED ones outlive it. */
void conv_reg_ending(core *c, reg *r, panp_close_reason why);
void conv_forget_lost(core *c, core_conn *conn);

#endif
