/* test_validate.c - every validator rule, one table row each: a valid
 * sample frame, one mutation, the expected code and field path.  Each row
 * runs through panp_validate() and through panp_encode() on both backends
 * (the encoder must refuse what the validator refuses); the unmutated
 * samples must pass everywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* codec/src: the canonical size and protobuf-c's writer, without the
 * validator in front, to put invalid views on the wire. */
size_t view_size(const panp_frame *f);
panp_error_code pbc_encode(const panp_frame *f, uint8_t *buf, size_t size, panp_status *st);

#define B(p, n) ((panp_bytes){(const uint8_t *)(p), (n)})

static char long_str[600];
static uint8_t long_bytes[70000];
static const uint8_t NIL[16];

static const char *str_of(size_t n)
{
    memset(long_str, 'a', sizeof long_str - 1);
    long_str[n] = '\0';
    return long_str;
}

typedef void (*mutator)(panp_frame *f);

typedef struct rule {
    const char *name;
    panp_body_kind kind;
    mutator mutate;
    panp_error_code code;
    const char *field;
    bool client_ok; /* a receiving client accepts it (SPEC 6.3: any enum value, 0 too) */
} rule;

#define M(fn, body) static void fn(panp_frame *f) { body; }

/* hello */
M(hello_v0, f->body.hello.min_version = 0)
M(hello_max_lt_min, (f->body.hello.min_version = 3, f->body.hello.max_version = 2))
M(hello_auth0, f->body.hello.auth = PANP_AUTH_UNSPECIFIED)
M(hello_auth9, f->body.hello.auth = (panp_auth)9)
M(hello_token_ext, f->body.hello.auth = PANP_AUTH_EXTERNAL)
M(hello_small_frame, f->body.hello.max_frame_size = 4095)
M(hello_sw65, f->body.hello.software = str_of(65))
M(hello_token513, f->body.hello.token = B(long_bytes, 513))
M(hello_label65, f->body.hello.session_label = str_of(65))
M(hello_bad_utf8, f->body.hello.software = "bad\xc0\xafutf8")
M(hello_surrogate, f->body.hello.session_label = "\xed\xa0\x80")
M(hello_null_data, f->body.hello.token = B(NULL, 3))
/* welcome */
M(welcome_v0, f->body.welcome.version = 0)
M(welcome_limit, f->body.welcome.limits.max_frame_size = 4095)
M(welcome_name256, f->body.welcome.server_name = str_of(256))
M(welcome_user256, f->body.welcome.identity.user = str_of(256))
M(welcome_65_printers, f->body.welcome.identity.admin_printers_count = 65)
M(welcome_printers_null, f->body.welcome.identity.admin_printers = NULL)
static const char *const BAD_PRINTERS[2] = {"ok", "\xff"};
M(welcome_printer_utf8, f->body.welcome.identity.admin_printers = BAD_PRINTERS)
/* register */
M(reg_no_target, f->body.register_listener.target.kind = PANP_TARGET_NONE)
M(reg_empty_target, f->body.register_listener.target.kind = PANP_TARGET_EMPTY)
M(reg_bad_kind, f->body.register_listener.target.kind = (panp_target_kind)7)
M(reg_empty_printer, (f->body.register_listener.target.kind = PANP_TARGET_PRINTER,
                      f->body.register_listener.target.printer = ""))
M(reg_null_printer, (f->body.register_listener.target.kind = PANP_TARGET_PRINTER,
                     f->body.register_listener.target.printer = NULL))
M(reg_long_printer, (f->body.register_listener.target.kind = PANP_TARGET_PRINTER,
                     f->body.register_listener.target.printer = str_of(256)))
