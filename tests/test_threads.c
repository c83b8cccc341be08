/*
 * Conformance: cross-thread scenarios.
 *
 *   - a wait armed while the process is single-threaded, woken by a thread
 *     created afterwards (fork()ed child: the private futex hash of Linux
 *     6.16+), and the reverse order (Windows has no fork(): the same
 *     scenarios run in the test process);
 *   - release / unlock / set / signal / broadcast from a thread that runs
 *     no loop;
 *   - several loops on several threads sharing a semaphore, a mutex, a
 *     condvar and events (mutual exclusion, permit counts, totals);
 *   - cancel racing with a wake from another thread: exactly one callback
 *     per wait, and a cancelled waiter never swallows the wake.
 *
 * Failures here abort the binary (th_abort_on_fail): threads may still be
 * using the test's memory, so no longjmp out of a test.
 */
#include "harness.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

enum prim { P_SEM, P_MUTEX, P_COND, P_EVENT };
static const char *const prim_name[] = { "sem", "mutex", "cond", "event" };

/* =========================================================================
 * fork(): the child starts single-threaded
 * ========================================================================= */

typedef struct fk {
    enum prim prim;
    bool thread_first;   /* create the waking thread before arming */
    bool releaser_loop;  /* the waking thread runs its own ring loop */
    as_sem s;
    as_mutex m;
    as_cond c;
    as_event e;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool go;
    int op_rc;
} fk;

static int fk_op(fk *k)
{
    switch (k->prim) {
    case P_SEM: return as_sem_release(&k->s, 1);
    case P_MUTEX: return as_mutex_unlock(&k->m);
    case P_COND: return as_cond_signal(&k->c);
    case P_EVENT: return as_event_set(&k->e);
    }
    return -EINVAL;
}

static fk *fk_cur;

static void fk_op_cb(th_waiter *tw, int status)
{
    fk_cur->op_rc = status == 0 ? fk_op(fk_cur) : -1000;
}

static void *fk_thread(void *arg)
{
    fk *k = arg;
    if (k->thread_first) {
        pthread_mutex_lock(&k->mu);
        while (!k->go)
            pthread_cond_wait(&k->cv, &k->mu); /* the child's alarm() is the watchdog */
        pthread_mutex_unlock(&k->mu);
    }
    if (!k->releaser_loop) {
        k->op_rc = fk_op(k);
        return NULL;
    }
    /* The wake is issued from a callback of this thread's own ring loop, so
     * it may ride this ring as a FUTEX_WAKE SQE. */
    th_loop RL;
    int r = th_loop_init(&RL, TH_RING, NULL);
    if (r != 0) {
        k->op_rc = -2000;
        return NULL;
    }
    th_rec rec;
    th_rec_init(&rec);
    as_sem local;
    th_sem_make(&local, 0);
    th_waiter x;
    th_waiter_init(&x, &rec, &RL, 1);
    x.on_cb = fk_op_cb;
    fk_cur = k;
    k->op_rc = -3000;
    TH_RC(th_sem_acquire(&x, &local, 1), 0);
    TH_RC(as_sem_release(&local, 1), 0);
    th_rec_wait(&RL, &rec, 1); /* runs fk_op in the callback, then submits */
    th_pump(&RL);
    r = th_loop_destroy_rc(&RL);
    if (r != 0)
        k->op_rc = -4000;
    as_sem_destroy(&local);
    return NULL;
}

static int fk_child(fk *k)
{
#ifndef _WIN32
    th_child_mode = true;
    alarm(30);
#endif
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    th_loop L;
    int r = th_loop_init(&L, TH_RING, NULL);
    if (r == -ENOSYS || r == -EPERM)
        return 77;
    if (r != 0)
        return 10;
    th_sem_make(&k->s, 0);
    th_mutex_make(&k->m, 0);
    th_cond_make(&k->c);
    th_event_make(&k->e, 0);

    pthread_t t;
    if (k->thread_first)
        th_thread_start(&t, fk_thread, k);

    th_rec rec;
    th_rec_init(&rec);
    th_waiter w;
    th_waiter_init(&w, &rec, &L, 1);
    switch (k->prim) {
    case P_SEM: r = th_sem_acquire(&w, &k->s, 1); break;
    case P_MUTEX:
        TH_RC(as_mutex_try_lock(&k->m), 1);
        r = th_mutex_lock(&w, &k->m, true);
        break;
    case P_COND:
        TH_RC(as_mutex_try_lock(&k->m), 1);
        r = th_cond_wait(&w, &k->c, &k->m, true);
        break;
    case P_EVENT: r = th_event_wait(&w, &k->e); break;
    }
    if (r != 0)
        return 11;
    th_pump(&L); /* armed (in the kernel, for the uring backend) */

    if (k->thread_first) {
        pthread_mutex_lock(&k->mu);
        k->go = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
    } else {
        th_thread_start(&t, fk_thread, k); /* the process's first thread */
    }
    th_rec_wait_woken(&L, &rec, 1); /* exits TH_CHILD_FAIL on a lost wake-up */
    th_thread_join(t);
    if (k->op_rc != 0) {
        fprintf(stderr, "[child] waking operation returned %d\n", k->op_rc);
        return 12;
    }
    if (th_rec_get(&rec, 0).status != 0)
        return 13;
    th_rec_assert_clean(&rec);
    if (th_loop_destroy_rc(&L) != 0)
        return 15;
    return 0;
}

static void fork_report(enum prim p, bool thread_first, bool releaser_loop, int code)
{
    if (code == 77)
        skip();
    if (code != 0)
        th_fail("%s (thread created %s arming%s): child exit code %d (%s)", prim_name[p],
                thread_first ? "before" : "after", releaser_loop ? ", releaser runs a loop" : "",
                code,
                code == TH_CHILD_FAIL ? "lost wake-up or check failed, see stderr"
                : code == 11          ? "arm did not pend"
                : code == 12          ? "waking call failed"
                : code == 13          ? "callback status not 0"
                : code == 15          ? "loop teardown failed"
                                      : "setup failed");
}

#ifdef _WIN32
/* No fork() on Windows: the child's scenario runs in this process (a failed
 * check aborts it: th_abort_on_fail). */
