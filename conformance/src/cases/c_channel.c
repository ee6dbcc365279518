/* cases/c_channel.c - OpenChannel, ids, Send, Notify contents, CloseChannel
 * and unidirectional channels (SPEC sections 10, 11, 24). */
#include "common.h"

static const pc_identity *sender(pc_t *t) { return pc_who(t, PC_ROLE_SENDER, 0); }

static panp_open_channel open_args(pc_t *t, panp_target tg, panp_user_filter uf, panp_style st)
{
    return pc_open_args(tg, t->type, uf, st);
}

/* A sender-user listener (row 3 of 13.2 makes it a recipient) and a sender. */
typedef struct uni_pair {
    pc_reg l;
    pc_conn *s;
    uint64_t ch;
} uni_pair;

static uni_pair uni_setup(pc_t *t, panp_style st)
{
    uni_pair p;
    p.l = listen_on(t, sender(t), "listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, st);
    p.s = pc_connect(t, sender(t), "sender");
    p.ch = pc_open(p.s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, st);
    return p;
}

/* ---- OpenChannel ----------------------------------------------------------- */

static void run_open_basic(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    /* one connection both registers and opens (TERM-1) */
    pc_register(c, pc_server(), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t ids[8];
    for (size_t i = 0; i < 8; i++) {
        panp_style st = i % 2 ? PANP_STYLE_BIDIRECTIONAL : PANP_STYLE_UNIDIRECTIONAL;
        panp_target tg = i % 4 < 2 ? pc_server() : pc_printer(pc_printer_name(t, 0));
        ids[i] = pc_open(c, tg, t->type, PANP_USER_FILTER_PER_USER, st);
        for (size_t j = 0; j < i; j++)
            if (ids[j] == ids[i]) pc_fail(t, "PANP-CHAN-10", "a new channel id for every channel", "%" PRIu64 " twice", ids[i]);
    }
    pc_register(c, pc_printer(pc_printer_name(t, 0)), t->type2, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
}

static void run_open_no_target(pc_t *t)
{
    refuse_no_target(pc_connect(t, sender(t), "sender"), PANP_BODY_OPEN_CHANNEL, "PANP-CHAN-2");
}

/* arg: the type */
static void run_open_bad_type(pc_t *t)
{
    refuse_type(pc_connect(t, sender(t), "sender"), PANP_BODY_OPEN_CHANNEL, t->def->arg, "PANP-CHAN-3");
}

static void run_open_empty_owner(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_TRUSTED, 0), "trusted");
    /* a JobContext with a job id but no owner, built by hand */
    pbw body = PBW_INIT, tg = PBW_INIT, srv = PBW_INIT, job = PBW_INIT, f = PBW_INIT;
    pbw_msg(&tg, 1, &srv);
    pbw_msg(&body, 1, &tg);
    pbw_bytes(&body, 2, t->type, PANP_UUID_LEN);
    pbw_uint(&body, 3, PANP_USER_FILTER_PER_USER);
    pbw_uint(&body, 4, PANP_STYLE_UNIDIRECTIONAL);
    pbw_uint(&job, 1, 42);
    pbw_msg(&body, 5, &job);
    frame_wrap(&f, 5, PANP_BODY_OPEN_CHANNEL, &body);
    pc_send_pbw_req(c, &f, 5, "OpenChannel on behalf of job 42 with an empty job_owner");
    pbw_free(&body);
    pbw_free(&tg);
    pbw_free(&job);
    pbw_free(&f);
    pc_check_error(c, pc_response(c, 5, "PANP-CHAN-4"), PANP_ERR_INVALID_ARGUMENT, false, "PANP-CHAN-4",
                   "open_channel.on_behalf_of.job_owner");
}

static void run_open_plain_denied(pc_t *t)
{
    pc_conn *c = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "plain");
    panp_open_channel o = open_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-5", "open_channel");
    o.target = pc_printer(pc_printer_name(t, 0));
    pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-5", "open_channel");
}