M(reg_type3, f->body.register_listener.notification_type.len = 3)
M(reg_type0, f->body.register_listener.notification_type = B(NULL, 0))
M(reg_release, f->body.register_listener.notification_type = B(PANP_TYPE_NOTIFICATION_RELEASE, 16))
M(reg_nil, f->body.register_listener.notification_type = B(NIL, 16))
M(reg_filter0, f->body.register_listener.user_filter = PANP_USER_FILTER_UNSPECIFIED)
M(reg_filter3, f->body.register_listener.user_filter = (panp_user_filter)3)
M(reg_style0, f->body.register_listener.style = PANP_STYLE_UNSPECIFIED)
M(reg_style_neg, f->body.register_listener.style = (panp_style)-1)
M(reg_state129, f->body.register_listener.client_state = B(long_bytes, 129))
/* handles */
M(registered_none, f->body.registered.handle = B(NULL, 0))
M(registered_15, f->body.registered.handle.len = 15)
M(renew_33, f->body.renew.handle = B(long_bytes, 33))
M(unregister_none, f->body.unregister.handle = B(NULL, 0))
M(ended_none, f->body.registration_ended.handle = B(NULL, 0))
M(ended_reason0, f->body.registration_ended.reason = PANP_REG_END_UNSPECIFIED)
/* lists */
M(list_empty_target, f->body.list_registrations.target.kind = PANP_TARGET_EMPTY)
M(reglist_33, f->body.registration_list.registrations_count = 33)
M(reglist_null, f->body.registration_list.registrations = NULL)
static panp_registration_info BAD_INFOS[2];
static void reglist_bad_handle(panp_frame *f)
{
    memcpy(BAD_INFOS, f->body.registration_list.registrations, sizeof BAD_INFOS);
    BAD_INFOS[1].handle = B(long_bytes, 8);
    f->body.registration_list.registrations = BAD_INFOS;
}
static void reglist_no_type(panp_frame *f)
{
    memcpy(BAD_INFOS, f->body.registration_list.registrations, sizeof BAD_INFOS);
    BAD_INFOS[0].notification_type = B(NULL, 0);
    f->body.registration_list.registrations = BAD_INFOS;
}
static void reglist_style0(panp_frame *f)
{
    memcpy(BAD_INFOS, f->body.registration_list.registrations, sizeof BAD_INFOS);
    BAD_INFOS[1].style = PANP_STYLE_UNSPECIFIED;
    f->body.registration_list.registrations = BAD_INFOS;
}
/* notify */
M(notify_no_reg, f->body.notify.registration = B(NULL, 0))
M(notify_channel0, f->body.notify.channel_id = 0)
M(notify_seq0, f->body.notify.sequence = 0)
M(notify_type0, f->body.notify.notification_type = B(NULL, 0))
M(notify_style0, f->body.notify.style = PANP_STYLE_UNSPECIFIED)
M(notify_bidi_no_conv, f->body.notify.conversation_id = 0)
M(notify_uni_conv, f->body.notify.style = PANP_STYLE_UNIDIRECTIONAL)
M(notify_sender_user, f->body.notify.sender.user = str_of(256))
M(notify_target_empty, f->body.notify.target.kind = PANP_TARGET_EMPTY)
M(notify_payload_big, f->body.notify.payload = B(long_bytes, 63489))
M(notify_state_big, f->body.notify.client_state = B(long_bytes, 129))
/* open_channel */
M(open_no_target, f->body.open_channel.target.kind = PANP_TARGET_NONE)
M(open_release, f->body.open_channel.notification_type = B(PANP_TYPE_NOTIFICATION_RELEASE, 16))
M(open_nil, f->body.open_channel.notification_type = B(NIL, 16))
M(open_filter0, f->body.open_channel.user_filter = PANP_USER_FILTER_UNSPECIFIED)
M(open_style3, f->body.open_channel.style = (panp_style)3)
M(open_no_owner, f->body.open_channel.on_behalf_of.job_owner = "")
M(open_label65, f->body.open_channel.on_behalf_of.session_label = str_of(65))
/* close_channel */
M(close_no_side, f->body.close_channel.side = PANP_CLOSE_SIDE_NONE)
M(close_bad_side, f->body.close_channel.side = (panp_close_side)3)
M(close_id0, f->body.close_channel.id = 0)
M(close_conv0, (f->body.close_channel.side = PANP_CLOSE_SIDE_CONVERSATION,
                f->body.close_channel.id = 0))
M(close_reason_type, f->body.close_channel.reason.notification_type.len = 4)
M(close_reason_release, f->body.close_channel.reason.notification_type =
                            B(PANP_TYPE_NOTIFICATION_RELEASE, 16))
