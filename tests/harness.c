/*
 * Conformance-suite harness (see harness.h).
 */
#include "harness.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef _WIN32
#include <sys/eventfd.h>
#endif

atomic_bool th_abort_on_fail;
bool th_child_mode;
th_kind th_kind_values[3] = { TH_RING, TH_NOTIFY_EFD, TH_NOTIFY_COND };

static pthread_t th_main_thread;
static _Thread_local th_loop *th_tls_loop;   /* loop whose as_loop_run is on the stack */

__attribute__((constructor)) static void th_ctor(void)
{
    th_main_thread = pthread_self();
}

/* ------------------------------------------------------------------------- */

void th_fail_at(const char *file, int line, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (th_child_mode) {
        fprintf(stderr, "[child %d] %s:%d: %s\n", (int)getpid(), file, line, buf);
        fflush(stderr);
        _exit(TH_CHILD_FAIL);
    }
    if (atomic_load(&th_abort_on_fail) ||
        !pthread_equal(pthread_self(), th_main_thread)) {
        fprintf(stderr, "FATAL %s:%d: %s\n", file, line, buf);
        fflush(stderr);
        abort();
    }
    print_error("ERROR: %s\n", buf);
    _fail(file, line);
    abort(); /* not reached */
}

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *th_zalloc(size_t size)
{
#ifdef _WIN32
    /* msvcrt has no aligned_alloc whose memory free() takes; as_loop needs
     * no alignment (its cross-thread fields are kept apart by padding). */
    void *p = calloc(1, size);
    if (!p)
        th_fail("out of memory");
    return p;
#else
    size_t n = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n);
    if (!p)
        th_fail("out of memory");
    memset(p, 0, n);
    return p;
#endif
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TH_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define TH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TH_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TH_ASAN 1
#endif

double th_scale(void)
{
    static double scale = -1.0;
    if (scale < 0) {
        double s = 1.0;
        const char *e = getenv("TH_SCALE");
        if (e && *e)
            s = atof(e);
#if defined(TH_TSAN)
        s *= 0.25;
#elif defined(TH_ASAN)
        s *= 0.5;
#endif
        if (s <= 0)
            s = 1.0;
        scale = s;
    }
    return scale;
}

int th_scaled(int n)
{
    double v = (double)n * th_scale();
    return v < 1.0 ? 1 : (int)v;
}

const char *th_errname(int err)
{
    static _Thread_local char bufs[4][32];
    static _Thread_local unsigned which;
    char *buf = bufs[which++ & 3];
    switch (err) {
    case 0: return "0";
    case 1: return "1";
    case -EINVAL: return "-EINVAL";
    case -EBUSY: return "-EBUSY";
    case -EPERM: return "-EPERM";
    case -ENOENT: return "-ENOENT";
    case -ECANCELED: return "-ECANCELED";
    case -EOVERFLOW: return "-EOVERFLOW";
    case -EAGAIN: return "-EAGAIN";
    case -ETIMEDOUT: return "-ETIMEDOUT";
    case -EOPNOTSUPP: return "-EOPNOTSUPP";
    case -ENOSYS: return "-ENOSYS";
    case -ENOMEM: return "-ENOMEM";
    case -EINTR: return "-EINTR";
    case -ETIME: return "-ETIME";
    case -EPROTO: return "-EPROTO";
    case -ENXIO: return "-ENXIO";
    case -EBADF: return "-EBADF";
    default:
        snprintf(buf, 32, "%d", err);
        return buf;
    }
}

const char *th_env_backend(void)
{
    const char *e = getenv("ASYNCSYNC_BACKEND");
    return (e && *e) ? e : NULL;
}

const char *th_kind_name(th_kind k)
{
    switch (k) {
#ifdef _WIN32
    case TH_RING: return "iocp";
    case TH_NOTIFY_EFD: return "notify-port";
#else
    case TH_RING: return "ring";
    case TH_NOTIFY_EFD: return "notify-eventfd";
#endif
    case TH_NOTIFY_COND: return "notify-cond";
    }
    return "?";
}

const char *th_default_backend(void)
{
#ifdef _WIN32
    return "iocp";
#else
    return th_kernel_has_futex_ops() ? "uring" : "generic";
#endif
}

#ifdef _WIN32
bool th_kernel_has_futex_ops(void)
{
    return false;
}
#else
bool th_kernel_has_futex_ops(void)
{
    struct io_uring ring;
    bool ok = false;
    if (io_uring_queue_init(2, &ring, 0) < 0)
        return false;
    struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
    if (p) {
        /* IORING_OP_FUTEX_WAIT = 51, IORING_OP_FUTEX_WAKE = 52 (Linux 6.7) */
        ok = io_uring_opcode_supported(p, 51) && io_uring_opcode_supported(p, 52);
        io_uring_free_probe(p);
    }
    io_uring_queue_exit(&ring);
    return ok;
}
#endif

/* Condvars with deadlines (th_deadline), on the monotonic clock.  Windows:
 * winpthreads refuses pthread_condattr_setclock(CLOCK_MONOTONIC) (EINVAL)
 * and measures pthread_cond_timedwait's deadline on the realtime clock, so
 * the deadlines are realtime ones there. */
#ifdef _WIN32
#define TH_COND_CLOCK CLOCK_REALTIME
#else
#define TH_COND_CLOCK CLOCK_MONOTONIC
#endif

static void th_cond_init_clock(pthread_cond_t *cv)
{
#ifdef _WIN32
    pthread_cond_init(cv, NULL);
#else
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
#endif
}

