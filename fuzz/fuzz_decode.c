/* fuzz_decode.c - one backend: decode, validate, re-encode (issue 7, target 1).
 *
 * Built twice: fuzz_decode_pbc (FZ_BACKEND = PANP_BACKEND_PROTOBUF_C) and
 * fuzz_decode_nanopb (PANP_BACKEND_NANOPB).  The input is one Frame without
 * its length prefix, decoded as each receiver (broker, client, tool).
 *
 * Invariants:
 *  - a failure is a clean panp_status (code 1..16, NUL-terminated texts,
 *    offset inside the input) and no frame;
 *  - an accepted frame passes panp_validate(), has a body its receiver
 *    accepts, and the verdicts of the three receivers fit together;
 *  - decode -> encode -> decode -> encode: the two encodings are equal, the
 *    two views are equal, the encoding is never longer than the input (the
 *    canonical form is the shortest), and the size the encoder asks for is
 *    the size panp_validate() measures;
 *  - panp_decode_into() with the documented storage gives the same verdict
 *    and the same view as panp_decode().
 */
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

#ifndef FZ_BACKEND
#error "define FZ_BACKEND"
#endif

enum { NPEERS = 3, NPHASES = 3 };
static const panp_peer PEERS[NPEERS] = {PANP_PEER_ANY, PANP_PEER_BROKER, PANP_PEER_CLIENT};
static const panp_phase PHASES[NPHASES] = {PANP_PHASE_NONE, PANP_PHASE_HANDSHAKE,
                                           PANP_PHASE_READY};


static void check_failure(panp_error_code rc, const panp_status *st, size_t size)
{
    FZ_CHECK(rc == st->code, "returned %d, status says %d", rc, st->code);
    FZ_CHECK(rc > PANP_ERR_UNSPECIFIED && rc <= PANP_ERR_INTERNAL, "code %d outside 1..16", rc);
    FZ_CHECK(rc != PANP_ERR_INTERNAL, "INTERNAL: the backend and the scanner disagree: %s: %s",
             st->field, st->message);
    FZ_CHECK(memchr(st->field, 0, sizeof st->field) && memchr(st->message, 0, sizeof st->message),
             "status text not terminated");
    FZ_CHECK(st->offset == SIZE_MAX || st->offset <= size, "offset %zu beyond %zu bytes",
             st->offset, size);
}

/* Encodes f with the backend every way the API offers; returns the bytes
 * (malloc'd) and their length in *len.  With may_refuse, NULL when the
 * encoder refuses f with INVALID_ARGUMENT: a receiver takes some values no
 * peer may emit (an enum at 0 in a client, NOTIFICATION_RELEASE as a close
 * reason in a broker: SPEC 6.3, 14.1); the receiver's own field rules
 * were checked by panp_validate() before. */
static uint8_t *encode_all_ways(const panp_frame *f, panp_peer peer, bool may_refuse,
                                size_t *len)
{
    panp_status st;
    size_t need = 0, got = 0;
    panp_error_code rc = panp_encode(FZ_BACKEND, f, NULL, 0, &need, &st);
    if (may_refuse && rc == PANP_ERR_INVALID_ARGUMENT)
        return NULL;
    FZ_CHECK(rc == PANP_ERR_RESOURCE_EXHAUSTED && need > 0,
             "sizing a decoded %s frame: rc %d need %zu: %s: %s", panp_body_name(f->kind), rc,
             need, st.field, st.message);
    uint8_t *buf = malloc(need + 16);
    rc = panp_encode(FZ_BACKEND, f, buf, need - 1, &got, &st);
    FZ_CHECK(rc == PANP_ERR_RESOURCE_EXHAUSTED && got == need, "short buffer: rc %d got %zu",
             rc, got);
    rc = panp_encode(FZ_BACKEND, f, buf, need, &got, &st);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED && got == need, "encoding: rc %d got %zu need %zu: %s",
             rc, got, need, st.message);

    /* Delimited: the minimal varint of the length, then the same bytes. */
    uint8_t *dl = malloc(need + 16);
    size_t dneed = 0;
    rc = panp_encode_delimited(FZ_BACKEND, f, dl, need + 16, &dneed, &st);
    size_t pl = panp_varint_size(need);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED && dneed == need + pl && !memcmp(dl + pl, buf, need),
             "delimited encoding differs: rc %d size %zu", rc, dneed);
    uint8_t pre[10];
    FZ_CHECK(panp_varint_put(pre, need) == pl && !memcmp(pre, dl, pl), "bad length prefix");
    free(dl);

    /* Caller storage for nanopb's struct (protobuf-c needs none). */
    size_t ss = panp_encode_storage_size(FZ_BACKEND, f->kind);
    void *storage = malloc(ss ? ss : 1);
    uint8_t *again = malloc(need);
    rc = panp_encode_with_storage(FZ_BACKEND, f, again, need, &got, storage, ss, &st);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED && got == need && !memcmp(again, buf, need),
             "encoding with storage differs: rc %d", rc);
    if (ss) {
        rc = panp_encode_with_storage(FZ_BACKEND, f, again, need, &got, storage, ss - 1, &st);
        FZ_CHECK(rc == PANP_ERR_RESOURCE_EXHAUSTED, "storage one byte short: rc %d", rc);
    }
    free(again);
    free(storage);

    /* The size the validator computes is the size the encoder produced. */
    rc = panp_validate(f, peer, (uint32_t)need, &st);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED, "validate at max %zu: %d %s: %s", need, rc, st.field,
             st.message);
    if (need > 1) {
        rc = panp_validate(f, peer, (uint32_t)need - 1, &st);
        FZ_CHECK(rc == PANP_ERR_FRAME_TOO_LARGE, "validate at max %zu: %d", need - 1, rc);
    }
    *len = need;
    return buf;
}

