/* timer.h - a binary min-heap of deadlines.
 *
 * The core has no clock: every call brings "now" in milliseconds, and the
 * event loop asks timer_next() when to call core_tick() again.  Timers are
 * embedded in their owners (a connection's keepalive, a registration's
 * lease), so arming and cancelling never allocate after the heap has grown. */
#ifndef PANPD_TIMER_H
#define PANPD_TIMER_H

#include <stddef.h>
#include <stdint.h>

#define TIMER_NONE UINT64_MAX

typedef struct core_timer {
    uint64_t when;
    size_t idx; /* position in the heap, or SIZE_MAX when not armed */
    int kind;   /* what the owner is; see core_int.h */
} core_timer;

typedef struct timer_heap {
    core_timer **v;
    size_t n, cap;
} timer_heap;

void timer_heap_init(timer_heap *h);
void timer_heap_free(timer_heap *h);
void timer_init(core_timer *t, int kind);
static inline int timer_armed(const core_timer *t) { return t->idx != SIZE_MAX; }
/* (Re)arms t for `when`.  Returns -1 when out of memory. */
int timer_arm(timer_heap *h, core_timer *t, uint64_t when);
void timer_cancel(timer_heap *h, core_timer *t);
/* The earliest deadline, or TIMER_NONE. */
uint64_t timer_next(const timer_heap *h);
/* Removes and returns the earliest timer due at `now`, or NULL. */
core_timer *timer_pop_due(timer_heap *h, uint64_t now);

#endif
