/* test_units.c - the core's building blocks on their own: hash map, timer
 * heap, outbound queue, delivery table, fan-out splicing, configuration
 * queries. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "deliver.h"
#include "hmap.h"
#include "outq.h"
#include "timer.h"

/* ---- hmap */

static void t_hmap_put_get_del(void **state)
{
    (void)state;
    static const uint8_t seed[16] = {1, 2, 3};
    hmap m;
    hmap_init(&m, seed);
    uint64_t keys[1000];
    for (uint64_t i = 0; i < 1000; i++) {
        keys[i] = i * 7919;
        assert_int_equal(hmap_put(&m, &keys[i], sizeof(keys[i]), &keys[i]), 0);
    }
    assert_int_equal(m.count, 1000);
    for (uint64_t i = 0; i < 1000; i++) assert_ptr_equal(hmap_get(&m, &keys[i], 8), &keys[i]);
    uint64_t absent = 3;
    assert_null(hmap_get(&m, &absent, 8));
    for (uint64_t i = 0; i < 1000; i += 2) assert_ptr_equal(hmap_del(&m, &keys[i], 8), &keys[i]);
    assert_int_equal(m.count, 500);
    for (uint64_t i = 0; i < 1000; i++)
        assert_ptr_equal(hmap_get(&m, &keys[i], 8), i % 2 ? &keys[i] : NULL);
    size_t seen = 0;
    hmap_iter it;
    hmap_iter_init(&it, &m);
    void *v;
    while ((v = hmap_iter_next(&it)) != NULL) {
        hmap_del(&m, v, 8); /* deleting the current entry is allowed */
        seen++;
    }
    assert_int_equal(seen, 500);
    assert_int_equal(m.count, 0);
    hmap_free(&m);
}

static void t_siphash_vector(void **state)
{
    (void)state;
    /* SipHash-1-3 differs from 2-4; check that keying changes the output
     * and that the function is stable. */
    uint8_t msg[15];
    for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
    uint64_t a = hmap_siphash(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, 15);
    uint64_t b = hmap_siphash(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, 15);
    uint64_t c = hmap_siphash(1, 0x0f0e0d0c0b0a0908ULL, msg, 15);
    assert_true(a == b);
    assert_true(a != c);
}

/* ---- timers */

static void t_timer_heap_order_and_cancel(void **state)
{
    (void)state;
    timer_heap h;
    timer_heap_init(&h);
    core_timer t[100];
    for (int i = 0; i < 100; i++) {
        timer_init(&t[i], 1);
        assert_int_equal(timer_arm(&h, &t[i], (uint64_t)((i * 37) % 100)), 0);
    }
    timer_cancel(&h, &t[10]);
    timer_cancel(&h, &t[10]); /* twice is harmless */
    assert_int_equal(timer_arm(&h, &t[20], 1000), 0); /* re-arm later */
    assert_int_equal(timer_arm(&h, &t[30], 0), 0);    /* re-arm earlier */
    uint64_t last = 0;
    size_t n = 0;
    core_timer *x;
    while ((x = timer_pop_due(&h, 999)) != NULL) {
        assert_true(x->when >= last);
        assert_ptr_not_equal(x, &t[10]);
        assert_ptr_not_equal(x, &t[20]);
        last = x->when;
        n++;
    }
    assert_int_equal(n, 98);
    assert_int_equal(timer_next(&h), 1000);
    assert_ptr_equal(timer_pop_due(&h, 1000), &t[20]);
    assert_int_equal(timer_next(&h), TIMER_NONE);
    timer_heap_free(&h);
}

/* ---- outbound queue */

static blob *mkblob(const char *s)
{
    blob *b = blob_new(strlen(s));
    memcpy(b->data, s, b->len);
    return b;
}

static size_t collect(const outq *q, char *out, size_t cap)
{
    struct iovec iov[64];
    int n = outq_iov(q, iov, 64);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        assert_true(len + iov[i].iov_len < cap);
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    out[len] = 0;
    return len;
}

static bool chan_is(const outq_entry *e, const void *arg)
{
    return e->channel_id == *(const uint64_t *)arg;
}

