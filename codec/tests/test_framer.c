/* test_framer.c - the streaming framer: a stream of every body kind split
 * at every point and fed one byte at a time must yield the same frames;
 * errors carry stream offsets and are sticky; limits apply to the prefix
 * before any body byte is buffered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

typedef struct stream {
    uint8_t buf[8192];
    size_t len;
    size_t starts[64]; /* offset of each body */
    size_t lens[64];
    size_t count;
} stream;

/* Preface, then every sample frame delimited, plus one empty frame. */
static void build(stream *s, bool preface)
{
    size_t nk;
    const panp_body_kind *kinds = tu_all_kinds(&nk);
    s->len = s->count = 0;
    if (preface) {
        memcpy(s->buf, PANP_PREFACE, PANP_PREFACE_LEN);
        s->len = PANP_PREFACE_LEN;
    }
    for (size_t k = 0; k < nk; k++) {
        panp_frame f;
        size_t n;
        tu_sample(kinds[k], &f);
        assert_int_equal(panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, s->buf + s->len,
                                               sizeof s->buf - s->len, &n, NULL),
                         0);
        size_t p = 0; /* the prefix length, read from the bytes */
        while (s->buf[s->len + p] & 0x80)
            p++;
        p++;
        size_t body = n - p;
        s->starts[s->count] = s->len + p;
        s->lens[s->count++] = body;
        s->len += n;
    }
    s->buf[s->len++] = 0x00; /* a zero-length frame */
    s->starts[s->count] = s->len;
    s->lens[s->count++] = 0;
}

/* Feeds the stream in the given chunk pattern: splits[] are cut points. */
static void run(const stream *s, bool preface, const size_t *cuts, size_t ncuts)
{
    panp_framer *fr = panp_framer_new(0, preface);
    size_t seen = 0, pos = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t end = c < ncuts ? cuts[c] : s->len;
        while (pos < end) {
            size_t used;
            const uint8_t *frame;
            size_t flen;
            panp_status st;
            panp_framer_result r = panp_framer_feed(fr, s->buf + pos, end - pos, &used, &frame,
                                                    &flen, &st);
            assert_int_not_equal(r, PANP_FRAMER_ERROR);
            pos += used;
            if (r == PANP_FRAMER_FRAME) {
                assert_true(seen < s->count);
                assert_int_equal(flen, s->lens[seen]);
                if (flen)
                    assert_memory_equal(frame, s->buf + s->starts[seen], flen);
                seen++;
            } else {
                assert_int_equal(pos, end);
            }
        }
    }
    /* the zero-length frame at the very end arrives once its prefix does */
    assert_int_equal(seen, s->count);
    panp_framer_free(fr);
}

static void test_whole_and_bytewise(void **state)
{
    (void)state;
    static stream s;
    for (int p = 0; p < 2; p++) {
        build(&s, p);
        run(&s, p, NULL, 0);
        size_t *cuts = malloc(s.len * sizeof *cuts);
        for (size_t i = 0; i < s.len; i++)
            cuts[i] = i + 1;
        run(&s, p, cuts, s.len - 1); /* one byte at a time */
        free(cuts);
    }
}

static void test_every_split_point(void **state)
{
    (void)state;
    static stream s;
    build(&s, true);
    for (size_t i = 1; i < s.len; i++)
        run(&s, true, &i, 1);
    /* and every pair of split points over the first 200 bytes */
    for (size_t i = 1; i < 200; i++)
        for (size_t j = i + 1; j < 200; j += 7) {
            size_t cuts[2] = {i, j};
            run(&s, true, cuts, 2);
        }
}

/* Returns the result of feeding everything (byte by byte when bytewise). */
static panp_framer_result feed_all(panp_framer *fr, const uint8_t *data, size_t len,
                                   bool bytewise, panp_status *st, size_t *frames)
{
    size_t pos = 0;
    *frames = 0;
    while (pos < len) {
        size_t n = bytewise ? 1 : len - pos, used;
        const uint8_t *frame;
        size_t flen;
        panp_framer_result r = panp_framer_feed(fr, data + pos, n, &used, &frame, &flen, st);
        pos += used;
        if (r == PANP_FRAMER_ERROR)
            return r;
        if (r == PANP_FRAMER_FRAME)
            (*frames)++;
    }
    return PANP_FRAMER_NEED_MORE;
}

typedef struct bad_case {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    uint32_t max;
    panp_error_code code;
    size_t offset;
    size_t frames_before;
    const char *message;
} bad_case;

