/* Shared helpers for the asyncsync benchmarks: options, clocks, statistics,
 * result files (CSV, markdown snippets, target rows) and a minimal io_uring
 * loop that hosts an as_loop.  SPDX-License-Identifier: MIT
 *
 * Every benchmark program:
 *   - parses the common options (bench_parse);
 *   - runs each variant once per repetition, variants interleaved within a
 *     repetition so that slow drifts of the machine hit them all alike;
 *   - stores one value per variant and repetition (res_add) and reports the
 *     median over repetitions (res_median);
 *   - prints markdown tables to stdout as it goes and copies them into
 *     <out>/<name>.md, writes <out>/<name>.csv, and one row per target into
 *     <out>/targets_<name>.csv and <out>/targets_<name>.md.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <asyncsync.h>
#include <liburing.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* ---- options ---- */

enum { BK_URING = 0, BK_GENERIC = 1, BK_COUNT = 2 };
extern const char *const bk_name[BK_COUNT];

#define MAX_REPS 64

struct bench_opts {
    bool smoke;          /* --smoke: one tiny repetition, nothing judged */
    int reps;            /* --reps N (default 5; 1 with --smoke) */
    double ms;           /* --ms N: base measurement window in ms */
    const char *out;     /* --out DIR: where result files go ("" = none) */
    bool backend[BK_COUNT]; /* --backend uring|generic|both */
    const char *only;    /* --only NAME: a program-specific selector */
    long count;          /* --count N: a program-specific count */
};

/* Parse the common options.  Exits with a usage message on bad input.
 * `extra` describes program-specific meanings of --only / --count. */
void bench_parse(int argc, char **argv, struct bench_opts *o, const char *name,
                 const char *extra);

/* --rings: the setup flags of every bloop's ring (0: a plain ring).  With
 * neither COOP_TASKRUN nor DEFER_TASKRUN a completion for a thread that is
 * running (a wake of a busy loop) interrupts it (an IPI); the application
 * chooses, so the benchmarks measure plain rings unless asked. */
extern unsigned bench_ring_flags;

/* Is the backend selected and usable on this machine?  (Probes once.) */
bool backend_enabled(const struct bench_opts *o, int bk);

/* ---- clocks ---- */

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the whole process (all threads), ns. */
static inline uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Voluntary + involuntary context switches of the process so far. */
long ctx_switches(void);

/* Resident set size of the process, bytes (from /proc/self/statm). */
long rss_bytes(void);

/* Sleep for `ms` milliseconds: only ever used to time a measurement window
 * in a thread that takes no part in it, never to synchronize. */
void sleep_ms(double ms);

/* Pin the calling thread to CPU (cpu % online CPUs).  Best effort. */
void pin_cpu(int cpu);
int online_cpus(void);

/* ---- a measurement window over worker threads ----
 *
 * The main thread starts the workers (window_start); each announces itself
 * and waits for the window to open (window_enter), then works until the
 * window closes (window_closed).  window_time waits for every worker, opens
 * the window, times it (the main thread sleeps: it takes no part), closes
 * it and returns what the process spent meanwhile; window_join joins.  The
 * workers count up to when they see the close: a few operations past the
 * window at most, negligible in a window of this length. */
enum { WINDOW_MAX_THREADS = 16 };

struct window {
    _Alignas(64) _Atomic int ready;
    _Atomic int go;
    _Atomic int stop;
    int n;
    pthread_t th[WINDOW_MAX_THREADS];
};

struct window_span {
    uint64_t wall_ns, cpu_ns; /* elapsed, and CPU time of the process */
    long csw;                 /* context switches of the process */
};

/* Start n threads running fn(args + i * stride), i = 0..n-1. */
void window_start(struct window *w, int n, void *(*fn)(void *), void *args,
                  size_t stride);
void window_enter(struct window *w);
static inline bool window_closed(struct window *w)
{
    return atomic_load_explicit(&w->stop, memory_order_relaxed) != 0;
}
struct window_span window_time(struct window *w, double ms);
void window_join(struct window *w);

/* ---- statistics ---- */

void sort_u64(uint64_t *v, size_t n);
/* Nearest-rank percentile of a sorted array, p in [0, 1]. */
uint64_t pct_u64(const uint64_t *sorted, size_t n, double p);
double median_d(const double *v, int n);

/* One value per repetition for each named measurement. */
struct res_entry {
    char key[96];
    double v[MAX_REPS];
    int n;
};
struct results {
    struct res_entry *e;
    int n, cap;
};

