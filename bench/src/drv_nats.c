/* drv_nats.c - a small NATS client: the text protocol over TCP.
 *
 * What it speaks: INFO (server greeting), CONNECT (verbose off, echo off),
 * SUB, PUB (with a reply subject for requests), MSG, PING/PONG (both ways;
 * a PONG to our PING after SUB is how a subscription is known to be in
 * place), +OK and -ERR.  Output is buffered per connection and written at
 * the end of each loop turn, so one turn's messages go out in one write.
 *
 * Subjects: listener and sender use "bench.<topic>"; the responder
 * subscribes to "bench.<topic>.req" and answers each MSG on its reply
 * subject; the requester subscribes to its inbox "_INBOX.bench.<n>" and
 * publishes requests with that inbox as reply subject. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drv.h"

#define RBUF 65536
#define WBUF_MAX (256 * 1024) /* can_publish() says no beyond this */

struct bconn {
    benv *env;
    brole role;
    msg_fn on_msg;
    void *ud;
    int fd;
    bool paused, connecting, dirty;
    int state;
    char err[256];
    char sub[128], pub[128], inbox[128];
    uint8_t *r;
    size_t rlen;
    uint8_t *w;
    size_t wlen, wcap;
    bconn *next_dirty;
};

static bconn *dirty_head;
static bool flush_added;

static void fail(bconn *b, const char *what, const char *msg)
{
    if (b->state != -1) snprintf(b->err, sizeof b->err, "%s: %s", what, msg);
    b->state = -1;
}

static void on_fd(void *ud, int fd, unsigned events);

static void arm(bconn *b)
{
    unsigned want = 0;
    if (b->state != -1) {
        if (!b->paused && !b->connecting) want |= EV_READ;
        if (b->connecting || b->wlen > 0) want |= EV_WRITE;
    }
    ev_watch(b->env->loop, b->fd, want, on_fd, b);
}

static int out(bconn *b, const void *p, size_t n)
{
    if (b->wlen + n > b->wcap) {
        size_t c = b->wcap ? b->wcap : 4096;
        while (c < b->wlen + n) c *= 2;
        uint8_t *w = realloc(b->w, c);
        if (!w) return -1;
        b->w = w;
        b->wcap = c;
    }
    memcpy(b->w + b->wlen, p, n);
    b->wlen += n;
    if (!b->dirty) {
        b->dirty = true;
        b->next_dirty = dirty_head;
        dirty_head = b;
    }
    return 0;
}

static int outf(bconn *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int outf(bconn *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= sizeof line ? -1 : out(b, line, (size_t)n);
}

static void flush_one(bconn *b)
{
    if (b->connecting || b->state == -1) return;
    size_t off = 0;
    while (off < b->wlen) {
        ssize_t n = send(b->fd, b->w + off, b->wlen - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        fail(b, "send", n < 0 ? strerror(errno) : "closed");
        break;
    }
    memmove(b->w, b->w + off, b->wlen - off);
    b->wlen -= off;
}

static void flush_all(void *ud)
{
    (void)ud;
    while (dirty_head) {
        bconn *b = dirty_head;
        dirty_head = b->next_dirty;
        b->dirty = false;
        flush_one(b);
        arm(b);
    }
}

/* ---- input */

static void handle_msg(bconn *b, const char *reply, const uint8_t *payload, size_t len)
{
    if (b->role == ROLE_RESPONDER) {
        if (reply && (outf(b, "PUB %s %zu\r\n", reply, len) != 0 || out(b, payload, len) != 0 ||
                      out(b, "\r\n", 2) != 0))
            fail(b, "reply", "out of memory");
        return;
    }
    b->on_msg(b->ud, payload, len);
}

/* Parses whatever complete operations rbuf holds; returns bytes used. */
static size_t parse(bconn *b)
{
    size_t off = 0;
    while (off < b->rlen && b->state != -1) {
        uint8_t *p = b->r + off;
        size_t left = b->rlen - off;
        uint8_t *nl = memchr(p, '\n', left);
        if (!nl) break;
        size_t llen = (size_t)(nl - p) + 1;
        if (left >= 4 && !memcmp(p, "MSG ", 4)) {
            /* MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n */
            char line[512];
            size_t cl = llen - 2 < sizeof line - 1 ? llen - 2 : sizeof line - 1;
            memcpy(line, p, cl);
            line[cl] = 0;
            char *tok[5];
            int nt = 0;
            for (char *s = strtok(line, " "); s && nt < 5; s = strtok(NULL, " ")) tok[nt++] = s;
            if (nt < 4) {
                fail(b, "parse", "short MSG line");
                break;
            }
            size_t n = strtoull(tok[nt - 1], NULL, 10);
            if (left < llen + n + 2) break; /* payload not all in yet */
            handle_msg(b, nt == 5 ? tok[3] : NULL, p + llen, n);
            off += llen + n + 2;
            continue;
        }
        if (left >= 4 && !memcmp(p, "PING", 4)) {
            out(b, "PONG\r\n", 6);
        } else if (left >= 4 && !memcmp(p, "PONG", 4)) {
            if (b->state == 0) b->state = 1; /* our SUB (or CONNECT) is in place */
        } else if (left >= 4 && !memcmp(p, "INFO", 4)) {
            /* greeting: nothing to check for a loopback benchmark */
        } else if (left >= 3 && !memcmp(p, "+OK", 3)) {
        } else if (left >= 4 && !memcmp(p, "-ERR", 4)) {
            char msg[200];
            size_t ml = llen < sizeof msg ? llen : sizeof msg - 1;
            memcpy(msg, p, ml);
            msg[ml] = 0;
            fail(b, "server", msg);
        }
        off += llen;
    }
    return off;
}

static void do_read(bconn *b)
{
    for (int i = 0; i < 4 && b->state != -1 && !b->paused; i++) {
        if (b->rlen == RBUF) {
            fail(b, "parse", "operation larger than the read buffer");
            return;
        }
        ssize_t n = recv(b->fd, b->r + b->rlen, RBUF - b->rlen, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            fail(b, "recv", n == 0 ? "server closed the connection" : strerror(errno));
            return;
        }
        b->rlen += (size_t)n;
        size_t used = parse(b);
        memmove(b->r, b->r + used, b->rlen - used);
        b->rlen -= used;
        if ((size_t)n < RBUF / 2) return; /* drained, most likely */
    }
}

static void send_greeting(bconn *b)
{
    outf(b, "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,"
            "\"name\":\"panp-bench\",\"lang\":\"c\",\"version\":\"0.1\",\"protocol\":1,"
            "\"echo\":false}\r\n");
    if (b->role != ROLE_SENDER) outf(b, "SUB %s 1\r\n", b->sub);
    outf(b, "PING\r\n");
}

static void on_fd(void *ud, int fd, unsigned events)
{
    bconn *b = ud;
    (void)fd;
    if (b->connecting && (events & (EV_WRITE | EV_READ))) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            fail(b, "connect", strerror(err));
            arm(b);
            return;
        }
        b->connecting = false;
        send_greeting(b);
    }
    if (events & EV_WRITE) flush_one(b);
    if (events & EV_READ) do_read(b);
    arm(b);
}

