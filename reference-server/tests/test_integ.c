/* test_integ.c - panpd over real sockets.
 *
 * Starts the panpd that sits next to this binary (../../bin/panpd; or
 * $PANPD) with a generated configuration: a Unix socket in a temporary
 * directory and a loopback TCP port chosen free at run time, TOKEN users in
 * a users file.  $PANPD_WRAPPER (for example "valgrind --error-exitcode=9")
 * is put in front of the command.  Then: several identities at once (TOKEN
 * users over TCP; as root, forked children that setuid to other uids on
 * the Unix socket), clean close, reset and silence -> NOTIFICATION_RELEASE,
 * bad frames -> Error and close while others are served, and SIGTERM ->
 * NOTIFICATION_RELEASE to everyone and exit 0.
 *
 * Prints "integ: N passed, M failed"; skipped cases are listed and counted
 * in neither. */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pclient.h"

#define T_UUID_A "6f1c2f5e-9a43-4d0e-8b1a-3c2d4e5f6a7b"
#define WAIT 5000
#define PING_MS 400

typedef struct env {
    char dir[64], sock[128], port[8], cfg[128], log[128];
    char me[64]; /* the user running the test: a Unix-socket identity */
    pid_t pid;
    uint8_t type[16];
} env;

static int passed, failed, skipped;
static bool case_failed;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
    if (ok) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    check failed: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    case_failed = true;
}

static void run_case(const char *name, void (*fn)(env *), env *e)
{
    case_failed = false;
    fprintf(stderr, "case %s\n", name);
    fn(e);
    if (case_failed) failed++;
    else passed++;
    printf("%s %s\n", case_failed ? "FAIL" : "ok  ", name);
    fflush(stdout);
}

static void skip(const char *name, const char *why)
{
    skipped++;
    printf("SKIP %s: %s (not counted as passed)\n", name, why);
}

/* ---- helpers on pclient */

static pclient *unix_client(env *e, const char *expect_user)
{
    pclient *c = pc_connect_unix(e->sock);
    if (!c) {
        check(false, "connect unix: %s", strerror(errno));
        return NULL;
    }
    panp_frame *err = NULL, *w = pc_hello(c, PANP_AUTH_EXTERNAL, NULL, &err);
    check(w != NULL, "unix Hello refused: %s", err ? err->body.error.message : c->err);
    if (w && expect_user)
        check(strcmp(w->body.welcome.identity.user, expect_user) == 0, "identity %s, want %s",
              w->body.welcome.identity.user, expect_user);
    panp_frame_free(w);
    panp_frame_free(err);
    if (!w) {
        pc_close(c);
        return NULL;
    }
    return c;
}

static pclient *tcp_client(env *e, const char *token, const char *expect_user)
{
    pclient *c = pc_connect_tcp("127.0.0.1", e->port);
    if (!c) {
        check(false, "connect tcp: %s", strerror(errno));
        return NULL;
    }
    panp_frame *err = NULL, *w = pc_hello(c, PANP_AUTH_TOKEN, token, &err);
    check(w != NULL, "tcp Hello refused: %s", err ? err->body.error.message : c->err);
    if (w && expect_user)
        check(strcmp(w->body.welcome.identity.user, expect_user) == 0, "identity %s, want %s",
              w->body.welcome.identity.user, expect_user);
    panp_frame_free(w);
    panp_frame_free(err);
    if (!w) {
        pc_close(c);
        return NULL;
    }
    return c;
}

/* The next frame other than Pong, which must be of `kind` (else NULL). */
static panp_frame *expect(pclient *c, panp_body_kind kind, const char *who)
{
    panp_frame *f = pc_recv_alive(c, WAIT, PING_MS);
    if (f && f->kind == kind) return f;
    check(false, "%s: want %s, got %s%s%s", who, panp_body_name(kind), f ? panp_body_name(f->kind) : "nothing",
          f && f->kind == PANP_BODY_ERROR ? ": " : "", f && f->kind == PANP_BODY_ERROR ? f->body.error.message : "");
    panp_frame_free(f);
    return NULL;
}

