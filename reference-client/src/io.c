/* io.c - the socket: writing the output queue, reading and framing input,
 * routing each frame, telling an event loop what to wait for, and the
 * built-in poll() turn the blocking API runs on.
 *
 * Input is kept in c->rbuf with the read position in the context, not in
 * locals, so a blocking request made from inside a callback can go on
 * reading where the outer dispatch left off (callbacks may nest). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_int.h"

panp_error_code io_put_frame(panp_client *c, pbuf *dst, const panp_frame *f, panp_status *st)
{
    panp_status local;
    if (!st)
        st = &local; /* the codec always reports into a status */
    size_t need = 0;
    if (!pbuf_reserve(dst, 512))
        return st_set(st, PANP_ERR_NOMEM, "out of memory queueing a frame");
    panp_error_code e = panp_encode_delimited(BACKEND, f, dst->data + dst->end,
                                              dst->cap - dst->end, &need, st);
    if (e == PANP_ERR_RESOURCE_EXHAUSTED && need > dst->cap - dst->end) {
        if (!pbuf_reserve(dst, need))
            return st_set(st, PANP_ERR_NOMEM, "out of memory queueing a frame");
        e = panp_encode_delimited(BACKEND, f, dst->data + dst->end, dst->cap - dst->end, &need,
                                  st);
    }
    if (e != PANP_OK)
        return e;
    size_t prefix = 1;
    while (prefix < need && (dst->data[dst->end + prefix - 1] & 0x80))
        prefix++;
    uint32_t lim = PANP_DEFAULT_MAX_FRAME;
    if (c->have_info && c->info.limits.max_frame_size != 0)
        lim = c->info.limits.max_frame_size;
    if (need - prefix > lim)
        return st_set(st, PANP_ERR_FRAME_TOO_LARGE,
                      "%s frame of %zu bytes is over the broker's limit of %u bytes",
                      panp_body_name(f->kind), need - prefix, lim);
    dst->end += need;
    return PANP_OK;
}

/* ---- writing ---------------------------------------------------------------- */

/* CS_CONNECTING: the TCP connect, then on tls: the TLS handshake.  True
 * once the connection may carry frames (CS_HANDSHAKE). */
static bool io_connecting(panp_client *c)
{
    panp_status st;
    if (!c->tcp_up) {
        if (addr_finish(c->fd, &c->addr, &st) != PANP_OK) {
            conn_lost(c, &st);
            return false;
        }
        c->tcp_up = true;
    }
    if (c->addr.kind == ADDR_TLS) {
        if (!c->ssl && tls_start(c, &st) != PANP_OK) {
            conn_lost(c, &st);
            return false;
        }
        int r = tls_handshake(c, &st);
        if (r < 0)
            conn_lost(c, &st);
        if (r <= 0)
            return false;
    }
    c->state = CS_HANDSHAKE;
    return true;
}

