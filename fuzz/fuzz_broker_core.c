/* fuzz_broker_core.c - panpd's routing core driven by a fuzzed script
 * (issue 7, target 5).
 *
 * The core (reference-server/core/core.h) is a pure state machine: bytes,
 * a clock and a random source in, queued frames out.  The input is a
 * script: the first byte picks the configuration's limits, then each step
 * picks one action:
 *   connect (one of seven identities: server admin, printer admin, sender,
 *   plain users, a trusted spooler, a TCP token user; a session label; a
 *   frame limit), a request built from the input (Register, OpenChannel,
 *   Send, Reply, CloseChannel, Unregister, Renew, ListRegistrations, Ping,
 *   Goodbye) naming objects the harness learnt of, its own or another
 *   connection's (mostly valid, so the script gets deep), raw bytes
 *   through the framer, a decoded frame through core_on_frame(), EOF,
 *   reset, a clock tick, a reader that stops reading, broker shutdown.
 *
 * After every step each connection's output is read back like a client
 * would (preface, framer, panp_decode as a client with its frame limit)
 * and checked against a model the harness keeps from what it saw:
 *  - every frame is valid for a client and fits its announced frame size;
 *  - requests are answered exactly once, in order, without delay, with
 *    their success body or Error; events carry request id 0;
 *  - a Notify goes only where the delivery table of SPEC 13.2 (recomputed
 *    here from the identities, filters and session labels) allows, never
 *    to the opener's connection, never through another connection's
 *    handle, in sequence order, with the fields SPEC 10.4 names and the
 *    payload the sender sent; a unidirectional Send reaches exactly the
 *    registrations the table selects when no queue is in the way;
 *  - nothing of a channel or conversation follows its ChannelClosed;
 *    ChannelClosed carries NOTIFICATION_RELEASE exactly for PEER_GONE and
 *    SERVER_SHUTDOWN; a dead sender's listeners and a dead winner's sender
 *    all learn of it; a unidirectional sender is never told a listener died;
 *  - handles, channel ids and conversation ids of one connection are
 *    useless to another (NOT_FOUND / CHANNEL_NOT_OPENED, with the same
 *    message as for ids never issued);
 *  - rights: ALL_USERS, OpenChannel and on_behalf_of succeed only for
 *    identities the configuration allows; Welcome reports them;
 *  - leases are granted per SPEC 9.4 and never end early;
 *  - each connection's queue stays within max_outbound_bytes plus the
 *    control allowance;
 *  - at the end, with every connection gone, the core holds no
 *    registration, channel or conversation (and ASan sees no leak).
 */
#include <openssl/sha.h>
#include <string.h>

#include "core.h"
#include "fuzz_common.h"
#include "fuzz_script.h"

/* ---- the configuration --------------------------------------------------- */

enum { U_ROOT, U_PADMIN, U_ALICE, U_BOB, U_SPOOLER, U_CAROL, U_TOKEN, NUSERS };
static const char *const USERS[NUSERS] = {"root", "padmin", "alice", "bob", "spooler", "carol",
                                         "tokuser"};
#define TOKEN "fuzz-token"
enum { T_SERVER = 0, T_P1 = 1, T_P2 = 2, T_NOSUCH = 3 };
static const char *const PRINTERS[] = {NULL, "P1", "P2", "nosuch"};
static const char *const SESSIONS[] = {"", "s1", "s2"};

static bool is_admin(int user, int target)
{
    return user == U_ROOT || (user == U_PADMIN && target == T_P1);
}

static bool may_open(int user, int target)
{
    return user == U_ROOT || user == U_ALICE || user == U_SPOOLER || user == U_CAROL ||
           is_admin(user, target);
}

static const uint8_t TYPES[2][16] = {
    {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 1},
    {0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23, 0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0},
};

static panpd_config *make_config(uint8_t variant)
{
    panpd_config *c = conf_new();
    FZ_CHECK(c, "conf_new");
    c->server_name = strdup("fuzz-server");
    c->log_level = LOG_ERROR;
    int p1 = conf_add_printer(c, "P1");
    conf_add_printer(c, "P2");
    strlist_add(&c->printers[p1].admins, "padmin");
    strlist_add(&c->server_admins, "root");
    strlist_add(&c->senders, "alice");
    strlist_add(&c->senders, "carol");
    strlist_add(&c->trusted, "spooler");
    uint8_t h[32];
    SHA256((const uint8_t *)TOKEN, strlen(TOKEN), h);
    conf_add_token(c, "tokuser", h);
    panpd_limits *l = &c->limits;
    if (variant & 1)
        l->max_outbound_bytes = 131072;
    if (variant & 2) {
        l->max_registrations = 3;
        l->max_registrations_per_user = 5;
        l->max_channels = 3;
        l->max_channels_per_user = 5;
        l->max_registrations_total = 9;
        l->max_channels_total = 9;
        l->max_pending_connections = 4;
        l->max_pending_per_peer = 3;
    }
    l->max_lease_seconds = (variant & 4) ? 5 : (variant & 32) ? 0 : 86400;
    if (variant & 8) {
        l->keepalive_interval_ms = 1000;
        l->keepalive_timeout_ms = 2000;
    }
    if (variant & 16)
        l->max_frame_size = 4096;
    char err[128];
    FZ_CHECK(conf_check(c, err, sizeof err) == 0, "config: %s", err);
    return c;
}

/* ---- the model -------------------------------------------------------------- */

/* MAXCV: every registration may be offered every channel's question once,
 * so a valid script can reach MAXREG x MAXCH conversations. */
enum { MAXC = 10, MAXREG = 48, MAXCH = 48, MAXCV = MAXREG * MAXCH, MAXQ = 48, MAXSEND = 160,
       MAXSTEPS = 400 };

typedef struct req {
    uint64_t rid;
    panp_body_kind kind;
    int obj;        /* reg / chan / conv index the request names or creates, -1: none */
    bool foreign;   /* it names another connection's object */
    bool unknown;   /* it names no live object of its own (never issued, or ended) */
    bool never;     /* it names an id or handle never issued */
    uint64_t at;    /* when it was sent (clock) */
    int step;       /* and in which step: the core acts on it at once */
    uint32_t lease; /* register, renew: asked */
    int target;     /* register, open, list */
    int send;       /* send: index in sends */
    bool reason;    /* close: with a reason */
} req;

typedef struct hconn {
    core_conn *cc;     /* NULL once disconnected */
    int user;
    int session;
    uint32_t max_frame; /* what it told the broker; 0: default */
    bool hello_sent, ready;
    bool rx_end;       /* it received a fatal Error or Goodbye */
    bool rx_goodbye;   /* it received Goodbye: nothing may follow */
    bool dead;         /* peer death happened (or the connection failed) */
    bool raw;          /* raw bytes were sent: its requests are not all known */
    bool slow;         /* reads little */
    size_t read_budget;
    panp_framer *fr;
    size_t prefix_seen;
    req q[MAXQ];
    size_t qn;
    uint64_t next_rid;
} hconn;

typedef struct hreg {
    uint8_t h[PANP_HANDLE_MAX_LEN];
    size_t hlen;
    int conn, target, type;
    panp_style style;
    panp_user_filter filter;
    uint8_t cs[PANP_CLIENT_STATE_MAX];
    size_t cslen;
    bool live;
    int born, ended;   /* steps */
    uint64_t lease_from;
    uint32_t lease;
} hreg;

typedef struct hchan {
    uint64_t id;
    int conn, target, type;
    panp_style style;
    panp_user_filter filter;
    bool job;
    int job_owner, job_session; /* user, session index */
    uint32_t job_id;
    bool open;         /* as its sender sees it */
    uint64_t seq;      /* last Sent */
    int winner;        /* conv index, -1 */
    int owner_died;    /* step, -1 */
    bool lagged;       /* a listener saw it before its opener read ChannelOpened */
} hchan;

