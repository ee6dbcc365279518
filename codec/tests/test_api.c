/* test_api.c - the codec API contract, table-driven over both backends:
 * size queries, short buffers, NULL handling, storage variants, status
 * values (code, offset, request id, field, message), helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

size_t view_size(const panp_frame *f); /* codec/src/size.c */

static void test_encode_size_query(void **state)
{
    (void)state;
    size_t nk;
    const panp_body_kind *kinds = tu_all_kinds(&nk);
    for (int b = 0; b < 2; b++) {
        for (size_t k = 0; k < nk; k++) {
            panp_frame f;
            panp_status st;
            size_t need = 0, need2 = 0;
            tu_sample(kinds[k], &f);
            assert_int_equal(panp_encode(tu_backends[b], &f, NULL, 0, &need, &st),
                             PANP_ERR_RESOURCE_EXHAUSTED);
            assert_true(need > 0);
            assert_int_equal(need, view_size(&f));
            uint8_t *buf = malloc(need + 1);
            memset(buf, 0xAA, need + 1);
            /* one byte short: nothing written */
            assert_int_equal(panp_encode(tu_backends[b], &f, buf, need - 1, &need2, &st),
                             PANP_ERR_RESOURCE_EXHAUSTED);
            assert_int_equal(need2, need);
            for (size_t i = 0; i <= need; i++)
                assert_int_equal(buf[i], 0xAA);
            assert_int_equal(panp_encode(tu_backends[b], &f, buf, need, &need2, &st), 0);
            assert_int_equal(st.code, 0);
            assert_int_equal(buf[need], 0xAA);
            /* delimited = prefix + the same bytes */
            uint8_t *d = malloc(need + 10);
            size_t dn;
            assert_int_equal(panp_encode_delimited(tu_backends[b], &f, NULL, 0, &dn, &st),
                             PANP_ERR_RESOURCE_EXHAUSTED);
            assert_int_equal(dn, need + panp_varint_size(need));
            assert_int_equal(panp_encode_delimited(tu_backends[b], &f, d, dn - 1, &dn, &st),
                             PANP_ERR_RESOURCE_EXHAUSTED);
            assert_int_equal(panp_encode_delimited(tu_backends[b], &f, d, need + 10, &dn, &st), 0);
            uint8_t prefix[10];
            size_t pn = panp_varint_put(prefix, need);
            assert_memory_equal(d, prefix, pn);
            assert_memory_equal(d + pn, buf, need);
            /* and it decodes back to the same view */
            panp_frame *back = NULL;
            panp_decode_opts o = {tu_backends[b], PANP_PEER_ANY, 0};
            assert_int_equal(panp_decode(&o, buf, need, &back, &st), 0);
            char why[160];
            if (!tu_frames_equal(&f, back, why, sizeof why))
                fail_msg("%s round trip: %s", panp_body_name(kinds[k]), why);
            panp_frame_free(back);
            free(d);
            free(buf);
        }
    }
}

