/*
 * cancel.pml -- the round-2 wait protocols of src/wait.c, src/loop.c and
 * src/timer.c over the semaphore (src/sem.c) and the mutex (src/mutex.c) on
 * the waiter queue of src/waitq.h / src/waitq.c: as_cancel from another
 * thread (QUEUED: under the queue lock; DONE: the CAS DONE -> DONE|CANCEL
 * alone, racing the loop's exchange to IDLE; the loop, after the exchange,
 * passes a grant on (as__cancel_giveback: kind->giveback) before the
 * callback; RESUME: GIVE_UP under the lock), a loop's deadline
 * (as__wait_expire: -ETIMEDOUT for a QUEUED or RESUME wait, a DONE one is
 * left to its grant) and close (-ESHUTDOWN for every queued wait, later
 * waits refused, releases still count).
 *
 * One primitive per build: -DSEM or -DMUTEX.  One scenario per build:
 *
 *   SCEN == SC_CANCEL   cancel from another thread racing a grant
 *     loop   a loop thread: starts waits 1 and 2 (sem: W1N and 1 permits;
 *            mutex: as_mutex_lock_async), runs their callbacks; a callback
 *            with the grant uses it and gives it back (as_sem_release,
 *            as_mutex_unlock) on the loop thread
 *     r      a thread that runs no loop (sem: holds R_HELD permits and
 *            releases them one by one; mutex: holds the lock and unlocks
 *            it), then barges once (try_acquire / try_lock) and gives back
 *            what it got
 *     c      a third thread: as_cancel of wait 1 or wait 2 (its choice),
 *            at any moment after the *_async call returned
 *   SCEN == SC_COND (mutex only)  a condvar waiter re-acquiring the mutex
 *     wait 3 is a condvar wait already picked by a signal (DONE, status 0,
 *     SIGNALLED: cond_take took it off the condvar's queue); r is the
 *     signaller, holding the mutex: it calls as__mutex_acquire_for(m, w3)
 *     before or after its unlock, then barges once; the loop also starts
 *     lock wait 1; c cancels wait 3 (as_cancel -> cond_cancel or the DONE
 *     path, after which the loop's giveback passes the signal on before
 *     the callback: as_cond_signal)
 *   SCEN == SC_TIMEOUT  a deadline racing a grant
 *     loop   waits 1 and 2 as above, wait 1 (and with W2_DEADLINE wait 2)
 *            with a deadline; the loop's timer may expire it at any of the
 *            loop's steps (as__timer_expire -> as__wait_expire)
 *     r      as in SC_CANCEL
 *   SCEN == SC_CLOSE    close racing release/unlock and a new wait
 *     loop   starts wait 1, and wait 2 at any later moment; runs callbacks
 *            (mutex with -DCOND: also the condvar wait 3, as in SC_COND)
 *     r      as in SC_CANCEL (releases and its barge may come after close)
 *     x      as_sem_close / as_mutex_close at any moment
 *   SCEN == SC_FORGET (sem only)  as SC_CLOSE, but x calls as_sem_forget(1)
 *            and then releases what it got (an application shrinking its
 *            pool for a while)
 *   -DWITH_CANCEL adds thread c to SC_TIMEOUT, SC_CLOSE and SC_FORGET (a
 *   cancel, a deadline or close, and a grant all racing); -DW2_DEADLINE
 *   gives wait 2 a deadline too (SC_TIMEOUT).
 *   -DOWN_CANCEL (SC_CANCEL, SC_COND): no thread c; the loop itself calls
 *   as_cancel (of wait 1 or 2; SC_COND: of wait 3) once, at any of its
 *   steps.  On a DONE wait that is the own-thread path: the CAS, then
 *   as__cancel_giveback at once (the grant passed on before as_cancel
 *   returns, status -ECANCELED, so the callback gives nothing back).
 *   SC_COND then starts lock wait 1 at a moment of the loop's choosing, so
 *   that the condvar wait can reach the mutex's queue first and be handed
 *   the lock by r.
 *   Sizes: sem TOTAL = INIT_COUNT + R_HELD = 2 (SC_CLOSE, SC_FORGET: 1), wait
 *   1 asks for W1N = 2 (1), wait 2 for 1; W1N > TOTAL: a big head that can
 *   never be served (it must be cancelled or expire).
 *
 * The queue lock is a real lock (lock-free paths run while it is held).
 * as__wait_finish is "put the wait in its loop's delivery set", taken out by
 * the loop in any order (delivery.pml checks the delivery path).  sem: every
 * atomic access of the C code is its own step, list surgery under the queue
 * lock is one step (as sem.pml).  mutex: what a thread does under the queue
 * lock is merged with its one access to the mutex word (as mutex.pml,
 * README.md "granularity").  A wait is used once (no callback re-arms it):
 * its kind never changes, so the kind re-check of as__q_cancel /
 * cond_cancel under the queue lock (-EAGAIN: look again) is never taken.
 * With OWN_CANCEL and a condvar waiter a wait's status has a writer that
 * holds no lock, and the mutex's critical sections read it and write it
 * back at two points (SPLIT_STATUS, q_lock_load).
 *
 * Checked (assertions; the monitor runs in every state where the queue lock
 * is free):
 *   W1   a callback reports -ECANCELED iff a cancel committed (the CAS on a
 *        DONE wait, the unlink of a QUEUED one, the mark of a RESUME one),
 *        and at the end: as_cancel returned 0 iff the callback had
 *        -ECANCELED
 *   X1   a grant (sem: the permits; mutex: the lock; condvar: the signal)
 *        is delivered (callback with 0) or given back (by the loop, before
 *        the callback, when a CAS set CANCEL on a DONE wait with status 0;
 *        for a condvar waiter also by cond_cancel), exactly once: never
 *        both (assert at each), never neither (at the end); what the loop
 *        took back is passed on before the callback runs (gb == 0); a
 *        canceller on another thread touches nothing after its CAS (no
 *        field read, no giveback), and its CAS commits before the callback
 *        (ncb == 0); with OWN_CANCEL, the loop-thread as_cancel returns
 *        having passed on what it took (gb == 0)
 *   grant wins: a callback of a wait whose grant was decided, and which was
 *        not cancelled, reports 0 (a deadline never overrides it)
 *   sem  S3 conservation (count + held + carried + in a releaser's hands ==
 *        TOTAL), S1 (a queued head never fits: waiters behind a head that
 *        left are re-served), WAITERS <=> queue not empty while open, Q1
 *   mutex mutual exclusion (owners <= 1, LOCKED <=> owned), M1, M2 (default
 *        policy), M3 (strict), Q1
 *   close: no acquire (lock-free or not) after close (sem: after the word
 *        store that makes every lock-free path fail; mutex: after the
 *        fetch_or of CLOSED), no wait parks after close, every wait queued
 *        (or woken on its way, mutex) at close ends with -ESHUTDOWN, a
 *        condvar waiter is still served after close
 *   exactly one callback per wait that went pending; at the end the word
 *   holds everything (sem: TOTAL permits; mutex: unlocked), nobody queued
 *   invalid end states: nobody waits for ever (no lost wake-up)
 *
 * Broken variants (each must FAIL):
 *   BUG_CANCEL_NO_GIVEBACK  the loop, finding CANCEL at the exchange, does
 *                           not pass the grant on (as__cancel_giveback
 *                           only sets the status)
 *   BUG_CANCEL_STORE        as_cancel's DONE path stores DONE|CANCEL (a plain
 *                           store after its check) instead of the CAS
 *   BUG_GIVEBACK_TWICE      the canceller on another thread gives the grant
 *                           back too, as the former code did (with the
 *                           status it read before its CAS), and the loop
 *                           as well
 *   BUG_COND_KEEPS_SIGNALLED  cond_cancel passes the signal on but leaves
 *                           SIGNALLED set (the callback's giveback passes
 *                           it again)
 *   BUG_OWN_NO_MARK         OWN_CANCEL: the loop-thread as_cancel gives the
 *                           grant back but leaves the status 0 (the
 *                           callback gives it back again)
 *   BUG_PUSH_DROPS_CANCEL   as__q_mark_queued stores QUEUED, dropping CANCEL
 *   BUG_TIMEOUT_NO_REGRANT  sem: a wait removed by its deadline does not
 *                           re-run the grant for the waiters behind it
 *   BUG_EXPIRE_DONE         as__wait_expire ends a DONE wait too (its status
 *                           becomes -ETIMEDOUT over the grant)
 *   BUG_CLOSE_CLEARS_WAITERS  sem: close stores the count without WAITERS
 *                           (one RMW)
 *   BUG_CLOSE_STORE         sem: close sets WAITERS with a load, then a
 *                           store, instead of the fetch_or (the former C
 *                           code: finding F2, README.md)
 *   BUG_FORGET_NO_RECHECK   sem: as_sem_forget, under the lock, stores the
 *                           word without checking that WAITERS is still set
 *                           (the former C code: finding F3, README.md)
 * Finding F4 (README.md, fixed; the former code, -DMUTEX -DSCEN=SC_COND
 * -DOWN_CANCEL without the fix, fails): the loop-thread as_cancel stored the condvar waiter's status -ECANCELED
 * outside any lock while a mutex hand-off reads and writes it back under
 * the mutex's queue lock (SPLIT_STATUS models that read and write as two
 * points of the critical section); the store is lost and the signal is
 * passed on twice.  The fix (the C code's kind->done_moves):
 *   FIX_OWN_COND_DEFER      OWN_CANCEL: a condvar waiter's grant (the
 *                           signal) is not given back by the loop-thread
 *                           as_cancel but left to the callback's giveback,
 *                           as for a cross-thread cancel
 *   NO_INVARIANTS           leave the monitor out
 *   REACHALL, REACHPT=k     vacuity: REACH(k) points become failing
 *                           assertions (run.sh's "reach" rows; list below)
 *
 * REACH points (each a path the checks above are about):
 *    1 as_cancel's CAS won on a DONE wait whose grant was decided (status 0)
 *    2 as_cancel's CAS lost (the loop's exchange, or a push, came first)
 *    3 kind->cancel found the wait decided meanwhile (-ENOENT): look again
 *    4 a QUEUED wait unlinked with -ECANCELED
 *    5 mutex: a RESUME wait told to give up with -ECANCELED (GIVE_UP)
 *    6 mutex: a RESUME wait gave up and passed the wake to the next head
 *    7 a QUEUED wait unlinked with -ETIMEDOUT (its deadline)
 *    8 as__wait_expire found the wait DONE: the grant wins
 *    9 sem: a wait granted by the re-grant after a cancel or a deadline
 *   10 mutex: a RESUME wait told to give up with -ETIMEDOUT
 *   11 close ended a queued wait with -ESHUTDOWN
 *   12 mutex: a RESUME lock wait gave up with -ESHUTDOWN (closed meanwhile)
 *   13 mutex: the condvar wait's callback ran (with the lock) after close
 *   14 a new wait refused with -ESHUTDOWN
 *   15 a release / unlock after close took the slow path
 *   16 a push kept the CANCEL bit (W1)
 *   17 mutex: a woken wait went back to the head of the queue (STARVING)
 *   18 as_cancel returned -ENOENT: the callback had run
 *   19 the loop passed a cancelled grant on (as__cancel_giveback with
 *      status 0) before the callback reported -ECANCELED
 *   20 cond_cancel passed the signal on (C2)
 *   21 the loop's giveback of a cancelled condvar waiter had nothing to
 *      pass: cond_cancel passed the signal and cleared SIGNALLED
 *   23 OWN_CANCEL: the loop-thread as_cancel passed a DONE wait's grant on
 *      at once
 *   24 OWN_CANCEL: the loop's giveback before the callback found the
 *      status -ECANCELED (given back by that as_cancel): nothing to pass
 *   22 mutex: a STARVING head handed the lock directly
 */

