/* scen.c - the scenarios (see scen.h): connection set-up shared by all,
 * then the throughput, round-trip and idle-connection measurements.
 *
 * Every message carries its sequence number (8 bytes, little endian) and
 * the send time (8 bytes) at the start of its payload, the rest is filler.
 * Listeners check the sequence: a jump is a gap (a drop somewhere), a step
 * back is a duplicate or reordering (must never happen on one connection).
 *
 * The sender is closed-loop: it sends only while the slowest reading
 * listener is fewer than `window` messages behind, so every broker is
 * measured at the rate it sustains rather than at the rate its queues
 * overflow, and no listener's backlog nears a broker's per-connection
 * bound.  A window stuck for 200 ms (what a broker dropped at the tail
 * never arrives) is given up on and counted as a stall; drops are counted
 * after the drain. */
#include "scen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "procstat.h"
#include "wire.h"

#define MAX_RSS_SAMPLES 4096

typedef struct lst {
    struct run *run;
    bconn *c;
    uint64_t got, next_seq, gaps, back;
    bool slow;
    int64_t rx0;
} lst;

typedef struct run {
    const bench_cfg *cfg;
    benv env;
    uint64_t delivered_active, delivered_slow;
    uint64_t reply_seq;
    bool reply_got;
} run;

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) p[i] = (uint8_t)v;
}

static void on_listener_msg(void *ud, const uint8_t *p, size_t n)
{
    lst *l = ud;
    l->got++;
    if (l->slow)
        l->run->delivered_slow++;
    else
        l->run->delivered_active++;
    if (n < 8) return;
    uint64_t seq = get_u64(p);
    if (seq > l->next_seq) l->gaps += seq - l->next_seq;
    if (seq < l->next_seq) l->back++;
    l->next_seq = seq + 1;
}

static void on_reply(void *ud, const uint8_t *p, size_t n)
{
    run *r = ud;
    if (n >= 8) {
        r->reply_seq = get_u64(p);
        r->reply_got = true;
    }
}

static void fill(uint8_t *buf, size_t len, uint64_t seq)
{
    put_u64(buf, seq);
    put_u64(buf + 8, (uint64_t)mono_ns());
    (void)len;
}

/* ---- common record fields */

static void rec_begin(jout *j, const bench_cfg *cfg)
{
    j_begin(j, stdout);
    j_str(j, "scenario", cfg->scenario);
    j_str(j, "broker", cfg->label);
    j_str(j, "proto", cfg->d->name);
    j_int(j, "rep", cfg->rep);
}

static void rec_end(jout *j, const bench_cfg *cfg, const char *err)
{
    bool alive = cfg->broker_pid <= 0 || proc_alive(cfg->broker_pid);
    j_bool(j, "broker_alive", alive);
    if (!alive && !err) err = "the broker died during the run";
    j_bool(j, "ok", err == NULL);
    j_str(j, "error", err ? err : "");
    j_end(j);
}

static double cpu_pct(int64_t ms, int64_t ns)
{
    return ns > 0 && ms >= 0 ? 100.0 * (double)ms * 1e6 / (double)ns : NAN;
}

static void rec_cpu(jout *j, const cpu_window *a, const cpu_window *b)
{
    cpu_use u = cpu_window_use(a, b);
    j_num(j, "broker_cpu_pct", u.broker);
    j_num(j, "broker_sys_pct", u.broker_sys);
    j_num(j, "gen_cpu_pct", u.gen);
    j_num(j, "noise_broker_core_pct", u.noise_bcore);
    j_num(j, "noise_gen_core_pct", u.noise_gcore);
}

/* ---- opening many connections, `concurrency` at a time */

