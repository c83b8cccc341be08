/*
 * The primitives as rows: one table entry per primitive, so that a scenario
 * (a deadline passes, a close ends the waits, a plain thread blocks...) is
 * written once and run over every primitive, on every loop kind the test is
 * registered for (IREE's cts/ is the model).  A new primitive adds a row.
 *
 * Each row builds its primitive in a state where a wait must wait ("held"):
 * a semaphore with 0 permits, a mutex locked by the test, a condvar (with
 * its mutex free), an auto-reset event that is not set.  `grant` makes the
 * oldest waiter succeed; what a successful waiter holds it gives back in its
 * callback (the harness unlocks a mutex in the callback), or `settle` does.
 *
 * Some rows have no `grant` that serves the oldest waiter alone: one call
 * serves every waiter queued then (`grant_all`: a latch counted down to 0, a
 * barrier's last arrival, a write unlock in front of queued readers, a
 * manual-reset event's set).  TP_EACH runs only the rows with a `grant` (the
 * scenarios of test_deadline.c and test_stats.c need it); TP_EACH_IF picks
 * rows by a predicate (tests/test_prims.c).  How a row opts out of a
 * scenario: a NULL operation (no `grant`, no `grant_all`, no `avail`, no
 * `open`), after_all < 0, or a flag (TP_SPENT).
 */
#ifndef AS_TEST_PRIMS_H
#define AS_TEST_PRIMS_H

#include "harness.h"

typedef struct tp {
    const struct tp_ops *ops;
    as_sem s;
    as_mutex m;
    as_cond c;
    as_event e;
    as_rwlock rw;
    as_latch l;
    as_barrier b;
    /* barrier row: the loop of the waits, and the arrivals grant_all adds */
    th_loop *L;
    int nhelp;
    th_waiter help[40];
} tp;

/* row flags */
#define TP_SPENT 0x1u /* a grant_all is not remembered: a wait after it waits */

typedef struct tp_ops {
    const char *name;
    void (*make)(tp *p);
    /* start a wait: *_until, or *_async for AS_NO_DEADLINE; returns what
     * the call returned (1 is an error here: every row waits) */
    int (*wait)(tp *p, th_waiter *tw, uint64_t deadline);
    /* make the oldest waiter succeed (any thread) */
    int (*grant)(tp *p);
    int (*close)(tp *p);
    /* a plain thread's wait; on 0 it gives back what it got */
    int (*blocking)(tp *p, uint64_t deadline);
    /* after the scenario: give back what the test holds, destroy (0) */
    void (*finish)(tp *p);
    /* waits queued now */
    int64_t (*waiters)(tp *p);
    /* a loop waiter's callback passes its grant on (the harness unlocks a
     * mutex in the callback); a blocking waiter gives back when it returns */
    bool cb_passes, blocking_passes;
    /* ---- for the scenarios of tests/test_prims.c ---- */
    /* serve every waiter queued now, oldest first (NULL: the row has none) */
    int (*grant_all)(tp *p);
    /* the test takes again the hold that `grant` gives away (rows whose
     * waiters pass it on in their callback; NULL: nothing to take) */
    void (*hold)(tp *p);
    /* 1 when a newcomer would be granted now (a permit, the lock free, the
     * event set, the count 0), 0 when not, without changing it; NULL: the
     * row has no such state (a condvar, a barrier) */
    int (*avail)(tp *p);
    /* avail() once every queued waiter was served (and gave back what it
     * holds): -1 when avail is NULL */
    int after_all;
    /* make the next wait succeed at once (NULL: no wait can: a condvar, a
     * barrier of more than one party) */
    void (*open)(tp *p);
    /* the row's *_async call on any object and arguments (bad input) */
    int (*raw)(tp *p, void *obj, as_loop *loop, as_wait *w, as_callback cb, void *arg);
    void *(*obj)(tp *p);
    /* init (a fresh object, to destroy at once) and destroy, on any object
     * of the row's type */
    int (*init)(void *obj);
    int (*destroy)(void *obj);
    unsigned flags;
} tp_ops;

/* room for any row's object (zeroed or destroyed ones in the scenarios) */
typedef union tp_obj {
    as_sem s;
    as_mutex m;
    as_cond c;
    as_event e;
    as_rwlock rw;
    as_latch l;
    as_barrier b;
} tp_obj;

