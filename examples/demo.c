/*
 * demo.c: two io_uring event loops sharing asyncsync primitives.
 * SPDX-License-Identifier: MIT
 *
 * Two worker threads each own an io_uring ring and an as_loop bound to it.
 * Every loop runs many tasks; a task repeatedly writes a block to its own
 * offset of a temporary file, reads it back and verifies it, then records the
 * result in shared statistics.  Between the two loops:
 *
 *   as_sem    io_slots    bounds the I/O operations in flight across BOTH
 *                         loops (--limit N): a task acquires a permit before
 *                         it submits a read or write, releases it on the CQE;
 *   as_mutex  stats_lock  guards the shared statistics;
 *   as_event  done        manual-reset: set by whichever task completes the
 *                         last operation; each loop waits on it to stop.
 *
 * The demo checks its invariants (in-flight peak <= limit, mutual exclusion,
 * data read back, totals, checksum, every callback run with status 0) and
 * exits non-zero if one broke.  ASYNCSYNC_BACKEND=generic|uring forces the
 * library's backend; this code does not change.
 *
 * Usage: demo [--quick] [--ops N] [--limit N] [--tasks N] [--busy-poll] [--stats]
 *   --quick      1000 operations instead of 20000
 *   --ops N      N operations (one write and one read-back each)
 *   --limit N    semaphore permits: I/O in flight across both loops (8)
 *   --tasks N    tasks per loop (16)
 *   --busy-poll  never block in io_uring_enter: spin on the CQ, yielding.
 *   --stats      print the library's counters at exit (as_sem_stats,
 *                as_mutex_stats, as_event_stats, as_loop_stats).
 *                For valgrind 3.19 (Debian 12), which keeps its global lock
 *                while a thread blocks in io_uring_enter: a loop blocked
 *                there starves the other thread, and the demo stalls.
 */
#define _GNU_SOURCE /* liburing.h needs it (cpu_set_t) */
#include <asyncsync.h>
#include <liburing.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NLOOPS       2
#define BLOCK        4096                      /* bytes per read or write */
#define WORDS        (BLOCK / sizeof(uint64_t))
#define RING_ENTRIES 256
#define STALL_SECS   10     /* watchdog: no progress for this long is a hang */

struct worker;

struct task {
    struct worker *w;
    as_wait wait;          /* reused for each semaphore and mutex wait */
    uint64_t op;           /* the operation under way: selects the data */
    uint64_t off;          /* this task's own block of the file */
    bool reading;          /* which I/O is in flight: write, then read back */
    uint64_t sum;          /* checksum of the block read back */
    uint64_t buf[WORDS];
};

struct worker {
    int id;
    pthread_t thread;
    struct io_uring ring;
    as_loop loop;
    as_wait stop_wait;     /* waits on g.done */
    bool stopping;         /* g.done was seen (loop thread only) */
    unsigned active;       /* tasks not yet out of work (loop thread only) */
    uint64_t ops;          /* operations this loop completed (loop thread only) */
    as_loop_counters lc;   /* the loop's counters, read before its teardown */
    struct task *tasks;
};

static struct {
    uint64_t total_ops;
    unsigned limit, ntasks;
    bool busy_poll, print_stats;
    int fd;

    as_sem io_slots;
    as_mutex stats_lock;
    as_event done;
    struct {               /* plain fields: guarded by stats_lock */
        uint64_t ops, bytes_written, bytes_read, checksum;
        uint64_t per_loop[NLOOPS];
    } stats;

    /* invariant checks */
    atomic_uint_fast64_t next_op, completed_ops;
    atomic_int inflight, peak, holders;
    atomic_ulong pending, callbacks; /* *_async calls that returned 0; callbacks run */
    atomic_uint failures;
    struct worker workers[NLOOPS];
} g;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("demo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_fetch_add(&g.failures, 1);
}

/* The data of word i of operation op (splitmix64). */
static uint64_t pattern(uint64_t op, size_t i)
{
    uint64_t z = ((op << 12) | i) + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Every asyncsync callback starts here: count it and check its status. */
static bool callback_ok(const char *what, int status)
{
    atomic_fetch_add(&g.callbacks, 1);
    if (status != 0)
        fail("%s callback: status %s", what, as_strerror(status));
    return status == 0;
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&w->ring)) == NULL)
        io_uring_submit(&w->ring);    /* SQ full: flush it, then retry */
    return sqe;
}

static void task_next(struct task *t);
static void task_acquire_slot(struct task *t);

