/* Internal declarations shared by the primitives, the loop and the backends.
 *
 * LAYERS
 *
 *   primitives (sem.c mutex.c cond.c event.c)
 *       state machines on one 32-bit atomic word; the uncontended path is one
 *       CAS and touches nothing else.  A wait that cannot be satisfied parks
 *       in the primitive's waiter queue (waitq.h).
 *   waiter queue (waitq.h, waitq.c)
 *       an intrusive FIFO of as_wait per primitive; a waiter leaves it only
 *       with its outcome decided (granted, signalled or cancelled) and is then
 *       *finished*: handed to its loop by as__wait_finish().
 *   loop (loop.c)
 *       ready list (loop thread only) and inbox (lock-free MPSC stack filled
 *       by other threads), the doorbell word, callbacks.  Finishing a wait on
 *       the loop's own thread is a ready-list push: no atomic RMW, no system
 *       call.  From another thread it is an inbox push plus, when the inbox
 *       doorbell was quiet, one backend wake.
 *   backends (backend/uring.c, backend/generic.c, backend/iocp.c): the
 *       vtable below.  A backend knows loops and doorbells, nothing of
 *       semaphores: it makes a sleeping loop notice that its doorbell rang.
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

/* ---- wait states (as_wait.as__state, atomic) ----
 *
 * A wait is busy (owned by the library) while its state carries the magic in
 * the upper bits; anything else, including zero and stack garbage, is idle.
 *
 *   IDLE ──*_async returns 0──▶ QUEUED ──grant/signal/cancel──▶ DONE ──▶ callback, IDLE
 *                                  │                              ▲
 *                                  └──mutex: woken to retry──▶ RESUME ──(retry: acquire,
 *                                                                 or back to QUEUED)
 *
 *   QUEUED  in the queue of w->as__obj; only that queue's lock holder moves it
 *   DONE    off every queue, outcome in as__status, on its way to (or in) its
 *           loop's inbox or ready list; nothing but the loop touches it
 *   RESUME  off the queue, on its way to its loop, where the primitive resumes
 *           it on the waiter's thread (as__wait_resume) instead of calling back
 */
#define AS__W_MAGIC 0x5a17e100u
#define AS__W_QUEUED (AS__W_MAGIC | 1u)
#define AS__W_DONE (AS__W_MAGIC | 2u)
#define AS__W_RESUME (AS__W_MAGIC | 3u)
#define AS__W_IDLE 0u

static inline bool as__wait_busy(uint32_t state)
{
    return (state & 0xffffff00u) == AS__W_MAGIC;
}

/* as_wait.as__flags: what the wait is for, plus per-wait protocol bits.
 * Written only by the thread that holds the wait's queue lock, or by the
 * loop thread while the wait is DONE/RESUME and in no queue. */
#define AS__F_KIND_MASK 0x7u
#define AS__F_SEM 1u
#define AS__F_MUTEX 2u
#define AS__F_COND 3u
#define AS__F_EVENT 4u

#define AS__F_CANCEL_REQ 0x10u /* cancelled while RESUME: give up on arrival */
#define AS__F_STARVING 0x20u  /* mutex: passed over once, hand it the lock */

/* ---- primitives share one layout: word, lock, magic, flags, head, tail ---- */
typedef struct as__prim {
    uint32_t word;
    uint32_t lock;
    uint32_t magic;
    uint32_t flags;
    as_wait *head;
    as_wait *tail;
} as__prim;

/* ---- backend vtable (one const table per backend) ---- */
enum {
    AS__TAG_BELL = 1,   /* the loop's armed doorbell wait/read */
    AS__TAG_WAKE = 2,   /* a wake message this loop sent (MSG_RING):
                           user_data = &as__msg_to[slot] */
    AS__TAG_CANCEL = 3, /* ASYNC_CANCEL of the doorbell */
    AS__TAG_MSG = 4,    /* a wake message another loop's ring posted here */
    AS__TAG_MSGWAIT = 5, /* teardown: FUTEX_WAIT on as__msgs */
};

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
    /* Loop thread, no pending waits.  0: nothing armed, the loop may be torn
     * down; -EAGAIN: cancellation of the armed doorbell is under way. */
    int (*retire)(as_loop *loop);
    /* Loop thread, after retire returned 0: release resources. */
    void (*fini)(as_loop *loop);
};

