/* Workload 13: barrier round trip across two loops.
 * SPDX-License-Identifier: MIT
 *
 * Two parties pass a barrier again and again; reported: generations per
 * second (each generation needs both arrivals, so one cross-thread wake).
 *
 *   - as_barrier, 2 loops: two loops on two threads (CPU 0 and CPU 1), one
 *     task each; the task calls as_barrier_wait_async; the arrival that
 *     completes a generation is the leader (returns 1, no callback) and
 *     arrives again at once; the other's callback (status 0) runs on its
 *     loop and arrives again from the callback, which makes it the leader of
 *     the next generation.  The leader's arrival wakes the other loop (a
 *     wake that rides its ring when made inside a callback, bench_wakerule).
 *     The main thread sleeps through the window, then as_barrier_close ends
 *     the pending wait (-ESHUTDOWN) and both loops stop.
 *   - as_barrier blocking, 2 threads: as_barrier_wait_blocking in two plain
 *     threads (informational).
 *   - pthread_barrier_t, 2 threads: pthread_barrier_wait in two plain
 *     threads, the baseline.
 * The plain threads stop after the same generation: the serial (leader)
 * thread of generation g reads the stop flag into decision[g % 2]; both read
 * it after generation g + 1, which orders the read after the write and
 * before the next write of that slot.
 *
 * No target is judged: the ratio to pthread_barrier_t is reported.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum impl { I_LOOPS, I_BLOCKING, I_PTHREAD, I_COUNT };
static const char *const impl_name[I_COUNT] = {"as-barrier-loops",
                                               "as-barrier-blocking",
                                               "pthread-barrier"};
static const char *const impl_label[I_COUNT] = {
    "as_barrier, 2 loops", "as_barrier_wait_blocking, 2 threads",
    "pthread_barrier_t, 2 threads"};

struct shared {
    int impl;
    as_barrier bar;
    pthread_barrier_t pbar;
    _Atomic int decision[2];
    struct window win;
};

struct party {
    struct shared *sh;
    int bk, id;
    struct bloop b;
    as_wait w;
    bool done;
    uint64_t led; /* generations this party completed (led) */
    uint64_t passed;
} __attribute__((aligned(64)));

static void arrive(struct party *p);

static void on_passed(as_wait *w, int status, void *arg)
{
    struct party *p = arg;
    (void)w;
    if (status == -ESHUTDOWN) {
        p->done = true;
        return;
    }
    check(status, "barrier callback");
    p->passed++;
    arrive(p);
}

static void arrive(struct party *p)
{
    for (;;) {
        int r = as_barrier_wait_async(&p->sh->bar, &p->b.loop, &p->w,
                                      on_passed, p);
        if (r == -ESHUTDOWN) {
            p->done = true;
            return;
        }
        check(r, "as_barrier_wait_async");
        if (r == 0)
            return;
        p->led++; /* the leader: arrive at the next generation at once */
        p->passed++;
    }
}

static void *loop_main(void *arg)
{
    struct party *p = arg;
    struct shared *sh = p->sh;
    pin_cpu(p->id);
    bloop_init(&p->b, p->bk);
    window_enter(&sh->win);
    arrive(p);
    for (;;) {
        as_loop_run(&p->b.loop);
        if (p->done)
            break;
        bloop_poll(&p->b, true);
    }
    bloop_fini(&p->b);
    return NULL;
}

static void *thread_main(void *arg)
{
    struct party *p = arg;
    struct shared *sh = p->sh;
    pin_cpu(p->id);
    window_enter(&sh->win);
    for (uint64_t g = 0;; g++) {
        bool leader;
        if (sh->impl == I_PTHREAD) {
            int r = pthread_barrier_wait(&sh->pbar);
            if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
                die("pthread_barrier_wait: %d", r);
            leader = r == PTHREAD_BARRIER_SERIAL_THREAD;
        } else {
            int r = as_barrier_wait_blocking(&sh->bar, AS_NO_DEADLINE);
            check(r, "as_barrier_wait_blocking");
            leader = r == 1;
        }
        p->passed++;
        if (leader) {
            p->led++;
            atomic_store_explicit(&sh->decision[g & 1],
                                  window_closed(&sh->win),
                                  memory_order_relaxed);
        }
        if (g >= 1 && atomic_load_explicit(&sh->decision[(g - 1) & 1],
                                           memory_order_relaxed))
            break;
    }
    return NULL;
}

