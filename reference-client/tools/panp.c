/* panp.c - the panp command-line tool, in the spirit of mosquitto_sub and
 * mosquitto_pub: listen, send, ask (dialog), answer, and list
 * registrations from a shell.  Built on the blocking libpanp API.
 *
 * Exit codes: 0 ok, 1 usage, 2 cannot connect, 3 refused by the broker
 * (code and message printed), 4 timeout, 5 channel closed or peer gone. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "panp/client.h"

enum { EX_OK = 0, EX_USAGE = 1, EX_CONNECT = 2, EX_REFUSED = 3, EX_TIMEOUT = 4, EX_CLOSED = 5 };

typedef struct opts {
    const char *cmd;
    const char *broker;
    const char *token;
    const char *tls_ca;         /* tls: trust anchors for the broker's certificate */
    const char *tls_cert;       /* tls: client certificate (EXTERNAL identity) */
    const char *tls_key;
    const char *tls_server_name;
    const char *tls_min;        /* "1.2" or "1.3" */
    const char *session;
    const char *printer;
    bool server;
    uint8_t type[PANP_UUID_LEN];
    bool all_users;
    bool json;
    bool verbose;
    long count;        /* 0: no limit */
    long timeout_ms;   /* < 0: none */
    panp_style style;
    uint32_t lease;
    const char *client_state;
    const char **messages;
    size_t nmessages;
    const char *reason;
    uint32_t job_id;
    const char *job_owner;
    const char *job_session;
    const char *reply;
    const char *exec;
    bool answer_by_close;
    bool reconnect;
} opts;

/* The state a run shares with its callbacks (no globals but the signal
 * flag, which a handler can only reach through one). */
typedef struct run {
    opts *o;
    long seen;          /* notifications shown / answers given */
    int exit_code;      /* set by a callback that ends the run; -1: keep going */
    bool got_answer;
} run;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output ---------------------------------------------------------------------- */

static bool utf8_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t b = p[i];
        size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3
                   : (b & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || i + len > n || b == 0 || (len == 2 && b < 0xc2))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s) { json_str(f, s ? s : "", s ? strlen(s) : 0); }

/* "payload": "text" when it is UTF-8, else "payload_hex": "..." */
static void json_payload(FILE *f, const char *key, panp_bytes b)
{
    if (utf8_ok(b.data, b.len)) {
        fprintf(f, ",\"%s\":", key);
        json_str(f, (const char *)b.data, b.len);
        return;
    }
    fprintf(f, ",\"%s_hex\":\"", key);
    for (size_t i = 0; i < b.len; i++)
        fprintf(f, "%02x", b.data[i]);
    fputc('"', f);
}

static void json_type(FILE *f, panp_bytes t)
{
    char text[37] = "";
    if (t.len == PANP_UUID_LEN)
        panp_uuid_format(t.data, text);
    fprintf(f, ",\"type\":\"%s\"", text);
    const char *name = t.len == PANP_UUID_LEN ? panp_type_name(t.data) : NULL;
    if (name)
        fprintf(f, ",\"type_name\":\"%s\"", name);
}

static void json_target(FILE *f, const panp_target *t)
{
    fputs(",\"target\":", f);
    if (t->kind == PANP_TARGET_PRINTER) {
        fputs("{\"printer\":", f);
        json_cstr(f, t->printer);
        fputc('}', f);
    } else {
        fputs("\"server\"", f);
    }
}

static const char *type_text(const uint8_t *t, char buf[37])
{
    const char *name = panp_type_name(t);
    if (name)
        return name;
    panp_uuid_format(t, buf);
    return buf;
}

static void text_payload(FILE *f, panp_bytes b)
{
    if (utf8_ok(b.data, b.len)) {
        fwrite(b.data, 1, b.len, f);
    } else {
        fputs("0x", f);
        for (size_t i = 0; i < b.len; i++)
            fprintf(f, "%02x", b.data[i]);
    }
    fputc('\n', f);
}

static void show_notify(const opts *o, const panp_notify *n)
{
    if (o->json) {
        printf("{\"event\":\"notify\",\"channel\":%llu,\"sequence\":%llu",
               (unsigned long long)n->channel_id, (unsigned long long)n->sequence);
        if (n->conversation_id)
            printf(",\"conversation\":%llu", (unsigned long long)n->conversation_id);
        json_type(stdout, n->notification_type);
        json_target(stdout, &n->target);
        printf(",\"style\":\"%s\"", n->style == PANP_STYLE_BIDIRECTIONAL ? "bidirectional"
                                                                        : "unidirectional");
        if (n->has_sender) {
            fputs(",\"sender\":{\"user\":", stdout);
            json_cstr(stdout, n->sender.user);
            if (n->sender.job_owner && *n->sender.job_owner) {
                printf(",\"job_id\":%u,\"job_owner\":", n->sender.job_id);
                json_cstr(stdout, n->sender.job_owner);
            }
            fputc('}', stdout);
        }
        json_payload(stdout, "payload", n->payload);
        puts("}");
    } else {
        if (o->verbose) {
            char buf[37];
            printf("%s %s%s ch=%llu seq=%llu from=%s",
                   n->notification_type.len == PANP_UUID_LEN
                       ? type_text(n->notification_type.data, buf) : "?",
                   n->target.kind == PANP_TARGET_PRINTER ? "printer:" : "server",
                   n->target.kind == PANP_TARGET_PRINTER ? n->target.printer : "",
                   (unsigned long long)n->channel_id, (unsigned long long)n->sequence,
                   n->has_sender ? n->sender.user : "?");
            if (n->has_sender && n->sender.job_owner && *n->sender.job_owner)
                printf(" job=%u owner=%s", n->sender.job_id, n->sender.job_owner);
            fputs(": ", stdout);
        }
        text_payload(stdout, n->payload);
    }
    fflush(stdout);
}

