/* Process-shared generation waits: the manual-reset event (AS_PSHARED |
 * AS_EVENT_MANUAL_RESET) and the latch (as_latch_init_flags, AS_PSHARED):
 * docs/pshared.md 3.5.  Neither consumes anything, so nothing is queued:
 * no slot per waiter, no grant, no recovery.  A waiter parks on one
 * shared word and decides by itself what happened while it slept.
 *
 * STATE (64-bit, offset 0 of the object, as every pshared object)
 *   low half:  CLOSED (bit 30), WAITERS (bit 31: a wait may be parked on
 *              the high half; cleared only together with a change of gen);
 *              event: SET (bit 0); latch: the count (bits 0-29).
 *              A wait is "ready" when the event is set / the count is 0.
 *   high half: the word waiters park on (a 32-bit futex word):
 *              gen (bits 4-31) | poke (bits 0-3).
 *   gen moves by 2 when the object becomes ready (a set that finds the
 *   event clear, a count_down that reaches 0) and at every broadcast that
 *   finds WAITERS, and by 1 at close (once: an odd step).  After close,
 *   nothing moves gen (no wait can park on a closed object): set and
 *   count_down change the low half only.  poke moves (mod 16) at a cancel
 *   or deadline of one wait: it changes the word without meaning anything.
 *   Every change is one 64-bit CAS; the kernel compares the high half.
 *
 * Invariant V1 (no lost wake-up): a wait parks with expected = the high
 *   half it read under the process's decision lock (below), after it saw
 *   WAITERS set at that gen (its own CAS, or another wait's).  A change
 *   that moves gen from there sees WAITERS and wakes all on the word: the
 *   kernel either finds the wait queued, or refuses it (-EAGAIN: the word
 *   is no longer the expected value).  Changes that find WAITERS clear
 *   skip the futex(2) call: nobody is parked.
 * Invariant V2 (what a waiter reports): let d = gen now - gen when it
 *   parked.  d >= 2: the object became ready (or was broadcast) while it
 *   waited: 0 (even if it was reset, re-armed or closed since: "wakes every
 *   waiter queued then").  d == 1: only the close: -ESHUTDOWN.  d == 0:
 *   nothing yet; a cancel or deadline decides (-ECANCELED, -ETIMEDOUT),
 *   else it parks again.  A cancel wins over everything (a successful
 *   cancel always reports -ECANCELED); a deadline loses to readiness
 *   (d >= 2).  gen has 28 bits: a waiter whose wake is handled after 2^27
 *   changes misreads d (a process stopped for minutes under a storm).
 * Invariant V3 (cancel, any thread of the waiter's process): the status
 *   is written, and the wait decided, only under the object's queue lock
 *   (qlock, pshared.h), so a canceller and the waiter's fwake never both
 *   decide.  The canceller then moves poke and wakes the word with the
 *   wait's own bit (FUTEX_WAKE_BITSET): a wait already in the kernel is
 *   woken (with at most the 1/32 of the others that share its bit, which
 *   re-park), one whose SQE has not reached the kernel yet is refused
 *   there (the word moved after its expected value was read: V1's
 *   argument).  P8 holds: the wait ends only through its kernel wait's
 *   completion.
 *   Model of V1-V3: tests/model/gwait.pml (BUG_NO_POKE, BUG_NO_WAITERS,
 *   BUG_ARM_REREAD, BUG_CANCEL_NO_LOCK must fail).
 * Invariant V4 (a dead process): it consumed nothing, so it can take
 *   nothing with it.  A setter killed between its CAS and its wake leaves
 *   waiters asleep on a changed gen: each wait's health tick (10 ms
 *   doubling to 1 s) re-reads gen and wakes itself.  The per-process wait
 *   counts (below) of a dead process are reclaimed by whoever counts.  (A
 *   process that dies owing a latch its count_down leaves the count up:
 *   waits wait for their deadline, as docs/pshared.md 9.3 says.)
 *
 * COUNTS (as_*_waiters, as_*_destroy)
 *   A slot per process: who = its participant id, req = its waits parked
 *   now (slot fw, ticket unused).  A process without a slot (more
 *   processes than slots) counts in novf, where a dead process's count
 *   stays (documented).  Dead owners' slots are reclaimed with a CAS of
 *   who to RECLAIMING first, so one reclaimer clears the count.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pshared.h"

#ifdef AS__PS_SUPPORTED

#define EV_SET 1u            /* event */
#define LT_COUNT AS_LATCH_VALUE_MAX /* latch: bits 0-29 */
#define EV_CLOSED 0x40000000u
#define EV_WAITERS 0x80000000u
#define EV_POKE 0xfu
#define EV_GEN1 0x10u /* one step of gen in the high half */
#define EV_GEN_MASK 0x0fffffffu
#define EV_RECLAIMING 0x80000000u /* who: a reclaimer owns the slot */

