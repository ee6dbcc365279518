/* client/cs.c - the scripted broker and the adapter process. */
#include "cs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "ops.h"
#include "tls.h"

/* ---- adapter output ------------------------------------------------------ */

static void add_event(cs_state *cs, const char *line)
{
    char err[200];
    pj_value *v = pj_parse(line, strlen(line), err, sizeof(err));
    pc_tr_add(&cs->t->tr, pc_now_us(), "client-adapter", '<', line);
    if (!v || v->type != PJ_OBJ) {
        pj_free(v);
        pc_error(cs->t, "the adapter wrote a line that is not a JSON object (%s): %s", err, line);
    }
    if (cs->nev == cs->capev) {
        cs->capev = cs->capev ? 2 * cs->capev : 32;
        cs->ev = pc_xrealloc(cs->ev, cs->capev * sizeof(*cs->ev));
    }
    cs->ev[cs->nev++] = (cs_line){v, pc_xstrdup(line), false};
}

/* Splits buffered bytes into lines and hands complete ones to fn. */
static void take_lines(cs_state *cs, sbuf *b, bool is_err)
{
    char *start = b->s, *nl;
    while (start && (nl = memchr(start, '\n', b->len - (size_t)(start - b->s))) != NULL) {
        *nl = '\0';
        if (is_err) pc_tr_add(&cs->t->tr, pc_now_us(), "client-stderr", '-', start);
        else if (*start) add_event(cs, start);
        start = nl + 1;
    }
    if (!start) return;
    size_t rest = b->len - (size_t)(start - b->s);
    memmove(b->s, start, rest);
    b->len = rest;
    b->s[rest] = '\0';
}

static void on_fd(cs_state *cs, int fd, sbuf *b, bool is_err)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
        pc_del_hook(cs->t, fd);
        if (!is_err) {
            cs->out_eof = true;
            pc_tr_add(&cs->t->tr, pc_now_us(), "client-adapter", '-', "stdout closed");
        }
        return;
    }
    sbuf_put(b, buf, (size_t)n);
    take_lines(cs, b, is_err);
}

static void on_out(pc_t *t, void *arg)
{
    (void)t;
    cs_state *cs = arg;
    on_fd(cs, cs->out_fd, &cs->outbuf, false);
}

static void on_err(pc_t *t, void *arg)
{
    (void)t;
    cs_state *cs = arg;
    on_fd(cs, cs->err_fd, &cs->errbuf, true);
}

