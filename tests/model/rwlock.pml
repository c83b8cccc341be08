/*
 * rwlock.pml -- the read-write lock of src/rwlock.c on the waiter queue of
 * src/waitq.h: WRITER / UPGRADABLE / WAITERS / WOKEN / NOBARGE and the
 * reader count in one word, add_waiter_if parking, the phase grant
 * (rw_plan + one CAS + rw_serve: consecutive readers served together, a
 * writer alone), upgrade waits at the head of the queue, downgrade, and
 * cancel (QUEUED: removed and the grant re-run; RESUME: GIVE_UP, the resume
 * gives up and grants again; DONE with a grant: the grant given back,
 * kind->giveback, a granted upgrade back to the upgradable read).
 * Two policies: the default (strict hand-off, AS_RWLOCK_STRICT_FIFO: every
 * served wait is handed its share) and -DEVENTUAL (AS_RWLOCK_EVENTUAL_FAIR:
 * a head on another loop than the granting thread's is woken to retry,
 * RESUME, rw_resume; newcomers may barge while WOKEN, readers not past a
 * writer, an upgrade or a STARVING head, NOBARGE; a woken wait that finds
 * the lock taken comes back STARVING and is handed the lock directly),
 * and -DPASS (implies EVENTUAL; the C default since 407cc60, eventual
 * fairness with a time bound): a woken wait that finds the lock taken
 * comes back PASSED if its loop has a timer (PASS_LOOPS), behind
 * [upgrade head][STARVING][PASSED], its timer armed (tmr); the grant
 * stops at a PASSED head on another loop than the granting thread's (no
 * wake: its timer or its own loop serves it; its own loop hands it its
 * share); PASS_BIT (RW_PASS) <=> the head is PASSED, and newcomers may
 * barge while PASS_BIT as while WOKEN (NOBARGE is clear for a PASSED head:
 * readers may pass a PASSED writer head, for at most the bound); its timer
 * (rw_tick, a step of its loop) makes a wait still QUEUED and PASSED
 * STARVING, moves it behind [upgrade head][STARVING] and runs the grant
 * (plan, CAS, serve).
 *
 * Threads:
 *   t       a thread that runs no loop; it holds the lock at the start (the
 *           write lock; with UPGRADE a read), gives it back, then tries
 *           BARGES times (default 1) to barge (as_rwlock_try_read or
 *           as_rwlock_try_write, either) and unlocks when it got it
 *   loop1   a loop thread with waits 1 and 2:
 *             default: 1 = read, 2 = write, started in that order; the
 *               writer, once in, either unlocks or downgrades and then
 *               read-unlocks
 *             UPGRADE: 1 = upgradable read; once it holds it, 2 = upgrade
 *               (as_rwlock_upgrade_async); then write_unlock (0) or, the
 *               upgrade cancelled, upgradable_read_unlock
 *           it may cancel one of its waits, at any moment (QUEUED, RESUME
 *           or DONE)
 *   loop2   a loop thread with wait 3 (default: a read; UPGRADE: a write),
 *           which it may cancel
 * Each acquisition (at once, or a callback with status 0) is followed by
 * the unlocks above on that thread.  A wait's loop is "the granting
 * thread's own" when that thread is its loop thread (t has none).
 * Granularity and delivery as in mutex.pml (README.md): each access to the
 * word is a step, what is done under the queue lock is merged with the
 * neighbouring word access (the plan, the CAS that commits it and the
 * serve are one step); as__wait_finish puts the wait in its loop's
 * delivery set, and the loop resumes a RESUME wait (rw_resume) or calls
 * back a DONE one.
 *
 * Checked:
 *   - exclusion (RW3): at most one writer, and then no reader and no
 *     upgradable reader; at most one upgradable reader; the word's bits and
 *     count match the holders (threads holding, and DONE waits carrying a
 *     grant to their callback); a RESUME wait carries nothing
 *   - RW1 WAITERS <=> queue not empty; Q1 a wait is queued iff QUEUED
 *   - RW4 the head of the queue is not compatible with the word, unless
 *     WOKEN (eventual) (phases: consecutive readers served together; nobody
 *     left waiting behind a waiter that gave up or arrived)
 *   - RW5 an upgrade wait is only ever the head, never RESUME, and
 *     UPGRADABLE is set while it is queued
 *   - RW7 WOKEN <=> RW_NWOKEN > 0 <=> waits in state RESUME (as many);
 *     strict: never
 *   - RW8 STARVING waits only at the front (behind an upgrade), a STARVING
 *     or upgrade head never compatible with the word; a wait passed over
 *     (found the lock taken on arrival) at most once
 *   - RW9 NOBARGE <=> the head is a writer, an upgrade or STARVING
 *     (eventual); an acquisition by a task that is not queued happens only
 *     with nobody queued, or (eventual) with WOKEN set, and a reader only
 *     when the head is a reader (the FIFO / barging check, against the
 *     queue itself, not the word's bits)
 *   - PASS only (their names in the C header: RW4, RW8, RW10):
 *     RW4' (no lost wake-up) with the queue lock free and the queue not
 *       empty: the head is not compatible with the word, or WOKEN is set,
 *       or the head is PASSED (and then, RW10, its timer is armed)
 *     RW8' the queue is [upgrade head][STARVING][PASSED][the others] (the
 *       RANK of consecutive waits does not decrease); a STARVING or
 *       upgrade head is never compatible with the word (as RW8)
 *     RW10 (bounded pass) a wait goes back PASSED at most once
 *       (npass[w] <= 1, asserted where it does; and passed[w] <= 1: it
 *       arrives woken to a taken lock at most once); a PASSED wait is
 *       QUEUED with its timer armed; PASS_BIT <=> the head is PASSED;
 *       NOBARGE <=> the head is a writer, an upgrade or STARVING and not
 *       PASSED (RW9); barging (MAY_PASS) only with nobody queued, or with
 *       WOKEN set or a PASSED head, and a reader not past a head that is a
 *       writer, an upgrade or STARVING and not PASSED
 *     at the end: no timer armed (besides the EVENTUAL end state)
 *   - exactly one callback per wait that went pending; status 0 <=> the
 *     callback carries the grant; invalid end states: no lost wake-up; at
 *     the end the word is 0, the queue empty, no wait RESUME
 *
 * Build-time switches:
 *   UPGRADE                the upgrade scenario (above)
 *   EVENTUAL               AS_RWLOCK_EVENTUAL_FAIR (one retry, STARVING)
 *   PASS                   the default policy of src/rwlock.c (407cc60):
 *                          EVENTUAL with PASSED and its timer (above)
 *   PASS_LOOPS (6)         (PASS) bit l: loop l has a timer of its own
 *                          (as__pass_may): its waits go back PASSED; clear:
 *                          STARVING at once
 *   NO_CANCEL2             loop 2 never cancels (a smaller search)
 *   REACHALL, REACHPT=k    vacuity (PASS): REACH(k) points fail:
 *                            1 a woken wait went back PASSED
 *                            2 ... STARVING (its loop has no timer)
 *                            3 the grant stopped at a PASSED head (another
 *                              loop's, or t's grant)
 *                            4 the grant handed a PASSED wait its share
 *                              (the granting thread runs its loop)
 *                            5 a tick made its wait STARVING and the grant
 *                              served it
 *                            6 ... the grant left it queued (incompatible)
 *                            7 a tick of a wait no longer PASSED: no-op
 *                            8 a newcomer barged past a PASSED head, nobody
 *                              woken
 *                            9 a reader barged past a writer head (it is
 *                              PASSED: NOBARGE clear)
 *                           10 a cancel removed a PASSED wait
 *                           11 a wait went back PASSED behind another
 *                           12 a tick moved its wait ahead of a PASSED one
 *   BARGES (1 or 2)        t's barge attempts
 *   Deliberately broken variants (each must FAIL):
 *   BUG_READER_BARGES      a reader takes the lock while a writer is queued
 *                          (the read fast path ignores WAITERS)
 *   BUG_NO_BATCH           the grant serves one reader, not the consecutive
 *                          readers at the head
 *   BUG_UPGRADE_TAIL       an upgrade queues at the tail, behind a writer
 *                          that waits for the upgradable read to leave
 *   BUG_CANCEL_NO_REGRANT  a cancelled wait leaves without re-running the
 *                          grant
 *   BUG_NO_NOBARGE         (EVENTUAL) readers barge past a writer at the
 *                          head while WOKEN (the fast path ignores NOBARGE)
 *   BUG_STARVING_WOKEN     (EVENTUAL) the grant wakes a STARVING head on
 *                          another loop again instead of handing it the
 *                          lock (it can be passed over twice)
 *   BUG_RESUME_NO_GRANT    (EVENTUAL) a woken wait that gives up on its way
 *                          clears WOKEN but does not grant again
 *   BUG_PASS_TICK_NO_GRANT (PASS) the tick makes the wait STARVING and
 *                          recomputes the bits, but does not run the grant
 *   BUG_PASS_NO_BIT        (PASS) PASS_BIT is never set
 *   BUG_PASS_BIT_KEPT      (PASS) the grant never clears PASS_BIT
 *   BUG_PASS_TWICE         (PASS) the grant wakes a PASSED head like any
 *                          other (so it can be passed again)
 *   BUG_PASS_TICK_BEHIND   (PASS) the tick leaves the new STARVING wait
 *                          behind the other PASSED waits
 *   BUG_PASS_NOBARGE       (PASS) NOBARGE also for a PASSED writer head (the
 *                          plan still stops there); with NO_NOBARGE_CHECK
 *                          (the RW9/RW10 NOBARGE assertion left out) it
 *                          passes: only a matter of performance (README.md)
 *   NO_INVARIANTS          leave the invariant monitor out (the broken
 *                          variants that deadlock must then still fail, by
 *                          an invalid end state)
 */

