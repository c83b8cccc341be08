/* Condition variable.
 *
 * STATE WORD   WAITERS (1): the queue is not empty (lets signal skip the
 *              queue lock when nobody waits).
 *
 * A waiter's life: wait_async queues it here (QUEUED, obj = cond), then
 * releases the mutex.  signal, broadcast, cancel, its deadline or close take
 * it off this queue (DONE, status decided: 0 when signalled, -ECANCELED,
 * -ETIMEDOUT, -ESHUTDOWN) and hand it to as__mutex_acquire_for, which either
 * gives it the mutex at once (the callback is then queued) or parks it in
 * the mutex's queue (QUEUED, obj = mutex).  So the callback always runs with
 * the mutex held (DESIGN: like pthread_cond_wait).
 *
 * Invariant C1 (no lost signal): the waiter is queued here before the mutex
 *   is released, so a signaller that holds the mutex after the waiter released
 *   it sees the waiter; a signal pops a waiter under the queue lock, so a
 *   racing cancel or deadline either removes the waiter first (the signal
 *   goes to the next one) or finds it gone.
 * Invariant C2 (a signal is never swallowed): a waiter picked by a signal
 *   (AS__F_SIGNALLED) whose wait is then cancelled passes the signal on to
 *   the next waiter (the canceller signals again); its deadline no longer
 *   applies once it was signalled (it only waits for the mutex).
 */
#include "waitq.h"

#define C_WAITERS 1u

static inline as__prim *P(as_cond *c) { return (as__prim *)(void *)c; }

AS__PRIM_LAYOUT(as_cond);

static const struct as__kind cond_kind;

static inline bool cond_valid(const as_cond *c)
{
    return c && c->as__magic == AS__MAGIC_COND;
}

int as_cond_init(as_cond *c, unsigned flags)
{
    if (!c || flags != 0)
        return -EINVAL;
    as__prim_init(P(c), AS__MAGIC_COND, 0, 0);
    return 0;
}

int as_cond_destroy(as_cond *c)
{
    if (!cond_valid(c))
        return -EINVAL;
    return as__prim_destroy(P(c), 0);
}

/* Queue w and release m; or refuse (nothing changed, m still held). */
static int cond_wait(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                     uint64_t deadline, as_callback cb, void *arg)
{
    as__q_lock(P(c));
    if (as__prim_closed(P(c))) {
        as__q_unlock(P(c));
        return -ESHUTDOWN;
    }
    if (as__deadline_passed(deadline)) {
        as__q_unlock(P(c));
        return -ETIMEDOUT;
    }
    as__wait_prepare(w, loop, &cond_kind, cb, arg, c);
    w->as__aux = m;
    /* The bit before the push: a signaller that saw the wait counted
     * (as_cond_waiters) finds the bit set. */
    as__store(&c->as__word, C_WAITERS, AS_RELEASE);
    as__q_push_tail(P(c), w);
    as__q_unlock(P(c));
    as__wait_parked(w, deadline);
    /* C1: queued first, released second. */
    as_mutex_unlock(m);
    return 0;
}

static int cond_args(as_cond *c, as_mutex *m, uint64_t deadline)
{
    if (!cond_valid(c) || !m || m->as__magic != AS__MAGIC_MUTEX ||
        as__deadline_check(deadline) < 0)
        return -EINVAL;
    /* a process-shared mutex has the shared layout, no private queue */
    if (as__load(&m->as__flags, AS_RELAXED) & AS_PSHARED)
        return -EOPNOTSUPP;
    return 0;
}

static bool mutex_held(as_mutex *m)
{
    return (as__load(&m->as__word, AS_RELAXED) & 1u /* LOCKED */) != 0;
}

int as_cond_wait_until(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                       uint64_t deadline_ns, as_callback cb, void *arg)
{
    int r;
    if ((r = cond_args(c, m, deadline_ns)) < 0)
        return r;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    if (!mutex_held(m))
        return -EPERM;
    return cond_wait(c, m, loop, w, deadline_ns, cb, arg);
}

int as_cond_wait_async(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                       as_callback cb, void *arg)
{
    return as_cond_wait_until(c, m, loop, w, AS_NO_DEADLINE, cb, arg);
}

