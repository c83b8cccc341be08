/*
 * Conformance: as_mutex (FIFO waiters; default eventual fairness, or strict
 * hand-off with AS_MUTEX_STRICT_FIFO).  What every primitive shares (FIFO
 * order, cancel, cancel after the hand-off, bad input; both policies are
 * rows) is in test_prims.c; here what only a mutex has.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static const unsigned mutex_modes[2] = { 0, AS_MUTEX_STRICT_FIFO };

static void mutex_fast_path(void **state)
{
    FIX();
    for (int mode = 0; mode < 2; mode++) {
        as_mutex m;
        th_mutex_make(&m, mutex_modes[mode]);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(as_mutex_try_lock(&m), 0);
        TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_unlock(&m), -EPERM);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        TH_RC(th_mutex_lock(&a, &m, false), 1);
        TH_EQ(as_wait_pending(&a.w), 0);
        TH_RC(as_mutex_try_lock(&m), 0);
        TH_RC(as_mutex_destroy(&m), -EBUSY); /* locked */
        TH_RC(as_mutex_unlock(&m), 0);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 0);
        TH_RC(as_mutex_destroy(&m), 0);
    }
}

/* Strict FIFO: unlock hands the lock to the head waiter at once, so
 * try_lock fails while waiters are queued, even right after unlock. */
static void mutex_strict_fifo_handoff(void **state)
{
    FIX();
    as_mutex m;
    th_mutex_make(&m, AS_MUTEX_STRICT_FIFO);
    TH_RC(as_mutex_try_lock(&m), 1);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    TH_RC(th_mutex_lock(&a, &m, false), 0);
    TH_RC(th_mutex_lock(&b, &m, false), 0);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_mutex_try_lock(&m), 0); /* handed to a */
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1);
    TH_RC(as_mutex_try_lock(&m), 0);
    TH_RC(as_mutex_unlock(&m), 0);   /* a's unlock */
    TH_RC(as_mutex_try_lock(&m), 0); /* handed to b */
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 1, 2);
    TH_EQ(th_rec_get(R, 1).held, 0);
    TH_RC(as_mutex_unlock(&m), 0); /* b's unlock */
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Default mode: a waiter on the unlocker's own loop is always handed the lock
 * directly.  The unlock runs inside a callback of the same loop. */
static as_mutex *own_m;
static as_wait *own_cancel;
static int own_trylock = 100, own_cancel_rc = 100;

static void own_unlock_cb(th_waiter *tw, int status)
{
    TH_RC(as_mutex_unlock(own_m), 0);
    own_trylock = as_mutex_try_lock(own_m);
    if (own_trylock == 1)
        as_mutex_unlock(own_m);
    if (own_cancel)
        own_cancel_rc = as_cancel(own_cancel);
}

static void mutex_default_same_loop_handoff(void **state)
{
    FIX();
    for (int with_cancel = 0; with_cancel < 2; with_cancel++) {
        as_mutex m;
        as_event go;
        th_mutex_make(&m, 0);
        th_event_make(&go, 0);
        th_rec_reset(R);
        own_m = &m;
        own_trylock = own_cancel_rc = 100;
        TH_RC(as_mutex_try_lock(&m), 1);
        th_waiter a, x;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&x, R, L, 2);
        TH_RC(th_mutex_lock(&a, &m, true), 0);
        own_cancel = with_cancel ? &a.w : NULL;
        x.on_cb = own_unlock_cb;
        TH_RC(th_event_wait(&x, &go), 0);
        TH_RC(as_event_set(&go), 0);
        th_rec_wait(L, R, 2);
        th_quiesce(L, TH_QUIET);
        th_rec_assert_ids(R, 2, 1);
        TH_RC(own_trylock, 0); /* the lock went straight to a */
        if (with_cancel)       /* cancelled after the hand-off: 0, and the */
            TH_RC(own_cancel_rc, 0); /* lock went back (try_lock below) */
        TH_RC(th_rec_status_of(R, 1), with_cancel ? -ECANCELED : 0);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_destroy(&m), 0);
        TH_RC(as_event_destroy(&go), 0);
    }
}

/* Default mode: every waiter eventually gets it, exactly once, holding it
 * alone (th_cb checks try_lock fails in each callback). */

static void mutex_default_everyone_gets_it(void **state)
{
    FIX();
    enum { N = 40 };
    as_mutex m;
    th_mutex_make(&m, 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    static th_waiter w[N];
    for (int i = 0; i < N; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_mutex_lock(&w[i], &m, true), 0);
    }
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(L, R, N);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), N);
    for (int i = 0; i < N; i++) {
        TH_EQ(atomic_load(&w[i].calls), 1);
        TH_RC(atomic_load(&w[i].status), 0);
    }
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Two waiters re-arm from their callbacks and ping-pong the lock. */
static as_mutex *pp_m;
static int pp_rearm_bad;

