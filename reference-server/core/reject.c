/* reject.c - answering a frame the codec refused, in the SPEC's order.
 *
 * The codec validates a frame in its own order and stops at the first
 * failure.  SPEC 6.5 orders the checks: the length prefix, malformed
 * encoding (request_id 0 in the answer), no body or a body the broker never
 * accepts, a body the state does not accept, request_id 0, then field rules
 * in field order and the request's own checks (7.3 for Hello).  Where the
 * codec's first failure is not the SPEC's, the frame's raw bytes are read
 * again (rawscan.c) to find the SPEC's, and a few codec answers that the
 * SPEC assigns another code are translated.  A frame that fails here never
 * reaches the request handlers. */
#include <stdio.h>
#include <string.h>

#include "core_int.h"
#include "rawscan.h"

typedef struct answer {
    panp_error_code code;
    uint64_t rid;
    char field[64];
    char message[256];
} answer;

static void set(answer *a, panp_error_code code, const char *field, const char *what)
{
    a->code = code;
    snprintf(a->field, sizeof(a->field), "%s", field);
    if (*field) snprintf(a->message, sizeof(a->message), "%s: %s", field, what);
    else snprintf(a->message, sizeof(a->message), "%s", what);
}

/* Rows 1 to 12 of SPEC 6.2 all say PROTOCOL_VIOLATION; only well-formed
 * frames (no body, a foreign body) echo their request id (SPEC ERR-6). */
static void malformed(const uint8_t *frame, size_t flen, const raw_frame *rf, answer *a)
{
    if (!rf->well_formed) {
        a->rid = 0;
    } else if (rf->body == 0) {
        a->rid = rf->request_id;
    } else if (!raw_broker_accepts(rf->body)) {
        /* The codec checks the role before it reads the body; the SPEC
         * wants a malformed body reported first, as malformed. */
        panp_decode_opts any = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_ANY, 0};
        panp_frame *f = NULL;
        panp_status st;
        bool bad = panp_decode(&any, frame, flen, &f, &st) == PANP_ERR_PROTOCOL_VIOLATION;
        panp_frame_free(f);
        a->rid = bad ? 0 : rf->request_id;
    } else {
        a->rid = 0; /* the malformation is inside an acceptable body */
    }
}

/* SPEC 7.3 steps 2 and 3 come before the field checks the codec runs
 * first (software, token, session label). */
static bool hello_versions(const raw_frame *rf, answer *a)
{
    uint64_t min = raw_uint(rf->body_data, rf->body_len, 1, 0);
    uint64_t max = raw_uint(rf->body_data, rf->body_len, 2, 0);
    if (min == 0) set(a, PANP_ERR_INVALID_ARGUMENT, "hello.min_version", "must be at least 1");
    else if (max < min) set(a, PANP_ERR_INVALID_ARGUMENT, "hello.max_version", "must be at least min_version");
    else return false;
    return true;
}

typedef struct target_scan {
    unsigned members;
    size_t printer_len;
    bool has_printer;
} target_scan;

static bool target_field(const raw_field *f, void *arg)
{
    target_scan *t = arg;
    if (f->number == 1 || f->number == 2) t->members++;
    if (f->number == 2) {
        t->has_printer = true;
        t->printer_len = f->len;
    }
    return true;
}

/* A Register's or OpenChannel's target (field 1) is checked before its
 * type (field 2); the codec leaves a missing or empty target to the core. */
static bool target_first(const raw_frame *rf, const char *req, const char *codec_field, answer *a)
{
    char field[64];
    snprintf(field, sizeof(field), "%s.target", req);
    if (strncmp(codec_field, field, strlen(field)) == 0) return false;
    const uint8_t *t;
    size_t tlen;
    target_scan ts = {0};
    if (!raw_bytes(rf->body_data, rf->body_len, 1, &t, &tlen) || !raw_walk(t, tlen, target_field, &ts) ||
        ts.members == 0) {
        set(a, PANP_ERR_INVALID_ARGUMENT, field, "required (server or printer)");
        return true;
    }
    if (ts.has_printer && ts.printer_len == 0) {
        snprintf(field, sizeof(field), "%s.target.printer", req);
        set(a, PANP_ERR_INVALID_ARGUMENT, field, "1 to 255 bytes required");
        return true;
    }
    return false;
}