static void roundtrip(const panp_decode_opts *o, const panp_frame *f, size_t in_len)
{
    char why[160];
    size_t len1, len2;
    uint8_t *e1 = encode_all_ways(f, o->peer, true, &len1);
    if (!e1)
        return;
    FZ_CHECK(len1 <= in_len, "canonical %s is %zu bytes, longer than the %zu accepted",
             panp_body_name(f->kind), len1, in_len);

    panp_frame *g = NULL;
    panp_status st;
    panp_error_code rc = panp_decode(o, e1, len1, &g, &st);
    FZ_CHECK(rc == PANP_ERR_UNSPECIFIED, "re-decoding our own %s: %d %s: %s",
             panp_body_name(f->kind), rc, st.field, st.message);
    FZ_CHECK(fz_frames_equal(f, g, why, sizeof why), "decode(encode(x)) != x: %s", why);
    uint8_t *e2 = encode_all_ways(g, o->peer, false, &len2);
    FZ_CHECK(len1 == len2 && !memcmp(e1, e2, len1), "encode is not stable: %zu vs %zu bytes",
             len1, len2);
    panp_frame_free(g);
    free(e1);
    free(e2);
}

/* panp_decode_into() with the documented storage agrees with panp_decode(). */
static void check_into(const panp_decode_opts *o, const uint8_t *data, size_t size,
                       panp_error_code want, const panp_frame *f)
{
    panp_body_kind kind = f ? f->kind : PANP_BODY_NONE;
    size_t ss = panp_decode_storage_size(FZ_BACKEND, kind, size);
    void *storage = malloc(ss ? ss : 1);
    panp_frame v;
    panp_status st;
    panp_error_code rc = panp_decode_into(o, data, size, storage, ss, &v, &st);
    FZ_CHECK(rc == want, "decode_into says %d, decode says %d (%s: %s)", rc, want, st.field,
             st.message);
    char why[160];
    if (f)
        FZ_CHECK(fz_frames_equal(f, &v, why, sizeof why), "decode_into view differs: %s", why);
    if (f && FZ_BACKEND == PANP_BACKEND_NANOPB && ss > 0) {
        rc = panp_decode_into(o, data, size, storage, ss / 2, &v, &st);
        FZ_CHECK(rc == PANP_ERR_RESOURCE_EXHAUSTED || rc == PANP_ERR_UNSPECIFIED,
                 "half the storage: %d", rc);
    }
    free(storage);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same bytes with a phase: never accepted where the phase-less decode
 * refuses, refused only for the phase's reasons, and what
 * panp_validate_received() predicts from the view. */
static void check_phases(panp_peer peer, const uint8_t *data, size_t size, const panp_frame *f)
{
    for (int k = 1; k < NPHASES && fz_have_phases(); k++) {
        panp_decode_opts o = {.backend = FZ_BACKEND, .peer = peer};
        panp_frame *g = NULL;
        panp_status st;
        panp_error_code rc = panp_decode_received(&o, PHASES[k], data, size, &g, &st);
        char why[160];
        FZ_CHECK(f || rc, "phase %d accepts what no phase accepts", PHASES[k]);
        if (!rc) {
            FZ_CHECK(fz_frames_equal(f, g, why, sizeof why), "phase changes the view: %s", why);
            panp_frame_free(g);
        } else if (f) {
            FZ_CHECK(rc == PANP_ERR_PROTOCOL_VIOLATION || rc == PANP_ERR_INVALID_ARGUMENT,
                     "phase %d refuses a valid %s with %d", PHASES[k], panp_body_name(f->kind), rc);
        }
        if (f) {
            panp_status vs;
            panp_error_code vr = panp_validate_received(f, peer, PHASES[k], &vs);
            FZ_CHECK(vr == rc, "validate_received(peer %d, phase %d) says %d, decode %d (%s)",
                     peer, PHASES[k], vr, rc, st.message);
        }
    }
}

/* The UUID helpers on the same bytes: 16 of them formatted and parsed back;
 * the first 36 read as text, accepted exactly when they are a UUID's text. */
static void check_uuid(const uint8_t *data, size_t size)
{
    char text[37], again[37];
    uint8_t back[PANP_UUID_LEN];
    if (size >= PANP_UUID_LEN) {
        panp_uuid_format(data, text);
        FZ_CHECK(panp_uuid_parse(text, back) && !memcmp(back, data, PANP_UUID_LEN),
                 "UUID text does not parse back: %s", text);
        FZ_CHECK(panp_bytes_is_uuid((panp_bytes){data, PANP_UUID_LEN}, back), "is_uuid");
    }
    size_t n = size < 36 ? size : 36;
    memcpy(text, data, n);
    text[n] = '\0';
    if (panp_uuid_parse(text, back)) {
        panp_uuid_format(back, again);
        FZ_CHECK(!strcasecmp(again, text), "parsed %s, formats as %s", text, again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_uuid(data, size);
    bool ok[NPEERS];
    panp_body_kind kind = PANP_BODY_NONE;
    for (int i = 0; i < NPEERS; i++) {
        panp_decode_opts o = {.backend = FZ_BACKEND, .peer = PEERS[i]};
        panp_frame *f = (panp_frame *)1;
        panp_status st;
        panp_error_code rc = panp_decode(&o, data, size, &f, &st);
        ok[i] = rc == PANP_ERR_UNSPECIFIED;
        if (!ok[i]) {
            FZ_CHECK(f == NULL, "failed decode left a frame");
            check_failure(rc, &st, size);
            check_into(&o, data, size, rc, NULL);
            check_phases(PEERS[i], data, size, NULL);
            continue;
        }
        FZ_CHECK(f && st.code == PANP_ERR_UNSPECIFIED && st.request_id == f->request_id,
                 "success status: code %d request_id %llu vs %llu", st.code,
                 (unsigned long long)st.request_id, (unsigned long long)f->request_id);
        FZ_CHECK(fz_accepts(PEERS[i], f->kind), "peer %d accepted body %s", PEERS[i],
                 panp_body_name(f->kind));
        FZ_CHECK(kind == PANP_BODY_NONE || kind == f->kind, "kind depends on the peer");
        kind = f->kind;
        rc = panp_validate(f, PEERS[i], 0, &st);
        FZ_CHECK(rc == PANP_ERR_UNSPECIFIED, "decoded %s fails validation: %s: %s",
                 panp_body_name(f->kind), st.field, st.message);
        roundtrip(&o, f, size);
        check_into(&o, data, size, PANP_ERR_UNSPECIFIED, f);
        check_phases(PEERS[i], data, size, f);
        panp_frame_free(f);
    }
    /* ANY is BROKER without the role check, and CLIENT with strict enums;
     * a broker takes any well-formed Goodbye (SPEC 7.5). */
    if (kind != PANP_BODY_NONE) {
        bool to_broker = fz_accepts(PANP_PEER_BROKER, kind);
        bool to_client = fz_accepts(PANP_PEER_CLIENT, kind);
        if (kind == PANP_BODY_GOODBYE)
            FZ_CHECK(!ok[0] || ok[1], "goodbye: tool accepts, broker refuses");
        else
            FZ_CHECK(!to_broker || ok[0] == ok[1], "%s: tool %d vs broker %d",
                     panp_body_name(kind), ok[0], ok[1]);
        FZ_CHECK(!to_client || !ok[0] || ok[2], "%s: tool accepts, client refuses",
                 panp_body_name(kind));
    }
    return 0;
}
