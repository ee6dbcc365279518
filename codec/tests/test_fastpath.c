/* test_fastpath.c - the received-Notify fast path against the full path.
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
 * Notifys: the common case, the maxima, each field omitted, duplicated,
 * out of order, written as its default, padded, unknown fields, each
 * truncation, and single-byte mutations.
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

/* A Notify the fast path must take: as a client in phase NONE or READY,
 * as a tool, with either backend. */
static void expect_taken(const char *name, const uint8_t *buf, size_t len)
{
    const panp_peer peers[] = {PANP_PEER_CLIENT, PANP_PEER_CLIENT, PANP_PEER_ANY};
    const panp_phase phases[] = {PANP_PHASE_NONE, PANP_PHASE_READY, PANP_PHASE_NONE};
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++) {
            panp_decode_opts o = {tu_backends[b], peers[i], 0};
            if (!compare_one(name, buf, len, &o, phases[i]))
                fail_msg("%s: the fast path did not take it (%s, peer %d, phase %d)", name,
                         tu_backend_name(tu_backends[b]), (int)peers[i], (int)phases[i]);
        }
}

/* ---- the golden vectors --------------------------------------------------- */

static void test_positive_vectors(void **state)
{
    (void)state;
    size_t n, notifies = 0;
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
        if (strstr(names[k], "notify")) {
            expect_taken(names[k], bin, len);
            notifies++;
        }
        free(bin);
    }
    assert_true(notifies >= 3);
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

/* A Frame around the Notify body made of the pieces. */
static piece frame_of(const piece *body, size_t n, uint64_t request_id)
{
    piece x = {NULL, 0, 0};
    if (request_id) {
        piece r = pc_num(1, request_id);
        pc_raw(&x, r.p, r.n);
        free(r.p);
    }
    piece b = pc_sub(PANP_BODY_NOTIFY, body, n);
    pc_raw(&x, b.p, b.n);
    free(b.p);
    return x;
}

static const uint8_t REG[16] = {0x5a, 0x1e, 0x9c, 0x03, 0x77, 0xd2, 0x41, 0x8b,
                                0x0f, 0xe6, 0x2d, 0xb4, 0x93, 0x60, 0xc8, 0x15};
static const uint8_t TYPE[16] = {0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
                                 0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};

enum { NFIELDS = 10 };

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
    uint8_t *payload = malloc(payload_len ? payload_len : 1);
    for (size_t i = 0; i < payload_len; i++)
        payload[i] = (uint8_t)(i * 7);
    f[9] = pc_len(10, payload, payload_len);
    free(payload);
}

static void run_frame(const char *name, const piece *frame, tally *t)
{
    compare_all(name, frame->p, frame->n, t);
}

static void run_body(const char *name, const piece *body, size_t n, tally *t)
{
    piece fr = frame_of(body, n, 0);
    run_frame(name, &fr, t);
    free(fr.p);
    fr = frame_of(body, n, 77);
    run_frame(name, &fr, t);
    free(fr.p);
}

/* The common case and its maxima: taken, and canonical (what panp_encode
 * writes for the view). */
