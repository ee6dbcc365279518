/* cases/common.c - helpers shared by the case files. */
#include "common.h"

#include <inttypes.h>
#include <string.h>
#include <stdlib.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

bool is_tcp(const pc_t *t) { return t->opt->broker.kind == PC_ADDR_TCP; }

raw_hello rh_valid(const pc_conn *c)
{
    bool tcp = pc_conn_token_auth(c);
    raw_hello h = {.rid = 1, .min = 1, .max = 1, .software = "panp-conformance/1",
                   .auth = tcp ? PANP_AUTH_TOKEN : PANP_AUTH_EXTERNAL};
    if (tcp && c->id) h.token = c->id->token;
    return h;
}

void rh_encode(pbw *frame, const raw_hello *h)
{
    pbw body = PBW_INIT;
    if (h->min) pbw_uint(&body, F_HELLO_MIN, h->min);
    if (h->max) pbw_uint(&body, F_HELLO_MAX, h->max);
    if (h->software && *h->software) pbw_str(&body, F_HELLO_SOFTWARE, h->software);
    if (h->auth) pbw_uint(&body, F_HELLO_AUTH, (uint64_t)h->auth);
    if (h->token) pbw_bytes(&body, F_HELLO_TOKEN, h->token, h->token_len ? h->token_len : strlen(h->token));
    if (h->session && *h->session) pbw_str(&body, F_HELLO_SESSION, h->session);
    if (h->max_frame) pbw_uint(&body, F_HELLO_MAX_FRAME, h->max_frame);
    if (h->pad_unknown) {
        uint8_t *pad = pc_xcalloc(1, h->pad_unknown);
        pbw_bytes(&body, 99, pad, h->pad_unknown);
        free(pad);
    }
    frame_wrap(frame, h->rid, 16, &body);
    pbw_free(&body);
}

uint64_t rh_send(pc_conn *c, const raw_hello *h)
{
    if (!c->sent_preface) {
        pc_send_raw(c, PANP_PREFACE, PANP_PREFACE_LEN, "preface");
        c->raw_sent = false;
        c->sent_preface = true;
    }
    pbw f = PBW_INIT;
    rh_encode(&f, h);
    pc_send_pbw_req(c, &f, h->rid, "Hello (hand-built)");
    pbw_free(&f);
    return h->rid;
}

void frame_wrap(pbw *frame, uint64_t rid, uint32_t body_field, const pbw *body)
{
    if (rid) pbw_uint(frame, F_FRAME_REQUEST_ID, rid);
    pbw_bytes(frame, body_field, body->buf, body->len);
}

void empty_body_frame(pbw *frame, uint64_t rid, panp_body_kind kind)
{
    pbw none = PBW_INIT;
    frame_wrap(frame, rid, (uint32_t)kind, &none);
}

void reg_frame_begin(pbw *reg, const uint8_t *type)
{
    pbw target = PBW_INIT, server = PBW_INIT;
    pbw_msg(&target, F_TARGET_SERVER, &server);
    pbw_msg(reg, F_REG_TARGET, &target);
    pbw_bytes(reg, F_REG_TYPE, type, PANP_UUID_LEN);
    pbw_uint(reg, F_REG_FILTER, PANP_USER_FILTER_PER_USER);
    pbw_uint(reg, F_REG_STYLE, PANP_STYLE_UNIDIRECTIONAL);
    pbw_free(&target);
}

const uint8_t PC_NIL_UUID[PANP_UUID_LEN] = {0};

static const char *body_field(panp_body_kind kind) { return kind == PANP_BODY_REGISTER ? "register" : "open_channel"; }

