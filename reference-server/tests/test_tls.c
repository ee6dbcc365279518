/* test_tls.c - the tls: binding, tokens where they cannot leak, and the
 * limits that keep an unauthenticated peer from exhausting panpd.
 *
 * Starts several panpd (the one built next to this test, or $PANPD, behind
 * $PANPD_WRAPPER such as valgrind) on generated configurations and the test
 * PKI of `make certs` (CERTS_DIR), and talks to them three ways: libpanp
 * (what an application sees: error code and message), raw OpenSSL (what
 * libpanp would never send: no ALPN, TLS 1.2, a trickled handshake) and raw
 * sockets (slow and half-open peers from several loopback addresses).  Every
 * failure mode is checked on both sides: the client's code and message, and
 * the broker's log line.  Each case names the SPEC requirements it checks.
 *
 * Prints "tls: N passed, M failed"; a case that cannot run here (no
 * non-loopback address) is listed as SKIP and counted in neither. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "panp/adapters/poll.h"
#include "panp/client.h"

#ifndef CERTS_DIR
#error "CERTS_DIR: the directory tools/make-certs.sh fills"
#endif
#ifndef PANPD_BIN
#define PANPD_BIN "panpd"
#endif

static int passed, failed, skipped;
static bool case_failed;
static double scale = 1; /* PANP_TIME_SCALE, or 4 under valgrind */
static char dir[64];
static char me[64];

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

static void run_case(const char *name, void (*fn)(void))
{
    case_failed = false;
    fprintf(stderr, "case %s\n", name);
    fn();
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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms(int base) { return (int)(base * scale); }

/* ---- brokers */

typedef struct broker {
    const char *name;
    char cfg[256], log[256], sock[256];
    char tcp_port[8], tls_port[8];
    pid_t pid;
    size_t log_seen; /* log_has() looks after this offset when asked */
} broker;

static broker A, B, C, D, E;

#define CERT(f) CERTS_DIR "/" f

static int free_port(char out[8])
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    snprintf(out, 8, "%u", ntohs(sin.sin_port));
    close(fd);
    return 0;
}

static void hash_line(FILE *f, const char *user, const char *token)
{
    uint8_t h[32];
    SHA256((const uint8_t *)token, strlen(token), h);
    fprintf(f, "%s:", user);
    for (int i = 0; i < 32; i++) fprintf(f, "%02x", h[i]);
    fprintf(f, "\n");
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    size_t n;
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) s = realloc(s, cap *= 2);
    }
    fclose(f);
    if (s) s[len] = 0;
    return s;
}

/* Waits up to wait_ms for `needle` in b's log (after log_seen when fresh). */
static bool log_has_within(broker *b, const char *needle, int wait_ms, bool fresh)
{
    int64_t end = now_ms() + wait_ms;
    do {
        char *s = read_file(b->log);
        const char *from = s && fresh && strlen(s) >= b->log_seen ? s + b->log_seen : s;
        bool hit = from && strstr(from, needle);
        free(s);
        if (hit) return true;
        usleep(20000);
    } while (now_ms() < end);
    return false;
}

static bool log_has(broker *b, const char *needle)
{
    return log_has_within(b, needle, ms(3000), true);
}

/* Log lines from now on are "fresh". */
static void log_mark(broker *b)
{
    char *s = read_file(b->log);
    b->log_seen = s ? strlen(s) : 0;
    free(s);
}

static bool unix_up(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static pid_t spawn_panpd(const char *cfg, const char *log)
{
    const char *panpd = getenv("PANPD") ? getenv("PANPD") : PANPD_BIN;
    char wrapper[512] = "";
    if (getenv("PANPD_WRAPPER")) snprintf(wrapper, sizeof(wrapper), "%s", getenv("PANPD_WRAPPER"));
    char *argv[32];
    int argc = 0;
    for (char *tok = strtok(wrapper, " "); tok && argc < 24; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc++] = (char *)panpd;
    argv[argc++] = "-c";
    argv[argc++] = (char *)cfg;
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stderr)) _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Writes b's configuration (tls_section: the [tls] lines; extra: more
 * [server] lines; limits: [limits] lines) and starts it. */
static int start(broker *b, const char *name, const char *tls_section, const char *limits)
{
    b->name = name;
    snprintf(b->cfg, sizeof(b->cfg), "%s/%s.conf", dir, name);
    snprintf(b->log, sizeof(b->log), "%s/%s.log", dir, name);
    snprintf(b->sock, sizeof(b->sock), "%s/%s.sock", dir, name);
    if (free_port(b->tcp_port) != 0 || free_port(b->tls_port) != 0) return -1;
    FILE *f = fopen(b->cfg, "w");
    if (!f) return -1;
    fprintf(f,
            "[server]\nname = tls-%s\nlisten = unix:%s\nlisten = tcp:127.0.0.1:%s\nlisten = tls:127.0.0.1:%s\n"
            "users_file = users\n"
            "[tls]\n%s\n"
            "[access]\nserver_admins = %s\nsenders = alice\n"
            "[limits]\n%s\n"
            "[log]\nlevel = debug\n",
            name, b->sock, b->tcp_port, b->tls_port, tls_section, me, limits ? limits : "");
    fclose(f);
    b->pid = spawn_panpd(b->cfg, b->log);
    for (int i = 0; i < 600; i++) {
        if (unix_up(b->sock)) return 0;
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0;
            return -1;
        }
        usleep(50000);
    }
    return -1;
}

