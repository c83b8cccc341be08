/*
 * mutex.pml -- the mutex of src/mutex.c on the waiter queue of src/waitq.h:
 * LOCKED / WAITERS / WOKEN / QUIET word, add_waiter_if parking, direct hand-off
 * (strict mode, STARVING head, waiter on the unlocker's own loop),
 * woken-to-retry (RESUME, as__mutex_resume), barging, and as_cancel on the
 * loop thread (QUEUED -> mutex_cancel removes it; RESUME -> GIVE_UP, the
 * resume gives up and passes the wake on; DONE -> the CANCEL bit, and a
 * lock it carries is unlocked by the canceller: mutex_giveback).  as_cancel
 * from other threads, deadlines and close are cancel.pml's.
 *
 * PASSED (default policy, M2/M5 of src/mutex.c): a woken waiter whose retry
 * finds the lock taken goes back to the head PASSED if its loop has a timer
 * of its own (as__pass_may; here PASS_LOOPS, bit l: loop l has one), else
 * STARVING at once.  No unlock wakes or serves a PASSED head (except a
 * direct hand-off from its own loop); its timer (mutex_tick, kind->tick on
 * the loop thread) is a step of its loop's process, enabled from the pass
 * on (ghost tmr[w]: the loop's heap keyed for w) and taken at any later
 * moment (under weak fairness: eventually): it makes the wait STARVING and
 * takes the lock for it if the lock is free.  A cancel that removes the
 * PASSED head while the lock is free wakes the next head
 * (mutex_rewake_locked from mutex_fixup).
 *
 * QUIET (M_QUIET, 16): set iff the queue is not empty, its head is PASSED
 * and WOKEN is clear (so it implies WAITERS; strict mode has no PASSED, so
 * no QUIET).  The holder unlocks lock-free (one CAS clearing LOCKED) when
 * WAITERS is clear, and now also when QUIET is set, unless its thread's
 * note (mutex_passed_here; here note[l], loop l's thread) is on the mutex:
 * then it takes the queue lock and the locked path hands the lock to a
 * PASSED head of its own loop.  The note is set by as__mutex_resume when
 * the wait goes back PASSED, cleared by every mutex_tick on that loop (at
 * its start), and renewed by a noted unlock under the queue lock (kept only
 * while the head is PASSED and of this loop); it may be stale (the head is
 * another loop's: the locked path just releases) or missing (cleared by a
 * tick of its loop's other wait; -DHINT_LOST: any noted unlock may go
 * lock-free, the note overwritten by another mutex's): then an own-loop
 * unlock releases lock-free and the PASSED head waits for its tick.  Every
 * write of the word under the queue lock recomputes QUIET from the head,
 * its PASSED flag and WOKEN (QUIET_OF): the resume's CAS back to the head
 * (QUIET iff PASSED), the unlock's hand-off store, the wake (WOKEN: clear),
 * mutex_rewake_locked when it wakes nobody (a CAS: the PASSED head may be
 * gone with the lock held), mutex_fixup's fetch_and when the queue empties,
 * the tick's CAS (take the free lock, or clear QUIET under a held one).
 * All but the holder's own stores are CASes or RMWs: the holder's
 * lock-free unlock in QUIET may move the word meanwhile (M4 as changed:
 * "while LOCKED is set, the word is written only under the queue lock, or
 * by the holder's lock-free unlock when WAITERS is clear or QUIET is set,
 * then only clearing LOCKED").
 *
 * Threads:
 *   t       a thread that runs no loop; it holds the mutex at the start,
 *           unlocks it, then tries once to barge (as_mutex_try_lock) and
 *           unlocks again if it got it (-DT_FOREVER: again and again, until
 *           both loops are done: the npfair rows)
 *   loop1   a loop thread with L1_WAITS waits (1, then 2) started with
 *           as_mutex_lock_async in that order (-DL1_LATE: wait 2 at a
 *           moment of the loop's choosing, so that the loop can take the
 *           lock while its wait 1 is PASSED: the note's path); each
 *           acquisition (at once, or a callback with status 0) is a
 *           critical section that ends with as_mutex_unlock on that
 *           thread; it may cancel one of its waits, at any moment
 *   loop2   (NLOOPS == 2) a second loop thread with one wait (id
 *           L1_WAITS + 1), which it may cancel
 * The queue lock is a real lock: lock-free paths run while it is held.  As
 * in the C code, each access to the state word is its own step; what a
 * thread does under the queue lock to the queue, the waits' state/flags
 * and the lock itself is merged with the neighbouring word access (see
 * README.md, "granularity").  as__wait_finish is "put the wait in its
 * loop's delivery set", taken out by the loop in any order (delivery.pml
 * checks the delivery path); as_loop_run resumes a RESUME wait
 * (as__mutex_resume) and calls back a DONE one.
 *
 * Checked:
 *   - mutual exclusion: at most one owner (a thread between acquiring and
 *     unlocking, or a DONE wait carrying the lock to its callback), and
 *     LOCKED <=> owned
 *   - M1 WAITERS <=> queue not empty; Q1 a wait is in the queue iff QUEUED
 *   - M2 (default) lock free with waiters queued => WOKEN or the head
 *     PASSED; WOKEN <=> exactly one wait in RESUME; a STARVING wait is only
 *     ever the head (a waiter is passed over at most once)
 *   - M5 (default) at most one queued wait is PASSED, never while WOKEN is
 *     set; it is the head, and its loop's timer is armed for it
 *   - M3 (STRICT) WOKEN never set; the lock never free with waiters queued
 *   - M4 the wake CAS of as_mutex_unlock never fails (C: "unreachable")
 *   - QUIET <=> queue not empty && head PASSED && !WOKEN (both policies)
 *   - exactly one callback per wait that went pending; status 0 <=> the
 *     callback owns the lock
 *   - invalid end states: no lost wake-up, nobody stuck; at the end the
 *     word is 0 and the queue empty
 *   - -DT_FOREVER, npfair: under weak fairness no cycle without a callback
 *     (progress label): a waiter is not passed for ever (the timer is a
 *     step its loop eventually takes); with -DL1_LATE, a noted unlock that
 *     finds QUIET does not go back to the lock-free path for ever
 *
 * Build-time switches:
 *   STRICT                 AS_MUTEX_STRICT_FIFO
 *   NLOOPS (2), L1_WAITS (2)
 *   PASS_LOOPS (6)         bit l set: loop l has a timer of its own
 *                          (as__pass_may): its waits go back PASSED; clear:
 *                          STARVING at once (a notify or IOCP loop)
 *   T_FOREVER              t barges again and again until the loops are done
 *   L1_LATE                loop 1 starts wait 2 at a moment of its choosing
 *   HINT_LOST              a noted unlock may go lock-free in QUIET all the
 *                          same (its note overwritten by another mutex's)
 *   SPLIT_LOCKED           the locked sections that write the word (the
 *                          cancel's rewake, the tick) load it in one step
 *                          and CAS it in later ones: the holder's lock-free
 *                          unlock in QUIET may come between (the unlock's
 *                          own lock-free load and CAS are always two steps;
 *                          its locked section stays one: nobody else writes
 *                          the word while its holder holds the queue lock)
 *   Deliberately broken variants (each must FAIL):
 *   BUG_CANCEL_NO_PASS     a cancelled RESUME wait clears WOKEN on arrival
 *                          but does not pass the wake to the next head
 *   BUG_PARK_NO_RECHECK    a locker sets WAITERS with a blind fetch_or
 *                          instead of a CAS from the value it saw held
 *   BUG_PASS_NO_REWAKE     a cancel that removes the PASSED head while the
 *                          lock is free does not wake the next head
 *                          (mutex_rewake_locked from mutex_fixup never
 *                          wakes; it still recomputes QUIET)
 *   BUG_TICK_NO_TAKE       the timer makes the PASSED wait STARVING but does
 *                          not take the free lock for it
 *   BUG_PASS_NO_TIMER      a PASSED wait's timer is never armed (never fires)
 *   BUG_MQUIET_WOKEN       the QUIET rule also sets QUIET while a woken waiter
 *                          is on its way (the wake sets it); the woken wait's
 *                          take clears WOKEN only
 *   BUG_MQUIET_REWAKE_KEEPS  mutex_rewake_locked that wakes nobody leaves QUIET
 *                          as it was (a PASSED head removed with the lock
 *                          held: QUIET stays over a head that is not PASSED)
 *   BUG_MQUIET_TICK_KEEPS  the tick leaves QUIET set when it makes the head
 *                          STARVING under a held lock
 *   BUG_MQUIET_STORE       the tick writes the word planned from its load
 *                          with a plain store (implies SPLIT_LOCKED): a
 *                          lock-free unlock in between is lost
 *   BUG_MQUIET_TICK_FETCH_AND  the tick, having found the lock held, clears
 *                          QUIET with a fetch_and (an RMW: nothing lost) and
 *                          does not decide again (implies SPLIT_LOCKED)
 *   BUG_MQUIET_REWAKE_FETCH_AND  the same for the rewake of a cancel
 *   BUG_MQUIET_RECHECK     the unlock's recheck under the queue lock sends a
 *                          QUIET word back to the lock-free path (which the
 *                          note sends back to the lock: for ever)
 *   FAIR_CAS               a CAS step loads the word afresh (never fails):
 *                          the npfair rows (see FRESH below)
 *   REACHALL, REACHPT=k    vacuity: REACH(k) points become failing
 *                          assertions (run.sh's "reach" rows)
 *   NO_INVARIANTS          leave the invariant monitor out: the broken
 *                          variants must then still fail, by an invalid end
 *                          state (the lost wake-up itself)
 */

