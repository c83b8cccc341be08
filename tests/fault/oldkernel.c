/* oldkernel: run a program as if the kernel lacked IORING_OP_FUTEX_WAIT.
 *
 *   oldkernel <program> [args...]
 *
 * Installs a seccomp filter that fails io_uring_register(IORING_REGISTER_PROBE)
 * with EINVAL, which is what the probe sees on kernels before 5.6 and where
 * io_uring is filtered; the library must then pick the generic backend
 * silently.  Before exec'ing the program (the filter stays in force across
 * exec), it checks in this process that:
 *   - as_loop_init_uring picks "generic" with ASYNCSYNC_BACKEND unset;
 *   - ASYNCSYNC_BACKEND=uring makes it fail with -EOPNOTSUPP (no fallback);
 *   - a cross-thread wake still reaches the loop through its ring.
 * Then it runs the program (a conformance suite) with ASYNCSYNC_BACKEND unset
 * and ASYNCSYNC_EXPECT_BACKEND=generic.  Exit 77 when seccomp or io_uring is
 * not available here.
 */
#include <asyncsync.h>
#include <errno.h>
#include <liburing.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IORING_REGISTER_PROBE
#define IORING_REGISTER_PROBE 8
#endif

static int install_filter(void)
{
    struct sock_filter code[] = {
        /* Only x86_64 syscall numbers are meaningful below. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IORING_REGISTER_PROBE, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof code[0]), code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
}

static as_sem sem;
static int got = -1;

static void on_acquired(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    got = status;
}

static void *releaser(void *arg)
{
    (void)arg;
    as_sem_release(&sem, 1);
    return NULL;
}

static void die(const char *msg, int r)
{
    fprintf(stderr, "oldkernel: %s (%d: %s)\n", msg, r, as_strerror(r));
    exit(1);
}

/* The backend choice and one cross-thread wake, under the filter. */
static void self_check(void)
{
    struct io_uring ring;
    as_loop loop;
    as_wait w = {0};
    pthread_t t;
    int r = io_uring_queue_init(8, &ring, 0);
    if (r < 0) {
        fprintf(stderr, "oldkernel: io_uring unavailable here (%d): skip\n", r);
        exit(77);
    }
    setenv("ASYNCSYNC_BACKEND", "uring", 1);
    r = as_loop_init_uring(&loop, &ring, NULL);
    if (r != -EOPNOTSUPP)
        die("forcing uring on an 'old kernel' must fail with -EOPNOTSUPP", r);
    unsetenv("ASYNCSYNC_BACKEND");
    if ((r = as_loop_init_uring(&loop, &ring, NULL)) != 0)
        die("as_loop_init_uring", r);
    if (strcmp(as_loop_backend(&loop), "generic") != 0)
        die("the probe did not fall back to the generic backend", 0);

    as_sem_init(&sem, 0, 0);
    if ((r = as_sem_acquire_async(&sem, &loop, &w, 1, on_acquired, NULL)) != 0)
        die("acquire did not go pending", r);
    as_loop_run(&loop);
    pthread_create(&t, NULL, releaser, NULL);
    while (got < 0) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {10, 0};
        io_uring_submit(&ring);
        if ((r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) != 0)
            die("no CQE within 10 s: lost wake-up", r);
        if (!as_loop_handle_cqe(&loop, cqe))
            die("a CQE that is not the library's", 0);
        io_uring_cqe_seen(&ring, cqe);
        as_loop_run(&loop);
    }
    pthread_join(t, NULL);
    if (got != 0)
        die("callback status", got);
    while ((r = as_loop_destroy(&loop)) == -EAGAIN) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {10, 0};
        io_uring_submit(&ring);
        if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts) != 0)
            die("teardown never completed", 0);
        as_loop_handle_cqe(&loop, cqe);
        io_uring_cqe_seen(&ring, cqe);
    }
    if (r != 0)
        die("as_loop_destroy", r);
    as_sem_destroy(&sem);
    io_uring_queue_exit(&ring);
}

int main(int argc, char **argv)
{
    int r;
    if (argc < 2) {
        fprintf(stderr, "usage: oldkernel <program> [args...]\n");
        return 2;
    }
    if ((r = install_filter()) < 0) {
        fprintf(stderr, "oldkernel: seccomp unavailable here (%d): skip\n", r);
        return 77;
    }
    self_check();
    printf("oldkernel: probe fails, backend falls back to generic; running %s\n", argv[1]);
    fflush(stdout);
    unsetenv("ASYNCSYNC_BACKEND");
    setenv("ASYNCSYNC_EXPECT_BACKEND", "generic", 1);
    execv(argv[1], argv + 1);
    perror("oldkernel: exec");
    return 1;
}
