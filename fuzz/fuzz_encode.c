/* fuzz_encode.c - frames built in memory, encoded by both backends (issue 7,
 * target 4).
 *
 * The input describes one panp_frame: body kind (now and then one outside
 * the schema), every field, lengths chosen around the limits of SPEC 6.4
 * (including 63488/63489 and the 16-bit edge 65535 that broke nanopb's
 * encoder, GHSA-3p39-mfxg-hrq4), strings that are not UTF-8, NULL pointers
 * with non-zero lengths, enum values out of range, too many list elements.
 *
 * Invariants, for every such frame:
 *  - both backends refuse it with the same code and field, and that is the
 *    verdict panp_validate() gives for its receiver; or
 *  - both accept it, ask for the same size, refuse a buffer one byte short,
 *    write the same bytes, and those bytes decode (both backends, as its
 *    receiver) back to a view equal to the one encoded, field by field.
 */
#include <string.h>

#include "fuzz_common.h"

/* ---- a bag of allocations freed together --------------------------------- */

typedef struct pool {
    void *blocks[512];
    size_t n;
} pool;

static void *pool_alloc(pool *p, size_t size)
{
    if (p->n == sizeof p->blocks / sizeof p->blocks[0])
        return NULL;
    void *b = calloc(1, size ? size : 1);
    p->blocks[p->n++] = b;
    return b;
}

static void pool_free(pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->blocks[i]);
}

/* ---- field generators ----------------------------------------------------- */

typedef struct gen {
    fz_in in;
    pool *pool;
} gen;

/* len bytes: from the input, then a fill byte; mode 3 of 64 gives NULL. */
static uint8_t *gen_raw(gen *g, size_t len, bool *null)
{
    uint8_t mode = fz_u8(&g->in);
    *null = mode == 63;
    uint8_t *b = pool_alloc(g->pool, len + 1);
    if (!b)
        return NULL;
    size_t got;
    const uint8_t *src = fz_take(&g->in, mode & 1 ? len : (len < 8 ? len : 8), &got);
    memcpy(b, src, got);
    memset(b + got, 'a' + mode % 26, len - got);
    return b;
}

static panp_bytes gen_bytes(gen *g)
{
    size_t len = fz_len(&g->in);
    bool null;
    uint8_t *b = gen_raw(g, len, &null);
    panp_bytes r = {null ? NULL : b, b ? len : 0};
    return r;
}

/* A string of a chosen length; often valid text, sometimes any bytes
 * (invalid UTF-8, or a NUL that ends it early), sometimes NULL. */
static const char *gen_str(gen *g)
{
    size_t len = fz_len(&g->in);
    bool null;
    uint8_t *b = gen_raw(g, len, &null);
    if (!b || null)
        return NULL;
    if (!(fz_u8(&g->in) & 3))
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)('a' + b[i] % 26);
    b[len] = 0;
    return (const char *)b;
}

static const uint8_t ASYNC_UI_T[16] = {0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
                                       0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};
static const uint8_t RELEASE_T[16] = {0xba, 0x9a, 0x50, 0x27, 0xa7, 0x0e, 0x4a, 0xe7,
                                      0x9b, 0x7d, 0xeb, 0x3e, 0x06, 0xad, 0x41, 0x57};
static const uint8_t NIL_T[16];

/* A notification type: mostly a usable UUID. */
static panp_bytes gen_type(gen *g)
{
    uint8_t m = fz_u8(&g->in);
    panp_bytes r = {ASYNC_UI_T, 16};
    if (m < 160)
        return r;
    if (m < 176)
        r.data = RELEASE_T;
    else if (m < 192)
        r.data = NIL_T;
    else if (m < 224) {
        uint8_t *b = pool_alloc(g->pool, 16);
        size_t got;
        const uint8_t *src = fz_take(&g->in, 16, &got);
        if (b)
            memcpy(b, src, got);
        r.data = b;
        r.len = b ? 16 : 0;
    } else
        r = gen_bytes(g);
    return r;
}

