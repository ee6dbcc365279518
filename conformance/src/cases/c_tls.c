/* cases/c_tls.c - the tls binding (SPEC 4.4) and identity from client
 * certificates (SPEC 8.1): what a broker's tls listener accepts and
 * refuses, seen from the wire.
 *
 * Every case needs feature "tls": a tls: broker address claims it, and so
 * does a profile that gives the same broker's tls_address (the suite then
 * reaches the tls listener there while the other cases use the unix or
 * tcp address).  The TLS probes (other ALPN lists, TLS versions, rejected
 * certificates) go through the dial options of tls.c; a handshake the
 * broker aborts is a dial that fails after the ClientHello left. */
#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "tls.h"

#define FEAT_TLS "tls"

/* The broker's tls listener. */
static const pc_addr *tls_address(pc_t *t)
{
    if (t->opt->broker.kind == PC_ADDR_TLS) return &t->opt->broker;
    const char *text = t->opt->profile->tls_address;
    if (!text) pc_error(t, "the profile claims feature tls but gives no tls_address");
    pc_addr *a = pc_alloc(t, sizeof(*a));
    char err[256];
    if (!pc_addr_parse(a, text, err, sizeof(err)) || a->kind != PC_ADDR_TLS)
        pc_error(t, "tls_address: %s", a->kind == PC_ADDR_TLS ? err : "not a tls:HOST:PORT address");
    return a;
}

/* An identity with a client certificate, playing the role. */
static const pc_identity *cert_holder(pc_t *t, pc_role role)
{
    const pc_identity *id = pc_who(t, role, 0);
    if (!id->tls_cert) pc_error(t, "identity %s has no tls_cert (needed on a tls listener)", id->name);
    return id;
}

static pc_conn *tls_connect(pc_t *t, const pc_identity *id, const char *label)
{
    pc_dial_opts o = {0};
    pc_conn *c = pc_dial_at(t, tls_address(t), id, label, &o);
    uint64_t rid = pc_send_hello(c, NULL);
    const panp_frame *f = pc_await_hello_response(c, rid);
    if (f->kind != PANP_BODY_WELCOME)
        pc_fail(t, "PANP-CONN-5", pc_sprintf(t, "a Welcome for identity %s over tls", id ? id->name : "anon"), "%s",
                pc_frame_text(t, f));
    return c;
}

/* A probe handshake: the connection, or NULL when the handshake failed
 * (ERROR when it failed on our side, before a ClientHello left). */
static pc_conn *probe(pc_t *t, const pc_identity *id, const char *label, pc_dial_opts *o, pc_tls_info *info,
                      char *err, size_t errlen)
{
    o->tls_info = info;
    pc_conn *c = pc_try_dial_at(t, tls_address(t), id, label, o, err, errlen);
    if (!c && !info->hello_sent) pc_error(t, "the suite's own TLS library refused the probe: %s", err);
    pc_note(t, "%s: %s", label, c ? pc_sprintf(t, "handshake completed (%s, ALPN \"%s\")", info->version, info->alpn) : err);
    return c;
}

/* After a handshake the broker should have aborted (TLS 1.3 lets the
 * client finish first): a preface and a Hello; the broker must end the
 * session without a byte of panp. */
static void expect_no_session(pc_t *t, pc_conn *c, const char *req, const char *what)
{
    uint64_t rid = pc_send_hello(c, NULL);
    (void)rid;
    if (!pc_try_await_eof(c, -1))
        pc_fail(t, req, pc_sprintf(t, "the TLS session ended with an alert (%s)", what),
                "still open after the wait; %llu bytes of panp received", (unsigned long long)c->bytes_in);
    if (c->bytes_in || c->preface_got)
        pc_fail(t, req, pc_sprintf(t, "no panp session (%s)", what), "the broker answered the Hello with %llu bytes%s",
                (unsigned long long)c->bytes_in,
                c->nrx ? pc_sprintf(t, ": %s", pc_frame_text(t, c->rx[0].f)) : "");
}

/* ---- TRANS-11: panp only inside the session -------------------------------- */

