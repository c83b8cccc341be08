/* uring backend: the loop's doorbell is an IORING_OP_FUTEX_WAIT on its own
 * ring (Linux 6.7+).  A ring of it from a thread that runs a uring loop is a
 * message (IORING_OP_MSG_RING) from that loop's ring to the target's: it
 * rides the releaser's next submission (no extra system call) and posts a
 * CQE straight into the target's ring, leaving the doorbell's FUTEX_WAIT
 * armed; only where that submission is known to come next (W2 below).
 * Otherwise it is a FUTEX_WAKE (futex(2)).
 *
 * WHY ONE FUTEX WAIT PER LOOP, NOT ONE PER WAITER
 *   Parking every waiter in the kernel on the primitive's word was measured
 *   (DESIGN.md): ~1 us per same-loop hand-off against ~15 ns in user space,
 *   0.66x pthread_mutex under contention, -EAGAIN storms when a wake and
 *   re-armed waits on one word share a submission, and the kernel's wake
 *   order knows nothing of weighted FIFO fairness.  So waiters queue in user
 *   space (waitq.h), the releaser decides who is served (direct hand-off),
 *   and the kernel only wakes the *loop*: at most one FUTEX_WAIT armed per
 *   loop, on the loop's doorbell word, whatever the number of waiters.
 *
 * DOORBELL PROTOCOL (see loop.c D1/D2)
 *   arm:   FUTEX_WAIT(&bell, expected 0), user_data = (loop, TAG_BELL); only
 *          while the loop has pending waits; at most one in flight (ARMED).
 *   ring:  bell 0 -> 1 (exchange), then FUTEX_WAKE(&bell, 1).  If the wait is
 *          not queued in the kernel yet, it reads bell == 1 when it is and
 *          completes at once with -EAGAIN: the kernel's own check of the
 *          expected value is what rules out a lost wake-up.
 *   CQE:   clear ARMED, drain the inbox (which resets the bell first), re-arm
 *          if waits are still pending.
 *   retire (as_loop_destroy): flush what we queued, then cancel the armed
 *          wait synchronously (IORING_REGISTER_SYNC_CANCEL): it leaves the
 *          futex queue at once, so nothing refers to the loop any more, and
 *          its late CQE (-ECANCELED) is swallowed; destroy returns 0.  If that
 *          fails, IORING_OP_ASYNC_CANCEL (or, SQ full, ring the bell with
 *          futex(2)) and -EAGAIN until its CQE is in.
 *
 * WAKE MESSAGES (MSG_RING), loop A waking loop B
 *   A counts the message on B (B->as__msgs++, inside D3's window, so B is
 *   alive) and queues a MSG_RING SQE: fd = B's ring, CQE data = (B,
 *   TAG_MSG).  B's CQE: drain, as__msgs--.  Two kinds, by what A learns:
 *   - silent (the usual case): IOSQE_CQE_SKIP_SUCCESS, user_data = (B,
 *     TAG_REFUSED): A gets a CQE only if the kernel refuses it (R1).  A
 *     success would otherwise post a CQE on A's own ring, which ends A's
 *     next io_uring_submit_and_wait at once: one more system call and
 *     loop iteration per wake on the sender (measured: a same-CPU round
 *     trip of two loops 7.7 -> 6.0 us; docs/perf/silent-msg-2026-12-05.md).
 *   - acknowledged: A takes a slot of its own (as__msg_to[k] = B) and
 *     user_data = (&A->as__msg_to[k], TAG_WAKE); A's CQE frees the slot,
 *     and on failure see R1.  Used where the kernel may complete a message
 *     after the submit that sent it (R3): B's ring is DEFER_TASKRUN (Linux
 *     6.3-6.10 post there by task work) or IOPOLL (a busy lock sends it to
 *     io-wq), or A's ring is SQPOLL (its SQ thread submits).
 *   No slot or no SQE: futex(2), never a FUTEX_WAKE SQE (see uring_wake).
 * Invariant R1 (a refused message loses no wake): the kernel can refuse a
 *   message (no memory for B's CQE) and says so only on A's ring.  A then
 *   rings B's doorbell the futex way (bell := 1, FUTEX_WAKE), decrements
 *   B->as__msgs, and futex-wakes that word (a wake, no store: harmless if B
 *   is gone by then).
 * Invariant R2 (no message outlives its target): a message queued in A's SQ
 *   reaches the kernel at A's next submit, after A left D3's window.  So B's
 *   retire returns -EAGAIN while B->as__msgs != 0, with a FUTEX_WAIT on
 *   &as__msgs (expected: the value it read) armed on B's ring: each message
 *   ends as a CQE of B's (B's handler futex-wakes the word while that wait
 *   is armed) or as A's refusal, which wakes it (R1).  A's own retire waits
 *   for its slots.  A loop that sent messages must submit before it blocks,
 *   as for any SQE of a ring loop, and handle its CQEs: a refused message is
 *   finished by A's handler.
 *   Model: tests/model/delivery.pml -DMSG_WAKE (BUG_MSG_NO_FALLBACK,
 *   BUG_MSG_NO_COUNT, BUG_MW_REREAD must fail); tests: tests/fault.
 * Invariant R3 (a refusal outlives no sender): a silent message is
 *   completed inside the io_uring_enter that submits it (for a target that
 *   is neither DEFER_TASKRUN nor IOPOLL, the kernel posts B's CQE or fails
 *   there and then), so once A's SQ is empty its refusal, if any, is a
 *   CQE on A's ring, or in the ring's overflow list.  A's retire returns
 *   -EAGAIN while it has sent silent messages (L_SILENT) and its SQ is not
 *   empty, its CQ has overflowed, or a TAG_REFUSED CQE waits in its CQ:
 *   the application reaps it and hands it to as_loop_handle_cqe (R1), then
 *   calls again.  (A CQE an application has taken off the ring must be
 *   handed over before it calls as_loop_destroy, as for every CQE.)
 *   Else a refusal could come after A's teardown, on a ring nobody reads,
 *   and B would never be woken nor finish its own (R2).
 *   Tests: tests/fault test_msg_silent, test_destroy_waits_for_refusal,
 *   test_destroy_waits_for_overflowed_refusal (the refusal in the overflow).
 * Invariant W2 (no wake waits on an application that went elsewhere): a
 *   message rides A's ring only when A's thread is inside as_loop_run (or
 *   A opted in with AS_LOOP_DEFER_WAKES): the application submits right
 *   after as_loop_run, before it blocks.  A release made anywhere else on
 *   A's thread (a CQE handler that then computes for long, code that then
 *   blocks on something else, a thread about to return) is a futex(2) wake
 *   at once, as from a thread that runs no loop.  A callback that releases
 *   and then runs long calls as_loop_flush.  tests/fault: test_wake_timing.
 *
 * PRIVATE FUTEX HASH (Linux 6.16+)
 *   A FUTEX2_PRIVATE wait armed through io_uring while the process is still
 *   single-threaded is hashed in the global futex hash; once the process
 *   creates its first thread, private wakes look in the new per-process hash
 *   and never find it.  This backend uses shared futex keys on both sides
 *   (no FUTEX2_PRIVATE on the wait, no FUTEX_PRIVATE_FLAG on wakes): shared
 *   keys always live in the global hash, whatever the application does with
 *   threads, before or after arming.  The cost is a page lookup per futex op
 *   (tens of ns), paid only on cross-thread wakes.  tests/test_threads.c
 *   arms a wait in a single-threaded child and wakes it from a thread created
 *   afterwards.
 *
 * SQE LAYOUT (filled by hand: liburing 2.3 has no futex helpers)
 *   FUTEX_WAIT: fd = futex2 flags, addr = word, off = expected value,
 *               addr3 = bitset mask, futex_flags (op flags) = 0.
 *   FUTEX_WAKE: same, with off = number of waiters to wake.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../internal.h"
#include "../probes.h"

#ifdef AS_HAVE_URING
#include <linux/futex.h>
#include <liburing.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../defs.h"

static void prep_futex_mask(struct io_uring_sqe *sqe, int op, uint32_t *word,
                            uint64_t val, uint32_t mask)
{
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = (uint8_t)op;
    sqe->fd = (int32_t)AS_FUTEX2_SIZE_U32; /* shared key: see above */
    sqe->addr = (uint64_t)(uintptr_t)word;
    sqe->off = val;
    sqe->addr3 = mask;
}

