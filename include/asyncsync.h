/*
 * asyncsync: asynchronous synchronization primitives for completion-based
 * event loops.  SPDX-License-Identifier: MIT
 *
 * OVERVIEW
 *
 *   A task that would block on a semaphore, mutex, condition variable or event
 *   hands the library a caller-owned wait request (as_wait) and a callback
 *   instead.  The call returns at once; the callback runs later, on the thread
 *   of the loop the wait was bound to, when the wait is satisfied.  On Linux a
 *   loop is bound to the application's own io_uring ring, so lock waits and
 *   I/O complete through one completion queue.
 *
 *   Integration, in a loop that owns `ring`:
 *
 *       as_loop loop;
 *       as_loop_init_uring(&loop, &ring, NULL);
 *       for (;;) {
 *           as_loop_run(&loop);                   // run ready callbacks
 *           io_uring_submit_and_wait(&ring, 1);   // also submits our SQEs
 *           io_uring_for_each_cqe(&ring, head, cqe) {
 *               if (!as_loop_handle_cqe(&loop, cqe))
 *                   handle_own(cqe);
 *               n++;
 *           }
 *           io_uring_cq_advance(&ring, n);
 *       }
 *
 * OWNERSHIP
 *
 *   Every object (as_loop, as_wait, as_sem, as_mutex, as_cond, as_event) is
 *   allocated by the caller: on the stack, inside the caller's own structs or
 *   in static storage.  No call allocates memory.
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
 *   (semaphore, mutex) or signalled (condvar, event); -ECANCELED means the wait
 *   was cancelled before it was satisfied.  A callback runs exactly once per
 *   wait that went pending, from as_loop_run() on the thread running the
 *   wait's loop, never inside the call that released, signalled or cancelled,
 *   and never with a library lock held.  A condvar callback always runs with
 *   the mutex held again, whatever its status.
 *
 * RETURN VALUES
 *
 *   Every *_async call first tries the fast path: it returns 1 when the wait
 *   was satisfied at once (the callback is not called), 0 when the wait is
 *   pending (the callback will be called), or a negative errno (the callback
 *   is not called and nothing changed).  Calls that change state return 0 or
 *   a negative errno; try_* and is_set return 1 (yes), 0 (no) or a negative
 *   errno.  Errors are negative errno values on every platform; compare them
 *   by name (-EBUSY), never by number.  as_strerror() names them.
 *
 * THREADING
 *
 *   as_loop_run, as_loop_handle_cqe, as_loop_destroy, *_async and as_cancel
 *   are called on the loop's thread (the thread that runs as_loop_run for that
 *   loop).  Release, unlock, signal, broadcast, set and reset may be called
 *   from any thread, including threads that run no loop.  Primitives may be
 *   shared by any number of loops on any number of threads.
 *
 *   A wake between tasks of the same loop costs no system call.  A wake that
 *   crosses threads is one futex wake; when the releasing thread runs a
 *   uring loop and the target is a uring loop, the wake is an SQE on the
 *   releaser's ring (an IORING_OP_MSG_RING message to the target's ring),
 *   which rides that loop's next submission: a loop must submit before it
 *   blocks, as io_uring loops do, and keep handling its CQEs.
 *
 * MEMORY ORDERING
 *
 *   Acquiring a semaphore or mutex (fast path or callback with status 0)
 *   synchronizes-with the release/unlock that made it available: everything
 *   the releaser wrote before releasing is visible to the acquirer.  Likewise
 *   an event wait that completes with 0 sees what was written before
 *   as_event_set, and a condvar waiter sees what was written under the mutex.
 *
 * IO_URING COMPLETIONS
 *
 *   The library's CQEs carry a user_data that is an address inside the
 *   as_loop (its own address or one of its fields) plus a tag from 1 to 7.
 *   An application must not use such values for its own SQEs;
 *   as_loop_handle_cqe() recognises them and returns true.
 */
#ifndef ASYNCSYNC_H
#define ASYNCSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    as_callback as__cb;
    void *as__arg;
    void *as__obj;              /* the primitive it waits on */
    void *as__aux;              /* condvar: the mutex to re-acquire */
    uint32_t as__n;             /* semaphore: permits requested */
    int32_t as__status;
    uint32_t as__state;         /* atomic */
    uint32_t as__flags;
};

/* Options for as_loop_init_*; pass NULL for the defaults. */
struct as_loop_options {
    uint32_t flags;             /* reserved: must be 0 */
    uint32_t disabled_caps;     /* AS_CAP_* bits this loop must not use */
};

/* Capabilities a loop may use (as_loop_caps).  Disabling one forces the
 * degraded path, for tests and for users who hit a kernel bug. */
