/*
 * Conformance: as_cond.  wait_async releases the mutex, waits, re-acquires
 * it before the callback, whatever the status.  Signals are not remembered.
 * What every primitive shares (signal order, broadcast, cancel, bad input)
 * is in test_prims.c, as rows; here what only a condvar has.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* Lock (must be free), then wait: returns 0, never 1, and releases m. */
static void lock_and_wait(th_waiter *tw, as_cond *c, as_mutex *m, bool unlock_in_cb)
{
    TH_RC(as_mutex_try_lock(m), 1);
    TH_RC(th_cond_wait(tw, c, m, unlock_in_cb), 0);
    TH_EQ(as_wait_pending(&tw->w), 1);
}

static void cond_wait_releases_and_reacquires(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    lock_and_wait(&a, &c, &m, true);
    TH_RC(as_mutex_try_lock(&m), 1); /* released by wait_async */
    TH_RC(as_mutex_unlock(&m), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);

    TH_RC(as_cond_signal(&c), 0);
    TH_EQ(th_rec_count(R), 0); /* never inside signal */
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_EQ(th_rec_get(R, 0).held, 0); /* mutex held in the callback */
    TH_RC(as_mutex_try_lock(&m), 1); /* th_cb unlocked it */
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Broadcast while the mutex is held, then a new waiter: only the old ones
 * are woken, and each only once it can take the mutex. */
static void cond_broadcast_then_new_waiter(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter a, b, late;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&late, R, L, 3);
    lock_and_wait(&a, &c, &m, true);
    lock_and_wait(&b, &c, &m, true);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_cond_broadcast(&c), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0); /* they need the mutex */
    TH_RC(th_cond_wait(&late, &c, &m, true), 0); /* releases m */
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_cond_signal(&c), 0);
    th_rec_wait(L, R, 3);
    TH_RC(th_rec_status_of(R, 3), 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* A signalled waiter runs only once it holds the mutex again. */
static void cond_signal_while_mutex_held(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    lock_and_wait(&a, &c, &m, true);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_cond_signal(&c), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_EQ(as_wait_pending(&a.w), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_EQ(th_rec_get(R, 0).held, 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Signals are not remembered. */
static void cond_signal_not_remembered(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    TH_RC(as_cond_signal(&c), 0);
    TH_RC(as_cond_broadcast(&c), 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    lock_and_wait(&a, &c, &m, true);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_cancel(&a.w), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_EQ(th_rec_get(R, 0).held, 0); /* held even when cancelled */
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Cancel while the mutex is held elsewhere: the -ECANCELED callback waits
 * for the mutex. */
static void cond_cancel_while_mutex_held(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    lock_and_wait(&a, &c, &m, true);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_cancel(&a.w), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_EQ(th_rec_get(R, 0).held, 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Cancel after the signal picked a (a waits for the mutex): a's callback
 * gets -ECANCELED with the mutex held, and the signal goes on to b. */
static void cond_cancel_after_signal(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    lock_and_wait(&a, &c, &m, true);
    lock_and_wait(&b, &c, &m, true);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_cond_signal(&c), 0); /* a is signalled; waits for m */
    TH_RC(as_cancel(&a.w), 0);    /* the signal goes to b */
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(th_rec_get(R, 0).held, 0);
    TH_EQ(th_rec_get(R, 1).held, 0);
    TH_RC(as_cancel(&b.w), -ENOENT);
    /* A broadcast is not passed on: nobody else was picked by it. */
    th_waiter x, y;
    th_waiter_init(&x, R, L, 3);
    th_waiter_init(&y, R, L, 4);
    lock_and_wait(&x, &c, &m, true);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_cond_broadcast(&c), 0);           /* x picked, waits for m */
    TH_RC(th_cond_wait(&y, &c, &m, true), 0);  /* releasing m hands it to x */
    TH_RC(as_cancel(&x.w), 0);                 /* nothing to pass on to y */
    th_rec_wait(L, R, 3);
    th_quiesce(L, TH_QUIET);
    TH_RC(th_rec_status_of(R, 3), -ECANCELED);
    TH_EQ(th_rec_count(R), 3); /* y still waits */
    TH_RC(as_cancel(&y.w), 0);
    th_rec_wait(L, R, 4);
    TH_RC(th_rec_status_of(R, 4), -ECANCELED);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Re-wait from inside the callback (holding the mutex, as a loop over a
 * predicate does). */
static as_cond *rw_c;
static as_mutex *rw_m;
static int rw_bad;

static void rewait_cb(th_waiter *tw, int status)
{
    /* th_cb checked the mutex is held and did not unlock it */
    if (status != 0) {
        rw_bad++;
        return;
    }
    if (tw->user_n-- > 0) {
        if (th_cond_wait(tw, rw_c, rw_m, false) != 0) /* releases m */
            rw_bad++;
    } else if (as_mutex_unlock(rw_m) != 0) {
        rw_bad++;
    }
}

static void cond_rewait_in_callback(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    rw_c = &c;
    rw_m = &m;
    rw_bad = 0;
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    a.on_cb = rewait_cb;
    a.user_n = 4;
    lock_and_wait(&a, &c, &m, false);
    for (unsigned i = 1; i <= 5; i++) {
        TH_RC(as_cond_signal(&c), 0);
        th_rec_wait(L, R, i);
        TH_RC(as_mutex_try_lock(&m), 1); /* released again by the re-wait / unlock */
        TH_RC(as_mutex_unlock(&m), 0);
    }
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 5);
    TH_EQ(rw_bad, 0);
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* wait_async hands the mutex to a queued lock waiter, whose signal then
 * wakes the cond waiter. */
static as_cond *hx_c;

static void hx_cb(th_waiter *tw, int status)
{
    TH_RC(as_cond_signal(hx_c), 0);
    TH_RC(as_mutex_unlock(tw->mutex), 0);
}

static void cond_wait_hands_mutex_to_lock_waiter(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    hx_c = &c;
    TH_RC(as_mutex_try_lock(&m), 1);
    th_waiter x, a;
    th_waiter_init(&x, R, L, 1);
    th_waiter_init(&a, R, L, 2);
    TH_RC(th_mutex_lock(&x, &m, false), 0);
    x.on_cb = hx_cb;
    TH_RC(th_cond_wait(&a, &c, &m, true), 0); /* releases m: x gets it */
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(th_rec_get(R, 1).held, 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Several condvars share one mutex; each signal reaches its own waiters. */
static void cond_two_conds_one_mutex(void **state)
{
    FIX();
    as_mutex m;
    as_cond c1, c2;
    th_mutex_make(&m, AS_MUTEX_STRICT_FIFO);
    th_cond_make(&c1);
    th_cond_make(&c2);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    lock_and_wait(&a, &c1, &m, true);
    lock_and_wait(&b, &c2, &m, true);
    TH_RC(as_cond_signal(&c2), 0);
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 2);
    TH_RC(as_cond_broadcast(&c1), 0);
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 2, 1);
    TH_RC(as_cond_destroy(&c1), 0);
    TH_RC(as_cond_destroy(&c2), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

static void cond_free_in_callback(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    for (int i = 0; i < 3; i++) {
        th_waiter *tw = malloc(sizeof *tw);
        assert_non_null(tw);
        th_waiter_init(tw, R, L, i);
        tw->on_cb = th_free_waiter_cb;
        lock_and_wait(tw, &c, &m, true);
        if (i == 2)
            TH_RC(as_cancel(&tw->w), 0);
    }
    TH_RC(as_cond_broadcast(&c), 0);
    th_rec_wait(L, R, 3);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 3);
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

static void cond_static_initializer(void **state)
{
    FIX();
    as_mutex m = AS_MUTEX_INITIALIZER;
    as_cond c = AS_COND_INITIALIZER;
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    lock_and_wait(&a, &c, &m, true);
    TH_RC(as_cond_destroy(&c), -EBUSY);
    TH_RC(as_cond_signal(&c), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_cond_signal(&c), -EINVAL);
    TH_RC(as_cond_init(&c, 0), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(cond_wait_releases_and_reacquires),
        TH_TEST(cond_broadcast_then_new_waiter),
        TH_TEST(cond_signal_while_mutex_held),
        TH_TEST(cond_signal_not_remembered),
        TH_TEST(cond_cancel_while_mutex_held),
        TH_TEST(cond_cancel_after_signal),
        TH_TEST(cond_rewait_in_callback),
        TH_TEST(cond_wait_hands_mutex_to_lock_waiter),
        TH_TEST(cond_two_conds_one_mutex),
        TH_TEST(cond_free_in_callback),
        TH_TEST(cond_static_initializer),
    };
    return TH_MAIN("cond", tests);
}
