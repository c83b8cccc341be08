/* Read-write lock: fair by phases, with upgradable reads; eventual fairness
 * across loops with a time bound by default, strict hand-off on request.
 *
 * STATE WORD   WRITER (1): held by a writer.
 *              UPGRADABLE (2): held by the (one) upgradable reader.
 *              WAITERS (4): the queue is not empty.
 *              CLOSED (8): as_rwlock_close ran: acquisitions are refused.
 *              WOKEN (16): waits woken to retry are on their way to their
 *              loops (state RESUME; how many: RW_NWOKEN, under the queue
 *              lock); never with AS_RWLOCK_STRICT_FIFO.
 *              NOBARGE (32): the head of the queue is a writer, an upgrade
 *              or STARVING, and not PASSED: no reader passes it.
 *              PASS (64): the head of the queue is PASSED (RW10): newcomers
 *              may pass the queue, as while WOKEN.
 *              bits 7..31 (READERS, unit RW_ONE): plain readers holding it
 *              (the upgradable reader is not counted there).
 *
 * POLICY
 *   Waiters queue in arrival order; one FIFO holds readers, writers and
 *   upgradable readers (as__n of a wait says which: RW_READ...).  Whenever
 *   the lock changes (an unlock, a downgrade, a waiter that gave up, a woken
 *   waiter that arrived, a passed waiter's timer) the grant (rw_plan, then
 *   rw_serve) serves the queue from its head while the head is compatible
 *   with the holders: consecutive readers (and an upgradable reader among
 *   them) together, a writer only to a free lock; the first incompatible
 *   head stops it, so a reader arriving after a queued writer waits behind
 *   it (phases).  How a compatible head is served depends on the policy:
 *
 *   AS_RWLOCK_STRICT_FIFO (strict hand-off): every served wait leaves the
 *   queue owning its share (direct hand-off, as the semaphore's permits),
 *   even on a loop that sleeps: the lock is then held by nobody who runs
 *   while that loop wakes, and every task behind convoys (a thread wake-up
 *   per hand-off across loops).  A newcomer takes the lock only when
 *   WAITERS is clear: nobody passes a queued waiter.
 *
 *   Default (eventual fairness, the mutex's policy; AS_RWLOCK_EVENTUAL_FAIR
 *   names it):
 *   - a head on the granting thread's own loop, a STARVING head and an
 *     upgrade are handed their share directly;
 *   - a PASSED head on another loop stops the grant: nobody wakes it again
 *     (its own loop's grants serve it, else its timer);
 *   - any other head is woken to retry: it leaves the queue in state RESUME
 *     without a share (WOKEN set, counted), and the grant goes on with the
 *     next head as if the woken one held its share (a batch of readers is
 *     woken together, a writer alone); a grant that finds WOKEN already
 *     set wakes nobody more (the waits on their way will grant again when
 *     they arrive), it only hands off directly;
 *   - while woken waits are on their way (WOKEN) or the head is PASSED
 *     (PASS), a newcomer compatible with the holders may take the lock past
 *     the queue (barging), except a reader (or upgradable reader) when the
 *     head is a writer, an upgrade or STARVING (NOBARGE: the phase rule, so
 *     a stream of readers cannot starve a writer; a PASSED writer head lets
 *     them pass for at most the bound); a newcomer writer needs a free lock,
 *     which a STARVING head or an upgrade never faces (RW8);
 *   - a woken wait arriving on its thread (rw_resume) takes its share if it
 *     is compatible with the holders (the queue does not stop it: it was
 *     ahead of it), else goes back to the front of the queue: PASSED if its
 *     loop has a timer of its own (as__pass_may), keyed AS__PASS_NS (250
 *     us) later, else STARVING.  A PASSED wait is not woken again: the busy
 *     loop that got in first runs on (each wake of a sleeping loop is a
 *     thread wake-up: waking it at every unlock hands the lock back and
 *     forth between two parallel loops every few dozen acquisitions); a
 *     grant on its own loop serves it directly; at its timer (rw_tick) it
 *     becomes STARVING and the grant runs, which hands it its share if
 *     compatible; a STARVING wait is handed its share by the first grant
 *     that finds it compatible.  So a waiter is passed over for at most
 *     AS__PASS_NS after its first failed retry (one wake-up and one retry
 *     without a timer); either way, or when it gives up (cancelled, expired,
 *     closed on its way), it runs the grant (it may have held up those
 *     behind it).
 *
 *   Upgrade: the holder of the upgradable read asks to become the writer.
 *   Its wait (RW_UPGRADE) goes to the HEAD of the queue, not the tail: it
 *   already holds the lock and waits only for the plain readers to leave;
 *   queued behind it, nothing can pass it, and WAITERS (NOBARGE) makes new
 *   readers queue, so it cannot starve.  It is never woken to retry (in
 *   both policies the grant hands it the lock directly: it holds the
 *   upgradable read, so nobody else could take the write lock anyway).  An
 *   upgrade that ends without the grant (cancel, deadline, close) leaves
 *   the holder with its upgradable read.
 *
 * Invariant RW1: WAITERS <=> queue not empty (both change under the queue
 *   lock).
 * Invariant RW2 (who writes the word): while WAITERS is set, shares are
 *   given back and the queue's bits (WAITERS, WOKEN, NOBARGE, PASS) change
 *   only under the queue lock; a lock-free path may only add a share, and
 *   only when RW9 lets it (strict: never while WAITERS is set).  So what is
 *   done under the lock is decided from one reading of the word and
 *   committed with one CAS from it (a barger that got in first makes it
 *   fail: decide again), and the queue is changed after the CAS.  The
 *   queue's bits always describe the queue as it is after that change
 *   (rw_qbits_head).
 * Invariant RW3 (exclusion): WRITER => no plain reader and not UPGRADABLE.
 *   Shares are in the word, held by callers of a successful acquire, or
 *   carried by DONE waits with status 0 (delivered to their callback, or
 *   given back by a cancel that came first: X1 in wait.c, kind->giveback).
 *   A woken (RESUME) wait carries none.
 * Invariant RW4 (FIFO, no lost wake-up): whenever the queue lock is free,
 *   the head of the queue is not compatible with the word, or WOKEN is set,
 *   or the head is PASSED (its timer will run the grant).  Every path that
 *   makes the lock more free with WAITERS set runs the grant under the
 *   lock, and so does a waiter leaving the queue without its grant, every
 *   woken wait on arrival and every PASSED wait's timer; the last of the
 *   woken waits to arrive (WOKEN cleared) therefore re-serves the head.
 * Invariant RW5 (upgrade): an upgrade wait is only ever the head of the
 *   queue, at most one, never woken, and UPGRADABLE is set while it is
 *   queued (the upgradable read cannot be unlocked meanwhile: -EBUSY).
 * Invariant RW6 (close): CLOSED is set under the queue lock, which ends
 *   every queued wait; acquisitions then fail into the slow path and are
 *   refused, so the queue stays empty; woken waits give up with -ESHUTDOWN
 *   when they arrive; unlocks and downgrade still work.
 * Invariant RW7 (woken): WOKEN <=> RW_NWOKEN > 0, the number of waits in
 *   state RESUME that left this queue; each resumes once, on its thread,
 *   under the queue lock, and decrements it.  Strict: WOKEN is never set
 *   and no wait is ever RESUME, PASSED or STARVING.
 * Invariant RW8 (the front): the queue is [an upgrade] [STARVING waits]
 *   [PASSED waits] [waits never woken], each part possibly empty; a
 *   STARVING head, like an upgrade at the head, is never compatible with
 *   the word while the queue lock is free (the grant would have handed it
 *   its share), so the word is then never free and no newcomer writer can
 *   take it.
 * Invariant RW9 (newcomers): a task that is not queued takes the lock only
 *   with a share compatible with the holders, never when CLOSED, and
 *   - strict, or WOKEN and PASS clear: only when WAITERS is clear;
 *   - WOKEN or PASS set: past the queue, except a reader or upgradable
 *     reader when NOBARGE is set (NOBARGE <=> the head is a writer, an
 *     upgrade or STARVING, and not PASSED).
 * Invariant RW10 (bounded pass): a wait is PASSED at most once, only while
 *   QUEUED, with its loop's heap keyed at most AS__PASS_NS after it was
 *   passed (or at its own deadline, if earlier); PASS <=> the head is
 *   PASSED.  Only rw_resume makes a wait PASSED (a woken wait was never
 *   PASSED: PASSED and STARVING waits are never woken), only rw_tick or the
 *   wait's leaving the queue ends it.
 *
 * Model: tests/model/rwlock.pml (RW1-RW10, exclusion, phases, upgrade,
 * cancel with re-grant, both policies: -DEVENTUAL, -DPASS; woken waits,
 * barging, PASSED and its timer, STARVING; same names) is checked
 * exhaustively with spin.
 */
