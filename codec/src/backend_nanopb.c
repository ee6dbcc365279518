/* backend_nanopb.c - the nanopb backend (devices; also built on hosts so
 * both backends can be proven equal).
 *
 * Static allocation only: nanopb decodes a body into a struct sized by
 * panp.options, inside storage the caller provides, and the view points
 * into that struct.  Only the body is handed to nanopb: the wire scanner
 * already located it and read request_id, so the Frame's 63 KiB union (its
 * size is set by the largest body, Notify with a 62 KiB payload) is never
 * needed, and a device that only receives small bodies needs little RAM.
 *
 * nanopb's own initialisation zeroes every static field, 62 KiB payload
 * arrays included; npb_clear() skips the large arrays (zeroing their
 * lengths instead), and the body is decoded with PB_DECODE_NOINIT.
 */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include <pb_common.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "panp/v1/panp.pb.h"

#include "backend.h"
#include "size.h"

/* ---- bodies --------------------------------------------------------------*/

#define NPB_BODIES(X)                                                                             \
    X(NOTIFY, Notify)                                                                             \
    X(SEND, Send)                                                                                 \
    X(SENT, Sent)                                                                                 \
    X(REPLY, Reply)                                                                               \
    X(REPLY_DELIVERY, ReplyDelivery)                                                              \
    X(CHANNEL_CLOSED, ChannelClosed)                                                              \
    X(PING, Ping)                                                                                 \
    X(PONG, Pong)                                                                                 \
    X(ERROR, Error)                                                                               \
    X(OK, Ok)                                                                                     \
    X(HELLO, Hello)                                                                               \
    X(WELCOME, Welcome)                                                                           \
    X(REGISTER, Register)                                                                         \
    X(REGISTERED, Registered)                                                                     \
    X(RENEW, Renew)                                                                               \
    X(RENEWED, Renewed)                                                                           \
    X(UNREGISTER, Unregister)                                                                     \
    X(LIST_REGISTRATIONS, ListRegistrations)                                                      \
    X(REGISTRATION_LIST, RegistrationList)                                                        \
    X(OPEN_CHANNEL, OpenChannel)                                                                  \
    X(CHANNEL_OPENED, ChannelOpened)                                                              \
    X(CLOSE_CHANNEL, CloseChannel)                                                                \
    X(CHANNEL_CLOSE_RESULT, ChannelCloseResult)                                                   \
    X(REGISTRATION_ENDED, RegistrationEnded)                                                      \
    X(GOODBYE, Goodbye)

typedef struct npb_body {
    const pb_msgdesc_t *desc;
    size_t size;
} npb_body;

