/* iocp backend (Windows): a loop bound to an I/O completion port.
 *
 * Waiters queue in user space exactly as on Linux (waitq.h); a wait finished
 * from another thread lands in the loop's inbox and rings its doorbell
 * (loop.c D1).  This backend's only job is the ring: when the bell goes from
 * 0 to 1, post one completion packet to the loop's port, so the thread
 * blocked in GetQueuedCompletionStatusEx wakes next to its file and socket
 * completions, drains the inbox and runs the callbacks.  One packet per ring,
 * not per waiter: a burst of wakes costs one post.
 *
 * PACKET
 *   key = the loop's address, lpOverlapped = &loop->as__bell (an address
 *   inside the loop: no OVERLAPPED of the application's can be there),
 *   bytes = AS__IOCP_BYTES.  as_loop_handle_completion() matches key and
 *   lpOverlapped; a packet for a loop already destroyed cannot exist (P2).
 *
 * Invariant P1 (a refused post loses no wake): PostQueuedCompletionStatus
 *   allocates a kernel packet and can fail under memory pressure.  The
 *   wait is already in the inbox and the bell stays 1, so the waker retries
 *   (yield, then sleep 1 ms between attempts) until either the post is
 *   accepted, or the bell reads 0: only the loop resets it, in as__loop_drain,
 *   and it does so before it takes the inbox, which then holds our wait
 *   (pushed before our exchange of the bell).  The loop is awake and has the
 *   wake; no packet is needed.  Until one of the two happens the waker stays
 *   counted in as__wakers (D3), so the loop cannot be destroyed under it; and
 *   as_loop_destroy keeps draining (resetting the bell) while it waits for
 *   wakers, so a waker refused after the loop's last drain leaves at once.
 *   The only error not retried is ERROR_INVALID_HANDLE: the port was closed
 *   under a live loop, which as_loop_init_iocp cannot prevent (it rejects
 *   handles that are not open completion ports).
 *   Tested by tests/win/test_iocp.c, which makes posts fail on purpose, and
 *   checked exhaustively in tests/model/delivery.pml (BACKEND=B_IOCP, with
 *   refusals anywhere; BUG_IOCP_GIVE_UP must fail).
 *
 * Invariant P2 (teardown): as__posted counts packets posted and not yet
 *   handled.  A waker increments it before it posts (and takes it back if it
 *   gives up); as_loop_handle_completion decrements it.  as_loop_destroy
 *   first waits for in-flight wakers (D3: no new post can start once the loop
 *   has no pending waits), then retire() returns -EAGAIN while the count is
 *   not zero: the application keeps dequeuing until every packet of the loop
 *   has been handed back, so none arrives after the memory is reused
 *   (model: BUG_RETIRE_FIRST must fail).
 */
#include "../internal.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <string.h>
#include <windows.h>

#define AS__IOCP_BYTES 0x61737963u /* "asyc" */

/* The post itself; tests swap it for one that fails (P1).  Not API. */
BOOL(WINAPI *as__iocp_post)(HANDLE, DWORD, ULONG_PTR, LPOVERLAPPED) =
    PostQueuedCompletionStatus;

static void iocp_arm(as_loop *loop) { (void)loop; /* a port needs no arming */ }

static void iocp_wake(as_loop *loop)
{
    unsigned attempt = 0;
    as__fetch_add(&loop->as__posted, 1u, AS_RELAXED);
    while (!as__iocp_post((HANDLE)loop->as__port, AS__IOCP_BYTES,
                          (ULONG_PTR)loop, (LPOVERLAPPED)(void *)&loop->as__bell)) {
        /* P1: refused.  Give up only once the loop has seen the wake, or
         * when no retry can succeed: the application closed the port under
         * a live loop (its loop is broken either way). */
        DWORD e = GetLastError();
        if (as__load(&loop->as__bell, AS_SEQ_CST) == 0 ||
            e == ERROR_INVALID_HANDLE) {
            as__fetch_sub(&loop->as__posted, 1u, AS_RELAXED);
            return;
        }
        if (++attempt < 4)
            as__yield();
        else
            Sleep(1);
    }
}

static void iocp_handle(as_loop *loop, unsigned tag, int res, uintptr_t at)
{
    (void)tag, (void)res, (void)at;
    as__stat_inc(loop->as__st[AS__ST_DOORBELLS]);
    as__loop_drain(loop);
}

