/*
 * Conformance: loop binding, backend selection, notify hooks, cancel,
 * teardown, completions that are not the library's, full SQ / CQ.
 *
 * Windows (iocp loops): everything but the io_uring specifics (CQEs that
 * are not the library's, full SQ); tests/win/test_iocp.c has the iocp
 * counterparts (application packets, refused posts).
 */
#include "harness.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* Pump several loops until r has n entries (polls in short slices: these
 * loops cannot share one blocking wait). */
static void pump_all_until(th_loop **ls, int nl, th_rec *r, unsigned n)
{
    double dl = th_now() + TH_TIMEOUT;
    for (;;) {
        for (int i = 0; i < nl; i++)
            th_pump(ls[i]);
        if (th_rec_count(r) >= n)
            return;
        if (th_now() > dl)
            th_fail("timed out: %u of %u callbacks across %d loops", th_rec_count(r), n, nl);
        for (int i = 0; i < nl; i++)
            th_loop_wait(ls[i], 2);
    }
}

/* A small scenario any loop must pass: pending + same-thread release,
 * cancel, and a release from a thread that runs no loop. */
static void basic_scenario(th_loop *X)
{
    th_rec r;
    th_rec_init(&r);
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a, b, c;
    th_waiter_init(&a, &r, X, 1);
    th_waiter_init(&b, &r, X, 2);
    th_waiter_init(&c, &r, X, 3);

    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(X, &r, 1);
    TH_RC(th_rec_status_of(&r, 1), 0);

    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(as_cancel(&b.w), 0);
    th_rec_wait(X, &r, 2);
    TH_RC(th_rec_status_of(&r, 2), -ECANCELED);

    TH_RC(th_sem_acquire(&c, &s, 1), 0);
    th_pump(X);
    th_release ra = { &s, 1, 100 };
    pthread_t t;
    th_thread_start(&t, th_release_thread, &ra);
    th_rec_wait_woken(X, &r, 3); /* a blocked loop must get a CQE / notify */
    th_thread_join(t);
    TH_RC(ra.rc, 0);
    TH_RC(th_rec_status_of(&r, 3), 0);
    TH_EQ(as_sem_value(&s), 0);
    th_rec_assert_clean(&r);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- backend selection -------------------------------------------------- */

static void loop_backend_matches_env(void **state)
{
    FIX();
    const char *b = as_loop_backend(&L->loop);
    assert_non_null(b);
    const char *env = th_env_backend();
    if (env)
        assert_string_equal(b, env);
    else
        assert_string_equal(b, th_default_backend());
    unsigned caps = as_loop_caps(&L->loop);
    if (strcmp(b, "uring") == 0) {
        TH_EQ(!!(caps & AS_CAP_FUTEX_WAIT), 1);
        TH_EQ(!!(caps & AS_CAP_PSHARED), 1);
    } else {
        TH_EQ(caps & (AS_CAP_FUTEX_WAIT | AS_CAP_PSHARED), 0);
    }

    for (int k = TH_NOTIFY_EFD; k <= TH_NOTIFY_COND; k++) {
        th_loop G;
        th_loop_setup(&G, (th_kind)k, NULL);
        assert_string_equal(as_loop_backend(&G.loop), "generic");
        TH_EQ(as_loop_caps(&G.loop) &
                  (AS_CAP_FUTEX_WAIT | AS_CAP_RING_WAKE | AS_CAP_PSHARED), 0);
        th_loop_destroy(&G);
    }
}

/* Capability masks force the degraded paths; the loop must still work. */
static void loop_disabled_caps(void **state)
{
    const unsigned masks[4] = { AS_CAP_FUTEX_WAIT, AS_CAP_RING_WAKE,
                                AS_CAP_FUTEX_WAIT | AS_CAP_RING_WAKE,
                                AS_CAP_PSHARED };
    for (int i = 0; i < 4; i++) {
        th_loop X;
        as_loop_options o = { 0, masks[i] };
        th_loop_setup(&X, TH_RING, &o);
        TH_EQ(as_loop_caps(&X.loop) & masks[i], 0);
        if (th_env_backend() && !(masks[i] & AS_CAP_FUTEX_WAIT))
            assert_string_equal(as_loop_backend(&X.loop), th_env_backend());
        basic_scenario(&X);
        th_loop_destroy(&X);
    }
}

static void loop_basic_every_kind(void **state)
{
    for (int k = 0; k < 3; k++) {
        th_loop X;
        th_loop_setup(&X, (th_kind)k, NULL);
        basic_scenario(&X);
        th_loop_destroy(&X);
    }
}

/* ---- as_loop_run -------------------------------------------------------- */

static void loop_run_returns_count(void **state)
{
    FIX();
    TH_RC(th_loop_run(L), 0);
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter w[3];
    for (int i = 0; i < 3; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
    }
    unsigned long before = L->callbacks;
    TH_RC(as_sem_release(&s, 3), 0);
    th_rec_wait(L, R, 3);
    th_quiesce(L, TH_QUIET);
    TH_EQ(L->callbacks - before, 3);
    TH_RC(th_loop_run(L), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- teardown ----------------------------------------------------------- */

/* Destroy with pending waits: -EBUSY, nothing changed, the loop still works. */
static void loop_destroy_busy_then_works(void **state)
{
    FIX();
    as_sem s;
    as_mutex m;
    as_event e;
    as_cond c;
    th_sem_make(&s, 0);
    th_mutex_make(&m, 0);
    th_event_make(&e, 0);
    th_cond_make(&c);
    th_waiter a, b, x, y, z;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&x, R, L, 3);
    th_waiter_init(&y, R, L, 4);
    th_waiter_init(&z, R, L, 5);

    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_RC(as_loop_destroy(&L->loop), -EBUSY);
    TH_EQ(as_wait_pending(&a.w), 1);
    assert_non_null(as_loop_backend(&L->loop));
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);

    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(as_loop_destroy(&L->loop), -EBUSY);
    TH_RC(as_cancel(&b.w), 0);
    TH_RC(as_loop_destroy(&L->loop), -EBUSY); /* callback not run yet */
    th_rec_wait(L, R, 2);
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);

    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(th_mutex_lock(&x, &m, true), 0);
    TH_RC(th_event_wait(&y, &e), 0);
    TH_RC(as_loop_destroy(&L->loop), -EBUSY);
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_event_set(&e), 0);
    th_rec_wait(L, R, 4);
    TH_RC(as_mutex_try_lock(&m), 1);
    TH_RC(th_cond_wait(&z, &c, &m, true), 0);
    TH_RC(as_loop_destroy(&L->loop), -EBUSY);
    TH_RC(as_cond_signal(&c), 0);
    th_rec_wait(L, R, 5);
    basic_scenario(L);
    /* teardown destroys it: 0 expected */
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_mutex_destroy(&m), 0);
    TH_RC(as_event_destroy(&e), 0);
    TH_RC(as_cond_destroy(&c), 0);
}

