/* Randomized stress: T loop threads (each its own io_uring ring and as_loop)
 * with K tasks each, plus one plain thread that runs no loop and 1-2
 * blocking threads, all hammering one semaphore, one mutex, a condvar
 * (producer/consumer over a token count), two events (auto- and
 * manual-reset), a read-write lock, a barrier of 3 parties and a latch,
 * with cancels from every thread, deadlines and closes.
 *
 *   rwlock     tasks read, write or take the upgradable read (async or
 *              until); a writer gives back or downgrades and holds on as a
 *              reader; an upgradable reader gives back, try_upgrades or
 *              waits to upgrade (upgrade_async/_until: cancelled, timed out
 *              or closed, it still holds its upgradable read).  The plain
 *              thread uses the try_ forms, blocking threads the _blocking
 *              ones (with upgrade_blocking and downgrade).
 *   barrier    tasks arrive (async or until), blocking threads too; the
 *              plain thread arrives (blocking, 0-2 ms deadline) when a party
 *              waits, and cancels a task's party that has waited 20 ms
 *              ("stale"), so no task waits for ever for parties that will
 *              not come.  Phases A and B use a second barrier whose parties
 *              never all arrive.
 *   latch      tasks, the plain thread and blocking threads count down
 *              (by 1-3, the plain thread sometimes all of it) and add (the
 *              count stays 0-6), and wait (async, until, blocking).  The
 *              count changes under the stress's own lock, with a copy the
 *              latch must match; the waits run outside it.
 *
 * What the threads do:
 *   tasks      *_async, or *_until with a short deadline (--deadline PCT of
 *              the waits: 0-2 ms ahead, some 0-20 ms, some already past so
 *              the call returns -ETIMEDOUT at once); a task's loop cancels
 *              its waits at random moments (--cancel PCT).  Loops with an
 *              odd id are created with AS_LOOP_ALWAYS_CALLBACK under
 *              --always-callback (a wait satisfied at once then completes
 *              through its callback: never 1).
 *   cross      other threads cancel waits they know are pending (or were,
 *              a moment ago): each loop thread the tasks of the other loops,
 *              the plain thread anyone's (--xcancel PCT).  A task's as_wait
 *              lives for the whole run and only its own loop re-arms it,
 *              after its callback, so the memory is always valid; a cancel
 *              that lands on the wait's next arming is a legitimate cancel of
 *              that one (see "generations" below).  --cancel-lock: a
 *              per-task lock keeps a cross-thread cancel and the owner's
 *              arming of the same wait apart (asyncsync.h: "the
 *              application's own lock over its request object"); the
 *              cancel still races with grants, deadlines, closes and the
 *              callback, not with the re-arming.
 *   plain      try_acquire/try_lock/as_sem_forget (not with --no-forget),
 *              signal, broadcast, set: keeps the condvar and events moving
 *              so no task waits for ever.
 *   blockers   (--blockers N) as_sem_acquire_blocking, as_mutex_lock_blocking,
 *              as_cond_wait_blocking, as_event_wait_blocking with random
 *              short deadlines (some past, a few none), holding permits and
 *              the mutex like tasks.
 *   close      (--close) the primitives are closed one by one mid-run (each
 *              at a random point of the run's progress, by whichever thread
 *              gets there first) while waits are pending.
 *
 * After the operations every run has two quiet phases:
 *   A  (timers) the main thread holds every permit, the mutex and the
 *      rwlock's write lock, adds 1 to the latch, resets the events (the
 *      barrier: the quiet one): every task arms one wait with a deadline 1-3 ms ahead that
 *      nothing else can end (some also one already past, which must fail at
 *      once).  Each must end with -ETIMEDOUT, and only the ring timer can
 *      end it: the loops block on their rings with no timeout of their own,
 *      so a lost timer is a watchdog failure (I6).
 *   B  (close) every task arms a wait nobody will grant (no deadline, or one
 *      an hour ahead), blocking threads block (no deadline); when every one
 *      of them is queued the main thread cancels some from its own thread,
 *      then closes all nine primitives in random order: every other wait
 *      must end with -ESHUTDOWN (a condvar's once it holds the mutex again),
 *      later waits and try_* return -ESHUTDOWN, holders give back, every
 *      primitive is destroyed and every loop tears down.
 *
 * Invariants, checked as it runs and at the end:
 *   I1 semaphore: permits held (and forgotten) never exceed the initial
 *      count; the count is back to the initial value at the end.
 *   I2 mutex: never more than one holder; a plain counter only touched under
 *      the mutex equals the number of acquisitions (TSan also sees races).
 *   I3 condvar: the callback runs with its mutex held, whatever its status;
 *      tokens consumed never exceed tokens produced.
 *   I4 auto-reset event: successful waits never exceed the harness's
 *      as_event_set calls; at the end, successful waits plus the set still
 *      stored do not either.  (A cancelled waiter the set had been decided
 *      for passes it on, so the harness counts only its own sets; a timed-out
 *      one keeps it: a grant that came first wins.  as_event_broadcast would
 *      wake waiters without a set, so it is used on the manual event only.)
 *   I5 every wait that went pending gets exactly one callback; none is left
 *      pending at the end; every loop tears down cleanly.
 *      Generations: a task's wait is numbered each time it is armed; a
 *      canceller (any thread) reads the number before and after as_cancel.
 *      as_cancel returned 0 <=> that arming's callback saw -ECANCELED: when
 *      the two numbers agree the cancel is paired with that arming exactly;
 *      when the wait completed and was re-armed meanwhile (rare) the cancel
 *      must be matched by a -ECANCELED callback among the armings in between.
 *      -ETIMEDOUT only for waits with a deadline, never before it;
 *      -ESHUTDOWN only for a primitive whose close had started.
 *   I6 no hang: a loop that sees no completion for --timeout seconds while
 *      it has waits that must end dumps them and fails (a lost wake-up, or
 *      a timed wait whose timer never fired); so does a blocking call that
 *      has not returned after --timeout seconds (the main thread watches);
 *      a -ETIMEDOUT more than --timeout seconds late fails too.
 *   I7 rwlock: shares are counted after the grant and uncounted before the
 *      unlock; a writer (also one that upgraded) is admitted only with no
 *      other writer, no reader and no upgradable reader inside; a reader
 *      only with no writer inside; at most one upgradable reader; the
 *      reader count never below 0; an upgrade completes only when its
 *      holder is the only one inside; after a downgrade the holder is a
 *      reader inside: try_write fails; nothing held at the end.
 *   I8 barrier: every arrival ends exactly once: as the leader (1; a
 *      callback with 1 only on an always-callback loop), released (0),
 *      -ECANCELED, or not counted (-ETIMEDOUT, -ESHUTDOWN).  At each leader,
 *      parties x leaders + arrivals not counted <= arrivals (no generation
 *      short of parties); at each release, parties x released <=
 *      (parties-1) x (arrivals - not counted).  At the end, exactly: the
 *      -ECANCELED ones split into "left before the generation completed" and
 *      "cancelled after it" (a cancel after the grant still reports
 *      -ECANCELED and gives nothing back) so that every generation had one
 *      leader and parties-1 released; nobody left waiting.
 *   I9 latch: the latch's count equals the expected one after every
 *      count_down and add (none fails with -ERANGE); a wait completes (1 at
 *      once, callback 0, blocking 0) only if the count was 0 when it began or
 *      a count_down took it to 0 since; it waits (or times out at once) only
 *      if the count was above 0 when it began or an add raised it since.
 *
 * Library defects this stress found, all fixed since (CHANGELOG, "Fixed"):
 * a cross-thread as_cancel overlapping the wait's re-arming acted on the new
 * arming with the old one's kind or grant; as_sem_forget's locked path
 * erased a concurrent lock-free acquire or release; as_cancel read a
 * signalled condvar waiter's fields while its mutex hand-off rewrote them.
 * --cancel-lock and --no-forget, which kept those paths apart while they
 * were open, remain as knobs to narrow a new failure down; CI runs neither.
 *
 * The loops block in io_uring_submit_and_wait_timeout (timeout: the
 * watchdog) between iterations, so a lost wake-up is a hang the watchdog
 * reports, not something the next as_loop_run happens to paper over.  On
 * Windows each loop is bound to its own I/O completion port and blocks in
 * GetQueuedCompletionStatusEx for at most as_loop_timeout_ns (an IOCP loop
 * keeps its own deadlines, as an application's does); --defer-taskrun does
 * not exist there.
 *
 * Usage: stress [--threads T] [--tasks K] [--ops N] [--seed S|random]
 *               [--cancel PCT] [--xcancel PCT] [--deadline PCT]
 *               [--blockers N] [--timeout SEC] [--strict] [--close]
 *               [--always-callback] [--cancel-lock] [--no-forget]
 *               [--defer-taskrun]
 * (defaults: 2 threads, 24 tasks, 400 ops, seed 1, cancel 15, xcancel 10,
 * deadline 0, 1 blocker, timeout 30)
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
#define MS 1000000ull

#define BAR_PARTIES 3u
#define LATCH_MAX 6 /* adds keep the latch's count at most this */

enum kind { K_SEM, K_MUTEX, K_COND_CONSUME, K_COND_PRODUCE, K_EV_AUTO, K_EV_MANUAL, K_RW_READ,
             K_RW_WRITE, K_RW_UPG, K_BAR, K_LATCH, K_NKINDS,
             K_COND_LOCK /* consumer waiting for the condvar's mutex */,
             K_QUIET /* phase A on a closed primitive: the quiet semaphore */,
             K_RW_UPGRADE /* an upgradable reader waiting to become the writer */,
             K_BAR_QUIET /* phases A and B: a barrier no generation completes */ };
static const char *kind_name[] = {"sem", "mutex", "cond-wait", "cond-produce", "event-auto",
                                  "event-manual", "rw-read", "rw-write", "rw-upgradable",
                                  "barrier", "latch", "?", "cond-lock", "quiet-sem",
                                  "rw-upgrade", "quiet-barrier"};

/* The primitives, by index: closing[] and the close order use it.  P_BAR
 * closes the quiet barrier too. */
enum prim { P_SEM, P_MTX, P_CMTX, P_COND, P_EVA, P_EVM, P_RW, P_BAR, P_LATCH, P_N,
            P_NONE = -1 };
static const char *prim_name[] = {"sem", "mutex", "cond-mutex", "cond", "event-auto",
                                  "event-manual", "rwlock", "barrier", "latch"};

static struct {
    int threads, tasks, ops, cancel_pct, xcancel_pct, deadline_pct, blockers, timeout_s;
    uint64_t seed;
    unsigned mutex_flags, sem_flags, rw_flags; /* the policies: the default
                                                  (eventual fairness), or
                                                  --strict: strict FIFO */
    unsigned ring_flags; /* --defer-taskrun: SINGLE_ISSUER | DEFER_TASKRUN */
    bool close_mid, always_cb, cancel_lock, no_forget;
} cfg = {2, 24, 400, 15, 10, 0, 1, 30, 1, 0, 0, 0, 0, false, false, false, false};

static as_sem sem, quiet_sem;
static as_mutex mtx, cmtx;
static as_cond cond;
static as_event ev_auto, ev_manual;
static as_event ctl_ev[4]; /* 1: phase A, 2: phase B, 3: all closed */
static as_rwlock rw;
static as_barrier bar, bar_q; /* bar_q: parties never all arrive */
static as_latch latch;

static atomic_int closing[P_N];    /* set before the close call */
static atomic_int close_claim[P_N];
static long close_at[P_N];         /* --close: the progress at which it closes */
static atomic_long ops_done;       /* operations started, all tasks */

static atomic_int sem_held, mtx_held, cmtx_held;
static long mtx_plain_counter;          /* only touched under mtx */
static atomic_long mtx_acquisitions;
static long tokens, produced, consumed;  /* only touched under cmtx */
static atomic_long ev_auto_sets, ev_auto_waits_ok;
/* rwlock (I7): shares held now, and figures. */
static atomic_int rw_readers, rw_writers, rw_upg;
static atomic_long rw_reads, rw_writes, rw_upgs, rw_upgrades, rw_downgrades;
/* barrier (I8): arrivals started (every form), and how they ended: as the
 * leader, released with 0, -ECANCELED (counted or not: a cancel after the
 * generation completed still reports it), or not counted for sure
 * (-ETIMEDOUT, -ESHUTDOWN, at once or later). */
static atomic_long bar_arr, bar_lead, bar_rel, bar_canc, bar_left;
/* latch (I9): the count the test expects, changed only under latch_lk
 * (with the call that changes the latch's); zero_gen counts the count_downs
 * that take it to 0 (bumped before the call), add_gen the adds. */
static pthread_mutex_t latch_lk = PTHREAD_MUTEX_INITIALIZER;
static long latch_count;
static atomic_long latch_zero_gen, latch_add_gen, latch_cds, latch_adds, latch_ok;
static atomic_int loops_done, phase_a_done, all_closed, plain_done;
static atomic_long final_reported, final_queued;

