/* A loop's cohort on a process-shared mutex: docs/pshared.md 6.4, the model
 * tests/model/cohort_del.pml (-DHOLDOVER).  Every loop that can wait on a
 * process-shared object uses it (AS__OPT_COHORT) unless it was initialised
 * with AS_LOOP_PS_NO_COHORT or with ASYNCSYNC_PS_COHORT=0 set.
 *
 * WHY
 *   Without it every task of every loop waits in a slot of its own, and
 *   every acquisition moves the shared word's cache line between the
 *   processes: 0.1-0.5x a PROCESS_SHARED pthread_mutex (bench_pshared,
 *   targets 15.5/15.6).  Lock cohorting (Dice, Marathe, Shavit) with the
 *   loop as the cohort: the loop's waiting tasks queue in the loop, one
 *   wait of the library's (the delegate) holds the loop's one place in the
 *   shared queue, and the lock moves between the loop's tasks without a
 *   write to the shared word.
 *
 * THE RECORD (struct as__cohort in as_loop, AS__COHORTS of them)
 *   Bound to one mutex while the loop uses it; a loop that needs more
 *   falls back to a slot per wait (as without the cohort).
 *   lq      an in-process waiter queue (waitq.h): the loop's tasks waiting
 *           for the lock, FIFO.  Appended and served on the loop's thread;
 *           a cancel from any thread unlinks (its lock).
 *   hold    NONE: this loop does not hold the lock (as far as it knows);
 *           OWNED: a task or thread of this process holds it and it came
 *           through this record (a take of the word, the delegate's grant,
 *           a local hand-off, a take of a held-over lock);
 *           OVER: held by this process for this loop, owner none (an
 *           unlock on the loop's thread kept it: hold-over).
 *   budget  local acquisitions left before the word must be released.
 *   del     the delegate: an ordinary wait on the shared mutex (sem_ps.c)
 *           whose callback (coh_del_cb) is this file's.
 *
 * INVARIANTS
 *   K1 (no stranded task; the model's C1'): lq not empty => the delegate is
 *      pending (CF_DEL: registered, its callback to come).  Every append to
 *      lq registers it when it is not pending; its callback registers it
 *      again while lq is not empty.  So whoever releases the word (this
 *      loop, another thread of the process, another process, the recovery
 *      of a dead holder), the shared grant reaches lq.
 *   K2 (mutual exclusion): nothing here frees the word but
 *      as__mutex_ps_unlock_word; a local hand-off and a take of a held-over
 *      lock keep it held.  Both are made only after a load of the word saw
 *      it held by this process (coh_ours): a hold OWNED can be stale (an
 *      unlock from another thread freed the word without this record).
 *   K3 (a hold-over ends): OVER is set on the loop's thread only, inside
 *      as_loop_run (an unlock between two runs, in the application's own
 *      code, which may then exit or stop running the loop, goes to the
 *      word), and as_loop_run ends with no record OVER (as__coh_leave):
 *      the lock is given back before the loop may sleep (as_loop_run's
 *      contract: once per iteration, before the loop blocks).  The
 *      model's finding 14: the give-back is per iteration, not per
 *      as_loop_run that returns idle.
 *   K4 (bounded bypass): releases are kept in the loop (hand-offs and
 *      hold-overs) AS__COH_BUDGET at a time, a further round only while
 *      less than AS__PASS_NS (250 us) passed since the first was spent
 *      (coh_budget; a count alone made every pass a cross-process wake:
 *      docs/perf/pshared-cohort-trial-2026-12-05.md); it starts again at
 *      every acquisition through the word (the model's finding 12).  With
 *      K3, another loop's queued slot waits at most one iteration of this
 *      loop or AS__COH_BUDGET critical sections and AS__PASS_NS, then the
 *      shared policy's bound (6.3).
 *   K5 (FIFO within the loop): a lock on the loop while lq is not empty or
 *      the hold is OWNED (and the word this process's: else the hold is
 *      stale, K2) queues in lq (no take of the word past lq's head);
 *      the delegate's grant and the local hand-off serve lq's head.
 *   K6 (the delegate is the library's): counted in the loop's pending waits
 *      (as__coh_busy of them).  A cancel or deadline that leaves lq empty
 *      cancels it before the task is finished (coh_fixup), so the task's
 *      callback sees the loop's slot gone as it would without the cohort;
 *      so does a local hand-off that takes lq's last task (coh_serve; the
 *      model's finding 11).  So lq empty => the delegate is not queued
 *      (its cancel may be on its way).  as__coh_leave cancels any left
 *      (a safety net).  A cancel that loses to a grant gives the lock
 *      back, as any cancel.  as_loop_destroy, with only delegates pending,
 *      cancels them and runs their callbacks itself.
 *   K7 (the delegate may be PASSED, sem_ps.c 6.3): marked at each
 *      registration (as__ps_may_pass), so that a loop whose delegate was
 *      woken and found the lock taken by another process's loop (which
 *      gives the word back and takes it again once per iteration, K3) is
 *      not woken again at each of those give-backs: its slot waits
 *      PASSED, unwoken, and its loop's timer makes it STARVING after
 *      AS__PASS_NS, when the next release hands it the lock.  Each
 *      process then keeps the lock for about AS__PASS_NS at a time with
 *      one cross-process wake per turn (docs/perf/
 *      pshared-cohort-passed-2026-12-05.md); without it every iteration's
 *      give-back woke the other loop (~20 us) and the lock ping-ponged.
 *      The busy hint: the take of the word here counts in the object
 *      (coh_count_take); a delegate woken to retry that finds AS__PS_BUSY
 *      takes since its wake goes back PASSED even if the lock is free at
 *      that instant (a loop that takes and frees the word once per task,
 *      in the application's code between two runs, leaves it free most of
 *      the time: the retry would win, and the lock would change process
 *      once per wake instead of once per pass).
 *
 * The word's owner is the process (mutex_ps.c): hand-offs within the
 * process keep AS_MUTEX_ROBUST's holder right.  A hold that came with
 * OWNER_DEAD (CF_DEAD) is never kept: its unlock goes to the word (which
 * makes the mutex NOTRECOVERABLE unless as_mutex_consistent ran).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pshared.h"
#include "waitq.h"

#ifdef AS__PS_SUPPORTED

#define H_NONE 0u
#define H_OWNED 1u
#define H_OVER 2u
#define CF_DEL 1u    /* the delegate is pending */
#define CF_DEAD 2u   /* the hold came with OWNER_DEAD */
#define CF_ASKED 4u  /* the delegate's cancel was asked */

