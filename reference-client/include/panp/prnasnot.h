/* panp/prnasnot.h - a C facade with the shapes of the Windows print
 * asynchronous notification API, on top of libpanp, so a component ported
 * from Windows keeps its structure: the same function and method names,
 * the same enum values, HRESULT results with the same error names.
 *
 * What differs from Windows, and why:
 *   - There is no hidden connection to a spooler.  A PanpAsyncSession is
 *     one broker connection; RegisterForPrintAsyncNotifications and
 *     CreatePrintAsyncNotifyChannel take it as an extra first argument.
 *     Everything else (handles, channel objects) remembers its session.
 *   - Callbacks run on your thread, inside PanpDispatch() or inside a
 *     facade call that waits for the broker (SendNotification, ...), never
 *     on a thread of their own.  A session is used by one thread at a time.
 *   - Names are UTF-8 `const char *`.  NULL, "" or "\\server" is the print
 *     server; "\\server\printer" or "printer" is that printer.
 *   - Interfaces are C structs whose first member is a vtable pointer;
 *     call `obj->lpVtbl->Method(obj, ...)`.  There is no QueryInterface.
 *
 * Channel lifetime, without the Windows foot-guns.  A channel object is
 * reference counted and freed only when its count reaches zero:
 *   - CreatePrintAsyncNotifyChannel gives you one reference: Release it
 *     exactly once when done, whether the channel is uni- or
 *     bidirectional, whether CloseChannel succeeded or failed, and whether
 *     or not ChannelClosed was called.  Releasing an open channel closes it.
 *   - A channel handed to OnEventNotify or ChannelClosed is borrowed for
 *     the call; AddRef it to keep it, and Release each AddRef.
 *   - Release, CloseChannel and SendNotification are safe at any time the
 *     object is referenced, including inside ChannelClosed and after it: on
 *     a closed channel they return errors (or, for CloseChannel, a success
 *     code) instead of touching freed memory.
 *   - ChannelClosed is called exactly once per channel, whoever closed it
 *     (including your own CloseChannel) and also when the broker connection
 *     is lost (data type NOTIFICATION_RELEASE, no payload).
 */
#ifndef PANP_PRNASNOT_H
#define PANP_PRNASNOT_H

#include <stdint.h>

#include "panp/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Windows-style base types (skipped if the caller has its own) ---------- */
#ifndef PANP_PRNASNOT_NO_WIN_TYPES
#ifndef _HRESULT_DEFINED
#define _HRESULT_DEFINED
typedef int32_t HRESULT;
#endif
typedef uint32_t ULONG;
typedef uint8_t BYTE;
typedef void *HANDLE;
#endif

#ifndef SUCCEEDED
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#endif
#ifndef FAILED
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#endif
#ifndef S_OK
#define S_OK ((HRESULT)0)
#endif
#ifndef E_FAIL
#define E_FAIL ((HRESULT)0x80004005u)
#endif
#ifndef E_POINTER
#define E_POINTER ((HRESULT)0x80004003u)
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG ((HRESULT)0x80070057u)
#endif
#ifndef E_OUTOFMEMORY
#define E_OUTOFMEMORY ((HRESULT)0x8007000Eu)
#endif
#ifndef E_ACCESSDENIED
#define E_ACCESSDENIED ((HRESULT)0x80070005u)
#endif
/* Win32 errors as HRESULTs, for what panp adds: a bad printer name, a
 * timeout, and the end of the broker connection (MS-PAN's "notifications
 * terminated"). */
#define PANP_E_INVALID_NAME ((HRESULT)0x8007007Bu)
#define PANP_E_TIMEOUT ((HRESULT)0x800705B4u)
#define PANP_E_CONNECTION_LOST ((HRESULT)0x8007071Au)

/* ---- enums, with the Windows values ----------------------------------------- */

typedef enum {
    kPerUser = 0,  /* -> PANP_USER_FILTER_PER_USER (1) */
    kAllUsers = 1  /* -> PANP_USER_FILTER_ALL_USERS (2) */
} PrintAsyncNotifyUserFilter;

typedef enum {
    kBiDirectional = 1, /* -> PANP_STYLE_BIDIRECTIONAL (1) */
    kUniDirectional = 2 /* -> PANP_STYLE_UNIDIRECTIONAL (2) */
} PrintAsyncNotifyConversationStyle;

/* The error names of the Windows API, as the low word of an HRESULT in
 * facility 4: an error is 0x8004xxxx (PANP_HR_ERROR), a success code that
 * says something is 0x0004xxxx (PANP_HR_SUCCESS). */
