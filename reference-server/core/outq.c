/* outq.c - bounded outbound queue of header + shared body entries. */
#include "outq.h"

#include <stdlib.h>
#include <string.h>

blob *blob_new(size_t len)
{
    blob *b = malloc(sizeof(*b) + len);
    if (!b) return NULL;
    b->refs = 1;
    b->len = len;
    return b;
}

void blob_unref(blob *b)
{
    if (b && --b->refs == 0) free(b);
}

void outq_pool_init(outq_pool *p)
{
    p->free = NULL;
    p->nfree = 0;
}

void outq_pool_free(outq_pool *p)
{
    while (p->free) {
        outq_entry *e = p->free;
        p->free = (outq_entry *)e->link.next;
        free(e);
    }
    p->nfree = 0;
}

static outq_entry *entry_alloc(outq_pool *p, size_t hdr_len)
{
    if (p && hdr_len <= OUTQ_POOL_HDR) {
        outq_entry *e = p->free;
        if (e) {
            p->free = (outq_entry *)e->link.next;
            p->nfree--;
        } else if ((e = malloc(sizeof(*e) + OUTQ_POOL_HDR)) == NULL) {
            return NULL;
        }
        e->pooled = true;
        return e;
    }
    outq_entry *e = malloc(sizeof(*e) + hdr_len);
    if (e) e->pooled = false;
    return e;
}

static void entry_free(outq_pool *p, outq_entry *e)
{
    blob_unref(e->body);
    if (e->pooled && p && p->nfree < OUTQ_POOL_KEEP) {
        e->link.next = (list_node *)p->free;
        p->free = e;
        p->nfree++;
        return;
    }
    free(e);
}

void outq_init(outq *q, outq_pool *pool)
{
    list_init(&q->entries);
    q->pool = pool;
    q->bytes = q->head_off = q->count = 0;
}

void outq_free(outq *q)
{
    list_node *n, *t;
    list_for_each_safe(n, t, &q->entries) entry_free(q->pool, list_entry(n, outq_entry, link));
    outq_init(q, q->pool);
}

outq_verdict outq_check(const outq *q, outq_kind kind, size_t len, size_t max_bytes,
                        size_t allowance)
{
#ifdef PANPD_BROKEN_UNBOUNDED_QUEUE
    /* BROKEN ON PURPOSE (conformance/broken.mk): the bound is forgotten */
    return OUTQ_ADMIT;
#endif
    if (kind == OUTQ_CONTROL) return q->bytes + len <= max_bytes + allowance ? OUTQ_ADMIT : OUTQ_OVERFLOW;
    return q->bytes + len <= max_bytes ? OUTQ_ADMIT : OUTQ_FULL;
}

int outq_push(outq *q, outq_kind kind, uint64_t channel_id, uint64_t tag, const uint8_t *hdr,
              size_t hdr_len, blob *body)
{
    return outq_push2(q, kind, channel_id, tag, hdr, hdr_len, NULL, 0, body);
}

int outq_push2(outq *q, outq_kind kind, uint64_t channel_id, uint64_t tag, const uint8_t *hdr1,
               size_t len1, const uint8_t *hdr2, size_t len2, blob *body)
{
    size_t hdr_len = len1 + len2;
    size_t len = hdr_len + (body ? body->len : 0);
    if (hdr_len > UINT16_MAX || len > UINT32_MAX) return -1;
    outq_entry *e = entry_alloc(q->pool, hdr_len);
    if (!e) return -1;
    e->kind = (uint8_t)kind;
    e->channel_id = channel_id;
    e->tag = tag;
    e->body = blob_ref(body);
    e->hdr_len = (uint16_t)hdr_len;
    if (len1) memcpy(e->hdr, hdr1, len1);
    if (len2) memcpy(e->hdr + len1, hdr2, len2);
    e->len = (uint32_t)len;
    list_add_tail(&q->entries, &e->link);
    q->bytes += e->len;
    q->count++;
    return 0;
}

int outq_iov(const outq *q, struct iovec *iov, int max)
{
    int n = 0;
    size_t skip = q->head_off;
    const list_node *node;
    list_for_each(node, &q->entries) {
        const outq_entry *e = list_entry(node, outq_entry, link);
        const uint8_t *parts[2] = {e->hdr, e->body ? e->body->data : NULL};
        size_t lens[2] = {e->hdr_len, e->body ? e->body->len : 0};
        for (int p = 0; p < 2; p++) {
            if (skip >= lens[p]) {
                skip -= lens[p];
                continue;
            }
            if (n == max) return n;
            iov[n].iov_base = (void *)(parts[p] + skip);
            iov[n].iov_len = lens[p] - skip;
            n++;
            skip = 0;
        }
    }
    return n;
}

static void pop_head(outq *q)
{
    outq_entry *e = list_entry(q->entries.next, outq_entry, link);
    list_remove(&e->link);
    q->bytes -= e->len;
    q->count--;
    q->head_off = 0;
    entry_free(q->pool, e);
}

void outq_consume(outq *q, size_t n)
{
    while (n > 0 && q->count > 0) {
        outq_entry *e = list_entry(q->entries.next, outq_entry, link);
        size_t left = e->len - q->head_off;
        if (n < left) {
            q->head_off += n;
            return;
        }
        n -= left;
        pop_head(q);
    }
}

size_t outq_discard(outq *q, outq_pred pred, const void *arg)
{
    size_t removed = 0;
    list_node *n, *t;
    list_for_each_safe(n, t, &q->entries) {
        outq_entry *e = list_entry(n, outq_entry, link);
        if (n == q->entries.next && q->head_off > 0) continue;
        if (!pred(e, arg)) continue;
        list_remove(&e->link);
        q->bytes -= e->len;
        q->count--;
        entry_free(q->pool, e);
        removed++;
    }
    return removed;
}

static bool any(const outq_entry *e, const void *arg)
{
    (void)e;
    (void)arg;
    return true;
}

void outq_clear(outq *q)
{
    outq_discard(q, any, NULL);
}
