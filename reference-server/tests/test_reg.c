/* test_reg.c - registrations: validation, authorization, ownership of
 * handles, leases and RegistrationEnded, Unregister, limits, listing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* [PANP-REG-1] [PANP-REG-8] */
static void t_register_ok(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_printer("P1"), H_TYPE_A, PER, UNI);
    f.body.register_listener.lease_seconds = 60;
    uint8_t cs[128];
    memset(cs, 7, sizeof(cs));
    f.body.register_listener.client_state = (panp_bytes){cs, sizeof(cs)};
    h_request(w, c, &f);
    panp_frame *r = h_expect(w, c, PANP_BODY_REGISTERED);
    assert_int_equal(r->body.registered.handle.len, 16);
    assert_int_equal(r->body.registered.lease_seconds, 60);
}

/* [PANP-REG-2] */
static void t_register_bad_types(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    static const uint8_t nil[16];
    h_reject_both(w, c, h_register_frame(h_server(), PANP_TYPE_NOTIFICATION_RELEASE, PER, UNI),
                  PANP_ERR_INVALID_ARGUMENT, "register.notification_type");
    h_reject_both(w, c, h_register_frame(h_server(), nil, PER, UNI), PANP_ERR_INVALID_ARGUMENT,
                  "register.notification_type");
    /* the connection is fine */
    h_register(w, c, h_server(), H_TYPE_A, PER, UNI);
}

/* [PANP-WIRE-13] [PANP-WIRE-15] */
static void t_register_unspecified_enums(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    h_reject_both(w, c, h_register_frame(h_server(), H_TYPE_A, 0, UNI), PANP_ERR_INVALID_ARGUMENT,
                  "register.user_filter");
    h_reject_both(w, c, h_register_frame(h_server(), H_TYPE_A, PER, 0), PANP_ERR_INVALID_ARGUMENT,
                  "register.style");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.register_listener.target = (panp_target){0};
    h_reject_both(w, c, f, PANP_ERR_INVALID_ARGUMENT, "register.target");
}

/* [PANP-REG-3] */
static void t_register_unknown_printer(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    req_error(w, c, h_register_frame(h_printer("Nope"), H_TYPE_A, PER, UNI),
              PANP_ERR_NOT_FOUND, "register.target.printer");
}

/* [PANP-REG-4] [PANP-AUTH-7] */
static void t_register_all_users_needs_admin(void **state)
{
    h_world *w = *state;
    h_conn *alice = h_connect(w, "alice");
    req_error(w, alice, h_register_frame(h_server(), H_TYPE_A, ALL, UNI),
              PANP_ERR_ACCESS_DENIED, "register.user_filter");
    req_error(w, alice, h_register_frame(h_printer("P1"), H_TYPE_A, ALL, UNI),
              PANP_ERR_ACCESS_DENIED, "register.user_filter");
    /* a printer admin: on its printer only */
    h_conn *pa = h_connect(w, "padmin");
    h_register(w, pa, h_printer("P1"), H_TYPE_A, ALL, UNI);
    req_error(w, pa, h_register_frame(h_printer("P2"), H_TYPE_A, ALL, UNI),
              PANP_ERR_ACCESS_DENIED, "register.user_filter");
    req_error(w, pa, h_register_frame(h_server(), H_TYPE_A, ALL, UNI),
              PANP_ERR_ACCESS_DENIED, "register.user_filter");
    /* a server admin: everywhere */
    h_conn *root = h_connect(w, "root");
    h_register(w, root, h_server(), H_TYPE_A, ALL, UNI);
    h_register(w, root, h_printer("P2"), H_TYPE_A, ALL, UNI);
}

