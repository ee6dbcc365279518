/* test_vectors.c - the golden vectors against both backends.
 *
 * Positive: every conformance/vectors/positive/NAME.bin (protoc's encoding of
 * its .txtpb) decodes with both backends, as the peer that receives that
 * body, and re-encodes with both backends to exactly protoc's bytes.
 * Negative: every entry of negative/index.json is rejected by both
 * backends with the expected code and field path; stream-level vectors go
 * through the framer first (one byte at a time and in one piece).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define POS VECTOR_ROOT "/positive"
#define NEG VECTOR_ROOT "/negative"

static void check_positive(const char *name, const uint8_t *bin, size_t len, panp_peer peer,
                           unsigned *kinds_seen)
{
    for (int i = 0; i < 2; i++) {
        panp_decode_opts o = {tu_backends[i], peer, 0};
        panp_frame *f = NULL;
        panp_status st;
        if (panp_decode(&o, bin, len, &f, &st)) {
            fail_msg("%s: %s decode: %s (%s)", name, tu_backend_name(tu_backends[i]), st.message,
                     panp_error_code_name(st.code));
        }
        *kinds_seen |= 1u << f->kind;
        for (int j = 0; j < 2; j++) {
            size_t need = 0;
            uint8_t *out = malloc(len + 16);
            panp_error_code rc = panp_encode(tu_backends[j], f, out, len + 16, &need, &st);
            if (rc)
                fail_msg("%s: decoded by %s, %s encode: %s", name,
                         tu_backend_name(tu_backends[i]), tu_backend_name(tu_backends[j]),
                         st.message);
            if (need != len || memcmp(out, bin, len) != 0) {
                char a[160], b[160];
                fail_msg("%s: %s->%s re-encode differs from protoc (%zu vs %zu bytes)\n  got  %s\n"
                         "  want %s",
                         name, tu_backend_name(tu_backends[i]), tu_backend_name(tu_backends[j]),
                         need, len, tu_hex(out, need, a, sizeof a), tu_hex(bin, len, b, sizeof b));
            }
            free(out);
        }
        panp_frame_free(f);
    }
}

/* The role that receives a body (both for Goodbye). */
static void receivers(const uint8_t *bin, size_t len, panp_peer peers[2], int *n)
{
    panp_frame *f = NULL;
    *n = 0;
    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_ANY, 0};
    if (panp_decode(&o, bin, len, &f, NULL))
        return;
    panp_status st;
    if (!panp_validate(f, PANP_PEER_BROKER, 0, &st))
        peers[(*n)++] = PANP_PEER_BROKER;
    if (!panp_validate(f, PANP_PEER_CLIENT, 0, &st))
        peers[(*n)++] = PANP_PEER_CLIENT;
    panp_frame_free(f);
}

static void test_positive(void **state)
{
    (void)state;
    size_t n;
    char **names = tu_list(POS, ".bin", &n);
    assert_true(n >= 40);
    unsigned kinds_seen = 0;
    for (size_t k = 0; k < n; k++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", POS, names[k]);
        uint8_t *bin = tu_read_file(path, &len);
        assert_non_null(bin);
        check_positive(names[k], bin, len, PANP_PEER_ANY, &kinds_seen);
        panp_peer peers[2];
        int np;
        receivers(bin, len, peers, &np);
        if (np == 0)
            fail_msg("%s: no role accepts this vector", names[k]);
        for (int p = 0; p < np; p++)
            check_positive(names[k], bin, len, peers[p], &kinds_seen);
        free(bin);
    }
    size_t nk;
    const panp_body_kind *kinds = tu_all_kinds(&nk);
    for (size_t i = 0; i < nk; i++)
        if (!(kinds_seen & (1u << kinds[i])))
            fail_msg("no positive vector has a %s body", panp_body_name(kinds[i]));
    print_message("%zu positive vectors, both backends, decode + re-encode x2\n", n);
    tu_free_names(names, n);
}

