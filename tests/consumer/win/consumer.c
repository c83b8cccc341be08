/*
 * Windows install check: an application written only against the installed
 * <asyncsync.h> and libasyncsync.a, built with a plain
 *
 *   x86_64-w64-mingw32-gcc -std=c11 -static consumer.c -I<prefix>/include \
 *       <prefix>/lib/libasyncsync.a
 *
 * (tests/consumer/check-windows.sh does that and runs it under Wine).
 *
 * Two loop threads each create an I/O completion port, bind an as_loop to it
 * and run it with GetQueuedCompletionStatusEx.  The main thread drives the
 * checks by posting commands to the loops' ports (the application's own
 * packets, next to the library's) and waits for each check to finish, with a
 * time limit: a lost wake-up fails the check instead of hanging it.  Checks:
 *
 *   bad input     -EINVAL (and friends) for bad arguments, before any thread
 *   semaphore     shared by both loops: permits in use never above the count,
 *                 every acquisition happens, the count is whole afterwards
 *   mutex         shared by both loops, held across a loop iteration: a plain
 *                 counter incremented under it reaches the exact total
 *   condvar       bounded queue: producer on loop 0, consumer on loop 1,
 *                 items arrive complete and in order, callbacks hold the mutex
 *   event         set from a plain thread that runs no loop: wakes the
 *                 waiters of both loops (manual-reset: all; auto-reset: one
 *                 per set)
 *   cancel        each kind of pending wait cancelled ends once with
 *                 -ECANCELED; a cancelled head lets the next waiter through
 *   cancel race   a cancel racing a release from another thread: the wait
 *                 ends once, with 0 (it holds the permit) or -ECANCELED (the
 *                 permit is still in the semaphore); never lost, never twice
 *   teardown      both loops destroyed with the -EAGAIN idiom, no problem
 *                 found after its check ended; and a loop whose wake packet
 *                 is still in its port says -EAGAIN until it is dequeued
 *
 * One line per check; exit 0 only when every check passed.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <process.h>

#include <asyncsync.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NLOOPS   2
#define STEP_MS  10000 /* each check must finish within this (a watchdog) */
#define KEY_APP  1     /* completion key of this program's own packets */

/* ---- the loop threads --------------------------------------------------- */

struct lt;

/* A packet this program posts to a loop's own port: a function to run on
 * that loop's thread (a command from main, or a task continuing after a
 * loop iteration). */
struct op {
    OVERLAPPED ov;
    void (*fn)(struct lt *lt, struct op *op);
};

struct lt {
    int id;
    HANDLE thread;
    DWORD tid;
    HANDLE port;
    HANDLE ready;          /* set once the port and loop exist */
    as_loop loop;
    bool quit;
    int init_rc, destroy_rc;
    unsigned eagain;
    unsigned long lib_packets, own_packets;
};

static struct lt loops[NLOOPS];
static volatile LONG errors_total;  /* every problem found, at any time */
static int failed_checks;

static void fatal(const char *what, DWORD err)
{
    printf("FAIL  %s: error %lu\n", what, (unsigned long)err);
    fflush(stdout);
    TerminateProcess(GetCurrentProcess(), 1);
}

static void post(struct lt *lt, struct op *op,
                 void (*fn)(struct lt *lt, struct op *op))
{
    memset(&op->ov, 0, sizeof op->ov);
    op->fn = fn;
    if (!PostQueuedCompletionStatus(lt->port, 0, KEY_APP, &op->ov))
        fatal("PostQueuedCompletionStatus", GetLastError());
}

/* Dequeue a batch of completions; offer each to the library first. */
static void dequeue(struct lt *lt)
{
    OVERLAPPED_ENTRY e[16];
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(lt->port, e, 16, &n, INFINITE, FALSE))
        fatal("GetQueuedCompletionStatusEx", GetLastError());
    for (ULONG i = 0; i < n; i++) {
        if (as_loop_handle_completion(&lt->loop, &e[i])) {
            lt->lib_packets++;
        } else if (e[i].lpCompletionKey == KEY_APP && e[i].lpOverlapped) {
            struct op *op = CONTAINING_RECORD(e[i].lpOverlapped, struct op, ov);
            lt->own_packets++;
            op->fn(lt, op);
        } else {
            printf("FAIL  loop %d: a completion that is neither ours nor the"
                   " library's\n", lt->id);
            InterlockedIncrement(&errors_total);
        }
    }
}

static unsigned __stdcall loop_main(void *arg)
{
    struct lt *lt = arg;
    int r;
    lt->tid = GetCurrentThreadId();
    lt->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!lt->port)
        fatal("CreateIoCompletionPort", GetLastError());
    lt->init_rc = as_loop_init_iocp(&lt->loop, lt->port, NULL);
    SetEvent(lt->ready);
    if (lt->init_rc != 0)
        return 1;
    while (!lt->quit) {
        if ((r = as_loop_run(&lt->loop)) < 0) {
            printf("FAIL  loop %d: as_loop_run: %s\n", lt->id, as_strerror(r));
            InterlockedIncrement(&errors_total);
        }
        if (lt->quit)
            break;
        dequeue(lt);
    }
    /* Teardown: -EAGAIN while wake packets of the loop are in the port. */
    while ((r = as_loop_destroy(&lt->loop)) == -EAGAIN) {
        lt->eagain++;
        dequeue(lt);
    }
    lt->destroy_rc = r;
    CloseHandle(lt->port);
    return 0;
}

static void on_quit(struct lt *lt, struct op *op)
{
    (void)op;
    lt->quit = true;
}

/* ---- checks ------------------------------------------------------------- */

struct check {
    const char *name;
    volatile LONG errors;
    volatile LONG parts;   /* parts still running; 0: the check is over */
    HANDLE done;           /* set when parts reaches 0 */
};

