/* deliver.h - the delivery decision: may this registration see this
 * channel's notifications?
 *
 * A pure function of the brief's table, kept apart so every row can be
 * tested on its own.  The caller has already matched target, type and style
 * and excluded the opener's own connection. */
#ifndef PANPD_DELIVER_H
#define PANPD_DELIVER_H

#include <stdbool.h>

#include "panp/msg.h"

typedef struct deliver_in {
    panp_user_filter channel_filter;
    panp_user_filter reg_filter;
    bool listener_is_addressed;   /* listener's user == job owner, else == opener */
    bool listener_is_admin;       /* administers the channel's target */
    const char *channel_session;  /* on_behalf_of.session_label, "" or NULL: none */
    const char *listener_session; /* the listener's Hello.session_label */
} deliver_in;

bool deliver_decide(const deliver_in *in);

#endif
