/*
 * asyncsync: asynchronous synchronization primitives for completion-based
 * event loops.  SPDX-License-Identifier: MIT
 *
 * OVERVIEW
 *
 *   A task that would block on a semaphore, mutex, condition variable or event
 *   hands the library a caller-owned wait request (as_wait) and a callback
 *   instead.  The call returns at once; the callback runs later, on the thread
 *   of the loop the wait was bound to, when the wait is satisfied, cancelled,
 *   timed out or shut down.  On Linux a loop is bound to the application's own
 *   io_uring ring, so lock waits, their deadlines and I/O complete through one
 *   completion queue.  Threads that run no loop use the *_blocking forms.
 *
 *   Integration, in a loop that owns `ring` (the code blocks of this
 *   header and of README.md are compiled by tests/docs/snippets.sh):
 *
 *       ```c
 *       as_loop loop;
 *       as_loop_init_uring(&loop, &ring, NULL);
 *       for (;;) {
 *           struct io_uring_cqe *cqe;
 *           unsigned head, seen = 0;
 *           as_loop_run(&loop);                   // run ready callbacks
 *           io_uring_submit_and_wait(&ring, 1);   // also submits our SQEs
 *           io_uring_for_each_cqe(&ring, head, cqe) {
 *               if (!as_loop_handle_cqe(&loop, cqe))
 *                   handle_own(cqe);
 *               seen++;
 *           }
 *           io_uring_cq_advance(&ring, seen);
 *       }
 *       ```
 *
 * OWNERSHIP
 *
 *   Every object (as_loop, as_wait and every primitive) is
 *   allocated by the caller: on the stack, inside the caller's own structs or
 *   in static storage.  No call allocates memory.  init never inspects the
 *   memory it is given (any bytes are accepted: an object that was never
 *   destroyed may be initialised again); initialising an object that still
 *   has waits queued is undefined, as with pthread_mutex_init.
 *
 *   An as_wait is owned by the caller before an *_async call, and again from
 *   the moment its callback is entered: the callback may free, reuse or re-arm
 *   it.  Between an *_async call that returned 0 and its callback, the library
 *   owns it; passing it to another *_async call then fails with -EBUSY and
 *   changes nothing.  An as_wait needs no initialisation (zeroed memory is
 *   tidy, but any contents are accepted); its `data` field is the caller's.
 *
 * CALLBACKS
 *
 *   void cb(as_wait *w, int status, void *arg): status 0 means acquired
 *   (semaphore, mutex) or signalled (condvar, event); -ECANCELED: cancelled
 *   (as_cancel returned 0); -ETIMEDOUT: the deadline of an *_until call
 *   passed first; -ESHUTDOWN: the primitive was closed.  A callback runs
 *   exactly once per wait that went pending, from as_loop_run() on the thread
 *   running the wait's loop, never inside the call that released, signalled,
 *   cancelled or closed, and never with a library lock held.  A condvar
 *   callback always runs with the mutex held again, whatever its status.
 *   A robust process-shared mutex's lock wait may end with -EOWNERDEAD:
 *   the one negative status of a lock wait that comes WITH the lock held
 *   (its previous owner process died; see as_mutex_consistent).  Likewise
 *   -EOWNERDEAD returned by try_lock / lock_blocking / an immediate
 *   lock_async means "locked".
 *
 * RETURN VALUES
 *
 *   Every *_async call first tries the fast path: it returns 1 when the wait
 *   was satisfied at once (the callback is not called), 0 when the wait is
 *   pending (the callback will be called), or a negative errno (the callback
 *   is not called and nothing changed).  Loops created with
 *   AS_LOOP_ALWAYS_CALLBACK never see 1: a wait satisfied at once is
 *   completed through its callback too.  Calls that change state return 0
 *   or a negative errno; try_* and is_set return 1 (yes), 0 (no) or a
 *   negative errno.  Errors are negative errno values on every platform;
 *   compare them by name (-EBUSY), never by number.  as_strerror() names
 *   them.
 *
 * CANCELLATION, DEADLINES, CLOSE
 *
 *   One outcome per wait, decided once: granted, cancelled, timed out or
 *   shut down, whichever happens first.  as_cancel() may be called from any
 *   thread; when it returns 0 the callback runs with -ECANCELED, and
 *   whatever had already been granted to the wait but not delivered (permits,
 *   the lock, a condvar signal, an auto-reset event's set) is passed on to
 *   the next waiter: nothing is lost and nothing needs giving back.  A
 *   deadline (*_until) ends a wait still pending at that time with
 *   -ETIMEDOUT; a grant that came first wins.  Deadlines are absolute, in
 *   nanoseconds of as_now_ns()'s monotonic clock; AS_NO_DEADLINE means none.
 *   *_close() ends every pending wait of a primitive with -ESHUTDOWN and
 *   refuses later ones; release and unlock keep working so holders can give
 *   back, then destroy.
 *
 * THREADING
 *
 *   as_loop_run, as_loop_handle_cqe, as_loop_flush, as_loop_timeout_ns,
 *   as_loop_stats, as_loop_destroy, *_async and *_until are called on the
 *   loop's thread (the thread that runs as_loop_run for that loop).  Every
 *   other call may be made from any thread, including threads that run no
 *   loop: as_cancel, release, forget, unlock, signal, broadcast, set, reset,
 *   count_down, add, close, try_*, *_blocking, the snapshots (*_value,
 *   *_waiters, *_stats, *_dump, as_event_is_set, as_wait_pending) and init
 *   and destroy (when nothing else uses the object).
 *   Primitives may be shared by any number of loops and plain threads.
 *   No call is async-signal-safe (they take a short spin lock and may queue
 *   an SQE on the calling thread's ring).
 *
 *   A wake between tasks of the same loop costs no system call.  A wake that
 *   crosses threads is one futex wake (Windows: one completion packet).  When
 *   it is made inside as_loop_run (in a callback) on a uring loop's thread and
 *   the target is a uring loop, it is instead a message (IORING_OP_MSG_RING)
 *   queued on the releaser's ring, which the submit that follows as_loop_run
 *   in the loop's iteration sends: no system call of its own.  A callback that
 *   releases and then runs long may send it at once with as_loop_flush().
 *   (AS_LOOP_DEFER_WAKES extends the ride to the whole iteration.)
 *
 * MEMORY ORDERING
 *
 *   Acquiring a semaphore or mutex (fast path or callback with status 0)
 *   synchronizes-with the release/unlock that made it available: everything
 *   the releaser wrote before releasing is visible to the acquirer.  Likewise
 *   an event wait that completes with 0 sees what was written before
 *   as_event_set, a condvar waiter sees what was written under the mutex, a
 *   latch waiter sees what was written before every count_down that took
 *   the count to 0, and every party of a barrier generation sees what the
 *   others wrote before they arrived.
 *
 * IO_URING COMPLETIONS
 *
 *   The library's CQEs carry a user_data with bit 63 set, a tag from 1 to 15
 *   in bits 56-59 and an address of the loop in the low bits: no user-space
 *   pointer and no small integer has that form.  An application must not use
 *   user_data values with bit 63 set and bits 60-62 clear for its own SQEs;
 *   as_loop_handle_cqe() recognises the library's and returns true, also for
 *   a loop already destroyed (a late completion is swallowed).
 */
#ifndef ASYNCSYNC_H
#define ASYNCSYNC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The C runtimes of Windows (mingw-w64, MSVC) have no ESHUTDOWN: the
 * library's value there is Winsock's (WSAESHUTDOWN), so -ESHUTDOWN names
 * the same error on every platform. */
#ifndef ESHUTDOWN
#define ESHUTDOWN 10058
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define AS_VERSION_MAJOR 0
#define AS_VERSION_MINOR 1
#define AS_VERSION_PATCH 0

struct io_uring;
struct io_uring_cqe;

typedef struct as_loop as_loop;
typedef struct as_wait as_wait;
typedef struct as_sem as_sem;
typedef struct as_mutex as_mutex;
typedef struct as_cond as_cond;
typedef struct as_event as_event;
typedef struct as_barrier as_barrier;
typedef struct as_latch as_latch;
typedef struct as_loop_options as_loop_options;

typedef void (*as_callback)(as_wait *w, int status, void *arg);

/* ---------------------------------------------------------------------------
 * Object layouts.  Fields named as__* are private: do not read or write them.
 * The sizes are part of the ABI of a given release, not of the API.
 * ------------------------------------------------------------------------- */

/* A wait request: what a pending *_async call owns until its callback. */
struct as_wait {
    void *data;                 /* public: the caller's, never touched */
    /* private */
    as_wait *as__next;          /* waiter queue of a primitive */
    as_wait *as__prev;
    as_wait *as__link;          /* a loop's ready list or inbox */
    as_loop *as__loop;
    const struct as__kind *as__kind; /* the primitive's table (cancel, ...) */
    as_callback as__cb;
    void *as__arg;
    void *as__obj;              /* the queue it is (or was last) in */
    void *as__home;             /* the primitive it was made on */
    void *as__aux;              /* condvar: the mutex to re-acquire */
    as_wait *as__tparent;       /* the loop's deadline heap */
    as_wait *as__tleft;
    as_wait *as__tright;
    uint64_t as__deadline;      /* the heap's key; AS_NO_DEADLINE: not in it */
    uint64_t as__until;         /* its own deadline (AS_NO_DEADLINE: none);
                                   the key may be earlier: a retry of its own */
    uint64_t as__since;         /* when it queued (coarse clock), for dumps */
    uint32_t as__n;             /* semaphore: permits requested */
    int32_t as__status;
    uint32_t as__state;         /* atomic */
    uint32_t as__flags;
};

