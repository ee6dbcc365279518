/* dial.c - addresses, connecting (optionally as another uid), listening. */
#include "dial.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

bool pc_addr_parse(pc_addr *a, const char *text, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->text, sizeof(a->text), "%s", text);
    if (!strncmp(text, "unix:", 5)) {
        if (strlen(text + 5) == 0 || strlen(text + 5) >= sizeof(a->path)) {
            snprintf(err, errlen, "bad unix socket path in '%s'", text);
            return false;
        }
        a->kind = PC_ADDR_UNIX;
        snprintf(a->path, sizeof(a->path), "%s", text + 5);
        return true;
    }
    if (!strncmp(text, "tcp:", 4) || !strncmp(text, "tls:", 4)) {
        const char *hp = text + 4, *colon = strrchr(hp, ':');
        if (!colon || colon == hp || !colon[1] || (size_t)(colon - hp) >= sizeof(a->host) ||
            strlen(colon + 1) >= sizeof(a->port)) {
            snprintf(err, errlen, "expected tcp:HOST:PORT, got '%s'", text);
            return false;
        }
        a->kind = text[1] == 'l' ? PC_ADDR_TLS : PC_ADDR_TCP;
        /* [::1]:port: strip the brackets */
        if (hp[0] == '[' && colon[-1] == ']') snprintf(a->host, sizeof(a->host), "%.*s", (int)(colon - hp - 2), hp + 1);
        else snprintf(a->host, sizeof(a->host), "%.*s", (int)(colon - hp), hp);
        snprintf(a->port, sizeof(a->port), "%s", colon + 1);
        return true;
    }
    snprintf(err, errlen, "address must be unix:PATH, tcp:HOST:PORT or tls:HOST:PORT, got '%s'", text);
    return false;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int connect_unix(const char *path, int rcvbuf, char *err, size_t errlen)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "connect unix:%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Child side of the uid hand-off: drop to uid/gid, connect, pass the fd. */
static void child_connect(int chan, const pc_addr *a, const pc_dial_opts *o) __attribute__((noreturn));
static void child_connect(int chan, const pc_addr *a, const pc_dial_opts *o)
{
    char err[256] = "";
    int fd = -1;
    if (setgroups(0, NULL) != 0 || setresgid(o->gid, o->gid, o->gid) != 0 ||
        setresuid(o->uid, o->uid, o->uid) != 0)
        snprintf(err, sizeof(err), "cannot switch to uid %u gid %u: %s", o->uid, o->gid, strerror(errno));
    else
        fd = connect_unix(a->path, o->rcvbuf, err, sizeof(err));
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {.iov_base = err, .iov_len = strlen(err) + 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    _exit(sendmsg(chan, &mh, 0) < 0 ? 1 : 0);
}

static int recv_fd(int chan, char *err, size_t errlen)
{
    char msg[256] = "";
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg) - 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n;
    do n = recvmsg(chan, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        snprintf(err, errlen, "uid helper died without answering");
        return -1;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
            return fd;
        }
    }
    snprintf(err, errlen, "%s", msg[0] ? msg : "uid helper sent no descriptor");
    return -1;
}

static int connect_as(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        child_connect(sv[1], a, o);
    }
    close(sv[1]);
    int fd = recv_fd(sv[0], err, errlen);
    close(sv[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return fd;
}

int pc_dial(const pc_addr *a, const pc_dial_opts *o, char *err, size_t errlen)
{
    int fd;
    if (a->kind == PC_ADDR_TLS) {
        fd = pc_tls_dial(a, o, err, errlen);
    } else if (a->kind == PC_ADDR_TCP) {
        /* TCP_NODELAY: frames split at every byte leave as separate segments */
        fd = pc_tls_tcp_connect(a, o->rcvbuf, o->bind_host, err, errlen);
    } else if (o->as_uid && o->uid != geteuid()) {
        if (geteuid() != 0) {
            snprintf(err, errlen, "connecting as uid %u needs root (running as uid %u)", o->uid, geteuid());
            return -1;
        }
        fd = connect_as(a, o, err, errlen);
    } else {
        fd = connect_unix(a->path, o->rcvbuf, err, errlen);
    }
    if (fd >= 0 && set_nonblock(fd) < 0) {
        snprintf(err, errlen, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int pc_listen(const pc_addr *a, char *err, size_t errlen)
{
    int fd;
    /* tls: is a TCP listener; the TLS handshake runs on each accepted
     * connection (pc_tls_accept). */
    if (a->kind == PC_ADDR_UNIX) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->path);
        unlink(a->path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
            snprintf(err, errlen, "listen %s: %s", a->text, strerror(errno));
            if (fd >= 0) close(fd);
            return -1;
        }
        return fd;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    int rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "resolve %s: %s", a->text, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "listen %s: %s", a->text, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

void pc_abort_fd(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}