static void bad(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "   %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    InterlockedIncrement(&c->errors);
    InterlockedIncrement(&errors_total);
}

static void check_start(struct check *c, const char *name, LONG parts)
{
    c->name = name;
    c->errors = 0;
    c->parts = parts;
    c->done = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (!c->done)
        fatal("CreateEvent", GetLastError());
}

static void part_done(struct check *c)
{
    if (InterlockedDecrement(&c->parts) == 0)
        SetEvent(c->done);
}

/* Wait for every part of the check, within STEP_MS. */
static void check_wait(struct check *c)
{
    if (WaitForSingleObject(c->done, STEP_MS) != WAIT_OBJECT_0) {
        printf("FAIL  %s: not finished after %d s (lost wake-up?)\n", c->name,
               STEP_MS / 1000);
        fflush(stdout);
        TerminateProcess(GetCurrentProcess(), 1);
    }
}

/* Print the check's line: PASS when `ok` and no error was recorded. */
static void check_end(struct check *c, bool ok, const char *fmt, ...)
{
    va_list ap;
    bool pass = ok && c->errors == 0;
    printf("%s  %-12s ", pass ? "PASS" : "FAIL", c->name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (c->errors)
        printf(" (%ld problems, see stderr)", (long)c->errors);
    printf("\n");
    fflush(stdout);
    if (!pass)
        failed_checks++;
    CloseHandle(c->done);
}

/* A callback is owed after an *_async call returned 0; when it runs it must
 * be owed (so: exactly once) and run on its loop's thread. */
static void owe(struct check *c, bool *owed)
{
    if (*owed)
        bad(c, "a wait went pending while a callback was still owed on it");
    *owed = true;
}

static void entered(struct check *c, bool *owed, const struct lt *lt,
                    const char *what, int status, int expected)
{
    if (!*owed)
        bad(c, "%s: callback ran but none was owed (a second run?)", what);
    *owed = false;
    if (GetCurrentThreadId() != lt->tid)
        bad(c, "%s: callback not on its loop's thread", what);
    if (status != expected)
        bad(c, "%s: status %d (%s), expected %d", what, status,
            as_strerror(status), expected);
}

#define EXPECT(c, call, want)                                                  \
    do {                                                                       \
        int got_ = (call);                                                     \
        if (got_ != (want))                                                    \
            bad((c), "%s returned %d (%s), expected %s", #call, got_,          \
                got_ < 0 ? as_strerror(got_) : "-", #want);                    \
    } while (0)

/* ---- bad input ---------------------------------------------------------- */

static void noop_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)status, (void)arg;
}

static void check_bad_input(void)
{
    struct check c;
    as_loop loop, fresh;
    as_loop_options opts;
    as_sem s;
    as_mutex m = AS_MUTEX_INITIALIZER, m2;
    as_event e;
    as_wait w;
    OVERLAPPED_ENTRY foreign;
    HANDLE port, closed;

    check_start(&c, "bad input", 0);
    memset(&loop, 0, sizeof loop);
    memset(&fresh, 0, sizeof fresh);
    memset(&s, 0, sizeof s);
    memset(&e, 0, sizeof e);
    memset(&m2, 0, sizeof m2);
    memset(&w, 0, sizeof w);
    memset(&foreign, 0, sizeof foreign);
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    closed = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!port || !closed)
        fatal("CreateIoCompletionPort", GetLastError());
    CloseHandle(closed);

    EXPECT(&c, as_loop_init_iocp(NULL, port, NULL), -EINVAL);
    EXPECT(&c, as_loop_init_iocp(&fresh, NULL, NULL), -EINVAL);
    EXPECT(&c, as_loop_init_iocp(&fresh, INVALID_HANDLE_VALUE, NULL), -EINVAL);
    EXPECT(&c, as_loop_init_iocp(&fresh, closed, NULL), -EBADF);
    opts.flags = 0x80000000u; /* reserved */
    opts.disabled_caps = 0;
    EXPECT(&c, as_loop_init_iocp(&fresh, port, &opts), -EINVAL);
    EXPECT(&c, as_loop_init_uring(&fresh, (struct io_uring *)(void *)&foreign,
                                  NULL), -EOPNOTSUPP); /* not Linux */
    EXPECT(&c, as_loop_run(&fresh), -EINVAL); /* never initialised */
    EXPECT(&c, as_loop_destroy(&fresh), -EINVAL);
    if (as_loop_backend(&fresh) != NULL)
        bad(&c, "as_loop_backend of an uninitialised loop is not NULL");

    EXPECT(&c, as_loop_init_iocp(&loop, port, NULL), 0);
    if (!as_loop_backend(&loop) || strcmp(as_loop_backend(&loop), "iocp") != 0)
        bad(&c, "backend is %s, expected iocp",
            as_loop_backend(&loop) ? as_loop_backend(&loop) : "NULL");
    if (as_loop_handle_completion(NULL, &foreign) ||
        as_loop_handle_completion(&loop, NULL) ||
        as_loop_handle_completion(&loop, &foreign))
        bad(&c, "as_loop_handle_completion claimed a packet not its own");

    EXPECT(&c, as_sem_init(&s, AS_SEM_VALUE_MAX + 1u, 0), -EINVAL);
    EXPECT(&c, as_sem_init(&s, 1, 0), 0);
    /* memory that looks used is never refused (re-initialising an object
     * with waiters is undefined, as with pthread_mutex_init) */
    EXPECT(&c, as_sem_init(&s, 1, 0), 0);
    EXPECT(&c, as_sem_acquire_async(&s, &loop, &w, 0, noop_cb, NULL), -EINVAL);
    EXPECT(&c, as_sem_acquire_async(&s, &loop, &w, 1, NULL, NULL), -EINVAL);
    EXPECT(&c, as_sem_acquire_async(&s, NULL, &w, 1, noop_cb, NULL), -EINVAL);
    EXPECT(&c, as_sem_acquire_async(&s, &fresh, &w, 1, noop_cb, NULL), -EINVAL);
    EXPECT(&c, as_sem_release(&s, 0), -EINVAL);
    EXPECT(&c, as_sem_release(&s, AS_SEM_VALUE_MAX), -EOVERFLOW);
    EXPECT(&c, as_sem_destroy(&s), 0);
    EXPECT(&c, as_sem_try_acquire(&s, 1), -EINVAL); /* destroyed */
    EXPECT(&c, as_mutex_unlock(&m), -EPERM);
    EXPECT(&c, as_mutex_init(&m, 0), 0); /* over a static initialiser */
    EXPECT(&c, as_mutex_init(&m2, 0x80), -EINVAL); /* unknown flag */
    EXPECT(&c, as_event_init(&e, 0x80), -EINVAL);
    EXPECT(&c, as_cancel(NULL), -EINVAL);
    EXPECT(&c, as_cancel(&w), -ENOENT);
    EXPECT(&c, as_loop_destroy(&loop), 0);
    CloseHandle(port);
    check_end(&c, true, "init/destroy/acquire/release/cancel refuse bad"
              " arguments (-EINVAL, -EBADF, -EPERM, -EOVERFLOW)");
}