/* Returns 0 when all n are ready; otherwise fills err. */
static int open_all(run *r, brole role, const char *topic, int n, bconn **cs, lst *ls, char *err,
                    size_t errlen)
{
    const bench_cfg *cfg = r->cfg;
    int opened = 0, lo = 0;
    int64_t deadline = mono_ms() + 30000 + (int64_t)n * 20;
    while (lo < n) {
        int pending = 0;
        for (int i = lo; i < opened; i++) {
            int st = cfg->d->ready(cs[i]);
            if (st < 0) {
                snprintf(err, errlen, "connection %d of %d: %s", i, n, cfg->d->error(cs[i]));
                return -1;
            }
            if (st == 0) pending++;
        }
        while (lo < opened && cfg->d->ready(cs[lo]) == 1) lo++;
        while (opened < n && pending < cfg->concurrency) {
            cs[opened] = cfg->d->open(&r->env, role, topic, ls ? on_listener_msg : on_reply,
                                      ls ? (void *)&ls[opened] : (void *)r);
            if (!cs[opened]) {
                snprintf(err, errlen, "out of memory opening connection %d", opened);
                return -1;
            }
            if (ls) ls[opened].c = cs[opened];
            opened++;
            pending++;
        }
        if (lo >= n) break;
        if (mono_ms() > deadline) {
            snprintf(err, errlen, "only %d of %d connections ready in time", lo, n);
            return -1;
        }
        ev_run_once(r->env.loop, 5);
    }
    return 0;
}

static const char *first_error(const bench_cfg *cfg, bconn **cs, int n, char *buf, size_t len)
{
    for (int i = 0; i < n; i++) {
        const char *e = cs[i] ? cfg->d->error(cs[i]) : NULL;
        if (e) {
            snprintf(buf, len, "connection %d: %s", i, e);
            return buf;
        }
    }
    return NULL;
}

static void close_all(const bench_cfg *cfg, bconn **cs, int n)
{
    for (int i = 0; i < n; i++)
        if (cs[i]) cfg->d->close(cs[i]);
}

/* ---- throughput, fan-out, slow consumer */

/* The next sequence number the slowest reading listener waits for (gaps
 * count as received: what a broker dropped is not waited for). */
static uint64_t slowest(const lst *ls, int n, uint64_t floor_seq)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < n; i++)
        if (!ls[i].slow && ls[i].next_seq < m) m = ls[i].next_seq;
    return m == UINT64_MAX || m < floor_seq ? floor_seq : m;
}

typedef struct rss_track {
    pid_t pid;
    int64_t t0_ms, next_ms;
    long base, peak, mid, end;
    int n;
    int32_t t[MAX_RSS_SAMPLES];
    int32_t kib[MAX_RSS_SAMPLES];
} rss_track;

static void rss_sample(rss_track *t, int64_t now)
{
    if (t->pid <= 0 || now < t->next_ms) return;
    t->next_ms = now + 100;
    long k = proc_rss_kib(t->pid);
    if (k < 0) return;
    if (k > t->peak) t->peak = k;
    if (t->n < MAX_RSS_SAMPLES) {
        t->t[t->n] = (int32_t)(now - t->t0_ms);
        t->kib[t->n++] = (int32_t)k;
    }
}