static void show_closed(const opts *o, const panp_closed_info *in)
{
    if (o->json) {
        printf("{\"event\":\"closed\",\"channel\":%llu", (unsigned long long)in->channel_id);
        if (in->conversation_id)
            printf(",\"conversation\":%llu", (unsigned long long)in->conversation_id);
        printf(",\"reason\":\"%s\",\"release\":%s,\"by_self\":%s,\"connection_lost\":%s",
               panp_close_reason_name(in->reason), in->release ? "true" : "false",
               in->by_self ? "true" : "false", in->connection_lost ? "true" : "false");
        if (in->has_reason)
            json_payload(stdout, "payload", in->payload);
        puts("}");
        fflush(stdout);
    } else {
        fprintf(stderr, "panp: channel %llu closed: %s%s%s", (unsigned long long)in->channel_id,
                panp_close_reason_name(in->reason), in->release ? " (NOTIFICATION_RELEASE)" : "",
                in->has_reason ? ": " : "\n");
        if (in->has_reason)
            text_payload(stderr, in->payload);
    }
}

/* Reports a failed call; returns the exit code it means. */
static int fail(const char *what, panp_error_code e, const panp_status *st)
{
    int code = (int)e;
    if (code == (int)PANP_ERR_TIMEOUT) {
        fprintf(stderr, "panp: %s: timed out: %s\n", what, st->message);
        return EX_TIMEOUT;
    }
    if (code >= PANP_ERR_CLIENT_BASE || e == PANP_ERR_CHANNEL_ALREADY_CLOSED) {
        fprintf(stderr, "panp: %s: %s\n", what, st->message);
        return EX_CLOSED; /* the connection or the channel is gone */
    }
    fprintf(stderr, "panp: %s: refused by the broker: %s: %s\n", what, panp_strerror(e),
            st->message);
    return EX_REFUSED;
}

/* ---- usage ----------------------------------------------------------------------------- */

static const char common_help[] =
    "Common options:\n"
    "  -b, --broker ADDR     unix:PATH, tcp:HOST:PORT or tls:HOST:PORT (default $PANP_BROKER,\n"
    "                        else unix:./run/panpd.sock if it exists, else unix:/run/panp/panp.sock)\n"
    "      --token TOKEN     bearer token for tcp: and tls: (default $PANP_TOKEN); over plain\n"
    "                        tcp: only to a loopback address\n"
    "TLS (tls: brokers; each defaults to the environment variable shown):\n"
    "      --ca FILE         PEM trust anchors for the broker's certificate ($PANP_CA;\n"
    "                        default: the system's trust store)\n"
    "      --cert FILE       PEM client certificate: without --token, the broker takes your\n"
    "                        identity from it (EXTERNAL) ($PANP_CERT)\n"
    "      --key FILE        its PEM private key ($PANP_KEY; default: inside --cert's file)\n"
    "      --server-name NAME  the name the broker's certificate must carry, instead of\n"
    "                        the address's HOST ($PANP_SERVER_NAME)\n"
    "      --tls-min 1.2|1.3 the lowest TLS version accepted ($PANP_TLS_MIN; default 1.3)\n"
    "Other common options:\n"
    "      --session LABEL   login-session label (narrows delivery)\n"
    "  -p, --printer NAME    target a printer (default: the print server)\n"
    "  -t, --type TYPE       notification type: a UUID or release, async-ui,\n"
    "                        printer-configuration, port-monitor (default async-ui)\n"
    "      --all-users       user filter ALL_USERS (administrators only)\n"
    "      --json            one JSON object per line\n"
    "  -v, --verbose         show notification metadata in text output\n"
    "  -C, --count N         stop after N notifications (listen) or answers (answer)\n"
    "  -W, --timeout SECS    give up after SECS seconds (exit 4)\n"
    "  -h, --help            this help\n"
    "Exit codes: 0 ok, 1 usage, 2 cannot connect, 3 refused by the broker,\n"
    "            4 timeout, 5 channel closed or peer gone\n";

