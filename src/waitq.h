/* The waiter queue every primitive parks its waits in.
 *
 * One intrusive doubly linked FIFO of as_wait per primitive, guarded by a
 * one-word lock in the primitive (as__prim.lock).  The queue is off the fast
 * path: a primitive's uncontended acquire and release are one CAS on its state
 * word and never touch it.  The lock is held only for O(1) list surgery and the
 * matching state-word update; never across a callback, a system call or a
 * call into a backend (waits leave the queue with their outcome decided and
 * are finished after the lock is dropped).
 *
 * The "park only if the word still says so" rule of FUTEX_WAIT
 * (add_waiter_if) is kept in user space: a primitive sets its WAITERS bit with
 * a CAS from the value it observed while holding the queue lock, so a release
 * that races with the park either sees the bit (and takes the slow path, which
 * serialises on the lock) or changes the word first (the CAS fails and the
 * parker re-examines the word instead of sleeping).  This is what rules out a
 * lost wake-up.
 *
 * Invariant Q1: a wait is in the queue iff its state is QUEUED (with or
 * without the CANCEL bit) and its as__obj is this primitive; both change only
 * under the queue lock.  nwait counts the queue (a snapshot for readers).
 *
 * Invariant W1: the CANCEL bit of a wait's state, once set, survives every
 * later store of the state until the callback (pushes CAS it along,
 * removals carry it), so a cancel that returned 0 always ends in
 * -ECANCELED.
 *
 * A condvar waiter moves from the condvar's queue to its mutex's queue on the
 * signalling thread while its loop thread may be cancelling it, so (obj,
 * state) is read without the new queue's lock.  A push stores obj first and
 * publishes state = QUEUED with release; readers load state (acquire) first
 * and obj second.  So a reader that sees the QUEUED of a push also sees that
 * push's obj: it cannot pair an old obj with a newer QUEUED and unlink the
 * wait from a queue it has left (found by tests/stress, strict mode).
 * tests/model/sem.pml and mutex.pml check Q1.
 */
#ifndef AS_WAITQ_H
#define AS_WAITQ_H

#include "internal.h"
#include "probes.h"

void as__q_lock_slow(as__prim *p);

static inline void as__q_lock(as__prim *p)
{
    if (as__likely(as__xchg(&p->lock, 1u, AS_ACQUIRE) == 0))
        return;
    as__q_lock_slow(p);
}

static inline void as__q_unlock(as__prim *p)
{
    as__store(&p->lock, 0u, AS_RELEASE);
}

static inline bool as__q_empty(const as__prim *p) { return p->head == NULL; }

static inline void as__q_count(as__prim *p, int delta)
{
    /* release: what made the wait queued (the primitive's WAITERS bit) is
     * visible to a reader of the count (acquire) */
    as__store(&p->nwait, as__load(&p->nwait, AS_RELAXED) + (uint32_t)delta,
              AS_RELEASE);
}

/* Mark w QUEUED in p (obj first, Q1), keeping its CANCEL bit (W1).  A wait
 * coming from DONE (a condvar waiter moving to its mutex's queue) can have
 * that bit set by a concurrent as_cancel, hence the CAS. */
static inline void as__q_mark_queued(as__prim *p, as_wait *w)
{
    uint32_t s = as__load(&w->as__state, AS_RELAXED);
    as__store(&w->as__obj, (void *)p, AS_RELAXED);
    while (!as__cas(&w->as__state, &s,
                    AS__W_QUEUED | (as__wait_busy(s) ? s & AS__W_CANCEL : 0u),
                    AS_RELEASE, AS_RELAXED))
        ;
}

/* A wait joins the queue (not a re-queue after a retry): counters, probe,
 * and the time it queued (a condvar waiter moving to its mutex keeps its
 * first one). */
static inline void as__q_count_park(as__prim *p, as_wait *w)
{
    uint32_t n = as__load(&p->nwait, AS_RELAXED);
    as__stat_inc(p->stats.contended);
    if (n > as__load(&p->stats.max_waiters, AS_RELAXED))
        as__store(&p->stats.max_waiters, n, AS_RELAXED);
    if (!as__wait_busy(as__load(&w->as__state, AS_RELAXED)))
        w->as__since = as__now_coarse_ns();
    AS_PROBE3(park, p, w, w->as__kind->name);
}