#define SC_CANCEL  1
#define SC_TIMEOUT 2
#define SC_CLOSE   3
#define SC_COND    4
#define SC_FORGET  5
#ifndef SCEN
#define SCEN SC_CANCEL
#endif
#if SCEN == SC_CLOSE || SCEN == SC_FORGET
#define HAS_X 1           /* thread x closes (forgets) */
#else
#define HAS_X 0
#endif

/* ---- wait states (as_wait.as__state) ---------------------------------- */
#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */
#define RESUME  3   /* AS__W_RESUME */
#define CANCEL  4   /* AS__W_CANCEL (bit) */
#define BASE(s) ((s) & 3)   /* as__wait_base */

/* ---- statuses (as__status: 0 or a negated errno) ------------------------ */
#define OK        0
#define ECANCELED 1
#define ETIMEDOUT 2
#define ESHUTDOWN 3
#define ENOENT    4   /* as_cancel / kind->cancel: outcome decided */

/* ---- as_wait.as__flags ---------------------------------------------------- */
#define F_STARVING  1   /* AS__F_STARVING */
#define F_GIVE_UP   2   /* AS__F_GIVE_UP */
#define F_SIGNALLED 4   /* AS__F_SIGNALLED */

/* ---- kinds (as_wait.as__kind) -------------------------------------------- */
#define K_SEM   0
#define K_MUTEX 1
#define K_COND  2

/* Vacuity: -DREACHALL turns every REACH(k) into a failing assertion
 * "(k==0)"; `pan -c0` then searches on after errors and reports each point
 * a path reaches (run.sh's "reach" rows).  -DREACHPT=k fails at point k
 * only, for its trail. */
#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif

#define NW 3     /* wait ids 1..3 (wait 3: the condvar wait, mutex only) */

#if defined(MUTEX) && (SCEN == SC_COND || (SCEN == SC_CLOSE && defined(COND)))
#define HAS_COND 1
#else
#define HAS_COND 0
#endif
#if HAS_COND && defined(OWN_CANCEL)
#define SPLIT_STATUS 1    /* see q_lock_load */
#endif

/* ---- the primitive (as__prim) -------------------------------------------- */
#ifdef SEM
#define SEM_WAITERS 128   /* bit 31 of the C word */
#define SEM_COUNT   127
#ifndef W1N
#if HAS_X
#define W1N 1
#else
#define W1N 2             /* permits asked by wait 1 (above TOTAL: never
                           * granted, ends by its deadline or a cancel) */
#endif
#endif
#ifndef INIT_COUNT
#if HAS_X
#define INIT_COUNT 0
#else
#define INIT_COUNT 1
#endif
#endif
#ifndef R_HELD
#define R_HELD 1
#endif
#define TOTAL (INIT_COUNT + R_HELD)
byte word = INIT_COUNT;   /* as__word: count | SEM_WAITERS */
#else
#define M_LOCKED  1
#define M_WAITERS 2
#define M_WOKEN   4
#define M_CLOSED  8
#ifdef STRICT
#define IS_STRICT 1
#else
#define IS_STRICT 0
#endif
/* mutex_can_take(m, v, for_cond) */
#define CAN_TAKE(v, fc) (((v) & ((fc) -> M_LOCKED : (M_LOCKED | M_CLOSED))) == 0 && (!IS_STRICT || ((v) & (M_WAITERS | M_WOKEN)) == 0))
byte word = M_LOCKED;     /* as__word: r holds the lock at the start */
#endif

