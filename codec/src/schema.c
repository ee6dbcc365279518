/* schema.c - the panp.v1 message table (see schema.h).
 *
 * Written by hand from proto/panp/v1/panp.proto and the limits in
 * docs/design-brief.md; test_schema cross-checks it against the
 * descriptors protoc-c generated, so a schema change that is not mirrored
 * here fails the tests.
 */
#include "schema.h"

/* Limits (bytes) from the design brief, "Field size limits". */
enum {
    L_SOFTWARE = 64,
    L_NAME = 255, /* user, printer, server_name, job_owner, responder */
    L_SESSION = 64,
    L_TOKEN = 512,
    L_STATE = PANP_CLIENT_STATE_MAX,
    L_PAYLOAD = 63488, /* 62 KiB: no nanopb struct may reach 64 KiB */
    L_ERR_MESSAGE = 512,
    L_ERR_FIELD = 128,
    L_GOODBYE = 512
};

#define SCALAR(nm, k) {.name = (nm), .kind = (k)}
#define ENUM(nm, hi) {.name = (nm), .kind = SK_ENUM, .max = (hi)}
#define LEN(nm, k, mx) {.name = (nm), .kind = (k), .max = (mx)}
#define MSG(nm, m) {.name = (nm), .kind = SK_MSG, .sub = &(m)}
#define ONEOF_MSG(nm, m) {.name = (nm), .kind = SK_MSG, .flags = SF_ONEOF, .sub = &(m)}
#define GAP {.name = NULL, .kind = SK_NONE}
/* The same, for fields whose default value (0, empty, absent) breaks a rule. */
#define REQ_SCALAR(nm, k) {.name = (nm), .kind = (k), .flags = SF_REQUIRED}
#define REQ_ENUM(nm, hi) {.name = (nm), .kind = SK_ENUM, .flags = SF_REQUIRED, .max = (hi)}
#define REQ_LEN(nm, k, mx) {.name = (nm), .kind = (k), .flags = SF_REQUIRED, .max = (mx)}
#define REQ_MSG(nm, m) {.name = (nm), .kind = SK_MSG, .flags = SF_REQUIRED, .sub = &(m)}
#define DEFINE_RULED_MSG(var, nm, rl, ...)                                        \
    static const schema_field var##_fields[] = {GAP, __VA_ARGS__};              \
    static const schema_msg var = {                                              \
        .name = (nm),                                                            \
        .max_number = sizeof var##_fields / sizeof var##_fields[0] - 1,          \
        .rules = (rl),                                                           \
        .fields = var##_fields};                                                 \
    _Static_assert(sizeof var##_fields / sizeof var##_fields[0] - 1 <= SCHEMA_MAX_FIELDS, \
                   nm " has too many fields")
#define DEFINE_MSG(var, nm, ...) DEFINE_RULED_MSG(var, nm, SR_NONE, __VA_ARGS__)

DEFINE_MSG(m_server_target, "server");
DEFINE_RULED_MSG(m_target, "target", SR_TARGET,
           ONEOF_MSG("server", m_server_target),
           {.name = "printer", .kind = SK_STRING, .flags = SF_ONEOF, .max = L_NAME});
DEFINE_MSG(m_notification, "reason",
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           LEN("payload", SK_BYTES, L_PAYLOAD));
DEFINE_RULED_MSG(m_hello, "hello", SR_HELLO,
           SCALAR("min_version", SK_U32),
           SCALAR("max_version", SK_U32),
           LEN("software", SK_STRING, L_SOFTWARE),
           REQ_ENUM("auth", PANP_AUTH_TOKEN),
           LEN("token", SK_BYTES, L_TOKEN),
           LEN("session_label", SK_STRING, L_SESSION),
           SCALAR("max_frame_size", SK_U32));
DEFINE_RULED_MSG(m_limits, "limits", SR_LIMITS,
           SCALAR("max_frame_size", SK_U32),
           SCALAR("max_registrations", SK_U32),
           SCALAR("max_channels", SK_U32),
           SCALAR("keepalive_interval_ms", SK_U32),
           SCALAR("keepalive_timeout_ms", SK_U32),
           SCALAR("max_lease_seconds", SK_U32),
           SCALAR("max_outbound_bytes", SK_U32));
DEFINE_MSG(m_identity, "identity",
           LEN("user", SK_STRING, L_NAME),
           SCALAR("server_admin", SK_BOOL),
           {.name = "admin_printers", .kind = SK_STRING, .flags = SF_REPEATED, .max_count = 64,
            .max = L_NAME},
           SCALAR("may_open_channels", SK_BOOL),
           SCALAR("trusted", SK_BOOL),
           SCALAR("admin_printers_truncated", SK_BOOL));
DEFINE_RULED_MSG(m_welcome, "welcome", SR_WELCOME,
           SCALAR("version", SK_U32),
           LEN("software", SK_STRING, L_SOFTWARE),
           LEN("server_name", SK_STRING, L_NAME),
           MSG("limits", m_limits),
           MSG("identity", m_identity));
DEFINE_RULED_MSG(m_register, "register", SR_CLIENT_TYPE,
           REQ_MSG("target", m_target),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           REQ_ENUM("user_filter", PANP_USER_FILTER_ALL_USERS),
           REQ_ENUM("style", PANP_STYLE_UNIDIRECTIONAL),
           SCALAR("lease_seconds", SK_U32),
           LEN("client_state", SK_BYTES, L_STATE));
DEFINE_MSG(m_registered, "registered",
           REQ_LEN("handle", SK_HANDLE, PANP_HANDLE_MAX_LEN),
           SCALAR("lease_seconds", SK_U32));
DEFINE_MSG(m_renew, "renew",
           REQ_LEN("handle", SK_HANDLE, PANP_HANDLE_MAX_LEN),
           SCALAR("lease_seconds", SK_U32));
DEFINE_MSG(m_renewed, "renewed", SCALAR("lease_seconds", SK_U32));
DEFINE_MSG(m_unregister, "unregister", REQ_LEN("handle", SK_HANDLE, PANP_HANDLE_MAX_LEN));
DEFINE_MSG(m_list_registrations, "list_registrations",
           MSG("target", m_target),
           SCALAR("offset", SK_U32));
DEFINE_MSG(m_registration_info, "registrations",
           LEN("handle", SK_HANDLE, PANP_HANDLE_MAX_LEN),
           LEN("user", SK_STRING, L_NAME),
           MSG("target", m_target),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           REQ_ENUM("user_filter", PANP_USER_FILTER_ALL_USERS),
           REQ_ENUM("style", PANP_STYLE_UNIDIRECTIONAL),
           SCALAR("lease_remaining_seconds", SK_U32));
DEFINE_MSG(m_registration_list, "registration_list",
           {.name = "registrations", .kind = SK_MSG, .flags = SF_REPEATED, .max_count = 32,
            .sub = &m_registration_info},
           SCALAR("total", SK_U32));
DEFINE_MSG(m_registration_ended, "registration_ended",
           REQ_LEN("handle", SK_HANDLE, PANP_HANDLE_MAX_LEN),
           REQ_ENUM("reason", PANP_REG_END_TARGET_REMOVED));
DEFINE_MSG(m_sender_info, "sender",
           LEN("user", SK_STRING, L_NAME),
           SCALAR("job_id", SK_U32),
           LEN("job_owner", SK_STRING, L_NAME));
DEFINE_RULED_MSG(m_notify, "notify", SR_NOTIFY,
           REQ_LEN("registration", SK_HANDLE, PANP_HANDLE_MAX_LEN),
           SCALAR("conversation_id", SK_U64),
           LEN("client_state", SK_BYTES, L_STATE),
           REQ_SCALAR("channel_id", SK_U64),
           REQ_SCALAR("sequence", SK_U64),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           REQ_ENUM("style", PANP_STYLE_UNIDIRECTIONAL),
           MSG("sender", m_sender_info),
           MSG("target", m_target),
           LEN("payload", SK_BYTES, L_PAYLOAD));
/* Send and Reply: the ids are looked up by the broker (SPEC 10.2: 0 is
 * CHANNEL_NOT_OPENED), the type compared with the channel's (14.1:
 * NOTIFICATION_RELEASE is TYPE_MISMATCH); neither is a field rule. */
DEFINE_MSG(m_reply, "reply",
           SCALAR("conversation_id", SK_U64),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           LEN("payload", SK_BYTES, L_PAYLOAD));
DEFINE_MSG(m_reply_delivery, "reply_delivery",
           REQ_SCALAR("channel_id", SK_U64),
           REQ_SCALAR("sequence", SK_U64),
           LEN("responder", SK_STRING, L_NAME),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           LEN("payload", SK_BYTES, L_PAYLOAD));
DEFINE_MSG(m_job_context, "on_behalf_of",
           SCALAR("job_id", SK_U32),
           REQ_LEN("job_owner", SK_STRING, L_NAME),
           LEN("session_label", SK_STRING, L_SESSION));
DEFINE_RULED_MSG(m_open_channel, "open_channel", SR_CLIENT_TYPE,
           REQ_MSG("target", m_target),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           REQ_ENUM("user_filter", PANP_USER_FILTER_ALL_USERS),
           REQ_ENUM("style", PANP_STYLE_UNIDIRECTIONAL),
           MSG("on_behalf_of", m_job_context));
DEFINE_MSG(m_channel_opened, "channel_opened", REQ_SCALAR("channel_id", SK_U64));
DEFINE_MSG(m_send, "send",
           SCALAR("channel_id", SK_U64),
           REQ_LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           LEN("payload", SK_BYTES, L_PAYLOAD));
DEFINE_MSG(m_sent, "sent",
           REQ_SCALAR("sequence", SK_U64),
           SCALAR("recipients", SK_U32));
DEFINE_RULED_MSG(m_close_channel, "close_channel", SR_CLOSE_CHANNEL,
           {.name = "channel_id", .kind = SK_U64, .flags = SF_ONEOF},
           {.name = "conversation_id", .kind = SK_U64, .flags = SF_ONEOF},
           MSG("reason", m_notification));
DEFINE_MSG(m_channel_close_result, "channel_close_result",
           REQ_ENUM("outcome", PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER));
DEFINE_RULED_MSG(m_channel_closed, "channel_closed", SR_CHANNEL_CLOSED,
           SCALAR("channel_id", SK_U64),
           SCALAR("conversation_id", SK_U64),
           LEN("registration", SK_HANDLE, PANP_HANDLE_MAX_LEN),
           REQ_ENUM("reason", PANP_CLOSE_REASON_UNREGISTERED),
           LEN("notification_type", SK_UUID, PANP_UUID_LEN),
           LEN("payload", SK_BYTES, L_PAYLOAD));
DEFINE_MSG(m_ok, "ok", ENUM("info", PANP_OK_INFO_NONE));
DEFINE_MSG(m_error, "error",
           REQ_ENUM("code", PANP_ERR_INTERNAL),
           LEN("message", SK_STRING, L_ERR_MESSAGE),
           LEN("field", SK_STRING, L_ERR_FIELD),
           SCALAR("fatal", SK_BOOL));
DEFINE_MSG(m_ping, "ping");
DEFINE_MSG(m_pong, "pong");
DEFINE_RULED_MSG(m_goodbye, "goodbye", SR_GOODBYE,
           ENUM("reason", PANP_GOODBYE_SLOW_CONSUMER),
           LEN("message", SK_STRING, L_GOODBYE));

/* Path names follow the Frame field names, except register_listener,
 * which the SPEC writes "register" in field paths. */
static const schema_field frame_fields[] = {GAP,
           SCALAR("request_id", SK_U64),
           ONEOF_MSG("notify", m_notify),
           ONEOF_MSG("send", m_send),
           ONEOF_MSG("sent", m_sent),
           ONEOF_MSG("reply", m_reply),
           ONEOF_MSG("reply_delivery", m_reply_delivery),
           ONEOF_MSG("channel_closed", m_channel_closed),
           ONEOF_MSG("ping", m_ping),
           ONEOF_MSG("pong", m_pong),
           ONEOF_MSG("error", m_error),
           ONEOF_MSG("ok", m_ok),
           GAP, GAP, GAP, GAP,
           ONEOF_MSG("hello", m_hello),
           ONEOF_MSG("welcome", m_welcome),
           ONEOF_MSG("register", m_register),
           ONEOF_MSG("registered", m_registered),
           ONEOF_MSG("renew", m_renew),
           ONEOF_MSG("renewed", m_renewed),
           ONEOF_MSG("unregister", m_unregister),
           ONEOF_MSG("list_registrations", m_list_registrations),
           ONEOF_MSG("registration_list", m_registration_list),
           ONEOF_MSG("open_channel", m_open_channel),
           ONEOF_MSG("channel_opened", m_channel_opened),
           ONEOF_MSG("close_channel", m_close_channel),
           ONEOF_MSG("channel_close_result", m_channel_close_result),
           ONEOF_MSG("registration_ended", m_registration_ended),
           ONEOF_MSG("goodbye", m_goodbye)};

const schema_msg schema_frame = {.name = "frame", .max_number = 30, .fields = frame_fields};

_Static_assert(sizeof frame_fields / sizeof frame_fields[0] == 31,
               "Frame fields are numbered 1..30");

const schema_msg *schema_body(panp_body_kind kind)
{
    const schema_field *f = schema_lookup(&schema_frame, (uint64_t)kind);
    return (f && f->kind == SK_MSG) ? f->sub : NULL;
}

const char *schema_body_path(panp_body_kind kind)
{
    const schema_field *f = schema_lookup(&schema_frame, (uint64_t)kind);
    return (f && f->kind == SK_MSG) ? f->name : "frame";
}

unsigned schema_body_dir(panp_body_kind kind)
{
    switch (kind) {
    case PANP_BODY_SEND:
    case PANP_BODY_REPLY:
    case PANP_BODY_PING:
    case PANP_BODY_HELLO:
    case PANP_BODY_REGISTER:
    case PANP_BODY_RENEW:
    case PANP_BODY_UNREGISTER:
    case PANP_BODY_LIST_REGISTRATIONS:
    case PANP_BODY_OPEN_CHANNEL:
    case PANP_BODY_CLOSE_CHANNEL:
        return SD_TO_BROKER;
    case PANP_BODY_NOTIFY:
    case PANP_BODY_SENT:
    case PANP_BODY_REPLY_DELIVERY:
    case PANP_BODY_CHANNEL_CLOSED:
    case PANP_BODY_PONG:
    case PANP_BODY_ERROR:
    case PANP_BODY_OK:
    case PANP_BODY_WELCOME:
    case PANP_BODY_REGISTERED:
    case PANP_BODY_RENEWED:
    case PANP_BODY_REGISTRATION_LIST:
    case PANP_BODY_CHANNEL_OPENED:
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
    case PANP_BODY_REGISTRATION_ENDED:
        return SD_TO_CLIENT;
    case PANP_BODY_GOODBYE:
        return SD_TO_BROKER | SD_TO_CLIENT;
    case PANP_BODY_NONE:
        break;
    }
    return 0;
}

bool schema_body_ok_for(panp_body_kind kind, panp_peer peer)
{
    unsigned dir = schema_body_dir(kind);
    switch (peer) {
    case PANP_PEER_BROKER:
        return (dir & SD_TO_BROKER) != 0;
    case PANP_PEER_CLIENT:
        return (dir & SD_TO_CLIENT) != 0;
    case PANP_PEER_ANY:
        return dir != 0;
    }
    return false;
}
