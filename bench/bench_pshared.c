/* Workload 15: process-shared semaphore (AS_PSHARED, issue 14).
 * SPDX-License-Identifier: MIT
 *
 * Every object lives in one MAP_SHARED anonymous mapping made before
 * fork(); every participant is a forked process.  The parent forks the
 * workers of one measurement, waits until each is ready (a byte on a pipe),
 * starts them by closing a second pipe, sleeps through the window (it takes
 * no part: the sleep only times the window), raises a stop flag and reaps
 * them with waitpid.
 *
 * (a) Contended, "contended" table.  P processes (2, 4) x 1 loop x 64 tasks
 *     share an as_sem(4) made with AS_PSHARED (a waiter slot per task).  A
 *     task acquires (as_sem_acquire_async; a callback when it had to wait:
 *     the grant may come from another process), counts the acquisition, and
 *     then, as in bench_contended,
 *       - "short": releases at once and asks again at the loop's next
 *                   iteration;
 *       - "hold":  keeps it across one loop iteration, releases at the start
 *                  of the next one and asks again at once.
 *     The as_mutex row (the loops' cohorts, src/cohort_ps.c, the
 *     default) runs once more "behind a private as_mutex per process"
 *     (the cohort of docs/pshared.md 6.4 composed by the application;
 *     struct ploop, COHORT_BUDGET) and once more with the cohorts off (a
 *     slot per wait: ASYNCSYNC_PS_COHORT=0 in that row's worker
 *     processes, as AS_LOOP_PS_NO_COHORT): informational.
 *     The as_sem and as_mutex rows run twice: with the default policy
 *     (docs/pshared.md 6.3: a release wakes the oldest to retry, others
 *     may take the permits meanwhile) and strict (AS_*_STRICT_FIFO: every
 *     release hands them to the oldest), to show what the policy buys.
 *     Baselines, blocking: 8 threads split evenly across the same P
 *     processes loop on sem_wait / sem_post of a sem_t(4) made with
 *     pshared = 1, or on lock / unlock of a pthread_mutex_t made with
 *     PTHREAD_PROCESS_SHARED (mutual exclusion checked with a counter).
 *     Reported: acquisitions/s (median over repetitions, spread min-max),
 *     CPU time per acquisition and context switches per 1000 acquisitions
 *     of the worker processes (getrusage(RUSAGE_CHILDREN) around the
 *     measurement: their whole life, set-up included, a few ms against
 *     the window).  Checked after each run: the semaphore holds its 4
 *     permits again and nobody waits.
 *
 * (b) Wake round trip, "wake" table.  Process A (CPU 0) and process B
 *     (CPU 1) ping-pong:
 *       - as_sem(0) x 2: each runs a uring loop; A arms
 *         as_sem_acquire_async(pong), then as_sem_release(ping); B's
 *         callback on ping releases pong and re-arms its wait on ping; A's
 *         callback on pong ends the round trip and starts the next.  Every
 *         wait parks as an IORING_OP_FUTEX_WAIT on its slot's shared word;
 *         every wake is a futex(2) wake from the other process;
 *       - futex(2): two shared words, FUTEX_WAKE / FUTEX_WAIT without
 *         FUTEX_PRIVATE_FLAG (the floor of a blocking cross-process wake).
 *     A timestamps each round trip (from just before its release / store
 *     to its own wake-up); p50, p99 and max, each the median over
 *     repetitions.
 *
 * Targets (issue 14: each primitive against its blocking counterpart):
 * contended, short, as_sem(4) >= 1.0x sem_t(4) with 8 threads over the
 * same number of processes (15.1 P=2, 15.2 P=4; the pthread_mutex ratio
 * is shown beside it, not judged: a lock is not a semaphore of 4);
 * the as_mutex row (AS_PSHARED, the same tasks locking and unlocking it,
 * mutual exclusion checked with a counter) >= 1.0x pthread_mutex (15.5
 * P=2, 15.6 P=4);
 * wake round trip p50 <= 1.2x the raw futex(2) round trip (15.3).
 * Without AS_CAP_PSHARED (uring backend, Linux 6.7+) nothing is measured:
 * the tables say so and the targets are n/a.
 */
#include "common.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/futex.h>

#define TASKS 64
#define BASE_THREADS 8
#define MAX_PROCS 4
#define MAX_SAMPLES (1u << 20)

/* ---- the shared mapping ---- */

/* Control block of one measurement, in the mapping after the semaphores. */
struct ctl {
    _Alignas(64) _Atomic int stop;
    _Alignas(64) uint64_t acq[BASE_THREADS];   /* per process */
    uint64_t guarded;                          /* under the pthread mutex */
    sem_t psem;                                /* pshared = 1 */
    pthread_mutex_t pmutex;                    /* PTHREAD_PROCESS_SHARED */
    /* wake round trip */
    _Alignas(64) _Atomic uint32_t ping;        /* futex words */
    _Alignas(64) _Atomic uint32_t pong;
    _Alignas(64) double p50, p99, max;         /* written by A */
    uint64_t rounds;
};

/* The as_sem and its slots come first (8-byte alignment: the mapping is
 * page-aligned); SEM_BYTES is room for one sem with a slot per task. */
#define SEM_BYTES ((AS_PSHARED_SIZE(as_sem, MAX_PROCS * TASKS) + 63) & ~(size_t)63)

struct shm {
    void *base;
    size_t bytes;
    as_sem *sem, *sem2;   /* contended: sem; wake: sem = ping, sem2 = pong */
    struct ctl *c;
};

static void shm_map(struct shm *m)
{
    m->bytes = 2 * SEM_BYTES + sizeof(struct ctl);
    m->base = mmap(NULL, m->bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m->base == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    m->sem = (as_sem *)m->base;
    m->sem2 = (as_sem *)((char *)m->base + SEM_BYTES);
    m->c = (struct ctl *)((char *)m->base + 2 * SEM_BYTES);
}

static void shm_unmap(struct shm *m) { munmap(m->base, m->bytes); }

/* ---- processes: start together, stop on a flag ---- */

struct start {
    int ready[2];   /* each participant writes a byte when ready */
    int go[2];      /* closed by the parent: every read returns EOF */
};

static void start_open(struct start *s)
{
    if (pipe(s->ready) < 0 || pipe(s->go) < 0)
        die("pipe: %s", strerror(errno));
}

/* In a participant: say ready, block until the parent says go. */
static void start_wait(struct start *s)
{
    char c = 1;
    if (write(s->ready[1], &c, 1) != 1)
        die("ready pipe");
    while (read(s->go[0], &c, 1) < 0 && errno == EINTR)
        ;
}

/* In the parent: wait for n participants, then start them. */
static void start_all(struct start *s, int n)
{
    char c;
    for (int i = 0; i < n; i++)
        while (read(s->ready[0], &c, 1) != 1)
            if (errno != EINTR)
                die("ready pipe: %s", strerror(errno));
    close(s->go[1]);
    s->go[1] = -1;
}

static void start_close(struct start *s)
{
    close(s->ready[0]);
    close(s->ready[1]);
    close(s->go[0]);
    if (s->go[1] >= 0)
        close(s->go[1]);
}

static void reap(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int st;
        while (waitpid(pids[i], &st, 0) < 0)
            if (errno != EINTR)
                die("waitpid: %s", strerror(errno));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("worker process %d failed (status 0x%x)", (int)pids[i], st);
    }
}