static bool read_raw(int fd, sbuf *in, int timeout_ms, bool *eof)
{
    int64_t end = pc_now_us() + (int64_t)timeout_ms * 1000;
    *eof = false;
    while (pc_now_us() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((end - pc_now_us()) / 1000);
        if (poll(&p, 1, left > 0 ? left : 0) <= 0) continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            *eof = true;
            return true;
        }
        sbuf_put(in, buf, (size_t)n);
        if (in->len > 65536) return true;
    }
    return false;
}

static void run_preface_in_session(pc_t *t)
{
    const pc_identity *id = cert_holder(t, PC_ROLE_PLAIN);
    /* inside the session: the broker's first application bytes are the
     * preface (the harness checks every connection's first bytes) */
    pc_conn *c = tls_connect(t, id, "in-session");
    if (c->preface_got != PANP_PREFACE_LEN) pc_fail(t, "PANP-TRANS-11", "the preface inside the session", "none");
    pc_barrier(c, "PANP-TRANS-11");
    pc_close(c);

    /* outside it: the preface and a Hello in clear text on the tls port */
    const pc_addr *a = tls_address(t);
    char err[300];
    int fd = pc_tls_tcp_connect(a, 0, NULL, err, sizeof(err));
    if (fd < 0) pc_error(t, "cannot reach %s over tcp: %s", a->text, err);
    pbw hello = PBW_INIT, d = PBW_INIT;
    raw_hello h = {.rid = 1, .min = 1, .max = 1, .software = "panp-conformance/1", .auth = PANP_AUTH_EXTERNAL};
    rh_encode(&hello, &h);
    pbw_delimit(&d, &hello);
    sbuf out = SBUF_INIT, in = SBUF_INIT;
    sbuf_put(&out, PANP_PREFACE, PANP_PREFACE_LEN);
    sbuf_put(&out, (const char *)d.buf, d.len);
    pbw_free(&hello);
    pbw_free(&d);
    pc_note(t, "plain tcp to %s: sending the preface and an EXTERNAL Hello in clear text (%zu bytes)", a->text, out.len);
    bool sent = send(fd, out.s, out.len, MSG_NOSIGNAL) == (ssize_t)out.len;
    sbuf_free(&out);
    bool eof = false;
    read_raw(fd, &in, pc_wait_ms(t), &eof);
    close(fd);
    sbuf hex = SBUF_INIT;
    sbuf_hex(&hex, (const uint8_t *)in.s, in.len < 64 ? in.len : 64);
    const char *got = pc_sprintf(t, "%zu bytes%s%s%s", in.len, in.len ? " [" : "", sbuf_str(&hex),
                                 in.len > 64 ? "...]" : in.len ? "]" : "");
    sbuf_free(&hex);
    pc_note(t, "the broker answered %s and %s", got, eof ? "closed" : "left the connection open");
    if (!sent || in.len < PANP_PREFACE_LEN || memcmp(in.s, PANP_PREFACE, PANP_PREFACE_LEN) != 0) {
        /* not panp (a TLS alert, or nothing): nothing was said in clear */
        sbuf_free(&in);
        return;
    }
    /* [PANP-TRANS-20]: the preface and a fatal Error may tell the client
     * it chose the wrong binding; nothing else */
    panp_framer *fr = panp_framer_new(PANP_DEFAULT_MAX_FRAME, false);
    size_t off = PANP_PREFACE_LEN, nframes = 0;
    while (fr && off < in.len) {
        size_t used = 0, flen = 0;
        const uint8_t *frame = NULL;
        panp_status st;
        panp_framer_result r = panp_framer_feed(fr, (const uint8_t *)in.s + off, in.len - off, &used, &frame, &flen, &st);
        off += used;
        if (r == PANP_FRAMER_ERROR) break;
        if (r != PANP_FRAMER_FRAME) continue;
        panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, PANP_DEFAULT_MAX_FRAME};
        panp_frame *f = NULL;
        bool ok = panp_decode(&o, frame, flen, &f, &st) == PANP_ERR_UNSPECIFIED;
        bool fatal_error = ok && f->kind == PANP_BODY_ERROR && f->body.error.fatal;
        const char *text = ok ? pc_frame_text(t, f) : pc_sprintf(t, "an undecodable frame (%s)", st.message);
        panp_frame_free(f);
        if (!fatal_error || nframes++) {
            panp_framer_free(fr);
            sbuf_free(&in);
            pc_fail(t, "PANP-TRANS-11",
                    "nothing in clear text on a tls listener but, at most, the preface and one fatal Error [PANP-TRANS-20]",
                    "%s after the preface, in clear text", text);
        }
    }
    panp_framer_free(fr);
    sbuf_free(&in);
    if (!eof) pc_fail(t, R_FATAL_THEN_CLOSE, "the connection closed after the fatal Error", "still open after the wait");
}

