/* test_robust.c - a seeded random walk through the core.
 *
 * Several clients send random but mostly well-formed requests built from
 * the ids, handles and conversations they have seen (theirs and other
 * connections'), now and then a mutated or random frame, while the clock
 * jumps, readers stall, connections die and the broker shuts down.  Every
 * frame the core queues must decode under the client's rules, every queue
 * must stay within its bound, and (under ASan) nothing may leak or be used
 * after it is freed.  Deterministic: a failure replays with its seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CLIENTS 5
#define POOL 64

typedef struct pools {
    uint64_t chans[POOL], convs[POOL];
    h_handle handles[POOL];
    size_t nchans, nconvs, nhandles;
} pools;

typedef struct walk {
    h_world *w;
    uint64_t rng;
    pools p[CLIENTS]; /* what each client has seen */
    h_conn *c[CLIENTS];
    const char *users[CLIENTS];
} walk;

static uint64_t rnd(walk *k)
{
    uint64_t z = (k->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned pick(walk *k, unsigned n)
{
    return (unsigned)(rnd(k) % n);
}

static void remember(uint64_t *pool, size_t *n, uint64_t v)
{
    if (v) pool[(*n)++ % POOL] = v;
}

/* Reads what the core queued for c (maybe only part of it), learning ids. */
static void read_some(walk *k, int i)
{
    h_conn *c = k->c[i];
    pools *p = &k->p[i];
    if (!c || c->gone) return;
    h_drain(k->w, c, pick(k, 4) == 0 ? (size_t)pick(k, 300) : SIZE_MAX);
    panp_frame *f;
    while (c->in_head != c->in_tail && (f = h_next(k->w, c)) != NULL) {
        if (f->kind == PANP_BODY_CHANNEL_OPENED) remember(p->chans, &p->nchans, f->body.channel_opened.channel_id);
        if (f->kind == PANP_BODY_NOTIFY) remember(p->convs, &p->nconvs, f->body.notify.conversation_id);
        if (f->kind == PANP_BODY_REGISTERED) {
            h_handle *h = &p->handles[p->nhandles++ % POOL];
            h->len = f->body.registered.handle.len;
            memcpy(h->b, f->body.registered.handle.data, h->len);
        }
    }
}

/* Mostly one of the client's own ids, sometimes another's, 0 or noise. */
static uint64_t any_id(walk *k, int i, bool conv)
{
    unsigned r = pick(k, 20);
    const pools *p = &k->p[r == 0 ? (int)pick(k, CLIENTS) : i];
    const uint64_t *pool = conv ? p->convs : p->chans;
    size_t n = conv ? p->nconvs : p->nchans;
    if (r == 1) return 0;
    if (r == 2 || n == 0) return rnd(k);
    /* recent ids are the live ones */
    size_t back = pick(k, 4) ? pick(k, 3) : pick(k, POOL);
    if (back >= n || back >= POOL) back = 0;
    return pool[(n - 1 - back) % POOL];
}

static panp_target any_target(walk *k)
{
    static const char *printers[] = {"P1", "P2", "P3"};
    unsigned t = pick(k, 10);
    return t < 3 ? h_printer(printers[t]) : h_server();
}

static const uint8_t *any_type(walk *k)
{
    unsigned t = pick(k, 20);
    return t == 0 ? PANP_TYPE_NOTIFICATION_RELEASE : t < 17 ? H_TYPE_A : H_TYPE_B;
}

static void random_request(walk *k, int i)
{
    h_conn *c = k->c[i];
    static char payload[3000];
    size_t plen = pick(k, 4) == 0 ? (size_t)pick(k, sizeof(payload) - 1) : (size_t)pick(k, 20);
    memset(payload, 'a' + (int)pick(k, 26), plen);
    payload[plen] = 0;
    panp_frame f;
    memset(&f, 0, sizeof(f));
    static const int ops[20] = {0, 0, 0, 2, 2, 2, 4, 4, 4, 4, 4, 4, 6, 6, 7, 7, 8, 9, 10, 10};
    switch (ops[pick(k, 20)]) {
    case 0:
    case 1:
        f = h_register_frame(any_target(k), any_type(k), 1 + pick(k, 2), 1 + pick(k, 2));
        f.body.register_listener.lease_seconds = pick(k, 3) == 0 ? 1 + pick(k, 5) : 0;
        break;
    case 2:
    case 3:
        f = h_open_frame(any_target(k), any_type(k), 1 + pick(k, 2), 1 + pick(k, 2));
        if (pick(k, 4) == 0) {
            f.body.open_channel.has_on_behalf_of = true;
            f.body.open_channel.on_behalf_of =
                (panp_job_context){.job_id = pick(k, 9), .job_owner = k->users[pick(k, CLIENTS)],
                                   .session_label = pick(k, 2) ? "s1" : ""};
        }
        break;
    case 4:
    case 5:
        f = h_send_frame(any_id(k, i, false), any_type(k), payload);
        break;
    case 6:
        f = h_reply_frame(any_id(k, i, true), any_type(k), payload);
        break;
    case 7: {
        bool conv = pick(k, 2);
        uint64_t id = any_id(k, i, conv);
        f = h_close_frame(conv ? PANP_CLOSE_SIDE_CONVERSATION : PANP_CLOSE_SIDE_CHANNEL, id,
                          pick(k, 2) ? any_type(k) : NULL, payload);
        break;
    }
    case 8: {
        f.kind = pick(k, 2) ? PANP_BODY_UNREGISTER : PANP_BODY_RENEW;
        static h_handle h;
        const pools *p = &k->p[pick(k, 10) == 0 ? (int)pick(k, CLIENTS) : i];
        h = p->nhandles ? p->handles[pick(k, (unsigned)(p->nhandles < POOL ? p->nhandles : POOL))]
                        : (h_handle){.len = 16};
        if (f.kind == PANP_BODY_RENEW) {
            f.body.renew.handle = h_b(&h);
            f.body.renew.lease_seconds = pick(k, 4);
        } else {
            f.body.unregister.handle = h_b(&h);
        }
        break;
    }
    case 9:
        f.kind = PANP_BODY_LIST_REGISTRATIONS;
        f.body.list_registrations.target = pick(k, 2) ? (panp_target){0} : any_target(k);
        f.body.list_registrations.offset = pick(k, 3);
        break;
    default:
        f.kind = PANP_BODY_PING;
        break;
    }
    /* Three ways in: the wire with the unvalidated writer, the validated
     * encoder when it agrees, and straight into the core. */
    switch (pick(k, 3)) {
    case 0:
        if (f.kind == PANP_BODY_PING || f.kind == PANP_BODY_LIST_REGISTRATIONS ||
            f.kind == PANP_BODY_RENEW || f.kind == PANP_BODY_UNREGISTER)
            h_inject(k->w, c, &f);
        else
            h_request_raw(k->w, c, &f);
        break;
    default:
        h_inject(k->w, c, &f);
        break;
    }
}

static void random_bytes(walk *k, h_conn *c)
{
    uint8_t buf[64];
    size_t n = 1 + pick(k, sizeof(buf) - 1);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rnd(k);
    buf[0] = (uint8_t)(n - 1 < 0x80 ? n - 1 : 0x7f); /* usually a plausible prefix */
    h_bytes(k->w, c, buf, n);
}

static void check_bounds(walk *k)
{
    const panpd_limits *l = &k->w->cfg->limits;
    for (int i = 0; i < CLIENTS; i++) {
        h_conn *c = k->c[i];
        if (!c || c->gone) continue;
        /* bound + allowance + one frame in progress */
        assert_true(core_conn_queued(c->cc) <= (size_t)l->max_outbound_bytes + l->control_allowance_bytes +
                                                   l->max_frame_size + 16);
    }
}

static h_conn *fresh(walk *k, int i)
{
    memset(&k->p[i], 0, sizeof(k->p[i]));
    h_conn *c = h_connect_opts(k->w, k->users[i], pick(k, 3) == 0 ? "s1" : "", pick(k, 4) == 0 ? 4096 : 0);
    k->c[i] = c;
    return c;
}

static void one_walk(uint64_t seed, int steps)
{
    walk k = {.rng = seed, .users = {"alice", "alice", "bob", "root", "spooler"}};
    k.w = h_new();
    k.w->cfg->limits.max_outbound_bytes = 131072;
    k.w->cfg->limits.max_frame_size = 8192;
    k.w->cfg->limits.max_registrations = 8;
    k.w->cfg->limits.max_channels = 6;
    k.w->cfg->limits.max_registrations_per_user = 12;
    k.w->cfg->limits.max_channels_per_user = 9;
    conf_add_printer(k.w->cfg, "P3");
    h_start(k.w);
    for (int i = 0; i < CLIENTS; i++) fresh(&k, i);
    int s = 0;
    for (; s < steps; s++) {
        int i = (int)pick(&k, CLIENTS);
        h_conn *c = k.c[i];
        unsigned what = pick(&k, 100);
        if (getenv("PANPD_WALK_TRACE")) fprintf(stderr, "step %d: conn %d what %u\n", s, i, what);
        if (c->gone || (h_io(c) & (CORE_IO_CLOSE | CORE_IO_DRAINED))) {
            if (!c->gone) h_disconnect(k.w, c, pick(&k, 2) ? CORE_GONE_FLUSHED : CORE_GONE_RESET);
            if (k.w->nconns < H_MAX_CONNS && !core_conn_count(k.w->core) == 0 && pick(&k, 2)) fresh(&k, i);
            else if (k.w->nconns < H_MAX_CONNS) fresh(&k, i);
            continue;
        }
        if (what < 62) random_request(&k, i);
        else if (what < 63) random_bytes(&k, c);
        else if (what < 88) {
            read_some(&k, i);
            /* a slow reader: nothing read for a while */
            if (pick(&k, 8) == 0) for (int j = 0; j < CLIENTS; j++) if (j != i) read_some(&k, j);
        }
        else if (what < 98) h_advance(k.w, pick(&k, 3) == 0 ? 2000 + pick(&k, 4000) : pick(&k, 200));
        else if (what < 99) pick(&k, 2) ? core_on_eof(k.w->core, c->cc, k.w->now)
                                        : h_disconnect(k.w, c, pick(&k, 2) ? CORE_GONE_EOF : CORE_GONE_RESET);
        else if (s > steps / 2 && pick(&k, 4) == 0) {
            core_shutdown(k.w->core, k.w->now);
            for (int j = 0; j < CLIENTS; j++) read_some(&k, j);
            break;
        }
        check_bounds(&k);
        if (k.w->nconns >= H_MAX_CONNS - 1) break;
    }
    for (int j = 0; j < CLIENTS; j++) read_some(&k, j);
    if (getenv("PANPD_WALK_DEBUG")) {
        core_stats st;
        core_get_stats(k.w->core, &st);
        int kinds[32] = {0}, codes[20] = {0};
        for (size_t x = 0; x < k.w->nkeep; x++) {
            kinds[k.w->keep[x]->kind]++;
            if (k.w->keep[x]->kind == PANP_BODY_ERROR) codes[k.w->keep[x]->body.error.code % 20]++;
        }
        for (int x = 0; x < 32; x++)
            if (kinds[x]) fprintf(stderr, " %s=%d", panp_body_name((panp_body_kind)x), kinds[x]);
        for (int x = 0; x < 20; x++)
            if (codes[x]) fprintf(stderr, " %s=%d", panp_error_code_name((panp_error_code)x), codes[x]);
        fprintf(stderr, "\n");
        fprintf(stderr, "walk %llx: %d steps, %zu conns made, %zu frames read, %llu notifies queued\n",
                (unsigned long long)seed, s, k.w->nconns, k.w->nkeep, (unsigned long long)st.notifies_queued);
    }
    h_free(k.w);
}

static void t_random_walks(void **state)
{
    (void)state;
    const char *env = getenv("PANPD_WALKS");
    int walks = env ? atoi(env) : 500;
    for (int i = 0; i < walks; i++) one_walk(0x5eed0000u + (uint64_t)i, 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_random_walks),
    };
    return cmocka_run_group_tests_name("panpd-core-robust", tests, NULL, NULL);
}