static npb_body body_of(panp_body_kind kind)
{
    npb_body b = {NULL, 0};
    switch (kind) {
#define CASE(K, T)                                                                                \
    case PANP_BODY_##K:                                                                           \
        b.desc = &panp_v1_##T##_msg;                                                              \
        b.size = sizeof(panp_v1_##T);                                                             \
        break;
        NPB_BODIES(CASE)
#undef CASE
    case PANP_BODY_NONE:
        break;
    }
    return b;
}

enum { ALIGN = alignof(max_align_t) };

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

/* Room the view needs besides the nanopb struct: its arrays. */
static size_t aux_size(panp_body_kind kind)
{
    if (kind == PANP_BODY_REGISTRATION_LIST)
        return 32 * sizeof(panp_registration_info);
    if (kind == PANP_BODY_WELCOME)
        return 64 * sizeof(const char *);
    return 0;
}

size_t npb_decode_storage_size(panp_body_kind kind)
{
    if (kind != PANP_BODY_NONE) {
        npb_body b = body_of(kind);
        return b.desc ? round_up(b.size) + aux_size(kind) : 0;
    }
    size_t max = 0;
    for (int k = 1; k <= PANP_BODY_GOODBYE; k++) {
        size_t n = npb_decode_storage_size((panp_body_kind)k);
        max = n > max ? n : max;
    }
    return max;
}

size_t npb_encode_storage_size(panp_body_kind kind)
{
    if (kind != PANP_BODY_NONE) {
        npb_body b = body_of(kind);
        return b.desc ? b.size : 0;
    }
    size_t max = 0;
    for (int k = 1; k <= PANP_BODY_GOODBYE; k++) {
        size_t n = npb_encode_storage_size((panp_body_kind)k);
        max = n > max ? n : max;
    }
    return max;
}

/* Zeroes everything but the few large arrays, whose lengths and counts
 * are zeroed instead: nanopb's own initialisation would clear 62 KiB of
 * payload for every Notify.  offsetof keeps this right if the generator
 * ever orders fields differently. */
static void clear_except(void *msg, size_t size, size_t off, size_t len)
{
    memset(msg, 0, off);
    memset((uint8_t *)msg + off + len, 0, size - off - len);
}

#define CLEAR_BYTES(T, field)                                                                     \
    do {                                                                                          \
        clear_except(msg, size, offsetof(T, field.bytes), sizeof(((T *)0)->field.bytes));         \
        ((T *)msg)->field.size = 0;                                                               \
    } while (0)

static void npb_clear(panp_body_kind kind, void *msg, size_t size)
{
    switch (kind) {
    case PANP_BODY_NOTIFY:
        CLEAR_BYTES(panp_v1_Notify, payload);
        break;
    case PANP_BODY_SEND:
        CLEAR_BYTES(panp_v1_Send, payload);
        break;
    case PANP_BODY_REPLY:
        CLEAR_BYTES(panp_v1_Reply, payload);
        break;
    case PANP_BODY_REPLY_DELIVERY:
        CLEAR_BYTES(panp_v1_ReplyDelivery, payload);
        break;
    case PANP_BODY_CHANNEL_CLOSED:
        CLEAR_BYTES(panp_v1_ChannelClosed, payload);
        break;
    case PANP_BODY_CLOSE_CHANNEL:
        CLEAR_BYTES(panp_v1_CloseChannel, reason.payload);
        break;
    case PANP_BODY_WELCOME: /* the count says how many printers are valid */
        clear_except(msg, size, offsetof(panp_v1_Welcome, identity.admin_printers),
                     sizeof(((panp_v1_Welcome *)0)->identity.admin_printers));
        break;
    case PANP_BODY_REGISTRATION_LIST: /* nanopb initialises each element it adds */
        clear_except(msg, size, offsetof(panp_v1_RegistrationList, registrations),
                     sizeof(((panp_v1_RegistrationList *)0)->registrations));
        break;
    default:
        memset(msg, 0, size);
        break;
    }
}

/* ---- nanopb -> view ------------------------------------------------------*/

#define BIN_IN(f) bin_in((f).bytes, (f).size)

static panp_bytes bin_in(const uint8_t *data, size_t size)
{
    panp_bytes r = {size ? data : NULL, size};
    return r;
}

static void target_in(panp_target *v, bool has, const panp_v1_Target *m)
{
    v->printer = "";
    if (!has)
        v->kind = PANP_TARGET_NONE;
    else if (m->which_kind == panp_v1_Target_server_tag)
        v->kind = PANP_TARGET_SERVER;
    else if (m->which_kind == panp_v1_Target_printer_tag) {
        v->kind = PANP_TARGET_PRINTER;
        v->printer = m->kind.printer;
    } else
        v->kind = PANP_TARGET_EMPTY;
}

static void hello_in(panp_hello *v, const panp_v1_Hello *m)
{
    v->min_version = m->min_version;
    v->max_version = m->max_version;
    v->software = m->software;
    v->auth = (panp_auth)m->auth;
    v->token = BIN_IN(m->token);
    v->session_label = m->session_label;
    v->max_frame_size = m->max_frame_size;
}

static void welcome_in(panp_welcome *v, const panp_v1_Welcome *m, const char **aux)
{
    v->version = m->version;
    v->software = m->software;
    v->server_name = m->server_name;
    v->has_limits = m->has_limits;
    const panp_v1_Limits *l = &m->limits;
    panp_limits lv = {l->max_frame_size,       l->max_registrations,   l->max_channels,
                      l->keepalive_interval_ms, l->keepalive_timeout_ms, l->max_lease_seconds,
                      l->max_outbound_bytes};
    v->limits = lv;
    v->has_identity = m->has_identity;
    const panp_v1_Identity *i = &m->identity;
    for (pb_size_t k = 0; k < i->admin_printers_count; k++)
        aux[k] = i->admin_printers[k];
    v->identity.user = i->user;
    v->identity.server_admin = i->server_admin;
    v->identity.admin_printers = i->admin_printers_count ? aux : NULL;
    v->identity.admin_printers_count = i->admin_printers_count;
    v->identity.may_open_channels = i->may_open_channels;
    v->identity.trusted = i->trusted;
    v->identity.admin_printers_truncated = i->admin_printers_truncated;
}

static void register_in(panp_register *v, const panp_v1_Register *m)
{
    target_in(&v->target, m->has_target, &m->target);
    v->notification_type = BIN_IN(m->notification_type);
    v->user_filter = (panp_user_filter)m->user_filter;
    v->style = (panp_style)m->style;
    v->lease_seconds = m->lease_seconds;
    v->client_state = BIN_IN(m->client_state);
}

static void registration_list_in(panp_registration_list *v, const panp_v1_RegistrationList *m,
                                 panp_registration_info *aux)
{
    for (pb_size_t k = 0; k < m->registrations_count; k++) {
        const panp_v1_RegistrationInfo *i = &m->registrations[k];
        panp_registration_info *vi = &aux[k];
        vi->handle = BIN_IN(i->handle);
        vi->user = i->user;
        target_in(&vi->target, i->has_target, &i->target);
        vi->notification_type = BIN_IN(i->notification_type);
        vi->user_filter = (panp_user_filter)i->user_filter;
        vi->style = (panp_style)i->style;
        vi->lease_remaining_seconds = i->lease_remaining_seconds;
    }
    v->registrations = m->registrations_count ? aux : NULL;
    v->registrations_count = m->registrations_count;
    v->total = m->total;
}

static void notify_in(panp_notify *v, const panp_v1_Notify *m)
{
    v->registration = BIN_IN(m->registration);
    v->conversation_id = m->conversation_id;
    v->client_state = BIN_IN(m->client_state);
    v->channel_id = m->channel_id;
    v->sequence = m->sequence;
    v->notification_type = BIN_IN(m->notification_type);
    v->style = (panp_style)m->style;
    v->has_sender = m->has_sender;
    v->sender.user = m->sender.user;
    v->sender.job_id = m->sender.job_id;
    v->sender.job_owner = m->sender.job_owner;
    target_in(&v->target, m->has_target, &m->target);
    v->payload = BIN_IN(m->payload);
}

static void reply_delivery_in(panp_reply_delivery *v, const panp_v1_ReplyDelivery *m)
{
    v->channel_id = m->channel_id;
    v->sequence = m->sequence;
    v->responder = m->responder;
    v->notification_type = BIN_IN(m->notification_type);
    v->payload = BIN_IN(m->payload);
}

static void open_channel_in(panp_open_channel *v, const panp_v1_OpenChannel *m)
{
    target_in(&v->target, m->has_target, &m->target);
    v->notification_type = BIN_IN(m->notification_type);
    v->user_filter = (panp_user_filter)m->user_filter;
    v->style = (panp_style)m->style;
    v->has_on_behalf_of = m->has_on_behalf_of;
    v->on_behalf_of.job_id = m->on_behalf_of.job_id;
    v->on_behalf_of.job_owner = m->on_behalf_of.job_owner;
    v->on_behalf_of.session_label = m->on_behalf_of.session_label;
}

static void close_channel_in(panp_close_channel *v, const panp_v1_CloseChannel *m)
{
    v->side = PANP_CLOSE_SIDE_NONE;
    if (m->which_side == panp_v1_CloseChannel_channel_id_tag) {
        v->side = PANP_CLOSE_SIDE_CHANNEL;
        v->id = m->side.channel_id;
    } else if (m->which_side == panp_v1_CloseChannel_conversation_id_tag) {
        v->side = PANP_CLOSE_SIDE_CONVERSATION;
        v->id = m->side.conversation_id;
    }
    v->has_reason = m->has_reason;
    v->reason.notification_type = BIN_IN(m->reason.notification_type);
    v->reason.payload = BIN_IN(m->reason.payload);
}

static void channel_closed_in(panp_channel_closed *v, const panp_v1_ChannelClosed *m)
{
    v->channel_id = m->channel_id;
    v->conversation_id = m->conversation_id;
    v->registration = BIN_IN(m->registration);
    v->reason = (panp_close_reason)m->reason;
    v->notification_type = BIN_IN(m->notification_type);
    v->payload = BIN_IN(m->payload);
}

static void small_in(panp_frame *v, const void *body)
{
    switch (v->kind) {
    case PANP_BODY_SEND: {
        const panp_v1_Send *m = body;
        v->body.send.channel_id = m->channel_id;
        v->body.send.notification_type = BIN_IN(m->notification_type);
        v->body.send.payload = BIN_IN(m->payload);
        break;
    }
    case PANP_BODY_SENT: {
        const panp_v1_Sent *m = body;
        v->body.sent.sequence = m->sequence;
        v->body.sent.recipients = m->recipients;
        break;
    }
    case PANP_BODY_REPLY: {
        const panp_v1_Reply *m = body;
        v->body.reply.conversation_id = m->conversation_id;
        v->body.reply.notification_type = BIN_IN(m->notification_type);
        v->body.reply.payload = BIN_IN(m->payload);
        break;
    }
    case PANP_BODY_ERROR: {
        const panp_v1_Error *m = body;
        v->body.error.code = (panp_error_code)m->code;
        v->body.error.message = m->message;
        v->body.error.field = m->field;
        v->body.error.fatal = m->fatal;
        break;
    }
    case PANP_BODY_OK:
        v->body.ok.info = (panp_ok_info)((const panp_v1_Ok *)body)->info;
        break;
    case PANP_BODY_REGISTERED: {
        const panp_v1_Registered *m = body;
        v->body.registered.handle = BIN_IN(m->handle);
        v->body.registered.lease_seconds = m->lease_seconds;
        break;
    }
    case PANP_BODY_RENEW: {
        const panp_v1_Renew *m = body;
        v->body.renew.handle = BIN_IN(m->handle);
        v->body.renew.lease_seconds = m->lease_seconds;
        break;
    }
    case PANP_BODY_RENEWED:
        v->body.renewed.lease_seconds = ((const panp_v1_Renewed *)body)->lease_seconds;
        break;
    case PANP_BODY_UNREGISTER:
        v->body.unregister.handle = BIN_IN(((const panp_v1_Unregister *)body)->handle);
        break;
    case PANP_BODY_LIST_REGISTRATIONS: {
        const panp_v1_ListRegistrations *m = body;
        target_in(&v->body.list_registrations.target, m->has_target, &m->target);
        v->body.list_registrations.offset = m->offset;
        break;
    }
    case PANP_BODY_CHANNEL_OPENED:
        v->body.channel_opened.channel_id = ((const panp_v1_ChannelOpened *)body)->channel_id;
        break;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        v->body.channel_close_result.outcome =
            (panp_close_outcome)((const panp_v1_ChannelCloseResult *)body)->outcome;
        break;
    case PANP_BODY_REGISTRATION_ENDED: {
        const panp_v1_RegistrationEnded *m = body;
        v->body.registration_ended.handle = BIN_IN(m->handle);
        v->body.registration_ended.reason = (panp_reg_end_reason)m->reason;
        break;
    }
    case PANP_BODY_GOODBYE: {
        const panp_v1_Goodbye *m = body;
        v->body.goodbye.reason = (panp_goodbye_reason)m->reason;
        v->body.goodbye.message = m->message;
        break;
    }
    default: /* ping, pong */
        break;
    }
}

static void body_in(panp_frame *v, const void *body, void *aux)
{
    switch (v->kind) {
    case PANP_BODY_NOTIFY:
        notify_in(&v->body.notify, body);
        break;
    case PANP_BODY_REPLY_DELIVERY:
        reply_delivery_in(&v->body.reply_delivery, body);
        break;
    case PANP_BODY_CHANNEL_CLOSED:
        channel_closed_in(&v->body.channel_closed, body);
        break;
    case PANP_BODY_HELLO:
        hello_in(&v->body.hello, body);
        break;
    case PANP_BODY_WELCOME:
        welcome_in(&v->body.welcome, body, aux);
        break;
    case PANP_BODY_REGISTER:
        register_in(&v->body.register_listener, body);
        break;
    case PANP_BODY_REGISTRATION_LIST:
        registration_list_in(&v->body.registration_list, body, aux);
        break;
    case PANP_BODY_OPEN_CHANNEL:
        open_channel_in(&v->body.open_channel, body);
        break;
    case PANP_BODY_CLOSE_CHANNEL:
        close_channel_in(&v->body.close_channel, body);
        break;
    default:
        small_in(v, body);
        break;
    }
}

panp_error_code npb_decode(const uint8_t *buf, const wire_info *wi, void *storage, size_t size,
                           panp_frame *out, panp_status *st)
{
    npb_body b = body_of(wi->kind);
    size_t need = npb_decode_storage_size(wi->kind);
    if (!b.desc)
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame", "no nanopb body %d",
                               (int)wi->kind);
    if (!storage || size < need || ((uintptr_t)storage & (ALIGN - 1)))
        return panp_status_set(st, PANP_ERR_RESOURCE_EXHAUSTED, SIZE_MAX, "frame",
                               "nanopb needs %zu aligned bytes of storage, got %zu", need, size);
    npb_clear(wi->kind, storage, b.size);
    pb_istream_t is = pb_istream_from_buffer(buf + wi->body_off, wi->body_len);
    if (!pb_decode_ex(&is, b.desc, storage, PB_DECODE_NOINIT))
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame",
                               "nanopb rejected a frame the wire scanner accepted: %s",
                               PB_GET_ERROR(&is));
    memset(out, 0, sizeof *out);
    out->request_id = wi->request_id;
    out->kind = wi->kind;
    body_in(out, storage, (uint8_t *)storage + round_up(b.size));
    return PANP_ERR_UNSPECIFIED;
}