/* Options for as_loop_init_*; pass NULL for the defaults. */
struct as_loop_options {
    uint32_t flags;             /* AS_LOOP_* */
    uint32_t disabled_caps;     /* AS_CAP_* bits this loop must not use */
};

/* as_loop_options.flags */
/* *_async and *_until never complete inline: a wait satisfied at once
 * returns 0 too, and its callback (status 0) runs from the next as_loop_run,
 * as libuv and io_uring complete everything through a callback or a CQE.  One
 * code path per call site; costs a ready-list append, no system call. */
#define AS_LOOP_ALWAYS_CALLBACK 0x1u
/* Wakes of other uring loops made on this loop's thread ride its ring (a
 * MSG_RING SQE, no system call) wherever they are made, not only inside
 * as_loop_run: the application promises to submit before it blocks, computes
 * long, or stops running the loop, or to call as_loop_flush().  Without the
 * flag such a wake made outside as_loop_run is a futex(2) wake at once. */
#define AS_LOOP_DEFER_WAKES 0x2u
/* No loop cohort on process-shared mutexes: each of this loop's tasks
 * waiting on an AS_PSHARED mutex takes a slot of its own, as in 0.2 (by
 * default the loop's waiting tasks queue in the loop behind one slot and
 * the lock passes between them without a shared write: README "Across
 * processes").  The environment variable ASYNCSYNC_PS_COHORT=0, read when
 * a loop is initialised, does the same for every loop. */
#define AS_LOOP_PS_NO_COHORT 0x4u

/* Capabilities a loop may use (as_loop_caps).  Disabling one forces the
 * degraded path, for tests and for users who hit a kernel bug. */
#define AS_CAP_FUTEX_WAIT 0x1u  /* park as IORING_OP_FUTEX_WAIT (uring backend) */
#define AS_CAP_RING_WAKE  0x2u  /* wake other uring loops with a message
                                   (MSG_RING SQE) on this loop's ring
                                   instead of futex(2) */
#define AS_CAP_PSHARED    0x4u  /* *_async / *_until waits on AS_PSHARED
                                   objects: each parks as one
                                   IORING_OP_FUTEX_WAIT on a shared word
                                   (uring backend only, Linux 6.7+) */

/* Counters of a primitive (as_sem_stats and the others).  Exact for what
 * goes through the waiter queue (under its lock); `acquired` also counts
 * the lock-free fast path with a relaxed increment (no extra locked
 * instruction), so two threads acquiring at the same instant may count
 * once: exact in any scenario without simultaneous acquires. */
typedef struct as_counters {
    uint64_t acquired;          /* waits satisfied: at once, or granted */
    uint64_t contended;         /* waits that queued */
    uint64_t handoffs;          /* grants to a waiter of another thread's loop
                                   or of a blocked thread */
    uint64_t cancelled;         /* waits ended by as_cancel */
    uint64_t timed_out;         /* waits ended by their deadline */
    uint64_t shut_down;         /* waits ended by close */
    uint32_t waiters;           /* queued now */
    uint32_t max_waiters;       /* most queued at once */
} as_counters;

#define AS__STATS_INIT { 0, 0, 0, 0, 0, 0, 0, 0 }

/* Every primitive shares one layout. */
#define AS__PRIM_FIELDS \
    uint32_t as__word;          /* atomic: the primitive's state */ \
    uint32_t as__lock;          /* atomic: waiter-queue lock */ \
    uint32_t as__magic; \
    uint32_t as__flags;         /* init flags; closed bit (queue lock) */ \
    uint32_t as__nwait;         /* atomic: waits queued now */ \
    uint32_t as__aux;           /* queue lock: primitive-specific (sem: woken) */ \
    as_wait *as__head; \
    as_wait *as__tail; \
    as_counters as__stats       /* atomic fields, relaxed */

struct as_sem { AS__PRIM_FIELDS; };
struct as_mutex { AS__PRIM_FIELDS; };
struct as_cond { AS__PRIM_FIELDS; };
struct as_event { AS__PRIM_FIELDS; };
struct as_barrier { AS__PRIM_FIELDS; };
struct as_latch { AS__PRIM_FIELDS; };

/* Private: a loop's record of its tasks waiting on one AS_PSHARED mutex
 * (the loop's cohort, src/cohort_ps.c; docs/pshared.md 6.4): the local
 * queue, the hold and the one wait (the delegate) that holds the loop's
 * place in the shared queue.  A loop has AS__COHORTS of them. */
#define AS__COHORTS 4
struct as__cohort {
    struct as_mutex as__lq;     /* its waiter queue: the loop's waiting tasks */
    void *as__obj;              /* the shared mutex (NULL: free record) */
    uint32_t as__hold;          /* loop thread: none, owned, held over */
    uint32_t as__budget;        /* loop thread: local acquisitions left */
    uint32_t as__cflags;        /* loop thread: delegate pending, OWNER_DEAD */
    uint32_t as__pad0;
    uint64_t as__since;         /* loop thread: the hold's first budget spent */
    as_wait as__del;            /* the delegate */
};

struct as_loop {
    void *data;                 /* public: the caller's, never touched */
    /* private */
    const struct as__backend *as__ops;
    struct io_uring *as__ring;
    void (*as__notify)(void *ctx);
    void *as__notify_ctx;
    as_wait *as__ready_head;    /* loop thread only */
    as_wait *as__ready_tail;
    const void *as__owner;      /* thread token of the thread running it */
    uint64_t as__pending;       /* loop thread: waits bound here, no callback yet */
    uint32_t as__magic;
    uint32_t as__caps;
    uint32_t as__flags;         /* loop thread only: armed, running... */
    uint32_t as__opts;          /* AS_LOOP_* of the options */
    int32_t as__efd;            /* generic backend on a ring: eventfd */
    uint32_t as__tcount;        /* deadline heap: timed waits in it */
    as_wait *as__troot;         /* deadline heap: the earliest */
    uint64_t as__tarmed;        /* deadline of the ring timer armed, if any */
    int64_t as__ts[2];          /* ring timer: its absolute timespec */
    void *as__port;             /* iocp backend: the completion port (HANDLE) */
    uint64_t as__st[8];         /* as_loop_counters (loop thread; notifies atomic) */
    as_loop *as__msg_to[16];    /* uring: target of each acknowledged wake message */
    uint32_t as__msg_busy;      /* uring: bitmap of busy as__msg_to slots */
    as_wait *as__farm;          /* loop thread: waits whose kernel wait
                                   (AS_PSHARED) is still to be armed */
    uint32_t as__coh_live;      /* loop thread: records bound to a mutex */
    uint32_t as__coh_busy;      /* loop thread: delegates pending */
    struct as__cohort as__coh[AS__COHORTS];
    /* Written by other threads: kept off the loop thread's cache line by
     * padding, not by alignment, so a malloc()ed as_loop is fine. */
    char as__pad[64];
    as_wait *as__inbox;         /* atomic: MPSC stack of completions */
    uint32_t as__bell;          /* atomic: doorbell (futex word) */
    uint32_t as__wakers;        /* atomic: other threads inside a delivery */
    uint32_t as__posted;        /* atomic, iocp: wake packets not yet handled */
    uint32_t as__msgs;          /* atomic, uring: wake messages on their way here */
};


/* Private: values behind the static initialisers. */
#define AS__MAGIC_SEM   0x53454d31u
#define AS__MAGIC_MUTEX 0x4d545831u
#define AS__MAGIC_COND  0x434e4431u
#define AS__MAGIC_EVENT 0x45564e31u
#define AS__MAGIC_BARRIER 0x42415231u
#define AS__MAGIC_LATCH 0x4c544331u

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

/* The name and meaning of a negative errno returned by this library, e.g.
 * "ECANCELED: wait cancelled".  Never NULL. */
const char *as_strerror(int err);

/* ---------------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------------- */

/* No deadline: the *_until and *_blocking forms then wait for ever. */
#define AS_NO_DEADLINE UINT64_MAX

/* Nanoseconds of the monotonic clock deadlines are measured on
 * (CLOCK_MONOTONIC on Linux, QueryPerformanceCounter on Windows).  A
 * deadline d ms from now: as_now_ns() + d * 1000000.  Any thread. */
uint64_t as_now_ns(void);

/* ---------------------------------------------------------------------------
 * Loops
 * ------------------------------------------------------------------------- */

/* Bind `loop` to the application's io_uring `ring`.
 * Backend: "uring" (IORING_OP_FUTEX_WAIT/WAKE, Linux 6.7+) when the kernel and
 * ring support it, else "generic" (an eventfd read armed on the ring).
 * ASYNCSYNC_BACKEND=uring|generic forces the choice; forcing "uring" where
 * the kernel lacks the futex opcodes fails with -EOPNOTSUPP.  The kernel is
 * asked through `ring` at every call, so a broken ring decides nothing for
 * later loops.  Deadlines of the loop's waits are kept by one absolute
 * IORING_OP_TIMEOUT armed on the ring for the earliest (no thread, no
 * polling; the loop's code needs no change).
 * One loop per ring: a CQE of the library that names another loop is taken
 * for a late completion of a destroyed loop and swallowed.
 * Rings: plain, SQPOLL (the library waits for the SQ thread when it needs a
 * slot of a full SQ), COOP_TASKRUN, SINGLE_ISSUER|DEFER_TASKRUN (create the
 * ring on the loop's thread), SQE128|CQE32 and registered ring fds all work.
 * IOPOLL rings do not: they refuse every operation a loop can sleep on
 * (FUTEX_WAIT, READ of an eventfd, POLL_ADD, TIMEOUT); bind the loop to a
 * second, plain ring, or use as_loop_init_generic.
 * Fork: a child process must not use its parent's loops (their rings are
 * the parent's); it starts with no current loop and may create its own.
 * Availability: Linux.  Threading: any thread; the loop then belongs to the
 * thread that runs it.
 * Returns 0, -EINVAL (NULL, unknown option bits, ASYNCSYNC_BACKEND not
 * uring|generic|auto), -EBADF (the ring's fd is closed or is not an
 * io_uring), -EOPNOTSUPP (IORING_SETUP_IOPOLL ring, forced backend
 * unavailable, or not built for Linux), or a negative errno from the kernel.
 * Nothing changes on error. */
