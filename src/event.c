/* Event: manual-reset and auto-reset.
 *
 * STATE WORD   SET (1), WAITERS (2): the queue is not empty, CLOSED (4).
 *
 * Invariant E1: SET and WAITERS are never both set.  set() with waiters
 *   either wakes them all and becomes SET (manual) or hands the signal to the
 *   oldest waiter and stays clear (auto); a waiter parks only with a CAS from
 *   a value without SET, under the queue lock (add_waiter_if).
 * Invariant E2 (auto-reset: one set, one waiter): the signal is consumed
 *   either by the CAS that clears SET (a wait that succeeds at once) or by
 *   removing exactly one waiter under the queue lock; a cancel or deadline
 *   racing with it either removes the waiter first (the signal goes to the
 *   next one, or stays SET) or finds it decided: then a cancel sets the
 *   event again (kind->giveback), a deadline lets the grant win.
 * Invariant E3 (close): CLOSED makes every wait fail into the slow path
 *   (-ESHUTDOWN); set, reset and broadcast keep working on the bits.
 */
#include "pshared.h"
#include "waitq.h"

#define E_SET 1u
#define E_WAITERS 2u
#define E_CLOSED 4u

static inline as__prim *P(as_event *e) { return (as__prim *)(void *)e; }

AS__PRIM_LAYOUT(as_event);

static const struct as__kind event_kind;

static inline bool event_valid(const as_event *e)
{
    return e && e->as__magic == AS__MAGIC_EVENT;
}

/* AS_PSHARED: the shared layout of pshared.h, handled by gwait_ps.c
 * (every public call dispatches on the flag, as sem.c does). */
static inline bool event_ps(const as_event *e)
{
#ifdef AS__PS_SUPPORTED
    return (as__load(&e->as__flags, AS_RELAXED) & AS_PSHARED) != 0;
#else
    (void)e;
    return false;
#endif
}
#ifdef AS__PS_SUPPORTED
#define EVENT_PS(e, call) \
    do { if (event_ps(e)) return (call); } while (0)
#else
#define EVENT_PS(e, call) ((void)0)
#endif

static inline bool event_manual(const as_event *e)
{
    return (as__load(&e->as__flags, AS_RELAXED) & AS_EVENT_MANUAL_RESET) != 0;
}

int as_event_init(as_event *e, unsigned flags)
{
    if (e && (flags & AS_PSHARED)) {
        if (!as__ps_flags_ok(flags, AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET))
            return -EINVAL;
#ifdef AS__PS_SUPPORTED
        return as__event_ps_init(e, flags);
#else
        return -EOPNOTSUPP;
#endif
    }
    if (!e || (flags & ~(AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET)))
        return -EINVAL;
    as__prim_init(P(e), AS__MAGIC_EVENT,
                  (flags & AS_EVENT_INITIALLY_SET) ? E_SET : 0u, flags);
    return 0;
}

int as_event_destroy(as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    EVENT_PS(e, as__gw_ps_destroy(e));
    return as__prim_destroy(P(e), E_WAITERS);
}

/* Consume (auto) or observe (manual) a set event.  1 if it was set (and the
 * event is open). */
static inline int event_try(as_event *e, uint32_t v)
{
    if (event_manual(e)) {
        if ((v & (E_SET | E_CLOSED)) != E_SET)
            return 0;
        as__stat_inc(e->as__stats.acquired);
        return 1;
    }
    while ((v & (E_SET | E_CLOSED)) == E_SET) {
        if (as__cas(&e->as__word, &v, v & ~E_SET, AS_ACQUIRE, AS_RELAXED)) {
            as__stat_inc(e->as__stats.acquired);
            return 1;
        }
    }
    return 0;
}

