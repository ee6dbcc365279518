/* ops.h - the protocol's operations as one-line steps for cases.
 *
 * Each helper sends a request, waits for its response and FAILs (citing
 * the requirement given, or the natural one) when the broker answers
 * anything else, showing the frame it got.  The _err variants expect an
 * Error with a given code instead. */
#ifndef PC_OPS_H
#define PC_OPS_H

#include "conn.h"

typedef struct pc_reg {
    pc_conn *c;
    uint8_t handle[PANP_HANDLE_MAX_LEN];
    size_t hlen;
    uint32_t lease;
} pc_reg;

panp_target pc_server(void);
panp_target pc_printer(const char *name);
panp_bytes pc_b(const void *p, size_t n);
panp_bytes pc_s(const char *s);  /* a C string's bytes, without the NUL */
panp_bytes pc_uuid(const uint8_t *u);

/* b holds exactly the n bytes at p (NULL-safe for empty values). */
bool pc_bytes_eq(panp_bytes b, const void *p, size_t n);

/* Text of a frame, for messages. */
const char *pc_frame_text(pc_t *t, const panp_frame *f);

/* Request / response. */
const panp_frame *pc_call(pc_conn *c, panp_frame *f, const char *req);
const panp_frame *pc_call_expect(pc_conn *c, panp_frame *f, panp_body_kind kind, const char *req);
/* Expects Error{code} (and fatal as given); field, when non-NULL, is what
 * Error.field must name ([PANP-ERR-9]). */
const panp_frame *pc_call_error(pc_conn *c, panp_frame *f, panp_error_code code, const char *req,
                                const char *field);
void pc_check_error(pc_conn *c, const panp_frame *got, panp_error_code code, bool fatal, const char *req,
                    const char *field);

/* A fatal Error answering request rid (0: a frame that could not be
 * decoded), then at most a Goodbye(PROTOCOL_ERROR), then the close. */
void pc_expect_fatal(pc_conn *c, uint64_t rid, panp_error_code code, const char *req, const char *field);
/* After the fatal Error err: nothing but an optional Goodbye(PROTOCOL_ERROR),
 * then EOF (frames received before err do not matter). */
void pc_expect_close_after_fatal(pc_conn *c, const panp_frame *err, const char *req);
/* The broker closes without having sent a single byte. */
void pc_expect_silent_close(pc_conn *c, const char *req);
bool pc_m_error_rid0(const panp_frame *f, const void *unused);

/* Registrations. */
pc_reg pc_register(pc_conn *c, panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st);
pc_reg pc_register_x(pc_conn *c, const panp_register *r, const char *req);
void pc_register_err(pc_conn *c, const panp_register *r, panp_error_code code, const char *req, const char *field);
void pc_unregister(pc_reg *r);
panp_register pc_reg_args(panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st);

/* Channels. */
uint64_t pc_open(pc_conn *c, panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st);
uint64_t pc_open_x(pc_conn *c, const panp_open_channel *o, const char *req);
void pc_open_err(pc_conn *c, const panp_open_channel *o, panp_error_code code, const char *req, const char *field);
panp_open_channel pc_open_args(panp_target tg, const uint8_t *type, panp_user_filter uf, panp_style st);
panp_sent pc_notify(pc_conn *c, uint64_t chan, const uint8_t *type, const char *payload, const char *req);
void pc_notify_err(pc_conn *c, uint64_t chan, const uint8_t *type, const char *payload, panp_error_code code,
                   const char *req);
/* Reply on a conversation; expects the broker's acceptance (any non-Error). */
void pc_reply(pc_conn *c, uint64_t conv, const uint8_t *type, const char *payload, const char *req);
/* CloseChannel by the sender (chan) or a listener (conv != 0); returns the outcome. */
panp_close_outcome pc_close_channel(pc_conn *c, uint64_t chan, uint64_t conv, const uint8_t *reason_type,
                                    const char *reason_payload, const char *req);
panp_frame pc_close_frame(uint64_t chan, uint64_t conv, const uint8_t *reason_type, const char *reason_payload);

/* Events. */
const panp_notify *pc_await_notify(pc_conn *c, uint64_t chan, uint64_t seq, const char *req);
/* A ChannelClosed for chan (and conv when non-zero) with the given reason
 * (0: any reason). */
const panp_channel_closed *pc_await_closed(pc_conn *c, uint64_t chan, uint64_t conv, panp_close_reason reason,
                                           const char *req);
const panp_reply_delivery *pc_await_reply_delivery(pc_conn *c, uint64_t chan, const char *req);

/* Matchers. */
typedef struct pc_chan_match {
    uint64_t chan;
    uint64_t conv;   /* 0: any */
    uint64_t seq;    /* 0: any */
    bool any_chan;
} pc_chan_match;
bool pc_m_notify(const panp_frame *f, const void *arg);    /* arg: pc_chan_match */
bool pc_m_closed(const panp_frame *f, const void *arg);    /* arg: pc_chan_match */
bool pc_m_any_notify(const panp_frame *f, const void *unused);
bool pc_m_any_closed(const panp_frame *f, const void *unused);

/* No Notify / ChannelClosed of channel chan on c (after barriers). */
void pc_assert_no_notify(pc_conn *c, uint64_t chan, const char *req);
void pc_assert_no_closed(pc_conn *c, uint64_t chan, const char *req);
/* Barrier on the acting connection, then on each observer. */
void pc_settle(pc_conn *actor, pc_conn **observers, size_t n);

#endif
