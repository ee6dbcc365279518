/* addr.c - address parsing and non-blocking connect (addr.h). */
#include "addr.h"
#include "client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static panp_error_code bad(panp_status *st, const char *spec, const char *why)
{
    return st_set(st, PANP_ERR_INVALID_ARGUMENT, "bad broker address \"%s\": %s", spec, why);
}

static panp_error_code parse_inet(const char *spec, const char *rest, addr_kind kind, paddr *a,
                                  panp_status *st)
{
    const char *colon;
    size_t hlen;
    if (rest[0] == '[') { /* [v6]:port */
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':')
            return bad(st, spec, kind == ADDR_TLS ? "want tls:[ADDR]:PORT" : "want tcp:[ADDR]:PORT");
        rest++;
        hlen = (size_t)(close - rest);
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon)
            return bad(st, spec, kind == ADDR_TLS ? "want tls:HOST:PORT" : "want tcp:HOST:PORT");
        hlen = (size_t)(colon - rest);
    }
    const char *port = colon + 1;
    if (hlen == 0 || hlen >= sizeof a->host)
        return bad(st, spec, "missing or overlong host");
    if (!*port || strlen(port) >= sizeof a->port || strspn(port, "0123456789") != strlen(port))
        return bad(st, spec, "port must be a number");
    a->kind = kind;
    memcpy(a->host, rest, hlen);
    a->host[hlen] = 0;
    strcpy(a->port, port);
    return PANP_OK;
}

panp_error_code addr_parse(const char *spec, paddr *a, panp_status *st)
{
    memset(a, 0, sizeof *a);
    if (!spec || !*spec)
        return bad(st, "", "empty");
    if (strncmp(spec, "unix:", 5) == 0) {
        size_t n = strlen(spec + 5);
        if (n == 0 || n >= sizeof a->path)
            return bad(st, spec, "socket path empty or longer than 107 bytes");
        a->kind = ADDR_UNIX;
        memcpy(a->path, spec + 5, n + 1);
        return PANP_OK;
    }
    if (strncmp(spec, "tcp:", 4) == 0)
        return parse_inet(spec, spec + 4, ADDR_TCP, a, st);
    if (strncmp(spec, "tls:", 4) == 0)
        return parse_inet(spec, spec + 4, ADDR_TLS, a, st);
    return bad(st, spec, "want unix:PATH, tcp:HOST:PORT or tls:HOST:PORT");
}

static int new_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && family != AF_UNIX) {
        /* Frames are small and answered one by one: do not let Nagle hold
         * a request back waiting for the previous response's ACK. */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static panp_error_code conn_err(panp_status *st, const paddr *a, int err)
{
    if (a->kind == ADDR_UNIX)
        return st_set(st, PANP_ERR_CONNECT, "cannot connect to unix:%s: %s", a->path,
                      strerror(err));
    return st_set(st, PANP_ERR_CONNECT, "cannot connect to %s:%s:%s: %s",
                  a->kind == ADDR_TLS ? "tls" : "tcp", a->host, a->port, strerror(err));
}

static panp_error_code connect_unix(const paddr *a, int *fd, bool *pending, panp_status *st)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
    int s = new_socket(AF_UNIX);
    if (s < 0)
        return conn_err(st, a, errno);
    if (connect(s, (struct sockaddr *)&sun, sizeof sun) == 0) {
        *fd = s;
        *pending = false;
        return PANP_OK;
    }
    int e = errno;
    if (e == EINPROGRESS || e == EAGAIN) {
        *fd = s;
        *pending = true;
        return PANP_OK;
    }
    close(s);
    return conn_err(st, a, e);
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return false;
}

static panp_error_code connect_tcp(const paddr *a, bool loopback_only, int *fd, bool *pending,
                                   panp_status *st)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0)
        return st_set(st, PANP_ERR_CONNECT, "cannot resolve %s: %s", a->host, gai_strerror(rc));
    int last = ECONNREFUSED;
    bool tried = false;
    char refused[64] = "";
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (loopback_only && !is_loopback(ai->ai_addr)) {
            if (!refused[0])
                getnameinfo(ai->ai_addr, ai->ai_addrlen, refused, sizeof refused, NULL, 0,
                            NI_NUMERICHOST);
            continue;
        }
        tried = true;
        int s = new_socket(ai->ai_family);
        if (s < 0) {
            last = errno;
            continue;
        }
        int rc2 = connect(s, ai->ai_addr, ai->ai_addrlen);
        if (rc2 == 0 || errno == EINPROGRESS) {
            *pending = rc2 != 0;
            *fd = s;
            freeaddrinfo(res);
            return PANP_OK;
        }
        last = errno;
        close(s);
    }
    freeaddrinfo(res);
    if (!tried)
        return st_set(st, PANP_ERR_INVALID_ARGUMENT,
                      "refusing to send a token in clear text to tcp:%s:%s (%s is not a loopback "
                      "address): connect over tls:, or set insecure_plaintext_token",
                      a->host, a->port, refused);
    return conn_err(st, a, last);
}

panp_error_code addr_connect(const paddr *a, bool loopback_only, int *fd, bool *pending,
                             panp_status *st)
{
    errno = 0;
    *fd = -1;
    *pending = false;
    return a->kind == ADDR_UNIX ? connect_unix(a, fd, pending, st)
                                : connect_tcp(a, loopback_only, fd, pending, st);
}

panp_error_code addr_finish(int fd, const paddr *a, panp_status *st)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    return err ? conn_err(st, a, err) : PANP_OK;
}