#include "waitq.h"

#define RW_WRITER 1u
#define RW_UPGRADABLE 2u
#define RW_WAITERS 4u
#define RW_CLOSED 8u
#define RW_WOKEN 16u
#define RW_NOBARGE 32u
#define RW_PASS 64u
#define RW_ONE 128u
#define RW_SHIFT 7
#define RW_MAX_READERS (UINT32_MAX >> RW_SHIFT)
#define RW_QBITS (RW_WAITERS | RW_WOKEN | RW_NOBARGE | RW_PASS) /* the queue's bits */
#define RW_FLAGS (AS_RWLOCK_STRICT_FIFO | AS_RWLOCK_EVENTUAL_FAIR)

/* What a wait asks for (as_wait.as__n: kind->giveback gets it). */
enum { RW_READ = 1, RW_WRITE = 2, RW_UPREAD = 3, RW_UPGRADE = 4 };

static inline as__prim *P(as_rwlock *rw) { return (as__prim *)(void *)rw; }

/* RW7: the woken waits on their way (queue lock). */
#define RW_NWOKEN(rw) (P(rw)->aux)

AS__PRIM_LAYOUT(as_rwlock);

static const struct as__kind rwlock_kind;

static inline bool rw_valid(const as_rwlock *rw)
{
    return rw && rw->as__magic == AS__MAGIC_RWLOCK;
}