/* ---- view -> nanopb ------------------------------------------------------
 * Copies into the fixed arrays; the validator has already bounded every
 * length, the checks here only keep a bug from becoming an overflow. */

/* strnlen() is POSIX, not C11 (and the device libc hides it). */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

#define PUT_BYTES(dst, src)                                                                       \
    do {                                                                                          \
        if (!put_bytes((dst).bytes, &(dst).size, sizeof((dst).bytes), (src)))                     \
            return false;                                                                         \
    } while (0)
#define PUT_STR(dst, src)                                                                         \
    do {                                                                                          \
        if (!put_str((dst), sizeof(dst), (src)))                                                  \
            return false;                                                                         \
    } while (0)

static bool put_bytes(uint8_t *dst, pb_size_t *size, size_t cap, panp_bytes src)
{
    if (src.len > cap || (src.len && !src.data))
        return false;
    if (src.len)
        memcpy(dst, src.data, src.len);
    *size = (pb_size_t)src.len;
    return true;
}

static bool put_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? bounded_len(src, cap) : 0;
    if (n == cap)
        return false;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

static bool target_out(bool *has, panp_v1_Target *m, const panp_target *v)
{
    *has = v->kind != PANP_TARGET_NONE;
    m->which_kind = 0;
    if (v->kind == PANP_TARGET_SERVER)
        m->which_kind = panp_v1_Target_server_tag;
    if (v->kind == PANP_TARGET_PRINTER) {
        m->which_kind = panp_v1_Target_printer_tag;
        PUT_STR(m->kind.printer, v->printer);
    }
    return v->kind <= PANP_TARGET_EMPTY;
}

