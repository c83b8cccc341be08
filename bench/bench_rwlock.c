/* Workload 12: read-write lock throughput.
 * SPDX-License-Identifier: MIT
 *
 * As bench_contended.c, with an as_rwlock: T loops (T = 1, 2, 4) on T
 * threads, 64 tasks each, share one lock.  A task's operations are reads
 * except one in `every`: one in 20 (read-mostly, 5% writes) or one in 2
 * (write-heavy, 50% writes); task i of loop l starts its count at
 * l * 64 + i, so the writes of the tasks are spread over time (as the Tokio
 * program does).  A task takes its share (as_rwlock_read_async /
 * as_rwlock_write_async; a callback when it had to wait), counts, and either
 *   - "short":  releases at once (as_rwlock_read_unlock / write_unlock) and
 *               asks again at the loop's next iteration, or
 *   - "hold":   keeps it across one loop iteration, releases at the start of
 *               the next one and asks again at once.
 * A loop blocks only when none of its tasks can run.
 *
 * Policies: the lock runs with its default policy (eventual fairness: a
 * waiter on another loop is woken to retry, newcomers may take the lock
 * meanwhile, one that lost its retry is passed over for at most
 * AS_PASS_BOUND_NS) and with AS_RWLOCK_STRICT_FIFO (every release hands the
 * lock to the head, whatever its loop), `--policy default|strict|both`
 * (default both: each configuration is measured with one policy and then
 * the other, the order alternating between repetitions, A B B A A B ...).
 * Rows "loops" are the default, "loops-strict" the strict lock.
 *
 * Wait times: one request in 7 of every task (and of every baseline
 * thread; 7: prime to both mixes' periods, so reads and writes are both
 * sampled) is timed from the call to the moment it holds its share (at once,
 * or in its callback); reported per repetition as percentiles of reads and
 * of writes (a log histogram, 8 buckets per power of 2: within 12.5%), the
 * median over repetitions.  The clock reads cost every row alike.
 *
 * Baseline: 8 plain threads doing the same mix on a pthread_rwlock_t
 * (default attributes: glibc prefers readers) in a loop: rdlock or wrlock,
 * count, unlock.  No "hold" counterpart.
 *
 * A writer increments a plain counter; a reader reads it.  The counter must
 * equal the writes at the end (writers excluded each other).  Reported per
 * configuration: operations per second (median, min-max over repetitions),
 * the share of them that were writes (a starved writer shows here), process
 * CPU time per operation, context switches per 1000 operations (median,
 * min-max), wait p99 of reads and writes; medians over repetitions.  The
 * machine's state (bench_machine's measurement) before the first and after
 * the last repetition is printed above the table.
 *
 * Targets (2 loops, "short"): read-mostly and write-heavy >= 1.0x the
 * 8-thread pthread_rwlock baseline.  The Tokio RwLock target (>= 2x, same
 * workloads, bench/tokio) is judged by bench/run, which has both files.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TASKS 64
#define BASE_THREADS 8
#define MAX_LOOPS 4

enum mix { M_READ_MOSTLY, M_WRITE_HEAVY, M_COUNT };
static const char *const mix_name[M_COUNT] = {"rwlock-read-mostly",
                                              "rwlock-write-heavy"};
static const char *const mix_label[M_COUNT] = {"read-mostly (5% writes)",
                                               "write-heavy (50% writes)"};
static const unsigned mix_every[M_COUNT] = {20, 2};

enum { POL_DEFAULT, POL_STRICT, POL_COUNT };
static const char *const pol_runner[POL_COUNT] = {"loops", "loops-strict"};
static const char *const pol_lock[POL_COUNT] = {"as_rwlock, loops",
                                                "as_rwlock strict, loops"};
static const unsigned pol_flags[POL_COUNT] = {0, AS_RWLOCK_STRICT_FIFO};

/* ---- wait-time histogram: 8 buckets per power of 2 ---- */
#define HB 512
struct hist {
    uint64_t n, max;
    uint32_t c[HB];
};

