/* fuzz_client.c - libpanp against whatever a broker may send (issue 7,
 * target 6).
 *
 * The harness is the broker.  Per input it listens on a Unix socket,
 * connects an async libpanp context to it (reference-client/include/
 * panp/client.h), accepts, and plays a script:
 *   broker actions: a frame built from the input (a response to the
 *   client's oldest request, right or wrong; an event naming handles,
 *   channel and conversation ids the harness handed out or random ones;
 *   Error, fatal or not; Goodbye), raw bytes, closing the socket;
 *   application actions: register, open, send, reply, close, unregister,
 *   renew, list, sync, release, a timer tick;
 * and its callbacks act from inside themselves as the input says: reply,
 * close, unregister, release the channel, free the context (deferred).
 *
 * Invariants:
 *  - the client sends the preface, then frames a broker accepts
 *    (panp_decode as a broker), nothing but Hello before the Welcome, non-
 *    zero request ids never shared by two outstanding requests, nothing
 *    larger than the Welcome's max_frame_size;
 *  - a frame a client must treat as a broken broker (a request body, a
 *    response that fits no outstanding request) ends the connection;
 *  - every async request that returned PANP_OK completes exactly once (by
 *    the end, panp_free included), every other never;
 *  - on_closed at most once per channel and per conversation, nothing for
 *    a conversation after its on_closed, nothing for a released channel;
 *  - no crash, leak or undefined behaviour (the sanitizers).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_script.h"
#include "panp/client.h"

enum { MAXTOK = 256, MAXOBJ = 48, MAXOUT = 64 };

typedef struct tok {
    bool issued;
    int calls;
} tok;

typedef struct tchan {
    panp_channel *ch;
    bool released;
    int closed;
} tchan;

typedef struct tconv {
    panp_conversation *cv;
    int closed;
} tconv;

typedef struct oreq { /* a request the client sent, not yet answered */
    uint64_t rid;
    panp_body_kind kind;
} oreq;

typedef struct ctx {
    fz_in in;
    char path[108];
    int lfd, sfd;
    panp_client *c;
    bool dying;          /* panp_free_deferred() was called */
    int depth;           /* callbacks on the stack */
    bool client_closed;  /* EOF on our side */
    bool welcomed;       /* we sent a Welcome */
    bool desync;         /* raw bytes went out: frame boundaries are unknown */
    uint32_t broker_max; /* the max_frame_size we announced */
    /* reading the client */
    size_t preface_got;
    panp_framer *fr;
    oreq out[MAXOUT];
    size_t nout;
    /* what we handed out */
    uint8_t handles[8][16];
    int nhandles;
    uint64_t chan_ids[8], conv_ids[8];
    int nchan_ids, nconv_ids;
    /* the application's side */
    tok toks[MAXTOK];
    int ntoks;
    panp_registration *regs[MAXOBJ]; /* NULL once given back (unregistered) */
    int nregs;
    tchan chans[MAXOBJ];
    int nchans;
    tconv convs[MAXOBJ];
    int nconvs;
} ctx;

