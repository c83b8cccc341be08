/* Internal declarations shared by the primitives, the loop and the backends.
 *
 * LAYERS (each file calls only files above it in this list, or through a
 * table: no circle of files)
 *
 *   sys.c        clock, yield, futex wait/wake (WaitOnAddress on Windows)
 *   waitq.c      the waiter queue every primitive parks in (waitq.h)
 *   timer.c      a loop's deadline heap (intrusive, loop thread only)
 *   loop.c       ready list, inbox, doorbell, callbacks, destroy: names no
 *                primitive and no backend (both are reached through tables)
 *   wait.c       the wait's life: prepare, park, inline completion, cancel
 *                (any thread), expire; calls a primitive only through the
 *                wait's kind table (struct as__kind)
 *   block.c      *_blocking: a one-wait loop on the caller's stack whose
 *                doorbell is a futex the releaser wakes directly
 *   primitives   sem.c mutex.c cond.c event.c: state machines on one 32-bit
 *                atomic word; the uncontended path is one CAS.  Each exports
 *                its kind table; a new primitive adds its own file, its
 *                header part and its table, and nothing anywhere else
 *   backends     backend/ring.c (helpers of the two ring backends: SQEs, the
 *                ring timer), backend/uring.c, backend/generic.c,
 *                backend/iocp.c; backend/bind.c binds ring loops (probe.c)
 *
 * A backend knows loops and doorbells, nothing of semaphores; a primitive
 * knows waits and loops, nothing of io_uring or IOCP.
 */
#ifndef AS_INTERNAL_H
#define AS_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncsync.h"
#include "atomic.h"

#define AS__LOOP_MAGIC 0x4c4f4f50u
#define AS__NOINLINE __attribute__((noinline))
#define AS__ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- wait states (as_wait.as__state, atomic) ----
 *
 * A wait is busy (owned by the library) while its state carries the magic in
 * the upper bits; anything else, including zero and stack garbage, is idle.
 *
 *   IDLE ──*_async returns 0──▶ QUEUED ──grant/signal/cancel/expire/close──▶ DONE ──▶ callback, IDLE
 *                                  │                                         ▲
 *                                  └─mutex, rwlock: woken to retry─▶ RESUME ─┘ (retry: take it,
 *                                                                 give up, or back to QUEUED)
 *   QUEUED  in the queue of w->as__obj; only that queue's lock holder moves it
 *   DONE    off every queue, outcome in as__status (published by the release
 *           store of DONE), on its way to (or in) its loop's inbox or ready
 *           list; only the loop (callback) and as_cancel touch it
 *   RESUME  off the queue, on its way to its loop, where the primitive resumes
 *           it on the waiter's thread (kind->resume) instead of calling back;
 *           changes only under the lock of the queue it left (as__obj)
 *
 * CANCEL (bit): as_cancel returned 0 for this wait after its outcome was
 * decided (DONE) or while it was RESUME; the callback then reports
 * -ECANCELED.  Set by a CAS from DONE (any thread, no lock) or under the
 * queue lock from RESUME (and QUEUED, for a condvar waiter re-acquiring its
 * mutex); never cleared before the callback, and every later store of the
 * state keeps it (W1).
 */
#define AS__W_MAGIC 0x5a17e100u
#define AS__W_QUEUED (AS__W_MAGIC | 1u)
#define AS__W_DONE (AS__W_MAGIC | 2u)
#define AS__W_RESUME (AS__W_MAGIC | 3u)
#define AS__W_CANCEL 0x10u
#define AS__W_IDLE 0u

static inline bool as__wait_busy(uint32_t state)
{
    return (state & 0xffffff00u) == AS__W_MAGIC;
}

static inline uint32_t as__wait_base(uint32_t state)
{
    return state & ~AS__W_CANCEL;
}

/* as_wait.as__flags: per-wait protocol bits.  Written by the holder of the
 * lock of the queue the wait is in (or was last in, while RESUME), or by the
 * thread that owns the wait before it is published. */