static void fork_case(enum prim p, bool thread_first, bool releaser_loop)
{
    fk *k = th_zalloc(sizeof *k);
    k->prim = p;
    k->thread_first = thread_first;
    k->releaser_loop = releaser_loop;
    int code = fk_child(k);
    fork_report(p, thread_first, releaser_loop, code);
    TH_RC(as_sem_destroy(&k->s), 0);
    TH_RC(as_mutex_destroy(&k->m), 0);
    TH_RC(as_cond_destroy(&k->c), 0);
    TH_RC(as_event_destroy(&k->e), 0);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
#else
static void fork_case(enum prim p, bool thread_first, bool releaser_loop)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        th_fail("fork failed");
    if (pid == 0) {
        fk *k = th_zalloc(sizeof *k);
        int code = 98;
        if (k) {
            k->prim = p;
            k->thread_first = thread_first;
            k->releaser_loop = releaser_loop;
            code = fk_child(k);
        }
        fflush(stderr);
        _exit(code);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFSIGNALED(st))
        th_fail("%s (thread %s arming%s): child killed by signal %d%s", prim_name[p],
                thread_first ? "before" : "after", releaser_loop ? ", releaser runs a loop" : "",
                WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (hang: the wait was never woken)" : "");
    fork_report(p, thread_first, releaser_loop, WEXITSTATUS(st));
}
#endif

static void fork_thread_created_after_arm(void **state)
{
    for (int p = P_SEM; p <= P_EVENT; p++)
        fork_case((enum prim)p, false, false);
}

static void fork_thread_created_before_arm(void **state)
{
    for (int p = P_SEM; p <= P_EVENT; p++)
        fork_case((enum prim)p, true, false);
}

static void fork_releaser_runs_a_loop(void **state)
{
    for (int p = P_SEM; p <= P_EVENT; p++) {
        fork_case((enum prim)p, false, true);
        fork_case((enum prim)p, true, true);
    }
}

/* =========================================================================
 * Wakes from a thread that runs no loop
 * ========================================================================= */

typedef struct {
    enum prim p;
    bool broadcast;
    as_sem *s;
    as_mutex *m;
    as_cond *c;
    as_event *e;
    int rc;
} plain_arg;

static void *plain_thread(void *arg)
{
    plain_arg *a = arg;
    switch (a->p) {
    case P_SEM: a->rc = as_sem_release(a->s, 1); break;
    case P_MUTEX: a->rc = as_mutex_unlock(a->m); break;
    case P_COND: a->rc = a->broadcast ? as_cond_broadcast(a->c) : as_cond_signal(a->c); break;
    case P_EVENT: a->rc = as_event_set(a->e); break;
    }
    return NULL;
}

static void run_plain(plain_arg *a)
{
    pthread_t t;
    a->rc = 100;
    th_thread_start(&t, plain_thread, a);
    th_thread_join(t);
    TH_RC(a->rc, 0);
}

static void plain_release_sem(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);
    plain_arg pa = { .p = P_SEM, .s = &s };
    pthread_t t;
    th_thread_start(&t, plain_thread, &pa);
    th_rec_wait_woken(L, R, 1);
    th_thread_join(t);
    TH_RC(pa.rc, 0);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

static void plain_unlock_mutex(void **state)
{
    FIX();
    for (int strict = 0; strict < 2; strict++) {
        as_mutex m;
        th_mutex_make(&m, strict ? AS_MUTEX_STRICT_FIFO : 0);
        th_rec_reset(R);
        TH_RC(as_mutex_try_lock(&m), 1);
        th_waiter a;
        th_waiter_init(&a, R, L, 1);
        TH_RC(th_mutex_lock(&a, &m, true), 0);
        th_pump(L);
        plain_arg pa = { .p = P_MUTEX, .m = &m };
        pthread_t t;
        th_thread_start(&t, plain_thread, &pa);
        th_rec_wait_woken(L, R, 1);
        th_thread_join(t);
        TH_RC(pa.rc, 0);
        TH_RC(th_rec_status_of(R, 1), 0);
        TH_EQ(th_rec_get(R, 0).held, 0);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(as_mutex_unlock(&m), 0);
        TH_RC(as_mutex_destroy(&m), 0);
    }
}

static void plain_set_event(void **state)
{
    FIX();
    for (int manual = 0; manual < 2; manual++) {
        as_event e;
        th_event_make(&e, manual ? AS_EVENT_MANUAL_RESET : 0);
        th_rec_reset(R);
        th_waiter a, b;
        th_waiter_init(&a, R, L, 1);
        th_waiter_init(&b, R, L, 2);
        TH_RC(th_event_wait(&a, &e), 0);
        TH_RC(th_event_wait(&b, &e), 0);
        th_pump(L);
        plain_arg pa = { .p = P_EVENT, .e = &e };
        pthread_t t;
        th_thread_start(&t, plain_thread, &pa);
        th_rec_wait_woken(L, R, manual ? 2 : 1);
        th_thread_join(t);
        TH_RC(pa.rc, 0);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), manual ? 2 : 1);
        TH_RC(th_rec_status_of(R, 1), 0);
        if (manual) {
            TH_RC(th_rec_status_of(R, 2), 0);
            TH_RC(as_event_is_set(&e), 1);
        } else {
            TH_RC(as_event_is_set(&e), 0);
            run_plain(&pa); /* second set from another thread: b */
            th_rec_wait(L, R, 2);
            TH_RC(th_rec_status_of(R, 2), 0);
        }
        TH_RC(as_event_destroy(&e), 0);
    }
}

static void plain_signal_cond(void **state)
{
    FIX();
    as_mutex m;
    as_cond c;
    th_mutex_make(&m, 0);
    th_cond_make(&c);
    th_waiter w[3];
    for (int i = 0; i < 3; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(as_mutex_try_lock(&m), 1);
        TH_RC(th_cond_wait(&w[i], &c, &m, true), 0);
    }
    th_pump(L);
    plain_arg pa = { .p = P_COND, .c = &c };
    pthread_t t;
    th_thread_start(&t, plain_thread, &pa);
    th_rec_wait_woken(L, R, 1);
    th_thread_join(t);
    TH_RC(pa.rc, 0);
    th_quiesce(L, TH_QUIET);
    th_rec_assert_ids(R, 0);
    pa.broadcast = true;
    th_pump(L);
    th_thread_start(&t, plain_thread, &pa);
    th_rec_wait_woken(L, R, 3);
    th_thread_join(t);
    TH_RC(pa.rc, 0);
    th_quiesce(L, TH_QUIET);
    TH_EQ(th_rec_count(R), 3);
    for (unsigned i = 0; i < 3; i++) {
        TH_RC(th_rec_get(R, i).status, 0);
        TH_EQ(th_rec_get(R, i).held, 0);
    }
    TH_RC(as_cond_destroy(&c), 0);
    TH_RC(as_mutex_destroy(&m), 0);
}

/* Several threads release while one re-arming waiter consumes every permit. */
typedef struct {
    as_sem *s;
    int n;
    int bad;
} many_arg;

static void *many_releaser(void *arg)
{
    many_arg *a = arg;
    for (int i = 0; i < a->n; i++)
        if (as_sem_release(a->s, 1) != 0)
            a->bad++;
    return NULL;
}

static as_sem *many_sem;
static long many_total;

