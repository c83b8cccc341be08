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
#include "../probes.h"

static void notify_arm(as_loop *loop) { (void)loop; }

static void notify_wake(as_loop *loop)
{
    /* any thread: an atomic increment (this path calls the application) */
    as__fetch_add(&loop->as__st[AS__ST_NOTIFIES], 1u, AS_RELAXED);
    AS_PROBE2(wake_send, loop, AS__HOW_NOTIFY);
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

int as_loop_init_generic(as_loop *loop, void (*notify)(void *ctx), void *ctx,
                         const as_loop_options *opts)
{
    uint32_t flags, disabled;
    if (!loop || !notify || as__loop_opts(opts, &flags, &disabled) < 0)
        return -EINVAL;
    as__loop_reset(loop);
    loop->as__ops = &as__backend_generic_notify;
    loop->as__notify = notify;
    loop->as__notify_ctx = ctx;
    loop->as__opts = flags;
    loop->as__caps = 0;
    as__loop_publish(loop);
    return 0;
}

const struct as__backend as__backend_generic_notify = {
    .name = "generic",
    .wake_local = true,
    .arm = notify_arm,
    .wake = notify_wake,
    .handle = notify_handle,
    .timer = NULL, /* the application asks as_loop_timeout_ns */
    .retire = notify_retire,
    .fini = notify_fini,
};

#ifdef AS_HAVE_URING
#include <liburing.h>
#include <unistd.h>

/* Where the doorbell's reads land: never in the loop, so a read the kernel
 * completes after the loop was torn down (a DEFER_TASKRUN ring runs it when
 * the application next waits) writes nothing that may be reused.  Shared by
 * every loop; nobody reads it. */
static uint64_t ring_sink;

static void ring_arm(as_loop *loop)
{
    struct io_uring_sqe *sqe;
    if (loop->as__flags & AS__L_ARMED)
        return;
    sqe = as__ring_sqe(loop);
    if (!sqe)
        return; /* A1: retried by as_loop_run and every CQE of ours */
    io_uring_prep_read(sqe, loop->as__efd, &ring_sink, sizeof ring_sink, 0);
    io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_BELL));
    loop->as__flags |= AS__L_ARMED;
}

static void ring_wake(as_loop *loop)
{
    uint64_t one = 1;
    ssize_t r;
    AS_PROBE2(wake_send, loop, AS__HOW_EVENTFD);
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
    as__stat_inc(loop->as__st[AS__ST_DOORBELLS]);
    AS_PROBE2(wake_recv, loop, 2);
    as__loop_drain(loop);
    if (as__load(&loop->as__pending, AS_RELAXED) != 0)
        ring_arm(loop);
}

static int ring_retire(as_loop *loop)
{
    /* What we queued goes to the kernel first (an unsubmitted read would
     * otherwise reach it after the eventfd is closed). */
    if (as__ring_flush(loop) < 0)
        return -EAGAIN;
    as__ring_timer_retire(loop);
    if (loop->as__flags & AS__L_ARMED) {
        /* The read refers to nothing of the loop (ring_sink): cancel it at
         * once, or (kernels before 6.0) complete it with a write; its late
         * CQE is swallowed.  Never -EAGAIN. */
        if (as__ring_sync_cancel(loop, as__ud(loop, AS__TAG_BELL)) < 0)
            ring_wake(loop);
        loop->as__flags &= ~(AS__L_ARMED | AS__L_CANCELING);
    }
    return 0;
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
    .timer = as__ring_timer,
    .retire = ring_retire,
    .fini = ring_fini,
};
#endif
