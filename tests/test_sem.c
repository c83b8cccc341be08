/*
 * Conformance: as_sem (weighted, FIFO-fair semaphore).
 * Every test runs on a ring loop (backend from ASYNCSYNC_BACKEND) and on a
 * generic loop driven only by its notify hook.  What every primitive shares
 * (FIFO order, cancel at the head / middle / tail or after the hand-off, bad
 * input) is in test_prims.c, as rows; here what only a semaphore has.
 */
#include "harness.h"

#include <fcntl.h>

#include <stdlib.h>
#include <string.h>

/* Fast path: returns 1, callback never called, permits taken. */
static void sem_fast_path(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 3);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);

    TH_RC(th_sem_acquire(&a, &s, 2), 1);
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(as_sem_try_acquire(&s, 1), 1);
    TH_RC(as_sem_try_acquire(&s, 1), 0);
    TH_EQ(as_sem_value(&s), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);

    TH_RC(as_sem_release(&s, 3), 0);
    TH_EQ(as_sem_value(&s), 3);
    /* the caller owns the wait after a fast path: reuse at once */
    TH_RC(th_sem_acquire(&a, &s, 3), 1);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 3), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_EQ(atomic_load(&a.calls), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A large request at the head is not starved by small ones queued behind
 * it, even while enough permits for the small ones are free. */
static void sem_large_head_not_starved(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 1);
    th_waiter big, small;
    th_waiter_init(&big, R, L, 1);
    th_waiter_init(&small, R, L, 2);

    TH_RC(th_sem_acquire(&big, &s, 3), 0);
    TH_RC(th_sem_acquire(&small, &s, 1), 0); /* 1 permit free, but big is first */
    TH_RC(as_sem_try_acquire(&s, 1), 0);     /* newcomers queue behind too */
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);

    TH_RC(as_sem_release(&s, 1), 0); /* 2 free: still not enough for big */
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_sem_try_acquire(&s, 1), 0);

    TH_RC(as_sem_release(&s, 1), 0); /* 3: big gets all of them */
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1);
    TH_EQ(as_sem_value(&s), 0);

    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 1, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 4), 0);
    TH_EQ(as_sem_value(&s), 4);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Weighted hand-off in order: a release serves the queue from the head
 * while the head fits, and never lets a later small request jump it. */
static void sem_weighted_batch(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter w[4];
    const uint32_t want[4] = { 2, 1, 2, 1 };
    for (int i = 0; i < 4; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_sem_acquire(&w[i], &s, want[i]), 0);
    }
    TH_RC(as_sem_release(&s, 3), 0); /* 0 (2) and 1 (1) */
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 0, 1);
    TH_EQ(as_sem_value(&s), 0);

    TH_RC(as_sem_release(&s, 1), 0); /* 1 free; head (2) needs 2; 3 must not jump */
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 2);
    TH_RC(as_sem_try_acquire(&s, 1), 0);

    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 3);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 0, 1, 2);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 4);
    th_rec_assert_ids(R, 0, 1, 2, 3);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 6), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A random mix of weights against a model of the FIFO hand-off. */
static void sem_model_random_weights(void **state)
{
    FIX();
    enum { N = 120 };
    as_sem s;
    th_sem_make(&s, 0);
    static th_waiter w[N];
    uint32_t want[N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        want[i] = 1 + (seed >> 16) % 4;
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_sem_acquire(&w[i], &s, want[i]), 0);
    }
    /* model: free permits, head index */
    uint32_t free_permits = 0;
    int head = 0;
    while (head < N) {
        seed = seed * 1103515245u + 12345u;
        uint32_t k = 1 + (seed >> 16) % 5;
        TH_RC(as_sem_release(&s, k), 0);
        free_permits += k;
        while (head < N && want[head] <= free_permits)
            free_permits -= want[head++];
        th_rec_wait(L, R, (unsigned)head);
        TH_EQ(th_rec_count(R), head);
        TH_EQ(as_sem_value(&s) >= 0, 1);
    }
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), N);
    for (int i = 0; i < N; i++) {
        TH_EQ(th_rec_get(R, (unsigned)i).id, i);
        TH_RC(th_rec_get(R, (unsigned)i).status, 0);
    }
    TH_EQ(as_sem_value(&s), free_permits);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A second as_cancel before the callback ran.  The header ties as_cancel to
 * ownership: 0 while the wait is pending (as_wait_pending() == 1, i.e. until
 * its callback runs), -ENOENT after.  Either way: one callback, and the
 * status stays -ECANCELED. */
