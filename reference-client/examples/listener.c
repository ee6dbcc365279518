/* listener.c - the README's ten-line listener: prints every async-ui
 * notification addressed to this user on the print server.
 * usage: listener [BROKER] */
#include <stdio.h>

#include "panp/client.h"

static void on_notify(panp_client *c, panp_registration *reg, panp_conversation *cv,
                      const panp_notify *n, void *data)
{
    printf("%.*s\n", (int)n->payload.len, (const char *)n->payload.data);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    panp_options opt = {.broker = argc > 1 ? argv[1] : NULL}; /* NULL: the default socket */
    panp_register_params p = {.type = PANP_TYPE_ASYNC_UI, .on_notify = on_notify};
    panp_client *c = NULL;
    panp_status st;
    if (panp_connect(&opt, &c, &st) == PANP_OK &&
        panp_register_listener(c, &p, NULL, &st) == PANP_OK)
        while (panp_poll(c, -1, &st) == PANP_OK)
            ;
    fprintf(stderr, "listener: %s\n", st.message);
    panp_free(c);
    return 1;
}
