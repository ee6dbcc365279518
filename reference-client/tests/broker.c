/* broker.c - a real panpd for the tests (broker.h). */
#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PANPD_BIN
#define PANPD_BIN "build/bin/panpd"
#endif

const char *broker_bin(void)
{
    const char *env = getenv("PANPD");
    return env && *env ? env : PANPD_BIN;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("free_port");
        abort();
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static bool connectable(const broker *b)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", b->unix_addr + 5);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool spawn(broker *b)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int log = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
            dup2(log, 2);
            dup2(log, 1);
        }
        execl(broker_bin(), "panpd", "-c", b->conf, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", broker_bin(), strerror(errno));
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 500; i++) {
        if (connectable(b))
            return true;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "panpd exited at start; see %s\n", b->log);
            b->pid = 0;
            return false;
        }
        usleep(10000);
    }
    return false;
}

bool broker_start(broker *b, const char *extra)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "/tmp/panp-test-XXXXXX");
    if (!mkdtemp(b->dir))
        return false;
    b->port = free_port();
    snprintf(b->conf, sizeof b->conf, "%s/panpd.conf", b->dir);
    snprintf(b->log, sizeof b->log, "%s/panpd.log", b->dir);
    snprintf(b->unix_addr, sizeof b->unix_addr, "unix:%s/panpd.sock", b->dir);
    snprintf(b->tcp_addr, sizeof b->tcp_addr, "tcp:127.0.0.1:%d", b->port);
    struct passwd *pw = getpwuid(getuid());
    const char *me = pw ? pw->pw_name : "root";
    char path[160], text[4096];
    snprintf(path, sizeof path, "%s/users", b->dir);
    /* SHA-256 of "alice-token", "bob-token", "carol-token". */
    if (!write_file(path,
                    "alice:9c220f200955d76c0a38d308225e0ef10c5f971acaf2f8d1d8f732affa5bd1dc\n"
                    "bob:97dd3707015dcf069cf73022ed7173b1165db6eff24b441cb57fd069a8c4e525\n"
                    "carol:6c0d2c0b430d9d9e3231e2645090c735a5059173d4ddf51f186e3f32e01bc832\n"))
        return false;
    snprintf(text, sizeof text,
             "[server]\nname = libpanp-test\nlisten = %s, %s\nusers_file = users\n"
             "[printer lobby]\nadmins = alice\n[printer lab]\nadmins =\n"
             "[access]\nserver_admins = %s\nsenders = %s, alice\ntrusted = %s\n"
             "[log]\nlevel = debug\n%s",
             b->unix_addr, b->tcp_addr, me, me, me, extra ? extra : "");
    if (!write_file(b->conf, text))
        return false;
    return spawn(b);
}

bool broker_restart(broker *b)
{
    if (b->pid)
        broker_kill9(b);
    return spawn(b);
}

static void reap(broker *b)
{
    int status;
    waitpid(b->pid, &status, 0);
    b->pid = 0;
}

void broker_kill9(broker *b)
{
    if (!b->pid)
        return;
    kill(b->pid, SIGKILL);
    reap(b);
}

void broker_term(broker *b)
{
    if (!b->pid)
        return;
    kill(b->pid, SIGTERM);
    reap(b);
}

void broker_cleanup(broker *b)
{
    broker_term(b);
    if (getenv("PANP_KEEP_TEST_DIR")) {
        fprintf(stderr, "kept %s\n", b->dir);
        return;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", b->dir);
}
