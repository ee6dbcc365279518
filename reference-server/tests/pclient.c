/* pclient.c - a tiny blocking panp client (see pclient.h). */
#include "pclient.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static pclient *start(int fd)
{
    pclient *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->next_rid = 1;
    c->fr = panp_framer_new(PANP_DEFAULT_MAX_FRAME, true);
    if (!c->fr || pc_write(c, PANP_PREFACE, PANP_PREFACE_LEN) != 0) {
        pc_close(c);
        return NULL;
    }
    return c;
}

pclient *pc_connect_unix(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    return start(fd);
}

pclient *pc_connect_tcp(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) return NULL;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        errno = e;
        return NULL;
    }
    freeaddrinfo(res);
    return start(fd);
}

void pc_close(pclient *c)
{
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    panp_framer_free(c->fr);
    free(c);
}

void pc_reset(pclient *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    pc_close(c);
}

int pc_write(pclient *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            snprintf(c->err, sizeof(c->err), "write: %s", strerror(errno));
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

uint64_t pc_send(pclient *c, panp_frame *f)
{
    size_t need = 0;
    panp_status st;
    panp_error_code rc = panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, NULL, 0, &need, &st);
    if (rc != PANP_ERR_RESOURCE_EXHAUSTED && rc != PANP_ERR_UNSPECIFIED) {
        snprintf(c->err, sizeof(c->err), "encode: %s", st.message);
        return 0;
    }
    uint8_t *buf = malloc(need);
    if (!buf) return 0;
    rc = panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, buf, need, &need, &st);
    int w = rc == PANP_ERR_UNSPECIFIED ? pc_write(c, buf, need) : -1;
    free(buf);
    return w == 0 ? (f->request_id ? f->request_id : 1) : 0;
}

uint64_t pc_request(pclient *c, panp_frame *f)
{
    f->request_id = c->next_rid++;
    return pc_send(c, f);
}

/* One frame from what is buffered, if complete. */
static panp_frame *take(pclient *c)
{
    while (c->buf_off < c->buf_len) {
        size_t used = 0, flen = 0;
        const uint8_t *frame;
        panp_status st;
        panp_framer_result r = panp_framer_feed(c->fr, c->buf + c->buf_off, c->buf_len - c->buf_off,
                                                &used, &frame, &flen, &st);
        c->buf_off += used;
        if (r == PANP_FRAMER_ERROR) {
            snprintf(c->err, sizeof(c->err), "framing: %s", st.message);
            c->eof = true;
            return NULL;
        }
        if (r == PANP_FRAMER_FRAME) {
            panp_frame *f = NULL;
            panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, 0};
            if (panp_decode(&o, frame, flen, &f, &st) != PANP_ERR_UNSPECIFIED) {
                snprintf(c->err, sizeof(c->err), "decode: %s", st.message);
                c->eof = true;
                return NULL;
            }
            return f;
        }
    }
    return NULL;
}

panp_frame *pc_recv(pclient *c, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        panp_frame *f = take(c);
        if (f || c->eof) return f;
        /* At the deadline, still one look at what has already arrived. */
        uint64_t now = now_ms();
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, now >= deadline ? 0 : (int)(deadline - now));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return NULL;
        ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) snprintf(c->err, sizeof(c->err), "read: %s", strerror(errno));
            c->eof = true;
            return NULL;
        }
        c->buf_len = (size_t)n;
        c->buf_off = 0;
    }
}

panp_frame *pc_recv_alive(pclient *c, int timeout_ms, int ping_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline) return NULL;
        int slice = (int)(deadline - now);
        if (ping_ms > 0 && slice > ping_ms) slice = ping_ms;
        panp_frame *f = pc_recv(c, slice);
        if (f && f->kind == PANP_BODY_PONG) {
            panp_frame_free(f);
            continue;
        }
        if (f || c->eof) return f;
        if (ping_ms > 0) {
            panp_frame p = {.kind = PANP_BODY_PING};
            pc_request(c, &p);
        }
    }
}

panp_frame *pc_hello(pclient *c, panp_auth auth, const char *token, panp_frame **err_out)
{
    panp_frame h = {.kind = PANP_BODY_HELLO};
    h.body.hello = (panp_hello){.min_version = 1, .max_version = 1, .software = "panpd-pclient/0.1",
                                .auth = auth};
    if (token) h.body.hello.token = (panp_bytes){(const uint8_t *)token, strlen(token)};
    if (err_out) *err_out = NULL;
    if (!pc_request(c, &h)) return NULL;
    panp_frame *f = pc_recv(c, 10000);
    if (f && f->kind == PANP_BODY_WELCOME) return f;
    if (f && err_out) *err_out = f;
    else panp_frame_free(f);
    return NULL;
}
