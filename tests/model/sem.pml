/*
 * sem.pml -- the weighted semaphore of src/sem.c on the waiter queue of
 * src/waitq.h / src/waitq.c, both policies of issue 12 (the protocol of
 * the C code is written down in README.md, "sem.pml"):
 *   default ("eventual fairness", like the mutex's): a release wakes a
 *     waiter of another loop to retry (RESUME) instead of handing it the
 *     permits, newcomers may barge while a woken waiter is on its way, a
 *     woken waiter that finds too few permits goes back to the front of
 *     the queue PASSED if its loop has a timer of its own (as__pass_may;
 *     here PASS_LOOPS), else STARVING at once.  A PASSED wait is neither
 *     woken nor served by a release (but for a direct hand-off from its
 *     own loop), newcomers may pass it, and its loop's timer (sem_tick, a
 *     step of that loop's process, enabled from the pass on: ghost tmr[w])
 *     makes it STARVING, moves it behind the STARVING waits and runs the
 *     grant.  A STARVING wait is handed its permits directly.  The queue's
 *     front: the STARVING waits, then the PASSED ones, each in the order
 *     they came back;
 *   -DSTRICT (AS_SEM_STRICT_FIFO): direct hand-off in queue order, never
 *     any barging past a queued waiter (the former model, exactly).
 *   QUIET (src/sem.c since 46653b5): while the head is PASSED and nothing
 *     is woken, a release adds its permits to COUNT lock-free (the grant
 *     would stop at the PASSED head anyway, S5), unless its thread's hint
 *     (sem_passed_tls, here hint[l]) says it may run the head's loop: then
 *     it takes the lock and the grant hands the head its permits directly.
 *
 * STATE WORD (8 bits here, 32 in C)
 *   COUNT    bits 0..5   permits in the word
 *   bits 7 (WAITERS) and 6 (QUIET), what the queue allows (sem_bits):
 *     neither   the queue is empty: every path is lock-free
 *     WAITERS   a woken wait is on its way: newcomers may take permits,
 *               a release takes the queue lock (the grant may serve)
 *     QUIET     the head is PASSED and nothing is woken: newcomers may
 *               take permits, a release adds to COUNT lock-free (one CAS)
 *               unless hint[me]
 *     both      HANDOFF: newcomers may not take permits (the lock-free
 *               acquire fails into the slow path), releases take the lock
 * `woken` (as__prim.aux, under the queue lock): the sum of the requests of
 * the waits woken to retry that have not resumed yet (state RESUME).
 *
 * BITS RULE (sem_bits; recomputed under the queue lock, in the same step
 * as every change of the queue, of `woken` or of the head's flags):
 *   strict:  HANDOFF = queue non-empty; woken always 0
 *   default: queue empty: neither; else HANDOFF if the head is STARVING
 *            or (woken == 0 && head not PASSED); else QUIET if woken == 0
 *            (the head is PASSED); else WAITERS
 *
 * GRANT PASS (sem_settle_locked; queue lock held; run by a release that
 * found either bit (WAITERS, HANDOFF, or QUIET by its hint), by a cancel
 * that unlinked a queued wait, by every resume and tick):
 *   c = count (+ the release's n); avail = c - woken (signed)
 *   while the head h fits in avail:
 *     strict, or h STARVING, or h on the caller's own loop:
 *        direct hand-off (c -= h.n; h leaves DONE, status 0)
 *     else, h PASSED: stop (sem_waits_timer: its timer retries)
 *     else: wake h to retry (woken += h.n; h leaves in state RESUME)
 *     avail -= h.n
 *   word = c | bits: a CAS (sem_settle_cas) planned from the word as it is
 *   then (outside HANDOFF lock-free acquires, and in QUIET lock-free
 *   releases, move it: a failed CAS plans again from the new value), a
 *   store only in HANDOFF (nobody else writes it then, S2)
 *
 * Threads (all interleavings):
 *   loop 1   a loop thread with two waits, issued in order:
 *              wait 1 asks for W1N permits, wait 2 for 1 permit;
 *            each callback with status 0 holds its permits and releases
 *            them (as_sem_release from the loop thread: its own waits are
 *            handed permits directly); a RESUME wait delivered to it is
 *            resumed (sem_resume); it may cancel one of its waits at any
 *            moment (as_cancel on the loop thread: QUEUED -> sem_cancel
 *            unlinks it and runs the grant pass; RESUME -> GIVE_UP, its
 *            resume gives up; DONE -> the CANCEL bit and a grant it
 *            carries is released back at once, its callback reports
 *            -ECANCELED; cancel.pml checks as_cancel from other threads)
 *   loop 2   (NLOOPS == 2) a second loop with wait 3 (1 permit), which it
 *            may cancel too
 *   r        a thread that runs no loop: it holds R_HELD permits, releases
 *            them one by one (its grant passes wake, never hand off, except
 *            to a STARVING head; in QUIET they are lock-free), then tries
 *            once to barge (as_sem_try_acquire: the lock-free acquire) and
 *            releases what it got
 * The hint (sem_passed_tls): hint[l], loop l's thread's note, set by a
 * resume of loop l that put its wait back PASSED, cleared by every tick on
 * loop l (of any of its waits), never by a serve or a cancel: so it may be
 * stale (the release takes the lock and its grant stops at another loop's
 * PASSED head) or missing (loop 1's second wait ticked first; -DHINT_LOST:
 * any release may find its note overwritten), and then a release from the
 * head's own loop goes lock-free and the head waits for its tick.
 * The queue lock (as__prim.lock) is a real lock: lock-free paths run
 * while it is held.  Granularity (README.md, "Simplifications"): each
 * access to the word is a step; what a thread does under the queue lock
 * (queue, `woken`, the waits' state and flags, the lock itself) is merged
 * with the one word access next to it (a CAS and the load it retries from
 * are one step: a failed CAS changes nothing and is retried from the new
 * value).  So a locked section is one step, except sem_resume's: its take
 * (or its decision to starve, a load) and its grant pass are two word
 * accesses, and the lock-free paths run between them.  With
 * -DSPLIT_RELEASE a release's locked path is two steps too, its load under
 * the lock and its grant's CAS (in QUIET a lock-free release may come
 * between them: the CAS plans from the new word; -DBUG_QUIET_STORE stores
 * the value planned from the load); one step is the same for a correct
 * grant (its CAS commits a plan made from the value it replaces).
 * as__wait_finish is "put the wait in its loop's delivery set", which its
 * loop takes out in any order (delivery.pml checks the delivery path);
 * as_loop_run resumes a RESUME wait and calls back a DONE one.
 *
 * Checked (monitor: in every reachable state where the queue lock is free):
 *   - S3 permits conserved: count + held by threads + carried by DONE
 *     waits (status 0) == TOTAL
 *   - the bits rule (S2: every lock-free write only moves COUNT): the
 *     bits are sem_bits' for the queue and `woken` as they are
 *   - S1 no idle permits behind the queue: the head does not fit in
 *     count - woken, or it is PASSED and its timer will retry (the timer:
 *     below); a lock-free release in QUIET raises count only under such a
 *     head (strict: in count, the former S1)
 *   - woken == the sum of the requests of the RESUME waits; strict: no
 *     RESUME wait, woken == 0, no STARVING wait
 *   - the queue's front: the STARVING waits, then the PASSED ones (then
 *     the others); a queued PASSED wait has its loop's timer armed (S5)
 *   - Q1 a wait is in the queue iff its state is QUEUED
 * and, at each step:
 *   - S5 bounded bypass: a newcomer (lock-free acquire, or the take of the
 *     slow path) takes permits while waiters are queued only if a woken
 *     waiter is on its way (woken > 0: its claim lasts until its resume's
 *     grant pass) or the head is PASSED (until its tick), and the head is
 *     not STARVING; so a STARVING head, or a head that does not fit while
 *     no waiter is woken and it is not PASSED, is never passed (strict:
 *     never any barging past the queue)
 *   - -DR_FOREVER, npfair: no waiter passed for ever (its tick is a step
 *     its loop eventually takes under weak fairness)
 *   - S5 a wait is woken to retry at most once (woke[w] == 0 at the wake):
 *     after that it is STARVING and only handed permits directly
 *   - exactly one callback per wait that went pending, state DONE at the
 *     callback; status 0 carries exactly the permits asked for
 *   - invalid end states: no waiter is left queued or woken with nobody
 *     to serve it (no lost wake-up), no thread is stuck; at the end the
 *     word is TOTAL, nothing queued, woken 0
 *
 * Build-time switches:
 *   STRICT                AS_SEM_STRICT_FIFO
 *   NLOOPS (2), W1N (2), R_HELD (1), INIT_COUNT (1): TOTAL = 2 permits.
 *   PASS_LOOPS (6): bit l set: loop l has a timer of its own (as__pass_may)
 *   and its waits go back PASSED; clear: STARVING at once.
 *   W1N > TOTAL: wait 1 can never be met and loop 1 always cancels it (an
 *   application giving up on a large request), the case where a cancel
 *   that does not re-grant strands the waiters behind it for ever.
 *   -DW1N=1 -DINIT_COUNT=0 -DR_HELD=2: three 1-permit waits and r's two
 *   releases: two waits woken at once, one STARVING while the other is on
 *   its way (the case HANDOFF's STARVING term is for).
 *   HINT_LOST: a release from a thread whose hint is set may go lock-free
 *   in QUIET all the same (its note overwritten by another semaphore's).
 *   SPLIT_RELEASE: the release's locked path in two steps (below).
 * Broken variants (each must FAIL):
 *   BUG_CANCEL_NO_REGRANT  sem_cancel unlinks the waiter and recomputes the
 *                          bits but does not run the grant pass for the
 *                          waiters behind it
 *   TAKE_THEN_GRANT        a variant of the protocol: the take of a woken
 *                          wait leaves the bits as they were, and a grant
 *                          pass after it writes them (src/sem.c before
 *                          this model's finding: a newcomer could pass the
 *                          queue in between, with woken already 0)
 *   STARVE_AT_HEAD         a variant of the protocol: a woken wait that
 *                          starves goes back to the very head, in front of
 *                          the STARVING waits already there (the wording of
 *                          issue 12's protocol; src/sem.c queues it behind
 *                          them): two waits woken together that both starve
 *                          are then served in the reverse of their queue
 *                          order (REACH 17)
 *   BUG_NO_STARVATION_BOUND  a woken waiter that finds too few permits goes
 *                          back to the front without STARVING or PASSED:
 *                          it can be woken (and passed) again and again
 *   BUG_BARGE_PAST_MARKED  the bits rule forgets the STARVING term
 *                          (HANDOFF = queue non-empty && woken == 0): with
 *                          another waiter woken, the lock-free acquire
 *                          barges past the STARVING head
 *   BUG_RESUME_NO_REGRANT  a woken waiter that gives up (cancelled on its
 *                          way) takes its claim out of `woken` but runs no
 *                          grant pass
 *   BUG_TICK_NO_TAKE       the tick makes the PASSED wait STARVING and
 *                          writes the bits, but runs no grant: a head that
 *                          fits is not served
 *   BUG_SEM_PASSED_HANDOFF the tick runs the grant before it makes the
 *                          wait STARVING: the grant (on the wait's own
 *                          loop) serves it if it fits, else writes the
 *                          bits of a PASSED head (QUIET with nothing
 *                          woken), and they stay so under the STARVING
 *                          head (the monitor's bits-rule check is left
 *                          out): a lock-free release leaves it unserved
 *                          (S1, found first since QUIET), a newcomer
 *                          passes it (S5 at the barge)
 *   BUG_PASS_NO_TIMER      a PASSED wait's timer is never armed
 *   BUG_QUIET_WOKEN        the bits rule enters QUIET also with a wait woken
 *                          (never WAITERS): a lock-free release raises count
 *                          under a head that is not PASSED and now fits (S1;
 *                          not a lost wake-up: the woken wait's resume runs
 *                          the grant)
 *   BUG_QUIET_STARVING     the bits rule enters QUIET under a STARVING head
 *                          with nothing woken: lock-free releases leave it
 *                          unserved (S1; with NO_INVARIANTS an invalid end
 *                          state: nobody runs the grant again), newcomers
 *                          may pass it
 *   BUG_QUIET_STORE        the grant plain-stores a QUIET word planned from
 *                          its load (as in HANDOFF), implies SPLIT_RELEASE:
 *                          a lock-free release between the load and the
 *                          store is lost (S3: the word at the end)
 *   BUG_RELEASE_RECHECK_WAITERS  the release's recheck under the lock tests
 *                          WAITERS alone (the code before QUIET): a release
 *                          by its hint finds QUIET, unlocks, and its
 *                          lock-free path sends it back to the lock, for
 *                          ever (its own loop's tick, which would end
 *                          QUIET, never runs: a non-progress cycle)
 *   SPLIT_RELEASE          the release's load under the lock and its grant's
 *                          CAS are two steps (safety rows only: under weak
 *                          fairness a waiter for the lock held across two
 *                          steps is not continuously enabled, and spin
 *                          reports a non-progress cycle of the lock, not of
 *                          the protocol)
 *   NO_INVARIANTS          leave the invariant monitor out: a broken
 *                          variant must then still fail, by an invalid end
 *                          state (the lost wake-up itself)
 *   REACHALL, REACHPT=k    vacuity: REACH(k) points become failing
 *                          assertions (run.sh's "reach" rows)
 *
 * REACH points (each a path the checks above are about):
 *    1 a wait woken to retry (default policy: a grant pass by a thread of
 *      another loop, or by r)
 *    2 a newcomer took permits while waiters were queued (barging: a woken
 *      waiter on its way)
 *    3 a woken wait found too few permits (someone barged): STARVING, back
 *      to the head
 *    4 direct hand-off to a STARVING head
 *    5 own-loop direct hand-off (default policy, head not STARVING)
 *    6 a woken wait took its permits at its resume
 *    7 a woken wait cancelled on its way gave up at its resume
 *    8 two waits woken and on their way at once
 *    9 a STARVING head while another woken wait is on its way (HANDOFF
 *      set by the STARVING term alone)
 *   10 a woken wait took its permits while a STARVING head waited (its
 *      claim, made before the head starved)
 *   11 a lock-free release while a woken wait was on its way (queue empty)
 *   12 strict: direct hand-off to a wait of another loop
 *   13 a cancel's grant pass served the wait behind (re-grant)
 *   14 the grant pass of a woken wait that gave up served the head (its
      claim freed)
 *   15 a resume that decided to starve was handed its permits in its own
 *      grant pass (a release came between its load and its grant pass)
 *   16 a woken wait starved while a STARVING wait was queued (it goes
 *      behind it; STARVE_AT_HEAD: in front of it)
 *   17 STARVE_AT_HEAD: a woken wait starved and went in front of a
 *      STARVING wait that had been woken before it (the two are now served
 *      in the reverse of their queue order)
 *   18 the grant pass of a wait that starved served another head (its
 *      freed claim lets a STARVING wait ahead of it fit; not reached by
 *      these configurations: it needs a STARVING wait smaller than the one
 *      starving behind it)
 *   19 a woken wait that found too few permits went back PASSED
 *   20 a tick's grant served its wait (the permits fit)
 *   21 a tick left its wait STARVING in the queue (too few permits)
 *   22 a grant stopped at a PASSED head that fits (sem_waits_timer)
 *   23 a newcomer took permits past a PASSED head with nobody woken
 *   24 own-loop direct hand-off to a PASSED head
 *   25 a tick moved its wait (it was behind another PASSED wait, or a
 *      wait that is neither)
 *   26 a cancel removed a PASSED head and its grant served the next
 *   27 a tick of a wait no longer PASSED (served, cancelled): no-op
 *   28 (PASS_LOOPS) a wait of a loop without a timer went back STARVING
 *      in front of a PASSED wait
 *   29 a lock-free release in QUIET (the head PASSED, nothing woken)
 *   30 a release that took the lock by its hint in QUIET handed the PASSED
 *      head of its own loop its permits (own-loop hand-off)
 *   31 a release took the lock and found QUIET with the head another
 *      loop's (a stale hint, or the word WAITERS when it looked): its grant
 *      stops at the PASSED head, as a lock-free release would
 *   32 a release from the PASSED head's own loop went lock-free (its hint
 *      missing: cleared by the tick of its loop's other wait, or lost)
 *   33 (SPLIT_RELEASE) a release's grant CAS found the word moved since its
 *      load under the lock (a lock-free release or acquire came between)
 *   34 a tick of a PASSED head in QUIET served it (with permits lock-free
 *      releases added)
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

#define ECANCELED 1 /* as__status: 0 or -ECANCELED */

