/*
 * Conformance: as_event (manual-reset and auto-reset).  What every primitive
 * shares (order, cancel, cancel after the set, bad input; both kinds are
 * rows) is in test_prims.c; here what only an event has.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* Auto-reset: a set with no waiter is kept until one wait consumes it. */
static void event_auto_set_then_wait(void **state)
{
    FIX();
    as_event e;
    th_event_make(&e, 0);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(as_event_set(&e), 0);
    TH_RC(as_event_is_set(&e), 1);
    TH_RC(as_event_is_set(&e), 1); /* is_set does not consume */
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_event_wait(&a, &e), 1); /* consumed */
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(th_event_wait(&b, &e), 0); /* second wait pends */
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_event_set(&e), 0);
    TH_EQ(th_rec_count(R), 0);       /* never inside set */
    TH_RC(as_event_is_set(&e), 0);   /* handed to b */
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 2);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(as_event_destroy(&e), 0);
}

/* Auto-reset: two sets with nobody waiting are one token. */
static void event_auto_double_set_one_token(void **state)
{
    FIX();
    as_event e;
    th_event_make(&e, 0);
    TH_RC(as_event_set(&e), 0);
    TH_RC(as_event_set(&e), 0);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_event_wait(&a, &e), 1);
    TH_RC(th_event_wait(&b, &e), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_cancel(&b.w), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(as_event_destroy(&e), 0);
}

/* Manual-reset: set wakes every waiter and stays set until reset. */
static void event_manual_wakes_all_stays_set(void **state)
{
    FIX();
    enum { N = 5 };
    as_event e;
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    th_waiter w[N];
    for (int i = 0; i < N; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_event_wait(&w[i], &e), 0);
    }
    TH_RC(as_event_set(&e), 0);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_event_is_set(&e), 1);
    th_rec_wait(L, R, N);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), N);
    for (int i = 0; i < N; i++) {
        TH_RC(th_rec_status_of(R, i), 0);
        TH_EQ(atomic_load(&w[i].calls), 1);
    }
    TH_RC(as_event_is_set(&e), 1);
    th_waiter d;
    th_waiter_init(&d, R, L, 10);
    TH_RC(th_event_wait(&d, &e), 1);
    TH_RC(th_event_wait(&d, &e), 1);
    TH_RC(as_event_is_set(&e), 1);
    TH_RC(as_event_set(&e), 0); /* set again: no-op */
    TH_RC(as_event_reset(&e), 0);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(th_event_wait(&d, &e), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), N);
    TH_RC(as_event_set(&e), 0);
    th_rec_wait(L, R, N + 1);
    TH_RC(th_rec_status_of(R, 10), 0);
    TH_RC(as_event_destroy(&e), 0);
}

/* Manual-reset: waiters released by a set keep their wake-up even when the
 * event is reset before their callbacks run. */
static void event_manual_set_then_reset_before_run(void **state)
{
    FIX();
    as_event e;
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_event_wait(&a, &e), 0);
    TH_RC(th_event_wait(&b, &e), 0);
    TH_RC(as_event_set(&e), 0);
    TH_RC(as_event_reset(&e), 0);
    TH_RC(as_event_is_set(&e), 0);
    th_rec_wait(L, R, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(as_event_destroy(&e), 0);
}

static void event_initially_set(void **state)
{
    FIX();
    as_event e;
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);

    th_event_make(&e, AS_EVENT_INITIALLY_SET);
    TH_RC(as_event_is_set(&e), 1);
    TH_RC(th_event_wait(&a, &e), 1);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(th_event_wait(&b, &e), 0);
    TH_RC(as_cancel(&b.w), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);
    TH_RC(as_event_destroy(&e), 0);

    th_event_make(&e, AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET);
    TH_RC(as_event_is_set(&e), 1);
    TH_RC(th_event_wait(&a, &e), 1);
    TH_RC(th_event_wait(&b, &e), 1);
    TH_RC(as_event_is_set(&e), 1);
    TH_RC(as_event_destroy(&e), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 1);
}

