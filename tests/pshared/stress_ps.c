/*
 * stress_ps.c: randomized stress of the process-shared primitives across
 * processes, with processes killed (SIGKILL) mid-run (issue 14).
 *
 * One MAP_SHARED mapping, made before fork(), holds
 *   sem    an AS_PSHARED semaphore of P permits (slots for every task);
 *   start  an AS_PSHARED manual-reset event the parent sets to start;
 *   stop   an AS_PSHARED manual-reset event the parent sets at the end;
 *   done   an AS_PSHARED latch: each worker counts down once its rounds are
 *          done (the parent, for each worker it killed);
 *   mx     an AS_PSHARED | AS_MUTEX_ROBUST mutex that one task per worker
 *          locks, holds across a ring timeout and unlocks, while the
 *          permit tasks have work;
 *   shared counters every process updates atomically.
 * Each worker is a process with its own ring and loop, W_TASKS tasks and a
 * thread that cancels random pending waits from outside the loop.  A task
 * acquires 1 or 2 permits (async, or with a deadline of 0-2 ms), holds
 * them across an IORING_OP_TIMEOUT of 0-100 us, releases them, and goes
 * again until the worker's rounds are done; a second thread per worker
 * takes permits with as_sem_acquire_blocking.  Every wait waits for the
 * start event first (so the workers start together), and the stop event
 * ends each worker's loop.
 *
 * Checked, in every process, in shared memory:
 *   - mutual exclusion of the count: the permits held at once (inuse)
 *     never exceed P;
 *   - every callback comes once for one arming (no double, no stray);
 *   - the mutex has one holder at a time (MX1), and the first kill lands
 *     while the victim holds it (tried for 2000 stops): the next locker,
 *     a worker or at the end the parent, gets -EOWNERDEAD, repairs, and
 *     as_mutex_consistent succeeds (MX2); -EOWNERDEAD at least once per
 *     victim killed holding it, at most once per victim;
 *   - the workers that were not killed finish all their rounds (nothing
 *     hangs: a watchdog alarm kills a stuck worker, which fails the run);
 * and at the end, by the parent:
 *   - every surviving worker exited 0;
 *   - permits conserved as documented: a worker is killed at a moment of
 *     rest (stopped with SIGSTOP and inspected through /proc: its loop
 *     thread asleep in io_uring_enter, its blocking thread done or asleep
 *     in futex(2)), so what it holds is what it recorded; the parent
 *     releases that, as a prefork master would, and at the end acquires
 *     all P permits (blocking: its health ticks reclaim grants made to
 *     dead waiters), which must succeed, and the value is P;
 *   - nobody waits any more on any object (the dead's slots and counts
 *     were reclaimed by the health ticks and the counters).
 *
 * Usage: stress_ps [--seed N] [--workers N] [--rounds N] [--kill N]
 * Exit 77 (skipped) without AS_CAP_PSHARED (uring backend, Linux 6.7+).
 */
#define _GNU_SOURCE
#include <asyncsync.h>
#include <liburing.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define P 3            /* permits */
#define MAX_WORKERS 8
#define W_TASKS 16     /* tasks per worker */
#define SLOTS (MAX_WORKERS * (W_TASKS + 1))

struct shared {
    atomic_int inuse;         /* permits held now, all processes */
    atomic_int max_inuse;
    atomic_int violations;    /* a check failed somewhere */
    atomic_long grants, cancels, timeouts, blocking;
    atomic_long rounds;       /* acquires started, all workers */
    atomic_int held[MAX_WORKERS];   /* permits worker k holds now */
    atomic_int finished[MAX_WORKERS];
    /* where worker k's threads are, for the parent's kill (below) */
    atomic_int main_tid[MAX_WORKERS];
    atomic_int blk_tid[MAX_WORKERS];   /* 0: the blocking thread is done */
    atomic_int blk_phase[MAX_WORKERS]; /* 1: inside as_sem_acquire_blocking */
    /* the robust mutex (MX1-MX2 below) */
    int mx_inside;            /* under the mutex: 1 while a holder is in */
    int mx_holder;            /* under the mutex: worker id + 1 of the holder */
    atomic_long mx_locks;
    atomic_int owner_dead;    /* -EOWNERDEAD seen (by a worker or the parent) */
    char why[256];            /* the first failed check */
};