/* [PANP-REG-5] */
static void t_register_duplicate(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    h_register(w, c, h_server(), H_TYPE_A, PER, UNI);
    req_error(w, c, h_register_frame(h_server(), H_TYPE_A, PER, UNI),
              PANP_ERR_ALREADY_REGISTERED, NULL);
    /* the filter is not part of the key */
    h_conn *root = h_connect(w, "root");
    h_register(w, root, h_server(), H_TYPE_A, PER, UNI);
    req_error(w, root, h_register_frame(h_server(), H_TYPE_A, ALL, UNI),
              PANP_ERR_ALREADY_REGISTERED, NULL);
    /* another style, type or target is another registration */
    h_register(w, c, h_server(), H_TYPE_A, PER, BIDI);
    h_register(w, c, h_server(), H_TYPE_B, PER, UNI);
    h_register(w, c, h_printer("P1"), H_TYPE_A, PER, UNI);
    /* the same user on another connection may register the same again */
    h_conn *c2 = h_connect(w, "alice");
    h_register(w, c2, h_server(), H_TYPE_A, PER, UNI);
}

/* [PANP-REG-10] [PANP-REG-11] */
static void t_unregister_and_renew_by_non_owner(void **state)
{
    h_world *w = *state;
    h_conn *a = h_connect(w, "alice");
    h_conn *a2 = h_connect(w, "alice");
    h_conn *root = h_connect(w, "root");
    h_handle h = h_register(w, a, h_server(), H_TYPE_A, PER, UNI);
    uint8_t never[16];
    memset(never, 0x5a, sizeof(never));
    h_conn *who[] = {a2, root};
    for (int i = 0; i < 2; i++) {
        panp_frame u = {.kind = PANP_BODY_UNREGISTER};
        u.body.unregister.handle = h_b(&h);
        h_request(w, who[i], &u);
        panp_frame *e1 = h_expect_error(w, who[i], PANP_ERR_NOT_FOUND, false);
        assert_string_equal(e1->body.error.field, "unregister.handle");
        u.body.unregister.handle = (panp_bytes){never, 16};
        h_request(w, who[i], &u);
        panp_frame *e2 = h_expect_error(w, who[i], PANP_ERR_NOT_FOUND, false);
        /* someone else's handle looks exactly like one that does not exist */
        assert_string_equal(e1->body.error.message, e2->body.error.message);
        panp_frame r = {.kind = PANP_BODY_RENEW};
        r.body.renew.handle = h_b(&h);
        h_request(w, who[i], &r);
        h_expect_error(w, who[i], PANP_ERR_NOT_FOUND, false);
    }
    /* the owner can */
    panp_frame u = {.kind = PANP_BODY_UNREGISTER};
    u.body.unregister.handle = h_b(&h);
    h_request(w, a, &u);
    h_expect(w, a, PANP_BODY_OK);
    h_request(w, a, &u); /* twice: gone */
    h_expect_error(w, a, PANP_ERR_NOT_FOUND, false);
}

/* [PANP-LEASE-1] */
static void t_lease_grants(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    struct { uint32_t ask, want; } cases[] = {{0, 86400}, {1, 1}, {86400, 86400}, {86401, 86400},
                                              {UINT32_MAX, 86400}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, (i % 2) ? BIDI : UNI);
        f.body.register_listener.target = i < 2 ? h_server() : h_printer(i < 4 ? "P1" : "P2");
        f.body.register_listener.lease_seconds = cases[i].ask;
        h_request(w, c, &f);
        panp_frame *r = h_expect(w, c, PANP_BODY_REGISTERED);
        assert_int_equal(r->body.registered.lease_seconds, cases[i].want);
    }
}

/* [PANP-LEASE-1] */
static void t_lease_uncapped(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_lease_seconds = 0;
    h_start(w);
    h_conn *c = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, UNI);
    h_request(w, c, &f);
    assert_int_equal(h_expect(w, c, PANP_BODY_REGISTERED)->body.registered.lease_seconds, 0);
    f.body.register_listener.style = BIDI;
    f.body.register_listener.lease_seconds = 1000000;
    h_request(w, c, &f);
    assert_int_equal(h_expect(w, c, PANP_BODY_REGISTERED)->body.registered.lease_seconds, 1000000);
    /* a 0 lease never expires; keep the connection alive meanwhile */
    for (int i = 0; i < 20; i++) {
        h_advance(w, 60000);
        ping(w, c);
    }
    h_free(w);
}

