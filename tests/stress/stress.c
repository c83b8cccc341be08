/* Randomized stress: T loop threads (each its own io_uring ring and as_loop)
 * with K tasks each, plus one plain thread that runs no loop, all hammering one
 * semaphore, one mutex, a condvar (producer/consumer over a token count) and
 * two events (auto- and manual-reset), with cancels at random moments.
 *
 * Invariants, checked as it runs and at the end:
 *   I1 semaphore: permits held never exceed the initial count; the count is
 *      back to the initial value at the end (permits conserved).
 *   I2 mutex: never more than one holder; a plain counter only touched under
 *      the mutex equals the number of acquisitions (TSan also sees races).
 *   I3 condvar: the callback runs with its mutex held; tokens consumed never
 *      exceed tokens produced.
 *   I4 auto-reset event: successful waits never exceed as_event_set calls.
 *   I5 every wait that went pending gets exactly one callback; none is left
 *      pending at the end; every loop tears down cleanly.
 *   I6 no hang: a loop that sees no completion for --timeout seconds while
 *      it has waits pending dumps them and fails (a lost wake-up).
 *
 * The loops block in io_uring_submit_and_wait_timeout between iterations, so
 * a lost wake-up is a hang the watchdog reports, not something the next
 * as_loop_run happens to paper over.  On Windows each loop is bound to its
 * own I/O completion port and blocks in GetQueuedCompletionStatusEx
 * (--defer-taskrun does not exist there).
 *
 * Usage: stress [--threads T] [--tasks K] [--ops N] [--seed S|random]
 *               [--cancel PCT] [--timeout SEC] [--strict] [--defer-taskrun]
 */
#include <asyncsync.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <liburing.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEM_PERMITS 5u

enum kind { K_SEM, K_MUTEX, K_COND_CONSUME, K_COND_PRODUCE, K_EV_AUTO, K_EV_MANUAL, K_NKINDS,
             K_COND_LOCK /* consumer waiting for the condvar's mutex */ };
static const char *kind_name[] = {"sem", "mutex", "cond-wait", "cond-produce", "event-auto", "event-manual", "?", "cond-lock"};

static struct {
    int threads, tasks, ops, cancel_pct, timeout_s;
    uint64_t seed;
    unsigned mutex_flags;
    unsigned ring_flags; /* --defer-taskrun: SINGLE_ISSUER | DEFER_TASKRUN */
} cfg = {2, 24, 400, 15, 30, 1, 0, 0};

static as_sem sem;
static as_mutex mtx, cmtx;
static as_cond cond;
static as_event ev_auto, ev_manual;

static atomic_int sem_held, mtx_held, cmtx_held;
static long mtx_plain_counter;          /* only touched under mtx */
static atomic_long mtx_acquisitions;
static long tokens, produced, consumed;  /* only touched under cmtx */
static atomic_long ev_auto_sets, ev_auto_waits_ok;
static atomic_long n_pending_returns, n_callbacks, n_cancel_ok, n_cancelled, n_fast;
static atomic_int loops_done, failed;

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "stress: FAIL (seed %" PRIu64 "): ", cfg.seed);         \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
        atomic_store(&failed, 1);                                              \
        abort();                                                               \
    } while (0)

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static unsigned rnd(uint64_t *s, unsigned n) { return (unsigned)(rng_next(s) % n); }

struct lctx;
struct task {
    struct lctx *lc;
    as_wait w;
    enum kind kind;
    uint32_t n;
    int ops_left;
    int pending;      /* an *_async returned 0 and the callback has not run */
    int hold;         /* iterations left holding sem/mutex */
    int holding;
    struct task *next_hold;
    int id;
    int hist[8], nhist; /* recent events, for failure reports */
};

struct lctx {
    int id;
    pthread_t th;
#ifdef _WIN32
    HANDLE port;
#else
    struct io_uring ring;
#endif
    as_loop loop;
    struct task *tasks;
    int finished;     /* tasks with no ops left and nothing pending/held */
    uint64_t rng;
    struct task *holders;
};

