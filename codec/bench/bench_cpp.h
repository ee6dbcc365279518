/* bench_cpp.h - the C++ protobuf reference, callable from C. */
#ifndef PANP_BENCH_CPP_H
#define PANP_BENCH_CPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses bytes once into the reused message (the serialize source). */
void bench_cpp_prepare(const uint8_t *bytes, size_t len);
bool bench_cpp_parse(const uint8_t *bytes, size_t len);       /* into a reused message */
bool bench_cpp_parse_fresh(const uint8_t *bytes, size_t len); /* into a new message */
size_t bench_cpp_serialize(uint8_t *out, size_t cap);         /* the prepared message */
size_t bench_cpp_allocs(void);                                /* operator new calls so far */

#ifdef __cplusplus
}
#endif

#endif
