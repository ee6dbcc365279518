/* transcript.h - the wire log of one case: every frame in and out, per
 * connection, with the time since the case started.
 *
 * Shown in full when a case fails, so the reader sees what the broker was
 * sent and what it answered without rerunning anything.  Long transcripts
 * (bulk tests) keep their head and their tail and say how much was cut. */
#ifndef PC_TRANSCRIPT_H
#define PC_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define PC_TR_HEAD 1500
#define PC_TR_TAIL 500

typedef struct pc_tr_entry {
    int64_t t_us;   /* since the case started */
    char *who;      /* connection label, or "suite" */
    char dir;       /* '>' suite to peer, '<' peer to suite, '-' note */
    char *text;
} pc_tr_entry;

typedef struct pc_transcript {
    pc_tr_entry head[PC_TR_HEAD];
    size_t nhead;
    pc_tr_entry tail[PC_TR_TAIL]; /* ring once head is full */
    size_t ntail, tail_pos;
    size_t dropped;
    int64_t t0_us;
} pc_transcript;

void pc_tr_init(pc_transcript *tr, int64_t t0_us);
void pc_tr_add(pc_transcript *tr, int64_t now_us, const char *who, char dir, const char *text);
/* Appends the transcript as aligned text lines, each prefixed by indent. */
void pc_tr_render(const pc_transcript *tr, sbuf *out, const char *indent);
void pc_tr_free(pc_transcript *tr);

#endif
