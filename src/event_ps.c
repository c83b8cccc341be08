/* Process-shared manual-reset event (AS_PSHARED | AS_EVENT_MANUAL_RESET):
 * docs/pshared.md 3.5.  Nothing is consumed, so nothing is queued: no
 * slot per waiter, no grant, no recovery.  A waiter parks on one shared
 * word and decides by itself what happened while it slept.
 *
 * STATE (64-bit, offset 0 of the object, as every pshared object)
 *   low half:  SET (1), CLOSED (2), WAITERS (4: a wait may be parked on
 *              the high half; cleared only together with a change of gen).
 *   high half: the word waiters park on (a 32-bit futex word):
 *              gen (bits 4-31) | poke (bits 0-3).
 *   gen moves by 2 at every set that finds the event clear and every
 *   broadcast that finds WAITERS, and by 1 at close (once: an odd step).
 *   After close, set and broadcast change SET only (no waiter can park
 *   on a closed event).  poke moves (mod 16) at a cancel or deadline of
 *   one wait: it changes the word without meaning anything.
 *   Every change is one 64-bit CAS; the kernel compares the high half.
 *
 * Invariant V1 (no lost wake-up): a wait parks with expected = the high
 *   half it read under the process's decision lock (below), after it saw
 *   WAITERS set at that gen (its own CAS, or another wait's).  A set,
 *   broadcast or close from that gen on changes gen and, seeing WAITERS,
 *   wakes all on the word: the kernel either finds the wait queued, or
 *   refuses it (-EAGAIN: the word is no longer the expected value).  Sets
 *   that find WAITERS clear skip the futex(2) call: nobody is parked.
 * Invariant V2 (what a waiter reports): let d = gen now - gen when it
 *   parked.  d >= 2: a set or broadcast came while it waited: 0 (even if
 *   the event was reset or closed since: "set wakes every waiter queued
 *   then").  d == 1: only the close: -ESHUTDOWN.  d == 0: nothing yet;
 *   a cancel or deadline decides (-ECANCELED, -ETIMEDOUT), else it parks
 *   again.  A cancel wins over everything (a successful cancel always
 *   reports -ECANCELED); a deadline loses to a set (d >= 2).  gen has 28
 *   bits: a waiter whose wake is handled after 2^27 sets misreads d (it
 *   would take a process stopped for minutes under a storm of sets).
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
 * Invariant V4 (a dead process): it consumed nothing, so it can take
 *   nothing with it.  A setter killed between its CAS and its wake leaves
 *   waiters asleep on a changed gen: each wait's health tick (10 ms
 *   doubling to 1 s) re-reads gen and wakes itself.  The per-process wait
 *   counts (below) of a dead process are reclaimed by whoever counts.
 *
 * COUNTS (as_event_waiters, as_event_destroy)
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

#define EV_SET 1u
#define EV_CLOSED 2u
#define EV_WAITERS 4u
#define EV_POKE 0xfu
#define EV_GEN1 0x10u /* one step of gen in the high half */
#define EV_GEN_MASK 0x0fffffffu
#define EV_RECLAIMING 0x80000000u /* who: a reclaimer owns the slot */

_Static_assert(sizeof(as_event) == sizeof(as_sem), "one pshared layout");
#define LAYOUT AS__PS_LAYOUT(sizeof(as_event))

static inline as__ps *PS(const as_event *e) { return (as__ps *)(uintptr_t)e; }
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

static const struct as__kind event_ps_kind;

static inline int ps_check(const as_event *e)
{
    return as__load(&PS(e)->layout, AS_ACQUIRE) == LAYOUT ? 0 : -EPROTO;
}

/* as_wait.as__aux: count slot + 1 (bits 0-12; 0: counted in novf) and the
 * wait's wake bit (bits 13-17).  as__n: the high half it parked with. */
static inline void *ev_aux(uint32_t idx, uint32_t bit)
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
static bool ev_reclaim(as__ps *ps, uint32_t i)
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
static uint32_t ev_count_add(as__ps *ps)
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
            (void)ev_reclaim(ps, i);
    }
    as__fetch_add(&ps->novf, 1u, AS_RELAXED);
    return UINT32_MAX;
}