typedef struct hconv {
    uint64_t id;
    int chan, conn, reg;
    bool open, acquired;
    uint64_t last_seq;
} hconv;

typedef struct hsend {
    int chan;
    size_t len;
    uint8_t fill;
    int step;
    uint64_t seq;        /* from Sent, 0 until then */
    int64_t recipients;  /* from Sent, -1 until then */
    uint32_t received;   /* Notifies seen for it */
    uint64_t notify_seq; /* the sequence its Notifies carried */
    bool checked;
} hsend;

typedef struct world {
    panpd_config *cfg;
    core *core;
    uint64_t now;
    uint64_t rnd;
    int step;
    uint64_t clock[MAXSTEPS + 1];       /* w->now during each step */
    bool shutdown;
    bool any_raw;
    hconn c[MAXC];
    int nc;
    hreg r[MAXREG];
    int nr;
    hchan ch[MAXCH];
    int nch;
    hconv cv[MAXCV];
    int ncv;
    hsend s[MAXSEND];
    int ns;
    uint64_t uni_seq[MAXREG][MAXCH];   /* last sequence per registration and channel */
    bool uni_closed[MAXC][MAXCH];      /* listener side, per connection */
    bool uni_closed_reg[MAXREG][MAXCH];
    uint64_t unresolved[32];           /* ids listeners saw before their opener did */
    int nunresolved;
    char notfound[2][192];             /* renew / unregister NOT_FOUND messages */
    char notopened[4][192];            /* per field: send, reply, close ch, close conv */
} world;

static int h_random(void *ud, uint8_t *buf, size_t len)
{
    world *w = ud;
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (w->rnd += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf[i] = (uint8_t)(z ^ (z >> 31));
    }
    return 0;
}

/* FZ_LOG=1 in the environment prints the core's log and every frame each
 * connection reads: what you want when reproducing a crash. */
static void h_log(void *ud, log_level lv, const char *line)
{
    (void)ud;
    fprintf(stderr, "  core[%d] %s\n", (int)lv, line);
}

/* ---- lookups ------------------------------------------------------------------ */

static int find_reg(const world *w, panp_bytes h)
{
    for (int i = 0; i < w->nr; i++)
        if (w->r[i].hlen == h.len && h.len && !memcmp(w->r[i].h, h.data, h.len))
            return i;
    return -1;
}

static int find_chan(const world *w, uint64_t id)
{
    for (int i = 0; id && i < w->nch; i++)
        if (w->ch[i].id == id)
            return i;
    return -1;
}

static int find_conv(const world *w, uint64_t id)
{
    for (int i = 0; id && i < w->ncv; i++)
        if (w->cv[i].id == id)
            return i;
    return -1;
}

/* SPEC 13.1 and 13.2, from the identities the harness gave out. */
static bool eligible(const world *w, const hchan *ch, const hreg *r)
{
    if (ch->target != r->target || ch->type != r->type || ch->style != r->style ||
        ch->conn == r->conn)
        return false;
    int lu = w->c[r->conn].user;
    int addressed = ch->job ? ch->job_owner : w->c[ch->conn].user;
    bool admin = is_admin(lu, ch->target);
    if (ch->filter == PANP_USER_FILTER_ALL_USERS || r->filter == PANP_USER_FILTER_ALL_USERS)
        return true;
    if (lu != addressed)
        return admin;
    if (admin)
        return true;
    const char *cs = ch->job ? SESSIONS[ch->job_session] : "";
    const char *ls = SESSIONS[w->c[r->conn].session];
    return !(cs[0] && ls[0] && strcmp(cs, ls));
}

static bool conn_alive(const hconn *c)
{
    return c->cc && !c->dead && !c->rx_end;
}

/* A listener met channel id before the harness knew it: its opener has
 * not read the ChannelOpened yet (a slow reader).  Remember the id; its
 * events on the way are not checked.  false: no such excuse. */
static bool unresolved(world *w, uint64_t id)
{
    bool pending = false;
    for (int i = 0; i < w->nc; i++)
        for (size_t k = 0; k < w->c[i].qn; k++)
            pending |= w->c[i].q[k].kind == PANP_BODY_OPEN_CHANNEL;
    if (!pending)
        return false;
    if (w->nunresolved < 32)
        w->unresolved[w->nunresolved++] = id;
    else
        w->any_raw = true; /* lost track: stop being exact about channels */
    return true;
}

/* ---- sending -------------------------------------------------------------------- */

static void push_req(world *w, hconn *c, const req *r)
{
    if (c->qn < MAXQ) {
        c->q[c->qn++] = *r;
        return;
    }
    /* The harness lost count: stop matching this connection's answers,
     * and so stop knowing every channel id (an unmatched ChannelOpened
     * names a channel whose events will come). */
    c->raw = w->any_raw = true;
}

/* Encodes f (delimited) and feeds it to the core, or, with inject, hands
 * the view over directly.  false when the codec refuses f (then nothing
 * was sent). */
static bool send_frame(world *w, int ci, const panp_frame *f, bool inject)
{
    hconn *c = &w->c[ci];
    if (inject && panp_validate(f, PANP_PEER_BROKER, 0, NULL) == PANP_ERR_UNSPECIFIED &&
        c->hello_sent) {
        core_on_frame(w->core, c->cc, f, w->now);
        return true;
    }
    size_t need = 0;
    panp_status st;
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st) !=
        PANP_ERR_RESOURCE_EXHAUSTED)
        return false;
    uint8_t *buf = malloc(need);
    panp_error_code rc = panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, buf, need, &need, &st);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED, "encode: %s", st.message);
    core_on_bytes(w->core, c->cc, buf, need, w->now);
    free(buf);
    return true;
}

static void request(world *w, int ci, panp_frame *f, req *r, bool inject, bool rid0)
{
    hconn *c = &w->c[ci];
    f->request_id = rid0 ? 0 : c->next_rid++;
    r->rid = f->request_id;
    r->kind = f->kind;
    r->at = w->now;
    r->step = w->step;
    /* Queued before sending: the answer comes back inside the call. */
    size_t before = c->qn;
    push_req(w, c, r);
    if (!send_frame(w, ci, f, inject))
        c->qn = before;
}

/* ---- reading what the core queued ------------------------------------------------- */

static void on_frame(world *w, int ci, const panp_frame *f);

static void read_conn(world *w, int ci, size_t budget)
{
    hconn *c = &w->c[ci];
    struct iovec iov[8];
    int n;
    while (c->cc && budget && (n = core_conn_iov(c->cc, iov, 8)) > 0) {
        size_t took = 0;
        for (int i = 0; i < n && budget; i++) {
            const uint8_t *p = iov[i].iov_base;
            size_t len = iov[i].iov_len < budget ? iov[i].iov_len : budget;
            budget -= len;
            took += len;
            size_t off = 0;
            /* The broker's preface comes first (SPEC PREF-3). */
            while (off < len && c->prefix_seen < PANP_PREFACE_LEN) {
                FZ_CHECK(p[off] == (uint8_t)PANP_PREFACE[c->prefix_seen],
                         "conn %d: preface byte %zu wrong", ci, c->prefix_seen);
                c->prefix_seen++, off++;
            }
            while (off < len) {
                size_t used, flen;
                const uint8_t *fb;
                panp_status st;
                panp_framer_result r =
                    panp_framer_feed(c->fr, p + off, len - off, &used, &fb, &flen, &st);
                FZ_CHECK(r != PANP_FRAMER_ERROR, "conn %d: broker output breaks framing: %s", ci,
                         st.message);
                off += used;
                if (r != PANP_FRAMER_FRAME)
                    continue;
                /* As a client decodes: its frame limit, its phase (only Welcome,
                 * Error or Goodbye before the Welcome). */
                panp_decode_opts o = {
                    .backend = PANP_BACKEND_PROTOBUF_C, .peer = PANP_PEER_CLIENT,
                    .max_frame_size = c->max_frame ? c->max_frame : PANP_DEFAULT_MAX_FRAME};
                panp_frame *f = NULL;
                panp_error_code rc =
                    fz_decode(&o, c->ready ? PANP_PHASE_READY : PANP_PHASE_HANDSHAKE, fb, flen,
                              &f, &st);
                FZ_CHECK(rc == PANP_ERR_UNSPECIFIED,
                         "conn %d: the broker sent a frame a client must refuse: %s: %s", ci,
                         st.field, st.message);
                if (getenv("FZ_LOG"))
                    fprintf(stderr, "step %d conn %d <- %s rid %llu%s%s\n", w->step, ci,
                            panp_body_name(f->kind), (unsigned long long)f->request_id,
                            f->kind == PANP_BODY_ERROR ? " " : "",
                            f->kind == PANP_BODY_ERROR ? f->body.error.message : "");
                on_frame(w, ci, f);
                panp_frame_free(f);
            }
        }
        core_conn_wrote(w->core, c->cc, took, w->now);
    }
}

