/* Process-shared objects (AS_PSHARED, issue 14): what every pshared
 * primitive shares.  The design is docs/pshared.md; the section numbers and
 * invariant names (K1-K4, P1-P11) below are that note's.
 *
 * THE SHARED LAYOUT (3.2)
 *   An AS_PSHARED object is the same caller-allocated struct (as_sem,
 *   as_mutex),
 *   reinterpreted as a pointer-free layout that every process reads at its
 *   own address: a 48-byte header, then 16-byte slots, the first ones inside
 *   the struct and AS_PSHARED_SLOTS(k) more right after it (the caller
 *   reserves AS_PSHARED_SIZE(T, k) bytes).  Nothing in it is a pointer:
 *   every reference is a slot index or a participant id.  `magic` and
 *   `flags` sit where the private layout has them (offsets 8 and 12), so
 *   the validity check and the dispatch on AS_PSHARED are the same loads.
 *
 * PARTICIPANTS (4)
 *   A process is named by pid (bits 0-21) | start time modulo 512 (bits
 *   22-30, clock ticks, /proc/<pid>/stat field 22): a reused pid is not
 *   mistaken for the dead process it replaced.  Computed once per process
 *   and again in a child after fork.  Bit 31 stays free (the queue lock's
 *   CONTENDED).
 *
 * THE QUEUE LOCK (5)
 *   qlock = 0, or the holder's id | CONTENDED.  Critical sections make no
 *   system call and issue no wake (P5): wakes are collected and issued
 *   after the unlock.  A contender that slept 10 times on the same holder
 *   checks its liveness and takes the lock over from a dead one, and then
 *   runs the primitive's recovery (5.4) before its own critical section.
 *
 * Linux only (shared futex keys): elsewhere init with AS_PSHARED is
 * -EOPNOTSUPP and none of this is compiled.
 */
#ifndef AS_PSHARED_H
#define AS_PSHARED_H

#include "internal.h"

#include <string.h>

#ifdef __linux__
#define AS__PS_SUPPORTED 1

/* A slot (3.2): one waiting task's record.  fw is the futex word its
 * waiter parks on: state (bits 0-2) | sequence (bits 3-31, +1 at every
 * change: P3, a waiter parked on a value never misses a change). */
typedef struct as__ps_slot {
    uint32_t fw;
    uint32_t who;    /* owner's participant id, 0: none */
    uint32_t ticket; /* arrival order (serial arithmetic) */
    uint32_t req;    /* permits requested */
} as__ps_slot;

enum {
    AS__PS_FREE = 0,
    AS__PS_WAITING = 1,
    AS__PS_WOKEN = 2,    /* woken to retry (the default policy, 6.3) */
    AS__PS_GRANTED = 3,
    AS__PS_CANCELLED = 4,
    AS__PS_CLOSED = 5,
    AS__PS_STARVING = 6, /* back in the queue after a failed retry (6.3) */
    AS__PS_PASSED = 7    /* a cohort's delegate back in the queue after a
                            failed retry, not served until its loop's timer
                            (6.3, "PASSED"; cohort_ps.c) */
};
#define AS__PS_ST(fw) ((fw) & 7u)
/* The slot word's next value in state st (sequence + 1). */
#define AS__PS_NEXT(fw, st) ((((fw) & ~7u) + 8u) | (st))

/* The common header (3.2), 48 bytes. */
typedef struct as__ps {
    uint64_t state;   /* the primitive's state (3.3) */
    uint32_t magic;   /* as the private layout: written last by init (P11) */
    uint32_t flags;   /* init flags (AS_PSHARED, slots) | closed bit */
    uint32_t layout;  /* AS__PS_LAYOUT: -EPROTO if another (P11) */
    uint32_t qlock;   /* 0 or holder id | CONTENDED (5.1) */
    uint16_t log;     /* intent log: 0, or op << 12 | slot (5.3) */
    uint16_t takes;   /* a hint (6.3, the busy hint): takes of the word by
                         a loop's cohort since the grant last woke a slot
                         to retry, counted up to AS__PS_BUSY */
    uint32_t tail;    /* next ticket */
    uint32_t woken;   /* the req of the WOKEN slots (6.3): a cache of the
                         slots, kept under qlock, re-derived by every full
                         grant and so by every recovery (5.4) */
    uint32_t ovf;     /* overflow futex word: a sequence (6.6) */
    uint32_t novf;    /* overflow waiters, a hint (6.6) */
    uint32_t checked; /* reserved: health checks (9.1) */
} as__ps;

