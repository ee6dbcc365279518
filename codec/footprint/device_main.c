/* device_main.c - a minimal device application for `make footprint`: what
 * firmware would link to speak panp as a client with the nanopb backend.
 * It frames received bytes, decodes each frame into static storage,
 * validates it, and encodes a reply, all without a heap.  The buffers are
 * the application's (sized for 4 KiB frames and the largest body); the
 * footprint report counts them separately from the codec.
 */
#include "panp/codec.h"

#define MAX_FRAME 4096u

/* Sizes for a 32-bit target; footprint.py reports the exact per-body
 * storage the codec asks for. */
static unsigned char framer_mem[MAX_FRAME + 128] __attribute__((aligned(8)));
static unsigned char decode_mem[65536] __attribute__((aligned(8)));
static unsigned char encode_mem[1024] __attribute__((aligned(8)));
static uint8_t tx[MAX_FRAME];

/* Where a driver would put received bytes (volatile: not constant-folded). */
volatile const uint8_t *rx_data;
volatile size_t rx_len;
volatile size_t sink;

static void reply_ping(uint64_t request_id)
{
    panp_frame out = {.request_id = request_id, .kind = PANP_BODY_PING};
    size_t n;
    panp_status st;
    if (panp_encode_with_storage(PANP_BACKEND_NANOPB, &out, tx, sizeof tx, &n, encode_mem,
                                 sizeof encode_mem, &st) == PANP_ERR_UNSPECIFIED)
        sink = n;
}

int main(void)
{
    panp_framer *fr = panp_framer_init(framer_mem, sizeof framer_mem, MAX_FRAME, true);
    panp_decode_opts opts = {PANP_BACKEND_NANOPB, PANP_PEER_CLIENT, MAX_FRAME};
    const uint8_t *data = (const uint8_t *)rx_data;
    size_t len = rx_len;
    while (len) {
        size_t used, flen;
        const uint8_t *frame;
        panp_status st;
        panp_framer_result r = panp_framer_feed(fr, data, len, &used, &frame, &flen, &st);
        data += used;
        len -= used;
        if (r == PANP_FRAMER_ERROR)
            return 1;
        if (r != PANP_FRAMER_FRAME)
            continue;
        panp_frame f;
        if (panp_decode_into(&opts, frame, flen, decode_mem, sizeof decode_mem, &f, &st))
            sink = st.code;
        else
            reply_ping(f.request_id);
    }
    return 0;
}
