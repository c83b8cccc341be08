/* Workload 3: cross-loop wake latency (round trip between two threads).
 * SPDX-License-Identifier: MIT
 *
 * Thread A (CPU 0) and thread B (CPU 1) ping-pong; A timestamps each round
 * trip: from just before A wakes B to A's own wake-up by B.  Every
 * implementation blocks in the kernel while it waits (nobody spins).
 *
 *   asyncsync event     two loops (a ring each); A sets B's auto-reset event
 *                       and waits on its own; B's callback re-arms its wait
 *                       and sets A's.  With the uring backend the wake is a
 *                       FUTEX_WAKE SQE on the setter's ring, sent by its next
 *                       io_uring_submit_and_wait; with the generic backend an
 *                       eventfd write.
 *   asyncsync mutex     the same two loops pass a mutex: the holder queues a
 *                       new lock_async (it holds the lock, so it waits) and
 *                       unlocks, which serves the other loop's queued wait.
 *                       Default policy (the waiter on the other loop is woken
 *                       to retry) and AS_MUTEX_STRICT_FIFO (handed the lock).
 *   futex               raw futex(2) FUTEX_WAKE / FUTEX_WAIT (private) on two
 *                       words: the floor of a blocking cross-thread wake
 *   eventfd             each thread's ring has an IORING_OP_READ armed on its
 *                       eventfd; the other thread write(2)s it: the common
 *                       way to wake an io_uring loop today
 *   pthread_cond        one mutex, two condition variables, a turn variable
 *
 * Reported per implementation: p50, p99, p99.9, max and mean of the round
 * trip, each the median over repetitions; <out>/latency_cdf.csv holds the
 * distribution of all repetitions' samples together (for the CDF plot).
 *
 * A second, shorter pass pins both threads to CPU 0: each wake then
 * switches threads on one CPU instead of waking an idle CPU, which takes
 * the idle-exit latency (large in virtual machines) out and leaves the cost
 * of each implementation's own path: informational, not judged.
 *
 * Targets: asyncsync p50 <= 1.1x the futex round trip and <= eventfd's;
 * p99.9 no worse than either.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/futex.h>

enum var { L_EVENT, L_MUTEX, L_MUTEX_STRICT, L_FUTEX, L_EVENTFD, L_COND, L_COUNT };
static const char *const var_name[L_COUNT] = {
    "event", "mutex", "mutex-strict", "futex", "eventfd", "pthread_cond"};
static const char *const var_label[L_COUNT] = {
    "asyncsync event", "asyncsync mutex (default)",
    "asyncsync mutex (strict FIFO)", "futex(2) wait/wake (floor)",
    "eventfd + io_uring READ", "pthread_cond"};
static bool var_is_lib(int v) { return v <= L_MUTEX_STRICT; }

/* B's CPU: 1 (A is on 0), or 0 for the same-CPU pass. */
static int cpu_b = 1;

struct lctx {
    int var, bk;
    long rounds, warm, total; /* total = warm + rounds */
    uint64_t *samples;        /* rounds of them */
    _Atomic int b_ready;
    int stop;                 /* A -> B: the last round (atomic accesses) */
    /* thread A's state (loop thread only) */
    long round;
    uint64_t t0;
    bool a_done, b_done;
    struct bloop la, lb;
    /* asyncsync */
    as_event ea, eb;
    as_mutex m;
    as_wait wa, wb;
    /* futex */
    _Alignas(64) uint32_t fa;
    _Alignas(64) uint32_t fb;
    /* eventfd */
    int efa, efb;
    uint64_t bufa, bufb;
    /* pthread_cond */
    pthread_mutex_t pm;
    pthread_cond_t ca, cb;
    int turn;
};

static void record(struct lctx *c)
{
    uint64_t t1 = now_ns();
    if (c->round >= c->warm)
        c->samples[c->round - c->warm] = t1 - c->t0;
    c->round++;
}

/* ---- asyncsync event ---- */

static void on_b_event(as_wait *w, int status, void *arg);