static const struct as__kind coh_kind;

static inline as__prim *LQ(as__cohort *c) { return (as__prim *)(void *)&c->as__lq; }
static inline as__ps *coh_ps(const as__cohort *c) { return (as__ps *)c->as__obj; }

static inline bool coh_lq_empty(as__cohort *c)
{
    /* nwait: atomic; other threads only remove */
    return as__load(&LQ(c)->nwait, AS_ACQUIRE) == 0;
}

/* K2: the word held by this process. */
static inline bool coh_ours(as__ps *ps)
{
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    return ((uint32_t)v & AS__PS_COUNT) == 0 &&
           ((uint32_t)(v >> 32) & ~AS__PS_DEAD) == as__ps_me();
}

static inline bool coh_closed(as__ps *ps)
{
    return (as__load(&ps->flags, AS_RELAXED) & AS__P_CLOSED) != 0;
}

static as__cohort *coh_find(as_loop *loop, const void *obj)
{
    if (loop->as__coh_live == 0)
        return NULL;
    for (unsigned i = 0; i < AS__COHORTS; i++)
        if (loop->as__coh[i].as__obj == obj)
            return &loop->as__coh[i];
    return NULL;
}

/* The record of ps on loop, bound now if need be; NULL when all are in
 * use.  lq is not touched: a canceller of a wait that left it may still
 * hold its lock (as__q_lock_wait re-checks under it). */
static as__cohort *coh_bind(as_loop *loop, as__ps *ps)
{
    as__cohort *c = coh_find(loop, ps);
    if (c)
        return c;
    for (unsigned i = 0; i < AS__COHORTS; i++) {
        c = &loop->as__coh[i];
        if (c->as__obj == NULL) {
            c->as__obj = ps;
            c->as__hold = H_NONE;
            c->as__budget = 0;
            c->as__cflags = 0;
            loop->as__coh_live++;
            return c;
        }
    }
    return NULL;
}

