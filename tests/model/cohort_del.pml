/*
 * cohort_del.pml -- "a cohort per loop" for the process-shared mutex, the
 * shape of docs/pshared.md 6.4, "What the C code should do about the
 * findings: the loop's own delegate wait" (not built; the names are the
 * design's: pm_unlock, the grant, add_waiter_if, fwake, the cohort's lq
 * and budget).  cohort.pml is the first shape (a user's wait as the
 * delegate) and its findings 7-8; this model is the redo that 6.4 asks
 * for: the delegate is the loop's own internal wait, not a task.
 *
 * Shared (across processes):
 *   locked, holder   the mutex word's LOCKED and its holder (a task id, FT,
 *                    or DH(l) = "loop l's delegate": its slot granted)
 *   sq[]             the shared queue of slots, FIFO, abstracted to their
 *                    loops (one slot per loop at most)
 *   pm_unlock        the real unlock and its grant: sq non-empty: the lock
 *                    goes to sq's head (the word stays LOCKED, holder :=
 *                    DH(l), the slot GRANTED; loop l handles the CQE later
 *                    on its thread, "fwake"); else LOCKED is cleared
 *   fast path        a CAS free -> LOCKED (barging allowed)
 *   add_waiter_if    a slot registers under the queue lock with a
 *                    re-check: a free lock is taken instead of queueing
 * Per loop L (loop-private: touched on L's thread, or by a canceller of
 * the same process under the record's lock = one atomic step):
 *   lq[L]            FIFO of ALL the waiting tasks of L, in arrival order
 *   ds[L]            the delegate (L's internal wait, kind cohort): IDLE,
 *                    REG (registering), QUEUED (slot in sq), GRANTED (slot
 *                    granted, fwake not yet run); -DCANCEL_8_1 and
 *                    -DDROP_SLOT_ON_EMPTY add CANCELLED (slot out of sq, its
 *                    CQE not yet handled).  It holds L's slot while lq is
 *                    non-empty (C1'); it may also hold one with lq empty
 *                    (left to be granted and given back)
 *   dcreq[L]         a cancel of the delegate's slot asked (by C)
 *   budget[L]        local hand-offs left; B again at each delegate grant
 *                    (-DHOLDOVER: at each acquisition through the word)
 * Steps (each an atomic step of its thread; the shared parts are one CAS
 * or one queue-lock section):
 *   lock(t)          on L's thread: the fast path; else append t to lq and,
 *                    the delegate IDLE, REG; then (a separate step: other
 *                    threads and processes run in between) register(L):
 *                    while lq is non-empty, add_waiter_if: a free lock goes
 *                    to lq's head and the registration goes round again
 *                    (finding 7's loop, in one place); else the slot is
 *                    queued.  lq empty by then (cancelled): IDLE.
 *                    -DLAZY_REG: the registration is a later step of L's
 *                    thread (arrivals, unlocks of L may come first); the
 *                    fast path is then tried only with lq empty
 *   fwake(L)         on L's thread: GRANTED: lq non-empty: lq's head gets
 *                    the lock (a local completion), budget := B, and
 *                    register(L) at once (the requeue); lq empty: the grant
 *                    is GIVEN BACK with pm_unlock.  QUEUED with a cancel
 *                    asked: lq empty: the slot leaves sq, IDLE; lq non-empty
 *                    again (a task arrived since the ask): the slot stays.
 *                    CANCELLED: IDLE, or register(L) if lq is non-empty
 *   unlock(t)        on L's thread: lq non-empty and budget > 0: budget--,
 *                    the lock to lq's head (word unchanged, nothing shared
 *                    written); else pm_unlock.  -DUNLOCK_ELSEWHERE: also by
 *                    another thread of the process: pm_unlock only
 *   cancel           thread C of loop 0's process, NCANC times (default 1)
 *                    (-DNO_CANCEL: none): a task in lq is unlinked (under
 *                    the record's lock), outcome cancelled; lq empty with
 *                    the slot queued or granted: either the slot's cancel
 *                    is asked (dcreq, decided by fwake on L's thread,
 *                    racing the grant) or the slot is left to be granted
 *                    and given back.  -DCANCEL_8_1: the slot's cancel is
 *                    decided by C under the queue lock, as 8.1 does for a
 *                    parked wait (WAITING -> CANCELLED, out of sq at once;
 *                    its CQE, fwake, later)
 *   F                -DFOREIGN: a plain thread of a third process: fast
 *                    path, then pm_unlock
 *   -DDROP_SLOT_ON_EMPTY: a local hand-off that empties lq with the slot
 *                    queued cancels it at once (8.1 on L's own thread)
 *                    instead of leaving it to be granted and given back
 *
 * -DHOLDOVER (docs/pshared.md 6.4, "Hold-over"; measured in
 * docs/perf/pshared-cohort-composed-2026-12-05.md): the loop may hold the
 * lock with no task of it owning it.
 *   lheld[L]         L holds the lock, owned by none of its tasks: the word
 *                    LOCKED, unchanged since its last owner; holder LH(L)
 *   unlock(t)        on L's thread: lq non-empty and budget > 0: budget--,
 *                    hand to lq's head (as without); lq empty and budget >
 *                    0: budget--, the loop keeps the lock (lheld, nothing
 *                    written); else pm_unlock
 *   lock(t)          on L's thread: lheld[L] and lq empty: the task takes
 *                    it (lheld := false, nothing shared written); lheld with
 *                    lq non-empty: it joins lq behind the older waiters (and
 *                    the registration queues the slot: the lock is LOCKED)
 *                    -- never happens, see H and finding 12; else the fast
 *                    path and lq as without
 *   leave(L)         L's thread leaves as_loop_run (ends its iteration)
 *                    with no task of it holding: lheld: pm_unlock (sq's
 *                    head granted, else the word freed).  Written as a
 *                    process of its own (leaver) so that weak fairness makes
 *                    it always eventually taken while lheld lasts
 *   fwake(L)         unchanged: a grant with lq empty is given back
 *   budget           B again at every acquisition through the word (the
 *                    fast path, a registration's free-lock take, the grant),
 *                    not only at the grant (finding 13)
 *   A task's unlock from another thread (-DUNLOCK_ELSEWHERE) cannot meet a
 *   held lock: lheld has no owner task (asserted in unlock_step); nor can a
 *   grant (asserted in fwake).  Cancels are unchanged (lheld => lq empty:
 *   nothing to cancel).  C2 counts the takes of a held lock with the local
 *   hand-offs (each paid by one unit of budget at the unlock).
 *   H (the monitor): lheld[L] => LOCKED with holder LH(L), and lq[L] empty.
 *   -DIDLE0 (with -DLIVE): loop 0's tasks lock R0 rounds, then loop 0 idles
 *   for good; a process "idle" (timeout) turns a deadlock into a cycle
 *   without progress, so pan -l sees a starved loop 1.
 *
 * -DLEAVE_DECIDES (with -DHOLDOVER): the code as built (src/cohort_ps.c,
 * K1-K6), where the cancel of the delegate's slot is decided by the loop's
 * thread at the end of each iteration (as__coh_leave), not asked by the
 * canceller and decided in fwake:
 *   owned[L]         the record's hold OWNED: set when a task of L gets the
 *                    lock; cleared by an unlock on L's thread; an unlock
 *                    from another thread (-DUNLOCK_ELSEWHERE) leaves it set
 *                    (stale, as in C: the next lock queues in lq, the leave
 *                    does not cancel)
 *   leave(L)         (leaver) two queue-lock sections of L's thread, others
 *                    running in between (L's own steps do not: leaving):
 *                    (1) the delegate's slot QUEUED or GRANTED, lq empty,
 *                    not owned: cancelled the 8.1 way (sem_ps_cancel):
 *                    QUEUED -> CANCELLED, out of sq at once; GRANTED ->
 *                    GIVEBACK (the grant came first: fwake gives it back);
 *                    (2) a held-over lock given back (pm_unlock)
 *   fwake(L)         GIVEBACK: pm_unlock (X1); CANCELLED: nothing; both ->
 *                    DONE (CF_DEL still set).  GRANTED with lq empty: held
 *                    over (coh_granted: lheld, budget B), not given back
 *   callback(L)      DONE: a later step of L's thread (other callbacks of L
 *                    may run first): lq non-empty -> register (K1), else
 *                    IDLE
 *   lock(t)          K5: the word (fast path) only with lq empty and the
 *                    hold not OWNED; a held-over lock is taken; else t
 *                    joins lq, and registers the delegate only if IDLE
 *                    (with a cancel in flight, CANCELLED, GIVEBACK or DONE,
 *                    it only joins lq: the callback registers)
 *   cancel           C only unlinks its task (REACH 13: no ask)
 *   C1'              lq non-empty => the delegate pending: QUEUED, GRANTED,
 *                    or CANCELLED / GIVEBACK / DONE (its completion to
 *                    come); and always CANCELLED, DONE => not in sq,
 *                    GIVEBACK => LOCKED with holder DH(L)
 *   C2               the take of a hold-over that came with a grant is the
 *                    grant's acquisition (the grant sets the budget, the
 *                    take spends none: 1 + B in a row per grant, as when
 *                    the grant goes to lq's head), not a kept release
 *   Not modelled: the time part of the budget (coh_budget renews it while
 *   AS__PASS_NS has not passed: C2 and C3 hold per renewal, not per
 *   acquisition through the word); an other-thread cancel between
 *   coh_register's lq check and its as__ps_acquire (the model's
 *   registration reads lq in its step; in C a free lock taken with lq
 *   emptied meanwhile is held over, the state of REACH 28); OWNER_DEAD;
 *   teardown.
 * Broken variants (-DLEAVE_DECIDES):
 *   BUG_LEAVE_NO_REREG   the cancelled delegate's callback goes IDLE with lq
 *                        non-empty: a task that arrived while the cancel was
 *                        in flight is stranded (C1', invalid end state)
 *   BUG_LEAVE_CANCEL_NONEMPTY the leave cancels also with lq non-empty.
 *                        With BUG_LEAVE_NO_REREG: stranded (C1').  Alone
 *                        (the callback re-registers) it is safe, but the
 *                        loop's slot goes to the back of sq at every
 *                        iteration: a non-progress cycle (per-task
 *                        liveness fails)
 *   BUG_K5_FASTPATH      the fast path tried with lq non-empty: during a
 *                        cancel in flight a new task passes lq's waiters
 *                        (C5; finding 10's .fifo trail)
 *   BUG_LEAVE_GIVEBACK_FIRST the give-back before the cancel: no checked
 *                        property fails (safety, C3, liveness pass); the
 *                        give-back may grant the loop's own queued slot
 *                        (REACH 25, finding 14), which the cancel then finds
 *                        GRANTED and fwake gives back: two releases and a
 *                        wake for one.  Slower, not wrong
 *
 * Scenario: two loops (two processes), TPL0 tasks on loop 0 (default 3)
 * and TPL1 on loop 1 (default 2), at most 3 each, R0 / R1 rounds each
 * (default 1; -DLIVE: for ever), budget B (default 1).
 *
 * Checked:
 *   mutual exclusion     incs == 1 at every acquisition; the word LOCKED
 *                        with the acquirer as holder
 *   one outcome per wait assert(pending[t]) at every outcome
 *   no stranded waiter   invalid end states (a loop ends when its tasks are
 *                        done, its delegate IDLE and, -DHOLDOVER, the lock
 *                        not held over by it); at the end every wait
 *                        got one outcome, the lock is free, sq empty
 *   C1' (the monitor, whenever L's thread is outside a step: ds != REG;
 *       -DNO_INVARIANTS leaves it out): lq[L] non-empty => the delegate's
 *       slot is QUEUED or GRANTED; QUEUED => L's slot is in sq; GRANTED =>
 *       LOCKED with holder DH(L).  With CANCELLED (-DCANCEL_8_1,
 *       -DDROP_SLOT_ON_EMPTY) lq may be non-empty while the delegate is
 *       CANCELLED, unless -DC1_STRICT (finding 10)
 *   C2  while the other loop's slot is queued, L hands the lock locally at
 *       most B times in a row (-DHOLDOVER: hand-offs and takes of the held
 *       lock together)
 *   H   (-DHOLDOVER, the monitor) a lock held over by L is LOCKED with
 *       holder LH(L), and lq[L] is empty
 *   C3  once L's slot is queued, the others acquire at most 2B+1 times
 *       before it is granted (the holder's loop spends its budget, its own
 *       slot ahead of L's is granted and spends B again); tight for B = 1
 *       and B = 2 (-DC3BOUND=2B fails)
 *   C4  one slot per loop (assert at every registration)
 *   C5  within a loop FIFO: a task of L that gets the lock is L's oldest
 *       wait still waiting (arrival tickets; -DNO_FIFO leaves it out)
 *   -DLIVE (npfair): tasks lock for ever, no cancel (-DLIVE_CANCEL: C's
 *       cancels), no F; progress = a task of loop 1 acquires;
 *       -DPROG_TASK=t: task t acquires or is not waiting.  No non-progress
 *       cycle under weak fairness.  (Weak fairness is per process here: a
 *       loop's fwake can be postponed for ever while its other steps run;
 *       with -DCANCEL_8_1 or -DDROP_SLOT_ON_EMPTY that gives a cycle in
 *       which the loop's fast path passes its lq waiters while their
 *       delegate's CQE waits: finding 10's window held open, not a row)
 *
 * Broken variants (must fail):
 *   BUG_NO_REQUEUE       after its grant the delegate does not re-register
 *                        while lq is non-empty: C1'; a stranded waiter
 *   BUG_NO_BUDGET        local hand-off regardless of the budget: C2; under
 *                        -DLIVE loop 1 starves (a non-progress cycle)
 *   BUG_KEEP_EMPTY_GRANT a delegate granted with lq empty keeps the lock
 *                        instead of giving it back: nobody ever unlocks it
 *                        (invalid end state), even without any cancel
 *   BUG_REGISTER_ONCE    the registration that takes a free lock does not
 *                        go round: stranded -- but only where the loop can
 *                        go round (finding 9): -DLAZY_REG, -DCANCEL_8_1
 *   BUG_CANCEL_NO_RECHECK fwake honours an asked cancel of the queued slot
 *                        without re-checking lq: a task that arrived since
 *                        the ask (it found the slot queued and only joined
 *                        lq) is left without a slot: C1', stranded
 *   BUG_CANCELLED_NO_REREG (-DCANCEL_8_1) the cancelled slot's fwake goes
 *                        IDLE with lq non-empty: C1', stranded
 *   BUG_LAZY_FASTPATH    (-DLAZY_REG) the fast path tried with lq non-empty
 *                        (the registration pending, the lock freed): a new
 *                        task passes the loop's older waiters (C5)
 * and of the hold-over (-DHOLDOVER):
 *   BUG_HOLD_NO_LEAVE    the loop never gives a held lock back: the last
 *                        unlock's hold-over leaves the lock LOCKED for ever
 *                        (invalid end state); -DLIVE -DIDLE0: loop 0 idles
 *                        holding it, loop 1's waiters starve (np).  With
 *                        loops that keep locking (-DLIVE alone) it passes:
 *                        the count budget ends every hold that is taken
 *   BUG_HOLD_NO_BUDGET   hold-over regardless of the budget: C2 (loop 1's
 *                        slot queued, loop 0 hands off, holds over with the
 *                        budget spent and its next task takes it: 2 > B);
 *                        -DLIVE: loop 1 starves (np)
 *   BUG_HOLD_LEAVE_FREE  the leave clears LOCKED (a plain release) instead of
 *                        pm_unlock: the word free with the other loop's slot
 *                        queued, the holding loop's next task takes it by
 *                        the fast path (assert(sqn == 0) there); without
 *                        that assert the queued slot is never granted, its
 *                        waiters stranded (invalid end state)
 *   BUG_HOLD_IGNORE_LQ   the unlock keeps the lock also with lq non-empty
 *                        (the keep tried before the hand-off): H fails (lq's
 *                        waiters wait for the leave and their slot's grant)
 *   BUG_HOLD_BARGE_LQ    a lock takes its loop's held lock with lq non-empty:
 *                        passes alone (finding 12); with BUG_HOLD_IGNORE_LQ
 *                        (and -DNO_INVARIANTS) C5 fails: task 0 holds, task
 *                        1 waits in lq, task 0's unlock keeps the lock, task
 *                        2 takes it before task 1
 *
 * Finding 9 (cohort_del.FINDING_REGISTER_ONCE_HARMLESS): as worded (the
 * registration in the lock call, the requeue at the grant), the
 * registration loop never goes round: a registration that can find the
 * lock free runs right after the arrival that made lq non-empty (lq = that
 * one task), and the requeue runs with the lock just handed to lq's head
 * (always queues).  REACH 15 is not reached and BUG_REGISTER_ONCE passes.
 * It does go round where the delegate's slot can leave while lq fills
 * (-DCANCEL_8_1: the cancelled slot's CQE finds two arrivals and a free
 * lock) or the registration is deferred (-DLAZY_REG): keep the loop.
 *
 * Finding 10 (cohort_del.FINDING_CANCEL_8_1*): 6.4 says the delegate's
 * slot "is cancelled the usual way (8.1)", but 8.1 decides the cancel in
 * the canceller's queue-lock section and the wait completes only at its
 * CQE (P8): in between the delegate is busy with no slot.  Trail: loop
 * 0's task 0 holds, task 1 waits in lq with the slot queued; C cancels
 * task 1 (lq empty) and the slot (out of sq); task 2 arrives, finds the
 * delegate busy and joins lq: lq non-empty, no slot (C1' as worded fails).
 * .fifo: loop 1's slot is granted with its lq empty (finding 11); loop
 * 0's task 0 waits with the slot queued, C cancels it and the slot, task
 * 1 joins lq; loop 1's fwake gives its grant back, which frees the lock
 * (sq empty), and task 2's fast path takes it before task 1 (C5 fails).  Safe and complete otherwise if the
 * cancelled slot's fwake registers again (cohort_del.cancel-8-1;
 * BUG_CANCELLED_NO_REREG strands).  The model's default (the cancel only
 * asked, decided in fwake with lq re-checked, BUG_CANCEL_NO_RECHECK
 * otherwise) keeps C1' and C5; it needs the ask and the decision in one
 * fwake step: the canceller wakes the slot's kernel wait without deciding
 * (or posts to the loop), and the loop decides at the CQE.
 *
 * Finding 11 (cohort_del.nocancel.reach, REACH 17 then 5): a delegate's
 * slot is queued with lq empty not only after cancels: every local
 * hand-off that takes lq's last waiter leaves it so.  Its grant then costs
 * a wake, a CQE and two queue-lock sections, and the lock sits LOCKED
 * with holder DH(L) (nobody in the critical section) until L's thread runs
 * fwake and gives it back.  -DDROP_SLOT_ON_EMPTY (cancel the slot at that
 * hand-off) is safe (cohort_del.drop-slot) but brings finding 10's window
 * (a task arriving before the CQE has no slot).
 *
 * Finding 12 (cohort_del.hold.FINDING_BARGE_LQ_HARMLESS): the ordering
 * question of the hold-over's take (a task arriving while lq is non-empty
 * must not pass lq) does not arise: the loop keeps the lock only at an
 * unlock with lq empty, and while it holds it the next lock of the loop
 * takes it in the same step, so lheld => lq empty (H, checked in every
 * hold row) and the take's lq check is never exercised (REACH 23 is not
 * reached; BUG_HOLD_BARGE_LQ passes).  Keep the check in the C code: it
 * costs nothing and is what stops BUG_HOLD_IGNORE_LQ's shape from passing
 * lq (cohort_del.hold.BUG_HOLD_BARGE_LQ).
 *
 * Finding 13: with the budget refilled only at the delegate's grant (6.4:
 * "the budget starts again at the cohort's next grant"), a loop that takes
 * the lock by its fast path (the measured case: nobody queued) keeps what
 * its last grant left, 0 after its first hold-over and take, and never
 * holds over again until a grant.  The model refills it at every
 * acquisition through the word (fast path, the registration's free-lock
 * take, the grant).  This changes no bound: a free word means no slot is
 * queued (pm_unlock grants while sq is non-empty; asserted at both
 * refills), so C2 and C3 are as
 * without hold-over: C3 stays 2B+1, tight for B = 1 and 2
 * (cohort_del.hold.C3-tight, .C3-tight.b2: a take is paid from the same
 * budget as a hand-off).
 *
 * Finding 14 (REACH 24, 25; cohort_del.hold.reach): the loop holds over with
 * its own slot still queued (lq emptied by a local hand-off, finding 11);
 * its leave's pm_unlock may then grant that slot, which fwake gives back
 * with a second pm_unlock: one release costs two queue-lock sections, a
 * wake and a CQE, with the lock idle in between.  Safe (every hold row).
 *
 * Finding 15 (cohort_del.hold.live.idle0.np, BUG_HOLD_NO_LEAVE.np): the
 * budget bounds a hold-over only when a task of the loop takes it (the
 * take's unlock pays); a loop that goes idle or does other work keeps the
 * lock until its leave, and only the leave's fairness (always eventually)
 * gives it back.  "When the loop leaves as_loop_run" is too late where
 * as_loop_run runs for ever (a server's loop): the leave must be at the end
 * of every iteration, before the loop waits on its ring (as the measured
 * experiment did).  (Not modelled: the time budget, AS_PASS_BOUND_NS, and a
 * waiting slot that forces the hold through the word: with the loop idle
 * nobody on it would see the force unless it is woken.)
 */