/* ---- checking responses ------------------------------------------------------------ */

static bool is_event(panp_body_kind k)
{
    return k == PANP_BODY_NOTIFY || k == PANP_BODY_REPLY_DELIVERY ||
           k == PANP_BODY_CHANNEL_CLOSED || k == PANP_BODY_REGISTRATION_ENDED ||
           k == PANP_BODY_GOODBYE;
}

static uint32_t granted(const world *w, uint32_t asked)
{
    uint32_t cap = w->cfg->limits.max_lease_seconds;
    if (!cap)
        return asked;
    return asked == 0 || asked > cap ? cap : asked;
}

/* The OFFERED conversations of a registration must be closed by now
 * (before the Ok of its Unregister, before its RegistrationEnded). */
static void offered_closed(const world *w, int ri, const char *why)
{
    for (int i = 0; i < w->ncv; i++)
        FZ_CHECK(!(w->cv[i].reg == ri && w->cv[i].open && !w->cv[i].acquired),
                 "%s: conversation %d of the registration still offered", why, i);
}

/* Same text for every refusal of one kind: an id or handle of another
 * connection must not be told apart from one never issued. */
static void same_text(char *slot, const panp_error_msg *e, const char *what)
{
    char text[192];
    snprintf(text, sizeof text, "%s|%s", e->field ? e->field : "", e->message ? e->message : "");
    if (!slot[0])
        snprintf(slot, 192, "%s", text);
    FZ_CHECK(!strcmp(slot, text), "%s: \"%s\" vs \"%s\"", what, slot, text);
}

static void on_error(world *w, int ci, const req *q, const panp_error_msg *e)
{
    hconn *c = &w->c[ci];
    if (e->fatal) {
        c->rx_end = true;
        return;
    }
    FZ_CHECK(c->ready || c->raw, "conn %d: non-fatal %s before Welcome", ci,
             panp_error_code_name(e->code));
    if (q->foreign || q->unknown) {
        panp_error_code want = (q->kind == PANP_BODY_RENEW || q->kind == PANP_BODY_UNREGISTER)
                                   ? PANP_ERR_NOT_FOUND
                                   : PANP_ERR_CHANNEL_NOT_OPENED;
        if (e->code != PANP_ERR_SHUTTING_DOWN && e->code != PANP_ERR_INVALID_ARGUMENT &&
            !(q->unknown && e->code == PANP_ERR_CHANNEL_ALREADY_CLOSED))
            FZ_CHECK(e->code == want, "conn %d: %s naming another's object: %s", ci,
                     panp_body_name(q->kind), panp_error_code_name(e->code));
    }
    bool alien = q->foreign || q->never;
    if (alien && e->code == PANP_ERR_NOT_FOUND && q->kind == PANP_BODY_RENEW)
        same_text(w->notfound[0], e, "renew NOT_FOUND (REG-13)");
    if (alien && e->code == PANP_ERR_NOT_FOUND && q->kind == PANP_BODY_UNREGISTER)
        same_text(w->notfound[1], e, "unregister NOT_FOUND (REG-13)");
    if (alien && e->code == PANP_ERR_CHANNEL_NOT_OPENED && e->field) {
        static const char *const fields[4] = {"send.channel_id", "reply.conversation_id",
                                              "close_channel.channel_id",
                                              "close_channel.conversation_id"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(e->field, fields[i]))
                same_text(w->notopened[i], e, "CHANNEL_NOT_OPENED (CHAN-13)");
    }
    /* A close of something already closed is a successful close. */
    if (q->kind == PANP_BODY_CLOSE_CHANNEL && e->code == PANP_ERR_CHANNEL_ALREADY_CLOSED &&
        q->obj >= 0 && !q->foreign) {
        if (q->target == 1)
            w->ch[q->obj].open = false;
        else
            w->cv[q->obj].open = false;
    }
}

