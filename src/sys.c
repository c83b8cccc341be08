/* What the library needs from the system: a clock, a yield, and a private
 * futex (WaitOnAddress on Windows) for threads that block. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "internal.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

void as__yield(void) { (void)SwitchToThread(); }

uint64_t as_now_ns(void)
{
    static LARGE_INTEGER freq; /* constant once read: benign race */
    LARGE_INTEGER c;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    /* split so the product cannot overflow */
    return (uint64_t)(c.QuadPart / freq.QuadPart) * 1000000000ull +
           (uint64_t)(c.QuadPart % freq.QuadPart) * 1000000000ull /
               (uint64_t)freq.QuadPart;
}

uint64_t as__now_coarse_ns(void) { return (uint64_t)GetTickCount64() * 1000000ull; }

/* WaitOnAddress and WakeByAddress* live in the api-ms-win-core-synch-l1-2-0
 * API set (Windows 8 and later). They are looked up at first use rather than
 * linked, so a program links libasyncsync.a alone, with no
 * -lsynchronization: the promise the installed-header consumer check holds
 * on Windows as on Linux. Without them (Windows 7, an old Wine) a blocked
 * thread polls with Sleep(1): slower, still correct, since every caller
 * re-checks its word after waking. */
typedef BOOL(WINAPI *as__wait_fn)(volatile VOID *, PVOID, SIZE_T, DWORD);
typedef VOID(WINAPI *as__wake_fn)(PVOID);

static struct {
    as__wait_fn wait;
    as__wake_fn wake_one, wake_all;
} as__synch;
static INIT_ONCE as__synch_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK as__synch_resolve(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once, (void)param, (void)ctx;
    HMODULE m = LoadLibraryW(L"api-ms-win-core-synch-l1-2-0.dll");
    if (!m)
        m = GetModuleHandleW(L"kernelbase.dll");
    if (!m)
        return TRUE;
    /* cast through FARPROC's generic pointer: the documented way to type
     * a GetProcAddress result */
    as__wait_fn w = (as__wait_fn)(void (*)(void))GetProcAddress(m, "WaitOnAddress");
    as__wake_fn w1 = (as__wake_fn)(void (*)(void))GetProcAddress(m, "WakeByAddressSingle");
    as__wake_fn wa = (as__wake_fn)(void (*)(void))GetProcAddress(m, "WakeByAddressAll");
    if (w && w1 && wa) {
        as__synch.wait = w;
        as__synch.wake_one = w1;
        as__synch.wake_all = wa;
    }
    return TRUE;
}

static void as__synch_init(void)
{
    (void)InitOnceExecuteOnce(&as__synch_once, as__synch_resolve, NULL, NULL);
}

void as__futex_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    DWORD ms = INFINITE;
    if (deadline != AS_NO_DEADLINE) {
        uint64_t now = as_now_ns();
        uint64_t left = deadline > now ? deadline - now : 0;
        /* round up: waking before the deadline would only loop */
        uint64_t m = (left + 999999) / 1000000;
        ms = m >= INFINITE ? INFINITE - 1 : (DWORD)m;
    }
    as__synch_init();
    if (as__synch.wait)
        (void)as__synch.wait(word, &expected, sizeof expected, ms);
    else
        Sleep(ms < 1 ? 0 : 1);
}

void as__futex_wake(uint32_t *word, bool all)
{
    as__synch_init();
    if (!as__synch.wait)
        return; /* waiters poll */
    if (all)
        as__synch.wake_all(word);
    else
        as__synch.wake_one(word);
}
#else
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void as__yield(void) { (void)sched_yield(); }

uint64_t as_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t as__now_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void as__futex_wait(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: the
     * deadlines' clock, so no conversion drifts. */
    struct timespec ts, *tp = NULL;
    if (deadline != AS_NO_DEADLINE) {
        ts.tv_sec = (time_t)(deadline / 1000000000ull);
        ts.tv_nsec = (long)(deadline % 1000000000ull);
        tp = &ts;
    }
    (void)syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                  expected, tp, NULL, FUTEX_BITSET_MATCH_ANY);
}

void as__futex_wake(uint32_t *word, bool all)
{
    (void)syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
                  all ? INT32_MAX : 1, NULL, NULL, 0);
}

#ifdef __linux__
/* K1, P9 (docs/pshared.md): words of process-shared objects are waited
 * on and woken with shared keys only, never FUTEX_PRIVATE_FLAG. */
void as__futex_wait_shared(uint32_t *word, uint32_t expected, uint64_t deadline)
{
    struct timespec ts, *tp = NULL;
    if (deadline != AS_NO_DEADLINE) {
        ts.tv_sec = (time_t)(deadline / 1000000000ull);
        ts.tv_nsec = (long)(deadline % 1000000000ull);
        tp = &ts;
    }
    (void)syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, tp, NULL,
                  FUTEX_BITSET_MATCH_ANY);
}

int as__futex_wake_shared(uint32_t *word, bool all)
{
    long r = syscall(SYS_futex, word, FUTEX_WAKE, all ? INT32_MAX : 1, NULL,
                     NULL, 0);
    return r < 0 ? -errno : (int)r;
}

int as__futex_wake_shared_mask(uint32_t *word, uint32_t mask)
{
    long r = syscall(SYS_futex, word, FUTEX_WAKE_BITSET, INT32_MAX, NULL,
                     NULL, mask);
    return r < 0 ? -errno : (int)r;
}
#endif
#endif
