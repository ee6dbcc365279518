/* Every golden vector must survive a decode/encode round trip through the
 * code protoc-c and nanopb generate from proto/, byte for byte.
 *
 * This checks the schema and the generators, not our codec: if the .proto
 * or panp.options ever drift from what the vectors (produced by Google's
 * protoc) contain, this fails before any codec test can be confused by it.
 * It also insists that the vectors cover every Frame body type, so an empty
 * vector directory cannot pass.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "panp/v1/panp.pb-c.h"
#include "panp/v1/panp.pb.h"

#ifndef VECTOR_ROOT
#define VECTOR_ROOT "conformance/vectors"
#endif

enum { MAX_VECTORS = 4096, MAX_BODY_TAG = 64 };

typedef struct vector {
    char path[512];
    uint8_t *bytes;
    size_t len;
} vector;

typedef struct vector_set {
    vector items[MAX_VECTORS];
    size_t count;
} vector_set;

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (used == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0)
            break;
    }
    fclose(f);
    *len = used;
    return buf;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void load_dir(vector_set *set, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return; /* a missing directory just contributes nothing */
    struct dirent *e;
    while ((e = readdir(d)) != NULL && set->count < MAX_VECTORS) {
        if (!has_suffix(e->d_name, ".bin"))
            continue;
        vector *v = &set->items[set->count];
        snprintf(v->path, sizeof v->path, "%s/%s", dir, e->d_name);
        v->bytes = read_file(v->path, &v->len);
        if (v->bytes)
            set->count++;
    }
    closedir(d);
}

static int setup(void **state)
{
    vector_set *set = calloc(1, sizeof *set);
    if (!set)
        return -1;
    load_dir(set, VECTOR_ROOT "/positive");
    load_dir(set, VECTOR_ROOT "/session");
    *state = set;
    return 0;
}

static int teardown(void **state)
{
    vector_set *set = *state;
    for (size_t i = 0; i < set->count; i++)
        free(set->items[i].bytes);
    free(set);
    return 0;
}

static void fail_vector(const vector *v, const char *what)
{
    fail_msg("%s: %s", v->path, what);
}

/* protobuf-c: unpack, then pack must give back the identical bytes. */
static void test_protobuf_c_roundtrip(void **state)
{
    vector_set *set = *state;
    assert_true(set->count > 0);
    for (size_t i = 0; i < set->count; i++) {
        const vector *v = &set->items[i];
        Panp__V1__Frame *msg = panp__v1__frame__unpack(NULL, v->len, v->bytes);
        if (!msg)
            fail_vector(v, "protobuf-c could not unpack it");
        size_t size = panp__v1__frame__get_packed_size(msg);
        uint8_t *out = malloc(size ? size : 1);
        assert_non_null(out);
        size_t packed = panp__v1__frame__pack(msg, out);
        if (packed != v->len || memcmp(out, v->bytes, v->len) != 0)
            fail_vector(v, "protobuf-c re-encoding differs from protoc's bytes");
        free(out);
        panp__v1__frame__free_unpacked(msg, NULL);
    }
}

/* nanopb: decode into static storage, encode must give back the same bytes. */
static void test_nanopb_roundtrip(void **state)
{
    vector_set *set = *state;
    static panp_v1_Frame frame; /* 65 KiB: keep it off the stack */
    static uint8_t out[panp_v1_Frame_size];
    assert_true(set->count > 0);
    for (size_t i = 0; i < set->count; i++) {
        const vector *v = &set->items[i];
        memset(&frame, 0, sizeof frame);
        pb_istream_t in = pb_istream_from_buffer(v->bytes, v->len);
        if (!pb_decode(&in, panp_v1_Frame_fields, &frame))
            fail_msg("%s: nanopb could not decode it: %s", v->path, PB_GET_ERROR(&in));
        pb_ostream_t os = pb_ostream_from_buffer(out, sizeof out);
        if (!pb_encode(&os, panp_v1_Frame_fields, &frame))
            fail_msg("%s: nanopb could not encode it: %s", v->path, PB_GET_ERROR(&os));
        if (os.bytes_written != v->len || memcmp(out, v->bytes, v->len) != 0)
            fail_vector(v, "nanopb re-encoding differs from protoc's bytes");
    }
}

/* The vectors must exercise every body of the Frame oneof: read the field
 * numbers from protobuf-c's descriptor so a body added to the schema without
 * a vector fails here. */
static void test_every_body_type_has_a_vector(void **state)
{
    vector_set *set = *state;
    bool seen[MAX_BODY_TAG] = {0};
    for (size_t i = 0; i < set->count; i++) {
        Panp__V1__Frame *msg = panp__v1__frame__unpack(NULL, set->items[i].len, set->items[i].bytes);
        if (!msg)
            continue; /* reported by the round-trip test */
        unsigned tag = (unsigned)msg->body_case;
        if (tag > 0 && tag < MAX_BODY_TAG)
            seen[tag] = true;
        panp__v1__frame__free_unpacked(msg, NULL);
    }
    const ProtobufCMessageDescriptor *d = &panp__v1__frame__descriptor;
    unsigned missing = 0;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        if (fd->id >= MAX_BODY_TAG || !seen[fd->id]) {
            print_error("no vector has a Frame.%s body\n", fd->name);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_c_roundtrip),
        cmocka_unit_test(test_nanopb_roundtrip),
        cmocka_unit_test(test_every_body_type_has_a_vector),
    };
    return cmocka_run_group_tests_name("generated_roundtrip", tests, setup, teardown);
}
