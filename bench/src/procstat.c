/* procstat.c - VmRSS from /proc/PID/status, utime+stime from /proc/PID/stat. */
#include "procstat.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* Field 3 is the state, 14 utime, 15 stime (clock ticks); the command name
 * (field 2) may hold spaces, so parsing starts after its last ')'. */
static int read_stat(pid_t pid, char *state, int64_t *ticks, int64_t *sys_ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p += 2;
    *state = *p;
    unsigned long long ut = 0, st = 0;
    /* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    *ticks = (int64_t)(ut + st);
    if (sys_ticks) *sys_ticks = (int64_t)st;
    return 0;
}

int64_t proc_cpu_ms(pid_t pid)
{
    char s;
    int64_t t;
    if (read_stat(pid, &s, &t, NULL) != 0) return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return t * 1000 / (hz > 0 ? hz : 100);
}

int proc_cpu_split_ms(pid_t pid, int64_t *user_ms, int64_t *sys_ms)
{
    char s;
    int64_t t, st;
    if (read_stat(pid, &s, &t, &st) != 0) return -1;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0) hz = 100;
    *user_ms = (t - st) * 1000 / hz;
    *sys_ms = st * 1000 / hz;
    return 0;
}

int proc_alive(pid_t pid)
{
    char s;
    int64_t t;
    errno = 0;
    if (read_stat(pid, &s, &t, NULL) != 0)
        return errno == EMFILE || errno == ENFILE; /* cannot tell: assume alive */
    return s != 'Z' && s != 'X';
}

int64_t core_busy_ms(int cpu)
{
    if (cpu < 0) return -1;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[512], want[16];
    snprintf(want, sizeof want, "cpu%d ", cpu);
    int64_t ms = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, want, strlen(want)) != 0) continue;
        unsigned long long v[8] = {0};
        if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]) >= 7) {
            long hz = sysconf(_SC_CLK_TCK);
            /* user nice system idle iowait irq softirq steal */
            unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
            ms = (int64_t)busy * 1000 / (hz > 0 ? hz : 100);
        }
        break;
    }
    fclose(f);
    return ms;
}

void cpu_window_mark(cpu_window *w, int64_t t_ns)
{
    w->t_ns = t_ns;
    int64_t u, k;
    if (w->broker > 0 && proc_cpu_split_ms(w->broker, &u, &k) == 0) {
        w->broker_ms = u + k;
        w->broker_sys_ms = k;
    } else {
        w->broker_ms = w->broker_sys_ms = -1;
    }
    w->self_ms = proc_cpu_ms(getpid());
    w->bcore_ms = core_busy_ms(w->broker_cpu);
    w->gcore_ms = core_busy_ms(w->gen_cpu);
}

static double pct(int64_t a, int64_t b, double ns)
{
    return a >= 0 && b >= 0 && ns > 0 ? 100.0 * (double)(b - a) * 1e6 / ns : NAN;
}

cpu_use cpu_window_use(const cpu_window *a, const cpu_window *b)
{
    double ns = (double)(b->t_ns - a->t_ns);
    cpu_use u = {pct(a->broker_ms, b->broker_ms, ns), pct(a->broker_sys_ms, b->broker_sys_ms, ns),
                 pct(a->self_ms, b->self_ms, ns), NAN, NAN};
    double bc = pct(a->bcore_ms, b->bcore_ms, ns), gc = pct(a->gcore_ms, b->gcore_ms, ns);
    if (a->broker_cpu == a->gen_cpu) {
        u.noise_bcore = u.noise_gcore = bc - u.broker - u.gen;
    } else {
        u.noise_bcore = bc - u.broker;
        u.noise_gcore = gc - u.gen;
    }
    return u;
}
