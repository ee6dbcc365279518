/* core.c - the core's public face (see core.h): lifecycle, the entry points
 * the event loop calls, timers, shutdown and logging.
 *
 * Every entry point records "now" and, before returning, tears down the
 * connections that the call ended, so a caller never sees a half-dead
 * connection and no module frees an object another is walking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

void core_log(core *c, log_level lv, const core_conn *conn, const char *fmt, ...)
{
    if (!c->hooks.log || lv > c->cfg->log_level) return;
    char line[768];
    int n = 0;
    if (conn)
        n = snprintf(line, sizeof(line), "conn %u [%s%s%s]: ", conn->serial,
                     conn->user ? conn->user->name : "", conn->user ? "@" : "",
                     conn->address ? conn->address : "?");
    if (n < 0 || (size_t)n >= sizeof(line)) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    c->hooks.log(c->hooks.ud, lv, line);
}

bool core_is_admin(const core *c, const core_conn *conn, uint32_t target)
{
    return conn->user && conf_is_admin_of(c->cfg, conn->user->name, target);
}

void core_wake(core *c, core_conn *conn)
{
    if (c->hooks.wake) c->hooks.wake(c->hooks.ud, conn);
}

core *core_new(const panpd_config *cfg, const core_hooks *hooks, uint64_t now)
{
    core *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cfg = cfg;
    c->hooks = *hooks;
    c->now = now;
    c->next_serial = 1;
    uint8_t seed[16] = {0};
    if (hooks->random(hooks->ud, seed, sizeof(seed)) != 0) {
        free(c);
        return NULL;
    }
    list_init(&c->conns);
    list_init(&c->pending);
    list_init(&c->reap);
    list_init(&c->all_regs);
    hmap_init(&c->regs, seed);
    hmap_init(&c->chans, seed);
    hmap_init(&c->convs, seed);
    hmap_init(&c->buckets, seed);
    hmap_init(&c->users, seed);
    timer_heap_init(&c->timers);
    outq_pool_init(&c->outq_pool);
    return c;
}

void core_free(core *c)
{
    if (!c) return;
    /* Tear everything down without telling anyone: nobody is listening. */
    list_node *n;
    list_for_each(n, &c->conns) {
        core_conn *conn = list_entry(n, core_conn, link);
        conn->state = CS_CLOSED;
    }
    list_for_each(n, &c->conns) conn_teardown(c, list_entry(n, core_conn, link));
    while (!list_empty(&c->conns)) conn_free(c, list_entry(c->conns.next, core_conn, link));
    outq_pool_free(&c->outq_pool);
    hmap_free(&c->regs);
    hmap_free(&c->chans);
    hmap_free(&c->convs);
    hmap_free(&c->buckets);
    hmap_free(&c->users);
    timer_heap_free(&c->timers);
    free(c);
}

/* SPEC SEC-7: unfinished handshakes are cheap to open and hold memory, so
 * they are capped in total and per peer. */
static bool pending_allowed(const core *c, const char *peer_id)
{
    const panpd_limits *l = &c->cfg->limits;
    if (c->npending >= l->max_pending_connections) return false;
    size_t same = 0;
    const list_node *n;
    list_for_each(n, &c->pending) {
        const core_conn *o = list_entry(n, core_conn, pending_link);
        if (strcmp(o->peer_id, peer_id) == 0) same++;
    }
    return same < l->max_pending_per_peer;
}

core_conn *core_connect(core *c, const core_peer *peer, uint64_t now)
{
    c->now = now;
    const char *address = peer->address ? peer->address : "?";
    const char *peer_id = peer->peer_id ? peer->peer_id : address;
    if (c->shutting_down || c->next_serial == 0) return NULL;
    if (!pending_allowed(c, peer_id)) {
        core_log(c, LOG_WARN, NULL, "refusing a connection from %s: too many unfinished handshakes",
                 address);
        return NULL;
    }
    core_conn *conn = calloc(1, sizeof(*conn));
    if (!conn) return NULL;
    conn->core = c;
    conn->framer = panp_framer_new(PANP_DEFAULT_MAX_FRAME, false);
    conn->address = strdup(address);
    conn->peer_id = strdup(peer_id);
    conn->transport_user = peer->user ? strdup(peer->user) : NULL;
    if (!conn->framer || !conn->address || !conn->peer_id || (peer->user && !conn->transport_user)) {
        panp_framer_free(conn->framer);
        free(conn->address);
        free(conn->peer_id);
        free(conn->transport_user);
        free(conn);
        return NULL;
    }
    conn->serial = c->next_serial++;
    conn->transport = peer->transport;
    conn->offers = peer->transport == CORE_TRANSPORT_TCP ? (unsigned)CORE_OFFER_TOKEN
                                                         : (unsigned)CORE_OFFER_EXTERNAL;
    conn->loopback = peer->loopback;
    conn->state = CS_AWAIT_PREFACE;
    conn->peer_max_frame = PANP_DEFAULT_MAX_FRAME;
    conn->connected_at = conn->last_rx = now;
    outq_init(&conn->q, &c->outq_pool);
    timer_init(&conn->timer, TK_CONN);
    list_init(&conn->reap_link);
    list_init(&conn->regs);
    list_init(&conn->chans);
    list_init(&conn->convs);
    list_init(&conn->lost);
    list_add_tail(&c->conns, &conn->link);
    list_add_tail(&c->pending, &conn->pending_link);
    c->npending++;
    c->stats.conns++;
    conn_rearm(c, conn);
    core_log(c, LOG_INFO, conn, "connected via %s",
             peer->transport == CORE_TRANSPORT_UNIX ? "unix" : peer->transport == CORE_TRANSPORT_TLS ? "tls" : "tcp");
    return conn;
}