static void many_cb(th_waiter *tw, int status)
{
    if (status != 0)
        return;
    tw->user_n++;
    while (tw->user_n < many_total) {
        int r = th_sem_acquire(tw, many_sem, 1);
        if (r == 1)
            tw->user_n++;
        else
            break;
    }
}

static bool many_done(void *arg)
{
    return ((th_waiter *)arg)->user_n >= many_total;
}

static void plain_many_releasers(void **state)
{
    FIX();
    enum { T = 4 };
    int per = th_scaled(2000);
    many_total = (long)T * per;
    as_sem s;
    th_sem_make(&s, 0);
    many_sem = &s;
    L->strict = false;   /* releases race with the loop's own timeouts ... */
    L->slice_ms = 1000;  /* ... so lost wake-ups are counted instead (below) */
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    a.on_cb = many_cb;
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);
    pthread_t t[T];
    many_arg ma[T];
    for (int i = 0; i < T; i++) {
        ma[i] = (many_arg){ &s, per, 0 };
        th_thread_start(&t[i], many_releaser, &ma[i]);
    }
    th_run_until(L, many_done, &a, 4 * TH_TIMEOUT);
    for (int i = 0; i < T; i++) {
        th_thread_join(t[i]);
        TH_EQ(ma[i].bad, 0);
    }
    th_quiesce(L, TH_QUIET);
    TH_EQ(a.user_n, many_total);
    TH_EQ(as_sem_value(&s), 0);
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_EQ(L->silent_wakes, 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* The waiter's callback destroys and frees the primitive that a thread
 * running no loop has just released (the "completion then free" pattern):
 * the releasing call must not touch the object once the wake is delivered
 * (ASan catches a use after free). */
typedef struct {
    as_sem s;
    as_mutex m;
    as_cond c;
    as_event e;
} dobj;

typedef struct {
    enum prim p;
    dobj *o;
    int destroy_rc;
    th_counter *cnt;
} dctx;

static void dfree_cb(th_waiter *tw, int status)
{
    dctx *d = tw->user;
    int r = 0;
    switch (d->p) {
    case P_SEM: r = as_sem_destroy(&d->o->s); break;
    case P_MUTEX:
        r = as_mutex_unlock(&d->o->m);
        if (r == 0)
            r = as_mutex_destroy(&d->o->m);
        break;
    case P_COND:
        r = as_mutex_unlock(&d->o->m);
        if (r == 0)
            r = as_cond_destroy(&d->o->c);
        if (r == 0)
            r = as_mutex_destroy(&d->o->m);
        break;
    case P_EVENT: r = as_event_destroy(&d->o->e); break;
    }
    d->destroy_rc = r;
    free(d->o);
    d->o = NULL;
}

typedef struct {
    enum prim p;
    dobj *o;
    int rc;
} dwake;

static void *dwake_thread(void *arg)
{
    dwake *w = arg;
    switch (w->p) {
    case P_SEM: w->rc = as_sem_release(&w->o->s, 1); break;
    case P_MUTEX: w->rc = as_mutex_unlock(&w->o->m); break;
    case P_COND: w->rc = as_cond_signal(&w->o->c); break;
    case P_EVENT: w->rc = as_event_set(&w->o->e); break;
    }
    return NULL;
}

static void destroy_in_callback_after_remote_wake(void **state)
{
    FIX();
    int rounds = th_scaled(100);
    for (int p = P_SEM; p <= P_EVENT; p++) {
        for (int r = 0; r < rounds; r++) {
            th_rec_reset(R);
            dobj *o = malloc(sizeof *o);
            assert_non_null(o);
            memset(o, 0, sizeof *o);
            TH_RC(as_sem_init(&o->s, 0, 0), 0);
            TH_RC(as_mutex_init(&o->m, 0), 0);
            TH_RC(as_cond_init(&o->c, 0), 0);
            TH_RC(as_event_init(&o->e, 0), 0);
            /* only the object under test survives to the callback */
            if (p != P_SEM)
                TH_RC(as_sem_destroy(&o->s), 0);
            if (p != P_EVENT)
                TH_RC(as_event_destroy(&o->e), 0);
            if (p != P_COND)
                TH_RC(as_cond_destroy(&o->c), 0);
            dctx d = { (enum prim)p, o, 100, NULL };
            th_waiter a;
            th_waiter_init(&a, R, L, 1);
            a.on_cb = dfree_cb;
            a.user = &d;
            switch (p) {
            case P_SEM: TH_RC(th_sem_acquire(&a, &o->s, 1), 0); break;
            case P_MUTEX:
                TH_RC(as_mutex_try_lock(&o->m), 1);
                TH_RC(th_mutex_lock(&a, &o->m, false), 0);
                break;
            case P_COND:
                TH_RC(as_mutex_try_lock(&o->m), 1);
                TH_RC(th_cond_wait(&a, &o->c, &o->m, false), 0);
                break;
            case P_EVENT: TH_RC(th_event_wait(&a, &o->e), 0); break;
            }
            if (p != P_MUTEX && p != P_COND)
                TH_RC(as_mutex_destroy(&o->m), 0);
            th_pump(L);
            dwake w = { (enum prim)p, o, 100 };
            pthread_t t;
            th_thread_start(&t, dwake_thread, &w);
            th_rec_wait_woken(L, R, 1);
            th_thread_join(t);
            TH_RC(w.rc, 0);
            TH_RC(th_rec_status_of(R, 1), 0);
            if (d.destroy_rc != 0)
                th_fail("%s: destroy in the callback returned %s", prim_name[p],
                        th_errname(d.destroy_rc));
        }
    }
}

/* =========================================================================
 * Mutex fairness across threads.  A thread hammers unlock/try_lock while a
 * waiter on another loop wants the lock: the waiter must get it (none
 * starves), and in strict mode no newcomer ever takes the lock ahead of it.
 * In default mode newcomers may take it while the woken waiter is on its way
 * (bounded by the waiter's wake-up time, not by a count): measured, printed.
 * ========================================================================= */

typedef struct {
    th_lthread lt;
    as_mutex m;
    as_wait w;
    atomic_int got;      /* the waiter's callback has the lock (before its unlock) */
    atomic_int done;     /* ... and has released it */
    atomic_int status;
    int arm_rc;
} barge_t;

static void barge_cb(as_wait *w, int status, void *arg)
{
    barge_t *b = arg;
    atomic_store(&b->status, status);
    atomic_store(&b->got, 1);
    as_mutex_unlock(&b->m);
    atomic_store(&b->done, 1);
}

static void barge_arm(void *arg)
{
    barge_t *b = arg;
    b->arm_rc = as_mutex_lock_async(&b->m, &b->lt.L.loop, &b->w, barge_cb, b);
}

static void mutex_barging_bounded(unsigned flags)
{
    barge_t *b = th_zalloc(sizeof *b);
    th_mutex_make(&b->m, flags);
    th_lthread_start(&b->lt, TH_RING, NULL);
    int rounds = th_scaled(200);
    int worst = 0;
    for (int r = 0; r < rounds; r++) {
        atomic_store(&b->got, 0);
        atomic_store(&b->done, 0);
        TH_RC(as_mutex_try_lock(&b->m), 1);
        th_lthread_call(&b->lt, barge_arm, b);
        TH_RC(b->arm_rc, 0);
        /* unlock / try_lock as fast as we can: every success is a barge */
        int barges = 0;
        double dl = th_now() + TH_TIMEOUT;
        for (;;) {
            TH_RC(as_mutex_unlock(&b->m), 0);
            int t = as_mutex_try_lock(&b->m);
            if (t != 1)
                break; /* handed to the waiter */
            if (atomic_load(&b->got)) {
                TH_RC(as_mutex_unlock(&b->m), 0); /* it had its turn already */
                break;
            }
            barges++;
            if (th_now() > dl)
                th_fail("mode %#x: the waiter never got the lock (%d barges)", flags, barges);
        }
        if (barges > worst)
            worst = barges;
        /* the lock now belongs to the waiter (or is free if it already ran) */
        double dl2 = th_now() + TH_TIMEOUT;
        while (!atomic_load(&b->done)) {
            if (th_now() > dl2)
                th_fail("mode %#x round %d: the waiter's callback never ran", flags, r);
            sched_yield();
        }
        TH_RC(atomic_load(&b->status), 0);
    }
    TH_RC(th_lthread_stop(&b->lt), 0);
    print_message("    mode %#x: worst case %d newcomer(s) took the lock ahead of a woken waiter\n",
                  flags, worst);
    if (flags & AS_MUTEX_STRICT_FIFO)
        TH_EQ(worst, 0);
    TH_RC(as_mutex_try_lock(&b->m), 1);
    TH_RC(as_mutex_unlock(&b->m), 0);
    TH_RC(as_mutex_destroy(&b->m), 0);
    free(b);
}

static void mutex_barging_default(void **state) { mutex_barging_bounded(0); }
static void mutex_barging_strict(void **state) { mutex_barging_bounded(AS_MUTEX_STRICT_FIFO); }

/* A blocked thread has no timer of its own (as__pass_may): a woken blocking
 * waiter that loses its retry is STARVING at once, and the next unlock
 * (release) hands it the lock (permits) directly; a ring loop's waiter
 * would be PASSED instead (mutex_policy_passed, sem_policy_passed).  Main
 * holds the primitive and a plain thread blocks on it; main releases and
 * takes it straight back (a barge) until the thread's retry lost, waits
 * until the thread is queued again, and then a release must hand over:
 * main's try fails.  If the thread won its retry instead (it ran before
 * main's try), the round starts over. */
typedef struct blk {
    bool sem;
    as_mutex m;
    as_sem s;
    atomic_int got, release;
    int rc;
} blk;

static int blk_try(blk *b)
{
    return b->sem ? as_sem_try_acquire(&b->s, 1) : as_mutex_try_lock(&b->m);
}

static int blk_give(blk *b)
{
    return b->sem ? as_sem_release(&b->s, 1) : as_mutex_unlock(&b->m);
}

/* The queued waits, counted under the queue lock (a dump of none): a wait
 * going back to the queue inserts itself and then sets the word's bits in
 * one hold of that lock, and as_*_waiters, a snapshot, can see the first
 * before the second (a release then still finds the word without waiters,
 * adds its permit lock-free, and the returning wait takes it itself). */
static int64_t blk_waiters(blk *b)
{
    return b->sem ? as_sem_dump(&b->s, NULL, 0) : as_mutex_dump(&b->m, NULL, 0);
}

static void *blk_thread(void *arg)
{
    blk *b = arg;
    b->rc = b->sem ? as_sem_acquire_blocking(&b->s, 1, AS_NO_DEADLINE)
                   : as_mutex_lock_blocking(&b->m, AS_NO_DEADLINE);
    atomic_store(&b->got, 1);
    while (!atomic_load(&b->release))
        sched_yield();
    if (b->rc == 0)
        b->rc = blk_give(b);
    return NULL;
}

static void blk_wait_queued(blk *b)
{
    double dl = th_now() + TH_TIMEOUT;
    while (blk_waiters(b) != 1) {
        if (th_now() > dl)
            th_fail("the blocked thread never queued");
        sched_yield();
    }
}

static void blocking_one_retry(bool sem)
{
    blk *b = th_zalloc(sizeof *b);
    b->sem = sem;
    th_mutex_make(&b->m, 0);
    th_sem_make(&b->s, 0);
    if (!sem)
        TH_RC(as_mutex_try_lock(&b->m), 1);
    int rounds = 0;
    for (;;) {
        pthread_t t;
        atomic_store(&b->got, 0);
        atomic_store(&b->release, 0);
        th_thread_start(&t, blk_thread, b);
        blk_wait_queued(b);
        TH_RC(blk_give(b), 0);               /* the thread woken */
        int barged = blk_try(b);             /* taken straight back */
        TH_EQ(barged >= 0, 1);
        if (barged == 1) {
            blk_wait_queued(b);              /* its retry lost: STARVING */
            TH_EQ(atomic_load(&b->got), 0);
            TH_RC(blk_give(b), 0);           /* handed over */
            TH_RC(blk_try(b), 0);
        }
        double dl = th_now() + TH_TIMEOUT;
        while (!atomic_load(&b->got)) {
            if (th_now() > dl)
                th_fail("the blocked thread never got the %s",
                        sem ? "permit" : "lock");
            sched_yield();
        }
        atomic_store(&b->release, 1);
        th_thread_join(t);
        TH_RC(b->rc, 0);                      /* it gave it back */
        if (barged == 1)
            break;
        /* the thread took it on its retry (it ran before main's try): the
         * primitive is free again; hold it and start over */
        TH_RC(blk_try(b), 1);
        if (++rounds > th_scaled(1000))
            th_fail("main never took the %s ahead of the woken thread",
                    sem ? "permit" : "lock");
    }
    print_message("    %s: the barge came in round %d\n", sem ? "sem" : "mutex",
                  rounds + 1);
    /* the thread gave it back: free, nothing queued */
    TH_RC(blk_try(b), 1);
    if (!sem)
        TH_RC(as_mutex_unlock(&b->m), 0);
    TH_RC(as_sem_destroy(&b->s), 0);
    TH_RC(as_mutex_destroy(&b->m), 0);
    free(b);
}

static void mutex_blocking_one_retry(void **state) { (void)state; blocking_one_retry(false); }
static void sem_blocking_one_retry(void **state) { (void)state; blocking_one_retry(true); }

/* =========================================================================
 * Several loops on several threads share the primitives
 * ========================================================================= */

enum { ST_SEM, ST_MUTEX, ST_MUTEX_STRICT, ST_EVENT, ST_COND };
static const char *const st_name[] = { "sem", "mutex", "mutex-strict", "event", "cond" };
#define ST_MAX_LOOPS 4
#define ST_TASKS 32

typedef struct stress stress;
typedef struct st_loop st_loop;
typedef struct st_task st_task;

struct st_task {
    as_wait w;
    stress *st;
    st_loop *lp;
    int rounds_left;
    bool armed;
    bool consumer; /* cond */
    st_task *next;
};

struct st_loop {
    th_lthread t;
    stress *st;
    st_task tasks[ST_TASKS];
    st_task *hold; /* loop thread only */
};

struct stress {
    int prim;
    int nloops;
    int rounds;
    uint32_t permits;
    as_sem sem;
    as_mutex mtx;
    as_event ev;
    as_cond cond;
    atomic_int inside;
    atomic_int max_inside;
    long guarded; /* plain: protected by the mutex / the event token */
    long items;   /* cond: protected by the mutex */
    long produced, consumed;
    atomic_long total;
    atomic_int errors;
    char msg[256];
    th_counter done;
    th_barrier start;
    st_loop loops[ST_MAX_LOOPS];
};

#define ST_ERR(st, ...)                                                         \
    do {                                                                        \
        if (atomic_fetch_add(&(st)->errors, 1) == 0)                            \
            snprintf((st)->msg, sizeof (st)->msg, __VA_ARGS__);                 \
    } while (0)

static void st_cb(as_wait *w, int status, void *arg);

static int st_limit(stress *st)
{
    return st->prim == ST_SEM ? (int)st->permits : 1;
}

static void st_enter(st_task *k)
{
    stress *st = k->st;
    int in = atomic_fetch_add(&st->inside, 1) + 1;
    if (in > st_limit(st))
        ST_ERR(st, "%s: %d tasks inside, limit %d", st_name[st->prim], in, st_limit(st));
    int mx = atomic_load(&st->max_inside);
    while (in > mx && !atomic_compare_exchange_weak(&st->max_inside, &mx, in))
        ;
}

static void st_hold(st_task *k)
{
    k->next = k->lp->hold;
    k->lp->hold = k;
}

static as_loop *st_aloop(st_task *k)
{
    return &k->lp->t.L.loop;
}

/* cond consumer: called with the mutex held (inside already counted) */
static void st_consume_or_wait(st_task *k)
{
    stress *st = k->st;
    if (st->items > 0) {
        st->items--;
        st->consumed++;
        st_hold(k);
        return;
    }
    atomic_fetch_sub(&st->inside, 1);
    int r = as_cond_wait_async(&st->cond, &st->mtx, st_aloop(k), &k->w, st_cb, k);
    if (r == 0)
        k->armed = true;
    else
        ST_ERR(st, "cond_wait_async: %s", th_errname(r));
}

static void st_granted(st_task *k)
{
    stress *st = k->st;
    st_enter(k);
    if (st->prim == ST_COND) {
        if (k->consumer) {
            st_consume_or_wait(k);
        } else {
            st->items++;
            st->produced++;
            int r = as_cond_signal(&st->cond);
            if (r != 0)
                ST_ERR(st, "cond_signal: %s", th_errname(r));
            st_hold(k);
        }
        return;
    }
    if (st->prim != ST_SEM)
        st->guarded++;
    st_hold(k);
}

static void st_try(st_task *k)
{
    stress *st = k->st;
    int r;
    switch (st->prim) {
    case ST_SEM: r = as_sem_acquire_async(&st->sem, st_aloop(k), &k->w, 1, st_cb, k); break;
    case ST_EVENT: r = as_event_wait_async(&st->ev, st_aloop(k), &k->w, st_cb, k); break;
    default: r = as_mutex_lock_async(&st->mtx, st_aloop(k), &k->w, st_cb, k); break;
    }
    if (r == 0)
        k->armed = true;
    else if (r == 1)
        st_granted(k);
    else
        ST_ERR(st, "%s acquire: %s", st_name[st->prim], th_errname(r));
}

static void st_cb(as_wait *w, int status, void *arg)
{
    st_task *k = arg;
    stress *st = k->st;
    if (w != &k->w)
        ST_ERR(st, "callback with a foreign as_wait");
    if (!k->armed)
        ST_ERR(st, "%s: callback for a wait that was not pending", st_name[st->prim]);
    k->armed = false;
    if (status != 0) {
        ST_ERR(st, "%s: callback status %s", st_name[st->prim], th_errname(status));
        return;
    }
    st_granted(k);
}

static int st_release(stress *st)
{
    switch (st->prim) {
    case ST_SEM: return as_sem_release(&st->sem, 1);
    case ST_EVENT: return as_event_set(&st->ev);
    default: return as_mutex_unlock(&st->mtx);
    }
}

static bool st_busy(void *arg)
{
    return ((st_loop *)arg)->hold != NULL;
}

static void st_tick(void *arg)
{
    st_loop *lp = arg;
    stress *st = lp->st;
    st_task *h = lp->hold;
    lp->hold = NULL;
    while (h) {
        st_task *k = h;
        h = h->next;
        atomic_fetch_sub(&st->inside, 1);
        int r = st_release(st);
        if (r != 0)
            ST_ERR(st, "%s release: %s", st_name[st->prim], th_errname(r));
        atomic_fetch_add(&st->total, 1);
        if (--k->rounds_left > 0)
            st_try(k);
        else
            th_counter_add(&st->done, 1);
    }
}

static void st_start(void *arg)
{
    st_loop *lp = arg;
    th_barrier_wait(&lp->st->start); /* every loop starts at once */
    lp->t.tick = st_tick;
    lp->t.busy = st_busy;
    lp->t.tick_arg = lp;
    for (int i = 0; i < ST_TASKS; i++) {
        st_task *k = &lp->tasks[i];
        k->st = lp->st;
        k->lp = lp;
        k->rounds_left = lp->st->rounds;
        k->consumer = (i & 1) != 0;
        st_try(k);
    }
}

typedef struct {
    th_kind kind;
    unsigned disabled_caps;
} st_cfg;

static const st_cfg cfg_ring2[] = { { TH_RING, 0 }, { TH_RING, 0 } };
static const st_cfg cfg_mixed[] = { { TH_RING, 0 },
                                    { TH_RING, AS_CAP_RING_WAKE },
                                    { TH_RING, AS_CAP_FUTEX_WAIT },
                                    { TH_NOTIFY_EFD, 0 } };

static void stress_run(int prim, const st_cfg *cfg, int nloops)
{
    stress *st = th_zalloc(sizeof *st);
    st->prim = prim;
    st->nloops = nloops;
    st->rounds = th_scaled(400);
    st->permits = 3;
    th_counter_init(&st->done);
    th_sem_make(&st->sem, st->permits);
    th_mutex_make(&st->mtx, prim == ST_MUTEX_STRICT ? AS_MUTEX_STRICT_FIFO : 0);
    th_event_make(&st->ev, AS_EVENT_INITIALLY_SET);
    th_cond_make(&st->cond);
    for (int i = 0; i < nloops; i++) {
        as_loop_options o = { 0, cfg[i].disabled_caps };
        st->loops[i].st = st;
        th_lthread_start(&st->loops[i].t, cfg[i].kind, &o);
    }
    th_barrier_init(&st->start, (unsigned)nloops + 1);
    th_job jobs[ST_MAX_LOOPS];
    for (int i = 0; i < nloops; i++)
        th_lthread_post(&st->loops[i].t, &jobs[i], st_start, &st->loops[i]);
    th_barrier_wait(&st->start);
    double t0 = th_now();
    long tasks = (long)nloops * ST_TASKS;
    /* A lost wake-up stops progress; a slow machine (Wine under load) only
     * slows it: fail when a whole window passes with no round done. */
    long seen = -1;
    while (!th_counter_wait_ge(&st->done, tasks, 6 * TH_TIMEOUT) &&
           atomic_load(&st->total) != seen)
        seen = atomic_load(&st->total);
    if (th_counter_get(&st->done) < tasks)
        th_fail("%s stress: only %lld of %ld tasks finished (%ld rounds done, %d inside, "
                "%d errors: %s), none in the last %.0f s: lost wake-up?",
                st_name[prim], th_counter_get(&st->done), tasks, atomic_load(&st->total),
                atomic_load(&st->inside), atomic_load(&st->errors), st->msg, 6 * TH_TIMEOUT);
    double dt = th_now() - t0;
    for (int i = 0; i < nloops; i++) {
        th_lthread_wait_job(&st->loops[i].t, &jobs[i]);
        TH_RC(th_lthread_stop(&st->loops[i].t), 0);
    }
    if (atomic_load(&st->errors))
        th_fail("%s stress: %d errors, first: %s", st_name[prim], atomic_load(&st->errors),
                st->msg);
    long want = tasks * st->rounds;
    TH_EQ(atomic_load(&st->total), want);
    TH_EQ(atomic_load(&st->inside), 0);
    switch (prim) {
    case ST_SEM:
        TH_EQ(as_sem_value(&st->sem), st->permits);
        TH_RC(as_sem_try_acquire(&st->sem, st->permits), 1);
        TH_RC(as_sem_release(&st->sem, st->permits), 0);
        break;
    case ST_EVENT:
        TH_EQ(st->guarded, want);
        TH_RC(as_event_is_set(&st->ev), 1); /* the token came back */
        break;
    case ST_COND:
        TH_EQ(st->produced, want / 2);
        TH_EQ(st->consumed, want / 2);
        TH_EQ(st->items, 0);
        TH_RC(as_mutex_try_lock(&st->mtx), 1);
        TH_RC(as_mutex_unlock(&st->mtx), 0);
        break;
    default:
        TH_EQ(st->guarded, want);
        TH_RC(as_mutex_try_lock(&st->mtx), 1);
        TH_RC(as_mutex_unlock(&st->mtx), 0);
        break;
    }
    print_message("    %s x %d loops x %d tasks x %d rounds: %.3f s, max inside %d\n",
                  st_name[prim], nloops, ST_TASKS, st->rounds, dt,
                  atomic_load(&st->max_inside));
    TH_RC(as_sem_destroy(&st->sem), 0);
    TH_RC(as_mutex_destroy(&st->mtx), 0);
    TH_RC(as_event_destroy(&st->ev), 0);
    TH_RC(as_cond_destroy(&st->cond), 0);
    th_counter_destroy(&st->done);
    free(st);
}

static void stress_sem_ring2(void **state) { stress_run(ST_SEM, cfg_ring2, 2); }
static void stress_sem_mixed(void **state) { stress_run(ST_SEM, cfg_mixed, 4); }
static void stress_mutex_ring2(void **state) { stress_run(ST_MUTEX, cfg_ring2, 2); }
static void stress_mutex_mixed(void **state) { stress_run(ST_MUTEX, cfg_mixed, 4); }
static void stress_mutex_strict_ring2(void **state) { stress_run(ST_MUTEX_STRICT, cfg_ring2, 2); }
static void stress_mutex_strict_mixed(void **state) { stress_run(ST_MUTEX_STRICT, cfg_mixed, 4); }
static void stress_event_ring2(void **state) { stress_run(ST_EVENT, cfg_ring2, 2); }
static void stress_event_mixed(void **state) { stress_run(ST_EVENT, cfg_mixed, 4); }
static void stress_cond_ring2(void **state) { stress_run(ST_COND, cfg_ring2, 2); }
static void stress_cond_mixed(void **state) { stress_run(ST_COND, cfg_mixed, 4); }

/* A manual-reset event set by a plain thread releases every waiter on every
 * loop, round after round. */
typedef struct {
    th_lthread t;
    th_waiter w[16];
    as_event *e;
    th_rec *rec;
    th_counter *cnt;
    int bad;
} mb_loop;

static void mb_cb(th_waiter *tw, int status)
{
    th_counter_add(tw->user, 1);
}

static void mb_arm(void *arg)
{
    mb_loop *m = arg;
    for (int i = 0; i < 16; i++) {
        if (as_wait_pending(&m->w[i].w))
            m->bad++;
        if (th_event_wait(&m->w[i], m->e) != 0)
            m->bad++;
    }
}

static void stress_event_manual_broadcast(void **state)
{
    enum { NL = 2 };
    int rounds = th_scaled(40);
    static mb_loop ml[NL];
    static th_rec rec;
    th_counter cnt;
    th_counter_init(&cnt);
    th_rec_init(&rec);
    as_event e;
    th_event_make(&e, AS_EVENT_MANUAL_RESET);
    for (int i = 0; i < NL; i++) {
        th_lthread_start(&ml[i].t, TH_RING, NULL);
        ml[i].e = &e;
        ml[i].bad = 0;
        for (int j = 0; j < 16; j++) {
            th_waiter_init(&ml[i].w[j], rounds * NL * 16 <= TH_REC_MAX ? &rec : NULL, &ml[i].t.L,
                           i * 100 + j);
            ml[i].w[j].on_cb = mb_cb;
            ml[i].w[j].user = &cnt;
        }
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < NL; i++)
            th_lthread_call(&ml[i].t, mb_arm, &ml[i]);
        plain_arg pa = { .p = P_EVENT, .e = &e };
        run_plain(&pa);
        long long want = (long long)(r + 1) * NL * 16;
        if (!th_counter_wait_ge(&cnt, want, TH_TIMEOUT))
            th_fail("round %d: %lld of %lld waiters woken by a manual-reset set", r,
                    th_counter_get(&cnt), want);
        TH_RC(as_event_reset(&e), 0);
        TH_EQ(th_counter_get(&cnt), want);
    }
    for (int i = 0; i < NL; i++) {
        TH_RC(th_lthread_stop(&ml[i].t), 0);
        TH_EQ(ml[i].bad, 0);
    }
    th_rec_assert_clean(&rec);
    TH_RC(as_event_destroy(&e), 0);
    th_counter_destroy(&cnt);
}