_Static_assert(sizeof(as__ps) == 48, "pshared header");
_Static_assert(sizeof(as__ps_slot) == 16, "pshared slot");

#define AS__PS_CONTENDED 0x80000000u

/* The state word's low half (3.3), the same for the semaphore and the
 * mutex (a binary semaphore with owner, 3.4; sem_ps.c): COUNT (bits 0-28;
 * the mutex: 1 free, 0 held), APPLIED (29: the intent log's operation is
 * committed, 5.3), HANDOFF (30: newcomers may not take), WAITERS (31).
 * High half: the semaphore's, 0; the mutex's holder (participant id, 0
 * when free) | AS__PS_DEAD (bit 31 of the high half: OWNER_DEAD, robust
 * mutex only). */
#define AS__PS_WAITERS 0x80000000u
#define AS__PS_HANDOFF 0x40000000u
#define AS__PS_APPLIED 0x20000000u
#define AS__PS_COUNT 0x1fffffffu
#define AS__PS_DEAD 0x80000000u
/* In flags, with AS__P_CLOSED: the mutex is not recoverable (unlocked with
 * OWNER_DEAD set, 10.2): closed, with -ENOTRECOVERABLE for -ESHUTDOWN. */
#define AS__P_NOTREC 0x40000000u
/* The busy hint (6.3): a loop's delegate woken to retry goes back PASSED,
 * even with the lock free, when other loops took the word this many times
 * since the wake (cohort_ps.c K7). */
#define AS__PS_BUSY 4u
#define AS__PS_LOG_GRANT 1u
#define AS__PS_LOG_RECLAIM 2u
#define AS__PS_LOG_OP(l) ((l) >> 12)
#define AS__PS_LOG_SLOT(l) ((l) & 0xfffu)
/* AS__P_CLOSED (internal.h) in flags: closed. */

/* The layout word: 'P' 'S', version 1, and the struct's size (which fixes
 * the in-struct slot count and the ABI: an LP64 process and a 32-bit one
 * cannot share an object).  P11. */
#define AS__PS_VERSION 4u /* 2: WOKEN and STARVING slots (6.3); 3: PASSED;
                             4: the busy hint (takes) */
#define AS__PS_LAYOUT(size) \
    ((0x5053u << 16) | (AS__PS_VERSION << 12) | (uint32_t)(size))

/* Slots inside a struct of `size` bytes, and in all. */
#define AS__PS_INSLOTS(size) (((size) - sizeof(as__ps)) / sizeof(as__ps_slot))
static inline uint32_t as__ps_nslots(const as__ps *ps, size_t size)
{
    return (uint32_t)AS__PS_INSLOTS(size) +
           ((as__load(&ps->flags, AS_RELAXED) >> 16) & 0xfffu);
}

static inline as__ps_slot *as__ps_slot_at(as__ps *ps, uint32_t i)
{
    return (as__ps_slot *)(void *)((char *)ps + sizeof(as__ps) +
                                   sizeof(as__ps_slot) * i);
}

/* The health tick (9.1): first 10 ms after a wait parks, doubling up to
 * one second.  ASYNCSYNC_PSHARED_TICK_MS (1 to 3600000) sets the first
 * interval (the cap is then the larger of it and one second): how soon the
 * death of a waiter is noticed against what an idle wait costs.  (The
 * tests set it high where a tick would hide a lost wake-up.) */
#define AS__PS_TICK_NS 10000000ull
#define AS__PS_TICK_MAX_NS 1000000000ull
uint64_t as__ps_tick_ns(void);
static inline uint64_t as__ps_tick_max_ns(uint64_t base)
{
    return base > AS__PS_TICK_MAX_NS ? base : AS__PS_TICK_MAX_NS;
}

/* This process's participant id (4): never 0, bit 31 clear.  Computed once
 * per process (as__ps_me_slow; reset in a fork's child), then one load. */
extern uint32_t as__ps_id;
uint32_t as__ps_me_slow(void);
static inline uint32_t as__ps_me(void)
{
    uint32_t id = as__load(&as__ps_id, AS_RELAXED);
    return as__likely(id != 0) ? id : as__ps_me_slow();
}
/* Is the process `id` names alive?  Slow (reads /proc): only on the queue
 * lock's slow path.  Never says "dead" of a live process (P7). */
bool as__ps_alive(uint32_t id);

