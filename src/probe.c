/* Backend choice for a ring-bound loop, made once per process for the
 * kernel part (cached) and per loop for the overrides.
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
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef AS_HAVE_URING
#include <liburing.h>

#include "defs.h"

/* 0: not probed yet, 1: supported, 2: not supported. */
static uint32_t as__futex_probe_cache;

static bool futex_ops_supported(struct io_uring *ring)
{
    uint32_t c = as__load(&as__futex_probe_cache, AS_ACQUIRE);
    if (c == 0) {
        /* The probe fails with -EINVAL before Linux 5.6 and with -EPERM /
         * -ENOSYS where io_uring is filtered: all mean "not available". */
        struct io_uring_probe *p = io_uring_get_probe_ring(ring);
        bool ok = p && io_uring_opcode_supported(p, AS_IORING_OP_FUTEX_WAIT) &&
                  io_uring_opcode_supported(p, AS_IORING_OP_FUTEX_WAKE);
        if (p)
            io_uring_free_probe(p);
        c = ok ? 1u : 2u;
        as__store(&as__futex_probe_cache, c, AS_RELEASE);
    }
    return c == 1;
}

int as__probe_choose(struct io_uring *ring, uint32_t disabled_caps,
                     enum as__choice *out)
{
    const char *env = getenv("ASYNCSYNC_BACKEND");
    bool force_uring = false;
    /* The loop's own options are the most specific request: a loop told not
     * to use the futex wait gets the generic doorbell whatever the
     * environment says. */
    if (disabled_caps & AS_CAP_FUTEX_WAIT) {
        *out = AS__CHOICE_GENERIC;
        return 0;
    }
    if (env && *env && strcmp(env, "auto") != 0) {
        if (strcmp(env, "generic") == 0) {
            *out = AS__CHOICE_GENERIC;
            return 0;
        }
        if (strcmp(env, "uring") != 0)
            return -EINVAL;
        force_uring = true;
    }
    if (futex_ops_supported(ring)) {
        *out = AS__CHOICE_URING;
        return 0;
    }
    if (force_uring)
        return -EOPNOTSUPP; /* needs Linux 6.7+ (IORING_OP_FUTEX_WAIT) */
    *out = AS__CHOICE_GENERIC;
    return 0;
}
#endif