/* SIGTERM: exit status 0 wanted; nothing sanitizers or valgrind said. */
static void stop(broker *b)
{
    if (b->pid <= 0) return;
    kill(b->pid, SIGTERM);
    int st = 0;
    pid_t w = 0;
    for (int i = 0; i < 600 && (w = waitpid(b->pid, &st, WNOHANG)) == 0; i++) usleep(50000);
    check(w == b->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: exit status %d", b->name,
          w == b->pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (w != b->pid) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
    }
    b->pid = 0;
}

/* ---- libpanp */

typedef struct attempt {
    panp_error_code code;
    char message[512];
    char field[128];
    char user[256];
} attempt;

static attempt lp_try(const panp_options *o)
{
    attempt a = {0};
    panp_client *c = NULL;
    panp_status st;
    memset(&st, 0, sizeof(st));
    a.code = panp_connect(o, &c, &st);
    snprintf(a.message, sizeof(a.message), "%s", st.message);
    snprintf(a.field, sizeof(a.field), "%s", st.field);
    if (c) {
        snprintf(a.user, sizeof(a.user), "%s", panp_session(c)->user);
        panp_free(c);
    }
    fprintf(stderr, "    connect %s: %s %s%s\n", o->broker, panp_strerror(a.code), a.message,
            a.user[0] ? a.user : "");
    return a;
}

static char addr_buf[8][128];
static int addr_i;

static const char *tls_addr(const broker *b, const char *host)
{
    char *s = addr_buf[addr_i++ % 8];
    snprintf(s, 128, "tls:%s:%s", host, b->tls_port);
    return s;
}

static panp_options tls_opts(const broker *b, const char *who)
{
    static char cert[8][160], key[8][160];
    static int k;
    panp_options o = {.broker = tls_addr(b, "localhost"), .tls_ca_file = CERT("ca.pem"),
                      .connect_timeout_ms = ms(5000), .request_timeout_ms = ms(5000)};
    if (who) {
        int i = k++ % 8;
        snprintf(cert[i], sizeof(cert[i]), CERTS_DIR "/client-%s.pem", who);
        snprintf(key[i], sizeof(key[i]), CERTS_DIR "/client-%s.key", who);
        o.tls_cert_file = cert[i];
        o.tls_key_file = key[i];
    }
    return o;
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* ---- raw sockets */

/* A TCP connection to 127.0.0.1:port from source address src (NULL: any),
 * blocking.  -1 on failure. */
static int tcp_from(const char *src, const char *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &s.sin_addr);
        if (bind(fd, (struct sockaddr *)&s, sizeof(s)) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    if (connect(fd, (struct sockaddr *)&d, sizeof(d)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits up to wait_ms for the peer to close: true on EOF or reset.  Data
 * that arrives meanwhile is read and dropped. */
static bool closed_within(int fd, int wait_ms)
{
    int64_t end = now_ms() + wait_ms;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left < 0) return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0) return false;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) return true;
    }
}

static const uint8_t PREFACE[8] = {0x89, 'P', 'A', 'N', 'P', '\r', '\n', 0x1a};

/* A Hello frame (length-prefixed) into buf; its length. */
static size_t hello_bytes(uint8_t *buf, size_t cap, panp_auth auth, const char *token)
{
    panp_frame f = {.request_id = 1, .kind = PANP_BODY_HELLO};
    f.body.hello = (panp_hello){.min_version = 1, .max_version = 1, .software = "test_tls", .auth = auth};
    if (token) f.body.hello.token = (panp_bytes){(const uint8_t *)token, strlen(token)};
    size_t need = 0;
    panp_status st;
    if (panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, buf, cap, &need, &st) != PANP_OK) return 0;
    return need;
}

/* Preface + Hello over a raw socket, then the broker's preface and first
 * frame: true for a Welcome. */
static bool raw_welcome(int fd, const char *token)
{
    uint8_t out[256];
    memcpy(out, PREFACE, 8);
    size_t n = hello_bytes(out + 8, sizeof(out) - 8, PANP_AUTH_TOKEN, token);
    if (!n || send(fd, out, 8 + n, MSG_NOSIGNAL) != (ssize_t)(8 + n)) return false;
    panp_framer *fr = panp_framer_new(65536, true);
    bool welcome = false, done = false;
    int64_t end = now_ms() + ms(3000);
    while (!done && now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        uint8_t buf[4096];
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0) break;
        size_t off = 0;
        while (off < (size_t)r && !done) {
            size_t used = 0, flen = 0;
            const uint8_t *frame = NULL;
            panp_status st;
            panp_framer_result fres = panp_framer_feed(fr, buf + off, (size_t)r - off, &used, &frame, &flen, &st);
            off += used;
            if (fres == PANP_FRAMER_ERROR) done = true;
            else if (fres == PANP_FRAMER_FRAME) {
                panp_frame *f = NULL;
                panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, 65536};
                if (panp_decode(&o, frame, flen, &f, &st) == PANP_OK) welcome = f->kind == PANP_BODY_WELCOME;
                panp_frame_free(f);
                done = true;
            } else if (used == 0) {
                break;
            }
        }
    }
    panp_framer_free(fr);
    return welcome;
}

/* ---- raw TLS (what libpanp never does) */

typedef struct rawtls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    char error[256];
} rawtls;

