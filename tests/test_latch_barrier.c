/*
 * Conformance: latch (count-down latch / wait group) and barrier, on every
 * loop kind: waits released together at 0, re-arming with add, a
 * generation's leader, parties that leave stop counting, deadlines, close,
 * blocking threads, AS_LOOP_ALWAYS_CALLBACK.
 */
#include "harness.h"

#include <string.h>

#define MS 1000000ull

static int latch_wait(th_waiter *tw, as_latch *l, uint64_t d)
{
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_latch_wait_async(l, &tw->L->loop, &tw->w, th_cb, tw)
                        : as_latch_wait_until(l, &tw->L->loop, &tw->w, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}

static int barrier_wait(th_waiter *tw, as_barrier *b, uint64_t d)
{
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_barrier_wait_async(b, &tw->L->loop, &tw->w, th_cb, tw)
                        : as_barrier_wait_until(b, &tw->L->loop, &tw->w, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}

/* ---- latch ----------------------------------------------------------------- */

static void latch_counts_down_and_rearms(void **state)
{
    FIX();
    as_latch l;
    TH_RC(as_latch_init(&l, 0), 0);
    th_waiter w[4];
    for (int i = 0; i < 4; i++)
        th_waiter_init(&w[i], R, L, i + 1);
    TH_RC(latch_wait(&w[0], &l, AS_NO_DEADLINE), 1); /* 0: at once */
    TH_RC(as_latch_add(&l, 2), 0);                     /* re-armed */
    TH_EQ(as_latch_value(&l), 2);
    for (int i = 0; i < 3; i++)
        TH_RC(latch_wait(&w[i], &l, AS_NO_DEADLINE), 0);
    TH_EQ(as_latch_waiters(&l), 3);
    TH_RC(as_latch_count_down(&l, 3), -ERANGE); /* below zero: nothing */
    TH_EQ(as_latch_value(&l), 2);
    TH_RC(as_latch_count_down(&l, 1), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_latch_count_down(&l, 1), 0); /* 0: all of them, in order */
    th_rec_wait(L, R, 3);
    th_rec_assert_ids(R, 1, 2, 3);
    for (int id = 1; id <= 3; id++)
        TH_RC(th_rec_status_of(R, id), 0);
    TH_EQ(as_latch_waiters(&l), 0);
    TH_RC(latch_wait(&w[3], &l, AS_NO_DEADLINE), 1);
    TH_RC(as_latch_count_down(&l, 1), -ERANGE);
    TH_RC(as_latch_add(&l, AS_LATCH_VALUE_MAX), 0);
    TH_RC(as_latch_add(&l, 1), -EOVERFLOW);
    TH_EQ(as_latch_value(&l), AS_LATCH_VALUE_MAX);
    TH_RC(as_latch_count_down(&l, AS_LATCH_VALUE_MAX), 0);
    TH_RC(as_latch_destroy(&l), 0);
}

/* A cancel, a deadline, a close: each ends only its own wait(s); reaching 0
 * is not consumed, so a cancel after it passes nothing on. */
static void latch_cancel_deadline_close(void **state)
{
    FIX();
    as_latch l = AS_LATCH_INITIALIZER(1);
    th_waiter a, b, c, d, late;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    th_waiter_init(&d, R, L, 4);
    th_waiter_init(&late, R, L, 5);
    TH_RC(latch_wait(&a, &l, AS_NO_DEADLINE), 0);
    TH_RC(latch_wait(&b, &l, as_now_ns() + 20 * MS), 0);
    TH_RC(as_cancel(&a.w), 0);
    th_rec_wait_woken(L, R, 2);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_RC(th_rec_status_of(R, 2), -ETIMEDOUT);
    TH_EQ(as_latch_value(&l), 1);
    TH_RC(latch_wait(&c, &l, AS_NO_DEADLINE), 0);
    TH_RC(latch_wait(&d, &l, AS_NO_DEADLINE), 0);
    TH_RC(as_latch_count_down(&l, 1), 0);
    TH_RC(as_cancel(&c.w), 0); /* decided: -ECANCELED, d unaffected */
    th_rec_wait(L, R, 4);
    TH_RC(th_rec_status_of(R, 3), -ECANCELED);
    TH_RC(th_rec_status_of(R, 4), 0);
    TH_RC(as_latch_add(&l, 1), 0);
    TH_RC(latch_wait(&late, &l, AS_NO_DEADLINE), 0);
    TH_RC(as_latch_close(&l), 0);
    TH_RC(as_latch_close(&l), 0);
    th_rec_wait(L, R, 5);
    TH_RC(th_rec_status_of(R, 5), -ESHUTDOWN);
    th_waiter z;
    th_waiter_init(&z, R, L, 6);
    TH_RC(latch_wait(&z, &l, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_latch_wait_blocking(&l, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_latch_count_down(&l, 1), 0); /* still counts */
    TH_RC(as_latch_destroy(&l), 0);
}

struct lblk {
    as_latch *l;
    int rc;
};

static void *latch_blocker(void *arg)
{
    struct lblk *b = arg;
    b->rc = as_latch_wait_blocking(b->l, as_now_ns() + 10000 * MS);
    return NULL;
}

/* A wait group: a plain thread waits for the loop's tasks to finish. */
static void latch_wait_group_with_thread(void **state)
{
    FIX();
    as_latch l;
    TH_RC(as_latch_init(&l, 3), 0);
    struct lblk b = { &l, 1 };
    pthread_t t;
    th_thread_start(&t, latch_blocker, &b);
    double dl = th_now() + TH_TIMEOUT;
    while (as_latch_waiters(&l) < 1) {
        if (th_now() > dl)
            th_fail("the thread never waited");
        sched_yield();
    }
    for (int i = 0; i < 3; i++)
        TH_RC(as_latch_count_down(&l, 1), 0);
    th_thread_join(t);
    TH_RC(b.rc, 0);
    TH_RC(as_latch_wait_blocking(&l, 1), 0); /* 0 now: at once, any deadline */
    TH_RC(as_latch_add(&l, 1), 0);
    TH_RC(as_latch_wait_blocking(&l, as_now_ns() + 10 * MS), -ETIMEDOUT);
    TH_RC(as_latch_count_down(&l, 1), 0);
    TH_RC(as_latch_destroy(&l), 0);
}

/* ---- barrier ----------------------------------------------------------------- */

static void barrier_generations(void **state)
{
    FIX();
    as_barrier b;
    TH_RC(as_barrier_init(&b, 3), 0);
    for (int gen = 0; gen < 3; gen++) {
        th_rec_reset(R);
        th_waiter a, c, leader;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&c, R, L, 2);
        th_waiter_init(&leader, R, L, 3);
        TH_RC(barrier_wait(&a, &b, AS_NO_DEADLINE), 0);
        TH_RC(barrier_wait(&c, &b, AS_NO_DEADLINE), 0);
        TH_EQ(as_barrier_waiters(&b), 2);
        TH_RC(barrier_wait(&leader, &b, AS_NO_DEADLINE), 1); /* the leader */
        th_rec_wait(L, R, 2);
        th_rec_assert_ids(R, 1, 2);
        TH_RC(th_rec_status_of(R, 1), 0);
        TH_RC(th_rec_status_of(R, 2), 0);
        TH_EQ(as_barrier_waiters(&b), 0);
    }
    as_barrier one = AS_BARRIER_INITIALIZER(1);
    th_waiter solo;
    th_waiter_init(&solo, R, L, 9);
    TH_RC(barrier_wait(&solo, &one, AS_NO_DEADLINE), 1); /* alone: leader */
    TH_RC(as_barrier_destroy(&one), 0);
    TH_RC(as_barrier_destroy(&b), 0);
}

/* A party that leaves before its generation completes stops counting. */
static void barrier_leaving_party(void **state)
{
    FIX();
    as_barrier b;
    TH_RC(as_barrier_init(&b, 2), 0);
    th_waiter a, t, c, leader;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&t, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    th_waiter_init(&leader, R, L, 4);
    TH_RC(barrier_wait(&a, &b, AS_NO_DEADLINE), 0);
    TH_RC(as_cancel(&a.w), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_RC(barrier_wait(&t, &b, as_now_ns() + 20 * MS), 0);
    th_rec_wait_woken(L, R, 2);
    TH_RC(th_rec_status_of(R, 2), -ETIMEDOUT);
    TH_RC(barrier_wait(&c, &b, AS_NO_DEADLINE), 0); /* still needs two */
    TH_RC(barrier_wait(&leader, &b, AS_NO_DEADLINE), 1);
    th_rec_wait(L, R, 3);
    TH_RC(th_rec_status_of(R, 3), 0);
    /* past deadline on an arrival that would wait: refused, not counted */
    th_waiter p;
    th_waiter_init(&p, R, L, 5);
    TH_RC(barrier_wait(&p, &b, 1), -ETIMEDOUT);
    TH_EQ(as_barrier_waiters(&b), 0);
    TH_RC(as_barrier_destroy(&b), 0);
}

struct bblk {
    as_barrier *b;
    int rc;
};

static void *barrier_blocker(void *arg)
{
    struct bblk *x = arg;
    x->rc = as_barrier_wait_blocking(x->b, as_now_ns() + 10000 * MS);
    return NULL;
}

static void barrier_thread_and_loop(void **state)
{
    FIX();
    as_barrier b;
    TH_RC(as_barrier_init(&b, 2), 0);
    /* the thread waits, the loop's arrival leads */
    struct bblk x = { &b, 7 };
    pthread_t t;
    th_thread_start(&t, barrier_blocker, &x);
    double dl = th_now() + TH_TIMEOUT;
    while (as_barrier_waiters(&b) < 1) {
        if (th_now() > dl)
            th_fail("the thread never arrived");
        sched_yield();
    }
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(barrier_wait(&a, &b, AS_NO_DEADLINE), 1);
    th_thread_join(t);
    TH_RC(x.rc, 0);
    /* the loop waits, the thread leads */
    th_waiter c;
    th_waiter_init(&c, R, L, 2);
    TH_RC(barrier_wait(&c, &b, AS_NO_DEADLINE), 0);
    th_thread_start(&t, barrier_blocker, &x);
    th_thread_join(t);
    TH_RC(x.rc, 1);
    th_rec_wait_woken(L, R, 1);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_barrier_close(&b), 0);
    TH_RC(as_barrier_wait_blocking(&b, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_barrier_destroy(&b), 0);
}

static void barrier_close_ends_parties(void **state)
{
    FIX();
    as_barrier b;
    TH_RC(as_barrier_init(&b, 4), 0);
    th_waiter w[3];
    for (int i = 0; i < 3; i++) {
        th_waiter_init(&w[i], R, L, i + 1);
        TH_RC(barrier_wait(&w[i], &b, AS_NO_DEADLINE), 0);
    }
    TH_RC(as_barrier_close(&b), 0);
    th_rec_wait(L, R, 3);
    for (int id = 1; id <= 3; id++)
        TH_RC(th_rec_status_of(R, id), -ESHUTDOWN);
    th_waiter late;
    th_waiter_init(&late, R, L, 4);
    TH_RC(barrier_wait(&late, &b, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_barrier_destroy(&b), 0);
}

/* With AS_LOOP_ALWAYS_CALLBACK the leader is told by status 1, a latch at
 * 0 completes through the callback too. */
static void always_callback_leader(void **state)
{
    FIX();
    th_loop X;
    as_loop_options o = { AS_LOOP_ALWAYS_CALLBACK, 0 };
    TH_RC(th_loop_init(&X, L->kind, &o), 0);
    as_barrier b = AS_BARRIER_INITIALIZER(2);
    as_latch l = AS_LATCH_INITIALIZER(0);
    th_waiter a, c, z;
    th_waiter_init(&a, R, &X, 1);
    th_waiter_init(&c, R, &X, 2);
    th_waiter_init(&z, R, &X, 3);
    TH_RC(barrier_wait(&a, &b, AS_NO_DEADLINE), 0);
    TH_RC(barrier_wait(&c, &b, AS_NO_DEADLINE), 0);
    TH_RC(latch_wait(&z, &l, AS_NO_DEADLINE), 0);
    th_rec_wait(&X, R, 3);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 1);
    TH_RC(th_rec_status_of(R, 3), 0);
    th_loop_destroy(&X);
    TH_RC(as_barrier_destroy(&b), 0);
    TH_RC(as_latch_destroy(&l), 0);
}

/* as_latch_init_flags: 0 is as_latch_init; AS_PSHARED is refused where
 * process-shared objects are not built (Windows), -EINVAL still first for
 * bad flags and counts; on Linux it works in one process too
 * (tests/test_pshared.c has the rows across processes). */
static void latch_init_flags_platform(void **state)
{
    (void)state;
    as_latch l;
    memset(&l, 0, sizeof l);
    TH_RC(as_latch_init_flags(&l, 1, 0x100u), -EINVAL);
    TH_RC(as_latch_init_flags(&l, 1, AS_PSHARED_SLOTS(1)), -EINVAL); /* no AS_PSHARED */
    TH_RC(as_latch_init_flags(&l, AS_LATCH_VALUE_MAX + 1u, AS_PSHARED), -EINVAL);
    TH_RC(as_latch_init_flags(&l, 1, AS_PSHARED | AS_PSHARED_SLOTS(AS_PSHARED_SLOTS_MAX + 1)),
          -EINVAL);
    TH_RC(as_latch_init_flags(NULL, 1, 0), -EINVAL);
    TH_EQ(as_latch_value(&l), -EINVAL); /* nothing was initialised */
    TH_RC(as_latch_init_flags(&l, 2, 0), 0);
    TH_EQ(as_latch_value(&l), 2);
    TH_RC(as_latch_destroy(&l), 0);
#ifdef _WIN32
    TH_RC(as_latch_init_flags(&l, 2, AS_PSHARED), -EOPNOTSUPP);
    TH_EQ(as_latch_value(&l), -EINVAL);
#else
    TH_RC(as_latch_init_flags(&l, 2, AS_PSHARED), 0);
    TH_RC(as_latch_count_down(&l, 1), 0);
    TH_RC(as_latch_wait_blocking(&l, as_now_ns()), -ETIMEDOUT);
    TH_RC(as_latch_count_down(&l, 1), 0);
    TH_RC(as_latch_wait_blocking(&l, AS_NO_DEADLINE), 0);
    TH_RC(as_latch_destroy(&l), 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(latch_counts_down_and_rearms),
        TH_TEST(latch_cancel_deadline_close),
        TH_TEST(latch_wait_group_with_thread),
        TH_TEST(barrier_generations),
        TH_TEST(barrier_leaving_party),
        TH_TEST(barrier_thread_and_loop),
        TH_TEST(barrier_close_ends_parties),
        TH_TEST(always_callback_leader),
        TH_TEST(latch_init_flags_platform),
    };
    return TH_MAIN("latch_barrier", tests);
}
