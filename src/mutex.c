/* Mutex: FIFO waiters, eventual fairness by default, strict hand-off on request.
 *
 * STATE WORD   LOCKED (1): held.  WAITERS (2): the queue is not empty.
 *              WOKEN (4): one waiter was woken to retry and is on its way to
 *              its loop (state RESUME); only in the default policy.
 *
 * POLICY
 *   Waiters are pinned to their loops.  Handing the lock straight to a waiter
 *   on a sleeping loop keeps it "held" by nobody who runs for a whole thread
 *   wake-up, and every task behind it convoys.  So on unlock with waiters:
 *   - the head is on the unlocker's own loop, or the mutex is
 *     AS_MUTEX_STRICT_FIFO, or the head is STARVING: direct hand-off (LOCKED
 *     stays set, the head leaves the queue owning the lock);
 *   - otherwise the lock is released and the head is woken to retry (WOKEN);
 *     a task that finds the lock free meanwhile may take it (barging).  A
 *     woken waiter that finds the lock taken goes back to the head of the
 *     queue marked STARVING, and the next unlock hands it the lock.  So a
 *     waiter is passed over at most once: nobody starves, order is FIFO.
 *
 * Invariant M1: WAITERS <=> queue not empty (both change under the queue
 *   lock).
 * Invariant M2 (no lost wake-up): in the default policy, if the lock is free
 *   and the queue is not empty, WOKEN is set and exactly one waiter is in
 *   state RESUME; it will retry, or, if cancelled, pass the wake on.
 * Invariant M3: with AS_MUTEX_STRICT_FIFO, WOKEN is never set and the lock is
 *   never free while the queue is not empty; a newcomer only takes a mutex
 *   whose word is 0.
 * Invariant M4 (single writer while held): while LOCKED is set, the word is
 *   written only under the queue lock, or by the holder's lock-free unlock
 *   when WAITERS is clear.
 *
 * Model: tests/model/mutex.pml (M1-M4, mutual exclusion, both policies,
 * cancel of QUEUED and RESUME waits; same state names) is checked
 * exhaustively with spin.
 */
#include "waitq.h"

#define M_LOCKED 1u
#define M_WAITERS 2u
#define M_WOKEN 4u

static inline as__prim *P(as_mutex *m) { return (as__prim *)(void *)m; }

_Static_assert(sizeof(as_mutex) == sizeof(as__prim), "as_mutex layout");
_Static_assert(offsetof(as_mutex, as__head) == offsetof(as__prim, head),
               "as_mutex layout");

static inline bool mutex_valid(const as_mutex *m)
{
    return m && m->as__magic == AS__MAGIC_MUTEX;
}

static inline bool mutex_strict(const as_mutex *m)
{
    return (m->as__flags & AS_MUTEX_STRICT_FIFO) != 0;
}

/* May a task that is not queued take the lock when the word reads v? */
static inline bool mutex_can_take(const as_mutex *m, uint32_t v)
{
    if (v & M_LOCKED)
        return false;
    return !mutex_strict(m) || !(v & (M_WAITERS | M_WOKEN));
}

int as_mutex_init(as_mutex *m, unsigned flags)
{
    if (!m || (flags & ~AS_MUTEX_STRICT_FIFO))
        return -EINVAL;
    return as__prim_init(P(m), AS__MAGIC_MUTEX, 0, flags);
}

int as_mutex_destroy(as_mutex *m)
{
    if (!mutex_valid(m))
        return -EINVAL;
    /* Locked, or a woken waiter on its way (WOKEN): busy. */
    return as__prim_destroy(P(m), M_LOCKED | M_WAITERS | M_WOKEN);
}

static inline int mutex_try(as_mutex *m)
{
    uint32_t v = as__load(&m->as__word, AS_RELAXED);
    while (mutex_can_take(m, v)) {
        if (as__cas(&m->as__word, &v, v | M_LOCKED, AS_ACQUIRE, AS_RELAXED))
            return 1;
    }
    return 0;
}

