/* Workload 11: blocking hand-off between two plain threads (no loop).
 * SPDX-License-Identifier: MIT
 *
 * Threads T1 and T2 ping-pong; T1 counts round trips for a window of --ms
 * ms (default 300) and reports round trips per second.  Both block in the
 * kernel while they wait; nobody spins.
 *
 *   as_sem              two as_sem with no permits: T1 releases T2's and
 *                       waits in as_sem_acquire_blocking on its own; T2
 *                       waits on its own, then releases T1's
 *   sem_t               the same with sem_post / sem_wait
 *   as_mutex            a hand-off chain: mutexes M1 and M2 start locked; T1
 *                       unlocks M2 and waits in as_mutex_lock_blocking(M1);
 *                       T2 waits in as_mutex_lock_blocking(M2), then unlocks
 *                       M1 (an as_mutex has no owner: any thread may unlock
 *                       it).  Default policy: the unlocker wakes the waiter,
 *                       which takes the lock when it runs.
 *   as_mutex strict     the same with AS_MUTEX_STRICT_FIFO (handed the lock)
 *   pthread mutex+cond  pthread_mutex_t and two pthread_cond_t with a turn
 *                       variable: a pthread_mutex cannot be unlocked by
 *                       another thread, so this is how two threads hand a
 *                       turn to each other with it
 *   futex               raw futex(2) WAIT/WAKE (private) on two words: the
 *                       floor
 *
 * Two placements: T1 on CPU 0 and T2 on CPU 1 (judged), and both on CPU 0
 * (a wake switches threads on one CPU: no idle CPU to bring back, the
 * software path alone; informational).  Variants interleaved within each
 * repetition; medians over repetitions.
 *
 * Targets (two CPUs): as_sem >= 0.9x sem_t; as_mutex (default policy) >=
 * 0.9x pthread mutex + cond.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/futex.h>

enum var { V_ASEM, V_SEMT, V_AMUTEX, V_AMUTEX_STRICT, V_COND, V_FUTEX, V_COUNT };
static const char *const var_name[V_COUNT] = {
    "as_sem", "sem_t", "as_mutex", "as_mutex-strict", "pthread_mutex+cond",
    "futex"};
static const char *const var_label[V_COUNT] = {
    "as_sem_acquire_blocking / as_sem_release (two sems)",
    "sem_t: sem_wait / sem_post (two sems)",
    "as_mutex_lock_blocking / as_mutex_unlock chain (default policy)",
    "as_mutex chain, AS_MUTEX_STRICT_FIFO",
    "pthread_mutex_t + two pthread_cond_t, turn variable",
    "futex(2) WAIT / WAKE (floor)"};

struct bctx {
    int var;
    int cpu2;
    _Atomic int stop;     /* main -> T1: the window is over */
    int done;             /* T1 -> T2: the last round (atomic accesses) */
    _Atomic int t2_ready;
    long rounds;
    uint64_t t_start, t_end;
    as_sem sa, sb;
    as_mutex ma, mb;
    sem_t pa, pb;
    pthread_mutex_t pm;
    pthread_cond_t ca, cb;
    int turn;
    _Alignas(64) uint32_t fa;
    _Alignas(64) uint32_t fb;
};

static long futex(uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static void fwait(uint32_t *w)
{
    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0)
        futex(w, FUTEX_WAIT_PRIVATE, 0);
    __atomic_store_n(w, 0, __ATOMIC_RELAXED);
}

static void fwake(uint32_t *w)
{
    __atomic_store_n(w, 1, __ATOMIC_RELEASE);
    futex(w, FUTEX_WAKE_PRIVATE, 1);
}

/* T1's half of a round trip: wake T2, wait to be woken. */
static void t1_round(struct bctx *c)
{
    switch (c->var) {
    case V_ASEM:
        check(as_sem_release(&c->sb, 1), "as_sem_release");
        check(as_sem_acquire_blocking(&c->sa, 1, AS_NO_DEADLINE),
              "as_sem_acquire_blocking");
        break;
    case V_SEMT:
        sem_post(&c->pb);
        while (sem_wait(&c->pa) != 0)
            ;
        break;
    case V_AMUTEX:
    case V_AMUTEX_STRICT:
        check(as_mutex_unlock(&c->mb), "as_mutex_unlock");
        check(as_mutex_lock_blocking(&c->ma, AS_NO_DEADLINE),
              "as_mutex_lock_blocking");
        break;
    case V_COND:
        c->turn = 1;
        pthread_cond_signal(&c->cb);
        while (c->turn != 0)
            pthread_cond_wait(&c->ca, &c->pm);
        break;
    default:
        fwake(&c->fb);
        fwait(&c->fa);
        break;
    }
}

/* T1's last wake of T2 (T2 then sees `done`). */
static void t1_last(struct bctx *c)
{
    __atomic_store_n(&c->done, 1, __ATOMIC_RELAXED);
    switch (c->var) {
    case V_ASEM: check(as_sem_release(&c->sb, 1), "as_sem_release"); break;
    case V_SEMT: sem_post(&c->pb); break;
    case V_AMUTEX:
    case V_AMUTEX_STRICT: check(as_mutex_unlock(&c->mb), "as_mutex_unlock"); break;
    case V_COND:
        c->turn = 1;
        pthread_cond_signal(&c->cb);
        pthread_mutex_unlock(&c->pm);
        break;
    default: fwake(&c->fb); break;
    }
}

