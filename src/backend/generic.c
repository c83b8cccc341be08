/* Generic backend: no kernel futex support needed.
 *
 * Two flavours share the name "generic":
 * - notify: a loop bound with as_loop_init_generic.  A ring of the doorbell
 *   calls the application's notify(ctx); the application then runs
 *   as_loop_run on the loop's thread.  Nothing is ever armed.
 * - ring: a loop bound to an io_uring ring whose kernel lacks
 *   IORING_OP_FUTEX_WAIT (or forced with ASYNCSYNC_BACKEND=generic).  The
 *   doorbell is an eventfd with an IORING_OP_READ armed on the ring; a ring is
 *   an eventfd write, which completes the read as a CQE on the loop's ring, so
 *   the application's loop code is the same as with the uring backend.
 *
 * The waiter queues and the inbox are the same lock-free / user-space
 * structures on every backend (see waitq.h and loop.c); only the way a
 * sleeping loop is woken differs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../internal.h"

static void notify_arm(as_loop *loop) { (void)loop; }

static void notify_wake(as_loop *loop)
{
    loop->as__notify(loop->as__notify_ctx);
}

static void notify_handle(as_loop *loop, unsigned tag, int res, uintptr_t at)
{
    (void)loop, (void)tag, (void)res, (void)at;
}

static int notify_retire(as_loop *loop)
{
    (void)loop;
    return 0;
}

static void notify_fini(as_loop *loop) { (void)loop; }

const struct as__backend as__backend_generic_notify = {
    .name = "generic",
    .wake_local = true,
    .arm = notify_arm,
    .wake = notify_wake,
    .handle = notify_handle,
    .retire = notify_retire,
    .fini = notify_fini,
};

#ifdef AS_HAVE_URING
#include <liburing.h>
#include <unistd.h>

static void ring_arm(as_loop *loop)
{
    struct io_uring_sqe *sqe;
    if (loop->as__flags & AS__L_ARMED)
        return;
    sqe = as__ring_sqe(loop);
    if (!sqe)
        return; /* retried by as_loop_run and every CQE of ours */
    io_uring_prep_read(sqe, loop->as__efd, &loop->as__efd_buf,
                       sizeof loop->as__efd_buf, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)loop | AS__TAG_BELL);
    loop->as__flags |= AS__L_ARMED;
}

static void ring_wake(as_loop *loop)
{
    uint64_t one = 1;
    ssize_t r;
    do {
        r = write(loop->as__efd, &one, sizeof one);
    } while (r < 0 && errno == EINTR);
    /* EAGAIN means the counter is about to overflow: unread wakes pending,
     * the loop will wake anyway. */
}

static void ring_handle(as_loop *loop, unsigned tag, int res, uintptr_t at)
{
    (void)res, (void)at;
    if (tag != AS__TAG_BELL)
        return;
    loop->as__flags &= ~(AS__L_ARMED | AS__L_CANCELING);
    as__loop_drain(loop);
    if (as__load(&loop->as__pending, AS_RELAXED) != 0)
        ring_arm(loop);
}

static int ring_retire(as_loop *loop)
{
    if (!(loop->as__flags & AS__L_ARMED))
        return 0;
    if (!(loop->as__flags & AS__L_CANCELING)) {
        /* Complete the armed read by writing the eventfd: works whatever the
         * state of the SQ, and the CQE comes back through the loop. */
        ring_wake(loop);
        loop->as__flags |= AS__L_CANCELING;
    }
    return -EAGAIN;
}

static void ring_fini(as_loop *loop)
{
    if (loop->as__efd >= 0)
        close(loop->as__efd);
    loop->as__efd = -1;
}

const struct as__backend as__backend_generic_ring = {
    .name = "generic",
    .arm = ring_arm,
    .wake = ring_wake,
    .handle = ring_handle,
    .retire = ring_retire,
    .fini = ring_fini,
};
#endif
