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
 * Invariant Q1: a wait is in the queue iff its state is QUEUED and its
 * as__obj is this primitive; both change only under the queue lock.
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

static inline void as__q_push_tail(as__prim *p, as_wait *w)
{
    w->as__next = NULL;
    w->as__prev = p->tail;
    if (p->tail)
        p->tail->as__next = w;
    else
        p->head = w;
    p->tail = w;
    as__store(&w->as__obj, (void *)p, AS_RELAXED);
    as__store(&w->as__state, AS__W_QUEUED, AS_RELEASE); /* Q1: after obj */
}

static inline void as__q_push_head(as__prim *p, as_wait *w)
{
    w->as__prev = NULL;
    w->as__next = p->head;
    if (p->head)
        p->head->as__prev = w;
    else
        p->tail = w;
    p->head = w;
    as__store(&w->as__obj, (void *)p, AS_RELAXED);
    as__store(&w->as__state, AS__W_QUEUED, AS_RELEASE); /* Q1: after obj */
}

/* Unlink w (QUEUED in p) and mark it `state` (DONE or RESUME). */
static inline void as__q_remove(as__prim *p, as_wait *w, uint32_t state)
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
    as__store(&w->as__state, state, AS_RELAXED);
}

/* A list of finished waits collected under the lock, finished after it. */
typedef struct as__batch {
    as_wait *head, *tail;
} as__batch;

static inline void as__batch_add(as__batch *b, as_wait *w, int status)
{
    w->as__status = status;
    w->as__link = NULL;
    if (b->tail)
        b->tail->as__link = w;
    else
        b->head = w;
    b->tail = w;
}

/* Shared by the four primitives' init and destroy.  init: -EBUSY when the
 * object already carries `magic` (double init), else 0.  destroy: -EBUSY
 * (nothing changed) while waiters are queued or `busy_bits` of the word are
 * set, else 0 and the object is no longer initialised. */
int as__prim_init(as__prim *p, uint32_t magic, uint32_t word, uint32_t flags);
int as__prim_destroy(as__prim *p, uint32_t busy_bits);

/* Finish every wait in the batch (call with no lock held). */
void as__batch_finish(as__batch *b);

/* Lock the queue a busy wait is parked in, as of now.  Returns the locked
 * primitive if w is QUEUED in it, else NULL (no lock held): the wait's outcome
 * is already decided.  For the loop thread's as_cancel. */
as__prim *as__q_lock_owner(as_wait *w);

#endif