static const uint8_t TYPE[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88,
                                 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

static bool usable(const ctx *x) { return x->c && !x->dying; }

/* ---- completions ------------------------------------------------------------ */

static void done_cb(panp_client *c, const panp_result *r, void *data);
static void app_action(ctx *x, uint8_t op);

static void *new_tok(ctx *x)
{
    if (x->ntoks == MAXTOK)
        return NULL;
    return &x->toks[x->ntoks++];
}

/* Records whether the request was accepted (then exactly one completion
 * is owed). */
static void issued(ctx *x, void *t, panp_error_code rc)
{
    (void)x;
    if (getenv("FZ_LOG"))
        fprintf(stderr, "app request: %s\n", panp_strerror(rc));
    if (t)
        ((tok *)t)->issued = rc == PANP_OK;
}

/* ---- callbacks ----------------------------------------------------------------- */

/* The newest record: a released channel's memory may come back for a new one. */
static tchan *find_chan(ctx *x, const panp_channel *ch)
{
    for (int i = x->nchans - 1; i >= 0; i--)
        if (x->chans[i].ch == ch)
            return &x->chans[i];
    return NULL;
}

/* Gives a registration back: the pointer is the library's from now on. */
static void unregister(ctx *x, panp_registration *reg)
{
    int i = 0;
    while (i < x->nregs && x->regs[i] != reg)
        i++;
    if (i == x->nregs || !usable(x))
        return; /* not ours any more */
    x->regs[i] = NULL;
    void *t = new_tok(x);
    issued(x, t, panp_async_unregister_listener(x->c, reg, t ? done_cb : NULL, t, NULL));
}

static tconv *find_conv(ctx *x, const panp_conversation *cv)
{
    for (int i = 0; i < x->nconvs; i++)
        if (x->convs[i].cv == cv)
            return &x->convs[i];
    return NULL;
}

/* Inside a callback: maybe act on the library, as the input says. */
static void inner(ctx *x)
{
    uint8_t b = fz_u8(&x->in);
    if (!usable(x) || x->depth > 3)
        return;
    if (b == 0xff) {
        x->dying = true;
        panp_free_deferred(x->c);
        return;
    }
    if (b >= 0xc0)
        app_action(x, (uint8_t)(b & 0x0f));
}

static void on_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                      const panp_notify *n, void *data)
{
    ctx *x = data;
    (void)c, (void)n;
    x->depth++;
    if (cv) {
        tconv *t = find_conv(x, cv);
        FZ_CHECK(!t || !t->closed, "Notify for a conversation after its on_closed");
        if (!t && x->nconvs < MAXOBJ && (fz_u8(&x->in) & 1)) {
            panp_conversation_retain(cv); /* keeps the pointer unique until the end */
            x->convs[x->nconvs++] = (tconv){cv, 0};
        }
        uint8_t b = fz_u8(&x->in);
        if (b < 64 && usable(x)) {
            void *t2 = new_tok(x);
            issued(x, t2, panp_async_conversation_reply(x->c, cv, "ok", 2, t2 ? done_cb : NULL,
                                                        t2, NULL));
        } else if (b < 128 && usable(x)) {
            void *t2 = new_tok(x);
            issued(x, t2, panp_async_conversation_close(x->c, cv, b & 1 ? "r" : NULL, b & 1,
                                                        t2 ? done_cb : NULL, t2, NULL));
        } else if (b < 144) {
            unregister(x, reg);
        }
    }
    inner(x);
    x->depth--;
}

static void on_conv_closed(panp_client *c, panp_registration *reg, panp_conversation *cv,
                           const panp_closed_info *info, void *data)
{
    ctx *x = data;
    (void)c, (void)info;
    x->depth++;
    if (cv) {
        tconv *t = find_conv(x, cv);
        if (t)
            FZ_CHECK(++t->closed == 1, "on_closed twice for one conversation");
    }
    if ((fz_u8(&x->in) & 7) == 0)
        unregister(x, reg);
    inner(x);
    x->depth--;
}

static void on_reg_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason why,
                         void *data)
{
    ctx *x = data;
    (void)c, (void)reg, (void)why;
    x->depth++;
    inner(x);
    x->depth--;
}

static void on_reply(panp_client *c, panp_channel *ch, const panp_reply_delivery *r, void *data)
{
    ctx *x = data;
    (void)c, (void)r;
    x->depth++;
    tchan *t = find_chan(x, ch);
    FZ_CHECK(t && !t->released, "on_reply for a released or unknown channel");
    FZ_CHECK(!t->closed, "on_reply after on_closed");
    uint8_t b = fz_u8(&x->in);
    if (b < 32 && usable(x)) {
        t->released = true;
        panp_channel_release(x->c, ch);
    } else if (b < 96 && usable(x)) {
        void *t2 = new_tok(x);
        issued(x, t2, panp_async_channel_send(x->c, ch, "again", 5, t2 ? done_cb : NULL, t2, NULL));
    }
    inner(x);
    x->depth--;
}