M(close_reason_payload, f->body.close_channel.reason.payload = B(long_bytes, 63489))
/* channel_closed */
M(closed_no_ids, f->body.channel_closed.channel_id = 0)
M(closed_reason0, f->body.channel_closed.reason = PANP_CLOSE_REASON_UNSPECIFIED)
M(closed_gone_no_release, f->body.channel_closed.notification_type = B(NULL, 0))
M(closed_release_wrong_reason, f->body.channel_closed.reason = PANP_CLOSE_REASON_CLOSED_BY_SENDER)
M(closed_type_short, (f->body.channel_closed.reason = PANP_CLOSE_REASON_CLOSED_BY_SENDER,
                      f->body.channel_closed.notification_type.len = 5))
M(closed_reg_short, f->body.channel_closed.registration = B(long_bytes, 3))
/* send / reply / delivery */
M(send_channel0, f->body.send.channel_id = 0)
M(send_type0, f->body.send.notification_type = B(NULL, 0))
M(send_release, f->body.send.notification_type = B(PANP_TYPE_NOTIFICATION_RELEASE, 16))
M(send_payload_big, f->body.send.payload = B(long_bytes, 63489))
M(reply_conv0, f->body.reply.conversation_id = 0)
M(reply_type17, f->body.reply.notification_type = B(long_bytes, 17))
M(delivery_channel0, f->body.reply_delivery.channel_id = 0)
M(delivery_seq0, f->body.reply_delivery.sequence = 0)
M(delivery_type0, f->body.reply_delivery.notification_type = B(NULL, 0))
M(delivery_responder, f->body.reply_delivery.responder = "\xf4\x90\x80\x80")
/* small bodies */
M(sent_seq0, f->body.sent.sequence = 0)
M(opened0, f->body.channel_opened.channel_id = 0)
M(outcome0, f->body.channel_close_result.outcome = PANP_CLOSE_OUTCOME_UNSPECIFIED)
M(ok_info1, f->body.ok.info = (panp_ok_info)1)
M(error_code0, f->body.error.code = PANP_ERR_UNSPECIFIED)
M(error_msg513, f->body.error.message = str_of(513))
M(error_field129, f->body.error.field = str_of(129))
M(goodbye_msg513, f->body.goodbye.message = str_of(513))
M(goodbye_neg, f->body.goodbye.reason = (panp_goodbye_reason)-5)
M(no_body, f->kind = PANP_BODY_NONE)

