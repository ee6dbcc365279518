/* size.h - canonical encoded size of a frame view (see size.c). */
#ifndef PANP_SIZE_H
#define PANP_SIZE_H

#include "panp/codec.h"

/* Bytes panp_encode() produces for f (no length prefix).  f must be valid
 * (panp_validate); for invalid views the result means nothing. */
size_t view_size(const panp_frame *f);

/* The body submessage's size alone (what follows its tag and length). */
size_t view_body_size(const panp_frame *f);

#endif /* PANP_SIZE_H */