static void next_op(struct task *t);
static void on_wait(as_wait *w, int status, void *arg);

static void got_sem(struct task *t)
{
    int h = atomic_fetch_add(&sem_held, (int)t->n) + (int)t->n;
    if (h > (int)SEM_PERMITS)
        FAIL("I1: %d permits held > %u", h, SEM_PERMITS);
}

static void got_mutex(struct task *t)
{
    (void)t;
    int h = atomic_fetch_add(&mtx_held, 1) + 1;
    if (h != 1)
        FAIL("I2: %d mutex holders", h);
    mtx_plain_counter++;
    atomic_fetch_add(&mtx_acquisitions, 1);
}

static void hold(struct task *t)
{
    t->holding = 1;
    t->hold = (int)rnd(&t->lc->rng, 3); /* 0..2 loop iterations */
    t->next_hold = t->lc->holders;
    t->lc->holders = t;
}

static void drop(struct task *t)
{
    t->holding = 0;
    if (t->kind == K_SEM) {
        atomic_fetch_sub(&sem_held, (int)t->n);
        if (as_sem_release(&sem, t->n) != 0)
            FAIL("as_sem_release");
    } else {
        atomic_fetch_sub(&mtx_held, 1);
        if (as_mutex_unlock(&mtx) != 0)
            FAIL("as_mutex_unlock");
    }
}

/* Condvar consumer / producer bodies, mutex cmtx held. */
static void consume_locked(void)
{
    if (tokens > 0) {
        tokens--;
        consumed++;
    }
    if (consumed > produced)
        FAIL("I3: consumed %ld > produced %ld", consumed, produced);
}

/* The condvar's mutex was just acquired, by whatever path. */
static void cmtx_got(const char *how)
{
    int h = atomic_fetch_add(&cmtx_held, 1) + 1;
    if (h != 1)
        FAIL("I2/I3: %d holders of the condvar's mutex (%s)", h, how);
}

static void cmtx_unlock(void)
{
    atomic_fetch_sub(&cmtx_held, 1);
    if (as_mutex_unlock(&cmtx) != 0)
        FAIL("as_mutex_unlock(cmtx)");
}

static void note(struct task *t, int ev)
{
    t->hist[t->nhist++ % 8] = ev;
}

static void went_pending(struct task *t);

/* Consumer with cmtx held: take a token, or wait on the condvar (which
 * releases cmtx).  Returns 1 when the task went pending. */
static int consume_or_wait(struct task *t)
{
    int r;
    if (tokens > 0) {
        consume_locked();
        cmtx_unlock();
        return 0;
    }
    t->kind = K_COND_CONSUME;
    atomic_fetch_sub(&cmtx_held, 1); /* the wait releases it */
    r = as_cond_wait_async(&cond, &cmtx, &t->lc->loop, &t->w, on_wait, t);
    if (r != 0)
        FAIL("as_cond_wait_async: %d", r);
    went_pending(t);
    return 1;
}

static void on_wait(as_wait *w, int status, void *arg)
{
    struct task *t = arg;
    (void)w;
    if (!t->pending)
        FAIL("I5: callback for task %d (%s) that is not pending", t->id, kind_name[t->kind]);
    t->pending = 0;
    note(t, 200 + (int)t->kind * 10 + (status ? 1 : 0));
    atomic_fetch_add(&n_callbacks, 1);
    if (status == -ECANCELED)
        atomic_fetch_add(&n_cancelled, 1);
    else if (status != 0)
        FAIL("callback status %d", status);

    switch (t->kind) {
    case K_SEM:
    case K_MUTEX:
        if (status == 0) {
            if (t->kind == K_SEM)
                got_sem(t);
            else
                got_mutex(t);
            hold(t);
            return;
        }
        break;
    case K_COND_LOCK:
        if (status == 0)
            cmtx_got("lock callback");
        if (status == 0 && consume_or_wait(t))
            return;
        break;
    case K_COND_CONSUME:
        /* I3: the mutex is held whatever the status. */
        if (as_mutex_try_lock(&cmtx) != 0)
            FAIL("I3: condvar callback without its mutex held");
        cmtx_got(status == 0 ? "cond callback" : "cancelled cond callback");
        consume_locked();
        cmtx_unlock();
        break;
    case K_EV_AUTO:
        if (status == 0 &&
            atomic_fetch_add(&ev_auto_waits_ok, 1) + 1 > atomic_load(&ev_auto_sets))
            FAIL("I4: more auto-reset wakes than sets");
        break;
    default:
        break;
    }
    next_op(t);
}

