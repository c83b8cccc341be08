/* A small program whose waits exercise the library's tracepoints: a plain
 * thread hands a semaphore to a uring loop's waiters, with some cancels and
 * deadlines.  Run by tests/probes/check.sh under bpftrace. */
#include <asyncsync.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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

int main(void)
{
    struct io_uring ring;
    as_loop loop;
    as_wait w[ROUNDS];
    pthread_t t;
    if (io_uring_queue_init(64, &ring, 0) < 0 || as_loop_init_uring(&loop, &ring, NULL) < 0)
        return 77;
    as_sem_init(&sem, 0, 0);
    for (int i = 0; i < ROUNDS; i++)
        if (as_sem_acquire_until(&sem, &loop, &w[i], 1,
                                 i % 10 == 0 ? as_now_ns() + 1000000 : AS_NO_DEADLINE,
                                 on_wait, NULL) < 0)
            return 1;
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
