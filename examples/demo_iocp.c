/*
 * demo_iocp.c: asyncsync on Windows I/O completion ports, next to real
 * overlapped file I/O.  The Windows counterpart of demo.c.
 * SPDX-License-Identifier: MIT
 *
 * THE PATTERN (what to copy into your own program)
 *
 *   One thread per loop; each loop owns a completion port and an as_loop
 *   bound to it with as_loop_init_iocp().  The thread's file (or socket)
 *   handles are associated with the same port, so ONE call,
 *   GetQueuedCompletionStatusEx, returns both the application's I/O
 *   completions and the packets asyncsync posts to wake the loop when another
 *   thread released, unlocked, signalled or set something a task of this
 *   loop waits for.  Each iteration:
 *
 *       as_loop_run(&loop);                      (1) run ready callbacks
 *       GetQueuedCompletionStatusEx(port, ...);  (2) block: I/O or a wake
 *       for each entry:                          (3) dispatch
 *           if (!as_loop_handle_completion(&loop, &entry))
 *               handle_own(&entry);              your OVERLAPPED, your key
 *
 *   (1) must come before every block: a hand-off made on the loop's own
 *   thread (a task releases a permit another task of the same loop waits
 *   for) is a plain list append that posts no packet.
 *
 * WHAT THE DEMO DOES
 *
 *   N worker loops (--loops, default 2), each with T tasks (--tasks, 16),
 *   process J jobs (--jobs, 20000; --quick: 1000).  A job:
 *
 *     as_sem   io_slots     acquired asynchronously: at most --limit (8)
 *                           jobs have file I/O in flight across ALL loops;
 *     WriteFile             4096 bytes, overlapped, at the task's own block
 *                           of one shared temporary file (each loop has its
 *                           own handle on it, associated with its port);
 *     ReadFile              the block back, overlapped; compared;
 *                           then the permit is released;
 *     as_mutex stats_lock   taken asynchronously: the job is recorded in
 *                           shared statistics (plain, non-atomic fields);
 *     as_cond  progress     signalled under stats_lock after each job.
 *
 *   A coordinator loop (the main thread, its own port) waits on `progress`
 *   with stats_lock, the way a thread waits on pthread_cond_wait: check the
 *   predicate under the mutex, wait if it does not hold.  When every job is
 *   recorded it sets
 *
 *     as_event done         manual-reset: every worker stops once idle.
 *
 *   Each worker also waits on `abort`, an event nobody sets in a good run;
 *   at shutdown it cancels that wait, whose callback must then run exactly
 *   once with -ECANCELED.  Then each loop is torn down with the -EAGAIN
 *   idiom (keep dequeuing until the library's packets are all back).
 *
 *   Everything is verified: permits in use never above the limit, mutual
 *   exclusion under stats_lock, every block read back equal to what was
 *   written, the file's final contents, totals and checksum, every callback
 *   run exactly once per wait that went pending and on the thread of the
 *   loop it was bound to, the cancellation status, the temporary file gone.
 *   Any mismatch: a message on stderr and exit status 1.  A watchdog thread
 *   ends the process (status 1) when nothing progresses for 10 s: a lost
 *   wake-up fails the demo instead of hanging it.
 *
 * Usage: demo_iocp [--quick] [--jobs N] [--limit N] [--tasks N] [--loops N]
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <process.h> /* _beginthreadex: threads that use the C runtime */

#include <asyncsync.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOOPS  16
#define BLOCK      4096                      /* bytes per read or write */
#define WORDS      (BLOCK / sizeof(uint64_t))
#define BATCH      64       /* completions taken per GetQueuedCompletionStatusEx */
#define STALL_SECS 10       /* watchdog: no progress for this long is a hang */
#define KEY_FILE   1        /* completion key of our file handles: never a
                               loop's address, which the library's packets use */

struct worker;

struct task {
    struct worker *w;
    OVERLAPPED ov;         /* the task's one read or write in flight */
    as_wait wait;          /* reused: the semaphore wait, then the mutex wait */
    bool owed;             /* a callback is owed on `wait` (exactly-once check) */
    bool reading;          /* which I/O is in flight: write, then read back */
    bool io_ok;            /* the job's write and read-back both succeeded */
    uint64_t job;          /* the job under way: selects the data */
    int64_t last_ok;       /* last job whose block was verified here, or -1 */
    uint64_t off;          /* this task's own block of the file */
    uint64_t sum;          /* checksum of the block read back */
    uint64_t buf[WORDS];
};

