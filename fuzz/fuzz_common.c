/* fuzz_common.c - see fuzz_common.h.  Written from panp.proto and SPEC.md,
 * not from the codec's sources, so it does not share the codec's mistakes. */
#include "fuzz_common.h"

size_t fz_len(fz_in *in)
{
    static const size_t edges[] = {0,   1,   15,  16,  17,  31,  32,  33,    64,    65,
                                   128, 129, 255, 256, 512, 513, 4096, 63488, 63489, 65535};
    uint8_t sel = fz_u8(in);
    if (sel < 2 * sizeof edges / sizeof edges[0])
        return edges[sel / 2];
    if (sel < 200)
        return sel - 40; /* small: 0..159 */
    uint32_t v = fz_u8(in);
    return (v << 8 | fz_u8(in)) % 70000;
}

/* ---- receivers -----------------------------------------------------------
 * The same directions as the codec's schema_body_dir() (codec/src/schema.c),
 * written again on purpose: fuzz_decode checks the codec's role verdicts
 * against this table, which a shared one would make pass whatever it says,
 * and a codec under test from elsewhere has no schema.c. */

const panp_body_kind fz_kinds[] = {
    PANP_BODY_NOTIFY,          PANP_BODY_SEND,          PANP_BODY_SENT,
    PANP_BODY_REPLY,           PANP_BODY_REPLY_DELIVERY, PANP_BODY_CHANNEL_CLOSED,
    PANP_BODY_PING,            PANP_BODY_PONG,          PANP_BODY_ERROR,
    PANP_BODY_OK,              PANP_BODY_HELLO,         PANP_BODY_WELCOME,
    PANP_BODY_REGISTER,        PANP_BODY_REGISTERED,    PANP_BODY_RENEW,
    PANP_BODY_RENEWED,         PANP_BODY_UNREGISTER,    PANP_BODY_LIST_REGISTRATIONS,
    PANP_BODY_REGISTRATION_LIST, PANP_BODY_OPEN_CHANNEL, PANP_BODY_CHANNEL_OPENED,
    PANP_BODY_CLOSE_CHANNEL,   PANP_BODY_CHANNEL_CLOSE_RESULT, PANP_BODY_REGISTRATION_ENDED,
    PANP_BODY_GOODBYE,
};
const size_t fz_nkinds = sizeof fz_kinds / sizeof fz_kinds[0];

panp_peer fz_receiver(panp_body_kind kind)
{
    switch (kind) {
    case PANP_BODY_SEND:
    case PANP_BODY_REPLY:
    case PANP_BODY_PING:
    case PANP_BODY_HELLO:
    case PANP_BODY_REGISTER:
    case PANP_BODY_RENEW:
    case PANP_BODY_UNREGISTER:
    case PANP_BODY_LIST_REGISTRATIONS:
    case PANP_BODY_OPEN_CHANNEL:
    case PANP_BODY_CLOSE_CHANNEL:
        return PANP_PEER_BROKER;
    case PANP_BODY_NOTIFY:
    case PANP_BODY_SENT:
    case PANP_BODY_REPLY_DELIVERY:
    case PANP_BODY_CHANNEL_CLOSED:
    case PANP_BODY_PONG:
    case PANP_BODY_ERROR:
    case PANP_BODY_OK:
    case PANP_BODY_WELCOME:
    case PANP_BODY_REGISTERED:
    case PANP_BODY_RENEWED:
    case PANP_BODY_REGISTRATION_LIST:
    case PANP_BODY_CHANNEL_OPENED:
    case PANP_BODY_CHANNEL_CLOSE_RESULT:
    case PANP_BODY_REGISTRATION_ENDED:
    case PANP_BODY_GOODBYE:
        return PANP_PEER_CLIENT;
    case PANP_BODY_NONE:
        break;
    }
    return PANP_PEER_ANY;
}

bool fz_accepts(panp_peer peer, panp_body_kind kind)
{
    panp_peer r = fz_receiver(kind);
    if (r == PANP_PEER_ANY)
        return false; /* no body, or not in the schema */
    if (peer == PANP_PEER_ANY || kind == PANP_BODY_GOODBYE)
        return true;
    return r == peer;
}