static void ev_count_sub(as__ps *ps, uint32_t idx)
{
    if (idx == UINT32_MAX)
        as__fetch_sub(&ps->novf, 1u, AS_RELAXED);
    else
        as__fetch_sub(&as__ps_slot_at(ps, idx)->req, 1u, AS_RELAXED);
}

/* Waits parked now: live processes' counts (dead ones reclaimed) and
 * novf. */
static int64_t ev_count(as__ps *ps)
{
    uint32_t ns = nslots(ps);
    int64_t k = as__load(&ps->novf, AS_RELAXED);
    for (uint32_t i = 0; i < ns; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        uint32_t n = as__load(&sl->req, AS_RELAXED);
        if (n != 0 && !ev_reclaim(ps, i))
            k += as__load(&sl->req, AS_RELAXED);
    }
    return k;
}

/* ---- init, destroy, observers ---- */

int as__event_ps_init(as_event *e, unsigned flags)
{
    as__ps *ps = PS(e);
    uint32_t k = (flags >> 16) & 0xfffu, n;
    if (k > AS_PSHARED_SLOTS_MAX ||
        (flags & ~(AS_PSHARED | AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET |
                   AS_PSHARED_SLOTS(0xfffu))))
        return -EINVAL;
    if (!(flags & AS_EVENT_MANUAL_RESET))
        return -EOPNOTSUPP; /* auto-reset across processes: not built yet */
    /* as sem_ps: every field written, magic last (P11) */
    as__store(&ps->magic, 0u, AS_RELAXED);
    ps->state = (flags & AS_EVENT_INITIALLY_SET) ? EV_SET : 0u;
    ps->flags = flags;
    ps->layout = LAYOUT;
    ps->qlock = ps->log = ps->tail = ps->served = 0;
    ps->ovf = ps->novf = ps->checked = 0;
    n = (uint32_t)AS__PS_INSLOTS(sizeof(as_event)) + k;
    for (uint32_t i = 0; i < n; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        sl->fw = sl->who = sl->ticket = sl->req = 0;
    }
    as__store(&ps->magic, AS__MAGIC_EVENT, AS_RELEASE);
    return 0;
}

int as__event_ps_destroy(as_event *e)
{
    int r = ps_check(e);
    if (r < 0)
        return r;
    if (ev_count(PS(e)) != 0)
        return -EBUSY;
    as__store(&PS(e)->magic, 0u, AS_RELEASE);
    return 0;
}

int64_t as__event_ps_waiters(const as_event *e)
{
    int r = ps_check(e);
    return r < 0 ? r : ev_count(PS(e));
}

int as__event_ps_is_set(const as_event *e)
{
    int r = ps_check(e);
    if (r < 0)
        return r;
    return (lo(as__load(&PS(e)->state, AS_ACQUIRE)) & EV_SET) ? 1 : 0;
}

/* ---- set, reset, broadcast, close ---- */

/* One CAS of state: op(v) gives the next value, or v itself for "no
 * change"; then V1's wake if the change cleared WAITERS. */
static int ev_change(as_event *e, uint64_t (*op)(uint64_t v))
{
    as__ps *ps = PS(e);
    uint64_t v, nv;
    int r = ps_check(e);
    if (r < 0)
        return r;
    v = as__load(&ps->state, AS_RELAXED);
    do {
        nv = op(v);
        if (nv == v)
            return 0;
    } while (!as__cas(&ps->state, &v, nv, AS_ACQ_REL, AS_RELAXED));
    if ((lo(v) & EV_WAITERS) && !(lo(nv) & EV_WAITERS))
        (void)as__futex_wake_shared(park_word(ps), true);
    return 0;
}

static uint64_t op_set(uint64_t v)
{
    uint32_t l = lo(v), h = hi(v);
    if (l & EV_SET)
        return v;
    if (l & EV_CLOSED)
        return mk(l | EV_SET, h);
    return mk((l | EV_SET) & ~EV_WAITERS, h + 2 * EV_GEN1);
}

