/* list.h - intrusive circular doubly-linked lists.
 *
 * The core keeps every object on several lists at once (a registration is
 * on its connection's list, its match bucket and the broker-wide listing
 * order), so the links live inside the objects and unlinking is O(1)
 * without a search. */
#ifndef PANPD_LIST_H
#define PANPD_LIST_H

#include <stddef.h>

typedef struct list_node {
    struct list_node *prev, *next;
} list_node;

#define list_entry(node, type, member) ((type *)((char *)(node) - offsetof(type, member)))

static inline void list_init(list_node *head) { head->prev = head->next = head; }
static inline int list_empty(const list_node *head) { return head->next == head; }
/* A node that was initialised or removed is "detached": safe to remove again. */
static inline int list_linked(const list_node *n) { return n->next != n && n->next != NULL; }

static inline void list_add_tail(list_node *head, list_node *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void list_remove(list_node *n)
{
    if (n->next == NULL || n->next == n) return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

/* Safe against removal of the current node. */
#define list_for_each_safe(pos, tmp, head) \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#endif