static void a_ping_event(struct lctx *c)
{
    c->t0 = now_ns();
    check(as_event_set(&c->eb), "as_event_set");
}

static void on_a_event(as_wait *w, int status, void *arg)
{
    struct lctx *c = arg;
    (void)w;
    check(status, "event callback");
    record(c);
    if (c->round < c->total) {
        /* re-arm before waking B, so B's set finds a waiter */
        if (as_event_wait_async(&c->ea, &c->la.loop, &c->wa, on_a_event, c) != 0)
            die("event: A's wait did not go pending");
        a_ping_event(c);
    } else {
        c->a_done = true;
        /* B sees it: set() synchronizes with B's wait */
        __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
        check(as_event_set(&c->eb), "as_event_set");
    }
}

static void on_b_event(as_wait *w, int status, void *arg)
{
    struct lctx *c = arg;
    (void)w;
    check(status, "event callback");
    if (__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
        c->b_done = true;
        return;
    }
    if (as_event_wait_async(&c->eb, &c->lb.loop, &c->wb, on_b_event, c) != 0)
        die("event: B's wait did not go pending");
    check(as_event_set(&c->ea), "as_event_set");
}

/* ---- asyncsync mutex: queue, then unlock ---- */

static void on_b_mutex(as_wait *w, int status, void *arg);

static void a_ping_mutex(struct lctx *c);

static void on_a_mutex(as_wait *w, int status, void *arg)
{
    struct lctx *c = arg;
    (void)w;
    check(status, "mutex callback");
    record(c);
    if (c->round < c->total) {
        a_ping_mutex(c);
    } else {
        c->a_done = true;
        /* B sees it: unlock synchronizes with B's lock */
        __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
        check(as_mutex_unlock(&c->m), "as_mutex_unlock");
    }
}

/* A holds the mutex: queue behind B, then let B have it. */
static void a_ping_mutex(struct lctx *c)
{
    c->t0 = now_ns();
    if (as_mutex_lock_async(&c->m, &c->la.loop, &c->wa, on_a_mutex, c) != 0)
        die("mutex: A's lock did not go pending");
    check(as_mutex_unlock(&c->m), "as_mutex_unlock");
}

static void on_b_mutex(as_wait *w, int status, void *arg)
{
    struct lctx *c = arg;
    (void)w;
    check(status, "mutex callback");
    if (__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
        c->b_done = true;
        check(as_mutex_unlock(&c->m), "as_mutex_unlock");
        return;
    }
    if (as_mutex_lock_async(&c->m, &c->lb.loop, &c->wb, on_b_mutex, c) != 0)
        die("mutex: B's lock did not go pending");
    check(as_mutex_unlock(&c->m), "as_mutex_unlock");
}

/* ---- asyncsync: the two loops ---- */

static void run_loop(struct bloop *b, bool *done)
{
    for (;;) {
        as_loop_run(&b->loop);
        if (*done)
            break;
        bloop_poll(b, true);
    }
}

static void *lib_b(void *arg)
{
    struct lctx *c = arg;
    int r;
    pin_cpu(cpu_b);
    bloop_init(&c->lb, c->bk);
    r = c->var == L_EVENT
            ? as_event_wait_async(&c->eb, &c->lb.loop, &c->wb, on_b_event, c)
            : as_mutex_lock_async(&c->m, &c->lb.loop, &c->wb, on_b_mutex, c);
    if (r != 0)
        die("B's first wait did not go pending (%d)", r);
    /* the doorbell SQE must be in the kernel before A pings */
    io_uring_submit(&c->lb.ring);
    atomic_store(&c->b_ready, 1);
    run_loop(&c->lb, &c->b_done);
    bloop_fini(&c->lb);
    return NULL;
}

static void lib_a(struct lctx *c)
{
    bloop_init(&c->la, c->bk);
    if (c->var == L_EVENT) {
        if (as_event_wait_async(&c->ea, &c->la.loop, &c->wa, on_a_event, c) != 0)
            die("A's first wait did not go pending");
    } /* mutex: A holds it from the start (taken by measure()) */
    while (!atomic_load(&c->b_ready))
        sched_yield(); /* until B's wait is armed (B may share our CPU) */
    if (c->var == L_EVENT)
        a_ping_event(c);
    else
        a_ping_mutex(c);
    run_loop(&c->la, &c->a_done);
    bloop_fini(&c->la);
}

