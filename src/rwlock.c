/* Read-write lock: fair by phases, with upgradable reads.
 *
 * STATE WORD   WRITER (1): held by a writer.
 *              UPGRADABLE (2): held by the (one) upgradable reader.
 *              WAITERS (4): the queue is not empty.
 *              CLOSED (8): as_rwlock_close ran: acquisitions are refused.
 *              bits 4..31 (READERS, unit RW_ONE): plain readers holding it
 *              (the upgradable reader is not counted there).
 *
 * POLICY (strict FIFO, direct hand-off)
 *   Waiters queue in arrival order; one FIFO holds readers, writers and
 *   upgradable readers (as__n of a wait says which: RW_READ...).  A
 *   newcomer takes the lock only when WAITERS is clear, so nobody passes a
 *   queued waiter: a reader arriving after a queued writer waits behind it.
 *   Whenever the lock changes (an unlock, a downgrade, a waiter that gave
 *   up) the grant (rw_grant_locked) serves the queue from its head while
 *   the head is compatible with the holders: consecutive readers (and an
 *   upgradable reader among them) are admitted together, a writer only to a
 *   free lock; the first incompatible head stops it.  Granted waits leave
 *   the queue owning their share (as the semaphore's permits), so a
 *   cross-loop hand-off keeps the lock held while the waiter's loop wakes.
 *
 *   Upgrade: the holder of the upgradable read asks to become the writer.
 *   Its wait (RW_UPGRADE) goes to the HEAD of the queue, not the tail: it
 *   already holds the lock and waits only for the plain readers to leave;
 *   queued behind it, nothing can pass it, and WAITERS makes new readers
 *   queue, so it cannot starve.  An upgrade that ends without the grant
 *   (cancel, deadline, close) leaves the holder with its upgradable read.
 *
 * Invariant RW1: WAITERS <=> queue not empty (both change under the queue
 *   lock).
 * Invariant RW2 (single writer): while WAITERS is set, only the holder of
 *   the queue lock writes the word; every lock-free path CASes from a value
 *   without WAITERS, and so fails into the slow path.
 * Invariant RW3 (exclusion): WRITER => no plain reader and not UPGRADABLE.
 *   Shares are in the word, held by callers of a successful acquire, or
 *   carried by DONE waits with status 0 (delivered to their callback, or
 *   given back by a cancel that came first: X1 in wait.c, kind->giveback).
 * Invariant RW4 (FIFO, no lost wake-up): whenever the queue lock is free,
 *   the head of the queue is not compatible with the word (else the grant
 *   would have admitted it).  Every path that makes the lock more free
 *   with WAITERS set runs the grant under the lock, and so does a waiter
 *   leaving the queue without its grant (it may have held up those behind
 *   it).
 * Invariant RW5 (upgrade): an upgrade wait is only ever the head of the
 *   queue, at most one, and UPGRADABLE is set while it is queued (the
 *   upgradable read cannot be unlocked meanwhile: -EBUSY).
 * Invariant RW6 (close): CLOSED is set under the queue lock, which ends
 *   every queued wait; acquisitions then fail into the slow path and are
 *   refused, so the queue stays empty; unlocks and downgrade still work.
 *
 * Model: tests/model/rwlock.pml (RW1-RW5, exclusion, phases, upgrade,
 * cancel with re-grant; same names) is checked exhaustively with spin.
 */
#include "waitq.h"

#define RW_WRITER 1u
#define RW_UPGRADABLE 2u
#define RW_WAITERS 4u
#define RW_CLOSED 8u
#define RW_ONE 16u
#define RW_SHIFT 4
#define RW_MAX_READERS (UINT32_MAX >> RW_SHIFT)

/* What a wait asks for (as_wait.as__n: kind->giveback gets it). */
enum { RW_READ = 1, RW_WRITE = 2, RW_UPREAD = 3, RW_UPGRADE = 4 };

static inline as__prim *P(as_rwlock *rw) { return (as__prim *)(void *)rw; }

