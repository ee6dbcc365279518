/* tls.c - the client side of the tls: binding (SPEC 4.4) on OpenSSL 3.
 *
 * TLS 1.3 (1.2 only when asked), ALPN "panp/1", the broker's certificate
 * verified against the configured trust anchors and the broker's name
 * (the address's HOST or tls_server_name; SNI unless it is an IP address),
 * an optional client certificate, no session resumption.  The SSL runs on
 * the same non-blocking socket io.c polls; every failure becomes a
 * PANP_ERR_TLS status saying what went wrong and, where it can, what to
 * change. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client_int.h"

static const unsigned char ALPN_PANP[] = {6, 'p', 'a', 'n', 'p', '/', '1'};

/* The reason of the last OpenSSL error, and the queue emptied. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r)
        snprintf(buf, len, "%s", r);
    else if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
    return buf;
}

static panp_error_code setup_fail(panp_status *st, panp_error_code code, const char *what,
                                  const char *file)
{
    char why[200];
    ssl_reason(why, sizeof why);
    return st_set(st, code, "%s %s: %s", what, file ? file : "", why);
}

/* ---- a socket BIO that never raises SIGPIPE ------------------------------------
 *
 * OpenSSL's own socket BIO writes with write(2): a broker that went away
 * would kill an application that did not ignore SIGPIPE.  This one sends
 * with MSG_NOSIGNAL, as the plain transport does. */

typedef struct nsbio {
    int fd;
    bool eof;
} nsbio;

static int nsbio_write(BIO *b, const char *in, int len)
{
    nsbio *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = send(d->fd, in, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)n;
}

static int nsbio_read(BIO *b, char *out, int len)
{
    nsbio *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = recv(d->fd, out, (size_t)len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    if (n == 0)
        d->eof = true;
    return (int)n;
}

static long nsbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    nsbio *d = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return d && d->eof;
    case BIO_C_GET_FD: return d ? d->fd : -1;
    default: return 0;
    }
}

static int nsbio_destroy(BIO *b)
{
    free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    return 1;
}

static BIO *nsbio_new(BIO_METHOD **meth, int fd)
{
    if (!*meth) {
        *meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "panp socket");
        if (!*meth || !BIO_meth_set_write(*meth, nsbio_write) || !BIO_meth_set_read(*meth, nsbio_read) ||
            !BIO_meth_set_ctrl(*meth, nsbio_ctrl) || !BIO_meth_set_destroy(*meth, nsbio_destroy))
            return NULL;
    }
    nsbio *d = calloc(1, sizeof *d);
    BIO *b = d ? BIO_new(*meth) : NULL;
    if (!b) {
        free(d);
        return NULL;
    }
    d->fd = fd;
    BIO_set_data(b, d);
    BIO_set_init(b, 1);
    return b;
}

/* ---- the context ------------------------------------------------------------------ */

panp_error_code tls_setup(panp_client *c, panp_status *st)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return setup_fail(st, PANP_ERR_NOMEM, "tls:", "cannot make a TLS context");
    c->tls_ctx = ctx;
    if (c->tls_min != 0 && c->tls_min != TLS1_2_VERSION && c->tls_min != TLS1_3_VERSION)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT,
                      "tls_min_version: 0 (TLS 1.3) or 0x0303 (TLS 1.2), not 0x%04x", c->tls_min);
    SSL_CTX_set_min_proto_version(ctx, c->tls_min ? c->tls_min : TLS1_3_VERSION);
    if (c->tls_min == TLS1_2_VERSION &&
        SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL") != 1)
        return setup_fail(st, PANP_ERR_TLS, "tls_min_version", "1.2");
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_alpn_protos(ctx, ALPN_PANP, sizeof ALPN_PANP) != 0)
        return setup_fail(st, PANP_ERR_NOMEM, "tls:", "ALPN");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx, 8);
    if (c->tls_ca ? SSL_CTX_load_verify_locations(ctx, c->tls_ca, NULL) != 1
                  : SSL_CTX_set_default_verify_paths(ctx) != 1)
        return setup_fail(st, PANP_ERR_INVALID_ARGUMENT, "tls_ca_file",
                          c->tls_ca ? c->tls_ca : "(the system's trust store)");
    if (c->tls_cert) {
        const char *key = c->tls_key ? c->tls_key : c->tls_cert;
        if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1)
            return setup_fail(st, PANP_ERR_INVALID_ARGUMENT, "tls_cert_file", c->tls_cert);
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1)
            return setup_fail(st, PANP_ERR_INVALID_ARGUMENT, "tls_key_file", key);
    } else if (c->tls_key) {
        return st_set(st, PANP_ERR_INVALID_ARGUMENT, "tls_key_file without tls_cert_file");
    }
    return PANP_OK;
}