void res_add(struct results *r, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Median over repetitions; NAN when nothing was recorded under that key. */
double res_median(const struct results *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
double res_min(const struct results *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
double res_max(const struct results *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int res_count(const struct results *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Every repetition's value, in the order recorded (*n of them); NULL and
 * *n = 0 when nothing was recorded under that key. */
const double *res_values(const struct results *r, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void res_free(struct results *r);

/* ---- the machine's state ----
 *
 * What the CPUs could give a benchmark at the time it ran, so that a reader
 * can tell a run on truly parallel CPUs from one on time-shared CPUs (other
 * jobs, an overcommitted host).  Two measurements, each with threads pinned
 * to CPUs 0 and 1:
 *   - parallel progress: a thread spins alone (calibration: its best rate
 *     over 200 us slices is "full speed"), then two threads spin together
 *     for a fixed wall time; each one's progress is the work it did over
 *     what full speed would have done in that time.  On parallel CPUs both
 *     make ~1.0; on two CPUs time-shared with one other job each, ~0.5;
 *   - cache-line round trip: the two threads ping-pong one cache line
 *     (spinning) for a fixed wall time; ns per round trip, the median of
 *     batches of 32 round trips, the best batch, and the mean over the
 *     whole window (which holds the waits for a descheduled thread).
 * Also the CPU time stolen by the hypervisor meanwhile (/proc/stat), the
 * load average and the runnable tasks (/proc/loadavg).  About 0.3 s (30 ms
 * with smoke) on an idle machine. */
struct machine_state {
    int cpus;              /* online CPUs */
    int cpu[2];            /* where the two threads ran (-1: unknown) */
    double window_ms;      /* the two-thread spin window */
    double progress[2];    /* each thread's share of full speed */
    double rt_median_ns;   /* cache-line round trip, median batch */
    double rt_best_ns;     /* best batch */
    double rt_mean_ns;     /* whole window / round trips */
    uint64_t rt_count;     /* round trips completed in the window */
    double steal_pct;      /* % of CPU time stolen meanwhile; NAN unknown */
    double load1;          /* 1-minute load average at the start */
    int runnable;          /* runnable tasks at the start, this one included */
    bool parallel;         /* both threads made >= MACHINE_PARALLEL */
};
#define MACHINE_PARALLEL 0.8

void machine_measure(struct machine_state *m, bool smoke);
/* "parallel" or "time-shared" */
const char *machine_verdict(const struct machine_state *m);
/* One line of text: the numbers behind the verdict. */
const char *machine_describe(const struct machine_state *m, char *buf,
                             size_t n);
/* CSV: the header line, and one row labelled `when`. */
void machine_csv_header(FILE *f);
void machine_csv_row(FILE *f, const char *when, const struct machine_state *m);

/* ---- output ---- */

/* Open <out>/<file> for writing, or NULL when no output directory was given. */
FILE *out_open(const struct bench_opts *o, const char *file);

/* A report: markdown text printed to stdout and copied to <out>/<name>.md. */
struct report {
    FILE *md;
};
void report_open(struct report *rp, const struct bench_opts *o,
                 const char *name);
void rprintf(struct report *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report_close(struct report *rp);

/* Target rows.  met: 1 yes, 0 no, -1 not judged (smoke or unavailable). */
struct targets {
    FILE *csv, *md;
    bool smoke;
};
void targets_open(struct targets *t, const struct bench_opts *o,
                  const char *name);
void target_row(struct targets *t, const char *id, const char *target,
                int met, const char *measured_fmt, ...)
    __attribute__((format(printf, 5, 6)));
void targets_close(struct targets *t);

/* Format a rate (per second) or a duration (ns) with a unit. */
const char *fmt_rate(char *buf, size_t n, double per_s);
const char *fmt_ns(char *buf, size_t n, double ns);
/* A range of rates in the unit of the larger: "10.12-13.03 M/s". */
const char *fmt_rate_range(char *buf, size_t n, double lo, double hi);

/* ---- a loop for the benchmarks ----
 *
 * One thread owns a ring and the as_loop bound to it.  An iteration is
 * as_loop_run(); then bloop_poll(): submit (blocking for at least one CQE
 * only when asked) and offer every CQE to as_loop_handle_cqe, the rest to
 * on_cqe. */
struct bloop {
    struct io_uring ring;
    as_loop loop;
    int backend;
    void (*on_cqe)(struct bloop *b, const struct io_uring_cqe *cqe);
    void *ctx;
};

/* 0, or a negative errno (printed).  Dies if the backend is not the one
 * asked for. */
int bloop_init(struct bloop *b, int backend);
/* The same with as_loop_options.flags = flags (AS_LOOP_*). */
int bloop_init_flags(struct bloop *b, int backend, uint32_t flags);
/* Submit; wait for one CQE if `block`; reap every CQE.  Returns the number
 * of CQEs reaped. */
unsigned bloop_poll(struct bloop *b, bool block);
/* as_loop_destroy (feeding CQEs while it says -EAGAIN), then the ring. */
void bloop_fini(struct bloop *b);

/* An SQE, submitting to make room if the SQ is full. */
struct io_uring_sqe *bloop_sqe(struct bloop *b);

/* Does the kernel support IORING_OP_FUTEX_WAIT/WAKE (Linux 6.7+)? */
bool kernel_has_uring_futex(void);

/* Hand-filled futex SQEs, same layout as src/backend/uring.c (liburing 2.3
 * has no helpers): fd = futex2 flags, addr = word, off = value, addr3 =
 * bitset.  Shared futex keys (no FUTEX2_PRIVATE), as the library uses. */
#define BENCH_IORING_OP_FUTEX_WAIT 51
#define BENCH_IORING_OP_FUTEX_WAKE 52
void prep_futex_wait(struct io_uring_sqe *sqe, uint32_t *word, uint32_t expected);
void prep_futex_wake(struct io_uring_sqe *sqe, uint32_t *word, uint32_t n);

/* Die with a message (benchmarks do not recover from setup errors). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Die if r < 0 (a library call that must not fail). */
void check(int r, const char *what);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