/* REACH points (paths of PASSED the checks are about):
 *   1 a woken wait that lost its retry went back PASSED
 *   2 its tick found the lock free and took it
 *   3 its tick found the lock held: STARVING, left to the next unlock
 *   4 an unlock released the lock with a PASSED head (no wake)
 *   5 an unlock by its own loop handed a PASSED head the lock directly
 *   6 a cancel removed the PASSED head with the lock free and woke the next
 *   7 a newcomer took the free lock past a PASSED head
 *   8 a tick of a wait no longer PASSED (handed the lock, cancelled): no-op
 *   9 an unlock handed the lock to a head made STARVING by its tick
 *  10 (PASS_LOOPS without a loop's bit) a wait went back STARVING at once
 *  11 a lock-free unlock in QUIET (the head PASSED, nobody woken)
 *  12 ... from the PASSED head's own loop (its note missing or lost)
 *  13 a noted unlock took the queue lock in QUIET, the head its loop's
 *     (then hands it the lock: 5)
 *  14 a noted unlock took the queue lock in QUIET, the head another
 *     loop's (a stale note: it releases, the note is cleared)
 *  15 a tick under a held lock cleared QUIET
 *  16 (SPLIT_LOCKED) a tick's CAS found the word moved since its load (the
 *     holder's lock-free unlock in QUIET, or a barger)
 *  17 a rewake that woke nobody cleared QUIET under a held lock (the
 *     PASSED head cancelled)
 *  18 (SPLIT_LOCKED) a cancel's rewake CAS found the word moved since its
 *     load (then decides again: wake, or write)
 *  19 an unlock's direct hand-off left QUIET set (a STARVING head handed
 *     the lock with a PASSED wait behind it; not reached: see README.md)
 *  20 a noted unlock kept its note (the head still PASSED and its loop's
 *     after the locked path; not reached: see README.md)
 */
