/* panp/adapters/poll.h - drive async libpanp contexts with plain poll().
 * Header-only.  One panp_poll_adapter per context; the caller owns it (it
 * may live on the stack) and it must outlive the context.
 *
 * One context:
 *   panp_poll_adapter pa;
 *   panp_poll_adapter_attach(&pa, c, &st);
 *   while (running && pa.c)
 *       panp_poll_adapter_run_once(&pa, 1000);
 *
 * Several contexts (or other fds) in one poll(): fill one pollfd per
 * adapter with panp_poll_adapter_fill(), use the smallest
 * panp_poll_adapter_timeout(), call poll(), then
 * panp_poll_adapter_dispatch() for each.  pa.c becomes NULL once the
 * context is freed. */
#ifndef PANP_ADAPTERS_POLL_H
#define PANP_ADAPTERS_POLL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "panp/client.h"

typedef struct panp_poll_adapter {
    panp_client *c; /* NULL after the context was freed */
    int fd;
    bool want_read;
    bool want_write;
    int64_t deadline_ms; /* CLOCK_MONOTONIC ms; -1: no timer */
} panp_poll_adapter;

static inline int64_t panp_poll_adapter_now_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void panp_poll_adapter_add_read_(void *d, int fd)
{
    panp_poll_adapter *pa = (panp_poll_adapter *)d;
    pa->fd = fd;
    pa->want_read = true;
}

static inline void panp_poll_adapter_del_read_(void *d, int fd)
{
    (void)fd;
    ((panp_poll_adapter *)d)->want_read = false;
}

static inline void panp_poll_adapter_add_write_(void *d, int fd)
{
    panp_poll_adapter *pa = (panp_poll_adapter *)d;
    pa->fd = fd;
    pa->want_write = true;
}

static inline void panp_poll_adapter_del_write_(void *d, int fd)
{
    (void)fd;
    ((panp_poll_adapter *)d)->want_write = false;
}

static inline void panp_poll_adapter_set_timer_(void *d, int ms)
{
    panp_poll_adapter *pa = (panp_poll_adapter *)d;
    pa->deadline_ms = ms < 0 ? -1 : panp_poll_adapter_now_() + ms;
}

static inline void panp_poll_adapter_cleanup_(void *d)
{
    panp_poll_adapter *pa = (panp_poll_adapter *)d;
    pa->c = NULL;
    pa->fd = -1;
    pa->want_read = pa->want_write = false;
    pa->deadline_ms = -1;
}

static inline panp_error_code panp_poll_adapter_attach(panp_poll_adapter *pa, panp_client *c,
                                                       panp_status *st)
{
    pa->c = c;
    pa->fd = -1;
    pa->want_read = pa->want_write = false;
    pa->deadline_ms = -1;
    panp_loop_hooks h = {pa,
                         panp_poll_adapter_add_read_,
                         panp_poll_adapter_del_read_,
                         panp_poll_adapter_add_write_,
                         panp_poll_adapter_del_write_,
                         panp_poll_adapter_set_timer_,
                         panp_poll_adapter_cleanup_};
    return panp_async_attach(c, &h, st);
}

/* The pollfd to wait on (fd -1 and no events when there is none). */
static inline void panp_poll_adapter_fill(const panp_poll_adapter *pa, struct pollfd *p)
{
    p->fd = pa->c && (pa->want_read || pa->want_write) ? pa->fd : -1;
    p->events = (short)((pa->want_read ? POLLIN : 0) | (pa->want_write ? POLLOUT : 0));
    p->revents = 0;
}

/* Milliseconds until its timer is due (0 if overdue), -1 for none. */
static inline int panp_poll_adapter_timeout(const panp_poll_adapter *pa)
{
    if (!pa->c || pa->deadline_ms < 0)
        return -1;
    int64_t left = pa->deadline_ms - panp_poll_adapter_now_();
    return left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* After poll(): hand readiness and a due timer to the context.  Each step
 * re-checks pa->c, since a callback may free the context. */
static inline void panp_poll_adapter_dispatch(panp_poll_adapter *pa, const struct pollfd *p)
{
    if (pa->c && p->fd >= 0 && p->fd == pa->fd && (p->revents & POLLOUT))
        panp_async_on_writable(pa->c);
    if (pa->c && p->fd >= 0 && p->fd == pa->fd && (p->revents & (POLLIN | POLLHUP | POLLERR)))
        panp_async_on_readable(pa->c);
    if (pa->c && pa->deadline_ms >= 0 && panp_poll_adapter_now_() >= pa->deadline_ms) {
        pa->deadline_ms = -1;
        panp_async_on_timer(pa->c);
    }
}

/* One poll() turn for a single context, waiting at most max_wait_ms
 * (< 0: until something happens).  Returns poll()'s result. */
static inline int panp_poll_adapter_run_once(panp_poll_adapter *pa, int max_wait_ms)
{
    struct pollfd p;
    panp_poll_adapter_fill(pa, &p);
    int t = panp_poll_adapter_timeout(pa);
    if (t < 0 || (max_wait_ms >= 0 && max_wait_ms < t))
        t = max_wait_ms;
    if (p.fd < 0 && t < 0)
        return 0; /* nothing to wait for: do not block forever */
    int n = poll(&p, p.fd >= 0 ? 1 : 0, t);
    panp_poll_adapter_dispatch(pa, &p);
    return n;
}

#endif /* PANP_ADAPTERS_POLL_H */
