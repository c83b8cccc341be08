/*
 * httpd.c: an HTTP/1.1 keep-alive server on io_uring, one loop per thread,
 * built on asyncsync.  SPDX-License-Identifier: MIT
 *
 * This is the program to copy when you start: a server shaped like a real
 * one, small enough to read in one sitting.  Each worker thread owns an
 * io_uring ring, an as_loop bound to it and a listening socket (SO_REUSEPORT:
 * the kernel spreads connections over the threads).  Between the threads:
 *
 *   as_sem    g.backend     bounds the "backend work" in flight across ALL
 *                           threads (--limit).  GET /work takes a permit
 *                           with a deadline (--deadline-ms); its work is an
 *                           IORING_OP_TIMEOUT of --work-us on the ring,
 *                           standing in for a query to a database.  Too many
 *                           requests already waiting (--queue): 503 at once
 *                           (load shedding, as_sem_waiters); deadline
 *                           passed: 503; client gone while waiting: the wait
 *                           is cancelled (as_cancel).
 *   as_mutex  g.stats_lock  guards the shared statistics, updated once per
 *                           request (as_mutex_lock_async).
 *   as_event  g.shutdown    manual-reset: SIGTERM, SIGINT or --duration sets
 *                           it; every loop waits on it, then stops accepting,
 *                           closes idle connections and finishes the
 *                           requests under way.  The semaphore is closed too,
 *                           so requests still queued end with -ESHUTDOWN
 *                           (answered 503).
 *
 * Routes: GET|HEAD /work (backend work), / ("hello"), anything else 404.
 * Pipelined requests are answered in order.  Left out, as an example may:
 * request bodies (answered 400), addresses other than 127.0.0.1, and an
 * idle timeout for keep-alive connections (a real server links one to its
 * recv with IORING_OP_LINK_TIMEOUT).
 *
 * The idioms worth copying are marked IDIOM in the comments:
 *   - AS_LOOP_ALWAYS_CALLBACK: every acquire completes in its callback, so
 *     each call site has one code path (the loop's options, worker_main);
 *   - cancel on disconnect, and why it needs no give-back (on_read);
 *   - the loop iteration: as_loop_run, submit and wait, CQEs to
 *     as_loop_handle_cqe first (worker_run);
 *   - teardown: as_loop_destroy until it stops saying -EAGAIN (worker_main);
 *   - signals: no library call is async-signal-safe, so no signal handler:
 *     the main thread takes SIGTERM with sigtimedwait and sets the event
 *     from there (any thread may set, close, release or cancel).
 *
 * At exit the server checks its invariants (permits held never above the
 * limit and all given back, every wait called back exactly once, every
 * request read decided exactly once, the stats lock never held twice,
 * every SQE completed, every connection freed) and prints them; it exits 1
 * if one broke.
 *
 * Usage: httpd [--port N] [--threads N] [--limit N] [--queue N]
 *              [--deadline-ms N] [--work-us N] [--duration SEC] [--self-test]
 *   --port N         TCP port on 127.0.0.1 (8080); 0: any free port.  The
 *                    first line printed says which: "listening on ...:PORT"
 *   --threads N      worker threads, each with its own ring and loop (2)
 *   --limit N        semaphore permits: backend work in flight (4)
 *   --queue N        answer 503 at once when N requests already wait (32)
 *   --deadline-ms N  longest wait for a permit, then 503 (100)
 *   --work-us N      duration of one backend operation (1000)
 *   --duration SEC   shut down by itself after SEC seconds, as on SIGTERM
 *   --self-test      run 1 s against a built-in client (keep-alive, early
 *                    disconnects, pipelining, malformed requests), with a
 *                    small limit so every path is taken; then check all
 *
 * ASYNCSYNC_BACKEND=generic|uring forces the library's backend; this code
 * does not change.
 */
#define _GNU_SOURCE /* memmem; liburing.h needs it (cpu_set_t) */
#include <asyncsync.h>
#include <liburing.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS  64
#define SQ_ENTRIES   256
#define CQ_ENTRIES   4096   /* completions can outnumber SQEs: one per conn */
#define IN_SIZE      4096   /* request head limit: larger is answered 431 */
#define OUT_SIZE     512    /* our responses are small */
#define BACKLOG      1024

/* ---------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------- */

/* What one request came to.  Each request read ends in exactly one. */
enum outcome {
    OUT_OK,         /* /work done: 200 */
    OUT_HELLO,      /* /: 200 */
    OUT_NOT_FOUND,  /* 404 */
    OUT_BAD,        /* malformed or unsupported: 4xx/5xx, then close */
    OUT_SHED,       /* too many waiting already: 503 at once */
    OUT_TIMEOUT,    /* no permit before the deadline: 503 */
    OUT_SHUTDOWN,   /* semaphore closed while waiting: 503, then close */
    OUT_CANCELLED,  /* client left while waiting: wait cancelled, no answer */
    OUT_GONE,       /* client left during the work: no answer */
    N_OUTCOMES
};
static const char *const outcome_name[N_OUTCOMES] = {
    "ok", "hello", "not found", "bad", "shed", "timed out", "shut down",
    "cancelled", "gone",
};

enum route { ROUTE_WORK, ROUTE_HELLO, ROUTE_NOT_FOUND };

/* A parsed request head: all a response needs, copied out of the buffer. */
struct request {
    enum route route;
    bool head;             /* HEAD: headers only */
    bool keep_alive;
    int error;             /* 0, or the status that answers a bad request */
};

/* The connection state machine: one request at a time, in order.
 *
 *   IDLE --GET /work--> QUEUED --permit--> WORKING --timer done--+
 *    ^                    |  -ETIMEDOUT, -ESHUTDOWN: 503          |
 *    |                    |  -ECANCELED (the client left)         v
 *    |                    +------------------------------> RECORDING
 *    |   GET /, 404, 4xx, shed: 503 ---------------------> (stats lock)
 *    |                                                         |
 *    +----- response sent, keep-alive ----- WRITING <----------+
 *
 *   CLOSING: after "Connection: close", when the client left (no answer is
 *   written) or at shutdown; the conn is freed when its last op is back.
 *
 * A recv stays armed in every state but CLOSING (unless the buffer is full),
 * so a client that goes away is noticed while its request waits. */
enum cstate { C_IDLE, C_QUEUED, C_WORKING, C_RECORDING, C_WRITING, C_CLOSING };

struct worker;

struct conn {
    struct worker *w;
    struct conn *prev, *next;  /* the worker's list */
    int fd;
    enum cstate state;
    bool reading;              /* a recv is in flight */
    bool busy;                 /* a send or the work timer is in flight */
    bool wait_out;             /* `wait` belongs to the library (invariant check) */
    bool peer_gone;            /* a recv saw EOF or an error */
    bool close_after;          /* close once this response is sent */
    as_wait wait;              /* the permit wait, then the stats lock wait */
    struct request req;        /* the request being served */
    enum outcome outcome;
    unsigned held_seen;        /* permits held just after we got ours */
    struct __kernel_timespec work_ts; /* read by the kernel at submit */
    size_t in_start, in_end;   /* unparsed bytes: in[in_start, in_end) */
    size_t out_len, out_off;   /* response: out[out_off, out_len) unsent */
    char in[IN_SIZE];
    char out[OUT_SIZE];
};

