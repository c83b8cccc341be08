/* Workload 4: contended throughput.
 * SPDX-License-Identifier: MIT
 *
 * T loops (T = 1, 2, 4) on T threads, 64 tasks each, share one primitive:
 * a semaphore(4) or a mutex, each with its default policy and with
 * AS_SEM_STRICT_FIFO / AS_MUTEX_STRICT_FIFO.  A task acquires (as_*_async; a callback when it had
 * to wait), counts the acquisition, and then either
 *   - "short":  releases at once, and asks again at the loop's next
 *               iteration (a short critical section), or
 *   - "hold":   keeps it across one loop iteration, releases at the start of
 *               the next one and asks again at once.
 * A loop blocks (io_uring_submit_and_wait) only when none of its tasks can
 * run; it then sleeps until another loop's release wakes it.
 *
 * Baselines: the same work done by 8 plain threads blocking on a
 * pthread_mutex (lock, count, unlock) or a sem_t(4) (sem_wait, count,
 * sem_post), in a loop.  It has no "hold" counterpart: a thread holding a
 * lock across "a loop iteration" is not a thing.  And the async mutex people
 * build today on an eventfd: an eventfd in semaphore mode holding 1 is the
 * lock, a task acquires it with an IORING_OP_READ on the loop's ring (the
 * read completes when the count is 1 and takes it to 0) and releases it
 * with write(2); the same loops and tasks as asyncsync, no asyncsync.
 *
 * The main thread starts everyone, sleeps through the window (it takes no
 * part: the sleep only times the window), and stops them.  Reported:
 * acquisitions per second, CPU time of the process per acquisition
 * (CLOCK_PROCESS_CPUTIME_ID over the window), context switches per 1000
 * acquisitions (getrusage), and the waits of the acquisitions that queued
 * (their share, p99 and longest: what the policy's throughput costs in
 * fairness), medians over repetitions with their spread
 * (min-max; contended_reps.csv keeps every repetition).  Before the first
 * repetition and after the last, the state of the machine (machine_measure:
 * are CPUs 0 and 1 truly parallel, or time-shared with other work?) goes
 * next to the table and into machine_contended.csv.  The mutex variants
 * also check mutual exclusion: a plain counter incremented under the lock
 * must equal the number of acquisitions.
 *
 * Targets (issue 12; 2 loops, default policy): "short", the semaphore >=
 * the 8-thread sem_t baseline and the mutex >= the 8-thread pthread_mutex
 * baseline (4.1, 4.2); the mutex "hold" >= pthread_mutex too (4.5); the
 * semaphore's "hold" >= 0.8x the mutex's (4.6); <= 1 context switch per
 * 1000 acquisitions in every default-policy row, any T (4.7).
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TASKS 64
#define BASE_THREADS 8
#define MAX_LOOPS 4

enum prim { P_SEM, P_MUTEX, P_MUTEX_STRICT, P_SEM_STRICT, P_EVENTFD, P_COUNT };
static const char *const prim_name[P_COUNT] = {"sem4", "mutex", "mutex-strict",
                                               "sem4-strict", "mutex-eventfd"};
static const char *const prim_label[P_COUNT] = {
    "as_sem(4) (default)", "as_mutex (default)", "as_mutex (strict FIFO)",
    "as_sem(4) (strict FIFO)", "eventfd + io_uring READ mutex"};

static bool is_sem(int prim) { return prim == P_SEM || prim == P_SEM_STRICT; }
static bool is_strict(int prim)
{
    return prim == P_MUTEX_STRICT || prim == P_SEM_STRICT;
}

struct shared {
    int prim;
    bool hold;
    as_sem sem;
    as_mutex mutex;
    pthread_mutex_t pmutex;
    sem_t psem;
    int efd;          /* P_EVENTFD: the lock (semaphore mode, 1 = free) */
    uint64_t guarded; /* incremented under the mutex */
    struct window win;
};

struct cloop;

