/* Fault injection for ring-bound loops (uring and generic backends).
 *
 * Each test puts the ring in a state production sees rarely and checks that
 * every wait still ends in exactly one callback and no wake is dropped:
 *   - the SQ is full when a wait parks (the doorbell must still be armed);
 *   - the releaser's SQ is full when it wakes another loop (futex(2) instead
 *     of an SQE: the wake is never dropped);
 *   - a wake SQE rides the releaser's ring and goes out with its submit;
 *   - the kernel refuses that wake message (MSG_RING): futex(2) instead (R1);
 *   - a loop is torn down while a message for it still sits in another
 *     loop's SQ: as_loop_destroy says -EAGAIN until it has arrived (R2);
 *   - the CQ overflows (tiny CQ, many completions);
 *   - io_uring_submit fails with -EBUSY, -EAGAIN or -EINTR (interposed);
 *   - the loop is destroyed while waits are armed (-EBUSY, nothing lost).
 * Public API only, plus the harness.  Every wait that depends on a wake
 * blocks (th_*_woken): a lost wake-up is a watchdog failure, not a delay.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- io_uring_submit interposition ------------------------------------
 * The test binary defines io_uring_submit, so the library's calls (and the
 * harness's) reach this wrapper first; it fails the next `inject_left` calls
 * with `inject_err`, then forwards to liburing. */
static atomic_int inject_left;
static atomic_int inject_err;
static atomic_int inject_hits;

int io_uring_submit(struct io_uring *ring);
int io_uring_submit(struct io_uring *ring)
{
    static int (*real)(struct io_uring *);
    if (atomic_load(&inject_left) > 0) {
        atomic_fetch_sub(&inject_left, 1);
        atomic_fetch_add(&inject_hits, 1);
        return atomic_load(&inject_err);
    }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "io_uring_submit");
    return real(ring);
}

static void inject(int err, int count)
{
    atomic_store(&inject_hits, 0);
    atomic_store(&inject_err, err);
    atomic_store(&inject_left, count);
}

/* ---- helpers ---------------------------------------------------------- */

struct release_arg {
    as_sem *sem;
    uint32_t n;
};

static void *release_thread(void *p)
{
    struct release_arg *a = p;
    if (as_sem_release(a->sem, a->n) != 0)
        th_fail("as_sem_release from a plain thread");
    return NULL;
}

static void release_from_plain_thread(as_sem *s, uint32_t n)
{
    pthread_t t;
    struct release_arg a = {s, n};
    th_thread_start(&t, release_thread, &a);
    th_thread_join(t);
}

static void setup_ring_loop_opts(th_loop *L, unsigned entries,
                                 const as_loop_options *opts)
{
    int r = th_loop_init_ex(L, TH_RING, opts, entries);
    if (r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP)
        skip();
    assert_int_equal(r, 0);
}

/* A loop whose wakes of other loops ride its ring wherever they are made
 * (the tests release from their own code, outside as_loop_run). */
static const as_loop_options defer_wakes = { AS_LOOP_DEFER_WAKES, 0 };

static void setup_ring_loop(th_loop *L, unsigned entries)
{
    int r = th_loop_init_ex(L, TH_RING, NULL, entries);
    if (r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP)
        skip();
    assert_int_equal(r, 0);
}

/* ---- SQ full when a wait parks ----------------------------------------- */

static void test_sq_full_at_park(void **state)
{
    (void)state;
    th_loop L;
    th_rec rec;
    th_waiter tw;
    as_sem s;
    setup_ring_loop(&L, 4);
    th_rec_init(&rec);
    th_sem_make(&s, 0);

    /* The application has filled its SQ and not submitted yet. */
    assert_int_equal(th_queue_nops(&L, -1), 4);
    th_waiter_init(&tw, &rec, &L, 1);
    TH_RC(th_sem_acquire(&tw, &s, 1), 0);
    /* The doorbell needed an SQE: the library flushed the SQ (the NOPs went
     * out) and armed it, so a wake from another thread reaches the sleeping
     * loop. */
    release_from_plain_thread(&s, 1);
    th_rec_wait_woken(&L, &rec, 1);
    assert_int_equal(th_rec_status_of(&rec, 1), 0);
    th_pump(&L); /* reap the NOPs' completions */
    assert_int_equal(L.cqes_unknown, 0);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&L);
}

/* ---- the releaser's SQ is full: futex(2), never a dropped wake ---------- */

struct remote {
    th_lthread t;
    as_sem *sem;
    th_waiter tw;
    th_rec rec;
    th_counter done;
};

static void remote_cb_hook(th_waiter *tw, int status)
{
    struct remote *r = tw->user;
    (void)status;
    th_counter_add(&r->done, 1);
}

