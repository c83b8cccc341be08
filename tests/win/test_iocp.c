/*
 * iocp backend (Windows only; registered as test_iocp.iocp).  What the
 * conformance suite, which runs on iocp loops too, cannot see:
 *
 *   - refused posts (backend/iocp.c P1): the library's post is swapped for
 *     one that fails (as__iocp_post, a test hook of the static library).  A
 *     wake from a thread that runs no loop still arrives as a packet; or,
 *     when the loop drains its inbox on its own meanwhile, the waker gives
 *     up and nothing of the loop is left in the port;
 *   - the application's packets interleaved with the library's on one port,
 *     two loops sharing that port: each packet is claimed by its loop only;
 *   - as_loop_destroy while a wake packet is still in the port (P2): -EAGAIN
 *     until the packet is dequeued and handed back;
 *   - one packet per doorbell ring, whatever the number of waits it ends;
 *   - as_loop_init_iocp / as_loop_handle_completion bad input: the exact
 *     error, and nothing changed.
 *
 * Several loops on several threads sharing every primitive, cancel racing
 * with a wake, condvars and events run on iocp loops in test_threads.c.
 *
 * Failures abort the binary (th_abort_on_fail): a waker thread may still be
 * inside the hook.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* backend/iocp.c: the post the library wakes a loop with.  Not API. */
extern BOOL(WINAPI *as__iocp_post)(HANDLE, DWORD, ULONG_PTR, LPOVERLAPPED);

/* ---- the failing post ----------------------------------------------------- */

static atomic_int hook_fail_left;      /* posts still to refuse; < 0: all */
static th_counter hook_refused;        /* refused posts (waitable) */
static atomic_int hook_forwarded;      /* posts handed to the system */
static atomic_ullong hook_last_key;    /* completion key of the last one */

static BOOL WINAPI failing_post(HANDLE port, DWORD bytes, ULONG_PTR key, LPOVERLAPPED ov)
{
    int left = atomic_load(&hook_fail_left);
    while (left != 0) {
        if (left < 0 || atomic_compare_exchange_weak(&hook_fail_left, &left, left - 1)) {
            th_counter_add(&hook_refused, 1);
            SetLastError(ERROR_NO_SYSTEM_RESOURCES);
            return FALSE;
        }
    }
    atomic_fetch_add(&hook_forwarded, 1);
    atomic_store(&hook_last_key, (unsigned long long)key);
    return PostQueuedCompletionStatus(port, bytes, key, ov);
}

/* Refuse the next `refuse` posts (< 0: every post), then forward.  Before
 * the thread that posts is created. */
static void hook_install(int refuse)
{
    atomic_store(&hook_refused.v, 0);
    atomic_store(&hook_forwarded, 0);
    atomic_store(&hook_last_key, 0);
    atomic_store(&hook_fail_left, refuse);
    as__iocp_post = failing_post;
}

/* After every thread that may post was joined. */
static void hook_remove(void)
{
    as__iocp_post = PostQueuedCompletionStatus;
}

static int iocp_teardown(void **state)
{
    hook_remove();
    return th_teardown(state);
}

#define IOCP_TEST(fn) { #fn, fn, th_setup, iocp_teardown, &th_kind_values[TH_RING] }

/* ---- helpers ------------------------------------------------------------- */

/* Release from a thread that runs no loop, and wait until it returned (its
 * wake, post included, is done). */
#define release_from_thread th_sem_release_from_thread

/* Dequeue exactly `want` packets from the port (watchdog), bypassing the
 * harness, which must hold none. */
static void dequeue_exactly(th_loop *X, OVERLAPPED_ENTRY *out, unsigned want)
{
    TH_EQ(X->n_ents - X->pos_ents, 0);
    unsigned got = 0;
    double dl = th_now() + TH_TIMEOUT;
    while (got < want) {
        ULONG n = 0;
        if (th_now() > dl)
            th_fail("%u of %u packets arrived within %.0f s", got, want, TH_TIMEOUT);
        if (!GetQueuedCompletionStatusEx(X->port, out + got, want - got, &n, 100, FALSE)) {
            DWORD err = GetLastError();
            if (err != WAIT_TIMEOUT)
                th_fail("GetQueuedCompletionStatusEx: error %lu", (unsigned long)err);
            continue;
        }
        got += (unsigned)n;
    }
    /* and nothing more */
    ULONG n = 0;
    OVERLAPPED_ENTRY extra;
    if (GetQueuedCompletionStatusEx(X->port, &extra, 1, &n, 0, FALSE) && n > 0)
        th_fail("a packet more than the %u expected: key %#llx", want,
                (unsigned long long)extra.lpCompletionKey);
}

