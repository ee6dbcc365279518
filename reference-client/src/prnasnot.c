/* prnasnot.c - the Windows-shaped facade (panp/prnasnot.h) over the
 * blocking libpanp API.
 *
 * Channel objects count two kinds of holders: the application (refs, from
 * CreatePrintAsyncNotifyChannel and AddRef) and the library while the
 * channel is open or a callback about it runs (live, borrow).  The memory
 * goes only when all three are zero, and a Release with nothing left to
 * release is ignored, so every sequence of CloseChannel, Release and
 * ChannelClosed the Windows rules allow, or forbid, is harmless here. */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "panp/prnasnot.h"

/* The same UUIDs as PANP_TYPE_* (test_unit checks), as constants. */
const PrintAsyncNotificationType NOTIFICATION_RELEASE =
    {{0xba, 0x9a, 0x50, 0x27, 0xa7, 0x0e, 0x4a, 0xe7,
      0x9b, 0x7d, 0xeb, 0x3e, 0x06, 0xad, 0x41, 0x57}};
const PrintAsyncNotificationType PRINT_ASYNC_NOTIFY_ASYNC_UI =
    {{0xf6, 0x85, 0x3f, 0x92, 0xeb, 0x31, 0x4e, 0x23,
      0xb6, 0xe7, 0xfd, 0x69, 0x05, 0x61, 0x53, 0xf0}};
const PrintAsyncNotificationType PRINT_ASYNC_NOTIFY_PRINTER_CONFIGURATION =
    {{0x2a, 0xba, 0xd2, 0x23, 0xb9, 0x94, 0x4a, 0xca,
      0x82, 0xfc, 0x45, 0x71, 0xb1, 0xb5, 0x85, 0xac}};
const PrintAsyncNotificationType PRINT_PORT_MONITOR_NOTIFY_CHANNEL =
    {{0x25, 0xdf, 0x3b, 0x0e, 0x74, 0xa9, 0x47, 0xf5,
      0x80, 0xce, 0x79, 0xb4, 0xb1, 0xeb, 0x5c, 0x58}};

typedef struct fchan fchan;
typedef struct freg freg;

struct PanpAsyncSession {
    panp_client *c;
    fchan *chans; /* every channel object not yet freed */
    freg *regs;   /* every registration handle */
    int depth;    /* facade calls on the stack */
    bool close_pending;
};

struct fchan {
    IPrintAsyncNotifyChannel iface; /* first: the object is its interface */
    ULONG refs;                     /* the application's */
    int borrow;                     /* callbacks about it running now */
    bool live;                      /* open: the library still reports on it */
    PanpAsyncSession *s;            /* NULL once the session closed */
    panp_channel *ch;               /* sender side */
    panp_conversation *cv;          /* listener side (retained) */
    IPrintAsyncNotifyCallback *cb;
    PrintAsyncNotificationType type;
    panp_close_reason reason;
    fchan *prev, *next;
};

struct freg {
    PanpAsyncSession *s;
    panp_registration *reg;
    IPrintAsyncNotifyCallback *cb;
    bool unregistered;
    freg *next;
};

typedef struct fdata {
    IPrintAsyncNotifyDataObject iface;
    ULONG refs;
    PrintAsyncNotificationType type;
    ULONG size;
    BYTE bytes[];
} fdata;

/* ---- errors --------------------------------------------------------------------- */

