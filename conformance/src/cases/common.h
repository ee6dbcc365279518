/* cases/common.h - what case files share: table macros, hand-built Hello
 * frames, empty bodies of any kind, and small scenario helpers. */
#ifndef PC_CASES_COMMON_H
#define PC_CASES_COMMON_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fmt.h"
#include "ops.h"
#include "registry.h"
#include "reqids.h"

/* Case table entries.  Names are stable IDs: never rename one. */
#define CASE(n, r, s, fn) {.name = n, .reqs = r, .summary = s, .run = fn}
#define CASE_ARG(n, r, s, fn, a) {.name = n, .reqs = r, .summary = s, .run = fn, .arg = a}
#define CASE_FEAT(n, r, s, feat, fn) {.name = n, .reqs = r, .summary = s, .feature = feat, .run = fn}

/* Features claimed implicitly by the broker address. */
#define FEAT_TCP "transport:tcp"
#define FEAT_UNIX "transport:unix"

/* Frame field numbers (panp.proto). */
enum {
    F_FRAME_REQUEST_ID = 1,
    F_HELLO_MIN = 1, F_HELLO_MAX = 2, F_HELLO_SOFTWARE = 3, F_HELLO_AUTH = 4, F_HELLO_TOKEN = 5,
    F_HELLO_SESSION = 6, F_HELLO_MAX_FRAME = 7,
    F_REG_TARGET = 1, F_REG_TYPE = 2, F_REG_FILTER = 3, F_REG_STYLE = 4, F_REG_LEASE = 5, F_REG_STATE = 6,
    F_TARGET_SERVER = 1, F_TARGET_PRINTER = 2,
};

/* A Hello written by hand, so that invalid ones can be sent too. */
typedef struct raw_hello {
    uint64_t rid;
    uint32_t min, max;
    const char *software;
    int auth;                  /* wire value */
    const char *token;         /* NULL: none */
    size_t token_len;          /* 0: strlen(token) */
    const char *session;
    uint32_t max_frame;
    size_t pad_unknown;        /* bytes of an unknown field appended (field 99) */
} raw_hello;

/* A valid Hello for c's identity on this transport. */
raw_hello rh_valid(const pc_conn *c);
void rh_encode(pbw *frame, const raw_hello *h);
/* Sends the preface (once) and the hand-built Hello; returns its request id. */
uint64_t rh_send(pc_conn *c, const raw_hello *h);

/* Frame{request_id, <field> {}}: a body of any kind with no content. */
void empty_body_frame(pbw *frame, uint64_t rid, panp_body_kind kind);

/* A Register frame by hand: target server, the case's type, PER_USER, UNIDI,
 * plus whatever extra bytes the caller appends inside Register. */
void reg_frame_begin(pbw *reg, const uint8_t *type);
void frame_wrap(pbw *frame, uint64_t rid, uint32_t body_field, const pbw *body);

/* Register and OpenChannel share their first fields (target, type, user
 * filter, style) and the rules on them.  kind is PANP_BODY_REGISTER or
 * PANP_BODY_OPEN_CHANNEL; the Error must name the field under the body's
 * name ("register.target", "open_channel.target"). */
/* The body without a target (request id 5): INVALID_ARGUMENT <body>.target. */
void refuse_no_target(pc_conn *c, panp_body_kind kind, const char *req);
/* The body with this type: INVALID_ARGUMENT <body>.notification_type. */
void refuse_type(pc_conn *c, panp_body_kind kind, const uint8_t *type, const char *req);
/* The nil UUID: never a notification type. */
extern const uint8_t PC_NIL_UUID[PANP_UUID_LEN];

bool is_tcp(const pc_t *t);
/* An IPv4 address of this host that is not loopback (text), or false. */
bool pc_other_local_address(char *out, size_t cap);

/* Welcome.identity on c against what the profile says the broker's
 * configuration gives `want` (user, rights, admin printers); FAIL citing
 * AUTH-1 / AUTH-6 / AUTH-8. */
void pc_check_identity(pc_t *t, const pc_identity *want, const pc_conn *c);
/* n bytes of 'x' (owned by the case). */
char *filler(pc_t *t, size_t n, char ch);
/* Random bytes (owned by the case). */
uint8_t *random_bytes(pc_t *t, size_t n);

/* Connects and registers in one step. */
pc_reg listen_on(pc_t *t, const pc_identity *id, const char *label, panp_target tg, const uint8_t *type,
                 panp_user_filter uf, panp_style st);

/* The first Notify of chan now waiting on c, after barriers (the
 * broker must have queued it before the Pong: [PANP-KA-3]); FAIL citing
 * req when absent. */
const panp_notify *notify_now(pc_conn *c, uint64_t chan, uint64_t seq, const char *req);

/* Opens a PER_USER channel on the server target with the case's type and
 * sends payload; returns the channel id. */
uint64_t open_and_send(pc_conn *s, const uint8_t *type, panp_style st, const char *payload);
/* ListRegistrations (target kind NONE: no target). */
const panp_registration_list *list_regs(pc_conn *c, panp_target tg, uint32_t offset, const char *req);
/* Entries of the given type in the whole listing (all pages). */
size_t count_listed(pc_conn *c, panp_target tg, const uint8_t *type);
/* Polls ListRegistrations (no target) until the caller's user has n
 * registrations of this type; FAIL citing req after the wait. */
void await_listed(pc_conn *c, const uint8_t *type, size_t n, const char *req);
/* Polls until the caller's user has no registration at all (earlier
 * cases' connections are closing); ERROR if that never happens. */
void await_user_quiet(pc_conn *c);

#endif
