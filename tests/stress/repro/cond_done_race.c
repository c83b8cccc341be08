/* Reproduction: as_cancel reads a condvar waiter's fields while its DONE is
 * transient, racing with the writes of its mutex hand-off (a data race:
 * ThreadSanitizer reports it; the outcome itself is right).
 *
 * A signalled condvar waiter is DONE (status 0) when cond_take
 * (src/cond.c:147) hands it to as__mutex_acquire_for, which queues it again
 * (QUEUED) in the mutex; the unlock that hands it the mutex makes it DONE
 * again, writing w->as__status (as__q_remove, src/waitq.h:120) and, after a
 * retry, w->as__flags (src/mutex.c).  as_cancel's DONE path
 * (src/wait.c:93-96) reads kind, home, n, flags and status with plain loads
 * while the wait is in the first DONE; nothing orders those reads before
 * the hand-off's writes.  Its CAS (wait.c:97) then succeeds on the second
 * DONE (same state value: ABA within one arming), which is harmless here
 * (the same arming, the same fields), but the reads race.
 *
 * Deterministic under gdb (cond_done_race.gdb):
 *   1. main: w waits on C (M released), then main locks M again.
 *   2. signaller: as_cond_signal(C): w DONE; stopped at cond.c:147.
 *   3. canceller: as_cancel(w): reads the DONE wait's fields; stopped at
 *      wait.c:97.
 *   4. signaller: w queued in M (QUEUED); returns.
 *   5. main: as_mutex_unlock(M): direct hand-off to w (its loop is main's):
 *      as__q_remove writes w->as__status  <- ThreadSanitizer: data race
 *      with the canceller's read at wait.c:96.
 *   6. canceller: the CAS succeeds; w is called back with -ECANCELED, the
 *      mutex held.
 *
 * The stress under ThreadSanitizer reported it (strict mode, seed 1): write
 * in as__q_remove (src/waitq.h:120) from as_mutex_unlock (mutex.c:265) on
 * the plain thread, previous read in as_cancel (src/wait.c:96) on a loop
 * thread.  This program shows the interleaving, not the report: under gdb,
 * ThreadSanitizer's shadow (four accesses per 8 bytes, one evicted at
 * random) does not keep the canceller's read here.
 *
 * Exit status: 0 (the outcome is right; the defect is the unordered
 * accesses), 1 if the outcome is wrong, 2 when the interleaving was not
 * forced.
 */
#define _GNU_SOURCE
#include <asyncsync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static as_loop L;
static as_mutex M;
static as_cond C;
static as_wait w;
static int cancel_result = 99, w_status = 99, w_held = -1;
volatile int x_go, main_go; /* set by gdb */
static atomic_int s_go;     /* set by main once both threads exist */

static void notify(void *ctx) { (void)ctx; }

__attribute__((noinline)) void repro_signalled(void) { __asm__ volatile(""); }
__attribute__((noinline)) void repro_unlocked(void) { __asm__ volatile(""); }

static void on_w(as_wait *x, int status, void *arg)
{
    (void)x, (void)arg;
    w_status = status;
    w_held = as_mutex_try_lock(&M) != 1; /* held: try_lock fails */
    printf("w: callback %d, mutex held %d\n", status, w_held);
    as_mutex_unlock(&M);
}

static int spin(volatile int *flag)
{
    for (long i = 0; !*flag; i++)
        if (i > 2000000000L)
            return -1;
    return 0;
}

static int spin_atomic(atomic_int *flag)
{
    for (long i = 0; !atomic_load(flag); i++)
        if (i > 2000000000L)
            return -1;
    return 0;
}

static void *signaller(void *arg)
{
    (void)arg;
    if (spin_atomic(&s_go) < 0)
        return NULL;
    as_cond_signal(&C);
    repro_signalled();
    return NULL;
}

static void *canceller(void *arg)
{
    (void)arg;
    if (spin(&x_go) == 0)
        cancel_result = as_cancel(&w);
    return NULL;
}

int main(void)
{
    pthread_t s, x;
    as_loop_init_generic(&L, notify, NULL, NULL);
    as_mutex_init(&M, 0);
    as_cond_init(&C, 0);
    as_loop_run(&L);
    as_mutex_try_lock(&M);
    printf("w: as_cond_wait_async: %d\n",
           as_cond_wait_async(&C, &M, &L, &w, on_w, NULL));
    printf("main locks M again: %d\n", as_mutex_try_lock(&M));
    pthread_create(&x, NULL, canceller, NULL);
    pthread_setname_np(x, "canceller");
    pthread_create(&s, NULL, signaller, NULL);
    pthread_setname_np(s, "signaller");
    atomic_store(&s_go, 1);
    if (spin(&main_go) < 0) {
        printf("not run under cond_done_race.gdb: the interleaving was not "
               "forced\n");
        x_go = 1;
        pthread_join(s, NULL);
        pthread_join(x, NULL);
        return 2;
    }
    printf("main: as_mutex_unlock (hand-off to w): %d\n", as_mutex_unlock(&M));
    repro_unlocked();
    pthread_join(s, NULL);
    pthread_join(x, NULL);
    as_loop_run(&L);
    printf("as_cancel (canceller): %d\n", cancel_result);
    if (cancel_result == 0 && w_status == -ECANCELED && w_held == 1) {
        printf("outcome right: -ECANCELED with the mutex held (the race is in "
               "the reads)\n");
        return 0;
    }
    printf("BUG: outcome wrong\n");
    return 1;
}