static struct timespec th_deadline(double seconds)
{
    struct timespec ts;
    clock_gettime(TH_COND_CLOCK, &ts);
    double ns = (double)ts.tv_nsec + seconds * 1e9;
    ts.tv_sec += (time_t)(ns / 1e9);
    ts.tv_nsec = (long)(ns - (double)(long long)(ns / 1e9) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* ---------------------------------------------------------------------------
 * Loops: what the harness's loop does with its ring (Linux) or its port
 * (Windows).  One set of th_ring_* functions per platform; everything after
 * them is shared.
 * ------------------------------------------------------------------------- */

#ifdef _WIN32

/* Hand one dequeued packet to the library first, as an application does. */
static void th_handle_one(th_loop *L, const OVERLAPPED_ENTRY *e)
{
    ULONG_PTR key = e->lpCompletionKey;
    bool is_kick = key == TH_KICK_KEY(L);
    bool is_foreign = ((uint64_t)key & 0xffffffff00000000ull) == TH_FOREIGN_TAG;
    bool ours = L->initialised && as_loop_handle_completion(&L->loop, e);
    if (ours) {
        if (is_kick || is_foreign)
            th_fail("as_loop_handle_completion claimed an application packet (key %#llx)",
                    (unsigned long long)key);
        L->cqes_ours++;
    } else if (is_kick) {
        /* a kick: it woke the loop, nothing else to do */
    } else if (is_foreign) {
        L->cqes_foreign++;
    } else {
        L->cqes_unknown++;
        fprintf(stderr, "harness: packet nobody claims: key %#llx overlapped %p bytes %lu\n",
                (unsigned long long)key, (void *)e->lpOverlapped,
                (unsigned long)e->dwNumberOfBytesTransferred);
    }
}

/* Dequeue into L->ents (which must be fully handled), waiting at most ms.
 * Returns true when packets were dequeued. */
static bool th_ring_dequeue(th_loop *L, unsigned ms)
{
    ULONG n = 0;
    L->n_ents = L->pos_ents = 0;
    if (!GetQueuedCompletionStatusEx(L->port, L->ents, TH_ENTRIES, &n, (DWORD)ms, FALSE)) {
        DWORD err = GetLastError();
        if (err == WAIT_TIMEOUT)
            return false;
        th_fail("GetQueuedCompletionStatusEx: error %lu", (unsigned long)err);
    }
    L->n_ents = (unsigned)n;
    return n > 0;
}

static int th_ring_handle_dequeued(th_loop *L)
{
    int n = 0;
    while (L->pos_ents < L->n_ents) {
        th_handle_one(L, &L->ents[L->pos_ents++]);
        n++;
    }
    return n;
}

static void th_ring_kick(th_loop *L)
{
    if (!PostQueuedCompletionStatus(L->port, 0, TH_KICK_KEY(L), NULL))
        th_fail("PostQueuedCompletionStatus (harness kick): error %lu",
                (unsigned long)GetLastError());
}

/* The packets th_loop_wait dequeued, then every packet in the port. */
static int th_drain(th_loop *L)
{
    if (!L->has_ring)
        return 0;
    int n = th_ring_handle_dequeued(L);
    while (th_ring_dequeue(L, 0))
        n += th_ring_handle_dequeued(L);
    return n;
}

static bool th_ring_wait(th_loop *L, unsigned ms)
{
    if (L->pos_ents < L->n_ents)
        return true;
    return th_ring_dequeue(L, ms);
}

/* as_loop_destroy said -EAGAIN: feed it what arrives within ~100 ms. */
static void th_ring_reap(th_loop *L)
{
    if (L->pos_ents >= L->n_ents)
        th_ring_dequeue(L, 100);
    th_ring_handle_dequeued(L);
}

static void th_ring_close(th_loop *L)
{
    if (L->has_ring) {
        CloseHandle(L->port);
        L->port = NULL;
        L->has_ring = false;
    }
}

static int th_ring_open(th_loop *L, const th_ring_params *rp)
{
    (void)rp;
    L->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!L->port) {
        fprintf(stderr, "harness: CreateIoCompletionPort: error %lu\n",
                (unsigned long)GetLastError());
        return -ENOMEM;
    }
    L->has_ring = true;
    return 0;
}

static int th_ring_bind(th_loop *L, const as_loop_options *opts)
{
    return as_loop_init_iocp(&L->loop, L->port, opts);
}

int th_queue_nops(th_loop *L, int n)
{
    int i = 0;
    if (!L->has_ring)
        return 0;
    if (n < 0)
        n = TH_NOPS_FILL;
    for (; i < n; i++)
        if (!PostQueuedCompletionStatus(L->port, 0, (ULONG_PTR)(TH_FOREIGN_TAG | (uint64_t)i),
                                        NULL))
            th_fail("PostQueuedCompletionStatus (application packet): error %lu",
                    (unsigned long)GetLastError());
    return i;
}

void th_submit(th_loop *L)
{
    (void)L;
}

#else /* io_uring */

static void th_arm_kick(th_loop *L)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&L->ring);
    if (!sqe) {
        io_uring_submit(&L->ring);
        sqe = io_uring_get_sqe(&L->ring);
    }
    if (!sqe && (L->ring.flags & IORING_SETUP_SQPOLL)) {
        io_uring_sqring_wait(&L->ring); /* the SQ thread frees slots */
        sqe = io_uring_get_sqe(&L->ring);
    }
    if (!sqe)
        th_fail("no SQE for the harness's eventfd read");
    io_uring_prep_read(sqe, L->kick_fd, &L->kick_buf, sizeof L->kick_buf, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)&L->kick_buf);
    L->kick_armed = true;
}

/* Offer one CQE to the library first, as an application does. */
static void th_handle_one(th_loop *L, struct io_uring_cqe *cqe)
{
    uint64_t ud = cqe->user_data;
    bool is_kick = ud == (uint64_t)(uintptr_t)&L->kick_buf;
    bool is_foreign = (ud & 0xffffffff00000000ull) == TH_FOREIGN_TAG;
    bool ours = L->initialised && as_loop_handle_cqe(&L->loop, cqe);
    if (ours) {
        if (is_kick || is_foreign)
            th_fail("as_loop_handle_cqe claimed an application CQE (user_data %#llx)",
                    (unsigned long long)ud);
        L->cqes_ours++;
    } else if (is_kick) {
        L->kick_armed = false;
        if (cqe->res < 0 && cqe->res != -ECANCELED)
            th_fail("harness eventfd read failed: %s", th_errname(cqe->res));
    } else if (is_foreign) {
        L->cqes_foreign++;
    } else {
        L->cqes_unknown++;
        fprintf(stderr, "harness: CQE nobody claims: user_data %#llx res %d\n",
                (unsigned long long)ud, cqe->res);
    }
}

static void th_ring_kick(th_loop *L)
{
    uint64_t one = 1;
    ssize_t r = write(L->kick_fd, &one, sizeof one);
    if (r != (ssize_t)sizeof one)
        th_fail("eventfd write failed");
}