static void on_response(world *w, int ci, const panp_frame *f)
{
    hconn *c = &w->c[ci];
    if (f->kind == PANP_BODY_WELCOME)
        c->ready = true;
    bool fatal0 = f->kind == PANP_BODY_ERROR && f->body.error.fatal && f->request_id == 0;
    if (c->qn == 0 || c->q[0].rid != f->request_id ||
        (f->kind != PANP_BODY_ERROR && f->kind != fz_success_of(c->q[0].kind))) {
        if (fatal0) { /* the connection itself failed */
            c->rx_end = true;
            c->qn = 0;
            return;
        }
        FZ_CHECK(c->raw, "conn %d: %s (request %llu) answers nothing outstanding (%zu waiting)",
                 ci, panp_body_name(f->kind), (unsigned long long)f->request_id, c->qn);
        return;
    }
    req q = c->q[0];
    memmove(c->q, c->q + 1, --c->qn * sizeof *c->q);
    if (f->kind == PANP_BODY_ERROR) {
        if (!c->ready && q.kind != PANP_BODY_HELLO && !c->raw)
            FZ_CHECK(f->body.error.code == PANP_ERR_PROTOCOL_VIOLATION && f->body.error.fatal,
                     "conn %d: %s before Welcome answered with %s", ci, panp_body_name(q.kind),
                     panp_error_code_name(f->body.error.code));
        if (q.kind == PANP_BODY_HELLO)
            FZ_CHECK(f->body.error.fatal, "an Error answering Hello must be fatal");
        on_error(w, ci, &q, &f->body.error);
        if (f->body.error.fatal)
            c->qn = 0;
        return;
    }
    FZ_CHECK(!q.foreign, "conn %d: %s naming another connection's object succeeded", ci,
             panp_body_name(q.kind));
    FZ_CHECK(!q.never, "conn %d: %s naming an id never issued succeeded", ci,
             panp_body_name(q.kind));
    switch (f->kind) {
    case PANP_BODY_WELCOME: {
        const panp_welcome *wl = &f->body.welcome;
        c->ready = true;
        FZ_CHECK(wl->has_identity && !strcmp(wl->identity.user, USERS[c->user]),
                 "Welcome names %s, not %s", wl->identity.user, USERS[c->user]);
        FZ_CHECK(wl->identity.server_admin == (c->user == U_ROOT), "server_admin wrong");
        FZ_CHECK(wl->identity.trusted == (c->user == U_SPOOLER), "trusted wrong");
        FZ_CHECK(wl->identity.may_open_channels == may_open(c->user, T_SERVER),
                 "may_open_channels wrong");
        FZ_CHECK(wl->has_limits && wl->limits.max_outbound_bytes ==
                                       w->cfg->limits.max_outbound_bytes &&
                     wl->limits.max_frame_size == w->cfg->limits.max_frame_size,
                 "Welcome limits differ from the configuration");
        break;
    }
    case PANP_BODY_REGISTERED: {
        const panp_registered *rg = &f->body.registered;
        FZ_CHECK(q.target != T_NOSUCH, "Register on an unknown printer succeeded");
        FZ_CHECK(q.obj >= 0, "registered without a record");
        hreg *r = &w->r[q.obj];
        FZ_CHECK(r->filter != PANP_USER_FILTER_ALL_USERS || is_admin(c->user, r->target),
                 "%s registered ALL_USERS on target %d", USERS[c->user], r->target);
        FZ_CHECK(rg->handle.len >= 16 && rg->handle.len <= 32, "handle of %zu bytes",
                 rg->handle.len);
        int other = find_reg(w, rg->handle);
        FZ_CHECK(other < 0 || !w->r[other].live, "handle reissued while live");
        FZ_CHECK(rg->lease_seconds == granted(w, q.lease), "lease %u granted for %u asked",
                 rg->lease_seconds, q.lease);
        memcpy(r->h, rg->handle.data, rg->handle.len);
        r->hlen = rg->handle.len;
        r->live = true;
        r->born = q.step;
        r->lease = rg->lease_seconds;
        r->lease_from = q.at;
        break;
    }
    case PANP_BODY_RENEWED:
        FZ_CHECK(f->body.renewed.lease_seconds == granted(w, q.lease), "renew lease %u for %u",
                 f->body.renewed.lease_seconds, q.lease);
        FZ_CHECK(!q.unknown && q.obj >= 0 && w->r[q.obj].live, "Renew of a dead handle succeeded");
        w->r[q.obj].lease = f->body.renewed.lease_seconds;
        w->r[q.obj].lease_from = q.at;
        break;
    case PANP_BODY_OK:
        if (q.kind == PANP_BODY_UNREGISTER) {
            FZ_CHECK(!q.unknown && q.obj >= 0 && w->r[q.obj].live,
                     "Unregister of a dead handle succeeded (unknown %d, obj %d)", q.unknown,
                     q.obj);
            offered_closed(w, q.obj, "Unregister's Ok");
            w->r[q.obj].live = false;
            w->r[q.obj].ended = q.step;
        } else if (q.obj >= 0) { /* Reply: this listener won, or already had */
            hconv *v = &w->cv[q.obj];
            FZ_CHECK(v->open, "Reply on a closed conversation succeeded");
            v->acquired = true;
            hchan *ch = &w->ch[v->chan];
            FZ_CHECK(ch->winner < 0 || ch->winner == q.obj, "two winners");
            ch->winner = q.obj;
        }
        break;
    case PANP_BODY_REGISTRATION_LIST: {
        const panp_registration_list *l = &f->body.registration_list;
        FZ_CHECK(l->registrations_count <= 32 && l->registrations_count <= l->total,
                 "%zu entries of %u", l->registrations_count, l->total);
        for (size_t i = 0; i < l->registrations_count; i++) {
            panp_bytes h = l->registrations[i].handle;
            if (!h.len)
                continue;
            int ri = find_reg(w, h);
            /* An unknown handle is one of this connection's whose Registered
             * the harness could not match (it lost count) */
            FZ_CHECK(ri >= 0 ? w->r[ri].conn == ci : w->c[ci].raw,
                     "conn %d: ListRegistrations shows a handle it does not own", ci);
        }
        break;
    }
    case PANP_BODY_CHANNEL_OPENED: {
        uint64_t id = f->body.channel_opened.channel_id;
        FZ_CHECK(q.target != T_NOSUCH, "OpenChannel on an unknown printer succeeded");
        FZ_CHECK(find_chan(w, id) < 0 && find_conv(w, id) < 0, "channel id %llx reused",
                 (unsigned long long)id);
        hchan *ch = &w->ch[q.obj];
        FZ_CHECK(may_open(c->user, ch->target), "%s opened a channel on target %d",
                 USERS[c->user], ch->target);
        FZ_CHECK(!ch->job || c->user == U_SPOOLER, "%s used on_behalf_of", USERS[c->user]);
        FZ_CHECK(ch->filter != PANP_USER_FILTER_ALL_USERS || is_admin(c->user, ch->target),
                 "%s opened ALL_USERS on target %d", USERS[c->user], ch->target);
        ch->id = id;
        ch->open = true;
        for (int i = 0; i < w->nunresolved; i++)
            ch->lagged |= w->unresolved[i] == id;
        break;
    }
    case PANP_BODY_SENT: {
        FZ_CHECK(q.send >= 0 && w->s[q.send].chan >= 0, "Sent without a record");
        hsend *s = &w->s[q.send];
        hchan *ch = &w->ch[s->chan];
        /* Consecutive, unless a Sent went unmatched when the harness lost
         * count of this connection's requests. */
        FZ_CHECK(f->body.sent.sequence == ch->seq + 1 || (c->raw && f->body.sent.sequence > ch->seq),
                 "sequence %llu after %llu", (unsigned long long)f->body.sent.sequence,
                 (unsigned long long)ch->seq);
        ch->seq = f->body.sent.sequence;
        s->seq = f->body.sent.sequence;
        s->recipients = f->body.sent.recipients;
        FZ_CHECK(!s->notify_seq || s->notify_seq == s->seq, "Notify carried sequence %llu, Sent %llu",
                 (unsigned long long)s->notify_seq, (unsigned long long)s->seq);
        break;
    }
    case PANP_BODY_CHANNEL_CLOSE_RESULT: {
        panp_close_outcome o = f->body.channel_close_result.outcome;
        if (q.obj < 0)
            break;
        if (q.target == 1) { /* by channel: only the opener may */
            FZ_CHECK(o == PANP_CLOSE_OUTCOME_CLOSED, "sender close: outcome %d", o);
            w->ch[q.obj].open = false;
        } else {
            hconv *v = &w->cv[q.obj];
            FZ_CHECK(o != PANP_CLOSE_OUTCOME_WITHDRAWN || !v->acquired,
                     "the winner withdrew from its own conversation");
            v->open = false;
        }
        break;
    }
    default:
        break;
    }
}

/* ---- checking events ---------------------------------------------------------------- */

