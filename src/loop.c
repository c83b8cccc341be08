/* Loops: ready list, inbox, doorbell, callbacks, teardown.  Binding a loop
 * to a ring, a port or a notify hook is the backends' (backend/bind.c,
 * backend/iocp.c, backend/generic.c); a primitive is reached only through a
 * wait's kind table.
 *
 * DELIVERY PROTOCOL (as__wait_finish -> as_loop_run)
 *
 *   A wait whose outcome is decided is handed to its loop:
 *   - from the loop's own thread: appended to the ready list (plain stores);
 *   - from any other thread: pushed on the inbox, a lock-free Treiber stack
 *     (CAS on as__inbox), then the doorbell is rung: if as__bell was 0 it is
 *     set to 1 and the backend wakes the loop (one futex wake, or notify()).
 *
 *   The loop drains by first resetting the bell to 0 and then taking the
 *   whole inbox with one exchange; a wait pushed after the exchange finds the
 *   bell at 0 and rings it again.
 *
 *   Invariant D1 (no lost wake-up): every push is followed by a drain that
 *   sees it.  Proof sketch: pusher P does push (seq_cst RMW) then reads bell
 *   (seq_cst).  The loop does bell := 0 (seq_cst) then reads the inbox
 *   (seq_cst).  In the single total order either the loop's read of the inbox
 *   follows P's push (that drain sees it), or P's read of the bell follows the
 *   reset and sees 0 or a later 1.  If 0, P rings: bell := 1 and a backend
 *   wake.  If 1, some ring happened after the reset.  Either way bell == 1
 *   after the reset and before the loop sleeps, and the doorbell armed on the
 *   ring waits for "bell != 0" (FUTEX_WAIT expected 0) or was completed by the
 *   ring's wake (eventfd, notify), so the loop wakes, resets and drains again.
 *
 *   Invariant D3 (teardown): a thread delivering to a loop from outside
 *   touches the loop after its push (bell, backend wake), when the wait may
 *   already be consumed.  It counts itself in as__wakers before the push and
 *   out after the wake; the count's increment happens-before the push, which
 *   happens-before the drain that consumed it, so as_loop_destroy, which runs
 *   after every wait of the loop was consumed, sees every such thread and
 *   waits (briefly: each is inside one wake call) until the count is 0.
 *
 *   Model: tests/model/delivery.pml checks D1-D3 exhaustively (same names:
 *   inbox, bell, ARMED, wakers, IDLE/QUEUED/DONE) with spin.
 *
 *   Invariant D2: a loop with pending waits has its doorbell armed whenever it
 *   can sleep: as_loop_run arms it last, after draining; the doorbell's CQE
 *   re-arms it.  Only waits of this loop are ever pushed on its inbox, so a
 *   loop with no pending waits needs no doorbell.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "probes.h"

_Thread_local char as__tls_token;
static _Thread_local as_loop *as__tls_loop;

#ifndef _WIN32
#include <pthread.h>

/* FORK: a child process starts with one thread, the one that called fork,
 * whose thread-locals are copies of the parent's.  If that thread ran a
 * loop, the child would think it still does, and its wakes would ride the
 * parent's ring (shared with the child, submitted by neither).  So the
 * child starts with no current loop.  The parent's loops are unusable in
 * the child (their rings belong to the parent); primitives in memory the
 * child shares or copied may be used with new loops of the child's. */
static void as__atfork_child(void) { as__tls_loop = NULL; }

static void as__atfork_register(void)
{
    (void)pthread_atfork(NULL, NULL, as__atfork_child);
}

static void as__fork_guard(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, as__atfork_register);
}
#else
static void as__fork_guard(void) {}
#endif

as_loop *as__current_loop(void)
{
    as_loop *l = as__tls_loop;
    if (l && as__load(&l->as__owner, AS_RELAXED) == &as__tls_token)
        return l;
    return NULL;
}

void as__loop_claim(as_loop *loop)
{
    if (as__load(&loop->as__owner, AS_RELAXED) != &as__tls_token)
        as__store(&loop->as__owner, (const void *)&as__tls_token, AS_RELAXED);
    as__tls_loop = loop;
}

void as__loop_reset(as_loop *loop)
{
    void *data = loop->data;
    memset(loop, 0, sizeof *loop);
    loop->data = data;
    loop->as__efd = -1;
}

