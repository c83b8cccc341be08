/* A loop's cohort on a process-shared mutex (src/cohort_ps.c, docs/pshared.md
 * 6.4): one test per invariant K1-K7, each of which fails when the
 * invariant is broken.  One process: the mutex lives in a MAP_SHARED
 * mapping and is AS_PSHARED, a ring loop on the test's thread, other
 * threads of the process as the "other side" (the cross-process cases run
 * in test_pshared with the cohort on and off). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static as_mutex *g_m;
static th_loop g_L;
static th_rec g_rec;

static int setup(void **state)
{
    (void)state;
    if (!th_kernel_has_futex_ops() ||
        (th_env_backend() && strcmp(th_env_backend(), "uring") != 0))
        return 0; /* each test skips */
    setenv("ASYNCSYNC_PS_COHORT", "1", 1);
    g_m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(g_m != MAP_FAILED);
    TH_RC(as_mutex_init(g_m, AS_PSHARED | AS_PSHARED_SLOTS(8)), 0);
    th_loop_setup(&g_L, TH_RING, NULL);
    th_rec_init(&g_rec);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!g_m)
        return 0;
    th_rec_assert_clean(&g_rec);
    th_loop_destroy(&g_L);
    TH_RC(as_mutex_destroy(g_m), 0); /* K6: no slot left behind */
    munmap(g_m, 4096);
    g_m = NULL;
    return 0;
}

#define NEED() do { if (!g_m) skip(); } while (0)

/* ---- another thread's view of the lock ---- */

static void *try_thread(void *arg)
{
    int r = as_mutex_try_lock(arg);
    if (r == 1)
        r = as_mutex_unlock(arg) == 0 ? 1 : -100;
    return (void *)(intptr_t)r;
}

/* Records as_mutex_waiters in the callback: in the callback of the wait
 * that left lq empty (a cancel, a deadline, a local hand-off of lq's last
 * task), the loop's slot is gone already (K6). */
static void waiters_in_cb(th_waiter *tw, int status)
{
    (void)status;
    tw->user_n = (long)as_mutex_waiters(g_m);
}

/* A thread of the test, joined while the loop runs (its lock may need the
 * loop: a wait of the loop woken to retry passes the wake on only when the
 * loop runs it). */
struct th_job_t {
    pthread_t t;
    void *(*fn)(void *);
    void *arg;
    void *rc;
    atomic_int done;
};

static void *job_main(void *p)
{
    struct th_job_t *j = p;
    j->rc = j->fn(j->arg);
    atomic_store(&j->done, 1);
    return NULL;
}

static void job_start(struct th_job_t *j, void *(*fn)(void *), void *arg)
{
    j->fn = fn;
    j->arg = arg;
    atomic_store(&j->done, 0);
    th_thread_start(&j->t, job_main, j);
}

static bool job_done(void *p)
{
    return atomic_load(&((struct th_job_t *)p)->done) != 0;
}

static int job_join(struct th_job_t *j)
{
    th_run_until(&g_L, job_done, j, TH_TIMEOUT);
    assert_int_equal(pthread_join(j->t, NULL), 0);
    return (int)(intptr_t)j->rc;
}

/* 1: another thread could take (and gave back) the lock; 0: held. */
static int try_from_thread(void)
{
    pthread_t t;
    void *rc;
    th_thread_start(&t, try_thread, g_m);
    assert_int_equal(pthread_join(t, &rc), 0);
    return (int)(intptr_t)rc;
}

/* K3: an unlock on the loop's thread inside as_loop_run keeps the lock in
 * the loop (another thread finds it held) and as_loop_run gives it back
 * before it returns; an unlock between two runs (the application's code,
 * which may exit or stop running the loop) frees the word at once. */
static int g_seen;

static void unlock_and_look(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    TH_RC(status, 0);
    TH_RC(as_mutex_unlock(g_m), 0);
    g_seen = try_from_thread();
}

static bool seen_set(void *arg)
{
    (void)arg;
    return g_seen >= 0;
}

static void coh_holdover_ends(void **state)
{
    (void)state;
    NEED();
    as_wait w = {0};
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, th_cb, NULL), 1);
    TH_RC(as_mutex_unlock(g_m), 0);   /* outside as_loop_run: the word */
    TH_EQ(try_from_thread(), 1);
    TH_RC(as_mutex_try_lock(g_m), 1);
    g_seen = -1;
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, unlock_and_look, NULL), 0);
    th_mutex_unlock_from_thread(g_m); /* to the loop's delegate */
    th_run_until(&g_L, seen_set, NULL, TH_TIMEOUT);
    TH_EQ(g_seen, 0);                 /* held over inside the run */
    TH_EQ(try_from_thread(), 1);      /* given back at its end */
}

/* K5 and the local hand-off: the loop's waiting tasks are one slot in the
 * shared queue and get the lock in arrival order, each from the unlock
 * before it; an older waiter of another thread (its slot queued first)
 * waits for the loop's turn to end (as_loop_run's give-back, K3). */
static void *block_thread(void *arg)
{
    int r = as_mutex_lock_blocking(arg, AS_NO_DEADLINE);
    if (r == 0)
        r = as_mutex_unlock(arg);
    return (void *)(intptr_t)r;
}

