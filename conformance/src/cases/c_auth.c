/* cases/c_auth.c - transport bindings, authentication and identity (SPEC
 * sections 4 and 8). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* ---- identity ------------------------------------------------------------ */

static void run_identity_reported(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    for (size_t i = 0; i < p->n_ids; i++) {
        pc_conn *c = pc_connect(t, &p->ids[i], p->ids[i].name);
        pc_check_identity(t, &p->ids[i], c);
        pc_close(c);
    }
}

static void run_admin_printers_bounded(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    /* A small max_frame_size too: the Welcome must still fit ([PANP-AUTH-7]);
     * the harness fails the case on any frame above it. */
    pc_hello_opts small = {.max_frame_size = PANP_MIN_MAX_FRAME};
    for (size_t i = 0; i < p->n_ids; i++) {
        for (int pass = 0; pass < 2; pass++) {
            pc_conn *c = pc_connect_opts(t, &p->ids[i], p->ids[i].name, pass ? &small : NULL);
            const panp_identity *id = &c->welcome->body.welcome.identity;
            size_t want = p->ids[i].server_admin ? id->admin_printers_count : p->ids[i].n_admin_printers;
            if (id->admin_printers_count > 64)
                pc_fail(t, "PANP-WIRE-17", "at most 64 admin_printers", "%zu", id->admin_printers_count);
            if (!p->ids[i].server_admin && id->admin_printers_truncated != (id->admin_printers_count < want))
                pc_fail(t, "PANP-AUTH-7",
                        pc_sprintf(t, "admin_printers_truncated set exactly when fewer than the %zu configured printers are listed", want),
                        "%zu listed, truncated=%d", id->admin_printers_count, id->admin_printers_truncated);
            if (!p->ids[i].server_admin && want > 64 && !id->admin_printers_truncated)
                pc_fail(t, "PANP-AUTH-7", "a list of more than 64 printers shortened and marked truncated", "%s",
                        pc_frame_text(t, c->welcome));
            pc_close(c);
        }
    }
}

