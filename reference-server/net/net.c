/* net.c - sockets, libevent, TLS and the core (see net.h).
 *
 * The core never calls into this file except through its hooks; the wake
 * hook only marks a connection "dirty".  After every event this layer runs
 * the dirty list and turns each connection's core_conn_io() into socket
 * actions (write, half-close, close), so no socket is touched while the
 * core is walking its own lists.
 *
 * tls: connections use OpenSSL directly on the non-blocking socket rather
 * than libevent's OpenSSL bufferevents: this layer already owns its fds and
 * writes the core's queue with one sendmsg() per batch, and what it needs
 * around TLS (a handshake deadline before the core sees a byte, the
 * identity from the certificate handed to the core before the preface,
 * close_notify then a half-close while still reading, exact control of
 * how many bytes leave the core's bounded queue) is a few lines on an SSL
 * object and would be extra buffering and callbacks around a bufferevent.
 * The core hands bytes to TLS through a 16 KiB stage (one record): what
 * it counts as written is what OpenSSL has taken, and SSL_write() is always
 * retried with the same bytes. */
#include "net.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>

#include "addr.h"
#include "list.h"
#include "panp/codec.h"
#include "tls.h"

#define MAX_LISTENERS 16
#define READ_CHUNK 65536
/* One sendmsg() takes as much of a queue as the kernel allows: at 64
 * iovecs (32 Notifies) a fan-out spent more system calls than bytes
 * (bench/README.md, proposal 4).  TLS copies into a 16 KiB stage and needs
 * no more than 64. */
#define WRITE_IOVS IOV_MAX
#define TLS_STAGE_IOVS 64
#define TLS_STAGE 16384     /* one TLS record of plaintext */
#define TLS_READS_PER_EVENT 8

typedef struct nlistener nlistener;

/* Whom a connection counts against for limits.max_connections_per_peer:
 * the uid on unix:, the address without its port on tcp: and tls: (what
 * getnameinfo() prints, kept binary: it is in every connection). */
typedef struct peer_key {
    uint8_t family;   /* AF_UNIX, AF_INET, AF_INET6 */
    uint32_t id;      /* unix: the uid; link-local IPv6: the scope */
    uint8_t addr[16]; /* the IP address */
} peer_key;

/* What only a tls: connection needs, in one allocation of its own: the
 * plain connections, most of them, do not pay for it. */
typedef struct nconn_tls {
    SSL *ssl;
    struct event *hs_timer;  /* the handshake deadline; freed once it is done */
    const nlistener *l;      /* for logs */
    bool ready;              /* handshake done */
    bool read_wants_write;   /* SSL_read() needs the socket writable */
    bool write_wants_read;   /* SSL_write() needs the socket readable */
    size_t stage_len, stage_off;
    tls_verify_note note;    /* must live as long as ssl */
    char address[128];       /* for logs */
    uint8_t stage[TLS_STAGE]; /* taken from the core, not yet taken by SSL_write() */
} nconn_tls;

/* Kept small (96 bytes and its read event: one 240-byte chunk): an idle
 * connection costs what it keeps here, in the core and in the kernel. */
typedef struct nconn {
    struct net *n;
    core_conn *cc;
    struct event *wev;  /* made when first needed: most never wait to write */
    nconn_tls *tls;     /* tls: only */
    list_node link, dirty_link;
    peer_key peer;
    int fd;
    bool eof;          /* the peer will send nothing more */
    bool half_closed;  /* our sending side is shut */
    bool dirty;
    bool want_write;   /* the socket (or OpenSSL) asked to wait for writability */
    /* The read event, in the same allocation: libevent tells its size at
     * run time (conn_new), so it cannot be a member of a known type. */
    max_align_t rev_mem[];
} nconn;

struct nlistener {
    struct net *n;
    core_transport transport;
    struct evconnlistener *ev;
    struct event *resume;   /* re-enables accepting after an accept() error */
    char path[108];         /* unix: removed at exit */
    char name[300];         /* as configured, for logs */
};

struct net {
    const panpd_settings *s;
    const panpd_config *cfg;
    struct event_base *base;
    core *core;
    tls_server *tls;
    nlistener listeners[MAX_LISTENERS];
    size_t nlisteners;
    struct event *timer, *hard_stop, *sig_term, *sig_int;
    list_node conns, dirty;
    size_t nconns;
    bool shutting_down;
    /* Refusals and failed handshakes are logged through a token bucket so
     * a flood cannot turn into a flood of log lines. */
    double log_tokens;
    uint64_t log_refill_at;
    unsigned log_suppressed;
};