static bool hello_out(panp_v1_Hello *m, const panp_hello *v)
{
    m->min_version = v->min_version;
    m->max_version = v->max_version;
    PUT_STR(m->software, v->software);
    m->auth = (panp_v1_AuthMechanism)v->auth;
    PUT_BYTES(m->token, v->token);
    PUT_STR(m->session_label, v->session_label);
    m->max_frame_size = v->max_frame_size;
    return true;
}

static bool welcome_out(panp_v1_Welcome *m, const panp_welcome *v)
{
    m->version = v->version;
    PUT_STR(m->software, v->software);
    PUT_STR(m->server_name, v->server_name);
    m->has_limits = v->has_limits;
    const panp_limits *l = &v->limits;
    panp_v1_Limits lm = {l->max_frame_size,       l->max_registrations,   l->max_channels,
                         l->keepalive_interval_ms, l->keepalive_timeout_ms, l->max_lease_seconds,
                         l->max_outbound_bytes};
    m->limits = lm;
    m->has_identity = v->has_identity;
    if (!v->has_identity)
        return true;
    const panp_identity *vi = &v->identity;
    panp_v1_Identity *i = &m->identity;
    PUT_STR(i->user, vi->user);
    i->server_admin = vi->server_admin;
    if (vi->admin_printers_count > sizeof i->admin_printers / sizeof i->admin_printers[0])
        return false;
    for (size_t k = 0; k < vi->admin_printers_count; k++)
        PUT_STR(i->admin_printers[k], vi->admin_printers[k]);
    i->admin_printers_count = (pb_size_t)vi->admin_printers_count;
    i->may_open_channels = vi->may_open_channels;
    i->trusted = vi->trusted;
    i->admin_printers_truncated = vi->admin_printers_truncated;
    return true;
}