/* Figures. */
enum who { W_OWN, W_LOOP, W_PLAIN, W_MAIN, W_N };
static const char *who_name[] = {"own loop", "other loop", "plain thread", "main"};
static struct {
    atomic_long pending, callbacks, cancelled_cb, timedout_cb, shutdown_cb, fast, timed,
        sync_timeout, sync_shutdown, cancel_req[W_N], cancel_ok[W_N], ambiguous,
        blk_calls, blk_ok, blk_timeout, blk_shutdown, forgets, closes_mid, phase_a,
        phase_b_shutdown, phase_b_cancelled, always_cb_waits, bar_stale, plain_bar;
    _Atomic uint64_t late_max_ns; /* (long is 32 bits on Windows) */
} st;

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "stress: FAIL (seed %" PRIu64 "): ", cfg.seed);         \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
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

static void sleep_ms(unsigned ms)
{
#ifdef _WIN32
    Sleep(ms);
#else
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
#endif
}

static bool is_closing(int p) { return p != P_NONE && atomic_load(&closing[p]) != 0; }

/* ---- generations (I5) --------------------------------------------------- */

#define GF_PENDING 0x01u   /* the arming's *_async returned 0 */
#define GF_CB_OK 0x02u     /* its callback: 0 */
#define GF_CB_CANCEL 0x04u /* its callback: -ECANCELED */
#define GF_CB_OTHER 0x08u  /* its callback: -ETIMEDOUT or -ESHUTDOWN */
#define GF_CANCEL_OK 0x10u /* an as_cancel paired with this arming returned 0 */
#define GF_COVERED 0x20u   /* end check: a re-armed-meanwhile cancel may be this one */
#define GF_CB_ANY (GF_CB_OK | GF_CB_CANCEL | GF_CB_OTHER)

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
    int phase;        /* 0 run, 1 phase A, 2 phase B */
    int final_target; /* phase A/B: the current wait is the phase's target */
    int b_queued;     /* phase B: the target is queued (counted in final_queued) */
    uint64_t deadline;
    long lz_gen, la_gen; /* latch wait: zero_gen and add_gen before the call */
    int lz0;             /* latch wait: the expected count was 0 before the call */
    struct task *next_hold;
    int id;
    int hist[8], nhist; /* recent events, for failure reports */
    /* Read by other threads (cancellers). */
    atomic_uint gen;    /* arming number of the wait (0: never armed) */
    atomic_int armed;   /* hint: a wait is pending now */
    _Atomic uint64_t bar_since; /* a barrier wait pending since (0: none) */
    atomic_uchar *gf;   /* per arming: GF_* */
    atomic_int xlock;   /* --cancel-lock: held across an arming and a cross-thread cancel */
    uint32_t ngen;      /* size of gf */
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
    bool always_cb;
    as_wait ctl_w, scratch_w;
    int ctl_pending;
    int final_left;   /* phase A/B: tasks whose target wait has not ended */
};

static struct lctx *lcs;

/* Cancels whose two generation reads differ (the wait completed and was
 * re-armed while as_cancel ran), checked at the end. */
struct ambig { struct task *t; uint32_t g1, g2; };
static pthread_mutex_t ambig_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ambig *ambigs;
static size_t n_ambig, cap_ambig;

static void ambig_add(struct task *t, uint32_t g1, uint32_t g2)
{
    pthread_mutex_lock(&ambig_lock);
    if (n_ambig == cap_ambig) {
        cap_ambig = cap_ambig ? 2 * cap_ambig : 64;
        ambigs = realloc(ambigs, cap_ambig * sizeof *ambigs);
        if (!ambigs)
            FAIL("out of memory");
    }
    ambigs[n_ambig++] = (struct ambig){t, g1, g2};
    pthread_mutex_unlock(&ambig_lock);
}

static void note(struct task *t, int ev)
{
    t->hist[t->nhist++ % 8] = ev;
}

static void dump_task(const struct task *t)
{
    fprintf(stderr, "task %d.%d history (100+k pending, 200+10k+(0 ok, 1 cancelled, 2 other)):",
            t->lc->id, t->id);
    for (int i = 0; i < 8; i++)
        fprintf(stderr, " %d", t->hist[(t->nhist + i) % 8]);
    fprintf(stderr, "\n");
}

/* --cancel-lock: the application's own lock over its request (asyncsync.h,
 * as_cancel): a cross-thread as_cancel and the owner's arming of the same
 * wait never overlap.  Without it they may: the cancel then lands on
 * whichever arming is pending, or on none. */
static void xlock(struct task *t)
{
    while (atomic_exchange_explicit(&t->xlock, 1, memory_order_acquire))
        sched_yield();
}

static void xunlock(struct task *t)
{
    atomic_store_explicit(&t->xlock, 0, memory_order_release);
}

/* The owner is about to call an *_async / *_until with t->w: a new arming.
 * (arm_result, right after the call, ends it.) */
static void arm_begin(struct task *t)
{
    if (cfg.cancel_lock)
        xlock(t);
    uint32_t g = atomic_load_explicit(&t->gen, memory_order_relaxed) + 1;
    if (g >= t->ngen)
        FAIL("task %d.%d armed more than %u times", t->lc->id, t->id, t->ngen);
    atomic_store_explicit(&t->gen, g, memory_order_release);
}

/* Any thread.  Returns as_cancel's result. */
static int do_cancel(struct task *t, enum who who)
{
    bool lock = cfg.cancel_lock && who != W_OWN;
    if (lock)
        xlock(t);
    uint32_t g1 = atomic_load_explicit(&t->gen, memory_order_acquire);
    int r = as_cancel(&t->w);
    uint32_t g2 = atomic_load_explicit(&t->gen, memory_order_acquire);
    if (lock)
        xunlock(t);
    atomic_fetch_add(&st.cancel_req[who], 1);
    if (r == 0) {
        atomic_fetch_add(&st.cancel_ok[who], 1);
        if (g1 == g2)
            atomic_fetch_or(&t->gf[g1], GF_CANCEL_OK);
        else {
            atomic_fetch_add(&st.ambiguous, 1);
            ambig_add(t, g1, g2);
        }
    } else if (r != -ENOENT) {
        FAIL("as_cancel (%s): %d", who_name[who], r);
    }
    return r;
}

/* ---- holding ------------------------------------------------------------ */

static void got_sem(uint32_t n)
{
    int h = atomic_fetch_add(&sem_held, (int)n) + (int)n;
    if (h > (int)SEM_PERMITS)
        FAIL("I1: %d permits held > %u", h, SEM_PERMITS);
}

static void put_sem(uint32_t n)
{
    atomic_fetch_sub(&sem_held, (int)n);
    if (as_sem_release(&sem, n) != 0)
        FAIL("as_sem_release");
}

static void got_mutex(void)
{
    int h = atomic_fetch_add(&mtx_held, 1) + 1;
    if (h != 1)
        FAIL("I2: %d mutex holders", h);
    mtx_plain_counter++;
    atomic_fetch_add(&mtx_acquisitions, 1);
}