static void test_taken(void **state)
{
    (void)state;
    piece f[NFIELDS];
    const size_t sizes[] = {1, 256, PANP_PAYLOAD_MAX};
    for (size_t i = 0; i < 3; i++) {
        notify_pieces(f, sizes[i], PANP_STYLE_BIDIRECTIONAL);
        for (int rid = 0; rid < 2; rid++) {
            piece fr = frame_of(f, NFIELDS, rid ? 0xffffffffffffffffull : 0);
            char name[64];
            snprintf(name, sizeof name, "notify, %zu-byte payload", sizes[i]);
            expect_taken(name, fr.p, fr.n);
            panp_frame *v = NULL;
            panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, 0};
            assert_int_equal(panp_decode(&o, fr.p, fr.n, &v, NULL), 0);
            uint8_t *again = malloc(fr.n);
            size_t need = 0;
            assert_int_equal(panp_encode(PANP_BACKEND_NANOPB, v, again, fr.n, &need, NULL), 0);
            assert_int_equal(need, fr.n);
            assert_memory_equal(again, fr.p, fr.n);
            /* The view owns its bytes: the input may go. */
            memset(fr.p, 0xee, fr.n);
            assert_memory_equal(v->body.notify.registration.data, REG, sizeof REG);
            assert_string_equal(v->body.notify.sender.job_owner, "carol");
            assert_string_equal(v->body.notify.target.printer, "Office-2F");
            free(again);
            panp_frame_free(v);
            free(fr.p);
        }
        pc_free_all(f, NFIELDS);
    }
    /* Only the required fields; a server target; a unidirectional style. */
    notify_pieces(f, 16, PANP_STYLE_UNIDIRECTIONAL);
    piece server[1] = {pc_len(1, "", 0)};
    piece minimal[6] = {f[0], f[3], f[4], f[5], f[6], pc_sub(9, server, 1)};
    piece fr = frame_of(minimal, 5, 0);
    expect_taken("notify, required fields only", fr.p, fr.n);
    free(fr.p);
    fr = frame_of(minimal, 6, 0);
    expect_taken("notify, server target", fr.p, fr.n);
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
    fr = frame_of(big, NFIELDS, 0);
    expect_taken("notify, strings and bytes at their limits", fr.p, fr.n);
    free(fr.p);
    free(big[0].p);
    free(big[2].p);
    free(big[7].p);
    free(big[8].p);
    pc_free_all(s, 3);
    pc_free_all(t, 1);
    pc_free_all(f, NFIELDS);
}

/* Each field left out, and each written twice (in place, then at the end). */
static void test_omitted_and_duplicated(void **state)
{
    (void)state;
    tally t = {0, 0};
    piece f[NFIELDS];
    notify_pieces(f, 64, PANP_STYLE_BIDIRECTIONAL);
    for (size_t i = 0; i < NFIELDS; i++) {
        piece body[NFIELDS + 1];
        size_t n = 0;
        for (size_t k = 0; k < NFIELDS; k++)
            if (k != i)
                body[n++] = f[k];
        char name[64];
        snprintf(name, sizeof name, "notify without field %zu", i + 1);
        run_body(name, body, n, &t);
        n = 0;
        for (size_t k = 0; k < NFIELDS; k++) {
            body[n++] = f[k];
            if (k == i)
                body[n++] = f[k];
        }
        snprintf(name, sizeof name, "notify with field %zu twice", i + 1);
        run_body(name, body, n, &t);
        memcpy(body, f, sizeof f);
        body[NFIELDS] = f[i];
        snprintf(name, sizeof name, "notify with field %zu again at the end", i + 1);
        run_body(name, body, NFIELDS + 1, &t);
    }
    /* The Frame's level: request_id twice, after the body, a second body. */
    piece fr = frame_of(f, NFIELDS, 5);
    piece rid = pc_num(1, 5);
    piece twice = pc_join(&rid, 1);
    pc_raw(&twice, fr.p, fr.n);
    run_frame("request_id twice", &twice, &t);
    piece after = frame_of(f, NFIELDS, 0);
    pc_raw(&after, rid.p, rid.n);
    run_frame("request_id after the body", &after, &t);
    piece two = frame_of(f, NFIELDS, 0);
    pc_raw(&two, two.p, two.n);
    run_frame("two notify bodies", &two, &t);
    free(fr.p);
    free(rid.p);
    free(twice.p);
    free(after.p);
    free(two.p);
    pc_free_all(f, NFIELDS);
    print_message("omitted/duplicated: %zu configurations, %zu taken\n", t.runs, t.taken);
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
        run_body("sender field omitted", body, NFIELDS, &t);
        free(body[7].p);
        n = 0;
        for (size_t k = 0; k < 3; k++) {
            sub[n++] = s[k];
            if (k == i)
                sub[n++] = s[k];
        }
        body[7] = pc_sub(8, sub, n);
        run_body("sender field twice", body, NFIELDS, &t);
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
        run_body("target variant", body, NFIELDS, &t);
        free(body[8].p);
        body[8] = pc_sub(9, &targets[i][1], 1);
        run_body("target variant (second piece alone)", body, NFIELDS, &t);
        free(body[8].p);
    }
    piece body[NFIELDS];
    memcpy(body, f, sizeof f);
    body[8] = pc_sub(9, NULL, 0);
    run_body("empty target", body, NFIELDS, &t);
    free(body[8].p);
    body[8] = f[8];
    body[7] = pc_sub(8, NULL, 0);
    run_body("empty sender", body, NFIELDS, &t);
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