/* A blocking handshake to b's tls: port.  alpn NULL: none offered. */
static bool raw_tls(rawtls *t, const broker *b, const char *who, const unsigned char *alpn, size_t alpn_len,
                    int max_version)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(t->ctx, CERT("ca.pem"), NULL);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (max_version) SSL_CTX_set_max_proto_version(t->ctx, max_version);
    if (who) {
        char c[160], k[160];
        snprintf(c, sizeof(c), CERTS_DIR "/client-%s.pem", who);
        snprintf(k, sizeof(k), CERTS_DIR "/client-%s.key", who);
        SSL_CTX_use_certificate_chain_file(t->ctx, c);
        SSL_CTX_use_PrivateKey_file(t->ctx, k, SSL_FILETYPE_PEM);
    }
    if (alpn) SSL_CTX_set_alpn_protos(t->ctx, alpn, (unsigned)alpn_len);
    t->fd = tcp_from(NULL, b->tls_port);
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    SSL_set_tlsext_host_name(t->ssl, "localhost");
    SSL_set1_host(t->ssl, "localhost");
    struct timeval tv = {.tv_sec = 5};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int r = SSL_connect(t->ssl);
    if (r != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(t->error, sizeof(t->error), "%s", e ? ERR_reason_error_string(e) : "handshake failed");
        ERR_clear_error();
        return false;
    }
    /* TLS 1.3 reports a refused client certificate after the handshake:
     * a Hello and the broker's answer settle it. */
    return true;
}

static void raw_tls_free(rawtls *t)
{
    if (t->ssl) SSL_free(t->ssl);
    if (t->ctx) SSL_CTX_free(t->ctx);
    if (t->fd >= 0) close(t->fd);
    ERR_clear_error();
}

/* Preface + EXTERNAL Hello inside the session; true for a Welcome. */
static bool raw_tls_welcome(rawtls *t)
{
    uint8_t out[256];
    memcpy(out, PREFACE, 8);
    size_t n = hello_bytes(out + 8, sizeof(out) - 8, PANP_AUTH_EXTERNAL, NULL);
    if (SSL_write(t->ssl, out, (int)(8 + n)) <= 0) return false;
    uint8_t buf[4096];
    size_t got = 0;
    while (got < 8 + 16) {
        int r = SSL_read(t->ssl, buf + got, (int)(sizeof(buf) - got));
        if (r <= 0) {
            unsigned long e = ERR_peek_last_error();
            snprintf(t->error, sizeof(t->error), "%s", e ? ERR_reason_error_string(e) : "closed");
            ERR_clear_error();
            return false;
        }
        got += (size_t)r;
    }
    /* preface, then a Frame whose body tag 0x12 (field 2, welcome)... a
     * Welcome is the only long answer; an Error is short and says so. */
    return memcmp(buf, PREFACE, 8) == 0 && got > 30;
}

/* ==== cases ============================================================== */

/* [PANP-TRANS-11] [PANP-TRANS-14] [PANP-TRANS-16] [PANP-AUTH-10]: EXTERNAL
 * over tls: is the user the client certificate's CN names; the broker is
 * verified by name (DNS) and by address (IP SAN). */
static void c_external_cn(void)
{
    panp_options o = tls_opts(&A, "alice");
    attempt a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "alice"), "alice by certificate: %s %s user %s",
          panp_strerror(a.code), a.message, a.user);
    o.broker = tls_addr(&A, "127.0.0.1");
    a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "alice"), "by IP address: %s %s", panp_strerror(a.code), a.message);
    check(log_has(&A, "client certificate /O=panp test/CN=alice -> user alice"), "broker log names the mapping");
}

/* [PANP-AUTH-10] [PANP-AUTH-11]: a subjectAltName through the identity
 * map; a verified certificate the map does not know gets no identity. */
static void c_external_san_map(void)
{
    panp_options o = tls_opts(&B, "bob");
    attempt a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "robert"), "bob@panp.test -> robert: %s %s user %s",
          panp_strerror(a.code), a.message, a.user);
    log_mark(&B);
    o = tls_opts(&B, "mallory");
    a = lp_try(&o);
    check(a.code == PANP_ERR_UNAUTHENTICATED && !strcmp(a.field, "hello.auth") &&
              contains(a.message, "no verified client certificate maps to a user"),
          "mallory: UNAUTHENTICATED hello.auth, got %s %s", panp_strerror(a.code), a.message);
    check(log_has(&B, "SAN email \"mallory@panp.test\" is not in the identity map"), "broker log says why");
}

/* [PANP-AUTH-10]: san-email without a map: the address is the user. */
static void c_external_san_email(void)
{
    panp_options o = tls_opts(&C, "carol");
    attempt a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "carol@panp.test"), "carol@panp.test: %s %s user %s",
          panp_strerror(a.code), a.message, a.user);
}

/* [PANP-TRANS-19] [PANP-AUTH-11] [PANP-AUTH-3]: TOKEN inside TLS, without a client certificate where
 * the configuration does not require one; EXTERNAL then has no identity. */
static void c_token_over_tls(void)
{
    panp_options o = tls_opts(&C, NULL);
    o.token = "dave-token";
    attempt a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "dave"), "TOKEN over tls: %s %s user %s", panp_strerror(a.code),
          a.message, a.user);
    o.token = "wrong-token";
    a = lp_try(&o);
    check(a.code == PANP_ERR_UNAUTHENTICATED && !strcmp(a.field, "hello.token"), "a wrong token: %s %s",
          panp_strerror(a.code), a.message);
    o.token = NULL;
    a = lp_try(&o);
    check(a.code == PANP_ERR_UNAUTHENTICATED && !strcmp(a.field, "hello.auth") &&
              contains(a.message, "no verified client certificate"),
          "EXTERNAL without a certificate: %s %s", panp_strerror(a.code), a.message);
}

/* [PANP-TRANS-19]: a tls listener that offers EXTERNAL only refuses TOKEN
 * with UNAUTHENTICATED hello.auth. */