/* as_loop_destroy inside one of the loop's own callbacks: the loop is still
 * running (as_loop_run walks it after the callback), so -EBUSY, nothing
 * changed, even when this was the loop's last pending wait. */
static int destroy_in_cb_rc = 1;

static void destroy_in_cb(th_waiter *tw, int status)
{
    (void)status;
    destroy_in_cb_rc = as_loop_destroy(&tw->L->loop);
}

static void loop_destroy_inside_callback(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    a.on_cb = destroy_in_cb;
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 1);
    TH_RC(destroy_in_cb_rc, -EBUSY);
    assert_non_null(as_loop_backend(&L->loop));
    /* The loop still works, and tears down normally (fixture). */
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 2);
    TH_RC(as_sem_destroy(&s), 0);
}

/* as_loop_destroy from a thread that does not run the loop, while waits
 * are pending: -EBUSY, and that thread did not become the loop's thread:
 * its next release to the loop must still wake it (a thread that thought it
 * ran the loop would append to the ready list and wake nobody). */
struct foreign_destroy {
    long loop_thread;
    as_loop *loop;
    as_sem *s;
    int destroy_rc;
    int release_rc;
};

static void *foreign_destroy_main(void *p)
{
    struct foreign_destroy *a = p;
    a->destroy_rc = as_loop_destroy(a->loop);
    th_wait_asleep(a->loop_thread);
    a->release_rc = as_sem_release(a->s, 1);
    return NULL;
}