/* ---- semaphore ---------------------------------------------------------- */

#define SEM_PERMITS 3
#define SEM_TASKS   6   /* per loop; each asks for 1 or 2 permits */
#define SEM_ROUNDS  150

struct sem_task {
    struct op op;      /* "release after one loop iteration" */
    struct lt *lt;
    as_wait w;
    bool owed;
    unsigned n, rounds;
};

static struct {
    struct check c;
    as_sem s;
    volatile LONG in_use, peak, acquired, pended;
    LONG finished[NLOOPS];
    struct sem_task tasks[NLOOPS][SEM_TASKS];
    struct op start[NLOOPS];
} S;

static void sem_next(struct sem_task *t);

static void sem_release_op(struct lt *lt, struct op *op)
{
    struct sem_task *t = CONTAINING_RECORD(op, struct sem_task, op);
    (void)lt;
    InterlockedExchangeAdd(&S.in_use, -(LONG)t->n); /* before the release */
    EXPECT(&S.c, as_sem_release(&S.s, t->n), 0);
    t->rounds++;
    sem_next(t);
}

static void sem_got(struct sem_task *t)
{
    LONG now = InterlockedExchangeAdd(&S.in_use, (LONG)t->n) + (LONG)t->n;
    LONG peak = S.peak;
    InterlockedIncrement(&S.acquired);
    if (now > SEM_PERMITS)
        bad(&S.c, "%ld permits in use, only %d exist", (long)now, SEM_PERMITS);
    while (now > peak) {
        LONG seen = InterlockedCompareExchange(&S.peak, now, peak);
        if (seen == peak)
            break;
        peak = seen;
    }
    /* Hold the permits across a loop iteration: others queue meanwhile. */
    post(t->lt, &t->op, sem_release_op);
}

static void sem_cb(as_wait *w, int status, void *arg)
{
    struct sem_task *t = arg;
    (void)w;
    entered(&S.c, &t->owed, t->lt, "semaphore", status, 0);
    if (status == 0)
        sem_got(t);
}

static void sem_next(struct sem_task *t)
{
    int r;
    if (t->rounds == SEM_ROUNDS) {
        if (++S.finished[t->lt->id] == SEM_TASKS)
            part_done(&S.c);
        return;
    }
    r = as_sem_acquire_async(&S.s, &t->lt->loop, &t->w, t->n, sem_cb, t);
    if (r == 1) {
        sem_got(t);
    } else if (r == 0) {
        InterlockedIncrement(&S.pended);
        owe(&S.c, &t->owed);
    } else {
        bad(&S.c, "as_sem_acquire_async: %s", as_strerror(r));
    }
}

static void sem_start(struct lt *lt, struct op *op)
{
    (void)op;
    for (int k = 0; k < SEM_TASKS; k++) {
        struct sem_task *t = &S.tasks[lt->id][k];
        t->lt = lt;
        t->n = 1u + (unsigned)(k % 2);
        sem_next(t);
    }
}

static void check_semaphore(void)
{
    const LONG expected = NLOOPS * SEM_TASKS * SEM_ROUNDS;
    check_start(&S.c, "semaphore", NLOOPS);
    EXPECT(&S.c, as_sem_init(&S.s, SEM_PERMITS, 0), 0);
    for (int i = 0; i < NLOOPS; i++)
        post(&loops[i], &S.start[i], sem_start);
    check_wait(&S.c);
    if (S.acquired != expected)
        bad(&S.c, "%ld acquisitions, expected %ld", (long)S.acquired, (long)expected);
    if (S.in_use != 0 || as_sem_value(&S.s) != SEM_PERMITS)
        bad(&S.c, "afterwards: %ld in use, value %lld, expected 0 and %d",
            (long)S.in_use, (long long)as_sem_value(&S.s), SEM_PERMITS);
    EXPECT(&S.c, as_sem_destroy(&S.s), 0);
    check_end(&S.c, S.peak <= SEM_PERMITS,
              "%ld acquisitions of 1-2 permits by %d tasks on 2 loops, %ld went"
              " pending, peak %ld of %d permits in use", (long)S.acquired,
              NLOOPS * SEM_TASKS, (long)S.pended, (long)S.peak, SEM_PERMITS);
}

/* ---- mutex -------------------------------------------------------------- */

#define MTX_TASKS  4   /* per loop */
#define MTX_ROUNDS 200

struct mtx_task {
    struct op op;      /* "finish the increment after one loop iteration" */
    struct lt *lt;
    as_wait w;
    bool owed;
    unsigned rounds;
    uint64_t seen;
};

