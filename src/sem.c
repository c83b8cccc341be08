/* Weighted FIFO semaphore: eventual fairness by default, strict hand-off on
 * request.
 *
 * STATE WORD   COUNT (bits 0..29): permits in the word.
 *              Bits 31 (WAITERS) and 30 (QUIET) say what the queue
 *              allows (sem_bits):
 *              neither  the queue is empty: every path is lock-free;
 *              WAITERS  the queue is not empty and a woken wait is on its
 *                       way: newcomers may take permits from the word, and
 *                       a release takes the queue lock (the grant may serve
 *                       the head);
 *              QUIET    the queue is not empty, its head is PASSED and
 *                       nothing is woken: newcomers may take permits, and a
 *                       release adds its permits to COUNT lock-free (the
 *                       grant would stop at the head, S5) unless its thread
 *                       may run the head's loop (sem_passed_here);
 *              both     HANDOFF: newcomers may not take permits from the
 *                       word (the lock-free acquire fails into the slow
 *                       path), a release takes the queue lock; also a
 *                       closed semaphore.
 * s->as__aux   (queue lock) `woken`: the sum of the requests of the waits
 *              woken to retry that have not arrived yet (state RESUME, out
 *              of the queue, on their way to their loop).
 *
 * POLICY (the mutex's, see mutex.c)
 *   Waiters are pinned to their loops, and a semaphore that limits tasks
 *   holding permits across I/O convoys if every release hands its permits
 *   to a waiter whose loop sleeps: they are held by nobody who runs for a
 *   whole thread wake-up.  So the grant (sem_settle_locked) serves the queue
 *   from its head, while the head fits in the permits not already promised
 *   to woken waiters:
 *   - the head is on the releaser's own loop, or is STARVING, or the
 *     semaphore is AS_SEM_STRICT_FIFO: direct hand-off (the permits are the
 *     waiter's the moment it leaves the queue);
 *   - otherwise the permits stay in the word and the head is woken to retry
 *     (RESUME; its n is added to `woken`).  While a woken waiter is on its
 *     way, newcomers may take permits from the word (barging).  A woken
 *     waiter that finds too few goes back to the front of the queue PASSED
 *     (as the mutex's, M5 in mutex.c): no release serves it, newcomers may
 *     still take permits, and at its loop's timer, AS__PASS_NS (250 us)
 *     later, it becomes STARVING; then HANDOFF stops newcomers and the next
 *     release that makes it fit hands it the permits directly.  A wait on a
 *     loop without a timer of its own (as__pass_may) is STARVING at once.
 *   HANDOFF = closed, or queue not empty and (the head is STARVING, or
 *   woken == 0 and the head is not PASSED); QUIET = the head is PASSED and
 *   woken == 0, WAITERS otherwise with the queue not empty.  So newcomers
 *   pass queued waiters only while a woken waiter is racing them or the
 *   head is PASSED (as with the mutex, where the lock is free with waiters
 *   only while WOKEN is set or the head is PASSED), never past a STARVING
 *   head, and never take what a head that does not fit is accumulating: a
 *   large request is not starved by small ones (at most AS__PASS_NS once it
 *   has fitted once).  In strict mode nothing is ever woken (woken is 0), so
 *   the word is HANDOFF whenever the queue is not empty: no newcomer
 *   passes a queued waiter.
 *   The queue's front is: the STARVING waits, then the PASSED ones, each in
 *   the order they came back; a PASSED wait whose timer fires moves behind
 *   the last STARVING one.
 *
 * Invariant S1 (no idle permits behind the queue): whenever the queue lock
 *   is free and the queue is not empty, the head does not fit in COUNT -
 *   woken (else the grant would have served or woken it), or it is PASSED
 *   and its timer will retry (S5).  Every path that raises COUNT or lowers
 *   woken with WAITERS set runs the grant under the lock; barging only
 *   lowers COUNT; a lock-free release raises it only while QUIET, when the
 *   head is PASSED (the grant, run then, would stop at it) and stays so
 *   (PASSED and woken change under the lock, and every change of the head
 *   or of woken rewrites the bits with a CAS that fails on a word a
 *   release moved).
 * Invariant S2 (writers): while the queue is not empty the word is written
 *   under the queue lock, or lock-free: by an acquire (not in HANDOFF, only
 *   lowering COUNT), by a release (only in QUIET, only raising COUNT), by a
 *   forget (not with WAITERS, only lowering COUNT).  So the grant computes
 *   its plan from one value of the word and commits it with a CAS, and
 *   starts over if the word moved meanwhile; only in HANDOFF (nobody else
 *   writes) may it store.
 * Invariant S3 (conservation): permits are in the word, or held by the
 *   caller of a successful acquire, or carried by a DONE wait with status 0
 *   (delivered to its callback, or given back by a cancel that came first:
 *   X1 in wait.c), or were removed by as_sem_forget.  A wait that leaves
 *   the queue without permits (cancel, deadline), or a woken one that gives
 *   up, re-runs the grant: a small waiter behind a large head that gave up
 *   is not left waiting on permits that are free.
 * Invariant S4 (close): a closed semaphore keeps the word HANDOFF
 *   with an empty queue, so every lock-free path fails into the slow path,
 *   which sees the closed flag under the lock: acquires are refused
 *   (-ESHUTDOWN), releases and forgets still count; woken waits arrive to
 *   -ESHUTDOWN.
 * Invariant S5 (bounded bypass): a waiter is passed over only while it, or
 *   a waiter ahead of it, is woken and on its way (one thread wake-up) or
 *   PASSED (at most AS__PASS_NS, its loop's heap keyed then): a woken
 *   waiter is woken at most once per acquire (then PASSED or STARVING, and
 *   a PASSED one STARVING at its timer), and with no woken waiter and no
 *   PASSED head HANDOFF is set.  The grant writes COUNT and the
 *   bits in one CAS, also when a woken waiter takes its permits on arrival
 *   (a take that left the old bits for a later CAS let newcomers pass the
 *   queue in between with nothing woken: found by sem.pml).
 *
 * Model: tests/model/sem.pml (S1-S5, Q1, exactly-once callbacks, cancel
 * re-grant, no waiter passed for ever under weak fairness, both policies;
 * same state names) is checked exhaustively with spin; cancel.pml's -DSEM
 * scenarios (close, deadlines, forget, cross-thread cancel) model the
 * strict policy.
 */
