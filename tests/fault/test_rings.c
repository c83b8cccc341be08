/* Ring flavours and process events (issue 9's adversarial review), on
 * ring-bound loops of both backends.
 *
 *   - SQPOLL ring whose SQ is full when a wait parks: the doorbell must
 *     still be armed before the loop sleeps (A1 in src/internal.h);
 *   - SQPOLL ring whose SQ is full at teardown while a wake message for it
 *     is refused: teardown must not sleep with nothing armed (R1, R2);
 *   - IOPOLL rings: refused at init (-EOPNOTSUPP, nothing changed);
 *   - a ring whose fd was closed: refused (-EBADF), and later loops on good
 *     rings still get the backend the kernel supports;
 *   - fork(): the child starts with no current loop, so its wakes do not
 *     ride the parent's ring;
 *   - one release waking more loops than a loop has message slots;
 *   - every ring flavour (plain, COOP_TASKRUN, SINGLE_ISSUER|DEFER_TASKRUN,
 *     SQPOLL, SQE128|CQE32, registered ring fd): waits parked, woken from
 *     another loop and from a plain thread, cancelled, torn down.
 *
 * The SQPOLL cases are made deterministic by pinning the kernel's SQ thread
 * to the CPU of the loop's thread and running that thread SCHED_FIFO: the
 * SQ thread (SCHED_OTHER) then consumes the SQ only while the loop thread
 * blocks, so "the SQ is still full after a submit" holds exactly.  Without
 * the privilege for SCHED_FIFO, or with one CPU, they skip.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* ---- helpers ------------------------------------------------------------ */

static bool pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

static void unpin_self(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* SCHED_FIFO on the calling thread (true), or false without the privilege. */
static bool realtime_self(bool on)
{
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = on ? 1 : 0;
    return pthread_setschedparam(pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &sp) == 0;
}

/* May this test pin an SQ thread under a realtime loop thread? */
static bool can_stall_sq_thread(void)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return false;
    if (!realtime_self(true))
        return false;
    realtime_self(false);
    return true;
}

/* Fill L's SQ with reads of an empty pipe (they stay pending once the
 * kernel takes them, so no completion frees the loop).  Returns how many. */
static int queue_pipe_reads(th_loop *L, int fd, char *buf)
{
    int n = 0;
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&L->ring)) != NULL) {
        io_uring_prep_read(sqe, fd, buf + n, 1, 0);
        io_uring_sqe_set_data64(sqe, TH_FOREIGN_TAG | (uint64_t)(100 + n));
        n++;
    }
    return n;
}

/* Complete `n` pipe reads (one byte each) and pump until their CQEs came. */
static void finish_pipe_reads(th_loop *L, int wfd, int n)
{
    char bytes[64];
    memset(bytes, 'x', sizeof bytes);
    unsigned long want = L->cqes_foreign + (unsigned long)n;
    if (write(wfd, bytes, (size_t)n) != n)
        th_fail("pipe write");
    double dl = th_now() + TH_TIMEOUT;
    while (L->cqes_foreign < want) {
        th_pump(L);
        if (th_now() > dl)
            th_fail("the pipe reads never completed");
        th_loop_wait(L, 10);
    }
}

static void sq_ring_params(th_ring_params *rp, unsigned entries, int cpu)
{
    rp->entries = entries;
    rp->flags = IORING_SETUP_SQPOLL;
    rp->sq_cpu = cpu;
}

static void setup_or_skip(th_loop *L, const th_ring_params *rp)
{
    int r = th_loop_init_rp(L, TH_RING, NULL, rp);
    if (r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP || r == -EINVAL)
        skip();
    assert_int_equal(r, 0);
}

struct late_release {
    as_sem *s;
    long sleeper;
    int cpu;
    int rc;
};

/* Release once `sleeper` is blocked (waiting on its ring): the wake must
 * reach a loop that is asleep, not one about to look at its inbox. */
