/* test_runtime_diff.c - the experiments behind codec/README.md's
 * "protobuf-c vs nanopb" table.
 *
 * Each row feeds one input to protobuf-c 1.4.1 and to nanopb 0.4.7 *raw*
 * (their own unpack/decode of a whole Frame, no wire scanner) and records
 * what each does: reject, or accept and re-encode to some bytes.  The test
 * asserts those raw behaviours, so a runtime upgrade that changes one
 * fails here and the table gets revisited; then it asserts that our codec,
 * with either backend, gives the single verdict the wire profile decides.
 * Run the binary with -v to print the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "panp/v1/panp.pb-c.h"
#include "panp/v1/panp.pb.h"
#include "testutil.h"

static bool verbose;

typedef struct outcome {
    bool accepted;
    uint8_t out[512];
    size_t out_len;
} outcome;

static void raw_pbc(const uint8_t *in, size_t len, outcome *o)
{
    Panp__V1__Frame *m = panp__v1__frame__unpack(NULL, len, in);
    o->accepted = m != NULL;
    o->out_len = 0;
    if (!m)
        return;
    o->out_len = panp__v1__frame__get_packed_size(m);
    if (o->out_len <= sizeof o->out)
        panp__v1__frame__pack(m, o->out);
    panp__v1__frame__free_unpacked(m, NULL);
}

static void raw_npb(const uint8_t *in, size_t len, outcome *o)
{
    panp_v1_Frame *m = calloc(1, sizeof *m);
    pb_istream_t is = pb_istream_from_buffer(in, len);
    o->accepted = pb_decode(&is, panp_v1_Frame_fields, m);
    o->out_len = 0;
    if (o->accepted) {
        pb_ostream_t os = pb_ostream_from_buffer(o->out, sizeof o->out);
        if (pb_encode(&os, panp_v1_Frame_fields, m))
            o->out_len = os.bytes_written;
    }
    free(m);
}

/* What a runtime does with the input: R = rejects, A = accepts and
 * re-encodes to the input unchanged, C = accepts and re-encodes to the
 * "canonical" column, X = accepts and re-encodes to something else
 * (given in the "other" column when both runtimes accept differently). */
typedef struct row {
    const char *what;
    const char *hex;
    char pbc, npb;
    const char *canonical; /* for C */
    const char *pbc_other; /* for X (protobuf-c) */
    const char *npb_other; /* for X (nanopb) */
    panp_peer peer;
    panp_error_code ours; /* our verdict, both backends */
} row;

#define PV PANP_ERR_PROTOCOL_VIOLATION
#define IA PANP_ERR_INVALID_ARGUMENT
#define OK PANP_ERR_UNSPECIFIED
#define BRK PANP_PEER_BROKER
#define CLI PANP_PEER_CLIENT
#define TYPE "1210f6853f92eb314e23b6e7fd69056153f0"
#define P1 "1a0170" /* Identity.admin_printers: "p" */
#define P5 P1 P1 P1 P1 P1
#define P65 P5 P5 P5 P5 P5 P5 P5 P5 P5 P5 P5 P5 P5

