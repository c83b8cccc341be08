/* Workloads 8 and 9: deadlines.
 * SPDX-License-Identifier: MIT
 *
 * 8. LATENESS (--only lateness): how late a deadline fires.  One wait at a
 * time: as_sem_acquire_until on a semaphore with no permits, its deadline
 * 1 to 5 ms ahead (uniformly drawn); the loop sleeps until the deadline's
 * callback (status -ETIMEDOUT) records as_now_ns() - deadline.  Variants:
 *
 *   asyncsync uring      a uring loop: the ring timer (one absolute
 *                        IORING_OP_TIMEOUT on the loop's ring, src/backend/
 *                        ring.c); the loop blocks in io_uring_submit_and_wait
 *   asyncsync generic    a ring loop of the generic backend: the same ring
 *                        timer, the doorbell an eventfd read
 *   notify + ppoll       a notify-driven loop (as_loop_init_generic; notify
 *                        writes an eventfd) that blocks in ppoll(2) on the
 *                        eventfd for as_loop_timeout_ns(), in nanoseconds
 *   notify + poll (ms)   the same with poll(2) and the timeout rounded up to
 *                        whole milliseconds, the two lines of asyncsync.h
 *   io_uring TIMEOUT     baseline: a raw absolute IORING_OP_TIMEOUT on a
 *                        plain ring, lateness taken when its CQE is reaped
 *   timerfd + io_uring   baseline: an absolute timerfd (CLOCK_MONOTONIC) with
 *                        an IORING_OP_READ armed on it
 *   timerfd + epoll      baseline: the same timerfd, epoll_wait(2) then read
 *
 * Samples: --count in all per variant (default 2000), split evenly over the
 * repetitions, variants interleaved within a repetition; percentiles are
 * taken over all the samples of a variant together (a repetition holds a
 * few hundred: too few for a p99 each).  The thread is pinned to CPU 0 and
 * sleeps until each deadline, as a loop would: the wake-up of an idle CPU
 * is part of every variant's lateness alike.
 *
 * 9. TIMED WAITS AT SCALE (--only scale): N timed waits pending on one loop
 * (N = 10^3 .. 10^6), parked with as_sem_acquire_until on a semaphore with
 * no permits, each with a random deadline 1 to 2 hours ahead, in a random
 * order of their addresses (as waits inside scattered application objects
 * would be).  The as_wait array is malloc()ed (N * sizeof(as_wait)).  Then a
 * window of 64 more timed waits churns: each op cancels the oldest of them
 * (as_cancel), as_loop_run runs its callback (-ECANCELED; the loop takes
 * the wait out of its deadline heap first), and the callback arms it again
 * with a new random deadline (heap insert): ns per arm + disarm.  Baselines
 * in the same process, same window and same N:
 *
 *   untimed              the same with as_sem_acquire_async (no deadline):
 *                        the cancel / callback / queue work alone; timed -
 *                        untimed is what the deadline heap costs
 *   array heap           a conventional timer heap: an array of (deadline,
 *                        pointer) with the node's index kept in the node (as
 *                        libev keeps its timers), over nodes of
 *                        sizeof(as_wait) bytes: remove + insert per op.  It
 *                        needs an array allocated for N timers (16 bytes
 *                        each); the intrusive heap needs none.
 *
 * Each size is built once, then every repetition runs 3 interleaved batches
 * of each variant (best of 3), medians over repetitions; fill (time per
 * parking acquire_until) and drain (as_sem_close, then as_loop_run runs the
 * N callbacks, each taking its wait out of the heap) are measured once per
 * size.  Memory: sizeof(as_wait) and the RSS added by parking the waits
 * (the library allocates nothing: ~0).  Scale runs on one backend (uring
 * when selected and available): the heap and the ring timer are the same
 * code on both ring backends.
 *
 * Targets: 8.1 the ring timer adds nothing measurable to the kernel's
 * timeout: the uring and generic loops' p50 lateness within 5 us of the raw
 * IORING_OP_TIMEOUT's.  9.1 arm + disarm grows like log n: at 10^6 no more
 * than 2 x log2(10^6) / log2(10^3) = 4x its cost at 10^3 (the cost per
 * level of the heap within 2x).  9.2 a timed wait costs its as_wait and no
 * other memory.
 */