#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */
#define RESUME  3   /* AS__W_RESUME */

#define ECANCELED 1

/* vacuity (PASS): REACH(k) points become failing assertions */
#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif

/* the word */
#define WRITER     1   /* RW_WRITER */
#define UPGRADABLE 2   /* RW_UPGRADABLE */
#define WAITERS    4   /* RW_WAITERS */
#define WOKEN      8   /* RW_WOKEN */
#define NOBARGE    16  /* RW_NOBARGE */
#ifdef PASS
#define PASS_BIT   32  /* RW_PASS: the queue's head is PASSED */
#define ONE        64  /* RW_ONE: readers count from bit 6 */
#define WTYPE      short   /* up to 4 readers: 256 */
#else
#define PASS_BIT   0
#define ONE        32  /* RW_ONE: readers count from bit 5 */
#define WTYPE      byte
#endif
#define QBITS      (WAITERS | WOKEN | NOBARGE | PASS_BIT)
#define NREAD(v)   ((v) / ONE)

/* what a wait asks for (as__n) */
#define RD 1   /* RW_READ */
#define WR 2   /* RW_WRITE */
#define UR 3   /* RW_UPREAD */
#define UG 4   /* RW_UPGRADE */

/* as_wait.as__flags */
#define F_STARVING 1   /* AS__F_STARVING */
#define F_GIVE_UP  2   /* AS__F_GIVE_UP */
#define F_WAKE     4   /* AS__F_RW_WAKE */
#define F_PASSED   8   /* AS__F_PASSED */

