/* vectors.c - negative golden vectors as broker cases.
 *
 * The index (conformance/vectors/negative/index.json) says what a broker
 * answers for each input: since the codec implements the SPEC's order of
 * checks (6.5) and its field paths (19.3), the index's code and field are
 * the SPEC's answer, and the suite takes them as they are.  A broker adds
 * the state machine on top, so each vector is sent where it means what the
 * index says:
 *
 *   - a Hello vector replaces the Hello (in READY a Hello is a protocol
 *     violation whatever it contains), and every Hello error is fatal;
 *   - a "stream" vector that starts with the preface is sent after a normal
 *     handshake (its framing faults then hit a READY connection, and its
 *     good frames get answers); one that does not is sent from the start
 *     and must be closed silently ([PANP-PREF-4]);
 *   - a vector built for another max_frame_size than the broker announces
 *     does not apply (SKIP, "not applicable").
 * Protocol violations may echo the frame's request_id or carry 0 (the
 * validator cannot tell "malformed" from "no body" for every input); after
 * each vector a fresh connection must still be served. */
#include "vectors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "json.h"
#include "ops.h"
#include "sbuf.h"

typedef enum { V_FRAME = 1, V_STREAM } vec_level;

typedef struct vec {
    char *file;
    char *name;         /* "vector.negative.<file without .bin>" */
    char *summary;
    char *reqs;
    vec_level level;
    panp_error_code code;
    char *field;        /* "" = not checked */
    uint32_t max_frame; /* 0: 65536 */
    bool goodbye;       /* a Goodbye body: the client ends, no answer */
    uint8_t *bytes;
    size_t len;
} vec;

/* Client-side vectors: the SPEC's client action for each input. */
typedef struct cvec {
    pc_client_vector info;
    char *name, *summary;
    uint8_t *bytes;
} cvec;

struct pc_vectors {
    vec *v;
    size_t n;
    pc_case_def *defs;
    cvec *cv;
    size_t ncv;
    pc_case_def *cdefs;
};

/* Inputs for which the SPEC prescribes no client action (semantic faults
 * of broker frames outside rows 1-17 of 6.2): no client case. */
static const char *const CLIENT_NO_RULE[] = {
    "notify_no_sequence.bin", "channel_closed_peer_gone_no_release.bin", "welcome_small_limit.bin",
};
/* Inputs a client must accept (an undefined or zero enum value, CLI-2). */
static const char *const CLIENT_ACCEPTS[] = {"error_code_0.bin", "enum_unknown_close_reason_any.bin"};

static uint8_t *read_all(const char *path, size_t *len, char *err, size_t errlen);

static bool listed(const char *file, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], file)) return true;
    return false;
}

static bool load_client_entry(pc_vectors *vs, const pj_value *e, const char *dir, char *err, size_t errlen)
{
    const char *file = pj_get_str(e, "file", "");
    if (listed(file, CLIENT_NO_RULE, sizeof(CLIENT_NO_RULE) / sizeof(CLIENT_NO_RULE[0]))) return true;
    cvec *c = &vs->cv[vs->ncv];
    char path[4096];
    snprintf(path, sizeof(path), "%s/negative/%s", dir, file);
    size_t len;
    c->bytes = read_all(path, &len, err, errlen);
    if (!c->bytes) return false;
    bool accept = listed(file, CLIENT_ACCEPTS, sizeof(CLIENT_ACCEPTS) / sizeof(CLIENT_ACCEPTS[0]));
    c->info = (pc_client_vector){pc_xstrdup(file), pc_xstrdup(pj_get_str(e, "field", "")), c->bytes, len, accept};
    size_t n = strlen(file);
    sbuf name = SBUF_INIT, sum = SBUF_INIT;
    sbuf_printf(&name, "client.vector.%.*s", (int)(n > 4 ? n - 4 : n), file);
    sbuf_printf(&sum, "%s: the client must %s", pj_get_str(e, "why", file),
                accept ? "accept it and keep the connection" : "close the connection");
    c->name = name.s;
    c->summary = sum.s;
    vs->ncv++;
    return true;
}