static void sem_cancel_twice(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_RC(as_cancel(&a.w), 0);
    TH_EQ(as_wait_pending(&a.w), 1); /* library-owned until the callback */
    TH_RC(as_cancel(&a.w), 0);       /* still pending: 0, changes nothing */
    TH_RC(as_sem_release(&s, 1), 0); /* not for the cancelled waiter */
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_RC(as_cancel(&a.w), -ENOENT);
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Cancelling the large head lets the smaller waiters behind it proceed with
 * the permits that are already free. */
static void sem_cancel_head_unblocks_smaller(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 1);
    th_waiter a, b, c;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    TH_RC(th_sem_acquire(&a, &s, 3), 0);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(th_sem_acquire(&c, &s, 1), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);

    TH_RC(as_cancel(&a.w), 0);
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 2);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(as_sem_value(&s), 0);

    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 3);
    TH_RC(th_rec_status_of(R, 3), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A cancelled waiter that was partly covered keeps nothing. */
static void sem_cancel_partial_keeps_nothing(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 2);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 4), 0);
    TH_RC(as_sem_release(&s, 1), 0); /* 3 of 4 */
    TH_RC(as_cancel(&a.w), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_EQ(as_sem_value(&s), 3);
    TH_RC(as_sem_try_acquire(&s, 3), 1);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 3), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Re-arm from inside the callback (the caller owns the wait again). */
static as_sem *rearm_sem;
static int rearm_results[16];

static void rearm_cb(th_waiter *tw, int status)
{
    if (status != 0 || tw->user_n >= 5)
        return;
    rearm_results[tw->user_n++] = th_sem_acquire(tw, rearm_sem, 1);
}

static void sem_rearm_in_callback(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    rearm_sem = &s;
    memset(rearm_results, 0x7f, sizeof rearm_results);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    a.on_cb = rearm_cb;
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    for (unsigned i = 1; i <= 6; i++) {
        TH_RC(as_sem_release(&s, 1), 0);
        th_rec_wait(L, R, i);
        TH_EQ(th_rec_count(R), i);
        TH_EQ(as_wait_pending(&a.w), i <= 5 ? 1 : 0);
    }
    for (int i = 0; i < 5; i++)
        TH_RC(rearm_results[i], 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 6);
    TH_EQ(as_sem_value(&s), 0);

    /* re-arm that hits the fast path: returns 1, no callback for it */
    th_waiter b;
    th_waiter_init(&b, R, L, 2);
    b.on_cb = rearm_cb;
    b.user_n = 4; /* one re-arm */
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(as_sem_release(&s, 2), 0);
    th_rec_wait(L, R, 7);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 7);
    TH_RC(rearm_results[4], 1);
    TH_EQ(as_wait_pending(&b.w), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* The callback may free its wait: the library must not touch it after the
 * callback started (ASan catches a use after free). */
static void sem_free_in_callback(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    for (int i = 0; i < 4; i++) {
        th_waiter *tw = malloc(sizeof *tw);
        assert_non_null(tw);
        th_waiter_init(tw, R, L, i);
        tw->on_cb = th_free_waiter_cb;
        TH_RC(th_sem_acquire(tw, &s, 1), 0);
    }
    th_waiter *tw = malloc(sizeof *tw);
    assert_non_null(tw);
    th_waiter_init(tw, R, L, 9);
    tw->on_cb = th_free_waiter_cb;
    TH_RC(th_sem_acquire(tw, &s, 1), 0);
    TH_RC(as_cancel(&tw->w), 0);
    TH_RC(as_sem_release(&s, 4), 0);
    th_rec_wait(L, R, 5);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 5);
    TH_RC(th_rec_status_of(R, 9), -ECANCELED);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* An as_wait needs no initialisation: any contents are accepted. */
static void sem_garbage_wait_accepted(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 1);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    memset(&a.w, 0xa5, sizeof a.w);
    memset(&b.w, 0x5a, sizeof b.w);
    TH_RC(th_sem_acquire(&a, &s, 1), 1);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_EQ(as_wait_pending(&b.w), 1);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 1);
    th_rec_assert_ids(R, 2);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_sem_release(&s, 2), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* as_wait_pending follows ownership. */