static void remote_acquire(void *p)
{
    struct remote *r = p;
    th_waiter_init(&r->tw, &r->rec, &r->t.L, 7);
    r->tw.on_cb = remote_cb_hook;
    r->tw.user = r;
    if (th_sem_acquire(&r->tw, r->sem, 1) != 0)
        th_fail("remote acquire did not go pending");
    /* Put the doorbell in the kernel now, so the release that follows must
     * really wake it (an unsubmitted FUTEX_WAIT would instead see the bell
     * already rung and complete at once with -EAGAIN). */
    if (io_uring_submit(&r->t.L.ring) < 0)
        th_fail("submit on the remote loop");
}

/* B's loop on its own thread, on a ring made with `rp` (NULL: the
 * harness's default ring), waiting on s. */
static void remote_start_rp(struct remote *r, as_sem *s,
                            const th_ring_params *rp)
{
    memset(r, 0, sizeof *r);
    r->sem = s;
    th_rec_init(&r->rec);
    th_counter_init(&r->done);
    th_lthread_start_rp(&r->t, TH_RING, NULL, rp);
    th_lthread_call(&r->t, remote_acquire, r);
}

static void remote_start(struct remote *r, as_sem *s)
{
    remote_start_rp(r, s, NULL);
}

static void remote_stop(struct remote *r)
{
    assert_int_equal(th_lthread_stop(&r->t), 0);
    /* The callback must have come with a wake (a CQE), not because the loop
     * thread's watchdog slice ran out and as_loop_run happened to find it. */
    assert_int_equal(r->t.L.silent_wakes, 0);
    th_counter_destroy(&r->done);
}

static void test_sq_full_at_wake(void **state)
{
    (void)state;
    th_loop A;
    as_sem s;
    struct remote B;
    th_sem_make(&s, 0);
    setup_ring_loop(&A, 4);
    th_loop_run(&A); /* this thread runs loop A from now on */
    remote_start(&B, &s);

    /* A's SQ is full and A will not submit: a wake that needed an SQE on
     * A's ring would be stuck.  It must go by futex(2) instead. */
    assert_int_equal(th_queue_nops(&A, -1), 4);
    TH_RC(as_sem_release(&s, 1), 0);
    if (!th_counter_wait_ge(&B.done, 1, TH_TIMEOUT))
        fail_msg("the woken loop never ran its callback: wake dropped");
    assert_int_equal(io_uring_sq_ready(&A.ring), 4); /* we never submitted */

    remote_stop(&B);
    th_pump(&A);
    th_loop_destroy(&A);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- when a wake rides the releaser's ring (W2 in uring.c) -------------
 *
 * A release on a uring loop's thread wakes another uring loop with a message
 * on its ring only where the ring's next submit is known to come: inside
 * as_loop_run (a callback), or anywhere with AS_LOOP_DEFER_WAKES.  Anywhere
 * else (this test's own code, like an application's CQE handler that then
 * computes, or a thread about to block elsewhere) it is futex(2) at once: the
 * other loop wakes although this one never submits again. */

static as_sem *rides_sem;

static void release_in_callback(th_waiter *tw, int status)
{
    (void)tw, (void)status;
    if (as_sem_release(rides_sem, 1) != 0)
        th_fail("release in a callback");
}

static void test_wake_rides_releaser_ring(void **state)
{
    (void)state;
    th_loop A;
    as_sem s, local;
    struct remote B;
    th_sem_make(&s, 0);
    th_sem_make(&local, 0);
    setup_ring_loop(&A, 8);
    th_loop_run(&A);
    bool rides = (as_loop_caps(&A.loop) & AS_CAP_RING_WAKE) != 0;

    /* 1. In the test's own code: never an SQE; B wakes without A's submit. */
    remote_start(&B, &s);
    unsigned before = io_uring_sq_ready(&A.ring);
    TH_RC(as_sem_release(&s, 1), 0);
    assert_int_equal(io_uring_sq_ready(&A.ring), before);
    if (!th_counter_wait_ge(&B.done, 1, TH_TIMEOUT))
        fail_msg("a wake made outside as_loop_run waited for A's submit");
    remote_stop(&B);

    /* 2. In a callback (inside as_loop_run): a message on A's ring (uring),
     * sent by the submit that follows as_loop_run. */
    remote_start(&B, &s);
    th_rec rec;
    th_waiter tw;
    th_rec_init(&rec);
    th_waiter_init(&tw, &rec, &A, 1);
    tw.on_cb = release_in_callback;
    rides_sem = &s;
    TH_RC(th_sem_acquire(&tw, &local, 1), 0);
    TH_RC(as_sem_release(&local, 1), 0);
    before = io_uring_sq_ready(&A.ring);
    assert_int_equal(as_loop_run(&A.loop), 1);
    assert_int_equal(io_uring_sq_ready(&A.ring), before + (rides ? 1u : 0u));
    if (rides) {
        /* as_loop_flush sends it now (a callback that then runs long) */
        TH_RC(as_loop_flush(&A.loop), (int)(before + 1));
        assert_int_equal(io_uring_sq_ready(&A.ring), 0);
        TH_RC(as_loop_flush(&A.loop), 0); /* nothing of ours queued */
    }
    if (!th_counter_wait_ge(&B.done, 1, TH_TIMEOUT))
        fail_msg("the wake did not reach the other loop");
    remote_stop(&B);
    th_loop_destroy(&A);

    /* 3. AS_LOOP_DEFER_WAKES: rides from anywhere on the loop's thread. */
    setup_ring_loop_opts(&A, 8, &defer_wakes);
    th_loop_run(&A);
    remote_start(&B, &s);
    before = io_uring_sq_ready(&A.ring);
    TH_RC(as_sem_release(&s, 1), 0);
    assert_int_equal(io_uring_sq_ready(&A.ring), before + (rides ? 1u : 0u));
    th_submit(&A);
    if (!th_counter_wait_ge(&B.done, 1, TH_TIMEOUT))
        fail_msg("the wake did not reach the other loop");
    remote_stop(&B);
    th_loop_destroy(&A);
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_sem_destroy(&local), 0);
}