static double measure(int impl, int bk, double ms)
{
    struct shared *sh = aligned_alloc(64, (sizeof *sh + 63) & ~(size_t)63);
    struct party *ps = aligned_alloc(64, sizeof *ps * 2);
    struct window_span sp;
    uint64_t gens;

    if (!sh || !ps)
        die("out of memory");
    memset(sh, 0, sizeof *sh);
    memset(ps, 0, sizeof *ps * 2);
    sh->impl = impl;
    check(as_barrier_init(&sh->bar, 2), "as_barrier_init");
    if (pthread_barrier_init(&sh->pbar, NULL, 2) != 0)
        die("pthread_barrier_init");
    for (int i = 0; i < 2; i++) {
        ps[i].sh = sh;
        ps[i].bk = bk;
        ps[i].id = i;
    }
    window_start(&sh->win, 2, impl == I_LOOPS ? loop_main : thread_main, ps,
                 sizeof *ps);
    sp = window_time(&sh->win, ms);
    if (impl == I_LOOPS)
        check(as_barrier_close(&sh->bar), "as_barrier_close");
    window_join(&sh->win);
    gens = ps[0].led + ps[1].led;
    /* every generation has exactly one leader, and both parties passed it */
    if (ps[0].passed + ps[1].passed != 2 * gens ||
        (impl != I_LOOPS && ps[0].passed != ps[1].passed))
        die("barrier %s: %llu generations led, parties passed %llu and %llu",
            impl_name[impl], (unsigned long long)gens,
            (unsigned long long)ps[0].passed, (unsigned long long)ps[1].passed);
    check(as_barrier_destroy(&sh->bar), "as_barrier_destroy");
    pthread_barrier_destroy(&sh->pbar);
    free(ps);
    free(sh);
    /* the loops count a few generations past t1 (until the close), the
     * threads one or two: negligible in the window */
    return (double)gens * 1e9 / (double)sp.wall_ns;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    bool have[BK_COUNT];
    double ms;
    char b1[32], b2[32], b3[32], b4[32];

    bench_parse(argc, argv, &o, "bench_barrier",
                "  --only I   one implementation: as-barrier-loops, "
                "as-barrier-blocking, pthread-barrier\n");
    ms = o.ms > 0 ? o.ms : o.smoke ? 10 : 300;
    for (int bk = 0; bk < BK_COUNT; bk++)
        have[bk] = backend_enabled(&o, bk);

    for (int rep = 0; rep < o.reps; rep++) {
        for (int impl = 0; impl < I_COUNT; impl++) {
            if (o.only && strcmp(o.only, impl_name[impl]) != 0)
                continue;
            if (impl != I_LOOPS) {
                res_add(&res, measure(impl, 0, ms), "%s|-", impl_name[impl]);
                continue;
            }
            for (int bk = 0; bk < BK_COUNT; bk++)
                if (have[bk])
                    res_add(&res, measure(impl, bk, ms), "%s|%s",
                            impl_name[impl], bk_name[bk]);
        }
    }

    double base = res_median(&res, "pthread-barrier|-");
    report_open(&rp, &o, "barrier");
    rprintf(&rp, "## 13. Barrier round trip across two loops\n\n");
    rprintf(&rp, "Two parties on CPU 0 and CPU 1 pass a 2-party barrier "
                 "again and again; generations per second, %.0f ms windows, "
                 "median of %d repetitions. %d CPUs.\n\n",
            ms, o.reps, online_cpus());
    rprintf(&rp, "| implementation | backend | generations/s | ns/generation "
                 "| min | max | vs pthread_barrier |\n");
    rprintf(&rp, "|---|---|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "barrier.csv");
    if (csv)
        fprintf(csv, "impl,backend,gens_per_s_median,min,max,reps,"
                     "ns_per_gen,x_pthread\n");
    for (int impl = 0; impl < I_COUNT; impl++) {
        for (int bk = 0; bk < BK_COUNT; bk++) {
            const char *bn = impl == I_LOOPS ? bk_name[bk] : "-";
            if (impl != I_LOOPS && bk > 0)
                continue;
            if (!res_count(&res, "%s|%s", impl_name[impl], bn))
                continue;
            double m = res_median(&res, "%s|%s", impl_name[impl], bn);
            double lo = res_min(&res, "%s|%s", impl_name[impl], bn);
            double hi = res_max(&res, "%s|%s", impl_name[impl], bn);
            rprintf(&rp, "| %s | %s | %s | %s | %s | %s | %.2fx |\n",
                    impl_label[impl], bn, fmt_rate(b1, sizeof b1, m),
                    fmt_ns(b2, sizeof b2, 1e9 / m),
                    fmt_rate(b3, sizeof b3, lo), fmt_rate(b4, sizeof b4, hi),
                    m / base);
            if (csv)
                fprintf(csv, "%s,%s,%.1f,%.1f,%.1f,%d,%.1f,%.4f\n",
                        impl_name[impl], bn, m, lo, hi,
                        res_count(&res, "%s|%s", impl_name[impl], bn), 1e9 / m,
                        m / base);
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, &o, "barrier");
    {
        char meas[256] = "";
        size_t len = 0;
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double r = res_median(&res, "as-barrier-loops|%s", bk_name[bk]);
            if (isnan(r))
                continue;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: %s = %.2fx", len ? "; " : "",
                                    bk_name[bk], fmt_rate(b1, sizeof b1, r),
                                    r / base);
        }
        char tgt[160];
        snprintf(tgt, sizeof tgt, "barrier round trip, 2 loops on 2 CPUs: "
                 "measured beside pthread_barrier_t, 2 threads (%s); not judged",
                 fmt_rate(b2, sizeof b2, base));
        target_row(&tg, "13.1", tgt, -1, "%s", len ? meas : "not run");
    }
    targets_close(&tg);
    res_free(&res);
    return 0;
}