struct worker {
    int id;
    pthread_t thread;
    struct io_uring ring;
    as_loop loop;
    int lfd;                   /* listening socket; -1 once closed */
    bool listen_busy;          /* its accept (or retry timer) is in flight */
    uint64_t listen_ud;        /* that op's user_data, to cancel it */
    struct __kernel_timespec retry_ts;
    as_wait stop_wait;         /* waits on g.shutdown */
    bool stop_out;             /* stop_wait belongs to the library */
    bool draining;             /* g.shutdown seen */
    struct conn *conns;
    unsigned nconns;
    unsigned ops;              /* our SQEs not completed yet */
    /* Loop-thread-only counters, summed by main after the join. */
    uint64_t accepted, freed, requests, waits_started, callbacks;
    uint64_t lock_acquired;
};

/* Our SQEs' user_data: a pointer with the operation in its low 3 bits (conns
 * and workers are at least 8-byte aligned).  Bit 63 is never set, so these
 * never look like the library's (see IO_URING COMPLETIONS in the header). */
enum op { OP_ACCEPT = 1, OP_ACCEPT_RETRY, OP_READ, OP_SEND, OP_WORK, OP_CANCEL };
#define OP_MASK 7u

static struct {
    struct {
        unsigned port, threads, limit, queue, deadline_ms, work_us, duration;
        bool self_test;
    } cfg;

    as_sem backend;
    as_mutex stats_lock;
    as_event shutdown;

    struct {                   /* plain fields: only under stats_lock */
        uint64_t outcomes[N_OUTCOMES];
        uint64_t max_permits;  /* most permits held at once, as seen */
        uint64_t locked;       /* times the lock was taken: mutual exclusion */
    } stats;

    /* Invariant checks shared by the threads. */
    atomic_uint held;          /* permits held now */
    atomic_uint held_max;
    atomic_int in_stats;       /* threads inside the stats critical section */
    atomic_uint failures;
    atomic_bool stopping;      /* shutdown began (the self-test's client reads it) */

    struct worker workers[MAX_THREADS];
} g;

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("httpd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_fetch_add(&g.failures, 1);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "httpd: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(EXIT_FAILURE);
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&w->ring)) == NULL) {
        int r = io_uring_submit(&w->ring);   /* SQ full: flush it, retry */
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            die("io_uring_submit", r);
    }
    return sqe;
}

static uint64_t op_ud(const void *p, enum op op)
{
    return (uint64_t)(uintptr_t)p | op;
}

/* After io_uring_prep_*: tag the SQE as operation `op` on `p` and count it
 * until its CQE.  Returns the tag (to cancel the operation with). */
static uint64_t set_op(struct worker *w, struct io_uring_sqe *sqe,
                       const void *p, enum op op)
{
    uint64_t ud = op_ud(p, op);
    io_uring_sqe_set_data64(sqe, ud);
    w->ops++;
    return ud;
}

/* Cancel our operation tagged `ud`; its own CQE reports the outcome. */
static void cancel_op(struct worker *w, uint64_t ud)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_cancel64(sqe, ud, 0);
    set_op(w, sqe, NULL, OP_CANCEL);
}

/* ---------------------------------------------------------------------------
 * HTTP/1.1 request heads (RFC 9112), parsed strictly and without copying.
 * ------------------------------------------------------------------------- */

/* Case-insensitive: does s[0..n) equal the literal? */
static bool ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The next line of [*s, e), CRLF-terminated; false for a bare CR or LF. */
static bool take_line(const char **s, const char *e, const char **line,
                      size_t *len)
{
    const char *nl = memchr(*s, '\n', (size_t)(e - *s));
    if (!nl || nl == *s || nl[-1] != '\r')
        return false;
    *line = *s;
    *len = (size_t)(nl - 1 - *s);
    *s = nl + 1;
    return memchr(*line, '\r', *len) == NULL;
}

/* Does the comma-separated list v[0..n) hold the token `tok`? */
static bool has_token(const char *v, size_t n, const char *tok)
{
    while (n) {
        const char *comma = memchr(v, ',', n);
        size_t len = comma ? (size_t)(comma - v) : n, a = 0, b = len;
        while (a < b && (v[a] == ' ' || v[a] == '\t'))
            a++;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
            b--;
        if (ieq(v + a, b - a, tok))
            return true;
        if (!comma)
            break;
        n -= len + 1;
        v = comma + 1;
    }
    return false;
}