int scen_throughput(const bench_cfg *cfg)
{
    run r = {.cfg = cfg, .env = cfg->env};
    int n = cfg->listeners;
    lst *ls = calloc((size_t)n, sizeof *ls);
    bconn **cs = calloc((size_t)n, sizeof *cs);
    bconn *snd = NULL;
    uint8_t *payload = calloc(1, (size_t)cfg->payload + 16);
    rss_track *rt = calloc(1, sizeof *rt);
    char err[512] = "";
    const char *fail = NULL;
    jout j;
    if (!ls || !cs || !payload || !rt) {
        fail = "out of memory";
        goto out;
    }
    memset(payload + 16, 'x', (size_t)cfg->payload > 16 ? (size_t)cfg->payload - 16 : 0);
    for (int i = 0; i < n; i++) ls[i].run = &r;
    ls[0].slow = cfg->slow && n > 1;
    int nact = n - (ls[0].slow ? 1 : 0);

    if (open_all(&r, ROLE_LISTENER, "fan", n, cs, ls, err, sizeof err) != 0) {
        fail = err;
        goto out;
    }
    snd = cfg->d->open(&r.env, ROLE_SENDER, "fan", NULL, NULL);
    for (int64_t dl = mono_ms() + 10000; snd && cfg->d->ready(snd) == 0 && mono_ms() < dl;)
        ev_run_once(r.env.loop, 5);
    if (!snd || cfg->d->ready(snd) != 1) {
        snprintf(err, sizeof err, "sender: %s", snd && cfg->d->error(snd) ? cfg->d->error(snd) : "not ready");
        fail = err;
        goto out;
    }
    if (ls[0].slow) {
        cfg->d->pause(cs[0], true);
        sock_small_rcvbuf(cfg->d->fd(cs[0]));
    }

    rt->pid = cfg->broker_pid;
    int64_t t_start = mono_ns();
    rt->t0_ms = t_start / 1000000;
    rt->base = cfg->broker_pid > 0 ? proc_rss_kib(cfg->broker_pid) : -1;
    rt->peak = rt->base;
    int64_t t_meas = t_start + (int64_t)(cfg->warmup * 1e9);
    int64_t t_mid = t_meas + (int64_t)(cfg->secs * 0.5e9);
    int64_t t_end = t_meas + (int64_t)(cfg->secs * 1e9);
    uint64_t sent = 0, floor_seq = 0, min_next = 0, stalls = 0, last_del = 0;
    uint64_t sent_w = 0, del_w = 0, del_e = 0, sent_e = 0;
    int64_t t_w = 0, t_e = 0;
    cpu_window cw = {.broker = cfg->broker_pid, .broker_cpu = cfg->broker_cpu, .gen_cpu = cfg->gen_cpu}, ce = cw;
    int64_t tx_w = 0, tx_e = 0, srx_w = 0, srx_e = 0, lrx = 0;
    int64_t last_progress = t_start;
    bool measuring = false, mid_taken = false;
    /* How far the slowest listener may fall behind: `window` messages, no
     * more than window_deliveries deliveries in all (a memory guard for
     * the largest fan-outs; smaller windows starve the brokers here, as the
     * generator serves one listener after another) ... */
    uint64_t wmsgs = (uint64_t)cfg->window_deliveries / (uint64_t)nact;
    if (wmsgs > (uint64_t)cfg->window) wmsgs = (uint64_t)cfg->window;
    /* ... and within half of the smallest per-connection output bound of
     * the brokers (1 MiB; a frame is the payload plus ~100 bytes), so that
     * a listener briefly behind never makes a broker drop by design. */
    uint64_t wbytes = (uint64_t)cfg->window_bytes / ((uint64_t)cfg->payload + 100);
    if (wmsgs > wbytes) wmsgs = wbytes;
    if (wmsgs < 16) wmsgs = 16;
    int sfd = cfg->d->fd(snd);

    for (int64_t now = t_start; now < t_end; now = mono_ns()) {
        int burst = 0;
        while (burst < 64 && cfg->d->can_publish(snd)) {
            if (sent - min_next >= wmsgs) {
                min_next = slowest(ls, n, floor_seq);
                if (sent - min_next >= wmsgs) break;
            }
            fill(payload, (size_t)cfg->payload, sent);
            if (cfg->d->publish(snd, payload, (size_t)cfg->payload) != 0) break;
            sent++;
            burst++;
        }
        ev_run_once(r.env.loop, burst ? 0 : 1);
        now = mono_ns();
        if (cfg->d->error(snd)) {
            snprintf(err, sizeof err, "sender: %s", cfg->d->error(snd));
            fail = err;
            goto out;
        }
        if (!measuring && now >= t_meas) {
            measuring = true;
            t_w = now;
            sent_w = sent;
            del_w = r.delivered_active;
            cpu_window_mark(&cw, now);
            tx_w = tcp_bytes_sent(sfd);
            srx_w = tcp_bytes_received(sfd);
            for (int i = 0; i < n; i++) ls[i].rx0 = tcp_bytes_received(cfg->d->fd(cs[i]));
        }
        if (measuring && !mid_taken && now >= t_mid) {
            mid_taken = true;
            rt->mid = cfg->broker_pid > 0 ? proc_rss_kib(cfg->broker_pid) : -1;
        }
        rss_sample(rt, now / 1000000);
        if (r.delivered_active != last_del) {
            last_del = r.delivered_active;
            last_progress = now;
        } else if (now - last_progress > 200000000) {
            if (sent - slowest(ls, n, floor_seq) >= wmsgs) {
                floor_seq = sent; /* what is missing is lost: stop waiting for it */
                stalls++;
            }
            last_progress = now;
        }
        if (cfg->broker_pid > 0 && (sent & 0xfff) == 0 && !proc_alive(cfg->broker_pid)) break;
    }
    t_e = mono_ns();
    sent_e = sent;
    del_e = r.delivered_active;
    cpu_window_mark(&ce, t_e);
    tx_e = tcp_bytes_sent(sfd);
    srx_e = tcp_bytes_received(sfd);
    rt->end = cfg->broker_pid > 0 ? proc_rss_kib(cfg->broker_pid) : -1;
    {
        int64_t sum = 0;
        bool have = true;
        for (int i = 0; i < n; i++) {
            if (ls[i].slow) continue;
            int64_t b = tcp_bytes_received(cfg->d->fd(cs[i]));
            if (b < 0 || ls[i].rx0 < 0) have = false;
            sum += b - ls[i].rx0;
        }
        lrx = have ? sum : -1;
    }

    /* Drain: every message sent to every reading listener, or no progress
     * for drain_ms. */
    int64_t drain_start = mono_ns(), last = drain_start;
    uint64_t want = sent * (uint64_t)nact, seen = r.delivered_active;
    while (r.delivered_active < want && mono_ns() - last < (int64_t)cfg->drain_ms * 1000000) {
        ev_run_once(r.env.loop, 10);
        if (r.delivered_active != seen) {
            seen = r.delivered_active;
            last = mono_ns();
        }
    }
    int64_t drain_ns = mono_ns() - drain_start;

    uint64_t gaps = 0, back = 0;
    for (int i = 0; i < n; i++)
        if (!ls[i].slow) {
            gaps += ls[i].gaps;
            back += ls[i].back;
        }
    if (!fail) fail = first_error(cfg, ls[0].slow ? cs + 1 : cs, nact, err, sizeof err);
    if (!fail && back) fail = "a listener saw a message twice or out of order";

    double dt = (double)(t_e - t_w) / 1e9;
    uint64_t win_del = del_e - del_w, win_sent = sent_e - sent_w;
    rec_begin(&j, cfg);
    j_int(&j, "listeners", n);
    j_int(&j, "payload", cfg->payload);
    j_bool(&j, "slow", ls[0].slow);
    j_num(&j, "secs", dt);
    j_int(&j, "window", (int64_t)wmsgs);
    j_int(&j, "sent", (int64_t)sent);
    j_int(&j, "delivered", (int64_t)r.delivered_active);
    j_int(&j, "expected", (int64_t)want);
    j_int(&j, "drops", (int64_t)(want - r.delivered_active));
    j_int(&j, "gaps", (int64_t)gaps);
    j_int(&j, "out_of_order", (int64_t)back);
    j_int(&j, "stalls", (int64_t)stalls);
    j_num(&j, "drain_ms", (double)drain_ns / 1e6);
    j_num(&j, "rate", dt > 0 ? (double)win_del / dt : NAN);
    j_num(&j, "rate_per_listener", dt > 0 ? (double)win_del / dt / nact : NAN);
    j_num(&j, "msgs_per_s", dt > 0 ? (double)win_sent / dt : NAN);
    rec_cpu(&j, &cw, &ce);
    j_num(&j, "wire_rx_per_delivery", lrx >= 0 && win_del ? (double)lrx / (double)win_del : NAN);
    j_num(&j, "wire_tx_per_msg", tx_w >= 0 && win_sent ? (double)(tx_e - tx_w) / (double)win_sent : NAN);
    j_num(&j, "sender_rx_per_msg", srx_w >= 0 && win_sent ? (double)(srx_e - srx_w) / (double)win_sent : NAN);
    j_int(&j, "rss_base_kib", rt->base);
    j_int(&j, "rss_mid_kib", rt->mid);
    j_int(&j, "rss_end_kib", rt->end);
    j_int(&j, "rss_peak_kib", rt->peak);
    if (ls[0].slow) {
        j_int(&j, "slow_got", (int64_t)ls[0].got);
        /* RSS over time, every ~250 ms: [ms since start, KiB] */
        size_t cap = 32 + (size_t)rt->n * 24;
        char *a = malloc(cap);
        if (a) {
            size_t o = (size_t)snprintf(a, cap, "[");
            int64_t next = 0;
            for (int i = 0; i < rt->n; i++) {
                if (rt->t[i] < next) continue;
                next = rt->t[i] + 250;
                o += (size_t)snprintf(a + o, cap - o, "%s[%d,%d]", o > 1 ? "," : "", rt->t[i], rt->kib[i]);
            }
            snprintf(a + o, cap - o, "]");
            j_raw(&j, "rss_samples", a);
            free(a);
        }
    }
    rec_end(&j, cfg, fail);
    fail = NULL;
out:
    if (fail) {
        rec_begin(&j, cfg);
        j_int(&j, "listeners", n);
        j_int(&j, "payload", cfg->payload);
        j_bool(&j, "slow", cfg->slow);
        rec_end(&j, cfg, fail);
    }
    if (snd) cfg->d->close(snd);
    if (cs) close_all(cfg, cs, n);
    free(ls);
    free(cs);
    free(payload);
    free(rt);
    return 0;
}