#define AS_CAP_FUTEX_WAIT 0x1u  /* park as IORING_OP_FUTEX_WAIT (uring backend) */
#define AS_CAP_RING_WAKE  0x2u  /* wake other uring loops with a message
                                   (MSG_RING SQE) on this loop's ring
                                   instead of futex(2) */

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
    uint32_t as__flags;         /* loop thread only: armed, closing... */
    int32_t as__efd;            /* generic backend on a ring: eventfd */
    uint64_t as__efd_buf;
    void *as__port;             /* iocp backend: the completion port (HANDLE) */
    as_loop *as__msg_to[16];    /* uring: target of each wake message in flight */
    uint32_t as__msg_busy;      /* uring: bitmap of busy as__msg_to slots */
    /* Written by other threads: kept off the loop thread's cache line by
     * padding, not by alignment, so a malloc()ed as_loop is fine. */
    char as__pad[64];
    as_wait *as__inbox;         /* atomic: MPSC stack of completions */
    uint32_t as__bell;          /* atomic: doorbell (futex word) */
    uint32_t as__wakers;        /* atomic: other threads inside a delivery */
    uint32_t as__posted;        /* atomic, iocp: wake packets not yet handled */
    uint32_t as__msgs;          /* atomic, uring: wake messages on their way here */
};

struct as_sem {
    uint32_t as__word;          /* atomic: permits | waiters bit */
    uint32_t as__lock;          /* atomic: waiter-queue lock */
    uint32_t as__magic;
    uint32_t as__flags;
    as_wait *as__head;
    as_wait *as__tail;
};

struct as_mutex {
    uint32_t as__word;          /* atomic: locked | waiters | woken bits */
    uint32_t as__lock;
    uint32_t as__magic;
    uint32_t as__flags;
    as_wait *as__head;
    as_wait *as__tail;
};

struct as_cond {
    uint32_t as__word;          /* atomic: waiters bit */
    uint32_t as__lock;
    uint32_t as__magic;
    uint32_t as__flags;
    as_wait *as__head;
    as_wait *as__tail;
};

struct as_event {
    uint32_t as__word;          /* atomic: set | waiters bits */
    uint32_t as__lock;
    uint32_t as__magic;
    uint32_t as__flags;
    as_wait *as__head;
    as_wait *as__tail;
};

/* Private: values behind the static initialisers. */
#define AS__MAGIC_SEM   0x53454d31u
#define AS__MAGIC_MUTEX 0x4d545831u
#define AS__MAGIC_COND  0x434e4431u
#define AS__MAGIC_EVENT 0x45564e31u

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

/* The name and meaning of a negative errno returned by this library, e.g.
 * "ECANCELED: wait cancelled".  Never NULL. */
const char *as_strerror(int err);

/* ---------------------------------------------------------------------------
 * Loops
 * ------------------------------------------------------------------------- */

/* Bind `loop` to the application's io_uring `ring`.
 * Backend: "uring" (IORING_OP_FUTEX_WAIT/WAKE, Linux 6.7+) when the kernel and
 * ring support it, else "generic" (an eventfd read armed on the ring).
 * ASYNCSYNC_BACKEND=uring|generic forces the choice; forcing "uring" where
 * the kernel lacks the futex opcodes fails with -EOPNOTSUPP.  The kernel is
 * asked through `ring` at every call, so a broken ring decides nothing for
 * later loops.
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
 * uring|generic|auto), -EBUSY (the loop is initialised: destroy it first),
 * -EBADF (the ring's fd is closed or is not an io_uring), -EOPNOTSUPP
 * (IORING_SETUP_IOPOLL ring, forced backend unavailable, or not built for
 * Linux), or a negative errno from the kernel.  Nothing changes on error. */
int as_loop_init_uring(as_loop *loop, struct io_uring *ring,
                       const as_loop_options *opts);

/* Bind `loop` to any event loop: the library calls notify(ctx), from any
 * thread, when the loop has callbacks to run; the loop then calls
 * as_loop_run() on its own thread.  notify must not call back into the
 * library.  Backend: "generic".  Availability: every platform.
 * Returns 0, -EINVAL (NULL loop or notify, unknown option bits) or -EBUSY
 * (the loop is initialised: destroy it first). */
int as_loop_init_generic(as_loop *loop, void (*notify)(void *ctx), void *ctx,
                         const as_loop_options *opts);

/* Offer a CQE from the loop's ring to the library.  Returns true when it was
 * the library's (the application still marks it seen), false otherwise
 * (including NULL arguments).  A late CQE of ours that arrives after the loop
 * was destroyed (same addresses, tag 1-7) is still recognised and swallowed.
 * Threading: the loop's thread. */
bool as_loop_handle_cqe(as_loop *loop, const struct io_uring_cqe *cqe);