/* Strict hand-off: AS_RWLOCK_STRICT_FIFO (the default is eventual). */
static inline bool rw_strict(const as_rwlock *rw)
{
    return (as__load(&rw->as__flags, AS_RELAXED) & AS_RWLOCK_STRICT_FIFO) != 0;
}

static inline uint32_t rw_readers(uint32_t v) { return v >> RW_SHIFT; }

/* Is `mode` compatible with the holders in v (the queue aside)? */
static inline bool rw_fits(uint32_t v, unsigned mode)
{
    switch (mode) {
    case RW_READ:
        return !(v & RW_WRITER) && rw_readers(v) < RW_MAX_READERS;
    case RW_UPREAD:
        return !(v & (RW_WRITER | RW_UPGRADABLE));
    case RW_UPGRADE: /* RW5: UPGRADABLE is set, WRITER is not */
        return rw_readers(v) == 0;
    default: /* RW_WRITE */
        return !(v & (RW_WRITER | RW_UPGRADABLE)) && rw_readers(v) == 0;
    }
}

/* May a newcomer in `mode` (not an upgrade) take the lock when the word
 * reads v?  RW9. */
static inline bool rw_can_take(uint32_t v, unsigned mode)
{
    if (v & RW_CLOSED)
        return false;
    if ((v & RW_WAITERS) && (!(v & (RW_WOKEN | RW_PASS)) ||
                             (mode != RW_WRITE && (v & RW_NOBARGE))))
        return false;
    return rw_fits(v, mode);
}

/* The word after `mode` took the lock from v. */
static inline uint32_t rw_take(uint32_t v, unsigned mode)
{
    switch (mode) {
    case RW_READ: return v + RW_ONE;
    case RW_UPREAD: return v | RW_UPGRADABLE;
    case RW_UPGRADE: return (v & ~RW_UPGRADABLE) | RW_WRITER;
    default: return v | RW_WRITER;
    }
}

/* The queue's bits of the word (RW1, RW7, RW9, RW10) for a queue whose
 * head would be a wait in `mode` with `wflags` (none: queued false), with
 * `nwoken` woken waits on their way.  Strict: WAITERS only. */
static inline uint32_t rw_qbits(const as_rwlock *rw, bool queued,
                                unsigned mode, uint32_t wflags,
                                uint32_t nwoken)
{
    uint32_t b = queued ? RW_WAITERS : 0u;
    if (rw_strict(rw))
        return b;
    if (nwoken)
        b |= RW_WOKEN;
    if (queued && (wflags & AS__F_PASSED))
        b |= RW_PASS;
    else if (queued && (mode == RW_WRITE || mode == RW_UPGRADE ||
                        (wflags & AS__F_STARVING)))
        b |= RW_NOBARGE;
    return b;
}

static inline uint32_t rw_qbits_head(const as_rwlock *rw, const as_wait *h,
                                     uint32_t nwoken)
{
    return h ? rw_qbits(rw, true, h->as__n, h->as__flags, nwoken)
             : rw_qbits(rw, false, 0, 0, nwoken);
}

int as_rwlock_init(as_rwlock *rw, unsigned flags)
{
    /* one policy: strict (the default, or named) or eventual fairness */
    if (!rw || (flags & ~RW_FLAGS) || (flags & RW_FLAGS) == RW_FLAGS)
        return -EINVAL;
    as__prim_init(P(rw), AS__MAGIC_RWLOCK, 0, flags);
    return 0;
}

