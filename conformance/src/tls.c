/* tls.c - tls: brokers behind a socketpair and a relay thread (tls.h). */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BUF 16384
#define HANDSHAKE_MS 10000

static const unsigned char ALPN_PANP[] = {6, 'p', 'a', 'n', 'p', '/', '1'};

/* Contexts by (ca, cert, key), made once: a run dials hundreds of times. */
typedef struct ctx_entry {
    char *ca, *cert, *key;
    SSL_CTX *ctx;
} ctx_entry;

/* Relay threads still running (pc_tls_quiesce waits for them). */
static atomic_int live_relays;

static ctx_entry *ctxs;
static size_t nctxs;
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(buf, len, "%s", r ? r : e ? "OpenSSL error" : "the peer closed the connection");
    ERR_clear_error();
}

static bool probing(const pc_dial_opts *o)
{
    return o->tls_alpn || o->tls_min_version || o->tls_max_version;
}

/* "panp/1,h2" -> the ALPN wire list; false if a name is empty or too long. */
static bool alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *len)
{
    *len = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > 255 || *len + 1 + n > cap) return false;
        out[(*len)++] = (unsigned char)n;
        memcpy(out + *len, p, n);
        *len += n;
        p += n;
        if (*p == ',') p++;
    }
    return true;
}

/* A context for o: cached by (ca, cert, key) for ordinary dials (a run
 * dials hundreds of times); a fresh one, freed by its last SSL, for probes. */
static SSL_CTX *context(const pc_dial_opts *o, char *err, size_t errlen)
{
    bool probe = probing(o);
    pthread_mutex_lock(&ctx_lock);
    for (size_t i = 0; !probe && i < nctxs; i++)
        if (same(ctxs[i].ca, o->tls_ca) && same(ctxs[i].cert, o->tls_cert) && same(ctxs[i].key, o->tls_key)) {
            SSL_CTX *c = ctxs[i].ctx;
            SSL_CTX_up_ref(c);
            pthread_mutex_unlock(&ctx_lock);
            return c;
        }
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    const char *what = "context";
    bool ok = c != NULL;
    if (ok) {
        int lo = o->tls_min_version ? o->tls_min_version : TLS1_3_VERSION;
        if (o->tls_max_version && o->tls_max_version < lo) lo = o->tls_max_version;
        /* Offering versions below 1.2 needs OpenSSL's security level 0. */
        if (lo < TLS1_2_VERSION) {
            SSL_CTX_set_security_level(c, 0);
            SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0");
        }
        SSL_CTX_set_min_proto_version(c, lo);
        if (o->tls_max_version) SSL_CTX_set_max_proto_version(c, o->tls_max_version);
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        what = "ALPN list";
        unsigned char alpn[512];
        size_t alen = 0;
        if (!o->tls_alpn) ok = SSL_CTX_set_alpn_protos(c, ALPN_PANP, sizeof(ALPN_PANP)) == 0;
        else if (*o->tls_alpn) ok = alpn_wire(o->tls_alpn, alpn, sizeof(alpn), &alen) &&
                                    SSL_CTX_set_alpn_protos(c, alpn, (unsigned)alen) == 0;
        if (ok) what = "tls_ca";
        ok = ok && (o->tls_ca ? SSL_CTX_load_verify_locations(c, o->tls_ca, NULL) == 1
                              : SSL_CTX_set_default_verify_paths(c) == 1);
        if (ok) what = "tls_cert";
        if (ok && o->tls_cert) ok = SSL_CTX_use_certificate_chain_file(c, o->tls_cert) == 1;
        if (ok) what = "tls_key";
        if (ok && o->tls_cert)
            ok = SSL_CTX_use_PrivateKey_file(c, o->tls_key ? o->tls_key : o->tls_cert, SSL_FILETYPE_PEM) == 1 &&
                 SSL_CTX_check_private_key(c) == 1;
    }
    if (!ok) {
        char why[160];
        ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "profile %s: %s", what, why);
        SSL_CTX_free(c);
        pthread_mutex_unlock(&ctx_lock);
        return NULL;
    }
    ctx_entry *v = probe ? NULL : realloc(ctxs, (nctxs + 1) * sizeof(*v));
    if (v) {
        ctxs = v;
        ctxs[nctxs++] = (ctx_entry){dup_or_null(o->tls_ca), dup_or_null(o->tls_cert), dup_or_null(o->tls_key), c};
        SSL_CTX_up_ref(c); /* the cache's reference */
    }
    pthread_mutex_unlock(&ctx_lock);
    return c;
}