static void test_null_handling(void **state)
{
    (void)state;
    panp_frame_free(NULL);
    panp_framer_free(NULL);
    panp_frame f;
    tu_sample(PANP_BODY_PING, &f);
    uint8_t buf[16];
    /* NULL status and NULL needed are allowed */
    assert_int_equal(panp_encode(PANP_BACKEND_PROTOBUF_C, &f, buf, sizeof buf, NULL, NULL), 0);
    panp_frame *out = NULL;
    assert_int_equal(panp_decode(NULL, buf, 4, &out, NULL), 0); /* 08 2a 42 00 */
    assert_int_equal(out->kind, PANP_BODY_PING);
    assert_int_equal(out->request_id, 42);
    panp_frame_free(out);
    assert_int_equal(panp_decode(NULL, NULL, 0, &out, NULL), PANP_ERR_PROTOCOL_VIOLATION);
    assert_null(out);
    panp_status st;
    assert_int_equal(panp_decode(NULL, NULL, 3, &out, &st), PANP_ERR_INVALID_ARGUMENT);
    assert_int_equal(panp_encode(PANP_BACKEND_NANOPB, NULL, buf, 16, NULL, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    assert_int_equal(panp_validate(NULL, PANP_PEER_ANY, 0, &st), PANP_ERR_INVALID_ARGUMENT);
    assert_int_equal(panp_encode((panp_backend)9, &f, buf, 16, NULL, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    panp_decode_opts o = {(panp_backend)9, PANP_PEER_ANY, 0};
    assert_int_equal(panp_decode(&o, buf, 4, &out, &st), PANP_ERR_INVALID_ARGUMENT);
    assert_int_equal(panp_status_set(NULL, PANP_ERR_INTERNAL, 0, "x", "y"), PANP_ERR_INTERNAL);
}

static void test_status(void **state)
{
    (void)state;
    panp_status st;
    memset(&st, 0x5A, sizeof st);
    panp_status_set(&st, PANP_ERR_NOT_FOUND, 12, "unregister.handle", "no such %s", "handle");
    assert_int_equal(st.code, PANP_ERR_NOT_FOUND);
    assert_int_equal(st.offset, 12);
    assert_int_equal(st.request_id, 0);
    assert_string_equal(st.field, "unregister.handle");
    assert_string_equal(st.message, "unregister.handle: no such handle");
    panp_status_set(&st, PANP_ERR_INTERNAL, SIZE_MAX, "", "plain");
    assert_string_equal(st.message, "plain");
    char longf[200];
    memset(longf, 'f', sizeof longf - 1);
    longf[sizeof longf - 1] = '\0';
    panp_status_set(&st, PANP_ERR_INTERNAL, 0, longf, "%s", longf);
    assert_int_equal(strlen(st.field), sizeof st.field - 1);
    assert_int_equal(strlen(st.message), sizeof st.message - 1);
}

/* 08 07 | 92 01 17 | 0a 02 0a 00 | 12 03 41 42 43 | 18 01 20 01 ...: Register with a 3-byte
 * type, the brief's own example. */
static void test_error_values(void **state)
{
    (void)state;
    const uint8_t reg[] = {0x08, 0x07, 0x92, 0x01, 0x0d, 0x0a, 0x02, 0x0a, 0x00, 0x12,
                           0x03, 0x41, 0x42, 0x43, 0x18, 0x01, 0x20, 0x01};
    /* the same body with request_id after it on the wire */
    const uint8_t late[] = {0x92, 0x01, 0x0d, 0x0a, 0x02, 0x0a, 0x00, 0x12, 0x03,
                            0x41, 0x42, 0x43, 0x18, 0x01, 0x20, 0x01, 0x08, 0x07};
    for (int b = 0; b < 2; b++) {
        panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
        panp_frame *f = (panp_frame *)1;
        panp_status st;
        assert_int_equal(panp_decode(&o, reg, sizeof reg, &f, &st), PANP_ERR_INVALID_ARGUMENT);
        assert_null(f);
        assert_string_equal(st.message, "register.notification_type: want 16 bytes, got 3");
        assert_string_equal(st.field, "register.notification_type");
        assert_int_equal(st.offset, 11); /* the value's first byte */
        assert_int_equal(st.request_id, 7);
        assert_int_equal(panp_decode(&o, late, sizeof late, &f, &st), PANP_ERR_INVALID_ARGUMENT);
        assert_int_equal(st.request_id, 7);
        assert_int_equal(st.offset, 9);
        /* a malformation, before request_id or after it: request id 0 (ERR-8) */
        const uint8_t bad[] = {0x42, 0x80, 0x00, 0x08, 0x07};
        assert_int_equal(panp_decode(&o, bad, sizeof bad, &f, &st), PANP_ERR_PROTOCOL_VIOLATION);
        assert_int_equal(st.request_id, 0);
        assert_int_equal(st.offset, 1);
        const uint8_t bad2[] = {0x08, 0x07, 0x42, 0x80, 0x00};
        assert_int_equal(panp_decode(&o, bad2, sizeof bad2, &f, &st), PANP_ERR_PROTOCOL_VIOLATION);
        assert_int_equal(st.request_id, 0);
        /* success clears the status and reports the request id */
        const uint8_t ping[] = {0x08, 0x09, 0x42, 0x00};
        memset(&st, 0x5A, sizeof st);
        assert_int_equal(panp_decode(&o, ping, sizeof ping, &f, &st), 0);
        assert_int_equal(st.code, 0);
        assert_int_equal(st.request_id, 9);
        assert_string_equal(st.message, "");
        panp_frame_free(f);
        /* frame limit: checked before anything else, offset 0 */
        o.max_frame_size = 3;
        assert_int_equal(panp_decode(&o, ping, sizeof ping, &f, &st), PANP_ERR_FRAME_TOO_LARGE);
        assert_int_equal(st.offset, 0);
        assert_int_equal(st.request_id, 0);
        assert_string_equal(st.field, ""); /* SPEC 19.1: no field */
    }
}

static void test_decode_into(void **state)
{
    (void)state;
    panp_frame f, out;
    panp_status st;
    uint8_t buf[512];
    size_t n;
    tu_sample(PANP_BODY_REGISTRATION_LIST, &f);
    assert_int_equal(panp_encode(PANP_BACKEND_NANOPB, &f, buf, sizeof buf, &n, &st), 0);
    panp_decode_opts o = {PANP_BACKEND_NANOPB, PANP_PEER_CLIENT, 0};
    size_t need = panp_decode_storage_size(PANP_BACKEND_NANOPB, PANP_BODY_REGISTRATION_LIST, n);
    assert_true(need > 0);
    assert_true(need <= panp_decode_storage_size(PANP_BACKEND_NANOPB, PANP_BODY_NONE, 0));
    void *storage = aligned_alloc(16, (need + 15) / 16 * 16);
    assert_int_equal(panp_decode_into(&o, buf, n, storage, need - 1, &out, &st),
                     PANP_ERR_RESOURCE_EXHAUSTED);
    assert_int_equal(panp_decode_into(&o, buf, n, storage, need, &out, &st), 0);
    char why[160];
    assert_true(tu_frames_equal(&f, &out, why, sizeof why));
    free(storage);

    /* protobuf-c: the arena is the storage; too little is an error value */
    o.backend = PANP_BACKEND_PROTOBUF_C;
    need = panp_decode_storage_size(PANP_BACKEND_PROTOBUF_C, PANP_BODY_NONE, n);
    storage = aligned_alloc(16, (need + 15) / 16 * 16);
    for (size_t small = 0; small < 320; small += 32)
        assert_int_equal(panp_decode_into(&o, buf, n, storage, small, &out, &st),
                         PANP_ERR_RESOURCE_EXHAUSTED);
    assert_int_equal(panp_decode_into(&o, buf, n, storage, need, &out, &st), 0);
    assert_true(tu_frames_equal(&f, &out, why, sizeof why));
    free(storage);
}

static void test_encode_with_storage(void **state)
{
    (void)state;
    panp_frame f;
    panp_status st;
    uint8_t buf[256];
    size_t n, ref;
    tu_sample(PANP_BODY_REGISTER, &f);
    assert_int_equal(panp_encode(PANP_BACKEND_PROTOBUF_C, &f, buf, sizeof buf, &ref, &st), 0);
    size_t need = panp_encode_storage_size(PANP_BACKEND_NANOPB, PANP_BODY_REGISTER);
    assert_true(need > 0 && need < 1024);
    assert_int_equal(panp_encode_storage_size(PANP_BACKEND_PROTOBUF_C, PANP_BODY_REGISTER), 0);
    void *storage = aligned_alloc(16, 1024);
    assert_int_equal(panp_encode_with_storage(PANP_BACKEND_NANOPB, &f, buf, sizeof buf, &n,
                                              storage, need - 1, &st),
                     PANP_ERR_RESOURCE_EXHAUSTED);
    uint8_t out[256];
    assert_int_equal(panp_encode_with_storage(PANP_BACKEND_NANOPB, &f, out, sizeof out, &n,
                                              storage, need, &st),
                     0);
    assert_int_equal(n, ref);
    assert_memory_equal(out, buf, n);
    assert_int_equal(panp_encode_with_storage(PANP_BACKEND_PROTOBUF_C, &f, out, sizeof out, &n,
                                              NULL, 0, &st),
                     0);
    free(storage);
}

/* The arena budget holds for the worst frame: nothing but tiny unknown
 * fields (protobuf-c keeps each one, plus its scan slabs). */
static void test_pbc_budget_worst_case(void **state)
{
    (void)state;
    size_t len = PANP_DEFAULT_MAX_FRAME;
    uint8_t *buf = malloc(len);
    buf[0] = 0x42; /* ping {} */
    buf[1] = 0x00;
    for (size_t i = 2; i + 1 < len; i += 2) {
        buf[i] = 0x78; /* field 15, varint */
        buf[i + 1] = 0x01;
    }
    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_BROKER, 0};
    panp_frame *f = NULL;
    panp_status st;
    assert_int_equal(panp_decode(&o, buf, len, &f, &st), 0);
    assert_int_equal(f->kind, PANP_BODY_PING);
    panp_frame_free(f);
    o.backend = PANP_BACKEND_NANOPB;
    assert_int_equal(panp_decode(&o, buf, len, &f, &st), 0);
    panp_frame_free(f);
    free(buf);
}

static void test_encode_refuses_invalid(void **state)
{
    (void)state;
    panp_frame f;
    panp_status st;
    size_t n = 99;
    uint8_t buf[64];
    for (int b = 0; b < 2; b++) {
        tu_sample(PANP_BODY_SEND, &f);
        f.body.send.notification_type.len = 3;
        assert_int_equal(panp_encode(tu_backends[b], &f, buf, sizeof buf, &n, &st),
                         PANP_ERR_INVALID_ARGUMENT);
        assert_string_equal(st.field, "send.notification_type");
        assert_int_equal(panp_encode(tu_backends[b], &f, NULL, 0, &n, &st),
                         PANP_ERR_INVALID_ARGUMENT); /* even for a size query */
        memset(&f, 0, sizeof f);
        assert_int_equal(panp_encode(tu_backends[b], &f, buf, sizeof buf, &n, &st),
                         PANP_ERR_PROTOCOL_VIOLATION);
        f.kind = (panp_body_kind)12;
        assert_int_equal(panp_encode(tu_backends[b], &f, buf, sizeof buf, &n, &st),
                         PANP_ERR_INVALID_ARGUMENT);
    }
}

/* A client accepts enum values from newer brokers, and both backends
 * re-encode them the same way; a broker (or PEER_ANY) does not. */
static void test_client_enum_leniency(void **state)
{
    (void)state;
    const uint8_t bye[] = {0xf2, 0x01, 0x02, 0x08, 0x63}; /* goodbye { reason: 99 } */
    const uint8_t err[] = {0x52, 0x02, 0x08, 0x40};       /* error { code: 64 } */
    for (int b = 0; b < 2; b++) {
        panp_decode_opts o = {tu_backends[b], PANP_PEER_CLIENT, 0};
        panp_frame *f = NULL;
        panp_status st;
        assert_int_equal(panp_decode(&o, bye, sizeof bye, &f, &st), 0);
        assert_int_equal(f->body.goodbye.reason, 99);
        for (int e = 0; e < 2; e++) {
            uint8_t out[16];
            size_t n;
            assert_int_equal(panp_encode(tu_backends[e], f, out, sizeof out, &n, &st), 0);
            assert_int_equal(n, sizeof bye);
            assert_memory_equal(out, bye, n);
        }
        panp_frame_free(f);
        assert_int_equal(panp_decode(&o, err, sizeof err, &f, &st), 0);
        assert_int_equal(f->body.error.code, 64);
        assert_string_equal(panp_error_code_name(f->body.error.code), "?");
        panp_frame_free(f);
        o.peer = PANP_PEER_ANY;
        assert_int_equal(panp_decode(&o, bye, sizeof bye, &f, &st), PANP_ERR_INVALID_ARGUMENT);
        assert_string_equal(st.field, "goodbye.reason");
        assert_int_equal(panp_decode(&o, err, sizeof err, &f, &st), PANP_ERR_INVALID_ARGUMENT);
    }
}

/* SPEC 6.3, CLI-2: a client takes any value, 0 included, in every enum
 * field of what it receives; strict receivers refuse both. */
static void test_client_takes_every_enum_value(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        uint8_t head[8];
        size_t head_len; /* the frame up to the enum's tag; the value, then tail, follow */
        uint8_t tag;
        uint8_t tail[48];
        size_t tail_len;
    } rows[] = {
        {"error.code", {0x52}, 1, 0x08, {0}, 0},
        {"ok.info", {0x5a}, 1, 0x08, {0}, 0},
        {"goodbye.reason", {0xf2, 0x01}, 2, 0x08, {0}, 0},
        {"channel_close_result.outcome", {0xe2, 0x01}, 2, 0x08, {0}, 0},
        {"registration_ended.reason", {0xea, 0x01}, 2, 0x10,
         {0x0a, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 18},
        {"channel_closed.reason", {0x3a}, 1, 0x20, {0x08, 0x05}, 2},
        {"notify.style", {0x12}, 1, 0x38,
         {0x0a, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x20, 0x01, 0x28,
          0x01, 0x32, 0x10, 0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23, 0xb6, 0xe7, 0xfd,
          0x69, 0x05, 0x61, 0x53, 0xf0},
         40},
    };
    const uint64_t values[] = {0, 99, 0x7fffffff};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (size_t v = 0; v < 3; v++) {
            if (values[v] == 0 && (r == 0 || r == 1 || r == 2))
                continue; /* 0 there is the default: nothing to test */
            uint8_t body[64], frame[80];
            size_t bn = 0, fn = 0;
            body[bn++] = rows[r].tag;
            bn += panp_varint_put(body + bn, values[v]);
            memcpy(body + bn, rows[r].tail, rows[r].tail_len);
            bn += rows[r].tail_len;
            memcpy(frame, rows[r].head, rows[r].head_len);
            fn = rows[r].head_len;
            frame[fn++] = (uint8_t)bn;
            memcpy(frame + fn, body, bn);
            fn += bn;
            for (int b = 0; b < 2; b++) {
                panp_decode_opts o = {tu_backends[b], PANP_PEER_CLIENT, 0};
                panp_frame *f = NULL;
                panp_status st;
                if (panp_decode(&o, frame, fn, &f, &st) != 0)
                    fail_msg("%s = %llu refused by a client: %s", rows[r].field,
                             (unsigned long long)values[v], st.message);
                panp_frame_free(f);
                o.peer = PANP_PEER_ANY;
                assert_int_equal(panp_decode(&o, frame, fn, &f, &st), PANP_ERR_INVALID_ARGUMENT);
                assert_string_equal(st.field, rows[r].field);
            }
        }
    }
}

/* SPEC 7.5, CONN-19: a broker takes any well-formed Goodbye; what no runtime
 * holds arrives as reason 0 / message "". */
static void test_broker_takes_any_goodbye(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint8_t b[16];
        size_t n;
        int reason;
    } rows[] = {
        {"reason 99", {0xf2, 0x01, 0x02, 0x08, 0x63}, 5, 99},
        {"message not UTF-8", {0xf2, 0x01, 0x05, 0x08, 0x01, 0x12, 0x01, 0xff}, 8, 1},
        {"message with a NUL", {0xf2, 0x01, 0x06, 0x08, 0x02, 0x12, 0x02, 0x61, 0x00}, 9, 2},
        {"reason -1", {0xf2, 0x01, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                       0x01}, 14, 0},
        {"request_id 0, reason 0", {0xf2, 0x01, 0x00}, 3, 0},
    };
    for (int b = 0; b < 2; b++) {
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            for (int ph = 0; ph < 2; ph++) {
                panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
                panp_frame *f = NULL;
                panp_status st;
                panp_error_code rc = ph ? panp_decode_received(&o, PANP_PHASE_READY, rows[r].b,
                                                               rows[r].n, &f, &st)
                                        : panp_decode(&o, rows[r].b, rows[r].n, &f, &st);
                if (rc)
                    fail_msg("%s: %s", rows[r].why, st.message);
                assert_int_equal(f->kind, PANP_BODY_GOODBYE);
                assert_int_equal(f->body.goodbye.reason, rows[r].reason);
                assert_non_null(f->body.goodbye.message);
                assert_int_equal(panp_validate_received(f, PANP_PEER_BROKER, PANP_PHASE_READY, &st),
                                 0);
                panp_frame_free(f);
            }
        }
        /* 600 bytes of message: over nanopb's 513 */
        uint8_t m[4 + 3 + 600];
        size_t n = 0;
        m[n++] = 0xf2;
        m[n++] = 0x01;
        n += panp_varint_put(m + n, 3 + 600);
        m[n++] = 0x12;
        n += panp_varint_put(m + n, 600);
        memset(m + n, 'm', 600);
        n += 600;
        panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
        panp_frame *f = NULL;
        panp_status st;
        assert_int_equal(panp_decode(&o, m, n, &f, &st), 0);
        assert_string_equal(f->body.goodbye.message, "");
        panp_frame_free(f);
        o.peer = PANP_PEER_CLIENT; /* a client still closes on a broken string (CLI-3) */
        assert_int_equal(panp_decode(&o, m, n, &f, &st), PANP_ERR_INVALID_ARGUMENT);
        assert_string_equal(st.field, "goodbye.message");
        /* in the handshake a Goodbye is no Hello: the state comes first */
        o.peer = PANP_PEER_BROKER;
        assert_int_equal(panp_decode_received(&o, PANP_PHASE_HANDSHAKE, rows[0].b, rows[0].n, &f,
                                              &st),
                         PANP_ERR_PROTOCOL_VIOLATION);
    }
}

