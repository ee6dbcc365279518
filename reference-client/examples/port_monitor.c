/* port_monitor.c - a port monitor that holds a job until its owner types a
 * PIN, written against the Windows-shaped facade (panp/prnasnot.h) the way
 * a monitor ported from Windows would be.
 *
 * It opens a bidirectional channel on its printer, asks "enter the PIN to
 * release job N", and acts on the answer: the right PIN releases the job,
 * a wrong one asks again (the dialog continues with whoever answered
 * first), and after the last try, or if nobody answers in time, the job is
 * cancelled.  The channel closes with the outcome as its reason, so the
 * listener sees it.
 *
 * usage: port_monitor [--broker ADDR] [--printer NAME] [--job ID]
 *                     [--owner USER] [--pin PIN] [--tries N] [--timeout SECS]
 * --owner opens the channel on behalf of the job's owner (needs a trusted
 * identity).  Exit 0: released, 1: cancelled (wrong PIN), 2: no answer
 * (timeout or the listener went away), 3: error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panp/prnasnot.h"

/* The callback object: a vtable pointer first, then the monitor's state. */
typedef struct monitor {
    IPrintAsyncNotifyCallback iface;
    char answer[128];
    bool answered;
    bool closed;
} monitor;

static HRESULT on_event(IPrintAsyncNotifyCallback *self, IPrintAsyncNotifyChannel *channel,
                        IPrintAsyncNotifyDataObject *data)
{
    (void)channel;
    monitor *m = (monitor *)self;
    BYTE *bytes;
    ULONG size;
    PrintAsyncNotificationType *type;
    if (FAILED(data->lpVtbl->AcquireData(data, &bytes, &size, &type)))
        return E_FAIL;
    if (size >= sizeof m->answer)
        size = sizeof m->answer - 1;
    memcpy(m->answer, bytes, size);
    m->answer[size] = 0;
    m->answered = true;
    data->lpVtbl->ReleaseData(data);
    return S_OK;
}

static HRESULT on_closed(IPrintAsyncNotifyCallback *self, IPrintAsyncNotifyChannel *channel,
                         IPrintAsyncNotifyDataObject *data)
{
    (void)channel, (void)data;
    ((monitor *)self)->closed = true; /* no Release here, and none needed */
    return S_OK;
}

static const IPrintAsyncNotifyCallbackVtbl monitor_vtbl = {NULL, NULL, on_event, on_closed};

static HRESULT send_text(IPrintAsyncNotifyChannel *ch, const char *text, bool close)
{
    IPrintAsyncNotifyDataObject *d;
    HRESULT hr = PanpCreateDataObject(&PRINT_PORT_MONITOR_NOTIFY_CHANNEL, text,
                                      (ULONG)strlen(text), &d);
    if (FAILED(hr))
        return hr;
    hr = close ? ch->lpVtbl->CloseChannel(ch, d) : ch->lpVtbl->SendNotification(ch, d);
    d->lpVtbl->Release(d);
    return hr;
}

/* Pumps the session until an answer, the channel's end, or the deadline. */
static void wait_answer(PanpAsyncSession *s, monitor *m, time_t deadline)
{
    while (!m->answered && !m->closed && time(NULL) < deadline)
        if (FAILED(PanpDispatch(s, 200)))
            break;
}

int main(int argc, char **argv)
{
    const char *broker = NULL, *printer = "lobby", *owner = NULL, *pin = "1234";
    unsigned long job = 7, tries = 3, timeout = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--broker")) broker = argv[i + 1];
        else if (!strcmp(argv[i], "--printer")) printer = argv[i + 1];
        else if (!strcmp(argv[i], "--owner")) owner = argv[i + 1];
        else if (!strcmp(argv[i], "--pin")) pin = argv[i + 1];
        else if (!strcmp(argv[i], "--job")) job = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--tries")) tries = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--timeout")) timeout = strtoul(argv[i + 1], NULL, 10);
        else return fprintf(stderr, "port_monitor: unknown option %s\n", argv[i]), 3;
    }

    PanpAsyncSession *s;
    HRESULT hr = PanpOpenSession(broker, NULL, &s);
    if (FAILED(hr))
        return fprintf(stderr, "port_monitor: cannot reach the broker (0x%08x)\n", (unsigned)hr), 3;

    monitor m = {.iface = {&monitor_vtbl}};
    IPrintAsyncNotifyChannel *ch;
    hr = owner ? PanpCreatePrintAsyncNotifyChannelForJob(s, printer, (uint32_t)job, owner,
                                                         &PRINT_PORT_MONITOR_NOTIFY_CHANNEL,
                                                         kPerUser, kBiDirectional, &m.iface, &ch)
               : CreatePrintAsyncNotifyChannel(s, printer, &PRINT_PORT_MONITOR_NOTIFY_CHANNEL,
                                               kPerUser, kBiDirectional, &m.iface, &ch);
    if (FAILED(hr)) {
        fprintf(stderr, "port_monitor: cannot open a channel (0x%08x)\n", (unsigned)hr);
        PanpCloseSession(s);
        return 3;
    }

    int outcome = 2;
    char question[160];
    time_t deadline = time(NULL) + (time_t)timeout;
    for (unsigned long t = 0; t < tries && outcome == 2; t++) {
        snprintf(question, sizeof question, "%sEnter the PIN to release job %lu on %s",
                 t ? "Wrong PIN. " : "", job, printer);
        m.answered = false;
        hr = send_text(ch, question, false);
        if (FAILED(hr)) {
            fprintf(stderr, "port_monitor: cannot ask (0x%08x)\n", (unsigned)hr);
            break;
        }
        if (hr == PANP_HR_SUCCESS(NO_LISTENERS))
            printf("port_monitor: nobody is listening yet; the question waits\n");
        wait_answer(s, &m, deadline);
        if (!m.answered)
            break; /* timeout, or the channel closed under us */
        if (strcmp(m.answer, pin) == 0)
            outcome = 0;
        else if (t + 1 == tries)
            outcome = 1;
    }

    const char *verdict = outcome == 0 ? "released" : outcome == 1 ? "cancelled: wrong PIN"
                                                                   : "cancelled: no answer";
    printf("port_monitor: job %lu %s\n", job, verdict);
    /* Close with the verdict as the reason; whatever CloseChannel says (it
     * may already be closed by the listener or a lost broker), Release
     * once: the facade makes both always safe. */
    send_text(ch, verdict, true);
    ch->lpVtbl->Release(ch);
    PanpCloseSession(s);
    return outcome;
}
