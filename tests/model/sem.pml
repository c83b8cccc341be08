/*
 * sem.pml -- the weighted FIFO semaphore of src/sem.c on the waiter queue of
 * src/waitq.h / src/waitq.c: add_waiter_if parking, direct hand-off in
 * queue order, cancel (sem_cancel) with re-grant.
 *
 * Threads (all interleavings, every atomic step of the C code a step here):
 *   loop 1   a loop thread with two waits, issued in order:
 *              wait 1 asks for W1N permits, wait 2 for 1 permit;
 *            each callback with status 0 holds its permits and releases them
 *            (as_sem_release from the loop thread); it may cancel one of its
 *            waits at any moment (as_cancel: a QUEUED wait -> sem_cancel;
 *            a DONE one gets CANCEL and its grant is released back, so
 *            its callback reports -ECANCELED; cancel.pml checks as_cancel
 *            from other threads)
 *   loop 2   (NLOOPS == 2) a second loop with wait 3 (1 permit), which may be
 *            cancelled too
 *   r        a thread that runs no loop: it holds R_HELD permits, releases
 *            them one by one, then tries once to barge (as_sem_try_acquire,
 *            the lock-free fast path) and releases what it got
 * The queue lock (as__prim.lock) is a real lock here: lock-free paths keep
 * running while it is held.  List surgery under it is one atomic step.
 * as__wait_finish is abstracted as "put the wait in its loop's delivery
 * set", which its loop takes out in any order (the delivery path itself is
 * checked by delivery.pml).
 *
 * Checked:
 *   - S3 permits conserved (monitor, whenever the queue lock is free):
 *       count + held by threads + carried by DONE waits (status 0)
 *             + in the hands of a releaser == TOTAL
 *   - S1 while WAITERS is set the queue is non-empty and the count is below
 *     the head's request (so no newcomer takes permits from under a queued
 *     waiter, and a release serves the queue in order); WAITERS <=> queue
 *     non-empty
 *   - Q1 a wait is in the queue iff its state is QUEUED
 *   - exactly one callback per wait that went pending, state DONE at the
 *     callback; status 0 carries exactly the permits asked for
 *   - invalid end states: no waiter is left queued with nobody to serve it
 *     (no lost wake-up), no thread is stuck; at the end count == TOTAL
 *
 * Build-time switches:
 *   NLOOPS (2), W1N (2), R_HELD (1), INIT_COUNT (1): TOTAL = 2 permits.
 *   W1N > TOTAL: wait 1 can never be met and loop 1 always cancels it (an
 *   application giving up on a large request), the case where a cancel
 *   that does not re-grant strands the waiters behind it for ever.
 * Broken variant (must FAIL):
 *   BUG_CANCEL_NO_REGRANT  sem_cancel removes the waiter but does not
 *                          re-run the grant for the waiters behind it
 *   NO_INVARIANTS          leave the invariant monitor out: the broken
 *                          variant must then still fail, by an invalid end
 *                          state (the lost wake-up itself)
 */

#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */

#define ECANCELED 1 /* as__status: 0 or -ECANCELED */

#define SEM_WAITERS 128   /* bit 31 of the C word */
#define SEM_COUNT   127   /* bits 0..30 */

#ifndef NLOOPS
#define NLOOPS 2
#endif
#ifndef W1N
#define W1N 2       /* permits asked by wait 1; above TOTAL it is always
                     * cancelled (a request that can never be met) */
#endif
#ifndef R_HELD
#define R_HELD 1    /* permits r holds at the start */
#endif
#ifndef INIT_COUNT
#define INIT_COUNT 1
#endif
#define TOTAL (INIT_COUNT + R_HELD)

#if NLOOPS == 2
#define NW 3
#define NPROC 3     /* loop 1, loop 2, r */
#else
#define NW 2
#define NPROC 2
#endif

/* Q1 (waitq.h): a wait is in the queue iff its state is QUEUED */
#if NW == 3
#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0) + (state[3] == QUEUED -> 1 : 0))
#else
#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0))
#endif
#define Q1 (NQUEUED == qlen && (qlen < 1 || state[q[0]] == QUEUED) && (qlen < 2 || state[q[1]] == QUEUED) && (qlen < 3 || state[q[2]] == QUEUED))

/* ---- as_sem (as__prim layout) ------------------------------------------ */
byte word = INIT_COUNT;  /* as__word: count | SEM_WAITERS */
byte qlock;              /* as__lock: 0 free, else holder's _pid + 1 */
byte q[NW];              /* as__head .. as__tail, head = q[0] */
byte qlen;

/* ---- as_wait ------------------------------------------------------------ */
byte state[NW + 1];      /* as__state */
byte wn[NW + 1];         /* as__n */
byte wstatus[NW + 1];    /* as__status */
byte wloop[NW + 1];      /* as__loop */

/* ---- delivery: as__wait_finish -> the loop (a set, any order) ---------- */
byte mbox[NLOOPS + 1];   /* bit w: wait w handed to the loop, not yet run */

