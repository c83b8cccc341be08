/* Latch: a count-down latch and a wait group in one.
 *
 * STATE WORD   bits 0..29: the count; CLOSED (bit 30); WAITERS (bit 31):
 *              the queue is not empty.
 *
 * A wait completes when the count is 0: at once (1) if it is 0 already,
 * else when count_down takes it to 0, which wakes every waiter queued then
 * (status 0).  add() raises the count again (from 0 it re-arms the latch:
 * later waits wait).
 *
 * Invariant L1 (no lost wake-up): a waiter queues only with a CAS that sets
 *   WAITERS from a value with a count above 0, under the queue lock; a
 *   count_down that reaches 0 with WAITERS set takes the lock and wakes the
 *   queue; one that reaches 0 without WAITERS makes the parker's CAS fail,
 *   and the parker sees 0.
 * Invariant L2: WAITERS set => count > 0 (the count_down that reaches 0
 *   clears it under the lock with the waiters it wakes).
 * A latch grant is not consumed by the waiter: a cancel after it passes
 * nothing on.
 */
#include "pshared.h"
#include "waitq.h"

#define L_COUNT AS_LATCH_VALUE_MAX
#define L_CLOSED 0x40000000u
#define L_WAITERS 0x80000000u

static inline as__prim *P(as_latch *l) { return (as__prim *)(void *)l; }

AS__PRIM_LAYOUT(as_latch);

static const struct as__kind latch_kind;

static inline bool latch_valid(const as_latch *l)
{
    return l && l->as__magic == AS__MAGIC_LATCH;
}

/* AS_PSHARED: the shared layout of pshared.h, handled by gwait_ps.c
 * (every public call dispatches on the flag, as sem.c does). */
#ifdef AS__PS_SUPPORTED
#define LATCH_PS(l, call)                                                     \
    do {                                                                      \
        if (as__load(&(l)->as__flags, AS_RELAXED) & AS_PSHARED)               \
            return (call);                                                    \
    } while (0)
#else
#define LATCH_PS(l, call) ((void)0)
#endif

int as_latch_init_flags(as_latch *l, uint32_t count, unsigned flags)
{
    if (l && (flags & AS_PSHARED)) {
        if (count > AS_LATCH_VALUE_MAX || !as__ps_flags_ok(flags, 0))
            return -EINVAL;
#ifdef AS__PS_SUPPORTED
        return as__latch_ps_init(l, count, flags);
#else
        return -EOPNOTSUPP;
#endif
    }
    if (!l || count > AS_LATCH_VALUE_MAX || flags != 0)
        return -EINVAL;
    as__prim_init(P(l), AS__MAGIC_LATCH, count, 0);
    return 0;
}

int as_latch_init(as_latch *l, uint32_t count)
{
    return as_latch_init_flags(l, count, 0);
}

int as_latch_destroy(as_latch *l)
{
    if (!latch_valid(l))
        return -EINVAL;
    LATCH_PS(l, as__gw_ps_destroy(l));
    return as__prim_destroy(P(l), L_WAITERS);
}

int64_t as_latch_value(const as_latch *l)
{
    if (!latch_valid(l))
        return -EINVAL;
    LATCH_PS(l, as__latch_ps_value(l));
    return (int64_t)(as__load(&l->as__word, AS_ACQUIRE) & L_COUNT);
}

/* 1 when the count is 0 and the latch open. */
static inline int latch_try(as_latch *l)
{
    if ((as__load(&l->as__word, AS_ACQUIRE) & (L_COUNT | L_CLOSED)) != 0)
        return 0;
    as__stat_inc(l->as__stats.acquired);
    return 1;
}

static AS__NOINLINE int latch_wait_slow(as_latch *l, as_loop *loop, as_wait *w,
                                        uint64_t deadline, as_callback cb,
                                        void *arg)
{
    uint32_t v;
    as__q_lock(P(l));
    v = as__load(&l->as__word, AS_ACQUIRE);
    for (;;) {
        if (v & L_CLOSED) {
            as__q_unlock(P(l));
            return -ESHUTDOWN;
        }
        if ((v & L_COUNT) == 0) {
            as__stat_inc(l->as__stats.acquired);
            as__q_unlock(P(l));
            return 1;
        }
        if (as__deadline_passed(deadline)) {
            as__q_unlock(P(l));
            return -ETIMEDOUT;
        }
        /* L1: add_waiter_if the count is still above 0 */
        if ((v & L_WAITERS) ||
            as__cas(&l->as__word, &v, v | L_WAITERS, AS_ACQUIRE, AS_ACQUIRE))
            break;
    }
    as__wait_prepare(w, loop, &latch_kind, cb, arg, l);
    as__q_push_tail(P(l), w);
    as__q_unlock(P(l));
    as__wait_parked(w, deadline);
    return 0;
}