static const struct {
    const char *name;
    const char *help;
} commands[] = {
    {"listen",
     "usage: panp listen [options]\n"
     "Register and print each notification's payload, one per line.\n"
     "  --style uni|bidi      conversation style (default uni; bidi shows questions\n"
     "                        without answering them)\n"
     "  --lease SECS          ask for a lease (renewed automatically)\n"
     "  --client-state TEXT   echoed back in every notification\n"
     "  --reconnect           reconnect and re-register if the broker goes away\n"},
    {"send",
     "usage: panp send [options] -m TEXT [-m TEXT]...\n"
     "Open a channel, send each message (or each line of standard input when no -m\n"
     "is given), close the channel.  Prints the sequence and recipient count of\n"
     "each notification to standard error (or as JSON).\n"
     "  -m, --message TEXT    a notification payload (repeatable)\n"
     "  --style uni|bidi      conversation style (default uni)\n"
     "  --reason TEXT         close the channel with this reason payload\n"
     "  --job ID --owner USER open the channel on behalf of a job's owner (trusted)\n"
     "  --job-session LABEL   the job's login session\n"},
    {"dialog",
     "usage: panp dialog [options] -m QUESTION [-m QUESTION]...\n"
     "Open a bidirectional channel, ask each question in turn and print the\n"
     "answer to each; then close the channel.  Exit 4 if no answer comes within\n"
     "--timeout, 5 if the channel closes without an answer.\n"
     "  -m, --message TEXT    a question (repeatable: a multi-turn dialog)\n"
     "  --reason TEXT         close the channel with this reason payload\n"
     "  --job ID --owner USER open the channel on behalf of a job's owner (trusted)\n"},
    {"answer",
     "usage: panp answer [options] (--reply TEXT | --exec CMD | interactive)\n"
     "Register for bidirectional questions and answer them.\n"
     "  --reply TEXT          answer every question with TEXT\n"
     "  --exec CMD            run CMD through sh for each question: the question is\n"
     "                        in $PANP_QUESTION (and $PANP_SENDER, $PANP_CHANNEL);\n"
     "                        its standard output (one trailing newline removed) is\n"
     "                        the answer; a non-zero exit withdraws instead\n"
     "  (neither)             ask on the terminal; an empty line withdraws\n"
     "  --close               answer by closing the conversation with the answer as\n"
     "                        the reason (AsyncUI style) instead of replying\n"
     "  --reconnect           reconnect and re-register if the broker goes away\n"},
    {"registrations",
     "usage: panp registrations [options]\n"
     "List registrations: your own on every target, or with --printer/--server\n"
     "every registration on a target you administer.\n"
     "  --server              list the print server target\n"},
};

static int usage(const char *cmd, FILE *f, int code)
{
    for (size_t i = 0; cmd && i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            fputs(commands[i].help, f);
            fputs(common_help, f);
            return code;
        }
    }
    fputs("usage: panp COMMAND [options]\n"
          "Commands:\n"
          "  listen         register and print notifications\n"
          "  send           open a channel and send notifications\n"
          "  dialog         ask a question on a bidirectional channel, print the answer\n"
          "  answer         answer bidirectional questions (script or terminal)\n"
          "  registrations  list registrations\n"
          "Run `panp COMMAND --help` for a command's options.\n",
          f);
    fputs(common_help, f);
    return code;
}

/* ---- options ------------------------------------------------------------------------------ */

enum {
    O_TOKEN = 256, O_SESSION, O_ALL, O_JSON, O_STYLE, O_LEASE, O_CSTATE, O_REASON, O_JOB,
    O_OWNER, O_JSESSION, O_REPLY, O_EXEC, O_CLOSE, O_SERVER, O_RECONNECT, O_CA, O_CERT, O_KEY,
    O_SERVER_NAME, O_TLS_MIN
};

static const struct option long_opts[] = {
    {"broker", required_argument, NULL, 'b'},   {"token", required_argument, NULL, O_TOKEN},
    {"session", required_argument, NULL, O_SESSION},
    {"printer", required_argument, NULL, 'p'},  {"type", required_argument, NULL, 't'},
    {"all-users", no_argument, NULL, O_ALL},    {"json", no_argument, NULL, O_JSON},
    {"verbose", no_argument, NULL, 'v'},        {"count", required_argument, NULL, 'C'},
    {"timeout", required_argument, NULL, 'W'},  {"help", no_argument, NULL, 'h'},
    {"style", required_argument, NULL, O_STYLE}, {"lease", required_argument, NULL, O_LEASE},
    {"client-state", required_argument, NULL, O_CSTATE},
    {"message", required_argument, NULL, 'm'},  {"reason", required_argument, NULL, O_REASON},
    {"job", required_argument, NULL, O_JOB},    {"owner", required_argument, NULL, O_OWNER},
    {"job-session", required_argument, NULL, O_JSESSION},
    {"reply", required_argument, NULL, O_REPLY}, {"exec", required_argument, NULL, O_EXEC},
    {"close", no_argument, NULL, O_CLOSE},      {"server", no_argument, NULL, O_SERVER},
    {"reconnect", no_argument, NULL, O_RECONNECT},
    {"ca", required_argument, NULL, O_CA},      {"cert", required_argument, NULL, O_CERT},
    {"key", required_argument, NULL, O_KEY},    {"server-name", required_argument, NULL, O_SERVER_NAME},
    {"tls-min", required_argument, NULL, O_TLS_MIN},
    {NULL, 0, NULL, 0},
};

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int bad_opt(const opts *o, const char *fmt, const char *arg)
{
    fprintf(stderr, "panp %s: ", o->cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see panp %s --help)\n", o->cmd);
    return EX_USAGE;
}

