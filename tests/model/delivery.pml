/*
 * delivery.pml -- the lock-free delivery path of src/loop.c and the doorbell
 * of src/backend/uring.c (futex), src/backend/generic.c (eventfd, notify)
 * and src/backend/iocp.c (completion packets, posts that may be refused).
 *
 * One loop thread (proctype loop) owns two waits.  Two releaser threads decide
 * their outcomes (as a primitive does under its queue lock) and hand them to
 * the loop from outside: as__wait_finish pushes on the inbox (Treiber stack,
 * one CAS) and rings the doorbell word `bell` (0 -> 1, then one backend
 * wake).  The loop drains in as_loop_run and in the doorbell's CQE handler,
 * arms the doorbell (FUTEX_WAIT expected 0 / eventfd read) only while waits
 * are pending, and sleeps in io_uring_submit_and_wait until a CQE arrives.
 * Wait 2's callback re-arms it (ROUNDS deliveries), as an application that
 * starts its next wait from a callback does.  The loop may also be woken by
 * IO_WAKES unrelated I/O completions, at any moment.
 *
 * Checked (see README.md):
 *   - invalid end states: the loop never sleeps for ever with a wait pending
 *     (D1: no lost wake-up); no releaser is stuck;
 *   - assertions: exactly one callback per decided outcome, state DONE at the
 *     callback; D2 (armed whenever it sleeps with waits pending); nothing left
 *     in the inbox or ready list at teardown; D3 (no deliverer touches the
 *     loop after as_loop_destroy);
 *   - with -DNP (pan -l): no non-progress cycle, i.e. the loop cannot spin
 *     (wake, drain, re-arm, wake ...) for ever without running a callback.
 *
 * Build-time switches:
 *   BACKEND=B_FUTEX (default) | B_EVENTFD | B_NOTIFY | B_IOCP
 *   MSG_WAKE (with B_FUTEX): the releasers run uring loops of their own, so
 *   a wake is a MSG_RING message queued on the releaser's ring and sent by
 *   its next submit, after the releaser left the loop (D3): it posts a CQE
 *   into the target's ring, or is refused (REFUSALS) and replaced by a
 *   futex wake (R1); the target counts messages on their way (msgs) and
 *   as_loop_destroy waits for them (R2).  The message's fate is decided
 *   by the submit that sends it and its refusal handled there: a silent
 *   message (uring.c R3; an acknowledged one's CQE only frees a slot);
 *   the sender's own teardown, which R3 holds until that refusal is
 *   handled, is not modelled (tests/fault: test_destroy_waits_for_refusal)
 *   ROUNDS (2), IO_WAKES (1), REFUSALS (2: B_IOCP posts the system refuses,
 *   at any moment, over the whole run)
 *   Deliberately broken variants (each must FAIL):
 *   BUG_DRAIN_ORDER        drain exchanges the inbox BEFORE resetting the bell
 *   BUG_FUTEX_NO_COMPARE   the kernel parks the doorbell wait without
 *                          comparing the bell with the expected 0
 *   BUG_NO_RESET           drain never resets the bell (livelock: -DNP)
 *   BUG_D3                 a deliverer counts itself out of as__wakers right
 *                          after its push, before ringing the bell
 *   BUG_IOCP_GIVE_UP       (B_IOCP) a waker whose post is refused gives up
 *                          at once instead of retrying until the post is
 *                          accepted or the bell reads 0 (P1)
 *   BUG_MSG_NO_FALLBACK    (MSG_WAKE) a refused message is not replaced by
 *                          a futex wake
 *   BUG_MSG_NO_COUNT       (MSG_WAKE) as_loop_destroy does not wait for
 *                          messages on their way (R2)
 *   BUG_MW_REREAD          (MSG_WAKE) the teardown wait on msgs takes its
 *                          expected value from a second read of the count
 *   BUG_RETIRE_FIRST       (B_IOCP) as_loop_destroy retires the backend
 *                          before it waits for in-flight wakers: a wake
 *                          posted meanwhile outlives the loop (P2)
 *   SETUP_THREAD           (must PASS) the thread that releases wait 1 also
 *                          started it with *_async before the loop thread
 *                          first ran the loop (as__wait_parked's "nobody
 *                          runs it yet" case).  Before the fix of finding F1
 *                          (README.md) parking claimed the loop, and this
 *                          thread's as__wait_finish took the same-loop path
 *                          (ready list, no bell) while the loop thread ran.
 *
 * State names follow the C code: IDLE QUEUED DONE (src/internal.h),
 * inbox bell pending ARMED wakers owner (struct as_loop, AS__L_ARMED).
 * Every atomic access of the C code is one step here; what a thread does to
 * its own data (the ready list, the reversal of the drained stack) is one
 * step.  The kernel's futex compare-and-park and wake are atomic, as under
 * the futex bucket lock.
 */