static void put_mutex(void)
{
    atomic_fetch_sub(&mtx_held, 1);
    if (as_mutex_unlock(&mtx) != 0)
        FAIL("as_mutex_unlock");
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

/* Condvar consumer body, mutex cmtx held. */
static void consume_locked(void)
{
    if (tokens > 0) {
        tokens--;
        consumed++;
    }
    if (consumed > produced)
        FAIL("I3: consumed %ld > produced %ld", consumed, produced);
}

static void produce_locked(void)
{
    tokens++;
    produced++;
}

static void auto_wait_ok(void)
{
    if (atomic_fetch_add(&ev_auto_waits_ok, 1) + 1 > atomic_load(&ev_auto_sets))
        FAIL("I4: more auto-reset wakes than sets");
}

/* ---- rwlock (I7) ------------------------------------------------------- */

/* A share was just granted (fast path, callback 0, try_*, blocking 0).
 * Counted after the grant, uncounted before the unlock, so a breach of
 * the exclusion shows on the acquirer's side. */
static void rw_got(enum kind k)
{
    int r, w, u;
    switch (k) {
    case K_RW_READ:
        r = atomic_fetch_add(&rw_readers, 1) + 1;
        if ((w = atomic_load(&rw_writers)) != 0)
            FAIL("I7: a reader admitted with %d writer(s) inside (%d readers)", w, r);
        atomic_fetch_add(&rw_reads, 1);
        break;
    case K_RW_WRITE:
        w = atomic_fetch_add(&rw_writers, 1) + 1;
        r = atomic_load(&rw_readers);
        u = atomic_load(&rw_upg);
        if (w != 1 || r != 0 || u != 0)
            FAIL("I7: a writer admitted with %d writers, %d readers, %d upgradable inside", w,
                 r, u);
        atomic_fetch_add(&rw_writes, 1);
        break;
    case K_RW_UPG:
        u = atomic_fetch_add(&rw_upg, 1) + 1;
        if (u != 1 || (w = atomic_load(&rw_writers)) != 0)
            FAIL("I7: an upgradable reader admitted with %d upgradable, %d writers inside", u,
                 atomic_load(&rw_writers));
        atomic_fetch_add(&rw_upgs, 1);
        break;
    default: /* K_RW_UPGRADE: the upgradable holder is now the writer */
        w = atomic_fetch_add(&rw_writers, 1) + 1;
        u = atomic_fetch_sub(&rw_upg, 1) - 1;
        r = atomic_load(&rw_readers);
        if (w != 1 || r != 0 || u != 0)
            FAIL("I7: an upgrade completed with %d writers, %d readers, %d other upgradable "
                 "inside", w, r, u);
        atomic_fetch_add(&rw_upgrades, 1);
        break;
    }
    if (atomic_load(&rw_readers) < 0)
        FAIL("I7: reader count %d", atomic_load(&rw_readers));
}

static void rw_unlock(enum kind k)
{
    int r;
    switch (k) {
    case K_RW_READ:
        if (atomic_fetch_sub(&rw_readers, 1) - 1 < 0)
            FAIL("I7: reader count below 0");
        r = as_rwlock_read_unlock(&rw);
        break;
    case K_RW_WRITE:
        atomic_fetch_sub(&rw_writers, 1);
        r = as_rwlock_write_unlock(&rw);
        break;
    default:
        atomic_fetch_sub(&rw_upg, 1);
        r = as_rwlock_upgradable_read_unlock(&rw);
    }
    if (r != 0)
        FAIL("rwlock unlock (%s): %d", kind_name[k], r);
}

/* The writer becomes a reader: counted a reader first (no writer can come
 * in meanwhile), and stays inside: no writer gets in while it reads. */
static void rw_downgrade(void)
{
    int r;
    atomic_fetch_add(&rw_readers, 1);
    atomic_fetch_sub(&rw_writers, 1);
    if ((r = as_rwlock_downgrade(&rw)) != 0)
        FAIL("as_rwlock_downgrade: %d", r);
    atomic_fetch_add(&rw_downgrades, 1);
    r = as_rwlock_try_write(&rw);
    if (r == 1)
        FAIL("I7: try_write succeeded right after a downgrade, the reader inside");
    if (r != 0 && !(r == -ESHUTDOWN && is_closing(P_RW)))
        FAIL("as_rwlock_try_write: %d", r);
}

/* try_* from any thread: take the share and give it back at once (with
 * an upgradable read, maybe try_upgrade and downgrade on the way). */
static void rw_try(uint64_t *rng)
{
    enum kind k = (enum kind)(K_RW_READ + (int)rnd(rng, 3));
    int r = k == K_RW_READ    ? as_rwlock_try_read(&rw)
            : k == K_RW_WRITE ? as_rwlock_try_write(&rw)
                              : as_rwlock_try_upgradable_read(&rw);
    if (r == 0 || (r == -ESHUTDOWN && is_closing(P_RW)))
        return;
    if (r != 1)
        FAIL("as_rwlock_try (%s): %d", kind_name[k], r);
    rw_got(k);
    if (k == K_RW_UPG && rnd(rng, 2)) {
        r = as_rwlock_try_upgrade(&rw);
        if (r == 1) {
            rw_got(K_RW_UPGRADE);
            k = K_RW_WRITE;
        } else if (r != 0 && !(r == -ESHUTDOWN && is_closing(P_RW)))
            FAIL("as_rwlock_try_upgrade: %d", r);
    }
    if (k == K_RW_WRITE && rnd(rng, 2)) {
        rw_downgrade();
        k = K_RW_READ;
    }
    rw_unlock(k);
}

/* ---- barrier (I8) -------------------------------------------------------- */

/* Before any arrival at bar. */
static void bar_arrive(void) { atomic_fetch_add(&bar_arr, 1); }

/* How an arrival at bar ended: 1 (the leader), 0 (released), -ECANCELED,
 * -ETIMEDOUT/-ESHUTDOWN (not counted).  Checked at every step: the
 * generations completed so far (at least the leaders seen) each had
 * `parties` arrivals that counted, so parties x leaders plus the arrivals
 * that surely did not count never exceed the arrivals started; and the
 * parties released with 0 are at most parties-1 per generation those
 * arrivals could have completed.  Exactly at the end (check_barrier). */
static void bar_ended(int r)
{
    long p = (long)BAR_PARTIES;
    if (r == 1) {
        long l = atomic_fetch_add(&bar_lead, 1) + 1;
        long left = atomic_load(&bar_left), arr = atomic_load(&bar_arr);
        if (p * l + left > arr)
            FAIL("I8: %ld barrier leaders x %ld parties + %ld arrivals that did not count > "
                 "%ld arrivals: a generation completed short", l, p, left, arr);
    } else if (r == 0) {
        long s = atomic_fetch_add(&bar_rel, 1) + 1;
        long left = atomic_load(&bar_left), arr = atomic_load(&bar_arr);
        if (p * s > (p - 1) * (arr - left))
            FAIL("I8: %ld parties released, more than %ld per generation %ld arrivals "
                 "allow", s, p - 1, arr - left);
    } else if (r == -ECANCELED) {
        atomic_fetch_add(&bar_canc, 1);
    } else {
        atomic_fetch_add(&bar_left, 1);
    }
}

/* The end (quiescent, every arrival ended): one ending per arrival, and
 * some split of the -ECANCELED ones into "left before its generation
 * completed" and "cancelled after" (as a released party, or as a leader on
 * an always-callback loop) makes every generation exactly parties-1
 * released plus one leader. */
static void check_barrier(void)
{
    long p = (long)BAR_PARTIES, arr = atomic_load(&bar_arr), l = atomic_load(&bar_lead),
         s = atomic_load(&bar_rel), c = atomic_load(&bar_canc), left = atomic_load(&bar_left);
    bool ok = false;
    if (arr != l + s + c + left)
        FAIL("I8: %ld barrier arrivals, %ld ended (%ld leaders, %ld released, %ld cancelled, "
             "%ld not counted)", arr, l + s + c + left, l, s, c, left);
    for (long pl = 0; pl <= c && !ok; pl++) {
        long pnl = (p - 1) * (l + pl) - s;
        ok = pnl >= 0 && pnl <= c - pl;
    }
    if (!ok)
        FAIL("I8: %ld leaders and %ld released parties (%ld cancelled) fit no generations of "
             "%ld", l, s, c, p);
    if (as_barrier_waiters(&bar) != 0 || as_barrier_waiters(&bar_q) != 0)
        FAIL("I8: barrier parties left waiting at the end");
}

/* ---- latch (I9) ---------------------------------------------------------- */

/* count_down (up to 3, or all of it) or add under latch_lk, the expected
 * count with it; the latch's own count must agree after each. */
static void latch_change(uint64_t *rng, bool all)
{
    int r;
    pthread_mutex_lock(&latch_lk);
    if (latch_count > 0 && (all || latch_count >= LATCH_MAX || rnd(rng, 2))) {
        uint32_t n = all ? (uint32_t)latch_count
                         : 1 + rnd(rng, (unsigned)(latch_count < 3 ? latch_count : 3));
        if ((long)n == latch_count)
            atomic_fetch_add(&latch_zero_gen, 1); /* written before it reaches 0 */
        if ((r = as_latch_count_down(&latch, n)) != 0)
            FAIL("I9: as_latch_count_down(%u) with the count at %ld: %d", n, latch_count, r);
        latch_count -= (long)n;
        atomic_fetch_add(&latch_cds, 1);
    } else if (!all && latch_count < LATCH_MAX) {
        uint32_t n = 1 + rnd(rng, 2);
        atomic_fetch_add(&latch_add_gen, 1);
        if ((r = as_latch_add(&latch, n)) != 0)
            FAIL("as_latch_add(%u): %d", n, r);
        latch_count += (long)n;
        atomic_fetch_add(&latch_adds, 1);
    }
    if (as_latch_value(&latch) != latch_count)
        FAIL("I9: latch count %" PRId64 ", expected %ld", as_latch_value(&latch), latch_count);
    pthread_mutex_unlock(&latch_lk);
}

/* Before a latch wait: what the count was, and the transitions so far. */
static void latch_before(long *zg, long *ag, int *z0)
{
    pthread_mutex_lock(&latch_lk);
    *zg = atomic_load(&latch_zero_gen);
    *ag = atomic_load(&latch_add_gen);
    *z0 = latch_count == 0;
    pthread_mutex_unlock(&latch_lk);
}

/* A latch wait ended with 0 (or 1 at once): the count was 0 when it began,
 * or a count_down took it to 0 since. */
static void latch_ok_check(const char *what, long zg, int z0)
{
    if (!z0 && atomic_load(&latch_zero_gen) == zg)
        FAIL("I9: %s completed, but the count was %s above 0 since the wait began", what,
             "always");
    atomic_fetch_add(&latch_ok, 1);
}

/* A latch wait went pending (or timed out at once): the count was above 0
 * when it began, or an add raised it since. */
static void latch_wait_check(const char *what, long ag, int z0)
{
    if (z0 && atomic_load(&latch_add_gen) == ag)
        FAIL("I9: %s waits, but the count has been 0 since it began", what);
}

static void hold(struct task *t)
{
    t->holding = 1;
    t->hold = (int)rnd(&t->lc->rng, 3); /* 0..2 loop iterations */
    t->next_hold = t->lc->holders;
    t->lc->holders = t;
}

static int arm_upgrade(struct task *t);
static uint64_t pick_deadline(struct task *t);

/* Give back what t holds.  A writer may downgrade and hold on as a reader;
 * an upgradable reader may upgrade (try_upgrade, or a wait).  Returns true
 * when t holds or waits again (next_op is not due). */
static bool drop(struct task *t)
{
    uint64_t *r = &t->lc->rng;
    int res;
    t->holding = 0;
    switch (t->kind) {
    case K_SEM: put_sem(t->n); return false;
    case K_MUTEX: put_mutex(); return false;
    case K_RW_WRITE:
        if (rnd(r, 3) == 0) {
            rw_downgrade();
            t->kind = K_RW_READ;
            hold(t);
            return true;
        }
        break;
    case K_RW_UPG:
        switch (rnd(r, 4)) {
        case 0:
            res = as_rwlock_try_upgrade(&rw);
            if (res == 1) {
                rw_got(K_RW_UPGRADE);
                t->kind = K_RW_WRITE;
                hold(t);
                return true;
            }
            if (res != 0 && !(res == -ESHUTDOWN && is_closing(P_RW)))
                FAIL("as_rwlock_try_upgrade: %d", res);
            break;
        case 1:
        case 2:
            t->deadline = pick_deadline(t);
            res = arm_upgrade(t);
            if (res == 0)
                return true;
            if (res == 1) {
                rw_got(K_RW_UPGRADE);
                t->kind = K_RW_WRITE;
                hold(t);
                return true;
            }
            t->kind = K_RW_UPG; /* refused: still the upgradable reader */
            break;
        default:
            break;
        }
        break;
    default:
        break;
    }
    rw_unlock(t->kind);
    return false;
}

/* ---- arming --------------------------------------------------------------- */

static int kind_prim(enum kind k)
{
    switch (k) {
    case K_SEM: return P_SEM;
    case K_MUTEX: return P_MTX;
    case K_COND_LOCK: return P_CMTX;
    case K_COND_CONSUME: return P_COND;
    case K_EV_AUTO: return P_EVA;
    case K_EV_MANUAL: return P_EVM;
    case K_RW_READ:
    case K_RW_WRITE:
    case K_RW_UPG:
    case K_RW_UPGRADE: return P_RW;
    case K_BAR:
    case K_BAR_QUIET: return P_BAR;
    case K_LATCH: return P_LATCH;
    default: return P_NONE;
    }
}

/* A random deadline for a task's wait, or AS_NO_DEADLINE (--deadline). */
static uint64_t pick_deadline(struct task *t)
{
    uint64_t *r = &t->lc->rng, now;
    if ((int)rnd(r, 100) >= cfg.deadline_pct)
        return AS_NO_DEADLINE;
    now = as_now_ns();
    switch (rnd(r, 10)) {
    case 0:
        return now - 1 - rnd(r, (unsigned)MS); /* past: -ETIMEDOUT at once */
    case 1:
        return now + rnd(r, 20 * (unsigned)MS);
    default:
        return now + rnd(r, 2 * (unsigned)MS + 1);
    }
}

static void next_op(struct task *t);
static void on_wait(as_wait *w, int status, void *arg);

static void went_pending(struct task *t)
{
    note(t, 100 + (int)t->kind);
    t->pending = 1;
    atomic_fetch_or(&t->gf[atomic_load_explicit(&t->gen, memory_order_relaxed)], GF_PENDING);
    atomic_store(&t->armed, 1);
    if (t->kind == K_BAR)
        atomic_store(&t->bar_since, as_now_ns());
    atomic_fetch_add(&st.pending, 1);
    if (t->deadline != AS_NO_DEADLINE)
        atomic_fetch_add(&st.timed, 1);
    if (t->lc->always_cb)
        atomic_fetch_add(&st.always_cb_waits, 1);
    if (t->phase == 0 && (int)rnd(&t->lc->rng, 100) < cfg.cancel_pct / 2) {
        /* Cancel at once; more cancels happen later from the loop body and
         * from other threads. */
        if (do_cancel(t, W_OWN) != 0)
            FAIL("as_cancel of a pending wait");
    }
}

/* What an *_async / *_until call on t->w returned: 1 at once, 0 pending, or
 * a refusal (-ETIMEDOUT: only with a deadline; -ESHUTDOWN: only once the
 * primitive's close started).  Anything else fails. */
static int arm_result(struct task *t, int r, int prim)
{
    if (cfg.cancel_lock)
        xunlock(t);
    if (r == 0) {
        went_pending(t);
        return 0;
    }
    if (r == 1) {
        if (t->lc->always_cb)
            FAIL("I5: %s returned 1 on an AS_LOOP_ALWAYS_CALLBACK loop", kind_name[t->kind]);
        atomic_fetch_add(&st.fast, 1);
        return 1;
    }
    if (r == -ETIMEDOUT && t->deadline != AS_NO_DEADLINE) {
        atomic_fetch_add(&st.sync_timeout, 1);
        return r;
    }
    if (r == -ESHUTDOWN && is_closing(prim)) {
        atomic_fetch_add(&st.sync_shutdown, 1);
        return r;
    }
    dump_task(t);
    FAIL("%s wait returned %d (deadline %s, %s closing %d)", kind_name[t->kind], r,
         t->deadline == AS_NO_DEADLINE ? "none" : "set", prim >= 0 ? prim_name[prim] : "-",
         is_closing(prim));
}

static int arm_sem(struct task *t, uint32_t n)
{
    struct lctx *lc = t->lc;
    t->kind = K_SEM;
    t->n = n;
    arm_begin(t);
    return arm_result(t,
                      t->deadline == AS_NO_DEADLINE
                          ? as_sem_acquire_async(&sem, &lc->loop, &t->w, n, on_wait, t)
                          : as_sem_acquire_until(&sem, &lc->loop, &t->w, n, t->deadline,
                                                 on_wait, t),
                      P_SEM);
}

static int arm_quiet(struct task *t)
{
    t->kind = K_QUIET;
    arm_begin(t);
    return arm_result(t, as_sem_acquire_until(&quiet_sem, &t->lc->loop, &t->w, 1, t->deadline,
                                              on_wait, t),
                      P_NONE);
}

static int arm_mutex(struct task *t, as_mutex *m, enum kind k)
{
    struct lctx *lc = t->lc;
    t->kind = k;
    arm_begin(t);
    return arm_result(t,
                      t->deadline == AS_NO_DEADLINE
                          ? as_mutex_lock_async(m, &lc->loop, &t->w, on_wait, t)
                          : as_mutex_lock_until(m, &lc->loop, &t->w, t->deadline, on_wait, t),
                      kind_prim(k));
}

static int arm_event(struct task *t, enum kind k)
{
    struct lctx *lc = t->lc;
    as_event *e = k == K_EV_AUTO ? &ev_auto : &ev_manual;
    t->kind = k;
    arm_begin(t);
    return arm_result(t,
                      t->deadline == AS_NO_DEADLINE
                          ? as_event_wait_async(e, &lc->loop, &t->w, on_wait, t)
                          : as_event_wait_until(e, &lc->loop, &t->w, t->deadline, on_wait, t),
                      kind_prim(k));
}

static int arm_rw(struct task *t, enum kind k)
{
    struct lctx *lc = t->lc;
    bool nd = t->deadline == AS_NO_DEADLINE;
    int r;
    t->kind = k;
    arm_begin(t);
    switch (k) {
    case K_RW_READ:
        r = nd ? as_rwlock_read_async(&rw, &lc->loop, &t->w, on_wait, t)
               : as_rwlock_read_until(&rw, &lc->loop, &t->w, t->deadline, on_wait, t);
        break;
    case K_RW_WRITE:
        r = nd ? as_rwlock_write_async(&rw, &lc->loop, &t->w, on_wait, t)
               : as_rwlock_write_until(&rw, &lc->loop, &t->w, t->deadline, on_wait, t);
        break;
    default:
        r = nd ? as_rwlock_upgradable_read_async(&rw, &lc->loop, &t->w, on_wait, t)
               : as_rwlock_upgradable_read_until(&rw, &lc->loop, &t->w, t->deadline, on_wait,
                                                 t);
    }
    return arm_result(t, r, P_RW);
}

/* t holds the upgradable read: wait to become the writer.  Whatever the
 * outcome but 0/1, t still holds the upgradable read. */
static int arm_upgrade(struct task *t)
{
    struct lctx *lc = t->lc;
    t->kind = K_RW_UPGRADE;
    arm_begin(t);
    return arm_result(t,
                      t->deadline == AS_NO_DEADLINE
                          ? as_rwlock_upgrade_async(&rw, &lc->loop, &t->w, on_wait, t)
                          : as_rwlock_upgrade_until(&rw, &lc->loop, &t->w, t->deadline, on_wait,
                                                    t),
                      P_RW);
}

/* An arrival at the barrier (quiet: the one no generation completes). */
static int arm_bar(struct task *t, bool quiet)
{
    struct lctx *lc = t->lc;
    as_barrier *b = quiet ? &bar_q : &bar;
    int r;
    t->kind = quiet ? K_BAR_QUIET : K_BAR;
    if (!quiet)
        bar_arrive();
    arm_begin(t);
    r = t->deadline == AS_NO_DEADLINE
            ? as_barrier_wait_async(b, &lc->loop, &t->w, on_wait, t)
            : as_barrier_wait_until(b, &lc->loop, &t->w, t->deadline, on_wait, t);
    r = arm_result(t, r, P_BAR);
    if (r == 1 && quiet)
        FAIL("I8: the quiet barrier completed a generation");
    if (!quiet && r != 0)
        bar_ended(r); /* 1: the leader; or not counted */
    return r;
}

static int arm_latch(struct task *t)
{
    struct lctx *lc = t->lc;
    int r;
    t->kind = K_LATCH;
    latch_before(&t->lz_gen, &t->la_gen, &t->lz0);
    arm_begin(t);
    r = t->deadline == AS_NO_DEADLINE
            ? as_latch_wait_async(&latch, &lc->loop, &t->w, on_wait, t)
            : as_latch_wait_until(&latch, &lc->loop, &t->w, t->deadline, on_wait, t);
    r = arm_result(t, r, P_LATCH);
    if (r == 1)
        latch_ok_check("latch wait (at once)", t->lz_gen, t->lz0);
    else if ((r == 0 && !t->lc->always_cb) || r == -ETIMEDOUT)
        latch_wait_check(r == 0 ? "latch wait (pending)" : "latch wait (refused)", t->la_gen,
                         t->lz0);
    return r;
}

/* cmtx held.  The condvar wait releases it when it goes pending (0); on a
 * refusal (-ETIMEDOUT, -ESHUTDOWN) the caller still holds it. */
static int arm_cond(struct task *t)
{
    struct lctx *lc = t->lc;
    int r;
    t->kind = K_COND_CONSUME;
    atomic_fetch_sub(&cmtx_held, 1); /* the wait releases it */
    arm_begin(t);
    r = t->deadline == AS_NO_DEADLINE
            ? as_cond_wait_async(&cond, &cmtx, &lc->loop, &t->w, on_wait, t)
            : as_cond_wait_until(&cond, &cmtx, &lc->loop, &t->w, t->deadline, on_wait, t);
    if (r == 1)
        FAIL("as_cond_wait returned 1");
    if (r != 0)
        cmtx_got("refused condvar wait");
    return arm_result(t, r, P_COND);
}

/* Consumer with cmtx held: take a token, or wait on the condvar (which
 * releases cmtx).  Returns 1 when the task went pending. */
static int consume_or_wait(struct task *t)
{
    if (tokens > 0) {
        consume_locked();
        cmtx_unlock();
        return 0;
    }
    t->deadline = pick_deadline(t);
    if (arm_cond(t) == 0)
        return 1;
    cmtx_unlock();
    return 0;
}

/* ---- phases A and B ------------------------------------------------------ */

static void final_done(struct task *t)
{
    t->final_target = 0;
    t->lc->final_left--;
    if (t->phase == 2 && !t->b_queued)
        atomic_fetch_add(&final_reported, 1); /* refused at once */
}

static void b_queued(struct task *t)
{
    t->b_queued = 1;
    atomic_fetch_add(&final_queued, 1);
}

/* Phase A: one wait with a deadline 1-3 ms ahead that nothing else can end
 * (a closed primitive: the quiet semaphore instead); optionally first one
 * with a deadline already past, which must be refused at once. */
static void phase_a_arm(struct task *t)
{
    uint64_t *r = &t->lc->rng;
    enum kind k = (enum kind)rnd(r, K_NKINDS);
    int res;
    if (k == K_COND_PRODUCE)
        k = K_QUIET;
    if (k == K_BAR)
        k = K_BAR_QUIET;
    if (rnd(r, 4) == 0 && k != K_COND_CONSUME) {
        t->deadline = as_now_ns() - 1 - rnd(r, (unsigned)MS);
        res = k == K_SEM ? arm_sem(t, 1 + rnd(r, 3))
              : k == K_MUTEX ? arm_mutex(t, &mtx, K_MUTEX)
              : k == K_QUIET ? arm_quiet(t)
              : (k == K_RW_READ || k == K_RW_WRITE || k == K_RW_UPG) ? arm_rw(t, k)
              : k == K_BAR_QUIET ? arm_bar(t, true)
              : k == K_LATCH ? arm_latch(t)
                             : arm_event(t, k);
        if (res != -ETIMEDOUT && res != -ESHUTDOWN)
            FAIL("phase A: %s with a past deadline returned %d, not -ETIMEDOUT",
                 kind_name[t->kind], res);
    }
    t->final_target = 1;
    t->deadline = as_now_ns() + MS + rnd(r, 2 * (unsigned)MS);
    switch (k) {
    case K_SEM: res = arm_sem(t, 1 + rnd(r, 3)); break;
    case K_MUTEX: res = arm_mutex(t, &mtx, K_MUTEX); break;
    case K_COND_CONSUME:
        t->final_target = 0;
        t->deadline = AS_NO_DEADLINE;
        res = arm_mutex(t, &cmtx, K_COND_LOCK);
        if (res == 1) {
            cmtx_got("phase A lock");
            t->final_target = 1;
            t->deadline = as_now_ns() + MS + rnd(r, 2 * (unsigned)MS);
            res = arm_cond(t);
            if (res != 0)
                cmtx_unlock();
        }
        break;
    case K_QUIET: res = arm_quiet(t); break;
    case K_RW_READ:
    case K_RW_WRITE:
    case K_RW_UPG: res = arm_rw(t, k); break;
    case K_BAR_QUIET: res = arm_bar(t, true); break;
    case K_LATCH: res = arm_latch(t); break;
    default: res = arm_event(t, k); break;
    }
    if (res == 1)
        FAIL("phase A: %s granted at once", kind_name[t->kind]);
    if (res == -ESHUTDOWN) {
        t->final_target = 1;
        t->deadline = as_now_ns() + MS + rnd(r, 2 * (unsigned)MS);
        res = arm_quiet(t);
    }
    if (res == -ETIMEDOUT) /* preempted past its deadline */
        final_done(t);
    else if (res != 0)
        FAIL("phase A: %s returned %d", kind_name[t->kind], res);
}

/* Phase B: a wait nobody grants; only main's cancel or the close ends it. */
static void phase_b_arm(struct task *t)
{
    uint64_t *r = &t->lc->rng;
    enum kind k = (enum kind)rnd(r, K_NKINDS);
    int res;
    if (k == K_COND_PRODUCE)
        k = K_SEM;
    if (k == K_BAR)
        k = K_BAR_QUIET;
    t->final_target = 1;
    t->deadline = rnd(r, 2) ? AS_NO_DEADLINE : as_now_ns() + 3600000 * MS;
    switch (k) {
    case K_SEM: res = arm_sem(t, 1 + rnd(r, 3)); break;
    case K_MUTEX: res = arm_mutex(t, &mtx, K_MUTEX); break;
    case K_COND_CONSUME: {
        uint64_t d = t->deadline;
        t->final_target = 0;
        t->deadline = AS_NO_DEADLINE;
        res = arm_mutex(t, &cmtx, K_COND_LOCK);
        t->deadline = d;
        if (res == 1) {
            cmtx_got("phase B lock");
            t->final_target = 1;
            res = arm_cond(t);
            if (res != 0)
                cmtx_unlock();
        }
        break;
    }
    case K_RW_READ:
    case K_RW_WRITE:
    case K_RW_UPG: res = arm_rw(t, k); break;
    case K_BAR_QUIET: res = arm_bar(t, true); break;
    case K_LATCH: res = arm_latch(t); break;
    default: res = arm_event(t, k); break;
    }
    if (res == 1)
        FAIL("phase B: %s granted at once", kind_name[t->kind]);
    if (res == 0 && t->final_target)
        b_queued(t);
    else if (res == -ESHUTDOWN)
        final_done(t);
    else if (res != 0)
        FAIL("phase B: %s returned %d", kind_name[t->kind], res);
}

/* A callback in phase A or B. */
static void final_cb(struct task *t, int status)
{
    if (t->kind == K_COND_CONSUME) {
        if (as_mutex_try_lock(&cmtx) == 1)
            FAIL("I3: condvar callback without its mutex held");
        cmtx_got("final condvar callback");
        consume_locked();
        cmtx_unlock();
    }
    if (!t->final_target) {
        /* The condvar's mutex, for the phase's condvar wait. */
        if (t->kind != K_COND_LOCK || status != 0)
            FAIL("phase %c: lock step ended with %d", 'A' + t->phase - 1, status);
        cmtx_got("final lock callback");
        t->final_target = 1;
        if (t->phase == 1)
            t->deadline = as_now_ns() + MS + rnd(&t->lc->rng, 2 * (unsigned)MS);
        int r = arm_cond(t);
        if (r == 0) {
            if (t->phase == 2)
                b_queued(t);
            return;
        }
        cmtx_unlock();
        if (r == -ESHUTDOWN && t->phase == 1) {
            t->deadline = as_now_ns() + MS + rnd(&t->lc->rng, 2 * (unsigned)MS);
            if (arm_quiet(t) == 0)
                return;
        }
        final_done(t);
        return;
    }
    if (t->phase == 1) {
        if (status != -ETIMEDOUT)
            FAIL("phase A: %s ended with %d, not -ETIMEDOUT", kind_name[t->kind], status);
        atomic_fetch_add(&st.phase_a, 1);
    } else {
        if (status == -ESHUTDOWN)
            atomic_fetch_add(&st.phase_b_shutdown, 1);
        else if (status == -ECANCELED)
            atomic_fetch_add(&st.phase_b_cancelled, 1);
        else
            FAIL("phase B: %s ended with %d, not -ESHUTDOWN", kind_name[t->kind], status);
    }
    final_done(t);
}

/* ---- callbacks ------------------------------------------------------------ */

static void on_wait(as_wait *w, int status, void *arg)
{
    struct task *t = arg;
    uint32_t g = atomic_load_explicit(&t->gen, memory_order_relaxed);
    unsigned f;
    (void)w;
    if (!t->pending)
        FAIL("I5: callback for task %d.%d (%s) that is not pending", t->lc->id, t->id,
             kind_name[t->kind]);
    t->pending = 0;
    atomic_store(&t->armed, 0);
    atomic_store(&t->bar_since, 0);
    note(t, 200 + (int)t->kind * 10 + (status >= 0 ? 0 : status == -ECANCELED ? 1 : 2));
    atomic_fetch_add(&st.callbacks, 1);
    f = status >= 0 ? GF_CB_OK : status == -ECANCELED ? GF_CB_CANCEL : GF_CB_OTHER;
    if (atomic_fetch_or(&t->gf[g], f) & GF_CB_ANY)
        FAIL("I5: second callback for task %d.%d arming %u", t->lc->id, t->id, g);

    switch (status) {
    case 1:
        /* a barrier's leader, on an always-callback loop only */
        if (t->kind != K_BAR || !t->lc->always_cb)
            FAIL("%s: callback status 1%s", kind_name[t->kind],
                 t->lc->always_cb ? "" : " on a loop without AS_LOOP_ALWAYS_CALLBACK");
        break;
    case 0:
        break;
    case -ECANCELED:
        atomic_fetch_add(&st.cancelled_cb, 1);
        break;
    case -ETIMEDOUT: {
        uint64_t now = as_now_ns();
        if (t->deadline == AS_NO_DEADLINE)
            FAIL("%s: -ETIMEDOUT for a wait without a deadline", kind_name[t->kind]);
        if (now < t->deadline)
            FAIL("%s: -ETIMEDOUT %" PRIu64 " ns before its deadline", kind_name[t->kind],
                 t->deadline - now);
        uint64_t late = now - t->deadline;
        uint64_t m = atomic_load(&st.late_max_ns);
        while (late > m && !atomic_compare_exchange_weak(&st.late_max_ns, &m, late))
            ;
        if (late > (uint64_t)cfg.timeout_s * 1000000000u)
            FAIL("I6: %s timed out %" PRIu64 " ms late", kind_name[t->kind],
                 (uint64_t)(late / MS));
        atomic_fetch_add(&st.timedout_cb, 1);
        break;
    }
    case -ESHUTDOWN:
        if (!is_closing(kind_prim(t->kind)))
            FAIL("%s: -ESHUTDOWN but %s is not closed", kind_name[t->kind],
                 kind_prim(t->kind) >= 0 ? prim_name[kind_prim(t->kind)] : "-");
        atomic_fetch_add(&st.shutdown_cb, 1);
        break;
    default:
        FAIL("%s: callback status %d", kind_name[t->kind], status);
    }

    if (t->phase) {
        final_cb(t, status);
        return;
    }
    switch (t->kind) {
    case K_SEM:
    case K_MUTEX:
        if (status == 0) {
            if (t->kind == K_SEM)
                got_sem(t->n);
            else
                got_mutex();
            hold(t);
            return;
        }
        break;
    case K_COND_LOCK:
        if (status == 0) {
            cmtx_got("lock callback");
            if (consume_or_wait(t))
                return;
        }
        break;
    case K_COND_CONSUME:
        /* I3: the mutex is held whatever the status. */
        if (as_mutex_try_lock(&cmtx) == 1)
            FAIL("I3: condvar callback without its mutex held");
        cmtx_got(status == 0 ? "cond callback" : "ended cond callback");
        consume_locked();
        cmtx_unlock();
        break;
    case K_EV_AUTO:
        if (status == 0)
            auto_wait_ok();
        break;
    case K_RW_READ:
    case K_RW_WRITE:
    case K_RW_UPG:
        if (status == 0) {
            rw_got(t->kind);
            hold(t);
            return;
        }
        break;
    case K_RW_UPGRADE:
        if (status == 0) {
            rw_got(K_RW_UPGRADE);
            t->kind = K_RW_WRITE;
            hold(t);
            return;
        }
        /* cancelled, timed out, closed: still the upgradable reader */
        rw_unlock(K_RW_UPG);
        break;
    case K_BAR:
        bar_ended(status);
        break;
    case K_LATCH:
        if (status == 0)
            latch_ok_check("latch wait", t->lz_gen, t->lz0);
        break;
    default:
        break;
    }
    next_op(t);
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
        atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
        t->deadline = pick_deadline(t);
        switch ((enum kind)rnd(&lc->rng, K_NKINDS)) {
        case K_SEM:
            r = arm_sem(t, 1 + rnd(&lc->rng, 3));
            if (r == 1) {
                got_sem(t->n);
                hold(t);
                return;
            }
            break;
        case K_MUTEX:
            r = arm_mutex(t, &mtx, K_MUTEX);
            if (r == 1) {
                got_mutex();
                hold(t);
                return;
            }
            break;
        case K_COND_CONSUME:
            r = arm_mutex(t, &cmtx, K_COND_LOCK);
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
                produce_locked();
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
            r = arm_event(t, K_EV_AUTO);
            if (r == 1)
                auto_wait_ok();
            break;
        case K_EV_MANUAL:
            switch (rnd(&lc->rng, 4)) {
            case 0:
                as_event_set(&ev_manual);
                continue;
            case 1:
                as_event_reset(&ev_manual);
                continue;
            case 2:
                as_event_broadcast(&ev_manual);
                continue;
            default:
                r = arm_event(t, K_EV_MANUAL);
            }
            break;
        case K_RW_READ:
        case K_RW_WRITE:
        case K_RW_UPG: {
            enum kind k = (enum kind)(K_RW_READ + (int)rnd(&lc->rng, 3));
            r = arm_rw(t, k);
            if (r == 1) {
                rw_got(k);
                hold(t);
                return;
            }
            break;
        }
        case K_BAR:
            r = arm_bar(t, false);
            break;
        case K_LATCH:
            if (rnd(&lc->rng, 2) == 0) {
                latch_change(&lc->rng, false);
                continue;
            }
            r = arm_latch(t);
            break;
        default:
            FAIL("kind");
        }
        if (r == 0)
            return; /* pending */
        /* at once (1), or refused: the next operation */
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
        if (!drop(t))
            next_op(t);
    }
}

