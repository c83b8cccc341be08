/* Process-shared semaphore (AS_PSHARED): docs/pshared.md 3.3, 5, 6, 8;
 * and the core the process-shared mutex shares with it (3.4, mutex_ps.c).
 *
 * ONE CORE, TWO PRIMITIVES
 *   The slots, the queue lock and its recovery, the logged grant and
 *   reclaim, tickets, parking (fwait / futex(2)), fwake, the health tick,
 *   cancel, deadlines, close, overflow and destroy are written once, here.
 *   The object's magic picks the mode (as__ps_own): AS__MAGIC_SEM, a
 *   counting semaphore; AS__MAGIC_MUTEX, a *binary semaphore with owner*:
 *   COUNT is 1 (free) or 0 (held), every request is 1, and the state's
 *   high half names the holder.  The differences are confined to the
 *   places that move the permit, each a single CAS on the 64-bit state:
 *     - take (lock-free and in the registration): COUNT 1 -> 0 and
 *       high := me, keeping OWNER_DEAD (PM1 below);
 *     - the grant's commit: COUNT 1 -> 0 and high := the granted slot's
 *       `who` (its owner process), keeping OWNER_DEAD;
 *     - the reclaim of a grant made to a dead process: COUNT 0 -> 1 and
 *       high := OWNER_DEAD only;
 *     - unlock (mutex_ps.c): COUNT 0 -> 1 and high := 0 (or OWNER_DEAD
 *       for a lock given back by a wait cancelled after its grant);
 *     - a claim reports -EOWNERDEAD instead of 0 when OWNER_DEAD is set,
 *       and "closed" reads -ENOTRECOVERABLE once the mutex is unrecoverable.
 *   Invariants of the mutex mode (checked by tests/test_pshared.c's mutex
 *   rows):
 *   PM1 (who and that, together): COUNT == 0 <=> high & ~DEAD != 0: the
 *       lock is held exactly when the high half names a holder.  Every
 *       change of COUNT in mutex mode is one CAS that also writes the
 *       holder, so no state names a holder of a free lock or holds the lock
 *       for nobody, whichever instruction a process is killed at (P6).
 *   PM2 (mutual exclusion): COUNT never exceeds 1: unlock of a free mutex
 *       is -EPERM, and a reclaim or a release adds 1 only to a held lock.
 *   PM3 (OWNER_DEAD): set only by as__mutex_ps_owner_dead_locked, under the
 *       queue lock, for a holder found dead (P7), in the CAS that frees the
 *       lock; carried by every take and grant that follows; cleared only by
 *       the holder's as_mutex_consistent; an unlock with it set makes the
 *       mutex NOTRECOVERABLE (closed with -ENOTRECOVERABLE) in the same
 *       critical section that frees the lock.
 *

 * STATE (64-bit, offset 0 of the object)
 *   low half: COUNT (bits 0-28: a pshared semaphore holds at most
 *   AS_PSHARED_SEM_VALUE_MAX = 2^29 - 1), APPLIED (29: the intent log's
 *   operation is committed, 5.3), HANDOFF (30: newcomers may not take
 *   permits), WAITERS (31: slots are queued, or closed: the lock-free
 *   release fails into the slow path).  High half: 0 (the semaphore), the
 *   holder (the mutex, PM1).
 *
 * POLICY (6.3): the private one (sem.c, mutex.c), with the slots as the
 *   queue.  The queue is the slots WAITING, STARVING or PASSED, in ticket
 *   order; a WOKEN slot is out of it (its owner is on its way to retry) but keeps
 *   its ticket and req; `woken` is the sum of the WOKEN slots' req, kept
 *   in the header under the queue lock (a cache of the slots: every full
 *   grant re-derives it from its scan, so every recovery does; a release
 *   that frees nothing beyond it reads no slot, ps_grant_some_locked).
 *   The grant serves the head while it fits in COUNT - woken: a
 *   STARVING head (any head when strict) by the logged direct grant, a
 *   WAITING one by a wake to retry (WOKEN; the permits stay in COUNT where
 *   any process's newcomers may take them meanwhile).  The woken owner's
 *   arrival (ps_arrive_locked) takes them by a logged grant to its own
 *   slot, or goes back to the queue STARVING, at its old ticket, to be
 *   handed the permits directly next.  Strict (AS_SEM_STRICT_FIFO,
 *   AS_MUTEX_STRICT_FIFO, and every auto-reset event): nothing is ever
 *   WOKEN or STARVING.
 *   PASSED (a loop cohort's delegate only, cohort_ps.c K7; marked by
 *   as__ps_may_pass on a loop with a ring timer): its failed retry puts it
 *   back PASSED instead of STARVING, once per wait; the grant stops at a
 *   PASSED head (serves nothing behind it, wakes nothing), newcomers may
 *   take past it, and a mutex's unlock stays lock-free (PM5): while one
 *   process keeps using the lock, the other's delegate is not woken per
 *   release.  Its loop's timer (AS__PASS_NS after the failed retry, the
 *   wait's heap key, sem_ps_tick) ends the pass: ps_pass_end.  The busy
 *   hint: a retry that finds the lock free also goes back PASSED when
 *   other loops took the word AS__PS_BUSY times since the wake (`takes`:
 *   counted by the cohort's take, cohort_ps.c K7, zeroed by the grant's
 *   wake): they take it again between two of their takes, and the lock
 *   would move for one pass with two cross-process wakes.  Model:
 *   pshared.pml -DPASS_LOOPS (rows pshared.passed*; the hint a free
 *   choice at the arrival).
 *     WAITERS = closed, or the queue is not empty.
 *     HANDOFF = closed, or the queue is not empty and (strict, or the head
 *               is STARVING, or woken == 0 and the head is not PASSED).
 *   EF1 (no idle permits behind the queue): when the queue lock is free
 *       and the queue is not empty, the head does not fit in COUNT - woken,
 *       or it is PASSED (EF1'; then for at most AS__PASS_NS and its loop's
 *       iteration).
 *   EF2 (no lost wake): a WOKEN slot's owner arrives (the WOKEN store moved
 *       its word after it parked: P3; a granter killed before its wake is
 *       covered by the owner's tick), or dies (its slot is freed and the
 *       grant re-runs: the wake passes on).
 *   EF3 (bounded bypass): a newcomer passes a queued slot only while a slot
 *       ahead of it, or itself, is WOKEN; a slot is WOKEN at most once per
 *       wait (a failed retry makes it STARVING, which is only ever granted
 *       directly; or PASSED once, which its timer makes STARVING: EF3',
 *       newcomers also pass a PASSED head, for AS__PASS_NS).  Every change
 *       that ends a WOKEN slot's race without a take raises HANDOFF first
 *       (ps_hold_locked), and the arrival's take writes the new bits in
 *       its commit CAS: no window with the queue passable and nothing
 *       woken.
 *   EF4 (strict): no slot WOKEN or STARVING, HANDOFF == WAITERS.
 *   Model: tests/model/pshared.pml -DEVENTUAL.

 * WAITS
 *   A waiting task owns a slot (CAS who: 0 -> its participant id), joins
 *   the queue under the queue lock (ticket, request, the add_waiter_if CAS,
 *   then fw := WAITING) and parks on the slot word: an IORING_OP_FUTEX_WAIT
 *   on its own loop's ring (backend fwait, P8), or futex(2) for a blocking
 *   thread.  Everything another party does to it is a change of fw (state
 *   and sequence) followed by a wake of all (K2); the owner re-reads fw in
 *   its fwake (or after its futex(2) returns) and decides, under the lock.
 *   A task that finds no free slot parks on the overflow word (6.6).
 *
 * The as_wait (process-local) holds: as__home/as__obj the object at this
 * process's address, as__aux the slot index + 1 (bits 0-12) and the low 19
 * bits of the ticket (bits 13-31), or NULL while in overflow; as__status
 * (written only under the queue lock until the wait is DONE) the outcome a
 * canceller asked for.  The wait's state goes QUEUED -> DONE only under the
 * queue lock, so a canceller (any thread, under the lock) and the owner's
 * fwake never both decide it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pshared.h"

#ifdef AS__PS_SUPPORTED

#define PS_WAITERS AS__PS_WAITERS
#define PS_HANDOFF AS__PS_HANDOFF
#define PS_APPLIED AS__PS_APPLIED
#define PS_COUNT AS__PS_COUNT
#define PS_BITS ((uint64_t)(PS_WAITERS | PS_HANDOFF))
#define PS_DEAD ((uint64_t)AS__PS_DEAD << 32)
_Static_assert(AS__PS_COUNT == AS_PSHARED_SEM_VALUE_MAX, "pshared count");
_Static_assert(sizeof(as_mutex) == sizeof(as_sem) &&
               offsetof(as_mutex, as__magic) == offsetof(as_sem, as__magic) &&
               offsetof(as_mutex, as__flags) == offsetof(as_sem, as__flags),
               "the mutex shares the semaphore's shared layout");

/* 3.2: the header sits where the private layout has magic and flags. */
_Static_assert(offsetof(as__ps, magic) == offsetof(as_sem, as__magic),
               "pshared magic offset");
_Static_assert(offsetof(as__ps, flags) == offsetof(as_sem, as__flags),
               "pshared flags offset");
_Static_assert(sizeof(as_sem) >= sizeof(as__ps) + 2 * sizeof(as__ps_slot),
               "pshared in-struct slots");
_Static_assert(PS_COUNT < PS_APPLIED, "pshared count bits");
#if UINTPTR_MAX > 0xffffffffu
_Static_assert(sizeof(as_sem) == 96 && AS__PS_INSLOTS(sizeof(as_sem)) == 3,
               "LP64: 96 bytes, three slots in the struct");
_Static_assert(_Alignof(as_sem) >= 8, "the 64-bit state needs 8-byte alignment");
#endif

#define LAYOUT AS__PS_LAYOUT(sizeof(as_sem))

