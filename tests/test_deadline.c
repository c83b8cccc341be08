/*
 * Conformance: deadlines (*_until), close, blocking waits, over every
 * primitive (tests/prims.h rows) and every loop kind.
 *
 *   - a deadline fires at or after its time, never before, with -ETIMEDOUT
 *     (a condvar's callback with the mutex held again);
 *   - a grant or a cancel before the deadline wins, and the timer does
 *     nothing later;
 *   - many deadlines expire in deadline order (the heap);
 *   - a timed-out semaphore head lets the smaller waiters behind it through;
 *   - close ends every pending wait with -ESHUTDOWN, refuses later ones,
 *     and lets holders give back;
 *   - a plain thread's blocking wait times out at its deadline, is woken by
 *     a loop's release, and queues in arrival order with the loops' waits;
 *   - a grant racing a deadline from another thread: exactly one outcome,
 *     permits conserved;
 *   - as_loop_timeout_ns.
 *
 * Ring loops expire through the timer the library arms on their ring; a
 * notify-driven (or IOCP) loop through the harness waiting at most
 * as_loop_timeout_ns, as an application's loop does.
 */
#include "harness.h"
#include "prims.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

static bool rec_has(void *arg)
{
    th_waiter *tw = arg;
    return atomic_load(&tw->calls) > 0;
}

/* ---- a deadline fires, not before ------------------------------------- */

static void deadline_fires_not_before(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter tw;
        th_waiter_init(&tw, R, L, 1);
        uint64_t d = as_now_ns() + 30 * MS;
        TH_RC(p->ops->wait(p, &tw, d), 0);
        th_run_until_woken(L, rec_has, &tw, TH_TIMEOUT);
        TH_RC(th_rec_status_of(R, 1), -ETIMEDOUT);
        if (tw.cb_ns < d)
            th_fail("%s: callback %llu ns before its deadline", p->ops->name,
                    (unsigned long long)(d - tw.cb_ns));
        th_rec_assert_clean(R);
    }
}

/* ---- a grant or a cancel before the deadline wins --------------------- */

static void deadline_grant_first(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        uint64_t d = as_now_ns() + 60 * MS;
        TH_RC(p->ops->wait(p, &a, d), 0);
        TH_RC(p->ops->grant(p), 0);
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), 0);
        /* past the deadline: the timer finds nothing to do */
        th_quiesce(L, 0.09);
        TH_EQ(th_rec_count(R), 1);
        TH_EQ(as_loop_timeout_ns(&L->loop), -1);
    }
}

static void deadline_cancel_first(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        TH_RC(p->ops->wait(p, &a, as_now_ns() + 60 * MS), 0);
        TH_RC(as_cancel(&a.w), 0);
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), -ECANCELED);
        th_quiesce(L, 0.09);
        TH_EQ(th_rec_count(R), 1);
        /* and the primitive still works: nothing was consumed */
        th_waiter b;
        th_waiter_init(&b, R, L, 2);
        TH_RC(p->ops->wait(p, &b, AS_NO_DEADLINE), 0);
        TH_RC(p->ops->grant(p), 0);
        th_rec_wait(L, R, 2);
        TH_RC(th_rec_status_of(R, 2), 0);
    }
}

/* A wait whose deadline passes while its grant is on its way is granted:
 * the grant came first (one outcome). */
static void deadline_after_grant_decided(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        uint64_t d = as_now_ns() + 5 * MS;
        TH_RC(p->ops->wait(p, &a, d), 0);
        TH_RC(p->ops->grant(p), 0); /* decided; the callback is not run yet */
        while (as_now_ns() < d + MS)
            ;                       /* the deadline passes (no loop run) */
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), 0);
    }
}

/* ---- many deadlines: heap order ---------------------------------------- */

enum { HEAP_N = 48 };