/* ---- closing -------------------------------------------------------------- */

static int close_prim(int p)
{
    switch (p) {
    case P_SEM: return as_sem_close(&sem);
    case P_MTX: return as_mutex_close(&mtx);
    case P_CMTX: return as_mutex_close(&cmtx);
    case P_COND: return as_cond_close(&cond);
    case P_EVA: return as_event_close(&ev_auto);
    case P_EVM: return as_event_close(&ev_manual);
    case P_RW: return as_rwlock_close(&rw);
    case P_BAR: return as_barrier_close(&bar) | as_barrier_close(&bar_q);
    default: return as_latch_close(&latch);
    }
}

/* Close p unless another thread did or does: closing[] is set first, so a
 * -ESHUTDOWN anywhere finds it set. */
static bool try_close(int p)
{
    int r;
    if (atomic_exchange(&close_claim[p], 1))
        return false;
    atomic_store(&closing[p], 1);
    if ((r = close_prim(p)) != 0)
        FAIL("close %s: %d", prim_name[p], r);
    if (close_prim(p) != 0)
        FAIL("close %s again: not idempotent", prim_name[p]);
    return true;
}

/* --close: close what the run's progress has reached. */
static void close_duty(void)
{
    long done = atomic_load_explicit(&ops_done, memory_order_relaxed);
    for (int p = 0; p < P_N; p++)
        if (done >= close_at[p] && !atomic_load(&close_claim[p]) && try_close(p))
            atomic_fetch_add(&st.closes_mid, 1);
}