/* Ping and read up to the Pong: true when nothing else came first. */
static bool quiet(pclient *c)
{
    panp_frame p = {.kind = PANP_BODY_PING};
    uint64_t rid = pc_request(c, &p);
    bool clean = true;
    for (;;) {
        panp_frame *f = pc_recv(c, WAIT);
        if (!f) return false;
        bool pong = f->kind == PANP_BODY_PONG && f->request_id == rid;
        if (!pong && f->kind != PANP_BODY_PONG) clean = false;
        panp_frame_free(f);
        if (pong) return clean;
    }
}

static bool reg(env *e, pclient *c, panp_user_filter uf, panp_style st)
{
    panp_frame f = {.kind = PANP_BODY_REGISTER};
    f.body.register_listener = (panp_register){.target = {PANP_TARGET_SERVER, NULL},
                                               .notification_type = {e->type, 16},
                                               .user_filter = uf,
                                               .style = st};
    pc_request(c, &f);
    panp_frame *r = expect(c, PANP_BODY_REGISTERED, "register");
    panp_frame_free(r);
    return r != NULL;
}

static uint64_t open_ch(env *e, pclient *c, panp_user_filter uf, panp_style st)
{
    panp_frame f = {.kind = PANP_BODY_OPEN_CHANNEL};
    f.body.open_channel = (panp_open_channel){.target = {PANP_TARGET_SERVER, NULL},
                                              .notification_type = {e->type, 16},
                                              .user_filter = uf,
                                              .style = st};
    pc_request(c, &f);
    panp_frame *r = expect(c, PANP_BODY_CHANNEL_OPENED, "open");
    uint64_t id = r ? r->body.channel_opened.channel_id : 0;
    panp_frame_free(r);
    return id;
}

static int64_t send_text(env *e, pclient *c, uint64_t ch, const char *text)
{
    panp_frame f = {.kind = PANP_BODY_SEND};
    f.body.send = (panp_send){.channel_id = ch, .notification_type = {e->type, 16},
                              .payload = {(const uint8_t *)text, strlen(text)}};
    pc_request(c, &f);
    panp_frame *r = expect(c, PANP_BODY_SENT, "send");
    int64_t n = r ? (int64_t)r->body.sent.recipients : -1;
    panp_frame_free(r);
    return n;
}

static void expect_release(pclient *c, uint64_t ch, panp_close_reason why, const char *who)
{
    panp_frame *f = expect(c, PANP_BODY_CHANNEL_CLOSED, who);
    if (!f) return;
    check(f->body.channel_closed.channel_id == ch, "%s: ChannelClosed for another channel", who);
    check(f->body.channel_closed.reason == why, "%s: reason %s, want %s", who,
          panp_close_reason_name(f->body.channel_closed.reason), panp_close_reason_name(why));
    check(panp_bytes_is_uuid(f->body.channel_closed.notification_type, PANP_TYPE_NOTIFICATION_RELEASE),
          "%s: type is not NOTIFICATION_RELEASE", who);
    panp_frame_free(f);
}

static bool reaches_eof(pclient *c)
{
    for (int i = 0; i < 50; i++) {
        panp_frame *f = pc_recv(c, 200);
        panp_frame_free(f);
        if (c->eof) return true;
    }
    return false;
}

/* ---- cases */

/* [PANP-AUTH-1] [PANP-TRANS-5] [PANP-TRANS-6] [PANP-AUTH-3] */
static void c_identities(env *e)
{
    pclient *u = unix_client(e, e->me);
    pclient *a = tcp_client(e, "alice-token", "tokalice");
    pclient *d = tcp_client(e, "admin-token", "tokadmin");
    pclient *bad = pc_connect_tcp("127.0.0.1", e->port);
    panp_frame *err = NULL, *w = bad ? pc_hello(bad, PANP_AUTH_TOKEN, "nope", &err) : NULL;
    check(!w && err && err->body.error.code == PANP_ERR_UNAUTHENTICATED && err->body.error.fatal,
          "bad token not refused");
    check(bad && reaches_eof(bad), "no close after a fatal Error");
    panp_frame_free(w);
    panp_frame_free(err);
    pclient *ext = pc_connect_tcp("127.0.0.1", e->port);
    w = ext ? pc_hello(ext, PANP_AUTH_EXTERNAL, NULL, &err) : NULL;
    check(!w && err && err->body.error.code == PANP_ERR_UNAUTHENTICATED, "EXTERNAL over tcp accepted");
    panp_frame_free(w);
    panp_frame_free(err);
    pc_close(u);
    pc_close(a);
    pc_close(d);
    pc_close(bad);
    pc_close(ext);
}