static uint64_t op_reset(uint64_t v) { return v & ~(uint64_t)EV_SET; }

static uint64_t op_broadcast(uint64_t v)
{
    uint32_t l = lo(v);
    if (!(l & EV_WAITERS) || (l & EV_CLOSED))
        return v;
    return mk(l & ~EV_WAITERS, hi(v) + 2 * EV_GEN1);
}

static uint64_t op_close(uint64_t v)
{
    uint32_t l = lo(v);
    if (l & EV_CLOSED)
        return v;
    return mk((l | EV_CLOSED) & ~EV_WAITERS, hi(v) + EV_GEN1);
}

int as__event_ps_set(as_event *e) { return ev_change(e, op_set); }

/* Test hook (tests/test_pshared.c, V4): a set whose process dies between
 * its commit and its wake: the commit alone. */
int as__event_ps_set_nowake(as_event *e);
int as__event_ps_set_nowake(as_event *e)
{
    uint64_t v = as__load(&PS(e)->state, AS_RELAXED);
    while (!as__cas(&PS(e)->state, &v, op_set(v), AS_ACQ_REL, AS_RELAXED))
        ;
    return 0;
}
int as__event_ps_reset(as_event *e) { return ev_change(e, op_reset); }
int as__event_ps_broadcast(as_event *e) { return ev_change(e, op_broadcast); }
int as__event_ps_close(as_event *e) { return ev_change(e, op_close); }

/* ---- wait ---- */

/* The fast answer (1 set, -ESHUTDOWN closed, -ETIMEDOUT), or 0 with
 * WAITERS set at the returned high half (*h): the wait may park on it. */
