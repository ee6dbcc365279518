/* main.c - panp-conformance: command line, case selection, reports.
 *
 *   panp-conformance --broker ADDR --profile FILE [options]   test a broker
 *   panp-conformance --as-broker ADDR --client-cmd CMD [...]   test a client
 *   panp-conformance --list [--only P] [--exclude P]           list cases
 *   panp-conformance --coverage SPEC.md                        coverage gate
 *
 * See conformance/README.md. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coverage.h"
#include "harness.h"
#include "registry.h"
#include "report.h"
#include "sbuf.h"
#include "tls.h"

#ifndef PC_DEFAULT_VECTORS
#define PC_DEFAULT_VECTORS "conformance/vectors"
#endif
#ifndef PC_DEFAULT_SPEC
#define PC_DEFAULT_SPEC "SPEC.md"
#endif

#define MAX_PATTERNS 64

typedef struct cli {
    const char *broker, *profile, *as_broker, *client_cmd, *coverage, *output, *vectors, *spec, *features;
    char *only[MAX_PATTERNS], *exclude[MAX_PATTERNS];
    size_t nonly, nexclude;
    pc_format format;
    bool list, strict, verbose;
    double time_scale;
    int timeout_ms;
} cli;

static void usage(FILE *f)
{
    fputs("usage: panp-conformance --broker unix:PATH|tcp:HOST:PORT|tls:HOST:PORT --profile FILE [options]\n"
          "       panp-conformance --as-broker unix:PATH|tcp:HOST:PORT|tls:HOST:PORT --client-cmd CMD [options]\n"
          "       panp-conformance --list [--only GLOB] [--exclude GLOB] [--format text|json]\n"
          "       panp-conformance --coverage SPEC.md\n"
          "options:\n"
          "  --only GLOB        run only cases whose name matches (repeatable, or comma-separated)\n"
          "  --exclude GLOB     skip cases whose name matches (repeatable)\n"
          "  --format F         text (default), tap, junit or json\n"
          "  --output FILE      write the report there (text progress stays on stdout)\n"
          "  --time-scale F     multiply every wait by F (slow machines, sanitizers; default 1)\n"
          "  --timeout-ms N     base wait for one expected frame (default 5000)\n"
          "  --strict           a WARN (SHOULD not met) fails the run\n"
          "  --vectors DIR      golden vectors (default " PC_DEFAULT_VECTORS ")\n"
          "  --spec FILE        SPEC.md, for requirement text in failures (default " PC_DEFAULT_SPEC ")\n"
          "  --features LIST    claim optional features besides the profile's (comma-separated);\n"
          "                     the client-side mode has no profile: a client claims tls this way\n"
          "  --verbose          details for passing cases too\n",
          f);
}

static bool add_patterns(char **dst, size_t *n, char *arg)
{
    char *save = NULL;
    for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_PATTERNS) return false;
        dst[(*n)++] = tok;
    }
    return true;
}

static int parse_cli(int argc, char **argv, cli *c)
{
    enum { O_BROKER = 256, O_PROFILE, O_AS_BROKER, O_CLIENT_CMD, O_LIST, O_COVERAGE, O_ONLY, O_EXCLUDE, O_FORMAT,
           O_OUTPUT, O_TIME_SCALE, O_TIMEOUT, O_STRICT, O_VECTORS, O_SPEC, O_VERBOSE, O_FEATURES, O_HELP };
    static const struct option opts[] = {
        {"broker", required_argument, 0, O_BROKER},         {"profile", required_argument, 0, O_PROFILE},
        {"as-broker", required_argument, 0, O_AS_BROKER},   {"client-cmd", required_argument, 0, O_CLIENT_CMD},
        {"list", no_argument, 0, O_LIST},                   {"coverage", required_argument, 0, O_COVERAGE},
        {"only", required_argument, 0, O_ONLY},             {"exclude", required_argument, 0, O_EXCLUDE},
        {"format", required_argument, 0, O_FORMAT},         {"output", required_argument, 0, O_OUTPUT},
        {"time-scale", required_argument, 0, O_TIME_SCALE}, {"timeout-ms", required_argument, 0, O_TIMEOUT},
        {"strict", no_argument, 0, O_STRICT},               {"vectors", required_argument, 0, O_VECTORS},
        {"spec", required_argument, 0, O_SPEC},             {"verbose", no_argument, 0, O_VERBOSE},
        {"features", required_argument, 0, O_FEATURES},     {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof(*c));
    c->format = PC_FMT_TEXT;
    c->time_scale = 1.0;
    c->timeout_ms = 5000;
    c->vectors = getenv("PANP_CONFORMANCE_VECTORS") ? getenv("PANP_CONFORMANCE_VECTORS") : PC_DEFAULT_VECTORS;
    c->spec = PC_DEFAULT_SPEC;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (o) {
        case O_BROKER: c->broker = optarg; break;
        case O_PROFILE: c->profile = optarg; break;
        case O_AS_BROKER: c->as_broker = optarg; break;
        case O_CLIENT_CMD: c->client_cmd = optarg; break;
        case O_LIST: c->list = true; break;
        case O_COVERAGE: c->coverage = optarg; break;
        case O_ONLY: if (!add_patterns(c->only, &c->nonly, optarg)) return 2; break;
        case O_EXCLUDE: if (!add_patterns(c->exclude, &c->nexclude, optarg)) return 2; break;
        case O_FORMAT:
            if (!pc_format_parse(optarg, &c->format)) {
                fprintf(stderr, "panp-conformance: unknown format '%s'\n", optarg);
                return 2;
            }
            break;
        case O_OUTPUT: c->output = optarg; break;
        case O_TIME_SCALE:
            c->time_scale = strtod(optarg, &end);
            if (!end || *end || c->time_scale <= 0) return 2;
            break;
        case O_TIMEOUT:
            c->timeout_ms = (int)strtol(optarg, &end, 10);
            if (!end || *end || c->timeout_ms <= 0) return 2;
            break;
        case O_STRICT: c->strict = true; break;
        case O_VECTORS: c->vectors = optarg; break;
        case O_SPEC: c->spec = optarg; break;
        case O_VERBOSE: c->verbose = true; break;
        case O_FEATURES: c->features = optarg; break;
        case O_HELP: usage(stdout); exit(0);
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "panp-conformance: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

static int do_list(const cli *c, const pc_registry *reg)
{
    sbuf b = SBUF_INIT;
    bool json = c->format == PC_FMT_JSON;
    if (json) sbuf_puts(&b, "[\n");
    size_t shown = 0;
    for (size_t i = 0; i < reg->n; i++) {
        const pc_case_def *d = reg->v[i].def;
        if (!pc_name_selected(d->name, c->only, c->nonly, c->exclude, c->nexclude)) continue;
        const char *mode = reg->v[i].mode == PC_MODE_CLIENT ? "client" : "broker";
        if (json) {
            sbuf_puts(&b, shown ? ",\n{\"name\":" : "{\"name\":");
            sbuf_json_str(&b, d->name);
            sbuf_puts(&b, ",\"mode\":");
            sbuf_json_str(&b, mode);
            sbuf_puts(&b, ",\"requirements\":");
            sbuf_json_str(&b, d->reqs);
            sbuf_puts(&b, ",\"feature\":");
            if (d->feature) sbuf_json_str(&b, d->feature);
            else sbuf_puts(&b, "null");
            sbuf_puts(&b, ",\"summary\":");
            sbuf_json_str(&b, d->summary);
            sbuf_putc(&b, '}');
        } else {
            sbuf_printf(&b, "%-52s %-6s %s%s%s\n    %s\n", d->name, mode, d->reqs, d->feature ? "  feature:" : "",
                        d->feature ? d->feature : "", d->summary);
        }
        shown++;
    }
    if (json) sbuf_puts(&b, "\n]\n");
    else sbuf_printf(&b, "%zu cases\n", shown);
    fputs(sbuf_str(&b), stdout);
    sbuf_free(&b);
    if (reg->vectors_error) fprintf(stderr, "panp-conformance: note: %s\n", reg->vectors_error);
    return 0;
}

static int run_cases(const cli *c, const pc_registry *reg, const pc_options *opt, pc_mode mode)
{
    pc_result *results = pc_xcalloc(reg->n, sizeof(*results));
    size_t n = 0;
    pc_summary sum = {0};
    /* Machine formats without --output own stdout; progress then goes to stderr. */
    FILE *progress = (c->format != PC_FMT_TEXT && !c->output) ? stderr : stdout;
    /* Cases that stop the broker (feature "shutdown") run last. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < reg->n; i++) {
            const pc_case_def *d = reg->v[i].def;
            bool last = d->feature && !strcmp(d->feature, "shutdown");
            if (last != (pass == 1)) continue;
            if (reg->v[i].mode != mode || !pc_name_selected(d->name, c->only, c->nonly, c->exclude, c->nexclude))
                continue;
            pc_run_case(d, opt, &results[n]);
            pc_summary_add(&sum, &results[n]);
            pc_report_text_case(progress, &results[n], opt->spec, c->verbose);
            n++;
        }
    }
    pc_report_text_summary(progress, &sum, c->strict);
    const char *target = mode == PC_MODE_CLIENT ? c->client_cmd : c->broker;
    if (c->output || c->format != PC_FMT_TEXT) {
        FILE *f = c->output ? fopen(c->output, "w") : stdout;
        if (!f) {
            perror(c->output);
        } else {
            pc_report_write(f, c->format, results, n, &sum, opt->spec, target);
            if (f != stdout) fclose(f);
        }
    }
    for (size_t i = 0; i < n; i++) pc_result_free(&results[i]);
    free(results);
    if (n == 0) {
        fprintf(stderr, "panp-conformance: no case selected\n");
        return 1;
    }
    return (sum.fail || sum.error || (c->strict && sum.warn)) ? 1 : 0;
}

static int run(cli *c, pc_registry *reg)
{
    pc_options opt = {.time_scale = c->time_scale, .timeout_ms = c->timeout_ms, .vectors_dir = c->vectors,
                      .client_cmd = c->client_cmd, .transcripts = c->verbose};
    char err[512];
    pc_profile prof = {0};
    pc_spec spec;
    bool have_spec = pc_spec_load(&spec, c->spec, err, sizeof(err));
    if (have_spec) opt.spec = &spec;
    pc_mode mode = c->as_broker ? PC_MODE_CLIENT : PC_MODE_BROKER;
    int rc = 2;
    if (mode == PC_MODE_CLIENT) {
        if (!c->client_cmd) fprintf(stderr, "panp-conformance: --as-broker needs --client-cmd\n");
        else if (!pc_addr_parse(&opt.listen, c->as_broker, err, sizeof(err))) fprintf(stderr, "panp-conformance: %s\n", err);
        else rc = -1;
        opt.profile = &prof;
    } else if (!c->broker || !c->profile) {
        usage(stderr);
    } else if (!pc_addr_parse(&opt.broker, c->broker, err, sizeof(err)) ||
               !pc_profile_load(&prof, c->profile, err, sizeof(err))) {
        fprintf(stderr, "panp-conformance: %s\n", err);
    } else {
        opt.profile = &prof;
        rc = -1;
    }
    if (rc == -1 && c->features && !pc_profile_add_features(&prof, c->features)) {
        fprintf(stderr, "panp-conformance: --features: too many features\n");
        rc = 2;
    }
    if (rc == -1) {
        if (reg->vectors_error) fprintf(stderr, "panp-conformance: %s\n", reg->vectors_error);
        rc = run_cases(c, reg, &opt, mode);
    }
    pc_profile_free(&prof);
    if (have_spec) pc_spec_free(&spec);
    return rc;
}

int main(int argc, char **argv)
{
    cli c;
    int rc = parse_cli(argc, argv, &c);
    if (rc) {
        usage(stderr);
        return rc;
    }
    /* Peers vanish on purpose in many cases; a write to them must fail, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    pc_registry reg;
    pc_registry_build(&reg, c.vectors);
    if (c.coverage) rc = pc_coverage(&reg, c.coverage, stdout);
    else if (c.list) rc = do_list(&c, &reg);
    else rc = run(&c, &reg);
    pc_tls_quiesce(2000);
    pc_registry_free(&reg);
    return rc;
}
