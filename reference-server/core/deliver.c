/* deliver.c - the delivery table (see deliver.h and docs/design-brief.md,
 * "Delivery decision"). */
#include "deliver.h"

#include <string.h>

static bool labels_conflict(const char *a, const char *b)
{
    /* A label narrows only when both sides name one: labels never widen. */
    if (!a || !b || !*a || !*b) return false;
    return strcmp(a, b) != 0;
}

bool deliver_decide(const deliver_in *in)
{
    if (in->channel_filter == PANP_USER_FILTER_ALL_USERS) return true;
    if (in->channel_filter != PANP_USER_FILTER_PER_USER) return false;
    /* ALL_USERS registrations exist only for administrators of the target. */
    if (in->reg_filter == PANP_USER_FILTER_ALL_USERS) return true;
    if (in->reg_filter != PANP_USER_FILTER_PER_USER) return false;
    if (in->listener_is_admin) return true;
#ifdef PANPD_BROKEN_PER_USER_LEAK
    /* BROKEN ON PURPOSE (conformance/broken.mk): PER_USER reaches every user. */
    return !labels_conflict(in->channel_session, in->listener_session);
#endif
    if (!in->listener_is_addressed) return false;
    return !labels_conflict(in->channel_session, in->listener_session);
}