struct ctask {
    as_wait w;
    uint64_t buf; /* P_EVENTFD: the READ's 8 bytes */
    uint64_t t0;  /* when its pending wait began (0: not timed) */
    bool waiting; /* its acquisition is pending */
    struct cloop *l;
    struct ctask *next;
};

/* Waiting times: the wait of an acquisition that did not succeed at once,
 * from the return of the call that queued it to its callback (or, eventfd,
 * from its READ's SQE to its CQE).  They show what the policy's
 * throughput costs in fairness: how long the tasks that queue wait.  Every
 * wait is counted; one in WAIT_EVERY is timed (two clock reads, ~30 ns
 * each on this VM: timing all of them slowed the rows where every
 * acquisition waits, 1 loop "hold" and the strict policies, by half),
 * up to WAIT_SAMPLES per loop. */
#define WAIT_EVERY 64u
#define WAIT_SAMPLES (1u << 16)

struct cloop {
    struct shared *sh;
    int bk, id;
    struct bloop b;
    struct ctask tasks[TASKS];
    struct ctask *held;   /* release at the next iteration ("hold") */
    struct ctask *again;  /* ask again at the next iteration ("short") */
    bool stopping;
    int idle;             /* tasks done after stop */
    uint64_t acq;
    uint64_t waited;      /* acquisitions that waited (counted in acq) */
    uint64_t queued;      /* waits begun (all, for WAIT_EVERY) */
    uint64_t *waits;      /* their waiting times, ns (WAIT_SAMPLES) */
    size_t nwaits;
} __attribute__((aligned(64)));

static void task_request(struct ctask *t);

static void release(struct shared *sh)
{
    if (sh->prim == P_EVENTFD) {
        uint64_t one = 1;
        if (write(sh->efd, &one, sizeof one) != (ssize_t)sizeof one)
            die("eventfd write");
        return;
    }
    check(is_sem(sh->prim) ? as_sem_release(&sh->sem, 1)
                            : as_mutex_unlock(&sh->mutex),
          "release");
}

/* The task holds the primitive. */
static void got(struct ctask *t)
{
    struct cloop *l = t->l;
    struct shared *sh = l->sh;
    if (!l->stopping) {
        l->acq++;
        if (!is_sem(sh->prim))
            sh->guarded++;
    }
    /* Waits that end after the window are kept too: the longest waits
     * would otherwise be the ones left out. */
    if (t->waiting) {
        if (!l->stopping)
            l->waited++;
        if (t->t0 && l->nwaits < WAIT_SAMPLES)
            l->waits[l->nwaits++] = now_ns() - t->t0;
        t->t0 = 0;
        t->waiting = false;
    }
    if (sh->hold) {
        t->next = l->held;
        l->held = t;
    } else {
        release(sh);
        t->next = l->again;
        l->again = t;
    }
}

static void on_acquired(as_wait *w, int status, void *arg)
{
    (void)w;
    check(status, "acquire callback");
    got(arg);
}

/* P_EVENTFD: the READ completed, the task holds the lock. */
static void on_efd_cqe(struct bloop *b, const struct io_uring_cqe *cqe)
{
    (void)b;
    if (cqe->res != (int)sizeof(uint64_t))
        die("eventfd read: %d", cqe->res);
    got((struct ctask *)(uintptr_t)cqe->user_data);
}

static void wait_begin(struct ctask *t)
{
    t->waiting = true;
    if (t->l->queued++ % WAIT_EVERY == 0)
        t->t0 = now_ns();
}

static void task_request(struct ctask *t)
{
    struct cloop *l = t->l;
    struct shared *sh = l->sh;
    if (sh->prim == P_EVENTFD) {
        struct io_uring_sqe *sqe = bloop_sqe(&l->b);
        io_uring_prep_read(sqe, sh->efd, &t->buf, sizeof t->buf, 0);
        io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)t);
        wait_begin(t); /* every eventfd acquisition waits for its CQE */
        return;
    }
    int r = is_sem(sh->prim)
                ? as_sem_acquire_async(&sh->sem, &l->b.loop, &t->w, 1,
                                       on_acquired, t)
                : as_mutex_lock_async(&sh->mutex, &l->b.loop, &t->w,
                                      on_acquired, t);
    check(r, "acquire");
    if (r == 1)
        got(t);
    else
        wait_begin(t);
}

