/* text.h - the string rule of the wire profile: valid UTF-8, no NUL. */
#ifndef PANP_TEXT_H
#define PANP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Returns len when p[0..len) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) without a NUL byte;
 * otherwise the offset of the first offending byte, with *why set to a
 * short reason. */
size_t text_check(const uint8_t *p, size_t len, const char **why);

#endif /* PANP_TEXT_H */