static void post(th_loop *X, DWORD bytes, ULONG_PTR key, OVERLAPPED *ov)
{
    if (!PostQueuedCompletionStatus(X->port, bytes, key, ov))
        th_fail("PostQueuedCompletionStatus: error %lu", (unsigned long)GetLastError());
}

/* ---- (a) refused posts ----------------------------------------------------- */

/* The first posts are refused: the waker retries and the loop, which drains
 * nothing while it waits, is woken by the packet that finally gets in. */
static void post_refused_then_accepted(void **state)
{
    FIX();
    enum { REFUSE = 6 }; /* past the waker's yields, into its 1 ms sleeps */
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);

    hook_install(REFUSE);
    th_release ra = { &s, 1, 100 };
    pthread_t t;
    th_thread_start(&t, th_release_thread, &ra);
    /* Block as the application does: only a packet ends this wait (the loop
     * runs nothing meanwhile, so the doorbell stays rung and the waker must
     * get a packet through). */
    if (!th_loop_wait(L, (unsigned)(TH_TIMEOUT * 1000)))
        th_fail("lost wake-up: no packet within %.0f s while %d posts were refused",
                TH_TIMEOUT, REFUSE);
    th_thread_join(t);
    TH_RC(ra.rc, 0);
    hook_remove();
    TH_EQ(th_counter_get(&hook_refused), REFUSE);
    TH_EQ(atomic_load(&hook_forwarded), 1);
    TH_EQ(atomic_load(&hook_last_key), (uintptr_t)&L->loop);
    TH_EQ(th_rec_count(R), 0); /* nothing runs before as_loop_run */

    unsigned long ours = L->cqes_ours;
    th_rec_wait(L, R, 1); /* strict: ready only because of the packet */
    TH_EQ(L->cqes_ours - ours, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* Every post is refused; the loop, woken by something else (a kick of the
 * harness), drains its inbox in as_loop_run: the waker sees the doorbell
 * reset and gives up.  No packet was posted and none is owed: the loop tears
 * down at once. */
static void post_refused_loop_drains_itself(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);

    hook_install(-1);
    th_release ra = { &s, 1, 100 };
    pthread_t t;
    th_thread_start(&t, th_release_thread, &ra);
    /* refused twice: the waker is retrying (and rang the doorbell first) */
    if (!th_counter_wait_ge(&hook_refused, 2, TH_TIMEOUT))
        th_fail("the waker did not retry its refused post (%lld refused)",
                th_counter_get(&hook_refused));
    TH_EQ(th_rec_count(R), 0);
    th_loop_kick(L);
    th_rec_wait_woken(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    /* With every post refused, only the reset doorbell lets the waker out. */
    th_thread_join(t);
    TH_RC(ra.rc, 0);
    hook_remove();
    TH_EQ(atomic_load(&hook_forwarded), 0);
    TH_EQ(th_counter_get(&hook_refused) >= 2, 1);

    unsigned long ours = L->cqes_ours;
    th_quiesce(L, TH_QUIET);
    TH_EQ(L->cqes_ours, ours); /* no packet of the loop in the port */
    TH_RC(as_loop_destroy(&L->loop), 0); /* and none owed (P2) */
    TH_RC(th_loop_rebind(L, NULL), 0);   /* the fixture tears it down again */
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- (b) application packets ----------------------------------------------- */

static void count_cb(as_wait *w, int status, void *arg)
{
    (void)w;
    atomic_int *calls = arg;
    if (status == 0)
        atomic_fetch_add(calls, 1);
    else
        atomic_fetch_add(calls, 1000);
}

/* The application's packets before, between and after the library's wake
 * packets of two loops bound to the same port: as_loop_handle_completion
 * claims exactly its loop's wake packet, even against packets that carry the
 * loop's address as their key (with the byte count of a wake packet), or the
 * wake packet's lpOverlapped with another key. */
static void application_packets(void **state)
{
    FIX();
    as_loop *M = th_zalloc(sizeof *M); /* a second loop on L's port, same thread */
    TH_RC(as_loop_init_iocp(M, L->port, NULL), 0);
    assert_string_equal(as_loop_backend(M), "iocp");
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a, b;
    th_waiter_init(&a, R, L, 1);
    th_waiter_init(&b, R, L, 2);

    /* What a wake packet of L looks like (learnt, not assumed). */
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);
    release_from_thread(&s, 1);
    OVERLAPPED_ENTRY wake;
    dequeue_exactly(L, &wake, 1);
    TH_EQ(wake.lpCompletionKey, (uintptr_t)&L->loop);
    const char *inside = (const char *)wake.lpOverlapped;
    if (inside < (const char *)&L->loop || inside >= (const char *)(&L->loop + 1))
        th_fail("the wake packet's lpOverlapped %p is not inside the loop", (void *)wake.lpOverlapped);
    TH_EQ(as_loop_handle_completion(&L->loop, &wake), true);
    TH_EQ(th_loop_run(L), 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    DWORD bytes = wake.dwNumberOfBytesTransferred;

    as_wait mw;
    memset(&mw, 0, sizeof mw);
    atomic_int m_calls;
    atomic_init(&m_calls, 0);
    TH_RC(th_sem_acquire(&b, &s, 1), 0);
    TH_RC(as_sem_acquire_async(&s, M, &mw, 1, count_cb, &m_calls), 0);
    th_pump(L);

    OVERLAPPED ov1, ov2;
    memset(&ov1, 0, sizeof ov1);
    memset(&ov2, 0, sizeof ov2);
    post(L, bytes, (ULONG_PTR)&L->loop, NULL);      /* 0: the loop's key, no OVERLAPPED */
    post(L, bytes, (ULONG_PTR)&L->loop, &ov1);      /* 1: the loop's key, the app's OVERLAPPED */
    post(L, 0, 0, &ov2);                            /* 2 */
    release_from_thread(&s, 2);                     /* 3: L's wake, 4: M's wake (FIFO) */
    post(L, bytes, (ULONG_PTR)M, &ov1);             /* 5: M's key, the app's OVERLAPPED */
    post(L, bytes, (ULONG_PTR)(TH_FOREIGN_TAG | 7), wake.lpOverlapped); /* 6: L's OVERLAPPED */
    enum { N = 7 };
    OVERLAPPED_ENTRY e[N];
    dequeue_exactly(L, e, N);

    int claimed_l = -1, claimed_m = -1;
    for (int i = 0; i < N; i++) {
        bool by_l = as_loop_handle_completion(&L->loop, &e[i]);
        bool by_m = as_loop_handle_completion(M, &e[i]);
        if (by_l && by_m)
            th_fail("packet %d claimed by both loops", i);
        if (by_l) {
            if (claimed_l >= 0)
                th_fail("loop L claimed packets %d and %d", claimed_l, i);
            claimed_l = i;
        }
        if (by_m) {
            if (claimed_m >= 0)
                th_fail("loop M claimed packets %d and %d", claimed_m, i);
            claimed_m = i;
        }
    }
    TH_EQ(claimed_l, 3);
    TH_EQ(claimed_m, 4);
    TH_EQ(e[claimed_l].lpCompletionKey, (uintptr_t)&L->loop);
    TH_EQ(e[claimed_m].lpCompletionKey, (uintptr_t)M);
    /* an application packet stays the application's when offered again */
    TH_EQ(as_loop_handle_completion(&L->loop, &e[1]), false);

    TH_EQ(th_loop_run(L), 1);
    TH_RC(th_rec_status_of(R, 2), 0);
    TH_EQ(as_loop_run(M), 1);
    TH_EQ(atomic_load(&m_calls), 1);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_loop_destroy(M), 0); /* its packet was handed back: nothing owed */
    free(M);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- (c) teardown with a wake packet in the port ------------------------------ */

static void destroy_with_packet_in_port(void **state)
{
    th_loop X;
    th_rec r;
    th_rec_init(&r);
    th_loop_setup(&X, TH_RING, NULL);
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, &r, &X, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(&X);

    release_from_thread(&s, 1); /* its packet is in the port */
    /* as_loop_run drains the inbox: the callback runs, no wait is pending,
     * but the packet is still in the port. */
    TH_EQ(th_loop_run(&X), 1);
    TH_RC(th_rec_status_of(&r, 1), 0);
    TH_EQ(as_wait_pending(&a.w), 0);
    TH_RC(as_loop_destroy(&X.loop), -EAGAIN);
    TH_RC(as_loop_destroy(&X.loop), -EAGAIN); /* still: nothing changed */
    assert_non_null(as_loop_backend(&X.loop));
    assert_string_equal(as_loop_backend(&X.loop), "iocp");

    OVERLAPPED_ENTRY e;
    dequeue_exactly(&X, &e, 1);
    TH_EQ(as_loop_handle_completion(&X.loop, &e), true);
    TH_RC(as_loop_destroy(&X.loop), 0);
    assert_null(as_loop_backend(&X.loop));
    TH_RC(as_loop_destroy(&X.loop), -EINVAL);

    /* the port is the application's: still open, and it binds again */
    TH_RC(th_loop_rebind(&X, NULL), 0);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(&X);
    release_from_thread(&s, 1);
    th_rec_wait_woken(&X, &r, 2);
    TH_RC(th_rec_get(&r, 1).status, 0);
    th_rec_assert_clean(&r);
    th_loop_destroy(&X); /* the packet was handed back: nothing owed */
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- one packet per ring ------------------------------------------------------ */

/* One release from another thread ends three waits of a sleeping loop: one
 * packet.  Once the loop drained, the next wake rings (and posts) again. */
static void one_packet_per_ring(void **state)
{
    FIX();
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter w[4];
    for (int i = 0; i < 3; i++) {
        th_waiter_init(&w[i], R, L, i);
        TH_RC(th_sem_acquire(&w[i], &s, 1), 0);
    }
    th_pump(L);
    unsigned long ours = L->cqes_ours;
    release_from_thread(&s, 3);
    th_rec_wait_woken(L, R, 3);
    th_quiesce(L, TH_QUIET);
    TH_EQ(L->cqes_ours - ours, 1);
    th_rec_assert_ids(R, 0, 1, 2);

    th_waiter_init(&w[3], R, L, 3);
    TH_RC(th_sem_acquire(&w[3], &s, 1), 0);
    th_pump(L);
    release_from_thread(&s, 1);
    th_rec_wait_woken(L, R, 4);
    th_quiesce(L, TH_QUIET);
    TH_EQ(L->cqes_ours - ours, 2);
    TH_EQ(as_sem_value(&s), 0);
    TH_RC(as_sem_destroy(&s), 0);
}

/* ---- (d) bad input ------------------------------------------------------------ */

#define SAME_BYTES(a, b, what)                                               \
    do {                                                                     \
        if (memcmp(&(a), &(b), sizeof(a)) != 0)                              \
            th_fail("%s: %s was modified", row[i].name, what);               \
    } while (0)

static void bad_input(void **state)
{
    FIX();
    /* a pending wait on the live loop: -EBUSY must leave it pending */
    as_sem s;
    th_sem_make(&s, 0);
    th_waiter a;
    th_waiter_init(&a, R, L, 1);
    TH_RC(th_sem_acquire(&a, &s, 1), 0);
    th_pump(L);

    HANDLE closed = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    HANDLE other = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    assert_non_null(closed);
    assert_non_null(other);
    /* open handles that are not completion ports: posts to them would fail
     * (made before `closed` is closed, so neither reuses its value) */
    HANDLE event = CreateEventW(NULL, FALSE, FALSE, NULL);
    assert_non_null(event);
    HANDLE mutex = CreateMutexW(NULL, FALSE, NULL);
    assert_non_null(mutex);
    assert_true(CloseHandle(closed));
    as_loop_options o_flags = { 0x80u, 0 }, o_caps = { 0, 0x80000000u };
    as_loop *tmp = th_zalloc(sizeof *tmp);   /* zeroed, never initialised */
    as_loop *junk = th_zalloc(sizeof *junk); /* stack-garbage-like bytes */
    memset(junk, 0xa5, sizeof *junk);
    static const unsigned char zeros[sizeof(as_loop)];
    as_loop junk_snap = *junk;
    as_loop live_snap = L->loop;

    const struct {
        const char *name;
        as_loop *loop;
        void *port;
        const as_loop_options *opts;
        int want;
    } row[] = {
        { "NULL loop", NULL, L->port, NULL, -EINVAL },
        { "NULL port", tmp, NULL, NULL, -EINVAL },
        { "INVALID_HANDLE_VALUE", tmp, INVALID_HANDLE_VALUE, NULL, -EINVAL },
        { "closed handle", tmp, closed, NULL, -EBADF },
        { "never a handle", tmp, (HANDLE)(uintptr_t)0x7ffffffcu, NULL, -EBADF },
        { "an event, not a port", tmp, event, NULL, -EINVAL },
        { "a mutex, not a port", tmp, mutex, NULL, -EINVAL },
        { "flags", tmp, L->port, &o_flags, -EINVAL },
        { "unknown caps", tmp, L->port, &o_caps, -EINVAL },
        { "garbage loop, NULL port", junk, NULL, NULL, -EINVAL },
        { "garbage loop, bad options", junk, other, &o_caps, -EINVAL },
    };
    for (size_t i = 0; i < sizeof row / sizeof row[0]; i++) {
        int got = as_loop_init_iocp(row[i].loop, row[i].port, row[i].opts);
        if (got != row[i].want)
            th_fail("as_loop_init_iocp(%s) returned %s, expected %s", row[i].name,
                    th_errname(got), th_errname(row[i].want));
        if (memcmp(tmp, zeros, sizeof *tmp) != 0)
            th_fail("%s: the zeroed as_loop was modified", row[i].name);
        SAME_BYTES(*junk, junk_snap, "the garbage as_loop");
        SAME_BYTES(L->loop, live_snap, "the live loop");
        TH_EQ(as_wait_pending(&a.w), 1);
    }
    assert_null(as_loop_backend(tmp));
    assert_null(as_loop_backend(junk));

    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    OVERLAPPED_ENTRY app = { (ULONG_PTR)&L->loop, &ov, 0, 0 };
    TH_EQ(as_loop_handle_completion(NULL, &app), false);
    TH_EQ(as_loop_handle_completion(&L->loop, NULL), false);
    TH_EQ(as_loop_handle_completion(NULL, NULL), false);
    TH_EQ(as_loop_handle_completion(&L->loop, &app), false);
    TH_EQ(as_loop_handle_completion(tmp, &app), false);
    if (memcmp(tmp, zeros, sizeof *tmp) != 0)
        th_fail("as_loop_handle_completion modified a zeroed as_loop");
    if (memcmp(&L->loop, &live_snap, sizeof live_snap) != 0)
        th_fail("as_loop_handle_completion of an application packet modified the loop");

    /* the live loop still works, on its own port */
    release_from_thread(&s, 1);
    th_rec_wait_woken(L, R, 1);
    TH_RC(th_rec_status_of(R, 1), 0);
    /* and a valid init of the zeroed loop, on the other port, works */
    TH_RC(as_loop_init_iocp(tmp, other, NULL), 0);
    assert_string_equal(as_loop_backend(tmp), "iocp");
    TH_RC(as_loop_destroy(tmp), 0);
    free(tmp);
    free(junk);
    CloseHandle(other);
    CloseHandle(event);
    CloseHandle(mutex);
    TH_RC(as_sem_destroy(&s), 0);
}

int main(void)
{
    atomic_store(&th_abort_on_fail, true);
    th_counter_init(&hook_refused);
    const struct CMUnitTest tests[] = {
        IOCP_TEST(post_refused_then_accepted),
        IOCP_TEST(post_refused_loop_drains_itself),
        IOCP_TEST(application_packets),
        cmocka_unit_test(destroy_with_packet_in_port),
        IOCP_TEST(one_packet_per_ring),
        IOCP_TEST(bad_input),
    };
    int r = TH_MAIN("iocp", tests);
    th_counter_destroy(&hook_refused);
    return r;
}
