/*
 * Install check: a tiny application written only against the installed
 * <asyncsync.h>, built through find_package(asyncsync) and through
 * pkg-config.  It binds a loop to its own io_uring ring, uses each primitive
 * once on the fast path, and completes one real pending wait through the
 * ring, then tears everything down.  Exit 0 on success, 1 with a message on
 * failure, 77 when the kernel refuses io_uring (the build and link are what
 * this proves; the conformance suite covers behaviour).
 *
 * Written in the common subset of C11 and C++11: consumer.cpp compiles this
 * same file as C++ (CONSUMER_LANG names the language in messages,
 * CONSUMER_EXTRA_CHECKS names a function main() calls first).  Every wait on
 * the ring is bounded (5 s), so a broken library fails the check instead of
 * hanging it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* liburing.h needs POSIX types (sigset_t, AT_FDCWD) */
#endif
#include <asyncsync.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CONSUMER_LANG
#define CONSUMER_LANG "C"
#endif

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "consumer (%s): %s:%d: check failed: %s\n",        \
                    CONSUMER_LANG, __FILE__, __LINE__, #cond);                 \
            return 1;                                                          \
        }                                                                      \
    } while (0)

/* Same check, for a call returning an int: prints what it returned. */
#define CHECK_RET(call, expected)                                              \
    do {                                                                       \
        int got_ = (call);                                                     \
        if (got_ != (expected)) {                                              \
            fprintf(stderr,                                                    \
                    "consumer (%s): %s:%d: %s returned %d (%s), expected "     \
                    "%s\n",                                                    \
                    CONSUMER_LANG, __FILE__, __LINE__, #call, got_,            \
                    got_ < 0 ? as_strerror(got_) : "-", #expected);            \
            return 1;                                                          \
        }                                                                      \
    } while (0)

#define MAX_ITERATIONS 100

struct result {
    int calls;
    int status;
    as_wait *wait;
};

static void on_acquired(as_wait *w, int status, void *arg)
{
    struct result *r = (struct result *)arg;
    r->calls++;
    r->status = status;
    r->wait = w;
}

/* Offer every available CQE to the library.  Returns -1 on a CQE the
 * library does not claim (this program submits nothing of its own). */
static int drain(struct io_uring *ring, as_loop *loop)
{
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(ring, &cqe) == 0) {
        bool ours = as_loop_handle_cqe(loop, cqe);
        unsigned long long ud = (unsigned long long)cqe->user_data;
        io_uring_cqe_seen(ring, cqe);
        if (!ours) {
            fprintf(stderr, "consumer (%s): CQE not claimed, user_data %llx\n",
                    CONSUMER_LANG, ud);
            return -1;
        }
    }
    return 0;
}

/* Submit, wait up to 5 s for a CQE, hand CQEs to the library. */
static int pump_once(struct io_uring *ring, as_loop *loop, const char *what)
{
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts;
    int ret, tries = 0;

    /* 5 s in 100 ms waits: liburing 2.3 may say -ETIME early (its second
     * look after an enter that came back with nothing visible) */
    ts.tv_sec = 0;
    ts.tv_nsec = 100000000;
    do
        ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
    while (ret == -ETIME && io_uring_cq_ready(ring) == 0 && ++tries < 50);
    if (ret == -ETIME && io_uring_cq_ready(ring) == 0) {
        fprintf(stderr, "consumer (%s): no completion within 5 s while %s\n",
                CONSUMER_LANG, what);
        return -1;
    }
    if (ret < 0 && ret != -ETIME && ret != -EINTR) {
        fprintf(stderr, "consumer (%s): io_uring_submit_and_wait_timeout: %s\n",
                CONSUMER_LANG, strerror(-ret));
        return -1;
    }
    return drain(ring, loop);
}