int as_cond_wait_blocking(as_cond *c, as_mutex *m, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    int r;
    if ((r = cond_args(c, m, deadline_ns)) < 0)
        return r;
    if (!mutex_held(m))
        return -EPERM;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, cond_wait(c, m, &tl, &w, deadline_ns, as__block_cb, NULL), deadline_ns);
}

/* Take up to `max` waiters off the queue (oldest first) with `status` and
 * send each to re-acquire its mutex. */
static void cond_take(as_cond *c, unsigned max, int status, uint32_t flag)
{
    as__batch taken = {NULL, NULL};
    as_wait *w;
    as__q_lock(P(c));
    while (max-- > 0 && (w = c->as__head) != NULL) {
        w->as__flags |= flag; /* published by the removal's release store */
        as__q_take(P(c), w, status, &taken);
    }
    if (as__q_empty(P(c)))
        as__store(&c->as__word, 0u, AS_RELAXED);
    as__q_unlock(P(c));
    for (w = taken.head; w;) {
        as_wait *next = w->as__link;
        as__mutex_acquire_for((as_mutex *)w->as__aux, w);
        w = next;
    }
}

int as_cond_signal(as_cond *c)
{
    if (!cond_valid(c))
        return -EINVAL;
    if (as__load(&c->as__word, AS_ACQUIRE) != 0)
        cond_take(c, 1, 0, AS__F_SIGNALLED);
    return 0;
}

int as_cond_broadcast(as_cond *c)
{
    if (!cond_valid(c))
        return -EINVAL;
    if (as__load(&c->as__word, AS_ACQUIRE) != 0)
        cond_take(c, ~0u, 0, 0);
    return 0;
}

int as_cond_close(as_cond *c)
{
    bool first;
    if (!cond_valid(c))
        return -EINVAL;
    as__q_lock(P(c));
    first = as__prim_close_locked(P(c));
    as__q_unlock(P(c));
    if (first)
        AS_PROBE2(close, c, "cond");
    /* After the flag no wait can queue: every waiter queued now ends. */
    if (first)
        cond_take(c, ~0u, -ESHUTDOWN, 0);
    return 0;
}


AS__PRIM_OBSERVERS(cond, as_cond, cond_valid)

/* ---- the kind table ---- */

static int cond_cancel(as_wait *w, int status)
{
    uint32_t state;
    bool pass = false;
    as_cond *c;
    as__prim *p = as__q_lock_wait(w, &state);
    if (!p)
        return -ENOENT;
    if (as__load(&w->as__kind, AS_RELAXED) != &cond_kind) {
        as__q_unlock(p); /* re-armed on another primitive: look again */
        return -EAGAIN;
    }
    if (p == (as__prim *)w->as__home) {
        /* Still waiting for a signal: unlink it, then it re-acquires. */
        as__q_remove(p, w, AS__W_DONE, status);
        if (as__q_empty(p))
            as__store(&p->word, 0u, AS_RELAXED);
        as__q_unlock(p);
        as__mutex_acquire_for((as_mutex *)w->as__aux, w);
        return 0;
    }
    /* Signalled (or ended) already, re-acquiring the mutex (queued in it,
     * or woken to retry): its place is kept; a cancel marks it and passes a
     * signal on (C2); a deadline changes nothing. */
    if (status == -ECANCELED) {
        as__store(&w->as__state, state | AS__W_CANCEL, AS_RELAXED);
        pass = w->as__status == 0 && (w->as__flags & AS__F_SIGNALLED);
        /* passed on now: the callback's giveback must not pass it again */
        w->as__flags &= ~AS__F_SIGNALLED;
    }
    c = (as_cond *)w->as__home; /* w may be called back once unlocked */
    as__q_unlock(p);
    if (pass)
        as_cond_signal(c);
    return 0;
}

static void cond_giveback(void *home, uint32_t n, uint32_t flags)
{
    (void)n;
    if (flags & AS__F_SIGNALLED)
        (void)as_cond_signal(home); /* C2 */
}

static const struct as__kind cond_kind = {
    .name = "cond",
    .cancel = cond_cancel,
    .resume = as__mutex_resume,
    .giveback = cond_giveback,
    .done_moves = true,
};