_Static_assert(sizeof(as_event) == sizeof(as_sem) && sizeof(as_latch) == sizeof(as_sem),
               "one pshared layout");
_Static_assert((LT_COUNT & (EV_CLOSED | EV_WAITERS)) == 0, "latch count bits");
#define LAYOUT AS__PS_LAYOUT(sizeof(as_event))

static inline as__ps *PS(const void *o) { return (as__ps *)(uintptr_t)o; }
static inline uint32_t lo(uint64_t v) { return (uint32_t)v; }
static inline uint32_t hi(uint64_t v) { return (uint32_t)(v >> 32); }
static inline uint64_t mk(uint32_t l, uint32_t h) { return ((uint64_t)h << 32) | l; }
static inline uint32_t gen_of(uint32_t h) { return h >> 4; }
/* gen moved by (mod 2^28) */
static inline uint32_t gen_d(uint32_t now, uint32_t then)
{
    return (gen_of(now) - gen_of(then)) & EV_GEN_MASK;
}
static inline uint32_t nslots(as__ps *ps) { return as__ps_nslots(ps, sizeof(as_event)); }

/* The high half of state, where waiters park. */
static inline uint32_t *park_word(as__ps *ps)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)(void *)&ps->state;
#else
    return (uint32_t *)(void *)&ps->state + 1;
#endif
}

static const struct as__kind event_ps_kind, latch_ps_kind;

static inline int ps_check(const void *o)
{
    return as__load(&PS(o)->layout, AS_ACQUIRE) == LAYOUT ? 0 : -EPROTO;
}

/* as_wait.as__aux: count slot + 1 (bits 0-12; 0: counted in novf) and the
 * wait's wake bit (bits 13-17).  as__n: the high half it parked with. */
static inline void *gw_aux(uint32_t idx, uint32_t bit)
{
    return (void *)(uintptr_t)((bit << 13) | (idx == UINT32_MAX ? 0u : idx + 1u));
}
static inline uint32_t aux_bit(const as_wait *w)
{
    return 1u << (((uint32_t)(uintptr_t)w->as__aux >> 13) & 31u);
}
static inline uint32_t aux_idx(const as_wait *w)
{
    return ((uint32_t)(uintptr_t)w->as__aux & 0x1fffu) - 1u;
}

/* ---- counts ---- */

/* Reclaim slot i if its owner is dead (COUNTS).  true if it is free now. */
static bool gw_reclaim(as__ps *ps, uint32_t i)
{
    as__ps_slot *sl = as__ps_slot_at(ps, i);
    uint32_t who = as__load(&sl->who, AS_ACQUIRE);
    if (who == 0)
        return true;
    if ((who & EV_RECLAIMING) || who == as__ps_me() || as__ps_alive(who))
        return false;
    if (!as__cas(&sl->who, &who, EV_RECLAIMING, AS_ACQ_REL, AS_RELAXED))
        return false;
    as__store(&sl->req, 0u, AS_RELAXED);
    as__store(&sl->who, 0u, AS_RELEASE);
    return true;
}