static void prep_futex(struct io_uring_sqe *sqe, int op, uint32_t *word,
                       uint64_t val)
{
    prep_futex_mask(sqe, op, word, val, AS_FUTEX_BITSET_MATCH_ANY);
}

static void futex_wake_syscall(uint32_t *word)
{
    /* Shared (no FUTEX_PRIVATE_FLAG), to match the waits. */
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void uring_arm(as_loop *loop)
{
    struct io_uring_sqe *sqe;
    if (loop->as__flags & AS__L_ARMED)
        return;
    sqe = as__ring_sqe(loop);
    if (!sqe)
        return; /* retried by as_loop_run and every CQE of ours */
    prep_futex(sqe, AS_IORING_OP_FUTEX_WAIT, &loop->as__bell, 0);
    io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_BELL));
    loop->as__flags |= AS__L_ARMED;
}

/* as__msg_to's slots, one bit each in as__msg_busy */
#define MSG_SLOTS (sizeof ((as_loop *)0)->as__msg_to / sizeof(as_loop *))
#define MSG_SLOTS_ALL ((uint32_t)((1ull << MSG_SLOTS) - 1))
_Static_assert(MSG_SLOTS <= 32, "as__msg_busy has 32 bits");

/* R3: may a message from `me` to `to` be silent, its outcome known at the
 * submit that sends it? */