static void *late_release_main(void *p)
{
    struct late_release *a = p;
    pin_self(a->cpu);
    th_wait_asleep(a->sleeper);
    a->rc = as_sem_release(a->s, 1);
    return NULL;
}

/* ---- SQPOLL, SQ full when a wait parks (defect 1) ----------------------- */

static void test_sqpoll_full_at_park(void **state)
{
    (void)state;
    if (!can_stall_sq_thread())
        skip();
    th_loop L;
    th_rec rec;
    th_waiter tw;
    as_sem s;
    th_ring_params rp;
    int pfd[2];
    char buf[64];
    assert_true(pin_self(0));
    sq_ring_params(&rp, 4, 0);
    setup_or_skip(&L, &rp);
    assert_int_equal(pipe(pfd), 0);
    th_rec_init(&rec);
    th_sem_make(&s, 0);

    assert_true(realtime_self(true)); /* the SQ thread runs only when we block */
    int reads = queue_pipe_reads(&L, pfd[0], buf);
    assert_true(reads > 0);
    th_waiter_init(&tw, &rec, &L, 1);
    TH_RC(th_sem_acquire(&tw, &s, 1), 0);
    /* The release comes once this thread sleeps on its ring: only an armed
     * doorbell can wake it. */
    struct late_release lr = { &s, th_thread_id(), 1, -1 };
    pthread_t t;
    th_thread_start(&t, late_release_main, &lr);
    th_rec_wait_woken(&L, &rec, 1);
    th_thread_join(t);
    TH_RC(lr.rc, 0);
    assert_int_equal(th_rec_status_of(&rec, 1), 0);

    realtime_self(false);
    unpin_self();
    finish_pipe_reads(&L, pfd[1], reads);
    TH_RC(as_sem_destroy(&s), 0);
    th_loop_destroy(&L);
    close(pfd[0]);
    close(pfd[1]);
}

/* ---- SQPOLL, SQ full at teardown, wake message refused (defect 4) -------- */

struct td {
    th_lthread B;
    as_sem s, s3;
    th_rec rec;
    th_waiter tw, tw3;
    th_counter done;
    int pfd[2];
    char buf[64];
    int reads;
    int destroy_rc;
    bool woke;
    th_counter at_teardown;
    th_counter released;
};

static void td_cb_hook(th_waiter *tw, int status)
{
    (void)status;
    th_counter_add(&((struct td *)tw->user)->done, 1);
}

static void td_realtime(void *p)
{
    (void)p;
    if (!pin_self(1) || !realtime_self(true))
        th_fail("pin + SCHED_FIFO on the loop thread");
}

static void td_normal(void *p)
{
    (void)p;
    realtime_self(false);
    unpin_self();
}

/* On B: park a wait on `s` (the doorbell is armed). */
static void td_park(void *p)
{
    struct td *d = p;
    th_waiter_init(&d->tw, &d->rec, &d->B.L, 1);
    d->tw.on_cb = td_cb_hook;
    d->tw.user = d;
    if (th_sem_acquire(&d->tw, &d->s, 1) != 0)
        th_fail("the wait did not go pending");
}

/* On B: park a wait on `s3`, which a plain thread will release. */
static void td_park3(void *p)
{
    struct td *d = p;
    th_waiter_init(&d->tw3, &d->rec, &d->B.L, 3);
    d->tw3.on_cb = td_cb_hook;
    d->tw3.user = d;
    if (th_sem_acquire(&d->tw3, &d->s3, 1) != 0)
        th_fail("the wait did not go pending");
}

/* On B: hold the loop (no pump) until s3 was released, then run the
 * callbacks: the doorbell's CQE, already in B's CQ, is handled after, with
 * nothing pending, so the doorbell is not re-armed. */
static void td_hold(void *p)
{
    struct td *d = p;
    if (!th_counter_wait_ge(&d->released, 1, TH_TIMEOUT))
        th_fail("s3 was never released");
    th_loop_run(&d->B.L);
}