static bool register_out(panp_v1_Register *m, const panp_register *v)
{
    if (!target_out(&m->has_target, &m->target, &v->target))
        return false;
    PUT_BYTES(m->notification_type, v->notification_type);
    m->user_filter = (panp_v1_UserFilter)v->user_filter;
    m->style = (panp_v1_ConversationStyle)v->style;
    m->lease_seconds = v->lease_seconds;
    PUT_BYTES(m->client_state, v->client_state);
    return true;
}

static bool info_out(panp_v1_RegistrationInfo *i, const panp_registration_info *vi)
{
    PUT_BYTES(i->handle, vi->handle);
    PUT_STR(i->user, vi->user);
    if (!target_out(&i->has_target, &i->target, &vi->target))
        return false;
    PUT_BYTES(i->notification_type, vi->notification_type);
    i->user_filter = (panp_v1_UserFilter)vi->user_filter;
    i->style = (panp_v1_ConversationStyle)vi->style;
    i->lease_remaining_seconds = vi->lease_remaining_seconds;
    return true;
}

static bool registration_list_out(panp_v1_RegistrationList *m, const panp_registration_list *v)
{
    if (v->registrations_count > sizeof m->registrations / sizeof m->registrations[0])
        return false;
    for (size_t k = 0; k < v->registrations_count; k++)
        if (!info_out(&m->registrations[k], &v->registrations[k]))
            return false;
    m->registrations_count = (pb_size_t)v->registrations_count;
    m->total = v->total;
    return true;
}

