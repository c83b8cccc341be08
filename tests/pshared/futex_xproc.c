/* futex_xproc: the kernel facts process-shared primitives (issue 14,
 * docs/pshared.md) stand on, checked on the running kernel.
 *
 * A waiter process parks IORING_OP_FUTEX_WAIT on a 32-bit word of a page
 * shared by fork (MAP_SHARED | MAP_ANONYMOUS) or by a memfd, on its own ring,
 * with futex2 flags FUTEX2_SIZE_U32 and *no* FUTEX2_PRIVATE (a shared key:
 * inode + page offset, the same in every process that maps the page).
 * Another process stores to the word and wakes it.  Cases (each a fresh pair
 * of processes; rings are created after fork, in the process that uses them):
 *
 *   wake_syscall   B: store, futex(2) FUTEX_WAKE (shared): returns 1, A's
 *                  CQE res 0
 *   wake_ring      B: store, IORING_OP_FUTEX_WAKE on B's own ring: B's CQE
 *                  res 1, A's CQE res 0
 *   memfd_2addr    the page is a memfd mapped at two different addresses; A
 *                  waits on one mapping, B wakes through another: the key is
 *                  the page, not the address (no pointers in shared objects)
 *   value_check    B stores and wakes between A's read of the word and A's
 *                  submission: A's wait completes at once with -EAGAIN
 *                  (EWOULDBLOCK), it never sleeps on a stale value
 *   race           2000 rounds of A submitting while B stores and wakes, no
 *                  ordering between them: every round A gets a CQE, and
 *                  (A's res == 0) <=> (B's wake returned 1): nothing is lost,
 *                  nothing is woken twice
 *   private_miss   negative control: a FUTEX2_PRIVATE wait is *not* woken by
 *                  another process's wake (shared or private: 0 woken); A
 *                  then cancels it.  Process-shared waits must not be private.
 *   cancel         A's IORING_OP_ASYNC_CANCEL of its parked wait: the wait's
 *                  CQE -ECANCELED, the cancel's 0; B's wake afterwards
 *                  returns 0 (nothing left queued)
 *   cancel_late    B's wake lands first, then A cancels: the cancel's CQE
 *                  -ENOENT (or -EALREADY), the wait's CQE 0: the wake wins
 *                  and the waiter learns it from the wait's CQE
 *   killed_waiter  A parks, is killed (SIGKILL) and reaped: B's wakes find
 *                  nobody (0), checked N times.  (The ring of a dead process
 *                  is torn down by the kernel; see the report for how soon.)
 *   pidfd_death    a process learns of another's death through its own
 *                  ring: IORING_OP_POLL_ADD on a pidfd of a process that is
 *                  not its child completes with POLLIN when it is killed
 *   waitv          IORING_OP_FUTEX_WAITV on two shared words: a wake of the
 *                  second completes the wait with res 1 (its index)
 *   robust_death   a process that dies holding a lock word listed in its
 *                  robust list (set_robust_list): the kernel marks the word
 *                  FUTEX_OWNER_DIED and wakes an io_uring waiter of another
 *                  process (shared wake); also prints glibc's futex_offset
 *
 * No sleep is used for sequencing: pipes and waitpid order the processes; a
 * CQE wait has a 10 s watchdog that only a hang reaches (a failure).
 * Exit 0: all cases passed; 1: a case failed; 77: the kernel or this
 * process cannot use io_uring futex operations (Linux 6.7+), which is what
 * AS_PSHARED's *_async would answer with -EOPNOTSUPP.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <liburing.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Kernel ABI constants Debian 12's headers (Linux 6.1 UAPI, liburing 2.3)
 * lack; values from include/uapi/linux/io_uring.h and futex.h (6.7). */
#define OP_FUTEX_WAIT 51
#define OP_FUTEX_WAKE 52
#define OP_FUTEX_WAITV 53
#define F2_SIZE_U32 0x02u
#define F2_PRIVATE 128u
#define BITSET_ANY 0xffffffffu
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define WATCHDOG_S 10
#define RACE_ROUNDS 2000
#define KILL_ROUNDS 50