int as_loop_init_uring(as_loop *loop, struct io_uring *ring,
                       const as_loop_options *opts);

/* Bind `loop` to any event loop: the library calls notify(ctx), from any
 * thread, when the loop has callbacks to run; the loop then calls
 * as_loop_run() on its own thread.  notify must not call back into the
 * library.  Deadlines: the loop blocks at most as_loop_timeout_ns() before it
 * calls as_loop_run again; two lines in a poll()-style loop:
 *
 *     ```c
 *     int64_t t = as_loop_timeout_ns(&loop);
 *     poll(fds, nfds, t < 0 ? -1 : (int)((t + 999999) / 1000000));
 *     ```
 *
 * Backend: "generic".  Availability: every platform.
 * Returns 0 or -EINVAL (NULL loop or notify, unknown option bits). */
int as_loop_init_generic(as_loop *loop, void (*notify)(void *ctx), void *ctx,
                         const as_loop_options *opts);

/* Offer a CQE from the loop's ring to the library.  Returns true when it was
 * the library's (the application still marks it seen), false otherwise
 * (including NULL arguments).  A late CQE of ours that arrives after the loop
 * was destroyed is still recognised and swallowed.
 * Threading: the loop's thread. */
bool as_loop_handle_cqe(as_loop *loop, const struct io_uring_cqe *cqe);

/* Run the callbacks that are ready, including those that become ready while
 * it runs, expire the waits whose deadline has passed, then make sure a wake
 * from another thread (and the next deadline) will reach the loop while it
 * sleeps (for a uring loop: SQEs on its ring, submitted by the application's
 * next submit).  Call once per loop iteration, after the iteration's own
 * work (CQE handlers, timers) and before the loop blocks: a hand-off to a
 * waiter of this loop made on this thread is a plain list append that no CQE
 * announces, so one made after as_loop_run returned waits for the next
 * as_loop_run.  (A notify-driven loop is notified of it.)  Wakes of other
 * uring loops made by its callbacks are SQEs on the ring too: the submit
 * that follows sends them (see as_loop_flush).
 * Returns how many callbacks ran, or -EINVAL.
 * Threading: the loop's thread. */
int as_loop_run(as_loop *loop);

/* Submit the loop's ring now if the library queued SQEs on it (wake
 * messages for other loops, its doorbell, its timer): for a callback that
 * releases and then computes for long, so the other loop's waiter is not
 * held up.  It submits the application's prepared SQEs too (as any submit
 * does).  Returns the number of SQEs submitted (0 when the library had
 * none queued: nothing is done), -EINVAL, or an error of io_uring_submit.
 * On other loops: 0.  Threading: the loop's thread. */
int as_loop_flush(as_loop *loop);

/* How long the loop may block before it must call as_loop_run again for a
 * deadline: nanoseconds to the earliest deadline of its waits, 0 if one is
 * due, -1 if none (or -EINVAL).  Generic (notify) and IOCP loops need it,
 * as libuv's uv_backend_timeout; uring loops need not (their ring carries a
 * timer).  Threading: the loop's thread. */
int64_t as_loop_timeout_ns(const as_loop *loop);

/* Tear the loop down.  Returns 0 (done: the memory may be reused), -EBUSY
 * (waits bound to this loop are still pending, or called inside one of the
 * loop's own callbacks; nothing changed), -EAGAIN (a completion that refers
 * to the loop is still on its way: a wake message another loop sent to this
 * one, the result of one this loop sent, or, on an IOCP loop, a wake packet
 * in the port; also when the ring refuses to submit what the library
 * queued (a CQ overflow backlog), or when the synchronous cancel of its
 * doorbell failed and an asynchronous one is under way, or while the
 * kernel wait of a process-shared mutex cohort's delegate it ended is
 * still out (the loop's cohorts, the default: AS_LOOP_PS_NO_COHORT).
 * Keep handling the ring's completions (the port's packets) and call
 * again), or -EINVAL
 * (NULL or not initialised).  In the common case, a loop with nothing
 * pending and no message on its way, it returns 0 at once: its armed
 * operations are cancelled synchronously, and any late completion is
 * swallowed by as_loop_handle_cqe.  Several loops torn down from one thread:
 * call each in turn (round robin) until all returned 0, handling each ring's
 * completions between rounds, since a wake message one loop waits for may be
 * sent by another's next submit.
 * Threading: the loop's thread (or, once that thread stopped running it,
 * the thread that takes over; a call that returns -EBUSY changes nothing,
 * including which thread the loop belongs to). */
int as_loop_destroy(as_loop *loop);

/* "uring", "generic" or "iocp"; NULL for NULL, an uninitialised or a
 * destroyed loop. */
const char *as_loop_backend(const as_loop *loop);

/* The AS_CAP_* bits this loop uses; 0 for NULL. */
unsigned as_loop_caps(const as_loop *loop);

/* Cancel a pending wait.  Returns 0 when the wait was pending: its callback
 * will run once, with -ECANCELED, even if the permit, lock or signal had
 * already been handed to it (the library then passes it on to the next
 * waiter: on the loop's own thread before as_cancel returns; from another
 * thread, by the loop just before the callback, since the wait may be called
 * back and re-armed by then).  Returns -ENOENT when the wait is not pending
 * (its callback has run, or is running), -EINVAL for NULL.  Idempotent.  A cancelled wait
 * never swallows a permit or wake-up meant for another waiter.
 * Threading: any thread.  From a thread other than the wait's loop, the
 * caller must know that `w` is still valid memory (its callback may free it
 * once it has run): typically the application's own lock over its request
 * object, which the callback takes too. */
int as_cancel(as_wait *w);

/* True (1) while `w` is owned by the library (between an *_async call that
 * returned 0 and its callback), 0 otherwise. */
int as_wait_pending(const as_wait *w);

/* ---------------------------------------------------------------------------
 * Observing a running service: counters, waiter dumps, tracepoints.
 * ------------------------------------------------------------------------- */

/* A loop's counters (as_loop_stats). */
typedef struct as_loop_counters {
    uint64_t callbacks;         /* callbacks run */
    uint64_t local;             /* waits finished on the loop's own thread */
    uint64_t remote;            /* waits delivered from other threads (inbox) */
    uint64_t messages;          /* wake messages received (MSG_RING CQEs) */
    uint64_t doorbells;         /* doorbell completions (FUTEX_WAIT / eventfd
                                   read CQEs, IOCP packets) */
    uint64_t notifies;          /* notify(ctx) calls (generic notify loops) */
    uint64_t timeouts;          /* waits its deadlines expired */
    uint64_t timer_cqes;        /* its ring timer's completions */
} as_loop_counters;

/* Copy the loop's counters.  Returns 0 or -EINVAL.  Threading: the loop's
 * thread (other threads read a snapshot that may be torn across fields). */
int as_loop_stats(const as_loop *loop, as_loop_counters *out);

/* One queued wait, as a dump reports it. */
typedef struct as_waiter_info {
    void *data;                 /* the as_wait's data field */
    const as_wait *wait;        /* identity only: it may complete any time */
    as_loop *loop;              /* its loop (a blocked thread's: private) */
    const char *kind;           /* "sem", "mutex", "cond", ... */
    uint32_t n;                 /* semaphore permits requested, else 0 */
    int blocking;               /* 1: a thread in a *_blocking call */
    uint64_t waited_ns;         /* how long it has waited (coarse clock) */
    uint64_t deadline_ns;       /* AS_NO_DEADLINE or its deadline */
} as_waiter_info;

/* ---------------------------------------------------------------------------
 * Forms shared by every primitive (X = sem, mutex, cond, event, barrier,
 * latch)
 *
 *   as_X_..._async(..., loop, w, cb, arg)     1 at once, 0 pending, or <0
 *   as_X_..._until(..., loop, w, deadline_ns, cb, arg)
 *       as the _async twin; still pending at the deadline: the callback runs
 *       with -ETIMEDOUT (a condvar's with the mutex held again).  Not
 *       satisfiable at once and the deadline already past: returns
 *       -ETIMEDOUT, no callback, nothing changed.  AS_NO_DEADLINE: no
 *       deadline.  -EINVAL for a deadline above INT64_MAX (other than
 *       AS_NO_DEADLINE).  The deadline costs nothing when the wait is
 *       satisfied at once.
 *   as_X_..._blocking(..., deadline_ns)
 *       for threads that run no loop: queues in the same FIFO as the loops'
 *       waits, under the same policy, and parks the thread on a futex
 *       (Windows: WaitOnAddress); the releaser wakes it directly.  Returns
 *       0, -ETIMEDOUT, -ESHUTDOWN or -EINVAL (and -EPERM from a condvar
 *       wait on an unlocked mutex, 1 for a barrier's leader).  Called on a loop's thread it
 *       blocks that loop (and deadlocks if only that loop can release).
 *   as_X_close(p)
 *       every pending wait completes with -ESHUTDOWN; later waits and try_*
 *       return -ESHUTDOWN at once; release, unlock, signal and set still work
 *       (holders give back; no waiter is served); idempotent (0 again);
 *       destroy follows.  Any thread.
 *   as_X_waiters, as_X_stats, as_X_dump (any thread): see "Observing".
 *   destroy returns 0 once no wait is queued; a wait already granted may
 *   still be on its way to its callback, and a cancel of it gives the grant
 *   back to the primitive: free a primitive's memory only after the
 *   callbacks of its waits have run.
 *   Static initialisers do not check their argument (the init calls do).
 * ------------------------------------------------------------------------- */