struct worker {
    int id;
    HANDLE thread;
    DWORD tid;             /* the loop's thread: every callback must run here */
    HANDLE port;           /* this loop's completion port */
    HANDLE file;           /* this loop's handle on the shared temporary file */
    as_loop loop;
    as_wait stop_wait;     /* on g.done */
    as_wait abort_wait;    /* on g.abort: cancelled at shutdown */
    bool stop_owed, abort_owed;
    bool stopping;         /* g.done was seen */
    int abort_calls;       /* how often the abort callback ran (must be 1) */
    int abort_status;
    unsigned active;       /* tasks that still have a job */
    unsigned io_out;       /* overlapped operations issued, not yet completed */
    uint64_t jobs;         /* jobs this loop recorded (loop thread only) */
    uint64_t io_packets;   /* our completions dequeued */
    uint64_t lib_packets;  /* asyncsync's wake packets dequeued */
    unsigned eagain;       /* as_loop_destroy said -EAGAIN */
    struct task *tasks;
};

static struct {
    uint64_t total_jobs;
    unsigned nloops, ntasks, limit;
    char path[MAX_PATH];

    as_sem io_slots;
    as_mutex stats_lock;
    as_cond progress;
    as_event done;
    as_event abort;
    struct {               /* plain fields: guarded by stats_lock */
        uint64_t jobs, failed, bytes_written, bytes_read, checksum;
        uint64_t per_loop[MAX_LOOPS];
    } stats;

    /* The coordinator: the main thread's loop. */
    DWORD coord_tid;
    HANDLE coord_port;
    as_loop coord_loop;
    as_wait coord_wait;    /* the mutex wait, then each condvar wait */
    bool coord_owed;
    bool coord_finished;
    uint64_t coord_seen;   /* jobs recorded at the last look */
    unsigned coord_wakeups;
    unsigned next_pct;
    uint64_t coord_lib_packets;
    unsigned coord_eagain;

    /* Invariant checks, shared by all threads. */
    volatile LONG64 next_job, progress_ticks, pending, callbacks;
    volatile LONG inflight, peak, holders, failures;
    HANDLE finished;       /* Win32 event: the watchdog may stand down */
    struct worker workers[MAX_LOOPS];
} g;

static LONG64 load64(volatile LONG64 *p) { return InterlockedCompareExchange64(p, 0, 0); }
static LONG load32(volatile LONG *p) { return InterlockedCompareExchange(p, 0, 0); }

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("demo_iocp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    InterlockedIncrement(&g.failures);
}

/* A setup step failed: nothing sensible can follow. */
static void die(const char *what, DWORD err)
{
    fprintf(stderr, "demo_iocp: %s: error %lu\n", what, (unsigned long)err);
    exit(EXIT_FAILURE);
}

