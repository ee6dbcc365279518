/* test_fastpath.c - the fast path (a client's Notify, a broker's Send)
 * against the full path.
 *
 * Every input runs through codec_decode_full() (the scanner, a backend and
 * the validator), codec_decode_fast() alone and panp_decode_received() (the
 * two hooked together), with both backends, as every receiver, in every
 * phase, under the default size limit and one byte short of the input:
 *  - panp_decode_received() gives exactly the full path's status (code,
 *    offset, request id, field, message) and, on success, an equal view;
 *  - whatever the fast path takes, the full path accepts, with an equal
 *    view and status; what it does not take, it leaves untouched.
 * Inputs: every golden vector (positive and negative), and hand-built
 * Notifys and Sends: the common case, the maxima, each field omitted,
 * duplicated, out of order, written as its default, padded, unknown fields,
 * odd Frame levels and request ids, each truncation, and single-byte
 * mutations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../src/fastpath.h"
#include "testutil.h"

#define POS VECTOR_ROOT "/positive"
#define NEG VECTOR_ROOT "/negative"

static const panp_peer PEERS[] = {PANP_PEER_BROKER, PANP_PEER_CLIENT, PANP_PEER_ANY};
static const panp_phase PHASES[] = {PANP_PHASE_NONE, PANP_PHASE_HANDSHAKE, PANP_PHASE_READY};

typedef struct tally {
    size_t runs;  /* configurations compared */
    size_t taken; /* ... of which the fast path took */
} tally;

/* ---- comparing the paths -------------------------------------------------- */

static void same_status(const char *what, const panp_status *a, const panp_status *b)
{
    if (a->code != b->code || a->offset != b->offset || a->request_id != b->request_id ||
        strcmp(a->field, b->field) != 0 || strcmp(a->message, b->message) != 0)
        fail_msg("%s: status %d @%zu rid %llu \"%s\" \"%s\" vs full path %d @%zu rid %llu "
                 "\"%s\" \"%s\"",
                 what, a->code, a->offset, (unsigned long long)a->request_id, a->field,
                 a->message, b->code, b->offset, (unsigned long long)b->request_id, b->field,
                 b->message);
}

static void same_frame(const char *what, const panp_frame *a, const panp_frame *b)
{
    char why[256];
    if (!tu_frames_equal(a, b, why, sizeof why))
        fail_msg("%s: views differ: %s", what, why);
}

/* One configuration; returns whether the fast path took the input. */
static bool compare_one(const char *name, const uint8_t *buf, size_t len,
                        const panp_decode_opts *o, panp_phase phase)
{
    char what[256];
    snprintf(what, sizeof what, "%s (%s, peer %d, phase %d, max %u, %zu bytes)", name,
             tu_backend_name(o->backend), (int)o->peer, (int)phase, (unsigned)o->max_frame_size,
             len);
    panp_frame *full = NULL, *hooked = NULL;
    panp_frame *const sentinel = (panp_frame *)&what;
    panp_frame *fast = sentinel;
    panp_status sf, sh, sq;
    memset(&sq, 0x5a, sizeof sq);
    panp_status untouched = sq;
    panp_error_code rf = codec_decode_full(o, phase, buf, len, &full, &sf);
    panp_error_code rh = panp_decode_received(o, phase, buf, len, &hooked, &sh);
    bool took = codec_decode_fast(o, phase, buf, len, &fast, &sq);

    if (rh != rf)
        fail_msg("%s: decode says %d, the full path %d (%s)", what, rh, rf, sf.message);
    same_status(what, &sh, &sf);
    if (!rf)
        same_frame(what, hooked, full);
    else if (hooked)
        fail_msg("%s: a frame with an error", what);
    if (took) {
        if (rf)
            fail_msg("%s: the fast path took what the full path refuses: %s", what, sf.message);
        same_status(what, &sq, &sf);
        same_frame(what, fast, full);
        panp_frame_free(fast);
    } else if (fast != sentinel || memcmp(&sq, &untouched, sizeof sq) != 0) {
        fail_msg("%s: the fast path gave up but wrote its results", what);
    }
    panp_frame_free(full);
    panp_frame_free(hooked);
    return took;
}

/* Every backend, receiver and phase, with the default limit and with one
 * byte less than the input. */
static void compare_all(const char *name, const uint8_t *buf, size_t len, tally *t)
{
    uint32_t maxes[2] = {0, len > 1 ? (uint32_t)(len - 1) : 0};
    for (int b = 0; b < 2; b++)
        for (size_t p = 0; p < 3; p++)
            for (size_t ph = 0; ph < 3; ph++)
                for (int m = 0; m < (len > 1 ? 2 : 1); m++) {
                    panp_decode_opts o = {tu_backends[b], PEERS[p], maxes[m]};
                    t->taken += compare_one(name, buf, len, &o, PHASES[ph]);
                    t->runs++;
                }
}

/* A frame the fast path must take, with either backend: as its receiver
 * (a client for a Notify, a broker for a Send) in phase NONE and in READY,
 * where a request needs a request id (SPEC 6.5 step 4), and as a tool. */
static void expect_taken(const char *name, const uint8_t *buf, size_t len, panp_body_kind kind,
                         uint64_t request_id)
{
    panp_peer receiver = kind == PANP_BODY_NOTIFY ? PANP_PEER_CLIENT : PANP_PEER_BROKER;
    bool ready = kind == PANP_BODY_NOTIFY || request_id != 0;
    const panp_peer peers[] = {receiver, receiver, PANP_PEER_ANY};
    const panp_phase phases[] = {PANP_PHASE_NONE, PANP_PHASE_READY, PANP_PHASE_NONE};
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++) {
            if (phases[i] == PANP_PHASE_READY && !ready)
                continue;
            panp_decode_opts o = {tu_backends[b], peers[i], 0};
            if (!compare_one(name, buf, len, &o, phases[i]))
                fail_msg("%s: the fast path did not take it (%s, peer %d, phase %d)", name,
                         tu_backend_name(tu_backends[b]), (int)peers[i], (int)phases[i]);
        }
}

