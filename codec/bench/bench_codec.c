/* bench_codec.c - encode and decode+validate timings for both backends,
 * next to Google's C++ protobuf parsing the same bytes in the same run.
 *
 * Frames: a typical Notify (256-byte payload, sender, printer target) and
 * a Register.  For each operation: R runs of N iterations after a warm-up,
 * pinned to one CPU when possible; the median ns/frame and the spread
 * (min..max over runs) are printed, with heap allocations per operation
 * (counted through -Wl,--wrap=malloc for everything linked statically: our
 * code, the generated code and nanopb; protobuf-c itself allocates only
 * through our arena).  Outputs are checked equal before anything is timed.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_cpp.h"
#include "panp/codec.h"

/* ---- allocation counting --------------------------------------------------*/
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
static unsigned long allocs;
void *__wrap_malloc(size_t n)
{
    allocs++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    allocs++;
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    allocs++;
    return __real_realloc(p, n);
}

/* ---- frames -----------------------------------------------------------------*/
static uint8_t payload[256];
static const uint8_t handle[16] = {0x5a, 0x1e, 0x9c, 0x03, 0x77, 0xd2, 0x41, 0x8b,
                                   0x0f, 0xe6, 0x2d, 0xb4, 0x93, 0x60, 0xc8, 0x15};

static void make_notify(panp_frame *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 37 + 11);
    f->kind = PANP_BODY_NOTIFY;
    panp_notify *n = &f->body.notify;
    n->registration = (panp_bytes){handle, 16};
    n->client_state = (panp_bytes){(const uint8_t *)"opaque-listener-cookie", 22};
    n->channel_id = 21474836481ull;
    n->sequence = 1234;
    n->notification_type = (panp_bytes){PANP_TYPE_ASYNC_UI, 16};
    n->style = PANP_STYLE_UNIDIRECTIONAL;
    n->has_sender = true;
    n->sender.user = "svc-filter";
    n->sender.job_id = 4711;
    n->sender.job_owner = "carol";
    n->target.kind = PANP_TARGET_PRINTER;
    n->target.printer = "Office-2F";
    n->payload = (panp_bytes){payload, sizeof payload};
}

static void make_register(panp_frame *f)
{
    memset(f, 0, sizeof *f);
    f->kind = PANP_BODY_REGISTER;
    f->request_id = 2;
    panp_register *r = &f->body.register_listener;
    r->target.kind = PANP_TARGET_PRINTER;
    r->target.printer = "Office-2F";
    r->notification_type = (panp_bytes){PANP_TYPE_ASYNC_UI, 16};
    r->user_filter = PANP_USER_FILTER_PER_USER;
    r->style = PANP_STYLE_BIDIRECTIONAL;
    r->lease_seconds = 3600;
    r->client_state = (panp_bytes){(const uint8_t *)"opaque-listener-cookie", 22};
}

/* ---- timing ------------------------------------------------------------------*/
enum { RUNS = 15 };

typedef struct result {
    double median, min, max, allocs;
} result;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct job {
    const uint8_t *in;
    size_t len;
    const panp_frame *frame;
    panp_backend backend;
    uint8_t *out;
    size_t cap;
    void *storage;
    size_t storage_size;
} job;

typedef int (*op_fn)(job *j);

static int op_encode(job *j)
{
    size_t n;
    return panp_encode(j->backend, j->frame, j->out, j->cap, &n, NULL);
}

static int op_decode(job *j)
{
    panp_decode_opts o = {j->backend, PANP_PEER_ANY, 0};
    panp_frame *f;
    int rc = panp_decode(&o, j->in, j->len, &f, NULL);
    panp_frame_free(f);
    return rc;
}

static int op_decode_into(job *j)
{
    panp_decode_opts o = {j->backend, PANP_PEER_ANY, 0};
    panp_frame f;
    return panp_decode_into(&o, j->in, j->len, j->storage, j->storage_size, &f, NULL);
}

static int op_cpp_parse(job *j)
{
    return !bench_cpp_parse(j->in, j->len);
}

static int op_cpp_parse_fresh(job *j)
{
    return !bench_cpp_parse_fresh(j->in, j->len);
}

static int op_cpp_serialize(job *j)
{
    return !bench_cpp_serialize(j->out, j->cap);
}

/* One row of the table: an operation on a job. */
typedef struct row {
    const char *what;
    op_fn op;
    job j;
    bool ratio; /* print the ratio to the C++ parse */
    double runs[RUNS];
    result r;
} row;

static bool run_once(row *w, long iters)
{
    for (long i = 0; i < iters; i++)
        if (w->op(&w->j))
            return false;
    return true;
}

/* Runs are interleaved (run k of every row, then run k+1 ...), so noise
 * from other processes on the machine hits every row alike. */
