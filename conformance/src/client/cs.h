/* client/cs.h - client-side mode: the suite plays a scripted broker and
 * drives a client implementation through an adapter process.
 *
 * The adapter (any program; see conformance/README.md, "Client-side mode")
 * reads one JSON command per line on stdin and writes one JSON line per
 * result or event on stdout.  Each case starts a fresh adapter, listens on
 * the --as-broker address, tells the adapter to connect there, and then
 * plays the broker frame by frame, checking what the client sends (the
 * harness decodes it with the broker-side validator: preface, framing,
 * canonical form, request ids, no NOTIFICATION_RELEASE) and what the
 * adapter reports. */
#ifndef PC_CS_H
#define PC_CS_H

#include <sys/types.h>

#include "conn.h"
#include "json.h"

typedef struct cs_event {
    pj_value *v;
    char *line;
    bool used;
} cs_line;

typedef struct cs_state {
    pc_t *t;
    pc_addr listen;
    int listen_fd;
    pid_t pid;
    int in_fd, out_fd, err_fd;
    sbuf outbuf, errbuf;
    cs_line *ev;
    size_t nev, capev;
    bool out_eof;
    uint64_t next_id;
    pc_conn *accepted[8];
    size_t naccepted, nclaimed;
    uint64_t hello_rid;
    const char *tls_ca;     /* tls: --as-broker: the CA file the client is told to trust */
} cs_state;

/* Listens on the --as-broker address and starts the adapter. */
cs_state *cs_start(pc_t *t);
/* The members of a connect command that name this broker:
 * "broker":"ADDR" and, for a tls: address, "tls_ca":"FILE". */
const char *cs_broker_fields(cs_state *cs);
/* Sends one command line: fields is the JSON members after "id" and
 * "cmd" (may be ""), e.g. "\"reg\":\"r1\"".  Returns the command id. */
uint64_t cs_cmd(cs_state *cs, const char *cmd, const char *fields_fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t cs_cmd0(cs_state *cs, const char *cmd); /* a command without fields */
/* The result line of command id; FAIL (req) when none comes. */
const pj_value *cs_result(cs_state *cs, uint64_t id, const char *req);
/* Same, and FAIL unless "ok" is true / false. */
const pj_value *cs_ok(cs_state *cs, uint64_t id, const char *req);
const pj_value *cs_not_ok(cs_state *cs, uint64_t id, const char *req);
/* The first unused event with "event" = name and, if key is non-NULL,
 * member key equal to value (strings compared as text). */
const pj_value *cs_event(cs_state *cs, const char *name, const char *key, const char *value, int timeout_ms,
                         const char *req);
const pj_value *cs_try_event(cs_state *cs, const char *name, const char *key, const char *value, int timeout_ms);
/* The next connection the client makes; FAIL (req) when none. */
pc_conn *cs_accept(cs_state *cs, const char *req);
bool cs_accept_pending(cs_state *cs);

/* Scripted-broker helpers on an accepted connection. */
/* Waits for the client's preface and Hello (checked); returns the Hello. */
const panp_frame *cs_await_hello(pc_conn *b, const char *req);
/* Preface + Welcome answering the Hello, with these limits (NULL: defaults). */
void cs_welcome(pc_conn *b, uint64_t rid, const panp_limits *limits);
/* connect command + accept + Hello + Welcome: the usual start of a case. */
pc_conn *cs_connect(cs_state *cs, const panp_limits *limits);
/* The next request of the given kind from the client. */
const panp_frame *cs_await_request(pc_conn *b, panp_body_kind kind, const char *req);
/* Sends a response (request_id = rid) and marks the request answered. */
void cs_respond(pc_conn *b, uint64_t rid, panp_frame *resp);
void cs_respond_raw(pc_conn *b, uint64_t rid, const pbw *frame, const char *what);
/* Marks request rid answered (the answer went out some other way). */
void cs_answered(pc_conn *b, uint64_t rid);
/* Default limits a scripted Welcome announces. */
panp_limits cs_default_limits(void);
/* JSON helpers. */
const char *cs_hex(pc_t *t, const void *p, size_t n);
const char *cs_uuid(pc_t *t, const uint8_t *u);
bool cs_str_is(const pj_value *v, const char *key, const char *want);

#endif