int as__loop_opts(const as_loop_options *opts, uint32_t *flags,
                  uint32_t *disabled)
{
    const char *coh = getenv("ASYNCSYNC_PS_COHORT");
    *flags = *disabled = 0;
    if (opts && ((opts->flags & ~(AS_LOOP_ALWAYS_CALLBACK | AS_LOOP_DEFER_WAKES |
                                  AS_LOOP_PS_NO_COHORT)) ||
                 (opts->disabled_caps &
                  ~(AS_CAP_FUTEX_WAIT | AS_CAP_RING_WAKE | AS_CAP_PSHARED))))
        return -EINVAL;
    /* the loop's cohorts on process-shared mutexes (cohort_ps.c): on
     * unless the flag or ASYNCSYNC_PS_COHORT=0 says no */
    if (!(opts && (opts->flags & AS_LOOP_PS_NO_COHORT)) && !(coh && coh[0] == '0'))
        *flags |= AS__OPT_COHORT;
    if (!opts)
        return 0;
    *flags |= opts->flags;
    *disabled = opts->disabled_caps;
    return 0;
}

void as__loop_publish(as_loop *loop)
{
    as__fork_guard();
    as__store(&loop->as__magic, AS__LOOP_MAGIC, AS_RELEASE);
}

const char *as_loop_backend(const as_loop *loop)
{
    if (!as__loop_valid(loop))
        return NULL;
    return loop->as__ops->name;
}

unsigned as_loop_caps(const as_loop *loop)
{
    if (!as__loop_valid(loop))
        return 0;
    return loop->as__caps;
}

/* ---- ready list (loop thread only) ---- */

void as__loop_ready(as_loop *loop, as_wait *w)
{
    w->as__link = NULL;
    if (loop->as__ready_tail)
        loop->as__ready_tail->as__link = w;
    else
        loop->as__ready_head = w;
    loop->as__ready_tail = w;
}

as_wait *as__loop_ready_pop(as_loop *loop)
{
    as_wait *w = loop->as__ready_head;
    if (w) {
        loop->as__ready_head = w->as__link;
        if (!loop->as__ready_head)
            loop->as__ready_tail = NULL;
    }
    return w;
}

/* ---- delivery ---- */

void as__wait_finish(as_wait *w)
{
    as_loop *loop = w->as__loop;
    as_wait *old;

    if (loop == as__tls_loop &&
        as__load(&loop->as__owner, AS_RELAXED) == &as__tls_token) {
        /* The loop this thread is running: the hand-off is a list append.
         * (Another loop of this same thread goes through its inbox and is
         * woken: the thread may block on that loop's ring next.) */
        bool was_idle = loop->as__ready_head == NULL;
        as__loop_ready(loop, w);
        as__stat_inc(loop->as__st[AS__ST_LOCAL]);
        if (was_idle && loop->as__ops->wake_local &&
            !(loop->as__flags & AS__L_RUNNING))
            loop->as__ops->wake(loop);
        return;
    }
    /* D3: announce ourselves before the push; the loop may consume the
     * wait, run its callback and be destroyed the moment the push lands, and
     * as_loop_destroy waits for us to leave. */
    as__fetch_add(&loop->as__wakers, 1u, AS_RELAXED);
    /* D1: push (seq_cst), then look at the bell (seq_cst). */
    old = as__load(&loop->as__inbox, AS_RELAXED);
    do {
        w->as__link = old;
    } while (!as__cas(&loop->as__inbox, &old, w, AS_SEQ_CST, AS_RELAXED));
    if (as__load(&loop->as__bell, AS_SEQ_CST) == 0 &&
        as__xchg(&loop->as__bell, 1u, AS_SEQ_CST) == 0)
        loop->as__ops->wake(loop);
    as__fetch_sub(&loop->as__wakers, 1u, AS_RELEASE);
}

void as__loop_drain(as_loop *loop)
{
    as_wait *list, *rev = NULL;
    /* D1: reset the bell before taking the inbox. */
    if (as__load(&loop->as__bell, AS_RELAXED) != 0)
        as__store(&loop->as__bell, 0u, AS_SEQ_CST);
    if (as__load(&loop->as__inbox, AS_SEQ_CST) == NULL)
        return;
    list = as__xchg(&loop->as__inbox, (as_wait *)NULL, AS_SEQ_CST);
    /* The stack is newest first: reverse to keep the order of the pushes. */
    while (list) {
        as_wait *next = list->as__link;
        list->as__link = rev;
        rev = list;
        list = next;
    }
    while (rev) {
        as_wait *next = rev->as__link;
        as__loop_ready(loop, rev);
        as__stat_inc(loop->as__st[AS__ST_REMOTE]);
        rev = next;
    }
}