/* unlock operations (rw_unlock_op) */
#define U_READ      1
#define U_WRITE     2
#define U_UPREAD    3
#define U_DOWNGRADE 4
#define U_W2U       5   /* U_WRITE_TO_UPREAD: a granted upgrade given back */

#define NW 3
#define NPROC 3

#ifdef PASS
#ifndef EVENTUAL
#define EVENTUAL
#endif
#ifndef PASS_LOOPS
#define PASS_LOOPS 6     /* bit l: loop l has a timer of its own */
#endif
#else
#define PASS_LOOPS 0
#endif
/* as__pass_may(w): w's loop has a timer */
#define PASS_MAY(w) (((PASS_LOOPS >> wloop[w]) & 1) != 0)

#ifdef EVENTUAL
#define IS_STRICT 0
#else
#define IS_STRICT 1
#endif
#ifndef BARGES
#define BARGES 1
#endif

/* rw_fits (the grant's test): is mode m compatible with the holders in v? */
#define COMPAT(m, v) (((m) == RD && ((v) & WRITER) == 0) || ((m) == UR && ((v) & (WRITER | UPGRADABLE)) == 0) || ((m) == UG && NREAD(v) == 0) || ((m) == WR && ((v) & (WRITER | UPGRADABLE)) == 0 && NREAD(v) == 0))
/* NOBARGE's meaning: the wait holds firm at the head (PASS: a PASSED
 * writer head lets readers barge, for at most the pass bound) */
#define PASSED(w) ((wflags[w] & F_PASSED) != 0)
#define FIRM(w) (wmode[w] == WR || wmode[w] == UG || (wflags[w] & F_STARVING) != 0)
#ifndef BUG_PASS_NOBARGE
#define FIRMQ(w) (FIRM(w) && !PASSED(w))
#else
#define FIRMQ(w) FIRM(w)
#endif
/* rw_can_take (RW9): may a newcomer in mode m take the lock now? */
#ifdef BUG_NO_NOBARGE
#define GATE(v, m) (((v) & WAITERS) == 0 || ((v) & (WOKEN | PASS_BIT)) != 0)
#else
#define GATE(v, m) (((v) & WAITERS) == 0 || (((v) & (WOKEN | PASS_BIT)) != 0 && ((m) == WR || ((v) & NOBARGE) == 0)))
#endif
#ifdef BUG_READER_BARGES
#define CAN_TAKE(v, m) (((m) == RD || GATE(v, m)) && COMPAT(m, v))
#else
#define CAN_TAKE(v, m) (GATE(v, m) && COMPAT(m, v))
#endif
/* FIFO / barging (RW9), from the queue itself: may a newcomer in mode m
 * have taken the lock just now? */
#define MAY_PASS(m) (qlen == 0 || (!IS_STRICT && (nwoken > 0 || PASSED(q[0])) && ((m) == WR || !FIRMQ(q[0]))))
/* rw_held */
#define HELD(v, op) (((op) == U_READ && NREAD(v) > 0) || ((op) == U_UPREAD && ((v) & UPGRADABLE) != 0) || ((op) != U_READ && (op) != U_UPREAD && ((v) & WRITER) != 0))

/* rw_take: tk = the word after mode m took the lock from v */
inline TAKE(v, m)
{
    if
    :: m == RD -> tk = v + ONE
    :: m == UR -> tk = v | UPGRADABLE
    :: m == UG -> tk = (v & ~UPGRADABLE) | WRITER
    :: m == WR -> tk = v | WRITER
    fi
}

/* rw_next: tk = the word without the share op gives back */
inline NEXT(v, op)
{
    if
    :: op == U_READ -> tk = v - ONE
    :: op == U_UPREAD -> tk = v & ~UPGRADABLE
    :: op == U_WRITE -> tk = v & ~WRITER
    :: op == U_DOWNGRADE -> tk = (v & ~WRITER) + ONE
    :: op == U_W2U -> tk = (v & ~WRITER) | UPGRADABLE
    fi
}

/* ---- as_rwlock ------------------------------------------------------- */
#ifdef UPGRADE
WTYPE word = ONE;        /* t holds a read */
byte rg = 1;
byte wg = 0;
#else
WTYPE word = WRITER;     /* t holds the write lock */
byte rg = 0;
byte wg = 1;
#endif
byte ug = 0;             /* ghosts: readers, writers, upgradable holders
                            (threads + DONE waits carrying a grant) */
byte qlock;              /* as__lock: 0 free, else holder's _pid + 1 */
byte q[NW];              /* the FIFO, head = q[0] */
byte qlen;
byte nwoken;             /* RW_NWOKEN (as__prim.aux), under the queue lock */

/* ---- as_wait (ids 1..NW) -------------------------------------------- */
byte state[NW + 1];
byte wstatus[NW + 1];
byte wmode[NW + 1];      /* as__n */
byte wflags[NW + 1];     /* as__flags */
byte wloop[NW + 1];
byte chain[NW + 1];      /* loop script: the wait started right after */
byte upg_of[NW + 1];     /* loop script: the upgrade started once held */

byte mbox[3];            /* per loop: delivered waits (bit w), any order */

