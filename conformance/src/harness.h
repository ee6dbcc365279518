/* harness.h - what a conformance case sees: the case context, verdicts,
 * connections to the broker, and waiting without sleeping.
 *
 * A case is a table entry (pc_case_def) plus a run function.  The run
 * function is written as a straight line: every helper that finds the
 * broker misbehaving records the verdict and unwinds to the runner
 * (longjmp), which then closes every connection the case opened.  So a case
 * never checks return codes for "did that work": if it returns, it worked.
 *
 * Nothing here sleeps to prove an absence.  "B received nothing" is shown
 * by a barrier: a Ping on B whose Pong proves the broker processed every
 * earlier frame from B; for something caused on A, barrier A first (the
 * broker has finished acting on A's frame), then barrier B (anything the
 * broker queued for B before that is now in front of B's Pong). */
#ifndef PC_HARNESS_H
#define PC_HARNESS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dial.h"
#include "panp/codec.h"
#include "pbw.h"
#include "profile.h"
#include "sbuf.h"
#include "spec.h"
#include "transcript.h"

typedef enum { PC_PASS = 0, PC_WARN, PC_SKIP, PC_FAIL, PC_ERROR } pc_verdict;
const char *pc_verdict_name(pc_verdict v);

typedef struct pc_options {
    pc_addr broker;
    const pc_profile *profile;
    const pc_spec *spec;       /* for requirement text in failures; may be NULL */
    double time_scale;         /* multiplies every wait (slow machines, sanitizers) */
    int timeout_ms;            /* base wait for one expected frame */
    const char *vectors_dir;   /* conformance/vectors */
    bool transcripts;          /* keep the transcript of passing cases too (--verbose) */
    /* client-side mode */
    pc_addr listen;
    const char *client_cmd;
} pc_options;

typedef struct pc_t pc_t;

typedef struct pc_case_def {
    const char *name;      /* stable dotted name: area.topic.behaviour */
    const char *reqs;      /* requirement IDs it checks, blank-separated */
    const char *summary;   /* one line: what is being checked */
    const char *feature;   /* optional feature it needs (SKIP if not claimed), or NULL */
    void (*run)(pc_t *t);
    const void *arg;       /* data for table-driven cases (vectors) */
} pc_case_def;

typedef struct pc_result {
    const pc_case_def *def;
    pc_verdict verdict;
    char *req;          /* the requirement the failure cites */
    char *message;      /* what went wrong / why skipped */
    char *expected;
    char *actual;
    sbuf warnings;      /* one "REQ: text" line per SHOULD not met */
    char *transcript;   /* rendered, for FAIL / ERROR / WARN */
    int64_t duration_us;
} pc_result;

#define PC_MAX_CONNS 64

struct pc_conn;

/* A descriptor other than a broker connection that the wait loop must
 * service (the client under test's stdout, a listening socket). */
typedef struct pc_hook {
    int fd;
    void (*on_readable)(pc_t *t, void *arg);
    void *arg;
} pc_hook;

#define PC_MAX_HOOKS 8

struct pc_t {
    const pc_case_def *def;
    const pc_options *opt;
    pc_result *res;
    jmp_buf *jb;
    pc_transcript tr;
    int64_t deadline_us;          /* guard against a case hanging */
    struct pc_conn *conns[PC_MAX_CONNS];
    size_t nconns;
    void **allocs;                /* freed when the case ends */
    size_t nallocs;
    uint8_t type[PANP_UUID_LEN];  /* a fresh notification type for this case */
    uint8_t type2[PANP_UUID_LEN]; /* a second one, for mismatches */
    pc_hook hooks[PC_MAX_HOOKS];
    size_t nhooks;
    void *ext;                    /* mode-specific state (client side) */
    void (*ext_cleanup)(pc_t *t);
};

void pc_add_hook(pc_t *t, int fd, void (*on_readable)(pc_t *t, void *arg), void *arg);
void pc_del_hook(pc_t *t, int fd);

/* ---- running --------------------------------------------------------- */
void pc_run_case(const pc_case_def *def, const pc_options *opt, pc_result *res);
void pc_result_free(pc_result *r);

/* ---- verdicts (all but pc_warn and pc_note leave the case) ------------ */
/* FAIL: req is the requirement broken (NULL: the case's first one),
 * expected says what the SPEC wants, fmt what happened. */
void pc_fail(pc_t *t, const char *req, const char *expected, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
void pc_warn(pc_t *t, const char *req, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pc_skip(pc_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void pc_error(pc_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void pc_note(pc_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Memory that lives until the case ends. */
void *pc_alloc(pc_t *t, size_t n);
char *pc_strdup(pc_t *t, const char *s);
char *pc_sprintf(pc_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int64_t pc_now_us(void);
/* A wait of base milliseconds, scaled by --time-scale. */
int pc_scaled_ms(const pc_t *t, double base_ms);
/* The default wait for one expected frame. */
int pc_wait_ms(const pc_t *t);

/* Profile access: the n-th identity (0-based) playing a role; ERROR if none. */
const pc_identity *pc_who(pc_t *t, pc_role role, size_t n);
/* A printer from the profile (ERROR if it lists fewer than n+1). */
const char *pc_printer_name(pc_t *t, size_t n);
/* A printer the identity administers (ERROR if none). */
const char *pc_admin_printer(pc_t *t, const pc_identity *id);
/* A printer the identity does not administer (ERROR if none). */
const char *pc_nonadmin_printer(pc_t *t, const pc_identity *id);

#endif