#if defined(LEAVE_DECIDES) && !defined(HOLDOVER)
#error "LEAVE_DECIDES goes with HOLDOVER"
#endif
#ifndef TPL0
#define TPL0 3
#endif
#ifndef TPL1
#define TPL1 2
#endif
#define TPL 3                   /* array stride: tasks per loop at most */
#define NL 2
#define NT (NL * TPL)
#ifndef B
#define B 1
#endif
#ifndef C3BOUND
#define C3BOUND (2 * B + 1)
#endif
#ifndef R0
#define R0 1
#endif
#ifndef R1
#define R1 1
#endif
#ifndef NCANC
#define NCANC 1
#endif
#define NONE 255
#define FT 254                  /* holder id of the foreign thread F */
#define DH(l) (100 + (l))       /* holder id: loop l's delegate (its slot granted) */
#define LH(l) (110 + (l))       /* holder id: loop l holds the lock, no task owns it
                                 * (-DHOLDOVER: held over) */

/* the delegate of a loop (the loop's own internal wait, kind cohort) */
#define D_IDLE 0                /* no slot */
#define D_REG 1                 /* registering: between the arrival and add_waiter_if */
#define D_QUEUED 2              /* its slot in sq */
#define D_GRANTED 3             /* its slot granted (holder DH(l)), fwake not yet run */
#define D_CANCELLED 4           /* -DCANCEL_8_1: its slot cancelled by another thread
                                 * (out of sq), its CQE not yet handled by fwake */