/* ---------------------------------------------------------------------------
 * Semaphore: weighted, FIFO, none starves.  A request that cannot be met at
 * once queues behind earlier ones, and a large request at the head is never
 * starved by small ones: while it waits, the permits it needs accumulate for
 * it.  The hand-off policy is the mutex's (eventual fairness): a release
 * hands permits directly to a queued waiter on the releaser's own loop; to
 * one on another loop it leaves them in the semaphore and wakes the waiter to
 * take them, and while that waiter is on its way (one thread wake-up), tasks
 * that find permits free may take them.  If the woken waiter then finds too
 * few, it goes back to the head of the queue, where no release from another
 * loop wakes it again and tasks may still pass it, for at most
 * AS_PASS_BOUND_NS (250 us: a loop that keeps the permits busy runs on
 * instead of being woken to lose again); then, at its own loop's timer, it
 * takes its permits if they are free, or newcomers queue behind it and the
 * next release that makes it fit hands it the permits directly.  (On a loop
 * without a timer of its own, a notify or IOCP loop or a *_blocking thread,
 * that happens at once: passed over during at most one wake-up.)  A waiter
 * on the releaser's own loop is always handed permits directly.
 * AS_SEM_STRICT_FIFO hands
 * permits to the oldest waiters on every release, even on a loop that
 * sleeps: no task ever passes a queued waiter (and each cross-loop hand-off
 * leaves those permits held by nobody who runs for a thread wake-up).
 * ------------------------------------------------------------------------- */

/* 30 bits (the word's top two bits are the queue's). */
#define AS_SEM_VALUE_MAX 0x3fffffffu
#define AS_SEM_INITIALIZER(permits) \
    { (permits), 0, AS__MAGIC_SEM, 0, 0, 0, NULL, NULL, AS__STATS_INIT }

/* Strict hand-off (see above). */
#define AS_SEM_STRICT_FIFO 0x1u

/* Eventual fairness (semaphore, mutex and read-write lock, default policy,
 * uring loops): how long a waiter that lost its retry to a newcomer may be
 * passed over before it is served first.  Informational: the library's
 * fixed value.  It is what a cross-loop hand-off (a thread wake-up: tens of
 * us on a VM) is amortised over: 250 us keeps that cost near a tenth of the
 * time; Go's mutex waits 1 ms, parking_lot 0.5 ms on average.  (100 us
 * until 2026-12-05: CHANGELOG.)  It bounds one pass, not a whole wait: a
 * task queued behind k others that are each passed over may wait about
 * k times as long (bench_contended reports the waits). */
#define AS_PASS_BOUND_NS 250000u

/* ---------------------------------------------------------------------------
 * Process-shared semaphore (AS_PSHARED; Linux).  Design: docs/pshared.md.
 *
 *   as_sem_init(s, permits, AS_PSHARED | AS_PSHARED_SLOTS(k)) on memory
 *   shared between processes (a MAP_SHARED mapping, a memfd or a shm_open
 *   object, mapped at any address in each process) makes a semaphore that
 *   tasks and threads of every process that maps it use with the same
 *   calls.  The object is pointer-free: each waiting task owns a slot in it
 *   (a 16-byte record); the struct holds 3 slots (LP64), and k more follow
 *   it when the caller reserves AS_PSHARED_SIZE(as_sem, k) bytes,
 *   contiguously, in the same mapping (k <= AS_PSHARED_SLOTS_MAX).  Waiters
 *   beyond the slots wait in an overflow area and race for freed slots:
 *   they are not FIFO among themselves (size the slots for the waiters
 *   expected at once where order matters).
 *
 *   Where it works:
 *     - *_async / *_until: a loop with AS_CAP_PSHARED (the uring backend,
 *       Linux 6.7+): each wait parks as one IORING_OP_FUTEX_WAIT on its
 *       slot's word (a shared futex key) on the loop's own ring.  On any
 *       other loop (generic, notify, the capability disabled) they return
 *       -EOPNOTSUPP and change nothing, whether or not permits are free.
 *     - *_blocking, try_acquire, release, forget, close, value, waiters,
 *       destroy: any Linux kernel (futex(2) with shared keys).
 *     - Windows and other systems: as_sem_init with AS_PSHARED returns
 *       -EOPNOTSUPP.
 *   Policy: as in-process, with every waiter "on another loop" (a slot
 *   names no loop): by default a release wakes the oldest slot holder to
 *   take its permits, which stay in the semaphore meanwhile, and tasks of
 *   any process that find them free may take them while it is on its way;
 *   one that then finds too few goes back to the head and is handed the
 *   permits directly next (passed over during at most one wake-up).
 *   AS_SEM_STRICT_FIFO hands permits to the oldest on every release.
 *   Weighted requests are served as in-process: a large head is not
 *   starved.
 *   Cancellation, deadlines and close behave as in-process (a cancel after
 *   the grant passes the permits on).  as_cancel of a pshared wait is made
 *   from a thread of the wait's process (as_wait is process-local).
 *   Limits: counts up to AS_PSHARED_SEM_VALUE_MAX (2^29 - 1); as_sem_stats
 *   reports only `waiters`; as_sem_dump returns -EOPNOTSUPP (waits of other
 *   processes have no address here).  Every process must run the same
 *   library layout and ABI: a call on an object whose layout word another
 *   version (or a 32-bit process) wrote returns -EPROTO.
 *   Death: a process killed while it holds permits takes them with it
 *   (as with sem_t; release them from a process that knows).  A process
 *   killed while waiting takes nothing with it: the waits of the living
 *   run a health check (a tick of their own loop, or of the blocking
 *   thread's futex timeout: 10 ms after parking, doubling up to 1 s) that
 *   frees the slots of dead processes (dead: its pid gone, or reused by a
 *   process with another start time) and gives back a grant made to one
 *   that died before it claimed it.  A process killed while holding the
 *   object's internal lock is detected by the next contender, which takes
 *   the lock over and completes or rolls back what it was doing.  A holder
 *   of that lock that is alive but stopped (SIGSTOP, a debugger) delays
 *   every process that needs it, as any stopped lock holder does.
 *   Detection latency: up to the current tick interval (10 ms to 1 s;
 *   the environment variable ASYNCSYNC_PSHARED_TICK_MS, read when a wait
 *   parks, sets the first interval, 1 to 3600000 ms).
 *   A process killed while waiting in the overflow area leaves its count
 *   there (a hint: it costs spurious wake-ups), and as_sem_destroy then
 *   returns -EBUSY for good: size the slots.
 *   Alignment: the object holds a 64-bit atomic state at offset 0: place
 *   it 8-byte aligned (mmap's pages are).
 *   Processes that share an object must share a pid namespace and see the
 *   same /proc (a process is named by its pid and start time): processes
 *   of different containers cannot share one.
 * ------------------------------------------------------------------------- */

/* In the flags of as_sem_init and as_mutex_init: the object is shared
 * between processes. */
#define AS_PSHARED 0x1000u
/* k more waiter slots follow the object (flags of as_sem_init and
 * as_mutex_init). */
#define AS_PSHARED_SLOTS(k) ((unsigned)(k) << 16)
#define AS_PSHARED_SLOTS_MAX 4093u
/* Bytes to reserve for an AS_PSHARED object of type T with k more slots. */
#define AS_PSHARED_SIZE(T, k) (sizeof(T) + 16u * (size_t)(k))
/* The most permits an AS_PSHARED semaphore holds (29 bits). */
#define AS_PSHARED_SEM_VALUE_MAX 0x1fffffffu

/* flags: 0, AS_SEM_STRICT_FIFO, AS_PSHARED | AS_PSHARED_SLOTS(k) (see
 * above).  Returns 0, -EINVAL (NULL, permits > AS_SEM_VALUE_MAX, or >
 * AS_PSHARED_SEM_VALUE_MAX with AS_PSHARED, unknown flags, k >
 * AS_PSHARED_SLOTS_MAX, or AS_PSHARED_SLOTS without AS_PSHARED), or
 * -EOPNOTSUPP (AS_PSHARED where process-shared objects are not built:
 * Windows, non-Linux systems). */
