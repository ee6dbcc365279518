/* harness.c - the case runner and verdict bookkeeping. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "conn.h"

/* A case may run at most this long (scaled) before it is an ERROR: a
 * guard against harness bugs, not a verdict on the broker. */
#define PC_CASE_GUARD_MS 300000

const char *pc_verdict_name(pc_verdict v)
{
    switch (v) {
    case PC_PASS: return "PASS";
    case PC_WARN: return "WARN";
    case PC_SKIP: return "SKIP";
    case PC_FAIL: return "FAIL";
    case PC_ERROR: return "ERROR";
    }
    return "?";
}

int64_t pc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int pc_scaled_ms(const pc_t *t, double base_ms)
{
    double v = base_ms * t->opt->time_scale;
    return v > 2e9 ? 2000000000 : (int)v;
}

int pc_wait_ms(const pc_t *t) { return pc_scaled_ms(t, t->opt->timeout_ms); }

void *pc_alloc(pc_t *t, size_t n)
{
    void *p = pc_xcalloc(1, n);
    t->allocs = pc_xrealloc(t->allocs, (t->nallocs + 1) * sizeof(*t->allocs));
    t->allocs[t->nallocs++] = p;
    return p;
}

char *pc_strdup(pc_t *t, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pc_alloc(t, n);
    memcpy(d, s, n);
    return d;
}