/* On B: teardown with B's SQ full; then sleep on the ring until something
 * wakes it. */
static void td_teardown(void *p)
{
    struct td *d = p;
    th_loop *L = &d->B.L;
    th_pump(L); /* consume the kick that brought this job */
    d->reads = queue_pipe_reads(L, d->pfd[0], d->buf);
    d->destroy_rc = as_loop_destroy(&L->loop);
    io_uring_submit(&L->ring);
    th_counter_add(&d->at_teardown, 1);
    /* The refusal happens on A's ring meanwhile: it must reach us, as a
     * CQE of the library's (R2's wait on as__msgs).  Another CQE may wake
     * us first: the harness's kick for this job, when it was not in yet at
     * the pump above (seen under TSan); it is not the wake looked for. */
    unsigned long ours = L->cqes_ours;
    double dl = th_now() + TH_TIMEOUT;
    while (L->cqes_ours == ours && th_now() < dl) {
        double left = dl - th_now();
        if (th_loop_wait(L, (unsigned)(left * 1000) + 1))
            th_pump(L);
    }
    d->woke = L->cqes_ours != ours;
    th_counter_add(&d->at_teardown, 1);
}

static void test_sqpoll_teardown_msg_refused(void **state)
{
    (void)state;
    if (!can_stall_sq_thread())
        skip();
    th_loop A;
    th_ring_params rp;
    assert_true(pin_self(0));
    /* A's wakes ride its ring from this test's code too */
    as_loop_options defer = { AS_LOOP_DEFER_WAKES, 0 };
    int r = th_loop_init_rp(&A, TH_RING, &defer, &(th_ring_params){ 8, 0, -1 });
    if (r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP)
        skip();
    assert_int_equal(r, 0);
    th_loop_run(&A);
    if (!(as_loop_caps(&A.loop) & AS_CAP_RING_WAKE)) {
        /* generic: no wake messages; nothing to refuse */
        th_loop_destroy(&A);
        skip();
    }
    struct td *d = th_zalloc(sizeof *d);
    th_sem_make(&d->s, 0);
    th_rec_init(&d->rec);
    th_counter_init(&d->done);
    th_counter_init(&d->at_teardown);
    th_counter_init(&d->released);
    assert_int_equal(pipe(d->pfd), 0);
    sq_ring_params(&rp, 4, 1);
    th_lthread_start_rp(&d->B, TH_RING, NULL, &rp);
    th_lthread_call(&d->B, td_realtime, d);
    th_lthread_call(&d->B, td_park, d);
    th_sem_make(&d->s3, 0);

    /* A releases: the wake for B is a message queued on A's ring. */
    unsigned before = io_uring_sq_ready(&A.ring);
    TH_RC(as_sem_release(&d->s, 1), 0);
    assert_int_equal(io_uring_sq_ready(&A.ring), before + 1);
    struct io_uring_sq *sq = &A.ring.sq;
    struct io_uring_sqe *msg = &sq->sqes[(sq->sqe_tail - 1) & *sq->kring_mask];
    assert_int_equal(msg->opcode, IORING_OP_MSG_RING);
    /* B learns of it another way and runs the callback: nothing pending. */
    th_loop_kick(&d->B.L);
    if (!th_counter_wait_ge(&d->done, 1, TH_TIMEOUT))
        fail_msg("B never ran its callback");

    /* B's doorbell completes while B has nothing left pending (a plain
     * thread's futex wake for another wait): from here nothing of B's is
     * armed, and the message is still on its way. */
    th_lthread_call(&d->B, td_park3, d);
    th_job hold;
    th_lthread_post(&d->B, &hold, td_hold, d);
    th_release rel = { &d->s3, 1, -1 };
    pthread_t t;
    th_thread_start(&t, th_release_thread, &rel);
    th_thread_join(t);
    TH_RC(rel.rc, 0);
    th_counter_add(&d->released, 1);
    th_lthread_wait_job(&d->B, &hold);
    if (!th_counter_wait_ge(&d->done, 2, TH_TIMEOUT))
        fail_msg("B never ran its second callback");

    th_job job;
    th_lthread_post(&d->B, &job, td_teardown, d);
    if (!th_counter_wait_ge(&d->at_teardown, 1, TH_TIMEOUT))
        fail_msg("B's teardown job did not run");
    /* Refuse the message: B, asleep in its teardown, must be woken. */
    msg->fd = -1;
    assert_true(io_uring_submit(&A.ring) >= 1);
    double dl = th_now() + TH_TIMEOUT;
    while (th_counter_get(&d->at_teardown) < 2 && th_now() < dl) {
        th_pump(&A);
        th_loop_wait(&A, 10);
    }
    th_lthread_wait_job(&d->B, &job);
    TH_RC(d->destroy_rc, -EAGAIN);
    if (!d->woke)
        fail_msg("teardown slept with nothing armed: the refused message's "
                 "wake reached nothing");

    th_lthread_call(&d->B, td_normal, d);
    /* B's loop is half torn down: the harness's teardown finishes it. */
    char bytes[64];
    memset(bytes, 'x', sizeof bytes);
    assert_int_equal(write(d->pfd[1], bytes, (size_t)d->reads), d->reads);
    assert_int_equal(th_lthread_stop(&d->B), 0);
    unpin_self();
    th_loop_destroy(&A);
    TH_RC(as_sem_destroy(&d->s), 0);
    TH_RC(as_sem_destroy(&d->s3), 0);
    close(d->pfd[0]);
    close(d->pfd[1]);
    th_counter_destroy(&d->done);
    th_counter_destroy(&d->at_teardown);
    th_counter_destroy(&d->released);
    free(d);
}