int as_rwlock_destroy(as_rwlock *rw)
{
    if (!rw_valid(rw))
        return -EINVAL;
    /* Held, waiters queued, or woken waits on their way (WOKEN): busy. */
    return as__prim_destroy(P(rw), ~RW_CLOSED);
}

/* Lock-free fast path: one CAS.  1 taken, 0 not now. */
static inline int rw_try(as_rwlock *rw, unsigned mode)
{
    uint32_t v = as__load(&rw->as__word, AS_RELAXED);
    while (rw_can_take(v, mode)) {
        if (as__cas(&rw->as__word, &v, rw_take(v, mode), AS_ACQUIRE,
                    AS_RELAXED)) {
            as__stat_inc(rw->as__stats.acquired);
            return 1;
        }
    }
    return 0;
}

static inline int rw_try_call(as_rwlock *rw, unsigned mode)
{
    if (!rw_valid(rw))
        return -EINVAL;
    if (rw_try(rw, mode))
        return 1;
    return (as__load(&rw->as__word, AS_RELAXED) & RW_CLOSED) ? -ESHUTDOWN : 0;
}

int as_rwlock_try_read(as_rwlock *rw) { return rw_try_call(rw, RW_READ); }
int as_rwlock_try_write(as_rwlock *rw) { return rw_try_call(rw, RW_WRITE); }
int as_rwlock_try_upgradable_read(as_rwlock *rw)
{
    return rw_try_call(rw, RW_UPREAD);
}

/* ---- the grant (RW4) ----
 *
 * rw_plan decides, from the word as it is to be (v: the holders after the
 * caller's own change) and the queue, which waits at the head are served
 * and how: each served wait is marked to be woken (AS__F_RW_WAKE) or not
 * (handed its share); it returns the word to commit (v with the shares
 * handed over and the queue's bits for what is left) and, in *served, how
 * many waits from the head are served.  It changes nothing else, so the
 * caller may plan again if its CAS fails (RW2).  rw_serve then takes the
 * served waits out of the queue, after the CAS.  Queue lock held. */
static uint32_t rw_plan(as_rwlock *rw, uint32_t v, uint32_t *served)
{
    bool strict = rw_strict(rw);
    uint32_t nwoken = RW_NWOKEN(rw), nw = 0, k = 0;
    uint32_t vv = v; /* v with the shares of the waits woken here too */
    const void *me = as__thread_token();
    as_wait *h;
    for (h = rw->as__head; h; h = h->as__next, k++) {
        unsigned mode = h->as__n;
        if (!rw_fits(vv, mode))
            break;
        if (strict || mode == RW_UPGRADE || (h->as__flags & AS__F_STARVING) ||
            as__load(&h->as__loop->as__owner, AS_RELAXED) == me) {
            h->as__flags &= ~AS__F_RW_WAKE; /* direct hand-off */
            v = rw_take(v, mode);
        } else if (h->as__flags & AS__F_PASSED) {
            break; /* RW10: its own loop or its timer serves it */
        } else {
            if (nwoken)
                break; /* woken waits are on their way already */
            h->as__flags |= AS__F_RW_WAKE;
            nw++;
        }
        vv = rw_take(vv, mode);
    }
    *served = k;
    return (v & ~RW_QBITS) | rw_qbits_head(rw, h, nwoken + nw);
}

static void rw_serve(as_rwlock *rw, uint32_t served, as__batch *done)
{
    while (served--) {
        as_wait *h = rw->as__head;
        if (h->as__flags & AS__F_RW_WAKE) {
            h->as__flags &= ~AS__F_RW_WAKE;
            RW_NWOKEN(rw)++;
            as__q_remove(P(rw), h, AS__W_RESUME, h->as__status);
            as__batch_add(done, h);
        } else {
            as__q_take(P(rw), h, 0, done);
        }
    }
}

/* Plan the grant for the word as it is (v: read by the caller under the
 * queue lock, WAITERS or WOKEN set) and commit it.  Queue lock held. */
static void rw_grant_locked(as_rwlock *rw, uint32_t v, as__batch *done)
{
    uint32_t served, nv;
    do
        nv = rw_plan(rw, v, &served);
    while (!as__cas(&rw->as__word, &v, nv, AS_ACQ_REL, AS_ACQUIRE));
    rw_serve(rw, served, done);
}

/* Queue lock held: is an upgrade queued?  (RW5: it is the head.) */
static inline bool rw_upgrade_queued(const as_rwlock *rw)
{
    return rw->as__head && rw->as__head->as__n == RW_UPGRADE;
}

