/*
 * gwait.pml -- generation waits of process-shared objects (src/gwait_ps.c:
 * the manual-reset event and the latch, AS_PSHARED; docs/pshared.md 3.5 and
 * the implementation status): no queue, no slot per waiter; each wait parks
 * in the kernel on the high half of the object's state (gen | poke) with
 * the value it read, and decides by itself, under the object's qlock, how
 * far gen moved.  Names follow the C code: lo (SET, WAITERS), gen, poke,
 * gw_enter, gw_fwake, gw_cancel (+ gw_poke), gw_change (op_set, op_reset).
 *
 * Threads:
 *   W0   a loop's wait (process A) that a second thread of A, C, may
 *        as_cancel at any moment (gw_cancel: under qlock, QUEUED -> status
 *        CANCELED, then poke moves and the word is woken for W0's bit).
 *   W1   a loop's wait of another process (process B): never cancelled; a
 *        cancel's wake for W0's bit does not reach it (another bit).
 *   S    sets the event (op_set: SET, gen += 2, WAITERS cleared; the wake
 *        of all when WAITERS was set), then may reset it and set it again;
 *        or never sets it (then only a cancel ends W0, and W1 waits on).
 * The kernel: a FUTEX_WAIT SQE reaches the kernel at some later step (the
 * loop's submit): it queues if the word still equals its expected value,
 * else completes at once (-EAGAIN); a wake of all (or of a bit) completes
 * the queued waits it reaches.  A completion is a CQE the loop hands to
 * gw_fwake, which re-reads under qlock and decides or arms again.
 *
 * Checked:
 *   V1  no lost wake-up: after a set every wait has ended, W1 with 0;
 *       without one, W0 has ended if its cancel returned 0
 *   V2  a wait reports 0 only if a set came after it parked or it found the
 *       event set (SETS_SEEN); W0's report is -ECANCELED exactly when its
 *       cancel returned 0 (a successful cancel always reports -ECANCELED)
 *   one outcome per wait, decided once
 *
 * Broken variants (must fail):
 *   BUG_NO_POKE       the cancel wakes W0's bit but does not move the word:
 *                     a cancel that lands before W0's FUTEX_WAIT reached
 *                     the kernel is lost (W0 parks for ever)
 *   BUG_NO_WAITERS    a wait parks without setting WAITERS: the set skips
 *                     its wake
 * (A wait parked for ever shows as a failed assertion of init's final check,
 * which runs at `timeout`, when nothing else can move.)
 *   BUG_ARM_REREAD    a wait's FUTEX_WAIT carries the value read when
 *                     its SQE is submitted, not the one read with the
 *                     state (gw_enter) or under qlock (fwake): it parks on
 *                     a word the set already changed
 *   BUG_CANCEL_NO_LOCK the cancel writes the status without qlock: fwake
 *                     may decide 0 meanwhile, and the cancel still returns
 *                     0 (assert)
 */

#define SET 1
#define WAITERS 2

#define IDLE 0
#define QUEUED 1
#define DONE 2

#define R_NONE 0
#define R_OK 1
#define R_CANCELED 2

byte lo = 0;            /* low half: SET, WAITERS */
byte gen = 0;           /* high half: gen (mod 8 here) */
byte poke = 0;          /* high half: poke (mod 4) */
#define WORD (gen * 4 + poke)

bool qlock = false;

/* per wait */
byte wstate[2];
byte status[2];         /* R_CANCELED when a cancel asked */
byte outcome[2];
byte then[2];           /* gen when it parked */
byte expect[2];         /* the value its next FUTEX_WAIT carries */
bool sqe[2];            /* a FUTEX_WAIT SQE is on its way to the kernel */
bool kq[2];             /* queued in the kernel */
bool cqe[2];            /* a completion for it is in the CQ */
bool cancel_ok = false; /* C's as_cancel returned 0 */
byte sets = 0;          /* sets (gen moves) so far */
byte sets_at_park[2];

inline lock() { atomic { !qlock -> qlock = true } }
inline unlock() { qlock = false }