/* K7, the busy hint (sem_ps.c 6.3): a take of the word by a loop counts
 * towards AS__PS_BUSY.  Written by the lock's holder only, and no more once
 * there (a load per take in a streak); the grant's wake zeroes it under the
 * queue lock.  Races lose a count or a zeroing: a hint. */
static inline void coh_count_take(as__ps *ps)
{
    uint16_t t = as__load(&ps->takes, AS_RELAXED);
    if (t < AS__PS_BUSY)
        as__store(&ps->takes, (uint16_t)(t + 1u), AS_RELAXED);
}

/* A lock granted at once: 1 / -EOWNERDEAD, or through the callback. */
static int coh_now(as_loop *loop, as_wait *w, as__ps *ps, as_callback cb,
                   void *arg, int status)
{
    if (as__loop_always_cb(loop))
        return as__wait_inline(w, loop, &coh_kind, cb, arg, ps, 1, status);
    return status == -EOWNERDEAD ? -EOWNERDEAD : 1;
}

/* lq's head, if any, gets the lock (hold OWNED), with `status`.  Loop
 * thread.  Returns false when lq was empty. */
static bool coh_serve(as__cohort *c, int status)
{
    as__batch b = {NULL, NULL};
    as_wait *h;
    bool emptied = false;
    if (coh_lq_empty(c))
        return false; /* lq is appended to on this thread only */
    as__q_lock(LQ(c));
    h = LQ(c)->head;
    if (h) {
        as__q_take(LQ(c), h, status, &b);
        emptied = LQ(c)->head == NULL;
    }
    as__q_unlock(LQ(c));
    if (!h)
        return false;
    c->as__hold = H_OWNED;
    /* K6: a local hand-off took lq's last task: the delegate's slot (queued
     * for lq, K1) is given up before the task is finished (the model's
     * finding 11) */
    if (emptied && (c->as__cflags & (CF_DEL | CF_ASKED)) == CF_DEL) {
        c->as__cflags |= CF_ASKED;
        (void)as_cancel(&c->as__del);
    }
    as__batch_finish(&b);
    return true;
}

/* Every wait in lq ends with `status` (close, NOTRECOVERABLE, an error of
 * the delegate's). */
static void coh_fail(as__cohort *c, int status)
{
    as__batch b = {NULL, NULL};
    as__q_lock(LQ(c));
    while (LQ(c)->head)
        as__q_take(LQ(c), LQ(c)->head, status, &b);
    as__q_unlock(LQ(c));
    as__batch_finish(&b);
}

/* The loop acquired the word (the delegate's grant, or its registration
 * found the lock free): lq's head gets it; nobody local (cancelled
 * meanwhile, or the slot left queued by a local hand-off that emptied lq,
 * finding 11): hold it over (K3 gives it back), unless it came with
 * OWNER_DEAD (given back as it came, for the next owner to see). */
static void coh_granted(as__cohort *c, int status)
{
    c->as__budget = AS__COH_BUDGET; /* K4: an acquisition through the word */
    c->as__since = 0;
    c->as__cflags = (c->as__cflags & ~CF_DEAD) |
                    (status == -EOWNERDEAD ? CF_DEAD : 0u);
    if (coh_serve(c, status))
        return;
    if (status == -EOWNERDEAD) {
        c->as__hold = H_NONE;
        as__mutex_ps_giveback(coh_ps(c));
    } else {
        c->as__hold = H_OVER;
    }
}

static void coh_del_cb(as_wait *w, int status, void *arg);

/* K1: while lq is not empty and the delegate is not pending, register it
 * (the model's finding 9: a registration that finds the lock free serves
 * lq's head and goes round).  Loop thread. */
static void coh_register(as__cohort *c, as_loop *loop)
{
    while (!(c->as__cflags & CF_DEL) && !coh_lq_empty(c)) {
        int r = as__ps_acquire(coh_ps(c), loop, &c->as__del, 1,
                               AS_NO_DEADLINE, coh_del_cb, c);
        if (r == 0) {
            as__ps_may_pass(&c->as__del); /* K7 */
            c->as__cflags = (c->as__cflags | CF_DEL) & ~CF_ASKED;
            loop->as__coh_busy++;
            return;
        }
        if (r == 1 || r == -EOWNERDEAD) {
            coh_granted(c, r == 1 ? 0 : -EOWNERDEAD);
            continue;
        }
        coh_fail(c, r); /* closed (or an error): lq's waits end with it */
        return;
    }
}