HRESULT PanpHresultFromError(panp_error_code code, PanpCall call)
{
    switch ((int)code) {
    case PANP_OK: return S_OK;
    case PANP_ERR_INVALID_ARGUMENT: return E_INVALIDARG;
    case PANP_ERR_UNAUTHENTICATED:
    case PANP_ERR_ACCESS_DENIED: return E_ACCESSDENIED;
    case PANP_ERR_NOT_FOUND:
        return call == PANP_CALL_UNREGISTER ? PANP_HR_ERROR(NOT_REGISTERED) : PANP_E_INVALID_NAME;
    case PANP_ERR_CHANNEL_NOT_OPENED: return PANP_HR_ERROR(CHANNEL_NOT_OPENED);
    case PANP_ERR_CHANNEL_ALREADY_CLOSED: return PANP_HR_ERROR(CHANNEL_ALREADY_CLOSED);
    case PANP_ERR_TYPE_MISMATCH: return PANP_HR_ERROR(INVALID_NOTIFICATION_TYPE);
    case PANP_ERR_RESOURCE_EXHAUSTED:
        if (call == PANP_CALL_REGISTER)
            return PANP_HR_ERROR(MAX_REGISTRATION_COUNT_EXCEEDED);
        if (call == PANP_CALL_CREATE_CHANNEL)
            return PANP_HR_ERROR(MAX_CHANNEL_COUNT_EXCEEDED);
        return PANP_HR_ERROR(INTERNAL_NOTIFICATION_QUEUE_IS_FULL);
    case PANP_ERR_FRAME_TOO_LARGE: return PANP_HR_ERROR(MAX_NOTIFICATION_SIZE_EXCEEDED);
    case PANP_ERR_ALREADY_REGISTERED: return PANP_HR_ERROR(ALREADY_REGISTERED);
    case PANP_ERR_AWAITING_REPLY: return PANP_HR_ERROR(CHANNEL_WAITING_FOR_CLIENT_NOTIFICATION);
    case PANP_ERR_NO_PENDING_QUESTION: return PANP_HR_ERROR(ASYNC_NOTIFICATION_FAILURE);
    case PANP_ERR_SHUTTING_DOWN: return PANP_HR_ERROR(CHANNEL_CLOSED_BY_SERVER);
    case (int)PANP_ERR_TIMEOUT: return PANP_E_TIMEOUT;
    case (int)PANP_ERR_IO:
    case (int)PANP_ERR_CONNECT:
    case (int)PANP_ERR_DISCONNECTED: return PANP_E_CONNECTION_LOST;
    case (int)PANP_ERR_NOMEM: return E_OUTOFMEMORY;
    default: return E_FAIL;
    }
}

static HRESULT close_hresult(panp_close_result r)
{
    switch (r) {
    case PANP_CLOSE_RESULT_WITHDRAWN: return PANP_HR_SUCCESS(CHANNEL_RELEASED_BY_LISTENER);
    case PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER: return PANP_HR_SUCCESS(CHANNEL_ACQUIRED);
    case PANP_CLOSE_RESULT_ALREADY_CLOSED: return PANP_HR_SUCCESS(CHANNEL_ALREADY_CLOSED);
    default: return S_OK;
    }
}

/* ---- data objects ------------------------------------------------------------------ */

static ULONG data_addref(IPrintAsyncNotifyDataObject *self) { return ++((fdata *)self)->refs; }

static ULONG data_release(IPrintAsyncNotifyDataObject *self)
{
    fdata *d = (fdata *)self;
    if (d->refs == 0)
        return 0;
    if (--d->refs > 0)
        return d->refs;
    free(d);
    return 0;
}

static HRESULT data_acquire(IPrintAsyncNotifyDataObject *self, BYTE **data, ULONG *size,
                            PrintAsyncNotificationType **type)
{
    fdata *d = (fdata *)self;
    if (data)
        *data = d->bytes;
    if (size)
        *size = d->size;
    if (type)
        *type = &d->type;
    return S_OK;
}

static HRESULT data_release_data(IPrintAsyncNotifyDataObject *self)
{
    (void)self;
    return S_OK; /* the bytes live as long as the object */
}

static const IPrintAsyncNotifyDataObjectVtbl data_vtbl = {data_addref, data_release,
                                                          data_acquire, data_release_data};

static fdata *data_new(const uint8_t *type, const void *bytes, size_t n)
{
    fdata *d = malloc(sizeof *d + (n ? n : 1));
    if (!d)
        return NULL;
    d->iface.lpVtbl = &data_vtbl;
    d->refs = 1;
    memcpy(d->type.bytes, type, PANP_UUID_LEN);
    d->size = (ULONG)n;
    if (n)
        memcpy(d->bytes, bytes, n);
    return d;
}