static void *loop_main(void *arg)
{
    struct cloop *l = arg;
    struct shared *sh = l->sh;
    bloop_init(&l->b, l->bk);
    l->b.on_cqe = on_efd_cqe;
    for (int i = 0; i < TASKS; i++)
        l->tasks[i].l = l;
    window_enter(&sh->win);
    for (int i = 0; i < TASKS; i++)
        task_request(&l->tasks[i]);
    for (;;) {
        struct ctask *held = l->held, *again = l->again;
        l->held = l->again = NULL;
        if (!l->stopping &&
            window_closed(&sh->win))
            l->stopping = true;
        while (held) {
            struct ctask *t = held;
            held = t->next;
            release(sh);
            if (l->stopping)
                l->idle++;
            else
                task_request(t);
        }
        while (again) {
            struct ctask *t = again;
            again = t->next;
            if (l->stopping)
                l->idle++;
            else
                task_request(t);
        }
        as_loop_run(&l->b.loop);
        if (l->idle == TASKS)
            break;
        /* sleep only when no task of ours can run */
        bloop_poll(&l->b, !l->held && !l->again);
    }
    bloop_fini(&l->b);
    return NULL;
}

/* ---- 8-thread baseline ---- */

struct bthread {
    struct shared *sh;
    uint64_t acq;
} __attribute__((aligned(64)));

static void *base_main(void *arg)
{
    struct bthread *bt = arg;
    struct shared *sh = bt->sh;
    uint64_t n = 0;
    window_enter(&sh->win);
    if (is_sem(sh->prim)) {
        while (!window_closed(&sh->win)) {
            while (sem_wait(&sh->psem) != 0)
                ;
            n++;
            sem_post(&sh->psem);
        }
    } else {
        while (!window_closed(&sh->win)) {
            pthread_mutex_lock(&sh->pmutex);
            n++;
            sh->guarded++;
            pthread_mutex_unlock(&sh->pmutex);
        }
    }
    bt->acq = n;
    return NULL;
}

/* ---- one measurement ---- */

struct sample {
    double rate;        /* acquisitions per second */
    double cpu_per_acq; /* ns */
    double csw_per_k;   /* context switches per 1000 acquisitions */
    double wait_pct;    /* % of acquisitions that waited (NAN: threads) */
    double wait_p99;    /* ns, p99 of the timed waits */
    double wait_max;    /* ns, the longest timed wait */
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The waits of every loop, pooled: share, p99 and max. */
static void wait_stats(struct sample *out, struct cloop *loops, int nloops,
                       uint64_t acq)
{
    size_t n = 0;
    uint64_t waited = 0, *all;
    out->wait_pct = out->wait_p99 = out->wait_max = NAN;
    for (int i = 0; i < nloops; i++) {
        n += loops[i].nwaits;
        waited += loops[i].waited;
    }
    if (acq)
        out->wait_pct = 100.0 * (double)waited / (double)acq;
    if (n == 0) {
        out->wait_p99 = out->wait_max = 0;
        return;
    }
    all = malloc(n * sizeof *all);
    if (!all)
        die("out of memory");
    n = 0;
    for (int i = 0; i < nloops; i++) {
        memcpy(all + n, loops[i].waits, loops[i].nwaits * sizeof *all);
        n += loops[i].nwaits;
    }
    qsort(all, n, sizeof *all, cmp_u64);
    out->wait_p99 = (double)pct_u64(all, n, 0.99);
    out->wait_max = (double)all[n - 1];
    free(all);
}

/* nloops > 0: asyncsync with that many loops; 0: the thread baseline. */
static struct sample measure(int prim, bool hold, int nloops, int bk, double ms)
{
    struct shared *sh = aligned_alloc(64, (sizeof *sh + 63) & ~(size_t)63);
    int nthreads = nloops > 0 ? nloops : BASE_THREADS;
    struct cloop *loops = NULL;
    struct bthread *bts = NULL;
    uint64_t acq = 0;
    struct window_span sp;
    struct sample out;

