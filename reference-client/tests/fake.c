/* fake.c - the scripted fake broker (fake.h). */
#include "fake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct fake {
    fake_config cfg;
    char dir[64];
    char path[128];
    char addr[160];
    int lfd;
    int cfd;
    int wake[2];
    pthread_t th;
    pthread_mutex_t mu;
    volatile bool stopping;
    bool want_pause, paused;
    int counts[32];
    int conns;
    int regs;
    uint64_t next_chan;
    uint64_t next_seq;
    bool saw_close, close_reason;
    panp_framer *framer;
};

void fake_handle(int n, uint8_t out[16])
{
    memcpy(out, "fake-handle-....", 16);
    out[12] = (uint8_t)(n >> 24);
    out[13] = (uint8_t)(n >> 16);
    out[14] = (uint8_t)(n >> 8);
    out[15] = (uint8_t)n;
}

static int listen_on(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 8) < 0) {
        perror("fake: listen");
        abort();
    }
    return fd;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (fd >= 0 && n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the client went away: the test will notice */
        p += w;
        n -= (size_t)w;
    }
}

void fake_send(fake *fb, const panp_frame *f)
{
    static const size_t cap = 70000;
    uint8_t *buf = malloc(cap);
    size_t need = 0;
    panp_status st;
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, f, buf, cap, &need, &st) != PANP_OK) {
        fprintf(stderr, "fake: cannot encode %s: %s\n", panp_body_name(f->kind), st.message);
        abort();
    }
    pthread_mutex_lock(&fb->mu);
    write_all(fb->cfd, buf, need);
    pthread_mutex_unlock(&fb->mu);
    free(buf);
}

void fake_send2(fake *fb, const panp_frame *a, const panp_frame *b)
{
    static const size_t cap = 140000;
    uint8_t *buf = malloc(cap);
    size_t n1 = 0, n2 = 0;
    panp_status st;
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, a, buf, cap, &n1, &st) != PANP_OK ||
        panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, b, buf + n1, cap - n1, &n2, &st) != PANP_OK)
        abort();
    pthread_mutex_lock(&fb->mu);
    write_all(fb->cfd, buf, n1 + n2);
    pthread_mutex_unlock(&fb->mu);
    free(buf);
}

static void send_raw(fake *fb, const void *p, size_t n)
{
    pthread_mutex_lock(&fb->mu);
    write_all(fb->cfd, p, n);
    pthread_mutex_unlock(&fb->mu);
}

panp_frame fake_error(uint64_t request_id, panp_error_code code, bool fatal)
{
    panp_frame f = {.request_id = request_id, .kind = PANP_BODY_ERROR};
    f.body.error.code = code;
    f.body.error.message = "scripted error";
    f.body.error.fatal = fatal;
    return f;
}

panp_frame fake_notify(const uint8_t handle[16], uint64_t channel, uint64_t conv, uint64_t seq,
                       const char *payload)
{
    panp_frame f = {.kind = PANP_BODY_NOTIFY};
    panp_notify *n = &f.body.notify;
    n->registration = (panp_bytes){handle, 16};
    n->conversation_id = conv;
    n->channel_id = channel;
    n->sequence = seq;
    n->notification_type = (panp_bytes){PANP_TYPE_ASYNC_UI, PANP_UUID_LEN};
    n->style = conv ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL;
    n->has_sender = true;
    n->sender.user = "sender";
    n->target.kind = PANP_TARGET_SERVER;
    n->payload = (panp_bytes){(const uint8_t *)payload, strlen(payload)};
    return f;
}

panp_frame fake_closed(uint64_t channel, uint64_t conv, const uint8_t *handle,
                       panp_close_reason why)
{
    panp_frame f = {.kind = PANP_BODY_CHANNEL_CLOSED};
    panp_channel_closed *c = &f.body.channel_closed;
    c->channel_id = channel;
    c->conversation_id = conv;
    if (handle)
        c->registration = (panp_bytes){handle, 16};
    c->reason = why;
    if (why == PANP_CLOSE_REASON_PEER_GONE || why == PANP_CLOSE_REASON_SERVER_SHUTDOWN)
        c->notification_type = (panp_bytes){PANP_TYPE_NOTIFICATION_RELEASE, PANP_UUID_LEN};
    return f;
}