static bool notify_out(panp_v1_Notify *m, const panp_notify *v)
{
    PUT_BYTES(m->registration, v->registration);
    m->conversation_id = v->conversation_id;
    PUT_BYTES(m->client_state, v->client_state);
    m->channel_id = v->channel_id;
    m->sequence = v->sequence;
    PUT_BYTES(m->notification_type, v->notification_type);
    m->style = (panp_v1_ConversationStyle)v->style;
    m->has_sender = v->has_sender;
    if (v->has_sender) {
        PUT_STR(m->sender.user, v->sender.user);
        m->sender.job_id = v->sender.job_id;
        PUT_STR(m->sender.job_owner, v->sender.job_owner);
    }
    if (!target_out(&m->has_target, &m->target, &v->target))
        return false;
    PUT_BYTES(m->payload, v->payload);
    return true;
}

static bool reply_delivery_out(panp_v1_ReplyDelivery *m, const panp_reply_delivery *v)
{
    m->channel_id = v->channel_id;
    m->sequence = v->sequence;
    PUT_STR(m->responder, v->responder);
    PUT_BYTES(m->notification_type, v->notification_type);
    PUT_BYTES(m->payload, v->payload);
    return true;
}

static bool open_channel_out(panp_v1_OpenChannel *m, const panp_open_channel *v)
{
    if (!target_out(&m->has_target, &m->target, &v->target))
        return false;
    PUT_BYTES(m->notification_type, v->notification_type);
    m->user_filter = (panp_v1_UserFilter)v->user_filter;
    m->style = (panp_v1_ConversationStyle)v->style;
    m->has_on_behalf_of = v->has_on_behalf_of;
    if (v->has_on_behalf_of) {
        m->on_behalf_of.job_id = v->on_behalf_of.job_id;
        PUT_STR(m->on_behalf_of.job_owner, v->on_behalf_of.job_owner);
        PUT_STR(m->on_behalf_of.session_label, v->on_behalf_of.session_label);
    }
    return true;
}