/* The list operations under the queue, nothing else: link w in front of
 * `pos` (a wait in p; NULL: at the tail), and unlink w. */
static inline void as__q_link_before(as__prim *p, as_wait *pos, as_wait *w)
{
    w->as__next = pos;
    w->as__prev = pos ? pos->as__prev : p->tail;
    if (w->as__prev)
        w->as__prev->as__next = w;
    else
        p->head = w;
    if (pos)
        pos->as__prev = w;
    else
        p->tail = w;
}

static inline void as__q_unlink(as__prim *p, as_wait *w)
{
    if (w->as__prev)
        w->as__prev->as__next = w->as__next;
    else
        p->head = w->as__next;
    if (w->as__next)
        w->as__next->as__prev = w->as__prev;
    else
        p->tail = w->as__prev;
    w->as__next = w->as__prev = NULL;
}

static inline void as__q_push_tail(as__prim *p, as_wait *w)
{
    as__q_link_before(p, NULL, w);
    as__q_count(p, 1);
    as__q_count_park(p, w);
    as__q_mark_queued(p, w);
}

/* Queue w again in front of `pos` (a wait in p; NULL: at the tail): a wait
 * woken to retry that must wait again.  No counters of a first park. */
static inline void as__q_insert_before(as__prim *p, as_wait *pos, as_wait *w)
{
    as__q_link_before(p, pos, w);
    as__q_count(p, 1);
    as__q_mark_queued(p, w);
}

static inline void as__q_push_head(as__prim *p, as_wait *w)
{
    as__q_insert_before(p, p->head, w);
}

/* Move w (QUEUED in p) in front of `pos` (a wait in p other than w; NULL:
 * to the tail).  Its state and the counters do not change. */
static inline void as__q_move_before(as__prim *p, as_wait *pos, as_wait *w)
{
    if (w->as__next == pos)
        return;
    as__q_unlink(p, w);
    as__q_link_before(p, pos, w);
}

/* A wait's outcome in p, decided: the counters and the done probe.  Every
 * wait that queued in p passes here exactly once (from as__q_remove, or from
 * as__q_decide for a wait woken to retry); a granted wait of another
 * thread's loop is a hand-off. */
static inline void as__q_count_done(as__prim *p, as_wait *w, int status)
{
    if (status == 0 || w->as__home != (void *)p) {
        as__stat_inc(p->stats.acquired);
        if (as__load(&w->as__loop->as__owner, AS_RELAXED) != as__thread_token()) {
            as__stat_inc(p->stats.handoffs);
            AS_PROBE3(handoff, p, w, w->as__loop);
        }
    } else if (status == -ECANCELED) {
        as__stat_inc(p->stats.cancelled);
    } else if (status == -ETIMEDOUT) {
        as__stat_inc(p->stats.timed_out);
    } else if (status == -ESHUTDOWN) {
        as__stat_inc(p->stats.shut_down);
    }
    AS_PROBE4(done, p, w, w->as__kind->name, status);
}

/* Unlink w (QUEUED in p), decide its status and mark it `state` (DONE or
 * RESUME), keeping its CANCEL bit (nobody else writes a QUEUED state: it
 * is stable under the lock).  The release store publishes the status. */
static inline void as__q_remove(as__prim *p, as_wait *w, uint32_t state,
                                int status)
{
    uint32_t old = as__load(&w->as__state, AS_RELAXED);
    as__q_unlink(p, w);
    as__q_count(p, -1);
    w->as__status = status;
    if (state == AS__W_DONE)
        as__q_count_done(p, w, status);
    as__store(&w->as__state, state | (old & AS__W_CANCEL), AS_RELEASE);
}

/* A wait woken to retry (RESUME, out of the queue), arrived on its thread,
 * is decided: `status` (0 granted, or why it gave up), counted once, DONE
 * keeping its CANCEL bit.  A wait cancelled on its way carries the CANCEL
 * bit, and the loop counts that cancel when it runs the callback (X1, as
 * for a wait cancelled after its grant): only the probe here.  Queue lock
 * held: a RESUME state changes only under it. */