#include <string.h>

#include "pshared.h"
#include "waitq.h"

#define SEM_WAITERS 0x80000000u
#define SEM_QUIET 0x40000000u
#define SEM_HANDOFF (SEM_WAITERS | SEM_QUIET)
#define SEM_COUNT AS_SEM_VALUE_MAX

/* HANDOFF: newcomers may not take permits from the word.  (Both state
 * bits are the word's top two: one compare.) */
static inline bool sem_barred(uint32_t v)
{
    return v >= SEM_HANDOFF;
}

/* QUIET's exception: a release from the PASSED head's own loop hands it its
 * permits at once (the policy's "same-loop hand-offs stay direct").  The
 * releaser cannot look at the head without the queue lock, so the thread
 * that ran the wait's return to the queue PASSED (sem_resume, on its loop's
 * thread) notes the semaphore here; a release that finds the word QUIET
 * and its thread's note on this semaphore takes the lock.  A hint only: a
 * stale note (the wait was served or cancelled meanwhile, or the loop moved
 * to another thread) costs a release the lock it took before QUIET; a note
 * overwritten by another semaphore leaves the head to its timer (S5's
 * bound).  Neither changes what the grant decides.  A release that took the
 * lock for the note renews it from what the queue says then (sem_renote):
 * a note that outlived its wait (served by that release, or earlier) would
 * send every release of this thread through the lock while another loop's
 * head is PASSED. */
static _Thread_local const as_sem *sem_passed_tls;

static inline bool sem_passed_here(const as_sem *s)
{
    return sem_passed_tls == s;
}

/* Queue lock held: keep the note only if the head is PASSED and this
 * thread runs its loop. */
static inline void sem_renote(const as_sem *s)
{
    const as_wait *h = s->as__head;
    sem_passed_tls = h && (h->as__flags & AS__F_PASSED) &&
                             as__load(&h->as__loop->as__owner, AS_RELAXED) ==
                                 as__thread_token()
                         ? s
                         : NULL;
}

static inline as__prim *P(as_sem *s) { return (as__prim *)(void *)s; }

AS__PRIM_LAYOUT(as_sem);