static int ev_enter(as__ps *ps, uint64_t deadline, uint32_t *h)
{
    uint64_t v = as__load(&ps->state, AS_ACQUIRE);
    for (;;) {
        uint32_t l = lo(v);
        if (l & EV_CLOSED)
            return -ESHUTDOWN;
        if (l & EV_SET)
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
static int ev_outcome(as__ps *ps, uint32_t then, int status, uint32_t *h)
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

static uint32_t ev_next_bit(void)
{
    static uint32_t next; /* atomic: spreads waits over the 32 bits */
    return as__fetch_add(&next, 1u, AS_RELAXED) & 31u;
}

int as__event_ps_wait(as_event *e, as_loop *loop, as_wait *w,
                      uint64_t deadline, as_callback cb, void *arg)
{
    as__ps *ps = PS(e);
    uint32_t h = 0;
    uint64_t tick;
    int r = ps_check(e);
    if (r < 0)
        return r;
    /* 11: refused before anything changes, whatever the state */
    if (!(loop->as__caps & AS_CAP_PSHARED) || !loop->as__ops->fwait)
        return -EOPNOTSUPP;
    r = ev_enter(ps, deadline, &h);
    if (r != 0) {
        if (r == 1 && as__loop_always_cb(loop))
            return as__wait_inline(w, loop, &event_ps_kind, cb, arg, e, 0, 0);
        return r;
    }
    as__wait_prepare(w, loop, &event_ps_kind, cb, arg, e);
    w->as__n = h;
    w->as__aux = ev_aux(ev_count_add(ps), ev_next_bit());
    /* 9.1 as sem_ps: the heap holds the earlier of the deadline and the
     * health tick; the user's deadline is kept in as__since */
    tick = as_now_ns() + as__ps_tick_ns();
    w->as__since = deadline;
    /* V1/V3: h was read before the wait became cancellable */
    as__store(&w->as__state, AS__W_QUEUED, AS_RELEASE);
    as__wait_parked(w, deadline < tick ? deadline : tick);
    (void)as__loop_fwait_mask(w, park_word(ps), h, aux_bit(w));
    return 0;
}

/* kind->fwake: the wait's loop thread.  Decide (V2), or park again with
 * the value read under the lock (V3). */
static void event_ps_fwake(as_wait *w, int res)
{
    as_event *e = (as_event *)w->as__home;
    as__ps *ps = PS(e);
    uint32_t h;
    int status;
    (void)as__ps_lock(ps); /* nothing to recover: no log (3.5) */
    status = ev_outcome(ps, w->as__n, as__load(&w->as__status, AS_RELAXED), &h);
    if (status == 1 && res < 0 && res != -EAGAIN && res != -EINTR &&
        res != -ECANCELED && res != -ETIME)
        status = res; /* the kernel refuses the wait for good */
    if (status == 1) {
        as__ps_unlock(ps);
        (void)as__loop_fwait_mask(w, park_word(ps), h, aux_bit(w));
        return;
    }
    ev_count_sub(ps, aux_idx(w));
    as__store(&w->as__status, status, AS_RELAXED);
    as__store(&w->as__state, AS__W_DONE, AS_RELEASE);
    as__ps_unlock(ps);
    as__wait_finish(w);
}

/* V3: move poke (one CAS; the gen bits are kept), then wake the bit. */
static void ev_poke(as__ps *ps, uint32_t bit)
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
static int event_ps_cancel(as_wait *w, int status)
{
    uint32_t st = as__load(&w->as__state, AS_ACQUIRE), bit = 0;
    as_event *e;
    as__ps *ps;
    bool poke = false;
    int cur;
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED)
        return -ENOENT;
    e = (as_event *)as__load(&w->as__obj, AS_RELAXED);
    ps = PS(e);
    (void)as__ps_lock(ps);
    st = as__load(&w->as__state, AS_ACQUIRE);
    if (!as__wait_busy(st) || as__wait_base(st) != AS__W_QUEUED ||
        as__load(&w->as__obj, AS_RELAXED) != (void *)e ||
        as__load(&w->as__kind, AS_RELAXED) != &event_ps_kind) {
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
        ev_poke(ps, bit);
    return 0;
}

/* kind->tick (9.1, V4): its own deadline -> expire; else, if gen moved
 * and it is still here, a setter died before its wake: wake ourselves. */
#define EV_TICK_SHIFT 12
#define EV_TICK_MASK (0xfu << EV_TICK_SHIFT)
static bool event_ps_tick(as_wait *w, uint64_t now)
{
    as__ps *ps = PS((as_event *)w->as__home);
    uint64_t user = w->as__since, next, base, max;
    uint32_t e = (w->as__flags & EV_TICK_MASK) >> EV_TICK_SHIFT;
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
        w->as__flags = (w->as__flags & ~EV_TICK_MASK) | ((e + 1) << EV_TICK_SHIFT);
    next += now;
    as__timer_add(w->as__loop, w, user < next ? user : next);
    return false;
}

/* ---- blocking ---- */

int as__event_ps_blocking(as_event *e, uint64_t deadline)
{
    as__ps *ps = PS(e);
    uint64_t tick_ns = as__ps_tick_ns();
    uint32_t then = 0, h, idx;
    int r = ps_check(e);
    if (r < 0)
        return r;
    r = ev_enter(ps, deadline, &then);
    if (r != 0)
        return r == 1 ? 0 : r;
    idx = ev_count_add(ps);
    h = then;
    for (;;) {
        uint64_t now = as_now_ns(), t = now + tick_ns;
        /* V1: a change after the read of h fails the futex's value check;
         * the health tick (V4) is the timeout */
        as__futex_wait_shared(park_word(ps), h, deadline < t ? deadline : t);
        r = ev_outcome(ps, then, 0, &h);
        if (r != 1)
            break;
        if (as__deadline_passed(deadline)) {
            r = -ETIMEDOUT;
            break;
        }
        if (as_now_ns() >= t && tick_ns < as__ps_tick_max_ns(tick_ns))
            tick_ns *= 2;
    }
    ev_count_sub(ps, idx);
    return r;
}

static const struct as__kind event_ps_kind = {
    .name = "event",
    .cancel = event_ps_cancel,
    .giveback = NULL, /* a manual-reset event's set is not consumed */
    .fwake = event_ps_fwake,
    .tick = event_ps_tick,
    .pshared = true,
};
#else
typedef int as__event_ps_unused;
#endif