static inline as__ps *PS(const as_sem *s) { return (as__ps *)(uintptr_t)s; }
static inline uint32_t lo(uint64_t v) { return (uint32_t)v; }
static inline uint32_t hi(uint64_t v) { return (uint32_t)(v >> 32); }
static inline uint32_t nslots(as__ps *ps) { return as__ps_nslots(ps, sizeof(as_sem)); }

static const struct as__kind sem_ps_kind, mutex_ps_kind, event_ps_kind;
/* The waits' kind table follows the object's magic (the auto-reset event
 * is the counting mode with a cap of one, EA1 below). */
static inline const struct as__kind *ps_kind_of(as__ps *ps)
{
    uint32_t m = as__load(&ps->magic, AS_RELAXED);
    return m == AS__MAGIC_MUTEX   ? &mutex_ps_kind
           : m == AS__MAGIC_EVENT ? &event_ps_kind
                                  : &sem_ps_kind;
}
static inline bool ps_event(as__ps *ps)
{
    return as__load(&ps->magic, AS_RELAXED) == AS__MAGIC_EVENT;
}

/* EF4: the strict flags (AS_SEM_STRICT_FIFO == AS_MUTEX_STRICT_FIFO) and
 * the auto-reset event (one set serves the oldest waiter: EA1). */
_Static_assert(AS_SEM_STRICT_FIFO == AS_MUTEX_STRICT_FIFO, "strict flag");
static inline bool ps_strict(as__ps *ps)
{
    return (as__load(&ps->flags, AS_RELAXED) & AS_SEM_STRICT_FIFO) || ps_event(ps);
}

/* In the queue (6.3): WAITING, STARVING or PASSED. */
static inline bool ps_queued(uint32_t fw)
{
    return AS__PS_ST(fw) == AS__PS_WAITING || AS__PS_ST(fw) == AS__PS_STARVING ||
           AS__PS_ST(fw) == AS__PS_PASSED;
}

/* as_wait.as__flags of a loop wait here (above the tick's exponent, bits
 * 12-15): PASSED (6.3) only for a wait marked by as__ps_may_pass, and at
 * most once per wait. */
#define PS_F_MAYPASS 0x10000u
#define PS_F_PASSED 0x20000u

/* P11: every process checks the layout before it reads anything else. */
static inline int ps_check(const as_sem *s)
{
    return as__load(&PS(s)->layout, AS_ACQUIRE) == LAYOUT ? 0 : -EPROTO;
}

static inline bool ps_closed(as__ps *ps)
{
    return (as__load(&ps->flags, AS_RELAXED) & AS__P_CLOSED) != 0;
}

static inline void *ps_aux(uint32_t idx, uint32_t tk)
{
    return (void *)(uintptr_t)(((tk & 0x7ffffu) << 13) | (idx + 1u));
}
static inline uint32_t aux_idx(const as_wait *w)
{
    return ((uint32_t)(uintptr_t)w->as__aux & 0x1fffu) - 1u;
}
static inline uint32_t aux_tk(const as_wait *w)
{
    return ((uint32_t)(uintptr_t)w->as__aux >> 13) & 0x7ffffu;
}

/* ---- init, destroy ---- */

int as__sem_ps_init(as_sem *s, uint32_t permits, unsigned flags)
{
    as__ps *ps = PS(s);
    /* permits and flags checked by as_sem_init (as__ps_flags_ok) */
    as__ps_init(ps, permits, flags, AS__MAGIC_SEM);
    return 0;
}

/* Either mode (the mutex: state 1, free).  Flags checked by the caller. */
void as__ps_init(as__ps *ps, uint64_t state, unsigned flags, uint32_t magic)
{
    uint32_t k = (flags >> 16) & 0xfffu, n;
    /* init never reads the memory: every field is written; magic last
     * (P11), with release: a process that sees it sees the rest. */
    as__store(&ps->magic, 0u, AS_RELAXED);
    ps->state = state;
    ps->flags = flags;
    ps->layout = LAYOUT;
    ps->qlock = 0;
    ps->log = 0;
    ps->takes = 0;
    ps->tail = 0;
    ps->woken = 0;
    ps->ovf = 0;
    ps->novf = 0;
    ps->checked = 0;
    n = (uint32_t)AS__PS_INSLOTS(sizeof(as_sem)) + k;
    for (uint32_t i = 0; i < n; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        sl->fw = sl->who = sl->ticket = sl->req = 0;
    }
    as__store(&ps->magic, magic, AS_RELEASE);
}

/* ---- lock-free paths ---- */

/* One CAS: 1 acquired, 0 not now.  Keeps APPLIED and the high half (a
 * lock-free change of COUNT during a logged grant: 5.3). */
static inline int ps_try(as__ps *ps, uint32_t n)
{
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    while (!(lo(v) & PS_HANDOFF) && (lo(v) & PS_COUNT) >= n)
        if (as__cas(&ps->state, &v, v - n, AS_ACQUIRE, AS_RELAXED))
            return 1;
    return 0;
}

int as__sem_ps_try(as_sem *s, uint32_t n)
{
    int r = ps_check(s);
    if (r < 0)
        return r;
    if (n > AS_PSHARED_SEM_VALUE_MAX)
        return -EINVAL;
    if (ps_try(PS(s), n))
        return 1;
    return ps_closed(PS(s)) ? -ESHUTDOWN : 0;
}

#define ps_try_own as__ps_try_own

static int ps_release(as__ps *ps, uint32_t n, bool one);

/* Either mode, on a slow path: 1 taken, 2 taken with OWNER_DEAD, 0. */
static inline int ps_take(as__ps *ps, uint32_t n, bool own)
{
    return own ? ps_try_own(ps, as__ps_me()) : ps_try(ps, n);
}

/* ---- under the queue lock ---- */

/* The queue as the slots say (6.3): its head (the WAITING or STARVING
 * slot with the lowest ticket; UINT32_MAX: empty), how many are queued,
 * and `woken`, the req of the WOKEN slots.  P4: slots are served in
 * ticket order.  Queue lock held. */
typedef struct ps_q {
    uint32_t head, nq, woken;
    bool starving; /* the head is STARVING */
    bool passed;   /* the head is PASSED */
} ps_q;

static void ps_scan(as__ps *ps, uint32_t ns, ps_q *q)
{
    uint32_t bt = 0;
    q->head = UINT32_MAX;
    q->nq = q->woken = 0;
    q->starving = q->passed = false;
    for (uint32_t i = 0; i < ns; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        uint32_t fw = as__load(&sl->fw, AS_RELAXED), t;
        if (AS__PS_ST(fw) == AS__PS_WOKEN) {
            q->woken += sl->req;
            continue;
        }
        if (!ps_queued(fw))
            continue;
        q->nq++;
        t = sl->ticket;
        if (q->head == UINT32_MAX || (int32_t)(t - bt) < 0) {
            q->head = i;
            bt = t;
            q->starving = AS__PS_ST(fw) == AS__PS_STARVING;
            q->passed = AS__PS_ST(fw) == AS__PS_PASSED;
        }
    }
}

/* WAITERS and HANDOFF as the queue says (6.3; derived fields, 5.3).
 * HANDOFF: the head is STARVING, or nothing is woken and the head is not
 * PASSED (newcomers may pass a PASSED head: its timer bounds it). */
static uint64_t ps_bits_of(as__ps *ps, const ps_q *q)
{
    if (ps_closed(ps))
        return PS_BITS; /* S4 */
    if (q->nq == 0)
        return 0;
    return (ps_strict(ps) || q->starving || (q->woken == 0 && !q->passed))
               ? PS_BITS : PS_WAITERS;
}

static void ps_bits_locked(as__ps *ps, uint64_t want)
{
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    while ((v & PS_BITS) != want &&
           !as__cas(&ps->state, &v, (v & ~PS_BITS) | want, AS_RELEASE,
                    AS_RELAXED))
        ;
}

/* EF3: before a WOKEN slot leaves without a take (gave up, died), close
 * the queue to newcomers (HANDOFF, while anything is queued); the grant
 * that follows computes the bits exactly.  Queue lock held. */
static void ps_hold_locked(as__ps *ps)
{
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    while ((lo(v) & PS_WAITERS) && !(lo(v) & PS_HANDOFF) &&
           !as__cas(&ps->state, &v, v | PS_HANDOFF, AS_RELEASE, AS_RELAXED))
        ;
}

/* The logged commit of a grant to slot i (5.3) of its req:
 *   1. log := GRANT | i   2. CAS state: COUNT -= req, APPLIED := 1, and
 *   (bits >= 0) WAITERS|HANDOFF := bits (the arrival's take, EF3)
 *   3. slot[i].fw := GRANTED | seq+1   4. APPLIED := 0   5. log := 0.
 * False (nothing changed) when req does not fit in COUNT (a lock-free
 * take or forget moved it).  Queue lock held. */
static bool ps_commit_locked(as__ps *ps, uint32_t i, int64_t bits)
{
    as__ps_slot *sl = as__ps_slot_at(ps, i);
    uint32_t req = sl->req, fw;
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    bool own = as__ps_own(ps);
    if ((lo(v) & PS_COUNT) < req)
        return false;
    as__store(&ps->log, (uint16_t)((AS__PS_LOG_GRANT << 12) | i), AS_RELEASE); /* 1 */
    for (;;) { /* 2: the commit */
        uint64_t nv = (v - req) | PS_APPLIED;
        if ((lo(v) & PS_COUNT) < req) {
            as__store(&ps->log, (uint16_t)0, AS_RELEASE); /* no grant was made */
            return false;
        }
        if (bits >= 0)
            nv = (nv & ~PS_BITS) | (uint64_t)bits;
        /* mutex (PM1): the lock and its holder, the slot's owner process,
         * in the same CAS; OWNER_DEAD goes with the lock */
        if (own)
            nv = lo(nv) | (v & PS_DEAD) |
                 ((uint64_t)as__load(&sl->who, AS_RELAXED) << 32);
        if (as__cas(&ps->state, &v, nv, AS_ACQ_REL, AS_ACQUIRE))
            break;
    }
    fw = as__load(&sl->fw, AS_RELAXED);
    as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_GRANTED), AS_RELEASE); /* 3 */
    as__fetch_and(&ps->state, ~(uint64_t)PS_APPLIED, AS_RELEASE);   /* 4 */
    as__store(&ps->log, (uint16_t)0, AS_RELEASE);                             /* 5 */
    return true;
}

