/* fastpath.h - a received Notify decoded in one pass over its bytes.
 *
 * A client spends most of its receive time on Notify frames, and the full
 * path (wire scan, then a runtime's unpack, then the view validator) reads
 * each one three times.  The fast path reads it once, straight into the
 * panp_frame view, but takes only the common case: canonical form (fields
 * in number order, one-byte tags, no defaults written out, no unknown
 * fields) and nothing any rule refuses.  At the first thing it does not
 * expect it gives up and the full path decides, so every verdict, status
 * and error text stays the full path's; for what it takes, the view is the
 * one the full path builds (test_fastpath, fuzz_differential).
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

/* What a scan found.  Bytes fields of frame point into the input until
 * fastpath_notify_build() moves them; the strings are spans of the input
 * there, since the input has no NUL after them. */
typedef struct fastpath_notify {
    panp_frame frame;
    panp_bytes user, job_owner, printer;
} fastpath_notify;

/* True when the fast path takes buf[0..len) as peer receives it in phase:
 * a Notify every check of the full path accepts, in the form the fast path
 * knows.  False means only "ask the full path"; nothing is reported.  The
 * caller has checked the size limit. */
bool fastpath_notify_scan(const uint8_t *buf, size_t len, panp_peer peer, panp_phase phase,
                          fastpath_notify *fn);

/* Bytes fastpath_notify_build() copies into its storage. */
size_t fastpath_notify_storage(const fastpath_notify *fn);

/* The view, with every bytes and string value copied into storage
 * (fastpath_notify_storage() bytes, no alignment needed), so that it lives
 * as long as the storage and not as long as the input. */
void fastpath_notify_build(const fastpath_notify *fn, uint8_t *storage, panp_frame *out);

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