/* [PANP-LEASE-1] [PANP-LEASE-4] */
static void t_lease_expiry_and_renew(void **state)
{
    h_world *w = *state;
    h_conn *l = h_connect(w, "alice");
    h_conn *s = h_connect(w, "sender");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, ALL, UNI);
    f.body.register_listener.user_filter = PER;
    f.body.register_listener.lease_seconds = 10;
    h_handle h = registered(w, l, f);
    h_advance(w, 9000);
    panp_frame r = {.kind = PANP_BODY_RENEW};
    r.body.renew.handle = h_b(&h);
    r.body.renew.lease_seconds = 10;
    h_request(w, l, &r);
    assert_int_equal(h_expect(w, l, PANP_BODY_RENEWED)->body.renewed.lease_seconds, 10);
    h_advance(w, 9999); /* renewed from 9 s: expires at 19 s */
    h_expect_none(w, l);
    /* an ALL_USERS channel from the sender reaches it until then */
    h_conn *root = h_connect(w, "root");
    uint64_t ch = h_open(w, root, h_server(), H_TYPE_A, ALL, UNI);
    assert_int_equal(h_send(w, root, ch, H_TYPE_A, "one")->body.sent.recipients, 1);
    h_expect(w, l, PANP_BODY_NOTIFY);
    assert_int_equal(h_send(w, root, ch, H_TYPE_A, "two")->body.sent.recipients, 1);
    h_advance(w, 1);
    /* the queued "two" is discarded: nothing for the handle after RegistrationEnded */
    panp_frame *e = h_expect(w, l, PANP_BODY_REGISTRATION_ENDED);
    assert_true(h_bytes_eq(e->body.registration_ended.handle, h.b, 16));
    assert_int_equal(e->body.registration_ended.reason, PANP_REG_END_LEASE_EXPIRED);
    h_expect_none(w, l);
    assert_int_equal(h_send(w, root, ch, H_TYPE_A, "three")->body.sent.recipients, 0);
    h_expect_none(w, l);
    /* renew after expiry: not found */
    h_request(w, l, &r);
    h_expect_error(w, l, PANP_ERR_NOT_FOUND, false);
    (void)s;
}

/* [PANP-LEASE-1] */
static void t_renew_lease_zero_gets_max(void **state)
{
    h_world *w = *state;
    h_conn *l = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.register_listener.lease_seconds = 5;
    h_handle h = registered(w, l, f);
    panp_frame r = {.kind = PANP_BODY_RENEW};
    r.body.renew.handle = h_b(&h);
    h_request(w, l, &r);
    assert_int_equal(h_expect(w, l, PANP_BODY_RENEWED)->body.renewed.lease_seconds, 86400);
    r.body.renew.lease_seconds = 100000;
    h_request(w, l, &r);
    assert_int_equal(h_expect(w, l, PANP_BODY_RENEWED)->body.renewed.lease_seconds, 86400);
}

