/* tls.c - server TLS contexts and client-certificate identities (tls.h). */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tls_server {
    SSL_CTX *ctx;
    const panpd_tls_settings *t;
};

/* ALPN protocol id of panp v1 (SPEC TRANS-16, TRANS-17), wire form. */
static const unsigned char ALPN_PANP[] = {6, 'p', 'a', 'n', 'p', '/', '1'};

static int note_index = -1;

static void openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r) snprintf(buf, len, "%s", r);
    else if (e) ERR_error_string_n(e, buf, len);
    else snprintf(buf, len, "unknown error");
    ERR_clear_error();
}

/* Keeps the first failure of the chain for the log; the verdict itself is
 * OpenSSL's (a failure aborts the handshake). */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    if (ok) return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_verify_note *note = ssl && note_index >= 0 ? SSL_get_ex_data(ssl, note_index) : NULL;
    if (note && note->error == X509_V_OK) {
        note->error = X509_STORE_CTX_get_error(store);
        note->depth = X509_STORE_CTX_get_error_depth(store);
        X509 *cert = X509_STORE_CTX_get_current_cert(store);
        note->subject[0] = 0;
        if (cert) X509_NAME_oneline(X509_get_subject_name(cert), note->subject, sizeof(note->subject));
    }
    return ok;
}

/* Offers only panp/1; a client that offers ALPN without it is refused with
 * no_application_protocol (SPEC TRANS-17).  A client that offers no ALPN is
 * accepted. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen) break;
        if (n == ALPN_PANP[0] && memcmp(in + i + 1, ALPN_PANP + 1, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static tls_server *fail(tls_server *s, char *err, size_t errlen, const char *what, const char *file)
{
    char why[256];
    openssl_reason(why, sizeof(why));
    snprintf(err, errlen, "tls.%s %s: %s", what, file ? file : "", why);
    tls_server_free(s);
    return NULL;
}

tls_server *tls_server_new(const panpd_tls_settings *t, char *err, size_t errlen)
{
    if (note_index < 0) note_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    tls_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->t = t;
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (!s->ctx) return fail(s, err, errlen, "context", NULL);
    /* TLS 1.3 unless configured down to 1.2; never below (SPEC TRANS-12). */
    SSL_CTX_set_min_proto_version(s->ctx, t->min_version);
    SSL_CTX_set_options(s->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION |
                                    SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Every connection proves its certificate afresh: no resumption. */
    SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(s->ctx, 0);
    /* TLS 1.2, when allowed at all: forward secrecy and AEAD only. */
    if (t->min_version < TLS1_3_VERSION &&
        SSL_CTX_set_cipher_list(s->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL") != 1)
        return fail(s, err, errlen, "min_version", "1.2");
    SSL_CTX_set_mode(s->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_CTX_set_alpn_select_cb(s->ctx, alpn_cb, NULL);
    if (SSL_CTX_use_certificate_chain_file(s->ctx, t->cert) != 1)
        return fail(s, err, errlen, "cert", t->cert);
    if (SSL_CTX_use_PrivateKey_file(s->ctx, t->key, SSL_FILETYPE_PEM) != 1)
        return fail(s, err, errlen, "key", t->key);
    if (SSL_CTX_check_private_key(s->ctx) != 1) return fail(s, err, errlen, "key", t->key);
    if (t->client_cert != TLS_CLIENT_CERT_NONE) {
        if (SSL_CTX_load_verify_locations(s->ctx, t->ca, NULL) != 1)
            return fail(s, err, errlen, "ca", t->ca);
        /* Name the acceptable issuers, so a client with several
         * certificates picks one of ours. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca);
        if (!names) return fail(s, err, errlen, "ca", t->ca);
        SSL_CTX_set_client_CA_list(s->ctx, names);
        if (t->crl) {
            X509_STORE *store = SSL_CTX_get_cert_store(s->ctx);
            X509_LOOKUP *lu = X509_STORE_add_lookup(store, X509_LOOKUP_file());
            if (!lu || X509_load_crl_file(lu, t->crl, X509_FILETYPE_PEM) <= 0)
                return fail(s, err, errlen, "crl", t->crl);
            X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        }
        int mode = SSL_VERIFY_PEER | (t->client_cert == TLS_CLIENT_CERT_REQUIRED ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
        SSL_CTX_set_verify(s->ctx, mode, verify_cb);
        SSL_CTX_set_verify_depth(s->ctx, 8);
        /* A client certificate must be one (extendedKeyUsage clientAuth
         * when the extension is present). */
        SSL_CTX_set_purpose(s->ctx, X509_PURPOSE_SSL_CLIENT);
    } else {
        SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, NULL);
    }
    return s;
}

void tls_server_free(tls_server *s)
{
    if (!s) return;
    SSL_CTX_free(s->ctx);
    free(s);
}

SSL *tls_server_ssl(tls_server *s, int fd, tls_verify_note *note)
{
    SSL *ssl = SSL_new(s->ctx);
    if (!ssl) return NULL;
    note->error = X509_V_OK;
    note->depth = 0;
    note->subject[0] = 0;
    if (SSL_set_fd(ssl, fd) != 1 || SSL_set_ex_data(ssl, note_index, note) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

/* ---- identities */

static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || i + k > n || (k == 2 && c < 0xC2) || (k == 4 && c > 0xF4)) return false;
        if (k == 1 && (c < 0x20 || c == 0x7F)) return false; /* no control characters in a name */
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return false;
        if (k == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0))) return false;
        if (k == 4 && ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))) return false;
        i += k;
    }
    return true;
}