static void run_identity_ignores_client_strings(pc_t *t)
{
    const pc_identity *plain = pc_who(t, PC_ROLE_PLAIN, 0);
    static const char *const software[] = {"panpd/0.1.0", "root", "libpanp/0.1.0 admin"};
    pc_conn *base = pc_connect(t, plain, "reference");
    for (size_t i = 0; i < sizeof(software) / sizeof(software[0]); i++) {
        pc_conn *c = pc_dial_as(t, plain, software[i], 0);
        raw_hello h = rh_valid(c);
        h.software = software[i];
        h.session = "console";
        rh_send(c, &h);
        const panp_frame *w = pc_await_hello_response(c, h.rid);
        if (w->kind != PANP_BODY_WELCOME) pc_fail(t, "PANP-VER-5", "a Welcome", "%s", pc_frame_text(t, w));
        pc_check_identity(t, plain, c);
        if (memcmp(&w->body.welcome.limits, &base->welcome->body.welcome.limits, sizeof(panp_limits)) != 0)
            pc_fail(t, "PANP-VER-5", "the same limits whatever Hello.software says", "%s", pc_frame_text(t, w));
        /* and no right from the strings: ALL_USERS is still refused */
        panp_register r = pc_reg_args(pc_server(), t->type, PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
        pc_register_err(c, &r, PANP_ERR_ACCESS_DENIED, "PANP-AUTH-9", "register.user_filter");
    }
}

/* ---- tcp ----------------------------------------------------------------- */

static void expect_unauthenticated(pc_t *t, const pc_identity *who, int auth, const char *token, size_t token_len,
                                   const char *req, const char *field, char *message_out, size_t cap)
{
    pc_conn *c = pc_dial_as(t, who, "client", 0);
    raw_hello h = rh_valid(c);
    h.auth = auth;
    h.token = token;
    h.token_len = token_len;
    rh_send(c, &h);
    const panp_frame *f = pc_response(c, h.rid, req);
    pc_check_error(c, f, PANP_ERR_UNAUTHENTICATED, true, req, field);
    if (message_out) snprintf(message_out, cap, "%s", f->body.error.message);
    pc_expect_close_after_fatal(c, f, req);
}

static void run_tcp_external_refused(pc_t *t)
{
    expect_unauthenticated(t, pc_who(t, PC_ROLE_PLAIN, 0), PANP_AUTH_EXTERNAL, NULL, 0, "PANP-TRANS-8", "hello.auth",
                           NULL, 0);
}

static void run_tcp_wrong_token(pc_t *t)
{
    expect_unauthenticated(t, pc_who(t, PC_ROLE_PLAIN, 0), PANP_AUTH_TOKEN, "not-a-configured-token-7f3a", 0,
                           "PANP-AUTH-3", "hello.token", NULL, 0);
}

static void run_tcp_empty_token(pc_t *t)
{
    expect_unauthenticated(t, pc_who(t, PC_ROLE_PLAIN, 0), PANP_AUTH_TOKEN, NULL, 0, "PANP-AUTH-3", "hello.token",
                           NULL, 0);
}

static void run_tcp_same_message(pc_t *t)
{
    const pc_identity *id = pc_who(t, PC_ROLE_PLAIN, 0);
    const char *valid = id->token;
    size_t n = strlen(valid);
    char *changed = pc_strdup(t, valid);
    changed[n - 1] = changed[n - 1] == 'x' ? 'y' : 'x';
    const char *bad[] = {"", "wrong", changed, pc_sprintf(t, "%.*s", (int)(n > 1 ? n - 1 : n), valid),
                         pc_sprintf(t, "%sx", valid), filler(t, 512, 'k')};
    char first[600] = "", msg[600];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_unauthenticated(t, id, PANP_AUTH_TOKEN, bad[i][0] ? bad[i] : NULL, 0, "PANP-AUTH-3", NULL, msg, sizeof(msg));
        if (i == 0) snprintf(first, sizeof(first), "%s", msg);
        else if (strcmp(first, msg))
            pc_fail(t, "PANP-AUTH-4", pc_sprintf(t, "the same Error.message \"%s\" for every rejected token", first),
                    "token #%zu got \"%s\"", i, msg);
    }
}