/* The grant (6.3): serve the queue from its head while the head fits in
 * COUNT - woken: a STARVING head, or any when strict, by the logged
 * commit (P1, conservation: the permits are in COUNT, or the slot's
 * (GRANTED), or, between steps 2 and 3, recorded by APPLIED + the log: a
 * holder killed anywhere in between leaves what ps_recover_locked
 * completes, P6); a WAITING head by a wake to retry (WOKEN: no permit
 * moves, one store).  Each served slot's word is woken after the unlock
 * (K2).  Then the bits.  EF1 holds when it returns.  Queue lock held. */
static void ps_grant_locked(as__ps *ps, as__ps_wakes *wk)
{
    uint32_t ns = nslots(ps);
    bool strict = ps_strict(ps);
    ps_q q;
    for (;;) {
        uint64_t v, want;
        ps_scan(ps, ns, &q);
        v = as__load(&ps->state, AS_ACQUIRE);
        /* EF1': the grant stops at a PASSED head (its timer serves it) */
        if (q.head != UINT32_MAX && !q.passed &&
            (lo(v) & PS_COUNT) >= q.woken + as__ps_slot_at(ps, q.head)->req) {
            as__ps_slot *sl = as__ps_slot_at(ps, q.head);
            if (strict || q.starving) {
                if (!ps_commit_locked(ps, q.head, -1))
                    continue; /* a lock-free take or forget came first */
            } else {
                uint32_t fw = as__load(&sl->fw, AS_RELAXED);
                as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_WOKEN), AS_RELEASE);
                as__store(&ps->takes, (uint16_t)0, AS_RELAXED); /* the busy hint */
            }
            as__ps_wakes_add(wk, q.head);
            continue;
        }
        /* Nothing (more) to serve: the bits, committed only from the value
         * the decision read (a failed CAS decides again).  While HANDOFF
         * is clear a mutex's unlock may free the lock lock-free (PM5,
         * mutex_ps.c); HANDOFF raised on a value it moved would close the
         * queue over a head that now fits, with nobody to serve it.  (Today
         * the grant wants HANDOFF only where the bits have it already, 6.3:
         * every change to "nothing woken" or "head STARVING" raises it
         * first; this keeps the grant right without that argument: a trial
         * of PASSED slots, whose timer turns the head STARVING, hung
         * bench_pshared on exactly this.) */
        as__store(&ps->woken, q.woken, AS_RELAXED); /* re-derived (5.4) */
        want = ps_bits_of(ps, &q);
        if ((v & PS_BITS) == want ||
            as__cas(&ps->state, &v, (v & ~PS_BITS) | want, AS_RELEASE,
                    AS_RELAXED))
            break;
    }
}

/* After a change that only raised COUNT (a release, an unlock) or took a
 * woken slot's permits (its arrival): the queue and the bits are as the
 * last critical section left them (exact), so when not even one permit is
 * free beyond those promised to woken slots (every queued req is >= 1)
 * there is nothing to serve and no slot to read: the common case of an
 * unlock while a woken waiter is on its way.  Else the grant.  Queue lock
 * held. */
static void ps_grant_some_locked(as__ps *ps, as__ps_wakes *wk)
{
    uint32_t count = lo(as__load(&ps->state, AS_ACQUIRE)) & PS_COUNT;
    if (count > as__load(&ps->woken, AS_RELAXED))
        ps_grant_locked(ps, wk);
}

/* The ids of dead slot owners (at most PS_DEAD_MAX per pass), found with
 * no lock held: P5, the liveness check reads /proc (system calls) and
 * stays out of the critical section.  A dead process never allocates
 * again and its id is not reused (start-time tag), so a slot that still
 * names a dead id under the lock is the dead one's. */
#define PS_DEAD_MAX 8
typedef struct ps_dead {
    uint32_t id[PS_DEAD_MAX];
    uint32_t n;
} ps_dead;

static void ps_find_dead(as__ps *ps, ps_dead *d)
{
    uint32_t ns = nslots(ps), me = as__ps_me();
    uint32_t alive[8], nalive = 0;
    d->n = 0;
    for (uint32_t i = 0; i < ns && d->n < PS_DEAD_MAX; i++) {
        uint32_t who = as__load(&as__ps_slot_at(ps, i)->who, AS_ACQUIRE), k;
        if (who == 0 || who == me)
            continue;
        for (k = 0; k < nalive && alive[k] != who; k++)
            ;
        if (k < nalive)
            continue;
        for (k = 0; k < d->n && d->id[k] != who; k++)
            ;
        if (k < d->n)
            continue;
        /* P7: one /proc read per process per pass */
        if (as__ps_alive(who)) {
            if (nalive < 8)
                alive[nalive++] = who;
        } else {
            d->id[d->n++] = who;
        }
    }
}

static bool ps_is_dead(const ps_dead *d, uint32_t who)
{
    for (uint32_t k = 0; k < d->n; k++)
        if (d->id[k] == who)
            return true;
    return false;
}

/* Mutex mode: does state v name `who` as the holder of the lock (held,
 * PM1)?  A grant made to a slot names the slot's owner process. */
static inline bool ps_holds(uint64_t v, uint32_t who)
{
    return (lo(v) & PS_COUNT) == 0 && ((uint32_t)(v >> 32) & ~AS__PS_DEAD) == who;
}

/* Death of waiters (9.2), under the queue lock: every slot owned by an id
 * of `d` (found dead: P7, never a live process's, never this process's) is
 * freed, and what it held comes back:
 *   FREE with who set (died allocating), WAITING, WOKEN, STARVING,
 *     CANCELLED, CLOSED: its place only: fw := FREE | seq+1, who := 0;
 *   GRANTED: the permits of the grant: the logged RECLAIM (5.3):
 *     1. log := RECLAIM | i   2. CAS state: COUNT += req, APPLIED := 1
 *     3. fw := FREE | seq+1   4. APPLIED := 0   5. log := 0; then who := 0;
 *     a mutex's only while the state still names the dead grantee as the
 *     holder (PM2): the owner-death repair of a robust mutex may have
 *     taken the lock back from it first, then only the slot goes.
 * P1: a grant made to a process that died before it claimed is not lost.
 * The caller runs the grant afterwards.  Returns true when a slot was
 * freed (the overflow is kicked after the unlock). */
static bool ps_reclaim_locked(as__ps *ps, const ps_dead *d)
{
    uint32_t ns = nslots(ps);
    bool own = as__ps_own(ps);
    bool freed = false;
    if (d->n == 0)
        return false;
    ps_hold_locked(ps); /* EF3: a dead WOKEN slot may go */
    for (uint32_t i = 0; i < ns; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        uint32_t who = as__load(&sl->who, AS_ACQUIRE), fw;
        if (who == 0 || !ps_is_dead(d, who))
            continue;
        fw = as__load(&sl->fw, AS_ACQUIRE);
        if (AS__PS_ST(fw) == AS__PS_GRANTED && own &&
            !ps_holds(as__load(&ps->state, AS_ACQUIRE), who)) {
            /* PM2: the lock granted to the dead was already taken back
             * by the owner-death repair (a robust mutex whose holder,
             * this grantee, was found dead first: pm_suspect, a
             * recovery) and maybe handed on: freeing it again would make
             * COUNT 2 or free a live owner's lock (pshared.pml
             * FINDING_ROB_DEAD_GRANTEE).  Only the slot goes. */
            as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_FREE), AS_RELEASE);
        } else if (AS__PS_ST(fw) == AS__PS_GRANTED) {
            uint64_t v = as__load(&ps->state, AS_ACQUIRE);
            uint32_t req = sl->req;
            as__store(&ps->log, (uint16_t)((AS__PS_LOG_RECLAIM << 12) | i), AS_RELEASE); /* 1 */
            /* mutex (PM1, PM2): the lock granted to the dead is freed and
             * its holder cleared together; OWNER_DEAD stays (it came from
             * an earlier holder: the dead grantee never touched the data) */
            while (!as__cas(&ps->state, &v,
                            own ? (lo(v + req) | PS_APPLIED) | (v & PS_DEAD)
                                : (v + req) | PS_APPLIED,
                            AS_ACQ_REL, AS_ACQUIRE)) /* 2 */
                ;
            as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_FREE), AS_RELEASE); /* 3 */
            as__fetch_and(&ps->state, ~(uint64_t)PS_APPLIED, AS_RELEASE);  /* 4 */
            as__store(&ps->log, (uint16_t)0, AS_RELEASE);                            /* 5 */
        } else if (AS__PS_ST(fw) != AS__PS_FREE) {
            as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_FREE), AS_RELEASE);
        }
        as__store(&sl->who, 0u, AS_SEQ_CST);
        freed = true;
    }
    return freed;
}

/* Recovery (5.4), by whoever took the lock over from a dead holder:
 * (1) finish or roll back its logged operation (P6): APPLIED set -> the
 * commit (step 2) happened: GRANT: the slot gets its grant; RECLAIM: the
 * slot is freed.  APPLIED clear -> the operation was completed or never
 * committed: nothing to undo; (2) reclaim the slots of dead owners (9.2);
 * (3, 4) the derived bits are recomputed and the grant runs again (S1: the
 * dead holder may have been a releaser). */