extern const struct as__backend as__backend_uring;
extern const struct as__backend as__backend_generic_ring;
extern const struct as__backend as__backend_generic_notify;
#ifdef _WIN32
extern const struct as__backend as__backend_iocp;
/* backend/iocp.c: is `port` an open completion port (else *err = -EINVAL
 * or -EBADF)?
 * Is `entry` (an OVERLAPPED_ENTRY) one of the loop's wake packets? */
bool as__iocp_port_valid(void *port, int *err);
bool as__iocp_is_ours(const as_loop *loop, const void *entry);
#endif

/* as_loop.as__flags (loop thread only) */
#define AS__L_ARMED 0x1u     /* a doorbell op is in flight on the ring */
#define AS__L_CANCELING 0x2u /* an ASYNC_CANCEL (or forced wake) was issued */
#define AS__L_WAKE_SQES 0x4u /* wake messages may sit in this loop's SQ */
#define AS__L_RUNNING 0x8u   /* inside as_loop_run */
#define AS__L_MW_ARMED 0x10u /* teardown: a FUTEX_WAIT on as__msgs is on the ring */

/* ---- loop internals (loop.c) ---- */

/* A token unique to the calling thread: the address of a thread-local. */
extern _Thread_local char as__tls_token;
static inline const void *as__thread_token(void) { return &as__tls_token; }
/* The loop the calling thread runs, or NULL. */
as_loop *as__current_loop(void);

static inline bool as__loop_valid(const as_loop *loop)
{
    return loop && loop->as__magic == AS__LOOP_MAGIC;
}

/* Hand a wait whose outcome is decided (state DONE or RESUME already stored)
 * to its loop.  Any thread.  Never runs a callback. */
void as__wait_finish(as_wait *w);

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

#define AS__NOINLINE __attribute__((noinline))
/* Give the CPU away in a spin loop whose other side was preempted
 * (sched_yield, SwitchToThread).  Slow paths only. */
void as__yield(void);
/* Fill w for a pending wait on `obj` (slow path, before queueing it). */
void as__wait_prepare(as_wait *w, as_loop *loop, as_callback cb, void *arg,
                      void *obj, uint32_t kind);
/* After w went QUEUED: count it against its loop and arm the doorbell. */
void as__wait_parked(as_wait *w);

#ifdef AS_HAVE_URING
struct io_uring_sqe;
/* An SQE on the loop's ring for the library (loop thread).  When the SQ is
 * full, submit what is queued (the application's SQEs too: they would go
 * with the next submit anyway) and try again; on an SQPOLL ring, wait for
 * the kernel's SQ thread to free a slot.
 * Invariant A1: NULL only when the ring refuses a submit (-EBUSY: a CQ
 * overflow backlog; -EAGAIN: no memory for requests), which the
 * application's own submit-and-wait meets too: it returns at once, with
 * completions to handle, so the loop cannot sleep before the caller retries
 * (next as_loop_run, CQE of ours, or as_loop_destroy call). */
struct io_uring_sqe *as__ring_sqe(as_loop *loop);
#endif

/* Drain the inbox into the ready list (loop thread). */
void as__loop_drain(as_loop *loop);

/* Resume a wait delivered in state RESUME (loop thread): mutex.c. */
void as__mutex_resume(as_wait *w);

/* Per-primitive cancel (loop thread).  Return 0 (pending; callback will
 * run) — the wait was known busy on entry. */
int as__sem_cancel(as_wait *w);
int as__mutex_cancel(as_wait *w);
int as__cond_cancel(as_wait *w);
int as__event_cancel(as_wait *w);

/* Condvar support in mutex.c: acquire `m` on behalf of a signalled (or
 * cancelled) condvar waiter whose status is already in w->as__status; the
 * callback runs once the mutex is held. */
void as__mutex_acquire_for(as_mutex *m, as_wait *w);

/* probe.c: backend choice for a ring-bound loop. */
enum as__choice { AS__CHOICE_URING, AS__CHOICE_GENERIC };
int as__probe_choose(struct io_uring *ring, uint32_t disabled_caps,
                     enum as__choice *out);

#endif
