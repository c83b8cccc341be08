/*
 * Conformance: counters and waiter dumps (observability).
 *
 *   - a scripted scenario on a semaphore: the counters say exactly what
 *     happened (acquired, contended, hand-offs to another thread,
 *     cancelled, timed out, shut down, waiters, max waiters), and the
 *     loop's counters the callbacks it ran and how it was woken;
 *   - the same for every primitive row (tests/prims.h): a wait that queues,
 *     a grant, a cancel;
 *   - a dump lists exactly the queued waits, oldest first, with their data,
 *     loop and request, while another thread releases (every snapshot is a
 *     suffix of the arrival order, and its length matches).
 */
#include "harness.h"
#include "prims.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

static as_counters stats_of(as_sem *s)
{
    as_counters c;
    TH_RC(as_sem_stats(s, &c), 0);
    return c;
}

static void stats_sem_scripted(void **state)
{
    FIX();
    as_sem s;
    /* strict: the plain thread's release below hands d its permits (the
     * default policy would wake d to take them: not a hand-off) */
    TH_RC(as_sem_init(&s, 2, AS_SEM_STRICT_FIFO), 0);
    as_loop_counters l0, l1;
    TH_RC(as_loop_stats(&L->loop, &l0), 0);
    TH_RC(as_sem_try_acquire(&s, 1), 1);
    th_waiter a, b, c, d, e;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    th_waiter_init(&d, R, L, 4);
    th_waiter_init(&e, R, L, 5);
    TH_RC(th_sem_acquire(&a, &s, 1), 1);                       /* at once */
    TH_RC(th_sem_acquire(&b, &s, 1), 0);                       /* queues */
    TH_RC(th_armed(&c, as_sem_acquire_until(&s, &L->loop, &c.w, 1, as_now_ns() + 10 * MS,
                                            th_cb, &c),
                   TH_HELD_NONE, NULL, false),
          0);
    TH_RC(th_sem_acquire(&d, &s, 2), 0);
    TH_RC(th_sem_acquire(&e, &s, 1), 0);
    as_counters k = stats_of(&s);
    TH_EQ(k.acquired, 2);
    TH_EQ(k.contended, 4);
    TH_EQ(k.waiters, 4);
    TH_EQ(k.max_waiters, 4);
    TH_RC(as_cancel(&b.w), 0);
    th_rec_wait_woken(L, R, 2); /* b cancelled, c timed out */
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);
    TH_RC(th_rec_status_of(R, 3), -ETIMEDOUT);
    /* a plain thread releases 2: d (2 permits) is handed them */
    th_release ra = { &s, 2, 1 };
    pthread_t t;
    th_thread_start(&t, th_release_thread, &ra);
    th_thread_join(t);
    TH_RC(ra.rc, 0);
    th_rec_wait_woken(L, R, 3);
    TH_RC(as_sem_close(&s), 0); /* e ends */
    th_rec_wait(L, R, 4);
    TH_RC(th_rec_status_of(R, 5), -ESHUTDOWN);
    k = stats_of(&s);
    TH_EQ(k.acquired, 3);
    TH_EQ(k.contended, 4);
    TH_EQ(k.handoffs, 1);
    TH_EQ(k.cancelled, 1);
    TH_EQ(k.timed_out, 1);
    TH_EQ(k.shut_down, 1);
    TH_EQ(k.waiters, 0);
    TH_EQ(k.max_waiters, 4);
    TH_RC(as_loop_stats(&L->loop, &l1), 0);
    TH_EQ(l1.callbacks - l0.callbacks, 4);
    TH_EQ(l1.timeouts - l0.timeouts, 1);
    TH_EQ(l1.remote - l0.remote >= 1, 1); /* d came through the inbox */
    TH_EQ((l1.local - l0.local) + (l1.remote - l0.remote), 4);
    TH_RC(as_sem_stats(NULL, &k), -EINVAL);
    TH_RC(as_sem_stats(&s, NULL), -EINVAL);
    TH_RC(as_loop_stats(NULL, &l1), -EINVAL);
    TH_RC(as_sem_destroy(&s), 0);
}

static int row_stats(tp *p, as_counters *k)
{
    const char *n = p->ops->name;
    if (!strncmp(n, "sem", 3))
        return as_sem_stats(&p->s, k);
    if (!strncmp(n, "mutex", 5))
        return as_mutex_stats(&p->m, k);
    if (!strcmp(n, "cond"))
        return as_cond_stats(&p->c, k);
    if (!strncmp(n, "rwlock", 6))
        return as_rwlock_stats(&p->rw, k);
    return as_event_stats(&p->e, k);
}

/* Granting from a plain thread (a th_thread_start body). */
struct grant_arg {
    tp *p;
    int rc;
};

static void *grant_main(void *arg)
{
    struct grant_arg *g = arg;
    g->rc = g->p->ops->grant(g->p);
    return NULL;
}

/* Every row: two waits queue; one is granted, the other cancelled; the
 * counters see one cancel and the grant.
 *   local: the second is cancelled while queued, the test's thread grants
 *          the first;
 *   remote: a plain thread grants; in the default policies the first is
 *          woken to take its grant on its own loop (RESUME) and is
 *          cancelled on its way, in the strict ones it is handed the grant
 *          and cancelled before its callback; either way the grant reaches
 *          the second.  A woken wait's outcome is decided on arrival:
 *          as__q_decide counts it (and fires the done probe). */
