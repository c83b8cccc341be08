/*
 * barrier.pml -- the generation protocol of as_barrier (src/barrier.c) on
 * the waiter queue of src/waitq.h / src/waitq.c, with as_cancel from
 * another thread (src/wait.c: QUEUED -> barrier_cancel = as__q_cancel with
 * barrier_fixup; DONE -> the CAS DONE -> DONE|CANCEL racing the loop's
 * exchange to IDLE, src/loop.c as__run_callback; giveback NULL), a
 * deadline (src/timer.c as__wait_expire; and barrier_arrive's refusal of an
 * arrival that would wait past its deadline) and as_barrier_close.
 *
 * Threads:
 *   party(1..NPARTY)  each runs its own loop (one as_wait per party, wait
 *           id = party id, re-armed for every arrival).  It arrives
 *           (as_barrier_wait_async / _until) until it has passed ROUNDS
 *           generations: 1 (the leader) is a pass; 0 parks it and its loop
 *           runs until the callback: status 0 is a pass; a party that left
 *           (-ECANCELED while still queued, -ETIMEDOUT) arrives again; a
 *           party closed out (-ESHUTDOWN, at the call or in the callback)
 *           stops.  A party cancelled after its generation completed (the
 *           callback reports -ECANCELED, X1, but it was counted) counts it
 *           as a pass: the application is told so by the model (`released`,
 *           a ghost), since the status alone does not say (README.md).
 *           With WITH_TIMEOUT party 2's first arrival has a deadline that
 *           passes at any moment: at the arrival (refused with -ETIMEDOUT,
 *           not counted) or while it waits (its loop's timer:
 *           as__wait_expire).
 *   canceller  (WITH_CANCEL) another thread: as_cancel(&wait1), once, at
 *           any moment (before party 1 arrived: -ENOENT; on any of its
 *           arms).
 *   closer  (WITH_CLOSE) another thread: as_barrier_close, at any moment
 *           (TEARDOWN: once fewer than PARTIES parties are left, to close
 *           out the ones that can no longer complete a generation).
 *
 * NPARTY = 3 party threads, PARTIES = 3 (-DPARTIES=2 -DTEARDOWN: a barrier
 * of 2 shared by 3 threads, so generations have changing members and a
 * party can arrive for generation g+1 while another is still in g), ROUNDS
 * = 2 passes per party.  A party makes at most ROUNDS + 2 arrivals (one
 * refused or withdrawn by its deadline, one withdrawn by the cancel).
 *
 * Granularity: barrier_arrive and as_barrier_close are each one step from
 * the queue lock to its release (everything they do is under the lock; the
 * only lock-free accesses to what they write are single loads and the CAS
 * of as_cancel on a DONE wait, which commute with the rest of the section:
 * Lipton reduction, README.md); as__batch_finish is one step per wait
 * after the unlock; as_cancel's and as__wait_expire's load of the state is
 * a step, the locked re-check and unlink (as__q_lock_wait,
 * as__q_cancel_locked, barrier_fixup) is one step, its finish another;
 * the callback's exchange to IDLE is one step.  as__wait_finish puts the
 * wait in its party's delivery set (delivery.pml checks the delivery).
 *
 * Checked (assertions; the monitor in every state where the queue lock is
 * free):
 *   BA1   the word (arrived) == the queue length == the parties counted in
 *         the current generation (ghost), and < PARTIES; Q1 a wait is
 *         queued iff QUEUED
 *   count every generation completes with exactly PARTIES counted
 *         arrivals (ghost: parked in it and not withdrawn, plus the
 *         leader) and exactly one leader; every wait the leader releases
 *         arrived in that generation
 *   gen   a callback with 0 is for a wait a leader released, and released
 *         with the generation it arrived in (no early release, none into
 *         another generation)
 *   W1/X1 a callback reports -ECANCELED iff a cancel committed (the
 *         unlink of a QUEUED wait, or the CAS on a DONE one), and at the
 *         end as_cancel returned 0 iff it did; a wait withdrawn (unlinked
 *         by cancel, deadline or close) was never counted in a completed
 *         generation and reports its remover's status; a released wait
 *         reports 0 unless a cancel committed after the release
 *   grant wins over a deadline: a released wait is never -ETIMEDOUT
 *   close every wait queued at close ends with -ESHUTDOWN; no arrival
 *         counts after close; the word is 0 after
 *   once  one callback per arrival that returned 0, none for a leader or a
 *         refused arrival; state DONE at the callback
 *   end   invalid end states: nobody waits for ever (every party passes
 *         ROUNDS generations unless closed out); at the end the queue is
 *         empty, every wait IDLE, the word 0, the passes PARTIES per
 *         generation, and (not closed) ROUNDS generations completed
 *   -DNP  no non-progress cycle (as_cancel's and expire's "look again")
 *
 * Build-time switches:
 *   WITH_CANCEL, WITH_TIMEOUT, WITH_CLOSE   the threads/deadline above
 *   PARTIES=2 TEARDOWN  the 2-of-3 configuration above
 *   CANCEL_NOT_COUNTED  also assert that a callback with -ECANCELED is for
 *                       a party that was not counted (the reading "a
 *                       cancelled party stops counting" applied to every
 *                       successful as_cancel): fails on the C code
 *                       (finding, README.md)
 *   RETRY_ON_CANCEL     a party arrives again after every -ECANCELED
 *                       (no ghost to tell it whether it was counted):
 *                       fails with an invalid end state (the finding)
 *   NO_INVARIANTS       leave the BA1 monitor out
 *   REACHALL, REACHPT=k vacuity (run.sh's reach rows)
 *   Deliberately broken variants (each must FAIL):
 *   BUG_CANCEL_STILL_COUNTS  barrier_cancel without barrier_fixup: a party
 *                       that left is still counted in `arrived`
 *   BUG_GIVEBACK_UNCOUNTS    a kind->giveback that uncounts the party (a
 *                       cancel after completion treated as leaving)
 *   BUG_RESET_UNLOCKED       the leader resets `arrived` after the unlock
 *                       (after finishing the released waits): the
 *                       generation is not advanced under the lock
 *   BUG_TAKE_RELOCK          the leader resets `arrived` under the lock,
 *                       and takes the queue under a second lock section
 *   BUG_LOCKFREE_COUNT       the arrival counts itself with a lock-free
 *                       fetch_add, then locks to lead or park
 */