/* The data of word i of job j (splitmix64). */
static uint64_t pattern(uint64_t job, size_t i)
{
    uint64_t z = ((job << 12) | i) + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* An *_async call returned 0: one callback is now owed. */
static void owe(bool *owed)
{
    if (*owed)
        fail("a wait went pending while its last callback was still owed");
    *owed = true;
    InterlockedIncrement64(&g.pending);
}

/* Every asyncsync callback starts here: it must be owed (so it runs once),
 * run on the thread of its loop, and carry the expected status. */
static bool callback_ok(const char *what, bool *owed, DWORD tid, int status,
                        int expected)
{
    InterlockedIncrement64(&g.callbacks);
    if (!*owed)
        fail("%s callback ran, but none was owed (a second run?)", what);
    *owed = false;
    if (GetCurrentThreadId() != tid)
        fail("%s callback on thread %lu, its loop runs on %lu", what,
             (unsigned long)GetCurrentThreadId(), (unsigned long)tid);
    if (status != expected)
        fail("%s callback: status %s, expected %s", what, as_strerror(status),
             as_strerror(expected));
    return status == expected;
}

/* Between these two, the caller claims to hold stats_lock. */
static void enter_locked(const char *who)
{
    if (InterlockedIncrement(&g.holders) != 1)
        fail("mutual exclusion violated (%s)", who);
}
static void leave_locked(void) { InterlockedDecrement(&g.holders); }

/* ---- a job: permit, write, read back, release, record ---------------- */

static void task_next(struct task *t);

/* Holding stats_lock: record the job, wake the coordinator, unlock. */
static void task_record(struct task *t)
{
    enter_locked("worker");
    g.stats.jobs++;
    if (t->io_ok) {
        g.stats.bytes_written += BLOCK;
        g.stats.bytes_read += BLOCK;
        g.stats.checksum += t->sum;
    } else {
        g.stats.failed++;
    }
    g.stats.per_loop[t->w->id]++;
    leave_locked();

    /* The coordinator re-checks its predicate under the mutex, so a signal
     * that finds no waiter loses nothing. */
    int r = as_cond_signal(&g.progress);
    if (r < 0)
        fail("as_cond_signal: %s", as_strerror(r));
    r = as_mutex_unlock(&g.stats_lock);   /* may hand the lock to a waiter */
    if (r < 0)
        fail("as_mutex_unlock: %s", as_strerror(r));
    t->w->jobs++;
    InterlockedIncrement64(&g.progress_ticks);
    task_next(t);
}

static void on_stats_locked(as_wait *req, int status, void *arg)
{
    (void)req;
    struct task *t = arg;
    if (callback_ok("mutex", &t->owed, t->w->tid, status, 0))
        task_record(t);
    else
        task_next(t);                      /* no lock: the job is lost; the
                                              coordinator's count tells */
}

static void task_lock_stats(struct task *t)
{
    int r = as_mutex_lock_async(&g.stats_lock, &t->w->loop, &t->wait,
                                on_stats_locked, t);
    if (r == 1)                            /* locked at once: no callback */
        task_record(t);
    else if (r == 0)                       /* on_stats_locked() runs later */
        owe(&t->owed);
    else {
        fail("as_mutex_lock_async: %s", as_strerror(r));
        task_next(t);
    }
}

/* The job's I/O is over (t->io_ok says how): give the permit back. */
static void task_release_slot(struct task *t)
{
    InterlockedDecrement(&g.inflight);     /* before: the next holder counts */
    int r = as_sem_release(&g.io_slots, 1); /* may wake a task on any loop */
    if (r < 0)
        fail("as_sem_release: %s", as_strerror(r));
    task_lock_stats(t);
}

/* Issue the task's write or read.  Its completion comes out of this loop's
 * port whether the call finished at once (TRUE) or is pending (FALSE with
 * ERROR_IO_PENDING): the handle does not use
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, so there is one code path. */
static void task_start_io(struct task *t)
{
    struct worker *w = t->w;
    BOOL ok;
    memset(&t->ov, 0, sizeof t->ov);
    t->ov.Offset = (DWORD)t->off;
    t->ov.OffsetHigh = (DWORD)(t->off >> 32);
    if (t->reading)
        ok = ReadFile(w->file, t->buf, BLOCK, NULL, &t->ov);
    else
        ok = WriteFile(w->file, t->buf, BLOCK, NULL, &t->ov);
    if (ok || GetLastError() == ERROR_IO_PENDING) {
        w->io_out++;
        return;
    }
    fail("loop %d: %s at %" PRIu64 ": error %lu", w->id,
         t->reading ? "ReadFile" : "WriteFile", t->off,
         (unsigned long)GetLastError());
    t->io_ok = false;
    task_release_slot(t);
}

/* Holding a permit. */
static void task_slot_taken(struct task *t)
{
    LONG now = InterlockedIncrement(&g.inflight);
    LONG peak = load32(&g.peak);
    while (now > peak) {
        LONG seen = InterlockedCompareExchange(&g.peak, now, peak);
        if (seen == peak)
            break;
        peak = seen;
    }
    task_start_io(t);
}

static void on_slot(as_wait *req, int status, void *arg)
{
    (void)req;
    struct task *t = arg;
    if (callback_ok("semaphore", &t->owed, t->w->tid, status, 0))
        task_slot_taken(t);
    else {
        t->io_ok = false;                  /* no permit: record it as failed */
        task_lock_stats(t);
    }
}

/* Claim the next job, if any is left, and ask for a permit. */
static void task_next(struct task *t)
{
    uint64_t job = (uint64_t)InterlockedIncrement64(&g.next_job) - 1;
    if (job >= g.total_jobs) {
        t->w->active--;                    /* out of work */
        return;
    }
    t->job = job;
    t->reading = false;
    t->io_ok = true;
    for (size_t i = 0; i < WORDS; i++)
        t->buf[i] = pattern(job, i);

    int r = as_sem_acquire_async(&g.io_slots, &t->w->loop, &t->wait, 1,
                                 on_slot, t);
    if (r == 1)                            /* permit taken at once */
        task_slot_taken(t);
    else if (r == 0)                       /* on_slot() runs later */
        owe(&t->owed);
    else {
        fail("as_sem_acquire_async: %s", as_strerror(r));
        t->io_ok = false;
        task_lock_stats(t);
    }
}

/* Our own completion: a task's write or read finished. */
static void handle_own(struct worker *w, const OVERLAPPED_ENTRY *e)
{
    if (e->lpCompletionKey != KEY_FILE || e->lpOverlapped == NULL) {
        fail("loop %d: unexpected completion (key %p)", w->id,
             (void *)e->lpCompletionKey);
        return;
    }
    struct task *t = CONTAINING_RECORD(e->lpOverlapped, struct task, ov);
    DWORD n = 0;
    w->io_packets++;
    w->io_out--;
    if (!GetOverlappedResult(w->file, &t->ov, &n, FALSE) || n != BLOCK) {
        fail("loop %d: %s at %" PRIu64 ": %s (error %lu, %lu bytes)", w->id,
             t->reading ? "read" : "write", t->off,
             n != BLOCK ? "short transfer" : "failed",
             (unsigned long)GetLastError(), (unsigned long)n);
        t->io_ok = false;
        task_release_slot(t);
        return;
    }
    if (!t->reading) {                     /* written: read it back, same permit */
        memset(t->buf, 0, sizeof t->buf);
        t->reading = true;
        task_start_io(t);
        return;
    }
    uint64_t sum = 0;
    bool same = true;
    for (size_t i = 0; i < WORDS; i++) {
        same &= t->buf[i] == pattern(t->job, i);
        sum += t->buf[i];
    }
    if (!same) {
        fail("loop %d: job %" PRIu64 ": data read back differs", w->id, t->job);
        t->io_ok = false;
    } else {
        t->last_ok = (int64_t)t->job;
    }
    t->sum = sum;
    task_release_slot(t);
}

/* ---- the loop --------------------------------------------------------- */

static void on_done(as_wait *req, int status, void *arg)
{
    (void)req;
    struct worker *w = arg;
    callback_ok("done event", &w->stop_owed, w->tid, status, 0);
    w->stopping = true;
}

static void on_abort(as_wait *req, int status, void *arg)
{
    (void)req;
    struct worker *w = arg;
    callback_ok("abort event", &w->abort_owed, w->tid, status, -ECANCELED);
    w->abort_calls++;
    w->abort_status = status;
}

static bool worker_idle(const struct worker *w) { return w->stopping && w->active == 0; }
static bool abort_seen(const struct worker *w) { return w->abort_calls > 0; }

/* Take the next batch of completions and dispatch them: the library's wake
 * packets to the library, the rest to us.  Blocks without a timeout: a wake
 * from another thread is a packet on this port (the watchdog thread is what
 * ends a hang). */
static void dequeue(struct worker *w)
{
    OVERLAPPED_ENTRY e[BATCH];
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(w->port, e, BATCH, &n, INFINITE, FALSE))
        die("GetQueuedCompletionStatusEx", GetLastError());
    for (ULONG i = 0; i < n; i++) {
        if (as_loop_handle_completion(&w->loop, &e[i]))
            w->lib_packets++;              /* a wake: its callbacks are ready */
        else
            handle_own(w, &e[i]);
    }
}

