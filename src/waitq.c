#include "waitq.h"

#ifdef _WIN32
#include <windows.h>
void as__yield(void) { (void)SwitchToThread(); }
#else
#include <sched.h>
void as__yield(void) { (void)sched_yield(); }
#endif

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

int as__prim_init(as__prim *p, uint32_t magic, uint32_t word, uint32_t flags)
{
    if (p->magic == magic)
        return -EBUSY;
    p->word = word;
    p->lock = 0;
    p->flags = flags;
    p->head = p->tail = NULL;
    as__store(&p->magic, magic, AS_RELEASE);
    return 0;
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

as__prim *as__q_lock_owner(as_wait *w)
{
    for (;;) {
        as__prim *p;
        /* Q1: state (acquire) before obj, so obj is the QUEUED push's. */
        if (as__load(&w->as__state, AS_ACQUIRE) != AS__W_QUEUED)
            return NULL;
        p = as__load(&w->as__obj, AS_RELAXED);
        as__q_lock(p);
        /* Under p's lock nobody can push w into p or take it out of p, so
         * "QUEUED, then obj == p" means "in p's queue". */
        if (as__load(&w->as__state, AS_ACQUIRE) == AS__W_QUEUED &&
            as__load(&w->as__obj, AS_RELAXED) == p)
            return p;
        as__q_unlock(p);
        /* It moved (a condvar waiter going to its mutex) or was finished:
         * look again. */
    }
}
