/* timer.c - min-heap of embedded deadlines (see timer.h). */
#include "timer.h"

#include <stdlib.h>

void timer_heap_init(timer_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void timer_heap_free(timer_heap *h)
{
    for (size_t i = 0; i < h->n; i++) h->v[i]->idx = SIZE_MAX;
    free(h->v);
    timer_heap_init(h);
}

void timer_init(core_timer *t, int kind)
{
    t->when = TIMER_NONE;
    t->idx = SIZE_MAX;
    t->kind = kind;
}

static void place(timer_heap *h, size_t i, core_timer *t)
{
    h->v[i] = t;
    t->idx = i;
}

static void sift_up(timer_heap *h, size_t i)
{
    core_timer *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->when <= t->when) break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(timer_heap *h, size_t i)
{
    core_timer *t = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1]->when < h->v[c]->when) c++;
        if (h->v[c]->when >= t->when) break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, t);
}

int timer_arm(timer_heap *h, core_timer *t, uint64_t when)
{
    if (timer_armed(t)) {
        uint64_t old = t->when;
        t->when = when;
        if (when < old) sift_up(h, t->idx);
        else sift_down(h, t->idx);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        core_timer **v = realloc(h->v, cap * sizeof(*v));
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    t->when = when;
    place(h, h->n++, t);
    sift_up(h, t->idx);
    return 0;
}

void timer_cancel(timer_heap *h, core_timer *t)
{
    if (!timer_armed(t)) return;
    size_t i = t->idx;
    t->idx = SIZE_MAX;
    h->n--;
    if (i == h->n) return;
    core_timer *last = h->v[h->n];
    place(h, i, last);
    sift_down(h, i);
    sift_up(h, last->idx);
}

uint64_t timer_next(const timer_heap *h)
{
    return h->n ? h->v[0]->when : TIMER_NONE;
}

core_timer *timer_pop_due(timer_heap *h, uint64_t now)
{
    if (h->n == 0 || h->v[0]->when > now) return NULL;
    core_timer *t = h->v[0];
    timer_cancel(h, t);
    return t;
}