/* Take the queue lock.  Returns true when it was taken over from a dead
 * holder: the caller runs its recovery (5.4) first. */
bool as__ps_lock_slow(as__ps *ps, uint32_t me);
static inline bool as__ps_lock(as__ps *ps)
{
    uint32_t me = as__ps_me(), v = 0;
    if (as__likely(as__cas(&ps->qlock, &v, me, AS_ACQUIRE, AS_RELAXED)))
        return false;
    return as__ps_lock_slow(ps, me);
}
/* Release it; wakes one sleeping contender (a futex(2) sleeper: a killed
 * contender's wait dies with it, so one is enough, 5.1). */
void as__ps_unlock(as__ps *ps);

/* Slots whose word must be woken after the unlock (P5: no wake inside).
 * Only the words of `bits` between the lowest and the highest slot added
 * are meaningful: they are cleared as the range grows, so an empty set
 * costs nothing to make (a release's lock-free path makes one). */
typedef struct as__ps_wakes {
    uint64_t bits[64]; /* 4096 slots */
    uint32_t lo, hi;   /* range of set bits (lo == UINT32_MAX: empty) */
    bool ovf;          /* the overflow word moved: wake it too */
} as__ps_wakes;

static inline void as__ps_wakes_init(as__ps_wakes *wk)
{
    wk->lo = UINT32_MAX;
    wk->hi = 0;
    wk->ovf = false;
}
static inline void as__ps_wakes_add(as__ps_wakes *wk, uint32_t i)
{
    uint32_t w = i / 64;
    if (wk->lo == UINT32_MAX) {
        wk->bits[w] = 0;
        wk->lo = wk->hi = i;
    } else if (i < wk->lo) {
        for (uint32_t k = w; k < wk->lo / 64; k++)
            wk->bits[k] = 0;
        wk->lo = i;
    } else if (i > wk->hi) {
        for (uint32_t k = wk->hi / 64 + 1; k <= w; k++)
            wk->bits[k] = 0;
        wk->hi = i;
    }
    wk->bits[w] |= 1ull << (i % 64);
}
/* After the unlock: wake every slot word collected, all waiters of each
 * (K2: a dead process's stale kernel wait may absorb a wake-one). */
void as__ps_wakes_run(as__ps *ps, as__ps_wakes *wk);

/* A slot was freed (who := 0): if waiters are in overflow, move the
 * overflow word and wake them all (6.6).  After the unlock. */
void as__ps_ovf_kick(as__ps *ps);

/* Find a free slot and make it ours: CAS who 0 -> me (5.3, lock-free).
 * Returns its index, or UINT32_MAX when every slot is owned. */
uint32_t as__ps_slot_alloc(as__ps *ps, uint32_t nslots, uint32_t me);
/* Is a slot free now (a hint)? */
bool as__ps_slot_alloc_probe(as__ps *ps, uint32_t nslots);

/* The core (sem_ps.c), shared by the semaphore and the mutex: the object's
 * magic says which (AS__MAGIC_MUTEX: a binary semaphore whose state's high
 * half names the holder).  Callers checked the layout (P11). */
static inline bool as__ps_own(as__ps *ps)
{
    return as__load(&ps->magic, AS_RELAXED) == AS__MAGIC_MUTEX;
}
/* The auto-reset event's (sem_ps.c, EA1-EA2): the counting mode with a
 * cap of one.  Callers checked the layout. */
int as__ps_event_set(as__ps *ps);
int as__ps_event_reset(as__ps *ps);
int as__ps_event_is_set(as__ps *ps);
int as__ps_event_broadcast(as__ps *ps);
/* Mutex mode's take (PM1, sem_ps.c): COUNT 1 -> 0 and high := me in one
 * CAS, keeping OWNER_DEAD.  1 taken, 2 taken with OWNER_DEAD set (the
 * caller reports -EOWNERDEAD, the lock held), 0 not now. */
static inline int as__ps_try_own(as__ps *ps, uint32_t me)
{
    uint64_t v = as__load(&ps->state, AS_RELAXED);
    while (!((uint32_t)v & AS__PS_HANDOFF) && ((uint32_t)v & AS__PS_COUNT) >= 1)
        if (as__cas(&ps->state, &v, (v - 1) | ((uint64_t)me << 32), AS_ACQUIRE,
                    AS_RELAXED))
            return (v >> 63) ? 2 : 1;
    return 0;
}
/* The queue lock, with recovery (5.4) when it was taken from the dead. */
void as__ps_lock_rec(as__ps *ps, as__ps_wakes *wk);
/* The grant (6.3): serve the queued slots in ticket order.  Queue lock
 * held. */
