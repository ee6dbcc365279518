/* test_equality.c - the two backends are one codec: on every input they
 * give the same verdict, the same error (code, field, offset, request id),
 * field-by-field equal views, and byte-identical re-encodings.
 *
 * Inputs: every positive vector, and deterministic mutations of them (each
 * byte replaced by interesting values, bits flipped, bytes deleted and
 * inserted, truncations), decoded as every peer role.
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

static const panp_peer PEERS[3] = {PANP_PEER_BROKER, PANP_PEER_CLIENT, PANP_PEER_ANY};

typedef struct tally {
    size_t inputs, accepted, rejected;
} tally;

/* Decodes with both backends and checks they agree in every respect. */
static void compare(const char *name, const uint8_t *buf, size_t len, panp_peer peer, tally *t)
{
    panp_frame *f[2] = {NULL, NULL};
    panp_status st[2];
    panp_error_code rc[2];
    for (int b = 0; b < 2; b++) {
        panp_decode_opts o = {tu_backends[b], peer, 0};
        rc[b] = panp_decode(&o, buf, len, &f[b], &st[b]);
    }
    t->inputs++;
    if (rc[0] != rc[1] || strcmp(st[0].field, st[1].field) != 0 ||
        st[0].offset != st[1].offset || st[0].request_id != st[1].request_id ||
        strcmp(st[0].message, st[1].message) != 0) {
        char hex[160];
        fail_msg("%s (peer %d, %zu bytes %s): protobuf-c %s \"%s\" vs nanopb %s \"%s\"", name,
                 (int)peer, len, tu_hex(buf, len, hex, sizeof hex), panp_error_code_name(rc[0]),
                 st[0].message, panp_error_code_name(rc[1]), st[1].message);
    }
    if (rc[0]) {
        t->rejected++;
        assert_true(rc[0] == PANP_ERR_PROTOCOL_VIOLATION || rc[0] == PANP_ERR_INVALID_ARGUMENT ||
                    rc[0] == PANP_ERR_FRAME_TOO_LARGE);
        return;
    }
    t->accepted++;
    char why[200];
    if (!tu_frames_equal(f[0], f[1], why, sizeof why))
        fail_msg("%s (peer %d): views differ: %s", name, (int)peer, why);
    uint8_t *out[2];
    size_t n[2];
    panp_error_code erc[2];
    for (int b = 0; b < 2; b++) {
        out[b] = malloc(len + 16);
        erc[b] = panp_encode(tu_backends[b], f[b], out[b], len + 16, &n[b], &st[b]);
    }
    /* A client accepts 0 in enums the SPEC requires (6.3) but the encoder
     * never emits it: then both backends refuse alike.  Everything else an
     * accepted frame holds re-encodes, identically. */
    if (erc[0] != erc[1] || strcmp(st[0].message, st[1].message) != 0)
        fail_msg("%s (peer %d): re-encode verdicts differ: %s / %s", name, (int)peer,
                 st[0].message, st[1].message);
    if (erc[0] && (peer != PANP_PEER_CLIENT || erc[0] != PANP_ERR_INVALID_ARGUMENT))
        fail_msg("%s (peer %d): re-encode of an accepted frame failed: %s", name, (int)peer,
                 st[0].message);
    if (!erc[0] && (n[0] != n[1] || memcmp(out[0], out[1], n[0]) != 0))
        fail_msg("%s (peer %d): re-encodings differ", name, (int)peer);
    if (!erc[0])
        assert_true(n[0] <= len); /* canonical: never longer than what was accepted */
    for (int b = 0; b < 2; b++) {
        free(out[b]);
        panp_frame_free(f[b]);
    }
}

static uint8_t **load(size_t *count, size_t **lens, char ***names, size_t max_len)
{
    size_t n;
    char **all = tu_list(POS, ".bin", &n);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    *lens = calloc(n, sizeof **lens);
    *names = calloc(n, sizeof **names);
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", POS, all[i]);
        uint8_t *b = tu_read_file(path, &len);
        if (!b || len > max_len) {
            free(b);
            continue;
        }
        bufs[*count] = b;
        (*lens)[*count] = len;
        (*names)[*count] = strdup(all[i]);
        (*count)++;
    }
    tu_free_names(all, n);
    return bufs;
}

static void unload(uint8_t **bufs, size_t *lens, char **names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(bufs[i]);
        free(names[i]);
    }
    free(bufs);
    free(lens);
    free(names);
}

static void test_vectors_equal(void **state)
{
    (void)state;
    size_t count, *lens;
    char **names;
    uint8_t **bufs = load(&count, &lens, &names, SIZE_MAX);
    tally t = {0};
    for (size_t i = 0; i < count; i++)
        for (int p = 0; p < 3; p++)
            compare(names[i], bufs[i], lens[i], PEERS[p], &t);
    assert_true(t.accepted >= count * 2);
    unload(bufs, lens, names, count);
}