static void stats_every_primitive(void **state)
{
    FIX();
    for (int remote = 0; remote <= 1; remote++) {
        TP_EACH(p) {
            th_rec_reset(R);
            as_counters k0, k1;
            TH_RC(row_stats(p, &k0), 0);
            th_waiter a, b;
            th_waiter_init(&a, R, L, 1);
            th_waiter_init(&b, R, L, 2);
            TH_RC(p->ops->wait(p, &a, AS_NO_DEADLINE), 0);
            TH_RC(p->ops->wait(p, &b, AS_NO_DEADLINE), 0);
            if (remote) {
                struct grant_arg g = { p, -1 };
                pthread_t t;
                th_thread_start(&t, grant_main, &g);
                th_thread_join(t);
                TH_RC(g.rc, 0);
                TH_RC(as_cancel(&a.w), 0);
            } else {
                TH_RC(as_cancel(&b.w), 0);
                TH_RC(p->ops->grant(p), 0);
            }
            th_rec_wait(L, R, 2);
            TH_RC(th_rec_status_of(R, 1), remote ? -ECANCELED : 0);
            TH_RC(th_rec_status_of(R, 2), remote ? 0 : -ECANCELED);
            TH_RC(row_stats(p, &k1), 0);
            TH_EQ(k1.contended - k0.contended, 2);
            TH_EQ(k1.cancelled - k0.cancelled, 1);
            TH_EQ(k1.acquired - k0.acquired >= 1, 1);
            TH_EQ(k1.waiters, 0);
            TH_EQ(k1.max_waiters >= 2, 1);
        }
    }
}

/* ---- dumps ------------------------------------------------------------------ */

enum { DUMP_N = 64 };

struct drainer {
    as_sem *s;
    th_counter *go;
    atomic_int done;
};

static void *drain_main(void *arg)
{
    struct drainer *d = arg;
    if (!th_counter_wait_ge(d->go, 1, TH_TIMEOUT))
        th_fail("drainer never started");
    for (int i = 0; i < DUMP_N; i++)
        if (as_sem_release(d->s, 1) != 0)
            th_fail("release");
    atomic_store(&d->done, 1);
    return NULL;
}

static uint32_t want_of(int i) { return 1u + (i % 3 == 0); }

static void dump_while_releasing(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter *w = calloc(DUMP_N, sizeof *w);
    for (int i = 0; i < DUMP_N; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_sem_acquire(&w[i], &s, want_of(i)), 0);
    }
    as_waiter_info info[DUMP_N];
    TH_EQ(as_sem_dump(&s, info, DUMP_N), DUMP_N);
    for (int i = 0; i < DUMP_N; i++) {
        TH_EQ(info[i].wait == &w[i].w, 1);
        TH_EQ(info[i].loop == &L->loop, 1);
        TH_EQ(info[i].n, want_of(i));
        TH_EQ(info[i].blocking, 0);
        TH_EQ(strcmp(info[i].kind, "sem"), 0);
        TH_EQ(info[i].deadline_ns, AS_NO_DEADLINE);
    }
    TH_EQ(as_sem_dump(&s, info, 3), DUMP_N); /* a short array: the count */
    TH_EQ(as_sem_dump(&s, NULL, 0), DUMP_N);
    TH_EQ(as_sem_dump(&s, NULL, 1), -EINVAL);
    /* Another thread releases while this one dumps: each snapshot is the
     * tail of the arrival order (FIFO). */
    th_counter go;
    th_counter_init(&go);
    struct drainer d = { &s, &go, 0 };
    pthread_t t;
    th_thread_start(&t, drain_main, &d);
    th_counter_add(&go, 1);
    int snapshots = 0, last;
    do {
        last = atomic_load(&d.done);
        int64_t n = as_sem_dump(&s, info, DUMP_N);
        TH_EQ(n >= 0 && n <= DUMP_N, 1);
        int first = DUMP_N - (int)n;
        for (int64_t i = 0; i < n; i++)
            if (info[i].wait != &w[first + i].w)
                th_fail("snapshot %d: entry %lld is not the queue's tail", snapshots,
                        (long long)i);
        snapshots++;
    } while (!last);
    th_thread_join(t);
    /* 64 permits served the waiters in order while they fitted */
    unsigned served = 0, permits = DUMP_N;
    while (served < DUMP_N && want_of((int)served) <= permits)
        permits -= want_of((int)served++);
    th_rec_wait(L, R, served);
    TH_EQ(as_sem_waiters(&s), DUMP_N - (int)served);
    for (int i = (int)served; i < DUMP_N; i++)
        TH_RC(as_cancel(&w[i].w), 0);
    th_rec_wait(L, R, DUMP_N);
    th_counter_destroy(&go);
    free(w);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A blocked thread shows up in a dump as blocking. */
struct blk1 {
    as_mutex *m;
    int rc;
};

static void *blk1_main(void *arg)
{
    struct blk1 *b = arg;
    b->rc = as_mutex_lock_blocking(b->m, AS_NO_DEADLINE);
    if (b->rc == 0)
        as_mutex_unlock(b->m);
    return NULL;
}

static void dump_shows_blocked_thread(void **state)
{
    FIX();
    as_mutex m;
    th_mutex_make(&m, 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    struct blk1 b = { &m, 1 };
    pthread_t t;
    th_thread_start(&t, blk1_main, &b);
    as_waiter_info info[2];
    double dl = th_now() + TH_TIMEOUT;
    while (as_mutex_dump(&m, info, 2) < 1) {
        if (th_now() > dl)
            th_fail("the thread never queued");
        sched_yield();
    }
    TH_EQ(info[0].blocking, 1);
    TH_EQ(strcmp(info[0].kind, "mutex"), 0);
    TH_RC(as_mutex_unlock(&m), 0);
    th_thread_join(t);
    TH_RC(b.rc, 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(stats_sem_scripted),
        TH_TEST(stats_every_primitive),
        TH_TEST(dump_while_releasing),
        TH_TEST(dump_shows_blocked_thread),
    };
    return TH_MAIN("stats", tests);
}
