/*
 * mutex.pml -- the mutex of src/mutex.c on the waiter queue of src/waitq.h:
 * LOCKED / WAITERS / WOKEN word, add_waiter_if parking, direct hand-off
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
 * Threads:
 *   t       a thread that runs no loop; it holds the mutex at the start,
 *           unlocks it, then tries once to barge (as_mutex_try_lock) and
 *           unlocks again if it got it (-DT_FOREVER: again and again, until
 *           both loops are done: the npfair rows)
 *   loop1   a loop thread with L1_WAITS waits (1, then 2) started with
 *           as_mutex_lock_async in that order; each acquisition (at once, or
 *           a callback with status 0) is a critical section that ends with
 *           as_mutex_unlock on that thread; it may cancel one of its waits,
 *           at any moment
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
 *   - exactly one callback per wait that went pending; status 0 <=> the
 *     callback owns the lock
 *   - invalid end states: no lost wake-up, nobody stuck; at the end the
 *     word is 0 and the queue empty
 *   - -DT_FOREVER, npfair: under weak fairness no cycle without a callback
 *     (progress label): a waiter is not passed for ever (the timer is a
 *     step its loop eventually takes)
 *
 * Build-time switches:
 *   STRICT                 AS_MUTEX_STRICT_FIFO
 *   NLOOPS (2), L1_WAITS (2)
 *   PASS_LOOPS (6)         bit l set: loop l has a timer of its own
 *                          (as__pass_may): its waits go back PASSED; clear:
 *                          STARVING at once (a notify or IOCP loop)
 *   T_FOREVER              t barges again and again until the loops are done
 *   Deliberately broken variants (each must FAIL):
 *   BUG_CANCEL_NO_PASS     a cancelled RESUME wait clears WOKEN on arrival
 *                          but does not pass the wake to the next head
 *   BUG_PARK_NO_RECHECK    a locker sets WAITERS with a blind fetch_or
 *                          instead of a CAS from the value it saw held
 *   BUG_PASS_NO_REWAKE     a cancel that removes the PASSED head while the
 *                          lock is free does not wake the next head
 *                          (mutex_fixup without mutex_rewake_locked)
 *   BUG_TICK_NO_TAKE       the timer makes the PASSED wait STARVING but does
 *                          not take the free lock for it
 *   BUG_PASS_NO_TIMER      a PASSED wait's timer is never armed (never fires)
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

#define F_STARVING   1   /* AS__F_STARVING */
#define F_GIVE_UP    2   /* AS__F_GIVE_UP */
#define F_PASSED     4   /* AS__F_PASSED */

#ifndef PASS_LOOPS
#define PASS_LOOPS 6     /* bit l: loop l has a timer of its own */
#endif
/* as__pass_may(w) */
#define PASS_MAY(w) (((PASS_LOOPS >> wloop[w]) & 1) != 0)
#define PASSED(w) ((wflags[w] & F_PASSED) != 0)

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
 * more remain) and take the head off as RESUME; h = the head, or 0 if the
 * CAS failed.  Queue lock held.  Called inside an atomic step. */
inline WAKE_HEAD()
{
    h = q[0];
    if
    :: qlen > 1 -> nv = M_WOKEN | M_WAITERS
    :: else -> nv = M_WOKEN
    fi;
    if
    :: word == v ->
        word = nv;
        if
        :: (v & M_LOCKED) != 0 -> owners--
        :: else
        fi;
        QREMOVE(h, RESUME)
    :: else -> h = 0
    fi;
    nv = 0
}

/* as_mutex_unlock, by a thread running loop `me` (0: none).  The C code's
 * tail calls `return as_mutex_unlock(m)` are the outer loop. */