/* The last SQE queued on L's ring (not yet submitted). */
static struct io_uring_sqe *last_sqe(th_loop *L)
{
    struct io_uring_sq *sq = &L->ring.sq;
    return &sq->sqes[(sq->sqe_tail - 1) & *sq->kring_mask];
}

/* The wake-message scenarios: this thread runs loop A, loop B waits on s on
 * its own thread (remote_start), and A has just released s: the grant's
 * wake to B is a MSG_RING SQE queued on A's ring, not yet submitted. */
struct msg_fix {
    th_loop A;
    as_sem s;
    struct remote B;
};

/* Set the scene and return the queued message; skips unless A's wakes of
 * another uring loop travel as messages (uring backend, AS_CAP_RING_WAKE).
 * B's ring is made with `rp` (NULL: the default, a plain ring). */
static struct io_uring_sqe *msg_begin_rp(struct msg_fix *f,
                                         const th_ring_params *rp)
{
    th_sem_make(&f->s, 0);
    setup_ring_loop_opts(&f->A, 8, &defer_wakes);
    th_loop_run(&f->A);
    if (!(as_loop_caps(&f->A.loop) & AS_CAP_RING_WAKE) ||
        strcmp(as_loop_backend(&f->A.loop), "uring") != 0) {
        th_loop_destroy(&f->A);
        TH_RC(as_sem_destroy(&f->s), 0);
        skip(); /* no wake messages on the generic backend */
    }
    remote_start_rp(&f->B, &f->s, rp);
    unsigned before = io_uring_sq_ready(&f->A.ring);
    TH_RC(as_sem_release(&f->s, 1), 0);
    assert_int_equal(io_uring_sq_ready(&f->A.ring), before + 1);
    struct io_uring_sqe *sqe = last_sqe(&f->A);
    assert_int_equal(sqe->opcode, IORING_OP_MSG_RING);
    return sqe;
}

static struct io_uring_sqe *msg_begin(struct msg_fix *f)
{
    return msg_begin_rp(f, NULL);
}

/* B learns of the grant another way (a harness kick) and runs its callback,
 * while the message still waits in A's SQ. */
static void msg_kick_b(struct msg_fix *f)
{
    th_loop_kick(&f->B.t.L);
    if (!th_counter_wait_ge(&f->B.done, 1, TH_TIMEOUT))
        fail_msg("the kicked loop never ran its callback");
}

/* Stop B (its teardown idiom has a watchdog; no silent wake-up allowed) and
 * tear A down (it waits for its own message's CQE). */
static void msg_end(struct msg_fix *f)
{
    remote_stop(&f->B);
    th_loop_destroy(&f->A);
    assert_int_equal(f->A.cqes_unknown, 0);
    TH_RC(as_sem_destroy(&f->s), 0);
}

static int destroy_rc;

/* On B's thread: one as_loop_destroy, after B handled what its ring had. */
static void destroy_on_loop_thread(void *p)
{
    th_loop *L = p;
    th_pump(L);
    destroy_rc = as_loop_destroy(&L->loop);
}

/* ---- R1: a refused wake message falls back to futex(2) ------------------ */

static void test_msg_refused(void **state)
{
    (void)state;
    struct msg_fix f;
    /* The kernel refuses it: here a bad ring fd (-EBADF), in production
     * the allocation of the target's CQE failing (-ENOMEM, -EOVERFLOW). */
    msg_begin(&f)->fd = -1;
    assert_true(io_uring_submit(&f.A.ring) >= 1);
    /* The refusal is a CQE on A's ring; A's handler must wake B by
     * futex(2).  B blocks until woken (remote_stop checks no silent wake). */
    double dl = th_now() + TH_TIMEOUT;
    while (th_counter_get(&f.B.done) < 1) {
        th_pump(&f.A);
        if (th_now() > dl)
            fail_msg("a refused wake message was not replaced: wake lost");
        th_loop_wait(&f.A, 10);
    }
    msg_end(&f);
}