static void run_loop(struct worker *w, bool (*until)(const struct worker *))
{
    for (;;) {
        /* (1) Run what asyncsync has ready: waits satisfied by this loop's
         * own tasks or by other threads.  They issue more I/O. */
        int r = as_loop_run(&w->loop);
        if (r < 0)
            fail("loop %d: as_loop_run: %s", w->id, as_strerror(r));
        if (until(w))
            return;
        /* (2) + (3) Block for completions, dispatch them. */
        dequeue(w);
    }
}

static unsigned __stdcall worker_main(void *arg)
{
    struct worker *w = arg;
    int r;
    w->tid = GetCurrentThreadId();

    /* The loop's port, its file handle associated with it (completion key
     * KEY_FILE), and the as_loop bound to the port, on the loop's thread. */
    w->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!w->port)
        die("CreateIoCompletionPort", GetLastError());
    w->file = CreateFileA(g.path, GENERIC_READ | GENERIC_WRITE,
                          FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                          NULL, OPEN_EXISTING,
                          FILE_FLAG_OVERLAPPED | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (w->file == INVALID_HANDLE_VALUE)
        die("CreateFile (overlapped)", GetLastError());
    if (CreateIoCompletionPort(w->file, w->port, KEY_FILE, 0) != w->port)
        die("CreateIoCompletionPort (associate the file)", GetLastError());
    if ((r = as_loop_init_iocp(&w->loop, w->port, NULL)) < 0) {
        fprintf(stderr, "demo_iocp: as_loop_init_iocp: %s\n", as_strerror(r));
        exit(EXIT_FAILURE);
    }

    /* Waits that outlive the jobs: shutdown (done) and abort. */
    r = as_event_wait_async(&g.abort, &w->loop, &w->abort_wait, on_abort, w);
    if (r == 0)
        owe(&w->abort_owed);
    else
        fail("loop %d: as_event_wait_async(abort) returned %d, expected 0",
             w->id, r);
    r = as_event_wait_async(&g.done, &w->loop, &w->stop_wait, on_done, w);
    if (r == 1)
        w->stopping = true;                /* already set (a tiny run) */
    else if (r == 0)
        owe(&w->stop_owed);
    else {
        fail("as_event_wait_async(done): %s", as_strerror(r));
        w->stopping = true;                /* stop when out of work */
    }

    w->active = g.ntasks;
    for (unsigned i = 0; i < g.ntasks; i++)
        task_next(&w->tasks[i]);
    run_loop(w, worker_idle);
    if (w->io_out != 0)
        fail("loop %d: %u overlapped operations still in flight", w->id, w->io_out);

    /* Shutdown: cancel the abort wait.  It was pending, so as_cancel says 0
     * and its callback runs exactly once, from as_loop_run, with -ECANCELED
     * (nobody set the event).  A second cancel finds nothing to cancel. */
    if (abort_seen(w) || !w->abort_owed)
        fail("loop %d: the abort wait ended before it was cancelled", w->id);
    else if ((r = as_cancel(&w->abort_wait)) != 0)
        fail("loop %d: as_cancel: %s, expected 0", w->id, as_strerror(r));
    else
        run_loop(w, abort_seen);
    if ((r = as_cancel(&w->abort_wait)) != -ENOENT)
        fail("loop %d: second as_cancel returned %d, expected -ENOENT", w->id, r);
    if ((r = as_loop_run(&w->loop)) != 0)
        fail("loop %d: %d callbacks after the cancellation, expected 0", w->id, r);
    InterlockedIncrement64(&g.progress_ticks);

    /* Teardown.  No wait is pending, so destroy cannot say -EBUSY; -EAGAIN
     * means wake packets of this loop are still in the port (or about to be
     * posted by a thread finishing a wake): dequeue them, offer them to the
     * library, and call again.  Only then may the port be closed. */
    while ((r = as_loop_destroy(&w->loop)) == -EAGAIN) {
        w->eagain++;
        dequeue(w);
    }
    if (r != 0)
        fail("loop %d: as_loop_destroy: %s", w->id, as_strerror(r));
    if (!CloseHandle(w->file))
        fail("loop %d: CloseHandle(file): error %lu", w->id, (unsigned long)GetLastError());
    if (!CloseHandle(w->port))
        fail("loop %d: CloseHandle(port): error %lu", w->id, (unsigned long)GetLastError());
    InterlockedIncrement64(&g.progress_ticks);
    return 0;
}