static bool ps_recover_locked(as__ps *ps, as__ps_wakes *wk)
{
    uint32_t log = (uint32_t)as__load(&ps->log, AS_ACQUIRE);
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    ps_dead d;
    bool freed;
    if (log != 0 && AS__PS_LOG_SLOT(log) < nslots(ps) && (lo(v) & PS_APPLIED)) {
        as__ps_slot *sl = as__ps_slot_at(ps, AS__PS_LOG_SLOT(log));
        uint32_t fw = as__load(&sl->fw, AS_RELAXED);
        if (AS__PS_LOG_OP(log) == AS__PS_LOG_GRANT &&
            AS__PS_ST(fw) != AS__PS_GRANTED) {
            as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_GRANTED), AS_RELEASE);
            as__ps_wakes_add(wk, AS__PS_LOG_SLOT(log));
        } else if (AS__PS_LOG_OP(log) == AS__PS_LOG_RECLAIM &&
                   AS__PS_ST(fw) != AS__PS_FREE) {
            as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_FREE), AS_RELEASE);
        }
    }
    if (lo(v) & PS_APPLIED)
        as__fetch_and(&ps->state, ~(uint64_t)PS_APPLIED, AS_RELEASE);
    as__store(&ps->log, (uint16_t)0, AS_RELEASE);
    /* The one place liveness is read under the lock: a holder just died
     * (rare), and its death may be one of many (a machine-wide kill). */
    ps_find_dead(ps, &d);
    freed = ps_reclaim_locked(ps, &d);
    if (as__ps_own(ps)) {
        /* 10.2: a robust mutex's holder may be among the dead */
        uint32_t h = as__mutex_ps_suspect(ps);
        if (h != 0 && !as__ps_alive(h))
            (void)as__mutex_ps_owner_dead_locked(ps, h);
    }
    ps_grant_locked(ps, wk);
    if (freed && as__load(&ps->novf, AS_SEQ_CST) != 0) {
        as__fetch_add(&ps->ovf, 1u, AS_SEQ_CST); /* 6.6, woken after */
        wk->ovf = true;
    }
    return freed;
}

static void ps_lock(as__ps *ps, as__ps_wakes *wk)
{
    if (as__ps_lock(ps))
        (void)ps_recover_locked(ps, wk);
}

void as__ps_lock_rec(as__ps *ps, as__ps_wakes *wk) { ps_lock(ps, wk); }
void as__ps_grant_locked(as__ps *ps, as__ps_wakes *wk) { ps_grant_locked(ps, wk); }
void as__ps_grant_some_locked(as__ps *ps, as__ps_wakes *wk) { ps_grant_some_locked(ps, wk); }

/* The health check (9.1): at most once per tick interval for the whole
 * object (`checked`, any process): find dead slot owners with no lock held
 * (P5), and only if there are (or the lock's holder is dead): under the
 * lock, reclaim what they hold and run the grant; after it, wake what it
 * served.  A healthy object costs reads of its slots and one /proc read
 * per live owner process. */
static void ps_health(as__ps *ps)
{
    uint32_t now = (uint32_t)(as__now_coarse_ns() / 1000000u);
    uint32_t c = as__load(&ps->checked, AS_RELAXED);
    as__ps_wakes wk;
    ps_dead d;
    uint32_t holder = 0;
    bool freed;
    if (now - c < (uint32_t)(as__ps_tick_ns() / 1000000u) ||
        !as__cas(&ps->checked, &c, now, AS_RELAXED, AS_RELAXED))
        return;
    ps_find_dead(ps, &d);
    /* 10.2: the holder of a robust mutex, dead (read with no lock held,
     * P5; a dead id is never alive again, so it stays dead under it) */
    if (as__ps_own(ps)) {
        holder = as__mutex_ps_suspect(ps);
        if (holder != 0 && as__ps_alive(holder))
            holder = 0;
    }
    if (d.n == 0 && holder == 0) {
        /* A holder of the lock that died (in the middle of a grant: the
         * waiters only wait, nobody else may ever need the lock): taking
         * the lock takes it over and recovers (5.2, 5.4). */
        uint32_t h = as__load(&ps->qlock, AS_RELAXED) & ~AS__PS_CONTENDED;
        if (h == 0 || h == as__ps_me() || as__ps_alive(h))
            return;
    }
    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    freed = ps_reclaim_locked(ps, &d);
    if (holder != 0)
        (void)as__mutex_ps_owner_dead_locked(ps, holder);
    ps_grant_locked(ps, &wk);
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    if (freed)
        as__ps_ovf_kick(ps);
}

int as__sem_ps_destroy(as_sem *s)
{
    int r = ps_check(s);
    return r < 0 ? r : as__ps_destroy(PS(s));
}

/* -EBUSY while a wait is pending or a mutex is held; a dead process's
 * slots are not pending waits: they are reclaimed first (9.2; liveness
 * read with no lock held, P5), so that a process killed with a wait woken
 * to retry (whose permits are back in COUNT: nothing else would look at
 * its slot again) does not keep the object from being destroyed. */
int as__ps_destroy(as__ps *ps)
{
    as__ps_wakes wk;
    ps_dead d;
    uint32_t n;
    int r = 0;
    ps_find_dead(ps, &d);
    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    if (ps_reclaim_locked(ps, &d))
        ps_grant_locked(ps, &wk);
    n = nslots(ps);
    if (as__load(&ps->novf, AS_RELAXED) != 0)
        r = -EBUSY;
    /* a held mutex is busy (COUNT 0: PM1) */
    if (as__ps_own(ps) && (lo(as__load(&ps->state, AS_ACQUIRE)) & PS_COUNT) == 0)
        r = -EBUSY;
    for (uint32_t i = 0; i < n && r == 0; i++)
        if (as__load(&as__ps_slot_at(ps, i)->who, AS_RELAXED) != 0)
            r = -EBUSY;
    if (r == 0)
        as__store(&ps->magic, 0u, AS_RELEASE);
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    return r;
}

/* Free slot sl (its owner's kernel wait is gone: P2, P8).  who last, with
 * seq_cst (6.6: ordered before the overflow check of as__ps_ovf_kick). */
static void ps_slot_free_locked(as__ps_slot *sl)
{
    uint32_t fw = as__load(&sl->fw, AS_RELAXED);
    if (AS__PS_ST(fw) != AS__PS_FREE)
        as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_FREE), AS_RELEASE);
    as__store(&sl->who, 0u, AS_SEQ_CST);
}

/* Slot i is ours (who == me): join the queue (6.1 step 4).  1: the
 * permits were free after all (the add_waiter_if CAS failed into a take;
 * slot freed, the ticket never used); 2: the same, a mutex with
 * OWNER_DEAD (taken: -EOWNERDEAD); 0: queued, *fwv = the slot word's
 * value to park with (P3); -ESHUTDOWN / -ETIMEDOUT / a cancel's status:
 * refused (slot freed).  Queue lock held. */
static int ps_register_locked(as__ps *ps, uint32_t i, uint32_t n,
                              uint64_t deadline, as_wait *w, uint32_t *tk,
                              uint32_t *fwv)
{
    as__ps_slot *sl = as__ps_slot_at(ps, i);
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    uint32_t fw, t;
    bool own = as__ps_own(ps), strict = ps_strict(ps);
    for (;;) {
        int st = w ? as__load(&w->as__status, AS_RELAXED) : 0;
        if (!(lo(v) & PS_HANDOFF) && (lo(v) & PS_COUNT) >= n) {
            /* mutex: the take of PM1 (the holder is this process) */
            uint64_t nv =
                own ? (v - 1) | ((uint64_t)as__load(&sl->who, AS_RELAXED) << 32)
                    : v - n;
            if (as__cas(&ps->state, &v, nv, AS_ACQUIRE, AS_RELAXED)) {
                ps_slot_free_locked(sl);
                return (v & PS_DEAD) ? 2 : 1;
            }
            continue;
        }
        if (st != 0 || ps_closed(ps) || as__deadline_passed(deadline)) {
            ps_slot_free_locked(sl);
            return st != 0 ? st : ps_closed(ps) ? as__ps_shut(ps) : -ETIMEDOUT;
        }
        /* add_waiter_if (P4, S1): WAITERS|HANDOFF are set only from a value
         * in which n does not fit (or HANDOFF was set: then the head does
         * not fit either), so no waiter queues with its permits free (model
         * BUG_PARK_NO_RECHECK).  6.3: joining a queue that is not empty
         * changes no bit (not the head); an empty one makes this slot the
         * head: HANDOFF unless a WOKEN slot is racing. */
        if (as__cas(&ps->state, &v,
                    (lo(v) & PS_WAITERS)
                        ? v
                        : v | (strict || as__load(&ps->woken, AS_RELAXED) == 0
                                   ? PS_BITS : (uint64_t)PS_WAITERS),
                    AS_RELAXED, AS_RELAXED))
            break;
    }
    t = ps->tail;
    as__store(&ps->tail, t + 1u, AS_RELAXED);
    sl->ticket = t;
    sl->req = n;
    /* The slot joins the queue at this store (5.3); P3: the owner parks
     * with this value as `expected`, and every change by another party
     * moves the sequence. */
    fw = AS__PS_NEXT(as__load(&sl->fw, AS_RELAXED), AS__PS_WAITING);
    as__store(&sl->fw, fw, AS_RELEASE);
    *tk = t;
    *fwv = fw;
    return 0;
}

/* A queued slot (WAITING, STARVING or PASSED) leaves the queue without
 * its permits (cancel, deadline, a kernel error): CANCELLED, and the grant
 * runs again (S3: it may have been the head that kept the ones behind it
 * waiting). */
static void ps_leave_locked(as__ps *ps, as__ps_slot *sl, as__ps_wakes *wk)
{
    uint32_t fw = as__load(&sl->fw, AS_RELAXED);
    /* EF3': a PASSED head leaves HANDOFF clear with the lock perhaps free
     * (the busy hint); closed first, or a newcomer passes the WAITING slot
     * behind it before the grant has woken it (as ps_reclaim_locked) */
    if (AS__PS_ST(fw) == AS__PS_PASSED)
        ps_hold_locked(ps);
    as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_CANCELLED), AS_RELEASE);
    ps_grant_locked(ps, wk);
}