/* ---- silent messages: no CQE on the sender's ring (R3 in uring.c) ------- */

/* A message to a plain ring is silent: delivered, it leaves nothing on the
 * sender's ring (a CQE there would end the sender's next wait at once). */
static void test_msg_silent(void **state)
{
    (void)state;
    struct msg_fix f;
    struct io_uring_sqe *msg = msg_begin(&f);
    assert_true(msg->flags & IOSQE_CQE_SKIP_SUCCESS);
    assert_int_equal(io_uring_cq_ready(&f.A.ring), 0);
    assert_true(io_uring_submit(&f.A.ring) >= 1);
    if (!th_counter_wait_ge(&f.B.done, 1, TH_TIMEOUT))
        fail_msg("the silent message did not wake the other loop");
    /* delivered (B ran its callback), so the submit that sent it is over:
     * nothing came back to A */
    assert_int_equal(io_uring_cq_ready(&f.A.ring), 0);
    msg_end(&f);
}

/* To a DEFER_TASKRUN ring the kernel may post after the submit (Linux
 * 6.3-6.10): the message is acknowledged by a CQE on the sender's ring. */
static void test_msg_acknowledged_defer_target(void **state)
{
    (void)state;
    struct msg_fix f;
    const th_ring_params rp = {
        64, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, -1};
    struct io_uring probe;
    /* kernels before 6.1 refuse the flags */
    if (io_uring_queue_init(8, &probe, rp.flags) < 0)
        skip();
    io_uring_queue_exit(&probe);
    struct io_uring_sqe *msg = msg_begin_rp(&f, &rp);
    assert_false(msg->flags & IOSQE_CQE_SKIP_SUCCESS);
    assert_true(io_uring_submit(&f.A.ring) >= 1);
    if (!th_counter_wait_ge(&f.B.done, 1, TH_TIMEOUT))
        fail_msg("the message did not wake the DEFER_TASKRUN loop");
    /* its acknowledgement: a CQE of ours on A's ring */
    struct io_uring_cqe *cqe;
    TH_RC(io_uring_wait_cqe(&f.A.ring, &cqe), 0);
    assert_int_equal(cqe->res, 0);
    assert_true(as_loop_handle_cqe(&f.A.loop, cqe));
    io_uring_cqe_seen(&f.A.ring, cqe);
    msg_end(&f);
}

/* R3: a refused silent message is a CQE on A's ring; A's teardown must not
 * end before A has handled it, or B would never be woken. */
static void test_destroy_waits_for_refusal(void **state)
{
    (void)state;
    struct msg_fix f;
    msg_begin(&f)->fd = -1;
    assert_true(io_uring_submit(&f.A.ring) >= 1);
    assert_int_equal(io_uring_cq_ready(&f.A.ring), 1); /* the refusal */
    /* A has no wait pending, no slot busy: only R3 holds its teardown */
    TH_RC(as_loop_destroy(&f.A.loop), -EAGAIN);
    TH_RC(as_loop_destroy(&f.A.loop), -EAGAIN);
    assert_int_equal(th_counter_get(&f.B.done), 0);
    th_pump(&f.A); /* hands the refusal over: B is woken by futex(2) */
    if (!th_counter_wait_ge(&f.B.done, 1, TH_TIMEOUT))
        fail_msg("a refused silent message was not replaced: wake lost");
    msg_end(&f);
}

/* ---- R2: no message outlives its target loop --------------------------- */

static void test_destroy_waits_for_msg(void **state)
{
    (void)state;
    struct msg_fix f;
    msg_begin(&f);
    msg_kick_b(&f);
    /* B has no pending wait, but a message for its ring is on its way:
     * tearing B down now would let that CQE land after the loop is gone. */
    th_lthread_call(&f.B.t, destroy_on_loop_thread, &f.B.t.L);
    TH_RC(destroy_rc, -EAGAIN);
    th_lthread_call(&f.B.t, destroy_on_loop_thread, &f.B.t.L);
    TH_RC(destroy_rc, -EAGAIN);
    assert_non_null(as_loop_backend(&f.B.t.L.loop)); /* still live */
    /* A submits: the message arrives, B's teardown completes. */
    assert_true(io_uring_submit(&f.A.ring) >= 1);
    msg_end(&f);
}

/* R1 during R2: B is tearing down, waiting for A's message, and the kernel
 * refuses that message.  The refusal is reported on A's ring; B, asleep in
 * its -EAGAIN idiom, must still be woken and finish (the hang the model
 * delivery.pml -DMSG_WAKE found in a first design). */
