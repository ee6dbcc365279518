/* tls.c - tls: brokers behind a socketpair and a relay thread (tls.h). */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BUF 16384
#define HANDSHAKE_MS 10000

static const unsigned char ALPN_PANP[] = {6, 'p', 'a', 'n', 'p', '/', '1'};

/* Contexts by (ca, cert, key), made once: a run dials hundreds of times. */
typedef struct ctx_entry {
    char *ca, *cert, *key;
    SSL_CTX *ctx;
} ctx_entry;

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

static SSL_CTX *context(const pc_dial_opts *o, char *err, size_t errlen)
{
    pthread_mutex_lock(&ctx_lock);
    for (size_t i = 0; i < nctxs; i++)
        if (same(ctxs[i].ca, o->tls_ca) && same(ctxs[i].cert, o->tls_cert) && same(ctxs[i].key, o->tls_key)) {
            SSL_CTX *c = ctxs[i].ctx;
            pthread_mutex_unlock(&ctx_lock);
            return c;
        }
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    const char *what = "context";
    bool ok = c != NULL;
    if (ok) {
        SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        ok = SSL_CTX_set_alpn_protos(c, ALPN_PANP, sizeof(ALPN_PANP)) == 0;
        what = "tls_ca";
        ok = ok && (o->tls_ca ? SSL_CTX_load_verify_locations(c, o->tls_ca, NULL) == 1
                              : SSL_CTX_set_default_verify_paths(c) == 1);
        what = "tls_cert";
        if (ok && o->tls_cert) ok = SSL_CTX_use_certificate_chain_file(c, o->tls_cert) == 1;
        what = "tls_key";
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
    ctx_entry *v = realloc(ctxs, (nctxs + 1) * sizeof(*v));
    if (v) {
        ctxs = v;
        ctxs[nctxs++] = (ctx_entry){dup_or_null(o->tls_ca), dup_or_null(o->tls_cert), dup_or_null(o->tls_key), c};
    }
    pthread_mutex_unlock(&ctx_lock);
    return c;
}

static int tcp_connect(const pc_addr *a, int rcvbuf, char *err, size_t errlen)
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
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        snprintf(err, errlen, "connect %s: %s", a->text, strerror(errno));
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
static bool handshake(SSL *ssl, int fd, const char *name, char *err, size_t errlen, const pc_addr *a)
{
    for (int waited = 0;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
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
    return NULL;
}

int pc_tls_dial(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = context(o, err, errlen);
    if (!ctx) return -1;
    int tcp = tcp_connect(a, o->rcvbuf, err, errlen);
    if (tcp < 0) return -1;
    int fl = fcntl(tcp, F_GETFL);
    SSL *ssl = fl >= 0 && fcntl(tcp, F_SETFL, fl | O_NONBLOCK) == 0 ? SSL_new(ctx) : NULL;
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
    if (!handshake(ssl, tcp, name, err, errlen, a)) {
        SSL_free(ssl);
        close(tcp);
        return -1;
    }
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
    if (o->rcvbuf > 0) {
        setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &o->rcvbuf, sizeof(o->rcvbuf));
    }
    r->ssl = ssl;
    r->tcp = tcp;
    r->sp = sv[1];
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, relay_main, r) != 0) {
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