/* ---- the loops' completion source -------------------------------------- */

static void dump_pending(struct lctx *lc)
{
    fprintf(stderr, "loop %d (%s%s): finished %d/%d, final left %d, ctl pending %d; "
                    "pending waits:\n", lc->id, as_loop_backend(&lc->loop),
            lc->always_cb ? ", always-callback" : "", lc->finished, cfg.tasks,
            lc->final_left, lc->ctl_pending);
    for (int i = 0; i < cfg.tasks; i++) {
        struct task *t = &lc->tasks[i];
        if (t->pending) {
            int64_t left = t->deadline == AS_NO_DEADLINE
                               ? -1
                               : (int64_t)(t->deadline - as_now_ns());
            fprintf(stderr, "  task %d: %s (n=%u) phase %d as_wait_pending=%d deadline %s%" PRId64
                            " ns\n", i, kind_name[t->kind], t->n, t->phase,
                    as_wait_pending(&t->w), t->deadline == AS_NO_DEADLINE ? "none " : "in ",
                    left);
        }
    }
    fprintf(stderr, "  sem value %" PRId64 " held %d waiters %" PRId64 "; mutex holders %d "
                    "waiters %" PRId64 "; cond waiters %" PRId64 "; tokens %ld; event auto "
                    "set=%d manual set=%d; loop timeout %" PRId64 " ns\n",
            as_sem_value(&sem), atomic_load(&sem_held), as_sem_waiters(&sem),
            atomic_load(&mtx_held), as_mutex_waiters(&mtx), as_cond_waiters(&cond), tokens,
            as_event_is_set(&ev_auto), as_event_is_set(&ev_manual),
            as_loop_timeout_ns(&lc->loop));
    fprintf(stderr, "  rwlock readers %d writers %d upgradable %d waiters %" PRId64 "; barrier "
                    "waiters %" PRId64 " (quiet %" PRId64 "); latch count %" PRId64
                    " (expected %ld) waiters %" PRId64 "\n",
            atomic_load(&rw_readers), atomic_load(&rw_writers), atomic_load(&rw_upg),
            as_rwlock_waiters(&rw), as_barrier_waiters(&bar), as_barrier_waiters(&bar_q),
            as_latch_value(&latch), latch_count, as_latch_waiters(&latch));
}

/* The loop's completion source: an io_uring ring, or on Windows an I/O
 * completion port.  loop_poll: hand over what completed, without blocking;
 * loop_block: the same after waiting for something to complete, at most
 * the watchdog's timeout_s (B_WATCHDOG when nothing did).  An IOCP loop
 * waits at most until its earliest deadline too (B_DEADLINE); a ring loop
 * does not: its deadlines come through the ring timer. */
enum { B_EVENT, B_DEADLINE, B_WATCHDOG };

#ifdef _WIN32
static void loop_open(struct lctx *lc, const as_loop_options *opts)
{
    int r;
    lc->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!lc->port)
        FAIL("CreateIoCompletionPort: error %lu", (unsigned long)GetLastError());
    if ((r = as_loop_init_iocp(&lc->loop, lc->port, opts)) < 0)
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

static int loop_block(struct lctx *lc, int timeout_s)
{
    int64_t t = as_loop_timeout_ns(&lc->loop);
    DWORD ms = (DWORD)timeout_s * 1000u;
    bool capped = false;
    if (t >= 0 && (uint64_t)(t + 999999) / 1000000u < ms) {
        ms = (DWORD)((t + 999999) / 1000000);
        capped = true;
    }
    if (loop_wait(lc, ms))
        return B_EVENT;
    return capped ? B_DEADLINE : B_WATCHDOG;
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

static void loop_open(struct lctx *lc, const as_loop_options *opts)
{
    int r;
    if ((r = io_uring_queue_init(64, &lc->ring, cfg.ring_flags)) < 0)
        FAIL("io_uring_queue_init: %d", r);
    if ((r = as_loop_init_uring(&lc->loop, &lc->ring, opts)) < 0)
        FAIL("as_loop_init_uring: %d", r);
}

static void loop_poll(struct lctx *lc)
{
    io_uring_submit(&lc->ring);
    reap(lc);
}

/* -ETIME is the watchdog only once timeout_s has passed: liburing 2.3's
 * io_uring_submit_and_wait_timeout also says -ETIME when its first enter
 * returned early (task work that posted nothing visible yet) and its
 * second look found no CQE (CI once failed I6 0.04 s into a run, "nothing
 * for 30 s").  Then look again, for what is left of the time. */
static int loop_block(struct lctx *lc, int timeout_s)
{
    uint64_t end = as_now_ns() + (uint64_t)timeout_s * 1000000000u, now;
    for (;;) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts;
        int r;
        now = as_now_ns();
        if (now >= end)
            return B_WATCHDOG;
        ts.tv_sec = (long long)((end - now) / 1000000000u);
        ts.tv_nsec = (long long)((end - now) % 1000000000u);
        r = io_uring_submit_and_wait_timeout(&lc->ring, &cqe, 1, &ts, NULL);
        if (r != -ETIME || io_uring_cq_ready(&lc->ring) > 0) {
            reap(lc);
            return B_EVENT;
        }
    }
}

static void loop_close(struct lctx *lc)
{
    io_uring_queue_exit(&lc->ring);
}
#endif

/* ---- the loop threads ------------------------------------------------------ */

static void on_ctl(as_wait *w, int status, void *arg)
{
    struct lctx *lc = arg;
    (void)w;
    if (status != 0)
        FAIL("control wait: %d", status);
    lc->ctl_pending = 0;
}

static bool ctl_over(struct lctx *lc) { return !lc->ctl_pending; }
static bool final_over(struct lctx *lc) { return lc->final_left == 0; }

/* Run the loop until over(lc), blocking on the ring between iterations.  A
 * watchdog expiry fails (I6) when `must` was true before the loop blocked:
 * something that must end was still pending. */
static void drive(struct lctx *lc, bool (*over)(struct lctx *), atomic_int *must,
                  const char *what)
{
    for (;;) {
        if (as_loop_run(&lc->loop) < 0)
            FAIL("as_loop_run");
        if (over(lc))
            return;
        bool strict = !must || atomic_load(must);
        if (loop_block(lc, cfg.timeout_s) == B_WATCHDOG && strict) {
            dump_pending(lc);
            FAIL("I6: loop %d saw nothing for %d s with waits pending (%s)", lc->id,
                 cfg.timeout_s, what);
        }
    }
}

static atomic_int ctl_set[4];

/* Wait for the main thread's go (control event k). */
static void await_ctl(struct lctx *lc, int k)
{
    int r = as_event_wait_async(&ctl_ev[k], &lc->loop, &lc->ctl_w, on_ctl, lc);
    if (r == 0)
        lc->ctl_pending = 1;
    else if (r != 1)
        FAIL("control wait: %d", r);
    drive(lc, ctl_over, &ctl_set[k], "control event set, its wait not woken");
}