struct usage {
    double cpu_ns;
    long csw;
};

static struct usage children_usage(void)
{
    struct rusage ru;
    struct usage u;
    getrusage(RUSAGE_CHILDREN, &ru);
    u.cpu_ns = (double)ru.ru_utime.tv_sec * 1e9 + (double)ru.ru_utime.tv_usec * 1e3 +
               (double)ru.ru_stime.tv_sec * 1e9 + (double)ru.ru_stime.tv_usec * 1e3;
    u.csw = ru.ru_nvcsw + ru.ru_nivcsw;
    return u;
}

/* ---- (a) contended: one loop per process ---- */

enum var { V_AS, V_ASMTX, V_AS_STRICT, V_ASMTX_STRICT, V_ASMTX_LOCAL, V_ASMTX_NOCOH,
           V_SEM_T, V_PMUTEX, V_COUNT };
static const char *const var_name[V_COUNT] = {"as_sem4", "as_mutex", "as_sem4_strict",
                                              "as_mutex_strict", "as_mutex_local",
                                              "as_mutex_nocohort", "sem_t4", "pthread_mutex"};
static const char *const var_label[V_COUNT] = {
    "as_sem(4) AS_PSHARED", "as_mutex AS_PSHARED", "as_sem(4) AS_PSHARED strict",
    "as_mutex AS_PSHARED strict",
    "as_mutex AS_PSHARED behind a private as_mutex per process",
    "as_mutex AS_PSHARED, no cohort (a slot per wait)",
    "sem_t(4) pshared", "pthread_mutex PROCESS_SHARED"};
/* The rows of asyncsync: one loop per process, short and hold; the
 * default policy (docs/pshared.md 6.3) and AS_*_STRICT_FIFO. */
static bool var_async(int var) { return var < V_SEM_T; }
static bool var_mutex(int var)
{
    return var == V_ASMTX || var == V_ASMTX_STRICT || var == V_ASMTX_LOCAL ||
           var == V_ASMTX_NOCOH;
}
static unsigned var_strict(int var)
{
    return var == V_AS_STRICT || var == V_ASMTX_STRICT ? AS_SEM_STRICT_FIFO : 0u;
}

struct ptask {
    as_wait w;
    struct ploop *l;
    struct ptask *next;
};

/* The "behind a private as_mutex" row: the cohort of docs/pshared.md 6.4
 * composed by the application.  A task locks the process's private
 * `local` first; the one that gets it takes the shared mutex only if the
 * process does not hold it already (`g_held`).  Its unlock keeps the
 * shared mutex for the next local waiter (a same-loop hand-off of
 * `local`, nothing shared written) while one waits and the budget lasts
 * (COHORT_BUDGET hand-offs in a row), else unlocks both.  Mutual
 * exclusion across processes is the shared mutex's; within the process,
 * `local`'s. */
#define COHORT_BUDGET 64

struct ploop {
    as_sem *sem;
    as_mutex *mtx;    /* the as_mutex rows: the lock instead of sem */
    bool two_level;   /* the "behind a private as_mutex" row */
    bool g_held;      /* two_level: this process holds *mtx */
    unsigned lwait;   /* two_level: tasks queued on `local` */
    unsigned budget;  /* two_level: local hand-offs left while g_held */
    as_mutex local;
    struct ctl *c;
    bool hold, stopping;
    int idle;
    uint64_t acq;
    struct ptask *held, *again;
    struct bloop b;
    struct ptask tasks[TASKS];
};

static void ploop_release(struct ploop *l)
{
    if (l->two_level) {
        if (l->lwait > 0 && l->budget > 0) {
            l->budget--; /* keep the shared mutex for the next local task */
        } else {
            l->g_held = false;
            check(as_mutex_unlock(l->mtx), "as_mutex_unlock (shared)");
        }
        check(as_mutex_unlock(&l->local), "as_mutex_unlock (local)");
    } else if (l->mtx)
        check(as_mutex_unlock(l->mtx), "as_mutex_unlock");
    else
        check(as_sem_release(l->sem, 1), "as_sem_release");
}

static void ptask_got(struct ptask *t)
{
    struct ploop *l = t->l;
    if (!l->stopping) {
        l->acq++;
        if (l->mtx)
            l->c->guarded++; /* under the lock: a lost update shows */
    }
    if (l->hold) {
        t->next = l->held;
        l->held = t;
    } else {
        ploop_release(l);
        t->next = l->again;
        l->again = t;
    }
}

static void on_acquired(as_wait *w, int status, void *arg)
{
    (void)w;
    check(status, "acquire callback");
    ptask_got(arg);
}

static void on_global(as_wait *w, int status, void *arg)
{
    struct ptask *t = arg;
    (void)w;
    check(status, "shared lock callback");
    t->l->g_held = true;
    t->l->budget = COHORT_BUDGET;
    ptask_got(t);
}

/* two_level: the task holds `local`; take the shared mutex unless the
 * process holds it. */
static void local_got(struct ptask *t)
{
    struct ploop *l = t->l;
    int r;
    if (l->g_held) {
        ptask_got(t);
        return;
    }
    r = as_mutex_lock_async(l->mtx, &l->b.loop, &t->w, on_global, t);
    check(r, "shared lock async");
    if (r == 1)
        on_global(&t->w, 0, t);
}

static void on_local(as_wait *w, int status, void *arg)
{
    struct ptask *t = arg;
    (void)w;
    check(status, "local lock callback");
    t->l->lwait--;
    local_got(t);
}

static void ptask_request(struct ptask *t)
{
    if (t->l->two_level) {
        int r = as_mutex_lock_async(&t->l->local, &t->l->b.loop, &t->w, on_local, t);
        check(r, "local lock async");
        if (r == 1)
            local_got(t);
        else
            t->l->lwait++;
        return;
    }
    int r = t->l->mtx ? as_mutex_lock_async(t->l->mtx, &t->l->b.loop, &t->w,
                                            on_acquired, t)
                      : as_sem_acquire_async(t->l->sem, &t->l->b.loop, &t->w, 1,
                                             on_acquired, t);
    check(r, "acquire/lock async");
    if (r == 1)
        ptask_got(t);
}

