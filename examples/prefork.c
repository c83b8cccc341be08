/*
 * prefork.c: a pre-forked job runner whose worker processes share one
 * process-shared semaphore (AS_PSHARED) as a global concurrency limit.
 * SPDX-License-Identifier: MIT
 *
 * The shape of a pre-forked server (nginx, PostgreSQL, Apache's prefork
 * MPM): the parent sets up what the workers share, forks them, and waits.
 * Here what they share is one MAP_SHARED mapping, made before fork(), that
 * holds
 *
 *   limit   an as_sem initialised with AS_PSHARED: at most --limit jobs
 *           run at once across ALL workers (a connection limit towards a
 *           database, a licence count, a bound on disk streams...);
 *   stats   counters that every process updates with atomic operations:
 *           jobs claimed, jobs run, how many hold a permit now and the
 *           most that ever did at once;
 *   log     a job log: a file (a memfd every worker inherits) and its
 *           plain (non-atomic) bookkeeping in the mapping (bytes written,
 *           entries, the sum of their job numbers), guarded by an as_mutex
 *           initialised with AS_PSHARED.  A task that finished its job
 *           locks it asynchronously (its callback runs when the lock is
 *           handed to it, possibly by another process), writes its line at
 *           the end of the file with an IORING_OP_WRITE while holding it,
 *           and unlocks when that write completed: a lock held across I/O,
 *           by a task, with no thread blocked.
 *
 * Each worker is one process with its own io_uring ring and as_loop (the
 * loop shape of examples/demo.c and README.md), running --tasks tasks.  A
 * task claims the next job number, acquires a permit asynchronously
 * (as_sem_acquire_async: the callback runs on this worker's loop when a
 * permit is granted, possibly freed by another process), holds it across
 * real io_uring work (an IORING_OP_TIMEOUT of --hold-us microseconds,
 * standing in for a query or an upstream request), then releases it and
 * claims the next job.
 *
 * Synchronization is the library's and the kernel's: the workers start
 * together when the parent closes a pipe, and the parent learns that they
 * finished from waitpid().  No sleep orders anything.
 *
 * At the end the parent checks, from the shared block:
 *   - the limit held across processes: the most holders seen at once <= limit;
 *   - every job ran exactly once (a per-job run counter);
 *   - the log is whole: one line per job, none torn or overwritten, the
 *     file as long as the bookkeeping says, nobody ever found inside the
 *     lock on entry (two holders at once would overwrite a line);
 *   - permits are conserved: as_sem_value() == limit, nobody waits;
 *   - every worker exited with status 0 (its own checks passed).
 * It prints a short summary and exits non-zero if any check failed.
 * Exit 77 (skipped) when process-shared async waits are not available:
 * they need the uring backend, Linux 6.7+ (AS_CAP_PSHARED).
 *
 * Usage: prefork [--quick] [--workers N] [--tasks N] [--limit N] [--jobs N]
 *                [--hold-us N]
 *   --quick      512 jobs instead of 4096
 *   --workers N  worker processes (4)
 *   --tasks N    tasks per worker (64)
 *   --limit N    permits: jobs running at once across all workers (4)
 *   --jobs N     jobs in all (4096)
 *   --hold-us N  how long a job holds its permit, in microseconds (200)
 */
#define _GNU_SOURCE /* liburing.h needs it (cpu_set_t) */
#include <asyncsync.h>
#include <liburing.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS  64
#define MAX_TASKS    1024
#define MAX_JOBS     (1u << 20)
#define RING_ENTRIES 256
#define STALL_SECS   10     /* watchdog: no completion for this long is a hang */
#define EXIT_SKIP    77
#define LOG_LINE     32     /* "job 00000123 worker 01 .......\n" */

/* ---- what the processes share -------------------------------------------
 *
 * One mapping, laid out as
 *
 *   [ as_sem + slots ][ as_mutex + slots ][ struct stats ][ runs[jobs] ]
 *
 * The semaphore comes first (it wants 8-byte alignment; the mapping is
 * page-aligned) and reserves room right behind it for one waiter slot per
 * task of every worker, AS_PSHARED_SIZE(as_sem, k) bytes in all: each
 * waiting task owns a slot, and with enough of them waiters are served
 * strictly in arrival order (docs/pshared.md, "overflow").  Nothing in the
 * mapping is a pointer, so a memfd or shm_open object mapped at another
 * address in each process would do as well as this inherited mapping.
 */
