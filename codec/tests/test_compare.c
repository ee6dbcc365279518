/* test_compare.c - panp_frames_equal() (panp/compare.h): a change to any one
 * field of any body kind is caught and named with both values, members that
 * mean nothing (absent submessages, a non-printer's name, Ping's union) are
 * not looked at, and PANP_COMPARE_NULL_IS_EMPTY decides NULL against ""
 * both ways.
 *
 * Every field of panp/msg.h has a row below: the row's field is changed in a
 * copy of tu_sample()'s frame, and the comparison must name exactly it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

typedef enum { T_U32, T_U64, T_BOOL, T_ENUM, T_STR, T_BYTES, T_COUNT } field_type;

/* Enums are changed as 32-bit numbers: the size gcc and clang give them. */
_Static_assert(sizeof(panp_style) == sizeof(uint32_t), "enum size");

typedef struct row {
    panp_body_kind kind;
    size_t off; /* in panp_frame, or in panp_registration_info for INFO_ROWS */
    field_type type;
    const char *path;
} row;

#define R(k, m, t, p) {PANP_BODY_##k, offsetof(panp_frame, body.m), t, p}

static const row ROWS[] = {
    {PANP_BODY_SENT, offsetof(panp_frame, request_id), T_U64, "frame.request_id"},
    {PANP_BODY_SENT, offsetof(panp_frame, kind), T_ENUM, "frame.kind"},
    R(NOTIFY, notify.registration, T_BYTES, "notify.registration"),
    R(NOTIFY, notify.conversation_id, T_U64, "notify.conversation_id"),
    R(NOTIFY, notify.client_state, T_BYTES, "notify.client_state"),
    R(NOTIFY, notify.channel_id, T_U64, "notify.channel_id"),
    R(NOTIFY, notify.sequence, T_U64, "notify.sequence"),
    R(NOTIFY, notify.notification_type, T_BYTES, "notify.notification_type"),
    R(NOTIFY, notify.style, T_ENUM, "notify.style"),
    R(NOTIFY, notify.has_sender, T_BOOL, "notify.sender"),
    R(NOTIFY, notify.sender.user, T_STR, "notify.sender.user"),
    R(NOTIFY, notify.sender.job_id, T_U32, "notify.sender.job_id"),
    R(NOTIFY, notify.sender.job_owner, T_STR, "notify.sender.job_owner"),
    R(NOTIFY, notify.target.kind, T_ENUM, "notify.target"),
    R(NOTIFY, notify.target.printer, T_STR, "notify.target.printer"),
    R(NOTIFY, notify.payload, T_BYTES, "notify.payload"),
    R(SEND, send.channel_id, T_U64, "send.channel_id"),
    R(SEND, send.notification_type, T_BYTES, "send.notification_type"),
    R(SEND, send.payload, T_BYTES, "send.payload"),
    R(SENT, sent.sequence, T_U64, "sent.sequence"),
    R(SENT, sent.recipients, T_U32, "sent.recipients"),
    R(REPLY, reply.conversation_id, T_U64, "reply.conversation_id"),
    R(REPLY, reply.notification_type, T_BYTES, "reply.notification_type"),
    R(REPLY, reply.payload, T_BYTES, "reply.payload"),
    R(REPLY_DELIVERY, reply_delivery.channel_id, T_U64, "reply_delivery.channel_id"),
    R(REPLY_DELIVERY, reply_delivery.sequence, T_U64, "reply_delivery.sequence"),
    R(REPLY_DELIVERY, reply_delivery.responder, T_STR, "reply_delivery.responder"),
    R(REPLY_DELIVERY, reply_delivery.notification_type, T_BYTES,
      "reply_delivery.notification_type"),
    R(REPLY_DELIVERY, reply_delivery.payload, T_BYTES, "reply_delivery.payload"),
    R(CHANNEL_CLOSED, channel_closed.channel_id, T_U64, "channel_closed.channel_id"),
    R(CHANNEL_CLOSED, channel_closed.conversation_id, T_U64, "channel_closed.conversation_id"),
    R(CHANNEL_CLOSED, channel_closed.registration, T_BYTES, "channel_closed.registration"),
    R(CHANNEL_CLOSED, channel_closed.reason, T_ENUM, "channel_closed.reason"),
    R(CHANNEL_CLOSED, channel_closed.notification_type, T_BYTES,
      "channel_closed.notification_type"),
    R(CHANNEL_CLOSED, channel_closed.payload, T_BYTES, "channel_closed.payload"),
    R(ERROR, error.code, T_ENUM, "error.code"),
    R(ERROR, error.message, T_STR, "error.message"),
    R(ERROR, error.field, T_STR, "error.field"),
    R(ERROR, error.fatal, T_BOOL, "error.fatal"),
    R(OK, ok.info, T_ENUM, "ok.info"),
    R(HELLO, hello.min_version, T_U32, "hello.min_version"),
    R(HELLO, hello.max_version, T_U32, "hello.max_version"),
    R(HELLO, hello.software, T_STR, "hello.software"),
    R(HELLO, hello.auth, T_ENUM, "hello.auth"),
    R(HELLO, hello.token, T_BYTES, "hello.token"),
    R(HELLO, hello.session_label, T_STR, "hello.session_label"),
    R(HELLO, hello.max_frame_size, T_U32, "hello.max_frame_size"),
    R(WELCOME, welcome.version, T_U32, "welcome.version"),
    R(WELCOME, welcome.software, T_STR, "welcome.software"),
    R(WELCOME, welcome.server_name, T_STR, "welcome.server_name"),
    R(WELCOME, welcome.has_limits, T_BOOL, "welcome.limits"),
    R(WELCOME, welcome.limits.max_frame_size, T_U32, "welcome.limits.max_frame_size"),
    R(WELCOME, welcome.limits.max_registrations, T_U32, "welcome.limits.max_registrations"),
    R(WELCOME, welcome.limits.max_channels, T_U32, "welcome.limits.max_channels"),
    R(WELCOME, welcome.limits.keepalive_interval_ms, T_U32,
      "welcome.limits.keepalive_interval_ms"),
    R(WELCOME, welcome.limits.keepalive_timeout_ms, T_U32,
      "welcome.limits.keepalive_timeout_ms"),
    R(WELCOME, welcome.limits.max_lease_seconds, T_U32, "welcome.limits.max_lease_seconds"),
    R(WELCOME, welcome.limits.max_outbound_bytes, T_U32, "welcome.limits.max_outbound_bytes"),
    R(WELCOME, welcome.has_identity, T_BOOL, "welcome.identity"),
    R(WELCOME, welcome.identity.user, T_STR, "welcome.identity.user"),
    R(WELCOME, welcome.identity.server_admin, T_BOOL, "welcome.identity.server_admin"),
    R(WELCOME, welcome.identity.admin_printers_count, T_COUNT, "welcome.identity.admin_printers"),
    R(WELCOME, welcome.identity.may_open_channels, T_BOOL, "welcome.identity.may_open_channels"),
    R(WELCOME, welcome.identity.trusted, T_BOOL, "welcome.identity.trusted"),
    R(WELCOME, welcome.identity.admin_printers_truncated, T_BOOL,
      "welcome.identity.admin_printers_truncated"),
    R(REGISTER, register_listener.target.kind, T_ENUM, "register.target"),
    R(REGISTER, register_listener.notification_type, T_BYTES, "register.notification_type"),
    R(REGISTER, register_listener.user_filter, T_ENUM, "register.user_filter"),
    R(REGISTER, register_listener.style, T_ENUM, "register.style"),
    R(REGISTER, register_listener.lease_seconds, T_U32, "register.lease_seconds"),
    R(REGISTER, register_listener.client_state, T_BYTES, "register.client_state"),
    R(REGISTERED, registered.handle, T_BYTES, "registered.handle"),
    R(REGISTERED, registered.lease_seconds, T_U32, "registered.lease_seconds"),
    R(RENEW, renew.handle, T_BYTES, "renew.handle"),
    R(RENEW, renew.lease_seconds, T_U32, "renew.lease_seconds"),
    R(RENEWED, renewed.lease_seconds, T_U32, "renewed.lease_seconds"),
    R(UNREGISTER, unregister.handle, T_BYTES, "unregister.handle"),
    R(LIST_REGISTRATIONS, list_registrations.target.kind, T_ENUM, "list_registrations.target"),
    R(LIST_REGISTRATIONS, list_registrations.target.printer, T_STR,
      "list_registrations.target.printer"),
    R(LIST_REGISTRATIONS, list_registrations.offset, T_U32, "list_registrations.offset"),
    R(REGISTRATION_LIST, registration_list.registrations_count, T_COUNT,
      "registration_list.registrations"),
    R(REGISTRATION_LIST, registration_list.total, T_U32, "registration_list.total"),
    R(OPEN_CHANNEL, open_channel.target.kind, T_ENUM, "open_channel.target"),
    R(OPEN_CHANNEL, open_channel.target.printer, T_STR, "open_channel.target.printer"),
    R(OPEN_CHANNEL, open_channel.notification_type, T_BYTES, "open_channel.notification_type"),
    R(OPEN_CHANNEL, open_channel.user_filter, T_ENUM, "open_channel.user_filter"),
    R(OPEN_CHANNEL, open_channel.style, T_ENUM, "open_channel.style"),
    R(OPEN_CHANNEL, open_channel.has_on_behalf_of, T_BOOL, "open_channel.on_behalf_of"),
    R(OPEN_CHANNEL, open_channel.on_behalf_of.job_id, T_U32, "open_channel.on_behalf_of.job_id"),
    R(OPEN_CHANNEL, open_channel.on_behalf_of.job_owner, T_STR,
      "open_channel.on_behalf_of.job_owner"),
    R(OPEN_CHANNEL, open_channel.on_behalf_of.session_label, T_STR,
      "open_channel.on_behalf_of.session_label"),
    R(CHANNEL_OPENED, channel_opened.channel_id, T_U64, "channel_opened.channel_id"),
    R(CLOSE_CHANNEL, close_channel.side, T_ENUM, "close_channel.side"),
    R(CLOSE_CHANNEL, close_channel.id, T_U64, "close_channel.id"),
    R(CLOSE_CHANNEL, close_channel.has_reason, T_BOOL, "close_channel.reason"),
    R(CLOSE_CHANNEL, close_channel.reason.notification_type, T_BYTES,
      "close_channel.reason.notification_type"),
    R(CLOSE_CHANNEL, close_channel.reason.payload, T_BYTES, "close_channel.reason.payload"),
    R(CHANNEL_CLOSE_RESULT, channel_close_result.outcome, T_ENUM, "channel_close_result.outcome"),
    R(REGISTRATION_ENDED, registration_ended.handle, T_BYTES, "registration_ended.handle"),
    R(REGISTRATION_ENDED, registration_ended.reason, T_ENUM, "registration_ended.reason"),
    R(GOODBYE, goodbye.reason, T_ENUM, "goodbye.reason"),
    R(GOODBYE, goodbye.message, T_STR, "goodbye.message"),
};