static void on_chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info,
                           void *data)
{
    ctx *x = data;
    (void)c, (void)info;
    x->depth++;
    tchan *t = find_chan(x, ch);
    FZ_CHECK(t && !t->released, "on_closed for a released or unknown channel");
    FZ_CHECK(++t->closed == 1, "on_closed twice for one channel");
    if ((fz_u8(&x->in) & 3) == 0 && usable(x)) {
        t->released = true;
        panp_channel_release(x->c, ch);
    }
    inner(x);
    x->depth--;
}

static void on_connection(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    ctx *x = data;
    (void)c, (void)ev, (void)why;
    x->depth++;
    inner(x);
    x->depth--;
}

static void done_cb(panp_client *c, const panp_result *r, void *data)
{
    (void)c;
    tok *t = data;
    FZ_CHECK(r && r->status, "completion without a result");
    t->calls++;
    FZ_CHECK(t->issued, "completion of a request that returned an error");
    FZ_CHECK(t->calls == 1, "completion called %d times", t->calls);
}

/* ---- the application's actions ------------------------------------------------------ */

static void app_action(ctx *x, uint8_t op)
{
    if (!usable(x))
        return;
    fz_in *in = &x->in;
    void *t = new_tok(x);
    panp_done_cb cb = t ? done_cb : NULL;
    switch (op % 11) {
    case 0: { /* register */
        uint8_t b = fz_u8(in);
        panp_register_params p = {.printer = b & 1 ? "P1" : NULL, .type = TYPE,
                                  .style = b & 2 ? PANP_STYLE_BIDIRECTIONAL
                                                 : PANP_STYLE_UNIDIRECTIONAL,
                                  .lease_seconds = b & 4 ? 2 : 0,
                                  .client_state = "cs", .client_state_len = (b >> 3) & 3,
                                  .on_notify = on_notify, .on_closed = on_conv_closed,
                                  .on_ended = on_reg_ended, .data = x};
        panp_registration *reg = NULL;
        issued(x, t, panp_async_register_listener(x->c, &p, &reg, cb, t, NULL));
        if (reg && x->nregs < MAXOBJ)
            x->regs[x->nregs++] = reg;
        break;
    }
    case 1: { /* open */
        uint8_t b = fz_u8(in);
        panp_job_context job = {7, "alice", ""};
        panp_channel_params p = {.printer = b & 1 ? "P1" : NULL, .type = TYPE,
                                 .style = b & 2 ? PANP_STYLE_BIDIRECTIONAL
                                                : PANP_STYLE_UNIDIRECTIONAL,
                                 .on_behalf_of = b & 4 ? &job : NULL, .on_reply = on_reply,
                                 .on_closed = on_chan_closed, .data = x};
        panp_channel *ch = NULL;
        issued(x, t, panp_async_channel_open(x->c, &p, &ch, cb, t, NULL));
        if (ch && x->nchans < MAXOBJ)
            x->chans[x->nchans++] = (tchan){ch, false, 0};
        else if (ch)
            panp_channel_release(x->c, ch);
        break;
    }
    case 2: { /* send */
        int i = x->nchans ? fz_u8(in) % x->nchans : -1;
        if (i < 0 || x->chans[i].released)
            break;
        size_t len = fz_u8(in) < 250 ? 16 : 70000; /* too big: refused at once */
        uint8_t *p = calloc(1, len);
        issued(x, t, panp_async_channel_send(x->c, x->chans[i].ch, p, len, cb, t, NULL));
        free(p);
        break;
    }
    case 3:
    case 4: { /* reply / close a conversation we kept */
        int i = x->nconvs ? fz_u8(in) % x->nconvs : -1;
        if (i < 0)
            break;
        panp_conversation *cv = x->convs[i].cv;
        bool why = fz_bool(in);
        if (op % 11 == 3)
            issued(x, t, panp_async_conversation_reply(x->c, cv, "answer", 6, cb, t, NULL));
        else
            issued(x, t, panp_async_conversation_close(x->c, cv, why ? "why" : NULL, why ? 3 : 0,
                                                       cb, t, NULL));
        break;
    }
    case 5:
    case 6: { /* unregister / renew */
        int i = x->nregs ? fz_u8(in) % x->nregs : -1;
        if (i < 0 || !x->regs[i])
            break;
        if (op % 11 == 5)
            unregister(x, x->regs[i]);
        else
            issued(x, t, panp_async_renew_registration(x->c, x->regs[i], 5, cb, t, NULL));
        break;
    }
    case 7: { /* close or release a channel */
        int i = x->nchans ? fz_u8(in) % x->nchans : -1;
        if (i < 0 || x->chans[i].released)
            break;
        if (fz_bool(in)) {
            issued(x, t, panp_async_channel_close(x->c, x->chans[i].ch, NULL, 0, cb, t, NULL));
        } else {
            x->chans[i].released = true;
            panp_channel_release(x->c, x->chans[i].ch);
        }
        break;
    }
    case 8:
        issued(x, t, panp_async_sync(x->c, cb, t, NULL));
        break;
    case 9:
        issued(x, t, panp_async_get_registrations(x->c, NULL, cb, t, NULL));
        break;
    default:
        panp_async_on_timer(x->c);
        break;
    }
}