static struct shared *sh;
static as_sem *sem;
static as_event *start_ev, *stop_ev;
static as_latch *done_lt;
static as_mutex *mx;

static void violation(const char *fmt, long a, long b)
{
    if (atomic_fetch_add(&sh->violations, 1) == 0)
        snprintf(sh->why, sizeof sh->why, fmt, a, b);
}

/* ---- a worker ---- */

enum { T_START, T_ACQ, T_HOLD, T_DONE };

struct task {
    as_wait w;
    int k;                    /* task index */
    int state;
    uint32_t n;
    atomic_int armed;         /* a wait is pending: 1 acquire, 2 the start wait */
    struct __kernel_timespec ts;
};

static struct {
    int id;
    struct io_uring ring;
    as_loop loop;
    struct task t[W_TASKS];
    as_wait stop_w;
    bool stopped;
    /* the worker's mutex task: locks mx (robust), holds it across a ring
     * timeout, unlocks, again while the permit tasks have work */
    as_wait mw;
    struct __kernel_timespec mts;
    bool mx_live;
    bool mx_holding;          /* its timeout CQE is the mutex hold's */
    int rounds_left;
    int live_tasks;
    unsigned seed;
    atomic_bool quit;         /* the canceller thread ends */
} W;

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static void task_next(struct task *t);

static void granted(struct task *t)
{
    int now = atomic_fetch_add(&sh->inuse, (int)t->n) + (int)t->n;
    int m = atomic_load(&sh->max_inuse);
    if (now > P)
        violation("%ld permits held at once (limit %ld)", now, P);
    while (now > m && !atomic_compare_exchange_weak(&sh->max_inuse, &m, now))
        ;
    atomic_fetch_add(&sh->held[W.id], (int)t->n);
    atomic_fetch_add(&sh->grants, 1);
    /* hold across real ring work */
    struct io_uring_sqe *sqe = io_uring_get_sqe(&W.ring);
    if (!sqe) {
        io_uring_submit(&W.ring);
        sqe = io_uring_get_sqe(&W.ring);
    }
    if (!sqe)
        _exit(90);
    t->ts.tv_sec = 0;
    t->ts.tv_nsec = (long long)(rnd(&W.seed) % 100) * 1000;
    io_uring_prep_timeout(sqe, &t->ts, 0, 0);
    io_uring_sqe_set_data(sqe, t);
    t->state = T_HOLD;
}

static void on_cb(as_wait *w, int status, void *arg)
{
    struct task *t = arg;
    (void)w;
    if (atomic_exchange(&t->armed, 0) == 0)
        violation("task %ld: a callback without a pending wait (status %ld)", t->k, status);
    if (t->state == T_START) {
        if (status != 0)
            violation("task %ld: the start wait ended with %ld", t->k, status);
        task_next(t);
        return;
    }
    if (status == 0) {
        granted(t);
        return;
    }
    if (status == -ECANCELED)
        atomic_fetch_add(&sh->cancels, 1);
    else if (status == -ETIMEDOUT)
        atomic_fetch_add(&sh->timeouts, 1);
    else
        violation("task %ld: acquire ended with %ld", t->k, status);
    task_next(t);
}

static void task_next(struct task *t)
{
    int r;
    if (W.rounds_left <= 0) {
        t->state = T_DONE;
        W.live_tasks--;
        return;
    }
    W.rounds_left--;
    atomic_fetch_add(&sh->rounds, 1);
    t->state = T_ACQ;
    t->n = 1 + rnd(&W.seed) % 2;
    atomic_store(&t->armed, 1);
    if (rnd(&W.seed) % 4 == 0)
        r = as_sem_acquire_until(sem, &W.loop, &t->w, t->n,
                                 as_now_ns() + (rnd(&W.seed) % 2000) * 1000u, on_cb, t);
    else
        r = as_sem_acquire_async(sem, &W.loop, &t->w, t->n, on_cb, t);
    if (r == 1) {
        atomic_store(&t->armed, 0);
        granted(t);
    } else if (r == -ETIMEDOUT) {
        atomic_store(&t->armed, 0);
        atomic_fetch_add(&sh->timeouts, 1);
        task_next(t);
    } else if (r != 0) {
        violation("acquire returned %ld (task %ld)", r, t->k);
        atomic_store(&t->armed, 0);
        t->state = T_DONE;
        W.live_tasks--;
    }
}