static panp_error_code code_by_name(const char *name)
{
    for (int c = 1; c <= 16; c++)
        if (!strcmp(panp_error_code_name((panp_error_code)c), name)) return (panp_error_code)c;
    return PANP_ERR_UNSPECIFIED;
}

static uint8_t *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    sbuf b = SBUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) sbuf_put(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.s ? (uint8_t *)b.s : pc_xcalloc(1, 1);
}

static const char *reqs_for(const vec *v)
{
    if (v->level == V_STREAM && v->len >= 8 && memcmp(v->bytes, PANP_PREFACE, 8) != 0) return "PANP-PREF-4 PANP-PREF-2";
    if (v->goodbye) return "PANP-CONN-19";
    if (!strncmp(v->field, "hello.", 6)) return "PANP-CONN-9 PANP-CONN-10";
    switch (v->code) {
    case PANP_ERR_PROTOCOL_VIOLATION: return "PANP-WIRE-9 PANP-ERR-8";
    case PANP_ERR_FRAME_TOO_LARGE: return "PANP-FRAME-4 PANP-FRAME-5";
    default: return "PANP-ERR-1 PANP-ERR-9 PANP-ERR-7";
    }
}

static bool load_entry(vec *v, const pj_value *e, const char *dir, char *err, size_t errlen)
{
    const char *file = pj_get_str(e, "file", NULL), *level = pj_get_str(e, "level", "");
    if (!file || (strcmp(level, "frame") && strcmp(level, "stream"))) {
        snprintf(err, errlen, "index entry without file or with level '%s'", level);
        return false;
    }
    v->file = pc_xstrdup(file);
    v->level = !strcmp(level, "frame") ? V_FRAME : V_STREAM;
    v->code = code_by_name(pj_get_str(e, "expect", ""));
    v->field = pc_xstrdup(pj_get_str(e, "field", ""));
    uint64_t mf = 0;
    if (pj_get_u64(e, "max_frame_size", &mf)) v->max_frame = (uint32_t)mf;
    v->goodbye = !strncmp(v->field, "goodbye", 7);
    char path[4096];
    snprintf(path, sizeof(path), "%s/negative/%s", dir, file);
    v->bytes = read_all(path, &v->len, err, errlen);
    if (!v->bytes) return false;
    size_t n = strlen(file);
    sbuf name = SBUF_INIT, sum = SBUF_INIT;
    sbuf_printf(&name, "vector.negative.%.*s", (int)(n > 4 && !strcmp(file + n - 4, ".bin") ? n - 4 : n), file);
    sbuf_printf(&sum, "%s (expect %s%s%s)", pj_get_str(e, "why", file), panp_error_code_name(v->code),
                v->field[0] ? " " : "", v->field);
    v->name = name.s;
    v->summary = sum.s;
    v->reqs = pc_xstrdup(reqs_for(v));
    return true;
}

static void vec_free(vec *v)
{
    free(v->file);
    free(v->name);
    free(v->summary);
    free(v->reqs);
    free(v->field);
    free(v->bytes);
}

static void run_vector(pc_t *t);

pc_vectors *pc_vectors_load(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/negative/index.json", dir);
    size_t len;
    char *text = (char *)read_all(path, &len, err, errlen);
    if (!text) return NULL;
    pj_value *root = pj_parse(text, len, err, errlen);
    free(text);
    if (!root || root->type != PJ_ARR) {
        if (root) snprintf(err, errlen, "%s: not a JSON array", path);
        pj_free(root);
        return NULL;
    }
    pc_vectors *vs = pc_xcalloc(1, sizeof(*vs));
    vs->v = pc_xcalloc(root->n, sizeof(*vs->v));
    bool ok = true;
    vs->cv = pc_xcalloc(root->n, sizeof(*vs->cv));
    for (size_t i = 0; i < root->n && ok; i++) {
        const char *peer = pj_get_str(&root->items[i], "peer", "");
        if (!strcmp(peer, "client") || !strcmp(peer, "any")) {
            ok = load_client_entry(vs, &root->items[i], dir, err, errlen);
            continue;
        }
        if (strcmp(peer, "broker")) continue;
        ok = load_entry(&vs->v[vs->n], &root->items[i], dir, err, errlen);
        vs->n++;
    }
    pj_free(root);
    if (!ok) {
        pc_vectors_free(vs);
        return NULL;
    }
    vs->defs = pc_xcalloc(vs->n, sizeof(*vs->defs));
    for (size_t i = 0; i < vs->n; i++)
        vs->defs[i] = (pc_case_def){vs->v[i].name, vs->v[i].reqs, vs->v[i].summary, NULL, run_vector, &vs->v[i]};
    vs->cdefs = pc_xcalloc(vs->ncv, sizeof(*vs->cdefs));
    for (size_t i = 0; i < vs->ncv; i++)
        vs->cdefs[i] = (pc_case_def){vs->cv[i].name, vs->cv[i].info.accept ? "PANP-CLI-2" : "PANP-CLI-3",
                                     vs->cv[i].summary, NULL, cs_run_vector, &vs->cv[i].info};
    return vs;
}