static void outq_partial_writes_and_discard(outq_pool *pool)
{
    outq q;
    outq_init(&q, pool);
    blob *shared = mkblob("TAIL");
    assert_int_equal(outq_push(&q, OUTQ_CONTROL, 0, 0, (const uint8_t *)"ab", 2, NULL), 0);
    assert_int_equal(outq_push(&q, OUTQ_NOTIFY_UNI, 7, 1, (const uint8_t *)"h1", 2, shared), 0);
    assert_int_equal(outq_push(&q, OUTQ_NOTIFY_UNI, 8, 1, (const uint8_t *)"h2", 2, shared), 0);
    assert_int_equal(outq_push(&q, OUTQ_NOTIFY_UNI, 7, 1, (const uint8_t *)"h3", 2, shared), 0);
    blob_unref(shared); /* the queue holds its own references */
    assert_int_equal(shared->refs, 3);
    char buf[128];
    assert_int_equal(collect(&q, buf, sizeof(buf)), 20);
    assert_string_equal(buf, "abh1TAILh2TAILh3TAIL");
    outq_consume(&q, 3); /* "ab" and half of "h1" */
    assert_int_equal(q.head_off, 1);
    collect(&q, buf, sizeof(buf));
    assert_string_equal(buf, "1TAILh2TAILh3TAIL");
    /* Channel 7 closes: the half-written entry must still be finished. */
    uint64_t ch = 7;
    assert_int_equal(outq_discard(&q, chan_is, &ch), 1);
    collect(&q, buf, sizeof(buf));
    assert_string_equal(buf, "1TAILh2TAIL");
    assert_int_equal(q.bytes, 12);
    outq_consume(&q, 5);
    assert_int_equal(q.count, 1);
    assert_int_equal(q.head_off, 0);
    outq_clear(&q);
    assert_true(outq_empty(&q));
    assert_int_equal(q.bytes, 0);
    outq_free(&q);
}

static void t_outq_iov_partial_writes_and_discard(void **state)
{
    (void)state;
    outq_partial_writes_and_discard(NULL);
    outq_pool pool;
    outq_pool_init(&pool);
    outq_partial_writes_and_discard(&pool);
    assert_int_equal(pool.nfree, 4); /* every entry came back */
    outq_partial_writes_and_discard(&pool);
    assert_int_equal(pool.nfree, 4); /* and was used again */
    outq_pool_free(&pool);
}

/* Small headers come from the pool and go back to it, up to its bound;
 * larger ones are the heap's. */
static void t_outq_pool(void **state)
{
    (void)state;
    outq_pool pool;
    outq_pool_init(&pool);
    outq q;
    outq_init(&q, &pool);
    uint8_t big[OUTQ_POOL_HDR + 1] = {0};
    assert_int_equal(outq_push(&q, OUTQ_CONTROL, 0, 0, big, sizeof big, NULL), 0);
    assert_false(list_entry(q.entries.next, outq_entry, link)->pooled);
    outq_consume(&q, sizeof big);
    assert_int_equal(pool.nfree, 0);
    for (int i = 0; i < OUTQ_POOL_KEEP + 10; i++)
        assert_int_equal(outq_push(&q, OUTQ_NOTIFY_UNI, 1, 1, big, OUTQ_POOL_HDR, NULL), 0);
    assert_true(list_entry(q.entries.next, outq_entry, link)->pooled);
    outq_clear(&q);
    assert_int_equal(pool.nfree, OUTQ_POOL_KEEP);
    assert_int_equal(outq_push(&q, OUTQ_NOTIFY_UNI, 1, 1, big, 1, NULL), 0);
    assert_int_equal(pool.nfree, OUTQ_POOL_KEEP - 1);
    outq_free(&q);
    assert_int_equal(pool.nfree, OUTQ_POOL_KEEP);
    outq_pool_free(&pool);
    assert_int_equal(pool.nfree, 0);
}

static void t_outq_policy(void **state)
{
    (void)state;
    outq q;
    outq_init(&q, NULL);
    blob *b = blob_new(900);
    outq_push(&q, OUTQ_NOTIFY_UNI, 1, 1, NULL, 0, b);
    blob_unref(b);
    /* data: bound 1000; control: 1000 + 200 */
    assert_int_equal(outq_check(&q, OUTQ_NOTIFY_UNI, 100, 1000, 200), OUTQ_ADMIT);
    assert_int_equal(outq_check(&q, OUTQ_NOTIFY_UNI, 101, 1000, 200), OUTQ_FULL);
    assert_int_equal(outq_check(&q, OUTQ_CONVERSATION, 101, 1000, 200), OUTQ_FULL);
    assert_int_equal(outq_check(&q, OUTQ_CONTROL, 300, 1000, 200), OUTQ_ADMIT);
    assert_int_equal(outq_check(&q, OUTQ_CONTROL, 301, 1000, 200), OUTQ_OVERFLOW);
    outq_free(&q);
}

/* ---- delivery table (design brief, "Delivery decision") */

static bool decide(panp_user_filter cf, panp_user_filter rf, bool addressed, bool admin,
                   const char *cs, const char *ls)
{
    deliver_in in = {cf, rf, addressed, admin, cs, ls};
    return deliver_decide(&in);
}