/* ---- the mutex task ----
 * MX1 (exclusion): whoever holds mx finds mx_inside 0 and sets it, unless
 * it got the lock with -EOWNERDEAD: then the holder it replaces died
 * inside (mx_inside 1, mx_holder a worker that is not us) or died before
 * it claimed a grant (mx_inside 0); it repairs (mx_inside := 0) and calls
 * as_mutex_consistent (MX2: which must succeed), then goes on. */
static void mx_next(void);

static void mx_granted(int status)
{
    if (status == -EOWNERDEAD) {
        atomic_fetch_add(&sh->owner_dead, 1);
        if (sh->mx_inside && sh->mx_holder == W.id + 1)
            violation("worker %ld: -EOWNERDEAD, but the holder inside is us (%ld)", W.id, 0);
        sh->mx_inside = 0; /* the repair */
        if (as_mutex_consistent(mx) != 0)
            violation("worker %ld: as_mutex_consistent failed (%ld)", W.id, -1);
    } else if (status != 0) {
        violation("worker %ld: mutex lock ended with %ld", W.id, status);
        W.mx_live = false;
        W.live_tasks--;
        return;
    }
    if (sh->mx_inside != 0)
        violation("worker %ld: the mutex granted while worker %ld is inside", W.id,
                  sh->mx_holder - 1);
    sh->mx_inside = 1;
    sh->mx_holder = W.id + 1;
    atomic_fetch_add(&sh->mx_locks, 1);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&W.ring);
    if (!sqe) {
        io_uring_submit(&W.ring);
        sqe = io_uring_get_sqe(&W.ring);
    }
    if (!sqe)
        _exit(89);
    W.mts.tv_sec = 0;
    W.mts.tv_nsec = (long long)(rnd(&W.seed) % 100) * 1000;
    io_uring_prep_timeout(sqe, &W.mts, 0, 0);
    io_uring_sqe_set_data(sqe, &W.mw);
    W.mx_holding = true;
}

static void on_mx(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    mx_granted(status);
}

static void mx_release(void)
{
    W.mx_holding = false;
    sh->mx_inside = 0;
    sh->mx_holder = 0;
    if (as_mutex_unlock(mx) != 0)
        violation("worker %ld: as_mutex_unlock (%ld)", W.id, -1);
    mx_next();
}

static void mx_next(void)
{
    if (W.rounds_left <= 0) { /* as long as the permit tasks have work */
        W.mx_live = false;
        W.live_tasks--;
        return;
    }
    int r = as_mutex_lock_async(mx, &W.loop, &W.mw, on_mx, NULL);
    if (r == 1 || r == -EOWNERDEAD)
        mx_granted(r == 1 ? 0 : r);
    else if (r != 0) {
        violation("worker %ld: as_mutex_lock_async %ld", W.id, r);
        W.mx_live = false;
        W.live_tasks--;
    }
}

static void on_stop(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    if (status != 0)
        violation("worker %ld: the stop wait ended with %ld", W.id, status);
    W.stopped = true;
}

/* Cancels random pending waits from outside the loop (as_cancel from any
 * thread), racing grants, deadlines and the loop's re-arming. */
static void *canceller(void *arg)
{
    unsigned s = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&W.quit)) {
        struct task *t = &W.t[rnd(&s) % W_TASKS];
        if (rnd(&s) % 8 == 0 && atomic_load(&t->armed) == 1) /* not the start wait */
            (void)as_cancel(&t->w);
        for (unsigned i = rnd(&s) % 2000; i > 0; i--)
            __asm__ volatile("" ::: "memory");
        sched_yield();
    }
    return NULL;
}