static void coh_local_fifo(void **state)
{
    (void)state;
    NEED();
    th_waiter tw[4];
    struct th_job_t j;
    for (int i = 0; i < 4; i++)
        th_waiter_init(&tw[i], &g_rec, &g_L, i);
    TH_RC(th_mutex_lock(&tw[0], g_m, false), 1);
    for (int i = 1; i < 4; i++)
        TH_RC(th_mutex_lock(&tw[i], g_m, true), 0); /* unlock in the callback */
    TH_EQ(as_mutex_waiters(g_m), 1); /* the delegate's slot */
    job_start(&j, block_thread, g_m);
    double end = th_now() + TH_TIMEOUT;
    while (as_mutex_waiters(g_m) != 2) {
        assert_true(th_now() < end);
        sched_yield();
    }
    tw[3].on_cb = waiters_in_cb;
    TH_RC(as_mutex_unlock(g_m), 0); /* to tw[1], then tw[2], tw[3] */
    th_rec_wait(&g_L, &g_rec, 3);
    th_rec_assert_ids(&g_rec, 1, 2, 3);
    TH_EQ(tw[3].user_n, 1); /* K6: lq's last task: the thread's slot only */
    for (int i = 1; i < 4; i++)
        TH_RC(th_rec_status_of(&g_rec, i), 0);
    TH_RC(job_join(&j), 0);
    th_rec_reset(&g_rec);
}

/* K1: an unlock from another thread (no cohort there: the word) reaches
 * the loop's queued task through the delegate's slot.  K5: a task of the
 * loop that asks while the word is free and lq is not empty queues behind
 * lq (it does not take the word).  K2: an unlock on the loop's thread of
 * a lock that is not held (the hold the record remembers was ended by the
 * other thread) is refused, and hands nothing to lq. */
static void coh_foreign_unlock(void **state)
{
    (void)state;
    NEED();
    th_waiter tw[4];
    for (int i = 0; i < 4; i++)
        th_waiter_init(&tw[i], &g_rec, &g_L, i);
    TH_RC(th_mutex_lock(&tw[0], g_m, false), 1);
    TH_RC(th_mutex_lock(&tw[1], g_m, false), 0);
    th_mutex_unlock_from_thread(g_m); /* the word is free, lq's head woken */
    TH_RC(th_mutex_lock(&tw[2], g_m, false), 0); /* K5: behind tw[1] */
    TH_RC(as_mutex_unlock(g_m), -EPERM);         /* K2 */
    TH_RC(th_mutex_lock(&tw[3], g_m, true), 0);
    th_rec_wait_woken(&g_L, &g_rec, 1);
    th_rec_assert_ids(&g_rec, 1);
    TH_EQ(try_from_thread(), 0); /* tw[1] holds it */
    th_mutex_unlock_from_thread(g_m); /* again from another thread */
    th_rec_wait_woken(&g_L, &g_rec, 2);
    th_rec_assert_ids(&g_rec, 1, 2);
    th_mutex_unlock_from_thread(g_m);
    th_rec_wait_woken(&g_L, &g_rec, 3);
    th_rec_assert_ids(&g_rec, 1, 2, 3);
    th_loop_run(&g_L);
    TH_EQ(try_from_thread(), 1);
    th_rec_reset(&g_rec);
}

/* K4: a loop whose tasks take the lock from each other without end (each
 * callback unlocks and locks again) lets a waiting thread in: the budget
 * sends an unlock to the word, and the loop's next lock queues behind lq
 * (K5) instead of taking the free word.  Without the budget the loop's
 * tasks never let go (ROUNDS_MAX is reached). */
#define ROUNDS_MAX 4000000L
static atomic_int g_got;
static long g_rounds;

struct task {
    as_wait w;
    bool stop;
};

static void task_cb(as_wait *w, int status, void *arg);

static void task_lock(struct task *t)
{
    int r = as_mutex_lock_async(g_m, &g_L.loop, &t->w, task_cb, t);
    if (r == 1)
        task_cb(&t->w, 0, t);
    else
        TH_RC(r, 0);
}

static void task_cb(as_wait *w, int status, void *arg)
{
    struct task *t = arg;
    (void)w;
    TH_RC(status, 0);
    g_rounds++;
    TH_RC(as_mutex_unlock(g_m), 0);
    if (atomic_load(&g_got) || g_rounds >= ROUNDS_MAX)
        t->stop = true;
    else
        task_lock(t);
}

static void *got_thread(void *arg)
{
    int r = as_mutex_lock_blocking(arg, AS_NO_DEADLINE);
    if (r == 0) {
        atomic_store(&g_got, 1);
        r = as_mutex_unlock(arg);
    }
    return (void *)(intptr_t)r;
}

static void coh_budget_lets_in(void **state)
{
    (void)state;
    NEED();
    struct task tk[3] = {0};
    struct th_job_t j;
    g_rounds = 0;
    atomic_store(&g_got, 0);
    /* tk[0] holds; the thread queues; tk[1], tk[2] queue in lq */
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &tk[0].w, task_cb, &tk[0]), 1);
    job_start(&j, got_thread, g_m);
    double end = th_now() + TH_TIMEOUT;
    while (as_mutex_waiters(g_m) != 1) {
        assert_true(th_now() < end);
        sched_yield();
    }
    task_lock(&tk[1]);
    task_lock(&tk[2]);
    /* tk[0]'s "callback": unlock and lock again, then the loop runs the
     * chain of hand-offs */
    task_cb(&tk[0].w, 0, &tk[0]);
    while (!(tk[0].stop && tk[1].stop && tk[2].stop)) {
        if (th_now() > end)
            fail_msg("rounds %ld got %d stop %d%d%d waiters %lld pending %d%d%d",
                     g_rounds, atomic_load(&g_got), tk[0].stop, tk[1].stop,
                     tk[2].stop, (long long)as_mutex_waiters(g_m),
                     as_wait_pending(&tk[0].w), as_wait_pending(&tk[1].w),
                     as_wait_pending(&tk[2].w));
        th_pump(&g_L);
        if (!(tk[0].stop && tk[1].stop && tk[2].stop))
            th_loop_wait(&g_L, 10);
    }
    TH_RC(job_join(&j), 0);
    assert_true(atomic_load(&g_got));
    assert_true(g_rounds < ROUNDS_MAX);
    th_pump(&g_L);
}