static void loop_destroy_from_other_thread(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);
    struct foreign_destroy fd = { th_thread_id(), &L->loop, &s, 1, 1 };
    pthread_t t;
    th_thread_start(&t, foreign_destroy_main, &fd);
    th_rec_wait_woken(L, R, 1);
    th_thread_join(t);
    TH_RC(fd.destroy_rc, -EBUSY);
    TH_RC(fd.release_rc, 0);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Destroy right after a cancelled wait's callback: whatever the library
 * still has armed in the kernel is reaped by the -EAGAIN idiom. */
static void loop_destroy_right_after_cancel(void **state)
{
    for (int k = 0; k < 3; k++) {
        th_loop X;
        th_rec r;
        th_rec_init(&r);
        th_loop_setup(&X, (th_kind)k, NULL);
        as_sem s;
        th_sem_make(&s, 0);
        th_waiter a;
        th_waiter_init(&a, &r, &X, 1);
        TH_RC(th_sem_acquire(&a, &s, 1), 0);
        th_pump(&X);
        TH_RC(as_cancel(&a.w), 0);
        th_rec_wait(&X, &r, 1);
        TH_RC(th_rec_status_of(&r, 1), -ECANCELED);
        th_loop_destroy(&X);
        th_rec_assert_clean(&r);
        TH_RC(as_sem_destroy(&s), 0);
    }
}

/* A ring outlives a loop bound to it: destroy, bind again, use again. */
static void loop_reinit_same_ring(void **state)
{
    FIX();
    basic_scenario(L);
    TH_RC(th_as_loop_destroy(L), 0);
    assert_null(as_loop_backend(&L->loop));
    TH_RC(as_loop_destroy(&L->loop), -EINVAL);
    TH_RC(th_loop_rebind(L, NULL), 0); /* as_loop_init_uring / _iocp, same ring / port */
    basic_scenario(L);
}

/* ---- completions that are not the library's ------------------------------ */

#ifndef _WIN32 /* CQEs; Windows: test_iocp.c, iocp_application_packets */
static void loop_foreign_cqes(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);

    uintptr_t base = (uintptr_t)&L->loop;
    /* An application's own values: small integers, pointers into (or at)
     * the loop, tagged pointers to a struct whose first member is the loop
     * (issue 11: they once collided with the library's address + tag),
     * values with bit 63 set but bits 60-62 not clear. */
    const uint64_t uds[] = { 0, 1, 7, base, base + 1, base + 3, base + 7, base + 8, base + 64,
                             base - 1, TH_FOREIGN_TAG | 5, ~0ull,
                             (1ull << 63) | (1ull << 62) | (1ull << 56) | base,
                             (1ull << 63) | (1ull << 60) | base };
    enum { N = sizeof uds / sizeof uds[0] };
    for (int i = 0; i < N; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&L->ring);
        assert_non_null(sqe);
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, uds[i]);
    }
    io_uring_submit(&L->ring);
    int seen = 0;
    double dl = th_now() + TH_TIMEOUT;
    while (seen < N) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { 0, 100000000 };
        if (th_now() > dl)
            th_fail("only %d of %d NOP completions arrived", seen, N);
        if (io_uring_wait_cqe_timeout(&L->ring, &cqe, &ts) != 0)
            continue;
        uint64_t ud = cqe->user_data;
        bool mine = false;
        for (int i = 0; i < N; i++)
            if (ud == uds[i])
                mine = true;
        if (mine) {
            if (as_loop_handle_cqe(&L->loop, cqe))
                th_fail("as_loop_handle_cqe claimed an application CQE, user_data %#llx "
                        "(loop at %#llx)", (unsigned long long)ud, (unsigned long long)base);
            seen++;
        } else if (ud == (uint64_t)(uintptr_t)&L->kick_buf) {
            L->kick_armed = false;
        } else if (!as_loop_handle_cqe(&L->loop, cqe)) {
            th_fail("unknown CQE user_data %#llx", (unsigned long long)ud);
        }
        io_uring_cqe_seen(&L->ring, cqe);
    }
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(as_sem_destroy(&s), 0);
}
#endif

/* ---- teardown in the common case: 0 at once ------------------------------ */

/* A loop that parked and was woken (its doorbell armed in the kernel),
 * with nothing pending and no message on its way, tears down with one
 * as_loop_destroy returning 0: no -EAGAIN round. */