/* A TCP connection to a's HOST:PORT, from bind_host when given. */
int pc_tls_tcp_connect(const pc_addr *a, int rcvbuf, const char *bind_host, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "resolve %s:%s: %s", a->host, a->port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        if (bind_host) {
            struct addrinfo bh = {.ai_family = ai->ai_family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST},
                            *br = NULL;
            bool bound = getaddrinfo(bind_host, NULL, &bh, &br) == 0 && bind(fd, br->ai_addr, br->ai_addrlen) == 0;
            if (br) freeaddrinfo(br);
            if (!bound) {
                snprintf(err, errlen, "bind %s for %s: %s", bind_host, a->text, strerror(errno));
                close(fd);
                fd = -1;
                continue;
            }
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        snprintf(err, errlen, "connect %s%s%s: %s", a->text, bind_host ? " from " : "", bind_host ? bind_host : "",
                 strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* The handshake on a non-blocking socket, within HANDSHAKE_MS. */
static bool handshake(SSL *ssl, int fd, const char *name, char *err, size_t errlen, const pc_addr *a,
                      pc_tls_info *info)
{
    for (int waited = 0;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
        if (info && BIO_number_written(SSL_get_wbio(ssl)) > 0) info->hello_sent = true;
        if (r == 1) return true;
        int e = SSL_get_error(ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && waited < HANDSHAKE_MS) {
            struct pollfd p = {.fd = fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
            poll(&p, 1, 100);
            waited += 100;
            continue;
        }
        long v = SSL_get_verify_result(ssl);
        char why[400];
        if (v != X509_V_OK) snprintf(why, sizeof(why), "the broker's certificate (for %s): %s", name,
                                     X509_verify_cert_error_string(v));
        else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) snprintf(why, sizeof(why), "timed out");
        else ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "TLS handshake with %s failed: %s", a->text, why);
        ERR_clear_error();
        return false;
    }
}

/* ---- the relay */

typedef struct relay {
    SSL *ssl;
    int tcp, sp;
    uint8_t up[RELAY_BUF], down[RELAY_BUF]; /* suite -> broker, broker -> suite */
    size_t up_len, up_off, down_len, down_off;
} relay;

static void *relay_main(void *arg)
{
    relay *r = arg;
    /* A write to a vanished peer fails with EPIPE in this thread only. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    bool suite_eof = false, broker_eof = false, sp_shut = false, broken = false;
    bool read_wants_write = false, write_wants_read = false;
    while (!broken) {
        /* broker -> suite */
        if (!broker_eof && r->down_off == r->down_len) {
            size_t n = 0;
            ERR_clear_error();
            int rc = SSL_read_ex(r->ssl, r->down, sizeof(r->down), &n);
            read_wants_write = false;
            if (rc == 1) {
                r->down_off = 0;
                r->down_len = n;
            } else {
                int e = SSL_get_error(r->ssl, rc);
                if (e == SSL_ERROR_WANT_WRITE) read_wants_write = true;
                else if (e == SSL_ERROR_ZERO_RETURN) broker_eof = true;
                else if (e != SSL_ERROR_WANT_READ) broker_eof = broken = true;
            }
        }
        while (r->down_off < r->down_len) {
            ssize_t w = send(r->sp, r->down + r->down_off, r->down_len - r->down_off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                r->down_off += (size_t)w;
                continue;
            }
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
            suite_eof = broken = true; /* the suite's end is gone */
            break;
        }
        if (broker_eof && r->down_off == r->down_len && !sp_shut) {
            shutdown(r->sp, SHUT_WR); /* the suite reads EOF */
            sp_shut = true;
        }
        /* suite -> broker */
        if (!suite_eof && r->up_off == r->up_len) {
            ssize_t n = recv(r->sp, r->up, sizeof(r->up), MSG_DONTWAIT);
            if (n > 0) {
                r->up_off = 0;
                r->up_len = (size_t)n;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                suite_eof = true;
            }
        }
        while (r->up_off < r->up_len && !broken) {
            size_t w = 0;
            ERR_clear_error();
            int rc = SSL_write_ex(r->ssl, r->up + r->up_off, r->up_len - r->up_off, &w);
            write_wants_read = false;
            if (rc == 1) {
                r->up_off += w;
                continue;
            }
            int e = SSL_get_error(r->ssl, rc);
            if (e == SSL_ERROR_WANT_READ) write_wants_read = true;
            else if (e != SSL_ERROR_WANT_WRITE) broken = true; /* the broker is gone */
            break;
        }
        if (suite_eof && r->up_off == r->up_len) break; /* the suite closed: so do we */
        if (broker_eof && sp_shut && suite_eof) break;
        if (broken) break;
        if (!broker_eof && r->down_off == r->down_len && SSL_has_pending(r->ssl)) continue;
        struct pollfd p[2] = {{.fd = r->sp}, {.fd = r->tcp}};
        if (!suite_eof && r->up_off == r->up_len) p[0].events |= POLLIN;
        if (r->down_off < r->down_len) p[0].events |= POLLOUT;
        if ((!broker_eof && r->down_off == r->down_len) || write_wants_read) p[1].events |= POLLIN;
        if ((r->up_off < r->up_len && !write_wants_read) || read_wants_write) p[1].events |= POLLOUT;
        if (poll(p, 2, 1000) < 0 && errno != EINTR) break;
        if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN) && r->down_off < r->down_len)
            break;
    }
    if (!broken) SSL_shutdown(r->ssl); /* close_notify: an orderly end */
    SSL_free(r->ssl);
    ERR_clear_error();
    close(r->tcp);
    close(r->sp);
    free(r);
    OPENSSL_thread_stop(); /* this thread's OpenSSL state, now rather than in a key destructor */
    atomic_fetch_sub(&live_relays, 1);
    return NULL;
}