static int th_drain(th_loop *L)
{
    if (!L->has_ring)
        return 0;
    int n = 0;
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&L->ring, &cqe) == 0) {
        th_handle_one(L, cqe);
        io_uring_cqe_seen(&L->ring, cqe);
        n++;
    }
    if (!L->kick_armed)
        th_arm_kick(L);
    return n;
}

static bool th_ring_wait(th_loop *L, unsigned ms)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { (long long)(ms / 1000), (long long)(ms % 1000) * 1000000LL };
    int r = io_uring_wait_cqe_timeout(&L->ring, &cqe, &ts);
    if (r == 0 || r == -EINTR)
        return true;
    if (r == -ETIME)
        return false;
    th_fail("io_uring_wait_cqe_timeout: %s", th_errname(r));
}

/* as_loop_destroy said -EAGAIN: submit (the cancel), feed it what arrives
 * within ~100 ms. */
static void th_ring_reap(th_loop *L)
{
    io_uring_submit(&L->ring);
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { 0, 100 * 1000 * 1000 };
    (void)io_uring_wait_cqe_timeout(&L->ring, &cqe, &ts);
    while (io_uring_peek_cqe(&L->ring, &cqe) == 0) {
        th_handle_one(L, cqe);
        io_uring_cqe_seen(&L->ring, cqe);
    }
}

static void th_ring_close(th_loop *L)
{
    if (L->has_ring) {
        io_uring_queue_exit(&L->ring);
        L->has_ring = false;
    }
    if (L->kick_fd >= 0) {
        close(L->kick_fd);
        L->kick_fd = -1;
    }
}

static int th_ring_open(th_loop *L, const th_ring_params *rp)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = rp->flags;
    if (rp->sq_cpu >= 0) {
        p.flags |= IORING_SETUP_SQ_AFF;
        p.sq_thread_cpu = (unsigned)rp->sq_cpu;
    }
    int r = io_uring_queue_init_params(rp->entries, &L->ring, &p);
    if (r < 0)
        return r;
    L->has_ring = true;
    L->kick_fd = eventfd(0, EFD_CLOEXEC);
    if (L->kick_fd < 0)
        return -errno;
    th_arm_kick(L);
    return 0;
}

static int th_ring_bind(th_loop *L, const as_loop_options *opts)
{
    return as_loop_init_uring(&L->loop, &L->ring, opts);
}

int th_queue_nops(th_loop *L, int n)
{
    int i = 0;
    if (!L->has_ring)
        return 0;
    while (n < 0 || i < n) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&L->ring);
        if (!sqe)
            break;
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, TH_FOREIGN_TAG | (uint64_t)i);
        i++;
    }
    return i;
}

void th_submit(th_loop *L)
{
    io_uring_submit(&L->ring);
}

#endif /* io_uring */

static void th_notify(void *ctx)
{
    th_loop *L = ctx;
    atomic_fetch_add(&L->notifies, 1);
    if (!pthread_equal(pthread_self(), L->thread))
        atomic_fetch_add(&L->notifies_foreign, 1);
    th_loop_kick(L);
}

void th_loop_kick(th_loop *L)
{
    if (L->kind == TH_NOTIFY_COND) {
        pthread_mutex_lock(&L->mu);
        atomic_fetch_add(&L->kicks, 1);
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
    } else {
        atomic_fetch_add(&L->kicks, 1);
        th_ring_kick(L);
    }
}

static void th_loop_cleanup(th_loop *L)
{
    th_ring_close(L);
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
}

int th_loop_init(th_loop *L, th_kind kind, const as_loop_options *opts)
{
    return th_loop_init_ex(L, kind, opts, 64);
}

int th_loop_init_ex(th_loop *L, th_kind kind, const as_loop_options *opts, unsigned entries)
{
    th_ring_params rp = { entries, 0, -1 };
    return th_loop_init_rp(L, kind, opts, &rp);
}

int th_loop_init_rp(th_loop *L, th_kind kind, const as_loop_options *opts,
                    const th_ring_params *rp)
{
    memset(L, 0, sizeof *L);
    L->kind = kind;
    L->strict = true;
    L->slice_ms = 100;
#ifndef _WIN32
    L->kick_fd = -1;
#endif
    L->thread = pthread_self();
    pthread_mutex_init(&L->mu, NULL);
    th_cond_init_clock(&L->cv);
    if (kind != TH_NOTIFY_COND) {
        int r = th_ring_open(L, rp);
        if (r < 0) {
            th_loop_cleanup(L);
            return r;
        }
    }
    int r;
    if (kind == TH_RING)
        r = th_ring_bind(L, opts);
    else
        r = as_loop_init_generic(&L->loop, th_notify, L, opts);
    if (r < 0) {
        th_loop_cleanup(L);
        return r;
    }
    L->initialised = true;

    const char *b = as_loop_backend(&L->loop);
    const char *want = kind == TH_RING ? th_env_backend() : "generic";
#ifdef _WIN32
    /* One backend per port; the library does not read the environment. */
    if (kind == TH_RING && !want)
        want = "iocp";
#else
    /* Without FUTEX_WAIT a ring loop parks the generic way: either name. */
    if (kind == TH_RING && opts && (opts->disabled_caps & AS_CAP_FUTEX_WAIT))
        want = NULL;
#endif
    bool ok = b != NULL;
    if (ok && want)
        ok = strcmp(b, want) == 0;
    else if (ok)
        ok = strcmp(b, "uring") == 0 || strcmp(b, "generic") == 0;
    if (!ok) {
        fprintf(stderr, "harness: as_loop_backend() = %s, expected %s (kind %s)\n",
                b ? b : "NULL", want ? want : "uring|generic", th_kind_name(kind));
        th_loop_destroy_rc(L);
        return -EPROTO;
    }
    /* The loop belongs to the thread that runs it. */
    if (kind == TH_NOTIFY_COND)
        th_loop_run(L);
    else
        th_pump(L);
    return 0;
}

int th_loop_rebind(th_loop *L, const as_loop_options *opts)
{
    int r = L->kind == TH_RING ? th_ring_bind(L, opts)
                               : as_loop_init_generic(&L->loop, th_notify, L, opts);
    if (r < 0)
        return r;
    L->initialised = true;
    if (L->kind == TH_NOTIFY_COND)
        th_loop_run(L);
    else
        th_pump(L);
    return 0;
}

