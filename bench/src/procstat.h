/* procstat.h - what the harness reads about a process from /proc:
 * resident memory (VmRSS) and CPU time (utime + stime). */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* VmRSS in KiB; -1 if the process is gone. */
long proc_rss_kib(pid_t pid);
/* utime + stime in milliseconds; -1 if the process is gone. */
int64_t proc_cpu_ms(pid_t pid);
/* The same, split: user and system (kernel) time in ms; -1 if gone. */
int proc_cpu_split_ms(pid_t pid, int64_t *user_ms, int64_t *sys_ms);
/* The process still exists and is not a zombie. */
int proc_alive(pid_t pid);
/* Busy time of one CPU (user+nice+system+irq+softirq+steal) in ms; -1 if
 * unknown.  Busy time not spent by our processes is other load: noise. */
int64_t core_busy_ms(int cpu);

/* CPU use over a measured window: the broker, this process, and both
 * cores the two are pinned to. */
typedef struct cpu_window {
    pid_t broker;
    int broker_cpu, gen_cpu; /* -1: unknown */
    int64_t t_ns, broker_ms, broker_sys_ms, self_ms, bcore_ms, gcore_ms;
} cpu_window;

void cpu_window_mark(cpu_window *w, int64_t t_ns);
/* Percentages of one CPU over [a, b]: broker, generator, and the other
 * load found on the broker's and the generator's cores (NAN if unknown). */
typedef struct cpu_use {
    double broker, broker_sys, gen, noise_bcore, noise_gcore;
} cpu_use;
cpu_use cpu_window_use(const cpu_window *a, const cpu_window *b);

#endif