/* ---- the golden vectors --------------------------------------------------- */

/* Every Notify and Send vector is protoc's canonical form: all taken. */
static void test_positive_vectors(void **state)
{
    (void)state;
    size_t n, notifies = 0, sends = 0;
    char **names = tu_list(POS, ".bin", &n);
    assert_true(n >= 40);
    tally t = {0, 0};
    for (size_t k = 0; k < n; k++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", POS, names[k]);
        uint8_t *bin = tu_read_file(path, &len);
        assert_non_null(bin);
        compare_all(names[k], bin, len, &t);
        panp_frame *f = NULL;
        assert_int_equal(panp_decode(NULL, bin, len, &f, NULL), 0);
        if (f->kind == PANP_BODY_NOTIFY || f->kind == PANP_BODY_SEND) {
            expect_taken(names[k], bin, len, f->kind, f->request_id);
            notifies += f->kind == PANP_BODY_NOTIFY;
            sends += f->kind == PANP_BODY_SEND;
        }
        panp_frame_free(f);
        free(bin);
    }
    assert_true(notifies >= 3);
    assert_true(sends >= 4);
    print_message("%zu positive vectors: %zu configurations, %zu taken by the fast path\n", n,
                  t.runs, t.taken);
    tu_free_names(names, n);
}

/* Frame and stream vectors alike: a stream vector is just more bytes here. */
static void test_negative_vectors(void **state)
{
    (void)state;
    size_t n;
    tu_negative *idx = tu_negative_index(NEG "/index.json", &n);
    assert_non_null(idx);
    assert_true(n >= 40);
    tally t = {0, 0};
    for (size_t k = 0; k < n; k++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", NEG, idx[k].file);
        uint8_t *bin = tu_read_file(path, &len);
        if (!bin)
            fail_msg("cannot read %s", path);
        compare_all(idx[k].file, bin, len, &t);
        for (int b = 0; b < 2; b++) { /* the entry's own limit too */
            panp_decode_opts o = {tu_backends[b], tu_peer(idx[k].peer), idx[k].max_frame_size};
            t.taken += compare_one(idx[k].file, bin, len, &o, PANP_PHASE_NONE);
        }
        free(bin);
    }
    /* Some are Notifys a client takes and only a broker refuses. */
    print_message("%zu negative vectors: %zu configurations, %zu taken\n", n, t.runs, t.taken);
    free(idx);
}

/* ---- hand-built Notifys --------------------------------------------------- */

/* Bytes under construction. */
typedef struct piece {
    uint8_t *p;
    size_t n, cap;
} piece;

static void pc_raw(piece *x, const void *d, size_t n)
{
    if (x->n + n > x->cap) {
        x->cap = (x->n + n) * 2 + 16;
        x->p = realloc(x->p, x->cap);
        assert_non_null(x->p);
    }
    if (n)
        memcpy(x->p + x->n, d, n);
    x->n += n;
}

static void pc_byte(piece *x, uint8_t b)
{
    pc_raw(x, &b, 1);
}

static void pc_varint(piece *x, uint64_t v)
{
    uint8_t tmp[10];
    pc_raw(x, tmp, panp_varint_put(tmp, v));
}

static piece pc_len(uint32_t number, const void *d, size_t n)
{
    piece x = {NULL, 0, 0};
    pc_varint(&x, (uint64_t)number << 3 | 2);
    pc_varint(&x, n);
    pc_raw(&x, d, n);
    return x;
}

static piece pc_num(uint32_t number, uint64_t v)
{
    piece x = {NULL, 0, 0};
    pc_varint(&x, (uint64_t)number << 3);
    pc_varint(&x, v);
    return x;
}

static piece pc_str(uint32_t number, const char *s)
{
    return pc_len(number, s, strlen(s));
}

/* pieces[0..n) concatenated, as a submessage field or a bare sequence. */
static piece pc_join(const piece *pieces, size_t n)
{
    piece x = {NULL, 0, 0};
    for (size_t i = 0; i < n; i++)
        pc_raw(&x, pieces[i].p, pieces[i].n);
    return x;
}

static piece pc_sub(uint32_t number, const piece *pieces, size_t n)
{
    piece body = pc_join(pieces, n);
    piece x = pc_len(number, body.p, body.n);
    free(body.p);
    return x;
}

static void pc_free_all(piece *pieces, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(pieces[i].p);
}

/* A Frame around the body of that kind made of the pieces. */
static piece frame_of(panp_body_kind kind, const piece *body, size_t n, uint64_t request_id)
{
    piece x = {NULL, 0, 0};
    if (request_id) {
        piece r = pc_num(1, request_id);
        pc_raw(&x, r.p, r.n);
        free(r.p);
    }
    piece b = pc_sub((uint32_t)kind, body, n);
    pc_raw(&x, b.p, b.n);
    free(b.p);
    return x;
}

static const uint8_t REG[16] = {0x5a, 0x1e, 0x9c, 0x03, 0x77, 0xd2, 0x41, 0x8b,
                                0x0f, 0xe6, 0x2d, 0xb4, 0x93, 0x60, 0xc8, 0x15};
static const uint8_t TYPE[16] = {0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
                                 0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};