int as_sem_init(as_sem *s, uint32_t permits, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL (NULL or not initialised). */
int as_sem_destroy(as_sem *s);
/* Returns 1 (acquired n), 0 (not now: too few permits or earlier waiters),
 * -ESHUTDOWN (closed), -EINVAL (NULL, uninitialised, n == 0 or
 * n > AS_SEM_VALUE_MAX). */
int as_sem_try_acquire(as_sem *s, uint32_t n);
/* Returns 1 (acquired at once), 0 (pending), -EINVAL (NULL s/loop/w/cb,
 * uninitialised, n == 0 or n > AS_SEM_VALUE_MAX), -EBUSY (w is pending),
 * -ESHUTDOWN (closed), -EOPNOTSUPP (AS_PSHARED semaphore on a loop without
 * AS_CAP_PSHARED; nothing changed), -EPROTO (AS_PSHARED object of another
 * layout). */
int as_sem_acquire_async(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                         as_callback cb, void *arg);
int as_sem_acquire_until(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                         uint64_t deadline_ns, as_callback cb, void *arg);
int as_sem_acquire_blocking(as_sem *s, uint32_t n, uint64_t deadline_ns);
/* Returns 0, -EINVAL (NULL, uninitialised, n == 0), -EOVERFLOW (the count
 * would pass AS_SEM_VALUE_MAX; nothing released).  Any thread.  Adds
 * permits: a semaphore's capacity can grow past its initial count. */
int as_sem_release(as_sem *s, uint32_t n);
/* Remove up to n of the permits available now (Tokio's forget_permits):
 * returns how many were removed (0 to n), or -EINVAL (NULL, uninitialised,
 * n == 0 or n > AS_SEM_VALUE_MAX).  Permits held by tasks are not touched:
 * shrink a semaphore by forgetting what holders give back.  Any thread. */
int64_t as_sem_forget(as_sem *s, uint32_t n);
int as_sem_close(as_sem *s);
/* Permits available now (a snapshot), or -EINVAL. */
int64_t as_sem_value(const as_sem *s);
/* Waits queued now (a snapshot, for load shedding: answer 503 above a
 * bound), or -EINVAL. */
int64_t as_sem_waiters(const as_sem *s);
/* Counters (exact under the queue lock; see as_counters) and a dump of
 * the queued waits: fills up to max entries, oldest first, and returns how
 * many are queued (may exceed max), or -EINVAL.  Any thread; takes the
 * queue lock for the copy. */
int as_sem_stats(const as_sem *p, as_counters *out);
int64_t as_sem_dump(const as_sem *p, as_waiter_info *out, size_t max);

/* ---------------------------------------------------------------------------
 * Named process-shared objects (Linux; docs/pshared.md section 12).  As
 * sem_open(3): unrelated processes open one semaphore (or mutex, event,
 * latch: as_mutex_open, as_event_open, as_latch_open) by name, with no mapping
 * to pass around.  The object lives in a POSIX shared memory object
 * (shm_open(3)) of AS_PSHARED_SIZE(as_sem, slots) bytes; each process maps
 * it where it likes and then uses the same calls as on any AS_PSHARED
 * semaphore (see above).  No heap: the mapping is the caller's until
 * as_pshared_unmap.
 *
 *   Names: as shm_open(3) takes them everywhere: "/" then 1 to
 *   AS_PSHARED_NAME_MAX - 1 characters, none of them '/', not "/." or
 *   "/..".  Anything else: -EINVAL.
 *   Creation: the first O_CREAT open initialises the object with its
 *   permits, flags and slots; every later open attaches (its permits are
 *   ignored, as sem_open's value) and must ask for the creator's slots and
 *   flags (-EINVAL otherwise, nothing changed).  Racing O_CREAT opens of
 *   one name initialise it once: the others attach.  An open that finds
 *   the object being initialised by another process waits for it, up to
 *   1 s (-ETIMEDOUT then).  A creator killed before it finished leaves an
 *   object that attaching opens refuse with -ETIMEDOUT (after 1 s) and the
 *   next O_CREAT open initialises (nobody can have used it).
 *   Lifetime: the object lives until as_pshared_unlink(name) and the last
 *   mapping is gone (as_pshared_unmap, or exit); unlinking keeps existing
 *   mappings valid, and a later O_CREAT makes a new object under the name.
 *   as_sem_destroy is optional (it refuses with waiters, as ever): unmap and
 *   unlink are what free the memory; after a destroy, attaching opens of
 *   the name time out and the next O_CREAT open initialises it again.
 *   Objects outlive processes: a service that creates one at start
 *   (O_CREAT | O_EXCL) unlinks the name first.
 *   Windows and non-Linux systems: -EOPNOTSUPP (after the -EINVAL checks).
 * ------------------------------------------------------------------------- */

/* The longest name, its leading '/' included (glibc refuses longer). */
#define AS_PSHARED_NAME_MAX 254u

/* Open the semaphore named `name`, creating it with oflag O_CREAT when it
 * does not exist (O_CREAT | O_EXCL: fail if it does; O_RDWR is accepted and
 * ignored; other bits: -EINVAL) with permission bits `mode` (0 to 0777,
 * less the umask, as shm_open), `permits` (at most
 * AS_PSHARED_SEM_VALUE_MAX), `flags` (0 or AS_SEM_STRICT_FIFO; AS_PSHARED
 * is implied and may be given) and `slots` more waiter slots (the k of
 * AS_PSHARED_SLOTS(k), at most AS_PSHARED_SLOTS_MAX; not in flags).
 * *out: this process's mapping of it (set on success only).
 * Returns 0, or:
 *   -EINVAL     NULL out, a bad name, oflag, mode, permits, flags or slots;
 *               or the object exists with other slots or flags
 *   -EEXIST     O_CREAT | O_EXCL and the name exists
 *   -ENOENT     no O_CREAT and the name does not exist (or its creator has
 *               not started initialising it)
 *   -EPROTO     the name holds something else: another primitive, another
 *               library layout or ABI, or a shared memory object not made
 *               by this library
 *   -ETIMEDOUT  the object exists but was not initialised within 1 s (its
 *               creator died or is stopped mid-initialisation)
 *   -EOPNOTSUPP Windows, non-Linux systems
 *   a negative errno of shm_open, ftruncate or mmap (-EACCES, -EMFILE,
 *   -ENOSPC, -ENOMEM, ...).
 * Nothing is changed on failure: an object this call created is removed
 * again. */
int as_sem_open(as_sem **out, const char *name, int oflag, unsigned mode,
                uint32_t permits, unsigned flags, unsigned slots);
/* The same for a process-shared mutex, event and latch (see their
 * sections below): for the mutex, flags AS_MUTEX_STRICT_FIFO and
 * AS_MUTEX_ROBUST (an attacher must ask for the creator's); for the event,
 * AS_EVENT_MANUAL_RESET (or not: auto-reset; an attacher must match) and
 * AS_EVENT_INITIALLY_SET (the creator's initial state: ignored on attach);
 * for the latch, `count` (at most AS_LATCH_VALUE_MAX; ignored on attach)
 * and flags 0.  AS_PSHARED is implied and may be given; `slots` is the k of
 * AS_PSHARED_SLOTS(k).  Returns and errors as as_sem_open; -EPROTO also for
 * a name that holds another primitive. */
int as_mutex_open(as_mutex **out, const char *name, int oflag, unsigned mode,
                  unsigned flags, unsigned slots);
int as_event_open(as_event **out, const char *name, int oflag, unsigned mode,
                  unsigned flags, unsigned slots);
int as_latch_open(as_latch **out, const char *name, int oflag, unsigned mode,
                  uint32_t count, unsigned flags, unsigned slots);
/* Unmap this process's mapping of a named object (obj: what as_*_open
 * returned); the object lives on for the other processes.  obj must not be
 * used afterwards (pending waits on it: undefined, as munmap of memory in
 * use).  Returns 0, -EINVAL (NULL, or not a pointer as_*_open returned,
 * where it can tell), -EOPNOTSUPP (Windows, non-Linux). */
int as_pshared_unmap(void *obj);
/* Remove the name (shm_unlink): mappings stay valid, the object is freed
 * with the last one, and the name can be created again.  Returns 0,
 * -EINVAL (bad name), -ENOENT, -EACCES, -EOPNOTSUPP (Windows, non-Linux). */
int as_pshared_unlink(const char *name);

/* ---------------------------------------------------------------------------
 * Mutex: FIFO waiters, none starves.  By default, when the oldest waiter is
 * on another loop, unlock releases the lock and wakes that waiter to take it;
 * while it is on its way (one thread wake-up), tasks that find the mutex free
 * may take it.  If the woken waiter then finds it taken, it goes back to the
 * head of the queue, where no unlock from another loop wakes it again and
 * tasks may still pass it, for at most AS_PASS_BOUND_NS (250 us); then, at
 * its own loop's timer, it takes the lock if it is free, or the next unlock
 * hands it the lock directly (eventual fairness with a time bound, as Go's
 * mutex (1 ms) and parking_lot's (0.5 ms on average) do): it never starves,
 * and a loop that keeps the lock busy runs on instead of handing it to a
 * sleeping loop every few acquisitions.  On a loop without a timer of its
 * own (notify, IOCP) or for a *_blocking thread the hand-off comes at once:
 * passed over during at most one wake-up.  A waiter on the unlocker's own
 * loop is always handed the lock directly.  AS_MUTEX_STRICT_FIFO hands
 * the lock to the head waiter on every unlock (no task ever passes a waiter;
 * each cross-loop hand-off then costs a thread wake-up while the lock is
 * held by nobody who runs).  The mutex has no owner: any task or thread may
 * unlock it.
 * Closed: lock waits end with -ESHUTDOWN, but condvar waiters re-acquiring
 * the mutex are still served (their callback needs it), and unlock works.
 *
 * Process-shared mutex (AS_PSHARED [| AS_PSHARED_SLOTS(k)] [| AS_MUTEX_ROBUST];
 * Linux; design: docs/pshared.md 3.4, 10).  Everything the process-shared
 * semaphore section above says holds for it (shared memory at any address,
 * slots and AS_PSHARED_SIZE(as_mutex, k), overflow, where async waits work:
 * -EOPNOTSUPP on a loop without AS_CAP_PSHARED, nothing changed; -EPROTO;
 * cancel, deadlines and close; stats only `waiters`, dump -EOPNOTSUPP; the
 * health check; a dead process's slots reclaimed).  Besides:
 *   - Policy: as in-process, every waiter counting as on another loop: by
 *     default an unlock with waiters frees the lock and wakes the oldest
 *     to retry (a task of any process may take the lock meanwhile; one
 *     passed over goes back to the head and is handed the lock next);
 *     AS_MUTEX_STRICT_FIFO hands the lock to the oldest on every unlock,
 *     and try_lock fails while anyone waits.
 *   - Owner: the holding *process* (its id is stored with the lock).  Any
 *     thread or task of it may unlock.  Not robust: as in-process, any
 *     process may unlock too; a holder that dies leaves it locked for good
 *     (waiters with a deadline get -ETIMEDOUT; the others wait).
 *   - AS_MUTEX_ROBUST (with AS_PSHARED only, else -EINVAL): an unlock from
 *     another process is -EPERM.  The death of the holder is noticed by
 *     the waiters' health check (10 ms to 1 s), by a blocking waiter's
 *     timeout tick, and by try_lock / lock_* / lock_blocking after a few
 *     failed attempts in a row on that holder (its liveness is read from
 *     /proc, never on the first failure).  The lock then goes to the oldest
 *     waiter, whose callback gets -EOWNERDEAD WITH THE LOCK HELD (the one
 *     negative status that comes with the lock; a blocking waiter returns
 *     it), or, with nobody waiting, to the next locker: try_lock and
 *     lock_blocking return -EOWNERDEAD, an immediate lock_async/until
 *     returns -EOWNERDEAD (or, with AS_LOOP_ALWAYS_CALLBACK, reports it to
 *     its callback), the lock held.  That owner repairs the protected data,
 *     calls as_mutex_consistent, and unlocks.  An unlock without it makes
 *     the mutex NOTRECOVERABLE: pending waits end with -ENOTRECOVERABLE and
 *     every later lock returns it.  A wait cancelled after the lock was
 *     handed to it passes it on as it got it (OWNER_DEAD included).
 *   - as_cond_wait_* with a process-shared mutex: -EOPNOTSUPP.
 * ------------------------------------------------------------------------- */

#define AS_MUTEX_STRICT_FIFO 0x1u
/* With AS_PSHARED only: the owner is a process; its death is noticed and
 * the next owner gets -EOWNERDEAD (see "Process-shared mutex" below). */
#define AS_MUTEX_ROBUST 0x2u
#define AS_MUTEX_INITIALIZER { 0, 0, AS__MAGIC_MUTEX, 0, 0, 0, NULL, NULL, AS__STATS_INIT }

/* flags: 0, AS_MUTEX_STRICT_FIFO, or AS_PSHARED [| AS_PSHARED_SLOTS(k)]
 * [| AS_MUTEX_ROBUST] [| AS_MUTEX_STRICT_FIFO] (see above).  Returns 0,
 * -EINVAL (NULL, unknown flags, AS_MUTEX_ROBUST or AS_PSHARED_SLOTS without
 * AS_PSHARED, k > AS_PSHARED_SLOTS_MAX), or -EOPNOTSUPP (AS_PSHARED where
 * process-shared objects are not built: Windows, non-Linux systems). */
int as_mutex_init(as_mutex *m, unsigned flags);
/* Returns 0, -EBUSY (locked or waiters pending; AS_PSHARED: also while a
 * loop's cohort holds its slot, until the loop handled that slot's last
 * completion), -EINVAL, -EPROTO. */
int as_mutex_destroy(as_mutex *m);
/* Returns 1 (locked), 0 (not now), -ESHUTDOWN, -EINVAL; pshared: -EPROTO,
 * and, robust, -EOWNERDEAD (locked: the previous owner died) or
 * -ENOTRECOVERABLE. */
int as_mutex_try_lock(as_mutex *m);
/* Returns 1 (locked at once), 0 (pending), -EINVAL, -EBUSY (w pending),
 * -ESHUTDOWN; pshared: -EOPNOTSUPP (loop without AS_CAP_PSHARED; nothing
 * changed), -EPROTO, and, robust, -EOWNERDEAD (locked at once: the
 * previous owner died) or -ENOTRECOVERABLE.  The callback's status: 0,
 * -ECANCELED, -ETIMEDOUT, -ESHUTDOWN, or, robust, -EOWNERDEAD (WITH the
 * lock held) or -ENOTRECOVERABLE.  lock_blocking returns the same (0 for
 * locked). */
int as_mutex_lock_async(as_mutex *m, as_loop *loop, as_wait *w,
                        as_callback cb, void *arg);
int as_mutex_lock_until(as_mutex *m, as_loop *loop, as_wait *w,
                        uint64_t deadline_ns, as_callback cb, void *arg);
int as_mutex_lock_blocking(as_mutex *m, uint64_t deadline_ns);
/* Returns 0, -EPERM (not locked; robust pshared: another process holds
 * it), -EINVAL, -EPROTO.  Any thread. */
int as_mutex_unlock(as_mutex *m);
/* Robust pshared mutex whose previous owner died: after a lock call that
 * returned (or a callback that reported) -EOWNERDEAD, with the lock held,
 * the holder restores its data and calls this (POSIX
 * pthread_mutex_consistent), then unlocks as usual.  Returns 0, -EINVAL
 * (NULL, uninitialised, or not AS_MUTEX_ROBUST), -EPERM (this process
 * does not hold it, or OWNER_DEAD is not set), -EPROTO. */
int as_mutex_consistent(as_mutex *m);
int as_mutex_close(as_mutex *m);
/* Waits queued now (a snapshot), or -EINVAL.  AS_PSHARED: slots queued, a
 * loop's cohort counting as one (AS_LOOP_PS_NO_COHORT). */
int64_t as_mutex_waiters(const as_mutex *m);
/* Counters (exact under the queue lock; see as_counters) and a dump of
 * the queued waits: fills up to max entries, oldest first, and returns how
 * many are queued (may exceed max), or -EINVAL.  Any thread; takes the
 * queue lock for the copy. */
int as_mutex_stats(const as_mutex *p, as_counters *out);
int64_t as_mutex_dump(const as_mutex *p, as_waiter_info *out, size_t max);

/* ---------------------------------------------------------------------------
 * Condition variable.  wait_async releases the mutex (which the caller holds),
 * waits for a signal, and re-acquires the mutex before the callback runs,
 * whatever the status.  Signals are not remembered: a signal with no waiter
 * does nothing, as with pthread_cond_signal.  A waiter cancelled, timed out
 * or shut down after a signal picked it passes the signal on to the next
 * waiter.  Closed: pending waits end with -ESHUTDOWN (mutex held again),
 * later waits return -ESHUTDOWN with the mutex still held.
 * ------------------------------------------------------------------------- */

#define AS_COND_INITIALIZER { 0, 0, AS__MAGIC_COND, 0, 0, 0, NULL, NULL, AS__STATS_INIT }

/* flags: 0.  Returns 0 or -EINVAL. */
int as_cond_init(as_cond *c, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL. */
int as_cond_destroy(as_cond *c);
/* Returns 0 (pending; the mutex was released), -EPERM (m not locked),
 * -EINVAL, -EBUSY (w pending), -ESHUTDOWN (c closed; m still held).  Never
 * 1: a condvar wait always waits (with AS_LOOP_ALWAYS_CALLBACK too). */
int as_cond_wait_async(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                       as_callback cb, void *arg);
/* The deadline does not include re-acquiring the mutex: a waiter whose
 * deadline passed is called back with -ETIMEDOUT once it holds m again. */
int as_cond_wait_until(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                       uint64_t deadline_ns, as_callback cb, void *arg);
/* Returns with m held again, whatever the result (as pthread_cond_wait). */
int as_cond_wait_blocking(as_cond *c, as_mutex *m, uint64_t deadline_ns);
/* Wake the oldest waiter / every waiter.  Returns 0 or -EINVAL.  Any thread. */
int as_cond_signal(as_cond *c);
int as_cond_broadcast(as_cond *c);
int as_cond_close(as_cond *c);
/* Waits queued on the condvar now (a snapshot; those re-acquiring the
 * mutex count in as_mutex_waiters), or -EINVAL. */
int64_t as_cond_waiters(const as_cond *c);
/* Counters (exact under the queue lock; see as_counters) and a dump of
 * the queued waits: fills up to max entries, oldest first, and returns how
 * many are queued (may exceed max), or -EINVAL.  Any thread; takes the
 * queue lock for the copy. */
int as_cond_stats(const as_cond *p, as_counters *out);
int64_t as_cond_dump(const as_cond *p, as_waiter_info *out, size_t max);

/* ---------------------------------------------------------------------------
 * Event.  Manual-reset: set wakes every waiter and stays set until reset.
 * Auto-reset: set wakes one waiter (oldest first), or stays set until one
 * wait consumes it (Tokio's Notify::notify_one).  broadcast wakes every
 * waiter queued now and stores nothing (Notify::notify_waiters).
 *
 * Process-shared (AS_PSHARED; Linux): the event lives in memory shared
 * between processes (as a pshared semaphore: the 96-byte struct and
 * AS_PSHARED_SLOTS(k) more 16-byte slots).  A manual-reset event's slots
 * count the parked waits of up to 3 + k processes (as_event_waiters,
 * as_event_destroy); an auto-reset event's are one per waiting task, as
 * the semaphore's (it is one: a set is a release of one permit that does
 * not add up, strict FIFO across processes; broadcast grants every slot
 * waiting then and stores nothing; waits beyond the slots are not reached
 * by a broadcast).  Every call works from any process and thread;
 * *_async / *_until need a loop with AS_CAP_PSHARED (else -EOPNOTSUPP,
 * nothing changed), each wait parking as one IORING_OP_FUTEX_WAIT on the
 * event's word; *_blocking works on any Linux.  A wait reports 0 if a set
 * or broadcast came while it was parked (even if the event was reset
 * since), -ESHUTDOWN if only the close did.  A process killed while
 * waiting takes nothing with it (its counts are reclaimed); a setter killed
 * between its change and its wake is covered by the waiters' health tick
 * (docs/pshared.md 9.1).  as_event_dump: -EOPNOTSUPP; as_event_stats fills
 * waiters only.
 * ------------------------------------------------------------------------- */

#define AS_EVENT_MANUAL_RESET  0x1u
#define AS_EVENT_INITIALLY_SET 0x2u
#define AS_EVENT_INITIALIZER(flags) \
    { ((flags) & AS_EVENT_INITIALLY_SET) ? 1u : 0u, 0, AS__MAGIC_EVENT, \
      (flags), 0, 0, NULL, NULL, AS__STATS_INIT }

/* flags: AS_EVENT_MANUAL_RESET, AS_EVENT_INITIALLY_SET; AS_PSHARED |
 * AS_PSHARED_SLOTS(k) (above).  Returns 0, -EINVAL (NULL, unknown flags,
 * k > AS_PSHARED_SLOTS_MAX) or -EOPNOTSUPP (AS_PSHARED where
 * process-shared objects are not built). */
int as_event_init(as_event *e, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL. */
int as_event_destroy(as_event *e);
/* Returns 1 (set: an auto-reset event is consumed), 0 (pending), -EINVAL,
 * -EBUSY (w pending), -ESHUTDOWN (closed). */
int as_event_wait_async(as_event *e, as_loop *loop, as_wait *w,
                        as_callback cb, void *arg);
int as_event_wait_until(as_event *e, as_loop *loop, as_wait *w,
                        uint64_t deadline_ns, as_callback cb, void *arg);
int as_event_wait_blocking(as_event *e, uint64_t deadline_ns);
/* Returns 0 or -EINVAL.  Any thread. */
int as_event_set(as_event *e);
int as_event_reset(as_event *e);
/* Wake every waiter queued now, leave the event as it is (a manual-reset
 * event that is set has no waiters).  Returns 0 or -EINVAL.  Any thread. */
int as_event_broadcast(as_event *e);
int as_event_close(as_event *e);
/* Waits queued now (a snapshot), or -EINVAL. */
int64_t as_event_waiters(const as_event *e);
/* Counters (exact under the queue lock; see as_counters) and a dump of
 * the queued waits: fills up to max entries, oldest first, and returns how
 * many are queued (may exceed max), or -EINVAL.  Any thread; takes the
 * queue lock for the copy. */
int as_event_stats(const as_event *p, as_counters *out);
int64_t as_event_dump(const as_event *p, as_waiter_info *out, size_t max);
/* Returns 1 (set), 0 (not set), -EINVAL. */
int as_event_is_set(const as_event *e);

/* ---------------------------------------------------------------------------
 * Barrier: `parties` arrivals complete a generation.  The arrival that
 * completes it is the leader: its call returns 1 (no callback; with
 * AS_LOOP_ALWAYS_CALLBACK its callback runs with status 1); the others'
 * callbacks run with 0.  The barrier is then ready for the next generation
 * (as pthread_barrier_t, C++20 std::barrier without a completion step).  A
 * party that leaves before its generation completes (cancelled, timed out,
 * closed) stops counting: the generation then needs one more arrival.
 * Caveat: an as_cancel that lands after the generation completed but before
 * the party's callback still returns 0 and the callback reports -ECANCELED
 * (a successful cancel always does), yet that party was counted and the
 * others have passed.  An application that re-arrives after -ECANCELED must
 * therefore know which generation it is in (e.g. its own count of leaders);
 * a deadline has no such case (a completed generation wins, status 0).
 * ------------------------------------------------------------------------- */

#define AS_BARRIER_PARTIES_MAX 0x7fffffffu
#define AS_BARRIER_INITIALIZER(parties) \
    { 0, 0, AS__MAGIC_BARRIER, (parties), 0, 0, NULL, NULL, AS__STATS_INIT }

/* Returns 0 or -EINVAL (NULL, parties 0 or above AS_BARRIER_PARTIES_MAX). */
int as_barrier_init(as_barrier *b, uint32_t parties);
/* Returns 0, -EBUSY (parties waiting), -EINVAL. */
int as_barrier_destroy(as_barrier *b);
/* Returns 1 (this arrival completed the generation: the leader; no
 * callback), 0 (pending), -EINVAL, -EBUSY (w pending), -ESHUTDOWN. */
int as_barrier_wait_async(as_barrier *b, as_loop *loop, as_wait *w,
                          as_callback cb, void *arg);
int as_barrier_wait_until(as_barrier *b, as_loop *loop, as_wait *w,
                          uint64_t deadline_ns, as_callback cb, void *arg);
/* Returns 1 (the leader), 0, -ETIMEDOUT, -ESHUTDOWN or -EINVAL. */
int as_barrier_wait_blocking(as_barrier *b, uint64_t deadline_ns);
int as_barrier_close(as_barrier *b);
/* Parties waiting now (a snapshot), or -EINVAL. */
int64_t as_barrier_waiters(const as_barrier *b);
/* Counters (exact under the queue lock; see as_counters) and a dump of
 * the queued waits: fills up to max entries, oldest first, and returns how
 * many are queued (may exceed max), or -EINVAL.  Any thread; takes the
 * queue lock for the copy. */
int as_barrier_stats(const as_barrier *p, as_counters *out);
int64_t as_barrier_dump(const as_barrier *p, as_waiter_info *out, size_t max);

/* ---------------------------------------------------------------------------
 * Latch: a count-down latch and a wait group in one (C++20 std::latch, Go's
 * sync.WaitGroup).  A wait completes when the count is 0: at once if it is
 * (returns 1), else when count_down takes it to 0, which wakes every waiter
 * queued then.  add() raises the count; raising it from 0 re-arms the latch.
 * ------------------------------------------------------------------------- */

#define AS_LATCH_VALUE_MAX 0x3fffffffu
#define AS_LATCH_INITIALIZER(count) \
    { (count), 0, AS__MAGIC_LATCH, 0, 0, 0, NULL, NULL, AS__STATS_INIT }

/* Returns 0 or -EINVAL (NULL, count above AS_LATCH_VALUE_MAX). */
int as_latch_init(as_latch *l, uint32_t count);
/* as_latch_init with flags: 0, or AS_PSHARED | AS_PSHARED_SLOTS(k): a
 * latch in memory shared between processes (Linux; as the process-shared
 * event above: the slots count the parked waits of up to 3 + k
 * processes; *_async / *_until need AS_CAP_PSHARED, *_blocking works on
 * any Linux; a wait reports 0 if the count reached 0 while it was parked,
 * even if add() raised it since).  A process that dies owing its
 * count_down leaves the count up: waits wait for their deadline.  Returns
 * 0, -EINVAL (NULL, count too large, unknown flags) or -EOPNOTSUPP
 * (AS_PSHARED where process-shared objects are not built). */
int as_latch_init_flags(as_latch *l, uint32_t count, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL. */
int as_latch_destroy(as_latch *l);
/* Returns 0, -ERANGE (n is more than the count: nothing changed), -EINVAL
 * (NULL, uninitialised, n == 0 or above AS_LATCH_VALUE_MAX).  Any thread. */
int as_latch_count_down(as_latch *l, uint32_t n);
/* Returns 0, -EOVERFLOW (the count would pass AS_LATCH_VALUE_MAX: nothing
 * changed), -EINVAL (NULL, uninitialised, n == 0).  Any thread. */
int as_latch_add(as_latch *l, uint32_t n);
/* Returns 1 (the count is 0), 0 (pending), -EINVAL, -EBUSY (w pending),
 * -ESHUTDOWN. */
int as_latch_wait_async(as_latch *l, as_loop *loop, as_wait *w,
                        as_callback cb, void *arg);
int as_latch_wait_until(as_latch *l, as_loop *loop, as_wait *w,
                        uint64_t deadline_ns, as_callback cb, void *arg);
int as_latch_wait_blocking(as_latch *l, uint64_t deadline_ns);
int as_latch_close(as_latch *l);
/* The count now (a snapshot), or -EINVAL. */
int64_t as_latch_value(const as_latch *l);
/* Waits queued now (a snapshot), or -EINVAL. */
int64_t as_latch_waiters(const as_latch *l);
/* Counters (exact under the queue lock; see as_counters) and a dump of
 * the queued waits: fills up to max entries, oldest first, and returns how
 * many are queued (may exceed max), or -EINVAL.  Any thread; takes the
 * queue lock for the copy. */
int as_latch_stats(const as_latch *p, as_counters *out);
int64_t as_latch_dump(const as_latch *p, as_waiter_info *out, size_t max);

/* ---------------------------------------------------------------------------
 * Read-write lock: fair by phases, with upgradable reads.
 *
 * Waiters are served in arrival order: consecutive queued readers are
 * admitted together, a writer alone; a reader arriving after a queued
 * writer waits for that writer, and neither readers nor writers starve.
 * Across loops, by default (eventual fairness with a time bound, the
 * mutex's policy; AS_RWLOCK_EVENTUAL_FAIR names it): when the waiters at
 * the head are on another loop than the thread that releases, they are
 * woken to take the lock rather than handed it (a writer, or the batch of
 * readers at the head); while they are on their way, a task that finds the
 * lock compatible with its holders may take it, except a reader while a
 * writer (or an upgrade, or a waiter passed over for its bound) heads the
 * queue.  A woken waiter that then finds the lock taken goes back to the
 * head of the queue, where no release from another loop wakes it again and
 * tasks may still pass it (readers too), for at most AS_PASS_BOUND_NS (250
 * us); then, at its own loop's timer, it takes the lock if it is
 * compatible, or the next release hands it the lock directly and no task
 * passes it meanwhile: it never starves, and a loop that keeps the lock
 * busy runs on instead of handing it to a sleeping loop every few
 * acquisitions.  On a loop without a timer of its own (notify, IOCP) or
 * for a *_blocking thread the hand-off comes at once: passed over during
 * at most one wake-up.  Waiters on the releaser's own loop, and upgrades,
 * are always handed the lock directly.  AS_RWLOCK_STRICT_FIFO hands the
 * lock to the waiters at the head on every release, whatever loop they are
 * on, so no newcomer passes a queued waiter; a hand-off to a loop that
 * sleeps keeps the lock held by nobody who runs for a thread wake-up (each
 * cross-loop hand-off a thread wake-up: bench_rwlock measures 3-10x less
 * throughput with 2 and 4 loops).
 *
 * Upgradable read (as async-lock's): shared with plain readers, exclusive
 * with writers and with another upgradable reader.  Its holder may upgrade
 * to the writer: try_upgrade succeeds when it is the only reader left;
 * upgrade_async waits for the plain readers to leave, ahead of every queued
 * waiter, and while it waits new readers queue, so it cannot starve.  Its
 * callback: 0, now the writer (as_rwlock_write_unlock or
 * as_rwlock_downgrade follow); -ECANCELED, -ETIMEDOUT or -ESHUTDOWN, still
 * the holder of the upgradable read.  A cancel that comes after the grant
 * returns the holder to its upgradable read (CANCELLATION).
 * A granted-but-cancelled read, write or upgradable read is given back as
 * its unlock would.
 *
 * as_rwlock_downgrade turns the writer into a reader atomically and admits
 * the readers queued at the head behind it (and an upgradable reader among
 * them; by default, those on other loops are woken to take their
 * share).  The lock has no owner: any task or thread may unlock
 * it; an unlock of a share not held (no reader, no writer, no upgradable
 * reader) returns -EPERM.  Closed: queued waits (upgrades too) end with -ESHUTDOWN,
 * later waits, try_* and upgrades return -ESHUTDOWN; unlocks and downgrade
 * still work.  Readers held at once: up to 2^25 - 1 (then a reader waits).
 * ------------------------------------------------------------------------- */

typedef struct as_rwlock as_rwlock;
struct as_rwlock { AS__PRIM_FIELDS; };

#define AS__MAGIC_RWLOCK 0x52574c31u
#define AS_RWLOCK_INITIALIZER { 0, 0, AS__MAGIC_RWLOCK, 0, 0, 0, NULL, NULL, AS__STATS_INIT }

/* Strict hand-off across loops (above). */
#define AS_RWLOCK_STRICT_FIFO 0x1u
/* Eventual fairness across loops: the default (the flag names it). */
#define AS_RWLOCK_EVENTUAL_FAIR 0x2u

/* flags: 0, AS_RWLOCK_EVENTUAL_FAIR (the same) or AS_RWLOCK_STRICT_FIFO.
 * Returns 0 or -EINVAL (NULL, unknown flags, or both). */
int as_rwlock_init(as_rwlock *rw, unsigned flags);
/* Returns 0, -EBUSY (held, waiters pending, or a waiter woken to take it on
 * its way: not with AS_RWLOCK_STRICT_FIFO), -EINVAL. */
int as_rwlock_destroy(as_rwlock *rw);
/* Returns 1 (acquired), 0 (not now: held incompatibly, or waiters queued),
 * -ESHUTDOWN, -EINVAL. */
int as_rwlock_try_read(as_rwlock *rw);
int as_rwlock_try_write(as_rwlock *rw);
int as_rwlock_try_upgradable_read(as_rwlock *rw);
/* Returns 1 (acquired at once), 0 (pending), -EINVAL, -EBUSY (w pending),
 * -ESHUTDOWN. */
int as_rwlock_read_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                         as_callback cb, void *arg);
int as_rwlock_read_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                         uint64_t deadline_ns, as_callback cb, void *arg);
int as_rwlock_read_blocking(as_rwlock *rw, uint64_t deadline_ns);
int as_rwlock_write_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                          as_callback cb, void *arg);
int as_rwlock_write_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                          uint64_t deadline_ns, as_callback cb, void *arg);
int as_rwlock_write_blocking(as_rwlock *rw, uint64_t deadline_ns);
int as_rwlock_upgradable_read_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                                    as_callback cb, void *arg);
int as_rwlock_upgradable_read_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                                    uint64_t deadline_ns, as_callback cb,
                                    void *arg);
