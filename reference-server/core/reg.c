/* reg.c - registrations: Register, Renew, Unregister, ListRegistrations,
 * leases, and the (target, type, style) buckets that matching walks.
 *
 * A registration belongs to its user and lives on the connection that made
 * it; a handle presented on any other connection is answered exactly like
 * one that never existed, so handles reveal nothing across connections. */
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

static void match_key(uint8_t key[MATCH_KEY_LEN], uint32_t target, const uint8_t type[16],
                      panp_style style)
{
    key[0] = (uint8_t)(target >> 24);
    key[1] = (uint8_t)(target >> 16);
    key[2] = (uint8_t)(target >> 8);
    key[3] = (uint8_t)target;
    memcpy(key + 4, type, PANP_UUID_LEN);
#ifdef PANPD_BROKEN_NO_TYPE_FILTER
    /* BROKEN ON PURPOSE (conformance/broken.mk): every type meets every other */
    memset(key + 4, 0, PANP_UUID_LEN);
#endif
    key[4 + PANP_UUID_LEN] = (uint8_t)style;
}

bucket *bucket_get(core *c, uint32_t target, const uint8_t type[16], panp_style style, bool create)
{
    uint8_t key[MATCH_KEY_LEN];
    match_key(key, target, type, style);
    bucket *b = hmap_get(&c->buckets, key, sizeof(key));
    if (b || !create) return b;
    b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    memcpy(b->key, key, sizeof(key));
    list_init(&b->regs);
    list_init(&b->waiting);
    list_init(&b->open);
    if (hmap_put(&c->buckets, b->key, sizeof(b->key), b) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

void bucket_maybe_free(core *c, bucket *b)
{
    if (!b || !list_empty(&b->regs) || !list_empty(&b->open) || !list_empty(&b->waiting)) return;
    hmap_del(&c->buckets, b->key, sizeof(b->key));
    free(b);
}

static uint32_t lease_grant(const core *c, uint32_t asked)
{
    uint32_t max = c->cfg->limits.max_lease_seconds;
    if (max == 0) return asked;
    return asked == 0 || asked > max ? max : asked;
}

static int lease_start(core *c, reg *r, uint32_t secs)
{
    r->lease_granted = secs;
    if (secs == 0) {
        timer_cancel(&c->timers, &r->lease);
        return 0;
    }
    return timer_arm(&c->timers, &r->lease, c->now + (uint64_t)secs * 1000);
}

/* This connection's live registration with this handle, or NULL. */
static reg *own_reg(core *c, core_conn *conn, panp_bytes handle)
{
    if (handle.len != PANP_UUID_LEN) return NULL;
    reg *r = hmap_get(&c->regs, handle.data, handle.len);
    return r && r->conn == conn ? r : NULL;
}

static void reg_free(core *c, reg *r)
{
    timer_cancel(&c->timers, &r->lease);
    hmap_del(&c->regs, r->handle, sizeof(r->handle));
    list_remove(&r->conn_link);
    list_remove(&r->bucket_link);
    list_remove(&r->all_link);
    r->conn->nregs--;
    if (r->conn->user) r->conn->user->regs--;
    c->stats.registrations--;
    bucket_maybe_free(c, r->b);
    free(r);
}

/* Ends a registration while its connection lives on: its queued
 * notifications are discarded and its unacquired questions withdrawn, so
 * nothing for it follows the final event (Ok or RegistrationEnded). */
static void reg_end(core *c, reg *r, panp_close_reason reason)
{
    conv_reg_ending(c, r, reason);
    emit_discard_reg(c, r->conn, r->serial);
}

static bool new_handle(core *c, uint8_t out[PANP_UUID_LEN])
{
    for (int tries = 0; tries < 4; tries++) {
        if (c->hooks.random(c->hooks.ud, out, PANP_UUID_LEN) != 0) return false;
        if (!hmap_get(&c->regs, out, PANP_UUID_LEN)) return true;
    }
    return false;
}

/* SPEC 9.1 steps 1 to 4, in that order (the codec applied the field
 * rules). */
static bool check_register(core *c, core_conn *conn, uint64_t rid, const panp_register *rq,
                           uint32_t *target)
{
    const panpd_limits *l = &c->cfg->limits;
    if (!conn_target_lookup(c, conn, rid, &rq->target, "register", target)) return false;
    /* BROKEN ON PURPOSE (conformance/broken.mk): PANPD_BROKEN_ALL_USERS_REGISTER leaves this out */
#ifndef PANPD_BROKEN_ALL_USERS_REGISTER
    if (rq->user_filter == PANP_USER_FILTER_ALL_USERS && !core_is_admin(c, conn, *target)) {
        emit_error(c, conn, rid, PANP_ERR_ACCESS_DENIED, "register.user_filter", false,
                   "register.user_filter: ALL_USERS needs administrator rights on the target");
        return false;
    }
#endif
    list_node *n;
    list_for_each(n, &conn->regs) {
        reg *o = list_entry(n, reg, conn_link);
        if (o->target == *target && o->style == rq->style &&
            memcmp(o->type, rq->notification_type.data, PANP_UUID_LEN) == 0) {
            emit_error(c, conn, rid, PANP_ERR_ALREADY_REGISTERED, "register", false,
                       "register: this connection already listens on this target, type and style");
            return false;
        }
    }
    const char *limit = conn->nregs >= l->max_registrations               ? "per connection"
                        : conn->user->regs >= l->max_registrations_per_user ? "per user"
                        : c->stats.registrations >= l->max_registrations_total ? "in the broker"
                                                                             : NULL;
    if (limit) {
        emit_error(c, conn, rid, PANP_ERR_RESOURCE_EXHAUSTED, "register", false,
                   "register: registration limit %s reached", limit);
        return false;
    }
    return true;
}

/* A registration with room for its Notify fields, which need the handle
 * (SPEC 15.2: encoded once here, not per delivery). */
static reg *reg_new(core *c, const panp_register *rq)
{
    uint8_t handle[PANP_UUID_LEN], fields[PANP_NOTIFY_FIELDS_MAX];
    if (!new_handle(c, handle)) return NULL;
    /* Without a conversation id the fields are those of a unidirectional
     * Notify; a bidirectional registration keeps them for the client state
     * alone (its conversations encode their own). */
    size_t len = emit_notify_fields(c, handle, 0, rq->client_state, PANP_STYLE_UNIDIRECTIONAL,
                                    fields);
    if (len == 0) return NULL;
    reg *r = calloc(1, sizeof(*r) + len);
    if (!r) return NULL;
    memcpy(r->handle, handle, sizeof(handle));
    memcpy(r->notify_fields, fields, len);
    r->notify_fields_len = (uint8_t)len;
    /* client state is the last field: its bytes end the fields */
    r->client_state = (panp_bytes){r->notify_fields + len - rq->client_state.len,
                                   rq->client_state.len};
    return r;
}

void reg_on_register(core *c, core_conn *conn, uint64_t rid, const panp_register *rq)
{
    uint32_t target;
    if (!check_register(c, conn, rid, rq, &target)) return;
    reg *r = reg_new(c, rq);
    if (!r || !(r->b = bucket_get(c, target, rq->notification_type.data, rq->style, true))) {
        free(r);
        emit_error(c, conn, rid, PANP_ERR_INTERNAL, "", false, "register: no resources");
        return;
    }
    r->serial = ++c->next_reg_serial;
    r->conn = conn;
    r->target = target;
    memcpy(r->type, rq->notification_type.data, PANP_UUID_LEN);
    r->style = rq->style;
    r->filter = rq->user_filter;
    r->admin = core_is_admin(c, conn, target); /* configuration does not reload */
    timer_init(&r->lease, TK_LEASE);
    list_init(&r->convs);
    if (hmap_put(&c->regs, r->handle, sizeof(r->handle), r) != 0 ||
        lease_start(c, r, lease_grant(c, rq->lease_seconds)) != 0) {
        hmap_del(&c->regs, r->handle, sizeof(r->handle));
        bucket_maybe_free(c, r->b);
        free(r);
        emit_error(c, conn, rid, PANP_ERR_INTERNAL, "", false, "register: no resources");
        return;
    }
    list_add_tail(&conn->regs, &r->conn_link);
    list_add_tail(&r->b->regs, &r->bucket_link);
    list_add_tail(&c->all_regs, &r->all_link);
    conn->nregs++;
    conn->user->regs++;
    c->stats.registrations++;

    panp_frame f = {.request_id = rid, .kind = PANP_BODY_REGISTERED};
    f.body.registered.handle = (panp_bytes){r->handle, sizeof(r->handle)};
    f.body.registered.lease_seconds = r->lease_granted;
    emit_control(c, conn, &f);
    core_log(c, LOG_DEBUG, conn, "registered (target %u, %s, %s), lease %u s", target,
             r->style == PANP_STYLE_BIDIRECTIONAL ? "bidi" : "unidi",
             r->filter == PANP_USER_FILTER_ALL_USERS ? "all users" : "per user", r->lease_granted);
    /* After its Registered: a late listener sees questions still open. */
    if (r->style == PANP_STYLE_BIDIRECTIONAL) conv_offer_waiting(c, r);
}

static void not_found(core *c, core_conn *conn, uint64_t rid, const char *field)
{
    /* One message whether the handle exists elsewhere or not at all. */
    emit_error(c, conn, rid, PANP_ERR_NOT_FOUND, field, false,
               "%s: no such registration on this connection", field);
}

void reg_on_renew(core *c, core_conn *conn, uint64_t rid, const panp_renew *rq)
{
    reg *r = own_reg(c, conn, rq->handle);
    if (!r) {
        not_found(c, conn, rid, "renew.handle");
        return;
    }
    if (lease_start(c, r, lease_grant(c, rq->lease_seconds)) != 0) {
        emit_error(c, conn, rid, PANP_ERR_INTERNAL, "", false, "renew: no resources");
        return;
    }
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_RENEWED};
    f.body.renewed.lease_seconds = r->lease_granted;
    emit_control(c, conn, &f);
}

void reg_on_unregister(core *c, core_conn *conn, uint64_t rid, const panp_unregister *rq)
{
    reg *r = own_reg(c, conn, rq->handle);
#ifdef PANPD_BROKEN_FOREIGN_UNREGISTER
    /* BROKEN ON PURPOSE (conformance/broken.mk): any connection's handle will do */
    if (!r && rq->handle.len == PANP_UUID_LEN) r = hmap_get(&c->regs, rq->handle.data, rq->handle.len);
#endif
    if (!r) {
        not_found(c, conn, rid, "unregister.handle");
        return;
    }
    reg_end(c, r, PANP_CLOSE_REASON_UNREGISTERED);
    reg_free(c, r);
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_OK};
    emit_control(c, conn, &f);
}