/* =========================================================================
 * Cancel racing with a wake from another thread
 * ========================================================================= */

typedef struct race race;
typedef struct {
    as_wait w;
    race *x;
    atomic_int calls;
    atomic_int status;
} race_w;

struct race {
    enum prim p;
    unsigned mflags;
    as_sem s;
    as_mutex m;
    as_cond c;
    as_event e;
    th_lthread lt; /* the waiters' loop */
    th_lthread rl; /* the releaser's loop (loop_releaser) */
    bool loop_releaser;
    th_barrier bar;
    race_w A, B;
    th_counter done;
    atomic_int errors;
    char msg[256];
    long a_won, b_won; /* loop thread only */
    int round;
};

static void race_end(race *x)
{
    int a = atomic_load(&x->A.status), b = atomic_load(&x->B.status);
    if ((a == 0) + (b == 0) != 1 || (a != 0 && a != -ECANCELED) || (b != 0 && b != -ECANCELED))
        ST_ERR(x, "round %d: A %s, B %s: exactly one must get the wake", x->round,
               th_errname(a), th_errname(b));
    if (a == 0)
        x->a_won++;
    else
        x->b_won++;

    switch (x->p) {
    case P_SEM:
        if (as_sem_value(&x->s) != 0)
            ST_ERR(x, "round %d: sem value %lld, expected 0", x->round,
                   (long long)as_sem_value(&x->s));
        break;
    case P_MUTEX:
        if (as_mutex_try_lock(&x->m) != 0)
            ST_ERR(x, "round %d: the winner does not hold the mutex", x->round);
        break;
    case P_COND:
        if (as_mutex_try_lock(&x->m) != 1)
            ST_ERR(x, "round %d: mutex not free at the end of the round", x->round);
        else
            as_mutex_unlock(&x->m);
        break;
    case P_EVENT:
        if (as_event_is_set(&x->e) != 0)
            ST_ERR(x, "round %d: event still set: the wake was lost", x->round);
        break;
    }
    th_counter_add(&x->done, 1);
}

