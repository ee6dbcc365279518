/* test_schema.c - the wire scanner's hand-written schema table
 * (codec/src/schema.c) against the two generated truths: protoc-c's
 * descriptors (field numbers, types, labels, oneofs, enum ranges, names)
 * and nanopb's descriptors built from panp.options (every size and count
 * limit).  A schema or options change that is not mirrored in the table
 * fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pb_common.h>

#include "../src/schema.h"
#include "panp/v1/panp.pb-c.h"
#include "panp/v1/panp.pb.h"

static int checked;

static schema_kind kind_of(const ProtobufCFieldDescriptor *f, const schema_field *s)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT32:
        return SK_U32;
    case PROTOBUF_C_TYPE_UINT64:
        return SK_U64;
    case PROTOBUF_C_TYPE_BOOL:
        return SK_BOOL;
    case PROTOBUF_C_TYPE_ENUM:
        return SK_ENUM;
    case PROTOBUF_C_TYPE_STRING:
        return SK_STRING;
    case PROTOBUF_C_TYPE_MESSAGE:
        return SK_MSG;
    case PROTOBUF_C_TYPE_BYTES: /* the table refines bytes into UUID / handle */
        return (s->kind == SK_UUID || s->kind == SK_HANDLE) ? (schema_kind)s->kind : SK_BYTES;
    default:
        return SK_NONE;
    }
}

static unsigned enum_max(const ProtobufCEnumDescriptor *e)
{
    unsigned max = 0;
    for (unsigned i = 0; i < e->n_values; i++)
        if ((unsigned)e->values[i].value > max)
            max = (unsigned)e->values[i].value;
    return max;
}

/* The nanopb field with that tag in that message. */
static bool npb_field(const pb_msgdesc_t *desc, uint32_t tag, pb_field_iter_t *it)
{
    static char scratch[70000] __attribute__((aligned(16)));
    return pb_field_iter_begin(it, desc, scratch) && pb_field_iter_find(it, tag);
}

static void check_limits(const char *path, const schema_field *s, const pb_field_iter_t *it)
{
    size_t limit = 0;
    if (s->kind == SK_STRING)
        limit = it->data_size - 1; /* nanopb counts the NUL */
    else if (s->kind == SK_BYTES || s->kind == SK_UUID || s->kind == SK_HANDLE)
        limit = it->data_size - offsetof(pb_bytes_array_t, bytes);
    else
        return;
    if (limit != s->max)
        fail_msg("%s: schema table says %u bytes, panp.options %zu", path, (unsigned)s->max, limit);
    if ((s->flags & SF_REPEATED) && it->array_size != s->max_count)
        fail_msg("%s: schema table says %u elements, panp.options %u", path,
                 (unsigned)s->max_count, (unsigned)it->array_size);
    checked++;
}

static void walk(const char *path, const ProtobufCMessageDescriptor *d, const schema_msg *m,
                 const pb_msgdesc_t *npb)
{
    unsigned known = 0;
    for (unsigned n = 1; n <= m->max_number; n++)
        known += m->fields[n].kind != SK_NONE;
    if (known != d->n_fields)
        fail_msg("%s: the table has %u fields, %s has %u", path, known, d->name, d->n_fields);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char fp[160];
        snprintf(fp, sizeof fp, "%s.%s", path, f->name);
        const schema_field *s = schema_lookup(m, f->id);
        if (!s)
            fail_msg("%s (%u): missing from the table", fp, f->id);
        if (strcmp(s->name, f->name) != 0 && strcmp(f->name, "register_listener") != 0)
            fail_msg("%s: named \"%s\" in the table", fp, s->name);
        if (kind_of(f, s) != s->kind)
            fail_msg("%s: kind %d in the table", fp, s->kind);
        bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        bool oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
        if (repeated != !!(s->flags & SF_REPEATED) || oneof != !!(s->flags & SF_ONEOF))
            fail_msg("%s: repeated/oneof flags differ", fp);
        if (f->type == PROTOBUF_C_TYPE_ENUM && enum_max(f->descriptor) != s->max)
            fail_msg("%s: highest enum value %u, the table says %u", fp,
                     enum_max(f->descriptor), (unsigned)s->max);
        pb_field_iter_t it;
        if (!npb_field(npb, f->id, &it))
            fail_msg("%s: nanopb has no field %u", fp, f->id);
        check_limits(fp, s, &it);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            walk(fp, f->descriptor, s->sub, it.submsg_desc);
        checked++;
    }
}

static void test_table_matches_generated_code(void **state)
{
    (void)state;
    walk("frame", &panp__v1__frame__descriptor, &schema_frame, &panp_v1_Frame_msg);
    print_message("%d fields and limits checked\n", checked);
    assert_true(checked > 150);
}

static void test_roles_cover_every_body(void **state)
{
    (void)state;
    for (unsigned n = 1; n <= schema_frame.max_number; n++) {
        const schema_field *f = schema_lookup(&schema_frame, n);
        if (!f || f->kind != SK_MSG)
            continue;
        unsigned dir = schema_body_dir((panp_body_kind)n);
        assert_true(dir != 0);
        assert_true(schema_body_ok_for((panp_body_kind)n, PANP_PEER_ANY));
        assert_ptr_equal(schema_body((panp_body_kind)n), f->sub);
    }
    assert_int_equal(schema_body_dir(PANP_BODY_GOODBYE), SD_TO_BROKER | SD_TO_CLIENT);
    assert_false(schema_body_ok_for(PANP_BODY_NONE, PANP_PEER_ANY));
    assert_false(schema_body_ok_for((panp_body_kind)12, PANP_PEER_ANY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_generated_code),
        cmocka_unit_test(test_roles_cover_every_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
