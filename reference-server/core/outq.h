/* outq.h - a connection's bounded outbound queue.
 *
 * The core owns what each connection still has to write, so the policies
 * that depend on it (drop a notification for a slow listener, close a slow
 * conversation, discard a closed channel's pending notifications, bound the
 * memory) are decided and tested without sockets.  An entry is a small
 * per-connection header followed by a refcounted body that fan-out shares
 * between every listener of one Send; the event loop only asks for iovecs
 * and reports how many bytes went out. */
#ifndef PANPD_OUTQ_H
#define PANPD_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "list.h"

/* Encoded bytes shared by reference. */
typedef struct blob {
    uint32_t refs;
    size_t len;
    uint8_t data[];
} blob;

blob *blob_new(size_t len); /* one reference */
static inline blob *blob_ref(blob *b) { if (b) b->refs++; return b; }
void blob_unref(blob *b);

typedef enum {
    OUTQ_CONTROL = 0,      /* responses, errors, events: may use the allowance */
    OUTQ_NOTIFY_UNI = 1,   /* droppable: the listener sees a sequence gap */
    OUTQ_CONVERSATION = 2  /* bidirectional traffic: refusal closes the conversation */
} outq_kind;

typedef struct outq_entry {
    list_node link;
    uint8_t kind;          /* outq_kind */
    bool pooled;           /* came from an outq_pool (hdr has OUTQ_POOL_HDR bytes) */
    uint16_t hdr_len;
    uint32_t len;          /* hdr_len + body->len */
    uint64_t channel_id;   /* 0 when the entry belongs to no channel */
    uint64_t tag;          /* registration serial (unidirectional) or conversation id */
    blob *body;            /* may be NULL */
    uint8_t hdr[];
} outq_entry;

/* Entries whose header fits OUTQ_POOL_HDR bytes (a Notify head without
 * client state, a Sent) are recycled through a free list the core keeps
 * for all its queues: fan-out queues one per listener per Send, and a
 * malloc/free pair each was a sixth of the broker's work (bench/README.md).
 * The list keeps at most OUTQ_POOL_KEEP entries (96 bytes each, ~6 MiB):
 * what the busiest moment had queued at once, which that moment needed
 * anyway; beyond it entries go back to the heap. */
#define OUTQ_POOL_HDR 48
#define OUTQ_POOL_KEEP 65536
typedef struct outq_pool {
    outq_entry *free;      /* singly linked through link.next */
    size_t nfree;
} outq_pool;

void outq_pool_init(outq_pool *p);
void outq_pool_free(outq_pool *p);

typedef struct outq {
    list_node entries;
    outq_pool *pool;  /* may be NULL: every entry is malloc'd */
    size_t bytes;     /* total length of the queued entries */
    size_t head_off;  /* bytes of the first entry already written */
    size_t count;
} outq;

typedef enum {
    OUTQ_ADMIT = 0,
    OUTQ_FULL = 1,     /* a notification or conversation frame does not fit */
    OUTQ_OVERFLOW = 2  /* a control frame does not fit even in the allowance */
} outq_verdict;

void outq_init(outq *q, outq_pool *pool);
void outq_free(outq *q);
static inline bool outq_empty(const outq *q) { return q->count == 0; }

/* The policy: data frames must fit in max_bytes, control frames in
 * max_bytes + allowance. */
outq_verdict outq_check(const outq *q, outq_kind kind, size_t len, size_t max_bytes,
                        size_t allowance);

/* Appends hdr (copied) + body (referenced).  Returns -1 when out of memory
 * or when hdr_len or the entry's length exceed what an entry records (64 KiB
 * of header, 4 GiB in all; frames are far smaller). */
int outq_push(outq *q, outq_kind kind, uint64_t channel_id, uint64_t tag, const uint8_t *hdr,
              size_t hdr_len, blob *body);
/* The same with the header in two parts (a Notify's prefix and fields). */
int outq_push2(outq *q, outq_kind kind, uint64_t channel_id, uint64_t tag, const uint8_t *hdr1,
               size_t len1, const uint8_t *hdr2, size_t len2, blob *body);

/* The unwritten bytes as iovecs; returns how many were filled. */
int outq_iov(const outq *q, struct iovec *iov, int max);
/* n bytes were written. */
void outq_consume(outq *q, size_t n);

/* Removes every entry pred accepts, except a partially written first entry
 * (its bytes are already on the wire, so the frame must be finished).
 * Returns how many were removed. */
typedef bool (*outq_pred)(const outq_entry *e, const void *arg);
size_t outq_discard(outq *q, outq_pred pred, const void *arg);
/* Keeps only a partially written first entry. */
void outq_clear(outq *q);

#endif
