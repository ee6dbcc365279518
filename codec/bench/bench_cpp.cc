// bench_cpp.cc - Google's C++ protobuf on the same frames: the speed
// reference for bench_codec.c.  Counts operator new calls (libprotobuf's
// allocations included: the executable's operator new interposes).
#include <cstdlib>
#include <new>

#include "bench_cpp.h"
#include "panp/v1/panp.pb.h"

static size_t news;

void *operator new(size_t n)
{
    news++;
    void *p = std::malloc(n ? n : 1);
    if (!p)
        throw std::bad_alloc();
    return p;
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, size_t) noexcept { std::free(p); }

static panp::v1::Frame reused;

extern "C" void bench_cpp_prepare(const uint8_t *bytes, size_t len)
{
    reused.ParseFromArray(bytes, static_cast<int>(len));
}

extern "C" bool bench_cpp_parse(const uint8_t *bytes, size_t len)
{
    return reused.ParseFromArray(bytes, static_cast<int>(len));
}

extern "C" bool bench_cpp_parse_fresh(const uint8_t *bytes, size_t len)
{
    panp::v1::Frame f;
    return f.ParseFromArray(bytes, static_cast<int>(len));
}

extern "C" size_t bench_cpp_serialize(uint8_t *out, size_t cap)
{
    size_t n = reused.ByteSizeLong();
    if (n > cap || !reused.SerializeToArray(out, static_cast<int>(cap)))
        return 0;
    return n;
}

extern "C" size_t bench_cpp_allocs(void) { return news; }