static void c_token_not_offered(void)
{
    panp_options o = tls_opts(&A, "alice");
    o.token = "dave-token";
    attempt a = lp_try(&o);
    check(a.code == PANP_ERR_UNAUTHENTICATED && !strcmp(a.field, "hello.auth") &&
              contains(a.message, "offers EXTERNAL only"),
          "TOKEN where only EXTERNAL is offered: %s %s", panp_strerror(a.code), a.message);
}

/* [PANP-TRANS-18]: no client certificate where one is required. */
static void c_missing_cert(void)
{
    log_mark(&A);
    panp_options o = tls_opts(&A, NULL);
    attempt a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "certificate required") &&
              contains(a.message, "tls_cert_file"),
          "client: PANP_ERR_TLS naming the missing certificate, got %s %s", panp_strerror(a.code), a.message);
    check(log_has(&A, "the client sent no certificate"), "broker log: no certificate");
}

/* [PANP-TRANS-18]: an expired client certificate. */
static void c_expired_cert(void)
{
    log_mark(&A);
    panp_options o = tls_opts(&A, "expired");
    attempt a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "certificate expired") &&
              contains(a.message, "refused our client certificate"),
          "client: PANP_ERR_TLS certificate expired, got %s %s", panp_strerror(a.code), a.message);
    check(log_has(&A, "client certificate rejected: certificate has expired"), "broker log: expired");
}

/* [PANP-TRANS-18]: a client certificate from another CA, and one that is
 * not a client certificate (serverAuth only). */
static void c_other_ca_cert(void)
{
    log_mark(&A);
    panp_options o = tls_opts(&A, "other-ca");
    attempt a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "unknown ca"), "client: unknown ca, got %s %s",
          panp_strerror(a.code), a.message);
    check(log_has(&A, "client certificate rejected: unable to get local issuer certificate"),
          "broker log: unknown issuer");
    log_mark(&A);
    o = tls_opts(&A, "server-only");
    a = lp_try(&o);
    check(a.code == PANP_ERR_TLS, "serverAuth-only certificate: %s %s", panp_strerror(a.code), a.message);
    check(log_has(&A, "unsuitable certificate purpose"), "broker log: purpose");
}

/* [PANP-TRANS-14] [PANP-TRANS-15]: the client refuses a broker whose certificate is for
 * another name, or from a CA it does not trust, and accepts the name it
 * was told to expect. */
static void c_server_identity(void)
{
    panp_options o = tls_opts(&A, "alice");
    o.tls_server_name = "wrong.example";
    attempt a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "not for \"wrong.example\""),
          "override name not in the certificate: %s %s", panp_strerror(a.code), a.message);
    o = tls_opts(&D, "alice");
    a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "not for \"localhost\"") &&
              contains(a.message, "tls_server_name"),
          "a broker certificate for wrong.example: %s %s", panp_strerror(a.code), a.message);
    o.tls_server_name = "wrong.example";
    a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "alice"), "with tls_server_name = wrong.example: %s %s",
          panp_strerror(a.code), a.message);
    check(log_has_within(&D, "the client refused the handshake", ms(3000), false),
          "broker D logs the client's refusal");
    o = tls_opts(&E, "alice");
    a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "not trusted") &&
              contains(a.message, "unable to get local issuer certificate"),
          "a broker certificate from another CA: %s %s", panp_strerror(a.code), a.message);
}

/* [PANP-TRANS-11] [PANP-TRANS-20] [PANP-PREF-4]: a plain tcp: client on a tls: port fails
 * clearly, the broker keeps serving; a tls: client on a plain port too. */
static void c_plaintext_on_tls_port(void)
{
    log_mark(&A);
    int fd = tcp_from(NULL, A.tls_port);
    uint8_t out[256];
    memcpy(out, PREFACE, 8);
    size_t n = hello_bytes(out + 8, sizeof(out) - 8, PANP_AUTH_TOKEN, "dave-token");
    check(fd >= 0 && send(fd, out, 8 + n, MSG_NOSIGNAL) > 0, "raw plaintext connect");
    uint8_t in[512];
    ssize_t got = fd >= 0 ? recv(fd, in, sizeof(in), 0) : -1;
    check(got > 8 && memcmp(in, PREFACE, 8) == 0, "a plaintext panp client hears the preface and an Error");
    check(fd >= 0 && closed_within(fd, ms(3000)), "the broker closes a plaintext peer on its tls: port");
    if (fd >= 0) close(fd);
    check(log_has(&A, "a plain tcp: panp client on tls listener"), "broker log: plaintext panp client");
    /* something that is neither panp nor TLS */
    fd = tcp_from(NULL, A.tls_port);
    check(fd >= 0 && send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, MSG_NOSIGNAL) > 0, "raw http connect");
    check(fd >= 0 && closed_within(fd, ms(3000)), "the broker closes an HTTP client on its tls: port");
    if (fd >= 0) close(fd);
    check(log_has(&A, "not a TLS client"), "broker log: not a TLS client");

    char addr[64];
    snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%s", A.tls_port);
    panp_options o = {.broker = addr, .token = "dave-token", .connect_timeout_ms = ms(5000)};
    attempt a = lp_try(&o);
    check(a.code != PANP_OK && contains(a.message, "tls:"), "libpanp tcp: on a tls: port: %s %s",
          panp_strerror(a.code), a.message);

    snprintf(addr, sizeof(addr), "tls:127.0.0.1:%s", A.tcp_port);
    o = (panp_options){.broker = addr, .tls_ca_file = CERT("ca.pem"), .connect_timeout_ms = ms(5000)};
    a = lp_try(&o);
    check(a.code == PANP_ERR_TLS && contains(a.message, "plain tcp: listener"), "libpanp tls: on a tcp: port: %s %s",
          panp_strerror(a.code), a.message);

    o = tls_opts(&A, "alice");
    a = lp_try(&o);
    check(a.code == PANP_OK, "still served after all that: %s %s", panp_strerror(a.code), a.message);
}

