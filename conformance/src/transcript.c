/* transcript.c - bounded per-case wire log. */
#include "transcript.h"

#include <stdlib.h>
#include <string.h>

void pc_tr_init(pc_transcript *tr, int64_t t0_us)
{
    memset(tr, 0, sizeof(*tr));
    tr->t0_us = t0_us;
}

static void entry_free(pc_tr_entry *e)
{
    free(e->who);
    free(e->text);
    memset(e, 0, sizeof(*e));
}

void pc_tr_add(pc_transcript *tr, int64_t now_us, const char *who, char dir, const char *text)
{
    pc_tr_entry e = {now_us - tr->t0_us, pc_xstrdup(who), dir, pc_xstrdup(text)};
    if (tr->nhead < PC_TR_HEAD) {
        tr->head[tr->nhead++] = e;
        return;
    }
    pc_tr_entry *slot = &tr->tail[tr->tail_pos];
    if (tr->ntail == PC_TR_TAIL) {
        entry_free(slot);
        tr->dropped++;
    } else {
        tr->ntail++;
    }
    *slot = e;
    tr->tail_pos = (tr->tail_pos + 1) % PC_TR_TAIL;
}

static void render_one(const pc_tr_entry *e, sbuf *out, const char *indent)
{
    const char *arrow = e->dir == '>' ? "->" : e->dir == '<' ? "<-" : "--";
    sbuf_printf(out, "%s%9.3fms %-14s %s %s\n", indent, (double)e->t_us / 1000.0, e->who, arrow, e->text);
}

void pc_tr_render(const pc_transcript *tr, sbuf *out, const char *indent)
{
    for (size_t i = 0; i < tr->nhead; i++) render_one(&tr->head[i], out, indent);
    if (tr->dropped) sbuf_printf(out, "%s... %zu entries elided ...\n", indent, tr->dropped);
    size_t start = tr->ntail == PC_TR_TAIL ? tr->tail_pos : 0;
    for (size_t i = 0; i < tr->ntail; i++) render_one(&tr->tail[(start + i) % PC_TR_TAIL], out, indent);
}

void pc_tr_free(pc_transcript *tr)
{
    for (size_t i = 0; i < tr->nhead; i++) entry_free(&tr->head[i]);
    for (size_t i = 0; i < tr->ntail; i++) entry_free(&tr->tail[i]);
    tr->nhead = tr->ntail = tr->dropped = 0;
}