#define D_GIVEBACK 5            /* -DLEAVE_DECIDES: its slot granted, then its cancel
                                 * decided (the grant came first): fwake gives the
                                 * grant back, then registers again if lq is non-empty */
#define D_DONE 6                /* -DLEAVE_DECIDES: the cancelled delegate decided (its
                                 * fwake ran), its callback still to run on l's thread
                                 * (CF_DEL still set: a lock of l joins lq, no
                                 * registration); the callback registers if lq is
                                 * non-empty */

/* a task */
#define T_IDLE 0
#define T_LQ 1                  /* waiting in its loop's lq */
#define T_HOLD 2                /* holds the lock */

#define LOOP(t) ((t) / TPL)

#ifdef LIVE
#define NO_COUNT
#define NO_FIFO                 /* the tickets would grow for ever */
#endif

/* shared */
bool locked = false;
byte holder = NONE;
byte sq[NL] = NONE;             /* slot owners (loops), FIFO */
byte sqn = 0;

/* per loop (loop-private) */
byte lq[NL * TPL] = NONE;       /* lq of loop l: lq[l*TPL .. l*TPL+lqn[l]) */
byte lqn[NL];
byte ds[NL];                    /* the delegate's state */
bool dcreq[NL];                 /* a cancel of the delegate's slot asked */
byte budget[NL];
bool lheld[NL];                 /* -DHOLDOVER: loop l holds the lock, no task of it owns it */
bool ldone[NL];                 /* -DHOLDOVER: loop l has ended (its leaver ends too) */
#ifdef LEAVE_DECIDES
bool owned[NL];                 /* the record's hold OWNED: set when a task of l gets the
                                 * lock, cleared by an unlock on l's thread (an unlock
                                 * from another thread leaves it set: stale, as in C) */