AS__PRIM_LAYOUT(as_rwlock);

static const struct as__kind rwlock_kind;

static inline bool rw_valid(const as_rwlock *rw)
{
    return rw && rw->as__magic == AS__MAGIC_RWLOCK;
}

static inline uint32_t rw_readers(uint32_t v) { return v >> RW_SHIFT; }

/* May a newcomer in `mode` (not an upgrade) take the lock when the word
 * reads v?  Never past a queued waiter, never when closed. */
static inline bool rw_can_take(uint32_t v, unsigned mode)
{
    if (v & (RW_WAITERS | RW_CLOSED | RW_WRITER))
        return false;
    switch (mode) {
    case RW_READ: return rw_readers(v) < RW_MAX_READERS;
    case RW_UPREAD: return !(v & RW_UPGRADABLE);
    default: return v == 0; /* RW_WRITE */
    }
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

int as_rwlock_init(as_rwlock *rw, unsigned flags)
{
    if (!rw || flags != 0)
        return -EINVAL;
    as__prim_init(P(rw), AS__MAGIC_RWLOCK, 0, 0);
    return 0;
}

int as_rwlock_destroy(as_rwlock *rw)
{
    if (!rw_valid(rw))
        return -EINVAL;
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

/* Serve the queue from its head while the head is compatible with the
 * holders (RW4), then store the word (RW1).  Queue lock held, WAITERS set
 * in the word (RW2: we are its only writer); v is the word as it is to be
 * now, before the grant. */
static void rw_grant_locked(as_rwlock *rw, uint32_t v, as__batch *done)
{
    as_wait *h;
    while ((h = rw->as__head) != NULL) {
        unsigned mode = h->as__n;
        bool ok;
        switch (mode) {
        case RW_READ:
            ok = !(v & RW_WRITER) && rw_readers(v) < RW_MAX_READERS;
            break;
        case RW_UPREAD:
            ok = !(v & (RW_WRITER | RW_UPGRADABLE));
            break;
        case RW_UPGRADE: /* RW5: UPGRADABLE is set, WRITER is not */
            ok = rw_readers(v) == 0;
            break;
        default: /* RW_WRITE */
            ok = !(v & (RW_WRITER | RW_UPGRADABLE)) && rw_readers(v) == 0;
            break;
        }
        if (!ok)
            break;
        v = rw_take(v, mode);
        as__q_take(P(rw), h, 0, done);
    }
    v = rw->as__head ? (v | RW_WAITERS) : (v & ~RW_WAITERS);
    as__store(&rw->as__word, v, AS_RELEASE);
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
        /* add_waiter_if: park only while the word still says "wait". */
        if ((v & RW_WAITERS) ||
            as__cas(&rw->as__word, &v, v | RW_WAITERS, AS_RELAXED, AS_RELAXED))
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
 * clear (one CAS); otherwise under the queue lock, where it also runs the
 * grant (RW4). */

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
    uint32_t v;
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
    if (!rw_held(v, op)) {
        as__q_unlock(P(rw));
        return -EPERM;
    }
    if (op == U_UPREAD && rw_upgrade_queued(rw)) {
        as__q_unlock(P(rw)); /* RW5: cancel the upgrade first */
        return -EBUSY;
    }
    rw_grant_locked(rw, rw_next(v, op), &done);
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
        /* RMWs: lock-free unlocks may race while WAITERS is clear. */
        as__fetch_or(&rw->as__word, RW_CLOSED, AS_RELAXED);
        while ((h = rw->as__head) != NULL)
            as__q_take(P(rw), h, -ESHUTDOWN, &done);
        as__fetch_and(&rw->as__word, ~RW_WAITERS, AS_RELEASE);
    }
    as__q_unlock(P(rw));
    as__batch_finish(&done);
    return 0;
}

AS__PRIM_OBSERVERS(rwlock, as_rwlock, rw_valid)

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
    .resume = NULL,
    .giveback = rw_giveback,
};