static bool close_channel_out(panp_v1_CloseChannel *m, const panp_close_channel *v)
{
    m->which_side = 0;
    if (v->side == PANP_CLOSE_SIDE_CHANNEL) {
        m->which_side = panp_v1_CloseChannel_channel_id_tag;
        m->side.channel_id = v->id;
    } else if (v->side == PANP_CLOSE_SIDE_CONVERSATION) {
        m->which_side = panp_v1_CloseChannel_conversation_id_tag;
        m->side.conversation_id = v->id;
    }
    m->has_reason = v->has_reason;
    if (v->has_reason) {
        PUT_BYTES(m->reason.notification_type, v->reason.notification_type);
        PUT_BYTES(m->reason.payload, v->reason.payload);
    }
    return true;
}

static bool channel_closed_out(panp_v1_ChannelClosed *m, const panp_channel_closed *v)
{
    m->channel_id = v->channel_id;
    m->conversation_id = v->conversation_id;
    PUT_BYTES(m->registration, v->registration);
    m->reason = (panp_v1_CloseReason)v->reason;
    PUT_BYTES(m->notification_type, v->notification_type);
    PUT_BYTES(m->payload, v->payload);
    return true;
}

static bool small_out(void *body, const panp_frame *v)
{
    switch (v->kind) {
    case PANP_BODY_SEND: {
        panp_v1_Send *m = body;
        m->channel_id = v->body.send.channel_id;
        PUT_BYTES(m->notification_type, v->body.send.notification_type);
        PUT_BYTES(m->payload, v->body.send.payload);
        return true;
    }
    case PANP_BODY_SENT: {
        panp_v1_Sent *m = body;
        m->sequence = v->body.sent.sequence;
        m->recipients = v->body.sent.recipients;
        return true;
    }
    case PANP_BODY_REPLY: {
        panp_v1_Reply *m = body;
        m->conversation_id = v->body.reply.conversation_id;
        PUT_BYTES(m->notification_type, v->body.reply.notification_type);
        PUT_BYTES(m->payload, v->body.reply.payload);
        return true;
    }
    case PANP_BODY_ERROR: {
        panp_v1_Error *m = body;
        m->code = (panp_v1_ErrorCode)v->body.error.code;
        PUT_STR(m->message, v->body.error.message);
        PUT_STR(m->field, v->body.error.field);
        m->fatal = v->body.error.fatal;
        return true;
    }
    case PANP_BODY_OK:
        ((panp_v1_Ok *)body)->info = (panp_v1_OkInfo)v->body.ok.info;
        return true;
    case PANP_BODY_REGISTERED: {
        panp_v1_Registered *m = body;
        PUT_BYTES(m->handle, v->body.registered.handle);
        m->lease_seconds = v->body.registered.lease_seconds;
        return true;
    }
    case PANP_BODY_RENEW: {
        panp_v1_Renew *m = body;
        PUT_BYTES(m->handle, v->body.renew.handle);
        m->lease_seconds = v->body.renew.lease_seconds;
        return true;
    }
    case PANP_BODY_RENEWED:
        ((panp_v1_Renewed *)body)->lease_seconds = v->body.renewed.lease_seconds;
        return true;
    case PANP_BODY_UNREGISTER:
        PUT_BYTES(((panp_v1_Unregister *)body)->handle, v->body.unregister.handle);
        return true;
    case PANP_BODY_LIST_REGISTRATIONS: {
        panp_v1_ListRegistrations *m = body;
        m->offset = v->body.list_registrations.offset;
        return target_out(&m->has_target, &m->target, &v->body.list_registrations.target);
    }
    case PANP_BODY_CHANNEL_OPENED:
        ((panp_v1_ChannelOpened *)body)->channel_id = v->body.channel_opened.channel_id;
        return true;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        ((panp_v1_ChannelCloseResult *)body)->outcome =
            (panp_v1_CloseOutcome)v->body.channel_close_result.outcome;
        return true;
    case PANP_BODY_REGISTRATION_ENDED: {
        panp_v1_RegistrationEnded *m = body;
        PUT_BYTES(m->handle, v->body.registration_ended.handle);
        m->reason = (panp_v1_RegistrationEndReason)v->body.registration_ended.reason;
        return true;
    }
    case PANP_BODY_GOODBYE: {
        panp_v1_Goodbye *m = body;
        m->reason = (panp_v1_GoodbyeReason)v->body.goodbye.reason;
        PUT_STR(m->message, v->body.goodbye.message);
        return true;
    }
    default: /* ping, pong */
        return true;
    }
}