/* [PANP-REG-6] [PANP-LIM-5] */
static void t_registration_limits(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_registrations = 3;
    w->cfg->limits.max_registrations_per_user = 5;
    h_start(w);
    h_conn *a = h_connect(w, "alice");
    h_conn *a2 = h_connect(w, "alice");
    h_conn *b = h_connect(w, "bob");
    const uint8_t *types[] = {H_TYPE_A, H_TYPE_B};
    for (int i = 0; i < 3; i++)
        h_register(w, a, i < 2 ? h_server() : h_printer("P1"), types[i % 2], PER, UNI);
    panp_frame *e = req_error(w, a, h_register_frame(h_printer("P2"), H_TYPE_A, PER, UNI),
                              PANP_ERR_RESOURCE_EXHAUSTED, NULL);
    assert_non_null(strstr(e->body.error.message, "per connection"));
    h_register(w, a2, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, a2, h_server(), H_TYPE_B, PER, UNI);
    e = req_error(w, a2, h_register_frame(h_printer("P2"), H_TYPE_A, PER, UNI),
                  PANP_ERR_RESOURCE_EXHAUSTED, NULL);
    assert_non_null(strstr(e->body.error.message, "per user"));
    /* other users are not affected */
    h_register(w, b, h_server(), H_TYPE_A, PER, UNI);
    /* a closed connection gives its quota back */
    h_disconnect(w, a, CORE_GONE_EOF);
    h_register(w, a2, h_printer("P2"), H_TYPE_A, PER, UNI);
    h_free(w);
}

/* [PANP-ERR-2] [PANP-ERR-5] */
static void t_register_random_failure(void **state)
{
    h_world *w = *state;
    h_conn *a = h_connect(w, "alice");
    w->random_fails = 1;
    req_error(w, a, h_register_frame(h_server(), H_TYPE_A, PER, UNI), PANP_ERR_INTERNAL, NULL);
    w->random_fails = 0;
    h_register(w, a, h_server(), H_TYPE_A, PER, UNI);
}

static panp_frame *list(h_world *w, h_conn *c, panp_target t, uint32_t offset)
{
    panp_frame f = {.kind = PANP_BODY_LIST_REGISTRATIONS};
    f.body.list_registrations.target = t;
    f.body.list_registrations.offset = offset;
    h_request(w, c, &f);
    return h_expect(w, c, PANP_BODY_REGISTRATION_LIST);
}

/* [PANP-REG-16] [PANP-REG-17] */
static void t_list_registrations_scopes(void **state)
{
    h_world *w = *state;
    h_conn *a = h_connect(w, "alice");
    h_conn *a2 = h_connect(w, "alice");
    h_conn *b = h_connect(w, "bob");
    h_conn *pa = h_connect(w, "padmin");
    h_handle ha = h_register(w, a, h_printer("P1"), H_TYPE_A, PER, UNI);
    h_register(w, a2, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, b, h_printer("P1"), H_TYPE_B, PER, BIDI);
    h_register(w, b, h_printer("P2"), H_TYPE_B, PER, BIDI);

    /* no target: the caller's own, every target; handles only where usable */
    panp_frame *l = list(w, a, (panp_target){0}, 0);
    const panp_registration_list *rl = &l->body.registration_list;
    assert_int_equal(rl->total, 2);
    assert_int_equal(rl->registrations_count, 2);
    assert_true(h_bytes_eq(rl->registrations[0].handle, ha.b, 16));
    assert_int_equal(rl->registrations[0].target.kind, PANP_TARGET_PRINTER);
    assert_string_equal(rl->registrations[0].target.printer, "P1");
    assert_int_equal(rl->registrations[0].lease_remaining_seconds, 86400);
    assert_int_equal(rl->registrations[1].handle.len, 0); /* alice's other connection */
    assert_string_equal(rl->registrations[1].user, "alice");

    /* a target it does not administer: its own there */
    l = list(w, b, h_printer("P1"), 0);
    assert_int_equal(l->body.registration_list.total, 1);
    assert_string_equal(l->body.registration_list.registrations[0].user, "bob");

    /* a target it administers: everyone's, handles only for its own */
    l = list(w, pa, h_printer("P1"), 0);
    rl = &l->body.registration_list;
    assert_int_equal(rl->total, 2);
    for (size_t i = 0; i < rl->registrations_count; i++) assert_int_equal(rl->registrations[i].handle.len, 0);
    assert_string_equal(rl->registrations[0].user, "alice");
    assert_int_equal(rl->registrations[1].style, BIDI);

    /* unknown printer */
    panp_frame f = {.kind = PANP_BODY_LIST_REGISTRATIONS};
    f.body.list_registrations.target = h_printer("Nope");
    h_request(w, pa, &f);
    h_expect_error(w, pa, PANP_ERR_NOT_FOUND, false);
}