int main(void)
{
    struct io_uring ring;
    as_loop loop;
    as_sem sem, pending_sem;
    as_sem static_sem = AS_SEM_INITIALIZER(2);
    as_mutex mutex = AS_MUTEX_INITIALIZER;
    as_event event;
    as_wait wait;
    struct result res;
    const char *backend;
    char backend_name[32];
    int ret, i;

#ifdef CONSUMER_EXTRA_CHECKS
    if (CONSUMER_EXTRA_CHECKS() != 0)
        return 1;
#endif

    CHECK(as_strerror(-ECANCELED) != NULL);

    /* A named process-shared semaphore: links shm_open, which needs -lrt
     * from the link interface on a glibc older than 2.34. */
    {
        as_sem *named = NULL;
        char name[64];
        snprintf(name, sizeof name, "/asyncsync-consumer-%ld", (long)getpid());
        (void)as_pshared_unlink(name);
        CHECK_RET(as_sem_open(&named, name, O_CREAT | O_EXCL, 0600, 1, 0, 0), 0);
        CHECK_RET(as_sem_try_acquire(named, 1), 1);
        CHECK_RET(as_sem_release(named, 1), 0);
        CHECK_RET(as_pshared_unlink(name), 0);
        CHECK_RET(as_pshared_unmap(named), 0);
    }

    ret = io_uring_queue_init(8, &ring, 0);
    if (ret == -ENOSYS || ret == -EPERM) {
        fprintf(stderr, "consumer (%s): io_uring unavailable (%s): skipped\n",
                CONSUMER_LANG, strerror(-ret));
        return 77;
    }
    CHECK_RET(ret, 0);

    memset(&loop, 0, sizeof loop);
    CHECK_RET(as_loop_init_uring(&loop, &ring, NULL), 0);
    backend = as_loop_backend(&loop);
    CHECK(backend != NULL);
    snprintf(backend_name, sizeof backend_name, "%s", backend);

    /* Fast paths: no loop involved. */
    memset(&sem, 0, sizeof sem);
    CHECK_RET(as_sem_init(&sem, 1, 0), 0);
    CHECK_RET(as_sem_try_acquire(&sem, 1), 1);
    CHECK_RET(as_sem_try_acquire(&sem, 1), 0);
    CHECK_RET(as_sem_release(&sem, 1), 0);
    CHECK_RET(as_sem_destroy(&sem), 0);

    CHECK_RET(as_sem_try_acquire(&static_sem, 2), 1);
    CHECK_RET(as_sem_release(&static_sem, 2), 0);
    CHECK_RET(as_sem_destroy(&static_sem), 0);

    CHECK_RET(as_mutex_try_lock(&mutex), 1);
    CHECK_RET(as_mutex_try_lock(&mutex), 0);
    CHECK_RET(as_mutex_unlock(&mutex), 0);
    CHECK_RET(as_mutex_unlock(&mutex), -EPERM);
    CHECK_RET(as_mutex_destroy(&mutex), 0);

    memset(&event, 0, sizeof event);
    CHECK_RET(as_event_init(&event, AS_EVENT_MANUAL_RESET), 0);
    CHECK_RET(as_event_is_set(&event), 0);
    CHECK_RET(as_event_set(&event), 0);
    CHECK_RET(as_event_is_set(&event), 1);
    CHECK_RET(as_event_reset(&event), 0);
    CHECK_RET(as_event_is_set(&event), 0);
    CHECK_RET(as_event_destroy(&event), 0);

    /* One real pending wait, completed through the loop and the ring. */
    memset(&pending_sem, 0, sizeof pending_sem);
    memset(&wait, 0, sizeof wait);
    memset(&res, 0, sizeof res);
    CHECK_RET(as_sem_init(&pending_sem, 0, 0), 0);
    CHECK_RET(
        as_sem_acquire_async(&pending_sem, &loop, &wait, 1, on_acquired, &res),
        0);
    CHECK_RET(as_wait_pending(&wait), 1);
    CHECK_RET(as_sem_destroy(&pending_sem), -EBUSY);
    CHECK_RET(as_sem_release(&pending_sem, 1), 0);
    CHECK(res.calls == 0); /* never inside the releasing call */
    for (i = 0; i < MAX_ITERATIONS && res.calls == 0; i++) {
        ret = as_loop_run(&loop);
        CHECK(ret >= 0);
        if (res.calls != 0)
            break;
        CHECK(pump_once(&ring, &loop, "waiting for the callback") == 0);
    }
    CHECK(res.calls == 1);
    CHECK_RET(res.status, 0);
    CHECK(res.wait == &wait);
    CHECK_RET(as_wait_pending(&wait), 0);
    CHECK_RET(as_sem_try_acquire(&pending_sem, 1), 0); /* the permit is ours */
    CHECK_RET(as_sem_destroy(&pending_sem), 0);

    /* Teardown: the library may still have an operation armed on the ring. */
    for (i = 0; (ret = as_loop_destroy(&loop)) == -EAGAIN; i++) {
        CHECK(i < MAX_ITERATIONS);
        CHECK(pump_once(&ring, &loop, "tearing the loop down") == 0);
    }
    CHECK_RET(ret, 0);
    io_uring_queue_exit(&ring);

    printf("consumer (%s): ok, backend %s, asyncsync %d.%d.%d\n", CONSUMER_LANG,
           backend_name, AS_VERSION_MAJOR, AS_VERSION_MINOR, AS_VERSION_PATCH);
    return 0;
}