void as__ps_grant_locked(as__ps *ps, as__ps_wakes *wk);
/* The grant after a change that only raised COUNT (sem_ps.c). */
void as__ps_grant_some_locked(as__ps *ps, as__ps_wakes *wk);
/* Close (why: AS__P_CLOSED, or | AS__P_NOTREC): every queued slot ends.
 * Queue lock held; returns true when the overflow word must be woken. */
bool as__ps_close_locked(as__ps *ps, as__ps_wakes *wk, uint32_t why);
void as__ps_init(as__ps *ps, uint64_t state, unsigned flags, uint32_t magic);
int as__ps_destroy(as__ps *ps);
int as__ps_acquire(as__ps *ps, as_loop *loop, as_wait *w, uint32_t n,
                   uint64_t deadline, as_callback cb, void *arg);
/* w (parked by as__ps_acquire, the loop thread) may be PASSED once (6.3
 * "PASSED"): a cohort's delegate on a loop with a ring timer.  Loop
 * thread, before w's first fwake. */
void as__ps_may_pass(as_wait *w);
int as__ps_blocking(as__ps *ps, uint32_t n, uint64_t deadline);
int as__ps_close(as__ps *ps);
int64_t as__ps_waiters(as__ps *ps);
/* -ESHUTDOWN, or -ENOTRECOVERABLE for a mutex made unrecoverable. */
static inline int as__ps_shut(as__ps *ps)
{
    return (as__load(&ps->flags, AS_RELAXED) & AS__P_NOTREC) ? -ENOTRECOVERABLE
                                                             : -ESHUTDOWN;
}

/* The mutex's (mutex_ps.c), called by mutex.c on an AS_PSHARED object. */
int as__mutex_ps_init(as_mutex *m, unsigned flags);
int as__mutex_ps_destroy(as_mutex *m);
int as__mutex_ps_try(as_mutex *m);
int as__mutex_ps_lock(as_mutex *m, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg);
int as__mutex_ps_blocking(as_mutex *m, uint64_t deadline);
int as__mutex_ps_unlock(as_mutex *m);
/* The lock given back by a wait cancelled after its grant (X1): unlocked
 * as is, OWNER_DEAD kept for the next owner. */
void as__mutex_ps_giveback(as__ps *ps);
int as__mutex_ps_consistent(as_mutex *m);
int as__mutex_ps_close(as_mutex *m);
int64_t as__mutex_ps_waiters(const as_mutex *m);
/* A robust mutex held by `holder`, found dead (9.3, 10.2): released with
 * OWNER_DEAD, and the grant hands it to the head slot.  Queue lock held;
 * false if the state no longer names that holder. */
bool as__mutex_ps_owner_dead_locked(as__ps *ps, uint32_t holder);
/* The holder of a robust pshared mutex to check (0: none), for the health
 * check.  No lock held. */
uint32_t as__mutex_ps_suspect(as__ps *ps);

/* The mutex's word unlock (mutex_ps.c): what as__mutex_ps_unlock does
 * when no cohort keeps the lock. */
int as__mutex_ps_unlock_word(as__ps *ps);

/* A loop's cohort on a process-shared mutex (cohort_ps.c, docs/pshared.md
 * 6.4).  AS__COH_PASS: not handled here, the caller goes on as without
 * it. */
#define AS__COH_PASS 3
#define AS__COH_BUDGET 64u
/* The lock on the loop's thread: AS__COH_PASS (no cohort) or what
 * as_mutex_lock_async returns. */
int as__coh_lock(as__ps *ps, as_loop *loop, as_wait *w, uint64_t deadline,
                 as_callback cb, void *arg);
/* An unlock on a loop's thread: kept in the loop (0) or AS__COH_PASS. */
int as__coh_unlock(as__ps *ps);
/* try/blocking on the loop's thread: 1 when it took a held-over lock. */
int as__coh_take(as__ps *ps);
/* as_mutex_consistent succeeded: the hold is no longer OWNER_DEAD's. */
void as__coh_consistent(as__ps *ps);

/* The semaphore's (sem_ps.c), called by sem.c on an AS_PSHARED object
 * (checked valid: magic).  Same contracts as the public calls. */