/* ---- semaphore(0) ---- */
static void tp_sem_make(tp *p) { th_sem_make(&p->s, 0); }
static int tp_sem_wait(tp *p, th_waiter *tw, uint64_t d)
{
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_sem_acquire_async(&p->s, &tw->L->loop, &tw->w, 1, th_cb, tw)
                        : as_sem_acquire_until(&p->s, &tw->L->loop, &tw->w, 1, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}
static int tp_sem_grant(tp *p) { return as_sem_release(&p->s, 1); }
static int tp_sem_close(tp *p) { return as_sem_close(&p->s); }
static int tp_sem_blocking(tp *p, uint64_t d)
{
    int r = as_sem_acquire_blocking(&p->s, 1, d);
    if (r == 0 && as_sem_release(&p->s, 1) != 0)
        th_fail("release after a blocking acquire");
    return r;
}
static void tp_sem_finish(tp *p) { TH_RC(as_sem_destroy(&p->s), 0); }
static int64_t tp_sem_waiters(tp *p) { return as_sem_waiters(&p->s); }

/* ---- mutex, locked by the test ---- */
static void tp_mutex_make(tp *p)
{
    th_mutex_make(&p->m, 0);
    TH_RC(as_mutex_try_lock(&p->m), 1);
}
static int tp_mutex_wait(tp *p, th_waiter *tw, uint64_t d)
{
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_mutex_lock_async(&p->m, &tw->L->loop, &tw->w, th_cb, tw)
                        : as_mutex_lock_until(&p->m, &tw->L->loop, &tw->w, d, th_cb, tw),
                    TH_HELD_IF_OK, &p->m, true);
}
/* The test's hold passes to the oldest waiter, who unlocks in its callback:
 * relock for the next grant (a strict hand-off would be needed to be sure
 * the waiter, not a newcomer, gets it: the rows use the default policy and
 * waiters of this same loop, which are always handed the lock directly). */
static int tp_mutex_grant(tp *p) { return as_mutex_unlock(&p->m); }
static int tp_mutex_close(tp *p) { return as_mutex_close(&p->m); }
static int tp_mutex_blocking(tp *p, uint64_t d)
{
    int r = as_mutex_lock_blocking(&p->m, d);
    if (r == 0 && as_mutex_unlock(&p->m) != 0)
        th_fail("unlock after a blocking lock");
    return r;
}
static void tp_mutex_finish(tp *p)
{
    (void)as_mutex_unlock(&p->m); /* the test's hold, unless granted away */
    TH_RC(as_mutex_destroy(&p->m), 0);
}
static int64_t tp_mutex_waiters(tp *p) { return as_mutex_waiters(&p->m); }

/* ---- condvar (its mutex is taken and released around each wait) ---- */
static void tp_cond_make(tp *p)
{
    th_cond_make(&p->c);
    th_mutex_make(&p->m, 0);
}
static int tp_cond_wait(tp *p, th_waiter *tw, uint64_t d)
{
    /* (blocking: a thread's condvar wait queues before it releases the
     * mutex, so the mutex may still be held for an instant) */
    TH_RC(as_mutex_lock_blocking(&p->m, as_now_ns() + (uint64_t)(TH_TIMEOUT * 1e9)), 0);
    int r = th_armed(tw,
                     d == AS_NO_DEADLINE
                         ? as_cond_wait_async(&p->c, &p->m, &tw->L->loop, &tw->w, th_cb, tw)
                         : as_cond_wait_until(&p->c, &p->m, &tw->L->loop, &tw->w, d, th_cb, tw),
                     TH_HELD_ALWAYS, &p->m, true);
    if (r != 0)
        TH_RC(as_mutex_unlock(&p->m), 0); /* refused: still held */
    return r;
}
static int tp_cond_grant(tp *p) { return as_cond_signal(&p->c); }
static int tp_cond_close(tp *p) { return as_cond_close(&p->c); }
static int tp_cond_blocking(tp *p, uint64_t d)
{
    if (as_mutex_lock_blocking(&p->m, AS_NO_DEADLINE) != 0)
        th_fail("lock before a blocking condvar wait");
    int r = as_cond_wait_blocking(&p->c, &p->m, d);
    if (as_mutex_unlock(&p->m) != 0) /* held again, whatever r */
        th_fail("the mutex was not held after as_cond_wait_blocking");
    return r;
}
static void tp_cond_finish(tp *p)
{
    TH_RC(as_cond_destroy(&p->c), 0);
    TH_RC(as_mutex_destroy(&p->m), 0);
}
static int64_t tp_cond_waiters(tp *p) { return as_cond_waiters(&p->c); }