/* ---- ghosts ---------------------------------------------------------- */
byte carried[NW + 1];    /* mode of the grant a DONE wait carries, or 0 */
bool cancelled[NW + 1];  /* the CANCEL bit: as_cancel returned 0 */
byte passed[NW + 1];     /* times the wait arrived woken to a taken lock */
#ifdef PASS
byte npass[NW + 1];      /* times the wait went back PASSED (RW10) */
bit tmr[NW + 1];         /* w's loop's timer is armed for its pass */
#endif
byte ncb[NW + 1];
byte pend[NW + 1];
byte finished;

#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0) + (state[3] == QUEUED -> 1 : 0))
#define NRESUME ((state[1] == RESUME -> 1 : 0) + (state[2] == RESUME -> 1 : 0) + (state[3] == RESUME -> 1 : 0))
#define Q1 (NQUEUED == qlen && (qlen < 1 || state[q[0]] == QUEUED) && (qlen < 2 || state[q[1]] == QUEUED) && (qlen < 3 || state[q[2]] == QUEUED))
#define STARV(w) ((wflags[w] & F_STARVING) != 0)
/* RW8: a STARVING wait is the head, or right behind an upgrade head or
 * another STARVING wait */
/* RW8': the rank of a queued wait: upgrade, STARVING, PASSED, the others */
#define RANK(w) (wmode[w] == UG -> 0 : (STARV(w) -> 1 : (PASSED(w) -> 2 : 3)))
#define STARVING_AT_FRONT ((qlen < 2 || !STARV(q[1]) || STARV(q[0]) || wmode[q[0]] == UG) && (qlen < 3 || !STARV(q[2]) || STARV(q[1])))

/* ---- waitq.h: list surgery, under the queue lock, inside an atomic step */

inline QPUSH_TAIL(w)
{
    assert(qlock == _pid + 1 && qlen < NW && state[w] != QUEUED);
    q[qlen] = w;
    qlen++;
    state[w] = QUEUED
}

/* as__q_push_head; rw_requeue_starving: insert at position pos */
inline QINSERT(w, pos)
{
    assert(qlock == _pid + 1 && qlen < NW && state[w] != QUEUED);
    i = qlen;
    do
    :: i > pos -> q[i] = q[i - 1]; i--
    :: else -> break
    od;
    q[pos] = w;
    qlen++;
    state[w] = QUEUED;
    i = 0
}

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
    wflags[w] = wflags[w] & ~F_PASSED;   /* out of the queue: not PASSED */
    i = 0
}

inline QUNLOCK()
{
    assert(qlock == _pid + 1);
    qlock = 0
}

inline q_lock_load()
{
    atomic { qlock == 0 -> qlock = _pid + 1; v = word }
}

/* as__wait_finish */
inline finish(w)
{
    atomic {
        assert((mbox[wloop[w]] & (1 << w)) == 0);
        mbox[wloop[w]] = mbox[wloop[w]] | (1 << w)
    }
}

/* as__batch_finish */
inline finish_batch()
{
    k = 1;
    do
    :: k > NW -> break
    :: else ->
        if
        :: (batch & (1 << k)) != 0 -> finish(k)
        :: else
        fi;
        k++
    od;
    batch = 0;
    k = 0
}

/* ---- ghosts of the holders --------------------------------------------- */

inline ghost_grant(m)
{
    if
    :: m == RD -> rg++
    :: m == UR -> ug++
    :: m == UG -> ug--; wg++
    :: m == WR -> wg++
    fi
}

inline ghost_leave(op)
{
    if
    :: op == U_READ -> rg--
    :: op == U_UPREAD -> ug--
    :: op == U_WRITE -> wg--
    :: op == U_DOWNGRADE -> wg--; rg++
    :: op == U_W2U -> wg--; ug++
    fi
}

/* ---- rwlock.c ------------------------------------------------------- */

/* rw_qbits for a queue whose head would be w (0: empty) */
inline QBITS_OF(w, nwk)
{
    qb = 0;
    if
    :: w != 0 ->
        qb = WAITERS;
        if
        :: !IS_STRICT && FIRMQ(w) -> qb = qb | NOBARGE
        :: else
        fi;
#ifndef BUG_PASS_NO_BIT
        if
        :: PASSED(w) -> qb = qb | PASS_BIT
        :: else
        fi
#else
        skip
#endif
    :: else
    fi;
    if
    :: !IS_STRICT && nwk > 0 -> qb = qb | WOKEN
    :: else
    fi
}

/* rw_plan(rw, v0): nv = the word to commit, served = how many waits from
 * the head are served; each served one marked F_WAKE (woken) or not
 * (handed its share).  The granting thread's loop is `me` (t: 0).  Queue
 * lock held, inside an atomic step. */
inline PLAN(v0)
{
    nv = v0;
    vv = v0;
    served = 0;
    nw = 0;
    do
    :: served >= qlen -> break
    :: else ->
        h = q[served];
        if
        :: !COMPAT(wmode[h], vv) -> break
        :: else
        fi;
        if
        :: IS_STRICT || wmode[h] == UG || wloop[h] == me ||
#ifndef BUG_STARVING_WOKEN
           STARV(h) ||
#endif
           false ->
            if
            :: PASSED(h) -> REACH(4)
            :: else
            fi;
            wflags[h] = wflags[h] & ~F_WAKE;
            TAKE(nv, wmode[h]);
            nv = tk
#ifndef BUG_PASS_TWICE
        :: !(IS_STRICT || wmode[h] == UG || wloop[h] == me || STARV(h)) && PASSED(h) ->
            REACH(3);
            break    /* PASS: its timer or its own loop serves it */
        :: else ->
#else
        :: else ->
#endif
            if
            :: nwoken > 0 -> break   /* woken waits are on their way */
            :: else
            fi;
            wflags[h] = wflags[h] | F_WAKE;
            nw++
        fi;
        TAKE(vv, wmode[h]);
        vv = tk;
        served++;
#ifdef BUG_NO_BATCH
        if
        :: wmode[h] == RD -> break
        :: else
        fi;
#endif
        skip
    od;
    if
    :: served < qlen -> QBITS_OF(q[served], nwoken + nw)
    :: else -> QBITS_OF(0, nwoken + nw)
    fi;
#ifndef BUG_PASS_BIT_KEPT
    nv = (nv & ~QBITS) | qb;
#else
    nv = (nv & ~(QBITS & ~PASS_BIT)) | qb;
#endif
    vv = 0;
    nw = 0;
    qb = 0;
    tk = 0;
    h = 0
}