/* ---- TRANS-12 / TRANS-13: versions --------------------------------------------- */

static void run_version_floor(pc_t *t)
{
    const pc_identity *id = cert_holder(t, PC_ROLE_PLAIN);
    char err[300];
    pc_tls_info info;
    pc_dial_opts o = {.tls_min_version = TLS1_VERSION, .tls_max_version = TLS1_1_VERSION};
    pc_conn *c = probe(t, id, "tls1.1", &o, &info, err, sizeof(err));
    if (c) pc_fail(t, "PANP-TRANS-12", "a ClientHello capped at TLS 1.1 refused", "the handshake completed at %s", info.version);
    bool allows12 = pc_profile_has_feature(t->opt->profile, "tls12");
    o = (pc_dial_opts){.tls_min_version = TLS1_2_VERSION, .tls_max_version = TLS1_2_VERSION};
    c = probe(t, id, "tls1.2", &o, &info, err, sizeof(err));
    if (c && strcmp(info.version, "TLSv1.2"))
        pc_fail(t, "PANP-TRANS-12", "TLS 1.2 or a refusal for a ClientHello capped at TLS 1.2", "%s", info.version);
    if (c && !allows12)
        pc_warn(t, "PANP-TRANS-13", "a ClientHello capped at TLS 1.2 completed the handshake, and the profile does not "
                                    "claim feature tls12 (configured to allow it)");
    if (!c && allows12) pc_error(t, "the profile claims tls12 but a TLS 1.2 handshake failed: %s", err);
    if (c) {
        /* where 1.2 is allowed, it carries panp like 1.3 */
        uint64_t rid = pc_send_hello(c, NULL);
        const panp_frame *f = pc_await_hello_response(c, rid);
        if (f->kind != PANP_BODY_WELCOME)
            pc_fail(t, "PANP-CONN-5", "a Welcome over TLS 1.2", "%s", pc_frame_text(t, f));
        pc_barrier(c, "PANP-TRANS-11");
    }
    /* and 1.3, the binding's version, is served */
    pc_conn *ok = tls_connect(t, id, "tls1.3");
    pc_barrier(ok, "PANP-TRANS-11");
}

/* ---- TRANS-17: ALPN ------------------------------------------------------------ */

static void run_alpn(pc_t *t)
{
    const pc_identity *id = cert_holder(t, PC_ROLE_PLAIN);
    static const char *const wrong[] = {"h2", "h2,http/1.1,panp/2"};
    char err[300];
    pc_tls_info info;
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        pc_dial_opts o = {.tls_alpn = wrong[i]};
        pc_conn *c = probe(t, id, pc_sprintf(t, "alpn[%s]", wrong[i]), &o, &info, err, sizeof(err));
        if (c)
            pc_fail(t, "PANP-TRANS-17", pc_sprintf(t, "the handshake aborted for ALPN \"%s\" (no panp/1)", wrong[i]),
                    "it completed (%s, ALPN selected: \"%s\")", info.version, info.alpn);
    }
    /* panp/1 offered: the broker selects it (RFC 7301), or nothing */
    pc_dial_opts o = {0};
    pc_conn *c = probe(t, id, "alpn[panp/1]", &o, &info, err, sizeof(err));
    if (!c) pc_fail(t, "PANP-TRANS-17", "a handshake offering panp/1 completed", "%s", err);
    if (info.alpn[0] && strcmp(info.alpn, "panp/1"))
        pc_fail(t, "PANP-TRANS-17", "panp/1 selected (the only protocol offered)", "\"%s\"", info.alpn);
    pc_close(c);
    /* no ALPN at all: the SPEC leaves it to the broker (noted only) */
    o = (pc_dial_opts){.tls_alpn = ""};
    c = probe(t, id, "alpn[none]", &o, &info, err, sizeof(err));
    if (c) pc_close(c);
}

/* ---- TRANS-18: certificates that fail verification ---------------------------- */