struct stats {
    atomic_uint_fast64_t next_job;    /* the next job number to claim */
    atomic_uint_fast64_t jobs_run;    /* jobs that held a permit and ran */
    atomic_int in_use;                /* tasks holding a permit right now */
    atomic_int max_in_use;            /* the most that ever did at once */
    atomic_uint_fast64_t queued;      /* acquires that had to wait (returned 0) */
    atomic_uint_fast64_t log_queued;  /* log locks that had to wait */
    atomic_uint failures;             /* any worker's broken check */
    uint64_t per_worker[MAX_WORKERS]; /* jobs run by each worker (its own cell) */
    /* the job log: plain fields, only under the log mutex */
    struct {
        int inside;                   /* 1 while a holder is in (checked) */
        uint64_t bytes, entries, job_sum;
    } log;
};

static struct {
    unsigned workers, tasks, limit, hold_us;
    uint64_t jobs;
    size_t sem_bytes;                 /* AS_PSHARED_SIZE(as_sem, slots), rounded */
    size_t mutex_bytes;               /* AS_PSHARED_SIZE(as_mutex, slots), rounded */
    void *map;                        /* the MAP_SHARED mapping */
    size_t map_bytes;
    as_sem *sem;                      /* in the mapping */
    as_mutex *log_mx;                 /* in the mapping: guards st->log */
    int log_fd;                       /* the log file (a memfd) */
    struct stats *st;                 /* in the mapping */
    atomic_uint *runs;                /* in the mapping: runs[job] */
} g;

/* ---- one worker process -------------------------------------------------- */

struct worker;

struct task {
    struct worker *w;
    as_wait wait;                     /* the permit request (process-local) */
    as_wait log_wait;                 /* the log lock request */
    bool logging;                     /* the CQE to come is the log write's */
    char line[LOG_LINE + 1];          /* the log line being written */
    struct __kernel_timespec hold;    /* the IORING_OP_TIMEOUT's duration */
    uint64_t job;                     /* the job under way */
};

struct worker {
    unsigned id;
    struct io_uring ring;
    as_loop loop;
    unsigned active;                  /* tasks that still have work */
    uint64_t jobs;                    /* jobs this worker ran */
    struct task tasks[MAX_TASKS];
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "prefork[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_fetch_add(&g.st->failures, 1);
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&w->ring)) == NULL)
        io_uring_submit(&w->ring);    /* SQ full: flush it, then retry */
    return sqe;
}

static void task_next(struct task *t);

/* The task holds a permit: count it, then do the job's I/O while holding
 * it.  The I/O is a timeout on this worker's ring; its CQE ends the job. */
static void task_run(struct task *t)
{
    /* in_use counts holders in every process.  It goes up only after the
     * permit was granted and down before it is released, so it can never
     * exceed the limit unless the semaphore let too many in. */
    int now = atomic_fetch_add(&g.st->in_use, 1) + 1;
    int max = atomic_load(&g.st->max_in_use);
    while (now > max && !atomic_compare_exchange_weak(&g.st->max_in_use, &max, now))
        ;
    if (now > (int)g.limit)
        fail("%d holders at once, limit %u", now, g.limit);

    struct io_uring_sqe *sqe = get_sqe(t->w);
    io_uring_prep_timeout(sqe, &t->hold, 0, 0);
    io_uring_sqe_set_data(sqe, t);   /* submitted with the loop's next submit */
}

/* Granted (status 0) or not (an error: nothing is held). */
static void on_permit(as_wait *req, int status, void *arg)
{
    (void)req;
    struct task *t = arg;
    if (status != 0) {
        fail("permit for job %" PRIu64 ": %s", t->job, as_strerror(status));
        task_next(t);                 /* give this job up, go on */
        return;
    }
    task_run(t);
}

/* Claim the next job, if any is left, and ask for a permit for it. */
static void task_next(struct task *t)
{
    uint64_t job = atomic_fetch_add(&g.st->next_job, 1);
    if (job >= g.jobs) {
        t->w->active--;               /* no work left anywhere */
        return;
    }
    t->job = job;
    int r = as_sem_acquire_async(g.sem, &t->w->loop, &t->wait, 1, on_permit, t);
    if (r == 1) {                     /* a permit was free: no callback */
        task_run(t);
    } else if (r == 0) {              /* on_permit() runs later, on this loop */
        atomic_fetch_add(&g.st->queued, 1);
    } else {
        fail("as_sem_acquire_async: %s", as_strerror(r));
        task_next(t);
    }
}