size_t pc_vectors_count(const pc_vectors *v) { return v ? v->n : 0; }
size_t pc_vectors_client_count(const pc_vectors *v) { return v ? v->ncv : 0; }
const pc_case_def *pc_vectors_client_case(const pc_vectors *v, size_t i) { return &v->cdefs[i]; }
const pc_case_def *pc_vectors_case(const pc_vectors *v, size_t i) { return &v->defs[i]; }

void pc_vectors_free(pc_vectors *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) vec_free(&v->v[i]);
    for (size_t i = 0; i < v->ncv; i++) {
        free((char *)v->cv[i].info.file);
        free((char *)v->cv[i].info.field);
        free(v->cv[i].bytes);
        free(v->cv[i].name);
        free(v->cv[i].summary);
    }
    free(v->cv);
    free(v->cdefs);
    free(v->v);
    free(v->defs);
    free(v);
}

void pc_vectors_missing_run(pc_t *t) { pc_error(t, "cannot load the negative vectors: %s", (const char *)t->def->arg); }

/* ---- running one vector --------------------------------------------------- */

/* The frame's request_id when it starts with one (field 1, varint). */
static uint64_t leading_rid(const uint8_t *p, size_t n)
{
    if (n < 2 || p[0] != 0x08) return 0;
    uint64_t v = 0;
    for (size_t i = 1; i < n && i < 11; i++) {
        v |= (uint64_t)(p[i] & 0x7F) << (7 * (i - 1));
        if (!(p[i] & 0x80)) return v;
    }
    return 0;
}

static bool m_error_rid(const panp_frame *f, const void *arg)
{
    uint64_t rid = *(const uint64_t *)arg;
    return f->kind == PANP_BODY_ERROR && (f->request_id == 0 || f->request_id == rid);
}

static const pc_identity *anyone(pc_t *t) { return pc_who(t, PC_ROLE_NONADMIN, 0); }

static void expect_error(pc_t *t, pc_conn *c, const vec *v, uint64_t rid, bool fatal)
{
    const char *req = strtok(pc_strdup(t, v->reqs), " ");
    const panp_frame *e = pc_await(c, m_error_rid, &rid, -1, req,
                                   pc_sprintf(t, "Error{%s}%s", panp_error_code_name(v->code), fatal ? " fatal" : ""));
    if (!fatal && e->request_id != rid)
        pc_fail(t, "PANP-ERR-8", pc_sprintf(t, "the request's request_id %" PRIu64 " on a non-fatal Error", rid), "%s",
                pc_frame_text(t, e));
    pc_check_error(c, e, v->code, fatal, req, v->code == PANP_ERR_INVALID_ARGUMENT && v->field[0] ? v->field : NULL);
    if (v->code == PANP_ERR_FRAME_TOO_LARGE && e->request_id)
        pc_fail(t, "PANP-ERR-8", "request_id 0 on FRAME_TOO_LARGE (the body was not read)", "%s", pc_frame_text(t, e));
    if (fatal) pc_expect_close_after_fatal(c, e, req);
    else pc_barrier(c, NULL);
}

