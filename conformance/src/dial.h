/* dial.h - reaching a broker: parsing addresses, connecting as a given
 * Unix uid, and listening (for the client-side mode).
 *
 * A Unix-socket broker learns who is calling from the peer credentials the
 * kernel captured at connect(2).  To connect as another uid, the suite
 * forks a short-lived child that drops to that uid, connects, and hands the
 * connected descriptor back over a socketpair (SCM_RIGHTS); the parent then
 * owns a socket the broker sees as that uid. */
#ifndef PC_DIAL_H
#define PC_DIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PC_ADDR_UNIX = 1, PC_ADDR_TCP = 2, PC_ADDR_TLS = 3 /* tls.c */ } pc_addr_kind;

typedef struct pc_addr {
    pc_addr_kind kind;
    char path[108];  /* unix */
    char host[256];  /* tcp */
    char port[16];
    char text[400];  /* as given */
} pc_addr;

bool pc_addr_parse(pc_addr *a, const char *text, char *err, size_t errlen);

struct pc_tls_info;

typedef struct pc_dial_opts {
    bool as_uid;        /* unix only: connect as uid/gid */
    uint32_t uid, gid;
    int rcvbuf;         /* >0: SO_RCVBUF before connect (slow-consumer tests) */
    const char *bind_host; /* tcp:, tls: the local (source) address to bind first; NULL: any */
    /* tls: only (tls.c): trust anchors, client certificate and key, the
     * name to verify instead of HOST */
    const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
    /* tls: probes of the broker's TLS rules (tls.c).  tls_alpn NULL offers
     * panp/1, "" offers no ALPN, else a comma-separated protocol list;
     * versions are OpenSSL's (TLS1_2_VERSION...), 0: TLS 1.3 and up. */
    const char *tls_alpn;
    int tls_min_version, tls_max_version;
    struct pc_tls_info *tls_info; /* filled in when non-NULL */
} pc_dial_opts;

/* Returns a connected, non-blocking socket, or -1 with a reason. */
int pc_dial(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen);

/* A listening socket for --as-broker (tls: listens on TCP: the caller runs
 * pc_tls_accept() on each connection); -1 with a reason. */
int pc_listen(const pc_addr *a, char *err, size_t errlen);

/* Aborts a connection with a TCP reset where the transport has one
 * (SO_LINGER 0); on a Unix socket this is an ordinary close. */
void pc_abort_fd(int fd);

#endif