/* Rules that need the broker's state are not the codec's: an id of 0 is
 * looked up (SPEC 10.2), NOTIFICATION_RELEASE compared with the channel's
 * type (14.1); what the decoder accepts, the encoder writes. */
static void test_broker_level_rules(void **state)
{
    (void)state;
    static const uint8_t AUI[16] = {0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
                                    0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};
    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < 5; k++) {
            panp_frame f;
            memset(&f, 0, sizeof f);
            f.request_id = 3;
            const panp_bytes rel = {PANP_TYPE_NOTIFICATION_RELEASE, 16}, aui = {AUI, 16};
            switch (k) {
            case 0:
                f.kind = PANP_BODY_SEND;
                f.body.send.notification_type = aui; /* channel 0 */
                break;
            case 1:
                f.kind = PANP_BODY_REPLY;
                f.body.reply.notification_type = aui; /* conversation 0 */
                break;
            case 2:
                f.kind = PANP_BODY_CLOSE_CHANNEL;
                f.body.close_channel.side = PANP_CLOSE_SIDE_CONVERSATION; /* id 0 */
                break;
            case 3:
                f.kind = PANP_BODY_SEND;
                f.body.send.channel_id = 5;
                f.body.send.notification_type = rel;
                break;
            default:
                f.kind = PANP_BODY_CLOSE_CHANNEL;
                f.body.close_channel.side = PANP_CLOSE_SIDE_CHANNEL;
                f.body.close_channel.id = 5;
                f.body.close_channel.has_reason = true;
                f.body.close_channel.reason.notification_type = rel;
                break;
            }
            panp_status st;
            assert_int_equal(panp_validate_received(&f, PANP_PEER_BROKER, PANP_PHASE_READY, &st), 0);
            uint8_t buf[64];
            size_t n;
            assert_int_equal(panp_encode(tu_backends[b], &f, buf, sizeof buf, &n, &st), 0);
            panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
            panp_frame *d = NULL;
            assert_int_equal(panp_decode_received(&o, PANP_PHASE_READY, buf, n, &d, &st), 0);
            char why[160];
            if (!tu_frames_equal(&f, d, why, sizeof why))
                fail_msg("round trip %d: %s", k, why);
            panp_frame_free(d);
        }
        /* the same bytes a broker receives with NOTIFICATION_RELEASE */
        const uint8_t send_rel[] = {0x08, 0x03, 0x1a, 0x14, 0x08, 0x05, 0x12, 0x10, 0xba, 0x9a,
                                    0x50, 0x27, 0xa7, 0x0e, 0x4a, 0xe7, 0x9b, 0x7d, 0xeb, 0x3e,
                                    0x06, 0xad, 0x41, 0x57};
        panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
        panp_frame *d = NULL;
        panp_status st;
        assert_int_equal(panp_decode_received(&o, PANP_PHASE_READY, send_rel, sizeof send_rel, &d,
                                              &st),
                         0);
        assert_true(panp_bytes_is_uuid(d->body.send.notification_type,
                                       PANP_TYPE_NOTIFICATION_RELEASE));
        panp_frame_free(d);
    }
}