/* A handle: mostly 16..32 bytes. */
static panp_bytes gen_handle(gen *g)
{
    uint8_t m = fz_u8(&g->in);
    if (m >= 200)
        return gen_bytes(g);
    size_t len = 16 + m % 17;
    bool null;
    uint8_t *b = gen_raw(g, len, &null);
    panp_bytes r = {b, b ? len : 0};
    return r;
}

/* An enum: mostly 1..max, sometimes 0, one past, negative or huge. */
static int gen_enum(gen *g, int max)
{
    uint8_t m = fz_u8(&g->in);
    if (m < 224)
        return 1 + m % max;
    switch (m & 7) {
    case 0: return 0;
    case 1: return max + 1;
    case 2: return -1;
    case 3: return INT32_MAX;
    case 4: return INT32_MIN;
    default: return (int)fz_u32(&g->in);
    }
}

static uint64_t gen_u64(gen *g)
{
    uint8_t m = fz_u8(&g->in);
    if (m < 128)
        return m;
    if (m < 250)
        return fz_u64(&g->in);
    return m == 250 ? 0 : UINT64_MAX - (m - 251);
}

/* An id or sequence: mostly non-zero. */
static uint64_t gen_id(gen *g)
{
    uint64_t v = gen_u64(g);
    return v || fz_u8(&g->in) == 7 ? v : 1;
}

static uint32_t gen_u32(gen *g)
{
    uint8_t m = fz_u8(&g->in);
    return m < 128 ? m : m < 250 ? fz_u32(&g->in) : UINT32_MAX - (m - 250);
}

static panp_target gen_target(gen *g)
{
    panp_target t = {PANP_TARGET_SERVER, NULL};
    uint8_t m = fz_u8(&g->in);
    if (m < 96)
        return t;
    t.kind = m < 224 ? PANP_TARGET_PRINTER : (panp_target_kind)(m % 5);
    if (t.kind == PANP_TARGET_SERVER || t.kind == PANP_TARGET_PRINTER || m & 1)
        t.printer = gen_str(g);
    if (m == 255)
        t.kind = (panp_target_kind)77;
    return t;
}

static void gen_welcome(gen *g, panp_welcome *w)
{
    w->version = gen_u32(g);
    w->software = gen_str(g);
    w->server_name = gen_str(g);
    w->has_limits = fz_bool(&g->in);
    uint32_t *l = &w->limits.max_frame_size;
    for (int i = 0; i < 7; i++)
        l[i] = i == 0 && fz_u8(&g->in) < 200 ? 4096 + fz_u8(&g->in) : gen_u32(g);
    w->has_identity = fz_u8(&g->in) < 200;
    panp_identity *id = &w->identity;
    id->user = gen_str(g);
    uint8_t flags = fz_u8(&g->in);
    id->server_admin = flags & 1;
    id->may_open_channels = flags & 2;
    id->trusted = flags & 4;
    id->admin_printers_truncated = flags & 8;
    size_t n = fz_u8(&g->in) % 70;
    const char **names = pool_alloc(g->pool, n * sizeof *names);
    for (size_t i = 0; names && i < n; i++)
        names[i] = fz_u8(&g->in) < 16 ? gen_str(g) : "p";
    id->admin_printers = flags & 16 ? NULL : names;
    id->admin_printers_count = names ? n : 0;
}

static void gen_list(gen *g, panp_registration_list *l)
{
    size_t n = fz_u8(&g->in) % 36;
    panp_registration_info *v = pool_alloc(g->pool, n * sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        v[i].handle = fz_bool(&g->in) ? gen_handle(g) : (panp_bytes){NULL, 0};
        v[i].user = gen_str(g);
        v[i].target = gen_target(g);
        v[i].notification_type = gen_type(g);
        v[i].user_filter = (panp_user_filter)gen_enum(g, 2);
        v[i].style = (panp_style)gen_enum(g, 2);
        v[i].lease_remaining_seconds = gen_u32(g);
    }
    l->registrations = fz_u8(&g->in) == 255 ? NULL : v;
    l->registrations_count = v ? n : 0;
    l->total = gen_u32(g);
}