inline mutex_unlock(me)
{
    done = 0;
    do
    :: done -> break
    :: else ->
        v = word;
        do
        :: (v & M_LOCKED) == 0 -> assert(false)   /* -EPERM: we hold it */
        :: (v & M_LOCKED) != 0 && (v & M_WAITERS) != 0 -> break
        :: (v & M_LOCKED) != 0 && (v & M_WAITERS) == 0 ->
            /* nobody queued (a woken waiter may be on its way: WOKEN stays) */
            atomic {
                if
                :: word == v -> word = v & ~M_LOCKED; owners--; done = 1
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
             * the word (M4) and everything else this section touches is
             * under the queue lock, so no step of another thread between
             * them can matter; as one step, the queue lock is never seen
             * held by an unlocker (the npfair rows: a thread that unlocks
             * again and again would otherwise keep a loop's tick, which
             * waits for the queue lock, from being continuously enabled) */
            atomic {
                qlock == 0 -> qlock = _pid + 1;
                v = word;
                assert((v & M_LOCKED) != 0);
                h = q[0];
                if
                :: (v & M_WAITERS) == 0 ->
                    QUNLOCK(); h = 0   /* the queue emptied (cancel): again */
                :: else ->
                    done = 1;
                    if
                    :: IS_STRICT || (wflags[h] & F_STARVING) != 0 || wloop[h] == me ->
                        /* direct hand-off: h leaves the queue holding the
                         * lock (M4: we are the only writer) */
                        if
                        :: PASSED(h) -> REACH(5)
                        :: (wflags[h] & F_STARVING) != 0 && PASS_MAY(h) -> REACH(9)
                        :: else
                        fi;
                        QREMOVE(h, DONE);
                        word = M_LOCKED | (v & M_WOKEN) | (qlen > 0 -> M_WAITERS : 0);
                        carried[h] = true;
                        QUNLOCK()
                    :: else ->
                        if
                        :: (v & M_WOKEN) != 0 || PASSED(h) ->
                            /* a woken waiter is on its way, or the head
                             * retries at its timer (M2): release */
                            if
                            :: PASSED(h) -> REACH(4)
                            :: else
                            fi;
                            word = v & ~M_LOCKED; owners--;
                            QUNLOCK(); h = 0
                        :: else ->
                            /* release and wake the head to retry */
                            WAKE_HEAD();
                            QUNLOCK();
                            assert(h != 0)  /* M4: this CAS cannot fail */
                        fi
                    fi
                fi
            };
            if
            :: h != 0 -> finish(h); h = 0
            :: else
            fi
        fi
    od;
    done = 0
}

/* mutex_rewake_locked(m, true), for a woken wait that gives up: h = the
 * next head, woken, or 0 (it clears WOKEN).  Lock held. */
inline pass_wake_locked()
{
    v = word;
    h = 0;
    do
    :: h != 0 || ok -> break
    :: else ->
        atomic {
            FRESH();
            if
            :: (v & M_LOCKED) == 0 && (v & M_WAITERS) != 0 && !PASSED(q[0]) ->
                WAKE_HEAD();        /* h = 0: its CAS failed */
                if
                :: h == 0 -> v = word
                :: else
                fi
            :: else ->
                if
                :: word == v -> word = v & ~M_WOKEN; ok = 1
                :: else -> v = word
                fi
            fi
        }
    od;
    ok = 0
}

/* as__mutex_resume: a RESUME wait arrived on its loop (loop thread) */
inline mutex_resume(w)
{
    q_lock_load();
    if
    :: (wflags[w] & F_GIVE_UP) != 0 ->
#ifndef BUG_CANCEL_NO_PASS
        pass_wake_locked();
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
                    word = (v | M_WAITERS) & ~M_WOKEN;
                    QPUSH_HEAD(w);
                    if
                    :: (wflags[w] & (F_PASSED | F_STARVING)) == 0 && PASS_MAY(w) ->
                        REACH(1);
                        wflags[w] = wflags[w] | F_PASSED;
#ifndef BUG_PASS_NO_TIMER
                        tmr[w] = 1
#else
                        skip
#endif
                    :: else ->
                        if
                        :: !PASS_MAY(w) -> REACH(10)
                        :: else
                        fi;
                        wflags[w] = wflags[w] | F_STARVING
                    fi;
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
                /* mutex_fixup: M1, or M2: w may have been the PASSED head
                 * (mutex_rewake_locked(m, false): wake the next head if
                 * the lock is free, nobody is woken and it is not PASSED;
                 * its CAS and the load it retries from are one step) */
                if
                :: qlen == 0 -> word = word & ~M_WAITERS
                :: else ->
#ifndef BUG_PASS_NO_REWAKE
                    v = word;
                    if
                    :: (v & (M_LOCKED | M_WOKEN)) == 0 && (v & M_WAITERS) != 0 && !PASSED(q[0]) ->
                        if
                        :: PASSED(w) -> REACH(6)
                        :: else
                        fi;
                        WAKE_HEAD();
                        assert(h != 0)
                    :: else
                    fi
#else
                    skip
#endif
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
            QUNLOCK()
        };
        if
        :: ok -> finish(w); ok = 0
        :: nv == 1 -> nv = 0; done_cancel(w)
        :: else
        fi;
        if
        :: h != 0 -> finish(h); h = 0   /* as__batch_finish: the rewoken head */
        :: else
        fi
    fi
}

/* kind->tick of the mutex (mutex_tick), on w's loop thread, for a wait whose
 * pass keyed the heap (tmr[w]): under the queue lock, a QUEUED wait still
 * PASSED becomes STARVING and, if the lock is free, takes it (the CAS, one
 * word access with the fetch_and of WAITERS after it: nobody else writes a
 * word with LOCKED set and WAITERS set, M4) and leaves DONE; else the next
 * unlock hands it the lock.  A wait no longer PASSED (handed the lock by
 * its own loop, cancelled) is left alone (then as__timer_rekey). */
inline mutex_tick(w)
{
    atomic {
        qlock == 0 -> qlock = _pid + 1;
        tmr[w] = 0;
        if
        :: PASSED(w) && state[w] == QUEUED ->
            wflags[w] = (wflags[w] & ~F_PASSED) | F_STARVING;
#ifndef BUG_TICK_NO_TAKE
            if
            :: (word & M_LOCKED) == 0 ->
                REACH(2);
                word = word | M_LOCKED;
                owners++;
                QREMOVE(w, DONE);
                carried[w] = true;
                if
                :: qlen == 0 -> word = word & ~M_WAITERS
                :: else
                fi;
                got = 1
            :: else -> REACH(3)
            fi
#else
            skip
#endif
        :: else -> REACH(8)
        fi;
        QUNLOCK()
    };
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
    bit got, ok, done;

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
    start(2);
#endif
    do
    :: pending == 0 -> break
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