/* Frame-level: decode with the entry's peer and limit. */
static void expect_frame(const tu_negative *e, const uint8_t *bin, size_t len, panp_backend b)
{
    panp_decode_opts o = {b, tu_peer(e->peer), e->max_frame_size};
    panp_frame *f = NULL;
    panp_status st;
    panp_error_code rc = panp_decode(&o, bin, len, &f, &st);
    if (rc == PANP_ERR_UNSPECIFIED) {
        panp_frame_free(f);
        fail_msg("%s (%s): accepted; want %s", e->file, tu_backend_name(b), e->expect);
    }
    assert_null(f);
    if (rc != tu_code(e->expect))
        fail_msg("%s (%s): got %s (%s), want %s", e->file, tu_backend_name(b),
                 panp_error_code_name(rc), st.message, e->expect);
    if (e->field[0] && strcmp(st.field, e->field) != 0)
        fail_msg("%s (%s): field \"%s\" (%s), want \"%s\"", e->file, tu_backend_name(b), st.field,
                 st.message, e->field);
}

/* Stream-level: framer with preface, then decode each frame it yields;
 * the first error (framer or decoder) must be the expected one.  chunk 0
 * feeds everything at once. */
static panp_error_code run_stream(const tu_negative *e, const uint8_t *bin, size_t len,
                                  panp_backend b, size_t chunk, panp_status *st)
{
    panp_framer *fr = panp_framer_new(e->max_frame_size, true);
    panp_decode_opts o = {b, tu_peer(e->peer), e->max_frame_size};
    size_t pos = 0;
    panp_error_code rc = PANP_ERR_UNSPECIFIED;
    while (pos < len && !rc) {
        size_t n = chunk ? (len - pos < chunk ? len - pos : chunk) : len - pos, used;
        const uint8_t *frame;
        size_t flen;
        panp_framer_result r = panp_framer_feed(fr, bin + pos, n, &used, &frame, &flen, st);
        pos += used;
        if (r == PANP_FRAMER_ERROR)
            rc = st->code;
        if (r == PANP_FRAMER_FRAME) {
            panp_frame *f = NULL;
            rc = panp_decode(&o, frame, flen, &f, st);
            panp_frame_free(f);
        }
    }
    panp_framer_free(fr);
    return rc;
}

static void expect_stream(const tu_negative *e, const uint8_t *bin, size_t len, panp_backend b)
{
    size_t chunks[2] = {0, 1};
    for (int c = 0; c < 2; c++) {
        panp_status st;
        panp_error_code rc = run_stream(e, bin, len, b, chunks[c], &st);
        if (rc != tu_code(e->expect))
            fail_msg("%s (%s, chunk %zu): got %s (%s), want %s", e->file, tu_backend_name(b),
                     chunks[c], panp_error_code_name(rc), rc ? st.message : "accepted", e->expect);
        if (e->field[0] && strcmp(st.field, e->field) != 0)
            fail_msg("%s: field \"%s\", want \"%s\"", e->file, st.field, e->field);
    }
}

static void test_negative(void **state)
{
    (void)state;
    size_t n;
    tu_negative *idx = tu_negative_index(NEG "/index.json", &n);
    assert_non_null(idx);
    assert_true(n >= 40);
    for (size_t k = 0; k < n; k++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", NEG, idx[k].file);
        uint8_t *bin = tu_read_file(path, &len);
        if (!bin)
            fail_msg("cannot read %s", path);
        for (int i = 0; i < 2; i++) {
            if (strcmp(idx[k].level, "stream") == 0)
                expect_stream(&idx[k], bin, len, tu_backends[i]);
            else
                expect_frame(&idx[k], bin, len, tu_backends[i]);
        }
        free(bin);
    }
    print_message("%zu negative vectors, both backends\n", n);
    free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive),
        cmocka_unit_test(test_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