byte qlock;               /* as__lock: 0 free, else the holder's _pid + 1 */
byte q[NW];               /* as__head .. as__tail: head = q[0] */
byte qlen;
bit closed;               /* as__prim.flags & AS__P_CLOSED (queue lock) */

/* ---- the waits (ids 1..NW) ------------------------------------------------ */
byte state[NW + 1];       /* as__state */
byte wstatus[NW + 1];     /* as__status */
byte wflags[NW + 1];      /* as__flags */
byte wn[NW + 1];          /* as__n (sem) */
byte wkind[NW + 1];       /* as__kind */
byte mbox;                /* the loop's delivery set: bit w, any order */

/* ---- ghosts --------------------------------------------------------------- */
byte pend;                /* bit w: its *_async returned 0 (went pending) */
byte issued;              /* bit w: its *_async returned (any result) */
byte ncb[NW + 1];         /* callbacks run */
byte cbst[NW + 1];        /* the status its callback got */
byte cret[NW + 1];        /* as_cancel's result: 0 not called, 1 returned 0,
                           * 2 returned -ENOENT */
bit cancelled[NW + 1];    /* a cancel committed (W1) */
bit granted[NW + 1];      /* a grant was decided for it (X1) */
byte outs[NW + 1];        /* X1: the grant delivered + given back */
bit inheap[NW + 1];       /* in the loop's deadline heap */
bit mustshut[NW + 1];     /* pending, undecided when close ran */
bit closed_lin;           /* close took effect for lock-free paths */
byte gb;                  /* grants taken back by the loop (a cancelled
                           * DONE wait with status 0), not yet passed on
                           * (sem: permits; mutex: the lock) */
byte passed;              /* condvar signals passed on (as_cond_signal) */
#ifdef OWN_CANCEL
bit owngb[NW + 1];        /* the loop's own as_cancel passed its grant on */
#endif
byte finished;            /* threads that ended */
#ifdef SEM
byte held = R_HELD;       /* permits held by threads */
byte carried;             /* permits carried by DONE waits with status 0 */
byte inhand;              /* permits given up by a releaser, not yet stored */
byte forgotten;           /* permits removed by as_sem_forget */
#else
byte owners = 1;          /* threads holding the lock + DONE waits carrying
                           * it to their callback */
bit carried[NW + 1];      /* a DONE wait carries the lock */
#endif

#if (SCEN == SC_CANCEL || SCEN == SC_COND || defined(WITH_CANCEL)) && !defined(OWN_CANCEL)
#define HAS_C 1           /* thread c cancels */
#else
#define HAS_C 0
#endif
#if HAS_X
#define NPROC (3 + HAS_C) /* loop, r, x (, c) */
#else
#define NPROC (2 + HAS_C) /* loop, r (, c) */
#endif

#define NQUEUED ((BASE(state[1]) == QUEUED -> 1 : 0) + (BASE(state[2]) == QUEUED -> 1 : 0) + (BASE(state[3]) == QUEUED -> 1 : 0))
/* Q1 (waitq.h): a wait is in the queue iff its state is QUEUED */
#define Q1 (NQUEUED == qlen && (qlen < 1 || BASE(state[q[0]]) == QUEUED) && (qlen < 2 || BASE(state[q[1]]) == QUEUED) && (qlen < 3 || BASE(state[q[2]]) == QUEUED))

/* ==== waitq.h / waitq.c =================================================== */

inline q_lock()
{
    atomic { qlock == 0 -> qlock = _pid + 1 }
}

inline q_unlock()
{
    assert(qlock == _pid + 1);
    qlock = 0
}

/* as__q_mark_queued: obj first, then a CAS loop that keeps CANCEL (W1); the
 * CAS retries until it succeeds, so its net effect is one atomic step. */
inline MARK_QUEUED(w)
{
    if
    :: (state[w] & CANCEL) != 0 -> REACH(16)
    :: else
    fi;
#ifndef BUG_PUSH_DROPS_CANCEL
    state[w] = QUEUED | (state[w] & CANCEL)
#else
    state[w] = QUEUED
#endif
}

/* as__q_push_tail (queue lock held; inside an atomic step) */
inline QPUSH_TAIL(w)
{
    assert(qlock == _pid + 1 && qlen < NW && BASE(state[w]) != QUEUED);
    /* close: no lock wait parks on a closed primitive */
    assert(wkind[w] == K_COND || !closed);
    q[qlen] = w;
    qlen++;
    MARK_QUEUED(w)
}

/* as__q_push_head */
inline QPUSH_HEAD(w)
{
    assert(qlock == _pid + 1 && qlen < NW && BASE(state[w]) != QUEUED);
    i = qlen;
    do
    :: i > 0 -> q[i] = q[i - 1]; i--
    :: else -> break
    od;
    q[0] = w;
    qlen++;
    REACH(17);
    MARK_QUEUED(w)
}

/* The ghosts of an outcome decided under the queue lock. */
inline DECIDED(w, st)
{
    if
    :: st == OK -> granted[w] = 1
    :: st == ECANCELED -> cancelled[w] = 1; REACH(4)
    :: st == ETIMEDOUT -> REACH(7)
    :: st == ESHUTDOWN -> REACH(11)
    :: else
    fi
}

/* as__q_remove(p, w, state, status): unlink, status, state keeping CANCEL
 * (queue lock held; inside an atomic step) */
inline QREMOVE(w, nst, st)
{
    assert(qlock == _pid + 1 && BASE(state[w]) == QUEUED);
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
    i = 0;
    wstatus[w] = st;
    state[w] = nst | (state[w] & CANCEL)
}

/* as__wait_finish: hand w (DONE or RESUME) to its loop */
inline FINISH(w)
{
    assert((mbox & (1 << w)) == 0);    /* never in the loop's sets twice */
    mbox = mbox | (1 << w)
}

/* as__batch_finish: every wait collected under the lock, lock dropped */
inline batch_finish()
{
    do
    :: batch == 0 -> break
    :: else ->
        atomic {
            i = 1;
            do
            :: (batch & (1 << i)) != 0 -> break
            :: else -> i++
            od;
            FINISH(i);
            batch = batch & ~(1 << i);
            i = 0
        }
    od
}

#ifdef SEM
/* ==== sem.c ============================================================== */

/* as__q_take(p, w, status, batch) */
inline q_take(w, st)
{
    d_step {
        QREMOVE(w, DONE, st);
        DECIDED(w, st);
        if
        :: st == OK -> carried = carried + wn[w]
        :: else
        fi;
        batch = batch | (1 << w)
    }
}

/* sem_try: the lock-free fast path, one CAS (got = 1: acquired) */
inline sem_try(n)
{
    got = 0;
    v = word;
    do
    :: (v & SEM_WAITERS) == 0 && v >= n ->
        atomic {
            if
            :: word == v ->
                word = v - n; held = held + n; got = 1;
                assert(!closed_lin)         /* no acquire after close */
            :: else -> v = word
            fi
        };
        if
        :: got -> break
        :: else
        fi
    :: else -> break
    od
}

/* sem_grant_locked(s, count, done): `rel` permits of `count` are in the
 * hands of the calling release; they land with the store. */
inline sem_grant_locked(count, rel)
{
    do
    :: qlen > 0 && wn[q[0]] <= count ->
        h = q[0];
        count = count - wn[h];
        if
        :: rel == 0 -> REACH(9)     /* re-granted after a wait left */
        :: else
        fi;
        q_take(h, OK)
    :: else -> break
    od;
    /* S2: the only writer while WAITERS is set; sem_word() */
    atomic {
        if
        :: qlen > 0 || closed -> word = count | SEM_WAITERS
        :: else -> word = count
        fi;
        inhand = inhand - rel;
        count = 0
    }
}

