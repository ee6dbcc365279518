/* main.c - panpd, the reference panp broker: command line, configuration,
 * then the event loop (net/) around the routing core (core/). */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "net/net.h"
#include "net/tls.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: panpd [-c FILE] [-l LEVEL] [--check-config] [--print-default-config] [-h]\n"
            "\n"
            "  -c, --config FILE         configuration file (default: the embedded configuration,\n"
            "                            see --print-default-config)\n"
            "  -l, --log-level LEVEL     error, warn, info or debug (overrides [log] level)\n"
            "      --check-config        load and check the configuration, then exit\n"
            "      --print-default-config  print the embedded configuration and exit\n"
            "  -h, --help                this text\n"
            "\n"
            "SIGTERM or SIGINT: close every channel (NOTIFICATION_RELEASE to both sides),\n"
            "say Goodbye to every client, flush, exit 0.\n");
}

/* The user running panpd: the embedded configuration's administrator. */
static int running_user(char *out, size_t len)
{
    struct passwd pw, *res = NULL;
    char buf[16384];
    if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || !res) return -1;
    snprintf(out, len, "%s", pw.pw_name);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, 'l'},
        {"check-config", no_argument, NULL, 'C'},
        {"print-default-config", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *level = NULL;
    bool check = false, print_default = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': file = optarg; break;
        case 'l': level = optarg; break;
        case 'C': check = true; break;
        case 'P': print_default = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    char user[256], err[512];
    char *text = NULL;
    if (!file || print_default) {
        if (running_user(user, sizeof(user)) != 0) {
            fprintf(stderr, "panpd: the running uid has no user name\n");
            return 1;
        }
        text = config_default_text(user);
        if (!text) return 1;
        if (print_default) {
            fputs(text, stdout);
            free(text);
            return 0;
        }
    }
    panpd_settings *s = file ? config_load_file(file, err, sizeof(err))
                             : config_load_string(text, "(embedded)", err, sizeof(err));
    free(text);
    if (!s) {
        fprintf(stderr, "panpd: %s\n", err);
        return 1;
    }
    panpd_config *cfg = s->cfg;
    if (level && config_parse_level(level, &cfg->log_level) != 0) {
        fprintf(stderr, "panpd: -l: want error, warn, info or debug\n");
        config_free(s);
        return 2;
    }
    if (check) {
        /* The TLS files are read and checked too (certificate, key, CA). */
        tls_server *t = s->tls.configured ? tls_server_new(&s->tls, err, sizeof(err)) : NULL;
        if (s->tls.configured && !t) {
            fprintf(stderr, "panpd: %s\n", err);
            config_free(s);
            return 1;
        }
        tls_server_free(t);
        printf("panpd: configuration OK: server \"%s\", %zu printer(s), %zu listen address(es), "
               "%zu token user(s)%s\n",
               cfg->server_name, cfg->nprinters, cfg->listen.n, cfg->ntokens,
               s->tls.configured ? ", tls configured" : "");
        config_free(s);
        return 0;
    }

    /* Writes to a vanished peer must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    net *n = net_new(s, err, sizeof(err));
    if (!n || net_listen(n, err, sizeof(err)) != 0) {
        fprintf(stderr, "panpd: %s\n", err);
        net_free(n);
        config_free(s);
        return 1;
    }
    net_log(n, LOG_INFO, "panpd/0.1.0 serving \"%s\" (%zu printer(s))", cfg->server_name,
            cfg->nprinters);
    int rc = net_run(n);
    net_free(n);
    config_free(s);
    return rc;
}