/* K6 and cancels: a queued task cancelled (from another thread) or timed
 * out leaves lq; with lq empty and the lock not held in the loop, the
 * delegate's slot is given up, so the mutex can be destroyed and the
 * loop torn down (teardown: the harness's teardown checks both). */
static void *cancel_thread(void *arg)
{
    return (void *)(intptr_t)as_cancel(arg);
}

static bool no_waiters(void *arg)
{
    (void)arg;
    return as_mutex_waiters(g_m) == 0;
}

static void coh_cancel_deadline(void **state)
{
    (void)state;
    NEED();
    th_waiter tw[3];
    pthread_t t;
    void *rc;
    for (int i = 0; i < 3; i++)
        th_waiter_init(&tw[i], &g_rec, &g_L, i);
    /* held outside the cohort (a blocking lock): the loop's tasks queue */
    TH_RC(as_mutex_lock_blocking(g_m, AS_NO_DEADLINE), 0);
    TH_RC(th_armed(&tw[1], as_mutex_lock_until(g_m, &g_L.loop, &tw[1].w,
                                               as_now_ns() + 20000000u, th_cb, &tw[1]),
                   TH_HELD_IF_OK, g_m, false), 0);
    TH_RC(th_mutex_lock(&tw[2], g_m, false), 0);
    TH_EQ(as_mutex_waiters(g_m), 1);
    tw[1].on_cb = tw[2].on_cb = waiters_in_cb;
    tw[1].user_n = tw[2].user_n = -1;
    th_thread_start(&t, cancel_thread, &tw[2].w);
    assert_int_equal(pthread_join(t, &rc), 0);
    TH_RC((int)(intptr_t)rc, 0);
    th_rec_wait(&g_L, &g_rec, 2);
    TH_RC(th_rec_status_of(&g_rec, 2), -ECANCELED);
    TH_RC(th_rec_status_of(&g_rec, 1), -ETIMEDOUT);
    /* K6: nobody of the loop waits: its slot was given up while the lock
     * is still held elsewhere, before the last task's callback ran */
    TH_EQ(tw[1].user_n, 0); /* tw[1] left last (tw[2] was cancelled first) */
    th_run_until(&g_L, no_waiters, NULL, TH_TIMEOUT);
    TH_EQ(as_mutex_destroy(g_m), -EBUSY); /* held */
    TH_RC(as_mutex_unlock(g_m), 0);
    th_loop_run(&g_L);
    TH_EQ(try_from_thread(), 1);
    th_rec_reset(&g_rec);
}

/* K3, K6 at teardown: as_loop_destroy gives a held-over lock back, and
 * ends a delegate left in the shared queue (its callback run by the
 * destroy itself, after the CQE of its kernel wait). */
static void coh_destroy(void **state)
{
    (void)state;
    NEED();
    as_wait w = {0};
    th_waiter tw;
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, th_cb, NULL), 1);
    TH_RC(as_mutex_unlock(g_m), 0); /* held over, no as_loop_run */
    th_loop_destroy(&g_L);
    TH_EQ(try_from_thread(), 1);
    /* a delegate queued behind a lock held elsewhere, its task cancelled
     * on the loop's thread: the loop is destroyed without running again */
    th_loop_setup(&g_L, TH_RING, NULL);
    th_waiter_init(&tw, &g_rec, &g_L, 0);
    TH_RC(as_mutex_lock_blocking(g_m, AS_NO_DEADLINE), 0);
    TH_RC(th_mutex_lock(&tw, g_m, false), 0);
    TH_EQ(as_mutex_waiters(g_m), 1);
    TH_RC(as_cancel(&tw.w), 0);
    th_rec_wait(&g_L, &g_rec, 1);
    TH_RC(th_rec_status_of(&g_rec, 0), -ECANCELED);
    th_loop_destroy(&g_L);
    TH_EQ(as_mutex_waiters(g_m), 0);
    TH_RC(as_mutex_unlock(g_m), 0);
    th_rec_reset(&g_rec);
}

/* Close: the loop's queued tasks end -ESHUTDOWN (through the delegate's
 * status); the holder's unlock still works; a later lock is refused. */
static void *close_thread(void *arg)
{
    return (void *)(intptr_t)as_mutex_close(arg);
}

static void coh_close(void **state)
{
    (void)state;
    NEED();
    th_waiter tw[3];
    pthread_t t;
    void *rc;
    as_wait w = {0};
    for (int i = 0; i < 3; i++)
        th_waiter_init(&tw[i], &g_rec, &g_L, i);
    TH_RC(th_mutex_lock(&tw[0], g_m, false), 1);
    TH_RC(th_mutex_lock(&tw[1], g_m, false), 0);
    TH_RC(th_mutex_lock(&tw[2], g_m, false), 0);
    th_thread_start(&t, close_thread, g_m);
    assert_int_equal(pthread_join(t, &rc), 0);
    TH_RC((int)(intptr_t)rc, 0);
    th_rec_wait_woken(&g_L, &g_rec, 2);
    th_rec_assert_ids(&g_rec, 1, 2);
    TH_RC(th_rec_status_of(&g_rec, 1), -ESHUTDOWN);
    TH_RC(th_rec_status_of(&g_rec, 2), -ESHUTDOWN);
    TH_RC(as_mutex_unlock(g_m), 0);
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, th_cb, NULL), -ESHUTDOWN);
    th_loop_run(&g_L); /* teardown: destroy finds it not held (over) */
    th_rec_reset(&g_rec);
}