/* sem_acquire_slow / as_sem_acquire_async(s, loop, w, n):
 * r = 1 acquired at once, 0 pending, ESHUTDOWN refused */
inline sem_acquire(w, n)
{
    sem_try(n);
    if
    :: got -> r = 1
    :: else ->
        q_lock();
        v = word;
        do
        :: (v & SEM_WAITERS) == 0 && v >= n ->
            atomic {
                if
                :: word == v ->
                    word = v - n; held = held + n; got = 1;
                    assert(!closed_lin)     /* no acquire after close */
                :: else -> v = word
                fi
            };
            if
            :: got -> q_unlock(); r = 1; break
            :: else
            fi
        :: else ->
            if
            :: closed -> q_unlock(); r = ESHUTDOWN; break
            :: else
            fi;
            /* add_waiter_if: park only if the word still says "not enough" */
            if
            :: (v & SEM_WAITERS) != 0 -> r = 0; break
            :: else ->
                atomic {
                    if
                    :: word == v -> word = v | SEM_WAITERS; ok = 1
                    :: else -> v = word; ok = 0
                    fi
                };
                if
                :: ok -> ok = 0; r = 0; break
                :: else
                fi
            fi
        od;
        if
        :: r == 0 ->
            /* as__wait_prepare, as__q_push_tail */
            d_step {
                wn[w] = n; wstatus[w] = OK; wflags[w] = 0;
                QPUSH_TAIL(w)
            };
            q_unlock()
            /* as__wait_parked: the loop's pending count, the heap */
        :: else
        fi
    fi;
    got = 0
}

/* as_sem_release(s, n) */
inline sem_release(n)
{
    d_step { held = held - n; inhand = inhand + n };
    fast = 0;
    v = word;
    do
    :: (v & SEM_WAITERS) == 0 ->
        atomic {
            if
            :: word == v -> word = v + n; inhand = inhand - n; fast = 1
            :: else -> v = word
            fi
        };
        if
        :: fast -> break
        :: else
        fi
    :: else ->
        q_lock();
        v = word;
        if
        :: (v & SEM_WAITERS) != 0 -> break
        :: else -> q_unlock()     /* the waiters left meanwhile */
        fi
    od;
    if
    :: !fast ->
        if
        :: closed -> REACH(15)
        :: else
        fi;
        v = (v & SEM_COUNT) + n;
        sem_grant_locked(v, n);
        q_unlock();
        batch_finish()
    :: else
    fi;
    fast = 0
}

/* sem_cancel(w, status) = as__q_lock_wait + as__q_cancel_locked with
 * sem_regrant as the fixup.  kr = 0 done, ENOENT decided. */
inline kind_cancel(w, st)
{
    /* as__q_lock_wait: state (acquire), then obj, lock, look again */
    kr = 0;
    do
    :: BASE(state[w]) != QUEUED -> kr = ENOENT; break
    :: else ->
        q_lock();
        if
        :: BASE(state[w]) == QUEUED -> break
        :: else -> q_unlock()
        fi
    od;
    if
    :: kr == 0 ->
        /* as__q_cancel_locked: QUEUED (a semaphore wait is never RESUME) */
        q_take(w, st);
#ifdef BUG_TIMEOUT_NO_REGRANT
        if
        :: st == ETIMEDOUT ->
            /* only WAITERS kept right, no grant for the waiters behind */
            d_step {
                if
                :: qlen > 0 || closed -> skip
                :: else -> word = word & SEM_COUNT
                fi
            }
        :: else ->
#endif
            /* sem_regrant: S3, the head may have been what blocked them */
            v = word & SEM_COUNT;
            sem_grant_locked(v, 0);
#ifdef BUG_TIMEOUT_NO_REGRANT
        fi;
#endif
        q_unlock();
        batch_finish()
    :: else
    fi
}

/* kind->giveback: sem_giveback -> as_sem_release(home, n), by a thread
 * running the loop (me = 1) or not (0: the semaphore does not care) */
inline kind_giveback(w, me)
{
    sem_release(wn[w]);
    gb = gb - wn[w]
}

/* The ghosts of a grant taken back for a cancelled DONE wait with status 0
 * (as__cancel_giveback): the thread giving it back holds the permits until
 * its as_sem_release (X1: given back). */
inline TAKE_GRANT(w)
{
    outs[w]++;
    assert(outs[w] == 1);         /* X1: not delivered, not given back twice */
    carried = carried - wn[w]; held = held + wn[w]; gb = gb + wn[w]
}

/* as__cancel_giveback's test: a grant (status 0) to pass on; gbk = 1 */
inline GIVEBACK_DECIDE(w)
{
    gbk = (wstatus[w] == OK);
    if
    :: gbk -> TAKE_GRANT(w)
    :: else
    fi
}

/* The callback of w (status st): use the grant, give it back. */
inline callback_work(w, st)
{
    if
    :: st == OK -> sem_release(wn[w])
    :: else
    fi
}

/* as_sem_close */
inline prim_close()
{
    q_lock();
    if
    :: !closed ->
        d_step {
            closed = 1;
            /* every pending wait not yet decided must end with -ESHUTDOWN */
            i = 1;
            do
            :: i <= NW ->
                if
                :: BASE(state[i]) == QUEUED -> mustshut[i] = 1
                :: else
                fi;
                i++
            :: else -> break
            od;
            i = 0
        };
        do
        :: qlen > 0 -> h = q[0]; q_take(h, ESHUTDOWN)
        :: else -> break
        od;
        /* S4: WAITERS stays set, with the queue empty */
#if defined(BUG_CLOSE_CLEARS_WAITERS)
        atomic { word = word & SEM_COUNT; closed_lin = 1 };
#elif defined(BUG_CLOSE_STORE)
        /* F2, the former C code:
         * as__store(word, (as__load(word) & SEM_COUNT) | WAITERS) */
        v = word & SEM_COUNT;
        atomic { word = v | SEM_WAITERS; closed_lin = 1 };
#else
        /* as__fetch_or(word, SEM_WAITERS) */
        atomic { word = word | SEM_WAITERS; closed_lin = 1 };
#endif
        skip
    :: else
    fi;
    q_unlock();
    batch_finish()
}

/* as_sem_forget(s, n): remove up to n available permits */
inline sem_forget(n)
{
    v = word;
    do
    :: (v & SEM_WAITERS) != 0 ->
        /* S2: the queue lock holder writes the word */
        q_lock();
        v = word;
#ifndef BUG_FORGET_NO_RECHECK
        if
        :: (v & SEM_WAITERS) == 0 -> q_unlock()   /* left meanwhile: again */
        :: else ->
#endif
            /* (F3, BUG_FORGET_NO_RECHECK: stored without looking at
             * WAITERS again) */
            atomic {
                k = ((v & SEM_COUNT) < n -> (v & SEM_COUNT) : n);
                word = v - k;
                forgotten = forgotten + k
            };
            q_unlock();
            break
#ifndef BUG_FORGET_NO_RECHECK
        fi
#endif
    :: else ->
        k = (v < n -> v : n);
        if
        :: k == 0 -> break
        :: else ->
            atomic {
                if
                :: word == v -> word = v - k; forgotten = forgotten + k; ok = 1
                :: else -> v = word; ok = 0
                fi
            };
            if
            :: ok -> ok = 0; break
            :: else
            fi
        fi
    od
}

/* r: release what it holds one by one, then barge once */
inline r_body()
{
    k = R_HELD;
    do
    :: k > 0 -> sem_release(1); k--
    :: else -> break
    od;
    sem_try(1);
    if
    :: got -> got = 0; sem_release(1)
    :: else
    fi
}

#else
/* ==== mutex.c ============================================================= */