static void *loop_thread(void *arg)
{
    struct lctx *lc = arg;
    as_loop_options opts = {lc->always_cb ? AS_LOOP_ALWAYS_CALLBACK : 0u, 0};
    int r;
    loop_open(lc, &opts);
    for (int i = 0; i < cfg.tasks; i++)
        lc->tasks[i].ops_left = cfg.ops;
    for (int i = 0; i < cfg.tasks; i++)
        next_op(&lc->tasks[i]);

    while (lc->finished < cfg.tasks) {
        release_holders(lc);
        /* Cancel a random wait of this loop now and then: a cancel that
         * races with wakes from other threads. */
        if ((int)rnd(&lc->rng, 100) < cfg.cancel_pct) {
            struct task *t = &lc->tasks[rnd(&lc->rng, (unsigned)cfg.tasks)];
            int c = do_cancel(t, W_OWN);
            if (c != (t->pending ? 0 : -ENOENT))
                FAIL("as_cancel on the loop's thread: %d for a wait %spending", c,
                     t->pending ? "" : "not ");
        }
        /* And one of another loop's, which may complete, be called back and
         * be armed again by its own loop meanwhile. */
        if (cfg.threads > 1 && (int)rnd(&lc->rng, 100) < cfg.xcancel_pct) {
            struct lctx *o = &lcs[(lc->id + 1 + (int)rnd(&lc->rng, (unsigned)cfg.threads - 1)) %
                                  cfg.threads];
            struct task *t = &o->tasks[rnd(&lc->rng, (unsigned)cfg.tasks)];
            if (atomic_load(&t->armed) || rnd(&lc->rng, 4) == 0)
                (void)do_cancel(t, W_LOOP);
        }
        if (cfg.close_mid)
            close_duty();
        if (as_loop_run(&lc->loop) < 0)
            FAIL("as_loop_run");
        if (lc->finished >= cfg.tasks)
            break;
        if (lc->holders) {
            loop_poll(lc); /* a holder releases next turn */
        } else if (loop_block(lc, cfg.timeout_s) == B_WATCHDOG) {
            dump_pending(lc);
            FAIL("I6: loop %d saw nothing for %d s with waits pending", lc->id,
                 cfg.timeout_s);
        }
    }
    for (int i = 0; i < cfg.tasks; i++)
        if (lc->tasks[i].pending || as_wait_pending(&lc->tasks[i].w))
            FAIL("I5: task %d still pending at the end", i);
    atomic_fetch_add(&loops_done, 1);

    /* Phase A: timers on a quiet system. */
    await_ctl(lc, 1);
    lc->final_left = cfg.tasks;
    for (int i = 0; i < cfg.tasks; i++) {
        lc->tasks[i].phase = 1;
        phase_a_arm(&lc->tasks[i]);
    }
    drive(lc, final_over, NULL, "phase A: deadlines that never fired");
    atomic_fetch_add(&phase_a_done, 1);

    /* Phase B: close with waits pending. */
    await_ctl(lc, 2);
    lc->final_left = cfg.tasks;
    for (int i = 0; i < cfg.tasks; i++) {
        lc->tasks[i].phase = 2;
        phase_b_arm(&lc->tasks[i]);
    }
    drive(lc, final_over, &all_closed, "phase B: waits the close did not end");
    await_ctl(lc, 3);

    /* Later waits are refused at once. */
    {
        as_wait *w = &lc->scratch_w;
        int rs[] = {
            as_sem_acquire_async(&sem, &lc->loop, w, 1, on_wait, NULL),
            as_sem_acquire_until(&sem, &lc->loop, w, 1, as_now_ns() + MS, on_wait, NULL),
            as_sem_try_acquire(&sem, 1),
            as_mutex_lock_async(&mtx, &lc->loop, w, on_wait, NULL),
            as_mutex_lock_until(&cmtx, &lc->loop, w, as_now_ns() + MS, on_wait, NULL),
            as_mutex_try_lock(&mtx),
            as_event_wait_async(&ev_auto, &lc->loop, w, on_wait, NULL),
            as_event_wait_until(&ev_manual, &lc->loop, w, as_now_ns() + MS, on_wait, NULL),
            as_rwlock_read_async(&rw, &lc->loop, w, on_wait, NULL),
            as_rwlock_write_until(&rw, &lc->loop, w, as_now_ns() + MS, on_wait, NULL),
            as_rwlock_upgradable_read_async(&rw, &lc->loop, w, on_wait, NULL),
            as_rwlock_try_read(&rw),
            as_barrier_wait_async(&bar, &lc->loop, w, on_wait, NULL),
            as_barrier_wait_until(&bar_q, &lc->loop, w, as_now_ns() + MS, on_wait, NULL),
            as_latch_wait_async(&latch, &lc->loop, w, on_wait, NULL),
            as_latch_wait_until(&latch, &lc->loop, w, as_now_ns() + MS, on_wait, NULL),
        };
        for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
            if (rs[i] != -ESHUTDOWN)
                FAIL("loop %d: call %d after close returned %d, not -ESHUTDOWN", lc->id, (int)i,
                     rs[i]);
    }
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

/* ---- threads that run no loop ---------------------------------------------- */

static struct task *random_task(uint64_t *rng)
{
    struct lctx *lc = &lcs[rnd(rng, (unsigned)cfg.threads)];
    return &lc->tasks[rnd(rng, (unsigned)cfg.tasks)];
}

static int blk_result(const char *what, int r, uint64_t d, int prim);

/* Releases, signals and sets from outside, cancels anyone's waits, and
 * keeps the condvar and events moving until every loop is done so no task
 * waits for ever on a signal nobody will send.  --close: closes too. */
static void *plain_thread(void *arg)
{
    uint64_t rng = *(uint64_t *)arg, last_scan = as_now_ns();
    int r;
    while (atomic_load(&loops_done) < cfg.threads) {
        if (cfg.close_mid)
            close_duty();
        /* A barrier party nobody joins: cancel it after 20 ms, so no task
         * waits for ever for parties that will not come. */
        uint64_t now = as_now_ns();
        if (now - last_scan > 2 * MS) {
            last_scan = now;
            for (int i = 0; i < cfg.threads; i++)
                for (int j = 0; j < cfg.tasks; j++) {
                    struct task *t = &lcs[i].tasks[j];
                    uint64_t since = atomic_load(&t->bar_since);
                    if (since && now > since && now - since > 20 * MS) {
                        atomic_fetch_add(&st.bar_stale, 1);
                        (void)do_cancel(t, W_PLAIN);
                    }
                }
        }
        switch (rnd(&rng, 4)) {
        case 0:
            rw_try(&rng);
            break;
        case 1:
            if (as_barrier_waiters(&bar) > 0) {
                uint64_t d = as_now_ns() + rnd(&rng, 2 * (unsigned)MS + 1);
                bar_arrive();
                r = as_barrier_wait_blocking(&bar, d);
                atomic_fetch_add(&st.plain_bar, 1);
                if (r != 1)
                    r = blk_result("plain: as_barrier_wait_blocking", r, d, P_BAR);
                bar_ended(r);
            }
            break;
        case 2:
            latch_change(&rng, as_latch_waiters(&latch) > 0 && rnd(&rng, 2));
            break;
        default:
            break;
        }
        if ((int)rnd(&rng, 1000) < cfg.xcancel_pct) {
            struct task *t = random_task(&rng);
            if (atomic_load(&t->armed) || rnd(&rng, 4) == 0)
                (void)do_cancel(t, W_PLAIN);
        }
        switch (rnd(&rng, 8)) {
        case 0:
            if ((r = as_sem_try_acquire(&sem, 1)) == 1) {
                got_sem(1);
                put_sem(1);
            } else if (r != 0 && !(r == -ESHUTDOWN && is_closing(P_SEM)))
                FAIL("as_sem_try_acquire: %d", r);
            break;
        case 1:
            if ((r = as_mutex_try_lock(&mtx)) == 1) {
                got_mutex();
                put_mutex();
            } else if (r != 0 && !(r == -ESHUTDOWN && is_closing(P_MTX)))
                FAIL("as_mutex_try_lock: %d", r);
            break;
        case 2:
            if (as_mutex_try_lock(&cmtx) == 1) {
                cmtx_got("plain try_lock");
                produce_locked();
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
        case 5: {
            /* Forget permits for a moment: they count as held (I1). */
            if (cfg.no_forget)
                break;
            int64_t k = as_sem_forget(&sem, 1 + rnd(&rng, 2));
            if (k < 0)
                FAIL("as_sem_forget: %" PRId64, k);
            if (k > 0) {
                atomic_fetch_add(&st.forgets, 1);
                got_sem((uint32_t)k);
                sched_yield();
                put_sem((uint32_t)k);
            }
            break;
        }
        case 6:
            as_event_broadcast(&ev_manual);
            break;
        default:
            as_cond_signal(&cond);
            sched_yield();
        }
    }
    if (cfg.close_mid)
        for (int p = 0; p < P_N; p++)
            (void)try_close(p);
    atomic_store(&plain_done, 1);
    return NULL;
}

/* A random deadline for a blocking wait: mostly 0-2 ms ahead, some 0-20 ms,
 * some past; none only where a release always comes (sem, mutex). */
static uint64_t blk_deadline(uint64_t *rng, bool may_be_none)
{
    uint64_t now = as_now_ns();
    switch (rnd(rng, 10)) {
    case 0:
        return now - 1 - rnd(rng, (unsigned)MS);
    case 1:
        if (may_be_none)
            return AS_NO_DEADLINE;
        /* fall through */
    case 2:
        return now + rnd(rng, 20 * (unsigned)MS);
    default:
        return now + rnd(rng, 2 * (unsigned)MS + 1);
    }
}

/* The result of a *_blocking call: 0, or -ETIMEDOUT (with a deadline, not
 * before it), or -ESHUTDOWN (closing); counts it. */
static int blk_result(const char *what, int r, uint64_t d, int prim)
{
    atomic_fetch_add(&st.blk_calls, 1);
    if (r == 0) {
        atomic_fetch_add(&st.blk_ok, 1);
        return 0;
    }
    if (r == -ETIMEDOUT && d != AS_NO_DEADLINE) {
        uint64_t now = as_now_ns();
        if (now < d)
            FAIL("%s: -ETIMEDOUT %" PRIu64 " ns before its deadline", what, d - now);
        if (now - d > (uint64_t)cfg.timeout_s * 1000000000u)
            FAIL("I6: %s: timed out %" PRIu64 " ms late", what, (uint64_t)((now - d) / MS));
        atomic_fetch_add(&st.blk_timeout, 1);
        return r;
    }
    if (r == -ESHUTDOWN && is_closing(prim)) {
        atomic_fetch_add(&st.blk_shutdown, 1);
        return r;
    }
    FAIL("%s: %d (deadline %s)", what, r, d == AS_NO_DEADLINE ? "none" : "set");
}

/* A blocking thread.  `since` and `what` name the call it is in (0: none),
 * for the main thread's watchdog: a blocking call that has not returned
 * after --timeout seconds (all have deadlines of at most 20 ms, or wait for
 * permits or the mutex that holders give back at once) is a lost wake-up
 * (I6), as a loop's is. */
struct blocker {
    pthread_t th;
    uint64_t rng;
    int id, result;
    _Atomic uint64_t since, deadline;
    _Atomic(const char *) what;
    atomic_uint n;
    atomic_int done;
};

static int blk_enter(struct blocker *b, const char *what, uint32_t n, uint64_t d)
{
    atomic_store(&b->what, what);
    atomic_store(&b->n, n);
    atomic_store(&b->deadline, d);
    atomic_store(&b->since, as_now_ns());
    return 0;
}

static int blk_leave(struct blocker *b, int r)
{
    atomic_store(&b->since, 0);
    return r;
}

/* Evaluates `call_` with the watchdog told about it. */
#define BLK(b_, what_, n_, d_, call_) \
    (blk_enter((b_), (what_), (n_), (d_)), blk_leave((b_), (call_)))

/* One blocking wait on a random primitive (with `none`: no deadline at all;
 * phase B).  Holds what it gets for a moment, like a task.  Returns the
 * result of the wait. */
static int blocking_op(struct blocker *b, bool none)
{
    uint64_t *rng = &b->rng;
    uint64_t d;
    int r;
    int c = (int)rnd(rng, 8);
    if (c == 6 && none && cfg.blockers >= (int)BAR_PARTIES)
        c = 7; /* phase B: blocking parties alone would complete a generation */
    switch (c) {
    case 5: {
        enum kind k = (enum kind)(K_RW_READ + (int)rnd(rng, 3));
        static const char *names[] = {"as_rwlock_read_blocking", "as_rwlock_write_blocking",
                                      "as_rwlock_upgradable_read_blocking"};
        const char *nm = names[k - K_RW_READ];
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, true);
        r = blk_result(nm,
                       BLK(b, nm, 0, d,
                           k == K_RW_READ    ? as_rwlock_read_blocking(&rw, d)
                           : k == K_RW_WRITE ? as_rwlock_write_blocking(&rw, d)
                                             : as_rwlock_upgradable_read_blocking(&rw, d)),
                       d, P_RW);
        if (r != 0)
            return r;
        rw_got(k);
        if (k == K_RW_UPG && rnd(rng, 2)) {
            uint64_t d2 = blk_deadline(rng, true);
            int r2 = blk_result("as_rwlock_upgrade_blocking",
                                BLK(b, "as_rwlock_upgrade_blocking", 0, d2,
                                    as_rwlock_upgrade_blocking(&rw, d2)),
                                d2, P_RW);
            if (r2 == 0) {
                rw_got(K_RW_UPGRADE);
                k = K_RW_WRITE;
            }
        }
        if (k == K_RW_WRITE && rnd(rng, 2)) {
            rw_downgrade();
            k = K_RW_READ;
        }
        sched_yield();
        rw_unlock(k);
        return r;
    }
    case 6:
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, false);
        bar_arrive();
        r = BLK(b, "as_barrier_wait_blocking", 0, d, as_barrier_wait_blocking(&bar, d));
        if (r == 1) {
            atomic_fetch_add(&st.blk_calls, 1);
            atomic_fetch_add(&st.blk_ok, 1);
        } else {
            r = blk_result("as_barrier_wait_blocking", r, d, P_BAR);
        }
        bar_ended(r);
        return r == 1 ? 0 : r;
    case 7: {
        long zg, ag;
        int z0;
        if (!none && rnd(rng, 3) == 0) {
            latch_change(rng, false);
            return 0;
        }
        latch_before(&zg, &ag, &z0);
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, false);
        r = blk_result("as_latch_wait_blocking",
                       BLK(b, "as_latch_wait_blocking", 0, d, as_latch_wait_blocking(&latch, d)),
                       d, P_LATCH);
        if (r == 0)
            latch_ok_check("as_latch_wait_blocking", zg, z0);
        else if (r == -ETIMEDOUT)
            latch_wait_check("as_latch_wait_blocking (timed out)", ag, z0);
        return r;
    }
    case 0: {
        uint32_t n = 1 + rnd(rng, 3);
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, true);
        r = blk_result("as_sem_acquire_blocking",
                       BLK(b, "as_sem_acquire_blocking", n, d,
                           as_sem_acquire_blocking(&sem, n, d)),
                       d, P_SEM);
        if (r == 0) {
            got_sem(n);
            sched_yield();
            put_sem(n);
        }
        return r;
    }
    case 1:
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, true);
        r = blk_result("as_mutex_lock_blocking",
                       BLK(b, "as_mutex_lock_blocking", 0, d, as_mutex_lock_blocking(&mtx, d)), d,
                       P_MTX);
        if (r == 0) {
            got_mutex();
            sched_yield();
            put_mutex();
        }
        return r;
    case 2:
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, true);
        r = blk_result("as_mutex_lock_blocking(cond's)",
                       BLK(b, "as_mutex_lock_blocking(cond's)", 0, d,
                           as_mutex_lock_blocking(&cmtx, d)),
                       d, P_CMTX);
        if (r != 0)
            return r;
        cmtx_got("blocking lock");
        if (tokens > 0 && !none) {
            consume_locked();
            cmtx_unlock();
            return 0;
        }
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, false);
        atomic_fetch_sub(&cmtx_held, 1);
        r = BLK(b, "as_cond_wait_blocking", 0, d, as_cond_wait_blocking(&cond, &cmtx, d));
        cmtx_got("blocking condvar wait"); /* held again, whatever r */
        r = blk_result("as_cond_wait_blocking", r, d, P_COND);
        consume_locked();
        cmtx_unlock();
        return r;
    case 3:
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, false);
        r = blk_result("as_event_wait_blocking(auto)",
                       BLK(b, "as_event_wait_blocking(auto)", 0, d,
                           as_event_wait_blocking(&ev_auto, d)),
                       d, P_EVA);
        if (r == 0)
            auto_wait_ok();
        return r;
    default: /* 4 */
        d = none ? AS_NO_DEADLINE : blk_deadline(rng, false);
        return blk_result("as_event_wait_blocking(manual)",
                          BLK(b, "as_event_wait_blocking(manual)", 0, d,
                              as_event_wait_blocking(&ev_manual, d)),
                          d, P_EVM);
    }
}

