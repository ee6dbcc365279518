/* scen.h - the scenarios, each one run against one broker through one
 * driver, ending with one JSON line on stdout.
 *
 *   throughput  one sender, N listeners (1: the 1:1 case; 10/100/1000:
 *               fan-out), fixed payload, sends for a fixed time through a
 *               closed-loop window, then drains; deliveries/s counted at
 *               the listeners; --slow makes listener 0 stop reading and
 *               samples the broker's RSS
 *   rtt         one requester and one responder, one request in flight,
 *               N round trips: p50/p99 latency
 *   idle        N listener connections, each subscribed: broker RSS per
 *               connection, and its CPU while they sit idle */
#ifndef BENCH_SCEN_H
#define BENCH_SCEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "drv.h"

typedef struct bench_cfg {
    const drv *d;
    benv env;
    pid_t broker_pid;      /* for RSS and CPU; 0: not measured */
    int broker_cpu, gen_cpu; /* the CPUs both are pinned to (-1: unknown), for the noise figure */
    const char *label;     /* broker name for the record */
    const char *scenario;
    int rep;
    int listeners;
    int payload;
    double secs;           /* measured sending time */
    double warmup;         /* sending before the measurement starts */
    int window;            /* messages in flight, at most */
    int window_deliveries; /* ... and at most this many deliveries in flight */
    int window_bytes;      /* ... and at most this many payload bytes per listener */
    bool slow;
    int rtt_n, rtt_warm;
    int idle_n;
    int idle_procs;        /* child processes sharing the idle connections */
    double idle_secs;
    int concurrency;       /* connections being set up at once */
    int drain_ms;          /* give up waiting for deliveries after this long without progress */
} bench_cfg;

int scen_throughput(const bench_cfg *cfg);
int scen_rtt(const bench_cfg *cfg);
int scen_idle(const bench_cfg *cfg);

#endif