static void loop_teardown_returns_zero(void **state)
{
    (void)state;
    enum { NL = 3 };
    th_loop *ls = th_zalloc(NL * sizeof *ls);
    th_rec rec;
    th_rec_init(&rec);
    as_sem s;
    th_sem_make(&s, 0);
    for (int i = 0; i < NL; i++) {
        int r = th_loop_init(&ls[i], TH_RING, NULL);
        if (r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP) {
            free(ls);
            skip();
        }
        assert_int_equal(r, 0);
    }
    for (int round = 0; round < 2; round++) {
        th_waiter w[NL];
        for (int i = 0; i < NL; i++) {
            th_waiter_init(&w[i], &rec, &ls[i], round * NL + i);
            TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
            th_pump(&ls[i]); /* the doorbell is in the kernel */
        }
        th_release ra = { &s, NL, 1 };
        pthread_t t;
        th_thread_start(&t, th_release_thread, &ra); /* futex wakes */
        th_thread_join(t);
        TH_RC(ra.rc, 0);
        for (int i = 0; i < NL; i++)
            th_rec_wait_woken(&ls[i], &rec, (unsigned)(round * NL + i + 1));
    }
    /* and one with a deadline (the ring timer armed) that was granted */
    th_waiter d;
    th_waiter_init(&d, &rec, &ls[0], 100);
    TH_RC(th_armed(&d, as_sem_acquire_until(&s, &ls[0].loop, &d.w, 1,
                                            as_now_ns() + 5000000000ull, th_cb, &d),
                   TH_HELD_NONE, NULL, false),
          0);
    th_pump(&ls[0]);
    TH_RC(as_sem_release(&s, 1), 0);
    th_rec_wait(&ls[0], &rec, 2 * NL + 1);
    th_rec_assert_clean(&rec);
    for (int i = 0; i < NL; i++) {
        TH_RC(as_loop_destroy(&ls[i].loop), 0);
        assert_null(as_loop_backend(&ls[i].loop));
        /* late CQEs (the cancelled doorbell) are swallowed */
        th_loop_after_destroy(&ls[i]);
    }
    TH_RC(as_sem_destroy(&s), 0);
    free(ls);
}

/* ---- AS_LOOP_PS_NO_COHORT ------------------------------------------------- */

/* Accepted by every backend (it matters only where a loop waits on a
 * process-shared mutex: uring, test_cohort's coh_opt_out), alone and with
 * the other flags; the loop works as without it.  An unknown flag beside
 * it is still -EINVAL (test_badinput: 0x80). */
static void loop_ps_no_cohort(void **state)
{
    FIX();
    const uint32_t fl[2] = { AS_LOOP_PS_NO_COHORT,
                             AS_LOOP_PS_NO_COHORT | AS_LOOP_DEFER_WAKES };
    for (int i = 0; i < 2; i++) {
        th_loop X;
        as_loop_options o = { fl[i], 0 };
        assert_int_equal(th_loop_init(&X, L->kind, &o), 0);
        basic_scenario(&X);
        th_loop_destroy(&X);
    }
    {
        th_loop X;
        as_loop_options o = { AS_LOOP_PS_NO_COHORT | 0x80u, 0 };
        assert_int_equal(th_loop_init(&X, L->kind, &o), -EINVAL);
    }
}

/* ---- AS_LOOP_ALWAYS_CALLBACK ---------------------------------------------- */

static void loop_always_callback(void **state)
{
    FIX();
    th_loop X;
    as_loop_options o = { AS_LOOP_ALWAYS_CALLBACK, 0 };
    int r = th_loop_init(&X, L->kind, &o);
    assert_int_equal(r, 0);
    as_sem s;
    as_mutex m;
    as_event e;
    th_sem_make(&s, 2);
    th_mutex_make(&m, 0);
    th_event_make(&e, AS_EVENT_INITIALLY_SET);
    th_waiter a, b, c, d;
    th_waiter_init(&a, R, &X, 1);
    th_waiter_init(&b, R, &X, 2);
    th_waiter_init(&c, R, &X, 3);
    th_waiter_init(&d, R, &X, 4);
    /* satisfiable at once: 0, not 1; granted already (value, lock, set) */
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_EQ(as_sem_value(&s), 1);
    TH_RC(th_mutex_lock(&b, &m, true), 0);
    TH_RC(as_mutex_try_lock(&m), 0);
    TH_RC(th_event_wait(&c, &e), 0);
    TH_RC(as_event_is_set(&e), 0);
    /* a cancel before the callback gives the grant back */
    TH_RC(th_sem_acquire(&d, &s, 1), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_cancel(&d.w), 0);
    TH_EQ(as_sem_value(&s), 1);
    TH_EQ(th_rec_count(R), 0); /* nothing inline */
    th_rec_wait(&X, R, 4);
    th_rec_assert_ids(R, 1, 2, 3, 4);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(th_rec_status_of(R, 3), 0);
    TH_RC(th_rec_status_of(R, 4), -ECANCELED);
    TH_RC(as_sem_release(&s, 1), 0);
    TH_EQ(as_sem_value(&s), 2);
    TH_RC(as_mutex_try_lock(&m), 1); /* b unlocked in its callback */
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_assert_clean(R);
    th_loop_destroy(&X);
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_mutex_destroy(&m), 0);
    TH_RC(as_event_destroy(&e), 0);
}

