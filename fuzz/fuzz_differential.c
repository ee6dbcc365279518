/* fuzz_differential.c - protobuf-c against nanopb (issue 7, target 3).
 *
 * The input is one Frame without its length prefix, decoded by both
 * backends as each receiver (broker, client, tool).  SPEC 6 promises that
 * the two accept exactly the same frames and report the same error for the
 * others, so:
 *  - same verdict, same code, same field, offset and request id;
 *  - accepted: equal views; each backend's view encoded by each backend
 *    gives the same bytes (canonical form is unique); those bytes decode
 *    back, by the other backend, to the same view and encode again to the
 *    same bytes.
 * Debian's runtimes are not coverage-instrumented, so libFuzzer cannot see
 * inside them; this target is what still compares their behaviour.
 * It also holds the one-pass fast path for received Notify and Send frames
 * (codec/src/fastpath.h) to the full path it short-cuts, with each backend:
 * what the fast path takes the full path accepts, with an equal view and
 * status, and the decode that combines them answers exactly what the full
 * path answers.
 */
#include <string.h>

#include "../codec/src/fastpath.h"
#include "fuzz_common.h"

/* Internal to this codec: absent in another one, and then not checked. */
#pragma weak codec_decode_fast
#pragma weak codec_decode_full

static const panp_backend PBC = PANP_BACKEND_PROTOBUF_C, NPB = PANP_BACKEND_NANOPB;

/* With may_refuse, NULL when the encoder refuses f with INVALID_ARGUMENT:
 * receivers take some values no peer may emit (SPEC 6.3, 14.1). */
static uint8_t *encode(panp_backend b, const panp_frame *f, bool may_refuse, size_t *len)
{
    panp_status st;
    size_t need = 0;
    panp_error_code rc = panp_encode(b, f, NULL, 0, &need, &st);
    if (may_refuse && rc == PANP_ERR_INVALID_ARGUMENT)
        return NULL;
    FZ_CHECK(rc == PANP_ERR_RESOURCE_EXHAUSTED && need, "backend %d sizing %s: %d %s: %s", b,
             panp_body_name(f->kind), rc, st.field, st.message);
    uint8_t *buf = malloc(need);
    rc = panp_encode(b, f, buf, need, len, &st);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED && *len == need, "backend %d encoding %s: %d %s: %s", b,
             panp_body_name(f->kind), rc, st.field, st.message);
    return buf;
}

static void compare_accepted(const panp_decode_opts *o, const panp_frame *fp,
                             const panp_frame *fn)
{
    char why[160];
    FZ_CHECK(fz_frames_equal(fp, fn, why, sizeof why), "views differ: %s", why);

    size_t l[4];
    uint8_t *e[4] = {encode(PBC, fp, true, &l[0]), NULL, NULL, NULL};
    if (!e[0]) { /* both share one validator: both must refuse */
        FZ_CHECK(!encode(NPB, fn, true, &l[1]), "nanopb encodes what protobuf-c refuses");
        return;
    }
    e[1] = encode(NPB, fn, false, &l[1]);
    e[2] = encode(NPB, fp, false, &l[2]);
    e[3] = encode(PBC, fn, false, &l[3]);
    for (int i = 1; i < 4; i++)
        FZ_CHECK(l[i] == l[0] && !memcmp(e[i], e[0], l[0]),
                 "%s: encoding %d differs from protobuf-c's (%zu vs %zu bytes)",
                 panp_body_name(fp->kind), i, l[i], l[0]);

    /* Cross: each backend decodes what the other encoded. */
    panp_decode_opts op = *o, on = *o;
    op.backend = PBC;
    on.backend = NPB;
    panp_frame *gp = NULL, *gn = NULL;
    panp_status sp, sn;
    panp_error_code rp = panp_decode(&op, e[1], l[1], &gp, &sp);
    panp_error_code rn = panp_decode(&on, e[0], l[0], &gn, &sn);
    FZ_CHECK(!rp && !rn, "cross decode: protobuf-c %d (%s), nanopb %d (%s)", rp, sp.message, rn,
             sn.message);
    FZ_CHECK(fz_frames_equal(fp, gp, why, sizeof why), "protobuf-c(nanopb(x)) != x: %s", why);
    FZ_CHECK(fz_frames_equal(fp, gn, why, sizeof why), "nanopb(protobuf-c(x)) != x: %s", why);
    size_t l2;
    uint8_t *e2 = encode(NPB, gp, false, &l2);
    FZ_CHECK(l2 == l[0] && !memcmp(e2, e[0], l2), "second round differs");
    free(e2);
    panp_frame_free(gp);
    panp_frame_free(gn);
    for (int i = 0; i < 4; i++)
        free(e[i]);
}