static void went_pending(struct task *t)
{
    note(t, 100 + (int)t->kind);
    t->pending = 1;
    atomic_fetch_add(&n_pending_returns, 1);
    if ((int)rnd(&t->lc->rng, 100) < cfg.cancel_pct / 2) {
        /* Cancel at once; more cancels happen later from the loop body. */
        if (as_cancel(&t->w) != 0)
            FAIL("as_cancel of a pending wait");
        atomic_fetch_add(&n_cancel_ok, 1);
    }
}

static void next_op(struct task *t)
{
    struct lctx *lc = t->lc;
    int r;
    for (;;) {
        if (t->ops_left == 0) {
            lc->finished++;
            return;
        }
        t->ops_left--;
        t->kind = (enum kind)rnd(&lc->rng, K_NKINDS);
        switch (t->kind) {
        case K_SEM:
            t->n = 1 + rnd(&lc->rng, 3);
            r = as_sem_acquire_async(&sem, &lc->loop, &t->w, t->n, on_wait, t);
            if (r == 1) {
                atomic_fetch_add(&n_fast, 1);
                got_sem(t);
                hold(t);
                return;
            }
            break;
        case K_MUTEX:
            r = as_mutex_lock_async(&mtx, &lc->loop, &t->w, on_wait, t);
            if (r == 1) {
                atomic_fetch_add(&n_fast, 1);
                got_mutex(t);
                hold(t);
                return;
            }
            break;
        case K_COND_CONSUME:
            t->kind = K_COND_LOCK;
            r = as_mutex_lock_async(&cmtx, &lc->loop, &t->w, on_wait, t);
            if (r == 1) {
                cmtx_got("lock fast path");
                if (consume_or_wait(t))
                    return;
                continue;
            }
            break;
        case K_COND_PRODUCE:
            if (as_mutex_try_lock(&cmtx) == 1) {
                cmtx_got("try_lock");
                tokens++;
                produced++;
                if (rnd(&lc->rng, 4) == 0)
                    as_cond_broadcast(&cond);
                else
                    as_cond_signal(&cond);
                cmtx_unlock();
            }
            continue;
        case K_EV_AUTO:
            if (rnd(&lc->rng, 2) == 0) {
                atomic_fetch_add(&ev_auto_sets, 1);
                as_event_set(&ev_auto);
                continue;
            }
            r = as_event_wait_async(&ev_auto, &lc->loop, &t->w, on_wait, t);
            if (r == 1) {
                if (atomic_fetch_add(&ev_auto_waits_ok, 1) + 1 > atomic_load(&ev_auto_sets))
                    FAIL("I4: more auto-reset wakes than sets");
                continue;
            }
            break;
        case K_EV_MANUAL:
            switch (rnd(&lc->rng, 3)) {
            case 0:
                as_event_set(&ev_manual);
                continue;
            case 1:
                as_event_reset(&ev_manual);
                continue;
            default:
                r = as_event_wait_async(&ev_manual, &lc->loop, &t->w, on_wait, t);
                if (r == 1)
                    continue;
            }
            break;
        default:
            FAIL("kind");
        }
        if (r != 0) {
            fprintf(stderr, "task %d history (100+k pending, 200+10k+cancelled callback):", t->id);
            for (int i = 0; i < 8; i++)
                fprintf(stderr, " %d", t->hist[(t->nhist + i) % 8]);
            fprintf(stderr, "\n");
            FAIL("%s async returned %d", kind_name[t->kind], r);
        }
        went_pending(t);
        return;
    }
}

