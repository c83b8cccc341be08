/* Event: manual-reset and auto-reset.
 *
 * STATE WORD   SET (1), WAITERS (2): the queue is not empty.
 *
 * Invariant E1: SET and WAITERS are never both set.  set() with waiters
 *   either wakes them all and becomes SET (manual) or hands the signal to the
 *   oldest waiter and stays clear (auto); a waiter parks only with a CAS from
 *   a value without SET, under the queue lock (add_waiter_if).
 * Invariant E2 (auto-reset: one set, one waiter): the signal is consumed
 *   either by the CAS that clears SET (a wait that succeeds at once) or by
 *   removing exactly one waiter under the queue lock; a cancel racing with it
 *   either removes the waiter first (the signal goes to the next one, or stays
 *   SET) or finds it gone (its callback then runs with 0).
 */
#include "waitq.h"

#define E_SET 1u
#define E_WAITERS 2u

static inline as__prim *P(as_event *e) { return (as__prim *)(void *)e; }

_Static_assert(sizeof(as_event) == sizeof(as__prim), "as_event layout");
_Static_assert(offsetof(as_event, as__head) == offsetof(as__prim, head),
               "as_event layout");

static inline bool event_valid(const as_event *e)
{
    return e && e->as__magic == AS__MAGIC_EVENT;
}

static inline bool event_manual(const as_event *e)
{
    return (e->as__flags & AS_EVENT_MANUAL_RESET) != 0;
}

int as_event_init(as_event *e, unsigned flags)
{
    if (!e || (flags & ~(AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET)))
        return -EINVAL;
    return as__prim_init(P(e), AS__MAGIC_EVENT,
                         (flags & AS_EVENT_INITIALLY_SET) ? E_SET : 0u, flags);
}

int as_event_destroy(as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    return as__prim_destroy(P(e), E_WAITERS);
}

/* Consume (auto) or observe (manual) a set event.  1 if it was set. */
static inline int event_try(as_event *e, uint32_t v)
{
    if (event_manual(e))
        return (v & E_SET) ? 1 : 0;
    while (v & E_SET) {
        if (as__cas(&e->as__word, &v, v & ~E_SET, AS_ACQUIRE, AS_RELAXED))
            return 1;
    }
    return 0;
}

static AS__NOINLINE int event_wait_slow(as_event *e, as_loop *loop, as_wait *w,
                                        as_callback cb, void *arg)
{
    uint32_t v;
    as__wait_prepare(w, loop, cb, arg, e, AS__F_EVENT);
    as__q_lock(P(e));
    v = as__load(&e->as__word, AS_ACQUIRE);
    for (;;) {
        if (v & E_SET) {
            if (event_try(e, v)) {
                as__q_unlock(P(e));
                return 1;
            }
            v = as__load(&e->as__word, AS_ACQUIRE);
            continue;
        }
        if ((v & E_WAITERS) ||
            as__cas(&e->as__word, &v, v | E_WAITERS, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__q_push_tail(P(e), w);
    as__q_unlock(P(e));
    as__wait_parked(w);
    return 0;
}

int as_event_wait_async(as_event *e, as_loop *loop, as_wait *w, as_callback cb,
                        void *arg)
{
    int r;
    if (!event_valid(e))
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    if (event_try(e, as__load(&e->as__word, AS_ACQUIRE)))
        return 1;
    return event_wait_slow(e, loop, w, cb, arg);
}

int as_event_set(as_event *e)
{
    as__batch done = {NULL, NULL};
    as_wait *w;
    uint32_t v;
    if (!event_valid(e))
        return -EINVAL;
    v = as__load(&e->as__word, AS_RELAXED);
    for (;;) {
        while (!(v & E_WAITERS)) {
            if (v & E_SET)
                return 0;
            if (as__cas(&e->as__word, &v, v | E_SET, AS_RELEASE, AS_RELAXED))
                return 0;
        }
        as__q_lock(P(e));
        v = as__load(&e->as__word, AS_RELAXED);
        if (v & E_WAITERS)
            break;
        as__q_unlock(P(e));
    }
    if (event_manual(e)) {
        while ((w = e->as__head) != NULL) {
            as__q_remove(P(e), w, AS__W_DONE);
            as__batch_add(&done, w, 0);
        }
        /* E1: reset() may race with us (an RMW), nothing else writes. */
        as__store(&e->as__word, E_SET, AS_RELEASE);
    } else {
        w = e->as__head;
        as__q_remove(P(e), w, AS__W_DONE);
        as__batch_add(&done, w, 0);
        if (as__q_empty(P(e)))
            as__fetch_and(&e->as__word, ~E_WAITERS, AS_RELEASE);
    }
    as__q_unlock(P(e));
    as__batch_finish(&done);
    return 0;
}

int as_event_reset(as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    as__fetch_and(&e->as__word, ~E_SET, AS_RELAXED);
    return 0;
}

int as_event_is_set(const as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    return (as__load(&e->as__word, AS_ACQUIRE) & E_SET) ? 1 : 0;
}

int as__event_cancel(as_wait *w)
{
    as__prim *p = as__q_lock_owner(w);
    if (!p)
        return 0; /* already signalled: the callback runs with 0 */
    as__q_remove(p, w, AS__W_DONE);
    if (as__q_empty(p))
        as__fetch_and(&p->word, ~E_WAITERS, AS_RELAXED);
    as__q_unlock(p);
    w->as__status = -ECANCELED;
    as__wait_finish(w);
    return 0;
}