/* ---- the driver */

static bconn *n_open(benv *env, brole role, const char *topic, msg_fn on_msg, void *ud)
{
    static unsigned serial;
    if (!flush_added) {
        ev_add_flush(env->loop, flush_all, NULL);
        flush_added = true;
    }
    bconn *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->env = env;
    b->role = role;
    b->on_msg = on_msg;
    b->ud = ud;
    b->fd = -1;
    b->r = malloc(RBUF);
    switch (role) {
    case ROLE_LISTENER:
    case ROLE_SENDER:
        snprintf(b->sub, sizeof b->sub, "bench.%s", topic);
        snprintf(b->pub, sizeof b->pub, "bench.%s", topic);
        break;
    case ROLE_RESPONDER:
        snprintf(b->sub, sizeof b->sub, "bench.%s.req", topic);
        break;
    case ROLE_REQUESTER:
        snprintf(b->inbox, sizeof b->inbox, "_INBOX.bench.%d.%u", (int)getpid(), serial++);
        snprintf(b->sub, sizeof b->sub, "%s", b->inbox);
        snprintf(b->pub, sizeof b->pub, "bench.%s.req", topic);
        break;
    }
    if (!b->r || env->unix_path) {
        fail(b, "connect", b->r ? "NATS driver: tcp only" : "out of memory");
        return b;
    }
    b->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)env->port)};
    inet_pton(AF_INET, env->host, &sa.sin_addr);
    int one = 1;
    if (b->fd >= 0) setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (b->fd < 0 || (connect(b->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)) {
        fail(b, "connect", strerror(errno));
        return b;
    }
    b->connecting = true;
    arm(b);
    return b;
}

static int n_ready(bconn *b) { return b->state; }

static bool n_can_publish(bconn *b) { return b->state == 1 && b->wlen < WBUF_MAX; }

static int n_publish(bconn *b, const void *payload, size_t len)
{
    if (b->state != 1) return -1;
    int rc = b->role == ROLE_REQUESTER ? outf(b, "PUB %s %s %zu\r\n", b->pub, b->inbox, len)
                                       : outf(b, "PUB %s %zu\r\n", b->pub, len);
    if (rc != 0 || out(b, payload, len) != 0 || out(b, "\r\n", 2) != 0) {
        fail(b, "publish", "out of memory");
        return -1;
    }
    return 0;
}

static void n_pause(bconn *b, bool stop)
{
    b->paused = stop;
    if (b->fd >= 0) arm(b);
}

static int n_fd(bconn *b) { return b->fd; }

static const char *n_error(bconn *b) { return b->state == -1 ? b->err : NULL; }

static void n_close(bconn *b)
{
    if (!b) return;
    if (b->dirty) { /* unlink from the dirty list */
        for (bconn **pp = &dirty_head; *pp; pp = &(*pp)->next_dirty)
            if (*pp == b) {
                *pp = b->next_dirty;
                break;
            }
    }
    if (b->fd >= 0) {
        ev_watch(b->env->loop, b->fd, 0, NULL, NULL);
        close(b->fd);
    }
    free(b->r);
    free(b->w);
    free(b);
}

const drv drv_nats = {"nats", n_open, n_ready, n_can_publish, n_publish, n_pause,
                      n_fd, n_error, n_close};
