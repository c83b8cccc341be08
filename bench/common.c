/* Shared helpers for the asyncsync benchmarks: see common.h.
 * SPDX-License-Identifier: MIT */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const char *const bk_name[BK_COUNT] = {"uring", "generic"};

/* ---- errors ---- */

void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_FAILURE);
}

void check(int r, const char *what)
{
    if (r < 0)
        die("%s: %s", what, as_strerror(r));
}

/* ---- options ---- */

static void usage(const char *name, const char *extra)
{
    fprintf(stderr,
            "usage: %s [--smoke] [--reps N] [--ms N] [--out DIR]\n"
            "          [--backend uring|generic|both] [--only NAME] [--count N]\n"
            "  --smoke    one very short repetition (for CI: judges nothing)\n"
            "  --reps N   repetitions, medians reported (default 5)\n"
            "  --ms N     base measurement window, ms (default depends on the program)\n"
            "  --out DIR  write <DIR>/<name>.csv, .md and targets_<name>.{csv,md}\n"
            "  --backend  which asyncsync backends to run (default both;\n"
            "             ASYNCSYNC_BACKEND, when set, selects one)\n"
            "  --rings F  the loops' io_uring setup flags: plain (default),\n"
            "             coop (COOP_TASKRUN|TASKRUN_FLAG) or defer\n"
            "             (SINGLE_ISSUER|DEFER_TASKRUN)\n"
            "%s",
            name, extra ? extra : "");
    exit(2);
}

unsigned bench_ring_flags;

void bench_parse(int argc, char **argv, struct bench_opts *o, const char *name,
                 const char *extra)
{
    const char *env = getenv("ASYNCSYNC_BACKEND");
    memset(o, 0, sizeof *o);
    o->reps = 5;
    o->ms = 0; /* program default */
    o->out = "";
    o->backend[BK_URING] = o->backend[BK_GENERIC] = true;
    if (env && strcmp(env, "uring") == 0)
        o->backend[BK_GENERIC] = false;
    else if (env && strcmp(env, "generic") == 0)
        o->backend[BK_URING] = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--smoke") == 0) {
            o->smoke = true;
        } else if (strcmp(a, "--reps") == 0 && v) {
            o->reps = atoi(v), i++;
        } else if (strcmp(a, "--ms") == 0 && v) {
            o->ms = atof(v), i++;
        } else if (strcmp(a, "--out") == 0 && v) {
            o->out = v, i++;
        } else if (strcmp(a, "--only") == 0 && v) {
            o->only = v, i++;
        } else if (strcmp(a, "--count") == 0 && v) {
            o->count = atol(v), i++;
        } else if (strcmp(a, "--rings") == 0 && v) {
            if (strcmp(v, "plain") == 0)
                bench_ring_flags = 0;
            else if (strcmp(v, "coop") == 0)
                bench_ring_flags =
                    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
            else if (strcmp(v, "defer") == 0)
                bench_ring_flags =
                    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
            else
                usage(name, extra);
            i++;
        } else if (strcmp(a, "--backend") == 0 && v) {
            bool u = strcmp(v, "uring") == 0 || strcmp(v, "both") == 0;
            bool g = strcmp(v, "generic") == 0 || strcmp(v, "both") == 0;
            if (!u && !g)
                usage(name, extra);
            o->backend[BK_URING] = u;
            o->backend[BK_GENERIC] = g;
            i++;
        } else {
            usage(name, extra);
        }
    }
    if (o->smoke)
        o->reps = 1;
    if (o->reps < 1 || o->reps > MAX_REPS)
        die("--reps must be 1..%d", MAX_REPS);
    if (o->ms < 0)
        die("--ms must be positive");
    /* The benchmarks choose backends per loop (disabled_caps); the variable
     * would override that choice, so it has been turned into the selection
     * above and is dropped from here on. */
    unsetenv("ASYNCSYNC_BACKEND");
}

bool backend_enabled(const struct bench_opts *o, int bk)
{
    if (!o->backend[bk])
        return false;
    if (bk == BK_URING && !kernel_has_uring_futex()) {
        static bool said;
        if (!said)
            fprintf(stderr, "bench: this kernel lacks IORING_OP_FUTEX_WAIT "
                            "(Linux 6.7+): uring backend skipped\n");
        said = true;
        return false;
    }
    return true;
}

/* ---- clocks and process facts ---- */

