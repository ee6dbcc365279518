/* broker.h - a real panpd for libpanp's tests: a generated configuration
 * in a temporary directory, a Unix socket and a loopback TCP port, tokens
 * for three users, and start / kill -9 / restart / stop. */
#ifndef PANP_CLIENT_TESTS_BROKER_H
#define PANP_CLIENT_TESTS_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct broker {
    char dir[64];
    char conf[128];
    char unix_addr[160]; /* "unix:DIR/panpd.sock": identity = the user running the test */
    char tcp_addr[64]; /* "tcp:127.0.0.1:PORT": tokens "alice-token", "bob-token", "carol-token" */
    char log[128];
    int port;
    pid_t pid;
} broker;

/* The user running the tests (administrator, sender and trusted in the
 * configuration); alice is a sender and administers printer "lobby"; bob
 * and carol only listen.  extra: more INI text appended (e.g. "[limits]\n..."). */
bool broker_start(broker *b, const char *extra);
bool broker_restart(broker *b); /* same configuration, same addresses */
void broker_kill9(broker *b);
void broker_term(broker *b);    /* SIGTERM and wait */
void broker_cleanup(broker *b); /* stops it if running, removes the directory */
/* Path of the panpd binary (PANPD_BIN at build time; $PANPD overrides). */
const char *broker_bin(void);

#endif
