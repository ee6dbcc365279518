/* panp/adapters/libevent.h - drive an async libpanp context from a
 * libevent 2 event_base.  Header-only; link with -levent.
 *
 *   panp_client *c;
 *   panp_async_connect(&opt, &c, &st);
 *   panp_libevent_attach(c, base, &st);
 *   event_base_dispatch(base);
 *
 * The adapter's state belongs to the context and goes with panp_free(). */
#ifndef PANP_ADAPTERS_LIBEVENT_H
#define PANP_ADAPTERS_LIBEVENT_H

#include <event2/event.h>
#include <stdlib.h>

#include "panp/client.h"

typedef struct panp_libevent {
    panp_client *c;
    struct event_base *base;
    struct event *rev; /* bound to fd; rebuilt when a reconnect changes it */
    struct event *wev;
    struct event *tev;
    int fd;
} panp_libevent;

static inline void panp_libevent_on_read_(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    panp_async_on_readable(((panp_libevent *)arg)->c);
}

static inline void panp_libevent_on_write_(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    panp_async_on_writable(((panp_libevent *)arg)->c);
}

static inline void panp_libevent_on_timer_(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    panp_async_on_timer(((panp_libevent *)arg)->c);
}

static inline void panp_libevent_bind_(panp_libevent *a, int fd)
{
    if (a->fd == fd && a->rev)
        return;
    if (a->rev)
        event_free(a->rev);
    if (a->wev)
        event_free(a->wev);
    a->rev = event_new(a->base, fd, EV_READ | EV_PERSIST, panp_libevent_on_read_, a);
    a->wev = event_new(a->base, fd, EV_WRITE | EV_PERSIST, panp_libevent_on_write_, a);
    a->fd = fd;
}

static inline void panp_libevent_add_read_(void *data, int fd)
{
    panp_libevent *a = data;
    panp_libevent_bind_(a, fd);
    event_add(a->rev, NULL);
}

static inline void panp_libevent_del_read_(void *data, int fd)
{
    panp_libevent *a = data;
    if (a->rev && a->fd == fd)
        event_del(a->rev);
}

static inline void panp_libevent_add_write_(void *data, int fd)
{
    panp_libevent *a = data;
    panp_libevent_bind_(a, fd);
    event_add(a->wev, NULL);
}

static inline void panp_libevent_del_write_(void *data, int fd)
{
    panp_libevent *a = data;
    if (a->wev && a->fd == fd)
        event_del(a->wev);
}

static inline void panp_libevent_set_timer_(void *data, int ms)
{
    panp_libevent *a = data;
    if (ms < 0) {
        evtimer_del(a->tev);
        return;
    }
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(a->tev, &tv);
}

static inline void panp_libevent_cleanup_(void *data)
{
    panp_libevent *a = data;
    if (a->rev)
        event_free(a->rev);
    if (a->wev)
        event_free(a->wev);
    event_free(a->tev);
    free(a);
}

static inline panp_error_code panp_libevent_attach(panp_client *c, struct event_base *base,
                                                   panp_status *st)
{
    panp_libevent *a = (panp_libevent *)calloc(1, sizeof *a);
    if (!a) {
        if (st)
            st->code = PANP_ERR_NOMEM;
        return PANP_ERR_NOMEM;
    }
    a->c = c;
    a->base = base;
    a->fd = -1;
    a->tev = evtimer_new(base, panp_libevent_on_timer_, a);
    panp_loop_hooks h = {a,
                         panp_libevent_add_read_,
                         panp_libevent_del_read_,
                         panp_libevent_add_write_,
                         panp_libevent_del_write_,
                         panp_libevent_set_timer_,
                         panp_libevent_cleanup_};
    panp_error_code e = a->tev ? panp_async_attach(c, &h, st) : PANP_ERR_NOMEM;
    if (e != PANP_OK) {
        if (a->tev)
            event_free(a->tev);
        free(a);
    }
    return e;
}

#endif /* PANP_ADAPTERS_LIBEVENT_H */
