/* *_blocking: a thread that runs no loop waits in the same queue as the
 * loops' waits.
 *
 * The blocking call builds a one-wait loop on its own stack (backend
 * "thread") and parks its wait there exactly as an *_async call would: the
 * primitives, the policies and the delivery protocol (loop.c D1-D3) are the
 * loops' own.  The loop's doorbell is its futex word: a releaser on any
 * thread pushes the decided wait on the stack loop's inbox and, when the
 * bell goes 0 -> 1, wakes the thread with one futex wake.  No eventfd, no
 * allocation, no helper thread.
 *
 * Invariant B1 (no lost wake-up): the thread sleeps only in
 *   as__futex_wait(&bell, 0), after a drain reset the bell: D1 guarantees a
 *   push after that drain rings the bell, which either changes the word
 *   before the futex compares it (the wait returns at once) or wakes it.
 * Invariant B2 (one outcome): at its deadline the thread expires its own
 *   wait through the kind table, as a loop's timer would; a grant that came
 *   first wins, and the thread then waits for it to arrive.
 * Invariant B3 (stack lifetime): the thread returns only once no releaser
 *   is inside a delivery to its stack loop (as__wakers == 0, as
 *   as_loop_destroy waits, D3).
 */
#include "internal.h"
#include "probes.h"

static void thread_arm(as_loop *loop) { (void)loop; }

static void thread_wake(as_loop *loop)
{
    AS_PROBE2(wake_send, loop, AS__HOW_THREAD);
    as__futex_wake(&loop->as__bell, false);
}

static void thread_handle(as_loop *loop, unsigned tag, int res, uintptr_t at)
{
    (void)loop, (void)tag, (void)res, (void)at;
}

static int thread_retire(as_loop *loop)
{
    (void)loop;
    return 0;
}

static void thread_fini(as_loop *loop) { (void)loop; }

const struct as__backend as__backend_thread = {
    .name = "thread",
    .wake_local = false,
    .arm = thread_arm,
    .wake = thread_wake,
    .handle = thread_handle,
    .timer = NULL,
    .retire = thread_retire,
    .fini = thread_fini,
};

void as__block_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)status, (void)arg; /* as__block_wait reads the outcome */
}

int as__block_finish(as_loop *tl, as_wait *w, int parked, uint64_t deadline)
{
    if (parked == 1)
        return 0; /* satisfied at once */
    if (parked < 0)
        return parked;
    return as__block_wait(tl, w, deadline);
}

void as__block_init(as_loop *tl)
{
    as__loop_reset(tl);
    tl->as__ops = &as__backend_thread;
    /* Owned by this thread, but never its current loop: a thread that runs
     * a real loop and blocks here keeps it. */
    tl->as__owner = as__thread_token();
    tl->as__magic = AS__LOOP_MAGIC;
}

int as__block_wait(as_loop *tl, as_wait *w, uint64_t deadline)
{
    bool expired = false;
    int status = 0;
    for (;;) {
        as_wait *x;
        as__loop_drain(tl); /* B1: resets the bell first */
        while ((x = as__loop_ready_pop(tl)) != NULL) {
            uint32_t s = as__load(&x->as__state, AS_ACQUIRE);
            if (as__wait_base(s) == AS__W_RESUME) {
                x->as__kind->resume(x); /* may come back through the inbox */
                continue;
            }
            /* DONE: the outcome.  Nobody can cancel a blocking wait (no
             * caller has its as_wait), so no CANCEL bit to look at. */
            status = x->as__status;
            as__store(&x->as__state, AS__W_IDLE, AS_RELAXED);
            goto out;
        }
        if (!expired && as__deadline_passed(deadline)) {
            expired = true; /* B2 */
            as__wait_expire(w);
            continue;
        }
        as__futex_wait(&tl->as__bell, 0, expired ? AS_NO_DEADLINE : deadline);
    }
out:
    /* B3 */
    while (as__load(&tl->as__wakers, AS_ACQUIRE) != 0)
        as__yield();
    return status;
}