static void test_msg_refused_during_teardown(void **state)
{
    (void)state;
    struct msg_fix f;
    struct io_uring_sqe *msg = msg_begin(&f);
    msg_kick_b(&f);
    th_lthread_call(&f.B.t, destroy_on_loop_thread, &f.B.t.L);
    TH_RC(destroy_rc, -EAGAIN);
    /* the message is refused; A handles the refusal */
    msg->fd = -1;
    assert_true(io_uring_submit(&f.A.ring) >= 1);
    th_pump(&f.A);
    msg_end(&f);
}

/* ---- teardown flushes queued wake messages, even after a failed submit -- */

static void test_destroy_flush_after_failed_submit(void **state)
{
    (void)state;
    struct msg_fix f;
    msg_begin(&f);
    /* A tears down with B's wake still in its SQ; the flush is refused
     * once (CQ overflow backlog).  The message must not be forgotten: the
     * next as_loop_destroy flushes it again, without the application's
     * help. */
    inject(-EBUSY, 1);
    TH_RC(as_loop_destroy(&f.A.loop), -EAGAIN);
    assert_int_equal(atomic_load(&inject_hits), 1);
    assert_true(io_uring_sq_ready(&f.A.ring) >= 1);
    /* The message is silent (B's ring is plain): once flushed, nothing of
     * it comes back to A (R3), so this call ends the teardown. */
    TH_RC(as_loop_destroy(&f.A.loop), 0);
    assert_int_equal(io_uring_sq_ready(&f.A.ring), 0);
    if (!th_counter_wait_ge(&f.B.done, 1, TH_TIMEOUT))
        fail_msg("the wake message stayed in the torn-down loop's SQ");
    unsigned long ours = f.A.cqes_ours;
    th_loop_after_destroy(&f.A); /* no CQE of ours may come now */
    assert_int_equal(f.A.cqes_ours, ours);
    msg_end(&f);
}

/* ---- CQ overflow -------------------------------------------------------- */

static void test_cq_overflow(void **state)
{
    (void)state;
    enum { WAITS = 8, NOPS = 64 };
    th_loop L;
    th_rec rec;
    th_waiter tw[WAITS];
    as_sem s;
    setup_ring_loop(&L, 4); /* CQ of 8 entries */
    th_rec_init(&rec);
    th_sem_make(&s, 0);
    for (int i = 0; i < WAITS; i++) {
        th_waiter_init(&tw[i], &rec, &L, i);
        TH_RC(th_sem_acquire(&tw[i], &s, 1), 0);
    }
    th_loop_run(&L);
    /* Flood the CQ with completions nobody reaps yet... */
    for (int sent = 0; sent < NOPS;) {
        int n = th_queue_nops(&L, NOPS - sent);
        int r = io_uring_submit(&L.ring);
        assert_true(r >= 0 || r == -EBUSY);
        if (r == -EBUSY)
            break; /* the kernel holds the overflow: that is the point */
        sent += n;
    }
    /* ...then wake every waiter from another thread while it overflows. */
    release_from_plain_thread(&s, WAITS);
    th_rec_wait(&L, &rec, WAITS);
    for (int i = 0; i < WAITS; i++)
        assert_int_equal(th_rec_status_of(&rec, i), 0);
    th_pump(&L);
    assert_int_equal(L.cqes_unknown, 0);
    th_rec_assert_clean(&rec);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&L);
}

/* R3 when the refusal overflows: A's CQ is full when the kernel refuses a
 * silent message of A's, so the refusal (TAG_REFUSED) goes to the kernel's
 * overflow list and no CQE of it is in the CQ for A's teardown to see.  A's
 * teardown must still wait (its CQ has overflowed) until the application has
 * reaped, flushing the overflow, and handed the refusal over: else it would
 * come out on a ring nobody reads, and B would never be woken (R1) nor
 * finish its own teardown (R2). */