/* rw_serve: take the served waits out of the queue, into the batch */
inline SERVE()
{
    do
    :: served == 0 -> break
    :: else ->
        h = q[0];
        if
        :: (wflags[h] & F_WAKE) != 0 ->
            wflags[h] = wflags[h] & ~F_WAKE;
            nwoken++;
            QREMOVE(h, RESUME)
        :: else ->
            QREMOVE(h, DONE);
            wstatus[h] = 0;
            carried[h] = wmode[h];
            ghost_grant(wmode[h])
        fi;
        batch = batch | (1 << h);
        served--
    od;
    h = 0
}

/* rw_try / rw_try_upgrade_fast: the lock-free fast path, got = 1 taken */
inline fast(m)
{
    got = 0;
    v = word;
    do
    :: (m != UG && CAN_TAKE(v, m)) ||
       (m == UG && (v & (UPGRADABLE | WAITERS)) == UPGRADABLE && NREAD(v) == 0) ->
        atomic {
            if
            :: word == v ->
                TAKE(v, m);
                word = tk;
                ghost_grant(m);
                assert(m == UG || MAY_PASS(m));   /* FIFO, barging */
                if
                :: qlen > 0 && nwoken == 0 -> REACH(8)   /* past a PASSED head (fast path) */
                :: else
                fi;
                if
                :: qlen > 0 && m == RD && wmode[q[0]] == WR -> REACH(9)
                :: else
                fi;
                got = 1
            :: else -> v = word
            fi
        };
        if
        :: got -> break
        :: else
        fi
    :: else -> break
    od;
    v = 0;
    tk = 0
}

/* rw_acquire (fast path, then rw_acquire_slow): r = 1 taken, 0 pending */
inline rw_acquire(w)
{
    m = wmode[w];
    fast(m);
    if
    :: got -> r = 1
    :: else ->
        atomic { qlock == 0 -> qlock = _pid + 1; wstatus[w] = 0; wflags[w] = 0; v = word };
        assert(m != UG || (v & UPGRADABLE) != 0);   /* the holder's */
        do
        :: (m != UG && CAN_TAKE(v, m)) || (m == UG && NREAD(v) == 0) ->
            atomic {
                if
                :: word == v ->
                    TAKE(v, m);
                    word = tk;
                    ghost_grant(m);
                    assert(m == UG || MAY_PASS(m));
                    got = 1;
                    QUNLOCK()
                :: else -> v = word
                fi
            };
            if
            :: got -> break
            :: else
            fi
        :: else ->
            /* add_waiter_if: park only while the word still says "wait";
             * the queue's bits for the queue with w in it */
            atomic {
#ifndef BUG_UPGRADE_TAIL
                if
                :: m == UG || qlen == 0 -> QBITS_OF(w, nwoken)
                :: else -> QBITS_OF(q[0], nwoken)
                fi;
#else
                if
                :: qlen == 0 -> QBITS_OF(w, nwoken)
                :: else -> QBITS_OF(q[0], nwoken)
                fi;
#endif
                if
                :: word == v || ((v & ~QBITS) | qb) == v ->
                    word = (word & ~QBITS) | qb;
#ifndef BUG_UPGRADE_TAIL
                    if
                    :: m == UG -> QINSERT(w, 0)      /* RW5 */
                    :: else -> QPUSH_TAIL(w)
                    fi;
#else
                    QPUSH_TAIL(w);
#endif
                    QUNLOCK();
                    ok = 1
                :: else -> v = word; ok = 0
                fi;
                qb = 0
            };
            if
            :: ok -> break
            :: else
            fi
        od;
        r = got
    fi;
    got = 0;
    ok = 0;
    v = 0;
    tk = 0;
    m = 0
}

/* rw_unlock(rw, op).  The C code's slow path drops the lock and starts
 * over when WAITERS was cleared meanwhile: the outer loop. */
inline rw_unlock(op)
{
    done = 0;
    do
    :: done -> break
    :: else ->
        v = word;
        do
        :: (v & WAITERS) == 0 ->
            assert(HELD(v, op));   /* -EPERM: the scripts never misuse */
            atomic {
                if
                :: word == v -> NEXT(v, op); word = tk; ghost_leave(op); done = 1
                :: else -> v = word
                fi
            };
            if
            :: done -> break
            :: else
            fi
        :: else -> break
        od;
        if
        :: done
        :: else ->
            q_lock_load();
            if
            :: (v & WAITERS) == 0 -> atomic { QUNLOCK() }
            :: else ->
                /* plan, CAS, serve; again from what the CAS read when a
                 * barger got in first (RW2) */
                do
                :: atomic {
                       if
                       :: word == v ->
                           assert(HELD(v, op));
                           assert(op != U_UPREAD || qlen == 0 || wmode[q[0]] != UG);
                           ghost_leave(op);
                           NEXT(v, op);
                           PLAN(tk);
                           word = nv;
                           SERVE();
                           QUNLOCK();
                           done = 1
                       :: else -> v = word
                       fi
                   };
                   if
                   :: done -> break
                   :: else
                   fi
                od;
                nv = 0;
                finish_batch()
            fi
        fi
    od;
    done = 0;
    v = 0;
    tk = 0
}