void pc_tls_quiesce(int timeout_ms)
{
    for (int waited = 0; atomic_load(&live_relays) > 0 && waited < timeout_ms; waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Starts the relay between the TLS session on tcp and a new socketpair;
 * returns the suite's end, or -1 (ssl and tcp are then freed). */
static int start_relay(SSL *ssl, int tcp, int rcvbuf, char *err, size_t errlen)
{
    int sv[2];
    relay *r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0 ? calloc(1, sizeof(*r)) : NULL;
    if (!r) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        SSL_free(ssl);
        close(tcp);
        return -1;
    }
    /* A slow reader stays slow: the relay adds no more than the suite
     * asked the kernel to buffer. */
    if (rcvbuf > 0) {
        setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
    }
    r->ssl = ssl;
    r->tcp = tcp;
    r->sp = sv[1];
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&live_relays, 1);
    if (pthread_create(&th, &at, relay_main, r) != 0) {
        atomic_fetch_sub(&live_relays, 1);
        snprintf(err, errlen, "cannot start the TLS relay thread");
        pthread_attr_destroy(&at);
        SSL_free(ssl);
        close(tcp);
        close(sv[0]);
        close(sv[1]);
        free(r);
        return -1;
    }
    pthread_attr_destroy(&at);
    return sv[0];
}

int pc_tls_dial(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen)
{
    pc_tls_info *info = o->tls_info;
    if (info) memset(info, 0, sizeof(*info));
    SSL_CTX *ctx = context(o, err, errlen);
    if (!ctx) return -1;
    int tcp = pc_tls_tcp_connect(a, o->rcvbuf, o->bind_host, err, errlen);
    if (tcp < 0) {
        SSL_CTX_free(ctx);
        return -1;
    }
    int fl = fcntl(tcp, F_GETFL);
    SSL *ssl = fl >= 0 && fcntl(tcp, F_SETFL, fl | O_NONBLOCK) == 0 ? SSL_new(ctx) : NULL;
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    if (!ssl) {
        snprintf(err, errlen, "cannot set up TLS for %s", a->text);
        close(tcp);
        return -1;
    }
    const char *name = o->tls_server_name ? o->tls_server_name : a->host;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    SSL_set_fd(ssl, tcp);
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    } else {
        SSL_set_tlsext_host_name(ssl, name);
        SSL_set1_host(ssl, name);
    }
    if (!handshake(ssl, tcp, name, err, errlen, a, info)) {
        SSL_free(ssl);
        close(tcp);
        return -1;
    }
    if (info) {
        const unsigned char *sel = NULL;
        unsigned int sl = 0;
        info->handshake_done = true;
        snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(ssl));
        SSL_get0_alpn_selected(ssl, &sel, &sl);
        snprintf(info->alpn, sizeof(info->alpn), "%.*s", (int)sl, sel ? (const char *)sel : "");
    }
    return start_relay(ssl, tcp, o->rcvbuf, err, errlen);
}

