/* Process-shared mutex (AS_PSHARED, optionally AS_MUTEX_ROBUST):
 * docs/pshared.md 3.4, 6, 9.3, 10.
 *
 * A BINARY SEMAPHORE WITH OWNER
 *   The mutex is the pshared semaphore's core (sem_ps.c: slots, queue lock
 *   and its recovery, logged grants and reclaims, tickets, fwait and
 *   futex(2) parking, the health tick, cancel, deadlines, close, overflow)
 *   in its mutex mode, picked by the object's magic: COUNT is 1 (free) or 0
 *   (held), every wait asks for 1, and the state's high half is the
 *   holder's participant id (a process), written in the same CAS that takes
 *   or frees the lock (PM1, sem_ps.c).  What is here is what a semaphore
 *   does not have: the owner checks of unlock, OWNER_DEAD and
 *   NOTRECOVERABLE (10.2), and as_mutex_consistent.
 *
 *   Policy: the pshared semaphore's (sem_ps.c, POLICY; docs/pshared.md
 *   6.3): by default an unlock with slots queued frees the lock and wakes
 *   the oldest to retry (WOKEN; a newcomer of any process may take the
 *   lock meanwhile), one passed over goes back STARVING and gets the lock
 *   directly next; AS_MUTEX_STRICT_FIFO hands it to the oldest on every
 *   unlock and a newcomer's lock-free take fails while one waits.
 *
 *   Owner: the process.  Any thread or task of the holder's process may
 *   unlock.  Robust: an unlock from another process is -EPERM.  Not
 *   robust: as the in-process mutex (which has no owner), any process may
 *   unlock it; the holder is recorded only for the dumps and the health
 *   check ignores it: a non-robust mutex whose holder died stays locked
 *   (its waiters wait for their deadlines, or for ever).
 *
 * ROBUST (10.2)
 *   PM3 (sem_ps.c): a holder found dead (P7: pid + start time, never a
 *   live process) is replaced under the queue lock by OWNER_DEAD in the CAS
 *   that frees the lock (as__mutex_ps_owner_dead_locked); the grant that
 *   follows in the same critical section hands the lock to the head slot,
 *   whose claim reports -EOWNERDEAD with the lock held, or, with nobody
 *   waiting, the lock stays free with OWNER_DEAD and the next take reports
 *   -EOWNERDEAD.  Who notices: the waiters' health tick (ps_health, every
 *   tick interval, rate-limited per object), a recovery after a queue-lock
 *   takeover, a blocking waiter's futex timeout (its tick), and try_lock /
 *   lock_* / lock_blocking that failed PM_SUSPECT_FAILS times in a row on
 *   the same holder in this thread (liveness reads /proc: kept off the hot
 *   path).  The holder then makes the data consistent and calls
 *   as_mutex_consistent (clears OWNER_DEAD, holder only); an unlock with
 *   OWNER_DEAD still set closes the mutex with NOTRECOVERABLE in the
 *   critical section that frees it: every wait pending ends with
 *   -ENOTRECOVERABLE and every later lock returns it.
 *   PM4 (OWNER_DEAD reaches exactly one owner first): OWNER_DEAD is set
 *   only together with COUNT 0 -> 1 under the queue lock, and taken with
 *   the lock by exactly one take or grant (one CAS on the state), which
 *   reports -EOWNERDEAD.
 *
 * UNLOCK WITHOUT THE QUEUE LOCK
 *   PM5: an unlock frees the lock with one CAS, without the queue lock,
 *   whenever HANDOFF is clear in the value it replaces (and OWNER_DEAD is
 *   not set): either nobody waits, or slots wait and a woken slot is on its
 *   way, or the head is PASSED (sem_ps.c, 6.3: WAITERS without HANDOFF
 *   <=> the queue is not empty, its head is not STARVING, not strict, and
 *   woken >= 1 or the head is PASSED; every change into "nothing woken
 *   and the head not PASSED" or "head STARVING" raises HANDOFF before or
 *   in the same CAS, EF3).  There the grant the queue lock's path would run
 *   does nothing: one free lock does not fit beyond the one promised to
 *   the woken slot (COUNT - woken <= 0, EF1 holds), which takes it on
 *   arrival or, finding it taken, raises HANDOFF and goes STARVING (or
 *   PASSED); and the grant stops at a PASSED head (EF1'), whose timer
 *   raises HANDOFF before it turns it STARVING.  The
 *   CAS fails if the bits moved meanwhile (they share the word): then the
 *   unlock decides again.  Only the mutex: a semaphore's release of n may
 *   make the head fit beyond `woken`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pshared.h"

#ifdef AS__PS_SUPPORTED

#define PS_COUNT AS__PS_COUNT
#define PS_WAITERS AS__PS_WAITERS
#define PS_HANDOFF AS__PS_HANDOFF
#define PS_DEAD ((uint64_t)AS__PS_DEAD << 32)
#define LAYOUT AS__PS_LAYOUT(sizeof(as_mutex))
/* Failed takes in a row, on the same holder, before its liveness is read
 * (a /proc read: never on the hot path); doubled after every read that
 * found it alive, up to PM_SUSPECT_MAX (a thread polling a lock held for
 * long by a live process reads /proc ever more rarely). */