void refuse_no_target(pc_conn *c, panp_body_kind kind, const char *req)
{
    pc_t *t = c->t;
    pbw body = PBW_INIT, f = PBW_INIT;
    pbw_bytes(&body, F_REG_TYPE, t->type, PANP_UUID_LEN);
    pbw_uint(&body, F_REG_FILTER, PANP_USER_FILTER_PER_USER);
    pbw_uint(&body, F_REG_STYLE, PANP_STYLE_UNIDIRECTIONAL);
    frame_wrap(&f, 5, (uint32_t)kind, &body);
    const char *title = kind == PANP_BODY_REGISTER ? "Register" : "OpenChannel";
    pc_send_pbw_req(c, &f, 5, pc_sprintf(t, "%s without a target", title));
    pbw_free(&body);
    pbw_free(&f);
    pc_check_error(c, pc_response(c, 5, req), PANP_ERR_INVALID_ARGUMENT, false, req,
                   pc_sprintf(t, "%s.target", body_field(kind)));
}

void refuse_type(pc_conn *c, panp_body_kind kind, const uint8_t *type, const char *req)
{
    const char *field = pc_sprintf(c->t, "%s.notification_type", body_field(kind));
    if (kind == PANP_BODY_REGISTER) {
        panp_register r = pc_reg_args(pc_server(), type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        pc_register_err(c, &r, PANP_ERR_INVALID_ARGUMENT, req, field);
    } else {
        panp_open_channel o = pc_open_args(pc_server(), type, PANP_USER_FILTER_PER_USER, PANP_STYLE_UNIDIRECTIONAL);
        pc_open_err(c, &o, PANP_ERR_INVALID_ARGUMENT, req, field);
    }
}

char *filler(pc_t *t, size_t n, char ch)
{
    char *s = pc_alloc(t, n + 1);
    memset(s, ch, n);
    return s;
}

uint8_t *random_bytes(pc_t *t, size_t n)
{
    uint8_t *p = pc_alloc(t, n);
    if (getrandom(p, n, 0) != (ssize_t)n) pc_error(t, "getrandom failed");
    return p;
}

pc_reg listen_on(pc_t *t, const pc_identity *id, const char *label, panp_target tg, const uint8_t *type,
                 panp_user_filter uf, panp_style st)
{
    pc_conn *c = pc_connect(t, id, label);
    return pc_register(c, tg, type, uf, st);
}

const panp_notify *notify_now(pc_conn *c, uint64_t chan, uint64_t seq, const char *req)
{
    pc_chan_match m = {.chan = chan, .seq = seq};
    const panp_frame *f = pc_peek(c, pc_m_notify, &m);
    if (f && pc_rx_index(c, f) > c->barrier_idx)
        pc_fail(c->t, R_BARRIER, "the Notify queued before the listener's Pong", "it came after the Pong");
    if (f) return &pc_try_await(c, pc_m_notify, &m, 0)->body.notify;
    /* Not there after the barriers: late (barrier broken) or never. */
    f = pc_try_await(c, pc_m_notify, &m, pc_wait_ms(c->t));
    if (f)
        pc_fail(c->t, R_BARRIER, "the Notify queued before the listener's Pong",
                "it arrived after the Pong: a barrier proves nothing on this broker");
    pc_fail(c->t, req, pc_sprintf(c->t, "Notify of channel %" PRIu64 " sequence %" PRIu64 " on %s", chan, seq, c->label),
            "none arrived");
}

uint64_t open_and_send(pc_conn *s, const uint8_t *type, panp_style st, const char *payload)
{
    uint64_t ch = pc_open(s, pc_server(), type, PANP_USER_FILTER_PER_USER, st);
    pc_notify(s, ch, type, payload, NULL);
    return ch;
}

const panp_registration_list *list_regs(pc_conn *c, panp_target tg, uint32_t offset, const char *req)
{
    panp_frame f = {.kind = PANP_BODY_LIST_REGISTRATIONS, .body.list_registrations = {tg, offset}};
    return &pc_call_expect(c, &f, PANP_BODY_REGISTRATION_LIST, req)->body.registration_list;
}

size_t count_listed(pc_conn *c, panp_target tg, const uint8_t *type)
{
    size_t n = 0;
    uint32_t off = 0, total;
    do {
        const panp_registration_list *l = list_regs(c, tg, off, "PANP-REG-20");
        total = l->total;
        for (size_t i = 0; i < l->registrations_count; i++)
            if (panp_bytes_is_uuid(l->registrations[i].notification_type, type)) n++;
        if (!l->registrations_count) break;
        off += (uint32_t)l->registrations_count;
    } while (off < total);
    return n;
}

void await_listed(pc_conn *c, const uint8_t *type, size_t n, const char *req)
{
    int64_t deadline = pc_now_us() + (int64_t)pc_wait_ms(c->t) * 1000;
    size_t got;
    for (;;) {
        got = count_listed(c, (panp_target){0}, type);
        if (got == n || pc_now_us() > deadline) break;
        pc_try_await(c, pc_m_kind, &(panp_body_kind){PANP_BODY_NONE}, 20); /* pace the polling */
    }
    if (got != n)
        pc_fail(c->t, req, pc_sprintf(c->t, "%zu registrations of this type listed", n), "%zu after %d ms", got,
                pc_wait_ms(c->t));
}

void await_user_quiet(pc_conn *c)
{
    int64_t deadline = pc_now_us() + (int64_t)pc_wait_ms(c->t) * 1000;
    while (list_regs(c, (panp_target){0}, 0, "PANP-REG-20")->total) {
        if (pc_now_us() > deadline)
            pc_error(c->t, "user %s keeps registrations from other connections; the case needs a quiet user", c->id->user);
        pc_try_await(c, pc_m_kind, &(panp_body_kind){PANP_BODY_NONE}, 20);
    }
}

/* ---- identity ---- */

static bool printer_listed(const panp_identity *id, const char *name)
{
    for (size_t i = 0; i < id->admin_printers_count; i++)
        if (!strcmp(id->admin_printers[i], name)) return true;
    return false;
}

/* Compares Welcome.identity with what the profile says the broker's
 * configuration gives this identity. */
void pc_check_identity(pc_t *t, const pc_identity *want, const pc_conn *c)
{
    const panp_identity *id = &c->welcome->body.welcome.identity;
    const char *got = pc_frame_text(t, c->welcome);
    const char *who = pc_sprintf(t, "identity %s", want->name);
    if (strcmp(id->user, want->user))
        pc_fail(t, "PANP-AUTH-1", pc_sprintf(t, "%s reported as user \"%s\"", who, want->user), "%s", got);
    bool may_open = want->sender || want->trusted || want->server_admin;
    if (id->server_admin != want->server_admin || id->trusted != want->trusted || id->may_open_channels != may_open)
        pc_fail(t, "PANP-AUTH-6",
                pc_sprintf(t, "%s with server_admin=%d trusted=%d may_open_channels=%d", who, want->server_admin,
                           want->trusted, may_open),
                "%s", got);
    if (want->server_admin) return; /* a server admin's printers need no list */
    for (size_t i = 0; i < want->n_admin_printers && !id->admin_printers_truncated; i++)
        if (!printer_listed(id, want->admin_printers[i]))
            pc_fail(t, "PANP-AUTH-6", pc_sprintf(t, "%s listing admin printer \"%s\"", who, want->admin_printers[i]), "%s", got);
    for (size_t i = 0; i < id->admin_printers_count; i++)
        if (!pc_identity_admin_of(want, id->admin_printers[i]))
            pc_fail(t, "PANP-AUTH-8", pc_sprintf(t, "%s administering only its configured printers", who), "%s", got);
}

/* A local address that is not loopback, or false. */
bool pc_other_local_address(char *out, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    bool found = false;
    if (getifaddrs(&ifs) != 0) return false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if ((ntohl(a.s_addr) >> 24) == 127) continue;
        found = inet_ntop(AF_INET, &a, out, (socklen_t)cap) != NULL;
    }
    freeifaddrs(ifs);
    return found;
}