typedef enum {
    CHANNEL_CLOSED_BY_SERVER = 0x01,
    CHANNEL_CLOSED_BY_ANOTHER_LISTENER = 0x02,
    CHANNEL_CLOSED_BY_SAME_LISTENER = 0x03,
    CHANNEL_RELEASED_BY_LISTENER = 0x04,
    UNIRECTIONAL_NOTIFICATION_LOST = 0x05, /* sic, as Windows spells it */
    ASYNC_NOTIFICATION_FAILURE = 0x06,
    NO_LISTENERS = 0x07,
    CHANNEL_ALREADY_CLOSED = 0x08,
    CHANNEL_ALREADY_OPENED = 0x09,
    CHANNEL_WAITING_FOR_CLIENT_NOTIFICATION = 0x0A,
    CHANNEL_NOT_OPENED = 0x0B,
    ASYNC_CALL_ALREADY_PARKED = 0x0C,
    NOT_REGISTERED = 0x0D,
    ALREADY_UNREGISTERED = 0x0E,
    ALREADY_REGISTERED = 0x0F,
    CHANNEL_ACQUIRED = 0x10,
    ASYNC_CALL_IN_PROGRESS = 0x11,
    MAX_NOTIFICATION_SIZE_EXCEEDED = 0x12,
    INTERNAL_NOTIFICATION_QUEUE_IS_FULL = 0x13,
    INVALID_NOTIFICATION_TYPE = 0x14,
    MAX_REGISTRATION_COUNT_EXCEEDED = 0x15,
    MAX_CHANNEL_COUNT_EXCEEDED = 0x16,
    LOCAL_ONLY_REGISTRATION = 0x17,
    REMOTE_ONLY_REGISTRATION = 0x18
} PrintAsyncNotifyError;

#define PANP_HR_ERROR(e) ((HRESULT)(0x80040000u | (uint32_t)(e)))
#define PANP_HR_SUCCESS(e) ((HRESULT)(0x00040000u | (uint32_t)(e)))

/* A notification type: a UUID, 16 bytes in text order. */
typedef struct PrintAsyncNotificationType {
    uint8_t bytes[PANP_UUID_LEN];
} PrintAsyncNotificationType;

extern const PrintAsyncNotificationType NOTIFICATION_RELEASE;
extern const PrintAsyncNotificationType PRINT_ASYNC_NOTIFY_ASYNC_UI;
extern const PrintAsyncNotificationType PRINT_ASYNC_NOTIFY_PRINTER_CONFIGURATION;
extern const PrintAsyncNotificationType PRINT_PORT_MONITOR_NOTIFY_CHANNEL;

/* ---- interfaces --------------------------------------------------------------- */

typedef struct IPrintAsyncNotifyDataObject IPrintAsyncNotifyDataObject;
typedef struct IPrintAsyncNotifyChannel IPrintAsyncNotifyChannel;
typedef struct IPrintAsyncNotifyCallback IPrintAsyncNotifyCallback;

/* A notification: bytes and their type.  The facade's own data objects
 * (received ones, and those PanpCreateDataObject makes) copy nothing on
 * AcquireData; the pointers stay valid until ReleaseData or the last
 * Release.  Your own implementations work too: the facade calls
 * AcquireData, copies, then ReleaseData. */
typedef struct IPrintAsyncNotifyDataObjectVtbl {
    ULONG (*AddRef)(IPrintAsyncNotifyDataObject *self);
    ULONG (*Release)(IPrintAsyncNotifyDataObject *self);
    HRESULT (*AcquireData)(IPrintAsyncNotifyDataObject *self, BYTE **data, ULONG *size,
                           PrintAsyncNotificationType **type);
    HRESULT (*ReleaseData)(IPrintAsyncNotifyDataObject *self);
} IPrintAsyncNotifyDataObjectVtbl;

struct IPrintAsyncNotifyDataObject {
    const IPrintAsyncNotifyDataObjectVtbl *lpVtbl;
};

/* One end of a channel.  The sender's (from CreatePrintAsyncNotifyChannel)
 * sends notifications and closes the channel; a listener's (given to
 * OnEventNotify for a bidirectional registration) answers the current
 * question with SendNotification and closes or withdraws with CloseChannel
 * (a data object = an answer that closes; NULL = withdraw, or close once
 * acquired). */
typedef struct IPrintAsyncNotifyChannelVtbl {
    ULONG (*AddRef)(IPrintAsyncNotifyChannel *self);
    ULONG (*Release)(IPrintAsyncNotifyChannel *self);
    HRESULT (*SendNotification)(IPrintAsyncNotifyChannel *self, IPrintAsyncNotifyDataObject *data);
    HRESULT (*CloseChannel)(IPrintAsyncNotifyChannel *self, IPrintAsyncNotifyDataObject *data);
} IPrintAsyncNotifyChannelVtbl;

struct IPrintAsyncNotifyChannel {
    const IPrintAsyncNotifyChannelVtbl *lpVtbl;
};

/* Implemented by you.  AddRef/Release may be NULL (then the facade does not
 * count references on it and you keep it alive while it is registered or
 * a channel uses it).  OnEventNotify: a notification for a listener, or a
 * listener's answer for a sender; `channel` is NULL for unidirectional
 * notifications.  ChannelClosed: once per channel, see above. */