/* Count one wait of this process; returns the slot (UINT32_MAX: novf). */
static uint32_t gw_count_add(as__ps *ps)
{
    uint32_t me = as__ps_me(), ns = nslots(ps), i;
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0; i < ns; i++) {
            as__ps_slot *sl = as__ps_slot_at(ps, i);
            if (as__load(&sl->who, AS_RELAXED) == me) {
                as__fetch_add(&sl->req, 1u, AS_RELAXED);
                return i;
            }
        }
        i = as__ps_slot_alloc(ps, ns, me);
        if (i != UINT32_MAX) {
            as__fetch_add(&as__ps_slot_at(ps, i)->req, 1u, AS_RELAXED);
            return i;
        }
        /* every slot owned: reclaim the dead owners' (slow: /proc), once */
        for (i = 0; i < ns && pass == 0; i++)
            (void)gw_reclaim(ps, i);
    }
    as__fetch_add(&ps->novf, 1u, AS_RELAXED);
    return UINT32_MAX;
}

static void gw_count_sub(as__ps *ps, uint32_t idx)
{
    if (idx == UINT32_MAX)
        as__fetch_sub(&ps->novf, 1u, AS_RELAXED);
    else
        as__fetch_sub(&as__ps_slot_at(ps, idx)->req, 1u, AS_RELAXED);
}

/* Waits parked now: live processes' counts (dead ones reclaimed) and
 * novf. */
static int64_t gw_count(as__ps *ps)
{
    uint32_t ns = nslots(ps);
    int64_t k = as__load(&ps->novf, AS_RELAXED);
    for (uint32_t i = 0; i < ns; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        uint32_t n = as__load(&sl->req, AS_RELAXED);
        if (n != 0 && !gw_reclaim(ps, i))
            k += as__load(&sl->req, AS_RELAXED);
    }
    return k;
}

/* ---- init, destroy, observers ---- */

/* An auto-reset event is not a generation wait: one set, one waiter, so
 * it queues in slots, as a semaphore whose count saturates at 1 (sem_ps.c,
 * EA1-EA2).  The event's calls below send it there. */
static inline bool ev_auto(const as_event *e)
{
    return !(as__load(&PS(e)->flags, AS_RELAXED) & AS_EVENT_MANUAL_RESET);
}

int as__event_ps_init(as_event *e, unsigned flags)
{
    /* flags checked by as_event_init (as__ps_flags_ok) */
    as__ps_init(PS(e),
                (flags & AS_EVENT_INITIALLY_SET) ? (flags & AS_EVENT_MANUAL_RESET ? EV_SET : 1u)
                                                 : 0u,
                flags, AS__MAGIC_EVENT);
    return 0;
}

int as__latch_ps_init(as_latch *l, uint32_t count, unsigned flags)
{
    /* count and flags checked by as_latch_init_flags (as__ps_flags_ok) */
    as__ps_init(PS(l), count, flags, AS__MAGIC_LATCH);
    return 0;
}

int as__gw_ps_destroy(void *o)
{
    int r = ps_check(o);
    if (r < 0)
        return r;
    if (as__load(&PS(o)->magic, AS_RELAXED) == AS__MAGIC_EVENT && ev_auto(o))
        return as__ps_destroy(PS(o));
    if (gw_count(PS(o)) != 0)
        return -EBUSY;
    as__store(&PS(o)->magic, 0u, AS_RELEASE);
    return 0;
}

int64_t as__gw_ps_waiters(const void *o)
{
    int r = ps_check(o);
    if (r < 0)
        return r;
    if (as__load(&PS(o)->magic, AS_RELAXED) == AS__MAGIC_EVENT && ev_auto(o))
        return as__ps_waiters(PS(o));
    return gw_count(PS(o));
}