/* ---- auto-reset event ---- */
static void tp_event_make(tp *p) { th_event_make(&p->e, 0); }
static int tp_event_wait(tp *p, th_waiter *tw, uint64_t d)
{
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_event_wait_async(&p->e, &tw->L->loop, &tw->w, th_cb, tw)
                        : as_event_wait_until(&p->e, &tw->L->loop, &tw->w, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}
static int tp_event_grant(tp *p) { return as_event_set(&p->e); }
static int tp_event_close(tp *p) { return as_event_close(&p->e); }
static int tp_event_blocking(tp *p, uint64_t d) { return as_event_wait_blocking(&p->e, d); }
static void tp_event_finish(tp *p) { TH_RC(as_event_destroy(&p->e), 0); }
static int64_t tp_event_waiters(tp *p) { return as_event_waiters(&p->e); }

/* ---- read-write lock: waits are writers (rwlock-write: write-held by
 * the test; rwlock-read: read-held by the test), or upgradable readers
 * (rwlock-upgradable: the test holds the upgradable read).  Readers do not
 * fit a row: one unlock admits every consecutive reader, not the oldest
 * alone (tests/test_rwlock.c covers them).  A waiter gives back in its
 * callback.  The rows use the default policy (eventual fairness: waiters
 * of the test's own loop are handed the lock directly), and
 * rwlock-write-strict AS_RWLOCK_STRICT_FIFO (tests/test_rwlock.c has the
 * cross-loop cases). ---- */
enum { TP_RW_WRITE, TP_RW_READ, TP_RW_UPREAD };
static void tp_rw_cb(th_waiter *tw, int status)
{
    int r;
    if (status != 0)
        return;
    r = tw->user_n == TP_RW_UPREAD ? as_rwlock_upgradable_read_unlock(tw->user)
                                   : as_rwlock_write_unlock(tw->user);
    if (r != 0)
        th_fail("rwlock unlock in the callback: %s", th_errname(r));
}
static void tp_rw_make_as(tp *p, int how)
{
    TH_RC(as_rwlock_init(&p->rw, 0), 0);
    TH_RC(how == TP_RW_WRITE ? as_rwlock_try_write(&p->rw)
          : how == TP_RW_READ ? as_rwlock_try_read(&p->rw)
                              : as_rwlock_try_upgradable_read(&p->rw),
          1);
}
static void tp_rww_make(tp *p) { tp_rw_make_as(p, TP_RW_WRITE); }
static void tp_rww_strict_make(tp *p)
{
    TH_RC(as_rwlock_init(&p->rw, AS_RWLOCK_STRICT_FIFO), 0);
    TH_RC(as_rwlock_try_write(&p->rw), 1);
}
static void tp_rwr_make(tp *p) { tp_rw_make_as(p, TP_RW_READ); }
static void tp_rwu_make(tp *p) { tp_rw_make_as(p, TP_RW_UPREAD); }
static int tp_rw_wait_as(tp *p, th_waiter *tw, uint64_t d, int how)
{
    as_loop *l = &tw->L->loop;
    bool up = how == TP_RW_UPREAD;
    tw->user = &p->rw;
    tw->user_n = how;
    tw->on_cb = tp_rw_cb;
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? (up ? as_rwlock_upgradable_read_async(&p->rw, l, &tw->w, th_cb, tw)
                              : as_rwlock_write_async(&p->rw, l, &tw->w, th_cb, tw))
                        : (up ? as_rwlock_upgradable_read_until(&p->rw, l, &tw->w, d, th_cb, tw)
                              : as_rwlock_write_until(&p->rw, l, &tw->w, d, th_cb, tw)),
                    TH_HELD_NONE, NULL, false);
}
static int tp_rww_wait(tp *p, th_waiter *tw, uint64_t d) { return tp_rw_wait_as(p, tw, d, TP_RW_WRITE); }
static int tp_rwr_wait(tp *p, th_waiter *tw, uint64_t d) { return tp_rw_wait_as(p, tw, d, TP_RW_READ); }
static int tp_rwu_wait(tp *p, th_waiter *tw, uint64_t d) { return tp_rw_wait_as(p, tw, d, TP_RW_UPREAD); }
/* the test's hold passes to the oldest waiter */
static int tp_rww_grant(tp *p) { return as_rwlock_write_unlock(&p->rw); }
static int tp_rwr_grant(tp *p) { return as_rwlock_read_unlock(&p->rw); }
static int tp_rwu_grant(tp *p) { return as_rwlock_upgradable_read_unlock(&p->rw); }
static int tp_rw_close(tp *p) { return as_rwlock_close(&p->rw); }
static int tp_rw_blocking_w(tp *p, uint64_t d)
{
    int r = as_rwlock_write_blocking(&p->rw, d);
    if (r == 0 && as_rwlock_write_unlock(&p->rw) != 0)
        th_fail("unlock after a blocking write");
    return r;
}
static int tp_rwu_blocking(tp *p, uint64_t d)
{
    int r = as_rwlock_upgradable_read_blocking(&p->rw, d);
    if (r == 0 && as_rwlock_upgradable_read_unlock(&p->rw) != 0)
        th_fail("unlock after a blocking upgradable read");
    return r;
}
static void tp_rw_finish(tp *p)
{
    /* the test's hold, unless granted away */
    (void)tp_rww_grant(p);
    (void)tp_rwr_grant(p);
    (void)tp_rwu_grant(p);
    TH_RC(as_rwlock_destroy(&p->rw), 0);
}
static int64_t tp_rw_waiters(tp *p) { return as_rwlock_waiters(&p->rw); }