/* SPEC 6.5 steps 3 and 4 need the connection: panp_decode_received(). */
static void test_order_of_checks(void **state)
{
    (void)state;
    /* Register with request_id 0 and no target */
    const uint8_t reg0[] = {0x92, 0x01, 0x12, 0x12, 0x10, 0xf6, 0x85, 0x3f, 0x92, 0xeb,
                            0x31, 0x4e, 0x23, 0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};
    const uint8_t ping0[] = {0x42, 0x00};
    const uint8_t hello7[] = {0x08, 0x07, 0x82, 0x01, 0x04, 0x08, 0x01, 0x10, 0x01}; /* no auth */
    const uint8_t hello0[] = {0x82, 0x01, 0x04, 0x08, 0x01, 0x10, 0x01};
    const uint8_t notify_bad[] = {0x08, 0x07, 0x12, 0x03, 0x0a, 0x01, 0x01}; /* a 1-byte handle */
    const uint8_t bye0[] = {0xf2, 0x01, 0x00};
    struct {
        const uint8_t *b;
        size_t n;
        panp_phase phase;
        panp_error_code code;
        const char *field;
        uint64_t rid;
    } rows[] = {
        /* phase NONE: the connection checks are off */
        {reg0, sizeof reg0, PANP_PHASE_NONE, PANP_ERR_INVALID_ARGUMENT, "register.target", 0},
        {ping0, sizeof ping0, PANP_PHASE_NONE, 0, "", 0},
        /* the state before the request id, the request id before field rules */
        {reg0, sizeof reg0, PANP_PHASE_HANDSHAKE, PANP_ERR_PROTOCOL_VIOLATION, "", 0},
        {reg0, sizeof reg0, PANP_PHASE_READY, PANP_ERR_INVALID_ARGUMENT, "frame.request_id", 0},
        {ping0, sizeof ping0, PANP_PHASE_READY, PANP_ERR_INVALID_ARGUMENT, "frame.request_id", 0},
        {hello7, sizeof hello7, PANP_PHASE_READY, PANP_ERR_PROTOCOL_VIOLATION, "", 7},
        {hello7, sizeof hello7, PANP_PHASE_HANDSHAKE, PANP_ERR_INVALID_ARGUMENT, "hello.auth", 7},
        {hello0, sizeof hello0, PANP_PHASE_HANDSHAKE, PANP_ERR_INVALID_ARGUMENT, "frame.request_id",
         0},
        /* a body the broker never accepts: before the state */
        {notify_bad, sizeof notify_bad, PANP_PHASE_HANDSHAKE, PANP_ERR_PROTOCOL_VIOLATION,
         "frame.notify", 7},
        /* a Goodbye is a notice, not a request: request_id 0 is fine */
        {bye0, sizeof bye0, PANP_PHASE_READY, 0, "", 0},
    };
    for (int b = 0; b < 2; b++) {
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
            panp_frame *f = NULL;
            panp_status st;
            panp_error_code rc = panp_decode_received(&o, rows[r].phase, rows[r].b, rows[r].n, &f,
                                                      &st);
            if (rc != rows[r].code || (rc && strcmp(st.field, rows[r].field) != 0) ||
                st.request_id != rows[r].rid)
                fail_msg("row %zu (%s): got %s \"%s\" request %llu (%s)", r,
                         tu_backend_name(tu_backends[b]), panp_error_code_name(rc), st.field,
                         (unsigned long long)st.request_id, st.message);
            if (!rc) {
                /* the view gets the same answer */
                assert_int_equal(panp_validate_received(f, PANP_PEER_BROKER, rows[r].phase, &st), 0);
                panp_frame_free(f);
            }
        }
        /* client phases */
        const uint8_t welcome[] = {0x8a, 0x01, 0x02, 0x08, 0x01};
        const uint8_t pong[] = {0x08, 0x01, 0x4a, 0x00};
        panp_decode_opts o = {tu_backends[b], PANP_PEER_CLIENT, 0};
        panp_frame *f = NULL;
        panp_status st;
        assert_int_equal(panp_decode_received(&o, PANP_PHASE_HANDSHAKE, welcome, sizeof welcome, &f,
                                              &st),
                         0);
        panp_frame_free(f);
        assert_int_equal(panp_decode_received(&o, PANP_PHASE_READY, welcome, sizeof welcome, &f, &st),
                         PANP_ERR_PROTOCOL_VIOLATION);
        assert_int_equal(panp_decode_received(&o, PANP_PHASE_HANDSHAKE, pong, sizeof pong, &f, &st),
                         PANP_ERR_PROTOCOL_VIOLATION);
        assert_int_equal(st.request_id, 1);
    }
}

