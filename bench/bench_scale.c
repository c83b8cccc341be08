/* Workload 5: scale: 10^2 .. 10^6 pending waiters on one semaphore.
 * SPDX-License-Identifier: MIT
 *
 * One loop queues N waits on a semaphore with no permits (as_sem with 0
 * permits, as_sem_acquire_async(1) each, every one pending), then:
 * (the waits live in one array but are queued in a random order, as waits
 * embedded in the application's scattered objects would be: a hardware
 * prefetcher cannot walk the queue for us)
 *   fill     time per as_sem_acquire_async that queues (the queue growing
 *            from 0 to N)
 *   cycle    at a constant depth N: as_sem_release(1) hands the permit to
 *            the oldest waiter, as_loop_run runs its callback, the callback
 *            queues the same wait again at the tail: one release, one
 *            callback and one queued acquire per cycle; 100000 cycles
 *   drain    as_sem_release(N) serves all N at once, as_loop_run runs the N
 *            callbacks: time per waiter
 * Memory: RSS (from /proc/self/statm) before the waits' array is mapped,
 * after it is mapped and touched, and after the N waits are queued.  The
 * library allocates nothing: a pending wait costs its as_wait and nothing
 * else, so the last step should add ~0 bytes.
 *
 * Floor: the same cycle through a plain intrusive FIFO and a ready queue
 * over elements of sizeof(as_wait) bytes: as the queue outgrows the caches,
 * the oldest waiter is a cache miss for anyone, and the floor shows how
 * much of the growth is memory, not algorithm.
 *
 * Targets: sizeof as_sem, as_mutex, as_event <= 64 bytes; a pending wait
 * costs only its as_wait; the time per cycle stays flat (O(1)) from 10^2 to
 * 10^6 waiters.  Once the queue outgrows the caches every FIFO pays a cache
 * miss or two per cycle for the oldest waiter (the floor shows it), so
 * "flat" is judged on the library's own work, the cycle time above the
 * floor's: at 10^6 within 2x of at 10^2.  The raw times are reported too.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct sctx {
    struct bloop *b;
    as_sem s;
    bool stopping;
    uint64_t callbacks;
};

static void on_acquired(as_wait *w, int status, void *arg)
{
    struct sctx *c = arg;
    check(status, "scale callback");
    c->callbacks++;
    if (!c->stopping &&
        as_sem_acquire_async(&c->s, &c->b->loop, w, 1, on_acquired, c) != 0)
        die("scale: a re-queued wait did not go pending");
}

static void *map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap %zu bytes failed", bytes);
    return p;
}

struct run {
    double fill_ns, cycle_ns, drain_ns, rss_total, rss_lib;
};

/* A random permutation of 0..n-1 (fixed seed: every run queues alike). */
static uint32_t *shuffled(long n)
{
    uint32_t *p = malloc((size_t)n * sizeof *p);
    uint64_t x = 0x9e3779b97f4a7c15u;
    if (!p)
        die("out of memory");
    for (long i = 0; i < n; i++)
        p[i] = (uint32_t)i;
    for (long i = n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        long j = (long)(x % (uint64_t)(i + 1));
        uint32_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

static struct run measure(struct bloop *b, long n, long cycles)
{
    uint32_t *order = shuffled(n);
    struct sctx c;
    struct run out;
    size_t bytes = (size_t)n * sizeof(as_wait);
    long r0, r1, r2;
    uint64_t t0, t1, t2;
    as_wait *w;

    memset(&c, 0, sizeof c);
    c.b = b;
    check(as_sem_init(&c.s, 0, 0), "as_sem_init");

    r0 = rss_bytes();
    w = map(bytes);
    memset(w, 0, bytes);
    r1 = rss_bytes();

    t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (as_sem_acquire_async(&c.s, &b->loop, &w[order[i]], 1, on_acquired,
                                 &c) != 0)
            die("scale: wait %ld did not go pending", i);
    t1 = now_ns();
    r2 = rss_bytes();
    bloop_poll(b, false); /* the doorbell goes to the kernel, as in a loop */
    out.fill_ns = (double)(t1 - t0) / (double)n;
    out.rss_total = (double)(r2 - r0) / (double)n;
    out.rss_lib = (double)(r2 - r1) / (double)n;

    t0 = now_ns();
    for (long i = 0; i < cycles; i++) {
        as_sem_release(&c.s, 1);
        as_loop_run(&b->loop);
    }
    t1 = now_ns();
    if (c.callbacks != (uint64_t)cycles)
        die("scale: %llu callbacks for %ld cycles",
            (unsigned long long)c.callbacks, cycles);
    out.cycle_ns = (double)(t1 - t0) / (double)cycles;

    c.stopping = true;
    t0 = now_ns();
    check(as_sem_release(&c.s, (uint32_t)n), "as_sem_release");
    t1 = now_ns();
    as_loop_run(&b->loop);
    t2 = now_ns();
    (void)t1;
    if (c.callbacks != (uint64_t)(cycles + n))
        die("scale: drain ran %llu callbacks",
            (unsigned long long)c.callbacks - (unsigned long long)cycles);
    out.drain_ns = (double)(t2 - t0) / (double)n;
    check(as_sem_destroy(&c.s), "as_sem_destroy");
    munmap(w, bytes);
    free(order);
    return out;
}

/* ---- floor: intrusive FIFO + ready queue, same element size ---- */

struct fnode {
    struct fnode *next;
    char pad[sizeof(as_wait) - sizeof(struct fnode *)];
};
struct fq {
    struct fnode *head, *tail;
};

static void fq_push(struct fq *q, struct fnode *x)
{
    x->next = NULL;
    if (q->tail)
        q->tail->next = x;
    else
        q->head = x;
    q->tail = x;
}

static struct fnode *fq_pop(struct fq *q)
{
    struct fnode *x = q->head;
    if (x) {
        q->head = x->next;
        if (!q->head)
            q->tail = NULL;
    }
    return x;
}

static struct fq fwait, fready;

__attribute__((noinline)) static void floor_release(void)
{
    struct fnode *x = fq_pop(&fwait);
    if (x)
        fq_push(&fready, x);
}

__attribute__((noinline)) static void floor_run(void)
{
    struct fnode *x;
    while ((x = fq_pop(&fready)) != NULL)
        fq_push(&fwait, x); /* the "callback" queues it again */
}

static double measure_floor(long n, long cycles)
{
    size_t bytes = (size_t)n * sizeof(struct fnode);
    struct fnode *w = map(bytes);
    uint32_t *order = shuffled(n);
    uint64_t t0, t1;
    memset(w, 0, bytes);
    fwait.head = fwait.tail = fready.head = fready.tail = NULL;
    for (long i = 0; i < n; i++)
        fq_push(&fwait, &w[order[i]]);
    t0 = now_ns();
    for (long i = 0; i < cycles; i++) {
        floor_release();
        floor_run();
    }
    t1 = now_ns();
    munmap(w, bytes);
    free(order);
    return (double)(t1 - t0) / (double)cycles;
}

int main(int argc, char **argv)
{
    static const long sizes[] = {100, 1000, 10000, 100000, 1000000};
    struct bench_opts o;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    struct bloop loops[BK_COUNT];
    bool have[BK_COUNT];
    size_t nsizes = ARRAY_LEN(sizes);
    long cycles;

    bench_parse(argc, argv, &o, "bench_scale",
                "  --count N  cycles at each depth (default 100000)\n");
    cycles = o.count > 0 ? o.count : o.smoke ? 1000 : 100000;
    if (o.smoke)
        nsizes = 3; /* up to 10^4 */
    pin_cpu(0);
    for (int bk = 0; bk < BK_COUNT; bk++)
        if ((have[bk] = backend_enabled(&o, bk)))
            bloop_init(&loops[bk], bk);

    /* warm-up (discarded): first touches of the rings' pages and the heap */
    for (int bk = 0; bk < BK_COUNT; bk++)
        if (have[bk])
            measure(&loops[bk], sizes[0], cycles / 10 + 1);
    measure_floor(sizes[0], cycles / 10 + 1);

    for (int rep = 0; rep < o.reps; rep++) {
        for (size_t si = 0; si < nsizes; si++) {
            long n = sizes[si];
            for (int bk = 0; bk < BK_COUNT; bk++) {
                if (!have[bk])
                    continue;
                struct run r = measure(&loops[bk], n, cycles);
                res_add(&res, r.fill_ns, "fill|%s|%ld", bk_name[bk], n);
                res_add(&res, r.cycle_ns, "cycle|%s|%ld", bk_name[bk], n);
                res_add(&res, r.drain_ns, "drain|%s|%ld", bk_name[bk], n);
                res_add(&res, r.rss_total, "rss|%s|%ld", bk_name[bk], n);
                res_add(&res, r.rss_lib, "rsslib|%s|%ld", bk_name[bk], n);
            }
            res_add(&res, measure_floor(n, cycles), "cycle|floor|%ld", n);
        }
    }

    report_open(&rp, &o, "scale");
    rprintf(&rp, "## 5. Scale: pending waiters on one semaphore\n\n");
    rprintf(&rp, "Object sizes (bytes, this build): as_wait %zu, as_sem %zu, "
                 "as_mutex %zu, as_cond %zu, as_event %zu, as_loop %zu.\n\n",
            sizeof(as_wait), sizeof(as_sem), sizeof(as_mutex), sizeof(as_cond),
            sizeof(as_event), sizeof(as_loop));
    rprintf(&rp, "N waits pending; cycle = release(1) + the oldest waiter's "
                 "callback + its re-queue at depth N (%ld cycles); drain = "
                 "release(N) + N callbacks. RSS/waiter = resident memory added "
                 "by mapping, touching and queueing the waits, over N; "
                 "library = the part added by queueing them. Medians of %d "
                 "repetitions.\n\n", cycles, o.reps);
    rprintf(&rp, "| N | backend | fill ns/wait | cycle ns | floor cycle ns "
                 "| cycle - floor | drain ns/waiter | RSS bytes/waiter "
                 "| library bytes/waiter |\n");
    rprintf(&rp, "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(&o, "scale.csv");
    if (csv)
        fprintf(csv, "n,backend,fill_ns,cycle_ns,floor_cycle_ns,drain_ns,"
                     "rss_bytes_per_waiter,library_bytes_per_waiter,reps\n");
    for (size_t si = 0; si < nsizes; si++) {
        long n = sizes[si];
        for (int bk = 0; bk < BK_COUNT; bk++) {
            if (!res_count(&res, "cycle|%s|%ld", bk_name[bk], n))
                continue;
            double fill = res_median(&res, "fill|%s|%ld", bk_name[bk], n);
            double cyc = res_median(&res, "cycle|%s|%ld", bk_name[bk], n);
            double flo = res_median(&res, "cycle|floor|%ld", n);
            double drain = res_median(&res, "drain|%s|%ld", bk_name[bk], n);
            double rss = res_median(&res, "rss|%s|%ld", bk_name[bk], n);
            double lib = res_median(&res, "rsslib|%s|%ld", bk_name[bk], n);
            rprintf(&rp, "| %ld | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f "
                         "| %.2f |\n",
                    n, bk_name[bk], fill, cyc, flo, cyc - flo, drain, rss, lib);
            if (csv)
                fprintf(csv, "%ld,%s,%.2f,%.2f,%.2f,%.2f,%.2f,%.3f,%d\n", n,
                        bk_name[bk], fill, cyc, flo, drain, rss, lib,
                        res_count(&res, "cycle|%s|%ld", bk_name[bk], n));
        }
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, &o, "scale");
    target_row(&tg, "5.1", "memory: as_sem, as_mutex, as_event <= 64 bytes",
               sizeof(as_sem) <= 64 && sizeof(as_mutex) <= 64 &&
                       sizeof(as_event) <= 64
                   ? 1
                   : 0,
               "as_sem %zu, as_mutex %zu, as_event %zu (as_cond %zu)",
               sizeof(as_sem), sizeof(as_mutex), sizeof(as_event),
               sizeof(as_cond));
    {
        long nmax = sizes[nsizes - 1], nmin = sizes[0];
        char meas[512] = "";
        size_t len = 0;
        int met_mem = 1, met_flat = 1, seen = 0;
        double flo_lo = res_median(&res, "cycle|floor|%ld", nmin);
        double flo_hi = res_median(&res, "cycle|floor|%ld", nmax);
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double lib = res_median(&res, "rsslib|%s|%ld", bk_name[bk], nmax);
            double rss = res_median(&res, "rss|%s|%ld", bk_name[bk], nmax);
            if (isnan(lib))
                continue;
            seen++;
            /* a page or two of noise over 10^6 waits is < 0.01 byte each */
            if (lib > 1.0)
                met_mem = 0;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: %.1f bytes/waiter in all, %.2f "
                                    "added by the library",
                                    len ? "; " : "", bk_name[bk], rss, lib);
        }
        if (!seen)
            met_mem = -1;
        char tgt[200];
        snprintf(tgt, sizeof tgt,
                 "memory: a pending wait costs only its as_wait (%zu bytes), "
                 "at N = %ld", sizeof(as_wait), nmax);
        target_row(&tg, "5.2", tgt, met_mem, "%s", meas);

        len = 0;
        meas[0] = 0;
        seen = 0;
        for (int bk = 0; bk < BK_COUNT; bk++) {
            double lo = res_median(&res, "cycle|%s|%ld", bk_name[bk], nmin);
            double hi = res_median(&res, "cycle|%s|%ld", bk_name[bk], nmax);
            if (isnan(lo))
                continue;
            seen++;
            double own_lo = lo - flo_lo, own_hi = hi - flo_hi;
            if (own_hi > 2.0 * own_lo)
                met_flat = 0;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: above the floor %.1f -> %.1f ns = "
                                    "%.2fx (raw %.1f -> %.1f ns)",
                                    len ? "; " : "", bk_name[bk], own_lo,
                                    own_hi, own_hi / own_lo, lo, hi);
        }
        len += (size_t)snprintf(meas + len, sizeof meas - len,
                                "; floor %.1f -> %.1f ns (cache misses on "
                                "the oldest waiter)", flo_lo, flo_hi);
        if (!seen)
            met_flat = -1;
        snprintf(tgt, sizeof tgt,
                 "time per release+acquire flat (O(1)) from N = %ld to %ld: "
                 "time above the FIFO floor within 2x", nmin, nmax);
        target_row(&tg, "5.3", tgt, met_flat, "%s", meas);
    }
    targets_close(&tg);

    for (int bk = 0; bk < BK_COUNT; bk++)
        if (have[bk])
            bloop_fini(&loops[bk]);
    res_free(&res);
    return 0;
}