void th_loop_setup(th_loop *L, th_kind kind, const as_loop_options *opts)
{
    int r = th_loop_init(L, kind, opts);
    if (r == 0)
        return;
#ifndef _WIN32
    if (r == -ENOSYS || r == -EPERM) {
        print_message("io_uring unavailable (%s): skipping\n", th_errname(r));
        skip();
    }
    if (r == -EOPNOTSUPP && kind == TH_RING && th_env_backend() &&
        strcmp(th_env_backend(), "uring") == 0 && !th_kernel_has_futex_ops()) {
        print_message("kernel lacks IORING_OP_FUTEX_WAIT (Linux 6.7+): skipping\n");
        skip();
    }
#endif
    th_fail("loop init (%s) failed: %s", th_kind_name(kind), th_errname(r));
}

int th_loop_destroy_rc(th_loop *L)
{
    if (!L->initialised)
        return 0;
    int r = th_as_loop_destroy(L);
    if (r == 0) {
        L->initialised = false;
        th_loop_cleanup(L);
    }
    return r;
}

int th_as_loop_destroy(th_loop *L)
{
    double dl = th_now() + TH_TIMEOUT;
    int r;
    for (;;) {
        r = as_loop_destroy(&L->loop);
        if (r != -EAGAIN)
            break;
        if (!L->has_ring) {
            fprintf(stderr, "harness: as_loop_destroy -EAGAIN on a loop without a ring\n");
            return r;
        }
        if (th_now() > dl)
            return -ETIMEDOUT;
        th_ring_reap(L);
    }
    return r;
}

void th_loop_after_destroy(th_loop *L)
{
    L->initialised = false;
#ifndef _WIN32
    if (L->has_ring) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { 0, 30 * 1000 * 1000 };
        io_uring_submit(&L->ring);
        while (io_uring_wait_cqe_timeout(&L->ring, &cqe, &ts) == 0) {
            uint64_t ud = cqe->user_data;
            if (ud == (uint64_t)(uintptr_t)&L->kick_buf)
                L->kick_armed = false;
            else if ((ud & 0xffffffff00000000ull) == TH_FOREIGN_TAG)
                L->cqes_foreign++;
            else if (as_loop_handle_cqe(&L->loop, cqe))
                L->cqes_ours++;
            else
                th_fail("after destroy: a CQE nobody claims (user_data %#llx)",
                        (unsigned long long)ud);
            io_uring_cqe_seen(&L->ring, cqe);
        }
    }
#endif
    th_loop_cleanup(L);
}

void th_loop_destroy(th_loop *L)
{
    if (L->cqes_unknown)
        th_fail("%lu CQE(s) on the ring were claimed by nobody", L->cqes_unknown);
    int r = th_loop_destroy_rc(L);
    if (r != 0)
        th_fail("loop teardown ended with %s", th_errname(r));
}

int th_loop_run(th_loop *L)
{
    th_loop *prev = th_tls_loop;
    th_tls_loop = L;
    L->runs++;
    int r = as_loop_run(&L->loop);
    th_tls_loop = prev;
    if (r < 0)
        th_fail("as_loop_run: %s", th_errname(r));
    L->callbacks += (unsigned long)r;
    return r;
}

/* events: CQEs drained / notify consumed (so a callback has a reason) */
static int th_pump_ex(th_loop *L, int *events)
{
    if (L->kind == TH_NOTIFY_COND) {
        unsigned long long k = atomic_load(&L->kicks);
        *events = 0;
        /* as_loop_run only when notified, or when a deadline is due (the
         * application's poll timed out at as_loop_timeout_ns) */
        if (k == L->seen_kicks) {
            if (as_loop_timeout_ns(&L->loop) != 0)
                return 0;
            *events = 1;
            return th_loop_run(L);
        }
        L->seen_kicks = k;
        *events = 1;
        return th_loop_run(L);
    }
    *events = th_drain(L);
    int ran = th_loop_run(L);
#ifndef _WIN32
    int s = io_uring_submit(&L->ring);
    if (s < 0 && s != -EBUSY && s != -EAGAIN && s != -EINTR)
        th_fail("io_uring_submit: %s", th_errname(s));
#endif
    return ran;
}

int th_pump(th_loop *L)
{
    int ev;
    return th_pump_ex(L, &ev);
}

static bool th_loop_wait_raw(th_loop *L, unsigned ms);

/* Loops whose deadlines the application must time (as_loop_timeout_ns):
 * notify-driven loops, and IOCP loops on Windows.  A uring/generic ring loop
 * carries its own timer on the ring. */
static bool th_app_times_deadlines(const th_loop *L)
{
#ifdef _WIN32
    (void)L;
    return true;
#else
    return L->kind != TH_RING;
#endif
}

bool th_loop_wait(th_loop *L, unsigned ms)
{
    /* The two lines a notify-driven (or IOCP) loop adds for deadlines: block
     * at most until the earliest; reaching it is a wake like any other. */
    if (L->initialised && th_app_times_deadlines(L)) {
        int64_t t = as_loop_timeout_ns(&L->loop);
        if (t >= 0 && (uint64_t)t < (uint64_t)ms * 1000000u) {
            /* woken, or the deadline came: as_loop_run expires it */
            (void)th_loop_wait_raw(L, (unsigned)((t + 999999) / 1000000));
            return true;
        }
    }
    return th_loop_wait_raw(L, ms);
}

static bool th_loop_wait_raw(th_loop *L, unsigned ms)
{
    if (L->kind == TH_NOTIFY_COND) {
        struct timespec dl = th_deadline((double)ms / 1000.0);
        pthread_mutex_lock(&L->mu);
        while (atomic_load(&L->kicks) == L->seen_kicks) {
            if (pthread_cond_timedwait(&L->cv, &L->mu, &dl) == ETIMEDOUT)
                break;
        }
        bool woke = atomic_load(&L->kicks) != L->seen_kicks;
        pthread_mutex_unlock(&L->mu);
        return woke;
    }
    return th_ring_wait(L, ms);
}

static void th_strict_check(const char *file, int line, th_loop *L, bool slept_silently,
                            int events, int ran)
{
    if (slept_silently && events == 0 && ran > 0) {
        L->silent_wakes++;
        if (L->strict)
            th_fail_at(file, line,
                       "%d callback(s) were ready while the loop slept %u ms with no "
                       "CQE/notify: a loop blocked without timeout would hang (%s loop)",
                       ran, L->slice_ms, th_kind_name(L->kind));
    }
}