#define AS__F_STARVING 0x20u  /* mutex, sem, rwlock: passed over once, hand it over */
#define AS__F_GIVE_UP 0x40u   /* RESUME: cancelled or expired on its way:
                                 give up with as__status on arrival */
#define AS__F_SIGNALLED 0x80u /* condvar: picked by a signal (not a
                                 broadcast): pass it on if cancelled */
#define AS__F_DIRECT 0x100u   /* sem: the grant's plan hands it its permits
                                 (set and cleared under the queue lock) */
#define AS__F_RW_WAKE 0x200u  /* rwlock: the grant being planned wakes it
                                 (else hands it its share) */
#define AS__F_PASSED 0x800u   /* mutex, sem, rwlock: passed over; retries at its
                                 loop's timer, not woken by releases */
#define AS__F_FWAIT 0x400u    /* a kernel wait (backend fwait) is armed for
                                 it: its CQE is still to come (P8).  Loop
                                 thread only */

/* Eventual fairness across loops: how long a waiter woken to retry that
 * lost the race to a newcomer may be passed over before it is handed the
 * lock or its permits directly (mutex.c M5, sem.c S5).  Meanwhile no
 * release wakes it again: each wake of a sleeping loop is a thread wake-up,
 * and a loop that keeps a lock busy is left to run (docs/perf,
 * policy-pass-2026-12-05.md: the bound against throughput). */
#define AS__PASS_NS ((uint64_t)AS_PASS_BOUND_NS)

/* ---- primitives share one layout (AS__PRIM_FIELDS in asyncsync.h) ---- */
typedef struct as__prim {
    uint32_t word;
    uint32_t lock;
    uint32_t magic;
    uint32_t flags;
    uint32_t nwait;
    uint32_t aux; /* queue lock: what the primitive counts out of the queue (sem: woken) */
    as_wait *head;
    as_wait *tail;
    as_counters stats;
} as__prim;

/* A counter increment that costs no locked instruction: a relaxed load and
 * store (exact under the queue lock; see as_counters for the fast path):
 * 3 instructions on the uncontended paths (53 -> 56 per sem try+release,
 * callgrind).  -DASYNCSYNC_STATS=OFF compiles the counters out. */
#ifndef AS_NO_STATS
#define as__stat_inc(c) as__store(&(c), as__load(&(c), AS_RELAXED) + 1u, AS_RELAXED)
#else
#define as__stat_inc(c) ((void)0)
#endif

/* as__prim.flags, above the init flags of every primitive */
#define AS__P_CLOSED 0x80000000u /* as_*_close ran (queue lock) */