static void event_reset(void **state)
{
    FIX();
    for (int manual = 0; manual < 2; manual++) {
        as_event e;
        th_event_make(&e, manual ? AS_EVENT_MANUAL_RESET : 0);
        th_rec_reset(R);
        TH_RC(as_event_reset(&e), 0); /* reset of an unset event */
        TH_RC(as_event_is_set(&e), 0);
        TH_RC(as_event_set(&e), 0);
        TH_RC(as_event_reset(&e), 0);
        TH_RC(as_event_is_set(&e), 0);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        TH_RC(th_event_wait(&a, &e), 0);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 0);
        TH_RC(as_event_reset(&e), 0); /* reset does not wake or cancel */
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 0);
        TH_EQ(as_wait_pending(&a.w), 1);
        TH_RC(as_event_set(&e), 0);
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), 0);
        TH_RC(as_event_is_set(&e), manual ? 1 : 0);
        TH_RC(as_event_destroy(&e), 0);
    }
}

/* Re-wait from inside the callback. */
static as_event *rw_e;
static int rw_res[8];

static void rewait_cb(th_waiter *tw, int status)
{
    if (status == 0 && tw->user_n < 4) {
        rw_res[tw->user_n] = th_event_wait(tw, rw_e);
        tw->user_n++;
    }
}

static void event_rewait_in_callback(void **state)
{
    FIX();
    as_event e;
    th_event_make(&e, 0);
    rw_e = &e;
    memset(rw_res, 0x7f, sizeof rw_res);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    a.on_cb = rewait_cb;
    TH_RC(th_event_wait(&a, &e), 0);
    for (unsigned i = 1; i <= 5; i++) {
        TH_RC(as_event_set(&e), 0);
        th_rec_wait(L, R, i);
    }
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 5);
    for (int i = 0; i < 4; i++)
        TH_RC(rw_res[i], 0);
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(as_event_destroy(&e), 0);

    /* manual event, set: the re-wait is satisfied at once (returns 1) */
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    th_waiter b;
    th_waiter_init(&b, R, L, 2);
    b.on_cb = rewait_cb;
    b.user_n = 3;
    TH_RC(th_event_wait(&b, &e), 0);
    TH_RC(as_event_set(&e), 0);
    th_rec_wait(L, R, 6);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 6);
    TH_RC(rw_res[3], 1);
    TH_RC(as_event_destroy(&e), 0);
}

/* A waiter's callback sets the auto event for the next waiter of the same
 * loop: the next callback runs in the same as_loop_run. */
static as_event *chain_e;

static void chain_cb(th_waiter *tw, int status)
{
    if (status == 0 && tw->user_n)
        TH_RC(as_event_set(chain_e), 0);
}

static void event_chain_same_run(void **state)
{
    FIX();
    as_event e;
    th_event_make(&e, 0);
    chain_e = &e;
    th_waiter w[4];
    for (int i = 0; i < 4; i++) {
        th_waiter_init(&w[i], R, L, i);
        w[i].on_cb = chain_cb;
        w[i].user_n = i < 3;
        TH_RC(th_event_wait(&w[i], &e), 0);
    }
    TH_RC(as_event_set(&e), 0);
    th_rec_wait(L, R, 4);
    th_rec_assert_ids(R, 0, 1, 2, 3);
    for (unsigned i = 1; i < 4; i++)
        if (th_rec_get(R, i).run != th_rec_get(R, 0).run)
            th_fail("waiter %u ran in as_loop_run #%lu, waiter 0 in #%lu", i,
                    th_rec_get(R, i).run, th_rec_get(R, 0).run);
    TH_RC(as_event_is_set(&e), 0);
    TH_RC(as_event_destroy(&e), 0);
}