int as__event_ps_is_set(const as_event *e)
{
    int r = ps_check(e);
    if (r < 0)
        return r;
    if (ev_auto(e))
        return as__ps_event_is_set(PS(e));
    return (lo(as__load(&PS(e)->state, AS_ACQUIRE)) & EV_SET) ? 1 : 0;
}

int64_t as__latch_ps_value(const as_latch *l)
{
    int r = ps_check(l);
    if (r < 0)
        return r;
    return (int64_t)(lo(as__load(&PS(l)->state, AS_ACQUIRE)) & LT_COUNT);
}

/* ---- changes: set, reset, broadcast, close, count_down, add ---- */

/* op(v, n, &nv): 0 with the next value in nv (nv == v: no change), or a
 * negative errno (nothing changes). */
typedef int (*gw_op)(uint64_t v, uint32_t n, uint64_t *nv);

/* One CAS of state, then V1's wake if the change cleared WAITERS. */
static int gw_change(void *o, gw_op op, uint32_t n)
{
    as__ps *ps = PS(o);
    uint64_t v, nv;
    int r = ps_check(o);
    if (r < 0)
        return r;
    v = as__load(&ps->state, AS_RELAXED);
    do {
        if ((r = op(v, n, &nv)) < 0)
            return r;
        if (nv == v)
            return 0;
    } while (!as__cas(&ps->state, &v, nv, AS_ACQ_REL, AS_RELAXED));
    if ((lo(v) & EV_WAITERS) && !(lo(nv) & EV_WAITERS))
        (void)as__futex_wake_shared(park_word(ps), true);
    return 0;
}

/* The object becomes ready (low half l): gen += 2 unless closed (V2). */
static uint64_t gw_ready(uint32_t l, uint32_t h)
{
    if (l & EV_CLOSED)
        return mk(l, h);
    return mk(l & ~EV_WAITERS, h + 2 * EV_GEN1);
}

static int op_set(uint64_t v, uint32_t n, uint64_t *nv)
{
    (void)n;
    *nv = (lo(v) & EV_SET) ? v : gw_ready(lo(v) | EV_SET, hi(v));
    return 0;
}

static int op_reset(uint64_t v, uint32_t n, uint64_t *nv)
{
    (void)n;
    *nv = v & ~(uint64_t)EV_SET;
    return 0;
}

static int op_broadcast(uint64_t v, uint32_t n, uint64_t *nv)
{
    (void)n;
    *nv = (lo(v) & EV_WAITERS) ? gw_ready(lo(v), hi(v)) : v;
    return 0;
}

static int op_close(uint64_t v, uint32_t n, uint64_t *nv)
{
    uint32_t l = lo(v);
    (void)n;
    *nv = (l & EV_CLOSED) ? v : mk((l | EV_CLOSED) & ~EV_WAITERS, hi(v) + EV_GEN1);
    return 0;
}

static int op_count_down(uint64_t v, uint32_t n, uint64_t *nv)
{
    uint32_t l = lo(v), c = l & LT_COUNT;
    if (c < n)
        return -ERANGE; /* below zero: nothing changed */
    l = (l & ~LT_COUNT) | (c - n);
    *nv = c == n ? gw_ready(l, hi(v)) : mk(l, hi(v));
    return 0;
}

static int op_add(uint64_t v, uint32_t n, uint64_t *nv)
{
    uint32_t l = lo(v);
    if ((l & LT_COUNT) > AS_LATCH_VALUE_MAX - n)
        return -EOVERFLOW;
    *nv = mk(l + n, hi(v)); /* from 0: re-armed (later waits park) */
    return 0;
}

/* The auto-reset event's calls go to the core (ev_auto). */
#define EV_AUTO(e, call)                                                      \
    do {                                                                      \
        int r_ = ps_check(e);                                                 \
        if (r_ < 0)                                                           \
            return r_;                                                        \
        if (ev_auto(e))                                                       \
            return (call);                                                    \
    } while (0)

