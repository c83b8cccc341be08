/*
 * Conformance, several threads: one as_rwlock shared by tasks on three
 * loop threads (ring loops with and without ring wakes, and a notify-driven
 * one) and a plain thread that uses the *_blocking forms.
 *
 * Every task loops over rounds: it asks for a read, a write or an
 * upgradable read (some with a short deadline, some cancelled by their
 * loop before the callback), holds what it got until its loop's next
 * iteration (so holds overlap across threads), sometimes upgrades
 * (try_upgrade or upgrade_async, itself with a deadline or a cancel) or
 * downgrades, then gives back.  Ghost counters of the holders are checked
 * at every entry and exit:
 *   - never a writer with anyone else, never two upgradable readers;
 *   - the reader count never negative;
 *   - every wait that went pending gets exactly one callback, and its
 *     status is one the wait could have (0, -ETIMEDOUT for a deadline,
 *     -ECANCELED for a cancel);
 *   - at the end every round finished, the lock is free and has no waiter.
 * Run with the default policy (cross-loop waiters woken to retry, barging,
 * PASSED and its timer, STARVING) and with AS_RWLOCK_STRICT_FIFO (strict
 * hand-off).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RT_LOOPS 3
#define RT_TASKS 12

enum { M_NONE, M_READ, M_WRITE, M_UPREAD }; /* what a task holds */
enum { OP_READ, OP_WRITE, OP_UPREAD, OP_UPGRADE };

typedef struct rt rt;
typedef struct rt_loop rt_loop;
typedef struct rt_task rt_task;

struct rt_task {
    as_wait w;
    rt *x;
    rt_loop *lp;
    unsigned seed;
    int rounds_left;
    int op;         /* the op of the pending wait */
    int held;       /* M_* */
    bool armed;     /* a wait is pending */
    bool timed;     /* ... with a deadline */
    bool cancel;    /* ... to be cancelled at the next tick */
    bool cancelled; /* as_cancel returned 0 */
};

struct rt_loop {
    th_lthread t;
    rt *x;
    rt_task tasks[RT_TASKS];
};

struct rt {
    as_rwlock rw;
    int rounds;
    atomic_int readers, writers, upgradable;
    atomic_long acquired, timeouts, cancels, upgrades, downgrades;
    atomic_int errors;
    char msg[256];
    th_counter done;
    th_barrier start;
    rt_loop loops[RT_LOOPS];
};

#define RT_ERR(x, ...)                                                          \
    do {                                                                        \
        if (atomic_fetch_add(&(x)->errors, 1) == 0)                             \
            snprintf((x)->msg, sizeof (x)->msg, __VA_ARGS__);                   \
    } while (0)

static unsigned rt_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fffu;
}

/* ---- the ghost holders ---- */

static void enter(rt *x, int mode)
{
    atomic_fetch_add(&x->acquired, 1);
    switch (mode) {
    case M_READ:
        atomic_fetch_add(&x->readers, 1);
        if (atomic_load(&x->writers) != 0)
            RT_ERR(x, "a reader entered beside a writer");
        break;
    case M_UPREAD:
        if (atomic_fetch_add(&x->upgradable, 1) != 0)
            RT_ERR(x, "two upgradable readers");
        if (atomic_load(&x->writers) != 0)
            RT_ERR(x, "an upgradable reader entered beside a writer");
        break;
    default:
        if (atomic_fetch_add(&x->writers, 1) != 0)
            RT_ERR(x, "two writers");
        if (atomic_load(&x->readers) != 0 || atomic_load(&x->upgradable) != 0)
            RT_ERR(x, "a writer entered beside %d readers, %d upgradable",
                   atomic_load(&x->readers), atomic_load(&x->upgradable));
        break;
    }
}

static void leave(rt *x, int mode)
{
    switch (mode) {
    case M_READ:
        if (atomic_fetch_sub(&x->readers, 1) <= 0)
            RT_ERR(x, "reader count negative");
        break;
    case M_UPREAD:
        if (atomic_fetch_sub(&x->upgradable, 1) != 1)
            RT_ERR(x, "upgradable count wrong on leave");
        break;
    default:
        if (atomic_fetch_sub(&x->writers, 1) != 1)
            RT_ERR(x, "writer count wrong on leave");
        break;
    }
}

/* ---- loop tasks ---- */

static void rt_cb(as_wait *w, int status, void *arg);