static int parse_request_line(const char *l, size_t n, struct request *req,
                              bool *http11)
{
    const char *sp1 = memchr(l, ' ', n);
    if (!sp1 || sp1 == l)
        return 400;
    const char *t = sp1 + 1, *end = l + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t || *t == ' ')
        return 400;
    for (const char *p = l; p < sp1; p++)
        if (!is_tchar((unsigned char)*p))
            return 400;
    for (const char *p = t; p < sp2; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 400;
    const char *v = sp2 + 1;
    size_t vn = (size_t)(end - v);
    if (vn != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' ||
        v[6] != '.' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505;
    *http11 = v[7] != '0';
    req->keep_alive = *http11;               /* HTTP/1.0: close by default */

    size_t mn = (size_t)(sp1 - l);
    if (mn == 4 && !memcmp(l, "HEAD", 4))
        req->head = true;
    else if (mn != 3 || memcmp(l, "GET", 3))
        return 501;                          /* no other method here */

    if (*t != '/')
        return 400;                          /* origin-form only */
    const char *q = memchr(t, '?', (size_t)(sp2 - t));
    size_t pn = (size_t)((q ? q : sp2) - t);
    if (pn == 5 && !memcmp(t, "/work", 5))
        req->route = ROUTE_WORK;
    else if (pn == 1)
        req->route = ROUTE_HELLO;
    else
        req->route = ROUTE_NOT_FOUND;
    return 0;
}

/* Parse one request head at the start of p[0..n).  Returns how many bytes
 * it spans (the caller consumes them) with *req filled in, or 0 while the
 * head is incomplete.  A malformed head is consumed too, with req->error set
 * to the status that answers it; the connection then closes. */
static size_t parse_request(const char *p, size_t n, struct request *req)
{
    size_t skip = 0;
    while (skip + 2 <= n && p[skip] == '\r' && p[skip + 1] == '\n')
        skip += 2;                           /* empty lines before a request */
    const char *head = p + skip;
    const char *end = memmem(head, n - skip, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t spans = (size_t)(end - p) + 4;

    *req = (struct request){ .route = ROUTE_NOT_FOUND };
    const char *s = head, *e = end + 2, *line;
    size_t len;
    bool http11 = false, host = false;
    if (!take_line(&s, e, &line, &len)) {
        req->error = 400;
    } else if ((req->error = parse_request_line(line, len, req, &http11)) == 0) {
        while (s < e) {
            if (!take_line(&s, e, &line, &len)) {
                req->error = 400;
                break;
            }
            const char *colon = memchr(line, ':', len);
            if (!colon || colon == line) {   /* also catches obs-fold */
                req->error = 400;
                break;
            }
            size_t nn = (size_t)(colon - line), a = nn + 1, b = len;
            bool name_ok = true;
            for (size_t i = 0; i < nn; i++)
                name_ok &= is_tchar((unsigned char)line[i]);
            if (!name_ok) {                  /* "Name :" is an error too */
                req->error = 400;
                break;
            }
            while (a < b && (line[a] == ' ' || line[a] == '\t'))
                a++;
            while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
                b--;
            const char *val = line + a;
            size_t vn = b - a;
            if (ieq(line, nn, "host")) {
                host = true;
            } else if (ieq(line, nn, "connection")) {
                if (has_token(val, vn, "close"))
                    req->keep_alive = false;
                else if (has_token(val, vn, "keep-alive"))
                    req->keep_alive = true;
            } else if (ieq(line, nn, "content-length")) {
                /* Bodies are not supported: only "0" is accepted. */
                bool zero = vn > 0;
                for (size_t i = 0; i < vn; i++)
                    zero &= val[i] == '0';
                if (!zero)
                    req->error = 400;
            } else if (ieq(line, nn, "transfer-encoding")) {
                req->error = 400;
            }
        }
        if (!req->error && http11 && !host)
            req->error = 400;                /* RFC 9112 3.2: Host is required */
    }
    if (req->error)
        req->keep_alive = false;
    return spans;
}

/* ---------------------------------------------------------------------------
 * Connections: the state machine
 * ------------------------------------------------------------------------- */

static void conn_next(struct conn *c);
static void conn_answer(struct conn *c, int status, enum outcome outcome);
static void conn_close(struct conn *c);

/* Arm a recv into the free end of the input buffer, unless one is in flight
 * or the buffer is full.  The buffer is compacted only here, with no recv in
 * flight (the kernel writes at in + in_end until the CQE). */
static void conn_arm_read(struct conn *c)
{
    if (c->reading || c->state == C_CLOSING)
        return;
    if (c->in_start == c->in_end) {
        c->in_start = c->in_end = 0;
    } else if (c->in_start > 0) {
        memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
        c->in_end -= c->in_start;
        c->in_start = 0;
    }
    if (c->in_end == IN_SIZE)
        return;           /* full: pipelined data waits for our answers */
    struct io_uring_sqe *sqe = get_sqe(c->w);
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_end, IN_SIZE - c->in_end, 0);
    set_op(c->w, sqe, c, OP_READ);
    c->reading = true;
}

/* Free the connection once nothing of ours refers to it any more. */
static void conn_maybe_free(struct conn *c)
{
    struct worker *w = c->w;
    if (c->state != C_CLOSING || c->reading || c->busy || c->wait_out)
        return;
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    w->freed++;
    free(c);
}

/* Stop using the connection: cancel its recv, free it when that is back.
 * Called with no wait pending and no send or timer in flight. */
static void conn_close(struct conn *c)
{
    if (c->state == C_CLOSING)
        return;
    if (c->busy || c->wait_out)
        fail("conn_close with an operation or a wait in flight");
    c->state = C_CLOSING;
    if (c->reading)
        cancel_op(c->w, op_ud(c, OP_READ));
    conn_maybe_free(c);
}

static void conn_open(struct worker *w, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);               /* out of memory: refuse this one */
        return;
    }
    int one = 1;                 /* small responses: do not wait for Nagle */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->w = w;
    c->fd = fd;
    c->state = C_IDLE;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    w->accepted++;
    conn_arm_read(c);
}

/* --- RECORDING: every request's outcome goes into the shared stats --- */

static void conn_send(struct conn *c)
{
    struct io_uring_sqe *sqe = get_sqe(c->w);
    /* MSG_NOSIGNAL: a client that left must not kill us with SIGPIPE. */
    io_uring_prep_send(sqe, c->fd, c->out + c->out_off, c->out_len - c->out_off,
                       MSG_NOSIGNAL);
    set_op(c->w, sqe, c, OP_SEND);
    c->busy = true;
    c->state = C_WRITING;
}

/* Holding g.stats_lock (from the lock callback). */
static void stats_record(struct conn *c)
{
    /* Mutual exclusion, checked: nobody else may be in here. */
    if (atomic_fetch_add(&g.in_stats, 1) != 0)
        fail("two threads inside the stats lock");
    g.stats.locked++;
    g.stats.outcomes[c->outcome]++;
    if (c->held_seen > g.stats.max_permits)
        g.stats.max_permits = c->held_seen;
    atomic_fetch_sub(&g.in_stats, 1);
}

static void on_stats_locked(as_wait *wt, int status, void *arg)
{
    struct conn *c = arg;
    (void)wt;
    c->w->callbacks++;
    if (!c->wait_out)
        fail("stats lock: callback for a wait that was not pending");
    c->wait_out = false;
    if (status == 0) {
        c->w->lock_acquired++;
        stats_record(c);
        int r = as_mutex_unlock(&g.stats_lock);  /* may hand it to a waiter */
        if (r < 0)
            fail("as_mutex_unlock: %s", as_strerror(r));
    } else {
        fail("stats lock callback: %s", as_strerror(status));
    }
    c->held_seen = 0;
    if (c->outcome == OUT_CANCELLED || c->outcome == OUT_GONE || c->peer_gone)
        conn_close(c);           /* nobody to answer */
    else
        conn_send(c);
}

/* The request's outcome is known: record it, then answer (or close). */
static void conn_record(struct conn *c, enum outcome outcome)
{
    c->outcome = outcome;
    c->state = C_RECORDING;
    /* IDIOM: with AS_LOOP_ALWAYS_CALLBACK this returns 0 even when the lock
     * was free: on_stats_locked runs from the loop's next as_loop_run, the
     * same way whether we waited or not. */
    int r = as_mutex_lock_async(&g.stats_lock, &c->w->loop, &c->wait,
                                on_stats_locked, c);
    if (r == 0) {
        c->wait_out = true;
        c->w->waits_started++;
        return;
    }
    fail("as_mutex_lock_async: %s", as_strerror(r));  /* 1 cannot happen here */
    if (outcome == OUT_CANCELLED || outcome == OUT_GONE || c->peer_gone)
        conn_close(c);
    else
        conn_send(c);
}

/* Build the response into c->out, then record the outcome. */
static void conn_answer(struct conn *c, int status, enum outcome outcome)
{
    const char *reason, *body;
    switch (status) {
    case 200: reason = "OK"; body = c->req.route == ROUTE_WORK ? "done\n" : "hello\n"; break;
    case 400: reason = "Bad Request"; body = "bad request\n"; break;
    case 404: reason = "Not Found"; body = "not found\n"; break;
    case 431: reason = "Request Header Fields Too Large"; body = "request head too large\n"; break;
    case 501: reason = "Not Implemented"; body = "only GET and HEAD\n"; break;
    case 503: reason = "Service Unavailable"; body = "busy, try again\n"; break;
    case 505: reason = "HTTP Version Not Supported"; body = "HTTP/1.x only\n"; break;
    default: reason = "Internal Server Error"; body = "error\n"; status = 500; break;
    }
    if (!c->req.keep_alive || c->w->draining)
        c->close_after = true;
    size_t blen = strlen(body);
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n"
                     "%s",
                     status, reason, blen,
                     status == 503 ? "Retry-After: 1\r\n" : "",
                     c->close_after ? "close" : "keep-alive",
                     c->req.head ? "" : body);
    c->out_len = (size_t)n < sizeof c->out ? (size_t)n : sizeof c->out - 1;
    c->out_off = 0;
    conn_record(c, outcome);
}