/* ---- the broker's side -------------------------------------------------------------- */

/* Reads what the client wrote; checks it; learns its requests. */
static void read_client(ctx *x)
{
    uint8_t buf[8192];
    for (;;) {
        ssize_t n = recv(x->sfd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            x->client_closed = true;
            return;
        }
        if (n < 0)
            return;
        size_t off = 0;
        while (off < (size_t)n && x->preface_got < PANP_PREFACE_LEN) {
            FZ_CHECK(buf[off] == (uint8_t)PANP_PREFACE[x->preface_got],
                     "the client's preface is wrong at byte %zu", x->preface_got);
            x->preface_got++, off++;
        }
        while (off < (size_t)n) {
            size_t used, flen;
            const uint8_t *f;
            panp_status st;
            panp_framer_result r =
                panp_framer_feed(x->fr, buf + off, (size_t)n - off, &used, &f, &flen, &st);
            FZ_CHECK(r != PANP_FRAMER_ERROR, "the client's framing is broken: %s", st.message);
            off += used;
            if (r != PANP_FRAMER_FRAME)
                continue;
            FZ_CHECK(flen <= (x->welcomed ? x->broker_max : PANP_DEFAULT_MAX_FRAME),
                     "the client sent %zu bytes, over the broker's limit", flen);
            /* As a broker decodes: Hello alone before its Welcome (CLI-5), no
             * request id 0 after (CLI-4). */
            panp_decode_opts o = {.backend = PANP_BACKEND_PROTOBUF_C, .peer = PANP_PEER_BROKER,
                                  .max_frame_size = UINT32_MAX};
            panp_frame *fr = NULL;
            panp_error_code rc =
                fz_decode(&o, x->welcomed ? PANP_PHASE_READY : PANP_PHASE_HANDSHAKE, f, flen,
                          &fr, &st);
            FZ_CHECK(rc == PANP_ERR_UNSPECIFIED, "the client sent a frame a broker refuses: %s: %s",
                     st.field, st.message);
            FZ_CHECK(x->welcomed || fr->kind == PANP_BODY_HELLO,
                     "the client sent %s before the Welcome (CLI-5)", panp_body_name(fr->kind));
            if (getenv("FZ_LOG"))
                fprintf(stderr, "client -> %s rid %llu\n", panp_body_name(fr->kind),
                        (unsigned long long)fr->request_id);
            if (fr->kind != PANP_BODY_GOODBYE) {
                FZ_CHECK(fr->request_id != 0, "request id 0 (CLI-4)");
                for (size_t i = 0; i < x->nout; i++)
                    FZ_CHECK(x->out[i].rid != fr->request_id, "request id %llu reused (CLI-4)",
                             (unsigned long long)fr->request_id);
                if (x->nout < MAXOUT)
                    x->out[x->nout++] = (oreq){fr->request_id, fr->kind};
            }
            panp_frame_free(fr);
        }
    }
}