/* Takes permits with the blocking call, from a thread that runs no loop. */
static void *blocker(void *arg)
{
    (void)arg;
    atomic_store(&sh->blk_tid[W.id], (int)gettid());
    for (int i = 0; i < 20 && !atomic_load(&W.quit); i++) {
        atomic_store(&sh->blk_phase[W.id], 1);
        int r = as_sem_acquire_blocking(sem, 1, as_now_ns() + 2000000u);
        atomic_store(&sh->blk_phase[W.id], 0);
        if (r == -ETIMEDOUT)
            continue;
        if (r != 0) {
            violation("blocking acquire: %ld (worker %ld)", r, W.id);
            return NULL;
        }
        int now = atomic_fetch_add(&sh->inuse, 1) + 1;
        if (now > P)
            violation("%ld permits held at once (limit %ld), blocking", now, P);
        atomic_fetch_add(&sh->held[W.id], 1);
        atomic_fetch_add(&sh->blocking, 1);
        sched_yield();
        atomic_fetch_sub(&sh->held[W.id], 1);
        atomic_fetch_sub(&sh->inuse, 1);
        if (as_sem_release(sem, 1) != 0)
            violation("release: %ld (worker %ld)", -1, W.id);
    }
    atomic_store(&sh->blk_tid[W.id], 0);
    return NULL;
}

static int worker_main(int id, int rounds, unsigned seed)
{
    pthread_t ct, bt;
    W.id = id;
    W.seed = seed * 7919u + (unsigned)id;
    W.rounds_left = rounds;
    W.live_tasks = W_TASKS + 1; /* and the mutex task */
    W.mx_live = true;
    atomic_store(&sh->main_tid[id], (int)gettid());
    alarm(120); /* a hung worker dies: the parent reports it */
    if (io_uring_queue_init(256, &W.ring, 0) < 0 ||
        as_loop_init_uring(&W.loop, &W.ring, NULL) < 0)
        return 96;
    for (int k = 0; k < W_TASKS; k++) {
        struct task *t = &W.t[k];
        t->k = k;
        t->state = T_START;
        atomic_store(&t->armed, 2);
        int r = as_event_wait_async(start_ev, &W.loop, &t->w, on_cb, t);
        if (r == 1) {
            atomic_store(&t->armed, 0);
            task_next(t);
        } else if (r != 0) {
            return 95;
        }
    }
    mx_next();
    if (pthread_create(&ct, NULL, canceller, (void *)(uintptr_t)W.seed) != 0 ||
        pthread_create(&bt, NULL, blocker, (void *)(uintptr_t)(W.seed + 1)) != 0)
        return 94;
    bool counted = false, stop_armed = false;
    while (!W.stopped) {
        struct io_uring_cqe *cqe;
        as_loop_run(&W.loop);
        if (W.live_tasks == 0 && !counted) {
            /* the canceller may still be inside an as_cancel: end it first */
            atomic_store(&W.quit, true);
            pthread_join(ct, NULL);
            pthread_join(bt, NULL);
            atomic_store(&sh->finished[id], 1);
            if (as_latch_count_down(done_lt, 1) != 0)
                violation("count_down (worker %ld) %ld", id, -1);
            counted = true;
        }
        if (counted && !stop_armed) {
            int r = as_event_wait_async(stop_ev, &W.loop, &W.stop_w, on_stop, NULL);
            if (r == 1)
                W.stopped = true;
            else if (r != 0)
                return 93;
            stop_armed = true;
            continue;
        }
        if (W.stopped)
            break;
        io_uring_submit_and_wait(&W.ring, 1);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&W.ring, head, cqe) {
            seen++;
            if (as_loop_handle_cqe(&W.loop, cqe))
                continue;
            if (io_uring_cqe_get_data(cqe) == (void *)&W.mw && W.mx_holding) {
                mx_release();
                continue;
            }
            struct task *t = io_uring_cqe_get_data(cqe);
            if (!t || t->state != T_HOLD) {
                violation("a CQE nobody claims (worker %ld, res %ld)", id, cqe->res);
                continue;
            }
            atomic_fetch_sub(&sh->held[id], (int)t->n);
            atomic_fetch_sub(&sh->inuse, (int)t->n);
            if (as_sem_release(sem, t->n) != 0)
                violation("release (worker %ld, n %ld)", id, t->n);
            task_next(t);
        }
        io_uring_cq_advance(&W.ring, seen);
    }
    as_loop_run(&W.loop);
    for (int i = 0; i < 1000; i++) {
        int r = as_loop_destroy(&W.loop);
        if (r == 0)
            break;
        if (r != -EAGAIN && r != -EBUSY)
            return 92;
        struct io_uring_cqe *cqe;
        io_uring_submit(&W.ring);
        if (io_uring_wait_cqe(&W.ring, &cqe) == 0) {
            (void)as_loop_handle_cqe(&W.loop, cqe);
            io_uring_cqe_seen(&W.ring, cqe);
        }
        as_loop_run(&W.loop);
    }
    io_uring_queue_exit(&W.ring);
    return 0;
}

