/* Condition variable.
 *
 * STATE WORD   WAITERS (1): the queue is not empty (lets signal skip the
 *              queue lock when nobody waits).
 *
 * A waiter's life: wait_async queues it here (QUEUED, obj = cond), then
 * releases the mutex.  signal/broadcast/cancel take it off this queue (DONE,
 * status decided: 0 when signalled, -ECANCELED when cancelled) and hand it to
 * as__mutex_acquire_for, which either gives it the mutex at once (the callback
 * is then queued) or parks it in the mutex's queue (QUEUED, obj = mutex).  So
 * the callback always runs with the mutex held (DESIGN: like
 * pthread_cond_wait).
 *
 * Invariant C1 (no lost signal): the waiter is queued here before the mutex
 *   is released, so a signaller that holds the mutex after the waiter released
 *   it sees the waiter; a signal pops a waiter under the queue lock, so a
 *   racing cancel either removes the waiter first (the signal goes to the next
 *   one) or finds it gone (the callback then runs with 0).
 * Invariant C2: once a waiter left this queue, cancelling it changes nothing:
 *   its outcome is decided and it only waits for the mutex.
 */
#include "waitq.h"

#define C_WAITERS 1u

static inline as__prim *P(as_cond *c) { return (as__prim *)(void *)c; }

_Static_assert(sizeof(as_cond) == sizeof(as__prim), "as_cond layout");
_Static_assert(offsetof(as_cond, as__head) == offsetof(as__prim, head),
               "as_cond layout");

static inline bool cond_valid(const as_cond *c)
{
    return c && c->as__magic == AS__MAGIC_COND;
}

int as_cond_init(as_cond *c, unsigned flags)
{
    if (!c || flags != 0)
        return -EINVAL;
    return as__prim_init(P(c), AS__MAGIC_COND, 0, 0);
}

int as_cond_destroy(as_cond *c)
{
    if (!cond_valid(c))
        return -EINVAL;
    return as__prim_destroy(P(c), 0);
}

int as_cond_wait_async(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                       as_callback cb, void *arg)
{
    int r;
    if (!cond_valid(c) || !m || m->as__magic != AS__MAGIC_MUTEX)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    if (!(as__load(&m->as__word, AS_RELAXED) & 1u /* LOCKED */))
        return -EPERM;
    as__wait_prepare(w, loop, cb, arg, c, AS__F_COND);
    w->as__aux = m;
    as__q_lock(P(c));
    as__q_push_tail(P(c), w);
    as__store(&c->as__word, C_WAITERS, AS_RELAXED);
    as__q_unlock(P(c));
    as__wait_parked(w);
    /* C1: queued first, released second. */
    as_mutex_unlock(m);
    return 0;
}

/* Take up to `max` waiters off the queue (oldest first) and send each to
 * re-acquire its mutex. */
static void cond_wake(as_cond *c, unsigned max)
{
    as__batch taken = {NULL, NULL};
    as_wait *w;
    if (as__load(&c->as__word, AS_ACQUIRE) == 0)
        return;
    as__q_lock(P(c));
    while (max-- > 0 && (w = c->as__head) != NULL) {
        as__q_remove(P(c), w, AS__W_DONE);
        as__batch_add(&taken, w, 0);
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
    cond_wake(c, 1);
    return 0;
}

int as_cond_broadcast(as_cond *c)
{
    if (!cond_valid(c))
        return -EINVAL;
    cond_wake(c, ~0u);
    return 0;
}

int as__cond_cancel(as_wait *w)
{
    as__prim *p = as__q_lock_owner(w);
    if (!p)
        return 0; /* signalled and in transit: C2 */
    if (p == (as__prim *)w->as__aux) {
        as__q_unlock(p); /* waiting for the mutex: C2 */
        return 0;
    }
    as__q_remove(p, w, AS__W_DONE);
    if (as__q_empty(p))
        as__store(&p->word, 0u, AS_RELAXED);
    as__q_unlock(p);
    w->as__status = -ECANCELED;
    as__mutex_acquire_for((as_mutex *)w->as__aux, w);
    return 0;
}