enum { NFIELDS = 10, SEND_FIELDS = 3, MAX_FIELDS = NFIELDS };

static piece payload_piece(uint32_t number, size_t len)
{
    uint8_t *payload = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 7);
    piece x = pc_len(number, payload, len);
    free(payload);
    return x;
}

/* The ten fields of a bidirectional Notify with a sender and a printer,
 * as canonical form writes them; payload_len bytes of payload. */
static void notify_pieces(piece f[NFIELDS], size_t payload_len, uint64_t style)
{
    f[0] = pc_len(1, REG, sizeof REG);
    f[1] = pc_num(2, 8589934593ull);
    f[2] = pc_str(3, "opaque-cookie");
    f[3] = pc_num(4, 21474836481ull);
    f[4] = pc_num(5, 300);
    f[5] = pc_len(6, TYPE, sizeof TYPE);
    f[6] = pc_num(7, style);
    piece s[3] = {pc_str(1, "svc-filter \xc3\xa9\xe2\x82\xac\xf0\x9f\x96\xa8"), pc_num(2, 4711),
                  pc_str(3, "carol")};
    f[7] = pc_sub(8, s, 3);
    pc_free_all(s, 3);
    piece t[1] = {pc_str(2, "Office-2F")};
    f[8] = pc_sub(9, t, 1);
    pc_free_all(t, 1);
    f[9] = payload_piece(10, payload_len);
}

static void notify_fields(piece *f, size_t payload_len)
{
    notify_pieces(f, payload_len, PANP_STYLE_BIDIRECTIONAL);
}

/* The three fields of a Send, as canonical form writes them. */
static void send_fields(piece *f, size_t payload_len)
{
    f[0] = pc_num(1, 21474836481ull);
    f[1] = pc_len(2, TYPE, sizeof TYPE);
    f[2] = payload_piece(3, payload_len);
}

/* The bodies the fast path takes, for the tests that treat them alike. */
typedef struct shape {
    const char *name;
    panp_body_kind kind;
    size_t nfields;
    void (*fields)(piece *f, size_t payload_len);
} shape;

static const shape SHAPES[] = {
    {"notify", PANP_BODY_NOTIFY, NFIELDS, notify_fields},
    {"send", PANP_BODY_SEND, SEND_FIELDS, send_fields},
};
enum { NSHAPES = sizeof SHAPES / sizeof SHAPES[0] };

static void run_frame(const char *name, const piece *frame, tally *t)
{
    compare_all(name, frame->p, frame->n, t);
}

/* Without a request id and with one: a Send needs one in READY. */
static void run_body(panp_body_kind kind, const char *name, const piece *body, size_t n,
                     tally *t)
{
    piece fr = frame_of(kind, body, n, 0);
    run_frame(name, &fr, t);
    free(fr.p);
    fr = frame_of(kind, body, n, 77);
    run_frame(name, &fr, t);
    free(fr.p);
}

/* The body as canonical form writes it: what panp_encode writes for the
 * view (either backend), from a view that owns its bytes. */
static panp_frame *decode_canonical(const piece *fr)
{
    panp_frame *v = NULL;
    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_ANY, 0};
    assert_int_equal(panp_decode_received(&o, PANP_PHASE_NONE, fr->p, fr->n, &v, NULL), 0);
    uint8_t *again = malloc(fr->n);
    size_t need = 0;
    assert_int_equal(panp_encode(PANP_BACKEND_NANOPB, v, again, fr->n, &need, NULL), 0);
    assert_int_equal(need, fr->n);
    assert_memory_equal(again, fr->p, fr->n);
    free(again);
    memset(fr->p, 0xee, fr->n); /* the view owns its bytes: the input may go */
    return v;
}

/* The common case and its maxima: taken, and canonical. */
static void test_taken(void **state)
{
    (void)state;
    piece f[NFIELDS];
    const size_t sizes[] = {1, 256, PANP_PAYLOAD_MAX};
    for (size_t i = 0; i < 3; i++) {
        notify_pieces(f, sizes[i], PANP_STYLE_BIDIRECTIONAL);
        for (int rid = 0; rid < 2; rid++) {
            uint64_t request_id = rid ? 0xffffffffffffffffull : 0;
            piece fr = frame_of(PANP_BODY_NOTIFY, f, NFIELDS, request_id);
            char name[64];
            snprintf(name, sizeof name, "notify, %zu-byte payload", sizes[i]);
            expect_taken(name, fr.p, fr.n, PANP_BODY_NOTIFY, request_id);
            panp_frame *v = decode_canonical(&fr);
            assert_memory_equal(v->body.notify.registration.data, REG, sizeof REG);
            assert_string_equal(v->body.notify.sender.job_owner, "carol");
            assert_string_equal(v->body.notify.target.printer, "Office-2F");
            panp_frame_free(v);
            free(fr.p);
        }
        pc_free_all(f, NFIELDS);
    }
    /* Only the required fields; a server target; a unidirectional style. */
    notify_pieces(f, 16, PANP_STYLE_UNIDIRECTIONAL);
    piece server[1] = {pc_len(1, "", 0)};
    piece minimal[6] = {f[0], f[3], f[4], f[5], f[6], pc_sub(9, server, 1)};
    piece fr = frame_of(PANP_BODY_NOTIFY, minimal, 5, 0);
    expect_taken("notify, required fields only", fr.p, fr.n, PANP_BODY_NOTIFY, 0);
    free(fr.p);
    fr = frame_of(PANP_BODY_NOTIFY, minimal, 6, 0);
    expect_taken("notify, server target", fr.p, fr.n, PANP_BODY_NOTIFY, 0);
    free(fr.p);
    free(minimal[5].p);
    pc_free_all(server, 1);
    pc_free_all(f, NFIELDS);
    /* Strings and handles at their limits. */
    notify_pieces(f, 8, PANP_STYLE_BIDIRECTIONAL);
    char name255[256];
    memset(name255, 'u', 255);
    name255[255] = '\0';
    uint8_t handle32[32], state128[128];
    memset(handle32, 0xa5, sizeof handle32);
    memset(state128, 0, sizeof state128);
    piece s[3] = {pc_str(1, name255), pc_num(2, 0xffffffffu), pc_str(3, name255)};
    piece t[1] = {pc_str(2, name255)};
    piece big[NFIELDS] = {pc_len(1, handle32, 32), f[1], pc_len(3, state128, 128), f[3], f[4],
                          f[5], f[6], pc_sub(8, s, 3), pc_sub(9, t, 1), f[9]};
    fr = frame_of(PANP_BODY_NOTIFY, big, NFIELDS, 0);
    expect_taken("notify, strings and bytes at their limits", fr.p, fr.n, PANP_BODY_NOTIFY, 0);
    free(fr.p);
    free(big[0].p);
    free(big[2].p);
    free(big[7].p);
    free(big[8].p);
    pc_free_all(s, 3);
    pc_free_all(t, 1);
    pc_free_all(f, NFIELDS);
}

