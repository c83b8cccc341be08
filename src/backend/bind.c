/* Binding a loop to an io_uring ring, and the ring loops' CQE entry point.
 * Chooses the backend (probe.c) and fills the loop; the CQEs of the library
 * go to the backend that queued them, or to the shared ring timer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../internal.h"

#ifdef AS_HAVE_URING
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

int as_loop_init_uring(as_loop *loop, struct io_uring *ring,
                       const as_loop_options *opts)
{
    uint32_t flags, disabled;
    enum as__choice choice;
    int r, efd = -1;
    if (!loop || !ring || as__loop_opts(opts, &flags, &disabled) < 0)
        return -EINVAL;
    r = as__probe_choose(ring, disabled, &choice);
    if (r < 0)
        return r;
    if (choice == AS__CHOICE_GENERIC) {
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
            return -errno;
    }
    as__loop_reset(loop);
    loop->as__ring = ring;
    loop->as__opts = flags;
    if (choice == AS__CHOICE_URING) {
        loop->as__ops = &as__backend_uring;
        loop->as__caps = AS_CAP_FUTEX_WAIT |
                         ((AS_CAP_RING_WAKE | AS_CAP_PSHARED) & ~disabled);
    } else {
        loop->as__efd = efd;
        loop->as__ops = &as__backend_generic_ring;
        loop->as__caps = 0;
    }
    as__loop_publish(loop);
    return 0;
}

bool as_loop_handle_cqe(as_loop *loop, const struct io_uring_cqe *cqe)
{
    uint64_t ud, at;
    unsigned tag;
    if (!cqe || !loop)
        return false;
    ud = cqe->user_data;
    /* Ours: bit 63, bits 60-62 clear, a tag in 56-59 (asyncsync.h). */
    if ((ud >> 60) != 0x8u)
        return false;
    tag = (unsigned)((ud >> 56) & 0xfu);
    if (tag == 0 || tag > AS__TAG_LAST)
        return false;
    at = ud & AS__UD_ADDR_MASK;
    if (tag == AS__TAG_REFUSED) {
        /* A silent wake message of this loop's was refused.  The address
         * is the target loop's: alive, as its as__msgs still counts this
         * message (R2 in uring.c); and this loop is not torn down, as its
         * teardown waits until no refusal is left on its ring (R3). */
        if (!as__loop_valid(loop))
            return true;
        as__loop_claim(loop);
        loop->as__ops->handle(loop, tag, cqe->res, (uintptr_t)at);
        return true;
    }
    if (tag == AS__TAG_FWAIT) {
        /* The address is a wait's, not the loop's.  P8 (loop.c): a wait
         * with a kernel wait armed is pending, so its loop is alive and
         * its memory is the library's until this CQE is handled; a wait
         * of another loop cannot be named here (one loop per ring). */
        as_wait *w = (as_wait *)(uintptr_t)at;
        if (!as__loop_valid(loop) || w->as__loop != loop)
            return true;
        as__loop_claim(loop);
        as__loop_fwake(loop, w, cqe->res);
        return true;
    }
    /* Another address: a late CQE of a loop destroyed since (its memory
     * may be anything now): swallowed. */
    if (at < (uint64_t)(uintptr_t)loop ||
        at >= (uint64_t)(uintptr_t)loop + sizeof *loop || !as__loop_valid(loop))
        return true;
    as__loop_claim(loop);
    if (tag == AS__TAG_TIMER || tag == AS__TAG_TIMER_RM) {
        if (loop->as__ops == &as__backend_uring ||
            loop->as__ops == &as__backend_generic_ring)
            as__ring_timer_handle(loop, tag, cqe->res);
        return true;
    }
    loop->as__ops->handle(loop, tag, cqe->res, (uintptr_t)at);
    return true;
}

int as_loop_flush(as_loop *loop)
{
    if (!as__loop_valid(loop))
        return -EINVAL;
    if (loop->as__ops != &as__backend_uring &&
        loop->as__ops != &as__backend_generic_ring)
        return 0;
    return as__ring_flush(loop);
}
#else
int as_loop_init_uring(as_loop *loop, struct io_uring *ring,
                       const as_loop_options *opts)
{
    (void)loop, (void)ring, (void)opts;
    return -EOPNOTSUPP;
}

bool as_loop_handle_cqe(as_loop *loop, const struct io_uring_cqe *cqe)
{
    (void)loop, (void)cqe;
    return false;
}

int as_loop_flush(as_loop *loop)
{
    return as__loop_valid(loop) ? 0 : -EINVAL;
}
#endif