static inline bool sem_valid(const as_sem *s)
{
    return s && s->as__magic == AS__MAGIC_SEM;
}

/* AS_PSHARED: the object is the shared layout of pshared.h, handled by
 * sem_ps.c; every public call dispatches on this flag, which sits where
 * the private layout has its flags (offset 12). */
static inline bool sem_ps(const as_sem *s)
{
#ifdef AS__PS_SUPPORTED
    return (as__load(&s->as__flags, AS_RELAXED) & AS_PSHARED) != 0;
#else
    (void)s;
    return false;
#endif
}
#ifdef AS__PS_SUPPORTED
#define SEM_PS(s, call) \
    do { if (sem_ps(s)) return (call); } while (0)
#else
#define SEM_PS(s, call) ((void)0)
#endif

static inline bool sem_strict(const as_sem *s)
{
    return (as__load(&s->as__flags, AS_RELAXED) & AS_SEM_STRICT_FIFO) != 0;
}

static const struct as__kind sem_kind;

int as_sem_init(as_sem *s, uint32_t permits, unsigned flags)
{
    if (s && (flags & AS_PSHARED)) {
        if (permits > AS_PSHARED_SEM_VALUE_MAX ||
            !as__ps_flags_ok(flags, AS_SEM_STRICT_FIFO))
            return -EINVAL;
#ifdef AS__PS_SUPPORTED
        return as__sem_ps_init(s, permits, flags);
#else
        return -EOPNOTSUPP;
#endif
    }
    if (!s || permits > AS_SEM_VALUE_MAX || (flags & ~AS_SEM_STRICT_FIFO))
        return -EINVAL;
    as__prim_init(P(s), AS__MAGIC_SEM, permits, flags);
    return 0;
}

int as_sem_destroy(as_sem *s)
{
    if (!sem_valid(s))
        return -EINVAL;
    SEM_PS(s, as__sem_ps_destroy(s));
    /* HANDOFF without waiters is a closed semaphore, and woken waits are
     * counted in as__aux: the queue and that count decide. */
    return as__prim_destroy(P(s), 0);
}

/* Lock-free fast path: one CAS.  1 acquired, 0 not now. */
static inline int sem_try(as_sem *s, uint32_t n)
{
    uint32_t v = as__load(&s->as__word, AS_RELAXED);
    while (!sem_barred(v) && (v & SEM_COUNT) >= n) {
        if (as__cas(&s->as__word, &v, v - n, AS_ACQUIRE, AS_RELAXED)) {
            as__stat_inc(s->as__stats.acquired);
            return 1;
        }
    }
    return 0;
}

int as_sem_try_acquire(as_sem *s, uint32_t n)
{
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX)
        return -EINVAL;
    SEM_PS(s, as__sem_ps_try_fast(s, n));
    if (sem_try(s, n))
        return 1;
    return as__prim_closed(P(s)) ? -ESHUTDOWN : 0;
}

/* The flag bits of the word when `head` heads the queue (NULL: empty) and
 * `woken` permits are promised to woken waits (the POLICY rule).  Queue
 * lock held. */
static inline uint32_t sem_bits(const as_sem *s, const as_wait *head,
                                uint32_t woken)
{
    if (as__prim_closed((const as__prim *)(const void *)s))
        return SEM_HANDOFF;
    if (!head)
        return 0;
    if ((head->as__flags & AS__F_STARVING) ||
        (woken == 0 && !(head->as__flags & AS__F_PASSED)))
        return SEM_HANDOFF;
    return woken == 0 ? SEM_QUIET : SEM_WAITERS;
}

/* Does the grant hand h its permits directly (true) or wake it to retry?
 * `me` is the caller's thread token (a waiter on the caller's own loop). */
static inline bool sem_direct(const as_wait *h, bool strict, const void *me)
{
    return strict || (h->as__flags & AS__F_STARVING) ||
           as__load(&h->as__loop->as__owner, AS_RELAXED) == me;
}

/* S5: the grant stops at a PASSED head it would wake (its timer retries). */
static inline bool sem_waits_timer(const as_wait *h, bool direct)
{
    return !direct && (h->as__flags & AS__F_PASSED);
}

/* Serve h, the head, which fits: directly (DONE with its permits) or woken
 * to retry (RESUME).  The caller accounts for its permits.  Queue lock
 * held. */