#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif

#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */
#define RESUME  3   /* AS__W_RESUME */

#define ECANCELED 1

#define M_LOCKED  1
#define M_WAITERS 2
#define M_WOKEN   4
#define M_QUIET   16     /* (CLOSED, 8, is cancel.pml's) */

#define F_STARVING   1   /* AS__F_STARVING */
#define F_GIVE_UP    2   /* AS__F_GIVE_UP */
#define F_PASSED     4   /* AS__F_PASSED */

#ifndef PASS_LOOPS
#define PASS_LOOPS 6     /* bit l: loop l has a timer of its own */
#endif
/* as__pass_may(w) */
#define PASS_MAY(w) (((PASS_LOOPS >> wloop[w]) & 1) != 0)
#define PASSED(w) ((wflags[w] & F_PASSED) != 0)

/* The QUIET rule, recomputed under the queue lock at every write of the
 * word, for the queue as it is after the write and the write's WOKEN bit
 * `wk`: QUIET iff the queue is not empty, its head is PASSED and WOKEN is
 * clear.  -DBUG_MQUIET_WOKEN: QUIET also while a woken waiter is on its way
 * (a wake "leaves nothing for an unlock to do"). */
#ifndef BUG_MQUIET_WOKEN
#define QUIET_OF(wk) ((qlen > 0 && PASSED(q[0]) && (wk) == 0) -> M_QUIET : 0)
#else
#define QUIET_OF(wk) ((qlen > 0 && (PASSED(q[0]) || (wk) != 0)) -> M_QUIET : 0)
#endif
/* the monitor's: the rule as specified, for the word as it is */
#define QUIET_RULE (qlen > 0 && PASSED(q[0]) && (word & M_WOKEN) == 0)

/* -DSPLIT_LOCKED: the locked sections that write the word (the cancel's
 * rewake, the tick) load it in one step and write it (a CAS, the
 * load it retries from merged with it) in later ones, so that the
 * holder's lock-free unlock in QUIET can come between; the broken
 * variants that write a value planned from the load need it. */
#if defined(BUG_MQUIET_STORE) || defined(BUG_MQUIET_TICK_FETCH_AND) || defined(BUG_MQUIET_REWAKE_FETCH_AND)
#ifndef SPLIT_LOCKED
#define SPLIT_LOCKED
#endif
#endif

#ifdef STRICT
#define IS_STRICT 1
/* mutex_can_take: strict takes only a word without LOCKED, WAITERS, WOKEN */
#define CAN_TAKE(v) (((v) & (M_LOCKED | M_WAITERS | M_WOKEN)) == 0)
#else
#define IS_STRICT 0
#define CAN_TAKE(v) (((v) & M_LOCKED) == 0)
#endif

#ifndef NLOOPS
#define NLOOPS 2
#endif
#ifndef L1_WAITS
#define L1_WAITS 2
#endif
#if NLOOPS == 2
#define NW (L1_WAITS + 1)
#define NPROC 3
#else
#define NW L1_WAITS
#define NPROC 2
#endif
#define MAXW 3
#define W3 (L1_WAITS + 1)    /* loop2's wait */

/* ---- as_mutex ----------------------------------------------------------- */
byte word = M_LOCKED;    /* as__word: t holds the lock at the start */
byte qlock;              /* as__lock: 0 free, else holder's _pid + 1 */
byte q[MAXW];            /* the FIFO, head = q[0] */
byte qlen;

/* ---- as_wait (ids 1..NW) ------------------------------------------------ */
byte state[MAXW + 1];    /* as__state */
byte wflags[MAXW + 1];   /* as__flags protocol bits */
byte wstatus[MAXW + 1];  /* as__status */
byte wloop[MAXW + 1];    /* as__loop */

byte mbox[3];            /* per loop: delivered waits (bit w), any order */

/* ---- ghosts ------------------------------------------------------------- */
byte owners = 1;         /* threads holding + DONE waits carrying the lock */
bool carried[MAXW + 1];
bit cbit[MAXW + 1];      /* the CANCEL bit of as__state (AS__W_CANCEL) */
byte ncb[MAXW + 1];      /* callbacks run */
byte pend[MAXW + 1];     /* 1: its lock_async returned 0 */
byte finished;
bit tmr[MAXW + 1];       /* w's loop's heap is keyed for its pass (M5) */
bit note[3];             /* loop l's thread's note (mutex_passed_here) is on
                          * the mutex (t, index 0, runs no loop: never) */

#define NRESUME ((state[1] == RESUME -> 1 : 0) + (state[2] == RESUME -> 1 : 0) + (state[3] == RESUME -> 1 : 0))
/* Q1 (waitq.h): a wait is in the queue iff its state is QUEUED */
#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0) + (state[3] == QUEUED -> 1 : 0))
#define Q1 (NQUEUED == qlen && (qlen < 1 || state[q[0]] == QUEUED) && (qlen < 2 || state[q[1]] == QUEUED) && (qlen < 3 || state[q[2]] == QUEUED))
/* M5: the queued PASSED waits (at most one, the head) */
#define QPASSED(w) (state[w] == QUEUED && PASSED(w))
#define NPASSED ((QPASSED(1) -> 1 : 0) + (QPASSED(2) -> 1 : 0) + (QPASSED(3) -> 1 : 0))
#define PASSED_ONLY_HEAD ((qlen < 2 || !PASSED(q[1])) && (qlen < 3 || !PASSED(q[2])))
#define PASSED_TIMER ((!QPASSED(1) || tmr[1]) && (!QPASSED(2) || tmr[2]) && (!QPASSED(3) || tmr[3]))
#define STARVING_ONLY_HEAD ((qlen < 2 || (wflags[q[1]] & F_STARVING) == 0) && (qlen < 3 || (wflags[q[2]] & F_STARVING) == 0))