void fake_default(fake *fb, const panp_frame *f)
{
    panp_frame r = {.request_id = f->request_id};
    uint8_t handle[16];
    switch (f->kind) {
    case PANP_BODY_REGISTER:
        r.kind = PANP_BODY_REGISTERED;
        fake_handle(++fb->regs, handle);
        r.body.registered.handle = (panp_bytes){handle, 16};
        r.body.registered.lease_seconds = f->body.register_listener.lease_seconds;
        break;
    case PANP_BODY_RENEW:
        r.kind = PANP_BODY_RENEWED;
        r.body.renewed.lease_seconds = f->body.renew.lease_seconds;
        break;
    case PANP_BODY_UNREGISTER:
    case PANP_BODY_REPLY:
        r.kind = PANP_BODY_OK;
        break;
    case PANP_BODY_LIST_REGISTRATIONS:
        r.kind = PANP_BODY_REGISTRATION_LIST;
        break;
    case PANP_BODY_OPEN_CHANNEL:
        r.kind = PANP_BODY_CHANNEL_OPENED;
        r.body.channel_opened.channel_id = ++fb->next_chan;
        break;
    case PANP_BODY_SEND:
        r.kind = PANP_BODY_SENT;
        r.body.sent.sequence = ++fb->next_seq;
        r.body.sent.recipients = 1;
        break;
    case PANP_BODY_CLOSE_CHANNEL:
        r.kind = PANP_BODY_CHANNEL_CLOSE_RESULT;
        r.body.channel_close_result.outcome = PANP_CLOSE_OUTCOME_CLOSED;
        break;
    case PANP_BODY_PING:
        r.kind = PANP_BODY_PONG;
        break;
    case PANP_BODY_GOODBYE:
        fake_drop(fb);
        return;
    default:
        return;
    }
    fake_send(fb, &r);
}

static void welcome(fake *fb, const panp_frame *hello)
{
    send_raw(fb, PANP_PREFACE, PANP_PREFACE_LEN);
    if (fb->cfg.refuse) {
        panp_frame e = fake_error(hello->request_id, fb->cfg.refuse, true);
        fake_send(fb, &e);
        fake_drop(fb);
        return;
    }
    panp_frame f = {.request_id = hello->request_id, .kind = PANP_BODY_WELCOME};
    panp_welcome *w = &f.body.welcome;
    panp_limits l = fb->cfg.limits;
    w->version = 1;
    w->software = "fake/0";
    w->server_name = "fake";
    w->has_limits = true;
    w->limits.max_frame_size = l.max_frame_size ? l.max_frame_size : 65536;
    w->limits.max_registrations = l.max_registrations ? l.max_registrations : 64;
    w->limits.max_channels = l.max_channels ? l.max_channels : 64;
    w->limits.keepalive_interval_ms = l.keepalive_interval_ms ? l.keepalive_interval_ms : 30000;
    w->limits.keepalive_timeout_ms = l.keepalive_timeout_ms ? l.keepalive_timeout_ms : 90000;
    w->limits.max_lease_seconds = l.max_lease_seconds;
    w->limits.max_outbound_bytes = l.max_outbound_bytes ? l.max_outbound_bytes : 1048576;
    w->has_identity = true;
    w->identity.user = fb->cfg.user_name ? fb->cfg.user_name : "tester";
    w->identity.may_open_channels = true;
    fake_send(fb, &f);
}

static void on_frame(fake *fb, const panp_frame *f)
{
    pthread_mutex_lock(&fb->mu);
    if ((unsigned)f->kind < 32)
        fb->counts[f->kind]++;
    if (f->kind == PANP_BODY_CLOSE_CHANNEL) {
        fb->saw_close = true;
        fb->close_reason = f->body.close_channel.has_reason;
    }
    pthread_mutex_unlock(&fb->mu);
    if (f->kind == PANP_BODY_HELLO) {
        welcome(fb, f);
        return;
    }
    bool offered = fb->cfg.handler && (!fb->cfg.on || fb->cfg.on == f->kind);
    if (!offered || !fb->cfg.handler(fb, f, fb->cfg.user))
        fake_default(fb, f);
}

static void end_conn(fake *fb)
{
    pthread_mutex_lock(&fb->mu);
    if (fb->cfd >= 0)
        close(fb->cfd);
    fb->cfd = -1;
    pthread_mutex_unlock(&fb->mu);
    panp_framer_free(fb->framer);
    fb->framer = NULL;
}

static void read_conn(fake *fb)
{
    uint8_t buf[8192];
    ssize_t n = recv(fb->cfd, buf, sizeof buf, 0);
    if (n <= 0) {
        end_conn(fb);
        return;
    }
    size_t off = 0;
    while (off < (size_t)n && fb->framer) {
        size_t used = 0, len = 0;
        const uint8_t *body;
        panp_status st;
        panp_framer_result r =
            panp_framer_feed(fb->framer, buf + off, (size_t)n - off, &used, &body, &len, &st);
        off += used;
        if (r == PANP_FRAMER_ERROR) {
            fprintf(stderr, "fake: framing: %s\n", st.message);
            end_conn(fb);
            return;
        }
        if (r == PANP_FRAMER_NEED_MORE)
            break;
        panp_frame *f = NULL;
        panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_BROKER, 0};
        if (panp_decode(&o, body, len, &f, &st) != PANP_OK) {
            fprintf(stderr, "fake: client sent a bad frame: %s\n", st.message);
            end_conn(fb);
            return;
        }
        on_frame(fb, f);
        panp_frame_free(f);
    }
}

