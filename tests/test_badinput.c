/*
 * Conformance: bad input gets a clear error and changes nothing.
 *
 * One table row per bad call.  Every row runs as its own cmocka test on a
 * fresh fixture holding one object in each interesting state (free, locked,
 * with waiters, set, never initialised, destroyed) and pending waits.  The
 * row checks the exact negative errno (by name), then the whole fixture is
 * checked unchanged: semaphore values, try_lock results, is_set, pending
 * waits still pending, no callback, untouched bytes of the zeroed and
 * destroyed objects.
 *
 * The loop rows are per platform: on Linux as_loop_init_iocp and
 * as_loop_handle_completion are stubs; on Windows as_loop_init_uring and
 * as_loop_handle_cqe are, and the iocp calls get their own rows.
 *
 * The bad waits every primitive shares (NULL object, loop, wait or
 * callback; a zeroed or destroyed object or loop; a wait pending on the same
 * object; destroy with waiters, of a zeroed or of a destroyed object) are
 * written once in test_prims.c (prims_bad_input) over the rows of prims.h;
 * here the rest.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#ifndef _WIN32
#include <sys/mman.h> /* shm_open */
#endif
#include <stdlib.h>
#include <string.h>

typedef struct bx bx;
typedef struct row {
    const char *name;
    int (*fn)(bx *x);
    int expect;
} row;

struct bx {
    const row *r;
    th_loop L;
    th_rec rec;
    /* live objects */
    as_sem s3, s0, smax, sdone;            /* 3; 0 + waiter tws; MAX; 0 */
    as_sem *sp;                            /* as_*_open's outs: never set */
    as_event *ep;
    as_latch *lp;
    as_mutex *mp;
    as_mutex m, mstrict, mlk, mw, mc;      /* free; free strict; locked; locked + twm; free (cw's) */
    as_cond c, cw;                         /* idle; waiter twc (mutex mc) */
    as_event e, ew, eset, easet;           /* auto unset; auto unset + twe; manual set; auto set */
    as_sem scl;                            /* closed, 2 permits */
    as_mutex mcl;                          /* closed, unlocked */
    as_cond ccl;                           /* closed */
    as_event ecl;                          /* closed, auto, set */
    as_latch l1;                           /* count 1 */
    as_barrier b2;                         /* 2 parties, none arrived */
    as_latch zla;                          /* never initialised */
    as_barrier zba;
    th_waiter tws, twm, twc, twe;          /* pending */
    th_waiter tw;                          /* fresh, never used */
    th_waiter twdone;                      /* its callback has run */
    /* scratch */
    as_loop tmp;
    as_loop_options o_flags, o_caps;
    struct io_uring_cqe *cqe_z, *cqe_d;
    int dummy_port;
    char dummy_entry[64];
#ifdef _WIN32
    HANDLE closed_port;         /* a port, closed */
    HANDLE other_port;          /* a live port no loop is bound to */
    OVERLAPPED app_ov;
    OVERLAPPED_ENTRY entry_app; /* key = the live loop, the application's OVERLAPPED */
#endif
    /* never initialised (zeroed) */
    as_sem zs;
    as_mutex zm;
    as_cond zc;
    as_event ze;
    as_loop zl;
    /* initialised then destroyed, and their bytes after destroy */
    as_sem ds;
    as_mutex dm;
    as_cond dc;
    as_event de;
    as_loop dl;
    as_sem ds_snap;
    as_mutex dm_snap;
    as_cond dc_snap;
    as_event de_snap;
    as_loop dl_snap;
    /* read-write locks: free; read-held; write-held; upgradable + 1 reader;
     * closed with upgradable + 1 reader; zeroed; destroyed (and its bytes) */
    as_rwlock rwf, rwr, rww, rwu, rwcl, zrw, drw, drw_snap;
};

static void bx_notify(void *ctx)
{
    (void)ctx;
}

#define LOOP (&x->L.loop)
/* A name no row creates (the open rows only fail, or attach to nothing). */
#define BI_NAME "/asyncsync-badinput-never-created"
#define TW (&x->tw.w), th_cb, (&x->tw)

#ifdef _WIN32
/* as_loop_init_uring and as_loop_handle_cqe exist as stubs: -EOPNOTSUPP, false. */
#define PER_OS(linux_result, windows_result) (windows_result)
#define RING ((struct io_uring *)(void *)x->dummy_entry)
#define PLATFORM_LOOP_ROWS(X)                                                              \
    X(loop_init_iocp_null_loop, -EINVAL, as_loop_init_iocp(NULL, x->L.port, NULL))         \
    X(loop_init_iocp_null_port, -EINVAL, as_loop_init_iocp(&x->tmp, NULL, NULL))            \
    X(loop_init_iocp_invalid_handle, -EINVAL,                                              \
      as_loop_init_iocp(&x->tmp, INVALID_HANDLE_VALUE, NULL))                              \
    X(loop_init_iocp_closed_handle, -EBADF, as_loop_init_iocp(&x->tmp, x->closed_port, NULL)) \
    X(loop_init_iocp_flags, -EINVAL, as_loop_init_iocp(&x->tmp, x->L.port, &x->o_flags))   \
    X(loop_init_iocp_unknown_caps, -EINVAL, as_loop_init_iocp(&x->tmp, x->L.port, &x->o_caps)) \
    X(loop_handle_completion_null_loop, 0, as_loop_handle_completion(NULL, &x->entry_app)) \
    X(loop_handle_completion_null_entry, 0, as_loop_handle_completion(LOOP, NULL))         \
    X(loop_handle_completion_app_packet, 0, as_loop_handle_completion(LOOP, &x->entry_app)) \
    X(loop_handle_completion_zeroed_loop, 0, as_loop_handle_completion(&x->zl, &x->entry_app)) \
    X(loop_handle_completion_destroyed_loop, 0,                                            \
      as_loop_handle_completion(&x->dl, &x->entry_app))
#else
#define PER_OS(linux_result, windows_result) (linux_result)
#define RING (&x->L.ring)
#define PLATFORM_LOOP_ROWS(X)                                                              \
    X(loop_init_iocp_on_linux, -EOPNOTSUPP, as_loop_init_iocp(&x->tmp, &x->dummy_port, NULL)) \
    X(loop_handle_completion_on_linux, 0, as_loop_handle_completion(LOOP, x->dummy_entry))
#endif

