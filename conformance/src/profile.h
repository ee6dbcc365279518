/* profile.h - what the suite is told about the broker under test.
 *
 * The profile is an INI file (see conformance/README.md, "Profile"):
 * [broker] holds the printers, limits not announced in Welcome and the
 * optional features claimed; one [identity NAME] section per test identity
 * holds its credentials (a token for tcp:, a uid for unix:) and the rights
 * the broker's configuration gives it.  Cases never name identities: they
 * ask for a role ("a plain user", "an administrator of printer P") and the
 * profile decides who plays it. */
#ifndef PC_PROFILE_H
#define PC_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_MAX_IDENTITIES 32
#define PC_MAX_PRINTERS 128
#define PC_MAX_FEATURES 32

/* A client certificate and its key (PEM files). */
typedef struct pc_cred {
    char *cert, *key;
} pc_cred;

typedef struct pc_identity {
    char *name;             /* the section name, for transcripts */
    char *user;             /* the user name the broker reports */
    char *token;            /* TOKEN credential (tcp:), or NULL */
    bool has_uid;
    uint32_t uid, gid;      /* EXTERNAL credential (unix:) */
    bool server_admin;
    char *admin_printers[PC_MAX_PRINTERS];
    size_t n_admin_printers;
    bool sender;
    bool trusted;
    char *tls_cert, *tls_key; /* tls: client certificate (EXTERNAL), or NULL */
} pc_identity;

typedef struct pc_profile {
    char *path;
    pc_identity ids[PC_MAX_IDENTITIES];
    size_t n_ids;
    char *printers[PC_MAX_PRINTERS];
    size_t n_printers;
    char *absent_printer;   /* a name the broker does not know */
    char *features[PC_MAX_FEATURES];
    size_t n_features;
    uint32_t max_registrations_per_user; /* 0: not known, not tested */
    uint32_t max_channels_per_user;
    uint32_t hello_timeout_ms;
    bool has_unknown_uid;
    uint32_t unknown_uid;   /* a uid the broker maps to no user */
    char *tcp_address;      /* where the same broker listens on tcp, if known */
    uint32_t flush_timeout_ms; /* the broker's flush deadline; 0: SPEC default 5000 */
    char *shutdown_command; /* shell command that makes the broker shut down */
    char *tls_ca;           /* tls: the broker's trust anchors (NULL: the system's) */
    char *tls_server_name;  /* tls: the name its certificate carries, if not HOST */
    char *tls_address;      /* where the same broker serves tls, when tested over unix or tcp */
    char *tls_auth;         /* what its tls listener offers: external, token or both (NULL: not said) */
    /* client certificates the broker must not accept ([PANP-TRANS-18]) or
     * that verify but name nobody ([PANP-AUTH-11]); NULL: not tested */
    pc_cred tls_expired, tls_untrusted, tls_wrong_purpose, tls_unmapped;
} pc_profile;

/* Loads path; on error returns false with a reason (file:line: ...). */
bool pc_profile_load(pc_profile *p, const char *path, char *err, size_t errlen);
void pc_profile_free(pc_profile *p);

/* Optional features: listed in [broker] features, or claimed by a key
 * (shutdown_command claims "shutdown", tls_address "tls"). */
bool pc_profile_has_feature(const pc_profile *p, const char *feature);
/* Claims features from a list (--features). */
bool pc_profile_add_features(pc_profile *p, const char *list);
/* Does the tls listener offer this mechanism ("external", "token")?
 * Unknown (no tls_auth): external only, what panpd does by default. */
bool pc_profile_tls_offers(const pc_profile *p, const char *mech);
bool pc_profile_has_printer(const pc_profile *p, const char *printer);
bool pc_identity_admin_of(const pc_identity *id, const char *printer); /* NULL: the server */
bool pc_identity_may_open(const pc_identity *id);  /* sender, trusted or any admin */
bool pc_identity_is_admin_anywhere(const pc_identity *id);

/* The roles cases ask for.  pc_profile_pick() returns the n-th identity
 * (0-based) playing the role, or NULL. */
typedef enum {
    PC_ROLE_PLAIN = 1,      /* no admin rights, may not open channels */
    PC_ROLE_SENDER,         /* may open channels; no admin, not trusted */
    PC_ROLE_TRUSTED,        /* trusted; administers nothing */
    PC_ROLE_SERVER_ADMIN,   /* administers the server (and every printer) */
    PC_ROLE_PRINTER_ADMIN,  /* administers some printer, not the server */
    PC_ROLE_NONADMIN        /* administers nothing (plain, sender or trusted) */
} pc_role;

const char *pc_role_name(pc_role role);
const pc_identity *pc_profile_pick(const pc_profile *p, pc_role role, size_t n);

#endif