static void on_notify(world *w, int ci, const panp_notify *n)
{
    int ri = find_reg(w, n->registration);
    FZ_CHECK(ri >= 0 ? w->r[ri].conn == ci : w->any_raw,
             "conn %d: Notify through a handle it does not own", ci);
    int k = find_chan(w, n->channel_id);
    if (k < 0 || ri < 0) {
        FZ_CHECK(w->any_raw || unresolved(w, n->channel_id), "Notify of a channel nobody opened");
        return;
    }
    hreg *r = &w->r[ri];
    hchan *ch = &w->ch[k];
    FZ_CHECK(ch->conn != ci, "a channel's notification reached its own opener (CHAN-17)");
    FZ_CHECK(eligible(w, ch, r), "Notify the delivery table forbids: channel of %s (filter %d, "
             "job %d) to %s's registration (filter %d)", USERS[w->c[ch->conn].user], ch->filter,
             ch->job, USERS[w->c[ci].user], r->filter);
    FZ_CHECK(n->style == ch->style && n->notification_type.len == 16 &&
                 !memcmp(n->notification_type.data, TYPES[ch->type], 16),
             "Notify style/type are not the channel's");
    FZ_CHECK(n->client_state.len == r->cslen && (!r->cslen || !memcmp(n->client_state.data,
                                                                        r->cs, r->cslen)),
             "client_state not echoed");
    FZ_CHECK(n->has_sender && !strcmp(n->sender.user, USERS[w->c[ch->conn].user]),
             "sender.user is not the opener");
    FZ_CHECK(ch->job ? (n->sender.job_id == ch->job_id &&
                        !strcmp(n->sender.job_owner, USERS[ch->job_owner]))
                     : (n->sender.job_id == 0 && !n->sender.job_owner[0]),
             "sender job fields wrong");
    FZ_CHECK((ch->target == T_SERVER && n->target.kind == PANP_TARGET_SERVER) ||
                 (ch->target != T_SERVER && n->target.kind == PANP_TARGET_PRINTER &&
                  !strcmp(n->target.printer, PRINTERS[ch->target])),
             "Notify target wrong");
    /* The payload says which Send it is. */
    FZ_CHECK(n->payload.len >= 5 && n->payload.data[0] == 'P', "payload not ours");
    uint32_t si;
    memcpy(&si, n->payload.data + 1, 4);
    FZ_CHECK((int)si < w->ns && w->s[si].chan == k && w->s[si].len == n->payload.len,
             "payload of another Send");
    hsend *s = &w->s[si];
    for (size_t i = 5; i < n->payload.len; i++)
        FZ_CHECK(n->payload.data[i] == s->fill, "payload altered at %zu", i);
    FZ_CHECK(!s->notify_seq || s->notify_seq == n->sequence, "one Send, two sequences");
    FZ_CHECK(!s->seq || s->seq == n->sequence, "Notify sequence %llu, Sent said %llu",
             (unsigned long long)n->sequence, (unsigned long long)s->seq);
    s->notify_seq = n->sequence;
    s->received++;

    if (ch->style == PANP_STYLE_UNIDIRECTIONAL) {
        FZ_CHECK(r->live, "unidirectional Notify after the registration ended");
        FZ_CHECK(!w->uni_closed[ci][k], "Notify after the channel's ChannelClosed (CHAN-24)");
        FZ_CHECK(n->conversation_id == 0, "conversation id on a unidirectional channel");
        FZ_CHECK(n->sequence > w->uni_seq[ri][k], "sequence %llu after %llu (ORD-1/3)",
                 (unsigned long long)n->sequence, (unsigned long long)w->uni_seq[ri][k]);
        w->uni_seq[ri][k] = n->sequence;
        return;
    }
    int vi = find_conv(w, n->conversation_id);
    if (vi < 0 && ch->lagged)
        return;
    if (vi < 0) { /* an offer: a new conversation */
        FZ_CHECK(n->conversation_id && find_chan(w, n->conversation_id) < 0,
                 "conversation id 0 or a channel's");
        FZ_CHECK(r->live, "question offered through an ended registration");
        FZ_CHECK(ch->winner < 0, "question offered after the channel was won (BIDI-4)");
        for (int i = 0; i < w->ncv; i++)
            FZ_CHECK(!(w->cv[i].chan == k && w->cv[i].reg == ri),
                     "one registration offered one channel twice");
        FZ_CHECK(w->ncv < MAXCV, "too many conversations");
        vi = w->ncv++;
        w->cv[vi] = (hconv){n->conversation_id, k, ci, ri, true, false, 0};
    }
    hconv *v = &w->cv[vi];
    FZ_CHECK(v->conn == ci && v->chan == k && v->reg == ri,
             "conversation %llx belongs elsewhere", (unsigned long long)v->id);
    FZ_CHECK(v->open, "Notify after the conversation's ChannelClosed (CHAN-24)");
    FZ_CHECK(n->sequence > v->last_seq, "conversation sequence %llu after %llu",
             (unsigned long long)n->sequence, (unsigned long long)v->last_seq);
    v->last_seq = n->sequence;
}

static void on_channel_closed(world *w, int ci, const panp_channel_closed *cc)
{
    bool release = panp_bytes_is_uuid(cc->notification_type, PANP_TYPE_NOTIFICATION_RELEASE);
    bool gone = cc->reason == PANP_CLOSE_REASON_PEER_GONE ||
                cc->reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN;
    FZ_CHECK(release == gone, "NOTIFICATION_RELEASE with reason %d (REL-1)", cc->reason);
    int k = find_chan(w, cc->channel_id);
    if (k < 0) {
        FZ_CHECK(w->any_raw || unresolved(w, cc->channel_id),
                 "ChannelClosed for channel %llx, which nobody opened",
                 (unsigned long long)cc->channel_id);
        return;
    }
    hchan *ch = &w->ch[k];
    if (ch->conn == ci) { /* the sender's side */
        FZ_CHECK(ch->open, "two ChannelClosed to the sender");
        FZ_CHECK(cc->conversation_id == 0 && !cc->registration.len,
                 "sender's ChannelClosed names a conversation");
        FZ_CHECK(ch->style == PANP_STYLE_BIDIRECTIONAL ||
                     cc->reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN,
                 "a unidirectional sender told reason %d (UNI-6)", cc->reason);
        ch->open = false;
        return;
    }
    int ri = find_reg(w, cc->registration);
    FZ_CHECK(ri >= 0 ? w->r[ri].conn == ci : w->any_raw,
             "conn %d: ChannelClosed through a handle it does not own", ci);
    if (ri < 0)
        return;
    if (ch->style == PANP_STYLE_UNIDIRECTIONAL) {
        FZ_CHECK(cc->conversation_id == 0, "conversation id on a unidirectional close");
        FZ_CHECK(!w->uni_closed_reg[ri][k], "two ChannelClosed for one registration");
        w->uni_closed_reg[ri][k] = true;
        w->uni_closed[ci][k] = true;
        return;
    }
    int vi = find_conv(w, cc->conversation_id);
    if (vi < 0 && ch->lagged)
        return;
    if (vi < 0) {
        /* Its Notify never reached us: it could not be queued (SPEC 17), or it
         * was still queued when the conversation ended and the core dropped
         * it so the ChannelClosed would not wait behind it (10.5).  A client
         * takes either (CLI-11). */
        FZ_CHECK(w->ncv < MAXCV, "too many conversations");
        vi = w->ncv++;
        w->cv[vi] = (hconv){cc->conversation_id, k, ci, ri, false, false, 0};
        return;
    }
    hconv *v = &w->cv[vi];
    FZ_CHECK(v->conn == ci && v->reg == ri, "ChannelClosed names another's conversation");
    FZ_CHECK(v->open, "two ChannelClosed for one conversation");
    v->open = false;
}

static void on_event(world *w, int ci, const panp_frame *f)
{
    hconn *c = &w->c[ci];
    FZ_CHECK(f->request_id == 0, "event %s with request id %llu (CONN-16)",
             panp_body_name(f->kind), (unsigned long long)f->request_id);
    switch (f->kind) {
    case PANP_BODY_NOTIFY:
        on_notify(w, ci, &f->body.notify);
        break;
    case PANP_BODY_CHANNEL_CLOSED:
        on_channel_closed(w, ci, &f->body.channel_closed);
        break;
    case PANP_BODY_REPLY_DELIVERY: {
        int k = find_chan(w, f->body.reply_delivery.channel_id);
        FZ_CHECK(k >= 0 || w->any_raw, "ReplyDelivery for an unknown channel");
        if (k >= 0) {
            FZ_CHECK(w->ch[k].conn == ci, "ReplyDelivery to someone else than the sender");
            FZ_CHECK(w->ch[k].open, "ReplyDelivery after the channel closed");
            FZ_CHECK(f->body.reply_delivery.sequence == w->ch[k].seq,
                     "ReplyDelivery answers %llu, last question %llu",
                     (unsigned long long)f->body.reply_delivery.sequence,
                     (unsigned long long)w->ch[k].seq);
        }
        break;
    }
    case PANP_BODY_REGISTRATION_ENDED: {
        int ri = find_reg(w, f->body.registration_ended.handle);
        FZ_CHECK(ri >= 0 ? w->r[ri].conn == ci : w->any_raw,
                 "RegistrationEnded for another's handle");
        if (ri < 0)
            break;
        hreg *r = &w->r[ri];
        FZ_CHECK(r->live, "RegistrationEnded for an ended registration");
        FZ_CHECK(r->lease && w->now >= r->lease_from + (uint64_t)r->lease * 1000,
                 "lease of %u s ended after %llu ms (LEASE-3/4)", r->lease,
                 (unsigned long long)(w->now - r->lease_from));
        offered_closed(w, ri, "RegistrationEnded");
        r->live = false;
        /* It ended in the first step whose clock reached the lease's end,
         * whenever this slow or fast reader reads it. */
        uint64_t end = r->lease_from + (uint64_t)r->lease * 1000;
        r->ended = w->step;
        for (int s = r->born; s <= w->step; s++)
            if (w->clock[s] >= end) {
                r->ended = s;
                break;
            }
        break;
    }
    case PANP_BODY_GOODBYE:
        c->rx_end = c->rx_goodbye = true;
        c->qn = 0;
        break;
    default:
        break;
    }
}

