/* fuzz_framer.c - the streaming framer, fed in pieces (issue 7, target 2).
 *
 * Input: a header, then the byte stream.
 *   byte 0   bit 0: the framer expects the preface; bit 1: the harness puts
 *            the correct preface in front of the stream; bit 2: the framer
 *            lives in caller storage (panp_framer_init), else on the heap;
 *            bits 3-6: the max frame size (table below)
 *   byte 1   in storage mode: how many bytes short of the documented
 *            storage size the storage is (0 = exactly; n: n*37 short)
 *   byte 2   k = byte & 15 chunk sizes follow, one byte each (0 is a
 *            zero-length feed), used in turn
 *
 * The stream is fed three ways: whole, in the chunks the header chose, and
 * checked against a model written from SPEC 5.1/5.2 and codec.h (preface
 * byte by byte; prefix: fifth byte with continuation bit, then a padded
 * last byte, then the limit, judged before any body byte).  All three must
 * yield the same frames and end the same way: waiting for more, or the
 * same error code at the same stream offset.  The framer must keep
 * failing after an error and consume every byte it was given otherwise.
 */
#include <string.h>

#include "fuzz_common.h"

static const uint32_t MAXES[16] = {0, 1, 2, 3, 5, 16, 127, 128, 129, 300, 4096, 4097, 16383, 16384,
                                   65536, 1u << 20};

typedef struct outcome {
    size_t nframes;
    size_t *lens;    /* per frame */
    uint8_t *bytes;  /* frames back to back */
    size_t nbytes;
    bool failed;
    panp_error_code code;
    size_t offset;
    size_t consumed; /* stream bytes the framer took */
} outcome;

typedef struct setup {
    bool preface;
    bool storage;
    uint32_t max;
    size_t short_by; /* storage mode */
    const uint8_t *sizes;
    size_t nsizes;
} setup;

static void outcome_init(outcome *o, size_t stream_len)
{
    memset(o, 0, sizeof *o);
    o->lens = calloc(stream_len + 1, sizeof *o->lens);
    o->bytes = malloc(stream_len + 1);
}

static void outcome_free(outcome *o)
{
    free(o->lens);
    free(o->bytes);
}

static void add_frame(outcome *o, const uint8_t *f, size_t n)
{
    o->lens[o->nframes++] = n;
    if (n)
        memcpy(o->bytes + o->nbytes, f, n);
    o->nbytes += n;
}

static size_t eff_max(uint32_t m) { return m ? m : PANP_DEFAULT_MAX_FRAME; }

/* The framer's own body capacity in storage mode, from the documented size
 * formula: panp_framer_storage_size(max) = fixed part + max. */
static size_t storage_cap(const setup *s, size_t *storage_size)
{
    size_t full = panp_framer_storage_size(s->max);
    size_t fixed = full - eff_max(s->max);
    *storage_size = s->short_by < full - fixed ? full - s->short_by : fixed;
    return *storage_size - fixed;
}

/* ---- the model ------------------------------------------------------------ */

static void model(const setup *s, const uint8_t *d, size_t n, outcome *o)
{
    size_t limit = eff_max(s->max), ss;
    if (s->storage) {
        size_t cap = storage_cap(s, &ss);
        limit = cap < limit ? cap : limit;
    }
    size_t i = 0;
    for (size_t k = 0; s->preface && k < PANP_PREFACE_LEN; k++, i++) {
        if (i == n)
            goto done;
        if (d[i] != (uint8_t)PANP_PREFACE[k]) {
            o->failed = true, o->code = PANP_ERR_PROTOCOL_VIOLATION, o->offset = i;
            goto done;
        }
    }
    for (;;) {
        size_t start = i;
        uint64_t val = 0;
        for (int k = 0;; k++, i++) {
            if (i == n)
                goto done;
            uint8_t b = d[i];
            val |= (uint64_t)(b & 0x7f) << (7 * k);
            if (b & 0x80) {
                if (k == 4) {
                    o->failed = true, o->code = PANP_ERR_PROTOCOL_VIOLATION, o->offset = i;
                    goto done;
                }
                continue;
            }
            if (b == 0 && k > 0) {
                o->failed = true, o->code = PANP_ERR_PROTOCOL_VIOLATION, o->offset = i;
                goto done;
            }
            i++;
            break;
        }
        if (val > limit) {
            o->failed = true, o->code = PANP_ERR_FRAME_TOO_LARGE, o->offset = start;
            i = start; /* the model does not track consumption on errors */
            goto done;
        }
        if (n - i < val) {
            i = n;
            goto done;
        }
        add_frame(o, d + i, (size_t)val);
        i += (size_t)val;
    }
done:
    o->consumed = i;
}

/* ---- the framer ------------------------------------------------------------ */

