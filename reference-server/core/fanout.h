/* fanout.h - encode a Notify once for every listener of one Send.
 *
 * Notify puts its per-listener fields (registration = 1, conversation_id =
 * 2, client_state = 3) before everything else, and canonical protobuf
 * writes fields in number order, so a listener's frame is
 *
 *   varint(frame_len) 0x12 varint(notify_len) [fields 1..3] [shared tail]
 *
 * The tail (fields 4..10) is encoded once by the codec and shared by
 * reference; only the few bytes in front are built per listener. */
#ifndef PANPD_FANOUT_H
#define PANPD_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "outq.h"
#include "panp/codec.h"

/* Length prefix, Frame tag and length, and fields 1..3 at their largest. */
#define FANOUT_HDR_MAX (5 + 1 + 5 + (2 + PANP_HANDLE_MAX_LEN) + (1 + 10) + (2 + PANP_CLIENT_STATE_MAX))

/* Encodes fields 4..10 of n (its fields 1..3 are ignored) with the codec,
 * so the tail is exactly what panp_encode would write.  *out gets one
 * reference. */
panp_error_code fanout_tail(const panp_notify *n, blob **out, panp_status *st);

/* Writes the per-listener header into hdr (FANOUT_HDR_MAX bytes) and
 * returns its length; *frame_len gets the length of the frame without its
 * prefix, for the recipient's max frame size check. */
size_t fanout_header(uint8_t *hdr, panp_bytes registration, uint64_t conversation_id,
                     panp_bytes client_state, size_t tail_len, size_t *frame_len);

#endif