/* [PANP-REG-18] */
static void t_list_registrations_paging(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_registrations = 100;
    for (int i = 0; i < 40; i++) {
        char n[16];
        snprintf(n, sizeof(n), "Q%02d", i);
        conf_add_printer(w->cfg, n);
    }
    h_start(w);
    h_conn *c = h_connect(w, "alice");
    for (int i = 0; i < 40; i++) {
        char n[16];
        snprintf(n, sizeof(n), "Q%02d", i);
        h_register(w, c, h_printer(n), H_TYPE_A, PER, UNI);
    }
    panp_frame *l = list(w, c, (panp_target){0}, 0);
    assert_int_equal(l->body.registration_list.total, 40);
    assert_int_equal(l->body.registration_list.registrations_count, 32);
    assert_string_equal(l->body.registration_list.registrations[31].target.printer, "Q31");
    l = list(w, c, (panp_target){0}, 32);
    assert_int_equal(l->body.registration_list.registrations_count, 8);
    assert_string_equal(l->body.registration_list.registrations[0].target.printer, "Q32");
    l = list(w, c, (panp_target){0}, 40);
    assert_int_equal(l->body.registration_list.registrations_count, 0);
    assert_int_equal(l->body.registration_list.total, 40);
    h_free(w);
}

/* [PANP-REG-18] [PANP-FRAME-7] */
static void t_list_registrations_fits_small_frames(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_registrations = 64;
    char name[300];
    for (int i = 0; i < 32; i++) {
        memset(name, 'q', 250);
        snprintf(name + 250, 50, "%02d", i);
        conf_add_printer(w->cfg, name);
    }
    h_start(w);
    h_conn *c = h_connect_opts(w, "alice", "", 4096);
    for (int i = 0; i < 32; i++) {
        memset(name, 'q', 250);
        snprintf(name + 250, 50, "%02d", i);
        h_register(w, c, h_printer(name), H_TYPE_A, PER, UNI);
    }
    uint32_t seen = 0;
    while (seen < 32) {
        panp_frame *l = list(w, c, (panp_target){0}, seen); /* decoded under a 4096 limit */
        assert_true(l->body.registration_list.registrations_count > 0);
        assert_true(l->body.registration_list.registrations_count < 32);
        seen += (uint32_t)l->body.registration_list.registrations_count;
    }
    assert_int_equal(seen, 32);
    h_free(w);
}

/* [PANP-REG-7] field rules first, then NOT_FOUND, ACCESS_DENIED, ALREADY_REGISTERED, limits */
static void t_register_check_order(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_registrations = 1;
    h_start(w);
    h_conn *c = h_connect(w, "alice");
    static const uint8_t nil[16];
    h_register(w, c, h_server(), H_TYPE_A, PER, UNI); /* now at the per-connection limit */
    /* a bad type and an unknown printer: the field rule wins */
    h_reject_both(w, c, h_register_frame(h_printer("Nope"), nil, ALL, UNI),
                  PANP_ERR_INVALID_ARGUMENT, "register.notification_type");
    /* unknown printer and ALL_USERS without rights: NOT_FOUND */
    h_reject_both(w, c, h_register_frame(h_printer("Nope"), H_TYPE_A, ALL, UNI), PANP_ERR_NOT_FOUND,
                  "register.target.printer");
    /* ALL_USERS without rights and a duplicate: ACCESS_DENIED */
    h_reject_both(w, c, h_register_frame(h_server(), H_TYPE_A, ALL, UNI), PANP_ERR_ACCESS_DENIED,
                  "register.user_filter");
    /* a duplicate at the limit: ALREADY_REGISTERED */
    h_reject_both(w, c, h_register_frame(h_server(), H_TYPE_A, PER, UNI),
                  PANP_ERR_ALREADY_REGISTERED, "register");
    h_reject_both(w, c, h_register_frame(h_server(), H_TYPE_B, PER, UNI),
                  PANP_ERR_RESOURCE_EXHAUSTED, "register");
    h_free(w);
}