static int parse_opt(opts *o, int c, const char *arg)
{
    long v;
    switch (c) {
    case 'b': o->broker = arg; break;
    case O_TOKEN: o->token = arg; break;
    case O_SESSION: o->session = arg; break;
    case 'p': o->printer = arg; break;
    case O_SERVER: o->server = true; break;
    case 't':
        if (!panp_type_parse(arg, o->type))
            return bad_opt(o, "--type: \"%s\" is neither a UUID nor a well-known name", arg);
        break;
    case O_ALL: o->all_users = true; break;
    case O_JSON: o->json = true; break;
    case 'v': o->verbose = true; break;
    case 'C':
        if (!parse_long(arg, 1, 1000000000, &o->count))
            return bad_opt(o, "--count: \"%s\" is not a positive number", arg);
        break;
    case 'W': {
        char *end;
        double d = strtod(arg, &end);
        if (end == arg || *end || d < 0 || d > 1e7)
            return bad_opt(o, "--timeout: \"%s\" is not a number of seconds", arg);
        o->timeout_ms = (long)(d * 1000);
        break;
    }
    case O_STYLE:
        if (strcmp(arg, "uni") == 0 || strcmp(arg, "unidirectional") == 0)
            o->style = PANP_STYLE_UNIDIRECTIONAL;
        else if (strcmp(arg, "bidi") == 0 || strcmp(arg, "bidirectional") == 0)
            o->style = PANP_STYLE_BIDIRECTIONAL;
        else
            return bad_opt(o, "--style: \"%s\": want uni or bidi", arg);
        break;
    case O_LEASE:
        if (!parse_long(arg, 0, UINT32_MAX, &v))
            return bad_opt(o, "--lease: \"%s\" is not a number of seconds", arg);
        o->lease = (uint32_t)v;
        break;
    case O_CSTATE: o->client_state = arg; break;
    case 'm': {
        const char **m = realloc(o->messages, (o->nmessages + 1) * sizeof *m);
        if (!m)
            return bad_opt(o, "%s", "out of memory");
        o->messages = m;
        o->messages[o->nmessages++] = arg;
        break;
    }
    case O_REASON: o->reason = arg; break;
    case O_JOB:
        if (!parse_long(arg, 0, UINT32_MAX, &v))
            return bad_opt(o, "--job: \"%s\" is not a job id", arg);
        o->job_id = (uint32_t)v;
        break;
    case O_OWNER: o->job_owner = arg; break;
    case O_JSESSION: o->job_session = arg; break;
    case O_REPLY: o->reply = arg; break;
    case O_EXEC: o->exec = arg; break;
    case O_CLOSE: o->answer_by_close = true; break;
    case O_RECONNECT: o->reconnect = true; break;
    case O_CA: o->tls_ca = arg; break;
    case O_CERT: o->tls_cert = arg; break;
    case O_KEY: o->tls_key = arg; break;
    case O_SERVER_NAME: o->tls_server_name = arg; break;
    case O_TLS_MIN: o->tls_min = arg; break;
    default: return EX_USAGE;
    }
    return EX_OK;
}

static const char *default_broker(void)
{
    const char *env = getenv("PANP_BROKER");
    if (env && *env)
        return env;
    struct stat sb;
    if (stat("./run/panpd.sock", &sb) == 0 && S_ISSOCK(sb.st_mode))
        return "unix:./run/panpd.sock";
    return "unix:/run/panp/panp.sock"; /* [PANP-TRANS-4] */
}

/* ---- connecting -------------------------------------------------------------------------- */

static void on_conn(panp_client *c, panp_conn_event ev, const panp_status *why, void *data)
{
    (void)c, (void)data;
    if (ev == PANP_CONN_LOST)
        fprintf(stderr, "panp: connection lost (%s); reconnecting\n", why->message);
    else if (ev == PANP_CONN_RESTORED)
        fprintf(stderr, "panp: reconnected\n");
}

static int connect_broker(const opts *o, panp_client **c)
{
    panp_options po = {
        .broker = o->broker,
        .token = o->token,
        .session_label = o->session,
        .software = "panp-tool/" PANP_CLIENT_VERSION,
        .reconnect = o->reconnect,
        .on_connection = on_conn,
        .tls_ca_file = o->tls_ca,
        .tls_cert_file = o->tls_cert,
        .tls_key_file = o->tls_key,
        .tls_server_name = o->tls_server_name,
        .tls_min_version = o->tls_min && strcmp(o->tls_min, "1.2") == 0 ? 0x0303 : 0,
    };
    panp_status st;
    panp_error_code e = panp_connect(&po, c, &st);
    if (e == PANP_OK)
        return EX_OK;
    if (e == PANP_ERR_INVALID_ARGUMENT && strstr(st.message, "broker address")) {
        fprintf(stderr, "panp: %s\n", st.message);
        return EX_USAGE;
    }
    if ((int)e >= PANP_ERR_CLIENT_BASE || e == PANP_ERR_PROTOCOL_VIOLATION) {
        fprintf(stderr, "panp: %s\n", st.message);
        return EX_CONNECT;
    }
    fprintf(stderr, "panp: %s (%s)\n", st.message, panp_strerror(e));
    return EX_REFUSED;
}