/* A certificate string usable as an identity: UTF-8 without control
 * characters (and so without NUL), 1 to 255 bytes. */
static bool take_string(const unsigned char *p, int n, char *out, size_t outlen)
{
    if (n <= 0 || (size_t)n >= outlen || n > 255 || !utf8_ok(p, (size_t)n)) return false;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return true;
}

static bool subject_cn(X509 *x, char *out, size_t outlen, char *why, size_t whylen)
{
    X509_NAME *nm = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (idx < 0) {
        snprintf(why, whylen, "the client certificate has no subject CN");
        return false;
    }
    if (X509_NAME_get_index_by_NID(nm, NID_commonName, idx) >= 0) {
        snprintf(why, whylen, "the client certificate's subject has several CNs");
        return false;
    }
    unsigned char *u8 = NULL;
    int n = ASN1_STRING_to_UTF8(&u8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, idx)));
    bool ok = n > 0 && take_string(u8, n, out, outlen);
    OPENSSL_free(u8);
    if (!ok) snprintf(why, whylen, "the client certificate's CN is empty, too long or not a printable UTF-8 name");
    return ok;
}

/* The user the configured subjectAltName type names.  Several names of
 * that type must agree on one user (after the map), or nobody is named. */
static bool san_user(const tls_server *s, X509 *x, int type, char *user, size_t ulen, char *why, size_t whylen)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    const char *what = config_tls_identity_name(s->t->client_identity);
    char found[256] = "", first[256] = "";
    bool ambiguous = false, seen = false;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != type) continue;
        const ASN1_IA5STRING *ia5 = g->d.ia5;
        char id[256];
        if (!take_string(ASN1_STRING_get0_data(ia5), ASN1_STRING_length(ia5), id, sizeof(id))) continue;
        if (!seen) snprintf(first, sizeof(first), "%s", id);
        seen = true;
        const char *u = config_tls_user(s->t, id);
        if (!u) continue;
        if (found[0] && strcmp(found, u) != 0) ambiguous = true;
        snprintf(found, sizeof(found), "%s", u);
    }
    GENERAL_NAMES_free(gens);
    if (ambiguous) {
        snprintf(why, whylen, "the client certificate's %ss name different users", what);
        return false;
    }
    if (!found[0]) {
        if (!seen) snprintf(why, whylen, "the client certificate has no usable %s", what);
        else snprintf(why, whylen, "%s \"%s\" is not in the identity map", what, first);
        return false;
    }
    snprintf(user, ulen, "%s", found);
    return true;
}