void io_write(panp_client *c)
{
    if (c->fd < 0)
        return;
    if (c->state == CS_CONNECTING && !io_connecting(c))
        return;
    while (pbuf_len(&c->out) > 0) {
        panp_status st;
        ssize_t n;
        if (c->ssl) {
            n = tls_send(c, pbuf_head(&c->out), pbuf_len(&c->out), &st);
            if (n == 0)
                return; /* waits for the socket */
        } else {
            n = send(c->fd, pbuf_head(&c->out), pbuf_len(&c->out), MSG_NOSIGNAL);
        }
        if (n > 0) {
            pbuf_consume(&c->out, (size_t)n);
            c->last_send_ms = now_ms();
            continue;
        }
        if (!c->ssl && n < 0 && errno == EINTR)
            continue;
        if (!c->ssl && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (c->goodbye)
            conn_lost(c, &c->goodbye_st);
        else if (c->ssl)
            conn_lost(c, &st);
        else
            conn_lost_code(c, PANP_ERR_IO, "send to the broker: %s", strerror(errno));
        return;
    }
}

/* ---- reading ------------------------------------------------------------------ */

static bool is_response(panp_body_kind k)
{
    switch (k) {
    case PANP_BODY_SENT:
    case PANP_BODY_OK:
    case PANP_BODY_PONG:
    case PANP_BODY_REGISTERED:
    case PANP_BODY_RENEWED:
    case PANP_BODY_REGISTRATION_LIST:
    case PANP_BODY_CHANNEL_OPENED:
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
        return true;
    default:
        return false;
    }
}

static void handle_frame(panp_client *c, const panp_frame *f)
{
    if (c->state == CS_HANDSHAKE) {
        conn_handshake_frame(c, f);
        return;
    }
    if (f->kind == PANP_BODY_ERROR && f->request_id != 0) {
        bool fatal = f->body.error.fatal;
        panp_status why;
        st_set(&why, f->body.error.code, "the broker ended the connection: %s",
               f->body.error.message ? f->body.error.message : "");
        uint64_t gen = c->gen;
        req_on_response(c, f);
        /* A fatal Error ends the connection: stop sending and fail every
         * other request now ([PANP-CLI-8]). */
        if (fatal && c->gen == gen)
            conn_lost(c, &why);
    } else if (is_response(f->kind)) {
        req_on_response(c, f);
    } else {
        ev_dispatch(c, f);
    }
}

static void io_process(panp_client *c)
{
    uint64_t gen = c->gen;
    while (c->gen == gen && c->rpos < c->rlen) {
        size_t used = 0, len = 0;
        const uint8_t *body = NULL;
        const uint8_t *chunk = c->rbuf + c->rpos;
        size_t chunk_len = c->rlen - c->rpos;
        panp_status st;
        panp_framer_result fr = panp_framer_feed(c->framer, chunk, chunk_len, &used, &body, &len, &st);
        c->rpos += used;
        if (fr == PANP_FRAMER_NEED_MORE)
            break;
        if (fr == PANP_FRAMER_ERROR) {
            /* A TLS record (alert 0x15, handshake 0x16, then version 3.x)
             * where the preface should be: a tls: listener. */
            bool tls_reply = c->state == CS_HANDSHAKE && !c->ssl && chunk_len >= 2 &&
                             (chunk[0] == 0x15 || chunk[0] == 0x16) && chunk[1] == 0x03;
            conn_lost_code(c, PANP_ERR_PROTOCOL_VIOLATION, "bad input from the broker: %s%s",
                           st.message,
                           tls_reply ? " (it answered with TLS: connect with a tls: address)" : "");
            return;
        }
        panp_frame *f = NULL;
        panp_decode_opts o = {BACKEND, PANP_PEER_CLIENT, c->max_frame};
        if (panp_decode(&o, body, len, &f, &st) != PANP_OK) {
            conn_lost_code(c, PANP_ERR_PROTOCOL_VIOLATION, "bad frame from the broker: %s",
                           st.message);
            return;
        }
        handle_frame(c, f);
        panp_frame_free(f);
        /* A blocking call returns as soon as its answer is in; what came
         * after it waits for the next call, so output keeps wire order. */
        if (c->break_on && *c->break_on)
            break;
    }
}

void io_read(panp_client *c)
{
    if (c->rpos < c->rlen) {
        io_process(c);
        return;
    }
    if (c->fd < 0)
        return;
    c->rpos = c->rlen = 0;
    ssize_t n;
    if (c->ssl) {
        panp_status st;
        n = tls_recv(c, c->rbuf, sizeof c->rbuf, &st);
        if (n == -1)
            return; /* waits for the socket */
        if (n == -2) {
            conn_lost(c, &st);
            return;
        }
    } else {
        do
            n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
        while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        conn_lost_code(c, PANP_ERR_IO, "receive from the broker: %s", strerror(errno));
        return;
    }
    if (n == 0) {
        if (c->goodbye)
            conn_lost(c, &c->goodbye_st);
        else if (c->state == CS_READY)
            conn_lost_code(c, PANP_ERR_DISCONNECTED, "the broker closed the connection");
        else
            conn_lost_code(c, PANP_ERR_DISCONNECTED,
                           "the broker closed the connection during the handshake");
        return;
    }
    c->rlen = (size_t)n;
    io_process(c);
}

bool panp_pending(const panp_client *c)
{
    return c->rpos < c->rlen || c->done_head != NULL || tls_pending(c);
}

/* ---- event-loop hooks ----------------------------------------------------------- */

void io_disarm(panp_client *c)
{
    if (!c->hooked)
        return;
    if (c->armed_read && c->hooks.del_read)
        c->hooks.del_read(c->hooks.data, c->armed_fd);
    if (c->armed_write && c->hooks.del_write)
        c->hooks.del_write(c->hooks.data, c->armed_fd);
    c->armed_read = c->armed_write = false;
    c->armed_fd = -1;
}

static bool talking(const panp_client *c)
{
    return c->fd >= 0 && (c->state == CS_HANDSHAKE || c->state == CS_READY);
}

void io_arm(panp_client *c)
{
    if (!c->async || !c->hooked || c->freeing)
        return;
    int fd = c->fd;
    /* tls: while CS_CONNECTING the handshake says which way it waits. */
    bool tls_hs = fd >= 0 && c->state == CS_CONNECTING && c->tcp_up && c->addr.kind == ADDR_TLS;
    bool want_r = talking(c) || (tls_hs && c->tls_hs_want_read);
    bool want_w = fd >= 0 && ((c->state == CS_CONNECTING && !(tls_hs && c->tls_hs_want_read)) ||
                              (talking(c) && (pbuf_len(&c->out) > 0 || c->tls_rd_wants_w)));
    if (fd != c->armed_fd) {
        io_disarm(c);
        c->armed_fd = fd;
    }
    if (want_r != c->armed_read) {
        if (want_r && c->hooks.add_read)
            c->hooks.add_read(c->hooks.data, fd);
        else if (!want_r && c->hooks.del_read)
            c->hooks.del_read(c->hooks.data, fd);
        c->armed_read = want_r;
    }
    if (want_w != c->armed_write) {
        if (want_w && c->hooks.add_write)
            c->hooks.add_write(c->hooks.data, fd);
        else if (!want_w && c->hooks.del_write)
            c->hooks.del_write(c->hooks.data, fd);
        c->armed_write = want_w;
    }
    int64_t due = conn_next_due(c);
    if (due != c->armed_timer && c->hooks.set_timer) {
        int64_t now = now_ms();
        int64_t ms = due < 0 ? -1 : due <= now ? 0 : due - now;
        c->armed_timer = due;
        c->hooks.set_timer(c->hooks.data, ms > INT_MAX ? INT_MAX : (int)ms);
    }
}

panp_error_code panp_async_attach(panp_client *c, const panp_loop_hooks *hooks, panp_status *st)
{
    if (!c->async)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT,
                      "panp_async_attach: the context was made by panp_connect (blocking)");
    if (c->hooked)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "panp_async_attach: already attached");
    c->hooks = *hooks;
    c->hooked = true;
    c->armed_fd = -1;
    c->armed_timer = -1;
    io_arm(c);
    return PANP_OK;
}