/* Take the lock in `mode` for w now (1), park w (0), or refuse:
 * -ESHUTDOWN (closed), -ETIMEDOUT (must wait, deadline past), and for an
 * upgrade -EPERM (no upgradable read held) or -EBUSY (one is queued). */
static AS__NOINLINE int rw_acquire_slow(as_rwlock *rw, as_loop *loop,
                                        as_wait *w, unsigned mode,
                                        uint64_t deadline, as_callback cb,
                                        void *arg)
{
    uint32_t v;
    int r = 0;
    as__q_lock(P(rw));
    v = as__load(&rw->as__word, AS_RELAXED);
    for (;;) {
        uint32_t nv;
        if (mode == RW_UPGRADE) {
            if (!(v & RW_UPGRADABLE)) {
                r = -EPERM;
                break;
            }
            if (rw_upgrade_queued(rw)) {
                r = -EBUSY;
                break;
            }
            if (v & RW_CLOSED) {
                r = -ESHUTDOWN;
                break;
            }
            /* The holder's own: WAITERS does not stop it (RW5). */
            if (rw_readers(v) == 0) {
                if (as__cas(&rw->as__word, &v, rw_take(v, mode), AS_ACQUIRE,
                            AS_RELAXED)) {
                    r = 1;
                    break;
                }
                continue;
            }
        } else {
            if (rw_can_take(v, mode)) {
                if (as__cas(&rw->as__word, &v, rw_take(v, mode), AS_ACQUIRE,
                            AS_RELAXED)) {
                    r = 1;
                    break;
                }
                continue;
            }
            if (v & RW_CLOSED) {
                r = -ESHUTDOWN;
                break;
            }
        }
        if (as__deadline_passed(deadline)) {
            r = -ETIMEDOUT;
            break;
        }
        /* add_waiter_if: park only while the word still says "wait".  The
         * queue's bits for the queue with w in it (an upgrade and a wait
         * joining an empty queue become its head). */
        nv = (v & ~RW_QBITS) |
             (mode == RW_UPGRADE || !rw->as__head
                  ? rw_qbits(rw, true, mode, 0, RW_NWOKEN(rw))
                  : rw_qbits_head(rw, rw->as__head, RW_NWOKEN(rw)));
        if (nv == v ||
            as__cas(&rw->as__word, &v, nv, AS_RELAXED, AS_RELAXED))
            break;
    }
    if (r != 0) {
        if (r == 1)
            as__stat_inc(rw->as__stats.acquired);
        as__q_unlock(P(rw));
        return r;
    }
    as__wait_prepare(w, loop, &rwlock_kind, cb, arg, rw);
    w->as__n = mode;
    if (mode == RW_UPGRADE)
        as__q_push_head(P(rw), w); /* RW5 */
    else
        as__q_push_tail(P(rw), w);
    as__q_unlock(P(rw));
    as__wait_parked(w, deadline);
    return 0;
}

/* try_upgrade's and upgrade's fast path: one CAS while nobody is queued.
 * 1 upgraded, 0 not here (slow path). */
static inline int rw_try_upgrade_fast(as_rwlock *rw)
{
    uint32_t v = as__load(&rw->as__word, AS_RELAXED);
    while ((v & (RW_UPGRADABLE | RW_WAITERS | RW_CLOSED)) == RW_UPGRADABLE &&
           rw_readers(v) == 0) {
        if (as__cas(&rw->as__word, &v, rw_take(v, RW_UPGRADE), AS_ACQUIRE,
                    AS_RELAXED)) {
            as__stat_inc(rw->as__stats.acquired);
            return 1;
        }
    }
    return 0;
}

static inline int rw_fast(as_rwlock *rw, unsigned mode)
{
    return mode == RW_UPGRADE ? rw_try_upgrade_fast(rw) : rw_try(rw, mode);
}

static inline int rw_acquire(as_rwlock *rw, as_loop *loop, as_wait *w,
                             unsigned mode, uint64_t deadline, as_callback cb,
                             void *arg)
{
    int r;
    if (!rw_valid(rw) || as__deadline_check(deadline) < 0)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    r = rw_fast(rw, mode) ? 1
                          : rw_acquire_slow(rw, loop, w, mode, deadline, cb, arg);
    if (r == 1 && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &rwlock_kind, cb, arg, rw, mode, 0);
    return r;
}

int as_rwlock_read_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                         as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_READ, AS_NO_DEADLINE, cb, arg);
}

int as_rwlock_read_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                         uint64_t deadline_ns, as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_READ, deadline_ns, cb, arg);
}

