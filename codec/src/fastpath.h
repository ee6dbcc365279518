/* fastpath.h - the frames a peer receives most, decoded in one pass.
 *
 * A client spends most of its receive time on Notify frames, a broker on
 * Send frames, and the full path (wire scan, then a runtime's unpack, then
 * the view validator) reads each one three times.  The fast path reads it
 * once, straight into the panp_frame view, but takes only the common case:
 * canonical form (fields in number order, one-byte tags, no defaults
 * written out, no unknown fields, only request_id and the body at the
 * Frame's level) and nothing any rule refuses.  At the first thing it does
 * not expect it gives up and the full path decides, so every verdict,
 * status and error text stays the full path's; for what it takes, the view
 * is the one the full path builds (test_fastpath, fuzz_differential).
 * Which bodies it knows, and where each field lands in the view, is a table
 * in fastpath.c; one walker serves them all.
 */
#ifndef PANP_FASTPATH_H
#define PANP_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "panp/codec.h"

/* Device builds (nanopb alone) leave it out: they count flash, and decode
 * with panp_decode_into(), which the fast path does not serve. */
#ifndef PANP_NO_PROTOBUF_C
#define PANP_FASTPATH 1
#endif

/* A bytes or string value of the input that fastpath_build() copies into
 * the view at byte off of the panp_frame (a panp_bytes, or a NUL-terminated
 * const char * when string).  Never empty: canonical form omits those. */
typedef struct fastpath_copy {
    const uint8_t *data;
    size_t len;
    uint16_t off;
    bool string;
} fastpath_copy;

/* Enough for every bytes and string field of the largest body known (a
 * Notify has seven); a frame with more is not one the fast path takes. */
enum { FASTPATH_COPIES = 8 };

/* What a scan found: the view without its bytes and strings (absent ones
 * already as the backends give them: {NULL, 0} and ""), and those values
 * as spans of the input. */
typedef struct fastpath_frame {
    panp_frame frame;
    fastpath_copy copy[FASTPATH_COPIES];
    unsigned ncopy;
    size_t storage; /* bytes fastpath_build() copies */
} fastpath_frame;

/* True when the fast path takes buf[0..len) as peer receives it in phase:
 * a body it knows that every check of the full path accepts, in the form
 * the fast path knows.  False means only "ask the full path"; nothing is
 * reported.  The caller has checked the size limit. */
bool fastpath_scan(const uint8_t *buf, size_t len, panp_peer peer, panp_phase phase,
                   fastpath_frame *ff);

/* The view, with every bytes and string value copied into storage
 * (ff->storage bytes, no alignment needed), so that it lives as long as
 * the storage and not as long as the input. */
void fastpath_build(const fastpath_frame *ff, uint8_t *storage, panp_frame *out);

/* codec.c: panp_decode_received() is fast || full.  Apart for the tests
 * and fuzzers that compare the two. */
#ifdef PANP_FASTPATH
/* The fast path alone: true with *out (freed by panp_frame_free()) and st
 * set as for success, or false with nothing written (*out untouched). */
bool codec_decode_fast(const panp_decode_opts *opts, panp_phase phase, const uint8_t *buf,
                       size_t len, panp_frame **out, panp_status *st);
#endif
/* panp_decode_received() without the fast path. */
panp_error_code codec_decode_full(const panp_decode_opts *opts, panp_phase phase,
                                  const uint8_t *buf, size_t len, panp_frame **out,
                                  panp_status *st);

#endif /* PANP_FASTPATH_H */
