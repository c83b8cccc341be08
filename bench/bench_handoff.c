/* Workload 2: same-loop hand-off rate.
 * SPDX-License-Identifier: MIT
 *
 * K tasks (K = 2, 64, 1024) on one loop contend for one lock.  The holder
 * keeps it across one loop iteration: at the start of the next iteration it
 * releases (the lock goes to the oldest waiter) and asks again (it queues at
 * the tail).  So every iteration is exactly one hand-off between two tasks
 * of the same loop, and the loop never blocks (it always has local work: it
 * submits, then peeks at the CQ).  Reported: hand-offs per second.
 *
 *   asyncsync mutex   as_mutex_unlock / as_mutex_lock_async; the waiter is
 *                     on the unlocker's loop, so the lock is handed to it
 *                     directly and its callback goes on the ready list
 *   asyncsync sem     as_sem_release(1) / as_sem_acquire_async(1), sem(1)
 *   kernel            the waiter is parked in the kernel: one
 *                     IORING_OP_FUTEX_WAIT SQE per waiter on the loop's ring,
 *                     on the lock word (0 free, 1 locked, 2 locked with
 *                     waiters); release = exchange to 0 and, if there were
 *                     waiters, an IORING_OP_FUTEX_WAKE SQE.  The loop submits
 *                     the wake and waits for the woken waiter's CQE; the
 *                     releaser's new FUTEX_WAIT must be submitted while the
 *                     lock is still held (a wait armed after the release
 *                     fails at once with -EAGAIN), so two ring submissions
 *                     per hand-off.  This is DESIGN.md's first sketch.
 *   floor             a plain user-space FIFO of waiters and a ready queue
 *                     (no atomics, no lock): what a hand-off costs at least
 *                     in this loop.  Its calls are not inlined, like a
 *                     library's.
 *
 * The baselines do not depend on the asyncsync backend and run once.
 *
 * Targets (K = 64): >= 20x the kernel hand-off, within 3x of the floor, and
 * no system call per hand-off.  The last is proven from outside by bench/run:
 *   bench_handoff --only async-mutex --count N --backend uring
 * performs exactly N hand-offs (K = 64) and nothing else, so running it
 * under `perf stat -e raw_syscalls:sys_enter` (or strace -f -c) for two
 * values of N gives the system calls per extra hand-off.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum impl { I_MUTEX, I_SEM, I_KERNEL, I_FLOOR, I_COUNT };
static const char *const impl_name[I_COUNT] = {"async-mutex", "async-sem",
                                               "kernel", "floor"};
static const char *const impl_label[I_COUNT] = {
    "asyncsync mutex", "asyncsync sem(1)", "kernel futex (per-waiter SQE)",
    "userspace FIFO floor"};

struct hctx;

struct task {
    as_wait w;
    struct hctx *c;
    struct task *next; /* floor: waiter queue or ready queue */
};

struct hctx {
    struct bloop *b;
    int impl;
    int k;
    struct task *tasks;
    struct task *holder;   /* holds the lock, releases next iteration */
    uint64_t handoffs;     /* acquisitions by a task that had to wait */
    bool stopping;
    int idle;              /* tasks done (stopping) */
    as_mutex m;
    as_sem s;
    /* kernel baseline */
    uint32_t kword;
    int kwaiting;          /* FUTEX_WAIT SQEs in flight */
    /* floor */
    bool flocked;
    struct task *fq_head, *fq_tail; /* waiters */
    struct task *rq_head, *rq_tail; /* ready */
};

/* ---- asyncsync ---- */

static void on_acquired(as_wait *w, int status, void *arg)
{
    struct task *t = arg;
    (void)w;
    if (status != 0)
        die("hand-off callback: %s", as_strerror(status));
    t->c->holder = t;
    t->c->handoffs++;
}

static void async_request(struct hctx *c, struct task *t)
{
    int r = c->impl == I_MUTEX
                ? as_mutex_lock_async(&c->m, &c->b->loop, &t->w, on_acquired, t)
                : as_sem_acquire_async(&c->s, &c->b->loop, &t->w, 1,
                                       on_acquired, t);
    check(r, "lock/acquire");
    if (r == 1)
        c->holder = t;
}

static void async_release(struct hctx *c)
{
    check(c->impl == I_MUTEX ? as_mutex_unlock(&c->m)
                             : as_sem_release(&c->s, 1),
          "unlock/release");
}

/* One loop iteration. */
static void async_iter(struct hctx *c)
{
    struct task *t = c->holder;
    if (t) {
        c->holder = NULL;
        async_release(c);
        if (!c->stopping)
            async_request(c, t);
        else
            c->idle++;
    }
    as_loop_run(&c->b->loop);
    bloop_poll(c->b, false);
}