static struct {
    struct check c;
    as_mutex m;
    uint64_t counter;  /* plain: guarded by m */
    volatile LONG holders, pended;
    LONG finished[NLOOPS];
    struct mtx_task tasks[NLOOPS][MTX_TASKS];
    struct op start[NLOOPS];
} M;

static void mtx_next(struct mtx_task *t);

/* Second half of the increment, one loop iteration after the first: any
 * other holder in between would make the counter lose an increment. */
static void mtx_finish_op(struct lt *lt, struct op *op)
{
    struct mtx_task *t = CONTAINING_RECORD(op, struct mtx_task, op);
    (void)lt;
    M.counter = t->seen + 1;
    InterlockedDecrement(&M.holders);
    EXPECT(&M.c, as_mutex_unlock(&M.m), 0);
    t->rounds++;
    mtx_next(t);
}

static void mtx_locked(struct mtx_task *t)
{
    if (InterlockedIncrement(&M.holders) != 1)
        bad(&M.c, "two holders at once");
    t->seen = M.counter;
    post(t->lt, &t->op, mtx_finish_op);
}

static void mtx_cb(as_wait *w, int status, void *arg)
{
    struct mtx_task *t = arg;
    (void)w;
    entered(&M.c, &t->owed, t->lt, "mutex", status, 0);
    if (status == 0)
        mtx_locked(t);
}

static void mtx_next(struct mtx_task *t)
{
    int r;
    if (t->rounds == MTX_ROUNDS) {
        if (++M.finished[t->lt->id] == MTX_TASKS)
            part_done(&M.c);
        return;
    }
    r = as_mutex_lock_async(&M.m, &t->lt->loop, &t->w, mtx_cb, t);
    if (r == 1) {
        mtx_locked(t);
    } else if (r == 0) {
        InterlockedIncrement(&M.pended);
        owe(&M.c, &t->owed);
    } else {
        bad(&M.c, "as_mutex_lock_async: %s", as_strerror(r));
    }
}

static void mtx_start(struct lt *lt, struct op *op)
{
    (void)op;
    for (int k = 0; k < MTX_TASKS; k++) {
        M.tasks[lt->id][k].lt = lt;
        mtx_next(&M.tasks[lt->id][k]);
    }
}

static void check_mutex(void)
{
    const uint64_t expected = NLOOPS * MTX_TASKS * MTX_ROUNDS;
    check_start(&M.c, "mutex", NLOOPS);
    EXPECT(&M.c, as_mutex_init(&M.m, 0), 0);
    for (int i = 0; i < NLOOPS; i++)
        post(&loops[i], &M.start[i], mtx_start);
    check_wait(&M.c);
    EXPECT(&M.c, as_mutex_try_lock(&M.m), 1); /* free again */
    EXPECT(&M.c, as_mutex_unlock(&M.m), 0);
    EXPECT(&M.c, as_mutex_destroy(&M.m), 0);
    check_end(&M.c, M.counter == expected,
              "plain counter %llu (expected %llu) incremented under the lock"
              " held across a loop iteration, %ld lock waits went pending",
              (unsigned long long)M.counter, (unsigned long long)expected,
              (long)M.pended);
}

/* ---- condvar ------------------------------------------------------------ */

#define CV_ITEMS 3000
#define CV_CAP   4

static struct {
    struct check c;
    as_mutex m;
    as_cond not_empty, not_full;
    uint32_t buf[CV_CAP];  /* guarded by m */
    unsigned head, count;
    uint32_t sent, received;
    uint64_t sum;
    as_wait pw, cw;        /* the producer's and the consumer's wait */
    bool powed, cowed;
    struct lt *prod, *cons;
    unsigned prod_waits, cons_waits;
    struct op start[NLOOPS];
} Q;

static void producer_step(void);
static void consumer_step(void);
static void prod_cb(as_wait *w, int status, void *arg);
static void cons_cb(as_wait *w, int status, void *arg);

/* The mutex is locked (by us: nobody else may run while we hold it). */
static bool mutex_is_held(void) { return as_mutex_try_lock(&Q.m) == 0; }

/* Holding m: push one item, or wait for room.  True when it pushed (and
 * unlocked); false when it went to wait (m released by the wait) or failed. */
static bool producer_locked(void)
{
    if (!mutex_is_held())
        bad(&Q.c, "producer runs without the mutex");
    if (Q.count == CV_CAP) {
        /* Releases m and waits for a signal; the callback holds m again. */
        int r = as_cond_wait_async(&Q.not_full, &Q.m, &Q.prod->loop, &Q.pw,
                                   prod_cb, NULL);
        if (r == 0) {
            Q.prod_waits++;
            owe(&Q.c, &Q.powed);
        } else {
            bad(&Q.c, "producer: as_cond_wait_async returned %d", r);
            as_mutex_unlock(&Q.m);
        }
        return false;
    }
    Q.buf[(Q.head + Q.count) % CV_CAP] = Q.sent++;
    Q.count++;
    EXPECT(&Q.c, as_cond_signal(&Q.not_empty), 0);
    EXPECT(&Q.c, as_mutex_unlock(&Q.m), 0);
    return true;
}

static void producer_step(void)
{
    for (;;) {
        int r;
        if (Q.sent == CV_ITEMS) {
            part_done(&Q.c);
            return;
        }
        r = as_mutex_lock_async(&Q.m, &Q.prod->loop, &Q.pw, prod_cb, NULL);
        if (r == 0) {
            owe(&Q.c, &Q.powed);
            return;
        }
        if (r != 1) {
            bad(&Q.c, "producer: as_mutex_lock_async: %s", as_strerror(r));
            return;
        }
        if (!producer_locked())
            return;
    }
}

/* Both the lock wait and the condvar wait end here, holding m. */
static void prod_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    entered(&Q.c, &Q.powed, Q.prod, "producer", status, 0);
    if (producer_locked())
        producer_step();
}