void th_run_until_at(const char *file, int line, th_loop *L, th_pred pred, void *arg,
                     double timeout_s)
{
    double dl = th_now() + timeout_s;
    bool silent = false;
    for (;;) {
        int ev;
        int ran = th_pump_ex(L, &ev);
        th_strict_check(file, line, L, silent, ev, ran);
        if (pred(arg))
            return;
        double left = dl - th_now();
        if (left <= 0)
            th_fail_at(file, line, "timed out after %.1f s waiting for the condition (%s loop)",
                       timeout_s, th_kind_name(L->kind));
        double ms = left * 1000.0 + 1.0;
        if (ms > L->slice_ms)
            ms = L->slice_ms;
        silent = !th_loop_wait(L, (unsigned)ms);
    }
}

void th_run_until_woken_at(const char *file, int line, th_loop *L, th_pred pred, void *arg,
                           double timeout_s)
{
    double dl = th_now() + timeout_s;
    for (;;) {
        th_pump(L);
        if (pred(arg))
            return;
        double left = dl - th_now();
        if (left <= 0)
            th_fail_at(file, line, "timed out after %.1f s waiting for the condition",
                       timeout_s);
        if (!th_loop_wait(L, (unsigned)(left * 1000.0) + 1))
            th_fail_at(file, line,
                       "lost wake-up: the loop (%s) slept %.1f s and no CQE/notify arrived",
                       th_kind_name(L->kind), timeout_s);
    }
}

void th_quiesce(th_loop *L, double seconds)
{
    double dl = th_now() + seconds;
    bool silent = false;
    for (;;) {
        int ev;
        int ran = th_pump_ex(L, &ev);
        th_strict_check(__FILE__, __LINE__, L, silent, ev, ran);
        double left = dl - th_now();
        if (left <= 0)
            return;
        double ms = left * 1000.0 + 1.0;
        if (ms > L->slice_ms)
            ms = L->slice_ms;
        silent = !th_loop_wait(L, (unsigned)ms);
    }
}


/* ---------------------------------------------------------------------------
 * Recorder and waiters
 * ------------------------------------------------------------------------- */