static as_loop *aloop(rt_task *k) { return &k->lp->t.L.loop; }

static void start_wait(rt_task *k, int op)
{
    rt *x = k->x;
    unsigned r = rt_rand(&k->seed);
    uint64_t d = AS_NO_DEADLINE;
    int rc;
    k->op = op;
    k->timed = (r % 8) == 0;
    k->cancel = !k->timed && (r % 8) == 1;
    k->cancelled = false;
    if (k->timed)
        d = as_now_ns() + (uint64_t)(rt_rand(&k->seed) % 200) * 1000u;
    switch (op) {
    case OP_READ: rc = as_rwlock_read_until(&x->rw, aloop(k), &k->w, d, rt_cb, k); break;
    case OP_WRITE: rc = as_rwlock_write_until(&x->rw, aloop(k), &k->w, d, rt_cb, k); break;
    case OP_UPREAD:
        rc = as_rwlock_upgradable_read_until(&x->rw, aloop(k), &k->w, d, rt_cb, k);
        break;
    default: rc = as_rwlock_upgrade_until(&x->rw, aloop(k), &k->w, d, rt_cb, k); break;
    }
    if (rc == 0) {
        k->armed = true;
        return;
    }
    if (rc == -ETIMEDOUT && k->timed) {
        atomic_fetch_add(&x->timeouts, 1);
        if (op == OP_UPGRADE)
            return; /* still upgradable: held until the next tick */
        return;
    }
    if (rc != 1) {
        RT_ERR(x, "op %d: %s", op, th_errname(rc));
        return;
    }
    /* taken at once */
    if (op == OP_UPGRADE) {
        leave(x, M_UPREAD);
        atomic_fetch_add(&x->upgrades, 1);
        k->held = M_WRITE;
        enter(x, M_WRITE);
        return;
    }
    k->held = op == OP_READ ? M_READ : op == OP_WRITE ? M_WRITE : M_UPREAD;
    enter(x, k->held);
}

static void rt_cb(as_wait *w, int status, void *arg)
{
    rt_task *k = arg;
    rt *x = k->x;
    if (w != &k->w)
        RT_ERR(x, "callback with a foreign as_wait");
    if (!k->armed)
        RT_ERR(x, "callback for a wait that was not pending (op %d)", k->op);
    k->armed = false;
    if (status == -ECANCELED) {
        if (!k->cancelled)
            RT_ERR(x, "-ECANCELED without a cancel");
        atomic_fetch_add(&x->cancels, 1);
        return; /* an upgrade: still upgradable */
    }
    if (k->cancelled)
        RT_ERR(x, "a cancel that returned 0 ended in %s", th_errname(status));
    if (status == -ETIMEDOUT) {
        if (!k->timed)
            RT_ERR(x, "-ETIMEDOUT without a deadline");
        atomic_fetch_add(&x->timeouts, 1);
        return;
    }
    if (status != 0) {
        RT_ERR(x, "callback status %s", th_errname(status));
        return;
    }
    if (k->op == OP_UPGRADE) {
        if (k->held != M_UPREAD)
            RT_ERR(x, "an upgrade granted to a task without the upgradable read");
        leave(x, M_UPREAD);
        atomic_fetch_add(&x->upgrades, 1);
        k->held = M_WRITE;
        enter(x, M_WRITE);
        return;
    }
    k->held = k->op == OP_READ ? M_READ : k->op == OP_WRITE ? M_WRITE : M_UPREAD;
    enter(x, k->held);
}

/* Give back what the task holds (or move on from it); false when the task
 * went on waiting (an upgrade) instead. */
