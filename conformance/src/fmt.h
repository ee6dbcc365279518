/* fmt.h - one-line text forms of frames and values, for transcripts and
 * failure messages ("what was expected, what arrived"). */
#ifndef PC_FMT_H
#define PC_FMT_H

#include "panp/msg.h"
#include "sbuf.h"

/* Appends e.g. `#7 Register{target=printer:"p1" type=f6853f92-... filter=PER_USER ...}`. */
void pc_fmt_frame(sbuf *b, const panp_frame *f);
void pc_fmt_bytes(sbuf *b, panp_bytes v);  /* UUIDs as text, short bytes as hex, long as a count */
void pc_fmt_target(sbuf *b, const panp_target *t);

const char *pc_filter_name(panp_user_filter f);
const char *pc_style_name(panp_style s);
const char *pc_outcome_name(panp_close_outcome o);
const char *pc_goodbye_name(panp_goodbye_reason r);
const char *pc_reg_end_name(panp_reg_end_reason r);

#endif