#define IA PANP_ERR_INVALID_ARGUMENT
static const rule RULES[] = {
    {"hello min_version 0", PANP_BODY_HELLO, hello_v0, IA, "hello.min_version", false},
    {"hello max < min", PANP_BODY_HELLO, hello_max_lt_min, IA, "hello.max_version", false},
    {"hello auth 0", PANP_BODY_HELLO, hello_auth0, IA, "hello.auth", false},
    {"hello auth 9", PANP_BODY_HELLO, hello_auth9, IA, "hello.auth", false},
    {"hello token with EXTERNAL", PANP_BODY_HELLO, hello_token_ext, IA, "hello.token", false},
    {"hello max_frame_size 4095", PANP_BODY_HELLO, hello_small_frame, IA, "hello.max_frame_size", false},
    {"hello software 65", PANP_BODY_HELLO, hello_sw65, IA, "hello.software", false},
    {"hello token 513", PANP_BODY_HELLO, hello_token513, IA, "hello.token", false},
    {"hello session_label 65", PANP_BODY_HELLO, hello_label65, IA, "hello.session_label", false},
    {"hello overlong UTF-8", PANP_BODY_HELLO, hello_bad_utf8, IA, "hello.software", false},
    {"hello surrogate", PANP_BODY_HELLO, hello_surrogate, IA, "hello.session_label", false},
    {"hello bytes at NULL", PANP_BODY_HELLO, hello_null_data, IA, "hello.token", false},
    {"welcome version 0", PANP_BODY_WELCOME, welcome_v0, IA, "welcome.version", false},
    {"welcome limit 4095", PANP_BODY_WELCOME, welcome_limit, IA, "welcome.limits.max_frame_size", false},
    {"welcome server_name 256", PANP_BODY_WELCOME, welcome_name256, IA, "welcome.server_name", false},
    {"welcome user 256", PANP_BODY_WELCOME, welcome_user256, IA, "welcome.identity.user", false},
    {"welcome 65 printers", PANP_BODY_WELCOME, welcome_65_printers, IA,
     "welcome.identity.admin_printers", false},
    {"welcome printers NULL", PANP_BODY_WELCOME, welcome_printers_null, IA,
     "welcome.identity.admin_printers", false},
    {"welcome printer UTF-8", PANP_BODY_WELCOME, welcome_printer_utf8, IA,
     "welcome.identity.admin_printers", false},
    {"register no target", PANP_BODY_REGISTER, reg_no_target, IA, "register.target", false},
    {"register empty target", PANP_BODY_REGISTER, reg_empty_target, IA, "register.target", false},
    {"register target kind 7", PANP_BODY_REGISTER, reg_bad_kind, IA, "register.target", false},
    {"register printer \"\"", PANP_BODY_REGISTER, reg_empty_printer, IA, "register.target.printer",
     false},
    {"register printer NULL", PANP_BODY_REGISTER, reg_null_printer, IA, "register.target.printer", false},
    {"register printer 256", PANP_BODY_REGISTER, reg_long_printer, IA, "register.target.printer", false},
    {"register type 3 bytes", PANP_BODY_REGISTER, reg_type3, IA, "register.notification_type", false},
    {"register no type", PANP_BODY_REGISTER, reg_type0, IA, "register.notification_type", false},
    {"register RELEASE", PANP_BODY_REGISTER, reg_release, IA, "register.notification_type", false},
    {"register nil type", PANP_BODY_REGISTER, reg_nil, IA, "register.notification_type", false},
    {"register filter 0", PANP_BODY_REGISTER, reg_filter0, IA, "register.user_filter", false},
    {"register filter 3", PANP_BODY_REGISTER, reg_filter3, IA, "register.user_filter", false},
    {"register style 0", PANP_BODY_REGISTER, reg_style0, IA, "register.style", false},
    {"register style -1", PANP_BODY_REGISTER, reg_style_neg, IA, "register.style", false},
    {"register client_state 129", PANP_BODY_REGISTER, reg_state129, IA, "register.client_state", false},
    {"registered no handle", PANP_BODY_REGISTERED, registered_none, IA, "registered.handle", false},
    {"registered handle 15", PANP_BODY_REGISTERED, registered_15, IA, "registered.handle", false},
    {"renew handle 33", PANP_BODY_RENEW, renew_33, IA, "renew.handle", false},
    {"unregister no handle", PANP_BODY_UNREGISTER, unregister_none, IA, "unregister.handle", false},
    {"registration_ended no handle", PANP_BODY_REGISTRATION_ENDED, ended_none, IA,
     "registration_ended.handle", false},
    {"registration_ended reason 0", PANP_BODY_REGISTRATION_ENDED, ended_reason0, IA,
     "registration_ended.reason", true},
    {"list empty target", PANP_BODY_LIST_REGISTRATIONS, list_empty_target, IA,
     "list_registrations.target", false},
    {"registration_list 33", PANP_BODY_REGISTRATION_LIST, reglist_33, IA,
     "registration_list.registrations", false},
    {"registration_list NULL", PANP_BODY_REGISTRATION_LIST, reglist_null, IA,
     "registration_list.registrations", false},
    {"registration_list handle 8", PANP_BODY_REGISTRATION_LIST, reglist_bad_handle, IA,
     "registration_list.registrations[1].handle", false},
    {"registration_list no type", PANP_BODY_REGISTRATION_LIST, reglist_no_type, IA,
     "registration_list.registrations[0].notification_type", false},
    {"registration_list style 0", PANP_BODY_REGISTRATION_LIST, reglist_style0, IA,
     "registration_list.registrations[1].style", true},
    {"notify no registration", PANP_BODY_NOTIFY, notify_no_reg, IA, "notify.registration", false},
    {"notify channel 0", PANP_BODY_NOTIFY, notify_channel0, IA, "notify.channel_id", false},
    {"notify sequence 0", PANP_BODY_NOTIFY, notify_seq0, IA, "notify.sequence", false},
    {"notify no type", PANP_BODY_NOTIFY, notify_type0, IA, "notify.notification_type", false},
    {"notify style 0", PANP_BODY_NOTIFY, notify_style0, IA, "notify.style", true},
    {"notify bidi without conversation", PANP_BODY_NOTIFY, notify_bidi_no_conv, IA,
     "notify.conversation_id", false},
    {"notify uni with conversation", PANP_BODY_NOTIFY, notify_uni_conv, IA,
     "notify.conversation_id", false},
    {"notify sender.user 256", PANP_BODY_NOTIFY, notify_sender_user, IA, "notify.sender.user", false},
    {"notify empty target", PANP_BODY_NOTIFY, notify_target_empty, IA, "notify.target", false},
    {"notify payload 63489", PANP_BODY_NOTIFY, notify_payload_big, IA, "notify.payload", false},
    {"notify client_state 129", PANP_BODY_NOTIFY, notify_state_big, IA, "notify.client_state", false},
    {"open_channel no target", PANP_BODY_OPEN_CHANNEL, open_no_target, IA, "open_channel.target", false},
    {"open_channel RELEASE", PANP_BODY_OPEN_CHANNEL, open_release, IA,
     "open_channel.notification_type", false},
    {"open_channel nil", PANP_BODY_OPEN_CHANNEL, open_nil, IA, "open_channel.notification_type", false},
    {"open_channel filter 0", PANP_BODY_OPEN_CHANNEL, open_filter0, IA, "open_channel.user_filter", false},
    {"open_channel style 3", PANP_BODY_OPEN_CHANNEL, open_style3, IA, "open_channel.style", false},
    {"open_channel no job_owner", PANP_BODY_OPEN_CHANNEL, open_no_owner, IA,
     "open_channel.on_behalf_of.job_owner", false},
    {"open_channel session 65", PANP_BODY_OPEN_CHANNEL, open_label65, IA,
     "open_channel.on_behalf_of.session_label", false},
    {"close_channel no side", PANP_BODY_CLOSE_CHANNEL, close_no_side, IA, "close_channel.side", false},
    {"close_channel side 3", PANP_BODY_CLOSE_CHANNEL, close_bad_side, IA, "close_channel.side", false},
    {"close_channel reason type 4", PANP_BODY_CLOSE_CHANNEL, close_reason_type, IA,
     "close_channel.reason.notification_type", false},
    {"close_channel reason payload", PANP_BODY_CLOSE_CHANNEL, close_reason_payload, IA,
     "close_channel.reason.payload", false},
    {"channel_closed no ids", PANP_BODY_CHANNEL_CLOSED, closed_no_ids, IA,
     "channel_closed.channel_id", false},
    {"channel_closed reason 0", PANP_BODY_CHANNEL_CLOSED, closed_reason0, IA,
     "channel_closed.reason", true},
    {"channel_closed PEER_GONE w/o RELEASE", PANP_BODY_CHANNEL_CLOSED, closed_gone_no_release, IA,
     "channel_closed.notification_type", false},
    {"channel_closed RELEASE w/ CLOSED_BY_SENDER", PANP_BODY_CHANNEL_CLOSED,
     closed_release_wrong_reason, IA, "channel_closed.notification_type", false},
    {"channel_closed type 5 bytes", PANP_BODY_CHANNEL_CLOSED, closed_type_short, IA,
     "channel_closed.notification_type", false},
    {"channel_closed registration 3", PANP_BODY_CHANNEL_CLOSED, closed_reg_short, IA,
     "channel_closed.registration", false},
    {"send no type", PANP_BODY_SEND, send_type0, IA, "send.notification_type", false},
    {"send payload 63489", PANP_BODY_SEND, send_payload_big, IA, "send.payload", false},
    {"reply type 17", PANP_BODY_REPLY, reply_type17, IA, "reply.notification_type", false},
    {"reply_delivery channel 0", PANP_BODY_REPLY_DELIVERY, delivery_channel0, IA,
     "reply_delivery.channel_id", false},
    {"reply_delivery sequence 0", PANP_BODY_REPLY_DELIVERY, delivery_seq0, IA,
     "reply_delivery.sequence", false},
    {"reply_delivery no type", PANP_BODY_REPLY_DELIVERY, delivery_type0, IA,
     "reply_delivery.notification_type", false},
    {"reply_delivery responder > U+10FFFF", PANP_BODY_REPLY_DELIVERY, delivery_responder, IA,
     "reply_delivery.responder", false},
    {"sent sequence 0", PANP_BODY_SENT, sent_seq0, IA, "sent.sequence", false},
    {"channel_opened 0", PANP_BODY_CHANNEL_OPENED, opened0, IA, "channel_opened.channel_id", false},
    {"channel_close_result 0", PANP_BODY_CHANNEL_CLOSE_RESULT, outcome0, IA,
     "channel_close_result.outcome", true},
    {"error code 0", PANP_BODY_ERROR, error_code0, IA, "error.code", true},
    {"error message 513", PANP_BODY_ERROR, error_msg513, IA, "error.message", false},
    {"error field 129", PANP_BODY_ERROR, error_field129, IA, "error.field", false},
    {"goodbye message 513", PANP_BODY_GOODBYE, goodbye_msg513, IA, "goodbye.message", false},
    {"goodbye reason -5", PANP_BODY_GOODBYE, goodbye_neg, IA, "goodbye.reason", false},
    {"no body", PANP_BODY_PING, no_body, PANP_ERR_PROTOCOL_VIOLATION, "frame.body", false},
};

