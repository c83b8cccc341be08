/*
 * rwlock.pml -- the read-write lock of src/rwlock.c on the waiter queue of
 * src/waitq.h: WRITER / UPGRADABLE / WAITERS / reader count in one word,
 * add_waiter_if parking, the phase grant (rw_grant_locked: consecutive
 * readers admitted together, a writer alone, strict FIFO), upgrade waits
 * at the head of the queue, downgrade, and cancel (QUEUED: removed and the
 * grant re-run; DONE with a grant: the grant given back, kind->giveback,
 * a granted upgrade back to the upgradable read).
 *
 * Threads:
 *   t       a thread that runs no loop; it holds the lock at the start (the
 *           write lock; with UPGRADE a read), gives it back, then tries once
 *           to barge (as_rwlock_try_read) and unlocks if it got it
 *   loop1   a loop thread with waits 1 and 2:
 *             default: 1 = read, 2 = write, started in that order; the
 *               writer, once in, either unlocks or downgrades and then
 *               read-unlocks
 *             UPGRADE: 1 = upgradable read; once it holds it, 2 = upgrade
 *               (as_rwlock_upgrade_async); then write_unlock (0) or, the
 *               upgrade cancelled, upgradable_read_unlock
 *           it may cancel one of its waits, at any moment
 *   loop2   a loop thread with wait 3 (default: a read; UPGRADE: a write),
 *           which it may cancel
 * Each acquisition (at once, or a callback with status 0) is followed by
 * the unlocks above on that thread.  Granularity and delivery as in
 * mutex.pml (README.md): each access to the word is a step, what is done
 * under the queue lock is merged with the neighbouring word access;
 * as__wait_finish puts the wait in its loop's delivery set.
 *
 * Checked:
 *   - exclusion (RW3): at most one writer, and then no reader and no
 *     upgradable reader; at most one upgradable reader; the word's bits and
 *     count match the holders (threads holding, and DONE waits carrying a
 *     grant to their callback)
 *   - RW1 WAITERS <=> queue not empty; Q1 a wait is queued iff QUEUED
 *   - RW4 the head of the queue is never compatible with the word (phases:
 *     consecutive readers were admitted together; nobody left waiting
 *     behind a waiter that gave up)
 *   - RW5 an upgrade wait is only ever the head, and UPGRADABLE is set
 *   - FIFO: an acquisition by a task that is not queued happens only with
 *     nobody queued (no barging)
 *   - exactly one callback per wait that went pending; status 0 <=> the
 *     callback carries the grant; invalid end states: no lost wake-up; at
 *     the end the word is 0 and the queue empty
 *
 * Build-time switches:
 *   UPGRADE                the upgrade scenario (above)
 *   Deliberately broken variants (each must FAIL):
 *   BUG_READER_BARGES      a reader takes the lock while a writer is queued
 *                          (the read fast path ignores WAITERS)
 *   BUG_NO_BATCH           the grant admits one reader, not the consecutive
 *                          readers at the head
 *   BUG_UPGRADE_TAIL       an upgrade queues at the tail, behind a writer
 *                          that waits for the upgradable read to leave
 *   BUG_CANCEL_NO_REGRANT  a cancelled wait leaves without re-running the
 *                          grant
 *   NO_INVARIANTS          leave the invariant monitor out (the broken
 *                          variants that deadlock must then still fail, by
 *                          an invalid end state)
 */

#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */

#define ECANCELED 1

/* the word */
#define WRITER     1   /* RW_WRITER */
#define UPGRADABLE 2   /* RW_UPGRADABLE */
#define WAITERS    4   /* RW_WAITERS */
#define ONE        8   /* RW_ONE: readers count from bit 3 */
#define NREAD(v)   ((v) / ONE)

/* what a wait asks for (as__n) */
#define RD 1   /* RW_READ */
#define WR 2   /* RW_WRITE */
#define UR 3   /* RW_UPREAD */
#define UG 4   /* RW_UPGRADE */

/* unlock operations (rw_unlock_op) */
#define U_READ      1
#define U_WRITE     2
#define U_UPREAD    3
#define U_DOWNGRADE 4
#define U_W2U       5   /* U_WRITE_TO_UPREAD: a granted upgrade given back */