/* Close while the loop holds the lock over: no lock of the loop takes it
 * any more (later locks are refused after a close), and it goes back. */
static void close_in_cb(as_wait *w, int status, void *arg)
{
    pthread_t t;
    void *rc;
    (void)arg;
    TH_RC(status, 0);
    TH_RC(as_mutex_unlock(g_m), 0); /* held over */
    th_thread_start(&t, close_thread, g_m);
    assert_int_equal(pthread_join(t, &rc), 0);
    TH_RC((int)(intptr_t)rc, 0);
    TH_RC(as_mutex_try_lock(g_m), -ESHUTDOWN);
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, w, th_cb, NULL), -ESHUTDOWN);
    TH_RC(as_mutex_lock_blocking(g_m, AS_NO_DEADLINE), -ESHUTDOWN);
    g_seen = 1;
}

static void coh_close_held_over(void **state)
{
    (void)state;
    NEED();
    as_wait w = {0};
    TH_RC(as_mutex_try_lock(g_m), 1);
    g_seen = -1;
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, close_in_cb, NULL), 0);
    th_mutex_unlock_from_thread(g_m); /* to the loop's delegate */
    th_run_until(&g_L, seen_set, NULL, TH_TIMEOUT);
    /* teardown: as_mutex_destroy finds it free */
}

/* AS_MUTEX_STRICT_FIFO has no cohort: every wait its own slot (FIFO by
 * task across the processes). */
static void coh_not_strict(void **state)
{
    (void)state;
    NEED();
    as_mutex *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    th_waiter tw[3];
    assert_true(m != MAP_FAILED);
    TH_RC(as_mutex_init(m, AS_PSHARED | AS_PSHARED_SLOTS(4) | AS_MUTEX_STRICT_FIFO), 0);
    for (int i = 0; i < 3; i++)
        th_waiter_init(&tw[i], &g_rec, &g_L, i);
    TH_RC(th_mutex_lock(&tw[0], m, false), 1);
    TH_RC(th_mutex_lock(&tw[1], m, true), 0);
    TH_RC(th_mutex_lock(&tw[2], m, true), 0);
    TH_EQ(as_mutex_waiters(m), 2);
    TH_RC(as_mutex_unlock(m), 0);
    th_rec_wait_woken(&g_L, &g_rec, 2);
    th_rec_assert_ids(&g_rec, 1, 2);
    th_loop_run(&g_L);
    TH_RC(as_mutex_destroy(m), 0);
    munmap(m, 4096);
    th_rec_reset(&g_rec);
}

/* AS_LOOP_ALWAYS_CALLBACK: a lock through the cohort never completes
 * inline (the take of the word, of a held-over lock); a cancel before the
 * callback passes the lock on through the cohort (X1: to lq's head).  The
 * hold-over happens inside as_loop_run: in tw[0]'s callback. */
static th_waiter *g_tw;

static void always_cb_holdover(th_waiter *tw, int status)
{
    (void)tw;
    TH_RC(status, 0);
    TH_RC(as_mutex_unlock(g_m), 0);
    TH_EQ(try_from_thread(), 0); /* held over */
    TH_RC(th_mutex_lock(&g_tw[1], g_m, false), 0); /* the held-over lock */
    TH_RC(as_cancel(&g_tw[1].w), 0);
    TH_EQ(try_from_thread(), 0); /* still this loop's */
    TH_RC(th_mutex_lock(&g_tw[2], g_m, true), 0);
}

static void coh_always_callback(void **state)
{
    (void)state;
    NEED();
    as_loop_options o = {.flags = AS_LOOP_ALWAYS_CALLBACK};
    th_loop L;
    th_waiter tw[3];
    th_loop_setup(&L, TH_RING, &o);
    for (int i = 0; i < 3; i++)
        th_waiter_init(&tw[i], &g_rec, &L, i);
    g_tw = tw;
    tw[0].on_cb = always_cb_holdover;
    TH_RC(th_mutex_lock(&tw[0], g_m, false), 0); /* the word: a callback */
    TH_EQ(try_from_thread(), 0);
    th_rec_wait(&L, &g_rec, 3);
    TH_RC(th_rec_status_of(&g_rec, 1), -ECANCELED);
    TH_RC(th_rec_status_of(&g_rec, 2), 0);
    TH_EQ(try_from_thread(), 1); /* as_loop_run gave it back */
    th_loop_destroy(&L);
    th_rec_reset(&g_rec);
}

/* K7 (sem_ps.c, 6.3 "PASSED"; pshared.pml -DPASS_LOOPS): the delegate,
 * woken to retry and finding the lock taken by a newcomer, is PASSED:
 * unlocks leave it queued and unwoken with the lock free (its slot word
 * does not move, HANDOFF stays clear), newcomers take past it; at its
 * loop's timer it takes the lock if it is free (free_at_timer), else it is
 * STARVING: HANDOFF stops newcomers and the next unlock hands it the lock.
 * Whitebox (pshared.h): the state's low word first, 48-byte header, then
 * 16-byte slots, fw and who their first two words. */
#define PS_ST(fw) ((fw) & 7u)
#define PS_WAITERS 0x80000000u
#define PS_HANDOFF 0x40000000u

static volatile uint32_t *del_slot(void)
{
    volatile uint32_t *w = (volatile uint32_t *)(void *)g_m;
    for (int i = 0; i < 11; i++)
        if (w[12 + 4 * i + 1] != 0)
            return &w[12 + 4 * i];
    return NULL;
}

static uint32_t st_word(void)
{
    return ((volatile uint32_t *)(void *)g_m)[0];
}

static bool slot_in(void *arg)
{
    const uint32_t *want = arg;
    volatile uint32_t *fw = del_slot();
    return fw && PS_ST(*fw) == *want;
}

