/* backend_pbc.c - the protobuf-c backend (hosts).
 *
 * Decode: protobuf_c_message_unpack() of the body with an arena allocator, so one frame
 * costs one heap block (two for pathological frames), a failed allocation
 * is an error value, and nothing needs freeing message by message; then the
 * protobuf-c structs are mirrored into the panp_frame view, whose strings
 * and bytes point into them.  Encode: the view is mirrored into protobuf-c
 * structs on the stack (pointers only, no copies) and packed.
 */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "panp/v1/panp.pb-c.h"

#include "backend.h"

/* ---- arena allocator ------------------------------------------------------
 * protobuf-c asks for the message structs, every string and bytes value,
 * repeated arrays, unknown fields and its own scan slabs (about 80 bytes per
 * field on the wire, never returned until the end).  A field is at least 2
 * bytes, so 64 bytes of arena per frame byte plus room for the structs the
 * schema bounds (32 RegistrationInfo with their Targets) always suffices:
 * that is the budget.  Typical frames need their length plus about 300
 * bytes (measured over the positive vectors), so the first block is sized
 * for that and stays within glibc's per-thread cache (<= 1032 bytes) for
 * frames up to ~400 bytes; more comes from the heap, in chunks, on demand. */
enum { PER_BYTE = 64, FIXED = 32 * 1024, INLINE_FIXED = 320 };

size_t pbc_storage_size(size_t frame_len)
{
    return INLINE_FIXED + frame_len + frame_len / 8;
}

size_t pbc_heap_budget(size_t frame_len)
{
    return FIXED + PER_BYTE * frame_len;
}