#define F_STARVING 1 /* AS__F_STARVING */
#define F_GIVE_UP  2 /* AS__F_GIVE_UP */
#define F_PASSED   4 /* AS__F_PASSED */
#define F_FRONT    5 /* F_STARVING | F_PASSED */

#ifndef PASS_LOOPS
#define PASS_LOOPS 6 /* bit l: loop l has a timer of its own */
#endif
#define PASS_MAY(w) (((PASS_LOOPS >> wloop[w]) & 1) != 0)   /* as__pass_may */

#define SEM_WAITERS 128   /* bit 31 of the C word */
#define SEM_QUIET   64    /* bit 30 */
#define SEM_HANDOFF 192   /* both: SEM_WAITERS | SEM_QUIET */
#define SEM_COUNT   63    /* bits 0..29 */
/* sem_barred: HANDOFF, newcomers may not take permits from the word */
#define BARRED ((word & SEM_HANDOFF) == SEM_HANDOFF)

#ifdef STRICT
#define IS_STRICT 1
#else
#define IS_STRICT 0
#endif

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
#ifndef R_BARGES
#define R_BARGES 1  /* times r tries to barge (and releases what it got) */
#endif
#define TOTAL (INIT_COUNT + R_HELD)

#if NLOOPS == 2
#define NW 3
#define NPROC 3     /* loop 1, loop 2, r */
#else
#define NW 2
#define NPROC 2
#endif
#define MAXW 3      /* array sizes: waits 1..3 */