/* Remembers the first failing certificate for the message; OpenSSL's
 * verdict stands. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    panp_client *c = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!ok && c && c->tls_verify_error == X509_V_OK) {
        c->tls_verify_error = X509_STORE_CTX_get_error(store);
        c->tls_verify_depth = X509_STORE_CTX_get_error_depth(store);
        X509 *x = X509_STORE_CTX_get_current_cert(store);
        c->tls_verify_subject[0] = 0;
        if (x)
            X509_NAME_oneline(X509_get_subject_name(x), c->tls_verify_subject,
                              sizeof c->tls_verify_subject);
    }
    return ok;
}

static const char *server_name(const panp_client *c)
{
    return c->tls_name ? c->tls_name : c->addr.host;
}

panp_error_code tls_start(panp_client *c, panp_status *st)
{
    SSL *ssl = SSL_new(c->tls_ctx);
    if (!ssl)
        return setup_fail(st, PANP_ERR_NOMEM, "tls:", "cannot make a TLS connection");
    c->ssl = ssl;
    c->tls_verify_error = X509_V_OK;
    c->tls_verify_subject[0] = 0;
    SSL_set_app_data(ssl, c);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_cb);
    const char *name = server_name(c);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    BIO *bio = nsbio_new(&c->tls_bio_meth, c->fd);
    bool ok = bio != NULL;
    if (ok)
        SSL_set_bio(ssl, bio, bio); /* one BIO, owned by the SSL */
    if (ok && is_ip) {
        /* An IP address is checked against iPAddress names; SNI carries
         * host names only (RFC 6066). */
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
    } else if (ok) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
    }
    if (!ok)
        return setup_fail(st, PANP_ERR_INVALID_ARGUMENT, "tls: cannot verify the broker as", name);
    SSL_set_connect_state(ssl);
    c->tls_hs_want_read = false; /* the ClientHello goes first */
    c->tls_rd_wants_w = false;
    return PANP_OK;
}

/* Why the broker's certificate failed, from what verify_cb kept. */
static panp_error_code cert_failure(panp_client *c, long res, panp_status *st)
{
    const char *name = server_name(c);
    if (res == X509_V_ERR_HOSTNAME_MISMATCH || res == X509_V_ERR_IP_ADDRESS_MISMATCH)
        return st_set(st, PANP_ERR_TLS,
                      /* the hint before the subject: a long subject truncates the message */
                      "tls:%s:%s: the broker's certificate is not for \"%s\" (%s); connect by a "
                      "name it carries or expect one (tls_server_name, panp --server-name); "
                      "its subject is %s",
                      c->addr.host, c->addr.port, name, X509_verify_cert_error_string(res),
                      c->tls_verify_subject[0] ? c->tls_verify_subject : "unknown");
    return st_set(st, PANP_ERR_TLS,
                  "tls:%s:%s: the broker's certificate is not trusted: %s (depth %d, %s)%s",
                  c->addr.host, c->addr.port, X509_verify_cert_error_string(res),
                  c->tls_verify_depth, c->tls_verify_subject[0] ? c->tls_verify_subject : "no subject",
                  c->tls_ca ? "" : "; no tls_ca_file was given, the system's trust store was used");
}

/* An alert the broker sent, or another TLS failure, as one message.  The
 * alerts about our certificate say what to fix. */