/* [PANP-WIRE-13] [PANP-WIRE-14] target required; an empty printer name is invalid, not unknown */
static void t_register_target_rules(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    h_reject_both(w, c, h_register_frame(h_printer(""), H_TYPE_A, PER, UNI),
                  PANP_ERR_INVALID_ARGUMENT, "register.target.printer");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.register_listener.target = (panp_target){PANP_TARGET_EMPTY, NULL};
    uint64_t rid = h_inject(w, c, &f);
    panp_frame *e = h_expect_error(w, c, PANP_ERR_INVALID_ARGUMENT, false);
    assert_int_equal(e->request_id, rid);
    assert_string_equal(e->body.error.field, "register.target");
    /* [PANP-TERM-2] printer names are compared byte for byte */
    h_reject_both(w, c, h_register_frame(h_printer("p1"), H_TYPE_A, PER, UNI), PANP_ERR_NOT_FOUND,
                  "register.target.printer");
}

/* [PANP-REG-6] the broker-wide limit */
static void t_registration_limit_broker_wide(void **state)
{
    (void)state;
    h_world *w = h_new();
    w->cfg->limits.max_registrations_total = 3;
    h_start(w);
    h_conn *a = h_connect(w, "alice");
    h_conn *b = h_connect(w, "bob");
    h_register(w, a, h_server(), H_TYPE_A, PER, UNI);
    h_register(w, a, h_server(), H_TYPE_B, PER, UNI);
    h_register(w, b, h_server(), H_TYPE_A, PER, UNI);
    panp_frame *e = req_error(w, b, h_register_frame(h_server(), H_TYPE_B, PER, UNI),
                              PANP_ERR_RESOURCE_EXHAUSTED, "register");
    assert_non_null(strstr(e->body.error.message, "broker"));
    h_free(w);
}

/* [PANP-LEASE-2] not earlier than granted, at most 1 s later */
static void t_lease_precision(void **state)
{
    h_world *w = *state;
    h_conn *c = h_connect(w, "alice");
    panp_frame f = h_register_frame(h_server(), H_TYPE_A, PER, UNI);
    f.body.register_listener.lease_seconds = 3;
    h_request(w, c, &f);
    h_expect(w, c, PANP_BODY_REGISTERED);
    h_advance(w, 2999);
    h_expect_none(w, c);
    panp_frame *l = list(w, c, (panp_target){0}, 0);
    assert_int_equal(l->body.registration_list.registrations[0].lease_remaining_seconds, 1);
    h_advance(w, 1);
    h_expect(w, c, PANP_BODY_REGISTRATION_ENDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_register_ok),
        T(t_register_bad_types),
        T(t_register_unspecified_enums),
        T(t_register_unknown_printer),
        T(t_register_all_users_needs_admin),
        T(t_register_duplicate),
        T(t_unregister_and_renew_by_non_owner),
        T(t_lease_grants),
        cmocka_unit_test(t_lease_uncapped),
        T(t_lease_expiry_and_renew),
        T(t_renew_lease_zero_gets_max),
        cmocka_unit_test(t_registration_limits),
        T(t_register_random_failure),
        T(t_list_registrations_scopes),
        cmocka_unit_test(t_list_registrations_paging),
        cmocka_unit_test(t_list_registrations_fits_small_frames),
        cmocka_unit_test(t_register_check_order),
        T(t_register_target_rules),
        cmocka_unit_test(t_registration_limit_broker_wide),
        T(t_lease_precision),
    };
    return cmocka_run_group_tests_name("panpd-core-reg", tests, NULL, NULL);
}