bool gheld[NL];                 /* lheld came with a grant (not kept by an unlock) */
bool leaving[NL];               /* the leave is between its two sections: l's thread busy */
#define LT(l) !leaving[l] &&    /* a step of l's thread: not while it is in its leave */
#else
#define LT(l)
#endif

/* per task */
byte ts[NT];
byte left[NT];
bool pending[NT];
byte ngot[NT];
byte ncanc[NT];
byte want[NT];

byte incs = 0;
#ifndef NO_COUNT
byte inrow[NL];                 /* C2 */
byte byp[NL];                   /* C3 */
#endif
#ifndef NO_FIFO
byte seq[NL];                   /* C5: arrival tickets per loop */
byte tk[NT];
#endif
#ifdef LIVE
bool got1 = false;
bool gotT = false;
#endif

#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif
/* REACH points:
 *   1 a registration takes a free lock (add_waiter_if's re-check): to lq's head
 *   2 a local hand-off
 *   3 a delegate's grant handed to lq's head
 *   4 ... and lq still non-empty: the requeue
 *   5 a delegate granted with lq empty: the grant given back
 *   6 a queued delegate's slot cancelled (lq empty): it leaves sq
 *   7 the budget spent with local waiters: pm_unlock
 *   8 a cancel of the slot asked, but lq non-empty again when decided: kept
 *   9 a task in lq cancelled
 *  10 a cancel that found nothing to cancel
 *  11 F acquired
 *  12 the canceller emptied lq with the slot queued or granted: cancel asked
 *  13 ... left to be granted and given back
 *  14 a registration (or the requeue) found lq empty
 *  15 a registration loops: took a free lock, lq still non-empty
 *  16 (-DCANCEL_8_1) a cancelled slot's CQE with lq non-empty again
 *  17 a local hand-off empties lq with the slot queued
 * -DHOLDOVER:
 *  18 the unlock holds the lock over (lq empty, budget left): lheld
 *  19 a lock of the loop takes its held lock (no shared write)
 *  20 leave: the loop gives a held lock back (pm_unlock)
 *  21 ... and the grant goes to another loop's queued slot
 *  22 the budget spent with lq empty: pm_unlock (no hold-over)
 *  23 a lock finds its loop's lock held with lq non-empty: joins lq
 *     (not reached: lheld => lq empty, the invariant H)
 *  24 held over with the loop's own slot queued (lq empty, finding 11)
 *  25 leave: the grant goes to the loop's own slot (lq empty: its fwake
 *     gives it back, a second pm_unlock)
 * -DLEAVE_DECIDES (with -DHOLDOVER):
 *  16 the cancelled delegate's callback finds lq non-empty: registers again
 *  26 the leave cancels the delegate's queued slot (out of sq: CANCELLED)
 *  27 the leave cancels a granted slot (the grant came first: GIVEBACK)
 *  28 a grant finds lq empty: held over (coh_granted), the leave gives it back
 *  29 fwake gives a granted-then-cancelled slot's grant back (X1)
 *  30 a lock of the loop joins lq while the delegate's cancel is in flight
 *     (CANCELLED or GIVEBACK: no registration, CF_DEL still set)
 *  31 the leave cancels its queued slot while holding over (finding 14's
 *     case: the cancel first, so the give-back does not grant it)
 *  32 a lock of the loop joins lq between the cancelled delegate's fwake
 *     and its callback (D_DONE)
 *  33 the fast path (lq empty, hold NONE) while the delegate's cancel is
 *     in flight
 *  25 is not reached (the cancel goes first); -DBUG_LEAVE_GIVEBACK_FIRST
 *     reaches it
 */