/* The end of an operation, successful or not: maybe stop everyone, go on. */
static void task_finish_op(struct task *t)
{
    if (atomic_fetch_add(&g.completed_ops, 1) + 1 == g.total_ops) {
        int r = as_event_set(&g.done);      /* wakes both loops' stop waits */
        if (r < 0)
            fail("as_event_set: %s", as_strerror(r));
    }
    task_next(t);
}

/* Holding stats_lock: record the operation, unlock. */
static void task_update_stats(struct task *t)
{
    if (atomic_fetch_add(&g.holders, 1) != 0)
        fail("mutual exclusion violated");
    g.stats.ops++;
    g.stats.bytes_written += BLOCK;
    g.stats.bytes_read += BLOCK;
    g.stats.checksum += t->sum;
    g.stats.per_loop[t->w->id]++;
    atomic_fetch_sub(&g.holders, 1);

    int r = as_mutex_unlock(&g.stats_lock); /* may hand the lock to a waiter */
    if (r < 0)
        fail("as_mutex_unlock: %s", as_strerror(r));
    t->w->ops++;
    task_finish_op(t);
}

static void on_stats_locked(as_wait *req, int status, void *arg)
{
    (void)req;
    struct task *t = arg;
    if (callback_ok("mutex", status))
        task_update_stats(t);
    else
        task_finish_op(t);                  /* no lock: skip the stats */
}

static void task_lock_stats(struct task *t)
{
    int r = as_mutex_lock_async(&g.stats_lock, &t->w->loop, &t->wait,
                                on_stats_locked, t);
    if (r == 1) {                           /* locked at once: no callback */
        task_update_stats(t);
    } else if (r == 0) {                    /* on_stats_locked() runs later */
        atomic_fetch_add(&g.pending, 1);
    } else {
        fail("as_mutex_lock_async: %s", as_strerror(r));
        task_finish_op(t);
    }
}

/* Holding a permit: queue the write or read.  The loop submits it. */
static void task_submit_io(struct task *t)
{
    int now = atomic_fetch_add(&g.inflight, 1) + 1;
    int peak = atomic_load(&g.peak);
    while (now > peak && !atomic_compare_exchange_weak(&g.peak, &peak, now))
        ;

    struct io_uring_sqe *sqe = get_sqe(t->w);
    if (t->reading)
        io_uring_prep_read(sqe, g.fd, t->buf, BLOCK, t->off);
    else
        io_uring_prep_write(sqe, g.fd, t->buf, BLOCK, t->off);
    io_uring_sqe_set_data(sqe, t);
}

static void on_slot(as_wait *req, int status, void *arg)
{
    (void)req;
    struct task *t = arg;
    if (callback_ok("semaphore", status))
        task_submit_io(t);
    else
        task_finish_op(t);                  /* no permit: give the op up */
}

static void task_acquire_slot(struct task *t)
{
    int r = as_sem_acquire_async(&g.io_slots, &t->w->loop, &t->wait, 1,
                                 on_slot, t);
    if (r == 1) {                           /* permit taken at once */
        task_submit_io(t);
    } else if (r == 0) {                    /* on_slot() runs later */
        atomic_fetch_add(&g.pending, 1);
    } else {
        fail("as_sem_acquire_async: %s", as_strerror(r));
        task_finish_op(t);
    }
}

/* Claim the next operation, if any is left, and start its write. */
static void task_next(struct task *t)
{
    uint64_t op = atomic_fetch_add(&g.next_op, 1);
    if (op >= g.total_ops) {
        t->w->active--;                     /* out of work */
        return;
    }
    t->op = op;
    t->reading = false;
    for (size_t i = 0; i < WORDS; i++)
        t->buf[i] = pattern(op, i);
    task_acquire_slot(t);
}