typedef struct IPrintAsyncNotifyCallbackVtbl {
    ULONG (*AddRef)(IPrintAsyncNotifyCallback *self);
    ULONG (*Release)(IPrintAsyncNotifyCallback *self);
    HRESULT (*OnEventNotify)(IPrintAsyncNotifyCallback *self, IPrintAsyncNotifyChannel *channel,
                             IPrintAsyncNotifyDataObject *data);
    HRESULT (*ChannelClosed)(IPrintAsyncNotifyCallback *self, IPrintAsyncNotifyChannel *channel,
                             IPrintAsyncNotifyDataObject *data);
} IPrintAsyncNotifyCallbackVtbl;

struct IPrintAsyncNotifyCallback {
    const IPrintAsyncNotifyCallbackVtbl *lpVtbl;
};

/* ---- sessions (panp's addition) ------------------------------------------------ */

typedef struct PanpAsyncSession PanpAsyncSession;

/* broker NULL: $PANP_BROKER, else PANP_DEFAULT_BROKER.  token NULL:
 * $PANP_TOKEN, else the transport's identity (unix sockets, a tls: client
 * certificate).  A tls: broker takes its settings from the environment,
 * as the panp tool does: $PANP_CA (trust anchors, PEM; unset: the system's),
 * $PANP_CERT and $PANP_KEY (client certificate and key), $PANP_SERVER_NAME
 * (the name the broker's certificate carries instead of HOST) and
 * $PANP_TLS_MIN (1.2 to also accept TLS 1.2; default 1.3). */
HRESULT PanpOpenSession(const char *broker, const char *token, PanpAsyncSession **out);
/* Runs callbacks for up to timeout_ms (< 0: until one ran). */
HRESULT PanpDispatch(PanpAsyncSession *s, int timeout_ms);
/* Closes the connection; channel objects you still hold stay valid (closed)
 * until released; registration handles become invalid.  From a callback,
 * the close happens when the facade call that ran it returns. */
void PanpCloseSession(PanpAsyncSession *s);
/* The libpanp context under the session, for its fd or panp_session(). */
panp_client *PanpSessionClient(PanpAsyncSession *s);

/* ---- the Windows entry points -------------------------------------------------- */

HRESULT RegisterForPrintAsyncNotifications(PanpAsyncSession *s, const char *name,
                                           const PrintAsyncNotificationType *type,
                                           PrintAsyncNotifyUserFilter filter,
                                           PrintAsyncNotifyConversationStyle style,
                                           IPrintAsyncNotifyCallback *callback,
                                           HANDLE *registration);
/* A second call with the same handle returns ALREADY_UNREGISTERED while the
 * session is open. */
HRESULT UnRegisterForPrintAsyncNotifications(HANDLE registration);

/* callback may be NULL when no answers or closure reports are wanted. */
HRESULT CreatePrintAsyncNotifyChannel(PanpAsyncSession *s, const char *name,
                                      const PrintAsyncNotificationType *type,
                                      PrintAsyncNotifyUserFilter filter,
                                      PrintAsyncNotifyConversationStyle style,
                                      IPrintAsyncNotifyCallback *callback,
                                      IPrintAsyncNotifyChannel **channel);

/* The print-filter form: a trusted component opens the channel on behalf of
 * the job's owner, so per-user notifications reach that user. */
HRESULT PanpCreatePrintAsyncNotifyChannelForJob(PanpAsyncSession *s, const char *name,
                                                uint32_t job_id, const char *job_owner,
                                                const PrintAsyncNotificationType *type,
                                                PrintAsyncNotifyUserFilter filter,
                                                PrintAsyncNotifyConversationStyle style,
                                                IPrintAsyncNotifyCallback *callback,
                                                IPrintAsyncNotifyChannel **channel);

/* ---- helpers ---------------------------------------------------------------------- */

/* A data object holding a copy of size bytes; one reference, yours. */
HRESULT PanpCreateDataObject(const PrintAsyncNotificationType *type, const void *data, ULONG size,
                             IPrintAsyncNotifyDataObject **out);
/* Why a channel closed (panp's reason; 0 while open). */
panp_close_reason PanpChannelCloseReason(IPrintAsyncNotifyChannel *channel);
/* The HRESULT the facade reports for a libpanp error in a given call. */
typedef enum {
    PANP_CALL_REGISTER = 1,
    PANP_CALL_UNREGISTER,
    PANP_CALL_CREATE_CHANNEL,
    PANP_CALL_SEND,
    PANP_CALL_CLOSE
} PanpCall;
HRESULT PanpHresultFromError(panp_error_code code, PanpCall call);

#ifdef __cplusplus
}
#endif

#endif /* PANP_PRNASNOT_H */
