/* cases/c_framing.c - framing (5.2, 5.3) and the wire profile (6): frames
 * split anywhere, length-prefix checks, size limits, malformed encodings,
 * field rules and the order in which a broker reports them. */
#include <unistd.h>

#include "common.h"

/* ---- splitting and batching --------------------------------------------- */

static void run_split_every_byte(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    panp_register r = pc_reg_args(pc_printer(pc_printer_name(t, 0)), t->type, PANP_USER_FILTER_PER_USER,
                                  PANP_STYLE_BIDIRECTIONAL);
    r.client_state = pc_s("state-bytes-for-a-longer-frame");
    panp_frame f = {.request_id = 1000, .kind = PANP_BODY_REGISTER, .body.register_listener = r};
    size_t need = 0;
    panp_status st;
    panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, NULL, 0, &need, &st);
    uint8_t *buf = pc_alloc(t, need);
    panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, buf, need, &need, &st);
    for (size_t cut = 1; cut < need; cut++) {
        uint64_t rid = 1000 + cut;
        f.request_id = rid;
        panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, buf, need, &need, &st);
        pc_send_raw(c, buf, cut, pc_sprintf(t, "Register #%" PRIu64 ", first %zu bytes", rid, cut));
        pc_flush(c);
        usleep(300); /* lets the broker read the partial frame (not a correctness condition) */
        pc_send_raw(c, buf + cut, need - cut, "the rest");
        c->raw_sent = false;
        pc_expect_rid(c, rid);
        const panp_frame *resp = pc_response(c, rid, "PANP-FRAME-1");
        if (resp->kind != PANP_BODY_REGISTERED)
            pc_fail(t, "PANP-FRAME-1", pc_sprintf(t, "Registered for the frame split after byte %zu", cut), "%s",
                    pc_frame_text(t, resp));
        pc_reg reg = {.c = c, .hlen = resp->body.registered.handle.len};
        if (reg.hlen < PANP_HANDLE_MIN_LEN || reg.hlen > PANP_HANDLE_MAX_LEN)
            pc_fail(t, R_HANDLE, "a handle of 16 to 32 bytes", "%zu bytes", reg.hlen);
        memcpy(reg.handle, resp->body.registered.handle.data, reg.hlen);
        pc_unregister(&reg);
    }
}

static void run_many_in_one_write(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    enum { N = 200 };
    uint64_t rids[N];
    for (size_t i = 0; i < N; i++) {
        panp_frame p = {.kind = PANP_BODY_PING};
        rids[i] = pc_req(c, &p);
    }
    for (size_t i = 0; i < N; i++) {
        const panp_frame *r = pc_response(c, rids[i], "PANP-FRAME-1");
        if (r->kind != PANP_BODY_PONG) pc_fail(t, "PANP-KA-2", "a Pong", "%s", pc_frame_text(t, r));
    }
}

/* ---- length prefix -------------------------------------------------------- */

static void send_prefix(pc_t *t, const char *what, const uint8_t *bytes, size_t n, panp_error_code code,
                        const char *req)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    pc_send_raw(c, bytes, n, what);
    pc_expect_fatal(c, 0, code, req, NULL);
}

static void run_prefix_six_bytes(pc_t *t)
{
    static const uint8_t b[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x08, 0x01};
    send_prefix(t, "a length prefix whose fifth byte continues", b, sizeof(b), PANP_ERR_PROTOCOL_VIOLATION, "PANP-FRAME-3");
}

static void run_prefix_not_minimal(pc_t *t)
{
    static const uint8_t b[] = {0x84, 0x00, 0x08, 0x01, 0x42, 0x00};
    send_prefix(t, "length 4 written as 84 00", b, sizeof(b), PANP_ERR_PROTOCOL_VIOLATION, "PANP-FRAME-3");
}

static void run_prefix_zero(pc_t *t)
{
    static const uint8_t b[] = {0x00, 0x04, 0x08, 0x01, 0x42, 0x00};
    send_prefix(t, "a zero-length frame", b, sizeof(b), PANP_ERR_PROTOCOL_VIOLATION, "PANP-FRAME-3");
}

static void run_too_large(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    uint8_t b[16];
    size_t n = panp_varint_put(b, (uint64_t)c->limits.max_frame_size + 1);
    memcpy(b + n, "\x08\x01\x42", 3);
    /* Only three body bytes follow: the answer must not wait for the rest. */
    pc_send_raw(c, b, n + 3, pc_sprintf(t, "a prefix of max_frame_size+1 (%u) and 3 body bytes", c->limits.max_frame_size + 1));
    pc_expect_fatal(c, 0, PANP_ERR_FRAME_TOO_LARGE, "PANP-FRAME-4", NULL);
}