static void pp_cb(th_waiter *tw, int status)
{
    if (status != 0) {
        pp_rearm_bad++;
        return;
    }
    if (--tw->user_n > 0) {
        int r = th_mutex_lock(tw, pp_m, false); /* we hold it: must pend */
        if (r != 0)
            pp_rearm_bad++;
    }
    if (as_mutex_unlock(pp_m) != 0)
        pp_rearm_bad++;
}

static void mutex_rearm_ping_pong(void **state)
{
    FIX();
    for (int mode = 0; mode < 2; mode++) {
        as_mutex m;
        th_mutex_make(&m, mutex_modes[mode]);
        th_rec_reset(R);
        pp_m = &m;
        pp_rearm_bad = 0;
        TH_RC(as_mutex_try_lock(&m), 1);
        th_waiter a, b;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&b, R, L, 2);
        a.on_cb = b.on_cb = pp_cb;
        a.user_n = b.user_n = 5;
        TH_RC(th_mutex_lock(&a, &m, false), 0);
        TH_RC(th_mutex_lock(&b, &m, false), 0);
        TH_RC(as_mutex_unlock(&m), 0);
        th_rec_wait(L, R, 10);
        th_quiesce(L, TH_QUIET);
        th_rec_assert_ids(R, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2);
        TH_EQ(pp_rearm_bad, 0);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_destroy(&m), 0);
    }
}

/* Unlock inside a callback hands to the next same-loop waiter, whose
 * callback runs in the same as_loop_run. */
static void mutex_chain_same_run(void **state)
{
    FIX();
    for (int mode = 0; mode < 2; mode++) {
        as_mutex m;
        th_mutex_make(&m, mutex_modes[mode]);
        th_rec_reset(R);
        TH_RC(as_mutex_try_lock(&m), 1);
        th_waiter w[4];
        for (int i = 0; i < 4; i++) {
            th_waiter_init(&w[i], R, L, i);
            TH_RC(th_mutex_lock(&w[i], &m, true), 0);
        }
        TH_RC(as_mutex_unlock(&m), 0);
        th_rec_wait(L, R, 4);
        th_rec_assert_ids(R, 0, 1, 2, 3);
        for (unsigned i = 1; i < 4; i++)
            if (th_rec_get(R, i).run != th_rec_get(R, 0).run)
                th_fail("mode %d: waiter %u ran in as_loop_run #%lu, waiter 0 in #%lu", mode, i,
                        th_rec_get(R, i).run, th_rec_get(R, 0).run);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_destroy(&m), 0);
    }
}

static void mutex_free_in_callback(void **state)
{
    FIX();
    as_mutex m;
    th_mutex_make(&m, 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    for (int i = 0; i < 4; i++) {
        th_waiter *tw = malloc(sizeof *tw);
        assert_non_null(tw);
        th_waiter_init(tw, R, L, i);
        tw->on_cb = th_free_waiter_cb;
        TH_RC(th_mutex_lock(tw, &m, true), 0);
    }
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(L, R, 4);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 4);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* ---- eventual fairness across loops (mutex.c POLICY, M2, M5) ----
 * The waits are on L, which this thread runs: an unlock from this thread
 * hands the lock to them directly (own loop).  The unlocks that must come
 * from "another loop" come from a plain thread. */

static bool mutex_queued_is_1(void *arg)
{
    return as_mutex_waiters(arg) == 1;
}

/* Lock m, queue a (unlocking in its callback), then an unlock from another
 * thread wakes a and leaves the lock free, a newcomer (this thread) takes
 * it, and a finds it taken: back in the queue, PASSED on a ring loop,
 * STARVING on a loop without a timer.  The test holds the lock after. */
static void mutex_pass_a(th_loop *L, th_rec *R, as_mutex *m, th_waiter *a)
{
    TH_RC(as_mutex_try_lock(m), 1);
    th_waiter_init(a, R, L, 1);
    TH_RC(th_mutex_lock(a, m, true), 0);
    th_mutex_unlock_from_thread(m);  /* a woken, the lock free */
    TH_EQ(as_mutex_waiters(m), 0);
    TH_RC(as_mutex_destroy(m), -EBUSY); /* a woken waiter is on its way */
    TH_RC(as_mutex_try_lock(m), 1);     /* a newcomer barges */
    th_run_until(L, mutex_queued_is_1, m, TH_TIMEOUT); /* a: back */
    TH_EQ(th_rec_count(R), 0);
}

/* M5.  PASSED: unlocks from other loops leave a queued with the lock free,
 * newcomers still pass it; at its timer it takes the lock if free
 * (free_at_timer), else it is STARVING: newcomers stop, and the next unlock,
 * from anywhere, hands it the lock.  Without a timer (notify loop): STARVING
 * at once. */
static void mutex_policy_passed(void **state)
{
    FIX();
    bool passes = th_loop_passes(L);
    for (int free_at_timer = 0; free_at_timer <= (int)passes; free_at_timer++) {
        th_rec_reset(R);
        as_mutex m;
        th_waiter a;
        th_mutex_make(&m, 0);
        mutex_pass_a(L, R, &m, &a);
        if (passes) {
            uint64_t t0 = th_timer_cqes(L);
            th_mutex_unlock_from_thread(&m);
            TH_EQ(as_mutex_waiters(&m), 1);      /* not woken, not handed */
            TH_RC(as_mutex_try_lock(&m), 1);     /* newcomers pass it */
            th_mutex_unlock_from_thread(&m);
            TH_RC(as_mutex_try_lock(&m), 1);
            if (free_at_timer) {
                th_mutex_unlock_from_thread(&m);
                th_rec_wait(L, R, 1);            /* its timer: it takes it */
                TH_RC(th_rec_status_of(R, 1), 0);
                TH_RC(as_mutex_destroy(&m), 0);
                continue;
            }
            (void)th_run_timer(L, t0);          /* held at its timer */
            TH_EQ(th_rec_count(R), 0);
            TH_EQ(as_mutex_waiters(&m), 1);
        }
        /* STARVING: handed the lock by an unlock from another loop */
        th_mutex_unlock_from_thread(&m);
        TH_RC(as_mutex_try_lock(&m), 0);
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), 0);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_destroy(&m), 0);
    }
}

