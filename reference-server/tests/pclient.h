/* pclient.h - a tiny blocking panp client on the codec, for panpd's
 * integration tests.  It does exactly what it is told on the wire (raw
 * bytes, resets, silence), which a real client library rightly would not.
 * Applications use reference-client/'s libpanp instead. */
#ifndef PANPD_PCLIENT_H
#define PANPD_PCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"

typedef struct pclient {
    int fd;
    panp_framer *fr;
    uint64_t next_rid;
    bool eof;        /* the broker closed the connection */
    char err[256];
    uint8_t buf[65536];
    size_t buf_len, buf_off;
} pclient;

/* Connects and sends the preface.  NULL on failure (errno kept). */
pclient *pc_connect_unix(const char *path);
pclient *pc_connect_tcp(const char *host, const char *port);
void pc_close(pclient *c);
/* Closes with SO_LINGER 0: the broker sees a reset. */
void pc_reset(pclient *c);

int pc_write(pclient *c, const void *data, size_t len);
/* Encodes and writes f; a request gets the next request id (returned). */
uint64_t pc_send(pclient *c, panp_frame *f);
uint64_t pc_request(pclient *c, panp_frame *f);
/* The next frame within timeout_ms (caller frees), or NULL: timeout, EOF
 * (c->eof) or an error (c->err). */
panp_frame *pc_recv(pclient *c, int timeout_ms);
/* The next frame that is not a Pong, sending a Ping every ping_ms while it
 * waits so the broker's keepalive stays satisfied (ping_ms 0: never). */
panp_frame *pc_recv_alive(pclient *c, int timeout_ms, int ping_ms);

/* Hello with this mechanism; returns the Welcome (caller frees) or NULL
 * (the Error, if any, in *err_out, caller frees). */
panp_frame *pc_hello(pclient *c, panp_auth auth, const char *token, panp_frame **err_out);

#endif