int as_rwlock_write_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                          as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_WRITE, AS_NO_DEADLINE, cb, arg);
}

int as_rwlock_write_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                          uint64_t deadline_ns, as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_WRITE, deadline_ns, cb, arg);
}

int as_rwlock_upgradable_read_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                                    as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_UPREAD, AS_NO_DEADLINE, cb, arg);
}

int as_rwlock_upgradable_read_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                                    uint64_t deadline_ns, as_callback cb,
                                    void *arg)
{
    return rw_acquire(rw, loop, w, RW_UPREAD, deadline_ns, cb, arg);
}

int as_rwlock_upgrade_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                            as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_UPGRADE, AS_NO_DEADLINE, cb, arg);
}

int as_rwlock_upgrade_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                            uint64_t deadline_ns, as_callback cb, void *arg)
{
    return rw_acquire(rw, loop, w, RW_UPGRADE, deadline_ns, cb, arg);
}

static int rw_blocking(as_rwlock *rw, unsigned mode, uint64_t deadline_ns)
{
    as_loop tl;
    as_wait w;
    if (!rw_valid(rw) || as__deadline_check(deadline_ns) < 0)
        return -EINVAL;
    if (rw_fast(rw, mode))
        return 0;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, rw_acquire_slow(rw, &tl, &w, mode, deadline_ns, as__block_cb, NULL),
        deadline_ns);
}

int as_rwlock_read_blocking(as_rwlock *rw, uint64_t deadline_ns)
{
    return rw_blocking(rw, RW_READ, deadline_ns);
}

int as_rwlock_write_blocking(as_rwlock *rw, uint64_t deadline_ns)
{
    return rw_blocking(rw, RW_WRITE, deadline_ns);
}

int as_rwlock_upgradable_read_blocking(as_rwlock *rw, uint64_t deadline_ns)
{
    return rw_blocking(rw, RW_UPREAD, deadline_ns);
}

int as_rwlock_upgrade_blocking(as_rwlock *rw, uint64_t deadline_ns)
{
    return rw_blocking(rw, RW_UPGRADE, deadline_ns);
}

int as_rwlock_try_upgrade(as_rwlock *rw)
{
    uint32_t v;
    int r;
    if (!rw_valid(rw))
        return -EINVAL;
    if (rw_try_upgrade_fast(rw))
        return 1;
    as__q_lock(P(rw));
    v = as__load(&rw->as__word, AS_RELAXED);
    for (;;) {
        if (!(v & RW_UPGRADABLE)) {
            r = -EPERM;
            break;
        }
        if (v & RW_CLOSED) {
            r = -ESHUTDOWN;
            break;
        }
        if (rw_readers(v) != 0 || rw_upgrade_queued(rw)) {
            r = 0;
            break;
        }
        /* WAITERS may be clear: lock-free unlocks may race, hence a CAS. */
        if (as__cas(&rw->as__word, &v, rw_take(v, RW_UPGRADE), AS_ACQUIRE,
                    AS_RELAXED)) {
            r = 1;
            break;
        }
    }
    as__q_unlock(P(rw));
    return r;
}


/* ---- giving back ----
 *
 * Each unlock: `held` says whether the word shows the share it gives back
 * (else -EPERM), `next` is the word without it.  Lock-free while WAITERS is
 * clear (one CAS; WOKEN stays); otherwise under the queue lock, where it
 * also runs the grant (RW4), all in one CAS (RW2). */

typedef enum { U_READ, U_WRITE, U_UPREAD, U_DOWNGRADE, U_WRITE_TO_UPREAD } rw_unlock_op;

static inline bool rw_held(uint32_t v, rw_unlock_op op)
{
    switch (op) {
    case U_READ: return rw_readers(v) != 0;
    case U_UPREAD: return (v & RW_UPGRADABLE) != 0;
    default: return (v & RW_WRITER) != 0;
    }
}

static inline uint32_t rw_next(uint32_t v, rw_unlock_op op)
{
    switch (op) {
    case U_READ: return v - RW_ONE;
    case U_UPREAD: return v & ~RW_UPGRADABLE;
    case U_WRITE: return v & ~RW_WRITER;
    case U_DOWNGRADE: return (v & ~RW_WRITER) + RW_ONE;
    default: return (v & ~RW_WRITER) | RW_UPGRADABLE; /* U_WRITE_TO_UPREAD */
    }
}