/* X1 (wait.c): on the wait's loop thread, a DONE wait whose CANCEL bit is
 * set and whose grant is still its own: pass the grant on, once. */
void as__cancel_giveback(as_wait *w)
{
    const struct as__kind *kind = w->as__kind;
    if ((w->as__status == 0 ||
         (w->as__status == -EOWNERDEAD && kind->ownerdead_held)) &&
        kind->giveback)
        kind->giveback(w->as__home, w->as__n, w->as__flags);
    w->as__status = -ECANCELED;
}

/* The wait is the caller's again from the exchange on: it may be re-armed
 * or freed inside the callback.  The exchange is what a cross-thread
 * as_cancel races with (X1 in wait.c): a CANCEL bit set before it makes the
 * callback report -ECANCELED (the canceller passed any grant on). */
static void as__run_callback(as_loop *loop, as_wait *w)
{
    as_callback cb = w->as__cb;
    void *arg = w->as__arg;
    int status = w->as__status;
    uint32_t old;
    if (w->as__deadline != AS_NO_DEADLINE)
        as__timer_remove(loop, w);
    old = as__xchg(&w->as__state, AS__W_IDLE, AS_ACQ_REL);
    if (old & AS__W_CANCEL) {
        /* X1: cancelled after its outcome was decided, from another thread
         * (a grant still to pass on: the wait is this thread's until the
         * callback) or from this one (given back already, status
         * -ECANCELED). */
        as__cancel_giveback(w);
        if (!w->as__kind->pshared) /* a shared object has no counters */
            as__stat_inc(((as__prim *)w->as__home)->stats.cancelled);
        status = -ECANCELED;
    }
    as__store(&loop->as__pending, as__load(&loop->as__pending, AS_RELAXED) - 1,
              AS_RELAXED);
    as__stat_inc(loop->as__st[AS__ST_CALLBACKS]);
    AS_PROBE3(callback, loop, w, status);
    cb(w, status, arg);
}

/* ---- kernel waits on shared words (process-shared objects) ----
 *
 * KERNEL WAIT LIFETIME (P8, docs/pshared.md 7.2)
 *   A wait parked with as__loop_fwait was counted in as__pending by
 *   as__wait_parked, and stays counted until its callback.  Its callback
 *   runs only after kind->fwake decided it, and fwake runs only for the CQE
 *   of its kernel wait (or, for a wait on the arm-later list, from
 *   as_loop_run, when no kernel wait exists).  So while a FUTEX_WAIT that
 *   names w is in the kernel, w is pending, the loop cannot be destroyed
 *   (-EBUSY) and w's memory is the library's: every AS__TAG_FWAIT CQE names
 *   a live wait of this loop.  There is no synchronous cancel of such a
 *   wait: a wait is ended by making its kernel wait complete (a change of
 *   the word and a wake) and handling that CQE.
 *
 * ARM LATER (A1)
 *   A backend that can get no SQE (the ring refuses submits) returns
 *   -EAGAIN; the wait then goes on the loop's arm-later list (intrusive,
 *   through as__link, which a parked wait does not use), and as_loop_run
 *   hands it to kind->fwake(w, -EAGAIN) at its start and before the loop
 *   may sleep: the primitive re-reads its word and arms again.  A refused
 *   submit makes the application's submit-and-wait return at once too, so
 *   the loop comes back to as_loop_run before it can sleep. */
int as__loop_fwait_mask(as_wait *w, uint32_t *word, uint32_t expected,
                        uint32_t mask)
{
    as_loop *loop = w->as__loop;
    int r;
    if (!loop->as__ops->fwait)
        return -EOPNOTSUPP;
    r = loop->as__ops->fwait(loop, w, word, expected, mask);
    if (r == 0) {
        w->as__flags |= AS__F_FWAIT; /* P8: its CQE is to come */
        return 0;
    }
    if (r != -EAGAIN)
        return r;
    w->as__link = loop->as__farm; /* A1 */
    loop->as__farm = w;
    return 0;
}

void as__loop_fwake(as_loop *loop, as_wait *w, int res)
{
    (void)loop;
    w->as__flags &= ~AS__F_FWAIT; /* P8: the kernel wait is gone */
    w->as__kind->fwake(w, res);
}

/* A1: the waits whose kernel wait could not be armed try again (each may
 * land on the list again: the list is taken first, so this ends). */