/* --- WORKING: holding a permit, "backend work" is a timer on the ring --- */

static void on_work_done(struct conn *c, int res)
{
    c->busy = false;
    if (res != -ETIME)
        fail("backend work timer: %s", strerror(-res));
    /* Give the permit back: count it out first, then release (a waiter on
     * any loop may get it at once). */
    atomic_fetch_sub(&g.held, 1);
    int r = as_sem_release(&g.backend, 1);
    if (r < 0)
        fail("as_sem_release: %s", as_strerror(r));
    if (c->peer_gone)
        conn_record(c, OUT_GONE);
    else
        conn_answer(c, 200, OUT_OK);
}

/* --- QUEUED: the permit wait's one callback --- */

static void on_permit(as_wait *wt, int status, void *arg)
{
    struct conn *c = arg;
    (void)wt;
    c->w->callbacks++;
    if (!c->wait_out)
        fail("permit: callback for a wait that was not pending");
    c->wait_out = false;

    switch (status) {
    case 0: {                                /* we hold one permit */
        unsigned held = atomic_fetch_add(&g.held, 1) + 1;
        if (held > g.cfg.limit)
            fail("%u permits held, limit %u", held, g.cfg.limit);
        unsigned max = atomic_load(&g.held_max);
        while (held > max && !atomic_compare_exchange_weak(&g.held_max, &max, held))
            ;
        c->held_seen = held;
        c->state = C_WORKING;
        c->busy = true;
        c->work_ts.tv_sec = g.cfg.work_us / 1000000;
        c->work_ts.tv_nsec = (long long)(g.cfg.work_us % 1000000) * 1000;
        struct io_uring_sqe *sqe = get_sqe(c->w);
        io_uring_prep_timeout(sqe, &c->work_ts, 0, 0);
        set_op(c->w, sqe, c, OP_WORK);
        break;
    }
    case -ETIMEDOUT:                         /* the deadline passed first */
        conn_answer(c, 503, OUT_TIMEOUT);
        break;
    case -ESHUTDOWN:                         /* as_sem_close: shutting down */
        c->close_after = true;
        conn_answer(c, 503, OUT_SHUTDOWN);
        break;
    case -ECANCELED:                         /* on_read cancelled it */
        conn_record(c, OUT_CANCELLED);
        break;
    default:
        fail("permit callback: %s", as_strerror(status));
        conn_answer(c, 500, OUT_BAD);
        break;
    }
}

/* --- IDLE -> a request: route it --- */

static void conn_start(struct conn *c)
{
    struct worker *w = c->w;
    w->requests++;
    if (c->req.error) {
        conn_answer(c, c->req.error, OUT_BAD);
        return;
    }
    if (c->req.route == ROUTE_HELLO) {
        conn_answer(c, 200, OUT_HELLO);
        return;
    }
    if (c->req.route == ROUTE_NOT_FOUND) {
        conn_answer(c, 404, OUT_NOT_FOUND);
        return;
    }
    /* ROUTE_WORK.  Load shedding: a queue this long would only add latency
     * (a snapshot across threads: the bound is approximate, as it can be). */
    if (as_sem_waiters(&g.backend) >= (int64_t)g.cfg.queue) {
        conn_answer(c, 503, OUT_SHED);
        return;
    }
    uint64_t deadline = as_now_ns() + (uint64_t)g.cfg.deadline_ms * 1000000u;
    c->state = C_QUEUED;
    /* IDIOM: AS_LOOP_ALWAYS_CALLBACK: 0 means on_permit will run, whether a
     * permit was free or not; there is no "1: acquired at once" branch. */
    int r = as_sem_acquire_until(&g.backend, &w->loop, &c->wait, 1, deadline,
                                 on_permit, c);
    if (r == 0) {
        c->wait_out = true;
        w->waits_started++;
    } else if (r == -ETIMEDOUT) {            /* deadline already past (this */
        conn_answer(c, 503, OUT_TIMEOUT);    /* thread was descheduled) */
    } else if (r == -ESHUTDOWN) {            /* closed before we asked */
        c->close_after = true;
        conn_answer(c, 503, OUT_SHUTDOWN);
    } else {
        fail("as_sem_acquire_until: %s", as_strerror(r));
        conn_answer(c, 500, OUT_BAD);
    }
}

/* IDLE: start the next request if a whole head is buffered; else read. */
static void conn_next(struct conn *c)
{
    c->state = C_IDLE;
    if (c->close_after || c->peer_gone || c->w->draining) {
        conn_close(c);
        return;
    }
    size_t n = parse_request(c->in + c->in_start, c->in_end - c->in_start,
                             &c->req);
    if (n > 0) {
        c->in_start += n;                    /* the request is copied out */
        conn_start(c);
        /* Keep a recv armed while the request is served: that is how a
         * client that leaves is noticed while its request waits. */
        conn_arm_read(c);
        return;
    }
    conn_arm_read(c);
    if (!c->reading && c->state == C_IDLE) {  /* full, and no head in it */
        c->req = (struct request){ .route = ROUTE_NOT_FOUND, .keep_alive = false };
        c->w->requests++;
        conn_answer(c, 431, OUT_BAD);
    }
}

static void on_read(struct conn *c, int res)
{
    c->reading = false;
    if (c->state == C_CLOSING) {             /* cancelled, or raced the cancel */
        conn_maybe_free(c);
        return;
    }
    if (res > 0) {
        c->in_end += (size_t)res;
        if (c->state == C_IDLE)
            conn_next(c);
        else
            conn_arm_read(c);                /* pipelined: keep listening */
        return;
    }
    /* EOF or an error: the client is gone (a half-close counts as gone). */
    c->peer_gone = true;
    switch (c->state) {
    case C_IDLE:
        conn_close(c);
        break;
    case C_QUEUED:
        /* IDIOM: cancel on disconnect.  as_cancel returns 0 while the wait is
         * pending, and on_permit then runs once with -ECANCELED.  If a permit
         * had already been granted to the wait but not delivered, the
         * library passes it on to the next waiter: no as_sem_release here,
         * and none in on_permit.  (Any thread may cancel; here it is the
         * loop's own, so c is surely still valid.) */
        if (as_cancel(&c->wait) != 0)
            fail("as_cancel of a queued wait did not succeed");
        break;
    default:
        break;    /* WORKING, RECORDING, WRITING: finish the step, then close */
    }
}

static void on_sent(struct conn *c, int res)
{
    c->busy = false;
    if (res <= 0) {                          /* EPIPE, ECONNRESET... */
        c->peer_gone = true;
        conn_close(c);
        return;
    }
    c->out_off += (size_t)res;
    if (c->out_off < c->out_len) {           /* short send: the rest */
        conn_send(c);
        return;
    }
    conn_next(c);                            /* keep-alive: the next request */
}