/* ---- the test_prims.c operations of the rows above ---- */
static int tp_sem_avail(tp *p) { return as_sem_value(&p->s) > 0; }
static void tp_sem_open(tp *p) { TH_RC(as_sem_release(&p->s, 1), 0); }
static int tp_sem_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_sem_acquire_async(o, l, w, 1, cb, a);
}
static void *tp_sem_obj(tp *p) { return &p->s; }
static int tp_sem_init(void *o) { return as_sem_init(o, 1, 0); }
static int tp_sem_destroy(void *o) { return as_sem_destroy(o); }

static void tp_sem_strict_make(tp *p) { TH_RC(as_sem_init(&p->s, 0, AS_SEM_STRICT_FIFO), 0); }

static void tp_mutex_strict_make(tp *p)
{
    th_mutex_make(&p->m, AS_MUTEX_STRICT_FIFO);
    TH_RC(as_mutex_try_lock(&p->m), 1);
}
static void tp_mutex_hold(tp *p) { TH_RC(as_mutex_try_lock(&p->m), 1); }
static int tp_mutex_avail(tp *p)
{
    int r = as_mutex_try_lock(&p->m);
    if (r == 1)
        TH_RC(as_mutex_unlock(&p->m), 0);
    return r;
}
static void tp_mutex_open(tp *p) { (void)as_mutex_unlock(&p->m); }
static int tp_mutex_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_mutex_lock_async(o, l, w, cb, a);
}
static void *tp_mutex_obj(tp *p) { return &p->m; }
static int tp_mutex_init(void *o) { return as_mutex_init(o, 0); }
static int tp_mutex_destroy(void *o) { return as_mutex_destroy(o); }

static int tp_cond_grant_all(tp *p) { return as_cond_broadcast(&p->c); }
/* a condvar wait needs its mutex held: take it for the call, give it back
 * when the call was refused */
static int tp_cond_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    bool took = as_mutex_try_lock(&p->m) == 1;
    int r = as_cond_wait_async(o, &p->m, l, w, cb, a);
    if (r != 0 && took)
        TH_RC(as_mutex_unlock(&p->m), 0);
    return r;
}
static void *tp_cond_obj(tp *p) { return &p->c; }
static int tp_cond_init(void *o) { return as_cond_init(o, 0); }
static int tp_cond_destroy(void *o) { return as_cond_destroy(o); }

static void tp_event_manual_make(tp *p) { th_event_make(&p->e, AS_EVENT_MANUAL_RESET); }
static int tp_event_avail(tp *p) { return as_event_is_set(&p->e); }
static void tp_event_open(tp *p) { TH_RC(as_event_set(&p->e), 0); }
static int tp_event_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_event_wait_async(o, l, w, cb, a);
}
static void *tp_event_obj(tp *p) { return &p->e; }
static int tp_event_init(void *o) { return as_event_init(o, 0); }
static int tp_event_destroy(void *o) { return as_event_destroy(o); }

/* rwlock-readers: read waits, the test write-holds; one write unlock admits
 * every queued reader (grant_all) */
