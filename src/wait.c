/* A wait's life outside the primitives: prepare, park, inline completion,
 * cancel from any thread.  (Expiry is timer.c; delivery and callbacks are
 * loop.c.)  A primitive is reached only through the wait's kind table.
 *
 * CANCEL PROTOCOL (as_cancel, any thread)
 *   QUEUED or RESUME: the kind's cancel takes the queue lock and decides
 *     there (unlinked with -ECANCELED and finished; or, RESUME, told to give
 *     up on arrival), exactly as a grant would under the same lock: one of
 *     them wins.  Under the lock it checks that the wait is still of its
 *     kind: a wait completed and re-armed on another primitive meanwhile
 *     (a cancel racing its own wait's callback) is looked at again, never
 *     handled with the old primitive's rules (found by tests/stress).
 *   DONE (outcome decided, not delivered): CAS DONE -> DONE|CANCEL.  A
 *     canceller on another thread does nothing else: it reads no field of
 *     the wait, which its callback may free or re-arm the moment after.
 *     The CAS races only with the callback's exchange to IDLE (loop.c): if
 *     the CAS wins, the loop, before the callback, passes a grant (status
 *     0) on (kind->giveback) with the wait's own fields and reports
 *     -ECANCELED; if the exchange wins, -ENOENT.  A canceller on the
 *     loop's own thread cannot race the callback (that thread runs it), so
 *     it gives the grant back itself, at once, and marks the status
 *     -ECANCELED so that the loop does not give it back twice; except for a
 *     kind whose DONE may still move (a signalled condvar waiter on its
 *     way into the mutex's queue: kind->done_moves), left to the loop.
 *   Invariant X1 (exactly once): a grant is delivered (callback with 0) or
 *     given back (by the loop, for the one CAS that set CANCEL on a DONE
 *     wait with status 0), never both, never neither.  Model:
 *     tests/model/cancel.pml.
 */
#include "internal.h"
#include "probes.h"

void as__wait_prepare(as_wait *w, as_loop *loop, const struct as__kind *kind,
                      as_callback cb, void *arg, void *home)
{
    w->as__next = w->as__prev = w->as__link = NULL;
    /* atomic: a cross-thread as_cancel reads both (a stale kind is
     * re-checked under the queue lock; a stale loop is never the
     * canceller's own, see as_cancel) */
    as__store(&w->as__loop, loop, AS_RELAXED);
    as__store(&w->as__kind, kind, AS_RELAXED);
    w->as__cb = cb;
    w->as__arg = arg;
    as__store(&w->as__obj, home, AS_RELAXED);
    w->as__home = home;
    w->as__aux = NULL;
    w->as__tparent = w->as__tleft = w->as__tright = NULL;
    as__store(&w->as__deadline, AS_NO_DEADLINE, AS_RELAXED);
    as__store(&w->as__until, AS_NO_DEADLINE, AS_RELAXED);
    w->as__n = 0;
    w->as__status = 0;
    w->as__flags = 0;
}

void as__wait_parked(as_wait *w, uint64_t deadline)
{
    as__wait_parked_at(w, deadline, deadline);
}

void as__wait_parked_at(as_wait *w, uint64_t until, uint64_t key)
{
    as_loop *loop = w->as__loop;
    const void *owner = as__load(&loop->as__owner, AS_RELAXED);
    /* Loop thread only (like the *_async call itself): a load and a store,
     * not a locked RMW; atomic accesses only so other threads' reads (none
     * in correct use) are not data races. */
    as__store(&loop->as__pending, as__load(&loop->as__pending, AS_RELAXED) + 1,
              AS_RELAXED);
    /* The heap is the loop's: the wait cannot be called back before this
     * thread runs the loop, so adding it after the park is safe. */
    as__store(&w->as__until, until, AS_RELAXED);
    if (key != AS_NO_DEADLINE)
        as__timer_add(loop, w, key);
    /* Arm the doorbell now if this thread may touch the loop's ring (it runs
     * the loop, or nobody has run it yet and the caller is setting it up, in
     * which case it does not become the loop's thread); otherwise
     * as_loop_run arms it before the loop sleeps. */
    if ((owner == as__thread_token() || owner == NULL) &&
        !(loop->as__flags & AS__L_ARMED))
        loop->as__ops->arm(loop);
}

int as__wait_inline(as_wait *w, as_loop *loop, const struct as__kind *kind,
                    as_callback cb, void *arg, void *home, uint32_t n, int status)
{
    as__wait_prepare(w, loop, kind, cb, arg, home);
    w->as__n = n;
    w->as__status = status;
    as__store(&w->as__state, AS__W_DONE, AS_RELEASE);
    as__store(&loop->as__pending, as__load(&loop->as__pending, AS_RELAXED) + 1,
              AS_RELAXED);
    /* On the loop's thread: a ready-list append (a notify-driven loop is
     * notified, as for any hand-off it would otherwise not hear of). */
    as__wait_finish(w);
    return 0;
}

bool as__deadline_passed(uint64_t deadline)
{
    return deadline != AS_NO_DEADLINE && as_now_ns() >= deadline;
}

int as_cancel(as_wait *w)
{
    if (!w)
        return -EINVAL;
    for (;;) {
        uint32_t s = as__load(&w->as__state, AS_ACQUIRE);
        if (!as__wait_busy(s))
            return -ENOENT;
        if (s & AS__W_CANCEL)
            return 0; /* idempotent */
        if (as__wait_base(s) == AS__W_DONE) {
            /* X1: from another thread, the CAS only (the loop gives a
             * grant back); from the loop's own thread, which alone runs
             * the callback, the grant goes back at once, so that the
             * permits, lock or signal are free when as_cancel returns. */
            /* Read before the CAS.  A wait leaves a loop only in a
             * callback on that loop's thread.  So a read naming the
             * caller's own loop is current (the caller is here, not in a
             * callback), and a stale read names a loop the wait has left,
             * never the caller's: `own` is false and the loop gives back,
             * which is always sound. */
            as_loop *wl = as__load(&w->as__loop, AS_RELAXED);
            bool own = as__load(&wl->as__owner, AS_RELAXED) == as__thread_token();
            if (as__cas(&w->as__state, &s, s | AS__W_CANCEL, AS_ACQ_REL,
                        AS_ACQUIRE)) {
                AS_PROBE2(cancel, w, 0);
                if (own && !as__load(&w->as__kind, AS_RELAXED)->done_moves)
                    as__cancel_giveback(w);
                return 0;
            }
            continue;
        }
        if (as__load(&w->as__kind, AS_RELAXED)->cancel(w, -ECANCELED) == 0)
            return 0;
        /* decided, or re-armed, meanwhile: look again */
    }
}

int as_wait_pending(const as_wait *w)
{
    if (!w)
        return 0;
    return as__wait_busy(as__load(&w->as__state, AS_ACQUIRE)) ? 1 : 0;
}