/* The bits once WOKEN slot i rejoins the queue at its ticket, STARVING or
 * (passed) PASSED: the head is the queue's head ahead of it, if any (a
 * slot queued behind it is WAITING), else i itself.  Queue lock held. */
static uint64_t ps_rejoin_bits(as__ps *ps, uint32_t i, bool passed)
{
    ps_q q;
    bool ahead;
    ps_scan(ps, nslots(ps), &q);
    ahead = q.head != UINT32_MAX &&
            (int32_t)(as__ps_slot_at(ps, q.head)->ticket -
                      as__ps_slot_at(ps, i)->ticket) < 0;
    if (ahead ? q.starving : !passed)
        return PS_BITS;
    return PS_WAITERS;
}

/* The arrival of a WOKEN slot i's owner (6.3; its fwake, or a blocking
 * thread after its futex(2) returned), status: what a cancel or deadline
 * asked (0: nothing).  Returns
 *   1: the permits (the mutex) are its own: the slot is GRANTED (the
 *      logged commit, whose CAS wrote the bits as they are with the slot
 *      gone: EF3), to be claimed as any grant (6.5);
 *   0: they did not fit: back in the queue STARVING at its old ticket
 *      (*fwv: the value to park on, P3): the next grant that makes it fit
 *      hands them over directly; or, `may_pass` (a cohort's delegate not
 *      PASSED before in this wait, on a loop with a ring timer), PASSED at
 *      its old ticket: the grant stops at it and newcomers may take past
 *      it (no wake per release while another process keeps using the
 *      lock) until its loop's timer makes it STARVING (ps_pass_end;
 *      pshared.pml -DPASS_LOOPS, arrival 3').  `may_pass` and busy (the
 *      hint ps->takes: other loops took the word AS__PS_BUSY times since
 *      the wake): PASSED even if they fit (the lock is free only between
 *      two of those takes: a take now would move it to this process for
 *      one pass and back with two cross-process wakes, and the next wake
 *      finds the same; the model's free choice at 3');
 *   < 0: it gave up with that status (cancelled, past its deadline,
 *      closed): HANDOFF is raised before the slot is freed (a newcomer
 *      must not pass the queue with nothing woken in between: pshared.pml
 *      BUG_EF_FREE_THEN_BITS), then the grant runs (the wake passes on,
 *      EF2).
 * Queue lock held. */
static int ps_arrive_locked(as__ps *ps, uint32_t i, int status, bool may_pass,
                            as__ps_wakes *wk, uint32_t *fwv)
{
    as__ps_slot *sl = as__ps_slot_at(ps, i);
    uint32_t req = sl->req, fw, woken = as__load(&ps->woken, AS_RELAXED);
    uint64_t v;
    /* the busy hint: other loops kept taking the lock since the wake (a
     * hint, raced by design: a wrong value only moves a pass) */
    bool busy = may_pass && as__load(&ps->takes, AS_RELAXED) >= AS__PS_BUSY;
    /* the slot leaves the woken (a cache: a wrong value is re-derived by
     * the next full grant, 5.4) */
    woken = woken >= req ? woken - req : 0;
    if (status == 0 && ps_closed(ps))
        status = as__ps_shut(ps);
    if (status != 0) {
        ps_hold_locked(ps); /* EF3 */
        as__store(&ps->woken, woken, AS_RELAXED);
        ps_slot_free_locked(sl);
        ps_grant_locked(ps, wk);
        return status;
    }
    v = as__load(&ps->state, AS_ACQUIRE);
    for (;;) {
        if ((lo(v) & PS_COUNT) >= req && !busy) {
            /* The bits once the slot has left: the queue (not this slot:
             * it is WOKEN) is as WAITERS says; HANDOFF stays if its head
             * is STARVING (nothing else sets it while a slot is WOKEN,
             * 6.3), and is raised if no woken slot is left. */
            uint64_t bits = lo(v) & PS_BITS;
            if ((bits & PS_WAITERS) && woken == 0 && !(bits & PS_HANDOFF)) {
                /* ... unless the head is PASSED (the bits rule; pshared.pml
                 * SPEC_TAKE_BITS): the queue's head, read now */
                ps_q q;
                ps_scan(ps, nslots(ps), &q);
                bits = q.nq != 0 && q.passed ? (uint64_t)PS_WAITERS : PS_BITS;
            }
            if (ps_commit_locked(ps, i, (int64_t)bits)) {
                as__store(&ps->woken, woken, AS_RELAXED);
                ps_grant_some_locked(ps, wk); /* the slots behind (EF1) */
                return 1;
            }
            v = as__load(&ps->state, AS_ACQUIRE);
            continue;
        }
        /* add_waiter_if again: the bits only from a value in which req
         * still does not fit (else the take above), or, busy, from any.  It is ahead of every
         * WAITING slot (slots are woken from the head), so it is the head
         * or behind another STARVING or PASSED one.  STARVING: HANDOFF
         * unless the head is a PASSED one ahead.  PASSED: HANDOFF only if
         * the head is a STARVING one ahead. */
        if (as__cas(&ps->state, &v, (v & ~PS_BITS) | ps_rejoin_bits(ps, i, may_pass),
                    AS_RELAXED, AS_RELAXED))
            break;
    }
    as__store(&ps->woken, woken, AS_RELAXED);
    fw = as__load(&sl->fw, AS_RELAXED);
    *fwv = AS__PS_NEXT(fw, may_pass ? AS__PS_PASSED : AS__PS_STARVING);
    as__store(&sl->fw, *fwv, AS_RELEASE);
    /* EF1: with two slots WOKEN, the share this one leaves may make a
     * smaller STARVING head ahead of it fit (pshared.pml
     * BUG_EF_STARVE_NO_GRANT) */
    ps_grant_some_locked(ps, wk);
    return 0;
}

/* The wait's outcome, under the queue lock (the canceller decides under it
 * too: one of them wins). */
static void ps_decide_locked(as_wait *w, int status)
{
    as__store(&w->as__status, status, AS_RELAXED);
    as__store(&w->as__state, AS__W_DONE, AS_RELEASE);
}

/* ---- acquire ---- */

/* A wait whose slot was taken from under it (P2: impossible unless a
 * liveness check lied) ends with nothing: the semaphore says -EOWNERDEAD
 * (3.2); the mutex says -EIO, since its -EOWNERDEAD means "locked". */
static inline int ps_lost(bool own) { return own ? -EIO : -EOWNERDEAD; }

/* Where a wait parks next: a slot word or the overflow word. */
typedef struct ps_park {
    uint32_t *word;
    uint32_t expected;
} ps_park;

/* Find a slot and queue in it, or count in overflow (6.6).  w: the loop
 * wait (NULL: a blocking thread).  *counted: in novf already (in and out).
 * Returns 1 (permits taken), 2 (a mutex taken with OWNER_DEAD), 0
 * (parked: *pk; w->as__aux set, NULL in overflow, *counted true), or a negative errno (nothing queued; not
 * counted).  No lock held on entry or exit. */
static int ps_enter(as__ps *ps, as_wait *w, uint32_t n, uint64_t deadline,
                    bool *counted, ps_park *pk, uint32_t *slot_out)
{
    uint32_t me = as__ps_me(), ns = nslots(ps);
    for (;;) {
        uint32_t v = as__load(&ps->ovf, AS_SEQ_CST); /* before the scan */
        uint32_t i = as__ps_slot_alloc(ps, ns, me), tk = 0, fwv = 0;
        as__ps_wakes wk;
        int r;
        if (i != UINT32_MAX) {
            if (*counted) {
                as__fetch_sub(&ps->novf, 1u, AS_SEQ_CST);
                *counted = false;
            }
            as__ps_wakes_init(&wk);
            ps_lock(ps, &wk);
            r = ps_register_locked(ps, i, n, deadline, w, &tk, &fwv);
            if (r == 0 && w)
                w->as__aux = ps_aux(i, tk);
            as__ps_unlock(ps);
            as__ps_wakes_run(ps, &wk);
            if (r != 0) {
                as__ps_ovf_kick(ps); /* the slot we freed */
                return r;
            }
            pk->word = &as__ps_slot_at(ps, i)->fw;
            pk->expected = fwv;
            *slot_out = i;
            return 0;
        }
        if (*counted) {
            /* 6.6: counted before v was read, so a slot freed after our
             * scan moves ovf past v.  A cancel sets the status, then moves
             * ovf (seq_cst): read it after v. */
            int st = w ? as__load(&w->as__status, AS_RELAXED) : 0;
            if (st == 0 && ps_closed(ps))
                st = as__ps_shut(ps);
            if (st == 0 && as__deadline_passed(deadline))
                st = -ETIMEDOUT;
            if (st != 0) {
                as__fetch_sub(&ps->novf, 1u, AS_SEQ_CST);
                *counted = false;
                return st;
            }
            if (w)
                w->as__aux = NULL;
            pk->word = &ps->ovf;
            pk->expected = v;
            *slot_out = UINT32_MAX;
            return 0;
        }
        if (ps_closed(ps))
            return as__ps_shut(ps);
        if (as__deadline_passed(deadline))
            return -ETIMEDOUT;
        as__fetch_add(&ps->novf, 1u, AS_SEQ_CST);
        *counted = true;
        /* No hang (6.6): permits may have become free meanwhile. */
        if ((r = ps_take(ps, n, as__ps_own(ps))) != 0) {
            as__fetch_sub(&ps->novf, 1u, AS_SEQ_CST);
            *counted = false;
            return r;
        }
    }
}