/* ---- waitq.h: list surgery, always under the queue lock, inside an
 * atomic step of the caller ---------------------------------------------- */

/* as__q_push_tail: links w, stores obj, publishes QUEUED */
inline QPUSH_TAIL(w)
{
    assert(qlock == _pid + 1 && qlen < NW && state[w] != QUEUED);
    q[qlen] = w;
    qlen++;
    state[w] = QUEUED
}

/* as__q_push_head */
inline QPUSH_HEAD(w)
{
    assert(qlock == _pid + 1 && qlen < NW && state[w] != QUEUED);
    i = qlen;
    do
    :: i > 0 -> q[i] = q[i - 1]; i--
    :: else -> break
    od;
    q[0] = w;
    qlen++;
    state[w] = QUEUED
}

/* as__q_remove(p, w, st) */
inline QREMOVE(w, st)
{
    assert(qlock == _pid + 1 && state[w] == QUEUED);
    i = 0;
    do
    :: q[i] == w -> break
    :: else -> i++
    od;
    do
    :: i + 1 < qlen -> q[i] = q[i + 1]; i++
    :: else -> break
    od;
    qlen--;
    q[qlen] = 0;
    state[w] = st;
    i = 0
}

/* as__q_unlock */
inline QUNLOCK()
{
    assert(qlock == _pid + 1);
    qlock = 0
}

/* as__q_lock followed by the first load of the word */
inline q_lock_load()
{
    atomic { qlock == 0 -> qlock = _pid + 1; v = word }
}

/* as__wait_finish: hand w (DONE or RESUME) to its loop */
inline finish(w)
{
    atomic {
        assert((mbox[wloop[w]] & (1 << w)) == 0);   /* not delivered twice */
        mbox[wloop[w]] = mbox[wloop[w]] | (1 << w)
    }
}

/* ---- mutex.c ------------------------------------------------------------ */

/* FAIR_CAS (the npfair rows): a CAS step loads the word afresh, decides
 * and writes in one step, so it never fails.  A failed CAS changes nothing
 * and is retried from the value it read, so this drops no behaviour but
 * the cycles where a loop's CAS loses to the barger for ever (the C code
 * is lock-free, not wait-free: not what those rows are about).  Each CAS
 * retry loop below therefore decides inside its CAS step, on v. */
#ifdef FAIR_CAS
#define FRESH() v = word
#else
#define FRESH() skip
#endif

/* mutex_try: the lock-free fast path (got = 1: acquired) */
inline mutex_try()
{
    got = 0;
    v = word;
    do
    :: CAN_TAKE(v) ->
        atomic {
            FRESH();
            if
            :: CAN_TAKE(v) && word == v ->
                if
                :: qlen > 0 && PASSED(q[0]) -> REACH(7)
                :: else
                fi;
                word = v | M_LOCKED; owners++; got = 1
            :: else -> v = word
            fi
        };
        if
        :: got -> assert(owners == 1); break
        :: else
        fi
    :: else -> break
    od
}

/* mutex_take_or_park_locked, then as__q_unlock.  Queue lock held, v loaded.
 * got = 1: w holds the lock; else w is queued. */
inline take_or_park_unlock(w)
{
    got = 0;
    do
    :: got || ok -> break
    :: else ->
#ifndef BUG_PARK_NO_RECHECK
        atomic {
            FRESH();
            if
            :: CAN_TAKE(v) && word == v ->
                word = v | M_LOCKED; owners++; got = 1; QUNLOCK()
            :: !CAN_TAKE(v) && (v & M_WAITERS) != 0 ->
                /* WAITERS already set: no CAS (the value v was read) */
                QPUSH_TAIL(w); QUNLOCK(); ok = 1
            :: !CAN_TAKE(v) && (v & M_WAITERS) == 0 && word == v ->
                /* add_waiter_if: park only while the word still says
                 * "held" */
                word = v | M_WAITERS; QPUSH_TAIL(w); QUNLOCK(); ok = 1
            :: else -> v = word
            fi
        }
#else
        atomic {
            FRESH();
            if
            :: CAN_TAKE(v) && word == v ->
                word = v | M_LOCKED; owners++; got = 1; QUNLOCK()
            :: !CAN_TAKE(v) && (v & M_WAITERS) != 0 ->
                QPUSH_TAIL(w); QUNLOCK(); ok = 1
            :: !CAN_TAKE(v) && (v & M_WAITERS) == 0 ->
                word = word | M_WAITERS; QPUSH_TAIL(w); QUNLOCK(); ok = 1
            :: else -> v = word
            fi
        }
#endif
    od;
    if
    :: got -> assert(owners == 1)
    :: else
    fi;
    ok = 0
}

/* as_mutex_lock_async: r = 1 acquired at once, 0 pending */
inline mutex_lock_async(w)
{
    mutex_try();
    if
    :: got -> r = 1
    :: else ->
        atomic {
            qlock == 0 -> qlock = _pid + 1;
            wflags[w] = 0; wstatus[w] = 0;   /* as__wait_prepare */
            v = word
        };
        take_or_park_unlock(w);
        r = got
    fi;
    got = 0
}

/* mutex_wake_head_locked(m, v): CAS the word from v to WOKEN (| WAITERS if
 * more remain; QUIET clear: WOKEN is set) and take the head off as RESUME;
 * h = the head, or 0 if the CAS failed.  Queue lock held.  Called inside
 * an atomic step. */