/* The fields of one RegistrationList element, named under its index. */
#define I(m, t, p) {PANP_BODY_REGISTRATION_LIST, offsetof(panp_registration_info, m), t, p}
static const row INFO_ROWS[] = {
    I(handle, T_BYTES, "handle"),
    I(user, T_STR, "user"),
    I(target.kind, T_ENUM, "target"),
    I(target.printer, T_STR, "target.printer"),
    I(notification_type, T_BYTES, "notification_type"),
    I(user_filter, T_ENUM, "user_filter"),
    I(style, T_ENUM, "style"),
    I(lease_remaining_seconds, T_U32, "lease_remaining_seconds"),
};

static const unsigned BOTH_FLAGS[2] = {0, PANP_COMPARE_NULL_IS_EMPTY};

/* Adds 1 to the unsigned number of size n (4 or 8) at p. */
static void bump(char *p, size_t n)
{
    if (n == sizeof(uint64_t)) {
        uint64_t v;
        memcpy(&v, p, n);
        v++;
        memcpy(p, &v, n);
    } else {
        uint32_t v;
        memcpy(&v, p, n);
        v++;
        memcpy(p, &v, n);
    }
}

/* Non-empty bytes keep their length unless resize: a change of content
 * alone must be caught too.  The changed copy goes to scratch. */