static void release_holders(struct lctx *lc)
{
    struct task **pp = &lc->holders;
    while (*pp) {
        struct task *t = *pp;
        if (t->hold-- > 0) {
            pp = &t->next_hold;
            continue;
        }
        *pp = t->next_hold;
        drop(t);
        next_op(t);
    }
}

static void dump_pending(struct lctx *lc)
{
    fprintf(stderr, "loop %d (%s): finished %d/%d; pending waits:\n", lc->id,
            as_loop_backend(&lc->loop), lc->finished, cfg.tasks);
    for (int i = 0; i < cfg.tasks; i++)
        if (lc->tasks[i].pending)
            fprintf(stderr, "  task %d: %s (n=%u) as_wait_pending=%d\n", i,
                    kind_name[lc->tasks[i].kind], lc->tasks[i].n,
                    as_wait_pending(&lc->tasks[i].w));
    fprintf(stderr, "  sem value %" PRId64 " held %d; mutex holders %d; tokens %ld; "
            "event auto set=%d manual set=%d\n", as_sem_value(&sem),
            atomic_load(&sem_held), atomic_load(&mtx_held), tokens,
            as_event_is_set(&ev_auto), as_event_is_set(&ev_manual));
}

/* The loop's completion source: an io_uring ring, or on Windows an I/O
 * completion port.  loop_poll: hand over what completed, without blocking;
 * loop_block: the same after waiting at most timeout_s for something to
 * complete (false when nothing did). */
#ifdef _WIN32
static void loop_open(struct lctx *lc)
{
    int r;
    lc->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!lc->port)
        FAIL("CreateIoCompletionPort: error %lu", (unsigned long)GetLastError());
    if ((r = as_loop_init_iocp(&lc->loop, lc->port, NULL)) < 0)
        FAIL("as_loop_init_iocp: %d", r);
}

static bool loop_wait(struct lctx *lc, DWORD ms)
{
    OVERLAPPED_ENTRY e[16];
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(lc->port, e, 16, &n, ms, FALSE)) {
        if (GetLastError() == WAIT_TIMEOUT)
            return false;
        FAIL("GetQueuedCompletionStatusEx: error %lu", (unsigned long)GetLastError());
    }
    for (ULONG i = 0; i < n; i++)
        if (!as_loop_handle_completion(&lc->loop, &e[i]))
            FAIL("a completion packet that is not the library's");
    return true;
}

static void loop_poll(struct lctx *lc)
{
    while (loop_wait(lc, 0))
        ;
}

static bool loop_block(struct lctx *lc, int timeout_s)
{
    return loop_wait(lc, (DWORD)timeout_s * 1000u);
}

static void loop_close(struct lctx *lc)
{
    CloseHandle(lc->port);
}
#else
static void reap(struct lctx *lc)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&lc->ring, head, cqe)
    {
        if (!as_loop_handle_cqe(&lc->loop, cqe))
            FAIL("a CQE that is not the library's");
        n++;
    }
    io_uring_cq_advance(&lc->ring, n);
}

static void loop_open(struct lctx *lc)
{
    int r;
    if ((r = io_uring_queue_init(64, &lc->ring, cfg.ring_flags)) < 0)
        FAIL("io_uring_queue_init: %d", r);
    if ((r = as_loop_init_uring(&lc->loop, &lc->ring, NULL)) < 0)
        FAIL("as_loop_init_uring: %d", r);
}

static void loop_poll(struct lctx *lc)
{
    io_uring_submit(&lc->ring);
    reap(lc);
}

static bool loop_block(struct lctx *lc, int timeout_s)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {timeout_s, 0};
    int r = io_uring_submit_and_wait_timeout(&lc->ring, &cqe, 1, &ts, NULL);
    if (r == -ETIME)
        return false;
    reap(lc);
    return true;
}

static void loop_close(struct lctx *lc)
{
    io_uring_queue_exit(&lc->ring);
}
#endif