/* the kernel: an SQE arrives; a FUTEX_WAIT checks the word */
inline submit(i) {
    atomic {
        sqe[i] ->
        sqe[i] = false;
#ifdef BUG_ARM_REREAD
        expect[i] = WORD;               /* read when submitted */
#endif
        if
        :: WORD == expect[i] -> kq[i] = true
        :: else -> cqe[i] = true       /* -EAGAIN */
        fi
    }
}

proctype Waiter(byte i)
{
    byte l, h, d, s0;
    /* gw_enter */
enter:
    atomic { l = lo; h = WORD; s0 = sets }
    if
    :: (l & SET) ->
        outcome[i] = R_OK;              /* 1: at once, no callback */
        sets_at_park[i] = 255;
        goto end
    :: else
    fi;
#ifndef BUG_NO_WAITERS
    atomic {
        if
        :: lo == l && WORD == h -> lo = lo | WAITERS   /* the CAS */
        :: else -> goto enter
        fi
    }
#endif
    then[i] = h / 4;
    expect[i] = h;
    sets_at_park[i] = s0;
    wstate[i] = QUEUED;                 /* V3: h was read before */
    sqe[i] = true;                      /* as__loop_fwait_mask */
park:
    submit(i);
end_parked:                             /* may wait for ever: init's check says if that is lost */
    atomic { cqe[i] -> cqe[i] = false }
    /* gw_fwake */
    lock();
    atomic {                            /* gw_outcome: one read of state */
        d = (gen + 8 - then[i]) % 8;
        expect[i] = WORD
    }
    if
    :: status[i] == R_CANCELED -> outcome[i] = R_CANCELED
    :: status[i] != R_CANCELED && d >= 2 -> outcome[i] = R_OK
    :: else ->                          /* park again on what it read */
        unlock();
        sqe[i] = true;
        goto park
    fi;
    wstate[i] = DONE;
    unlock();
end:
    skip
}

/* gw_cancel of W0 from another thread of its process */
proctype Canceller()
{
    bool poked = false;
#ifdef BUG_CANCEL_NO_LOCK
    if
    :: wstate[0] == QUEUED ->
        status[0] = R_CANCELED;
        cancel_ok = true;
        poked = true
    :: else
    fi;
#else
    lock();
    if
    :: wstate[0] == QUEUED ->
        status[0] = R_CANCELED;
        cancel_ok = true;
        poked = true
    :: else                             /* -ENOENT: decided, or not yet */
    fi;
    unlock();
#endif
    if
    :: poked ->
#ifndef BUG_NO_POKE
        poke = (poke + 1) % 4;          /* gw_poke: one CAS */
#endif
        atomic { if :: kq[0] -> kq[0] = false; cqe[0] = true :: else fi }
    :: else
    fi
}

/* op_set, then a reset and a set again, from any process */
proctype Setter()
{
    byte ol;
    byte round = 0;
    if
    :: skip
    :: goto done                        /* no set at all: only a cancel ends W0 */
    fi;
again:
    atomic {
        ol = lo;
        if
        :: !(lo & SET) -> lo = (lo | SET) & ~WAITERS; gen = (gen + 2) % 8; sets++
        :: else
        fi
    }
    if
    :: !(ol & SET) && (ol & WAITERS) ->
        atomic {                        /* futex wake of all */
            if :: kq[0] -> kq[0] = false; cqe[0] = true :: else fi;
            if :: kq[1] -> kq[1] = false; cqe[1] = true :: else fi
        }
    :: else
    fi;
    round++;
    if
    :: round < 2 ->
        lo = lo & ~SET;                 /* op_reset */
        goto again
    :: round < 2 -> skip                /* or no second set */
    :: else
    fi;
done:
    skip
}

init
{
    atomic {
        run Waiter(0);
        run Waiter(1);
        run Canceller();
        run Setter()
    }
    timeout ->                          /* everything that can run has run */
    /* V1: a set ends every wait; without one, a cancel ends W0 */
    assert(sets == 0 || outcome[1] == R_OK);
    assert(outcome[0] != R_NONE || (sets == 0 && !cancel_ok));
    assert((outcome[0] == R_CANCELED) == cancel_ok);
    /* V2: 0 only after a set that came while it was parked */
    assert(outcome[0] != R_OK || sets_at_park[0] == 255 || sets > sets_at_park[0]);
    assert(outcome[1] != R_OK || sets_at_park[1] == 255 || sets > sets_at_park[1])
}