/* A worker process of the asyncsync rows: the loop of bench_contended. */
static int loop_proc(struct shm *m, struct start *s, int idx, bool hold, bool mtx,
                     bool two_level)
{
    static struct ploop l;            /* one per process */
    l.sem = m->sem;
    l.mtx = mtx ? (as_mutex *)(void *)m->sem2 : NULL;
    l.two_level = two_level;
    check(as_mutex_init(&l.local, 0), "as_mutex_init (local)");
    l.c = m->c;
    l.hold = hold;
    bloop_init(&l.b, BK_URING);
    for (int i = 0; i < TASKS; i++)
        l.tasks[i].l = &l;
    start_wait(s);
    for (int i = 0; i < TASKS; i++)
        ptask_request(&l.tasks[i]);
    for (;;) {
        struct ptask *held = l.held, *again = l.again;
        l.held = l.again = NULL;
        if (!l.stopping && atomic_load_explicit(&l.c->stop, memory_order_relaxed))
            l.stopping = true;
        while (held) {
            struct ptask *t = held;
            held = t->next;
            ploop_release(&l);
            if (l.stopping)
                l.idle++;
            else
                ptask_request(t);
        }
        while (again) {
            struct ptask *t = again;
            again = t->next;
            if (l.stopping)
                l.idle++;
            else
                ptask_request(t);
        }
        as_loop_run(&l.b.loop);
        if (l.idle == TASKS)
            break;
        /* sleep only when no task of ours can run */
        bloop_poll(&l.b, !l.held && !l.again);
    }
    bloop_fini(&l.b);
    check(as_mutex_destroy(&l.local), "as_mutex_destroy (local)");
    m->c->acq[idx] = l.acq;
    return 0;
}

struct bthread {
    struct shm *m;
    struct start *s;
    int var;
    pthread_t th;
    uint64_t acq;
};

static void *base_main(void *arg)
{
    struct bthread *bt = arg;
    struct ctl *c = bt->m->c;
    uint64_t n = 0;
    start_wait(bt->s);
    if (bt->var == V_SEM_T) {
        while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
            while (sem_wait(&c->psem) != 0)
                ;
            n++;
            sem_post(&c->psem);
        }
    } else {
        while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
            pthread_mutex_lock(&c->pmutex);
            n++;
            c->guarded++;
            pthread_mutex_unlock(&c->pmutex);
        }
    }
    bt->acq = n;
    return NULL;
}

/* A worker process of the baseline rows: nthreads blocking threads. */
static int base_proc(struct shm *m, struct start *s, int idx, int var, int nthreads)
{
    struct bthread bt[BASE_THREADS];
    uint64_t acq = 0;
    for (int i = 0; i < nthreads; i++) {
        bt[i] = (struct bthread){.m = m, .s = s, .var = var};
        if (pthread_create(&bt[i].th, NULL, base_main, &bt[i]) != 0)
            die("pthread_create");
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(bt[i].th, NULL);
        acq += bt[i].acq;
    }
    m->c->acq[idx] = acq;
    return 0;
}

struct sample {
    double rate, cpu_per_acq, csw_per_k;
    double least; /* the least-served process's acquisitions / the mean */
};

static struct sample measure_contended(int var, bool hold, int nprocs, double ms)
{
    struct shm m;
    struct start s;
    pid_t pids[MAX_PROCS];
    int participants = var_async(var) ? nprocs : BASE_THREADS;
    struct sample out;

    shm_map(&m);
    check(as_sem_init(m.sem, 4, AS_PSHARED | AS_PSHARED_SLOTS(nprocs * TASKS) | var_strict(var)),
          "as_sem_init(AS_PSHARED)");
    check(as_mutex_init((as_mutex *)(void *)m.sem2,
                        AS_PSHARED | AS_PSHARED_SLOTS(nprocs * TASKS) | var_strict(var)),
          "as_mutex_init(AS_PSHARED)");
    if (sem_init(&m.c->psem, 1, 4) != 0)
        die("sem_init(pshared): %s", strerror(errno));
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&m.c->pmutex, &ma);
    pthread_mutexattr_destroy(&ma);
    start_open(&s);
    fflush(stdout);

    struct usage u0 = children_usage();
    for (int p = 0; p < nprocs; p++) {
        pids[p] = fork();
        if (pids[p] < 0)
            die("fork: %s", strerror(errno));
        if (pids[p] == 0) {
            close(s.go[1]);
            /* the loops' cohorts (src/cohort_ps.c): the default, off for
             * its row (the switch is read when a loop is initialised) */
            if (var == V_ASMTX_NOCOH)
                setenv("ASYNCSYNC_PS_COHORT", "0", 1);
            else
                unsetenv("ASYNCSYNC_PS_COHORT");
            _exit(var_async(var) ? loop_proc(&m, &s, p, hold, var_mutex(var),
                                             var == V_ASMTX_LOCAL)
                                 : base_proc(&m, &s, p, var, BASE_THREADS / nprocs));
        }
    }
    start_all(&s, participants);
    uint64_t t0 = now_ns();
    sleep_ms(ms); /* times the window; the workers need nothing from us */
    atomic_store_explicit(&m.c->stop, 1, memory_order_relaxed);
    uint64_t t1 = now_ns();
    reap(pids, nprocs);
    struct usage u1 = children_usage();

    uint64_t acq = 0, amin = UINT64_MAX;
    for (int p = 0; p < nprocs; p++) {
        acq += m.c->acq[p];
        if (m.c->acq[p] < amin)
            amin = m.c->acq[p];
    }
    out.least = acq ? (double)amin * nprocs / (double)acq : NAN;
    if ((var == V_PMUTEX || var_mutex(var)) && m.c->guarded != acq)
        die("pshared: mutual exclusion broken: %" PRIu64 " guarded increments, "
            "%" PRIu64 " acquisitions", m.c->guarded, acq);
    if (as_sem_value(m.sem) != 4 || as_sem_waiters(m.sem) != 0)
        die("pshared: after the run the semaphore holds %" PRId64 " permits "
            "(4 expected) with %" PRId64 " waiters", as_sem_value(m.sem),
            as_sem_waiters(m.sem));
    out.rate = (double)acq * 1e9 / (double)(t1 - t0);
    out.cpu_per_acq = acq ? (u1.cpu_ns - u0.cpu_ns) / (double)acq : NAN;
    out.csw_per_k = acq ? (double)(u1.csw - u0.csw) * 1000.0 / (double)acq : NAN;

    check(as_sem_destroy(m.sem), "as_sem_destroy");
    check(as_mutex_destroy((as_mutex *)(void *)m.sem2), "as_mutex_destroy");
    sem_destroy(&m.c->psem);
    pthread_mutex_destroy(&m.c->pmutex);
    start_close(&s);
    shm_unmap(&m);
    return out;
}

