/* A small program whose waits exercise the library's tracepoints: a plain
 * thread hands a semaphore to a uring loop's waiters, with some cancels and
 * deadlines.  Run by tests/probes/check.sh under bpftrace. */
#include <asyncsync.h>
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROUNDS = 2000 };

static as_sem sem;
static int done;

static void on_wait(as_wait *w, int status, void *arg)
{
    (void)w, (void)status, (void)arg;
    done++;
}

static void *releaser(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++)
        while (as_sem_release(&sem, 1) != 0)
            ;
    return NULL;
}

static void on_fatal(int sig)
{
    static const char msg[] = "probe_target: failed: a fatal signal\n";
    (void)sig;
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

int main(void)
{
    struct io_uring ring;
    as_loop loop;
    as_wait w[ROUNDS];
    pthread_t t;
    int rc;
    /* bpftrace -c exits 0 whatever its target does: every way out of this
     * program says so on stdout, for check.sh to tell. */
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGSEGV, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGABRT, on_fatal);
    signal(SIGILL, on_fatal);
    printf("probe_target: started\n");
    if ((rc = io_uring_queue_init(64, &ring, 0)) < 0) {
        printf("probe_target: skipped: io_uring_queue_init: %s\n", strerror(-rc));
        return 77;
    }
    if ((rc = as_loop_init_uring(&loop, &ring, NULL)) < 0) {
        printf("probe_target: skipped: as_loop_init_uring: %s\n", strerror(-rc));
        return 77;
    }
    as_sem_init(&sem, 0, 0);
    for (int i = 0; i < ROUNDS; i++) {
        rc = as_sem_acquire_until(&sem, &loop, &w[i], 1,
                                  i % 10 == 0 ? as_now_ns() + 1000000 : AS_NO_DEADLINE,
                                  on_wait, NULL);
        /* A deadline 1 ms away may have passed by the call (a loaded
         * machine, uprobes on every call): -ETIMEDOUT at once, no callback,
         * as documented.  The wait is over; its permit goes to a later one. */
        if (rc == -ETIMEDOUT && i % 10 == 0)
            done++;
        else if (rc < 0) {
            printf("probe_target: failed: as_sem_acquire_until: %s\n", strerror(-rc));
            return 1;
        }
    }
    as_cancel(&w[1]);
    pthread_create(&t, NULL, releaser, NULL);
    for (;;) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        as_loop_run(&loop);
        if (done == ROUNDS) /* the last callbacks may run here: no CQE follows */
            break;
        io_uring_submit_and_wait(&ring, 1);
        io_uring_for_each_cqe(&ring, head, cqe) {
            as_loop_handle_cqe(&loop, cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
    pthread_join(t, NULL);
    while (as_loop_destroy(&loop) == -EAGAIN)
        io_uring_submit_and_wait(&ring, 1);
    io_uring_queue_exit(&ring);
    printf("probe_target: %d waits done\n", done);
    return 0;
}