long ctx_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

void sleep_ms(double ms)
{
    struct timespec ts;
    uint64_t ns = (uint64_t)(ms * 1e6);
    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void window_start(struct window *w, int n, void *(*fn)(void *), void *args,
                  size_t stride)
{
    if (n > WINDOW_MAX_THREADS)
        die("window: %d threads (at most %d)", n, WINDOW_MAX_THREADS);
    atomic_store(&w->ready, 0);
    atomic_store(&w->go, 0);
    atomic_store(&w->stop, 0);
    w->n = n;
    for (int i = 0; i < n; i++)
        if (pthread_create(&w->th[i], NULL, fn, (char *)args + (size_t)i * stride) != 0)
            die("pthread_create");
}

void window_enter(struct window *w)
{
    atomic_fetch_add(&w->ready, 1);
    while (!atomic_load_explicit(&w->go, memory_order_acquire))
        sched_yield(); /* before the window: leave the CPU to the others */
}

struct window_span window_time(struct window *w, double ms)
{
    struct window_span sp;
    uint64_t t0, c0;
    long s0;
    while (atomic_load(&w->ready) < w->n)
        sched_yield();
    s0 = ctx_switches();
    c0 = cpu_ns();
    t0 = now_ns();
    atomic_store_explicit(&w->go, 1, memory_order_release);
    sleep_ms(ms); /* times the window; the workers need nothing from us */
    atomic_store_explicit(&w->stop, 1, memory_order_relaxed);
    sp.wall_ns = now_ns() - t0;
    sp.cpu_ns = cpu_ns() - c0;
    sp.csw = ctx_switches() - s0;
    return sp;
}

void window_join(struct window *w)
{
    for (int i = 0; i < w->n; i++)
        pthread_join(w->th[i], NULL);
}

int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % online_cpus(), &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* ---- statistics ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void sort_u64(uint64_t *v, size_t n) { qsort(v, n, sizeof *v, cmp_u64); }

uint64_t pct_u64(const uint64_t *sorted, size_t n, double p)
{
    size_t rank;
    if (n == 0)
        return 0;
    /* nearest rank: the smallest value with at least p of the samples at or
     * below it */
    rank = (size_t)ceil(p * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

double median_d(const double *v, int n)
{
    double tmp[MAX_REPS];
    if (n <= 0)
        return NAN;
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_d);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static struct res_entry *res_find(const struct results *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->e[i].key, key) == 0)
            return &r->e[i];
    return NULL;
}

void res_add(struct results *r, double value, const char *fmt, ...)
{
    char key[96];
    struct res_entry *e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    e = res_find(r, key);
    if (!e) {
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 64;
            r->e = realloc(r->e, (size_t)r->cap * sizeof *r->e);
            if (!r->e)
                die("out of memory");
        }
        e = &r->e[r->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    if (e->n < MAX_REPS)
        e->v[e->n++] = value;
}

#define RES_KEY(fmt)                        \
    char key[96];                           \
    va_list ap;                             \
    va_start(ap, fmt);                      \
    vsnprintf(key, sizeof key, fmt, ap);    \
    va_end(ap);                             \
    const struct res_entry *e = res_find(r, key)

double res_median(const struct results *r, const char *fmt, ...)
{
    RES_KEY(fmt);
    return e ? median_d(e->v, e->n) : NAN;
}

double res_min(const struct results *r, const char *fmt, ...)
{
    RES_KEY(fmt);
    double m = NAN;
    for (int i = 0; e && i < e->n; i++)
        if (isnan(m) || e->v[i] < m)
            m = e->v[i];
    return m;
}

double res_max(const struct results *r, const char *fmt, ...)
{
    RES_KEY(fmt);
    double m = NAN;
    for (int i = 0; e && i < e->n; i++)
        if (isnan(m) || e->v[i] > m)
            m = e->v[i];
    return m;
}

int res_count(const struct results *r, const char *fmt, ...)
{
    RES_KEY(fmt);
    return e ? e->n : 0;
}

const double *res_values(const struct results *r, int *n, const char *fmt, ...)
{
    RES_KEY(fmt);
    *n = e ? e->n : 0;
    return e ? e->v : NULL;
}

void res_free(struct results *r)
{
    free(r->e);
    memset(r, 0, sizeof *r);
}

/* ---- the machine's state ---- */

#define MS_BATCH 32             /* round trips per timed batch */
#define MS_GIVE_UP_NS 50000000u /* a round trip stuck this long past the end */

/* Median of v[0..n-1], sorting v; NAN when n = 0. */
static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sleep until `t` (a start time shared by the threads of one measurement,
 * on now_ns()'s clock): they start together, woken by a timer. */
static void sleep_until(uint64_t t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(t / 1000000000u);
    ts.tv_nsec = (long)(t % 1000000000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Shared by the two measuring threads (one per CPU). */
struct mstate {
    _Alignas(64) _Atomic uint64_t word; /* the cache line that travels */
    _Alignas(64) _Atomic int stop;
    uint64_t spin_t0, spin_end;         /* progress window */
    uint64_t pp_t0, pp_ns, pp_end;      /* ping-pong: start, length, end */
    struct {
        uint64_t chunks; /* work done in the progress window */
        uint64_t best;   /* shortest chunk (and clock read), ns */
        int ran_on;      /* sched_getcpu() at the end */
        uint64_t sink;
    } __attribute__((aligned(64))) th[2];
    double *batch;                      /* ping: ns per round trip, per batch */
    size_t nbatch, cap;
    uint64_t rts, elapsed;
};

/* A chunk of work: a dependent chain of multiply-adds (~1 us). */
static uint64_t spin_chunk(uint64_t x)
{
    for (int i = 0; i < 512; i++)
        x = x * 6364136223846793005u + 1442695040888963407u;
    return x;
}

/* Progress: spin in chunks until the end of the window.  A chunk that ran
 * without interruption measures full speed; one that was descheduled takes
 * longer. */
static void spin_window(struct mstate *p, int i)
{
    uint64_t x = (uint64_t)i + 1, t, prev;
    sleep_until(p->spin_t0);
    prev = now_ns();
    while ((t = now_ns()) < p->spin_end) {
        if (p->th[i].chunks && t - prev < p->th[i].best)
            p->th[i].best = t - prev;
        prev = t;
        x = spin_chunk(x);
        p->th[i].chunks++;
    }
    p->th[i].sink = x;
}

/* Ping-pong, CPU 1: answers every odd value with the next even one. */
static void pong(struct mstate *p)
{
    uint64_t want = 1;
    sleep_until(p->pp_t0);
    for (;;) {
        while (atomic_load_explicit(&p->word, memory_order_acquire) != want)
            if (atomic_load_explicit(&p->stop, memory_order_relaxed))
                return;
        atomic_store_explicit(&p->word, want + 1, memory_order_release);
        want += 2;
    }
}

/* Ping-pong, CPU 0: sends odd values and times the answers, in batches. */
static void ping(struct mstate *p)
{
    uint64_t k = 0, t, b0, start;
    sleep_until(p->pp_t0);
    /* the window starts when this thread does: a round trip is timed while
     * at least one of the two runs */
    start = b0 = t = now_ns();
    p->pp_end = start + p->pp_ns;
    while (t < p->pp_end && p->nbatch < p->cap) {
        for (int i = 0; i < MS_BATCH; i++, k++) {
            unsigned spins = 0;
            atomic_store_explicit(&p->word, 2 * k + 1, memory_order_release);
            while (atomic_load_explicit(&p->word, memory_order_acquire) !=
                   2 * k + 2)
                if ((++spins & 0xfffu) == 0 &&
                    now_ns() > p->pp_end + MS_GIVE_UP_NS)
                    goto out; /* the other thread never came back */
        }
        t = now_ns();
        p->batch[p->nbatch++] = (double)(t - b0) / MS_BATCH;
        b0 = t;
    }
out:
    p->rts = k;
    p->elapsed = now_ns() - start;
    atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
}

static struct mstate *ms_shared;

static void *measurer_main(void *arg)
{
    struct mstate *p = ms_shared;
    int i = (int)(intptr_t)arg;
    pin_cpu(i);
    spin_window(p, i);
    if (i == 0)
        ping(p);
    else
        pong(p);
    p->th[i].ran_on = sched_getcpu();
    return NULL;
}

/* Cumulative (total, steal) jiffies of all CPUs, from /proc/stat. */
static bool cpu_steal(uint64_t *total, uint64_t *steal)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int n;
    if (!f)
        return false;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return false;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *steal = v[7];
    return true;
}

void machine_measure(struct machine_state *m, bool smoke)
{
    struct mstate *p;
    pthread_t th[2];
    uint64_t tot0 = 0, st0 = 0, tot1 = 0, st1 = 0;
    bool have_steal;
    double pp_ms = smoke ? 10 : 100;
    FILE *f;

    memset(m, 0, sizeof *m);
    m->cpus = online_cpus();
    m->window_ms = smoke ? 20 : 200;
    m->load1 = NAN;
    m->runnable = -1;
    if ((f = fopen("/proc/loadavg", "r")) != NULL) {
        if (fscanf(f, "%lf %*f %*f %d/", &m->load1, &m->runnable) != 2)
            m->runnable = -1;
        fclose(f);
    }
    have_steal = cpu_steal(&tot0, &st0);

    p = aligned_alloc(64, (sizeof *p + 63) & ~(size_t)63);
    if (!p)
        die("out of memory");
    memset(p, 0, sizeof *p);
    p->cap = (size_t)(pp_ms * 1e6 / MS_BATCH / 20) + 16; /* >= 20 ns a trip */
    p->batch = malloc(p->cap * sizeof *p->batch);
    if (!p->batch)
        die("out of memory");
    p->th[0].best = p->th[1].best = UINT64_MAX;
    /* both threads start each window together, woken by a timer; a thread
     * that is late for the ping-pong starts it late (and that shows) */
    p->spin_t0 = now_ns() + 2000000u;
    p->spin_end = p->spin_t0 + (uint64_t)(m->window_ms * 1e6);
    p->pp_t0 = p->spin_end + 1000000u;
    p->pp_ns = (uint64_t)(pp_ms * 1e6);
    ms_shared = p;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&th[i], NULL, measurer_main, (void *)(intptr_t)i) != 0)
            die("pthread_create");
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);

    for (int i = 0; i < 2; i++) {
        uint64_t full = p->th[0].best < p->th[1].best ? p->th[0].best
                                                      : p->th[1].best;
        /* chunks done / chunks full speed would have done in the window */
        m->progress[i] = p->th[i].chunks == 0 ? 0
                         : full == UINT64_MAX
                             ? NAN
                             : (double)p->th[i].chunks * (double)full /
                                   (m->window_ms * 1e6);
        m->cpu[i] = p->th[i].ran_on;
    }
    m->rt_median_ns = median_of(p->batch, p->nbatch);
    m->rt_best_ns = p->nbatch ? p->batch[0] : NAN; /* sorted by median_of */
    /* none completed: the time waited is a lower bound of the round trip */
    m->rt_mean_ns = (double)p->elapsed / (double)(p->rts ? p->rts : 1);
    m->rt_count = p->rts;
    free(p->batch);
    free(p);

    m->steal_pct = NAN;
    if (have_steal && cpu_steal(&tot1, &st1) && tot1 > tot0)
        m->steal_pct = 100.0 * (double)(st1 - st0) / (double)(tot1 - tot0);
    m->parallel = m->cpus >= 2 && m->cpu[0] != m->cpu[1] &&
                  m->progress[0] >= MACHINE_PARALLEL &&
                  m->progress[1] >= MACHINE_PARALLEL;
}

const char *machine_verdict(const struct machine_state *m)
{
    return m->parallel ? "parallel" : "time-shared";
}

const char *machine_describe(const struct machine_state *m, char *buf,
                             size_t n)
{
    char a[32], b[32], c[32], st[32] = "?", rt[160];
    if (!isnan(m->steal_pct))
        snprintf(st, sizeof st, "%.1f%%", m->steal_pct);
    if (m->rt_count == 0)
        snprintf(rt, sizeof rt, "none completed in %s",
                 fmt_ns(a, sizeof a, m->rt_mean_ns));
    else if (isnan(m->rt_median_ns))
        snprintf(rt, sizeof rt, "mean %s (%llu round trips, no whole batch)",
                 fmt_ns(c, sizeof c, m->rt_mean_ns),
                 (unsigned long long)m->rt_count);
    else
        snprintf(rt, sizeof rt, "median %s (best %s, mean %s)",
                 fmt_ns(a, sizeof a, m->rt_median_ns),
                 fmt_ns(b, sizeof b, m->rt_best_ns),
                 fmt_ns(c, sizeof c, m->rt_mean_ns));
    snprintf(buf, n,
             "2 threads spinning %.0f ms on CPUs %d and %d made %.2f and "
             "%.2f of full speed; cache-line round trip CPU %d <-> %d: %s; "
             "steal %s; load %.2f, %d runnable, %d CPUs",
             m->window_ms, m->cpu[0], m->cpu[1],
             m->progress[0], m->progress[1], m->cpu[0], m->cpu[1], rt, st,
             m->load1, m->runnable, m->cpus);
    return buf;
}

void machine_csv_header(FILE *f)
{
    fprintf(f, "when,verdict,cpus,cpu_a,cpu_b,window_ms,progress_a,progress_b,"
               "rt_median_ns,rt_best_ns,rt_mean_ns,rt_count,steal_pct,load1,"
               "runnable\n");
}

void machine_csv_row(FILE *f, const char *when, const struct machine_state *m)
{
    fprintf(f, "%s,%s,%d,%d,%d,%.0f,%.3f,%.3f,%.1f,%.1f,%.1f,%llu,%.2f,%.2f,%d\n",
            when, machine_verdict(m), m->cpus, m->cpu[0], m->cpu[1],
            m->window_ms, m->progress[0], m->progress[1], m->rt_median_ns,
            m->rt_best_ns, m->rt_mean_ns, (unsigned long long)m->rt_count,
            m->steal_pct, m->load1, m->runnable);
}

/* ---- output ---- */

FILE *out_open(const struct bench_opts *o, const char *file)
{
    char path[4096];
    FILE *f;
    if (!o->out || !*o->out)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", o->out, file);
    f = fopen(path, "w");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    return f;
}

void report_open(struct report *rp, const struct bench_opts *o,
                 const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "%s.md", name);
    rp->md = out_open(o, file);
}