static void to_client(ctx *x, const uint8_t *p, size_t n)
{
    if (getenv("FZ_LOG")) {
        char hex[160];
        fprintf(stderr, "broker bytes (%zu): %s\n", n, fz_hex(p, n, hex, sizeof hex));
    }
    while (n && !x->client_closed && usable(x)) {
        ssize_t w = send(x->sfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            x->client_closed = true;
            return;
        }
        if (w > 0)
            p += w, n -= (size_t)w;
        panp_async_on_readable(x->c);
        if (usable(x))
            read_client(x);
    }
}

/* false when the codec refuses f (nothing is sent then). */
static bool send_frame(ctx *x, const panp_frame *f)
{
    uint8_t buf[4096];
    size_t need = 0;
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, buf, sizeof buf, &need, NULL) !=
        PANP_ERR_UNSPECIFIED)
        return false;
    to_client(x, buf, need);
    return true;
}

/* What answers request kind k; a Pong for whatever is not a request. */
static panp_body_kind answer_of(panp_body_kind k)
{
    panp_body_kind a = fz_success_of(k);
    return a != PANP_BODY_NONE ? a : PANP_BODY_PONG;
}

static uint64_t pick_id(ctx *x, const uint64_t *ids, int n)
{
    uint8_t b = fz_u8(&x->in);
    if (n && b < 224)
        return ids[b % n];
    return b < 240 ? (uint64_t)b : fz_u64(&x->in);
}

static panp_bytes pick_handle(ctx *x)
{
    uint8_t b = fz_u8(&x->in);
    int i = x->nhandles ? b % x->nhandles : 0;
    panp_bytes h = {x->handles[i], 16};
    return h;
}