static void *arena_alloc_cb(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void arena_free_cb(void *data, void *ptr)
{
    (void)data; /* the arena is released as a whole */
    (void)ptr;
}

/* ---- protobuf-c -> view ------------------------------------------------- */

static const char *str_in(const char *s)
{
    return s ? s : "";
}

static panp_bytes bin_in(ProtobufCBinaryData b)
{
    panp_bytes r = {b.len ? b.data : NULL, b.len};
    return r;
}

static void target_in(panp_target *v, const Panp__V1__Target *m)
{
    v->printer = "";
    if (!m) {
        v->kind = PANP_TARGET_NONE;
    } else if (m->kind_case == PANP__V1__TARGET__KIND_SERVER) {
        v->kind = PANP_TARGET_SERVER;
    } else if (m->kind_case == PANP__V1__TARGET__KIND_PRINTER) {
        v->kind = PANP_TARGET_PRINTER;
        v->printer = str_in(m->printer);
    } else {
        v->kind = PANP_TARGET_EMPTY;
    }
}

static void notification_in(panp_notification *v, const Panp__V1__Notification *m)
{
    v->notification_type = bin_in(m->notification_type);
    v->payload = bin_in(m->payload);
}

static void hello_in(panp_hello *v, const Panp__V1__Hello *m)
{
    v->min_version = m->min_version;
    v->max_version = m->max_version;
    v->software = str_in(m->software);
    v->auth = (panp_auth)m->auth;
    v->token = bin_in(m->token);
    v->session_label = str_in(m->session_label);
    v->max_frame_size = m->max_frame_size;
}

static void limits_in(panp_limits *v, const Panp__V1__Limits *m)
{
    v->max_frame_size = m->max_frame_size;
    v->max_registrations = m->max_registrations;
    v->max_channels = m->max_channels;
    v->keepalive_interval_ms = m->keepalive_interval_ms;
    v->keepalive_timeout_ms = m->keepalive_timeout_ms;
    v->max_lease_seconds = m->max_lease_seconds;
    v->max_outbound_bytes = m->max_outbound_bytes;
}

static void identity_in(panp_identity *v, const Panp__V1__Identity *m)
{
    v->user = str_in(m->user);
    v->server_admin = m->server_admin;
    /* protobuf-c's char ** is exactly the view's array: no copy. */
    v->admin_printers = (const char *const *)m->admin_printers;
    v->admin_printers_count = m->n_admin_printers;
    v->may_open_channels = m->may_open_channels;
    v->trusted = m->trusted;
    v->admin_printers_truncated = m->admin_printers_truncated;
}

static void welcome_in(panp_welcome *v, const Panp__V1__Welcome *m)
{
    v->version = m->version;
    v->software = str_in(m->software);
    v->server_name = str_in(m->server_name);
    v->has_limits = m->limits != NULL;
    if (m->limits)
        limits_in(&v->limits, m->limits);
    v->has_identity = m->identity != NULL;
    v->identity.user = "";
    if (m->identity)
        identity_in(&v->identity, m->identity);
}

static void register_in(panp_register *v, const Panp__V1__Register *m)
{
    target_in(&v->target, m->target);
    v->notification_type = bin_in(m->notification_type);
    v->user_filter = (panp_user_filter)m->user_filter;
    v->style = (panp_style)m->style;
    v->lease_seconds = m->lease_seconds;
    v->client_state = bin_in(m->client_state);
}

static void info_in(panp_registration_info *v, const Panp__V1__RegistrationInfo *m)
{
    v->handle = bin_in(m->handle);
    v->user = str_in(m->user);
    target_in(&v->target, m->target);
    v->notification_type = bin_in(m->notification_type);
    v->user_filter = (panp_user_filter)m->user_filter;
    v->style = (panp_style)m->style;
    v->lease_remaining_seconds = m->lease_remaining_seconds;
}

static panp_error_code registration_list_in(panp_registration_list *v,
                                            const Panp__V1__RegistrationList *m, arena *a)
{
    v->total = m->total;
    v->registrations_count = m->n_registrations;
    v->registrations = NULL;
    if (!m->n_registrations)
        return PANP_ERR_UNSPECIFIED;
    panp_registration_info *infos = arena_alloc(a, m->n_registrations * sizeof *infos);
    if (!infos)
        return PANP_ERR_RESOURCE_EXHAUSTED;
    for (size_t i = 0; i < m->n_registrations; i++)
        info_in(&infos[i], m->registrations[i]);
    v->registrations = infos;
    return PANP_ERR_UNSPECIFIED;
}

static void notify_in(panp_notify *v, const Panp__V1__Notify *m)
{
    v->registration = bin_in(m->registration);
    v->conversation_id = m->conversation_id;
    v->client_state = bin_in(m->client_state);
    v->channel_id = m->channel_id;
    v->sequence = m->sequence;
    v->notification_type = bin_in(m->notification_type);
    v->style = (panp_style)m->style;
    v->has_sender = m->sender != NULL;
    v->sender.user = v->sender.job_owner = "";
    if (m->sender) {
        v->sender.user = str_in(m->sender->user);
        v->sender.job_id = m->sender->job_id;
        v->sender.job_owner = str_in(m->sender->job_owner);
    }
    target_in(&v->target, m->target);
    v->payload = bin_in(m->payload);
}

static void reply_delivery_in(panp_reply_delivery *v, const Panp__V1__ReplyDelivery *m)
{
    v->channel_id = m->channel_id;
    v->sequence = m->sequence;
    v->responder = str_in(m->responder);
    v->notification_type = bin_in(m->notification_type);
    v->payload = bin_in(m->payload);
}

static void open_channel_in(panp_open_channel *v, const Panp__V1__OpenChannel *m)
{
    target_in(&v->target, m->target);
    v->notification_type = bin_in(m->notification_type);
    v->user_filter = (panp_user_filter)m->user_filter;
    v->style = (panp_style)m->style;
    v->has_on_behalf_of = m->on_behalf_of != NULL;
    v->on_behalf_of.job_owner = v->on_behalf_of.session_label = "";
    if (m->on_behalf_of) {
        v->on_behalf_of.job_id = m->on_behalf_of->job_id;
        v->on_behalf_of.job_owner = str_in(m->on_behalf_of->job_owner);
        v->on_behalf_of.session_label = str_in(m->on_behalf_of->session_label);
    }
}

static void close_channel_in(panp_close_channel *v, const Panp__V1__CloseChannel *m)
{
    v->side = PANP_CLOSE_SIDE_NONE;
    if (m->side_case == PANP__V1__CLOSE_CHANNEL__SIDE_CHANNEL_ID) {
        v->side = PANP_CLOSE_SIDE_CHANNEL;
        v->id = m->channel_id;
    } else if (m->side_case == PANP__V1__CLOSE_CHANNEL__SIDE_CONVERSATION_ID) {
        v->side = PANP_CLOSE_SIDE_CONVERSATION;
        v->id = m->conversation_id;
    }
    v->has_reason = m->reason != NULL;
    if (m->reason)
        notification_in(&v->reason, m->reason);
}

static void channel_closed_in(panp_channel_closed *v, const Panp__V1__ChannelClosed *m)
{
    v->channel_id = m->channel_id;
    v->conversation_id = m->conversation_id;
    v->registration = bin_in(m->registration);
    v->reason = (panp_close_reason)m->reason;
    v->notification_type = bin_in(m->notification_type);
    v->payload = bin_in(m->payload);
}

static void error_in(panp_error_msg *v, const Panp__V1__Error *m)
{
    v->code = (panp_error_code)m->code;
    v->message = str_in(m->message);
    v->field = str_in(m->field);
    v->fatal = m->fatal;
}

/* Bodies with one or two scalar fields. */
static void small_in(panp_frame *v, const void *body)
{
    switch (v->kind) {
    case PANP_BODY_SEND: {
        const Panp__V1__Send *m = body;
        v->body.send.channel_id = m->channel_id;
        v->body.send.notification_type = bin_in(m->notification_type);
        v->body.send.payload = bin_in(m->payload);
        break;
    }
    case PANP_BODY_SENT: {
        const Panp__V1__Sent *m = body;
        v->body.sent.sequence = m->sequence;
        v->body.sent.recipients = m->recipients;
        break;
    }
    case PANP_BODY_REPLY: {
        const Panp__V1__Reply *m = body;
        v->body.reply.conversation_id = m->conversation_id;
        v->body.reply.notification_type = bin_in(m->notification_type);
        v->body.reply.payload = bin_in(m->payload);
        break;
    }
    case PANP_BODY_OK:
        v->body.ok.info = (panp_ok_info)((const Panp__V1__Ok *)body)->info;
        break;
    case PANP_BODY_REGISTERED: {
        const Panp__V1__Registered *m = body;
        v->body.registered.handle = bin_in(m->handle);
        v->body.registered.lease_seconds = m->lease_seconds;
        break;
    }
    case PANP_BODY_RENEW: {
        const Panp__V1__Renew *m = body;
        v->body.renew.handle = bin_in(m->handle);
        v->body.renew.lease_seconds = m->lease_seconds;
        break;
    }
    case PANP_BODY_RENEWED:
        v->body.renewed.lease_seconds = ((const Panp__V1__Renewed *)body)->lease_seconds;
        break;
    case PANP_BODY_UNREGISTER:
        v->body.unregister.handle = bin_in(((const Panp__V1__Unregister *)body)->handle);
        break;
    case PANP_BODY_LIST_REGISTRATIONS: {
        const Panp__V1__ListRegistrations *m = body;
        target_in(&v->body.list_registrations.target, m->target);
        v->body.list_registrations.offset = m->offset;
        break;
    }
    case PANP_BODY_CHANNEL_OPENED:
        v->body.channel_opened.channel_id = ((const Panp__V1__ChannelOpened *)body)->channel_id;
        break;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        v->body.channel_close_result.outcome =
            (panp_close_outcome)((const Panp__V1__ChannelCloseResult *)body)->outcome;
        break;
    case PANP_BODY_REGISTRATION_ENDED: {
        const Panp__V1__RegistrationEnded *m = body;
        v->body.registration_ended.handle = bin_in(m->handle);
        v->body.registration_ended.reason = (panp_reg_end_reason)m->reason;
        break;
    }
    case PANP_BODY_GOODBYE: {
        const Panp__V1__Goodbye *m = body;
        v->body.goodbye.reason = (panp_goodbye_reason)m->reason;
        v->body.goodbye.message = str_in(m->message);
        break;
    }
    default: /* ping, pong: no fields */
        break;
    }
}

static panp_error_code body_in(panp_frame *v, const void *body, arena *a)
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
    case PANP_BODY_ERROR:
        error_in(&v->body.error, body);
        break;
    case PANP_BODY_HELLO:
        hello_in(&v->body.hello, body);
        break;
    case PANP_BODY_WELCOME:
        welcome_in(&v->body.welcome, body);
        break;
    case PANP_BODY_REGISTER:
        register_in(&v->body.register_listener, body);
        break;
    case PANP_BODY_REGISTRATION_LIST:
        return registration_list_in(&v->body.registration_list, body, a);
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
    return PANP_ERR_UNSPECIFIED;
}