static bool give_back(rt_task *k)
{
    rt *x = k->x;
    unsigned r = rt_rand(&k->seed);
    int rc = 0;
    switch (k->held) {
    case M_READ:
        leave(x, M_READ);
        rc = as_rwlock_read_unlock(&x->rw);
        break;
    case M_WRITE:
        if (r % 4 == 0) { /* downgrade, then read until the next tick */
            leave(x, M_WRITE);
            enter(x, M_READ);
            atomic_fetch_add(&x->downgrades, 1);
            rc = as_rwlock_downgrade(&x->rw);
            k->held = M_READ;
            if (rc != 0)
                RT_ERR(x, "downgrade: %s", th_errname(rc));
            return false;
        }
        leave(x, M_WRITE);
        rc = as_rwlock_write_unlock(&x->rw);
        break;
    case M_UPREAD:
        if (k->op != OP_UPGRADE && r % 3 == 0) {
            rc = as_rwlock_try_upgrade(&x->rw);
            if (rc == 1) {
                leave(x, M_UPREAD);
                atomic_fetch_add(&x->upgrades, 1);
                enter(x, M_WRITE);
                k->held = M_WRITE;
                return false;
            }
            if (rc != 0)
                RT_ERR(x, "try_upgrade: %s", th_errname(rc));
        } else if (k->op != OP_UPGRADE && r % 3 == 1) {
            start_wait(k, OP_UPGRADE);
            return false;
        }
        leave(x, M_UPREAD);
        rc = as_rwlock_upgradable_read_unlock(&x->rw);
        break;
    default:
        break;
    }
    if (rc != 0)
        RT_ERR(x, "unlock (held %d): %s", k->held, th_errname(rc));
    k->held = M_NONE;
    return true;
}

static void next_round(rt_task *k)
{
    unsigned r = rt_rand(&k->seed) % 10;
    if (--k->rounds_left <= 0) {
        th_counter_add(&k->x->done, 1);
        return;
    }
    start_wait(k, r < 5 ? OP_READ : r < 8 ? OP_WRITE : OP_UPREAD);
}

static bool rt_busy(void *arg)
{
    rt_loop *lp = arg;
    for (int i = 0; i < RT_TASKS; i++) {
        rt_task *k = &lp->tasks[i];
        if (k->rounds_left > 0 && (!k->armed || k->cancel))
            return true;
    }
    return false;
}

static void rt_tick(void *arg)
{
    rt_loop *lp = arg;
    rt *x = lp->x;
    for (int i = 0; i < RT_TASKS; i++) {
        rt_task *k = &lp->tasks[i];
        if (k->rounds_left <= 0)
            continue;
        if (k->armed) {
            if (k->cancel && !k->cancelled) {
                int rc = as_cancel(&k->w);
                if (rc != 0)
                    RT_ERR(x, "as_cancel of a pending wait: %s", th_errname(rc));
                k->cancelled = true;
                k->cancel = false;
            }
            continue;
        }
        if (k->held != M_NONE && !give_back(k))
            continue;
        next_round(k);
    }
}

static void rt_start(void *arg)
{
    rt_loop *lp = arg;
    th_barrier_wait(&lp->x->start);
    lp->t.tick = rt_tick;
    lp->t.busy = rt_busy;
    lp->t.tick_arg = lp;
    for (int i = 0; i < RT_TASKS; i++) {
        rt_task *k = &lp->tasks[i];
        k->x = lp->x;
        k->lp = lp;
        k->seed = (unsigned)(lp - lp->x->loops) * 1000u + (unsigned)i + 1u;
        k->rounds_left = lp->x->rounds + 1;
        next_round(k);
    }
}

/* ---- the plain thread ---- */

struct plain {
    rt *x;
    int rounds;
};

static void *plain_main(void *arg)
{
    struct plain *p = arg;
    rt *x = p->x;
    unsigned seed = 4242;
    th_barrier_wait(&x->start);
    for (int i = 0; i < p->rounds; i++) {
        unsigned r = rt_rand(&seed) % 6;
        uint64_t d = (r & 1) ? as_now_ns() + 300000u : AS_NO_DEADLINE;
        int rc;
        switch (r / 2) {
        case 0:
            rc = as_rwlock_read_blocking(&x->rw, d);
            if (rc == 0) {
                enter(x, M_READ);
                leave(x, M_READ);
                rc = as_rwlock_read_unlock(&x->rw);
            }
            break;
        case 1:
            rc = as_rwlock_write_blocking(&x->rw, d);
            if (rc == 0) {
                enter(x, M_WRITE);
                leave(x, M_WRITE);
                rc = as_rwlock_write_unlock(&x->rw);
            }
            break;
        default:
            rc = as_rwlock_upgradable_read_blocking(&x->rw, d);
            if (rc == 0) {
                enter(x, M_UPREAD);
                rc = as_rwlock_upgrade_blocking(&x->rw, d);
                if (rc == 0) {
                    leave(x, M_UPREAD);
                    enter(x, M_WRITE);
                    leave(x, M_WRITE);
                    rc = as_rwlock_write_unlock(&x->rw);
                } else {
                    if (rc != -ETIMEDOUT)
                        RT_ERR(x, "upgrade_blocking: %s", th_errname(rc));
                    leave(x, M_UPREAD);
                    rc = as_rwlock_upgradable_read_unlock(&x->rw);
                }
            }
            break;
        }
        if (rc == -ETIMEDOUT && d != AS_NO_DEADLINE)
            atomic_fetch_add(&x->timeouts, 1);
        else if (rc != 0)
            RT_ERR(x, "plain thread: %s", th_errname(rc));
    }
    th_counter_add(&x->done, 1);
    return NULL;
}