#define NW 3
#define NPROC 3

/* rw_can_take: a newcomer, never past a queued waiter */
#ifdef BUG_READER_BARGES
#define RD_OK(v) (((v) & WRITER) == 0)
#else
#define RD_OK(v) (((v) & (WAITERS | WRITER)) == 0)
#endif
#define CAN_TAKE(v, m) (((m) == RD && RD_OK(v)) || ((m) == UR && ((v) & (WAITERS | WRITER | UPGRADABLE)) == 0) || ((m) == WR && (v) == 0))
/* rw_held */
#define HELD(v, op) (((op) == U_READ && NREAD(v) > 0) || ((op) == U_UPREAD && ((v) & UPGRADABLE) != 0) || ((op) != U_READ && (op) != U_UPREAD && ((v) & WRITER) != 0))
/* the grant's test: is a waiter of mode m compatible with the word v? */
#define COMPAT(m, v) (((m) == RD && ((v) & WRITER) == 0) || ((m) == UR && ((v) & (WRITER | UPGRADABLE)) == 0) || ((m) == UG && NREAD(v) == 0) || ((m) == WR && ((v) & (WRITER | UPGRADABLE)) == 0 && NREAD(v) == 0))

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
byte word = ONE;         /* t holds a read */
byte rg = 1;
byte wg = 0;
#else
byte word = WRITER;      /* t holds the write lock */
byte rg = 0;
byte wg = 1;
#endif
byte ug = 0;             /* ghosts: readers, writers, upgradable holders
                            (threads + DONE waits carrying a grant) */
byte qlock;              /* as__lock: 0 free, else holder's _pid + 1 */
byte q[NW];              /* the FIFO, head = q[0] */
byte qlen;

/* ---- as_wait (ids 1..NW) -------------------------------------------- */
byte state[NW + 1];
byte wstatus[NW + 1];
byte wmode[NW + 1];      /* as__n */
byte wloop[NW + 1];
byte chain[NW + 1];      /* loop script: the wait started right after */
byte upg_of[NW + 1];     /* loop script: the upgrade started once held */

byte mbox[3];            /* per loop: delivered waits (bit w), any order */

/* ---- ghosts ---------------------------------------------------------- */
byte carried[NW + 1];    /* mode of the grant a DONE wait carries, or 0 */
bool cancelled[NW + 1];  /* the CANCEL bit: as_cancel returned 0 */
byte ncb[NW + 1];
byte pend[NW + 1];
byte finished;

#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0) + (state[3] == QUEUED -> 1 : 0))
#define Q1 (NQUEUED == qlen && (qlen < 1 || state[q[0]] == QUEUED) && (qlen < 2 || state[q[1]] == QUEUED) && (qlen < 3 || state[q[2]] == QUEUED))

/* ---- waitq.h: list surgery, under the queue lock, inside an atomic step */

inline QPUSH_TAIL(w)
{
    assert(qlock == _pid + 1 && qlen < NW && state[w] != QUEUED);
    q[qlen] = w;
    qlen++;
    state[w] = QUEUED
}

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

inline QREMOVE(w)
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
    state[w] = DONE;
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

/* rw_grant_locked(rw, v0): serve the queue from its head while the head is
 * compatible, store the word (RW1).  Queue lock held; granted waits are
 * collected in batch.  Inside an atomic step. */