/* [PANP-DLV-4] [PANP-DLV-6] [PANP-DLV-2] several identities at once */
static void c_delivery_by_identity(env *e)
{
    pclient *s = unix_client(e, e->me), *same = unix_client(e, e->me);
    pclient *alice = tcp_client(e, "alice-token", "tokalice");
    pclient *admin = tcp_client(e, "admin-token", "tokadmin");
    if (!s || !same || !alice || !admin) goto out;
    reg(e, same, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    reg(e, alice, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    reg(e, admin, PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t ch = open_ch(e, s, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    check(send_text(e, s, ch, "for me") == 2, "recipients of a per-user notification");
    panp_frame *n = expect(same, PANP_BODY_NOTIFY, "same user");
    check(n && strcmp(n->body.notify.sender.user, e->me) == 0, "SenderInfo.user");
    panp_frame_free(n);
    panp_frame_free(expect(admin, PANP_BODY_NOTIFY, "admin"));
    check(quiet(alice), "another user received a per-user notification");
    /* and the other way round: alice's per-user channel */
    pclient *alice2 = tcp_client(e, "alice-token", "tokalice");
    uint64_t ach = alice2 ? open_ch(e, alice2, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL) : 0;
    check(alice2 && send_text(e, alice2, ach, "for alice") == 2, "recipients of alice's notification");
    panp_frame_free(expect(alice, PANP_BODY_NOTIFY, "alice"));
    check(quiet(same), "the Unix user received alice's per-user notification");
    pc_close(alice2);
out:
    pc_close(s);
    pc_close(same);
    pc_close(alice);
    pc_close(admin);
}

/* A child that becomes `uid` and listens on the Unix socket.  It reports
 * through its exit status: 0 when it saw exactly the notification
 * "to-everyone", was refused OpenChannel, and its identity was `name`. */
static int other_uid_child(env *e, uid_t uid, gid_t gid, const char *name, int ready_fd, int done_fd)
{
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) return 20;
    pclient *c = pc_connect_unix(e->sock);
    if (!c) return 21;
    panp_frame *w = pc_hello(c, PANP_AUTH_EXTERNAL, NULL, NULL);
    if (!w || strcmp(w->body.welcome.identity.user, name) != 0) return 22;
    panp_frame_free(w);
    panp_frame f = {.kind = PANP_BODY_OPEN_CHANNEL};
    f.body.open_channel = (panp_open_channel){.target = {PANP_TARGET_SERVER, NULL},
                                              .notification_type = {e->type, 16},
                                              .user_filter = PANP_USER_FILTER_PER_USER,
                                              .style = PANP_STYLE_UNIDIRECTIONAL};
    pc_request(c, &f);
    panp_frame *r = pc_recv(c, WAIT);
    if (!r || r->kind != PANP_BODY_ERROR || r->body.error.code != PANP_ERR_ACCESS_DENIED) return 23;
    panp_frame_free(r);
    panp_frame g = {.kind = PANP_BODY_REGISTER};
    g.body.register_listener = (panp_register){.target = {PANP_TARGET_SERVER, NULL},
                                               .notification_type = {e->type, 16},
                                               .user_filter = PANP_USER_FILTER_PER_USER,
                                               .style = PANP_STYLE_UNIDIRECTIONAL};
    pc_request(c, &g);
    r = pc_recv(c, WAIT);
    if (!r || r->kind != PANP_BODY_REGISTERED) return 24;
    panp_frame_free(r);
    if (write(ready_fd, "R", 1) != 1) return 25;
    int seen = 0, right = 0;
    bool done = false;
    while (!done) {
        struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = done_fd, .events = POLLIN}};
        if (poll(p, 2, 10000) <= 0) return 26;
        /* The parent is done only after its barrier: whatever was sent to
         * us is already in our socket, so read it all before counting. */
        done = p[1].revents != 0;
        panp_frame *n;
        while ((n = pc_recv(c, done ? 200 : 0)) != NULL) {
            if (n->kind == PANP_BODY_NOTIFY) {
                seen++;
                if (n->body.notify.payload.len == 11 &&
                    !memcmp(n->body.notify.payload.data, "to-everyone", 11))
                    right++;
            }
            panp_frame_free(n);
        }
        if (c->eof) return 27;
    }
    pc_close(c);
    return seen == 1 && right == 1 ? 0 : 28;
}

/* [PANP-TRANS-5] [PANP-AUTH-2] identities from peer credentials of other uids */
static void c_other_uids(env *e)
{
    const char *names[] = {"nobody", "daemon"};
    pid_t kids[2];
    int ready[2][2], done[2][2];
    size_t nk = 0;
    for (size_t i = 0; i < 2; i++) {
        struct passwd *pw = getpwnam(names[i]);
        if (!pw) continue;
        if (pipe(ready[nk]) != 0 || pipe(done[nk]) != 0) return check(false, "pipe");
        fflush(NULL);
        kids[nk] = fork();
        if (kids[nk] == 0) {
            /* Earlier children's pipe ends must not stay open here, or
             * their "done" would never read as EOF. */
            for (size_t j = 0; j < nk; j++) {
                close(ready[j][0]);
                close(done[j][1]);
            }
            close(ready[nk][0]);
            close(done[nk][1]);
            _exit(other_uid_child(e, pw->pw_uid, pw->pw_gid, names[i], ready[nk][1], done[nk][0]));
        }
        close(ready[nk][1]);
        close(done[nk][0]);
        nk++;
    }
    check(nk > 0, "no other system users (nobody, daemon) to become");
    for (size_t i = 0; i < nk; i++) {
        char ch = 0;
        struct pollfd p = {.fd = ready[i][0], .events = POLLIN};
        check(poll(&p, 1, 10000) == 1 && read(ready[i][0], &ch, 1) == 1 && ch == 'R',
              "child %zu did not get ready", i);
    }
    pclient *s = unix_client(e, e->me);
    pclient *admin = tcp_client(e, "admin-token", "tokadmin");
    if (s && admin) {
        uint64_t per = open_ch(e, s, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        send_text(e, s, per, "for-me-only");
        uint64_t all = open_ch(e, admin, PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
        check(send_text(e, admin, all, "to-everyone") >= (int64_t)nk, "ALL_USERS recipients");
        quiet(s);
        quiet(admin);
    }
    for (size_t i = 0; i < nk; i++) {
        close(done[i][1]);
        int st = 0;
        waitpid(kids[i], &st, 0);
        check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child as %s: status %d", names[i],
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        close(ready[i][0]);
    }
    pc_close(s);
    pc_close(admin);
}

typedef enum { GONE_CLOSE, GONE_RESET, GONE_SILENT } gone_how;

/* [PANP-REL-3] [PANP-REL-6] [PANP-KA-3] a sender dies three ways */
static void sender_dies(env *e, gone_how how)
{
    pclient *s = tcp_client(e, "alice-token", "tokalice");
    pclient *l = tcp_client(e, "alice-token", "tokalice");
    pclient *b = unix_client(e, e->me);
    if (!s || !l || !b) goto out;
    reg(e, l, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t ch = open_ch(e, s, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    check(send_text(e, s, ch, "hello") == 1, "recipients");
    panp_frame_free(expect(l, PANP_BODY_NOTIFY, "listener"));
    if (how == GONE_CLOSE) {
        pc_close(s);
        s = NULL;
    } else if (how == GONE_RESET) {
        pc_reset(s);
        s = NULL;
    } else {
        /* The sender goes silent (the others keep pinging); its
         * Goodbye(KEEPALIVE_TIMEOUT) shows the broker's verdict. */
        panp_frame *g = NULL;
        for (int i = 0; i < 20 && !g && !s->eof; i++) {
            g = pc_recv(s, PING_MS);
            panp_frame p = {.kind = PANP_BODY_PING};
            pc_request(b, &p);
            pc_request(l, &p);
        }
        check(g && g->kind == PANP_BODY_GOODBYE && g->body.goodbye.reason == PANP_GOODBYE_KEEPALIVE_TIMEOUT,
              "silent sender: no Goodbye(KEEPALIVE_TIMEOUT)");
        panp_frame_free(g);
        check(reaches_eof(s), "silent sender not closed");
    }
    expect_release(l, ch, PANP_CLOSE_REASON_PEER_GONE, "listener");
    check(quiet(b), "a bystander was disturbed");
out:
    pc_close(s);
    pc_close(l);
    pc_close(b);
}

static void c_clean_close(env *e) { sender_dies(e, GONE_CLOSE); }
static void c_reset(env *e) { sender_dies(e, GONE_RESET); }
static void c_silence(env *e) { sender_dies(e, GONE_SILENT); }

/* [PANP-BIDI-5] [PANP-BIDI-6] first responder wins, across transports */
static void c_bidi(env *e)
{
    pclient *s = tcp_client(e, "admin-token", "tokadmin");
    pclient *l1 = unix_client(e, e->me), *l2 = tcp_client(e, "alice-token", "tokalice");
    if (!s || !l1 || !l2) goto out;
    reg(e, l1, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    reg(e, l2, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    uint64_t ch = open_ch(e, s, PANP_USER_FILTER_ALL_USERS, PANP_STYLE_BIDIRECTIONAL);
    check(send_text(e, s, ch, "which tray?") == 2, "question recipients");
    panp_frame *n1 = expect(l1, PANP_BODY_NOTIFY, "l1"), *n2 = expect(l2, PANP_BODY_NOTIFY, "l2");
    if (n1 && n2) {
        panp_frame r = {.kind = PANP_BODY_REPLY};
        r.body.reply = (panp_reply){.conversation_id = n2->body.notify.conversation_id,
                                    .notification_type = {e->type, 16},
                                    .payload = {(const uint8_t *)"tray 2", 6}};
        pc_request(l2, &r);
        panp_frame_free(expect(l2, PANP_BODY_OK, "l2 reply"));
        panp_frame *rd = expect(s, PANP_BODY_REPLY_DELIVERY, "sender");
        check(rd && strcmp(rd->body.reply_delivery.responder, "tokalice") == 0, "responder");
        panp_frame_free(rd);
        panp_frame *lost = expect(l1, PANP_BODY_CHANNEL_CLOSED, "l1");
        check(lost && lost->body.channel_closed.reason == PANP_CLOSE_REASON_ANSWERED_BY_ANOTHER, "loser told");
        panp_frame_free(lost);
    }
    panp_frame_free(n1);
    panp_frame_free(n2);
out:
    pc_close(s);
    pc_close(l1);
    pc_close(l2);
}

/* [PANP-FRAME-3] [PANP-WIRE-9] [PANP-PREF-3] [PANP-FLOW-6] bad input ends one connection only */
static void c_bad_frames(env *e)
{
    pclient *ok = unix_client(e, e->me);
    /* oversized: a prefix of 16 MiB, no body */
    pclient *big = unix_client(e, e->me);
    if (big) {
        uint8_t prefix[4] = {0x80, 0x80, 0x80, 0x08};
        pc_write(big, prefix, sizeof(prefix));
        panp_frame *f = pc_recv(big, WAIT);
        check(f && f->kind == PANP_BODY_ERROR && f->body.error.code == PANP_ERR_FRAME_TOO_LARGE &&
                  f->body.error.fatal && f->request_id == 0,
              "oversized frame: no fatal FRAME_TOO_LARGE");
        panp_frame_free(f);
        check(reaches_eof(big), "oversized frame: connection not closed");
        pc_close(big);
    }
    check(ok && quiet(ok), "another client is not served");
    /* malformed: field 8 with wire type 7 */
    pclient *mal = tcp_client(e, "bob-token", "tokbob");
    if (mal) {
        uint8_t bad[] = {3, 0x08, 0x01, 0x47};
        pc_write(mal, bad, sizeof(bad));
        panp_frame *f = pc_recv(mal, WAIT);
        check(f && f->kind == PANP_BODY_ERROR && f->body.error.code == PANP_ERR_PROTOCOL_VIOLATION &&
                  f->body.error.fatal,
              "malformed frame: no fatal PROTOCOL_VIOLATION");
        panp_frame_free(f);
        check(reaches_eof(mal), "malformed frame: connection not closed");
        pc_close(mal);
    }
    /* not panp at all: closed without a byte */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(e->port)),
                              .sin_addr.s_addr = htonl(0x7f000001)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
        const char req[] = "GET / HTTP/1.1\r\n\r\n";
        check(write(fd, req, sizeof(req) - 1) > 0, "write");
        char buf[64];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n = poll(&p, 1, WAIT) == 1 ? read(fd, buf, sizeof(buf)) : -1;
        check(n == 0, "a bad preface got %zd bytes back, not a silent close", n);
    }
    if (fd >= 0) close(fd);
    check(ok && quiet(ok), "another client is not served after the others' errors");
    pc_close(ok);
}

/* [PANP-REL-7] [PANP-REL-8] SIGTERM: release to both sides, Goodbye, exit 0 */
static void c_sigterm(env *e)
{
    pclient *s = unix_client(e, e->me), *idle = tcp_client(e, "alice-token", "tokalice");
    pclient *q = tcp_client(e, "admin-token", "tokadmin");
    if (!s || !idle || !q) goto out;
    reg(e, q, PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    reg(e, q, PANP_USER_FILTER_ALL_USERS, PANP_STYLE_BIDIRECTIONAL);
    uint64_t uni = open_ch(e, s, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t bidi = open_ch(e, s, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    send_text(e, s, bidi, "still there?");
    panp_frame_free(expect(q, PANP_BODY_NOTIFY, "question"));
    check(kill(e->pid, SIGTERM) == 0, "kill");
    /* both sides of both channels */
    pclient *side[] = {s, q};
    for (int k = 0; k < 2; k++) {
        bool seen_uni = false, seen_bidi = false;
        for (int i = 0; i < 2; i++) {
            panp_frame *f = pc_recv(side[k], WAIT);
            bool ok = f && f->kind == PANP_BODY_CHANNEL_CLOSED &&
                      f->body.channel_closed.reason == PANP_CLOSE_REASON_SERVER_SHUTDOWN &&
                      panp_bytes_is_uuid(f->body.channel_closed.notification_type,
                                         PANP_TYPE_NOTIFICATION_RELEASE);
            check(ok, "%s: ChannelClosed(SERVER_SHUTDOWN, RELEASE) #%d", k ? "listener" : "sender", i + 1);
            if (ok) {
                seen_uni |= f->body.channel_closed.channel_id == uni;
                seen_bidi |= f->body.channel_closed.channel_id == bidi;
            }
            panp_frame_free(f);
        }
        check(seen_uni && seen_bidi, "%s: not told about both channels", k ? "listener" : "sender");
    }
    pclient *all[] = {s, idle, q};
    for (int i = 0; i < 3; i++) {
        panp_frame *g = pc_recv(all[i], WAIT);
        check(g && g->kind == PANP_BODY_GOODBYE && g->body.goodbye.reason == PANP_GOODBYE_SERVER_SHUTDOWN,
              "Goodbye(SERVER_SHUTDOWN) #%d", i);
        panp_frame_free(g);
        check(reaches_eof(all[i]), "closed after Goodbye #%d", i);
    }
out:
    pc_close(s);
    pc_close(idle);
    pc_close(q);
    int st = 0;
    pid_t w = 0;
    for (int i = 0; i < 300 && (w = waitpid(e->pid, &st, WNOHANG)) == 0; i++) usleep(100000);
    check(w == e->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "panpd exit status %d",
          w == e->pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (w == e->pid) e->pid = 0;
    struct stat sb;
    check(stat(e->sock, &sb) != 0, "the socket file was not removed");
}

/* ---- setup */

static void hash_line(FILE *f, const char *user, const char *token)
{
    uint8_t h[32];
    SHA256((const uint8_t *)token, strlen(token), h);
    fprintf(f, "%s:", user);
    for (int i = 0; i < 32; i++) fprintf(f, "%02x", h[i]);
    fprintf(f, "\n");
}

static int free_port(char out[8])
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        return -1;
    snprintf(out, 8, "%u", ntohs(sin.sin_port));
    close(fd);
    return 0;
}

static int setup(env *e, const char *self)
{
    struct passwd *pw = getpwuid(getuid());
    if (!pw) return -1;
    snprintf(e->me, sizeof(e->me), "%s", pw->pw_name);
    panp_uuid_parse(T_UUID_A, e->type);
    snprintf(e->dir, sizeof(e->dir), "/tmp/panpd-integ-XXXXXX");
    if (!mkdtemp(e->dir) || chmod(e->dir, 0755) != 0 || free_port(e->port) != 0) return -1;
    snprintf(e->sock, sizeof(e->sock), "%s/panpd.sock", e->dir);
    snprintf(e->cfg, sizeof(e->cfg), "%s/panpd.conf", e->dir);
    snprintf(e->log, sizeof(e->log), "%s/panpd.log", e->dir);
    char users[128];
    snprintf(users, sizeof(users), "%s/users", e->dir);
    FILE *u = fopen(users, "w");
    if (!u) return -1;
    hash_line(u, "tokalice", "alice-token");
    hash_line(u, "tokbob", "bob-token");
    hash_line(u, "tokadmin", "admin-token");
    fclose(u);
    FILE *c = fopen(e->cfg, "w");
    if (!c) return -1;
    fprintf(c,
            "[server]\nname = integ\nlisten = unix:%s\nlisten = tcp:127.0.0.1:%s\nusers_file = users\n"
            "[printer P1]\nadmins = tokbob\n"
            "[access]\nserver_admins = tokadmin\nsenders = %s, tokalice\n"
            "[limits]\nkeepalive_interval_ms = 1000\nkeepalive_timeout_ms = 3000\n"
            "flush_timeout_ms = 2000\n"
            "[log]\nlevel = debug\n",
            e->sock, e->port, e->me);
    fclose(c);

    char panpd[512];
    const char *env_panpd = getenv("PANPD");
    if (env_panpd) {
        snprintf(panpd, sizeof(panpd), "%s", env_panpd);
    } else {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", self);
        snprintf(panpd, sizeof(panpd), "%s/../../bin/panpd", dirname(tmp));
    }
    char *argv[32];
    int argc = 0;
    char wrapper[512] = "";
    if (getenv("PANPD_WRAPPER")) snprintf(wrapper, sizeof(wrapper), "%s", getenv("PANPD_WRAPPER"));
    for (char *tok = strtok(wrapper, " "); tok && argc < 24; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc++] = panpd;
    argv[argc++] = "-c";
    argv[argc++] = e->cfg;
    argv[argc] = NULL;
    fflush(NULL);
    e->pid = fork();
    if (e->pid == 0) {
        FILE *lf = freopen(e->log, "w", stderr);
        (void)lf;
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        pclient *p = pc_connect_unix(e->sock);
        if (p) {
            pc_close(p);
            return 0;
        }
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            e->pid = 0;
            return -1;
        }
        usleep(50000);
    }
    return -1;
}

static void teardown(env *e, bool keep)
{
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
    }
    if (keep) {
        fprintf(stderr, "--- panpd log (%s) ---\n", e->log);
        FILE *f = fopen(e->log, "r");
        char line[1024];
        int n = 0;
        while (f && fgets(line, sizeof(line), f))
            if (++n > 0) fputs(line, stderr);
        if (f) fclose(f);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", e->dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    env e = {0};
    if (setup(&e, argv[0]) != 0) {
        fprintf(stderr, "integ: cannot start panpd (%s)\n", strerror(errno));
        teardown(&e, true);
        printf("integ: 0 passed, 1 failed\n");
        return 1;
    }
    run_case("identities from the transport", c_identities, &e);
    run_case("delivery decided by identity, several users at once", c_delivery_by_identity, &e);
    if (getuid() == 0)
        run_case("other uids on the Unix socket (setuid children)", c_other_uids, &e);
    else
        skip("other uids on the Unix socket", "needs root to setuid");
    run_case("sender closes its socket -> NOTIFICATION_RELEASE", c_clean_close, &e);
    run_case("sender resets (SO_LINGER 0) -> NOTIFICATION_RELEASE", c_reset, &e);
    run_case("sender falls silent -> keepalive -> NOTIFICATION_RELEASE", c_silence, &e);
    run_case("bidirectional: first responder wins across transports", c_bidi, &e);
    run_case("oversized, malformed, non-panp input: Error, close, others served", c_bad_frames, &e);
    run_case("SIGTERM: NOTIFICATION_RELEASE to everyone, Goodbye, exit 0", c_sigterm, &e);
    teardown(&e, failed > 0);
    if (skipped) printf("integ: %d case(s) skipped\n", skipped);
    printf("integ: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