static void on_frame(world *w, int ci, const panp_frame *f)
{
    hconn *c = &w->c[ci];
    /* After a fatal Error only a Goodbye may follow; after Goodbye nothing. */
    FZ_CHECK(!c->rx_end || (f->kind == PANP_BODY_GOODBYE && !c->rx_goodbye),
             "conn %d: %s after the connection ended", ci, panp_body_name(f->kind));
    if (is_event(f->kind))
        on_event(w, ci, f);
    else
        on_response(w, ci, f);
}

/* ---- after each step ----------------------------------------------------------------- */

static void mark_dead(world *w, int ci)
{
    hconn *c = &w->c[ci];
    if (c->dead)
        return;
    c->dead = true; /* what is queued still arrives, answers included */
    if (!c->ready || w->shutdown)
        return;
    for (int k = 0; k < w->nch; k++)
        if (w->ch[k].conn == ci && w->ch[k].open && w->ch[k].owner_died < 0)
            w->ch[k].owner_died = w->step;
}

/* Peer death: every listener still in a dead sender's channel, and the
 * sender of a channel a dead listener had won, has been told (once its
 * queue is read). */
static void check_release(world *w)
{
    for (int li = 0; li < w->nc; li++) {
        hconn *l = &w->c[li];
        if (!conn_alive(l) || !l->ready || l->raw || core_conn_queued(l->cc))
            continue;
        for (int k = 0; k < w->nch; k++) {
            hchan *ch = &w->ch[k];
            if (ch->owner_died < 0 || ch->conn == li || ch->lagged)
                continue;
            for (int i = 0; i < w->ncv; i++)
                FZ_CHECK(!(w->cv[i].chan == k && w->cv[i].conn == li && w->cv[i].open),
                         "conn %d still in conversation %d of a dead sender's channel", li, i);
            if (ch->style != PANP_STYLE_UNIDIRECTIONAL)
                continue;
            for (int ri = 0; ri < w->nr; ri++) {
                const hreg *r = &w->r[ri];
                if (r->conn != li || r->born > ch->owner_died ||
                    (!r->live && r->ended <= ch->owner_died) || !eligible(w, ch, r))
                    continue;
                FZ_CHECK(w->uni_closed_reg[ri][k],
                         "registration %d (conn %d, target %d, type %d, filter %d, live %d, "
                         "born %d) never told that channel %d (conn %d, target %d, type %d, "
                         "filter %d) died at step %d", ri, r->conn, r->target, r->type,
                         r->filter, r->live, r->born, k, ch->conn, ch->target, ch->type,
                         ch->filter, ch->owner_died);
            }
        }
        /* A sender whose winner died. */
        for (int k = 0; k < w->nch; k++) {
            hchan *ch = &w->ch[k];
            if (ch->conn != li || !ch->open || ch->winner < 0)
                continue;
            const hconv *v = &w->cv[ch->winner];
            FZ_CHECK(!w->c[v->conn].dead || !v->open,
                     "conn %d still has channel %d whose winner died", li, k);
        }
    }
}

/* A unidirectional Send reached exactly the registrations the table
 * selects, when no queue stood in the way (every queue empty before it,
 * every listener reading, payloads that fit every frame limit). */
static void check_fanout(world *w, int si, bool clear_before)
{
    hsend *s = &w->s[si];
    if (s->chan < 0 || s->checked || s->recipients < 0)
        return;
    hchan *ch = &w->ch[s->chan];
    if (ch->style != PANP_STYLE_UNIDIRECTIONAL)
        return;
    s->checked = true;
    FZ_CHECK(s->received <= s->recipients, "%u Notifies for %lld recipients", s->received,
             (long long)s->recipients);
    if (!clear_before || w->any_raw)
        return;
    uint32_t want = 0;
    size_t bytes[MAXC] = {0};
    for (int ri = 0; ri < w->nr; ri++) {
        const hreg *r = &w->r[ri];
        const hconn *l = &w->c[r->conn];
        if (!r->live || !conn_alive(l) || !eligible(w, ch, r))
            continue;
        bytes[r->conn] += s->len + 1100;
        if (l->slow || (l->max_frame && s->len > 2000) ||
            bytes[r->conn] > w->cfg->limits.max_outbound_bytes)
            return; /* may be dropped (SPEC 17): nothing exact to say */
        want++;
    }
    FZ_CHECK(s->recipients == want && s->received == want,
             "Send reached %u (Sent says %lld), the delivery table selects %u", s->received,
             (long long)s->recipients, want);
}

static void after_step(world *w, bool queues_were_empty, int send)
{
    const panpd_limits *lim = &w->cfg->limits;
    for (int i = 0; i < w->nc; i++) {
        hconn *c = &w->c[i];
        if (!c->cc)
            continue;
        read_conn(w, i, c->slow ? c->read_budget : SIZE_MAX);
        if (!c->cc)
            continue;
        size_t q = core_conn_queued(c->cc);
        FZ_CHECK(q <= (size_t)lim->max_outbound_bytes + lim->control_allowance_bytes,
                 "conn %d queues %zu bytes, bound %u + %u", i, q, lim->max_outbound_bytes,
                 lim->control_allowance_bytes);
    }
    for (int i = 0; i < w->nc; i++) {
        hconn *c = &w->c[i];
        if (!c->cc)
            continue;
        unsigned io = core_conn_io(c->cc);
        if (!(io & CORE_IO_READ))
            mark_dead(w, i);
        if (io & CORE_IO_CLOSE || (io & CORE_IO_DRAINED && !c->slow)) {
            core_disconnect(w->core, c->cc, CORE_GONE_FLUSHED, w->now);
            c->cc = NULL;
            mark_dead(w, i);
        }
    }
    for (int i = 0; i < w->nc; i++) {
        hconn *c = &w->c[i];
        /* Answered at once (CONN-17): nothing outstanding once read. */
        if (conn_alive(c) && !c->raw && !core_conn_queued(c->cc))
            FZ_CHECK(c->qn == 0, "conn %d: %zu requests unanswered (first %s)", i, c->qn,
                     panp_body_name(c->q[0].kind));
    }
    if (send >= 0)
        check_fanout(w, send, queues_were_empty);
    if (!w->shutdown)
        check_release(w);
}

/* ---- building requests ------------------------------------------------------------------ */

static panp_target target_of(int t)
{
    panp_target v = {PANP_TARGET_SERVER, NULL};
    if (t != T_SERVER)
        v = (panp_target){PANP_TARGET_PRINTER, PRINTERS[t]};
    return v;
}

/* A connection that can take a request: live, hello sent. */
static int pick_conn(world *w, fz_in *in)
{
    if (!w->nc)
        return -1;
    int ci = fz_u8(in) % w->nc;
    return conn_alive(&w->c[ci]) && w->c[ci].hello_sent ? ci : -1;
}