/* as__q_lock followed by the first load of the word.  SPLIT_STATUS (a
 * loop-thread as_cancel writes a condvar waiter's status outside any lock):
 * also the read of the head's status that a hand-off or a wake writes back
 * later in the same critical section (as__q_remove(p, h, ..,
 * grant_status(h)) and (.., h->as__status): a read, then a write). */
inline q_lock_load()
{
#ifdef SPLIT_STATUS
    atomic { qlock == 0 -> qlock = _pid + 1; v = word; hs = wstatus[q[0]] }
#else
    atomic { qlock == 0 -> qlock = _pid + 1; v = word }
#endif
}

inline QUNLOCK()
{
    assert(qlock == _pid + 1);
    qlock = 0
}

/* grant_status(w): a lock waiter 0, a condvar waiter its condvar status */
#define GRANT_STATUS(w) (wkind[w] == K_MUTEX -> OK : wstatus[w])
/* the status the head h leaves the queue with, read under the lock */
#ifdef SPLIT_STATUS
#define HEAD_STATUS(h) hs
#else
#define HEAD_STATUS(h) wstatus[h]
#endif

/* The lock goes to w (DONE, on its way to its callback) */
inline CARRY(w)
{
    carried[w] = true;
    if
    :: wkind[w] == K_MUTEX ->
        granted[w] = 1;
        assert(!closed_lin)         /* no lock acquired after close */
    :: else
    fi
}

/* mutex_try: the lock-free fast path (got = 1: acquired) */
inline mutex_try()
{
    got = 0;
    v = word;
    do
    :: CAN_TAKE(v, 0) ->
        atomic {
            if
            :: word == v ->
                word = v | M_LOCKED; owners++; got = 1;
                assert(owners == 1);
                assert(!closed_lin)     /* no lock acquired after close */
            :: else -> v = word
            fi
        };
        if
        :: got -> break
        :: else
        fi
    :: else -> break
    od
}

/* mutex_take_or_park_locked(m, w, fc, deadline), then as__q_unlock.  Queue
 * lock held, v loaded.  got = 1: the lock is w's (a lock waiter: the
 * caller's; a condvar waiter: carried to its callback); else w is queued. */
inline take_or_park_unlock(w, fc)
{
    got = 0;
    do
    :: CAN_TAKE(v, fc) ->
        atomic {
            if
            :: word == v ->
                word = v | M_LOCKED; owners++; got = 1;
                assert(owners == 1);
                if
                :: fc -> CARRY(w)
                :: else -> assert(!closed_lin)
                fi;
                QUNLOCK()
            :: else -> v = word
            fi
        };
        if
        :: got -> break
        :: else
        fi
    :: else ->
        /* add_waiter_if: park only while the word still says "held" */
        if
        :: (v & M_WAITERS) != 0 ->
            atomic { QPUSH_TAIL(w); QUNLOCK() };
            break
        :: else ->
            atomic {
                if
                :: word == v ->
                    word = v | M_WAITERS; QPUSH_TAIL(w); QUNLOCK(); ok = 1
                :: else -> v = word; ok = 0
                fi
            };
            if
            :: ok -> ok = 0; break
            :: else
            fi
        fi
    od
}

/* as_mutex_lock_async / _until (mutex_lock_slow): r = 1 at once, 0 pending,
 * ESHUTDOWN refused */
inline mutex_lock(w)
{
    mutex_try();
    if
    :: got -> r = 1
    :: else ->
        atomic {
            qlock == 0 -> qlock = _pid + 1;
            v = word;
            if
            :: (v & M_CLOSED) != 0 -> QUNLOCK(); r = ESHUTDOWN
            :: else ->
                /* as__wait_prepare */
                wflags[w] = 0; wstatus[w] = OK; wkind[w] = K_MUTEX;
                r = 0
            fi
        };
        if
        :: r == 0 ->
            take_or_park_unlock(w, 0);
            r = got
        :: else
        fi
    fi;
    got = 0
}

/* as__mutex_acquire_for(m, w): a condvar waiter whose condvar wait is
 * decided (DONE, status set) re-acquires the mutex */
inline acquire_for(w)
{
    q_lock_load();
    take_or_park_unlock(w, 1);
    if
    :: got -> got = 0; atomic { FINISH(w) }   /* still DONE, its status */
    :: else
    fi
}

/* mutex_wake_head_locked(m, v): CAS from v to WOKEN (| WAITERS if more
 * remain, | CLOSED as it was); the head leaves as RESUME with its status;
 * h = the head, or 0 if the CAS failed.  Inside an atomic step. */
inline WAKE_HEAD()
{
    h = q[0];
    if
    :: qlen > 1 -> nv = (v & M_CLOSED) | M_WOKEN | M_WAITERS
    :: else -> nv = (v & M_CLOSED) | M_WOKEN
    fi;
    if
    :: word == v ->
        word = nv;
        if
        :: (v & M_LOCKED) != 0 -> owners--
        :: else
        fi;
        QREMOVE(h, RESUME, HEAD_STATUS(h))
    :: else -> h = 0
    fi;
    nv = 0
}

/* as_mutex_unlock, by a thread running loop `me` (0: none).  The C code's
 * `return as_mutex_unlock(m)` tail calls are the outer loop. */
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
            q_lock_load();
            atomic {
                assert((v & M_LOCKED) != 0);
                if
                :: closed -> REACH(15)
                :: else
                fi;
                h = q[0];
                if
                :: (v & M_WAITERS) == 0 ->
                    QUNLOCK(); h = 0     /* the queue emptied: plain release */
                :: else ->
                    done = 1;
                    if
                    :: IS_STRICT || (wflags[h] & F_STARVING) != 0 || me == 1 ->
                        if
                        :: (wflags[h] & F_STARVING) != 0 -> REACH(22)
                        :: else
                        fi;
                        /* direct hand-off: h leaves the queue holding the
                         * lock (M4: the only writer) */
                        QREMOVE(h, DONE, (wkind[h] == K_MUTEX -> OK : HEAD_STATUS(h)));
                        word = M_LOCKED | (v & (M_WOKEN | M_CLOSED)) | (qlen > 0 -> M_WAITERS : 0);
                        CARRY(h);
                        QUNLOCK()
                    :: else ->
                        if
                        :: (v & M_WOKEN) != 0 ->
                            /* a woken waiter is on its way (M2): release */
                            word = v & ~M_LOCKED; owners--;
                            QUNLOCK(); h = 0
                        :: else ->
                            /* release and wake the head to retry */
                            WAKE_HEAD();
                            QUNLOCK();
                            assert(h != 0)    /* M4: this CAS cannot fail */
                        fi
                    fi
                fi
            };
            if
            :: h != 0 -> atomic { FINISH(h); h = 0 }
            :: else
            fi
        fi
    od;
    done = 0
}

/* mutex_pass_wake_locked: h = the next head, woken, or 0.  Lock held. */
inline pass_wake_locked()
{
    v = word;
    do
    :: (v & M_LOCKED) == 0 && (v & M_WAITERS) != 0 ->
        atomic {
            WAKE_HEAD();
            if
            :: h == 0 -> v = word
            :: else
            fi
        };
        if
        :: h != 0 -> break
        :: else
        fi
    :: else ->
        atomic {
            if
            :: word == v -> word = v & ~M_WOKEN; ok = 1
            :: else -> v = word; ok = 0
            fi
        };
        if
        :: ok -> ok = 0; h = 0; break
        :: else
        fi
    od
}