/* ---- IOPOLL rings (defect 3) ------------------------------------------- */

static void test_iopoll_refused(void **state)
{
    (void)state;
    struct io_uring ring;
    int r = io_uring_queue_init(8, &ring, IORING_SETUP_IOPOLL);
    if (r == -ENOSYS || r == -EPERM)
        skip();
    assert_int_equal(r, 0);
    as_loop loop, before;
    memset(&loop, 0xa5, sizeof loop);
    before = loop;
    TH_RC(as_loop_init_uring(&loop, &ring, NULL), -EOPNOTSUPP);
    assert_memory_equal(&loop, &before, sizeof loop);
    as_loop_options o = { 0, AS_CAP_FUTEX_WAIT };
    TH_RC(as_loop_init_uring(&loop, &ring, &o), -EOPNOTSUPP);
    assert_memory_equal(&loop, &before, sizeof loop);
    io_uring_queue_exit(&ring);
}

/* ---- a ring whose fd was closed (defect 6) ------------------------------ */

static void test_bad_ring_refused(void **state)
{
    (void)state;
    struct io_uring bad;
    int r = io_uring_queue_init(8, &bad, 0);
    if (r == -ENOSYS || r == -EPERM)
        skip();
    assert_int_equal(r, 0);
    int fd = bad.ring_fd;
    assert_int_equal(close(fd), 0);
    as_loop loop, before;
    memset(&loop, 0xa5, sizeof loop);
    before = loop;
    TH_RC(as_loop_init_uring(&loop, &bad, NULL), -EBADF);
    assert_memory_equal(&loop, &before, sizeof loop);
    /* An fd that is open but not an io_uring: also refused (the kernel
     * says -EOPNOTSUPP to io_uring_register on it; tests/fault/oldkernel's
     * filter answers -EINVAL for every fd, as a kernel without the probe
     * would for a real ring, so not under it). */
    if (!getenv("ASYNCSYNC_EXPECT_BACKEND")) {
        bad.ring_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(bad.ring_fd >= 0);
        TH_RC(as_loop_init_uring(&loop, &bad, NULL), -EBADF);
        assert_memory_equal(&loop, &before, sizeof loop);
        close(bad.ring_fd);
    }

    /* The refusals decided nothing for the process: a good ring gets the
     * backend the kernel and the environment say. */
    th_loop L;
    assert_int_equal(th_loop_init(&L, TH_RING, NULL), 0);
    const char *want = th_env_backend() ? th_env_backend() : th_default_backend();
    assert_string_equal(as_loop_backend(&L.loop), want);
    th_loop_destroy(&L);
    /* (the mmaps of `bad` are leaked: its fd is gone, so queue_exit would
     * close an unrelated fd) */
}