/* M2: a PASSED head that leaves without the lock (cancel, or close with a
 * condvar waiter re-acquiring behind it) wakes the next head when the lock
 * is free: nobody else would until the next lock, which may never come. */
static void mutex_policy_passed_leaves(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    for (int close = 0; close <= 1; close++) {
        th_rec_reset(R);
        as_mutex m;
        as_cond c;
        th_waiter a, b;
        th_mutex_make(&m, 0);
        th_cond_make(&c);
        th_waiter_init(&b, R, L, 2);
        if (close) { /* b waits on c, signalled below while m is held */
            TH_RC(as_mutex_try_lock(&m), 1);
            TH_RC(th_cond_wait(&b, &c, &m, true), 0);
        }
        mutex_pass_a(L, R, &m, &a);
        if (close)
            TH_RC(as_cond_signal(&c), 0);   /* b queues behind a */
        else
            TH_RC(th_mutex_lock(&b, &m, true), 0);
        TH_EQ(as_mutex_waiters(&m), 2);
        th_mutex_unlock_from_thread(&m);    /* free; a PASSED: nobody woken */
        TH_EQ(as_mutex_waiters(&m), 2);
        if (close)
            TH_RC(as_mutex_close(&m), 0);  /* a ends; b keeps its place */
        else
            TH_RC(as_cancel(&a.w), 0);
        th_rec_wait(L, R, 2);
        TH_RC(th_rec_status_of(R, 1), close ? -ESHUTDOWN : -ECANCELED);
        TH_RC(th_rec_status_of(R, 2), 0);   /* b got the lock */
        TH_RC(as_mutex_try_lock(&m), close ? -ESHUTDOWN : 1);
        if (!close)
            TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_destroy(&m), 0);
        TH_RC(as_cond_destroy(&c), 0);
    }
}

/* M6, QUIET (mutex.c STATE WORD): with the head PASSED and nothing woken the
 * word says so; an unlock from another thread frees the lock without the
 * queue lock and leaves the head queued, and one from the head's own
 * loop's thread hands it the lock at once (mutex_passed_here).  Whatever
 * makes the head stop being PASSED while the lock is held clears QUIET, so
 * that the next unlock takes the queue lock: the timer (the head is
 * STARVING: handed the lock), a cancel (the next head is woken).  The bits
 * are read from the private word: the lock-free unlock changes nothing a
 * caller sees but the path, and a mutant that never enters it fails only
 * here. */
#define MUTEX_WORD(m) ((m)->as__word)
#define MW_LOCKED 1u
#define MW_WAITERS 2u
#define MW_QUIET 16u
static bool mutex_not_quiet(void *arg)
{
    return !(MUTEX_WORD((as_mutex *)arg) & MW_QUIET);
}