#define IDLE    0   /* AS__W_IDLE */
#define QUEUED  1   /* AS__W_QUEUED */
#define DONE    2   /* AS__W_DONE */

#define B_FUTEX   1 /* backend/uring.c: IORING_OP_FUTEX_WAIT on bell */
#define B_EVENTFD 2 /* backend/generic.c ring flavour: eventfd read */
#define B_NOTIFY  3 /* backend/generic.c notify flavour: notify(ctx) */
#define B_IOCP    4 /* backend/iocp.c: PostQueuedCompletionStatus */

#ifndef BACKEND
#define BACKEND B_FUTEX
#endif
#ifndef ROUNDS
#define ROUNDS 2    /* deliveries of wait 2 (its callback re-arms it) */
#endif
#ifndef REFUSALS
#define REFUSALS 2  /* B_IOCP: posts refused (memory pressure) */
#endif
#ifndef IO_WAKES
#define IO_WAKES 1  /* unrelated CQEs that end the loop's sleep */
#endif

#define NW 2        /* waits bound to the loop: ids 1..NW, 0 is NULL */
#define LOOP_T 1    /* the loop thread's id (as__tls_token) */

/* ---- struct as_loop ---------------------------------------------------- */
byte inbox;          /* as__inbox: newest pushed wait, 0 = NULL */
byte link[NW + 1];   /* as_wait.as__link (inbox and ready list) */
bit  bell;           /* as__bell: the doorbell (futex) word */
byte pending;        /* as__pending: waits bound here, callback not run */
bool ARMED;          /* as__flags & AS__L_ARMED */
byte wakers;         /* as__wakers (D3) */
bool freed;          /* ghost: as_loop_destroy returned 0 */
byte owner;          /* as__owner: the thread running the loop, 0 = nobody
                      * (thread ids: LOOP_T, releaser of wait w: w + 1) */
bool started;        /* SETUP_THREAD: pthread_create of the loop thread */

byte ready[NW];      /* the ready list (loop thread only), FIFO */
byte nready;

/* ---- the waits ------------------------------------------------------- */
byte state[NW + 1];   /* as_wait.as__state */
byte decided[NW + 1]; /* ghost: outcomes decided (QUEUED -> DONE) */
byte ncb[NW + 1];     /* ghost: callbacks run */

/* ---- the kernel side ------------------------------------------------- */
bool sq_bell;        /* doorbell SQE prepared by arm, not yet submitted */
bool k_wait;         /* doorbell op parked in the kernel */
byte cq;             /* doorbell CQEs posted, not yet reaped */
byte efd_count;            /* eventfd counter (B_EVENTFD) */
bool notified;       /* notify(ctx) called, not yet seen (B_NOTIFY) */
byte posted;         /* as__posted: packets posted, not yet handled (B_IOCP;
                        cq counts those in the port) */
byte refused;        /* B_IOCP, MSG_WAKE: posts / messages refused so far */
byte msgs;           /* as__msgs: wake messages on their way (MSG_WAKE) */
byte cq_msg;         /* message CQEs in the target ring, not yet reaped */
bool MW_ARMED;       /* teardown: a FUTEX_WAIT on &msgs is on the ring */
bool k_mwait;        /* ... parked in the kernel */
byte cq_mw;          /* ... its CQEs, not yet reaped */
byte mw_exp;         /* ... its expected value */

/* backend->arm: uring_arm / ring_arm (notify_arm is a no-op).  Loop thread.
 * Arming always gets its SQE where the loop could sleep next (A1 in
 * internal.h: as__ring_sqe submits when the SQ is full and, on an SQPOLL
 * ring, waits for the kernel's SQ thread to free a slot).
 * BUG_ARM_GIVES_UP: the first design gave up when the SQ was still full
 * after the submit (an SQPOLL ring), and relied on the next as_loop_run:
 * a loop then sleeps with nothing armed. */
inline backend_arm()
{
#if BACKEND != B_NOTIFY && BACKEND != B_IOCP
    atomic {
        if
        :: !ARMED -> sq_bell = true; ARMED = true
#ifdef BUG_ARM_GIVES_UP
        :: !ARMED -> skip             /* SQ still full: retried later */
#endif
        :: else
        fi
    }
#else
    skip
#endif
}

