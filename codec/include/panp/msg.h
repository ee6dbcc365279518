/* panp/msg.h - the panp.v1 messages as plain C views, independent of any
 * protobuf runtime.
 *
 * Every component (codec backends, broker, client, conformance suite) speaks
 * in these structs, so swapping protobuf-c for nanopb changes nothing above
 * the codec.  A view does not own what it points at:
 *   - after panp_decode(), strings and bytes point into memory owned by the
 *     decoded panp_frame and die with panp_frame_free();
 *   - before panp_encode(), they point wherever the caller likes.
 * Strings are NUL-terminated UTF-8 and never NULL after a decode (absent ==
 * ""); when encoding, NULL is treated as "".  The field names and numbers
 * mirror proto/panp/v1/panp.proto; read that file for the meaning of each.
 */
#ifndef PANP_MSG_H
#define PANP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PANP_UUID_LEN 16
#define PANP_HANDLE_MIN_LEN 16
#define PANP_HANDLE_MAX_LEN 32
#define PANP_CLIENT_STATE_MAX 128
#define PANP_PAYLOAD_MAX 63488 /* 62 KiB: see proto/panp/v1/panp.options */
#define PANP_DEFAULT_MAX_FRAME 65536u
#define PANP_MIN_MAX_FRAME 4096u
#define PANP_PROTOCOL_VERSION 1u

/* The connection preface each side sends before its first frame. */
#define PANP_PREFACE "\x89PANP\r\n\x1a"
#define PANP_PREFACE_LEN 8

typedef struct panp_bytes {
    const uint8_t *data;
    size_t len;
} panp_bytes;

/* Enums carry the wire numbers of panp.proto. */
typedef enum {
    PANP_USER_FILTER_UNSPECIFIED = 0,
    PANP_USER_FILTER_PER_USER = 1,
    PANP_USER_FILTER_ALL_USERS = 2
} panp_user_filter;

typedef enum {
    PANP_STYLE_UNSPECIFIED = 0,
    PANP_STYLE_BIDIRECTIONAL = 1,
    PANP_STYLE_UNIDIRECTIONAL = 2
} panp_style;

typedef enum {
    PANP_AUTH_UNSPECIFIED = 0,
    PANP_AUTH_EXTERNAL = 1,
    PANP_AUTH_TOKEN = 2
} panp_auth;

typedef enum {
    PANP_REG_END_UNSPECIFIED = 0,
    PANP_REG_END_LEASE_EXPIRED = 1,
    PANP_REG_END_TARGET_REMOVED = 2
} panp_reg_end_reason;
/* Reasons from here on are a library's own, never on the wire (libpanp: the
 * connection was lost, ...).  A macro, not an enumerator, so that switches
 * over the wire's values stay complete. */
#define PANP_REG_END_LOCAL_BASE 1000

typedef enum {
    PANP_CLOSE_OUTCOME_UNSPECIFIED = 0,
    PANP_CLOSE_OUTCOME_CLOSED = 1,
    PANP_CLOSE_OUTCOME_WITHDRAWN = 2,
    PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER = 3
} panp_close_outcome;

typedef enum {
    PANP_CLOSE_REASON_UNSPECIFIED = 0,
    PANP_CLOSE_REASON_CLOSED_BY_SENDER = 1,
    PANP_CLOSE_REASON_CLOSED_BY_LISTENER = 2,
    PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER = 3,
    PANP_CLOSE_REASON_PEER_GONE = 4,
    PANP_CLOSE_REASON_LEASE_EXPIRED = 5,
    PANP_CLOSE_REASON_SLOW_CONSUMER = 6,
    PANP_CLOSE_REASON_SERVER_SHUTDOWN = 7,
    PANP_CLOSE_REASON_UNREGISTERED = 8
} panp_close_reason;

typedef enum {
    PANP_OK_INFO_NONE = 0
} panp_ok_info;

/* Error codes are shared by the wire (Error.code) and by every library
 * function that returns a panp_status (see panp/codec.h). */
typedef enum {
    PANP_ERR_UNSPECIFIED = 0,
    PANP_ERR_INVALID_ARGUMENT = 1,
    PANP_ERR_UNAUTHENTICATED = 2,
    PANP_ERR_ACCESS_DENIED = 3,
    PANP_ERR_NOT_FOUND = 4,
    PANP_ERR_CHANNEL_NOT_OPENED = 5,
    PANP_ERR_CHANNEL_ALREADY_CLOSED = 6,
    PANP_ERR_TYPE_MISMATCH = 7,
    PANP_ERR_RESOURCE_EXHAUSTED = 8,
    PANP_ERR_FRAME_TOO_LARGE = 9,
    PANP_ERR_UNSUPPORTED_VERSION = 10,
    PANP_ERR_PROTOCOL_VIOLATION = 11,
    PANP_ERR_ALREADY_REGISTERED = 12,
    PANP_ERR_AWAITING_REPLY = 13,
    PANP_ERR_NO_PENDING_QUESTION = 14,
    PANP_ERR_SHUTTING_DOWN = 15,
    PANP_ERR_INTERNAL = 16,
    /* Codes from here on are a library's own (libpanp's PANP_ERR_IO is
     * PANP_ERR_LOCAL_BASE + 1, ...): they never appear on the wire, where
     * a broker sends only the values above.  panp_error_code_name() calls
     * every one of them "LOCAL"; the library that defines them names them
     * (libpanp: panp_strerror()). */
    PANP_ERR_LOCAL_BASE = 1000
} panp_error_code;

