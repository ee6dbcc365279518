/* loop.c - epoll loop, indexed timer heap, end-of-turn flush hooks. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 1024
#define MAX_FLUSH 8

typedef struct slot {
    ev_fd_fn fn;
    void *ud;
    unsigned want;
} slot;

struct evloop {
    int ep;
    slot *slots;
    size_t nslots;
    ev_timer **heap;
    size_t nheap, capheap;
    ev_flush_fn flush_fn[MAX_FLUSH];
    void *flush_ud[MAX_FLUSH];
    int nflush;
};

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ms(void) { return mono_ns() / 1000000; }

evloop *ev_new(void)
{
    evloop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        free(l);
        return NULL;
    }
    return l;
}

void ev_free(evloop *l)
{
    if (!l) return;
    close(l->ep);
    free(l->slots);
    free(l->heap);
    free(l);
}

static slot *slot_of(evloop *l, int fd)
{
    if (fd < 0) return NULL;
    if ((size_t)fd >= l->nslots) {
        size_t n = l->nslots ? l->nslots : 256;
        while (n <= (size_t)fd) n *= 2;
        slot *s = realloc(l->slots, n * sizeof *s);
        if (!s) return NULL;
        memset(s + l->nslots, 0, (n - l->nslots) * sizeof *s);
        l->slots = s;
        l->nslots = n;
    }
    return &l->slots[fd];
}

int ev_watch(evloop *l, int fd, unsigned want, ev_fd_fn fn, void *ud)
{
    slot *s = slot_of(l, fd);
    if (!s) return -1;
    if (fn) {
        s->fn = fn;
        s->ud = ud;
    }
    if (want == s->want) return 0;
    struct epoll_event ev = {.events = ((want & EV_READ) ? EPOLLIN : 0u) |
                                       ((want & EV_WRITE) ? EPOLLOUT : 0u),
                             .data.fd = fd};
    int op = s->want == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    int rc = epoll_ctl(l->ep, op, fd, &ev);
    if (rc != 0 && op == EPOLL_CTL_ADD && errno == EEXIST) rc = epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
    if (rc != 0 && op == EPOLL_CTL_DEL) rc = 0; /* already closed: the kernel dropped it */
    if (rc != 0 && op == EPOLL_CTL_MOD && errno == ENOENT) rc = epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
    if (rc == 0) s->want = want;
    if (want == 0) s->fn = NULL, s->ud = NULL;
    return rc;
}

unsigned ev_interest(const evloop *l, int fd)
{
    return fd >= 0 && (size_t)fd < l->nslots ? l->slots[fd].want : 0;
}

/* ---- timers: a binary min-heap whose entries know their index */

void ev_timer_init(ev_timer *t, ev_timer_fn fn, void *ud)
{
    t->due_ms = 0;
    t->hidx = -1;
    t->fn = fn;
    t->ud = ud;
}

static void heap_put(evloop *l, size_t i, ev_timer *t)
{
    l->heap[i] = t;
    t->hidx = (int)i;
}

static void sift_up(evloop *l, size_t i)
{
    ev_timer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->due_ms <= t->due_ms) break;
        heap_put(l, i, l->heap[p]);
        i = p;
    }
    heap_put(l, i, t);
}

static void sift_down(evloop *l, size_t i)
{
    ev_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap) break;
        if (c + 1 < l->nheap && l->heap[c + 1]->due_ms < l->heap[c]->due_ms) c++;
        if (l->heap[c]->due_ms >= t->due_ms) break;
        heap_put(l, i, l->heap[c]);
        i = c;
    }
    heap_put(l, i, t);
}

void ev_timer_cancel(evloop *l, ev_timer *t)
{
    if (t->hidx < 0) return;
    size_t i = (size_t)t->hidx;
    t->hidx = -1;
    l->nheap--;
    if (i == l->nheap) return;
    ev_timer *m = l->heap[l->nheap];
    heap_put(l, i, m);
    sift_down(l, i);
    sift_up(l, (size_t)m->hidx);
}

void ev_timer_set(evloop *l, ev_timer *t, int64_t due_ms)
{
    if (t->hidx >= 0) {
        t->due_ms = due_ms;
        sift_down(l, (size_t)t->hidx);
        sift_up(l, (size_t)t->hidx);
        return;
    }
    if (l->nheap == l->capheap) {
        size_t n = l->capheap ? l->capheap * 2 : 256;
        ev_timer **h = realloc(l->heap, n * sizeof *h);
        if (!h) return;
        l->heap = h;
        l->capheap = n;
    }
    t->due_ms = due_ms;
    heap_put(l, l->nheap++, t);
    sift_up(l, l->nheap - 1);
}

int ev_add_flush(evloop *l, ev_flush_fn fn, void *ud)
{
    for (int i = 0; i < l->nflush; i++)
        if (l->flush_fn[i] == fn && l->flush_ud[i] == ud) return 0;
    if (l->nflush == MAX_FLUSH) return -1;
    l->flush_fn[l->nflush] = fn;
    l->flush_ud[l->nflush++] = ud;
    return 0;
}

static void run_timers(evloop *l)
{
    int64_t now = mono_ms();
    /* Bounded: a timer re-armed for "now" inside its callback waits a turn. */
    for (size_t n = l->nheap; n > 0 && l->nheap > 0 && l->heap[0]->due_ms <= now; n--) {
        ev_timer *t = l->heap[0];
        ev_timer_cancel(l, t);
        t->fn(t->ud);
    }
}

static void run_flush(evloop *l)
{
    for (int i = 0; i < l->nflush; i++) l->flush_fn[i](l->flush_ud[i]);
}

int ev_run_once(evloop *l, int max_wait_ms)
{
    run_flush(l);
    int wait = max_wait_ms;
    if (l->nheap > 0) {
        int64_t d = l->heap[0]->due_ms - mono_ms();
        if (d < 0) d = 0;
        if (wait < 0 || d < wait) wait = (int)d;
    }
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(l->ep, evs, MAX_EVENTS, wait);
    if (n < 0) n = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        slot *s = (size_t)fd < l->nslots ? &l->slots[fd] : NULL;
        if (!s || !s->fn) continue;
        unsigned e = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) e |= EV_READ;
        if (evs[i].events & EPOLLOUT) e |= EV_WRITE;
        e &= s->want | EV_READ; /* stale EPOLLOUT after a MOD */
        if (e) s->fn(s->ud, fd, e);
    }
    run_timers(l);
    run_flush(l);
    return n;
}