/* ---- (b) wake round trip between two processes ---- */

enum wvar { W_AS, W_FUTEX, W_COUNT };
static const char *const wvar_name[W_COUNT] = {"as_sem0", "futex"};
static const char *const wvar_label[W_COUNT] = {
    "as_sem(0) x 2, AS_PSHARED, async on uring loops",
    "futex(2) wait/wake, shared words (floor)"};

static long futex_op(_Atomic uint32_t *w, int op, uint32_t val)
{
    /* no FUTEX_PRIVATE_FLAG: the key must be the same in both processes */
    return syscall(SYS_futex, (void *)(uintptr_t)w, op, val, NULL, NULL, 0);
}

/* Percentiles of A's samples into the control block. */
static void publish(struct ctl *c, uint64_t *v, size_t n)
{
    if (n == 0)
        die("wake: no round trip completed");
    sort_u64(v, n);
    c->p50 = (double)pct_u64(v, n, 0.50);
    c->p99 = (double)pct_u64(v, n, 0.99);
    c->max = (double)v[n - 1];
    c->rounds = n;
}

struct wside {
    struct shm *m;
    struct bloop b;
    as_wait w;
    uint64_t end, t0, *v;
    size_t n;
    bool done;
};

/* B: a ping arrived: answer it, or stop. */
static void on_ping(as_wait *w, int status, void *arg)
{
    struct wside *x = arg;
    check(status, "ping callback");
    for (;;) {
        if (atomic_load_explicit(&x->m->c->stop, memory_order_acquire)) {
            x->done = true;
            return;
        }
        check(as_sem_release(x->m->sem2, 1), "release pong");
        int r = as_sem_acquire_async(x->m->sem, &x->b.loop, w, 1, on_ping, x);
        check(r, "acquire ping");
        if (r == 0)
            return;
    }
}

static void a_round(struct wside *x);

/* A: the pong arrived: one round trip. */
static void on_pong(as_wait *w, int status, void *arg)
{
    (void)w;
    struct wside *x = arg;
    check(status, "pong callback");
    uint64_t t = now_ns();
    x->v[x->n++] = t - x->t0;
    if (t >= x->end || x->n == MAX_SAMPLES)
        x->done = true;
    else
        a_round(x);
}

static void a_round(struct wside *x)
{
    int r = as_sem_acquire_async(x->m->sem2, &x->b.loop, &x->w, 1, on_pong, x);
    check(r, "acquire pong");
    if (r != 0)
        die("wake: pong was already there");
    x->t0 = now_ns();
    check(as_sem_release(x->m->sem, 1), "release ping");
}

static void run_until_done(struct wside *x)
{
    for (;;) {
        as_loop_run(&x->b.loop);
        if (x->done)
            break;
        bloop_poll(&x->b, true);
    }
}

static int wake_proc(struct shm *m, struct start *s, int var, bool is_a, double ms)
{
    struct ctl *c = m->c;
    pin_cpu(is_a ? 0 : 1);
    if (var == W_AS) {
        static struct wside x;
        x.m = m;
        bloop_init(&x.b, BK_URING);
        if (is_a) {
            x.v = malloc(sizeof *x.v * MAX_SAMPLES);
            if (!x.v)
                die("out of memory");
            start_wait(s);
            x.end = now_ns() + (uint64_t)(ms * 1e6);
            a_round(&x);
            run_until_done(&x);
            atomic_store_explicit(&c->stop, 1, memory_order_release);
            check(as_sem_release(m->sem, 1), "release ping"); /* B: stop */
            publish(c, x.v, x.n);
        } else {
            int r = as_sem_acquire_async(m->sem, &x.b.loop, &x.w, 1, on_ping, &x);
            check(r, "acquire ping");
            if (r != 0)
                die("wake: ping was already there");
            start_wait(s);
            run_until_done(&x);
        }
        bloop_fini(&x.b);
        return 0;
    }
    /* raw futex(2) ping-pong: sequence numbers in two shared words */
    if (is_a) {
        uint64_t *v = malloc(sizeof *v * MAX_SAMPLES);
        size_t n = 0;
        uint32_t seq = 0;
        if (!v)
            die("out of memory");
        start_wait(s);
        uint64_t end = now_ns() + (uint64_t)(ms * 1e6);
        for (;;) {
            uint64_t t0 = now_ns();
            if (t0 >= end || n == MAX_SAMPLES)
                break;
            seq++;
            atomic_store_explicit(&c->ping, seq, memory_order_release);
            futex_op(&c->ping, FUTEX_WAKE, 1);
            uint32_t got;
            while ((got = atomic_load_explicit(&c->pong, memory_order_acquire)) != seq)
                futex_op(&c->pong, FUTEX_WAIT, got);
            v[n++] = now_ns() - t0;
        }
        atomic_store_explicit(&c->stop, 1, memory_order_release);
        atomic_store_explicit(&c->ping, seq + 1, memory_order_release);
        futex_op(&c->ping, FUTEX_WAKE, 1);
        publish(c, v, n);
        free(v);
    } else {
        uint32_t last = 0;
        start_wait(s);
        for (;;) {
            uint32_t got;
            while ((got = atomic_load_explicit(&c->ping, memory_order_acquire)) == last)
                futex_op(&c->ping, FUTEX_WAIT, last);
            last = got;
            if (atomic_load_explicit(&c->stop, memory_order_acquire))
                break;
            atomic_store_explicit(&c->pong, got, memory_order_release);
            futex_op(&c->pong, FUTEX_WAKE, 1);
        }
    }
    return 0;
}

struct wsample {
    double p50, p99, max, rounds;
};

static struct wsample measure_wake(int var, double ms)
{
    struct shm m;
    struct start s;
    pid_t pids[2];
    struct wsample out;