/* kind->giveback: a grant decided, then cancelled before the callback */
inline giveback(w)
{
    if
    :: wmode[w] == RD -> rw_unlock(U_READ)
    :: wmode[w] == WR -> rw_unlock(U_WRITE)
    :: wmode[w] == UR -> rw_unlock(U_UPREAD)
    :: wmode[w] == UG -> rw_unlock(U_W2U)
    fi
}

/* as_cancel of one of the loop's own waits (loop thread): QUEUED ->
 * rw_cancel (unlink, -ECANCELED, re-grant: plan, CAS, serve); RESUME ->
 * GIVE_UP (as__q_cancel_locked); DONE with a grant -> the CANCEL CAS, then
 * kind->giveback (the callback runs on this same thread, so nothing races
 * with it here). */
inline rw_cancel(w)
{
    if
    :: state[w] == QUEUED || state[w] == RESUME ->
        q_lock_load();
        ok = 0;
        do
        :: atomic {
               if
               :: state[w] == RESUME ->
                   wflags[w] = wflags[w] | F_GIVE_UP;
                   wstatus[w] = ECANCELED;
                   cancelled[w] = true;
                   QUNLOCK();
                   done = 1
               :: state[w] != QUEUED && state[w] != RESUME ->
                   QUNLOCK();        /* decided meanwhile */
                   done = 1
               :: state[w] == QUEUED && word == v ->
                   if
                   :: PASSED(w) -> REACH(10)
                   :: else
                   fi;
                   QREMOVE(w, DONE);
                   wstatus[w] = ECANCELED;
                   cancelled[w] = true;
#ifndef BUG_CANCEL_NO_REGRANT
                   PLAN(v);
                   word = nv;
                   SERVE();
#else
                   if
                   :: qlen > 0 -> QBITS_OF(q[0], nwoken)
                   :: else -> QBITS_OF(0, nwoken)
                   fi;
                   word = (v & ~QBITS) | qb;
                   qb = 0;
#endif
                   QUNLOCK();
                   ok = 1;
                   done = 1
               :: state[w] == QUEUED && word != v -> v = word
               fi
           };
           if
           :: done -> break
           :: else
           fi
        od;
        done = 0;
        nv = 0;
        v = 0;
        if
        :: ok -> finish(w); finish_batch(); ok = 0
        :: else
        fi
    :: else
    fi;
    if
    :: state[w] == DONE && wstatus[w] == 0 && !cancelled[w] ->
        cancelled[w] = true;
        carried[w] = 0;
        giveback(w)
    :: else
    fi
}

/* rw_resume (kind->resume): a woken wait arrived on its loop.  It takes
 * its share if compatible with the holders, else comes back STARVING
 * (behind an upgrade at the head and the STARVING waits before it), or
 * gives up (cancelled on its way); then the grant: plan, CAS, serve. */
inline rw_resume(w)
{
    /* (RW_NWOKEN is decremented under the lock before the CAS; only the
     * lock holder reads it, so it is done with the CAS here, where the
     * FIFO check, which reads it, sees it with the word) */
    q_lock_load();
    do
    :: atomic {
           if
           :: word == v ->
               assert(nwoken > 0);
               nwoken--;
               if
               :: (wflags[w] & F_GIVE_UP) != 0 ->
#ifndef BUG_RESUME_NO_GRANT
                   PLAN(v);
                   word = nv;
                   SERVE();
#else
                   if
                   :: nwoken == 0 -> word = v & ~WOKEN
                   :: else
                   fi;
#endif
                   state[w] = DONE;   /* with the cancel's status */
                   batch = batch | (1 << w)
               :: (wflags[w] & F_GIVE_UP) == 0 && COMPAT(wmode[w], v) ->
                   TAKE(v, wmode[w]);
                   PLAN(tk);
                   word = nv;
                   SERVE();
                   state[w] = DONE;
                   wstatus[w] = 0;
                   carried[w] = wmode[w];
                   ghost_grant(wmode[w]);
                   batch = batch | (1 << w)
               :: else ->
                   /* someone got in first: back to the front */
                   passed[w]++;
                   assert(passed[w] <= 1);   /* passed over once at most */
#ifdef PASS
                   /* its loop has a timer (and this is its first failure:
                    * a woken wait was never PASSED nor STARVING): PASSED,
                    * behind [upgrade head][STARVING][PASSED], its timer
                    * armed; else STARVING behind [upgrade head][STARVING] */
                   if
                   :: PASS_MAY(w) ->
                       REACH(1);
                       if
                       :: qlen > 0 && PASSED(q[0]) -> REACH(11)
                       :: else
                       fi;
                       npass[w]++;
                       assert(npass[w] <= 1);   /* RW10 */
                       wflags[w] = wflags[w] | F_PASSED;
                       tmr[w] = 1;
                       k = 0;
                       do
                       :: k < qlen && (wmode[q[k]] == UG || STARV(q[k]) || PASSED(q[k])) -> k++
                       :: else -> break
                       od
                   :: else ->
                       REACH(2);
                       wflags[w] = wflags[w] | F_STARVING;
                       k = 0;
                       do
                       :: k < qlen && (wmode[q[k]] == UG || STARV(q[k])) -> k++
                       :: else -> break
                       od
                   fi;
#else
                   wflags[w] = wflags[w] | F_STARVING;
                   k = 0;
                   do
                   :: k < qlen && (wmode[q[k]] == UG || STARV(q[k])) -> k++
                   :: else -> break
                   od;
#endif
                   QINSERT(w, k);
                   k = 0;
                   QBITS_OF(q[0], nwoken);
                   word = (v & ~QBITS) | qb;
                   qb = 0
               fi;
               QUNLOCK();
               done = 1
           :: else -> v = word
           fi
       };
       if
       :: done -> break
       :: else
       fi
    od;
    done = 0;
    nv = 0;
    v = 0;
    tk = 0;
    finish_batch()
}