static void *block_until_thread(void *arg)
{
    int r = as_mutex_lock_blocking(arg, as_now_ns() + 20000000u);
    if (r == 0)
        r = as_mutex_unlock(arg);
    return (void *)(intptr_t)r;
}

/* tw (id 1, unlocking in its callback) waits in lq and the loop's
 * delegate is WOKEN (not yet handled by the loop), the lock free.
 * Returns the delegate's slot word. */
static volatile uint32_t *woken_delegate(th_waiter *tw)
{
    volatile uint32_t *fw;
    th_rec_reset(&g_rec);
    th_waiter_init(tw, &g_rec, &g_L, 1);
    TH_RC(as_mutex_try_lock(g_m), 1);
    TH_RC(th_mutex_lock(tw, g_m, true), 0);  /* lq, the delegate's slot */
    assert_non_null(fw = del_slot());
    TH_EQ(PS_ST(*fw), 1u);                   /* WAITING */
    th_mutex_unlock_from_thread(g_m);        /* woken, the lock free */
    TH_EQ(PS_ST(*fw), 2u);                   /* WOKEN */
    return fw;
}

/* The same, then the delegate is PASSED; the test's thread holds the
 * lock. */
static volatile uint32_t *pass_delegate(th_waiter *tw)
{
    volatile uint32_t *fw = woken_delegate(tw);
    uint32_t passed = 7;
    TH_RC(as_mutex_try_lock(g_m), 1);        /* a newcomer */
    th_run_until(&g_L, slot_in, &passed, TH_TIMEOUT);
    TH_EQ(st_word() & (PS_WAITERS | PS_HANDOFF), PS_WAITERS);
    TH_EQ(as_mutex_waiters(g_m), 1);
    return fw;
}

static void coh_passed(void **state)
{
    (void)state;
    NEED();
    for (int free_at_timer = 0; free_at_timer <= 1; free_at_timer++) {
        th_waiter tw;
        volatile uint32_t *fw = pass_delegate(&tw);
        uint32_t seen = *fw, starving = 6;
        for (int k = 0; k < 3; k++) {
            th_mutex_unlock_from_thread(g_m);    /* nobody woken */
            TH_EQ(*fw, seen);
            TH_RC(as_mutex_try_lock(g_m), 1);    /* newcomers pass it */
        }
        TH_EQ(th_rec_count(&g_rec), 0);
        if (free_at_timer) {
            /* a thread queued behind it gives up at its deadline with the
             * lock free (the loop not run: its timer waits), and the grant
             * at its leave stops at the PASSED head (EF1'): not woken */
            pthread_t t;
            void *rc;
            double end = th_now() + TH_TIMEOUT;
            th_thread_start(&t, block_until_thread, g_m);
            while (as_mutex_waiters(g_m) != 2) {
                assert_true(th_now() < end);
                sched_yield();
            }
            th_mutex_unlock_from_thread(g_m);
            assert_int_equal(pthread_join(t, &rc), 0);
            TH_RC((int)(intptr_t)rc, -ETIMEDOUT);
            TH_EQ(*fw, seen);
            th_rec_wait(&g_L, &g_rec, 1);        /* its timer: it takes it */
            TH_RC(th_rec_status_of(&g_rec, 1), 0);
            continue;
        }
        th_run_until(&g_L, slot_in, &starving, TH_TIMEOUT); /* held */
        TH_EQ(st_word() & PS_HANDOFF, PS_HANDOFF);
        TH_EQ(try_from_thread(), 0);
        TH_EQ(th_rec_count(&g_rec), 0);
        th_mutex_unlock_from_thread(g_m);        /* handed to it */
        TH_EQ(try_from_thread(), 0);
        th_rec_wait(&g_L, &g_rec, 1);
        TH_RC(th_rec_status_of(&g_rec, 1), 0);
    }
    th_loop_run(&g_L);                           /* K3: given back */
    TH_EQ(try_from_thread(), 1);
    th_rec_reset(&g_rec);
}

/* K7's busy hint (sem_ps.c 6.3): a delegate woken to retry goes back
 * PASSED even with the lock free when other loops took the word
 * AS__PS_BUSY (4) times since the wake; fewer, or takes made before the
 * wake (the wake zeroes the count), and its retry takes the free lock.
 * The other loop is L2 (a second loop of this thread: its cohort takes
 * the word, and the unlock, outside any run, frees it). */
static as_loop *g_busy_loop;

static void never_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)status, (void)arg;
    fail_msg("a lock of a free word completed through a callback");
}

static void take_free_word(int n)
{
    for (int i = 0; i < n; i++) {
        as_wait w;
        TH_RC(as_mutex_lock_async(g_m, g_busy_loop, &w, never_cb, NULL), 1);
        TH_RC(as_mutex_unlock(g_m), 0);
    }
}

static bool passed_or_called(void *arg)
{
    uint32_t passed = 7;
    (void)arg;
    return th_rec_count(&g_rec) == 1 || slot_in(&passed);
}

static void coh_busy_hint(void **state)
{
    (void)state;
    NEED();
    th_loop L2;
    th_loop_setup(&L2, TH_RING, NULL);
    g_busy_loop = &L2.loop;
    /* before: takes made before the wake; 3 or 4: takes after it */
    static const struct { int before, after; bool passed; } c[] = {
        {0, 4, true}, {0, 3, false}, {4, 0, false}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        th_waiter tw;
        take_free_word(c[k].before);
        (void)woken_delegate(&tw);
        take_free_word(c[k].after);
        th_run_until(&g_L, passed_or_called, NULL, TH_TIMEOUT);
        if (c[k].passed) {
            /* PASSED on a free lock: newcomers take, nothing is woken */
            TH_EQ(th_rec_count(&g_rec), 0);
            TH_EQ(st_word() & (PS_WAITERS | PS_HANDOFF), PS_WAITERS);
            TH_EQ(try_from_thread(), 1);
            /* its timer: the lock is free, it takes it */
            th_rec_wait(&g_L, &g_rec, 1);
        }
        TH_RC(th_rec_status_of(&g_rec, 1), 0);
        th_loop_run(&g_L);                       /* K3: given back */
        TH_EQ(try_from_thread(), 1);
    }
    th_loop_destroy(&L2);
    th_rec_reset(&g_rec);
}