static const row ROWS[] = {
    {"padded varint value (request_id 1 as 81 00)", "0881004200", 'C', 'C', "08014200", 0, 0, BRK, PV},
    {"padded tag, 2 bytes (c2 00)", "c20000", 'C', 'C', "4200", 0, 0, BRK, PV},
    {"padded tag, 6 bytes", "c2808080800000", 'R', 'C', "4200", 0, 0, BRK, PV},
    {"padded tag, 10 bytes", "c280808080808080800000", 'R', 'C', "4200", 0, 0, BRK, PV},
    {"padded length (ping len 0 as 80 00)", "428000", 'C', 'C', "4200", 0, 0, BRK, PV},
    {"padded length, 6 bytes", "42808080808000", 'R', 'C', "4200", 0, 0, BRK, PV},
    {"varint with 10th byte 7f (overflows 64 bits)", "08ffffffffffffffffff7f4200", 'X', 'R', 0,
     "08ffffffffffffffffff014200", 0, BRK, PV},
    {"11-byte varint", "08ffffffffffffffffff81004200", 'R', 'R', 0, 0, 0, BRK, PV},
    {"uint32 field = 2^32 (register.lease_seconds)",
     "920120" "0a020a00" TYPE "18012001" "288080808010", 'X', 'R', 0,
     "92011a0a020a00" TYPE "18012001", 0, BRK, PV},
    {"bool = 2 (error.fatal)", "520408012002", 'X', 'X', 0, "520408012001", "520408012001", CLI, PV},
    {"bool = 2^32 (error.fatal, 5 bytes)", "52080801208080808010", 'X', 'R', 0, "520408012001", 0,
     CLI, PV},
    {"enum = -1 (10-byte int32, goodbye.reason)", "f2010b08ffffffffffffffffff01", 'A', 'R', 0, 0, 0,
     CLI, IA},
    {"enum = 99, unknown (goodbye.reason)", "f201020863", 'A', 'A', 0, 0, 0, CLI, OK},
    {"field number 0 after the body", "42000001", 'R', 'R', 0, 0, 0, BRK, PV},
    {"field number 2^29 (unknown)", "4200808080801000", 'A', 'R', 0, 0, 0, BRK, PV},
    {"field number 2^29-1 (largest, unknown)", "4200f8ffffff0f00", 'A', 'C', "4200", 0, 0, BRK, OK},
    {"wire type 3 (start group), unknown field", "42007b", 'R', 'R', 0, 0, 0, BRK, PV},
    {"wire type 4 (end group), unknown field", "42007c", 'R', 'R', 0, 0, 0, BRK, PV},
    {"wire type 6", "42007e00", 'R', 'R', 0, 0, 0, BRK, PV},
    {"wire type 7", "42007f00", 'R', 'R', 0, 0, 0, BRK, PV},
    {"wrong wire type: request_id as bytes", "0a004200", 'R', 'R', 0, 0, 0, BRK, PV},
    {"wrong wire type: bool (error.fatal) as bytes", "5205080122010a", 'X', 'R', 0, "520408012001", 0,
     CLI, PV},
    {"wrong wire type: enum as fixed32", "52070d01000000", 'R', 'R', 0, 0, 0, CLI, PV},
    {"truncated length-delimited value", "42050800", 'R', 'R', 0, 0, 0, BRK, PV},
    {"unknown field at top level", "42007a03616263", 'A', 'C', "4200", 0, 0, BRK, OK},
    {"unknown field inside the body", "42037a0100", 'A', 'C', "4200", 0, 0, BRK, OK},
    {"request_id twice", "080108024200", 'X', 'X', 0, "08024200", "08024200", BRK, PV},
    {"two oneof members (ping, then pong)", "42004a00", 'X', 'X', 0, "4a00", "4a00", CLI, PV},
    {"the same oneof submessage twice (register, fields split)",
     "9201160a020a00" TYPE "920104" "18012001", 'X', 'X', 0,
     "92010418012001", "92011a0a020a00" TYPE "18012001", BRK, PV},
    {"a non-oneof submessage twice (register.target)",
     "92011f0a020a000a03120150" TYPE "18012001", 'X', 'X', 0,
     "92011b0a03120150" TYPE "18012001", "92011b0a03120150" TYPE "18012001", BRK, PV},
    {"invalid UTF-8 in a string (hello.software = ff)", "820109080110011a01ff2001", 'A', 'A', 0,
     0, 0, BRK, IA},
    {"embedded NUL (hello.software = \"a\\0b\")", "82010b080110011a036100622001", 'X', 'X', 0,
     "820109080110011a01612001", "820109080110011a01612001", BRK, IA},
    {"UUID of 3 bytes (send.notification_type)", "1a0708011203414243", 'A', 'A', 0, 0, 0, BRK, IA},
    {"UUID of 17 bytes", "1a1508011211f6853f92eb314e23b6e7fd69056153f000", 'A', 'R', 0, 0, 0, BRK,
     IA},
    {"string over nanopb's max_size (hello.software, 65 bytes)",
     "820149080110011a41"
     "6161616161616161616161616161616161616161616161616161616161616161"
     "6161616161616161616161616161616161616161616161616161616161616161" "61" "2001",
     'A', 'R', 0, 0, 0, BRK, IA},
    {"repeated field over nanopb's max_count (65 admin_printers)", "8a01c80108012ac301" P65, 'A',
     'R', 0, 0, 0, CLI, IA},
    {"empty frame", "", 'A', 'A', 0, 0, 0, BRK, PV},
};

