/* main.c - panp-bench, the load generator: one scenario against one
 * broker per invocation, one JSON record on stdout (bench/run.sh runs it
 * for every scenario, broker and repetition and bench/report.py makes the
 * table).  Also two helpers for the orchestration: `freeport` and `wait`. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "scen.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: panp-bench throughput|rtt|idle [options]\n"
            "       panp-bench freeport            print a free TCP port on 127.0.0.1\n"
            "       panp-bench wait [--port P | --unix PATH] [--secs S]   wait for a listener\n"
            "\n"
            "  --proto panp|mqtt|nats   driver (panp: libpanp async API)\n"
            "  --host H --port P        broker over TCP (default host 127.0.0.1)\n"
            "  --unix PATH              broker over a Unix socket (panp only)\n"
            "  --token T                panp TOKEN for TCP\n"
            "  --pid PID --label NAME --rep N   broker process, name and repetition for the record\n"
            "  --listeners N --payload B --secs S --warmup S --slow   throughput\n"
            "  --window W               closed loop: send while the slowest listener is fewer than\n"
            "                           W messages behind (1024), with W x listeners <= D\n"
            "  --window-deliveries D    (1048576) and W x (payload + 100) <= B\n"
            "  --window-bytes B         (512 KiB)\n"
            "  --rtt-n N --rtt-warm N   round trips measured / not measured first\n"
            "  --idle-n N --idle-secs S idle connections and how long they idle\n"
            "  --idle-procs P           processes the idle connections are spread over (4)\n"
            "  --concurrency C          connections set up at once (24; panpd allows 32 unfinished handshakes per peer)\n"
            "  --broker-cpu N --gen-cpu M   the CPUs broker and generator are pinned to (noise figure)\n"
            "  --drain-ms MS            stop waiting for deliveries after MS without progress\n");
}

static int freeport(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("freeport");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

static int try_connect(const benv *e)
{
    int fd;
    int rc;
    if (e->unix_path) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", e->unix_path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sun, sizeof sun) : -1;
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)e->port)};
        inet_pton(AF_INET, e->host, &sa.sin_addr);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
    }
    if (fd >= 0) close(fd);
    return rc;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "freeport")) return freeport();

    bench_cfg cfg = {.d = &drv_panp,
                     .env = {.host = "127.0.0.1"},
                     .label = "?",
                     .scenario = cmd,
                     .rep = 1,
                     .listeners = 1,
                     .payload = 256,
                     .secs = 3,
                     .warmup = 0.5,
                     .window = 1024,
                     .window_deliveries = 1048576,
                     .window_bytes = 512 * 1024,
                     .rtt_n = 5000,
                     .rtt_warm = 500,
                     .idle_n = 10000,
                     .idle_secs = 10,
                     .idle_procs = 4,
                     .concurrency = 24,
                     .drain_ms = 2000,
                     .broker_cpu = -1,
                     .gen_cpu = -1};
    static const struct option opts[] = {
        {"proto", 1, 0, 'P'},       {"host", 1, 0, 'H'},      {"port", 1, 0, 'p'},
        {"unix", 1, 0, 'u'},        {"token", 1, 0, 't'},     {"pid", 1, 0, 'i'},
        {"label", 1, 0, 'l'},       {"rep", 1, 0, 'r'},       {"listeners", 1, 0, 'n'},
        {"payload", 1, 0, 'b'},     {"secs", 1, 0, 's'},      {"warmup", 1, 0, 'w'},
        {"window", 1, 0, 'W'},      {"slow", 0, 0, 'S'},      {"rtt-n", 1, 0, 'R'},
        {"rtt-warm", 1, 0, 'm'},    {"idle-n", 1, 0, 'I'},    {"idle-secs", 1, 0, 'T'},
        {"concurrency", 1, 0, 'c'}, {"drain-ms", 1, 0, 'd'},
        {"idle-procs", 1, 0, 'X'},  {"window-deliveries", 1, 0, 'D'},
        {"window-bytes", 1, 0, 'Y'},  {"broker-cpu", 1, 0, 'B'},  {"gen-cpu", 1, 0, 'G'},
        {0, 0, 0, 0}};
    int o;
    optind = 2;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'P':
            cfg.d = !strcmp(optarg, "mqtt") ? &drv_mqtt : !strcmp(optarg, "nats") ? &drv_nats
                  : !strcmp(optarg, "panp") ? &drv_panp : NULL;
            if (!cfg.d) {
                fprintf(stderr, "panp-bench: unknown protocol %s\n", optarg);
                return 2;
            }
            break;
        case 'H': cfg.env.host = optarg; break;
        case 'p': cfg.env.port = atoi(optarg); break;
        case 'u': cfg.env.unix_path = optarg; break;
        case 't': cfg.env.token = optarg; break;
        case 'i': cfg.broker_pid = (pid_t)atoi(optarg); break;
        case 'l': cfg.label = optarg; break;
        case 'r': cfg.rep = atoi(optarg); break;
        case 'n': cfg.listeners = atoi(optarg); break;
        case 'b': cfg.payload = atoi(optarg); break;
        case 's': cfg.secs = atof(optarg); break;
        case 'w': cfg.warmup = atof(optarg); break;
        case 'W': cfg.window = atoi(optarg); break;
        case 'S': cfg.slow = true; break;
        case 'R': cfg.rtt_n = atoi(optarg); break;
        case 'm': cfg.rtt_warm = atoi(optarg); break;
        case 'I': cfg.idle_n = atoi(optarg); break;
        case 'T': cfg.idle_secs = atof(optarg); break;
        case 'c': cfg.concurrency = atoi(optarg); break;
        case 'd': cfg.drain_ms = atoi(optarg); break;
        case 'X': cfg.idle_procs = atoi(optarg); break;
        case 'D': cfg.window_deliveries = atoi(optarg); break;
        case 'Y': cfg.window_bytes = atoi(optarg); break;
        case 'B': cfg.broker_cpu = atoi(optarg); break;
        case 'G': cfg.gen_cpu = atoi(optarg); break;
        default: usage(stderr); return 2;
        }
    }
    if (!strcmp(cmd, "wait")) {
        for (int64_t dl = mono_ms() + (int64_t)(cfg.secs * 1000); mono_ms() < dl; usleep(20000))
            if (try_connect(&cfg.env) == 0) return 0;
        fprintf(stderr, "panp-bench: nothing listening after %.1f s\n", cfg.secs);
        return 1;
    }
    if (cfg.listeners < 1 || cfg.payload < 16 || cfg.window < 1 || cfg.concurrency < 1 ||
        cfg.idle_n < 1 || cfg.rtt_n < 1 || (!cfg.env.unix_path && cfg.env.port <= 0)) {
        fprintf(stderr, "panp-bench: bad arguments (payload >= 16, a port or --unix, counts >= 1)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    cfg.env.loop = ev_new();
    if (!cfg.env.loop) {
        perror("epoll");
        return 1;
    }
    int rc;
    if (!strcmp(cmd, "throughput"))
        rc = scen_throughput(&cfg);
    else if (!strcmp(cmd, "rtt"))
        rc = scen_rtt(&cfg);
    else if (!strcmp(cmd, "idle"))
        rc = scen_idle(&cfg);
    else {
        usage(stderr);
        rc = 2;
    }
    ev_free(cfg.env.loop);
    return rc;
}