#define AS__PRIM_LAYOUT(T)                                                   \
    _Static_assert(sizeof(T) == sizeof(as__prim), #T " layout");            \
    _Static_assert(offsetof(T, as__nwait) == offsetof(as__prim, nwait),     \
                   #T " layout");                                            \
    _Static_assert(offsetof(T, as__aux) == offsetof(as__prim, aux),         \
                   #T " layout");                                            \
    _Static_assert(offsetof(T, as__head) == offsetof(as__prim, head),       \
                   #T " layout");                                            \
    _Static_assert(offsetof(T, as__stats) == offsetof(as__prim, stats),     \
                   #T " layout")

/* The stats and dump calls every primitive exports (waitq.c). */
int as__prim_stats(const as__prim *p, as_counters *out);
int64_t as__prim_dump(const as__prim *p, as_waiter_info *out, size_t max);

/* ---- the per-kind table: how the loop and wait.c reach a primitive ----
 *
 * Every wait carries a pointer to its primitive's table (w->as__kind), so
 * loop.c and wait.c call a primitive without naming it (as the kernel's
 * futex_q carries its wake function). */
struct as__kind {
    const char *name;
    /* Any thread.  End w, QUEUED or RESUME when read by the caller, with
     * `status` (-ECANCELED: as_cancel; -ETIMEDOUT: its deadline;
     * -ESHUTDOWN is done by close itself).  Takes the queue lock; if w is
     * still QUEUED in its own primitive's queue: unlinks it, decides status
     * and finishes it (re-serving waiters it held up); if RESUME: asks the
     * resume to give up; a condvar waiter already re-acquiring its mutex
     * keeps its place (only a cancel marks it).  Returns 0 when done,
     * -ENOENT when w's outcome was decided meanwhile (DONE or IDLE), or
     * -EAGAIN when w is no longer of this kind (completed and re-armed on
     * another primitive: the caller looks again). */
    int (*cancel)(as_wait *w, int status);
    /* The waiter's thread (its loop, or its blocking thread): a wait that
     * arrived in state RESUME: retry, give up, or queue again.  NULL for
     * kinds that never wake a waiter to retry. */
    void (*resume)(as_wait *w);
    /* The wait's loop thread, no lock held (in as_cancel, or just before
     * the callback): a wait whose grant (status 0) was decided but not
     * delivered was cancelled: pass the grant on (release the permits,
     * unlock the mutex, signal the condvar, set the auto-reset event), from
     * the wait's own fields (X1 in wait.c). */
    void (*giveback)(void *home, uint32_t n, uint32_t flags);
    /* DONE is not always final: a signalled condvar waiter is DONE for an
     * instant before it queues in its mutex, while the signaller writes its
     * fields.  as_cancel then leaves the giveback to the loop even on the
     * loop's own thread. */
    bool done_moves;
    /* The wait's loop thread, no lock held: the kernel wait armed for w
     * (as__loop_fwait) completed with res (0 woken, -EAGAIN the word had
     * changed before the wait was queued or no SQE could be had, or another
     * negative errno).  Re-read the word and decide: finish w, or arm
     * again.  NULL for kinds that never park in the kernel. */
    void (*fwake)(as_wait *w, int res);
    /* The wait's loop thread: its heap deadline came (as__timer_expire,
     * which took it out of the heap), for a kind that keeps a timing of its
     * own there (a process-shared wait's health tick, docs/pshared.md 9.1):
     * expire it (as__wait_expire) or put it back with as__timer_add.
     * Returns true when it expired the wait.  NULL: the deadline is the
     * wait's own and the loop expires it. */
    bool (*tick)(as_wait *w, uint64_t now);
    /* The wait's home is not an as__prim (a process-shared object, whose
     * layout has no counters): the loop must not count into it. */
    bool pshared;
    /* A DONE wait whose status is -EOWNERDEAD holds what it waited for (a
     * robust process-shared mutex's lock): a cancel before its callback
     * gives it back as for status 0 (X1). */
    bool ownerdead_held;
};

/* ---- backend vtable (one const table per backend) ---- */

/* The library's CQEs: user_data = bit 63 | tag << 56 | an address inside
 * the loop.  No user-space address has bit 63 set, nor does a small integer;
 * bits 60-62 stay clear, so the range an application must avoid is narrow. */
enum {
    AS__TAG_BELL = 1,    /* the loop's armed doorbell wait/read */
    AS__TAG_WAKE = 2,    /* an acknowledged wake message this loop sent:
                            address = &as__msg_to[slot] */
    AS__TAG_CANCEL = 3,  /* ASYNC_CANCEL of the doorbell */
    AS__TAG_MSG = 4,     /* a wake message another loop's ring posted here */
    AS__TAG_MSGWAIT = 5, /* teardown: FUTEX_WAIT on as__msgs */
    AS__TAG_TIMER = 6,   /* the ring timer (IORING_OP_TIMEOUT) */
    AS__TAG_TIMER_RM = 7, /* its removal (CQE only on failure) */
    AS__TAG_FWAIT = 8,   /* a wait's kernel wait on a shared word (fwait):
                            address = the as_wait, not the loop (P8) */
    AS__TAG_REFUSED = 9  /* a silent wake message this loop sent (MSG_RING,
                            CQE only on failure): address = the target
                            loop, not this one (R1, R3 in uring.c) */
};
#define AS__TAG_LAST AS__TAG_REFUSED
#define AS__TAG_MAX 15u
#define AS__UD_MARK (1ull << 63)
#define AS__UD_ADDR_MASK ((1ull << 56) - 1)

static inline uint64_t as__ud(const void *at, unsigned tag)
{
    return AS__UD_MARK | ((uint64_t)tag << 56) | (uint64_t)(uintptr_t)at;
}

struct as__backend {
    const char *name;
    /* The loop learns of work only through wake(): call it also when a
     * wait is finished on the loop's own thread outside as_loop_run (the
     * notify flavour).  Ring loops run as_loop_run every iteration before
     * they block, so their same-thread hand-offs cost nothing at all. */
    bool wake_local;
    /* Loop thread.  Make sure a ring of the doorbell reaches the loop while it
     * sleeps (arm the doorbell on the ring if it is not armed).  Called when
     * the loop has pending waits.  Must not run callbacks. */
    void (*arm)(as_loop *loop);
    /* Any thread.  The loop's doorbell went from 0 to 1: wake the loop if it
     * sleeps.  Must not call back into the primitives. */
    void (*wake)(as_loop *loop);
    /* Loop thread.  A CQE of ours with this tag and result; `at` is the
     * address inside the loop its user_data named (the loop itself, or a
     * field of it). */
    void (*handle)(as_loop *loop, unsigned tag, int res, uintptr_t at);
    /* Loop thread: the loop's earliest deadline changed or a wait with a
     * deadline was added: make sure the loop wakes by then (T1 in
     * backend/ring.c).  NULL: the application asks as_loop_timeout_ns. */
    void (*timer)(as_loop *loop);
    /* Loop thread, no pending waits.  0: nothing armed that refers to the
     * loop's memory, the loop may be torn down; -EAGAIN: a completion that
     * refers to it is still on its way. */
    int (*retire)(as_loop *loop);
    /* Loop thread, after retire returned 0: release resources. */
    void (*fini)(as_loop *loop);
    /* Loop thread.  Arm, for w, "complete when *word (a 32-bit futex word
     * in memory shared between processes: a shared key, never private) is
     * no longer `expected`".  0: armed, exactly one completion follows and
     * the loop then calls w->as__kind->fwake(w, res); -EAGAIN: no SQE now
     * (A1): as__loop_fwait keeps w on the loop's arm-later list;
     * -EOPNOTSUPP: this backend cannot.  NULL: the backend cannot (the
     * loop then lacks AS_CAP_PSHARED, which a primitive checks before it
     * queues anything).  A backend knows a word, a value and a wait, never
     * what the word means.  `mask`: the wait's bits for FUTEX_WAKE_BITSET
     * (~0u: every wake reaches it). */
    int (*fwait)(as_loop *loop, as_wait *w, uint32_t *word, uint32_t expected,
                 uint32_t mask);
};

/* as_loop.as__flags (loop thread only) */
#define AS__L_ARMED 0x1u     /* a doorbell op is in flight on the ring */
#define AS__L_CANCELING 0x2u /* an ASYNC_CANCEL (or forced wake) was issued */
#define AS__L_WAKE_SQES 0x4u /* wake messages may sit in this loop's SQ */
#define AS__L_RUNNING 0x8u   /* inside as_loop_run */
#define AS__L_MW_ARMED 0x10u /* teardown: a FUTEX_WAIT on as__msgs is on the ring */
#define AS__L_TIMER 0x20u    /* the ring timer is armed (its CQE will come) */
#define AS__L_TIMER_MOVING 0x40u /* ... and its removal was issued */
#define AS__L_SQES 0x80u     /* the library queued SQEs since the last flush */
#define AS__L_SILENT 0x100u  /* uring: silent wake messages sent since the last
                                teardown check (R3 in uring.c) */

/* as__opts: private bits beside the AS_LOOP_* options */
#define AS__OPT_COHORT 0x80000000u /* cohorts on AS_PSHARED mutexes (cohort_ps.c): unless
                                      AS_LOOP_PS_NO_COHORT or ASYNCSYNC_PS_COHORT=0 */
typedef struct as__cohort as__cohort;
/* End of as_loop_run and as_loop_destroy (K3, K6 in cohort_ps.c). */
void as__coh_leave(as_loop *loop);

/* ---- loop internals (loop.c) ---- */

/* A token unique to the calling thread: the address of a thread-local. */
extern _Thread_local char as__tls_token;
static inline const void *as__thread_token(void) { return &as__tls_token; }
/* The loop the calling thread runs, or NULL. */
as_loop *as__current_loop(void);
void as__cancel_giveback(as_wait *w);
/* The calling thread runs `loop` from now on. */
void as__loop_claim(as_loop *loop);
/* Zero the loop's private fields (keeps `data`) before a backend fills it. */
void as__loop_reset(as_loop *loop);
/* Options check shared by the init calls: 0 or -EINVAL; fills the flags
 * and the disabled capabilities. */
int as__loop_opts(const as_loop_options *opts, uint32_t *flags,
                  uint32_t *disabled);
/* Publish an initialised loop (magic last); registers the fork handler. */
void as__loop_publish(as_loop *loop);

static inline bool as__loop_valid(const as_loop *loop)
{
    return loop && loop->as__magic == AS__LOOP_MAGIC;
}

/* Hand a wait whose outcome is decided (state DONE or RESUME already stored)
 * to its loop.  Any thread.  Never runs a callback. */
void as__wait_finish(as_wait *w);
/* Loop thread: append w to the ready list (no wake). */
void as__loop_ready(as_loop *loop, as_wait *w);
/* Drain the inbox into the ready list (loop thread). */
void as__loop_drain(as_loop *loop);
/* Pop the next ready wait (loop thread), or NULL. */
as_wait *as__loop_ready_pop(as_loop *loop);
/* Loop thread of w's loop (a pending wait, counted in as__pending).  Park
 * w in the kernel until *word != expected (backend fwait): 0 when armed,
 * or queued on the loop's arm-later list when no SQE can be had (A1: then
 * the next as_loop_run calls kind->fwake(w, -EAGAIN), which re-reads the
 * word and arms again); -EOPNOTSUPP when the backend has no fwait.
 * P8 (kernel wait lifetime): from a 0 return on, w stays pending (the loop
 * cannot be destroyed, w's callback cannot run) until kind->fwake was
 * called for it: every AS__TAG_FWAIT CQE names a live wait of its loop. */
int as__loop_fwait_mask(as_wait *w, uint32_t *word, uint32_t expected,
                        uint32_t mask);
static inline int as__loop_fwait(as_wait *w, uint32_t *word, uint32_t expected)
{
    return as__loop_fwait_mask(w, word, expected, ~0u);
}
/* A CQE of tag AS__TAG_FWAIT on `loop`'s ring (bind.c). */
void as__loop_fwake(as_loop *loop, as_wait *w, int res);

/* ---- the wait's life (wait.c) ---- */

/* Validate an *_async call's wait, loop and callback: 0, -EINVAL (NULL or
 * uninitialised) or -EBUSY (w is pending).  Checks only: the fast path runs
 * next and a wait satisfied at once is never written to. */
static inline int as__wait_check(const as_wait *w, const as_loop *loop,
                                 as_callback cb)
{
    if (!w || !as__loop_valid(loop) || !cb)
        return -EINVAL;
    if (as__wait_busy(as__load(&w->as__state, AS_ACQUIRE)))
        return -EBUSY;
    return 0;
}

/* A deadline argument: -EINVAL above INT64_MAX (other than AS_NO_DEADLINE),
 * else 0. */
static inline int as__deadline_check(uint64_t deadline)
{
    return deadline != AS_NO_DEADLINE && deadline > (uint64_t)INT64_MAX
               ? -EINVAL
               : 0;
}

/* Fill w for a pending wait on `home` (slow path, before queueing it). */
void as__wait_prepare(as_wait *w, as_loop *loop, const struct as__kind *kind,
                      as_callback cb, void *arg, void *home);
/* After w went QUEUED (queue lock dropped): count it against its loop, give
 * it its deadline (loop thread), and arm the doorbell. */
void as__wait_parked(as_wait *w, uint64_t deadline);
/* The same, with a heap key earlier than the wait's own deadline `until`
 * (a process-shared wait's health tick): kind->tick tells them apart. */
void as__wait_parked_at(as_wait *w, uint64_t until, uint64_t key);
/* The fast path granted w at once on a loop with AS_LOOP_ALWAYS_CALLBACK:
 * complete it through its callback (`status`: 0, or 1 for a barrier's
 * leader) from the next as_loop_run.
 * Returns 0 (what the *_async call returns). */
int as__wait_inline(as_wait *w, as_loop *loop, const struct as__kind *kind,
                    as_callback cb, void *arg, void *home, uint32_t n,
                    int status);
/* Should a wait granted at once complete through its callback? */
static inline bool as__loop_always_cb(const as_loop *loop)
{
    return (loop->as__opts & AS_LOOP_ALWAYS_CALLBACK) != 0;
}
/* Has the deadline passed?  (A wait that cannot be satisfied at once with
 * its deadline past is refused with -ETIMEDOUT, nothing changed.) */
bool as__deadline_passed(uint64_t deadline);
/* Loop thread (or the blocking thread): w's deadline passed: end it with
 * -ETIMEDOUT unless its outcome is decided. */
void as__wait_expire(as_wait *w);

/* ---- deadlines (timer.c): loop thread only ---- */
void as__timer_add(as_loop *loop, as_wait *w, uint64_t deadline);
void as__timer_remove(as_loop *loop, as_wait *w);
/* Key w in its loop's heap at the earlier of its own deadline (as__until)
 * and `at` (AS_NO_DEADLINE: its own only), or take it out.  Loop thread. */
void as__timer_rekey(as_wait *w, uint64_t at);
/* May w be passed over for AS__PASS_NS (AS__F_PASSED)?  Only if its loop
 * carries a timer of its own (uring loops: a ring timeout), so its retry
 * comes whatever the application does; a blocked thread, a notify loop or
 * an IOCP loop is handed over after one failed retry (AS__F_STARVING). */
bool as__pass_may(const as_wait *w);
/* Expire every wait whose deadline is at or before now.  Returns how many. */
unsigned as__timer_expire(as_loop *loop, uint64_t now);
/* The earliest deadline, or AS_NO_DEADLINE. */
static inline uint64_t as__timer_next(const as_loop *loop)
{
    return loop->as__troot ? loop->as__troot->as__deadline : AS_NO_DEADLINE;
}

/* ---- the condvar's use of the mutex (mutex.c) ---- */

/* Acquire `m` for a condvar waiter w whose condvar wait is decided (DONE,
 * status set): finish it now if the mutex is free, else queue it in the
 * mutex's queue, where it is served like a lock waiter (even after close)
 * and keeps its status. */
void as__mutex_acquire_for(as_mutex *m, as_wait *w);
/* kind->resume of a wait woken to retry the mutex (lock or condvar). */
void as__mutex_resume(as_wait *w);

/* ---- *_blocking (block.c) ---- */

/* A loop on the caller's stack for one blocking wait. */
void as__block_init(as_loop *tl);
/* Wait until w (parked on tl, or finished inline) has its outcome; expire
 * it at the deadline.  Returns its status.  Leaves when no other thread
 * touches tl any more (D3). */
int as__block_wait(as_loop *tl, as_wait *w, uint64_t deadline);
/* The callback of a blocking wait (the outcome is read by as__block_wait). */
void as__block_cb(as_wait *w, int status, void *arg);
/* After a primitive's slow path parked w on tl (returned `parked`: 1 taken
 * at once, 0 queued, < 0 refused): the *_blocking call's result. */
int as__block_finish(as_loop *tl, as_wait *w, int parked, uint64_t deadline);

/* as_loop.as__st: the loop's counters (as_loop_counters, in order) */
enum {
    AS__ST_CALLBACKS, AS__ST_LOCAL, AS__ST_REMOTE, AS__ST_MESSAGES,
    AS__ST_DOORBELLS, AS__ST_NOTIFIES, AS__ST_TIMEOUTS, AS__ST_TIMER_CQES
};

/* ---- system (sys.c) ---- */

/* Give the CPU away in a spin loop whose other side was preempted
 * (sched_yield, SwitchToThread).  Slow paths only. */
void as__yield(void);
/* Sleep while *word == expected, until woken or the deadline (monotonic
 * ns; AS_NO_DEADLINE: none).  Private to the process.  Spurious returns
 * happen: the caller re-checks. */
void as__futex_wait(uint32_t *word, uint32_t expected, uint64_t deadline);
/* A cheap monotonic clock of coarse resolution (a few ms), for how long a
 * wait has queued (dumps). */
uint64_t as__now_coarse_ns(void);
/* Wake one (all) threads in as__futex_wait on word. */
void as__futex_wake(uint32_t *word, bool all);
#ifdef __linux__
/* The same on a futex word in memory shared between processes: shared
 * keys (no FUTEX_PRIVATE_FLAG), K1 of docs/pshared.md.  Linux only. */
void as__futex_wait_shared(uint32_t *word, uint32_t expected, uint64_t deadline);
/* Wakes all (K2) or one; returns how many were woken (or a negative errno). */
int as__futex_wake_shared(uint32_t *word, bool all);
/* Wakes all the waiters whose wait bits (FUTEX_WAIT_BITSET, an io_uring
 * FUTEX_WAIT's mask) meet `mask`. */
int as__futex_wake_shared_mask(uint32_t *word, uint32_t mask);
#endif

/* ---- backends ---- */

extern const struct as__backend as__backend_generic_notify;
extern const struct as__backend as__backend_thread;
#ifdef AS_HAVE_URING
extern const struct as__backend as__backend_uring;
extern const struct as__backend as__backend_generic_ring;
struct io_uring_sqe;
/* backend/ring.c.  An SQE on the loop's ring for the library (loop thread).
 * When the SQ is full, submit what is queued (the application's SQEs too:
 * they would go with the next submit anyway) and try again; on an SQPOLL
 * ring, wait for the kernel's SQ thread to free a slot.
 * Invariant A1: NULL only when the ring refuses a submit (-EBUSY: a CQ
 * overflow backlog; -EAGAIN: no memory for requests), which the
 * application's own submit-and-wait meets too: it returns at once, with
 * completions to handle, so the loop cannot sleep before the caller retries
 * (next as_loop_run, CQE of ours, or as_loop_destroy call). */
struct io_uring_sqe *as__ring_sqe(as_loop *loop);
/* backend/ring.c: the ring timer (T1), shared by the two ring backends. */
void as__ring_timer(as_loop *loop);
void as__ring_timer_handle(as_loop *loop, unsigned tag, int res);
/* Submit the loop's ring if the library queued SQEs on it since the last
 * flush (AS__L_SQES): before a teardown cancels what it armed (an SQE not
 * yet submitted cannot be cancelled, and would reach the kernel after the
 * loop's memory is gone).  The submit's result (>= 0 done). */
int as__ring_flush(as_loop *loop);
/* Teardown: cancel the ring timer if armed (its late CQE is harmless). */
void as__ring_timer_retire(as_loop *loop);
/* Cancel an armed operation of the loop at once (IORING_REGISTER_SYNC_CANCEL,
 * Linux 6.0+): 0 when it is no longer armed (its CQE may still come and is
 * swallowed), or a negative errno (-EINVAL: kernel too old). */
int as__ring_sync_cancel(as_loop *loop, uint64_t user_data);
/* probe.c: backend choice for a ring-bound loop. */
enum as__choice { AS__CHOICE_URING, AS__CHOICE_GENERIC };
int as__probe_choose(struct io_uring *ring, uint32_t disabled_caps,
                     enum as__choice *out);
#endif

#endif