/* [PANP-DLV-2] [PANP-DLV-3] [PANP-DLV-4] [PANP-DLV-5] [PANP-DLV-6] */
static void t_deliver_table_rows(void **state)
{
    (void)state;
    const panp_user_filter P = PANP_USER_FILTER_PER_USER, A = PANP_USER_FILTER_ALL_USERS;
    /* Row 1: ALL_USERS channel reaches every registration. */
    for (int rf = 1; rf <= 2; rf++)
        for (int u = 0; u < 2; u++)
            for (int ad = 0; ad < 2; ad++)
                assert_true(decide(A, (panp_user_filter)rf, u, ad, "x", "y"));
    /* Row 2: PER_USER channel, ALL_USERS registration (admin by construction). */
    assert_true(decide(P, A, false, true, "", ""));
    assert_true(decide(P, A, true, true, "s1", "s2"));
    /* Row 3: same user. */
    assert_true(decide(P, P, true, false, "", ""));
    /* Row 4: another user, admin of the target. */
    assert_true(decide(P, P, false, true, "", ""));
    /* Row 5: another user, not admin. */
    assert_false(decide(P, P, false, false, "", ""));
    assert_false(decide(P, P, false, false, "s", "s"));
    /* Unspecified filters never deliver. */
    assert_false(decide(PANP_USER_FILTER_UNSPECIFIED, P, true, true, "", ""));
    assert_false(decide(P, PANP_USER_FILTER_UNSPECIFIED, true, false, "", ""));
}

/* [PANP-DLV-7] [PANP-DLV-8] */
static void t_deliver_session_narrowing(void **state)
{
    (void)state;
    const panp_user_filter P = PANP_USER_FILTER_PER_USER;
    /* Only on the "same user, not admin" row, only when both are set. */
    assert_false(decide(P, P, true, false, "console", "rdp-2"));
    assert_true(decide(P, P, true, false, "console", "console"));
    assert_true(decide(P, P, true, false, "", "rdp-2"));
    assert_true(decide(P, P, true, false, "console", ""));
    assert_true(decide(P, P, true, false, NULL, NULL));
    /* Labels never widen: another user with the same label still gets nothing. */
    assert_false(decide(P, P, false, false, "console", "console"));
    /* Admins are not narrowed. */
    assert_true(decide(P, P, true, true, "console", "rdp-2"));
}

/* ---- fan-out: a Notify as the codec's head + shared tail (what
 * emit_notify queues) decodes equal to a normal one */

static void check_splice(const panp_notify *n)
{
    panp_status st;
    size_t tlen = 0, hlen = 0;
    assert_int_equal(panp_notify_encode_shared(n, NULL, 0, &tlen, &st), PANP_ERR_RESOURCE_EXHAUSTED);
    blob *tail = blob_new(tlen);
    assert_int_equal(panp_notify_encode_shared(n, tail->data, tail->len, &tlen, &st), PANP_ERR_UNSPECIFIED);
    uint8_t hdr[PANP_NOTIFY_HEAD_MAX];
    assert_int_equal(panp_notify_encode_head(n, tail->len, hdr, sizeof(hdr), &hlen, &st), PANP_ERR_UNSPECIFIED);
    size_t flen = panp_notify_frame_size(n, tail->len);
    size_t total = hlen + tail->len;
    uint8_t *spliced = malloc(total);
    memcpy(spliced, hdr, hlen);
    memcpy(spliced + hlen, tail->data, tail->len);

    panp_frame f = {.kind = PANP_BODY_NOTIFY};
    f.body.notify = *n;
    size_t need = 0;
    panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, NULL, 0, &need, &st);
    uint8_t *normal = malloc(need);
    assert_int_equal(panp_encode_delimited(PANP_BACKEND_PROTOBUF_C, &f, normal, need, &need, &st),
                     PANP_ERR_UNSPECIFIED);
    /* Canonical encoding: byte-identical, not merely equivalent. */
    assert_int_equal(total, need);
    assert_memory_equal(spliced, normal, need);
    assert_int_equal(flen, need - panp_varint_size(flen));

    panp_frame *d = NULL;
    panp_decode_opts o = {PANP_BACKEND_PROTOBUF_C, PANP_PEER_CLIENT, 0};
    size_t pl = panp_varint_size(flen);
    assert_int_equal(panp_decode(&o, spliced + pl, total - pl, &d, &st), PANP_ERR_UNSPECIFIED);
    assert_int_equal(d->kind, PANP_BODY_NOTIFY);
    const panp_notify *m = &d->body.notify;
    assert_true(h_bytes_eq(m->registration, n->registration.data, n->registration.len));
    assert_int_equal(m->conversation_id, n->conversation_id);
    assert_true(h_bytes_eq(m->client_state, n->client_state.data, n->client_state.len));
    assert_int_equal(m->channel_id, n->channel_id);
    assert_int_equal(m->sequence, n->sequence);
    assert_true(h_bytes_eq(m->notification_type, n->notification_type.data, 16));
    assert_int_equal(m->style, n->style);
    assert_string_equal(m->sender.user, n->sender.user);
    assert_int_equal(m->sender.job_id, n->sender.job_id);
    assert_int_equal(m->target.kind, n->target.kind);
    assert_true(h_bytes_eq(m->payload, n->payload.data, n->payload.len));
    panp_frame_free(d);
    free(normal);
    free(spliced);
    blob_unref(tail);
}