/* ---- fork(): the child starts with no current loop (defect 2) ---------- */

struct fk2 {
    th_lthread B;
    as_sem s;
    th_rec rec;
    th_waiter tw;
    th_counter done;
};

static void fk2_hook(th_waiter *tw, int status)
{
    (void)status;
    th_counter_add(&((struct fk2 *)tw->user)->done, 1);
}

static void fk2_park(void *p)
{
    struct fk2 *k = p;
    th_waiter_init(&k->tw, &k->rec, &k->B.L, 1);
    k->tw.on_cb = fk2_hook;
    k->tw.user = k;
    if (th_sem_acquire(&k->tw, &k->s, 1) != 0)
        th_fail("the child's wait did not go pending");
    io_uring_submit(&k->B.L.ring); /* doorbell in the kernel */
}

static int fork_child(void)
{
    th_child_mode = true;
    alarm(30);
    struct fk2 *k = th_zalloc(sizeof *k);
    th_sem_make(&k->s, 0);
    th_rec_init(&k->rec);
    th_counter_init(&k->done);
    th_lthread_start(&k->B, TH_RING, NULL);
    th_lthread_call(&k->B, fk2_park, k);
    /* This thread ran the parent's loop before the fork: in the child it
     * runs none, so the wake may not ride the parent's ring. */
    if (as_sem_release(&k->s, 1) != 0)
        return 10;
    if (!th_counter_wait_ge(&k->done, 1, TH_TIMEOUT))
        return 11; /* the wake went into the parent's ring: lost */
    if (th_lthread_stop(&k->B) != 0)
        return 12;
    if (as_sem_destroy(&k->s) != 0)
        return 13;
    return 0;
}

static void test_fork_child_has_no_loop(void **state)
{
    (void)state;
    th_loop A;
    th_rec rec;
    th_waiter tw;
    as_sem local;
    setup_or_skip(&A, &(th_ring_params){ 8, 0, -1 });
    th_rec_init(&rec);
    th_sem_make(&local, 0);
    /* Run A, with a wait of its own, as a real parent would at fork time. */
    th_waiter_init(&tw, &rec, &A, 1);
    TH_RC(th_sem_acquire(&tw, &local, 1), 0);
    th_pump(&A);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fork_child());
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFSIGNALED(st))
        fail_msg("child killed by signal %d", WTERMSIG(st));
    if (WEXITSTATUS(st) == 11)
        fail_msg("the child's wake rode the parent's ring and was lost");
    assert_int_equal(WEXITSTATUS(st), 0);
    /* The parent's loop still works. */
    TH_RC(as_sem_release(&local, 1), 0);
    th_rec_wait(&A, &rec, 1);
    th_loop_destroy(&A);
    TH_RC(as_sem_destroy(&local), 0);
}

/* ---- one release wakes more loops than there are message slots --------- */

enum { MANY = 20 };

struct many {
    th_lthread t[MANY];
    th_waiter tw[MANY];
    th_rec rec[MANY];
    as_sem s;
    th_counter done;
};

static void many_hook(th_waiter *tw, int status)
{
    (void)status;
    th_counter_add(tw->user, 1);
}

struct many_arg {
    struct many *m;
    int i;
};