bool tls_peer_user(const tls_server *s, SSL *ssl, char *user, size_t ulen, char *why, size_t whylen,
                   char *desc, size_t desclen)
{
    user[0] = 0;
    desc[0] = 0;
    X509 *x = SSL_get0_peer_certificate(ssl);
    if (!x) {
        snprintf(why, whylen, "no client certificate");
        return false;
    }
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
    snprintf(desc, desclen, "client certificate %s", subject);
    if (SSL_get_verify_result(ssl) != X509_V_OK) { /* cannot happen: a failure ends the handshake */
        snprintf(why, whylen, "the client certificate was not verified");
        return false;
    }
    const panpd_tls_settings *t = s->t;
    if (t->client_identity == TLS_ID_CN) {
        char cn[256];
        if (!subject_cn(x, cn, sizeof(cn), why, whylen)) return false;
        const char *u = config_tls_user(t, cn);
        if (!u) {
            snprintf(why, whylen, "subject CN \"%s\" is not in the identity map", cn);
            return false;
        }
        snprintf(user, ulen, "%s", u);
        return true;
    }
    int type = t->client_identity == TLS_ID_SAN_EMAIL ? GEN_EMAIL
               : t->client_identity == TLS_ID_SAN_URI ? GEN_URI
                                                      : GEN_DNS;
    return san_user(s, x, type, user, ulen, why, whylen);
}

/* ---- explaining */

void tls_describe_session(SSL *ssl, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", SSL_get_version(ssl), SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
}

void tls_explain_failure(SSL *ssl, int ret, int saved_errno, const tls_verify_note *note, char *buf,
                         size_t len)
{
    int e = SSL_get_error(ssl, ret);
    unsigned long code = ERR_peek_last_error();
    int lib = ERR_GET_LIB(code), reason = ERR_GET_REASON(code);
    char why[200];
    openssl_reason(why, sizeof(why));
    if (note && note->error != X509_V_OK) {
        snprintf(buf, len, "client certificate rejected: %s (depth %d, %s)",
                 X509_verify_cert_error_string(note->error), note->depth,
                 note->subject[0] ? note->subject : "no subject");
    } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN || code == 0) {
        if (saved_errno)
            snprintf(buf, len, "connection lost during the TLS handshake: %s", strerror(saved_errno));
        else
            snprintf(buf, len, "the client closed the connection during the TLS handshake "
                               "(it may have refused our certificate)");
    } else if (lib == ERR_LIB_SSL &&
               (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
                reason == SSL_R_HTTPS_PROXY_REQUEST || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
                reason == SSL_R_UNKNOWN_PROTOCOL)) {
        snprintf(buf, len, "not a TLS client (%s): a plain tcp: client on a tls: listener?", why);
    } else if (lib == ERR_LIB_SSL && reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        snprintf(buf, len, "the client sent no certificate, and [tls] client_cert = required");
    } else if (lib == ERR_LIB_SSL && reason == SSL_R_NO_APPLICATION_PROTOCOL) {
        snprintf(buf, len, "the client's ALPN list lacks \"panp/1\"");
    } else if (lib == ERR_LIB_SSL && (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_VERSION_TOO_LOW)) {
        snprintf(buf, len, "the client offers no TLS version this broker accepts (%s; [tls] min_version)", why);
    } else if (strstr(why, "alert")) {
        /* The client ended it: most often it does not accept our
         * certificate (untrusted, or not for the name it dialled). */
        snprintf(buf, len, "the client refused the handshake (%s): does it trust our certificate, for the name "
                           "it connects to?", why);
    } else {
        snprintf(buf, len, "TLS handshake failed: %s", why);
    }
}