/* ---- init on memory that merely looks used --------------------------------- */

/* Objects never destroyed are initialised again on the same memory (the
 * loop-local pattern, or memory freed and allocated again): no -EBUSY. */
static void loop_init_again_without_destroy(void **state)
{
    FIX();
    static as_sem s;
    static as_mutex m;
    static as_cond c;
    static as_event e;
    static as_loop g;
    for (int i = 0; i < 3; i++) {
        TH_RC(as_sem_init(&s, 1, 0), 0);
        TH_RC(as_sem_try_acquire(&s, 1), 1); /* left acquired: looks used */
        TH_RC(as_mutex_init(&m, 0), 0);
        TH_RC(as_mutex_try_lock(&m), 1);     /* left locked */
        TH_RC(as_cond_init(&c, 0), 0);
        TH_RC(as_event_init(&e, AS_EVENT_INITIALLY_SET), 0);
        TH_RC(as_loop_init_generic(&g, th_notify_noop, NULL, NULL), 0);
    }
    TH_RC(as_mutex_unlock(&m), 0);
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_mutex_destroy(&m), 0);
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_event_destroy(&e), 0);
    TH_RC(as_loop_destroy(&g), 0);
}

/* ---- notify hooks -------------------------------------------------------- */

/* A wake from another thread reaches a generic loop through its notify hook
 * alone, before the loop runs as_loop_run again. */
static void loop_notify_cross_thread(void **state)
{
    for (int k = TH_NOTIFY_EFD; k <= TH_NOTIFY_COND; k++) {
        th_loop G;
        th_rec r;
        th_rec_init(&r);
        th_loop_setup(&G, (th_kind)k, NULL);
        as_sem s;
        th_sem_make(&s, 0);
        th_waiter a;
        th_waiter_init(&a, &r, &G, 1);
        TH_RC(th_sem_acquire(&a, &s, 1), 0);
        th_pump(&G);
        unsigned long long n0 = atomic_load(&G.notifies);
        th_release ra = { &s, 1, 100 };
        pthread_t t;
        th_thread_start(&t, th_release_thread, &ra);
        if (!th_loop_wait(&G, (unsigned)(TH_TIMEOUT * 1000)))
            th_fail("%s loop: the release from another thread never called notify",
                    th_kind_name((th_kind)k));
        th_thread_join(t);
        TH_RC(ra.rc, 0);
        TH_EQ(atomic_load(&G.notifies) > n0, 1);
        TH_EQ(th_rec_count(&r), 0); /* nothing runs before as_loop_run */
        th_rec_wait(&G, &r, 1);
        TH_RC(th_rec_status_of(&r, 1), 0);
        th_rec_assert_clean(&r);
        th_loop_destroy(&G);
        TH_RC(as_sem_destroy(&s), 0);
    }
}

/* ---- several loops on one thread ----------------------------------------- */