static void *t2_main(void *arg)
{
    struct bctx *c = arg;
    pin_cpu(c->cpu2);
    if (c->var == V_COND)
        pthread_mutex_lock(&c->pm);
    atomic_store(&c->t2_ready, 1);
    for (;;) {
        switch (c->var) {
        case V_ASEM:
            check(as_sem_acquire_blocking(&c->sb, 1, AS_NO_DEADLINE),
                  "as_sem_acquire_blocking");
            break;
        case V_SEMT:
            while (sem_wait(&c->pb) != 0)
                ;
            break;
        case V_AMUTEX:
        case V_AMUTEX_STRICT:
            check(as_mutex_lock_blocking(&c->mb, AS_NO_DEADLINE),
                  "as_mutex_lock_blocking");
            break;
        case V_COND:
            while (c->turn != 1)
                pthread_cond_wait(&c->cb, &c->pm);
            break;
        default:
            fwait(&c->fb);
            break;
        }
        if (__atomic_load_n(&c->done, __ATOMIC_RELAXED))
            break;
        switch (c->var) {
        case V_ASEM: check(as_sem_release(&c->sa, 1), "as_sem_release"); break;
        case V_SEMT: sem_post(&c->pa); break;
        case V_AMUTEX:
        case V_AMUTEX_STRICT: check(as_mutex_unlock(&c->ma), "as_mutex_unlock"); break;
        case V_COND:
            c->turn = 0;
            pthread_cond_signal(&c->ca);
            break;
        default: fwake(&c->fa); break;
        }
    }
    if (c->var == V_COND)
        pthread_mutex_unlock(&c->pm);
    return NULL;
}

static void *t1_main(void *arg)
{
    struct bctx *c = arg;
    pin_cpu(0);
    while (!atomic_load(&c->t2_ready))
        sched_yield();
    if (c->var == V_COND)
        pthread_mutex_lock(&c->pm);
    c->t_start = now_ns();
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        t1_round(c);
        c->rounds++;
    }
    c->t_end = now_ns();
    t1_last(c);
    return NULL;
}