static void sem_wait_pending_states(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_EQ(as_wait_pending(&a.w), 0); /* zeroed */
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_EQ(as_wait_pending(&a.w), 1);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_EQ(as_wait_pending(&a.w), 1); /* handed, callback not run yet */
    th_rec_wait(L, R, 1);            /* th_cb checks 0 inside the callback */
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_RC(th_sem_acquire(&a, &s, 1), 1);
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* AS_PSHARED (tests/test_pshared.c has the rows across processes): init
 * is refused where process-shared objects are not built (Windows), with
 * -EINVAL still first for bad flags; on Linux the object works in one
 * process too. */
static void sem_pshared_platform(void **state)
{
    (void)state;
    as_sem s;
    memset(&s, 0, sizeof s);
    TH_RC(as_sem_init(&s, 1, AS_PSHARED | 0x100u), -EINVAL);
    TH_RC(as_sem_init(&s, AS_PSHARED_SEM_VALUE_MAX + 1u, AS_PSHARED), -EINVAL);
    TH_RC(as_sem_init(&s, 1, AS_PSHARED | AS_PSHARED_SLOTS(AS_PSHARED_SLOTS_MAX + 1)), -EINVAL);
    {
        /* named objects: declared everywhere, -EINVAL checks first
         * (tests/test_pshared_open.c has the Linux rows) */
        as_sem *o = NULL;
        TH_RC(as_sem_open(&o, "noslash", O_CREAT, 0600, 1, 0, 0), -EINVAL);
        TH_RC(as_sem_open(NULL, "/asyncsync-x", O_CREAT, 0600, 1, 0, 0), -EINVAL);
        TH_RC(as_pshared_unlink("/"), -EINVAL);
        TH_RC(as_pshared_unmap(NULL), -EINVAL);
#ifdef _WIN32
        TH_RC(as_sem_open(&o, "/asyncsync-x", O_CREAT, 0600, 1, 0, 0), -EOPNOTSUPP);
        TH_RC(as_pshared_unlink("/asyncsync-x"), -EOPNOTSUPP);
        TH_RC(as_pshared_unmap(&s), -EOPNOTSUPP);
#endif
        TH_EQ(o == NULL, 1);
    }
#ifdef _WIN32
    TH_RC(as_sem_init(&s, 1, AS_PSHARED), -EOPNOTSUPP);
    TH_EQ(as_sem_value(&s), -EINVAL);
#else
    TH_RC(as_sem_init(&s, 1, AS_PSHARED), 0);
    TH_RC(as_sem_try_acquire(&s, 1), 1);
    TH_RC(as_sem_acquire_blocking(&s, 1, as_now_ns()), -ETIMEDOUT);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(as_sem_destroy(&s), 0);
#endif
}

/* Static initialiser, destroy, re-init. */
static void sem_static_initializer(void **state)
{
    FIX();
    as_sem s = AS_SEM_INITIALIZER(2);
    TH_EQ(as_sem_value(&s), 2);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_sem_acquire(&a, &s, 2), 1);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(as_sem_destroy(&s), -EBUSY);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_sem_destroy(&s), 0);
    TH_EQ(as_sem_value(&s), -EINVAL);
    TH_RC(as_sem_init(&s, 5, 0), 0);
    TH_EQ(as_sem_value(&s), 5);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Extreme counts. */
static void sem_value_max(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, AS_SEM_VALUE_MAX);
    TH_EQ(as_sem_value(&s), AS_SEM_VALUE_MAX);
    TH_RC(as_sem_try_acquire(&s, AS_SEM_VALUE_MAX), 1);
    TH_EQ(as_sem_value(&s), 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, AS_SEM_VALUE_MAX), 0);
    TH_RC(as_sem_release(&s, AS_SEM_VALUE_MAX - 1), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, AS_SEM_VALUE_MAX), 0);
    TH_EQ(as_sem_value(&s), AS_SEM_VALUE_MAX);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- the hand-off policy (sem.c POLICY, S5) ----
 * The waits below are on L, which this thread runs; the releases come from a
 * plain thread (no loop), so for them every waiter is on another loop. */

#define release_from_thread th_sem_release_from_thread

static bool sem_queued_is_1(void *arg)
{
    return as_sem_waiters(arg) == 1;
}

static bool sem_queued_is_2(void *arg)
{
    return as_sem_waiters(arg) == 2;
}