HRESULT PanpCreateDataObject(const PrintAsyncNotificationType *type, const void *data, ULONG size,
                             IPrintAsyncNotifyDataObject **out)
{
    if (!type || !out || (size && !data))
        return E_POINTER;
    fdata *d = data_new(type->bytes, data, size);
    if (!d)
        return E_OUTOFMEMORY;
    *out = &d->iface;
    return S_OK;
}

/* ---- sessions ------------------------------------------------------------------------ */

static void session_destroy(PanpAsyncSession *s);

static void enter(PanpAsyncSession *s) { s->depth++; }

/* false when the session was closed on the way out (do not touch it). */
static bool leave(PanpAsyncSession *s)
{
    if (--s->depth == 0 && s->close_pending) {
        session_destroy(s);
        return false;
    }
    return true;
}

/* An environment variable, NULL when unset or empty. */
static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

HRESULT PanpOpenSession(const char *broker, const char *token, PanpAsyncSession **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    PanpAsyncSession *s = calloc(1, sizeof *s);
    if (!s)
        return E_OUTOFMEMORY;
    /* tls: settings come from the environment, as for the panp tool */
    const char *tls_min = env_or_null("PANP_TLS_MIN");
    panp_options o = {
        .broker = broker ? broker : getenv("PANP_BROKER"),
        .token = token ? token : getenv("PANP_TOKEN"),
        .software = "libpanp-prnasnot/" PANP_CLIENT_VERSION,
        .tls_ca_file = env_or_null("PANP_CA"),
        .tls_cert_file = env_or_null("PANP_CERT"),
        .tls_key_file = env_or_null("PANP_KEY"),
        .tls_server_name = env_or_null("PANP_SERVER_NAME"),
        .tls_min_version = tls_min && strcmp(tls_min, "1.2") == 0 ? 0x0303 : 0,
    };
    panp_status st;
    panp_error_code e = panp_connect(&o, &s->c, &st);
    if (e != PANP_OK) {
        free(s);
        return PanpHresultFromError(e, PANP_CALL_REGISTER);
    }
    *out = s;
    return S_OK;
}

panp_client *PanpSessionClient(PanpAsyncSession *s) { return s ? s->c : NULL; }

static void fchan_maybe_free(fchan *fc);

static void session_destroy(PanpAsyncSession *s)
{
    /* Channel objects the application holds outlive the session: they
     * become closed shells until released. */
    fchan *fc = s->chans;
    s->chans = NULL;
    while (fc) {
        fchan *next = fc->next;
        fc->prev = fc->next = NULL;
        fc->s = NULL;
        fc->ch = NULL;
        fc->cv = NULL;
        fc->live = false;
        fchan_maybe_free(fc);
        fc = next;
    }
    for (freg *r = s->regs, *n; r; r = n) {
        n = r->next;
        if (r->cb && r->cb->lpVtbl->Release)
            r->cb->lpVtbl->Release(r->cb);
        free(r);
    }
    panp_free(s->c);
    free(s);
}

void PanpCloseSession(PanpAsyncSession *s)
{
    if (!s)
        return;
    if (s->depth > 0) {
        s->close_pending = true;
        return;
    }
    session_destroy(s);
}

HRESULT PanpDispatch(PanpAsyncSession *s, int timeout_ms)
{
    if (!s)
        return E_POINTER;
    panp_status st;
    enter(s);
    panp_error_code e = panp_poll(s->c, timeout_ms, &st);
    if (!leave(s))
        return S_OK;
    return PanpHresultFromError(e, PANP_CALL_SEND);
}

/* ---- channel objects ------------------------------------------------------------------ */

static void fchan_unlink(fchan *fc)
{
    if (!fc->s)
        return;
    if (fc->prev)
        fc->prev->next = fc->next;
    else
        fc->s->chans = fc->next;
    if (fc->next)
        fc->next->prev = fc->prev;
    fc->prev = fc->next = NULL;
}