static void many_park(void *p)
{
    struct many_arg *a = p;
    struct many *m = a->m;
    th_waiter_init(&m->tw[a->i], &m->rec[a->i], &m->t[a->i].L, a->i);
    m->tw[a->i].on_cb = many_hook;
    m->tw[a->i].user = &m->done;
    if (th_sem_acquire(&m->tw[a->i], &m->s, 1) != 0)
        th_fail("wait did not go pending");
    io_uring_submit(&m->t[a->i].L.ring);
}

static void test_wake_more_loops_than_slots(void **state)
{
    (void)state;
    struct many *m = th_zalloc(sizeof *m);
    th_loop A;
    setup_or_skip(&A, &(th_ring_params){ 64, 0, -1 });
    th_loop_run(&A);
    th_sem_make(&m->s, 0);
    th_counter_init(&m->done);
    for (int i = 0; i < MANY; i++) {
        struct many_arg a = { m, i };
        th_rec_init(&m->rec[i]);
        th_lthread_start(&m->t[i], TH_RING, NULL);
        th_lthread_call(&m->t[i], many_park, &a);
    }
    /* One call, MANY sleeping loops: some wakes go as messages on A's ring,
     * the rest by futex(2); none may be lost (each loop thread fails on a
     * callback found without a wake). */
    TH_RC(as_sem_release(&m->s, MANY), 0);
    th_pump(&A); /* submits the messages */
    if (!th_counter_wait_ge(&m->done, MANY, TH_TIMEOUT))
        fail_msg("only %lld of %d loops were woken", th_counter_get(&m->done), MANY);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(th_lthread_stop(&m->t[i]), 0);
    th_loop_destroy(&A);
    TH_RC(as_sem_destroy(&m->s), 0);
    th_counter_destroy(&m->done);
    free(m);
}

/* ---- every ring flavour ------------------------------------------------- */

struct flavour {
    const char *name;
    unsigned flags;
    bool register_fd;
};

static const struct flavour flavours[] = {
    { "plain", 0, false },
    { "COOP_TASKRUN", IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, false },
    { "SINGLE_ISSUER|DEFER_TASKRUN", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, false },
    { "SQPOLL", IORING_SETUP_SQPOLL, false },
    { "SQE128|CQE32", IORING_SETUP_SQE128 | IORING_SETUP_CQE32, false },
    { "registered ring fd", 0, true },
};

struct fl {
    th_lthread B;
    as_sem s;
    as_mutex m;
    as_event e;
    th_rec rec;
    th_waiter tw[4];
    th_counter done;
    bool register_fd;
    int reg_rc;
    int cancel_rc;
};

static void fl_hook(th_waiter *tw, int status)
{
    (void)status;
    th_counter_add(tw->user, 1);
}

static void fl_register(void *p)
{
    struct fl *f = p;
    f->reg_rc = f->register_fd ? io_uring_register_ring_fd(&f->B.L.ring) : 1;
}

static void fl_park(void *p)
{
    struct fl *f = p;
    for (int i = 0; i < 4; i++) {
        th_waiter_init(&f->tw[i], &f->rec, &f->B.L, i + 1);
        f->tw[i].on_cb = fl_hook;
        f->tw[i].user = &f->done;
    }
    int r0 = th_sem_acquire(&f->tw[0], &f->s, 1);
    int r1 = th_mutex_lock(&f->tw[1], &f->m, true);
    int r2 = th_event_wait(&f->tw[2], &f->e);
    int r3 = th_sem_acquire(&f->tw[3], &f->s, 5);
    if (r0 != 0 || r1 != 0 || r2 != 0 || r3 != 0)
        th_fail("the flavour's waits did not go pending");
}

static void fl_cancel(void *p)
{
    struct fl *f = p;
    f->cancel_rc = as_cancel(&f->tw[3].w);
}

static void *fl_plain_set(void *p)
{
    if (as_event_set(p) != 0)
        th_fail("as_event_set");
    return NULL;
}