#include "common.h"

#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;

static inline uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; /* xorshift64 */
    return rng;
}

/* ======================================================================
 * 8. lateness
 * ==================================================================== */

enum lvar { LV_URING, LV_GENERIC, LV_PPOLL, LV_POLL, LV_RAW, LV_TFD_URING,
            LV_TFD_EPOLL, LV_COUNT };
static const char *const lv_name[LV_COUNT] = {
    "asyncsync-uring", "asyncsync-generic", "notify-ppoll", "notify-poll-ms",
    "io_uring-timeout", "timerfd-io_uring", "timerfd-epoll"};
static const char *const lv_label[LV_COUNT] = {
    "asyncsync, uring loop (ring timer)",
    "asyncsync, generic ring loop (ring timer)",
    "asyncsync, notify loop + ppoll (ns timeout)",
    "asyncsync, notify loop + poll (ms, rounded up)",
    "raw IORING_OP_TIMEOUT (absolute)", "timerfd + io_uring READ",
    "timerfd + epoll_wait"};

struct lctx {
    as_sem s;
    as_wait w;
    bool fired;
    uint64_t deadline, late;
    int efd; /* notify loop: the eventfd notify() writes */
};

static void on_deadline(as_wait *w, int status, void *arg)
{
    struct lctx *c = arg;
    uint64_t t = as_now_ns();
    (void)w;
    if (status != -ETIMEDOUT)
        die("lateness: callback status %d, not -ETIMEDOUT", status);
    c->late = t - c->deadline;
    c->fired = true;
}