static AS__NOINLINE int event_wait_slow(as_event *e, as_loop *loop, as_wait *w,
                                        uint64_t deadline, as_callback cb,
                                        void *arg)
{
    uint32_t v;
    as__q_lock(P(e));
    v = as__load(&e->as__word, AS_ACQUIRE);
    for (;;) {
        if (v & E_CLOSED) {
            as__q_unlock(P(e));
            return -ESHUTDOWN;
        }
        if (v & E_SET) {
            if (event_try(e, v)) {
                as__q_unlock(P(e));
                return 1;
            }
            v = as__load(&e->as__word, AS_ACQUIRE);
            continue;
        }
        if (as__deadline_passed(deadline)) {
            as__q_unlock(P(e));
            return -ETIMEDOUT;
        }
        if ((v & E_WAITERS) ||
            as__cas(&e->as__word, &v, v | E_WAITERS, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__wait_prepare(w, loop, &event_kind, cb, arg, e);
    as__q_push_tail(P(e), w);
    as__q_unlock(P(e));
    as__wait_parked(w, deadline);
    return 0;
}

static inline int event_wait(as_event *e, as_loop *loop, as_wait *w,
                             uint64_t deadline, as_callback cb, void *arg)
{
    int r;
    if (!event_valid(e) || as__deadline_check(deadline) < 0)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    EVENT_PS(e, as__event_ps_wait(e, loop, w, deadline, cb, arg));
    r = event_try(e, as__load(&e->as__word, AS_ACQUIRE))
            ? 1
            : event_wait_slow(e, loop, w, deadline, cb, arg);
    if (r == 1 && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &event_kind, cb, arg, e, 0, 0);
    return r;
}

int as_event_wait_async(as_event *e, as_loop *loop, as_wait *w, as_callback cb,
                        void *arg)
{
    return event_wait(e, loop, w, AS_NO_DEADLINE, cb, arg);
}

int as_event_wait_until(as_event *e, as_loop *loop, as_wait *w,
                        uint64_t deadline_ns, as_callback cb, void *arg)
{
    return event_wait(e, loop, w, deadline_ns, cb, arg);
}

int as_event_wait_blocking(as_event *e, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    if (!event_valid(e) || as__deadline_check(deadline_ns) < 0)
        return -EINVAL;
    EVENT_PS(e, as__event_ps_blocking(e, deadline_ns));
    if (event_try(e, as__load(&e->as__word, AS_ACQUIRE)))
        return 0;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, event_wait_slow(e, &tl, &w, deadline_ns, as__block_cb, NULL), deadline_ns);
}

int as_event_set(as_event *e)
{
    as__batch done = {NULL, NULL};
    as_wait *w;
    uint32_t v;
    if (!event_valid(e))
        return -EINVAL;
    EVENT_PS(e, as__event_ps_set(e));
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
        while ((w = e->as__head) != NULL)
            as__q_take(P(e), w, 0, &done);
        /* E1: reset() may race with us (an RMW), nothing else writes SET or
         * WAITERS; CLOSED is kept. */
        as__store(&e->as__word, (v & E_CLOSED) | E_SET, AS_RELEASE);
    } else {
        as__q_take(P(e), e->as__head, 0, &done);
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
    EVENT_PS(e, as__event_ps_reset(e));
    as__fetch_and(&e->as__word, ~E_SET, AS_RELAXED);
    return 0;
}

/* End every queued wait with `status`, leave SET as it is; if `close`,
 * mark the event closed first (under the same lock). */
static void event_take_all(as_event *e, int status, bool close)
{
    as__batch done = {NULL, NULL};
    as_wait *w;
    as__q_lock(P(e));
    if (!close || as__prim_close_locked(P(e))) {
        if (close) {
            AS_PROBE2(close, e, "event");
            as__fetch_or(&e->as__word, E_CLOSED, AS_RELAXED);
        }
        while ((w = e->as__head) != NULL)
            as__q_take(P(e), w, status, &done);
        as__fetch_and(&e->as__word, ~E_WAITERS, AS_RELEASE);
    }
    as__q_unlock(P(e));
    as__batch_finish(&done);
}

int as_event_broadcast(as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    EVENT_PS(e, as__event_ps_broadcast(e));
    if (as__load(&e->as__word, AS_ACQUIRE) & E_WAITERS)
        event_take_all(e, 0, false);
    return 0;
}

int as_event_close(as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    EVENT_PS(e, as__gw_ps_close(e));
    event_take_all(e, -ESHUTDOWN, true);
    return 0;
}

int as_event_is_set(const as_event *e)
{
    if (!event_valid(e))
        return -EINVAL;
    EVENT_PS(e, as__event_ps_is_set(e));
    return (as__load(&e->as__word, AS_ACQUIRE) & E_SET) ? 1 : 0;
}

AS__PRIM_OBSERVERS_PS(event, as_event, event_valid, as__gw_ps_waiters)

/* ---- the kind table ---- */

static void event_fixup(as__prim *p, as__batch *done)
{
    (void)done;
    if (as__q_empty(p))
        as__fetch_and(&p->word, ~E_WAITERS, AS_RELAXED);
}

static int event_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &event_kind, event_fixup);
}

static void event_giveback(void *home, uint32_t n, uint32_t flags)
{
    (void)n, (void)flags;
    /* E2: an auto-reset event's set goes to the next waiter (or stays
     * set); a manual-reset event's was not consumed. */
    if (!event_manual(home))
        (void)as_event_set(home);
}

static const struct as__kind event_kind = {
    .name = "event",
    .cancel = event_cancel,
    .resume = NULL,
    .giveback = event_giveback,
};