static void run_client_cert_rejected(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    if (!pc_profile_tls_offers(p, "external")) pc_skip(t, "not applicable: the tls listener does not offer EXTERNAL");
    const struct {
        const pc_cred *cred;
        const char *what;
    } bad[] = {{&p->tls_expired, "an expired certificate (tls_expired_cert)"},
               {&p->tls_untrusted, "a certificate from a CA the broker does not trust (tls_untrusted_cert)"},
               {&p->tls_wrong_purpose, "a certificate not for client authentication (tls_wrong_purpose_cert)"}};
    size_t tried = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!bad[i].cred->cert) continue;
        tried++;
        char err[300];
        pc_tls_info info;
        pc_dial_opts o = {.tls_cert = bad[i].cred->cert, .tls_key = bad[i].cred->key};
        pc_conn *c = probe(t, NULL, pc_sprintf(t, "bad-cert#%zu", i + 1), &o, &info, err, sizeof(err));
        /* TLS 1.3: the client may finish first; the broker's alert ends
         * the session before any panp */
        if (c) expect_no_session(t, c, "PANP-TRANS-18", bad[i].what);
    }
    if (!tried)
        pc_skip(t, "not applicable: the profile names no certificate the broker must reject (tls_expired_cert, "
                   "tls_untrusted_cert, tls_wrong_purpose_cert)");
}

/* ---- AUTH-10 / AUTH-11: identity from the certificate ------------------------- */

/* EXTERNAL without a client certificate: refused in the handshake, by an
 * alert before any panp, or UNAUTHENTICATED hello.auth; never a Welcome. */
static void no_certificate(pc_t *t, const char *req)
{
    char err[300];
    pc_tls_info info;
    pc_dial_opts o = {0};
    pc_conn *c = probe(t, NULL, "no-cert", &o, &info, err, sizeof(err));
    if (!c) return;
    pc_hello_opts ho = {.auth = PANP_AUTH_EXTERNAL};
    uint64_t rid = pc_send_hello(c, &ho);
    const panp_frame *f = pc_try_await(c, pc_m_rid, &rid, -1);
    if (!f) {
        if (c->eof && !c->bytes_in) {
            pc_note(t, "no certificate: the session ended with an alert (a certificate is required)");
            return;
        }
        pc_fail(t, req, "UNAUTHENTICATED hello.auth for EXTERNAL without a certificate",
                "%s", c->eof ? "the connection closed without it" : "no answer to the Hello");
    }
    pc_check_error(c, f, PANP_ERR_UNAUTHENTICATED, true, req, "hello.auth");
    pc_expect_close_after_fatal(c, f, req);
}

static void run_identity_from_certificate(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    if (!pc_profile_tls_offers(p, "external")) pc_skip(t, "not applicable: the tls listener does not offer EXTERNAL");
    size_t n = 0;
    for (size_t i = 0; i < p->n_ids; i++) {
        const pc_identity *id = &p->ids[i];
        if (!id->tls_cert) continue;
        n++;
        pc_conn *c = tls_connect(t, id, id->name);
        const char *user = c->welcome->body.welcome.identity.user;
        if (strcmp(user, id->user))
            pc_fail(t, "PANP-AUTH-10", pc_sprintf(t, "the user \"%s\" that %s's certificate names", id->user, id->name),
                    "\"%s\"", user);
        pc_check_identity(t, id, c);
        pc_close(c);
    }
    if (!n) pc_error(t, "no identity of the profile has a tls_cert");
    no_certificate(t, "PANP-AUTH-10");
}

static void run_no_identity(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    if (!pc_profile_tls_offers(p, "external")) pc_skip(t, "not applicable: the tls listener does not offer EXTERNAL");
    if (p->tls_unmapped.cert) {
        char err[300];
        pc_tls_info info;
        pc_dial_opts o = {.tls_cert = p->tls_unmapped.cert, .tls_key = p->tls_unmapped.key};
        pc_conn *c = probe(t, NULL, "unmapped", &o, &info, err, sizeof(err));
        if (!c)
            pc_fail(t, "PANP-AUTH-11",
                    "the handshake completed for a valid certificate (tls_unmapped_cert), and the Hello refused", "%s", err);
        pc_hello_opts ho = {.auth = PANP_AUTH_EXTERNAL};
        uint64_t rid = pc_send_hello(c, &ho);
        const panp_frame *f = pc_response(c, rid, "PANP-AUTH-11");
        if (f->kind == PANP_BODY_WELCOME)
            pc_fail(t, "PANP-AUTH-10", "no identity from a certificate that maps to no user", "%s", pc_frame_text(t, f));
        pc_check_error(c, f, PANP_ERR_UNAUTHENTICATED, true, "PANP-AUTH-11", "hello.auth");
        pc_expect_close_after_fatal(c, f, "PANP-AUTH-11");
    } else {
        pc_note(t, "the profile names no tls_unmapped_cert: only the case without a certificate is tried");
    }
    no_certificate(t, "PANP-AUTH-11");
}