#define OTHER(l) (1 - (l))
#define QUEUED_SLOT(l) (ds[l] == D_QUEUED)

inline acquired(x, l)
{
    incs++;
    assert(incs == 1);          /* mutual exclusion */
    assert(locked && holder == x);
#ifdef LIVE
    if
    :: l == 1 -> got1 = true
    :: else -> skip
    fi;
#ifdef PROG_TASK
    if
    :: x == PROG_TASK -> gotT = true
    :: else -> skip
    fi;
#endif
#endif
#ifndef NO_COUNT
    if
    :: l != 0 && QUEUED_SLOT(0) -> byp[0]++; assert(byp[0] <= C3BOUND)  /* C3 */
    :: else -> skip
    fi;
    if
    :: l != 1 && QUEUED_SLOT(1) -> byp[1]++; assert(byp[1] <= C3BOUND)  /* C3 */
    :: else -> skip
    fi
#endif
}

/* C5: a task of loop L that gets the lock is L's oldest wait still waiting */
inline local_fifo(x)
{
#ifndef NO_FIFO
    assert(!pending[LOOP(x) * TPL] || LOOP(x) * TPL == x || tk[LOOP(x) * TPL] > tk[x]);
    assert(!pending[LOOP(x) * TPL + 1] || LOOP(x) * TPL + 1 == x || tk[LOOP(x) * TPL + 1] > tk[x]);
    assert(!pending[LOOP(x) * TPL + 2] || LOOP(x) * TPL + 2 == x || tk[LOOP(x) * TPL + 2] > tk[x])
#else
    skip
#endif
}

inline outcome_granted(x)
{
    local_fifo(x);
    assert(pending[x]);         /* one outcome per wait */
    pending[x] = false;
#ifndef NO_COUNT
    ngot[x]++
#else
    skip
#endif
}

inline outcome_cancelled(x)
{
    assert(pending[x]);
    pending[x] = false;
#ifndef NO_COUNT
    ncanc[x]++;
#endif
    ts[x] = T_IDLE
}

/* the lock goes to task x of loop l (a local completion on l's thread) */
inline give(x, l)
{
#ifdef LEAVE_DECIDES
    owned[l] = true;
#endif
    holder = x;
    ts[x] = T_HOLD;
    outcome_granted(x);
    acquired(x, l)
}

/* the real unlock: pm_unlock and its grant (under the queue lock) */
inline pm_unlock()
{
    assert(locked);
    if
    :: sqn > 0 ->
        h = sq[0];
        sq[0] = sq[1]; sq[1] = NONE; sqn--;
        assert(ds[h] == D_QUEUED);
        ds[h] = D_GRANTED;      /* word stays LOCKED; the CQE goes to loop h */
        holder = DH(h);
#ifndef NO_COUNT
        byp[h] = 0;
#endif
        h = NONE
    :: else ->
        locked = false;
        holder = NONE
    fi;
#ifndef NO_COUNT
    inrow[0] = 0; inrow[1] = 0
#endif
}

inline lq_pop(l, x)
{
    assert(lqn[l] > 0);
    x = lq[l * TPL];
    lq[l * TPL] = lq[l * TPL + 1];
    lq[l * TPL + 1] = lq[l * TPL + 2];
    lq[l * TPL + 2] = NONE;
    lqn[l]--
}

inline lq_remove(l, x)
{
    i = 0;
    do
    :: i < lqn[l] && lq[l * TPL + i] != x -> i++
    :: else -> break
    od;
    assert(i < lqn[l]);
    do
    :: i + 1 < TPL -> lq[l * TPL + i] = lq[l * TPL + i + 1]; i++
    :: else -> break
    od;
    lq[l * TPL + TPL - 1] = NONE;
    lqn[l]--;
    i = 0
}

/* loop l's slot leaves sq (a cancel decided under the queue lock) */
inline sq_remove(l)
{
    i = 0;
    do
    :: sq[i] != l -> i++
    :: else -> break
    od;
    if
    :: i == 0 -> sq[0] = sq[1]
    :: else -> skip
    fi;
    sq[1] = NONE; sqn--;
    i = 0;
#ifndef NO_COUNT
    byp[l] = 0
#else
    skip
#endif
}

/* the delegate registers loop l's slot (add_waiter_if, under the queue
 * lock, with the record's lock held: lq read in the same step): while lq
 * is non-empty, a free lock is taken for lq's head instead of queueing,
 * and the registration goes round again (finding 7's loop) */
inline register(l)
{
    do
    :: lqn[l] == 0 ->
        REACH(14);
        ds[l] = D_IDLE;
        break
    :: lqn[l] > 0 && !locked ->
        REACH(1);
        locked = true;
#ifdef HOLDOVER
        assert(sqn == 0);       /* a free word: no slot waits (finding 13) */
        budget[l] = B;          /* acquired through the word: the budget starts again */
#endif
        lq_pop(l, n);
        give(n, l);
        n = NONE;
#ifndef NO_COUNT
        inrow[l] = 0;
#endif
#ifdef BUG_REGISTER_ONCE
        ds[l] = D_IDLE;
        break
#else
        if
        :: lqn[l] > 0 -> REACH(15)
        :: else -> skip
        fi
#endif
    :: lqn[l] > 0 && locked ->
        assert(sqn < NL);
        assert(sqn == 0 || sq[0] != l);    /* C4 one slot per loop */
        sq[sqn] = l; sqn++;
        ds[l] = D_QUEUED;
#ifndef NO_COUNT
        byp[l] = 0;
#endif
        break
    od
}

/* the lock's first step on l's thread: fast path, else append to lq and,
 * the delegate idle, start its registration */