static void run_too_large_huge(pc_t *t)
{
    static const uint8_t b[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    send_prefix(t, "a prefix of 4294967295", b, sizeof(b), PANP_ERR_FRAME_TOO_LARGE, "PANP-FRAME-5");
}

static void run_too_large_before_welcome(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    uint8_t b[PANP_PREFACE_LEN + 8];
    memcpy(b, PANP_PREFACE, PANP_PREFACE_LEN);
    size_t n = panp_varint_put(b + PANP_PREFACE_LEN, 65537);
    pc_send_raw(c, b, PANP_PREFACE_LEN + n, "preface, then a prefix of 65537 instead of a Hello");
    pc_expect_fatal(c, 0, PANP_ERR_FRAME_TOO_LARGE, "PANP-FRAME-7", NULL);
}

/* A Hello padded with an unknown field to exactly 65536 bytes. */
static void run_max_hello(pc_t *t)
{
    pc_conn *c = pc_dial_as(t, pc_who(t, PC_ROLE_PLAIN, 0), "client", 0);
    raw_hello h = rh_valid(c);
    pbw f = PBW_INIT;
    rh_encode(&f, &h);
    size_t base = f.len;
    pbw_free(&f);
    /* Hello grows by pad + tag(2) + len varint(3) + 1-3 bytes of outer length growth */
    for (size_t pad = 65536 - base - 8; pad < 65536; pad++) {
        h.pad_unknown = pad;
        rh_encode(&f, &h);
        size_t len = f.len;
        pbw_free(&f);
        if (len == 65536) break;
        if (len > 65536) pc_error(t, "could not pad a Hello to exactly 65536 bytes");
    }
    rh_send(c, &h);
    const panp_frame *w = pc_await_hello_response(c, h.rid);
    if (w->kind != PANP_BODY_WELCOME)
        pc_fail(t, "PANP-FRAME-7", "a Welcome for a 65536-byte Hello", "%s", pc_frame_text(t, w));
}

/* A Ping padded with an unknown field to exactly the announced maximum. */
static void run_max_frame_accepted(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    size_t max = c->limits.max_frame_size;
    if (max > 16 * 1024 * 1024) pc_skip(t, "not applicable: max_frame_size above 16 MiB");
    pbw f = PBW_INIT;
    size_t pad = max - 16;
    for (;; pad++) {
        pbw_free(&f);
        pbw_uint(&f, F_FRAME_REQUEST_ID, 77);
        pbw_bytes(&f, PANP_BODY_PING, NULL, 0);
        uint8_t *zeros = pc_xcalloc(1, pad);
        pbw_bytes(&f, 99, zeros, pad);
        free(zeros);
        if (f.len >= max) break;
    }
    if (f.len != max) pc_error(t, "could not build a frame of exactly %zu bytes", max);
    pc_send_pbw_req(c, &f, 77, pc_sprintf(t, "a Ping padded to exactly max_frame_size (%zu)", max));
    pbw_free(&f);
    const panp_frame *r = pc_response(c, 77, "PANP-FRAME-4");
    if (r->kind != PANP_BODY_PONG) pc_fail(t, "PANP-FRAME-4", "a Pong for a frame of exactly max_frame_size", "%s", pc_frame_text(t, r));
}

/* ---- malformed encodings ---------------------------------------------- */

typedef enum { EXP_PV0, EXP_PV_RID, EXP_INVALID } malformed_expect;

typedef struct malformed {
    void (*build)(pbw *f, const uint8_t *type);
    malformed_expect expect;
    const char *field;  /* EXP_INVALID */
    const char *req;
} malformed;

static void raw_hex(pbw *f, const char *hex)
{
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        uint8_t b = (uint8_t)v;
        pbw_raw(f, &b, 1);
        p += 2;
    }
}

#define B(name, hex)                                    \
    static void name(pbw *f, const uint8_t *type)       \
    {                                                   \
        (void)type;                                     \
        raw_hex(f, hex);                                \
    }

B(b_varint_11, "08 ff ff ff ff ff ff ff ff ff ff 01 42 00")
B(b_varint_10th_big, "08 ff ff ff ff ff ff ff ff ff 02 42 00")
B(b_padded_value, "08 89 00 42 00")
B(b_padded_tag, "88 00 09 42 00")
B(b_padded_length, "08 09 42 80 00")
B(b_field_zero, "08 09 42 00 02 00")
B(b_field_too_big, "08 09 42 00 80 80 80 80 10 00")
B(b_group_start, "08 09 42 00 9b 06 9c 06")
B(b_group_end, "08 09 42 00 9c 06")
B(b_wire_type_6, "08 09 42 00 9e 06 00")
B(b_wire_type_7, "08 09 42 00 9f 06 00")
B(b_known_wire_type_6, "0e 09 42 00")
B(b_truncated_len, "08 09 42 05")
B(b_truncated_fixed32, "08 09 42 00 9d 06 01 02")
B(b_truncated_fixed64, "08 09 42 00 99 06 01 02 03")
B(b_wrong_wire_type, "0a 01 09 42 00")
B(b_body_as_varint, "08 09 40 00")
B(b_bool_two, "08 09 52 02 20 02")
B(b_dup_scalar, "08 09 08 0a 42 00")
B(b_dup_body, "08 09 42 00 42 00")
B(b_two_members, "08 09 42 00 5a 00")
B(b_no_body, "08 09")
B(b_unknown_body, "08 09 fa 06 00")
B(b_ping_with_unknowns, "08 09 42 00 f8 06 05 81 07 01 02 03 04 05 06 07 08 8a 07 02 61 62 95 07 01 02 03 04")