/* ---- request/response round trip */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const int64_t *v, int n, double p)
{
    if (n == 0) return NAN;
    int i = (int)ceil(p / 100.0 * n) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return (double)v[i] / 1000.0;
}

int scen_rtt(const bench_cfg *cfg)
{
    run r = {.cfg = cfg, .env = cfg->env};
    bconn *resp = NULL, *req = NULL;
    int n = cfg->rtt_n, total = cfg->rtt_warm + cfg->rtt_n;
    int64_t *lat = calloc((size_t)n + 1, sizeof *lat);
    uint8_t *payload = calloc(1, (size_t)cfg->payload + 16);
    char err[512] = "";
    const char *fail = NULL;
    jout j;
    int done = 0;
    cpu_window c0 = {.broker = cfg->broker_pid, .broker_cpu = cfg->broker_cpu, .gen_cpu = cfg->gen_cpu}, c1 = c0;
    bool measured = false;
    if (!lat || !payload) {
        fail = "out of memory";
        goto out;
    }
    memset(payload + 16, 'x', (size_t)cfg->payload > 16 ? (size_t)cfg->payload - 16 : 0);
    if (open_all(&r, ROLE_RESPONDER, "rtt", 1, &resp, NULL, err, sizeof err) != 0 ||
        open_all(&r, ROLE_REQUESTER, "rtt", 1, &req, NULL, err, sizeof err) != 0) {
        fail = err;
        goto out;
    }
    for (int i = 0; i < total; i++) {
        if (i == cfg->rtt_warm) {
            cpu_window_mark(&c0, mono_ns());
        }
        fill(payload, (size_t)cfg->payload, (uint64_t)i);
        r.reply_got = false;
        int64_t start = mono_ns();
        if (cfg->d->publish(req, payload, (size_t)cfg->payload) != 0) {
            snprintf(err, sizeof err, "request %d: %s", i, cfg->d->error(req));
            fail = err;
            goto out;
        }
        while (!(r.reply_got && r.reply_seq == (uint64_t)i)) {
            ev_run_once(r.env.loop, 10);
            const char *e = cfg->d->error(req) ? cfg->d->error(req) : cfg->d->error(resp);
            if (e) {
                snprintf(err, sizeof err, "round trip %d: %s", i, e);
                fail = err;
                goto out;
            }
            if (mono_ns() - start > 5000000000LL) {
                snprintf(err, sizeof err, "round trip %d: no reply within 5 s", i);
                fail = err;
                goto out;
            }
        }
        int64_t d = mono_ns() - start;
        if (i >= cfg->rtt_warm) lat[done++] = d;
    }
    cpu_window_mark(&c1, mono_ns());
    measured = true;
out:
    qsort(lat, (size_t)done, sizeof *lat, cmp_i64);
    double sum = 0;
    for (int i = 0; i < done; i++) sum += (double)lat[i];
    rec_begin(&j, cfg);
    j_int(&j, "payload", cfg->payload);
    j_int(&j, "round_trips", done);
    j_num(&j, "p50_us", pct_us(lat, done, 50));
    j_num(&j, "p90_us", pct_us(lat, done, 90));
    j_num(&j, "p99_us", pct_us(lat, done, 99));
    j_num(&j, "p999_us", pct_us(lat, done, 99.9));
    j_num(&j, "max_us", done ? (double)lat[done - 1] / 1000.0 : NAN);
    j_num(&j, "mean_us", done ? sum / done / 1000.0 : NAN);
    if (measured) rec_cpu(&j, &c0, &c1);
    rec_end(&j, cfg, fail);
    if (req) cfg->d->close(req);
    if (resp) cfg->d->close(resp);
    free(lat);
    free(payload);
    return 0;
}