/* a (n permits) queued on L, behind the waits already queued; a release of
 * n from another thread wakes it, a newcomer takes one of them, and a
 * finds too few: back at the front, PASSED on a ring loop.  `queued`: how
 * many waits are queued once a is back. */
static void sem_pass_a(th_loop *L, th_rec *R, as_sem *s, th_waiter *a,
                       uint32_t n, int queued)
{
    th_waiter_init(a, R, L, 1);
    TH_RC(th_sem_acquire(a, s, n), 0);
    release_from_thread(s, n);               /* a woken */
    TH_RC(as_sem_try_acquire(s, 1), 1);      /* a newcomer */
    th_run_until(L, queued == 1 ? sem_queued_is_1 : sem_queued_is_2, s,
                 TH_TIMEOUT);                /* a: back */
    TH_EQ(th_rec_count(R), 0);
}

/* Default: a cross-loop release wakes the head and leaves the permit free;
 * a newcomer may take it while the head is on its way; the head then finds
 * none and goes back to the head (PASSED on a ring loop, STARVING on a
 * notify loop); a release from its own loop hands it the permit directly,
 * and newcomers queue behind it.  Strict: the first release hands it over,
 * and no newcomer ever gets it. */
static void sem_policy_wake_barge_starve(void **state)
{
    FIX();
    for (int strict = 0; strict <= 1; strict++) {
        th_rec_reset(R);
        as_sem s;
        TH_RC(as_sem_init(&s, 0, strict ? AS_SEM_STRICT_FIFO : 0), 0);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        TH_RC(th_sem_acquire(&a, &s, 1), 0);
        release_from_thread(&s, 1);
        if (strict) {
            TH_EQ(as_sem_value(&s), 0); /* a owns it already */
            TH_RC(as_sem_try_acquire(&s, 1), 0);
            th_rec_wait_woken(L, R, 1);
            TH_RC(th_rec_status_of(R, 1), 0);
            TH_RC(as_sem_release(&s, 1), 0);
            TH_RC(as_sem_destroy(&s), 0);
            continue;
        }
        /* woken, out of the queue, the permit in the word */
        TH_EQ(as_sem_waiters(&s), 0);
        TH_EQ(as_sem_value(&s), 1);
        TH_RC(as_sem_destroy(&s), -EBUSY); /* a is still pending */
        TH_RC(as_sem_try_acquire(&s, 1), 1); /* barging */
        th_run_until(L, sem_queued_is_1, &s, TH_TIMEOUT); /* a: back */
        TH_EQ(th_rec_count(R), 0);
        TH_RC(as_sem_release(&s, 1), 0); /* from this loop: direct */
        TH_RC(as_sem_try_acquire(&s, 1), 0);
        TH_EQ(as_sem_value(&s), 0);
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), 0);
        /* the barger's permit comes back: nothing queued, it stays free */
        TH_RC(as_sem_release(&s, 1), 0);
        TH_RC(as_sem_release(&s, 1), 0);
        TH_EQ(as_sem_value(&s), 2);
        TH_RC(as_sem_destroy(&s), 0);
    }
}

/* A STARVING head is handed its permits even by a release from another
 * loop (the plain thread), and a large head that does not fit is never
 * woken: while nothing is woken, small newcomers cannot take what it
 * accumulates. */