/* Runs the loop until r->exit_code is set, a signal, or the deadline
 * (then on_timeout).  Leases are renewed by the library meanwhile. */
static int pump(panp_client *c, run *r, int64_t deadline, int on_timeout)
{
    while (r->exit_code < 0 && !stop_flag) {
        int wait = 200; /* short, so a signal is noticed promptly */
        int64_t now = mono_ms();
        if (deadline >= 0) {
            if (now >= deadline)
                return on_timeout;
            if (deadline - now < wait)
                wait = (int)(deadline - now);
        }
        panp_status st;
        if (panp_poll(c, wait, &st) != PANP_OK) {
            fprintf(stderr, "panp: %s\n", st.message);
            return EX_CLOSED;
        }
    }
    return r->exit_code >= 0 ? r->exit_code : EX_OK;
}

static panp_target target_of(const opts *o)
{
    if (o->printer)
        return (panp_target){PANP_TARGET_PRINTER, o->printer};
    return (panp_target){PANP_TARGET_SERVER, NULL};
}

/* ---- listen ------------------------------------------------------------------------------- */

static void listen_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                          const panp_notify *n, void *data)
{
    (void)c, (void)reg, (void)cv;
    run *r = data;
    if (r->exit_code >= 0)
        return; /* done: frames read in the same batch are not shown */
    show_notify(r->o, n);
    if (r->o->count && ++r->seen >= r->o->count)
        r->exit_code = EX_OK;
}

static void listen_closed(panp_client *c, panp_registration *reg, panp_conversation *cv,
                          const panp_closed_info *info, void *data)
{
    (void)c, (void)reg, (void)cv;
    const opts *o = ((run *)data)->o;
    if (((run *)data)->exit_code >= 0)
        return;
    if (o->json || !info->by_self)
        show_closed(o, info);
}

static void listen_ended(panp_client *c, panp_registration *reg, panp_reg_end_reason why,
                         void *data)
{
    (void)c, (void)reg;
    run *r = data;
    if (r->o->json)
        printf("{\"event\":\"registration_ended\",\"reason\":%d}\n", (int)why);
    else
        fprintf(stderr, "panp: registration ended (%s)\n",
                why == PANP_REG_END_LEASE_EXPIRED     ? "lease expired"
                : why == PANP_REG_END_TARGET_REMOVED  ? "printer removed"
                : why == PANP_REG_END_DISCONNECTED    ? "connection lost"
                                                      : "re-registration refused");
    fflush(stdout);
    r->exit_code = EX_CLOSED;
}

static int do_register(panp_client *c, run *r, panp_style style, panp_notify_cb on_notify,
                       panp_registration **reg)
{
    const opts *o = r->o;
    panp_register_params p = {
        .printer = o->printer,
        .type = o->type,
        .user_filter = o->all_users ? PANP_USER_FILTER_ALL_USERS : PANP_USER_FILTER_PER_USER,
        .style = style,
        .lease_seconds = o->lease,
        .client_state = o->client_state,
        .client_state_len = o->client_state ? strlen(o->client_state) : 0,
        .on_notify = on_notify,
        .on_closed = listen_closed,
        .on_ended = listen_ended,
        .data = r,
    };
    panp_status st;
    panp_error_code e = panp_register_listener(c, &p, reg, &st);
    if (e != PANP_OK)
        return fail("register", e, &st);
    if (!o->json) {
        char buf[37];
        fprintf(stderr, "panp: listening for %s on %s%s (%s, %s)\n", type_text(o->type, buf),
                o->printer ? "printer " : "the print server", o->printer ? o->printer : "",
                style == PANP_STYLE_BIDIRECTIONAL ? "bidirectional" : "unidirectional",
                o->all_users ? "all users" : "per user");
    }
    return EX_OK;
}

static int pump_listener(panp_client *c, run *r)
{
    int64_t deadline = r->o->timeout_ms >= 0 ? mono_ms() + r->o->timeout_ms : -1;
    /* A timeout is a failure only when a number of events was asked for. */
    return pump(c, r, deadline, r->o->count ? EX_TIMEOUT : EX_OK);
}

static int cmd_listen(opts *o)
{
    panp_client *c;
    int rc = connect_broker(o, &c);
    if (rc != EX_OK)
        return rc;
    run r = {.o = o, .exit_code = -1};
    panp_registration *reg = NULL;
    rc = do_register(c, &r, o->style, listen_notify, &reg);
    if (rc == EX_OK)
        rc = pump_listener(c, &r);
    panp_free(c);
    return rc;
}

/* ---- send ---------------------------------------------------------------------------------- */

static void show_sent(const opts *o, const panp_sent *s)
{
    if (o->json)
        printf("{\"event\":\"sent\",\"sequence\":%llu,\"recipients\":%u}\n",
               (unsigned long long)s->sequence, s->recipients);
    else
        fprintf(stderr, "panp: sent #%llu to %u listener%s\n", (unsigned long long)s->sequence,
                s->recipients, s->recipients == 1 ? "" : "s");
    fflush(stdout);
}