/* Holding m: take one item, or wait for one.  True when it took one. */
static bool consumer_locked(void)
{
    uint32_t item;
    if (!mutex_is_held())
        bad(&Q.c, "consumer runs without the mutex");
    if (Q.count == 0) {
        int r = as_cond_wait_async(&Q.not_empty, &Q.m, &Q.cons->loop, &Q.cw,
                                   cons_cb, NULL);
        if (r == 0) {
            Q.cons_waits++;
            owe(&Q.c, &Q.cowed);
        } else {
            bad(&Q.c, "consumer: as_cond_wait_async returned %d", r);
            as_mutex_unlock(&Q.m);
        }
        return false;
    }
    item = Q.buf[Q.head];
    Q.head = (Q.head + 1) % CV_CAP;
    Q.count--;
    if (item != Q.received)
        bad(&Q.c, "item %u arrived where %u was due", item, Q.received);
    Q.received++;
    Q.sum += item;
    EXPECT(&Q.c, as_cond_signal(&Q.not_full), 0);
    EXPECT(&Q.c, as_mutex_unlock(&Q.m), 0);
    return true;
}

static void consumer_step(void)
{
    for (;;) {
        int r;
        if (Q.received == CV_ITEMS) {
            part_done(&Q.c);
            return;
        }
        r = as_mutex_lock_async(&Q.m, &Q.cons->loop, &Q.cw, cons_cb, NULL);
        if (r == 0) {
            owe(&Q.c, &Q.cowed);
            return;
        }
        if (r != 1) {
            bad(&Q.c, "consumer: as_mutex_lock_async: %s", as_strerror(r));
            return;
        }
        if (!consumer_locked())
            return;
    }
}

/* Both the lock wait and the condvar wait end here, holding m. */
static void cons_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    entered(&Q.c, &Q.cowed, Q.cons, "consumer", status, 0);
    if (consumer_locked())
        consumer_step();
}

static void cv_start(struct lt *lt, struct op *op)
{
    (void)op;
    if (lt == Q.prod)
        producer_step();
    else
        consumer_step();
}

static void check_condvar(void)
{
    const uint64_t expected_sum = (uint64_t)CV_ITEMS * (CV_ITEMS - 1) / 2;
    check_start(&Q.c, "condvar", 2);
    Q.prod = &loops[0];
    Q.cons = &loops[1];
    EXPECT(&Q.c, as_mutex_init(&Q.m, 0), 0);
    EXPECT(&Q.c, as_cond_init(&Q.not_empty, 0), 0);
    EXPECT(&Q.c, as_cond_init(&Q.not_full, 0), 0);
    post(Q.cons, &Q.start[1], cv_start);
    post(Q.prod, &Q.start[0], cv_start);
    check_wait(&Q.c);
    EXPECT(&Q.c, as_cond_destroy(&Q.not_empty), 0);
    EXPECT(&Q.c, as_cond_destroy(&Q.not_full), 0);
    EXPECT(&Q.c, as_mutex_destroy(&Q.m), 0);
    check_end(&Q.c, Q.received == CV_ITEMS && Q.sum == expected_sum && Q.count == 0,
              "%u items through a %d-slot queue, loop 0 -> loop 1, in order;"
              " producer waited %u times, consumer %u", Q.received, CV_CAP,
              Q.prod_waits, Q.cons_waits);
}

/* ---- event -------------------------------------------------------------- */

#define EV_WAITERS 4 /* per loop and per event */

struct ev_wait {
    as_wait w;
    struct lt *lt;
    bool owed;
    int calls;
};

static struct {
    struct check armed, c;
    as_event manual, autoev;
    struct ev_wait man[NLOOPS][EV_WAITERS], aut[NLOOPS][EV_WAITERS];
    LONG woken[NLOOPS];
    struct op start[NLOOPS];
} E;

static void ev_cb(as_wait *w, int status, void *arg)
{
    struct ev_wait *v = arg;
    (void)w;
    entered(&E.c, &v->owed, v->lt, "event", status, 0);
    v->calls++;
    if (++E.woken[v->lt->id] == 2 * EV_WAITERS)
        part_done(&E.c);
}

static void ev_arm(struct lt *lt, struct op *op)
{
    (void)op;
    for (int k = 0; k < EV_WAITERS; k++) {
        struct ev_wait *a = &E.man[lt->id][k], *b = &E.aut[lt->id][k];
        a->lt = b->lt = lt;
        if (as_event_wait_async(&E.manual, &lt->loop, &a->w, ev_cb, a) == 0)
            owe(&E.c, &a->owed);
        else
            bad(&E.c, "a wait on the unset manual event did not go pending");
        if (as_event_wait_async(&E.autoev, &lt->loop, &b->w, ev_cb, b) == 0)
            owe(&E.c, &b->owed);
        else
            bad(&E.c, "a wait on the unset auto-reset event did not go pending");
    }
    part_done(&E.armed);
}

/* A plain thread: no loop, no port. */
static unsigned __stdcall setter_main(void *arg)
{
    (void)arg;
    EXPECT(&E.c, as_event_set(&E.manual), 0);
    for (int i = 0; i < NLOOPS * EV_WAITERS; i++)
        EXPECT(&E.c, as_event_set(&E.autoev), 0); /* one waiter per set */
    return 0;
}