/* ---------------------------------------------------------------------------
 * Accepting, and the shutdown of a worker
 * ------------------------------------------------------------------------- */

static void listener_close(struct worker *w)
{
    if (w->lfd >= 0) {
        close(w->lfd);
        w->lfd = -1;
    }
}

static void arm_accept(struct worker *w)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_accept(sqe, w->lfd, NULL, NULL, SOCK_CLOEXEC);
    w->listen_ud = set_op(w, sqe, w, OP_ACCEPT);
    w->listen_busy = true;
}

static void on_accept(struct worker *w, int res)
{
    w->listen_busy = false;
    if (w->draining) {                       /* cancelled, or raced it */
        if (res >= 0)
            close(res);
        listener_close(w);
        return;
    }
    if (res >= 0) {
        conn_open(w, res);
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
               res == -ENOMEM) {
        /* Out of descriptors or memory: back off 10 ms rather than spin. */
        fprintf(stderr, "httpd: accept: %s (retrying)\n", strerror(-res));
        struct io_uring_sqe *sqe = get_sqe(w);
        w->retry_ts = (struct __kernel_timespec){ .tv_nsec = 10000000 };
        io_uring_prep_timeout(sqe, &w->retry_ts, 0, 0);
        w->listen_ud = set_op(w, sqe, w, OP_ACCEPT_RETRY);
        w->listen_busy = true;
        return;
    }
    /* Other errors (ECONNABORTED...) concern one connection: go on. */
    arm_accept(w);
}

static void on_accept_retry(struct worker *w)
{
    w->listen_busy = false;
    if (w->draining)
        listener_close(w);
    else
        arm_accept(w);
}

/* g.shutdown is set: stop accepting, close idle connections; those with a
 * request under way answer it with "Connection: close", then close. */
static void on_shutdown(as_wait *wt, int status, void *arg)
{
    struct worker *w = arg;
    (void)wt;
    w->callbacks++;
    w->stop_out = false;
    if (status != 0)
        fail("shutdown wait: %s", as_strerror(status));
    w->draining = true;
    if (w->listen_busy)
        cancel_op(w, w->listen_ud);          /* its CQE closes the listener */
    else
        listener_close(w);
    for (struct conn *c = w->conns, *next; c; c = next) {
        next = c->next;                      /* conn_close may free c */
        if (c->state == C_IDLE)
            conn_close(c);
        else
            c->close_after = true;
    }
}

/* ---------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------- */

static void handle_own(struct worker *w, const struct io_uring_cqe *cqe)
{
    void *p = (void *)(uintptr_t)(cqe->user_data & ~(uint64_t)OP_MASK);
    w->ops--;
    switch ((enum op)(cqe->user_data & OP_MASK)) {
    case OP_ACCEPT:       on_accept(w, cqe->res); break;
    case OP_ACCEPT_RETRY: on_accept_retry(w); break;
    case OP_READ:         on_read(p, cqe->res); break;
    case OP_SEND:         on_sent(p, cqe->res); break;
    case OP_WORK:         on_work_done(p, cqe->res); break;
    case OP_CANCEL:       break;  /* the cancelled op reports on its own CQE */
    default:
        w->ops++;
        fail("unknown CQE user_data %#" PRIx64, (uint64_t)cqe->user_data);
    }
}

/* IDIOM: every CQE goes to the library first; what it does not claim is ours. */
static void reap(struct worker *w)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&w->ring, head, cqe) {
        if (!as_loop_handle_cqe(&w->loop, cqe))
            handle_own(w, cqe);
        seen++;
    }
    io_uring_cq_advance(&w->ring, seen);
}

static bool worker_finished(const struct worker *w)
{
    return w->draining && w->nconns == 0 && w->lfd < 0 && w->ops == 0;
}

static void worker_run(struct worker *w)
{
    for (;;) {
        /* (1) Callbacks that are ready: permits, the stats lock, shutdown.
         * They queue SQEs (timers, sends) and may wake other loops. */
        int r = as_loop_run(&w->loop);
        if (r < 0)
            fail("as_loop_run: %s", as_strerror(r));
        if (worker_finished(w))
            break;
        /* (2) Submit (ours and the library's SQEs) and block for a CQE.
         * A wake from another thread arrives as a CQE on this ring. */
        r = io_uring_submit_and_wait(&w->ring, 1);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME)
            die("io_uring_submit_and_wait", r);
        /* (3) Dispatch the completions.  A hand-off they cause to a wait of
         * this loop is a ready-list append, run by (1) before we block. */
        reap(w);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    /* The shutdown signal is a wait like any other. */
    int r = as_event_wait_async(&g.shutdown, &w->loop, &w->stop_wait,
                                on_shutdown, w);
    if (r == 0) {
        w->stop_out = true;
        w->waits_started++;
    } else {
        fail("as_event_wait_async: %s", as_strerror(r));
        w->draining = true;
        listener_close(w);
    }
    if (w->lfd >= 0)
        arm_accept(w);
    worker_run(w);
    /* The last callbacks may have queued wakes of other loops on our ring
     * (AS_LOOP_DEFER_WAKES): they must still go out. */
    io_uring_submit(&w->ring);

    /* IDIOM: teardown.  Every wait of this loop has had its callback and all
     * our operations are back, so destroy cannot say -EBUSY.  It says
     * -EAGAIN while a completion that refers to the loop is still on its
     * way (a wake message from another loop, or the result of one this loop
     * sent): keep submitting and handling CQEs, then ask again.  Each loop
     * here is torn down by its own thread, so no round robin is needed. */
    while ((r = as_loop_destroy(&w->loop)) == -EAGAIN) {
        int s = io_uring_submit_and_wait(&w->ring, 1);
        if (s < 0 && s != -EINTR && s != -EAGAIN && s != -EBUSY)
            die("io_uring_submit_and_wait", s);
        reap(w);
    }
    if (r != 0)
        fail("worker %d: as_loop_destroy: %s", w->id, as_strerror(r));
    io_uring_queue_exit(&w->ring);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------------- */

/* A listening socket on 127.0.0.1:port; with SO_REUSEPORT each worker has
 * its own and the kernel spreads new connections over them. */
static int listen_on(unsigned port, unsigned *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

/* 0, or 77 (skip) when this kernel or sandbox has no io_uring for us. */
static int worker_setup(struct worker *w, int id, unsigned *port)
{
    w->id = id;
    struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE,
                                 .cq_entries = CQ_ENTRIES };
    int r = io_uring_queue_init_params(SQ_ENTRIES, &w->ring, &p);
    if (r < 0) {
        fprintf(stderr, "httpd: io_uring_queue_init: %s\n", strerror(-r));
        return r == -ENOSYS || r == -EPERM ? 77 : 1;
    }
    /* IDIOM: AS_LOOP_ALWAYS_CALLBACK: an acquire or lock never completes
     * inline (returns 1), its callback runs from the next as_loop_run even
     * when it was satisfied at once.  Each call site then has one path: no
     * "got it now" branch that duplicates the callback, and no request
     * finishing deep inside the call that started it.
     * AS_LOOP_DEFER_WAKES: a wake of another loop that this thread makes
     * outside as_loop_run (as_sem_release in on_work_done) rides our ring's
     * next submit instead of costing a futex(2) call.  The promise it needs,
     * "submit before blocking", worker_run keeps: it always blocks in
     * io_uring_submit_and_wait. */
    as_loop_options opts = { .flags = AS_LOOP_ALWAYS_CALLBACK | AS_LOOP_DEFER_WAKES };
    if ((r = as_loop_init_uring(&w->loop, &w->ring, &opts)) < 0) {
        fprintf(stderr, "httpd: as_loop_init_uring: %s\n", as_strerror(r));
        io_uring_queue_exit(&w->ring);
        return r == -EOPNOTSUPP ? 77 : 1;    /* forced backend missing */
    }
    if ((w->lfd = listen_on(*port, port)) < 0) {
        fprintf(stderr, "httpd: listen on 127.0.0.1:%u: %s\n", *port,
                strerror(-w->lfd));
        return 1;
    }
    return 0;
}

static unsigned long arg_num(const char *opt, const char *s, unsigned long min,
                             unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || errno || *end || v < min || v > max) {
        fprintf(stderr, "httpd: %s needs a number from %lu to %lu\n", opt, min, max);
        exit(2);
    }
    return v;
}