static void show_answer(run *r, uint64_t channel, const char *responder, panp_bytes payload,
                        bool closing)
{
    if (r->o->json) {
        printf("{\"event\":\"reply\",\"channel\":%llu,\"closing\":%s", (unsigned long long)channel,
               closing ? "true" : "false");
        if (responder) {
            fputs(",\"responder\":", stdout);
            json_cstr(stdout, responder);
        }
        json_payload(stdout, "payload", payload);
        puts("}");
    } else {
        if (r->o->verbose && responder)
            printf("%s: ", responder);
        text_payload(stdout, payload);
    }
    fflush(stdout);
    r->got_answer = true;
}

static void chan_closed(panp_client *c, panp_channel *ch, const panp_closed_info *info,
                        void *data)
{
    (void)c, (void)ch;
    run *r = data;
    if (info->by_self)
        return;
    /* A listener may answer by closing with its answer as the reason
     * (the AsyncUI way): that is an answer, not a failure. */
    if (info->reason == PANP_CLOSE_REASON_CLOSED_BY_LISTENER && info->has_reason && !r->got_answer)
        show_answer(r, info->channel_id, NULL, info->payload, true);
    else
        show_closed(r->o, info);
}

static void dialog_reply(panp_client *c, panp_channel *ch, const panp_reply_delivery *rd,
                         void *data)
{
    (void)c, (void)ch;
    show_answer(data, rd->channel_id, rd->responder, rd->payload, false);
}

static int open_chan(panp_client *c, run *r, panp_style style, panp_channel **ch)
{
    const opts *o = r->o;
    panp_job_context job = {.job_id = o->job_id, .job_owner = o->job_owner,
                            .session_label = o->job_session};
    panp_channel_params p = {
        .printer = o->printer,
        .type = o->type,
        .user_filter = o->all_users ? PANP_USER_FILTER_ALL_USERS : PANP_USER_FILTER_PER_USER,
        .style = style,
        .on_behalf_of = o->job_owner ? &job : NULL,
        .on_reply = dialog_reply,
        .on_closed = chan_closed,
        .data = r,
    };
    panp_status st;
    panp_error_code e = panp_channel_open(c, &p, ch, &st);
    return e == PANP_OK ? EX_OK : fail("open channel", e, &st);
}

static int close_chan(panp_client *c, const opts *o, panp_channel *ch)
{
    panp_status st;
    panp_close_result res;
    panp_error_code e = panp_channel_close(c, ch, o->reason, o->reason ? strlen(o->reason) : 0,
                                           &res, &st);
    panp_channel_release(c, ch);
    return e == PANP_OK ? EX_OK : fail("close channel", e, &st);
}

static int send_one(panp_client *c, const opts *o, panp_channel *ch, const char *msg, size_t len)
{
    panp_status st;
    panp_sent sent;
    panp_error_code e = panp_channel_send(c, ch, msg, len, &sent, &st);
    if (e != PANP_OK)
        return fail("send", e, &st);
    show_sent(o, &sent);
    return EX_OK;
}

static int cmd_send(opts *o)
{
    panp_client *c;
    int rc = connect_broker(o, &c);
    if (rc != EX_OK)
        return rc;
    run r = {.o = o, .exit_code = -1};
    panp_channel *ch = NULL;
    rc = open_chan(c, &r, o->style, &ch);
    for (size_t i = 0; rc == EX_OK && i < o->nmessages; i++)
        rc = send_one(c, o, ch, o->messages[i], strlen(o->messages[i]));
    if (rc == EX_OK && o->nmessages == 0) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (rc == EX_OK && !stop_flag && (n = getline(&line, &cap, stdin)) >= 0) {
            if (n > 0 && line[n - 1] == '\n')
                n--;
            rc = send_one(c, o, ch, line, (size_t)n);
        }
        free(line);
    }
    if (ch) {
        int rc2 = close_chan(c, o, ch);
        if (rc == EX_OK)
            rc = rc2;
    }
    panp_free(c);
    return rc;
}

/* ---- dialog -------------------------------------------------------------------------------- */

static int cmd_dialog(opts *o)
{
    if (o->nmessages == 0)
        return bad_opt(o, "%s", "a question is needed: -m TEXT");
    panp_client *c;
    int rc = connect_broker(o, &c);
    if (rc != EX_OK)
        return rc;
    run r = {.o = o, .exit_code = -1};
    panp_channel *ch = NULL;
    rc = open_chan(c, &r, PANP_STYLE_BIDIRECTIONAL, &ch);
    int64_t deadline = o->timeout_ms >= 0 ? mono_ms() + o->timeout_ms : -1;
    for (size_t i = 0; rc == EX_OK && i < o->nmessages; i++) {
        r.got_answer = false;
        if (panp_channel_is_closed(ch)) {
            fprintf(stderr, "panp: the listener closed the dialog before question %zu\n", i + 1);
            rc = EX_CLOSED;
            break;
        }
        rc = send_one(c, o, ch, o->messages[i], strlen(o->messages[i]));
        while (rc == EX_OK && !r.got_answer && !stop_flag) {
            if (panp_channel_is_closed(ch)) {
                rc = EX_CLOSED; /* closed without an answer (a closing reason was shown) */
                break;
            }
            int wait = 200;
            if (deadline >= 0) {
                int64_t left = deadline - mono_ms();
                if (left <= 0) {
                    fprintf(stderr, "panp: no answer within the timeout\n");
                    rc = EX_TIMEOUT;
                    break;
                }
                wait = left < wait ? (int)left : wait;
            }
            panp_status st;
            if (panp_poll(c, wait, &st) != PANP_OK) {
                fprintf(stderr, "panp: %s\n", st.message);
                rc = EX_CLOSED;
            }
        }
    }
    if (ch) {
        /* Answered by closing (AsyncUI style) still counts as an answer. */
        int rc2 = close_chan(c, o, ch);
        if (rc == EX_OK)
            rc = rc2;
    }
    panp_free(c);
    return rc;
}