static void *blocker_thread(void *arg)
{
    struct blocker *b = arg;
    while (atomic_load(&loops_done) < cfg.threads)
        if (blocking_op(b, false) == -ESHUTDOWN)
            sleep_ms(1); /* --close: no need to spin on refusals */
    atomic_store(&b->done, 1);
    return NULL;
}

/* Phase B: one wait that only the close ends. */
static void *final_blocker_thread(void *arg)
{
    struct blocker *b = arg;
    b->result = blocking_op(b, true);
    atomic_store(&b->done, 1);
    return NULL;
}

/* ---- the main thread ---------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: stress [--threads T] [--tasks K] [--ops N] [--seed S|random]\n"
                    "              [--cancel PCT] [--xcancel PCT] [--deadline PCT]\n"
                    "              [--blockers N] [--timeout SEC] [--strict] [--close]\n"
                    "              [--always-callback] [--cancel-lock] [--no-forget]\n"
                    "              [--defer-taskrun]\n");
    exit(2);
}

/* The blocking threads' watchdog (I6). */
static void watch_blockers(struct blocker *b, int n)
{
    uint64_t now = as_now_ns();
    for (int i = 0; i < n; i++) {
        uint64_t since = atomic_load(&b[i].since);
        if (since && now > since && now - since > (uint64_t)cfg.timeout_s * 1000000000u) {
            uint64_t d = atomic_load(&b[i].deadline);
            fprintf(stderr, "sem value %" PRId64 " waiters %" PRId64 " held %d; mutex "
                            "waiters %" PRId64 " held %d; cond mutex waiters %" PRId64
                            " held %d; cond waiters %" PRId64 "; events set auto %d "
                            "manual %d, waiters %" PRId64 " %" PRId64 "; loops done %d\n",
                    as_sem_value(&sem), as_sem_waiters(&sem), atomic_load(&sem_held),
                    as_mutex_waiters(&mtx), atomic_load(&mtx_held), as_mutex_waiters(&cmtx),
                    atomic_load(&cmtx_held), as_cond_waiters(&cond), as_event_is_set(&ev_auto),
                    as_event_is_set(&ev_manual), as_event_waiters(&ev_auto),
                    as_event_waiters(&ev_manual), atomic_load(&loops_done));
            FAIL("I6: blocking thread %d in %s (n %u, deadline %s%" PRId64 " ms ago) for %d s",
                 b[i].id, atomic_load(&b[i].what), atomic_load(&b[i].n),
                 d == AS_NO_DEADLINE ? "none, " : "",
                 d == AS_NO_DEADLINE ? (int64_t)0 : (int64_t)(now - d) / (int64_t)MS,
                 cfg.timeout_s);
        }
    }
}

/* Wait (polling) until cond() holds; fail after twice the watchdog. */
static void main_await(const char *what, bool (*cond_fn)(void))
{
    uint64_t end = as_now_ns() + 2ull * (uint64_t)cfg.timeout_s * 1000000000u;
    while (!cond_fn()) {
        if (as_now_ns() > end) {
            for (int i = 0; i < cfg.threads; i++)
                dump_pending(&lcs[i]);
            FAIL("main: %s: not after %d s", what, 2 * cfg.timeout_s);
        }
        sleep_ms(1);
    }
}

static bool phase_a_over(void) { return atomic_load(&phase_a_done) == cfg.threads; }

static int n_final_blockers;
static bool phase_b_armed(void)
{
    int64_t q = as_sem_waiters(&sem) + as_mutex_waiters(&mtx) + as_cond_waiters(&cond) +
                as_event_waiters(&ev_auto) + as_event_waiters(&ev_manual) +
                as_rwlock_waiters(&rw) + as_barrier_waiters(&bar) +
                as_barrier_waiters(&bar_q) + as_latch_waiters(&latch);
    return atomic_load(&final_reported) + atomic_load(&final_queued) ==
               (long)cfg.threads * cfg.tasks &&
           q == atomic_load(&final_queued) + n_final_blockers && as_mutex_waiters(&cmtx) == 0;
}

static void ctl_go(int k)
{
    atomic_store(&ctl_set[k], 1);
    if (as_event_set(&ctl_ev[k]) != 0)
        FAIL("as_event_set(control)");
}

/* The end of the run (I5): every arming's callback, and as_cancel returned
 * 0 <=> the callback saw -ECANCELED. */