/* Register{target server, type, PER_USER, UNIDI, <extra>} with request_id 9. */
static void register_with(pbw *f, const uint8_t *type, void (*extra)(pbw *reg))
{
    pbw reg = PBW_INIT;
    reg_frame_begin(&reg, type);
    if (extra) extra(&reg);
    frame_wrap(f, 9, PANP_BODY_REGISTER, &reg);
    pbw_free(&reg);
}

static void x_lease_overflow(pbw *reg) { pbw_uint(reg, F_REG_LEASE, (uint64_t)1 << 32); }
static void x_dup_filter(pbw *reg) { pbw_uint(reg, F_REG_FILTER, PANP_USER_FILTER_PER_USER); }
static void b_padded_style(pbw *f, const uint8_t *type)
{
    pbw reg = PBW_INIT, target = PBW_INIT, server = PBW_INIT;
    pbw_msg(&target, F_TARGET_SERVER, &server);
    pbw_msg(&reg, F_REG_TARGET, &target);
    pbw_bytes(&reg, F_REG_TYPE, type, PANP_UUID_LEN);
    pbw_uint(&reg, F_REG_FILTER, PANP_USER_FILTER_PER_USER);
    raw_hex(&reg, "20 82 00"); /* style 2, padded */
    frame_wrap(f, 9, PANP_BODY_REGISTER, &reg);
    pbw_free(&reg);
    pbw_free(&target);
}
static void b_lease_overflow(pbw *f, const uint8_t *type) { register_with(f, type, x_lease_overflow); }
static void b_dup_filter(pbw *f, const uint8_t *type) { register_with(f, type, x_dup_filter); }

/* Field rules: Register bodies built field by field with one rule broken. */
typedef struct reg_spec {
    const char *printer;   /* NULL: server target; "\x01": empty Target */
    size_t printer_len;    /* 0: strlen */
    size_t type_len;       /* 0: 16 */
    int filter, style;     /* -1: default */
    size_t state_len;
} reg_spec;

static void reg_build(pbw *f, const uint8_t *type, const reg_spec *s, uint64_t rid)
{
    pbw reg = PBW_INIT, target = PBW_INIT, inner = PBW_INIT;
    if (s->printer && s->printer[0] == '\x01' && s->printer_len == 0) {
        /* an empty Target */
    } else if (s->printer) {
        pbw_bytes(&target, F_TARGET_PRINTER, s->printer, s->printer_len ? s->printer_len : strlen(s->printer));
    } else {
        pbw_msg(&target, F_TARGET_SERVER, &inner);
    }
    pbw_msg(&reg, F_REG_TARGET, &target);
    uint8_t t33[40];
    memset(t33, 0x5a, sizeof(t33));
    memcpy(t33, type, PANP_UUID_LEN);
    pbw_bytes(&reg, F_REG_TYPE, t33, s->type_len ? s->type_len : PANP_UUID_LEN);
    if (s->filter) pbw_uint(&reg, F_REG_FILTER, (uint64_t)(s->filter < 0 ? 0 : s->filter));
    if (s->style) pbw_uint(&reg, F_REG_STYLE, (uint64_t)(s->style < 0 ? 0 : s->style));
    if (s->state_len) {
        uint8_t *st = pc_xcalloc(1, s->state_len);
        pbw_bytes(&reg, F_REG_STATE, st, s->state_len);
        free(st);
    }
    frame_wrap(f, rid, PANP_BODY_REGISTER, &reg);
    pbw_free(&reg);
    pbw_free(&target);
}

#define R(name, ...)                                     \
    static void name(pbw *f, const uint8_t *type)        \
    {                                                    \
        static const reg_spec s = {__VA_ARGS__};         \
        reg_build(f, type, &s, 9);                       \
    }