typedef enum {
    PANP_GOODBYE_UNSPECIFIED = 0,
    PANP_GOODBYE_CLIENT_DONE = 1,
    PANP_GOODBYE_SERVER_SHUTDOWN = 2,
    PANP_GOODBYE_PROTOCOL_ERROR = 3,
    PANP_GOODBYE_KEEPALIVE_TIMEOUT = 4,
    PANP_GOODBYE_SLOW_CONSUMER = 5
} panp_goodbye_reason;

/* Target: exactly one of server / printer.  kind == PANP_TARGET_NONE means
 * the Target submessage itself is absent (where that is allowed). */
typedef enum {
    PANP_TARGET_NONE = 0,
    PANP_TARGET_SERVER = 1,
    PANP_TARGET_PRINTER = 2,
    /* Target present but with no member set: only a decoder produces this,
     * and the validator rejects it. */
    PANP_TARGET_EMPTY = 3
} panp_target_kind;

typedef struct panp_target {
    panp_target_kind kind;
    const char *printer; /* PANP_TARGET_PRINTER only */
} panp_target;

typedef struct panp_notification {
    panp_bytes notification_type;
    panp_bytes payload;
} panp_notification;

typedef struct panp_hello {
    uint32_t min_version;
    uint32_t max_version;
    const char *software;
    panp_auth auth;
    panp_bytes token;
    const char *session_label;
    uint32_t max_frame_size;
} panp_hello;

typedef struct panp_limits {
    uint32_t max_frame_size;
    uint32_t max_registrations;
    uint32_t max_channels;
    uint32_t keepalive_interval_ms;
    uint32_t keepalive_timeout_ms;
    uint32_t max_lease_seconds;
    uint32_t max_outbound_bytes;
} panp_limits;

typedef struct panp_identity {
    const char *user;
    bool server_admin;
    const char *const *admin_printers;
    size_t admin_printers_count;
    bool may_open_channels;
    bool trusted;
    bool admin_printers_truncated;
} panp_identity;

typedef struct panp_welcome {
    uint32_t version;
    const char *software;
    const char *server_name;
    bool has_limits;
    panp_limits limits;
    bool has_identity;
    panp_identity identity;
} panp_welcome;

typedef struct panp_register {
    panp_target target;
    panp_bytes notification_type;
    panp_user_filter user_filter;
    panp_style style;
    uint32_t lease_seconds;
    panp_bytes client_state;
} panp_register;

typedef struct panp_registered {
    panp_bytes handle;
    uint32_t lease_seconds;
} panp_registered;

typedef struct panp_renew {
    panp_bytes handle;
    uint32_t lease_seconds;
} panp_renew;

typedef struct panp_renewed {
    uint32_t lease_seconds;
} panp_renewed;

typedef struct panp_unregister {
    panp_bytes handle;
} panp_unregister;

typedef struct panp_list_registrations {
    panp_target target; /* kind NONE: the caller's own, every target */
    uint32_t offset;
} panp_list_registrations;

typedef struct panp_registration_info {
    panp_bytes handle;
    const char *user;
    panp_target target;
    panp_bytes notification_type;
    panp_user_filter user_filter;
    panp_style style;
    uint32_t lease_remaining_seconds;
} panp_registration_info;

typedef struct panp_registration_list {
    const panp_registration_info *registrations;
    size_t registrations_count;
    uint32_t total;
} panp_registration_list;

typedef struct panp_registration_ended {
    panp_bytes handle;
    panp_reg_end_reason reason;
} panp_registration_ended;

typedef struct panp_sender_info {
    const char *user;
    uint32_t job_id;
    const char *job_owner;
} panp_sender_info;

typedef struct panp_notify {
    panp_bytes registration;
    uint64_t conversation_id;
    panp_bytes client_state;
    uint64_t channel_id;
    uint64_t sequence;
    panp_bytes notification_type;
    panp_style style;
    bool has_sender;
    panp_sender_info sender;
    panp_target target;
    panp_bytes payload;
} panp_notify;

typedef struct panp_reply {
    uint64_t conversation_id;
    panp_bytes notification_type;
    panp_bytes payload;
} panp_reply;

typedef struct panp_reply_delivery {
    uint64_t channel_id;
    uint64_t sequence;
    const char *responder;
    panp_bytes notification_type;
    panp_bytes payload;
} panp_reply_delivery;

typedef struct panp_job_context {
    uint32_t job_id;
    const char *job_owner;
    const char *session_label;
} panp_job_context;