/* The application's own CQEs: our reads and writes. */
static void handle_own(struct worker *w, const struct io_uring_cqe *cqe)
{
    struct task *t = io_uring_cqe_get_data(cqe);
    if (cqe->user_data == LIBURING_UDATA_TIMEOUT || t == NULL)
        return;                             /* liburing's own timeout */

    atomic_fetch_sub(&g.inflight, 1);
    int r = as_sem_release(&g.io_slots, 1); /* may wake a task on either loop */
    if (r < 0)
        fail("as_sem_release: %s", as_strerror(r));

    if (cqe->res != BLOCK) {                /* a short read/write counts too */
        fail("loop %d: %s at %" PRIu64 ": %s", w->id,
             t->reading ? "read" : "write", t->off,
             cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
        task_finish_op(t);
        return;
    }
    if (!t->reading) {                      /* written: now read it back */
        memset(t->buf, 0, sizeof t->buf);
        t->reading = true;
        task_acquire_slot(t);
        return;
    }
    uint64_t sum = 0;
    bool same = true;
    for (size_t i = 0; i < WORDS; i++) {
        same &= t->buf[i] == pattern(t->op, i);
        sum += t->buf[i];
    }
    if (!same)
        fail("loop %d: op %" PRIu64 ": data read back differs", w->id, t->op);
    t->sum = sum;
    task_lock_stats(t);
}

/* Hand every CQE to asyncsync first; what it does not claim is ours. */
static void reap(struct worker *w)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
        if (!as_loop_handle_cqe(&w->loop, cqe))
            handle_own(w, cqe);
        n++;
    }
    io_uring_cq_advance(&w->ring, n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for a CQE: 0 when one is ready, -ETIME after a tick without one.
 * With --busy-poll, never block in the kernel: spin, yielding the CPU. */
static int wait_cqe(struct worker *w)
{
    struct io_uring_cqe *cqe;
    if (g.busy_poll) {
        if (!io_uring_cq_ready(&w->ring))
            sched_yield();                  /* a syscall: runs task work */
        return io_uring_cq_ready(&w->ring) ? 0 : -ETIME;
    }
    /* Block as a real loop does: a wake from the other thread arrives as a
     * CQE.  The timeout is only the watchdog's: nothing for STALL_SECS is a
     * lost wake-up, not something to paper over by polling. */
    struct __kernel_timespec ts = { .tv_sec = STALL_SECS, .tv_nsec = 0 };
    return io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts);
}

/* A wait timed out.  Blocking, that means this loop heard nothing for
 * STALL_SECS with work outstanding; busy-polling, it means nothing completed
 * anywhere for that long.  Either way: report the hang and exit. */
static void watchdog(struct worker *w, uint64_t *last, double *since)
{
    uint64_t done = atomic_load(&g.completed_ops);
    double now = now_s();
    if (g.busy_poll && done != *last) {
        *last = done;
        *since = now;
    } else if (!g.busy_poll || now - *since > STALL_SECS) {
        fprintf(stderr, "demo: loop %d: no progress for %d s (%" PRIu64 " of %"
                PRIu64 " ops done, %u tasks active, %d in flight, %" PRId64
                " permits free): lost wake-up?\n", w->id, STALL_SECS, done,
                g.total_ops, w->active, atomic_load(&g.inflight),
                as_sem_value(&g.io_slots));
        exit(EXIT_FAILURE);
    }
}

static void on_done(as_wait *req, int status, void *arg)
{
    (void)req;
    struct worker *w = arg;
    callback_ok("event", status);
    w->stopping = true;
}

static void run_loop(struct worker *w)
{
    uint64_t last = 0;
    double since = now_s();
    for (;;) {
        /* (1) Run the callbacks asyncsync has ready: waits satisfied by this
         * loop's tasks or by the other thread.  They queue more SQEs. */
        int r = as_loop_run(&w->loop);
        if (r < 0)
            fail("as_loop_run: %s", as_strerror(r));
        if (w->stopping && w->active == 0)
            break;                          /* drained: every task is idle */

        /* (2) Submit before blocking: our reads and writes and the library's
         * SQEs (its futex waits, wakes for the other loop) share the call. */
        io_uring_submit(&w->ring);

        /* (3) Block for a completion.  The timeout only feeds a watchdog:
         * a wake from the other thread arrives as a CQE on this ring. */
        r = wait_cqe(w);
        if (r == -ETIME) {
            watchdog(w, &last, &since);
            continue;
        }
        if (r < 0 && r != -EINTR) {
            fail("io_uring_wait_cqe_timeout: %s", strerror(-r));
            exit(EXIT_FAILURE);
        }

        /* (4) Dispatch the completions. */
        reap(w);
    }
    /* The library may have queued SQEs on this ring that matter to others
     * (a wake for the other loop): they must still go out. */
    io_uring_submit(&w->ring);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    /* The shutdown signal is a wait like any other. */
    int r = as_event_wait_async(&g.done, &w->loop, &w->stop_wait, on_done, w);
    if (r == 1)
        w->stopping = true;
    else if (r == 0)
        atomic_fetch_add(&g.pending, 1);
    else {
        fail("as_event_wait_async: %s", as_strerror(r));
        w->stopping = true;                 /* stop when out of work */
    }

    w->active = g.ntasks;
    for (unsigned i = 0; i < g.ntasks; i++)
        task_next(&w->tasks[i]);
    run_loop(w);

    /* Teardown.  Every wait bound to this loop has had its callback, so
     * destroy cannot be -EBUSY; -EAGAIN means the library cancelled what it
     * still had armed on the ring and wants those completions first. */
    as_loop_stats(&w->loop, &w->lc); /* on the loop's thread, while it lives */
    double t0 = now_s();
    while ((r = as_loop_destroy(&w->loop)) == -EAGAIN && now_s() - t0 < STALL_SECS) {
        io_uring_submit(&w->ring);
        wait_cqe(w);
        reap(w);
    }
    if (r != 0)
        fail("loop %d: as_loop_destroy: %s", w->id, as_strerror(r));
    io_uring_queue_exit(&w->ring);
    return NULL;
}

