/*
 * cohort.pml -- "a cohort per loop" for the process-shared mutex
 * (docs/pshared.md 6.4, the design for the next trial; not built yet, so
 * the names are the design's: pm_unlock, the grant, add_waiter_if, fwake,
 * the cohort's lq / del / budget).
 *
 * Shared (across processes):
 *   locked, holder   the mutex word's LOCKED and its holder (a task id
 *                    here; the C word holds the task's process)
 *   sq[]             the shared queue of slots, FIFO, abstracted to the
 *                    slot owners (each slot is a loop's delegate wait)
 *   pm_unlock        the real unlock (and the grant): sq non-empty: the
 *                    lock goes to sq's head (the word stays LOCKED,
 *                    holder := that slot, the slot GRANTED; its loop
 *                    handles the CQE later, "fwake", and claims it); else
 *                    LOCKED is cleared
 *   fast path        a CAS free -> LOCKED (barging allowed)
 *   add_waiter_if    a slot registers under the queue lock with a
 *                    re-check: a free lock is taken instead of queueing
 * Per loop L (loop-private: touched on L's thread, or under the cohort's
 * lock by a canceller of the same process): the cohort
 *   lq[L]            local FIFO of waiting tasks (no shared write)
 *   del[L]           the delegate task (or NONE): its slot is queued in sq
 *                    or granted and not yet claimed
 *   budget[L]        local hand-offs still allowed; B again when the
 *                    cohort gets the lock through its delegate's slot
 * Steps (each an atomic step of L's thread; the shared parts are under
 * the queue lock or one CAS, so one step each):
 *   cohort_lock(t)   fast path; else del != NONE: append t to lq; else t
 *                    becomes del and (a separate step: other threads and
 *                    processes run in between) registers its slot with
 *                    add_waiter_if
 *   cohort_fwake(L)  del's slot granted, or a cancel of del asked: under
 *                    the queue lock, granted and no cancel: del gets the
 *                    lock, budget := B; granted and cancelled: the lock
 *                    is given back with pm_unlock, outcome cancelled;
 *                    queued and cancelled: the slot leaves sq, outcome
 *                    cancelled.  Then cohort_promote: lq non-empty: its
 *                    first task becomes del and registers a slot at once
 *                    (the "requeue"), with add_waiter_if; repeated while
 *                    the promoted task took a free lock instead
 *                    (-DSPEC_PROMOTE_ONCE: once, as worded: finding 7)
 *   cohort_unlock    on L's thread: lq non-empty and budget > 0: budget--,
 *                    the lock goes to lq's head directly (word unchanged,
 *                    nothing shared written); else pm_unlock
 *                    (-DFIX_LOCAL_FIFO: the lock goes to del, lq's head
 *                    takes over del's queued slot: finding 8).
 *                    -DUNLOCK_ELSEWHERE: a holder may also be unlocked by
 *                    another thread of its process: pm_unlock only
 *   cancel           thread C of loop 0's process cancels one of loop 0's
 *                    waits once (-DNO_CANCEL_LOCAL, -DNO_CANCEL_DEL leave
 *                    one kind out, -DNO_CANCEL both): a task in lq
 *                    leaves it under the cohort's lock, outcome
 *                    cancelled; the delegate's cancel is only asked
 *                    (creq) and decided by cohort_fwake on L's thread,
 *                    racing the grant.  A cancel on L's own thread is the
 *                    same atomic step here (the cohort's lock makes the
 *                    other thread's one step as well)
 *   F                -DFOREIGN: a plain thread (another process) that
 *                    takes the lock with the fast path only and unlocks
 *                    (pm_unlock)
 *
 * Scenario: two loops (two processes), TPL0 tasks on loop 0 and TPL1 on
 * loop 1 (default 2 each, at most 3), each locking R0 / R1 times (-DLIVE:
 * for ever), B the budget (default 2).
 *
 * Checked:
 *   mutual exclusion     incs <= 1 at every acquisition; the word LOCKED
 *                        and holder right while a task holds it
 *   one outcome per wait assert(pending[t]) at every outcome (granted or
 *                        cancelled), pending set at each lock
 *   no stranded waiter   invalid end states: a loop ends only when all its
 *                        tasks finished their rounds; at the end every
 *                        wait got its outcome (final assertions)
 *   C1  cohort invariant, whenever L's thread is not inside a step (the
 *       monitor, assert(C1_holds); -DNO_INVARIANTS leaves it out):
 *         lq[L] non-empty  =>  del[L] != NONE and del's slot is in sq
 *         (T_DEL) or granted and not yet claimed (T_GRANTED, holder ==
 *         del); and del != NONE => its slot is queued or granted
 *   C2  budget: while a slot of the other loop is queued, L hands the lock
 *       locally at most B times in a row (inrow[L] <= B)
 *   C3  bounded bypass: once loop L's slot is queued, the others acquire
 *       the lock at most 2B+1 times before it is granted (the current
 *       holder's cohort spends its budget, its slot ahead of L's is
 *       granted once and spends B again; one slot per loop)
 *   C4  one slot per loop in sq
 *   C5  (-DCHECK_LOCAL_FIFO) within a loop FIFO (docs/pshared.md 6.4,
 *       "Fairness"): a wait of L that gets the lock is the oldest wait of L
 *       still waiting.  FALSE for the design as modelled (FINDING_LOCAL_FIFO
 *       below); true with -DFIX_LOCAL_FIFO
 *   -DLIVE (npfair): tasks lock for ever, no cancel, no F; progress =
 *       a task of loop 1 acquires (the process prog); no non-progress
 *       cycle under weak fairness: loop 1 is never starved by loop 0's
 *       local hand-offs (loop 0 has 3 tasks: with 2 there is no local
 *       hand-off at all, see below); -DPROG_TASK=t: progress = task t acquires or
 *       is not waiting: every task that waits eventually gets the lock
 *
 * With two tasks on a loop there is never a local hand-off: when the
 * delegate's grant is claimed, the only other local waiter leaves lq to
 * become the next delegate (the requeue), so lq is empty at every unlock
 * of that loop.  A local hand-off needs a holder, a delegate and a waiter
 * in lq on one loop: the rows with hand-offs have 3 tasks on loop 0.
 *
 * Broken variants (must fail):
 *   BUG_NO_REQUEUE       on the delegate's grant the next local waiter
 *                        does not register a slot: C1; without the
 *                        monitor a local waiter is stranded once the lock
 *                        leaves L by pm_unlock (invalid end state)
 *   BUG_NO_BUDGET        local hand-off regardless of the budget: C2 (and
 *                        under -DLIVE a non-progress cycle: loop 1 starves)
 *   BUG_CANCEL_DEL_NO_PROMOTE  a delegate that leaves without the lock
 *                        (cancelled) does not promote the next local
 *                        waiter: C1, or a stranded waiter
 *   BUG_FOREIGN_LOCAL    an unlock from another thread of the process (F
 *                        is then a thread of loop 0's process) hands the
 *                        lock to loop 0's lq.  Without the cohort's lock
 *                        (it reads lq's head, then takes that task out
 *                        and grants it: two steps) L's thread runs in
 *                        between: a cancelled delegate's fwake promotes
 *                        that very task to delegate, and F no longer
 *                        finds it in lq (assert i < lqn[0]; granting it
 *                        anyway would give one wait a grant as holder and
 *                        a slot).  With -DFOREIGN_LOCKED (one step under
 *                        the cohort's lock, spending the budget) nothing
 *                        in the model breaks: the model has no memory
 *                        order, no other process's view of lq, and
 *                        delivers every outcome at once.  The C code must
 *                        still not do it: lq lives in L's process and is
 *                        loop-private (written on L's thread, and by a
 *                        canceller only under the cohort's lock), an
 *                        unlocker in another process cannot
 *                        see it at all, and the grant would be a
 *                        cross-thread delivery to L, the cost the local
 *                        hand-off exists to avoid
 *
 * Finding 7 (design as worded, -DSPEC_PROMOTE_ONCE with 3 tasks on loop 0;
 * rows cohort.FINDING_PROMOTE_ONCE*):
 * cohort_promote promotes once.  Trail: loop 0's delegate d's slot is
 * granted (the lock came from loop 1 by pm_unlock, sq then empty), two
 * more tasks x, y join lq, C asks d's cancel; fwake gives the grant back
 * with pm_unlock, which finds sq empty and frees the lock; x is promoted
 * and its add_waiter_if takes the free lock, so del = NONE with y still
 * in lq: C1 fails; if x is then unlocked by pm_unlock (from another
 * thread, or with the budget spent) y is stranded (invalid end state).
 * The fix (default here): cohort_promote repeats while del == NONE and lq
 * is non-empty.  (Better still, not modelled: a granted delegate that is
 * cancelled with lq non-empty could hand the lock to lq's head, as a
 * local hand-off, instead of giving it back.)
 *
 * Finding 8 (cohort.FINDING_LOCAL_FIFO, C5): the local hand-off goes to lq's head,
 * but the oldest local wait is del, whose slot waits in sq: with a holder
 * h, del d and x in lq on one loop (d before x), h's unlock hands the lock
 * to x and d waits for the shared queue: a newer local waiter overtakes
 * an older one, up to B times per turn, against "within a loop FIFO".
 * -DFIX_LOCAL_FIFO: the local hand-off goes to del, and lq's head takes
 * over del's queued slot (sq keeps its place; the slot is the cohort's, so
 * the renaming is loop-private in C: nothing shared written).  C1-C5 hold
 * with it (rows cohort.fifo-fix*).
 */