R(r_utf8_ff, .printer = "lp\xff", .filter = 1, .style = 2)
R(r_utf8_overlong, .printer = "lp\xc0\xaf", .filter = 1, .style = 2)
R(r_utf8_surrogate, .printer = "lp\xed\xa0\x80", .filter = 1, .style = 2)
R(r_utf8_above_max, .printer = "lp\xf4\x90\x80\x80", .filter = 1, .style = 2)
R(r_utf8_truncated, .printer = "lp\xe2\x82", .filter = 1, .style = 2)
R(r_nul, .printer = "lp\0x", .printer_len = 4, .filter = 1, .style = 2)
R(r_state_129, .filter = 1, .style = 2, .state_len = 129)
R(r_type_15, .type_len = 15, .filter = 1, .style = 2)
R(r_type_17, .type_len = 17, .filter = 1, .style = 2)
R(r_target_empty, .printer = "\x01", .filter = 1, .style = 2)
R(r_filter_3, .filter = 3, .style = 2)
R(r_filter_0, .filter = -1, .style = 2)
R(r_style_0, .filter = 1, .style = -1)
R(r_style_9, .filter = 1, .style = 9)
R(r_order_target_then_type, .printer = "\x01", .type_len = 3, .filter = 1, .style = 2)
R(r_order_type_then_style, .type_len = 3, .filter = 1, .style = 9)
R(r_order_filter_then_state, .filter = 7, .style = 2, .state_len = 200)

static void r_printer_256(pbw *f, const uint8_t *type)
{
    char name[257];
    memset(name, 'p', 256);
    name[256] = '\0';
    reg_spec s = {.printer = name, .filter = 1, .style = 2};
    reg_build(f, type, &s, 9);
}

static void r_empty_printer_fix(pbw *f, const uint8_t *type)
{
    /* printer "" present on the wire (a oneof member is emitted even when empty) */
    pbw reg = PBW_INIT, target = PBW_INIT;
    pbw_bytes(&target, F_TARGET_PRINTER, "", 0);
    pbw_msg(&reg, F_REG_TARGET, &target);
    pbw_bytes(&reg, F_REG_TYPE, type, PANP_UUID_LEN);
    pbw_uint(&reg, F_REG_FILTER, 1);
    pbw_uint(&reg, F_REG_STYLE, 2);
    frame_wrap(f, 9, PANP_BODY_REGISTER, &reg);
    pbw_free(&reg);
    pbw_free(&target);
}

static void handle_frame_body(pbw *f, panp_body_kind kind, size_t len)
{
    pbw body = PBW_INIT;
    uint8_t h[40];
    memset(h, 0x33, sizeof(h));
    pbw_bytes(&body, 1, h, len);
    frame_wrap(f, 9, (uint32_t)kind, &body);
    pbw_free(&body);
}

static void u_handle_15(pbw *f, const uint8_t *type) { (void)type; handle_frame_body(f, PANP_BODY_UNREGISTER, 15); }
static void u_handle_33(pbw *f, const uint8_t *type) { (void)type; handle_frame_body(f, PANP_BODY_UNREGISTER, 33); }
static void n_handle_15(pbw *f, const uint8_t *type) { (void)type; handle_frame_body(f, PANP_BODY_RENEW, 15); }

static void rid0_and_bad_type(pbw *f, const uint8_t *type)
{
    static const reg_spec s = {.type_len = 3, .filter = 1, .style = 2};
    reg_build(f, type, &s, 0);
}