/* ---- entering and leaving the library ------------------------------------------- */

void io_enter(panp_client *c) { c->depth++; }

void io_leave(panp_client *c)
{
    for (;;) {
        req_run_done(c);
        /* Write what callbacks queued now rather than a loop turn later. */
        if (talking(c) && pbuf_len(&c->out) > 0)
            io_write(c);
        if (!c->done_head)
            break;
    }
    if (--c->depth == 0 && c->free_pending) {
        client_destroy(c);
        return;
    }
    io_arm(c);
}

void panp_async_on_readable(panp_client *c)
{
    io_enter(c);
    if (c->state == CS_CONNECTING) {
        io_write(c); /* readiness while connecting: the connect ended, or the TLS handshake moves */
    } else {
        uint64_t gen = c->gen;
        io_read(c);
        /* Records OpenSSL already decrypted never make the fd readable. */
        while (c->gen == gen && talking(c) && c->rpos >= c->rlen && tls_pending(c))
            io_read(c);
    }
    io_leave(c);
}

void panp_async_on_writable(panp_client *c)
{
    io_enter(c);
    uint64_t gen = c->gen;
    if (c->tls_rd_wants_w && talking(c))
        io_read(c); /* a TLS read that waited for writability */
    if (c->gen == gen)
        io_write(c);
    io_leave(c);
}

void panp_async_on_timer(panp_client *c)
{
    c->armed_timer = -1; /* it fired: whatever is due next must be armed anew */
    io_enter(c);
    conn_timer(c);
    io_leave(c);
}

/* ---- the blocking API's loop turn ------------------------------------------------ */

void io_drive(panp_client *c, int wait_ms)
{
    if (c->rpos < c->rlen) { /* input an outer dispatch has not reached yet */
        io_process(c);
        return;
    }
    if (talking(c) && tls_pending(c)) { /* decrypted input OpenSSL holds */
        io_read(c);
        return;
    }
    if (c->done_head) {
        req_run_done(c);
        return;
    }
    if (talking(c) && pbuf_len(&c->out) > 0)
        io_write(c);
    int64_t now = now_ms(), due = conn_next_due(c);
    int timeout = wait_ms;
    if (due >= 0) {
        int64_t d = due > now ? due - now : 0;
        if (timeout < 0 || d < timeout)
            timeout = d > INT_MAX ? INT_MAX : (int)d;
    }
    if (c->fd < 0 && timeout < 0)
        return; /* nothing could ever wake us */
    struct pollfd p = {.fd = c->fd};
    bool tls_hs = c->state == CS_CONNECTING && c->tcp_up && c->addr.kind == ADDR_TLS;
    if (c->fd >= 0)
        p.events = c->state == CS_CONNECTING
                       ? (tls_hs && c->tls_hs_want_read ? POLLIN : POLLOUT)
                       : (short)(POLLIN | (pbuf_len(&c->out) > 0 || c->tls_rd_wants_w ? POLLOUT : 0));
    uint64_t gen = c->gen;
    int n = poll(&p, c->fd >= 0 ? 1 : 0, timeout);
    if (n > 0) {
        if (c->state == CS_CONNECTING || (p.revents & POLLOUT))
            io_write(c);
        if (c->gen == gen && c->state != CS_CONNECTING &&
            (p.revents & (POLLIN | POLLHUP | POLLERR) || c->tls_rd_wants_w))
            io_read(c);
    }
    conn_timer(c);
    req_run_done(c);
}