#define STARV(w) ((wflags[w] & F_STARVING) != 0)
#define HEAD_STARVING (qlen > 0 && STARV(q[0]))
#define PASSED(w) ((wflags[w] & F_PASSED) != 0)
#define HEAD_PASSED (qlen > 0 && PASSED(q[0]))

/* The bits rule (sem_bits), for the queue and `woken` as they are now:
 * the queue empty, neither bit; HANDOFF (both bits) if the head is
 * STARVING, or nothing is woken and the head is not PASSED; else QUIET if
 * nothing is woken (the head is PASSED), else WAITERS. */
#if IS_STRICT
#define BITS (qlen > 0 -> SEM_HANDOFF : 0)
#elif defined(BUG_BARGE_PAST_MARKED)
/* the STARVING term forgotten */
#define BITS (qlen == 0 -> 0 : ((woken == 0 && !HEAD_PASSED) -> SEM_HANDOFF : (woken == 0 -> SEM_QUIET : SEM_WAITERS)))
#elif defined(BUG_QUIET_WOKEN)
/* QUIET also with a wait woken (and the head not PASSED): never WAITERS */
#define BITS (qlen == 0 -> 0 : ((HEAD_STARVING || (woken == 0 && !HEAD_PASSED)) -> SEM_HANDOFF : SEM_QUIET))
#elif defined(BUG_QUIET_STARVING)
/* QUIET also under a STARVING head with nothing woken */
#define BITS (qlen == 0 -> 0 : ((HEAD_STARVING && woken == 0) -> SEM_QUIET : ((HEAD_STARVING || (woken == 0 && !HEAD_PASSED)) -> SEM_HANDOFF : (woken == 0 -> SEM_QUIET : SEM_WAITERS))))
#else
/* sem_bits */
#define BITS (qlen == 0 -> 0 : ((HEAD_STARVING || (woken == 0 && !HEAD_PASSED)) -> SEM_HANDOFF : (woken == 0 -> SEM_QUIET : SEM_WAITERS)))
#endif