    shm_map(&m);
    check(as_sem_init(m.sem, 0, AS_PSHARED), "as_sem_init(ping)");
    check(as_sem_init(m.sem2, 0, AS_PSHARED), "as_sem_init(pong)");
    start_open(&s);
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            close(s.go[1]);
            _exit(wake_proc(&m, &s, var, i == 0, ms));
        }
    }
    start_all(&s, 2);
    reap(pids, 2); /* A ends the run itself after `ms` */
    out.p50 = m.c->p50;
    out.p99 = m.c->p99;
    out.max = m.c->max;
    out.rounds = (double)m.c->rounds;
    check(as_sem_destroy(m.sem), "as_sem_destroy(ping)");
    check(as_sem_destroy(m.sem2), "as_sem_destroy(pong)");
    start_close(&s);
    shm_unmap(&m);
    return out;
}

/* ---- uncontended: one thread, acquire + release pairs ---- */

enum { U_AS_PS, U_AS_PRIV, U_SEM_T, U_COUNT };
static const char *const uvar_name[U_COUNT] = {"as_sem_ps", "as_sem", "sem_t_ps"};
static const char *const uvar_label[U_COUNT] = {
    "as_sem AS_PSHARED: try_acquire(1) + release(1)",
    "as_sem (private): try_acquire(1) + release(1)",
    "sem_t pshared: sem_trywait + sem_post"};

/* ns per pair, the best of 3 batches of `pairs` (the object in a shared
 * mapping for the pshared variants). */
static double measure_uncontended(int var, long pairs)
{
    struct shm m;
    shm_map(&m);
    as_sem priv;
    as_sem *s = var == U_AS_PRIV ? &priv : (as_sem *)m.base;
    sem_t *st = (sem_t *)m.base;
    double best = INFINITY;
    if (var == U_SEM_T) {
        if (sem_init(st, 1, 1) != 0)
            die("sem_init");
    } else {
        check(as_sem_init(s, 1, var == U_AS_PS ? AS_PSHARED : 0), "as_sem_init");
    }
    for (int b = 0; b < 3; b++) {
        uint64_t t0 = now_ns();
        for (long i = 0; i < pairs; i++) {
            if (var == U_SEM_T) {
                if (sem_trywait(st) != 0)
                    die("sem_trywait");
                sem_post(st);
            } else {
                if (as_sem_try_acquire(s, 1) != 1)
                    die("as_sem_try_acquire");
                check(as_sem_release(s, 1), "as_sem_release");
            }
        }
        double ns = (double)(now_ns() - t0) / (double)pairs;
        if (ns < best)
            best = ns;
    }
    if (var == U_SEM_T)
        sem_destroy(st);
    else
        check(as_sem_destroy(s), "as_sem_destroy");
    shm_unmap(&m);
    return best;
}

/* Uncontended mutex: lock + unlock pairs by one thread, the object in a
 * shared mapping: an AS_PSHARED as_mutex locked with lock_async (taken at
 * once: 1) on a uring loop, 64 pairs per as_loop_run (the contended
 * rows' loop body, where each unlock frees the word: cohort_ps.c K3), or
 * a PROCESS_SHARED pthread_mutex.  ns per pair, the best of 3 batches. */
enum { UM_AS, UM_PTHREAD, UM_COUNT };
static const char *const umvar_name[UM_COUNT] = {"as_mutex_ps", "pthread_mutex_ps"};
static const char *const umvar_label[UM_COUNT] = {
    "as_mutex AS_PSHARED: lock_async (= 1) + unlock, 64 per as_loop_run",
    "pthread_mutex PROCESS_SHARED: lock + unlock"};

static void never_called(as_wait *w, int status, void *arg)
{
    (void)w, (void)status, (void)arg;
    die("a lock of a free mutex completed through a callback");
}

static double measure_uncontended_mutex(int var, long pairs)
{
    struct shm m;
    struct bloop b;
    as_wait w;
    double best = INFINITY;
    shm_map(&m);
    as_mutex *am = (as_mutex *)m.base;
    pthread_mutex_t *pm = (pthread_mutex_t *)m.base;
    if (var == UM_AS) {
        check(as_mutex_init(am, AS_PSHARED), "as_mutex_init");
        bloop_init(&b, BK_URING);
    } else {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutex_init(pm, &a);
        pthread_mutexattr_destroy(&a);
    }
    for (int bt = 0; bt < 3; bt++) {
        uint64_t t0 = now_ns();
        for (long i = 0; i < pairs; i += 64) {
            for (int k = 0; k < 64; k++) {
                if (var == UM_AS) {
                    if (as_mutex_lock_async(am, &b.loop, &w, never_called, NULL) != 1)
                        die("as_mutex_lock_async");
                    check(as_mutex_unlock(am), "as_mutex_unlock");
                } else {
                    pthread_mutex_lock(pm);
                    pthread_mutex_unlock(pm);
                }
            }
            if (var == UM_AS)
                as_loop_run(&b.loop);
        }
        double ns = (double)(now_ns() - t0) / (double)pairs;
        if (ns < best)
            best = ns;
    }
    if (var == UM_AS) {
        bloop_fini(&b);
        check(as_mutex_destroy(am), "as_mutex_destroy");
    } else {
        pthread_mutex_destroy(pm);
    }
    shm_unmap(&m);
    return best;
}

/* Racing: two threads of one process, pinned to CPUs 0 and 1, each
 * looping on try_acquire(1) + release(1) of one sem(4) (AS_PSHARED, or a
 * pshared sem_t) in a shared mapping for `ms`: the lock-free paths with
 * the cache line moving between the CPUs.  Pairs per second, both threads
 * together. */
struct racer {
    int var, cpu;
    void *obj;
    _Atomic int *go, *stop;
    uint64_t pairs;
    pthread_t th;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    uint64_t n = 0;
    pin_cpu(r->cpu);
    while (!atomic_load_explicit(r->go, memory_order_acquire))
        ;
    while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
        for (int k = 0; k < 64; k++) {
            if (r->var == U_SEM_T) {
                if (sem_trywait(r->obj) == 0) {
                    sem_post(r->obj);
                    n++;
                }
            } else if (as_sem_try_acquire(r->obj, 1) == 1) {
                check(as_sem_release(r->obj, 1), "as_sem_release");
                n++;
            }
        }
    }
    r->pairs = n;
    return NULL;
}

