/* loop.h - the load generator's event loop: epoll (level-triggered) over
 * every connection of one process, an indexed timer heap, and a list of
 * "flush" hooks run at the end of each turn (drivers that buffer output
 * write it there, so one turn's messages leave in one syscall).
 *
 * Single-threaded; every driver's connections share one loop, as the
 * brief asks for the fan-out listeners ("multiplexed in one load process
 * with an event loop, one connection each"). */
#ifndef BENCH_LOOP_H
#define BENCH_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { EV_READ = 1, EV_WRITE = 2 };

typedef struct evloop evloop;
/* events: EV_READ and/or EV_WRITE (errors and hang-ups come as EV_READ). */
typedef void (*ev_fd_fn)(void *ud, int fd, unsigned events);
typedef void (*ev_timer_fn)(void *ud);
typedef void (*ev_flush_fn)(void *ud);

typedef struct ev_timer {
    int64_t due_ms;
    int hidx; /* position in the heap, -1 when not armed */
    ev_timer_fn fn;
    void *ud;
} ev_timer;

evloop *ev_new(void);
void ev_free(evloop *l);

/* Sets the interest in fd (0 removes it).  fn/ud are kept from the first
 * call that gives them non-NULL. */
int ev_watch(evloop *l, int fd, unsigned want, ev_fd_fn fn, void *ud);
unsigned ev_interest(const evloop *l, int fd);

void ev_timer_init(ev_timer *t, ev_timer_fn fn, void *ud);
void ev_timer_set(evloop *l, ev_timer *t, int64_t due_ms); /* absolute, CLOCK_MONOTONIC ms */
void ev_timer_cancel(evloop *l, ev_timer *t);

/* Runs fn(ud) at the end of every turn until removed. */
int ev_add_flush(evloop *l, ev_flush_fn fn, void *ud);

/* One turn: wait at most max_wait_ms (0: poll, <0: until an event or a
 * timer), dispatch, run due timers and the flush hooks.  Returns the
 * number of fd events dispatched. */
int ev_run_once(evloop *l, int max_wait_ms);

int64_t mono_ms(void);
int64_t mono_ns(void);

#endif