static void mutate_bytes(char *p, bool resize, uint8_t scratch[64])
{
    panp_bytes v;
    memcpy(&v, p, sizeof v);
    assert_true(v.len <= 64);
    if (v.len && !resize) {
        memcpy(scratch, v.data, v.len);
        scratch[v.len - 1] ^= 1;
        v.data = scratch;
    } else if (v.len) {
        v.len--;
        v.data = v.len ? v.data : NULL;
    } else {
        v = (panp_bytes){(const uint8_t *)"z", 1};
    }
    memcpy(p, &v, sizeof v);
}

/* Changes the field r names in the struct at base. */
static void mutate(void *base, const row *r, bool resize, uint8_t scratch[64])
{
    char *p = (char *)base + r->off;
    const char *s;
    size_t n;
    switch (r->type) {
    case T_U32:
    case T_ENUM:
        bump(p, sizeof(uint32_t));
        break;
    case T_U64:
        bump(p, sizeof(uint64_t));
        break;
    case T_COUNT: /* down, so that the shorter list stays inside the sample's */
        memcpy(&n, p, sizeof n);
        n--;
        memcpy(p, &n, sizeof n);
        break;
    case T_BOOL:
        *(bool *)p = !*(bool *)p;
        break;
    case T_STR:
        memcpy(&s, p, sizeof s);
        s = s && strcmp(s, "changed") == 0 ? "other" : "changed";
        memcpy(p, &s, sizeof s);
        break;
    case T_BYTES:
        mutate_bytes(p, resize, scratch);
        break;
    }
}