/* The descriptor of each body message.  Like the nanopb backend, only the
 * body is unpacked: the scanner already found it and read request_id, and
 * a Frame level would cost protobuf-c one more scan, struct and arena
 * allocation per frame. */
static const ProtobufCMessageDescriptor *body_descriptor(panp_body_kind kind)
{
    switch (kind) {
#define D(K, name)                                                                                \
    case PANP_BODY_##K:                                                                           \
        return &panp__v1__##name##__descriptor;
        D(NOTIFY, notify)
        D(SEND, send)
        D(SENT, sent)
        D(REPLY, reply)
        D(REPLY_DELIVERY, reply_delivery)
        D(CHANNEL_CLOSED, channel_closed)
        D(PING, ping)
        D(PONG, pong)
        D(ERROR, error)
        D(OK, ok)
        D(HELLO, hello)
        D(WELCOME, welcome)
        D(REGISTER, register)
        D(REGISTERED, registered)
        D(RENEW, renew)
        D(RENEWED, renewed)
        D(UNREGISTER, unregister)
        D(LIST_REGISTRATIONS, list_registrations)
        D(REGISTRATION_LIST, registration_list)
        D(OPEN_CHANNEL, open_channel)
        D(CHANNEL_OPENED, channel_opened)
        D(CLOSE_CHANNEL, close_channel)
        D(CHANNEL_CLOSE_RESULT, channel_close_result)
        D(REGISTRATION_ENDED, registration_ended)
        D(GOODBYE, goodbye)
#undef D
    case PANP_BODY_NONE:
        break;
    }
    return NULL;
}