static void *loop_thread(void *arg)
{
    struct lctx *lc = arg;
    int r;
    loop_open(lc);
    for (int i = 0; i < cfg.tasks; i++) {
        struct task *t = &lc->tasks[i];
        t->lc = lc;
        t->id = i;
        t->ops_left = cfg.ops;
    }
    for (int i = 0; i < cfg.tasks; i++)
        next_op(&lc->tasks[i]);

    while (lc->finished < cfg.tasks) {
        release_holders(lc);
        /* Cancel a random pending wait now and then: a cancel that races
         * with wakes from other threads. */
        if ((int)rnd(&lc->rng, 100) < cfg.cancel_pct) {
            struct task *t = &lc->tasks[rnd(&lc->rng, (unsigned)cfg.tasks)];
            if (t->pending) {
                if (as_cancel(&t->w) != 0)
                    FAIL("as_cancel of a pending wait");
                atomic_fetch_add(&n_cancel_ok, 1);
            } else if (as_cancel(&t->w) != -ENOENT) {
                FAIL("as_cancel of an idle wait must be -ENOENT");
            }
        }
        if (as_loop_run(&lc->loop) < 0)
            FAIL("as_loop_run");
        if (lc->finished >= cfg.tasks)
            break;
        if (lc->holders) {
            loop_poll(lc); /* a holder releases next turn */
        } else if (!loop_block(lc, cfg.timeout_s)) {
            dump_pending(lc);
            FAIL("I6: loop %d saw nothing for %d s with waits pending", lc->id,
                 cfg.timeout_s);
        }
    }
    atomic_fetch_add(&loops_done, 1);

    for (int i = 0; i < cfg.tasks; i++)
        if (lc->tasks[i].pending || as_wait_pending(&lc->tasks[i].w))
            FAIL("I5: task %d still pending at the end", i);
    for (int tries = 0; (r = as_loop_destroy(&lc->loop)) == -EAGAIN; tries++) {
        if (tries > 100)
            FAIL("teardown never completes");
        (void)loop_block(lc, cfg.timeout_s);
    }
    if (r != 0)
        FAIL("as_loop_destroy: %d", r);
    loop_close(lc);
    return NULL;
}

/* A thread that runs no loop: releases, signals and sets from outside, and
 * keeps the condvar and events moving until every loop is done so no task
 * waits forever on a signal nobody will send. */
static void *plain_thread(void *arg)
{
    uint64_t rng = *(uint64_t *)arg;
    while (atomic_load(&loops_done) < cfg.threads) {
        switch (rnd(&rng, 6)) {
        case 0:
            if (as_sem_try_acquire(&sem, 1) == 1) {
                got_sem(&(struct task){.n = 1});
                atomic_fetch_sub(&sem_held, 1);
                as_sem_release(&sem, 1);
            }
            break;
        case 1:
            if (as_mutex_try_lock(&mtx) == 1) {
                got_mutex(NULL);
                atomic_fetch_sub(&mtx_held, 1);
                as_mutex_unlock(&mtx);
            }
            break;
        case 2:
            if (as_mutex_try_lock(&cmtx) == 1) {
                cmtx_got("plain try_lock");
                tokens++;
                produced++;
                as_cond_broadcast(&cond);
                cmtx_unlock();
            }
            break;
        case 3:
            atomic_fetch_add(&ev_auto_sets, 1);
            as_event_set(&ev_auto);
            break;
        case 4:
            as_event_set(&ev_manual);
            break;
        default:
            as_cond_signal(&cond);
            sched_yield();
        }
    }
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: stress [--threads T] [--tasks K] [--ops N] "
                    "[--seed S|random] [--cancel PCT] [--timeout SEC] [--strict] "
                    "[--defer-taskrun]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--strict")) {
            cfg.mutex_flags = AS_MUTEX_STRICT_FIFO;
            continue;
        }
#ifndef _WIN32
        if (!strcmp(a, "--defer-taskrun")) {
            /* Each loop thread creates and alone submits to its own ring. */
            cfg.ring_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
            continue;
        }
