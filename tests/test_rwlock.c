/*
 * Conformance: as_rwlock (fair by phases, upgradable reads, downgrade).
 *
 *   - fast paths: readers share, a writer excludes, one upgradable reader
 *     alongside plain readers, try_upgrade, downgrade, -EPERM unlocks;
 *   - phases: waiters in arrival order, consecutive readers admitted
 *     together, a reader behind a queued writer waits for it;
 *   - downgrade admits the readers at the head;
 *   - upgrade: waits for the other readers, new readers queue behind it,
 *     cancel / deadline leave the upgradable read held and let the readers
 *     behind it in;
 *   - cancel after the grant gives it back (read, write, upgradable,
 *     upgrade: back to the upgradable read);
 *   - close; AS_LOOP_ALWAYS_CALLBACK; blocking readers with loop writers;
 *   - the cross-loop policies, with waiters on a loop thread held still
 *     (a job that blocks it) while the main thread releases and barges:
 *     AS_RWLOCK_STRICT_FIFO: every release hands the lock to the head, and
 *     no newcomer ever passes a queued waiter; the default (and
 *     AS_RWLOCK_EVENTUAL_FAIR), on a loop without a timer of its own
 *     (notify): the head on another loop is woken, not handed the lock; a
 *     newcomer may take the lock meanwhile (a writer past a queued writer,
 *     a reader only past a reader head); a woken writer or reader batch
 *     that finds it taken comes back STARVING, blocks every newcomer and is
 *     handed the lock directly by the next unlock; a woken wait cancelled
 *     or closed on its way gives up and passes the wake on (and destroy
 *     says -EBUSY until it arrived); an upgrade is never woken, in either
 *     policy;
 *   - the default on a ring loop (RW10): a woken wait that finds the lock
 *     taken comes back PASSED: releases from other loops neither wake nor
 *     serve it, newcomers (readers too) pass it, its own loop's release
 *     hands it the lock, and at its timer it takes the lock if it is
 *     compatible, else it is STARVING and the next release serves it; a
 *     PASSED head that is cancelled lets the next head in.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

enum { RD, WR, UR, UG };

/* on_cb hook: give back what the callback got (status 0). */
static void unlock_cb(th_waiter *tw, int status)
{
    as_rwlock *rw = tw->user;
    if (status != 0)
        return;
    int r;
    switch (tw->user_n) {
    case RD: r = as_rwlock_read_unlock(rw); break;
    case UR: r = as_rwlock_upgradable_read_unlock(rw); break;
    default: r = as_rwlock_write_unlock(rw); break; /* WR, UG */
    }
    if (r != 0)
        th_fail("unlock in the callback (mode %ld): %s", tw->user_n, th_errname(r));
}

/* Start a wait of `mode` on rw; the callback unlocks when `unlock`. */
static int rw_wait(th_waiter *tw, as_rwlock *rw, int mode, uint64_t d, bool unlock)
{
    as_loop *loop = &tw->L->loop;
    as_wait *w = &tw->w;
    int r;
    tw->user = rw;
    tw->user_n = mode;
    tw->on_cb = unlock ? unlock_cb : NULL;
    switch (mode) {
    case RD:
        r = d == AS_NO_DEADLINE ? as_rwlock_read_async(rw, loop, w, th_cb, tw)
                                : as_rwlock_read_until(rw, loop, w, d, th_cb, tw);
        break;
    case WR:
        r = d == AS_NO_DEADLINE ? as_rwlock_write_async(rw, loop, w, th_cb, tw)
                                : as_rwlock_write_until(rw, loop, w, d, th_cb, tw);
        break;
    case UR:
        r = d == AS_NO_DEADLINE ? as_rwlock_upgradable_read_async(rw, loop, w, th_cb, tw)
                                : as_rwlock_upgradable_read_until(rw, loop, w, d, th_cb, tw);
        break;
    default:
        r = d == AS_NO_DEADLINE ? as_rwlock_upgrade_async(rw, loop, w, th_cb, tw)
                                : as_rwlock_upgrade_until(rw, loop, w, d, th_cb, tw);
        break;
    }
    return th_armed(tw, r, TH_HELD_NONE, NULL, false);
}

static void rw_make(as_rwlock *rw)
{
    memset(rw, 0xa5, sizeof *rw); /* init never looks at the memory */
    TH_RC(as_rwlock_init(rw, 0), 0);
}

/* The lock is free: each kind of try succeeds and is given back. */
static void assert_free(as_rwlock *rw)
{
    TH_RC(as_rwlock_try_write(rw), 1);
    TH_RC(as_rwlock_write_unlock(rw), 0);
    TH_EQ(as_rwlock_waiters(rw), 0);
}

/* ---- fast paths ---------------------------------------------------------- */

static void rwlock_fast_paths(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    as_rwlock st = AS_RWLOCK_INITIALIZER;
    assert_free(&st);
    TH_RC(as_rwlock_destroy(&st), 0);

    /* readers share; a writer and the unlocks */
    TH_RC(as_rwlock_try_read(&rw), 1);
    TH_RC(as_rwlock_try_read(&rw), 1);
    TH_RC(as_rwlock_try_write(&rw), 0);
    TH_RC(as_rwlock_write_unlock(&rw), -EPERM);
    TH_RC(as_rwlock_downgrade(&rw), -EPERM);
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), -EPERM);
    TH_RC(as_rwlock_try_upgrade(&rw), -EPERM);
    TH_RC(as_rwlock_destroy(&rw), -EBUSY);
    /* one upgradable reader alongside them, not two */
    TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
    TH_RC(as_rwlock_try_read(&rw), 1);
    TH_RC(as_rwlock_try_upgrade(&rw), 0); /* three plain readers */
    for (int i = 0; i < 3; i++)
        TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), -EPERM); /* only the upgradable is held */
    TH_RC(as_rwlock_try_upgrade(&rw), 1);      /* the only reader: now writer */
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), -EPERM);
    TH_RC(as_rwlock_downgrade(&rw), 0); /* writer -> reader */
    TH_RC(as_rwlock_try_write(&rw), 0);
    TH_RC(as_rwlock_try_read(&rw), 1);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), -EPERM);
    TH_RC(as_rwlock_destroy(&rw), 0);

    /* *_async taken at once: 1, no callback */
    rw_make(&rw);
    th_waiter a, b, c;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);
    th_waiter_init(&c, R, L, 3);
    TH_RC(rw_wait(&a, &rw, RD, AS_NO_DEADLINE, false), 1);
    TH_RC(rw_wait(&b, &rw, UR, AS_NO_DEADLINE, false), 1);
    TH_RC(rw_wait(&c, &rw, UG, AS_NO_DEADLINE, false), 0); /* a reads */
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    th_rec_wait(L, R, 1);
    TH_RC(th_rec_status_of(R, 3), 0);
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    TH_RC(rw_wait(&a, &rw, WR, as_now_ns() + 1000 * MS, false), 1);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    TH_RC(rw_wait(&b, &rw, UR, AS_NO_DEADLINE, false), 1);
    TH_RC(rw_wait(&c, &rw, UG, as_now_ns() + 1000 * MS, false), 1);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 1);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* ---- phases ---------------------------------------------------------------- */

