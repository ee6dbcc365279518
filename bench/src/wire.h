/* wire.h - bytes a TCP socket has carried (TCP_INFO), to report what each
 * protocol puts on the wire per message.  -1 on a Unix socket. */
#ifndef BENCH_WIRE_H
#define BENCH_WIRE_H

#include <stdint.h>

int64_t tcp_bytes_received(int fd);
int64_t tcp_bytes_sent(int fd); /* acked by the peer */
/* Shrinks the receive buffer (slow consumer: fill the broker's queue sooner). */
void sock_small_rcvbuf(int fd);

#endif