static void run(const setup *s, const uint8_t *d, size_t n, bool whole, outcome *o)
{
    void *storage = NULL;
    panp_framer *fr;
    if (s->storage) {
        size_t ss;
        storage_cap(s, &ss);
        storage = malloc(ss);
        fr = panp_framer_init(storage, ss, s->max, s->preface);
    } else {
        fr = panp_framer_new(s->max, s->preface);
    }
    FZ_CHECK(fr, "no framer");

    size_t pos = 0, turn = 0;
    panp_status st, first;
    while (!o->failed && (pos < n || turn == 0)) {
        size_t len = n - pos;
        if (!whole && s->nsizes) {
            size_t want = s->sizes[turn % s->nsizes];
            len = want < len ? want : len;
        }
        turn++;
        size_t off = 0;
        panp_framer_result r;
        do {
            size_t used = 0, flen = 0;
            const uint8_t *f = NULL;
            r = panp_framer_feed(fr, d + pos + off, len - off, &used, &f, &flen, &st);
            FZ_CHECK(used <= len - off, "used %zu of %zu", used, len - off);
            off += used;
            if (r == PANP_FRAMER_FRAME) {
                FZ_CHECK(flen <= eff_max(s->max), "frame of %zu over max %zu", flen,
                         eff_max(s->max));
                FZ_CHECK(f || !flen, "frame without bytes");
                add_frame(o, f, flen);
            } else if (r == PANP_FRAMER_ERROR) {
                o->failed = true, o->code = st.code, o->offset = st.offset;
                first = st;
            } else {
                FZ_CHECK(r == PANP_FRAMER_NEED_MORE, "result %d", r);
                FZ_CHECK(off == len, "NEED_MORE with %zu of %zu bytes unused", len - off, len);
            }
        } while (r == PANP_FRAMER_FRAME);
        pos += off;
    }
    o->consumed = pos;

    if (o->failed) {
        /* Failed for good: the same error again, nothing consumed. */
        size_t used = 1, flen;
        const uint8_t *f;
        panp_framer_result r = panp_framer_feed(fr, d, n, &used, &f, &flen, &st);
        FZ_CHECK(r == PANP_FRAMER_ERROR && used == 0 && st.code == first.code &&
                     st.offset == first.offset,
                 "after an error the framer answered %d (used %zu)", r, used);
        FZ_CHECK(!strcmp(st.field, first.field), "error field changed");
    }
    panp_framer_free(fr);
    free(storage);
}

static void same(const char *what, const outcome *a, const outcome *b, bool check_consumed)
{
    FZ_CHECK(a->nframes == b->nframes, "%s: %zu frames vs %zu", what, a->nframes, b->nframes);
    for (size_t i = 0; i < a->nframes; i++)
        FZ_CHECK(a->lens[i] == b->lens[i], "%s: frame %zu: %zu bytes vs %zu", what, i, a->lens[i],
                 b->lens[i]);
    FZ_CHECK(a->nbytes == b->nbytes && !memcmp(a->bytes, b->bytes, a->nbytes),
             "%s: frame contents differ", what);
    FZ_CHECK(a->failed == b->failed, "%s: failed %d vs %d", what, a->failed, b->failed);
    if (a->failed)
        FZ_CHECK(a->code == b->code && a->offset == b->offset,
                 "%s: error %d at %zu vs %d at %zu", what, a->code, a->offset, b->code,
                 b->offset);
    else if (check_consumed)
        FZ_CHECK(a->consumed == b->consumed, "%s: consumed %zu vs %zu", what, a->consumed,
                 b->consumed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = fz_in_make(data, size);
    uint8_t flags = fz_u8(&in);
    setup s = {0};
    s.preface = flags & 1;
    s.storage = flags & 4;
    s.max = MAXES[(flags >> 3) & 15];
    s.short_by = (size_t)fz_u8(&in) * 37;
    s.nsizes = fz_u8(&in) & 15;
    s.sizes = fz_take(&in, s.nsizes, &s.nsizes);
    bool moves = false;
    for (size_t i = 0; i < s.nsizes; i++)
        moves |= s.sizes[i] != 0;
    if (!moves)
        s.nsizes = 0; /* only zero-length feeds would never get anywhere */

    /* The stream, with the preface in front when asked for. */
    size_t n = in.left + ((flags & 2) ? PANP_PREFACE_LEN : 0);
    uint8_t *stream = malloc(n + 1);
    size_t at = 0;
    if (flags & 2) {
        memcpy(stream, PANP_PREFACE, PANP_PREFACE_LEN);
        at = PANP_PREFACE_LEN;
    }
    memcpy(stream + at, in.p, in.left);

    outcome whole, split, want;
    outcome_init(&whole, n);
    outcome_init(&split, n);
    outcome_init(&want, n);
    model(&s, stream, n, &want);
    run(&s, stream, n, true, &whole);
    run(&s, stream, n, false, &split);
    same("whole vs model", &whole, &want, true);
    same("split vs whole", &split, &whole, true);
    outcome_free(&whole);
    outcome_free(&split);
    outcome_free(&want);
    free(stream);
    return 0;
}