void rprintf(struct report *rp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (rp->md) {
        va_start(ap, fmt);
        vfprintf(rp->md, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

void report_close(struct report *rp)
{
    if (rp->md)
        fclose(rp->md);
    rp->md = NULL;
}

void targets_open(struct targets *t, const struct bench_opts *o,
                  const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "targets_%s.csv", name);
    t->csv = out_open(o, file);
    snprintf(file, sizeof file, "targets_%s.md", name);
    t->md = out_open(o, file);
    t->smoke = o->smoke;
    if (t->csv)
        fprintf(t->csv, "id,target,measured,met\n");
}

/* CSV field: quoted, inner quotes doubled. */
static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void target_row(struct targets *t, const char *id, const char *target,
                int met, const char *measured_fmt, ...)
{
    char measured[512];
    const char *m;
    va_list ap;
    va_start(ap, measured_fmt);
    vsnprintf(measured, sizeof measured, measured_fmt, ap);
    va_end(ap);
    if (t->smoke)
        met = -1;
    m = met > 0 ? "yes" : met == 0 ? "**no**" : "n/a";
    printf("target %s: %s -> %s [%s]\n", id, target, measured, m);
    if (t->csv) {
        fprintf(t->csv, "%s,", id);
        csv_field(t->csv, target);
        fputc(',', t->csv);
        csv_field(t->csv, measured);
        fprintf(t->csv, ",%s\n", met > 0 ? "yes" : met == 0 ? "no" : "n/a");
    }
    if (t->md)
        fprintf(t->md, "| %s | %s | %s | %s |\n", id, target, measured, m);
}

void targets_close(struct targets *t)
{
    if (t->csv)
        fclose(t->csv);
    if (t->md)
        fclose(t->md);
    t->csv = t->md = NULL;
}

const char *fmt_rate(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (v >= 1e9)
        snprintf(buf, n, "%.2f G/s", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, n, "%.2f M/s", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%.1f k/s", v / 1e3);
    else
        snprintf(buf, n, "%.0f /s", v);
    return buf;
}

const char *fmt_rate_range(char *buf, size_t n, double lo, double hi)
{
    if (isnan(lo) || isnan(hi))
        snprintf(buf, n, "-");
    else if (hi >= 1e9)
        snprintf(buf, n, "%.2f-%.2f G/s", lo / 1e9, hi / 1e9);
    else if (hi >= 1e6)
        snprintf(buf, n, "%.2f-%.2f M/s", lo / 1e6, hi / 1e6);
    else if (hi >= 1e3)
        snprintf(buf, n, "%.1f-%.1f k/s", lo / 1e3, hi / 1e3);
    else
        snprintf(buf, n, "%.0f-%.0f /s", lo, hi);
    return buf;
}

const char *fmt_ns(char *buf, size_t n, double ns)
{
    if (isnan(ns))
        snprintf(buf, n, "-");
    else if (ns >= 1e6)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else if (ns >= 1e4)
        snprintf(buf, n, "%.1f us", ns / 1e3);
    else if (ns >= 1e3)
        snprintf(buf, n, "%.2f us", ns / 1e3);
    else
        snprintf(buf, n, "%.1f ns", ns);
    return buf;
}

/* ---- loop ---- */

bool kernel_has_uring_futex(void)
{
    static int cached = -1;
    if (cached < 0) {
        struct io_uring ring;
        cached = 0;
        if (io_uring_queue_init(4, &ring, 0) == 0) {
            struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
            if (p) {
                cached = io_uring_opcode_supported(p, BENCH_IORING_OP_FUTEX_WAIT) &&
                         io_uring_opcode_supported(p, BENCH_IORING_OP_FUTEX_WAKE);
                io_uring_free_probe(p);
            }
            io_uring_queue_exit(&ring);
        }
    }
    return cached == 1;
}

int bloop_init(struct bloop *b, int backend)
{
    return bloop_init_flags(b, backend, 0);
}

int bloop_init_flags(struct bloop *b, int backend, uint32_t flags)
{
    as_loop_options opts = {flags, 0};
    int r;
    memset(b, 0, sizeof *b);
    b->backend = backend;
    r = io_uring_queue_init(256, &b->ring, bench_ring_flags);
    if (r < 0)
        die("io_uring_queue_init: %s", strerror(-r));
    if (backend == BK_GENERIC)
        opts.disabled_caps = AS_CAP_FUTEX_WAIT;
    r = as_loop_init_uring(&b->loop, &b->ring, &opts);
    if (r < 0)
        die("as_loop_init_uring(%s): %s", bk_name[backend], as_strerror(r));
    if (strcmp(as_loop_backend(&b->loop), bk_name[backend]) != 0)
        die("asked for backend %s, got %s", bk_name[backend],
            as_loop_backend(&b->loop));
    return 0;
}

unsigned bloop_poll(struct bloop *b, bool block)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    int r;
    do {
        r = block ? io_uring_submit_and_wait(&b->ring, 1)
                  : io_uring_submit(&b->ring);
    } while (r == -EINTR);
    if (r < 0 && r != -EBUSY && r != -EAGAIN)
        die("io_uring_submit: %s", strerror(-r));
    io_uring_for_each_cqe(&b->ring, head, cqe) {
        if (!as_loop_handle_cqe(&b->loop, cqe)) {
            if (!b->on_cqe)
                die("unexpected CQE (user_data %llu, res %d)",
                    (unsigned long long)cqe->user_data, cqe->res);
            b->on_cqe(b, cqe);
        }
        n++;
    }
    io_uring_cq_advance(&b->ring, n);
    return n;
}

void bloop_fini(struct bloop *b)
{
    int r;
    while ((r = as_loop_destroy(&b->loop)) == -EAGAIN)
        bloop_poll(b, true);
    check(r, "as_loop_destroy");
    io_uring_queue_exit(&b->ring);
}

struct io_uring_sqe *bloop_sqe(struct bloop *b)
{
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&b->ring)) == NULL)
        io_uring_submit(&b->ring);
    return sqe;
}

#define FUTEX2_SIZE_U32 0x02u
#define FUTEX_BITSET_ANY 0xffffffffu

static void prep_futex(struct io_uring_sqe *sqe, int op, uint32_t *word,
                       uint64_t val)
{
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = (uint8_t)op;
    sqe->fd = (int32_t)FUTEX2_SIZE_U32;
    sqe->addr = (uint64_t)(uintptr_t)word;
    sqe->off = val;
    sqe->addr3 = FUTEX_BITSET_ANY;
}

void prep_futex_wait(struct io_uring_sqe *sqe, uint32_t *word, uint32_t expected)
{
    prep_futex(sqe, BENCH_IORING_OP_FUTEX_WAIT, word, expected);
}

void prep_futex_wake(struct io_uring_sqe *sqe, uint32_t *word, uint32_t n)
{
    prep_futex(sqe, BENCH_IORING_OP_FUTEX_WAKE, word, n);
}