static bool loopback_host(const char *host)
{
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* The broker's tcp listener: the address under test, or the profile's
 * tcp_address; NULL when neither is tcp. */
static const pc_addr *tcp_listener(pc_t *t)
{
    if (is_tcp(t)) return &t->opt->broker;
    const char *text = t->opt->profile->tcp_address;
    if (!text) return NULL;
    pc_addr *a = pc_alloc(t, sizeof(*a));
    char err[256];
    if (!pc_addr_parse(a, text, err, sizeof(err)) || a->kind != PC_ADDR_TCP) pc_error(t, "tcp_address: %s", err);
    return a;
}

/* Plain tcp off the loopback only with an explicit "insecure" setting. */
static void skip_if_insecure_allowed(pc_t *t)
{
    if (pc_profile_has_feature(t->opt->profile, "insecure-plaintext-tokens"))
        pc_skip(t, "not applicable: the profile claims insecure-plaintext-tokens (the broker is configured to take "
                   "tokens in clear text off the loopback)");
}

static void run_tcp_loopback_only(pc_t *t)
{
    skip_if_insecure_allowed(t);
    const pc_addr *b = tcp_listener(t);
    if (!b) pc_skip(t, "not applicable: the broker is not reached over tcp and the profile gives no tcp_address");
    if (!loopback_host(b->host)) pc_skip(t, "not applicable: the broker was configured on a non-loopback address");
    char host[64];
    if (!pc_other_local_address(host, sizeof(host))) pc_skip(t, "not applicable: this host has no non-loopback IPv4 address");
    pc_addr other;
    char err[256];
    char text[128];
    snprintf(text, sizeof(text), "tcp:%s:%s", host, b->port);
    if (!pc_addr_parse(&other, text, err, sizeof(err))) pc_error(t, "%s", err);
    pc_dial_opts o = {0};
    pc_note(t, "connecting to %s, the broker's port on a non-loopback address", text);
    int fd = pc_dial(&other, &o, err, sizeof(err));
    if (fd >= 0) {
        close(fd);
        pc_fail(t, "PANP-SEC-11", pc_sprintf(t, "no listener on %s (loopback only unless configured)", text),
                "the connection was accepted");
    }
}

/* A TOKEN Hello from a non-loopback source address: connect from one of
 * this host's other addresses to the loopback listener (Linux routes it
 * over lo with that source), or to the listener on that address when the
 * broker listens there. */
static void run_tcp_remote_token(pc_t *t)
{
    skip_if_insecure_allowed(t);
    const pc_addr *b = tcp_listener(t);
    if (!b) pc_skip(t, "not applicable: the broker is not reached over tcp and the profile gives no tcp_address");
    char host[64];
    if (!pc_other_local_address(host, sizeof(host))) pc_skip(t, "not applicable: this host has no non-loopback IPv4 address");
    const pc_identity *id = pc_who(t, PC_ROLE_PLAIN, 0);
    if (!id->token) pc_error(t, "identity %s has no token", id->name);
    char err[300], err2[300];
    pc_dial_opts o = {.bind_host = host};
    pc_conn *c = pc_try_dial_at(t, b, id, "remote", &o, err, sizeof(err));
    if (!c) {
        pc_addr there;
        char text[128];
        snprintf(text, sizeof(text), "tcp:%s:%s", host, b->port);
        pc_dial_opts direct = {0};
        if (pc_addr_parse(&there, text, err2, sizeof(err2))) c = pc_try_dial_at(t, &there, id, "remote", &direct, err2, sizeof(err2));
        if (!c)
            pc_skip(t, "not applicable: the broker's tcp port cannot be reached from a non-loopback address of this host "
                       "(%s; %s)", err, err2);
    }
    raw_hello h = rh_valid(c);
    h.auth = PANP_AUTH_TOKEN;
    h.token = id->token;
    rh_send(c, &h);
    pc_expect_fatal(c, h.rid, PANP_ERR_UNAUTHENTICATED, "PANP-SEC-9", NULL);
}

static void run_tcp_available(pc_t *t)
{
    if (is_tcp(t)) {
        pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "client");
        return;
    }
    const char *addr = t->opt->profile->tcp_address;
    if (!addr) pc_skip(t, "not applicable: the profile gives no tcp_address for this broker");
    pc_options alt = *t->opt;
    char err[256];
    if (!pc_addr_parse(&alt.broker, addr, err, sizeof(err))) pc_error(t, "tcp_address: %s", err);
    const pc_options *saved = t->opt;
    t->opt = &alt;
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "tcp-client");
    pc_barrier(c, "PANP-TRANS-2");
    t->opt = saved;
}

/* ---- unix ------------------------------------------------------------------- */

static void run_unix_token_refused(pc_t *t)
{
    expect_unauthenticated(t, pc_who(t, PC_ROLE_PLAIN, 0), PANP_AUTH_TOKEN, "some-token", 0, "PANP-TRANS-7",
                           "hello.auth", NULL, 0);
}

static void run_unix_peer_credentials(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    for (size_t i = 0; i < p->n_ids; i++) {
        if (!p->ids[i].has_uid) continue;
        pc_conn *c = pc_connect(t, &p->ids[i], p->ids[i].name);
        struct passwd *pw = getpwuid(p->ids[i].uid);
        const char *user = c->welcome->body.welcome.identity.user;
        if (!pw || strcmp(pw->pw_name, user))
            pc_fail(t, "PANP-AUTH-2", pc_sprintf(t, "uid %" PRIu32 " named \"%s\" as the user database says", p->ids[i].uid,
                                                 pw ? pw->pw_name : "?"),
                    "\"%s\"", user);
        pc_close(c);
    }
}