int as_rwlock_upgradable_read_blocking(as_rwlock *rw, uint64_t deadline_ns);
/* Upgrade the upgradable read to the writer.  try: 1 (now the writer), 0
 * (other readers hold it), -EPERM (no upgradable read held), -ESHUTDOWN,
 * -EINVAL.  async/until/blocking: as the other waits, and -EPERM (no
 * upgradable read held), -EBUSY (also: an upgrade is already pending). */
int as_rwlock_try_upgrade(as_rwlock *rw);
int as_rwlock_upgrade_async(as_rwlock *rw, as_loop *loop, as_wait *w,
                            as_callback cb, void *arg);
int as_rwlock_upgrade_until(as_rwlock *rw, as_loop *loop, as_wait *w,
                            uint64_t deadline_ns, as_callback cb, void *arg);
int as_rwlock_upgrade_blocking(as_rwlock *rw, uint64_t deadline_ns);
/* Returns 0, -EPERM (that share is not held), -EINVAL.  Any thread.
 * upgradable_read_unlock: -EBUSY while an upgrade of it is pending (cancel
 * it first). */
int as_rwlock_read_unlock(as_rwlock *rw);
int as_rwlock_write_unlock(as_rwlock *rw);
int as_rwlock_upgradable_read_unlock(as_rwlock *rw);
/* Writer to reader, atomically.  Returns 0, -EPERM (no writer), -EINVAL.
 * Any thread. */
