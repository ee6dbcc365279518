/* status.h - the codec's internal shortcuts for filling a panp_status. */
#ifndef PANP_STATUS_H
#define PANP_STATUS_H

#include "panp/codec.h"

/* The "buffer too small / size query" answer without printf: encoders are
 * asked for sizes on every frame they send, and nobody reads this message
 * on that path. */
panp_error_code panp_status_short_buffer(panp_status *st, uint64_t request_id);

#endif /* PANP_STATUS_H */
