/* fmt.h - the few printf conversions the codec's messages use, without
 * the C library's printf (2.5 KiB of flash on a Cortex-M, and its stack). */
#ifndef PANP_FMT_H
#define PANP_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Like vsnprintf for %s %d %u %zu %lld %llu %% only (no flags, widths or
 * precisions): always NUL-terminates when cap > 0, truncates silently,
 * returns the length written. */
size_t fmt_v(char *out, size_t cap, const char *fmt, va_list ap);
size_t fmt_s(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* PANP_FMT_H */