inline WAKE_HEAD()
{
    h = q[0];
    if
    :: qlen > 1 -> nv = M_WOKEN | M_WAITERS
    :: else -> nv = M_WOKEN
    fi;
    if
    :: word == v ->
        if
        :: (v & M_LOCKED) != 0 -> owners--
        :: else
        fi;
        QREMOVE(h, RESUME);
        word = nv | QUIET_OF(M_WOKEN)
    :: else -> h = 0
    fi;
    nv = 0
}

/* as_mutex_unlock, by a thread running loop `me` (0: none).  The C code's
 * tail calls `return as_mutex_unlock(m)` are the outer loop.  Lock-free
 * (the load, then the CAS: two steps) when WAITERS is clear, or QUIET is
 * set and this thread's note is not on the mutex (note[me]; -DHINT_LOST: a
 * noted unlock may go lock-free all the same, its note overwritten by
 * another mutex's); else the queue lock. */
inline mutex_unlock(me)
{
    done = 0;
    do
    :: done -> break
    :: else ->
        v = word;
        do
        :: (v & M_LOCKED) == 0 -> assert(false)   /* -EPERM: we hold it */
        :: (v & M_LOCKED) != 0 && (v & M_WAITERS) != 0 && ((v & M_QUIET) == 0 || note[me]) -> break
        :: (v & M_LOCKED) != 0 && ((v & M_WAITERS) == 0 || ((v & M_QUIET) != 0 && !note[me])
#ifdef HINT_LOST
                                   || (v & M_QUIET) != 0
#endif
                                  ) ->
            /* nobody queued (a woken waiter may be on its way: WOKEN
             * stays), or QUIET: the head is PASSED and nobody is woken, so
             * the locked path would only release (its tick retries) */
            atomic {
                if
                :: word == v ->
                    if
                    :: (v & M_QUIET) != 0 ->
                        REACH(11);
                        if
                        :: me != 0 && wloop[q[0]] == me -> REACH(12)
                        :: else
                        fi
                    :: else
                    fi;
                    word = v & ~M_LOCKED; owners--; done = 1
                :: else -> v = word
                fi
            };
            if
            :: done -> break
            :: else
            fi
        od;
        if
        :: done
        :: else ->
            /* as__q_lock, the load, and the critical section: one step.
             * While LOCKED is set only the holder (here, the caller) writes
             * the word (M4: the other writers hold the queue lock, or are
             * the holder's own lock-free unlock) and everything else this
             * section touches is under the queue lock, so no step of
             * another thread between them can matter; as one step, the
             * queue lock is never seen held by an unlocker (the npfair
             * rows: a thread that unlocks again and again would otherwise
             * keep a loop's tick, which waits for the queue lock, from
             * being continuously enabled) */
            atomic {
                qlock == 0 -> qlock = _pid + 1;
                v = word;
                assert((v & M_LOCKED) != 0);
                h = q[0];
                if
                :: (v & M_QUIET) != 0 && note[me] && wloop[h] == me -> REACH(13)
                :: (v & M_QUIET) != 0 && note[me] && wloop[h] != me -> REACH(14)
                :: else
                fi;
                if
                :: (v & M_WAITERS) == 0 ->
                    h = 0   /* the queue emptied (cancel): again */
#ifdef BUG_MQUIET_RECHECK
                :: (v & M_QUIET) != 0 ->
                    /* QUIET: "nothing for the lock to do": again */
                    h = 0
#endif
                :: else ->
                    done = 1;
                    if
                    :: IS_STRICT || (wflags[h] & F_STARVING) != 0 || wloop[h] == me ->
                        /* direct hand-off: h leaves the queue holding the
                         * lock (M4: we are the only writer); QUIET if the
                         * new head is PASSED and WOKEN is clear */
                        if
                        :: PASSED(h) -> REACH(5)
                        :: (wflags[h] & F_STARVING) != 0 && PASS_MAY(h) -> REACH(9)
                        :: else
                        fi;
                        QREMOVE(h, DONE);
                        word = M_LOCKED | (v & M_WOKEN) | (qlen > 0 -> M_WAITERS : 0) | QUIET_OF(v & M_WOKEN);
                        if
                        :: (word & M_QUIET) != 0 -> REACH(19)
                        :: else
                        fi;
                        carried[h] = true
                    :: else ->
                        if
                        :: (v & M_WOKEN) != 0 || PASSED(h) ->
                            /* a woken waiter is on its way, or the head
                             * retries at its timer (M2): release (QUIET
                             * as it was: neither changes) */
                            if
                            :: PASSED(h) -> REACH(4)
                            :: else
                            fi;
                            word = v & ~M_LOCKED; owners--;
                            h = 0
                        :: else ->
                            /* release and wake the head to retry */
                            WAKE_HEAD();
                            assert(h != 0)  /* M4: this CAS cannot fail */
                        fi
                    fi
                fi;
                /* a noted unlock that went through renews its note: kept
                 * only while the head is PASSED and of this thread's loop */
                if
                :: done && note[me] ->
                    note[me] = (qlen > 0 && PASSED(q[0]) && wloop[q[0]] == me);
                    if
                    :: note[me] -> REACH(20)
                    :: else
                    fi
                :: else
                fi;
                QUNLOCK()
            };
            if
            :: h != 0 -> finish(h); h = 0
            :: else
            fi
        fi
    od;
    done = 0
}

/* mutex_rewake_locked(m, wk), queue lock held, v loaded: h = the head,
 * woken, or 0.  It wakes the head if the lock is free, the queue is not
 * empty, nobody else is woken (wk: the caller is the woken wait that gives
 * up, whose WOKEN it clears) and the head is not PASSED; else it CASes the
 * word so that QUIET matches the head as it is now (a cancel, deadline or
 * close may have removed the PASSED head while the lock is held: QUIET
 * cleared, else unlocks skip the queue lock and the new head is never
 * woken), clearing WOKEN for wk.  A failed CAS (the holder's lock-free
 * unlock in QUIET, a barger) decides again from the new value: wake, or
 * write.  -DBUG_MQUIET_REWAKE_KEEPS: QUIET is left as it was;
 * -DBUG_MQUIET_REWAKE_FETCH_AND: the write is an RMW on the word as it is
 * (QUIET recomputed, nothing lost) but the wake is not decided again;
 * -DBUG_PASS_NO_REWAKE: the cancel's rewake (!wk) never wakes. */