static void check_event(void)
{
    HANDLE setter;
    int once = 0;
    check_start(&E.c, "event", NLOOPS);
    check_start(&E.armed, "event", NLOOPS);
    EXPECT(&E.c, as_event_init(&E.manual, AS_EVENT_MANUAL_RESET), 0);
    EXPECT(&E.c, as_event_init(&E.autoev, 0), 0);
    for (int i = 0; i < NLOOPS; i++)
        post(&loops[i], &E.start[i], ev_arm);
    check_wait(&E.armed);
    CloseHandle(E.armed.done);
    setter = (HANDLE)_beginthreadex(NULL, 0, setter_main, NULL, 0, NULL);
    if (!setter)
        fatal("_beginthreadex", (DWORD)errno);
    check_wait(&E.c);
    if (WaitForSingleObject(setter, STEP_MS) != WAIT_OBJECT_0)
        fatal("setter thread did not end", 0);
    CloseHandle(setter);
    for (int i = 0; i < NLOOPS; i++)
        for (int k = 0; k < EV_WAITERS; k++)
            once += E.man[i][k].calls == 1 && E.aut[i][k].calls == 1;
    EXPECT(&E.c, as_event_is_set(&E.manual), 1);  /* stays set */
    EXPECT(&E.c, as_event_is_set(&E.autoev), 0);  /* every set consumed */
    EXPECT(&E.c, as_event_reset(&E.manual), 0);
    EXPECT(&E.c, as_event_destroy(&E.manual), 0);
    EXPECT(&E.c, as_event_destroy(&E.autoev), 0);
    check_end(&E.c, once == NLOOPS * EV_WAITERS,
              "a thread with no loop set a manual-reset event once and an"
              " auto-reset event %d times: %ld + %ld waiters woken on loops 0 + 1,"
              " each once", NLOOPS * EV_WAITERS, (long)E.woken[0], (long)E.woken[1]);
}

/* ---- cancel (each kind) ------------------------------------------------- */

struct cwait {
    as_wait w;
    bool owed;
    int calls, status;
    bool held;         /* condvar: the mutex was held in the callback */
};

static struct {
    struct check c;
    as_sem s, fifo;
    as_mutex m, cm;
    as_cond cond;
    as_event ev;
    struct cwait sem, mtx, cv, evw, head, next;
    int ran;
    struct op start;
} C;

#define C_WAITS 6

static void c_cb(as_wait *w, int status, void *arg)
{
    struct cwait *x = arg;
    (void)w;
    if (!x->owed)
        bad(&C.c, "a cancelled wait's callback ran twice");
    x->owed = false;
    if (GetCurrentThreadId() != loops[0].tid)
        bad(&C.c, "callback not on its loop's thread");
    x->calls++;
    x->status = status;
    if (x == &C.cv)
        x->held = as_mutex_try_lock(&C.cm) == 0;
    if (++C.ran == C_WAITS)
        part_done(&C.c);
}

static void c_pend(struct cwait *x, int r, const char *what)
{
    if (r == 0)
        x->owed = true;
    else
        bad(&C.c, "%s returned %d, expected 0 (pending)", what, r);
}

/* On loop 0: park one wait of each kind, cancel each (twice: the second
 * cancel, before the callback, must not cause a second callback). */
static void cancel_start(struct lt *lt, struct op *op)
{
    as_loop *l = &lt->loop;
    (void)op;
    c_pend(&C.sem, as_sem_acquire_async(&C.s, l, &C.sem.w, 1, c_cb, &C.sem),
           "as_sem_acquire_async");
    EXPECT(&C.c, as_mutex_try_lock(&C.m), 1);
    c_pend(&C.mtx, as_mutex_lock_async(&C.m, l, &C.mtx.w, c_cb, &C.mtx),
           "as_mutex_lock_async");
    EXPECT(&C.c, as_mutex_try_lock(&C.cm), 1);
    c_pend(&C.cv, as_cond_wait_async(&C.cond, &C.cm, l, &C.cv.w, c_cb, &C.cv),
           "as_cond_wait_async");
    c_pend(&C.evw, as_event_wait_async(&C.ev, l, &C.evw.w, c_cb, &C.evw),
           "as_event_wait_async");
    /* FIFO: two waiters for one permit; the head is cancelled, then the
     * permit is released: it must reach the next waiter, not vanish. */
    c_pend(&C.head, as_sem_acquire_async(&C.fifo, l, &C.head.w, 1, c_cb, &C.head),
           "as_sem_acquire_async (head)");
    c_pend(&C.next, as_sem_acquire_async(&C.fifo, l, &C.next.w, 1, c_cb, &C.next),
           "as_sem_acquire_async (next)");

    struct cwait *all[] = {&C.sem, &C.mtx, &C.cv, &C.evw, &C.head};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        EXPECT(&C.c, as_cancel(&all[i]->w), 0);
        EXPECT(&C.c, as_cancel(&all[i]->w), 0); /* still pending: no-op */
        EXPECT(&C.c, as_wait_pending(&all[i]->w), 1);
    }
    EXPECT(&C.c, as_sem_release(&C.fifo, 1), 0);
    if (C.ran != 0)
        bad(&C.c, "a callback ran inside as_cancel or as_sem_release");
}

static void check_cancel(void)
{
    struct cwait *cancelled[] = {&C.sem, &C.mtx, &C.cv, &C.evw, &C.head};
    bool ok = true;
    check_start(&C.c, "cancel", 1);
    EXPECT(&C.c, as_sem_init(&C.s, 0, 0), 0);
    EXPECT(&C.c, as_sem_init(&C.fifo, 0, 0), 0);
    EXPECT(&C.c, as_mutex_init(&C.m, 0), 0);
    EXPECT(&C.c, as_mutex_init(&C.cm, 0), 0);
    EXPECT(&C.c, as_cond_init(&C.cond, 0), 0);
    EXPECT(&C.c, as_event_init(&C.ev, AS_EVENT_MANUAL_RESET), 0);
    post(&loops[0], &C.start, cancel_start);
    check_wait(&C.c);
    for (size_t i = 0; i < sizeof cancelled / sizeof cancelled[0]; i++) {
        ok &= cancelled[i]->calls == 1 && cancelled[i]->status == -ECANCELED;
        EXPECT(&C.c, as_cancel(&cancelled[i]->w), -ENOENT); /* over */
    }
    ok &= C.next.calls == 1 && C.next.status == 0 && C.cv.held;
    EXPECT(&C.c, as_sem_value(&C.s), 0);
    EXPECT(&C.c, as_sem_value(&C.fifo), 0); /* the permit went to `next` */
    EXPECT(&C.c, as_mutex_unlock(&C.m), 0); /* still ours: the waiter left */
    EXPECT(&C.c, as_mutex_unlock(&C.cm), 0); /* re-taken for the condvar wait */
    EXPECT(&C.c, as_sem_destroy(&C.s), 0);
    EXPECT(&C.c, as_sem_destroy(&C.fifo), 0);
    EXPECT(&C.c, as_mutex_destroy(&C.m), 0);
    EXPECT(&C.c, as_mutex_destroy(&C.cm), 0);
    EXPECT(&C.c, as_cond_destroy(&C.cond), 0);
    EXPECT(&C.c, as_event_destroy(&C.ev), 0);
    check_end(&C.c, ok,
              "semaphore, mutex, condvar (mutex re-held) and event waits"
              " cancelled twice each: one -ECANCELED callback each; the"
              " cancelled head's permit went to the next waiter");
}