/* Write-held; queue R1 R2 W3 R4 U5 R6 W7.  write_unlock admits R1 R2
 * together; W3 waits for both; its unlock admits R4 U5 R6 together; W7 waits
 * for all three. */
static void rwlock_phases(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_write(&rw), 1);
    static const int mode[7] = { RD, RD, WR, RD, UR, RD, WR };
    th_waiter w[7];
    for (int i = 0; i < 7; i++) {
        th_waiter_init(&w[i], R, L, i + 1);
        TH_RC(rw_wait(&w[i], &rw, mode[i], AS_NO_DEADLINE, false), 0);
    }
    TH_EQ(as_rwlock_waiters(&rw), 7);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    TH_EQ(as_rwlock_waiters(&rw), 5);
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1, 2);
    /* a reader arriving now queues behind W3: no barging */
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* R1 */
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 2);
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* R2: the lock goes to W3 */
    th_rec_wait(L, R, 3);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1, 2, 3);
    TH_RC(as_rwlock_read_unlock(&rw), -EPERM);
    TH_RC(as_rwlock_write_unlock(&rw), 0); /* W3: R4 U5 R6 together */
    th_rec_wait(L, R, 6);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1, 2, 3, 4, 5, 6);
    TH_EQ(as_rwlock_waiters(&rw), 1);
    TH_RC(as_rwlock_try_upgrade(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 6);
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* to W7 */
    th_rec_wait(L, R, 7);
    for (int id = 1; id <= 7; id++)
        TH_RC(th_rec_status_of(R, id), 0);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* Read-held, a writer queued: a later reader waits behind the writer (the
 * writer does not starve); then the reader gets in after the writer. */
static void rwlock_reader_waits_behind_writer(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_read(&rw), 1);
    th_waiter wr, rd;
    th_waiter_init(&wr, R, L, 1);
    th_waiter_init(&rd, R, L, 2);
    TH_RC(rw_wait(&wr, &rw, WR, AS_NO_DEADLINE, true), 0);
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(rw_wait(&rd, &rw, RD, AS_NO_DEADLINE, true), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    th_rec_wait(L, R, 2);
    th_rec_assert_ids(R, 1, 2);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* A writer at the head that gives up (cancel, deadline) lets the readers
 * behind it in at once (the re-grant). */
static void rwlock_writer_gives_up(void **state)
{
    FIX();
    for (int timed = 0; timed < 2; timed++) {
        th_rec_reset(R);
        as_rwlock rw;
        rw_make(&rw);
        TH_RC(as_rwlock_try_read(&rw), 1);
        th_waiter wr, r1, r2;
        th_waiter_init(&wr, R, L, 1);
        th_waiter_init(&r1, R, L, 2);
        th_waiter_init(&r2, R, L, 3);
        TH_RC(rw_wait(&wr, &rw, WR, timed ? as_now_ns() + 20 * MS : AS_NO_DEADLINE, true), 0);
        TH_RC(rw_wait(&r1, &rw, RD, AS_NO_DEADLINE, false), 0);
        TH_RC(rw_wait(&r2, &rw, RD, AS_NO_DEADLINE, false), 0);
        if (!timed)
            TH_RC(as_cancel(&wr.w), 0);
        th_rec_wait(L, R, 3);
        th_rec_assert_ids(R, 1, 2, 3);
        TH_RC(th_rec_status_of(R, 1), timed ? -ETIMEDOUT : -ECANCELED);
        for (int i = 0; i < 3; i++)
            TH_RC(as_rwlock_read_unlock(&rw), 0);
        assert_free(&rw);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* ---- downgrade ------------------------------------------------------------- */

static void rwlock_downgrade_admits_head_readers(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_write(&rw), 1);
    th_waiter w[4];
    static const int mode[4] = { RD, UR, WR, RD };
    for (int i = 0; i < 4; i++) {
        th_waiter_init(&w[i], R, L, i + 1);
        TH_RC(rw_wait(&w[i], &rw, mode[i], AS_NO_DEADLINE, false), 0);
    }
    TH_RC(as_rwlock_downgrade(&rw), 0);
    TH_RC(as_rwlock_downgrade(&rw), -EPERM);
    th_rec_wait(L, R, 2);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 1, 2); /* the writer and the reader behind it wait */
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* the downgraded writer */
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* R1 */
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), 0); /* U2: to W3 */
    th_rec_wait(L, R, 3);
    TH_RC(as_rwlock_write_unlock(&rw), 0); /* to R4 */
    th_rec_wait(L, R, 4);
    th_rec_assert_ids(R, 1, 2, 3, 4);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* ---- upgrade ------------------------------------------------------------- */

/* Upgradable + 2 readers + a queued writer.  The upgrade waits for the two
 * readers only (ahead of the writer); a reader arriving meanwhile queues. */
static void rwlock_upgrade_waits_for_readers(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
    TH_RC(as_rwlock_try_read(&rw), 1);
    TH_RC(as_rwlock_try_read(&rw), 1);
    th_waiter wr, up, rd, up2;
    th_waiter_init(&wr, R, L, 1);
    th_waiter_init(&up, R, L, 2);
    th_waiter_init(&rd, R, L, 3);
    th_waiter_init(&up2, R, L, 4);
    TH_RC(rw_wait(&wr, &rw, WR, AS_NO_DEADLINE, true), 0);
    TH_RC(rw_wait(&up, &rw, UG, AS_NO_DEADLINE, false), 0);
    TH_RC(rw_wait(&up2, &rw, UG, AS_NO_DEADLINE, false), -EBUSY); /* one at a time */
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), -EBUSY);          /* cancel it first */
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(rw_wait(&rd, &rw, RD, AS_NO_DEADLINE, true), 0);
    TH_EQ(as_rwlock_waiters(&rw), 3);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* the last plain reader: upgraded */
    th_rec_wait(L, R, 1);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 2);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), -EPERM); /* it is the writer now */
    TH_RC(as_rwlock_write_unlock(&rw), 0); /* to the writer, then the reader */
    th_rec_wait(L, R, 3);
    th_rec_assert_ids(R, 2, 1, 3);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* An upgrade that ends without the grant (cancel, deadline, close) leaves
 * the upgradable read held, and the reader queued behind the upgrade gets
 * in at once. */