inline GRANT(v0)
{
    nv = v0;
    do
    :: qlen == 0 -> break
    :: qlen > 0 && !COMPAT(wmode[q[0]], nv) -> break
    :: qlen > 0 && COMPAT(wmode[q[0]], nv) ->
        h = q[0];
        TAKE(nv, wmode[h]);
        nv = tk;
        QREMOVE(h);
        wstatus[h] = 0;
        carried[h] = wmode[h];
        ghost_grant(wmode[h]);
        batch = batch | (1 << h);
#ifdef BUG_NO_BATCH
        if
        :: wmode[h] == RD -> break
        :: else
        fi
#endif
    od;
    if
    :: qlen > 0 -> nv = nv | WAITERS
    :: else -> nv = nv & ~WAITERS
    fi;
    word = nv;
    nv = 0;
    tk = 0;
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
                assert(m == UG || qlen == 0);   /* FIFO: nobody passed */
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
        atomic { qlock == 0 -> qlock = _pid + 1; wstatus[w] = 0; v = word };
        assert(m != UG || (v & UPGRADABLE) != 0);   /* the holder's */
        do
        :: (m != UG && CAN_TAKE(v, m)) || (m == UG && NREAD(v) == 0) ->
            atomic {
                if
                :: word == v ->
                    TAKE(v, m);
                    word = tk;
                    ghost_grant(m);
                    assert(m == UG || qlen == 0);
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
            /* add_waiter_if: park only while the word still says "wait" */
            atomic {
                if
                :: word == v || (v & WAITERS) != 0 ->
                    word = word | WAITERS;
#ifndef BUG_UPGRADE_TAIL
                    if
                    :: m == UG -> QPUSH_HEAD(w)      /* RW5 */
                    :: else -> QPUSH_TAIL(w)
                    fi;
#else
                    QPUSH_TAIL(w);
#endif
                    QUNLOCK();
                    ok = 1
                :: else -> v = word; ok = 0
                fi
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
                atomic {
                    assert(HELD(v, op));
                    assert(op != U_UPREAD || qlen == 0 || wmode[q[0]] != UG);
                    ghost_leave(op);
                    NEXT(v, op);
                    GRANT(tk);
                    QUNLOCK()
                };
                done = 1;
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
 * rw_cancel (unlink, -ECANCELED, re-grant); DONE with a grant -> the CANCEL
 * CAS, then kind->giveback (the callback runs on this same thread, so
 * nothing races with it here). */
inline rw_cancel(w)
{
    if
    :: state[w] == QUEUED ->
        atomic {
            qlock == 0 -> qlock = _pid + 1;
            if
            :: state[w] == QUEUED ->
                QREMOVE(w);
                wstatus[w] = ECANCELED;
                cancelled[w] = true;
#ifndef BUG_CANCEL_NO_REGRANT
                GRANT(word);
#else
                if
                :: qlen == 0 -> word = word & ~WAITERS
                :: else
                fi;
#endif
                ok = 1
            :: else -> ok = 0
            fi;
            QUNLOCK()
        };
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

/* as_loop_run: take one delivered wait and call it back */
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
        assert(wloop[w] == me && state[w] == DONE);
        state[w] = IDLE;
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
    :: nxt == 0 && acq == 0 && pending == 0 -> break
    od;
    finished++
}

proctype loop1()
{
    byte me = 1;
    byte v, nv, tk, h, i, k, w, r, m, st, op, batch, pending, cancel, acq, nxt;
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
    byte v, nv, tk, h, i, k, w, r, m, st, op, batch, pending, cancel, acq, nxt;
    bit got, ok, done;

    if
    :: cancel = 0
    :: cancel = 3
    fi;
    nxt = 3;
    loop_body()
}

/* A thread that runs no loop: gives back what it holds, then barges. */
proctype t()
{
    byte v, nv, tk, h, i, k, m, batch;
    bit got, ok, done;

#ifdef UPGRADE
    rw_unlock(U_READ);
#else
    rw_unlock(U_WRITE);
#endif
    fast(RD);
    if
    :: got -> rw_unlock(U_READ)
    :: else
    fi;
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
        /* RW4: the head is not compatible with the holders */
        assert(qlen == 0 || !COMPAT(wmode[q[0]], word));
        /* RW5: an upgrade only at the head, with UPGRADABLE held */
        assert(qlen < 2 || wmode[q[1]] != UG);
        assert(qlen < 3 || wmode[q[2]] != UG);
        assert(qlen == 0 || wmode[q[0]] != UG || (word & UPGRADABLE) != 0)
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    atomic {
        finished == NPROC ->
        assert(word == 0 && qlen == 0 && qlock == 0);
        assert(rg == 0 && wg == 0 && ug == 0);
        assert(mbox[1] == 0 && mbox[2] == 0);
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