/* loop.c: as__loop_claim: the calling thread runs the loop from now on */
inline claim(me)
{
    if
    :: owner != me -> owner = me
    :: else
    fi
}

/* loop.c: as__wait_parked, after *_async queued the wait (QUEUED): count it
 * and arm the doorbell if this thread runs the loop or nobody does yet.  It
 * does not claim the loop: a setup thread is not the loop's thread (the
 * claim here was finding F1, see README.md). */
inline wait_parked(me)
{
    pending++;
    if
    :: owner == me || owner == 0 -> backend_arm()
    :: else
    fi
}

/* io_uring_submit (inside io_uring_submit_and_wait): the kernel issues the
 * doorbell SQE.  io_futex_wait compares the word with the expected value 0
 * under the futex bucket lock and parks only if they are equal; a read of
 * an eventfd completes at once if the counter is non-zero. */
inline ring_submit()
{
    atomic {
        if
        :: sq_bell ->
            sq_bell = false;
#if BACKEND == B_FUTEX
            if
#ifndef BUG_FUTEX_NO_COMPARE
            :: bell != 0 -> cq++          /* -EAGAIN: completes at once */
#endif
            :: else -> k_wait = true
            fi
#else
            if
            :: efd_count > 0 -> efd_count = 0; cq++
            :: else -> k_wait = true
            fi
#endif
        :: else
        fi
    }
}

/* backend->wake: uring_wake (FUTEX_WAKE, by SQE or futex(2)), ring_wake
 * (eventfd write), notify_wake (notify(ctx)).  Any thread. */
inline backend_wake()
{
#if BACKEND == B_FUTEX && defined(MSG_WAKE)
    /* send_msg: counted on the target (R2), queued on our own ring (the
     * releaser's local sq_msg) */
    msgs++;
    sq_msg++
#elif BACKEND == B_FUTEX
    atomic {
        if
        :: k_wait -> k_wait = false; cq++
        :: else
        fi
    }
#elif BACKEND == B_EVENTFD
    atomic {
        if
        :: k_wait -> k_wait = false; cq++ /* the read takes the count */
        :: else -> efd_count = 1
        fi
    }
#elif BACKEND == B_IOCP
    /* iocp_wake: P2 count, then post until accepted; a refused post is
     * retried unless the bell reads 0 (the loop drained: it has the wake). */
    posted++;
    do
    :: atomic { refused < REFUSALS -> refused++ };    /* refused */
#ifdef BUG_IOCP_GIVE_UP
        posted--; break
#else
        if
        :: bell == 0 -> posted--; break
        :: else                                      /* yield, retry */
        fi
#endif
    :: cq++; break                                   /* a packet in the port */
    od
#else
    notified = true
#endif
}

/* The releaser's next submit sends the messages queued on its ring
 * (sq_msg, a local of proctype releaser) (MSG_WAKE): each
 * posts a CQE into the target's ring, or is refused and handled on the
 * releaser's ring: futex(2) wake of the target's bell, then msgs-- (R1). */
inline submit_msgs()
{
#ifdef MSG_WAKE
    do
    :: sq_msg > 0 ->
        sq_msg--;
        assert(!freed);            /* R2: the target loop still exists */
        if
        :: atomic { refused < REFUSALS -> refused++ };
#ifndef BUG_MSG_NO_FALLBACK
            bell = 1;            /* as__store(&bell, 1), seq_cst */
            atomic {             /* futex(2) FUTEX_WAKE */
                if
                :: k_wait -> k_wait = false; cq++
                :: else
                fi
            };
#endif
            msgs--;
            /* FUTEX_WAKE(&msgs): a wake, no store, so it may run after
             * the loop is gone (no assert) */
            atomic {
                if
                :: k_mwait -> k_mwait = false; cq_mw++
                :: else
                fi
            }
        :: cq_msg++
        fi
    :: else -> break
    od
#else
    skip
#endif
}

/* loop.c: as__loop_drain, first half: "reset the bell before taking the
 * inbox" (a relaxed load, then a seq_cst store of 0). */
inline reset_bell()
{
#ifndef BUG_NO_RESET
    if
    :: bell != 0 -> bell = 0
    :: else
    fi
#else
    skip
#endif
}