/* Head + shared = panp_encode_delimited() of the whole frame, byte for byte,
 * on both backends (SPEC 15.2). */
static void check_split(const panp_notify *n)
{
    uint8_t shared[70000], head[PANP_NOTIFY_HEAD_MAX];
    size_t sn = 0, hn = 0, need = 0;
    panp_status st;
    assert_int_equal(panp_notify_encode_shared(n, NULL, 0, &sn, &st), PANP_ERR_RESOURCE_EXHAUSTED);
    assert_int_equal(panp_notify_encode_shared(n, shared, sn - (sn > 0), &need, &st),
                     sn ? PANP_ERR_RESOURCE_EXHAUSTED : 0);
    assert_int_equal(panp_notify_encode_shared(n, shared, sizeof shared, &need, &st), 0);
    assert_int_equal(need, sn);
    assert_int_equal(panp_notify_encode_head(n, sn, NULL, 0, &hn, &st), PANP_ERR_RESOURCE_EXHAUSTED);
    assert_true(hn <= PANP_NOTIFY_HEAD_MAX);
    assert_int_equal(panp_notify_encode_head(n, sn, head, hn - 1, &need, &st),
                     PANP_ERR_RESOURCE_EXHAUSTED);
    assert_int_equal(panp_notify_encode_head(n, sn, head, sizeof head, &need, &st), 0);
    assert_int_equal(need, hn);
    /* prefix + fields is the same head */
    uint8_t split[PANP_NOTIFY_HEAD_MAX];
    size_t fn = 0, frame_len = 0;
    assert_int_equal(panp_notify_encode_fields(n, NULL, 0, &fn, &st), PANP_ERR_RESOURCE_EXHAUSTED);
    assert_true(fn <= PANP_NOTIFY_FIELDS_MAX);
    size_t pn = panp_notify_prefix(fn, sn, split, &frame_len);
    assert_true(pn <= PANP_NOTIFY_PREFIX_MAX);
    assert_int_equal(panp_notify_encode_fields(n, split + pn, fn, &need, &st), 0);
    assert_int_equal(pn + fn, hn);
    assert_memory_equal(split, head, hn);
    assert_int_equal(frame_len, panp_notify_frame_size(n, sn));
    panp_frame f;
    memset(&f, 0, sizeof f);
    f.kind = PANP_BODY_NOTIFY;
    f.body.notify = *n;
    for (int b = 0; b < 2; b++) {
        static uint8_t whole[70000];
        size_t wn = 0;
        if (panp_encode_delimited(tu_backends[b], &f, whole, sizeof whole, &wn, &st))
            fail_msg("%s: %s", tu_backend_name(tu_backends[b]), st.message);
        assert_int_equal(hn + sn, wn);
        assert_memory_equal(head, whole, hn);
        assert_memory_equal(shared, whole + hn, sn);
        size_t frame_size = panp_notify_frame_size(n, sn);
        assert_int_equal(panp_varint_size(frame_size) + frame_size, wn);
    }
}