static void test_destroy_waits_for_overflowed_refusal(void **state)
{
    (void)state;
    struct msg_fix f;
    th_sem_make(&f.s, 0);
    setup_ring_loop_opts(&f.A, 8, &defer_wakes);
    th_loop_run(&f.A);
    if (!(as_loop_caps(&f.A.loop) & AS_CAP_RING_WAKE) ||
        strcmp(as_loop_backend(&f.A.loop), "uring") != 0) {
        th_loop_destroy(&f.A);
        TH_RC(as_sem_destroy(&f.s), 0);
        skip(); /* no wake messages on the generic backend */
    }
    remote_start(&f.B, &f.s);
    /* Fill A's CQ with completions nobody reaps yet, short of overflowing */
    const unsigned cq = *f.A.ring.cq.kring_entries;
    for (int i = 0; io_uring_cq_ready(&f.A.ring) < cq; i++) {
        int n = th_queue_nops(&f.A, (int)(cq - io_uring_cq_ready(&f.A.ring)));
        assert_true(n > 0 && i < 64);
        assert_true(io_uring_submit(&f.A.ring) >= n);
    }
    assert_int_equal(io_uring_cq_ready(&f.A.ring), cq);
    assert_false(io_uring_cq_has_overflow(&f.A.ring));
    /* The grant's wake to B: a silent message in A's SQ, which the kernel
     * refuses at A's submit (bad ring fd, as in test_msg_refused) */
    TH_RC(as_sem_release(&f.s, 1), 0);
    assert_int_equal(io_uring_sq_ready(&f.A.ring), 1);
    struct io_uring_sqe *msg = last_sqe(&f.A);
    assert_int_equal(msg->opcode, IORING_OP_MSG_RING);
    assert_true(msg->flags & IOSQE_CQE_SKIP_SUCCESS);
    msg->fd = -1;
    assert_int_equal(io_uring_submit(&f.A.ring), 1);
    /* The refusal overflowed: the CQ holds the NOPs only, SQ is empty */
    assert_true(io_uring_cq_has_overflow(&f.A.ring));
    assert_int_equal(io_uring_cq_ready(&f.A.ring), cq);
    assert_int_equal(io_uring_sq_ready(&f.A.ring), 0);
    /* A has no wait pending, no slot busy: only R3 holds its teardown */
    TH_RC(as_loop_destroy(&f.A.loop), -EAGAIN);
    TH_RC(as_loop_destroy(&f.A.loop), -EAGAIN);
    assert_true(io_uring_cq_has_overflow(&f.A.ring)); /* still held */
    assert_int_equal(th_counter_get(&f.B.done), 0);
    /* The application reaps: every CQE to as_loop_handle_cqe first, the
     * NOPs, then (overflow flushed) the refusal: B is woken by futex(2) */
    unsigned long ours = f.A.cqes_ours;
    th_pump(&f.A);
    assert_false(io_uring_cq_has_overflow(&f.A.ring));
    assert_int_equal(f.A.cqes_foreign, cq);
    assert_int_equal(f.A.cqes_ours, ours + 1); /* the refusal, claimed */
    assert_int_equal(f.A.cqes_unknown, 0);
    if (!th_counter_wait_ge(&f.B.done, 1, TH_TIMEOUT))
        fail_msg("an overflowed refusal was not replaced: wake lost");
    TH_RC(as_loop_destroy(&f.A.loop), 0);
    ours = f.A.cqes_ours;
    th_loop_after_destroy(&f.A); /* no CQE of ours may come now */
    assert_int_equal(f.A.cqes_ours, ours);
    msg_end(&f);
}

/* ---- the ring timer (deadlines) under faults ----------------------------- */

#define MS 1000000ull

static int until(th_waiter *tw, as_sem *s, uint64_t deadline)
{
    return th_armed(tw, as_sem_acquire_until(s, &tw->L->loop, &tw->w, 1, deadline, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}

/* The SQ is full when the timer must be armed, and again when it must be
 * moved to an earlier deadline: the library flushes the SQ (A1) and the
 * deadlines still fire (the loop sleeps on its ring: a timer not armed
 * would be a hang). */
static void test_timer_sq_full(void **state)
{
    (void)state;
    th_loop L;
    th_rec rec;
    th_waiter far, near;
    as_sem s;
    setup_ring_loop(&L, 4);
    th_rec_init(&rec);
    th_sem_make(&s, 0);
    th_waiter_init(&far, &rec, &L, 1);
    th_waiter_init(&near, &rec, &L, 2);
    assert_int_equal(th_queue_nops(&L, -1), 4);
    TH_RC(until(&far, &s, as_now_ns() + 80 * MS), 0);  /* arm: SQ full */
    th_queue_nops(&L, -1);                              /* full again */
    assert_int_equal(io_uring_sq_space_left(&L.ring), 0);
    TH_RC(until(&near, &s, as_now_ns() + 20 * MS), 0); /* move: SQ full */
    th_rec_wait_woken(&L, &rec, 2);
    th_rec_assert_ids(&rec, 2, 1);
    TH_RC(th_rec_status_of(&rec, 1), -ETIMEDOUT);
    TH_RC(th_rec_status_of(&rec, 2), -ETIMEDOUT);
    th_pump(&L);
    assert_int_equal(L.cqes_unknown, 0);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&L);
}

/* The timer's CQE lands in a CQ overflow backlog: it still expires the
 * wait once the loop handles its completions. */
static void test_timer_cq_overflow(void **state)
{
    (void)state;
    enum { NOPS = 64 };
    th_loop L;
    th_rec rec;
    th_waiter tw;
    as_sem s;
    setup_ring_loop(&L, 4); /* CQ of 8 entries */
    th_rec_init(&rec);
    th_sem_make(&s, 0);
    th_waiter_init(&tw, &rec, &L, 1);
    uint64_t d = as_now_ns() + 10 * MS;
    TH_RC(until(&tw, &s, d), 0);
    th_loop_run(&L);
    for (int sent = 0; sent < NOPS;) {
        int n = th_queue_nops(&L, NOPS - sent);
        int r = io_uring_submit(&L.ring);
        assert_true(r >= 0 || r == -EBUSY);
        if (r == -EBUSY)
            break;
        sent += n;
    }
    while (as_now_ns() < d + 5 * MS)
        ; /* the timer fires into the full CQ */
    th_rec_wait(&L, &rec, 1);
    TH_RC(th_rec_status_of(&rec, 1), -ETIMEDOUT);
    assert_true(tw.cb_ns >= d);
    th_pump(&L);
    assert_int_equal(L.cqes_unknown, 0);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&L);
}