static void check_generations(void)
{
    for (size_t i = 0; i < n_ambig; i++) {
        struct ambig *a = &ambigs[i];
        bool found = false;
        for (uint32_t g = a->g1; g <= a->g2; g++)
            if (atomic_load(&a->t->gf[g]) & GF_CB_CANCEL) {
                atomic_fetch_or(&a->t->gf[g], GF_COVERED);
                found = true;
            }
        if (!found)
            FAIL("I5: task %d.%d: as_cancel returned 0 while armings %u-%u ran, and none "
                 "was called back with -ECANCELED", a->t->lc->id, a->t->id, a->g1, a->g2);
    }
    for (int i = 0; i < cfg.threads; i++)
        for (int j = 0; j < cfg.tasks; j++) {
            struct task *t = &lcs[i].tasks[j];
            uint32_t n = atomic_load(&t->gen);
            for (uint32_t g = 0; g <= n; g++) {
                unsigned f = atomic_load(&t->gf[g]), cb = f & GF_CB_ANY;
                if (f & GF_PENDING) {
                    if (cb != GF_CB_OK && cb != GF_CB_CANCEL && cb != GF_CB_OTHER)
                        FAIL("I5: task %d.%d arming %u: pending, callbacks 0x%x", i, j, g, cb);
                } else if (cb || (f & GF_CANCEL_OK)) {
                    FAIL("I5: task %d.%d arming %u: never pending, yet 0x%x", i, j, g, f);
                }
                if ((f & GF_CANCEL_OK) && !(f & GF_CB_CANCEL))
                    FAIL("I5: task %d.%d arming %u: as_cancel returned 0, callback saw %s", i,
                         j, g, (f & GF_CB_OK) ? "0" : "-ETIMEDOUT/-ESHUTDOWN");
                if ((f & GF_CB_CANCEL) && !(f & (GF_CANCEL_OK | GF_COVERED)))
                    FAIL("I5: task %d.%d arming %u: -ECANCELED with no as_cancel returning 0",
                         i, j, g);
            }
        }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--strict")) {
            cfg.mutex_flags = AS_MUTEX_STRICT_FIFO;
            cfg.sem_flags = AS_SEM_STRICT_FIFO;
            cfg.rw_flags = AS_RWLOCK_STRICT_FIFO;
            continue;
        }
        if (!strcmp(a, "--close")) {
            cfg.close_mid = true;
            continue;
        }
        if (!strcmp(a, "--always-callback")) {
            cfg.always_cb = true;
            continue;
        }
        if (!strcmp(a, "--cancel-lock")) {
            cfg.cancel_lock = true;
            continue;
        }
        if (!strcmp(a, "--no-forget")) {
            cfg.no_forget = true;
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
        else if (!strcmp(a, "--xcancel"))
            cfg.xcancel_pct = atoi(v);
        else if (!strcmp(a, "--deadline"))
            cfg.deadline_pct = atoi(v);
        else if (!strcmp(a, "--blockers"))
            cfg.blockers = atoi(v);
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
    if (cfg.threads < 1 || cfg.tasks < 1 || cfg.ops < 0 || cfg.timeout_s < 1 ||
        cfg.blockers < 0 || cfg.cancel_pct < 0 || cfg.xcancel_pct < 0 || cfg.deadline_pct < 0)
        usage();
    printf("stress: seed %" PRIu64 " threads %d tasks %d ops %d cancel %d%% xcancel %d%% "
           "deadline %d%% blockers %d mutex/rwlock %s%s%s%s%s%s (replay: --seed %" PRIu64 ")\n",
           cfg.seed, cfg.threads, cfg.tasks, cfg.ops, cfg.cancel_pct, cfg.xcancel_pct,
           cfg.deadline_pct, cfg.blockers, cfg.mutex_flags ? "strict" : "eventual",
           cfg.close_mid ? " close-mid-run" : "",
           cfg.always_cb ? " always-callback(odd loops)" : "",
           cfg.cancel_lock ? " cancel-lock" : "", cfg.no_forget ? " no-forget" : "",
           cfg.ring_flags ? " rings SINGLE_ISSUER|DEFER_TASKRUN" : "", cfg.seed);
    fflush(stdout);

    if (as_sem_init(&sem, SEM_PERMITS, cfg.sem_flags) || as_mutex_init(&mtx, cfg.mutex_flags) ||
        as_mutex_init(&cmtx, cfg.mutex_flags) || as_cond_init(&cond, 0) ||
        as_event_init(&ev_auto, 0) || as_event_init(&ev_manual, AS_EVENT_MANUAL_RESET) ||
        as_sem_init(&quiet_sem, 0, 0) || as_rwlock_init(&rw, cfg.rw_flags) ||
        as_barrier_init(&bar, BAR_PARTIES) || as_barrier_init(&bar_q, AS_BARRIER_PARTIES_MAX) ||
        as_latch_init(&latch, 0))
        FAIL("init");
    for (int k = 1; k < 4; k++)
        if (as_event_init(&ctl_ev[k], AS_EVENT_MANUAL_RESET))
            FAIL("init");

    uint64_t seed = cfg.seed;
    long total = (long)cfg.threads * cfg.tasks * cfg.ops;
    for (int p = 0; p < P_N; p++) {
        uint64_t x = rng_next(&seed);
        close_at[p] = (long)((int64_t)total * (int64_t)(20 + x % 60) / 100);
    }
    lcs = calloc((size_t)cfg.threads, sizeof *lcs);
    uint32_t ngen = 2u * (uint32_t)cfg.ops + 16u;
    void *gf_mem = calloc((size_t)cfg.threads * (size_t)cfg.tasks * ngen, sizeof(atomic_uchar));
    if (!lcs || !gf_mem)
        FAIL("out of memory");
    for (int i = 0; i < cfg.threads; i++) {
        lcs[i].id = i;
        lcs[i].rng = rng_next(&seed);
        lcs[i].always_cb = cfg.always_cb && (i & 1);
        lcs[i].tasks = calloc((size_t)cfg.tasks, sizeof *lcs[i].tasks);
        for (int j = 0; j < cfg.tasks; j++) {
            struct task *t = &lcs[i].tasks[j];
            t->lc = &lcs[i];
            t->id = j;
            t->ngen = ngen;
            t->gf = (atomic_uchar *)gf_mem + ((size_t)i * (size_t)cfg.tasks + (size_t)j) * ngen;
        }
    }
    for (int i = 0; i < cfg.threads; i++)
        if (pthread_create(&lcs[i].th, NULL, loop_thread, &lcs[i]))
            FAIL("pthread_create");
    uint64_t prng = rng_next(&seed);
    pthread_t plain;
    if (pthread_create(&plain, NULL, plain_thread, &prng))
        FAIL("pthread_create");
    struct blocker *blk = calloc((size_t)cfg.blockers + 1, sizeof *blk);
    for (int i = 0; i < cfg.blockers; i++) {
        blk[i].id = i;
        blk[i].rng = rng_next(&seed);
        if (pthread_create(&blk[i].th, NULL, blocker_thread, &blk[i]))
            FAIL("pthread_create");
    }
    /* The run: the plain and blocking threads stop once every loop is done
     * with its operations; meanwhile, the blocking threads' watchdog. */
    for (;;) {
        bool all = atomic_load(&plain_done) != 0;
        for (int i = 0; i < cfg.blockers; i++)
            all = all && atomic_load(&blk[i].done);
        if (all)
            break;
        watch_blockers(blk, cfg.blockers);
        sleep_ms(10);
    }
    pthread_join(plain, NULL);
    for (int i = 0; i < cfg.blockers; i++)
        pthread_join(blk[i].th, NULL);

    /* Everything is back (I1, I2), the auto-reset event's sets add up (I4). */
    if (atomic_load(&sem_held) != 0 || atomic_load(&mtx_held) != 0 ||
        atomic_load(&cmtx_held) != 0)
        FAIL("I1/I2: held at the end of the run: %d permits, mutex %d, cond mutex %d",
             atomic_load(&sem_held), atomic_load(&mtx_held), atomic_load(&cmtx_held));
    if (atomic_load(&rw_readers) || atomic_load(&rw_writers) || atomic_load(&rw_upg))
        FAIL("I7: rwlock held at the end of the run: %d readers, %d writers, %d upgradable",
             atomic_load(&rw_readers), atomic_load(&rw_writers), atomic_load(&rw_upg));
    if (as_sem_value(&sem) != SEM_PERMITS)
        FAIL("I1: semaphore holds %" PRId64 " permits at the end of the run, not %u",
             as_sem_value(&sem), SEM_PERMITS);
    if (atomic_load(&ev_auto_waits_ok) + as_event_is_set(&ev_auto) > atomic_load(&ev_auto_sets))
        FAIL("I4: %ld auto-reset wakes + %d stored > %ld sets", atomic_load(&ev_auto_waits_ok),
             as_event_is_set(&ev_auto), atomic_load(&ev_auto_sets));

    /* Phase A: nothing may grant anything; only timers end the waits. */
    uint64_t rng = rng_next(&seed);
    bool main_sem = false, main_mtx = false, main_cmtx = false;
    int r = as_sem_try_acquire(&sem, SEM_PERMITS);
    if (r == 1) {
        main_sem = true;
        got_sem(SEM_PERMITS);
    } else if (!(r == -ESHUTDOWN && is_closing(P_SEM)))
        FAIL("main: as_sem_try_acquire(all): %d", r);
    r = as_mutex_try_lock(&mtx);
    if (r == 1) {
        main_mtx = true;
        got_mutex();
    } else if (!(r == -ESHUTDOWN && is_closing(P_MTX)))
        FAIL("main: as_mutex_try_lock: %d", r);
    bool main_rw = false;
    r = as_rwlock_try_write(&rw);
    if (r == 1) {
        main_rw = true;
        rw_got(K_RW_WRITE);
    } else if (!(r == -ESHUTDOWN && is_closing(P_RW)))
        FAIL("main: as_rwlock_try_write: %d", r);
    pthread_mutex_lock(&latch_lk); /* the latch stays above 0 from now on */
    atomic_fetch_add(&latch_add_gen, 1);
    if ((r = as_latch_add(&latch, 1)) != 0)
        FAIL("main: as_latch_add: %d", r);
    latch_count++;
    pthread_mutex_unlock(&latch_lk);
    as_event_reset(&ev_auto);
    as_event_reset(&ev_manual);
    ctl_go(1);
    {
        /* A blocking wait's deadline on a quiet system, meanwhile. */
        uint64_t d = as_now_ns() + 2 * MS;
        if (blk_result("phase A: as_sem_acquire_blocking(quiet)",
                       as_sem_acquire_blocking(&quiet_sem, 1, d), d, P_NONE) != -ETIMEDOUT)
            FAIL("phase A: the quiet semaphore granted a permit");
    }
    main_await("phase A", phase_a_over);

    /* Phase B: waits that only a close (or main's cancel) ends. */
    struct blocker *fblk = NULL;
    n_final_blockers = cfg.close_mid ? 0 : cfg.blockers;
    ctl_go(2);
    if (n_final_blockers) {
        fblk = calloc((size_t)n_final_blockers, sizeof *fblk);
        for (int i = 0; i < n_final_blockers; i++) {
            fblk[i].id = i;
            fblk[i].rng = rng_next(&seed);
            if (pthread_create(&fblk[i].th, NULL, final_blocker_thread, &fblk[i]))
                FAIL("pthread_create");
        }
    }
    main_await("phase B: every wait queued", phase_b_armed);
    r = as_mutex_lock_blocking(&cmtx, as_now_ns() + (uint64_t)cfg.timeout_s * 1000000000u);
    if (r == 0) {
        main_cmtx = true;
        cmtx_got("main");
    } else if (!(r == -ESHUTDOWN && is_closing(P_CMTX)))
        FAIL("main: as_mutex_lock_blocking(cond's): %d", r);
    /* Cancel some from this thread: those must end with -ECANCELED. */
    for (int i = 0; i < cfg.threads; i++)
        for (int j = 0; j < cfg.tasks; j++) {
            struct task *t = &lcs[i].tasks[j];
            if (atomic_load(&t->armed) && rnd(&rng, 5) == 0 && do_cancel(t, W_MAIN) != 0)
                FAIL("main: as_cancel of a queued phase-B wait: -ENOENT");
        }
    int order[P_N];
    for (int p = 0; p < P_N; p++)
        order[p] = p;
    for (int p = P_N - 1; p > 0; p--) {
        int q = (int)rnd(&rng, (unsigned)p + 1), x = order[p];
        order[p] = order[q];
        order[q] = x;
    }
    for (int p = 0; p < P_N; p++)
        (void)try_close(order[p]);
    atomic_store(&all_closed, 1);

    /* Later waits and try_* are refused; holders give back. */
    {
        uint64_t d = as_now_ns() + MS;
        int rs[] = {
            as_sem_try_acquire(&sem, 1), as_sem_acquire_blocking(&sem, 1, AS_NO_DEADLINE),
            as_mutex_try_lock(&mtx), as_mutex_lock_blocking(&mtx, d),
            as_mutex_try_lock(&cmtx), as_mutex_lock_blocking(&cmtx, AS_NO_DEADLINE),
            as_event_wait_blocking(&ev_auto, AS_NO_DEADLINE),
            as_event_wait_blocking(&ev_manual, d),
            as_rwlock_try_upgradable_read(&rw), as_rwlock_read_blocking(&rw, d),
            as_barrier_wait_blocking(&bar, AS_NO_DEADLINE), as_latch_wait_blocking(&latch, d),
        };
        for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
            if (rs[i] != -ESHUTDOWN)
                FAIL("main: call %d after close returned %d, not -ESHUTDOWN", (int)i, rs[i]);
    }
    if (main_cmtx) {
        atomic_fetch_sub(&cmtx_held, 1);
        r = as_cond_wait_blocking(&cond, &cmtx, AS_NO_DEADLINE);
        cmtx_got("main after condvar wait");
        if (r != -ESHUTDOWN)
            FAIL("main: as_cond_wait_blocking after close: %d", r);
        cmtx_unlock();
    }
    if (main_sem)
        put_sem(SEM_PERMITS);
    if (main_mtx)
        put_mutex();
    if (main_rw)
        rw_unlock(K_RW_WRITE);
    for (int i = 0; i < n_final_blockers; i++) {
        uint64_t end = as_now_ns() + (uint64_t)cfg.timeout_s * 1000000000u;
        while (!atomic_load(&fblk[i].done)) {
            if (as_now_ns() > end)
                FAIL("I6: phase B: blocking thread %d still in %s %d s after the close", i,
                     atomic_load(&fblk[i].what), cfg.timeout_s);
            sleep_ms(1);
        }
        pthread_join(fblk[i].th, NULL);
        if (fblk[i].result != -ESHUTDOWN)
            FAIL("phase B: a blocking wait ended with %d, not -ESHUTDOWN", fblk[i].result);
    }
    free(fblk);
    ctl_go(3);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(lcs[i].th, NULL);

    /* End-of-run invariants. */
    if (as_sem_value(&sem) != SEM_PERMITS || atomic_load(&sem_held) != 0)
        FAIL("I1: semaphore holds %" PRId64 " permits at the end, not %u",
             as_sem_value(&sem), SEM_PERMITS);
    if (mtx_plain_counter != atomic_load(&mtx_acquisitions))
        FAIL("I2: counter %ld != acquisitions %ld", mtx_plain_counter,
             atomic_load(&mtx_acquisitions));
    if (atomic_load(&mtx_held) != 0 || atomic_load(&cmtx_held) != 0)
        FAIL("I2: mutex still held at the end");
    if (atomic_load(&st.callbacks) != atomic_load(&st.pending))
        FAIL("I5: %ld callbacks for %ld pending waits", atomic_load(&st.callbacks),
             atomic_load(&st.pending));
    check_generations();
    if (atomic_load(&rw_readers) || atomic_load(&rw_writers) || atomic_load(&rw_upg))
        FAIL("I7: rwlock held at the end");
    check_barrier();
    if (as_latch_value(&latch) != latch_count || as_latch_waiters(&latch) != 0)
        FAIL("I9: latch count %" PRId64 " (expected %ld), %" PRId64 " waiters at the end",
             as_latch_value(&latch), latch_count, as_latch_waiters(&latch));
    if (as_sem_destroy(&sem) || as_mutex_destroy(&mtx) || as_mutex_destroy(&cmtx) ||
        as_cond_destroy(&cond) || as_event_destroy(&ev_auto) ||
        as_event_destroy(&ev_manual) || as_sem_destroy(&quiet_sem) || as_rwlock_destroy(&rw) ||
        as_barrier_destroy(&bar) || as_barrier_destroy(&bar_q) || as_latch_destroy(&latch))
        FAIL("destroy at the end");
    for (int k = 1; k < 4; k++)
        if (as_event_destroy(&ctl_ev[k]))
            FAIL("destroy at the end");

    long cancel_req = 0, cancel_ok = 0;
    for (int w = 0; w < W_N; w++) {
        cancel_req += atomic_load(&st.cancel_req[w]);
        cancel_ok += atomic_load(&st.cancel_ok[w]);
    }
    printf("stress: OK: %ld waits pending -> %ld callbacks (%ld -ECANCELED, %ld -ETIMEDOUT, "
           "%ld -ESHUTDOWN), %ld immediate, %ld refused at once (%ld -ETIMEDOUT, "
           "%ld -ESHUTDOWN), %ld with a deadline, %ld on always-callback loops\n",
           atomic_load(&st.pending), atomic_load(&st.callbacks), atomic_load(&st.cancelled_cb),
           atomic_load(&st.timedout_cb), atomic_load(&st.shutdown_cb), atomic_load(&st.fast),
           atomic_load(&st.sync_timeout) + atomic_load(&st.sync_shutdown),
           atomic_load(&st.sync_timeout), atomic_load(&st.sync_shutdown),
           atomic_load(&st.timed), atomic_load(&st.always_cb_waits));
    printf("stress: cancels: %ld requests, %ld returned 0:", cancel_req, cancel_ok);
    for (int w = 0; w < W_N; w++)
        printf(" %s %ld/%ld%s", who_name[w], atomic_load(&st.cancel_ok[w]),
               atomic_load(&st.cancel_req[w]), w + 1 < W_N ? "," : "");
    printf("; %ld landed on a re-armed wait\n", atomic_load(&st.ambiguous));
    printf("stress: blocking: %ld calls (%ld ok, %ld -ETIMEDOUT, %ld -ESHUTDOWN); "
           "%ld closes mid-run; phase A %ld timers fired (latest %.2f ms late overall); "
           "phase B %ld -ESHUTDOWN, %ld -ECANCELED\n",
           atomic_load(&st.blk_calls), atomic_load(&st.blk_ok), atomic_load(&st.blk_timeout),
           atomic_load(&st.blk_shutdown), atomic_load(&st.closes_mid),
           atomic_load(&st.phase_a), (double)atomic_load(&st.late_max_ns) / 1e6,
           atomic_load(&st.phase_b_shutdown), atomic_load(&st.phase_b_cancelled));
    printf("stress: %ld mutex acquisitions, %ld tokens produced / %ld consumed, "
           "%ld auto-reset sets / %ld wakes, %ld forgets\n",
           atomic_load(&mtx_acquisitions), produced, consumed, atomic_load(&ev_auto_sets),
           atomic_load(&ev_auto_waits_ok), atomic_load(&st.forgets));
    printf("stress: rwlock %ld reads, %ld writes, %ld upgradable, %ld upgrades, %ld downgrades; "
           "barrier %ld arrivals: %ld generations (leaders), %ld released, %ld cancelled "
           "(%ld stale), %ld not counted, %ld from the plain thread; latch %ld count_downs, "
           "%ld adds, %ld reached 0, %ld waits completed\n",
           atomic_load(&rw_reads), atomic_load(&rw_writes), atomic_load(&rw_upgs),
           atomic_load(&rw_upgrades), atomic_load(&rw_downgrades), atomic_load(&bar_arr),
           atomic_load(&bar_lead), atomic_load(&bar_rel), atomic_load(&bar_canc),
           atomic_load(&st.bar_stale), atomic_load(&bar_left), atomic_load(&st.plain_bar),
           atomic_load(&latch_cds), atomic_load(&latch_adds), atomic_load(&latch_zero_gen),
           atomic_load(&latch_ok));
    for (int i = 0; i < cfg.threads; i++)
        free(lcs[i].tasks);
    free(gf_mem);
    free(lcs);
    free(blk);
    free(ambigs);
    return 0;
}