static void race_cb(as_wait *w, int status, void *arg)
{
    race_w *rw = arg;
    race *x = rw->x;
    if (atomic_fetch_add(&rw->calls, 1) != 0)
        ST_ERR(x, "round %d: second callback for %s", x->round, rw == &x->A ? "A" : "B");
    atomic_store(&rw->status, status);
    if (x->lt.L.after_silent_sleep)
        fprintf(stderr, "    %s race round %d: callback %s (status %s) was ready although the "
                "loop slept 1 s without a CQE; A: %d cb, B: %d cb\n",
                prim_name[x->p], x->round, rw == &x->A ? "A" : "B", th_errname(status),
                atomic_load(&x->A.calls), atomic_load(&x->B.calls));
    bool held_expected = x->p == P_COND || (x->p == P_MUTEX && status == 0);
    if (held_expected && as_mutex_try_lock(&x->m) != 0)
        ST_ERR(x, "round %d: %s callback (status %s) without the mutex", x->round,
               rw == &x->A ? "A" : "B", th_errname(status));
    if (rw == &x->A && status == 0) {
        int c = as_cancel(&x->B.w); /* B must still be pending */
        if (c != 0)
            ST_ERR(x, "round %d: A won but cancelling B returned %s", x->round, th_errname(c));
    }
    if (x->p == P_COND)
        as_mutex_unlock(&x->m);
    if (atomic_load(&x->A.calls) && atomic_load(&x->B.calls))
        race_end(x);
}