static void run_open_printer_admin(pc_t *t)
{
    const pc_identity *pa = pc_who(t, PC_ROLE_PRINTER_ADMIN, 0);
    if (pa->sender || pa->trusted) pc_skip(t, "not applicable: the profile's printer administrator may open channels anywhere");
    pc_conn *c = pc_connect(t, pa, "printer-admin");
    panp_open_channel o = open_args(t, pc_printer(pc_admin_printer(t, pa)), PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
    pc_open_x(c, &o, "PANP-AUTH-8");
    o.target = pc_server();
    o.user_filter = PANP_USER_FILTER_PER_USER;
    pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-5", "open_channel");
    o.target = pc_printer(pc_nonadmin_printer(t, pa));
    pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-5", "open_channel");
}

static void run_open_on_behalf_untrusted(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    panp_open_channel o = open_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    o.has_on_behalf_of = true;
    o.on_behalf_of = (panp_job_context){7, pc_who(t, PC_ROLE_PLAIN, 0)->user, ""};
    pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-6", "open_channel.on_behalf_of");
    pc_conn *a = pc_connect(t, pc_who(t, PC_ROLE_SERVER_ADMIN, 0), "server-admin");
    if (!pc_who(t, PC_ROLE_SERVER_ADMIN, 0)->trusted)
        pc_open_err(a, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-6", "open_channel.on_behalf_of");
}

static void run_open_all_users_denied(pc_t *t)
{
    const pc_identity *ids[] = {sender(t), pc_who(t, PC_ROLE_TRUSTED, 0)};
    for (size_t i = 0; i < 2; i++) {
        pc_conn *c = pc_connect(t, ids[i], ids[i]->name);
        panp_open_channel o = open_args(t, pc_server(), PANP_USER_FILTER_ALL_USERS, PANP_STYLE_UNIDIRECTIONAL);
        pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-7", "open_channel.user_filter");
        o.target = pc_printer(pc_printer_name(t, 0));
        pc_open_err(c, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-7", "open_channel.user_filter");
    }
}

static void run_open_check_order(pc_t *t)
{
    pc_conn *plain = pc_connect(t, pc_who(t, PC_ROLE_PLAIN, 0), "plain");
    panp_open_channel o = open_args(t, pc_printer(t->opt->profile->absent_printer), PANP_USER_FILTER_ALL_USERS,
                                    PANP_STYLE_UNIDIRECTIONAL);
    o.has_on_behalf_of = true;
    o.on_behalf_of = (panp_job_context){1, "someone", ""};
    pc_open_err(plain, &o, PANP_ERR_NOT_FOUND, "PANP-CHAN-9", "open_channel.target.printer"); /* step 1 */
    o.target = pc_server();
    pc_open_err(plain, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-9", "open_channel"); /* step 2 */
    pc_conn *s = pc_connect(t, sender(t), "sender");
    pc_open_err(s, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-9", "open_channel.on_behalf_of"); /* step 3 */
    pc_conn *tr = pc_connect(t, pc_who(t, PC_ROLE_TRUSTED, 0), "trusted");
    pc_open_err(tr, &o, PANP_ERR_ACCESS_DENIED, "PANP-CHAN-9", "open_channel.user_filter"); /* step 4 */
}

static void run_open_limit(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    size_t max = c->limits.max_channels;
    if (max > 4096) pc_skip(t, "not applicable: max_channels above 4096");
    uint64_t first = 0;
    for (size_t i = 0; i < max; i++) {
        uint64_t ch = pc_open(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        if (!first) first = ch;
    }
    panp_open_channel o = open_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_open_err(c, &o, PANP_ERR_RESOURCE_EXHAUSTED, "PANP-CHAN-8", "open_channel");
    pc_close_channel(c, first, 0, NULL, NULL, NULL);
    pc_open_x(c, &o, "PANP-CHAN-8"); /* only open channels count */
}

static void run_open_limit_per_user(pc_t *t)
{
    uint32_t per_user = t->opt->profile->max_channels_per_user;
    if (!per_user) pc_skip(t, "not applicable: the profile gives no max_channels_per_user");
    uint32_t done = 0;
    while (done < per_user) {
        pc_conn *c = pc_connect(t, sender(t), pc_sprintf(t, "sender-%u", done));
        for (size_t i = 0; i < c->limits.max_channels && done < per_user; i++, done++)
            pc_open(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    }
    pc_conn *last = pc_connect(t, sender(t), "one-too-many");
    panp_open_channel o = open_args(t, pc_server(), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_open_err(last, &o, PANP_ERR_RESOURCE_EXHAUSTED, "PANP-CHAN-8", "open_channel");
    pc_conn *other = pc_connect(t, pc_who(t, PC_ROLE_TRUSTED, 0), "other-user");
    pc_open_x(other, &o, "PANP-LIM-6");
}

static void run_open_absent_printer(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    panp_open_channel o = open_args(t, pc_printer(t->opt->profile->absent_printer), PANP_USER_FILTER_PER_USER,
                                    PANP_STYLE_UNIDIRECTIONAL);
    pc_open_err(c, &o, PANP_ERR_NOT_FOUND, "PANP-REG-4", "open_channel.target.printer");
}

/* ---- ids ---------------------------------------------------------------- */

static void run_closed_id(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    uint64_t ch = pc_open(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_close_channel(c, ch, 0, NULL, NULL, NULL);
    pc_notify_err(c, ch, t->type, "late", PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11");
    panp_frame f = pc_close_frame(ch, 0, NULL, NULL);
    pc_call_error(c, &f, PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11", "close_channel.channel_id");
}

static void run_unknown_ids(pc_t *t)
{
    pc_conn *mine = pc_connect(t, sender(t), "sender");
    pc_conn *other = pc_connect(t, sender(t), "other-connection");
    uint64_t foreign = pc_open(other, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t own = pc_open(mine, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t never = own ^ 0x5a5a5a5a00000000ull;
    if (never == foreign) never ^= 1;
    pc_notify_err(mine, 0, t->type, "x", PANP_ERR_CHANNEL_NOT_OPENED, "PANP-CHAN-12");
    panp_frame a = {.kind = PANP_BODY_SEND, .body.send = {foreign, pc_uuid(t->type), pc_s("x")}};
    const panp_frame *ea = pc_call_error(mine, &a, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-CHAN-12", "send.channel_id");
    panp_frame b = {.kind = PANP_BODY_SEND, .body.send = {never, pc_uuid(t->type), pc_s("x")}};
    const panp_frame *eb = pc_call_error(mine, &b, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-CHAN-12", "send.channel_id");
    if (strcmp(ea->body.error.message, eb->body.error.message))
        pc_fail(t, "PANP-CHAN-13", "the same Error for another connection's channel as for one never issued",
                "%s / %s", pc_frame_text(t, ea), pc_frame_text(t, eb));
    panp_frame close_other = pc_close_frame(foreign, 0, NULL, NULL);
    pc_call_error(mine, &close_other, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-CHAN-12", "close_channel.channel_id");
    pc_notify(other, foreign, t->type, "still open", "PANP-ERR-7"); /* untouched */
}

/* ---- Send ----------------------------------------------------------------- */

static void run_send_type_mismatch(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    pc_notify_err(p.s, p.ch, t->type2, "wrong type", PANP_ERR_TYPE_MISMATCH, "PANP-CHAN-14");
    panp_frame f = {.kind = PANP_BODY_SEND, .body.send = {p.ch, pc_uuid(t->type2), pc_s("x")}};
    pc_call_error(p.s, &f, PANP_ERR_TYPE_MISMATCH, "PANP-CHAN-14", "send.notification_type");
    pc_notify_err(p.s, p.ch, PANP_TYPE_NOTIFICATION_RELEASE, "release", PANP_ERR_TYPE_MISMATCH, "PANP-REL-2");
    panp_sent s = pc_notify(p.s, p.ch, t->type, "right type", NULL);
    if (s.sequence != 1) pc_fail(t, "PANP-CHAN-15", "sequence 1 after refused Sends", "%" PRIu64, s.sequence);
    pc_settle(p.s, &p.l.c, 1);
    notify_now(p.l.c, p.ch, 1, "PANP-UNI-1");
    pc_assert_no_notify(p.l.c, p.ch, "PANP-ERR-7");
}

static void run_send_sequence(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    uint64_t expect = 1;
    for (int i = 0; i < 10; i++) {
        if (i % 3 == 2) pc_notify_err(p.s, p.ch, t->type2, "refused", PANP_ERR_TYPE_MISMATCH, "PANP-CHAN-14");
        panp_sent s = pc_notify(p.s, p.ch, t->type, pc_sprintf(t, "n%d", i), NULL);
        if (s.sequence != expect || s.recipients != 1)
            pc_fail(t, "PANP-CHAN-15", pc_sprintf(t, "Sent{seq=%" PRIu64 " recipients=1}", expect),
                    "Sent{seq=%" PRIu64 " recipients=%u}", s.sequence, s.recipients);
        expect++;
    }
    for (uint64_t q = 1; q < expect; q++) pc_await_notify(p.l.c, p.ch, q, "PANP-ORD-1");
}

static void run_send_no_listeners(pc_t *t)
{
    pc_conn *s = pc_connect(t, sender(t), "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    panp_sent st = pc_notify(s, ch, t->type, "anyone?", "PANP-CHAN-16");
    if (st.recipients != 0 || st.sequence != 1)
        pc_fail(t, "PANP-CHAN-16", "Sent{seq=1 recipients=0}: no listeners is a success", "seq=%" PRIu64 " recipients=%u",
                st.sequence, st.recipients);
}

static void run_not_to_own_connection(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    /* a unidirectional notification, then a question (offered to nobody) */
    static const panp_style styles[] = {PANP_STYLE_UNIDIRECTIONAL, PANP_STYLE_BIDIRECTIONAL};
    for (size_t i = 0; i < 2; i++) {
        pc_register(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, styles[i]);
        uint64_t ch = pc_open(c, pc_server(), t->type, PANP_USER_FILTER_PER_USER, styles[i]);
        panp_sent st = pc_notify(c, ch, t->type, "to myself?", NULL);
        pc_barrier(c, NULL);
        pc_assert_no_notify(c, ch, "PANP-CHAN-17");
        if (st.recipients)
            pc_fail(t, "PANP-CHAN-17", pc_sprintf(t, "recipients 0 (%s)", i ? "bidirectional" : "unidirectional"), "%u",
                    st.recipients);
    }
}

static void check_notify_fields(pc_t *t, const panp_notify *n, const pc_reg *r, uint64_t ch, const char *payload,
                                const char *state, const char *user, uint32_t job, const char *owner)
{
    const char *why = NULL;
    if (!pc_bytes_eq(n->registration, r->handle, r->hlen)) why = "registration";
    else if (n->conversation_id) why = "conversation_id (0 on a unidirectional channel)";
    else if (!pc_bytes_eq(n->client_state, state, strlen(state))) why = "client_state";
    else if (n->channel_id != ch || n->sequence != 1) why = "channel_id / sequence";
    else if (!panp_bytes_is_uuid(n->notification_type, t->type)) why = "notification_type";
    else if (n->style != PANP_STYLE_UNIDIRECTIONAL) why = "style";
    else if (!n->has_sender || strcmp(n->sender.user, user)) why = "sender.user";
    else if (n->sender.job_id != job || strcmp(n->sender.job_owner, owner)) why = "sender.job_id / job_owner";
    else if (n->target.kind != PANP_TARGET_PRINTER || strcmp(n->target.printer, pc_printer_name(t, 0))) why = "target";
    else if (!pc_bytes_eq(n->payload, payload, strlen(payload))) why = "payload";
    if (why) pc_fail(t, job ? "PANP-CHAN-19" : "PANP-CHAN-18", pc_sprintf(t, "Notify.%s as in section 10.4", why),
                     "sender %s: Notify{reg len %zu, conv %" PRIu64 ", chan %" PRIu64 ", seq %" PRIu64 ", sender %s}", user,
                     n->registration.len, n->conversation_id, n->channel_id, n->sequence, n->has_sender ? n->sender.user : "-");
}

static void run_notify_fields(pc_t *t)
{
    const pc_identity *sid = sender(t);
    pc_conn *l = pc_connect(t, sid, "listener");
    panp_register r = pc_reg_args(pc_printer(pc_printer_name(t, 0)), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    static const char state[] = "state:\x00\x01\xff binary ok";
    r.client_state = pc_b(state, sizeof(state) - 1);
    pc_reg reg = pc_register_x(l, &r, NULL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_printer(pc_printer_name(t, 0)), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    static const char payload[] = "payload \x00\x01\x02 arbitrary bytes";
    panp_frame f = {.kind = PANP_BODY_SEND, .body.send = {ch, pc_uuid(t->type), pc_b(payload, sizeof(payload) - 1)}};
    pc_call_expect(s, &f, PANP_BODY_SENT, NULL);
    const panp_notify *n = pc_await_notify(l, ch, 1, NULL);
    /* compare with the binary-safe lengths */
    if (n->client_state.len != sizeof(state) - 1 || memcmp(n->client_state.data, state, sizeof(state) - 1))
        pc_fail(t, "PANP-CHAN-18", "client_state echoed byte for byte", "%zu bytes", n->client_state.len);
    if (n->payload.len != sizeof(payload) - 1 || memcmp(n->payload.data, payload, sizeof(payload) - 1))
        pc_fail(t, "PANP-CHAN-18", "payload unchanged", "%zu bytes", n->payload.len);
    panp_notify copy = *n;
    copy.client_state = pc_s("");
    copy.payload = pc_s("p");
    check_notify_fields(t, &copy, &reg, ch, "p", "", sid->user, 0, "");
}

static void run_notify_on_behalf(pc_t *t)
{
    const pc_identity *tr = pc_who(t, PC_ROLE_TRUSTED, 0), *owner = pc_who(t, PC_ROLE_PLAIN, 0);
    pc_reg reg = listen_on(t, owner, "owner", pc_printer(pc_printer_name(t, 0)), t->type, PANP_USER_FILTER_PER_USER,
                           PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, tr, "trusted");
    panp_open_channel o = open_args(t, pc_printer(pc_printer_name(t, 0)), PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    o.has_on_behalf_of = true;
    o.on_behalf_of = (panp_job_context){4242, owner->user, ""};
    uint64_t ch = pc_open_x(s, &o, NULL);
    pc_notify(s, ch, t->type, "p", NULL);
    const panp_notify *n = pc_await_notify(reg.c, ch, 1, "PANP-DLV-5");
    check_notify_fields(t, n, &reg, ch, "p", "", tr->user, 4242, owner->user);
}

static void run_well_known_types(pc_t *t)
{
    const uint8_t *types[] = {PANP_TYPE_ASYNC_UI, PANP_TYPE_PRINTER_CONFIGURATION, PANP_TYPE_PORT_MONITOR_CHANNEL};
    const pc_identity *sid = sender(t);
    pc_conn *l = pc_connect(t, sid, "listener");
    pc_conn *s = pc_connect(t, sid, "sender");
    /* on a printer nobody else uses in this run, to keep other cases' traffic away */
    panp_target tg = pc_printer(pc_printer_name(t, t->opt->profile->n_printers > 1 ? 1 : 0));
    for (size_t i = 0; i < 3; i++) {
        pc_register(l, tg, types[i], PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        uint64_t ch = pc_open(s, tg, types[i], PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        pc_notify(s, ch, types[i], "well-known", NULL);
        const panp_notify *n = pc_await_notify(l, ch, 1, "PANP-TYPE-3");
        if (!panp_bytes_is_uuid(n->notification_type, types[i]))
            pc_fail(t, "PANP-TYPE-1", "the type bytes in text (network) order, unchanged", "other bytes");
        pc_close_channel(s, ch, 0, NULL, NULL, NULL);
    }
}

/* ---- CloseChannel ---------------------------------------------------------- */

static void run_close_no_side(pc_t *t)
{
    pc_conn *c = pc_connect(t, sender(t), "sender");
    pbw body = PBW_INIT, f = PBW_INIT;
    frame_wrap(&f, 5, PANP_BODY_CLOSE_CHANNEL, &body);
    pc_send_pbw_req(c, &f, 5, "CloseChannel with neither channel_id nor conversation_id");
    pbw_free(&f);
    pc_check_error(c, pc_response(c, 5, "PANP-CHAN-20"), PANP_ERR_INVALID_ARGUMENT, false, "PANP-CHAN-20", "close_channel.side");
}

static void run_close_by_sender(pc_t *t)
{
    const pc_identity *sid = sender(t);
    pc_reg a = listen_on(t, sid, "listener-a", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "one");
    pc_await_notify(a.c, ch, 1, NULL);
    /* b registers after the Send: it never got a Notify, but is selected now */
    pc_reg b = listen_on(t, sid, "listener-b", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    panp_close_outcome out = pc_close_channel(s, ch, 0, t->type, "bye", "PANP-CHAN-21");
    if (out != PANP_CLOSE_OUTCOME_CLOSED) pc_fail(t, "PANP-CHAN-21", "ChannelCloseResult(CLOSED)", "%s", pc_outcome_name(out));
    pc_reg *ls[] = {&a, &b};
    for (size_t i = 0; i < 2; i++) {
        const panp_channel_closed *cc = pc_await_closed(ls[i]->c, ch, 0, PANP_CLOSE_REASON_CLOSED_BY_SENDER,
                                                        i ? "PANP-UNI-5" : "PANP-CHAN-21");
        if (!pc_bytes_eq(cc->registration, ls[i]->handle, ls[i]->hlen) ||
            cc->conversation_id || !panp_bytes_is_uuid(cc->notification_type, t->type) || !pc_bytes_eq(cc->payload, "bye", 3))
            pc_fail(t, "PANP-CHAN-23", "ChannelClosed with the registration, conversation 0, the reason's type and payload",
                    "%s", pc_frame_text(t, ls[i]->c->rx[ls[i]->c->nrx - 1].f));
    }
    pc_notify_err(s, ch, t->type, "after", PANP_ERR_CHANNEL_ALREADY_CLOSED, "PANP-CHAN-11");
}

static void run_close_without_reason(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    pc_close_channel(p.s, p.ch, 0, NULL, NULL, NULL);
    const panp_channel_closed *cc = pc_await_closed(p.l.c, p.ch, 0, PANP_CLOSE_REASON_CLOSED_BY_SENDER, "PANP-CHAN-21");
    if (cc->notification_type.len || cc->payload.len)
        pc_fail(t, "PANP-CHAN-23", "no type and no payload when the sender gave no reason", "type %zu bytes, payload %zu bytes",
                cc->notification_type.len, cc->payload.len);
}

static void run_close_reason_mismatch(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    panp_frame f = pc_close_frame(p.ch, 0, t->type2, "x");
    pc_call_error(p.s, &f, PANP_ERR_TYPE_MISMATCH, "PANP-CHAN-22", "close_channel.reason.notification_type");
    f = pc_close_frame(p.ch, 0, PANP_TYPE_NOTIFICATION_RELEASE, "");
    pc_call_error(p.s, &f, PANP_ERR_TYPE_MISMATCH, "PANP-REL-2", "close_channel.reason.notification_type");
    /* still open */
    pc_notify(p.s, p.ch, t->type, "still open", "PANP-CHAN-22");
    pc_await_notify(p.l.c, p.ch, 1, "PANP-CHAN-22");
}

static void run_close_twice_pipelined(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    panp_frame a = pc_close_frame(p.ch, 0, NULL, NULL), b = pc_close_frame(p.ch, 0, NULL, NULL);
    uint64_t ra = pc_req(p.s, &a), rb = pc_req(p.s, &b);
    const panp_frame *fa = pc_response(p.s, ra, "PANP-CHAN-25"), *fb = pc_response(p.s, rb, "PANP-CHAN-25");
    if (fa->kind != PANP_BODY_CHANNEL_CLOSE_RESULT || fa->body.channel_close_result.outcome != PANP_CLOSE_OUTCOME_CLOSED)
        pc_fail(t, "PANP-CHAN-25", "CLOSED for the first CloseChannel", "%s", pc_frame_text(t, fa));
    pc_check_error(p.s, fb, PANP_ERR_CHANNEL_ALREADY_CLOSED, false, "PANP-CHAN-25", NULL);
}

static void run_reason_too_large_for_listener(pc_t *t)
{
    const pc_identity *sid = sender(t);
    pc_hello_opts small = {.max_frame_size = PANP_MIN_MAX_FRAME};
    pc_conn *l = pc_connect_opts(t, sid, "small-listener", &small);
    pc_reg r = pc_register(l, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    (void)r;
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_close_channel(s, ch, 0, t->type, filler(t, 6000, 'r'), NULL);
    /* the harness fails the case on any frame above 4096 bytes */
    const panp_channel_closed *cc = pc_await_closed(l, ch, 0, PANP_CLOSE_REASON_CLOSED_BY_SENDER, "PANP-CHAN-26");
    if (cc->notification_type.len || cc->payload.len)
        pc_fail(t, "PANP-CHAN-26", "the ChannelClosed without type and payload", "type %zu, payload %zu bytes",
                cc->notification_type.len, cc->payload.len);
}

/* Notifications still queued in the broker when the channel closes are
 * discarded: a paused listener later reads fewer Notifies than were
 * accepted for it, then the ChannelClosed, and nothing of the channel after. */
static void run_close_discards_queued(pc_t *t)
{
    const pc_identity *sid = sender(t);
    pc_hello_opts tiny = {.rcvbuf = 4096};
    pc_conn *l = pc_connect_opts(t, sid, "slow-listener", &tiny);
    pc_register(l, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_conn *s = pc_connect(t, sid, "sender");
    uint64_t ch = pc_open(s, pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_pause(l, true);
    const char *payload = filler(t, 32768, 'q');
    uint64_t accepted = 0, max_sends = (uint64_t)s->limits.max_outbound_bytes / 32768 * 4 + 4096;
    for (uint64_t i = 0; i < max_sends; i++) {
        panp_sent st = pc_notify(s, ch, t->type, payload, NULL);
        pc_forget_used(s);
        if (!st.recipients) break; /* the listener's queue is full */
        accepted++;
    }
    pc_close_channel(s, ch, 0, NULL, NULL, NULL);
    pc_pause(l, false);
    pc_await_closed(l, ch, 0, PANP_CLOSE_REASON_CLOSED_BY_SENDER, "PANP-CHAN-21");
    size_t got = 0;
    for (size_t i = 0; i < l->nrx; i++)
        if (l->rx[i].f && l->rx[i].f->kind == PANP_BODY_NOTIFY) got++;
    pc_note(t, "%" PRIu64 " Notifies accepted for the listener, %zu delivered before the ChannelClosed", accepted, got);
    if (got >= accepted)
        pc_fail(t, "PANP-CHAN-24", "the Notifies still queued in the broker discarded at the close",
                "all %zu were delivered (with a full queue of %u bytes at the close)", got, s->limits.max_outbound_bytes);
}

/* ---- unidirectional ----------------------------------------------------------- */

static void run_uni_no_late_delivery(pc_t *t)
{
    pc_conn *s = pc_connect(t, sender(t), "sender");
    uint64_t ch = open_and_send(s, t->type, PANP_STYLE_UNIDIRECTIONAL, "early");
    pc_barrier(s, NULL);
    pc_reg l = listen_on(t, sender(t), "late-listener", pc_server(), t->type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
    pc_barrier(l.c, NULL);
    pc_assert_no_notify(l.c, ch, "PANP-UNI-2");
    pc_notify(s, ch, t->type, "now", NULL);
    pc_settle(s, &l.c, 1);
    notify_now(l.c, ch, 2, "PANP-UNI-1");
}

static void run_uni_reply_zero(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    pc_notify(p.s, p.ch, t->type, "x", NULL);
    pc_await_notify(p.l.c, p.ch, 1, NULL);
    panp_frame f = {.kind = PANP_BODY_REPLY, .body.reply = {0, pc_uuid(t->type), pc_s("reply")}};
    pc_call_error(p.l.c, &f, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-UNI-3", "reply.conversation_id");
}

static void run_uni_listener_cannot_close(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    pc_notify(p.s, p.ch, t->type, "x", NULL);
    pc_await_notify(p.l.c, p.ch, 1, NULL);
    panp_frame f = pc_close_frame(p.ch, 0, NULL, NULL);
    pc_call_error(p.l.c, &f, PANP_ERR_CHANNEL_NOT_OPENED, "PANP-UNI-4", "close_channel.channel_id");
    pc_notify(p.s, p.ch, t->type, "still open", "PANP-UNI-4");
}

static void run_uni_listener_death_silent(pc_t *t)
{
    uni_pair p = uni_setup(t, PANP_STYLE_UNIDIRECTIONAL);
    pc_notify(p.s, p.ch, t->type, "x", NULL);
    pc_await_notify(p.l.c, p.ch, 1, NULL);
    pc_close(p.l.c);
    /* wait until the broker saw the death: the registration is gone */
    pc_conn *watch = pc_connect(t, sender(t), "same-user");
    await_listed(watch, t->type, 0, "PANP-REG-11");
    pc_barrier(p.s, NULL);
    pc_assert_none(p.s, pc_m_any_closed, NULL, "PANP-UNI-6", "ChannelClosed to the sender of a unidirectional channel");
    panp_sent st = pc_notify(p.s, p.ch, t->type, "y", "PANP-UNI-6");
    if (st.recipients) pc_fail(t, "PANP-REG-11", "recipients 0", "%u", st.recipients);
}

static const pc_case_def CASES[] = {
    CASE("channel.open.basic", "PANP-CHAN-1 PANP-CHAN-10 PANP-TERM-1",
         "channels of both styles on server and printer get distinct non-zero ids; the same connection registers too", run_open_basic),
    CASE("channel.open.no-target", "PANP-CHAN-2", "OpenChannel without a target: INVALID_ARGUMENT open_channel.target", run_open_no_target),
    CASE_ARG("channel.open.type-nil", "PANP-CHAN-3", "the nil UUID: INVALID_ARGUMENT open_channel.notification_type",
             run_open_bad_type, PC_NIL_UUID),
    CASE_ARG("channel.open.type-release", "PANP-CHAN-3 PANP-REL-1",
             "NOTIFICATION_RELEASE: INVALID_ARGUMENT open_channel.notification_type", run_open_bad_type,
             PANP_TYPE_NOTIFICATION_RELEASE),
    CASE("channel.open.empty-job-owner", "PANP-CHAN-4",
         "on_behalf_of with an empty job_owner: INVALID_ARGUMENT open_channel.on_behalf_of.job_owner", run_open_empty_owner),
    CASE("channel.open.plain-user-denied", "PANP-CHAN-5",
         "a user who is no sender, not trusted and no administrator: ACCESS_DENIED open_channel", run_open_plain_denied),
    CASE("channel.open.printer-admin-scope", "PANP-CHAN-5 PANP-AUTH-8",
         "a printer administrator (not a sender) opens channels on its printer only", run_open_printer_admin),
    CASE("channel.open.on-behalf-untrusted", "PANP-CHAN-6",
         "on_behalf_of from a sender (or an administrator) who is not trusted: ACCESS_DENIED open_channel.on_behalf_of",
         run_open_on_behalf_untrusted),
    CASE("channel.open.all-users-non-admin", "PANP-CHAN-7",
         "ALL_USERS from a sender and from a trusted non-administrator: ACCESS_DENIED open_channel.user_filter",
         run_open_all_users_denied),
    CASE("channel.open.check-order", "PANP-CHAN-9",
         "NOT_FOUND, then ACCESS_DENIED open_channel, .on_behalf_of, .user_filter, in the order of 10.1", run_open_check_order),
    CASE("channel.open.limit-per-connection", "PANP-CHAN-8 PANP-LIM-1",
         "max_channels open channels, then RESOURCE_EXHAUSTED; a closed channel frees its place", run_open_limit),
    CASE("channel.open.limit-per-user", "PANP-CHAN-8 PANP-LIM-6",
         "the per-user channel limit across connections; another user unaffected", run_open_limit_per_user),
    CASE("channel.open.absent-printer", "PANP-REG-4", "an unknown printer: NOT_FOUND open_channel.target.printer", run_open_absent_printer),
    CASE("channel.id.closed", "PANP-CHAN-11",
         "Send and CloseChannel on an own closed channel: CHANNEL_ALREADY_CLOSED", run_closed_id),
    CASE("channel.id.unknown", "PANP-CHAN-12 PANP-CHAN-13 PANP-ERR-7",
         "id 0, never issued, another connection's: CHANNEL_NOT_OPENED, the foreign one indistinguishable", run_unknown_ids),
    CASE("channel.send.type-mismatch", "PANP-CHAN-14 PANP-REL-2 PANP-ERR-7 PANP-CHAN-15",
         "a Send of another type or of NOTIFICATION_RELEASE: TYPE_MISMATCH send.notification_type; nothing delivered, no number used",
         run_send_type_mismatch),
    CASE("channel.send.sequence", "PANP-CHAN-15 PANP-CHAN-16 PANP-ORD-1",
         "sequence 1, 2, 3... with refused Sends in between using no number; Notifies in order", run_send_sequence),
    CASE("channel.send.no-listeners", "PANP-CHAN-16", "a Send nobody receives: Sent{recipients=0}, a success", run_send_no_listeners),
    CASE("channel.send.not-to-own-connection", "PANP-CHAN-17",
         "a connection's own matching registrations do not receive its channels' notifications, nor its questions",
         run_not_to_own_connection),
    CASE("channel.notify.fields", "PANP-CHAN-18 PANP-CHAN-19",
         "every Notify field as in 10.4: handle, client_state and payload byte for byte, sender, target, style", run_notify_fields),
    CASE("channel.notify.on-behalf-of", "PANP-CHAN-19 PANP-CHAN-18 PANP-DLV-5",
         "a trusted opener on behalf of a job: the owner receives it, SenderInfo names the opener, job id and owner",
         run_notify_on_behalf),
    CASE("channel.type.well-known", "PANP-TYPE-3 PANP-TYPE-1",
         "AsyncUI, PrinterConfiguration and PORT_MONITOR_CHANNEL behave like any type, bytes in network order", run_well_known_types),
    CASE("channel.close.no-side", "PANP-CHAN-20", "CloseChannel naming nothing: INVALID_ARGUMENT close_channel.side", run_close_no_side),
    CASE("channel.close.by-sender", "PANP-CHAN-21 PANP-CHAN-23 PANP-UNI-5 PANP-CHAN-11",
         "the sender closes with a reason: CLOSED; every selected listener, notified or not, gets ChannelClosed(CLOSED_BY_SENDER)",
         run_close_by_sender),
    CASE("channel.close.no-reason", "PANP-CHAN-21 PANP-CHAN-23",
         "a close without a reason: ChannelClosed without type and payload", run_close_without_reason),
    CASE("channel.close.reason-type-mismatch", "PANP-CHAN-22 PANP-REL-2",
         "a close reason of another type, or NOTIFICATION_RELEASE: TYPE_MISMATCH, the channel stays open", run_close_reason_mismatch),
    CASE("channel.close.twice-pipelined", "PANP-CHAN-25",
         "two CloseChannel in one write: CLOSED, then CHANNEL_ALREADY_CLOSED", run_close_twice_pipelined),
    CASE("channel.close.reason-too-large-for-listener", "PANP-CHAN-26 PANP-FRAME-9",
         "a 6000-byte close reason to a listener with max_frame_size 4096: ChannelClosed without type and payload",
         run_reason_too_large_for_listener),
    CASE("channel.close.discards-queued", "PANP-CHAN-24 PANP-CHAN-21",
         "Notifies queued for a listener that stopped reading are discarded when the channel closes; nothing follows the ChannelClosed",
         run_close_discards_queued),
    CASE("uni.no-late-delivery", "PANP-UNI-2 PANP-UNI-1 PANP-KA-3",
         "a registration made after a Send does not get it, but gets the next one", run_uni_no_late_delivery),
    CASE("uni.reply-refused", "PANP-UNI-3", "Reply with conversation_id 0: CHANNEL_NOT_OPENED", run_uni_reply_zero),
    CASE("uni.listener-cannot-close", "PANP-UNI-4",
         "a listener closing the channel by its id: CHANNEL_NOT_OPENED; the channel stays open", run_uni_listener_cannot_close),
    CASE("uni.listener-death-not-told", "PANP-UNI-6 PANP-REG-11",
         "a unidirectional listener dies: the sender is told nothing; recipients drop to 0", run_uni_listener_death_silent),
};

PC_TABLE(pc_cases_channel, CASES);