static void fchan_maybe_free(fchan *fc)
{
    if (fc->refs > 0 || fc->borrow > 0 || fc->live)
        return;
    if (fc->s) {
        if (fc->ch) {
            panp_channel_set_data(fc->ch, NULL);
            panp_channel_release(fc->s->c, fc->ch);
        }
        if (fc->cv) {
            panp_conversation_set_data(fc->cv, NULL);
            panp_conversation_release(fc->s->c, fc->cv);
        }
        fchan_unlink(fc);
    }
    if (fc->cb && fc->cb->lpVtbl->Release)
        fc->cb->lpVtbl->Release(fc->cb);
    free(fc);
}

static ULONG chan_addref(IPrintAsyncNotifyChannel *self) { return ++((fchan *)self)->refs; }

static ULONG chan_release(IPrintAsyncNotifyChannel *self)
{
    fchan *fc = (fchan *)self;
    if (fc->refs == 0)
        return 0; /* nothing of yours left to release: ignored, not a crash */
    if (--fc->refs > 0)
        return fc->refs;
    if (fc->live && fc->ch && fc->s) {
        /* The last holder of an open sender channel let go: close it.  No
         * callback about it runs after this. */
        panp_channel_set_data(fc->ch, NULL);
        panp_channel_release(fc->s->c, fc->ch);
        fc->ch = NULL;
        fc->live = false;
    }
    fchan_maybe_free(fc);
    return 0;
}

/* Reads an application data object: its bytes are valid until data_done(). */
typedef struct taken {
    IPrintAsyncNotifyDataObject *obj;
    BYTE *bytes;
    ULONG size;
    PrintAsyncNotificationType *type;
} taken;

static HRESULT data_take(IPrintAsyncNotifyDataObject *obj, taken *t)
{
    memset(t, 0, sizeof *t);
    if (!obj)
        return S_OK;
    HRESULT hr = obj->lpVtbl->AcquireData(obj, &t->bytes, &t->size, &t->type);
    if (FAILED(hr))
        return hr;
    t->obj = obj;
    return S_OK;
}

static void data_done(taken *t)
{
    if (t->obj && t->obj->lpVtbl->ReleaseData)
        t->obj->lpVtbl->ReleaseData(t->obj);
}

static bool wrong_type(const fchan *fc, const taken *t)
{
    return t->type && memcmp(t->type->bytes, fc->type.bytes, PANP_UUID_LEN) != 0;
}

static HRESULT chan_send(IPrintAsyncNotifyChannel *self, IPrintAsyncNotifyDataObject *data)
{
    fchan *fc = (fchan *)self;
    if (!data)
        return E_POINTER;
    if (!fc->s || !fc->live)
        return PANP_HR_ERROR(CHANNEL_ALREADY_CLOSED);
    taken t;
    HRESULT hr = data_take(data, &t);
    if (FAILED(hr))
        return hr;
    if (wrong_type(fc, &t)) {
        data_done(&t);
        return PANP_HR_ERROR(INVALID_NOTIFICATION_TYPE);
    }
    PanpAsyncSession *s = fc->s;
    bool sender = fc->ch != NULL;
    panp_status st;
    panp_sent sent = {0};
    fc->borrow++; /* survives whatever the callbacks run meanwhile do */
    enter(s);
    panp_error_code e =
        fc->ch ? panp_channel_send(s->c, fc->ch, t.bytes, t.size, &sent, &st)
               : panp_conversation_reply(s->c, fc->cv, t.bytes, t.size, &st);
    data_done(&t);
    leave(s);
    fc->borrow--;
    fchan_maybe_free(fc);
    if (e != PANP_OK)
        return PanpHresultFromError(e, PANP_CALL_SEND);
    return sender && sent.recipients == 0 ? PANP_HR_SUCCESS(NO_LISTENERS) : S_OK;
}