/* A PASSED delegate leaves the shared queue like a waiting one: when its
 * loop's last task is cancelled (K6 cancels the delegate's slot: PASSED ->
 * CANCELLED, the slot freed at its completion), and when the mutex is
 * closed (its task told -ESHUTDOWN). */
static void coh_passed_leaves(void **state)
{
    (void)state;
    NEED();
    th_waiter tw;
    pthread_t t;
    void *rc;
    (void)pass_delegate(&tw);
    TH_RC(as_cancel(&tw.w), 0);
    th_rec_wait(&g_L, &g_rec, 1);
    TH_RC(th_rec_status_of(&g_rec, 1), -ECANCELED);
    th_run_until(&g_L, no_waiters, NULL, TH_TIMEOUT);
    TH_EQ(del_slot() == NULL, 1);              /* the slot is free */
    TH_RC(as_mutex_unlock(g_m), 0);
    (void)pass_delegate(&tw);
    th_thread_start(&t, close_thread, g_m);
    assert_int_equal(pthread_join(t, &rc), 0);
    TH_RC((int)(intptr_t)rc, 0);
    th_rec_wait(&g_L, &g_rec, 1);
    TH_RC(th_rec_status_of(&g_rec, 1), -ESHUTDOWN);
    th_run_until(&g_L, no_waiters, NULL, TH_TIMEOUT);
    TH_RC(as_mutex_unlock(g_m), 0);
    th_rec_reset(&g_rec);
}

/* More mutexes than a loop has records (AS__COHORTS = 4): the ones beyond
 * are waited for as without the cohort, a slot per wait. */
static void coh_records_exhausted(void **state)
{
    (void)state;
    NEED();
    enum { N = 5 };
    as_mutex *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    th_waiter tw[N][2];
    assert_true(m != MAP_FAILED);
    for (int k = 0; k < N; k++) {
        as_mutex *mk = (as_mutex *)(void *)((char *)m + 512 * k);
        TH_RC(as_mutex_init(mk, AS_PSHARED | AS_PSHARED_SLOTS(4)), 0);
        TH_RC(as_mutex_lock_blocking(mk, AS_NO_DEADLINE), 0); /* held outside */
        for (int i = 0; i < 2; i++) {
            th_waiter_init(&tw[k][i], &g_rec, &g_L, 10 * k + i);
            TH_RC(th_mutex_lock(&tw[k][i], mk, true), 0);
        }
        /* four with a cohort (one delegate), the fifth a slot per wait */
        TH_EQ(as_mutex_waiters(mk), k < 4 ? 1 : 2);
    }
    for (int k = 0; k < N; k++)
        th_mutex_unlock_from_thread((as_mutex *)(void *)((char *)m + 512 * k));
    th_rec_wait_woken(&g_L, &g_rec, 2 * N);
    for (int k = 0; k < N; k++)
        for (int i = 0; i < 2; i++)
            TH_RC(th_rec_status_of(&g_rec, 10 * k + i), 0);
    th_loop_run(&g_L);
    for (int k = 0; k < N; k++)
        TH_RC(as_mutex_destroy((as_mutex *)(void *)((char *)m + 512 * k)), 0);
    munmap(m, 4096);
    th_rec_reset(&g_rec);
}

/* Across processes: XP_PROCS processes x one loop x XP_TASKS tasks, each
 * XP_ROUNDS locks (a third with a deadline of 0-200 us, which may expire);
 * a task unlocks in its callback, or holds the lock across its loop's
 * next iteration (unlocked outside as_loop_run), or has it unlocked by
 * another thread of its process (no cohort there: the word).  Checked in
 * shared memory: one holder at a time, no lost update of a counter
 * incremented under the lock, every process finishes (so no task is
 * stranded); the parent then finds the mutex free with nobody waiting. */
#define XP_PROCS 3
#define XP_TASKS 4
#define XP_ROUNDS 3000

struct xp_shared {
    as_mutex m; /* first: the mutex's layout is sized by as_mutex */
    char pad[2048 - sizeof(as_mutex)];
    atomic_int inside;
    atomic_int bad;
    long counter;          /* under the lock: load, then store */
    atomic_long locks;
    atomic_long timeouts;
    atomic_long srounds;   /* rounds ended by the survivors (kill row) */
    atomic_long vlocks;    /* locks taken by the victim (kill row) */
    atomic_long owner_dead;
};

struct xp_task {
    as_wait w;
    int left;
    bool held;             /* holds it across the next iteration */
    bool stop;
};

static struct xp_shared *xp;
static struct xp_task xp_t[XP_TASKS];
static th_loop *xp_L;
static unsigned xp_seed;
static bool xp_victim;     /* this process is killed mid-run */

static unsigned xp_rand(void)
{
    xp_seed = xp_seed * 1103515245u + 12345u;
    return xp_seed >> 8;
}

static void xp_next(struct xp_task *t);

static void *xp_unlock_thread(void *arg)
{
    return (void *)(intptr_t)as_mutex_unlock(arg);
}