/* Holding the log mutex: write the job's line at the end of the log.  The
 * lock stays held until the write completed (log_written). */
static void log_job(struct task *t)
{
    if (g.st->log.inside++ != 0)
        fail("two holders of the log mutex at once");
    snprintf(t->line, sizeof t->line, "job %08" PRIu64 " worker %02u %*s\n", t->job,
             t->w->id, LOG_LINE - 24, "");
    struct io_uring_sqe *sqe = get_sqe(t->w);
    io_uring_prep_write(sqe, g.log_fd, t->line, LOG_LINE, g.st->log.bytes);
    io_uring_sqe_set_data(sqe, t);
    t->logging = true;
}

/* The log write completed: account for it, unlock, go on. */
static void log_written(struct task *t, int res)
{
    t->logging = false;
    if (res != LOG_LINE)
        fail("log write of job %" PRIu64 ": %d", t->job, res);
    g.st->log.bytes += LOG_LINE;
    g.st->log.entries++;
    g.st->log.job_sum += t->job;
    g.st->log.inside--;
    int r = as_mutex_unlock(g.log_mx);  /* may hand it to any process's task */
    if (r < 0)
        fail("as_mutex_unlock: %s", as_strerror(r));
    task_next(t);
}

static void on_log_locked(as_wait *req, int status, void *arg)
{
    (void)req;
    struct task *t = arg;
    if (status != 0) {
        fail("log lock for job %" PRIu64 ": %s", t->job, as_strerror(status));
        task_next(t);
        return;
    }
    log_job(t);
}

/* The job's I/O completed: record the job, give the permit back, log it. */
static void task_done(struct task *t, int res)
{
    if (res != -ETIME)                /* a plain timeout ends with -ETIME */
        fail("job %" PRIu64 ": timeout CQE %d", t->job, res);
    if (atomic_fetch_add(&g.runs[t->job], 1) != 0)
        fail("job %" PRIu64 " ran twice", t->job);
    atomic_fetch_add(&g.st->jobs_run, 1);
    t->w->jobs++;

    atomic_fetch_sub(&g.st->in_use, 1);
    /* May grant the permit to a task of any worker: the library records
     * the grant in the shared object and wakes that task's loop. */
    int r = as_sem_release(g.sem, 1);
    if (r < 0)
        fail("as_sem_release: %s", as_strerror(r));
    /* The log, under the process-shared mutex: 1 locked now, 0 later
     * (on_log_locked runs on this loop when it is handed over). */
    r = as_mutex_lock_async(g.log_mx, &t->w->loop, &t->log_wait, on_log_locked, t);
    if (r == 1)
        log_job(t);
    else if (r == 0)
        atomic_fetch_add(&g.st->log_queued, 1);
    else {
        fail("as_mutex_lock_async: %s", as_strerror(r));
        task_next(t);
    }
}

/* Hand every CQE to asyncsync first; what it does not claim is ours. */
static void reap(struct worker *w)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
        if (!as_loop_handle_cqe(&w->loop, cqe)) {
            struct task *t = io_uring_cqe_get_data(cqe);
            if (t != NULL && cqe->user_data != LIBURING_UDATA_TIMEOUT) {
                if (t->logging)
                    log_written(t, cqe->res);
                else
                    task_done(t, cqe->res);
            }
        }
        n++;
    }
    io_uring_cq_advance(&w->ring, n);
}

/* Block for a completion; -ETIME after STALL_SECS without one. */
static int wait_cqe(struct worker *w)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { .tv_sec = STALL_SECS, .tv_nsec = 0 };
    return io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts);
}