/* as__mutex_resume: a RESUME wait arrived on its loop (loop thread) */
inline mutex_resume(w)
{
    q_lock_load();
    /* RESUME changes only under this lock */
    if
    :: (wflags[w] & F_GIVE_UP) != 0 -> gu = wstatus[w]
    :: else ->
        if
        :: wkind[w] == K_MUTEX && (v & M_CLOSED) != 0 -> gu = ESHUTDOWN
        :: else -> gu = OK
        fi
    fi;
    if
    :: gu != OK ->
        pass_wake_locked();
        atomic {
            if
            :: h != 0 -> REACH(6)       /* the wake passed on */
            :: else
            fi;
            if
            :: gu == ESHUTDOWN -> REACH(12)
            :: else
            fi;
            wstatus[w] = gu;
            state[w] = DONE | (state[w] & CANCEL);
            QUNLOCK()
        };
        atomic { FINISH(w) };
        if
        :: h != 0 -> atomic { FINISH(h); h = 0 }
        :: else
        fi;
        gu = OK
    :: else ->
        got = 0;
        do
        :: (v & M_LOCKED) == 0 ->
            atomic {
                if
                :: word == v ->
                    word = (v | M_LOCKED) & ~M_WOKEN;
                    owners++;
                    assert(owners == 1);
                    wstatus[w] = GRANT_STATUS(w);
                    state[w] = DONE | (state[w] & CANCEL);
                    CARRY(w);
                    QUNLOCK();
                    got = 1
                :: else -> v = word
                fi
            };
            if
            :: got -> atomic { FINISH(w) }; break
            :: else
            fi
        :: else ->
            /* someone barged in: back to the head, handed the lock next */
            atomic {
                if
                :: word == v ->
                    word = (v | M_WAITERS) & ~M_WOKEN;
                    wflags[w] = wflags[w] | F_STARVING;
                    QPUSH_HEAD(w);
                    QUNLOCK();
                    ok = 1
                :: else -> v = word; ok = 0
                fi
            };
            if
            :: ok -> ok = 0; break
            :: else
            fi
        od;
        got = 0
    fi
}

/* kind->cancel: as__q_lock_wait, then mutex_cancel (as__q_cancel_locked with
 * mutex_fixup) or cond_cancel.  The critical section has one access to the
 * word (mutex_fixup's fetch_and): one step.  kr = 0 done, ENOENT decided. */
inline kind_cancel(w, st)
{
    kr = 0;
    fin = 0;
    pass = 0;
    do
    :: BASE(state[w]) != QUEUED && BASE(state[w]) != RESUME ->
        kr = ENOENT; break
    :: else ->
        atomic {
            qlock == 0 -> qlock = _pid + 1;
            if
            :: BASE(state[w]) == QUEUED || BASE(state[w]) == RESUME ->
                if
                :: wkind[w] == K_COND ->
                    /* cond_cancel: re-acquiring the mutex (queued in it or
                     * woken): its place is kept; a cancel marks it and
                     * passes a signal on (C2), a deadline changes nothing */
                    if
                    :: st == ECANCELED ->
                        state[w] = state[w] | CANCEL;
                        cancelled[w] = 1;
                        pass = (wstatus[w] == OK && (wflags[w] & F_SIGNALLED) != 0);
#ifndef BUG_COND_KEEPS_SIGNALLED
                        /* passed on now: the callback's giveback must not
                         * pass it again */
                        wflags[w] = wflags[w] & ~F_SIGNALLED
#else
                        skip
#endif
                    :: else
                    fi
                :: wkind[w] == K_MUTEX && BASE(state[w]) == RESUME ->
                    /* as__q_cancel_locked, RESUME: the resume gives up */
                    if
                    :: (wflags[w] & F_GIVE_UP) == 0 ->
                        wflags[w] = wflags[w] | F_GIVE_UP;
                        wstatus[w] = st;
                        if
                        :: st == ECANCELED -> REACH(5)
                        :: else -> REACH(10)
                        fi
                    :: else
                    fi;
                    if
                    :: st == ECANCELED ->
                        state[w] = state[w] | CANCEL;
                        cancelled[w] = 1
                    :: else
                    fi
                :: else ->
                    /* as__q_cancel_locked, QUEUED: as__q_take + fixup */
                    QREMOVE(w, DONE, st);
                    DECIDED(w, st);
                    if
                    :: qlen == 0 -> word = word & ~M_WAITERS
                    :: else
                    fi;
                    fin = 1
                fi;
                QUNLOCK();
                break
            :: else -> QUNLOCK()     /* decided meanwhile: look again */
            fi
        }
    od;
    if
    :: fin -> atomic { FINISH(w); fin = 0 }
    :: else
    fi;
    if
    :: pass -> atomic { REACH(20); passed++; outs[w]++; assert(outs[w] == 1); pass = 0 }
    :: else
    fi
}

/* kind->giveback, once GIVEBACK_DECIDE said so: mutex_giveback
 * (as_mutex_unlock, by a thread running the loop: me = 1, or not: 0) or
 * cond_giveback (as_cond_signal: SIGNALLED was set) */
inline kind_giveback(w, me)
{
    if
    :: wkind[w] == K_MUTEX -> mutex_unlock(me); gb--
    :: else -> passed++
    fi
}

/* The ghosts of a grant taken back for a cancelled DONE wait with status 0
 * (as__cancel_giveback) */
inline TAKE_GRANT(w)
{
    outs[w]++;
    assert(outs[w] == 1);         /* X1: not delivered, not given back twice */
    if
    :: wkind[w] == K_MUTEX ->
        assert(carried[w]);
        carried[w] = false;       /* the thread giving it back owns it now */
        gb++
    :: else                       /* the signal; the lock stays with w */
    fi
}

/* as__cancel_giveback's test (status 0 and kind->giveback, which for a
 * condvar waiter acts on SIGNALLED): something to pass on; gbk = 1 */
inline GIVEBACK_DECIDE(w)
{
    gbk = (wstatus[w] == OK && (wkind[w] == K_MUTEX || (wflags[w] & F_SIGNALLED) != 0));
    if
    :: gbk -> TAKE_GRANT(w)
    :: else ->
        if
        :: wstatus[w] == OK && wkind[w] == K_COND -> REACH(21)  /* passed on
                                   * by cond_cancel, which cleared SIGNALLED */
        :: else
        fi
    fi
}

/* The callback of w (status st): it owns the lock iff it came with it */
inline callback_work(w, st)
{
    if
    :: carried[w] -> carried[w] = false; mutex_unlock(1)
    :: else
    fi
}

/* as_mutex_close */
inline prim_close()
{
    atomic {
        qlock == 0 -> qlock = _pid + 1;
        if
        :: !closed ->
            closed = 1;
            word = word | M_CLOSED;       /* fetch_or */
            closed_lin = 1;
            /* lock waits pending and undecided end with -ESHUTDOWN */
            i = 1;
            do
            :: i <= NW ->
                if
                :: wkind[i] == K_MUTEX && (BASE(state[i]) == QUEUED || (BASE(state[i]) == RESUME && (wflags[i] & F_GIVE_UP) == 0)) -> mustshut[i] = 1
                :: else
                fi;
                i++
            :: else -> break
            od;
            i = 0
        :: else
        fi
    };
    /* lock waiters end, condvar waiters keep their place (list surgery
     * under the lock: one step) */
    atomic {
        k = 0;
        do
        :: k < qlen && wkind[q[k]] == K_MUTEX ->
            h = q[k];
            REACH(11);
            QREMOVE(h, DONE, ESHUTDOWN);
            batch = batch | (1 << h)
        :: k < qlen && wkind[q[k]] != K_MUTEX -> k++
        :: else -> break
        od;
        k = 0; h = 0
    };
    atomic {
        if
        :: qlen == 0 -> word = word & ~M_WAITERS    /* fetch_and */
        :: else
        fi;
        QUNLOCK()
    };
    batch_finish()
}

/* r: unlock the mutex it holds (SC_COND / COND: and call
 * as__mutex_acquire_for for the signalled condvar wait 3, before or after
 * the unlock), then barge once */