static void print_counters(const char *what, const as_counters *c)
{
    printf("  %-10s acquired %" PRIu64 ", contended %" PRIu64 ", handoffs %" PRIu64
           ", cancelled %" PRIu64 ", timed out %" PRIu64 ", shut down %" PRIu64
           ", max waiters %u\n",
           what, c->acquired, c->contended, c->handoffs, c->cancelled, c->timed_out,
           c->shut_down, c->max_waiters);
}

/* --stats: what the library counted (asyncsync.h, "Observing"). */
static void print_stats(void)
{
    as_counters c;
    printf("library counters:\n");
    if (as_sem_stats(&g.io_slots, &c) == 0)
        print_counters("io_slots", &c);
    if (as_mutex_stats(&g.stats_lock, &c) == 0)
        print_counters("stats_lock", &c);
    if (as_event_stats(&g.done, &c) == 0)
        print_counters("done", &c);
    for (int i = 0; i < NLOOPS; i++) {
        const as_loop_counters *l = &g.workers[i].lc;
        printf("  loop %d     callbacks %" PRIu64 ", local %" PRIu64 ", remote %" PRIu64
               ", messages %" PRIu64 ", doorbells %" PRIu64 "\n",
               i, l->callbacks, l->local, l->remote, l->messages, l->doorbells);
    }
}

static unsigned long arg_num(const char *opt, const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || errno || *end || v < 1 || v > max) {
        fprintf(stderr, "demo: %s needs a number from 1 to %lu\n", opt, max);
        exit(2);
    }
    return v;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        printf("FAILED: %s\n", what);
        atomic_fetch_add(&g.failures, 1);
    }
}