/* ---- ghosts ------------------------------------------------------------- */
byte held = R_HELD;      /* permits held by threads (r, callbacks) */
byte carried;            /* permits carried by DONE waits with status 0 */
byte inhand;             /* permits given up by a releaser, not yet stored */
byte ncb[NW + 1];        /* callbacks run per wait */
bit cbit[NW + 1];        /* the CANCEL bit of as__state (AS__W_CANCEL) */
byte pend[NW + 1];       /* 1: its *_async returned 0 (went pending) */
byte finished;           /* threads that ended */

/* ---- waitq.h ------------------------------------------------------------ */
inline q_lock()
{
    atomic { qlock == 0 -> qlock = _pid + 1 }
}

inline q_unlock()
{
    assert(qlock == _pid + 1);
    qlock = 0
}

/* as__q_push_tail: links w, stores obj, publishes QUEUED */
inline q_push_tail(w)
{
    d_step {
        assert(qlen < NW && state[w] != QUEUED);
        q[qlen] = w;
        qlen++;
        state[w] = QUEUED
    }
}

/* as__q_remove(p, w, st) */
inline q_remove(w, st)
{
    d_step {
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
        state[w] = st;
        i = 0
    }
}

/* as__batch_add + as__batch_finish: finished waits, handed to their loops
 * after the lock is dropped.  Here the batch is a bit set. */
inline batch_add(w, st)
{
    d_step {
        wstatus[w] = st;
        if
        :: st == 0 -> carried = carried + wn[w]
        :: else
        fi;
        batch = batch | (1 << w)
    }
}

/* as__wait_finish for every wait of the batch (no lock held) */
inline batch_finish()
{
    do
    :: batch == 0 -> break
    :: else ->
        i = 1;
        do
        :: (batch & (1 << i)) != 0 -> break
        :: else -> i++
        od;
        atomic {
            assert((mbox[wloop[i]] & (1 << i)) == 0); /* not delivered twice */
            mbox[wloop[i]] = mbox[wloop[i]] | (1 << i);
            batch = batch & ~(1 << i);
            i = 0
        }
    od
}

/* ---- sem.c -------------------------------------------------------------- */