static void deadline_many_in_order(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter *tw = calloc(HEAP_N, sizeof *tw);
        uint64_t dl[HEAP_N];
        uint64_t base = as_now_ns() + 20 * MS;
        srand(7);
        for (int i = 0; i < HEAP_N; i++) {
            th_waiter_init(&tw[i], R, L, i);
            /* 0..40 ms after base, in random order, some equal */
            dl[i] = base + (uint64_t)(rand() % 21) * 2 * MS;
            TH_RC(p->ops->wait(p, &tw[i], dl[i]), 0);
        }
        TH_EQ(as_loop_timeout_ns(&L->loop) > 0, 1);
        th_rec_wait(L, R, HEAP_N);
        for (unsigned k = 0; k < HEAP_N; k++) {
            th_rec_entry e = th_rec_get(R, k);
            TH_RC(e.status, -ETIMEDOUT);
            if (tw[e.id].cb_ns < dl[e.id])
                th_fail("%s: wait %d called back before its deadline", p->ops->name, e.id);
            /* the heap expires the earliest first */
            if (k > 0 && dl[th_rec_get(R, k - 1).id] > dl[e.id])
                th_fail("%s: deadlines expired out of order", p->ops->name);
        }
        TH_EQ(as_loop_timeout_ns(&L->loop), -1);
        th_rec_assert_clean(R);
        free(tw);
    }
}

/* ---- a timed-out semaphore head unblocks smaller waiters behind it ----- */

static void deadline_sem_head_expires(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 2);
    th_waiter big, small;
    th_waiter_init(&big, R, L, 1);
    th_waiter_init(&small, R, L, 2);
    TH_RC(th_armed(&big, as_sem_acquire_until(&s, &L->loop, &big.w, 3, as_now_ns() + 20 * MS,
                                              th_cb, &big),
                   TH_HELD_NONE, NULL, false),
          0);
    TH_RC(th_sem_acquire(&small, &s, 1), 0); /* FIFO: behind the big head */
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 1, 2);
    TH_RC(th_rec_status_of(R, 1), -ETIMEDOUT);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- close --------------------------------------------------------------- */

static void close_ends_waits(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter a, b, c, late;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&b, R, L, 2);
        th_waiter_init(&c, R, L, 3);
        th_waiter_init(&late, R, L, 4);
        TH_RC(p->ops->wait(p, &a, AS_NO_DEADLINE), 0);
        TH_RC(p->ops->wait(p, &b, as_now_ns() + 10000 * MS), 0);
        TH_RC(p->ops->wait(p, &c, AS_NO_DEADLINE), 0);
        TH_RC(p->ops->close(p), 0);
        TH_RC(p->ops->close(p), 0); /* idempotent */
        th_rec_wait(L, R, 3);
        th_rec_assert_ids(R, 1, 2, 3);
        for (int id = 1; id <= 3; id++)
            TH_RC(th_rec_status_of(R, id), -ESHUTDOWN);
        TH_RC(p->ops->wait(p, &late, AS_NO_DEADLINE), -ESHUTDOWN);
        TH_RC(p->ops->blocking(p, AS_NO_DEADLINE), -ESHUTDOWN);
        /* release, unlock, signal, set still work: holders give back */
        TH_RC(p->ops->grant(p), 0);
        TH_EQ(as_loop_timeout_ns(&L->loop), -1);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 3);
        th_rec_assert_clean(R);
    }
}

/* A condvar waiter re-acquiring a closed mutex is still served: its
 * callback needs the mutex; lock waiters of that mutex end. */
static void close_mutex_serves_condvar_waiters(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter cw, lw;
    th_waiter_init(&cw, R, L, 1);
    th_waiter_init(&lw, R, L, 2);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(th_cond_wait(&cw, &c, &m, true), 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_cond_signal(&c), 0); /* cw waits for m */
    TH_RC(th_mutex_lock(&lw, &m, true), 0);
    TH_EQ(as_mutex_waiters(&m), 2);
    TH_RC(as_mutex_close(&m), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 2), -ESHUTDOWN);
    TH_EQ(as_mutex_waiters(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0); /* to cw */
    th_rec_wait(L, R, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_mutex_try_lock(&m), -ESHUTDOWN);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* ---- forget, waiters, broadcast ---------------------------------------- */

static void sem_forget_and_waiters(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 5);
    TH_EQ(as_sem_forget(&s, 3), 3);
    TH_EQ(as_sem_value(&s), 2);
    TH_EQ(as_sem_forget(&s, 10), 2);
    TH_EQ(as_sem_value(&s), 0);
    TH_EQ(as_sem_forget(&s, 1), 0);
    th_waiter a, b, c;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    TH_EQ(as_sem_waiters(&s), 0);
    TH_RC(th_sem_acquire(&a, &s, 2), 0);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(th_sem_acquire(&c, &s, 1), 0);
    TH_EQ(as_sem_waiters(&s), 3);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_EQ(as_sem_forget(&s, 5), 1); /* forgetting grants nobody */
    TH_EQ(as_sem_waiters(&s), 3);
    TH_RC(as_cancel(&b.w), 0);
    TH_EQ(as_sem_waiters(&s), 2);
    TH_RC(as_sem_release(&s, 3), 0);
    th_rec_wait(L, R, 3);
    TH_EQ(as_sem_waiters(&s), 0);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);
    TH_RC(th_rec_status_of(R, 3), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

static void event_broadcast_stores_nothing(void **state)
{
    FIX();
    for (int manual = 0; manual < 2; manual++) {
        as_event e;
        th_event_make(&e, manual ? AS_EVENT_MANUAL_RESET : 0);
        th_rec_reset(R);
        th_waiter w[3], late;
        for (int i = 0; i < 3; i++) {
            th_waiter_init(&w[i], R, L, i + 1);
            TH_RC(th_event_wait(&w[i], &e), 0);
        }
        TH_RC(as_event_broadcast(&e), 0);
        TH_RC(as_event_broadcast(&e), 0); /* nobody waits: nothing stored */
        th_rec_wait(L, R, 3);
        th_rec_assert_ids(R, 1, 2, 3);
        TH_RC(as_event_is_set(&e), 0);
        th_waiter_init(&late, R, L, 4);
        TH_RC(th_event_wait(&late, &e), 0);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 3);
        TH_RC(as_event_set(&e), 0);
        th_rec_wait(L, R, 4);
        TH_RC(as_event_destroy(&e), 0);
    }
}