static HRESULT chan_close(IPrintAsyncNotifyChannel *self, IPrintAsyncNotifyDataObject *data)
{
    fchan *fc = (fchan *)self;
    if (!fc->s || !fc->live)
        return PANP_HR_SUCCESS(CHANNEL_ALREADY_CLOSED); /* closed already: that is success */
    taken t;
    HRESULT hr = data_take(data, &t);
    if (FAILED(hr))
        return hr;
    /* NOTIFICATION_RELEASE with no bytes means "no reason" (MS-PAN). */
    bool release = t.type && memcmp(t.type->bytes, NOTIFICATION_RELEASE.bytes, PANP_UUID_LEN) == 0;
    if (release && t.size > 0) {
        data_done(&t);
        return PANP_HR_ERROR(INVALID_NOTIFICATION_TYPE);
    }
    if (!release && wrong_type(fc, &t)) {
        data_done(&t);
        return PANP_HR_ERROR(INVALID_NOTIFICATION_TYPE);
    }
    const void *reason = t.obj && !release ? (t.bytes ? (const void *)t.bytes : "") : NULL;
    PanpAsyncSession *s = fc->s;
    panp_status st;
    panp_close_result res = PANP_CLOSE_RESULT_NONE;
    fc->borrow++;
    enter(s);
    panp_error_code e =
        fc->ch ? panp_channel_close(s->c, fc->ch, reason, reason ? t.size : 0, &res, &st)
               : panp_conversation_close(s->c, fc->cv, reason, reason ? t.size : 0, &res, &st);
    data_done(&t);
    leave(s);
    fc->borrow--;
    fchan_maybe_free(fc);
    if (e != PANP_OK)
        return PanpHresultFromError(e, PANP_CALL_CLOSE);
    return close_hresult(res);
}

static const IPrintAsyncNotifyChannelVtbl chan_vtbl = {chan_addref, chan_release, chan_send,
                                                       chan_close};

static fchan *fchan_new(PanpAsyncSession *s, IPrintAsyncNotifyCallback *cb, const uint8_t *type)
{
    fchan *fc = calloc(1, sizeof *fc);
    if (!fc)
        return NULL;
    fc->iface.lpVtbl = &chan_vtbl;
    fc->s = s;
    fc->live = true;
    fc->cb = cb;
    if (cb && cb->lpVtbl->AddRef)
        cb->lpVtbl->AddRef(cb);
    memcpy(fc->type.bytes, type, PANP_UUID_LEN);
    fc->next = s->chans;
    if (s->chans)
        s->chans->prev = fc;
    s->chans = fc;
    return fc;
}

panp_close_reason PanpChannelCloseReason(IPrintAsyncNotifyChannel *channel)
{
    return channel ? ((fchan *)channel)->reason : PANP_CLOSE_REASON_UNSPECIFIED;
}

/* ---- events from libpanp to the callback object ----------------------------------------- */

static void call_event(fchan *fc, IPrintAsyncNotifyCallback *cb, const uint8_t *type,
                       panp_bytes payload, bool closed)
{
    if (!cb)
        return;
    fdata *d = data_new(type, payload.data, payload.len);
    if (!d)
        return;
    if (fc)
        fc->borrow++;
    if (closed && cb->lpVtbl->ChannelClosed)
        cb->lpVtbl->ChannelClosed(cb, fc ? &fc->iface : NULL, &d->iface);
    else if (!closed && cb->lpVtbl->OnEventNotify)
        cb->lpVtbl->OnEventNotify(cb, fc ? &fc->iface : NULL, &d->iface);
    data_release(&d->iface);
    if (fc) {
        fc->borrow--;
        fchan_maybe_free(fc);
    }
}

static void tell_closed(fchan *fc, const panp_closed_info *info)
{
    if (!fc || !fc->live)
        return;
    fc->reason = info->reason ? info->reason : PANP_CLOSE_REASON_UNSPECIFIED;
    /* Without a reason notification the callback still gets an object:
     * NOTIFICATION_RELEASE with no bytes, what Windows gives losers. */
    bool typed = info->notification_type.len == PANP_UUID_LEN;
    const uint8_t *type = typed ? info->notification_type.data : NOTIFICATION_RELEASE.bytes;
    panp_bytes payload = typed ? info->payload : (panp_bytes){NULL, 0};
    fc->borrow++;
    fc->live = false; /* no further call changes anything on the wire */
    call_event(fc, fc->cb, type, payload, true);
    fc->borrow--;
    fchan_maybe_free(fc);
}