#ifdef PASS
/* rw_tick (kind->tick), on w's loop thread, any time after its pass: under
 * the queue lock, a wait still QUEUED and PASSED becomes STARVING, moves
 * to right behind [upgrade head][STARVING waits] (itself aside), and the
 * grant runs from the word (rw_grant_locked: plan, CAS, serve; it
 * recomputes the bits and, w being STARVING, hands it its share directly
 * if it fits); a wait no longer PASSED (served, cancelled) is left alone.
 * The queue surgery, the load and the CAS are one step (the CAS cannot
 * fail inside it).
 * -DBUG_PASS_TICK_NO_GRANT: the bits recomputed, no grant;
 * -DBUG_PASS_TICK_BEHIND: moved behind the PASSED waits too. */
inline rw_tick(w)
{
    atomic {
        qlock == 0 -> qlock = _pid + 1;
        tmr[w] = 0;
        if
        :: state[w] == QUEUED && PASSED(w) ->
            QREMOVE(w, IDLE);
            wflags[w] = wflags[w] | F_STARVING;
            k = 0;
            do
#ifndef BUG_PASS_TICK_BEHIND
            :: k < qlen && (wmode[q[k]] == UG || STARV(q[k])) -> k++
#else
            :: k < qlen && (wmode[q[k]] == UG || STARV(q[k]) || PASSED(q[k])) -> k++
#endif
            :: else -> break
            od;
            if
            :: k < qlen && PASSED(q[k]) -> REACH(12)   /* ahead of a PASSED one */
            :: else
            fi;
            QINSERT(w, k);
            v = word;
#ifndef BUG_PASS_TICK_NO_GRANT
            PLAN(v);
            word = nv;
            SERVE();
            if
            :: state[w] != QUEUED -> REACH(5)
            :: else -> REACH(6)
            fi;
#else
            QBITS_OF(q[0], nwoken);
            word = (v & ~QBITS) | qb;
            qb = 0;
#endif
            k = 0;
            nv = 0;
            v = 0
        :: else -> REACH(7)
        fi;
        QUNLOCK()
    };
    finish_batch()
}

/* as_loop_run's timers: one of this loop's armed pass timers fires */
inline tick_one()
{
    if
    :: tmr[1] && wloop[1] == me -> w = 1
    :: tmr[2] && wloop[2] == me -> w = 2
    :: tmr[3] && wloop[3] == me -> w = 3
    fi;
    rw_tick(w);
    w = 0
}
#define TMR(l) ((tmr[1] && wloop[1] == l) || (tmr[2] && wloop[2] == l) || (tmr[3] && wloop[3] == l))
#endif

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
        assert(wloop[w] == me && (state[w] == DONE || state[w] == RESUME))
    };
    if
    :: state[w] == RESUME -> rw_resume(w)
    :: else ->
        d_step {
            state[w] = IDLE;
#ifdef PASS
            tmr[w] = 0;      /* as__timer_remove */
#endif
            pending--;
            ncb[w]++;
            assert(ncb[w] == 1);
            if
            :: cancelled[w] -> st = ECANCELED
            :: else -> st = wstatus[w]
            fi;
            /* status 0 <=> the grant came with the wait */
            assert((st == 0) == (carried[w] != 0));
            carried[w] = 0
        };
        if
        :: st == 0 -> acq = w
        :: else ->
            if
            :: wmode[w] == UG -> rw_unlock(U_UPREAD)   /* still upgradable */
            :: else
            fi
        fi
    fi;
    st = 0;
    w = 0
}

/* what a loop task does once it holds what wait w asked for */
inline acquired(w)
{
    if
    :: wmode[w] == RD -> rw_unlock(U_READ)
    :: wmode[w] == WR ->
        if
        :: rw_unlock(U_WRITE)
        :: rw_unlock(U_DOWNGRADE); rw_unlock(U_READ)
        fi
    :: wmode[w] == UR && upg_of[w] != 0 -> nxt = upg_of[w]
    :: wmode[w] == UR && upg_of[w] == 0 -> rw_unlock(U_UPREAD)
    :: wmode[w] == UG -> rw_unlock(U_WRITE)
    fi
}

inline loop_body()
{
    do
    :: nxt != 0 && acq == 0 ->
        w = nxt;
        nxt = chain[w];
        rw_acquire(w);
        if
        :: r == 1 -> acq = w
        :: else -> pending++; pend[w] = 1
        fi;
        r = 0;
        w = 0
    :: acq != 0 -> w = acq; acq = 0; acquired(w); w = 0
    :: mbox[me] != 0 && acq == 0 -> run_one()
    :: cancel != 0 -> rw_cancel(cancel); cancel = 0
#ifdef PASS
    :: TMR(me) && acq == 0 -> tick_one()
#endif
    :: nxt == 0 && acq == 0 && pending == 0 -> break
    od;
    finished++
}

