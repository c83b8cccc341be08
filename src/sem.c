/* Weighted FIFO-fair semaphore.
 *
 * STATE WORD   bits 0..30: permits available; bit 31 (WAITERS): the queue is
 *              not empty, or the semaphore is closed.
 *
 * Invariant S1 (FIFO, no starvation): while WAITERS is set and the
 *   semaphore is open, the queue is not empty and the available count is
 *   below the head's request.  Newcomers therefore never take permits from
 *   under a queued waiter: the fast paths only succeed with WAITERS clear,
 *   and a slow-path acquirer that finds WAITERS set queues at the tail.  A
 *   release hands permits to waiters in queue order while the head fits
 *   (direct hand-off: the permits are the waiter's the moment it leaves the
 *   queue), then stores the rest.
 * Invariant S2 (single writer): while WAITERS is set, only the holder of the
 *   queue lock writes the word; every lock-free path CASes from a value
 *   without WAITERS and so fails and retries.
 * Invariant S3 (conservation): permits are in the word, or held by the
 *   caller of a successful acquire, or carried by a DONE wait with status 0
 *   (delivered to its callback, or given back by a cancel that came first:
 *   X1 in wait.c), or were removed by as_sem_forget.  A wait that leaves
 *   the queue without permits (cancel, deadline) re-runs the grant, so a
 *   small waiter behind a large head that gave up is not left waiting on
 *   permits that are free.
 * Invariant S4 (close): a closed semaphore keeps WAITERS set with an empty
 *   queue, so every lock-free path fails into the slow path, which sees the
 *   closed flag under the lock: acquires are refused (-ESHUTDOWN), releases
 *   and forgets still count.
 *
 * Model: tests/model/sem.pml (S1, S3, Q1, exactly-once callbacks, cancel
 * re-grant; same state names) is checked exhaustively with spin.
 */
#include "waitq.h"

#define SEM_WAITERS 0x80000000u
#define SEM_COUNT AS_SEM_VALUE_MAX

static inline as__prim *P(as_sem *s) { return (as__prim *)(void *)s; }

AS__PRIM_LAYOUT(as_sem);

static inline bool sem_valid(const as_sem *s)
{
    return s && s->as__magic == AS__MAGIC_SEM;
}

static const struct as__kind sem_kind;

int as_sem_init(as_sem *s, uint32_t permits, unsigned flags)
{
    /* AS_SEM_STRICT_FIFO: the only policy there is today (strict
     * hand-off), so the flag changes nothing yet. */
    if (!s || permits > AS_SEM_VALUE_MAX || (flags & ~AS_SEM_STRICT_FIFO))
        return -EINVAL;
    as__prim_init(P(s), AS__MAGIC_SEM, permits, 0);
    return 0;
}

int as_sem_destroy(as_sem *s)
{
    if (!sem_valid(s))
        return -EINVAL;
    /* WAITERS without waiters is a closed semaphore: the queue decides. */
    return as__prim_destroy(P(s), 0);
}

/* Lock-free fast path: one CAS.  1 acquired, 0 not now. */
static inline int sem_try(as_sem *s, uint32_t n)
{
    uint32_t v = as__load(&s->as__word, AS_RELAXED);
    while (!(v & SEM_WAITERS) && v >= n) {
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
    if (sem_try(s, n))
        return 1;
    return as__prim_closed(P(s)) ? -ESHUTDOWN : 0;
}

/* The word's value for `count` available permits, queue lock held. */
static inline uint32_t sem_word(as_sem *s, uint32_t count)
{
    return count |
           ((s->as__head || as__prim_closed(P(s))) ? SEM_WAITERS : 0u);
}

/* Grant permits to queued waiters, head first, while the head fits (S1).
 * Queue lock held; `count` is the available count; stores the new word. */
static void sem_grant_locked(as_sem *s, uint32_t count, as__batch *done)
{
    as_wait *h;
    while ((h = s->as__head) != NULL && h->as__n <= count) {
        count -= h->as__n;
        as__q_take(P(s), h, 0, done);
    }
    /* S2: we are the only writer while WAITERS is set. */
    as__store(&s->as__word, sem_word(s, count), AS_RELEASE);
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
    for (;;) {
        if (!(v & SEM_WAITERS) && v >= n) {
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
        /* add_waiter_if: park only if the word still says "not enough". */
        if ((v & SEM_WAITERS) ||
            as__cas(&s->as__word, &v, v | SEM_WAITERS, AS_RELAXED, AS_RELAXED))
            break;
    }
    as__wait_prepare(w, loop, &sem_kind, cb, arg, s);
    w->as__n = n;
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
    if (sem_try(s, n))
        return 0;
    as__block_init(&tl);
    return as__block_finish(
        &tl, &w, sem_acquire_slow(s, &tl, &w, n, deadline_ns, as__block_cb, NULL), deadline_ns);
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

int64_t as_sem_forget(as_sem *s, uint32_t n)
{
    uint32_t v, take;
    if (!sem_valid(s) || n == 0 || n > AS_SEM_VALUE_MAX)
        return -EINVAL;
    v = as__load(&s->as__word, AS_RELAXED);
    for (;;) {
        if (v & SEM_WAITERS) {
            /* S2: the queue lock holder writes the word.  Waiters are
             * queued only when too few permits are free for the head, and
             * forgetting can only make that truer: no grant to re-run. */
            as__q_lock(P(s));
            v = as__load(&s->as__word, AS_RELAXED);
            if (!(v & SEM_WAITERS)) {
                /* The waiters left meanwhile: lock-free paths write the
                 * word again (finding F2/F3 of tests/model/cancel.pml). */
                as__q_unlock(P(s));
                continue;
            }
            take = (v & SEM_COUNT) < n ? (v & SEM_COUNT) : n;
            as__store(&s->as__word, v - take, AS_RELAXED);
            as__q_unlock(P(s));
            return take;
        }
        take = v < n ? v : n;
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
    as__q_lock(P(s));
    if (as__prim_close_locked(P(s))) {
        AS_PROBE2(close, s, "sem");
        while ((h = s->as__head) != NULL)
            as__q_take(P(s), h, -ESHUTDOWN, &done);
        /* S4: WAITERS stays set, with the queue empty.  An RMW: when the
         * queue was empty, lock-free releases may be CASing the word (F2 of
         * tests/model/cancel.pml: a store lost one). */
        as__fetch_or(&s->as__word, SEM_WAITERS, AS_RELEASE);
    }
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


AS__PRIM_OBSERVERS(sem, as_sem, sem_valid)

/* ---- the kind table ---- */

/* S3: the head may have been what blocked the waiters behind it. */
static void sem_regrant(as__prim *p, as__batch *done)
{
    as_sem *s = (as_sem *)(void *)p;
    sem_grant_locked(s, as__load(&s->as__word, AS_RELAXED) & SEM_COUNT, done);
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
    .resume = NULL,
    .giveback = sem_giveback,
};