/* ---- answer -------------------------------------------------------------------------------- */

/* The answer to a question, malloc'd; NULL to withdraw. */
static char *compute_answer(const opts *o, const panp_notify *n)
{
    if (o->reply)
        return strdup(o->reply);
    /* Not strndup: the payload is not NUL-terminated and may end the buffer. */
    char *q = malloc(n->payload.len + 1);
    if (!q)
        return NULL;
    memcpy(q, n->payload.data, n->payload.len);
    q[n->payload.len] = 0;
    if (!o->exec) {
        fprintf(stderr, "question from %s: %s\nanswer (empty line withdraws): ",
                n->has_sender ? n->sender.user : "?", q);
        free(q);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len = getline(&line, &cap, stdin);
        if (len <= 0 || (len == 1 && line[0] == '\n')) {
            free(line);
            return NULL;
        }
        if (line[len - 1] == '\n')
            line[len - 1] = 0;
        return line;
    }
    char chan[32];
    snprintf(chan, sizeof chan, "%llu", (unsigned long long)n->channel_id);
    setenv("PANP_QUESTION", q, 1);
    setenv("PANP_SENDER", n->has_sender ? n->sender.user : "", 1);
    setenv("PANP_CHANNEL", chan, 1);
    free(q);
    FILE *p = popen(o->exec, "r");
    if (!p)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0)
        fwrite(buf, 1, got, m);
    fclose(m);
    int status = pclose(p);
    if (status != 0) {
        free(out);
        return NULL;
    }
    if (len > 0 && out[len - 1] == '\n')
        out[len - 1] = 0;
    return out;
}

static void answer_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                          const panp_notify *n, void *data)
{
    (void)reg;
    run *r = data;
    const opts *o = r->o;
    if (r->exit_code >= 0)
        return; /* done: not answering more than --count */
    if (o->json || o->verbose)
        show_notify(o, n);
    if (!cv)
        return;
    char *answer = compute_answer(o, n);
    panp_status st;
    panp_error_code e;
    panp_close_result res = PANP_CLOSE_RESULT_NONE;
    if (!answer)
        e = panp_conversation_close(c, cv, NULL, 0, &res, &st); /* withdraw */
    else if (o->answer_by_close)
        e = panp_conversation_close(c, cv, answer, strlen(answer), &res, &st);
    else
        e = panp_conversation_reply(c, cv, answer, strlen(answer), &st);
    bool won = e == PANP_OK && answer && res != PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER &&
               res != PANP_CLOSE_RESULT_ALREADY_CLOSED;
    if (o->json) {
        printf("{\"event\":\"%s\",\"conversation\":%llu,\"result\":\"%s\"}\n",
               answer ? "answered" : "withdrawn", (unsigned long long)n->conversation_id,
               e != PANP_OK     ? panp_strerror(e)
               : won || !answer ? "ok"
                                : panp_close_result_name(res));
        fflush(stdout);
    } else if (e != PANP_OK) {
        fprintf(stderr, "panp: answer not taken: %s: %s\n", panp_strerror(e), st.message);
    } else if (!won && answer) {
        fprintf(stderr, "panp: another listener answered first\n");
    }
    free(answer);
    if (won && o->count && ++r->seen >= o->count)
        r->exit_code = EX_OK;
}

static int cmd_answer(opts *o)
{
    panp_client *c;
    int rc = connect_broker(o, &c);
    if (rc != EX_OK)
        return rc;
    run r = {.o = o, .exit_code = -1};
    panp_registration *reg = NULL;
    rc = do_register(c, &r, PANP_STYLE_BIDIRECTIONAL, answer_notify, &reg);
    if (rc == EX_OK)
        rc = pump_listener(c, &r);
    panp_free(c);
    return rc;
}

/* ---- registrations ---------------------------------------------------------------------- */