static void sem_policy_large_head_accumulates(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter big, small;
    th_waiter_init(&big, R, L, 1);
    th_waiter_init(&small, R, L, 2);
    TH_RC(th_sem_acquire(&big, &s, 2), 0);
    TH_RC(th_sem_acquire(&small, &s, 1), 0);
    release_from_thread(&s, 1);           /* big does not fit: nobody woken */
    TH_EQ(as_sem_waiters(&s), 2);
    TH_RC(as_sem_try_acquire(&s, 1), 0);  /* HANDOFF: the permit is big's */
    TH_EQ(as_sem_value(&s), 1);
    release_from_thread(&s, 1);           /* big fits: woken to take 2 */
    TH_EQ(as_sem_waiters(&s), 1);
    TH_EQ(as_sem_value(&s), 2);
    th_rec_wait(L, R, 1);
    th_rec_assert_ids(R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_EQ(as_sem_value(&s), 0);
    /* big passes its permits back from another thread: small is woken */
    release_from_thread(&s, 2);
    th_rec_wait(L, R, 2);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A STARVING head keeps newcomers out even while another woken wait is on
 * its way (HANDOFF follows the head, not only "nothing woken"), and waits
 * that come back STARVING keep their order.  a (2 permits) and b (1) on L,
 * c (1) on a second loop M that does not run until the end.  A notify loop
 * (no timer of its own): a ring loop's waits come back PASSED
 * (sem_policy_passed). */
static void sem_policy_starving_blocks_barging(void **state)
{
    FIX();
    if (th_loop_passes(L))
        skip();
    th_loop M;
    th_loop_setup(&M, TH_RING, NULL);
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a, b, c;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, &M, 3);
    TH_RC(th_sem_acquire(&a, &s, 2), 0);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(th_sem_acquire(&c, &s, 1), 0);
    release_from_thread(&s, 4);          /* a, b and c woken */
    TH_EQ(as_sem_waiters(&s), 0);
    TH_RC(as_sem_try_acquire(&s, 4), 1); /* a barger takes all 4 */
    th_run_until(L, sem_queued_is_2, &s, TH_TIMEOUT); /* a, b: STARVING */
    TH_EQ(th_rec_count(R), 0);
    release_from_thread(&s, 1); /* c's claim still counts: nobody fits */
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(as_sem_try_acquire(&s, 1), 0); /* S5: not past a STARVING head */
    release_from_thread(&s, 3); /* a (2) then b (1), handed directly */
    TH_EQ(as_sem_value(&s), 1);  /* c's claim */
    TH_EQ(as_sem_waiters(&s), 0);
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 1, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    th_rec_wait(&M, R, 3); /* c takes its permit */
    TH_RC(th_rec_status_of(R, 3), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 4), 0); /* a, b, c */
    TH_RC(as_sem_release(&s, 4), 0); /* the barger */
    TH_RC(as_sem_try_acquire(&s, 8), 1);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&M);
}

/* S5 on a ring loop: a (2 permits) woken, a newcomer takes one, a comes
 * back PASSED: releases from elsewhere leave it queued even when it fits,
 * and newcomers pass it; at its timer it takes its permits if they fit
 * (fits_at_timer), else it is STARVING: newcomers stop, and the release
 * that makes it fit hands them over, from anywhere. */
static void sem_policy_passed(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    for (int fits_at_timer = 0; fits_at_timer <= 1; fits_at_timer++) {
        th_rec_reset(R);
        as_sem s;
        th_sem_make(&s, 0);
        th_waiter a;
        sem_pass_a(L, R, &s, &a, 2, 1);
        uint64_t t0 = th_timer_cqes(L);
        TH_RC(as_sem_try_acquire(&s, 1), 1);     /* newcomers pass it */
        release_from_thread(&s, 2);              /* it fits: not served */
        TH_EQ(as_sem_waiters(&s), 1);
        TH_EQ(as_sem_value(&s), 2);
        TH_EQ(th_rec_count(R), 0);
        if (fits_at_timer) {
            th_rec_wait(L, R, 1);                /* its timer: it takes 2 */
            TH_RC(th_rec_status_of(R, 1), 0);
            TH_EQ(as_sem_value(&s), 0);
        } else {
            TH_RC(as_sem_try_acquire(&s, 1), 1);
            (void)th_run_timer(L, t0);          /* 1 < 2 at its timer */
            TH_EQ(th_rec_count(R), 0);
            TH_EQ(as_sem_value(&s), 1);
            TH_RC(as_sem_try_acquire(&s, 1), 0); /* STARVING: HANDOFF */
            release_from_thread(&s, 1);          /* handed over */
            TH_EQ(as_sem_waiters(&s), 0);
            TH_EQ(as_sem_value(&s), 0);
            th_rec_wait(L, R, 1);
            TH_RC(th_rec_status_of(R, 1), 0);
        }
        TH_RC(as_sem_release(&s, 4), 0);
        TH_RC(as_sem_try_acquire(&s, 4), 1);
        TH_RC(as_sem_destroy(&s), 0);
    }
}

/* QUIET (sem.c STATE WORD): with the head PASSED and nothing woken, the
 * word says so, and releases and forgets from other threads change COUNT
 * lock-free and leave the head queued (forget takes from COUNT, never from
 * the state bits); a release from the head's own loop's thread still hands
 * it the permits at once (sem_passed_here).  The bits are read from the
 * private word: QUIET changes nothing a caller can see but which path a
 * release takes, and a mutant that never enters it fails only here. */