/* Busy-spin a few hundred ns (varies per round) to sweep the race window. */
static void race_jitter(unsigned r, unsigned salt)
{
    unsigned n = ((r ^ salt) * 2654435761u) >> 26; /* 0..63 */
    for (volatile unsigned i = 0; i < n * 8; i++)
        ;
}

static void race_arm(void *arg)
{
    race *x = arg;
    as_loop *l = &x->lt.L.loop;
    int ra = -1, rb = -1;
    atomic_store(&x->A.calls, 0);
    atomic_store(&x->B.calls, 0);
    atomic_store(&x->A.status, 1);
    atomic_store(&x->B.status, 1);
    switch (x->p) {
    case P_SEM:
        ra = as_sem_acquire_async(&x->s, l, &x->A.w, 1, race_cb, &x->A);
        rb = as_sem_acquire_async(&x->s, l, &x->B.w, 1, race_cb, &x->B);
        break;
    case P_MUTEX:
        ra = as_mutex_lock_async(&x->m, l, &x->A.w, race_cb, &x->A);
        rb = as_mutex_lock_async(&x->m, l, &x->B.w, race_cb, &x->B);
        break;
    case P_COND:
        if (as_mutex_try_lock(&x->m) != 1)
            ST_ERR(x, "round %d: mutex not free", x->round);
        ra = as_cond_wait_async(&x->c, &x->m, l, &x->A.w, race_cb, &x->A);
        if (as_mutex_try_lock(&x->m) != 1)
            ST_ERR(x, "round %d: mutex not released by wait_async", x->round);
        rb = as_cond_wait_async(&x->c, &x->m, l, &x->B.w, race_cb, &x->B);
        break;
    case P_EVENT:
        ra = as_event_wait_async(&x->e, l, &x->A.w, race_cb, &x->A);
        rb = as_event_wait_async(&x->e, l, &x->B.w, race_cb, &x->B);
        break;
    }
    if (ra != 0 || rb != 0)
        ST_ERR(x, "round %d: arming returned %s / %s, expected 0 / 0", x->round, th_errname(ra),
               th_errname(rb));
    th_barrier_wait(&x->bar);
    race_jitter((unsigned)x->round, 0x9e3779b9u);
    int c = as_cancel(&x->A.w);
    if (c != 0)
        ST_ERR(x, "round %d: as_cancel(A) returned %s, expected 0 (A had no callback yet)",
               x->round, th_errname(c));
}