static void test_notify_split(void **state)
{
    (void)state;
    static uint8_t big[63488];
    uint8_t handle[32], cs[128];
    for (int i = 0; i < 32; i++)
        handle[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 128; i++)
        cs[i] = (uint8_t)i;
    memset(big, 'x', sizeof big);
    static const char *const printers[] = {"Office-Laser", "Café-Ü", "p"};
    const size_t payloads[] = {0, 1, 9, 127, 128, 3000, 16383, 16384, sizeof big};
    const size_t states[] = {0, 1, 127, 128};
    const uint64_t ids[] = {1, 127, 128, 0x0000000300000001ULL, UINT64_MAX};
    unsigned cases = 0;
    for (int style = 1; style <= 3; style++) /* 3: a value from a newer version */
        for (size_t p = 0; p < sizeof payloads / sizeof payloads[0]; p++)
            for (size_t c = 0; c < sizeof states / sizeof states[0]; c++)
                for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                    unsigned v = cases++;
                    panp_notify n = {
                        .registration = {handle, 16 + v % 17},
                        .conversation_id = style == PANP_STYLE_UNIDIRECTIONAL ? 0 : ids[(i + 1) % 5],
                        .client_state = {states[c] ? cs : NULL, states[c]},
                        .channel_id = ids[i],
                        .sequence = ids[(i + v) % 5],
                        .notification_type = {PANP_TYPE_ASYNC_UI, 16},
                        .style = (panp_style)style,
                        .has_sender = v % 3 != 0,
                        .sender = {.user = v % 2 ? "alice" : "", .job_id = (uint32_t)(v % 4) * 100,
                                   .job_owner = v % 5 ? "" : "bob"},
                        .target = v % 4 == 0   ? (panp_target){PANP_TARGET_NONE, NULL}
                                  : v % 4 == 1 ? (panp_target){PANP_TARGET_SERVER, NULL}
                                               : (panp_target){PANP_TARGET_PRINTER, printers[v % 3]},
                        .payload = {payloads[p] ? big : NULL, payloads[p]},
                    };
                    check_split(&n);
                }
    print_message("%u Notify splits, both backends\n", cases);
    /* each part refuses what the whole encoder refuses in its fields */
    panp_notify n = {.registration = {handle, 16}, .channel_id = 1, .sequence = 1,
                     .notification_type = {PANP_TYPE_ASYNC_UI, 16},
                     .style = PANP_STYLE_UNIDIRECTIONAL};
    panp_status st;
    size_t need;
    uint8_t buf[256];
    n.registration.len = 3;
    assert_int_equal(panp_notify_encode_head(&n, 0, buf, sizeof buf, &need, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    assert_string_equal(st.field, "notify.registration");
    n.registration.len = 16;
    n.conversation_id = 5; /* unidirectional */
    assert_int_equal(panp_notify_encode_head(&n, 0, buf, sizeof buf, &need, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    assert_string_equal(st.field, "notify.conversation_id");
    n.conversation_id = 0;
    n.sequence = 0;
    assert_int_equal(panp_notify_encode_shared(&n, buf, sizeof buf, &need, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    assert_string_equal(st.field, "notify.sequence");
    n.sequence = 1;
    n.payload.len = 63489;
    n.payload.data = big;
    assert_int_equal(panp_notify_encode_shared(&n, buf, sizeof buf, &need, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    assert_string_equal(st.field, "notify.payload");
    assert_int_equal(panp_notify_encode_shared(NULL, buf, sizeof buf, &need, &st),
                     PANP_ERR_INVALID_ARGUMENT);
}

/* Sent written by hand = panp_encode_delimited() on both backends. */
static void test_sent_encode(void **state)
{
    (void)state;
    const uint64_t vals[] = {0, 1, 127, 128, 16384, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
                             UINT64_MAX};
    const size_t nv = sizeof vals / sizeof vals[0];
    unsigned cases = 0;
    for (size_t r = 0; r < nv; r++)
        for (size_t q = 0; q < nv; q++)
            for (size_t k = 0; k < nv; k++) {
                uint32_t recipients = (uint32_t)vals[k];
                if (vals[k] > UINT32_MAX || vals[q] == 0) continue; /* sequence >= 1 */
                uint8_t mine[PANP_SENT_MAX];
                size_t n = panp_sent_encode(vals[r], vals[q], recipients, mine);
                assert_true(n <= PANP_SENT_MAX);
                panp_frame f;
                memset(&f, 0, sizeof f);
                f.request_id = vals[r];
                f.kind = PANP_BODY_SENT;
                f.body.sent.sequence = vals[q];
                f.body.sent.recipients = recipients;
                for (int b = 0; b < 2; b++) {
                    uint8_t whole[64];
                    size_t wn = 0;
                    panp_status st;
                    if (panp_encode_delimited(tu_backends[b], &f, whole, sizeof whole, &wn, &st))
                        fail_msg("%s: %s", tu_backend_name(tu_backends[b]), st.message);
                    assert_int_equal(n, wn);
                    assert_memory_equal(mine, whole, n);
                }
                cases++;
            }
    print_message("%u Sent frames, both backends\n", cases);
}

static void test_validate_api(void **state)
{
    (void)state;
    panp_frame f;
    panp_status st;
    tu_sample(PANP_BODY_NOTIFY, &f);
    static uint8_t payload[5000];
    f.body.notify.payload.data = payload;
    f.body.notify.payload.len = sizeof payload;
    assert_int_equal(panp_validate(&f, PANP_PEER_CLIENT, 0, &st), 0);
    assert_int_equal(panp_validate(&f, PANP_PEER_CLIENT, 65536, &st), 0);
    assert_int_equal(panp_validate(&f, PANP_PEER_CLIENT, 4096, &st), PANP_ERR_FRAME_TOO_LARGE);
    assert_int_equal(st.request_id, 42);
    assert_int_equal(panp_validate(&f, PANP_PEER_BROKER, 0, &st), PANP_ERR_PROTOCOL_VIOLATION);
    assert_string_equal(st.field, "frame.notify"); /* no root of SPEC 19.3 */
    assert_int_equal(panp_validate(&f, PANP_PEER_ANY, 0, &st), 0);
    tu_sample(PANP_BODY_GOODBYE, &f);
    assert_int_equal(panp_validate(&f, PANP_PEER_BROKER, 0, &st), 0);
    assert_int_equal(panp_validate(&f, PANP_PEER_CLIENT, 0, &st), 0);
}

static void test_uuid(void **state)
{
    (void)state;
    uint8_t u[16];
    char text[37];
    assert_true(panp_uuid_parse("ba9a5027-a70e-4ae7-9b7d-eb3e06ad4157", u));
    assert_memory_equal(u, PANP_TYPE_NOTIFICATION_RELEASE, 16);
    assert_true(panp_uuid_parse("F6853F92-EB31-4E23-B6E7-FD69056153F0", u));
    assert_memory_equal(u, PANP_TYPE_ASYNC_UI, 16);
    panp_uuid_format(PANP_TYPE_PRINTER_CONFIGURATION, text);
    assert_string_equal(text, "2abad223-b994-4aca-82fc-4571b1b585ac");
    panp_uuid_format(PANP_TYPE_PORT_MONITOR_CHANNEL, text);
    assert_string_equal(text, "25df3b0e-74a9-47f5-80ce-79b4b1eb5c58");
    const char *bad[] = {"", "ba9a5027a70e4ae79b7deb3e06ad4157", "ba9a5027-a70e-4ae7-9b7d-eb3e06ad415",
                         "ba9a5027-a70e-4ae7-9b7d-eb3e06ad41577", "ba9a5027-a70e-4ae7-9b7d+eb3e06ad4157",
                         "{a9a5027-a70e-4ae7-9b7d-eb3e06ad415}", "ga9a5027-a70e-4ae7-9b7d-eb3e06ad4157",
                         "ba9a502-7a70e-4ae7-9b7d-eb3e06ad4157", NULL};
    memset(u, 0x11, sizeof u);
    for (int i = 0; bad[i]; i++)
        assert_false(panp_uuid_parse(bad[i], u));
    assert_false(panp_uuid_parse(NULL, u));
    assert_int_equal(u[0], 0x11); /* untouched on failure */
    panp_bytes b = {PANP_TYPE_ASYNC_UI, 16};
    assert_true(panp_bytes_is_uuid(b, PANP_TYPE_ASYNC_UI));
    assert_false(panp_bytes_is_uuid(b, PANP_TYPE_NOTIFICATION_RELEASE));
    b.len = 15;
    assert_false(panp_bytes_is_uuid(b, PANP_TYPE_ASYNC_UI));
}

static void test_names_and_varints(void **state)
{
    (void)state;
    assert_string_equal(panp_body_name(PANP_BODY_REGISTER), "register_listener");
    assert_string_equal(panp_body_name(PANP_BODY_GOODBYE), "goodbye");
    assert_string_equal(panp_body_name((panp_body_kind)12), "?");
    assert_string_equal(panp_body_name((panp_body_kind)-1), "?");
    assert_string_equal(panp_error_code_name(PANP_ERR_PROTOCOL_VIOLATION), "PROTOCOL_VIOLATION");
    assert_string_equal(panp_error_code_name(PANP_ERR_INTERNAL), "INTERNAL");
    assert_string_equal(panp_error_code_name((panp_error_code)17), "?");
    assert_string_equal(panp_error_code_name(PANP_ERR_LOCAL_BASE), "LOCAL");
    assert_string_equal(panp_error_code_name((panp_error_code)(PANP_ERR_LOCAL_BASE + 5)), "LOCAL");
    assert_string_equal(panp_close_reason_name(PANP_CLOSE_REASON_PEER_GONE), "PEER_GONE");
    assert_string_equal(panp_close_reason_name((panp_close_reason)9), "?");
    size_t nk;
    const panp_body_kind *kinds = tu_all_kinds(&nk);
    for (size_t k = 0; k < nk; k++)
        assert_string_not_equal(panp_body_name(kinds[k]), "?");
    const uint64_t v[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
    const size_t sz[] = {1, 1, 1, 2, 2, 3, 5, 10};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[10];
        assert_int_equal(panp_varint_size(v[i]), sz[i]);
        assert_int_equal(panp_varint_put(out, v[i]), sz[i]);
        assert_true(sz[i] == 1 || out[sz[i] - 1] != 0);
    }
}

/* Strings in decoded views are never NULL, absent bytes are {NULL, 0}. */
static void test_decoded_defaults(void **state)
{
    (void)state;
    const uint8_t w[] = {0x8a, 0x01, 0x02, 0x08, 0x01}; /* welcome { version: 1 } */
    for (int b = 0; b < 2; b++) {
        panp_decode_opts o = {tu_backends[b], PANP_PEER_CLIENT, 0};
        panp_frame *f = NULL;
        assert_int_equal(panp_decode(&o, w, sizeof w, &f, NULL), 0);
        assert_non_null(f->body.welcome.software);
        assert_string_equal(f->body.welcome.software, "");
        assert_string_equal(f->body.welcome.server_name, "");
        assert_false(f->body.welcome.has_limits);
        assert_false(f->body.welcome.has_identity);
        assert_non_null(f->body.welcome.identity.user);
        panp_frame_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_size_query),
        cmocka_unit_test(test_null_handling),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_error_values),
        cmocka_unit_test(test_decode_into),
        cmocka_unit_test(test_encode_with_storage),
        cmocka_unit_test(test_pbc_budget_worst_case),
        cmocka_unit_test(test_encode_refuses_invalid),
        cmocka_unit_test(test_client_enum_leniency),
        cmocka_unit_test(test_validate_api),
        cmocka_unit_test(test_client_takes_every_enum_value),
        cmocka_unit_test(test_broker_takes_any_goodbye),
        cmocka_unit_test(test_broker_level_rules),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_notify_split),
        cmocka_unit_test(test_sent_encode),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_names_and_varints),
        cmocka_unit_test(test_decoded_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