inline r_body()
{
#if HAS_COND
    if
    :: acquire_for(3); mutex_unlock(0)
    :: mutex_unlock(0); acquire_for(3)
    fi;
#else
    mutex_unlock(0);
#endif
    mutex_try();
    if
    :: got -> got = 0; mutex_unlock(0)
    :: else
    fi
}
#endif

#ifdef OWN_CANCEL
/* as_cancel on the wait's own loop thread, its CAS won: as__cancel_giveback
 * at once (the permits, lock or signal are free when as_cancel returns),
 * which stores the status -ECANCELED so that the callback does not give
 * back twice.  That store is outside any queue lock. */
inline own_giveback(w)
{
    atomic {
        GIVEBACK_DECIDE(w);
        if
        :: gbk -> owngb[w] = 1; REACH(23)
        :: else
        fi
    };
    if
    :: gbk -> kind_giveback(w, 1)
    :: else
    fi;
    gbk = 0;
    atomic {
#ifndef BUG_OWN_NO_MARK
        wstatus[w] = ECANCELED;
#endif
        assert(gb == 0)         /* X1: passed on when as_cancel returns */
    }
}
#endif

/* ==== wait.c: as_cancel (another thread) ================================= */
/* On a DONE wait, a canceller on another thread does the CAS and nothing
 * else: it reads no field of the wait (its callback may re-arm or free it
 * the moment after); the loop gives a grant back before the callback
 * (cancel_giveback in run_one). */
inline as_cancel(w)
{
    cr = 0;
    do
    :: cr != 0 -> break
    :: else ->
#ifndef BUG_GIVEBACK_TWICE
        s = state[w];                   /* load (acquire) */
#else
        /* the former code: read the status for its own giveback */
        atomic { s = state[w]; st = wstatus[w] };
#endif
        if
        :: s == IDLE ->                                 /* -ENOENT */
            cr = 2;
            if
            :: (pend & (1 << w)) != 0 -> REACH(18)
            :: else
            fi
        :: s != IDLE && (s & CANCEL) != 0 -> cr = 1     /* idempotent */
        :: s != IDLE && (s & CANCEL) == 0 && BASE(s) == DONE ->
            atomic {
#ifndef BUG_CANCEL_STORE
                if
                :: state[w] == s ->
#else
                if
                :: true ->      /* a plain store after the check */
#endif
                    /* W1: a cancel commits before the wait's callback
                     * (after it the wait is the application's again) */
                    assert(ncb[w] == 0);
                    state[w] = s | CANCEL;
                    cancelled[w] = 1;
                    if
                    :: granted[w] && wstatus[w] == OK -> REACH(1)
                    :: else
                    fi;
                    ok = 1
                :: else -> ok = 0
                fi
            };
            if
            :: ok ->
                ok = 0;
#ifdef OWN_CANCEL
#ifdef FIX_OWN_COND_DEFER
                if
                :: wkind[w] == K_COND -> skip   /* left to the callback */
                :: else -> own_giveback(w)
                fi;
#else
                own_giveback(w);
#endif
#endif
#ifdef BUG_GIVEBACK_TWICE
                /* the former code: the canceller gives the grant back
                 * too, with the status it read before the CAS */
                if
                :: st == OK -> atomic { TAKE_GRANT(w) }; kind_giveback(w, 0)
                :: else
                fi;
#endif
                cr = 1
            :: else -> atomic { REACH(2) }             /* look again */
            fi
        :: s != IDLE && (s & CANCEL) == 0 && BASE(s) != DONE ->
            kind_cancel(w, ECANCELED);
            if
            :: kr == 0 -> cr = 1
            :: else -> atomic { REACH(3) }             /* look again */
            fi
        fi
    od;
    cret[w] = cr
}

/* ==== loop.c: as__cancel_giveback (the wait's loop thread) ================= */
/* A DONE wait whose CANCEL bit is set, whose grant (status 0) is still its
 * own: pass it on (kind->giveback), once.  The status -ECANCELED is stored
 * by the caller. */
inline cancel_giveback(w)
{
    atomic {
        GIVEBACK_DECIDE(w);
        if
        :: gbk -> REACH(19)
#ifdef OWN_CANCEL
        :: !gbk && owngb[w] -> REACH(24)    /* given back by as_cancel */
#endif
        :: else
        fi
    };
#ifndef BUG_CANCEL_NO_GIVEBACK
    if
    :: gbk -> kind_giveback(w, 1)
    :: else
    fi;
#endif
    gbk = 0
}

/* ==== timer.c: as__timer_expire -> as__wait_expire (loop thread) ========== */
inline expire(w)
{
    inheap[w] = 0;      /* as__timer_remove, then as__wait_expire */
    do
    :: atomic { s = state[w] };
        if
        :: s == IDLE || (s & CANCEL) != 0 -> break
        :: s != IDLE && (s & CANCEL) == 0 && BASE(s) == DONE ->
#ifdef BUG_EXPIRE_DONE
            /* the deadline "wins" over a decided outcome */
            wstatus[w] = ETIMEDOUT;
#endif
            REACH(8);
            break                   /* decided: a grant that came first wins */
        :: s != IDLE && (s & CANCEL) == 0 && BASE(s) != DONE ->
            kind_cancel(w, ETIMEDOUT);
            if
            :: kr == 0 -> break
            :: else
            fi
        fi
    od
}

/* The callback of w (its state was s, it reports st): the ghosts and the
 * checks.  Inside an atomic step. */
inline CALLBACK(w, s, st)
{
    pending--;
    ncb[w]++;
    assert(ncb[w] == 1);            /* exactly one callback */
    cbst[w] = st;
    if
    :: wkind[w] == K_COND && closed -> REACH(13)
    :: else
    fi;
    /* W1: -ECANCELED iff a cancel committed */
    assert((st == ECANCELED) == cancelled[w]);
    /* a decided grant is delivered unless a cancel took it first */
    assert(!granted[w] || (s & CANCEL) != 0 || st == OK);
    /* X1: a grant taken back was passed on before the callback */
    assert(gb == 0);
    if
    :: granted[w] && st == OK ->
        outs[w]++;
        assert(outs[w] == 1);       /* X1: not given back too */
#ifdef SEM
        carried = carried - wn[w]; held = held + wn[w]
#endif
    :: else
    fi;
#ifdef MUTEX
    /* a lock callback owns the lock iff its status is 0; a condvar
     * callback always does */
    assert((wkind[w] == K_COND -> carried[w] : (carried[w] == (st == OK))));
#endif
    skip
}

/* ==== loop.c: as_loop_run takes one delivered wait ======================== */
inline run_one()
{
    d_step {
        i = 1;
        do
        :: (mbox & (1 << i)) != 0 -> break
        :: else -> i++
        od;
        w = i;
        mbox = mbox & ~(1 << w);
        i = 0
    };
#ifdef MUTEX
    if
    :: BASE(state[w]) == RESUME -> mutex_resume(w)
    :: else ->
#endif
        /* as__run_callback: the deadline out of the heap, then the exchange
         * to IDLE (what a cross-thread as_cancel races with); without the
         * CANCEL bit, the callback */
        atomic {
            inheap[w] = 0;
            st = wstatus[w];
            s = state[w];
            state[w] = IDLE;
            assert(BASE(s) == DONE);
            if
            :: (s & CANCEL) == 0 -> CALLBACK(w, s, st)
            :: else
            fi
        };
        if
        :: (s & CANCEL) != 0 ->
            /* cancelled after its outcome was decided: the grant goes back
             * before the callback, which reports -ECANCELED */
            cancel_giveback(w);
            atomic {
                wstatus[w] = ECANCELED;
                st = ECANCELED;
                CALLBACK(w, s, st)
            }
        :: else
        fi;
        callback_work(w, st);
#ifdef MUTEX
    fi;
#endif
    skip
}