static int pick(fz_in *in, int n)
{
    return n ? fz_u8(in) % n : -1;
}

static void op_connect(world *w, fz_in *in)
{
    if (w->nc == MAXC)
        return;
    uint8_t b = fz_u8(in);
    hconn *c = &w->c[w->nc];
    memset(c, 0, sizeof *c);
    c->user = b % NUSERS;
    c->session = (b >> 3) % 3;
    c->max_frame = (b & 0x40) ? 4096 : 0;
    c->next_rid = 1ull << 40; /* far from what raw bytes carry */
    core_peer peer = {c->user == U_TOKEN ? CORE_TRANSPORT_TCP : CORE_TRANSPORT_UNIX,
                      c->user == U_TOKEN ? NULL : USERS[c->user], "fuzz", NULL, true};
    c->cc = core_connect(w->core, &peer, w->now);
    if (!c->cc)
        return;
    c->fr = panp_framer_new(c->max_frame, false);
    int ci = w->nc++;
    if (b & 0x80) /* the script will speak for itself */
        return;
    core_on_bytes(w->core, c->cc, (const uint8_t *)PANP_PREFACE, PANP_PREFACE_LEN, w->now);
    panp_frame f = {.kind = PANP_BODY_HELLO};
    f.body.hello = (panp_hello){.min_version = 1, .max_version = 1, .software = "fuzz",
                                .auth = c->user == U_TOKEN ? PANP_AUTH_TOKEN : PANP_AUTH_EXTERNAL,
                                .session_label = SESSIONS[c->session],
                                .max_frame_size = c->max_frame};
    if (c->user == U_TOKEN)
        f.body.hello.token = (panp_bytes){(const uint8_t *)TOKEN, strlen(TOKEN)};
    c->hello_sent = true;
    req r = {.obj = -1, .send = -1};
    request(w, ci, &f, &r, false, false);
}

static void payload_of(world *w, int si, uint8_t *buf)
{
    buf[0] = 'P';
    uint32_t v = (uint32_t)si;
    memcpy(buf + 1, &v, 4);
    memset(buf + 5, w->s[si].fill, w->s[si].len - 5);
}

static size_t payload_len(fz_in *in)
{
    uint8_t b = fz_u8(in);
    if (b < 200)
        return 5 + b;
    if (b < 250)
        return 5000 + (size_t)b * 4;
    return PANP_PAYLOAD_MAX;
}

/* What a request naming id (a channel id, or a conversation id with conv)
 * on connection ci names: its index when it is ci's own, else -1 with r
 * saying whether the id is another connection's, or issued to nobody.  The
 * ids are deterministic, so the fuzzer guesses real ones too. */
static int classify(world *w, int ci, uint64_t id, bool conv, req *r)
{
    int i = conv ? find_conv(w, id) : find_chan(w, id);
    int owner = i < 0 ? -1 : conv ? w->cv[i].conn : w->ch[i].conn;
    if (i < 0) {
        r->unknown = true;
        r->never = (conv ? find_chan(w, id) : find_conv(w, id)) < 0;
    } else if (owner != ci) {
        r->foreign = true;
        i = -1;
    }
    return i;
}

/* One request from the script on connection ci. */
static int op_request(world *w, int ci, fz_in *in, uint8_t op)
{
    hconn *c = &w->c[ci];
    uint8_t flags = fz_u8(in);
    bool inject = flags & 1, rid0 = (flags & 0xfe) == 0xfe && !c->raw;
    panp_frame f;
    memset(&f, 0, sizeof f);
    req r = {.obj = -1, .send = -1};
    uint8_t buf[PANP_PAYLOAD_MAX];
    uint8_t cs[PANP_CLIENT_STATE_MAX];
    uint8_t h[PANP_HANDLE_MAX_LEN];
    int sent = -1;
    switch (op) {
    case 0: { /* Register */
        if (w->nr == MAXREG)
            return -1;
        uint8_t b = fz_u8(in);
        hreg *g = &w->r[w->nr++];
        memset(g, 0, sizeof *g);
        g->conn = ci;
        g->target = b & 3;
        g->type = (b >> 2) & 1;
        g->style = (b & 8) ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL;
        g->filter = (b & 0x30) == 0x30 ? PANP_USER_FILTER_ALL_USERS : PANP_USER_FILTER_PER_USER;
        g->cslen = fz_u8(in) % (PANP_CLIENT_STATE_MAX + 1);
        for (size_t i = 0; i < g->cslen; i++)
            g->cs[i] = cs[i] = (uint8_t)(i * 7 + ci);
        uint8_t l = fz_u8(in);
        r.lease = l < 128 ? 0 : l < 250 ? l % 8 : 100000;
        r.target = g->target;
        r.obj = (int)(g - w->r);
        f.kind = PANP_BODY_REGISTER;
        f.body.register_listener = (panp_register){target_of(g->target),
                                                   {TYPES[g->type], 16}, g->filter, g->style,
                                                   r.lease, {cs, g->cslen}};
        break;
    }
    case 1: { /* OpenChannel */
        if (w->nch == MAXCH)
            return -1;
        uint8_t b = fz_u8(in);
        hchan *h = &w->ch[w->nch++];
        memset(h, 0, sizeof *h);
        h->conn = ci;
        h->target = b & 3;
        h->type = (b >> 2) & 1;
        h->style = (b & 8) ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL;
        h->filter = (b & 0x30) == 0x30 ? PANP_USER_FILTER_ALL_USERS : PANP_USER_FILTER_PER_USER;
        h->job = b & 0x40;
        h->winner = -1;
        h->owner_died = -1;
        uint8_t j = fz_u8(in);
        h->job_owner = j % (NUSERS - 1);
        h->job_session = (j >> 4) % 3;
        h->job_id = j;
        r.target = h->target;
        r.obj = (int)(h - w->ch);
        f.kind = PANP_BODY_OPEN_CHANNEL;
        panp_open_channel *o = &f.body.open_channel;
        *o = (panp_open_channel){target_of(h->target), {TYPES[h->type], 16}, h->filter, h->style,
                                 h->job, {h->job_id, USERS[h->job_owner],
                                          SESSIONS[h->job_session]}};
        break;
    }
    case 2: { /* Send */
        if (w->ns == MAXSEND)
            return -1;
        uint8_t b = fz_u8(in);
        int k = pick(in, w->nch);
        uint64_t id = k >= 0 ? w->ch[k].id : fz_u64(in);
        if (b < 8)
            id = fz_u64(in);
        else if (b < 16 && w->ncv)
            id = w->cv[fz_u8(in) % w->ncv].id; /* a conversation id as a channel id */
        int named = find_chan(w, id);
        int type = named >= 0 ? w->ch[named].type : 0;
        k = classify(w, ci, id, false, &r);
        hsend *s = &w->s[w->ns];
        memset(s, 0, sizeof *s);
        s->chan = k; /* -1: numbered, never matched */
        s->len = payload_len(in);
        s->fill = fz_u8(in);
        s->step = w->step;
        s->recipients = -1;
        payload_of(w, w->ns, buf);
        r.send = sent = w->ns++;
        f.kind = PANP_BODY_SEND;
        if (b >= 240)
            type ^= 1;
        f.body.send = (panp_send){id, {TYPES[type], 16}, {buf, s->len}};
        break;
    }
    case 3: { /* Reply */
        int v = pick(in, w->ncv);
        uint64_t id = v >= 0 ? w->cv[v].id : fz_u64(in);
        v = find_conv(w, id);
        int type = v >= 0 ? w->ch[w->cv[v].chan].type : 0;
        r.obj = classify(w, ci, id, true, &r);
        if (fz_u8(in) >= 240)
            type ^= 1;
        size_t len = payload_len(in);
        memset(buf, 'r', len);
        f.kind = PANP_BODY_REPLY;
        f.body.reply = (panp_reply){id, {TYPES[type], 16}, {buf, len}};
        break;
    }
    case 4: { /* CloseChannel */
        uint8_t b = fz_u8(in);
        f.kind = PANP_BODY_CLOSE_CHANNEL;
        panp_close_channel *cl = &f.body.close_channel;
        int type = 0;
        if (b & 1) {
            int k = pick(in, w->nch);
            cl->side = PANP_CLOSE_SIDE_CHANNEL;
            cl->id = k >= 0 ? w->ch[k].id : fz_u64(in);
            r.target = 1;
            k = find_chan(w, cl->id);
            type = k >= 0 ? w->ch[k].type : 0;
            /* another's: also a channel it listens to (UNI-4) */
            r.obj = classify(w, ci, cl->id, false, &r);
        } else {
            int v = pick(in, w->ncv);
            cl->side = PANP_CLOSE_SIDE_CONVERSATION;
            cl->id = v >= 0 ? w->cv[v].id : fz_u64(in);
            r.target = 2;
            v = find_conv(w, cl->id);
            type = v >= 0 ? w->ch[w->cv[v].chan].type : 0;
            r.obj = classify(w, ci, cl->id, true, &r);
        }
        if (b & 2) {
            cl->has_reason = true;
            r.reason = true;
            if (b & 4)
                type ^= 1;
            size_t len = payload_len(in) % 300;
            memset(buf, 'c', len);
            cl->reason = (panp_notification){{TYPES[type], 16}, {buf, len}};
        }
        break;
    }
    case 5:
    case 6: { /* Unregister, Renew */
        int ri = pick(in, w->nr);
        panp_bytes hb = {h, 16};
        if (ri >= 0 && fz_u8(in) < 230) {
            hb = (panp_bytes){w->r[ri].h, w->r[ri].hlen};
        } else {
            /* Random bytes; the fuzzer may well guess a real handle (the
             * random source is the same for every input). */
            for (int i = 0; i < 16; i++)
                h[i] = fz_u8(in);
            ri = find_reg(w, hb);
        }
        if (ri < 0 || !w->r[ri].hlen) {
            r.unknown = r.never = ri < 0;
            r.unknown = true;
        } else if (w->r[ri].conn != ci) {
            r.foreign = true;
        } else {
            r.obj = ri;
            r.unknown = !w->r[ri].live; /* ended: as good as never issued */
        }
        if (op == 5) {
            f.kind = PANP_BODY_UNREGISTER;
            f.body.unregister.handle = hb;
        } else {
            uint8_t l = fz_u8(in);
            r.lease = l < 128 ? 0 : l < 250 ? l % 8 : 100000;
            f.kind = PANP_BODY_RENEW;
            f.body.renew = (panp_renew){hb, r.lease};
        }
        break;
    }
    case 7: { /* ListRegistrations */
        uint8_t b = fz_u8(in);
        f.kind = PANP_BODY_LIST_REGISTRATIONS;
        r.target = b & 3;
        if (b & 4)
            f.body.list_registrations.target = target_of(b & 3);
        f.body.list_registrations.offset = (b >> 3) % 8;
        break;
    }
    case 8:
        f.kind = PANP_BODY_PING;
        break;
    default: /* Goodbye: a notice, no answer */
        f.kind = PANP_BODY_GOODBYE;
        f.body.goodbye = (panp_goodbye){PANP_GOODBYE_CLIENT_DONE, "bye"};
        /* After raw bytes the core may still be inside a frame they began,
         * and take these bytes as more of it: only an in-step stream is
         * known to have said goodbye.  (If the core did end the connection,
         * after_step() sees it stop reading.) */
        if (send_frame(w, ci, &f, inject) && c->ready && !c->raw)
            mark_dead(w, ci);
        return -1;
    }
    request(w, ci, &f, &r, inject, rid0);
    return sent;
}