/* ---- kernel: waiters parked with IORING_OP_FUTEX_WAIT ---- */

/* Drepper's futex mutex ("Futexes are tricky", mutex3): a newcomer may take
 * a free lock as 1 (no waiters); a waiter, once it has waited, only takes it
 * as 2, since others may still be parked. */
static bool kernel_try(struct hctx *c, struct task *t, bool waited)
{
    uint32_t zero = 0;
    struct io_uring_sqe *sqe;
    if (!waited &&
        __atomic_compare_exchange_n(&c->kword, &zero, 1, false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return true;
    if (__atomic_exchange_n(&c->kword, 2, __ATOMIC_ACQUIRE) == 0)
        return true;
    sqe = bloop_sqe(c->b);
    prep_futex_wait(sqe, &c->kword, 2);
    io_uring_sqe_set_data(sqe, t);
    c->kwaiting++;
    return false;
}

static void kernel_release(struct hctx *c)
{
    if (__atomic_exchange_n(&c->kword, 0, __ATOMIC_RELEASE) == 2) {
        struct io_uring_sqe *sqe = bloop_sqe(c->b);
        prep_futex_wake(sqe, &c->kword, 1);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data(sqe, NULL);
    }
}

static void kernel_cqe(struct bloop *b, const struct io_uring_cqe *cqe)
{
    struct hctx *c = b->ctx;
    struct task *t = io_uring_cqe_get_data(cqe);
    if (!t)
        die("kernel baseline: FUTEX_WAKE failed: %s", strerror(-cqe->res));
    /* 0: woken; -EAGAIN: the word changed before the wait was queued */
    if (cqe->res < 0 && cqe->res != -EAGAIN && cqe->res != -EINTR)
        die("kernel baseline: FUTEX_WAIT failed: %s", strerror(-cqe->res));
    c->kwaiting--;
    if (kernel_try(c, t, true)) {
        c->holder = t;
        c->handoffs++;
    }
}

static void kernel_iter(struct hctx *c)
{
    struct task *t = c->holder;
    if (t) {
        c->holder = NULL;
        kernel_release(c);
    }
    /* submit the wake, wait for the woken waiter's CQE */
    bloop_poll(c->b, c->kwaiting > 0 && c->holder == NULL);
    if (t) {
        if (c->stopping) {
            c->idle++;
        } else if (kernel_try(c, t, false)) {
            c->holder = t; /* nobody was waiting */
        } else {
            /* park the releaser while the lock is held (2nd submission) */
            io_uring_submit(&c->b->ring);
        }
    }
}

/* ---- floor: a user-space FIFO and a ready queue ---- */

static void q_push(struct task **head, struct task **tail, struct task *t)
{
    t->next = NULL;
    if (*tail)
        (*tail)->next = t;
    else
        *head = t;
    *tail = t;
}

static struct task *q_pop(struct task **head, struct task **tail)
{
    struct task *t = *head;
    if (t) {
        *head = t->next;
        if (!*head)
            *tail = NULL;
    }
    return t;
}

__attribute__((noinline)) static int floor_lock(struct hctx *c, struct task *t)
{
    if (!c->flocked) {
        c->flocked = true;
        return 1;
    }
    q_push(&c->fq_head, &c->fq_tail, t);
    return 0;
}

__attribute__((noinline)) static void floor_unlock(struct hctx *c)
{
    struct task *h = q_pop(&c->fq_head, &c->fq_tail);
    if (!h) {
        c->flocked = false;
        return;
    }
    q_push(&c->rq_head, &c->rq_tail, h); /* direct hand-off */
}

__attribute__((noinline)) static void floor_acquired(struct task *t)
{
    t->c->holder = t;
    t->c->handoffs++;
}

__attribute__((noinline)) static void floor_run(struct hctx *c)
{
    struct task *t;
    while ((t = q_pop(&c->rq_head, &c->rq_tail)) != NULL)
        floor_acquired(t);
}

static void floor_iter(struct hctx *c)
{
    struct task *t = c->holder;
    if (t) {
        c->holder = NULL;
        floor_unlock(c);
        if (!c->stopping) {
            if (floor_lock(c, t))
                c->holder = t;
        } else {
            c->idle++;
        }
    }
    floor_run(c);
    bloop_poll(c->b, false);
}

/* ---- driver ---- */

static void iter(struct hctx *c)
{
    switch (c->impl) {
    case I_MUTEX:
    case I_SEM:
        async_iter(c);
        break;
    case I_KERNEL:
        kernel_iter(c);
        break;
    default:
        floor_iter(c);
        break;
    }
}

static void setup(struct hctx *c, struct bloop *b, int impl, int k)
{
    memset(c, 0, sizeof *c);
    c->b = b;
    c->impl = impl;
    c->k = k;
    b->ctx = c;
    b->on_cqe = impl == I_KERNEL ? kernel_cqe : NULL;
    c->tasks = calloc((size_t)k, sizeof *c->tasks);
    if (!c->tasks)
        die("out of memory");
    check(as_mutex_init(&c->m, 0), "as_mutex_init");
    check(as_sem_init(&c->s, 1, 0), "as_sem_init");
    for (int i = 0; i < k; i++) {
        struct task *t = &c->tasks[i];
        t->c = c;
        switch (impl) {
        case I_MUTEX:
        case I_SEM:
            async_request(c, t);
            break;
        case I_KERNEL:
            if (kernel_try(c, t, false))
                c->holder = t;
            break;
        default:
            if (floor_lock(c, t))
                c->holder = t;
            break;
        }
    }
    if (impl == I_KERNEL)
        io_uring_submit(&b->ring);
    if (!c->holder)
        die("hand-off setup: nobody holds the lock");
}

static void teardown(struct hctx *c)
{
    c->stopping = true;
    while (c->idle < c->k)
        iter(c);
    if (c->kwaiting)
        die("kernel baseline: %d waits still armed", c->kwaiting);
    check(as_mutex_destroy(&c->m), "as_mutex_destroy");
    check(as_sem_destroy(&c->s), "as_sem_destroy");
    free(c->tasks);
}

/* Hand-offs per second over a window of `ms`. */
static double measure(struct bloop *b, int impl, int k, double ms)
{
    struct hctx c;
    uint64_t h0, t0, t1, deadline;
    long warm = 2L * k + 100;
    setup(&c, b, impl, k);
    for (long i = 0; i < warm; i++)
        iter(&c);
    h0 = c.handoffs;
    t0 = now_ns();
    deadline = t0 + (uint64_t)(ms * 1e6);
    do {
        for (int i = 0; i < 256; i++)
            iter(&c);
        t1 = now_ns();
    } while (t1 < deadline);
    double rate = (double)(c.handoffs - h0) * 1e9 / (double)(t1 - t0);
    teardown(&c);
    return rate;
}

/* --count N: exactly N hand-offs of one implementation (K = 64), for
 * counting system calls from outside. */
static int probe(const struct bench_opts *o)
{
    int impl = -1, bk = o->backend[BK_URING] ? BK_URING : BK_GENERIC;
    struct bloop b;
    struct hctx c;
    const char *only = o->only ? o->only : "async-mutex";
    for (int i = 0; i < I_COUNT; i++)
        if (strcmp(only, impl_name[i]) == 0)
            impl = i;
    if (impl < 0)
        die("--only: async-mutex, async-sem, kernel or floor");
    if (!backend_enabled(o, bk))
        die("backend %s unavailable", bk_name[bk]);
    bloop_init(&b, bk);
    setup(&c, &b, impl, 64);
    while (c.handoffs < (uint64_t)o->count)
        iter(&c);
    printf("handoffs %llu impl %s backend %s\n",
           (unsigned long long)c.handoffs, impl_name[impl], bk_name[bk]);
    teardown(&c);
    bloop_fini(&b);
    return 0;
}

int main(int argc, char **argv)
{
    static const int ks[] = {2, 64, 1024};
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    struct bloop loops[BK_COUNT];
    bool have[BK_COUNT] = {false, false};
    int base_bk = -1;
    bool have_kernel = kernel_has_uring_futex();
    double ms;
    char b1[32], b2[32];

    bench_parse(argc, argv, &o, "bench_handoff",
                "  --count N  probe: exactly N hand-offs (K=64) of --only IMPL\n"
                "  --only IMPL  async-mutex (default), async-sem, kernel, floor\n");
    if (o.count > 0)
        return probe(&o);
    ms = o.ms > 0 ? o.ms : o.smoke ? 3 : 150;

    pin_cpu(0);
    for (int bk = 0; bk < BK_COUNT; bk++) {
        if ((have[bk] = backend_enabled(&o, bk))) {
            bloop_init(&loops[bk], bk);
            if (base_bk < 0)
                base_bk = bk;
        }
    }
    if (base_bk < 0)
        die("no backend to run");

    for (int rep = 0; rep < o.reps; rep++) {
        for (size_t ki = 0; ki < ARRAY_LEN(ks); ki++) {
            int k = ks[ki];
            for (int impl = 0; impl < I_COUNT; impl++) {
                for (int bk = 0; bk < BK_COUNT; bk++) {
                    bool lib = impl == I_MUTEX || impl == I_SEM;
                    if (!have[bk] || (!lib && bk != base_bk))
                        continue;
                    if (impl == I_KERNEL && !have_kernel)
                        continue;
                    double r = measure(&loops[bk], impl, k, ms);
                    res_add(&res, r, "%s|%s|%d", impl_name[impl],
                            lib ? bk_name[bk] : "-", k);
                }
            }
        }
    }

    report_open(&rp, &o, "handoff");
    rprintf(&rp, "## 2. Same-loop hand-off (hand-offs per second)\n\n");
    rprintf(&rp, "K tasks on one loop contend for one lock; the holder keeps "
                 "it across one loop iteration, then releases and queues "
                 "again. %.0f ms windows, median of %d repetitions.\n\n",
            ms, o.reps);
    rprintf(&rp, "| K | implementation | backend | hand-offs/s | ns/hand-off "
                 "| vs kernel | floor/this |\n");
    rprintf(&rp, "|---:|---|---|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "handoff.csv");
    if (csv)
        fprintf(csv, "k,impl,backend,handoffs_per_s_median,min,max,reps,"
                     "ns_per_handoff,x_kernel,floor_over_this\n");
    for (size_t ki = 0; ki < ARRAY_LEN(ks); ki++) {
        int k = ks[ki];
        double kern = res_median(&res, "kernel|-|%d", k);
        double flo = res_median(&res, "floor|-|%d", k);
        for (int impl = 0; impl < I_COUNT; impl++) {
            for (int bk = 0; bk < BK_COUNT; bk++) {
                bool lib = impl == I_MUTEX || impl == I_SEM;
                const char *bn = lib ? bk_name[bk] : "-";
                if (!lib && bk > 0)
                    break;
                if (!res_count(&res, "%s|%s|%d", impl_name[impl], bn, k))
                    continue;
                double m = res_median(&res, "%s|%s|%d", impl_name[impl], bn, k);
                rprintf(&rp, "| %d | %s | %s | %s | %s | %.1fx | %.2fx |\n", k,
                        impl_label[impl], bn, fmt_rate(b1, sizeof b1, m),
                        fmt_ns(b2, sizeof b2, 1e9 / m), m / kern, flo / m);
                if (csv)
                    fprintf(csv, "%d,%s,%s,%.1f,%.1f,%.1f,%d,%.2f,%.3f,%.3f\n", k,
                            impl_name[impl], bn, m,
                            res_min(&res, "%s|%s|%d", impl_name[impl], bn, k),
                            res_max(&res, "%s|%s|%d", impl_name[impl], bn, k),
                            res_count(&res, "%s|%s|%d", impl_name[impl], bn, k),
                            1e9 / m, m / kern, flo / m);
            }
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, &o, "handoff");
    for (int impl = I_MUTEX; impl <= I_SEM; impl++) {
        double kern = res_median(&res, "kernel|-|64");
        double flo = res_median(&res, "floor|-|64");
        char mk[256] = "", mf[256] = "";
        size_t lk = 0, lf = 0;
        int met_k = 1, met_f = 1, seen = 0;
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double m = res_median(&res, "%s|%s|64", impl_name[impl], bk_name[bk]);
            if (isnan(m))
                continue;
            seen++;
            if (isnan(kern) || m / kern < 20)
                met_k = isnan(kern) ? -1 : 0;
            if (flo / m > 3)
                met_f = 0;
            lk += (size_t)snprintf(mk + lk, sizeof mk - lk, "%s%s: %s = %.0fx",
                                   lk ? "; " : "", bk_name[bk],
                                   fmt_rate(b1, sizeof b1, m), m / kern);
            lf += (size_t)snprintf(mf + lf, sizeof mf - lf,
                                   "%s%s: %s/hand-off = %.2fx the floor's",
                                   lf ? "; " : "", bk_name[bk],
                                   fmt_ns(b1, sizeof b1, 1e9 / m), flo / m);
        }
        if (!seen)
            met_k = met_f = -1;
        char tgt[200];
        snprintf(tgt, sizeof tgt,
                 "same-loop hand-off K=64, %s: >= 20x the kernel hand-off (%s)",
                 impl == I_MUTEX ? "mutex" : "sem(1)",
                 fmt_rate(b2, sizeof b2, kern));
        target_row(&tg, impl == I_MUTEX ? "2.1" : "2.3", tgt, met_k, "%s", mk);
        snprintf(tgt, sizeof tgt,
                 "same-loop hand-off K=64, %s: within 3x of the userspace "
                 "floor (%s/hand-off)",
                 impl == I_MUTEX ? "mutex" : "sem(1)",
                 fmt_ns(b2, sizeof b2, 1e9 / flo));
        target_row(&tg, impl == I_MUTEX ? "2.2" : "2.4", tgt, met_f, "%s", mf);
    }
    targets_close(&tg);

    for (int bk = 0; bk < BK_COUNT; bk++)
        if (have[bk])
            bloop_fini(&loops[bk]);
    res_free(&res);
    return 0;
}