int as__sem_ps_acquire(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                       uint64_t deadline, as_callback cb, void *arg)
{
    int r = ps_check(s);
    if (r < 0)
        return r;
    if (n > AS_PSHARED_SEM_VALUE_MAX)
        return -EINVAL;
    return as__ps_acquire(PS(s), loop, w, n, deadline, cb, arg);
}

/* Either mode: 1 (taken at once), 0 (parked), -EOWNERDEAD (a mutex taken
 * at once with OWNER_DEAD: held), or a negative errno. */
/* as__ps_acquire past a failed take: register (a slot, or the overflow)
 * and park; out of line, so that a take at once runs without its frame.
 * 0 (parked), or ps_enter's 1 / 2 (taken meanwhile) or negative errno. */
static AS__NOINLINE int ps_acquire_park(as__ps *ps, as_loop *loop, as_wait *w,
                                        uint32_t n, uint64_t deadline,
                                        as_callback cb, void *arg)
{
    bool counted = false;
    ps_park pk;
    uint32_t slot;
    int r;
    as__wait_prepare(w, loop, ps_kind_of(ps), cb, arg, ps);
    w->as__n = n;
    r = ps_enter(ps, w, n, deadline, &counted, &pk, &slot);
    if (r == 0) {
        /* 9.1: the heap holds the earlier of the user's deadline and the
         * health tick; the user's is as__until. */
        uint64_t tick = as_now_ns() + as__ps_tick_ns();
        as__store(&w->as__state, AS__W_QUEUED, AS_RELEASE);
        as__wait_parked_at(w, deadline, deadline < tick ? deadline : tick);
        /* P3: parked with the value read after the registration; a grant
         * or cancel meanwhile changed it: the kernel refuses the wait
         * (-EAGAIN) and fwake reads the news. */
        (void)as__loop_fwait(w, pk.word, pk.expected);
    }
    return r;
}

int as__ps_acquire(as__ps *ps, as_loop *loop, as_wait *w, uint32_t n,
                   uint64_t deadline, as_callback cb, void *arg)
{
    int r;
    /* 11: a loop that cannot park on a shared word (generic, notify, a
     * uring loop with the capability disabled) is refused before anything
     * changes, also when permits are free: the answer does not depend on
     * contention. */
    if (!(loop->as__caps & AS_CAP_PSHARED) || !loop->as__ops->fwait)
        return -EOPNOTSUPP;
    if ((r = ps_take(ps, n, as__ps_own(ps))) == 0 &&
        (r = ps_acquire_park(ps, loop, w, n, deadline, cb, arg)) == 0)
        return 0;
    if ((r == 1 || r == 2) && as__loop_always_cb(loop))
        return as__wait_inline(w, loop, ps_kind_of(ps), cb, arg, ps, n,
                               r == 2 ? -EOWNERDEAD : 0);
    return r == 2 ? -EOWNERDEAD : r;
}

/* kind->fwake: the wait's kernel wait completed (or, res -EAGAIN, could
 * not be armed): re-read the slot and decide, or park again.  The wait's
 * loop thread. */
static void sem_ps_fwake(as_wait *w, int res)
{
    as_sem *s = (as_sem *)w->as__home;
    as__ps *ps = PS(s);
    as__ps_wakes wk;
    uint32_t n = w->as__n, fw, idx, me = as__ps_me();
    bool kick = false, giveback = false, own = as__ps_own(ps);
    ps_park pk;
    as__ps_slot *sl;
    int status;

    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    status = as__load(&w->as__status, AS_RELAXED);
    if (!w->as__aux) {
        /* In overflow (6.6): cancelled, closed, permits free, a slot
         * free?  Still counted in novf. */
        uint32_t v, tk = 0, fwv = 0;
        int r, tr = 0;
        if (status == 0 && ps_closed(ps))
            status = as__ps_shut(ps);
        if (status == 0 && (tr = ps_take(ps, n, own)) == 0) {
            v = as__load(&ps->ovf, AS_SEQ_CST); /* before the scan */
            idx = as__ps_slot_alloc(ps, nslots(ps), me);
            if (idx == UINT32_MAX) {
                pk.word = &ps->ovf;
                pk.expected = v;
                goto park;
            }
            as__fetch_sub(&ps->novf, 1u, AS_SEQ_CST);
            r = ps_register_locked(ps, idx, n, AS_NO_DEADLINE, w, &tk, &fwv);
            if (r == 0) {
                w->as__aux = ps_aux(idx, tk);
                pk.word = &as__ps_slot_at(ps, idx)->fw;
                pk.expected = fwv;
                goto park;
            }
            kick = true;
            status = r == 1 ? 0 : r == 2 ? -EOWNERDEAD : r;
            goto decide;
        }
        if (tr == 2)
            status = -EOWNERDEAD; /* a mutex taken with OWNER_DEAD: held */
        as__fetch_sub(&ps->novf, 1u, AS_SEQ_CST);
        goto decide;
    }
    idx = aux_idx(w);
    sl = as__ps_slot_at(ps, idx);
    /* P2: a slot is used only by its owner, recognised by who and ticket
     * (the sequence of fw is not a generation: others move it).  A
     * mismatch means it was taken from under us: never touch it. */
    if (idx >= nslots(ps) || as__load(&sl->who, AS_RELAXED) != me ||
        (sl->ticket & 0x7ffffu) != aux_tk(w)) {
        status = ps_lost(own);
        goto decide;
    }
    fw = as__load(&sl->fw, AS_ACQUIRE);
    if (AS__PS_ST(fw) == AS__PS_WOKEN) {
        /* 6.3: woken to retry */
        bool may_pass = (w->as__flags & (PS_F_MAYPASS | PS_F_PASSED)) == PS_F_MAYPASS;
        int r = ps_arrive_locked(ps, idx, status, may_pass, &wk, &pk.expected);
        if (r < 0) {
            kick = true; /* the slot was freed */
            status = r;
            goto decide;
        }
        if (r == 0) {
            pk.word = &sl->fw;
            if (may_pass) {
                /* PASSED: its loop's timer ends it (sem_ps_tick) */
                uint64_t at = as_now_ns() + AS__PASS_NS;
                w->as__flags |= PS_F_PASSED;
                if (at < w->as__deadline)
                    as__timer_rekey(w, at);
            }
            goto park;
        }
        fw = as__load(&sl->fw, AS_ACQUIRE); /* GRANTED: the claim */
    }
    switch (AS__PS_ST(fw)) {
    case AS__PS_WAITING:
    case AS__PS_STARVING:
    case AS__PS_PASSED:
        if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED &&
            res != -ETIME) {
            /* The kernel refuses to park on the word for good: leave the
             * queue with its error rather than spin on re-arming. */
            ps_leave_locked(ps, sl, &wk);
            ps_slot_free_locked(sl);
            kick = true;
            status = res;
            goto decide;
        }
        pk.word = &sl->fw;
        pk.expected = fw; /* P3 */
        goto park;
    case AS__PS_GRANTED:
        /* 6.5 claim; a cancel after the grant (8.1) gives the permits
         * back, and the callback reports -ECANCELED (X1). */
        giveback = status == -ECANCELED;
        /* what the grant gave: the request, or 0 for an auto-reset
         * event's broadcast (EA2); the X1 giveback reads it too */
        n = w->as__n = as__load(&sl->req, AS_RELAXED);
        /* 10.2: a mutex granted with OWNER_DEAD is ours with -EOWNERDEAD
         * (the state names us: nobody else writes it now, PM1) */
        if (!giveback)
            status = own && (as__load(&ps->state, AS_ACQUIRE) & PS_DEAD)
                         ? -EOWNERDEAD : 0;
        break;
    case AS__PS_CANCELLED:
        if (status == 0)
            status = -ECANCELED;
        break;
    case AS__PS_CLOSED:
        if (status == 0)
            status = as__ps_shut(ps);
        break;
    default: /* FREE in a slot we own: impossible */
        status = ps_lost(own);
        goto decide;
    }
    /* P2, P8: freed by its owner, whose kernel wait on it is gone. */
    ps_slot_free_locked(sl);
    kick = true;
decide:
    ps_decide_locked(w, status);
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    if (kick)
        as__ps_ovf_kick(ps);
    if (giveback) {
        if (own)
            as__mutex_ps_giveback(ps);
        else if (n != 0)
            (void)ps_release(ps, n, ps_event(ps));
    }
    as__wait_finish(w);
    return;
park:
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    (void)as__loop_fwait(w, pk.word, pk.expected);
}

/* kind->tick (9.1), the wait's loop thread, out of the heap: its own
 * deadline -> expire; else a health check of the object, a wake of its own
 * word if something happened to its slot that no wake announced (a granter
 * killed between its commit and its wake: the commit is there, the wake is
 * not), and the next tick, at doubling intervals up to a second. */
/* The end of a PASSED slot's pass (pshared.pml -DPASS_LOOPS, the timer):
 * under the queue lock, still PASSED (a cancel, close or grant did not
 * end it): HANDOFF first (EF3: no newcomer takes past it from here on),
 * then STARVING at its ticket, then the full grant (the direct grant if
 * it fits: the lock free now).  Its kernel wait stays armed: the grant's
 * wake ends it.  The wait's loop thread. */
static void ps_pass_end(as__ps *ps, as_wait *w)
{
    as__ps_slot *sl = as__ps_slot_at(ps, aux_idx(w));
    as__ps_wakes wk;
    uint32_t fw;
    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    fw = as__load(&sl->fw, AS_ACQUIRE);
    if (AS__PS_ST(fw) == AS__PS_PASSED && as__load(&sl->who, AS_RELAXED) == as__ps_me() &&
        (sl->ticket & 0x7ffffu) == aux_tk(w)) {
        ps_hold_locked(ps);
        as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_STARVING), AS_RELEASE);
        ps_grant_locked(ps, &wk);
    }
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
}