proctype loop1()
{
    byte me = 1;
    WTYPE v, nv, vv, tk;
    byte h, i, k, w, r, m, st, op, batch, pending, cancel, acq, nxt;
    byte served, nw, qb;
    bit got, ok, done;

    if
    :: cancel = 0
    :: cancel = 1
    :: cancel = 2
    fi;
    nxt = 1;
    loop_body()
}

proctype loop2()
{
    byte me = 2;
    WTYPE v, nv, vv, tk;
    byte h, i, k, w, r, m, st, op, batch, pending, cancel, acq, nxt;
    byte served, nw, qb;
    bit got, ok, done;

    if
    :: cancel = 0
#ifndef NO_CANCEL2
    :: cancel = 3
#endif
    fi;
    nxt = 3;
    loop_body()
}

/* A thread that runs no loop: gives back what it holds, then barges. */
proctype t()
{
    byte me = 0;
    WTYPE v, nv, vv, tk;
    byte h, i, k, m, batch, n;
    byte served, nw, qb;
    bit got, ok, done;

#ifdef UPGRADE
    rw_unlock(U_READ);
#else
    rw_unlock(U_WRITE);
#endif
    n = 0;
    do
    :: n == BARGES -> break
    :: else ->
        n++;
        if
        :: fast(RD);
           if
           :: got -> rw_unlock(U_READ)
           :: else
           fi
        :: fast(WR);
           if
           :: got -> rw_unlock(U_WRITE)
           :: else
           fi
        fi
    od;
    finished++
}

/* Invariants, in every reachable state where the queue lock is free. */
#ifndef NO_INVARIANTS
active proctype monitor()
{
    atomic {
        qlock == 0 ->
        assert(Q1);
        /* RW3: exclusion, and the word matches the holders */
        assert(wg <= 1 && ug <= 1);
        assert(wg == 0 || (rg == 0 && ug == 0));
        assert(((word & WRITER) != 0) == (wg == 1));
        assert(((word & UPGRADABLE) != 0) == (ug == 1));
        assert(NREAD(word) == rg);
        /* RW1 */
        assert(((word & WAITERS) != 0) == (qlen > 0));
        /* RW4 (PASS: RW4'): the head is not compatible with the holders,
         * unless woken waits are on their way (or it is PASSED: its timer
         * serves it) */
        assert(qlen == 0 || !COMPAT(wmode[q[0]], word) || (word & WOKEN) != 0 || PASSED(q[0]));
        /* RW5: an upgrade only at the head, with UPGRADABLE held; never
         * woken */
        assert(qlen < 2 || wmode[q[1]] != UG);
        assert(qlen < 3 || wmode[q[2]] != UG);
        assert(qlen == 0 || wmode[q[0]] != UG || (word & UPGRADABLE) != 0);
        assert(!(state[1] == RESUME && wmode[1] == UG) &&
               !(state[2] == RESUME && wmode[2] == UG) &&
               !(state[3] == RESUME && wmode[3] == UG));
        /* RW7: WOKEN <=> woken waits on their way, counted */
        assert(nwoken == NRESUME);
        assert(((word & WOKEN) != 0) == (nwoken > 0));
        assert(!IS_STRICT || nwoken == 0);
        /* RW8: STARVING at the front; a STARVING or upgrade head is never
         * compatible with the word */
        assert(STARVING_AT_FRONT);
        assert(qlen == 0 || !(STARV(q[0]) || wmode[q[0]] == UG) || !COMPAT(wmode[q[0]], word));
        /* RW9: NOBARGE <=> the head holds firm (eventual; PASS: and is not
         * PASSED, RW10) */
#ifndef NO_NOBARGE_CHECK
        assert(((word & NOBARGE) != 0) == (!IS_STRICT && qlen > 0 && FIRM(q[0]) && !PASSED(q[0])));
#endif
#ifdef PASS
        /* RW8': the queue is [upgrade head][STARVING][PASSED][the others] */
        assert(qlen < 2 || RANK(q[0]) <= RANK(q[1]));
        assert(qlen < 3 || RANK(q[1]) <= RANK(q[2]));
        /* RW10: a PASSED wait is QUEUED, its timer armed; PASS <=> the
         * head is PASSED */
        assert(!PASSED(1) || (state[1] == QUEUED && tmr[1]));
        assert(!PASSED(2) || (state[2] == QUEUED && tmr[2]));
        assert(!PASSED(3) || (state[3] == QUEUED && tmr[3]));
        assert(((word & PASS_BIT) != 0) == (qlen > 0 && PASSED(q[0])));
#endif
        skip
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    atomic {
        finished == NPROC ->
        assert(word == 0 && qlen == 0 && qlock == 0 && nwoken == 0);
        assert(rg == 0 && wg == 0 && ug == 0);
        assert(mbox[1] == 0 && mbox[2] == 0);
#ifdef PASS
        assert(!tmr[1] && !tmr[2] && !tmr[3]);
#endif
        assert(ncb[1] == pend[1] && ncb[2] == pend[2] && ncb[3] == pend[3])
    }
}

init
{
    atomic {
        wloop[1] = 1;
        wloop[2] = 1;
        wloop[3] = 2;
#ifdef UPGRADE
        wmode[1] = UR;
        wmode[2] = UG;
        wmode[3] = WR;
        upg_of[1] = 2;
#else
        wmode[1] = RD;
        wmode[2] = WR;
        wmode[3] = RD;
        chain[1] = 2;
#endif
        run t();
        run loop1();
        run loop2()
    }
}