/* a and b differ, under both flags and both ways round, first at path. */
static void expect_differ(const panp_frame *a, const panp_frame *b, const char *path)
{
    for (int i = 0; i < 2; i++) {
        char why[200];
        assert_false(panp_frames_equal(a, b, BOTH_FLAGS[i], why, sizeof why));
        size_t n = strlen(path);
        if (strncmp(why, path, n) != 0 || strncmp(why + n, ": ", 2) != 0)
            fail_msg("want %s, got \"%s\" (flags %u)", path, why, BOTH_FLAGS[i]);
        assert_false(panp_frames_equal(b, a, BOTH_FLAGS[i], why, sizeof why));
        assert_int_equal(strncmp(why, path, n), 0);
    }
}

static void expect_equal(const panp_frame *a, const panp_frame *b, unsigned flags)
{
    char why[200] = "untouched";
    if (!panp_frames_equal(a, b, flags, why, sizeof why))
        fail_msg("flags %u: %s", flags, why);
    assert_string_equal(why, "");
}

static void test_samples_equal(void **state)
{
    (void)state;
    size_t n;
    const panp_body_kind *kinds = tu_all_kinds(&n);
    for (size_t i = 0; i < n; i++) {
        panp_frame a, b;
        tu_sample(kinds[i], &a);
        b = a;
        expect_equal(&a, &b, 0);
        expect_equal(&a, &b, PANP_COMPARE_NULL_IS_EMPTY);
    }
}

static void test_every_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        for (int resize = 0; resize < (ROWS[i].type == T_BYTES ? 2 : 1); resize++) {
            panp_frame a, b;
            uint8_t scratch[64];
            tu_sample(ROWS[i].kind, &a);
            b = a;
            mutate(&b, &ROWS[i], resize, scratch);
            expect_differ(&a, &b, ROWS[i].path);
        }
    }
}

/* Every body kind with fields has rows (a new kind needs its own). */
static void test_rows_cover_kinds(void **state)
{
    (void)state;
    size_t n;
    const panp_body_kind *kinds = tu_all_kinds(&n);
    for (size_t k = 0; k < n; k++) {
        bool found = kinds[k] == PANP_BODY_PING || kinds[k] == PANP_BODY_PONG;
        for (size_t i = 0; !found && i < sizeof ROWS / sizeof ROWS[0]; i++)
            found = ROWS[i].kind == kinds[k];
        if (!found)
            fail_msg("no rows for %s", panp_body_name(kinds[k]));
    }
}