int as__event_ps_set(as_event *e)
{
    EV_AUTO(e, as__ps_event_set(PS(e)));
    return gw_change(e, op_set, 0);
}

int as__event_ps_reset(as_event *e)
{
    EV_AUTO(e, as__ps_event_reset(PS(e)));
    return gw_change(e, op_reset, 0);
}

int as__event_ps_broadcast(as_event *e)
{
    EV_AUTO(e, as__ps_event_broadcast(PS(e)));
    return gw_change(e, op_broadcast, 0);
}

int as__gw_ps_close(void *o)
{
    if (as__load(&PS(o)->magic, AS_RELAXED) == AS__MAGIC_EVENT)
        EV_AUTO((as_event *)o, as__ps_close(PS(o)));
    return gw_change(o, op_close, 0);
}
int as__latch_ps_count_down(as_latch *l, uint32_t n) { return gw_change(l, op_count_down, n); }
int as__latch_ps_add(as_latch *l, uint32_t n) { return gw_change(l, op_add, n); }

/* Test hook (tests/test_pshared.c, V4): a set whose process dies between
 * its commit and its wake: the commit alone. */
int as__event_ps_set_nowake(as_event *e);
int as__event_ps_set_nowake(as_event *e)
{
    uint64_t v = as__load(&PS(e)->state, AS_RELAXED), nv;
    do
        (void)op_set(v, 0, &nv);
    while (!as__cas(&PS(e)->state, &v, nv, AS_ACQ_REL, AS_RELAXED));
    return 0;
}

/* ---- wait ---- */

/* Is the object ready (low half l)?  Event: set; latch: count 0. */
static bool gw_is_ready(const struct as__kind *kind, uint32_t l)
{
    return kind == &event_ps_kind ? (l & EV_SET) != 0 : (l & LT_COUNT) == 0;
}

/* The fast answer (1 ready, -ESHUTDOWN closed, -ETIMEDOUT), or 0 with
 * WAITERS set at the returned high half (*h): the wait may park on it. */
static int gw_enter(as__ps *ps, const struct as__kind *kind, uint64_t deadline,
                    uint32_t *h)
{
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    for (;;) {
        uint32_t l = lo(v);
        if (l & EV_CLOSED)
            return -ESHUTDOWN;
        if (gw_is_ready(kind, l))
            return 1;
        if (as__deadline_passed(deadline))
            return -ETIMEDOUT;
        if ((l & EV_WAITERS) ||
            as__cas(&ps->state, &v, v | EV_WAITERS, AS_ACQ_REL, AS_ACQUIRE)) {
            *h = hi(v);
            return 0;
        }
    }
}

/* V2: what a wait that parked at high half `then` reports now (1: no
 * news, park again). */
static int gw_outcome(as__ps *ps, uint32_t then, int status, uint32_t *h)
{
    uint32_t now = hi(as__load(&ps->state, AS_ACQUIRE)), d = gen_d(now, then);
    *h = now;
    if (status == -ECANCELED)
        return status;
    if (d >= 2)
        return 0;
    if (d == 1)
        return -ESHUTDOWN;
    return status != 0 ? status : 1;
}

static uint32_t gw_next_bit(void)
{
    static uint32_t next; /* atomic: spreads waits over the 32 bits */
    return as__fetch_add(&next, 1u, AS_RELAXED) & 31u;
}