#ifndef TPL0
#define TPL0 2
#endif
#ifndef TPL1
#define TPL1 2
#endif
#define TPL 3                   /* array stride: tasks per loop at most */
#define NL 2
#define NT (NL * TPL)
#ifndef B
#define B 2
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
#define NONE 255
#define FT 254                  /* holder id of the foreign thread F */

#define T_IDLE 0
#define T_LQ 1                  /* in its loop's lq */
#define T_REG 2                 /* del, registering (between the fast path and add_waiter_if) */
#define T_DEL 3                 /* del, its slot in sq */
#define T_GRANTED 4             /* del, its slot granted, not yet claimed */
#define T_HOLD 5                /* holds the lock */

#define LOOP(t) ((t) / TPL)

#ifdef LIVE
#define NO_COUNT
#endif

/* shared */
bool locked = false;
byte holder = NONE;
byte sq[NL] = NONE;
byte sqn = 0;

/* per loop */
byte lq[NL * TPL] = NONE;            /* lq of loop l: lq[l*TPL .. l*TPL+lqn[l]) */
byte lqn[NL];
byte del[NL] = NONE;
byte budget[NL];
bool inside[NL];                /* L's thread is inside a step */

/* per task */
byte ts[NT];
byte left[NT];                  /* rounds still to start */
bool pending[NT];               /* a lock is waiting for its outcome */
bool creq[NT];                  /* a cancel of this (delegate) wait was asked */
byte ngot[NT];
byte ncanc[NT];