/* Not field rules: the broker decides, with its state (SPEC 10.2: an id of
 * 0 is CHANNEL_NOT_OPENED; 14.1: NOTIFICATION_RELEASE is TYPE_MISMATCH).
 * Every receiver accepts them, and so does the encoder. */
static const struct {
    rule r;
    panp_error_code emit_code;
} BROKER_RULES[] = {
    {{"send channel 0", PANP_BODY_SEND, send_channel0, 0, "", false}, 0},
    {{"reply conversation 0", PANP_BODY_REPLY, reply_conv0, 0, "", false}, 0},
    {{"close_channel channel 0", PANP_BODY_CLOSE_CHANNEL, close_id0, 0, "", false}, 0},
    {{"close_channel conversation 0", PANP_BODY_CLOSE_CHANNEL, close_conv0, 0, "", false}, 0},
    {{"send RELEASE", PANP_BODY_SEND, send_release, 0, "send.notification_type", false}, 0},
    {{"close_channel reason RELEASE", PANP_BODY_CLOSE_CHANNEL, close_reason_release, 0,
      "close_channel.reason.notification_type", false},
     0},
};

/* Unknown values of enums only a client receives: strict for
 * PANP_PEER_ANY, accepted by a client, and encodable (a proxy re-encodes
 * what a newer broker sent). */