    if (!sh)
        die("out of memory");
    memset(sh, 0, sizeof *sh);
    sh->prim = prim;
    sh->hold = hold;
    check(as_sem_init(&sh->sem, 4, prim == P_SEM_STRICT ? AS_SEM_STRICT_FIFO : 0),
          "as_sem_init");
    check(as_mutex_init(&sh->mutex, prim == P_MUTEX_STRICT ? AS_MUTEX_STRICT_FIFO : 0),
          "as_mutex_init");
    pthread_mutex_init(&sh->pmutex, NULL);
    sem_init(&sh->psem, 0, 4);
    sh->efd = -1;
    if (prim == P_EVENTFD && (sh->efd = eventfd(1, EFD_SEMAPHORE | EFD_CLOEXEC)) < 0)
        die("eventfd");

    if (nloops > 0) {
        loops = aligned_alloc(64, sizeof *loops * (size_t)nloops);
        if (!loops)
            die("out of memory");
        memset(loops, 0, sizeof *loops * (size_t)nloops);
        for (int i = 0; i < nloops; i++) {
            loops[i].sh = sh;
            loops[i].bk = bk;
            loops[i].id = i;
            loops[i].waits = malloc(WAIT_SAMPLES * sizeof *loops[i].waits);
            if (!loops[i].waits)
                die("out of memory");
        }
        window_start(&sh->win, nloops, loop_main, loops, sizeof *loops);
    } else {
        bts = aligned_alloc(64, sizeof *bts * BASE_THREADS);
        if (!bts)
            die("out of memory");
        memset(bts, 0, sizeof *bts * BASE_THREADS);
        for (int i = 0; i < BASE_THREADS; i++)
            bts[i].sh = sh;
        window_start(&sh->win, BASE_THREADS, base_main, bts, sizeof *bts);
    }
    sp = window_time(&sh->win, ms);
    window_join(&sh->win);
    for (int i = 0; i < nthreads; i++)
        acq += nloops > 0 ? loops[i].acq : bts[i].acq;
    if (!is_sem(prim) && sh->guarded != acq)
        die("contended: mutual exclusion broken: %llu guarded increments, "
            "%llu acquisitions", (unsigned long long)sh->guarded,
            (unsigned long long)acq);
    out.rate = (double)acq * 1e9 / (double)sp.wall_ns;
    out.cpu_per_acq = acq ? (double)sp.cpu_ns / (double)acq : NAN;
    out.csw_per_k = acq ? (double)sp.csw * 1000.0 / (double)acq : NAN;
    out.wait_pct = out.wait_p99 = out.wait_max = NAN;
    if (nloops > 0)
        wait_stats(&out, loops, nloops, acq);

