/* Mutex: FIFO waiters, eventual fairness by default, strict hand-off on request.
 *
 * STATE WORD   LOCKED (1): held.  WAITERS (2): the queue is not empty.
 *              WOKEN (4): one waiter was woken to retry and is on its way to
 *              its loop (state RESUME); only in the default policy.
 *              CLOSED (8): as_mutex_close ran: new lock attempts are refused.
 *              QUIET (16): the queue's head is PASSED and nothing is woken
 *              (M6): an unlock frees the lock without the queue lock, as
 *              the queue lock's path would (it neither wakes nor hands to
 *              a PASSED head), unless the head may be on the unlocker's
 *              own loop (mutex_passed_here).
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
 *     queue PASSED: no unlock wakes it again, and it retries at its own
 *     loop's timer AS__PASS_NS (250 us) later, taking the lock if it is
 *     free, else becoming STARVING; the next unlock hands a STARVING head
 *     the lock.  A loop that keeps the lock busy runs on meanwhile (each
 *     wake of a sleeping loop is a thread wake-up: waking the passed head
 *     at every unlock made two parallel loops hand the lock back and forth
 *     every few dozen acquisitions).  A wait on a loop without a timer of
 *     its own (as__pass_may: a blocked thread, a notify or IOCP loop) is
 *     STARVING at once.  So a waiter is passed over for at most AS__PASS_NS
 *     after its first failed retry: nobody starves, order is FIFO.
 *
 * The queue also holds condvar waiters re-acquiring the mutex (cond.c):
 * they are served like lock waiters, keep the status their condvar wait
 * decided, and are served even after close (their callback needs the lock).
 *
 * Invariant M1: WAITERS <=> queue not empty (both change under the queue
 *   lock).
 * Invariant M2 (no lost wake-up): in the default policy, if the lock is free
 *   and the queue is not empty, either WOKEN is set and exactly one waiter is
 *   in state RESUME (it will retry, or, if it gives up (cancelled, expired,
 *   closed), pass the wake on), or the head is PASSED (M5: its timer will
 *   retry).  Whatever removes a PASSED head from the queue without the lock
 *   (cancel, deadline, close) wakes the next head (mutex_rewake_locked).
 * Invariant M3: with AS_MUTEX_STRICT_FIFO, WOKEN is never set and the lock is
 *   never free while the queue is not empty; a newcomer only takes a mutex
 *   whose word is 0.
 * Invariant M4 (single writer while held): while LOCKED is set, the word is
 *   written only under the queue lock, or by the holder's lock-free unlock
 *   when WAITERS is clear or QUIET is set (one CAS clearing LOCKED).  So
 *   under the queue lock the holder's unlock may store, every other writer
 *   CASes (a lock-free unlock in QUIET may move the word meanwhile).
 * Invariant M5 (bounded pass): a PASSED wait is the queue's head, with its
 *   loop's heap keyed at most AS__PASS_NS after it was passed (or its own
 *   deadline, if earlier); at most one wait is PASSED, and never while
 *   WOKEN is set (each comes only from the one woken waiter's failed retry,
 *   back at the head, and neither an unlock nor the rewake wakes a PASSED
 *   head, so nothing comes back ahead of it).  Its timer (mutex_tick) makes
 *   it STARVING and takes the lock for it if it is free; an unlock by its
 *   own loop hands it the lock at once.
 * Invariant M6 (QUIET): whenever the queue lock is free, QUIET <=> the queue
 *   is not empty, its head is PASSED and WOKEN is clear.  Every write of the
 *   word under the queue lock sets QUIET as the head it leaves says, in the
 *   same CAS or store: the pass sets it, the tick and the wake clear it, the
 *   direct hand-off leaves it clear (the head it serves was the PASSED wait,
 *   if any: M5), the rewake recomputes it (mutex_quiet_locked), the fixup
 *   of an emptied queue clears it with WAITERS.  With QUIET set the
 *   queue-lock path of an unlock from another loop would only release (M2
 *   holds by the head's timer), so the lock-free one is the same; the
 *   PASSED head's own loop is told by a thread-local note
 *   (mutex_passed_here) and takes the queue lock to hand the head the lock.
 *
 * Model: tests/model/mutex.pml (M1-M6, mutual exclusion, both policies,
 * cancel of QUEUED and RESUME waits, the note; same state names) is checked
 * exhaustively with spin.
 */