static bool msg_silent(const as_loop *me, const as_loop *to)
{
    return !(me->as__ring->flags & IORING_SETUP_SQPOLL) &&
           !(to->as__ring->flags &
             (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_IOPOLL));
}

/* A wake message from loop `me`'s ring to `loop`'s ring (loop thread of
 * `me`; `loop` is alive: the caller is inside its D3 window).  false when
 * no slot or no SQE is free. */
static bool send_msg(as_loop *me, as_loop *loop)
{
    struct io_uring_sqe *sqe;
    unsigned slot;
    bool silent;
    if (loop->as__ring->ring_fd < 0)
        return false;
    silent = msg_silent(me, loop);
    if (!silent && me->as__msg_busy == MSG_SLOTS_ALL)
        return false;
    sqe = io_uring_get_sqe(me->as__ring);
    if (!sqe)
        return false;
    /* R2: counted on the target before the message can exist. */
    as__fetch_add(&loop->as__msgs, 1u, AS_RELAXED);
    io_uring_prep_msg_ring(sqe, loop->as__ring->ring_fd, 0,
                           as__ud(loop, AS__TAG_MSG), 0);
    if (silent) {
        sqe->flags |= AS_IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_REFUSED));
        me->as__flags |= AS__L_SILENT; /* R3 */
    } else {
        slot = (unsigned)__builtin_ctz(~me->as__msg_busy);
        me->as__msg_busy |= 1u << slot;
        me->as__msg_to[slot] = loop;
        io_uring_sqe_set_data64(sqe,
                                as__ud(&me->as__msg_to[slot], AS__TAG_WAKE));
    }
    me->as__flags |= AS__L_WAKE_SQES | AS__L_SQES;
    return true;
}

/* R1: the kernel refused our message to `to`, which is still alive (its
 * as__msgs counts the message): ring its doorbell the futex way (bell
 * first, as in D1), then let it go, then wake its teardown wait on
 * as__msgs, if any: a wake and no store, so harmless if the target is gone
 * by then (a spurious futex wake-up, which futex users tolerate). */
static void msg_refused(as_loop *to)
{
    as__store(&to->as__bell, 1u, AS_SEQ_CST);
    futex_wake_syscall(&to->as__bell);
    as__fetch_sub(&to->as__msgs, 1u, AS_RELEASE);
    futex_wake_syscall(&to->as__msgs);
}