static void run_loop(struct worker *w)
{
    for (;;) {
        /* (1) Run what the library has ready: permits granted to our tasks,
         * by this worker or by another process.  Callbacks queue SQEs. */
        int r = as_loop_run(&w->loop);
        if (r < 0)
            fail("as_loop_run: %s", as_strerror(r));
        if (w->active == 0)
            break;                    /* every task is out of work */

        /* (2) Submit before blocking: our timeouts and the library's SQEs
         * (the futex waits that park our tasks) share one system call. */
        io_uring_submit(&w->ring);

        /* (3) Block for a completion.  A permit released by another process
         * arrives as a CQE on this ring; the timeout is only a watchdog. */
        r = wait_cqe(w);
        if (r == -ETIME) {
            fprintf(stderr, "prefork[%d]: worker %u: nothing for %d s (%u tasks "
                    "active, %" PRId64 " permits free): lost wake-up?\n",
                    (int)getpid(), w->id, STALL_SECS, w->active, as_sem_value(g.sem));
            atomic_fetch_add(&g.st->failures, 1);
            _exit(EXIT_FAILURE);
        }
        if (r < 0 && r != -EINTR) {
            fail("io_uring_wait_cqe_timeout: %s", strerror(-r));
            _exit(EXIT_FAILURE);
        }

        /* (4) Dispatch the completions. */
        reap(w);
    }
    io_uring_submit(&w->ring);        /* anything the library still queued */
}