#ifndef BUG_PASS_NO_REWAKE
#define REWAKES(wk) 1
#else
#define REWAKES(wk) (wk)
#endif
inline rewake_locked(wk)
{
    h = 0;
    do
    :: h != 0 || done -> break
    :: else ->
        atomic {
            FRESH();
            if
            :: (v & M_LOCKED) == 0 && (v & M_WAITERS) != 0 && (wk || (v & M_WOKEN) == 0) && !PASSED(q[0]) && REWAKES(wk) ->
                WAKE_HEAD();        /* h = 0: its CAS failed */
                if
                :: h == 0 -> v = word
                :: else
                fi
            :: else ->
#ifndef BUG_MQUIET_REWAKE_KEEPS
                nv = (v & ~(M_QUIET | (wk -> M_WOKEN : 0))) | QUIET_OF(wk -> 0 : (v & M_WOKEN));
#else
                nv = v & ~(wk -> M_WOKEN : 0);
#endif
                if
                :: word == v ->
                    if
                    :: (v & (M_LOCKED | M_QUIET)) == (M_LOCKED | M_QUIET) && (nv & M_QUIET) == 0 -> REACH(17)
                    :: else
                    fi;
                    word = nv; done = 1
#ifdef BUG_MQUIET_REWAKE_FETCH_AND
                :: word != v && !wk ->
                    /* an RMW planned from the load: QUIET recomputed on
                     * the word as it is, the wake not decided again */
                    word = (word & ~M_QUIET) | QUIET_OF(word & M_WOKEN); done = 1
#endif
                :: else ->
                    if
                    :: !wk -> REACH(18)
                    :: else
                    fi;
                    v = word
                fi;
                nv = 0
            fi
        }
    od;
    done = 0
}

/* as__mutex_resume: a RESUME wait arrived on its loop (loop thread) */
inline mutex_resume(w)
{
    q_lock_load();
    if
    :: (wflags[w] & F_GIVE_UP) != 0 ->
#ifndef BUG_CANCEL_NO_PASS
        rewake_locked(1);
#else
        atomic { word = word & ~M_WOKEN; h = 0 };
#endif
        /* give up with the status the cancel left (-ECANCELED) */
        atomic { state[w] = DONE; QUNLOCK() };
        finish(w);
        if
        :: h != 0 -> finish(h); h = 0
        :: else
        fi
    :: else ->
        got = 0;
        do
        :: got -> assert(owners == 1); finish(w); break
        :: ok -> break
        :: else ->
            atomic {
                FRESH();
                if
                :: (v & M_LOCKED) == 0 && word == v ->
                    word = (v | M_LOCKED) & ~M_WOKEN;
                    owners++;
                    carried[w] = true;
                    state[w] = DONE;
                    QUNLOCK();
                    got = 1
            /* someone barged in: back to the head (M5), PASSED if its loop
             * has a timer (it retries at the timer: as__timer_rekey, this
             * thread's heap, keyed before its loop runs again), else
             * STARVING (the next unlock hands it the lock) */
                :: (v & M_LOCKED) != 0 && word == v ->
                    QPUSH_HEAD(w);
                    if
                    :: (wflags[w] & (F_PASSED | F_STARVING)) == 0 && PASS_MAY(w) ->
                        REACH(1);
                        wflags[w] = wflags[w] | F_PASSED;
#ifndef BUG_PASS_NO_TIMER
                        tmr[w] = 1;
#endif
                        /* the thread's note = m (after the unlock: only
                         * this thread reads it) */
                        note[me] = 1
                    :: else ->
                        if
                        :: !PASS_MAY(w) -> REACH(10)
                        :: else
                        fi;
                        wflags[w] = wflags[w] | F_STARVING
                    fi;
                    /* the CAS sets WAITERS, clears WOKEN, and sets QUIET
                     * iff w goes back PASSED (it is then the head, and no
                     * other wait is PASSED while one is woken, M5) */
                    word = ((v | M_WAITERS) & ~(M_WOKEN | M_QUIET)) | QUIET_OF(0);
                    QUNLOCK();
                    ok = 1
                :: else -> v = word
                fi
            }
        od;
        got = 0;
        ok = 0
    fi
}

/* as_cancel (wait.c) of a DONE wait on the loop thread: the CAS DONE ->
 * DONE|CANCEL (it cannot fail here: only this thread's callback changes a
 * DONE state; the race with it is cancel.pml's); a wait carrying the lock
 * passes it on (mutex_giveback: as_mutex_unlock, from this thread). */
inline done_cancel(w)
{
    cbit[w] = 1;
    if
    :: carried[w] -> carried[w] = false; mutex_unlock(me)
    :: else
    fi
}

/* as_cancel (loop thread): DONE -> the CAS path; QUEUED or RESUME ->
 * mutex_cancel (as__q_lock_wait, as__q_cancel_locked, mutex_fixup), whose
 * critical section has one word access (the fetch_and): one step.  A wait
 * decided meanwhile (-ENOENT) is looked at again: DONE. */
