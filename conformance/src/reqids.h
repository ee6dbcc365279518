/* reqids.h - the SPEC requirements the harness itself enforces on every
 * frame, whatever case is running, so a case that trips one fails citing
 * the right requirement rather than its own.  Cases written to check these
 * cite them too; that is what the coverage report counts. */
#ifndef PC_REQIDS_H
#define PC_REQIDS_H

/* checked on every frame the broker sends */
#define R_PREFACE_BROKER  "PANP-PREF-3"   /* broker's preface before any frame */
#define R_FRAMING         "PANP-FRAME-2"  /* minimal varint length prefix */
#define R_FRAME_MAX_OUT   "PANP-FRAME-9"  /* never larger than the client's max */
#define R_EMIT_CANONICAL  "PANP-WIRE-1"   /* canonical form (valid, minimal, ordered) */
#define R_ONE_RESPONSE    "PANP-CONN-12"  /* exactly one response per request */
#define R_RESPONSE_ORDER  "PANP-CONN-14"  /* responses in request order */
#define R_EVENT_RID       "PANP-CONN-16"  /* events carry request_id 0 */
#define R_PONG            "PANP-KA-2"     /* every Ping gets its Pong */
#define R_BARRIER         "PANP-KA-3"     /* a Pong follows what earlier frames caused */
#define R_V1_ONLY         "PANP-VER-4"    /* no body, field or enum value outside v1 */
#define R_ERR_CODE0       "PANP-ERR-2"    /* no Error with code UNSPECIFIED */
#define R_ERR_MESSAGE     "PANP-ERR-10"   /* message starts with "field: " */
#define R_ERR_RID         "PANP-ERR-8"    /* an Error echoes the request_id it answers */
#define R_RELEASE_ONLY    "PANP-REL-1"    /* RELEASE only in ChannelClosed, with PEER_GONE / SERVER_SHUTDOWN */
#define R_SEQ_ORDER       "PANP-ORD-1"    /* per channel and registration, increasing sequence */
#define R_NO_DUP          "PANP-ORD-3"    /* at most once */
#define R_AFTER_CLOSED    "PANP-CHAN-24"  /* nothing of a channel after its ChannelClosed */
#define R_NOTIFY_FIELDS   "PANP-CHAN-18"  /* Notify filled per 10.4 */
#define R_CLOSED_FIELDS   "PANP-CHAN-23"  /* ChannelClosed filled per 10.5 */

/* checked on every frame the client under test sends (client-side mode) */
#define R_PREFACE_CLIENT  "PANP-PREF-1"
#define R_CLIENT_FRAMING  "PANP-FRAME-2"
#define R_CLIENT_MAX      "PANP-FRAME-10"
#define R_CLIENT_RID      "PANP-CLI-4"
#define R_CLIENT_RELEASE  "PANP-CLI-17"

/* what the operation helpers cite when a valid request is refused */
#define R_WELCOME         "PANP-CONN-11"
#define R_REGISTER_OK     "PANP-REG-1"
#define R_HANDLE          "PANP-REG-9"
#define R_UNREGISTER_OK   "PANP-REG-14"
#define R_OPEN_OK         "PANP-CHAN-1"
#define R_CHAN_ID         "PANP-CHAN-10"
#define R_SEND_OK         "PANP-CHAN-16"
#define R_REPLY_OK        "PANP-BIDI-7"
#define R_CLOSE_OK        "PANP-CHAN-21"
#define R_DELIVER         "PANP-UNI-1"
#define R_ERROR_FIELD     "PANP-ERR-9"
#define R_ERROR_FATAL     "PANP-ERR-3"
#define R_FATAL_THEN_CLOSE "PANP-ERR-4"
#define R_SUCCESS_BODY    "PANP-CONN-13"

#endif