/* The delegate's callback: the loop's thread (inside as_loop_run). */
static void coh_del_cb(as_wait *w, int status, void *arg)
{
    as__cohort *c = arg;
    as_loop *loop = w->as__loop;
    c->as__cflags &= ~(CF_DEL | CF_ASKED);
    loop->as__coh_busy--;
    if (status == 0 || status == -EOWNERDEAD)
        coh_granted(c, status);
    else if (status != -ECANCELED) {
        coh_fail(c, status);
        return;
    }
    coh_register(c, loop); /* K1 */
}

/* A take of the lock held over for the loop (K2; a closed mutex refuses
 * new locks: the held-over lock goes back instead).  Loop thread. */
static bool coh_take_over(as__cohort *c, as__ps *ps)
{
    if (c->as__hold != H_OVER)
        return false;
    if (coh_ours(ps) && !coh_closed(ps)) {
        c->as__hold = H_OWNED;
        return true;
    }
    c->as__hold = H_NONE;
    if (coh_ours(ps))
        (void)as__mutex_ps_unlock_word(ps); /* closed meanwhile */
    return false; /* else: freed behind its back, a misuse */
}

int as__coh_lock(as__ps *ps, as_loop *loop, as_wait *w, uint64_t deadline,
                 as_callback cb, void *arg)
{
    as__cohort *c;
    int r;
    /* AS_MUTEX_STRICT_FIFO: FIFO by task across processes, no cohort */
    if (!(loop->as__opts & AS__OPT_COHORT) ||
        (as__load(&ps->flags, AS_RELAXED) & AS_MUTEX_STRICT_FIFO) ||
        !(c = coh_bind(loop, ps)))
        return AS__COH_PASS;
    if (c->as__hold == H_OVER && coh_take_over(c, ps))
        return coh_now(loop, w, ps, cb, arg, 0);
    /* K2: a hold OWNED with the word not this process's is stale (the lock
     * was freed by an unlock on a thread not running this loop: another
     * thread, or this one before its first as_loop_run) */
    if (c->as__hold == H_OWNED && coh_lq_empty(c) && !coh_ours(ps))
        c->as__hold = H_NONE;
    if (c->as__hold == H_NONE && coh_lq_empty(c)) {
        /* K5: nobody of this loop is ahead: the word */
        r = as__ps_try_own(ps, as__ps_me());
        if (r != 0) {
            coh_count_take(ps); /* K7: the busy hint */
            c->as__hold = H_OWNED;
            c->as__budget = AS__COH_BUDGET; /* K4 */
            c->as__since = 0;
            c->as__cflags = (c->as__cflags & ~CF_DEAD) | (r == 2 ? CF_DEAD : 0u);
            return coh_now(loop, w, ps, cb, arg, r == 2 ? -EOWNERDEAD : 0);
        }
    }
    if (coh_closed(ps))
        return as__ps_shut(ps);
    if (as__deadline_passed(deadline))
        return -ETIMEDOUT;
    as__wait_prepare(w, loop, &coh_kind, cb, arg, ps);
    w->as__n = 1;
    as__q_lock(LQ(c));
    as__q_push_tail(LQ(c), w);
    as__q_unlock(LQ(c));
    as__wait_parked(w, deadline);
    coh_register(c, loop); /* K1 */
    return 0;
}

/* K4: AS__COH_BUDGET kept releases are spent.  The lock stays in the
 * loop for another round while less than AS__PASS_NS passed since the
 * hold's first round was spent (the clock is read once per round). */
static bool coh_budget(as__cohort *c)
{
    uint64_t now = as_now_ns();
    if (c->as__since == 0)
        c->as__since = now;
    else if (now - c->as__since >= AS__PASS_NS)
        return false;
    c->as__budget = AS__COH_BUDGET;
    return true;
}