/* A broker's Send: payloads up to the maximum, request ids up to 2^64-1,
 * and what only the broker refuses (a channel id of 0 by leaving it out,
 * NOTIFICATION_RELEASE or the nil UUID as the type: SPEC 10.2, 14.1). */
static void test_send_taken(void **state)
{
    (void)state;
    piece f[SEND_FIELDS];
    const size_t sizes[] = {1, 256, PANP_PAYLOAD_MAX};
    /* Request ids of each varint length around the inline reader's. */
    const uint64_t rids[] = {1, 127, 128, 16383, 16384, 2097151, 2097152, 0xffffffffffffffffull};
    const size_t nrids = sizeof rids / sizeof rids[0];
    for (size_t i = 0; i < 3; i++) {
        send_fields(f, sizes[i]);
        for (size_t r = 0; r < nrids; r++) {
            piece fr = frame_of(PANP_BODY_SEND, f, SEND_FIELDS, rids[r]);
            char name[64];
            snprintf(name, sizeof name, "send, %zu-byte payload", sizes[i]);
            expect_taken(name, fr.p, fr.n, PANP_BODY_SEND, rids[r]);
            panp_frame *v = decode_canonical(&fr);
            assert_int_equal(v->kind, PANP_BODY_SEND);
            assert_int_equal(v->request_id, rids[r]);
            assert_int_equal(v->body.send.channel_id, 21474836481ull);
            assert_memory_equal(v->body.send.notification_type.data, TYPE, sizeof TYPE);
            assert_int_equal(v->body.send.payload.len, sizes[i]);
            assert_int_equal(v->body.send.payload.data[sizes[i] - 1], (uint8_t)((sizes[i] - 1) * 7));
            panp_frame_free(v);
            free(fr.p);
        }
        pc_free_all(f, SEND_FIELDS);
    }
    send_fields(f, 40);
    static const uint8_t NIL[16] = {0};
    piece variants[][SEND_FIELDS] = {
        {f[1], f[2]},
        {f[0], f[1]},
        {f[1]},
        {pc_num(1, ~0ull), f[1], f[2]},
        {pc_num(1, 1), pc_len(2, PANP_TYPE_NOTIFICATION_RELEASE, PANP_UUID_LEN), f[2]},
        {f[0], pc_len(2, NIL, sizeof NIL), f[2]},
    };
    const size_t counts[] = {2, 2, 1, 3, 3, 3};
    const char *names[] = {"send without channel_id", "send without payload", "send: type only",
                           "send, channel_id 2^64-1", "send of NOTIFICATION_RELEASE",
                           "send of the nil UUID"};
    for (size_t i = 0; i < 6; i++) {
        piece fr = frame_of(PANP_BODY_SEND, variants[i], counts[i], 9);
        expect_taken(names[i], fr.p, fr.n, PANP_BODY_SEND, 9);
        free(fr.p);
    }
    free(variants[3][0].p);
    free(variants[4][0].p);
    free(variants[4][1].p);
    free(variants[5][1].p);
    pc_free_all(f, SEND_FIELDS);
}

/* Each field left out, and each written twice (in place, then at the end). */
static void omitted_and_duplicated(const shape *sh, tally *t)
{
    piece f[MAX_FIELDS];
    size_t nf = sh->nfields;
    sh->fields(f, 64);
    for (size_t i = 0; i < nf; i++) {
        piece body[MAX_FIELDS + 1];
        size_t n = 0;
        for (size_t k = 0; k < nf; k++)
            if (k != i)
                body[n++] = f[k];
        char name[64];
        snprintf(name, sizeof name, "%s without field %zu", sh->name, i + 1);
        run_body(sh->kind, name, body, n, t);
        n = 0;
        for (size_t k = 0; k < nf; k++) {
            body[n++] = f[k];
            if (k == i)
                body[n++] = f[k];
        }
        snprintf(name, sizeof name, "%s with field %zu twice", sh->name, i + 1);
        run_body(sh->kind, name, body, n, t);
        memcpy(body, f, nf * sizeof f[0]);
        body[nf] = f[i];
        snprintf(name, sizeof name, "%s with field %zu again at the end", sh->name, i + 1);
        run_body(sh->kind, name, body, nf + 1, t);
    }
    run_body(sh->kind, "empty body", NULL, 0, t);
    pc_free_all(f, nf);
}