static inline unsigned hidx(uint64_t ns)
{
    unsigned e;
    if (ns < 8)
        return (unsigned)ns;
    e = 63u - (unsigned)__builtin_clzll(ns);
    return (e - 2) * 8 + (unsigned)((ns >> (e - 3)) & 7);
}

/* the upper bound of bucket i */
static double hupper(unsigned i)
{
    unsigned e, m;
    if (i < 8)
        return i;
    e = i / 8 + 2;
    m = i % 8;
    return (double)((uint64_t)(9 + m) << (e - 3)) - 1;
}

static inline void hadd(struct hist *h, uint64_t ns)
{
    h->c[hidx(ns)]++;
    h->n++;
    if (ns > h->max)
        h->max = ns;
}

static void hmerge(struct hist *to, const struct hist *from)
{
    for (unsigned i = 0; i < HB; i++)
        to->c[i] += from->c[i];
    to->n += from->n;
    if (from->max > to->max)
        to->max = from->max;
}

static double hpct(const struct hist *h, double p)
{
    uint64_t want, seen = 0;
    if (!h->n)
        return NAN;
    want = (uint64_t)ceil(p * (double)h->n);
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < HB; i++) {
        seen += h->c[i];
        if (seen >= want)
            return hupper(i) < (double)h->max ? hupper(i) : (double)h->max;
    }
    return (double)h->max;
}

struct shared {
    unsigned every;
    bool hold;
    unsigned flags; /* as_rwlock_init */
    as_rwlock rw;
    pthread_rwlock_t prw;
    uint64_t guarded; /* incremented by writers, read by readers */
    struct window win;
};

struct rloop;

struct rtask {
    as_wait w;
    struct rloop *l;
    struct rtask *next;
    uint64_t op;
    uint64_t t0; /* the request's time, when timed (else 0) */
    bool write;  /* the share asked for / held */
};

struct rloop {
    struct shared *sh;
    int bk, id;
    struct bloop b;
    struct rtask tasks[TASKS];
    struct rtask *held;  /* release at the next iteration ("hold") */
    struct rtask *again; /* ask again at the next iteration ("short") */
    bool stopping;
    int idle;
    uint64_t ops, writes, wall, seen;
    struct hist hr, hw; /* wait times of timed reads, writes */
} __attribute__((aligned(64)));

static void unlock(struct shared *sh, bool write)
{
    check(write ? as_rwlock_write_unlock(&sh->rw)
                : as_rwlock_read_unlock(&sh->rw),
          "unlock");
}

/* The task holds its share. */
static void got(struct rtask *t)
{
    struct rloop *l = t->l;
    struct shared *sh = l->sh;
    if (t->write)
        sh->guarded++;
    else
        l->seen += sh->guarded; /* a read under the lock (kept live) */
    l->wall += t->write; /* every write, for the counter check */
    if (!l->stopping) {  /* the window's operations */
        l->ops++;
        l->writes += t->write;
        if (t->t0)
            hadd(t->write ? &l->hw : &l->hr, now_ns() - t->t0);
    }
    if (sh->hold) {
        t->next = l->held;
        l->held = t;
    } else {
        unlock(sh, t->write);
        t->next = l->again;
        l->again = t;
    }
}

static void on_granted(as_wait *w, int status, void *arg)
{
    (void)w;
    check(status, "rwlock callback");
    got(arg);
}

static void task_request(struct rtask *t)
{
    struct rloop *l = t->l;
    struct shared *sh = l->sh;
    t->write = ++t->op % sh->every == 0;
    t->t0 = t->op % 7 == 0 ? now_ns() : 0;
    int r = t->write ? as_rwlock_write_async(&sh->rw, &l->b.loop, &t->w,
                                             on_granted, t)
                     : as_rwlock_read_async(&sh->rw, &l->b.loop, &t->w,
                                            on_granted, t);
    check(r, "rwlock request");
    if (r == 1)
        got(t);
}