panp_error_code pbc_decode(const uint8_t *buf, const wire_info *wi, arena *a, panp_frame *out,
                           panp_status *st)
{
    const ProtobufCMessageDescriptor *desc = body_descriptor(wi->kind);
    if (!desc)
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame", "no body %d",
                               (int)wi->kind);
    ProtobufCAllocator alloc = {arena_alloc_cb, arena_free_cb, a};
    ProtobufCMessage *body =
        protobuf_c_message_unpack(desc, &alloc, wi->body_len, buf + wi->body_off);
    if (!body && a->failed)
        return panp_status_set(st, PANP_ERR_RESOURCE_EXHAUSTED, SIZE_MAX, "frame",
                               "protobuf-c arena exhausted (%zu bytes)", a->size + a->grown);
    if (!body)
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame",
                               "protobuf-c rejected a frame the wire scanner accepted");
    memset(out, 0, sizeof *out);
    out->request_id = wi->request_id;
    out->kind = wi->kind;
    if (body_in(out, body, a))
        return panp_status_set(st, PANP_ERR_RESOURCE_EXHAUSTED, SIZE_MAX, "frame",
                               "protobuf-c arena exhausted");
    return PANP_ERR_UNSPECIFIED;
}

/* ---- view -> protobuf-c -------------------------------------------------
 * Everything lives in one scratch struct on the stack; strings and bytes
 * are pointed at, never copied (protobuf-c's char * is not written to). */