static void as__loop_farm_retry(as_loop *loop)
{
    as_wait *w = loop->as__farm;
    loop->as__farm = NULL;
    while (w) {
        as_wait *next = w->as__link;
        w->as__link = NULL;
        w->as__kind->fwake(w, -EAGAIN);
        w = next;
    }
}

int as_loop_run(as_loop *loop)
{
    int n = 0;
    uint32_t outer;
    if (!as__loop_valid(loop))
        return -EINVAL;
    as__loop_claim(loop);
    /* A callback may run the loop again: the outer run is still inside. */
    outer = loop->as__flags & AS__L_RUNNING;
    loop->as__flags |= AS__L_RUNNING;
    if (loop->as__farm)
        as__loop_farm_retry(loop);
    if (loop->as__troot)
        as__timer_expire(loop, as_now_ns());
    for (;;) {
        as_wait *w = as__loop_ready_pop(loop);
        if (!w) {
            as__loop_drain(loop);
            w = as__loop_ready_pop(loop);
            if (!w)
                break;
        }
        if (as__wait_base(as__load(&w->as__state, AS_ACQUIRE)) ==
            AS__W_RESUME) {
            w->as__kind->resume(w);
            continue;
        }
        as__run_callback(loop, w);
        n++;
    }
    loop->as__flags = (loop->as__flags & ~AS__L_RUNNING) | outer;
    if (loop->as__coh_live && !outer) /* K3, K6 (cohort_ps.c) */
        as__coh_leave(loop);
    if (loop->as__farm) /* A1: callbacks that parked with no SQE free */
        as__loop_farm_retry(loop);
    /* D2, T1: before the loop sleeps, the doorbell and the timer. */
    if (as__load(&loop->as__pending, AS_RELAXED) != 0)
        loop->as__ops->arm(loop);
    if (loop->as__troot && loop->as__ops->timer)
        loop->as__ops->timer(loop);
    return n;
}

int as_loop_stats(const as_loop *loop, as_loop_counters *out)
{
    uint64_t v[8];
    _Static_assert(sizeof(as_loop_counters) == sizeof v, "as_loop_counters");
    if (!as__loop_valid(loop) || !out)
        return -EINVAL;
    for (int i = 0; i < 8; i++)
        v[i] = as__load(&loop->as__st[i], AS_RELAXED);
    memcpy(out, v, sizeof v);
    return 0;
}

int as_loop_destroy(as_loop *loop)
{
    int r;
    if (!as__loop_valid(loop))
        return -EINVAL;
    /* With waits pending nothing changes, checked before the calling thread
     * claims the loop (it may be another thread than the loop's).  Inside
     * one of the loop's own callbacks, as_loop_run is still walking it. */
    if (as__load(&loop->as__owner, AS_RELAXED) == as__thread_token() &&
        (loop->as__flags & AS__L_RUNNING))
        return -EBUSY;
    /* Waits of the application's pending: nothing changes.  The cohorts'
     * delegates (cohort_ps.c) are the library's: counted apart. */
    if (as__load(&loop->as__pending, AS_RELAXED) != loop->as__coh_busy)
        return -EBUSY;
    if (loop->as__coh_live) {
        /* K3, K6: a held-over lock is given back, the delegates are
         * cancelled and their callbacks run here (the application has
         * none of its own to wait for); their kernel waits end at CQEs
         * still to come: -EAGAIN until then */
        as__coh_leave(loop);
        if (as__load(&loop->as__pending, AS_RELAXED) != 0) {
            (void)as_loop_run(loop);
            as__coh_leave(loop);
            if (as__load(&loop->as__pending, AS_RELAXED) != 0)
                return -EAGAIN;
        }
    }
    as__loop_claim(loop);
    /* D3: wait out threads still inside a delivery to this loop (before
     * retire: a delivery's wake may still post a packet, see P2).  Keep
     * draining meanwhile: the inbox is empty (no wait pending), but the
     * reset bell lets a waker whose post was refused leave (P1). */
    while (as__load(&loop->as__wakers, AS_ACQUIRE) != 0) {
        as__loop_drain(loop);
        as__yield();
    }
    r = loop->as__ops->retire(loop);
    if (r < 0)
        return r;
    loop->as__ops->fini(loop);
    as__store(&loop->as__magic, 0u, AS_RELEASE);
    as__store(&loop->as__owner, (const void *)NULL, AS_RELAXED);
    if (as__tls_loop == loop)
        as__tls_loop = NULL;
    return 0;
}