static void uring_wake(as_loop *loop)
{
    as_loop *me = as__current_loop();
    /* Ride the releaser's ring when it runs a uring loop (not the target
     * itself: this thread may block on the target's ring before it submits
     * ours): a message (MSG_RING) that posts a CQE straight into the
     * target's ring and leaves its FUTEX_WAIT armed, with no system call
     * now: it goes out with that loop's next submission (R1, R2).
     * Only where that submission is known to come next (W2): inside
     * as_loop_run, whose caller submits before it blocks; anywhere in the
     * iteration with AS_LOOP_DEFER_WAKES.  Elsewhere (a CQE handler that
     * then computes, a thread that then blocks elsewhere or returns), or
     * with no slot or SQE free: futex(2) at once.  A FUTEX_WAKE SQE is never
     * used: rings refuse it where they refuse FUTEX_WAIT (IOPOLL), its
     * refusal would name no live target to fall back to, and it would reach
     * the kernel after this thread left D3's window, when the target may be
     * gone. */
    if (me && (me->as__caps & AS_CAP_RING_WAKE) &&
        ((me->as__flags & AS__L_RUNNING) ||
         (me->as__opts & AS_LOOP_DEFER_WAKES)) &&
        as__load(&loop->as__owner, AS_RELAXED) != as__thread_token() &&
        send_msg(me, loop)) {
        AS_PROBE2(wake_send, loop, AS__HOW_MSG);
        return;
    }
    AS_PROBE2(wake_send, loop, AS__HOW_FUTEX);
    futex_wake_syscall(&loop->as__bell);
}

static void uring_handle(as_loop *loop, unsigned tag, int res, uintptr_t at)
{
    if (tag == AS__TAG_MSG) {
        /* A wake message: the doorbell's FUTEX_WAIT stays armed. */
        as__stat_inc(loop->as__st[AS__ST_MESSAGES]);
        AS_PROBE2(wake_recv, loop, AS__HOW_MSG);
        as__loop_drain(loop);
        as__fetch_sub(&loop->as__msgs, 1u, AS_RELEASE); /* R2 */
        if (loop->as__flags & AS__L_MW_ARMED)
            futex_wake_syscall(&loop->as__msgs); /* teardown: see retire */
        return;
    }
    if (tag == AS__TAG_MSGWAIT) {
        loop->as__flags &= ~AS__L_MW_ARMED;
        return;
    }
    if (tag == AS__TAG_REFUSED) {
        /* A silent message of ours, refused (CQE only on failure) */
        if (res < 0)
            msg_refused((as_loop *)at);
        return;
    }
    if (tag == AS__TAG_WAKE) {
        /* The sender's side of an acknowledged message: free its slot. */
        unsigned slot = (unsigned)((at - (uintptr_t)&loop->as__msg_to[0]) /
                                   sizeof loop->as__msg_to[0]);
        as_loop *to;
        if (slot >= MSG_SLOTS || !(loop->as__msg_busy & (1u << slot)))
            return;
        to = loop->as__msg_to[slot];
        loop->as__msg_busy &= ~(1u << slot);
        if (res < 0)
            msg_refused(to); /* no memory for B's CQE, ring fd closed... */
        return;
    }
    if (tag != AS__TAG_BELL)
        return; /* the doorbell's cancel (CQE only on failure) */
    loop->as__flags &= ~(AS__L_ARMED | AS__L_CANCELING);
    as__stat_inc(loop->as__st[AS__ST_DOORBELLS]);
    AS_PROBE2(wake_recv, loop, 2);
    as__loop_drain(loop);
    if (as__load(&loop->as__pending, AS_RELAXED) != 0)
        uring_arm(loop);
}

/* R3: no refusal of a silent message of ours can still come: all our SQEs
 * are submitted (each message completed in the submit that sent it), the
 * kernel holds no overflowed CQE, and no TAG_REFUSED CQE waits in the CQ
 * (read, not consumed: the application reaps it and hands it to us). */
static bool silent_settled(const struct io_uring *ring)
{
    const uint64_t refused = as__ud(NULL, AS__TAG_REFUSED) >> 56;
    unsigned mask = *ring->cq.kring_mask;
    unsigned head = io_uring_smp_load_acquire(ring->cq.khead);
    unsigned tail = io_uring_smp_load_acquire(ring->cq.ktail);
    if (io_uring_sq_ready(ring) != 0 || io_uring_cq_has_overflow(ring))
        return false;
    for (; head != tail; head++)
        if (ring->cq.cqes[io_uring_cqe_index(ring, head, mask)].user_data >>
                56 == refused)
            return false;
    return true;
}