static void test_omitted_and_duplicated(void **state)
{
    (void)state;
    tally t = {0, 0};
    for (size_t s = 0; s < NSHAPES; s++)
        omitted_and_duplicated(&SHAPES[s], &t);
    print_message("omitted/duplicated: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* Frame-level bytes around a body: prefix, then the body, then suffix. */
static void run_around(const char *name, const char *prefix, size_t np, const piece *body,
                       const char *suffix, size_t ns, tally *t)
{
    piece x = {NULL, 0, 0};
    pc_raw(&x, prefix, np);
    pc_raw(&x, body->p, body->n);
    pc_raw(&x, suffix, ns);
    run_frame(name, &x, t);
    free(x.p);
}

/* The Frame's level: the request id in every form but the canonical one,
 * twice or after the body, unknown Frame fields, a second body. */
static void frame_level(const shape *sh, const shape *other, tally *t)
{
    piece f[MAX_FIELDS], g[MAX_FIELDS];
    sh->fields(f, 16);
    other->fields(g, 16);
    piece body = frame_of(sh->kind, f, sh->nfields, 0);
    piece second = frame_of(other->kind, g, other->nfields, 0);
    const struct {
        const char *prefix, *suffix;
        size_t np, ns;
        const char *name;
    } around[] = {
        {"\x08\x05", "", 2, 0, "request_id 5"},
        {"\x08\x00", "", 2, 0, "request_id 0 written"},
        {"\x08\x85\x00", "", 3, 0, "request_id padded"},
        {"\x08\x85\x80\x00", "", 4, 0, "request_id padded to 3 bytes"},
        {"\x08\x85\x00\x01", "", 4, 0, "request_id with a 0 byte inside"},
        {"\x08\x85\x00\x00", "", 4, 0, "request_id padded, a 0 after"},
        {"\x08\x85\x80\x80\x00", "", 5, 0, "request_id padded to 4 bytes"},
        {"\x08\x80\x80\x01", "", 4, 0, "request_id 2^14"},
        {"\x08\xff\xff\x7f", "", 4, 0, "request_id 2^21-1"},
        {"\x08\x80\x80\x80\x01", "", 5, 0, "request_id 2^21"},
        {"\x08\xff\xff", "", 3, 0, "request_id cut after 2 bytes"},
        {"\x08\xff\xff\xff", "", 4, 0, "request_id cut after 3 bytes"},
        {"\x88\x00\x05", "", 3, 0, "request_id with a two-byte tag"},
        {"\x08\x05\x08\x05", "", 4, 0, "request_id twice"},
        {"\x08\x05\x08\x06", "", 4, 0, "two request ids"},
        {"", "\x08\x05", 0, 2, "request_id after the body"},
        {"\x08\x05", "\x08\x06", 2, 2, "request_id before and after the body"},
        {"\x0a\x01\x05", "", 3, 0, "request_id as bytes"},
        {"\x09\x05\x00\x00\x00\x00\x00\x00\x00", "", 9, 0, "request_id as fixed64"},
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "", 11, 0, "request_id 2^64-1"},
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", "", 11, 0, "request_id overflowing"},
        {"\x08\x05\x60\x01", "", 4, 0, "unknown Frame field 12"},
        {"\x08\x05", "\x60\x01", 2, 2, "unknown Frame field 12 after the body"},
        {"\x08\x05", "\xf8\x01\x01", 2, 3, "unknown Frame field 31"},
        {"\x08\x05\x42\x00", "", 4, 0, "a ping before the body"},
        {"\x08\x05", "\x42\x00", 2, 2, "a ping after the body"},
    };
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++)
        run_around(around[i].name, around[i].prefix, around[i].np, &body, around[i].suffix,
                   around[i].ns, t);
    piece two = pc_join(&body, 1);
    pc_raw(&two, body.p, body.n);
    run_frame("the body twice", &two, t);
    free(two.p);
    run_around("the other body after it", "\x08\x05", 2, &body, (const char *)second.p,
               second.n, t);
    run_around("the other body before it", "\x08\x05", 2, &second, (const char *)body.p,
               body.n, t);
    free(body.p);
    free(second.p);
    pc_free_all(f, sh->nfields);
    pc_free_all(g, other->nfields);
}