int as__coh_unlock(as__ps *ps)
{
    as_loop *loop = as__current_loop();
    as__cohort *c;
    if (!loop || !(c = coh_find(loop, ps)) || c->as__hold != H_OWNED)
        return AS__COH_PASS;
    c->as__hold = H_NONE;
    /* K3, the common case first: between two runs with nobody of the loop
     * waiting, the word (whatever else holds) */
    if (!(loop->as__flags & AS__L_RUNNING) && coh_lq_empty(c))
        return AS__COH_PASS;
    /* K2; a hold with OWNER_DEAD, or a closed mutex: the word */
    if ((c->as__cflags & CF_DEAD) || !coh_ours(ps) || coh_closed(ps))
        return AS__COH_PASS;
    if (c->as__budget == 0 && !coh_budget(c))
        return AS__COH_PASS; /* K4 */
    if (coh_serve(c, 0)) {
        c->as__budget--;
        return 0;
    }
    /* K3: nobody local waits: held over only inside as_loop_run, whose end
     * gives it back; between two runs (the application's own code, which
     * may exit or stop running the loop) the word */
    if (!(loop->as__flags & AS__L_RUNNING))
        return AS__COH_PASS;
    c->as__budget--;
    c->as__hold = H_OVER;
    return 0;
}

int as__coh_take(as__ps *ps)
{
    as_loop *loop = as__current_loop();
    as__cohort *c;
    return loop && (c = coh_find(loop, ps)) != NULL && coh_take_over(c, ps);
}

void as__coh_consistent(as__ps *ps)
{
    as_loop *loop = as__current_loop();
    as__cohort *c;
    if (loop && (c = coh_find(loop, ps)) != NULL)
        c->as__cflags &= ~CF_DEAD;
}

void as__coh_leave(as_loop *loop)
{
    for (unsigned i = 0; i < AS__COHORTS; i++) {
        as__cohort *c = &loop->as__coh[i];
        if (!c->as__obj)
            continue;
        /* K6's safety net: a delegate still pending with nobody local
         * waiting (its cancel not asked on this thread) goes, before a
         * give-back below whose grant could otherwise wake it */
        if ((c->as__cflags & (CF_DEL | CF_ASKED)) == CF_DEL && coh_lq_empty(c)) {
            c->as__cflags |= CF_ASKED;
            (void)as_cancel(&c->as__del);
        }
        if (c->as__hold == H_OVER) { /* K3 */
            c->as__hold = H_NONE;
            (void)as__mutex_ps_unlock_word(coh_ps(c));
        }
        if (c->as__hold == H_NONE && !(c->as__cflags & CF_DEL) && coh_lq_empty(c)) {
            c->as__obj = NULL; /* idle: unbound */
            loop->as__coh_live--;
        }
    }
}

/* ---- the kind of the waits in lq ---- */

/* K6 for a cancel or a deadline: the task that leaves lq empty gives up
 * the delegate's slot before it is finished (under lq's lock: the order
 * lq, then the shared queue lock, is the only one), so that when its
 * callback runs, its loop waits in the shared queue no more than it would
 * without the cohort (as_mutex_waiters; a destroy after the callbacks).
 * Any thread: as_cancel of the delegate is; its callback registers it
 * again if a task came meanwhile (K1). */
static void coh_fixup(as__prim *p, as__batch *done)
{
    (void)done;
    if (p->head == NULL)
        (void)as_cancel(&((as__cohort *)(void *)p)->as__del);
}

static int coh_cancel(as_wait *w, int status)
{
    return as__q_cancel(w, status, &coh_kind, coh_fixup);
}

/* X1: a wait granted the lock (status 0 or -EOWNERDEAD) was cancelled
 * before its callback; the wait's loop thread.  With OWNER_DEAD it goes
 * back as it came (for the next owner to see); else an unlock (through
 * the cohort: the next local task, or a hold-over). */
static void coh_giveback(void *home, uint32_t n, uint32_t flags)
{
    as__ps *ps = home;
    (void)n, (void)flags;
    if (as__load(&ps->state, AS_ACQUIRE) >> 63) {
        as_loop *loop = as__current_loop();
        as__cohort *c = loop ? coh_find(loop, ps) : NULL;
        if (c && c->as__hold == H_OWNED)
            c->as__hold = H_NONE;
        as__mutex_ps_giveback(ps);
        return;
    }
    (void)as__mutex_ps_unlock((as_mutex *)home);
}

static const struct as__kind coh_kind = {
    .name = "mutex",
    .cancel = coh_cancel,
    .resume = NULL,
    .giveback = coh_giveback,
    .pshared = true,
    .ownerdead_held = true,
};
#else
void as__coh_leave(as_loop *loop)
{
    (void)loop;
}
#endif
