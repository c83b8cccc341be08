/* Weighted FIFO-fair semaphore.
 *
 * STATE WORD   bits 0..30: permits available; bit 31 (WAITERS): the queue is
 *              not empty.
 *
 * Invariant S1 (FIFO, no starvation): while WAITERS is set, the queue is not
 *   empty and the available count is below the head's request.  Newcomers
 *   therefore never take permits from under a queued waiter: the fast paths
 *   only succeed with WAITERS clear, and a slow-path acquirer that finds
 *   WAITERS set queues at the tail.  A release hands permits to waiters in
 *   queue order while the head fits (direct hand-off: the permits are the
 *   waiter's the moment it leaves the queue), then stores the rest.
 * Invariant S2 (single writer): while WAITERS is set, only the holder of the
 *   queue lock writes the word; every lock-free path CASes from a value
 *   without WAITERS and so fails and retries.
 * Invariant S3 (conservation): permits are in the word, or held by the
 *   caller of a successful acquire, or carried by a DONE wait with status 0
 *   (whose callback the application owns).  A cancel that removes a QUEUED
 *   waiter re-runs the grant so a small waiter behind a cancelled large head
 *   is not left waiting on permits that are free.
 *
 * Model: tests/model/sem.pml (S1, S3, Q1, exactly-once callbacks, cancel
 * re-grant; same state names) is checked exhaustively with spin.
 */
#include "waitq.h"

#define SEM_WAITERS 0x80000000u
#define SEM_COUNT AS_SEM_VALUE_MAX

static inline as__prim *P(as_sem *s) { return (as__prim *)(void *)s; }

_Static_assert(sizeof(as_sem) == sizeof(as__prim), "as_sem layout");
_Static_assert(offsetof(as_sem, as__head) == offsetof(as__prim, head),
               "as_sem layout");

static inline bool sem_valid(const as_sem *s)
{
    return s && s->as__magic == AS__MAGIC_SEM;
}

int as_sem_init(as_sem *s, uint32_t permits, unsigned flags)
{
    if (!s || permits > AS_SEM_VALUE_MAX || flags != 0)
        return -EINVAL;
    return as__prim_init(P(s), AS__MAGIC_SEM, permits, 0);
}

int as_sem_destroy(as_sem *s)
{
    if (!sem_valid(s))
        return -EINVAL;
    return as__prim_destroy(P(s), SEM_WAITERS);
}

/* Lock-free fast path: one CAS.  1 acquired, 0 not now. */
static inline int sem_try(as_sem *s, uint32_t n)
{
    uint32_t v = as__load(&s->as__word, AS_RELAXED);
    while (!(v & SEM_WAITERS) && v >= n) {
        if (as__cas(&s->as__word, &v, v - n, AS_ACQUIRE, AS_RELAXED))
            return 1;
    }
    return 0;
}

int as_sem_try_acquire(as_sem *s, uint32_t n)
{
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX)
        return -EINVAL;
    return sem_try(s, n);
}

/* Grant permits to queued waiters, head first, while the head fits (S1).
 * Queue lock held; `count` is the available count; stores the new word. */
static void sem_grant_locked(as_sem *s, uint32_t count, as__batch *done)
{
    as_wait *h;
    while ((h = s->as__head) != NULL && h->as__n <= count) {
        count -= h->as__n;
        as__q_remove(P(s), h, AS__W_DONE);
        as__batch_add(done, h, 0);
    }
    /* S2: we are the only writer while WAITERS is set. */
    as__store(&s->as__word, count | (s->as__head ? SEM_WAITERS : 0u),
              AS_RELEASE);
}

static AS__NOINLINE int sem_acquire_slow(as_sem *s, as_loop *loop, as_wait *w,
                                         uint32_t n, as_callback cb, void *arg)
{
    uint32_t v;
    as__wait_prepare(w, loop, cb, arg, s, AS__F_SEM);
    w->as__n = n;
    as__q_lock(P(s));
    v = as__load(&s->as__word, AS_RELAXED);
    for (;;) {
        if (!(v & SEM_WAITERS) && v >= n) {
            if (as__cas(&s->as__word, &v, v - n, AS_ACQUIRE, AS_RELAXED)) {
                as__q_unlock(P(s));
                return 1;
            }
            continue;
        }
        /* add_waiter_if: park only if the word still says "not enough". */
        if ((v & SEM_WAITERS) ||
            as__cas(&s->as__word, &v, v | SEM_WAITERS, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__q_push_tail(P(s), w);
    as__q_unlock(P(s));
    as__wait_parked(w);
    return 0;
}

int as_sem_acquire_async(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                         as_callback cb, void *arg)
{
    int r;
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX)
        return -EINVAL;
    if ((r = as__wait_check(w, loop, cb)) < 0)
        return r;
    if (sem_try(s, n))
        return 1;
    return sem_acquire_slow(s, loop, w, n, cb, arg);
}

int as_sem_release(as_sem *s, uint32_t n)
{
    as__batch done = {NULL, NULL};
    uint32_t v;
    if (!sem_valid(s) || n == 0)
        return -EINVAL;
    if (n > AS_SEM_VALUE_MAX)
        return -EOVERFLOW;
    v = as__load(&s->as__word, AS_RELAXED);
    for (;;) {
        while (!(v & SEM_WAITERS)) {
            if (v > AS_SEM_VALUE_MAX - n)
                return -EOVERFLOW;
            if (as__cas(&s->as__word, &v, v + n, AS_RELEASE, AS_RELAXED))
                return 0;
        }
        as__q_lock(P(s));
        v = as__load(&s->as__word, AS_ACQUIRE);
        if (v & SEM_WAITERS)
            break;
        as__q_unlock(P(s)); /* the waiters left meanwhile: fast path again */
    }
    v &= SEM_COUNT;
    if (v > AS_SEM_VALUE_MAX - n) {
        as__q_unlock(P(s));
        return -EOVERFLOW;
    }
    sem_grant_locked(s, v + n, &done);
    as__q_unlock(P(s));
    as__batch_finish(&done);
    return 0;
}

int64_t as_sem_value(const as_sem *s)
{
    if (!sem_valid(s))
        return -EINVAL;
    return (int64_t)(as__load(&s->as__word, AS_ACQUIRE) & SEM_COUNT);
}

int as__sem_cancel(as_wait *w)
{
    as__batch done = {NULL, NULL};
    as__prim *p = as__q_lock_owner(w);
    as_sem *s;
    if (!p)
        return 0; /* already granted: the callback runs with 0 */
    s = (as_sem *)(void *)p;
    as__q_remove(p, w, AS__W_DONE);
    as__batch_add(&done, w, -ECANCELED);
    /* S3: the head may have been what blocked the waiters behind it. */
    sem_grant_locked(s, as__load(&s->as__word, AS_RELAXED) & SEM_COUNT, &done);
    as__q_unlock(p);
    as__batch_finish(&done);
    return 0;
}