static int iocp_retire(as_loop *loop)
{
    /* P2: packets still in the port come back through
     * as_loop_handle_completion. */
    return as__load(&loop->as__posted, AS_ACQUIRE) != 0 ? -EAGAIN : 0;
}

static void iocp_fini(as_loop *loop) { loop->as__port = NULL; }

static const struct as__backend as__backend_iocp = {
    .name = "iocp",
    /* The application runs as_loop_run every iteration before it blocks in
     * GetQueuedCompletionStatusEx: same-thread hand-offs need no packet. */
    .wake_local = false,
    .arm = iocp_arm,
    .wake = iocp_wake,
    .handle = iocp_handle,
    .timer = NULL, /* the application asks as_loop_timeout_ns */
    .retire = iocp_retire,
    .fini = iocp_fini,
};

/* The object type of a handle, through ntdll's NtQueryObject (looked up at
 * run time: no import library needed).  The public
 * PUBLIC_OBJECT_TYPE_INFORMATION starts with the type name as a
 * UNICODE_STRING; only that part is declared here. */
typedef struct as__unicode {
    USHORT Length, MaximumLength;
    PWSTR Buffer;
} as__unicode;
typedef LONG(NTAPI *as__nt_query_object)(HANDLE, int, PVOID, ULONG, PULONG);
#define AS__OBJECT_TYPE_INFORMATION 2

/* false only when the handle's type is known and is not a port */
static bool handle_is_port(HANDLE h)
{
    static const WCHAR want[] = L"IoCompletion";
    union {
        as__unicode name;
        char buf[512];
    } info;
    ULONG len = 0;
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    FARPROC fp = nt ? GetProcAddress(nt, "NtQueryObject") : NULL;
    as__nt_query_object query;
    if (!fp)
        return true;
    query = (as__nt_query_object)(void (*)(void))fp;
    if (query(h, AS__OBJECT_TYPE_INFORMATION, &info, sizeof info, &len) < 0)
        return true; /* GetHandleInformation judged it open */
    return info.name.Length == sizeof want - sizeof(WCHAR) &&
           memcmp(info.name.Buffer, want, info.name.Length) == 0;
}

static bool iocp_port_valid(void *port, int *err)
{
    DWORD flags;
    if (!port || (HANDLE)port == INVALID_HANDLE_VALUE) {
        *err = -EINVAL;
        return false;
    }
    if (!GetHandleInformation((HANDLE)port, &flags)) {
        *err = -EBADF; /* not an open handle */
        return false;
    }
    if (!handle_is_port((HANDLE)port)) {
        *err = -EINVAL; /* open, but an event, a file...: posts would fail */
        return false;
    }
    return true;
}

static bool iocp_is_ours(const as_loop *loop, const void *entry)
{
    const OVERLAPPED_ENTRY *e = entry;
    return e->lpCompletionKey == (ULONG_PTR)loop &&
           (const void *)e->lpOverlapped == (const void *)&loop->as__bell &&
           e->dwNumberOfBytesTransferred == AS__IOCP_BYTES;
}

int as_loop_init_iocp(as_loop *loop, void *port, const as_loop_options *opts)
{
    uint32_t flags, disabled;
    int err;
    if (!loop || as__loop_opts(opts, &flags, &disabled) < 0)
        return -EINVAL;
    if (!iocp_port_valid(port, &err))
        return err;
    as__loop_reset(loop);
    loop->as__ops = &as__backend_iocp;
    loop->as__port = port;
    loop->as__opts = flags;
    loop->as__caps = 0;
    as__loop_publish(loop);
    return 0;
}

bool as_loop_handle_completion(as_loop *loop, const void *entry)
{
    if (!loop || !entry || !iocp_is_ours(loop, entry))
        return false;
    if (as__loop_valid(loop)) {
        as__loop_claim(loop);
        /* P2: one packet fewer in the port. */
        as__fetch_sub(&loop->as__posted, 1u, AS_RELEASE);
        loop->as__ops->handle(loop, AS__TAG_BELL, 0, (uintptr_t)loop);
    }
    return true;
}
#else
int as_loop_init_iocp(as_loop *loop, void *port, const as_loop_options *opts)
{
    (void)loop, (void)port, (void)opts;
    return -EOPNOTSUPP;
}

bool as_loop_handle_completion(as_loop *loop, const void *entry)
{
    (void)loop, (void)entry;
    return false;
}
#endif