static inline int latch_wait(as_latch *l, as_loop *loop, as_wait *w,
                             uint64_t deadline, as_callback cb, void *arg)
{
    int r;
    if (!latch_valid(l) || as__deadline_check(deadline) < 0)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    LATCH_PS(l, as__latch_ps_wait(l, loop, w, deadline, cb, arg));
    r = latch_try(l) ? 1 : latch_wait_slow(l, loop, w, deadline, cb, arg);
    if (r == 1 && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &latch_kind, cb, arg, l, 0, 0);
    return r;
}

int as_latch_wait_async(as_latch *l, as_loop *loop, as_wait *w, as_callback cb,
                        void *arg)
{
    return latch_wait(l, loop, w, AS_NO_DEADLINE, cb, arg);
}

int as_latch_wait_until(as_latch *l, as_loop *loop, as_wait *w,
                        uint64_t deadline_ns, as_callback cb, void *arg)
{
    return latch_wait(l, loop, w, deadline_ns, cb, arg);
}

int as_latch_wait_blocking(as_latch *l, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    if (!latch_valid(l) || as__deadline_check(deadline_ns) < 0)
        return -EINVAL;
    LATCH_PS(l, as__latch_ps_blocking(l, deadline_ns));
    if (latch_try(l))
        return 0;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, latch_wait_slow(l, &tl, &w, deadline_ns, as__block_cb, NULL), deadline_ns);
}

/* End every queued wait with `status` (queue lock held), clearing WAITERS. */
static void latch_take_all_locked(as_latch *l, int status, as__batch *done)
{
    as_wait *w;
    while ((w = l->as__head) != NULL)
        as__q_take(P(l), w, status, done);
    as__fetch_and(&l->as__word, ~L_WAITERS, AS_RELEASE);
}

int as_latch_count_down(as_latch *l, uint32_t n)
{
    as__batch done = {NULL, NULL};
    uint32_t v;
    if (!latch_valid(l) || n == 0 || n > AS_LATCH_VALUE_MAX)
        return -EINVAL;
    LATCH_PS(l, as__latch_ps_count_down(l, n));
    v = as__load(&l->as__word, AS_RELAXED);
    for (;;) {
        if ((v & L_COUNT) < n)
            return -ERANGE; /* below zero: nothing changed */
        if ((v & L_COUNT) == n && (v & L_WAITERS))
            break; /* reaches 0 with waiters: under the lock (L1) */
        if (as__cas(&l->as__word, &v, v - n, AS_RELEASE, AS_RELAXED))
            return 0;
    }
    as__q_lock(P(l));
    v = as__load(&l->as__word, AS_RELAXED);
    for (;;) {
        if ((v & L_COUNT) < n) {
            as__q_unlock(P(l));
            return -ERANGE;
        }
        if (as__cas(&l->as__word, &v, v - n, AS_RELEASE, AS_RELAXED))
            break;
    }
    if (((v - n) & L_COUNT) == 0)
        latch_take_all_locked(l, 0, &done); /* L2 */
    as__q_unlock(P(l));
    as__batch_finish(&done);
    return 0;
}

int as_latch_add(as_latch *l, uint32_t n)
{
    uint32_t v;
    if (!latch_valid(l) || n == 0)
        return -EINVAL;
    if (n > AS_LATCH_VALUE_MAX)
        return -EOVERFLOW;
    LATCH_PS(l, as__latch_ps_add(l, n));
    v = as__load(&l->as__word, AS_RELAXED);
    do {
        if ((v & L_COUNT) > AS_LATCH_VALUE_MAX - n)
            return -EOVERFLOW;
    } while (!as__cas(&l->as__word, &v, v + n, AS_RELAXED, AS_RELAXED));
    return 0;
}

int as_latch_close(as_latch *l)
{
    as__batch done = {NULL, NULL};
    if (!latch_valid(l))
        return -EINVAL;
    LATCH_PS(l, as__gw_ps_close(l));
    as__q_lock(P(l));
    if (as__prim_close_locked(P(l))) {
        AS_PROBE2(close, l, "latch");
        as__fetch_or(&l->as__word, L_CLOSED, AS_RELAXED);
        latch_take_all_locked(l, -ESHUTDOWN, &done);
    }
    as__q_unlock(P(l));
    as__batch_finish(&done);
    return 0;
}


AS__PRIM_OBSERVERS_PS(latch, as_latch, latch_valid, as__gw_ps_waiters)

/* ---- the kind table ---- */

static void latch_fixup(as__prim *p, as__batch *done)
{
    (void)done;
    if (as__q_empty(p))
        as__fetch_and(&p->word, ~L_WAITERS, AS_RELAXED);
}

static int latch_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &latch_kind, latch_fixup);
}

static const struct as__kind latch_kind = {
    .name = "latch",
    .cancel = latch_cancel,
    .resume = NULL,
    .giveback = NULL, /* reaching 0 is not consumed */
};