#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */

#define ECANCELED 1
#define ETIMEDOUT 2
#define ESHUTDOWN 3
#define ENOENT    4
#define LEADER    5   /* barrier_arrive returned 1 */
#define NONE      6

#ifndef PARTIES
#define PARTIES 3
#endif
#define NPARTY 3
#ifndef ROUNDS
#define ROUNDS 2
#endif

#ifdef TEARDOWN
#define WITH_CLOSE
#endif
#if defined(WITH_CANCEL) && defined(WITH_CLOSE)
#define NPROC (NPARTY + 2)
#elif defined(WITH_CANCEL) || defined(WITH_CLOSE)
#define NPROC (NPARTY + 1)
#else
#define NPROC NPARTY
#endif

/* Vacuity: -DREACHALL turns every REACH(k) into a failing assertion
 * (k==0); run.sh searches with -c0 and collects the points reported.
 *   1  as_cancel unlinks a QUEUED wait (-ECANCELED, barrier_fixup)
 *   2  as_cancel's CAS on a DONE wait wins over the callback: the party was
 *      counted and released, its callback reports -ECANCELED
 *   3  as_cancel saw QUEUED, but under the lock the wait was DONE (the
 *      leader released it in between): looks again
 *   4  as_cancel finds the wait IDLE after a callback with 0 (-ENOENT: the
 *      cancel lost the race to the completion)
 *   5  a deadline expires a QUEUED wait (-ETIMEDOUT, barrier_fixup)
 *   6  a deadline finds the wait DONE: the generation completed first, the
 *      grant wins (callback 0)
 *   7  an arrival that would wait past its deadline is refused
 *   8  an arrival whose deadline passed leads (the generation completes)
 *   9  close ends a queued wait (-ESHUTDOWN)
 *  10  an arrival after close is refused (-ESHUTDOWN)
 *  11  close with a released wait not yet called back (it keeps its 0)
 *  12  a generation completes that a party left (one more arrival needed)
 *  13  a party parks in generation g+1 while a party of generation g is
 *      still to be called back
 *  14  as_cancel acts on a re-armed wait (party 1's second arm or later)
 *  15  a party that left arrives again and is released
 */
