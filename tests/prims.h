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
} tp;

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
} tp_ops;

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
 * callback. ---- */
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

static const tp_ops tp_rows[] = {
    { "sem", tp_sem_make, tp_sem_wait, tp_sem_grant, tp_sem_close, tp_sem_blocking,
      tp_sem_finish, tp_sem_waiters, false, true },
    { "mutex", tp_mutex_make, tp_mutex_wait, tp_mutex_grant, tp_mutex_close, tp_mutex_blocking,
      tp_mutex_finish, tp_mutex_waiters, true, true },
    { "cond", tp_cond_make, tp_cond_wait, tp_cond_grant, tp_cond_close, tp_cond_blocking,
      tp_cond_finish, tp_cond_waiters, false, false },
    { "event", tp_event_make, tp_event_wait, tp_event_grant, tp_event_close, tp_event_blocking,
      tp_event_finish, tp_event_waiters, false, false },
    { "rwlock-write", tp_rww_make, tp_rww_wait, tp_rww_grant, tp_rw_close, tp_rw_blocking_w,
      tp_rw_finish, tp_rw_waiters, true, true },
    { "rwlock-read", tp_rwr_make, tp_rwr_wait, tp_rwr_grant, tp_rw_close, tp_rw_blocking_w,
      tp_rw_finish, tp_rw_waiters, true, true },
    { "rwlock-upgradable", tp_rwu_make, tp_rwu_wait, tp_rwu_grant, tp_rw_close, tp_rwu_blocking,
      tp_rw_finish, tp_rw_waiters, true, true },
};
#define TP_NROWS (sizeof tp_rows / sizeof tp_rows[0])

/* for each row: tp *p = ..., made; the body; then finish */
#define TP_EACH(p)                                                                   \
    for (size_t tp_i_ = 0; tp_i_ < TP_NROWS; tp_i_++)                                \
        for (tp tp_v_ = { .ops = &tp_rows[tp_i_] }, *p = &tp_v_; p;                         \
             p->ops->finish(p), p = NULL)                                            \
            for (int tp_once_ = (p->ops->make(p), 1); tp_once_; tp_once_ = 0)

#endif