    check(as_sem_destroy(&sh->sem), "as_sem_destroy");
    check(as_mutex_destroy(&sh->mutex), "as_mutex_destroy");
    pthread_mutex_destroy(&sh->pmutex);
    sem_destroy(&sh->psem);
    if (sh->efd >= 0)
        close(sh->efd);
    for (int i = 0; i < nloops; i++)
        free(loops[i].waits);
    free(loops);
    free(bts);
    free(sh);
    return out;
}

/* The numbers of loops measured. */
static const int ts[] = {1, 2, 4};

/* Targets 4.5-4.7 (issue 12): the "hold" rows and context switches. */
static void contended_targets_hold(struct targets *tg, struct results *res,
                                   bool shared)
{
    char b1[32], b2[32], meas[512], tgt[200];
    double pm = res_median(res, "mutex|threads|short|-|8|rate");
    for (int k = 0; k < 2; k++) { /* 4.5 mutex hold, 4.6 sem hold */
        size_t len = 0;
        int met = 1, seen = 0;
        meas[0] = 0;
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double m = res_median(res, "mutex|loops|hold|%s|2|rate", bk_name[bk]);
            double r = k ? res_median(res, "sem4|loops|hold|%s|2|rate", bk_name[bk]) : m;
            double base = k ? m : pm;
            if (isnan(r) || isnan(base))
                continue;
            seen++;
            if (r < (k ? 0.8 : 1.0) * base)
                met = 0;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: %s = %.2fx", len ? "; " : "",
                                    bk_name[bk], fmt_rate(b1, sizeof b1, r),
                                    r / base);
        }
        if (seen && shared)
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    " (on time-shared CPUs: section 4)");
        if (k)
            snprintf(tgt, sizeof tgt, "contended, 2 loops, sem(4), default "
                     "policy, hold: >= 0.8x the mutex's hold");
        else
            snprintf(tgt, sizeof tgt, "contended, 2 loops, mutex, default "
                     "policy, hold: >= 1.0x the 8-thread pthread_mutex "
                     "baseline (%s)", fmt_rate(b2, sizeof b2, pm));
        target_row(tg, k ? "4.6" : "4.5", tgt, seen ? met : -1, "%s", meas);
    }
    { /* 4.7: context switches, every default-policy row */
        double worst = -1;
        char where[96] = "";
        for (int p = 0; p < 2; p++)
            for (int hold = 0; hold < 2; hold++)
                for (int bk = 0; bk < BK_COUNT; bk++)
                    for (size_t ti = 0; ti < ARRAY_LEN(ts); ti++) {
                        const char *pn = p ? "mutex" : "sem4";
                        double c = res_median(res, "%s|loops|%s|%s|%d|csw", pn,
                                              hold ? "hold" : "short",
                                              bk_name[bk], ts[ti]);
                        if (isnan(c) || c <= worst)
                            continue;
                        worst = c;
                        snprintf(where, sizeof where, "%s %s, %s, %d loop(s)",
                                 pn, hold ? "hold" : "short", bk_name[bk], ts[ti]);
                    }
        snprintf(meas, sizeof meas, "worst: %.2f (%s)%s", worst, where,
                 shared ? " (on time-shared CPUs: section 4)" : "");
        target_row(tg, "4.7", "contended, default policy, every row: <= 1 "
                   "context switch per 1000 acquisitions",
                   worst < 0 ? -1 : worst <= 1.0, "%s", worst < 0 ? "-" : meas);
    }
}