static void rwlock_upgrade_gives_up(void **state)
{
    FIX();
    for (int how = 0; how < 3; how++) {
        th_rec_reset(R);
        as_rwlock rw;
        rw_make(&rw);
        TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
        TH_RC(as_rwlock_try_read(&rw), 1);
        th_waiter up, rd;
        th_waiter_init(&up, R, L, 1);
        th_waiter_init(&rd, R, L, 2);
        TH_RC(rw_wait(&up, &rw, UG, how == 1 ? as_now_ns() + 20 * MS : AS_NO_DEADLINE, false), 0);
        TH_RC(rw_wait(&rd, &rw, RD, AS_NO_DEADLINE, true), 0);
        if (how == 0)
            TH_RC(as_cancel(&up.w), 0);
        else if (how == 2)
            TH_RC(as_rwlock_close(&rw), 0);
        th_rec_wait(L, R, how == 2 ? 2 : 2);
        static const int st[3] = { -ECANCELED, -ETIMEDOUT, -ESHUTDOWN };
        TH_RC(th_rec_status_of(R, 1), st[how]);
        TH_RC(th_rec_status_of(R, 2), how == 2 ? -ESHUTDOWN : 0);
        /* still the upgradable reader (and one plain reader) */
        TH_RC(as_rwlock_try_upgradable_read(&rw), how == 2 ? -ESHUTDOWN : 0);
        TH_RC(as_rwlock_try_upgrade(&rw), how == 2 ? -ESHUTDOWN : 0);
        TH_RC(as_rwlock_read_unlock(&rw), 0);
        if (how != 2) {
            TH_RC(as_rwlock_try_upgrade(&rw), 1);
            TH_RC(as_rwlock_write_unlock(&rw), 0);
            assert_free(&rw);
        } else {
            TH_RC(as_rwlock_upgradable_read_unlock(&rw), 0);
        }
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* ---- cancel after the grant gives it back ---------------------------------- */

/* For each mode: the grant is decided (the lock handed to the wait) and the
 * wait is cancelled before its callback ran: -ECANCELED, and the lock is
 * given back as its unlock would, so the writer queued behind it gets it
 * (a granted upgrade goes back to the upgradable read). */
static void rwlock_cancel_after_grant_gives_back(void **state)
{
    FIX();
    for (int mode = RD; mode <= UG; mode++) {
        th_rec_reset(R);
        as_rwlock rw;
        rw_make(&rw);
        th_waiter victim, next;
        th_waiter_init(&victim, R, L, 1);
        th_waiter_init(&next, R, L, 2);
        switch (mode) {
        case RD: case UR: TH_RC(as_rwlock_try_write(&rw), 1); break;
        case WR: TH_RC(as_rwlock_try_read(&rw), 1); break;
        default:
            TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
            TH_RC(as_rwlock_try_read(&rw), 1);
            break;
        }
        TH_RC(rw_wait(&victim, &rw, mode, AS_NO_DEADLINE, true), 0);
        TH_RC(rw_wait(&next, &rw, WR, AS_NO_DEADLINE, true), 0);
        switch (mode) {
        case RD: case UR: TH_RC(as_rwlock_write_unlock(&rw), 0); break;
        default: TH_RC(as_rwlock_read_unlock(&rw), 0); break;
        }
        TH_EQ(as_rwlock_waiters(&rw), 1); /* the victim's grant is decided */
        TH_RC(as_cancel(&victim.w), 0);
        TH_RC(as_cancel(&victim.w), 0); /* idempotent */
        if (mode == UG) {
            th_rec_wait(L, R, 1);
            th_quiesce(L, TH_QUIET);
            TH_EQ(th_rec_count(R), 1);
            /* the upgradable read again, alone: it upgrades at once */
            TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
            TH_RC(as_rwlock_try_upgrade(&rw), 1);
            TH_RC(as_rwlock_write_unlock(&rw), 0);
        }
        th_rec_wait(L, R, 2);
        th_rec_assert_ids(R, 1, 2);
        TH_RC(th_rec_status_of(R, 1), -ECANCELED);
        TH_RC(th_rec_status_of(R, 2), 0);
        assert_free(&rw);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* ---- close ----------------------------------------------------------------- */

static void rwlock_close(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
    TH_RC(as_rwlock_try_read(&rw), 1);
    th_waiter w[4], late;
    static const int mode[4] = { UG, WR, RD, UR };
    for (int i = 0; i < 4; i++) {
        th_waiter_init(&w[i], R, L, i + 1);
        TH_RC(rw_wait(&w[i], &rw, mode[i], i == 1 ? as_now_ns() + 10000 * MS : AS_NO_DEADLINE,
                      true),
              0);
    }
    TH_RC(as_rwlock_close(&rw), 0);
    TH_RC(as_rwlock_close(&rw), 0);
    th_rec_wait(L, R, 4);
    th_rec_assert_ids(R, 1, 2, 3, 4);
    for (int id = 1; id <= 4; id++)
        TH_RC(th_rec_status_of(R, id), -ESHUTDOWN);
    th_waiter_init(&late, R, L, 5);
    for (int m = RD; m <= UG; m++)
        TH_RC(rw_wait(&late, &rw, m, AS_NO_DEADLINE, false), -ESHUTDOWN);
    TH_RC(as_rwlock_try_read(&rw), -ESHUTDOWN);
    TH_RC(as_rwlock_try_write(&rw), -ESHUTDOWN);
    TH_RC(as_rwlock_try_upgradable_read(&rw), -ESHUTDOWN);
    TH_RC(as_rwlock_try_upgrade(&rw), -ESHUTDOWN);
    TH_RC(as_rwlock_read_blocking(&rw, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_rwlock_write_blocking(&rw, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_rwlock_upgradable_read_blocking(&rw, AS_NO_DEADLINE), -ESHUTDOWN);
    TH_RC(as_rwlock_upgrade_blocking(&rw, AS_NO_DEADLINE), -ESHUTDOWN);
    /* holders give back */
    TH_RC(as_rwlock_destroy(&rw), -EBUSY);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), -EPERM);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 4);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* ---- AS_LOOP_ALWAYS_CALLBACK ------------------------------------------------ */

static void rwlock_always_callback(void **state)
{
    FIX();
    th_loop *A = th_zalloc(sizeof *A);
    as_loop_options o = { AS_LOOP_ALWAYS_CALLBACK, 0 };
    th_loop_setup(A, L->kind, &o);
    as_rwlock rw;
    rw_make(&rw);
    th_waiter w[4];
    for (int m = RD; m <= UG; m++) {
        th_waiter_init(&w[m], R, A, m + 1);
        if (m == UG)
            TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
        TH_RC(rw_wait(&w[m], &rw, m, AS_NO_DEADLINE, true), 0); /* never 1 */
        th_rec_wait(A, R, (unsigned)m + 1);
        TH_RC(th_rec_status_of(R, m + 1), 0);
    }
    /* granted at once, cancelled before its callback: given back */
    th_waiter x;
    th_waiter_init(&x, R, A, 9);
    TH_RC(rw_wait(&x, &rw, WR, AS_NO_DEADLINE, true), 0);
    TH_RC(as_cancel(&x.w), 0);
    th_rec_wait(A, R, 5);
    TH_RC(th_rec_status_of(R, 9), -ECANCELED);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
    th_loop_destroy(A);
    free(A);
}

/* ---- blocking ---------------------------------------------------------------- */

struct blk {
    as_rwlock *rw;
    int mode;
    uint64_t deadline;
    int rc;
};

static void *blk_main(void *arg)
{
    struct blk *b = arg;
    switch (b->mode) {
    case RD: b->rc = as_rwlock_read_blocking(b->rw, b->deadline); break;
    case WR: b->rc = as_rwlock_write_blocking(b->rw, b->deadline); break;
    case UR: b->rc = as_rwlock_upgradable_read_blocking(b->rw, b->deadline); break;
    default: b->rc = as_rwlock_upgrade_blocking(b->rw, b->deadline); break;
    }
    return NULL;
}

static void wait_queued(as_rwlock *rw, int64_t n)
{
    double dl = th_now() + TH_TIMEOUT;
    while (as_rwlock_waiters(rw) < n) {
        if (th_now() > dl)
            th_fail("the blocking thread never queued");
        sched_yield();
    }
}

/* Two plain threads' blocking reads queued behind a loop's writer are
 * admitted together when the writer unlocks; a blocking upgrade waits for
 * them. */
static void rwlock_blocking(void **state)
{
    FIX();
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
    TH_RC(as_rwlock_try_read(&rw), 1);
    th_waiter wr;
    th_waiter_init(&wr, R, L, 1);
    TH_RC(rw_wait(&wr, &rw, WR, AS_NO_DEADLINE, false), 0);
    struct blk b1 = { &rw, RD, as_now_ns() + 10000 * MS, 1 };
    struct blk b2 = { &rw, RD, AS_NO_DEADLINE, 1 };
    pthread_t t1, t2;
    th_thread_start(&t1, blk_main, &b1);
    wait_queued(&rw, 2);
    th_thread_start(&t2, blk_main, &b2);
    wait_queued(&rw, 3);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_upgradable_read_unlock(&rw), 0); /* to the writer */
    th_rec_wait(L, R, 1);
    TH_RC(as_rwlock_write_unlock(&rw), 0); /* both readers at once */
    th_thread_join(t1);
    th_thread_join(t2);
    TH_RC(b1.rc, 0);
    TH_RC(b2.rc, 0);
    TH_RC(as_rwlock_try_write(&rw), 0);
    TH_RC(as_rwlock_try_upgradable_read(&rw), 1);
    struct blk up = { &rw, UG, AS_NO_DEADLINE, 1 };
    th_thread_start(&t1, blk_main, &up);
    wait_queued(&rw, 1);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    th_thread_join(t1);
    TH_RC(up.rc, 0);
    TH_RC(as_rwlock_try_read(&rw), 0);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    /* and a blocking write that times out */
    TH_RC(as_rwlock_try_read(&rw), 1);
    struct blk bw = { &rw, WR, as_now_ns() + 20 * MS, 1 };
    th_thread_start(&t1, blk_main, &bw);
    th_thread_join(t1);
    TH_RC(bw.rc, -ETIMEDOUT);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* ---- the cross-loop policy ---------------------------------------------------
 *
 * Waiters on X, a loop thread, whose loop the test holds still with a gate
 * (a job that blocks X's thread until opened): a wait woken to retry sits
 * in X's inbox meanwhile, and the main thread, which runs no loop of X's,
 * releases and barges with try_*.  */

typedef struct gate {
    th_job job;
    atomic_int in, open;
} gate;

static void gate_fn(void *arg)
{
    gate *g = arg;
    double dl = th_now() + 4 * TH_TIMEOUT;
    atomic_store(&g->in, 1);
    while (!atomic_load(&g->open)) {
        if (th_now() > dl)
            th_fail("the gate of the loop thread was never opened");
        sched_yield();
    }
}

static void gate_close(th_lthread *X, gate *g)
{
    double dl = th_now() + TH_TIMEOUT;
    atomic_store(&g->in, 0);
    atomic_store(&g->open, 0);
    th_lthread_post(X, &g->job, gate_fn, g);
    while (!atomic_load(&g->in)) {
        if (th_now() > dl)
            th_fail("the loop thread never reached the gate");
        sched_yield();
    }
}

static void gate_open(th_lthread *X, gate *g)
{
    atomic_store(&g->open, 1);
    th_lthread_wait_job(X, &g->job);
}

struct arm {
    th_waiter *tw;
    as_rwlock *rw;
    int mode;
    bool unlock;
    int rc;
};

static void arm_fn(void *arg)
{
    struct arm *a = arg;
    a->rc = rw_wait(a->tw, a->rw, a->mode, AS_NO_DEADLINE, a->unlock);
}

/* Start a wait of `mode` on X's loop (from X's thread); its callback
 * unlocks when `unlock`.  Returns what the call returned. */
static int x_wait(th_lthread *X, th_waiter *tw, as_rwlock *rw, int mode, bool unlock)
{
    struct arm a = { tw, rw, mode, unlock, 100 };
    th_lthread_call(X, arm_fn, &a);
    return a.rc;
}

static void wait_count(th_rec *R, unsigned n)
{
    double dl = th_now() + TH_TIMEOUT;
    while (th_rec_count(R) < n) {
        if (th_now() > dl)
            th_fail("%u of %u callbacks after %gs", th_rec_count(R), n, (double)TH_TIMEOUT);
        sched_yield();
    }
}

static void wait_waiters(as_rwlock *rw, int64_t n)
{
    double dl = th_now() + TH_TIMEOUT;
    while (as_rwlock_waiters(rw) != n) {
        if (th_now() > dl)
            th_fail("%lld waiters, expected %lld", (long long)as_rwlock_waiters(rw),
                    (long long)n);
        sched_yield();
    }
}

/* The policies: eventual fairness named, the default (the same), strict. */
static const unsigned x_flags[3] = { AS_RWLOCK_EVENTUAL_FAIR, 0, AS_RWLOCK_STRICT_FIFO };

/* X's loop for a policy's test: a ring loop for strict hand-off; for the
 * default, a notify loop, which has no timer of its own, so that a woken
 * wait that loses its retry is STARVING at once (the ring loop's PASSED
 * wait: rwlock_policy_passed). */
static void x_start(th_lthread *X, unsigned flags)
{
    th_lthread_start(X, flags == AS_RWLOCK_STRICT_FIFO ? TH_RING : TH_NOTIFY_EFD, NULL);
}

static void x_make(as_rwlock *rw, unsigned flags)
{
    memset(rw, 0xa5, sizeof *rw);
    TH_RC(as_rwlock_init(rw, flags), 0);
}

/* Write-held by the test; on X: W1, W2 (writers), R3.  The unlock wakes
 * W1 (eventual) or hands it the lock (strict: the default).
 * Eventual: while W1 is on its way, W2 heads the queue: a reader may not
 * pass it, a writer may (the lock is free); W1 then finds the lock taken,
 * comes back STARVING at the head, and the test's next unlock hands it
 * the lock directly (nobody can take it in between); then W2 and R3 in
 * order.  Strict: nobody can take the lock after the unlock: it is W1's. */
static void rwlock_cross_loop_writer(void **state)
{
    FIX();
    for (int k = 0; k < 3; k++) {
        bool strict = x_flags[k] == AS_RWLOCK_STRICT_FIFO;
        th_rec_reset(R);
        th_lthread X;
        x_start(&X, x_flags[k]);
        as_rwlock rw;
        x_make(&rw, x_flags[k]);
        TH_RC(as_rwlock_try_write(&rw), 1);
        th_waiter w1, w2, r3;
        th_waiter_init(&w1, R, &X.L, 1);
        th_waiter_init(&w2, R, &X.L, 2);
        th_waiter_init(&r3, R, &X.L, 3);
        TH_RC(x_wait(&X, &w1, &rw, WR, true), 0);
        TH_RC(x_wait(&X, &w2, &rw, WR, true), 0);
        TH_RC(x_wait(&X, &r3, &rw, RD, true), 0);
        gate g;
        gate_close(&X, &g);
        TH_RC(as_rwlock_write_unlock(&rw), 0);
        TH_EQ(as_rwlock_waiters(&rw), 2); /* W1 left the queue either way */
        TH_RC(as_rwlock_try_read(&rw), 0);
        TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
        if (strict) {
            TH_RC(as_rwlock_try_write(&rw), 0); /* it is W1's */
            TH_RC(as_rwlock_destroy(&rw), -EBUSY);
        } else {
            TH_RC(as_rwlock_destroy(&rw), -EBUSY); /* W1 on its way */
            TH_RC(as_rwlock_try_write(&rw), 1);    /* barging past W1 and W2 */
            TH_RC(as_rwlock_try_read(&rw), 0);
        }
        gate_open(&X, &g);
        if (!strict) {
            wait_waiters(&rw, 3); /* W1 is back, at the head */
            th_quiesce(L, TH_QUIET);
            TH_EQ(th_rec_count(R), 0);
            TH_RC(as_rwlock_try_read(&rw), 0);
            gate_close(&X, &g);
            TH_RC(as_rwlock_write_unlock(&rw), 0);
            TH_EQ(as_rwlock_waiters(&rw), 2); /* handed to W1 directly */
            TH_RC(as_rwlock_try_write(&rw), 0);
            TH_RC(as_rwlock_try_read(&rw), 0);
            gate_open(&X, &g);
        }
        /* each unlocks in its callback on X: X's own waiters are handed
         * the lock directly */
        wait_count(R, 3);
        th_rec_assert_ids(R, 1, 2, 3);
        for (int id = 1; id <= 3; id++)
            TH_RC(th_rec_status_of(R, id), 0);
        TH_RC(th_lthread_stop(&X), 0);
        assert_free(&rw);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* Write-held by the test; on X: R1, R2, W3.  Eventual: the unlock wakes R1
 * and R2 together; W3 heads the queue, so no reader may pass (even with
 * the lock free), a writer may; R1 and R2 find it write-held, come back
 * STARVING, and the next unlock hands both the lock at once; W3 after
 * them.  Strict: R1 and R2 are handed the lock at once. */
static void rwlock_cross_loop_reader_batch(void **state)
{
    FIX();
    for (int k = 0; k < 3; k++) {
        bool strict = x_flags[k] == AS_RWLOCK_STRICT_FIFO;
        th_rec_reset(R);
        th_lthread X;
        x_start(&X, x_flags[k]);
        as_rwlock rw;
        x_make(&rw, x_flags[k]);
        TH_RC(as_rwlock_try_write(&rw), 1);
        th_waiter r1, r2, w3;
        th_waiter_init(&r1, R, &X.L, 1);
        th_waiter_init(&r2, R, &X.L, 2);
        th_waiter_init(&w3, R, &X.L, 3);
        TH_RC(x_wait(&X, &r1, &rw, RD, false), 0);
        TH_RC(x_wait(&X, &r2, &rw, RD, false), 0);
        TH_RC(x_wait(&X, &w3, &rw, WR, true), 0);
        gate g;
        gate_close(&X, &g);
        TH_RC(as_rwlock_write_unlock(&rw), 0);
        TH_EQ(as_rwlock_waiters(&rw), 1);
        TH_RC(as_rwlock_try_read(&rw), 0); /* W3 heads the queue */
        TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
        TH_RC(as_rwlock_try_write(&rw), strict ? 0 : 1);
        gate_open(&X, &g);
        if (!strict) {
            wait_waiters(&rw, 3); /* R1 and R2 are back */
            th_quiesce(L, TH_QUIET);
            TH_EQ(th_rec_count(R), 0);
            gate_close(&X, &g);
            TH_RC(as_rwlock_write_unlock(&rw), 0); /* to R1 and R2 directly */
            TH_EQ(as_rwlock_waiters(&rw), 1);
            TH_RC(as_rwlock_try_write(&rw), 0);
            TH_RC(as_rwlock_try_read(&rw), 0); /* W3 heads the queue */
            gate_open(&X, &g);
        }
        wait_count(R, 2);
        th_quiesce(L, TH_QUIET);
        th_rec_assert_ids(R, 1, 2);
        TH_RC(as_rwlock_try_write(&rw), 0);
        TH_RC(as_rwlock_read_unlock(&rw), 0);
        TH_RC(as_rwlock_read_unlock(&rw), 0); /* to W3 */
        wait_count(R, 3);
        th_rec_assert_ids(R, 1, 2, 3);
        for (int id = 1; id <= 3; id++)
            TH_RC(th_rec_status_of(R, id), 0);
        TH_RC(th_lthread_stop(&X), 0);
        assert_free(&rw);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* Eventual: write-held by the test; on X: W1, R2.  W1 is woken; the head is
 * now a reader, so a newcomer reader may take the lock (the phase rule
 * holds only behind a writer); W1 finds it read-held and comes back
 * STARVING: from then on no reader passes it, and the reader's unlock
 * hands it the lock. */
static void rwlock_cross_loop_reader_barges(void **state)
{
    FIX();
    th_lthread X;
    x_start(&X, AS_RWLOCK_EVENTUAL_FAIR);
    as_rwlock rw;
    x_make(&rw, AS_RWLOCK_EVENTUAL_FAIR);
    TH_RC(as_rwlock_try_write(&rw), 1);
    th_waiter w1, r2;
    th_waiter_init(&w1, R, &X.L, 1);
    th_waiter_init(&r2, R, &X.L, 2);
    TH_RC(x_wait(&X, &w1, &rw, WR, true), 0);
    TH_RC(x_wait(&X, &r2, &rw, RD, true), 0);
    gate g;
    gate_close(&X, &g);
    TH_RC(as_rwlock_write_unlock(&rw), 0);
    TH_EQ(as_rwlock_waiters(&rw), 1);
    TH_RC(as_rwlock_try_read(&rw), 1); /* past R2 and W1 */
    TH_RC(as_rwlock_try_read(&rw), 1);
    gate_open(&X, &g);
    wait_waiters(&rw, 2);
    TH_RC(as_rwlock_try_read(&rw), 0); /* W1 is STARVING at the head */
    TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
    TH_RC(as_rwlock_read_unlock(&rw), 0);
    gate_close(&X, &g);
    TH_RC(as_rwlock_read_unlock(&rw), 0); /* to W1 directly */
    TH_EQ(as_rwlock_waiters(&rw), 1);
    TH_RC(as_rwlock_try_write(&rw), 0);
    TH_RC(as_rwlock_try_read(&rw), 0);
    gate_open(&X, &g);
    wait_count(R, 2);
    th_rec_assert_ids(R, 1, 2);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(th_lthread_stop(&X), 0);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

/* Eventual: a woken wait that gives up on its way passes the wake on.
 * Write-held by the test; W1 on X, W2 on the test's own loop L.  The
 * unlock wakes W1 only (a writer is woken alone).
 *   how 0: W1 is cancelled on its way: it arrives, gives up with
 *          -ECANCELED and grants again from X's thread, for which W2 is on
 *          another loop: W2 is woken, and takes the lock when L runs;
 *   how 1: the lock is closed while W1 is on its way: W2 (queued) ends at
 *          once with -ESHUTDOWN, W1 when it arrives; destroy is -EBUSY
 *          until then. */
static void rwlock_cross_loop_woken_gives_up(void **state)
{
    FIX();
    for (int how = 0; how < 2; how++) {
        th_rec_reset(R);
        th_lthread X;
        th_lthread_start(&X, TH_RING, NULL);
        as_rwlock rw;
        x_make(&rw, AS_RWLOCK_EVENTUAL_FAIR);
        TH_RC(as_rwlock_try_write(&rw), 1);
        th_waiter w1, w2;
        th_waiter_init(&w1, R, &X.L, 1);
        th_waiter_init(&w2, R, L, 2);
        TH_RC(x_wait(&X, &w1, &rw, WR, true), 0);
        TH_RC(rw_wait(&w2, &rw, WR, AS_NO_DEADLINE, true), 0);
        gate g;
        gate_close(&X, &g);
        TH_RC(as_rwlock_write_unlock(&rw), 0); /* W1 woken */
        TH_EQ(as_rwlock_waiters(&rw), 1);
        if (how == 0) {
            TH_RC(as_cancel(&w1.w), 0);
            TH_RC(as_cancel(&w1.w), 0);
        } else {
            TH_RC(as_rwlock_close(&rw), 0);
            th_rec_wait(L, R, 1); /* W2: -ESHUTDOWN */
            TH_RC(th_rec_status_of(R, 2), -ESHUTDOWN);
            TH_RC(as_rwlock_destroy(&rw), -EBUSY); /* W1 on its way */
        }
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), how == 0 ? 0 : 1);
        gate_open(&X, &g);
        wait_count(R, how == 0 ? 1 : 2);
        TH_RC(th_rec_status_of(R, 1), how == 0 ? -ECANCELED : -ESHUTDOWN);
        if (how == 0) {
            th_rec_wait(L, R, 2); /* W2 was woken and took it (unlocks) */
            th_rec_assert_ids(R, 1, 2);
            TH_RC(th_rec_status_of(R, 2), 0);
            assert_free(&rw);
        } else {
            TH_RC(as_rwlock_try_write(&rw), -ESHUTDOWN);
        }
        TH_RC(th_lthread_stop(&X), 0);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* Both policies: an upgrade on another loop is handed the lock directly
 * (never woken): X holds the upgradable read and waits to upgrade, the
 * test's read unlock makes X the writer at once, and no newcomer can take
 * the lock in between. */
static void rwlock_cross_loop_upgrade(void **state)
{
    FIX();
    for (int k = 0; k < 3; k++) {
        th_rec_reset(R);
        th_lthread X;
        th_lthread_start(&X, TH_RING, NULL);
        as_rwlock rw;
        x_make(&rw, x_flags[k]);
        th_waiter u, up;
        th_waiter_init(&u, R, &X.L, 1);
        th_waiter_init(&up, R, &X.L, 2);
        TH_RC(as_rwlock_try_read(&rw), 1);
        TH_RC(x_wait(&X, &u, &rw, UR, false), 1); /* X holds the upgradable read */
        TH_RC(x_wait(&X, &up, &rw, UG, true), 0);
        gate g;
        gate_close(&X, &g);
        TH_RC(as_rwlock_read_unlock(&rw), 0);
        TH_EQ(as_rwlock_waiters(&rw), 0);
        TH_RC(as_rwlock_try_read(&rw), 0); /* X is the writer */
        TH_RC(as_rwlock_try_write(&rw), 0);
        TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
        gate_open(&X, &g);
        wait_count(R, 1);
        TH_RC(th_rec_status_of(R, 2), 0); /* and unlocked */
        TH_RC(th_lthread_stop(&X), 0);
        assert_free(&rw);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

/* ---- the default policy's time bound (rwlock.c RW10) ----
 * The waits are on L, which this thread runs: an unlock from this thread
 * hands the lock to them directly (own loop).  The unlocks that must come
 * from "another loop" come from a plain thread. */

#define RW_WORD(rw) __atomic_load_n(&(rw)->as__word, __ATOMIC_RELAXED)
#define RW_BIT_NOBARGE 32u /* rwlock.c STATE WORD */
#define RW_BIT_PASS 64u

struct unl {
    as_rwlock *rw;
    int mode;
    int rc;
};

static void *unl_main(void *arg)
{
    struct unl *u = arg;
    u->rc = u->mode == RD ? as_rwlock_read_unlock(u->rw) : as_rwlock_write_unlock(u->rw);
    return NULL;
}

/* as_rwlock_{read,write}_unlock from a thread that runs no loop (for it
 * every waiter is on another loop), joined: its wakes are sent. */
static void unlock_from_thread(as_rwlock *rw, int mode)
{
    struct unl u = { rw, mode, 100 };
    pthread_t t;
    th_thread_start(&t, unl_main, &u);
    th_thread_join(t);
    TH_RC(u.rc, 0);
}

static bool rw_queued_is_2(void *arg)
{
    return as_rwlock_waiters(arg) == 2;
}

/* Write-held by the test; on L: W1, R2 (each unlocks in its callback).
 * An unlock from another thread wakes W1 and leaves the lock free, the
 * test barges in (a writer) and W1 finds it taken: back at the head,
 * PASSED on a ring loop, STARVING on a loop without a timer.  The test
 * holds the write lock after. */
static void rw_pass_w1(th_loop *L, th_rec *R, as_rwlock *rw, th_waiter *w1, th_waiter *r2)
{
    TH_RC(as_rwlock_try_write(rw), 1);
    th_waiter_init(w1, R, L, 1);
    th_waiter_init(r2, R, L, 2);
    TH_RC(rw_wait(w1, rw, WR, AS_NO_DEADLINE, true), 0);
    TH_RC(rw_wait(r2, rw, RD, AS_NO_DEADLINE, true), 0);
    unlock_from_thread(rw, WR); /* W1 woken, the lock free */
    TH_EQ(as_rwlock_waiters(rw), 1);
    TH_RC(as_rwlock_destroy(rw), -EBUSY); /* W1 on its way */
    TH_RC(as_rwlock_try_write(rw), 1);    /* a newcomer barges */
    th_run_until(L, rw_queued_is_2, rw, TH_TIMEOUT); /* W1: back */
    TH_EQ(th_rec_count(R), 0);
}

/* RW10.  how 0: PASSED, releases from another thread neither wake nor
 * serve W1; newcomers pass it, readers too (no NOBARGE); at its timer,
 * with the lock read-held, it is STARVING: readers stop, and the last
 * reader's unlock hands it the lock.  how 1: at its timer the lock is free:
 * it takes it.  how 2: an unlock on its own loop hands it the lock at once.
 * how 3: cancelled while PASSED with the lock free: R2, the next head, is
 * let in.  Without a timer (notify loop): STARVING at once, the next
 * unlock from anywhere hands it the lock. */
static void rwlock_policy_passed(void **state)
{
    FIX();
    bool passes = th_loop_passes(L);
    for (int how = 0; how < (passes ? 4 : 1); how++) {
        th_rec_reset(R);
        as_rwlock rw;
        th_waiter w1, r2;
        rw_make(&rw);
        rw_pass_w1(L, R, &rw, &w1, &r2);
        if (!passes) {
            TH_EQ(RW_WORD(&rw) & (RW_BIT_PASS | RW_BIT_NOBARGE), RW_BIT_NOBARGE);
            unlock_from_thread(&rw, WR); /* to W1 directly */
            TH_EQ(as_rwlock_waiters(&rw), 1);
            TH_RC(as_rwlock_try_write(&rw), 0);
            TH_RC(as_rwlock_try_read(&rw), 0);
        } else if (how == 2) {
            TH_RC(as_rwlock_write_unlock(&rw), 0); /* own loop: to W1 */
            TH_EQ(as_rwlock_waiters(&rw), 1);
            TH_RC(as_rwlock_try_write(&rw), 0);
            TH_RC(as_rwlock_try_read(&rw), 0);
        } else {
            uint64_t t0 = th_timer_cqes(L);
            TH_EQ(RW_WORD(&rw) & (RW_BIT_PASS | RW_BIT_NOBARGE), RW_BIT_PASS);
            unlock_from_thread(&rw, WR);
            TH_EQ(as_rwlock_waiters(&rw), 2);  /* not woken, not handed */
            TH_RC(as_rwlock_try_read(&rw), 1); /* a reader passes W1 */
            TH_RC(as_rwlock_try_read(&rw), 1);
            unlock_from_thread(&rw, RD);
            TH_EQ(as_rwlock_waiters(&rw), 2);
            if (how == 1) {
                unlock_from_thread(&rw, RD); /* free, nobody served */
                TH_EQ(as_rwlock_waiters(&rw), 2);
            } else if (how == 3) {
                unlock_from_thread(&rw, RD);
                TH_RC(as_cancel(&w1.w), 0); /* R2 heads: let in */
                th_rec_wait(L, R, 2);
                TH_RC(th_rec_status_of(R, 1), -ECANCELED);
                TH_RC(th_rec_status_of(R, 2), 0);
                assert_free(&rw);
                TH_RC(as_rwlock_destroy(&rw), 0);
                continue;
            } else {
                (void)th_run_timer(L, t0); /* read-held at its timer */
                TH_EQ(th_rec_count(R), 0);
                TH_EQ(as_rwlock_waiters(&rw), 2);
                TH_EQ(RW_WORD(&rw) & (RW_BIT_PASS | RW_BIT_NOBARGE), RW_BIT_NOBARGE);
                TH_RC(as_rwlock_try_read(&rw), 0); /* STARVING: readers stop */
                TH_RC(as_rwlock_try_upgradable_read(&rw), 0);
                unlock_from_thread(&rw, RD); /* the last reader: to W1 */
                TH_EQ(as_rwlock_waiters(&rw), 1);
                TH_RC(as_rwlock_try_write(&rw), 0);
            }
        }
        /* W1 (how 1: at its timer), then R2, handed the lock by W1's
         * unlock on their own loop */
        th_rec_wait(L, R, 2);
        th_rec_assert_ids(R, 1, 2);
        TH_RC(th_rec_status_of(R, 1), 0);
        TH_RC(th_rec_status_of(R, 2), 0);
        assert_free(&rw);
        TH_RC(as_rwlock_destroy(&rw), 0);
    }
}

static bool rw_queued_is_1(void *arg)
{
    return as_rwlock_waiters(arg) == 1;
}

/* RW8: a PASSED wait whose timer makes it STARVING moves ahead of the
 * PASSED waits before it.  R1 on X, R2 on L, readers, woken together by an
 * unlock from another thread; the test barges in (a writer).  R2 arrives
 * first (L): PASSED at the head; then R1 (X): PASSED behind it.  X's timer
 * makes R1 STARVING: it heads the queue now (NOBARGE, no PASS) while R2
 * waits for L's timer, which the test does not run; the next unlock
 * hands R1 its share and stops at R2 (PASSED, another loop), which takes
 * its share at its timer. */
static void rwlock_policy_passed_order(void **state)
{
    FIX();
    if (!th_loop_passes(L))
        skip();
    th_lthread X;
    th_lthread_start(&X, TH_RING, NULL);
    as_rwlock rw;
    rw_make(&rw);
    TH_RC(as_rwlock_try_write(&rw), 1);
    th_waiter r1, r2;
    th_waiter_init(&r1, R, &X.L, 1);
    th_waiter_init(&r2, R, L, 2);
    TH_RC(x_wait(&X, &r1, &rw, RD, true), 0);
    TH_RC(rw_wait(&r2, &rw, RD, AS_NO_DEADLINE, true), 0);
    gate g;
    gate_close(&X, &g);
    unlock_from_thread(&rw, WR); /* R1 and R2 woken */
    TH_EQ(as_rwlock_waiters(&rw), 0);
    TH_RC(as_rwlock_try_write(&rw), 1);
    th_run_until(L, rw_queued_is_1, &rw, TH_TIMEOUT); /* R2: back, PASSED */
    TH_EQ(RW_WORD(&rw) & (RW_BIT_PASS | RW_BIT_NOBARGE), RW_BIT_PASS);
    gate_open(&X, &g); /* R1: back behind R2, then STARVING at X's timer */
    double dl = th_now() + TH_TIMEOUT;
    while ((RW_WORD(&rw) & (RW_BIT_PASS | RW_BIT_NOBARGE)) != RW_BIT_NOBARGE) {
        if (th_now() > dl)
            th_fail("R1 never headed the queue STARVING (word 0x%x)", (unsigned)RW_WORD(&rw));
        sched_yield();
    }
    TH_EQ(as_rwlock_waiters(&rw), 2);
    TH_EQ(th_rec_count(R), 0);
    unlock_from_thread(&rw, WR); /* to R1; R2 is PASSED on L */
    TH_EQ(as_rwlock_waiters(&rw), 1);
    wait_count(R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    th_rec_wait(L, R, 2); /* L's timer: R2 takes its share */
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_RC(th_lthread_stop(&X), 0);
    assert_free(&rw);
    TH_RC(as_rwlock_destroy(&rw), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(rwlock_fast_paths),
        TH_TEST(rwlock_phases),
        TH_TEST(rwlock_reader_waits_behind_writer),
        TH_TEST(rwlock_writer_gives_up),
        TH_TEST(rwlock_downgrade_admits_head_readers),
        TH_TEST(rwlock_upgrade_waits_for_readers),
        TH_TEST(rwlock_upgrade_gives_up),
        TH_TEST(rwlock_cancel_after_grant_gives_back),
        TH_TEST(rwlock_close),
        TH_TEST(rwlock_always_callback),
        TH_TEST(rwlock_blocking),
        TH_TEST(rwlock_cross_loop_writer),
        TH_TEST(rwlock_cross_loop_reader_batch),
        TH_TEST(rwlock_cross_loop_reader_barges),
        TH_TEST(rwlock_cross_loop_woken_gives_up),
        TH_TEST(rwlock_cross_loop_upgrade),
        TH_TEST(rwlock_policy_passed),
        TH_TEST(rwlock_policy_passed_order),
    };
    return TH_MAIN("rwlock", tests);
}