static inline void sem_serve(as_sem *s, as_wait *h, bool direct,
                             as__batch *done)
{
    if (direct) {
        as__q_take(P(s), h, 0, done);
    } else {
        as__q_remove(P(s), h, AS__W_RESUME, 0);
        as__batch_add(done, h);
    }
}

/* sem_settle_locked when others may write the word (not HANDOFF, S2): a
 * barger may lower COUNT meanwhile (or, WAITERS clear, a release raise it;
 * nobody sets a bit without the lock).  Plan
 * from one value, commit with a CAS, and on failure plan again from the new
 * value (the queue cannot change: we hold the lock); then serve the waits
 * planned. */
static AS__NOINLINE bool sem_settle_cas(as_sem *s, uint32_t v, uint32_t extra,
                                        uint32_t take, as__batch *done)
{
    bool strict = sem_strict(s);
    const void *me = strict ? NULL : as__thread_token();
    uint32_t c, woken;
    as_wait *h, *stop;
    for (;;) {
        int64_t avail;
        if ((v & SEM_COUNT) + extra < take)
            return false;
        c = (v & SEM_COUNT) + extra - take;
        woken = s->as__aux;
        avail = (int64_t)c - woken;
        for (h = s->as__head; h && h->as__n <= avail; h = h->as__next) {
            /* decided once: a loop's owner may change between plan and
             * apply (a loop taken over by another thread) */
            bool direct = sem_direct(h, strict, me);
            if (sem_waits_timer(h, direct))
                break;
            avail -= h->as__n;
            if (direct) {
                h->as__flags |= AS__F_DIRECT;
                c -= h->as__n;
            } else {
                h->as__flags &= ~AS__F_DIRECT;
                woken += h->as__n;
            }
        }
        stop = h;
        if (as__cas(&s->as__word, &v, c | sem_bits(s, stop, woken), AS_ACQ_REL,
                    AS_RELAXED))
            break;
    }
    while ((h = s->as__head) != stop) {
        bool direct = (h->as__flags & AS__F_DIRECT) != 0;
        h->as__flags &= ~AS__F_DIRECT;
        sem_serve(s, h, direct, done);
    }
    s->as__aux = woken;
    return true;
}

/* The grant: serve the queue from its head while the head fits in the
 * permits not promised to woken waits (S1), `extra` permits being added by
 * a release (the caller checked that they fit), `take` permits being taken
 * for a woken wait that arrived (in the same CAS as the bits, so no
 * newcomer passes the queue between its take and the new bits).  Queue
 * lock held.  Served waits are collected in `done` (DONE with their
 * permits, or RESUME).  false (nothing changed): fewer than `take` permits
 * are in the word.  Inlined: the release's hand-off path is this and the
 * caller's lock, nothing else. */
static AS__ALWAYS_INLINE bool sem_settle_locked(as_sem *s, uint32_t extra,
                                                uint32_t take, as__batch *done)
{
    uint32_t v = as__load(&s->as__word, AS_RELAXED), c, woken;
    bool strict;
    const void *me;
    as_wait *h;
    if (!sem_barred(v))
        return sem_settle_cas(s, v, extra, take, done);
    /* S2: in HANDOFF nobody else writes the word, and
     * nobody reads it without the lock but to fail into the slow path:
     * serve in one pass, then store (the hand-off path). */
    if ((v & SEM_COUNT) + extra < take)
        return false;
    strict = sem_strict(s);
    me = strict ? NULL : as__thread_token();
    c = (v & SEM_COUNT) + extra - take;
    woken = s->as__aux;
    while ((h = s->as__head) && h->as__n <= (int64_t)c - woken) {
        bool direct = sem_direct(h, strict, me);
        if (sem_waits_timer(h, direct))
            break;
        if (direct)
            c -= h->as__n;
        else
            woken += h->as__n;
        sem_serve(s, h, direct, done);
    }
    as__store(&s->as__word, c | sem_bits(s, h, woken), AS_RELEASE);
    s->as__aux = woken;
    return true;
}

/* Take n now (1), park w (0), or refuse: -ESHUTDOWN (closed), -ETIMEDOUT
 * (must wait, deadline past: nothing changed). */