/* ---- the suite as a tls: broker: a throwaway PKI, made once ---------------- */

static pthread_mutex_t pki_lock = PTHREAD_MUTEX_INITIALIZER;
static bool pki_done;
static char pki_error[256];
static char pki_dir[64], pki_ca_path[96];
static SSL_CTX *server_ctx[PC_BCERT_COUNT];

static void pki_cleanup(void)
{
    if (pki_ca_path[0]) unlink(pki_ca_path);
    if (pki_dir[0]) rmdir(pki_dir);
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
    bool ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate for key, signed by issuer/ikey (NULL: self-signed), valid
 * from now+from_s to now+to_s. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, bool ca, const char *san,
                       long from_s, long to_s)
{
    static uint64_t count;
    uint64_t serial = ++count;
    unsigned char rnd[7];
    if (RAND_bytes(rnd, sizeof(rnd)) == 1)
        for (size_t i = 0; i < sizeof(rnd); i++) serial |= (uint64_t)rnd[i] << (8 * (i + 1)); /* random above a counter */
    X509 *x = X509_new();
    bool ok = x && X509_set_version(x, 2) == 1;
    ok = ok && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1;
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), from_s) && X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    ok = ok && X509_set_pubkey(x, key) == 1;
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    ok = ok && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"panp-conformance", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n) == 1;
    if (ca) {
        ok = ok && add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, issuer, NID_subject_key_identifier, "hash");
    } else {
        ok = ok && add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, issuer, NID_ext_key_usage, "serverAuth") && add_ext(x, issuer, NID_subject_alt_name, san);
    }
    ok = ok && X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int on_client_hello(SSL *s, int *al, void *arg);
static int on_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen,
                   void *arg);

static SSL_CTX *server_context(X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c) return NULL;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_client_hello_cb(c, on_client_hello, NULL);
    SSL_CTX_set_alpn_select_cb(c, on_alpn, NULL);
    if (SSL_CTX_use_certificate(c, cert) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

static bool make_pki(void)
{
    const char *san = "DNS:localhost,IP:127.0.0.1,IP:::1";
    const long day = 86400;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *rogue_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, "panp-conformance test CA", NULL, NULL, true, NULL, -day, 30 * day) : NULL;
    X509 *rogue = rogue_key ? make_cert(rogue_key, "panp-conformance rogue CA", NULL, NULL, true, NULL, -day, 30 * day) : NULL;
    X509 *leaf[PC_BCERT_COUNT] = {0};
    bool ok = ca && rogue && key;
    if (ok) {
        leaf[PC_BCERT_GOOD] = make_cert(key, "localhost", ca, ca_key, false, san, -3600, 2 * day);
        leaf[PC_BCERT_WRONG_NAME] =
            make_cert(key, PC_BCERT_OTHER_NAME, ca, ca_key, false, "DNS:" PC_BCERT_OTHER_NAME, -3600, 2 * day);
        leaf[PC_BCERT_OTHER_CA] = make_cert(key, "localhost", rogue, rogue_key, false, san, -3600, 2 * day);
        leaf[PC_BCERT_EXPIRED] = make_cert(key, "localhost", ca, ca_key, false, san, -2 * day, -day);
        for (int i = 0; i < PC_BCERT_COUNT; i++) ok = ok && leaf[i] && (server_ctx[i] = server_context(leaf[i], key));
    }
    if (ok) {
        snprintf(pki_dir, sizeof(pki_dir), "/tmp/panp-conformance-pki-XXXXXX");
        if (!mkdtemp(pki_dir)) {
            pki_dir[0] = '\0';
            ok = false;
        } else {
            snprintf(pki_ca_path, sizeof(pki_ca_path), "%s/ca.pem", pki_dir);
            FILE *f = fopen(pki_ca_path, "w");
            ok = f && PEM_write_X509(f, ca) == 1;
            if (f) fclose(f);
            atexit(pki_cleanup);
        }
    }
    if (!ok) {
        char why[160];
        ssl_reason(why, sizeof(why));
        snprintf(pki_error, sizeof(pki_error), "cannot make the suite's test certificates: %s", why);
    }
    for (int i = 0; i < PC_BCERT_COUNT; i++) X509_free(leaf[i]);
    X509_free(ca);
    X509_free(rogue);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(rogue_key);
    EVP_PKEY_free(key);
    return ok;
}