static void on_accept(pc_t *t, void *arg)
{
    cs_state *cs = arg;
    int fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (cs->naccepted == sizeof(cs->accepted) / sizeof(cs->accepted[0])) pc_error(t, "the client connected too often");
    if (cs->listen.kind == PC_ADDR_TLS) {
        /* the suite's tls: broker: the handshake first (certificate for
         * localhost, 127.0.0.1 and ::1 from the suite's CA) */
        pc_tls_server_info info;
        char err[300];
        fd = pc_tls_accept(fd, PC_BCERT_GOOD, pc_wait_ms(t), &info, err, sizeof(err));
        if (fd < 0) {
            pc_note(t, "as-broker: a connection whose TLS handshake failed: %s", err);
            return;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        pc_note(t, "as-broker: TLS handshake done (%s, ALPN offered \"%s\", SNI \"%s\")", info.version, info.alpn,
                info.sni_sent ? info.sni : "(none)");
    }
    cs->accepted[cs->naccepted] = pc_conn_adopt(t, fd, pc_sprintf(t, "as-broker#%zu", cs->naccepted + 1));
    cs->naccepted++;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void cs_cleanup(pc_t *t)
{
    cs_state *cs = t->ext;
    if (!cs) return;
    if (cs->in_fd >= 0) close(cs->in_fd);
    if (cs->pid > 0) {
        /* stdin closed: a well-behaved adapter exits; make sure it does */
        int st;
        for (int i = 0; i < 100 && waitpid(cs->pid, &st, WNOHANG) == 0; i++) usleep(10000);
        if (waitpid(cs->pid, &st, WNOHANG) == 0) {
            kill(cs->pid, SIGKILL);
            waitpid(cs->pid, &st, 0);
        }
    }
    if (cs->out_fd >= 0) close(cs->out_fd);
    if (cs->err_fd >= 0) close(cs->err_fd);
    if (cs->listen_fd >= 0) close(cs->listen_fd);
    if (cs->listen.kind == PC_ADDR_UNIX) unlink(cs->listen.path);
    for (size_t i = 0; i < cs->nev; i++) {
        pj_free(cs->ev[i].v);
        free(cs->ev[i].line);
    }
    free(cs->ev);
    sbuf_free(&cs->outbuf);
    sbuf_free(&cs->errbuf);
    free(cs);
    t->ext = NULL;
}

static pid_t spawn(const char *cmd, int *in, int *out, int *err)
{
    int pi[2], po[2], pe[2];
    if (pipe2(pi, O_CLOEXEC) || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pi[0], 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pi[0]);
    close(po[1]);
    close(pe[1]);
    *in = pi[1];
    *out = po[0];
    *err = pe[0];
    return pid;
}

cs_state *cs_start(pc_t *t)
{
    cs_state *cs = pc_xcalloc(1, sizeof(*cs));
    cs->t = t;
    cs->in_fd = cs->out_fd = cs->err_fd = cs->listen_fd = -1;
    cs->next_id = 1;
    t->ext = cs;
    t->ext_cleanup = cs_cleanup;
    cs->listen = t->opt->listen;
    char err[300];
    cs->listen_fd = pc_listen(&cs->listen, err, sizeof(err));
    if (cs->listen_fd < 0) pc_error(t, "%s", err);
    fcntl(cs->listen_fd, F_SETFL, O_NONBLOCK);
    bool tls = cs->listen.kind == PC_ADDR_TLS;
    if ((cs->listen.kind == PC_ADDR_TCP || tls) && !strcmp(cs->listen.port, "0")) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(cs->listen_fd, (struct sockaddr *)&ss, &sl);
        uint16_t port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in sockaddr_in6 */
        const char *h = cs->listen.host;
        snprintf(cs->listen.port, sizeof(cs->listen.port), "%u", port);
        snprintf(cs->listen.text, sizeof(cs->listen.text), "%s:%s%s%s:%u", tls ? "tls" : "tcp", strchr(h, ':') ? "[" : "",
                 h, strchr(h, ':') ? "]" : "", port);
    }
    if (tls && !(cs->tls_ca = pc_tls_suite_ca(err, sizeof(err)))) pc_error(t, "%s", err);
    pc_add_hook(t, cs->listen_fd, on_accept, cs);
    cs->pid = spawn(t->opt->client_cmd, &cs->in_fd, &cs->out_fd, &cs->err_fd);
    if (cs->pid < 0) pc_error(t, "cannot start the client command: %s", strerror(errno));
    pc_note(t, "started the client adapter: %s (pid %d)", t->opt->client_cmd, (int)cs->pid);
    pc_add_hook(t, cs->out_fd, on_out, cs);
    pc_add_hook(t, cs->err_fd, on_err, cs);
    return cs;
}

/* ---- commands and results ------------------------------------------------------ */

static uint64_t send_line(cs_state *cs, const char *cmd, const char *fields)
{
    sbuf line = SBUF_INIT;
    uint64_t id = cs->next_id++;
    sbuf_printf(&line, "{\"id\":%" PRIu64 ",\"cmd\":\"%s\"", id, cmd);
    if (fields && *fields) sbuf_printf(&line, ",%s", fields);
    sbuf_puts(&line, "}");
    pc_tr_add(&cs->t->tr, pc_now_us(), "client-adapter", '>', sbuf_str(&line));
    sbuf_putc(&line, '\n');
    size_t off = 0;
    while (off < line.len) {
        ssize_t n = write(cs->in_fd, line.s + off, line.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            sbuf_free(&line);
            pc_error(cs->t, "the client adapter does not read its stdin (%s)", strerror(errno));
        }
        off += (size_t)n;
    }
    sbuf_free(&line);
    return id;
}

uint64_t cs_cmd(cs_state *cs, const char *cmd, const char *fields_fmt, ...)
{
    va_list ap;
    va_start(ap, fields_fmt);
    char *f = NULL;
    if (vasprintf(&f, fields_fmt, ap) < 0) pc_oom();
    va_end(ap);
    uint64_t id = send_line(cs, cmd, f);
    free(f);
    return id;
}

uint64_t cs_cmd0(cs_state *cs, const char *cmd) { return send_line(cs, cmd, NULL); }

typedef struct ev_match {
    cs_state *cs;
    const char *name, *key, *value;
    uint64_t id;
    bool by_id;
    const pj_value *found;
} ev_match;

static bool value_is(const pj_value *v, const char *want)
{
    if (!v) return false;
    if (v->type == PJ_STR || v->type == PJ_NUM) return !strcmp(v->str, want);
    if (v->type == PJ_BOOL) return !strcmp(want, v->b ? "true" : "false");
    return false;
}

static bool ev_matches(const cs_line *e, const ev_match *m)
{
    if (e->used) return false;
    if (m->by_id) {
        uint64_t id;
        return !pj_get(e->v, "event") && pj_get_u64(e->v, "id", &id) && id == m->id;
    }
    if (!value_is(pj_get(e->v, "event"), m->name)) return false;
    return !m->key || value_is(pj_get(e->v, m->key), m->value);
}

static bool ev_found(void *arg)
{
    ev_match *m = arg;
    for (size_t i = 0; i < m->cs->nev; i++) {
        if (ev_matches(&m->cs->ev[i], m)) {
            m->cs->ev[i].used = true;
            m->found = m->cs->ev[i].v;
            return true;
        }
    }
    return m->cs->out_eof;
}

const pj_value *cs_result(cs_state *cs, uint64_t id, const char *req)
{
    ev_match m = {.cs = cs, .id = id, .by_id = true};
    pc_wait_for(cs->t, ev_found, &m, pc_wait_ms(cs->t));
    if (!m.found)
        pc_fail(cs->t, req, pc_sprintf(cs->t, "the adapter's result for command %" PRIu64, id), "%s",
                cs->out_eof ? "the adapter exited" : "none within the wait");
    return m.found;
}

const pj_value *cs_ok(cs_state *cs, uint64_t id, const char *req)
{
    const pj_value *r = cs_result(cs, id, req);
    if (!pj_get_bool(r, "ok", false))
        pc_fail(cs->t, req, pc_sprintf(cs->t, "command %" PRIu64 " to succeed", id), "code %s: %s",
                pj_get_str(r, "code", "?"), pj_get_str(r, "message", ""));
    return r;
}

const pj_value *cs_not_ok(cs_state *cs, uint64_t id, const char *req)
{
    const pj_value *r = cs_result(cs, id, req);
    if (pj_get_bool(r, "ok", false)) pc_fail(cs->t, req, pc_sprintf(cs->t, "command %" PRIu64 " to fail", id), "it succeeded");
    return r;
}

const pj_value *cs_try_event(cs_state *cs, const char *name, const char *key, const char *value, int timeout_ms)
{
    ev_match m = {.cs = cs, .name = name, .key = key, .value = value};
    pc_wait_for(cs->t, ev_found, &m, timeout_ms < 0 ? pc_wait_ms(cs->t) : timeout_ms);
    return m.found;
}

const pj_value *cs_event(cs_state *cs, const char *name, const char *key, const char *value, int timeout_ms,
                         const char *req)
{
    const pj_value *v = cs_try_event(cs, name, key, value, timeout_ms);
    if (!v)
        pc_fail(cs->t, req,
                pc_sprintf(cs->t, "the adapter reporting a \"%s\" event%s%s%s%s", name, key ? " with " : "", key ? key : "",
                           key ? " = " : "", key ? value : ""),
                "%s", cs->out_eof ? "the adapter exited first" : "none within the wait");
    return v;
}

bool cs_str_is(const pj_value *v, const char *key, const char *want) { return value_is(pj_get(v, key), want); }

static bool accepted(void *arg)
{
    cs_state *cs = arg;
    return cs->naccepted > cs->nclaimed;
}

bool cs_accept_pending(cs_state *cs)
{
    pc_wait_for(cs->t, accepted, cs, 0);
    return accepted(cs);
}

pc_conn *cs_accept(cs_state *cs, const char *req)
{
    if (!pc_wait_for(cs->t, accepted, cs, pc_wait_ms(cs->t)))
        pc_fail(cs->t, req, pc_sprintf(cs->t, "the client connecting to %s", cs->listen.text), "no connection");
    return cs->accepted[cs->nclaimed++];
}

/* ---- the scripted broker ------------------------------------------------------- */

panp_limits cs_default_limits(void)
{
    return (panp_limits){65536, 64, 64, 30000, 90000, 86400, 1048576};
}

static bool preface_done(void *arg)
{
    pc_conn *b = arg;
    return b->preface_got == PANP_PREFACE_LEN || b->eof;
}

const panp_frame *cs_await_hello(pc_conn *b, const char *req)
{
    pc_wait_for(b->t, preface_done, b, pc_wait_ms(b->t));
    if (b->preface_got < PANP_PREFACE_LEN) pc_fail(b->t, "PANP-PREF-1", "the client's preface", "none");
    const panp_frame *f = pc_await(b, NULL, NULL, -1, req, "the client's first frame");
    if (f->kind != PANP_BODY_HELLO)
        pc_fail(b->t, "PANP-CLI-5", "Hello as the first frame", "%s", pc_frame_text(b->t, f));
    const panp_hello *h = &f->body.hello;
    if (h->min_version < 1 || h->max_version < h->min_version || h->min_version > 1 || h->max_version < 1)
        pc_fail(b->t, "PANP-VER-3", "a Hello whose version range contains 1", "%s", pc_frame_text(b->t, f));
    return f;
}

void cs_answered(pc_conn *b, uint64_t rid)
{
    for (size_t i = 0; i < b->nclient_pending; i++) {
        if (b->client_pending[i] == rid) {
            b->client_pending[i] = b->client_pending[--b->nclient_pending];
            return;
        }
    }
}

void cs_respond(pc_conn *b, uint64_t rid, panp_frame *resp)
{
    resp->request_id = rid;
    pc_send(b, resp);
    cs_answered(b, rid);
}

void cs_respond_raw(pc_conn *b, uint64_t rid, const pbw *frame, const char *what)
{
    pc_send_pbw(b, frame, what);
    cs_answered(b, rid);
}

void cs_welcome(pc_conn *b, uint64_t rid, const panp_limits *limits)
{
    pc_send_raw(b, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
    panp_frame w = {.kind = PANP_BODY_WELCOME};
    w.body.welcome.version = 1;
    w.body.welcome.software = "panp-conformance/1";
    w.body.welcome.server_name = "scripted-broker";
    w.body.welcome.has_limits = true;
    w.body.welcome.limits = limits ? *limits : cs_default_limits();
    w.body.welcome.has_identity = true;
    w.body.welcome.identity.user = "tester";
    w.body.welcome.identity.may_open_channels = true;
    cs_respond(b, rid, &w);
    b->limits = w.body.welcome.limits;
    panp_framer_set_max(b->framer, b->limits.max_frame_size);
}

const char *cs_broker_fields(cs_state *cs)
{
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "\"broker\":");
    sbuf_json_str(&b, cs->listen.text);
    if (cs->tls_ca) {
        sbuf_puts(&b, ",\"tls_ca\":");
        sbuf_json_str(&b, cs->tls_ca);
    }
    const char *s = pc_strdup(cs->t, sbuf_str(&b));
    sbuf_free(&b);
    return s;
}

pc_conn *cs_connect(cs_state *cs, const panp_limits *limits)
{
    uint64_t id = cs_cmd(cs, "connect", "%s", cs_broker_fields(cs));
    pc_conn *b = cs_accept(cs, "PANP-PREF-1");
    const panp_frame *h = cs_await_hello(b, "PANP-PREF-1");
    cs->hello_rid = h->request_id;
    cs_welcome(b, h->request_id, limits);
    cs_ok(cs, id, "PANP-CONN-11");
    return b;
}

const panp_frame *cs_await_request(pc_conn *b, panp_body_kind kind, const char *req)
{
    return pc_await(b, pc_m_kind, &kind, -1, req, pc_sprintf(b->t, "a %s from the client", panp_body_name(kind)));
}

const char *cs_hex(pc_t *t, const void *p, size_t n)
{
    sbuf b = SBUF_INIT;
    sbuf_hex(&b, p, n);
    const char *s = pc_strdup(t, sbuf_str(&b));
    sbuf_free(&b);
    return s;
}

const char *cs_uuid(pc_t *t, const uint8_t *u)
{
    char text[37];
    panp_uuid_format(u, text);
    return pc_strdup(t, text);
}