static const rule LENIENT[] = {
    {"ok info 1", PANP_BODY_OK, ok_info1, IA, "ok.info", true},
};

static void test_samples_valid(void **state)
{
    (void)state;
    size_t nk;
    const panp_body_kind *kinds = tu_all_kinds(&nk);
    for (size_t k = 0; k < nk; k++) {
        panp_frame f;
        panp_status st;
        tu_sample(kinds[k], &f);
        if (panp_validate(&f, PANP_PEER_ANY, 65536, &st))
            fail_msg("sample %s: %s", panp_body_name(kinds[k]), st.message);
    }
}

static size_t cross_checked;

/* Views no bytes can express (NULL data, counts beyond their arrays,
 * kinds outside the enums): the writer would read out of bounds. */
static bool representable(const rule *r)
{
    static const mutator view_only[] = {
        hello_null_data, welcome_65_printers, welcome_printers_null, reg_bad_kind,
        reg_null_printer, reglist_33, reglist_null, close_bad_side, no_body,
    };
    for (size_t i = 0; i < sizeof view_only / sizeof view_only[0]; i++)
        if (r->mutate == view_only[i])
            return false;
    return true;
}

/* encode_want: what panp_encode() must say (it checks frames a client
 * receives with a client's leniency). */
static void check_rule(const rule *r, panp_peer peer, panp_error_code want,
                       panp_error_code encode_want)
{
    panp_frame f;
    panp_status st;
    memset(long_bytes, 'b', sizeof long_bytes);
    tu_sample(r->kind, &f);
    r->mutate(&f);
    panp_error_code rc = panp_validate(&f, peer, 0, &st);
    if (rc != want || (want && strcmp(st.field, r->field) != 0))
        fail_msg("%s: validate gave %s \"%s\" (%s), want %s \"%s\"", r->name,
                 panp_error_code_name(rc), st.field, st.message, panp_error_code_name(want),
                 r->field);
    if (want && strncmp(st.message, r->field, strlen(r->field)) != 0)
        fail_msg("%s: message \"%s\" does not start with the field", r->name, st.message);
    /* The wire scanner applies the same rules to the bytes of this view:
     * panp_decode() must give the same code and field. */
    size_t size = representable(r) ? view_size(&f) : 0;
    uint8_t *bytes = malloc(size + 1);
    panp_status est;
    if (size && pbc_encode(&f, bytes, size, &est) == PANP_ERR_UNSPECIFIED) {
        cross_checked++;
        for (int b = 0; b < 2; b++) {
            panp_decode_opts o = {tu_backends[b], peer, 0};
            panp_frame *d = NULL;
            panp_status dst;
            panp_error_code drc = panp_decode(&o, bytes, size, &d, &dst);
            panp_frame_free(d);
            if (drc != want || (want && strcmp(dst.field, r->field) != 0))
                fail_msg("%s: %s decode of its bytes gave %s \"%s\" (%s), validate %s \"%s\"",
                         r->name, tu_backend_name(tu_backends[b]), panp_error_code_name(drc),
                         dst.field, dst.message, panp_error_code_name(want), r->field);
        }
    }
    free(bytes);
    if (peer != PANP_PEER_ANY)
        return;
    for (int b = 0; b < 2; b++) {
        uint8_t out[256];
        size_t n;
        rc = panp_encode(tu_backends[b], &f, out, sizeof out, &n, &st);
        if (rc != encode_want || (encode_want && strcmp(st.field, r->field) != 0))
            fail_msg("%s: %s encode gave %s \"%s\", want %s", r->name,
                     tu_backend_name(tu_backends[b]), panp_error_code_name(rc), st.field,
                     panp_error_code_name(encode_want));
    }
}