static void loop_several_loops_one_thread(void **state)
{
    FIX();
    th_loop L2, L3;
    th_loop_setup(&L2, TH_NOTIFY_COND, NULL);
    th_loop_setup(&L3, TH_NOTIFY_EFD, NULL);
    th_loop *ls[3] = { L, &L2, &L3 };
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter w[4];
    th_waiter_init(&w[0], R, L, 0);
    th_waiter_init(&w[1], R, &L2, 1);
    th_waiter_init(&w[2], R, &L3, 2);
    th_waiter_init(&w[3], R, L, 3);
    for (int i = 0; i < 4; i++)
        TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
    for (unsigned i = 1; i <= 4; i++) {
        TH_RC(as_sem_release(&s, 1), 0);
        pump_all_until(ls, 3, R, i);
    }
    th_rec_assert_ids(R, 0, 1, 2, 3); /* FIFO across loops; th_cb checks the loop */
    th_rec_assert_clean(R);

    /* manual event shared by the three loops */
    as_event e;
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    th_waiter v[3];
    for (int i = 0; i < 3; i++) {
        th_waiter_init(&v[i], R, ls[i], 10 + i);
        TH_RC(th_event_wait(&v[i], &e), 0);
    }
    TH_RC(as_event_set(&e), 0);
    pump_all_until(ls, 3, R, 7);
    for (int i = 0; i < 3; i++)
        TH_RC(th_rec_status_of(R, 10 + i), 0);
    th_loop_destroy(&L2);
    th_loop_destroy(&L3);
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_event_destroy(&e), 0);
}

/* A release inside a callback of ring loop 1 wakes a waiter parked on ring
 * loop 2 of the same thread: loop 2, blocked, gets a CQE. */
static as_sem *xl_sem;
static as_wait *xl_cancel;
static int xl_cancel_rc = 100;

static void xl_release_cb(th_waiter *tw, int status)
{
    TH_RC(as_sem_release(xl_sem, 1), 0);
}

static void xl_cancel_cb(th_waiter *tw, int status)
{
    xl_cancel_rc = as_cancel(xl_cancel);
}

static void loop_cross_loop_wake_same_thread(void **state)
{
    FIX();
    th_loop L2;
    th_loop_setup(&L2, TH_RING, NULL);
    as_sem s;
    as_event go;
    th_sem_make(&s, 0);
    th_event_make(&go, 0);
    xl_sem = &s;
    xl_cancel = NULL;
    th_waiter a, b, x;
    th_waiter_init(&a, R, &L2, 1);
    th_waiter_init(&b, R, &L2, 2);
    th_waiter_init(&x, R, L, 3);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    th_pump(&L2);
    x.on_cb = xl_release_cb;
    TH_RC(th_event_wait(&x, &go), 0);
    TH_RC(as_event_set(&go), 0);
    th_rec_wait(L, R, 1); /* x runs, releases for a (and submits L's ring) */
    th_rec_wait_woken(&L2, R, 2);
    TH_RC(th_rec_status_of(R, 1), 0);

    /* cancel b (parked on loop 2) from a callback of loop 1, same thread */
    th_waiter y;
    th_waiter_init(&y, R, L, 4);
    xl_cancel = &b.w;
    xl_cancel_rc = 100;
    y.on_cb = xl_cancel_cb;
    TH_RC(th_event_wait(&y, &go), 0);
    TH_RC(as_event_set(&go), 0);
    th_rec_wait(L, R, 3);
    TH_RC(xl_cancel_rc, 0);
    th_rec_wait_woken(&L2, R, 4);
    TH_RC(th_rec_status_of(R, 2), -ECANCELED);
    TH_EQ(as_sem_value(&s), 0);
    th_loop_destroy(&L2);
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_event_destroy(&go), 0);
}

/* ---- full SQ, full CQ ----------------------------------------------------- */

#ifndef _WIN32 /* an IOCP has no submission queue to fill */
static bool foreign_done(void *arg)
{
    th_loop *X = ((void **)arg)[0];
    long want = (long)(intptr_t)((void **)arg)[1];
    return (long)X->cqes_foreign >= want;
}

/* The application filled the SQ: arming, releasing, cancelling and
 * as_loop_run must still end in a callback (or a clear error). */