typedef struct pbc_scratch {
    Panp__V1__Frame frame;
    union {
        Panp__V1__Notify notify;
        Panp__V1__Send send;
        Panp__V1__Sent sent;
        Panp__V1__Reply reply;
        Panp__V1__ReplyDelivery reply_delivery;
        Panp__V1__ChannelClosed channel_closed;
        Panp__V1__Ping ping;
        Panp__V1__Pong pong;
        Panp__V1__Error error;
        Panp__V1__Ok ok;
        Panp__V1__Hello hello;
        Panp__V1__Welcome welcome;
        Panp__V1__Register register_listener;
        Panp__V1__Registered registered;
        Panp__V1__Renew renew;
        Panp__V1__Renewed renewed;
        Panp__V1__Unregister unregister;
        Panp__V1__ListRegistrations list_registrations;
        Panp__V1__RegistrationList registration_list;
        Panp__V1__OpenChannel open_channel;
        Panp__V1__ChannelOpened channel_opened;
        Panp__V1__CloseChannel close_channel;
        Panp__V1__ChannelCloseResult channel_close_result;
        Panp__V1__RegistrationEnded registration_ended;
        Panp__V1__Goodbye goodbye;
    } b;
    Panp__V1__ServerTarget server; /* empty: every Target may share it */
    Panp__V1__Target target;
    Panp__V1__SenderInfo sender;
    Panp__V1__Limits limits;
    Panp__V1__Identity identity;
    char *admin_printers[64];
    Panp__V1__JobContext job;
    Panp__V1__Notification reason;
    Panp__V1__RegistrationInfo infos[32];
    Panp__V1__RegistrationInfo *info_ptrs[32];
    Panp__V1__Target info_targets[32];
} pbc_scratch;

static char *str_out(const char *s)
{
    return (char *)(s ? s : ""); /* protobuf-c only reads it */
}

static ProtobufCBinaryData bin_out(panp_bytes b)
{
    ProtobufCBinaryData r = {b.len, (uint8_t *)b.data};
    return r;
}

static Panp__V1__Target *target_out(pbc_scratch *s, Panp__V1__Target *t, const panp_target *v)
{
    panp__v1__target__init(t);
    switch (v->kind) {
    case PANP_TARGET_SERVER:
        t->kind_case = PANP__V1__TARGET__KIND_SERVER;
        t->server = &s->server;
        return t;
    case PANP_TARGET_PRINTER:
        t->kind_case = PANP__V1__TARGET__KIND_PRINTER;
        t->printer = str_out(v->printer);
        return t;
    case PANP_TARGET_EMPTY:
        return t;
    default:
        return NULL;
    }
}

static void hello_out(Panp__V1__Hello *m, const panp_hello *v)
{
    panp__v1__hello__init(m);
    m->min_version = v->min_version;
    m->max_version = v->max_version;
    m->software = str_out(v->software);
    m->auth = (Panp__V1__AuthMechanism)v->auth;
    m->token = bin_out(v->token);
    m->session_label = str_out(v->session_label);
    m->max_frame_size = v->max_frame_size;
}

static void welcome_out(pbc_scratch *s, const panp_welcome *v)
{
    Panp__V1__Welcome *m = &s->b.welcome;
    panp__v1__welcome__init(m);
    m->version = v->version;
    m->software = str_out(v->software);
    m->server_name = str_out(v->server_name);
    if (v->has_limits) {
        Panp__V1__Limits *l = &s->limits;
        panp__v1__limits__init(l);
        l->max_frame_size = v->limits.max_frame_size;
        l->max_registrations = v->limits.max_registrations;
        l->max_channels = v->limits.max_channels;
        l->keepalive_interval_ms = v->limits.keepalive_interval_ms;
        l->keepalive_timeout_ms = v->limits.keepalive_timeout_ms;
        l->max_lease_seconds = v->limits.max_lease_seconds;
        l->max_outbound_bytes = v->limits.max_outbound_bytes;
        m->limits = l;
    }
    if (v->has_identity) {
        const panp_identity *vi = &v->identity;
        Panp__V1__Identity *i = &s->identity;
        panp__v1__identity__init(i);
        i->user = str_out(vi->user);
        i->server_admin = vi->server_admin;
        for (size_t k = 0; k < vi->admin_printers_count; k++)
            s->admin_printers[k] = str_out(vi->admin_printers[k]);
        i->n_admin_printers = vi->admin_printers_count;
        i->admin_printers = s->admin_printers;
        i->may_open_channels = vi->may_open_channels;
        i->trusted = vi->trusted;
        i->admin_printers_truncated = vi->admin_printers_truncated;
        m->identity = i;
    }
}