/* Round 2: deadlines, close, forget, blocking waits, snapshots. */
#define HUGE_DEADLINE ((uint64_t)INT64_MAX + 1u)
#define PAST 1u /* 1 ns after the clock's origin: long past */
#define ROUND2_ROWS(X)                                                                     \
    X(loop_timeout_null, -EINVAL, (int)as_loop_timeout_ns(NULL))                           \
    X(loop_timeout_zeroed, -EINVAL, (int)as_loop_timeout_ns(&x->zl))                       \
    X(loop_timeout_destroyed, -EINVAL, (int)as_loop_timeout_ns(&x->dl))                    \
    X(loop_flush_null, -EINVAL, as_loop_flush(NULL))                                       \
    X(loop_flush_destroyed, -EINVAL, as_loop_flush(&x->dl))                                \
    X(sem_until_huge_deadline, -EINVAL,                                                    \
      as_sem_acquire_until(&x->s3, LOOP, &x->tw.w, 1, HUGE_DEADLINE, th_cb, &x->tw))       \
    X(sem_until_past_deadline, -ETIMEDOUT,                                                 \
      as_sem_acquire_until(&x->s0, LOOP, &x->tw.w, 1, PAST, th_cb, &x->tw))                \
    X(sem_until_past_deadline_large, -ETIMEDOUT,                                           \
      as_sem_acquire_until(&x->s3, LOOP, &x->tw.w, 4, PAST, th_cb, &x->tw))                \
    X(sem_until_pending_wait, -EBUSY,                                                      \
      as_sem_acquire_until(&x->s3, LOOP, &x->tws.w, 1, AS_NO_DEADLINE, th_cb, &x->tws))    \
    X(sem_until_closed, -ESHUTDOWN,                                                        \
      as_sem_acquire_until(&x->scl, LOOP, &x->tw.w, 1, AS_NO_DEADLINE, th_cb, &x->tw))     \
    X(sem_acquire_closed, -ESHUTDOWN, as_sem_acquire_async(&x->scl, LOOP, &x->tw.w, 1, th_cb, &x->tw)) \
    X(sem_try_closed, -ESHUTDOWN, as_sem_try_acquire(&x->scl, 1))                          \
    X(sem_blocking_null, -EINVAL, as_sem_acquire_blocking(NULL, 1, AS_NO_DEADLINE))        \
    X(sem_blocking_zero, -EINVAL, as_sem_acquire_blocking(&x->s3, 0, AS_NO_DEADLINE))      \
    X(sem_blocking_destroyed, -EINVAL, as_sem_acquire_blocking(&x->ds, 1, AS_NO_DEADLINE)) \
    X(sem_blocking_huge_deadline, -EINVAL, as_sem_acquire_blocking(&x->s3, 1, HUGE_DEADLINE)) \
    X(sem_blocking_past_deadline, -ETIMEDOUT, as_sem_acquire_blocking(&x->s0, 1, PAST))    \
    X(sem_blocking_closed, -ESHUTDOWN, as_sem_acquire_blocking(&x->scl, 1, AS_NO_DEADLINE)) \
    X(sem_forget_null, -EINVAL, (int)as_sem_forget(NULL, 1))                               \
    X(sem_forget_zero, -EINVAL, (int)as_sem_forget(&x->s3, 0))                             \
    X(sem_forget_too_many, -EINVAL, (int)as_sem_forget(&x->s3, AS_SEM_VALUE_MAX + 1u))     \
    X(sem_forget_destroyed, -EINVAL, (int)as_sem_forget(&x->ds, 1))                        \
    X(sem_forget_none_free, 0, (int)as_sem_forget(&x->s0, 5))                              \
    X(sem_waiters_null, -EINVAL, (int)as_sem_waiters(NULL))                                \
    X(sem_waiters_destroyed, -EINVAL, (int)as_sem_waiters(&x->ds))                         \
    X(sem_close_null, -EINVAL, as_sem_close(NULL))                                         \
    X(sem_close_zeroed, -EINVAL, as_sem_close(&x->zs))                                     \
    X(sem_close_destroyed, -EINVAL, as_sem_close(&x->ds))                                  \
    X(sem_close_twice, 0, as_sem_close(&x->scl))                                           \
    X(mutex_until_huge_deadline, -EINVAL,                                                  \
      as_mutex_lock_until(&x->m, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))            \
    X(mutex_until_past_deadline, -ETIMEDOUT,                                               \
      as_mutex_lock_until(&x->mlk, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                   \
    X(mutex_until_past_deadline_strict, -ETIMEDOUT,                                        \
      as_mutex_lock_until(&x->mw, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                    \
    X(mutex_lock_closed, -ESHUTDOWN, as_mutex_lock_async(&x->mcl, LOOP, TW))               \
    X(mutex_until_closed, -ESHUTDOWN,                                                      \
      as_mutex_lock_until(&x->mcl, LOOP, &x->tw.w, AS_NO_DEADLINE, th_cb, &x->tw))         \
    X(mutex_try_closed, -ESHUTDOWN, as_mutex_try_lock(&x->mcl))                            \
    X(mutex_blocking_null, -EINVAL, as_mutex_lock_blocking(NULL, AS_NO_DEADLINE))          \
    X(mutex_blocking_huge_deadline, -EINVAL, as_mutex_lock_blocking(&x->m, HUGE_DEADLINE)) \
    X(mutex_blocking_past_deadline, -ETIMEDOUT, as_mutex_lock_blocking(&x->mlk, PAST))     \
    X(mutex_blocking_closed, -ESHUTDOWN, as_mutex_lock_blocking(&x->mcl, AS_NO_DEADLINE))  \
    X(mutex_waiters_null, -EINVAL, (int)as_mutex_waiters(NULL))                            \
    X(mutex_close_null, -EINVAL, as_mutex_close(NULL))                                     \
    X(mutex_close_destroyed, -EINVAL, as_mutex_close(&x->dm))                              \
    X(mutex_close_twice, 0, as_mutex_close(&x->mcl))                                       \
    X(cond_until_huge_deadline, -EINVAL,                                                   \
      as_cond_wait_until(&x->c, &x->mlk, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))    \
    X(cond_until_past_deadline, -ETIMEDOUT,                                                \
      as_cond_wait_until(&x->c, &x->mlk, LOOP, &x->tw.w, PAST, th_cb, &x->tw))             \
    X(cond_until_unlocked_mutex, -EPERM,                                                   \
      as_cond_wait_until(&x->c, &x->m, LOOP, &x->tw.w, AS_NO_DEADLINE, th_cb, &x->tw))     \
    X(cond_wait_closed, -ESHUTDOWN, as_cond_wait_async(&x->ccl, &x->mlk, LOOP, TW))        \
    X(cond_blocking_null, -EINVAL, as_cond_wait_blocking(NULL, &x->mlk, AS_NO_DEADLINE))   \
    X(cond_blocking_null_mutex, -EINVAL, as_cond_wait_blocking(&x->c, NULL, AS_NO_DEADLINE)) \
    X(cond_blocking_unlocked_mutex, -EPERM, as_cond_wait_blocking(&x->c, &x->m, AS_NO_DEADLINE)) \
    X(cond_blocking_huge_deadline, -EINVAL, as_cond_wait_blocking(&x->c, &x->mlk, HUGE_DEADLINE)) \
    X(cond_blocking_past_deadline, -ETIMEDOUT, as_cond_wait_blocking(&x->c, &x->mlk, PAST)) \
    X(cond_blocking_closed, -ESHUTDOWN, as_cond_wait_blocking(&x->ccl, &x->mlk, AS_NO_DEADLINE)) \
    X(cond_close_null, -EINVAL, as_cond_close(NULL))                                       \
    X(cond_close_destroyed, -EINVAL, as_cond_close(&x->dc))                                \
    X(cond_close_twice, 0, as_cond_close(&x->ccl))                                         \
    X(event_until_huge_deadline, -EINVAL,                                                  \
      as_event_wait_until(&x->easet, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))        \
    X(event_until_past_deadline, -ETIMEDOUT,                                               \
      as_event_wait_until(&x->e, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                     \
    X(event_wait_closed, -ESHUTDOWN, as_event_wait_async(&x->ecl, LOOP, TW))               \
    X(event_blocking_null, -EINVAL, as_event_wait_blocking(NULL, AS_NO_DEADLINE))          \
    X(event_blocking_huge_deadline, -EINVAL, as_event_wait_blocking(&x->e, HUGE_DEADLINE)) \
    X(event_blocking_past_deadline, -ETIMEDOUT, as_event_wait_blocking(&x->e, PAST))       \
    X(event_blocking_closed, -ESHUTDOWN, as_event_wait_blocking(&x->ecl, AS_NO_DEADLINE))  \
    X(event_broadcast_null, -EINVAL, as_event_broadcast(NULL))                             \
    X(event_broadcast_destroyed, -EINVAL, as_event_broadcast(&x->de))                      \
    X(event_close_null, -EINVAL, as_event_close(NULL))                                     \
    X(event_close_destroyed, -EINVAL, as_event_close(&x->de))                              \
    X(event_close_twice, 0, as_event_close(&x->ecl))                                       \
    X(latch_init_null, -EINVAL, as_latch_init(NULL, 1))                                    \
    X(latch_init_too_big, -EINVAL, as_latch_init(&x->zla, AS_LATCH_VALUE_MAX + 1u))        \
    X(latch_count_down_zero, -EINVAL, as_latch_count_down(&x->l1, 0))                      \
    X(latch_count_down_below_zero, -ERANGE, as_latch_count_down(&x->l1, 2))                \
    X(latch_count_down_huge, -EINVAL, as_latch_count_down(&x->l1, UINT32_MAX))             \
    X(latch_count_down_zeroed, -EINVAL, as_latch_count_down(&x->zla, 1))                   \
    X(latch_add_zero, -EINVAL, as_latch_add(&x->l1, 0))                                    \
    X(latch_add_overflow, -EOVERFLOW, as_latch_add(&x->l1, AS_LATCH_VALUE_MAX))            \
    X(latch_add_u32max, -EOVERFLOW, as_latch_add(&x->l1, UINT32_MAX))                      \
    X(latch_wait_pending_wait, -EBUSY, as_latch_wait_async(&x->l1, LOOP, &x->tws.w, th_cb, &x->tws)) \
    X(latch_until_huge_deadline, -EINVAL,                                                  \
      as_latch_wait_until(&x->l1, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))           \
    X(latch_until_past_deadline, -ETIMEDOUT,                                               \
      as_latch_wait_until(&x->l1, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                    \
    X(latch_blocking_past_deadline, -ETIMEDOUT, as_latch_wait_blocking(&x->l1, PAST))      \
    X(latch_value_null, -EINVAL, (int)as_latch_value(NULL))                                \
    X(latch_waiters_zeroed, -EINVAL, (int)as_latch_waiters(&x->zla))                       \
    X(latch_close_null, -EINVAL, as_latch_close(NULL))                                     \
    X(barrier_init_null, -EINVAL, as_barrier_init(NULL, 2))                                \
    X(barrier_init_zero, -EINVAL, as_barrier_init(&x->zba, 0))                             \
    X(barrier_init_too_many, -EINVAL, as_barrier_init(&x->zba, AS_BARRIER_PARTIES_MAX + 1u)) \
    X(barrier_wait_pending_wait, -EBUSY, as_barrier_wait_async(&x->b2, LOOP, &x->tws.w, th_cb, &x->tws)) \
    X(barrier_until_huge_deadline, -EINVAL,                                                \
      as_barrier_wait_until(&x->b2, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))         \
    X(barrier_until_past_deadline, -ETIMEDOUT,                                             \
      as_barrier_wait_until(&x->b2, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                  \
    X(barrier_blocking_past_deadline, -ETIMEDOUT, as_barrier_wait_blocking(&x->b2, PAST))  \
    X(barrier_blocking_zeroed, -EINVAL, as_barrier_wait_blocking(&x->zba, AS_NO_DEADLINE)) \
    X(barrier_waiters_null, -EINVAL, (int)as_barrier_waiters(NULL))                        \
    X(barrier_close_null, -EINVAL, as_barrier_close(NULL))

/* Read-write lock. */
#define RWLOCK_ROWS(X)                                                                     \
    X(rwlock_init_null, -EINVAL, as_rwlock_init(NULL, 0))                                  \
    X(rwlock_init_flags, -EINVAL, as_rwlock_init(&x->zrw, 4))                              \
    X(rwlock_init_flags_both, -EINVAL, as_rwlock_init(&x->zrw, 3))                         \
    X(rwlock_init_flags_high, -EINVAL, as_rwlock_init(&x->zrw, 0x80000000u))               \
    X(rwlock_destroy_null, -EINVAL, as_rwlock_destroy(NULL))                               \
    X(rwlock_destroy_read_held, -EBUSY, as_rwlock_destroy(&x->rwr))                        \
    X(rwlock_destroy_write_held, -EBUSY, as_rwlock_destroy(&x->rww))                       \
    X(rwlock_destroy_upgradable_held, -EBUSY, as_rwlock_destroy(&x->rwu))                  \
    X(rwlock_try_read_null, -EINVAL, as_rwlock_try_read(NULL))                             \
    X(rwlock_try_read_zeroed, -EINVAL, as_rwlock_try_read(&x->zrw))                        \
    X(rwlock_try_read_destroyed, -EINVAL, as_rwlock_try_read(&x->drw))                     \
    X(rwlock_try_read_closed, -ESHUTDOWN, as_rwlock_try_read(&x->rwcl))                    \
    X(rwlock_try_write_null, -EINVAL, as_rwlock_try_write(NULL))                           \
    X(rwlock_try_write_destroyed, -EINVAL, as_rwlock_try_write(&x->drw))                   \
    X(rwlock_try_write_closed, -ESHUTDOWN, as_rwlock_try_write(&x->rwcl))                  \
    X(rwlock_try_upgradable_null, -EINVAL, as_rwlock_try_upgradable_read(NULL))            \
    X(rwlock_try_upgradable_zeroed, -EINVAL, as_rwlock_try_upgradable_read(&x->zrw))       \
    X(rwlock_try_upgradable_closed, -ESHUTDOWN, as_rwlock_try_upgradable_read(&x->rwcl))   \
    X(rwlock_try_upgrade_null, -EINVAL, as_rwlock_try_upgrade(NULL))                       \
    X(rwlock_try_upgrade_destroyed, -EINVAL, as_rwlock_try_upgrade(&x->drw))               \
    X(rwlock_try_upgrade_free, -EPERM, as_rwlock_try_upgrade(&x->rwf))                     \
    X(rwlock_try_upgrade_read_held, -EPERM, as_rwlock_try_upgrade(&x->rwr))                \
    X(rwlock_try_upgrade_write_held, -EPERM, as_rwlock_try_upgrade(&x->rww))               \
    X(rwlock_try_upgrade_other_reader, 0, as_rwlock_try_upgrade(&x->rwu))                  \
    X(rwlock_try_upgrade_closed, -ESHUTDOWN, as_rwlock_try_upgrade(&x->rwcl))              \
    X(rwlock_read_pending_wait_fast_path, -EBUSY,                                          \
      as_rwlock_read_async(&x->rwf, LOOP, &x->tws.w, th_cb, &x->tws))                      \
    X(rwlock_read_pending_wait_held, -EBUSY,                                               \
      as_rwlock_read_async(&x->rww, LOOP, &x->twm.w, th_cb, &x->twm))                      \
    X(rwlock_read_closed, -ESHUTDOWN, as_rwlock_read_async(&x->rwcl, LOOP, TW))            \
    X(rwlock_read_until_huge_deadline, -EINVAL,                                            \
      as_rwlock_read_until(&x->rwf, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))         \
    X(rwlock_read_until_past_deadline, -ETIMEDOUT,                                         \
      as_rwlock_read_until(&x->rww, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                  \
    X(rwlock_write_pending_wait, -EBUSY,                                                   \
      as_rwlock_write_async(&x->rwr, LOOP, &x->twe.w, th_cb, &x->twe))                     \
    X(rwlock_write_closed, -ESHUTDOWN, as_rwlock_write_async(&x->rwcl, LOOP, TW))          \
    X(rwlock_write_until_huge_deadline, -EINVAL,                                           \
      as_rwlock_write_until(&x->rwf, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))        \
    X(rwlock_write_until_past_deadline, -ETIMEDOUT,                                        \
      as_rwlock_write_until(&x->rwr, LOOP, &x->tw.w, PAST, th_cb, &x->tw))                 \
    X(rwlock_upgradable_closed, -ESHUTDOWN, as_rwlock_upgradable_read_async(&x->rwcl, LOOP, TW)) \
    X(rwlock_upgradable_until_huge_deadline, -EINVAL,                                      \
      as_rwlock_upgradable_read_until(&x->rwf, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw)) \
    X(rwlock_upgradable_until_past_deadline, -ETIMEDOUT,                                   \
      as_rwlock_upgradable_read_until(&x->rwu, LOOP, &x->tw.w, PAST, th_cb, &x->tw))       \
    X(rwlock_upgrade_null_rwlock, -EINVAL, as_rwlock_upgrade_async(NULL, LOOP, TW))        \
    X(rwlock_upgrade_null_loop, -EINVAL, as_rwlock_upgrade_async(&x->rwu, NULL, TW))       \
    X(rwlock_upgrade_destroyed_rwlock, -EINVAL, as_rwlock_upgrade_async(&x->drw, LOOP, TW)) \
    X(rwlock_upgrade_free, -EPERM, as_rwlock_upgrade_async(&x->rwf, LOOP, TW))             \
    X(rwlock_upgrade_read_held, -EPERM, as_rwlock_upgrade_async(&x->rwr, LOOP, TW))        \
    X(rwlock_upgrade_write_held, -EPERM, as_rwlock_upgrade_async(&x->rww, LOOP, TW))       \
    X(rwlock_upgrade_pending_wait, -EBUSY,                                                 \
      as_rwlock_upgrade_async(&x->rwu, LOOP, &x->tws.w, th_cb, &x->tws))                   \
    X(rwlock_upgrade_closed, -ESHUTDOWN, as_rwlock_upgrade_async(&x->rwcl, LOOP, TW))      \
    X(rwlock_upgrade_until_huge_deadline, -EINVAL,                                         \
      as_rwlock_upgrade_until(&x->rwu, LOOP, &x->tw.w, HUGE_DEADLINE, th_cb, &x->tw))      \
    X(rwlock_upgrade_until_past_deadline, -ETIMEDOUT,                                      \
      as_rwlock_upgrade_until(&x->rwu, LOOP, &x->tw.w, PAST, th_cb, &x->tw))               \
    X(rwlock_read_blocking_null, -EINVAL, as_rwlock_read_blocking(NULL, AS_NO_DEADLINE))   \
    X(rwlock_read_blocking_huge_deadline, -EINVAL, as_rwlock_read_blocking(&x->rwf, HUGE_DEADLINE)) \
    X(rwlock_read_blocking_past_deadline, -ETIMEDOUT, as_rwlock_read_blocking(&x->rww, PAST)) \
    X(rwlock_read_blocking_closed, -ESHUTDOWN, as_rwlock_read_blocking(&x->rwcl, AS_NO_DEADLINE)) \
    X(rwlock_write_blocking_destroyed, -EINVAL, as_rwlock_write_blocking(&x->drw, AS_NO_DEADLINE)) \
    X(rwlock_write_blocking_past_deadline, -ETIMEDOUT, as_rwlock_write_blocking(&x->rwu, PAST)) \
    X(rwlock_write_blocking_closed, -ESHUTDOWN, as_rwlock_write_blocking(&x->rwcl, AS_NO_DEADLINE)) \
    X(rwlock_upgradable_blocking_past_deadline, -ETIMEDOUT,                                \
      as_rwlock_upgradable_read_blocking(&x->rwu, PAST))                                   \
    X(rwlock_upgrade_blocking_free, -EPERM, as_rwlock_upgrade_blocking(&x->rwf, AS_NO_DEADLINE)) \
    X(rwlock_upgrade_blocking_past_deadline, -ETIMEDOUT, as_rwlock_upgrade_blocking(&x->rwu, PAST)) \
    X(rwlock_upgrade_blocking_closed, -ESHUTDOWN, as_rwlock_upgrade_blocking(&x->rwcl, AS_NO_DEADLINE)) \
    X(rwlock_read_unlock_null, -EINVAL, as_rwlock_read_unlock(NULL))                       \
    X(rwlock_read_unlock_zeroed, -EINVAL, as_rwlock_read_unlock(&x->zrw))                  \
    X(rwlock_read_unlock_destroyed, -EINVAL, as_rwlock_read_unlock(&x->drw))               \
    X(rwlock_read_unlock_free, -EPERM, as_rwlock_read_unlock(&x->rwf))                     \
    X(rwlock_read_unlock_write_held, -EPERM, as_rwlock_read_unlock(&x->rww))               \
    X(rwlock_write_unlock_null, -EINVAL, as_rwlock_write_unlock(NULL))                     \
    X(rwlock_write_unlock_destroyed, -EINVAL, as_rwlock_write_unlock(&x->drw))             \
    X(rwlock_write_unlock_free, -EPERM, as_rwlock_write_unlock(&x->rwf))                   \
    X(rwlock_write_unlock_read_held, -EPERM, as_rwlock_write_unlock(&x->rwr))              \
    X(rwlock_write_unlock_upgradable_held, -EPERM, as_rwlock_write_unlock(&x->rwu))        \
    X(rwlock_upgradable_unlock_null, -EINVAL, as_rwlock_upgradable_read_unlock(NULL))      \
    X(rwlock_upgradable_unlock_free, -EPERM, as_rwlock_upgradable_read_unlock(&x->rwf))    \
    X(rwlock_upgradable_unlock_read_held, -EPERM, as_rwlock_upgradable_read_unlock(&x->rwr)) \
    X(rwlock_upgradable_unlock_write_held, -EPERM, as_rwlock_upgradable_read_unlock(&x->rww)) \
    X(rwlock_downgrade_null, -EINVAL, as_rwlock_downgrade(NULL))                           \
    X(rwlock_downgrade_zeroed, -EINVAL, as_rwlock_downgrade(&x->zrw))                      \
    X(rwlock_downgrade_free, -EPERM, as_rwlock_downgrade(&x->rwf))                         \
    X(rwlock_downgrade_read_held, -EPERM, as_rwlock_downgrade(&x->rwr))                    \
    X(rwlock_downgrade_upgradable_held, -EPERM, as_rwlock_downgrade(&x->rwu))              \
    X(rwlock_close_null, -EINVAL, as_rwlock_close(NULL))                                   \
    X(rwlock_close_zeroed, -EINVAL, as_rwlock_close(&x->zrw))                              \
    X(rwlock_close_destroyed, -EINVAL, as_rwlock_close(&x->drw))                           \
    X(rwlock_close_twice, 0, as_rwlock_close(&x->rwcl))                                    \
    X(rwlock_waiters_null, -EINVAL, (int)as_rwlock_waiters(NULL))                          \
    X(rwlock_waiters_zeroed, -EINVAL, (int)as_rwlock_waiters(&x->zrw))                     \
    X(rwlock_waiters_destroyed, -EINVAL, (int)as_rwlock_waiters(&x->drw))

/* name, expected result, call */
#define ROWS(X)                                                                            \
    /* ---- loops ---- */                                                                  \
    X(loop_init_uring_null_loop, PER_OS(-EINVAL, -EOPNOTSUPP), as_loop_init_uring(NULL, RING, NULL)) \
    X(loop_init_uring_null_ring, PER_OS(-EINVAL, -EOPNOTSUPP), as_loop_init_uring(&x->tmp, NULL, NULL)) \
    X(loop_init_uring_flags, PER_OS(-EINVAL, -EOPNOTSUPP),                               \
      as_loop_init_uring(&x->tmp, RING, &x->o_flags))                                      \
    X(loop_init_uring_unknown_caps, PER_OS(-EINVAL, -EOPNOTSUPP),                        \
      as_loop_init_uring(&x->tmp, RING, &x->o_caps))                                       \
    X(loop_init_generic_null_loop, -EINVAL, as_loop_init_generic(NULL, bx_notify, x, NULL)) \
    X(loop_init_generic_null_notify, -EINVAL, as_loop_init_generic(&x->tmp, NULL, x, NULL)) \
    X(loop_init_generic_flags, -EINVAL,                                                    \
      as_loop_init_generic(&x->tmp, bx_notify, x, &x->o_flags))                            \
    X(loop_init_generic_unknown_caps, -EINVAL,                                             \
      as_loop_init_generic(&x->tmp, bx_notify, x, &x->o_caps))                             \
    PLATFORM_LOOP_ROWS(X)                                                                  \
    X(loop_run_null, -EINVAL, as_loop_run(NULL))                                           \
    X(loop_run_zeroed, -EINVAL, as_loop_run(&x->zl))                                       \
    X(loop_run_destroyed, -EINVAL, as_loop_run(&x->dl))                                    \
    X(loop_destroy_null, -EINVAL, as_loop_destroy(NULL))                                   \
    X(loop_destroy_zeroed, -EINVAL, as_loop_destroy(&x->zl))                               \
    X(loop_destroy_twice, -EINVAL, as_loop_destroy(&x->dl))                                \
    X(loop_destroy_pending_waits, -EBUSY, as_loop_destroy(LOOP))                           \
    X(loop_handle_cqe_null_loop, 0, as_loop_handle_cqe(NULL, x->cqe_z))                   \
    X(loop_handle_cqe_null_cqe, 0, as_loop_handle_cqe(LOOP, NULL))                         \
    X(loop_handle_cqe_zeroed_loop, 0, as_loop_handle_cqe(&x->zl, x->cqe_z))               \
    X(loop_handle_cqe_destroyed_loop_foreign, 0, as_loop_handle_cqe(&x->dl, x->cqe_z))    \
    /* user_data with bit 63 and a tag is reserved to the library: a late */             \
    /* CQE of a destroyed loop is still the library's (swallowed)        */             \
    X(loop_handle_cqe_destroyed_loop_late, PER_OS(1, 0), as_loop_handle_cqe(&x->dl, x->cqe_d)) \
    X(loop_backend_null, 0, as_loop_backend(NULL) != NULL)                                 \
    X(loop_backend_zeroed, 0, as_loop_backend(&x->zl) != NULL)                             \
    X(loop_backend_destroyed, 0, as_loop_backend(&x->dl) != NULL)                          \
    X(loop_caps_null, 0, (int)as_loop_caps(NULL))                                          \
    X(cancel_null, -EINVAL, as_cancel(NULL))                                               \
    X(cancel_never_used, -ENOENT, as_cancel(&x->tw.w))                                     \
    X(cancel_completed, -ENOENT, as_cancel(&x->twdone.w))                                  \
    X(wait_pending_null, 0, as_wait_pending(NULL))                                         \
    /* ---- semaphore ---- */                                                              \
    X(sem_init_null, -EINVAL, as_sem_init(NULL, 1, 0))                                     \
    X(sem_init_too_many, -EINVAL, as_sem_init(&x->zs, AS_SEM_VALUE_MAX + 1u, 0))           \
    X(sem_init_u32max, -EINVAL, as_sem_init(&x->zs, UINT32_MAX, 0))                        \
    X(sem_init_flags, -EINVAL, as_sem_init(&x->zs, 1, 2))                                  \
    X(sem_init_flags_high, -EINVAL, as_sem_init(&x->zs, 1, 0x80000000u))                   \
    /* named (Linux; Windows: -EOPNOTSUPP after the same -EINVAL checks) */              \
    X(sem_open_null_out, -EINVAL, as_sem_open(NULL, BI_NAME, O_CREAT, 0600, 1, 0, 0))      \
    X(sem_open_null_name, -EINVAL, as_sem_open(&x->sp, NULL, O_CREAT, 0600, 1, 0, 0))      \
    X(sem_open_name_no_slash, -EINVAL, as_sem_open(&x->sp, BI_NAME + 1, O_CREAT, 0600, 1, 0, 0)) \
    X(sem_open_name_inner_slash, -EINVAL, as_sem_open(&x->sp, "/a/b", O_CREAT, 0600, 1, 0, 0)) \
    X(sem_open_name_empty, -EINVAL, as_sem_open(&x->sp, "/", O_CREAT, 0600, 1, 0, 0))      \
    X(sem_open_excl_alone, -EINVAL, as_sem_open(&x->sp, BI_NAME, O_EXCL, 0600, 1, 0, 0))   \
    X(sem_open_oflag_trunc, -EINVAL,                                                       \
      as_sem_open(&x->sp, BI_NAME, O_CREAT | O_TRUNC, 0600, 1, 0, 0))                      \
    X(sem_open_mode, -EINVAL, as_sem_open(&x->sp, BI_NAME, O_CREAT, 01600, 1, 0, 0))       \
    X(sem_open_permits, -EINVAL,                                                           \
      as_sem_open(&x->sp, BI_NAME, O_CREAT, 0600, AS_PSHARED_SEM_VALUE_MAX + 1u, 0, 0))    \
    X(sem_open_slots, -EINVAL,                                                             \
      as_sem_open(&x->sp, BI_NAME, O_CREAT, 0600, 1, 0, AS_PSHARED_SLOTS_MAX + 1u))        \
    X(sem_open_slots_in_flags, -EINVAL,                                                    \
      as_sem_open(&x->sp, BI_NAME, O_CREAT, 0600, 1, AS_PSHARED_SLOTS(1), 1))              \
    X(sem_open_flags, -EINVAL, as_sem_open(&x->sp, BI_NAME, O_CREAT, 0600, 1, 2, 0))       \
    X(sem_open_missing, PER_OS(-ENOENT, -EOPNOTSUPP),                                      \
      as_sem_open(&x->sp, BI_NAME, 0, 0, 0, 0, 0))                                         \
    X(event_open_null_out, -EINVAL,                                                        \
      as_event_open(NULL, BI_NAME, O_CREAT, 0600, AS_EVENT_MANUAL_RESET, 0))               \
    X(event_open_bad_name, -EINVAL,                                                        \
      as_event_open(&x->ep, BI_NAME + 1, O_CREAT, 0600, AS_EVENT_MANUAL_RESET, 0))         \
    X(event_open_flags, -EINVAL,                                                           \
      as_event_open(&x->ep, BI_NAME, O_CREAT, 0600, AS_EVENT_MANUAL_RESET | 0x4u, 0))      \
    X(mutex_open_null_out, -EINVAL, as_mutex_open(NULL, BI_NAME, O_CREAT, 0600, 0, 0))    \
    X(mutex_open_flags, -EINVAL, as_mutex_open(&x->mp, BI_NAME, O_CREAT, 0600, 0x100u, 0)) \
    X(mutex_open_slots, -EINVAL,                                                           \
      as_mutex_open(&x->mp, BI_NAME, O_CREAT, 0600, 0, AS_PSHARED_SLOTS_MAX + 1u))         \
    X(mutex_open_missing, PER_OS(-ENOENT, -EOPNOTSUPP),                                    \
      as_mutex_open(&x->mp, BI_NAME, 0, 0, 0, 0))                                          \
    X(latch_open_null_out, -EINVAL, as_latch_open(NULL, BI_NAME, O_CREAT, 0600, 1, 0, 0))  \
    X(latch_open_count, -EINVAL,                                                           \
      as_latch_open(&x->lp, BI_NAME, O_CREAT, 0600, AS_LATCH_VALUE_MAX + 1u, 0, 0))        \
    X(latch_open_flags, -EINVAL, as_latch_open(&x->lp, BI_NAME, O_CREAT, 0600, 1, 1, 0))   \
    X(latch_open_missing, PER_OS(-ENOENT, -EOPNOTSUPP),                                    \
      as_latch_open(&x->lp, BI_NAME, 0, 0, 0, 0, 0))                                       \
    X(pshared_unmap_null, -EINVAL, as_pshared_unmap(NULL))                                 \
    X(pshared_unmap_not_opened, PER_OS(-EINVAL, -EOPNOTSUPP),                              \
      as_pshared_unmap((char *)&x->s3 + 1))                                                \
    X(pshared_unlink_null, -EINVAL, as_pshared_unlink(NULL))                               \
    X(pshared_unlink_bad_name, -EINVAL, as_pshared_unlink(BI_NAME + 1))                    \
    X(pshared_unlink_missing, PER_OS(-ENOENT, -EOPNOTSUPP), as_pshared_unlink(BI_NAME))    \
    X(sem_destroy_null, -EINVAL, as_sem_destroy(NULL))                                     \
    X(sem_try_null, -EINVAL, as_sem_try_acquire(NULL, 1))                                  \
    X(sem_try_zero, -EINVAL, as_sem_try_acquire(&x->s3, 0))                                \
    X(sem_try_too_many, -EINVAL, as_sem_try_acquire(&x->s3, AS_SEM_VALUE_MAX + 1u))        \
    X(sem_try_u32max, -EINVAL, as_sem_try_acquire(&x->smax, UINT32_MAX))                   \
    X(sem_try_zeroed, -EINVAL, as_sem_try_acquire(&x->zs, 1))                              \
    X(sem_try_destroyed, -EINVAL, as_sem_try_acquire(&x->ds, 1))                           \
    X(sem_acquire_zero, -EINVAL, as_sem_acquire_async(&x->s3, LOOP, &x->tw.w, 0, th_cb, &x->tw)) \
    X(sem_acquire_too_many, -EINVAL,                                                       \
      as_sem_acquire_async(&x->s3, LOOP, &x->tw.w, AS_SEM_VALUE_MAX + 1u, th_cb, &x->tw))  \
    X(sem_acquire_u32max, -EINVAL,                                                         \
      as_sem_acquire_async(&x->smax, LOOP, &x->tw.w, UINT32_MAX, th_cb, &x->tw))           \
    X(sem_acquire_pending_wait_fast_path, -EBUSY,                                          \
      as_sem_acquire_async(&x->s3, LOOP, &x->tws.w, 1, th_cb, &x->tws))                    \
    X(sem_acquire_pending_mutex_wait, -EBUSY,                                              \
      as_sem_acquire_async(&x->s3, LOOP, &x->twm.w, 1, th_cb, &x->twm))                    \
    X(sem_acquire_pending_cond_wait, -EBUSY,                                               \
      as_sem_acquire_async(&x->s3, LOOP, &x->twc.w, 1, th_cb, &x->twc))                    \
    X(sem_acquire_pending_event_wait, -EBUSY,                                              \
      as_sem_acquire_async(&x->s3, LOOP, &x->twe.w, 1, th_cb, &x->twe))                    \
    X(sem_release_null, -EINVAL, as_sem_release(NULL, 1))                                  \
    X(sem_release_zero, -EINVAL, as_sem_release(&x->s3, 0))                                \
    X(sem_release_zeroed, -EINVAL, as_sem_release(&x->zs, 1))                              \
    X(sem_release_destroyed, -EINVAL, as_sem_release(&x->ds, 1))                           \
    X(sem_release_overflow_at_max, -EOVERFLOW, as_sem_release(&x->smax, 1))                \
    X(sem_release_overflow_sum, -EOVERFLOW, as_sem_release(&x->s3, AS_SEM_VALUE_MAX - 2u)) \
    X(sem_release_overflow_n_too_big, -EOVERFLOW, as_sem_release(&x->s3, AS_SEM_VALUE_MAX + 1u)) \
    X(sem_release_overflow_u32max, -EOVERFLOW, as_sem_release(&x->s3, UINT32_MAX))         \
    X(sem_release_overflow_with_waiter, -EOVERFLOW, as_sem_release(&x->s0, UINT32_MAX))    \
    X(sem_value_null, -EINVAL, (int)as_sem_value(NULL))                                    \
    X(sem_value_zeroed, -EINVAL, (int)as_sem_value(&x->zs))                                \
    X(sem_value_destroyed, -EINVAL, (int)as_sem_value(&x->ds))                             \
    /* ---- mutex ---- */                                                                  \
    X(mutex_init_null, -EINVAL, as_mutex_init(NULL, 0))                                    \
    X(mutex_init_flags, -EINVAL, as_mutex_init(&x->zm, 2))                                 \
    X(mutex_init_flags_high, -EINVAL, as_mutex_init(&x->zm, 0x80000000u))                  \
    X(mutex_destroy_null, -EINVAL, as_mutex_destroy(NULL))                                 \
    X(mutex_destroy_locked, -EBUSY, as_mutex_destroy(&x->mlk))                             \
    X(mutex_try_null, -EINVAL, as_mutex_try_lock(NULL))                                    \
    X(mutex_try_zeroed, -EINVAL, as_mutex_try_lock(&x->zm))                                \
    X(mutex_try_destroyed, -EINVAL, as_mutex_try_lock(&x->dm))                             \
    X(mutex_lock_pending_wait_fast_path, -EBUSY,                                           \
      as_mutex_lock_async(&x->m, LOOP, &x->tws.w, th_cb, &x->tws))                         \
    X(mutex_unlock_null, -EINVAL, as_mutex_unlock(NULL))                                   \
    X(mutex_unlock_zeroed, -EINVAL, as_mutex_unlock(&x->zm))                               \
    X(mutex_unlock_destroyed, -EINVAL, as_mutex_unlock(&x->dm))                            \
    X(mutex_unlock_unlocked, -EPERM, as_mutex_unlock(&x->m))                               \
    X(mutex_unlock_unlocked_strict, -EPERM, as_mutex_unlock(&x->mstrict))                  \
    X(mutex_unlock_unlocked_with_cond_waiter, -EPERM, as_mutex_unlock(&x->mc))             \
    /* ---- condvar ---- */                                                                \
    X(cond_init_null, -EINVAL, as_cond_init(NULL, 0))                                      \
    X(cond_init_flags, -EINVAL, as_cond_init(&x->zc, 1))                                   \
    X(cond_destroy_null, -EINVAL, as_cond_destroy(NULL))                                   \
    X(cond_wait_null_mutex, -EINVAL, as_cond_wait_async(&x->c, NULL, LOOP, TW))            \
    X(cond_wait_zeroed_mutex, -EINVAL, as_cond_wait_async(&x->c, &x->zm, LOOP, TW))        \
    X(cond_wait_destroyed_mutex, -EINVAL, as_cond_wait_async(&x->c, &x->dm, LOOP, TW))     \
    X(cond_wait_unlocked_mutex, -EPERM, as_cond_wait_async(&x->c, &x->m, LOOP, TW))        \
    X(cond_wait_pending_wait, -EBUSY,                                                      \
      as_cond_wait_async(&x->c, &x->mlk, LOOP, &x->tws.w, th_cb, &x->tws))                 \
    X(cond_wait_pending_cond_wait, -EBUSY,                                                 \
      as_cond_wait_async(&x->c, &x->mlk, LOOP, &x->twc.w, th_cb, &x->twc))                 \
    X(cond_signal_null, -EINVAL, as_cond_signal(NULL))                                     \
    X(cond_signal_zeroed, -EINVAL, as_cond_signal(&x->zc))                                 \
    X(cond_signal_destroyed, -EINVAL, as_cond_signal(&x->dc))                              \
    X(cond_broadcast_null, -EINVAL, as_cond_broadcast(NULL))                               \
    X(cond_broadcast_zeroed, -EINVAL, as_cond_broadcast(&x->zc))                           \
    X(cond_broadcast_destroyed, -EINVAL, as_cond_broadcast(&x->dc))                        \
    /* ---- event ---- */                                                                  \
    X(event_init_null, -EINVAL, as_event_init(NULL, 0))                                    \
    X(event_init_flags, -EINVAL, as_event_init(&x->ze, 4))                                 \
    X(event_init_flags_high, -EINVAL, as_event_init(&x->ze, 0x80000000u))                  \
    X(event_destroy_null, -EINVAL, as_event_destroy(NULL))                                 \
    X(event_wait_pending_wait_fast_path, -EBUSY,                                           \
      as_event_wait_async(&x->easet, LOOP, &x->tws.w, th_cb, &x->tws))                     \
    X(event_set_null, -EINVAL, as_event_set(NULL))                                         \
    X(event_set_zeroed, -EINVAL, as_event_set(&x->ze))                                     \
    X(event_set_destroyed, -EINVAL, as_event_set(&x->de))                                  \
    X(event_reset_null, -EINVAL, as_event_reset(NULL))                                     \
    X(event_reset_zeroed, -EINVAL, as_event_reset(&x->ze))                                 \
    X(event_reset_destroyed, -EINVAL, as_event_reset(&x->de))                              \
    X(event_is_set_null, -EINVAL, as_event_is_set(NULL))                                   \
    X(event_is_set_zeroed, -EINVAL, as_event_is_set(&x->ze))                               \
    X(event_is_set_destroyed, -EINVAL, as_event_is_set(&x->de))                           \
    ROUND2_ROWS(X)                                                                         \
    RWLOCK_ROWS(X)

#define DEF_ROW(name, expect, call)                                                       \
    static int row_##name(bx *x)                                                          \
    {                                                                                     \
        return (int)(call);                                                               \
    }
ROWS(DEF_ROW)

#define ENT_ROW(name, expect, call) { #name, row_##name, expect },
static row rows[] = { ROWS(ENT_ROW) };
#define NROWS (sizeof rows / sizeof rows[0])

/* ------------------------------------------------------------------------- */

static const unsigned char zero_bytes[sizeof(as_loop) > 256 ? sizeof(as_loop) : 256];

/* The read-write locks of the fixture (see struct bx). */
static void bx_rw_setup(bx *x)
{
    TH_RC(as_rwlock_init(&x->rwf, 0), 0);
    TH_RC(as_rwlock_init(&x->rwr, 0), 0);
    TH_RC(as_rwlock_try_read(&x->rwr), 1);
    TH_RC(as_rwlock_init(&x->rww, 0), 0);
    TH_RC(as_rwlock_try_write(&x->rww), 1);
    TH_RC(as_rwlock_init(&x->rwu, 0), 0);
    TH_RC(as_rwlock_try_upgradable_read(&x->rwu), 1);
    TH_RC(as_rwlock_try_read(&x->rwu), 1);
    TH_RC(as_rwlock_init(&x->rwcl, 0), 0);
    TH_RC(as_rwlock_try_upgradable_read(&x->rwcl), 1);
    TH_RC(as_rwlock_try_read(&x->rwcl), 1);
    TH_RC(as_rwlock_close(&x->rwcl), 0);
    TH_RC(as_rwlock_init(&x->drw, 0), 0);
    TH_RC(as_rwlock_destroy(&x->drw), 0);
    x->drw_snap = x->drw;
}

static void bx_rw_check_unchanged(bx *x)
{
    TH_RC(as_rwlock_try_write(&x->rwf), 1);
    TH_RC(as_rwlock_write_unlock(&x->rwf), 0);
    TH_RC(as_rwlock_try_write(&x->rwr), 0);
    TH_RC(as_rwlock_try_upgradable_read(&x->rwr), 1);
    TH_RC(as_rwlock_upgradable_read_unlock(&x->rwr), 0);
    TH_RC(as_rwlock_try_read(&x->rww), 0);
    TH_RC(as_rwlock_try_upgradable_read(&x->rwu), 0);
    TH_RC(as_rwlock_try_upgrade(&x->rwu), 0);
    TH_RC(as_rwlock_try_read(&x->rwu), 1);
    TH_RC(as_rwlock_read_unlock(&x->rwu), 0);
    TH_RC(as_rwlock_try_read(&x->rwcl), -ESHUTDOWN);
    TH_EQ(as_rwlock_waiters(&x->rwf), 0);
    TH_EQ(as_rwlock_waiters(&x->rwr), 0);
    TH_EQ(as_rwlock_waiters(&x->rww), 0);
    TH_EQ(as_rwlock_waiters(&x->rwu), 0);
    if (memcmp(&x->zrw, zero_bytes, sizeof x->zrw) != 0)
        th_fail("%s: a zeroed as_rwlock was modified", x->r->name);
    if (memcmp(&x->drw, &x->drw_snap, sizeof x->drw) != 0)
        th_fail("%s: a destroyed as_rwlock was modified", x->r->name);
}

static void bx_rw_teardown(bx *x)
{
    TH_RC(as_rwlock_destroy(&x->rwf), 0);
    TH_RC(as_rwlock_read_unlock(&x->rwr), 0);
    TH_RC(as_rwlock_destroy(&x->rwr), 0);
    TH_RC(as_rwlock_write_unlock(&x->rww), 0);
    TH_RC(as_rwlock_destroy(&x->rww), 0);
    TH_RC(as_rwlock_read_unlock(&x->rwu), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&x->rwu), 0);
    TH_RC(as_rwlock_destroy(&x->rwu), 0);
    TH_RC(as_rwlock_read_unlock(&x->rwcl), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&x->rwcl), 0);
    TH_RC(as_rwlock_destroy(&x->rwcl), 0);
}

static int bx_setup(void **state)
{
    const row *r = *state;
    bx *x = th_zalloc(sizeof *x);
    x->r = r;
    *state = x;
    th_rec_init(&x->rec);
    th_loop_setup(&x->L, TH_RING, NULL);

    th_sem_make(&x->s3, 3);
    th_sem_make(&x->s0, 0);
    th_sem_make(&x->smax, AS_SEM_VALUE_MAX);
    th_sem_make(&x->sdone, 0);
    th_mutex_make(&x->m, 0);
    th_mutex_make(&x->mstrict, AS_MUTEX_STRICT_FIFO);
    th_mutex_make(&x->mlk, 0);
    TH_RC(as_mutex_try_lock(&x->mlk), 1);
    th_mutex_make(&x->mw, 0);
    TH_RC(as_mutex_try_lock(&x->mw), 1);
    th_mutex_make(&x->mc, 0);
    th_cond_make(&x->c);
    th_cond_make(&x->cw);
    th_event_make(&x->e, 0);
    th_event_make(&x->ew, 0);
    th_event_make(&x->eset, AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET);
    th_event_make(&x->easet, AS_EVENT_INITIALLY_SET);
    th_sem_make(&x->scl, 2);
    TH_RC(as_sem_close(&x->scl), 0);
    th_mutex_make(&x->mcl, 0);
    TH_RC(as_mutex_close(&x->mcl), 0);
    th_cond_make(&x->ccl);
    TH_RC(as_cond_close(&x->ccl), 0);
    th_event_make(&x->ecl, AS_EVENT_INITIALLY_SET);
    TH_RC(as_event_close(&x->ecl), 0);
    TH_RC(as_latch_init(&x->l1, 1), 0);
    TH_RC(as_barrier_init(&x->b2, 2), 0);

    th_waiter_init(&x->tws, &x->rec, &x->L, 1);
    th_waiter_init(&x->twm, &x->rec, &x->L, 2);
    th_waiter_init(&x->twc, &x->rec, &x->L, 3);
    th_waiter_init(&x->twe, &x->rec, &x->L, 4);
    th_waiter_init(&x->tw, &x->rec, &x->L, 10);
    th_waiter_init(&x->twdone, &x->rec, &x->L, 11);
    TH_RC(th_sem_acquire(&x->tws, &x->s0, 1), 0);
    TH_RC(th_mutex_lock(&x->twm, &x->mw, false), 0);
    TH_RC(as_mutex_try_lock(&x->mc), 1);
    TH_RC(th_cond_wait(&x->twc, &x->cw, &x->mc, true), 0);
    TH_RC(th_event_wait(&x->twe, &x->ew), 0);
    TH_RC(th_sem_acquire(&x->twdone, &x->sdone, 1), 0);
    TH_RC(as_sem_release(&x->sdone, 1), 0);
    th_rec_wait(&x->L, &x->rec, 1);

    th_sem_make(&x->ds, 1);
    TH_RC(as_sem_destroy(&x->ds), 0);
    th_mutex_make(&x->dm, 0);
    TH_RC(as_mutex_destroy(&x->dm), 0);
    th_cond_make(&x->dc);
    TH_RC(as_cond_destroy(&x->dc), 0);
    th_event_make(&x->de, AS_EVENT_INITIALLY_SET);
    TH_RC(as_event_destroy(&x->de), 0);
    TH_RC(as_loop_init_generic(&x->dl, bx_notify, x, NULL), 0);
    TH_RC(as_loop_destroy(&x->dl), 0);
    x->ds_snap = x->ds;
    x->dm_snap = x->dm;
    x->dc_snap = x->dc;
    x->de_snap = x->de;
    x->dl_snap = x->dl;

    x->o_flags.flags = 0x80u; /* not an AS_LOOP_* flag */
    x->o_caps.disabled_caps = 0x80000000u;
#ifdef _WIN32
    /* as_loop_handle_cqe is a stub that must not look at its argument */
    x->cqe_z = x->cqe_d = (struct io_uring_cqe *)(void *)x->dummy_entry;
    x->other_port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    assert_non_null(x->other_port);
    x->entry_app.lpCompletionKey = (ULONG_PTR)LOOP;
    x->entry_app.lpOverlapped = &x->app_ov;
    /* last: no handle is created between this close and the row */
    x->closed_port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    assert_non_null(x->closed_port);
    assert_true(CloseHandle(x->closed_port));
#else
    static struct io_uring_cqe cqe_app, cqe_late; /* flexible array member: not in bx */
    x->cqe_z = &cqe_app;
    x->cqe_d = &cqe_late;
    x->cqe_z->user_data = 0x1234; /* an application's own */
    /* the library's form (asyncsync.h): bit 63, tag 1 in bits 56-59 */
    x->cqe_d->user_data = (1ull << 63) | (1ull << 56) | (uint64_t)(uintptr_t)&x->dl;
#endif
    bx_rw_setup(x);
    th_pump(&x->L);
    return 0;
}

#define CHECK_BYTES(obj, ref, what)                                                        \
    do {                                                                                   \
        if (memcmp(&(obj), (ref), sizeof(obj)) != 0)                                       \
            th_fail("%s: %s was modified", x->r->name, what);                              \
    } while (0)

static void bx_check_unchanged(bx *x)
{
    TH_EQ(as_sem_value(&x->s3), 3);
    TH_EQ(as_sem_value(&x->s0), 0);
    TH_EQ(as_sem_value(&x->smax), AS_SEM_VALUE_MAX);
    TH_EQ(as_sem_value(&x->sdone), 0);
    TH_EQ(x->sp == NULL && x->ep == NULL && x->lp == NULL && x->mp == NULL, 1); /* failed opens set nothing */
#ifndef _WIN32
    {
        /* and makes no shm object */
        int fd = shm_open(BI_NAME, O_RDONLY, 0);
        TH_EQ(fd < 0 && errno == ENOENT, 1);
    }
#endif
    TH_RC(as_sem_try_acquire(&x->s0, 1), 0);
    TH_RC(as_mutex_try_lock(&x->m), 1);
    TH_RC(as_mutex_unlock(&x->m), 0);
    TH_RC(as_mutex_try_lock(&x->mstrict), 1);
    TH_RC(as_mutex_unlock(&x->mstrict), 0);
    TH_RC(as_mutex_try_lock(&x->mc), 1);
    TH_RC(as_mutex_unlock(&x->mc), 0);
    TH_RC(as_mutex_try_lock(&x->mlk), 0);
    TH_RC(as_mutex_try_lock(&x->mw), 0);
    TH_RC(as_event_is_set(&x->e), 0);
    TH_RC(as_event_is_set(&x->ew), 0);
    TH_RC(as_event_is_set(&x->eset), 1);
    TH_RC(as_event_is_set(&x->easet), 1);
    TH_EQ(as_sem_value(&x->scl), 2);
    TH_RC(as_sem_try_acquire(&x->scl, 1), -ESHUTDOWN);
    TH_EQ(as_sem_waiters(&x->s0), 1);
    TH_EQ(as_sem_waiters(&x->s3), 0);
    TH_EQ(as_mutex_waiters(&x->mw), 1);
    TH_RC(as_mutex_try_lock(&x->mcl), -ESHUTDOWN);
    TH_RC(as_event_is_set(&x->ecl), 1);
    TH_EQ(as_latch_value(&x->l1), 1);
    TH_EQ(as_latch_waiters(&x->l1), 0);
    TH_EQ(as_barrier_waiters(&x->b2), 0);
    CHECK_BYTES(x->zla, zero_bytes, "a zeroed as_latch");
    CHECK_BYTES(x->zba, zero_bytes, "a zeroed as_barrier");
    TH_EQ(as_wait_pending(&x->tws.w), 1);
    TH_EQ(as_wait_pending(&x->twm.w), 1);
    TH_EQ(as_wait_pending(&x->twc.w), 1);
    TH_EQ(as_wait_pending(&x->twe.w), 1);
    TH_EQ(as_wait_pending(&x->tw.w), 0);
    TH_EQ(as_wait_pending(&x->twdone.w), 0);
    CHECK_BYTES(x->zs, zero_bytes, "a zeroed as_sem");
    CHECK_BYTES(x->zm, zero_bytes, "a zeroed as_mutex");
    CHECK_BYTES(x->zc, zero_bytes, "a zeroed as_cond");
    CHECK_BYTES(x->ze, zero_bytes, "a zeroed as_event");
    CHECK_BYTES(x->zl, zero_bytes, "a zeroed as_loop");
    CHECK_BYTES(x->tmp, zero_bytes, "the zeroed as_loop a bad init was given");
    CHECK_BYTES(x->ds, &x->ds_snap, "a destroyed as_sem");
    CHECK_BYTES(x->dm, &x->dm_snap, "a destroyed as_mutex");
    CHECK_BYTES(x->dc, &x->dc_snap, "a destroyed as_cond");
    CHECK_BYTES(x->de, &x->de_snap, "a destroyed as_event");
    CHECK_BYTES(x->dl, &x->dl_snap, "a destroyed as_loop");
    assert_non_null(as_loop_backend(&x->L.loop));
    th_quiesce(&x->L, 0.02);
    bx_rw_check_unchanged(x);
    if (th_rec_count(&x->rec) != 1)
        th_fail("%s: %u callback(s) ran; a rejected call must not call back",
                x->r->name, th_rec_count(&x->rec) - 1);
}

static void bx_row(void **state)
{
    bx *x = *state;
    int got = x->r->fn(x);
    if (got != x->r->expect)
        th_fail("%s returned %s, expected %s", x->r->name, th_errname(got),
                th_errname(x->r->expect));
    bx_check_unchanged(x);
}

static int bx_teardown(void **state)
{
    bx *x = *state;
    if (as_loop_backend(&x->tmp)) /* a bad init that wrongly succeeded */
        as_loop_destroy(&x->tmp);
    TH_RC(as_cancel(&x->tws.w), 0);
    TH_RC(as_cancel(&x->twm.w), 0);
    TH_RC(as_cancel(&x->twc.w), 0);
    TH_RC(as_cancel(&x->twe.w), 0);
    th_rec_wait(&x->L, &x->rec, 5);
    for (int id = 1; id <= 4; id++)
        TH_RC(th_rec_status_of(&x->rec, id), -ECANCELED);
    TH_RC(as_mutex_unlock(&x->mlk), 0);
    TH_RC(as_mutex_unlock(&x->mw), 0);
    TH_RC(as_sem_destroy(&x->s3), 0);
    TH_RC(as_sem_destroy(&x->s0), 0);
    TH_RC(as_sem_destroy(&x->smax), 0);
    TH_RC(as_sem_destroy(&x->sdone), 0);
    TH_RC(as_mutex_destroy(&x->m), 0);
    TH_RC(as_mutex_destroy(&x->mstrict), 0);
    TH_RC(as_mutex_destroy(&x->mlk), 0);
    TH_RC(as_mutex_destroy(&x->mw), 0);
    TH_RC(as_mutex_destroy(&x->mc), 0);
    TH_RC(as_cond_destroy(&x->c), 0);
    TH_RC(as_cond_destroy(&x->cw), 0);
    TH_RC(as_event_destroy(&x->e), 0);
    TH_RC(as_event_destroy(&x->ew), 0);
    TH_RC(as_event_destroy(&x->eset), 0);
    TH_RC(as_event_destroy(&x->easet), 0);
    TH_RC(as_sem_destroy(&x->scl), 0);
    TH_RC(as_mutex_destroy(&x->mcl), 0);
    TH_RC(as_cond_destroy(&x->ccl), 0);
    TH_RC(as_event_destroy(&x->ecl), 0);
    TH_RC(as_latch_destroy(&x->l1), 0);
    TH_RC(as_barrier_destroy(&x->b2), 0);
    bx_rw_teardown(x);
    th_loop_destroy(&x->L);
    th_rec_assert_clean(&x->rec);
#ifdef _WIN32
    CloseHandle(x->other_port);
#endif
    free(x);
    return 0;
}

int main(void)
{
    static struct CMUnitTest tests[NROWS];
    for (size_t i = 0; i < NROWS; i++) {
        tests[i].name = rows[i].name;
        tests[i].test_func = bx_row;
        tests[i].setup_func = bx_setup;
        tests[i].teardown_func = bx_teardown;
        tests[i].initial_state = &rows[i];
    }
    return th_main("badinput", tests, NROWS);
}