static bool same_status(const panp_status *a, const panp_status *b)
{
    return a->code == b->code && a->offset == b->offset && a->request_id == b->request_id &&
           !strcmp(a->field, b->field) && !strcmp(a->message, b->message);
}

/* rc, st and f: what the decode (fast path, else full path) answered. */
static void check_fast_path(const panp_decode_opts *o, panp_phase ph, const uint8_t *data,
                            size_t size, panp_error_code rc, const panp_status *st,
                            const panp_frame *f)
{
    if (!codec_decode_fast || !codec_decode_full)
        return;
    char why[160];
    panp_frame *full = NULL, *fast = NULL;
    panp_status sf, sq;
    panp_error_code rf = codec_decode_full(o, ph, data, size, &full, &sf);
    FZ_CHECK(rc == rf && same_status(st, &sf),
             "backend %d peer %d phase %d: decode says %d (%s), the full path %d (%s)",
             o->backend, o->peer, ph, rc, st->message, rf, sf.message);
    FZ_CHECK(rc || fz_frames_equal(f, full, why, sizeof why), "decode vs full path: %s", why);
    if (codec_decode_fast(o, ph, data, size, &fast, &sq)) {
        FZ_CHECK(!rf, "backend %d peer %d phase %d: the fast path took what the full path "
                 "refuses: %s", o->backend, o->peer, ph, sf.message);
        FZ_CHECK(same_status(&sq, &sf), "fast path status differs");
        FZ_CHECK(fz_frames_equal(fast, full, why, sizeof why), "fast vs full path: %s", why);
        panp_frame_free(fast);
    } else {
        FZ_CHECK(!fast, "the fast path gave up but returned a frame");
    }
    panp_frame_free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const panp_peer peers[] = {PANP_PEER_BROKER, PANP_PEER_CLIENT, PANP_PEER_ANY};
    static const panp_phase phases[] = {PANP_PHASE_NONE, PANP_PHASE_HANDSHAKE, PANP_PHASE_READY};
    for (size_t j = 0; j < 9; j++) {
        size_t i = j % 3;
        panp_phase ph = phases[j / 3];
        if (ph != PANP_PHASE_NONE && !fz_have_phases())
            break;
        panp_decode_opts op = {.backend = PBC, .peer = peers[i]};
        panp_decode_opts on = {.backend = NPB, .peer = peers[i]};
        panp_frame *fp = NULL, *fn = NULL;
        panp_status sp, sn;
        panp_error_code rp = fz_decode(&op, ph, data, size, &fp, &sp);
        panp_error_code rn = fz_decode(&on, ph, data, size, &fn, &sn);
        check_fast_path(&op, ph, data, size, rp, &sp, fp);
        check_fast_path(&on, ph, data, size, rn, &sn, fn);
        FZ_CHECK(rp == rn, "peer %d: protobuf-c says %d (%s: %s), nanopb says %d (%s: %s)",
                 peers[i], rp, sp.field, sp.message, rn, sn.field, sn.message);
        FZ_CHECK(sp.request_id == sn.request_id, "request_id %llu vs %llu",
                 (unsigned long long)sp.request_id, (unsigned long long)sn.request_id);
        if (rp || ph != PANP_PHASE_NONE) {
            if (!rp) {
                char why[160];
                FZ_CHECK(fz_frames_equal(fp, fn, why, sizeof why), "views differ: %s", why);
                panp_frame_free(fp);
                panp_frame_free(fn);
                continue;
            }
            FZ_CHECK(!strcmp(sp.field, sn.field) && sp.offset == sn.offset,
                     "peer %d, code %d: protobuf-c blames %s@%zu (%s), nanopb %s@%zu (%s)",
                     peers[i], rp, sp.field, sp.offset, sp.message, sn.field, sn.offset,
                     sn.message);
            continue;
        }
        compare_accepted(&op, fp, fn);
        panp_frame_free(fp);
        panp_frame_free(fn);
    }
    return 0;
}