static void loop_sq_full(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a, b, c;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    long queued = 0;

    /* arm with a full SQ */
    th_pump(L);
    int q = th_queue_nops(L, -1);
    TH_EQ(q > 0, 1);
    queued += q;
    int r = th_sem_acquire(&a, &s, 1);
    unsigned expect = 0;
    if (r == 0) {
        expect++;
    } else {
        if (r != -EAGAIN && r != -EBUSY && r != -ENOMEM)
            th_fail("arm with a full SQ: %s", th_errname(r));
        TH_EQ(as_wait_pending(&a.w), 0);
    }
    th_pump(L);

    /* release with a full SQ */
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    expect++;
    th_pump(L);
    q = th_queue_nops(L, -1);
    queued += q;
    TH_RC(as_sem_release(&s, r == 0 ? 2 : 1), 0);
    th_rec_wait(L, R, expect);
    TH_RC(th_rec_status_of(R, 2), 0);

    /* cancel with a full SQ */
    TH_RC(th_sem_acquire(&c, &s, 1), 0);
    th_pump(L);
    q = th_queue_nops(L, -1);
    queued += q;
    TH_RC(as_cancel(&c.w), 0);
    /* as_loop_run with a full SQ */
    TH_RC(th_loop_run(L) >= 0, 1);
    th_rec_wait(L, R, expect + 1);
    TH_RC(th_rec_status_of(R, 3), -ECANCELED);

    void *arg[2] = { L, (void *)(intptr_t)queued };
    th_run_until(L, foreign_done, arg, TH_TIMEOUT);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* A release made while the releaser's own SQ is full must not wait for the
 * releaser's next submission: it falls back to the system call.  The
 * releaser is a callback of ring loop 1 that blocks until ring loop 2 (same
 * thread) sees its wake. */
static th_loop *sqf_L1, *sqf_L2;
static as_sem *sqf_sem;
static int sqf_woke = -1, sqf_queued;

static void sqf_cb(th_waiter *tw, int status)
{
    sqf_queued = th_queue_nops(sqf_L1, -1);
    TH_RC(as_sem_release(sqf_sem, 1), 0);
    sqf_woke = th_loop_wait(sqf_L2, 5000) ? 1 : 0;
}

static void loop_sq_full_releaser_falls_back(void **state)
{
    FIX();
    th_loop L2;
    th_loop_setup(&L2, TH_RING, NULL);
    as_sem s;
    as_event go;
    th_sem_make(&s, 0);
    th_event_make(&go, 0);
    sqf_L1 = L;
    sqf_L2 = &L2;
    sqf_sem = &s;
    sqf_woke = -1;
    th_waiter a, x;
    th_waiter_init(&a, R, &L2, 1);
    th_waiter_init(&x, R, L, 2);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(&L2); /* L2 parks and blocks (below) */
    x.on_cb = sqf_cb;
    TH_RC(th_event_wait(&x, &go), 0);
    TH_RC(as_event_set(&go), 0);
    th_rec_wait(L, R, 1);
    TH_EQ(sqf_queued > 0, 1);
    if (sqf_woke != 1)
        th_fail("a release issued while the releaser's SQ was full did not reach the "
                "other loop within 5 s (the wake was left for the releaser's next submit)");
    th_rec_wait(&L2, R, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    void *arg[2] = { L, (void *)(intptr_t)sqf_queued };
    th_run_until(L, foreign_done, arg, TH_TIMEOUT);
    th_loop_destroy(&L2);
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_event_destroy(&go), 0);
}
#endif

/* Many waiters on a tiny ring (4 SQEs, 8 CQEs), woken by the same thread and
 * by another thread while the CQ has overflowed: every waiter completes.
 * (Windows: a port with the application's packets queued ahead of the wake
 * packet.) */
static void loop_tiny_ring_many_waiters(void **state)
{
    for (int cross = 0; cross < 2; cross++) {
        enum { N = 48 };
        th_loop X;
        th_rec r;
        th_rec_init(&r);
        int rc = th_loop_init_ex(&X, TH_RING, NULL, 4);
        if (rc != 0)
            th_fail("tiny ring loop: %s", th_errname(rc));
        as_sem s;
        th_sem_make(&s, 0);
        static th_waiter w[N];
        for (int i = 0; i < N; i++) {
            th_waiter_init(&w[i], &r, &X, i);
            TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
            if (i % 3 == 0)
                th_pump(&X);
        }
        th_pump(&X);
        int nops = 0;
        if (cross) {
            /* overflow the CQ (8 entries) with the application's NOPs, not
               reaped, so the library's wake-up CQE lands in the overflow list */
            for (int k = 0; k < 6; k++) {
                nops += th_queue_nops(&X, -1);
                th_submit(&X);
            }
            th_release ra = { &s, N, 100 };
            pthread_t t;
            th_thread_start(&t, th_release_thread, &ra);
            th_thread_join(t);
            TH_RC(ra.rc, 0);
        } else {
            TH_RC(as_sem_release(&s, N), 0);
        }
        th_rec_wait(&X, &r, N);
        th_quiesce(&X, TH_QUIET);
        TH_EQ(th_rec_count(&r), N);
        for (int i = 0; i < N; i++)
            TH_EQ(th_rec_get(&r, (unsigned)i).id, i);
        TH_EQ(X.cqes_foreign, nops);
        th_rec_assert_clean(&r);
        th_loop_destroy(&X);
        TH_RC(as_sem_destroy(&s), 0);
    }
}

/* Many loops (all kinds) on one thread share one manual event. */
static void loop_many_loops(void **state)
{
    enum { N = 12 };
    static th_loop ls[N];
    th_loop *lp[N];
    th_rec r;
    th_rec_init(&r);
    as_event e;
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    static th_waiter w[N];
    for (int i = 0; i < N; i++) {
        th_loop_setup(&ls[i], (th_kind)(i % 3), NULL);
        lp[i] = &ls[i];
        th_waiter_init(&w[i], &r, &ls[i], i);
        TH_RC(th_event_wait(&w[i], &e), 0);
    }
    TH_RC(as_event_set(&e), 0);
    pump_all_until(lp, N, &r, N);
    for (int i = 0; i < N; i++)
        TH_RC(th_rec_status_of(&r, i), 0);
    th_rec_assert_clean(&r);
    for (int i = 0; i < N; i++)
        th_loop_destroy(&ls[i]);
    TH_RC(as_event_destroy(&e), 0);
}

/* ---- errors -------------------------------------------------------------- */

static void loop_strerror(void **state)
{
    static const struct { int err; const char *name; } t[] = {
        { -EINVAL, "EINVAL" },       { -EBUSY, "EBUSY" },         { -ECANCELED, "ECANCELED" },
        { -ETIMEDOUT, "ETIMEDOUT" }, { -EPERM, "EPERM" },         { -EOVERFLOW, "EOVERFLOW" },
        { -ENOENT, "ENOENT" },       { -EAGAIN, "EAGAIN" },       { -EOPNOTSUPP, "EOPNOTSUPP" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *s = as_strerror(t[i].err);
        assert_non_null(s);
        if (!strstr(s, t[i].name))
            th_fail("as_strerror(-%s) = \"%s\" does not name it", t[i].name, s);
    }
    const int odd[] = { 0, 1, -99999, 99999, INT_MIN, INT_MAX, -4095 };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        assert_non_null(as_strerror(odd[i]));
}

#ifndef _WIN32
static void loop_iocp_unavailable(void **state)
{
    FIX();
    as_loop tmp;
    memset(&tmp, 0, sizeof tmp);
    int dummy_port;
    TH_RC(as_loop_init_iocp(&tmp, &dummy_port, NULL), -EOPNOTSUPP);
    char entry[64] = { 0 };
    TH_EQ(as_loop_handle_completion(&L->loop, entry), false);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST_RING(loop_backend_matches_env),
        cmocka_unit_test(loop_disabled_caps),
        cmocka_unit_test(loop_basic_every_kind),
        TH_TEST(loop_run_returns_count),
        TH_TEST(loop_destroy_busy_then_works),
        TH_TEST(loop_destroy_inside_callback),
        cmocka_unit_test(loop_teardown_returns_zero),
        TH_TEST(loop_always_callback),
        TH_TEST(loop_ps_no_cohort),
        TH_TEST(loop_init_again_without_destroy),
        TH_TEST(loop_destroy_from_other_thread),
        cmocka_unit_test(loop_destroy_right_after_cancel),
        TH_TEST_RING(loop_reinit_same_ring),
#ifndef _WIN32
        TH_TEST_RING(loop_foreign_cqes),
#endif
        cmocka_unit_test(loop_notify_cross_thread),
        TH_TEST_RING(loop_several_loops_one_thread),
        TH_TEST_RING(loop_cross_loop_wake_same_thread),
#ifndef _WIN32
        TH_TEST_RING(loop_sq_full),
        TH_TEST_RING(loop_sq_full_releaser_falls_back),
#endif
        cmocka_unit_test(loop_tiny_ring_many_waiters),
        cmocka_unit_test(loop_many_loops),
        cmocka_unit_test(loop_strerror),
#ifndef _WIN32
        TH_TEST_RING(loop_iocp_unavailable),
#endif
    };
    return TH_MAIN("loop", tests);
}