/* ---- idle connections
 *
 * Spread over idle_procs child processes (libmosquitto spends three file
 * descriptors per client, and a process may have 20,000 here), the same
 * split for every broker.  Each child opens its share, says "R" (or "E
 * reason") on its status pipe, idles in its own loop until the parent
 * writes to its control pipe, then reports "D messages error" and closes
 * its connections.  The parent measures the broker meanwhile. */

static bool child_quit;

static void on_control(void *ud, int fd, unsigned events)
{
    (void)ud, (void)fd, (void)events;
    child_quit = true;
}

static void idle_child(const bench_cfg *pcfg, int count, int up, int down)
{
    bench_cfg cfg = *pcfg;
    run r = {.cfg = &cfg};
    /* The set-up concurrency is for all children together (panpd refuses
     * more than max_pending_per_peer unfinished handshakes from one peer). */
    cfg.concurrency = pcfg->concurrency / pcfg->idle_procs > 0 ? pcfg->concurrency / pcfg->idle_procs : 1;
    cfg.env.loop = ev_new();
    r.env = cfg.env;
    lst *ls = calloc((size_t)count, sizeof *ls);
    bconn **cs = calloc((size_t)count, sizeof *cs);
    char err[512] = "", line[700];
    if (!cfg.env.loop || !ls || !cs) {
        dprintf(up, "E out of memory\n");
        _exit(1);
    }
    for (int i = 0; i < count; i++) ls[i].run = &r;
    if (open_all(&r, ROLE_LISTENER, "idle", count, cs, ls, err, sizeof err) != 0) {
        dprintf(up, "E %s\n", err);
        _exit(1);
    }
    dprintf(up, "R\n");
    ev_watch(cfg.env.loop, down, EV_READ, on_control, NULL);
    while (!child_quit) ev_run_once(cfg.env.loop, 1000);
    uint64_t got = 0;
    for (int i = 0; i < count; i++) got += ls[i].got;
    const char *e = first_error(&cfg, cs, count, err, sizeof err);
    snprintf(line, sizeof line, "D %llu %s\n", (unsigned long long)got, e ? e : "");
    for (char *p = line + 2; *p && p[1]; p++)
        if (*p == '\n') *p = ' ';
    if (write(up, line, strlen(line)) < 0) _exit(1);
    close_all(&cfg, cs, count);
    _exit(0);
}