#ifdef REACHPT
#define REACH(k) assert(REACHPT != k)
#elif defined(REACHALL)
#define REACH(k) assert(k == 0)
#else
#define REACH(k) skip
#endif


/* ---- as_barrier --------------------------------------------------------- */
byte word;               /* as__word: parties arrived in this generation */
bit closed;              /* AS__P_CLOSED in as__flags */
byte qlock;              /* as__lock: 0 free, else holder's _pid + 1 */
byte q[NPARTY];          /* the FIFO, head = q[0] */
byte qlen;

/* ---- as_wait (ids 1..NPARTY) -------------------------------------------- */
byte state[NPARTY + 1];
bit cbit[NPARTY + 1];    /* the AS__W_CANCEL bit of the state word */
byte wstatus[NPARTY + 1];
bit mbox[NPARTY + 1];    /* delivered to the party's loop */

/* ---- ghosts --------------------------------------------------------------- */
byte gen;                /* generations completed */
byte counted;            /* parties parked in this generation, not withdrawn */
#ifdef REACHALL
bit gen_left;            /* a party left the current generation */
#define GEN_LEFT(v) gen_left = v
#else
#define GEN_LEFT(v) skip
#endif
byte wgen[NPARTY + 1];   /* the generation the arm's arrival counted in */
byte relgen[NPARTY + 1]; /* the generation whose leader released it */
bit released[NPARTY + 1];
byte withdrawn[NPARTY + 1];  /* unlinked before completion, with this status */
#ifdef REACHALL
bit left_before[NPARTY + 1]; /* an earlier arm of this party left */
bit arms[NPARTY + 1];        /* the wait was armed before */
bit rearmed[NPARTY + 1];     /* this is not its first arm */
#define LEFT_BEFORE(w) left_before[w] = left_before[w] | (withdrawn[w] != 0)
#else
#define LEFT_BEFORE(w) skip
#endif
bit cancelled[NPARTY + 1];   /* a cancel committed on this arm */
bit pend[NPARTY + 1];        /* the arm's *_async returned 0 */
byte passes[NPARTY + 1];
bit stopped[NPARTY + 1];
byte cres = NONE;        /* what as_cancel returned */
byte ncancb;             /* callbacks of wait 1 with -ECANCELED */
byte finished;
byte pdone;              /* parties finished */

#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0) + (state[3] == QUEUED -> 1 : 0))
#define Q1 (NQUEUED == qlen && (qlen < 1 || state[q[0]] == QUEUED) && (qlen < 2 || state[q[1]] == QUEUED) && (qlen < 3 || state[q[2]] == QUEUED))
/* a wait released by the leader of generation gen - 1, not called back */
#define LATE(w) (state[w] == DONE && released[w] && relgen[w] + 1 == gen)

/* ---- waitq.h, under the queue lock, inside an atomic step ---------------- */

inline QPUSH_TAIL(w)
{
    assert(qlen < NPARTY && state[w] == IDLE);
    q[qlen] = w;
    qlen++;
    state[w] = QUEUED
}

/* as__q_remove(p, w, DONE, st), w anywhere in the queue */
inline QREMOVE(w, st)
{
    assert(state[w] == QUEUED);
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
    wstatus[w] = st;
    state[w] = DONE;
    i = 0
}

/* as__wait_finish: into the party's loop */
inline finish(w)
{
    atomic {
        assert(!mbox[w] && state[w] == DONE);
        mbox[w] = 1
    }
}