static void self_test_start(unsigned port);
static bool self_test_finish(void);

static void check(bool ok, const char *what)
{
    if (!ok) {
        printf("  FAILED: %s\n", what);
        atomic_fetch_add(&g.failures, 1);
    }
}

int main(int argc, char **argv)
{
    g.cfg.port = 8080;
    g.cfg.threads = 2;
    g.cfg.limit = 4;
    g.cfg.queue = 32;
    g.cfg.deadline_ms = 100;
    g.cfg.work_us = 1000;
    bool port_set = false, limit_set = false, queue_set = false,
         deadline_set = false, duration_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--self-test")) {
            g.cfg.self_test = true;
            continue;
        }
        if (!strcmp(a, "--port"))
            g.cfg.port = (unsigned)arg_num(a, v, 0, 65535), port_set = true;
        else if (!strcmp(a, "--threads"))
            g.cfg.threads = (unsigned)arg_num(a, v, 1, MAX_THREADS);
        else if (!strcmp(a, "--limit"))
            g.cfg.limit = (unsigned)arg_num(a, v, 1, 1u << 20), limit_set = true;
        else if (!strcmp(a, "--queue"))
            g.cfg.queue = (unsigned)arg_num(a, v, 1, 1u << 20), queue_set = true;
        else if (!strcmp(a, "--deadline-ms"))
            g.cfg.deadline_ms = (unsigned)arg_num(a, v, 1, 3600000), deadline_set = true;
        else if (!strcmp(a, "--work-us"))
            g.cfg.work_us = (unsigned)arg_num(a, v, 1, 10000000);
        else if (!strcmp(a, "--duration"))
            g.cfg.duration = (unsigned)arg_num(a, v, 1, 86400), duration_set = true;
        else {
            fprintf(stderr, "usage: %s [--port N] [--threads N] [--limit N]"
                    " [--queue N] [--deadline-ms N] [--work-us N]"
                    " [--duration SEC] [--self-test]\n", argv[0]);
            return 2;
        }
        i++;
    }
    if (g.cfg.self_test) {
        /* Small enough that requests queue, time out and get shed. */
        if (!port_set) g.cfg.port = 0;
        if (!limit_set) g.cfg.limit = 2;
        if (!queue_set) g.cfg.queue = 8;
        if (!deadline_set) g.cfg.deadline_ms = 3;
        if (!duration_set) g.cfg.duration = 1;
    }

    /* Signals: no asyncsync call is async-signal-safe, so there is no
     * handler.  SIGTERM and SIGINT are blocked in every thread (the workers
     * inherit this mask) and the main thread takes them with sigtimedwait,
     * an ordinary thread that may then set the event and close the
     * semaphore.  SIGPIPE is ignored too, although every send says
     * MSG_NOSIGNAL. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int r;
    if ((r = as_sem_init(&g.backend, g.cfg.limit, 0)) < 0 ||
        (r = as_mutex_init(&g.stats_lock, 0)) < 0 ||
        (r = as_event_init(&g.shutdown, AS_EVENT_MANUAL_RESET)) < 0) {
        fprintf(stderr, "httpd: init: %s\n", as_strerror(r));
        return 1;
    }
    unsigned port = g.cfg.port;
    for (unsigned i = 0; i < g.cfg.threads; i++)
        if ((r = worker_setup(&g.workers[i], (int)i, &port)) != 0)
            return r;             /* port 0: the later ones reuse the first's */
    printf("httpd: listening on 127.0.0.1:%u (%u threads, backend %s, limit %u,"
           " queue %u, deadline %u ms, work %u us)\n", port, g.cfg.threads,
           as_loop_backend(&g.workers[0].loop), g.cfg.limit, g.cfg.queue,
           g.cfg.deadline_ms, g.cfg.work_us);
    fflush(stdout);               /* a script reads the port from this line */

    for (unsigned i = 0; i < g.cfg.threads; i++)
        if ((r = pthread_create(&g.workers[i].thread, NULL, worker_main,
                                &g.workers[i])) != 0)
            die("pthread_create", r);
    if (g.cfg.self_test)
        self_test_start(port);

    /* Serve until a signal, or --duration. */
    struct timespec ts = { .tv_sec = g.cfg.duration };
    int sig;
    do
        sig = g.cfg.duration ? sigtimedwait(&sigs, NULL, &ts) : sigwaitinfo(&sigs, NULL);
    while (sig < 0 && errno == EINTR);
    printf("httpd: shutting down (%s)\n", sig == SIGTERM ? "SIGTERM" :
           sig == SIGINT ? "SIGINT" : "duration elapsed");

    /* Graceful shutdown, from this plain thread: every loop's wait on the
     * event completes (they stop accepting and drain), then requests still
     * queued for a permit end with -ESHUTDOWN and are answered 503. */
    atomic_store(&g.stopping, true);
    if ((r = as_event_set(&g.shutdown)) < 0)
        fail("as_event_set: %s", as_strerror(r));
    if ((r = as_sem_close(&g.backend)) < 0)
        fail("as_sem_close: %s", as_strerror(r));
    for (unsigned i = 0; i < g.cfg.threads; i++)
        pthread_join(g.workers[i].thread, NULL);
    bool client_ok = g.cfg.self_test ? self_test_finish() : true;

    /* The report.  The workers are joined: their counters are ours now. */
    uint64_t accepted = 0, freed = 0, requests = 0, started = 0, callbacks = 0,
             locks = 0, ops = 0;
    for (unsigned i = 0; i < g.cfg.threads; i++) {
        struct worker *w = &g.workers[i];
        accepted += w->accepted;
        freed += w->freed;
        requests += w->requests;
        started += w->waits_started;
        callbacks += w->callbacks;
        locks += w->lock_acquired;
        ops += w->ops;
    }
    uint64_t decided = 0, abandoned = g.stats.outcomes[OUT_CANCELLED] +
                                      g.stats.outcomes[OUT_GONE];
    printf("  requests     %" PRIu64 " read:", requests);
    for (int i = 0; i < N_OUTCOMES; i++) {
        decided += g.stats.outcomes[i];
        printf("%s %" PRIu64 " %s", i ? "," : "", g.stats.outcomes[i],
               outcome_name[i]);
    }
    printf("\n  answered     %" PRIu64 " (+ %" PRIu64 " whose client left)\n",
           decided - abandoned, abandoned);
    printf("  connections  %" PRIu64 " accepted, %" PRIu64 " freed\n", accepted, freed);
    int64_t value = as_sem_value(&g.backend);
    printf("  permits      peak %u held (stats saw %" PRIu64 "), limit %u;"
           " %" PRId64 " free at exit, %u held\n", atomic_load(&g.held_max),
           g.stats.max_permits, g.cfg.limit, value, atomic_load(&g.held));
    printf("  waits        %" PRIu64 " went pending, %" PRIu64 " callbacks\n",
           started, callbacks);
    printf("  stats lock   %" PRIu64 " acquisitions, %" PRIu64 " counted under it\n",
           locks, g.stats.locked);

    check(atomic_load(&g.held_max) <= g.cfg.limit, "permits held above the limit");
    /* Closing the semaphore ends its waits but keeps its count: releases
     * after the close still add up, so every permit must be back. */
    check(atomic_load(&g.held) == 0 && value == (int64_t)g.cfg.limit,
          "permits not conserved");
    check(started == callbacks, "waits that went pending != callbacks run");
    check(decided == requests, "requests read != requests decided");
    check(locks == g.stats.locked, "stats lock: acquisitions != counted under it");
    check(ops == 0, "SQEs still in flight");
    check(accepted == freed, "connections not freed");
    check(as_sem_destroy(&g.backend) == 0, "as_sem_destroy");
    check(as_mutex_destroy(&g.stats_lock) == 0, "as_mutex_destroy");
    check(as_event_destroy(&g.shutdown) == 0, "as_event_destroy");
    if (g.cfg.self_test)
        check(client_ok, "self-test client");

    unsigned failures = atomic_load(&g.failures);
    if (failures)
        printf("invariants: FAILED (%u problems)\n", failures);
    else
        printf("invariants: OK\n");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---------------------------------------------------------------------------
 * --self-test: a blocking client in plain threads, against the server above.
 * Not part of the template: it is how the example tests itself under ctest
 * (where wrk may be missing).  Keep-alive clients send GET /work and check
 * every answer, fewer of them than --queue lets wait; two clients send a
 * request and close at once (the server cancels its wait); one checks
 * pipelining, HEAD, 404, 400, 501 and 431 first, then sends bursts that
 * overflow the queue (shed) and wait long (time out).  Client errors count
 * only before shutdown begins.
 * ------------------------------------------------------------------------- */