static int rw_unlock(as_rwlock *rw, rw_unlock_op op)
{
    as__batch done = {NULL, NULL};
    uint32_t v, nv, served;
    if (!rw_valid(rw))
        return -EINVAL;
    v = as__load(&rw->as__word, AS_RELAXED);
    for (;;) {
        while (!(v & RW_WAITERS)) {
            if (!rw_held(v, op))
                return -EPERM;
            /* A downgrade acquires a read share: it must see what earlier
             * readers saw, which the writer's acquire already did. */
            if (as__cas(&rw->as__word, &v, rw_next(v, op), AS_RELEASE,
                        AS_RELAXED))
                return 0;
        }
        as__q_lock(P(rw));
        v = as__load(&rw->as__word, AS_ACQUIRE);
        if (v & RW_WAITERS)
            break;
        as__q_unlock(P(rw)); /* the waiters left meanwhile: fast path again */
    }
    if (op == U_UPREAD && rw_upgrade_queued(rw)) {
        as__q_unlock(P(rw)); /* RW5: cancel the upgrade first */
        return -EBUSY;
    }
    /* WAITERS stays set while we hold the queue lock (RW1); bargers may
     * add shares meanwhile (RW2): decide again from what the CAS read. */
    do {
        if (!rw_held(v, op)) {
            as__q_unlock(P(rw));
            return -EPERM;
        }
        nv = rw_plan(rw, rw_next(v, op), &served);
    } while (!as__cas(&rw->as__word, &v, nv, AS_ACQ_REL, AS_ACQUIRE));
    rw_serve(rw, served, &done);
    as__q_unlock(P(rw));
    as__batch_finish(&done);
    return 0;
}

int as_rwlock_read_unlock(as_rwlock *rw) { return rw_unlock(rw, U_READ); }
int as_rwlock_write_unlock(as_rwlock *rw) { return rw_unlock(rw, U_WRITE); }
int as_rwlock_upgradable_read_unlock(as_rwlock *rw)
{
    return rw_unlock(rw, U_UPREAD);
}
int as_rwlock_downgrade(as_rwlock *rw) { return rw_unlock(rw, U_DOWNGRADE); }

int as_rwlock_close(as_rwlock *rw)
{
    as__batch done = {NULL, NULL};
    as_wait *h;
    if (!rw_valid(rw))
        return -EINVAL;
    as__q_lock(P(rw));
    if (as__prim_close_locked(P(rw))) {
        AS_PROBE2(close, rw, "rwlock");
        /* RMWs: lock-free unlocks and bargers may race. */
        as__fetch_or(&rw->as__word, RW_CLOSED, AS_RELAXED);
        while ((h = rw->as__head) != NULL)
            as__q_take(P(rw), h, -ESHUTDOWN, &done);
        /* RW6: woken waits (WOKEN) give up when they arrive. */
        as__fetch_and(&rw->as__word, ~(RW_WAITERS | RW_NOBARGE | RW_PASS),
                      AS_RELEASE);
    }
    as__q_unlock(P(rw));
    as__batch_finish(&done);
    return 0;
}

AS__PRIM_OBSERVERS(rwlock, as_rwlock, rw_valid)

/* ---- woken and passed waits (the default policy) ---- */

/* RW8: where a wait goes back to (or moves to) at the front: before the
 * first wait that is neither an upgrade nor has one of the flags `skip`
 * (the STARVING waits; and the PASSED ones for a wait that becomes PASSED),
 * not counting `self`.  NULL: at the tail.  Queue lock held. */
static as_wait *rw_front_pos(const as_rwlock *rw, uint32_t skip,
                             const as_wait *self)
{
    as_wait *pos = rw->as__head;
    while (pos && (pos == self || pos->as__n == RW_UPGRADE ||
                   (pos->as__flags & skip)))
        pos = pos->as__next;
    return pos;
}

/* kind->resume: a wait woken to retry arrived on its thread.  It takes its
 * share if compatible with the holders, else goes back to the front PASSED
 * (RW10) or STARVING, or gives up (cancelled or expired on its way, or
 * closed); then the grant (RW4, RW7), all in one CAS (RW2). */