static void gen_body(gen *g, panp_frame *f)
{
    __typeof__(f->body) *b = &f->body;
    switch (f->kind) {
    case PANP_BODY_NOTIFY: {
        panp_notify *m = &b->notify;
        m->registration = gen_handle(g);
        m->style = (panp_style)gen_enum(g, 2);
        m->conversation_id = m->style == PANP_STYLE_BIDIRECTIONAL || fz_u8(&g->in) > 240
                                 ? gen_id(g)
                                 : 0;
        m->client_state = fz_bool(&g->in) ? gen_bytes(g) : (panp_bytes){NULL, 0};
        m->channel_id = gen_id(g);
        m->sequence = gen_id(g);
        m->notification_type = gen_type(g);
        m->has_sender = fz_u8(&g->in) < 200;
        m->sender.user = gen_str(g);
        m->sender.job_id = gen_u32(g);
        m->sender.job_owner = gen_str(g);
        m->target = fz_u8(&g->in) < 230 ? gen_target(g) : (panp_target){PANP_TARGET_NONE, NULL};
        m->payload = gen_bytes(g);
        break;
    }
    case PANP_BODY_SEND:
        b->send.channel_id = gen_u64(g);
        b->send.notification_type = gen_type(g);
        b->send.payload = gen_bytes(g);
        break;
    case PANP_BODY_SENT:
        b->sent.sequence = gen_u64(g);
        b->sent.recipients = gen_u32(g);
        break;
    case PANP_BODY_REPLY:
        b->reply.conversation_id = gen_u64(g);
        b->reply.notification_type = gen_type(g);
        b->reply.payload = gen_bytes(g);
        break;
    case PANP_BODY_REPLY_DELIVERY:
        b->reply_delivery.channel_id = gen_u64(g);
        b->reply_delivery.sequence = gen_u64(g);
        b->reply_delivery.responder = gen_str(g);
        b->reply_delivery.notification_type = gen_type(g);
        b->reply_delivery.payload = gen_bytes(g);
        break;
    case PANP_BODY_CHANNEL_CLOSED: {
        panp_channel_closed *m = &b->channel_closed;
        m->channel_id = gen_u64(g);
        m->conversation_id = gen_u64(g);
        m->registration = fz_bool(&g->in) ? gen_handle(g) : (panp_bytes){NULL, 0};
        m->reason = (panp_close_reason)gen_enum(g, 8);
        m->notification_type = fz_bool(&g->in) ? gen_type(g) : (panp_bytes){NULL, 0};
        m->payload = gen_bytes(g);
        break;
    }
    case PANP_BODY_ERROR:
        b->error.code = (panp_error_code)gen_enum(g, 16);
        b->error.message = gen_str(g);
        b->error.field = gen_str(g);
        b->error.fatal = fz_bool(&g->in);
        break;
    case PANP_BODY_OK:
        b->ok.info = (panp_ok_info)(fz_u8(&g->in) < 200 ? 0 : gen_enum(g, 1));
        break;
    case PANP_BODY_HELLO: {
        panp_hello *m = &b->hello;
        m->min_version = fz_u8(&g->in) < 200 ? 1 : gen_u32(g);
        m->max_version = fz_u8(&g->in) < 200 ? 1 : gen_u32(g);
        m->software = gen_str(g);
        m->auth = (panp_auth)gen_enum(g, 2);
        m->token = fz_bool(&g->in) ? gen_bytes(g) : (panp_bytes){NULL, 0};
        m->session_label = gen_str(g);
        m->max_frame_size = fz_u8(&g->in) < 128 ? 0 : gen_u32(g);
        break;
    }
    case PANP_BODY_WELCOME:
        gen_welcome(g, &b->welcome);
        break;
    case PANP_BODY_REGISTER: {
        panp_register *m = &b->register_listener;
        m->target = gen_target(g);
        m->notification_type = gen_type(g);
        m->user_filter = (panp_user_filter)gen_enum(g, 2);
        m->style = (panp_style)gen_enum(g, 2);
        m->lease_seconds = gen_u32(g);
        m->client_state = gen_bytes(g);
        break;
    }
    case PANP_BODY_REGISTERED:
        b->registered.handle = gen_handle(g);
        b->registered.lease_seconds = gen_u32(g);
        break;
    case PANP_BODY_RENEW:
        b->renew.handle = gen_handle(g);
        b->renew.lease_seconds = gen_u32(g);
        break;
    case PANP_BODY_RENEWED:
        b->renewed.lease_seconds = gen_u32(g);
        break;
    case PANP_BODY_UNREGISTER:
        b->unregister.handle = gen_handle(g);
        break;
    case PANP_BODY_LIST_REGISTRATIONS:
        b->list_registrations.target =
            fz_bool(&g->in) ? gen_target(g) : (panp_target){PANP_TARGET_NONE, NULL};
        b->list_registrations.offset = gen_u32(g);
        break;
    case PANP_BODY_REGISTRATION_LIST:
        gen_list(g, &b->registration_list);
        break;
    case PANP_BODY_OPEN_CHANNEL: {
        panp_open_channel *m = &b->open_channel;
        m->target = gen_target(g);
        m->notification_type = gen_type(g);
        m->user_filter = (panp_user_filter)gen_enum(g, 2);
        m->style = (panp_style)gen_enum(g, 2);
        m->has_on_behalf_of = fz_u8(&g->in) > 128;
        m->on_behalf_of.job_id = gen_u32(g);
        m->on_behalf_of.job_owner = gen_str(g);
        m->on_behalf_of.session_label = gen_str(g);
        break;
    }
    case PANP_BODY_CHANNEL_OPENED:
        b->channel_opened.channel_id = gen_u64(g);
        break;
    case PANP_BODY_CLOSE_CHANNEL: {
        panp_close_channel *m = &b->close_channel;
        uint8_t side = fz_u8(&g->in);
        m->side = side < 250 ? (panp_close_side)(1 + side % 2) : (panp_close_side)(side % 4);
        m->id = gen_u64(g);
        m->has_reason = fz_bool(&g->in);
        m->reason.notification_type = gen_type(g);
        m->reason.payload = gen_bytes(g);
        break;
    }
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        b->channel_close_result.outcome = (panp_close_outcome)gen_enum(g, 3);
        break;
    case PANP_BODY_REGISTRATION_ENDED:
        b->registration_ended.handle = gen_handle(g);
        b->registration_ended.reason = (panp_reg_end_reason)gen_enum(g, 2);
        break;
    case PANP_BODY_GOODBYE:
        b->goodbye.reason = (panp_goodbye_reason)gen_enum(g, 5);
        b->goodbye.message = gen_str(g);
        break;
    case PANP_BODY_PING:
    case PANP_BODY_PONG:
    case PANP_BODY_NONE:
        break;
    }
}