static panp_error_code tls_failure(panp_client *c, int ret, int saved_errno, bool in_handshake,
                                   panp_status *st)
{
    int e = SSL_get_error(c->ssl, ret);
    long res = SSL_get_verify_result(c->ssl);
    if (c->tls_verify_error != X509_V_OK || (in_handshake && res != X509_V_OK)) {
        ERR_clear_error();
        return cert_failure(c, c->tls_verify_error != X509_V_OK ? c->tls_verify_error : res, st);
    }
    unsigned long code = ERR_peek_last_error();
    int reason = ERR_GET_REASON(code);
    char why[200];
    ssl_reason(why, sizeof why);
    const char *where = in_handshake ? "during the TLS handshake" : "";
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN || code == 0) {
        if (saved_errno && saved_errno != EPIPE)
            return st_set(st, PANP_ERR_TLS, "tls:%s:%s: connection lost %s: %s", c->addr.host,
                          c->addr.port, where, strerror(saved_errno));
        return st_set(st, PANP_ERR_TLS,
                      "tls:%s:%s: the broker closed the connection %s (is it a plain tcp: listener? "
                      "or it refused the connection)",
                      c->addr.host, c->addr.port, where);
    }
    if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
        (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_UNKNOWN_PROTOCOL))
        return st_set(st, PANP_ERR_TLS,
                      "tls:%s:%s: the broker does not speak TLS here (%s): a plain tcp: listener?",
                      c->addr.host, c->addr.port, why);
    const char *hint = "";
    if (strstr(why, "certificate required"))
        hint = c->tls_cert ? "" : ": it requires a client certificate (tls_cert_file)";
    else if (strstr(why, "alert") && strstr(why, "certificate"))
        hint = ": it refused our client certificate";
    else if (strstr(why, "unknown ca"))
        hint = ": it does not trust our client certificate's issuer";
    else if (strstr(why, "protocol version"))
        hint = ": no TLS version in common";
    else if (strstr(why, "no application protocol"))
        hint = ": it does not speak panp/1 (ALPN)";
    return st_set(st, PANP_ERR_TLS, "tls:%s:%s: the TLS session failed%s%s: %s%s", c->addr.host,
                  c->addr.port, *where ? " " : "", where, why, hint);
}

int tls_handshake(panp_client *c, panp_status *st)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
        return 1;
    int saved = errno;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->tls_hs_want_read = e == SSL_ERROR_WANT_READ;
        return 0;
    }
    tls_failure(c, r, saved, true, st);
    return -1;
}

ssize_t tls_send(panp_client *c, const void *buf, size_t len, panp_status *st)
{
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(c->ssl, buf, len, &n);
    if (r == 1)
        return (ssize_t)n;
    int saved = errno;
    int e = SSL_get_error(c->ssl, r);
    /* A write that waits for readability is retried on the next write
     * call; reading is always armed while talking. */
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return 0;
    tls_failure(c, r, saved, false, st);
    return -1;
}

ssize_t tls_recv(panp_client *c, void *buf, size_t len, panp_status *st)
{
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    c->tls_rd_wants_w = false;
    int r = SSL_read_ex(c->ssl, buf, len, &n);
    if (r == 1)
        return (ssize_t)n;
    int saved = errno;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return -1;
    if (e == SSL_ERROR_WANT_WRITE) {
        c->tls_rd_wants_w = true;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN) /* close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
        return 0;
    tls_failure(c, r, saved, false, st);
    return -2;
}

bool tls_pending(const panp_client *c)
{
    return c->ssl && SSL_has_pending(c->ssl);
}

void tls_end(panp_client *c)
{
    if (!c->ssl)
        return;
    if (SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl); /* one try: the socket closes right after */
    SSL_free(c->ssl);
    ERR_clear_error();
    c->ssl = NULL;
}

void tls_free(panp_client *c)
{
    tls_end(c);
    SSL_CTX_free(c->tls_ctx);
    c->tls_ctx = NULL;
    BIO_meth_free(c->tls_bio_meth);
    c->tls_bio_meth = NULL;
    free(c->tls_ca);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_name);
}