/* ---- futex(2) ---- */

static long futex(uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static void *futex_b(void *arg)
{
    struct lctx *c = arg;
    pin_cpu(cpu_b);
    atomic_store(&c->b_ready, 1);
    for (;;) {
        while (__atomic_load_n(&c->fb, __ATOMIC_ACQUIRE) == 0)
            futex(&c->fb, FUTEX_WAIT_PRIVATE, 0);
        __atomic_store_n(&c->fb, 0, __ATOMIC_RELAXED);
        if (__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
            break;
        __atomic_store_n(&c->fa, 1, __ATOMIC_RELEASE);
        futex(&c->fa, FUTEX_WAKE_PRIVATE, 1);
    }
    return NULL;
}

static void futex_a(struct lctx *c)
{
    while (!atomic_load(&c->b_ready))
        sched_yield();
    while (c->round < c->total) {
        c->t0 = now_ns();
        __atomic_store_n(&c->fb, 1, __ATOMIC_RELEASE);
        futex(&c->fb, FUTEX_WAKE_PRIVATE, 1);
        while (__atomic_load_n(&c->fa, __ATOMIC_ACQUIRE) == 0)
            futex(&c->fa, FUTEX_WAIT_PRIVATE, 0);
        __atomic_store_n(&c->fa, 0, __ATOMIC_RELAXED);
        record(c);
    }
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&c->fb, 1, __ATOMIC_RELEASE);
    futex(&c->fb, FUTEX_WAKE_PRIVATE, 1);
}

/* ---- eventfd + io_uring READ ---- */

static void efd_arm(struct io_uring *ring, int fd, uint64_t *buf)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe)
        die("eventfd: SQ full");
    io_uring_prep_read(sqe, fd, buf, sizeof *buf, 0);
    io_uring_sqe_set_data64(sqe, 1);
}