/* loop.c: as__loop_drain.  Loop thread. */
inline drain()
{
#ifndef BUG_DRAIN_ORDER
    reset_bell();
#endif
    if
    :: inbox == 0                       /* seq_cst load: empty */
    :: else ->
        atomic { list = inbox; inbox = 0 };   /* as__xchg(&inbox, NULL) */
        /* reverse the stack (newest first) and append to the ready list */
        d_step {
            n = 0;
            do
            :: list != 0 -> tmp[n] = list; n++; list = link[list]
            :: else -> break
            od;
            do
            :: n > 0 ->
                n--;
                assert(nready < NW);  /* a wait is in the ready list once */
                ready[nready] = tmp[n];
                nready++
            :: else -> break
            od
        }
    fi
#ifdef BUG_DRAIN_ORDER
    ;
    reset_bell()
#endif
}

/* backend->handle(TAG_BELL): uring_handle / ring_handle.  Loop thread. */
inline handle_bell()
{
    ARMED = false;
    drain();
    if
    :: pending != 0 -> backend_arm()
    :: else
    fi
}

/* loop.c: as_loop_run */
inline loop_run()
{
    claim(LOOP_T);
    do
    :: true ->
        if
        :: nready == 0 -> drain()
        :: else
        fi;
        if
        :: nready == 0 -> break
        :: else
        fi;
        /* as__ready_pop, then as__run_callback */
        d_step {
            w = ready[0];
            n = 0;
            do
            :: n + 1 < nready -> ready[n] = ready[n + 1]; n++
            :: else -> break
            od;
            nready--;
            ready[nready] = 0;
            n = 0
        };
        assert(state[w] == DONE);
        state[w] = IDLE;
        pending--;
progress_cb:
        ncb[w]++;
        assert(ncb[w] == decided[w]);   /* exactly one callback per outcome */
        /* the callback: wait 2 starts its next wait on the same as_wait */
        if
        :: w == 2 && ncb[2] < ROUNDS ->
            state[2] = QUEUED;           /* *_async: as__q_push_tail */
            wait_parked(LOOP_T)
        :: else
        fi
    od;
    if
    :: pending != 0 -> backend_arm()
    :: else
    fi
}

proctype loop()
{
    byte w, list, n;
    byte tmp[NW];
    byte io = IO_WAKES;

    /* *_async calls returned 0 on the loop thread: each wait is queued
     * (QUEUED), then as__wait_parked counts it and arms the doorbell. */
#ifdef SETUP_THREAD
    started;                    /* wait 1 was set up by the thread that
                                 * created this one */
#else
    state[1] = QUEUED; wait_parked(LOOP_T);
#endif
    state[2] = QUEUED; wait_parked(LOOP_T);

    do
    :: loop_run();
        if
        :: pending == 0 -> break
        :: else ->
            /* io_uring_submit_and_wait(ring, 1): submit, then block */
            ring_submit();
#if BACKEND != B_NOTIFY && BACKEND != B_IOCP
            /* D2: a loop with pending waits sleeps only with its doorbell
             * armed in the kernel or its CQE already posted. */
            assert(k_wait || cq > 0);
#endif
            if
            :: cq_msg > 0 ->                   /* a wake message (MSG_WAKE) */
                cq_msg--; claim(LOOP_T); drain(); msgs--
            :: cq > 0 ->                       /* as_loop_handle_cqe */
#if BACKEND == B_IOCP
                posted--;                      /* as_loop_handle_completion */
#endif
                cq--; claim(LOOP_T); handle_bell()
            :: notified -> notified = false    /* notify(ctx) was called */
            :: io > 0 -> io--                  /* an unrelated CQE */
            fi
        fi
    od;

    /* as_loop_destroy: no wait pending, so nothing may be left behind. */
    assert(inbox == 0 && nready == 0);
    assert(ncb[1] == 1 && ncb[2] == ROUNDS);
    /* D3: wait out deliverers, draining meanwhile (one reset of the bell
     * stands for the drains of that wait), then retire: the armed doorbell
     * is cancelled and its CQE reaped (ring bookkeeping only, not
     * modelled). */
    reset_bell();
#ifndef BUG_RETIRE_FIRST
    (wakers == 0);
#endif
#if defined(MSG_WAKE) && !defined(BUG_MSG_NO_COUNT)
    /* uring retire (R2): -EAGAIN while messages are on their way here,
     * with the doorbell armed; the application blocks for the next CQE: a
     * message, or the doorbell woken for a refused one (R1) */
    do
    :: true ->
        n = msgs;                    /* one read: the retire check */
        if
        :: n == 0 -> break
        :: else
        fi;
        /* arm FUTEX_WAIT(&msgs, expected = the count read) */
        if
        :: !MW_ARMED ->
#ifndef BUG_MW_REREAD
            mw_exp = n;
#else
            mw_exp = msgs;           /* reads the count a second time */
#endif
            MW_ARMED = true;
            atomic {                 /* submitted with the app's wait */
                if
                :: msgs != mw_exp -> cq_mw++
                :: else -> k_mwait = true
                fi
            }
        :: else
        fi;
        /* the application blocks for the next CQE */
        if
        :: cq_msg > 0 ->
            cq_msg--; drain(); msgs--;
            atomic {                 /* self-wake of the msgs wait */
                if
                :: k_mwait -> k_mwait = false; cq_mw++
                :: else
                fi
            }
        :: cq_mw > 0 -> cq_mw--; MW_ARMED = false
        :: cq > 0 -> cq--; ARMED = false; drain()
        fi
    od;
    /* the msgs wait, if armed, comes back before the loop goes */
    do
    :: MW_ARMED -> cq_mw > 0; cq_mw--; MW_ARMED = false
    :: else -> break
    od;
    assert(!k_mwait && cq_mw == 0);
#endif
#if BACKEND == B_IOCP
    /* iocp retire: -EAGAIN while packets of the loop are in the port; the
     * application dequeues them and hands them back (P2). */
    do
    :: posted > 0 -> cq > 0; cq--; posted--
    :: else -> break
    od;
#endif
#ifdef BUG_RETIRE_FIRST
    (wakers == 0);
#endif
#if BACKEND == B_IOCP
    /* P2: no packet of the loop is left once as_loop_destroy returned 0 */
    assert(cq == 0);
#endif
    atomic { sq_bell = false; k_wait = false; cq = 0; ARMED = false };
    freed = true
}