#define PM_SUSPECT_FAILS 8u
#define PM_SUSPECT_MAX 4096u

static inline as__ps *PS(const as_mutex *m) { return (as__ps *)(uintptr_t)m; }
static inline uint32_t lo(uint64_t v) { return (uint32_t)v; }
static inline uint32_t holder_of(uint64_t v)
{
    return (uint32_t)(v >> 32) & ~AS__PS_DEAD;
}

/* P11 */
static inline int pm_check(const as_mutex *m)
{
    return as__load(&PS(m)->layout, AS_ACQUIRE) == LAYOUT ? 0 : -EPROTO;
}

static inline bool pm_robust(as__ps *ps)
{
    return (as__load(&ps->flags, AS_RELAXED) & AS_MUTEX_ROBUST) != 0;
}

int as__mutex_ps_init(as_mutex *m, unsigned flags)
{
    /* flags checked by as_mutex_init (as__ps_flags_ok) */
    as__ps_init(PS(m), 1u /* free */, flags, AS__MAGIC_MUTEX);
    return 0;
}

int as__mutex_ps_destroy(as_mutex *m)
{
    int r = pm_check(m);
    return r < 0 ? r : as__ps_destroy(PS(m));
}

/* ---- OWNER_DEAD (10.2) ---- */

uint32_t as__mutex_ps_suspect(as__ps *ps)
{
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    uint32_t h = holder_of(v);
    if (!pm_robust(ps) || (lo(v) & PS_COUNT) != 0 || h == 0 || h == as__ps_me())
        return 0;
    return h;
}

bool as__mutex_ps_owner_dead_locked(as__ps *ps, uint32_t holder)
{
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    for (;;) {
        /* still held by that (dead) holder?  Nobody else writes a held
         * lock's state but its holder (PM1), and the dead write nothing */
        if ((lo(v) & PS_COUNT) != 0 || holder_of(v) != holder)
            return false;
        /* PM3: free, holder cleared, OWNER_DEAD: one CAS (a process killed
         * after it leaves a free lock that the recovery's grant hands on) */
        if (as__cas(&ps->state, &v, (uint64_t)(lo(v) + 1u) | PS_DEAD,
                    AS_ACQ_REL, AS_ACQUIRE))
            break;
    }
    return true;
}

/* A take failed on a robust mutex held by another process: count it, and
 * after PM_SUSPECT_FAILS in a row on the same holder, read its liveness;
 * dead: take the lock from it (PM3) and run the grant (the head slot gets
 * it).  Returns true when it did (the caller tries again). */
static _Thread_local struct {
    const as__ps *obj;
    uint32_t holder, fails, need;
} pm_sus;

static bool pm_suspect(as__ps *ps)
{
    uint32_t h = as__mutex_ps_suspect(ps);
    as__ps_wakes wk;
    bool done;
    if (h == 0)
        return false;
    if (pm_sus.obj != ps || pm_sus.holder != h) {
        pm_sus.obj = ps;
        pm_sus.holder = h;
        pm_sus.fails = 0;
        pm_sus.need = PM_SUSPECT_FAILS;
    }
    if (++pm_sus.fails < pm_sus.need)
        return false;
    pm_sus.fails = 0;
    if (as__ps_alive(h)) { /* P5: no lock held while /proc is read */
        if (pm_sus.need < PM_SUSPECT_MAX)
            pm_sus.need *= 2;
        return false;
    }
    as__ps_wakes_init(&wk);
    as__ps_lock_rec(ps, &wk);
    done = as__mutex_ps_owner_dead_locked(ps, h);
    if (done)
        as__ps_grant_locked(ps, &wk);
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    return done;
}

/* ---- lock ---- */

/* One take; on failure of a robust mutex, the suspicion count. */
static int pm_take(as__ps *ps)
{
    int r = as__ps_try_own(ps, as__ps_me());
    if (r == 0 && pm_robust(ps) && pm_suspect(ps))
        r = as__ps_try_own(ps, as__ps_me());
    return r;
}

int as__mutex_ps_try(as_mutex *m)
{
    as__ps *ps = PS(m);
    int r = pm_check(m);
    if (r < 0)
        return r;
    if (as__coh_take(ps)) /* held over by this thread's loop */
        return 1;
    if ((r = pm_take(ps)) != 0)
        return r == 2 ? -EOWNERDEAD : 1;
    return (as__load(&ps->flags, AS_RELAXED) & AS__P_CLOSED) ? as__ps_shut(ps) : 0;
}

int as__mutex_ps_lock(as_mutex *m, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg)
{
    as__ps *ps = PS(m);
    int r = pm_check(m);
    if (r < 0)
        return r;
    /* 11: refused before anything changes (as__ps_acquire checks it too) */
    if (!(loop->as__caps & AS_CAP_PSHARED) || !loop->as__ops->fwait)
        return -EOPNOTSUPP;
    /* a robust mutex held by another process: count the failure (and
     * after a few, read the holder's liveness) before the take */
    if (pm_robust(ps))
        (void)pm_suspect(ps);
    r = as__coh_lock(ps, loop, w, deadline, cb, arg);
    if (r != AS__COH_PASS)
        return r;
    return as__ps_acquire(ps, loop, w, 1, deadline, cb, arg);
}