static void rw_resume(as_wait *w)
{
    as_rwlock *rw = (as_rwlock *)as__load(&w->as__obj, AS_RELAXED);
    as__batch done = {NULL, NULL};
    unsigned mode = w->as__n;
    uint32_t v, nv, served = 0, wflags, qb;
    int give_up = 0;
    bool take = false, pass;
    as_wait *pos;
    as__q_lock(P(rw));
    /* RESUME changes only under this lock: the state and flags are stable;
     * so is CLOSED (set under it). */
    RW_NWOKEN(rw)--;
    v = as__load(&rw->as__word, AS_RELAXED);
    if (w->as__flags & AS__F_GIVE_UP)
        give_up = w->as__status; /* cancelled or expired on its way */
    else if (v & RW_CLOSED)
        give_up = -ESHUTDOWN;
    /* If it must wait again: PASSED if its loop has a timer (a woken wait
     * was never PASSED nor STARVING: RW10), else STARVING; where it goes
     * (RW8), and so the queue's bits then, do not depend on the word. */
    pass = as__pass_may(w);
    wflags = pass ? AS__F_PASSED : AS__F_STARVING;
    pos = rw_front_pos(rw, pass ? AS__F_STARVING | AS__F_PASSED : AS__F_STARVING,
                       NULL);
    qb = pos == rw->as__head ? rw_qbits(rw, true, mode, wflags, RW_NWOKEN(rw))
                             : rw_qbits_head(rw, rw->as__head, RW_NWOKEN(rw));
    for (;;) {
        if (give_up) {
            nv = rw_plan(rw, v, &served);
        } else if ((take = rw_fits(v, mode))) {
            nv = rw_plan(rw, rw_take(v, mode), &served);
        } else {
            /* Someone got in first (or the readers are at their maximum):
             * back to the front; no grant: the head it leaves is not
             * compatible (w itself, a STARVING one or an upgrade: RW8) or
             * is PASSED (RW4). */
            served = 0;
            nv = (v & ~RW_QBITS) | qb;
        }
        if (as__cas(&rw->as__word, &v, nv, AS_ACQ_REL, AS_ACQUIRE))
            break;
    }
    if (give_up || take) {
        as__q_decide(P(rw), w, take ? 0 : give_up);
        as__batch_add(&done, w);
    } else {
        w->as__flags |= wflags;
        as__q_insert_before(P(rw), pos, w);
    }
    rw_serve(rw, served, &done);
    as__q_unlock(P(rw));
    if (!give_up && !take && pass) /* this thread's heap: keyed before its
                                      loop runs again */
        as__timer_rekey(w, as_now_ns() + AS__PASS_NS);
    as__batch_finish(&done);
}

/* kind->tick (RW10): its own deadline expires it; a PASSED wait's timer
 * makes it STARVING, behind the STARVING waits (RW8), and runs the grant,
 * which hands it its share if it is compatible. */
static bool rw_tick(as_wait *w, uint64_t now)
{
    as_rwlock *rw = (as_rwlock *)as__load(&w->as__obj, AS_RELAXED);
    as__batch done = {NULL, NULL};
    if (now >= as__load(&w->as__until, AS_RELAXED)) {
        as__wait_expire(w);
        return true;
    }
    as__q_lock(P(rw));
    /* PASSED changes only under this lock, and only a QUEUED wait has it */
    if ((w->as__flags & AS__F_PASSED) &&
        as__wait_base(as__load(&w->as__state, AS_ACQUIRE)) == AS__W_QUEUED) {
        as_wait *pos = rw_front_pos(rw, AS__F_STARVING, w);
        w->as__flags = (w->as__flags & ~AS__F_PASSED) | AS__F_STARVING;
        if (pos != w->as__next)
            as__q_move_before(P(rw), pos, w);
        rw_grant_locked(rw, as__load(&rw->as__word, AS_RELAXED), &done);
    }
    as__q_unlock(P(rw));
    as__timer_rekey(w, AS_NO_DEADLINE); /* its own deadline, if any */
    as__batch_finish(&done);
    return false;
}

/* ---- the kind table ---- */

/* RW4: the wait that left may have held up those behind it. */
static void rw_regrant(as__prim *p, as__batch *done)
{
    as_rwlock *rw = (as_rwlock *)(void *)p;
    rw_grant_locked(rw, as__load(&rw->as__word, AS_RELAXED), done);
}

static int rw_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &rwlock_kind, rw_regrant);
}

/* A grant decided but cancelled before its callback: give it back.  A
 * granted upgrade goes back to the upgradable read the holder had. */
static void rw_giveback(void *home, uint32_t n, uint32_t flags)
{
    static const rw_unlock_op op[] = {
        [RW_READ] = U_READ,
        [RW_WRITE] = U_WRITE,
        [RW_UPREAD] = U_UPREAD,
        [RW_UPGRADE] = U_WRITE_TO_UPREAD,
    };
    (void)flags;
    if (n >= RW_READ && n <= RW_UPGRADE)
        (void)rw_unlock(home, op[n]);
}

static const struct as__kind rwlock_kind = {
    .name = "rwlock",
    .cancel = rw_cancel,
    .resume = rw_resume,
    .giveback = rw_giveback,
    .tick = rw_tick,
};