/* ---- the coordinator: the main thread's loop -------------------------- */

static void on_progress(as_wait *req, int status, void *arg);

/* Holding stats_lock (a condvar callback always does, whatever its status):
 * look at the progress, then wait for more or announce the end. */
static void coord_check(void)
{
    enter_locked("coordinator");
    uint64_t jobs = g.stats.jobs;
    leave_locked();
    if (jobs < g.coord_seen)
        fail("coordinator: recorded jobs went from %" PRIu64 " to %" PRIu64,
             g.coord_seen, jobs);
    g.coord_seen = jobs;
    InterlockedIncrement64(&g.progress_ticks);

    unsigned pct = 0;
    while (g.next_pct <= 100 && jobs * 100 >= (uint64_t)g.next_pct * g.total_jobs)
        pct = g.next_pct, g.next_pct += 25;

    int r = 0;
    if (jobs < g.total_jobs) {
        /* Not yet: release the mutex and wait for a signal, atomically. */
        r = as_cond_wait_async(&g.progress, &g.stats_lock, &g.coord_loop,
                               &g.coord_wait, on_progress, NULL);
        if (r == 0)
            owe(&g.coord_owed);
        else
            fail("as_cond_wait_async returned %d (%s), expected 0", r,
                 r < 0 ? as_strerror(r) : "-");
    }
    if (jobs >= g.total_jobs || r != 0) {
        /* All recorded (or the wait failed): stop the workers once idle. */
        if ((r = as_mutex_unlock(&g.stats_lock)) < 0)
            fail("as_mutex_unlock: %s", as_strerror(r));
        if ((r = as_event_set(&g.done)) < 0)
            fail("as_event_set: %s", as_strerror(r));
        g.coord_finished = true;
    }
    if (pct)
        printf("  progress        %3u%%  (%" PRIu64 " of %" PRIu64 " jobs recorded)\n",
               pct, jobs, g.total_jobs);
}

static void on_progress(as_wait *req, int status, void *arg)
{
    (void)req, (void)arg;
    g.coord_wakeups++;
    callback_ok("condvar", &g.coord_owed, g.coord_tid, status, 0);
    coord_check();                         /* the mutex is held, whatever status */
}

static void on_coord_locked(as_wait *req, int status, void *arg)
{
    (void)req, (void)arg;
    if (callback_ok("coordinator mutex", &g.coord_owed, g.coord_tid, status, 0))
        coord_check();
}

/* The same loop shape as a worker's; the coordinator issues no I/O, so every
 * packet on its port must be the library's. */