static void rwlock_threads(unsigned flags)
{
    rt *x = th_zalloc(sizeof *x);
#ifdef _WIN32
    /* Wine: a timed wait that expires costs a timer tick (about 1 ms on a
     * loop, more for the plain thread's WaitOnAddress), not microseconds */
    x->rounds = th_scaled(200);
#else
    x->rounds = th_scaled(3000);
#endif
    th_counter_init(&x->done);
    TH_RC(as_rwlock_init(&x->rw, flags), 0);
    static const struct {
        th_kind kind;
        unsigned disabled;
    } cfg[RT_LOOPS] = { { TH_RING, 0 }, { TH_RING, AS_CAP_RING_WAKE }, { TH_NOTIFY_EFD, 0 } };
    for (int i = 0; i < RT_LOOPS; i++) {
        as_loop_options o = { 0, cfg[i].disabled };
        x->loops[i].x = x;
        th_lthread_start(&x->loops[i].t, cfg[i].kind, &o);
    }
    th_barrier_init(&x->start, RT_LOOPS + 2);
    th_job jobs[RT_LOOPS];
    for (int i = 0; i < RT_LOOPS; i++)
        th_lthread_post(&x->loops[i].t, &jobs[i], rt_start, &x->loops[i]);
    struct plain pl = { x, x->rounds };
    pthread_t pt;
    th_thread_start(&pt, plain_main, &pl);
    th_barrier_wait(&x->start);
    double t0 = th_now();
    long want = RT_LOOPS * RT_TASKS + 1;
    if (!th_counter_wait_ge(&x->done, want, 12 * TH_TIMEOUT))
        th_fail("rwlock threads: %lld of %ld tasks finished, %ld acquisitions (%d readers, "
                "%d writers, %d upgradable held; %lld waiters; %d errors: %s): lost wake-up?",
                th_counter_get(&x->done), want, atomic_load(&x->acquired),
                atomic_load(&x->readers),
                atomic_load(&x->writers), atomic_load(&x->upgradable),
                (long long)as_rwlock_waiters(&x->rw), atomic_load(&x->errors), x->msg);
    double dt = th_now() - t0;
    th_thread_join(pt);
    for (int i = 0; i < RT_LOOPS; i++) {
        th_lthread_wait_job(&x->loops[i].t, &jobs[i]);
        TH_RC(th_lthread_stop(&x->loops[i].t), 0);
    }
    if (atomic_load(&x->errors))
        th_fail("rwlock threads: %d errors, first: %s", atomic_load(&x->errors), x->msg);
    TH_EQ(atomic_load(&x->readers), 0);
    TH_EQ(atomic_load(&x->writers), 0);
    TH_EQ(atomic_load(&x->upgradable), 0);
    TH_EQ(as_rwlock_waiters(&x->rw), 0);
    TH_RC(as_rwlock_try_write(&x->rw), 1);
    TH_RC(as_rwlock_write_unlock(&x->rw), 0);
    TH_RC(as_rwlock_destroy(&x->rw), 0);
    print_message("    %s: %d loops x %d tasks x %d rounds + a plain thread: %.3f s; "
                  "%ld acquired, %ld timed out, %ld cancelled, %ld upgrades, %ld downgrades\n",
                  flags ? "eventual" : "default", RT_LOOPS, RT_TASKS, x->rounds, dt,
                  atomic_load(&x->acquired),
                  atomic_load(&x->timeouts), atomic_load(&x->cancels),
                  atomic_load(&x->upgrades), atomic_load(&x->downgrades));
    th_counter_destroy(&x->done);
    free(x);
}

static void rwlock_threads_default(void **state)
{
    (void)state;
    rwlock_threads(0);
}

static void rwlock_threads_strict(void **state)
{
    (void)state;
    rwlock_threads(AS_RWLOCK_STRICT_FIFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rwlock_threads_default),
        cmocka_unit_test(rwlock_threads_strict),
    };
    return TH_MAIN("rwlock_threads", tests);
}
