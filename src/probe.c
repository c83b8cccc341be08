/* Backend choice for a ring-bound loop, made at each as_loop_init_uring
 * (one io_uring_register call: what the kernel says through this ring, so
 * a broken ring is refused and decides nothing for the next one).
 *
 *   ASYNCSYNC_BACKEND=uring    futex backend or -EOPNOTSUPP (no fallback)
 *   ASYNCSYNC_BACKEND=generic  eventfd doorbell on the ring
 *   unset, empty or "auto"     futex backend if the kernel has
 *                              IORING_OP_FUTEX_WAIT and _WAKE (Linux 6.7+),
 *                              else generic, silently
 *   anything else              -EINVAL
 *   disabled_caps & AS_CAP_FUTEX_WAIT in the loop's options: generic, whatever
 *   the environment says (the most specific request wins).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef AS_HAVE_URING
#include <liburing.h>

#include "defs.h"

#define AS__PROBE_OPS 256

/* Ask the kernel, through `ring`, whether it has the futex opcodes.
 * 0 (answer in *ok), or -EBADF when the ring itself is unusable (its fd is
 * closed, or is not an io_uring: -EBADF / -EOPNOTSUPP from the register
 * call), which says nothing about the kernel. */
static int futex_ops_probe(struct io_uring *ring, bool *ok)
{
    union {
        struct io_uring_probe p;
        char buf[sizeof(struct io_uring_probe) +
                 AS__PROBE_OPS * sizeof(struct io_uring_probe_op)];
    } u;
    int r;
    memset(&u, 0, sizeof u);
    r = io_uring_register_probe(ring, &u.p, AS__PROBE_OPS);
    if (r == -EBADF || r == -EOPNOTSUPP || r == -ENXIO || ring->ring_fd < 0)
        return -EBADF;
    /* -EINVAL before Linux 5.6, -EPERM / -ENOSYS where io_uring is
     * filtered: all mean "not available", and are the kernel's answer. */
    *ok = r >= 0 && io_uring_opcode_supported(&u.p, AS_IORING_OP_FUTEX_WAIT) &&
          io_uring_opcode_supported(&u.p, AS_IORING_OP_FUTEX_WAKE);
    return 0;
}

/* Is the ring one this library can bind to at all?  0 or a negative errno. */
static int ring_usable(struct io_uring *ring)
{
    /* IOPOLL rings accept only polled I/O (and NOP, MSG_RING): FUTEX_WAIT,
     * FUTEX_WAKE, TIMEOUT and POLL_ADD fail with -EINVAL and a READ of an
     * eventfd with -EOPNOTSUPP (measured on Linux 6.18), so no doorbell of
     * either backend can be armed there. */
    if (ring->flags & IORING_SETUP_IOPOLL)
        return -EOPNOTSUPP;
    if (ring->ring_fd < 0 || fcntl(ring->ring_fd, F_GETFD) < 0)
        return -EBADF; /* closed: what the probe would say, asked first */
    return 0;
}

int as__probe_choose(struct io_uring *ring, uint32_t disabled_caps,
                     enum as__choice *out)
{
    const char *env = getenv("ASYNCSYNC_BACKEND");
    bool force_uring = false, ok = false;
    int r = ring_usable(ring);
    if (r < 0)
        return r;
    if (env && *env && strcmp(env, "auto") != 0 &&
        strcmp(env, "generic") != 0 && strcmp(env, "uring") != 0)
        return -EINVAL;
    /* Even a loop that will not use the futex ops is refused a dead ring. */
    r = futex_ops_probe(ring, &ok);
    if (r < 0)
        return r;
    /* The loop's own options are the most specific request: a loop told not
     * to use the futex wait gets the generic doorbell whatever the
     * environment says. */
    if (disabled_caps & AS_CAP_FUTEX_WAIT) {
        *out = AS__CHOICE_GENERIC;
        return 0;
    }
    if (env && strcmp(env, "generic") == 0) {
        *out = AS__CHOICE_GENERIC;
        return 0;
    }
    force_uring = env && strcmp(env, "uring") == 0;
    if (ok) {
        *out = AS__CHOICE_URING;
        return 0;
    }
    if (force_uring)
        return -EOPNOTSUPP; /* needs Linux 6.7+ (IORING_OP_FUTEX_WAIT) */
    *out = AS__CHOICE_GENERIC;
    return 0;
}
#endif