#define UD_WAIT 0x1111u
#define UD_CANCEL 0x2222u
#define UD_WAKE 0x3333u
#define UD_POLL 0x4444u

static const char *cur_case = "?";

static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "futex_xproc: %s: FAIL (pid %d): ", cur_case, (int)getpid());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            fail(__VA_ARGS__);                                                \
    } while (0)

/* ---- sequencing: one byte through a pipe ---- */

struct chan {
    int rd, wr;
};

static struct chan chan_new(void)
{
    int fd[2];
    struct chan c;
    if (pipe2(fd, O_CLOEXEC) != 0)
        fail("pipe2: %s", strerror(errno));
    c.rd = fd[0];
    c.wr = fd[1];
    return c;
}

static void chan_send(struct chan c, char v)
{
    ssize_t r;
    do
        r = write(c.wr, &v, 1);
    while (r < 0 && errno == EINTR);
    CHECK(r == 1, "pipe write: %s", strerror(errno));
}

/* A read with a watchdog: each side of a case holds both ends of its
 * pipes, so a peer that died would otherwise leave the reader blocked.
 * Reaching the watchdog is a failure (the peer died or hung), never a
 * sequencing step. */
static char chan_recv(struct chan c)
{
    struct pollfd pfd = {c.rd, POLLIN, 0};
    char v = 0;
    ssize_t r;
    int n;
    do
        n = poll(&pfd, 1, WATCHDOG_S * 1000);
    while (n < 0 && errno == EINTR);
    CHECK(n == 1, "no word from the peer within %d s: it died or hung", WATCHDOG_S);
    do
        r = read(c.rd, &v, 1);
    while (r < 0 && errno == EINTR);
    CHECK(r == 1, "pipe read: %zd (%s): peer gone", r, r < 0 ? strerror(errno) : "EOF");
    return v;
}

static void chan_close(struct chan c)
{
    close(c.rd);
    close(c.wr);
}

/* ---- futex SQEs, filled by hand as src/backend/uring.c does ---- */

static struct io_uring_sqe *sqe_get(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    CHECK(sqe != NULL, "no SQE");
    return sqe;
}

static void prep_futex(struct io_uring_sqe *sqe, int op, uint32_t *word,
                       uint64_t val, uint32_t f2flags, uint64_t ud)
{
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = (uint8_t)op;
    sqe->fd = (int32_t)f2flags;
    sqe->addr = (uint64_t)(uintptr_t)word;
    sqe->off = val;
    sqe->addr3 = BITSET_ANY;
    sqe->user_data = ud;
}

/* futex2's struct futex_waitv (include/uapi/linux/futex.h, 5.16+) */
struct waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

static void submit_all(struct io_uring *ring, int n)
{
    int r;
    do
        r = io_uring_submit(ring);
    while (r == -EINTR);
    CHECK(r == n, "io_uring_submit: %d (wanted %d)", r, n);
}

/* The next CQE, or a failure after the watchdog (a hang). */
static void next_cqe(struct io_uring *ring, uint64_t *ud, int *res)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {WATCHDOG_S, 0};
    int r;
    do
        r = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    while (r == -EINTR);
    CHECK(r == 0, "no CQE within %d s (%s): a lost wake-up", WATCHDOG_S, strerror(-r));
    *ud = cqe->user_data;
    *res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
}

/* Is a CQE ready right now (no wait)? */
static int cqe_ready(struct io_uring *ring)
{
    struct io_uring_cqe *cqe;
    return io_uring_peek_cqe(ring, &cqe) == 0;
}

static void ring_init(struct io_uring *ring)
{
    int r = io_uring_queue_init(8, ring, 0);
    CHECK(r == 0, "io_uring_queue_init: %s", strerror(-r));
}

static long futex_wake_sys(uint32_t *word, int n, bool private_flag)
{
    long r = syscall(SYS_futex, word, FUTEX_WAKE | (private_flag ? FUTEX_PRIVATE_FLAG : 0),
                     n, NULL, NULL, 0);
    CHECK(r >= 0, "futex(FUTEX_WAKE): %s", strerror(errno));
    return r;
}