static void *loop_main(void *arg)
{
    struct rloop *l = arg;
    struct shared *sh = l->sh;
    bloop_init(&l->b, l->bk);
    for (int i = 0; i < TASKS; i++) {
        l->tasks[i].l = l;
        l->tasks[i].op = (uint64_t)(l->id * TASKS + i);
    }
    window_enter(&sh->win);
    for (int i = 0; i < TASKS; i++)
        task_request(&l->tasks[i]);
    for (;;) {
        struct rtask *held = l->held, *again = l->again;
        l->held = l->again = NULL;
        if (!l->stopping &&
            window_closed(&sh->win))
            l->stopping = true;
        while (held) {
            struct rtask *t = held;
            held = t->next;
            unlock(sh, t->write);
            if (l->stopping)
                l->idle++;
            else
                task_request(t);
        }
        while (again) {
            struct rtask *t = again;
            again = t->next;
            if (l->stopping)
                l->idle++;
            else
                task_request(t);
        }
        as_loop_run(&l->b.loop);
        if (l->idle == TASKS)
            break;
        bloop_poll(&l->b, !l->held && !l->again);
    }
    bloop_fini(&l->b);
    return NULL;
}

/* ---- 8-thread pthread_rwlock baseline ---- */

struct bthread {
    struct shared *sh;
    int id;
    uint64_t ops, writes, seen;
    struct hist hr, hw;
} __attribute__((aligned(64)));

static void *base_main(void *arg)
{
    struct bthread *bt = arg;
    struct shared *sh = bt->sh;
    uint64_t n = 0, w = 0, seen = 0, op = (uint64_t)bt->id;
    window_enter(&sh->win);
    while (!window_closed(&sh->win)) {
        uint64_t t0 = ++op % 7 == 0 ? now_ns() : 0;
        if (op % sh->every == 0) {
            pthread_rwlock_wrlock(&sh->prw);
            if (t0)
                hadd(&bt->hw, now_ns() - t0);
            sh->guarded++;
            pthread_rwlock_unlock(&sh->prw);
            w++;
        } else {
            pthread_rwlock_rdlock(&sh->prw);
            if (t0)
                hadd(&bt->hr, now_ns() - t0);
            seen += sh->guarded;
            pthread_rwlock_unlock(&sh->prw);
        }
        n++;
    }
    bt->ops = n;
    bt->writes = w;
    bt->seen = seen;
    return NULL;
}

/* ---- one measurement ---- */

struct sample {
    double rate, write_share, cpu_per_op, csw_per_k;
    double r50, r99, r999, rmax, w50, w99, w999, wmax; /* wait ns */
};