static void event_free_in_callback(void **state)
{
    FIX();
    as_event e;
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    for (int i = 0; i < 4; i++) {
        th_waiter *tw = malloc(sizeof *tw);
        assert_non_null(tw);
        th_waiter_init(tw, R, L, i);
        tw->on_cb = th_free_waiter_cb;
        TH_RC(th_event_wait(tw, &e), 0);
        if (i == 3)
            TH_RC(as_cancel(&tw->w), 0);
    }
    TH_RC(as_event_set(&e), 0);
    th_rec_wait(L, R, 4);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 4);
    TH_RC(th_rec_status_of(R, 3), -ECANCELED);
    TH_RC(as_event_destroy(&e), 0);
}

static void event_static_initializer(void **state)
{
    FIX();
    as_event e1 = AS_EVENT_INITIALIZER(0);
    as_event e2 = AS_EVENT_INITIALIZER(AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET);
    as_event e3 = AS_EVENT_INITIALIZER(AS_EVENT_INITIALLY_SET);
    TH_RC(as_event_is_set(&e1), 0);
    TH_RC(as_event_is_set(&e2), 1);
    TH_RC(as_event_is_set(&e3), 1);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_event_wait(&a, &e2), 1);
    TH_RC(th_event_wait(&a, &e2), 1);
    TH_RC(th_event_wait(&a, &e3), 1);
    TH_RC(as_event_is_set(&e3), 0);
    TH_RC(th_event_wait(&a, &e1), 0);
    TH_RC(as_event_destroy(&e1), -EBUSY);
    TH_RC(as_event_set(&e1), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_event_destroy(&e1), 0);
    TH_RC(as_event_destroy(&e2), 0);
    TH_RC(as_event_destroy(&e3), 0);
    TH_RC(as_event_is_set(&e1), -EINVAL);
}

/* AS_PSHARED (tests/test_pshared.c has the rows across processes): init
 * refused where process-shared objects are not built (Windows), -EINVAL
 * still first for bad flags; on Linux both kinds work in one process. */
static void event_pshared_platform(void **state)
{
    (void)state;
    as_event e;
    memset(&e, 0, sizeof e);
    TH_RC(as_event_init(&e, AS_PSHARED | 0x100u), -EINVAL);
    TH_RC(as_event_init(&e, AS_PSHARED | AS_PSHARED_SLOTS(AS_PSHARED_SLOTS_MAX + 1)), -EINVAL);
    TH_RC(as_event_is_set(&e), -EINVAL); /* nothing was initialised */
#ifdef _WIN32
    TH_RC(as_event_init(&e, AS_PSHARED | AS_EVENT_MANUAL_RESET), -EOPNOTSUPP);
    TH_RC(as_event_init(&e, AS_PSHARED), -EOPNOTSUPP);
    TH_RC(as_event_is_set(&e), -EINVAL);
#else
    for (int manual = 0; manual < 2; manual++) {
        unsigned f = manual ? AS_EVENT_MANUAL_RESET : 0u;
        TH_RC(as_event_init(&e, AS_PSHARED | f | AS_EVENT_INITIALLY_SET), 0);
        TH_RC(as_event_wait_blocking(&e, as_now_ns()), 0);
        TH_RC(as_event_is_set(&e), manual); /* auto-reset: consumed */
        TH_RC(as_event_reset(&e), 0);
        TH_RC(as_event_wait_blocking(&e, as_now_ns()), -ETIMEDOUT);
        TH_EQ(as_event_waiters(&e), 0);
        TH_RC(as_event_close(&e), 0);
        TH_RC(as_event_wait_blocking(&e, AS_NO_DEADLINE), -ESHUTDOWN);
        TH_RC(as_event_destroy(&e), 0);
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(event_auto_set_then_wait),
        TH_TEST(event_auto_double_set_one_token),
        TH_TEST(event_manual_wakes_all_stays_set),
        TH_TEST(event_manual_set_then_reset_before_run),
        TH_TEST(event_initially_set),
        TH_TEST(event_reset),
        TH_TEST(event_rewait_in_callback),
        TH_TEST(event_chain_same_run),
        TH_TEST(event_free_in_callback),
        TH_TEST(event_static_initializer),
        TH_TEST(event_pshared_platform),
    };
    return TH_MAIN("event", tests);
}