static const malformed M_VARINT_11 = {b_varint_11, EXP_PV0, NULL, "PANP-WIRE-3"};
static const malformed M_VARINT_BIG = {b_varint_10th_big, EXP_PV0, NULL, "PANP-WIRE-3"};
static const malformed M_PAD_VALUE = {b_padded_value, EXP_PV0, NULL, "PANP-WIRE-3"};
static const malformed M_PAD_TAG = {b_padded_tag, EXP_PV0, NULL, "PANP-WIRE-3"};
static const malformed M_PAD_LEN = {b_padded_length, EXP_PV0, NULL, "PANP-WIRE-3"};
static const malformed M_PAD_NESTED = {b_padded_style, EXP_PV0, NULL, "PANP-WIRE-3"};
static const malformed M_FIELD0 = {b_field_zero, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_FIELD_BIG = {b_field_too_big, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_GROUP = {b_group_start, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_GROUP_END = {b_group_end, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_WT6 = {b_wire_type_6, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_WT7 = {b_wire_type_7, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_KNOWN_WT6 = {b_known_wire_type_6, EXP_PV0, NULL, "PANP-WIRE-4"};
static const malformed M_TRUNC_LEN = {b_truncated_len, EXP_PV0, NULL, "PANP-WIRE-5"};
static const malformed M_TRUNC_F32 = {b_truncated_fixed32, EXP_PV0, NULL, "PANP-WIRE-5"};
static const malformed M_TRUNC_F64 = {b_truncated_fixed64, EXP_PV0, NULL, "PANP-WIRE-5"};
static const malformed M_WRONG_WT = {b_wrong_wire_type, EXP_PV0, NULL, "PANP-WIRE-5"};
static const malformed M_BODY_VARINT = {b_body_as_varint, EXP_PV0, NULL, "PANP-WIRE-5"};
static const malformed M_UINT32 = {b_lease_overflow, EXP_PV0, NULL, "PANP-WIRE-6"};
static const malformed M_BOOL = {b_bool_two, EXP_PV0, NULL, "PANP-WIRE-6"};
static const malformed M_DUP_SCALAR = {b_dup_scalar, EXP_PV0, NULL, "PANP-WIRE-7"};
static const malformed M_DUP_NESTED = {b_dup_filter, EXP_PV0, NULL, "PANP-WIRE-7"};
static const malformed M_DUP_BODY = {b_dup_body, EXP_PV0, NULL, "PANP-WIRE-7"};
static const malformed M_TWO_MEMBERS = {b_two_members, EXP_PV0, NULL, "PANP-WIRE-7"};
static const malformed M_NO_BODY = {b_no_body, EXP_PV_RID, NULL, "PANP-WIRE-8"};
static const malformed M_UNKNOWN_BODY = {b_unknown_body, EXP_PV_RID, NULL, "PANP-WIRE-8"};

static const malformed F_UTF8_FF = {r_utf8_ff, EXP_INVALID, "register.target.printer", "PANP-WIRE-12"};
static const malformed F_UTF8_OVERLONG = {r_utf8_overlong, EXP_INVALID, "register.target.printer", "PANP-WIRE-12"};
static const malformed F_UTF8_SURR = {r_utf8_surrogate, EXP_INVALID, "register.target.printer", "PANP-WIRE-12"};
static const malformed F_UTF8_MAX = {r_utf8_above_max, EXP_INVALID, "register.target.printer", "PANP-WIRE-12"};
static const malformed F_UTF8_TRUNC = {r_utf8_truncated, EXP_INVALID, "register.target.printer", "PANP-WIRE-12"};
static const malformed F_NUL = {r_nul, EXP_INVALID, "register.target.printer", "PANP-WIRE-12"};
static const malformed F_STATE = {r_state_129, EXP_INVALID, "register.client_state", "PANP-WIRE-13"};
static const malformed F_PRINTER_LONG = {r_printer_256, EXP_INVALID, "register.target.printer", "PANP-WIRE-13"};
static const malformed F_TYPE15 = {r_type_15, EXP_INVALID, "register.notification_type", "PANP-WIRE-14"};
static const malformed F_TYPE17 = {r_type_17, EXP_INVALID, "register.notification_type", "PANP-WIRE-14"};
static const malformed F_HANDLE15 = {u_handle_15, EXP_INVALID, "unregister.handle", "PANP-WIRE-14"};
static const malformed F_HANDLE33 = {u_handle_33, EXP_INVALID, "unregister.handle", "PANP-WIRE-14"};
static const malformed F_RENEW15 = {n_handle_15, EXP_INVALID, "renew.handle", "PANP-WIRE-14"};
static const malformed F_TARGET_EMPTY = {r_target_empty, EXP_INVALID, "register.target", "PANP-WIRE-15"};
static const malformed F_PRINTER_EMPTY = {r_empty_printer_fix, EXP_INVALID, "register.target.printer", "PANP-WIRE-15"};
static const malformed F_FILTER3 = {r_filter_3, EXP_INVALID, "register.user_filter", "PANP-WIRE-16"};
static const malformed F_FILTER0 = {r_filter_0, EXP_INVALID, "register.user_filter", "PANP-WIRE-16"};
static const malformed F_STYLE0 = {r_style_0, EXP_INVALID, "register.style", "PANP-WIRE-16"};
static const malformed F_STYLE9 = {r_style_9, EXP_INVALID, "register.style", "PANP-WIRE-16"};
static const malformed O_TARGET_TYPE = {r_order_target_then_type, EXP_INVALID, "register.target", "PANP-WIRE-18"};
static const malformed O_TYPE_STYLE = {r_order_type_then_style, EXP_INVALID, "register.notification_type", "PANP-WIRE-18"};
static const malformed O_FILTER_STATE = {r_order_filter_then_state, EXP_INVALID, "register.user_filter", "PANP-WIRE-18"};

static void run_malformed(pc_t *t)
{
    const malformed *m = t->def->arg;
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    pbw f = PBW_INIT;
    m->build(&f, t->type);
    /* request_id 9 is expected back only where the frame decoded; a
     * broker echoing it on a malformed frame is caught by pc_expect_fatal */
    pc_send_pbw_req(c, &f, 9, t->def->summary);
    pbw_free(&f);
    if (m->expect == EXP_INVALID) {
        const panp_frame *r = pc_response(c, 9, m->req);
        pc_check_error(c, r, PANP_ERR_INVALID_ARGUMENT, false, m->req, m->field);
        pc_barrier(c, NULL); /* not fatal: the connection goes on */
        return;
    }
    pc_expect_fatal(c, m->expect == EXP_PV0 ? 0 : 9, PANP_ERR_PROTOCOL_VIOLATION, m->req, NULL);
    /* and the broker still serves others */
    pc_conn *next = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "next-client");
    pc_barrier(next, "PANP-WIRE-9");
}

static void run_rid0_first(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    pbw f = PBW_INIT;
    rid0_and_bad_type(&f, t->type);
    pc_send_pbw_req(c, &f, 0, "Register with request_id 0 and a 3-byte type");
    pbw_free(&f);
    const panp_frame *e = pc_await(c, pc_m_error_rid0, NULL, -1, "PANP-WIRE-18", "an Error with request_id 0");
    pc_check_error(c, e, PANP_ERR_INVALID_ARGUMENT, false, "PANP-WIRE-18", "frame.request_id");
}

/* ---- accepted inputs ---------------------------------------------------- */

static void x_unknowns(pbw *reg)
{
    raw_hex(reg, "b8 06 05 c1 06 01 02 03 04 05 06 07 08 ca 06 02 61 62 d5 06 01 02 03 04");
}

static void run_unknown_fields_accepted(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_conn *l = pc_connect(t, sid, "listener");
    /* unknown fields of every wire type in Frame, Register and Target */
    pbw reg = PBW_INIT, target = PBW_INIT, server = PBW_INIT, f = PBW_INIT;
    raw_hex(&server, "48 01");
    pbw_msg(&target, F_TARGET_SERVER, &server);
    raw_hex(&target, "f8 06 01 82 07 00");
    pbw_msg(&reg, F_REG_TARGET, &target);
    pbw_bytes(&reg, F_REG_TYPE, t->type, PANP_UUID_LEN);
    pbw_uint(&reg, F_REG_FILTER, PANP_USER_FILTER_PER_USER);
    pbw_uint(&reg, F_REG_STYLE, PANP_STYLE_UNIDIRECTIONAL);
    x_unknowns(&reg);
    frame_wrap(&f, 9, PANP_BODY_REGISTER, &reg);
    x_unknowns(&f);
    pc_send_pbw_req(l, &f, 9, "Register with unknown fields (wire types 0, 1, 2, 5) at three levels");
    const panp_frame *r = pc_response(l, 9, "PANP-WIRE-10");
    if (r->kind != PANP_BODY_REGISTERED) pc_fail(t, "PANP-WIRE-10", "Registered", "%s", pc_frame_text(t, r));
    pbw_free(&f);
    pbw_free(&reg);
    pbw_free(&target);
    pbw_free(&server);
    /* a Ping with unknown fields too; then a Notify proves the
     * registration works (and the harness checks that nothing echoes the
     * unknown fields: [PANP-WIRE-2]) */
    b_ping_with_unknowns(&f, NULL);
    pc_send_pbw_req(l, &f, 9, "Ping with unknown fields of every wire type");
    pbw_free(&f);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_notify(s, ch, t->type, "x", NULL);
    pc_await_notify(l, ch, 1, "PANP-WIRE-10");
}

static void run_any_order_and_defaults(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
    pbw reg = PBW_INIT, target = PBW_INIT, server = PBW_INIT, f = PBW_INIT;
    pbw_uint(&reg, F_REG_STYLE, PANP_STYLE_UNIDIRECTIONAL);
    pbw_uint(&reg, F_REG_LEASE, 0); /* explicit default */
    pbw_bytes(&reg, F_REG_STATE, "", 0);
    pbw_uint(&reg, F_REG_FILTER, PANP_USER_FILTER_PER_USER);
    pbw_bytes(&reg, F_REG_TYPE, t->type, PANP_UUID_LEN);
    pbw_msg(&target, F_TARGET_SERVER, &server);
    pbw_msg(&reg, F_REG_TARGET, &target);
    pbw_bytes(&f, PANP_BODY_REGISTER, reg.buf, reg.len); /* body first, request_id last */
    pbw_uint(&f, F_FRAME_REQUEST_ID, 9);
    pc_send_pbw_req(c, &f, 9, "Register with fields in reverse order and explicit defaults");
    const panp_frame *r = pc_response(c, 9, "PANP-WIRE-11");
    if (r->kind != PANP_BODY_REGISTERED) pc_fail(t, "PANP-WIRE-11", "Registered", "%s", pc_frame_text(t, r));
    pbw_free(&f);
    pbw_free(&reg);
    pbw_free(&target);
}

#define MAL(n, r, s, m) CASE_ARG("wire.malformed." n, r " PANP-WIRE-9 PANP-ERR-8", s, run_malformed, &m)
#define FLD(n, r, s, m) CASE_ARG("wire.field." n, r " PANP-ERR-9", s, run_malformed, &m)
#define ORDER(n, s, m) CASE_ARG("wire.order." n, "PANP-WIRE-18 PANP-ERR-9", s, run_malformed, &m)

static const pc_case_def CASES[] = {
    CASE("frame.split-at-every-byte", "PANP-FRAME-1",
         "a Register frame written in two parts, cut after every byte in turn, is answered each time", run_split_every_byte),
    CASE("frame.many-in-one-write", "PANP-FRAME-1 PANP-KA-2",
         "200 Pings in one write: 200 Pongs, in order", run_many_in_one_write),
    CASE("frame.prefix.over-five-bytes", "PANP-FRAME-3 PANP-FRAME-5",
         "a length prefix whose fifth byte has the continuation bit: PROTOCOL_VIOLATION, request_id 0, closed", run_prefix_six_bytes),
    CASE("frame.prefix.not-minimal", "PANP-FRAME-3 PANP-FRAME-2",
         "a length prefix padded with 0x80: PROTOCOL_VIOLATION, request_id 0, closed", run_prefix_not_minimal),
    CASE("frame.prefix.zero-length", "PANP-FRAME-3 PANP-WIRE-8",
         "a zero length prefix: PROTOCOL_VIOLATION, request_id 0, closed", run_prefix_zero),
    CASE("frame.too-large", "PANP-FRAME-4 PANP-FRAME-5",
         "max_frame_size+1 announced with 3 body bytes: FRAME_TOO_LARGE at once (the body is not awaited), closed", run_too_large),
    CASE("frame.too-large-4-gib", "PANP-FRAME-4 PANP-FRAME-5",
         "a prefix of 2^32-1: FRAME_TOO_LARGE, request_id 0, closed, nothing buffered", run_too_large_huge),
    CASE("frame.too-large-before-welcome", "PANP-FRAME-7 PANP-FRAME-4",
         "a 65537-byte prefix in place of the Hello: FRAME_TOO_LARGE", run_too_large_before_welcome),
    CASE("frame.max-size-hello-accepted", "PANP-FRAME-7 PANP-WIRE-10",
         "a Hello padded with an unknown field to exactly 65536 bytes is accepted", run_max_hello),
    CASE("frame.max-size-accepted", "PANP-FRAME-4 PANP-WIRE-10",
         "a frame of exactly the announced max_frame_size is accepted", run_max_frame_accepted),
    MAL("varint-over-10-bytes", "PANP-WIRE-3", "an 11-byte varint", M_VARINT_11),
    MAL("varint-over-64-bits", "PANP-WIRE-3", "a 10-byte varint whose last byte is 02", M_VARINT_BIG),
    MAL("varint-padded-value", "PANP-WIRE-3", "request_id 9 written as 89 00", M_PAD_VALUE),
    MAL("varint-padded-tag", "PANP-WIRE-3", "the request_id tag written as 88 00", M_PAD_TAG),
    MAL("varint-padded-length", "PANP-WIRE-3", "a submessage length 0 written as 80 00", M_PAD_LEN),
    MAL("varint-padded-nested", "PANP-WIRE-3", "Register.style 2 written as 82 00", M_PAD_NESTED),
    MAL("field-number-zero", "PANP-WIRE-4", "a field number 0", M_FIELD0),
    MAL("field-number-over-max", "PANP-WIRE-4", "field number 2^29", M_FIELD_BIG),
    MAL("group-unknown-field", "PANP-WIRE-4", "an unknown field as a group (wire types 3 and 4)", M_GROUP),
    MAL("group-end-alone", "PANP-WIRE-4", "a lone end-group tag", M_GROUP_END),
    MAL("wire-type-6", "PANP-WIRE-4", "wire type 6 on an unknown field", M_WT6),
    MAL("wire-type-7", "PANP-WIRE-4", "wire type 7 on an unknown field", M_WT7),
    MAL("wire-type-6-known-field", "PANP-WIRE-4", "request_id with wire type 6", M_KNOWN_WT6),
    MAL("truncated-length-delimited", "PANP-WIRE-5", "a body length running past the frame", M_TRUNC_LEN),
    MAL("truncated-fixed32", "PANP-WIRE-5", "a fixed32 unknown field cut short", M_TRUNC_F32),
    MAL("truncated-fixed64", "PANP-WIRE-5", "a fixed64 unknown field cut short", M_TRUNC_F64),
    MAL("wrong-wire-type-scalar", "PANP-WIRE-5", "request_id length-delimited", M_WRONG_WT),
    MAL("wrong-wire-type-message", "PANP-WIRE-5", "the ping body as a varint", M_BODY_VARINT),
    MAL("uint32-overflow", "PANP-WIRE-6", "Register.lease_seconds = 2^32", M_UINT32),
    MAL("bool-two", "PANP-WIRE-6 PANP-WIRE-18", "a bool of 2 in an Error body (never accepted): malformed is reported first, with request_id 0", M_BOOL),
    MAL("duplicate-scalar", "PANP-WIRE-7", "request_id present twice", M_DUP_SCALAR),
    MAL("duplicate-nested-scalar", "PANP-WIRE-7", "Register.user_filter present twice", M_DUP_NESTED),
    MAL("duplicate-body", "PANP-WIRE-7", "the ping body present twice", M_DUP_BODY),
    MAL("two-oneof-members", "PANP-WIRE-7", "ping and ok in one Frame", M_TWO_MEMBERS),
    CASE_ARG("wire.malformed.no-body", "PANP-WIRE-8 PANP-WIRE-9 PANP-ERR-8",
             "a Frame with only a request_id: PROTOCOL_VIOLATION echoing request_id 9, closed", run_malformed, &M_NO_BODY),
    CASE_ARG("wire.malformed.unknown-body", "PANP-WIRE-8 PANP-WIRE-9 PANP-ERR-8",
             "a Frame whose only body is an unknown field: PROTOCOL_VIOLATION echoing request_id 9", run_malformed, &M_UNKNOWN_BODY),
    FLD("utf8-invalid-byte", "PANP-WIRE-12", "a printer name with byte FF: INVALID_ARGUMENT register.target.printer", F_UTF8_FF),
    FLD("utf8-overlong", "PANP-WIRE-12", "a printer name with an overlong '/' (C0 AF)", F_UTF8_OVERLONG),
    FLD("utf8-surrogate", "PANP-WIRE-12", "a printer name with an encoded surrogate (ED A0 80)", F_UTF8_SURR),
    FLD("utf8-above-10ffff", "PANP-WIRE-12", "a printer name with a code point above U+10FFFF", F_UTF8_MAX),
    FLD("utf8-truncated", "PANP-WIRE-12", "a printer name ending inside a UTF-8 sequence", F_UTF8_TRUNC),
    FLD("string-with-nul", "PANP-WIRE-12", "a printer name containing 00", F_NUL),
    FLD("client-state-129", "PANP-WIRE-13", "client_state of 129 bytes: INVALID_ARGUMENT register.client_state", F_STATE),
    FLD("printer-256", "PANP-WIRE-13", "a 256-byte printer name: INVALID_ARGUMENT register.target.printer", F_PRINTER_LONG),
    FLD("uuid-15", "PANP-WIRE-14", "a 15-byte notification type", F_TYPE15),
    FLD("uuid-17", "PANP-WIRE-14", "a 17-byte notification type", F_TYPE17),
    FLD("handle-15", "PANP-WIRE-14", "Unregister with a 15-byte handle: INVALID_ARGUMENT unregister.handle", F_HANDLE15),
    FLD("handle-33", "PANP-WIRE-14", "Unregister with a 33-byte handle", F_HANDLE33),
    FLD("renew-handle-15", "PANP-WIRE-14", "Renew with a 15-byte handle: INVALID_ARGUMENT renew.handle", F_RENEW15),
    FLD("target-without-member", "PANP-WIRE-15 PANP-REG-2", "a Target with no member: INVALID_ARGUMENT register.target", F_TARGET_EMPTY),
    FLD("printer-empty", "PANP-WIRE-15", "an empty printer name: INVALID_ARGUMENT register.target.printer", F_PRINTER_EMPTY),
    FLD("enum-undefined-filter", "PANP-WIRE-16", "user_filter 3: INVALID_ARGUMENT register.user_filter", F_FILTER3),
    FLD("enum-zero-filter", "PANP-WIRE-16", "user_filter absent (0): INVALID_ARGUMENT register.user_filter", F_FILTER0),
    FLD("enum-zero-style", "PANP-WIRE-16", "style absent (0): INVALID_ARGUMENT register.style", F_STYLE0),
    FLD("enum-undefined-style", "PANP-WIRE-16", "style 9: INVALID_ARGUMENT register.style", F_STYLE9),
    ORDER("target-before-type", "empty Target and a 3-byte type: the target (field 1) is reported", O_TARGET_TYPE),
    ORDER("type-before-style", "a 3-byte type and style 9: the type (field 2) is reported", O_TYPE_STYLE),
    ORDER("filter-before-client-state", "user_filter 7 and a 200-byte client_state: the filter (field 3) is reported", O_FILTER_STATE),
    CASE("wire.order.request-id-before-fields", "PANP-WIRE-18 PANP-CONN-15",
         "request_id 0 and a 3-byte type: frame.request_id is reported", run_rid0_first),
    CASE("wire.accept.unknown-fields", "PANP-WIRE-10 PANP-WIRE-2",
         "unknown fields of wire types 0, 1, 2 and 5 in Frame, Register, Target and ServerTarget are skipped", run_unknown_fields_accepted),
    CASE("wire.accept.any-order-explicit-defaults", "PANP-WIRE-11",
         "a Register with its fields in reverse order and explicit default values is accepted", run_any_order_and_defaults),
};

PC_TABLE(pc_cases_framing, CASES);
