/* cases/c_delivery.c - the delivery decision (SPEC 13): who receives what,
 * across users, administrators, targets, types, styles and sessions. */
#include "common.h"

/* One listener of the matrix: who, how registered, and whether the SPEC
 * says it receives. */
typedef struct recipient {
    const pc_identity *id;
    const char *label;
    panp_target target;
    panp_user_filter filter;
    panp_style style;
    const uint8_t *type;     /* NULL: the case's type */
    const char *session;
    bool receives;
    const char *req;         /* the rule that decides */
    pc_reg reg;
} recipient;

static void register_all(pc_t *t, recipient *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pc_hello_opts o = {.session_label = r[i].session};
        pc_conn *c = pc_connect_opts(t, r[i].id, r[i].label, &o);
        panp_register a = pc_reg_args(r[i].target, r[i].type ? r[i].type : t->type, r[i].filter, r[i].style);
        r[i].reg = pc_register_x(c, &a, NULL);
    }
}

/* Sends once on ch and checks each listener against the matrix. */
static void send_and_check(pc_t *t, pc_conn *s, uint64_t ch, recipient *r, size_t n)
{
    panp_sent st = pc_notify(s, ch, t->type, "who gets this?", NULL);
    pc_barrier(s, NULL);
    uint32_t want = 0;
    for (size_t i = 0; i < n; i++) {
        pc_barrier(r[i].reg.c, NULL);
        if (r[i].receives) {
            want++;
            notify_now(r[i].reg.c, ch, st.sequence, r[i].req);
        } else {
            pc_chan_match m = {.chan = ch};
            pc_assert_none(r[i].reg.c, pc_m_notify, &m, r[i].req,
                           pc_sprintf(t, "Notify for %s (%s)", r[i].label, r[i].id->name));
        }
    }
    if (st.recipients != want)
        pc_fail(t, "PANP-CHAN-16", pc_sprintf(t, "Sent.recipients %u", want), "%u", st.recipients);
}

#define SRV pc_server()
#define PU PANP_USER_FILTER_PER_USER
#define AU PANP_USER_FILTER_ALL_USERS
#define UNI PANP_STYLE_UNIDIRECTIONAL
#define BIDI PANP_STYLE_BIDIRECTIONAL
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Who sends once in a matrix case, and on what channel. */
typedef struct sending {
    const pc_identity *id;
    const char *label;
    panp_open_channel open;
    const char *session; /* the sender's own session label, or NULL */
} sending;

/* Registers every listener of the matrix, then sends once and checks each;
 * returns the sender's connection. */
static pc_conn *matrix(pc_t *t, recipient *r, size_t n, sending from)
{
    register_all(t, r, n);
    pc_hello_opts o = {.session_label = from.session};
    pc_conn *c = pc_connect_opts(t, from.id, from.label, &o);
    send_and_check(t, c, pc_open_x(c, &from.open, NULL), r, n);
    return c;
}

/* A trusted component's PER_USER channel on the server for a job of owner. */
static panp_open_channel for_job(pc_t *t, uint32_t job, const char *owner, const char *session)
{
    panp_open_channel o = pc_open_args(SRV, t->type, PU, UNI);
    o.has_on_behalf_of = true;
    o.on_behalf_of = (panp_job_context){job, owner, session};
    return o;
}