static AS__NOINLINE int sem_acquire_slow(as_sem *s, as_loop *loop, as_wait *w,
                                         uint32_t n, uint64_t deadline,
                                         as_callback cb, void *arg)
{
    uint32_t v;
    as__q_lock(P(s));
    v = as__load(&s->as__word, AS_RELAXED);
    /* w's fields are not published before the push (Q1): prepare it
     * first, so its (cleared) flags can stand for the head it may become. */
    as__wait_prepare(w, loop, &sem_kind, cb, arg, s);
    w->as__n = n;
    for (;;) {
        if (!sem_barred(v) && (v & SEM_COUNT) >= n) {
            if (as__cas(&s->as__word, &v, v - n, AS_ACQUIRE, AS_RELAXED)) {
                as__stat_inc(s->as__stats.acquired);
                as__q_unlock(P(s));
                return 1;
            }
            continue;
        }
        if (as__prim_closed(P(s))) {
            as__q_unlock(P(s));
            return -ESHUTDOWN;
        }
        if (as__deadline_passed(deadline)) {
            as__q_unlock(P(s));
            return -ETIMEDOUT;
        }
        /* add_waiter_if: park only if the word still says "not for you".
         * w does not fit in COUNT (or HANDOFF is set, and then the head
         * does not fit in COUNT - woken), so S1 holds with w queued.  When
         * the bits do not change (the queue was not empty) no CAS is
         * needed: in HANDOFF nobody else writes the word (S2), with
         * WAITERS a barger can only lower COUNT, which keeps "not for you",
         * and in QUIET a release may raise it, but the head is PASSED and
         * stays so: S1 holds by its timer (a CAS of the same value costs
         * ~20 cycles on every queued wait). */
        uint32_t nv = (v & SEM_COUNT) |
                      sem_bits(s, s->as__head ? s->as__head : w, s->as__aux);
        if (nv == v || as__cas(&s->as__word, &v, nv, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__q_push_tail(P(s), w);
    as__q_unlock(P(s));
    as__wait_parked(w, deadline);
    return 0;
}

static inline int sem_acquire(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                              uint64_t deadline, as_callback cb, void *arg)
{
    int r;
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX ||
        as__deadline_check(deadline) < 0)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    SEM_PS(s, as__sem_ps_acquire(s, loop, w, n, deadline, cb, arg));
    r = sem_try(s, n) ? 1 : sem_acquire_slow(s, loop, w, n, deadline, cb, arg);
    if (r == 1 && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &sem_kind, cb, arg, s, n, 0);
    return r;
}

int as_sem_acquire_async(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                         as_callback cb, void *arg)
{
    return sem_acquire(s, loop, w, n, AS_NO_DEADLINE, cb, arg);
}

int as_sem_acquire_until(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                         uint64_t deadline_ns, as_callback cb, void *arg)
{
    return sem_acquire(s, loop, w, n, deadline_ns, cb, arg);
}

int as_sem_acquire_blocking(as_sem *s, uint32_t n, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX ||
        as__deadline_check(deadline_ns) < 0)
        return -EINVAL;
    SEM_PS(s, as__sem_ps_blocking(s, n, deadline_ns));
    if (sem_try(s, n))
        return 0;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, sem_acquire_slow(s, &tl, &w, n, deadline_ns, as__block_cb, NULL), deadline_ns);
}

/* The release past its lock-free common case (QUIET, waiters, the grant);
 * out of line, so that the common case runs without a frame. */
static AS__NOINLINE int sem_release_slow(as_sem *s, uint32_t n)
{
    as__batch done = {NULL, NULL};
    uint32_t v;
    bool noted = false;
    v = as__load(&s->as__word, AS_RELAXED);
    for (;;) {
        /* Lock-free with the queue empty, or QUIET (S1) unless the PASSED
         * head may be this thread's loop's: then the grant serves it. */
        while (!(v & SEM_WAITERS)) {
            if ((v & SEM_QUIET) && sem_passed_here(s)) {
                noted = true;
                break;
            }
            if ((v & SEM_COUNT) > AS_SEM_VALUE_MAX - n)
                return -EOVERFLOW;
            if (as__cas(&s->as__word, &v, v + n, AS_RELEASE, AS_RELAXED))
                return 0;
        }
        as__q_lock(P(s));
        v = as__load(&s->as__word, AS_ACQUIRE);
        if (v & SEM_HANDOFF)
            break;
        as__q_unlock(P(s)); /* the waiters left meanwhile: fast path again */
    }
    v &= SEM_COUNT;
    if (v > AS_SEM_VALUE_MAX - n) {
        as__q_unlock(P(s));
        return -EOVERFLOW;
    }
    (void)sem_settle_locked(s, n, 0, &done);
    if (noted)
        sem_renote(s);
    as__q_unlock(P(s));
    as__batch_finish(&done);
    return 0;
}