/* [PANP-TRANS-12] [PANP-TRANS-13]: TLS 1.3 unless configured down to 1.2. */
static void c_versions(void)
{
    log_mark(&A);
    rawtls t;
    bool ok = raw_tls(&t, &A, "alice", (const unsigned char *)"\x06panp/1", 7, TLS1_2_VERSION);
    check(!ok, "TLS 1.2 refused by a default broker (%s)", t.error);
    raw_tls_free(&t);
    check(log_has(&A, "offers no TLS version this broker accepts"), "broker log: version");
    ok = raw_tls(&t, &C, "carol", (const unsigned char *)"\x06panp/1", 7, TLS1_2_VERSION);
    check(ok && !strcmp(SSL_get_version(t.ssl), "TLSv1.2"), "TLS 1.2 where min_version = 1.2: %s %s", t.error,
          ok ? SSL_get_version(t.ssl) : "");
    check(ok && raw_tls_welcome(&t), "Welcome over TLS 1.2 (%s)", t.error);
    raw_tls_free(&t);
    panp_options o = tls_opts(&C, "carol");
    o.tls_min_version = 0x0303;
    attempt a = lp_try(&o);
    check(a.code == PANP_OK, "libpanp allowing 1.2 still gets 1.3: %s", a.message);
}

/* [PANP-TRANS-17]: ALPN panp/1; a client offering only another protocol
 * is refused, one offering none is served. */
static void c_alpn(void)
{
    log_mark(&A);
    rawtls t;
    bool ok = raw_tls(&t, &A, "alice", (const unsigned char *)"\x02h2", 3, 0);
    check(!ok || !raw_tls_welcome(&t), "ALPN h2 only refused (%s)", t.error);
    raw_tls_free(&t);
    check(log_has(&A, "ALPN list lacks \"panp/1\""), "broker log: ALPN");
    ok = raw_tls(&t, &A, "alice", NULL, 0, 0);
    check(ok && raw_tls_welcome(&t), "no ALPN: served (%s)", t.error);
    raw_tls_free(&t);
}

/* The event-loop API over tls: (poll adapter): the handshake runs from the
 * loop's readiness callbacks; a refused certificate ends in CONN_DEAD with
 * PANP_ERR_TLS. */
typedef struct async_state {
    int ups, deads, synced;
    panp_error_code why;
    char message[512];
} async_state;

static void on_conn_async(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    async_state *s = data;
    (void)c;
    if (ev == PANP_CONN_UP) s->ups++;
    if (ev == PANP_CONN_DEAD) {
        s->deads++;
        s->why = why ? why->code : PANP_OK;
        snprintf(s->message, sizeof(s->message), "%s", why ? why->message : "");
    }
}

static void on_sync_async(panp_client *c, const panp_result *r, void *data)
{
    (void)c;
    (void)r;
    ((async_state *)data)->synced++;
}

static void c_async_api(void)
{
    for (int round = 0; round < 2; round++) {
        async_state s = {0};
        panp_options o = tls_opts(&A, round == 0 ? "alice" : "expired");
        o.on_connection = on_conn_async;
        o.data = &s;
        panp_client *c = NULL;
        panp_status st;
        panp_poll_adapter pa;
        check(panp_async_connect(&o, &c, &st) == PANP_OK, "async connect: %s", st.message);
        if (!c) continue;
        check(panp_poll_adapter_attach(&pa, c, &st) == PANP_OK, "attach: %s", st.message);
        if (round == 0) check(panp_async_sync(c, on_sync_async, &s, &st) == PANP_OK, "async sync: %s", st.message);
        int64_t end = now_ms() + ms(5000);
        while (now_ms() < end && !(round == 0 ? s.synced : s.deads)) panp_poll_adapter_run_once(&pa, 100);
        if (round == 0) {
            check(s.ups == 1 && s.synced == 1 && !strcmp(panp_session(c) ? panp_session(c)->user : "", "alice"),
                  "async over tls: up %d, synced %d", s.ups, s.synced);
        } else {
            fprintf(stderr, "    async expired: %s %s\n", panp_strerror(s.why), s.message);
            check(s.deads == 1 && s.why == PANP_ERR_TLS && contains(s.message, "certificate expired"),
                  "async with an expired certificate: dead %d, %s %s", s.deads, panp_strerror(s.why), s.message);
        }
        panp_free(c);
    }
}

/* [PANP-SEC-11]: panpd will not listen on a non-loopback plain tcp:
 * address unless told insecure_plaintext_tokens, and says why. */
static void c_refuses_plaintext_listen(void)
{
    char cfg[256], log[256], port[8];
    snprintf(cfg, sizeof(cfg), "%s/plain.conf", dir);
    snprintf(log, sizeof(log), "%s/plain.log", dir);
    free_port(port);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "[server]\nlisten = tcp:0.0.0.0:%s\nusers_file = users\n[log]\nlevel = info\n", port);
    fclose(f);
    pid_t pid = spawn_panpd(cfg, log);
    int st = 0;
    waitpid(pid, &st, 0);
    char *text = read_file(log);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1, got %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    check(text && contains(text, "is not a loopback address") && contains(text, "insecure_plaintext_tokens"),
          "the reason on stderr: %s", text ? text : "");
    free(text);

    f = fopen(cfg, "w");
    fprintf(f, "[server]\nlisten = tcp:0.0.0.0:%s\nlisten = unix:%s/plain.sock\nusers_file = users\n"
               "insecure_plaintext_tokens = true\n[log]\nlevel = info\n",
            port, dir);
    fclose(f);
    broker p = {.name = "plain"};
    snprintf(p.log, sizeof(p.log), "%s", log);
    snprintf(p.sock, sizeof(p.sock), "%s/plain.sock", dir);
    p.pid = spawn_panpd(cfg, log);
    bool up = false;
    for (int i = 0; i < 400 && !up; i++) {
        up = unix_up(p.sock);
        if (!up) usleep(50000);
    }
    check(up, "starts with insecure_plaintext_tokens = true");
    check(log_has_within(&p, "tokens cross the network in clear text", ms(2000), false), "and warns");
    stop(&p);
}