#define SEM_STATE_BITS(s) ((s)->as__word & 0xc0000000u)
#define SEM_STATE_QUIET 0x40000000u
static void sem_policy_quiet(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    sem_pass_a(L, R, &s, &a, 2, 1);
    TH_EQ(SEM_STATE_BITS(&s), SEM_STATE_QUIET);
    TH_EQ(as_sem_value(&s), 1);
    TH_EQ(as_sem_forget(&s, 3), 1);          /* COUNT's 1, not 3 */
    TH_EQ(as_sem_forget(&s, 1), 0);
    TH_EQ(SEM_STATE_BITS(&s), SEM_STATE_QUIET);
    release_from_thread(&s, 1);              /* lock-free: a stays */
    TH_EQ(as_sem_value(&s), 1);
    TH_EQ(as_sem_waiters(&s), 1);
    TH_EQ(SEM_STATE_BITS(&s), SEM_STATE_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_sem_release(&s, 1), 0);         /* a's loop: a served now */
    TH_EQ(as_sem_waiters(&s), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_EQ(SEM_STATE_BITS(&s), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_sem_release(&s, 3), 0);
    TH_RC(as_sem_try_acquire(&s, 3), 1);
    TH_RC(as_sem_destroy(&s), 0);
}

/* S1 with a PASSED head: the waits behind it wait for it, even when they
 * fit; when it leaves (cancel), the grant serves the next head. */
static void sem_policy_passed_cancel(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    release_from_thread(&s, 1);              /* a woken */
    TH_RC(as_sem_try_acquire(&s, 1), 1);     /* a newcomer */
    th_run_until(L, sem_queued_is_2, &s, TH_TIMEOUT); /* a: back, PASSED */
    release_from_thread(&s, 1);              /* b fits, behind a: waits */
    TH_EQ(as_sem_waiters(&s), 2);
    TH_RC(as_cancel(&a.w), 0);               /* the grant runs: b woken */
    th_rec_wait(L, R, 2);
    TH_RC(th_rec_status_of(R, 1), -ECANCELED);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 2), 0);
    TH_RC(as_sem_try_acquire(&s, 2), 1);
    TH_RC(as_sem_destroy(&s), 0);
}

/* POLICY's front order: a PASSED wait whose timer fires moves ahead of the
 * PASSED waits before it (behind the STARVING ones), so HANDOFF, which
 * follows the head, keeps newcomers out.  p1 on L and p2 on a second ring
 * loop M come back PASSED in that order; only M runs, so p2's timer fires
 * first: p2 STARVING heads the queue and the next release is its. */
static void sem_policy_passed_order(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    th_loop M;
    th_loop_setup(&M, TH_RING, NULL);
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter p1, p2;
    th_waiter_init(&p1, R, L, 1);
    th_waiter_init(&p2, R, &M, 2);
    TH_RC(th_sem_acquire(&p1, &s, 1), 0);
    TH_RC(th_sem_acquire(&p2, &s, 1), 0);
    release_from_thread(&s, 2);              /* both woken */
    TH_RC(as_sem_try_acquire(&s, 2), 1);     /* a newcomer takes both */
    th_run_until(L, sem_queued_is_1, &s, TH_TIMEOUT);  /* p1 back */
    th_run_until(&M, sem_queued_is_2, &s, TH_TIMEOUT); /* p2 behind it */
    as_waiter_info q[2];
    TH_EQ(as_sem_dump(&s, q, 2), 2);
    TH_EQ(q[0].wait == &p1.w && q[1].wait == &p2.w, 1); /* in the order back */
    (void)th_run_timer(&M, th_timer_cqes(&M)); /* p2 STARVING, ahead */
    TH_EQ(th_rec_count(R), 0);
    release_from_thread(&s, 1);              /* p2's, directly */
    TH_EQ(as_sem_value(&s), 0);
    TH_EQ(as_sem_waiters(&s), 1);
    th_rec_wait(&M, R, 1);
    th_rec_assert_ids(R, 2);
    release_from_thread(&s, 1);              /* p1 still PASSED: its timer */
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 2, 1);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 4), 0);
    TH_RC(as_sem_try_acquire(&s, 4), 1);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&M);
}

/* A woken wait that is cancelled, or whose semaphore closes, on its way
 * gives up on arrival and passes its claim on: the next head is served. */