byte incs = 0;                  /* tasks (and F) in the critical section */
#ifndef NO_COUNT
byte inrow[NL];                 /* C2 */
byte byp[NL];                   /* C3 */
#endif
byte want[NT];                  /* rounds of each task */
#ifdef CHECK_LOCAL_FIFO
byte seq[NL];                   /* C5: arrival order of the waits of a loop */
byte tk[NT];
#endif
#ifdef LIVE
bool got1 = false;              /* loop 1 acquired (the progress monitor) */
bool gotT = false;              /* task PROG_TASK acquired */
#endif

#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif
/* REACH points:
 *   1 add_waiter_if takes a free lock (the re-check)
 *   2 a local hand-off
 *   3 a delegate's grant claimed with local waiters (the requeue)
 *   4 a granted delegate cancelled: the lock given back
 *   5 a queued delegate cancelled: its slot leaves sq
 *   6 a local waiter cancelled
 *   7 the budget spent with local waiters: pm_unlock to the other loop
 *   8 a cancel that came too late (the task held or was done)
 *   9 F acquired
 */

#define OTHER(l) (1 - (l))
/* loop l has a slot in sq */
#define QUEUED_SLOT(l) (del[l] != NONE && ts[del[l]] == T_DEL)

/* an acquisition by task (or F) x; l the loop it belongs to (NONE for F) */
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

