/* sender.c - the README's ten-line sender: tells this user's listeners
 * something on the print server, then closes the channel.
 * usage: sender [BROKER [MESSAGE]] */
#include <stdio.h>
#include <string.h>

#include "panp/client.h"

int main(int argc, char **argv)
{
    const char *msg = argc > 2 ? argv[2] : "toner low";
    panp_options opt = {.broker = argc > 1 ? argv[1] : NULL}; /* NULL: the default socket */
    panp_channel_params p = {.type = PANP_TYPE_ASYNC_UI};
    panp_client *c = NULL;
    panp_channel *ch;
    panp_sent sent;
    panp_status st;
    bool ok = panp_connect(&opt, &c, &st) == PANP_OK &&
              panp_channel_open(c, &p, &ch, &st) == PANP_OK &&
              panp_channel_send(c, ch, msg, strlen(msg), &sent, &st) == PANP_OK &&
              panp_channel_close(c, ch, NULL, 0, NULL, &st) == PANP_OK;
    if (ok)
        printf("sent to %u listener(s)\n", sent.recipients); /* 0 is success: nobody listening */
    else
        fprintf(stderr, "sender: %s\n", st.message);
    panp_free(c); /* also gives back ch */
    return ok ? 0 : 1;
}