static void op_raw(world *w, fz_in *in)
{
    int ci = w->nc ? fz_u8(in) % w->nc : -1;
    if (ci < 0 || !conn_alive(&w->c[ci]))
        return;
    size_t n;
    const uint8_t *p = fz_take(in, fz_u8(in), &n);
    w->c[ci].raw = w->any_raw = true;
    w->c[ci].hello_sent = true;
    core_on_bytes(w->core, w->c[ci].cc, p, n, w->now);
}

/* ---- the script ------------------------------------------------------------------------------ */

static bool all_queues_empty(const world *w)
{
    for (int i = 0; i < w->nc; i++)
        if (w->c[i].cc && core_conn_queued(w->c[i].cc))
            return false;
    return true;
}

static void step(world *w, fz_in *in)
{
    uint8_t op = fz_u8(in);
    bool empty = all_queues_empty(w);
    int send = -1;
    switch (op % 16) {
    case 0:
    case 1:
        op_connect(w, in);
        break;
    case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: {
        int ci = pick_conn(w, in);
        if (ci >= 0)
            send = op_request(w, ci, in, (uint8_t)(fz_u8(in) % 10));
        break;
    }
    case 11:
        op_raw(w, in);
        break;
    case 12: { /* EOF or reset */
        int ci = w->nc ? fz_u8(in) % w->nc : -1;
        if (ci < 0 || !w->c[ci].cc)
            break;
        if (op & 0x10) {
            core_disconnect(w->core, w->c[ci].cc, CORE_GONE_RESET, w->now);
            w->c[ci].cc = NULL;
        } else {
            core_on_eof(w->core, w->c[ci].cc, w->now);
        }
        mark_dead(w, ci);
        break;
    }
    case 13: { /* the clock */
        static const uint32_t ms[8] = {1, 500, 1000, 1001, 2001, 5000, 10001, 90001};
        w->now += ms[fz_u8(in) % 8];
        w->clock[w->step] = w->now;
        core_tick(w->core, w->now);
        break;
    }
    case 14: { /* a reader that slows down or speeds up */
        int ci = w->nc ? fz_u8(in) % w->nc : -1;
        if (ci >= 0) {
            w->c[ci].slow = !w->c[ci].slow;
            w->c[ci].read_budget = (size_t)fz_u8(in) * 64;
        }
        break;
    }
    default:
        if (op == 0xff && !w->shutdown) {
            w->shutdown = true;
            core_shutdown(w->core, w->now);
        }
        break;
    }
    after_step(w, empty, send);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = fz_in_make(data, size);
    world *w = calloc(1, sizeof *w);
    w->cfg = make_config(fz_u8(&in));
    w->now = 1000000;
    core_hooks hooks = {.ud = w, .random = h_random, .log = getenv("FZ_LOG") ? h_log : NULL};
    if (getenv("FZ_LOG"))
        w->cfg->log_level = LOG_DEBUG;
    w->core = core_new(w->cfg, &hooks, w->now);
    FZ_CHECK(w->core, "core_new");
    for (w->step = 0; in.left && w->step < MAXSTEPS; w->step++) {
        w->clock[w->step] = w->now;
        step(w, &in);
    }

    /* Everyone leaves; nothing may stay behind. */
    for (int i = 0; i < w->nc; i++) {
        if (w->c[i].cc)
            core_disconnect(w->core, w->c[i].cc, CORE_GONE_RESET, w->now);
        panp_framer_free(w->c[i].fr);
    }
    core_stats st;
    core_get_stats(w->core, &st);
    FZ_CHECK(st.conns == 0 && st.registrations == 0 && st.channels == 0 && st.conversations == 0,
             "left behind: %zu conns, %zu registrations, %zu channels, %zu conversations",
             st.conns, st.registrations, st.channels, st.conversations);
    core_free(w->core);
    conf_free(w->cfg);
    free(w);
    return 0;
}