static void run_flavour(const struct flavour *fv, bool sender_too)
{
    struct fl *f = th_zalloc(sizeof *f);
    th_loop A;
    th_ring_params rp = { 16, fv->flags, -1 };
    th_ring_params arp = sender_too ? rp : (th_ring_params){ 16, 0, -1 };
    int r = th_loop_init_rp(&A, TH_RING, NULL, &arp);
    if (r == -EINVAL || r == -ENOSYS || r == -EPERM) {
        printf("  [ SKIP ] %s: the kernel refused the ring (%s)\n", fv->name, th_errname(r));
        free(f);
        return;
    }
    assert_int_equal(r, 0);
    if (sender_too && fv->register_fd)
        assert_int_equal(io_uring_register_ring_fd(&A.ring), 1);
    th_loop_run(&A);
    th_sem_make(&f->s, 0);
    th_mutex_make(&f->m, 0);
    th_event_make(&f->e, AS_EVENT_MANUAL_RESET);
    th_rec_init(&f->rec);
    th_counter_init(&f->done);
    f->register_fd = fv->register_fd;
    TH_RC(as_mutex_try_lock(&f->m), 1);
    th_lthread_start_rp(&f->B, TH_RING, NULL, &rp);
    th_lthread_call(&f->B, fl_register, f);
    assert_int_equal(f->reg_rc, 1);
    th_lthread_call(&f->B, fl_park, f);

    /* From loop A's thread (a message where the backend has them)... */
    TH_RC(as_sem_release(&f->s, 1), 0);
    TH_RC(as_mutex_unlock(&f->m), 0);
    th_pump(&A);
    if (!th_counter_wait_ge(&f->done, 2, TH_TIMEOUT))
        fail_msg("%s: wakes from another loop were lost", fv->name);
    /* ...from a plain thread (futex(2) or eventfd)... */
    pthread_t t;
    th_thread_start(&t, fl_plain_set, &f->e);
    th_thread_join(t);
    if (!th_counter_wait_ge(&f->done, 3, TH_TIMEOUT))
        fail_msg("%s: a wake from a plain thread was lost", fv->name);
    /* ...and a cancel on the loop's thread. */
    th_lthread_call(&f->B, fl_cancel, f);
    TH_RC(f->cancel_rc, 0);
    if (!th_counter_wait_ge(&f->done, 4, TH_TIMEOUT))
        fail_msg("%s: the cancelled wait's callback never ran", fv->name);
    assert_int_equal(th_lthread_stop(&f->B), 0);
    assert_int_equal(th_rec_status_of(&f->rec, 4), -ECANCELED);
    th_rec_assert_clean(&f->rec);
    th_pump(&A);
    th_loop_destroy(&A);
    TH_RC(as_sem_destroy(&f->s), 0);
    TH_RC(as_mutex_destroy(&f->m), 0);
    TH_RC(as_event_destroy(&f->e), 0);
    th_counter_destroy(&f->done);
    free(f);
}

static void test_ring_flavours(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof flavours / sizeof flavours[0]; i++) {
        printf("  flavour %s (waiter's ring)\n", flavours[i].name);
        run_flavour(&flavours[i], false);
        printf("  flavour %s (both rings)\n", flavours[i].name);
        run_flavour(&flavours[i], true);
    }
}

/* A failed test may leave this thread pinned and realtime. */
static int restore_sched(void **state)
{
    (void)state;
    realtime_self(false);
    unpin_self();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sqpoll_full_at_park, restore_sched),
        cmocka_unit_test_teardown(test_sqpoll_teardown_msg_refused, restore_sched),
        cmocka_unit_test(test_iopoll_refused),
        cmocka_unit_test(test_bad_ring_refused),
        cmocka_unit_test(test_fork_child_has_no_loop),
        cmocka_unit_test(test_wake_more_loops_than_slots),
        cmocka_unit_test(test_ring_flavours),
    };
    return TH_MAIN("rings", tests);
}
