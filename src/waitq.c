#include <string.h>

#include "waitq.h"

/* Test-and-test-and-set with a short spin, then yield: the critical sections
 * are a few list operations, so a waiter almost never reaches the yield unless
 * the holder was preempted. */
void as__q_lock_slow(as__prim *p)
{
    unsigned spins = 0;
    for (;;) {
        while (as__load(&p->lock, AS_RELAXED) != 0) {
            if (++spins < 128)
                as__cpu_relax();
            else
                as__yield();
        }
        if (as__xchg(&p->lock, 1u, AS_ACQUIRE) == 0)
            return;
    }
}

void as__prim_init(as__prim *p, uint32_t magic, uint32_t word, uint32_t flags)
{
    p->word = word;
    p->lock = 0;
    p->flags = flags;
    p->nwait = 0;
    p->aux = 0;
    p->head = p->tail = NULL;
    memset(&p->stats, 0, sizeof p->stats);
    as__store(&p->magic, magic, AS_RELEASE);
}

int as__prim_destroy(as__prim *p, uint32_t busy_bits)
{
    int r = 0;
    as__q_lock(p);
    /* aux: waits out of the queue but not finished (the sem's woken) */
    if (!as__q_empty(p) || p->aux != 0 ||
        (as__load(&p->word, AS_RELAXED) & busy_bits))
        r = -EBUSY;
    else
        p->magic = 0;
    as__q_unlock(p);
    return r;
}

void as__batch_finish(as__batch *b)
{
    as_wait *w = b->head;
    while (w) {
        /* as__wait_finish reuses as__link: read the successor first. */
        as_wait *next = w->as__link;
        as__wait_finish(w);
        w = next;
    }
    b->head = b->tail = NULL;
}

as__prim *as__q_lock_wait(as_wait *w, uint32_t *state)
{
    for (;;) {
        as__prim *p;
        /* Q1: state (acquire) before obj, so obj is the QUEUED push's (or
         * the queue a RESUME wait left: obj is not changed by a removal). */
        uint32_t s = as__load(&w->as__state, AS_ACQUIRE), b;
        b = as__wait_base(s);
        if (!as__wait_busy(s) || (b != AS__W_QUEUED && b != AS__W_RESUME))
            return NULL;
        p = as__load(&w->as__obj, AS_RELAXED);
        as__q_lock(p);
        /* Under p's lock nobody can push w into p, take it out of p or
         * resume it from p, so "QUEUED or RESUME, then obj == p" is stable. */
        s = as__load(&w->as__state, AS_ACQUIRE);
        b = as__wait_base(s);
        if (as__wait_busy(s) && (b == AS__W_QUEUED || b == AS__W_RESUME) &&
            as__load(&w->as__obj, AS_RELAXED) == p) {
            *state = s;
            return p;
        }
        as__q_unlock(p);
        /* It moved (a condvar waiter going to its mutex) or was decided:
         * look again. */
    }
}

int as__q_cancel(as_wait *w, int status, const struct as__kind *kind,
                 as__fixup_fn fixup)
{
    uint32_t state;
    as__prim *p = as__q_lock_wait(w, &state);
    if (!p)
        return -ENOENT;
    if (as__load(&w->as__kind, AS_RELAXED) != kind) {
        as__q_unlock(p); /* re-armed on another primitive: look again */
        return -EAGAIN;
    }
    return as__q_cancel_locked(p, w, state, status, fixup);
}

int as__q_cancel_locked(as__prim *p, as_wait *w, uint32_t state, int status,
                        as__fixup_fn fixup)
{
    as__batch done = {NULL, NULL};
    if (as__wait_base(state) != AS__W_QUEUED) {
        /* RESUME: the waiter's thread resumes it under this lock and gives
         * up with this status (the first request wins). */
        if (!(w->as__flags & AS__F_GIVE_UP)) {
            w->as__flags |= AS__F_GIVE_UP;
            w->as__status = status;
        }
        if (status == -ECANCELED)
            as__store(&w->as__state, state | AS__W_CANCEL, AS_RELAXED);
        as__q_unlock(p);
        return 0;
    }
    as__q_take(p, w, status, &done);
    if (fixup)
        fixup(p, &done);
    as__q_unlock(p);
    as__batch_finish(&done);
    return 0;
}

int as__prim_stats(const as__prim *p, as_counters *out)
{
    if (!out)
        return -EINVAL;
    out->acquired = as__load(&p->stats.acquired, AS_RELAXED);
    out->contended = as__load(&p->stats.contended, AS_RELAXED);
    out->handoffs = as__load(&p->stats.handoffs, AS_RELAXED);
    out->cancelled = as__load(&p->stats.cancelled, AS_RELAXED);
    out->timed_out = as__load(&p->stats.timed_out, AS_RELAXED);
    out->shut_down = as__load(&p->stats.shut_down, AS_RELAXED);
    out->waiters = as__load(&p->nwait, AS_RELAXED);
    out->max_waiters = as__load(&p->stats.max_waiters, AS_RELAXED);
    return 0;
}

int64_t as__prim_dump(const as__prim *cp, as_waiter_info *out, size_t max)
{
    as__prim *p = (as__prim *)(uintptr_t)cp; /* the lock is taken, not the object changed */
    uint64_t now = as__now_coarse_ns();
    int64_t k = 0;
    as_wait *w;
    if (!out && max != 0)
        return -EINVAL;
    as__q_lock(p);
    for (w = p->head; w; w = w->as__next, k++) {
        as_waiter_info *e;
        if ((size_t)k >= max)
            continue;
        e = &out[k];
        e->data = w->data;
        e->wait = w;
        e->loop = w->as__loop;
        e->kind = w->as__kind->name;
        e->n = w->as__n;
        e->blocking = w->as__loop->as__ops == &as__backend_thread;
        e->waited_ns = now > w->as__since ? now - w->as__since : 0;
        e->deadline_ns = as__load(&w->as__until, AS_RELAXED);
    }
    as__q_unlock(p);
    return k;
}