void th_rec_init(th_rec *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

void th_rec_reset(th_rec *r)
{
    th_rec_assert_clean(r);
    pthread_mutex_destroy(&r->mu);
    th_rec_init(r);
}

unsigned th_rec_count(th_rec *r)
{
    return atomic_load(&r->n);
}

th_rec_entry th_rec_get(th_rec *r, unsigned i)
{
    th_rec_entry e;
    pthread_mutex_lock(&r->mu);
    if (i < atomic_load(&r->n) && i < TH_REC_MAX)
        e = r->e[i];
    else
        memset(&e, 0, sizeof e), e.id = -1;
    pthread_mutex_unlock(&r->mu);
    return e;
}

static void th_rec_add(th_rec *r, th_rec_entry e)
{
    pthread_mutex_lock(&r->mu);
    unsigned n = atomic_load(&r->n);
    if (n < TH_REC_MAX) {
        r->e[n] = e;
        if (e.bad)
            atomic_fetch_add(&r->bad_total, 1);
        atomic_store(&r->n, n + 1);
    } else {
        atomic_fetch_add(&r->bad_total, 1);
    }
    pthread_mutex_unlock(&r->mu);
}

static const char *th_bad_names(unsigned bad, char *buf, size_t len)
{
    static const char *names[] = { "wrong as_wait pointer", "not from as_loop_run",
                                   "from another loop's as_loop_run",
                                   "as_wait_pending() != 0 in the callback",
                                   "mutex not held in the callback", "second callback",
                                   "unlock in the callback failed", "recorder full" };
    buf[0] = 0;
    for (unsigned i = 0; i < 8; i++)
        if (bad & (1u << i)) {
            strncat(buf, names[i], len - strlen(buf) - 1);
            strncat(buf, "; ", len - strlen(buf) - 1);
        }
    return buf;
}

void th_rec_assert_clean(th_rec *r)
{
    unsigned n = th_rec_count(r);
    for (unsigned i = 0; i < n && i < TH_REC_MAX; i++) {
        th_rec_entry e = th_rec_get(r, i);
        if (e.bad) {
            char buf[256];
            th_fail("callback #%u (waiter id %d, status %s): %s", i, e.id,
                    th_errname(e.status), th_bad_names(e.bad, buf, sizeof buf));
        }
    }
    if (atomic_load(&r->bad_total))
        th_fail("recorder saw %u bad callbacks", atomic_load(&r->bad_total));
}

void th_rec_assert_ids_at(const char *file, int line, th_rec *r, const int *ids, unsigned n)
{
    unsigned got = th_rec_count(r);
    char buf[512] = "";
    for (unsigned i = 0; i < got && i < 40; i++) {
        char one[32];
        th_rec_entry e = th_rec_get(r, i);
        snprintf(one, sizeof one, "%d(%s) ", e.id, th_errname(e.status));
        strncat(buf, one, sizeof buf - strlen(buf) - 1);
    }
    if (got != n)
        th_fail_at(file, line, "%u callbacks recorded, expected %u: %s", got, n, buf);
    for (unsigned i = 0; i < n; i++) {
        if (th_rec_get(r, i).id != ids[i])
            th_fail_at(file, line, "callback #%u was waiter %d, expected %d: order %s", i,
                       th_rec_get(r, i).id, ids[i], buf);
    }
}

int th_rec_status_of_at(const char *file, int line, th_rec *r, int id)
{
    unsigned n = th_rec_count(r), found = 0;
    int st = 0;
    for (unsigned i = 0; i < n; i++) {
        th_rec_entry e = th_rec_get(r, i);
        if (e.id == id) {
            found++;
            st = e.status;
        }
    }
    if (found != 1)
        th_fail_at(file, line, "waiter %d has %u callbacks, expected 1", id, found);
    return st;
}

typedef struct { th_rec *r; unsigned n; } th_rec_wait_arg;

static bool th_rec_ge(void *arg)
{
    th_rec_wait_arg *a = arg;
    return th_rec_count(a->r) >= a->n;
}

void th_rec_wait_at(const char *file, int line, th_loop *L, th_rec *r, unsigned n)
{
    th_rec_wait_arg a = { r, n };
    th_run_until_at(file, line, L, th_rec_ge, &a, TH_TIMEOUT);
}

void th_rec_wait_woken_at(const char *file, int line, th_loop *L, th_rec *r, unsigned n)
{
    th_rec_wait_arg a = { r, n };
    th_run_until_woken_at(file, line, L, th_rec_ge, &a, TH_TIMEOUT);
}

void th_waiter_init(th_waiter *tw, th_rec *rec, th_loop *L, int id)
{
    memset(tw, 0, sizeof *tw);
    tw->rec = rec;
    tw->L = L;
    tw->id = id;
    atomic_init(&tw->calls, 0);
    atomic_init(&tw->status, 1);
}

/* "Armed" marker: the as_wait's public `data` field (the caller's). */
#define TH_ARMED ((void *)(uintptr_t)0x1)

void th_cb(as_wait *w, int status, void *arg)
{
    th_waiter *tw = arg;
    unsigned bad = 0;
    int held = -100;
    th_loop *cur = th_tls_loop;
    if (w != &tw->w)
        bad |= TH_BAD_WAIT_PTR;
    if (!cur)
        bad |= TH_BAD_NOT_IN_RUN;
    else if (tw->L && cur != tw->L)
        bad |= TH_BAD_WRONG_LOOP;
    if (as_wait_pending(&tw->w) != 0)
        bad |= TH_BAD_PENDING;
    if (tw->w.data != TH_ARMED)
        bad |= TH_BAD_DOUBLE;
    tw->w.data = NULL;
    if (tw->mutex && (tw->held_mode == TH_HELD_ALWAYS ||
                      (tw->held_mode == TH_HELD_IF_OK && status == 0))) {
        held = as_mutex_try_lock(tw->mutex);
        if (held == 1) {
            bad |= TH_BAD_NOT_HELD;
            as_mutex_unlock(tw->mutex); /* restore: it was free */
        } else if (held < 0 && held != -ESHUTDOWN) {
            bad |= TH_BAD_NOT_HELD;
        } else if (tw->unlock_in_cb) {
            /* (a closed mutex says -ESHUTDOWN to try_lock: the unlock,
             * which succeeds only on a held mutex, tells) */
            if (as_mutex_unlock(tw->mutex) != 0)
                bad |= TH_BAD_UNLOCK;
        }
    }
    tw->cb_ns = as_now_ns();
    atomic_store(&tw->status, status);
    atomic_fetch_add(&tw->calls, 1);
    if (tw->rec) {
        th_rec_entry e = { tw->id, status, bad, held, cur ? cur->runs : 0 };
        th_rec_add(tw->rec, e);
    }
    if (tw->on_cb)
        tw->on_cb(tw, status);
}

int th_armed(th_waiter *tw, int r, th_held mode, as_mutex *m, bool unlock)
{
    if (r == 0) {
        tw->w.data = TH_ARMED;
        tw->held_mode = mode;
        tw->mutex = m;
        tw->unlock_in_cb = unlock;
    }
    return r;
}

int th_sem_acquire(th_waiter *tw, as_sem *s, uint32_t n)
{
    return th_armed(tw, as_sem_acquire_async(s, &tw->L->loop, &tw->w, n, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}

int th_mutex_lock(th_waiter *tw, as_mutex *m, bool unlock_in_cb)
{
    return th_armed(tw, as_mutex_lock_async(m, &tw->L->loop, &tw->w, th_cb, tw),
                    TH_HELD_IF_OK, m, unlock_in_cb);
}

int th_cond_wait(th_waiter *tw, as_cond *c, as_mutex *m, bool unlock_in_cb)
{
    return th_armed(tw, as_cond_wait_async(c, m, &tw->L->loop, &tw->w, th_cb, tw),
                    TH_HELD_ALWAYS, m, unlock_in_cb);
}

int th_event_wait(th_waiter *tw, as_event *e)
{
    return th_armed(tw, as_event_wait_async(e, &tw->L->loop, &tw->w, th_cb, tw),
                    TH_HELD_NONE, NULL, false);
}

/* ---------------------------------------------------------------------------
 * Cross-thread helpers
 * ------------------------------------------------------------------------- */

void th_counter_init(th_counter *c)
{
    pthread_mutex_init(&c->mu, NULL);
    th_cond_init_clock(&c->cv);
    atomic_init(&c->v, 0);
}

void th_counter_destroy(th_counter *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

void th_counter_add(th_counter *c, long long n)
{
    atomic_fetch_add(&c->v, n);
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

long long th_counter_get(th_counter *c)
{
    return atomic_load(&c->v);
}

bool th_counter_wait_ge(th_counter *c, long long target, double timeout_s)
{
    struct timespec dl = th_deadline(timeout_s);
    pthread_mutex_lock(&c->mu);
    while (atomic_load(&c->v) < target) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT)
            break;
    }
    bool ok = atomic_load(&c->v) >= target;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void th_barrier_init(th_barrier *b, unsigned parties)
{
    atomic_init(&b->count, 0);
    atomic_init(&b->gen, 0);
    b->parties = parties;
}

void th_barrier_wait(th_barrier *b)
{
    unsigned gen = atomic_load(&b->gen);
    if (atomic_fetch_add(&b->count, 1) + 1 == b->parties) {
        atomic_store(&b->count, 0);
        atomic_fetch_add(&b->gen, 1);
        return;
    }
    double dl = 0;
    unsigned spins = 0;
    while (atomic_load(&b->gen) == gen) {
        if ((++spins & 63) == 0)
            sched_yield();
        if ((spins & 4095) == 0) {
            if (dl == 0)
                dl = th_now() + TH_TIMEOUT;
            else if (th_now() > dl)
                th_fail("barrier: the other party never arrived");
        }
    }
}

#ifndef _WIN32
static void th_abs_realtime(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)seconds;
}
#endif

void *th_release_thread(void *arg)
{
    th_release *a = arg;
    a->rc = as_sem_release(a->s, a->n);
    return NULL;
}

void th_sem_release_from_thread(as_sem *s, uint32_t n)
{
    th_release ra = { s, n, 100 };
    pthread_t t;
    th_thread_start(&t, th_release_thread, &ra);
    th_thread_join(t);
    TH_RC(ra.rc, 0);
}

static void *unlock_thread(void *arg)
{
    th_release *a = arg;
    a->rc = as_mutex_unlock((as_mutex *)(void *)a->s);
    return NULL;
}

void th_mutex_unlock_from_thread(as_mutex *m)
{
    th_release ra = { (as_sem *)(void *)m, 0, 100 };
    pthread_t t;
    th_thread_start(&t, unlock_thread, &ra);
    th_thread_join(t);
    TH_RC(ra.rc, 0);
}

bool th_loop_passes(const th_loop *L)
{
#ifdef _WIN32
    (void)L;
    return false;
#else
    return L->kind == TH_RING;
#endif
}

uint64_t th_timer_cqes(th_loop *L)
{
    as_loop_counters c;
    TH_RC(as_loop_stats(&L->loop, &c), 0);
    return c.timer_cqes;
}

static bool timer_fired(void *arg)
{
    th_loop *L = ((void **)arg)[0];
    uint64_t since = *(uint64_t *)((void **)arg)[1];
    return th_timer_cqes(L) > since;
}

uint64_t th_run_timer(th_loop *L, uint64_t since)
{
    void *arg[2] = { L, &since };
    th_run_until(L, timer_fired, arg, TH_TIMEOUT);
    return th_timer_cqes(L);
}

void th_notify_noop(void *ctx) { (void)ctx; }

#ifdef _WIN32
long th_thread_id(void) { return 0; }
void th_wait_asleep(long tid) { (void)tid; }
#else
long th_thread_id(void) { return (long)gettid(); }

static char th_thread_state(long tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces */
    return p && p[1] == ' ' ? p[2] : '?';
}

void th_wait_asleep(long tid)
{
    double dl = th_now() + TH_TIMEOUT;
    while (th_thread_state(tid) != 'S') {
        if (th_now() > dl)
            th_fail("thread %ld never went to sleep", tid);
        sched_yield();
    }
}
#endif

void th_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int r = pthread_create(t, NULL, fn, arg);
    if (r != 0)
        th_fail("pthread_create: %d", r);
}

void th_thread_join(pthread_t t)
{
#ifdef _WIN32
    /* winpthreads has no pthread_timedjoin_np: wait on the thread's handle. */
    DWORD w = WaitForSingleObject(pthread_gethandle(t), (DWORD)(2 * TH_TIMEOUT * 1000));
    int r = w == WAIT_OBJECT_0 ? pthread_join(t, NULL) : (int)w;
#else
    struct timespec ts;
    th_abs_realtime(&ts, 2 * TH_TIMEOUT);
    int r = pthread_timedjoin_np(t, NULL, &ts);
#endif
    if (r != 0) {
        atomic_store(&th_abort_on_fail, true);
        th_fail("thread did not finish within %.0f s (join: %d)", 2 * TH_TIMEOUT, r);
    }
}

static void *th_lthread_main(void *arg)
{
    th_lthread *t = arg;
    th_ring_params rp = { 64, 0, -1 };
    int r = th_loop_init_rp(&t->L, t->kind, t->has_opts ? &t->opts : NULL,
                            t->has_rp ? &t->rp : &rp);
    pthread_mutex_lock(&t->mu);
    t->init_rc = r;
    t->started = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (r < 0)
        return NULL;
    t->L.strict = false;
    t->L.slice_ms = 1000;
    bool silent = false;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        th_job *jobs = t->head;
        t->head = t->tail = NULL;
        bool stop = t->stop && !jobs;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            break;
        while (jobs) {
            th_job *next = jobs->next;
            jobs->fn(jobs->arg);
            pthread_mutex_lock(&t->mu);
            jobs->done = true;
            pthread_cond_broadcast(&t->cv);
            pthread_mutex_unlock(&t->mu);
            jobs = next;
        }
        if (t->tick)
            t->tick(t->tick_arg);
        int ev;
        t->L.after_silent_sleep = silent;
        int ran = th_pump_ex(&t->L, &ev);
        t->L.after_silent_sleep = false;
        th_strict_check(__FILE__, __LINE__, &t->L, silent, ev, ran);
        silent = false;
        bool more = t->busy ? t->busy(t->tick_arg) : false;
        /* Look for jobs after the pump: the pump may have consumed the kick
         * of a job queued since the top of this iteration. */
        pthread_mutex_lock(&t->mu);
        more = more || t->head != NULL || t->stop;
        pthread_mutex_unlock(&t->mu);
        if (!more)
            silent = !th_loop_wait(&t->L, t->L.slice_ms);
    }
    t->destroy_rc = th_loop_destroy_rc(&t->L);
    return NULL;
}

void th_lthread_start(th_lthread *t, th_kind kind, const as_loop_options *opts)
{
    th_lthread_start_rp(t, kind, opts, NULL);
}

void th_lthread_start_rp(th_lthread *t, th_kind kind, const as_loop_options *opts,
                         const th_ring_params *rp)
{
    memset(t, 0, sizeof *t);
    t->kind = kind;
    if (rp) {
        t->rp = *rp;
        t->has_rp = true;
    }
    if (opts) {
        t->opts = *opts;
        t->has_opts = true;
    }
    pthread_mutex_init(&t->mu, NULL);
    th_cond_init_clock(&t->cv);
    th_thread_start(&t->tid, th_lthread_main, t);
    struct timespec dl = th_deadline(TH_TIMEOUT);
    pthread_mutex_lock(&t->mu);
    while (!t->started)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            break;
    bool started = t->started;
    int rc = t->init_rc;
    pthread_mutex_unlock(&t->mu);
    if (!started)
        th_fail("loop thread did not start");
    if (rc < 0) {
        th_thread_join(t->tid);
        th_fail("loop thread (%s): loop init failed: %s", th_kind_name(kind), th_errname(rc));
    }
}

static void th_lthread_enqueue(th_lthread *t, th_job *j)
{
    pthread_mutex_lock(&t->mu);
    j->next = NULL;
    j->done = false;
    if (t->tail)
        t->tail->next = j;
    else
        t->head = j;
    t->tail = j;
    th_loop_kick(&t->L); /* under mu: the thread cannot be tearing down */
    pthread_mutex_unlock(&t->mu);
}

void th_lthread_call(th_lthread *t, void (*fn)(void *), void *arg)
{
    th_job j = { fn, arg, NULL, true, false };
    th_lthread_enqueue(t, &j);
    struct timespec dl = th_deadline(TH_TIMEOUT);
    pthread_mutex_lock(&t->mu);
    while (!j.done)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            break;
    bool done = j.done;
    pthread_mutex_unlock(&t->mu);
    if (!done) {
        atomic_store(&th_abort_on_fail, true);
        th_fail("job on the loop thread did not finish within %.0f s", TH_TIMEOUT);
    }
}

void th_lthread_post(th_lthread *t, th_job *job, void (*fn)(void *), void *arg)
{
    job->fn = fn;
    job->arg = arg;
    job->wait = false;
    th_lthread_enqueue(t, job);
}

void th_lthread_wait_job(th_lthread *t, th_job *job)
{
    struct timespec dl = th_deadline(TH_TIMEOUT);
    pthread_mutex_lock(&t->mu);
    while (!job->done)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
            break;
    bool done = job->done;
    pthread_mutex_unlock(&t->mu);
    if (!done) {
        atomic_store(&th_abort_on_fail, true);
        th_fail("posted job on the loop thread did not run within %.0f s", TH_TIMEOUT);
    }
}

int th_lthread_stop(th_lthread *t)
{
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    th_loop_kick(&t->L); /* under mu: the thread closes the eventfd (port)
                            only after it saw `stop`, which it reads under mu */
    pthread_mutex_unlock(&t->mu);
    th_thread_join(t->tid);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    if (t->L.silent_wakes)
        th_fail("loop thread (%s): %lu time(s) a callback was ready after the loop slept "
                "%u ms without a CQE/notify (lost wake-up)",
                th_kind_name(t->kind), t->L.silent_wakes, t->L.slice_ms);
    if (t->L.cqes_unknown)
        th_fail("loop thread: %lu CQE(s) claimed by nobody", t->L.cqes_unknown);
    return t->destroy_rc;
}

void th_sem_make(as_sem *s, uint32_t permits)
{
    memset(s, 0, sizeof *s);
    TH_RC(as_sem_init(s, permits, 0), 0);
}

void th_mutex_make(as_mutex *m, unsigned flags)
{
    memset(m, 0, sizeof *m);
    TH_RC(as_mutex_init(m, flags), 0);
}

void th_cond_make(as_cond *c)
{
    memset(c, 0, sizeof *c);
    TH_RC(as_cond_init(c, 0), 0);
}

void th_event_make(as_event *e, unsigned flags)
{
    memset(e, 0, sizeof *e);
    TH_RC(as_event_init(e, flags), 0);
}

/* ---------------------------------------------------------------------------
 * cmocka glue
 * ------------------------------------------------------------------------- */

int th_setup(void **state)
{
    th_kind kind = (state && *state) ? *(th_kind *)*state : TH_RING;
    th_fix *f = th_zalloc(sizeof *f);
    th_rec_init(&f->rec);
    *state = f;
    th_loop_setup(&f->L, kind, NULL);
    return 0;
}

int th_teardown(void **state)
{
    th_fix *f = *state;
    if (!f)
        return 0;
    if (!f->L.initialised) {
        free(f);
        return 0;
    }
    unsigned long unknown = f->L.cqes_unknown;
    int r = th_loop_destroy_rc(&f->L);
    if (r != 0) {
        /* A wait is still pending: leak the fixture rather than free
           memory the library may still point to. */
        print_error("teardown: loop destroy returned %s (a wait still pending?)\n",
                    th_errname(r));
        return -1;
    }
    th_rec_assert_clean(&f->rec);
    if (unknown)
        th_fail("%lu CQE(s) were claimed by nobody", unknown);
    free(f);
    return 0;
}

#ifdef _WIN32
int th_main(const char *group, const struct CMUnitTest *tests, size_t n)
{
    const char *env = th_env_backend();
    th_loop L;
    int r = th_loop_init(&L, TH_RING, NULL);
    if (r == 0) {
        fprintf(stderr, "%s: ASYNCSYNC_BACKEND=%s, backend %s, caps %#x, scale %.2f\n", group,
                env ? env : "(unset)", as_loop_backend(&L.loop), as_loop_caps(&L.loop),
                th_scale());
        th_loop_destroy_rc(&L);
    } else {
        fprintf(stderr, "%s: ASYNCSYNC_BACKEND=%s: iocp loop init failed: %s\n", group,
                env ? env : "(unset)", th_errname(r));
    }
    const char *filter = getenv("TH_FILTER"); /* e.g. TH_FILTER='race_mutex*' */
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}
#else
int th_main(const char *group, const struct CMUnitTest *tests, size_t n)
{
    struct io_uring ring;
    int r = io_uring_queue_init(8, &ring, 0);
    if (r == -ENOSYS || r == -EPERM) {
        fprintf(stderr, "%s: io_uring unavailable (%s): skipped\n", group, th_errname(r));
        return 77;
    }
    if (r < 0) {
        fprintf(stderr, "%s: io_uring_queue_init: %s\n", group, th_errname(r));
        return 1;
    }
    io_uring_queue_exit(&ring);
    const char *env = th_env_backend();
    bool futex = th_kernel_has_futex_ops();
    if (env && strcmp(env, "uring") == 0 && !futex) {
        fprintf(stderr, "%s: kernel lacks IORING_OP_FUTEX_WAIT (Linux 6.7+): skipped\n",
                group);
        return 77;
    }
    th_loop L;
    r = th_loop_init(&L, TH_RING, NULL);
    if (r == 0) {
        fprintf(stderr, "%s: ASYNCSYNC_BACKEND=%s, backend %s, caps %#x, kernel futex ops %s, "
                        "scale %.2f\n",
                group, env ? env : "(unset)", as_loop_backend(&L.loop), as_loop_caps(&L.loop),
                futex ? "yes" : "no", th_scale());
        th_loop_destroy_rc(&L);
    } else {
        fprintf(stderr, "%s: ASYNCSYNC_BACKEND=%s: ring loop init failed: %s\n", group,
                env ? env : "(unset)", th_errname(r));
    }
    const char *filter = getenv("TH_FILTER"); /* e.g. TH_FILTER='race_mutex*' */
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}
#endif

void th_free_waiter_cb(th_waiter *tw, int status)
{
    (void)status;
    free(tw);
}
