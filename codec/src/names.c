/* names.c - names of enum values for logs and tools, and the well-known
 * notification type UUIDs (SPEC.md, "Well-known types").
 *
 * Names are the proto identifiers without their enum prefix
 * (ERROR_CODE_PROTOCOL_VIOLATION -> "PROTOCOL_VIOLATION"), bodies their
 * Frame field names, so logs, index.json and Error.field agree.
 */
#include "panp/codec.h"

/* ba9a5027-a70e-4ae7-9b7d-eb3e06ad4157 */
const uint8_t PANP_TYPE_NOTIFICATION_RELEASE[PANP_UUID_LEN] = {
    0xba, 0x9a, 0x50, 0x27, 0xa7, 0x0e, 0x4a, 0xe7,
    0x9b, 0x7d, 0xeb, 0x3e, 0x06, 0xad, 0x41, 0x57};
/* f6853f92-eb31-4e23-b6e7-fd69056153f0 */
const uint8_t PANP_TYPE_ASYNC_UI[PANP_UUID_LEN] = {
    0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
    0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0};
/* 2abad223-b994-4aca-82fc-4571b1b585ac */
const uint8_t PANP_TYPE_PRINTER_CONFIGURATION[PANP_UUID_LEN] = {
    0x2a, 0xba, 0xd2, 0x23, 0xb9, 0x94, 0x4a, 0xca,
    0x82, 0xfc, 0x45, 0x71, 0xb1, 0xb5, 0x85, 0xac};
/* 25df3b0e-74a9-47f5-80ce-79b4b1eb5c58 */
const uint8_t PANP_TYPE_PORT_MONITOR_CHANNEL[PANP_UUID_LEN] = {
    0x25, 0xdf, 0x3b, 0x0e, 0x74, 0xa9, 0x47, 0xf5,
    0x80, 0xce, 0x79, 0xb4, 0xb1, 0xeb, 0x5c, 0x58};

static const char *pick(const char *const *names, size_t count, unsigned v)
{
    return (v < count && names[v]) ? names[v] : "?";
}

#define PICK(table, v) pick((table), sizeof(table) / sizeof((table)[0]), (unsigned)(v))

const char *panp_body_name(panp_body_kind kind)
{
    static const char *const names[] = {
        [PANP_BODY_NONE] = "none",
        [PANP_BODY_NOTIFY] = "notify",
        [PANP_BODY_SEND] = "send",
        [PANP_BODY_SENT] = "sent",
        [PANP_BODY_REPLY] = "reply",
        [PANP_BODY_REPLY_DELIVERY] = "reply_delivery",
        [PANP_BODY_CHANNEL_CLOSED] = "channel_closed",
        [PANP_BODY_PING] = "ping",
        [PANP_BODY_PONG] = "pong",
        [PANP_BODY_ERROR] = "error",
        [PANP_BODY_OK] = "ok",
        [PANP_BODY_HELLO] = "hello",
        [PANP_BODY_WELCOME] = "welcome",
        [PANP_BODY_REGISTER] = "register_listener",
        [PANP_BODY_REGISTERED] = "registered",
        [PANP_BODY_RENEW] = "renew",
        [PANP_BODY_RENEWED] = "renewed",
        [PANP_BODY_UNREGISTER] = "unregister",
        [PANP_BODY_LIST_REGISTRATIONS] = "list_registrations",
        [PANP_BODY_REGISTRATION_LIST] = "registration_list",
        [PANP_BODY_OPEN_CHANNEL] = "open_channel",
        [PANP_BODY_CHANNEL_OPENED] = "channel_opened",
        [PANP_BODY_CLOSE_CHANNEL] = "close_channel",
        [PANP_BODY_CHANNEL_CLOSE_RESULT] = "channel_close_result",
        [PANP_BODY_REGISTRATION_ENDED] = "registration_ended",
        [PANP_BODY_GOODBYE] = "goodbye",
    };
    return PICK(names, kind);
}

const char *panp_error_code_name(panp_error_code code)
{
    static const char *const names[] = {
        "UNSPECIFIED",         "INVALID_ARGUMENT",       "UNAUTHENTICATED",
        "ACCESS_DENIED",       "NOT_FOUND",              "CHANNEL_NOT_OPENED",
        "CHANNEL_ALREADY_CLOSED", "TYPE_MISMATCH",       "RESOURCE_EXHAUSTED",
        "FRAME_TOO_LARGE",     "UNSUPPORTED_VERSION",    "PROTOCOL_VIOLATION",
        "ALREADY_REGISTERED",  "AWAITING_REPLY",         "NO_PENDING_QUESTION",
        "SHUTTING_DOWN",       "INTERNAL",
    };
    if ((unsigned)code >= PANP_ERR_LOCAL_BASE)
        return "LOCAL"; /* a library's own code: it names it (libpanp: panp_strerror) */
    return PICK(names, code);
}

const char *panp_close_reason_name(panp_close_reason reason)
{
    static const char *const names[] = {
        "UNSPECIFIED",   "CLOSED_BY_SENDER", "CLOSED_BY_LISTENER",
        "ANSWERED_BY_ANOTHER", "PEER_GONE",  "LEASE_EXPIRED",
        "SLOW_CONSUMER", "SERVER_SHUTDOWN",  "UNREGISTERED",
    };
    return PICK(names, reason);
}