/* nloops > 0: asyncsync with that many loops; 0: the thread baseline. */
static struct sample measure(int mix, bool hold, int nloops, int bk, double ms,
                             int pol)
{
    struct shared *sh = aligned_alloc(64, (sizeof *sh + 63) & ~(size_t)63);
    int nthreads = nloops > 0 ? nloops : BASE_THREADS;
    struct rloop *loops = NULL;
    struct bthread *bts = NULL;
    uint64_t ops = 0, writes = 0, wtotal = 0;
    struct window_span sp;
    struct sample out;
    static struct hist hr, hw;

    if (!sh)
        die("out of memory");
    memset(sh, 0, sizeof *sh);
    sh->every = mix_every[mix];
    sh->hold = hold;
    sh->flags = pol_flags[pol];
    check(as_rwlock_init(&sh->rw, sh->flags), "as_rwlock_init");
    if (pthread_rwlock_init(&sh->prw, NULL) != 0)
        die("pthread_rwlock_init");

    if (nloops > 0) {
        loops = aligned_alloc(64, sizeof *loops * (size_t)nloops);
        if (!loops)
            die("out of memory");
        memset(loops, 0, sizeof *loops * (size_t)nloops);
        for (int i = 0; i < nloops; i++) {
            loops[i].sh = sh;
            loops[i].bk = bk;
            loops[i].id = i;
        }
        window_start(&sh->win, nloops, loop_main, loops, sizeof *loops);
    } else {
        bts = aligned_alloc(64, sizeof *bts * BASE_THREADS);
        if (!bts)
            die("out of memory");
        memset(bts, 0, sizeof *bts * BASE_THREADS);
        for (int i = 0; i < BASE_THREADS; i++) {
            bts[i].sh = sh;
            bts[i].id = i;
        }
        window_start(&sh->win, BASE_THREADS, base_main, bts, sizeof *bts);
    }
    sp = window_time(&sh->win, ms);
    window_join(&sh->win);

    memset(&hr, 0, sizeof hr);
    memset(&hw, 0, sizeof hw);
    for (int i = 0; i < nthreads; i++) {
        if (nloops > 0) {
            ops += loops[i].ops;
            writes += loops[i].writes;
            wtotal += loops[i].wall;
            hmerge(&hr, &loops[i].hr);
            hmerge(&hw, &loops[i].hw);
        } else {
            ops += bts[i].ops;
            writes += bts[i].writes;
            wtotal += bts[i].writes;
            hmerge(&hr, &bts[i].hr);
            hmerge(&hw, &bts[i].hw);
        }
    }
    if (sh->guarded != wtotal)
        die("rwlock: writers not exclusive: counter %llu, %llu writes",
            (unsigned long long)sh->guarded, (unsigned long long)wtotal);
    out.rate = (double)ops * 1e9 / (double)sp.wall_ns;
    out.write_share = ops ? (double)writes / (double)ops : NAN;
    out.cpu_per_op = ops ? (double)sp.cpu_ns / (double)ops : NAN;
    out.csw_per_k = ops ? (double)sp.csw * 1000.0 / (double)ops : NAN;
    out.r50 = hpct(&hr, 0.5);
    out.r99 = hpct(&hr, 0.99);
    out.r999 = hpct(&hr, 0.999);
    out.rmax = hr.n ? (double)hr.max : NAN;
    out.w50 = hpct(&hw, 0.5);
    out.w99 = hpct(&hw, 0.99);
    out.w999 = hpct(&hw, 0.999);
    out.wmax = hw.n ? (double)hw.max : NAN;

    check(as_rwlock_destroy(&sh->rw), "as_rwlock_destroy");
    pthread_rwlock_destroy(&sh->prw);
    free(loops);
    free(bts);
    free(sh);
    return out;
}

static void add_sample(struct results *res, struct sample s, const char *key)
{
    res_add(res, s.rate, "%s|rate", key);
    res_add(res, s.write_share, "%s|wshare", key);
    res_add(res, s.cpu_per_op, "%s|cpu", key);
    res_add(res, s.csw_per_k, "%s|csw", key);
    res_add(res, s.r50, "%s|r50", key);
    res_add(res, s.r99, "%s|r99", key);
    res_add(res, s.r999, "%s|r999", key);
    res_add(res, s.rmax, "%s|rmax", key);
    res_add(res, s.w50, "%s|w50", key);
    res_add(res, s.w99, "%s|w99", key);
    res_add(res, s.w999, "%s|w999", key);
    res_add(res, s.wmax, "%s|wmax", key);
}

/* --policy default|strict|both: taken out of argv before bench_parse. */
static int parse_policy(int *argc, char **argv, bool pol[POL_COUNT])
{
    int n = 1;
    pol[POL_DEFAULT] = pol[POL_STRICT] = true;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--policy") == 0 && i + 1 < *argc) {
            const char *v = argv[++i];
            pol[POL_DEFAULT] = !strcmp(v, "default") || !strcmp(v, "both");
            pol[POL_STRICT] = !strcmp(v, "strict") || !strcmp(v, "both");
            if (!pol[POL_DEFAULT] && !pol[POL_STRICT])
                die("--policy: default, strict or both");
            continue;
        }
        argv[n++] = argv[i];
    }
    *argc = n;
    argv[n] = NULL;
    return 0;
}