static void run_stream(pc_t *t, const vec *v)
{
    pc_conn *c;
    bool preface = v->len >= 8 && memcmp(v->bytes, PANP_PREFACE, 8) == 0;
    if (!preface) {
        c = pc_dial_as(t, anyone(t), "client", 0);
        pc_send_raw(c, v->bytes, v->len, v->file);
        pc_expect_silent_close(c, "PANP-PREF-4");
        return;
    }
    c = pc_connect(t, anyone(t), "client");
    if (v->max_frame && v->max_frame != c->limits.max_frame_size)
        pc_skip(t, "not applicable: the vector is for max_frame_size %u, the broker announces %u", v->max_frame,
                c->limits.max_frame_size);
    if (v->code == PANP_ERR_FRAME_TOO_LARGE && !v->max_frame && c->limits.max_frame_size != PANP_DEFAULT_MAX_FRAME)
        pc_skip(t, "not applicable: the vector assumes the default max_frame_size");
    pc_send_raw(c, v->bytes + 8, v->len - 8, pc_sprintf(t, "%s after the preface, on a READY connection", v->file));
    expect_error(t, c, v, 0, true);
}

static void run_hello_vector(pc_t *t, const vec *v)
{
    pc_conn *c = pc_dial_as(t, anyone(t), "client", 0);
    pc_send_raw(c, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
    uint8_t pre[10];
    size_t n = panp_varint_put(pre, v->len);
    pc_send_raw(c, pre, n, "length prefix");
    pc_send_raw(c, v->bytes, v->len, pc_sprintf(t, "%s as the Hello", v->file));
    expect_error(t, c, v, leading_rid(v->bytes, v->len), true);
}

static void run_goodbye_vector(pc_t *t, const vec *v, pc_conn *c)
{
    /* CONN-19: a Goodbye ends the client whatever it holds; a malformed one
     * may be refused as malformed first (PROTOCOL_VIOLATION, fatal). */
    pc_await_eof(c, -1, "PANP-CONN-19", "the broker closing the connection after the Goodbye");
    const panp_frame *f;
    while ((f = pc_try_await(c, NULL, NULL, 0)) != NULL) {
        if (f->kind == PANP_BODY_GOODBYE) continue;
        if (v->code == PANP_ERR_PROTOCOL_VIOLATION && f->kind == PANP_BODY_ERROR &&
            f->body.error.code == PANP_ERR_PROTOCOL_VIOLATION && f->body.error.fatal)
            continue;
        pc_fail(t, "PANP-CONN-19", "no answer to a Goodbye (or a fatal PROTOCOL_VIOLATION if malformed)", "%s",
                pc_frame_text(t, f));
    }
}

static void run_vector(pc_t *t)
{
    const vec *v = t->def->arg;
    if (v->level == V_STREAM) {
        run_stream(t, v);
    } else if (!strncmp(v->field, "hello.", 6)) {
        run_hello_vector(t, v);
    } else {
        pc_conn *c = pc_connect(t, anyone(t), "client");
        uint32_t max = v->max_frame ? v->max_frame : PANP_DEFAULT_MAX_FRAME;
        if (v->code == PANP_ERR_FRAME_TOO_LARGE && max != c->limits.max_frame_size)
            pc_skip(t, "not applicable: the vector is for max_frame_size %u, the broker announces %u", max,
                    c->limits.max_frame_size);
        if (v->code != PANP_ERR_FRAME_TOO_LARGE && v->len > c->limits.max_frame_size)
            pc_skip(t, "not applicable: the %zu-byte vector exceeds the broker's max_frame_size %u", v->len,
                    c->limits.max_frame_size);
        uint8_t pre[10];
        size_t n = panp_varint_put(pre, v->len);
        pc_send_raw(c, pre, n, "length prefix");
        pc_send_raw(c, v->bytes, v->len, v->file);
        if (v->goodbye) run_goodbye_vector(t, v, c);
        else expect_error(t, c, v, leading_rid(v->bytes, v->len),
                          v->code == PANP_ERR_PROTOCOL_VIOLATION || v->code == PANP_ERR_FRAME_TOO_LARGE);
    }
    /* the broker still serves others */
    pc_conn *next = pc_connect(t, anyone(t), "next-client");
    pc_barrier(next, "PANP-WIRE-9");
}
