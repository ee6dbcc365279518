/* cases/c_registration.c - Register, handles, Unregister, leases and
 * ListRegistrations (SPEC section 9). */
#include <ctype.h>

#include "common.h"

static const pc_identity *plain(pc_t *t) { return pc_who(t, PC_ROLE_PLAIN, 0); }

static panp_register reg_args(pc_t *t, panp_target tg, panp_user_filter uf, panp_style st)
{
    return pc_reg_args(tg, t->type, uf, st);
}

/* ---- Register ------------------------------------------------------------ */

static void run_register_basic(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    pc_register(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register(c, pc_printer(pc_printer_name(t, 0)), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
}

static bool same_handle(const pc_reg *a, const pc_reg *b)
{
    return a->hlen == b->hlen && memcmp(a->handle, b->handle, a->hlen) == 0;
}

static void run_handles_unique(pc_t *t)
{
    enum { PER_CONN = 24 };
    pc_reg regs[2 * PER_CONN];
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        pc_conn *c = pc_connect(t, plain(t), k ? "listener-b" : "listener-a");
        size_t limit = c->limits.max_registrations < PER_CONN ? c->limits.max_registrations : PER_CONN;
        uint8_t *types = random_bytes(t, limit * PANP_UUID_LEN);
        for (size_t i = 0; i < limit; i++)
            regs[n++] = pc_register(c, pc_server(), types + i * PANP_UUID_LEN, PANP_USER_FILTER_PER_USER,
                                    PANP_STYLE_UNIDIRECTIONAL);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (same_handle(&regs[i], &regs[j]))
                pc_fail(t, "PANP-REG-10", "a different handle for every live registration",
                        "registrations %zu and %zu got the same handle", i, j);
}

static void run_register_no_target(pc_t *t)
{
    refuse_no_target(pc_connect(t, plain(t), "listener"), PANP_BODY_REGISTER, "PANP-REG-2");
}

/* arg: the type */
static void run_register_bad_type(pc_t *t)
{
    refuse_type(pc_connect(t, plain(t), "listener"), PANP_BODY_REGISTER, t->def->arg, "PANP-REG-3");
}

static void run_register_absent_printer(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    panp_register r = reg_args(t, pc_printer(t->opt->profile->absent_printer), PANP_USER_FILTER_PER_USER,
                               PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(c, &r, PANP_ERR_NOT_FOUND, "PANP-REG-4", "register.target.printer");
}

/* A printer name that differs from a configured one only in letter case,
 * or by a trailing blank when it has no letters. */
static const char *near_miss(pc_t *t, const char *name)
{
    char *s = pc_strdup(t, name);
    for (char *p = s; *p; p++) {
        if (isalpha((unsigned char)*p)) {
            *p = (char)(islower((unsigned char)*p) ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
            if (!pc_profile_has_printer(t->opt->profile, s)) return s;
            *p = name[p - s];
        }
    }
    return pc_sprintf(t, "%s ", name);
}

static void run_printer_name_exact(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    const pc_profile *p = t->opt->profile;
    for (size_t i = 0; i < p->n_printers; i++) {
        const char *miss = near_miss(t, p->printers[i]);
        if (pc_profile_has_printer(p, miss)) continue;
        panp_register r = reg_args(t, pc_printer(miss), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        pc_register_err(c, &r, PANP_ERR_NOT_FOUND, "PANP-TERM-2", "register.target.printer");
        r.target = pc_printer(p->printers[i]); /* and the exact name, byte for byte, works */
        pc_reg ok = pc_register_x(c, &r, "PANP-TERM-2");
        pc_unregister(&ok);
    }
}

static void run_all_users_plain(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    panp_register r = reg_args(t, pc_server(), PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(c, &r, PANP_ERR_ACCESS_DENIED, "PANP-REG-5", "register.user_filter");
    r.target = pc_printer(pc_printer_name(t, 0));
    pc_register_err(c, &r, PANP_ERR_ACCESS_DENIED, "PANP-REG-5", "register.user_filter");
}

static void run_all_users_printer_admin(pc_t *t)
{
    const pc_identity *pa = pc_who(t, PC_ROLE_PRINTER_ADMIN, 0);
    pc_conn *c = pc_connect(t, pa, "printer-admin");
    panp_register r = reg_args(t, pc_printer(pc_admin_printer(t, pa)), PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_x(c, &r, "PANP-AUTH-8");
    r.target = pc_server();
    pc_register_err(c, &r, PANP_ERR_ACCESS_DENIED, "PANP-AUTH-8", "register.user_filter");
    r.target = pc_printer(pc_nonadmin_printer(t, pa));
    pc_register_err(c, &r, PANP_ERR_ACCESS_DENIED, "PANP-REG-5", "register.user_filter");
}

static void run_all_users_server_admin(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_SERVER_ADMIN, 0), "server-admin");
    panp_register r = reg_args(t, pc_server(), PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_x(c, &r, "PANP-AUTH-8");
    const pc_profile *p = t->opt->profile;
    for (size_t i = 0; i < p->n_printers && i < 8; i++) {
        r.target = pc_printer(p->printers[i]);
        pc_register_x(c, &r, "PANP-AUTH-8");
    }
}

static void run_duplicate(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    pc_reg first = pc_register(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    panp_register r = reg_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(c, &r, PANP_ERR_ALREADY_REGISTERED, "PANP-REG-6", "register");
    r.client_state = pc_s("other state, same target/type/style");
    pc_register_err(c, &r, PANP_ERR_ALREADY_REGISTERED, "PANP-REG-6", "register");
    r.client_state = pc_s("");
    r.style = PANP_STYLE_BIDIRECTIONAL; /* another style is another registration */
    pc_register_x(c, &r, "PANP-REG-6");
    pc_conn *other = pc_connect(t, plain(t), "other-connection");
    r.style = PANP_STYLE_UNIDIRECTIONAL;
    pc_register_x(other, &r, "PANP-REG-6");
    pc_unregister(&first);
    pc_register_x(c, &r, "PANP-REG-6"); /* live registrations only */
}

static pc_reg *fill_connection(pc_t *t, pc_conn *c, size_t *n)
{
    size_t max = c->limits.max_registrations;
    pc_reg *regs = pc_alloc(t, max * sizeof(*regs));
    uint8_t *types = random_bytes(t, max * PANP_UUID_LEN);
    for (size_t i = 0; i < max; i++)
        regs[i] = pc_register(c, pc_server(), types + i * PANP_UUID_LEN, PANP_USER_FILTER_PER_USER,
                              PANP_STYLE_UNIDIRECTIONAL);
    *n = max;
    return regs;
}

static void run_limit_per_connection(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    if (c->limits.max_registrations > 4096) pc_skip(t, "not applicable: max_registrations above 4096");
    size_t n;
    pc_reg *regs = fill_connection(t, c, &n);
    panp_register r = reg_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(c, &r, PANP_ERR_RESOURCE_EXHAUSTED, "PANP-REG-7", "register");
    pc_unregister(&regs[0]);
    pc_register_x(c, &r, "PANP-LIM-1"); /* the limit counts live registrations */
}

static void run_limit_per_user(pc_t *t)
{
    uint32_t per_user = t->opt->profile->max_registrations_per_user;
    if (!per_user) pc_skip(t, "not applicable: the profile gives no max_registrations_per_user");
    const pc_identity *id = plain(t);
    uint32_t done = 0;
    pc_conn *c = NULL;
    while (done < per_user) {
        c = pc_connect(t, id, pc_sprintf(t, "listener-%u", done));
        size_t room = c->limits.max_registrations;
        uint8_t *types = random_bytes(t, room * PANP_UUID_LEN);
        for (size_t i = 0; i < room && done < per_user; i++, done++)
            pc_register(c, pc_server(), types + i * PANP_UUID_LEN, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    }
    pc_conn *last = pc_connect(t, id, "one-too-many");
    panp_register r = reg_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(last, &r, PANP_ERR_RESOURCE_EXHAUSTED, "PANP-REG-7", "register");
    /* another user is not affected */
    pc_conn *other = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 1), "other-user");
    pc_register_x(other, &r, "PANP-LIM-6");
}

static void run_register_check_order(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    /* step 1 before 2: absent printer with ALL_USERS from a non-admin */
    panp_register r = reg_args(t, pc_printer(t->opt->profile->absent_printer), PANP_USER_FILTER_ALL_USERS,
                               PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(c, &r, PANP_ERR_NOT_FOUND, "PANP-REG-8", "register.target.printer");
    /* step 2 before 3: a duplicate asking ALL_USERS */
    pc_register(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    r = reg_args(t, pc_server(), PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    pc_register_err(c, &r, PANP_ERR_ACCESS_DENIED, "PANP-REG-8", "register.user_filter");
    /* step 3 before 4: a duplicate on a full connection */
    size_t max = c->limits.max_registrations;
    if (max > 4096) return;
    uint8_t *types = random_bytes(t, max * PANP_UUID_LEN);
    for (size_t i = 1; i < max; i++)
        pc_register(c, pc_server(), types + i * PANP_UUID_LEN, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    r.user_filter = PANP_USER_FILTER_PER_USER;
    pc_register_err(c, &r, PANP_ERR_ALREADY_REGISTERED, "PANP-REG-8", "register");
}

/* ---- Unregister ---------------------------------------------------------- */

static void run_unregister_stops_delivery(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg l = listen_on(t, sid, "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "before");
    pc_await_notify(l.c, ch, 1, NULL);
    pc_unregister(&l);
    panp_sent sent = pc_notify(s, ch, t->type, "after", NULL);
    pc_settle(s, &l.c, 1);
    pc_assert_no_notify(l.c, ch, "PANP-REG-15");
    if (sent.recipients != 0)
        pc_fail(t, "PANP-CHAN-16", "recipients 0 after the only listener unregistered", "%u", sent.recipients);
}

static void run_unregister_unknown(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    uint8_t *h = random_bytes(t, 16);
    panp_frame f = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(h, 16)};
    pc_call_error(c, &f, PANP_ERR_NOT_FOUND, "PANP-REG-12", "unregister.handle");
    panp_frame r = {.kind = PANP_BODY_RENEW, .body.renew = {pc_b(h, 16), 10}};
    pc_call_error(c, &r, PANP_ERR_NOT_FOUND, "PANP-REG-12", "renew.handle");
}

static void run_unregister_twice(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    pc_reg r = pc_register(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_unregister(&r);
    panp_frame f = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(r.handle, r.hlen)};
    pc_call_error(c, &f, PANP_ERR_NOT_FOUND, "PANP-REG-12", "unregister.handle");
}

/* The NOT_FOUND for someone else's live handle must equal the one for a
 * handle never issued, byte for byte (request ids aside). */
static void run_unregister_foreign_handle(pc_t *t)
{
    pc_conn *owner = pc_connect(t, plain(t), "owner");
    pc_reg r = pc_register(owner, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    const pc_identity *ids[] = {plain(t), pc_who(t, PC_ROLE_PLAIN, 1), pc_who(t, PC_ROLE_SERVER_ADMIN, 0)};
    for (size_t i = 0; i < 3; i++) {
        pc_conn *c = pc_connect(t, ids[i], pc_sprintf(t, "other-%zu", i));
        uint8_t *never = random_bytes(t, r.hlen);
        panp_frame a = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(r.handle, r.hlen)};
        const panp_frame *ea = pc_call_error(c, &a, PANP_ERR_NOT_FOUND, "PANP-REG-12", "unregister.handle");
        panp_frame b = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(never, r.hlen)};
        const panp_frame *eb = pc_call_error(c, &b, PANP_ERR_NOT_FOUND, "PANP-REG-12", "unregister.handle");
        if (strcmp(ea->body.error.message, eb->body.error.message) || strcmp(ea->body.error.field, eb->body.error.field))
            pc_fail(t, "PANP-REG-13", "the same Error for another connection's handle as for one never issued",
                    "foreign: %s / never issued: %s", pc_frame_text(t, ea), pc_frame_text(t, eb));
    }
    /* and the owner's registration is untouched */
    panp_frame renew = {.kind = PANP_BODY_RENEW, .body.renew = {pc_b(r.handle, r.hlen), 0}};
    pc_call_expect(owner, &renew, PANP_BODY_RENEWED, "PANP-ERR-7");
}

static bool m_conv_closed(const panp_frame *f, const void *arg)
{
    return f->kind == PANP_BODY_CHANNEL_CLOSED && f->body.channel_closed.conversation_id == *(const uint64_t *)arg;
}

static void run_unregister_offered(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg l = listen_on(t, sid, "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "question");
    uint64_t conv = pc_await_notify(l.c, ch, 1, "PANP-BIDI-2")->conversation_id;
    panp_frame f = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(l.handle, l.hlen)};
    uint64_t rid = pc_req(l.c, &f);
    const panp_frame *ok = pc_response(l.c, rid, "PANP-REG-14");
    const panp_frame *cc = pc_peek(l.c, m_conv_closed, &conv);
    if (!cc || pc_rx_index(l.c, cc) > pc_rx_index(l.c, ok))
        pc_fail(t, "PANP-REG-16", "ChannelClosed(UNREGISTERED) for the offered conversation before the Ok",
                "%s", cc ? "it came after the Ok" : "none before the Ok");
    if (cc->body.channel_closed.reason != PANP_CLOSE_REASON_UNREGISTERED)
        pc_fail(t, "PANP-REG-16", "reason UNREGISTERED", "%s", pc_frame_text(t, cc));
    pc_try_await(l.c, m_conv_closed, &conv, 0);
    /* nothing to the sender: the channel stays ASKING */
    pc_settle(l.c, &s, 1);
    pc_assert_no_closed(s, ch, "PANP-BIDI-1");
}

static void run_unregister_acquired(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_reg l = listen_on(t, sid, "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "question 1");
    uint64_t conv = pc_await_notify(l.c, ch, 1, NULL)->conversation_id;
    pc_reply(l.c, conv, t->type, "answer 1", NULL);
    pc_await_reply_delivery(s, ch, "PANP-BIDI-7");
    pc_unregister(&l);
    pc_notify(s, ch, t->type, "question 2", "PANP-REG-17");
    const panp_notify *n = pc_await_notify(l.c, ch, 2, "PANP-REG-17");
    if (n->conversation_id != conv) pc_fail(t, "PANP-BIDI-9", "the winner's conversation id", "%" PRIu64, n->conversation_id);
    pc_reply(l.c, conv, t->type, "answer 2", "PANP-REG-17");
    pc_await_reply_delivery(s, ch, "PANP-REG-17");
}

static void run_ends_with_connection(pc_t *t)
{
    const pc_identity *id = plain(t);
    pc_conn *l = pc_connect(t, id, "listener");
    pc_conn *watch = pc_connect(t, id, "same-user");
    pc_register(l, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    await_listed(watch, t->type, 1, "PANP-REG-20");
    pc_close(l);
    await_listed(watch, t->type, 0, "PANP-REG-11");
}

/* ---- leases --------------------------------------------------------------- */

static uint32_t grant(uint32_t asked, uint32_t cap)
{
    if (cap == 0) return asked;
    return asked == 0 || asked > cap ? cap : asked;
}

static void run_lease_granted(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    uint32_t cap = c->limits.max_lease_seconds;
    const uint32_t asks[] = {0, 1, 3600, cap ? cap + 1000 : 4000000000u};
    uint8_t *types = random_bytes(t, 4 * PANP_UUID_LEN);
    for (size_t i = 0; i < 4; i++) {
        panp_register r = pc_reg_args(pc_server(), types + i * 16, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        r.lease_seconds = asks[i];
        pc_reg got = pc_register_x(c, &r, NULL);
        if (got.lease != grant(asks[i], cap))
            pc_fail(t, "PANP-LEASE-1", pc_sprintf(t, "lease %u for %u asked under cap %u", grant(asks[i], cap), asks[i], cap),
                    "%u", got.lease);
        if (i == 1) continue;
        panp_frame f = {.kind = PANP_BODY_RENEW, .body.renew = {pc_b(got.handle, got.hlen), asks[(i + 1) % 4]}};
        const panp_frame *rn = pc_call_expect(c, &f, PANP_BODY_RENEWED, "PANP-LEASE-2");
        if (rn->body.renewed.lease_seconds != grant(asks[(i + 1) % 4], cap))
            pc_fail(t, "PANP-LEASE-1", pc_sprintf(t, "Renewed lease %u", grant(asks[(i + 1) % 4], cap)), "%s",
                    pc_frame_text(t, rn));
    }
}

static bool m_reg_ended(const panp_frame *f, const void *unused)
{
    (void)unused;
    return f->kind == PANP_BODY_REGISTRATION_ENDED;
}

/* Registers with a 1 s lease (skips when the cap makes that impossible)
 * and returns the time the Register was sent. */
static pc_reg short_lease(pc_t *t, pc_conn *c, panp_style st, int64_t *sent_us)
{
    panp_register r = pc_reg_args(pc_server(), t->type, PANP_USER_FILTER_PER_USER, st);
    r.lease_seconds = 1;
    *sent_us = pc_now_us();
    pc_reg reg = pc_register_x(c, &r, NULL);
    if (reg.lease != 1) pc_fail(t, "PANP-LEASE-1", "a granted lease of 1 s when 1 s is asked", "%u", reg.lease);
    return reg;
}

/* Waits for RegistrationEnded(LEASE_EXPIRED) and checks its timing. */
static void await_expiry(pc_t *t, pc_reg *r, int64_t from_us, uint32_t secs)
{
    int wait = pc_scaled_ms(t, secs * 1000.0 + 1000) + pc_wait_ms(t);
    const panp_frame *f = pc_await(r->c, m_reg_ended, NULL, wait, "PANP-LEASE-3",
                                   pc_sprintf(t, "RegistrationEnded within %u s + 1 s", secs));
    int64_t ms = (pc_now_us() - from_us) / 1000;
    const panp_registration_ended *e = &f->body.registration_ended;
    if (e->reason != PANP_REG_END_LEASE_EXPIRED || !pc_bytes_eq(e->handle, r->handle, r->hlen))
        pc_fail(t, "PANP-LEASE-6", "RegistrationEnded with the handle and LEASE_EXPIRED", "%s", pc_frame_text(t, f));
    if (ms < (int64_t)secs * 1000)
        pc_fail(t, "PANP-LEASE-3", pc_sprintf(t, "no expiry before %u s", secs), "expired after %" PRId64 " ms", ms);
    if (ms > pc_scaled_ms(t, secs * 1000.0 + 1000) + 250)
        pc_fail(t, "PANP-LEASE-3", pc_sprintf(t, "expiry at most 1 s after %u s (x time-scale)", secs),
                "after %" PRId64 " ms", ms);
}

static void run_lease_expires(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_conn *l = pc_connect(t, sid, "listener");
    int64_t sent;
    pc_reg r = short_lease(t, l, PANP_STYLE_UNIDIRECTIONAL, &sent);
    await_expiry(t, &r, sent, 1);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    panp_sent st = pc_notify(s, ch, t->type, "after expiry", NULL);
    pc_settle(s, &l, 1);
    pc_assert_no_notify(l, ch, "PANP-LEASE-6");
    if (st.recipients) pc_fail(t, "PANP-LEASE-6", "recipients 0 after the lease ended", "%u", st.recipients);
    panp_frame f = {.kind = PANP_BODY_UNREGISTER, .body.unregister.handle = pc_b(r.handle, r.hlen)};
    pc_call_error(l, &f, PANP_ERR_NOT_FOUND, "PANP-REG-12", "unregister.handle");
}

static void run_lease_renew_restarts(pc_t *t)
{
    pc_conn *l = pc_connect(t, plain(t), "listener");
    if (l->limits.max_lease_seconds && l->limits.max_lease_seconds < 2) pc_skip(t, "not applicable: lease cap below 2 s");
    int64_t sent;
    pc_reg r = short_lease(t, l, PANP_STYLE_UNIDIRECTIONAL, &sent);
    /* Renew half-way with 2 s: the lease now runs 2 s from the Renew. */
    pc_try_await(l, m_reg_ended, NULL, 500);
    int64_t renew_sent = pc_now_us();
    panp_frame f = {.kind = PANP_BODY_RENEW, .body.renew = {pc_b(r.handle, r.hlen), 2}};
    const panp_frame *rn = pc_call_expect(l, &f, PANP_BODY_RENEWED, "PANP-LEASE-2");
    if (rn->body.renewed.lease_seconds != 2) pc_fail(t, "PANP-LEASE-2", "Renewed{lease=2s}", "%s", pc_frame_text(t, rn));
    await_expiry(t, &r, renew_sent, 2);
}

static void run_lease_offered_closed_first(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_conn *l = pc_connect(t, sid, "listener");
    pc_conn *s = pc_connect(t, sid, "sender");
    int64_t sent;
    pc_reg r = short_lease(t, l, PANP_STYLE_BIDIRECTIONAL, &sent);
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "question");
    uint64_t conv = pc_await_notify(l, ch, 1, NULL)->conversation_id;
    await_expiry(t, &r, sent, 1);
    pc_chan_match m = {.chan = ch, .conv = conv};
    const panp_frame *cc = pc_peek(l, pc_m_closed, &m);
    size_t end_idx = SIZE_MAX;
    for (size_t i = 0; i < l->nrx; i++)
        if (l->rx[i].f && l->rx[i].f->kind == PANP_BODY_REGISTRATION_ENDED) end_idx = i;
    if (!cc || pc_rx_index(l, cc) > end_idx)
        pc_fail(t, "PANP-LEASE-5", "ChannelClosed(LEASE_EXPIRED) for the offered conversation before RegistrationEnded",
                "%s", cc ? "it came after" : "none came before");
    if (cc->body.channel_closed.reason != PANP_CLOSE_REASON_LEASE_EXPIRED)
        pc_fail(t, "PANP-LEASE-5", "reason LEASE_EXPIRED", "%s", pc_frame_text(t, cc));
    pc_settle(l, &s, 1);
    pc_assert_no_closed(s, ch, "PANP-BIDI-1"); /* the channel stays open for others */
}

static void run_lease_acquired_continues(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_conn *l = pc_connect(t, sid, "listener");
    pc_conn *s = pc_connect(t, sid, "sender");
    int64_t sent;
    pc_reg r = short_lease(t, l, PANP_STYLE_BIDIRECTIONAL, &sent);
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_BIDIRECTIONAL, "question 1");
    uint64_t conv = pc_await_notify(l, ch, 1, NULL)->conversation_id;
    pc_reply(l, conv, t->type, "answer 1", NULL);
    pc_await_reply_delivery(s, ch, NULL);
    await_expiry(t, &r, sent, 1);
    pc_notify(s, ch, t->type, "question 2", "PANP-LEASE-7");
    pc_await_notify(l, ch, 2, "PANP-LEASE-7");
    pc_reply(l, conv, t->type, "answer 2", "PANP-LEASE-7");
    pc_await_reply_delivery(s, ch, "PANP-LEASE-7");
}

static void run_lease_zero_stays(pc_t *t)
{
    const pc_identity *sid = pc_who(t, PC_ROLE_SENDER, 0);
    pc_conn *l = pc_connect(t, sid, "listener");
    if (l->limits.max_lease_seconds) pc_skip(t, "not applicable: the broker caps leases, so no registration has lease 0");
    pc_reg keep = pc_register(l, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    if (keep.lease) pc_fail(t, "PANP-LEASE-1", "lease 0 without a cap", "%u", keep.lease);
    /* let another registration's lease run out on the same connection: the
     * broker's lease machinery has run, and the lease-0 one must survive it */
    panp_register r = pc_reg_args(pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    r.lease_seconds = 1;
    int64_t sent = pc_now_us();
    pc_reg brief = pc_register_x(l, &r, NULL);
    await_expiry(t, &brief, sent, 1);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "still there?");
    pc_await_notify(l, ch, 1, "PANP-LEASE-4");
    pc_assert_none(l, m_reg_ended, NULL, "PANP-LEASE-4", "RegistrationEnded for the lease-0 registration");
}

/* ---- ListRegistrations ------------------------------------------------------ */

static bool entry_has_handle(const panp_registration_info *e, const pc_reg *r)
{
    return pc_bytes_eq(e->handle, r->handle, r->hlen);
}

static void run_list_own(pc_t *t)
{
    const pc_identity *me = plain(t), *other = pc_who(t, PC_ROLE_PLAIN, 1);
    pc_conn *a = pc_connect(t, me, "conn-a"), *b = pc_connect(t, me, "conn-b");
    pc_reg ra = pc_register(a, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_register(b, pc_printer(pc_printer_name(t, 0)), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_BIDIRECTIONAL);
    pc_conn *o = pc_connect(t, other, "other-user");
    pc_register(o, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    const panp_registration_list *l = list_regs(a, (panp_target){0}, 0, "PANP-REG-20");
    size_t mine = 0;
    for (size_t i = 0; i < l->registrations_count; i++) {
        const panp_registration_info *e = &l->registrations[i];
        if (strcmp(e->user, me->user))
            pc_fail(t, "PANP-REG-20", pc_sprintf(t, "only user %s's registrations", me->user), "an entry of %s", e->user);
        if (!panp_bytes_is_uuid(e->notification_type, t->type)) continue;
        mine++;
        bool own_conn = e->target.kind == PANP_TARGET_SERVER;
        if (own_conn && !entry_has_handle(e, &ra))
            pc_fail(t, "PANP-REG-21", "the handle in the entry created on this connection", "%s", pc_frame_text(t, a->rx[a->nrx - 1].f));
        if (!own_conn && e->handle.len)
            pc_fail(t, "PANP-REG-21", "no handle in an entry of another connection", "%s", pc_frame_text(t, a->rx[a->nrx - 1].f));
    }
    if (mine != 2) pc_fail(t, "PANP-REG-20", "both of this user's registrations, on both connections", "%zu listed", mine);
}

static size_t count_type(const panp_registration_list *l, const uint8_t *type, size_t *with_handle)
{
    size_t n = 0;
    for (size_t i = 0; i < l->registrations_count; i++) {
        if (!panp_bytes_is_uuid(l->registrations[i].notification_type, type)) continue;
        n++;
        if (with_handle && l->registrations[i].handle.len) (*with_handle)++;
    }
    return n;
}

static void run_list_target_admin(pc_t *t)
{
    const pc_identity *p0 = plain(t), *p1 = pc_who(t, PC_ROLE_PLAIN, 1);
    pc_reg r0 = listen_on(t, p0, "plain-0", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    listen_on(t, p1, "plain-1", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *adm = pc_connect(t, pc_who(t, PC_ROLE_SERVER_ADMIN, 0), "server-admin");
    size_t handles = 0;
    const panp_registration_list *all = list_regs(adm, pc_server(), 0, "PANP-REG-20");
    /* (the listing may span pages; this type's entries are the newest) */
    uint32_t off = 0;
    size_t seen = 0;
    while (off < all->total) {
        const panp_registration_list *pg = list_regs(adm, pc_server(), off, "PANP-REG-22");
        if (!pg->registrations_count) break;
        seen += count_type(pg, t->type, &handles);
        off += (uint32_t)pg->registrations_count;
    }
    if (seen != 2) pc_fail(t, "PANP-REG-20", "both users' registrations listed for the target's administrator", "%zu", seen);
    if (handles) pc_fail(t, "PANP-REG-21", "no handles in other connections' entries", "%zu entries with a handle", handles);
    const panp_registration_list *own = list_regs(r0.c, pc_server(), 0, "PANP-REG-20");
    if (count_type(own, t->type, NULL) != 1)
        pc_fail(t, "PANP-REG-20", "only the caller's own registration for a non-administrator", "%zu",
                count_type(own, t->type, NULL));
}

static void run_list_printer_admin(pc_t *t)
{
    const pc_identity *pa = pc_who(t, PC_ROLE_PRINTER_ADMIN, 0);
    const char *mine = pc_admin_printer(t, pa);
    listen_on(t, plain(t), "plain", pc_printer(mine), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    listen_on(t, plain(t), "plain-server", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *c = pc_connect(t, pa, "printer-admin");
    if (count_type(list_regs(c, pc_printer(mine), 0, "PANP-REG-20"), t->type, NULL) != 1)
        pc_fail(t, "PANP-REG-20", "the plain user's registration on the administered printer", "not listed");
    if (count_type(list_regs(c, pc_server(), 0, "PANP-REG-20"), t->type, NULL) != 0)
        pc_fail(t, "PANP-AUTH-8", "no other user's registration on the server target for a printer administrator",
                "listed");
}

static void run_list_paging(pc_t *t)
{
    enum { N = 40 };
    const pc_identity *me = pc_who(t, PC_ROLE_PLAIN, 1);
    pc_conn *reader = pc_connect(t, me, "reader");
    await_user_quiet(reader);
    uint32_t base = 0;
    uint8_t *types = random_bytes(t, N * PANP_UUID_LEN);
    pc_conn *c = NULL;
    size_t room = 0;
    for (size_t i = 0; i < N; i++) {
        if (!room) {
            c = pc_connect(t, me, pc_sprintf(t, "listener-%zu", i));
            room = c->limits.max_registrations;
        }
        pc_register(c, pc_server(), types + i * PANP_UUID_LEN, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        room--;
    }
    size_t next = 0; /* index into types, in creation order */
    uint32_t off = base;
    for (int page = 0; next < N; page++) {
        const panp_registration_list *l = list_regs(reader, (panp_target){0}, off, "PANP-REG-22");
        if (l->total != base + N) pc_fail(t, "PANP-REG-22", pc_sprintf(t, "total %u", base + N), "%u", l->total);
        if (l->registrations_count == 0 || l->registrations_count > 32)
            pc_fail(t, "PANP-REG-22", "1 to 32 entries while offset < total", "%zu at offset %u", l->registrations_count, off);
        for (size_t i = 0; i < l->registrations_count && next < N; i++, next++)
            if (!panp_bytes_is_uuid(l->registrations[i].notification_type, types + next * PANP_UUID_LEN))
                pc_fail(t, "PANP-REG-22", pc_sprintf(t, "entry %u: registration #%zu (oldest first)", off + (uint32_t)i, next),
                        "another registration");
        off += (uint32_t)l->registrations_count;
        if (page > N) pc_error(t, "paging does not end");
    }
    const panp_registration_list *end = list_regs(reader, (panp_target){0}, base + N, "PANP-REG-22");
    if (end->registrations_count) pc_fail(t, "PANP-REG-22", "no entries at offset total", "%zu", end->registrations_count);
}

static void run_list_lease_remaining(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    uint32_t cap = c->limits.max_lease_seconds;
    panp_register r = reg_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    r.lease_seconds = 100;
    pc_reg reg = pc_register_x(c, &r, NULL);
    int64_t t0 = pc_now_us();
    const panp_registration_list *l = list_regs(c, pc_server(), 0, "PANP-REG-23");
    int64_t elapsed_s = (pc_now_us() - t0) / 1000000 + 1;
    for (size_t i = 0; i < l->registrations_count; i++) {
        const panp_registration_info *e = &l->registrations[i];
        if (!entry_has_handle(e, &reg)) continue;
        if (e->lease_remaining_seconds > reg.lease || (int64_t)e->lease_remaining_seconds < (int64_t)reg.lease - elapsed_s)
            pc_fail(t, "PANP-REG-23", pc_sprintf(t, "lease_remaining_seconds %u rounded up", reg.lease), "%u",
                    e->lease_remaining_seconds);
        if (cap) return;
    }
    if (cap) pc_fail(t, "PANP-REG-20", "the registration listed", "not found");
    /* no cap: a registration without a lease shows 0 */
    panp_register z = pc_reg_args(pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_reg zero = pc_register_x(c, &z, NULL);
    l = list_regs(c, pc_server(), 0, "PANP-REG-23");
    for (size_t i = 0; i < l->registrations_count; i++)
        if (entry_has_handle(&l->registrations[i], &zero) && l->registrations[i].lease_remaining_seconds)
            pc_fail(t, "PANP-REG-23", "0 for a registration without a lease", "%u", l->registrations[i].lease_remaining_seconds);
}

static void run_list_absent_printer(pc_t *t)
{
    pc_conn *c = pc_connect(t, plain(t), "listener");
    panp_frame f = {.kind = PANP_BODY_LIST_REGISTRATIONS,
                    .body.list_registrations = {pc_printer(t->opt->profile->absent_printer), 0}};
    pc_call_error(c, &f, PANP_ERR_NOT_FOUND, "PANP-REG-4", "list_registrations.target.printer");
}

static const pc_case_def CASES[] = {
    CASE("register.basic", "PANP-REG-1 PANP-REG-9 PANP-CONN-13",
         "Register on the server and on a printer: Registered with a 16-32 byte handle", run_register_basic),
    CASE("register.handles-unique", "PANP-REG-10 PANP-REG-9",
         "every live registration on two connections has a different handle", run_handles_unique),
    CASE("register.no-target", "PANP-REG-2", "Register without a target: INVALID_ARGUMENT register.target", run_register_no_target),
    CASE_ARG("register.type-nil", "PANP-REG-3", "the nil UUID as type: INVALID_ARGUMENT register.notification_type",
             run_register_bad_type, PC_NIL_UUID),
    CASE_ARG("register.type-release", "PANP-REG-3 PANP-REL-1",
             "NOTIFICATION_RELEASE as type: INVALID_ARGUMENT register.notification_type", run_register_bad_type,
             PANP_TYPE_NOTIFICATION_RELEASE),
    CASE("register.absent-printer", "PANP-REG-4", "an unknown printer: NOT_FOUND register.target.printer", run_register_absent_printer),
    CASE("register.printer-name-exact", "PANP-TERM-2",
         "printer names match byte for byte: a name differing only in case is NOT_FOUND", run_printer_name_exact),
    CASE("register.all-users.plain-refused", "PANP-REG-5 PANP-AUTH-8",
         "ALL_USERS from a non-administrator, on the server and on a printer: ACCESS_DENIED register.user_filter", run_all_users_plain),
    CASE("register.all-users.printer-admin-scope", "PANP-REG-5 PANP-AUTH-8",
         "a printer administrator may use ALL_USERS on its printer only, not on the server or another printer",
         run_all_users_printer_admin),
    CASE("register.all-users.server-admin", "PANP-AUTH-8 PANP-REG-1",
         "a server administrator may use ALL_USERS on the server and on every printer", run_all_users_server_admin),
    CASE("register.duplicate", "PANP-REG-6 PANP-REG-14",
         "same target, type and style on one connection: ALREADY_REGISTERED; other style, other connection, or after Unregister: fine",
         run_duplicate),
    CASE("register.limit-per-connection", "PANP-REG-7 PANP-LIM-1",
         "max_registrations registrations, then RESOURCE_EXHAUSTED; after an Unregister there is room again", run_limit_per_connection),
    CASE("register.limit-per-user", "PANP-REG-7 PANP-LIM-6",
         "the per-user limit across connections: RESOURCE_EXHAUSTED, other users unaffected", run_limit_per_user),
    CASE("register.check-order", "PANP-REG-8",
         "NOT_FOUND before ACCESS_DENIED before ALREADY_REGISTERED before RESOURCE_EXHAUSTED", run_register_check_order),
    CASE("unregister.stops-delivery", "PANP-REG-14 PANP-REG-15 PANP-CHAN-16",
         "after the Ok of an Unregister no Notify for that handle, and Sent counts 0 recipients", run_unregister_stops_delivery),
    CASE("unregister.unknown-handle", "PANP-REG-12",
         "Unregister or Renew with a handle never issued: NOT_FOUND naming the handle field", run_unregister_unknown),
    CASE("unregister.twice", "PANP-REG-12", "a second Unregister of the same handle: NOT_FOUND", run_unregister_twice),
    CASE("unregister.foreign-handle", "PANP-REG-12 PANP-REG-13 PANP-ERR-7",
         "another connection's live handle (same user, other user, administrator) is NOT_FOUND exactly like a never-issued one, "
         "and stays untouched",
         run_unregister_foreign_handle),
    CASE("unregister.offered-conversation-closed-first", "PANP-REG-16 PANP-BIDI-1",
         "Unregister with an offered question: ChannelClosed(UNREGISTERED) before the Ok, nothing to the sender", run_unregister_offered),
    CASE("unregister.acquired-conversation-continues", "PANP-REG-17 PANP-BIDI-9",
         "after Unregister an acquired conversation goes on: next question and answer", run_unregister_acquired),
    CASE("registration.ends-with-connection", "PANP-REG-11 PANP-REG-20",
         "a registration disappears from the user's listing when its connection closes", run_ends_with_connection),
    CASE("lease.granted", "PANP-LEASE-1 PANP-LEASE-2",
         "granted leases on Register and Renew follow the table of 9.4 (0 -> cap, clamped, no error)", run_lease_granted),
    CASE("lease.expires", "PANP-LEASE-3 PANP-LEASE-6 PANP-REG-12",
         "a 1 s lease ends between 1 s and 2 s with RegistrationEnded(LEASE_EXPIRED); then no Notify, handle unknown",
         run_lease_expires),
    CASE("lease.renew-restarts", "PANP-LEASE-2 PANP-LEASE-3",
         "Renew(2 s) half-way through a 1 s lease: the lease now ends 2 s after the Renew", run_lease_renew_restarts),
    CASE("lease.offered-conversation-closed-first", "PANP-LEASE-5",
         "an expiring lease with an offered question: ChannelClosed(LEASE_EXPIRED) before RegistrationEnded", run_lease_offered_closed_first),
    CASE("lease.acquired-conversation-continues", "PANP-LEASE-7 PANP-CLI-18",
         "an acquired conversation goes on after its registration's lease ran out", run_lease_acquired_continues),
    CASE("lease.zero-never-expires", "PANP-LEASE-4",
         "without a cap a lease-0 registration survives other leases running out", run_lease_zero_stays),
    CASE("list.own-registrations", "PANP-REG-20 PANP-REG-21",
         "no target: the user's registrations on all its connections, handles only for this connection's", run_list_own),
    CASE("list.target-administrator", "PANP-REG-20 PANP-REG-21 PANP-REG-22",
         "the server target's administrator sees every user's registrations there, without handles; others see their own",
         run_list_target_admin),
    CASE("list.printer-administrator", "PANP-REG-20 PANP-AUTH-8",
         "a printer administrator lists its printer's registrations but not the server's", run_list_printer_admin),
    CASE("list.paging", "PANP-REG-22",
         "40 registrations: pages of 1 to 32 entries, oldest first, total right, none at offset total", run_list_paging),
    CASE("list.lease-remaining", "PANP-REG-23", "lease_remaining_seconds rounded up, 0 only without a lease", run_list_lease_remaining),
    CASE("list.absent-printer", "PANP-REG-4", "ListRegistrations on an unknown printer: NOT_FOUND", run_list_absent_printer),
};

PC_TABLE(pc_cases_registration, CASES);