int main(int argc, char **argv)
{
    g.total_ops = 20000;
    g.limit = 8;
    g.ntasks = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            g.total_ops = 1000;
        else if (!strcmp(argv[i], "--busy-poll"))
            g.busy_poll = true;
        else if (!strcmp(argv[i], "--stats"))
            g.print_stats = true;
        else if (!strcmp(argv[i], "--ops"))
            g.total_ops = arg_num("--ops", argv[++i], 1000000000ul);
        else if (!strcmp(argv[i], "--limit"))
            g.limit = (unsigned)arg_num("--limit", argv[++i], 4096);
        else if (!strcmp(argv[i], "--tasks"))
            g.ntasks = (unsigned)arg_num("--tasks", argv[++i], RING_ENTRIES / 2);
        else {
            fprintf(stderr, "usage: %s [--quick] [--ops N] [--limit N]"
                    " [--tasks N per loop] [--busy-poll] [--stats]\n", argv[0]);
            return 2;
        }
    }

    /* A scratch file, unlinked at once: it lives until the fd is closed. */
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/asyncsync-demo-XXXXXX", dir && *dir ? dir : "/tmp");
    g.fd = mkstemp(path);
    if (g.fd < 0) {
        perror("demo: mkstemp");
        return 1;
    }
    unlink(path);

    int r;
    if ((r = as_sem_init(&g.io_slots, g.limit, 0)) < 0 ||
        (r = as_mutex_init(&g.stats_lock, 0)) < 0 ||
        (r = as_event_init(&g.done, AS_EVENT_MANUAL_RESET)) < 0) {
        fprintf(stderr, "demo: init: %s\n", as_strerror(r));
        return 1;
    }

    /* Each loop: its own ring, an as_loop bound to it.  Binding may happen
     * on any thread; the loop then belongs to the thread that runs it. */
    for (int i = 0; i < NLOOPS; i++) {
        struct worker *w = &g.workers[i];
        w->id = i;
        if ((r = io_uring_queue_init(RING_ENTRIES, &w->ring, 0)) < 0) {
            fprintf(stderr, "demo: io_uring_queue_init: %s\n", strerror(-r));
            return 1;
        }
        if ((r = as_loop_init_uring(&w->loop, &w->ring, NULL)) < 0) {
            fprintf(stderr, "demo: as_loop_init_uring: %s\n", as_strerror(r));
            return r == -EOPNOTSUPP ? 77 : 1; /* 77: skipped (forced backend missing) */
        }
        w->tasks = calloc(g.ntasks, sizeof *w->tasks);
        if (!w->tasks) {
            perror("demo: calloc");
            return 1;
        }
        for (unsigned k = 0; k < g.ntasks; k++) {
            w->tasks[k].w = w;
            w->tasks[k].off = ((uint64_t)i * g.ntasks + k) * BLOCK;
        }
    }
    printf("asyncsync demo: backend %s, %d loops x %u tasks, limit %u,"
           " %" PRIu64 " ops (write+read of %d bytes)\n",
           as_loop_backend(&g.workers[0].loop), NLOOPS, g.ntasks, g.limit,
           g.total_ops, BLOCK);

    double t0 = now_s();
    for (int i = 0; i < NLOOPS; i++) {
        if ((r = pthread_create(&g.workers[i].thread, NULL, worker_main,
                                &g.workers[i])) != 0) {
            fprintf(stderr, "demo: pthread_create: %s\n", strerror(r));
            return 1;
        }
    }
    for (int i = 0; i < NLOOPS; i++)
        pthread_join(g.workers[i].thread, NULL);
    double secs = now_s() - t0;

    /* The report, then every invariant. */
    uint64_t expect_sum = 0;
    for (uint64_t op = 0; op < g.total_ops; op++)
        for (size_t i = 0; i < WORDS; i++)
            expect_sum += pattern(op, i);
    int peak = atomic_load(&g.peak);
    printf("  peak in flight  %d (limit %u)\n", peak, g.limit);
    printf("  ops             %" PRIu64, g.stats.ops);
    for (int i = 0; i < NLOOPS; i++)
        printf("%sloop %d: %" PRIu64, i ? ", " : " (", i, g.stats.per_loop[i]);
    printf(")\n  bytes           %" PRIu64 " written, %" PRIu64 " read\n",
           g.stats.bytes_written, g.stats.bytes_read);
    printf("  checksum        %016" PRIx64 " (expected %016" PRIx64 ")\n",
           g.stats.checksum, expect_sum);
    printf("  callbacks       %lu run, %lu waits went pending\n",
           atomic_load(&g.callbacks), atomic_load(&g.pending));
    printf("  elapsed         %.3f s, %.0f ops/s\n", secs, (double)g.total_ops / secs);

    if (g.print_stats)
        print_stats();

    check(peak <= (int)g.limit, "peak in flight exceeded the semaphore limit");
    check(atomic_load(&g.inflight) == 0, "I/O still in flight");
    check(as_sem_value(&g.io_slots) == g.limit, "semaphore permits not conserved");
    check(g.stats.ops == g.total_ops && atomic_load(&g.completed_ops) == g.total_ops,
          "wrong number of ops");
    check(g.stats.bytes_written == g.total_ops * BLOCK &&
          g.stats.bytes_read == g.total_ops * BLOCK, "wrong byte totals");
    for (int i = 0; i < NLOOPS; i++)
        check(g.stats.per_loop[i] == g.workers[i].ops, "per-loop counts disagree");
    check(g.stats.checksum == expect_sum, "checksum mismatch");
    check(atomic_load(&g.callbacks) == atomic_load(&g.pending),
          "callbacks run != waits that went pending");
    check(as_sem_destroy(&g.io_slots) == 0, "as_sem_destroy failed");
    check(as_mutex_destroy(&g.stats_lock) == 0, "as_mutex_destroy failed");
    check(as_event_destroy(&g.done) == 0, "as_event_destroy failed");

    for (int i = 0; i < NLOOPS; i++)
        free(g.workers[i].tasks);
    close(g.fd);
    unsigned failures = atomic_load(&g.failures);
    if (failures)
        printf("FAILED (%u problems)\n", failures);
    else
        printf("OK\n");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