/* Every single-byte mutation of the smaller vectors. */
static void test_mutations(void **state)
{
    (void)state;
    static const uint8_t values[] = {0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x0f, 0x10, 0x1f,
                                     0x7f, 0x80, 0x81, 0xc0, 0xed, 0xf4, 0xf5, 0xff};
    size_t count, *lens;
    char **names;
    uint8_t **bufs = load(&count, &lens, &names, 700);
    tally t = {0};
    for (size_t i = 0; i < count; i++) {
        size_t len = lens[i];
        uint8_t *m = malloc(len + 1);
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t v = 0; v < sizeof values; v++) {
                memcpy(m, bufs[i], len);
                m[pos] = values[v];
                compare(names[i], m, len, PEERS[(pos + v) % 3], &t);
            }
            for (int bit = 0; bit < 8; bit++) {
                memcpy(m, bufs[i], len);
                m[pos] ^= (uint8_t)(1u << bit);
                compare(names[i], m, len, PEERS[bit % 3], &t);
            }
            /* delete the byte, insert one, cut there */
            memcpy(m, bufs[i], pos);
            memcpy(m + pos, bufs[i] + pos + 1, len - pos - 1);
            compare(names[i], m, len - 1, PEERS[pos % 3], &t);
            memcpy(m, bufs[i], pos);
            m[pos] = 0x80;
            memcpy(m + pos + 1, bufs[i] + pos, len - pos);
            compare(names[i], m, len + 1, PEERS[pos % 3], &t);
            compare(names[i], bufs[i], pos, PEERS[pos % 3], &t);
        }
        free(m);
    }
    print_message("%zu mutated inputs: %zu accepted by both, %zu rejected by both alike\n",
                  t.inputs, t.accepted, t.rejected);
    assert_true(t.accepted > 1000 && t.rejected > 1000);
    unload(bufs, lens, names, count);
}

/* Non-canonical but acceptable encodings: out-of-order fields, explicit
 * defaults, unknown fields of every wire type at every level.  Both
 * accept and both re-encode to the one canonical form. */
static void test_noncanonical_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *hex;
        const char *canonical;
    } cases[] = {
        {"request_id after body", "42000807", "080742 00"},
        {"explicit zero request_id", "08004200", "4200"},
        {"unknown varint top", "4200780a", "4200"},
        {"unknown fixed32 top", "42007d01020304", "4200"},
        {"unknown fixed64 top", "4200790102030405060708", "4200"},
        {"unknown bytes top", "42007a03616263", "4200"},
        {"unknown in body", "42037a0100", "4200"},
        {"largest field number", "4200f8ffffff0f00", "4200"},
        {"unknown in ServerTarget",
         "92011c0a04" "0a02" "7800" "1210f6853f92eb314e23b6e7fd69056153f0" "18012001",
         "92011a0a020a001210f6853f92eb314e23b6e7fd69056153f018012001"},
        {"fields reversed", "92011a200118011210f6853f92eb314e23b6e7fd69056153f00a020a00",
         "92011a0a020a001210f6853f92eb314e23b6e7fd69056153f018012001"},
        {"explicit empty strings", "82010c080110011a0020012a003200", "8201060801100120 01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t in[128], want[128];
        size_t n = 0, wn = 0;
        for (const char *p = cases[i].hex; *p; p++) {
            if (*p == ' ')
                continue;
            unsigned v;
            sscanf(p, "%2x", &v);
            in[n++] = (uint8_t)v;
            p++;
        }
        for (const char *p = cases[i].canonical; *p; p++) {
            if (*p == ' ')
                continue;
            unsigned v;
            sscanf(p, "%2x", &v);
            want[wn++] = (uint8_t)v;
            p++;
        }
        for (int b = 0; b < 2; b++) {
            panp_decode_opts o = {tu_backends[b], PANP_PEER_BROKER, 0};
            panp_frame *f = NULL;
            panp_status st;
            if (panp_decode(&o, in, n, &f, &st))
                fail_msg("%s (%s): %s", cases[i].name, tu_backend_name(tu_backends[b]),
                         st.message);
            uint8_t out[128];
            size_t on;
            assert_int_equal(panp_encode(tu_backends[b], f, out, sizeof out, &on, &st), 0);
            if (on != wn || memcmp(out, want, wn) != 0) {
                char h[200];
                fail_msg("%s (%s): re-encoded %s", cases[i].name,
                         tu_backend_name(tu_backends[b]), tu_hex(out, on, h, sizeof h));
            }
            panp_frame_free(f);
        }
        tally t = {0};
        for (int p = 0; p < 3; p++)
            compare(cases[i].name, in, n, PEERS[p], &t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_equal),
        cmocka_unit_test(test_noncanonical_accepted),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
