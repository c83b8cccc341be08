/*
 * Conformance-suite harness: loops, a callback recorder, loop threads,
 * watchdogs.  Public API only (asyncsync.h) + liburing + pthreads; on
 * Windows (mingw-w64, run under Wine) + an I/O completion port per loop and
 * winpthreads instead of liburing.
 *
 * The same tests run on both: a "ring" loop (TH_RING) is an io_uring loop
 * on Linux and an IOCP loop on Windows (as_loop_init_iocp on a port the
 * harness creates); the harness's own wake-ups and the application's
 * completions are CQEs of its own (eventfd read, NOPs) on Linux and packets
 * it posts with its own completion keys on Windows.  io_uring-only and
 * fork()-only scenarios are compiled out on Windows, nothing else.
 *
 * Rules every test follows:
 *   - never sleep for synchronization: wait for an event (a CQE, a notify,
 *     a condition) with a watchdog deadline, and fail when it passes;
 *   - never hang: every blocking wait has a deadline;
 *   - cmocka assertions only on the main thread; other threads report
 *     through th_fail() (prints and aborts) or atomics checked later;
 *   - errno values compared by name (-EINVAL), never by number.
 */
#ifndef AS_TEST_HARNESS_H
#define AS_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <errno.h>
#include <pthread.h>
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif
#include <cmocka.h>
#ifndef _WIN32
#include <liburing.h>
#endif

#include <asyncsync.h>

/* printf-style checking; mingw-w64's stdio is the C99 one (_GNU_SOURCE). */
#ifdef __MINGW32__
#define TH_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define TH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* Default watchdog for one "this must happen" wait, in seconds. */
#define TH_TIMEOUT 5.0
/* Short window used to check that something does NOT happen. */
#define TH_QUIET 0.05

/* ---------------------------------------------------------------------------
 * Failure reporting.
 * ------------------------------------------------------------------------- */

/* Main thread: cmocka failure (longjmp out of the test).  Other threads, or
 * when th_abort_on_fail is set (tests with live threads): print and abort().
 * In a fork()ed child (th_child_mode): print and _exit(TH_CHILD_FAIL). */
void th_fail_at(const char *file, int line, const char *fmt, ...)
    TH_PRINTF(3, 4) __attribute__((noreturn));