static void tp_rwrd_cb(th_waiter *tw, int status)
{
    if (status == 0 && as_rwlock_read_unlock(tw->user) != 0)
        th_fail("rwlock read unlock in the callback");
}
static int tp_rwrd_wait(tp *p, th_waiter *tw, uint64_t d)
{
    as_loop *l = &tw->L->loop;
    tw->user = &p->rw;
    tw->on_cb = tp_rwrd_cb;
    return th_armed(tw,
                    d == AS_NO_DEADLINE ? as_rwlock_read_async(&p->rw, l, &tw->w, th_cb, tw)
                                        : as_rwlock_read_until(&p->rw, l, &tw->w, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}
static int tp_rw_blocking_r(tp *p, uint64_t d)
{
    int r = as_rwlock_read_blocking(&p->rw, d);
    if (r == 0 && as_rwlock_read_unlock(&p->rw) != 0)
        th_fail("unlock after a blocking read");
    return r;
}
static void tp_rww_hold(tp *p) { TH_RC(as_rwlock_try_write(&p->rw), 1); }
static void tp_rwr_hold(tp *p) { TH_RC(as_rwlock_try_read(&p->rw), 1); }
static void tp_rwu_hold(tp *p) { TH_RC(as_rwlock_try_upgradable_read(&p->rw), 1); }
/* free: no holder at all */
static int tp_rw_avail(tp *p)
{
    int r = as_rwlock_try_write(&p->rw);
    if (r == 1)
        TH_RC(as_rwlock_write_unlock(&p->rw), 0);
    return r;
}
static void tp_rw_open(tp *p)
{
    (void)as_rwlock_write_unlock(&p->rw);
    (void)as_rwlock_read_unlock(&p->rw);
    (void)as_rwlock_upgradable_read_unlock(&p->rw);
}
static int tp_rww_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_rwlock_write_async(o, l, w, cb, a);
}
static int tp_rwu_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_rwlock_upgradable_read_async(o, l, w, cb, a);
}
static int tp_rwrd_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_rwlock_read_async(o, l, w, cb, a);
}
static void *tp_rw_obj(tp *p) { return &p->rw; }
static int tp_rw_init(void *o) { return as_rwlock_init(o, 0); }
static int tp_rw_destroy(void *o) { return as_rwlock_destroy(o); }

/* ---- latch, count 1: grant_all counts it down to 0 ---- */
static void tp_latch_make(tp *p) { TH_RC(as_latch_init(&p->l, 1), 0); }
static int tp_latch_wait(tp *p, th_waiter *tw, uint64_t d)
{
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_latch_wait_async(&p->l, &tw->L->loop, &tw->w, th_cb, tw)
                        : as_latch_wait_until(&p->l, &tw->L->loop, &tw->w, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}
static int tp_latch_grant_all(tp *p) { return as_latch_count_down(&p->l, 1); }
static int tp_latch_close(tp *p) { return as_latch_close(&p->l); }
static int tp_latch_blocking(tp *p, uint64_t d) { return as_latch_wait_blocking(&p->l, d); }
static void tp_latch_finish(tp *p) { TH_RC(as_latch_destroy(&p->l), 0); }
static int64_t tp_latch_waiters(tp *p) { return as_latch_waiters(&p->l); }
static int tp_latch_avail(tp *p) { return as_latch_value(&p->l) == 0; }
static void tp_latch_open(tp *p) { (void)as_latch_count_down(&p->l, 1); }
static int tp_latch_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_latch_wait_async(o, l, w, cb, a);
}
static void *tp_latch_obj(tp *p) { return &p->l; }
static int tp_latch_init(void *o) { return as_latch_init(o, 1); }
static int tp_latch_destroy(void *o) { return as_latch_destroy(o); }

/* ---- barrier of TP_PARTIES: grant_all is the arrivals that complete the
 * generation (its own waits on the waiters' loop, the last one the leader);
 * a scenario queues fewer than TP_PARTIES waiters ---- */