int as_sem_release(as_sem *s, uint32_t n)
{
    uint32_t v;
    if (!sem_valid(s) || n == 0)
        return -EINVAL;
    if (n > AS_SEM_VALUE_MAX)
        return -EOVERFLOW;
    SEM_PS(s, as__sem_ps_release_fast(s, n));
    /* The common case of sem_release_slow's first loop: nobody queued and
     * no QUIET note */
    v = as__load(&s->as__word, AS_RELAXED);
    while (!(v & (SEM_WAITERS | SEM_QUIET))) {
        if ((v & SEM_COUNT) > AS_SEM_VALUE_MAX - n)
            return -EOVERFLOW;
        if (as__cas(&s->as__word, &v, v + n, AS_RELEASE, AS_RELAXED))
            return 0;
    }
    return sem_release_slow(s, n);
}

int64_t as_sem_forget(as_sem *s, uint32_t n)
{
    uint32_t v, take;
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX)
        return -EINVAL;
    SEM_PS(s, as__sem_ps_forget(s, n));
    v = as__load(&s->as__word, AS_RELAXED);
    for (;;) {
        if (v & SEM_WAITERS) {
            /* S2: under the queue lock, with a CAS (bargers may be taking
             * permits).  Forgetting only lowers COUNT, which keeps S1: no
             * grant to re-run. */
            as__q_lock(P(s));
            v = as__load(&s->as__word, AS_RELAXED);
            if (!(v & SEM_WAITERS)) {
                /* The waiters left meanwhile: lock-free paths write the
                 * word again (finding F2/F3 of tests/model/cancel.pml). */
                as__q_unlock(P(s));
                continue;
            }
            do
                take = (v & SEM_COUNT) < n ? (v & SEM_COUNT) : n;
            while (!as__cas(&s->as__word, &v, v - take, AS_RELAXED, AS_RELAXED));
            as__q_unlock(P(s));
            return take;
        }
        take = (v & SEM_COUNT) < n ? (v & SEM_COUNT) : n;
        if (take == 0 ||
            as__cas(&s->as__word, &v, v - take, AS_ACQUIRE, AS_RELAXED))
            return take;
    }
}

int as_sem_close(as_sem *s)
{
    as__batch done = {NULL, NULL};
    as_wait *h;
    if (!sem_valid(s))
        return -EINVAL;
    SEM_PS(s, as__sem_ps_close(s));
    as__q_lock(P(s));
    if (as__prim_close_locked(P(s))) {
        AS_PROBE2(close, s, "sem");
        while ((h = s->as__head) != NULL)
            as__q_take(P(s), h, -ESHUTDOWN, &done);
        /* S4: the word stays HANDOFF, with the queue empty.  An RMW: when
         * the queue was empty or QUIET, lock-free releases and acquires may
         * be CASing the word (F2 of tests/model/cancel.pml: a store lost one).
         * Woken waits arrive to -ESHUTDOWN (sem_resume). */
        as__fetch_or(&s->as__word, SEM_HANDOFF, AS_RELEASE);
    }
    as__q_unlock(P(s));
    as__batch_finish(&done);
    return 0;
}

int64_t as_sem_value(const as_sem *s)
{
    if (!sem_valid(s))
        return -EINVAL;
    SEM_PS(s, as__sem_ps_value(s));
    return (int64_t)(as__load(&s->as__word, AS_ACQUIRE) & SEM_COUNT);
}

AS__PRIM_OBSERVERS_PS(sem, as_sem, sem_valid, as__sem_ps_waiters)

/* ---- the kind table ---- */

/* S3: the head may have been what blocked the waiters behind it (and the
 * bits follow the new head). */