int as__mutex_ps_blocking(as_mutex *m, uint64_t deadline)
{
    as__ps *ps = PS(m);
    int r = pm_check(m);
    if (r < 0)
        return r;
    if (as__coh_take(ps)) /* held over by this thread's loop */
        return 0;
    if ((r = pm_take(ps)) != 0)
        return r == 2 ? -EOWNERDEAD : 0;
    /* its futex timeouts are its health ticks: a dead robust holder is
     * found by ps_health there */
    return as__ps_blocking(ps, 1, deadline);
}

/* ---- unlock ---- */

/* Under the queue lock: free the lock (COUNT 0 -> 1, holder cleared: PM1)
 * and hand it to the head (the grant).  giveback: a wait cancelled after
 * its grant passes the lock on as it got it (OWNER_DEAD kept, no owner
 * check); otherwise an unlock with OWNER_DEAD set closes the mutex with
 * NOTRECOVERABLE first (PM3): no waiter is served, every one ends. */
static int pm_unlock_slow(as__ps *ps, uint32_t me, bool giveback)
{
    as__ps_wakes wk;
    uint64_t v;
    bool ovf = false;
    int r = 0;
    as__ps_wakes_init(&wk);
    as__ps_lock_rec(ps, &wk);
    v = as__load(&ps->state, AS_ACQUIRE);
    if ((lo(v) & PS_COUNT) != 0) {
        r = -EPERM; /* not locked */
    } else if (!giveback && pm_robust(ps) && holder_of(v) != me) {
        r = -EPERM; /* robust: another process holds it */
    } else {
        if (!giveback && (v & PS_DEAD))
            ovf = as__ps_close_locked(ps, &wk, AS__P_CLOSED | AS__P_NOTREC);
        for (;;) {
            uint64_t nv = (uint64_t)(lo(v) + 1u);
            if (giveback)
                nv |= v & PS_DEAD;
            if (as__cas(&ps->state, &v, nv, AS_ACQ_REL, AS_ACQUIRE))
                break;
        }
        /* a NOTRECOVERABLE close changed the slots: the whole grant */
        if (ovf || (!giveback && (v & PS_DEAD)))
            as__ps_grant_locked(ps, &wk);
        else
            as__ps_grant_some_locked(ps, &wk);
    }
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    if (ovf)
        (void)as__futex_wake_shared(&ps->ovf, true);
    return r;
}

int as__mutex_ps_unlock(as_mutex *m)
{
    int r = pm_check(m);
    if (r < 0)
        return r;
    /* on a loop's thread whose cohort holds it: kept in the loop */
    r = as__coh_unlock(PS(m));
    return r != AS__COH_PASS ? r : as__mutex_ps_unlock_word(PS(m));
}

int as__mutex_ps_unlock_word(as__ps *ps)
{
    uint32_t me;
    uint64_t v;
    me = as__ps_me();
    v = as__load(&ps->state, AS_RELAXED);
    for (;;) {
        if ((lo(v) & PS_COUNT) != 0)
            return -EPERM;
        if (holder_of(v) != me && pm_robust(ps))
            return -EPERM;
        if ((lo(v) & PS_HANDOFF) || (v & PS_DEAD))
            break;
        /* Lock-free while no slot waits (S2), or while a woken slot is on
         * its way (PM5): COUNT 0 -> 1 and the holder cleared in one CAS
         * (PM1); APPLIED kept (5.3). */
        if (as__cas(&ps->state, &v, (uint64_t)(lo(v) + 1u), AS_RELEASE,
                    AS_RELAXED))
            return 0;
    }
    return pm_unlock_slow(ps, me, false);
}

void as__mutex_ps_giveback(as__ps *ps)
{
    (void)pm_unlock_slow(ps, as__ps_me(), true);
}

int as__mutex_ps_consistent(as_mutex *m)
{
    as__ps *ps = PS(m);
    uint32_t me;
    uint64_t v;
    int r = pm_check(m);
    if (r < 0)
        return r;
    if (!pm_robust(ps))
        return -EINVAL;
    me = as__ps_me();
    v = as__load(&ps->state, AS_ACQUIRE);
    for (;;) {
        /* the holder only, and only while OWNER_DEAD is set */
        if ((lo(v) & PS_COUNT) != 0 || holder_of(v) != me || !(v & PS_DEAD))
            return -EPERM;
        if (as__cas(&ps->state, &v, v & ~PS_DEAD, AS_ACQ_REL, AS_ACQUIRE)) {
            as__coh_consistent(ps);
            return 0;
        }
    }
}

int as__mutex_ps_close(as_mutex *m)
{
    int r = pm_check(m);
    return r < 0 ? r : as__ps_close(PS(m));
}

int64_t as__mutex_ps_waiters(const as_mutex *m)
{
    int r = pm_check(m);
    return r < 0 ? r : as__ps_waiters(PS(m));
}
#else
typedef int as__mutex_ps_unused;
#endif