/* sem_try: the lock-free fast path, one CAS.  got = 1 acquired. */
inline sem_try(n)
{
    got = 0;
    v = word;
    do
    :: (v & SEM_WAITERS) == 0 && v >= n ->
        atomic {
            if
            :: word == v -> word = v - n; held = held + n; got = 1
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

/* sem_grant_locked(s, count, done): queue lock held.  `rel` is the number of
 * permits the calling release put in `count` (they leave its hands when the
 * word is stored). */
inline sem_grant_locked(count, rel)
{
    do
    :: qlen > 0 && wn[q[0]] <= count ->
        h = q[0];
        count = count - wn[h];
        q_remove(h, DONE);
        batch_add(h, 0)
    :: else -> break
    od;
    /* S2: the only writer while WAITERS is set */
    atomic {
        if
        :: qlen > 0 -> word = count | SEM_WAITERS
        :: else -> word = count
        fi;
        inhand = inhand - rel;
        count = 0
    }
}

/* as_sem_acquire_async(s, loop, w, n): r = 1 acquired at once, 0 pending */
inline sem_acquire_async(w, n)
{
    sem_try(n);
    if
    :: got -> r = 1
    :: else ->
        /* as__wait_prepare */
        wn[w] = n; wstatus[w] = 0;
        q_lock();
        v = word;
        do
        :: (v & SEM_WAITERS) == 0 && v >= n ->
            atomic {
                if
                :: word == v -> word = v - n; held = held + n; got = 1
                :: else -> v = word
                fi
            };
            if
            :: got -> q_unlock(); r = 1; break
            :: else
            fi
        :: else ->
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
                :: ok -> r = 0; break
                :: else
                fi
            fi
        od;
        if
        :: r == 0 ->
            q_push_tail(w);
            q_unlock()
            /* as__wait_parked: counted in the loop's pending below */
        :: else
        fi
    fi
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
        v = (v & SEM_COUNT) + n;
        sem_grant_locked(v, n);
        q_unlock();
        batch_finish()
    :: else
    fi;
    fast = 0
}

/* as_cancel (wait.c) on the loop thread -> sem_cancel (the kind's cancel:
 * as__q_lock_wait, as__q_cancel_locked, sem_regrant).  A DONE wait: the CAS
 * DONE -> DONE|CANCEL (it cannot fail here: only this thread's callback
 * changes a DONE state; the race with it is cancel.pml's), then, for a
 * grant, sem_giveback (as_sem_release). */
inline sem_cancel(w)
{
    if
    :: state[w] == IDLE -> skip       /* as_cancel: -ENOENT */
    :: else ->
        /* as__q_lock_wait(w) */
        ok = 0;
        do
        :: state[w] != QUEUED -> break      /* outcome decided: NULL */
        :: else ->
            q_lock();
            if
            :: state[w] == QUEUED -> ok = 1; break
            :: else -> q_unlock()
            fi
        od;
        if
        :: !ok ->
            /* DONE: the CAS sets CANCEL; a grant is passed on */
            assert(state[w] == DONE);
            cbit[w] = 1;
            if
            :: wstatus[w] == 0 ->
                d_step { carried = carried - wn[w]; held = held + wn[w] };
                sem_release(wn[w])
            :: else
            fi
        :: ok ->
            q_remove(w, DONE);
            batch_add(w, ECANCELED);
#ifndef BUG_CANCEL_NO_REGRANT
            /* S3: the head may have been what blocked the waiters behind */
            v = word & SEM_COUNT;
            sem_grant_locked(v, 0);
#else
            d_step {
                if
                :: qlen > 0 -> skip
                :: else -> word = word & SEM_COUNT
                fi
            };
#endif
            q_unlock();
            batch_finish();
            ok = 0
        fi
    fi
}

/* as_loop_run on a loop whose waits are `mine` (a bit set): run one
 * delivered callback.  Status 0: the task holds its permits, then gives them
 * back (as_sem_release from the loop thread). */
inline run_one(id)
{
    d_step {
        i = 1;
        do
        :: (mbox[id] & (1 << i)) != 0 -> break
        :: else -> i++
        od;
        w = i;
        mbox[id] = mbox[id] & ~(1 << w);
        i = 0
    };
    /* as__run_callback */
    assert(state[w] == DONE && wloop[w] == id);
    state[w] = IDLE;
    pending--;
    ncb[w]++;
    assert(ncb[w] == 1);
    if
    :: wstatus[w] == 0 && !cbit[w] ->   /* CANCEL: -ECANCELED, given back */
        d_step { carried = carried - wn[w]; held = held + wn[w] };
        sem_release(wn[w])
    :: else
    fi
}

/* Start wait w (n permits) on this loop; 1 = acquired at once: use and
 * release the permits. */
inline start(w, n)
{
    sem_acquire_async(w, n);
    if
    :: r == 1 -> sem_release(n)
    :: else -> pending++; pend[w] = 1
    fi
}

proctype loop1()
{
    byte v, h, i, w, r, count, batch, pending, cancel;
    bit got, ok, fast;

    wloop[1] = 1; wloop[2] = 1;
    /* which wait (if any) this loop will cancel, at a moment of its choosing */
#if W1N > TOTAL
    cancel = 1;     /* wait 1 can never be served: the application gives up */
#else
    if
    :: cancel = 0
    :: cancel = 1
    :: cancel = 2
    fi;
#endif
    start(1, W1N);
    start(2, 1);
    do
    :: pending == 0 -> break
    :: mbox[1] != 0 -> run_one(1)
    :: cancel != 0 -> sem_cancel(cancel); cancel = 0
    od;
    finished++
}

#if NLOOPS == 2
proctype loop2()
{
    byte v, h, i, w, r, count, batch, pending, cancel;
    bit got, ok, fast;

    wloop[3] = 2;
    if
    :: cancel = 0
    :: cancel = 3
    fi;
    start(3, 1);
    do
    :: pending == 0 -> break
    :: mbox[2] != 0 -> run_one(2)
    :: cancel != 0 -> sem_cancel(cancel); cancel = 0
    od;
    finished++
}
#endif

/* A thread that runs no loop: releases what it holds, then barges once. */
proctype r()
{
    byte v, h, i, count, batch, k;
    bit got, fast;

    k = R_HELD;
    do
    :: k > 0 -> sem_release(1); k--
    :: else -> break
    od;
    sem_try(1);
    if
    :: got -> sem_release(1)
    :: else
    fi;
    finished++
}

/* Invariants, checked in every reachable state where the queue lock is
 * free (and, for the atomic ghosts, in every state). */
#ifndef NO_INVARIANTS
active proctype monitor()
{
    atomic {
        qlock == 0 ->
        assert(Q1);
        /* S3: conservation */
        assert((word & SEM_COUNT) + held + carried + inhand == TOTAL);
        /* WAITERS <=> queue not empty */
        assert(((word & SEM_WAITERS) != 0) == (qlen > 0));
        /* S1: a queued head never fits in the available count */
        assert(qlen == 0 || (word & SEM_COUNT) < wn[q[0]])
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    atomic {
        finished == NPROC ->
        assert(word == TOTAL && qlen == 0 && qlock == 0);
        assert(held == 0 && carried == 0 && inhand == 0);
        /* exactly one callback per wait that went pending, none else */
        assert(mbox[1] == 0 && ncb[1] == pend[1] && ncb[2] == pend[2]);
#if NLOOPS == 2
        assert(mbox[2] == 0 && ncb[3] == pend[3])
#endif
    }
}

init
{
    atomic {
        run loop1();
#if NLOOPS == 2
        run loop2();
#endif
        run r()
    }
}
