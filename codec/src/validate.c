/* validate.c - the rules a frame view must satisfy (see validate.h).
 *
 * Every failure is INVALID_ARGUMENT naming the field by its SPEC path
 * ("register.notification_type"), except a body the receiver's role does
 * not accept, which is PROTOCOL_VIOLATION like its wire-level twin.  The
 * wire scanner (wire.c) applies the same rules to received bytes, with the
 * same texts; here they run on views (what we encode, and frames that
 * reach a receiver decoded), so a frame built in memory meets exactly the
 * bar a received one does.  Each body checks its fields in field-number
 * order, depth first, and stops at the first failure: the order of SPEC 6.5
 * (Hello's is 7.3's).
 */
#include <stdarg.h>
#include <string.h>

#include "fmt.h"
#include "schema.h"
#include "text.h"
#include "validate.h"
#include "wire.h"

enum {
    L_SOFTWARE = 64,
    L_NAME = 255,
    L_SESSION = 64,
    L_TOKEN = 512,
    L_PAYLOAD = 63488, /* 62 KiB: no nanopb struct may reach 64 KiB */
    L_ERR_MESSAGE = 512,
    L_ERR_FIELD = 128
};

static const uint8_t NIL_UUID[PANP_UUID_LEN];

typedef struct vctx {
    panp_peer peer;
    bool fields;   /* also check the field rules */
    bool emitting; /* 0 in a required enum is refused even for a client */
    panp_status *st;
} vctx;