static void on_reg_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                          const panp_notify *n, void *data)
{
    (void)c, (void)reg;
    freg *r = data;
    fchan *fc = NULL;
    IPrintAsyncNotifyCallback *cb;
    if (cv) {
        fc = panp_conversation_data(cv);
        if (!fc) {
            if (!r || r->unregistered)
                return;
            fc = fchan_new(r->s, r->cb, n->notification_type.data);
            if (!fc)
                return;
            fc->cv = cv;
            panp_conversation_retain(cv);
            panp_conversation_set_data(cv, fc);
        }
        cb = fc->cb;
    } else {
        if (!r || r->unregistered)
            return;
        cb = r->cb;
    }
    call_event(fc, cb, n->notification_type.data, n->payload, false);
}

static void on_reg_closed(panp_client *c, panp_registration *reg, panp_conversation *cv,
                          const panp_closed_info *info, void *data)
{
    (void)c, (void)reg;
    if (cv) {
        tell_closed(panp_conversation_data(cv), info);
        return;
    }
    freg *r = data; /* unidirectional: no channel object on this side */
    if (!r || r->unregistered)
        return;
    bool typed = info->notification_type.len == PANP_UUID_LEN;
    call_event(NULL, r->cb, typed ? info->notification_type.data : NOTIFICATION_RELEASE.bytes,
               typed ? info->payload : (panp_bytes){NULL, 0}, true);
}

static void on_chan_reply(panp_client *c, panp_channel *ch, const panp_reply_delivery *r,
                          void *data)
{
    (void)c, (void)ch;
    fchan *fc = data;
    if (fc)
        call_event(fc, fc->cb, r->notification_type.data, r->payload, false);
}

static void on_chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info,
                           void *data)
{
    (void)c, (void)ch;
    tell_closed(data, info);
}

/* ---- the entry points ------------------------------------------------------------------ */

/* "\\server\printer" and "printer" name a printer; NULL, "" and
 * "\\server" the server itself. */
static const char *printer_of(const char *name)
{
    if (!name || !*name)
        return NULL;
    if (name[0] == '\\' && name[1] == '\\') {
        const char *p = strchr(name + 2, '\\');
        return p && p[1] ? p + 1 : NULL;
    }
    return name;
}

static bool filter_ok(PrintAsyncNotifyUserFilter f) { return f == kPerUser || f == kAllUsers; }
static bool style_ok(PrintAsyncNotifyConversationStyle y)
{
    return y == kBiDirectional || y == kUniDirectional;
}

static panp_user_filter map_filter(PrintAsyncNotifyUserFilter f)
{
    return f == kAllUsers ? PANP_USER_FILTER_ALL_USERS : PANP_USER_FILTER_PER_USER;
}

static panp_style map_style(PrintAsyncNotifyConversationStyle y)
{
    return y == kBiDirectional ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL;
}

HRESULT RegisterForPrintAsyncNotifications(PanpAsyncSession *s, const char *name,
                                           const PrintAsyncNotificationType *type,
                                           PrintAsyncNotifyUserFilter filter,
                                           PrintAsyncNotifyConversationStyle style,
                                           IPrintAsyncNotifyCallback *callback,
                                           HANDLE *registration)
{
    if (!s || !type || !callback || !registration)
        return E_POINTER;
    *registration = NULL;
    if (!filter_ok(filter) || !style_ok(style))
        return E_INVALIDARG;
    freg *r = calloc(1, sizeof *r);
    if (!r)
        return E_OUTOFMEMORY;
    r->s = s;
    r->cb = callback;
    panp_register_params p = {
        .printer = printer_of(name),
        .type = type->bytes,
        .user_filter = map_filter(filter),
        .style = map_style(style),
        .on_notify = on_reg_notify,
        .on_closed = on_reg_closed,
        .data = r,
    };
    panp_status st;
    enter(s);
    panp_error_code e = panp_register_listener(s->c, &p, &r->reg, &st);
    bool alive = leave(s);
    if (e != PANP_OK || !alive) {
        free(r);
        return e != PANP_OK ? PanpHresultFromError(e, PANP_CALL_REGISTER) : PANP_E_CONNECTION_LOST;
    }
    if (callback->lpVtbl->AddRef)
        callback->lpVtbl->AddRef(callback);
    r->next = s->regs;
    s->regs = r;
    *registration = r;
    return S_OK;
}