static void run_per_user_channel(pc_t *t)
{
    const pc_identity *s = pc_who(t, PC_ROLE_SENDER, 0), *sa = pc_who(t, PC_ROLE_SERVER_ADMIN, 0);
    recipient r[] = {
        {s, "sender-other-conn", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-5", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 0), "plain-a", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 1), "plain-b", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {sa, "admin-per-user", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-6", {0}},
        {sa, "admin-all-users", SRV, AU, UNI, NULL, NULL, true, "PANP-DLV-4", {0}},
        {pc_who(t, PC_ROLE_PRINTER_ADMIN, 0), "printer-admin", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {pc_who(t, PC_ROLE_TRUSTED, 0), "trusted", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
    };
    matrix(t, r, N(r), (sending){s, "sender", pc_open_args(SRV, t->type, PU, UNI), NULL});
}

static void run_per_user_bidi(pc_t *t)
{
    const pc_identity *s = pc_who(t, PC_ROLE_SENDER, 0), *sa = pc_who(t, PC_ROLE_SERVER_ADMIN, 0);
    recipient r[] = {
        {s, "sender-other-conn", SRV, PU, BIDI, NULL, NULL, true, "PANP-DLV-5", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 0), "plain", SRV, PU, BIDI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {sa, "admin-per-user", SRV, PU, BIDI, NULL, NULL, true, "PANP-DLV-6", {0}},
        {sa, "admin-all-users", SRV, AU, BIDI, NULL, NULL, true, "PANP-DLV-4", {0}},
    };
    matrix(t, r, N(r), (sending){s, "sender", pc_open_args(SRV, t->type, PU, BIDI), NULL});
}

static void run_all_users_channel(pc_t *t)
{
    const pc_identity *sa = pc_who(t, PC_ROLE_SERVER_ADMIN, 0);
    recipient r[] = {
        {pc_who(t, PC_ROLE_PLAIN, 0), "plain-a", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-3", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 1), "plain-b", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-3", {0}},
        {pc_who(t, PC_ROLE_SENDER, 0), "sender", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-3", {0}},
        {pc_who(t, PC_ROLE_PRINTER_ADMIN, 0), "printer-admin", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-3", {0}},
        {sa, "admin-all-users", SRV, AU, UNI, NULL, NULL, true, "PANP-DLV-3", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 0), "plain-a-bidi", SRV, PU, BIDI, NULL, NULL, false, "PANP-DLV-2", {0}},
    };
    matrix(t, r, N(r), (sending){sa, "server-admin-sender", pc_open_args(SRV, t->type, AU, UNI), NULL});
}

static void run_printer_target(pc_t *t)
{
    const pc_identity *pa = pc_who(t, PC_ROLE_PRINTER_ADMIN, 0);
    const char *p = pc_admin_printer(t, pa);
    recipient r[] = {
        {pa, "printer-admin", pc_printer(p), PU, UNI, NULL, NULL, true, "PANP-DLV-6", {0}},
        {pc_who(t, PC_ROLE_SERVER_ADMIN, 0), "server-admin", pc_printer(p), PU, UNI, NULL, NULL, true, "PANP-DLV-6", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 0), "plain", pc_printer(p), PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {pa, "printer-admin-on-server", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-1", {0}},
    };
    sending from = {pc_who(t, PC_ROLE_SENDER, 0), "sender", pc_open_args(pc_printer(p), t->type, PU, UNI), NULL};
    matrix(t, r, N(r), from);
}

static void run_printer_admin_all_users(pc_t *t)
{
    const pc_identity *pa = pc_who(t, PC_ROLE_PRINTER_ADMIN, 0);
    const char *p = pc_admin_printer(t, pa);
    recipient r[] = {
        {pc_who(t, PC_ROLE_PLAIN, 0), "plain", pc_printer(p), PU, UNI, NULL, NULL, true, "PANP-DLV-3", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 1), "plain-other-printer", pc_printer(pc_nonadmin_printer(t, pa)), PU, UNI, NULL, NULL,
         false, "PANP-DLV-1", {0}},
    };
    matrix(t, r, N(r), (sending){pa, "printer-admin-sender", pc_open_args(pc_printer(p), t->type, AU, UNI), NULL});
}

static void run_on_behalf_of(pc_t *t)
{
    const pc_identity *tr = pc_who(t, PC_ROLE_TRUSTED, 0), *owner = pc_who(t, PC_ROLE_PLAIN, 0);
    recipient r[] = {
        {owner, "job-owner", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-5", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 1), "someone-else", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {tr, "opener-other-conn", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {pc_who(t, PC_ROLE_SENDER, 0), "sender", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-7", {0}},
        {pc_who(t, PC_ROLE_SERVER_ADMIN, 0), "server-admin", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-6", {0}},
    };
    matrix(t, r, N(r), (sending){tr, "trusted", for_job(t, 99, owner->user, ""), NULL});
}

static void run_target_match(pc_t *t)
{
    const pc_identity *s = pc_who(t, PC_ROLE_SENDER, 0);
    const char *p0 = pc_printer_name(t, 0), *p1 = pc_printer_name(t, 1);
    recipient r[] = {
        {s, "on-server", SRV, PU, UNI, NULL, NULL, false, "PANP-DLV-1", {0}},
        {s, "on-p0", pc_printer(p0), PU, UNI, NULL, NULL, true, "PANP-DLV-1", {0}},
        {s, "on-p1", pc_printer(p1), PU, UNI, NULL, NULL, false, "PANP-DLV-1", {0}},
    };
    sending from = {s, "sender", pc_open_args(pc_printer(p0), t->type, PU, UNI), NULL};
    pc_conn *c = matrix(t, r, N(r), from);
    r[0].receives = true; /* and the other way round: a server channel reaches the server registration only */
    r[1].receives = false;
    send_and_check(t, c, pc_open(c, SRV, t->type, PU, UNI), r, N(r));
}

static void run_type_style_match(pc_t *t)
{
    const pc_identity *s = pc_who(t, PC_ROLE_SENDER, 0), *sa = pc_who(t, PC_ROLE_SERVER_ADMIN, 0);
    recipient r[] = {
        {s, "exact", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-2", {0}},
        {s, "other-style", SRV, PU, BIDI, NULL, NULL, false, "PANP-DLV-2", {0}},
        {s, "other-type", SRV, PU, UNI, t->type2, NULL, false, "PANP-DLV-2", {0}},
        {sa, "admin-other-type", SRV, AU, UNI, t->type2, NULL, false, "PANP-DLV-2", {0}},
        {sa, "admin-other-style", SRV, AU, BIDI, NULL, NULL, false, "PANP-DLV-2", {0}},
    };
    matrix(t, r, N(r), (sending){s, "sender", pc_open_args(SRV, t->type, PU, UNI), NULL});
}

static void run_session_narrowing(pc_t *t)
{
    const pc_identity *tr = pc_who(t, PC_ROLE_TRUSTED, 0), *owner = pc_who(t, PC_ROLE_PLAIN, 0);
    recipient r[] = {
        {owner, "owner-tty1", SRV, PU, UNI, NULL, "tty1", true, "PANP-DLV-5", {0}},
        {owner, "owner-tty2", SRV, PU, UNI, NULL, "tty2", false, "PANP-DLV-8", {0}},
        {owner, "owner-no-label", SRV, PU, UNI, NULL, NULL, true, "PANP-DLV-5", {0}},
        {pc_who(t, PC_ROLE_SERVER_ADMIN, 0), "admin-tty2", SRV, PU, UNI, NULL, "tty2", true, "PANP-DLV-6", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 1), "other-tty1", SRV, PU, UNI, NULL, "tty1", false, "PANP-DLV-9", {0}},
    };
    matrix(t, r, N(r), (sending){tr, "trusted", for_job(t, 7, owner->user, "tty1"), NULL});
}

static void run_session_label_without_job(pc_t *t)
{
    const pc_identity *s = pc_who(t, PC_ROLE_SENDER, 0);
    recipient r[] = {
        {s, "labelled", SRV, PU, UNI, NULL, "tty9", true, "PANP-DLV-5", {0}},
        {pc_who(t, PC_ROLE_PLAIN, 0), "other-labelled", SRV, PU, UNI, NULL, "tty9", false, "PANP-DLV-9", {0}},
    };
    matrix(t, r, N(r), (sending){s, "sender-labelled", pc_open_args(SRV, t->type, PU, UNI), "tty9"});
}

static void run_isolation_several_senders(pc_t *t)
{
    /* two owners, each addressed by the trusted component in turn: each
     * sees exactly its own job's notifications, never the other's */
    const pc_identity *tr = pc_who(t, PC_ROLE_TRUSTED, 0);
    const pc_identity *owners[2] = {pc_who(t, PC_ROLE_PLAIN, 0), pc_who(t, PC_ROLE_PLAIN, 1)};
    pc_reg l[2];
    for (int i = 0; i < 2; i++)
        l[i] = listen_on(t, owners[i], owners[i]->name, SRV, t->type, PU, UNI);
    pc_conn *c = pc_connect(t, tr, "trusted");
    uint64_t ch[2];
    for (int i = 0; i < 2; i++) {
        panp_open_channel o = for_job(t, (uint32_t)(100 + i), owners[i]->user, "");
        ch[i] = pc_open_x(c, &o, NULL);
    }
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 2; i++) pc_notify(c, ch[i], t->type, pc_sprintf(t, "for %s #%d", owners[i]->user, round), NULL);
    pc_settle(c, (pc_conn *[]){l[0].c, l[1].c}, 2);
    for (int i = 0; i < 2; i++) {
        for (uint64_t q = 1; q <= 5; q++) notify_now(l[i].c, ch[i], q, "PANP-DLV-5");
        pc_assert_no_notify(l[i].c, ch[1 - i], "PANP-DLV-7");
    }
}

static const pc_case_def CASES[] = {
    CASE("delivery.per-user.unidirectional", "PANP-DLV-4 PANP-DLV-5 PANP-DLV-6 PANP-DLV-7 PANP-CHAN-16 PANP-KA-3",
         "a sender's PER_USER channel: its own user, server admins (both filters) receive; other users, a printer admin "
         "of another target, a trusted component do not",
         run_per_user_channel),
    CASE("delivery.per-user.bidirectional", "PANP-DLV-4 PANP-DLV-5 PANP-DLV-6 PANP-DLV-7 PANP-BIDI-2",
         "the same matrix for a bidirectional question", run_per_user_bidi),
    CASE("delivery.all-users-channel", "PANP-DLV-3 PANP-DLV-2",
         "an administrator's ALL_USERS channel reaches every candidate of every user (only candidates: same style)",
         run_all_users_channel),
    CASE("delivery.printer-target", "PANP-DLV-6 PANP-DLV-7 PANP-DLV-1 PANP-AUTH-8",
         "a PER_USER channel on a printer reaches that printer's administrators, not other users nor the server target",
         run_printer_target),
    CASE("delivery.printer-admin-all-users", "PANP-DLV-3 PANP-DLV-1",
         "a printer administrator's ALL_USERS channel on its printer reaches a plain user there, not on another printer",
         run_printer_admin_all_users),
    CASE("delivery.on-behalf-of", "PANP-DLV-5 PANP-DLV-6 PANP-DLV-7",
         "a trusted component's channel for a job reaches the job owner and administrators, not the opener's own "
         "registrations nor other users",
         run_on_behalf_of),
    CASE("delivery.target-must-match", "PANP-DLV-1",
         "server and printer targets are separate: a printer channel does not reach server registrations and vice versa",
         run_target_match),
    CASE("delivery.type-and-style-must-match", "PANP-DLV-2",
         "registrations of another type or style never receive, administrators' included", run_type_style_match),
    CASE("delivery.session-narrowing", "PANP-DLV-8 PANP-DLV-9 PANP-DLV-5 PANP-DLV-6",
         "a job's session label narrows delivery to the owner's matching (or unlabelled) sessions only; admins unaffected; "
         "a label never widens",
         run_session_narrowing),
    CASE("delivery.session-label-never-widens", "PANP-DLV-9",
         "a channel without a job has no session label; a listener's label neither narrows nor widens", run_session_label_without_job),
    CASE("delivery.isolation-between-owners", "PANP-DLV-5 PANP-DLV-7 PANP-ORD-1",
         "notifications for two job owners interleaved: each owner gets exactly its own, in order", run_isolation_several_senders),
};

PC_TABLE(pc_cases_delivery, CASES);
