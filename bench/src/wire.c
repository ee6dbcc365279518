/* wire.c - TCP_INFO byte counters (linux/tcp.h's struct tcp_info, which
 * has tcpi_bytes_received and tcpi_bytes_acked; glibc's copy does not). */
#include "wire.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

static int info(int fd, struct tcp_info *ti)
{
    socklen_t len = sizeof *ti;
    memset(ti, 0, sizeof *ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) != 0) return -1;
    return len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti->tcpi_bytes_received ? 0 : -1;
}

int64_t tcp_bytes_received(int fd)
{
    struct tcp_info ti;
    return info(fd, &ti) == 0 ? (int64_t)ti.tcpi_bytes_received : -1;
}

int64_t tcp_bytes_sent(int fd)
{
    struct tcp_info ti;
    return info(fd, &ti) == 0 ? (int64_t)ti.tcpi_bytes_acked : -1;
}

void sock_small_rcvbuf(int fd)
{
    int sz = 4096;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}