/* Run the callbacks that are ready, including those that become ready while
 * it runs, then make sure a wake from another thread will reach the loop
 * while it sleeps (for a uring loop: an SQE on its ring, submitted by the
 * application's next submit).  Call once per loop iteration, after the
 * iteration's own work (CQE handlers, timers) and before the loop blocks: a
 * hand-off to a waiter of this loop made on this thread is a plain list
 * append that no CQE announces, so one made after as_loop_run returned waits
 * for the next as_loop_run.  (A notify-driven loop is notified of it.)
 * Returns how many callbacks ran, or -EINVAL.
 * Threading: the loop's thread. */
int as_loop_run(as_loop *loop);

/* Tear the loop down.  Returns 0 (done: the memory may be reused),
 * -EBUSY (waits bound to this loop are still pending; nothing changed),
 * -EAGAIN (the library still has an operation armed on the ring: it has been
 * cancelled; process the ring's completions through as_loop_handle_cqe and
 * call again; on an IOCP loop: wake packets are still in the port, dequeue
 * them through as_loop_handle_completion and call again), or -EINVAL (NULL
 * or not initialised).  Inside one of the loop's own callbacks (the loop is
 * still running) it returns -EBUSY: destroy it after as_loop_run returned.
 * Threading: the loop's thread (or, once that thread stopped running it,
 * the thread that takes over; a call that returns -EBUSY changes nothing,
 * including which thread the loop belongs to). */
int as_loop_destroy(as_loop *loop);

/* "uring", "generic" or "iocp"; NULL for NULL or an uninitialised loop. */
const char *as_loop_backend(const as_loop *loop);

/* The AS_CAP_* bits this loop uses; 0 for NULL. */
unsigned as_loop_caps(const as_loop *loop);

/* Cancel a pending wait.  Returns 0 when the wait was pending: its callback
 * will run once, with -ECANCELED, or with 0 if it had already been satisfied
 * (the permit, lock or signal was handed to it and is not lost).  Returns
 * -ENOENT when the wait is not pending, -EINVAL for NULL.  A cancelled wait
 * never swallows a permit or wake-up meant for another waiter.
 * Threading: the waiter's loop thread. */
int as_cancel(as_wait *w);

/* True (1) while `w` is owned by the library (between an *_async call that
 * returned 0 and its callback), 0 otherwise. */
int as_wait_pending(const as_wait *w);

/* ---------------------------------------------------------------------------
 * Semaphore: weighted, FIFO-fair.  A request that cannot be met at once
 * queues behind earlier ones, so a large request at the head is never starved
 * by small ones; a release hands permits to waiters in arrival order.
 * ------------------------------------------------------------------------- */

#define AS_SEM_VALUE_MAX 0x7fffffffu
#define AS_SEM_INITIALIZER(permits) \
    { (permits), 0, AS__MAGIC_SEM, 0, NULL, NULL }

/* flags: 0.  Returns 0, -EINVAL (NULL, permits > AS_SEM_VALUE_MAX, flags),
 * -EBUSY (already initialised). */