static int race_wake(race *x)
{
    switch (x->p) {
    case P_SEM: return as_sem_release(&x->s, 1);
    case P_MUTEX: return as_mutex_unlock(&x->m);
    case P_COND: return as_cond_signal(&x->c);
    case P_EVENT: return as_event_set(&x->e);
    }
    return -EINVAL;
}

static void race_release_job(void *arg)
{
    race *x = arg;
    th_barrier_wait(&x->bar);
    race_jitter((unsigned)x->round, 0x51ed2705u);
    int r = race_wake(x);
    if (r != 0)
        ST_ERR(x, "round %d: wake returned %s", x->round, th_errname(r));
}

static void race_run(enum prim p, unsigned mflags, bool loop_releaser)
{
    race *x = th_zalloc(sizeof *x);
    x->p = p;
    x->loop_releaser = loop_releaser;
    x->A.x = x->B.x = x;
    th_counter_init(&x->done);
    th_barrier_init(&x->bar, 2);
    th_sem_make(&x->s, 0);
    th_mutex_make(&x->m, mflags);
    th_cond_make(&x->c);
    th_event_make(&x->e, 0);
    if (p == P_MUTEX)
        TH_RC(as_mutex_try_lock(&x->m), 1); /* invariant: held between rounds */
    th_lthread_start(&x->lt, TH_RING, NULL);
    if (loop_releaser)
        th_lthread_start(&x->rl, TH_RING, NULL);
    int rounds = th_scaled(600);
    th_job ja, jr;
    for (int r = 0; r < rounds; r++) {
        x->round = r; /* read by the loop threads only after the post below */
        th_lthread_post(&x->lt, &ja, race_arm, x);
        if (loop_releaser) {
            th_lthread_post(&x->rl, &jr, race_release_job, x);
        } else {
            th_barrier_wait(&x->bar);
            race_jitter((unsigned)r, 0x51ed2705u);
            int w = race_wake(x);
            if (w != 0)
                th_fail("round %d: wake returned %s", r, th_errname(w));
        }
        if (!th_counter_wait_ge(&x->done, r + 1, TH_TIMEOUT))
            th_fail("%s race, round %d: A: %d callback(s) status %s, B: %d callback(s) status "
                    "%s; errors %d (%s): a wake was swallowed or a callback never ran",
                    prim_name[p], r, atomic_load(&x->A.calls),
                    th_errname(atomic_load(&x->A.status)), atomic_load(&x->B.calls),
                    th_errname(atomic_load(&x->B.status)), atomic_load(&x->errors), x->msg);
        th_lthread_wait_job(&x->lt, &ja);
        if (loop_releaser)
            th_lthread_wait_job(&x->rl, &jr);
        if (atomic_load(&x->errors))
            break;
    }
    TH_RC(th_lthread_stop(&x->lt), 0);
    if (loop_releaser)
        TH_RC(th_lthread_stop(&x->rl), 0);
    if (atomic_load(&x->errors))
        th_fail("%s race: %d errors, first: %s", prim_name[p], atomic_load(&x->errors), x->msg);
    TH_EQ(th_counter_get(&x->done), rounds);
    print_message("    %s race (%s releaser): %d rounds, cancelled waiter won %ld, other won %ld\n",
                  prim_name[p], loop_releaser ? "loop" : "plain", rounds, x->a_won, x->b_won);
    switch (p) {
    case P_SEM:
        TH_EQ(as_sem_value(&x->s), 0); /* permits conserved: each release consumed once */
        break;
    case P_MUTEX:
        TH_RC(as_mutex_unlock(&x->m), 0);
        TH_RC(as_mutex_try_lock(&x->m), 1);
        TH_RC(as_mutex_unlock(&x->m), 0);
        break;
    case P_COND:
        TH_RC(as_mutex_try_lock(&x->m), 1);
        TH_RC(as_mutex_unlock(&x->m), 0);
        break;
    case P_EVENT:
        TH_RC(as_event_is_set(&x->e), 0);
        break;
    }
    TH_RC(as_sem_destroy(&x->s), 0);
    TH_RC(as_mutex_destroy(&x->m), 0);
    TH_RC(as_cond_destroy(&x->c), 0);
    TH_RC(as_event_destroy(&x->e), 0);
    th_counter_destroy(&x->done);
    free(x);
}