static void xp_enter(void)
{
    if (atomic_exchange(&xp->inside, 1) != 0)
        atomic_fetch_add(&xp->bad, 1);
    long c = xp->counter;
    xp->counter = c + 1;
    atomic_fetch_add(&xp->locks, 1);
}

static int xp_leave_unlock(bool other_thread)
{
    atomic_store(&xp->inside, 0);
    if (!other_thread)
        return as_mutex_unlock(&xp->m);
    pthread_t th;
    void *rc;
    if (pthread_create(&th, NULL, xp_unlock_thread, &xp->m) != 0 ||
        pthread_join(th, &rc) != 0)
        return -EAGAIN;
    return (int)(intptr_t)rc;
}

static void xp_cb(as_wait *w, int status, void *arg)
{
    struct xp_task *t = arg;
    (void)w;
    if (status == -ETIMEDOUT) {
        atomic_fetch_add(&xp->timeouts, 1);
        if (!xp_victim)
            atomic_fetch_add(&xp->srounds, 1);
        xp_next(t);
        return;
    }
    if (status == -EOWNERDEAD) {
        /* the victim died holding it (robust): repair, then go on */
        atomic_store(&xp->inside, 0);
        atomic_fetch_add(&xp->owner_dead, 1);
        if (as_mutex_consistent(&xp->m) != 0)
            atomic_fetch_add(&xp->bad, 1);
        status = 0;
    }
    if (status != 0) {
        atomic_fetch_add(&xp->bad, 1);
        t->stop = true;
        return;
    }
    xp_enter();
    if (xp_victim)
        atomic_fetch_add(&xp->vlocks, 1);
    else
        atomic_fetch_add(&xp->srounds, 1);
    switch (xp_rand() % 8) {
    case 0:
        t->held = true; /* across the next iteration */
        return;
    case 1:
        if (xp_leave_unlock(true) != 0)
            atomic_fetch_add(&xp->bad, 1);
        break;
    default:
        if (xp_leave_unlock(false) != 0)
            atomic_fetch_add(&xp->bad, 1);
        break;
    }
    xp_next(t);
}

static void xp_next(struct xp_task *t)
{
    int r;
    if (t->left-- <= 0 && !xp_victim) {
        t->stop = true;
        return;
    }
    if (xp_rand() % 3 == 0)
        r = as_mutex_lock_until(&xp->m, &xp_L->loop, &t->w,
                                as_now_ns() + xp_rand() % 200000u, xp_cb, t);
    else
        r = as_mutex_lock_async(&xp->m, &xp_L->loop, &t->w, xp_cb, t);
    if (r == 1)
        xp_cb(&t->w, 0, t);
    else if (r == -ETIMEDOUT)
        xp_cb(&t->w, -ETIMEDOUT, t);
    else if (r != 0) {
        atomic_fetch_add(&xp->bad, 1);
        t->stop = true;
    }
}

static int xp_child(int k)
{
    th_loop L;
    bool all;
    xp_L = &L;
    xp_seed = 7919u * (unsigned)(k + 1);
    if (th_loop_init(&L, TH_RING, NULL) != 0)
        return 2;
    for (int i = 0; i < XP_TASKS; i++) {
        xp_t[i].left = XP_ROUNDS;
        xp_next(&xp_t[i]);
    }
    double end = th_now() + 60;
    do {
        for (int i = 0; i < XP_TASKS; i++)
            if (xp_t[i].held) {
                xp_t[i].held = false;
                if (xp_leave_unlock(false) != 0)
                    atomic_fetch_add(&xp->bad, 1);
                xp_next(&xp_t[i]);
            }
        th_pump(&L);
        all = true;
        for (int i = 0; i < XP_TASKS; i++)
            all = all && xp_t[i].stop && !xp_t[i].held;
        if (!all)
            (void)th_loop_wait(&L, 5);
    } while (!all && th_now() < end);
    if (!all)
        return 3;
    return th_loop_destroy_rc(&L) == 0 ? 0 : 4;
}

static void coh_xproc(void **state)
{
    (void)state;
    NEED();
    pid_t pid[XP_PROCS];
    xp_victim = false;
    xp = mmap(NULL, sizeof *xp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(xp != MAP_FAILED);
    TH_RC(as_mutex_init(&xp->m, AS_PSHARED | AS_PSHARED_SLOTS(XP_PROCS * XP_TASKS)), 0);
    for (int k = 0; k < XP_PROCS; k++) {
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0)
            _exit(xp_child(k));
    }
    for (int k = 0; k < XP_PROCS; k++) {
        int st;
        assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("process %d: status 0x%x", k, st);
    }
    TH_EQ(atomic_load(&xp->bad), 0);
    TH_EQ(xp->counter, atomic_load(&xp->locks));
    TH_EQ(atomic_load(&xp->locks) + atomic_load(&xp->timeouts),
          (long)XP_PROCS * XP_TASKS * XP_ROUNDS);
    TH_EQ(as_mutex_waiters(&xp->m), 0);
    TH_RC(as_mutex_destroy(&xp->m), 0);
    munmap(xp, sizeof *xp);
}

/* The same with a robust mutex and a fourth process, killed (SIGKILL) once
 * it has taken the lock 200 times: wherever it was (holding the lock
 * through its cohort or over, waiting in lq or in its delegate's slot),
 * the others finish all their rounds; whoever next gets a lock it died
 * holding gets -EOWNERDEAD and repairs; still one holder at a time. */