/* start wait w (sem: n permits) on the loop; at once: use it, give it back */
inline start(w, n, deadline)
{
#ifdef SEM
    sem_acquire(w, n);
#else
    mutex_lock(w);
#endif
    if
    :: r == 1 ->
#ifdef SEM
        sem_release(n)
#else
        mutex_unlock(1)
#endif
    :: r == 0 ->
        d_step { pending++; pend = pend | (1 << w); inheap[w] = deadline }
    :: else -> REACH(14)     /* refused (-ESHUTDOWN): nothing changed */
    fi;
    issued = issued | (1 << w)
}

proctype loop()
{
    byte v, nv, h, i, k, w, r, s, st, kr, cr, gu, count, batch, pending;
    bit got, ok, fast, done, fin, pass, todo1, todo2, gbk;
#ifdef SPLIT_STATUS
    byte hs;
#endif
#ifdef OWN_CANCEL
    byte cw;
    bit todoc = 1;
#endif

#if HAS_COND
    pending = 1;    /* wait 3: its as_cond_wait_async returned 0 */
#endif
#if SCEN == SC_TIMEOUT
#define DL1 1
#else
#define DL1 0
#endif
#if SCEN == SC_COND && defined(OWN_CANCEL)
    todo1 = 1;      /* wait 1 starts at a moment of the loop's choosing (so
                     * that the condvar wait can be queued in the mutex
                     * first, and handed the lock by r) */
#elif defined(SEM)
    start(1, W1N, DL1);
#else
    start(1, 0, DL1);
#endif
#if HAS_X
    todo2 = 1;      /* wait 2 starts at a moment of the loop's choosing */
#elif SCEN != SC_COND
#ifdef W2_DEADLINE
    start(2, 1, 1);
#else
    start(2, 1, 0);
#endif
#endif
    do
    :: pending == 0 && !todo1 && !todo2 -> break
    :: mbox != 0 -> run_one()
    :: todo1 -> todo1 = 0; start(1, 0, 0)
    :: todo2 -> todo2 = 0; start(2, 1, 0)
#ifdef OWN_CANCEL
    /* the loop's own as_cancel, at any of its steps (in a callback, or
     * between two runs of the loop) */
#if SCEN == SC_COND
    :: todoc -> todoc = 0; cw = 3; as_cancel(cw)
#else
    :: todoc && (issued & (1 << 1)) != 0 -> todoc = 0; cw = 1; as_cancel(cw)
    :: todoc && (issued & (1 << 2)) != 0 -> todoc = 0; cw = 2; as_cancel(cw)
#endif
#endif
#if SCEN == SC_TIMEOUT
    /* the deadline passes at any of the loop's steps */
    :: inheap[1] -> expire(1)
    :: inheap[2] -> expire(2)
#endif
    od;
    finished++
}

proctype r()
{
    byte v, nv, h, i, k, s, st, kr, count, batch;
    bit got, ok, fast, done, fin, pass;
#ifdef SPLIT_STATUS
    byte hs;
#endif

    r_body();
    finished++
}

#if HAS_C
/* A thread that runs no loop cancels one wait, once its *_async returned
 * (the application's own synchronisation tells it the wait exists). */
proctype c()
{
    byte v, nv, h, i, k, s, st, kr, cr, count, batch, w;
    bit got, ok, fast, done, fin, pass;

#if SCEN == SC_COND
    w = 3;
#elif defined(SEM) && W1N > TOTAL && SCEN == SC_CANCEL
    w = 1;          /* wait 1 can never be served: it must be cancelled */
#else
    if
    :: w = 1
    :: w = 2
    fi;
#endif
    (issued & (1 << w)) != 0;
    as_cancel(w);
    finished++
}
#endif

#if HAS_X
/* A thread that closes the primitive at any moment. */
proctype x()
{
    byte v, nv, h, i, k, s, st, count, batch;
    bit got, ok, fast, done;

#if SCEN == SC_FORGET
    /* an application shrinking its pool for a while: forget one permit,
     * then give back what it took (so that every waiter can still be
     * served) */
    sem_forget(1);
    if
    :: k > 0 -> d_step { forgotten = forgotten - k; held = held + k }; sem_release(k)
    :: else
    fi;
#else
    prim_close();
#endif
    finished++
}
#endif

#ifndef NO_INVARIANTS
active proctype monitor()
{
    atomic {
        qlock == 0 ->
        assert(Q1);
#ifdef SEM
        /* S3: conservation */
        assert((word & SEM_COUNT) + held + carried + inhand + forgotten == TOTAL);
        /* WAITERS <=> queue not empty (open) */
        assert(closed || ((word & SEM_WAITERS) != 0) == (qlen > 0));
        /* S1: a queued head never fits in the available count */
        assert(qlen == 0 || (word & SEM_COUNT) < wn[q[0]]);
#else
        assert(owners <= 1);
        assert(((word & M_LOCKED) != 0) == (owners == 1));
        /* M1 */
        assert(((word & M_WAITERS) != 0) == (qlen > 0));
        assert(((word & M_CLOSED) != 0) == closed);
#ifndef STRICT
        /* M2: lock free, waiters queued => one of them is on its way */
        assert((word & M_LOCKED) != 0 || qlen == 0 || (word & M_WOKEN) != 0);
        assert(((word & M_WOKEN) != 0) == ((BASE(state[1]) == RESUME -> 1 : 0) + (BASE(state[2]) == RESUME -> 1 : 0) + (BASE(state[3]) == RESUME -> 1 : 0) == 1));
#else
        /* M3 */
        assert((word & M_WOKEN) == 0 && BASE(state[1]) != RESUME && BASE(state[2]) != RESUME && BASE(state[3]) != RESUME);
        assert(qlen == 0 || (word & M_LOCKED) != 0);
#endif
#endif
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    byte i;
    atomic {
        finished == NPROC ->
        assert(qlen == 0 && qlock == 0 && mbox == 0 && gb == 0);
#ifdef SEM
        assert((word & SEM_COUNT) + forgotten == TOTAL);
        assert(held == 0 && carried == 0 && inhand == 0);
        assert(((word & SEM_WAITERS) != 0) == closed);
#else
        assert((word & ~M_CLOSED) == 0 && owners == 0);
#endif
        i = 1;
        do
        :: i <= NW ->
            /* exactly one callback per wait that went pending, none else */
            assert(ncb[i] == ((pend & (1 << i)) != 0 -> 1 : 0));
            assert(state[i] == IDLE);
            /* X1: a grant delivered or given back, never neither */
            assert(outs[i] == granted[i]);
            /* W1: as_cancel returned 0 iff the callback had -ECANCELED */
            assert(cret[i] == 0 || (cret[i] == 1) == (cbst[i] == ECANCELED));
            /* close: every wait pending and undecided at close ended with
             * -ESHUTDOWN */
            assert(!mustshut[i] || cbst[i] == ESHUTDOWN || cbst[i] == ECANCELED);
            i++
        :: else -> break
        od
    }
}

init
{
    atomic {
#if HAS_COND
        /* wait 3: a condvar wait picked by a signal (cond_take: status 0,
         * SIGNALLED, DONE), to be sent to re-acquire the mutex by r */
        wkind[3] = K_COND;
        wflags[3] = F_SIGNALLED;
        wstatus[3] = OK;
        state[3] = DONE;
        granted[3] = 1;
        pend = 1 << 3;
        issued = 1 << 3;
#endif
        run loop();
        run r();
#if HAS_X
        run x();
#endif
#if HAS_C
        run c();
#endif
        skip
    }
}