static panp_error_code fail(vctx *c, const char *prefix, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static panp_error_code fail(vctx *c, const char *prefix, const char *name, const char *fmt, ...)
{
    char path[sizeof c->st->field];
    char text[sizeof c->st->message];
    fmt_s(path, sizeof path, "%s%s%s", prefix, name[0] ? "." : "", name);
    va_list ap;
    va_start(ap, fmt);
    fmt_v(text, sizeof text, fmt, ap);
    va_end(ap);
    return panp_status_set(c->st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, path, "%s", text);
}

/* strnlen() is POSIX, not C11 (and the device libc hides it). */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

/* ---- field rules ------------------------------------------------------- */

static panp_error_code str_rule(vctx *c, const char *prefix, const char *name, const char *s,
                                size_t max)
{
    if (!c->fields || !s)
        return PANP_ERR_UNSPECIFIED;
    size_t len = bounded_len(s, max + 1);
    if (len > max)
        return fail(c, prefix, name, "at most %zu bytes, got %zu", max, strlen(s));
    const char *why = "";
    if (text_check((const uint8_t *)s, len, &why) != len)
        return fail(c, prefix, name, "%s", why);
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code bytes_rule(vctx *c, const char *prefix, const char *name, panp_bytes b,
                                  size_t max)
{
    if (!c->fields)
        return PANP_ERR_UNSPECIFIED;
    if (b.len && !b.data)
        return fail(c, prefix, name, "%zu bytes at NULL", b.len);
    if (b.len > max)
        return fail(c, prefix, name, "at most %zu bytes, got %zu", max, b.len);
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code uuid_rule(vctx *c, const char *prefix, const char *name, panp_bytes b)
{
    if (c->fields && b.len != 0 && b.len != PANP_UUID_LEN)
        return fail(c, prefix, name, "want 16 bytes, got %zu", b.len);
    return bytes_rule(c, prefix, name, b, PANP_UUID_LEN);
}

static panp_error_code handle_rule(vctx *c, const char *prefix, const char *name, panp_bytes b)
{
    if (c->fields && b.len != 0 && (b.len < PANP_HANDLE_MIN_LEN || b.len > PANP_HANDLE_MAX_LEN))
        return fail(c, prefix, name, "want 16 to 32 bytes, got %zu", b.len);
    return bytes_rule(c, prefix, name, b, PANP_HANDLE_MAX_LEN);
}

/* Enums are int-sized in C; negative or beyond int32 never encodes. */
static panp_error_code enum_rule(vctx *c, const char *prefix, const char *name, long long v,
                                 long long max)
{
    if (!c->fields)
        return PANP_ERR_UNSPECIFIED;
    if (v < 0 || v > INT32_MAX)
        return fail(c, prefix, name, "enum value %lld out of range", v);
    if (v > max && c->peer != PANP_PEER_CLIENT)
        return fail(c, prefix, name, "unknown enum value %lld", v);
    return PANP_ERR_UNSPECIFIED;
}

/* ---- semantic rules ---------------------------------------------------- */

static panp_error_code required_enum(vctx *c, const char *prefix, const char *name, long long v,
                                     long long max)
{
    if (v == 0 && (c->peer != PANP_PEER_CLIENT || c->emitting))
        return fail(c, prefix, name, "required (0 is UNSPECIFIED)");
    return enum_rule(c, prefix, name, v, max);
}

static panp_error_code nonzero(vctx *c, const char *prefix, const char *name, uint64_t v)
{
    return v ? PANP_ERR_UNSPECIFIED : fail(c, prefix, name, "must be non-zero");
}

static panp_error_code required_uuid(vctx *c, const char *prefix, const char *name,
                                     panp_bytes b)
{
    if (b.len != PANP_UUID_LEN)
        return fail(c, prefix, name, "want 16 bytes, got %zu", b.len);
    return bytes_rule(c, prefix, name, b, PANP_UUID_LEN);
}

/* A type a client names for its own traffic.  The one a Register or
 * OpenChannel chooses is neither NOTIFICATION_RELEASE nor nil (SPEC 9.1,
 * 10.1).  In a Send, Reply or close reason it must equal the channel's,
 * which only the broker knows: NOTIFICATION_RELEASE there is its
 * TYPE_MISMATCH (SPEC 14.1), no field rule.  (Clients keep it out of
 * their own frames, SPEC CLI-17: libpanp refuses it at its API.) */
static panp_error_code client_type(vctx *c, const char *prefix, const char *name, panp_bytes b,
                                   bool chosen_here)
{
    panp_error_code rc = required_uuid(c, prefix, name, b);
    if (rc)
        return rc;
    if (chosen_here && panp_bytes_is_uuid(b, PANP_TYPE_NOTIFICATION_RELEASE))
        return fail(c, prefix, name, "NOTIFICATION_RELEASE is reserved to the broker");
    if (chosen_here && panp_bytes_is_uuid(b, NIL_UUID))
        return fail(c, prefix, name, "the nil UUID is not a notification type");
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code required_handle(vctx *c, const char *prefix, const char *name,
                                       panp_bytes b)
{
    if (b.len == 0)
        return fail(c, prefix, name, "required");
    if (b.len < PANP_HANDLE_MIN_LEN || b.len > PANP_HANDLE_MAX_LEN)
        return fail(c, prefix, name, "want 16 to 32 bytes, got %zu", b.len);
    return bytes_rule(c, prefix, name, b, PANP_HANDLE_MAX_LEN);
}

/* Paths are only formatted on failure: validation runs on every frame. */
static panp_error_code target(vctx *c, const char *prefix, const panp_target *t, bool required)
{
    switch (t->kind) {
    case PANP_TARGET_NONE:
        return required ? fail(c, prefix, "target", "required") : PANP_ERR_UNSPECIFIED;
    case PANP_TARGET_EMPTY:
        return fail(c, prefix, "target", "one of server or printer must be set");
    case PANP_TARGET_SERVER:
        return PANP_ERR_UNSPECIFIED;
    case PANP_TARGET_PRINTER:
        if (!t->printer || !t->printer[0])
            return fail(c, prefix, "target.printer", "must not be empty");
        return str_rule(c, prefix, "target.printer", t->printer, L_NAME);
    }
    return fail(c, prefix, "target", "unknown target kind %d", (int)t->kind);
}

/* ---- one function per body --------------------------------------------- */

#define TRY(expr)                                                                                 \
    do {                                                                                          \
        panp_error_code rc_ = (expr);                                                             \
        if (rc_)                                                                                  \
            return rc_;                                                                           \
    } while (0)

/* SPEC 7.3 steps 2 to 8, which is field-number order. */
static panp_error_code v_hello(vctx *c, const panp_hello *m)
{
    const char *p = "hello";
    if (m->min_version < 1)
        return fail(c, p, "min_version", "must be at least 1");
    if (m->max_version < m->min_version)
        return fail(c, p, "max_version", "must be at least min_version");
    TRY(str_rule(c, p, "software", m->software, L_SOFTWARE));
    TRY(required_enum(c, p, "auth", m->auth, PANP_AUTH_TOKEN));
    TRY(bytes_rule(c, p, "token", m->token, L_TOKEN));
    if (m->token.len && m->auth != PANP_AUTH_TOKEN)
        return fail(c, p, "token", "only with auth TOKEN");
    TRY(str_rule(c, p, "session_label", m->session_label, L_SESSION));
    if (m->max_frame_size != 0 && m->max_frame_size < PANP_MIN_MAX_FRAME)
        return fail(c, p, "max_frame_size", "0 or at least %u, got %u", PANP_MIN_MAX_FRAME,
                    (unsigned)m->max_frame_size);
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code v_identity(vctx *c, const panp_identity *m)
{
    const char *p = "welcome.identity";
    TRY(str_rule(c, p, "user", m->user, L_NAME));
    if (c->fields && m->admin_printers_count > 64)
        return fail(c, p, "admin_printers", "at most 64 elements");
    if (m->admin_printers_count && !m->admin_printers)
        return fail(c, p, "admin_printers", "count without array");
    for (size_t i = 0; i < m->admin_printers_count; i++)
        TRY(str_rule(c, p, "admin_printers", m->admin_printers[i], L_NAME));
    return PANP_ERR_UNSPECIFIED;
}

static panp_error_code v_welcome(vctx *c, const panp_welcome *m)
{
    const char *p = "welcome";
    if (m->version < 1)
        return fail(c, p, "version", "must be at least 1");
    TRY(str_rule(c, p, "software", m->software, L_SOFTWARE));
    TRY(str_rule(c, p, "server_name", m->server_name, L_NAME));
    if (m->has_limits && m->limits.max_frame_size < PANP_MIN_MAX_FRAME)
        return fail(c, "welcome.limits", "max_frame_size", "at least %u, got %u",
                    PANP_MIN_MAX_FRAME, (unsigned)m->limits.max_frame_size);
    return m->has_identity ? v_identity(c, &m->identity) : PANP_ERR_UNSPECIFIED;
}

static panp_error_code v_register(vctx *c, const panp_register *m)
{
    const char *p = "register";
    TRY(target(c, p, &m->target, true));
    TRY(client_type(c, p, "notification_type", m->notification_type, true));
    TRY(required_enum(c, p, "user_filter", m->user_filter, PANP_USER_FILTER_ALL_USERS));
    TRY(required_enum(c, p, "style", m->style, PANP_STYLE_UNIDIRECTIONAL));
    return bytes_rule(c, p, "client_state", m->client_state, PANP_CLIENT_STATE_MAX);
}

static panp_error_code v_info(vctx *c, const panp_registration_info *m, size_t i)
{
    char p[64];
    fmt_s(p, sizeof p, "registration_list.registrations[%zu]", i);
    TRY(handle_rule(c, p, "handle", m->handle));
    TRY(str_rule(c, p, "user", m->user, L_NAME));
    TRY(target(c, p, &m->target, false));
    TRY(required_uuid(c, p, "notification_type", m->notification_type));
    TRY(required_enum(c, p, "user_filter", m->user_filter, PANP_USER_FILTER_ALL_USERS));
    return required_enum(c, p, "style", m->style, PANP_STYLE_UNIDIRECTIONAL);
}

static panp_error_code v_registration_list(vctx *c, const panp_registration_list *m)
{
    if (c->fields && m->registrations_count > 32)
        return fail(c, "registration_list", "registrations", "at most 32 elements");
    if (m->registrations_count && !m->registrations)
        return fail(c, "registration_list", "registrations", "count without array");
    for (size_t i = 0; i < m->registrations_count; i++)
        TRY(v_info(c, &m->registrations[i], i));
    return PANP_ERR_UNSPECIFIED;
}

/* Fields 1 to 3, which differ per listener (SPEC 15.2). */
static panp_error_code v_notify_head(vctx *c, const panp_notify *m)
{
    const char *p = "notify";
    TRY(required_handle(c, p, "registration", m->registration));
    if (m->style == PANP_STYLE_BIDIRECTIONAL && m->conversation_id == 0)
        return fail(c, p, "conversation_id", "required for a bidirectional channel");
    if (m->style == PANP_STYLE_UNIDIRECTIONAL && m->conversation_id != 0)
        return fail(c, p, "conversation_id", "only for a bidirectional channel");
    return bytes_rule(c, p, "client_state", m->client_state, PANP_CLIENT_STATE_MAX);
}

/* Fields 4 to 10, the same for every listener of a Send. */
static panp_error_code v_notify_shared(vctx *c, const panp_notify *m)
{
    const char *p = "notify";
    TRY(nonzero(c, p, "channel_id", m->channel_id));
    TRY(nonzero(c, p, "sequence", m->sequence));
    TRY(required_uuid(c, p, "notification_type", m->notification_type));
    TRY(required_enum(c, p, "style", m->style, PANP_STYLE_UNIDIRECTIONAL));
    if (m->has_sender) {
        TRY(str_rule(c, "notify.sender", "user", m->sender.user, L_NAME));
        TRY(str_rule(c, "notify.sender", "job_owner", m->sender.job_owner, L_NAME));
    }
    TRY(target(c, p, &m->target, false));
    return bytes_rule(c, p, "payload", m->payload, L_PAYLOAD);
}

static panp_error_code v_notify(vctx *c, const panp_notify *m)
{
    TRY(v_notify_head(c, m));
    return v_notify_shared(c, m);
}

static panp_error_code v_open_channel(vctx *c, const panp_open_channel *m)
{
    const char *p = "open_channel";
    TRY(target(c, p, &m->target, true));
    TRY(client_type(c, p, "notification_type", m->notification_type, true));
    TRY(required_enum(c, p, "user_filter", m->user_filter, PANP_USER_FILTER_ALL_USERS));
    TRY(required_enum(c, p, "style", m->style, PANP_STYLE_UNIDIRECTIONAL));
    if (!m->has_on_behalf_of)
        return PANP_ERR_UNSPECIFIED;
    const panp_job_context *j = &m->on_behalf_of;
    TRY(str_rule(c, "open_channel.on_behalf_of", "job_owner", j->job_owner, L_NAME));
    if (!j->job_owner || !j->job_owner[0])
        return fail(c, "open_channel.on_behalf_of", "job_owner", "required");
    return str_rule(c, "open_channel.on_behalf_of", "session_label", j->session_label, L_SESSION);
}

/* The ids of Send, Reply and CloseChannel are the broker's to look up: 0
 * is CHANNEL_NOT_OPENED like any id it never issued (SPEC 10.2). */
static panp_error_code v_close_channel(vctx *c, const panp_close_channel *m)
{
    const char *p = "close_channel";
    if (m->side != PANP_CLOSE_SIDE_CHANNEL && m->side != PANP_CLOSE_SIDE_CONVERSATION)
        return fail(c, p, "side", "one of channel_id or conversation_id must be set");
    if (!m->has_reason)
        return PANP_ERR_UNSPECIFIED;
    TRY(client_type(c, "close_channel.reason", "notification_type", m->reason.notification_type,
                    false));
    return bytes_rule(c, "close_channel.reason", "payload", m->reason.payload, L_PAYLOAD);
}

static panp_error_code v_channel_closed(vctx *c, const panp_channel_closed *m)
{
    const char *p = "channel_closed";
    if (m->channel_id == 0 && m->conversation_id == 0)
        return fail(c, p, "channel_id", "channel_id or conversation_id must be set");
    TRY(handle_rule(c, p, "registration", m->registration));
    TRY(required_enum(c, p, "reason", m->reason, PANP_CLOSE_REASON_UNREGISTERED));
    TRY(uuid_rule(c, p, "notification_type", m->notification_type));
    bool release = panp_bytes_is_uuid(m->notification_type, PANP_TYPE_NOTIFICATION_RELEASE);
    bool gone = m->reason == PANP_CLOSE_REASON_PEER_GONE ||
                m->reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN;
    if (gone && !release)
        return fail(c, p, "notification_type", "must be NOTIFICATION_RELEASE for reason %s",
                    panp_close_reason_name(m->reason));
    /* 0 and values from newer brokers reach here only for a client: unknown */
    bool known = m->reason != 0 && (unsigned)m->reason <= PANP_CLOSE_REASON_UNREGISTERED;
    if (release && !gone && known)
        return fail(c, p, "notification_type", "NOTIFICATION_RELEASE only for PEER_GONE or "
                                               "SERVER_SHUTDOWN");
    return bytes_rule(c, p, "payload", m->payload, L_PAYLOAD);
}

static panp_error_code v_send(vctx *c, const panp_send *m)
{
    TRY(client_type(c, "send", "notification_type", m->notification_type, false));
    return bytes_rule(c, "send", "payload", m->payload, L_PAYLOAD);
}

static panp_error_code v_reply(vctx *c, const panp_reply *m)
{
    TRY(client_type(c, "reply", "notification_type", m->notification_type, false));
    return bytes_rule(c, "reply", "payload", m->payload, L_PAYLOAD);
}

static panp_error_code v_reply_delivery(vctx *c, const panp_reply_delivery *m)
{
    const char *p = "reply_delivery";
    TRY(nonzero(c, p, "channel_id", m->channel_id));
    TRY(nonzero(c, p, "sequence", m->sequence));
    TRY(str_rule(c, p, "responder", m->responder, L_NAME));
    TRY(required_uuid(c, p, "notification_type", m->notification_type));
    return bytes_rule(c, p, "payload", m->payload, L_PAYLOAD);
}

static panp_error_code v_error(vctx *c, const panp_error_msg *m)
{
    TRY(required_enum(c, "error", "code", m->code, PANP_ERR_INTERNAL));
    TRY(str_rule(c, "error", "message", m->message, L_ERR_MESSAGE));
    return str_rule(c, "error", "field", m->field, L_ERR_FIELD);
}

/* A broker takes any Goodbye (SPEC 7.5: the client ends whatever it says). */
static panp_error_code v_goodbye(vctx *c, const panp_goodbye *m)
{
    if (c->peer == PANP_PEER_BROKER && !c->emitting)
        return PANP_ERR_UNSPECIFIED;
    TRY(enum_rule(c, "goodbye", "reason", m->reason, PANP_GOODBYE_SLOW_CONSUMER));
    return str_rule(c, "goodbye", "message", m->message, L_ERR_MESSAGE);
}

static panp_error_code v_small(vctx *c, const panp_frame *f)
{
    switch (f->kind) {
    case PANP_BODY_SENT:
        return nonzero(c, "sent", "sequence", f->body.sent.sequence);
    case PANP_BODY_OK:
        return enum_rule(c, "ok", "info", f->body.ok.info, PANP_OK_INFO_NONE);
    case PANP_BODY_REGISTERED:
        return required_handle(c, "registered", "handle", f->body.registered.handle);
    case PANP_BODY_RENEW:
        return required_handle(c, "renew", "handle", f->body.renew.handle);
    case PANP_BODY_UNREGISTER:
        return required_handle(c, "unregister", "handle", f->body.unregister.handle);
    case PANP_BODY_LIST_REGISTRATIONS:
        return target(c, "list_registrations", &f->body.list_registrations.target, false);
    case PANP_BODY_CHANNEL_OPENED:
        return nonzero(c, "channel_opened", "channel_id", f->body.channel_opened.channel_id);
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        return required_enum(c, "channel_close_result", "outcome",
                             f->body.channel_close_result.outcome,
                             PANP_CLOSE_OUTCOME_ACQUIRED_BY_ANOTHER);
    case PANP_BODY_REGISTRATION_ENDED:
        TRY(required_handle(c, "registration_ended", "handle", f->body.registration_ended.handle));
        return required_enum(c, "registration_ended", "reason", f->body.registration_ended.reason,
                             PANP_REG_END_TARGET_REMOVED);
    default:
        return PANP_ERR_UNSPECIFIED; /* ping, pong, renewed: nothing to check */
    }
}

panp_error_code validate_view(const panp_frame *f, panp_peer peer, validate_mode mode,
                              panp_status *st)
{
    vctx c = {.peer = peer,
              .fields = (mode & VM_FIELD_RULES) != 0,
              .emitting = mode == VM_EMITTING,
              .st = st};
    switch (f->kind) {
    case PANP_BODY_HELLO:
        return v_hello(&c, &f->body.hello);
    case PANP_BODY_WELCOME:
        return v_welcome(&c, &f->body.welcome);
    case PANP_BODY_REGISTER:
        return v_register(&c, &f->body.register_listener);
    case PANP_BODY_REGISTRATION_LIST:
        return v_registration_list(&c, &f->body.registration_list);
    case PANP_BODY_NOTIFY:
        return v_notify(&c, &f->body.notify);
    case PANP_BODY_OPEN_CHANNEL:
        return v_open_channel(&c, &f->body.open_channel);
    case PANP_BODY_CLOSE_CHANNEL:
        return v_close_channel(&c, &f->body.close_channel);
    case PANP_BODY_CHANNEL_CLOSED:
        return v_channel_closed(&c, &f->body.channel_closed);
    case PANP_BODY_SEND:
        return v_send(&c, &f->body.send);
    case PANP_BODY_REPLY:
        return v_reply(&c, &f->body.reply);
    case PANP_BODY_REPLY_DELIVERY:
        return v_reply_delivery(&c, &f->body.reply_delivery);
    case PANP_BODY_ERROR:
        return v_error(&c, &f->body.error);
    case PANP_BODY_GOODBYE:
        return v_goodbye(&c, &f->body.goodbye);
    default:
        return v_small(&c, f);
    }
}

panp_error_code validate_role(const panp_frame *f, panp_peer peer, panp_status *st)
{
    char root[48];
    if (f->kind == PANP_BODY_NONE)
        return panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, SIZE_MAX, "frame.body",
                               "frame has no body");
    if (!schema_body_dir(f->kind))
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "frame",
                               "unknown body kind %d", (int)f->kind);
    if (!schema_body_ok_for(f->kind, peer))
        return panp_status_set(st, PANP_ERR_PROTOCOL_VIOLATION, SIZE_MAX,
                               wire_body_root(f->kind, peer, root, sizeof root),
                               "a %s peer does not accept this body",
                               peer == PANP_PEER_BROKER ? "broker" : "client");
    return PANP_ERR_UNSPECIFIED;
}

panp_error_code validate_notify_part(const panp_notify *n, bool head, panp_status *st)
{
    vctx c = {.peer = PANP_PEER_CLIENT, .fields = true, .emitting = true, .st = st};
    return head ? v_notify_head(&c, n) : v_notify_shared(&c, n);
}

panp_peer validate_encode_peer(panp_body_kind kind)
{
    return (schema_body_dir(kind) & SD_TO_CLIENT) ? PANP_PEER_CLIENT : PANP_PEER_BROKER;
}
