/* net.c - sockets, libevent and the core (see net.h).
 *
 * The core never calls into this file except through its hooks; the wake
 * hook only marks a connection "dirty".  After every event this layer runs
 * the dirty list and turns each connection's core_conn_io() into socket
 * actions (write, half-close, close), so no socket is touched while the
 * core is walking its own lists. */
#include "net.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>

#include "addr.h"
#include "list.h"

#define MAX_LISTENERS 16
#define READ_CHUNK 65536
#define WRITE_IOVS 64

typedef struct nconn {
    struct net *n;
    int fd;
    core_conn *cc;
    struct event *rev, *wev;
    bool eof;          /* the peer will send nothing more */
    bool half_closed;  /* our sending side is shut */
    bool dirty;
    list_node link, dirty_link;
} nconn;

typedef struct nlistener {
    struct net *n;
    core_transport transport;
    struct evconnlistener *ev;
    char path[108]; /* unix: removed at exit */
} nlistener;

struct net {
    const panpd_config *cfg;
    struct event_base *base;
    core *core;
    nlistener listeners[MAX_LISTENERS];
    size_t nlisteners;
    struct event *timer, *hard_stop, *sig_term, *sig_int;
    list_node conns, dirty;
    bool shutting_down;
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

static void conn_close(nconn *c, core_gone why)
{
    net *n = c->n;
    list_remove(&c->link);
    list_remove(&c->dirty_link);
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    core_conn_set_data(c->cc, NULL);
    core_disconnect(n->core, c->cc, why, net_now_ms());
    free(c);
}

/* Writes what the core has queued.  Returns false when c was closed. */
static bool conn_write(nconn *c)
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
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
        net_log(c->n, LOG_DEBUG, "conn %u: write: %s", core_conn_serial(c->cc),
                w < 0 ? strerror(errno) : "nothing written");
        conn_close(c, CORE_GONE_RESET);
        return false;
    }
}

/* Turns the core's wishes for c into socket actions. */
static void conn_apply(nconn *c)
{
    unsigned io = core_conn_io(c->cc);
    if (io & CORE_IO_WRITE) {
        if (!conn_write(c)) return;
        io = core_conn_io(c->cc);
    }
    if (io & CORE_IO_CLOSE) {
        conn_close(c, CORE_GONE_FLUSHED);
        return;
    }
    if (io & CORE_IO_DRAINED) {
        /* Everything is out.  Shut our side and read until the peer's EOF,
         * so a reset cannot destroy the last frames unread (SPEC ERR-4). */
        if (c->eof) {
            conn_close(c, CORE_GONE_FLUSHED);
            return;
        }
        if (!c->half_closed) {
            shutdown(c->fd, SHUT_WR);
            c->half_closed = true;
        }
    }
    if (io & CORE_IO_WRITE) event_add(c->wev, NULL);
    else event_del(c->wev);
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

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    nconn *c = arg;
    net *n = c->n;
    uint8_t buf[READ_CHUNK];
    (void)what;
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r > 0) {
        core_on_bytes(n->core, c->cc, buf, (size_t)r, net_now_ms());
    } else if (r == 0) {
        c->eof = true;
        event_del(c->rev);
        core_on_eof(n->core, c->cc, net_now_ms());
        hook_wake(n, c->cc);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        net_log(n, LOG_DEBUG, "conn %u: read: %s", core_conn_serial(c->cc), strerror(errno));
        conn_close(c, CORE_GONE_RESET);
    }
    settle(n);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    nconn *c = arg;
    net *n = c->n;
    (void)fd;
    (void)what;
    hook_wake(n, c->cc);
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
 * (SPEC TRANS-5); false when the kernel will not say. */
static bool unix_identity(int fd, char *user, size_t ulen, char *id, size_t idlen)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    snprintf(id, idlen, "uid:%u", (unsigned)cred.uid);
    user[0] = 0;
    struct passwd pw, *res = NULL;
    char buf[16384];
    if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        snprintf(user, ulen, "%s", pw.pw_name);
    return true;
}

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    nlistener *l = arg;
    net *n = l->n;
    char user[256] = "", id[80] = "", address[128] = "";
    core_peer peer = {.transport = l->transport};
    (void)ev;
    (void)salen;
    if (l->transport == CORE_TRANSPORT_UNIX) {
        if (!unix_identity(fd, user, sizeof(user), id, sizeof(id))) {
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
        peer.loopback = is_loopback(sa);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    peer.address = address;
    peer.peer_id = id;
    nconn *c = calloc(1, sizeof(*c));
    core_conn *cc = c ? core_connect(n->core, &peer, net_now_ms()) : NULL;
    if (!cc) {
        net_log(n, LOG_INFO, "connection from %s refused", address);
        free(c);
        close(fd);
        settle(n);
        return;
    }
    c->n = n;
    c->fd = fd;
    c->cc = cc;
    list_init(&c->dirty_link);
    c->rev = event_new(n->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(n->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    list_add_tail(&n->conns, &c->link);
    core_conn_set_data(cc, c);
    if (!c->rev || !c->wev || event_add(c->rev, NULL) != 0) {
        net_log(n, LOG_ERROR, "cannot watch a new connection");
        conn_close(c, CORE_GONE_RESET);
    }
    settle(n);
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
    l->ev = evconnlistener_new(n->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                               -1, fd);
    if (!l->ev) goto fail;
    net_log(n, LOG_INFO, "listening on unix:%s", a->path);
    return 0;
fail:
    snprintf(err, errlen, "unix:%s: %s", a->path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
}

static int listen_tcp(net *n, const listen_addr *a, nlistener *l, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "tcp:%s:%s: %s", a->host, a->port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "tcp:%s:%s: %s", a->host, a->port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        return -1;
    }
    if (!is_loopback(res->ai_addr))
        net_log(n, LOG_WARN, "tcp:%s:%s is not a loopback address: tokens cross the network in clear",
                a->host, a->port);
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    l->transport = CORE_TRANSPORT_TCP;
    l->ev = evconnlistener_new(n->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                               -1, fd);
    if (!l->ev) {
        snprintf(err, errlen, "tcp:%s:%s: cannot watch the socket", a->host, a->port);
        close(fd);
        return -1;
    }
    net_log(n, LOG_INFO, "listening on tcp:%s%s%s:%s", strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", port);
    return 0;
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
        nlistener *l = &n->listeners[n->nlisteners];
        memset(l, 0, sizeof(*l));
        l->n = n;
        int rc = a.kind == ADDR_UNIX ? listen_unix(n, &a, l, err, errlen)
                                     : listen_tcp(n, &a, l, err, errlen);
        if (rc != 0) return -1;
        n->nlisteners++;
    }
    return 0;
}

static void stop_listening(net *n)
{
    for (size_t i = 0; i < n->nlisteners; i++) {
        nlistener *l = &n->listeners[i];
        if (l->ev) evconnlistener_free(l->ev);
        l->ev = NULL;
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

net *net_new(const panpd_config *cfg, char *err, size_t errlen)
{
    net *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->cfg = cfg;
    list_init(&n->conns);
    list_init(&n->dirty);
    n->base = event_base_new();
    core_hooks hooks = {.ud = n, .random = hook_random, .wake = hook_wake, .log = hook_log};
    n->core = n->base ? core_new(cfg, &hooks, net_now_ms()) : NULL;
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
    free(n);
}