static void race_sem_plain(void **state) { race_run(P_SEM, 0, false); }
static void race_sem_loop(void **state) { race_run(P_SEM, 0, true); }
static void race_mutex_plain(void **state) { race_run(P_MUTEX, 0, false); }
static void race_mutex_loop(void **state) { race_run(P_MUTEX, 0, true); }
static void race_mutex_strict_plain(void **state) { race_run(P_MUTEX, AS_MUTEX_STRICT_FIFO, false); }
static void race_mutex_strict_loop(void **state) { race_run(P_MUTEX, AS_MUTEX_STRICT_FIFO, true); }
static void race_cond_plain(void **state) { race_run(P_COND, 0, false); }
static void race_cond_loop(void **state) { race_run(P_COND, 0, true); }
static void race_event_plain(void **state) { race_run(P_EVENT, 0, false); }
static void race_event_loop(void **state) { race_run(P_EVENT, 0, true); }

int main(void)
{
    atomic_store(&th_abort_on_fail, true);
    const struct CMUnitTest tests[] = {
        /* first, while this process has never created a thread */
        cmocka_unit_test(fork_thread_created_after_arm),
        cmocka_unit_test(fork_thread_created_before_arm),
        cmocka_unit_test(fork_releaser_runs_a_loop),
        TH_TEST(plain_release_sem),
        TH_TEST(plain_unlock_mutex),
        TH_TEST(plain_set_event),
        TH_TEST(plain_signal_cond),
        TH_TEST(plain_many_releasers),
        TH_TEST(destroy_in_callback_after_remote_wake),
        cmocka_unit_test(mutex_barging_default),
        cmocka_unit_test(mutex_barging_strict),
        cmocka_unit_test(mutex_blocking_one_retry),
        cmocka_unit_test(sem_blocking_one_retry),
        cmocka_unit_test(stress_sem_ring2),
        cmocka_unit_test(stress_sem_mixed),
        cmocka_unit_test(stress_mutex_ring2),
        cmocka_unit_test(stress_mutex_mixed),
        cmocka_unit_test(stress_mutex_strict_ring2),
        cmocka_unit_test(stress_mutex_strict_mixed),
        cmocka_unit_test(stress_event_ring2),
        cmocka_unit_test(stress_event_mixed),
        cmocka_unit_test(stress_cond_ring2),
        cmocka_unit_test(stress_cond_mixed),
        cmocka_unit_test(stress_event_manual_broadcast),
        cmocka_unit_test(race_sem_plain),
        cmocka_unit_test(race_sem_loop),
        cmocka_unit_test(race_mutex_plain),
        cmocka_unit_test(race_mutex_loop),
        cmocka_unit_test(race_mutex_strict_plain),
        cmocka_unit_test(race_mutex_strict_loop),
        cmocka_unit_test(race_cond_plain),
        cmocka_unit_test(race_cond_loop),
        cmocka_unit_test(race_event_plain),
        cmocka_unit_test(race_event_loop),
    };
    return TH_MAIN("threads", tests);
}