static void run_unix_unknown_uid(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    if (!p->has_unknown_uid) pc_skip(t, "not applicable: the profile gives no unknown_uid");
    if (getpwuid(p->unknown_uid)) pc_error(t, "unknown_uid %" PRIu32 " has a name on this host", p->unknown_uid);
    pc_identity nobody = {.name = "unknown-uid", .has_uid = true, .uid = p->unknown_uid, .gid = p->unknown_uid};
    expect_unauthenticated(t, &nobody, PANP_AUTH_EXTERNAL, NULL, 0, "PANP-AUTH-2", "hello.auth", NULL, 0);
}

static const pc_case_def CASES[] = {
    CASE("auth.identity.reported", "PANP-AUTH-1 PANP-AUTH-6 PANP-AUTH-8 PANP-TRANS-6",
         "every profile identity gets a Welcome naming its user and exactly its configured rights", run_identity_reported),
    CASE("auth.identity.admin-printers-bounded", "PANP-AUTH-7 PANP-WIRE-17",
         "admin_printers holds at most 64 names, fits a 4096-byte frame, and is marked truncated exactly when shortened",
         run_admin_printers_bounded),
    CASE("auth.identity.ignores-client-strings", "PANP-AUTH-9 PANP-VER-5",
         "Hello.software and session_label change neither identity, rights nor limits", run_identity_ignores_client_strings),
    CASE_FEAT("auth.tcp.external-refused", "PANP-TRANS-8",
              "EXTERNAL on tcp: UNAUTHENTICATED hello.auth, fatal", FEAT_TCP, run_tcp_external_refused),
    CASE_FEAT("auth.tcp.wrong-token", "PANP-AUTH-3", "an unknown token: UNAUTHENTICATED hello.token, fatal", FEAT_TCP,
              run_tcp_wrong_token),
    CASE_FEAT("auth.tcp.empty-token", "PANP-AUTH-3", "TOKEN with no token: UNAUTHENTICATED hello.token, fatal", FEAT_TCP,
              run_tcp_empty_token),
    CASE_FEAT("auth.tcp.same-message-for-bad-tokens", "PANP-AUTH-4 PANP-AUTH-3",
              "empty, wrong, near-miss, prefix, extended and 512-byte tokens all get the same Error.message", FEAT_TCP,
              run_tcp_same_message),
    CASE("transport.tcp.loopback-only", "PANP-TRANS-9 PANP-SEC-11",
         "the broker's tcp port (the broker address or the profile's tcp_address) does not answer on a non-loopback "
         "address of this host (unless the profile claims insecure-plaintext-tokens)",
         run_tcp_loopback_only),
    CASE("transport.tcp.remote-token-refused", "PANP-SEC-9",
         "a valid TOKEN Hello over plain tcp from a non-loopback source address of this host: UNAUTHENTICATED, fatal "
         "(unless the profile claims insecure-plaintext-tokens)",
         run_tcp_remote_token),
    CASE("transport.tcp.available", "PANP-TRANS-2",
         "the broker serves the tcp binding (at the broker address, or the profile's tcp_address)", run_tcp_available),
    CASE_FEAT("auth.unix.token-refused", "PANP-TRANS-7", "TOKEN on a unix socket: UNAUTHENTICATED hello.auth, fatal",
              FEAT_UNIX, run_unix_token_refused),
    CASE_FEAT("auth.unix.peer-credentials", "PANP-TRANS-6 PANP-AUTH-2 PANP-AUTH-1",
              "each uid is named by the system user database, whatever the client sends", FEAT_UNIX,
              run_unix_peer_credentials),
    CASE_FEAT("auth.unix.uid-without-name", "PANP-AUTH-2",
              "a uid with no user name: UNAUTHENTICATED, fatal", FEAT_UNIX, run_unix_unknown_uid),
};

PC_TABLE(pc_cases_auth, CASES);