const char *pc_tls_suite_ca(char *err, size_t errlen)
{
    pthread_mutex_lock(&pki_lock);
    if (!pki_done) {
        pki_done = true;
        make_pki();
    }
    pthread_mutex_unlock(&pki_lock);
    if (pki_error[0]) {
        snprintf(err, errlen, "%s", pki_error);
        return NULL;
    }
    return pki_ca_path;
}

/* ---- the server handshake ---------------------------------------------------- */

/* ALPN and SNI as the ClientHello carries them, before OpenSSL acts on them. */
static int on_client_hello(SSL *s, int *al, void *arg)
{
    (void)al;
    (void)arg;
    pc_tls_server_info *info = SSL_get_app_data(s);
    const unsigned char *p;
    size_t len;
    info->client_hello = true;
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) == 1) {
        info->alpn_offered = true;
        size_t off = 2, o = 0;
        while (len >= 2 && off < len) {
            size_t n = p[off++];
            if (off + n > len) break;
            o += (size_t)snprintf(info->alpn + o, o < sizeof(info->alpn) ? sizeof(info->alpn) - o : 0, "%s%.*s",
                                  o ? "," : "", (int)n, (const char *)p + off);
            if (o >= sizeof(info->alpn)) break;
            off += n;
        }
    }
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) == 1) {
        info->sni_sent = true;
        /* list length (2), name type (1), name length (2), name */
        if (len >= 5) {
            size_t n = (size_t)p[3] << 8 | p[4];
            if (n > len - 5) n = len - 5;
            snprintf(info->sni, sizeof(info->sni), "%.*s", (int)n, (const char *)p + 5);
        }
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* panp/1 or, as a broker must ([PANP-TRANS-17]), no handshake at all. */
static int on_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen,
                   void *arg)
{
    (void)s;
    (void)arg;
    for (unsigned int off = 0; off < inlen;) {
        unsigned int n = in[off];
        if (off + 1 + n > inlen) break;
        if (n == ALPN_PANP[0] && !memcmp(in + off + 1, ALPN_PANP + 1, n)) {
            *out = in + off + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        off += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int pc_tls_accept(int fd, pc_broker_cert cert, int timeout_ms, pc_tls_server_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof(*info));
    char why[200];
    if (!pc_tls_suite_ca(why, sizeof(why))) {
        snprintf(err, errlen, "%s", why);
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    /* The first bytes, left in the socket for OpenSSL: a TLS handshake
     * record starts 16 03. */
    int waited = 0;
    for (;;) {
        ssize_t n = recv(fd, info->first, sizeof(info->first), MSG_PEEK);
        if (n > 0) info->nfirst = (size_t)n;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || info->nfirst >= 3 || waited >= timeout_ms) break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 20);
        waited += 20;
    }
    if (info->nfirst == 0) {
        snprintf(err, errlen, "the client sent nothing");
        close(fd);
        return -1;
    }
    if (info->first[0] != 0x16 || (info->nfirst > 1 && info->first[1] != 0x03)) {
        snprintf(err, errlen, "the client's first bytes are not a TLS handshake record");
        close(fd);
        return -1;
    }
    SSL *ssl = SSL_new(server_ctx[cert]);
    if (!ssl) {
        snprintf(err, errlen, "cannot set up TLS");
        close(fd);
        return -1;
    }
    SSL_set_app_data(ssl, info);
    SSL_set_fd(ssl, fd);
    for (;;) {
        ERR_clear_error();
        int r = SSL_accept(ssl);
        if (r == 1) break;
        int e = SSL_get_error(ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && waited < timeout_ms) {
            struct pollfd p = {.fd = fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
            poll(&p, 1, 20);
            waited += 20;
            continue;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) snprintf(why, sizeof(why), "timed out");
        else ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "TLS handshake failed on the suite's side: %s", why);
        SSL_set_app_data(ssl, NULL);
        SSL_free(ssl);
        close(fd);
        return -1;
    }
    SSL_set_app_data(ssl, NULL);
    info->handshake_done = true;
    snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(ssl));
    return start_relay(ssl, fd, 0, err, errlen);
}