static void mutex_policy_quiet(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    for (int end = 0; end <= 2; end++) { /* own-loop unlock, timer, cancel */
        th_rec_reset(R);
        as_mutex m;
        th_waiter a, b;
        th_mutex_make(&m, 0);
        mutex_pass_a(L, R, &m, &a);
        TH_EQ(MUTEX_WORD(&m), MW_LOCKED | MW_WAITERS | MW_QUIET);
        th_mutex_unlock_from_thread(&m);         /* lock-free: a stays */
        TH_EQ(MUTEX_WORD(&m), MW_WAITERS | MW_QUIET);
        TH_EQ(as_mutex_waiters(&m), 1);
        TH_RC(as_mutex_try_lock(&m), 1);         /* newcomers pass it */
        TH_EQ(MUTEX_WORD(&m), MW_LOCKED | MW_WAITERS | MW_QUIET);
        if (end == 0) {
            TH_RC(as_mutex_unlock(&m), 0);       /* a's loop: a's now */
            TH_EQ(MUTEX_WORD(&m), MW_LOCKED);
            TH_EQ(as_mutex_waiters(&m), 0);
        } else if (end == 1) {
            /* a STARVING at its timer (a timer CQE of an earlier round
             * may come first) */
            th_run_until(L, mutex_not_quiet, &m, TH_TIMEOUT);
            TH_EQ(th_rec_count(R), 0);
            TH_EQ(MUTEX_WORD(&m), MW_LOCKED | MW_WAITERS);
            th_mutex_unlock_from_thread(&m);     /* handed to a */
            TH_EQ(as_mutex_waiters(&m), 0);
        } else {
            th_waiter_init(&b, R, L, 2);
            TH_RC(th_mutex_lock(&b, &m, true), 0); /* behind a */
            TH_RC(as_cancel(&a.w), 0);           /* b heads, not PASSED */
            TH_EQ(MUTEX_WORD(&m), MW_LOCKED | MW_WAITERS);
            th_mutex_unlock_from_thread(&m);     /* b woken */
            TH_EQ(as_mutex_waiters(&m), 0);
        }
        th_rec_wait(L, R, end == 2 ? 2 : 1);
        TH_RC(th_rec_status_of(R, end == 2 ? 2 : 1), 0);
        if (end == 2)
            TH_RC(th_rec_status_of(R, 1), -ECANCELED);
        TH_EQ(MUTEX_WORD(&m), 0u);
        TH_RC(as_mutex_destroy(&m), 0);
    }
}

/* AS_PSHARED / AS_MUTEX_ROBUST (tests/test_pshared.c has the rows across
 * processes): init refused where process-shared objects are not built
 * (Windows), -EINVAL still first for bad flags and for ROBUST without
 * PSHARED; on Linux the object works in one process too. */
static void mutex_pshared_platform(void **state)
{
    (void)state;
    as_mutex m;
    memset(&m, 0, sizeof m);
    TH_RC(as_mutex_init(&m, AS_PSHARED | 0x100u), -EINVAL);
    TH_RC(as_mutex_init(&m, AS_MUTEX_ROBUST), -EINVAL);
    TH_RC(as_mutex_init(&m, AS_PSHARED | AS_PSHARED_SLOTS(AS_PSHARED_SLOTS_MAX + 1)), -EINVAL);
    TH_RC(as_mutex_init(&m, 0), 0);
    TH_RC(as_mutex_consistent(&m), -EINVAL);
    TH_RC(as_mutex_destroy(&m), 0);
#ifdef _WIN32
    TH_RC(as_mutex_init(&m, AS_PSHARED | AS_MUTEX_ROBUST), -EOPNOTSUPP);
    TH_EQ(as_mutex_waiters(&m), -EINVAL);
#else
    TH_RC(as_mutex_init(&m, AS_PSHARED | AS_MUTEX_ROBUST), 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_lock_blocking(&m, as_now_ns()), -ETIMEDOUT);
    TH_RC(as_mutex_destroy(&m), -EBUSY);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_mutex_unlock(&m), -EPERM);
    TH_EQ(as_mutex_waiters(&m), 0);
    TH_RC(as_mutex_destroy(&m), 0);
#endif
}

static void mutex_static_initializer(void **state)
{
    FIX();
    as_mutex m = AS_MUTEX_INITIALIZER;
    TH_RC(as_mutex_try_lock(&m), 1);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_mutex_lock(&a, &m, true), 0);
    TH_RC(as_mutex_destroy(&m), -EBUSY);
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_mutex_destroy(&m), 0);
    TH_RC(as_mutex_try_lock(&m), -EINVAL);
    TH_RC(as_mutex_init(&m, AS_MUTEX_STRICT_FIFO), 0);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(mutex_fast_path),
        TH_TEST(mutex_strict_fifo_handoff),
        TH_TEST(mutex_default_same_loop_handoff),
        TH_TEST(mutex_default_everyone_gets_it),
        TH_TEST(mutex_rearm_ping_pong),
        TH_TEST(mutex_chain_same_run),
        TH_TEST(mutex_policy_passed),
        TH_TEST(mutex_policy_passed_leaves),
        TH_TEST(mutex_policy_quiet),
        TH_TEST(mutex_free_in_callback),
        TH_TEST(mutex_static_initializer),
        TH_TEST(mutex_pshared_platform),
    };
    return TH_MAIN("mutex", tests);
}
