/* storage_sizes.c - compiled with -S for the target only: the assembly
 * holds, per body, the bytes panp_decode_into() needs with nanopb (the
 * body struct rounded to the alignment, plus the view's arrays), exactly
 * as backend_nanopb.c computes them.  footprint.py reads the numbers. */
#include <stdalign.h>
#include <stddef.h>

#include "panp/codec.h"
#include "panp/v1/panp.pb.h"

#define ROUND(n) (((n) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))
#define SIZE(T) const unsigned long storage_##T = ROUND(sizeof(panp_v1_##T));

SIZE(Notify) SIZE(Send) SIZE(Sent) SIZE(Reply) SIZE(ReplyDelivery) SIZE(ChannelClosed)
SIZE(Ping) SIZE(Pong) SIZE(Error) SIZE(Ok) SIZE(Hello) SIZE(Register) SIZE(Registered)
SIZE(Renew) SIZE(Renewed) SIZE(Unregister) SIZE(ListRegistrations) SIZE(OpenChannel)
SIZE(ChannelOpened) SIZE(CloseChannel) SIZE(ChannelCloseResult) SIZE(RegistrationEnded)
SIZE(Goodbye)
const unsigned long storage_Welcome = ROUND(sizeof(panp_v1_Welcome)) + 64 * sizeof(const char *);
const unsigned long storage_RegistrationList =
    ROUND(sizeof(panp_v1_RegistrationList)) + 32 * sizeof(panp_registration_info);
const unsigned long sizeof_panp_frame = sizeof(panp_frame);