static int uring_retire(as_loop *loop)
{
    uint32_t msgs;
    /* Wakes for other loops (and anything else of ours) may still sit in
     * our SQ: send them now, so tearing this loop down never strands
     * another loop's wake-up, and so what we cancel below is in the kernel.
     * If the ring refuses the submit (CQ overflow backlog), they are still
     * there: -EAGAIN, and again on the next call. */
    if (as__ring_flush(loop) < 0)
        return -EAGAIN;
    loop->as__flags &= ~AS__L_WAKE_SQES;
    /* R2: messages on their way here, or ours whose result (a CQE naming
     * a slot of this loop) is still to come: -EAGAIN, the application
     * feeds us the ring's completions until they are in.  Each arrives as
     * a CQE, or is refused on its sender's ring, which then decrements
     * as__msgs and futex-wakes it: so wait on as__msgs too, with the value
     * read here as the expected one (one read: model delivery.pml MSG_WAKE,
     * BUG_MW_REREAD).  That wait's CQE comes back before we are done.
     * (A1: the SQE can be had unless the ring refuses submits, and then
     * the application's wait does not block either.) */
    msgs = as__load(&loop->as__msgs, AS_ACQUIRE);
    if (msgs != 0 && !(loop->as__flags & AS__L_MW_ARMED)) {
        struct io_uring_sqe *sqe = as__ring_sqe(loop);
        if (sqe) {
            prep_futex(sqe, AS_IORING_OP_FUTEX_WAIT, &loop->as__msgs, msgs);
            io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_MSGWAIT));
            loop->as__flags |= AS__L_MW_ARMED;
        }
    }
    if (msgs != 0 || loop->as__msg_busy != 0 ||
        (loop->as__flags & AS__L_MW_ARMED))
        return -EAGAIN;
    if (loop->as__flags & AS__L_SILENT) {
        if (!silent_settled(loop->as__ring))
            return -EAGAIN; /* R3 */
        loop->as__flags &= ~AS__L_SILENT;
    }
    as__ring_timer_retire(loop);
    if (!(loop->as__flags & AS__L_ARMED))
        return 0;
    /* The doorbell: cancelled synchronously (Linux 6.0+; the futex ops
     * need 6.7 anyway), the common case: once it is out of the futex
     * queue nothing refers to the loop, and its late CQE is swallowed. */
    if (as__ring_sync_cancel(loop, as__ud(loop, AS__TAG_BELL)) == 0) {
        loop->as__flags &= ~(AS__L_ARMED | AS__L_CANCELING);
        return 0;
    }
    if (!(loop->as__flags & AS__L_CANCELING)) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(loop->as__ring);
        if (sqe) {
            io_uring_prep_cancel64(sqe, as__ud(loop, AS__TAG_BELL), 0);
            sqe->flags |= AS_IOSQE_CQE_SKIP_SUCCESS;
            io_uring_sqe_set_data64(sqe, as__ud(loop, AS__TAG_CANCEL));
        } else {
            as__store(&loop->as__bell, 1u, AS_SEQ_CST);
            futex_wake_syscall(&loop->as__bell);
        }
        loop->as__flags |= AS__L_CANCELING;
    }
    return -EAGAIN;
}

static void uring_fini(as_loop *loop) { (void)loop; }

/* fwait (internal.h, P8 in loop.c): one FUTEX_WAIT SQE on the loop's ring
 * for a word of memory shared between processes.  FUTEX2_SIZE_U32 only:
 * never FUTEX2_PRIVATE (K1, P9 of docs/pshared.md: a private key is
 * (mm, address), which no other process's wake can find).  Its CQE names
 * the wait (AS__TAG_FWAIT): as_loop_handle_cqe calls its kind's fwake.
 * It rides the loop's next submit, like the doorbell. */
static int uring_fwait(as_loop *loop, as_wait *w, uint32_t *word,
                       uint32_t expected, uint32_t mask)
{
    struct io_uring_sqe *sqe = as__ring_sqe(loop);
    if (!sqe)
        return -EAGAIN; /* A1: as__loop_fwait keeps it to arm later */
    prep_futex_mask(sqe, AS_IORING_OP_FUTEX_WAIT, word, expected, mask);
    io_uring_sqe_set_data64(sqe, as__ud(w, AS__TAG_FWAIT));
    return 0;
}

const struct as__backend as__backend_uring = {
    .name = "uring",
    .arm = uring_arm,
    .wake = uring_wake,
    .handle = uring_handle,
    .timer = as__ring_timer,
    .retire = uring_retire,
    .fini = uring_fini,
    .fwait = uring_fwait,
};
#endif