/* SPEC 15.2: byte-identical to encoding each Notify whole [PANP-WIRE-1] */
static void t_fanout_splice_equals_encode(void **state)
{
    (void)state;
    uint8_t handle[32], cs[128], big[3000];
    for (int i = 0; i < 32; i++) handle[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 128; i++) cs[i] = (uint8_t)i;
    memset(big, 'x', sizeof(big));
    panp_notify n = {
        .registration = {handle, 16},
        .channel_id = 0x0000000300000001ULL,
        .sequence = 1,
        .notification_type = {PANP_TYPE_ASYNC_UI, 16},
        .style = PANP_STYLE_UNIDIRECTIONAL,
        .has_sender = true,
        .sender = {.user = "alice", .job_id = 0, .job_owner = ""},
        .target = {PANP_TARGET_SERVER, NULL},
        .payload = {(const uint8_t *)"toner low", 9},
    };
    check_splice(&n); /* unidirectional, no client state */
    n.client_state = (panp_bytes){cs, 128};
    n.registration = (panp_bytes){handle, 32};
    check_splice(&n); /* longest per-listener fields */
    n.style = PANP_STYLE_BIDIRECTIONAL;
    n.conversation_id = 0xffffffffffffffffULL;
    n.target = (panp_target){PANP_TARGET_PRINTER, "Office-Laser"};
    n.sender = (panp_sender_info){.user = "spooler", .job_id = 42, .job_owner = "bob"};
    n.sequence = 300;
    check_splice(&n);
    n.payload = (panp_bytes){big, sizeof(big)}; /* multi-byte lengths */
    n.client_state = (panp_bytes){NULL, 0};
    check_splice(&n);
    n.payload = (panp_bytes){NULL, 0}; /* empty payload */
    check_splice(&n);
}

/* ---- configuration queries */

/* [PANP-AUTH-7] [PANP-SEC-1] [PANP-SEC-2] */
static void t_conf_access_and_tokens(void **state)
{
    (void)state;
    h_world *w = h_new();
    panpd_config *c = w->cfg;
    assert_true(conf_is_server_admin(c, "root"));
    assert_false(conf_is_server_admin(c, "padmin"));
    assert_true(conf_is_admin_of(c, "root", CONF_TARGET_SERVER));
    assert_true(conf_is_admin_of(c, "root", 2));
    assert_true(conf_is_admin_of(c, "padmin", 1));
    assert_false(conf_is_admin_of(c, "padmin", 2));
    assert_false(conf_is_admin_of(c, "padmin", CONF_TARGET_SERVER));
    assert_int_equal(conf_printer_target(c, "P2"), 2);
    assert_int_equal(conf_printer_target(c, "nope"), 0);
    assert_string_equal(conf_target_name(c, 1), "P1");
    assert_null(conf_target_name(c, 0));
    assert_string_equal(conf_token_user(c, (const uint8_t *)H_TOKEN, strlen(H_TOKEN)), "tokuser");
    assert_null(conf_token_user(c, (const uint8_t *)"secret-token-2", 14));
    assert_null(conf_token_user(c, (const uint8_t *)"", 0));
    strlist_add(&c->senders, "*");
    assert_true(conf_is_sender(c, "anyone"));
    h_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_hmap_put_get_del),
        cmocka_unit_test(t_siphash_vector),
        cmocka_unit_test(t_timer_heap_order_and_cancel),
        cmocka_unit_test(t_outq_iov_partial_writes_and_discard),
        cmocka_unit_test(t_outq_pool),
        cmocka_unit_test(t_outq_policy),
        cmocka_unit_test(t_deliver_table_rows),
        cmocka_unit_test(t_deliver_session_narrowing),
        cmocka_unit_test(t_fanout_splice_equals_encode),
        cmocka_unit_test(t_conf_access_and_tokens),
    };
    return cmocka_run_group_tests_name("panpd-units", tests, NULL, NULL);
}