static void test_frame_level(void **state)
{
    (void)state;
    tally t = {0, 0};
    for (size_t s = 0; s < NSHAPES; s++)
        frame_level(&SHAPES[s], &SHAPES[(s + 1) % NSHAPES], &t);
    print_message("frame level: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* A Send without a request id, as panpd receives it: the full path's
 * INVALID_ARGUMENT frame.request_id (SPEC 6.5 step 4), never the fast
 * path's; in phase NONE it is taken. */
static void test_send_request_id_0(void **state)
{
    (void)state;
    piece f[SEND_FIELDS];
    send_fields(f, 32);
    piece fr = frame_of(PANP_BODY_SEND, f, SEND_FIELDS, 0);
    for (int b = 0; b < 2; b++) {
        panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
        assert_false(compare_one("send, request_id 0", fr.p, fr.n, &o, PANP_PHASE_READY));
        panp_frame *v = NULL;
        panp_status st;
        assert_int_equal(panp_decode_received(&o, PANP_PHASE_READY, fr.p, fr.n, &v, &st),
                         PANP_ERR_INVALID_ARGUMENT);
        assert_string_equal(st.field, "frame.request_id");
        assert_int_equal(st.request_id, 0);
        assert_null(v);
        assert_false(compare_one("send in the handshake", fr.p, fr.n, &o, PANP_PHASE_HANDSHAKE));
    }
    expect_taken("send, request_id 0, no phase", fr.p, fr.n, PANP_BODY_SEND, 0);
    free(fr.p);
    pc_free_all(f, SEND_FIELDS);
}

/* Submessage fields: each omitted or twice; the target's oneof. */
static void test_submessages(void **state)
{
    (void)state;
    tally t = {0, 0};
    piece f[NFIELDS];
    notify_pieces(f, 32, PANP_STYLE_BIDIRECTIONAL);
    piece s[3] = {pc_str(1, "svc"), pc_num(2, 9), pc_str(3, "carol")};
    for (size_t i = 0; i < 3; i++) {
        piece sub[4];
        size_t n = 0;
        for (size_t k = 0; k < 3; k++)
            if (k != i)
                sub[n++] = s[k];
        piece body[NFIELDS];
        memcpy(body, f, sizeof f);
        body[7] = pc_sub(8, sub, n);
        run_body(PANP_BODY_NOTIFY, "sender field omitted", body, NFIELDS, &t);
        free(body[7].p);
        n = 0;
        for (size_t k = 0; k < 3; k++) {
            sub[n++] = s[k];
            if (k == i)
                sub[n++] = s[k];
        }
        body[7] = pc_sub(8, sub, n);
        run_body(PANP_BODY_NOTIFY, "sender field twice", body, NFIELDS, &t);
        free(body[7].p);
    }
    piece server = pc_len(1, "", 0), printer = pc_str(2, "P");
    piece server_unknown = pc_len(1, "\x08\x01", 2), printer_empty = pc_len(2, "", 0);
    piece server_cut = pc_len(1, "\x80", 1), server_group = pc_len(1, "\x0b", 1);
    /* Both members, a member twice, and (alone, count 1) unknown or broken
     * bytes inside the server target; each pair's second piece runs alone
     * too. */
    piece targets[][2] = {{server, printer},
                          {printer, server},
                          {printer, printer},
                          {server, server},
                          {server_unknown, printer_empty},
                          {server_cut, server_group}};
    size_t counts[] = {2, 2, 2, 2, 1, 1};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        piece body[NFIELDS];
        memcpy(body, f, sizeof f);
        body[8] = pc_sub(9, targets[i], counts[i]);
        run_body(PANP_BODY_NOTIFY, "target variant", body, NFIELDS, &t);
        free(body[8].p);
        body[8] = pc_sub(9, &targets[i][1], 1);
        run_body(PANP_BODY_NOTIFY, "target variant (second piece alone)", body, NFIELDS, &t);
        free(body[8].p);
    }
    /* A varint cut short at the end of the sender, where the target's
     * bytes follow. */
    const char *cut[] = {"\x10\x80", "\x10\x80\x80", "\x10\x80\x80\x80", "\x10\xff\xff"};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        piece body[NFIELDS];
        memcpy(body, f, sizeof f);
        body[7] = pc_len(8, cut[i], strlen(cut[i]));
        run_body(PANP_BODY_NOTIFY, "sender job_id cut short", body, NFIELDS, &t);
        free(body[7].p);
    }
    piece body[NFIELDS];
    memcpy(body, f, sizeof f);
    body[8] = pc_sub(9, NULL, 0);
    run_body(PANP_BODY_NOTIFY, "empty target", body, NFIELDS, &t);
    free(body[8].p);
    body[8] = f[8];
    body[7] = pc_sub(8, NULL, 0);
    run_body(PANP_BODY_NOTIFY, "empty sender", body, NFIELDS, &t);
    free(body[7].p);
    free(server.p);
    free(printer.p);
    free(server_unknown.p);
    free(printer_empty.p);
    free(server_cut.p);
    free(server_group.p);
    pc_free_all(s, 3);
    pc_free_all(f, NFIELDS);
    print_message("submessages: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* One field replaced, for test_values. */
typedef struct replaced {
    size_t field; /* index into the shape's fields */
    piece with;
    const char *name;
} replaced;

static void run_replaced(const shape *sh, replaced *cases, size_t nc, tally *t)
{
    piece f[MAX_FIELDS];
    sh->fields(f, 32);
    for (size_t i = 0; i < nc; i++) {
        piece body[MAX_FIELDS];
        memcpy(body, f, sh->nfields * sizeof f[0]);
        body[cases[i].field] = cases[i].with;
        run_body(sh->kind, cases[i].name, body, sh->nfields, t);
        free(cases[i].with.p);
    }
    pc_free_all(f, sh->nfields);
}

/* Odd encodings, inserted before each field and at the end: a padded
 * varint or length, a two-byte tag, unknown fields of every wire type. */
static void run_inserted(const shape *sh, tally *t)
{
    static const struct {
        const char *bytes;
        size_t n;
        const char *name;
    } odd[] = {
        {"\x08\x81\x00", 3, "field 1 padded"},
        {"\x88\x00\x05", 3, "field 1 with a two-byte tag"},
        {"\x20\x81\x00", 3, "field 4 padded"},
        {"\xa0\x00\x05", 3, "field 4 with a two-byte tag"},
        {"\x58\x01", 2, "unknown varint field 11"},
        {"\xf8\x07\x01", 3, "unknown field 127"},
        {"\x5d\x01\x02\x03\x04", 5, "unknown fixed32 field 11"},
        {"\x59\x01\x02\x03\x04\x05\x06\x07\x08", 9, "unknown fixed64 field 11"},
        {"\x5a\x00", 2, "unknown empty bytes field 11"},
        {"\x5b", 1, "group start"},
        {"\x00\x00", 2, "field 0"},
        {"\x1a\x80\x00", 3, "field 3 with a padded length"},
        {"\x52\x80\x00", 3, "field 10 with a padded length"},
    };
    piece f[MAX_FIELDS];
    sh->fields(f, 32);
    size_t nf = sh->nfields;
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        piece extra = {NULL, 0, 0};
        pc_raw(&extra, odd[i].bytes, odd[i].n);
        for (size_t at = 0; at <= nf; at++) {
            piece body[MAX_FIELDS + 1];
            size_t n = 0;
            for (size_t k = 0; k < nf; k++) {
                if (k == at)
                    body[n++] = extra;
                body[n++] = f[k];
            }
            if (at == nf)
                body[n++] = extra;
            char name[96];
            snprintf(name, sizeof name, "%s: %s", sh->name, odd[i].name);
            run_body(sh->kind, name, body, n, t);
        }
        free(extra.p);
    }
    pc_free_all(f, nf);
}

/* Notify's sender: defaults, limits, UTF-8, NUL, uint32 overflow. */
static void sender_values(tally *t)
{
    piece f[NFIELDS];
    notify_pieces(f, 32, PANP_STYLE_BIDIRECTIONAL);
    char name256[257];
    memset(name256, 'n', 256);
    name256[256] = '\0';
    const char *strings[] = {"", name256, name256 + 1, "a\0b", "\xc3", "\xed\xa0\x80", "\xc0\xaf",
                             "\xf4\x90\x80\x80", "ok \xf0\x9f\x96\xa8"};
    size_t lens[] = {0, 256, 255, 3, 1, 3, 2, 4, 8};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (uint32_t k = 1; k <= 3; k += 2) {
            piece s = pc_len(k, strings[i], lens[i]);
            piece body[NFIELDS];
            memcpy(body, f, sizeof f);
            body[7] = pc_sub(8, &s, 1);
            run_body(PANP_BODY_NOTIFY, "sender string", body, NFIELDS, t);
            free(body[7].p);
            body[7] = f[7];
            piece p = pc_len(2, strings[i], lens[i]);
            body[8] = pc_sub(9, &p, 1);
            run_body(PANP_BODY_NOTIFY, "printer string", body, NFIELDS, t);
            free(body[8].p);
            free(p.p);
            free(s.p);
        }
    const uint64_t job_ids[] = {0, 1, 0xffffffffull, 0x100000000ull};
    for (size_t i = 0; i < 4; i++) {
        piece s = pc_num(2, job_ids[i]);
        piece body[NFIELDS];
        memcpy(body, f, sizeof f);
        body[7] = pc_sub(8, &s, 1);
        run_body(PANP_BODY_NOTIFY, "sender job_id", body, NFIELDS, t);
        free(body[7].p);
        free(s.p);
    }
    pc_free_all(f, NFIELDS);
}

/* Defaults written out, values at and past each limit, odd encodings. */
static void test_values(void **state)
{
    (void)state;
    tally t = {0, 0};
    static uint8_t big[PANP_PAYLOAD_MAX + 1];
    memset(big, 'x', sizeof big);
    replaced notify_cases[] = {
        {0, pc_len(1, REG, 0), "registration empty"},
        {0, pc_len(1, REG, 15), "registration 15 bytes"},
        {0, pc_len(1, big, 33), "registration 33 bytes"},
        {1, pc_num(2, 0), "conversation_id 0 written"},
        {2, pc_len(3, big, 0), "client_state empty"},
        {2, pc_len(3, big, 129), "client_state 129 bytes"},
        {3, pc_num(4, 0), "channel_id 0"},
        {4, pc_num(5, 0), "sequence 0"},
        {5, pc_len(6, TYPE, 15), "type 15 bytes"},
        {5, pc_len(6, big, 17), "type 17 bytes"},
        {6, pc_num(7, 0), "style 0"},
        {6, pc_num(7, 2), "style unidirectional with a conversation id"},
        {6, pc_num(7, 3), "style 3 (unknown)"},
        {6, pc_num(7, 0x7fffffff), "style 2^31-1"},
        {6, pc_num(7, 0x80000000u), "style 2^31"},
        {6, pc_num(7, ~0ull), "style -1"},
        {6, pc_len(7, "", 0), "style as bytes"},
        {9, pc_len(10, big, 0), "payload empty"},
        {9, pc_len(10, big, PANP_PAYLOAD_MAX + 1), "payload over the limit"},
        {8, pc_len(9, "\x12\x00", 2), "printer empty"},
        {1, pc_num(2, 1), "conversation_id 1"},
        {3, pc_num(4, ~0ull), "channel_id 2^64-1"},
    };
    replaced send_cases[] = {
        {0, pc_num(1, 0), "send: channel_id 0 written"},
        {0, pc_num(1, 0x100000000ull), "send: channel_id 2^32"},
        {0, pc_len(1, "", 0), "send: channel_id as bytes"},
        {0, pc_len(1, big, 8), "send: channel_id as 8 bytes"},
        {1, pc_len(2, TYPE, 0), "send: type empty"},
        {1, pc_len(2, TYPE, 15), "send: type 15 bytes"},
        {1, pc_len(2, big, 17), "send: type 17 bytes"},
        {1, pc_num(2, 5), "send: type as a varint"},
        {2, pc_len(3, big, 0), "send: payload empty"},
        {2, pc_len(3, big, PANP_PAYLOAD_MAX), "send: payload at the limit"},
        {2, pc_len(3, big, PANP_PAYLOAD_MAX + 1), "send: payload over the limit"},
        {2, pc_num(3, 1), "send: payload as a varint"},
        {2, pc_len(3, "\x00", 1), "send: payload of one NUL"},
    };
    run_replaced(&SHAPES[0], notify_cases, sizeof notify_cases / sizeof notify_cases[0], &t);
    run_replaced(&SHAPES[1], send_cases, sizeof send_cases / sizeof send_cases[0], &t);
    sender_values(&t);
    for (size_t s = 0; s < NSHAPES; s++)
        run_inserted(&SHAPES[s], &t);
    print_message("values: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* Every adjacent pair of fields swapped, and the whole body reversed. */
static void test_order(void **state)
{
    (void)state;
    tally t = {0, 0};
    for (size_t s = 0; s < NSHAPES; s++) {
        const shape *sh = &SHAPES[s];
        piece f[MAX_FIELDS];
        sh->fields(f, 16);
        for (size_t i = 0; i + 1 < sh->nfields; i++) {
            piece body[MAX_FIELDS];
            memcpy(body, f, sh->nfields * sizeof f[0]);
            body[i] = f[i + 1];
            body[i + 1] = f[i];
            run_body(sh->kind, "fields swapped", body, sh->nfields, &t);
        }
        piece rev[MAX_FIELDS];
        for (size_t i = 0; i < sh->nfields; i++)
            rev[i] = f[sh->nfields - 1 - i];
        run_body(sh->kind, "fields reversed", rev, sh->nfields, &t);
        pc_free_all(f, sh->nfields);
    }
    assert_int_equal(t.taken, 0);
}

/* Every prefix of the frame, and every body length claimed. */
static void test_truncated(void **state)
{
    (void)state;
    tally t = {0, 0};
    for (size_t s = 0; s < NSHAPES; s++) {
        const shape *sh = &SHAPES[s];
        piece f[MAX_FIELDS];
        sh->fields(f, 40);
        piece fr = frame_of(sh->kind, f, sh->nfields, 300);
        for (size_t n = 0; n < fr.n; n++)
            compare_all("truncated", fr.p, n, &t);
        assert_int_equal(t.taken, 0);
        piece body = pc_join(f, sh->nfields);
        for (size_t n = 0; n < body.n; n++) {
            piece x = {NULL, 0, 0};
            pc_raw(&x, "\x08\x05", 2);
            pc_byte(&x, (uint8_t)(sh->kind << 3 | 2));
            pc_varint(&x, n);
            pc_raw(&x, body.p, body.n);
            compare_all("body length short", x.p, x.n, &t);
            free(x.p);
        }
        free(body.p);
        free(fr.p);
        pc_free_all(f, sh->nfields);
    }
    print_message("truncations: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* Single-byte changes of a typical frame at every position. */
static void test_mutations(void **state)
{
    (void)state;
    for (size_t s = 0; s < NSHAPES; s++) {
        const shape *sh = &SHAPES[s];
        tally t = {0, 0};
        piece f[MAX_FIELDS];
        sh->fields(f, 24);
        piece fr = frame_of(sh->kind, f, sh->nfields, 5);
        uint8_t *m = malloc(fr.n);
        for (size_t i = 0; i < fr.n; i++) {
            uint8_t b = fr.p[i];
            const uint8_t with[] = {0x00, 0x01, 0x7f, 0x80, 0xff, (uint8_t)(b ^ 0x01),
                                    (uint8_t)(b ^ 0x08), (uint8_t)(b ^ 0x80), (uint8_t)(b + 1),
                                    (uint8_t)(b - 1)};
            for (size_t k = 0; k < sizeof with; k++) {
                if (with[k] == b)
                    continue;
                memcpy(m, fr.p, fr.n);
                m[i] = with[k];
                compare_all("mutated", m, fr.n, &t);
            }
        }
        assert_true(t.taken > 0); /* changes inside values leave frames valid */
        free(m);
        free(fr.p);
        pc_free_all(f, sh->nfields);
        print_message("%s mutations: %zu configurations, %zu taken\n", sh->name, t.runs,
                      t.taken);
    }
}

/* Arguments the full path refuses before reading a byte. */
static void test_arguments(void **state)
{
    (void)state;
    const panp_peer receivers[] = {PANP_PEER_CLIENT, PANP_PEER_BROKER};
    for (size_t s = 0; s < NSHAPES; s++) {
        piece f[MAX_FIELDS];
        SHAPES[s].fields(f, 8);
        piece fr = frame_of(SHAPES[s].kind, f, SHAPES[s].nfields, 3);
        panp_decode_opts bad = {(panp_backend)7, receivers[s], 0};
        assert_false(compare_one("unknown backend", fr.p, fr.n, &bad, PANP_PHASE_READY));
        panp_decode_opts small = {PANP_BACKEND_PROTOBUF_C, receivers[s], (uint32_t)fr.n - 1};
        assert_false(compare_one("over the size limit", fr.p, fr.n, &small, PANP_PHASE_READY));
        small.max_frame_size = (uint32_t)fr.n;
        assert_true(compare_one("at the size limit", fr.p, fr.n, &small, PANP_PHASE_READY));
        panp_frame *out = NULL;
        assert_false(codec_decode_fast(&small, PANP_PHASE_READY, NULL, fr.n, &out, NULL));
        assert_true(codec_decode_fast(NULL, PANP_PHASE_NONE, fr.p, fr.n, &out, NULL));
        panp_frame_free(out);
        free(fr.p);
        pc_free_all(f, SHAPES[s].nfields);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive_vectors),
        cmocka_unit_test(test_negative_vectors),
        cmocka_unit_test(test_taken),
        cmocka_unit_test(test_send_taken),
        cmocka_unit_test(test_omitted_and_duplicated),
        cmocka_unit_test(test_frame_level),
        cmocka_unit_test(test_send_request_id_0),
        cmocka_unit_test(test_submessages),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