void core_on_bytes(core *c, core_conn *conn, const uint8_t *data, size_t len, uint64_t now)
{
    c->now = now;
    conn_input(c, conn, data, len);
    conn_reap(c);
}

void core_on_frame(core *c, core_conn *conn, const panp_frame *f, uint64_t now)
{
    c->now = now;
    if (conn->state < CS_CLOSING) {
        conn->last_rx = now;
        conn_frame(c, conn, f);
    }
    conn_reap(c);
}

void core_on_eof(core *c, core_conn *conn, uint64_t now)
{
    c->now = now;
    if (conn->state == CS_READY) {
        core_log(c, LOG_INFO, conn, "end of input from the peer");
        conn_fail(c, conn, CS_CLOSING);
    } else if (conn->state < CS_READY) {
        conn_fail(c, conn, CS_CLOSED);
    }
    conn_reap(c);
}

void core_disconnect(core *c, core_conn *conn, core_gone why, uint64_t now)
{
    static const char *whys[] = {"?", "closed by the peer", "reset", "closed after flushing"};
    c->now = now;
    core_log(c, LOG_INFO, conn, "disconnected: %s", whys[why <= CORE_GONE_FLUSHED ? why : 0]);
    if (conn->state < CS_CLOSED) conn->state = CS_CLOSED;
    conn_teardown(c, conn);
    conn_free(c, conn);
    c->stats.conns--;
    conn_reap(c);
}

void core_tick(core *c, uint64_t now)
{
    c->now = now;
    core_timer *t;
    while ((t = timer_pop_due(&c->timers, now)) != NULL) {
        if (t->kind == TK_CONN)
            conn_timer_fired(c, (core_conn *)((char *)t - offsetof(core_conn, timer)));
        else if (t->kind == TK_LEASE)
            reg_lease_expired(c, (reg *)((char *)t - offsetof(reg, lease)));
        conn_reap(c);
    }
}

uint64_t core_next_deadline(const core *c)
{
    return timer_next(&c->timers);
}

void core_shutdown(core *c, uint64_t now)
{
    c->now = now;
    if (c->shutting_down) return;
    c->shutting_down = true;
    core_log(c, LOG_INFO, NULL, "shutting down: closing every channel");
    chan_close_all(c);
    list_node *n;
    list_for_each(n, &c->conns) {
        core_conn *conn = list_entry(n, core_conn, link);
        if (conn->state == CS_READY || conn->state == CS_AWAIT_HELLO) {
            emit_goodbye(c, conn, PANP_GOODBYE_SERVER_SHUTDOWN, "server shutting down");
            conn_fail(c, conn, CS_CLOSING);
        } else if (conn->state == CS_AWAIT_PREFACE) {
            conn_fail(c, conn, CS_CLOSED);
        }
    }
    conn_reap(c);
}

size_t core_conn_count(const core *c)
{
    return c->stats.conns;
}

unsigned core_conn_io(const core_conn *conn)
{
    bool out = !outq_empty(&conn->q);
    switch (conn->state) {
    case CS_CLOSED:
        return CORE_IO_CLOSE;
    case CS_CLOSING:
        return out ? CORE_IO_WRITE : CORE_IO_DRAINED;
    default:
        return CORE_IO_READ | (out ? CORE_IO_WRITE : 0u);
    }
}

int core_conn_iov(const core_conn *conn, struct iovec *iov, int max)
{
    return outq_iov(&conn->q, iov, max);
}

void core_conn_wrote(core *c, core_conn *conn, size_t n, uint64_t now)
{
    c->now = now;
    outq_consume(&conn->q, n);
    if (conn->state == CS_CLOSING && outq_empty(&conn->q)) core_wake(c, conn);
    conn_reap(c);
}

size_t core_conn_queued(const core_conn *conn)
{
    return conn->q.bytes;
}

void core_conn_set_data(core_conn *conn, void *data)
{
    conn->data = data;
}

void *core_conn_data(const core_conn *conn)
{
    return conn->data;
}

void core_conn_set_offers(core_conn *conn, unsigned offers)
{
    conn->offers = offers;
}

int core_conn_set_transport_user(core_conn *conn, const char *user)
{
    char *dup = user ? strdup(user) : NULL;
    if (user && !dup) return -1;
    free(conn->transport_user);
    conn->transport_user = dup;
    return 0;
}

uint32_t core_conn_serial(const core_conn *conn)
{
    return conn->serial;
}

const char *core_conn_user(const core_conn *conn)
{
    return conn->user ? conn->user->name : "";
}

void core_get_stats(const core *c, core_stats *st)
{
    *st = c->stats;
}