/* ---- TRANS-19: a mechanism the listener does not offer ------------------------- */

static void run_mechanism_not_offered(pc_t *t)
{
    const pc_profile *p = t->opt->profile;
    bool ext = pc_profile_tls_offers(p, "external"), tok = pc_profile_tls_offers(p, "token");
    if (ext && tok) pc_skip(t, "not applicable: the tls listener offers both EXTERNAL and TOKEN (tls_auth = both)");
    const pc_identity *id = pc_who(t, PC_ROLE_PLAIN, 0);
    pc_dial_opts o = {0};
    pc_conn *c = pc_dial_at(t, tls_address(t), id->tls_cert ? id : NULL, "client", &o);
    raw_hello h = rh_valid(c);
    if (ext) { /* TOKEN, with a token the broker knows elsewhere */
        h.auth = PANP_AUTH_TOKEN;
        h.token = id->token ? id->token : "some-token";
    } else {
        h.auth = PANP_AUTH_EXTERNAL;
        h.token = NULL;
    }
    pc_note(t, "the tls listener offers %s only: a Hello with %s", ext ? "EXTERNAL" : "TOKEN", ext ? "TOKEN" : "EXTERNAL");
    rh_send(c, &h);
    pc_expect_fatal(c, h.rid, PANP_ERR_UNAUTHENTICATED, "PANP-TRANS-19", "hello.auth");
}

static const pc_case_def CASES[] = {
    CASE_FEAT("transport.tls.preface-in-session", "PANP-TRANS-11 PANP-TRANS-20",
              "the broker's first application bytes in the TLS session are the preface; the preface and a Hello sent in "
              "clear text to the tls port get no Welcome (a close, or at most the preface and a fatal Error)",
              FEAT_TLS, run_preface_in_session),
    CASE_FEAT("transport.tls.version-floor", "PANP-TRANS-12 PANP-TRANS-13",
              "a ClientHello capped at TLS 1.1 is refused; one capped at 1.2 too unless the profile claims tls12 "
              "(SHOULD: WARN), and then it carries panp", FEAT_TLS, run_version_floor),
    CASE_FEAT("transport.tls.alpn", "PANP-TRANS-17",
              "a ClientHello whose ALPN list lacks panp/1 (h2; h2,http/1.1,panp/2) fails the handshake; panp/1 is the "
              "protocol selected", FEAT_TLS, run_alpn),
    CASE_FEAT("transport.tls.client-cert-rejected", "PANP-TRANS-18",
              "expired, untrusted-CA and wrong-purpose client certificates: the handshake fails, or the session ends "
              "with an alert before any panp byte", FEAT_TLS, run_client_cert_rejected),
    CASE_FEAT("auth.tls.identity-from-certificate", "PANP-AUTH-10 PANP-AUTH-6",
              "each identity's client certificate gives exactly its user and rights; the same EXTERNAL Hello without "
              "a certificate gets no Welcome", FEAT_TLS, run_identity_from_certificate),
    CASE_FEAT("auth.tls.no-identity", "PANP-AUTH-11 PANP-AUTH-10",
              "a verified certificate that maps to no user (tls_unmapped_cert), and no certificate at all: EXTERNAL "
              "gets UNAUTHENTICATED hello.auth, fatal", FEAT_TLS, run_no_identity),
    CASE_FEAT("auth.tls.mechanism-not-offered", "PANP-TRANS-19",
              "a Hello with the mechanism the tls listener does not offer (tls_auth): UNAUTHENTICATED hello.auth, fatal",
              FEAT_TLS, run_mechanism_not_offered),
};

PC_TABLE(pc_cases_tls, CASES);