static void coord_dequeue(void)
{
    OVERLAPPED_ENTRY e[BATCH];
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(g.coord_port, e, BATCH, &n, INFINITE, FALSE))
        die("GetQueuedCompletionStatusEx", GetLastError());
    for (ULONG i = 0; i < n; i++) {
        if (as_loop_handle_completion(&g.coord_loop, &e[i]))
            g.coord_lib_packets++;
        else
            fail("coordinator: a completion that is not asyncsync's");
    }
}

static void coordinate(void)
{
    int r = as_mutex_lock_async(&g.stats_lock, &g.coord_loop, &g.coord_wait,
                                on_coord_locked, NULL);
    if (r == 1)
        coord_check();
    else if (r == 0)
        owe(&g.coord_owed);
    else {
        fail("as_mutex_lock_async: %s", as_strerror(r));
        as_event_set(&g.done);
        g.coord_finished = true;
    }
    for (;;) {
        if ((r = as_loop_run(&g.coord_loop)) < 0)
            fail("coordinator: as_loop_run: %s", as_strerror(r));
        if (g.coord_finished)
            break;
        coord_dequeue();
    }
    while ((r = as_loop_destroy(&g.coord_loop)) == -EAGAIN) {
        g.coord_eagain++;
        coord_dequeue();
    }
    if (r != 0)
        fail("coordinator: as_loop_destroy: %s", as_strerror(r));
    CloseHandle(g.coord_port);
}

/* ---- watchdog, verification, main ------------------------------------- */

static unsigned __stdcall watchdog_main(void *arg)
{
    (void)arg;
    LONG64 last = -1;
    int still = 0;
    /* The timeout is the watchdog's tick, not synchronisation: main sets
     * g.finished when everything is joined. */
    while (WaitForSingleObject(g.finished, 1000) == WAIT_TIMEOUT) {
        LONG64 now = load64(&g.progress_ticks);
        if (now != last) {
            last = now;
            still = 0;
        } else if (++still >= STALL_SECS) {
            fprintf(stderr, "demo_iocp: watchdog: no progress for %d s (%" PRId64
                    " of %" PRIu64 " jobs claimed, %ld in flight, %" PRId64
                    " permits free): lost wake-up?\n", STALL_SECS,
                    (int64_t)load64(&g.next_job), g.total_jobs,
                    (long)load32(&g.inflight), as_sem_value(&g.io_slots));
            fflush(stderr);
            TerminateProcess(GetCurrentProcess(), EXIT_FAILURE);
        }
    }
    return 0;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        printf("FAILED: %s\n", what);
        InterlockedIncrement(&g.failures);
    }
}

/* Read the whole file through a plain (synchronous) handle: every task's
 * block must hold the data of the last job it verified. */
static void verify_file(HANDLE f)
{
    uint64_t buf[WORDS];
    uint64_t end = 0;
    for (unsigned i = 0; i < g.nloops; i++) {
        for (unsigned k = 0; k < g.ntasks; k++) {
            const struct task *t = &g.workers[i].tasks[k];
            if (t->last_ok < 0)
                continue;                  /* got no job: never wrote */
            OVERLAPPED at;                 /* on a synchronous handle: the offset */
            DWORD n = 0;
            memset(&at, 0, sizeof at);
            at.Offset = (DWORD)t->off;
            at.OffsetHigh = (DWORD)(t->off >> 32);
            if (!ReadFile(f, buf, BLOCK, &n, &at) || n != BLOCK) {
                fail("final read at %" PRIu64 ": error %lu, %lu bytes", t->off,
                     (unsigned long)GetLastError(), (unsigned long)n);
                continue;
            }
            for (size_t j = 0; j < WORDS; j++) {
                if (buf[j] != pattern((uint64_t)t->last_ok, j)) {
                    fail("final contents at %" PRIu64 " are not job %" PRId64,
                         t->off, t->last_ok);
                    break;
                }
            }
            if (t->off + BLOCK > end)
                end = t->off + BLOCK;
        }
    }
    LARGE_INTEGER size;
    if (!GetFileSizeEx(f, &size) || (uint64_t)size.QuadPart != end)
        fail("file size %" PRId64 ", expected %" PRIu64, (int64_t)size.QuadPart, end);
}