/* Q1 (waitq.h): a wait is in the queue iff its state is QUEUED */
#define NQUEUED ((state[1] == QUEUED -> 1 : 0) + (state[2] == QUEUED -> 1 : 0) + (state[3] == QUEUED -> 1 : 0))
#define Q1 (NQUEUED == qlen && (qlen < 1 || state[q[0]] == QUEUED) && (qlen < 2 || state[q[1]] == QUEUED) && (qlen < 3 || state[q[2]] == QUEUED))
#define NRESUME ((state[1] == RESUME -> 1 : 0) + (state[2] == RESUME -> 1 : 0) + (state[3] == RESUME -> 1 : 0))
#define SUM_RESUME ((state[1] == RESUME -> wn[1] : 0) + (state[2] == RESUME -> wn[2] : 0) + (state[3] == RESUME -> wn[3] : 0))
/* The queue's front: the STARVING waits, then the PASSED ones (rank 0, 1;
 * the others 2): ranks never decrease along the queue */
#define RANK(w) (STARV(w) -> 0 : (PASSED(w) -> 1 : 2))
#define FRONT_ORDER ((qlen < 2 || RANK(q[0]) <= RANK(q[1])) && (qlen < 3 || RANK(q[1]) <= RANK(q[2])))
/* S5: a queued PASSED wait has its loop's timer armed */
#define QPASSED(w) (state[w] == QUEUED && PASSED(w))
#define PASSED_TIMER ((!QPASSED(1) || tmr[1]) && (!QPASSED(2) || tmr[2]) && (!QPASSED(3) || tmr[3]))

/* ---- as_sem (as__prim layout) ------------------------------------------ */
byte word = INIT_COUNT;  /* as__word: count | HANDOFF | WAITERS */
byte woken;              /* as__prim.aux: the claims of the RESUME waits */
byte qlock;              /* as__lock: 0 free, else holder's _pid + 1 */
byte q[MAXW];            /* as__head .. as__tail, head = q[0] */
byte qlen;

/* ---- as_wait ------------------------------------------------------------ */
byte state[MAXW + 1];    /* as__state */
byte wn[MAXW + 1];       /* as__n */
byte wstatus[MAXW + 1];  /* as__status */
byte wloop[MAXW + 1];    /* as__loop */
byte wflags[MAXW + 1];   /* as__flags: STARVING, GIVE_UP */

/* ---- delivery: as__wait_finish -> the loop (a set, any order) ---------- */
byte mbox[NLOOPS + 1];   /* bit w: wait w handed to the loop, not yet run */

/* ---- ghosts ------------------------------------------------------------- */
byte held = R_HELD;      /* permits held by threads (r, callbacks) */
byte carried;            /* permits carried by DONE waits with status 0 */
byte ncb[MAXW + 1];      /* callbacks run per wait */
bit cbit[MAXW + 1];      /* the CANCEL bit of as__state (AS__W_CANCEL) */
byte pend[MAXW + 1];     /* 1: its *_async returned 0 (went pending) */
byte woke[MAXW + 1];     /* times the wait was woken to retry */
byte finished;           /* threads that ended */
bit tmr[MAXW + 1];       /* w's loop's heap keyed for its pass (S5) */
bit hint[NLOOPS + 1];    /* sem_passed_tls of loop l's thread is on the
                          * semaphore (r, index 0, runs no loop: never) */