int as_sem_init(as_sem *s, uint32_t permits, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL (NULL or not initialised). */
int as_sem_destroy(as_sem *s);
/* Returns 1 (acquired n), 0 (not now: too few permits or earlier waiters),
 * -EINVAL (NULL, uninitialised, n == 0 or n > AS_SEM_VALUE_MAX). */
int as_sem_try_acquire(as_sem *s, uint32_t n);
/* Returns 1 (acquired at once), 0 (pending), -EINVAL (NULL s/loop/w/cb,
 * uninitialised, n == 0 or n > AS_SEM_VALUE_MAX), -EBUSY (w is pending). */
int as_sem_acquire_async(as_sem *s, as_loop *loop, as_wait *w, uint32_t n,
                         as_callback cb, void *arg);
/* Returns 0, -EINVAL (NULL, uninitialised, n == 0), -EOVERFLOW (the count
 * would pass AS_SEM_VALUE_MAX; nothing released).  Any thread. */
int as_sem_release(as_sem *s, uint32_t n);
/* Permits available now (a snapshot), or -EINVAL. */
int64_t as_sem_value(const as_sem *s);

/* ---------------------------------------------------------------------------
 * Mutex: FIFO waiters, none starves.  By default, when the oldest waiter is
 * on another loop, unlock releases the lock and wakes that waiter to take it;
 * while it is on its way (one thread wake-up), tasks that find the mutex free
 * may take it.  If the woken waiter then finds it taken, it goes back to the
 * head of the queue and the next unlock hands it the lock directly: a waiter
 * is passed over during at most one wake-up (eventual fairness, as Go's and
 * parking_lot's mutexes do), and never starves.  A waiter on the unlocker's
 * own loop is always handed the lock directly.  AS_MUTEX_STRICT_FIFO hands
 * the lock to the head waiter on every unlock (no task ever passes a waiter;
 * each cross-loop hand-off then costs a thread wake-up while the lock is
 * held by nobody who runs).  The mutex has no owner: any task or thread may
 * unlock it.
 * ------------------------------------------------------------------------- */

#define AS_MUTEX_STRICT_FIFO 0x1u
#define AS_MUTEX_INITIALIZER { 0, 0, AS__MAGIC_MUTEX, 0, NULL, NULL }

/* flags: 0 or AS_MUTEX_STRICT_FIFO.  Returns 0, -EINVAL, -EBUSY. */
int as_mutex_init(as_mutex *m, unsigned flags);
/* Returns 0, -EBUSY (locked or waiters pending), -EINVAL. */
int as_mutex_destroy(as_mutex *m);
/* Returns 1 (locked), 0 (not now), -EINVAL. */
int as_mutex_try_lock(as_mutex *m);
/* Returns 1 (locked at once), 0 (pending), -EINVAL, -EBUSY (w pending). */
int as_mutex_lock_async(as_mutex *m, as_loop *loop, as_wait *w,
                        as_callback cb, void *arg);
/* Returns 0, -EPERM (not locked), -EINVAL.  Any thread. */
int as_mutex_unlock(as_mutex *m);

/* ---------------------------------------------------------------------------
 * Condition variable.  wait_async releases the mutex (which the caller holds),
 * waits for a signal, and re-acquires the mutex before the callback runs,
 * whatever the status.  Signals are not remembered: a signal with no waiter
 * does nothing, as with pthread_cond_signal.
 * ------------------------------------------------------------------------- */

#define AS_COND_INITIALIZER { 0, 0, AS__MAGIC_COND, 0, NULL, NULL }

/* flags: 0.  Returns 0, -EINVAL, -EBUSY. */
int as_cond_init(as_cond *c, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL. */
int as_cond_destroy(as_cond *c);
/* Returns 0 (pending; the mutex was released), -EPERM (m not locked),
 * -EINVAL, -EBUSY (w pending).  Never 1: a condvar wait always waits. */
int as_cond_wait_async(as_cond *c, as_mutex *m, as_loop *loop, as_wait *w,
                       as_callback cb, void *arg);
/* Wake the oldest waiter / every waiter.  Returns 0 or -EINVAL.  Any thread. */
int as_cond_signal(as_cond *c);
int as_cond_broadcast(as_cond *c);

/* ---------------------------------------------------------------------------
 * Event.  Manual-reset: set wakes every waiter and stays set until reset.
 * Auto-reset: set wakes one waiter (oldest first), or stays set until one
 * wait consumes it.
 * ------------------------------------------------------------------------- */

#define AS_EVENT_MANUAL_RESET  0x1u
#define AS_EVENT_INITIALLY_SET 0x2u
#define AS_EVENT_INITIALIZER(flags) \
    { ((flags) & AS_EVENT_INITIALLY_SET) ? 1u : 0u, 0, AS__MAGIC_EVENT, \
      (flags), NULL, NULL }

/* Returns 0, -EINVAL (NULL, unknown flags), -EBUSY (already initialised). */
int as_event_init(as_event *e, unsigned flags);
/* Returns 0, -EBUSY (waiters pending), -EINVAL. */
int as_event_destroy(as_event *e);
/* Returns 1 (set: an auto-reset event is consumed), 0 (pending), -EINVAL,
 * -EBUSY (w pending). */
int as_event_wait_async(as_event *e, as_loop *loop, as_wait *w,
                        as_callback cb, void *arg);
/* Returns 0 or -EINVAL.  Any thread. */
int as_event_set(as_event *e);
int as_event_reset(as_event *e);
/* Returns 1 (set), 0 (not set), -EINVAL. */
int as_event_is_set(const as_event *e);

/* ---------------------------------------------------------------------------
 * Windows: loops bound to an I/O completion port.  Declared everywhere so
 * portable code compiles; elsewhere they return -EOPNOTSUPP / false.
 *
 *   HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
 *   as_loop loop;
 *   as_loop_init_iocp(&loop, port, NULL);
 *   for (;;) {
 *       OVERLAPPED_ENTRY e[64];
 *       ULONG n = 0;
 *       as_loop_run(&loop);                     // run ready callbacks
 *       GetQueuedCompletionStatusEx(port, e, 64, &n, INFINITE, FALSE);
 *       for (ULONG i = 0; i < n; i++)
 *           if (!as_loop_handle_completion(&loop, &e[i]))
 *               handle_own(&e[i]);
 *   }
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
 * options), -EBADF (port is not an open handle), -EBUSY (loop already
 * initialised), -EOPNOTSUPP (not Windows).  as_loop_backend() says "iocp".  ASYNCSYNC_BACKEND is not
 * consulted: a port has one backend.  Threading: the loop's thread. */
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