static int gw_wait(void *o, const struct as__kind *kind, as_loop *loop,
                   as_wait *w, uint64_t deadline, as_callback cb, void *arg)
{
    as__ps *ps = PS(o);
    uint32_t h = 0;
    uint64_t tick;
    int r = ps_check(o);
    if (r < 0)
        return r;
    /* 11: refused before anything changes, whatever the state */
    if (!(loop->as__caps & AS_CAP_PSHARED) || !loop->as__ops->fwait)
        return -EOPNOTSUPP;
    r = gw_enter(ps, kind, deadline, &h);
    if (r != 0) {
        if (r == 1 && as__loop_always_cb(loop))
            return as__wait_inline(w, loop, kind, cb, arg, o, 0, 0);
        return r;
    }
    as__wait_prepare(w, loop, kind, cb, arg, o);
    w->as__n = h;
    w->as__aux = gw_aux(gw_count_add(ps), gw_next_bit());
    /* 9.1 as sem_ps: the heap holds the earlier of the deadline and the
     * health tick; the user's deadline is as__until */
    tick = as_now_ns() + as__ps_tick_ns();
        /* V1/V3: h was read before the wait became cancellable */
    as__store(&w->as__state, AS__W_QUEUED, AS_RELEASE);
    as__wait_parked_at(w, deadline, deadline < tick ? deadline : tick);
    (void)as__loop_fwait_mask(w, park_word(ps), h, aux_bit(w));
    return 0;
}

int as__event_ps_wait(as_event *e, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg)
{
    EV_AUTO(e, as__ps_acquire(PS(e), loop, w, 1, deadline, cb, arg));
    return gw_wait(e, &event_ps_kind, loop, w, deadline, cb, arg);
}

int as__latch_ps_wait(as_latch *l, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg)
{
    return gw_wait(l, &latch_ps_kind, loop, w, deadline, cb, arg);
}

/* kind->fwake: the wait's loop thread.  Decide (V2), or park again with
 * the value read under the lock (V3). */
static void gw_fwake(as_wait *w, int res)
{
    as__ps *ps = PS(w->as__home);
    uint32_t h;
    int status;
    (void)as__ps_lock(ps); /* nothing to recover: no log (3.5) */
    status = gw_outcome(ps, w->as__n, as__load(&w->as__status, AS_RELAXED), &h);
    if (status == 1 && res < 0 && res != -EAGAIN && res != -EINTR &&
        res != -ECANCELED && res != -ETIME)
        status = res; /* the kernel refuses the wait for good */
    if (status == 1) {
        as__ps_unlock(ps);
        (void)as__loop_fwait_mask(w, park_word(ps), h, aux_bit(w));
        return;
    }
    gw_count_sub(ps, aux_idx(w));
    as__store(&w->as__status, status, AS_RELAXED);
    as__store(&w->as__state, AS__W_DONE, AS_RELEASE);
    as__ps_unlock(ps);
    as__wait_finish(w);
}

/* V3: move poke (one CAS; the gen bits are kept), then wake the bit. */
static void gw_poke(as__ps *ps, uint32_t bit)
{
    uint64_t v = as__load(&ps->state, AS_RELAXED), nv;
    do {
        uint32_t h = hi(v);
        nv = mk(lo(v), (h & ~EV_POKE) | ((h + 1u) & EV_POKE));
    } while (!as__cas(&ps->state, &v, nv, AS_ACQ_REL, AS_RELAXED));
    (void)as__futex_wake_shared_mask(park_word(ps), bit);
}

/* kind->cancel: any thread of the waiter's process (V3).  0: the callback
 * will report it; -ENOENT: decided; -EAGAIN: no longer this wait. */
static int gw_cancel(as_wait *w, int status)
{
    uint32_t st = as__load(&w->as__state, AS_ACQUIRE), bit = 0;
    const struct as__kind *kind = as__load(&w->as__kind, AS_RELAXED);
    void *o;
    as__ps *ps;
    bool poke = false;
    int cur;
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED)
        return -ENOENT;
    o = as__load(&w->as__obj, AS_RELAXED);
    ps = PS(o);
    (void)as__ps_lock(ps);
    st = as__load(&w->as__state, AS_ACQUIRE);
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED ||
        as__load(&w->as__obj, AS_RELAXED) != o ||
        as__load(&w->as__kind, AS_RELAXED) != kind) {
        as__ps_unlock(ps);
        return -EAGAIN;
    }
    cur = as__load(&w->as__status, AS_RELAXED);
    if (cur == 0 || (status == -ECANCELED && cur != -ECANCELED)) {
        as__store(&w->as__status, status, AS_RELAXED);
        bit = aux_bit(w);
        poke = true;
    }
    as__ps_unlock(ps);
    if (poke)
        gw_poke(ps, bit);
    return 0;
}