#ifdef REACHALL
byte nwakes;             /* wakes so far, and the rank of each wait's */
byte wseq[MAXW + 1];
#endif

/* ---- waitq.h: list surgery, under the queue lock, inside an atomic step
 * of the caller ----------------------------------------------------------- */

inline QLOCK()
{
    qlock == 0 -> qlock = _pid + 1
}

inline QUNLOCK()
{
    assert(qlock == _pid + 1);
    qlock = 0
}

/* as__q_push_tail: links w, publishes QUEUED */
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

/* sem_resume's as__q_insert_before(p, pos, w), pos the first wait that has
 * none of the flags `fl`: w goes behind the STARVING waits at the front
 * (fl STARVING), or behind the STARVING and PASSED ones (fl both) */
inline QPUSH_AFTER(w, fl)
{
    assert(qlock == _pid + 1 && qlen < NW && state[w] != QUEUED);
    j = 0;
    do
    :: j < qlen && (wflags[q[j]] & fl) != 0 -> j++
    :: else -> break
    od;
    i = qlen;
    do
    :: i > j -> q[i] = q[i - 1]; i--
    :: else -> break
    od;
    q[j] = w;
    qlen++;
    state[w] = QUEUED;
    i = 0; j = 0
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

/* as__batch_finish: as__wait_finish for every wait collected under the
 * lock (bit set `batch`), with no lock held; one step per wait */
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

/* S5: a newcomer takes permits from the word (queue lock free or held by
 * it): nobody queued, or a woken waiter is on its way and the head is not
 * STARVING.  Strict: woken is 0, so nobody queued. */
inline NEWCOMER_TAKES()
{
#ifndef NO_INVARIANTS
    assert(qlen == 0 || (wflags[q[0]] & F_STARVING) == 0);
    assert(qlen == 0 || woken > 0 || HEAD_PASSED);
#endif
    if
    :: qlen > 0 -> REACH(2)
    :: else
    fi;
    if
    :: HEAD_PASSED && woken == 0 -> REACH(23)
    :: else
    fi
}

/* sem_settle_locked: the grant pass, queue lock held, inside the atomic
 * step of its word CAS.  `add`: the permits of the calling release (they
 * leave the releaser's hands with this write); `me`: the caller's loop (0:
 * a thread that runs no loop).  Collects the waits that leave in `batch`. */
inline GRANT(add)
{
    c = (word & SEM_COUNT) + add;
    held = held - add;
    avail = c - woken;
    do
    :: qlen > 0 && wn[q[0]] <= avail && !IS_STRICT && !STARV(q[0]) && wloop[q[0]] != me && PASSED(q[0]) ->
        /* sem_waits_timer: a PASSED head it would wake: its timer retries */
        REACH(22);
        break
    :: qlen > 0 && wn[q[0]] <= avail && (IS_STRICT || STARV(q[0]) || wloop[q[0]] == me || !PASSED(q[0])) ->
        h = q[0];
        avail = avail - wn[h];
        if
        :: IS_STRICT || STARV(h) || wloop[h] == me ->
            if
            :: PASSED(h) && !STARV(h) -> REACH(24)
            :: else
            fi;
            /* direct hand-off: the permits are h's */
            if
            :: STARV(h) -> REACH(4)
            :: !STARV(h) && !IS_STRICT -> REACH(5)
            :: IS_STRICT && wloop[h] != me -> REACH(12)
            :: else
            fi;
            c = c - wn[h];
            QREMOVE(h, DONE);
            wstatus[h] = 0;
            carried = carried + wn[h]
        :: else ->
            /* wake h to retry: its claim is reserved in woken */
            REACH(1);
#ifndef NO_INVARIANTS
            assert(woke[h] == 0);   /* S5: woken at most once */
            woke[h]++;
#else
            woke[h] = 1;            /* (np rows: a bounded state space) */
#endif
#ifdef REACHALL
            nwakes++;
            wseq[h] = nwakes;
#endif
            woken = woken + wn[h];
            QREMOVE(h, RESUME);
            if
            :: NRESUME >= 2 -> REACH(8)
            :: else
            fi
        fi;
        batch = batch | (1 << h)
    :: else -> break
    od;
    assert(c <= SEM_COUNT);
    word = c | BITS;
    if
    :: HEAD_STARVING && woken > 0 -> REACH(9)
    :: else
    fi;
    c = 0; avail = 0; h = 0
}

/* sem_try: the lock-free acquire, one CAS: count -= n iff HANDOFF is clear
 * and count >= n.  got = 1 acquired. */
inline sem_try(n)
{
    atomic {
        if
        :: !BARRED && (word & SEM_COUNT) >= n ->
            NEWCOMER_TAKES();
            word = word - n; held = held + n; got = 1
        :: else -> got = 0
        fi
    }
}

/* as_sem_acquire_async(s, loop, w, n): r = 1 acquired at once, 0 pending.
 * The slow path (queue lock): take if HANDOFF is clear and count >= n
 * (barging allowed), else park at the tail with the word's bits recomputed
 * (add_waiter_if: the CAS from the value it decided on). */
inline sem_acquire_async(w, n)
{
    sem_try(n);
    if
    :: got -> r = 1
    :: else ->
        atomic {
            QLOCK();
            /* as__wait_prepare */
            wn[w] = n; wstatus[w] = 0; wflags[w] = 0;
            if
            :: !BARRED && (word & SEM_COUNT) >= n ->
                NEWCOMER_TAKES();
                word = word - n; held = held + n; r = 1
            :: else ->
                QPUSH_TAIL(w);
                word = (word & SEM_COUNT) | BITS;
                r = 0
            fi;
            QUNLOCK()
        };
        got = 0
    fi
}

/* as_sem_release's locked path, the queue lock held and the word loaded
 * (wv): either bit set (the mask SEM_HANDOFF), go on to the grant (fast
 * = 1); else the queue emptied meanwhile: unlock, the lock-free path
 * again. */
inline RELEASE_RECHECK()
{
    if
#ifndef BUG_RELEASE_RECHECK_WAITERS
    :: (wv & SEM_HANDOFF) != 0 -> fast = 1
#else
    :: (wv & SEM_WAITERS) != 0 -> fast = 1   /* the test before QUIET */
#endif
    :: else -> fast = 0; wv = 0; QUNLOCK()
    fi
}

/* ... and its grant pass with the n added (the CAS: planned from the word
 * as it is now), then the unlock */
inline RELEASE_GRANT(n)
{
    if
    :: (wv & SEM_HANDOFF) == SEM_QUIET ->
        /* QUIET under the lock (and still: the bits change only under
         * it): by its hint, or the word was WAITERS when it looked */
        if
        :: qlen > 0 && wloop[q[0]] == me && wn[q[0]] <= (word & SEM_COUNT) + n -> REACH(30)
        :: qlen > 0 && wloop[q[0]] != me -> REACH(31)
        :: else
        fi
#ifdef BUG_QUIET_STORE
        ;
        /* the grant stores a value planned from its load, as if nobody
         * else wrote a QUIET word */
        word = wv
#endif
    :: else
    fi;
    GRANT(n);
    wv = 0;
    QUNLOCK()
}

/* as_sem_release(s, n): lock-free CAS count += n while the queue is empty
 * (neither bit) or the word is QUIET and this thread's hint
 * (sem_passed_here: hint[me]) is not on the semaphore; else the queue
 * lock, and with either bit still set (SEM_HANDOFF, the mask) the grant
 * pass with the n added (the queue emptied meanwhile: the lock-free path
 * again).  The locked path is two steps, as in C: the load under the lock
 * (wv), then the grant's CAS, which plans from the word as it is then
 * (sem_settle_cas: a lock-free release or acquire may have moved it since
 * the load; REACH 33).  -DHINT_LOST: a release whose hint is set may still
 * go lock-free (its note overwritten by another semaphore's). */
inline sem_release(n)
{
    do
    :: atomic {
        if
        :: (word & SEM_WAITERS) == 0 && ((word & SEM_QUIET) == 0 || !hint[me]) ->
            fast = 1
#ifdef HINT_LOST
        :: (word & SEM_HANDOFF) == SEM_QUIET && hint[me] ->
            fast = 1        /* the note lost: lock-free all the same */
        :: (word & SEM_HANDOFF) == SEM_QUIET && hint[me] ->
            fast = 0        /* (else is taken only if no guard holds) */
#endif
        :: else -> fast = 0
        fi;
        if
        :: fast ->
            if
            :: woken > 0 -> REACH(11)
            :: else
            fi;
            if
            :: (word & SEM_QUIET) != 0 ->
                /* S1: QUIET, so the head is PASSED and nothing is woken:
                 * the grant would stop at it, its tick retries */
                REACH(29);
                if
                :: me != 0 && qlen > 0 && wloop[q[0]] == me -> REACH(32)
                :: else
                fi
            :: else
            fi;
            assert((word & SEM_COUNT) + n <= SEM_COUNT);
            word = word + n; held = held - n
        :: else
        fi
       };
       if
       :: fast -> break
       :: else
       fi;
#if defined(SPLIT_RELEASE) || defined(BUG_QUIET_STORE)
       atomic {
           QLOCK();
           wv = word;
           RELEASE_RECHECK()
       };
       if
       :: fast ->
           atomic {
               if
               :: word != wv -> REACH(33)
               :: else
               fi;
               RELEASE_GRANT(n)
           };
           break
       :: else
       fi
#else
       atomic {
           QLOCK();
           wv = word;
           RELEASE_RECHECK();
           if
           :: fast -> RELEASE_GRANT(n)
           :: else
           fi
       };
       if
       :: fast -> break
       :: else
       fi
#endif
    od;
    fast = 0;
    batch_finish()
}

/* as_cancel (wait.c) of a DONE wait on the loop thread: the CAS DONE ->
 * DONE|CANCEL (it cannot fail here: only this thread's callback changes a
 * DONE state; the race with it is cancel.pml's); a grant it carries is
 * released back (sem_giveback: as_sem_release, from this thread). */
inline done_cancel(w)
{
    cbit[w] = 1;
    if
    :: wstatus[w] == 0 ->
        d_step { carried = carried - wn[w]; held = held + wn[w] };
        sem_release(wn[w])
    :: else
    fi
}

/* as_cancel on the loop thread -> sem_cancel (as__q_lock_wait,
 * as__q_cancel_locked with the grant pass as fixup).  The state is read
 * without the lock first (as__q_lock_wait), then again under it. */
inline sem_cancel(w)
{
    if
    :: state[w] == IDLE -> skip       /* as_cancel: -ENOENT */
    :: state[w] == DONE -> done_cancel(w)
    :: state[w] == QUEUED || state[w] == RESUME ->
        atomic {
            QLOCK();
            if
            :: state[w] == QUEUED ->
                QREMOVE(w, DONE);
                wstatus[w] = ECANCELED;
                batch = batch | (1 << w);
#ifndef BUG_CANCEL_NO_REGRANT
                /* S1: the head may have been what blocked the waiters
                 * behind it */
                GRANT(0);
                if
                :: (batch & ~(1 << w)) != 0 -> REACH(13)
                :: else
                fi;
                if
                :: (batch & ~(1 << w)) != 0 && PASSED(w) -> REACH(26)
                :: else
                fi;
#else
                word = (word & SEM_COUNT) | BITS;
#endif
                ok = 0
            :: state[w] == RESUME ->
                /* woken, on its way: its resume gives up (GIVE_UP with
                 * -ECANCELED, and the CANCEL bit) */
                wflags[w] = wflags[w] | F_GIVE_UP;
                wstatus[w] = ECANCELED;
                cbit[w] = 1;
                ok = 0
            :: else -> ok = 1            /* DONE meanwhile: -ENOENT, again */
            fi;
            QUNLOCK()
        };
        batch_finish();
        if
        :: ok -> ok = 0; done_cancel(w)
        :: else
        fi
    fi
}

/* kind->resume of the semaphore (sem_resume): a RESUME wait arrived on its
 * loop (the loop thread).  First word access: the take (a CAS: count >= n,
 * HANDOFF ignored: w was at the head), or the load that finds too few
 * permits; second: the grant pass, with `woken -= n` and, if it must
 * starve, w back at the front STARVING.  A wait that was cancelled on its way gives
 * up: -ECANCELED, `woken -= n` and a grant pass (its claim is freed), one
 * word access. */
inline sem_resume(w)
{
    atomic {
        QLOCK();
        assert(state[w] == RESUME && !IS_STRICT);
        if
        :: (wflags[w] & F_GIVE_UP) != 0 ->
            REACH(7);
            woken = woken - wn[w];
            state[w] = DONE;                /* status: the cancel's */
            batch = batch | (1 << w);
#ifndef BUG_RESUME_NO_REGRANT
            /* its claim is freed: the head may fit now */
            GRANT(0);
            if
            :: (batch & ~(1 << w)) != 0 -> REACH(14)
            :: else
            fi;
#endif
            QUNLOCK();
            ok = 0
        :: else ->
            if
            :: (word & SEM_COUNT) >= wn[w] ->
                /* take its n, and write the bits in the same CAS
                 * (sem_settle_locked with take = n; the grant pass in it
                 * serves nobody: see the assertion below) */
                REACH(6);
                if
                :: HEAD_STARVING -> REACH(10)
                :: else
                fi;
                state[w] = DONE;
                wstatus[w] = 0;
                carried = carried + wn[w];
                batch = batch | (1 << w);
#ifdef TAKE_THEN_GRANT
                word = word - wn[w];
                ok = 1
#else
                woken = woken - wn[w];
                word = ((word & SEM_COUNT) - wn[w]) | BITS;
                QUNLOCK();
                ok = 0
#endif
            :: else ->
                /* someone barged: it will starve */
                REACH(3);
                starve = 1;
                ok = 1
            fi
        fi
    };
    if
    :: ok ->
        atomic {
            woken = woken - wn[w];
            if
            :: starve ->
                if
                :: HEAD_STARVING -> REACH(16)
                :: else
                fi;
#ifndef STARVE_AT_HEAD
                /* PASSED (S5) if its loop has a timer, behind the STARVING
                 * and PASSED waits; else STARVING, behind the STARVING
                 * ones (the grant below sets the bits) */
                if
                :: !STARV(w) && PASS_MAY(w) ->
                    REACH(19);
                    QPUSH_AFTER(w, F_FRONT);
#ifndef BUG_NO_STARVATION_BOUND
                    wflags[w] = wflags[w] | F_PASSED;
#ifndef BUG_PASS_NO_TIMER
                    tmr[w] = 1;     /* as__timer_rekey, after the unlock:
                                     * this thread's heap */
#endif
                    hint[me] = 1    /* sem_passed_tls = s (after the
                                     * unlock: only this thread reads it) */
#endif
                :: else ->
                    QPUSH_AFTER(w, F_STARVING);
                    if
                    :: qlen > 1 && PASSED(q[1]) -> REACH(28)
                    :: else
                    fi;
#ifndef BUG_NO_STARVATION_BOUND
                    wflags[w] = wflags[w] | F_STARVING
#else
                    skip
#endif
                fi
#else
                wflags[w] = wflags[w] | F_STARVING;
#ifdef REACHALL
                if
                :: HEAD_STARVING && wseq[q[0]] < wseq[w] -> REACH(17)
                :: else
                fi;
#endif
                QPUSH_HEAD(w)
#endif
            :: else
            fi;
            GRANT(0);
            /* S1 held before, and the take leaves count - woken as it
             * was: the grant pass after a take only recomputes the bits.
             * After a starve, w's freed claim can serve w itself, or (w
             * behind a STARVING wait) the STARVING waits ahead of it */
            if
            :: !starve -> assert((batch & ~(1 << w)) == 0)
            :: starve && (batch & ~(1 << w)) != 0 ->
#ifdef STARVE_AT_HEAD
                assert(false);
#endif
                REACH(18)
            :: else
            fi;
            if
            :: starve && state[w] == DONE -> REACH(15)
            :: else
            fi;
            QUNLOCK();
            ok = 0; starve = 0
        }
    :: else
    fi;
    batch_finish()
}

/* kind->tick of the semaphore (sem_tick), on w's loop thread, for a wait
 * whose pass keyed the heap (tmr[w]), one step under the queue lock (its
 * one word access is the grant's): a QUEUED wait still PASSED becomes
 * STARVING, moves behind the STARVING waits at the front
 * (as__q_move_before the first wait from the head that is not STARVING, or
 * stays if that is itself) and the grant runs (it may serve it, or leaves
 * it STARVING with HANDOFF set: the next release that makes it fit hands
 * it the permits).  A wait no longer PASSED is left alone. */
inline sem_tick(w)
{
    atomic {
        hint[me] = 0;   /* sem_passed_tls cleared (before the lock) */
        QLOCK();
        tmr[w] = 0;
        if
        :: PASSED(w) && state[w] == QUEUED ->
            /* pos: the first wait from the head that is w or not STARVING */
            j = 0;
            do
            :: q[j] != w && STARV(q[j]) -> j++
            :: else -> break
            od;
#ifndef BUG_SEM_PASSED_HANDOFF
            wflags[w] = (wflags[w] & ~F_PASSED) | F_STARVING;
#endif
            if
            :: q[j] != w ->
                REACH(25);
                /* as__q_move_before(pos, w): w out, then in at j */
                i = 0;
                do
                :: q[i] != w -> i++
                :: else -> break
                od;
                do
                :: i > j -> q[i] = q[i - 1]; i--
                :: else -> break
                od;
                q[j] = w
            :: else
            fi;
            i = 0; j = 0;
#if defined(BUG_SEM_PASSED_HANDOFF)
            GRANT(0);                     /* w still PASSED: its bits */
            if
            :: state[w] == QUEUED -> wflags[w] = (wflags[w] & ~F_PASSED) | F_STARVING
            :: else
            fi
#elif defined(BUG_TICK_NO_TAKE)
            word = (word & SEM_COUNT) | BITS  /* the bits, no grant */
#else
            ok = ((word & SEM_HANDOFF) == SEM_QUIET);
            GRANT(0);
            if
            :: state[w] == DONE -> REACH(20)
            :: else -> REACH(21)
            fi;
            if
            :: ok && state[w] == DONE -> REACH(34)
            :: else
            fi;
            ok = 0
#endif
        :: else -> REACH(27)
        fi;
        QUNLOCK()
    };
    batch_finish()
}

/* as_loop_run's timers: one of this loop's armed pass timers fires (any of
 * them: two keyed within AS__PASS_NS may fire in either order) */
inline tick_one()
{
    if
    :: tmr[1] && wloop[1] == me -> w = 1
    :: tmr[2] && wloop[2] == me -> w = 2
    :: tmr[3] && wloop[3] == me -> w = 3
    fi;
    sem_tick(w)
}
#define TMR(l) ((tmr[1] && wloop[1] == l) || (tmr[2] && wloop[2] == l) || (tmr[3] && wloop[3] == l))

/* as_loop_run on loop `me`: take one delivered wait out; resume it, or
 * run its callback.  Status 0: the task holds its permits, then gives them
 * back (as_sem_release from the loop thread). */
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
    :: state[w] == RESUME -> sem_resume(w)
    :: else ->
        /* as__run_callback */
progress:
        d_step {
            state[w] = IDLE;
            tmr[w] = 0;     /* as__timer_remove: the heap forgets w */
            pending--;
            ncb[w]++;
            assert(ncb[w] == 1)
        };
        if
        :: wstatus[w] == 0 && !cbit[w] ->   /* CANCEL: -ECANCELED, given back */
            d_step { carried = carried - wn[w]; held = held + wn[w] };
            sem_release(wn[w])
        :: else
        fi
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
    byte me = 1;
    byte h, i, j, w, r, c, batch, pending, cancel, wv;
    short avail;
    bit got, ok, fast, starve;

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
    :: mbox[me] != 0 -> run_one()
    :: TMR(me) -> tick_one()
    :: cancel != 0 -> sem_cancel(cancel); cancel = 0
    od;
    finished++
}