inline lock_start(t, l)
{
#ifndef LIVE
    left[t]--;
#elif defined(IDLE0)
    if
    :: l == 0 -> left[t]--      /* -DIDLE0: loop 0 locks R0 rounds, then idles */
    :: else -> skip
    fi;
#endif
    pending[t] = true;
#ifndef NO_FIFO
    seq[l]++;
    tk[t] = seq[l];
#endif
    if
#if defined(LEAVE_DECIDES) && !defined(BUG_K5_FASTPATH)
    /* K5 (cohort_ps.c): the word only with the hold NONE and lq empty;
     * lq may be non-empty with the lock free while the delegate's
     * cancel is in flight (CANCELLED, GIVEBACK: finding 10's window) */
    :: !locked && lqn[l] == 0 && !owned[l] ->
        if
        :: ds[l] == D_CANCELLED || ds[l] == D_DONE -> REACH(33)
        :: else -> skip
        fi;
#elif !defined(LAZY_REG)
    :: !locked ->               /* fast path: CAS free -> LOCKED */
#else
    /* with the registration deferred, a free lock with lq non-empty is
     * possible (the registration not yet run): a fast path then would
     * pass the loop's older waiters (C5), so it is tried only with lq
     * empty (-DBUG_LAZY_FASTPATH: always) */
#ifndef BUG_LAZY_FASTPATH
    :: !locked && lqn[l] == 0 ->
#else
    :: !locked ->
#endif
#endif
        locked = true;
#ifdef HOLDOVER
        assert(sqn == 0);       /* a free word: no slot waits (finding 13) */
        budget[l] = B;          /* acquired through the word: the budget starts again */
#endif
        give(t, l);
#ifndef NO_COUNT
        inrow[l] = 0
#else
        skip
#endif
#ifdef HOLDOVER
    /* the loop holds the lock and no task of it does: take it locally
     * (nothing shared written).  lq non-empty (not reachable as worded:
     * the invariant H) the task joins lq behind the older waiters
     * (-DBUG_HOLD_BARGE_LQ: it takes the lock before them) */
#ifndef BUG_HOLD_BARGE_LQ
    :: lheld[l] && lqn[l] == 0 ->
#else
    :: lheld[l] ->
#endif
        REACH(19);
        lheld[l] = false;
#ifndef NO_COUNT
#ifdef LEAVE_DECIDES
        /* a hold-over that came with a grant (nobody in lq then): its take
         * is the grant's acquisition through the word, not a kept release
         * (in C: the grant sets the budget, the take spends none) */
        if
        :: gheld[l] -> inrow[l] = 0
        :: else ->
#endif
        if
        :: QUEUED_SLOT(OTHER(l)) ->
            inrow[l]++;
            assert(inrow[l] <= B)   /* C2: hand-offs and hold-over takes */
        :: else -> inrow[l] = 0
        fi;
#ifdef LEAVE_DECIDES
        fi;
#endif
#endif
#ifdef LEAVE_DECIDES
        gheld[l] = false;
#endif
        give(t, l)
#endif
    :: else ->
#ifdef HOLDOVER
        if
        :: lheld[l] -> REACH(23)
        :: else -> skip
        fi;
#endif
#ifdef LEAVE_DECIDES
        if
        :: ds[l] == D_CANCELLED || ds[l] == D_GIVEBACK -> REACH(30)
        :: ds[l] == D_DONE -> REACH(32)
        :: else -> skip
        fi;
#endif
        lq[l * TPL + lqn[l]] = t; lqn[l]++;
        ts[t] = T_LQ;
        if
        :: ds[l] == D_IDLE -> ds[l] = D_REG
        :: else -> skip
        fi
    fi
}

/* the unlock on l's thread */
inline cohort_unlock(t, l)
{
    incs--;
    ts[t] = T_IDLE;
#ifdef LEAVE_DECIDES
    owned[l] = false;           /* the hold NONE, then OVER or OWNED again below */
#endif
    if
#ifdef BUG_NO_BUDGET
    :: lqn[l] > 0 ->
#else
    :: lqn[l] > 0 && budget[l] > 0 ->
        budget[l]--;
#endif
        REACH(2);
        lq_pop(l, n);
#ifndef NO_COUNT
        if
        :: QUEUED_SLOT(OTHER(l)) ->
            inrow[l]++;
            assert(inrow[l] <= B)   /* C2 */
        :: else -> inrow[l] = 0
        fi;
#endif
        give(n, l);             /* the word unchanged: nothing shared written */
        n = NONE;
        if
        :: lqn[l] == 0 && ds[l] == D_QUEUED ->
            REACH(17);          /* lq emptied with the slot queued: its grant will be given back */
#ifdef DROP_SLOT_ON_EMPTY
            /* instead the loop cancels its slot now (8.1, on its own
             * thread, under the queue lock): it leaves sq, its CQE later */
            sq_remove(l);
            ds[l] = D_CANCELLED
#else
            skip
#endif
        :: else -> skip
        fi
#ifdef HOLDOVER
    /* lq empty and budget left: the loop keeps the lock (the word
     * unchanged), held by the loop and owned by no task.
     * -DBUG_HOLD_NO_BUDGET: regardless of the budget; -DBUG_HOLD_IGNORE_LQ:
     * also with lq non-empty (the keep tried before the hand-off) */
#if defined(BUG_HOLD_NO_BUDGET)
    :: lqn[l] == 0 ->
#elif defined(BUG_HOLD_IGNORE_LQ)
    :: budget[l] > 0 ->
#else
    :: lqn[l] == 0 && budget[l] > 0 ->
#endif
        REACH(18);
        if
        :: budget[l] > 0 -> budget[l]--
        :: else -> skip
        fi;
        if
        :: ds[l] == D_QUEUED -> REACH(24)
        :: else -> skip
        fi;
        lheld[l] = true;
        holder = LH(l)          /* the word unchanged: still LOCKED, the process's */
#endif
    :: else ->
        if
        :: lqn[l] > 0 -> REACH(7)
        :: else -> REACH(22)
        fi;
        pm_unlock()
    fi
}

inline unlock_step(t, l)
{
    assert(locked && holder == t);
    assert(!lheld[l]);          /* a held-over lock has no owner task to unlock it */
    if
    :: cohort_unlock(t, l)
#ifdef UNLOCK_ELSEWHERE
    :: incs--;                  /* by another thread of the process */
       ts[t] = T_IDLE;
       pm_unlock()
#endif
    fi
}

/* fwake: the delegate's CQE on l's thread (its slot granted, or a cancel
 * of its queued slot asked) */
inline fwake_step(l)
{
    if
    :: ds[l] == D_GRANTED ->
        assert(locked && holder == DH(l));
        assert(!lheld[l]);
        dcreq[l] = false;
        if
        :: lqn[l] > 0 ->
            REACH(3);
            budget[l] = B;
            lq_pop(l, n);
#ifndef NO_COUNT
            inrow[l] = 0;
#endif
            give(n, l);
            n = NONE;
            if
            :: lqn[l] > 0 -> REACH(4)
            :: else -> skip
            fi;
#ifdef BUG_NO_REQUEUE
            ds[l] = D_IDLE
#else
            register(l)         /* the requeue (lq empty: idle) */
#endif
        :: else ->
            REACH(5);
            ds[l] = D_IDLE;
#ifdef LEAVE_DECIDES
            /* as built (coh_granted): nobody local, the loop holds the
             * lock over (budget B); its leave gives it back */
            REACH(28);
            budget[l] = B;
#ifndef NO_COUNT
            inrow[l] = 0;
#endif
            owned[l] = false;
            gheld[l] = true;
            lheld[l] = true;
            holder = LH(l)
#elif !defined(BUG_KEEP_EMPTY_GRANT)
            pm_unlock()         /* the grant given back */
#else
            skip                /* kept: the word stays LOCKED, holder DH(l) */
#endif
        fi
    :: ds[l] == D_QUEUED && dcreq[l] ->
        dcreq[l] = false;
        if
#ifndef BUG_CANCEL_NO_RECHECK
        :: lqn[l] == 0 ->
#else
        :: true ->
#endif
            REACH(6);
            sq_remove(l);
            ds[l] = D_IDLE
        :: else ->
            REACH(8)            /* a task arrived since the ask: the slot stays */
        fi
#ifdef LEAVE_DECIDES
    /* the leave's cancel decided at fwake (sem_ps_fwake): GIVEBACK: the
     * grant came first, it is given back (X1); then the callback is to
     * run (D_DONE, a later step of l's thread: del_callback) */
    :: ds[l] == D_GIVEBACK ->
        assert(locked && holder == DH(l));
        assert(!lheld[l]);
        REACH(29);
        pm_unlock();            /* as__mutex_ps_giveback */
        ds[l] = D_DONE
    :: ds[l] == D_CANCELLED ->
        ds[l] = D_DONE
#else
    :: ds[l] == D_CANCELLED ->  /* -DCANCEL_8_1: the cancelled slot's CQE */
        if
        :: lqn[l] > 0 ->
            REACH(16);          /* a task arrived since the cancel: register again */
#ifndef BUG_CANCELLED_NO_REREG
            register(l)
#else
            ds[l] = D_IDLE
#endif
        :: else -> ds[l] = D_IDLE
        fi
#endif
    fi
}