/* ---- cancel racing a release -------------------------------------------- */

#define RACE_ROUNDS 2000

static struct {
    struct check c;
    as_sem s;
    as_wait w;
    bool owed;
    struct lt *lt;
    volatile LONG go;       /* round number the releaser is to serve; -1: stop */
    int round, status;
    bool called, released;
    unsigned got, cancelled;
    unsigned seed;
    struct op start, released_op;
} R;

static unsigned rnd(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A busy delay of a random length, to vary who wins; not synchronisation. */
static void jitter(unsigned *seed)
{
    unsigned n = rnd(seed) % 3000u;
    for (volatile unsigned i = 0; i < n; i++)
        ;
}

static void race_round(void);

/* Both the callback and the releaser's "released" packet have arrived. */
static void race_settle(void)
{
    int64_t v = as_sem_value(&R.s);
    if (R.status == 0) {
        R.got++;               /* the wait holds the permit: none left */
        if (v != 0)
            bad(&R.c, "round %d: got the permit, but the value is %lld",
                R.round, (long long)v);
    } else if (R.status == -ECANCELED) {
        R.cancelled++;         /* the permit must still be there: take it */
        if (v != 1 || as_sem_try_acquire(&R.s, 1) != 1)
            bad(&R.c, "round %d: cancelled, but the value is %lld, not 1",
                R.round, (long long)v);
    } else {
        bad(&R.c, "round %d: status %d", R.round, R.status);
    }
    R.round++;
    race_round();
}

static void race_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    entered(&R.c, &R.owed, R.lt, "cancel race", status, status);
    if (R.called)
        bad(&R.c, "round %d: second callback", R.round);
    R.called = true;
    R.status = status;
    if (R.released)
        race_settle();
}

static void race_released(struct lt *lt, struct op *op)
{
    (void)lt, (void)op;
    R.released = true;
    if (R.called)
        race_settle();
}

static void race_round(void)
{
    int r;
    if (R.round == RACE_ROUNDS) {
        InterlockedExchange(&R.go, -1);
        part_done(&R.c);
        return;
    }
    R.called = R.released = false;
    r = as_sem_acquire_async(&R.s, &R.lt->loop, &R.w, 1, race_cb, NULL);
    if (r != 0) {
        bad(&R.c, "round %d: acquire returned %d, expected 0", R.round, r);
        return;
    }
    owe(&R.c, &R.owed);
    InterlockedExchange(&R.go, R.round); /* the releaser goes */
    jitter(&R.seed);
    /* The wait is the library's until its callback: 0 whoever won. */
    EXPECT(&R.c, as_cancel(&R.w), 0);
}

static void race_start(struct lt *lt, struct op *op)
{
    (void)op;
    R.lt = lt;
    race_round();
}

/* A plain thread: releases one permit per round, at a random moment, then
 * tells the loop with a packet of its own. */
static unsigned __stdcall releaser_main(void *arg)
{
    unsigned seed = 0x2545f491u;
    LONG served = -1;
    (void)arg;
    for (;;) {
        LONG go = InterlockedCompareExchange(&R.go, 0, 0);
        if (go == -1)
            return 0;
        if (go < 0 || go == served) { /* not started, or served already */
            YieldProcessor();
            continue;
        }
        served = go;
        jitter(&seed);
        EXPECT(&R.c, as_sem_release(&R.s, 1), 0);
        post(R.lt, &R.released_op, race_released);
    }
}

static void check_cancel_race(void)
{
    HANDLE releaser;
    check_start(&R.c, "cancel race", 1);
    R.go = -2;                 /* nothing to serve yet */
    R.seed = 0x9e3779b9u;
    EXPECT(&R.c, as_sem_init(&R.s, 0, 0), 0);
    releaser = (HANDLE)_beginthreadex(NULL, 0, releaser_main, NULL, 0, NULL);
    if (!releaser)
        fatal("_beginthreadex", (DWORD)errno);
    post(&loops[1], &R.start, race_start);
    check_wait(&R.c);
    if (WaitForSingleObject(releaser, STEP_MS) != WAIT_OBJECT_0)
        fatal("releaser thread did not end", 0);
    CloseHandle(releaser);
    EXPECT(&R.c, as_sem_value(&R.s), 0);
    EXPECT(&R.c, as_sem_destroy(&R.s), 0);
    check_end(&R.c, R.got + R.cancelled == RACE_ROUNDS,
              "%d rounds of cancel vs. release from another thread: %u ended"
              " with the permit, %u with -ECANCELED and the permit left in"
              " the semaphore; none lost", RACE_ROUNDS, R.got, R.cancelled);
}

/* ---- teardown: -EAGAIN while a wake packet is still in the port --------- */

static as_sem T_sem;
static int T_calls;