#endif
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--threads"))
            cfg.threads = atoi(v);
        else if (!strcmp(a, "--tasks"))
            cfg.tasks = atoi(v);
        else if (!strcmp(a, "--ops"))
            cfg.ops = atoi(v);
        else if (!strcmp(a, "--cancel"))
            cfg.cancel_pct = atoi(v);
        else if (!strcmp(a, "--timeout"))
            cfg.timeout_s = atoi(v);
        else if (!strcmp(a, "--seed")) {
            if (!strcmp(v, "random")) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                cfg.seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
            } else {
                cfg.seed = strtoull(v, NULL, 0);
            }
        } else
            usage();
    }
    if (cfg.threads < 1 || cfg.tasks < 1 || cfg.ops < 0 || cfg.timeout_s < 1)
        usage();
    printf("stress: seed %" PRIu64 " threads %d tasks %d ops %d cancel %d%% mutex %s%s "
           "(replay: --seed %" PRIu64 ")\n",
           cfg.seed, cfg.threads, cfg.tasks, cfg.ops, cfg.cancel_pct,
           cfg.mutex_flags ? "strict" : "default",
           cfg.ring_flags ? " rings SINGLE_ISSUER|DEFER_TASKRUN" : "", cfg.seed);
    fflush(stdout);

    if (as_sem_init(&sem, SEM_PERMITS, 0) || as_mutex_init(&mtx, cfg.mutex_flags) ||
        as_mutex_init(&cmtx, cfg.mutex_flags) || as_cond_init(&cond, 0) ||
        as_event_init(&ev_auto, 0) || as_event_init(&ev_manual, AS_EVENT_MANUAL_RESET))
        FAIL("init");

    struct lctx *lcs = calloc((size_t)cfg.threads, sizeof *lcs);
    uint64_t seed = cfg.seed;
    for (int i = 0; i < cfg.threads; i++) {
        lcs[i].id = i;
        lcs[i].rng = rng_next(&seed);
        lcs[i].tasks = calloc((size_t)cfg.tasks, sizeof *lcs[i].tasks);
        if (pthread_create(&lcs[i].th, NULL, loop_thread, &lcs[i]))
            FAIL("pthread_create");
    }
    uint64_t prng = rng_next(&seed);
    pthread_t plain;
    pthread_create(&plain, NULL, plain_thread, &prng);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(lcs[i].th, NULL);
    pthread_join(plain, NULL);

    /* End-of-run invariants. */
    if (as_sem_value(&sem) != SEM_PERMITS)
        FAIL("I1: semaphore holds %" PRId64 " permits at the end, not %u",
             as_sem_value(&sem), SEM_PERMITS);
    if (mtx_plain_counter != atomic_load(&mtx_acquisitions))
        FAIL("I2: counter %ld != acquisitions %ld", mtx_plain_counter,
             atomic_load(&mtx_acquisitions));
    if (as_mutex_try_lock(&mtx) != 1 || as_mutex_unlock(&mtx) != 0)
        FAIL("I2: mutex not free at the end");
    if (atomic_load(&n_callbacks) != atomic_load(&n_pending_returns))
        FAIL("I5: %ld callbacks for %ld pending waits", atomic_load(&n_callbacks),
             atomic_load(&n_pending_returns));
    if (as_sem_destroy(&sem) || as_mutex_destroy(&mtx) || as_mutex_destroy(&cmtx) ||
        as_cond_destroy(&cond) || as_event_destroy(&ev_auto) ||
        as_event_destroy(&ev_manual))
        FAIL("destroy at the end");

    printf("stress: OK: %ld waits pending -> %ld callbacks (%ld cancelled of %ld "
           "cancel requests), %ld immediate, %ld mutex acquisitions, "
           "%ld tokens produced / %ld consumed, %ld auto-reset sets\n",
           atomic_load(&n_pending_returns), atomic_load(&n_callbacks),
           atomic_load(&n_cancelled), atomic_load(&n_cancel_ok), atomic_load(&n_fast),
           atomic_load(&mtx_acquisitions), produced, consumed,
           atomic_load(&ev_auto_sets));
    for (int i = 0; i < cfg.threads; i++)
        free(lcs[i].tasks);
    free(lcs);
    return 0;
}