char *pc_sprintf(pc_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = pc_alloc(t, (size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char *vfmt(const char *fmt, va_list ap)
{
    sbuf b = SBUF_INIT;
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    char *s = pc_xmalloc((size_t)(n > 0 ? n : 0) + 1);
    vsnprintf(s, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    sbuf_free(&b);
    return s;
}

/* Declares `var`: the variadic arguments after fmt, formatted by vfmt(). */
#define FORMAT_VARARGS(var, fmt)    \
    char *var;                      \
    do {                            \
        va_list ap_;                \
        va_start(ap_, fmt);         \
        var = vfmt(fmt, ap_);       \
        va_end(ap_);                \
    } while (0)

/* The case's first requirement ID, for failures that cite none. */
static char *first_req(const pc_case_def *def)
{
    const char *p = def->reqs ? def->reqs : "";
    size_t n = strcspn(p, " ,");
    char *s = pc_xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void finish(pc_t *t, pc_verdict v, char *message) __attribute__((noreturn));
static void finish(pc_t *t, pc_verdict v, char *message)
{
    t->res->verdict = v;
    free(t->res->message);
    t->res->message = message;
    pc_tr_add(&t->tr, pc_now_us(), "suite", '-', pc_verdict_name(v));
    longjmp(*t->jb, 1);
}

void pc_fail(pc_t *t, const char *req, const char *expected, const char *fmt, ...)
{
    FORMAT_VARARGS(actual, fmt);
    t->res->req = req ? pc_xstrdup(req) : first_req(t->def);
    t->res->expected = pc_xstrdup(expected);
    t->res->actual = actual;
    pc_tr_add(&t->tr, pc_now_us(), "suite", '-', "failure detected here");
    finish(t, PC_FAIL, pc_xstrdup(expected));
}

void pc_warn(pc_t *t, const char *req, const char *fmt, ...)
{
    FORMAT_VARARGS(msg, fmt);
    sbuf_printf(&t->res->warnings, "%s: %s\n", req, msg);
    pc_tr_add(&t->tr, pc_now_us(), "suite", '-', "warning recorded");
    free(msg);
}

void pc_skip(pc_t *t, const char *fmt, ...)
{
    FORMAT_VARARGS(msg, fmt);
    finish(t, PC_SKIP, msg);
}

void pc_error(pc_t *t, const char *fmt, ...)
{
    FORMAT_VARARGS(msg, fmt);
    finish(t, PC_ERROR, msg);
}

void pc_note(pc_t *t, const char *fmt, ...)
{
    FORMAT_VARARGS(msg, fmt);
    pc_tr_add(&t->tr, pc_now_us(), "suite", '-', msg);
    free(msg);
}

void pc_add_hook(pc_t *t, int fd, void (*on_readable)(pc_t *t, void *arg), void *arg)
{
    if (t->nhooks == PC_MAX_HOOKS) pc_error(t, "too many descriptors to watch");
    t->hooks[t->nhooks++] = (pc_hook){fd, on_readable, arg};
}

void pc_del_hook(pc_t *t, int fd)
{
    for (size_t i = 0; i < t->nhooks; i++) {
        if (t->hooks[i].fd == fd) {
            t->hooks[i] = t->hooks[--t->nhooks];
            return;
        }
    }
}

const pc_identity *pc_who(pc_t *t, pc_role role, size_t n)
{
    const pc_identity *id = pc_profile_pick(t->opt->profile, role, n);
    if (!id)
        pc_error(t, "the profile needs %zu identit%s playing %s", n + 1, n ? "ies" : "y", pc_role_name(role));
    return id;
}

const char *pc_printer_name(pc_t *t, size_t n)
{
    if (n >= t->opt->profile->n_printers) pc_error(t, "the profile lists fewer than %zu printers", n + 1);
    return t->opt->profile->printers[n];
}

const char *pc_admin_printer(pc_t *t, const pc_identity *id)
{
    for (size_t i = 0; i < t->opt->profile->n_printers; i++)
        if (pc_identity_admin_of(id, t->opt->profile->printers[i])) return t->opt->profile->printers[i];
    pc_error(t, "identity %s administers none of the profile's printers", id->name);
}

const char *pc_nonadmin_printer(pc_t *t, const pc_identity *id)
{
    for (size_t i = 0; i < t->opt->profile->n_printers; i++)
        if (!pc_identity_admin_of(id, t->opt->profile->printers[i])) return t->opt->profile->printers[i];
    pc_error(t, "identity %s administers every printer of the profile", id->name);
}

/* Fresh version-4 UUIDs, so a case never sees another case's traffic. */
static void random_type(uint8_t out[PANP_UUID_LEN])
{
    if (getrandom(out, PANP_UUID_LEN, 0) != PANP_UUID_LEN) {
        for (size_t i = 0; i < PANP_UUID_LEN; i++) out[i] = (uint8_t)(rand() & 0xFF);
    }
    out[6] = (uint8_t)((out[6] & 0x0F) | 0x40);
    out[8] = (uint8_t)((out[8] & 0x3F) | 0x80);
}

/* SKIPs a case whose feature is not claimed, or that applies to another
 * transport binding than the one under test. */
static void check_feature(pc_t *t, const char *feature)
{
    if (!strncmp(feature, "transport:", 10)) {
        const char *have = t->opt->broker.kind == PC_ADDR_TCP ? "tcp" : t->opt->broker.kind == PC_ADDR_TLS ? "tls" : "unix";
        if (strcmp(feature + 10, have) != 0)
            pc_skip(t, "not applicable: a rule of the %s binding; the broker under test is reached over %s", feature + 10,
                    have);
        return;
    }
    /* a tls: broker address claims tls */
    if (!strcmp(feature, "tls") && t->opt->broker.kind == PC_ADDR_TLS) return;
    if (!pc_profile_has_feature(t->opt->profile, feature)) {
        if (t->opt->client_cmd)
            pc_skip(t, "feature not claimed: the client under test does not claim '%s' (--features)", feature);
        pc_skip(t, "feature not claimed: the profile does not claim '%s'", feature);
    }
}

static void cleanup(pc_t *t)
{
    if (t->ext_cleanup) t->ext_cleanup(t);
    for (size_t i = 0; i < t->nconns; i++) pc_conn_free(t->conns[i]);
    for (size_t i = 0; i < t->nallocs; i++) free(t->allocs[i]);
    free(t->allocs);
}

static bool needs_transcript(const pc_result *r)
{
    return r->verdict == PC_FAIL || r->verdict == PC_ERROR || r->verdict == PC_WARN;
}

void pc_run_case(const pc_case_def *def, const pc_options *opt, pc_result *res)
{
    memset(res, 0, sizeof(*res));
    res->def = def;
    pc_t *t = pc_xcalloc(1, sizeof(*t));
    jmp_buf jb;
    int64_t t0 = pc_now_us();
    t->def = def;
    t->opt = opt;
    t->res = res;
    t->jb = &jb;
    t->deadline_us = t0 + (int64_t)pc_scaled_ms(t, PC_CASE_GUARD_MS) * 1000;
    pc_tr_init(&t->tr, t0);
    random_type(t->type);
    random_type(t->type2);
    if (setjmp(jb) == 0) {
        if (def->feature) check_feature(t, def->feature);
        def->run(t);
        res->verdict = res->warnings.len ? PC_WARN : PC_PASS;
    }
    cleanup(t);
    res->duration_us = pc_now_us() - t0;
    if (needs_transcript(res) || (opt->transcripts && res->verdict == PC_PASS)) {
        sbuf b = SBUF_INIT;
        pc_tr_render(&t->tr, &b, "    ");
        res->transcript = b.s ? b.s : pc_xstrdup("");
    }
    pc_tr_free(&t->tr);
    free(t);
}

void pc_result_free(pc_result *r)
{
    free(r->req);
    free(r->message);
    free(r->expected);
    free(r->actual);
    free(r->transcript);
    sbuf_free(&r->warnings);
    memset(r, 0, sizeof(*r));
}