static struct {
    unsigned port;
    pthread_t threads[16];
    int idle_fd;              /* opened before the load, must be closed by shutdown */
    atomic_ulong ok, busy, early, conns;
    atomic_uint failures;
} st;

static void st_fail(const char *fmt, ...)
{
    if (atomic_load(&g.stopping))
        return;               /* the server is closing connections: expected */
    va_list ap;
    va_start(ap, fmt);
    fputs("httpd self-test client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_fetch_add(&st.failures, 1);
}

static int st_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { .tv_sec = 10 };   /* a hang fails, never blocks ctest */
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)st.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    atomic_fetch_add(&st.conns, 1);
    return fd;
}

static bool st_send(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return false;
        s += k;
        n -= (size_t)k;
    }
    return true;
}

/* A response read from a connection; leftover bytes stay for the next. */
struct st_buf { char b[8192]; size_t len; };
struct st_resp { int status; bool close; char body[64]; };

/* 1: a response; 0: EOF or reset before any byte of it; -1: malformed. */
static int st_read_response(int fd, struct st_buf *buf, bool head,
                            struct st_resp *resp)
{
    char *end;
    while (!(end = memmem(buf->b, buf->len, "\r\n\r\n", 4))) {
        if (buf->len == sizeof buf->b)
            return -1;
        ssize_t k = recv(fd, buf->b + buf->len, sizeof buf->b - buf->len, 0);
        if (k <= 0)
            return buf->len == 0 && (k == 0 || errno == ECONNRESET) ? 0 : -1;
        buf->len += (size_t)k;
    }
    size_t hlen = (size_t)(end - buf->b) + 4, blen = 0;
    *end = '\0';
    if (sscanf(buf->b, "HTTP/1.1 %d ", &resp->status) != 1)
        return -1;
    const char *cl = strcasestr(buf->b, "\r\nContent-Length: ");
    if (!cl || sscanf(cl + 18, "%zu", &blen) != 1 || blen >= sizeof resp->body)
        return -1;
    resp->close = strcasestr(buf->b, "\r\nConnection: close") != NULL;
    if (head)
        blen = 0;
    while (buf->len < hlen + blen) {
        ssize_t k = recv(fd, buf->b + buf->len, sizeof buf->b - buf->len, 0);
        if (k <= 0)
            return -1;
        buf->len += (size_t)k;
    }
    memcpy(resp->body, buf->b + hlen, blen);
    resp->body[blen] = '\0';
    memmove(buf->b, buf->b + hlen + blen, buf->len - hlen - blen);
    buf->len -= hlen + blen;
    return 1;
}

/* Send `req` on a new connection, expect `n` responses with these statuses
 * (0: 200 or 503) and bodies (NULL: any); then EOF if `closes`. */