/* One frame the broker sends, built from the input. */
static void broker_frame(ctx *x)
{
    fz_in *in = &x->in;
    uint8_t mode = fz_u8(in);
    panp_frame f;
    memset(&f, 0, sizeof f);
    bool broken = false; /* the client must hang up */
    uint8_t payload[64];
    memset(payload, 'p', sizeof payload);
    if (mode < 128 && x->nout) { /* answer the oldest request */
        oreq q = x->out[0];
        memmove(x->out, x->out + 1, --x->nout * sizeof *x->out);
        f.request_id = q.rid;
        f.kind = answer_of(q.kind);
        if (mode < 24) {
            f.kind = PANP_BODY_ERROR;
            f.body.error = (panp_error_msg){(panp_error_code)(1 + fz_u8(in) % 20), "no", "x",
                                            (mode & 7) == 0};
        }
        switch (f.kind) {
        case PANP_BODY_WELCOME:
            x->welcomed = true;
            x->broker_max = fz_bool(in) ? 4096 : 65536;
            f.body.welcome = (panp_welcome){1, "fuzzd", "srv", true,
                                            {x->broker_max, 64, 64, 30000, 90000, 86400, 1 << 20},
                                            true, {"alice", false, NULL, 0, true, false, false}};
            break;
        case PANP_BODY_REGISTERED:
            if (x->nhandles < 8) {
                for (int i = 0; i < 16; i++)
                    x->handles[x->nhandles][i] = (uint8_t)(fz_u8(in) | 1);
                x->nhandles++;
            }
            f.body.registered = (panp_registered){{x->handles[x->nhandles - 1], 16}, fz_u8(in)};
            break;
        case PANP_BODY_RENEWED:
            f.body.renewed.lease_seconds = fz_u8(in);
            break;
        case PANP_BODY_CHANNEL_OPENED: {
            uint64_t id = 0x100 + (uint64_t)x->nchan_ids;
            if (x->nchan_ids < 8)
                x->chan_ids[x->nchan_ids++] = id;
            f.body.channel_opened.channel_id = id;
            break;
        }
        case PANP_BODY_SENT:
            f.body.sent.sequence = 1 + fz_u8(in);
            f.body.sent.recipients = fz_u8(in);
            break;
        case PANP_BODY_CHANNEL_CLOSE_RESULT:
            f.body.channel_close_result.outcome = (panp_close_outcome)(fz_u8(in) % 5);
            break;
        case PANP_BODY_REGISTRATION_LIST:
            f.body.registration_list.total = fz_u8(in) % 3;
            break;
        default:
            break;
        }
        if (mode >= 120) { /* a response that fits nothing: broken broker */
            f.request_id += 1 + (mode & 3);
            broken = (f.kind != PANP_BODY_ERROR || !f.body.error.fatal);
        }
    } else {
        switch (mode % 8) {
        case 0:
        case 1: { /* Notify */
            panp_notify *n = &f.body.notify;
            f.kind = PANP_BODY_NOTIFY;
            bool bidi = mode & 16;
            uint64_t conv = 0;
            if (bidi) {
                conv = pick_id(x, x->conv_ids, x->nconv_ids);
                if (x->nconv_ids < 8 && (conv == 0 || fz_bool(in)))
                    conv = 0x80000000ull + (uint64_t)x->nconv_ids, x->conv_ids[x->nconv_ids++] = conv;
                if (conv == 0)
                    conv = 1;
            }
            n->registration = pick_handle(x);
            n->conversation_id = conv;
            n->channel_id = pick_id(x, x->chan_ids, x->nchan_ids);
            if (!n->channel_id)
                n->channel_id = 1;
            n->sequence = 1 + fz_u8(in);
            n->notification_type = (panp_bytes){TYPE, 16};
            n->style = bidi ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL;
            n->has_sender = true;
            n->sender = (panp_sender_info){"bob", 0, ""};
            n->target.kind = PANP_TARGET_SERVER;
            n->payload = (panp_bytes){payload, fz_u8(in) % 64};
            break;
        }
        case 2: { /* ChannelClosed */
            panp_channel_closed *cc = &f.body.channel_closed;
            f.kind = PANP_BODY_CHANNEL_CLOSED;
            uint8_t b = fz_u8(in);
            cc->channel_id = pick_id(x, x->chan_ids, x->nchan_ids);
            if (b & 1)
                cc->conversation_id = pick_id(x, x->conv_ids, x->nconv_ids);
            if (b & 2)
                cc->registration = pick_handle(x);
            cc->reason = (panp_close_reason)(1 + (b >> 2) % 10);
            if (cc->reason == PANP_CLOSE_REASON_PEER_GONE ||
                cc->reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN)
                cc->notification_type = (panp_bytes){PANP_TYPE_NOTIFICATION_RELEASE, 16};
            if (!cc->channel_id && !cc->conversation_id)
                cc->channel_id = 1;
            break;
        }
        case 3: /* ReplyDelivery */
            f.kind = PANP_BODY_REPLY_DELIVERY;
            f.body.reply_delivery.channel_id = pick_id(x, x->chan_ids, x->nchan_ids) | 1;
            f.body.reply_delivery.sequence = 1 + fz_u8(in);
            f.body.reply_delivery.responder = "bob";
            f.body.reply_delivery.notification_type = (panp_bytes){TYPE, 16};
            f.body.reply_delivery.payload = (panp_bytes){payload, 3};
            break;
        case 4: /* RegistrationEnded */
            f.kind = PANP_BODY_REGISTRATION_ENDED;
            f.body.registration_ended.handle = pick_handle(x);
            f.body.registration_ended.reason = (panp_reg_end_reason)(1 + fz_u8(in) % 3);
            break;
        case 5: /* Goodbye */
            f.kind = PANP_BODY_GOODBYE;
            f.body.goodbye = (panp_goodbye){(panp_goodbye_reason)(fz_u8(in) % 7), "bye"};
            break;
        case 6: /* a connection-level fatal Error */
            f.kind = PANP_BODY_ERROR;
            f.body.error = (panp_error_msg){PANP_ERR_PROTOCOL_VIOLATION, "bad", "", true};
            break;
        default: /* a body only a broker receives */
            f.kind = fz_bool(in) ? PANP_BODY_PING : PANP_BODY_HELLO;
            f.request_id = 9;
            if (f.kind == PANP_BODY_HELLO)
                f.body.hello = (panp_hello){1, 1, "x", PANP_AUTH_EXTERNAL, {NULL, 0}, "", 0};
            broken = x->welcomed;
            break;
        }
    }
    if (getenv("FZ_LOG"))
        fprintf(stderr, "broker -> %s rid %llu%s\n", panp_body_name(f.kind),
                (unsigned long long)f.request_id, broken ? " (broken)" : "");
    if (send_frame(x, &f) && broken && !x->desync && usable(x) && !x->client_closed) {
        read_client(x);
        FZ_CHECK(!panp_is_connected(x->c), "the client kept talking to a broken broker (%s); "
                 "last error: %s", panp_body_name(f.kind), panp_last_error(x->c)->message);
    }
}