static bool body_out(void *body, const panp_frame *v)
{
    switch (v->kind) {
    case PANP_BODY_NOTIFY:
        return notify_out(body, &v->body.notify);
    case PANP_BODY_REPLY_DELIVERY:
        return reply_delivery_out(body, &v->body.reply_delivery);
    case PANP_BODY_CHANNEL_CLOSED:
        return channel_closed_out(body, &v->body.channel_closed);
    case PANP_BODY_HELLO:
        return hello_out(body, &v->body.hello);
    case PANP_BODY_WELCOME:
        return welcome_out(body, &v->body.welcome);
    case PANP_BODY_REGISTER:
        return register_out(body, &v->body.register_listener);
    case PANP_BODY_REGISTRATION_LIST:
        return registration_list_out(body, &v->body.registration_list);
    case PANP_BODY_OPEN_CHANNEL:
        return open_channel_out(body, &v->body.open_channel);
    case PANP_BODY_CLOSE_CHANNEL:
        return close_channel_out(body, &v->body.close_channel);
    default:
        return small_out(body, v);
    }
}

/* The Frame level by hand through nanopb's own primitives: request_id,
 * then the body's tag and length, then pb_encode() of the body -- what
 * pb_encode() of a Frame would emit, without a Frame struct (a 63 KiB
 * union) and without nanopb's sizing pass (the length is known). */
static bool frame_write(pb_ostream_t *os, const panp_frame *f, const pb_msgdesc_t *desc,
                        const void *body, size_t body_size)
{
    if (f->request_id &&
        (!pb_encode_tag(os, PB_WT_VARINT, panp_v1_Frame_request_id_tag) ||
         !pb_encode_varint(os, f->request_id)))
        return false;
    return pb_encode_tag(os, PB_WT_STRING, (uint32_t)f->kind) &&
           pb_encode_varint(os, body_size) && pb_encode(os, desc, body);
}

panp_error_code npb_encode(const panp_frame *f, uint8_t *buf, size_t size, void *storage,
                           size_t storage_size, panp_status *st)
{
    npb_body b = body_of(f->kind);
    if (!b.desc)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "frame",
                               "unknown body kind %d", (int)f->kind);
    if (!storage || storage_size < b.size || ((uintptr_t)storage & (ALIGN - 1)))
        return panp_status_set(st, PANP_ERR_RESOURCE_EXHAUSTED, SIZE_MAX, "frame",
                               "nanopb needs %zu aligned bytes of storage, got %zu", b.size,
                               storage_size);
    npb_clear(f->kind, storage, b.size);
    if (!body_out(storage, f))
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame",
                               "a field does not fit its nanopb array");
    /* The stream is bounded by size: a disagreement fails, never overflows. */
    pb_ostream_t os = pb_ostream_from_buffer(buf, size);
    if (!frame_write(&os, f, b.desc, storage, view_body_size(f)) || os.bytes_written != size)
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame",
                               "nanopb disagrees with panp about the size (%zu bytes): %s", size,
                               PB_GET_ERROR(&os));
    return PANP_ERR_UNSPECIFIED;
}