/* Codec answers the SPEC gives other codes or fields. */
static void translate(answer *a)
{
    static const char *ids[] = {"send.channel_id", "reply.conversation_id",
                                "close_channel.channel_id", "close_channel.conversation_id"};
    static const char *types[] = {"send.notification_type", "reply.notification_type",
                                  "close_channel.reason.notification_type"};
    if (a->code != PANP_ERR_INVALID_ARGUMENT) return;
    /* An id of 0 is looked up like any other (SPEC CHAN-9, UNI-3). */
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (strcmp(a->field, ids[i]) == 0 && strstr(a->message, "non-zero"))
            set(a, PANP_ERR_CHANNEL_NOT_OPENED, ids[i], "not opened on this connection");
    /* NOTIFICATION_RELEASE is never a channel's type (SPEC REL-2). */
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(a->field, types[i]) == 0 && strstr(a->message, "NOTIFICATION_RELEASE"))
            set(a, PANP_ERR_TYPE_MISMATCH, types[i], "differs from the channel's type");
    /* A oneof that must have a member is named by its oneof (SPEC 19.3). */
    if (strcmp(a->field, "close_channel") == 0)
        set(a, PANP_ERR_INVALID_ARGUMENT, "close_channel.side", "channel_id or conversation_id required");
}

void reject_frame(core *c, core_conn *conn, const uint8_t *frame, size_t flen, const panp_status *st)
{
    raw_frame rf;
    raw_frame_scan(frame, flen, &rf);
    answer a = {.code = st->code, .rid = st->request_id};
    snprintf(a.field, sizeof(a.field), "%s", st->field);
    snprintf(a.message, sizeof(a.message), "%s", st->message);
    bool fatal = true;

    if (st->code == PANP_ERR_PROTOCOL_VIOLATION || !rf.well_formed) {
        a.code = PANP_ERR_PROTOCOL_VIOLATION;
        malformed(frame, flen, &rf, &a);
    } else if (conn->state == CS_AWAIT_HELLO && rf.body != PANP_BODY_HELLO) {
        a.rid = rf.request_id;
        set(&a, PANP_ERR_PROTOCOL_VIOLATION, "", "only Hello is accepted before Welcome");
    } else if (conn->state == CS_READY && rf.body == PANP_BODY_HELLO) {
        a.rid = rf.request_id;
        set(&a, PANP_ERR_PROTOCOL_VIOLATION, "", "a second Hello on this connection");
    } else if (rf.body == PANP_BODY_GOODBYE) {
        /* Whatever it holds, a Goodbye ends the client (SPEC CONN-13). */
        core_log(c, LOG_INFO, conn, "goodbye from the client (with invalid fields)");
        conn_fail(c, conn, CS_CLOSING);
        return;
    } else {
        a.rid = rf.request_id;
        fatal = conn->state != CS_READY; /* every Error answering a Hello is fatal */
        if (rf.request_id == 0)
            set(&a, PANP_ERR_INVALID_ARGUMENT, "frame.request_id", "must be non-zero for requests");
        else if (rf.body == PANP_BODY_HELLO && hello_versions(&rf, &a))
            ;
        else if (rf.body == PANP_BODY_REGISTER && target_first(&rf, "register", st->field, &a))
            ;
        else if (rf.body == PANP_BODY_OPEN_CHANNEL && target_first(&rf, "open_channel", st->field, &a))
            ;
        else
            translate(&a);
    }
    emit_error(c, conn, a.rid, a.code, a.field, fatal, "%s", a.message);
    if (fatal) conn_fail(c, conn, CS_CLOSING);
}