static inline void as__q_decide(as__prim *p, as_wait *w, int status)
{
    uint32_t old = as__load(&w->as__state, AS_RELAXED);
    w->as__status = status;
    if (status == -ECANCELED && (old & AS__W_CANCEL))
        AS_PROBE4(done, p, w, w->as__kind->name, status);
    else
        as__q_count_done(p, w, status);
    as__store(&w->as__state, AS__W_DONE | (old & AS__W_CANCEL), AS_RELEASE);
}

/* A list of finished waits collected under the lock, finished after it. */
typedef struct as__batch {
    as_wait *head, *tail;
} as__batch;

static inline void as__batch_add(as__batch *b, as_wait *w)
{
    w->as__link = NULL;
    if (b->tail)
        b->tail->as__link = w;
    else
        b->head = w;
    b->tail = w;
}

/* Remove w from p with `status` and collect it (DONE). */
static inline void as__q_take(as__prim *p, as_wait *w, int status,
                              as__batch *b)
{
    as__q_remove(p, w, AS__W_DONE, status);
    as__batch_add(b, w);
}

/* Shared by the primitives' init and destroy.  init never looks at the
 * memory (OWNERSHIP in asyncsync.h).  destroy: -EBUSY (nothing changed)
 * while waiters are queued or `busy_bits` of the word are set, else 0 and
 * the object is no longer initialised. */
void as__prim_init(as__prim *p, uint32_t magic, uint32_t word, uint32_t flags);
int as__prim_destroy(as__prim *p, uint32_t busy_bits);

/* Finish every wait in the batch (call with no lock held). */
void as__batch_finish(as__batch *b);

/* Lock the queue a busy wait is in (QUEUED) or was woken from (RESUME), as
 * of now.  Returns the locked primitive and the state read under its lock
 * (in *state), or NULL (no lock held) when the wait's outcome is decided
 * (DONE or IDLE).  Any thread. */
as__prim *as__q_lock_wait(as_wait *w, uint32_t *state);

/* The observing calls every primitive exports (as_X_waiters, as_X_stats,
 * as_X_dump), for primitive X of type T whose validity check is VALID. */
#define AS__PRIM_OBSERVERS(X, T, VALID)                                       \
    int64_t as_##X##_waiters(const T *p)                                      \
    {                                                                         \
        if (!VALID(p))                                                        \
            return -EINVAL;                                                   \
        return (int64_t)as__load(&p->as__nwait, AS_ACQUIRE);                  \
    }                                                                         \
    int as_##X##_stats(const T *p, as_counters *out)                          \
    {                                                                         \
        if (!VALID(p))                                                        \
            return -EINVAL;                                                   \
        return as__prim_stats((const as__prim *)(const void *)p, out);        \
    }                                                                         \
    int64_t as_##X##_dump(const T *p, as_waiter_info *out, size_t max)        \
    {                                                                         \
        if (!VALID(p))                                                        \
            return -EINVAL;                                                   \
        return as__prim_dump((const as__prim *)(const void *)p, out, max);    \
    }

/* Is the primitive closed?  (Under its queue lock, or as a hint.) */
static inline bool as__prim_closed(const as__prim *p)
{
    return (as__load(&p->flags, AS_RELAXED) & AS__P_CLOSED) != 0;
}

/* Mark the primitive closed (queue lock held).  false if it already was. */
static inline bool as__prim_close_locked(as__prim *p)
{
    if (as__prim_closed(p))
        return false;
    as__fetch_or(&p->flags, AS__P_CLOSED, AS_RELAXED);
    return true;
}

/* The standard kind->cancel for a wait queued in its own primitive:
 * unlinks it with `status` if it is still QUEUED in p, then calls
 * fixup(p, batch) under the lock (to clear WAITERS, re-serve...), and
 * finishes what was collected.  Returns 0, or -ENOENT (decided).  `p` was
 * locked by as__q_lock_wait, which also gave `state`. */
typedef void (*as__fixup_fn)(as__prim *p, as__batch *b);
int as__q_cancel_locked(as__prim *p, as_wait *w, uint32_t state, int status,
                        as__fixup_fn fixup);
/* The same, locking the queue itself: a whole kind->cancel for a
 * primitive whose waits only ever queue in their own primitive. */
int as__q_cancel(as_wait *w, int status, const struct as__kind *kind,
                 as__fixup_fn fixup);

#endif