int as__sem_ps_init(as_sem *s, uint32_t permits, unsigned flags);
int as__sem_ps_destroy(as_sem *s);
int as__sem_ps_try(as_sem *s, uint32_t n);
int as__sem_ps_acquire(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                       uint64_t deadline, as_callback cb, void *arg);
int as__sem_ps_blocking(as_sem *s, uint32_t n, uint64_t deadline);
int as__sem_ps_release(as_sem *s, uint32_t n);
int64_t as__sem_ps_forget(as_sem *s, uint32_t n);
int as__sem_ps_close(as_sem *s);
int64_t as__sem_ps_value(const as_sem *s);
int64_t as__sem_ps_waiters(const as_sem *s);

/* The lock-free paths of try_acquire and release, inlined into sem.c (an
 * uncontended pair is a few nanoseconds: a call and a re-check each cost a
 * visible share, target 15.4).  The layout is checked first (P11); on a
 * mismatch, a failed take, WAITERS or a count past the maximum they call
 * sem_ps.c, which answers (-EPROTO, -ESHUTDOWN, 0, the grant, -EOVERFLOW).
 * The same CASes as ps_try and ps_release's lock-free loop. */
static inline int as__sem_ps_try_fast(as_sem *s, uint32_t n)
{
    as__ps *ps = (as__ps *)(void *)s;
    uint64_t v;
    if (as__likely(as__load(&ps->layout, AS_ACQUIRE) == AS__PS_LAYOUT(sizeof(as_sem)))) {
        v = as__load(&ps->state, AS_RELAXED);
        while (!((uint32_t)v & AS__PS_HANDOFF) && ((uint32_t)v & AS__PS_COUNT) >= n)
            if (as__cas(&ps->state, &v, v - n, AS_ACQUIRE, AS_RELAXED))
                return 1;
    }
    return as__sem_ps_try(s, n);
}
static inline int as__sem_ps_release_fast(as_sem *s, uint32_t n)
{
    as__ps *ps = (as__ps *)(void *)s;
    uint64_t v;
    if (as__likely(as__load(&ps->layout, AS_ACQUIRE) == AS__PS_LAYOUT(sizeof(as_sem)) &&
                   n <= AS_PSHARED_SEM_VALUE_MAX)) {
        v = as__load(&ps->state, AS_RELAXED);
        while (!((uint32_t)v & AS__PS_WAITERS) &&
               ((uint32_t)v & AS__PS_COUNT) <= AS_PSHARED_SEM_VALUE_MAX - n)
            if (as__cas(&ps->state, &v, v + n, AS_RELEASE, AS_RELAXED))
                return 0;
    }
    return as__sem_ps_release(s, n);
}

/* Generation waits (gwait_ps.c): the manual-reset event and the latch,
 * called by event.c and latch.c on an AS_PSHARED object (checked valid:
 * magic).  Same contracts as the public calls. */
int as__gw_ps_destroy(void *o);
int as__gw_ps_close(void *o);
int64_t as__gw_ps_waiters(const void *o);
int as__event_ps_init(as_event *e, unsigned flags);
int as__event_ps_wait(as_event *e, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg);
int as__event_ps_blocking(as_event *e, uint64_t deadline);
int as__event_ps_set(as_event *e);
int as__event_ps_reset(as_event *e);
int as__event_ps_broadcast(as_event *e);
int as__event_ps_is_set(const as_event *e);
int as__latch_ps_init(as_latch *l, uint32_t count, unsigned flags);
int as__latch_ps_wait(as_latch *l, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg);
int as__latch_ps_blocking(as_latch *l, uint64_t deadline);
int as__latch_ps_count_down(as_latch *l, uint32_t n);
int as__latch_ps_add(as_latch *l, uint32_t n);
int64_t as__latch_ps_value(const as_latch *l);

/* as_*_stats of a pshared object: no counters in the shared layout, the
 * waiters only. */
static inline int as__ps_stats(int64_t waiters, as_counters *out)
{
    if (!out)
        return -EINVAL;
    if (waiters < 0)
        return (int)waiters;
    memset(out, 0, sizeof *out);
    out->waiters = (uint32_t)waiters;
    return 0;
}

/* ---- named objects (docs/pshared.md 12; pshared_open.c) ---- */

/* What the generic opener needs to know of a primitive: the magic its init
 * publishes, the struct's size (header and in-struct slots; the layout
 * word is AS__PS_LAYOUT(base)), and the flag bits init records that an
 * attacher must match (AS__P_CLOSED and other run-time bits excluded). */