/* kind->tick (9.1, V4): its own deadline -> expire; else, if gen moved
 * and it is still here, a setter died before its wake: wake ourselves. */
#define GW_TICK_SHIFT 12
#define GW_TICK_MASK (0xfu << GW_TICK_SHIFT)
static bool gw_tick(as_wait *w, uint64_t now)
{
    as__ps *ps = PS(w->as__home);
    uint64_t user = w->as__until, next, base, max;
    uint32_t e = (w->as__flags & GW_TICK_MASK) >> GW_TICK_SHIFT;
    uint32_t st = as__load(&w->as__state, AS_ACQUIRE);
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED)
        return false;
    if (user != AS_NO_DEADLINE && now >= user) {
        as__wait_expire(w);
        return true;
    }
    if (gen_d(hi(as__load(&ps->state, AS_ACQUIRE)), w->as__n) != 0)
        (void)as__futex_wake_shared_mask(park_word(ps), aux_bit(w));
    base = as__ps_tick_ns();
    max = as__ps_tick_max_ns(base);
    next = e < 32 && (base << e) < max ? base << e : max;
    if (e < 15)
        w->as__flags = (w->as__flags & ~GW_TICK_MASK) | ((e + 1) << GW_TICK_SHIFT);
    next += now;
    as__timer_add(w->as__loop, w, user < next ? user : next);
    return false;
}

/* ---- blocking ---- */

static int gw_blocking(void *o, const struct as__kind *kind, uint64_t deadline)
{
    as__ps *ps = PS(o);
    uint64_t tick_ns = as__ps_tick_ns();
    uint32_t then = 0, h, idx;
    int r = ps_check(o);
    if (r < 0)
        return r;
    r = gw_enter(ps, kind, deadline, &then);
    if (r != 0)
        return r == 1 ? 0 : r;
    idx = gw_count_add(ps);
    h = then;
    for (;;) {
        uint64_t now = as_now_ns(), t = now + tick_ns;
        /* V1: a change after the read of h fails the futex's value check;
         * the health tick (V4) is the timeout */
        as__futex_wait_shared(park_word(ps), h, deadline < t ? deadline : t);
        r = gw_outcome(ps, then, 0, &h);
        if (r != 1)
            break;
        if (as__deadline_passed(deadline)) {
            r = -ETIMEDOUT;
            break;
        }
        if (as_now_ns() >= t && tick_ns < as__ps_tick_max_ns(tick_ns))
            tick_ns *= 2;
    }
    gw_count_sub(ps, idx);
    return r;
}

int as__event_ps_blocking(as_event *e, uint64_t deadline)
{
    EV_AUTO(e, as__ps_blocking(PS(e), 1, deadline));
    return gw_blocking(e, &event_ps_kind, deadline);
}

int as__latch_ps_blocking(as_latch *l, uint64_t deadline)
{
    return gw_blocking(l, &latch_ps_kind, deadline);
}

/* Nothing is consumed: a cancel after the wake passes nothing on. */
static const struct as__kind event_ps_kind = {
    .name = "event",
    .cancel = gw_cancel,
    .giveback = NULL,
    .fwake = gw_fwake,
    .tick = gw_tick,
    .pshared = true,
};

static const struct as__kind latch_ps_kind = {
    .name = "latch",
    .cancel = gw_cancel,
    .giveback = NULL,
    .fwake = gw_fwake,
    .tick = gw_tick,
    .pshared = true,
};
#else
typedef int as__gwait_ps_unused;
#endif