#define PS_TICK_SHIFT 12
#define PS_TICK_MASK (0xfu << PS_TICK_SHIFT)
static bool sem_ps_tick(as_wait *w, uint64_t now)
{
    as__ps *ps = PS((as_sem *)w->as__home);
    uint64_t user = w->as__until, next;
    uint32_t e = (w->as__flags & PS_TICK_MASK) >> PS_TICK_SHIFT;
    uint32_t st = as__load(&w->as__state, AS_ACQUIRE);
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED)
        return false; /* decided: its callback is on its way */
    if (user != AS_NO_DEADLINE && now >= user) {
        as__wait_expire(w);
        return true;
    }
    if (w->as__aux && (w->as__flags & PS_F_PASSED) &&
        AS__PS_ST(as__load(&as__ps_slot_at(ps, aux_idx(w))->fw, AS_ACQUIRE)) ==
            AS__PS_PASSED) {
        /* 6.3 PASSED: its time is up; the health tick keeps its schedule */
        ps_pass_end(ps, w);
        next = now + as__ps_tick_ns();
        as__timer_add(w->as__loop, w, user < next ? user : next);
        return false;
    }
    ps_health(ps);
    if (w->as__aux) {
        as__ps_slot *sl = as__ps_slot_at(ps, aux_idx(w));
        if (!ps_queued(as__load(&sl->fw, AS_ACQUIRE)))
            (void)as__futex_wake_shared(&sl->fw, true);
    } else if (as__ps_slot_alloc_probe(ps, nslots(ps))) {
        (void)as__futex_wake_shared(&ps->ovf, true); /* a slot is free */
    }
    {
        uint64_t base = as__ps_tick_ns(), max = as__ps_tick_max_ns(base);
        next = e < 32 && (base << e) < max ? base << e : max;
    }
    if (e < 15)
        w->as__flags = (w->as__flags & ~PS_TICK_MASK) | ((e + 1) << PS_TICK_SHIFT);
    next += now;
    as__timer_add(w->as__loop, w, user < next ? user : next);
    return false;
}

void as__ps_may_pass(as_wait *w)
{
    if (as__pass_may(w))
        w->as__flags |= PS_F_MAYPASS;
}

/* kind->cancel (any thread of the wait's process), 8.1: decide in the
 * slot under the queue lock, then make the owner's kernel wait complete
 * (change of fw, then a wake of all on it: P8, the callback comes from
 * fwake).  Returns 0 (handled: the callback will report it, or the grant
 * won a deadline), -EAGAIN (the wait is no longer QUEUED on this object:
 * the caller looks again). */
static int sem_ps_cancel(as_wait *w, int status)
{
    uint32_t st = as__load(&w->as__state, AS_ACQUIRE), fw, *wake = NULL;
    as_sem *s;
    as__ps *ps;
    as__ps_wakes wk;
    int cur;
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED)
        return -ENOENT;
    s = (as_sem *)as__load(&w->as__obj, AS_RELAXED);
    ps = PS(s);
    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    st = as__load(&w->as__state, AS_ACQUIRE);
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED ||
        as__load(&w->as__obj, AS_RELAXED) != (void *)s ||
        as__load(&w->as__kind, AS_RELAXED) != ps_kind_of(ps)) {
        as__ps_unlock(ps);
        as__ps_wakes_run(ps, &wk);
        return -EAGAIN;
    }
    cur = as__load(&w->as__status, AS_RELAXED);
    if (!w->as__aux) {
        /* overflow: the status, then the word moves (6.6, ps_enter) */
        if (cur == 0 || (status == -ECANCELED && cur != -ECANCELED)) {
            as__store(&w->as__status, status, AS_RELAXED);
            as__fetch_add(&ps->ovf, 1u, AS_SEQ_CST);
            wake = &ps->ovf;
        }
    } else {
        as__ps_slot *sl = as__ps_slot_at(ps, aux_idx(w));
        fw = as__load(&sl->fw, AS_RELAXED);
        switch (AS__PS_ST(fw)) {
        case AS__PS_WAITING:
        case AS__PS_STARVING:
        case AS__PS_PASSED:
            as__store(&w->as__status, status, AS_RELAXED);
            ps_leave_locked(ps, sl, &wk);
            wake = &sl->fw;
            break;
        case AS__PS_WOKEN:
            /* 6.3: on its way; its arrival gives up with this status and
             * passes the wake on (the wake here only hurries it) */
            if (cur == 0 || (status == -ECANCELED && cur != -ECANCELED)) {
                as__store(&w->as__status, status, AS_RELAXED);
                wake = &sl->fw;
            }
            break;
        case AS__PS_GRANTED:
            /* 8.1: the grant came first.  A cancel passes it on (fwake
             * gives the permits back); a deadline loses to it. */
            if (status == -ECANCELED && cur != -ECANCELED) {
                as__store(&w->as__status, -ECANCELED, AS_RELAXED);
                wake = &sl->fw;
            }
            break;
        default: /* CANCELLED, CLOSED: decided; a cancel still wins the
                    report (as as_cancel of a DONE wait) */
            if (status == -ECANCELED && cur != -ECANCELED)
                as__store(&w->as__status, -ECANCELED, AS_RELAXED);
            break;
        }
    }
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    if (wake)
        (void)as__futex_wake_shared(wake, true); /* K2 */
    return 0;
}

/* ---- blocking ---- */

/* A blocking thread sleeps on a word until woken, its deadline, or its
 * next health tick (9.1: then a health check, and the caller re-reads). */
static void ps_block_sleep(as__ps *ps, uint32_t *word, uint32_t expected,
                           uint64_t deadline, uint64_t *tick_ns)
{
    uint64_t now = as_now_ns(), t = now + *tick_ns;
    as__futex_wait_shared(word, expected, deadline < t ? deadline : t);
    if (as_now_ns() >= t) {
        ps_health(ps);
        if (*tick_ns < as__ps_tick_max_ns(*tick_ns))
            *tick_ns *= 2;
    }
}

int as__sem_ps_blocking(as_sem *s, uint32_t n, uint64_t deadline)
{
    int r = ps_check(s);
    if (r < 0)
        return r;
    if (n > AS_PSHARED_SEM_VALUE_MAX)
        return -EINVAL;
    if (ps_try(PS(s), n))
        return 0;
    return as__ps_blocking(PS(s), n, deadline);
}

/* Either mode, after a failed take: 0, -EOWNERDEAD (a mutex: held), or a
 * negative errno. */
int as__ps_blocking(as__ps *ps, uint32_t n, uint64_t deadline)
{
    uint64_t tick_ns = as__ps_tick_ns();
    bool counted = false, own = as__ps_own(ps);
    ps_park pk;
    uint32_t slot, me;
    as__ps_slot *sl;
    int r;
    for (;;) {
        r = ps_enter(ps, NULL, n, deadline, &counted, &pk, &slot);
        if (r != 0)
            return r == 1 ? 0 : r == 2 ? -EOWNERDEAD : r;
        if (slot != UINT32_MAX)
            break;
        /* overflow: sleep on the word, then look again; the health tick
         * is the futex(2) timeout (9.1) */
        ps_block_sleep(ps, pk.word, pk.expected, deadline, &tick_ns);
        if ((r = ps_take(ps, n, own)) != 0) {
            as__fetch_sub(&ps->novf, 1u, AS_SEQ_CST);
            return r == 2 ? -EOWNERDEAD : 0;
        }
    }
    me = as__ps_me();
    sl = as__ps_slot_at(ps, slot);
    for (;;) {
        as__ps_wakes wk;
        uint32_t fw;
        as__ps_wakes_init(&wk);
        ps_lock(ps, &wk);
        if (as__load(&sl->who, AS_RELAXED) != me) {
            r = ps_lost(own); /* P2: taken from under us; never touch it */
            as__ps_unlock(ps);
            as__ps_wakes_run(ps, &wk);
            return r;
        }
        fw = as__load(&sl->fw, AS_ACQUIRE);
        if (AS__PS_ST(fw) == AS__PS_WOKEN) {
            /* 6.3: woken to retry */
            r = ps_arrive_locked(ps, slot,
                                 as__deadline_passed(deadline) ? -ETIMEDOUT : 0,
                                 false, &wk, &fw);
            if (r < 0) { /* gave up: the slot is freed */
                as__ps_unlock(ps);
                as__ps_wakes_run(ps, &wk);
                as__ps_ovf_kick(ps);
                return r;
            }
            if (r == 0) { /* STARVING: sleep on it (P3) */
                as__ps_unlock(ps);
                as__ps_wakes_run(ps, &wk);
                ps_block_sleep(ps, &sl->fw, fw, deadline, &tick_ns);
                continue;
            }
            fw = as__load(&sl->fw, AS_ACQUIRE); /* GRANTED */
        }
        if (ps_queued(fw) && !as__deadline_passed(deadline)) {
            as__ps_unlock(ps);
            as__ps_wakes_run(ps, &wk);
            /* P3: a change after our read fails the futex's value check */
            ps_block_sleep(ps, &sl->fw, fw, deadline, &tick_ns);
            continue;
        }
        switch (AS__PS_ST(fw)) {
        case AS__PS_GRANTED:
            /* 10.2: a mutex granted with OWNER_DEAD: ours, -EOWNERDEAD */
            r = own && (as__load(&ps->state, AS_ACQUIRE) & PS_DEAD)
                    ? -EOWNERDEAD : 0;
            break;
        case AS__PS_WAITING: /* the deadline passed */
        case AS__PS_STARVING:
        case AS__PS_PASSED:
            ps_leave_locked(ps, sl, &wk);
            r = -ETIMEDOUT;
            break;
        case AS__PS_CLOSED:
            r = as__ps_shut(ps);
            break;
        default:
            r = ps_lost(own);
            break;
        }
        /* P2: our futex(2) wait is over: the slot is free to go */
        ps_slot_free_locked(sl);
        as__ps_unlock(ps);
        as__ps_wakes_run(ps, &wk);
        as__ps_ovf_kick(ps);
        return r;
    }
}