/* C5 (-DCHECK_LOCAL_FIFO): a wait of loop L that gets the lock is the
 * oldest wait of L still waiting */
inline local_fifo(x)
{
#ifdef CHECK_LOCAL_FIFO
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
    creq[x] = false;            /* a cancel asked meanwhile came too late */
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
    creq[x] = false;
#ifndef NO_COUNT
    ncanc[x]++;
#endif
    ts[x] = T_IDLE
}

/* the real unlock: pm_unlock and its grant (under the queue lock) */
inline pm_unlock()
{
    assert(locked);
    if
    :: sqn > 0 ->
        h = sq[0];
        sq[0] = sq[1]; sq[1] = NONE; sqn--;
        assert(ts[h] == T_DEL);
        ts[h] = T_GRANTED;      /* word stays LOCKED; the CQE goes to h's loop */
        holder = h;
#ifndef NO_COUNT
        byp[LOOP(h)] = 0;
#endif
    :: else ->
        locked = false;
        holder = NONE
    fi;
#ifndef NO_COUNT
    inrow[0] = 0; inrow[1] = 0
#endif
}

/* add_waiter_if: task x (del of loop l) registers its slot, under the
 * queue lock, re-checking the word */
inline add_waiter_if(x, l)
{
    if
    :: !locked ->
        REACH(1);
        locked = true; holder = x;
        ts[x] = T_HOLD;
        del[l] = NONE;
        outcome_granted(x);
        acquired(x, l)
    :: else ->
        assert(sqn < NL);
        assert(sqn == 0 || LOOP(sq[0]) != l);   /* C4 one slot per loop */
        sq[sqn] = x; sqn++;
        ts[x] = T_DEL;
#ifndef NO_COUNT
        byp[l] = 0
#endif
    fi
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

/* cohort_promote: del gone, lq non-empty: the first local waiter becomes
 * del and registers at once */
inline cohort_promote(l)
{
#ifdef SPEC_PROMOTE_ONCE
    if
#else
    do
#endif
    :: del[l] == NONE && lqn[l] > 0 ->
        lq_pop(l, n);
        del[l] = n;
        add_waiter_if(n, l)
#ifdef SPEC_PROMOTE_ONCE
    :: else -> skip
    fi
#else
    :: else -> break
    od
#endif
}

/* lq_remove: task x leaves loop l's lq (a cancel) */
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

/* the unlock on L's thread: cohort_unlock */
inline cohort_unlock(t, l)
{
    incs--;
    ts[t] = T_IDLE;
    if
#ifdef BUG_NO_BUDGET
    :: lqn[l] > 0 ->
#else
    :: lqn[l] > 0 && budget[l] > 0 ->
        budget[l]--;
#endif
        REACH(2);
#ifdef FIX_LOCAL_FIFO
        /* to the oldest local wait, del; lq's head takes over del's
         * queued slot (the slot is the cohort's: loop-private) */
        n = del[l];
        assert(n != NONE && ts[n] == T_DEL);
        lq_pop(l, h);
        i = 0;
        do
        :: sq[i] != n -> i++
        :: else -> break
        od;
        sq[i] = h;
        i = 0;
        del[l] = h;
        ts[h] = T_DEL;
        h = NONE;
#else
        lq_pop(l, n);
#endif
        holder = n;             /* the word unchanged: nothing shared written */
        ts[n] = T_HOLD;
        outcome_granted(n);
#ifndef NO_COUNT
        if
        :: QUEUED_SLOT(OTHER(l)) ->
            inrow[l]++;
            assert(inrow[l] <= B)   /* C2 */
        :: else -> inrow[l] = 0
        fi;
#endif
        acquired(n, l);
        n = NONE
    :: else ->
        if
        :: lqn[l] > 0 -> REACH(7)
        :: else -> skip
        fi;
        pm_unlock()
    fi
}

#define STARTABLE(t) (ts[t] == T_IDLE && left[t] > 0 && !pending[t])

/* cohort_lock(t), its first step: the fast path, or lq, or del */
inline lock_start(t, l)
{
#ifndef LIVE
    left[t]--;
#endif
    pending[t] = true;
#ifdef CHECK_LOCAL_FIFO
    seq[l]++;
    tk[t] = seq[l];
#endif
    if
    :: !locked ->               /* fast path: CAS free -> LOCKED */
        locked = true; holder = t; ts[t] = T_HOLD;
        outcome_granted(t);
#ifndef NO_COUNT
        inrow[l] = 0;
#endif
        acquired(t, l)
    :: else ->
        if
        :: del[l] != NONE ->    /* join the cohort: a local append */
            lq[l * TPL + lqn[l]] = t; lqn[l]++;
            ts[t] = T_LQ
        :: else ->              /* become the delegate */
            del[l] = t; ts[t] = T_REG;
            inside[l] = true
        fi
    fi
}

/* cohort_lock(t), its second step when t became del: add_waiter_if */
inline lock_reg(t, l)
{
    if
    :: ts[t] == T_REG ->
        atomic {
            add_waiter_if(t, l);
            inside[l] = false
        }
    :: else -> skip
    fi
}

/* the holder t unlocks */
inline unlock_step(t, l)
{
    assert(locked && holder == t);
    if
    :: cohort_unlock(t, l)
#ifdef UNLOCK_ELSEWHERE
    :: incs--;                  /* by another thread of the process */
       ts[t] = T_IDLE;
       pm_unlock()
#endif
    fi;
    n = NONE
}

/* cohort_fwake: the CQE of del's slot (granted, or a cancel asked) */
inline fwake_step(l)
{
    t = del[l];
    if
    :: ts[t] == T_GRANTED && !creq[t] ->
        assert(locked && holder == t);
        ts[t] = T_HOLD;
        del[l] = NONE;
        budget[l] = B;
        outcome_granted(t);
#ifndef NO_COUNT
        inrow[l] = 0;
#endif
        acquired(t, l);
        if
        :: lqn[l] > 0 -> REACH(3)
        :: else -> skip
        fi;
#ifndef BUG_NO_REQUEUE
        cohort_promote(l)
#else
        skip
#endif
    :: ts[t] == T_GRANTED && creq[t] ->
        REACH(4);
        assert(locked && holder == t);
        del[l] = NONE;
        outcome_cancelled(t);
        pm_unlock();            /* the grant given back */
#ifndef BUG_CANCEL_DEL_NO_PROMOTE
        cohort_promote(l)
#else
        skip
#endif
    :: ts[t] == T_DEL ->
        REACH(5);
        i = 0;                  /* its slot leaves sq */
        do
        :: sq[i] != t -> i++
        :: else -> break
        od;
        if
        :: i == 0 -> sq[0] = sq[1]
        :: else -> skip
        fi;
        sq[1] = NONE; sqn--;
        i = 0;
#ifndef NO_COUNT
        byp[l] = 0;
#endif
        del[l] = NONE;
        outcome_cancelled(t);
#ifndef BUG_CANCEL_DEL_NO_PROMOTE
        cohort_promote(l)
#else
        skip
#endif
    fi;
    t = 0; n = NONE
}

#define FWAKE(l) (del[l] != NONE && (ts[del[l]] == T_GRANTED || (ts[del[l]] == T_DEL && creq[del[l]])))
#define FINISHED(t) (ts[t] == T_IDLE && left[t] == 0 && !pending[t])

proctype loop(byte l)
{
    byte t, n = NONE, h, i;
end_loop:
    do
    :: atomic { STARTABLE(l * TPL) -> t = l * TPL; lock_start(t, l) }; lock_reg(t, l); t = 0
    :: atomic { STARTABLE(l * TPL + 1) -> t = l * TPL + 1; lock_start(t, l) }; lock_reg(t, l); t = 0
    :: atomic { STARTABLE(l * TPL + 2) -> t = l * TPL + 2; lock_start(t, l) }; lock_reg(t, l); t = 0
    :: atomic { ts[l * TPL] == T_HOLD -> t = l * TPL; unlock_step(t, l); t = 0 }
    :: atomic { ts[l * TPL + 1] == T_HOLD -> t = l * TPL + 1; unlock_step(t, l); t = 0 }
    :: atomic { ts[l * TPL + 2] == T_HOLD -> t = l * TPL + 2; unlock_step(t, l); t = 0 }
    :: atomic { FWAKE(l) -> fwake_step(l) }
    :: atomic {
        FINISHED(l * TPL) && FINISHED(l * TPL + 1) && FINISHED(l * TPL + 2) ->
        assert(lqn[l] == 0 && del[l] == NONE);
        break
       }
    od
}

/* C: a thread of loop 0's process cancels one of loop 0's waits, once;
 * a wait not started, holding or done: nothing to cancel */
inline cancel_one(t)
{
    if
#ifndef NO_CANCEL_LOCAL
    :: ts[t] == T_LQ ->         /* under the cohort's lock */
        REACH(6);
        lq_remove(0, t);
        outcome_cancelled(t)
#endif
#ifndef NO_CANCEL_DEL
    :: ts[t] == T_DEL || ts[t] == T_GRANTED || ts[t] == T_REG ->
        creq[t] = true          /* decided on L's thread (cohort_fwake) */
#endif
    :: else -> REACH(8)
    fi
}

proctype canceller()
{
    byte i;
    if
    :: atomic { true -> cancel_one(0) }
    :: atomic { TPL0 > 1 -> cancel_one(1) }
    :: atomic { TPL0 > 2 -> cancel_one(2) }
    fi
}

/* F: a plain thread of another process: fast path only, then pm_unlock.
 * BUG_FOREIGN_LOCAL: F is a thread of loop 0's process and its unlock
 * hands to loop 0's lq, reading its head in one step and taking it out in
 * the next (without L's thread); FOREIGN_LOCKED: one step, under the
 * cohort's lock, with the budget */
proctype foreign()
{
    byte h, n, i;
    atomic {
        !locked -> locked = true; holder = FT;
        REACH(9);
        acquired(FT, NONE)
    };
#if defined(BUG_FOREIGN_LOCAL) && !defined(FOREIGN_LOCKED)
    if
    :: lqn[0] > 0 ->
        n = lq[0];              /* reads lq's head */
        atomic {                /* then takes it out and hands it the lock */
            incs--;
            lq_remove(0, n);
            holder = n;
            ts[n] = T_HOLD;
            outcome_granted(n);
            acquired(n, 0)
        }
    :: else ->
        atomic { incs--; pm_unlock() }
    fi
#elif defined(BUG_FOREIGN_LOCAL)
    atomic {
        incs--;
        if
        :: lqn[0] > 0 && budget[0] > 0 ->
            budget[0]--;
            lq_pop(0, n);
            holder = n;
            ts[n] = T_HOLD;
            outcome_granted(n);
            acquired(n, 0)
        :: else -> pm_unlock()
        fi
    }
#else
    atomic { incs--; pm_unlock() }
#endif
}

#ifndef NO_INVARIANTS
#define C1(l) ((lqn[l] == 0 || (del[l] != NONE && \
    (ts[del[l]] == T_DEL || (ts[del[l]] == T_GRANTED && holder == del[l]))))  \
    && (del[l] == NONE || ts[del[l]] == T_DEL || \
        (ts[del[l]] == T_GRANTED && holder == del[l])))
/* the monitor: C1 whenever L's thread is outside a step */
active proctype monitor()
{
    bool C1_holds;
end_mon:
    atomic {
        (!inside[0] && !C1(0)) || (!inside[1] && !C1(1)) ->
        C1_holds = (inside[0] || C1(0)) && (inside[1] || C1(1));
        assert(C1_holds)
    }
}
#endif

#ifndef NO_INVARIANTS
#define NMON 1
#else
#define NMON 0
#endif

#if defined(LIVE) && !defined(PROG_TASK)
/* progress: loop 1 acquires the lock */
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
/* progress (-DPROG_TASK=t): task t acquires, or is not waiting (the loop
 * need not start a lock: weak fairness is per process, not per task) */
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
        del[0] = NONE; del[1] = NONE;
        budget[0] = B; budget[1] = B;
        run loop(0);
        run loop(1);
#ifdef FOREIGN
        run foreign();
#endif
#if !defined(NO_CANCEL) && !defined(LIVE)
        run canceller();
#endif
    }
#ifndef LIVE
    /* the end: every wait got its one outcome, every task not cancelled
     * the lock */
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