static void handle_flags(fake *fb)
{
    char junk[16];
    while (read(fb->wake[0], junk, sizeof junk) > 0)
        ;
    pthread_mutex_lock(&fb->mu);
    bool pause = fb->want_pause;
    pthread_mutex_unlock(&fb->mu);
    if (pause && fb->lfd >= 0) {
        close(fb->lfd);
        unlink(fb->path);
        fb->lfd = -1;
    } else if (!pause && fb->lfd < 0) {
        fb->lfd = listen_on(fb->path);
    }
    pthread_mutex_lock(&fb->mu);
    fb->paused = pause;
    pthread_mutex_unlock(&fb->mu);
}

static void *run(void *arg)
{
    fake *fb = arg;
    while (!fb->stopping) {
        struct pollfd p[3] = {{fb->wake[0], POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
        if (fb->cfd < 0)
            p[1].fd = fb->lfd;
        p[2].fd = fb->cfd;
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            handle_flags(fb);
        if (fb->stopping)
            break;
        if (p[1].fd >= 0 && (p[1].revents & POLLIN) && fb->lfd >= 0) {
            int c = accept4(fb->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                pthread_mutex_lock(&fb->mu);
                fb->cfd = c;
                fb->conns++;
                pthread_mutex_unlock(&fb->mu);
                fb->framer = panp_framer_new(65536, true);
            }
        }
        if (p[2].fd >= 0 && p[2].fd == fb->cfd && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
            read_conn(fb);
    }
    end_conn(fb);
    return NULL;
}

fake *fake_start(const fake_config *cfg)
{
    fake *fb = calloc(1, sizeof *fb);
    fb->cfg = *cfg;
    fb->cfd = -1;
    snprintf(fb->dir, sizeof fb->dir, "/tmp/panp-fake-XXXXXX");
    if (!mkdtemp(fb->dir))
        abort();
    snprintf(fb->path, sizeof fb->path, "%s/broker.sock", fb->dir);
    snprintf(fb->addr, sizeof fb->addr, "unix:%s", fb->path);
    fb->lfd = listen_on(fb->path);
    if (pipe2(fb->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        abort();
    pthread_mutex_init(&fb->mu, NULL);
    pthread_create(&fb->th, NULL, run, fb);
    return fb;
}

static void poke(fake *fb)
{
    if (write(fb->wake[1], "x", 1) < 0) {
        /* the pipe is full: the thread is being woken anyway */
    }
}

void fake_stop(fake *fb)
{
    fb->stopping = true;
    poke(fb);
    pthread_join(fb->th, NULL);
    if (fb->lfd >= 0)
        close(fb->lfd);
    close(fb->wake[0]);
    close(fb->wake[1]);
    unlink(fb->path);
    rmdir(fb->dir);
    pthread_mutex_destroy(&fb->mu);
    free(fb);
}

const char *fake_address(const fake *fb) { return fb->addr; }

void fake_drop(fake *fb)
{
    pthread_mutex_lock(&fb->mu);
    if (fb->cfd >= 0)
        shutdown(fb->cfd, SHUT_RDWR);
    pthread_mutex_unlock(&fb->mu);
}

void fake_pause(fake *fb, bool paused)
{
    pthread_mutex_lock(&fb->mu);
    fb->want_pause = paused;
    pthread_mutex_unlock(&fb->mu);
    poke(fb);
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&fb->mu);
        bool done = fb->paused == paused;
        pthread_mutex_unlock(&fb->mu);
        if (done)
            return;
        usleep(1000);
    }
}

int fake_count(fake *fb, panp_body_kind kind)
{
    pthread_mutex_lock(&fb->mu);
    int n = (unsigned)kind < 32 ? fb->counts[kind] : 0;
    pthread_mutex_unlock(&fb->mu);
    return n;
}

int fake_connections(fake *fb)
{
    pthread_mutex_lock(&fb->mu);
    int n = fb->conns;
    pthread_mutex_unlock(&fb->mu);
    return n;
}

bool fake_last_close(fake *fb, bool *has_reason)
{
    pthread_mutex_lock(&fb->mu);
    bool saw = fb->saw_close;
    if (has_reason)
        *has_reason = fb->close_reason;
    pthread_mutex_unlock(&fb->mu);
    return saw;
}

bool fake_wait_count(fake *fb, panp_body_kind kind, int n, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (fake_count(fb, kind) >= n)
            return true;
        usleep(1000);
    }
    return fake_count(fb, kind) >= n;
}