static void register_out(pbc_scratch *s, const panp_register *v)
{
    Panp__V1__Register *m = &s->b.register_listener;
    panp__v1__register__init(m);
    m->target = target_out(s, &s->target, &v->target);
    m->notification_type = bin_out(v->notification_type);
    m->user_filter = (Panp__V1__UserFilter)v->user_filter;
    m->style = (Panp__V1__ConversationStyle)v->style;
    m->lease_seconds = v->lease_seconds;
    m->client_state = bin_out(v->client_state);
}

static void registration_list_out(pbc_scratch *s, const panp_registration_list *v)
{
    Panp__V1__RegistrationList *m = &s->b.registration_list;
    panp__v1__registration_list__init(m);
    for (size_t k = 0; k < v->registrations_count; k++) {
        const panp_registration_info *vi = &v->registrations[k];
        Panp__V1__RegistrationInfo *i = &s->infos[k];
        panp__v1__registration_info__init(i);
        i->handle = bin_out(vi->handle);
        i->user = str_out(vi->user);
        i->target = target_out(s, &s->info_targets[k], &vi->target);
        i->notification_type = bin_out(vi->notification_type);
        i->user_filter = (Panp__V1__UserFilter)vi->user_filter;
        i->style = (Panp__V1__ConversationStyle)vi->style;
        i->lease_remaining_seconds = vi->lease_remaining_seconds;
        s->info_ptrs[k] = i;
    }
    m->n_registrations = v->registrations_count;
    m->registrations = s->info_ptrs;
    m->total = v->total;
}

static void notify_out(pbc_scratch *s, const panp_notify *v)
{
    Panp__V1__Notify *m = &s->b.notify;
    panp__v1__notify__init(m);
    m->registration = bin_out(v->registration);
    m->conversation_id = v->conversation_id;
    m->client_state = bin_out(v->client_state);
    m->channel_id = v->channel_id;
    m->sequence = v->sequence;
    m->notification_type = bin_out(v->notification_type);
    m->style = (Panp__V1__ConversationStyle)v->style;
    if (v->has_sender) {
        panp__v1__sender_info__init(&s->sender);
        s->sender.user = str_out(v->sender.user);
        s->sender.job_id = v->sender.job_id;
        s->sender.job_owner = str_out(v->sender.job_owner);
        m->sender = &s->sender;
    }
    m->target = target_out(s, &s->target, &v->target);
    m->payload = bin_out(v->payload);
}

static void open_channel_out(pbc_scratch *s, const panp_open_channel *v)
{
    Panp__V1__OpenChannel *m = &s->b.open_channel;
    panp__v1__open_channel__init(m);
    m->target = target_out(s, &s->target, &v->target);
    m->notification_type = bin_out(v->notification_type);
    m->user_filter = (Panp__V1__UserFilter)v->user_filter;
    m->style = (Panp__V1__ConversationStyle)v->style;
    if (v->has_on_behalf_of) {
        panp__v1__job_context__init(&s->job);
        s->job.job_id = v->on_behalf_of.job_id;
        s->job.job_owner = str_out(v->on_behalf_of.job_owner);
        s->job.session_label = str_out(v->on_behalf_of.session_label);
        m->on_behalf_of = &s->job;
    }
}

static void close_channel_out(pbc_scratch *s, const panp_close_channel *v)
{
    Panp__V1__CloseChannel *m = &s->b.close_channel;
    panp__v1__close_channel__init(m);
    if (v->side == PANP_CLOSE_SIDE_CHANNEL) {
        m->side_case = PANP__V1__CLOSE_CHANNEL__SIDE_CHANNEL_ID;
        m->channel_id = v->id;
    } else if (v->side == PANP_CLOSE_SIDE_CONVERSATION) {
        m->side_case = PANP__V1__CLOSE_CHANNEL__SIDE_CONVERSATION_ID;
        m->conversation_id = v->id;
    }
    if (v->has_reason) {
        panp__v1__notification__init(&s->reason);
        s->reason.notification_type = bin_out(v->reason.notification_type);
        s->reason.payload = bin_out(v->reason.payload);
        m->reason = &s->reason;
    }
}