static double measure_racing(int var, double ms)
{
    struct shm m;
    _Atomic int go = 0, stop = 0;
    struct racer r[2];
    shm_map(&m);
    if (var == U_SEM_T) {
        if (sem_init((sem_t *)m.base, 1, 4) != 0)
            die("sem_init");
    } else {
        check(as_sem_init((as_sem *)m.base, 4, AS_PSHARED), "as_sem_init");
    }
    for (int i = 0; i < 2; i++) {
        r[i] = (struct racer){.var = var, .cpu = i, .obj = m.base, .go = &go, .stop = &stop};
        if (pthread_create(&r[i].th, NULL, racer_main, &r[i]) != 0)
            die("pthread_create");
    }
    uint64_t t0 = now_ns();
    atomic_store_explicit(&go, 1, memory_order_release);
    sleep_ms(ms); /* times the window */
    atomic_store_explicit(&stop, 1, memory_order_relaxed);
    uint64_t t1 = now_ns();
    for (int i = 0; i < 2; i++)
        pthread_join(r[i].th, NULL);
    if (var == U_SEM_T)
        sem_destroy((sem_t *)m.base);
    else
        check(as_sem_destroy((as_sem *)m.base), "as_sem_destroy");
    shm_unmap(&m);
    return (double)(r[0].pairs + r[1].pairs) * 1e9 / (double)(t1 - t0);
}

/* ---- main ---- */

/* Can a uring loop here wait on AS_PSHARED objects? */
static bool pshared_async_available(const struct bench_opts *o)
{
    if (!backend_enabled(o, BK_URING))
        return false;
    struct bloop b;
    bloop_init(&b, BK_URING);
    bool ok = (as_loop_caps(&b.loop) & AS_CAP_PSHARED) != 0;
    bloop_fini(&b);
    return ok;
}

/* A CSV row of the one-process tables (uncontended, racing): the results
 * under "<pfx>|<name>", `prec` decimals, against `base`. */
static void csv_pairs(FILE *csv, const struct results *res, const char *part,
                      const char *pfx, const char *name, int threads, int prec,
                      double base, bool shared)
{
    double v = res_median(res, "%s|%s", pfx, name);
    if (!csv)
        return;
    fprintf(csv, "%s,%s,pair,1,%d,%.*f,%.*f,%.*f,,,%.4f,%d,%s\n", part, name, threads,
            prec, v, prec, res_min(res, "%s|%s", pfx, name), prec,
            res_max(res, "%s|%s", pfx, name), v / base, res_count(res, "%s|%s", pfx, name),
            shared ? "time-shared" : "parallel");
}