/* ---- the oracle ------------------------------------------------------------- */

static const panp_backend BACKENDS[2] = {PANP_BACKEND_PROTOBUF_C, PANP_BACKEND_NANOPB};

/* What the receiver's decoder says of the bytes, in each phase, is what
 * panp_validate_received() says of the view. */
static void check_received(const panp_frame *f, panp_peer peer, const uint8_t *buf, size_t n)
{
    static const panp_phase phases[] = {PANP_PHASE_NONE, PANP_PHASE_HANDSHAKE, PANP_PHASE_READY};
    if (!fz_have_phases())
        return;
    for (int k = 0; k < 3; k++) {
        panp_decode_opts o = {.backend = PANP_BACKEND_PROTOBUF_C, .peer = peer,
                              .max_frame_size = UINT32_MAX};
        panp_frame *d = NULL;
        panp_status ds, vs;
        panp_error_code dr = fz_decode(&o, phases[k], buf, n, &d, &ds);
        panp_error_code vr = panp_validate_received(f, peer, phases[k], &vs);
        FZ_CHECK(dr == vr, "%s, phase %d: decode says %d (%s), validate_received %d (%s)",
                 panp_body_name(f->kind), phases[k], dr, ds.message, vr, vs.message);
        panp_frame_free(d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pool p = {.n = 0};
    gen g = {fz_in_make(data, size), &p};
    panp_frame f;
    memset(&f, 0, sizeof f);
    uint8_t k = fz_u8(&g.in);
    f.kind = k < 250 ? fz_kinds[k % fz_nkinds] : (panp_body_kind)(k == 250 ? 0 : k % 40);
    f.request_id = gen_u64(&g);
    gen_body(&g, &f);
    panp_peer peer = fz_receiver(f.kind);

    panp_status st[2];
    panp_error_code rc[2];
    size_t need[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        rc[i] = panp_encode(BACKENDS[i], &f, NULL, 0, &need[i], &st[i]);
    FZ_CHECK(rc[0] == rc[1], "%s: protobuf-c %d (%s: %s), nanopb %d (%s: %s)",
             panp_body_name(f.kind), rc[0], st[0].field, st[0].message, rc[1], st[1].field,
             st[1].message);
    bool sized = rc[0] == PANP_ERR_RESOURCE_EXHAUSTED && need[0] && need[1];

    panp_status vs;
    panp_error_code vrc = panp_validate(&f, peer == PANP_PEER_ANY ? PANP_PEER_ANY : peer, 0, &vs);
    if (!sized) {
        FZ_CHECK(!strcmp(st[0].field, st[1].field), "refused for %s vs %s", st[0].field,
                 st[1].field);
        /* A client accepts enum values at 0 that no peer may emit (SPEC 6.3): for
         * client-bound frames the encoder may be the stricter one. */
        bool lenient_only = peer == PANP_PEER_CLIENT && vrc == PANP_ERR_UNSPECIFIED &&
                            rc[0] == PANP_ERR_INVALID_ARGUMENT;
        FZ_CHECK(vrc == rc[0] || lenient_only,
                 "%s: encode refuses with %d (%s), validate says %d (%s)",
                 panp_body_name(f.kind), rc[0], st[0].message, vrc, vs.message);
        pool_free(&p);
        return 0;
    }
    FZ_CHECK(vrc == PANP_ERR_UNSPECIFIED, "%s: encodable, but validate says %d %s: %s",
             panp_body_name(f.kind), vrc, vs.field, vs.message);
    FZ_CHECK(need[0] == need[1], "%s: sizes %zu vs %zu", panp_body_name(f.kind), need[0],
             need[1]);

    size_t n = need[0], got;
    uint8_t *out[2];
    for (int i = 0; i < 2; i++) {
        out[i] = malloc(n);
        rc[i] = panp_encode(BACKENDS[i], &f, out[i], n - 1, &got, &st[i]);
        FZ_CHECK(rc[i] == PANP_ERR_RESOURCE_EXHAUSTED && got == n, "backend %d short buffer: %d",
                 i, rc[i]);
        rc[i] = panp_encode(BACKENDS[i], &f, out[i], n, &got, &st[i]);
        FZ_CHECK(rc[i] == PANP_ERR_UNSPECIFIED && got == n, "backend %d: %d %s: %s", i, rc[i],
                 st[i].field, st[i].message);
    }
    FZ_CHECK(!memcmp(out[0], out[1], n), "%s: the backends wrote different bytes",
             panp_body_name(f.kind));

    size_t ss = panp_encode_storage_size(PANP_BACKEND_NANOPB, f.kind);
    void *storage = malloc(ss);
    uint8_t *again = malloc(n);
    panp_status s2;
    panp_error_code r2 = panp_encode_with_storage(PANP_BACKEND_NANOPB, &f, again, n, &got, storage,
                                                  ss, &s2);
    FZ_CHECK(r2 == PANP_ERR_UNSPECIFIED && !memcmp(again, out[0], n), "with storage: %d", r2);
    free(again);
    free(storage);

    char why[160];
    for (int i = 0; i < 2; i++) {
        panp_decode_opts o = {.backend = BACKENDS[i], .peer = peer, .max_frame_size = UINT32_MAX};
        panp_frame *d = NULL;
        panp_status ds;
        panp_error_code dr = panp_decode(&o, out[0], n, &d, &ds);
        FZ_CHECK(dr == PANP_ERR_UNSPECIFIED, "%s: backend %d cannot decode what it encoded: %d "
                 "%s: %s", panp_body_name(f.kind), i, dr, ds.field, ds.message);
        FZ_CHECK(fz_frames_equal(&f, d, why, sizeof why), "%s: backend %d: decoded != encoded: %s",
                 panp_body_name(f.kind), i, why);
        panp_frame_free(d);
    }
    check_received(&f, peer, out[0], n);
    free(out[0]);
    free(out[1]);
    pool_free(&p);
    return 0;
}