static void channel_closed_out(Panp__V1__ChannelClosed *m, const panp_channel_closed *v)
{
    panp__v1__channel_closed__init(m);
    m->channel_id = v->channel_id;
    m->conversation_id = v->conversation_id;
    m->registration = bin_out(v->registration);
    m->reason = (Panp__V1__CloseReason)v->reason;
    m->notification_type = bin_out(v->notification_type);
    m->payload = bin_out(v->payload);
}

static void reply_delivery_out(Panp__V1__ReplyDelivery *m, const panp_reply_delivery *v)
{
    panp__v1__reply_delivery__init(m);
    m->channel_id = v->channel_id;
    m->sequence = v->sequence;
    m->responder = str_out(v->responder);
    m->notification_type = bin_out(v->notification_type);
    m->payload = bin_out(v->payload);
}

/* Small bodies: returns the body message, initialised and filled. */
static ProtobufCMessage *small_out(pbc_scratch *s, const panp_frame *v)
{
    switch (v->kind) {
    case PANP_BODY_SEND:
        panp__v1__send__init(&s->b.send);
        s->b.send.channel_id = v->body.send.channel_id;
        s->b.send.notification_type = bin_out(v->body.send.notification_type);
        s->b.send.payload = bin_out(v->body.send.payload);
        return &s->b.send.base;
    case PANP_BODY_SENT:
        panp__v1__sent__init(&s->b.sent);
        s->b.sent.sequence = v->body.sent.sequence;
        s->b.sent.recipients = v->body.sent.recipients;
        return &s->b.sent.base;
    case PANP_BODY_REPLY:
        panp__v1__reply__init(&s->b.reply);
        s->b.reply.conversation_id = v->body.reply.conversation_id;
        s->b.reply.notification_type = bin_out(v->body.reply.notification_type);
        s->b.reply.payload = bin_out(v->body.reply.payload);
        return &s->b.reply.base;
    case PANP_BODY_PING:
        panp__v1__ping__init(&s->b.ping);
        return &s->b.ping.base;
    case PANP_BODY_PONG:
        panp__v1__pong__init(&s->b.pong);
        return &s->b.pong.base;
    case PANP_BODY_ERROR:
        panp__v1__error__init(&s->b.error);
        s->b.error.code = (Panp__V1__ErrorCode)v->body.error.code;
        s->b.error.message = str_out(v->body.error.message);
        s->b.error.field = str_out(v->body.error.field);
        s->b.error.fatal = v->body.error.fatal;
        return &s->b.error.base;
    case PANP_BODY_OK:
        panp__v1__ok__init(&s->b.ok);
        s->b.ok.info = (Panp__V1__OkInfo)v->body.ok.info;
        return &s->b.ok.base;
    case PANP_BODY_REGISTERED:
        panp__v1__registered__init(&s->b.registered);
        s->b.registered.handle = bin_out(v->body.registered.handle);
        s->b.registered.lease_seconds = v->body.registered.lease_seconds;
        return &s->b.registered.base;
    case PANP_BODY_RENEW:
        panp__v1__renew__init(&s->b.renew);
        s->b.renew.handle = bin_out(v->body.renew.handle);
        s->b.renew.lease_seconds = v->body.renew.lease_seconds;
        return &s->b.renew.base;
    case PANP_BODY_RENEWED:
        panp__v1__renewed__init(&s->b.renewed);
        s->b.renewed.lease_seconds = v->body.renewed.lease_seconds;
        return &s->b.renewed.base;
    case PANP_BODY_UNREGISTER:
        panp__v1__unregister__init(&s->b.unregister);
        s->b.unregister.handle = bin_out(v->body.unregister.handle);
        return &s->b.unregister.base;
    case PANP_BODY_LIST_REGISTRATIONS:
        panp__v1__list_registrations__init(&s->b.list_registrations);
        s->b.list_registrations.target =
            target_out(s, &s->target, &v->body.list_registrations.target);
        s->b.list_registrations.offset = v->body.list_registrations.offset;
        return &s->b.list_registrations.base;
    case PANP_BODY_CHANNEL_OPENED:
        panp__v1__channel_opened__init(&s->b.channel_opened);
        s->b.channel_opened.channel_id = v->body.channel_opened.channel_id;
        return &s->b.channel_opened.base;
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        panp__v1__channel_close_result__init(&s->b.channel_close_result);
        s->b.channel_close_result.outcome =
            (Panp__V1__CloseOutcome)v->body.channel_close_result.outcome;
        return &s->b.channel_close_result.base;
    case PANP_BODY_REGISTRATION_ENDED:
        panp__v1__registration_ended__init(&s->b.registration_ended);
        s->b.registration_ended.handle = bin_out(v->body.registration_ended.handle);
        s->b.registration_ended.reason =
            (Panp__V1__RegistrationEndReason)v->body.registration_ended.reason;
        return &s->b.registration_ended.base;
    case PANP_BODY_GOODBYE:
        panp__v1__goodbye__init(&s->b.goodbye);
        s->b.goodbye.reason = (Panp__V1__GoodbyeReason)v->body.goodbye.reason;
        s->b.goodbye.message = str_out(v->body.goodbye.message);
        return &s->b.goodbye.base;
    default:
        return NULL;
    }
}