static void step(ctx *x)
{
    uint8_t op = fz_u8(&x->in);
    if (op < 96)
        broker_frame(x);
    else if (op < 112) { /* raw bytes */
        size_t n;
        const uint8_t *p = fz_take(&x->in, fz_u8(&x->in), &n);
        x->desync = true;
        to_client(x, p, n);
    } else if (op == 112) {
        shutdown(x->sfd, SHUT_RDWR);
        if (usable(x))
            panp_async_on_readable(x->c);
    } else {
        app_action(x, op);
    }
    if (usable(x))
        panp_async_on_writable(x->c);
    if (usable(x))
        read_client(x);
    if (x->dying) /* freed when the outermost call returned */
        x->c = NULL;
}

/* ---- setup and teardown ------------------------------------------------------------- */

static void noop_fd(void *d, int fd) { (void)d, (void)fd; }
static void noop_ms(void *d, int ms) { (void)d, (void)ms; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx *x = calloc(1, sizeof *x);
    x->in = fz_in_make(data, size);
    snprintf(x->path, sizeof x->path, "/tmp/panp-fuzz-client-%d.sock", (int)getpid());
    unlink(x->path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", x->path);
    x->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FZ_CHECK(x->lfd >= 0 && bind(x->lfd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                 listen(x->lfd, 4) == 0,
             "listen on %s: %s", x->path, strerror(errno));
    x->fr = panp_framer_new(0, false);

    char broker[120];
    snprintf(broker, sizeof broker, "unix:%s", x->path);
    uint8_t opt = fz_u8(&x->in);
    panp_options o = {.broker = broker, .session_label = opt & 1 ? "s1" : NULL,
                      .max_frame_size = opt & 2 ? 4096 : 0, .request_timeout_ms = -1,
                      .on_connection = on_connection, .data = x};
    panp_status st;
    if (panp_async_connect(&o, &x->c, &st) == PANP_OK) {
        panp_loop_hooks hooks = {x, noop_fd, noop_fd, noop_fd, noop_fd, noop_ms, NULL};
        panp_async_attach(x->c, &hooks, &st);
        x->sfd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        FZ_CHECK(x->sfd >= 0, "accept: %s", strerror(errno));
        panp_async_on_writable(x->c);
        if (!(opt & 4))
            to_client(x, (const uint8_t *)PANP_PREFACE, PANP_PREFACE_LEN);
        read_client(x);
        for (int i = 0; i < 300 && x->in.left && x->c; i++)
            step(x);
    }
    /* Kept conversations go back before the context does. */
    if (x->c)
        for (int i = 0; i < x->nconvs; i++)
            panp_conversation_release(x->c, x->convs[i].cv);
    if (x->c)
        panp_free(x->c);
    for (int i = 0; i < x->ntoks; i++)
        FZ_CHECK(x->toks[i].calls == (x->toks[i].issued ? 1 : 0),
                 "request %d: %d completions, accepted %d", i, x->toks[i].calls,
                 x->toks[i].issued);
    if (x->sfd > 0)
        close(x->sfd);
    close(x->lfd);
    unlink(x->path);
    panp_framer_free(x->fr);
    free(x);
    return 0;
}