int as_rwlock_downgrade(as_rwlock *rw);
int as_rwlock_close(as_rwlock *rw);
/* Waits queued now (upgrades included; a snapshot), or -EINVAL. */
int64_t as_rwlock_waiters(const as_rwlock *rw);
/* Counters and a dump of the queued waits (as as_sem_stats/as_sem_dump). */
int as_rwlock_stats(const as_rwlock *p, as_counters *out);
int64_t as_rwlock_dump(const as_rwlock *p, as_waiter_info *out, size_t max);

/* ---------------------------------------------------------------------------
 * Windows: loops bound to an I/O completion port.  Declared everywhere so
 * portable code compiles; elsewhere they return -EOPNOTSUPP / false.
 *
 *   ```c
 *   HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
 *   as_loop loop;
 *   as_loop_init_iocp(&loop, port, NULL);
 *   for (;;) {
 *       OVERLAPPED_ENTRY e[64];
 *       ULONG n = 0;
 *       int64_t t;
 *       as_loop_run(&loop);                     // run ready callbacks
 *       t = as_loop_timeout_ns(&loop);          // deadlines of its waits
 *       GetQueuedCompletionStatusEx(port, e, 64, &n,
 *           t < 0 ? INFINITE : (DWORD)((t + 999999) / 1000000), FALSE);
 *       for (ULONG i = 0; i < n; i++)
 *           if (!as_loop_handle_completion(&loop, &e[i]))
 *               handle_own(&e[i]);
 *   }
 *   ```
 *
 * A wake from another thread arrives as one completion packet posted to the
 * port (PostQueuedCompletionStatus), whatever the number of waits it
 * completes; the packet's completion key is the loop's address and its
 * lpOverlapped points inside the loop, so it never matches one of the
 * application's own OVERLAPPEDs.  If the system refuses a post (memory
 * pressure), the waker keeps the wake queued and retries until the post is
 * accepted or the loop has picked the wake up on its own.
 * ------------------------------------------------------------------------- */

/* Bind a loop to a completion port (a HANDLE passed as void *, so this header
 * does not include <windows.h>).  The port stays the application's: the
 * library only posts to it, and never closes it: close it only after
 * as_loop_destroy returned 0.  Returns 0, -EINVAL (NULL loop or port,
 * INVALID_HANDLE_VALUE, a handle that is not a completion port, bad
 * options), -EBADF (port is not an open handle), -EOPNOTSUPP (not
 * Windows).  as_loop_backend() says "iocp".  ASYNCSYNC_BACKEND is not
 * consulted: a port has one backend.  Threading: any thread; the loop then
 * belongs to the thread that runs it. */
int as_loop_init_iocp(as_loop *loop, void *port, const as_loop_options *opts);

/* Offer one dequeued completion (an OVERLAPPED_ENTRY * from
 * GetQueuedCompletionStatusEx, passed as const void *) to the loop.  Returns
 * true when the packet was the library's (consumed: do not process it
 * further), false for the application's own packets and NULL arguments.
 * as_loop_destroy returns -EAGAIN while wake packets of the loop are still
 * in the port: keep dequeuing and offering them, then call it again.
 * Threading: the loop's thread. */
bool as_loop_handle_completion(as_loop *loop, const void *entry);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCSYNC_H */