typedef struct panp_open_channel {
    panp_target target;
    panp_bytes notification_type;
    panp_user_filter user_filter;
    panp_style style;
    bool has_on_behalf_of;
    panp_job_context on_behalf_of;
} panp_open_channel;

typedef struct panp_channel_opened {
    uint64_t channel_id;
} panp_channel_opened;

typedef struct panp_send {
    uint64_t channel_id;
    panp_bytes notification_type;
    panp_bytes payload;
} panp_send;

typedef struct panp_sent {
    uint64_t sequence;
    uint32_t recipients;
} panp_sent;

typedef enum {
    PANP_CLOSE_SIDE_NONE = 0,
    PANP_CLOSE_SIDE_CHANNEL = 1,
    PANP_CLOSE_SIDE_CONVERSATION = 2
} panp_close_side;

typedef struct panp_close_channel {
    panp_close_side side;
    uint64_t id; /* channel_id or conversation_id, per side */
    bool has_reason;
    panp_notification reason;
} panp_close_channel;

typedef struct panp_channel_close_result {
    panp_close_outcome outcome;
} panp_channel_close_result;

typedef struct panp_channel_closed {
    uint64_t channel_id;
    uint64_t conversation_id;
    panp_bytes registration;
    panp_close_reason reason;
    panp_bytes notification_type;
    panp_bytes payload;
} panp_channel_closed;

typedef struct panp_ok {
    panp_ok_info info;
} panp_ok;

typedef struct panp_error_msg {
    panp_error_code code;
    const char *message;
    const char *field;
    bool fatal;
} panp_error_msg;

typedef struct panp_goodbye {
    panp_goodbye_reason reason;
    const char *message;
} panp_goodbye;

/* The Frame oneof.  Values are the field numbers in panp.proto. */
typedef enum {
    PANP_BODY_NONE = 0,
    PANP_BODY_NOTIFY = 2,
    PANP_BODY_SEND = 3,
    PANP_BODY_SENT = 4,
    PANP_BODY_REPLY = 5,
    PANP_BODY_REPLY_DELIVERY = 6,
    PANP_BODY_CHANNEL_CLOSED = 7,
    PANP_BODY_PING = 8,
    PANP_BODY_PONG = 9,
    PANP_BODY_ERROR = 10,
    PANP_BODY_OK = 11,
    PANP_BODY_HELLO = 16,
    PANP_BODY_WELCOME = 17,
    PANP_BODY_REGISTER = 18,
    PANP_BODY_REGISTERED = 19,
    PANP_BODY_RENEW = 20,
    PANP_BODY_RENEWED = 21,
    PANP_BODY_UNREGISTER = 22,
    PANP_BODY_LIST_REGISTRATIONS = 23,
    PANP_BODY_REGISTRATION_LIST = 24,
    PANP_BODY_OPEN_CHANNEL = 25,
    PANP_BODY_CHANNEL_OPENED = 26,
    PANP_BODY_CLOSE_CHANNEL = 27,
    PANP_BODY_CHANNEL_CLOSE_RESULT = 28,
    PANP_BODY_REGISTRATION_ENDED = 29,
    PANP_BODY_GOODBYE = 30
} panp_body_kind;

typedef struct panp_frame {
    uint64_t request_id;
    panp_body_kind kind;
    union {
        panp_notify notify;
        panp_send send;
        panp_sent sent;
        panp_reply reply;
        panp_reply_delivery reply_delivery;
        panp_channel_closed channel_closed;
        panp_ok ok;
        panp_error_msg error;
        panp_hello hello;
        panp_welcome welcome;
        panp_register register_listener;
        panp_registered registered;
        panp_renew renew;
        panp_renewed renewed;
        panp_unregister unregister;
        panp_list_registrations list_registrations;
        panp_registration_list registration_list;
        panp_open_channel open_channel;
        panp_channel_opened channel_opened;
        panp_close_channel close_channel;
        panp_channel_close_result channel_close_result;
        panp_registration_ended registration_ended;
        panp_goodbye goodbye;
        /* Ping and Pong have no fields. */
    } body;
} panp_frame;

/* Well-known notification types (SPEC.md, "Well-known types"). */
extern const uint8_t PANP_TYPE_NOTIFICATION_RELEASE[PANP_UUID_LEN];
extern const uint8_t PANP_TYPE_ASYNC_UI[PANP_UUID_LEN];
extern const uint8_t PANP_TYPE_PRINTER_CONFIGURATION[PANP_UUID_LEN];
extern const uint8_t PANP_TYPE_PORT_MONITOR_CHANNEL[PANP_UUID_LEN];

/* Names for logs and tools; never NULL ("?" for values not in this version,
 * "LOCAL" for error codes from PANP_ERR_LOCAL_BASE). */
const char *panp_body_name(panp_body_kind kind);
const char *panp_error_code_name(panp_error_code code);
const char *panp_close_reason_name(panp_close_reason reason);

#ifdef __cplusplus
}
#endif

#endif /* PANP_MSG_H */