HRESULT UnRegisterForPrintAsyncNotifications(HANDLE registration)
{
    freg *r = registration;
    if (!r)
        return E_POINTER;
    if (r->unregistered)
        return PANP_HR_ERROR(ALREADY_UNREGISTERED);
    r->unregistered = true;
    /* Conversations already under way keep reporting through their own
     * channel objects; nothing more comes through the handle. */
    panp_registration_set_data(r->reg, NULL);
    PanpAsyncSession *s = r->s;
    panp_status st;
    enter(s);
    panp_error_code e = panp_unregister_listener(s->c, r->reg, &st);
    leave(s);
    return PanpHresultFromError(e, PANP_CALL_UNREGISTER);
}

static HRESULT create_channel(PanpAsyncSession *s, const char *name,
                              const panp_job_context *job, const PrintAsyncNotificationType *type,
                              PrintAsyncNotifyUserFilter filter,
                              PrintAsyncNotifyConversationStyle style,
                              IPrintAsyncNotifyCallback *callback,
                              IPrintAsyncNotifyChannel **channel)
{
    if (!s || !type || !channel)
        return E_POINTER;
    *channel = NULL;
    if (!filter_ok(filter) || !style_ok(style))
        return E_INVALIDARG;
    fchan *fc = fchan_new(s, callback, type->bytes);
    if (!fc)
        return E_OUTOFMEMORY;
    fc->refs = 1; /* the caller's */
    panp_channel_params p = {
        .printer = printer_of(name),
        .type = type->bytes,
        .user_filter = map_filter(filter),
        .style = map_style(style),
        .on_behalf_of = job,
        .on_reply = on_chan_reply,
        .on_closed = on_chan_closed,
        .data = fc,
    };
    panp_status st;
    fc->borrow++;
    enter(s);
    panp_error_code e = panp_channel_open(s->c, &p, &fc->ch, &st);
    bool alive = leave(s);
    fc->borrow--;
    if (e != PANP_OK || !alive) {
        fc->refs = 0;
        fc->live = false;
        fchan_maybe_free(fc);
        return e != PANP_OK ? PanpHresultFromError(e, PANP_CALL_CREATE_CHANNEL)
                            : PANP_E_CONNECTION_LOST;
    }
    *channel = &fc->iface;
    return S_OK;
}

HRESULT CreatePrintAsyncNotifyChannel(PanpAsyncSession *s, const char *name,
                                      const PrintAsyncNotificationType *type,
                                      PrintAsyncNotifyUserFilter filter,
                                      PrintAsyncNotifyConversationStyle style,
                                      IPrintAsyncNotifyCallback *callback,
                                      IPrintAsyncNotifyChannel **channel)
{
    return create_channel(s, name, NULL, type, filter, style, callback, channel);
}

HRESULT PanpCreatePrintAsyncNotifyChannelForJob(PanpAsyncSession *s, const char *name,
                                                uint32_t job_id, const char *job_owner,
                                                const PrintAsyncNotificationType *type,
                                                PrintAsyncNotifyUserFilter filter,
                                                PrintAsyncNotifyConversationStyle style,
                                                IPrintAsyncNotifyCallback *callback,
                                                IPrintAsyncNotifyChannel **channel)
{
    if (!job_owner || !*job_owner)
        return E_INVALIDARG;
    panp_job_context job = {.job_id = job_id, .job_owner = job_owner};
    return create_channel(s, name, &job, type, filter, style, callback, channel);
}
