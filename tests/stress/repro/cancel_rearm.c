/* Reproduction: a cross-thread as_cancel that overlaps the wait's callback
 * and its re-arming (on another primitive) by its own loop acts on the new
 * arming with what it read of the old one.
 *
 * Deterministic under gdb (cancel_rearm.gdb stops the canceller inside
 * as_cancel, lets only the main thread run the callback and the re-arm, then
 * lets the canceller go on); run.sh builds an unoptimised copy of the
 * library and runs both scenarios.
 *
 *   queued  arming 1: semaphore wait (queued).  The canceller reads
 *           w->as__kind (sem) at src/wait.c:105 and is stopped on entry to
 *           sem_cancel.  The loop grants arming 1 (release), calls it back,
 *           and the callback re-arms w as a lock wait on a mutex that the
 *           main thread holds, with another waiter w2 queued there.
 *           sem_cancel then finds w QUEUED in the mutex
 *           (as__q_lock_wait), unlinks it and runs sem_regrant on the
 *           mutex: sem_grant_locked reads the mutex word (LOCKED|WAITERS =
 *           3) as 3 permits, hands "permits" to w2 (as__n = 0) and stores 3:
 *           w2 is called back with 0 while main still holds the mutex, and
 *           the mutex is left with WAITERS set and an empty queue (the next
 *           as_mutex_unlock dereferences a NULL head, src/mutex.c:261).
 *   done    arming 1: semaphore wait, granted (DONE, status 0) before the
 *           cancel.  The canceller reads kind/home/n/status of arming 1
 *           (src/wait.c:93-96) and is stopped before the CAS
 *           (src/wait.c:97).  The loop calls arming 1 back with 0 (the task
 *           holds the permit) and re-arms w on an auto-reset event, which
 *           is set: arming 2 is DONE with 0.  The canceller's CAS
 *           DONE -> DONE|CANCEL then succeeds on arming 2 (same state value:
 *           ABA) and gives back arming 1's grant: as_sem_release(S, 1).  A
 *           permit is created (2 exist, 1 was ever released), arming 2 is
 *           called back with -ECANCELED and the event's set is neither
 *           delivered nor passed on (lost).
 *
 * Exit status: 1 when the bug shows, 0 when the library behaved, 2 when the
 * interleaving was not forced (not run under the gdb script).
 */
#include <asyncsync.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static as_loop L;
static as_sem S;
static as_mutex M;
static as_event E;
static as_wait w, w2;
static int done_scenario;
static int cancel_result = 99;
static int w_status[3] = {99, 99, 99}, w2_status = 99;
volatile int canceller_stopped; /* set by gdb once the canceller is stopped */

static void notify(void *ctx) { (void)ctx; }

/* gdb stops here once the main thread has re-armed the wait. */
__attribute__((noinline)) void repro_rearmed(void) { __asm__ volatile(""); }

static void on_w2(as_wait *x, int status, void *arg)
{
    (void)x, (void)arg;
    w2_status = status;
    printf("w2 (mutex waiter): callback %d\n", status);
}

static void on_w(as_wait *x, int status, void *arg)
{
    int arming = (int)(intptr_t)arg;
    (void)x;
    w_status[arming] = status;
    printf("w arming %d: callback %d\n", arming, status);
    if (arming != 1 || status != 0)
        return;
    /* Arming 1 got its permit.  Re-arm the same as_wait (the contract allows
     * it in the callback) on another primitive. */
    if (done_scenario) {
        int r = as_event_wait_async(&E, &L, &w, on_w, (void *)2);
        printf("re-armed as an auto-reset event wait: %d\n", r);
    } else {
        as_sem_release(&S, 1); /* give the permit back */
        int r = as_mutex_lock_async(&M, &L, &w, on_w, (void *)2);
        printf("re-armed as a mutex lock wait: %d\n", r);
    }
}

static void *canceller(void *arg)
{
    (void)arg;
    cancel_result = as_cancel(&w);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th;
    int bug = 0;
    done_scenario = argc > 1 && !strcmp(argv[1], "done");
    as_loop_init_generic(&L, notify, NULL, NULL);
    as_sem_init(&S, 0, 0);
    as_mutex_init(&M, 0);
    as_event_init(&E, 0);
    as_loop_run(&L); /* the main thread runs L */

    printf("scenario %s\n", done_scenario ? "done" : "queued");
    printf("arming 1: as_sem_acquire_async: %d\n",
           as_sem_acquire_async(&S, &L, &w, 1, on_w, (void *)1));
    if (done_scenario) {
        as_sem_release(&S, 1); /* arming 1 granted, not yet called back */
    } else {
        printf("main locks M: %d\n", as_mutex_try_lock(&M));
        printf("w2: as_mutex_lock_async: %d\n",
               as_mutex_lock_async(&M, &L, &w2, on_w2, NULL));
    }
    pthread_create(&th, NULL, canceller, NULL);
    for (long spins = 0; !canceller_stopped; spins++)
        if (spins > 2000000000L) {
            printf("not run under cancel_rearm.gdb: the interleaving was not "
                   "forced\n");
            pthread_join(th, NULL);
            return 2;
        }
    /* The canceller is stopped inside as_cancel. */
    if (!done_scenario)
        as_sem_release(&S, 1); /* grant arming 1 */
    as_loop_run(&L);           /* arming 1's callback re-arms w */
    if (done_scenario)
        as_event_set(&E); /* arming 2 granted */
    repro_rearmed();
    pthread_join(th, NULL);
    printf("as_cancel (other thread): %d\n", cancel_result);
    as_loop_run(&L);

    if (done_scenario) {
        int64_t v = as_sem_value(&S);
        printf("semaphore: %lld available + 1 held by arming 1; 1 was ever "
               "released\n",
               (long long)v);
        printf("auto-reset event: set %d, arming 2 callback %d\n",
               as_event_is_set(&E), w_status[2]);
        if (v != 0) {
            printf("BUG: the cancel gave back arming 1's permit, which its "
                   "callback "
                   "already had: a permit was created\n");
            bug = 1;
        }
        if (w_status[2] == -ECANCELED && as_event_is_set(&E) != 1) {
            printf("BUG: arming 2 was cancelled after the set was decided for "
                   "it, and "
                   "the set was not passed on: it is lost\n");
            bug = 1;
        }
    } else {
        printf("mutex: main still holds it; waiters %lld\n",
               (long long)as_mutex_waiters(&M));
        if (w2_status == 0) {
            printf("BUG: w2 was granted the mutex the main thread holds "
                   "(sem_regrant ran "
                   "on the mutex's queue): mutual exclusion is broken\n");
            bug = 1;
        }
        if (as_mutex_waiters(&M) == 0 && w2_status == 0)
            printf(
                "BUG: the mutex's word keeps WAITERS with an empty queue: the "
                "next "
                "as_mutex_unlock dereferences a NULL head (not called here)\n");
    }
    if (!bug)
        printf("no bug shown\n");
    return bug;
}