/* as__batch_finish: one step per wait */
inline finish_batch()
{
    k = 1;
    do
    :: k > NPARTY -> break
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

/* A queued wait leaves its generation before it completed (the ghost side
 * of barrier_fixup; close resets the word for all of them). */
inline withdraw(w, st)
{
    QREMOVE(w, st);
    withdrawn[w] = st;
    assert(!released[w]);
    counted--;
    GEN_LEFT(1)
}

/* ---- barrier.c ---------------------------------------------------------- */

/* The leader (arrived + 1 == parties): g = the generation it completes;
 * count: exactly PARTIES counted arrivals, this one the leader. */
inline leader_check()
{
    g = gen;
    assert(counted + 1 == PARTIES);
#ifdef REACHALL
    if
    :: gen_left -> REACH(12)
    :: else
    fi
#endif
}

/* BA1: take every queued wait with 0 (as__q_take), into the batch */
inline take_all()
{
    do
    :: qlen > 0 ->
        x = q[0];
        /* every wait released arrived in this generation */
        assert(wgen[x] == g);
        QREMOVE(x, 0);
        released[x] = 1;
        relgen[x] = g;
#ifdef REACHALL
        if
        :: left_before[x] -> REACH(15)
        :: else
        fi;
#endif
        batch = batch | (1 << x);
        x = 0
    :: else -> break
    od
}

/* the ghost side of the generation's completion */
inline complete()
{
    counted = 0;
    GEN_LEFT(0);
    gen++
}

/* as__wait_prepare and the park of a new arm (ghosts) */
inline arm(w)
{
    assert(state[w] == IDLE && !mbox[w] && !pend[w]);
    if
    :: gen > 0 && (LATE(1) || LATE(2) || LATE(3)) -> REACH(13)
    :: else
    fi;
    assert(!cbit[w] && wstatus[w] == 0 && !released[w] && withdrawn[w] == 0 && !cancelled[w]);
    pend[w] = 1;
#ifdef REACHALL
    rearmed[w] = (arms[w] > 0);
    arms[w] = 1
#else
    skip
#endif
}

/* barrier_arrive(b, loop, w, deadline, ...): r = LEADER, 0 (parked),
 * ESHUTDOWN or ETIMEDOUT.  dl: this arrival has a deadline, dlpassed: it
 * passed (the clock only goes forward). */
inline arrive(w)
{
    r = NONE;
#ifndef BUG_LOCKFREE_COUNT
    atomic {
        qlock == 0 ->          /* as__q_lock ... as__q_unlock */
        if
        :: closed -> r = ESHUTDOWN; REACH(10)
        :: !closed && word + 1 == PARTIES ->
            if
            :: dl && !dlpassed -> dlpassed = 1; REACH(8)   /* no matter */
            :: true
            fi;
            leader_check();
#ifndef BUG_TAKE_RELOCK
            take_all();
#endif
#ifndef BUG_RESET_UNLOCKED
            word = 0;
#endif
            complete();
            r = LEADER
        :: !closed && word + 1 != PARTIES ->
            if
            :: dl && !dlpassed -> dlpassed = 1; r = ETIMEDOUT; REACH(7)
            :: true ->
                word = word + 1;
                arm(w);
                wgen[w] = gen;
                counted++;
                QPUSH_TAIL(w);
                r = 0
            fi
        fi
    };
#ifdef BUG_TAKE_RELOCK
    /* the second section: take the queue */
    if
    :: r == LEADER -> atomic { qlock == 0 -> take_all() }
    :: else
    fi;
#endif
#else
    /* BUG_LOCKFREE_COUNT: v = as__fetch_add(&word, 1) before the lock */
    atomic {
        if
        :: closed -> r = ESHUTDOWN
        :: else -> v = word; word = word + 1; wgen[w] = gen
        fi
    };
    if
    :: r == NONE ->
        atomic {
            qlock == 0 ->
            if
            :: closed -> r = ESHUTDOWN         /* close reset the word */
            :: !closed && v + 1 == PARTIES ->
                leader_check();
                take_all();
                word = 0;
                complete();
                r = LEADER
            :: !closed && v + 1 != PARTIES ->
                arm(w);
                counted++;
                QPUSH_TAIL(w);
                r = 0
            fi
        }
    :: else
    fi;
#endif
    if
    :: r == LEADER -> finish_batch()
    :: else
    fi;
#ifdef BUG_RESET_UNLOCKED
    if
    :: r == LEADER -> word = 0
    :: else
    fi;
#endif
    g = 0;
    v = 0
}

/* as_barrier_close */
inline barrier_close()
{
    atomic {
        qlock == 0 ->
        if
        :: !closed ->
            closed = 1;
            if
            :: LATE(1) || LATE(2) || LATE(3) -> REACH(11)
            :: else
            fi;
            do
            :: qlen > 0 -> x = q[0]; withdraw(x, ESHUTDOWN); batch = batch | (1 << x); REACH(9)
            :: else -> break
            od;
            word = 0
        :: else
        fi
    };
    finish_batch()
}

/* barrier_cancel(w, st) = as__q_cancel(w, st, &barrier_kind,
 * barrier_fixup) after the caller's load saw QUEUED: as__q_lock_wait
 * re-checks under the lock (ok = 0: decided meanwhile, -ENOENT: the caller
 * looks again); as__q_cancel_locked takes it, barrier_fixup uncounts it
 * (BA2), as__batch_finish after the unlock. */
inline q_cancel(w, st)
{
    atomic {
        qlock == 0 ->
        if
        :: state[w] == QUEUED ->
            withdraw(w, st);
            if
            :: st == ECANCELED -> cancelled[w] = 1
            :: else
            fi;
#ifndef BUG_CANCEL_STILL_COUNTS
            word = word - 1;               /* barrier_fixup */
#endif
            ok = 1
        :: else ->
            ok = 0;
            if
            :: st == ECANCELED -> REACH(3)
            :: else
            fi
        fi
    };
    if
    :: ok -> finish(w)
    :: else
    fi
}

/* as_cancel(&wait w), on another thread */
inline as_cancel(w)
{
    do
    :: atomic { s = state[w]; c = cbit[w] };
        if
        :: s == IDLE ->
#ifdef REACHALL
            if
            :: arms[w] -> REACH(4)
            :: else
            fi;
#endif
            cres = ENOENT;
            break
        :: s != IDLE && c -> cres = 0; break      /* idempotent */
        :: s == DONE && !c ->
            /* X1: the CAS (giveback is NULL for a barrier) */
            atomic {
                if
                :: state[w] == DONE && !cbit[w] ->
                    cbit[w] = 1;
                    cancelled[w] = 1;
                    cres = 0;
                    c = released[w];    /* BUG_GIVEBACK_UNCOUNTS's "status 0" */
                    if
                    :: released[w] -> REACH(2)
                    :: else
                    fi;
#ifdef REACHALL
                    if
                    :: rearmed[w] -> REACH(14)
                    :: else
                    fi;
#endif
                    skip
                :: else
                fi
            };
#ifdef BUG_GIVEBACK_UNCOUNTS
            /* a kind->giveback that uncounts the party (as the loop's own
             * as_cancel would call it: at once, on the canceller's thread) */
            if
            :: cres == 0 && c -> atomic { qlock == 0 -> word = word - 1 }
            :: else
            fi;
#endif
            if
            :: cres == 0 -> break
            :: else
            fi
        :: s == QUEUED && !c ->
            q_cancel(w, ECANCELED);
            if
            :: ok ->
                cres = 0;
                REACH(1);
#ifdef REACHALL
                if
                :: rearmed[w] -> REACH(14)
                :: else
                fi;
#endif
                break
            :: else
            fi
        fi
    od;
    s = 0;
    c = 0;
    ok = 0
}

/* as__wait_expire(w), on the party's loop thread: its deadline passed */
inline expire(w)
{
    do
    :: atomic { s = state[w]; c = cbit[w] };
        if
        :: s == IDLE || c -> break
        :: s == DONE && !c -> REACH(6); break    /* the grant wins */
        :: s == QUEUED && !c ->
            q_cancel(w, ETIMEDOUT);
            if
            :: ok -> REACH(5); break
            :: else
            fi
        fi
    od;
    s = 0;
    c = 0;
    ok = 0
}

/* as__run_callback: the exchange to IDLE; st = the status it reports */
inline callback(w)
{
    atomic {
        mbox[w] ->
        mbox[w] = 0;
        assert(state[w] == DONE && pend[w]);     /* once */
        pend[w] = 0;
        state[w] = IDLE;
        if
        :: cbit[w] -> st = ECANCELED
        :: else -> st = wstatus[w]
        fi;
        cbit[w] = 0;
        if
        :: st == ECANCELED -> ncancb++
        :: else
        fi;
        /* W1: -ECANCELED iff a cancel committed on this arm */
        assert((st == ECANCELED) == cancelled[w]);
        /* every wait called back was released or withdrawn */
        assert(released[w] != (withdrawn[w] != 0));
        /* gen: 0 only for a wait its own generation's leader released */
        assert(st != 0 || (released[w] && relgen[w] == wgen[w] && relgen[w] < gen));
        /* released: 0, or -ECANCELED for a cancel that came after
         * (never -ETIMEDOUT: the grant wins over the deadline) */
        assert(!released[w] || st == 0 || st == ECANCELED);
        /* withdrawn: never counted in a completed generation; its
         * remover's status, or -ECANCELED for a cancel that came after
         * (X1: a successful as_cancel always ends in -ECANCELED) */
        assert(withdrawn[w] == 0 || st == withdrawn[w] || st == ECANCELED);
#ifdef CANCEL_NOT_COUNTED
        assert(st != ECANCELED || !released[w]);
#endif
        /* what the party does next: a pass, or arrive again (ghost) */
#ifndef RETRY_ON_CANCEL
        pass = (st == 0 || (st == ECANCELED && released[w]));
#else
        pass = (st == 0);      /* -ECANCELED read as "left": arrive again */
#endif
        /* the arm's ghosts are dead from here: reset (fewer states) */
        LEFT_BEFORE(w);
        released[w] = 0;
        withdrawn[w] = 0;
        cancelled[w] = 0;
        wgen[w] = 0;
        relgen[w] = 0;
        wstatus[w] = 0
    }
}

proctype party(byte w)
{
    byte r, st, s, g, x, i, k, batch, v;
    bit c, ok, dl, dlpassed, pass;

#ifdef WITH_TIMEOUT
    if
    :: w == 2 -> dl = 1
    :: else
    fi;
#endif
    do
    :: passes[w] == ROUNDS || stopped[w] -> break
    :: else ->
        arrive(w);
        if
        :: r == LEADER -> passes[w]++
        :: r == ESHUTDOWN -> stopped[w] = 1
        :: r == ETIMEDOUT                       /* refused: arrive again */
        :: r == 0 ->
            /* as_loop_run until the callback; the timer may fire first */
            do
            :: callback(w); break
            :: dl && !dlpassed -> dlpassed = 1; expire(w)
            od;
            if
            :: pass -> passes[w]++      /* 0, or -ECANCELED but counted */
            :: !pass && st == ESHUTDOWN -> stopped[w] = 1
            :: !pass && st != ESHUTDOWN             /* left: arrive again */
            fi;
            st = 0;
            pass = 0
        fi;
        dl = 0;            /* only the first arrival has a deadline */
        r = 0
    od;
    atomic { pdone++; finished++ }
}

#ifdef WITH_CANCEL
proctype canceller()
{
    byte s, i, k, batch;
    bit c, ok;
    as_cancel(1);
    finished++
}
#endif

#ifdef WITH_CLOSE
proctype closer()
{
    byte x, i, k, batch;
#ifdef TEARDOWN
    /* the parties left over (fewer than PARTIES) are closed out */
    pdone >= NPARTY - (PARTIES - 1);
#endif
    barrier_close();
    finished++
}
#endif

/* BA1, in every reachable state where the queue lock is free. */
#ifndef NO_INVARIANTS
active proctype monitor()
{
    atomic {
        qlock == 0 ->
        assert(Q1);
        assert(word == qlen && counted == qlen && word < PARTIES)
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    atomic {
        finished == NPROC ->
        assert(qlen == 0 && qlock == 0);
        assert(word == 0);
        /* every generation: PARTIES passes (a pass: the leader, a
         * callback with 0, or with -ECANCELED after the release) */
        assert(passes[1] + passes[2] + passes[3] == PARTIES * gen);
        assert(!mbox[1] && !mbox[2] && !mbox[3]);
        assert(state[1] == IDLE && state[2] == IDLE && state[3] == IDLE);
        assert(!pend[1] && !pend[2] && !pend[3]);
        assert(closed || (gen == ROUNDS && passes[1] == ROUNDS &&
                          passes[2] == ROUNDS && passes[3] == ROUNDS));
        /* W1: as_cancel returned 0 iff a callback had -ECANCELED */
        assert((cres == 0) == (ncancb == 1) && ncancb <= 1)
    }
}

init
{
    atomic {
        run party(1);
        run party(2);
        run party(3);
#ifdef WITH_CANCEL
        run canceller();
#endif
#ifdef WITH_CLOSE
        run closer();
#endif
    }
}