/* loop.c: as__wait_finish, called by thread `me` */
inline wait_finish(w, me)
{
    if
    :: owner == me ->
        /* "same loop": as__ready_push, plain stores (loop thread only) */
        k = nready;
        assert(k < NW);
        ready[k] = w;
        nready = k + 1
    :: else ->
        remote_finish(w)
    fi
}

/* loop.c: as__wait_finish from a thread that does not run the loop */
inline remote_finish(w)
{
    wakers++;                   /* D3: announce ourselves before the push */
    old = inbox;                /* relaxed load */
    do
    :: link[w] = old;
        atomic {                /* CAS(&inbox, &old, w), seq_cst */
            if
            :: inbox == old -> inbox = w; ok = true
            :: else -> old = inbox; ok = false
            fi
        };
        if
        :: ok -> break
        :: else
        fi
    od;
#ifdef BUG_D3
    wakers--;
#endif
    /* D1: look at the bell after the push */
    assert(!freed);
    if
    :: bell == 0 ->
        atomic { t = bell; bell = 1 };        /* as__xchg(&bell, 1) */
        if
        :: t == 0 -> assert(!freed); backend_wake()
        :: else
        fi
    :: else
    fi;
    assert(!freed)
#ifndef BUG_D3
    ;
    wakers--
#endif
}

/* A thread that releases, unlocks or signals: the primitive takes the wait
 * off its queue with the outcome decided (QUEUED -> DONE under the queue
 * lock), then finishes it after dropping the lock. */
proctype releaser(byte w; byte rounds)
{
    byte old, k;
    byte sq_msg;    /* MSG_WAKE: messages queued on this releaser's ring */
    byte me = w + 1;
    bit t;
    bool ok;
#ifdef SETUP_THREAD
    if
    :: w == 1 ->
        /* this thread sets the loop up: *_async for wait 1 before anybody
         * ran the loop (as__wait_parked arms, does not claim), then starts
         * the loop thread (pthread_create) */
        state[1] = QUEUED;
        wait_parked(me);
        started = true
    :: else
    fi;
#endif
    /* With MSG_WAKE the releaser runs a loop: it may finish its next wait
     * while messages still sit in its SQ, but it submits before it could
     * block (the contract of ring loops): while sq_msg > 0 the submit
     * branch is always enabled. */
    do
    :: rounds == 0 -> break
    :: atomic { rounds > 0 && state[w] == QUEUED -> state[w] = DONE; decided[w]++ };
        wait_finish(w, me);
        rounds--
#ifdef MSG_WAKE
    :: sq_msg > 0 -> submit_msgs()
#endif
    od;
    submit_msgs()    /* a loop submits before it blocks */
}

init
{
    atomic {
        run loop();
        run releaser(1, 1);
        run releaser(2, ROUNDS)
    }
}
