/* fuzz_script.h - what the broker-side and the client-side harness both
 * script: the success response that answers each kind of request. */
#ifndef PANP_FUZZ_SCRIPT_H
#define PANP_FUZZ_SCRIPT_H

#include "panp/msg.h"

/* The body a successful response to a request of kind k carries;
 * PANP_BODY_NONE when k is not a request. */
static inline panp_body_kind fz_success_of(panp_body_kind k)
{
    switch (k) {
    case PANP_BODY_HELLO: return PANP_BODY_WELCOME;
    case PANP_BODY_REGISTER: return PANP_BODY_REGISTERED;
    case PANP_BODY_RENEW: return PANP_BODY_RENEWED;
    case PANP_BODY_UNREGISTER: return PANP_BODY_OK;
    case PANP_BODY_LIST_REGISTRATIONS: return PANP_BODY_REGISTRATION_LIST;
    case PANP_BODY_OPEN_CHANNEL: return PANP_BODY_CHANNEL_OPENED;
    case PANP_BODY_SEND: return PANP_BODY_SENT;
    case PANP_BODY_REPLY: return PANP_BODY_OK;
    case PANP_BODY_CLOSE_CHANNEL: return PANP_BODY_CHANNEL_CLOSE_RESULT;
    case PANP_BODY_PING: return PANP_BODY_PONG;
    default: return PANP_BODY_NONE;
    }
}

#endif