/* ---- release, forget, close ---- */

int as__sem_ps_release(as_sem *s, uint32_t n)
{
    int r = ps_check(s);
    if (r < 0)
        return r;
    if (n > AS_PSHARED_SEM_VALUE_MAX)
        return -EOVERFLOW;
    return ps_release(PS(s), n, false);
}

/* COUNT += n and the grant; `one` (an auto-reset event's set, EA1): COUNT
 * saturates at 1 instead (a set of a set event changes nothing), else
 * -EOVERFLOW past AS_PSHARED_SEM_VALUE_MAX.  Any thread, any process. */
static int ps_release(as__ps *ps, uint32_t n, bool one)
{
    const uint32_t max = one ? 1u : AS_PSHARED_SEM_VALUE_MAX;
    as__ps_wakes wk;
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    int r = 0;
    as__ps_wakes_init(&wk);
    for (;;) {
        /* S2 across processes: lock-free only while no slot waits */
        while (!(lo(v) & PS_WAITERS)) {
            if ((lo(v) & PS_COUNT) > max - n)
                return one ? 0 : -EOVERFLOW;
            if (as__cas(&ps->state, &v, v + n, AS_RELEASE, AS_RELAXED))
                return 0;
        }
        ps_lock(ps, &wk);
        v = as__load(&ps->state, AS_ACQUIRE);
        if (lo(v) & PS_WAITERS)
            break;
        as__ps_unlock(ps);
        as__ps_wakes_run(ps, &wk);
    }
    if ((lo(v) & PS_COUNT) > max - n) {
        r = one ? 0 : -EOVERFLOW;
    } else {
        /* COUNT += n, then the grant.  A releaser killed in between dies
         * holding the lock, with the permits in COUNT: whoever takes the
         * lock over (a contender, a waiter's health check) recovers and
         * runs the grant (5.4). */
        while (!as__cas(&ps->state, &v, v + n, AS_ACQ_REL, AS_ACQUIRE))
            ;
        ps_grant_some_locked(ps, &wk);
    }
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    return r;
}

int64_t as__sem_ps_forget(as_sem *s, uint32_t n)
{
    as__ps *ps = PS(s);
    uint64_t v;
    uint32_t take;
    int r = ps_check(s);
    if (r < 0)
        return r;
    if (n > AS_PSHARED_SEM_VALUE_MAX)
        return -EINVAL;
    v = as__load(&ps->state, AS_RELAXED);
    for (;;) {
        take = (lo(v) & PS_COUNT) < n ? (lo(v) & PS_COUNT) : n;
        if (take == 0)
            return 0;
        /* only lowers COUNT, which keeps S1: no grant to re-run */
        if (as__cas(&ps->state, &v, v - take, AS_ACQUIRE, AS_RELAXED))
            return take;
    }
}

int as__sem_ps_close(as_sem *s)
{
    int r = ps_check(s);
    return r < 0 ? r : as__ps_close(PS(s));
}

int as__ps_close(as__ps *ps)
{
    as__ps_wakes wk;
    bool ovf;
    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    ovf = as__ps_close_locked(ps, &wk, AS__P_CLOSED);
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    if (ovf)
        (void)as__futex_wake_shared(&ps->ovf, true);
    return 0;
}

/* Close (S4), or make a mutex NOTRECOVERABLE (why | AS__P_NOTREC: the
 * same, with -ENOTRECOVERABLE for every wait it ends and every later
 * lock).  Queue lock held. */
bool as__ps_close_locked(as__ps *ps, as__ps_wakes *wk, uint32_t why)
{
    bool ovf = false;
    if (why & AS__P_NOTREC)
        as__fetch_or(&ps->flags, AS__P_NOTREC, AS_RELEASE);
    if (!ps_closed(ps)) {
        uint32_t ns = nslots(ps);
        as__fetch_or(&ps->flags, AS__P_CLOSED, AS_RELEASE);
        for (uint32_t i = 0; i < ns; i++) {
            as__ps_slot *sl = as__ps_slot_at(ps, i);
            uint32_t fw = as__load(&sl->fw, AS_RELAXED);
            /* queued slots end; a WOKEN one arrives to -ESHUTDOWN */
            if (ps_queued(fw)) {
                as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_CLOSED), AS_RELEASE);
                as__ps_wakes_add(wk, i);
            }
        }
        /* S4: WAITERS and HANDOFF stay set: every lock-free path fails
         * into the slow path, which sees the closed flag.  An RMW: a
         * lock-free release or acquire may be CASing the state. */
        as__fetch_or(&ps->state, PS_BITS, AS_RELEASE);
        if (as__load(&ps->novf, AS_SEQ_CST) != 0) {
            as__fetch_add(&ps->ovf, 1u, AS_SEQ_CST);
            ovf = true;
        }
    }
    return ovf;
}

int64_t as__sem_ps_value(const as_sem *s)
{
    int r = ps_check(s);
    if (r < 0)
        return r;
    return (int64_t)(lo(as__load(&PS(s)->state, AS_ACQUIRE)) & PS_COUNT);
}

int64_t as__sem_ps_waiters(const as_sem *s)
{
    int r = ps_check(s);
    return r < 0 ? r : as__ps_waiters(PS(s));
}

int64_t as__ps_waiters(as__ps *ps)
{
    uint32_t ns, k = 0;
    ns = nslots(ps);
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t fw = as__load(&as__ps_slot_at(ps, i)->fw, AS_ACQUIRE);
        if (ps_queued(fw)) /* as in-process: a woken wait is not queued */
            k++;
    }
    return (int64_t)k + as__load(&ps->novf, AS_RELAXED);
}

static void sem_ps_giveback(void *home, uint32_t n, uint32_t flags)
{
    (void)flags;
    (void)as__sem_ps_release(home, n);
}

static const struct as__kind sem_ps_kind = {
    .name = "sem",
    .cancel = sem_ps_cancel,
    .giveback = sem_ps_giveback,
    .fwake = sem_ps_fwake,
    .tick = sem_ps_tick,
    .pshared = true,
};

static void mutex_ps_giveback_kind(void *home, uint32_t n, uint32_t flags)
{
    (void)n, (void)flags;
    as__mutex_ps_giveback(PS(home));
}

/* ---- the auto-reset event (AS_PSHARED without AS_EVENT_MANUAL_RESET) ----
 *
 * The counting mode with a cap of one: COUNT 1 is "set".
 * EA1 (one set, one waiter): a set is a release of 1 that saturates at
 *   COUNT 1 (ps_release, one): with slots WAITING the grant hands it to
 *   the oldest, else it stays set until a wait's take consumes it (the
 *   semaphore's P1 and FIFO, unchanged).  A wait cancelled after its grant
 *   sets the event again (the giveback), as in-process (E2).
 * EA2 (broadcast: every waiter now, nothing stored): under the queue lock
 *   every WAITING slot is GRANTED with req := 0 (first, so that a grant is
 *   never seen with a request it did not consume): its claim reports 0,
 *   consumes nothing and gives nothing back; COUNT is not touched.
 *   Waits in overflow (more waits than slots) are not reached (they have
 *   no slot to grant: give the event a slot per wait, as the README says).
 *   A broadcaster killed between a slot's req := 0 and its GRANTED leaves
 *   that wait to be served later by a set it does not consume (the event
 *   stays set): documented, harmless. */
int as__ps_event_set(as__ps *ps) { return ps_release(ps, 1, true); }

int as__ps_event_reset(as__ps *ps)
{
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    while ((lo(v) & PS_COUNT) != 0 &&
           !as__cas(&ps->state, &v, v & ~(uint64_t)PS_COUNT, AS_RELAXED, AS_RELAXED))
        ;
    return 0;
}

int as__ps_event_is_set(as__ps *ps)
{
    return (lo(as__load(&ps->state, AS_ACQUIRE)) & PS_COUNT) != 0;
}

int as__ps_event_broadcast(as__ps *ps)
{
    as__ps_wakes wk;
    uint32_t ns;
    if (!(lo(as__load(&ps->state, AS_ACQUIRE)) & PS_WAITERS))
        return 0; /* no slot waits */
    as__ps_wakes_init(&wk);
    ps_lock(ps, &wk);
    ns = nslots(ps);
    for (uint32_t i = 0; i < ns; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        uint32_t fw = as__load(&sl->fw, AS_RELAXED);
        if (AS__PS_ST(fw) != AS__PS_WAITING)
            continue;
        as__store(&sl->req, 0u, AS_RELAXED); /* EA2: first */
        as__store(&sl->fw, AS__PS_NEXT(fw, AS__PS_GRANTED), AS_RELEASE);
        as__ps_wakes_add(&wk, i);
    }
    ps_bits_locked(ps, ps_closed(ps) ? PS_BITS : 0); /* nothing queued */
    as__ps_unlock(ps);
    as__ps_wakes_run(ps, &wk);
    return 0;
}

static void event_ps_giveback(void *home, uint32_t n, uint32_t flags)
{
    (void)flags;
    if (n != 0) /* a set (EA1), not a broadcast (EA2) */
        (void)as__ps_event_set(PS(home));
}

static const struct as__kind event_ps_kind = {
    .name = "event",
    .cancel = sem_ps_cancel,
    .giveback = event_ps_giveback,
    .fwake = sem_ps_fwake,
    .tick = sem_ps_tick,
    .pshared = true,
};

/* The mutex's waits: the same hooks (the object's magic picks the mode). */
static const struct as__kind mutex_ps_kind = {
    .name = "mutex",
    .cancel = sem_ps_cancel,
    .giveback = mutex_ps_giveback_kind,
    .fwake = sem_ps_fwake,
    .tick = sem_ps_tick,
    .pshared = true,
    .ownerdead_held = true, /* -EOWNERDEAD comes with the lock */
};
#else
typedef int as__sem_ps_unused;
#endif