#include <string.h>

#include "pshared.h"
#include "waitq.h"

#define M_LOCKED 1u
#define M_WAITERS 2u
#define M_WOKEN 4u
#define M_CLOSED 8u
#define M_QUIET 16u

static inline as__prim *P(as_mutex *m) { return (as__prim *)(void *)m; }

/* QUIET's exception (M6): an unlock from the PASSED head's own loop hands
 * it the lock at once (same-loop hand-offs stay direct).  The unlocker
 * cannot look at the head without the queue lock, so the thread that put
 * the wait back PASSED (as__mutex_resume, on its loop's thread) notes the
 * mutex here, and an unlock that finds QUIET and its thread's note on this
 * mutex takes the queue lock.  A hint only, as the semaphore's
 * (sem_passed_tls in sem.c): a stale note costs an unlock the queue lock;
 * a lost one (another mutex overwrote it) leaves the head to its timer
 * (M5's bound).  An unlock that took the queue lock by its note clears it:
 * it handed the PASSED head the lock (its own loop's), or the head is
 * another loop's (a stale note); either way no PASSED head of this
 * thread's is left (M5: the PASSED wait is the head), and a note kept
 * would send every later unlock of this thread through the queue lock
 * while another loop's head is PASSED. */
static _Thread_local const as_mutex *mutex_passed_tls;

static inline bool mutex_passed_here(const as_mutex *m)
{
    return mutex_passed_tls == m;
}

/* M6: the QUIET bit for a word whose WOKEN bit is `woken`, with the queue
 * as it is now.  Queue lock held. */
static inline uint32_t mutex_quiet_locked(const as_mutex *m, uint32_t woken)
{
    const as_wait *h = m->as__head;
    return h && !woken && (h->as__flags & AS__F_PASSED) ? M_QUIET : 0u;
}

AS__PRIM_LAYOUT(as_mutex);

static const struct as__kind mutex_kind;

static inline bool mutex_valid(const as_mutex *m)
{
    return m && m->as__magic == AS__MAGIC_MUTEX;
}

/* AS_PSHARED: the object is the shared layout of pshared.h, handled by
 * mutex_ps.c over the pshared core (sem_ps.c); every public call
 * dispatches on this flag (offset 12 in both layouts). */
#ifdef AS__PS_SUPPORTED
static inline bool mutex_ps(const as_mutex *m)
{
    return (as__load(&m->as__flags, AS_RELAXED) & AS_PSHARED) != 0;
}
#define MUTEX_PS(m, call) \
    do { if (mutex_ps(m)) return (call); } while (0)
#else
static inline bool mutex_ps(const as_mutex *m)
{
    (void)m;
    return false;
}
#define MUTEX_PS(m, call) ((void)0)
#endif

static inline bool mutex_strict(const as_mutex *m)
{
    return (as__load(&m->as__flags, AS_RELAXED) & AS_MUTEX_STRICT_FIFO) != 0;
}

/* May a task that is not queued take the lock when the word reads v?  A
 * condvar waiter re-acquiring it ignores CLOSED. */
static inline bool mutex_can_take(const as_mutex *m, uint32_t v, bool for_cond)
{
    if (v & (for_cond ? M_LOCKED : (M_LOCKED | M_CLOSED)))
        return false;
    return !mutex_strict(m) || !(v & (M_WAITERS | M_WOKEN));
}

/* What a waiter leaving the queue with the lock reports: a lock waiter 0,
 * a condvar waiter what its condvar wait decided. */
static inline int grant_status(const as_wait *w)
{
    return w->as__kind == &mutex_kind ? 0 : w->as__status;
}

int as_mutex_init(as_mutex *m, unsigned flags)
{
    if (m && (flags & AS_PSHARED)) {
        if (!as__ps_flags_ok(flags, AS_MUTEX_STRICT_FIFO | AS_MUTEX_ROBUST))
            return -EINVAL;
#ifdef AS__PS_SUPPORTED
        return as__mutex_ps_init(m, flags);
#else
        return -EOPNOTSUPP;
#endif
    }
    /* AS_MUTEX_ROBUST only with AS_PSHARED (its owner is a process) */
    if (!m || (flags & ~AS_MUTEX_STRICT_FIFO))
        return -EINVAL;
    as__prim_init(P(m), AS__MAGIC_MUTEX, 0, flags);
    return 0;
}