static void st_expect(const char *what, const char *req, size_t req_len,
                      int n, const int *status, const char *const *body,
                      const bool *head, bool closes)
{
    struct st_buf buf = { .len = 0 };
    struct st_resp resp;
    int fd = st_connect();
    if (fd < 0 || !st_send(fd, req, req_len)) {
        st_fail("%s: connect or send: %s", what, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (st_read_response(fd, &buf, head[i], &resp) != 1) {
            st_fail("%s: response %d missing or malformed", what, i + 1);
            close(fd);
            return;
        }
        bool ok = status[i] ? resp.status == status[i]
                            : resp.status == 200 || resp.status == 503;
        if (!ok || (body[i] && strcmp(resp.body, body[i])))
            st_fail("%s: response %d: %d \"%s\"", what, i + 1, resp.status, resp.body);
        if (resp.close != (closes && i == n - 1))
            st_fail("%s: response %d: Connection: close %s", what, i + 1,
                    resp.close ? "unexpected" : "missing");
    }
    if (closes && st_read_response(fd, &buf, false, &resp) != 0)
        st_fail("%s: the connection stayed open", what);
    close(fd);
}

static void st_protocol_checks(void)
{
    static const char pipelined[] =
        "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /work?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
        "\r\nGET /nope HTTP/1.1\r\nhost: t\r\nConnection: keep-alive\r\n\r\n"
        "GET / HTTP/1.0\r\n\r\n";
    st_expect("pipelined", pipelined, sizeof pipelined - 1, 5,
              (const int[]){ 200, 0, 200, 404, 200 },
              (const char *const[]){ "hello\n", NULL, "", "not found\n", "hello\n" },
              (const bool[]){ false, false, true, false, false }, true);
    static const char no_host[] = "GET / HTTP/1.1\r\n\r\n";
    st_expect("no Host", no_host, sizeof no_host - 1, 1, (const int[]){ 400 },
              (const char *const[]){ NULL }, (const bool[]){ false }, true);
    static const char body[] = "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
                               "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n";
    st_expect("body", body, sizeof body - 1, 2, (const int[]){ 200, 400 },
              (const char *const[]){ "hello\n", NULL }, (const bool[]){ false, false }, true);
    static const char bad_line[] = "GET  / HTTP/1.1\r\nHost: t\r\n\r\n";
    st_expect("bad request line", bad_line, sizeof bad_line - 1, 1, (const int[]){ 400 },
              (const char *const[]){ NULL }, (const bool[]){ false }, true);
    static const char post[] = "POST / HTTP/1.1\r\nHost: t\r\n\r\n";
    st_expect("POST", post, sizeof post - 1, 1, (const int[]){ 501 },
              (const char *const[]){ NULL }, (const bool[]){ false }, true);
    /* Exactly IN_SIZE bytes and no end of head: the buffer fills, 431.
     * (No byte past it, so the server's close is a FIN, not a reset.) */
    static char big[IN_SIZE];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    st_expect("431", big, sizeof big, 1, (const int[]){ 431 },
              (const char *const[]){ NULL }, (const bool[]){ false }, true);
}

static const char st_work[] = "GET /work HTTP/1.1\r\nHost: t\r\n\r\n";

/* One GET /work answered on fd: count it.  False: stop using fd. */
static bool st_work_answer(int fd, struct st_buf *buf)
{
    struct st_resp resp;
    int r = st_read_response(fd, buf, false, &resp);
    if (r != 1) {
        st_fail("GET /work: %s", r ? "malformed response" : "closed");
        return false;
    }
    if (resp.status == 200 && !strcmp(resp.body, "done\n"))
        atomic_fetch_add(&st.ok, 1);
    else if (resp.status == 503)
        atomic_fetch_add(&st.busy, 1);
    else
        st_fail("GET /work: %d \"%s\"", resp.status, resp.body);
    if (resp.close && !atomic_load(&g.stopping))
        st_fail("GET /work: Connection: close before shutdown");
    return !resp.close;
}

/* Keep-alive: a few requests per connection, one at a time. */
static void st_keep_alive(unsigned id)
{
    for (unsigned i = 0; !atomic_load(&g.stopping); i++) {
        struct st_buf buf = { .len = 0 };
        int fd = st_connect();
        if (fd < 0) {
            st_fail("connect: %s", strerror(errno));
            return;
        }
        for (unsigned k = 0, n = 1 + (i * 7 + id) % 10; k < n; k++)
            if (!st_send(fd, st_work, sizeof st_work - 1) ||
                !st_work_answer(fd, &buf))
                break;
        close(fd);
    }
}

/* Ask and leave at once: the server notices while the request waits for a
 * permit (the keep-alive clients keep the permits busy) and cancels it.
 * Capped: each connection closed first by us holds a local port in
 * TIME_WAIT for a minute, and ctest runs this test several times. */
#define ST_EARLY_MAX 1500
static void st_early_close(void)
{
    for (unsigned i = 0; i < ST_EARLY_MAX && !atomic_load(&g.stopping); i++) {
        int fd = st_connect();
        if (fd < 0) {
            st_fail("connect: %s", strerror(errno));
            return;
        }
        if (st_send(fd, st_work, sizeof st_work - 1))
            atomic_fetch_add(&st.early, 1);
        close(fd);
    }
}

/* Bursts: ST_BURST requests at once on as many connections, more than
 * --queue lets wait, so some are shed and the last queued may time out. */
#define ST_BURST 16
#define ST_BURSTS_MAX 100
static void st_bursts(void)
{
    for (unsigned b = 0; b < ST_BURSTS_MAX && !atomic_load(&g.stopping); b++) {
        int fds[ST_BURST];
        struct st_buf *bufs = calloc(ST_BURST, sizeof *bufs);
        if (!bufs)
            die("calloc", ENOMEM);
        for (int i = 0; i < ST_BURST; i++)
            if ((fds[i] = st_connect()) >= 0 &&
                !st_send(fds[i], st_work, sizeof st_work - 1))
                st_fail("burst: send: %s", strerror(errno));
        for (int i = 0; i < ST_BURST; i++) {
            if (fds[i] < 0)
                continue;
            st_work_answer(fds[i], &bufs[i]);
            close(fds[i]);
        }
        free(bufs);
    }
}

/* 0: the protocol checks, then bursts; 1-2: early close; the rest keep-alive
 * (6: with --limit 2, at most 4 of them wait, below --queue 8). */
#define ST_CLIENTS 9

static void *st_client(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    if (id == 0) {
        st_protocol_checks();
        st_bursts();
    } else if (id <= 2) {
        st_early_close();
    } else {
        st_keep_alive(id);
    }
    return NULL;
}

static void self_test_start(unsigned port)
{
    st.port = port;
    /* A keep-alive connection that stays idle: shutdown must close it.  One
     * request first, so it is surely accepted and idle, not in a backlog. */
    static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    struct st_buf buf = { .len = 0 };
    struct st_resp resp;
    st.idle_fd = st_connect();
    if (st.idle_fd < 0 || !st_send(st.idle_fd, req, sizeof req - 1) ||
        st_read_response(st.idle_fd, &buf, false, &resp) != 1 || resp.status != 200)
        st_fail("idle connection: no answer");
    for (unsigned i = 0; i < ST_CLIENTS; i++) {
        int r = pthread_create(&st.threads[i], NULL, st_client, (void *)(uintptr_t)i);
        if (r != 0)
            die("pthread_create", r);
    }
}

/* After the workers are joined: the clients end on their own (the server
 * closed their connections).  Returns whether the client saw no error. */
static bool self_test_finish(void)
{
    for (unsigned i = 0; i < ST_CLIENTS; i++)
        pthread_join(st.threads[i], NULL);
    char b;
    ssize_t k = st.idle_fd >= 0 ? recv(st.idle_fd, &b, 1, 0) : 0;
    bool idle_closed = k == 0 || (k < 0 && errno == ECONNRESET);
    if (st.idle_fd >= 0)
        close(st.idle_fd);
    printf("  client       %lu connections, %lu \"done\", %lu 503, %lu left early;"
           " idle connection %s at shutdown\n", atomic_load(&st.conns),
           atomic_load(&st.ok), atomic_load(&st.busy), atomic_load(&st.early),
           idle_closed ? "closed" : "NOT closed");
    unsigned failures = atomic_load(&st.failures);
    check(idle_closed, "idle keep-alive connection not closed at shutdown");
    check(atomic_load(&st.ok) > 0, "no request was served");
    check(g.stats.outcomes[OUT_CANCELLED] > 0,
          "no wait was cancelled by a client leaving");
    check(g.stats.outcomes[OUT_SHED] + g.stats.outcomes[OUT_TIMEOUT] > 0,
          "no request was shed or timed out");
    return failures == 0;
}