/* ---- the parent ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* The system call thread tid of pid is in (-1: running, or unknown). */
static long in_syscall(pid_t pid, int tid)
{
    char path[96], buf[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long nr = -1;
    if (!fgets(buf, sizeof buf, f) || sscanf(buf, "%ld", &nr) != 1)
        nr = -1;
    fclose(f);
    return nr;
}

/* Stopped (SIGSTOP), is worker k at a point where what it holds is what it
 * recorded?  Its loop thread asleep in io_uring_enter (every permit its
 * library claimed was handed to a callback, which recorded it, by the
 * as_loop_run before), and its blocking thread done or asleep in futex(2)
 * inside as_sem_acquire_blocking (nothing claimed yet).  A kill elsewhere
 * could land between a claim and its record, or a record and its release:
 * the parent could not tell what the dead held. */
static bool at_rest(pid_t pid, int k)
{
    int bt = atomic_load(&sh->blk_tid[k]);
    if (in_syscall(pid, atomic_load(&sh->main_tid[k])) != SYS_io_uring_enter)
        return false;
    if (bt == 0)
        return true;
    return atomic_load(&sh->blk_phase[k]) == 1 && in_syscall(pid, bt) == SYS_futex;
}

/* SIGKILL worker k at a moment of rest (at_rest): true if it was killed.
 * holding: for the first 2000 tries, only while it holds the mutex (its
 * death then reaches the next locker as -EOWNERDEAD). */
static bool kill_at_rest(pid_t pid, int k, bool holding)
{
    double end = now_s() + 30;
    for (int tries = 0; now_s() < end && !atomic_load(&sh->finished[k]); tries++) {
        int st;
        kill(pid, SIGSTOP);
        while (waitpid(pid, &st, WUNTRACED) < 0)
            ;
        if (at_rest(pid, k) &&
            (!holding || tries >= 2000 || (sh->mx_inside && sh->mx_holder == k + 1))) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0)
                ;
            return true;
        }
        kill(pid, SIGCONT);
        sched_yield();
    }
    return false;
}

static long arg_of(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 0);
    return dflt;
}