static void *shared_page(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
    memset(p, 0, 4096);
    return p;
}

static pid_t fork_or_die(void)
{
    pid_t p = fork();
    CHECK(p >= 0, "fork: %s", strerror(errno));
    return p;
}

/* Reap `pid`; 0 if it exited 0. */
static int reap(pid_t pid)
{
    int st;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    CHECK(r == pid, "waitpid: %s", strerror(errno));
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* ---- the waiter side (process A) ---- */

/* Park a shared FUTEX_WAIT on word (expected `val`) and submit it: once
 * io_uring_submit returns, the wait is queued in the futex hash (the
 * opcode is issued inline, never punted), or already completed. */
static void park(struct io_uring *ring, uint32_t *word, uint32_t val, uint32_t f2)
{
    prep_futex(sqe_get(ring), OP_FUTEX_WAIT, word, val, f2, UD_WAIT);
    submit_all(ring, 1);
}

/* ---- cases ---- */

/* B wakes A with futex(2), or with a FUTEX_WAKE SQE on B's own ring. */
static void case_wake(bool via_ring)
{
    uint32_t *w = shared_page();
    struct chan parked = chan_new(), done = chan_new();
    pid_t a = fork_or_die();
    if (a == 0) {
        struct io_uring ring;
        uint64_t ud;
        int res;
        ring_init(&ring);
        park(&ring, w, 0, F2_SIZE_U32);
        CHECK(!cqe_ready(&ring), "the wait completed before any wake");
        chan_send(parked, 'p');
        next_cqe(&ring, &ud, &res);
        CHECK(ud == UD_WAIT && res == 0, "wait CQE ud %#llx res %d, want res 0",
              (unsigned long long)ud, res);
        CHECK(__atomic_load_n(w, __ATOMIC_ACQUIRE) == 1, "woken, but the word is %u", *w);
        chan_send(done, 'd');
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(parked);
    __atomic_store_n(w, 1u, __ATOMIC_RELEASE);
    if (via_ring) {
        struct io_uring ring;
        uint64_t ud;
        int res;
        ring_init(&ring);
        prep_futex(sqe_get(&ring), OP_FUTEX_WAKE, w, 1, F2_SIZE_U32, UD_WAKE);
        submit_all(&ring, 1);
        next_cqe(&ring, &ud, &res);
        CHECK(ud == UD_WAKE && res == 1, "FUTEX_WAKE SQE: res %d, want 1 woken", res);
        io_uring_queue_exit(&ring);
    } else {
        long n = futex_wake_sys(w, 1, false);
        CHECK(n == 1, "futex(2) FUTEX_WAKE woke %ld, want 1", n);
    }
    (void)chan_recv(done);
    CHECK(reap(a) == 0, "waiter failed");
    chan_close(parked);
    chan_close(done);
    munmap(w, 4096);
}

/* The same page at two addresses: A waits through one, B wakes through the
 * other (a memfd mapped twice; in real use, two processes with the object at
 * different addresses). */
static void case_memfd_2addr(void)
{
    int fd = memfd_create("asyncsync-probe", MFD_CLOEXEC);
    uint32_t *m1, *m2;
    struct chan parked = chan_new(), done = chan_new();
    pid_t a;
    CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
    CHECK(ftruncate(fd, 4096) == 0, "ftruncate: %s", strerror(errno));
    m1 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m1 != MAP_FAILED, "mmap: %s", strerror(errno));
    a = fork_or_die();
    if (a == 0) {
        struct io_uring ring;
        uint64_t ud;
        int res;
        m2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        CHECK(m2 != MAP_FAILED && m2 != m1, "second mapping: %p", (void *)m2);
        ring_init(&ring);
        park(&ring, &m2[7], 0, F2_SIZE_U32);
        chan_send(parked, 'p');
        next_cqe(&ring, &ud, &res);
        CHECK(ud == UD_WAIT && res == 0, "wait CQE res %d, want 0", res);
        CHECK(__atomic_load_n(&m2[7], __ATOMIC_ACQUIRE) == 5, "woken, word %u", m2[7]);
        chan_send(done, 'd');
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(parked);
    __atomic_store_n(&m1[7], 5u, __ATOMIC_RELEASE);
    CHECK(futex_wake_sys(&m1[7], 1, false) == 1, "wake through the other mapping found nobody");
    (void)chan_recv(done);
    CHECK(reap(a) == 0, "waiter failed");
    chan_close(parked);
    chan_close(done);
    munmap(m1, 4096);
    close(fd);
}

/* B's store and wake land between A's read and A's submission. */
static void case_value_check(void)
{
    uint32_t *w = shared_page();
    struct chan read_it = chan_new(), stored = chan_new();
    pid_t a = fork_or_die();
    if (a == 0) {
        struct io_uring ring;
        uint64_t ud;
        int res;
        uint32_t v;
        ring_init(&ring);
        v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        chan_send(read_it, 'r');
        (void)chan_recv(stored); /* B stored and woke meanwhile */
        park(&ring, w, v, F2_SIZE_U32);
        next_cqe(&ring, &ud, &res);
        CHECK(ud == UD_WAIT && res == -EAGAIN,
              "wait on a stale value: res %d, want -EAGAIN (%d)", res, -EAGAIN);
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(read_it);
    __atomic_store_n(w, 1u, __ATOMIC_RELEASE);
    CHECK(futex_wake_sys(w, 1, false) == 0, "woke someone, but A has not submitted yet");
    chan_send(stored, 's');
    CHECK(reap(a) == 0, "waiter failed");
    chan_close(read_it);
    chan_close(stored);
    munmap(w, 4096);
}

/* No ordering between A's submission and B's store + wake, many rounds. */
static void case_race(unsigned *n_woken, unsigned *n_eagain)
{
    uint32_t *w = shared_page();
    struct chan go_a = chan_new(), go_b = chan_new(), res_a = chan_new();
    pid_t a = fork_or_die(), b;
    if (a == 0) {
        struct io_uring ring;
        ring_init(&ring);
        for (unsigned i = 0; i < RACE_ROUNDS; i++) {
            uint64_t ud;
            int res;
            (void)chan_recv(go_a);
            /* the value of this round: 2i; B makes it 2i + 1 */
            park(&ring, w, 2u * i, F2_SIZE_U32);
            next_cqe(&ring, &ud, &res);
            CHECK(ud == UD_WAIT && (res == 0 || res == -EAGAIN),
                  "round %u: wait res %d, want 0 or -EAGAIN", i, res);
            chan_send(res_a, res == 0 ? 'w' : 'a');
        }
        fflush(stdout);
        _exit(0);
    }
    b = fork_or_die();
    if (b == 0) {
        for (unsigned i = 0; i < RACE_ROUNDS; i++) {
            long n;
            (void)chan_recv(go_b);
            __atomic_store_n(w, 2u * i + 1u, __ATOMIC_SEQ_CST);
            n = futex_wake_sys(w, 1, false);
            CHECK(n == 0 || n == 1, "round %u: woke %ld", i, n);
            chan_send(res_a, n == 1 ? 'W' : 'N');
        }
        fflush(stdout);
        _exit(0);
    }
    *n_woken = *n_eagain = 0;
    for (unsigned i = 0; i < RACE_ROUNDS; i++) {
        char x, y;
        bool a_woken, b_woke;
        __atomic_store_n(w, 2u * i, __ATOMIC_SEQ_CST);
        /* release both at once; the order they run in is the scheduler's */
        chan_send(go_a, 'g');
        chan_send(go_b, 'g');
        x = chan_recv(res_a);
        y = chan_recv(res_a);
        a_woken = x == 'w' || y == 'w';
        b_woke = x == 'W' || y == 'W';
        CHECK(a_woken == b_woke,
              "round %u: A %s, B's wake %s: a wake-up lost or a phantom one", i,
              a_woken ? "woken (res 0)" : "refused (-EAGAIN)",
              b_woke ? "woke 1" : "woke 0");
        if (a_woken)
            ++*n_woken;
        else
            ++*n_eagain;
    }
    CHECK(reap(a) == 0 && reap(b) == 0, "a racer failed");
    chan_close(go_a);
    chan_close(go_b);
    chan_close(res_a);
    munmap(w, 4096);
}

/* A cancels its parked wait (user_data UD_WAIT): the wait's and the
 * cancel's results, in whatever order their CQEs come. */
static void cancel_parked(struct io_uring *ring, int *wait_res, int *cancel_res)
{
    bool got_wait = false, got_cancel = false;
    struct io_uring_sqe *sqe = sqe_get(ring);
    io_uring_prep_cancel64(sqe, UD_WAIT, 0);
    io_uring_sqe_set_data64(sqe, UD_CANCEL);
    submit_all(ring, 1);
    while (!got_wait || !got_cancel) {
        uint64_t ud;
        int res;
        next_cqe(ring, &ud, &res);
        if (ud == UD_WAIT && !got_wait) {
            got_wait = true;
            *wait_res = res;
        } else if (ud == UD_CANCEL && !got_cancel) {
            got_cancel = true;
            *cancel_res = res;
        } else {
            fail("unexpected CQE ud %#llx res %d", (unsigned long long)ud, res);
        }
    }
}

/* The CQE of an ASYNC_CANCEL that found the wait: 0 as documented for
 * io_uring_prep_cancel(3), or 1, the number of futex requests it
 * cancelled (io_futex_cancel's count, which kernels since 6.7 return for
 * futex waits). */
static bool cancel_ok(int res) { return res == 0 || res == 1; }

/* Negative control: a private wait is invisible to other processes. */
static void case_private_miss(void)
{
    uint32_t *w = shared_page();
    struct chan parked = chan_new(), tried = chan_new();
    pid_t a = fork_or_die();
    if (a == 0) {
        struct io_uring ring;
        int wres, cres;
        ring_init(&ring);
        park(&ring, w, 0, F2_SIZE_U32 | F2_PRIVATE);
        chan_send(parked, 'p');
        (void)chan_recv(tried);
        CHECK(!cqe_ready(&ring), "a private wait was woken from another process");
        cancel_parked(&ring, &wres, &cres);
        CHECK(wres == -ECANCELED && cancel_ok(cres),
              "cancel of the private wait: wait %d, cancel %d", wres, cres);
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(parked);
    __atomic_store_n(w, 1u, __ATOMIC_RELEASE);
    CHECK(futex_wake_sys(w, 1, false) == 0, "shared wake found a private waiter");
    CHECK(futex_wake_sys(w, 1, true) == 0, "private wake found another process's waiter");
    chan_send(tried, 't');
    CHECK(reap(a) == 0, "waiter failed");
    chan_close(parked);
    chan_close(tried);
    munmap(w, 4096);
}

/* A cancels its parked wait; then B's wake finds nobody.  late: B's store
 * and wake come first, then A's cancel, which finds the wait completed. */
static void case_cancel(bool late)
{
    uint32_t *w = shared_page();
    struct chan parked = chan_new(), step = chan_new(), cancelled = chan_new();
    pid_t a = fork_or_die();
    if (a == 0) {
        struct io_uring ring;
        int wres, cres;
        ring_init(&ring);
        park(&ring, w, 0, F2_SIZE_U32);
        chan_send(parked, 'p');
        if (late)
            (void)chan_recv(step); /* B woke us; the CQE may be posted */
        cancel_parked(&ring, &wres, &cres);
        if (late) {
            CHECK(wres == 0 && (cres == -ENOENT || cres == -EALREADY),
                  "cancel after the wake: wait %d (want 0), cancel %d (want "
                  "-ENOENT or -EALREADY)", wres, cres);
        } else {
            CHECK(wres == -ECANCELED && cancel_ok(cres),
                  "cancel of a parked wait: wait %d (want -ECANCELED), cancel %d "
                  "(want 0 or 1)", wres, cres);
            printf("cancel           the ASYNC_CANCEL CQE's res: %d\n", cres);
        }
        chan_send(cancelled, 'c');
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(parked);
    if (late) {
        __atomic_store_n(w, 1u, __ATOMIC_RELEASE);
        CHECK(futex_wake_sys(w, 1, false) == 1, "the wake found nobody");
        chan_send(step, 's');
        (void)chan_recv(cancelled);
    } else {
        (void)chan_recv(cancelled);
        __atomic_store_n(w, 1u, __ATOMIC_RELEASE);
        CHECK(futex_wake_sys(w, INT32_MAX, false) == 0,
              "a cancelled wait is still queued");
    }
    CHECK(reap(a) == 0, "waiter failed");
    chan_close(parked);
    chan_close(step);
    chan_close(cancelled);
    munmap(w, 4096);
}

/* A parks and is killed with SIGKILL; once it is reaped, wakes find
 * nobody.  Returns how many rounds' first wake still found a waiter (the
 * dead process's wait, not yet torn down): the design must not count on 0. */
static unsigned case_killed_waiter(void)
{
    uint32_t *w = shared_page();
    unsigned stale = 0;
    for (unsigned i = 0; i < KILL_ROUNDS; i++) {
        struct chan parked = chan_new();
        pid_t a;
        long n;
        int rc;
        __atomic_store_n(w, 2u * i, __ATOMIC_RELEASE);
        a = fork_or_die();
        if (a == 0) {
            struct io_uring ring;
            uint64_t ud;
            int res;
            ring_init(&ring);
            park(&ring, w, 2u * i, F2_SIZE_U32);
            chan_send(parked, 'p');
            next_cqe(&ring, &ud, &res); /* killed here */
            _exit(3);
        }
        (void)chan_recv(parked);
        CHECK(kill(a, SIGKILL) == 0, "kill: %s", strerror(errno));
        rc = reap(a);
        CHECK(rc == 128 + SIGKILL, "round %u: the waiter was not killed (status %d)", i, rc);
        __atomic_store_n(w, 2u * i + 1u, __ATOMIC_RELEASE);
        n = futex_wake_sys(w, INT32_MAX, false);
        CHECK(n == 0 || n == 1, "round %u: woke %ld", i, n);
        if (n == 1)
            stale++;
        /* whatever the first found, nothing is left after it */
        CHECK(futex_wake_sys(w, INT32_MAX, false) == 0,
              "round %u: a dead waiter's wait survived a wake", i);
        chan_close(parked);
    }
    munmap(w, 4096);
    return stale;
}

/* B learns of A's death through B's own ring: POLL_ADD on a pidfd of A,
 * which is B's sibling, not its child. */
static void case_pidfd_death(void)
{
    struct chan a_pid = chan_new(), armed = chan_new();
    pid_t a = fork_or_die(), b;
    if (a == 0) {
        /* blocks until killed (nobody sends on `armed`; the watchdog
         * would end it if the kill never came) */
        (void)chan_recv(armed);
        _exit(3);
    }
    b = fork_or_die();
    if (b == 0) {
        struct io_uring ring;
        struct io_uring_sqe *sqe;
        uint64_t ud;
        int res, pfd = (int)syscall(SYS_pidfd_open, a, 0);
        CHECK(pfd >= 0, "pidfd_open of a sibling: %s", strerror(errno));
        ring_init(&ring);
        sqe = sqe_get(&ring);
        io_uring_prep_poll_add(sqe, pfd, POLLIN);
        io_uring_sqe_set_data64(sqe, UD_POLL);
        submit_all(&ring, 1);
        CHECK(!cqe_ready(&ring), "the pidfd of a live process polled readable");
        chan_send(a_pid, 'r');
        next_cqe(&ring, &ud, &res);
        CHECK(ud == UD_POLL && res > 0 && (res & POLLIN),
              "pidfd poll after the kill: res %d, want POLLIN", res);
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(a_pid);
    CHECK(kill(a, SIGKILL) == 0, "kill: %s", strerror(errno));
    CHECK(reap(a) == 128 + SIGKILL, "A was not killed");
    CHECK(reap(b) == 0, "the watcher failed");
    chan_close(a_pid);
    chan_close(armed);
}

/* FUTEX_WAITV on two shared words; B wakes the second. */
static void case_waitv(void)
{
    uint32_t *w = shared_page();
    struct chan parked = chan_new(), done = chan_new();
    pid_t a = fork_or_die();
    if (a == 0) {
        struct io_uring ring;
        struct io_uring_sqe *sqe;
        struct waitv v[2];
        uint64_t ud;
        int res;
        memset(v, 0, sizeof v);
        v[0].uaddr = (uint64_t)(uintptr_t)&w[0];
        v[1].uaddr = (uint64_t)(uintptr_t)&w[16]; /* another cache line */
        v[0].flags = v[1].flags = F2_SIZE_U32;
        ring_init(&ring);
        sqe = sqe_get(&ring);
        memset(sqe, 0, sizeof *sqe);
        sqe->opcode = OP_FUTEX_WAITV;
        sqe->addr = (uint64_t)(uintptr_t)v;
        sqe->len = 2;
        sqe->user_data = UD_WAIT;
        submit_all(&ring, 1);
        chan_send(parked, 'p');
        next_cqe(&ring, &ud, &res);
        CHECK(ud == UD_WAIT && res == 1, "waitv CQE res %d, want 1 (the second word)", res);
        chan_send(done, 'd');
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(parked);
    __atomic_store_n(&w[16], 1u, __ATOMIC_RELEASE);
    CHECK(futex_wake_sys(&w[16], 1, false) == 1, "the wake found nobody");
    (void)chan_recv(done);
    CHECK(reap(a) == 0, "waiter failed");
    chan_close(parked);
    chan_close(done);
    munmap(w, 4096);
}

/* The kernel's robust-futex death handling (exit_robust_list ->
 * handle_futex_death), seen from an io_uring waiter in another process.
 * A (single-threaded, using no robust pthread mutex) registers a robust
 * list head of its own whose one entry lies in the shared page, with the
 * lock word at futex_offset from it holding A's TID | FUTEX_WAITERS, as a
 * robust lock A holds with waiters.  B parks on the word through its ring.
 * A is killed: the kernel sets FUTEX_OWNER_DIED, clears the TID and wakes
 * one waiter with a shared wake: B's CQE res 0.  Also reports glibc's own
 * head (its futex_offset is what an entry linked into glibc's list must
 * use). */
struct rl_head {
    uint64_t next;          /* struct robust_list: the first entry */
    int64_t futex_offset;   /* word = entry + futex_offset */
    uint64_t pending;       /* list_op_pending */
};

static void case_robust_death(void)
{
    uint32_t *page = shared_page();
    uint64_t *entry = (uint64_t *)(void *)&page[32]; /* robust_list.next */
    uint32_t *word = &page[40];
    struct chan ready = chan_new(), parked = chan_new();
    pid_t a, b;
    {
        void *gh = NULL;
        size_t len = 0;
        if (syscall(SYS_get_robust_list, 0, &gh, &len) == 0 && gh)
            printf("robust_death     glibc's head of this thread: len %zu, "
                   "futex_offset %lld\n", len, (long long)((struct rl_head *)gh)->futex_offset);
        fflush(stdout); /* before fork: the children must not print it again */
    }
    a = fork_or_die();
    if (a == 0) {
        static struct rl_head head;
        pid_t tid = (pid_t)syscall(SYS_gettid);
        head.next = (uint64_t)(uintptr_t)entry;
        head.futex_offset = (int64_t)((char *)word - (char *)entry);
        head.pending = 0;
        *entry = (uint64_t)(uintptr_t)&head; /* the list ends at its head */
        __atomic_store_n(word, (uint32_t)tid | FUTEX_WAITERS, __ATOMIC_RELEASE);
        CHECK(syscall(SYS_set_robust_list, &head, sizeof head) == 0,
              "set_robust_list: %s", strerror(errno));
        chan_send(ready, 'r');
        for (;;)
            pause(); /* killed here */
    }
    (void)chan_recv(ready);
    b = fork_or_die();
    if (b == 0) {
        struct io_uring ring;
        uint64_t ud;
        int res;
        uint32_t v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        ring_init(&ring);
        park(&ring, word, v, F2_SIZE_U32);
        chan_send(parked, 'p');
        next_cqe(&ring, &ud, &res);
        v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        CHECK(ud == UD_WAIT && res == 0, "waiter on the dead owner's word: res %d", res);
        CHECK(v == (FUTEX_WAITERS | FUTEX_OWNER_DIED),
              "word after the owner's death %#x, want WAITERS|OWNER_DIED", v);
        fflush(stdout);
        _exit(0);
    }
    (void)chan_recv(parked);
    CHECK(kill(a, SIGKILL) == 0, "kill: %s", strerror(errno));
    CHECK(reap(a) == 128 + SIGKILL, "the owner was not killed");
    CHECK(reap(b) == 0, "the waiter failed");
    chan_close(ready);
    chan_close(parked);
    munmap(page, 4096);
}

/* Does this kernel (through a ring of ours) have the futex opcodes? */
static int futex_ops_available(void)
{
    struct io_uring ring;
    struct io_uring_probe *p;
    int ok;
    if (io_uring_queue_init(2, &ring, 0) != 0)
        return 0;
    p = io_uring_get_probe_ring(&ring);
    ok = p && io_uring_opcode_supported(p, OP_FUTEX_WAIT) &&
         io_uring_opcode_supported(p, OP_FUTEX_WAKE) &&
         io_uring_opcode_supported(p, OP_FUTEX_WAITV);
    if (p)
        io_uring_free_probe(p);
    io_uring_queue_exit(&ring);
    return ok;
}

/* Run one case in a process of its own, so a failure's exit stops only it. */
static int run(const char *name, void (*fn)(void))
{
    pid_t p;
    int rc;
    fflush(stdout);
    p = fork_or_die();
    if (p == 0) {
        cur_case = name;
        fn();
        fflush(stdout);
        _exit(0);
    }
    rc = reap(p);
    printf("%-16s %s\n", name, rc == 0 ? "ok" : "FAIL");
    return rc == 0 ? 0 : 1;
}

static void c_wake_syscall(void) { case_wake(false); }
static void c_wake_ring(void) { case_wake(true); }
static void c_cancel(void) { case_cancel(false); }
static void c_cancel_late(void) { case_cancel(true); }

static void c_race(void)
{
    unsigned woken, eagain;
    case_race(&woken, &eagain);
    printf("race             %u rounds: %u woken, %u refused with -EAGAIN\n",
           RACE_ROUNDS, woken, eagain);
}

static void c_killed(void)
{
    unsigned stale = case_killed_waiter();
    printf("killed_waiter    %u rounds: the first wake after the reap found the "
           "dead waiter's wait in %u\n", KILL_ROUNDS, stale);
}

int main(void)
{
    struct utsname u;
    int bad = 0;
    signal(SIGPIPE, SIG_IGN);
    if (uname(&u) == 0)
        printf("futex_xproc: Linux %s\n", u.release);
    if (!futex_ops_available()) {
        printf("futex_xproc: skipped: no IORING_OP_FUTEX_WAIT/WAKE/WAITV here "
               "(Linux 6.7+), or io_uring is not allowed\n");
        return 77;
    }
    bad += run("wake_syscall", c_wake_syscall);
    bad += run("wake_ring", c_wake_ring);
    bad += run("memfd_2addr", case_memfd_2addr);
    bad += run("value_check", case_value_check);
    bad += run("race", c_race);
    bad += run("private_miss", case_private_miss);
    bad += run("cancel", c_cancel);
    bad += run("cancel_late", c_cancel_late);
    bad += run("killed_waiter", c_killed);
    bad += run("pidfd_death", case_pidfd_death);
    bad += run("waitv", case_waitv);
    bad += run("robust_death", case_robust_death);
    printf("futex_xproc: %s (%d failed)\n", bad ? "FAILED" : "all cases passed", bad);
    return bad ? 1 : 0;
}