int as_mutex_destroy(as_mutex *m)
{
    if (!mutex_valid(m))
        return -EINVAL;
    MUTEX_PS(m, as__mutex_ps_destroy(m));
    /* Locked, or a woken waiter on its way (WOKEN): busy. */
    return as__prim_destroy(P(m), M_LOCKED | M_WAITERS | M_WOKEN);
}

static inline int mutex_try(as_mutex *m)
{
    uint32_t v = as__load(&m->as__word, AS_RELAXED);
    while (mutex_can_take(m, v, false)) {
        if (as__cas(&m->as__word, &v, v | M_LOCKED, AS_ACQUIRE, AS_RELAXED)) {
            as__stat_inc(m->as__stats.acquired);
            return 1;
        }
    }
    return 0;
}

int as_mutex_try_lock(as_mutex *m)
{
    if (!mutex_valid(m))
        return -EINVAL;
    MUTEX_PS(m, as__mutex_ps_try(m));
    if (mutex_try(m))
        return 1;
    return (as__load(&m->as__word, AS_RELAXED) & M_CLOSED) ? -ESHUTDOWN : 0;
}

/* Take the lock for w (1), or queue w at the tail (0), or, when it would
 * have to queue with its deadline past, refuse (-ETIMEDOUT, nothing
 * changed).  Queue lock held. */