/* ---- blocking waits ------------------------------------------------------ */

struct blk {
    tp *p;
    uint64_t deadline;
    int rc;
    uint64_t end;
    th_counter *queued;
};

static void *blk_main(void *arg)
{
    struct blk *b = arg;
    b->rc = b->p->ops->blocking(b->p, b->deadline);
    b->end = as_now_ns();
    return NULL;
}

static void blocking_times_out(void **state)
{
    FIX();
    TP_EACH(p) {
        struct blk b = { p, as_now_ns() + 30 * MS, 1, 0, NULL };
        pthread_t t;
        th_thread_start(&t, blk_main, &b);
        th_thread_join(t);
        TH_RC(b.rc, -ETIMEDOUT);
        if (b.end < b.deadline)
            th_fail("%s: blocking wait returned before its deadline", p->ops->name);
    }
}

/* Wait (watchdog) until n waits are queued on the row's primitive. */
static void wait_queued(tp *p, int64_t n)
{
    double dl = th_now() + TH_TIMEOUT;
    while (p->ops->waiters(p) < n) {
        if (th_now() > dl)
            th_fail("%s: the blocking thread never queued", p->ops->name);
        sched_yield();
    }
}

/* A loop task, then a plain thread, then another loop task queue on one
 * primitive: grants serve them in that order (FIFO), the thread and the
 * loop tasks alike. */
static void blocking_fifo_with_loop_waiters(void **state)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter a, c;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&c, R, L, 3);
        TH_RC(p->ops->wait(p, &a, AS_NO_DEADLINE), 0);
        struct blk b = { p, AS_NO_DEADLINE, 1, 0, NULL };
        pthread_t t;
        th_thread_start(&t, blk_main, &b);
        wait_queued(p, 2);
        TH_RC(p->ops->wait(p, &c, AS_NO_DEADLINE), 0);
        TH_RC(p->ops->grant(p), 0); /* to a */
        th_rec_wait(L, R, 1);
        TH_EQ(th_rec_get(R, 0).id, 1);
        if (!p->ops->cb_passes) {
            TH_EQ(th_rec_count(R), 1); /* c waits for the thread's turn */
            TH_RC(p->ops->grant(p), 0); /* to the thread */
        }
        /* else a's callback passed it on to the thread, whose release may
         * already have reached c (run by the same as_loop_run) */
        th_thread_join(t);
        TH_RC(b.rc, 0);
        if (!p->ops->blocking_passes)
            TH_RC(p->ops->grant(p), 0); /* to c */
        th_rec_wait(L, R, 2);
        th_rec_assert_ids(R, 1, 3);
    }
}

static void blocking_woken_by_loop(void **state)
{
    FIX();
    TP_EACH(p) {
        struct blk b = { p, as_now_ns() + 10000 * MS, 1, 0, NULL };
        pthread_t t;
        th_thread_start(&t, blk_main, &b);
        wait_queued(p, 1);
        TH_RC(p->ops->grant(p), 0);
        th_thread_join(t);
        if (b.rc != 0)
            th_fail("%s: the blocked thread got %s", p->ops->name, th_errname(b.rc));
    }
}

