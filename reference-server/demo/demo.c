/* demo.c - `make run`'s scripted tour of panp against a running panpd:
 * a listener registers for AsyncUI notifications on the print server, a
 * sender says "toner low", asks a question that the listener answers, and
 * finally disappears, which the listener learns as NOTIFICATION_RELEASE.
 *
 *   panpd-demo SOCKET_PATH */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pclient.h"

#define WAIT_MS 5000

/* Colours only for a terminal. */
static const char *esc(const char *code)
{
    return isatty(STDOUT_FILENO) ? code : "";
}

static void say(const char *who, const char *fmt, const char *a, const char *b)
{
    char line[512];
    snprintf(line, sizeof(line), fmt, a, b);
    printf("  %s%-8s%s %s\n", esc(strcmp(who, "listener") == 0 ? "\033[36m" : "\033[33m"), who,
           esc("\033[0m"), line);
    fflush(stdout);
}

static void step(const char *title)
{
    printf("\n%s%s%s\n", esc("\033[1m"), title, esc("\033[0m"));
}

static int die(const char *what, pclient *c, panp_frame *f)
{
    fprintf(stderr, "demo: %s failed", what);
    if (f && f->kind == PANP_BODY_ERROR)
        fprintf(stderr, ": %s %s", panp_error_code_name(f->body.error.code), f->body.error.message);
    else if (f)
        fprintf(stderr, ": unexpected %s", panp_body_name(f->kind));
    else if (c && c->err[0])
        fprintf(stderr, ": %s", c->err);
    fprintf(stderr, "\n");
    panp_frame_free(f);
    return 1;
}

/* The next frame of `kind`, or NULL (the frame seen is kept in *other). */
static panp_frame *expect(pclient *c, panp_body_kind kind, panp_frame **other)
{
    panp_frame *f = pc_recv(c, WAIT_MS);
    if (f && f->kind == kind) return f;
    *other = f;
    return NULL;
}

static pclient *join(const char *path, const char *who, panp_frame **welcome)
{
    pclient *c = pc_connect_unix(path);
    if (!c) {
        perror("demo: connect");
        return NULL;
    }
    panp_frame *err = NULL;
    *welcome = pc_hello(c, PANP_AUTH_EXTERNAL, NULL, &err);
    if (!*welcome) {
        die("Hello", c, err);
        pc_close(c);
        return NULL;
    }
    say(who, "connected as user \"%s\" (identity from the socket's peer credentials)%s",
        (*welcome)->body.welcome.identity.user, "");
    return c;
}

static uint64_t reg(pclient *c, panp_style style, panp_frame **out)
{
    panp_frame f = {.kind = PANP_BODY_REGISTER};
    f.body.register_listener = (panp_register){
        .target = {PANP_TARGET_SERVER, NULL},
        .notification_type = {PANP_TYPE_ASYNC_UI, PANP_UUID_LEN},
        .user_filter = PANP_USER_FILTER_PER_USER,
        .style = style,
    };
    pc_request(c, &f);
    panp_frame *other = NULL;
    *out = expect(c, PANP_BODY_REGISTERED, &other);
    if (!*out) return die("Register", c, other), 0;
    return 1;
}

static uint64_t open_channel(pclient *c, panp_style style)
{
    panp_frame f = {.kind = PANP_BODY_OPEN_CHANNEL};
    f.body.open_channel = (panp_open_channel){
        .target = {PANP_TARGET_SERVER, NULL},
        .notification_type = {PANP_TYPE_ASYNC_UI, PANP_UUID_LEN},
        .user_filter = PANP_USER_FILTER_PER_USER,
        .style = style,
    };
    pc_request(c, &f);
    panp_frame *other = NULL, *r = expect(c, PANP_BODY_CHANNEL_OPENED, &other);
    if (!r) return die("OpenChannel", c, other), 0;
    uint64_t id = r->body.channel_opened.channel_id;
    panp_frame_free(r);
    return id;
}

static int send_text(pclient *c, uint64_t ch, const char *text, uint32_t *recipients)
{
    panp_frame f = {.kind = PANP_BODY_SEND};
    f.body.send = (panp_send){.channel_id = ch,
                              .notification_type = {PANP_TYPE_ASYNC_UI, PANP_UUID_LEN},
                              .payload = {(const uint8_t *)text, strlen(text)}};
    pc_request(c, &f);
    panp_frame *other = NULL, *r = expect(c, PANP_BODY_SENT, &other);
    if (!r) return die("Send", c, other);
    *recipients = r->body.sent.recipients;
    panp_frame_free(r);
    return 0;
}