inline mutex_cancel(w)
{
    if
    :: state[w] == IDLE -> skip              /* as_cancel: -ENOENT */
    :: state[w] == DONE -> done_cancel(w)
    :: state[w] == QUEUED || state[w] == RESUME ->
        atomic {
            qlock == 0 -> qlock = _pid + 1;
            if
            :: state[w] == QUEUED ->
                QREMOVE(w, DONE);
                wstatus[w] = ECANCELED;
                /* mutex_fixup: M1 (the queue emptied: WAITERS and QUIET
                 * cleared together, one fetch_and), or M2: w may have been
                 * the PASSED head (mutex_rewake_locked(m, false), from the
                 * load here; one step with it unless SPLIT_LOCKED) */
                if
                :: qlen == 0 -> word = word & ~(M_WAITERS | M_QUIET)
                :: else -> v = word; nv = 2
                fi;
                ok = 1
            :: state[w] == RESUME ->
                /* GIVE_UP with -ECANCELED, and the CANCEL bit */
                wflags[w] = wflags[w] | F_GIVE_UP;
                wstatus[w] = ECANCELED;
                cbit[w] = 1;
                ok = 0
            :: else -> ok = 0; nv = 1        /* DONE meanwhile: -ENOENT */
            fi;
#ifndef SPLIT_LOCKED
            if
            :: nv == 2 -> nv = 0; rewake_locked(0)
            :: else
            fi;
            QUNLOCK()
#else
            if
            :: nv == 2
            :: else -> QUNLOCK()
            fi
#endif
        };
#ifdef SPLIT_LOCKED
        if
        :: nv == 2 -> nv = 0; rewake_locked(0); atomic { QUNLOCK() }
        :: else
        fi;
#endif
        if
        :: ok -> finish(w); ok = 0
        :: nv == 1 -> nv = 0; done_cancel(w)
        :: else
        fi;
        if
        :: h != 0 ->
            if
            :: PASSED(w) -> REACH(6)
            :: else
            fi;
            finish(h); h = 0   /* as__batch_finish: the rewoken head */
        :: else
        fi
    fi
}

/* kind->tick of the mutex (mutex_tick), on w's loop thread, for a wait whose
 * pass keyed the heap (tmr[w]): it clears this thread's note (at the
 * start), then, under the queue lock, a QUEUED wait still PASSED becomes
 * STARVING and the word is CASed from its load: the lock free, the CAS
 * takes it for w and clears QUIET (with the fetch_and of WAITERS after it,
 * one step: the holder is now w, whose callback runs after the queue lock
 * is released, so nobody writes the word in between, M4), w leaves DONE;
 * the lock held, the CAS clears QUIET (the next unlock takes the queue
 * lock and hands w the lock); a
 * failed CAS (the holder's lock-free unlock in QUIET came first: the lock
 * is now free) decides again.  A wait no longer PASSED (handed the lock by
 * its own loop, cancelled) is left alone (then as__timer_rekey).  One step
 * unless SPLIT_LOCKED (then the load is one step and each CAS another).
 * -DBUG_MQUIET_TICK_KEEPS: the CAS under a held lock leaves QUIET set;
 * -DBUG_MQUIET_STORE: a plain store of the word planned from the load;
 * -DBUG_MQUIET_TICK_FETCH_AND: a fetch_and of QUIET, decided on the load. */
inline tick_cas(w)
{
    do
    :: !ok -> break
    :: else ->
        atomic {
            FRESH();
            if
#ifndef BUG_TICK_NO_TAKE
            :: (v & M_LOCKED) == 0 && word == v ->
                /* bargers may CAS the free word: claim it first */
                REACH(2);
                owners++;
                QREMOVE(w, DONE);
                carried[w] = true;
                word = (v | M_LOCKED) & ~M_QUIET;
                if
                :: qlen == 0 -> word = word & ~M_WAITERS
                :: else
                fi;
                got = 1; ok = 0; QUNLOCK()
#else
            :: (v & M_LOCKED) == 0 && word == v ->
                /* STARVING, QUIET cleared, the free lock not taken */
                word = v & ~M_QUIET; ok = 0; QUNLOCK()
#endif
            :: (v & M_LOCKED) != 0 && word == v ->
                REACH(3);
                if
                :: (v & M_QUIET) != 0 -> REACH(15)
                :: else
                fi;
#ifndef BUG_MQUIET_TICK_KEEPS
                word = v & ~M_QUIET;
#endif
                ok = 0; QUNLOCK()
#if defined(BUG_MQUIET_STORE)
            :: (v & M_LOCKED) != 0 && word != v ->
                /* a plain store of the word planned from the load */
                word = v & ~M_QUIET; ok = 0; QUNLOCK()
#elif defined(BUG_MQUIET_TICK_FETCH_AND)
            :: (v & M_LOCKED) != 0 && word != v ->
                /* an RMW decided on the load: the word as it is keeps its
                 * unlock, but the free lock is not taken */
                word = word & ~M_QUIET; ok = 0; QUNLOCK()
#endif
            :: else ->
                REACH(16);
                v = word
            fi
        }
    od
}

inline mutex_tick(w)
{
    atomic {
        qlock == 0 -> qlock = _pid + 1;
        note[me] = 0;       /* the thread's note cleared (at the start) */
        tmr[w] = 0;
        if
        :: PASSED(w) && state[w] == QUEUED ->
            wflags[w] = (wflags[w] & ~F_PASSED) | F_STARVING;
            v = word;
            ok = 1
        :: else -> REACH(8); QUNLOCK()
        fi;
#ifndef SPLIT_LOCKED
        tick_cas(w)
#endif
    };
#ifdef SPLIT_LOCKED
    tick_cas(w);
#endif
    if
    :: got -> assert(owners == 1); got = 0; finish(w)
    :: else
    fi
}

/* as_loop_run's timers: one of this loop's armed pass timers fires */
inline tick_one()
{
    if
    :: tmr[1] && wloop[1] == me -> w = 1
    :: tmr[2] && wloop[2] == me -> w = 2
    :: tmr[3] && wloop[3] == me -> w = 3
    fi;
    mutex_tick(w)
}
#define TMR(l) ((tmr[1] && wloop[1] == l) || (tmr[2] && wloop[2] == l) || (tmr[3] && wloop[3] == l))