static void coh_xproc_kill(void **state)
{
    (void)state;
    NEED();
    pid_t pid[XP_PROCS + 1];
    int st;
    setenv("ASYNCSYNC_PSHARED_TICK_MS", "10", 1); /* dead holders found soon */
    xp = mmap(NULL, sizeof *xp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(xp != MAP_FAILED);
    TH_RC(as_mutex_init(&xp->m, AS_PSHARED | AS_MUTEX_ROBUST |
                                    AS_PSHARED_SLOTS((XP_PROCS + 1) * XP_TASKS)), 0);
    for (int k = 0; k <= XP_PROCS; k++) {
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            xp_victim = k == XP_PROCS;
            _exit(xp_child(k));
        }
    }
    double end = th_now() + TH_TIMEOUT;
    while (atomic_load(&xp->vlocks) < 200) {
        assert_true(th_now() < end);
        sched_yield();
    }
    assert_int_equal(kill(pid[XP_PROCS], SIGKILL), 0);
    assert_int_equal(waitpid(pid[XP_PROCS], &st, 0), pid[XP_PROCS]);
    for (int k = 0; k < XP_PROCS; k++) {
        assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("process %d: status 0x%x", k, st);
    }
    unsetenv("ASYNCSYNC_PSHARED_TICK_MS");
    TH_EQ(atomic_load(&xp->bad), 0);
    TH_EQ(atomic_load(&xp->srounds), (long)XP_PROCS * XP_TASKS * XP_ROUNDS);
    /* the victim may have died between its store and its count */
    TH_EQ(xp->counter - atomic_load(&xp->locks) <= 1, 1);
    TH_EQ(xp->counter >= atomic_load(&xp->locks), 1);
    TH_EQ(atomic_load(&xp->owner_dead) <= 1, 1);
    print_message("xproc kill: victim took %ld locks, %ld OWNER_DEAD\n",
                  atomic_load(&xp->vlocks), atomic_load(&xp->owner_dead));
    TH_EQ(as_mutex_waiters(&xp->m), 0);
    {
        int r = as_mutex_try_lock(&xp->m);
        if (r == -EOWNERDEAD) /* died holding it, nobody locked since */
            TH_RC(as_mutex_consistent(&xp->m), 0);
        else
            TH_RC(r, 1);
    }
    TH_RC(as_mutex_unlock(&xp->m), 0);
    TH_RC(as_mutex_destroy(&xp->m), 0);
    munmap(xp, sizeof *xp);
}

/* The cohort is every loop's default; AS_LOOP_PS_NO_COHORT, or
 * ASYNCSYNC_PS_COHORT=0 when the loop is initialised, turns it off: each
 * waiting task then has a slot of its own (as_mutex_waiters counts a
 * loop's cohort as one). */
static void coh_opt_out(void **state)
{
    (void)state;
    NEED();
    for (int how = 0; how < 3; how++) { /* default, the flag, the variable */
        as_loop_options o = {.flags = how == 1 ? AS_LOOP_PS_NO_COHORT : 0};
        th_loop L;
        th_waiter tw[2];
        if (how == 0)
            unsetenv("ASYNCSYNC_PS_COHORT");
        else if (how == 2)
            setenv("ASYNCSYNC_PS_COHORT", "0", 1);
        th_loop_setup(&L, TH_RING, &o);
        setenv("ASYNCSYNC_PS_COHORT", "1", 1);
        TH_RC(as_mutex_lock_blocking(g_m, AS_NO_DEADLINE), 0);
        for (int i = 0; i < 2; i++) {
            th_waiter_init(&tw[i], &g_rec, &L, i);
            TH_RC(th_mutex_lock(&tw[i], g_m, true), 0);
        }
        TH_EQ(as_mutex_waiters(g_m), how == 0 ? 1 : 2);
        th_mutex_unlock_from_thread(g_m);
        th_rec_wait(&L, &g_rec, 2);
        th_rec_assert_ids(&g_rec, 0, 1);
        th_loop_run(&L);
        TH_EQ(try_from_thread(), 1);
        th_loop_destroy(&L);
        th_rec_reset(&g_rec);
    }
}

/* K2's stale hold: a lock taken through the loop's record and unlocked on
 * a thread that does not run the loop (another thread; or the loop's own
 * thread before its first as_loop_run, when the loop is not yet this
 * thread's) leaves the record saying OWNED.  The loop's next lock, the
 * word free, takes it at once (1), not through lq and a callback. */
static void coh_stale_hold(void **state)
{
    (void)state;
    NEED();
    as_wait w = {0};
    th_loop L;
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, th_cb, NULL), 1);
    th_mutex_unlock_from_thread(g_m);
    TH_RC(as_mutex_lock_async(g_m, &g_L.loop, &w, th_cb, NULL), 1);
    TH_RC(as_mutex_unlock(g_m), 0);
    th_loop_run(&g_L);
    /* a loop never run yet: this thread's current loop is g_L */
    th_loop_setup(&L, TH_RING, NULL);
    for (int i = 0; i < 3; i++) {
        TH_RC(as_mutex_lock_async(g_m, &L.loop, &w, th_cb, NULL), 1);
        TH_RC(as_mutex_unlock(g_m), 0);
    }
    TH_EQ(try_from_thread(), 1);
    th_loop_destroy(&L);
}

#define CT(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CT(coh_holdover_ends),
        CT(coh_local_fifo),
        CT(coh_foreign_unlock),
        CT(coh_budget_lets_in),
        CT(coh_cancel_deadline),
        CT(coh_destroy),
        CT(coh_close),
        CT(coh_close_held_over),
        CT(coh_not_strict),
        CT(coh_always_callback),
        CT(coh_records_exhausted),
        CT(coh_passed),
        CT(coh_passed_leaves),
        CT(coh_busy_hint),
        CT(coh_opt_out),
        CT(coh_stale_hold),
        CT(coh_xproc),
        CT(coh_xproc_kill),
    };
    return cmocka_run_group_tests_name("cohort", tests, NULL, NULL);
}