/* A local IPv4 address that is not loopback, or false. */
static bool other_address(char *out, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    bool found = false;
    if (getifaddrs(&ifs) != 0) return false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if ((ntohl(a.s_addr) >> 24) == 127) continue;
        found = inet_ntop(AF_INET, &a, out, (socklen_t)cap) != NULL;
    }
    freeifaddrs(ifs);
    return found;
}

/* [PANP-SEC-10]: libpanp sends no token over plain tcp off the loopback;
 * tls: and loopback addresses are fine. */
static void c_client_token_guard(void)
{
    panp_options o = {.broker = "tcp:192.0.2.1:6310", .token = "dave-token", .connect_timeout_ms = ms(2000)};
    attempt a = lp_try(&o);
    check(a.code == PANP_ERR_INVALID_ARGUMENT && contains(a.message, "refusing to send a token in clear text") &&
              contains(a.message, "192.0.2.1"),
          "token to 192.0.2.1 over tcp: %s %s", panp_strerror(a.code), a.message);
    char addr[64];
    snprintf(addr, sizeof(addr), "tcp:localhost:%s", A.tcp_port);
    o.broker = addr;
    a = lp_try(&o);
    check(a.code == PANP_OK && !strcmp(a.user, "dave"), "tcp:localhost is loopback: %s %s",
          panp_strerror(a.code), a.message);
    char host[48];
    if (other_address(host, sizeof(host))) {
        snprintf(addr, sizeof(addr), "tcp:%s:%s", host, A.tcp_port);
        o.broker = addr;
        a = lp_try(&o);
        check(a.code == PANP_ERR_INVALID_ARGUMENT, "token to %s refused: %s", host, a.message);
        o.insecure_plaintext_token = true;
        a = lp_try(&o);
        check(a.code == PANP_ERR_CONNECT, "with insecure_plaintext_token the connect is tried (%s refuses): %s %s",
              host, panp_strerror(a.code), a.message);
    } else {
        skip("token guard for a local non-loopback address", "this host has no non-loopback IPv4 address");
    }
}

/* ---- limits (broker A: hello 2500 ms, TLS handshake 1000 ms, pending 12
 * in total and 4 per peer, connections 24 in total and 8 per peer) */

/* [PANP-CONN-5]: a peer trickling its preface, then one
 * trickling its Hello, one byte a second, is closed at the Hello deadline. */
static void c_slow_peer(void)
{
    for (int round = 0; round < 2; round++) {
        log_mark(&A);
        int fd = tcp_from(NULL, A.tcp_port);
        int64_t t0 = now_ms();
        uint8_t out[256];
        memcpy(out, PREFACE, 8);
        size_t n = 8 + hello_bytes(out + 8, sizeof(out) - 8, PANP_AUTH_TOKEN, "dave-token");
        size_t i = 0;
        if (round == 1) {
            send(fd, out, 8, MSG_NOSIGNAL);
            i = 8;
        }
        bool closed = false;
        while (!closed && i < n && now_ms() - t0 < ms(6000)) {
            send(fd, out + i++, 1, MSG_NOSIGNAL);
            closed = closed_within(fd, 1000);
        }
        int64_t took = now_ms() - t0;
        check(closed && took >= 2400 && took < ms(2500) + 1200, "%s: closed after %lld ms (deadline 2500 ms)",
              round ? "slow Hello" : "slow preface", (long long)took);
        check(log_has(&A, "no Hello within 2500 ms"), "broker log: Hello deadline");
        close(fd);
    }
}

/* [PANP-SEC-13] [PANP-CONN-5]: a TLS handshake trickled a byte at a time is cut at
 * tls_handshake_timeout_ms; a finished handshake without a Hello at the
 * Hello deadline. */
static void c_tls_deadlines(void)
{
    log_mark(&A);
    int fd = tcp_from(NULL, A.tls_port);
    int64_t t0 = now_ms();
    /* a TLS record header announcing a ClientHello that never completes */
    const uint8_t rec[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    bool closed = false;
    for (size_t i = 0; !closed && now_ms() - t0 < ms(5000); i++) {
        if (i < sizeof(rec)) send(fd, rec + i, 1, MSG_NOSIGNAL);
        closed = closed_within(fd, 300);
    }
    int64_t took = now_ms() - t0;
    check(closed && took >= 900 && took < ms(1000) + 1200, "trickled handshake closed after %lld ms (limit 1000)",
          (long long)took);
    check(log_has(&A, "not finished within 1000 ms"), "broker log: handshake deadline");
    close(fd);

    rawtls t;
    t0 = now_ms();
    bool ok = raw_tls(&t, &A, "alice", (const unsigned char *)"\x06panp/1", 7, 0);
    check(ok, "handshake (%s)", t.error);
    char buf[64];
    int r = ok ? SSL_read(t.ssl, buf, sizeof(buf)) : 0;
    took = now_ms() - t0;
    check(ok && r <= 0 && took >= 2400 && took < ms(2500) + 1500,
          "silent after the handshake: closed after %lld ms (Hello deadline 2500)", (long long)took);
    raw_tls_free(&t);
}

/* Opens n half-open connections (nothing sent) from src to port. */
static void half_open(int *fds, int n, const char *src, const char *port)
{
    for (int i = 0; i < n; i++) fds[i] = tcp_from(src, port);
}

/* After a moment for the broker to decide: how many of fds it kept open
 * (the ones it closed are closed here too). */
static int kept_open(int *fds, int n)
{
    /* well before tls_handshake_timeout_ms (1000) ends the tls: ones */
    usleep((useconds_t)(ms(300) < 700 ? ms(300) : 700) * 1000);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) continue;
        if (closed_within(fds[i], 0)) {
            close(fds[i]);
            fds[i] = -1;
        } else {
            k++;
        }
    }
    return k;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]), fds[i] = -1;
}