#if NLOOPS == 2
proctype loop2()
{
    byte me = 2;
    byte h, i, j, w, r, c, batch, pending, cancel, wv;
    short avail;
    bit got, ok, fast, starve;

    wloop[3] = 2;
    if
    :: cancel = 0
    :: cancel = 3
    fi;
    start(3, 1);
    do
    :: pending == 0 -> break
    :: mbox[me] != 0 -> run_one()
    :: TMR(me) -> tick_one()
    :: cancel != 0 -> sem_cancel(cancel); cancel = 0
    od;
    finished++
}
#endif

/* A thread that runs no loop: releases what it holds, then barges once. */
proctype r()
{
    byte me = 0;
    byte h, i, c, batch, k, wv;
    short avail;
    bit got, fast;

    k = R_HELD;
    do
    :: k > 0 -> sem_release(1); k--
    :: else -> break
    od;
#ifndef R_FOREVER
    k = R_BARGES;
    do
    :: k > 0 ->
        sem_try(1);
        if
        :: got -> got = 0; sem_release(1)
        :: else
        fi;
        k--
    :: else -> break
    od;
#else
    /* barge again and again until the loops are done (np rows, with weak
     * fairness: a waiter must still be served) */
    do
    :: finished == NPROC - 1 -> break
    :: else ->
        sem_try(1);
        if
        :: got -> got = 0; sem_release(1)
        :: else
        fi
    od;
#endif
    finished++
}