int as_mutex_try_lock(as_mutex *m)
{
    if (!mutex_valid(m))
        return -EINVAL;
    return mutex_try(m);
}

/* Take the lock for w, or queue w at the tail.  Queue lock held.  Returns
 * true when w now holds the lock (not queued). */
static bool mutex_take_or_park_locked(as_mutex *m, as_wait *w)
{
    uint32_t v = as__load(&m->as__word, AS_RELAXED);
    for (;;) {
        if (mutex_can_take(m, v)) {
            if (as__cas(&m->as__word, &v, v | M_LOCKED, AS_ACQUIRE, AS_RELAXED))
                return true;
            continue;
        }
        /* add_waiter_if: park only while the word still says "held". */
        if ((v & M_WAITERS) ||
            as__cas(&m->as__word, &v, v | M_WAITERS, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__q_push_tail(P(m), w);
    return false;
}

static AS__NOINLINE int mutex_lock_slow(as_mutex *m, as_loop *loop, as_wait *w,
                                        as_callback cb, void *arg)
{
    as__wait_prepare(w, loop, cb, arg, m, AS__F_MUTEX);
    as__q_lock(P(m));
    if (mutex_take_or_park_locked(m, w)) {
        as__q_unlock(P(m));
        return 1;
    }
    as__q_unlock(P(m));
    as__wait_parked(w);
    return 0;
}

int as_mutex_lock_async(as_mutex *m, as_loop *loop, as_wait *w, as_callback cb,
                        void *arg)
{
    int r;
    if (!mutex_valid(m))
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    if (mutex_try(m))
        return 1;
    return mutex_lock_slow(m, loop, w, cb, arg);
}

void as__mutex_acquire_for(as_mutex *m, as_wait *w)
{
    bool got;
    as__q_lock(P(m));
    got = mutex_take_or_park_locked(m, w);
    if (got)
        as__store(&w->as__state, AS__W_DONE, AS_RELAXED);
    as__q_unlock(P(m));
    if (got)
        as__wait_finish(w);
}

/* Wake the head to retry (default policy, lock free, WOKEN clear).  Queue
 * lock held, queue not empty.  Returns the woken wait, to finish unlocked.
 * `v` is the current word; the new word keeps LOCKED clear. */
static as_wait *mutex_wake_head_locked(as_mutex *m, uint32_t v)
{
    as_wait *h = m->as__head;
    uint32_t nv = M_WOKEN | (h->as__next ? M_WAITERS : 0u);
    /* Lock-free lockers may be CASing the word (it is free): CAS, and let
     * the caller retry on failure. */
    if (!as__cas(&m->as__word, &v, nv, AS_RELEASE, AS_RELAXED))
        return NULL;
    as__q_remove(P(m), h, AS__W_RESUME);
    return h;
}

int as_mutex_unlock(as_mutex *m)
{
    uint32_t v;
    as_wait *h;
    if (!mutex_valid(m))
        return -EINVAL;
    v = as__load(&m->as__word, AS_RELAXED);
    for (;;) {
        if (!(v & M_LOCKED))
            return -EPERM;
        if (v & M_WAITERS)
            break;
        /* Nobody queued (a woken waiter may be on its way: WOKEN stays). */
        if (as__cas(&m->as__word, &v, v & ~M_LOCKED, AS_RELEASE, AS_RELAXED))
            return 0;
    }

    as__q_lock(P(m));
    v = as__load(&m->as__word, AS_RELAXED);
    if (!(v & M_LOCKED)) {
        as__q_unlock(P(m));
        return -EPERM;
    }
    if (!(v & M_WAITERS)) {
        /* The queue emptied (cancel) since we looked: plain release. */
        as__q_unlock(P(m));
        return as_mutex_unlock(m);
    }
    h = m->as__head;
    if (mutex_strict(m) || (h->as__flags & AS__F_STARVING) ||
        as__load(&h->as__loop->as__owner, AS_RELAXED) == as__thread_token()) {
        /* Direct hand-off: h leaves the queue holding the lock (M4: we are
         * the only writer). */
        as__q_remove(P(m), h, AS__W_DONE);
        as__store(&m->as__word,
                  M_LOCKED | (v & M_WOKEN) | (m->as__head ? M_WAITERS : 0u),
                  AS_RELEASE);
        as__q_unlock(P(m));
        as__wait_finish(h);
        return 0;
    }
    if (v & M_WOKEN) {
        /* A woken waiter is already on its way (M2 holds): just release. */
        as__store(&m->as__word, v & ~M_LOCKED, AS_RELEASE);
        as__q_unlock(P(m));
        return 0;
    }
    /* Release and wake the head to retry.  While LOCKED is set nobody else
     * writes the word (M4), so this CAS fails only spuriously (a weak CAS on
     * LL/SC CPUs): then start over, nothing was changed. */
    h = mutex_wake_head_locked(m, v);
    as__q_unlock(P(m));
    if (as__unlikely(!h))
        return as_mutex_unlock(m);
    as__wait_finish(h);
    return 0;
}

/* Clear WOKEN on behalf of the woken waiter that gave up, passing the wake to
 * the next head if the lock is free (M2).  Queue lock held.  Returns a wait to
 * finish, or NULL. */
static as_wait *mutex_pass_wake_locked(as_mutex *m)
{
    uint32_t v = as__load(&m->as__word, AS_RELAXED);
    for (;;) {
        if (!(v & M_LOCKED) && (v & M_WAITERS)) {
            as_wait *h = mutex_wake_head_locked(m, v);
            if (h)
                return h;
            v = as__load(&m->as__word, AS_RELAXED);
            continue;
        }
        if (as__cas(&m->as__word, &v, v & ~M_WOKEN, AS_RELAXED, AS_RELAXED))
            return NULL;
    }
}

void as__mutex_resume(as_wait *w)
{
    as_mutex *m = (as_mutex *)as__load(&w->as__obj, AS_RELAXED);
    uint32_t v;
    as__q_lock(P(m));
    if (w->as__flags & AS__F_CANCEL_REQ) {
        as_wait *next = mutex_pass_wake_locked(m);
        w->as__status = -ECANCELED;
        as__store(&w->as__state, AS__W_DONE, AS_RELAXED);
        as__q_unlock(P(m));
        as__wait_finish(w);
        if (next)
            as__wait_finish(next);
        return;
    }
    v = as__load(&m->as__word, AS_RELAXED);
    for (;;) {
        if (!(v & M_LOCKED)) {
            if (as__cas(&m->as__word, &v, (v | M_LOCKED) & ~M_WOKEN,
                        AS_ACQUIRE, AS_RELAXED)) {
                as__store(&w->as__state, AS__W_DONE, AS_RELAXED);
                as__q_unlock(P(m));
                as__wait_finish(w);
                return;
            }
            continue;
        }
        /* Someone barged in: back to the head, and the next unlock hands
         * the lock to us. */
        if (as__cas(&m->as__word, &v, (v | M_WAITERS) & ~M_WOKEN, AS_RELAXED,
                    AS_RELAXED))
            break;
    }
    w->as__flags |= AS__F_STARVING;
    as__q_push_head(P(m), w);
    as__q_unlock(P(m));
}

int as__mutex_cancel(as_wait *w)
{
    as_mutex *m = (as_mutex *)as__load(&w->as__obj, AS_RELAXED);
    uint32_t state;
    as__q_lock(P(m));
    state = as__load(&w->as__state, AS_RELAXED);
    if (state == AS__W_QUEUED) {
        as__q_remove(P(m), w, AS__W_DONE);
        w->as__status = -ECANCELED;
        if (as__q_empty(P(m)))
            as__fetch_and(&m->as__word, ~M_WAITERS, AS_RELAXED);
        as__q_unlock(P(m));
        as__wait_finish(w);
        return 0;
    }
    if (state == AS__W_RESUME)
        w->as__flags |= AS__F_CANCEL_REQ; /* resume gives up, passes it on */
    as__q_unlock(P(m));
    return 0;
}