void reg_lease_expired(core *c, reg *r)
{
    core_conn *conn = r->conn;
    core_log(c, LOG_DEBUG, conn, "lease expired for a registration");
    panp_frame f = {.kind = PANP_BODY_REGISTRATION_ENDED};
    uint8_t handle[PANP_UUID_LEN];
    memcpy(handle, r->handle, sizeof(handle));
    reg_end(c, r, PANP_CLOSE_REASON_LEASE_EXPIRED);
    reg_free(c, r);
    f.body.registration_ended.handle = (panp_bytes){handle, sizeof(handle)};
    f.body.registration_ended.reason = PANP_REG_END_LEASE_EXPIRED;
    emit_control(c, conn, &f);
}

void reg_drop_all(core *c, core_conn *conn)
{
    while (!list_empty(&conn->regs)) {
        reg *r = list_entry(conn->regs.next, reg, conn_link);
        conv_reg_ending(c, r, PANP_CLOSE_REASON_UNSPECIFIED);
        reg_free(c, r);
    }
}

/* ---- ListRegistrations */

typedef struct list_scope {
    bool all_targets;
    uint32_t target;
    bool admin; /* of target: every user's registrations */
} list_scope;

static bool in_scope(const core_conn *conn, const list_scope *s, const reg *r)
{
    if (!s->all_targets && r->target != s->target) return false;
    if (s->admin) return true;
    return strcmp(r->conn->user->name, conn->user->name) == 0;
}