static void measure_all(row *rows, size_t n, long iters)
{
    for (size_t i = 0; i < n; i++) {
        for (long k = 0; k < iters / 4; k++) /* warm-up */
            if (rows[i].op(&rows[i].j))
                abort();
        unsigned long a0 = allocs;
        size_t c0 = bench_cpp_allocs();
        if (rows[i].op(&rows[i].j))
            abort();
        rows[i].r.allocs = (double)(allocs - a0) + (double)(bench_cpp_allocs() - c0);
    }
    for (int k = 0; k < RUNS; k++)
        for (size_t i = 0; i < n; i++) {
            double t0 = now_ns();
            if (!run_once(&rows[i], iters))
                abort();
            rows[i].runs[k] = (now_ns() - t0) / iters;
        }
    for (size_t i = 0; i < n; i++) {
        qsort(rows[i].runs, RUNS, sizeof(double), cmp_double);
        rows[i].r.median = rows[i].runs[RUNS / 2];
        rows[i].r.min = rows[i].runs[0];
        rows[i].r.max = rows[i].runs[RUNS - 1];
    }
}

static void print_row(const char *what, result r, double ref)
{
    printf("  %-48s %8.1f ns  [%6.1f .. %6.1f]  %4.1f allocs", what, r.median, r.min, r.max,
           r.allocs);
    if (ref > 0)
        printf("   %.2fx C++ parse", r.median / ref);
    printf("\n");
}

static void bench_frame(const char *name, const panp_frame *f, long iters)
{
    static uint8_t bytes[2048], out[2][2048];
    size_t len;
    if (panp_encode(PANP_BACKEND_PROTOBUF_C, f, bytes, sizeof bytes, &len, NULL))
        abort();
    /* outputs equal before timing: both backends, and C++ re-serialises
     * the same bytes */
    for (int b = 1; b <= 2; b++) {
        size_t n;
        if (panp_encode((panp_backend)b, f, out[0], sizeof out[0], &n, NULL) || n != len ||
            memcmp(out[0], bytes, n) != 0)
            abort();
    }
    bench_cpp_prepare(bytes, len);
    if (!bench_cpp_parse(bytes, len) || bench_cpp_serialize(out[0], sizeof out[0]) != len ||
        memcmp(out[0], bytes, len) != 0)
        abort();
    printf("%s (%zu bytes on the wire), %ld iterations x %d interleaved runs, median [min .. max]\n",
           name, len, iters, RUNS);
    job base = {bytes, len, f, PANP_BACKEND_PROTOBUF_C, out[0], sizeof out[0], NULL, 0};
    row rows[9];
    size_t n = 0;
    rows[n++] = (row){.what = "C++ protobuf ParseFromArray (reused message)", .op = op_cpp_parse, .j = base, .ratio = false};
    rows[n++] = (row){.what = "C++ protobuf ParseFromArray (new message)", .op = op_cpp_parse_fresh, .j = base, .ratio = true};
    rows[n++] = (row){.what = "C++ protobuf SerializeToArray", .op = op_cpp_serialize, .j = base, .ratio = false};
    static const char *names[3] = {"", "protobuf-c", "nanopb"};
    static char labels[2][3][80];
    for (int b = 1; b <= 2; b++) {
        job j = base;
        j.backend = (panp_backend)b;
        j.out = out[b - 1];
        j.storage_size = panp_decode_storage_size(j.backend, PANP_BODY_NONE, len);
        j.storage = aligned_alloc(64, (j.storage_size + 63) / 64 * 64);
        snprintf(labels[b - 1][0], 80, "panp %s decode+validate", names[b]);
        snprintf(labels[b - 1][1], 80, "panp %s decode+validate, caller storage", names[b]);
        snprintf(labels[b - 1][2], 80, "panp %s validate+encode", names[b]);
        rows[n++] = (row){.what = labels[b - 1][0], .op = op_decode, .j = j, .ratio = true};
        rows[n++] = (row){.what = labels[b - 1][1], .op = op_decode_into, .j = j, .ratio = true};
        rows[n++] = (row){.what = labels[b - 1][2], .op = op_encode, .j = j, .ratio = false};
    }
    measure_all(rows, n, iters);
    for (size_t i = 0; i < n; i++)
        print_row(rows[i].what, rows[i].r, rows[i].ratio ? rows[0].r.median : 0);
    for (size_t i = 3; i < n; i += 3)
        free(rows[i].j.storage);
    printf("\n");
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
    if (sched_setaffinity(0, sizeof set, &set) == 0)
        printf("pinned to CPU %d\n", sched_getcpu());
    panp_frame f;
    make_notify(&f);
    bench_frame("Notify, 256-byte payload", &f, iters);
    make_register(&f);
    bench_frame("Register", &f, iters);
    return 0;
}