int main(int argc, char **argv)
{
    unsigned seed = (unsigned)arg_of(argc, argv, "--seed", 0);
    int workers = (int)arg_of(argc, argv, "--workers", 4);
    int rounds = (int)arg_of(argc, argv, "--rounds", 3000);
    int kills = (int)arg_of(argc, argv, "--kill", 2);
    pid_t pid[MAX_WORKERS];
    bool dead[MAX_WORKERS] = { false };
    int failed = 0, killed = 0, mx_dead_holders = 0;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    if (workers < 2 || workers > MAX_WORKERS || kills < 0 || kills >= workers) {
        fprintf(stderr, "stress_ps: bad arguments\n");
        return 2;
    }
    /* the policy of the semaphore and the mutex (6.3): strict for an odd
     * seed, the default (wake to retry) for an even one */
    unsigned strict = (seed & 1u) ? AS_SEM_STRICT_FIFO : 0u;
    printf("stress_ps: seed %u, %d workers x %d tasks, %d rounds each, %d killed, %s policy\n",
           seed, workers, W_TASKS, rounds, kills, strict ? "strict" : "default");
    /* the probe: can a loop here park on a shared word? */
    {
        struct io_uring ring;
        as_loop loop;
        if (io_uring_queue_init(8, &ring, 0) < 0)
            return 77;
        int ok = as_loop_init_uring(&loop, &ring, NULL) == 0 &&
                 (as_loop_caps(&loop) & AS_CAP_PSHARED);
        as_loop_destroy(&loop);
        io_uring_queue_exit(&ring);
        if (!ok) {
            printf("stress_ps: SKIPPED: no AS_CAP_PSHARED here (uring backend, Linux 6.7+)\n");
            return 77;
        }
    }
    /* the death of a waiter is noticed by its neighbours' health ticks */
    setenv("ASYNCSYNC_PSHARED_TICK_MS", "10", 1);
    char *map = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    sem = (as_sem *)(void *)map;
    start_ev = (as_event *)(void *)(map + 16384);
    stop_ev = (as_event *)(void *)(map + 20480);
    done_lt = (as_latch *)(void *)(map + 24576);
    mx = (as_mutex *)(void *)(map + 40960);
    sh = (struct shared *)(void *)(map + 32768);
    _Static_assert(AS_PSHARED_SIZE(as_sem, SLOTS) <= 16384, "layout");
    _Static_assert(AS_PSHARED_SIZE(as_mutex, SLOTS) <= 16384 &&
                   sizeof(struct shared) <= 8192, "layout");
    if (as_sem_init(sem, P, AS_PSHARED | AS_PSHARED_SLOTS(SLOTS) | strict) != 0 ||
        as_event_init(start_ev, AS_PSHARED | AS_EVENT_MANUAL_RESET | AS_PSHARED_SLOTS(8)) != 0 ||
        as_event_init(stop_ev, AS_PSHARED | AS_EVENT_MANUAL_RESET | AS_PSHARED_SLOTS(8)) != 0 ||
        as_latch_init_flags(done_lt, (uint32_t)workers, AS_PSHARED | AS_PSHARED_SLOTS(8)) != 0 ||
        as_mutex_init(mx, AS_PSHARED | AS_MUTEX_ROBUST | AS_PSHARED_SLOTS(SLOTS) | strict) != 0) {
        fprintf(stderr, "stress_ps: init failed\n");
        return 1;
    }
    fflush(stdout);
    for (int k = 0; k < workers; k++) {
        pid[k] = fork();
        if (pid[k] < 0)
            return 1;
        if (pid[k] == 0)
            _exit(worker_main(k, rounds, seed));
    }
    /* every worker's tasks wait on the start event: start them together */
    for (double end = now_s() + 30; as_event_waiters(start_ev) < workers * W_TASKS;) {
        if (now_s() > end) {
            fprintf(stderr, "stress_ps: the workers never all waited to start\n");
            failed = 1;
            break;
        }
        sched_yield();
    }
    as_event_set(start_ev);
    /* kill `kills` workers at random moments mid-run: when the grants
     * pass random marks (no sleep orders anything) */
    unsigned s = seed;
    for (int i = 0; i < kills; i++) {
        long total = (long)workers * rounds;
        long mark = total * (i + 1) / (kills + 2) +
                    (long)(rnd(&s) % (unsigned)(total / (4 * (kills + 2)) + 1));
        int k;
        do
            k = (int)(rnd(&s) % (unsigned)workers);
        while (dead[k]);
        for (double end = now_s() + 60; atomic_load(&sh->rounds) < mark;) {
            if (now_s() > end || atomic_load(&sh->finished[k]))
                break;
            sched_yield();
        }
        if (!kill_at_rest(pid[k], k, i == 0)) {
            printf("stress_ps: worker %d finished before it could be killed at rest\n", k);
            continue;
        }
        dead[k] = true;
        killed++;
        /* what a prefork master does: give back what the dead held (what
         * it recorded: it was killed at rest), and count down for it */
        /* at rest, a worker may hold the robust mutex across its timeout:
         * its death must then reach the next locker as -EOWNERDEAD */
        if (sh->mx_inside && sh->mx_holder == k + 1)
            mx_dead_holders++;
        int held = atomic_exchange(&sh->held[k], 0);
        atomic_fetch_sub(&sh->inuse, held);
        if (held > 0)
            as_sem_release(sem, (uint32_t)held);
        as_latch_count_down(done_lt, 1);
        printf("stress_ps: killed worker %d (pid %d) after %ld rounds, holding %d\n", k,
               (int)pid[k], atomic_load(&sh->rounds), held);
    }
    /* the survivors finish: the latch reaches 0 */
    int r = as_latch_wait_blocking(done_lt, as_now_ns() + 100000000000ull);
    if (r != 0) {
        fprintf(stderr, "stress_ps: the survivors did not finish: %s (latch %lld)\n",
                as_strerror(r), (long long)as_latch_value(done_lt));
        failed = 1;
    }
    as_event_set(stop_ev);
    for (int k = 0; k < workers; k++) {
        int st;
        if (dead[k])
            continue;
        while (waitpid(pid[k], &st, 0) < 0)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "stress_ps: worker %d: %s %d\n", k,
                    WIFEXITED(st) ? "exit" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            failed = 1;
        }
    }
    /* permits granted to a dead process's waits come back through the
     * health check of a living waiter: a blocking acquire of all of them
     * (its futex timeouts are its ticks) must get every one */
    int got = 0;
    for (int i = 0; i < P; i++)
        if (as_sem_acquire_blocking(sem, 1, as_now_ns() + 5000000000ull) == 0)
            got++;
    if (got > 0)
        as_sem_release(sem, (uint32_t)got);
    int64_t v = as_sem_value(sem);
    printf("stress_ps: %ld grants (%ld blocking), %ld cancelled, %ld timed out; most "
           "held at once %d; value %lld of %d\n",
           atomic_load(&sh->grants), atomic_load(&sh->blocking), atomic_load(&sh->cancels),
           atomic_load(&sh->timeouts), atomic_load(&sh->max_inuse), (long long)v, P);
    if (atomic_load(&sh->violations)) {
        fprintf(stderr, "stress_ps: FAILED: %d violation(s), the first: %s\n",
                atomic_load(&sh->violations), sh->why);
        failed = 1;
    }
    if (got != P || v != P) {
        fprintf(stderr, "stress_ps: FAILED: permits not conserved: %d of %d acquired at the "
                "end, value %lld (%d killed)\n", got, P, (long long)v, killed);
        failed = 1;
    }
    /* nobody waits any more: the dead's slots and counts reclaimed (the
     * semaphore's by the survivors' health ticks, which ran before they
     * finished, or by the next waiter) */
    if (as_event_waiters(start_ev) != 0 || as_event_waiters(stop_ev) != 0 ||
        as_latch_waiters(done_lt) != 0) {
        fprintf(stderr, "stress_ps: FAILED: waiters left: start %lld stop %lld latch %lld\n",
                (long long)as_event_waiters(start_ev), (long long)as_event_waiters(stop_ev),
                (long long)as_latch_waiters(done_lt));
        failed = 1;
    }
    if (as_event_destroy(start_ev) != 0 || as_event_destroy(stop_ev) != 0 ||
        as_latch_destroy(done_lt) != 0) {
        fprintf(stderr, "stress_ps: FAILED: an event or the latch could not be destroyed\n");
        failed = 1;
    }
    /* the robust mutex: free, or free with OWNER_DEAD when no survivor
     * locked it after a holder died (the parent is then the next locker);
     * every death of a holder was reported once, and no other */
    r = as_mutex_try_lock(mx);
    if (r == -EOWNERDEAD) {
        atomic_fetch_add(&sh->owner_dead, 1);
        r = as_mutex_consistent(mx) == 0 ? 1 : -1;
    }
    if (r != 1 || as_mutex_unlock(mx) != 0 || as_mutex_destroy(mx) != 0) {
        fprintf(stderr, "stress_ps: FAILED: the mutex is not free at the end (%s)\n",
                as_strerror(r));
        failed = 1;
    }
    printf("stress_ps: mutex: %ld locks, %d -EOWNERDEAD, %d killed holding it\n",
           atomic_load(&sh->mx_locks), atomic_load(&sh->owner_dead), mx_dead_holders);
    if (atomic_load(&sh->owner_dead) < mx_dead_holders ||
        atomic_load(&sh->owner_dead) > killed) {
        fprintf(stderr, "stress_ps: FAILED: %d -EOWNERDEAD for %d killed (%d holding)\n",
                atomic_load(&sh->owner_dead), killed, mx_dead_holders);
        failed = 1;
    }
    /* No live wait is left (destroy is -EBUSY for one).  A dead process's
     * slots may still be counted by as_sem_waiters: with the default
     * policy, when a dead slot was woken to retry, the permits are back
     * and the acquires above took them without waiting, so no tick looked
     * at the slots; destroy reclaims them (9.2) before it decides. */
    r = as_sem_destroy(sem);
    if (r != 0) {
        fprintf(stderr, "stress_ps: FAILED: the semaphore could not be destroyed: %s "
                "(waiters %lld)\n", as_strerror(r), (long long)as_sem_waiters(sem));
        failed = 1;
    }
    munmap(map, 65536);
    printf("stress_ps: %s\n", failed ? "FAILED" : "ok");
    return failed;
}