static void test_list_elements(void **state)
{
    (void)state;
    panp_frame a, b;
    tu_sample(PANP_BODY_REGISTRATION_LIST, &a);
    assert_int_equal(a.body.registration_list.registrations_count, 2);
    for (size_t e = 0; e < 2; e++) {
        for (size_t i = 0; i < sizeof INFO_ROWS / sizeof INFO_ROWS[0]; i++) {
            const panp_registration_info *orig = a.body.registration_list.registrations;
            if (orig[e].target.kind != PANP_TARGET_PRINTER &&
                strcmp(INFO_ROWS[i].path, "target.printer") == 0)
                continue; /* a server target has no name: see test_ignored */
            panp_registration_info infos[2] = {orig[0], orig[1]};
            uint8_t scratch[64];
            mutate(&infos[e], &INFO_ROWS[i], false, scratch);
            b = a;
            b.body.registration_list.registrations = infos;
            char path[96];
            snprintf(path, sizeof path, "registration_list.registrations[%zu].%s", e,
                     INFO_ROWS[i].path);
            expect_differ(&a, &b, path);
        }
    }
}

static void test_admin_printer_element(void **state)
{
    (void)state;
    panp_frame a, b;
    tu_sample(PANP_BODY_WELCOME, &a);
    const panp_identity *id = &a.body.welcome.identity;
    assert_int_equal(id->admin_printers_count, 2);
    const char *names[2] = {id->admin_printers[0], "Basement"};
    b = a;
    b.body.welcome.identity.admin_printers = names;
    expect_differ(&a, &b, "welcome.identity.admin_printers[1]");
}

/* Both values follow the name, in the form of their field kind. */
static void test_why_values(void **state)
{
    (void)state;
    panp_frame a, b;
    char why[200];
    tu_sample(PANP_BODY_NOTIFY, &a);
    b = a;
    b.request_id = 43;
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "frame.request_id: 42 vs 43");
    b = a;
    b.body.notify.payload = (panp_bytes){(const uint8_t *)"hellO", 5};
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "notify.payload: 5 bytes 68656c6c6f vs 5 bytes 68656c6c4f");
    b = a;
    b.body.notify.sender.user = "eve";
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "notify.sender.user: \"svc\" vs \"eve\"");
    b = a;
    b.body.notify.has_sender = false;
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "notify.sender: present vs absent");
}

/* Several differences: the first in field order is the one named. */
static void test_first_difference(void **state)
{
    (void)state;
    panp_frame a, b;
    char why[200];
    tu_sample(PANP_BODY_SENT, &a);
    b = a;
    b.body.sent.recipients = 9;
    b.body.sent.sequence = 9;
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "sent.sequence: 1 vs 9");
    b.kind = PANP_BODY_RENEWED;
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "frame.kind: 4 vs 21");
}

/* What the kind, a has_* flag or a target's kind makes meaningless. */
static void test_ignored(void **state)
{
    (void)state;
    panp_frame a, b;
    tu_sample(PANP_BODY_NOTIFY, &a);
    a.body.notify.has_sender = false;
    b = a;
    b.body.notify.sender.user = NULL;
    b.body.notify.sender.job_id = 1;
    expect_equal(&a, &b, 0);

    tu_sample(PANP_BODY_WELCOME, &a);
    a.body.welcome.has_limits = a.body.welcome.has_identity = false;
    b = a;
    b.body.welcome.limits.max_channels = 7;
    b.body.welcome.identity.user = "x";
    expect_equal(&a, &b, 0);

    tu_sample(PANP_BODY_OPEN_CHANNEL, &a);
    a.body.open_channel.has_on_behalf_of = false;
    b = a;
    b.body.open_channel.on_behalf_of.job_owner = "x";
    expect_equal(&a, &b, 0);

    tu_sample(PANP_BODY_CLOSE_CHANNEL, &a);
    a.body.close_channel.has_reason = false;
    b = a;
    b.body.close_channel.reason.payload = (panp_bytes){(const uint8_t *)"x", 1};
    expect_equal(&a, &b, 0);

    tu_sample(PANP_BODY_REGISTER, &a); /* target: server */
    b = a;
    a.body.register_listener.target.printer = "x";
    b.body.register_listener.target.printer = "y";
    expect_equal(&a, &b, 0);
}