/* Round trips per second over a window of ms milliseconds. */
static double measure(int var, int cpu2, double ms)
{
    struct bctx *c = aligned_alloc(64, (sizeof(struct bctx) + 63) & ~(size_t)63);
    pthread_t t1, t2;
    double rate;
    if (!c)
        die("out of memory");
    memset(c, 0, sizeof *c);
    c->var = var;
    c->cpu2 = cpu2;
    check(as_sem_init(&c->sa, 0, 0), "as_sem_init");
    check(as_sem_init(&c->sb, 0, 0), "as_sem_init");
    check(as_mutex_init(&c->ma, var == V_AMUTEX_STRICT ? AS_MUTEX_STRICT_FIFO : 0),
          "as_mutex_init");
    check(as_mutex_init(&c->mb, var == V_AMUTEX_STRICT ? AS_MUTEX_STRICT_FIFO : 0),
          "as_mutex_init");
    /* both links of the chain start locked */
    if ((var == V_AMUTEX || var == V_AMUTEX_STRICT) &&
        (as_mutex_try_lock(&c->ma) != 1 || as_mutex_try_lock(&c->mb) != 1))
        die("blocking: could not lock the chain");
    if (sem_init(&c->pa, 0, 0) != 0 || sem_init(&c->pb, 0, 0) != 0)
        die("sem_init");
    pthread_mutex_init(&c->pm, NULL);
    pthread_cond_init(&c->ca, NULL);
    pthread_cond_init(&c->cb, NULL);
    if (pthread_create(&t2, NULL, t2_main, c) != 0 ||
        pthread_create(&t1, NULL, t1_main, c) != 0)
        die("pthread_create");
    sleep_ms(ms); /* includes start-up: T1 times its own window */
    atomic_store(&c->stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    rate = (double)c->rounds / ((double)(c->t_end - c->t_start) / 1e9);
    /* leave the objects as destroy wants them */
    if (var == V_AMUTEX || var == V_AMUTEX_STRICT) {
        /* T2 holds M2 from its last lock; M1 is T1's from its last lock */
        check(as_mutex_unlock(&c->ma), "as_mutex_unlock");
        check(as_mutex_unlock(&c->mb), "as_mutex_unlock");
    }
    check(as_sem_destroy(&c->sa), "as_sem_destroy");
    check(as_sem_destroy(&c->sb), "as_sem_destroy");
    check(as_mutex_destroy(&c->ma), "as_mutex_destroy");
    check(as_mutex_destroy(&c->mb), "as_mutex_destroy");
    sem_destroy(&c->pa);
    sem_destroy(&c->pb);
    pthread_mutex_destroy(&c->pm);
    pthread_cond_destroy(&c->ca);
    pthread_cond_destroy(&c->cb);
    free(c);
    return rate;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    double ms;
    char b1[32], b2[32];
    static const char *const place[2] = {"two-cpus", "same-cpu"};

    bench_parse(argc, argv, &o, "bench_blocking",
                "  --only V   one variant: as_sem, sem_t, as_mutex, "
                "as_mutex-strict,\n             pthread_mutex+cond, futex\n");
    ms = o.ms > 0 ? o.ms : o.smoke ? 20 : 300;
    if (online_cpus() < 2)
        fprintf(stderr, "bench_blocking: one CPU only: both threads share it\n");

    for (int rep = 0; rep < o.reps; rep++)
        for (int pl = 0; pl < 2; pl++)
            for (int v = 0; v < V_COUNT; v++) {
                if (o.only && strcmp(o.only, var_name[v]) != 0)
                    continue;
                /* the same-CPU pass is informational: shorter */
                res_add(&res, measure(v, pl == 0 ? 1 : 0, pl == 0 ? ms : ms / 2),
                        "%s|%s", var_name[v], place[pl]);
            }

    report_open(&rp, &o, "blocking");
    rprintf(&rp, "## 11. Blocking hand-off between two plain threads "
                 "(round trips per second)\n\n");
    rprintf(&rp, "T1 wakes T2, T2 wakes T1: one round trip; both block in "
                 "the kernel while they wait. Window %.0f ms (same CPU: "
                 "%.0f ms), median of %d repetitions.\n\n", ms, ms / 2, o.reps);
    rprintf(&rp, "| implementation | name | T1 CPU 0, T2 CPU 1 | vs baseline | "
                 "both on CPU 0 | vs baseline |\n");
    rprintf(&rp, "|---|---|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "blocking.csv");
    if (csv)
        fprintf(csv, "impl,placement,round_trips_per_s_median,min,max,reps,"
                     "ratio_vs_baseline\n");
    for (int v = 0; v < V_COUNT; v++) {
        /* baseline: sem_t for as_sem, pthread mutex+cond for the mutexes */
        int base = v == V_ASEM ? V_SEMT
                   : (v == V_AMUTEX || v == V_AMUTEX_STRICT) ? V_COND : -1;
        double r[2], q[2];
        if (!res_count(&res, "%s|%s", var_name[v], place[0]))
            continue;
        for (int pl = 0; pl < 2; pl++) {
            r[pl] = res_median(&res, "%s|%s", var_name[v], place[pl]);
            q[pl] = base < 0 ? NAN
                             : r[pl] / res_median(&res, "%s|%s", var_name[base],
                                                  place[pl]);
        }
        rprintf(&rp, "| %s | %s | %s | ", var_label[v], var_name[v],
                fmt_rate(b1, sizeof b1, r[0]));
        if (isnan(q[0]))
            rprintf(&rp, "- | ");
        else
            rprintf(&rp, "%.2fx | ", q[0]);
        rprintf(&rp, "%s | ", fmt_rate(b2, sizeof b2, r[1]));
        if (isnan(q[1]))
            rprintf(&rp, "- |\n");
        else
            rprintf(&rp, "%.2fx |\n", q[1]);
        for (int pl = 0; csv && pl < 2; pl++)
            fprintf(csv, "%s,%s,%.0f,%.0f,%.0f,%d,%.4f\n", var_name[v],
                    place[pl], r[pl],
                    res_min(&res, "%s|%s", var_name[v], place[pl]),
                    res_max(&res, "%s|%s", var_name[v], place[pl]),
                    res_count(&res, "%s|%s", var_name[v], place[pl]), q[pl]);
    }
    rprintf(&rp, "\nvs baseline: as_sem against sem_t, the as_mutex chains "
                 "against pthread mutex + cond (above 1 is faster).\n\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, &o, "blocking");
    {
        static const int judged[2][2] = {{V_ASEM, V_SEMT}, {V_AMUTEX, V_COND}};
        for (int j = 0; j < 2; j++) {
            double a = res_median(&res, "%s|two-cpus", var_name[judged[j][0]]);
            double bb = res_median(&res, "%s|two-cpus", var_name[judged[j][1]]);
            char tgt[200], id[8];
            snprintf(id, sizeof id, "11.%d", j + 1);
            snprintf(tgt, sizeof tgt,
                     "blocking hand-off between two threads (two CPUs): %s "
                     ">= 0.9x %s (%s round trips)",
                     j == 0 ? "as_sem_acquire_blocking/release"
                            : "as_mutex_lock_blocking chain",
                     j == 0 ? "sem_t" : "pthread_mutex + pthread_cond",
                     fmt_rate(b1, sizeof b1, bb));
            target_row(&tg, id, tgt,
                       isnan(a) || isnan(bb) ? -1 : a >= 0.9 * bb ? 1 : 0,
                       "%s = %.2fx (same CPU: %.2fx)",
                       fmt_rate(b2, sizeof b2, a), a / bb,
                       res_median(&res, "%s|same-cpu", var_name[judged[j][0]]) /
                           res_median(&res, "%s|same-cpu",
                                      var_name[judged[j][1]]));
        }
    }
    targets_close(&tg);
    res_free(&res);
    return 0;
}