/* [PANP-SEC-8]: a flood of half-open connections from one address stops
 * at max_pending_per_peer, from many at max_pending_connections; an
 * authenticated client keeps being served and a new one from elsewhere
 * still gets in, while the flood lasts and after. */
static void c_half_open_flood(void)
{
    panp_options o = tls_opts(&A, "alice");
    panp_client *c = NULL;
    panp_status st;
    check(panp_connect(&o, &c, &st) == PANP_OK, "authenticated client: %s", st.message);
    log_mark(&A);
    int fds[64];
    for (int i = 0; i < 64; i++) fds[i] = -1;
    /* one address */
    half_open(fds, 8, "127.0.0.2", A.tcp_port);
    int k = kept_open(fds, 8);
    check(k == 4, "from one address %d of 8 half-open connections kept, want 4 (max_pending_per_peer)", k);
    check(log_has(&A, "too many unfinished handshakes"), "broker log: pending refused");
    check(c && panp_sync(c, &st) == PANP_OK, "the authenticated client is served: %s", st.message);
    panp_options o2 = tls_opts(&A, "bob");
    attempt a = lp_try(&o2);
    check(a.code == PANP_OK, "a new client from 127.0.0.1 gets in: %s", a.message);
    close_all(fds, 64);
    usleep((useconds_t)ms(200) * 1000);
    /* several addresses, tls: ones among them: the total of 12 holds */
    half_open(fds, 8, "127.0.0.3", A.tls_port);
    half_open(fds + 8, 8, "127.0.0.4", A.tcp_port);
    half_open(fds + 16, 8, "127.0.0.5", A.tcp_port);
    int kept = kept_open(fds, 24);
    check(kept == 12, "%d half-open connections kept in all, want 12 (max_pending_connections)", kept);
    check(c && panp_sync(c, &st) == PANP_OK, "still served at the cap: %s", st.message);
    int one = tcp_from("127.0.0.6", A.tcp_port);
    check(one >= 0 && closed_within(one, ms(1000)), "one more from a new address is refused at the cap");
    if (one >= 0) close(one);
    close_all(fds, 64);
    usleep((useconds_t)ms(200) * 1000);
    a = lp_try(&o2);
    check(a.code == PANP_OK, "after the flood a new client gets in: %s", a.message);
    panp_free(c);
}

/* [PANP-SEC-12]: open connections per peer (uid on unix:,
 * address on tcp:) and in total, whatever their state. */
static void c_connection_limits(void)
{
    log_mark(&A);
    char uaddr[300];
    snprintf(uaddr, sizeof(uaddr), "unix:%s", A.sock);
    panp_options o = {.broker = uaddr, .connect_timeout_ms = ms(3000), .request_timeout_ms = ms(3000)};
    panp_client *cs[40] = {0};
    int n = 0;
    attempt a = {0};
    for (int i = 0; i < 9; i++) {
        panp_status st;
        a.code = panp_connect(&o, &cs[n], &st);
        snprintf(a.message, sizeof(a.message), "%s", st.message);
        if (a.code == PANP_OK) n++;
        else break;
    }
    check(n == 8, "%d authenticated connections of one uid, want 8 (max_connections_per_peer)", n);
    check(a.code != PANP_OK, "the 9th is refused (%s)", a.message);
    check(log_has(&A, "(limits.max_connections_per_peer)"), "broker log: per peer");
    /* tcp: the same per source address, authenticated with tokens */
    int fds[40], nf = 0;
    for (int i = 0; i < 40; i++) fds[i] = -1;
    int per_addr = 0;
    for (int i = 0; i < 9; i++) {
        int fd = tcp_from("127.0.0.20", A.tcp_port);
        if (fd >= 0 && raw_welcome(fd, "dave-token")) {
            fds[nf++] = fd;
            per_addr++;
        } else if (fd >= 0) {
            close(fd);
        }
    }
    check(per_addr == 8, "%d authenticated tcp connections from one address, want 8", per_addr);
    /* total 24: 8 unix + 8 above + 8 from other addresses */
    log_mark(&A);
    int more = 0;
    for (int i = 0; i < 12 && nf < 40; i++) {
        char src[32];
        snprintf(src, sizeof(src), "127.0.0.%d", 30 + i / 3);
        int fd = tcp_from(src, A.tcp_port);
        if (fd >= 0 && raw_welcome(fd, "dave-token")) {
            fds[nf++] = fd;
            more++;
        } else if (fd >= 0) {
            close(fd);
        }
    }
    check(more == 8, "%d more until max_connections (24), want 8", more);
    check(log_has(&A, "(limits.max_connections)"), "broker log: total");
    check(panp_sync(cs[0], NULL) == PANP_OK, "existing connections are served at the limit");
    for (int i = 0; i < n; i++) panp_free(cs[i]);
    close_all(fds, nf);
    usleep(300000);
    o.broker = uaddr;
    a = lp_try(&o);
    check(a.code == PANP_OK, "below the limits again: %s", a.message);
}