static void add_sample(struct results *res, struct sample s, const char *key)
{
    res_add(res, s.rate, "%s|rate", key);
    res_add(res, s.cpu_per_acq, "%s|cpu", key);
    res_add(res, s.csw_per_k, "%s|csw", key);
    if (!isnan(s.wait_pct)) {
        res_add(res, s.wait_pct, "%s|wpct", key);
        res_add(res, s.wait_p99, "%s|wp99", key);
        res_add(res, s.wait_max, "%s|wmax", key);
    }
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    bool have[BK_COUNT];
    double ms;
    char key[96], b1[32], b2[32], b3[48], line[512];
    struct machine_state mach[2];

    bench_parse(argc, argv, &o, "bench_contended",
                "  --only P   one primitive: sem4, sem4-strict, mutex, mutex-strict,\n"
                "             mutex-eventfd\n");
    ms = o.ms > 0 ? o.ms : o.smoke ? 10 : 200;
    int first_bk = -1;
    for (int bk = 0; bk < BK_COUNT; bk++) {
        have[bk] = backend_enabled(&o, bk);
        if (have[bk] && first_bk < 0)
            first_bk = bk;
    }

    machine_measure(&mach[0], o.smoke);
    printf("machine before: %s: %s\n", machine_verdict(&mach[0]),
           machine_describe(&mach[0], line, sizeof line));
    fflush(stdout);
    for (int rep = 0; rep < o.reps; rep++) {
        for (int prim = 0; prim < P_COUNT; prim++) {
            if (o.only && strcmp(o.only, prim_name[prim]) != 0)
                continue;
            if (!is_strict(prim) && prim != P_EVENTFD) {
                snprintf(key, sizeof key, "%s|threads|short|-|8", prim_name[prim]);
                add_sample(&res, measure(prim, false, 0, 0, ms), key);
            }
            for (int hold = 0; hold < 2; hold++) {
                for (int bk = 0; bk < BK_COUNT; bk++) {
                    if (!have[bk])
                        continue;
                    /* the eventfd mutex uses no asyncsync backend: once */
                    if (prim == P_EVENTFD && bk != first_bk)
                        continue;
                    for (size_t ti = 0; ti < ARRAY_LEN(ts); ti++) {
                        snprintf(key, sizeof key, "%s|loops|%s|%s|%d",
                                 prim_name[prim], hold ? "hold" : "short",
                                 bk_name[bk], ts[ti]);
                        add_sample(&res, measure(prim, hold, ts[ti], bk, ms), key);
                    }
                }
            }
        }
    }

    machine_measure(&mach[1], o.smoke);
    printf("machine after: %s: %s\n", machine_verdict(&mach[1]),
           machine_describe(&mach[1], line, sizeof line));
    bool shared = !mach[0].parallel || !mach[1].parallel;
    FILE *mcsv = out_open(&o, "machine_contended.csv");
    if (mcsv) {
        machine_csv_header(mcsv);
        machine_csv_row(mcsv, "before", &mach[0]);
        machine_csv_row(mcsv, "after", &mach[1]);
        fclose(mcsv);
    }

    report_open(&rp, &o, "contended");
    rprintf(&rp, "## 4. Contended throughput\n\n");
    rprintf(&rp, "T loops x %d tasks (asyncsync) or %d threads (baseline) "
                 "share one primitive; %.0f ms windows, median of %d "
                 "repetitions and their spread: min-max, and (max - min) / "
                 "median in parentheses. short = release at once, ask again "
                 "next iteration; hold = keep it across one loop iteration. "
                 "CPU = process CPU time per acquisition; csw = context "
                 "switches per 1000 acquisitions, median (min-max). "
                 "waited = the share of the acquisitions that queued, and "
                 "the p99 and longest of their waits (one in %u timed, "
                 "waits ending after the window included). %d "
                 "CPUs. Rings: %s.\n\n",
            TASKS, BASE_THREADS, ms, o.reps, WAIT_EVERY, online_cpus(),
            bench_ring_flags & IORING_SETUP_COOP_TASKRUN    ? "COOP_TASKRUN"
            : bench_ring_flags & IORING_SETUP_DEFER_TASKRUN ? "DEFER_TASKRUN"
                                                            : "plain");
    rprintf(&rp, "Machine state (two threads pinned to CPUs 0 and 1; "
                 "bench/README.md, \"How to read the results\"):\n\n");
    rprintf(&rp, "- before: **%s**: %s\n", machine_verdict(&mach[0]),
            machine_describe(&mach[0], line, sizeof line));
    rprintf(&rp, "- after: **%s**: %s\n\n", machine_verdict(&mach[1]),
            machine_describe(&mach[1], line, sizeof line));
    if (shared)
        rprintf(&rp, "**Time-shared CPUs**: the loops and threads below did "
                     "not each have a CPU of their own for the whole run; "
                     "rows with T >= 2 and the 8-thread baselines measure the "
                     "scheduler as much as the primitive, and their spread "
                     "is wide. Compare them only with a run on parallel "
                     "CPUs.\n\n");
    rprintf(&rp, "| primitive | runner | mode | backend | T | acquisitions/s "
                 "| spread (min-max) | CPU/acq | csw/1k acq | waited: share, p99, max "
                 "| vs 8 threads |\n");
    rprintf(&rp, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "contended.csv");
    if (csv)
        fprintf(csv, "primitive,runner,mode,backend,threads,acq_per_s_median,"
                     "acq_per_s_min,acq_per_s_max,cpu_ns_per_acq,csw_per_1k_acq,"
                     "reps,x_threads,cpu_ns_min,cpu_ns_max,csw_min,csw_max,"
                     "machine,wait_pct,wait_p99_ns,wait_max_ns\n");
    FILE *rcsv = out_open(&o, "contended_reps.csv");
    if (rcsv)
        fprintf(rcsv, "primitive,runner,mode,backend,threads,rep,acq_per_s,"
                      "cpu_ns_per_acq,csw_per_1k_acq,wait_pct,wait_p99_ns,"
                      "wait_max_ns\n");
    for (int prim = 0; prim < P_COUNT; prim++) {
        const char *basep = is_sem(prim) ? "sem4" : "mutex";
        double base = res_median(&res, "%s|threads|short|-|8|rate", basep);
        for (int i = -1; i < 2 * BK_COUNT * (int)ARRAY_LEN(ts); i++) {
            int hold = 0, bk = 0, t = BASE_THREADS;
            const char *runner = "threads", *bn = "-";
            if (i >= 0) {
                hold = i / (BK_COUNT * (int)ARRAY_LEN(ts));
                bk = (i / (int)ARRAY_LEN(ts)) % BK_COUNT;
                t = ts[i % (int)ARRAY_LEN(ts)];
                runner = "loops";
                bn = bk_name[bk];
            } else if (is_strict(prim) || prim == P_EVENTFD) {
                continue;
            }
            snprintf(key, sizeof key, "%s|%s|%s|%s|%d", prim_name[prim], runner,
                     hold ? "hold" : "short", bn, t);
            if (!res_count(&res, "%s|rate", key))
                continue;
            double rate = res_median(&res, "%s|rate", key);
            double rmin = res_min(&res, "%s|rate", key);
            double rmax = res_max(&res, "%s|rate", key);
            double cpu = res_median(&res, "%s|cpu", key);
            double csw = res_median(&res, "%s|csw", key);
            double cmin = res_min(&res, "%s|csw", key);
            double cmax = res_max(&res, "%s|csw", key);
            const char *csvname = i < 0 ? (is_sem(prim) ? "sem_t4" : "pthread_mutex")
                                        : prim_name[prim];
            char cs[64] = "-", ws[96] = "-", w1[32], w2[32];
            double wpct = res_median(&res, "%s|wpct", key);
            double wp99 = res_median(&res, "%s|wp99", key);
            double wmax = res_median(&res, "%s|wmax", key);
            if (!isnan(csw))
                snprintf(cs, sizeof cs, "%.2f (%.2f-%.2f)", csw, cmin, cmax);
            if (!isnan(wpct))
                snprintf(ws, sizeof ws, "%.2f%%, %s, %s", wpct,
                         fmt_ns(w1, sizeof w1, wp99),
                         fmt_ns(w2, sizeof w2, wmax));
            rprintf(&rp, "| %s | %s | %s | %s | %d | %s | %s (%.0f%%) | %s | "
                         "%s | %s | %.2fx |\n",
                    i < 0 ? (is_sem(prim) ? "sem_t(4)" : "pthread_mutex")
                          : prim_label[prim],
                    i < 0 ? "threads" : "loops", hold ? "hold" : "short",
                    prim == P_EVENTFD ? "-" : bn, t,
                    fmt_rate(b1, sizeof b1, rate),
                    fmt_rate_range(b3, sizeof b3, rmin, rmax),
                    rate > 0 ? 100.0 * (rmax - rmin) / rate : 0.0,
                    fmt_ns(b2, sizeof b2, cpu), cs, ws, rate / base);
            if (csv)
                fprintf(csv, "%s,%s,%s,%s,%d,%.0f,%.0f,%.0f,%.1f,%.3f,%d,%.4f,"
                             "%.1f,%.1f,%.3f,%.3f,%s,%.3f,%.0f,%.0f\n",
                        csvname, runner, hold ? "hold" : "short", bn, t, rate,
                        rmin, rmax, cpu, csw, res_count(&res, "%s|rate", key),
                        rate / base, res_min(&res, "%s|cpu", key),
                        res_max(&res, "%s|cpu", key), cmin, cmax,
                        shared ? "time-shared" : "parallel", wpct, wp99, wmax);
            if (rcsv) {
                int nr, nc, ns;
                const double *vr = res_values(&res, &nr, "%s|rate", key);
                const double *vc = res_values(&res, &nc, "%s|cpu", key);
                const double *vs = res_values(&res, &ns, "%s|csw", key);
                int nw = 0;
                const double *wv[3] = {
                    res_values(&res, &nw, "%s|wpct", key),
                    res_values(&res, &nw, "%s|wp99", key),
                    res_values(&res, &nw, "%s|wmax", key)};
                for (int k = 0; k < nr && k < nc && k < ns; k++)
                    fprintf(rcsv, "%s,%s,%s,%s,%d,%d,%.0f,%.1f,%.3f,%.3f,%.0f,"
                                  "%.0f\n",
                            csvname, runner, hold ? "hold" : "short", bn, t,
                            k + 1, vr[k], vc[k], vs[k],
                            k < nw ? wv[0][k] : NAN, k < nw ? wv[1][k] : NAN,
                            k < nw ? wv[2][k] : NAN);
            }
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    if (rcsv)
        fclose(rcsv);
    report_close(&rp);

    targets_open(&tg, &o, "contended");
    for (int prim = 0; prim < P_COUNT; prim++) {
        if (prim == P_EVENTFD)
            continue; /* a baseline, reported in the table */
        const char *basep = is_sem(prim) ? "sem4" : "mutex";
        double base = res_median(&res, "%s|threads|short|-|8|rate", basep);
        double need = 1.0;
        char meas[256] = "", tgt[200], id[8];
        size_t len = 0;
        int met = is_strict(prim) ? -1 : 1, seen = 0;
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double r = res_median(&res, "%s|loops|short|%s|2|rate",
                                  prim_name[prim], bk_name[bk]);
            if (isnan(r))
                continue;
            seen++;
            if (met >= 0 && r < need * base)
                met = 0;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: %s = %.2fx", len ? "; " : "",
                                    bk_name[bk], fmt_rate(b1, sizeof b1, r),
                                    r / base);
        }
        if (!seen)
            met = -1;
        if (seen && shared)
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    " (on time-shared CPUs: section 4)");
        snprintf(id, sizeof id, "4.%d", prim + 1);
        if (is_strict(prim))
            snprintf(tgt, sizeof tgt, "contended, 2 loops, %s with "
                     "%s: measured beside the default (vs %s, 8 threads: %s)",
                     is_sem(prim) ? "sem(4)" : "mutex",
                     is_sem(prim) ? "AS_SEM_STRICT_FIFO" : "AS_MUTEX_STRICT_FIFO",
                     is_sem(prim) ? "sem_t" : "pthread_mutex",
                     fmt_rate(b2, sizeof b2, base));
        else
            snprintf(tgt, sizeof tgt, "contended, 2 loops, %s, default policy: "
                     ">= %.1fx the 8-thread %s baseline (%s)",
                     prim == P_SEM ? "sem(4)" : "mutex", need,
                     prim == P_SEM ? "sem_t" : "pthread_mutex",
                     fmt_rate(b2, sizeof b2, base));
        target_row(&tg, id, tgt, met, "%s", meas);
    }
    contended_targets_hold(&tg, &res, shared);
    targets_close(&tg);
    res_free(&res);
    return 0;
}