static const char *fmt_us(char *buf, size_t n, double ns)
{
    if (isnan(ns))
        snprintf(buf, n, "-");
    else
        fmt_ns(buf, n, ns);
    return buf;
}

int main(int argc, char **argv)
{
    static const int ts[] = {1, 2, 4};
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    struct machine_state mach[2];
    bool have[BK_COUNT], pol[POL_COUNT];
    double ms;
    char key[96], b1[32], b2[32], b3[32], b4[32], b5[32], line[256];

    parse_policy(&argc, argv, pol);
    bench_parse(argc, argv, &o, "bench_rwlock",
                "  --only M   one mix: rwlock-read-mostly, rwlock-write-heavy\n"
                "  --policy P default (eventual fairness), strict "
                "(AS_RWLOCK_STRICT_FIFO) or both (default: both, "
                "interleaved)\n");
    ms = o.ms > 0 ? o.ms : o.smoke ? 10 : 200;
    for (int bk = 0; bk < BK_COUNT; bk++)
        have[bk] = backend_enabled(&o, bk);

    machine_measure(&mach[0], o.smoke);
    printf("machine before: %s: %s\n", machine_verdict(&mach[0]),
           machine_describe(&mach[0], line, sizeof line));
    for (int rep = 0; rep < o.reps; rep++) {
        for (int mix = 0; mix < M_COUNT; mix++) {
            if (o.only && strcmp(o.only, mix_name[mix]) != 0)
                continue;
            snprintf(key, sizeof key, "%s|threads|short|-|8", mix_name[mix]);
            add_sample(&res, measure(mix, false, 0, 0, ms, POL_DEFAULT), key);
            for (int hold = 0; hold < 2; hold++) {
                for (int bk = 0; bk < BK_COUNT; bk++) {
                    if (!have[bk])
                        continue;
                    for (size_t ti = 0; ti < ARRAY_LEN(ts); ti++) {
                        /* A B in even repetitions, B A in odd ones */
                        for (int k = 0; k < POL_COUNT; k++) {
                            int p = (rep & 1) ? POL_COUNT - 1 - k : k;
                            if (!pol[p])
                                continue;
                            snprintf(key, sizeof key, "%s|%s|%s|%s|%d",
                                     mix_name[mix], pol_runner[p],
                                     hold ? "hold" : "short", bk_name[bk],
                                     ts[ti]);
                            add_sample(&res,
                                       measure(mix, hold, ts[ti], bk, ms, p),
                                       key);
                        }
                    }
                }
            }
        }
    }
    machine_measure(&mach[1], o.smoke);
    printf("machine after: %s: %s\n", machine_verdict(&mach[1]),
           machine_describe(&mach[1], line, sizeof line));

    report_open(&rp, &o, "rwlock");
    rprintf(&rp, "## 12. Read-write lock throughput\n\n");
    rprintf(&rp, "T loops x %d tasks (as_rwlock: default policy, eventual "
                 "fairness, and AS_RWLOCK_STRICT_FIFO: rows \"strict\", "
                 "measured after one another per configuration, the order "
                 "alternating) or %d "
                 "threads (pthread_rwlock_t, default attributes) share one "
                 "lock; a task's operations are reads but one in 20 "
                 "(read-mostly) or one in 2 (write-heavy); %.0f ms windows, "
                 "median of %d repetitions and the spread of the rate: "
                 "min-max, (max - min) / median. short = release at once, ask "
                 "again next iteration; hold = keep it across one loop "
                 "iteration. writes = share of the operations that were "
                 "writes; CPU = process CPU time per operation; csw = context "
                 "switches per 1000 operations, median (min-max); wait p99 = "
                 "99th percentile of the time from a request to holding the "
                 "lock, reads / writes (one request in 7 timed). %d CPUs.\n\n",
            TASKS, BASE_THREADS, ms, o.reps, online_cpus());
    rprintf(&rp, "Machine state (two threads pinned to CPUs 0 and 1; "
                 "bench/README.md, \"How to read the results\"):\n\n");
    rprintf(&rp, "- before: **%s**: %s\n", machine_verdict(&mach[0]),
            machine_describe(&mach[0], line, sizeof line));
    rprintf(&rp, "- after: **%s**: %s\n\n", machine_verdict(&mach[1]),
            machine_describe(&mach[1], line, sizeof line));
    rprintf(&rp, "| workload | lock | mode | backend | T | operations/s "
                 "| spread (min-max) | writes | CPU/op | csw/1k op "
                 "| wait p99 read / write | vs pthread_rwlock |\n");
    rprintf(&rp, "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "rwlock.csv");
    /* the columns of contended.csv (so that bench/run joins the Tokio rows
     * the same way), then the write share, then the spread and the wait
     * times (ns) */
    if (csv)
        fprintf(csv, "primitive,runner,mode,backend,threads,acq_per_s_median,"
                     "acq_per_s_min,acq_per_s_max,cpu_ns_per_acq,csw_per_1k_acq,"
                     "reps,x_threads,write_share,csw_min,csw_max,"
                     "read_wait_p50,read_wait_p99,read_wait_p999,read_wait_max,"
                     "write_wait_p50,write_wait_p99,write_wait_p999,"
                     "write_wait_max,machine\n");
    FILE *rcsv = out_open(&o, "rwlock_reps.csv");
    if (rcsv)
        fprintf(rcsv, "primitive,runner,mode,backend,threads,rep,ops_per_s,"
                      "write_share,cpu_ns_per_op,csw_per_1k_op,read_wait_p99,"
                      "write_wait_p99,write_wait_max\n");
    const int nconf = 2 * BK_COUNT * (int)ARRAY_LEN(ts) * POL_COUNT;
    for (int mix = 0; mix < M_COUNT; mix++) {
        double base = res_median(&res, "%s|threads|short|-|8|rate", mix_name[mix]);
        for (int i = -1; i < nconf; i++) {
            int hold = 0, bk = 0, t = BASE_THREADS, p = POL_DEFAULT;
            const char *runner = "threads", *bn = "-";
            if (i >= 0) {
                /* hold, backend, T, then the two policies side by side */
                p = i % POL_COUNT;
                int j = i / POL_COUNT;
                hold = j / (BK_COUNT * (int)ARRAY_LEN(ts));
                bk = (j / (int)ARRAY_LEN(ts)) % BK_COUNT;
                t = ts[j % (int)ARRAY_LEN(ts)];
                runner = pol_runner[p];
                bn = bk_name[bk];
            }
            snprintf(key, sizeof key, "%s|%s|%s|%s|%d", mix_name[mix], runner,
                     hold ? "hold" : "short", bn, t);
            int n = res_count(&res, "%s|rate", key);
            if (!n)
                continue;
            double rate = res_median(&res, "%s|rate", key);
            double rmin = res_min(&res, "%s|rate", key);
            double rmax = res_max(&res, "%s|rate", key);
            double ws = res_median(&res, "%s|wshare", key);
            double cpu = res_median(&res, "%s|cpu", key);
            double csw = res_median(&res, "%s|csw", key);
            double cswlo = res_min(&res, "%s|csw", key);
            double cswhi = res_max(&res, "%s|csw", key);
            double r99 = res_median(&res, "%s|r99", key);
            double w99 = res_median(&res, "%s|w99", key);
            rprintf(&rp, "| %s | %s | %s | %s | %d | %s | %s (%.0f%%) | %.1f%% "
                         "| %s | %.2f (%.2f-%.2f) | %s / %s | %.2fx |\n",
                    mix_label[mix],
                    i < 0 ? "pthread_rwlock, threads" : pol_lock[p],
                    hold ? "hold" : "short", bn, t, fmt_rate(b1, sizeof b1, rate),
                    fmt_rate_range(b3, sizeof b3, rmin, rmax),
                    100 * (rmax - rmin) / rate, 100 * ws,
                    fmt_ns(b2, sizeof b2, cpu), csw, cswlo, cswhi,
                    fmt_us(b4, sizeof b4, r99), fmt_us(b5, sizeof b5, w99),
                    rate / base);
            if (csv)
                fprintf(csv, "%s,%s,%s,%s,%d,%.0f,%.0f,%.0f,%.1f,%.3f,%d,%.4f,"
                             "%.4f,%.3f,%.3f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,"
                             "%.0f,%s\n",
                        mix_name[mix], runner, hold ? "hold" : "short", bn, t,
                        rate, rmin, rmax, cpu, csw, n, rate / base, ws, cswlo,
                        cswhi, res_median(&res, "%s|r50", key), r99,
                        res_median(&res, "%s|r999", key),
                        res_median(&res, "%s|rmax", key),
                        res_median(&res, "%s|w50", key), w99,
                        res_median(&res, "%s|w999", key),
                        res_median(&res, "%s|wmax", key),
                        mach[0].parallel && mach[1].parallel ? "parallel"
                                                              : "time-shared");
            if (rcsv) {
                int nv;
                const double *vr = res_values(&res, &nv, "%s|rate", key);
                const double *vw = res_values(&res, &nv, "%s|wshare", key);
                const double *vc = res_values(&res, &nv, "%s|cpu", key);
                const double *vs = res_values(&res, &nv, "%s|csw", key);
                const double *v1 = res_values(&res, &nv, "%s|r99", key);
                const double *v2 = res_values(&res, &nv, "%s|w99", key);
                const double *v3 = res_values(&res, &nv, "%s|wmax", key);
                for (int r = 0; r < nv; r++)
                    fprintf(rcsv, "%s,%s,%s,%s,%d,%d,%.0f,%.4f,%.1f,%.3f,%.0f,"
                                  "%.0f,%.0f\n",
                            mix_name[mix], runner, hold ? "hold" : "short", bn,
                            t, r, vr[r], vw[r], vc[r], vs[r], v1[r], v2[r],
                            v3[r]);
            }
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    if (rcsv)
        fclose(rcsv);
    report_close(&rp);

    targets_open(&tg, &o, "rwlock");
    for (int mix = 0; mix < M_COUNT; mix++) {
        double base = res_median(&res, "%s|threads|short|-|8|rate", mix_name[mix]);
        char meas[256] = "", tgt[200], id[8];
        size_t len = 0;
        int met = 1, seen = 0;
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double r = res_median(&res, "%s|loops|short|%s|2|rate",
                                  mix_name[mix], bk_name[bk]);
            if (isnan(r))
                continue;
            seen++;
            if (r < base)
                met = 0;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: %s = %.2fx", len ? "; " : "",
                                    bk_name[bk], fmt_rate(b1, sizeof b1, r),
                                    r / base);
        }
        if (!seen)
            met = -1;
        snprintf(id, sizeof id, "12.%d", mix + 1);
        snprintf(tgt, sizeof tgt, "rwlock, 2 loops, %s, short: >= 1.0x the "
                 "8-thread pthread_rwlock baseline (%s)", mix_label[mix],
                 fmt_rate(b2, sizeof b2, base));
        target_row(&tg, id, tgt, met, "%s", meas);
    }
    targets_close(&tg);
    res_free(&res);
    return 0;
}