/* ==== main =============================================================== */

static int write_support_files(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/users", dir);
    FILE *u = fopen(path, "w");
    if (!u) return -1;
    hash_line(u, "dave", "dave-token");
    fclose(u);
    snprintf(path, sizeof(path), "%s/idmap", dir);
    FILE *m = fopen(path, "w");
    if (!m) return -1;
    fprintf(m, "# USER:IDENTITY\nrobert:bob@panp.test\nalice:alice@panp.test\n");
    fclose(m);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *sc = getenv("PANP_TIME_SCALE");
    if (sc) scale = atof(sc);
    else if (getenv("PANPD_WRAPPER") && strstr(getenv("PANPD_WRAPPER"), "valgrind")) scale = 4;
    if (scale < 1) scale = 1;
    struct passwd *pw = getpwuid(getuid());
    snprintf(me, sizeof(me), "%s", pw ? pw->pw_name : "root");
    snprintf(dir, sizeof(dir), "/tmp/panpd-tls-XXXXXX");
    struct stat sb;
    if (stat(CERT(".stamp"), &sb) != 0) {
        fprintf(stderr, "tls: no test PKI in %s (make certs)\ntls: 0 passed, 1 failed\n", CERTS_DIR);
        return 1;
    }
    if (!mkdtemp(dir) || chmod(dir, 0755) != 0 || write_support_files() != 0) {
        printf("tls: 0 passed, 1 failed\n");
        return 1;
    }
    const char *lim = "hello_timeout_ms = 2500\ntls_handshake_timeout_ms = 1000\n"
                      "max_pending_connections = 12\nmax_pending_per_peer = 4\n"
                      "max_connections = 24\nmax_connections_per_peer = 8\n";
    int rc = 0;
    rc |= start(&A, "A", "cert = " CERT("server.pem") "\nkey = " CERT("server.key") "\nca = " CERT("ca.pem"), lim);
    rc |= start(&B, "B", "cert = " CERT("server.pem") "\nkey = " CERT("server.key") "\nca = " CERT("ca.pem")
                         "\nclient_identity = san-email\nidentity_map = idmap", NULL);
    rc |= start(&C, "C", "cert = " CERT("server.pem") "\nkey = " CERT("server.key") "\nca = " CERT("ca.pem")
                         "\nclient_identity = san-email\nauth = external token\nmin_version = 1.2", NULL);
    rc |= start(&D, "D", "cert = " CERT("server-wrong-name.pem") "\nkey = " CERT("server-wrong-name.key")
                         "\nca = " CERT("ca.pem"), NULL);
    rc |= start(&E, "E", "cert = " CERT("server-other-ca.pem") "\nkey = " CERT("server-other-ca.key")
                         "\nca = " CERT("ca.pem"), NULL);
    if (rc != 0) {
        fprintf(stderr, "tls: a panpd did not start; logs in %s\n", dir);
        printf("tls: 0 passed, 1 failed\n");
        return 1;
    }
    run_case("EXTERNAL over tls: the client certificate's CN, by name and by address", c_external_cn);
    run_case("EXTERNAL over tls: SAN email through the identity map; unmapped refused", c_external_san_map);
    run_case("EXTERNAL over tls: SAN email as the user name", c_external_san_email);
    run_case("TOKEN over tls without a client certificate", c_token_over_tls);
    run_case("TOKEN refused where the tls listener offers EXTERNAL only", c_token_not_offered);
    run_case("a required client certificate missing", c_missing_cert);
    run_case("an expired client certificate", c_expired_cert);
    run_case("a client certificate from another CA, or not for clients", c_other_ca_cert);
    run_case("the client checks the broker's name and CA", c_server_identity);
    run_case("plaintext on the tls port and TLS on the plain port", c_plaintext_on_tls_port);
    run_case("TLS versions: 1.3 by default, 1.2 when configured", c_versions);
    run_case("the event-loop API over tls:", c_async_api);
    run_case("ALPN panp/1", c_alpn);
    run_case("no plain tcp listener off the loopback without the insecure override", c_refuses_plaintext_listen);
    run_case("libpanp sends no token over plain tcp off the loopback", c_client_token_guard);
    run_case("a slow peer is closed at the Hello deadline", c_slow_peer);
    run_case("TLS handshake deadline, then the Hello deadline inside TLS", c_tls_deadlines);
    run_case("a half-open flood: the caps hold, authenticated clients are served", c_half_open_flood);
    run_case("connections per uid, per address and in total", c_connection_limits);
    case_failed = false;
    stop(&A), stop(&B), stop(&C), stop(&D), stop(&E);
    const broker *all[] = {&A, &B, &C, &D, &E};
    for (int i = 0; i < 5; i++) {
        char *s = read_file(all[i]->log);
        check(s && !contains(s, "AddressSanitizer") && !contains(s, "runtime error") && !contains(s, "== ERROR"),
              "broker %s's log is free of sanitizer reports", all[i]->name);
        free(s);
    }
    if (case_failed) failed++;
    else passed++;
    printf("%s every broker exits 0 on SIGTERM, no sanitizer report\n", case_failed ? "FAIL" : "ok  ");
    if (failed) {
        for (int i = 0; i < 5; i++) {
            fprintf(stderr, "--- %s (%s), last lines ---\n", all[i]->name, all[i]->log);
            char cmd[512];
            snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", all[i]->log);
            if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
        }
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (!failed && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    printf("tls: %d passed, %d failed%s\n", passed, failed, skipped ? " (some skipped)" : "");
    return failed ? 1 : 0;
}
