/* Barrier: N parties meet; the arrival that completes a generation is its
 * leader (returns 1, no callback), the others' callbacks run with 0; the
 * barrier is then ready for the next generation.
 *
 * STATE WORD   parties arrived in the current generation (queue lock).
 * as__flags    bits 0..30: the number of parties; AS__P_CLOSED.
 *
 * Every arrival takes the queue lock (a barrier has no uncontended path
 * worth a CAS: someone always waits).
 * Invariant BA1: arrived == queue length (each waiting party is queued),
 *   and arrived < parties between generations: the N-th arrival takes the
 *   N-1 queued parties out with it (status 0) and resets arrived to 0, all
 *   under the lock, so a generation completes with exactly N arrivals and
 *   one leader.
 * Invariant BA2: a party that leaves before its generation completes
 *   (cancel, deadline, close) stops counting: arrived drops with it.  One
 *   whose generation completed first is not withdrawn (its grant wins; no
 *   give-back: the others were released already).
 */
#include "waitq.h"

#define B_PARTIES 0x7fffffffu

static inline as__prim *P(as_barrier *b) { return (as__prim *)(void *)b; }

AS__PRIM_LAYOUT(as_barrier);

static const struct as__kind barrier_kind;

static inline bool barrier_valid(const as_barrier *b)
{
    return b && b->as__magic == AS__MAGIC_BARRIER;
}

int as_barrier_init(as_barrier *b, uint32_t parties)
{
    if (!b || parties == 0 || parties > AS_BARRIER_PARTIES_MAX)
        return -EINVAL;
    as__prim_init(P(b), AS__MAGIC_BARRIER, 0, parties);
    return 0;
}

int as_barrier_destroy(as_barrier *b)
{
    if (!barrier_valid(b))
        return -EINVAL;
    return as__prim_destroy(P(b), 0);
}

/* Arrive: 1 (leader: the generation completed), 0 (parked), or refused
 * (-ESHUTDOWN; -ETIMEDOUT when it would wait and the deadline passed). */
static int barrier_arrive(as_barrier *b, as_loop *loop, as_wait *w,
                          uint64_t deadline, as_callback cb, void *arg)
{
    as__batch done = {NULL, NULL};
    uint32_t parties, arrived;
    as_wait *x;
    as__q_lock(P(b));
    if (as__prim_closed(P(b))) {
        as__q_unlock(P(b));
        return -ESHUTDOWN;
    }
    parties = as__load(&b->as__flags, AS_RELAXED) & B_PARTIES;
    arrived = as__load(&b->as__word, AS_RELAXED);
    if (arrived + 1 == parties) {
        /* BA1: the leader releases the generation */
        while ((x = b->as__head) != NULL)
            as__q_take(P(b), x, 0, &done);
        as__store(&b->as__word, 0u, AS_RELEASE);
        as__stat_inc(b->as__stats.acquired);
        as__q_unlock(P(b));
        as__batch_finish(&done);
        return 1;
    }
    if (as__deadline_passed(deadline)) {
        as__q_unlock(P(b));
        return -ETIMEDOUT;
    }
    as__store(&b->as__word, arrived + 1, AS_RELAXED);
    as__wait_prepare(w, loop, &barrier_kind, cb, arg, b);
    as__q_push_tail(P(b), w);
    as__q_unlock(P(b));
    as__wait_parked(w, deadline);
    return 0;
}

static inline int barrier_wait(as_barrier *b, as_loop *loop, as_wait *w,
                               uint64_t deadline, as_callback cb, void *arg)
{
    int r;
    if (!barrier_valid(b) || as__deadline_check(deadline) < 0)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    r = barrier_arrive(b, loop, w, deadline, cb, arg);
    if (r == 1 && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &barrier_kind, cb, arg, b, 0, 1);
    return r;
}

int as_barrier_wait_async(as_barrier *b, as_loop *loop, as_wait *w,
                          as_callback cb, void *arg)
{
    return barrier_wait(b, loop, w, AS_NO_DEADLINE, cb, arg);
}

int as_barrier_wait_until(as_barrier *b, as_loop *loop, as_wait *w,
                          uint64_t deadline_ns, as_callback cb, void *arg)
{
    return barrier_wait(b, loop, w, deadline_ns, cb, arg);
}

int as_barrier_wait_blocking(as_barrier *b, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    int r;
    if (!barrier_valid(b) || as__deadline_check(deadline_ns) < 0)
        return -EINVAL;
    as__block_init(&tl);
    r = barrier_arrive(b, &tl, &w, deadline_ns, as__block_cb, NULL);
    if (r != 0)
        return r; /* 1: the leader; or refused */
    return as__block_wait(&tl, &w, deadline_ns);
}

int as_barrier_close(as_barrier *b)
{
    as__batch done = {NULL, NULL};
    as_wait *x;
    if (!barrier_valid(b))
        return -EINVAL;
    as__q_lock(P(b));
    if (as__prim_close_locked(P(b))) {
        AS_PROBE2(close, b, "barrier");
        while ((x = b->as__head) != NULL)
            as__q_take(P(b), x, -ESHUTDOWN, &done);
        as__store(&b->as__word, 0u, AS_RELAXED);
    }
    as__q_unlock(P(b));
    as__batch_finish(&done);
    return 0;
}


AS__PRIM_OBSERVERS(barrier, as_barrier, barrier_valid)

/* ---- the kind table ---- */

/* BA2: the party that left stops counting. */
static void barrier_fixup(as__prim *p, as__batch *done)
{
    (void)done;
    as__store(&p->word, as__load(&p->word, AS_RELAXED) - 1u, AS_RELAXED);
}

static int barrier_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &barrier_kind, barrier_fixup);
}

static const struct as__kind barrier_kind = {
    .name = "barrier",
    .cancel = barrier_cancel,
    .resume = NULL,
    .giveback = NULL, /* the generation completed: nothing to pass on */
};
