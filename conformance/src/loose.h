/* loose.h - encoding client frames without validating them.
 *
 * The codec refuses to encode what it would refuse to decode (the nil
 * UUID as a type, NOTIFICATION_RELEASE in a Send, channel id 0...), yet
 * those are exactly the requests a conformance case must send to see the
 * broker refuse them.  This encoder writes any client-to-broker frame in
 * canonical field order without judging its values. */
#ifndef PC_LOOSE_H
#define PC_LOOSE_H

#include <stdbool.h>

#include "panp/msg.h"
#include "pbw.h"

/* false when the body kind is not one a client sends. */
bool pc_loose_encode(const panp_frame *f, pbw *out);

#endif