uint64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void vlog(log_level cfg_level, log_level lv, const char *fmt, va_list ap)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (lv > cfg_level) return;
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "%s panpd: %s: %s\n", stamp, names[lv], line);
}

void net_log(const net *n, log_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(n->cfg->log_level, lv, fmt, ap);
    va_end(ap);
}

/* At most 20 lines at once, 5 per second after that. */
static void net_log_limited(net *n, log_level lv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void net_log_limited(net *n, log_level lv, const char *fmt, ...)
{
    uint64_t now = net_now_ms();
    if (now > n->log_refill_at) {
        n->log_tokens += (double)(now - n->log_refill_at) * 0.005;
        if (n->log_tokens > 20) n->log_tokens = 20;
        n->log_refill_at = now;
    }
    if (n->log_tokens < 1) {
        n->log_suppressed++;
        return;
    }
    n->log_tokens -= 1;
    if (n->log_suppressed) {
        net_log(n, LOG_WARN, "%u similar line(s) suppressed", n->log_suppressed);
        n->log_suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(n->cfg->log_level, lv, fmt, ap);
    va_end(ap);
}

/* ---- core hooks */

static int hook_random(void *ud, uint8_t *buf, size_t len)
{
    (void)ud;
    while (len > 0) {
        ssize_t r = getrandom(buf, len, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}

static void hook_wake(void *ud, core_conn *cc)
{
    net *n = ud;
    nconn *c = core_conn_data(cc);
    if (!c || c->dirty) return;
    c->dirty = true;
    list_add_tail(&n->dirty, &c->dirty_link);
}

static void hook_log(void *ud, log_level lv, const char *line)
{
    net_log(ud, lv, "%s", line);
}

/* ---- connections */

static struct event *conn_rev(nconn *c)
{
    return (struct event *)c->rev_mem;
}

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

/* Not yet watched: free() is enough to drop it. */
static nconn *conn_new(net *n, int fd)
{
    nconn *c = calloc(1, sizeof(*c) + event_get_struct_event_size());
    if (!c) return NULL;
    c->n = n;
    c->fd = fd;
    if (event_assign(conn_rev(c), n->base, fd, EV_READ | EV_PERSIST, on_read, c) != 0) {
        free(c);
        return NULL;
    }
    list_init(&c->dirty_link);
    return c;
}

static void tls_free(nconn_tls *t, bool say_goodbye)
{
    if (t->hs_timer) event_free(t->hs_timer);
    if (t->ssl) {
        /* Best effort: a close_notify tells the peer the stream ended
         * here, not that it was cut. */
        if (say_goodbye) SSL_shutdown(t->ssl);
        SSL_free(t->ssl);
        ERR_clear_error();
    }
    free(t);
}

static void conn_close(nconn *c, core_gone why)
{
    net *n = c->n;
    list_remove(&c->link);
    list_remove(&c->dirty_link);
    n->nconns--;
    event_del(conn_rev(c));
    event_debug_unassign(conn_rev(c));
    if (c->wev) event_free(c->wev);
    if (c->tls) tls_free(c->tls, c->tls->ready && !c->half_closed && why != CORE_GONE_RESET);
    close(c->fd);
    core_conn_set_data(c->cc, NULL);
    core_disconnect(n->core, c->cc, why, net_now_ms());
    free(c);
}

/* Waits for writability, or stops.  False when the write event cannot be
 * made (out of memory): the caller closes c, which would hang otherwise. */
static bool watch_write(nconn *c, bool on)
{
    if (!on) {
        if (c->wev) event_del(c->wev);
        return true;
    }
    if (!c->wev) c->wev = event_new(c->n->base, c->fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (c->wev && event_add(c->wev, NULL) == 0) return true;
    net_log(c->n, LOG_ERROR, "conn %u: cannot watch for writability", core_conn_serial(c->cc));
    return false;
}

/* Plain sockets: writes what the core has queued.  Returns false when c
 * was closed. */
static bool plain_write(nconn *c)
{
    struct iovec iov[WRITE_IOVS];
    for (;;) {
        int cnt = core_conn_iov(c->cc, iov, WRITE_IOVS);
        if (cnt == 0) return true;
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            core_conn_wrote(c->n->core, c->cc, (size_t)w, net_now_ms());
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            c->want_write = true;
            return true;
        }
        net_log(c->n, LOG_DEBUG, "conn %u: write: %s", core_conn_serial(c->cc),
                w < 0 ? strerror(errno) : "nothing written");
        conn_close(c, CORE_GONE_RESET);
        return false;
    }
}

/* Moves up to one record's worth of the core's queue into the stage. */
static void tls_fill_stage(nconn *c)
{
    nconn_tls *t = c->tls;
    struct iovec iov[TLS_STAGE_IOVS];
    int cnt = core_conn_iov(c->cc, iov, TLS_STAGE_IOVS);
    size_t got = 0;
    for (int i = 0; i < cnt && got < TLS_STAGE; i++) {
        size_t k = iov[i].iov_len < TLS_STAGE - got ? iov[i].iov_len : TLS_STAGE - got;
        memcpy(t->stage + got, iov[i].iov_base, k);
        got += k;
    }
    t->stage_off = 0;
    t->stage_len = got;
    if (got) core_conn_wrote(c->n->core, c->cc, got, net_now_ms());
}

static void tls_io_error(nconn *c, const char *op, int r)
{
    char why[300];
    int saved = errno;
    tls_explain_failure(c->tls->ssl, r, saved, NULL, why, sizeof(why));
    net_log(c->n, LOG_DEBUG, "conn %u: tls %s: %s", core_conn_serial(c->cc), op, why);
    conn_close(c, CORE_GONE_RESET);
}

/* tls: the same through the stage.  Returns false when c was closed. */
static bool tls_write(nconn *c)
{
    nconn_tls *t = c->tls;
    for (;;) {
        if (t->stage_off == t->stage_len) {
            tls_fill_stage(c);
            if (t->stage_len == 0) return true;
        }
        size_t w = 0;
        ERR_clear_error();
        int r = SSL_write_ex(t->ssl, t->stage + t->stage_off, t->stage_len - t->stage_off, &w);
        if (r == 1) {
            t->stage_off += w;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE) {
            c->want_write = true;
            return true;
        }
        if (e == SSL_ERROR_WANT_READ) {
            t->write_wants_read = true;
            return true;
        }
        tls_io_error(c, "write", r);
        return false;
    }
}

static bool conn_write(nconn *c)
{
    return c->tls ? tls_write(c) : plain_write(c);
}

static bool staged(const nconn *c)
{
    return c->tls && c->tls->stage_off < c->tls->stage_len;
}

/* Shuts our sending side: close_notify first on tls:.  False when c was
 * closed; *later when TLS must wait for the socket. */
static bool half_close(nconn *c)
{
    if (c->tls) {
        ERR_clear_error();
        int r = SSL_shutdown(c->tls->ssl);
        if (r < 0) {
            int e = SSL_get_error(c->tls->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE) {
                c->want_write = true;
                return true;
            }
            if (e == SSL_ERROR_WANT_READ) {
                c->tls->write_wants_read = true;
                return true;
            }
            ERR_clear_error(); /* the peer is gone: nothing left to say */
        }
    }
    shutdown(c->fd, SHUT_WR);
    c->half_closed = true;
    return true;
}

/* Turns the core's wishes for c into socket actions. */
static void conn_apply(nconn *c)
{
    unsigned io = core_conn_io(c->cc);
    if (c->tls && !c->tls->ready) {
        /* Nothing to write before the preface; the Hello deadline or a
         * shutdown may still end it. */
        if (io & CORE_IO_CLOSE) conn_close(c, CORE_GONE_RESET);
        return;
    }
    c->want_write = false;
    if ((io & CORE_IO_WRITE) || staged(c)) {
        if (!conn_write(c)) return;
        io = core_conn_io(c->cc);
    }
    if (io & CORE_IO_CLOSE) {
        conn_close(c, CORE_GONE_FLUSHED);
        return;
    }
    if ((io & CORE_IO_DRAINED) && !staged(c)) {
        /* Everything is out.  Shut our side and read until the peer's EOF,
         * so a reset cannot destroy the last frames unread (SPEC ERR-4). */
        if (c->eof) {
            conn_close(c, CORE_GONE_FLUSHED);
            return;
        }
        if (!c->half_closed && !half_close(c)) return;
    }
    if (!watch_write(c, c->want_write || (c->tls && c->tls->read_wants_write))) conn_close(c, CORE_GONE_RESET);
}

static void rearm_timer(net *n)
{
    uint64_t d = core_next_deadline(n->core), now = net_now_ms();
    if (d == UINT64_MAX) {
        evtimer_del(n->timer);
        return;
    }
    uint64_t wait = d > now ? d - now : 0;
    struct timeval tv = {.tv_sec = (time_t)(wait / 1000), .tv_usec = (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(n->timer, &tv);
}

/* Runs after every event: applies the dirty connections, re-arms the core's
 * timer, ends the loop once a shutdown has nothing left to flush. */
static void settle(net *n)
{
    while (!list_empty(&n->dirty)) {
        nconn *c = list_entry(n->dirty.next, nconn, dirty_link);
        list_remove(&c->dirty_link);
        c->dirty = false;
        conn_apply(c);
    }
    rearm_timer(n);
    if (n->shutting_down && core_conn_count(n->core) == 0) event_base_loopbreak(n->base);
}

static void got_eof(nconn *c)
{
    c->eof = true;
    event_del(conn_rev(c));
    core_on_eof(c->n->core, c->cc, net_now_ms());
    hook_wake(c->n, c->cc);
}

static void plain_read(nconn *c)
{
    uint8_t buf[READ_CHUNK];
    ssize_t r = read(c->fd, buf, sizeof(buf));
    if (r > 0) {
        core_on_bytes(c->n->core, c->cc, buf, (size_t)r, net_now_ms());
    } else if (r == 0) {
        got_eof(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        net_log(c->n, LOG_DEBUG, "conn %u: read: %s", core_conn_serial(c->cc), strerror(errno));
        conn_close(c, CORE_GONE_RESET);
    }
}

/* Decrypted bytes to the core, a bounded number of records per event (the
 * rest is read on the next turn of the loop).  False when c was closed. */
static bool tls_read(nconn *c)
{
    nconn_tls *t = c->tls;
    uint8_t buf[TLS_STAGE];
    t->read_wants_write = false;
    for (int i = 0; i < TLS_READS_PER_EVENT && !c->eof; i++) {
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(t->ssl, buf, sizeof(buf), &got);
        if (r == 1) {
            core_on_bytes(c->n->core, c->cc, buf, got, net_now_ms());
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return true;
        if (e == SSL_ERROR_WANT_WRITE) {
            t->read_wants_write = true;
            hook_wake(c->n, c->cc);
            return true;
        }
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
            got_eof(c);
            return true;
        }
        tls_io_error(c, "read", r);
        return false;
    }
    if (!c->eof && SSL_has_pending(t->ssl)) event_active(conn_rev(c), EV_READ, 1);
    return true;
}

/* The handshake is done: who is it, by the certificate? */
static bool tls_established(nconn *c)
{
    net *n = c->n;
    nconn_tls *t = c->tls;
    const panpd_tls_settings *ts = &n->s->tls;
    char user[256], why[300], desc[300], sess[96];
    tls_describe_session(t->ssl, sess, sizeof(sess));
    t->ready = true;
    event_free(t->hs_timer);
    t->hs_timer = NULL;
    bool named = tls_peer_user(n->tls, t->ssl, user, sizeof(user), why, sizeof(why), desc, sizeof(desc));
    if (named && core_conn_set_transport_user(c->cc, user) != 0) {
        net_log(n, LOG_ERROR, "conn %u: out of memory", core_conn_serial(c->cc));
        conn_close(c, CORE_GONE_RESET);
        return false;
    }
    if (named)
        net_log(n, LOG_INFO, "conn %u: tls from %s: %s, %s -> user %s", core_conn_serial(c->cc), t->address,
                sess, desc, user);
    else if (desc[0] || ts->client_cert == TLS_CLIENT_CERT_REQUIRED)
        /* A verified certificate that names nobody: EXTERNAL will fail. */
        net_log(n, LOG_WARN, "conn %u: tls from %s: %s, %s names no user: %s", core_conn_serial(c->cc),
                t->address, sess, desc, why);
    else
        net_log(n, LOG_INFO, "conn %u: tls from %s: %s, no client certificate", core_conn_serial(c->cc),
                t->address, sess);
    return true;
}

/* A plain tcp: panp client on a tls: listener: it sent the whole panp
 * preface in clear (its 0x89 starts no TLS record).  It hears, in clear,
 * the preface and a fatal Error saying where it went wrong, rather than a
 * silent close; nothing else happens on the connection (SPEC TRANS-20).
 * True when c was such a client (and is closed). */
static bool plaintext_panp_client(nconn *c)
{
    uint8_t first[PANP_PREFACE_LEN];
    ssize_t got = recv(c->fd, first, sizeof(first), MSG_PEEK | MSG_DONTWAIT);
    if (got != PANP_PREFACE_LEN || memcmp(first, PANP_PREFACE, PANP_PREFACE_LEN) != 0) return false;
    uint8_t out[512];
    memcpy(out, PANP_PREFACE, PANP_PREFACE_LEN);
    panp_frame f = {.request_id = 0, .kind = PANP_BODY_ERROR};
    f.body.error = (panp_error_msg){.code = PANP_ERR_PROTOCOL_VIOLATION, .fatal = true,
                                    .message = "this address speaks TLS: connect with tls:HOST:PORT"};
    size_t need = 0;
    panp_status st;
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, out + PANP_PREFACE_LEN,
                              sizeof(out) - PANP_PREFACE_LEN, &need, &st) == PANP_ERR_UNSPECIFIED)
        (void)!send(c->fd, out, PANP_PREFACE_LEN + need, MSG_NOSIGNAL | MSG_DONTWAIT);
    net_log_limited(c->n, LOG_WARN, "conn %u: a plain tcp: panp client on tls listener %s, from %s: told so, closing",
                    core_conn_serial(c->cc), c->tls->l->name, c->tls->address);
    shutdown(c->fd, SHUT_WR);
    char junk[4096];
    for (int i = 0; i < 16 && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++) {}
    conn_close(c, CORE_GONE_RESET);
    return true;
}

/* One step of the server handshake.  True when it is complete and c is
 * alive; false when it needs the socket again or c was closed. */
static bool tls_handshake(nconn *c)
{
    nconn_tls *t = c->tls;
    if (SSL_in_before(t->ssl) && plaintext_panp_client(c)) return false;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) return tls_established(c);
    int saved = errno;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ) return false;
    if (e == SSL_ERROR_WANT_WRITE) {
        if (!watch_write(c, true)) conn_close(c, CORE_GONE_RESET);
        return false;
    }
    char why[400];
    tls_explain_failure(t->ssl, r, saved, &t->note, why, sizeof(why));
    net_log_limited(c->n, LOG_WARN, "conn %u: tls handshake with %s failed: %s",
                    core_conn_serial(c->cc), t->address, why);
    /* What the client sent and we will never read would turn our close
     * into a reset, which can destroy the alert OpenSSL just queued: take
     * it first, so the client reads why. */
    char junk[4096];
    for (int i = 0; i < 16 && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++) {}
    conn_close(c, CORE_GONE_RESET);
    return false;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    nconn *c = arg;
    net *n = c->n;
    (void)fd;
    (void)what;
    if (!c->tls) {
        plain_read(c);
    } else if (!c->tls->ready) {
        if (tls_handshake(c)) tls_read(c);
    } else {
        if (c->tls->write_wants_read) {
            c->tls->write_wants_read = false;
            hook_wake(n, c->cc); /* the write is retried in settle() */
        }
        tls_read(c);
    }
    settle(n);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    nconn *c = arg;
    net *n = c->n;
    (void)fd;
    (void)what;
    if (c->tls && !c->tls->ready) {
        watch_write(c, false);
        if (tls_handshake(c)) tls_read(c);
        settle(n);
        return;
    }
    if (c->tls && c->tls->read_wants_write && !tls_read(c)) {
        settle(n);
        return;
    }
    hook_wake(n, c->cc);
    settle(n);
}

static void on_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
    nconn *c = arg;
    net *n = c->n;
    (void)fd;
    (void)what;
    net_log_limited(n, LOG_INFO, "conn %u: tls handshake with %s not finished within %u ms "
                    "(limits.tls_handshake_timeout_ms); closing",
                    core_conn_serial(c->cc), c->tls->address, n->s->net.tls_handshake_timeout_ms);
    conn_close(c, CORE_GONE_RESET);
    settle(n);
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

/* The unix peer's user name, from the kernel's credentials for the socket
 * (SPEC TRANS-6); false when the kernel will not say. */
static bool unix_identity(int fd, char *user, size_t ulen, char *id, size_t idlen, peer_key *key)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    snprintf(id, idlen, "uid:%u", (unsigned)cred.uid);
    *key = (peer_key){.family = AF_UNIX, .id = (uint32_t)cred.uid};
    user[0] = 0;
    struct passwd pw, *res = NULL;
    char buf[16384];
    if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(user, ulen, "%s", pw.pw_name);
    return true;
}

/* The scope counts only where getnameinfo() would print it (link-local),
 * so that the key tells peers apart exactly as their printed address did. */
static peer_key inet_peer_key(const struct sockaddr *sa)
{
    peer_key k = {.family = (uint8_t)sa->sa_family};
    if (sa->sa_family == AF_INET) {
        memcpy(k.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(k.addr, &s6->sin6_addr, 16);
        if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&s6->sin6_addr))
            k.id = s6->sin6_scope_id;
    }
    return k;
}

static bool peer_key_eq(const peer_key *a, const peer_key *b)
{
    return a->family == b->family && a->id == b->id && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static size_t conns_of_peer(const net *n, const peer_key *peer)
{
    size_t k = 0;
    const list_node *p;
    list_for_each(p, &n->conns) {
        const nconn *o = list_entry(p, nconn, link);
        if (peer_key_eq(&o->peer, peer)) k++;
    }
    return k;
}

/* The TLS half of a new tls: connection, handshake deadline running.
 * False when out of memory. */
static bool tls_attach(nconn *c, const nlistener *l, const char *address)
{
    net *n = c->n;
    core_conn_set_offers(c->cc, (n->s->tls.offer_external ? CORE_OFFER_EXTERNAL : 0u) |
                                    (n->s->tls.offer_token ? CORE_OFFER_TOKEN : 0u));
    nconn_tls *t = c->tls = calloc(1, sizeof(*t));
    if (!t) return false;
    t->l = l;
    snprintf(t->address, sizeof(t->address), "%s", address);
    /* The core runs the Hello deadline from now; the handshake has its
     * own, shorter one. */
    uint32_t ms = n->s->net.tls_handshake_timeout_ms;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    t->ssl = tls_server_ssl(n->tls, c->fd, &t->note);
    t->hs_timer = t->ssl ? evtimer_new(n->base, on_handshake_timeout, c) : NULL;
    return t->hs_timer && evtimer_add(t->hs_timer, &tv) == 0;
}

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    nlistener *l = arg;
    net *n = l->n;
    const panpd_net_limits *lim = &n->s->net;
    char user[256] = "", id[80] = "", address[128] = "";
    core_peer peer = {.transport = l->transport};
    peer_key key = {0};
    (void)ev;
    if (l->transport == CORE_TRANSPORT_UNIX) {
        if (!unix_identity(fd, user, sizeof(user), id, sizeof(id), &key)) {
            net_log(n, LOG_WARN, "accept: no peer credentials: %s", strerror(errno));
            close(fd);
            return;
        }
        snprintf(address, sizeof(address), "%s", id);
        peer.user = user[0] ? user : NULL; /* no name: refused at Hello (SPEC AUTH-2) */
    } else {
        char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
        getnameinfo(sa, (socklen_t)salen, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(id, sizeof(id), "%s", host);
        snprintf(address, sizeof(address), "%s:%s", host, port);
        key = inet_peer_key(sa);
        peer.loopback = is_loopback(sa);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    /* Limits before any state is kept (SPEC SEC-12). */
    size_t same = 0;
    if (n->nconns >= lim->max_connections || (same = conns_of_peer(n, &key)) >= lim->max_connections_per_peer) {
        if (n->nconns >= lim->max_connections)
            net_log_limited(n, LOG_WARN, "refusing a connection from %s on %s: %zu connections open "
                            "(limits.max_connections)", address, l->name, n->nconns);
        else
            net_log_limited(n, LOG_WARN, "refusing a connection from %s on %s: %zu connections open from %s "
                            "(limits.max_connections_per_peer)", address, l->name, same, id);
        close(fd);
        return;
    }
    /* The core keeps its own copies of the address and the peer id. */
    peer.address = address;
    peer.peer_id = id;
    nconn *c = conn_new(n, fd);
    core_conn *cc = c ? core_connect(n->core, &peer, net_now_ms()) : NULL;
    if (!cc) { /* the core said why */
        net_log(n, LOG_DEBUG, "connection from %s refused", address);
        if (c) event_debug_unassign(conn_rev(c)); /* never added: nothing else to undo */
        free(c);
        close(fd);
        settle(n);
        return;
    }
    c->cc = cc;
    c->peer = key;
    list_add_tail(&n->conns, &c->link);
    n->nconns++;
    core_conn_set_data(cc, c);
    bool ok = l->transport != CORE_TRANSPORT_TLS || tls_attach(c, l, address);
    if (!ok || event_add(conn_rev(c), NULL) != 0) {
        net_log(n, LOG_ERROR, "cannot watch a new connection");
        conn_close(c, CORE_GONE_RESET);
    }
    settle(n);
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS): the listening socket stays
 * readable, so stop watching it for a moment instead of spinning. */
static void on_accept_error(struct evconnlistener *ev, void *arg)
{
    nlistener *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    net_log_limited(l->n, LOG_WARN, "accept on %s: %s; pausing for 250 ms", l->name, strerror(err));
    evconnlistener_disable(ev);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 250000};
    evtimer_add(l->resume, &tv);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    nlistener *l = arg;
    (void)fd;
    (void)what;
    if (l->ev) evconnlistener_enable(l->ev);
}

/* ---- listening */

static int mkdir_parent(const char *path)
{
    char dir[108];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(dir, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int watch(net *n, nlistener *l, int fd, char *err, size_t errlen)
{
    l->ev = evconnlistener_new(n->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    l->resume = l->ev ? evtimer_new(n->base, on_resume, l) : NULL;
    if (!l->ev || !l->resume) {
        snprintf(err, errlen, "%s: cannot watch the socket", l->name);
        if (!l->ev) close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l->ev, on_accept_error);
    return 0;
}

static int listen_unix(net *n, const listen_addr *a, nlistener *l, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
    if (mkdir_parent(a->path) != 0) {
        snprintf(err, errlen, "unix:%s: cannot create its directory: %s", a->path, strerror(errno));
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto fail;
    struct stat st;
    if (lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        /* A live broker answers; a stale socket file refuses and goes. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
        if (probe >= 0) close(probe);
        if (live) {
            snprintf(err, errlen, "unix:%s: another broker is listening there", a->path);
            close(fd);
            return -1;
        }
        unlink(a->path);
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) goto fail;
    /* Anyone may connect: panp's own authorization decides what they may
     * do (SPEC 21.6); restrict the directory to narrow who connects. */
    chmod(a->path, 0666);
    if (listen(fd, 128) != 0) goto fail;
    l->transport = CORE_TRANSPORT_UNIX;
    snprintf(l->path, sizeof(l->path), "%s", a->path);
    if (watch(n, l, fd, err, errlen) != 0) return -1;
    net_log(n, LOG_INFO, "listening on unix:%s", a->path);
    return 0;
fail:
    snprintf(err, errlen, "unix:%s: %s", a->path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
}

/* tcp: and tls:.  A plain tcp: listener off the loopback would take bearer
 * tokens in clear text from the network: refused unless the configuration
 * says insecure_plaintext_tokens (SPEC SEC-11). */
static int listen_inet(net *n, const listen_addr *a, nlistener *l, char *err, size_t errlen)
{
    const char *scheme = a->kind == ADDR_TLS ? "tls" : "tcp";
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%s:%s: %s", scheme, a->host, a->port, gai_strerror(rc));
        return -1;
    }
    if (a->kind == ADDR_TCP && !is_loopback(res->ai_addr)) {
        if (!n->cfg->allow_remote_tokens) {
            snprintf(err, errlen,
                     "tcp:%s:%s is not a loopback address: TOKEN authentication would carry bearer tokens "
                     "over the network in clear text; listen on tls:%s:%s instead, or set [server] "
                     "insecure_plaintext_tokens = true",
                     a->host, a->port, a->host, a->port);
            freeaddrinfo(res);
            return -1;
        }
        net_log(n, LOG_WARN, "tcp:%s:%s is not a loopback address and insecure_plaintext_tokens is set: "
                "tokens cross the network in clear text", a->host, a->port);
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "%s:%s:%s: %s", scheme, a->host, a->port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    l->transport = a->kind == ADDR_TLS ? CORE_TRANSPORT_TLS : CORE_TRANSPORT_TCP;
    if (watch(n, l, fd, err, errlen) != 0) return -1;
    net_log(n, LOG_INFO, "listening on %s:%s%s%s:%s", scheme, strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", port);
    return 0;
}

/* Every connection is a descriptor: make sure max_connections of them can
 * exist, or say at startup that accept() will fail first. */
static void check_fd_limit(net *n)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)n->s->net.max_connections + n->nlisteners + 32;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || want < need)
        net_log(n, LOG_WARN, "open files limit %llu is below limits.max_connections (%u) + listeners + 32: "
                "accept() will fail before that limit is reached",
                (unsigned long long)(want < need ? want : was), n->s->net.max_connections);
}

int net_listen(net *n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n->cfg->listen.n; i++) {
        listen_addr a;
        if (n->nlisteners == MAX_LISTENERS) {
            snprintf(err, errlen, "at most %d listen addresses", MAX_LISTENERS);
            return -1;
        }
        if (addr_parse(n->cfg->listen.v[i], &a, err, errlen) != 0) return -1;
        if (a.kind == ADDR_TLS && !n->tls) {
            snprintf(err, errlen, "%s: needs a [tls] section", n->cfg->listen.v[i]);
            return -1;
        }
        nlistener *l = &n->listeners[n->nlisteners];
        memset(l, 0, sizeof(*l));
        l->n = n;
        snprintf(l->name, sizeof(l->name), "%s", n->cfg->listen.v[i]);
        int rc = a.kind == ADDR_UNIX ? listen_unix(n, &a, l, err, errlen) : listen_inet(n, &a, l, err, errlen);
        if (rc != 0) {
            if (l->resume) event_free(l->resume);
            return -1;
        }
        n->nlisteners++;
    }
    check_fd_limit(n);
    return 0;
}

static void stop_listening(net *n)
{
    for (size_t i = 0; i < n->nlisteners; i++) {
        nlistener *l = &n->listeners[i];
        if (l->ev) evconnlistener_free(l->ev);
        l->ev = NULL;
        if (l->resume) event_free(l->resume);
        l->resume = NULL;
        if (l->path[0]) unlink(l->path);
        l->path[0] = 0;
    }
}

/* ---- timers and signals */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    net *n = arg;
    (void)fd;
    (void)what;
    core_tick(n->core, net_now_ms());
    settle(n);
}

static void on_hard_stop(evutil_socket_t fd, short what, void *arg)
{
    net *n = arg;
    (void)fd;
    (void)what;
    net_log(n, LOG_WARN, "shutdown: %zu connection(s) did not finish in time",
            core_conn_count(n->core));
    event_base_loopbreak(n->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    net *n = arg;
    (void)what;
    if (n->shutting_down) {
        net_log(n, LOG_WARN, "signal %d again: stopping now", (int)sig);
        event_base_loopbreak(n->base);
        return;
    }
    net_log(n, LOG_INFO, "signal %d: shutting down", (int)sig);
    n->shutting_down = true;
    stop_listening(n);
    core_shutdown(n->core, net_now_ms());
    /* The core closes every connection by its flush deadline; this is the
     * backstop should the loop itself be kept busy. */
    uint64_t ms = (uint64_t)n->cfg->limits.flush_timeout_ms + 1000;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(n->hard_stop, &tv);
    settle(n);
}

/* ---- lifecycle */

net *net_new(const panpd_settings *s, char *err, size_t errlen)
{
    net *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->s = s;
    n->cfg = s->cfg;
    n->log_tokens = 20;
    n->log_refill_at = net_now_ms();
    list_init(&n->conns);
    list_init(&n->dirty);
    if (s->tls.configured && !(n->tls = tls_server_new(&s->tls, err, errlen))) {
        free(n);
        return NULL;
    }
    n->base = event_base_new();
    core_hooks hooks = {.ud = n, .random = hook_random, .wake = hook_wake, .log = hook_log};
    n->core = n->base ? core_new(s->cfg, &hooks, net_now_ms()) : NULL;
    if (n->core) {
        n->timer = evtimer_new(n->base, on_timer, n);
        n->hard_stop = evtimer_new(n->base, on_hard_stop, n);
        n->sig_term = evsignal_new(n->base, SIGTERM, on_signal, n);
        n->sig_int = evsignal_new(n->base, SIGINT, on_signal, n);
    }
    if (!n->core || !n->timer || !n->hard_stop || !n->sig_term || !n->sig_int ||
        evsignal_add(n->sig_term, NULL) != 0 || evsignal_add(n->sig_int, NULL) != 0) {
        snprintf(err, errlen, "cannot set up the event loop");
        net_free(n);
        return NULL;
    }
    return n;
}

int net_run(net *n)
{
    event_base_dispatch(n->base);
    /* Whatever is left after a shutdown's deadline is closed unflushed. */
    while (!list_empty(&n->conns)) conn_close(list_entry(n->conns.next, nconn, link), CORE_GONE_RESET);
    stop_listening(n);
    net_log(n, LOG_INFO, "stopped");
    return 0;
}

void net_free(net *n)
{
    if (!n) return;
    while (!list_empty(&n->conns)) conn_close(list_entry(n->conns.next, nconn, link), CORE_GONE_RESET);
    stop_listening(n);
    if (n->timer) event_free(n->timer);
    if (n->hard_stop) event_free(n->hard_stop);
    if (n->sig_term) event_free(n->sig_term);
    if (n->sig_int) event_free(n->sig_int);
    core_free(n->core);
    if (n->base) event_base_free(n->base);
    tls_server_free(n->tls);
    free(n);
}