static void show_payload(const char *who, const char *what, panp_bytes p)
{
    char text[256];
    size_t n = p.len < sizeof(text) - 1 ? p.len : sizeof(text) - 1;
    memcpy(text, p.data, n);
    text[n] = 0;
    say(who, "%s \"%s\"", what, text);
}

static int run(const char *path)
{
    panp_frame *wl = NULL, *ws = NULL, *r1 = NULL, *r2 = NULL, *f = NULL, *other = NULL;
    pclient *l = NULL, *s = NULL;
    int rc = 1;
    char num[32];

    step("1. A listener registers for AsyncUI notifications on the print server");
    if (!(l = join(path, "listener", &wl))) goto out;
    if (!reg(l, PANP_STYLE_UNIDIRECTIONAL, &r1) || !reg(l, PANP_STYLE_BIDIRECTIONAL, &r2)) goto out;
    say("listener", "registered for AsyncUI, per user, unidirectional and bidirectional%s%s", "", "");

    step("2. A sender opens a unidirectional channel and says \"toner low\"");
    if (!(s = join(path, "sender", &ws))) goto out;
    uint64_t uni = open_channel(s, PANP_STYLE_UNIDIRECTIONAL);
    uint32_t n = 0;
    if (!uni || send_text(s, uni, "toner low", &n)) goto out;
    snprintf(num, sizeof(num), "%u", n);
    say("sender", "sent \"toner low\": accepted for %s listener(s)%s", num, "");
    if (!(f = expect(l, PANP_BODY_NOTIFY, &other))) goto fail_l;
    snprintf(num, sizeof(num), "%llu", (unsigned long long)f->body.notify.sequence);
    say("listener", "notification #%s from %s:", num, f->body.notify.sender.user);
    show_payload("listener", "   ", f->body.notify.payload);
    panp_frame_free(f);
    f = NULL;

    step("3. The sender asks a question on a bidirectional channel; the listener answers");
    uint64_t bidi = open_channel(s, PANP_STYLE_BIDIRECTIONAL);
    if (!bidi || send_text(s, bidi, "Replace the toner cartridge now? [yes/no]", &n)) goto out;
    say("sender", "asked \"Replace the toner cartridge now? [yes/no]\"%s%s", "", "");
    if (!(f = expect(l, PANP_BODY_NOTIFY, &other))) goto fail_l;
    show_payload("listener", "question:", f->body.notify.payload);
    panp_frame reply = {.kind = PANP_BODY_REPLY};
    reply.body.reply = (panp_reply){.conversation_id = f->body.notify.conversation_id,
                                    .notification_type = {PANP_TYPE_ASYNC_UI, PANP_UUID_LEN},
                                    .payload = {(const uint8_t *)"yes", 3}};
    panp_frame_free(f);
    f = NULL;
    pc_request(l, &reply);
    if (!(f = expect(l, PANP_BODY_OK, &other))) goto fail_l;
    panp_frame_free(f);
    say("listener", "answered \"yes\" (the first answer wins the conversation)%s%s", "", "");
    if (!(f = expect(s, PANP_BODY_REPLY_DELIVERY, &other))) goto fail_s;
    say("sender", "got the answer from %s:", f->body.reply_delivery.responder, "");
    show_payload("sender", "   ", f->body.reply_delivery.payload);
    panp_frame_free(f);
    f = NULL;

    step("4. The sender disappears without closing its channels");
    pc_close(s);
    s = NULL;
    say("sender", "(connection closed)%s%s", "", "");
    for (int i = 0; i < 2; i++) {
        if (!(f = expect(l, PANP_BODY_CHANNEL_CLOSED, &other))) goto fail_l;
        char type[37] = "(none)";
        if (f->body.channel_closed.notification_type.len == PANP_UUID_LEN)
            panp_uuid_format(f->body.channel_closed.notification_type.data, type);
        bool release = panp_bytes_is_uuid(f->body.channel_closed.notification_type,
                                          PANP_TYPE_NOTIFICATION_RELEASE);
        say("listener", "channel closed: %s, type %s", panp_close_reason_name(f->body.channel_closed.reason),
            release ? "NOTIFICATION_RELEASE" : type);
        panp_frame_free(f);
        f = NULL;
    }
    printf("\nDemo complete.\n");
    rc = 0;
    goto out;
fail_l:
    rc = die("listener", l, other);
    other = NULL;
    goto out;
fail_s:
    rc = die("sender", s, other);
    other = NULL;
out:
    panp_frame_free(other);
    panp_frame_free(f);
    panp_frame_free(wl);
    panp_frame_free(ws);
    panp_frame_free(r1);
    panp_frame_free(r2);
    pc_close(l);
    pc_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: panpd-demo SOCKET_PATH\n");
        return 2;
    }
    return run(argv[1]);
}