static int cmd_registrations(opts *o)
{
    panp_client *c;
    int rc = connect_broker(o, &c);
    if (rc != EX_OK)
        return rc;
    panp_target t = target_of(o);
    panp_reg_list l;
    panp_status st;
    panp_error_code e =
        panp_get_registrations(c, o->printer || o->server ? &t : NULL, &l, &st);
    if (e != PANP_OK) {
        rc = fail("list registrations", e, &st);
        panp_free(c);
        return rc;
    }
    if (!o->json)
        printf("%-8s %-16s %-22s %-22s %-9s %-5s %s\n", "MINE", "USER", "TARGET", "TYPE",
               "FILTER", "STYLE", "LEASE");
    for (size_t i = 0; i < l.count; i++) {
        const panp_reg_entry *en = &l.entries[i];
        char uuid[37], buf[37];
        panp_uuid_format(en->type, uuid);
        bool all = en->user_filter == PANP_USER_FILTER_ALL_USERS;
        const char *filter = all ? "all-users" : "per-user";
        const char *style = en->style == PANP_STYLE_BIDIRECTIONAL ? "bidi" : "uni";
        if (o->json) {
            printf("{\"event\":\"registration\",\"mine\":%s,\"user\":",
                   en->handle_len ? "true" : "false");
            json_cstr(stdout, en->user);
            panp_target tt = {en->target_kind, en->printer};
            json_target(stdout, &tt);
            json_type(stdout, (panp_bytes){en->type, PANP_UUID_LEN});
            printf(",\"user_filter\":\"%s\",\"style\":\"%s\",\"lease_remaining\":%u}\n", filter,
                   style, en->lease_remaining_seconds);
        } else {
            char target[300];
            snprintf(target, sizeof target, "%s%s",
                     en->target_kind == PANP_TARGET_PRINTER ? "printer:" : "server",
                     en->target_kind == PANP_TARGET_PRINTER ? en->printer : "");
            printf("%-8s %-16s %-22s %-22s %-9s %-5s %u\n", en->handle_len ? "yes" : "-",
                   en->user, target, type_text(en->type, buf), filter, style,
                   en->lease_remaining_seconds);
        }
    }
    if (!o->json)
        printf("%zu of %u\n", l.count, l.total);
    panp_reg_list_free(&l);
    panp_free(c);
    return EX_OK;
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(NULL, stderr, EX_USAGE);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0)
        return usage(argc > 2 ? argv[2] : NULL, stdout, EX_OK);
    opts o = {.cmd = argv[1], .timeout_ms = -1, .style = PANP_STYLE_UNIDIRECTIONAL};
    int (*fn)(opts *) = NULL;
    if (strcmp(o.cmd, "listen") == 0) fn = cmd_listen;
    else if (strcmp(o.cmd, "send") == 0) fn = cmd_send;
    else if (strcmp(o.cmd, "dialog") == 0) fn = cmd_dialog;
    else if (strcmp(o.cmd, "answer") == 0) fn = cmd_answer;
    else if (strcmp(o.cmd, "registrations") == 0) fn = cmd_registrations;
    if (!fn) {
        fprintf(stderr, "panp: unknown command \"%s\"\n", o.cmd);
        return usage(NULL, stderr, EX_USAGE);
    }
    memcpy(o.type, PANP_TYPE_ASYNC_UI, PANP_UUID_LEN);
    opterr = 0;
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "b:p:t:vC:W:hm:", long_opts, NULL)) != -1) {
        if (ch == 'h') {
            free(o.messages);
            return usage(o.cmd, stdout, EX_OK);
        }
        if (ch == '?' || ch == ':') {
            fprintf(stderr, "panp %s: bad or incomplete option \"%s\"\n", o.cmd,
                    argv[optind - 1]);
            free(o.messages);
            return usage(o.cmd, stderr, EX_USAGE);
        }
        int rc = parse_opt(&o, ch, optarg);
        if (rc != EX_OK) {
            free(o.messages);
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "panp %s: unexpected argument \"%s\"\n", o.cmd, argv[optind]);
        free(o.messages);
        return usage(o.cmd, stderr, EX_USAGE);
    }
    if (!o.broker)
        o.broker = default_broker();
    if (!o.token)
        o.token = getenv("PANP_TOKEN");
    if (o.token && !*o.token)
        o.token = NULL;
    /* TLS settings: the option, else the environment; empty means unset */
    const struct {
        const char **slot;
        const char *env;
    } tls_env[] = {{&o.tls_ca, "PANP_CA"}, {&o.tls_cert, "PANP_CERT"}, {&o.tls_key, "PANP_KEY"},
                   {&o.tls_server_name, "PANP_SERVER_NAME"}, {&o.tls_min, "PANP_TLS_MIN"}};
    for (size_t i = 0; i < sizeof tls_env / sizeof tls_env[0]; i++) {
        if (!*tls_env[i].slot)
            *tls_env[i].slot = getenv(tls_env[i].env);
        if (*tls_env[i].slot && !**tls_env[i].slot)
            *tls_env[i].slot = NULL;
    }
    if (o.tls_min && strcmp(o.tls_min, "1.2") != 0 && strcmp(o.tls_min, "1.3") != 0) {
        free(o.messages);
        return bad_opt(&o, "--tls-min: \"%s\": want 1.2 or 1.3", o.tls_min);
    }
    if (o.tls_key && !o.tls_cert) {
        free(o.messages);
        return bad_opt(&o, "%s", "--key needs --cert");
    }
    if (o.job_id && !o.job_owner) {
        free(o.messages);
        return bad_opt(&o, "%s", "--job needs --owner");
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = fn(&o);
    free(o.messages);
    return rc;
}