static unsigned long arg_num(const char *opt, const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || errno || *end || v < 1 || v > max) {
        fprintf(stderr, "demo_iocp: %s needs a number from 1 to %lu\n", opt, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    g.total_jobs = 20000;
    g.limit = 8;
    g.ntasks = 16;
    g.nloops = 2;
    g.next_pct = 25;                       /* progress lines at 25, 50, 75, 100% */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            g.total_jobs = 1000;
        else if (!strcmp(argv[i], "--jobs"))
            g.total_jobs = arg_num("--jobs", argv[++i], 1000000000ul);
        else if (!strcmp(argv[i], "--limit"))
            g.limit = (unsigned)arg_num("--limit", argv[++i], 4096);
        else if (!strcmp(argv[i], "--tasks"))
            g.ntasks = (unsigned)arg_num("--tasks", argv[++i], 1024);
        else if (!strcmp(argv[i], "--loops"))
            g.nloops = (unsigned)arg_num("--loops", argv[++i], MAX_LOOPS);
        else {
            fprintf(stderr, "usage: %s [--quick] [--jobs N] [--limit N]"
                    " [--tasks N per loop] [--loops N]\n", argv[0]);
            return 2;
        }
    }

    int r;
    if ((r = as_sem_init(&g.io_slots, g.limit, 0)) < 0 ||
        (r = as_mutex_init(&g.stats_lock, 0)) < 0 ||
        (r = as_cond_init(&g.progress, 0)) < 0 ||
        (r = as_event_init(&g.done, AS_EVENT_MANUAL_RESET)) < 0 ||
        (r = as_event_init(&g.abort, AS_EVENT_MANUAL_RESET)) < 0) {
        fprintf(stderr, "demo_iocp: init: %s\n", as_strerror(r));
        return 1;
    }

    /* The watchdog first: it covers everything below, teardown included. */
    g.finished = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (!g.finished)
        die("CreateEvent", GetLastError());
    HANDLE dog = (HANDLE)_beginthreadex(NULL, 0, watchdog_main, NULL, 0, NULL);
    if (!dog)
        die("_beginthreadex (watchdog)", (DWORD)errno);

    /* A scratch file every loop opens (overlapped, its own handle).  Every
     * handle, this synchronous one included, deletes it on close: it is gone
     * when the last one closes, even if the demo dies. */
    char dir[MAX_PATH];
    DWORD len = GetTempPathA((DWORD)sizeof dir, dir);
    if (len == 0 || len >= sizeof dir)
        die("GetTempPath", GetLastError());
    if (!GetTempFileNameA(dir, "asy", 0, g.path))
        die("GetTempFileName", GetLastError());
    HANDLE check_file = CreateFileA(g.path, GENERIC_READ,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                    NULL, OPEN_EXISTING, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (check_file == INVALID_HANDLE_VALUE) {
        DWORD err = GetLastError();
        DeleteFileA(g.path);
        die("CreateFile (temporary file)", err);
    }

    /* The coordinator's loop: the main thread's port. */
    g.coord_tid = GetCurrentThreadId();
    g.coord_port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!g.coord_port)
        die("CreateIoCompletionPort", GetLastError());
    if ((r = as_loop_init_iocp(&g.coord_loop, g.coord_port, NULL)) < 0) {
        fprintf(stderr, "demo_iocp: as_loop_init_iocp: %s\n", as_strerror(r));
        return 1;
    }

    for (unsigned i = 0; i < g.nloops; i++) {
        struct worker *w = &g.workers[i];
        w->id = (int)i;
        w->tasks = calloc(g.ntasks, sizeof *w->tasks);
        if (!w->tasks)
            die("calloc", (DWORD)errno);
        for (unsigned k = 0; k < g.ntasks; k++) {
            w->tasks[k].w = w;
            w->tasks[k].last_ok = -1;
            w->tasks[k].off = ((uint64_t)i * g.ntasks + k) * BLOCK;
        }
    }
    printf("asyncsync IOCP demo: backend %s, %u worker loops x %u tasks +"
           " 1 coordinator loop, limit %u,\n  %" PRIu64 " jobs (overlapped"
           " write + read-back of %d bytes each)\n",
           as_loop_backend(&g.coord_loop), g.nloops, g.ntasks, g.limit,
           g.total_jobs, BLOCK);
    fflush(stdout);

    ULONGLONG t0 = GetTickCount64();
    HANDLE threads[MAX_LOOPS];
    for (unsigned i = 0; i < g.nloops; i++) {
        struct worker *w = &g.workers[i];
        w->thread = (HANDLE)_beginthreadex(NULL, 0, worker_main, w, 0, NULL);
        if (!w->thread)
            die("_beginthreadex", (DWORD)errno);
        threads[i] = w->thread;
    }
    coordinate();
    if (WaitForMultipleObjects(g.nloops, threads, TRUE, INFINITE) == WAIT_FAILED)
        die("WaitForMultipleObjects", GetLastError());
    double secs = (double)(GetTickCount64() - t0) / 1000.0;
    for (unsigned i = 0; i < g.nloops; i++)
        CloseHandle(threads[i]);

    /* The report, then every invariant. */
    verify_file(check_file);
    CloseHandle(check_file);               /* the last handle: the file goes */
    bool gone = GetFileAttributesA(g.path) == INVALID_FILE_ATTRIBUTES;
    if (!gone)
        DeleteFileA(g.path);

    uint64_t expect_sum = 0, loop_jobs = 0, io_packets = 0, lib_packets = 0;
    unsigned eagain = g.coord_eagain, cancelled = 0;
    for (uint64_t job = 0; job < g.total_jobs; job++)
        for (size_t i = 0; i < WORDS; i++)
            expect_sum += pattern(job, i);
    for (unsigned i = 0; i < g.nloops; i++) {
        const struct worker *w = &g.workers[i];
        loop_jobs += w->jobs;
        io_packets += w->io_packets;
        lib_packets += w->lib_packets;
        eagain += w->eagain;
        if (w->abort_calls == 1 && w->abort_status == -ECANCELED)
            cancelled++;
    }
    lib_packets += g.coord_lib_packets;

    LONG peak = load32(&g.peak);
    printf("  peak I/O        %ld jobs with I/O in flight (limit %u)\n", (long)peak, g.limit);
    printf("  jobs            %" PRIu64, g.stats.jobs);
    for (unsigned i = 0; i < g.nloops; i++)
        printf("%sloop %u: %" PRIu64, i ? ", " : " (", i, g.stats.per_loop[i]);
    printf("), %" PRIu64 " failed\n", g.stats.failed);
    printf("  bytes           %" PRIu64 " written, %" PRIu64 " read back and compared\n",
           g.stats.bytes_written, g.stats.bytes_read);
    printf("  checksum        %016" PRIx64 " (expected %016" PRIx64 ")\n",
           g.stats.checksum, expect_sum);
    printf("  completions     %" PRIu64 " file I/O + %" PRIu64
           " asyncsync wake packets, from the same ports\n", io_packets, lib_packets);
    printf("  coordinator     woke %u times on the condvar\n", g.coord_wakeups);
    printf("  callbacks       %" PRId64 " run, %" PRId64 " waits went pending"
           " (each once, on its loop's thread)\n",
           (int64_t)load64(&g.callbacks), (int64_t)load64(&g.pending));
    printf("  cancellation    %u of %u abort waits ended once with -ECANCELED\n",
           cancelled, g.nloops);
    printf("  teardown        as_loop_destroy said -EAGAIN %u times;"
           " temporary file %s\n", eagain, gone ? "deleted" : "NOT deleted");
    printf("  elapsed         %.3f s, %.0f jobs/s\n", secs,
           secs > 0 ? (double)g.total_jobs / secs : 0.0);

    check(peak >= 1 && peak <= (LONG)g.limit, "jobs with I/O in flight exceeded the semaphore limit");
    check(load32(&g.inflight) == 0, "I/O still in flight");
    check(as_sem_value(&g.io_slots) == g.limit, "semaphore permits not conserved");
    check(g.stats.jobs == g.total_jobs && loop_jobs == g.total_jobs &&
          g.stats.failed == 0, "wrong number of jobs recorded");
    check(g.stats.bytes_written == g.total_jobs * BLOCK &&
          g.stats.bytes_read == g.total_jobs * BLOCK, "wrong byte totals");
    for (unsigned i = 0; i < g.nloops; i++)
        check(g.stats.per_loop[i] == g.workers[i].jobs, "per-loop counts disagree");
    check(g.stats.checksum == expect_sum, "checksum mismatch");
    check(io_packets == 2 * g.total_jobs, "not one completion per read and write");
    check(g.coord_seen == g.total_jobs, "the coordinator did not see every job");
    check(load64(&g.callbacks) == load64(&g.pending), "callbacks run != waits that went pending");
    check(cancelled == g.nloops, "a cancelled wait did not end once with -ECANCELED");
    check(as_event_is_set(&g.abort) == 0, "the abort event was set");
    check(gone, "the temporary file was not deleted");
    check(as_sem_destroy(&g.io_slots) == 0, "as_sem_destroy failed");
    check(as_mutex_destroy(&g.stats_lock) == 0, "as_mutex_destroy failed");
    check(as_cond_destroy(&g.progress) == 0, "as_cond_destroy failed");
    check(as_event_destroy(&g.done) == 0, "as_event_destroy failed");
    check(as_event_destroy(&g.abort) == 0, "as_event_destroy failed");

    SetEvent(g.finished);                  /* the watchdog stands down */
    WaitForSingleObject(dog, INFINITE);
    CloseHandle(dog);
    CloseHandle(g.finished);
    for (unsigned i = 0; i < g.nloops; i++)
        free(g.workers[i].tasks);

    LONG failures = load32(&g.failures);
    if (failures)
        printf("FAILED (%ld problems)\n", (long)failures);
    else
        printf("OK\n");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