#ifdef LEAVE_DECIDES
/* the cancelled delegate's callback (coh_del_cb, status -ECANCELED) on
 * l's thread, after its fwake (other callbacks of l may run first): lq
 * non-empty (tasks arrived since the cancel, or it was cancelled with
 * lq non-empty, -DBUG_LEAVE_CANCEL_NONEMPTY): register again (K1).
 * -DBUG_LEAVE_NO_REREG: it does not */
inline del_callback(l)
{
    if
    :: lqn[l] > 0 ->
        REACH(16);
#ifndef BUG_LEAVE_NO_REREG
        register(l)
#else
        ds[l] = D_IDLE
#endif
    :: else -> ds[l] = D_IDLE
    fi
}
#endif

#define STARTABLE(t) (ts[t] == T_IDLE && left[t] > 0 && !pending[t])
#ifndef LEAVE_DECIDES
#define FWAKE(l) (ds[l] == D_GRANTED || (ds[l] == D_QUEUED && dcreq[l]) || ds[l] == D_CANCELLED)
#else
#define FWAKE(l) (ds[l] == D_GRANTED || ds[l] == D_CANCELLED || ds[l] == D_GIVEBACK)
#endif
#define FINISHED(t) (ts[t] == T_IDLE && left[t] == 0 && !pending[t])

#ifdef LAZY_REG
/* the registration is a later step of the loop's thread: arrivals,
 * unlocks and hand-offs of the loop may come before it */
#define LOCK(k) atomic { LT(l) STARTABLE(l * TPL + k) -> t = l * TPL + k; lock_start(t, l); t = 0 }
#else
/* the registration in the lock call: the next step of the loop's thread */
#define LOCK(k) atomic { LT(l) STARTABLE(l * TPL + k) -> t = l * TPL + k; lock_start(t, l); t = 0 }; \
    if \
    :: atomic { ds[l] == D_REG -> register(l) } \
    :: else -> skip \
    fi
#endif

proctype loop(byte l)
{
    byte t, n = NONE, h = NONE, i;
end_loop:
    do
    :: LOCK(0)
    :: LOCK(1)
    :: LOCK(2)
#ifdef LAZY_REG
    :: atomic { ds[l] == D_REG -> register(l) }
#endif
    :: atomic { LT(l) ts[l * TPL] == T_HOLD -> t = l * TPL; unlock_step(t, l); t = 0 }
    :: atomic { LT(l) ts[l * TPL + 1] == T_HOLD -> t = l * TPL + 1; unlock_step(t, l); t = 0 }
    :: atomic { LT(l) ts[l * TPL + 2] == T_HOLD -> t = l * TPL + 2; unlock_step(t, l); t = 0 }
#ifndef LEAVE_DECIDES
    :: atomic { FWAKE(l) -> fwake_step(l) }
#else
    :: atomic { LT(l) FWAKE(l) -> fwake_step(l) }
    :: atomic { LT(l) ds[l] == D_DONE -> del_callback(l) }
#endif
    :: atomic {
        LT(l) FINISHED(l * TPL) && FINISHED(l * TPL + 1) && FINISHED(l * TPL + 2) && ds[l] == D_IDLE && !lheld[l] ->
        assert(lqn[l] == 0);
        ldone[l] = true;
        break
       }
    od
}

#ifdef HOLDOVER
/* leave: the loop leaves as_loop_run with no task of it holding the lock
 * and gives a held lock back (pm_unlock: the shared queue's head is
 * granted, else the word is freed).  A step of loop l's thread, written as
 * a process of its own so that weak fairness (per process in spin) makes
 * it always eventually taken while the lock stays held: the loop does it at
 * the end of every as_loop_run.  -DBUG_HOLD_NO_LEAVE: never */
#ifdef LEAVE_DECIDES
/* -DLEAVE_DECIDES (as built: as__coh_leave at the end of each iteration of
 * l's thread): with the delegate's slot queued, or granted and its fwake
 * not yet run, lq empty and no owner task (the hold NONE or OVER), the
 * slot is cancelled the 8.1 way (under the queue lock: a queued slot
 * leaves sq at once, CANCELLED; a granted one is passed on, GIVEBACK:
 * fwake gives the grant back); then a held lock is given back
 * (pm_unlock).  Two queue-lock sections: other threads and processes run
 * in between, l's thread does not (leaving).
 * -DBUG_LEAVE_CANCEL_NONEMPTY: the cancel also with lq non-empty;
 * -DBUG_LEAVE_GIVEBACK_FIRST: the give-back before the cancel */
#ifndef BUG_LEAVE_CANCEL_NONEMPTY
#define LCANCEL(l) ((ds[l] == D_QUEUED || ds[l] == D_GRANTED) && lqn[l] == 0 && !owned[l])
#else
#define LCANCEL(l) ((ds[l] == D_QUEUED || ds[l] == D_GRANTED) && !owned[l])
#endif
inline leave_cancel(l)
{
    if
    :: LCANCEL(l) && ds[l] == D_QUEUED ->
        REACH(26);
        if
        :: lheld[l] -> REACH(31)    /* held over with its own slot queued (finding 14) */
        :: else -> skip
        fi;
        sq_remove(l);
        ds[l] = D_CANCELLED
    :: LCANCEL(l) && ds[l] == D_GRANTED ->
        REACH(27);
        ds[l] = D_GIVEBACK
    :: else -> skip
    fi
}

inline leave_giveback(l)
{
    if
    :: lheld[l] ->
        REACH(20);
        assert(locked && holder == LH(l));
        lheld[l] = false;
        gheld[l] = false;
        if
        :: sqn > 0 && sq[0] != l -> REACH(21)
        :: sqn > 0 && sq[0] == l -> REACH(25)  /* its own slot: granted, given back at fwake */
        :: else -> skip
        fi;
        pm_unlock()
    :: else -> skip
    fi
}
#endif