static void notify_efd(void *ctx)
{
    struct lctx *c = ctx;
    uint64_t one = 1;
    while (write(c->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static uint64_t next_deadline(void)
{
    return as_now_ns() + 1000000u + rnd() % 4000001u; /* 1 to 5 ms ahead */
}

/* One sample on an asyncsync ring loop. */
static uint64_t late_ring(struct bloop *b, struct lctx *c)
{
    c->fired = false;
    c->deadline = next_deadline();
    if (as_sem_acquire_until(&c->s, &b->loop, &c->w, 1, c->deadline,
                             on_deadline, c) != 0)
        die("lateness: the timed wait did not go pending");
    for (;;) {
        as_loop_run(&b->loop);
        if (c->fired)
            return c->late;
        bloop_poll(b, true);
    }
}

/* One sample on a notify loop; ms: poll(2) with the timeout rounded up to
 * milliseconds, else ppoll(2) with it in nanoseconds. */
static uint64_t late_notify(as_loop *loop, struct lctx *c, bool ms)
{
    struct pollfd pfd = {c->efd, POLLIN, 0};
    c->fired = false;
    c->deadline = next_deadline();
    if (as_sem_acquire_until(&c->s, loop, &c->w, 1, c->deadline, on_deadline,
                             c) != 0)
        die("lateness: the timed wait did not go pending");
    for (;;) {
        int64_t t;
        as_loop_run(loop);
        if (c->fired)
            return c->late;
        t = as_loop_timeout_ns(loop);
        if (ms) {
            (void)poll(&pfd, 1, t < 0 ? -1 : (int)((t + 999999) / 1000000));
        } else {
            struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
            (void)ppoll(&pfd, 1, t < 0 ? NULL : &ts, NULL);
        }
        if (pfd.revents & POLLIN) {
            uint64_t v;
            (void)read(c->efd, &v, sizeof v);
        }
    }
}

static struct io_uring_cqe *wait_one(struct io_uring *ring)
{
    struct io_uring_cqe *cqe;
    int r;
    do {
        r = io_uring_submit_and_wait(ring, 1);
    } while (r == -EINTR);
    if (r < 0)
        die("io_uring_submit_and_wait: %s", strerror(-r));
    do {
        r = io_uring_wait_cqe(ring, &cqe);
    } while (r == -EINTR);
    if (r < 0)
        die("io_uring_wait_cqe: %s", strerror(-r));
    return cqe;
}

static uint64_t late_raw(struct io_uring *ring)
{
    struct __kernel_timespec ts;
    uint64_t d = next_deadline(), t;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    struct io_uring_cqe *cqe;
    ts.tv_sec = (long long)(d / 1000000000u);
    ts.tv_nsec = (long long)(d % 1000000000u);
    io_uring_prep_timeout(sqe, &ts, 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, 1);
    cqe = wait_one(ring);
    t = as_now_ns();
    if (cqe->res != -ETIME)
        die("io_uring TIMEOUT: res %d", cqe->res);
    io_uring_cqe_seen(ring, cqe);
    return t - d;
}

static void tfd_set(int tfd, uint64_t d)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)(d / 1000000000u);
    its.it_value.tv_nsec = (long)(d % 1000000000u);
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        die("timerfd_settime: %s", strerror(errno));
}

static uint64_t late_tfd_uring(struct io_uring *ring, int tfd)
{
    uint64_t d = next_deadline(), t, buf;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    tfd_set(tfd, d);
    sqe = io_uring_get_sqe(ring);
    io_uring_prep_read(sqe, tfd, &buf, sizeof buf, 0);
    io_uring_sqe_set_data64(sqe, 2);
    cqe = wait_one(ring);
    t = as_now_ns();
    if (cqe->res != (int)sizeof buf)
        die("timerfd read: res %d", cqe->res);
    io_uring_cqe_seen(ring, cqe);
    return t - d;
}

static uint64_t late_tfd_epoll(int ep, int tfd)
{
    uint64_t d = next_deadline(), t, buf;
    struct epoll_event ev;
    tfd_set(tfd, d);
    while (epoll_wait(ep, &ev, 1, -1) != 1)
        ;
    t = as_now_ns();
    if (read(tfd, &buf, sizeof buf) != (ssize_t)sizeof buf)
        die("timerfd read: %s", strerror(errno));
    return t - d;
}

static void run_lateness(const struct bench_opts *o, bool have[BK_COUNT])
{
    struct report rp;
    struct targets tg;
    struct bloop bl[BK_COUNT];
    as_loop nloop;
    struct lctx *c = calloc(1, sizeof *c);
    struct io_uring plain;
    int tfd_u, tfd_e, ep;
    struct epoll_event ev;
    long total = o->count > 0 ? o->count : o->smoke ? 20 : 2000;
    long per = (total + o->reps - 1) / o->reps;
    uint64_t *s[LV_COUNT] = {NULL};
    size_t ns[LV_COUNT] = {0};
    bool run[LV_COUNT];
    char b[6][32];

    if (!c)
        die("out of memory");
    check(as_sem_init(&c->s, 0, 0), "as_sem_init");
    c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    tfd_u = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    tfd_e = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (c->efd < 0 || tfd_u < 0 || tfd_e < 0 || ep < 0)
        die("eventfd/timerfd/epoll: %s", strerror(errno));
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd_e, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
    if (io_uring_queue_init(8, &plain, 0) < 0)
        die("io_uring_queue_init");
    check(as_loop_init_generic(&nloop, notify_efd, c, NULL), "as_loop_init_generic");
    for (int v = 0; v < LV_COUNT; v++) {
        run[v] = true;
        s[v] = malloc((size_t)(per * o->reps) * sizeof **s);
        if (!s[v])
            die("out of memory");
    }
    run[LV_URING] = have[BK_URING];
    run[LV_GENERIC] = have[BK_GENERIC];
    for (int bk = 0; bk < BK_COUNT; bk++)
        if (have[bk])
            bloop_init(&bl[bk], bk);

    /* warm-up: a few of each (discarded) */
    for (int v = 0; v < LV_COUNT; v++)
        for (int i = 0; i < 3 && run[v]; i++) {
            switch (v) {
            case LV_URING: late_ring(&bl[BK_URING], c); break;
            case LV_GENERIC: late_ring(&bl[BK_GENERIC], c); break;
            case LV_PPOLL: late_notify(&nloop, c, false); break;
            case LV_POLL: late_notify(&nloop, c, true); break;
            case LV_RAW: late_raw(&plain); break;
            case LV_TFD_URING: late_tfd_uring(&plain, tfd_u); break;
            default: late_tfd_epoll(ep, tfd_e); break;
            }
        }
    for (int rep = 0; rep < o->reps; rep++) {
        for (int v = 0; v < LV_COUNT; v++) {
            for (long i = 0; i < per && run[v]; i++) {
                uint64_t x;
                switch (v) {
                case LV_URING: x = late_ring(&bl[BK_URING], c); break;
                case LV_GENERIC: x = late_ring(&bl[BK_GENERIC], c); break;
                case LV_PPOLL: x = late_notify(&nloop, c, false); break;
                case LV_POLL: x = late_notify(&nloop, c, true); break;
                case LV_RAW: x = late_raw(&plain); break;
                case LV_TFD_URING: x = late_tfd_uring(&plain, tfd_u); break;
                default: x = late_tfd_epoll(ep, tfd_e); break;
                }
                s[v][ns[v]++] = x;
            }
        }
    }

    report_open(&rp, o, "timer_lateness");
    rprintf(&rp, "## 8. Timer expiry lateness (callback time - deadline)\n\n");
    rprintf(&rp, "One timed wait at a time (as_sem_acquire_until that times "
                 "out), deadline 1 to 5 ms ahead; %ld samples per variant "
                 "(%d repetitions of %ld, interleaved), percentiles over all "
                 "of them. Baselines in the same process.\n\n",
            per * o->reps, o->reps, per);
    rprintf(&rp, "| variant | p50 | p90 | p99 | max | mean | p50 vs raw "
                 "io_uring TIMEOUT |\n");
    rprintf(&rp, "|---|---:|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(o, "timer_lateness.csv");
    if (csv)
        fprintf(csv, "variant,p50_ns,p90_ns,p99_ns,max_ns,mean_ns,samples\n");
    double p50[LV_COUNT], p99[LV_COUNT];
    for (int v = 0; v < LV_COUNT; v++) {
        p50[v] = p99[v] = NAN;
        if (!ns[v])
            continue;
        sort_u64(s[v], ns[v]);
    }
    for (int v = 0; v < LV_COUNT; v++) {
        double sum = 0, p90, mx;
        if (!ns[v])
            continue;
        for (size_t i = 0; i < ns[v]; i++)
            sum += (double)s[v][i];
        p50[v] = (double)pct_u64(s[v], ns[v], 0.5);
        p90 = (double)pct_u64(s[v], ns[v], 0.9);
        p99[v] = (double)pct_u64(s[v], ns[v], 0.99);
        mx = (double)s[v][ns[v] - 1];
        rprintf(&rp, "| %s | %s | %s | %s | %s | %s | %.2fx |\n", lv_label[v],
                fmt_ns(b[0], 32, p50[v]), fmt_ns(b[1], 32, p90),
                fmt_ns(b[2], 32, p99[v]), fmt_ns(b[3], 32, mx),
                fmt_ns(b[4], 32, sum / (double)ns[v]),
                p50[v] / (double)pct_u64(s[LV_RAW], ns[LV_RAW], 0.5));
        if (csv)
            fprintf(csv, "%s,%.0f,%.0f,%.0f,%.0f,%.1f,%zu\n", lv_name[v],
                    p50[v], p90, p99[v], mx, sum / (double)ns[v], ns[v]);
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, o, "timer_lateness");
    {
        char meas[300];
        size_t len = 0;
        int met = 1, seen = 0;
        meas[0] = 0;
        for (int v = LV_URING; v <= LV_GENERIC; v++) {
            if (isnan(p50[v]))
                continue;
            seen++;
            if (p50[v] > p50[LV_RAW] + 5000.0)
                met = 0;
            len += (size_t)snprintf(meas + len, sizeof meas - len,
                                    "%s%s: p50 %s (%+.1f us), p99 %s",
                                    len ? "; " : "", bk_name[v - LV_URING],
                                    fmt_ns(b[0], 32, p50[v]),
                                    (p50[v] - p50[LV_RAW]) / 1000.0,
                                    fmt_ns(b[1], 32, p99[v]));
        }
        snprintf(meas + len, sizeof meas - len,
                 "; raw TIMEOUT p50 %s, p99 %s; timerfd+epoll p50 %s",
                 fmt_ns(b[2], 32, p50[LV_RAW]), fmt_ns(b[3], 32, p99[LV_RAW]),
                 fmt_ns(b[4], 32, p50[LV_TFD_EPOLL]));
        target_row(&tg, "8.1",
                   "deadline lateness of a ring loop (ring timer) p50 within "
                   "5 us of a raw absolute IORING_OP_TIMEOUT's",
                   seen ? met : -1, "%s", meas);
    }
    targets_close(&tg);

    for (int bk = 0; bk < BK_COUNT; bk++)
        if (have[bk])
            bloop_fini(&bl[bk]);
    check(as_loop_destroy(&nloop), "as_loop_destroy");
    check(as_sem_destroy(&c->s), "as_sem_destroy");
    io_uring_queue_exit(&plain);
    close(c->efd);
    close(tfd_u);
    close(tfd_e);
    close(ep);
    for (int v = 0; v < LV_COUNT; v++)
        free(s[v]);
    free(c);
}

/* ======================================================================
 * 9. timed waits at scale
 * ==================================================================== */

#define WINDOW 64
#define HOUR_NS (3600ull * 1000000000ull)

struct sctx {
    struct bloop *b;
    as_sem s;
    bool timed;        /* churn callbacks re-arm with a deadline */
    uint64_t base;     /* deadlines: base + [0, 1 h) */
    uint64_t churned, shut;
};

static void on_parked(as_wait *w, int status, void *arg)
{
    struct sctx *c = arg;
    (void)w;
    if (status != -ESHUTDOWN)
        die("scale: a parked wait ended with %d", status);
    c->shut++;
}

static void on_churn(as_wait *w, int status, void *arg)
{
    struct sctx *c = arg;
    int r;
    if (status == -ESHUTDOWN) {
        c->shut++;
        return;
    }
    if (status != -ECANCELED)
        die("scale: a churned wait ended with %d", status);
    c->churned++;
    r = c->timed ? as_sem_acquire_until(&c->s, &c->b->loop, w, 1,
                                        c->base + rnd() % HOUR_NS, on_churn, c)
                 : as_sem_acquire_async(&c->s, &c->b->loop, w, 1, on_churn, c);
    if (r != 0)
        die("scale: a re-armed wait did not go pending (%d)", r);
}

/* ops arm+disarm cycles over the window; ns per cycle. */
static double churn(struct sctx *c, as_wait *win, bool timed, long ops)
{
    as_loop *loop = &c->b->loop;
    uint64_t t0, t1, before = c->churned;
    c->timed = timed;
    t0 = now_ns();
    for (long i = 0; i < ops; i++) {
        if (as_cancel(&win[i % WINDOW]) != 0)
            die("scale: as_cancel failed");
        as_loop_run(loop);
        /* the ring's own work (a timer moved, doorbell): rarely any */
        if ((i & 255) == 255 &&
            (io_uring_sq_ready(&c->b->ring) || io_uring_cq_ready(&c->b->ring)))
            bloop_poll(c->b, false);
    }
    t1 = now_ns();
    if (c->churned - before != (uint64_t)ops)
        die("scale: %llu callbacks for %ld cancels",
            (unsigned long long)(c->churned - before), ops);
    return (double)(t1 - t0) / (double)ops;
}

/* ---- the array-heap baseline ---- */

struct anode {
    uint32_t idx; /* position in the heap array */
    char pad[sizeof(as_wait) - sizeof(uint32_t)];
};
struct aent {
    uint64_t d;
    struct anode *n;
};
struct aheap {
    struct aent *a; /* 0-based binary min-heap */
    uint32_t n;
};

static void ah_set(struct aheap *h, uint32_t i, struct aent e)
{
    h->a[i] = e;
    e.n->idx = i;
}

static void ah_up(struct aheap *h, uint32_t i)
{
    struct aent e = h->a[i];
    while (i > 0 && e.d < h->a[(i - 1) / 2].d) {
        ah_set(h, i, h->a[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    ah_set(h, i, e);
}

static void ah_down(struct aheap *h, uint32_t i)
{
    struct aent e = h->a[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->a[c + 1].d < h->a[c].d)
            c++;
        if (!(h->a[c].d < e.d))
            break;
        ah_set(h, i, h->a[c]);
        i = c;
    }
    ah_set(h, i, e);
}

__attribute__((noinline)) static void ah_insert(struct aheap *h,
                                                struct anode *x, uint64_t d)
{
    struct aent e = {d, x};
    h->a[h->n] = e;
    x->idx = h->n++;
    ah_up(h, x->idx);
}

__attribute__((noinline)) static void ah_remove(struct aheap *h,
                                                struct anode *x)
{
    uint32_t i = x->idx;
    if (--h->n == i)
        return;
    ah_set(h, i, h->a[h->n]);
    if (i > 0 && h->a[i].d < h->a[(i - 1) / 2].d)
        ah_up(h, i);
    else
        ah_down(h, i);
}

static double ah_churn(struct aheap *h, struct anode *win, uint64_t base,
                       long ops)
{
    uint64_t t0 = now_ns(), t1;
    for (long i = 0; i < ops; i++) {
        struct anode *x = &win[i % WINDOW];
        ah_remove(h, x);
        ah_insert(h, x, base + rnd() % HOUR_NS);
    }
    t1 = now_ns();
    return (double)(t1 - t0) / (double)ops;
}

static uint32_t *shuffled(long n)
{
    uint32_t *p = malloc((size_t)n * sizeof *p);
    if (!p)
        die("out of memory");
    for (long i = 0; i < n; i++)
        p[i] = (uint32_t)i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(rnd() % (uint64_t)(i + 1));
        uint32_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

static void run_scale(const struct bench_opts *o, bool have[BK_COUNT])
{
    static const long sizes_full[] = {1000, 10000, 100000, 1000000};
    static const long sizes_smoke[] = {1000, 10000};
    const long *sizes = o->smoke ? sizes_smoke : sizes_full;
    size_t nsizes = o->smoke ? ARRAY_LEN(sizes_smoke) : ARRAY_LEN(sizes_full);
    long ops = o->smoke ? 5000 : 200000;
    struct results res = {0};
    struct report rp;
    struct targets tg;
    struct bloop bl;
    int bk = have[BK_URING] ? BK_URING : BK_GENERIC;
    struct sctx *c = calloc(1, sizeof *c);
    if (!c)
        die("out of memory");
    bloop_init(&bl, bk);
    c->b = &bl;

    for (size_t si = 0; si < nsizes; si++) {
        long n = sizes[si];
        uint32_t *order = shuffled(n);
        size_t bytes = (size_t)(n + WINDOW) * sizeof(as_wait);
        as_wait *w;
        as_wait *win;
        long r0, r1, r2;
        uint64_t t0, t1, t2;

        check(as_sem_init(&c->s, 0, 0), "as_sem_init");
        c->base = as_now_ns() + HOUR_NS;
        c->churned = c->shut = 0;
        r0 = rss_bytes();
        w = malloc(bytes);
        if (!w)
            die("malloc %zu bytes failed", bytes);
        /* touched with non-zero bytes: malloc + memset(0) may become a
         * calloc that leaves fresh pages untouched (any contents are fine
         * for an as_wait) */
        memset(w, 0x5a, bytes);
        r1 = rss_bytes();
        win = w + n;
        t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (as_sem_acquire_until(&c->s, &bl.loop, &w[order[i]], 1,
                                     c->base + rnd() % HOUR_NS, on_parked,
                                     c) != 0)
                die("scale: parked wait %ld did not go pending", i);
        t1 = now_ns();
        r2 = rss_bytes();
        for (int k = 0; k < WINDOW; k++)
            if (as_sem_acquire_until(&c->s, &bl.loop, &win[k], 1,
                                     c->base + rnd() % HOUR_NS, on_churn, c) != 0)
                die("scale: window wait did not go pending");
        bloop_poll(&bl, false); /* doorbell and timer go to the kernel */
        res_add(&res, (double)(t1 - t0) / (double)n, "fill|%ld", n);
        res_add(&res, (double)(r2 - r1) / (double)n, "rsslib|%ld", n);
        res_add(&res, (double)(r2 - r0) / (double)n, "rss|%ld", n);

        /* the array heap, same N, same window, its own nodes */
        struct anode *an = malloc((size_t)(n + WINDOW) * sizeof *an);
        struct aheap ah = {malloc((size_t)(n + WINDOW) * sizeof(struct aent)), 0};
        if (!an || !ah.a)
            die("out of memory");
        memset(an, 0x5a, (size_t)(n + WINDOW) * sizeof *an);
        for (long i = 0; i < n; i++)
            ah_insert(&ah, &an[order[i]], c->base + rnd() % HOUR_NS);
        for (int k = 0; k < WINDOW; k++)
            ah_insert(&ah, &an[n + k], c->base + rnd() % HOUR_NS);

        /* warm-up */
        churn(c, win, true, ops / 10 + WINDOW);
        churn(c, win, false, ops / 10 + WINDOW);
        ah_churn(&ah, an + n, c->base, ops / 10 + WINDOW);
        for (int rep = 0; rep < o->reps; rep++) {
            double bt = INFINITY, bu = INFINITY, ba = INFINITY, x;
            for (int b = 0; b < 3; b++) {
                if ((x = churn(c, win, true, ops)) < bt)
                    bt = x;
                if ((x = churn(c, win, false, ops)) < bu)
                    bu = x;
                if ((x = ah_churn(&ah, an + n, c->base, ops)) < ba)
                    ba = x;
            }
            res_add(&res, bt, "timed|%ld", n);
            res_add(&res, bu, "untimed|%ld", n);
            res_add(&res, ba, "aheap|%ld", n);
        }
        /* the window's waits are timed again (the last batch was untimed:
         * re-arm each with a deadline), so the drain takes N + 64 from the
         * heap */
        c->timed = true;
        for (int k = 0; k < WINDOW; k++) {
            check(as_cancel(&win[k]), "as_cancel");
            as_loop_run(&bl.loop);
        }

        t0 = now_ns();
        check(as_sem_close(&c->s), "as_sem_close");
        t1 = now_ns();
        as_loop_run(&bl.loop);
        t2 = now_ns();
        (void)t1;
        if (c->shut != (uint64_t)(n + WINDOW))
            die("scale: drain ran %llu callbacks for %ld waits",
                (unsigned long long)c->shut, n + WINDOW);
        if (as_loop_timeout_ns(&bl.loop) != -1)
            die("scale: timed waits left in the loop's heap");
        res_add(&res, (double)(t2 - t0) / (double)(n + WINDOW), "drain|%ld", n);
        check(as_sem_destroy(&c->s), "as_sem_destroy");
        bloop_poll(&bl, false);
        free(w);
        free(an);
        free(ah.a);
        free(order);
    }

    report_open(&rp, o, "timer_scale");
    rprintf(&rp, "## 9. Timed waits at scale: arm + disarm with N timed waits "
                 "pending on one loop\n\n");
    rprintf(&rp, "Backend %s. N waits parked with as_sem_acquire_until "
                 "(random deadlines 1-2 h ahead, random addresses; malloc()ed "
                 "array of N x sizeof(as_wait) = N x %zu bytes), then a "
                 "window of %d timed waits churns: as_cancel the oldest, "
                 "as_loop_run runs its callback (the wait leaves the heap), "
                 "the callback arms it again with a new random deadline. "
                 "%ld cycles per batch, best of 3 interleaved batches, median "
                 "of %d repetitions. untimed: the same with "
                 "as_sem_acquire_async; array heap: a (deadline, pointer) "
                 "array heap, remove + insert. fill / drain: once per N "
                 "(drain = as_sem_close + the N callbacks, each leaving the "
                 "heap).\n\n",
            bk_name[bk], sizeof(as_wait), WINDOW, ops, o->reps);
    rprintf(&rp, "| N pending | log2 N | arm+disarm ns (timed) | untimed ns | "
                 "heap part (timed - untimed) | heap part / log2 N | array heap ns | "
                 "fill ns/wait | drain ns/wait | RSS bytes/wait | library "
                 "bytes/wait |\n");
    rprintf(&rp, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    FILE *csv = out_open(o, "timer_scale.csv");
    if (csv)
        fprintf(csv, "n,backend,timed_ns,untimed_ns,heap_ns,array_heap_ns,"
                     "fill_ns,drain_ns,rss_bytes_per_wait,"
                     "library_bytes_per_wait,sizeof_as_wait,reps\n");
    for (size_t si = 0; si < nsizes; si++) {
        long n = sizes[si];
        double t = res_median(&res, "timed|%ld", n);
        double u = res_median(&res, "untimed|%ld", n);
        double a = res_median(&res, "aheap|%ld", n);
        double fill = res_median(&res, "fill|%ld", n);
        double drain = res_median(&res, "drain|%ld", n);
        double rss = res_median(&res, "rss|%ld", n);
        double lib = res_median(&res, "rsslib|%ld", n);
        double lg = log2((double)n);
        rprintf(&rp, "| %ld | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f | "
                     "%.1f | %.1f | %.2f |\n",
                n, lg, t, u, t - u, (t - u) / lg, a, fill, drain, rss, lib);
        if (csv)
            fprintf(csv, "%ld,%s,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.3f,%zu,%d\n",
                    n, bk_name[bk], t, u, t - u, a, fill, drain, rss, lib,
                    sizeof(as_wait), res_count(&res, "timed|%ld", n));
    }
    rprintf(&rp, "\n");
    if (csv)
        fclose(csv);
    report_close(&rp);

    targets_open(&tg, o, "timer_scale");
    {
        long lo = sizes[0], hi = sizes[nsizes - 1];
        double tl = res_median(&res, "timed|%ld", lo);
        double th = res_median(&res, "timed|%ld", hi);
        double ul = res_median(&res, "untimed|%ld", lo);
        double uh = res_median(&res, "untimed|%ld", hi);
        double al = res_median(&res, "aheap|%ld", lo);
        double ah_ = res_median(&res, "aheap|%ld", hi);
        double bound = 2.0 * log2((double)hi) / log2((double)lo);
        double lib = res_median(&res, "rsslib|%ld", hi);
        char tgt[200];
        snprintf(tgt, sizeof tgt,
                 "arm+disarm of a timed wait grows like log n: at N = %ld <= "
                 "%.1fx (2 x log2 N / log2 %ld) its cost at N = %ld", hi,
                 bound, lo, lo);
        target_row(&tg, "9.1", tgt, th <= bound * tl ? 1 : 0,
                   "%.1f -> %.1f ns = %.2fx (heap part %.1f -> %.1f ns; "
                   "untimed %.1f -> %.1f ns; array heap %.1f -> %.1f ns)",
                   tl, th, th / tl, tl - ul, th - uh, ul, uh, al, ah_);
        snprintf(tgt, sizeof tgt,
                 "memory: a timed wait costs its as_wait (%zu bytes) and "
                 "nothing else, at N = %ld", sizeof(as_wait), hi);
        target_row(&tg, "9.2", tgt, lib <= 1.0 ? 1 : 0,
                   "%.2f bytes per wait added by parking (RSS), sizeof(as_wait) "
                   "= %zu", lib, sizeof(as_wait));
    }
    targets_close(&tg);
    bloop_fini(&bl);
    free(c);
    res_free(&res);
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    bool have[BK_COUNT];
    int seen = 0;
    bench_parse(argc, argv, &o, "bench_timer",
                "  --only W   lateness or scale (default both)\n"
                "  --count N  lateness: samples per variant in all "
                "(default 2000)\n");
    for (int bk = 0; bk < BK_COUNT; bk++)
        seen += (have[bk] = backend_enabled(&o, bk));
    if (!seen)
        die("no backend to run");
    pin_cpu(0);
    if (!o.only || strcmp(o.only, "lateness") == 0)
        run_lateness(&o, have);
    if (!o.only || strcmp(o.only, "scale") == 0)
        run_scale(&o, have);
    return 0;
}