/* One line from fd within timeout_ms ("" on timeout or EOF). */
static void read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t n = 0;
    int64_t dl = mono_ms() + timeout_ms;
    buf[0] = 0;
    while (n + 1 < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = dl - mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
        char c;
        if (read(fd, &c, 1) != 1) break;
        if (c == '\n') break;
        buf[n++] = c;
    }
    buf[n] = 0;
}

static void wait_ms(int ms)
{
    poll(NULL, 0, ms);
}

int scen_idle(const bench_cfg *cfg)
{
    int n = cfg->idle_n, procs = cfg->idle_procs < 1 ? 1 : cfg->idle_procs;
    if (procs > n) procs = n;
    pid_t *kids = calloc((size_t)procs, sizeof *kids);
    int *up = calloc((size_t)procs, sizeof *up), *down = calloc((size_t)procs, sizeof *down);
    char err[800] = "", line[700];
    const char *fail = NULL;
    jout j;
    long rss0 = -1, rss1 = -1;
    int64_t cpu_a = -1, cpu_b = -1, t_a = 0, t_b = 0, bcore_a = -1, bcore_b = -1;
    double connect_s = NAN;
    uint64_t got = 0;
    int started = 0;
    if (!kids || !up || !down) {
        fail = "out of memory";
        goto out;
    }
    /* Let the freshly started broker settle before the baseline. */
    wait_ms(300);
    rss0 = cfg->broker_pid > 0 ? proc_rss_kib(cfg->broker_pid) : -1;
    int64_t c0 = mono_ns();
    fflush(stdout);
    for (int p = 0; p < procs; p++) {
        int u[2], d[2];
        if (pipe(u) != 0 || pipe(d) != 0) {
            fail = "pipe failed";
            goto stop;
        }
        int count = n / procs + (p < n % procs ? 1 : 0);
        pid_t k = fork();
        if (k == 0) {
            close(u[0]);
            close(d[1]);
            for (int q = 0; q < started; q++) close(up[q]), close(down[q]);
            idle_child(cfg, count, u[1], d[0]);
        }
        close(u[1]);
        close(d[0]);
        if (k < 0) {
            close(u[0]);
            close(d[1]);
            fail = "fork failed";
            goto stop;
        }
        kids[p] = k;
        up[p] = u[0];
        down[p] = d[1];
        started++;
    }
    for (int p = 0; p < started; p++) {
        read_line(up[p], line, sizeof line, 60000 + n * 20);
        if (line[0] != 'R') {
            snprintf(err, sizeof err, "process %d: %s", p, line[0] == 'E' ? line + 2 : "no answer");
            fail = err;
            goto stop;
        }
    }
    connect_s = (double)(mono_ns() - c0) / 1e9;
    wait_ms(1000);
    rss1 = cfg->broker_pid > 0 ? proc_rss_kib(cfg->broker_pid) : -1;
    t_a = mono_ns();
    cpu_a = cfg->broker_pid > 0 ? proc_cpu_ms(cfg->broker_pid) : -1;
    bcore_a = core_busy_ms(cfg->broker_cpu);
    wait_ms((int)(cfg->idle_secs * 1000));
    t_b = mono_ns();
    cpu_b = cfg->broker_pid > 0 ? proc_cpu_ms(cfg->broker_pid) : -1;
    bcore_b = core_busy_ms(cfg->broker_cpu);
stop:
    for (int p = 0; p < started; p++)
        if (write(down[p], "q", 1) < 0) kill(kids[p], SIGKILL);
    for (int p = 0; p < started; p++) {
        read_line(up[p], line, sizeof line, 30000);
        if (line[0] == 'D') {
            char *rest = NULL;
            got += strtoull(line + 2, &rest, 10);
            if (rest && *rest == ' ' && rest[1] && !fail) {
                snprintf(err, sizeof err, "process %d: %s", p, rest + 1);
                fail = err;
            }
        } else if (!fail && !isnan(connect_s)) {
            snprintf(err, sizeof err, "process %d: no report at the end", p);
            fail = err;
        }
        close(up[p]);
        close(down[p]);
    }
    for (int p = 0; p < started; p++) waitpid(kids[p], NULL, 0);
out:
    rec_begin(&j, cfg);
    j_int(&j, "connections", n);
    j_int(&j, "processes", procs);
    j_num(&j, "connect_s", connect_s);
    j_int(&j, "rss_before_kib", rss0);
    j_int(&j, "rss_after_kib", rss1);
    j_num(&j, "bytes_per_conn", rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) * 1024.0 / n : NAN);
    j_num(&j, "idle_secs", (double)(t_b - t_a) / 1e9);
    j_int(&j, "idle_cpu_ms", cpu_a >= 0 && cpu_b >= 0 ? cpu_b - cpu_a : -1);
    j_num(&j, "idle_cpu_pct", cpu_a >= 0 && cpu_b >= 0 ? cpu_pct(cpu_b - cpu_a, t_b - t_a) : NAN);
    j_num(&j, "noise_broker_core_pct", cpu_a >= 0 && bcore_a >= 0 && bcore_b >= 0
                                           ? cpu_pct(bcore_b - bcore_a - (cpu_b - cpu_a), t_b - t_a)
                                           : NAN);
    j_int(&j, "messages", (int64_t)got);
    rec_end(&j, cfg, fail);
    free(kids);
    free(up);
    free(down);
    return 0;
}