/* ---- grant racing a deadline from another thread ------------------------ */

struct racer {
    as_sem *s;
    th_counter *go;
    int rounds;
};

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        if (!th_counter_wait_ge(r->go, i + 1, TH_TIMEOUT))
            th_fail("racer: round %d never started", i);
        /* release around the deadline of the waiter */
        uint64_t until = as_now_ns() + (uint64_t)(i % 7) * 100000u;
        while (as_now_ns() < until)
            ;
        if (as_sem_release(r->s, 1) != 0)
            th_fail("racer release");
    }
    return NULL;
}

static void deadline_races_grant(void **state)
{
    FIX();
    int rounds = th_scaled(300);
    as_sem s;
    th_sem_make(&s, 0);
    th_counter go;
    th_counter_init(&go);
    struct racer r = { &s, &go, rounds };
    pthread_t t;
    th_thread_start(&t, racer_main, &r);
    int got = 0, timed = 0;
    for (int i = 0; i < rounds; i++) {
        th_rec_reset(R);
        th_waiter w;
        th_waiter_init(&w, R, L, 1);
        int rc = th_armed(&w, as_sem_acquire_until(&s, &L->loop, &w.w, 1,
                                                   as_now_ns() + 300000u, th_cb, &w),
                          TH_HELD_NONE, NULL, false);
        th_counter_add(&go, 1);
        if (rc == 1) {
            got++;
            continue;
        }
        /* The deadline (300 us away) may have passed by the call on a
         * loaded machine (TSan, CI): -ETIMEDOUT at once, as documented. */
        if (rc == -ETIMEDOUT) {
            timed++;
            continue;
        }
        TH_RC(rc, 0);
        th_rec_wait(L, R, 1);
        int st = th_rec_status_of(R, 1);
        if (st == 0)
            got++;
        else if (st == -ETIMEDOUT)
            timed++;
        else
            th_fail("status %s", th_errname(st));
    }
    th_thread_join(t);
    /* every release is held by a waiter that got it, or is in the count */
    TH_EQ(got + as_sem_value(&s), rounds);
    TH_EQ(got + timed, rounds);
    th_counter_destroy(&go);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- as_loop_timeout_ns ---------------------------------------------------- */

static void loop_timeout_ns(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    TH_EQ(as_loop_timeout_ns(&L->loop), -1);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_armed(&a, as_sem_acquire_until(&s, &L->loop, &a.w, 1, as_now_ns() + 5000 * MS,
                                            th_cb, &a),
                   TH_HELD_NONE, NULL, false),
          0);
    int64_t t = as_loop_timeout_ns(&L->loop);
    if (t <= 4000 * (int64_t)MS || t > 5000 * (int64_t)MS)
        th_fail("as_loop_timeout_ns = %lld", (long long)t);
    TH_RC(th_armed(&b, as_sem_acquire_until(&s, &L->loop, &b.w, 1, as_now_ns() + 20 * MS,
                                            th_cb, &b),
                   TH_HELD_NONE, NULL, false),
          0);
    TH_EQ(as_loop_timeout_ns(&L->loop) <= 20 * (int64_t)MS, 1);
    uint64_t due = as_now_ns() + 25 * MS;
    while (as_now_ns() < due)
        ;
    TH_EQ(as_loop_timeout_ns(&L->loop), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 2), -ETIMEDOUT);
    TH_EQ(as_loop_timeout_ns(&L->loop) > 20 * (int64_t)MS, 1);
    TH_RC(as_cancel(&a.w), 0);
    th_rec_wait(L, R, 2);
    TH_EQ(as_loop_timeout_ns(&L->loop), -1);
    TH_RC(as_sem_destroy(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(deadline_fires_not_before),
        TH_TEST(deadline_grant_first),
        TH_TEST(deadline_cancel_first),
        TH_TEST(deadline_after_grant_decided),
        TH_TEST(deadline_many_in_order),
        TH_TEST(deadline_sem_head_expires),
        TH_TEST(close_ends_waits),
        TH_TEST(close_mutex_serves_condvar_waiters),
        TH_TEST(sem_forget_and_waiters),
        TH_TEST(event_broadcast_stores_nothing),
        TH_TEST(blocking_times_out),
        TH_TEST(blocking_fifo_with_loop_waiters),
        TH_TEST(blocking_woken_by_loop),
        TH_TEST(deadline_races_grant),
        TH_TEST(loop_timeout_ns),
    };
    return TH_MAIN("deadline", tests);
}