/* Defaults written out, values at and past each limit, odd encodings. */
static void test_values(void **state)
{
    (void)state;
    tally t = {0, 0};
    piece f[NFIELDS];
    notify_pieces(f, 32, PANP_STYLE_BIDIRECTIONAL);
    uint8_t big[PANP_PAYLOAD_MAX + 1];
    memset(big, 'x', sizeof big);
    char name256[257];
    memset(name256, 'n', 256);
    name256[256] = '\0';
    struct {
        size_t field; /* index into f */
        piece with;
        const char *name;
    } cases[] = {
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
    size_t nc = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < nc; i++) {
        piece body[NFIELDS];
        memcpy(body, f, sizeof f);
        body[cases[i].field] = cases[i].with;
        run_body(cases[i].name, body, NFIELDS, &t);
        free(cases[i].with.p);
    }
    /* Sender values: defaults, limits, UTF-8, NUL, uint32 overflow. */
    const char *strings[] = {"", name256, name256 + 1, "a\0b", "\xc3", "\xed\xa0\x80", "\xc0\xaf",
                             "\xf4\x90\x80\x80", "ok \xf0\x9f\x96\xa8"};
    size_t lens[] = {0, 256, 255, 3, 1, 3, 2, 4, 8};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (uint32_t k = 1; k <= 3; k += 2) {
            piece s = pc_len(k, strings[i], lens[i]);
            piece body[NFIELDS];
            memcpy(body, f, sizeof f);
            body[7] = pc_sub(8, &s, 1);
            run_body("sender string", body, NFIELDS, &t);
            free(body[7].p);
            body[7] = f[7];
            piece p = pc_len(2, strings[i], lens[i]);
            body[8] = pc_sub(9, &p, 1);
            run_body("printer string", body, NFIELDS, &t);
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
        run_body("sender job_id", body, NFIELDS, &t);
        free(body[7].p);
        free(s.p);
    }
    /* Encodings: a padded varint, a two-byte tag, an unknown field, a
     * fixed-width field, a padded length. */
    const struct {
        const char *bytes;
        size_t n;
        const char *name;
    } odd[] = {
        {"\x20\x81\x00", 3, "channel_id padded"},
        {"\xa0\x00\x05", 3, "channel_id with a two-byte tag"},
        {"\x58\x01", 2, "unknown varint field 11"},
        {"\xf8\x07\x01", 3, "unknown field 127"},
        {"\x5d\x01\x02\x03\x04", 5, "unknown fixed32 field 11"},
        {"\x59\x01\x02\x03\x04\x05\x06\x07\x08", 9, "unknown fixed64 field 11"},
        {"\x5a\x00", 2, "unknown empty bytes field 11"},
        {"\x5b", 1, "group start"},
        {"\x00\x00", 2, "field 0"},
        {"\x52\x80\x00", 3, "payload with a padded length"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        piece extra = {NULL, 0, 0};
        pc_raw(&extra, odd[i].bytes, odd[i].n);
        for (size_t at = 0; at <= NFIELDS; at++) {
            piece body[NFIELDS + 1];
            size_t n = 0;
            for (size_t k = 0; k < NFIELDS; k++) {
                if (k == at)
                    body[n++] = extra;
                body[n++] = f[k];
            }
            if (at == NFIELDS)
                body[n++] = extra;
            run_body(odd[i].name, body, n, &t);
        }
        free(extra.p);
    }
    pc_free_all(f, NFIELDS);
    print_message("values: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* Every adjacent pair of fields swapped, and the whole body reversed. */
static void test_order(void **state)
{
    (void)state;
    tally t = {0, 0};
    piece f[NFIELDS];
    notify_pieces(f, 16, PANP_STYLE_BIDIRECTIONAL);
    for (size_t i = 0; i + 1 < NFIELDS; i++) {
        piece body[NFIELDS];
        memcpy(body, f, sizeof f);
        body[i] = f[i + 1];
        body[i + 1] = f[i];
        run_body("fields swapped", body, NFIELDS, &t);
    }
    piece rev[NFIELDS];
    for (size_t i = 0; i < NFIELDS; i++)
        rev[i] = f[NFIELDS - 1 - i];
    run_body("fields reversed", rev, NFIELDS, &t);
    pc_free_all(f, NFIELDS);
    assert_int_equal(t.taken, 0);
}

/* Every prefix of a Notify, and every body length claimed. */
static void test_truncated(void **state)
{
    (void)state;
    tally t = {0, 0};
    piece f[NFIELDS];
    notify_pieces(f, 40, PANP_STYLE_BIDIRECTIONAL);
    piece fr = frame_of(f, NFIELDS, 300);
    for (size_t n = 0; n < fr.n; n++)
        compare_all("truncated notify", fr.p, n, &t);
    assert_int_equal(t.taken, 0);
    piece body = pc_join(f, NFIELDS);
    for (size_t n = 0; n < body.n; n++) {
        piece x = {NULL, 0, 0};
        pc_byte(&x, 0x12);
        pc_varint(&x, n);
        pc_raw(&x, body.p, body.n);
        compare_all("notify length short", x.p, x.n, &t);
        free(x.p);
    }
    free(body.p);
    free(fr.p);
    pc_free_all(f, NFIELDS);
    print_message("truncations: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* Single-byte changes of a typical Notify at every position. */
static void test_mutations(void **state)
{
    (void)state;
    tally t = {0, 0};
    piece f[NFIELDS];
    notify_pieces(f, 24, PANP_STYLE_BIDIRECTIONAL);
    piece fr = frame_of(f, NFIELDS, 0);
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
            compare_all("mutated notify", m, fr.n, &t);
        }
    }
    free(m);
    free(fr.p);
    pc_free_all(f, NFIELDS);
    print_message("mutations: %zu configurations, %zu taken\n", t.runs, t.taken);
}

/* Arguments the full path refuses before reading a byte. */
static void test_arguments(void **state)
{
    (void)state;
    piece f[NFIELDS];
    notify_pieces(f, 8, PANP_STYLE_BIDIRECTIONAL);
    piece fr = frame_of(f, NFIELDS, 0);
    panp_decode_opts bad = {(panp_backend)7, PANP_PEER_CLIENT, 0};
    assert_false(compare_one("unknown backend", fr.p, fr.n, &bad, PANP_PHASE_NONE));
    panp_decode_opts small = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, (uint32_t)fr.n - 1};
    assert_false(compare_one("over the size limit", fr.p, fr.n, &small, PANP_PHASE_NONE));
    small.max_frame_size = (uint32_t)fr.n;
    assert_true(compare_one("at the size limit", fr.p, fr.n, &small, PANP_PHASE_NONE));
    panp_frame *out = NULL;
    assert_false(codec_decode_fast(&small, PANP_PHASE_NONE, NULL, fr.n, &out, NULL));
    assert_true(codec_decode_fast(NULL, PANP_PHASE_NONE, fr.p, fr.n, &out, NULL));
    panp_frame_free(out);
    free(fr.p);
    pc_free_all(f, NFIELDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive_vectors),
        cmocka_unit_test(test_negative_vectors),
        cmocka_unit_test(test_taken),
        cmocka_unit_test(test_omitted_and_duplicated),
        cmocka_unit_test(test_submessages),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