/* as_loop_run: take one delivered wait; resume it, or call it back */
inline run_one()
{
    d_step {
        i = 1;
        do
        :: (mbox[me] & (1 << i)) != 0 -> break
        :: else -> i++
        od;
        w = i;
        mbox[me] = mbox[me] & ~(1 << w);
        i = 0;
        assert(wloop[w] == me && (state[w] == RESUME || state[w] == DONE))
    };
    if
    :: state[w] == RESUME -> mutex_resume(w)
    :: else ->
        /* as__run_callback (as__timer_remove: the heap forgets w) */
#ifdef T_FOREVER
progress:   /* npfair rows only: the -DNP rows without it forbid any cycle */
#endif
        d_step {
            state[w] = IDLE;
            tmr[w] = 0;
            pending--;
            ncb[w]++;
            assert(ncb[w] == 1);
            /* the status it reports: CANCEL -> -ECANCELED */
            if
            :: cbit[w] -> wstatus[w] = ECANCELED
            :: else
            fi;
            /* status 0 <=> the lock came with the wait */
            assert((wstatus[w] == 0) == carried[w]);
            carried[w] = false   /* the callback's thread owns it now */
        };
        if
        :: wstatus[w] == 0 -> mutex_unlock(me)
        :: else
        fi
    fi
}

/* start wait w on this loop: acquired at once -> critical section, unlock */
inline start(w)
{
    mutex_lock_async(w);
    if
    :: r == 1 -> mutex_unlock(me)
    :: else -> pending++; pend[w] = 1
    fi
}

proctype loop1()
{
    byte me = 1;
    byte v, nv, h, i, w, r, pending, cancel;
    bit got, ok, done, late;

    wloop[1] = 1;
#if L1_WAITS == 2
    wloop[2] = 1;
#endif
    /* which of its waits (if any) this loop cancels, when it pleases */
    if
    :: cancel = 0
    :: cancel = 1
#if L1_WAITS == 2
    :: cancel = 2
#endif
    fi;
    start(1);
#if L1_WAITS == 2
#ifndef L1_LATE
    start(2);
#else
    late = 1;
#endif
#endif
    do
    :: pending == 0 && !late -> break
#ifdef L1_LATE
    :: late -> late = 0; start(2)
#endif
    :: mbox[me] != 0 -> run_one()
    :: TMR(me) -> tick_one()
    :: cancel != 0 -> mutex_cancel(cancel); cancel = 0
    od;
    finished++
}

#if NLOOPS == 2
proctype loop2()
{
    byte me = 2;
    byte v, nv, h, i, w, r, pending, cancel;
    bit got, ok, done;

    wloop[W3] = 2;
    if
    :: cancel = 0
    :: cancel = W3
    fi;
    start(W3);
    do
    :: pending == 0 -> break
    :: mbox[me] != 0 -> run_one()
    :: TMR(me) -> tick_one()
    :: cancel != 0 -> mutex_cancel(cancel); cancel = 0
    od;
    finished++
}
#endif

/* A thread that runs no loop: unlocks the mutex it holds, then barges. */
proctype t()
{
    byte me = 0;
    byte v, nv, h, i;
    bit got, ok, done;

    mutex_unlock(me);
#ifndef T_FOREVER
    mutex_try();
    if
    :: got -> mutex_unlock(me)
    :: else
    fi;
#else
    /* barge again and again until the loops are done (npfair rows: under
     * weak fairness a waiter must still be served) */
    do
    :: finished == NPROC - 1 -> break
    :: else ->
        mutex_try();
        if
        :: got -> mutex_unlock(me)
        :: else
        fi
    od;
#endif
    finished++
}

/* Invariants, in every reachable state where the queue lock is free. */
#ifndef NO_INVARIANTS
active proctype monitor()
{
    atomic {
        qlock == 0 ->
        assert(Q1);
        assert(owners <= 1);
        assert(((word & M_LOCKED) != 0) == (owners == 1));
        /* M1 */
        assert(((word & M_WAITERS) != 0) == (qlen > 0));
        /* QUIET <=> the queue not empty, its head PASSED, WOKEN clear
         * (strict: never PASSED, so never QUIET) */
        assert(((word & M_QUIET) != 0) == QUIET_RULE);
#ifndef STRICT
        /* M2 */
        assert((word & M_LOCKED) != 0 || qlen == 0 || (word & M_WOKEN) != 0 || PASSED(q[0]));
        assert(((word & M_WOKEN) != 0) == (NRESUME == 1));
        assert(NRESUME <= 1);
        assert(STARVING_ONLY_HEAD);
        /* M5 */
        assert(NPASSED <= 1 && (NPASSED == 0 || (word & M_WOKEN) == 0));
        assert(PASSED_ONLY_HEAD);
        assert(PASSED_TIMER);   /* its loop's heap is keyed for it */
#else
        /* M3 */
        assert((word & M_WOKEN) == 0 && NRESUME == 0);
        assert(qlen == 0 || (word & M_LOCKED) != 0);
#endif
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    atomic {
        finished == NPROC ->
        assert(word == 0 && qlen == 0 && qlock == 0 && owners == 0);
        assert(mbox[1] == 0 && mbox[2] == 0);
        assert(!tmr[1] && !tmr[2] && !tmr[3]);
        /* exactly one callback per wait that went pending, none else */
        assert(ncb[1] == pend[1] && ncb[2] == pend[2] && ncb[3] == pend[3])
    }
}

init
{
    atomic {
        run t();
        run loop1();
#if NLOOPS == 2
        run loop2()
#endif
    }
}