/* The body message for the frame's kind, filled from the view. */
static ProtobufCMessage *body_out(pbc_scratch *s, const panp_frame *v)
{
    switch (v->kind) {
    case PANP_BODY_NOTIFY:
        notify_out(s, &v->body.notify);
        return &s->b.notify.base;
    case PANP_BODY_REPLY_DELIVERY:
        reply_delivery_out(&s->b.reply_delivery, &v->body.reply_delivery);
        return &s->b.reply_delivery.base;
    case PANP_BODY_CHANNEL_CLOSED:
        channel_closed_out(&s->b.channel_closed, &v->body.channel_closed);
        return &s->b.channel_closed.base;
    case PANP_BODY_HELLO:
        hello_out(&s->b.hello, &v->body.hello);
        return &s->b.hello.base;
    case PANP_BODY_WELCOME:
        welcome_out(s, &v->body.welcome);
        return &s->b.welcome.base;
    case PANP_BODY_REGISTER:
        register_out(s, &v->body.register_listener);
        return &s->b.register_listener.base;
    case PANP_BODY_REGISTRATION_LIST:
        registration_list_out(s, &v->body.registration_list);
        return &s->b.registration_list.base;
    case PANP_BODY_OPEN_CHANNEL:
        open_channel_out(s, &v->body.open_channel);
        return &s->b.open_channel.base;
    case PANP_BODY_CLOSE_CHANNEL:
        close_channel_out(s, &v->body.close_channel);
        return &s->b.close_channel.base;
    default:
        return small_out(s, v);
    }
}

panp_error_code pbc_encode(const panp_frame *f, uint8_t *buf, size_t size, panp_status *st)
{
    pbc_scratch s;
    panp__v1__server_target__init(&s.server);
    panp__v1__frame__init(&s.frame);
    ProtobufCMessage *body = body_out(&s, f);
    if (!body)
        return panp_status_set(st, PANP_ERR_INVALID_ARGUMENT, SIZE_MAX, "frame",
                               "unknown body kind %d", (int)f->kind);
    s.frame.request_id = f->request_id;
    s.frame.body_case = (Panp__V1__Frame__BodyCase)f->kind;
    /* Every body member of the union is a message pointer at one offset. */
    s.frame.notify = (Panp__V1__Notify *)body;
    /* The size check guards buf: pack() trusts its caller. */
    size_t packed = protobuf_c_message_get_packed_size(&s.frame.base);
    if (packed != size)
        return panp_status_set(st, PANP_ERR_INTERNAL, SIZE_MAX, "frame",
                               "protobuf-c sizes the frame at %zu bytes, panp at %zu", packed, size);
    protobuf_c_message_pack(&s.frame.base, buf);
    return PANP_ERR_UNSPECIFIED;
}