/* Destroy with timed waits pending: -EBUSY, nothing changed, the deadline
 * still fires; once no wait is pending, destroy returns 0 at once even
 * though a timer is armed on the ring (its late CQE is swallowed). */
static void test_destroy_with_timer_armed(void **state)
{
    (void)state;
    th_loop L;
    th_rec rec;
    th_waiter a, b;
    as_sem s;
    setup_ring_loop(&L, 8);
    th_rec_init(&rec);
    th_sem_make(&s, 0);
    th_waiter_init(&a, &rec, &L, 1);
    th_waiter_init(&b, &rec, &L, 2);
    TH_RC(until(&a, &s, as_now_ns() + 20 * MS), 0);
    TH_RC(until(&b, &s, as_now_ns() + 5000 * MS), 0);
    th_pump(&L);
    TH_RC(as_loop_destroy(&L.loop), -EBUSY);
    th_rec_wait_woken(&L, &rec, 1);
    TH_RC(th_rec_status_of(&rec, 1), -ETIMEDOUT);
    TH_RC(as_cancel(&b.w), 0); /* the armed timer is for b's deadline */
    th_rec_wait(&L, &rec, 2);
    TH_RC(as_loop_destroy(&L.loop), 0);
    th_loop_after_destroy(&L);
    assert_int_equal(L.cqes_unknown, 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- io_uring_submit failing ------------------------------------------- */

static void submit_failure(int err)
{
    th_loop L;
    th_rec rec;
    th_waiter tw;
    as_sem s;
    setup_ring_loop(&L, 4);
    th_rec_init(&rec);
    th_sem_make(&s, 0);

    /* The SQ is full, so parking needs a submit to free a slot, and the
     * next submits fail. */
    assert_int_equal(th_queue_nops(&L, -1), 4);
    inject(err, 3);
    th_waiter_init(&tw, &rec, &L, 1);
    TH_RC(th_sem_acquire(&tw, &s, 1), 0);
    assert_true(atomic_load(&inject_hits) >= 1);
    /* The application's own submits see the failure too and retry; once the
     * ring accepts again, the doorbell gets armed and a remote wake lands. */
    while (atomic_load(&inject_left) > 0)
        th_pump(&L);
    release_from_plain_thread(&s, 1);
    th_rec_wait(&L, &rec, 1);
    assert_int_equal(th_rec_status_of(&rec, 1), 0);

    /* And once healthy, the loop sleeps and is woken again. */
    TH_RC(th_sem_acquire(&tw, &s, 1), 0);
    th_pump(&L);
    release_from_plain_thread(&s, 1);
    th_rec_wait_woken(&L, &rec, 2);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&L);
}

static void test_submit_ebusy(void **state)
{
    (void)state;
    submit_failure(-EBUSY);
}

static void test_submit_eagain(void **state)
{
    (void)state;
    submit_failure(-EAGAIN);
}

static void test_submit_eintr(void **state)
{
    (void)state;
    submit_failure(-EINTR);
}

/* ---- a process-shared wait parked while the ring refuses submits -------
 * Its kernel wait (one FUTEX_WAIT per pshared wait) cannot be armed: the
 * wait goes on the loop's arm-later list (A1), is armed by as_loop_run once
 * the ring accepts again, and a release then wakes it through its own
 * CQE; a grant made while it is still on the list is found by the retry.
 * The loop cannot be destroyed meanwhile (P8). */
static void test_pshared_arm_later(void **state)
{
    (void)state;
    th_loop L;
    th_rec rec;
    th_waiter tw;
    as_sem *s = calloc(1, AS_PSHARED_SIZE(as_sem, 1));
    assert_non_null(s);
    setup_ring_loop(&L, 4);
    if (!(as_loop_caps(&L.loop) & AS_CAP_PSHARED)) {
        th_loop_destroy(&L);
        free(s);
        skip();
    }
    th_rec_init(&rec);
    /* one process is enough: a shared futex key works in private memory */
    TH_RC(as_sem_init(s, 0, AS_PSHARED | AS_PSHARED_SLOTS(1)), 0);
    th_waiter_init(&tw, &rec, &L, 1);

    /* 1: armed later, then woken by a release from another thread */
    assert_int_equal(th_queue_nops(&L, -1), 4);
    inject(-EBUSY, 1000);
    TH_RC(th_sem_acquire(&tw, s, 1), 0);
    assert_true(atomic_load(&inject_hits) >= 1);
    TH_RC(as_loop_destroy(&L.loop), -EBUSY);
    inject(0, 0);
    th_pump(&L); /* as_loop_run arms it; the pump submits */
    th_pump(&L);
    release_from_plain_thread(s, 1);
    th_rec_wait_woken(&L, &rec, 1);
    TH_RC(th_rec_status_of(&rec, 1), 0);

    /* 2: granted while still on the list */
    th_waiter_init(&tw, &rec, &L, 2);
    assert_true(th_queue_nops(&L, -1) >= 1);
    inject(-EBUSY, 1000);
    TH_RC(th_sem_acquire(&tw, s, 1), 0);
    release_from_plain_thread(s, 1);
    inject(0, 0);
    th_rec_wait(&L, &rec, 2);
    TH_RC(th_rec_status_of(&rec, 2), 0);
    TH_EQ(as_sem_value(s), 0);
    TH_RC(as_sem_release(s, 2), 0);
    TH_RC(as_sem_destroy(s), 0);
    th_loop_destroy(&L);
    free(s);
}

/* ---- destroy with waits armed ------------------------------------------ */

static void test_destroy_with_waits_armed(void **state)
{
    (void)state;
    th_loop L;
    th_rec rec;
    th_waiter tw[3];
    as_sem s;
    as_event e;
    as_mutex m;
    setup_ring_loop(&L, 8);
    th_rec_init(&rec);
    th_sem_make(&s, 0);
    th_event_make(&e, 0);
    th_mutex_make(&m, 0);
    assert_int_equal(as_mutex_try_lock(&m), 1);
    th_waiter_init(&tw[0], &rec, &L, 0);
    th_waiter_init(&tw[1], &rec, &L, 1);
    th_waiter_init(&tw[2], &rec, &L, 2);
    TH_RC(th_sem_acquire(&tw[0], &s, 2), 0);
    TH_RC(th_event_wait(&tw[1], &e), 0);
    TH_RC(th_mutex_lock(&tw[2], &m, true), 0);
    th_loop_run(&L);
    io_uring_submit(&L.ring); /* the doorbell is in the kernel now */

    /* Destroy refuses while waits are armed, and changes nothing. */
    TH_RC(as_loop_destroy(&L.loop), -EBUSY);
    TH_RC(as_loop_destroy(&L.loop), -EBUSY);
    assert_non_null(as_loop_backend(&L.loop)); /* still a live loop */
    /* Every wait still completes exactly once, woken from outside. */
    release_from_plain_thread(&s, 2);
    TH_RC(as_event_set(&e), 0);
    TH_RC(as_mutex_unlock(&m), 0);
    th_rec_wait(&L, &rec, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(th_rec_status_of(&rec, i), 0);
    th_rec_assert_clean(&rec);
    th_loop_destroy(&L); /* now it goes (through -EAGAIN if armed) */
    TH_RC(as_sem_destroy(&s), 0);
    TH_RC(as_event_destroy(&e), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sq_full_at_park),
        cmocka_unit_test(test_sq_full_at_wake),
        cmocka_unit_test(test_wake_rides_releaser_ring),
        cmocka_unit_test(test_msg_refused),
        cmocka_unit_test(test_msg_silent),
        cmocka_unit_test(test_msg_acknowledged_defer_target),
        cmocka_unit_test(test_destroy_waits_for_refusal),
        cmocka_unit_test(test_destroy_waits_for_msg),
        cmocka_unit_test(test_msg_refused_during_teardown),
        cmocka_unit_test(test_destroy_flush_after_failed_submit),
        cmocka_unit_test(test_cq_overflow),
        cmocka_unit_test(test_destroy_waits_for_overflowed_refusal),
        cmocka_unit_test(test_timer_sq_full),
        cmocka_unit_test(test_timer_cq_overflow),
        cmocka_unit_test(test_destroy_with_timer_armed),
        cmocka_unit_test(test_submit_ebusy),
        cmocka_unit_test(test_submit_eagain),
        cmocka_unit_test(test_submit_eintr),
        cmocka_unit_test(test_destroy_with_waits_armed),
        cmocka_unit_test(test_pshared_arm_later),
    };
    return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