static void test_no_fields(void **state)
{
    (void)state;
    panp_frame a, b;
    tu_sample(PANP_BODY_NOTIFY, &a);
    b = a;
    b.body.notify.channel_id = 6;
    a.kind = b.kind = PANP_BODY_PING;
    expect_equal(&a, &b, 0);
    a.kind = b.kind = (panp_body_kind)99; /* outside the schema: fuzz_encode builds these */
    expect_equal(&a, &b, 0);
}

/* Strict (0): a NULL string is a difference, even against NULL; with the
 * flag NULL and "" are one string, and NULL still differs from "a". */
static void test_null_string(void **state)
{
    (void)state;
    panp_frame a, b;
    char why[200];
    tu_sample(PANP_BODY_GOODBYE, &a);
    b = a;
    a.body.goodbye.message = "";
    b.body.goodbye.message = NULL;
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "goodbye.message: \"\" vs NULL");
    assert_false(panp_frames_equal(&b, &a, 0, why, sizeof why));
    expect_equal(&a, &b, PANP_COMPARE_NULL_IS_EMPTY);
    expect_equal(&b, &a, PANP_COMPARE_NULL_IS_EMPTY);

    a.body.goodbye.message = NULL;
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "goodbye.message: NULL vs NULL");
    expect_equal(&a, &b, PANP_COMPARE_NULL_IS_EMPTY);

    b.body.goodbye.message = "a";
    assert_false(panp_frames_equal(&a, &b, PANP_COMPARE_NULL_IS_EMPTY, why, sizeof why));
    assert_string_equal(why, "goodbye.message: NULL vs \"a\"");
    assert_false(tu_frames_equal(&a, &b, why, sizeof why));
}

/* Strict: empty bytes have a NULL pointer, as decoders give them; with the
 * flag the pointer of empty bytes is not looked at. */
static void test_empty_bytes(void **state)
{
    (void)state;
    panp_frame a, b;
    char why[200];
    tu_sample(PANP_BODY_UNREGISTER, &a);
    b = a;
    a.body.unregister.handle = (panp_bytes){(const uint8_t *)"x", 0};
    b.body.unregister.handle = (panp_bytes){NULL, 0};
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "unregister.handle: empty bytes with a non-NULL pointer");
    assert_false(panp_frames_equal(&b, &a, 0, why, sizeof why));
    expect_equal(&a, &b, PANP_COMPARE_NULL_IS_EMPTY);
    expect_equal(&b, &a, PANP_COMPARE_NULL_IS_EMPTY);
    expect_equal(&b, &b, 0);
}

static void test_why_buffer(void **state)
{
    (void)state;
    panp_frame a, b;
    tu_sample(PANP_BODY_SENT, &a);
    b = a;
    b.request_id = 7;
    assert_false(panp_frames_equal(&a, &b, 0, NULL, 0));
    char why[8];
    memset(why, 'x', sizeof why);
    assert_false(panp_frames_equal(&a, &b, 0, why, sizeof why));
    assert_string_equal(why, "frame.r");
    assert_true(panp_frames_equal(&a, &a, 0, NULL, 0));
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t p[4] = {0x00, 0xab, 0x10, 0xff};
    char out[16];
    assert_string_equal(panp_hex(p, 4, out, sizeof out), "00ab10ff");
    assert_string_equal(panp_hex(p, 4, out, 9), "00ab10ff");
    assert_string_equal(panp_hex(p, 4, out, 8), "00ab...");
    assert_string_equal(panp_hex(p, 4, out, 4), "...");
    assert_string_equal(panp_hex(p, 4, out, 3), "");
    assert_string_equal(panp_hex(p, 0, out, sizeof out), "");
    assert_string_equal(panp_hex(NULL, 3, out, sizeof out), "");
    out[0] = 'x';
    panp_hex(p, 4, out, 0);
    assert_int_equal(out[0], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_equal),
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_rows_cover_kinds),
        cmocka_unit_test(test_list_elements),
        cmocka_unit_test(test_admin_printer_element),
        cmocka_unit_test(test_why_values),
        cmocka_unit_test(test_first_difference),
        cmocka_unit_test(test_ignored),
        cmocka_unit_test(test_no_fields),
        cmocka_unit_test(test_null_string),
        cmocka_unit_test(test_empty_bytes),
        cmocka_unit_test(test_why_buffer),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