/* Invariants, checked in every reachable state where the queue lock is
 * free. */
#ifndef NO_INVARIANTS
active proctype monitor()
{
    atomic {
        qlock == 0 ->
        assert(Q1);
        /* S3: conservation */
        assert((word & SEM_COUNT) + held + carried == TOTAL);
        /* S1: the head does not fit in count - woken, or it is PASSED
         * and its timer will retry (the timer: PASSED_TIMER below) */
        assert(qlen == 0 || (word & SEM_COUNT) < wn[q[0]] + woken || PASSED(q[0]));
        /* the bits rule (as built: a broken rule is for S5 to catch) */
#ifndef BUG_SEM_PASSED_HANDOFF
        assert((word & SEM_HANDOFF) == BITS);
#endif
        assert(woken == SUM_RESUME);
        assert(FRONT_ORDER);
        assert(PASSED_TIMER);
#if IS_STRICT
        assert(woken == 0 && NRESUME == 0 && !HEAD_STARVING)
#endif
    }
}
#endif

/* The end: every thread finished. */
active proctype final()
{
    atomic {
        finished == NPROC ->
        assert(word == TOTAL && qlen == 0 && qlock == 0 && woken == 0);
        assert(held == 0 && carried == 0);
        assert(!tmr[1] && !tmr[2] && !tmr[3]);
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
