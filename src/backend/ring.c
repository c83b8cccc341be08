/* What the two ring backends (uring.c, generic.c) share: getting an SQE of
 * the loop's ring (A1 in internal.h), the ring timer, synchronous cancel.
 *
 * THE RING TIMER (deadlines of a ring loop's waits)
 *   One IORING_OP_TIMEOUT at most is armed on the ring, absolute on
 *   CLOCK_MONOTONIC (as_now_ns's clock), for the earliest deadline of the
 *   loop's heap (timer.c); its CQE (-ETIME when it fires) expires what is
 *   due and arms the next.  It is moved only when a deadline earlier than the
 *   armed one arrives: the armed timeout is removed (IORING_OP_TIMEOUT_REMOVE)
 *   and its CQE (-ECANCELED) re-arms for the new earliest; a later one waits
 *   for the armed timeout to fire, find nothing due and re-arm (so a burst of
 *   waits costs no SQE each).
 * Invariant T1: while the heap is not empty, a TIMEOUT of the loop is in
 *   flight (L_TIMER) that fires at or before the earliest deadline, or is
 *   being removed (L_TIMER_MOVING) and its CQE comes at once; whichever CQE
 *   comes, the handler re-establishes T1.  The kernel copies the timespec at
 *   submission, so nothing of the loop's memory stays referenced: a timer
 *   CQE that comes after the loop was destroyed is swallowed, harmless.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../internal.h"

#ifdef AS_HAVE_URING
#include <liburing.h>
#include <string.h>

#include "../defs.h"

struct io_uring_sqe *as__ring_sqe(as_loop *loop)
{
    struct io_uring *ring = loop->as__ring;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    int r;
    if (sqe)
        goto got;
    do {
        r = io_uring_submit(ring);
    } while (r == -EINTR);
    sqe = io_uring_get_sqe(ring);
    /* A1: on an SQPOLL ring the submit above only published the tail; the
     * slots free up when the kernel's SQ thread has consumed the entries,
     * which it is now doing (the submit woke it if it slept).  Wait for
     * that (IORING_ENTER_SQ_WAIT) rather than give up: a loop that parks
     * with no doorbell armed sleeps through its wake-up. */
    while (!sqe && r >= 0 && (ring->flags & IORING_SETUP_SQPOLL)) {
        do {
            r = io_uring_sqring_wait(ring);
        } while (r == -EINTR);
        sqe = io_uring_get_sqe(ring);
    }
    if (!sqe)
        return NULL;
got:
    loop->as__flags |= AS__L_SQES;
    return sqe;
}

static void timer_arm(as_loop *loop, uint64_t deadline)
{
    struct io_uring_sqe *sqe = as__ring_sqe(loop);
    if (!sqe)
        return; /* A1: retried by as_loop_run */
    loop->as__ts[0] = (int64_t)(deadline / 1000000000ull);
    loop->as__ts[1] = (int64_t)(deadline % 1000000000ull);
    io_uring_prep_timeout(sqe, (struct __kernel_timespec *)(void *)loop->as__ts,
                          0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_TIMER));
    loop->as__tarmed = deadline;
    loop->as__flags |= AS__L_TIMER;
}

void as__ring_timer(as_loop *loop)
{
    uint64_t next = as__timer_next(loop);
    struct io_uring_sqe *sqe;
    if (next == AS_NO_DEADLINE)
        return; /* an armed timer fires, finds nothing, stays unarmed */
    if (!(loop->as__flags & AS__L_TIMER)) {
        timer_arm(loop, next);
        return;
    }
    if (next >= loop->as__tarmed || (loop->as__flags & AS__L_TIMER_MOVING))
        return;
    /* T1: an earlier deadline: remove the armed timeout; its CQE re-arms. */
    sqe = as__ring_sqe(loop);
    if (!sqe)
        return;
    io_uring_prep_timeout_remove(sqe, as__ud(loop, AS__TAG_TIMER), 0);
    sqe->flags |= AS_IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_TIMER_RM));
    loop->as__flags |= AS__L_TIMER_MOVING;
}

void as__ring_timer_handle(as_loop *loop, unsigned tag, int res)
{
    (void)res;
    if (tag == AS__TAG_TIMER_RM)
        return; /* a removal that failed: the timeout's own CQE is coming */
    as__stat_inc(loop->as__st[AS__ST_TIMER_CQES]);
    loop->as__flags &= ~(AS__L_TIMER | AS__L_TIMER_MOVING);
    if (loop->as__troot)
        as__timer_expire(loop, as_now_ns());
    as__ring_timer(loop);
}

int as__ring_flush(as_loop *loop)
{
    int r = 0;
    if (!(loop->as__flags & AS__L_SQES))
        return 0;
    do {
        r = io_uring_submit(loop->as__ring);
    } while (r == -EINTR);
    if (r >= 0)
        loop->as__flags &= ~AS__L_SQES;
    return r;
}

void as__ring_timer_retire(as_loop *loop)
{
    struct io_uring_sqe *sqe;
    if (!(loop->as__flags & AS__L_TIMER))
        return;
    /* Nothing of the loop's memory is referenced once submitted (the
     * caller flushed): cancel it so it does not linger, and let a late CQE
     * be swallowed.  Kernels before 6.0: an asynchronous removal. */
    if (as__ring_sync_cancel(loop, as__ud(loop, AS__TAG_TIMER)) < 0 &&
        !(loop->as__flags & AS__L_TIMER_MOVING) &&
        (sqe = io_uring_get_sqe(loop->as__ring)) != NULL) {
        io_uring_prep_timeout_remove(sqe, as__ud(loop, AS__TAG_TIMER), 0);
        sqe->flags |= AS_IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_TIMER_RM));
        (void)io_uring_submit(loop->as__ring);
    }
    loop->as__flags &= ~(AS__L_TIMER | AS__L_TIMER_MOVING);
}

int as__ring_sync_cancel(as_loop *loop, uint64_t user_data)
{
    struct io_uring_sync_cancel_reg reg;
    int r;
    memset(&reg, 0, sizeof reg);
    reg.addr = user_data;
    reg.timeout.tv_sec = -1;
    reg.timeout.tv_nsec = -1;
    do {
        r = io_uring_register_sync_cancel(loop->as__ring, &reg);
    } while (r == -EINTR);
    /* -ENOENT: no longer armed (completed; its CQE is on its way). */
    return r == -ENOENT || r >= 0 ? 0 : r;
}
#endif