#define TP_PARTIES 16
static void tp_bar_make(tp *p)
{
    TH_RC(as_barrier_init(&p->b, TP_PARTIES), 0);
    p->nhelp = 0;
}
static int tp_bar_wait(tp *p, th_waiter *tw, uint64_t d)
{
    p->L = tw->L;
    return th_armed(tw,
                    d == AS_NO_DEADLINE
                        ? as_barrier_wait_async(&p->b, &tw->L->loop, &tw->w, th_cb, tw)
                        : as_barrier_wait_until(&p->b, &tw->L->loop, &tw->w, d, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}
static int tp_bar_grant_all(tp *p)
{
    for (;;) {
        if (!p->L || p->nhelp == (int)(sizeof p->help / sizeof p->help[0]))
            return -ENOSPC; /* no wait queued yet, or a scenario too large */
        th_waiter *h = &p->help[p->nhelp++];
        th_waiter_init(h, NULL, p->L, -1);
        int r = th_armed(h, as_barrier_wait_async(&p->b, &p->L->loop, &h->w, th_cb, h),
                         TH_HELD_NONE, NULL, false);
        if (r != 0)
            return r == 1 ? 0 : r;
    }
}
static int tp_bar_close(tp *p) { return as_barrier_close(&p->b); }
static int tp_bar_blocking(tp *p, uint64_t d) { return as_barrier_wait_blocking(&p->b, d); }
static bool tp_bar_helped(void *arg)
{
    tp *p = arg;
    for (int i = 0; i < p->nhelp; i++)
        if (as_wait_pending(&p->help[i].w))
            return false;
    return true;
}
static void tp_bar_finish(tp *p)
{
    if (p->nhelp)
        th_run_until(p->L, tp_bar_helped, p, TH_TIMEOUT);
    TH_RC(as_barrier_destroy(&p->b), 0);
}
static int64_t tp_bar_waiters(tp *p) { return as_barrier_waiters(&p->b); }
static int tp_bar_raw(tp *p, void *o, as_loop *l, as_wait *w, as_callback cb, void *a)
{
    (void)p;
    return as_barrier_wait_async(o, l, w, cb, a);
}
static void *tp_bar_obj(tp *p) { return &p->b; }
static int tp_bar_init(void *o) { return as_barrier_init(o, 2); }
static int tp_bar_destroy(void *o) { return as_barrier_destroy(o); }

#define TP_SEM_OPS                                                                     \
    .raw = tp_sem_raw, .obj = tp_sem_obj, .init = tp_sem_init, .destroy = tp_sem_destroy
#define TP_MUTEX_OPS                                                                   \
    .wait = tp_mutex_wait, .grant = tp_mutex_grant,                                    \
    .close = tp_mutex_close, .blocking = tp_mutex_blocking, .finish = tp_mutex_finish, \
    .waiters = tp_mutex_waiters, .cb_passes = true, .blocking_passes = true,           \
    .hold = tp_mutex_hold, .avail = tp_mutex_avail, .after_all = 1,                    \
    .open = tp_mutex_open, .raw = tp_mutex_raw, .obj = tp_mutex_obj,                   \
    .init = tp_mutex_init, .destroy = tp_mutex_destroy
#define TP_EVENT_OPS                                                                   \
    .wait = tp_event_wait, .close = tp_event_close, .blocking = tp_event_blocking,     \
    .finish = tp_event_finish, .waiters = tp_event_waiters, .avail = tp_event_avail,   \
    .open = tp_event_open, .raw = tp_event_raw, .obj = tp_event_obj,                   \
    .init = tp_event_init, .destroy = tp_event_destroy
#define TP_RW_OPS                                                                      \
    .close = tp_rw_close, .finish = tp_rw_finish, .waiters = tp_rw_waiters,            \
    .avail = tp_rw_avail, .after_all = 1, .open = tp_rw_open, .obj = tp_rw_obj,        \
    .init = tp_rw_init, .destroy = tp_rw_destroy

static const tp_ops tp_rows[] = {
    { .name = "sem", .make = tp_sem_make, .wait = tp_sem_wait, .grant = tp_sem_grant,
      .close = tp_sem_close, .blocking = tp_sem_blocking, .finish = tp_sem_finish,
      .waiters = tp_sem_waiters, .blocking_passes = true, .avail = tp_sem_avail,
      .after_all = 0, .open = tp_sem_open, TP_SEM_OPS },
    { .name = "sem-strict", .make = tp_sem_strict_make, .wait = tp_sem_wait,
      .grant = tp_sem_grant, .close = tp_sem_close, .blocking = tp_sem_blocking,
      .finish = tp_sem_finish, .waiters = tp_sem_waiters, .blocking_passes = true,
      .avail = tp_sem_avail, .after_all = 0, .open = tp_sem_open, TP_SEM_OPS },
    { .name = "mutex", .make = tp_mutex_make, TP_MUTEX_OPS },
    { .name = "mutex-strict", .make = tp_mutex_strict_make, TP_MUTEX_OPS },
    { .name = "cond", .make = tp_cond_make, .wait = tp_cond_wait, .grant = tp_cond_grant,
      .close = tp_cond_close, .blocking = tp_cond_blocking, .finish = tp_cond_finish,
      .waiters = tp_cond_waiters, .grant_all = tp_cond_grant_all, .after_all = -1,
      .raw = tp_cond_raw, .obj = tp_cond_obj, .init = tp_cond_init,
      .destroy = tp_cond_destroy, .flags = TP_SPENT },
    { .name = "event", .make = tp_event_make, .grant = tp_event_grant, .after_all = 0,
      TP_EVENT_OPS },
    { .name = "event-manual", .make = tp_event_manual_make, .grant_all = tp_event_grant,
      .after_all = 1, TP_EVENT_OPS },
    { .name = "rwlock-write", .make = tp_rww_make, .wait = tp_rww_wait, .grant = tp_rww_grant,
      .blocking = tp_rw_blocking_w, .cb_passes = true, .blocking_passes = true,
      .hold = tp_rww_hold, .raw = tp_rww_raw, TP_RW_OPS },
    { .name = "rwlock-write-strict", .make = tp_rww_strict_make, .wait = tp_rww_wait,
      .grant = tp_rww_grant, .blocking = tp_rw_blocking_w, .cb_passes = true,
      .blocking_passes = true, .hold = tp_rww_hold, .raw = tp_rww_raw, TP_RW_OPS },
    { .name = "rwlock-read", .make = tp_rwr_make, .wait = tp_rwr_wait, .grant = tp_rwr_grant,
      .blocking = tp_rw_blocking_w, .cb_passes = true, .blocking_passes = true,
      .hold = tp_rwr_hold, .raw = tp_rww_raw, TP_RW_OPS },
    { .name = "rwlock-upgradable", .make = tp_rwu_make, .wait = tp_rwu_wait,
      .grant = tp_rwu_grant, .blocking = tp_rwu_blocking, .cb_passes = true,
      .blocking_passes = true, .hold = tp_rwu_hold, .raw = tp_rwu_raw, TP_RW_OPS },
    { .name = "rwlock-readers", .make = tp_rww_make, .wait = tp_rwrd_wait,
      .grant_all = tp_rww_grant, .blocking = tp_rw_blocking_r, .raw = tp_rwrd_raw,
      TP_RW_OPS },
    { .name = "latch", .make = tp_latch_make, .wait = tp_latch_wait,
      .grant_all = tp_latch_grant_all, .close = tp_latch_close,
      .blocking = tp_latch_blocking, .finish = tp_latch_finish, .waiters = tp_latch_waiters,
      .avail = tp_latch_avail, .after_all = 1, .open = tp_latch_open, .raw = tp_latch_raw,
      .obj = tp_latch_obj, .init = tp_latch_init, .destroy = tp_latch_destroy },
    { .name = "barrier", .make = tp_bar_make, .wait = tp_bar_wait,
      .grant_all = tp_bar_grant_all, .close = tp_bar_close, .blocking = tp_bar_blocking,
      .finish = tp_bar_finish, .waiters = tp_bar_waiters, .after_all = -1,
      .raw = tp_bar_raw, .obj = tp_bar_obj, .init = tp_bar_init, .destroy = tp_bar_destroy,
      .flags = TP_SPENT },
};
#define TP_NROWS (sizeof tp_rows / sizeof tp_rows[0])

static inline bool tp_has_grant(const tp_ops *o) { return o->grant != NULL; }

/* for each row that ok(row) accepts: tp *p = ..., made; the body; then
 * finish */
#define TP_EACH_IF(p, ok)                                                            \
    for (size_t tp_i_ = 0; tp_i_ < TP_NROWS; tp_i_++)                                \
        if (!(ok)(&tp_rows[tp_i_])) {                                                \
        } else                                                                       \
        for (tp tp_v_ = { .ops = &tp_rows[tp_i_] }, *p = &tp_v_; p;                         \
             p->ops->finish(p), p = NULL)                                            \
            for (int tp_once_ = (p->ops->make(p), 1); tp_once_; tp_once_ = 0)
/* the rows with a grant of the oldest waiter alone */
#define TP_EACH(p) TP_EACH_IF(p, tp_has_grant)

#endif