static size_t info_size(const core *c, const reg *r)
{
    const char *printer = conf_target_name(c->cfg, r->target);
    /* Generous per-entry bound: tags, lengths and varints at their largest. */
    return 3 + (2 + PANP_UUID_LEN) + (3 + strlen(r->conn->user->name)) +
           (6 + (printer ? strlen(printer) : 0)) + (2 + PANP_UUID_LEN) + 2 + 2 + 6;
}

void reg_on_list(core *c, core_conn *conn, uint64_t rid, const panp_list_registrations *rq)
{
    list_scope s = {.all_targets = rq->target.kind == PANP_TARGET_NONE};
    if (!s.all_targets) {
        if (!conn_target_lookup(c, conn, rid, &rq->target, "list_registrations", &s.target))
            return;
        s.admin = core_is_admin(c, conn, s.target);
    }
    panp_registration_info page[LIST_PAGE_MAX];
    size_t n = 0, budget = conn->peer_max_frame - 32;
    uint32_t total = 0;
    list_node *node;
    list_for_each(node, &c->all_regs) {
        const reg *r = list_entry(node, reg, all_link);
        if (!in_scope(conn, &s, r)) continue;
        uint32_t idx = total++;
        if (idx < rq->offset || n == LIST_PAGE_MAX) continue;
        size_t sz = info_size(c, r);
        if (sz > budget) {
            budget = 0;
            continue;
        }
        budget -= sz;
        panp_registration_info *e = &page[n++];
        memset(e, 0, sizeof(*e));
        /* The handle only to the connection that can use it. */
        if (r->conn == conn) e->handle = (panp_bytes){r->handle, sizeof(r->handle)};
        e->user = r->conn->user->name;
        const char *printer = conf_target_name(c->cfg, r->target);
        e->target = printer ? (panp_target){PANP_TARGET_PRINTER, printer}
                            : (panp_target){PANP_TARGET_SERVER, NULL};
        e->notification_type = (panp_bytes){r->type, sizeof(r->type)};
        e->user_filter = r->filter;
        e->style = r->style;
        if (r->lease_granted && timer_armed(&r->lease)) {
            uint64_t left = r->lease.when > c->now ? r->lease.when - c->now : 0;
            e->lease_remaining_seconds = (uint32_t)((left + 999) / 1000);
            if (e->lease_remaining_seconds == 0) e->lease_remaining_seconds = 1;
        }
    }
    panp_frame f = {.request_id = rid, .kind = PANP_BODY_REGISTRATION_LIST};
    f.body.registration_list.registrations = page;
    f.body.registration_list.registrations_count = n;
    f.body.registration_list.total = total;
    emit_control(c, conn, &f);
}