/* Is `name` one of the comma-separated items of `list`? */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    static const int ps[] = {2, 4};
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    char key[96], b1[32], b2[32], b3[48], b4[32], line[512];
    struct machine_state mach[2];

    bench_parse(argc, argv, &o, "bench_pshared",
                "  --only W   one part: uncontended, contended, wake;\n"
                "             contended:LIST only its rows and process counts named in\n"
                "             LIST (e.g. contended:as_mutex,pthread_mutex,2)\n");
    double ms = o.ms > 0 ? o.ms : o.smoke ? 10 : 200;
    double wms = o.ms > 0 ? o.ms : o.smoke ? 10 : 300;
    bool do_unc = !o.only || strcmp(o.only, "uncontended") == 0;
    /* --only contended:LIST: only the rows (var_name) and process counts
     * named in the comma-separated LIST, e.g. contended:as_mutex,pthread_mutex,2 */
    const char *cont_sel = o.only && strncmp(o.only, "contended:", 10) == 0 ? o.only + 10 : NULL;
    bool do_cont = !o.only || strcmp(o.only, "contended") == 0 || cont_sel;
    long upairs = o.smoke ? 10000 : 2000000;
    bool do_wake = !o.only || strcmp(o.only, "wake") == 0;
    bool avail = pshared_async_available(&o);
    if (!avail)
        fprintf(stderr, "bench_pshared: no AS_CAP_PSHARED here (uring backend, "
                        "Linux 6.7+): nothing measured\n");

    machine_measure(&mach[0], o.smoke);
    printf("machine before: %s: %s\n", machine_verdict(&mach[0]),
           machine_describe(&mach[0], line, sizeof line));
    fflush(stdout);
    for (int rep = 0; rep < o.reps; rep++) {
        /* the lock-free paths need no AS_CAP_PSHARED */
        for (int var = 0; do_unc && var < U_COUNT; var++)
            res_add(&res, measure_uncontended(var, upairs), "unc|%s", uvar_name[var]);
        for (int var = 0; do_unc && avail && var < UM_COUNT; var++)
            res_add(&res, measure_uncontended_mutex(var, upairs), "umtx|%s",
                    umvar_name[var]);
        for (int var = 0; do_unc && var < U_COUNT; var++)
            if (var != U_AS_PRIV)
                res_add(&res, measure_racing(var, ms), "race|%s", uvar_name[var]);
        if (avail && do_cont) {
            for (size_t pi = 0; pi < ARRAY_LEN(ps); pi++) {
                for (int var = 0; var < V_COUNT; var++) {
                    snprintf(b1, sizeof b1, "%d", ps[pi]);
                    if (cont_sel && (!list_has(cont_sel, var_name[var]) || !list_has(cont_sel, b1)))
                        continue;
                    for (int hold = 0; hold < (var_async(var) ? 2 : 1); hold++) {
                        struct sample sm = measure_contended(var, hold, ps[pi], ms);
                        snprintf(key, sizeof key, "%s|%s|%d", var_name[var],
                                 hold ? "hold" : "short", ps[pi]);
                        res_add(&res, sm.rate, "%s|rate", key);
                        res_add(&res, sm.cpu_per_acq, "%s|cpu", key);
                        res_add(&res, sm.csw_per_k, "%s|csw", key);
                        res_add(&res, sm.least, "%s|least", key);
                    }
                }
            }
        }
        if (avail && do_wake) {
            for (int var = 0; var < W_COUNT; var++) {
                struct wsample w = measure_wake(var, wms);
                res_add(&res, w.p50, "wake|%s|p50", wvar_name[var]);
                res_add(&res, w.p99, "wake|%s|p99", wvar_name[var]);
                res_add(&res, w.max, "wake|%s|max", wvar_name[var]);
                res_add(&res, w.rounds, "wake|%s|rounds", wvar_name[var]);
            }
        }
    }
    machine_measure(&mach[1], o.smoke);
    printf("machine after: %s: %s\n", machine_verdict(&mach[1]),
           machine_describe(&mach[1], line, sizeof line));
    bool shared = !mach[0].parallel || !mach[1].parallel;

    report_open(&rp, &o, "pshared");
    rprintf(&rp, "## 15. Process-shared semaphore (`AS_PSHARED`)\n\n");
    rprintf(&rp, "Every participant is a forked process; the objects live in "
                 "one MAP_SHARED mapping. Median of %d repetitions. %d CPUs. "
                 "Machine state (two threads pinned to CPUs 0 and 1):\n\n",
            o.reps, online_cpus());
    rprintf(&rp, "- before: **%s**: %s\n", machine_verdict(&mach[0]),
            machine_describe(&mach[0], line, sizeof line));
    rprintf(&rp, "- after: **%s**: %s\n\n", machine_verdict(&mach[1]),
            machine_describe(&mach[1], line, sizeof line));
    if (shared)
        rprintf(&rp, "**Time-shared CPUs**: the processes below did not each "
                     "have a CPU of their own for the whole run; the figures "
                     "measure the scheduler as much as the primitives.\n\n");
    if (!avail)
        rprintf(&rp, "Not measured: this kernel or build has no "
                     "`AS_CAP_PSHARED` (io_uring futex operations, Linux "
                     "6.7+).\n\n");

    FILE *csv = out_open(&o, "pshared.csv");
    if (csv)
        fprintf(csv, "part,variant,mode,processes,threads,median,min,max,"
                     "cpu_ns_per_acq,csw_per_1k_acq,x_sem_t,reps,machine\n");
    if (do_unc) {
        rprintf(&rp, "### Uncontended: acquire + release pairs, one thread\n\n");
        rprintf(&rp, "%ld pairs per batch, best of 3 batches per repetition, "
                     "median over repetitions.\n\n", upairs);
        rprintf(&rp, "| calls | ns/pair | min | max | vs sem_t pshared |\n");
        rprintf(&rp, "|---|---:|---:|---:|---:|\n");
        double bs = res_median(&res, "unc|%s", uvar_name[U_SEM_T]);
        for (int var = 0; var < U_COUNT; var++) {
            double v = res_median(&res, "unc|%s", uvar_name[var]);
            rprintf(&rp, "| %s | %.2f | %.2f | %.2f | %.2fx |\n", uvar_label[var], v,
                    res_min(&res, "unc|%s", uvar_name[var]),
                    res_max(&res, "unc|%s", uvar_name[var]), v / bs);
            csv_pairs(csv, &res, "uncontended", "unc", uvar_name[var], 1, 2, bs, shared);
        }
        rprintf(&rp, "\n");
        if (avail) {
            rprintf(&rp, "### Uncontended mutex: lock + unlock pairs, one thread\n\n");
            rprintf(&rp, "| calls | ns/pair | min | max | vs pthread_mutex |\n");
            rprintf(&rp, "|---|---:|---:|---:|---:|\n");
            double bp = res_median(&res, "umtx|%s", umvar_name[UM_PTHREAD]);
            for (int var = 0; var < UM_COUNT; var++) {
                double v = res_median(&res, "umtx|%s", umvar_name[var]);
                rprintf(&rp, "| %s | %.2f | %.2f | %.2f | %.2fx |\n", umvar_label[var], v,
                        res_min(&res, "umtx|%s", umvar_name[var]),
                        res_max(&res, "umtx|%s", umvar_name[var]), v / bp);
                csv_pairs(csv, &res, "uncontended_mutex", "umtx", umvar_name[var], 1, 2,
                          bp, shared);
            }
            rprintf(&rp, "\n");
        }
        rprintf(&rp, "### Racing: two threads (CPUs 0 and 1) of one process, "
                     "try_acquire + release of one sem(4)\n\n");
        rprintf(&rp, "The lock-free paths with the object's cache line moving "
                     "between the CPUs; %.0f ms windows, pairs/s of both "
                     "threads, median over repetitions. Informational.\n\n", ms);
        rprintf(&rp, "| calls | pairs/s | min | max | vs sem_t pshared |\n");
        rprintf(&rp, "|---|---:|---:|---:|---:|\n");
        double rb = res_median(&res, "race|%s", uvar_name[U_SEM_T]);
        for (int var = 0; var < U_COUNT; var++) {
            if (var == U_AS_PRIV)
                continue;
            double v = res_median(&res, "race|%s", uvar_name[var]);
            rprintf(&rp, "| %s | %s | %s | %s | %.2fx |\n", uvar_label[var],
                    fmt_rate(b1, sizeof b1, v),
                    fmt_rate(b2, sizeof b2, res_min(&res, "race|%s", uvar_name[var])),
                    fmt_rate(b4, sizeof b4, res_max(&res, "race|%s", uvar_name[var])),
                    v / rb);
            csv_pairs(csv, &res, "racing", "race", uvar_name[var], 2, 0, rb, shared);
        }
        rprintf(&rp, "\n");
    }
    if (avail && do_cont) {
        rprintf(&rp, "### Contended: P processes share one sem(4) (or mutex)\n\n");
        rprintf(&rp, "asyncsync: 1 uring loop x %d tasks per process; "
                     "baselines: %d blocking threads split across the P "
                     "processes. short = release at once, ask again next "
                     "iteration; hold = keep it across one loop iteration. "
                     "%.0f ms windows; spread = min-max over repetitions; "
                     "CPU and csw (context switches) per acquisition of the "
                     "worker processes, whole life; least = the "
                     "least-served process's acquisitions over the mean "
                     "(1.00: all equal; median, min over repetitions).\n\n",
                TASKS, BASE_THREADS, ms);
        rprintf(&rp, "| primitive | mode | P | threads | acquisitions/s | spread "
                     "(min-max) | CPU/acq | csw/1k acq | least | vs sem_t | vs pthread_mutex |\n");
        rprintf(&rp, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t pi = 0; pi < ARRAY_LEN(ps); pi++) {
            double bs = res_median(&res, "sem_t4|short|%d|rate", ps[pi]);
            double bm = res_median(&res, "pthread_mutex|short|%d|rate", ps[pi]);
            for (int var = 0; var < V_COUNT; var++) {
                for (int hold = 0; hold < (var_async(var) ? 2 : 1); hold++) {
                    snprintf(key, sizeof key, "%s|%s|%d", var_name[var],
                             hold ? "hold" : "short", ps[pi]);
                    if (res_count(&res, "%s|rate", key) == 0)
                        continue; /* not selected (--only contended:LIST) */
                    double r = res_median(&res, "%s|rate", key);
                    double lo = res_min(&res, "%s|rate", key);
                    double hi = res_max(&res, "%s|rate", key);
                    double cpu = res_median(&res, "%s|cpu", key);
                    double csw = res_median(&res, "%s|csw", key);
                    int threads = var_async(var) ? ps[pi] : BASE_THREADS;
                    rprintf(&rp, "| %s | %s | %d | %d | %s | %s (%.0f%%) | %s | "
                                 "%.2f (%.2f-%.2f) | %.2f (%.2f) | %.2fx | %.2fx |\n",
                            var_label[var], hold ? "hold" : "short", ps[pi],
                            threads, fmt_rate(b1, sizeof b1, r),
                            fmt_rate_range(b3, sizeof b3, lo, hi),
                            r > 0 ? 100.0 * (hi - lo) / r : 0.0,
                            fmt_ns(b2, sizeof b2, cpu), csw,
                            res_min(&res, "%s|csw", key),
                            res_max(&res, "%s|csw", key),
                            res_median(&res, "%s|least", key),
                            res_min(&res, "%s|least", key), r / bs, r / bm);
                    if (csv)
                        fprintf(csv, "contended,%s,%s,%d,%d,%.0f,%.0f,%.0f,%.1f,"
                                     "%.3f,%.4f,%d,%s\n",
                                var_name[var], hold ? "hold" : "short", ps[pi],
                                threads, r, lo, hi, cpu, csw, r / bs,
                                res_count(&res, "%s|rate", key),
                                shared ? "time-shared" : "parallel");
                }
            }
        }
        rprintf(&rp, "\n");
    }
    if (avail && do_wake) {
        rprintf(&rp, "### Wake round trip between two processes (CPU 0 and CPU 1)\n\n");
        rprintf(&rp, "%.0f ms per repetition; each figure is the median over "
                     "repetitions of that repetition's percentile.\n\n", wms);
        rprintf(&rp, "| implementation | p50 | p99 | max | round trips | p50 vs futex |\n");
        rprintf(&rp, "|---|---:|---:|---:|---:|---:|\n");
        double f50 = res_median(&res, "wake|futex|p50");
        for (int var = 0; var < W_COUNT; var++) {
            double p50 = res_median(&res, "wake|%s|p50", wvar_name[var]);
            double p99 = res_median(&res, "wake|%s|p99", wvar_name[var]);
            double mx = res_median(&res, "wake|%s|max", wvar_name[var]);
            double n = res_median(&res, "wake|%s|rounds", wvar_name[var]);
            rprintf(&rp, "| %s | %s | %s | %s | %.0f | %.2fx |\n",
                    wvar_label[var], fmt_ns(b1, sizeof b1, p50),
                    fmt_ns(b2, sizeof b2, p99), fmt_ns(b4, sizeof b4, mx), n,
                    p50 / f50);
            if (csv)
                fprintf(csv, "wake,%s,p50,2,2,%.0f,%.0f,%.0f,,,%.4f,%d,%s\n",
                        wvar_name[var], p50,
                        res_min(&res, "wake|%s|p50", wvar_name[var]),
                        res_max(&res, "wake|%s|p50", wvar_name[var]), p50 / f50,
                        res_count(&res, "wake|%s|p50", wvar_name[var]),
                        shared ? "time-shared" : "parallel");
        }
        rprintf(&rp, "\n");
    }
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, &o, "pshared");
    const char *note = shared ? " (on time-shared CPUs: section 15)" : "";
    for (size_t pi = 0; pi < ARRAY_LEN(ps); pi++) {
        double r = res_median(&res, "as_sem4|short|%d|rate", ps[pi]);
        double bs = res_median(&res, "sem_t4|short|%d|rate", ps[pi]);
        double bm = res_median(&res, "pthread_mutex|short|%d|rate", ps[pi]);
        char id[8], tgt[200];
        snprintf(id, sizeof id, "15.%zu", pi + 1);
        snprintf(tgt, sizeof tgt, "pshared contended, %d processes x 1 loop x %d "
                 "tasks, sem(4), short: >= 1.0x sem_t(4) pshared (%d threads "
                 "over %d processes; pthread_mutex for reference)",
                 ps[pi], TASKS, BASE_THREADS, ps[pi]);
        if (isnan(r) || isnan(bs) || isnan(bm))
            target_row(&tg, id, tgt, -1, "not measured%s",
                       avail ? "" : ": no AS_CAP_PSHARED");
        else
            target_row(&tg, id, tgt, r >= bs,
                       "%s = %.2fx sem_t (%s), %.2fx pthread_mutex (%s)%s",
                       fmt_rate(b1, sizeof b1, r), r / bs,
                       fmt_rate(b2, sizeof b2, bs), r / bm,
                       fmt_rate(b3, sizeof b3, bm), note);
    }
    for (size_t pi = 0; pi < ARRAY_LEN(ps); pi++) {
        double r = res_median(&res, "as_mutex|short|%d|rate", ps[pi]);
        double bm = res_median(&res, "pthread_mutex|short|%d|rate", ps[pi]);
        char id[8], tgt[200];
        snprintf(id, sizeof id, "15.%zu", pi + 5);
        snprintf(tgt, sizeof tgt, "pshared contended mutex, %d processes x 1 loop x %d "
                 "tasks, short: >= 1.0x pthread_mutex PROCESS_SHARED (%d threads over "
                 "%d processes)", ps[pi], TASKS, BASE_THREADS, ps[pi]);
        if (isnan(r) || isnan(bm))
            target_row(&tg, id, tgt, -1, "not measured%s",
                       avail ? "" : ": no AS_CAP_PSHARED");
        else
            target_row(&tg, id, tgt, r >= bm, "%s = %.2fx pthread_mutex (%s)%s",
                       fmt_rate(b1, sizeof b1, r), r / bm, fmt_rate(b2, sizeof b2, bm),
                       note);
    }
    double a50 = res_median(&res, "wake|as_sem0|p50");
    double f50 = res_median(&res, "wake|futex|p50");
    const char *wt = "pshared wake round trip between two processes, p50 <= "
                     "1.2x raw futex(2) on shared words";
    if (isnan(a50) || isnan(f50))
        target_row(&tg, "15.3", wt, -1, "not measured%s",
                   avail ? "" : ": no AS_CAP_PSHARED");
    else
        target_row(&tg, "15.3", wt, a50 <= 1.2 * f50,
                   "%s vs %s = %.2fx (p99 %s vs %s)%s",
                   fmt_ns(b1, sizeof b1, a50), fmt_ns(b2, sizeof b2, f50),
                   a50 / f50,
                   fmt_ns(b3, sizeof b3, res_median(&res, "wake|as_sem0|p99")),
                   fmt_ns(b4, sizeof b4, res_median(&res, "wake|futex|p99")), note);
    double u = res_median(&res, "unc|%s", uvar_name[U_AS_PS]);
    double us = res_median(&res, "unc|%s", uvar_name[U_SEM_T]);
    const char *ut = "pshared uncontended try_acquire + release: <= 1.0x the "
                     "time of a pshared sem_t's sem_trywait + sem_post";
    if (isnan(u) || isnan(us))
        target_row(&tg, "15.4", ut, -1, "not measured");
    else
        target_row(&tg, "15.4", ut, u <= us, "%.2f ns vs %.2f ns = %.2fx", u, us,
                   u / us);
    targets_close(&tg);
    res_free(&res);
    return 0;
}