static void sem_policy_woken_gives_up(void **state)
{
    FIX();
    for (int close = 0; close <= 1; close++) {
        th_rec_reset(R);
        as_sem s;
        th_sem_make(&s, 0);
        th_waiter a, b;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&b, R, L, 2);
        TH_RC(th_sem_acquire(&a, &s, 1), 0);
        TH_RC(th_sem_acquire(&b, &s, 1), 0);
        release_from_thread(&s, 1); /* a woken; b does not fit beside it */
        TH_EQ(as_sem_waiters(&s), 1);
        if (close) {
            TH_RC(as_sem_close(&s), 0); /* b ends now, a on arrival */
            th_rec_wait(L, R, 2);
            TH_RC(th_rec_status_of(R, 1), -ESHUTDOWN);
            TH_RC(th_rec_status_of(R, 2), -ESHUTDOWN);
            TH_EQ(as_sem_value(&s), 1); /* nobody took it */
        } else {
            TH_RC(as_cancel(&a.w), 0);
            th_rec_wait(L, R, 2);
            TH_RC(th_rec_status_of(R, 1), -ECANCELED);
            TH_RC(th_rec_status_of(R, 2), 0); /* a's claim went to b */
            TH_EQ(as_sem_value(&s), 0);
            TH_RC(as_sem_release(&s, 1), 0);
        }
        TH_RC(as_sem_destroy(&s), 0);
    }
}

/* A callback that releases for the next waiter of the same loop: that
 * waiter's callback runs in the same as_loop_run (no sleep in between). */
static as_sem *chain_sem;

static void chain_cb(th_waiter *tw, int status)
{
    if (status == 0)
        TH_RC(as_sem_release(chain_sem, 1), 0);
}

static void sem_chain_same_run(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    chain_sem = &s;
    th_waiter w[4];
    for (int i = 0; i < 4; i++) {
        th_waiter_init(&w[i], R, L, i);
        if (i < 3)
            w[i].on_cb = chain_cb;
        TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
    }
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 4);
    th_rec_assert_ids(R, 0, 1, 2, 3);
    unsigned long run0 = th_rec_get(R, 0).run;
    for (unsigned i = 1; i < 4; i++)
        if (th_rec_get(R, i).run != run0)
            th_fail("callback %u ran in as_loop_run #%lu, the first in #%lu: a callback "
                    "that became ready during as_loop_run was left for later",
                    i, th_rec_get(R, i).run, run0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Many waiters, one big release: every one exactly once, in order. */
static void sem_many_waiters(void **state)
{
    FIX();
    enum { N = 300 };
    as_sem s;
    th_sem_make(&s, 0);
    static th_waiter w[N];
    for (int i = 0; i < N; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
    }
    TH_RC(as_sem_release(&s, N + 5), 0);
    th_rec_wait(L, R, N);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), N);
    for (int i = 0; i < N; i++) {
        TH_EQ(th_rec_get(R, (unsigned)i).id, i);
        TH_EQ(atomic_load(&w[i].calls), 1);
    }
    TH_EQ(as_sem_value(&s), 5);
    TH_RC(as_sem_destroy(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(sem_fast_path),
        cmocka_unit_test(sem_pshared_platform),
        TH_TEST(sem_large_head_not_starved),
        TH_TEST(sem_weighted_batch),
        TH_TEST(sem_model_random_weights),
        TH_TEST(sem_cancel_twice),
        TH_TEST(sem_cancel_head_unblocks_smaller),
        TH_TEST(sem_cancel_partial_keeps_nothing),
        TH_TEST(sem_rearm_in_callback),
        TH_TEST(sem_free_in_callback),
        TH_TEST(sem_garbage_wait_accepted),
        TH_TEST(sem_wait_pending_states),
        TH_TEST(sem_static_initializer),
        TH_TEST(sem_value_max),
        TH_TEST(sem_chain_same_run),
        TH_TEST(sem_many_waiters),
        TH_TEST(sem_policy_wake_barge_starve),
        TH_TEST(sem_policy_large_head_accumulates),
        TH_TEST(sem_policy_starving_blocks_barging),
        TH_TEST(sem_policy_passed),
        TH_TEST(sem_policy_passed_cancel),
        TH_TEST(sem_policy_quiet),
        TH_TEST(sem_policy_passed_order),
        TH_TEST(sem_policy_woken_gives_up),
    };
    return TH_MAIN("sem", tests);
}