static void efd_write(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

/* Submit, block for the READ's CQE, consume it. */
static void efd_wait(struct io_uring *ring)
{
    struct io_uring_cqe *cqe;
    int r;
    do {
        r = io_uring_submit_and_wait(ring, 1);
    } while (r == -EINTR);
    if (r < 0)
        die("eventfd: io_uring_submit_and_wait: %s", strerror(-r));
    do {
        r = io_uring_wait_cqe(ring, &cqe); /* no system call: it is there */
    } while (r == -EINTR);
    if (r < 0 || cqe->res != (int)sizeof(uint64_t))
        die("eventfd: read failed: %s", strerror(r < 0 ? -r : -cqe->res));
    io_uring_cqe_seen(ring, cqe);
}

static void *efd_b(void *arg)
{
    struct lctx *c = arg;
    pin_cpu(cpu_b);
    if (io_uring_queue_init(256, &c->lb.ring, 0) < 0)
        die("io_uring_queue_init");
    efd_arm(&c->lb.ring, c->efb, &c->bufb);
    io_uring_submit(&c->lb.ring);
    atomic_store(&c->b_ready, 1);
    for (;;) {
        efd_wait(&c->lb.ring);
        if (__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
            break;
        efd_arm(&c->lb.ring, c->efb, &c->bufb);
        efd_write(c->efa);
    }
    io_uring_queue_exit(&c->lb.ring);
    return NULL;
}

static void efd_a(struct lctx *c)
{
    if (io_uring_queue_init(256, &c->la.ring, 0) < 0)
        die("io_uring_queue_init");
    efd_arm(&c->la.ring, c->efa, &c->bufa);
    io_uring_submit(&c->la.ring);
    while (!atomic_load(&c->b_ready))
        sched_yield();
    while (c->round < c->total) {
        c->t0 = now_ns();
        efd_write(c->efb);
        efd_wait(&c->la.ring);
        record(c);
        if (c->round < c->total)
            efd_arm(&c->la.ring, c->efa, &c->bufa);
    }
    /* the write below orders it before B's read */
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
    efd_write(c->efb);
    io_uring_queue_exit(&c->la.ring);
}

/* ---- pthread_cond ---- */

static void *cond_b(void *arg)
{
    struct lctx *c = arg;
    pin_cpu(cpu_b);
    pthread_mutex_lock(&c->pm);
    atomic_store(&c->b_ready, 1);
    for (;;) {
        while (c->turn != 1)
            pthread_cond_wait(&c->cb, &c->pm);
        if (__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
            break;
        c->turn = 0;
        pthread_cond_signal(&c->ca);
    }
    pthread_mutex_unlock(&c->pm);
    return NULL;
}

static void cond_a(struct lctx *c)
{
    while (!atomic_load(&c->b_ready))
        sched_yield();
    pthread_mutex_lock(&c->pm);
    while (c->round < c->total) {
        c->t0 = now_ns();
        c->turn = 1;
        pthread_cond_signal(&c->cb);
        while (c->turn != 0)
            pthread_cond_wait(&c->ca, &c->pm);
        record(c);
    }
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
    c->turn = 1;
    pthread_cond_signal(&c->cb);
    pthread_mutex_unlock(&c->pm);
}

/* ---- one measurement ---- */

static void *thread_a(void *arg)
{
    struct lctx *c = arg;
    pin_cpu(0);
    switch (c->var) {
    case L_EVENT:
    case L_MUTEX:
    case L_MUTEX_STRICT:
        lib_a(c);
        break;
    case L_FUTEX:
        futex_a(c);
        break;
    case L_EVENTFD:
        efd_a(c);
        break;
    default:
        cond_a(c);
        break;
    }
    return NULL;
}

/* Run `rounds` round trips (after `warm`); samples go to out[]. */
static void measure(int var, int bk, long rounds, long warm, uint64_t *out)
{
    struct lctx *c = aligned_alloc(64, (sizeof(struct lctx) + 63) & ~(size_t)63);
    pthread_t ta, tb;
    void *(*b_main)(void *);
    if (!c)
        die("out of memory");
    memset(c, 0, sizeof *c);
    c->var = var;
    c->bk = bk;
    c->rounds = rounds;
    c->warm = warm;
    c->total = rounds + warm;
    c->samples = out;
    check(as_event_init(&c->ea, 0), "as_event_init");
    check(as_event_init(&c->eb, 0), "as_event_init");
    check(as_mutex_init(&c->m, var == L_MUTEX_STRICT ? AS_MUTEX_STRICT_FIFO : 0),
          "as_mutex_init");
    c->efa = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->efb = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->efa < 0 || c->efb < 0)
        die("eventfd: %s", strerror(errno));
    pthread_mutex_init(&c->pm, NULL);
    pthread_cond_init(&c->ca, NULL);
    pthread_cond_init(&c->cb, NULL);
    /* The mutex has no owner: A holds it from the start, so that B's first
     * lock_async queues. */
    if ((var == L_MUTEX || var == L_MUTEX_STRICT) && as_mutex_try_lock(&c->m) != 1)
        die("could not take the mutex");

    switch (var) {
    case L_EVENT:
    case L_MUTEX:
    case L_MUTEX_STRICT:
        b_main = lib_b;
        break;
    case L_FUTEX:
        b_main = futex_b;
        break;
    case L_EVENTFD:
        b_main = efd_b;
        break;
    default:
        b_main = cond_b;
        break;
    }
    if (pthread_create(&tb, NULL, b_main, c) != 0 ||
        pthread_create(&ta, NULL, thread_a, c) != 0)
        die("pthread_create");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (c->round != c->total)
        die("latency: %ld of %ld rounds", c->round, c->total);

    check(as_event_destroy(&c->ea), "as_event_destroy");
    check(as_event_destroy(&c->eb), "as_event_destroy");
    check(as_mutex_destroy(&c->m), "as_mutex_destroy");
    close(c->efa);
    close(c->efb);
    pthread_mutex_destroy(&c->pm);
    pthread_cond_destroy(&c->ca);
    pthread_cond_destroy(&c->cb);
    free(c);
}

/* ---- main ---- */

static const double pcts[] = {0.5, 0.99, 0.999, 1.0};
static const char *const pct_name[] = {"p50", "p99", "p99.9", "max"};

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    bool have[BK_COUNT];
    long rounds, warm;
    /* all samples of every repetition, per (variant, backend) */
    uint64_t *all[L_COUNT][BK_COUNT] = {{NULL}};
    size_t nall[L_COUNT][BK_COUNT] = {{0}};
    int base_bk = -1;
    char b1[32], b2[32], b3[32], b4[32], b5[32];

    bench_parse(argc, argv, &o, "bench_latency",
                "  --count N  round trips per repetition (default 20000)\n"
                "  --only V   one implementation: event, mutex, mutex-strict, futex,\n"
                "             eventfd, pthread_cond\n");
    rounds = o.count > 0 ? o.count : o.smoke ? 200 : 20000;
    warm = o.smoke ? 20 : rounds / 20 + 100;
    for (int bk = 0; bk < BK_COUNT; bk++)
        if ((have[bk] = backend_enabled(&o, bk)) && base_bk < 0)
            base_bk = bk;
    if (base_bk < 0)
        die("no backend to run");
    if (online_cpus() < 2)
        fprintf(stderr, "bench_latency: one CPU only: both threads share it\n");

    for (int rep = 0; rep < o.reps; rep++) {
        for (int v = 0; v < L_COUNT; v++) {
            for (int bk = 0; bk < BK_COUNT; bk++) {
                if (!have[bk] || (!var_is_lib(v) && bk != base_bk))
                    continue;
                if (o.only && strcmp(o.only, var_name[v]) != 0)
                    continue;
                int bki = var_is_lib(v) ? bk : 0;
                uint64_t **a = &all[v][bki];
                *a = realloc(*a, (nall[v][bki] + (size_t)rounds) * sizeof **a);
                if (!*a)
                    die("out of memory");
                uint64_t *s = *a + nall[v][bki];
                measure(v, bk, rounds, warm, s);
                nall[v][bki] += (size_t)rounds;
                sort_u64(s, (size_t)rounds);
                double sum = 0;
                for (long i = 0; i < rounds; i++)
                    sum += (double)s[i];
                const char *bn = var_is_lib(v) ? bk_name[bk] : "-";
                for (size_t p = 0; p < ARRAY_LEN(pcts); p++)
                    res_add(&res, (double)pct_u64(s, (size_t)rounds, pcts[p]),
                            "%s|%s|%s", var_name[v], bn, pct_name[p]);
                res_add(&res, sum / (double)rounds, "%s|%s|mean", var_name[v], bn);
            }
        }
    }

    /* ---- same-CPU pass (informational) ---- */
    cpu_b = 0;
    {
        long srounds = rounds / 4 + 1;
        uint64_t *s = malloc((size_t)srounds * sizeof *s);
        if (!s)
            die("out of memory");
        for (int rep = 0; rep < o.reps; rep++) {
            for (int v = 0; v < L_COUNT; v++) {
                for (int bk = 0; bk < BK_COUNT; bk++) {
                    if (!have[bk] || (!var_is_lib(v) && bk != base_bk))
                        continue;
                    if (o.only && strcmp(o.only, var_name[v]) != 0)
                        continue;
                    measure(v, bk, srounds, warm / 4 + 1, s);
                    sort_u64(s, (size_t)srounds);
                    const char *bn = var_is_lib(v) ? bk_name[bk] : "-";
                    res_add(&res, (double)pct_u64(s, (size_t)srounds, 0.5),
                            "same|%s|%s|p50", var_name[v], bn);
                    res_add(&res, (double)pct_u64(s, (size_t)srounds, 0.99),
                            "same|%s|%s|p99", var_name[v], bn);
                }
            }
        }
        free(s);
    }

    /* ---- tables ---- */
    report_open(&rp, &o, "latency");
    rprintf(&rp, "## 3. Cross-loop wake latency (round trip, two threads "
                 "on two CPUs)\n\n");
    rprintf(&rp, "%ld round trips per repetition (after %ld warm-up), each "
                 "percentile the median of %d repetitions.\n\n",
            rounds, warm, o.reps);
    rprintf(&rp, "| implementation | backend | p50 | p99 | p99.9 | max | mean "
                 "| p50 vs futex |\n");
    rprintf(&rp, "|---|---|---:|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "latency.csv");
    if (csv)
        fprintf(csv, "impl,backend,p50_ns,p99_ns,p99_9_ns,max_ns,mean_ns,reps,rounds\n");
    double fut50 = res_median(&res, "futex|-|p50");
    for (int v = 0; v < L_COUNT; v++) {
        for (int bk = 0; bk < BK_COUNT; bk++) {
            const char *bn = var_is_lib(v) ? bk_name[bk] : "-";
            if (!var_is_lib(v) && bk > 0)
                break;
            if (!res_count(&res, "%s|%s|p50", var_name[v], bn))
                continue;
            double p[4], mean = res_median(&res, "%s|%s|mean", var_name[v], bn);
            for (int i = 0; i < 4; i++)
                p[i] = res_median(&res, "%s|%s|%s", var_name[v], bn, pct_name[i]);
            rprintf(&rp, "| %s | %s | %s | %s | %s | %s | %s | %.2fx |\n",
                    var_label[v], bn, fmt_ns(b1, sizeof b1, p[0]),
                    fmt_ns(b2, sizeof b2, p[1]), fmt_ns(b3, sizeof b3, p[2]),
                    fmt_ns(b4, sizeof b4, p[3]), fmt_ns(b5, sizeof b5, mean),
                    p[0] / fut50);
            if (csv)
                fprintf(csv, "%s,%s,%.0f,%.0f,%.0f,%.0f,%.1f,%d,%ld\n",
                        var_name[v], bn, p[0], p[1], p[2], p[3], mean,
                        res_count(&res, "%s|%s|p50", var_name[v], bn), rounds);
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);

    rprintf(&rp, "Same pairs with both threads on CPU 0 (no idle CPU to wake: "
                 "the software path alone; not judged):\n\n");
    rprintf(&rp, "| implementation | backend | p50 | p99 | p50 vs futex |\n");
    rprintf(&rp, "|---|---|---:|---:|---:|\n");
    csv = out_open(&o, "latency_same_cpu.csv");
    if (csv)
        fprintf(csv, "impl,backend,p50_ns,p99_ns\n");
    double sfut50 = res_median(&res, "same|futex|-|p50");
    for (int v = 0; v < L_COUNT; v++) {
        for (int bk = 0; bk < BK_COUNT; bk++) {
            const char *bn = var_is_lib(v) ? bk_name[bk] : "-";
            if (!var_is_lib(v) && bk > 0)
                break;
            if (!res_count(&res, "same|%s|%s|p50", var_name[v], bn))
                continue;
            double p50 = res_median(&res, "same|%s|%s|p50", var_name[v], bn);
            double p99 = res_median(&res, "same|%s|%s|p99", var_name[v], bn);
            rprintf(&rp, "| %s | %s | %s | %s | %.2fx |\n", var_label[v], bn,
                    fmt_ns(b1, sizeof b1, p50), fmt_ns(b2, sizeof b2, p99),
                    p50 / sfut50);
            if (csv)
                fprintf(csv, "%s,%s,%.0f,%.0f\n", var_name[v], bn, p50, p99);
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    /* ---- CDF of all samples ---- */
    csv = out_open(&o, "latency_cdf.csv");
    if (csv) {
        fprintf(csv, "impl,backend,quantile,ns\n");
        for (int v = 0; v < L_COUNT; v++) {
            for (int bki = 0; bki < BK_COUNT; bki++) {
                size_t n = nall[v][bki];
                if (!n)
                    continue;
                const char *bn = var_is_lib(v) ? bk_name[bki] : "-";
                sort_u64(all[v][bki], n);
                for (int i = 1; i <= 1000; i++) {
                    double q = i / 1000.0;
                    if (i == 1000) /* fine steps in the tail */
                        for (int j = 1; j < 10; j++)
                            fprintf(csv, "%s,%s,%.4f,%llu\n", var_name[v], bn,
                                    0.999 + j / 10000.0,
                                    (unsigned long long)pct_u64(
                                        all[v][bki], n, 0.999 + j / 10000.0));
                    fprintf(csv, "%s,%s,%.4f,%llu\n", var_name[v], bn, q,
                            (unsigned long long)pct_u64(all[v][bki], n, q));
                }
            }
        }
        fclose(csv);
    }

    /* ---- targets ---- */
    targets_open(&tg, &o, "latency");
    {
        double f50 = res_median(&res, "futex|-|p50");
        double e50 = res_median(&res, "eventfd|-|p50");
        double f999 = res_median(&res, "futex|-|p99.9");
        double e999 = res_median(&res, "eventfd|-|p99.9");
        static const int judged[] = {L_EVENT, L_MUTEX};
        int id = 1;
        for (size_t j = 0; j < ARRAY_LEN(judged); j++) {
            int v = judged[j];
            char m1[256] = "", m2[256] = "", m3[256] = "", tgt[200], ids[16];
            size_t l1 = 0, l2 = 0, l3 = 0;
            int ok1 = 1, ok2 = 1, ok3 = 1, seen = 0;
            for (int bk = 0; bk < BK_COUNT; bk++) {
                double p50 = res_median(&res, "%s|%s|p50", var_name[v], bk_name[bk]);
                double p999 = res_median(&res, "%s|%s|p99.9", var_name[v], bk_name[bk]);
                if (isnan(p50))
                    continue;
                seen++;
                ok1 &= p50 <= 1.1 * f50;
                ok2 &= p50 <= e50;
                ok3 &= p999 <= f999 && p999 <= e999;
                l1 += (size_t)snprintf(m1 + l1, sizeof m1 - l1, "%s%s: %s = %.2fx",
                                       l1 ? "; " : "", bk_name[bk],
                                       fmt_ns(b1, sizeof b1, p50), p50 / f50);
                l2 += (size_t)snprintf(m2 + l2, sizeof m2 - l2, "%s%s: %s = %.2fx",
                                       l2 ? "; " : "", bk_name[bk],
                                       fmt_ns(b1, sizeof b1, p50), p50 / e50);
                l3 += (size_t)snprintf(m3 + l3, sizeof m3 - l3, "%s%s: %s",
                                       l3 ? "; " : "", bk_name[bk],
                                       fmt_ns(b1, sizeof b1, p999));
            }
            if (!seen)
                ok1 = ok2 = ok3 = -1;
            snprintf(ids, sizeof ids, "3.%d", id++);
            snprintf(tgt, sizeof tgt, "cross-loop %s round trip p50 <= 1.1x "
                     "raw futex (%s)", var_label[v], fmt_ns(b1, sizeof b1, f50));
            target_row(&tg, ids, tgt, ok1, "%s", m1);
            snprintf(ids, sizeof ids, "3.%d", id++);
            snprintf(tgt, sizeof tgt, "cross-loop %s round trip p50 <= "
                     "eventfd + io_uring (%s)", var_label[v],
                     fmt_ns(b1, sizeof b1, e50));
            target_row(&tg, ids, tgt, ok2, "%s", m2);
            snprintf(ids, sizeof ids, "3.%d", id++);
            snprintf(tgt, sizeof tgt, "cross-loop %s round trip p99.9 <= futex "
                     "(%s) and eventfd (%s)", var_label[v],
                     fmt_ns(b1, sizeof b1, f999), fmt_ns(b2, sizeof b2, e999));
            target_row(&tg, ids, tgt, ok3, "%s", m3);
        }
    }
    targets_close(&tg);

    for (int v = 0; v < L_COUNT; v++)
        for (int bk = 0; bk < BK_COUNT; bk++)
            free(all[v][bk]);
    res_free(&res);
    return 0;
}