proctype leaver(byte l)
{
#ifndef LEAVE_DECIDES
    byte h = NONE;
#else
    byte h = NONE, i;
#endif
end_leave:
    do
#if defined(LEAVE_DECIDES)
    :: atomic {
        ds[l] != D_REG && ds[l] != D_DONE && !leaving[l] && (LCANCEL(l) || lheld[l]) ->
        leaving[l] = true;
#ifndef BUG_LEAVE_GIVEBACK_FIRST
        leave_cancel(l)
#else
        leave_giveback(l)
#endif
       };
       atomic {
#ifndef BUG_LEAVE_GIVEBACK_FIRST
        leave_giveback(l);
#else
        leave_cancel(l);
#endif
        leaving[l] = false
       }
#elif !defined(BUG_HOLD_NO_LEAVE)
    :: atomic {
        lheld[l] ->
        REACH(20);
        assert(locked && holder == LH(l));
        lheld[l] = false;
        if
        :: sqn > 0 && sq[0] != l -> REACH(21)
        :: sqn > 0 && sq[0] == l -> REACH(25)  /* its own slot: granted, given back at fwake */
        :: else -> skip
        fi;
#ifndef BUG_HOLD_LEAVE_FREE
        pm_unlock()
#else
        locked = false;         /* a plain release: the queue's head not granted */
        holder = NONE
#endif
       }
#endif
    :: ldone[l] -> break        /* the loop has ended (spin removes processes in
                                 * reverse order of creation: the loops' ends
                                 * wait for their leavers') */
    od
}
#endif

/* C: a thread of loop 0's process cancels a wait of loop 0 (NCANC times):
 * unlinks it from lq under the record's lock; lq empty with the slot
 * queued or granted: ask the slot's cancel (decided on the loop's thread),
 * or leave the slot to be granted and given back */
inline cancel_one(t)
{
    if
    :: ts[t] == T_LQ ->
        REACH(9);
        lq_remove(0, t);
        outcome_cancelled(t);
        if
        :: lqn[0] == 0 && (ds[0] == D_QUEUED || ds[0] == D_GRANTED) ->
            if
#if defined(LEAVE_DECIDES)
            :: REACH(13)        /* only unlinked: the loop's leave decides */
#elif !defined(CANCEL_8_1)
            :: dcreq[0] = true; REACH(12)
#else
            /* decided here, under the queue lock (docs/pshared.md 8.1):
             * a queued slot leaves sq at once, its CQE comes later; a
             * granted one: the grant came first (given back at fwake) */
            :: ds[0] == D_QUEUED -> sq_remove(0); ds[0] = D_CANCELLED; REACH(12)
#endif
            :: REACH(13)
            fi
        :: else -> skip
        fi
    :: else -> REACH(10)
    fi
}

proctype canceller()
{
    byte i, k = 0;
    do
    :: k < NCANC ->
        if
        :: atomic { true -> cancel_one(0); k++ }
        :: atomic { TPL0 > 1 -> cancel_one(1); k++ }
        :: atomic { TPL0 > 2 -> cancel_one(2); k++ }
        fi
    :: else -> break
    od
}

/* F: a plain thread of another process: fast path, then pm_unlock */
proctype foreign()
{
    byte h;
    atomic {
        !locked -> locked = true; holder = FT;
        REACH(11);
        acquired(FT, NONE)
    };
    atomic { incs--; pm_unlock() }
}

#ifndef NO_INVARIANTS
/* C1': lq non-empty => the delegate's slot queued or granted; queued =>
 * in sq; granted => the word LOCKED with holder DH(l).  Whenever the
 * loop's thread is outside a step (ds == D_REG is inside one) */
#if defined(LEAVE_DECIDES)
/* the delegate pending: queued, granted, or cancelled with its
 * completion still to come (CANCELLED: out of sq; GIVEBACK: the word
 * LOCKED with holder DH(l), given back at fwake) */
#define C1_CANCELLED(l) (ds[l] == D_CANCELLED || ds[l] == D_GIVEBACK || ds[l] == D_DONE)
#elif !defined(C1_STRICT)
#define C1_CANCELLED(l) (ds[l] == D_CANCELLED)
#else
#define C1_CANCELLED(l) false
#endif
#define C1(l) (ds[l] == D_REG || \
    ((lqn[l] == 0 || ds[l] == D_QUEUED || ds[l] == D_GRANTED || C1_CANCELLED(l)) && \
     (ds[l] != D_QUEUED || (sqn > 0 && sq[0] == l) || (sqn > 1 && sq[1] == l)) && \
     (ds[l] != D_GRANTED || (locked && holder == DH(l)))))
/* H (-DHOLDOVER): a loop holds the lock with no task owning it =>
 * LOCKED with holder LH(l), and lq empty */
#define H(l) (!lheld[l] || (locked && holder == LH(l) && lqn[l] == 0))
#ifdef LEAVE_DECIDES
/* and, whatever lq holds: a cancelled slot is out of sq, a granted one
 * whose cancel came second still holds the word */
#define K(l) (((ds[l] != D_CANCELLED && ds[l] != D_DONE) || ((sqn == 0 || sq[0] != l) && (sqn < 2 || sq[1] != l))) && \
    (ds[l] != D_GIVEBACK || (locked && holder == DH(l))))
#define NOT_K || !K(0) || !K(1)
#define AND_K && K(0) && K(1)
#else
#define NOT_K
#define AND_K
#endif
active proctype monitor()
{
    bool C1_holds, H_holds;
end_mon:
    atomic {
        !C1(0) || !C1(1) || !H(0) || !H(1) NOT_K ->
        C1_holds = C1(0) && C1(1) AND_K;
        assert(C1_holds);
        H_holds = H(0) && H(1);
        assert(H_holds)
    }
}
#define NMON 1
#else
#define NMON 0
#endif

#if defined(LIVE) && defined(IDLE0)
/* -DIDLE0: with loop 0 idle for good, a state where nothing can move is a
 * deadlock, which pan -l does not report as a cycle: this process turns
 * it into one (timeout: no other statement executable), without progress */
active proctype idle()
{
end_idle:
    do
    :: timeout -> skip
    od
}
#endif

#if defined(LIVE) && !defined(PROG_TASK)
active proctype prog()
{
end_prog:
    do
    :: got1 ->
progress:
        got1 = false
    od
}
#elif defined(LIVE)
active proctype prog()
{
end_prog:
    do
    :: gotT ->
progress:
        gotT = false
    :: !pending[PROG_TASK] ->
progress_idle:
        skip
    od
}
#endif

init {
    byte t;
    atomic {
        t = 0;
        do
        :: t < NT ->
            ts[t] = T_IDLE;
            if
            :: t < TPL0 -> want[t] = R0
            :: t >= TPL && t < TPL + TPL1 -> want[t] = R1
            :: else -> want[t] = 0
            fi;
            left[t] = want[t];
            lq[t] = NONE;
            t++
        :: else -> break
        od;
        sq[0] = NONE; sq[1] = NONE;
        budget[0] = B; budget[1] = B;
        run loop(0);
        run loop(1);
#ifdef HOLDOVER
        run leaver(0);
        run leaver(1);
#endif
#ifdef FOREIGN
        run foreign();
#endif
#if !defined(NO_CANCEL) && (!defined(LIVE) || defined(LIVE_CANCEL))
        run canceller();
#endif
    }
#ifndef LIVE
    (_nr_pr == 1 + NMON) ->
    t = 0;
    do
    :: t < NT ->
        assert(!pending[t] && ngot[t] + ncanc[t] == want[t]);
        t++
    :: else -> break
    od;
    assert(!locked && sqn == 0 && incs == 0)
#endif
}