typedef struct as__ps_type {
    uint32_t magic;
    uint32_t base;
    uint32_t flags_mask;
} as__ps_type;

/* Bytes of an object of `base` bytes with k more slots (AS_PSHARED_SIZE). */
#define AS__PS_SIZE(base, k) ((size_t)(base) + sizeof(as__ps_slot) * (size_t)(k))

/* The primitive's pshared init on the fresh mapping: every field, magic
 * last (release).  `arg` is the opener's. */
typedef int (*as__ps_init_fn)(void *obj, const void *arg);

/* Open or create the named object: `flags` are the full init flags
 * (AS_PSHARED, AS_PSHARED_SLOTS(k), the primitive's), checked by the
 * caller; the object is AS__PS_SIZE(t->base, k) bytes.  *out is set on
 * success only.  Returns 0, -EEXIST, -ENOENT, -EPROTO, -EINVAL (another
 * slot count or flags), -ETIMEDOUT, or a negative errno of the system. */
int as__ps_open(void **out, const char *name, int oflag, unsigned mode,
                const as__ps_type *t, uint32_t flags, as__ps_init_fn init,
                const void *arg);

/* Tests only (NULL otherwise): called by an opener at two points, where a
 * test stops or kills it: AS__PS_HOOK_OPENED after its shm_open, before
 * it takes the lock (obj NULL, len 1 if this open made the name, else 0);
 * AS__PS_HOOK_CREATING by a creator after ftruncate and mmap, before init
 * (obj, len: the object). */
enum { AS__PS_HOOK_OPENED = 0, AS__PS_HOOK_CREATING = 1 };
extern void (*as__ps_open_hook)(int stage, void *obj, size_t len);
#endif /* __linux__ */

/* The flags of an AS_PSHARED init, checked by the public init before it
 * dispatches, on every platform (so that bad flags are -EINVAL everywhere,
 * before the -EOPNOTSUPP of a platform without process-shared objects):
 * only the primitive's `allowed` bits, AS_PSHARED and the slot field, and
 * at most AS_PSHARED_SLOTS_MAX slots. */
static inline bool as__ps_flags_ok(unsigned flags, unsigned allowed)
{
    return !(flags & ~(allowed | AS_PSHARED | AS_PSHARED_SLOTS(0xfffu))) &&
           ((flags >> 16) & 0xfffu) <= AS_PSHARED_SLOTS_MAX;
}

/* The observers (waitq.h's AS__PRIM_OBSERVERS) of a primitive that may be
 * AS_PSHARED: PS_WAITERS(p) counts a shared object's waits; its stats are
 * that count only, its dump -EOPNOTSUPP (its waits have no address here). */
#ifdef AS__PS_SUPPORTED
#define AS__PRIM_OBSERVERS_PS(X, T, VALID, PS_WAITERS)                        \
    static inline bool as__##X##_is_ps(const T *p)                            \
    {                                                                         \
        return (as__load(&p->as__flags, AS_RELAXED) & AS_PSHARED) != 0;       \
    }                                                                         \
    int64_t as_##X##_waiters(const T *p)                                      \
    {                                                                         \
        if (!VALID(p))                                                        \
            return -EINVAL;                                                   \
        if (as__##X##_is_ps(p))                                               \
            return PS_WAITERS(p);                                             \
        return (int64_t)as__load(&p->as__nwait, AS_ACQUIRE);                  \
    }                                                                         \
    int as_##X##_stats(const T *p, as_counters *out)                          \
    {                                                                         \
        if (!VALID(p))                                                        \
            return -EINVAL;                                                   \
        if (as__##X##_is_ps(p))                                               \
            return as__ps_stats(PS_WAITERS(p), out);                          \
        return as__prim_stats((const as__prim *)(const void *)p, out);        \
    }                                                                         \
    int64_t as_##X##_dump(const T *p, as_waiter_info *out, size_t max)        \
    {                                                                         \
        if (!VALID(p))                                                        \
            return -EINVAL;                                                   \
        if (as__##X##_is_ps(p))                                               \
            return -EOPNOTSUPP;                                               \
        return as__prim_dump((const as__prim *)(const void *)p, out, max);    \
    }
#else
#define AS__PRIM_OBSERVERS_PS(X, T, VALID, PS_WAITERS) AS__PRIM_OBSERVERS(X, T, VALID)
#endif

#endif