#define th_fail(...) th_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define TH_CHECK(cond, ...) \
    do { if (!(cond)) th_fail_at(__FILE__, __LINE__, "check failed: " #cond ": " __VA_ARGS__); } while (0)
/* Equality of two ints with both values printed; usable on any thread. */
#define TH_EQ(a, b) \
    do { long long th_a_ = (long long)(a), th_b_ = (long long)(b); \
         if (th_a_ != th_b_) th_fail_at(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
                                        #a, th_a_, #b, th_b_); } while (0)

/* Return code check with errno names: TH_RC(as_sem_release(&s, 0), -EINVAL). */
#define TH_RC(expr, want) \
    do { int th_r_ = (int)(expr), th_w_ = (int)(want); \
         if (th_r_ != th_w_) th_fail_at(__FILE__, __LINE__, "%s returned %s, expected %s", \
                                        #expr, th_errname(th_r_), th_errname(th_w_)); } while (0)

extern atomic_bool th_abort_on_fail;
extern bool th_child_mode;
#define TH_CHILD_FAIL 99

/* Test-size multiplier: env TH_SCALE (default 1), shrunk under sanitizers. */
double th_scale(void);
int th_scaled(int n);           /* max(1, n * th_scale()) */
double th_now(void);            /* CLOCK_MONOTONIC seconds */
/* Zeroed heap memory (64-byte aligned on Linux; as_loop needs no particular
 * alignment); free() it. */
void *th_zalloc(size_t size);
/* errno name for messages, e.g. "-EBUSY". */
const char *th_errname(int err);

/* ---------------------------------------------------------------------------
 * Loops.
 * ------------------------------------------------------------------------- */

typedef enum th_kind {
    TH_RING = 0,        /* as_loop_init_uring: backend from ASYNCSYNC_BACKEND;
                           Windows: as_loop_init_iocp on the harness's port */
    TH_NOTIFY_EFD = 1,  /* as_loop_init_generic, notify writes an eventfd that
                           is read-armed on the harness's own ring; Windows:
                           notify posts a packet to the harness's own port */
    TH_NOTIFY_COND = 2, /* as_loop_init_generic, notify signals a pthread
                           cond; as_loop_run is called ONLY after a notify
                           (strict: a missing notify is a hang -> failure) */
} th_kind;

extern th_kind th_kind_values[3];   /* addressable, for cmocka prestate */
/* "ring" (Windows: "iocp"), "notify-eventfd" (Windows: "notify-port"),
 * "notify-cond". */
const char *th_kind_name(th_kind k);

#ifdef _WIN32
/* Completion packets one GetQueuedCompletionStatusEx call may dequeue. */
#define TH_ENTRIES 16
#endif

typedef struct th_loop {
    as_loop loop;
    th_kind kind;
    bool has_ring;
    bool initialised;
    bool strict;          /* fail when a callback was ready while the loop
                             slept without being woken (see th_run_until) */
    unsigned slice_ms;    /* watchdog slice of one blocking wait */
#ifdef _WIN32
    /* has_ring: the loop has a port (ring kinds).  An IOCP cannot be peeked:
     * th_loop_wait dequeues into ents, th_pump hands them out (every packet
     * to as_loop_handle_completion first).  The harness's kicks are packets
     * with key TH_KICK_KEY(L); the application's, key TH_FOREIGN_TAG | i. */
    HANDLE port;
    OVERLAPPED_ENTRY ents[TH_ENTRIES];
    unsigned n_ents;      /* dequeued */
    unsigned pos_ents;    /* of which handled */
#else
    struct io_uring ring;
    int kick_fd;          /* ring kinds: eventfd read-armed on the ring */
    uint64_t kick_buf;
    bool kick_armed;
#endif
    pthread_mutex_t mu;   /* cond kind */
    pthread_cond_t cv;
    atomic_ullong kicks;  /* th_loop_kick + notify calls */
    atomic_ullong notifies;      /* notify hook calls */
    atomic_ullong notifies_foreign; /* ... from a thread other than the loop's */
    unsigned long long seen_kicks; /* loop thread only */
    pthread_t thread;     /* the thread that runs the loop */
    /* loop-thread statistics (Windows: completion packets, not CQEs) */
    unsigned long runs;           /* as_loop_run calls */
    unsigned long callbacks;      /* sum of as_loop_run results */
    unsigned long cqes_ours;      /* as_loop_handle_cqe/_completion returned true */
    unsigned long cqes_foreign;   /* application CQEs (TH_FOREIGN_TAG) */
    unsigned long cqes_unknown;   /* neither: a bug */
    unsigned long silent_wakes;   /* callbacks run after a slice timed out with no wake */
    bool after_silent_sleep;      /* loop thread: this iteration follows a timed-out wait */
} th_loop;

/* user_data of the application's own SQEs in tests (NOPs); on Windows the
 * completion key of the application's own packets. */
#define TH_FOREIGN_TAG 0x5a5a5a5a00000000ull
#ifdef _WIN32
/* Completion key of the harness's kicks (th_loop_kick) on L's port. */
#define TH_KICK_KEY(L) ((ULONG_PTR)&(L)->kicks)
#endif

/* Initialise a loop on the calling thread (which becomes its thread).
 * Returns 0 or a negative errno (no cmocka).  opts may be NULL.
 * Checks the backend name against ASYNCSYNC_BACKEND (-EPROTO on mismatch). */
int th_loop_init(th_loop *L, th_kind kind, const as_loop_options *opts);
/* Same with a ring of `entries` SQEs (ring kinds; ignored on Windows). */
int th_loop_init_ex(th_loop *L, th_kind kind, const as_loop_options *opts, unsigned entries);
/* How a ring kind's ring is created (ignored on Windows): io_uring setup
 * flags (IORING_SETUP_*) and, for SQPOLL rings, the CPU of the kernel's SQ
 * thread (-1: any). */
typedef struct th_ring_params {
    unsigned entries;
    unsigned flags;
    int sq_cpu;
} th_ring_params;
int th_loop_init_rp(th_loop *L, th_kind kind, const as_loop_options *opts,
                    const th_ring_params *rp);
/* After as_loop_destroy returned 0: bind L->loop again, to the same ring or
 * port (ring kinds) or notify hook, and claim it on the calling thread.
 * Returns the init call's result. */
int th_loop_rebind(th_loop *L, const as_loop_options *opts);
/* cmocka flavour: skips when the kernel cannot (io_uring unavailable,
 * forced uring backend without kernel support), fails otherwise. */
void th_loop_setup(th_loop *L, th_kind kind, const as_loop_options *opts);
/* Teardown idiom: as_loop_destroy, on -EAGAIN feed the ring's completions
 * to as_loop_handle_cqe (Windows: dequeue the port's packets and feed them
 * to as_loop_handle_completion) and retry, with a deadline.  Then frees the
 * ring (port).
 * Returns the final as_loop_destroy result (0 expected) or -ETIMEDOUT.
 * On -EBUSY the loop is left intact. */
int th_loop_destroy_rc(th_loop *L);
/* Only the as_loop_destroy idiom (-EAGAIN: feed completions, retry); the
 * ring stays.  Returns the final result. */
int th_as_loop_destroy(th_loop *L);
void th_loop_destroy(th_loop *L);   /* asserts 0 */
/* The test called as_loop_destroy itself and it returned 0: hand what the
 * ring still delivers (late completions of the loop, which
 * as_loop_handle_cqe must claim) to the library, then free the ring. */
void th_loop_after_destroy(th_loop *L);

/* as_loop_run with the harness's bookkeeping (thread-local "in run"). */
int th_loop_run(th_loop *L);
/* One non-blocking iteration: drain CQEs (ring kinds), as_loop_run (cond
 * kind: only if notified), submit.  Returns callbacks run. */
int th_pump(th_loop *L);
/* Block until a CQE is ready / a notify or kick arrived, at most ms.
 * Does not consume it.  (Windows, where a port cannot be peeked: dequeues
 * the packets into L->ents; the next th_pump hands them out.)  Returns true
 * when woken, false on timeout. */
bool th_loop_wait(th_loop *L, unsigned ms);
/* Wake th_loop_wait from any thread. */
void th_loop_kick(th_loop *L);

typedef bool (*th_pred)(void *arg);
/* Pump until pred(arg); blocks between iterations in th_loop_wait slices.
 * Fails (th_fail) after timeout_s.  In strict mode, also fails when a
 * callback was found ready after a slice in which nothing woke the loop. */
void th_run_until_at(const char *file, int line, th_loop *L, th_pred pred,
                     void *arg, double timeout_s);
#define th_run_until(L, pred, arg, t) th_run_until_at(__FILE__, __LINE__, (L), (pred), (arg), (t))
/* Like th_run_until but every blocking wait must be ended by a wake (CQE or
 * notify) before timeout_s: a wait that times out is a lost wake-up. */
void th_run_until_woken_at(const char *file, int line, th_loop *L,
                           th_pred pred, void *arg, double timeout_s);
#define th_run_until_woken(L, pred, arg, t) \
    th_run_until_woken_at(__FILE__, __LINE__, (L), (pred), (arg), (t))
/* Pump for `seconds` (to give a wrong implementation a chance to misbehave
 * before asserting that nothing happened). */
void th_quiesce(th_loop *L, double seconds);

/* Queue n NOP SQEs with TH_FOREIGN_TAG (not submitted); n < 0: fill the SQ.
 * Windows: post n application packets (key TH_FOREIGN_TAG | i); n < 0:
 * TH_NOPS_FILL of them.  Returns how many were queued (posted). */
int th_queue_nops(th_loop *L, int n);
#define TH_NOPS_FILL 16
/* Submit what is queued on the ring (Windows: nothing to do, posts are
 * immediate). */
void th_submit(th_loop *L);

/* ---------------------------------------------------------------------------
 * Callback recorder and waiters.
 * ------------------------------------------------------------------------- */

#define TH_REC_MAX 4096

/* Bits of th_rec_entry.bad */
#define TH_BAD_WAIT_PTR    0x01u  /* callback got another as_wait * */
#define TH_BAD_NOT_IN_RUN  0x02u  /* not called from as_loop_run */
#define TH_BAD_WRONG_LOOP  0x04u  /* called from another loop's as_loop_run */
#define TH_BAD_PENDING     0x08u  /* as_wait_pending(w) != 0 inside the callback */
#define TH_BAD_NOT_HELD    0x10u  /* mutex not held in the callback */
#define TH_BAD_DOUBLE      0x20u  /* second callback for one pending wait */
#define TH_BAD_UNLOCK      0x40u  /* unlock in the callback failed */
#define TH_BAD_OVERFLOW    0x80u  /* recorder full */

typedef struct th_rec_entry {
    int id;
    int status;
    unsigned bad;
    int held;            /* try_lock result in the callback, -100 if n/a */
    unsigned long run;   /* th_loop.runs at the time (which as_loop_run) */
} th_rec_entry;

typedef struct th_rec {
    pthread_mutex_t mu;
    atomic_uint n;
    atomic_uint bad_total;
    th_rec_entry e[TH_REC_MAX];
} th_rec;

void th_rec_init(th_rec *r);
/* Assert clean, then start over (several scenarios in one test). */
void th_rec_reset(th_rec *r);
unsigned th_rec_count(th_rec *r);
th_rec_entry th_rec_get(th_rec *r, unsigned i);
/* Fails when any recorded callback had a bad bit. */
void th_rec_assert_clean(th_rec *r);
/* Fails unless the recorded ids are exactly ids[0..n-1] in this order. */
void th_rec_assert_ids_at(const char *file, int line, th_rec *r, const int *ids, unsigned n);
#define th_rec_assert_ids(r, ...) \
    do { const int th_ids_[] = { __VA_ARGS__ }; \
         th_rec_assert_ids_at(__FILE__, __LINE__, (r), th_ids_, \
                              (unsigned)(sizeof th_ids_ / sizeof th_ids_[0])); } while (0)
/* Status recorded for id (fails unless exactly one entry has it). */
int th_rec_status_of_at(const char *file, int line, th_rec *r, int id);
#define th_rec_status_of(r, id) th_rec_status_of_at(__FILE__, __LINE__, (r), (id))
/* Run L until r holds at least n entries (fails after TH_TIMEOUT). */
void th_rec_wait_at(const char *file, int line, th_loop *L, th_rec *r, unsigned n);
#define th_rec_wait(L, r, n) th_rec_wait_at(__FILE__, __LINE__, (L), (r), (n))
/* Same, but every blocking wait must end with a wake (th_run_until_woken):
 * use when the event that completes the wait comes from another thread or
 * loop after the loop went to sleep. */
void th_rec_wait_woken_at(const char *file, int line, th_loop *L, th_rec *r, unsigned n);
#define th_rec_wait_woken(L, r, n) th_rec_wait_woken_at(__FILE__, __LINE__, (L), (r), (n))

typedef enum th_held {
    TH_HELD_NONE = 0,   /* no mutex check */
    TH_HELD_IF_OK,      /* mutex waiter: held when status == 0 */
    TH_HELD_ALWAYS,     /* condvar waiter: held whatever the status */
} th_held;

typedef struct th_waiter th_waiter;
struct th_waiter {
    as_wait w;
    th_rec *rec;
    th_loop *L;
    int id;
    th_held held_mode;
    as_mutex *mutex;      /* for the held check */
    bool unlock_in_cb;    /* unlock `mutex` in the callback when held */
    atomic_int calls;
    atomic_int status;
    uint64_t cb_ns;       /* as_now_ns() when the callback ran */
    /* optional hook run at the end of the callback (e.g. re-arm) */
    void (*on_cb)(th_waiter *tw, int status);
    void *user;
    long user_n;
};

/* Fresh waiter (the as_wait is zeroed).  rec may be NULL. */
void th_waiter_init(th_waiter *tw, th_rec *rec, th_loop *L, int id);
/* The harness callback (records, checks, calls on_cb). */
void th_cb(as_wait *w, int status, void *arg);
/* After an *_async / *_until call on tw->w returned r: when pending (0),
 * record how the callback must find the mutex (mode, m) and whether it
 * unlocks it.  Returns r.  The th_*_acquire/lock/wait helpers use it. */
int th_armed(th_waiter *tw, int r, th_held mode, as_mutex *m, bool unlock);
int th_sem_acquire(th_waiter *tw, as_sem *s, uint32_t n);
int th_mutex_lock(th_waiter *tw, as_mutex *m, bool unlock_in_cb);
int th_cond_wait(th_waiter *tw, as_cond *c, as_mutex *m, bool unlock_in_cb);
int th_event_wait(th_waiter *tw, as_event *e);

/* ---------------------------------------------------------------------------
 * Cross-thread helpers.
 * ------------------------------------------------------------------------- */

/* A counter other threads bump and the main thread waits on. */
typedef struct th_counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_llong v;
} th_counter;
void th_counter_init(th_counter *c);
void th_counter_destroy(th_counter *c);
void th_counter_add(th_counter *c, long long n);
long long th_counter_get(th_counter *c);
/* Wait until value >= target; false after timeout_s. */
bool th_counter_wait_ge(th_counter *c, long long target, double timeout_s);

/* A two-or-more-party spinning barrier (tight rendezvous for races), with a
 * watchdog (th_fail after TH_TIMEOUT). */
typedef struct th_barrier {
    atomic_uint count;
    atomic_uint gen;
    unsigned parties;
} th_barrier;
void th_barrier_init(th_barrier *b, unsigned parties);
void th_barrier_wait(th_barrier *b);

/* A thread that owns a loop (ring + as_loop) and runs it until stopped. */
typedef struct th_job th_job;
struct th_job {
    void (*fn)(void *arg);
    void *arg;
    th_job *next;
    bool wait;          /* caller blocks until done */
    bool done;          /* under the thread's mu */
};

typedef struct th_lthread {
    th_loop L;
    th_kind kind;
    as_loop_options opts;
    bool has_opts;
    th_ring_params rp;
    bool has_rp;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    th_job *head, *tail;
    bool stop;
    bool started;
    int init_rc;
    int destroy_rc;
    /* called on the loop thread every iteration, before the loop runs
       as_loop_run and submits; set it from a job on that thread */
    void (*tick)(void *arg);
    /* called after as_loop_run: true when tick has work right away (the
       loop then does not block) */
    bool (*busy)(void *arg);
    void *tick_arg;
} th_lthread;

/* Start a loop thread (fails the test when its loop cannot be created;
 * skips when the kernel cannot). */
void th_lthread_start(th_lthread *t, th_kind kind, const as_loop_options *opts);
/* Same, with the loop's ring created as rp says (NULL: the default). */
void th_lthread_start_rp(th_lthread *t, th_kind kind, const as_loop_options *opts,
                         const th_ring_params *rp);
/* Run fn(arg) on the loop thread and wait for it (watchdog). */
void th_lthread_call(th_lthread *t, void (*fn)(void *), void *arg);
/* Queue fn(arg) on the loop thread; job must stay valid until it ran. */
void th_lthread_post(th_lthread *t, th_job *job, void (*fn)(void *), void *arg);
/* Wait (watchdog) until a posted job has run. */
void th_lthread_wait_job(th_lthread *t, th_job *job);
/* Stop, destroy the loop on its thread, join (watchdog).  Returns the
 * teardown result (0 expected). */
int th_lthread_stop(th_lthread *t);

/* A plain thread (no loop) that releases a semaphore:
 *   th_release ra = { &s, 1, 100 };
 *   th_thread_start(&t, th_release_thread, &ra);  ... join, check ra.rc */
typedef struct th_release {
    as_sem *s;
    uint32_t n;
    int rc;
} th_release;
void *th_release_thread(void *arg);
/* as_sem_release(s, n) from a thread that runs no loop (for it every
 * waiter is on another loop), joined: its wakes are sent.  Asserts 0. */
void th_sem_release_from_thread(as_sem *s, uint32_t n);
/* as_mutex_unlock(m) from a thread that runs no loop, joined.  Asserts 0. */
void th_mutex_unlock_from_thread(as_mutex *m);
/* Does a waiter on L that lost its retry wait for its loop's timer (PASSED,
 * mutex.c M5) rather than for the next release (STARVING)?  Loops with a
 * timer of their own: ring loops on Linux (not IOCP, not notify loops). */
bool th_loop_passes(const th_loop *L);
/* Run L until its ring timer has fired at least once more than `since`
 * (as_loop_counters.timer_cqes); returns the new count. */
uint64_t th_run_timer(th_loop *L, uint64_t since);
/* L's ring timer completions so far. */
uint64_t th_timer_cqes(th_loop *L);

/* The calling thread's id, for th_wait_asleep (0 on Windows). */
long th_thread_id(void);
/* Wait (watchdog) until thread `tid` of this process is blocked in the
 * kernel (state S: e.g. asleep on its ring), so that what follows must wake
 * it rather than be found by its next iteration.  Linux: reads
 * /proc/self/task/<tid>/stat; Windows: returns at once. */
void th_wait_asleep(long tid);

/* A notify hook that does nothing (for loops nobody waits on). */
void th_notify_noop(void *ctx);

/* Thread with a watchdog join. */
void th_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
void th_thread_join(pthread_t t);

/* Zero the memory, init, assert 0. */
void th_sem_make(as_sem *s, uint32_t permits);
void th_mutex_make(as_mutex *m, unsigned flags);
void th_cond_make(as_cond *c);
void th_event_make(as_event *e, unsigned flags);

/* ---------------------------------------------------------------------------
 * cmocka glue.
 * ------------------------------------------------------------------------- */

/* A fixture every primitive test gets: a loop of the prestate's kind and a
 * recorder.  Teardown checks the recorder is clean and destroys the loop
 * (which fails if a wait is still pending). */
typedef struct th_fix {
    th_loop L;
    th_rec rec;
} th_fix;
int th_setup(void **state);
int th_teardown(void **state);

/* In a test registered with TH_TEST*: L = its loop, R = its recorder. */
#define FIX()                    \
    th_fix *f = *state;          \
    th_loop *L = &f->L;          \
    th_rec *R = &f->rec;         \
    (void)L;                     \
    (void)R

/* A th_waiter on_cb hook that frees the (heap-allocated) waiter: proves the
 * callback owns its wait and may free it. */
void th_free_waiter_cb(th_waiter *tw, int status);

/* Register a test on a ring loop (backend from the environment; an IOCP
 * loop on Windows) and on a generic loop driven only by its notify hook. */
#ifdef _WIN32
#define TH_RING_TAG "/iocp"
#else
#define TH_RING_TAG "/ring"
#endif
#define TH_TEST_RING(fn) \
    { #fn TH_RING_TAG, fn, th_setup, th_teardown, &th_kind_values[TH_RING] }
#define TH_TEST_NOTIFY(fn) \
    { #fn "/notify", fn, th_setup, th_teardown, &th_kind_values[TH_NOTIFY_COND] }
#define TH_TEST(fn) TH_TEST_RING(fn), TH_TEST_NOTIFY(fn)

/* Run a test group; exits 77 when io_uring is unavailable (Linux).  Prints
 * the backend in use. */
int th_main(const char *group, const struct CMUnitTest *tests, size_t n);
#define TH_MAIN(group, tests) th_main((group), (tests), sizeof(tests) / sizeof((tests)[0]))

/* Kernel probe, independent of the library: does this kernel support
 * IORING_OP_FUTEX_WAIT and IORING_OP_FUTEX_WAKE?  (false on Windows) */
bool th_kernel_has_futex_ops(void);
/* The backend a ring loop gets when ASYNCSYNC_BACKEND is unset: "uring" or
 * "generic" by the kernel probe; "iocp" on Windows. */
const char *th_default_backend(void);
/* ASYNCSYNC_BACKEND or NULL. */
const char *th_env_backend(void);

#endif /* AS_TEST_HARNESS_H */
