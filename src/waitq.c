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
    p->pad0 = 0;
    p->head = p->tail = NULL;
    as__store(&p->magic, magic, AS_RELEASE);
}

int as__prim_destroy(as__prim *p, uint32_t busy_bits)
{
    int r = 0;
    as__q_lock(p);
    if (!as__q_empty(p) || (as__load(&p->word, AS_RELAXED) & busy_bits))
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
