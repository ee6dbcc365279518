/* panp/compare.h - are two frame views the same frame?
 *
 * The codec's tests and the fuzzers check that two decoders agree, and that
 * a view decodes back equal to what was encoded; this is the one comparison
 * they share.  Every field of every body kind is compared by value (bytes
 * and strings by content); members that the body kind, a has_* flag or a
 * target's kind make meaningless are not looked at.  The first difference in
 * field order is reported, as the field's dotted name (the view's member
 * names, e.g. `notify.sender.user`, `registration_list.registrations[1].style`)
 * followed by both values.
 *
 * It reads panp/msg.h views only, so it works on any codec's views (the
 * fuzzers compile it next to a codec under test), and it formats with the C
 * library's snprintf: a host tool, which the device build does not link.
 */
#ifndef PANP_COMPARE_H
#define PANP_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    /* Without it the comparison also checks that both views have the form
     * a decoder gives them (panp/msg.h): a NULL string is a difference even
     * against another NULL, and so are empty bytes with a non-NULL pointer.
     * With it NULL and "" are the same string, and empty bytes are equal
     * whatever their pointer: for a view built by hand, which panp_encode()
     * reads that way, against its decoded copy. */
    PANP_COMPARE_NULL_IS_EMPTY = 1u << 0
} panp_compare_flags;

/* Whether a and b hold the same frame (flags: panp_compare_flags ORed).
 * On a difference writes "<field>: <value in a> vs <value in b>" into why
 * (at most why_cap bytes, NUL-terminated; why may be NULL when why_cap is 0)
 * and returns false; on equality why is "". */
bool panp_frames_equal(const panp_frame *a, const panp_frame *b, unsigned flags, char *why,
                       size_t why_cap);

/* Lower-case hex of p[0..n) into out, as many whole bytes as fit, then
 * "..." when cut; always NUL-terminated when cap > 0.  Returns out.  The
 * form panp_frames_equal() gives bytes in, for messages of the caller's. */
const char *panp_hex(const uint8_t *p, size_t n, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* PANP_COMPARE_H */