static void test_errors_with_offsets(void **state)
{
    (void)state;
#define P 0x89, 'P', 'A', 'N', 'P', '\r', '\n', 0x1a
    static const uint8_t bad_preface[] = {0x89, 'P', 'A', 'N', 'X', '\r', '\n', 0x1a};
    static const uint8_t padded[] = {P, 0x02, 0x42, 0x00, 0x82, 0x00};
    static const uint8_t six[] = {P, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    static const uint8_t big[] = {P, 0x02, 0x42, 0x00, 0x81, 0x80, 0x04};
    static const uint8_t huge[] = {P, 0xff, 0xff, 0xff, 0xff, 0x0f};
#undef P
    const bad_case cases[] = {
        {"bad preface", bad_preface, sizeof bad_preface, 0, PANP_ERR_PROTOCOL_VIOLATION, 4, 0,
         "preface: the peer did not send the panp preface"},
        {"padded prefix", padded, sizeof padded, 0, PANP_ERR_PROTOCOL_VIOLATION, 12, 1,
         "frame: length prefix not minimally encoded"},
        {"6-byte prefix", six, sizeof six, 0, PANP_ERR_PROTOCOL_VIOLATION, 12, 0,
         "frame: length prefix longer than 5 bytes"},
        {"over max", big, sizeof big, 0, PANP_ERR_FRAME_TOO_LARGE, 11, 1,
         "frame: frame of 65537 bytes exceeds the limit of 65536"},
        {"huge", huge, sizeof huge, 0, PANP_ERR_FRAME_TOO_LARGE, 8, 0,
         "frame: frame of 4294967295 bytes exceeds the limit of 65536"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            panp_framer *fr = panp_framer_new(cases[i].max, true);
            panp_status st;
            size_t frames;
            panp_framer_result r =
                feed_all(fr, cases[i].bytes, cases[i].len, bytewise, &st, &frames);
            if (r != PANP_FRAMER_ERROR || st.code != cases[i].code ||
                st.offset != cases[i].offset || frames != cases[i].frames_before)
                fail_msg("%s (bytewise %d): result %d code %s offset %zu frames %zu: %s",
                         cases[i].name, bytewise, r, panp_error_code_name(st.code), st.offset,
                         frames, st.message);
            assert_string_equal(st.message, cases[i].message);
            assert_int_equal(st.request_id, 0);
            /* sticky: the same error again, nothing consumed, whatever the
             * limit has become since */
            panp_framer_set_max(fr, 1);
            size_t used = 7;
            const uint8_t *frame;
            size_t flen;
            panp_status again;
            assert_int_equal(panp_framer_feed(fr, (const uint8_t *)"\x02\x42\x00", 3, &used,
                                              &frame, &flen, &again),
                             PANP_FRAMER_ERROR);
            assert_int_equal(used, 0);
            assert_int_equal(again.code, st.code);
            assert_int_equal(again.offset, st.offset);
            assert_string_equal(again.field, st.field);
            assert_string_equal(again.message, st.message);
            panp_framer_free(fr);
        }
    }
}

/* The limit is judged on the prefix alone: no body byte needed. */
static void test_limit_before_body(void **state)
{
    (void)state;
    panp_framer *fr = panp_framer_new(4096, false);
    const uint8_t prefix[] = {0x81, 0x20}; /* 4097 */
    size_t used;
    const uint8_t *frame;
    size_t flen;
    panp_status st;
    assert_int_equal(panp_framer_feed(fr, prefix, 2, &used, &frame, &flen, &st),
                     PANP_FRAMER_ERROR);
    assert_int_equal(st.code, PANP_ERR_FRAME_TOO_LARGE);
    assert_int_equal(st.offset, 0);
    assert_string_equal(st.field, "frame");
    panp_framer_free(fr);
}

/* After Welcome the limit changes: the next prefix is judged by it. */
static void test_max_change(void **state)
{
    (void)state;
    static uint8_t data[6000];
    size_t n = panp_varint_put(data, 5000);
    memset(data + n, 0, 5000);
    panp_framer *fr = panp_framer_new(0, false);
    size_t used, flen, frames;
    const uint8_t *frame;
    panp_status st;
    assert_int_equal(panp_framer_feed(fr, data, n + 5000, &used, &frame, &flen, &st),
                     PANP_FRAMER_FRAME);
    assert_int_equal(flen, 5000);
    assert_ptr_equal(frame, data + n); /* whole in one chunk: no copy */
    panp_framer_set_max(fr, 4096);
    assert_int_equal(feed_all(fr, data, n + 5000, false, &st, &frames), PANP_FRAMER_ERROR);
    assert_int_equal(st.code, PANP_ERR_FRAME_TOO_LARGE);
    assert_int_equal(st.offset, n + 5000);
    panp_framer_free(fr);

    fr = panp_framer_new(4096, false);
    panp_framer_set_max(fr, 0); /* back to the default */
    assert_int_equal(feed_all(fr, data, n + 5000, true, &st, &frames), PANP_FRAMER_NEED_MORE);
    assert_int_equal(frames, 1);
    panp_framer_free(fr);
}

/* The no-heap framer: frames beyond its storage are too large. */
static void test_static_framer(void **state)
{
    (void)state;
    size_t size = panp_framer_storage_size(256);
    assert_true(size > 256);
    void *mem = malloc(size);
    assert_null(panp_framer_init(mem, 8, 256, true));
    panp_framer *fr = panp_framer_init(mem, size, 256, true);
    assert_non_null(fr);
    static stream s;
    build(&s, true);
    size_t frames;
    panp_status st;
    /* bytewise: every body is assembled in the storage */
    assert_int_equal(feed_all(fr, s.buf, s.len, true, &st, &frames), PANP_FRAMER_NEED_MORE);
    assert_int_equal(frames, s.count);
    panp_framer_set_max(fr, 100000); /* the storage still bounds it */
    uint8_t big[4] = {0x81, 0x04, 0, 0}; /* 513 */
    assert_int_equal(feed_all(fr, big, sizeof big, false, &st, &frames), PANP_FRAMER_ERROR);
    assert_int_equal(st.code, PANP_ERR_FRAME_TOO_LARGE);
    panp_framer_free(fr); /* releases nothing */
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_bytewise),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_errors_with_offsets),
        cmocka_unit_test(test_limit_before_body),
        cmocka_unit_test(test_max_change),
        cmocka_unit_test(test_static_framer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