/* The body of a worker process.  Returns its exit status. */
static int worker_main(unsigned id, int start_fd)
{
    static struct worker w;           /* per process: each child has its own */
    w.id = id;

    /* The ring and the loop are made in the child, after fork(): an
     * io_uring instance belongs to the process that created it. */
    int r = io_uring_queue_init(RING_ENTRIES, &w.ring, 0);
    if (r < 0) {
        fail("io_uring_queue_init: %s", strerror(-r));
        return EXIT_FAILURE;
    }
    r = as_loop_init_uring(&w.loop, &w.ring, NULL);
    if (r < 0) {
        fail("as_loop_init_uring: %s", as_strerror(r));
        return EXIT_FAILURE;
    }

    /* Start together: the parent closes the pipe once every worker exists. */
    char c;
    while (read(start_fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(start_fd);

    w.active = g.tasks;
    for (unsigned i = 0; i < g.tasks; i++) {
        struct task *t = &w.tasks[i];
        t->w = &w;
        t->hold.tv_sec = g.hold_us / 1000000;
        t->hold.tv_nsec = (long long)(g.hold_us % 1000000) * 1000;
        task_next(t);
    }
    run_loop(&w);

    /* Teardown.  Every wait on this loop has had its callback; -EAGAIN asks
     * for the completions of what the library cancelled on the ring. */
    while ((r = as_loop_destroy(&w.loop)) == -EAGAIN) {
        io_uring_submit(&w.ring);
        if (wait_cqe(&w) == -ETIME)
            break;
        reap(&w);
    }
    if (r != 0)
        fail("worker %u: as_loop_destroy: %s", id, as_strerror(r));
    io_uring_queue_exit(&w.ring);

    g.st->per_worker[id] = w.jobs;    /* this worker's own cell */
    return atomic_load(&g.st->failures) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- the parent ---------------------------------------------------------- */

/* Can this machine run process-shared async waits?  A loop on a ring of
 * our own says so with AS_CAP_PSHARED (the uring backend: Linux 6.7+). */
static bool pshared_async_available(void)
{
    struct io_uring ring;
    as_loop loop;
    bool ok = false;
    if (io_uring_queue_init(8, &ring, 0) < 0)
        return false;                 /* no io_uring (old kernel, sandbox) */
    if (as_loop_init_uring(&loop, &ring, NULL) == 0) {
        ok = (as_loop_caps(&loop) & AS_CAP_PSHARED) != 0;
        as_loop_destroy(&loop);
    }
    io_uring_queue_exit(&ring);
    return ok;
}

static unsigned long arg_num(const char *opt, const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || errno || *end || v < 1 || v > max) {
        fprintf(stderr, "prefork: %s needs a number from 1 to %lu\n", opt, max);
        exit(2);
    }
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every job's line once, none torn: the writes under the lock never
 * overlapped, and the bookkeeping kept under it agrees with the file. */
static bool log_whole(void)
{
    struct stat sb;
    char line[LOG_LINE + 1];
    uint64_t sum = 0;
    if (g.st->log.inside != 0 || g.st->log.entries != g.jobs ||
        g.st->log.bytes != g.jobs * LOG_LINE || fstat(g.log_fd, &sb) < 0 ||
        (uint64_t)sb.st_size != g.st->log.bytes)
        return false;
    for (uint64_t i = 0; i < g.jobs; i++) {
        unsigned long long job;
        unsigned worker;
        line[LOG_LINE] = '\0';
        if (pread(g.log_fd, line, LOG_LINE, (off_t)(i * LOG_LINE)) != LOG_LINE ||
            line[LOG_LINE - 1] != '\n' ||
            sscanf(line, "job %llu worker %u", &job, &worker) != 2 || job >= g.jobs ||
            worker >= g.workers || atomic_load(&g.runs[job]) != 1)
            return false;
        sum += job;
    }
    return sum == g.jobs * (g.jobs - 1) / 2 && g.st->log.job_sum == sum;
}

static int check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  %s ", ok ? "ok    " : "FAILED");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    g.workers = 4;
    g.tasks = 64;
    g.limit = 4;
    g.jobs = 4096;
    g.hold_us = 200;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0)
            g.jobs = 512;
        else if (strcmp(a, "--workers") == 0)
            g.workers = (unsigned)arg_num(a, argv[++i], MAX_WORKERS);
        else if (strcmp(a, "--tasks") == 0)
            g.tasks = (unsigned)arg_num(a, argv[++i], MAX_TASKS);
        else if (strcmp(a, "--limit") == 0)
            g.limit = (unsigned)arg_num(a, argv[++i], 1u << 20);
        else if (strcmp(a, "--jobs") == 0)
            g.jobs = arg_num(a, argv[++i], MAX_JOBS);
        else if (strcmp(a, "--hold-us") == 0)
            g.hold_us = (unsigned)arg_num(a, argv[++i], 10000000);
        else {
            fprintf(stderr, "usage: prefork [--quick] [--workers N] [--tasks N] "
                    "[--limit N] [--jobs N] [--hold-us N]\n");
            return 2;
        }
    }

    if (!pshared_async_available()) {
        printf("prefork: skipped: process-shared async waits need io_uring "
               "futex operations (Linux 6.7+, AS_CAP_PSHARED)\n");
        return EXIT_SKIP;
    }

    /* (1) One MAP_SHARED mapping, before fork(): every worker inherits it.
     * Layout: the semaphore and its slots, the stats, the run counters. */
    unsigned slots = g.workers * g.tasks;         /* one per task that may wait */
    if (slots > AS_PSHARED_SLOTS_MAX)
        slots = AS_PSHARED_SLOTS_MAX;  /* more waiters than that: overflow */
    g.sem_bytes = (AS_PSHARED_SIZE(as_sem, slots) + 63) & ~(size_t)63;
    g.mutex_bytes = (AS_PSHARED_SIZE(as_mutex, slots) + 63) & ~(size_t)63;
    g.map_bytes = g.sem_bytes + g.mutex_bytes + sizeof(struct stats) +
                  g.jobs * sizeof(atomic_uint);
    g.map = mmap(NULL, g.map_bytes, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);   /* zero-filled */
    if (g.map == MAP_FAILED) {
        perror("prefork: mmap");
        return EXIT_FAILURE;
    }
    g.sem = (as_sem *)g.map;
    g.log_mx = (as_mutex *)(void *)((char *)g.map + g.sem_bytes);
    g.st = (struct stats *)((char *)g.map + g.sem_bytes + g.mutex_bytes);
    g.runs = (atomic_uint *)(g.st + 1);

    /* (2) The global limit: a semaphore whose waiters may be in any process
     * that maps it.  Initialised once, by the parent, before the fork. */
    int r = as_sem_init(g.sem, g.limit, AS_PSHARED | AS_PSHARED_SLOTS(slots));
    if (r == -EOPNOTSUPP) {
        printf("prefork: skipped: AS_PSHARED is not built on this system\n");
        return EXIT_SKIP;
    }
    if (r < 0) {
        fprintf(stderr, "prefork: as_sem_init: %s\n", as_strerror(r));
        return EXIT_FAILURE;
    }
    /* The log: a file every worker inherits, and its lock, a mutex for
     * tasks of every process (a slot each). */
    g.log_fd = memfd_create("prefork-log", MFD_CLOEXEC);
    if (g.log_fd < 0) {
        perror("prefork: memfd_create");
        return EXIT_FAILURE;
    }
    r = as_mutex_init(g.log_mx, AS_PSHARED | AS_PSHARED_SLOTS(slots));
    if (r < 0) {
        fprintf(stderr, "prefork: as_mutex_init: %s\n", as_strerror(r));
        return EXIT_FAILURE;
    }

    /* (3) Fork the workers.  They wait on a pipe until all exist. */
    int start[2];
    if (pipe(start) < 0) {
        perror("prefork: pipe");
        return EXIT_FAILURE;
    }
    printf("prefork: %u workers x %u tasks, limit %u, %" PRIu64 " jobs holding "
           "a permit for %u us each\n", g.workers, g.tasks, g.limit, g.jobs, g.hold_us);
    fflush(stdout);                   /* nothing buffered for the children */
    pid_t pids[MAX_WORKERS];
    double t0 = now_s();
    for (unsigned i = 0; i < g.workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("prefork: fork");
            return EXIT_FAILURE;      /* the others finish on their own */
        }
        if (pids[i] == 0) {
            close(start[1]);
            _exit(worker_main(i, start[0]));
        }
    }
    close(start[0]);
    close(start[1]);                  /* EOF: every worker starts now */

    /* (4) Wait for every worker; each exits 0 when its own checks held. */
    int errors = 0;
    for (unsigned i = 0; i < g.workers; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0) {
            if (errno != EINTR) {
                perror("prefork: waitpid");
                return EXIT_FAILURE;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "prefork: worker %u (pid %d) %s %d\n", i, (int)pids[i],
                    WIFEXITED(status) ? "exited with" : "killed by signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            errors++;
        }
    }
    double elapsed = now_s() - t0;

    /* (5) Check what the workers left in the shared block. */
    uint64_t once = 0, total = atomic_load(&g.st->jobs_run), sum = 0;
    for (uint64_t j = 0; j < g.jobs; j++)
        once += atomic_load(&g.runs[j]) == 1;
    for (unsigned i = 0; i < g.workers; i++)
        sum += g.st->per_worker[i];
    int max = atomic_load(&g.st->max_in_use);

    printf("ran %" PRIu64 " jobs in %.3f s (%.0f jobs/s); %" PRIu64
           " acquires queued behind the limit, %" PRIu64 " log locks behind "
           "another holder\n", total, elapsed, (double)total / elapsed,
           (uint64_t)atomic_load(&g.st->queued), (uint64_t)atomic_load(&g.st->log_queued));
    printf("jobs per worker:");
    for (unsigned i = 0; i < g.workers; i++)
        printf(" %" PRIu64, g.st->per_worker[i]);
    printf("\nchecks:\n");
    errors += check(errors == 0, "every worker exited with status 0");
    errors += check(atomic_load(&g.st->failures) == 0,
                    "no worker reported a failure (%u)", atomic_load(&g.st->failures));
    errors += check(max >= 1 && max <= (int)g.limit,
                    "at most %u jobs held a permit at once across processes "
                    "(most seen: %d)", g.limit, max);
    errors += check(once == g.jobs && total == g.jobs && sum == g.jobs,
                    "every job ran exactly once (%" PRIu64 " of %" PRIu64 ")",
                    once, g.jobs);
    errors += check(log_whole(), "the log, written under the process-shared mutex, "
                    "is whole: %" PRIu64 " lines of %d bytes, one per job", g.st->log.entries,
                    LOG_LINE);
    errors += check(atomic_load(&g.st->in_use) == 0, "nobody holds a permit now");
    int64_t value = as_sem_value(g.sem);
    errors += check(value == (int64_t)g.limit, "permits conserved: as_sem_value "
                    "= %" PRId64 " (limit %u)", value, g.limit);
    errors += check(as_sem_waiters(g.sem) == 0, "no waiter left queued");

    r = as_sem_destroy(g.sem);
    errors += check(r == 0, "as_sem_destroy: %s", r == 0 ? "0" : as_strerror(r));
    r = as_mutex_destroy(g.log_mx);
    errors += check(r == 0, "as_mutex_destroy (unlocked, nobody waiting): %s",
                    r == 0 ? "0" : as_strerror(r));
    munmap(g.map, g.map_bytes);
    printf("prefork: %s\n", errors ? "FAILED" : "ok");
    return errors ? EXIT_FAILURE : EXIT_SUCCESS;
}