static void sem_regrant(as__prim *p, as__batch *done)
{
    (void)sem_settle_locked((as_sem *)(void *)p, 0, 0, done);
}

/* A wait woken to retry arrived on its thread (kind->resume).  S5: it takes
 * its permits if the word has them (it was at the head when woken, so it
 * passes nobody), or goes back to the front STARVING, served directly next;
 * if it was cancelled, expired or closed on its way, it gives up.  Either
 * way its claim leaves `woken` and the grant runs again (S1: its claim may
 * have been what kept the next head waiting, or HANDOFF clear). */
static void sem_resume(as_wait *w)
{
    as_sem *s = (as_sem *)as__load(&w->as__obj, AS_RELAXED);
    as__batch done = {NULL, NULL};
    int status = 0;
    as__q_lock(P(s));
    /* RESUME changes only under this lock: the state and flags are stable. */
    s->as__aux -= w->as__n;
    if (w->as__flags & AS__F_GIVE_UP)
        status = w->as__status;
    else if (as__prim_closed(P(s)))
        status = -ESHUTDOWN;
    if (status != 0) {
        (void)sem_settle_locked(s, 0, 0, &done);
    } else if (!sem_settle_locked(s, 0, w->as__n, &done)) {
        /* Barged: back to the front (POLICY: the STARVING waits, then the
         * PASSED ones), ahead of every wait that was behind it when it was
         * woken.  PASSED (S5) if its loop has a timer, else STARVING; the
         * grant sets the bits (and may serve the STARVING waits ahead of it
         * with the claim it gave up). */
        bool pass = !(w->as__flags & AS__F_STARVING) && as__pass_may(w);
        uint32_t skip = pass ? AS__F_STARVING | AS__F_PASSED : AS__F_STARVING;
        as_wait *pos = s->as__head;
        while (pos && (pos->as__flags & skip))
            pos = pos->as__next;
        w->as__flags |= pass ? AS__F_PASSED : AS__F_STARVING;
        as__q_insert_before(P(s), pos, w);
        (void)sem_settle_locked(s, 0, 0, &done);
        as__q_unlock(P(s));
        if (pass) { /* this thread's heap: keyed before its loop runs again */
            as__timer_rekey(w, as_now_ns() + AS__PASS_NS);
            sem_passed_tls = s;
        }
        as__batch_finish(&done);
        return;
    }
    as__q_decide(P(s), w, status);
    as__q_unlock(P(s));
    as__wait_finish(w);
    as__batch_finish(&done);
}

/* kind->tick (S5): its own deadline expires it; a PASSED wait's timer makes
 * it STARVING, behind the STARVING waits, and runs the grant. */
static bool sem_tick(as_wait *w, uint64_t now)
{
    as_sem *s = (as_sem *)as__load(&w->as__obj, AS_RELAXED);
    as__batch done = {NULL, NULL};
    if (now >= as__load(&w->as__until, AS_RELAXED)) {
        as__wait_expire(w);
        return true;
    }
    if (sem_passed_tls == s)
        sem_passed_tls = NULL;
    as__q_lock(P(s));
    /* PASSED changes only under this lock, and only a QUEUED wait has it */
    if ((w->as__flags & AS__F_PASSED) &&
        as__wait_base(as__load(&w->as__state, AS_ACQUIRE)) == AS__W_QUEUED) {
        as_wait *pos = s->as__head;
        while (pos && pos != w && (pos->as__flags & AS__F_STARVING))
            pos = pos->as__next;
        w->as__flags = (w->as__flags & ~AS__F_PASSED) | AS__F_STARVING;
        if (pos != w)
            as__q_move_before(P(s), pos, w);
        (void)sem_settle_locked(s, 0, 0, &done);
    }
    as__q_unlock(P(s));
    as__timer_rekey(w, AS_NO_DEADLINE); /* its own deadline, if any */
    as__batch_finish(&done);
    return false;
}

static int sem_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &sem_kind, sem_regrant);
}

static void sem_giveback(void *home, uint32_t n, uint32_t flags)
{
    (void)flags;
    (void)as_sem_release(home, n);
}

static const struct as__kind sem_kind = {
    .name = "sem",
    .cancel = sem_cancel,
    .resume = sem_resume,
    .giveback = sem_giveback,
    .tick = sem_tick,
};