static bool hex_to(const char *hex, uint8_t *out, size_t *n)
{
    *n = 0;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ')
            continue;
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1)
            return false;
        out[(*n)++] = (uint8_t)v;
        p++;
    }
    return true;
}

static bool same(const outcome *o, const char *hex)
{
    uint8_t want[512];
    size_t n;
    hex_to(hex, want, &n);
    return o->out_len == n && memcmp(o->out, want, n) == 0;
}

static char classify(const outcome *o, const uint8_t *in, size_t len, const row *r, bool pbc)
{
    if (!o->accepted)
        return 'R';
    if (o->out_len == len && memcmp(o->out, in, len) == 0)
        return 'A';
    if (r->canonical && same(o, r->canonical))
        return 'C';
    const char *other = pbc ? r->pbc_other : r->npb_other;
    if (other && same(o, other))
        return 'X';
    return '?';
}

static void test_runtime_behaviour(void **state)
{
    (void)state;
    size_t rows = sizeof ROWS / sizeof ROWS[0];
    size_t differ = 0, mismatches = 0, wrong = 0;
    if (verbose)
        printf("| input | protobuf-c | nanopb | panp (both) |\n|---|---|---|---|\n");
    for (size_t i = 0; i < rows; i++) {
        const row *r = &ROWS[i];
        uint8_t in[512];
        size_t len;
        assert_true(hex_to(r->hex, in, &len));
        outcome p, n;
        raw_pbc(in, len, &p);
        raw_npb(in, len, &n);
        char cp = classify(&p, in, len, r, true), cn = classify(&n, in, len, r, false);
        char h[200];
        if (cp != r->pbc || cn != r->npb) {
            print_error("%s: protobuf-c %c (want %c) -> %s, nanopb %c (want %c) -> %s\n", r->what,
                        cp, r->pbc, tu_hex(p.out, p.out_len, h, 100), cn, r->npb,
                        tu_hex(n.out, n.out_len, h + 100, 100));
            mismatches++;
        }
        bool runtimes_differ = cp != cn || (p.accepted && n.accepted &&
                                            (p.out_len != n.out_len ||
                                             memcmp(p.out, n.out, p.out_len) != 0));
        differ += runtimes_differ;
        for (int b = 0; b < 2; b++) {
            panp_decode_opts o = {tu_backends[b], r->peer, 0};
            panp_frame *f = NULL;
            panp_status st;
            panp_error_code rc = panp_decode(&o, in, len, &f, &st);
            panp_frame_free(f);
            if (rc != r->ours) {
                print_error("%s: panp/%s gave %s (%s), want %s\n", r->what,
                            tu_backend_name(tu_backends[b]), panp_error_code_name(rc), st.message,
                            panp_error_code_name(r->ours));
                wrong++;
            }
        }
        if (verbose)
            printf("| %s%s | %c | %c | %s |\n", r->what, runtimes_differ ? " **differ**" : "", cp,
                   cn, r->ours ? panp_error_code_name(r->ours) : "accept");
    }
    print_message("%zu experiments, %zu where protobuf-c and nanopb differ\n", rows, differ);
    assert_int_equal(mismatches, 0);
    assert_int_equal(wrong, 0);
    assert_true(differ >= 10);
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_behaviour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