static void t_cb(as_wait *w, int status, void *arg)
{
    (void)w, (void)arg;
    T_calls += status == 0 ? 1 : 100;
}

static unsigned __stdcall t_release_main(void *arg)
{
    (void)arg;
    return as_sem_release(&T_sem, 1) == 0 ? 0 : 1;
}

/* On the main thread, a third loop: a plain thread completes its wait (and
 * posts the wake packet); as_loop_run picks the wait up from the inbox
 * without that packet, so destroy must say -EAGAIN until it is dequeued and
 * handed back.  Returns how many steps matched. */
static int teardown_eagain(struct check *t)
{
    OVERLAPPED_ENTRY e[4];
    ULONG n = 0;
    HANDLE port, th;
    as_loop l;
    as_wait w;
    DWORD code = 1;
    int ok = 0;

    memset(&l, 0, sizeof l);
    memset(&w, 0, sizeof w);
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!port)
        fatal("CreateIoCompletionPort", GetLastError());
    ok += as_loop_init_iocp(&l, port, NULL) == 0;
    ok += as_sem_init(&T_sem, 0, 0) == 0;
    ok += as_sem_acquire_async(&T_sem, &l, &w, 1, t_cb, NULL) == 0;
    th = (HANDLE)_beginthreadex(NULL, 0, t_release_main, NULL, 0, NULL);
    if (!th || WaitForSingleObject(th, STEP_MS) != WAIT_OBJECT_0)
        fatal("release thread", GetLastError());
    GetExitCodeThread(th, &code);
    CloseHandle(th);
    ok += code == 0;
    ok += as_loop_destroy(&l) == -EBUSY;   /* its callback has not run */
    ok += as_loop_run(&l) == 1 && T_calls == 1;
    ok += as_loop_destroy(&l) == -EAGAIN;  /* the packet is in the port */
    if (GetQueuedCompletionStatusEx(port, e, 4, &n, STEP_MS, FALSE))
        ok += n == 1 && as_loop_handle_completion(&l, &e[0]);
    ok += as_loop_destroy(&l) == 0;
    ok += !GetQueuedCompletionStatusEx(port, e, 4, &n, 0, FALSE); /* empty */
    ok += as_loop_run(&l) == -EINVAL && T_calls == 1;
    ok += as_sem_destroy(&T_sem) == 0;
    CloseHandle(port);
    if (ok != 12)
        bad(t, "the -EAGAIN sequence went wrong (%d of 12 steps as expected)", ok);
    return ok;
}

/* ---- main --------------------------------------------------------------- */

/* A crash must fail the check.  Wine's crash handler can end a process
 * whose thread faulted with exit status 0; end it with 3 ourselves. */
static LONG WINAPI on_crash(EXCEPTION_POINTERS *info)
{
    printf("FAIL  crashed: exception 0x%08lx at %p\n",
           (unsigned long)info->ExceptionRecord->ExceptionCode,
           info->ExceptionRecord->ExceptionAddress);
    fflush(stdout);
    TerminateProcess(GetCurrentProcess(), 3);
    return EXCEPTION_EXECUTE_HANDLER;
}

int main(void)
{
    struct op quit[NLOOPS];
    HANDLE threads[NLOOPS];
    LONG errors_before;
    bool torn_down = true;
    unsigned eagain = 0;

    SetUnhandledExceptionFilter(on_crash);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("asyncsync %d.%d.%d Windows consumer: installed header and"
           " libasyncsync.a only\n", AS_VERSION_MAJOR, AS_VERSION_MINOR,
           AS_VERSION_PATCH);

    check_bad_input();

    for (int i = 0; i < NLOOPS; i++) {
        struct lt *lt = &loops[i];
        lt->id = i;
        lt->ready = CreateEventA(NULL, TRUE, FALSE, NULL);
        if (!lt->ready)
            fatal("CreateEvent", GetLastError());
        lt->thread = (HANDLE)_beginthreadex(NULL, 0, loop_main, lt, 0, NULL);
        if (!lt->thread)
            fatal("_beginthreadex", (DWORD)errno);
        threads[i] = lt->thread;
        if (WaitForSingleObject(lt->ready, STEP_MS) != WAIT_OBJECT_0)
            fatal("loop thread did not start", 0);
        if (lt->init_rc != 0) {
            printf("FAIL  loops: as_loop_init_iocp: %s\n", as_strerror(lt->init_rc));
            return 1;
        }
    }

    check_semaphore();
    check_mutex();
    check_condvar();
    check_event();
    check_cancel();
    check_cancel_race();

    /* Teardown: each loop stops and destroys itself (-EAGAIN idiom). */
    errors_before = errors_total;
    for (int i = 0; i < NLOOPS; i++)
        post(&loops[i], &quit[i], on_quit);
    if (WaitForMultipleObjects(NLOOPS, threads, TRUE, STEP_MS) != WAIT_OBJECT_0) {
        printf("FAIL  teardown: loop threads did not end within %d s\n",
               STEP_MS / 1000);
        return 1;
    }
    for (int i = 0; i < NLOOPS; i++) {
        torn_down &= loops[i].destroy_rc == 0;
        eagain += loops[i].eagain;
        CloseHandle(loops[i].thread);
        CloseHandle(loops[i].ready);
    }
    {
        struct check t;
        check_start(&t, "teardown", 0);
        if (errors_total != errors_before)
            bad(&t, "problems found after their check ended");
        teardown_eagain(&t);
        check_end(&t, torn_down,
                  "both loops destroyed (0 after %u x -EAGAIN), ports closed;"
                  " a loop whose wake packet is still queued: -EBUSY, run,"
                  " -EAGAIN, dequeue, 0", eagain);
    }

    if (failed_checks || errors_total) {
        printf("consumer (windows): FAILED (%d checks)\n", failed_checks);
        return 1;
    }
    printf("consumer (windows): ok\n");
    return 0;
}