static int mutex_take_or_park_locked(as_mutex *m, as_wait *w, bool for_cond,
                                     uint64_t deadline)
{
    uint32_t v = as__load(&m->as__word, AS_RELAXED);
    for (;;) {
        if (mutex_can_take(m, v, for_cond)) {
            if (as__cas(&m->as__word, &v, v | M_LOCKED, AS_ACQUIRE, AS_RELAXED)) {
                as__stat_inc(m->as__stats.acquired);
                return 1;
            }
            continue;
        }
        if (as__deadline_passed(deadline))
            return -ETIMEDOUT;
        /* add_waiter_if: park only while the word still says "held". */
        if ((v & M_WAITERS) ||
            as__cas(&m->as__word, &v, v | M_WAITERS, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__q_push_tail(P(m), w);
    return 0;
}

static AS__NOINLINE int mutex_lock_slow(as_mutex *m, as_loop *loop, as_wait *w,
                                        uint64_t deadline, as_callback cb,
                                        void *arg)
{
    int r;
    as__q_lock(P(m));
    if (as__load(&m->as__word, AS_RELAXED) & M_CLOSED) {
        as__q_unlock(P(m));
        return -ESHUTDOWN;
    }
    as__wait_prepare(w, loop, &mutex_kind, cb, arg, m);
    r = mutex_take_or_park_locked(m, w, false, deadline);
    as__q_unlock(P(m));
    if (r == 0)
        as__wait_parked(w, deadline);
    return r;
}

static inline int mutex_lock(as_mutex *m, as_loop *loop, as_wait *w,
                             uint64_t deadline, as_callback cb, void *arg)
{
    int r;
    if (!mutex_valid(m) || as__deadline_check(deadline) < 0)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    MUTEX_PS(m, as__mutex_ps_lock(m, loop, w, deadline, cb, arg));
    r = mutex_try(m) ? 1 : mutex_lock_slow(m, loop, w, deadline, cb, arg);
    if (r == 1 && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &mutex_kind, cb, arg, m, 0, 0);
    return r;
}

int as_mutex_lock_async(as_mutex *m, as_loop *loop, as_wait *w, as_callback cb,
                        void *arg)
{
    return mutex_lock(m, loop, w, AS_NO_DEADLINE, cb, arg);
}

int as_mutex_lock_until(as_mutex *m, as_loop *loop, as_wait *w,
                        uint64_t deadline_ns, as_callback cb, void *arg)
{
    return mutex_lock(m, loop, w, deadline_ns, cb, arg);
}

int as_mutex_lock_blocking(as_mutex *m, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    if (!mutex_valid(m) || as__deadline_check(deadline_ns) < 0)
        return -EINVAL;
    MUTEX_PS(m, as__mutex_ps_blocking(m, deadline_ns));
    if (mutex_try(m))
        return 0;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, mutex_lock_slow(m, &tl, &w, deadline_ns, as__block_cb, NULL), deadline_ns);
}

void as__mutex_acquire_for(as_mutex *m, as_wait *w)
{
    int got;
    as__q_lock(P(m));
    got = mutex_take_or_park_locked(m, w, true, AS_NO_DEADLINE);
    as__q_unlock(P(m));
    if (got == 1)
        as__wait_finish(w); /* still DONE, with its condvar status */
}

/* Wake the head to retry (default policy, lock free, WOKEN clear).  Queue
 * lock held, queue not empty.  Returns the woken wait, to finish unlocked.
 * `v` is the current word; the new word keeps LOCKED clear. */
static as_wait *mutex_wake_head_locked(as_mutex *m, uint32_t v)
{
    as_wait *h = m->as__head;
    uint32_t nv = (v & M_CLOSED) | M_WOKEN | (h->as__next ? M_WAITERS : 0u);
    /* Lock-free lockers may be CASing the word (it is free): CAS, and let
     * the caller retry on failure. */
    if (!as__cas(&m->as__word, &v, nv, AS_RELEASE, AS_RELAXED))
        return NULL;
    as__q_remove(P(m), h, AS__W_RESUME, h->as__status);
    return h;
}

/* The unlock past its lock-free common case (QUIET, waiters, the
 * hand-off); out of line, so that the common case runs without a frame. */
static AS__NOINLINE int mutex_unlock_slow(as_mutex *m)
{
    uint32_t v;
    as_wait *h;
    v = as__load(&m->as__word, AS_RELAXED);
    for (;;) {
        if (!(v & M_LOCKED))
            return -EPERM;
        /* Nobody queued (a woken waiter may be on its way: WOKEN stays), or
         * QUIET (M6) unless the PASSED head may be on this thread's loop. */
        if ((v & M_WAITERS) && (!(v & M_QUIET) || mutex_passed_here(m)))
            break;
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
        return mutex_unlock_slow(m);
    }
    h = m->as__head;
    if (mutex_strict(m) || (h->as__flags & AS__F_STARVING) ||
        as__load(&h->as__loop->as__owner, AS_RELAXED) == as__thread_token()) {
        /* Direct hand-off: h leaves the queue holding the lock (M4: we are
         * the only writer).  QUIET clear (M6): h was the PASSED wait, if
         * there was one (M5). */
        as__q_remove(P(m), h, AS__W_DONE, grant_status(h));
        as__store(&m->as__word,
                  (v & (M_WOKEN | M_CLOSED)) | M_LOCKED |
                      (m->as__head ? M_WAITERS : 0u),
                  AS_RELEASE);
        if (v & M_QUIET) /* here by the note: spent */
            mutex_passed_tls = NULL;
        as__q_unlock(P(m));
        as__wait_finish(h);
        return 0;
    }
    if ((v & M_WOKEN) || (h->as__flags & AS__F_PASSED)) {
        /* A woken waiter is already on its way, or the head retries at its
         * timer (M2 holds): just release. */
        as__store(&m->as__word, v & ~M_LOCKED, AS_RELEASE);
        if (v & M_QUIET) /* a stale note */
            mutex_passed_tls = NULL;
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

int as_mutex_unlock(as_mutex *m)
{
    uint32_t v;
    if (!mutex_valid(m))
        return -EINVAL;
    MUTEX_PS(m, as__mutex_ps_unlock(m));
    /* The common case of mutex_unlock_slow's first loop: nobody queued */
    v = as__load(&m->as__word, AS_RELAXED);
    while (!(v & M_WAITERS)) {
        if (!(v & M_LOCKED))
            return -EPERM;
        if (as__cas(&m->as__word, &v, v & ~M_LOCKED, AS_RELEASE, AS_RELAXED))
            return 0;
    }
    return mutex_unlock_slow(m);
}

/* M2 after a wait left without the lock: the woken waiter that gave up
 * (`woken`: clear WOKEN on its behalf), or a queued one (cancel, deadline,
 * close), which may have been the PASSED head.  If the lock is free and the
 * queue is not empty with nobody woken, wake the head, unless it is PASSED;
 * else M6: QUIET as the head now says (a PASSED head that left with the
 * lock held must not leave unlocks skipping the queue lock).  Queue lock
 * held, queue not empty unless `woken`.  Returns a wait to finish, or
 * NULL. */
static as_wait *mutex_rewake_locked(as_mutex *m, bool woken)
{
    uint32_t v = as__load(&m->as__word, AS_RELAXED), nv;
    for (;;) {
        if (!(v & M_LOCKED) && (v & M_WAITERS) && (woken || !(v & M_WOKEN)) &&
            !(m->as__head->as__flags & AS__F_PASSED)) {
            as_wait *h = mutex_wake_head_locked(m, v);
            if (h)
                return h;
            v = as__load(&m->as__word, AS_RELAXED);
            continue;
        }
        nv = woken ? v & ~M_WOKEN : v;
        nv = (nv & ~M_QUIET) | mutex_quiet_locked(m, nv & M_WOKEN);
        /* a lock-free unlock in QUIET may move the word: CAS (M4) */
        if (nv == v ||
            as__cas(&m->as__word, &v, nv, AS_RELAXED, AS_RELAXED))
            return NULL;
    }
}

/* A queued wait left without the lock.  M1: the queue emptied; M2: it may
 * have been the PASSED head. */
static void mutex_fixup(as__prim *p, as__batch *done)
{
    as_wait *h;
    if (as__q_empty(p)) {
        as__fetch_and(&p->word, ~(M_WAITERS | M_QUIET), AS_RELAXED);
        return;
    }
    if ((h = mutex_rewake_locked((as_mutex *)(void *)p, false)) != NULL)
        as__batch_add(done, h);
}

/* A wait woken to retry arrived on its thread (kind->resume of the mutex,
 * and of the condvar for its waiters re-acquiring the mutex). */
void as__mutex_resume(as_wait *w)
{
    as_mutex *m = (as_mutex *)as__load(&w->as__obj, AS_RELAXED);
    uint32_t v;
    int give_up = 0;
    bool pass;
    as__q_lock(P(m));
    /* RESUME changes only under this lock: the state and flags are stable. */
    v = as__load(&m->as__word, AS_RELAXED);
    if (w->as__flags & AS__F_GIVE_UP)
        give_up = w->as__status; /* cancelled or expired on its way */
    else if (w->as__kind == &mutex_kind && (v & M_CLOSED))
        give_up = -ESHUTDOWN;
    if (give_up) {
        as_wait *next = mutex_rewake_locked(m, true);
        as__q_decide(P(m), w, give_up);
        as__q_unlock(P(m));
        as__wait_finish(w);
        if (next)
            as__wait_finish(next);
        return;
    }
    /* Passed over for the first time (PASSED: no unlock wakes it again; it
     * retries at its timer), or without a timer of its own, a condvar
     * waiter, or passed before (STARVING, woken again by a rewake; a
     * PASSED wait is never woken): the next unlock hands it the lock. */
    pass = w->as__kind == &mutex_kind &&
           !(w->as__flags & (AS__F_PASSED | AS__F_STARVING)) &&
           as__pass_may(w);
    for (;;) {
        if (!(v & M_LOCKED)) {
            if (as__cas(&m->as__word, &v, (v | M_LOCKED) & ~M_WOKEN,
                        AS_ACQUIRE, AS_RELAXED)) {
                as__q_decide(P(m), w, grant_status(w));
                as__q_unlock(P(m));
                as__wait_finish(w);
                return;
            }
            continue;
        }
        /* Someone barged in: back to the head (M5), QUIET if PASSED (M6:
         * no other wait is PASSED while this one was woken). */
        if (as__cas(&m->as__word, &v,
                    ((v | M_WAITERS) & ~M_WOKEN) | (pass ? M_QUIET : 0u),
                    AS_RELAXED, AS_RELAXED))
            break;
    }
    as__q_push_head(P(m), w);
    w->as__flags |= pass ? AS__F_PASSED : AS__F_STARVING;
    as__q_unlock(P(m));
    if (pass) {
        /* the heap is this thread's: keyed before its loop runs again, so
         * before the lock could go idle; the note (M6) lets this loop's
         * unlocks hand it the lock meanwhile */
        as__timer_rekey(w, as_now_ns() + AS__PASS_NS);
        mutex_passed_tls = m;
    }
}

/* kind->tick (M5): its own deadline expires it; a PASSED wait's timer makes
 * it STARVING and takes the lock for it if the lock is free. */
static bool mutex_tick(as_wait *w, uint64_t now)
{
    as_mutex *m = (as_mutex *)as__load(&w->as__obj, AS_RELAXED);
    bool got = false;
    uint32_t v;
    if (now >= as__load(&w->as__until, AS_RELAXED)) {
        as__wait_expire(w);
        return true;
    }
    if (mutex_passed_tls == m)
        mutex_passed_tls = NULL;
    as__q_lock(P(m));
    /* PASSED changes only under this lock, and only a QUEUED wait has it */
    if ((w->as__flags & AS__F_PASSED) &&
        as__wait_base(as__load(&w->as__state, AS_ACQUIRE)) == AS__W_QUEUED) {
        w->as__flags = (w->as__flags & ~AS__F_PASSED) | AS__F_STARVING;
        /* M6: the head is no longer PASSED.  Free: claim the lock for it
         * (bargers may CAS the free word).  Held: clear QUIET, so that the
         * next unlock takes the queue lock and hands it the lock; the
         * holder's lock-free unlock may free it first: then claim it. */
        v = as__load(&m->as__word, AS_RELAXED);
        for (;;) {
            if (!(v & M_LOCKED)) {
                if (as__cas(&m->as__word, &v, (v | M_LOCKED) & ~M_QUIET,
                            AS_ACQUIRE, AS_RELAXED)) {
                    as__q_remove(P(m), w, AS__W_DONE, 0);
                    if (!m->as__head)
                        as__fetch_and(&m->as__word, ~M_WAITERS, AS_RELAXED);
                    got = true;
                    break;
                }
            } else if (!(v & M_QUIET) ||
                       as__cas(&m->as__word, &v, v & ~M_QUIET, AS_RELAXED,
                               AS_RELAXED)) {
                break;
            }
        }
    }
    as__q_unlock(P(m));
    if (got)
        as__wait_finish(w);
    else
        as__timer_rekey(w, AS_NO_DEADLINE); /* its own deadline, if any */
    return false;
}

int as_mutex_close(as_mutex *m)
{
    as__batch done = {NULL, NULL};
    as_wait *w, *next;
    if (!mutex_valid(m))
        return -EINVAL;
    MUTEX_PS(m, as__mutex_ps_close(m));
    as__q_lock(P(m));
    if (as__prim_close_locked(P(m))) {
        AS_PROBE2(close, m, "mutex");
        as__fetch_or(&m->as__word, M_CLOSED, AS_RELAXED);
        /* Lock waiters end; condvar waiters re-acquiring keep their place. */
        for (w = m->as__head; w; w = next) {
            next = w->as__next;
            if (w->as__kind == &mutex_kind)
                as__q_take(P(m), w, -ESHUTDOWN, &done);
        }
        mutex_fixup(P(m), &done);
    }
    as__q_unlock(P(m));
    as__batch_finish(&done);
    return 0;
}

int as_mutex_consistent(as_mutex *m)
{
    if (!mutex_valid(m))
        return -EINVAL;
    MUTEX_PS(m, as__mutex_ps_consistent(m));
    return -EINVAL; /* not robust: AS_MUTEX_ROBUST needs AS_PSHARED */
}

AS__PRIM_OBSERVERS_PS(mutex, as_mutex, mutex_valid, as__mutex_ps_waiters)

/* ---- the kind table ---- */

static int mutex_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &mutex_kind, mutex_fixup);
}

static void mutex_giveback(void *home, uint32_t n, uint32_t flags)
{
    (void)n, (void)flags;
    (void)as_mutex_unlock(home);
}

static const struct as__kind mutex_kind = {
    .name = "mutex",
    .cancel = mutex_cancel,
    .resume = as__mutex_resume,
    .giveback = mutex_giveback,
    .tick = mutex_tick,
};