static void test_rules(void **state)
{
    (void)state;
    cross_checked = 0;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++)
        check_rule(&RULES[i], PANP_PEER_ANY, RULES[i].code, RULES[i].code);
    print_message("%zu validator rules, %zu of them also as bytes through both decoders\n",
                  sizeof RULES / sizeof RULES[0], cross_checked);
    assert_true(cross_checked >= 75);
}

static void test_broker_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BROKER_RULES / sizeof BROKER_RULES[0]; i++) {
        const rule *r = &BROKER_RULES[i].r;
        check_rule(r, PANP_PEER_ANY, 0, BROKER_RULES[i].emit_code);
        check_rule(r, PANP_PEER_BROKER, 0, BROKER_RULES[i].emit_code);
    }
}

static void test_client_leniency(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof LENIENT / sizeof LENIENT[0]; i++) {
        check_rule(&LENIENT[i], PANP_PEER_ANY, LENIENT[i].code, PANP_ERR_UNSPECIFIED);
        check_rule(&LENIENT[i], PANP_PEER_CLIENT, PANP_ERR_UNSPECIFIED, PANP_ERR_UNSPECIFIED);
    }
}

/* Every rule also holds for the role that receives the body, except what
 * a client accepts; the encoder stays strict about 0 in required enums. */
static void test_rules_per_role(void **state)
{
    (void)state;
    size_t lenient = 0;
    for (size_t i = 0; i < sizeof RULES / sizeof RULES[0]; i++) {
        const rule *r = &RULES[i];
        if (r->kind == PANP_BODY_PING)
            continue;
        panp_frame f;
        panp_status st;
        tu_sample(r->kind, &f);
        panp_peer peer = panp_validate(&f, PANP_PEER_BROKER, 0, &st) ? PANP_PEER_CLIENT
                                                                    : PANP_PEER_BROKER;
        if (r->kind == PANP_BODY_GOODBYE) {
            /* a broker takes any Goodbye (SPEC 7.5); a client checks it */
            check_rule(r, PANP_PEER_BROKER, PANP_ERR_UNSPECIFIED, r->code);
            peer = PANP_PEER_CLIENT;
        }
        bool ok = peer == PANP_PEER_CLIENT && r->client_ok;
        lenient += ok;
        check_rule(r, peer, ok ? PANP_ERR_UNSPECIFIED : r->code, r->code);
    }
    assert_int_equal(lenient, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_valid),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_client_leniency),
        cmocka_unit_test(test_broker_rules),
        cmocka_unit_test(test_rules_per_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
