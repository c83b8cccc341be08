/*
 * Conformance as tables: the scenarios every primitive shares, written
 * once over the rows of tests/prims.h (sem, sem-strict, mutex,
 * mutex-strict, cond, event, event-manual, rwlock-write,
 * rwlock-write-strict, rwlock-read, rwlock-upgradable, rwlock-readers,
 * latch, barrier), on every loop kind this binary is
 * registered for (IREE's async conformance suite is the model).  A new
 * primitive adds a row, not a copy of these tests.
 *
 *   - fifo: N waiters queued; each grant serves the oldest alone (status 0,
 *     never inside the granting call, the grant handed: a newcomer cannot
 *     take it), or one grant_all serves them all, in arrival order;
 *   - grant_all: every waiter queued then, once each, in order; a row whose
 *     grant_all is not remembered (TP_SPENT) keeps a later waiter waiting;
 *   - cancel at the head, in the middle, at the tail: -ECANCELED for that
 *     one alone, at once; the others still served in order;
 *   - cancel, then grant: the grant is not swallowed;
 *   - cancel after the grant, before the callback, from the loop's thread
 *     or from another: -ECANCELED and the grant passes to the next waiter,
 *     or back to the primitive (from the loop's thread: before as_cancel
 *     returns); the same after a grant_all, which the others keep;
 *   - waiters on two loops, served in arrival order, each on its own loop;
 *   - bad input (NULL object, loop, wait or callback; an uninitialised or
 *     destroyed object or loop; a wait already pending; destroy with
 *     waiters; destroy of an uninitialised or destroyed object): the exact
 *     errno, and nothing changes (waiters, pending waits, callbacks, the
 *     grant state, the bytes of the bad objects), with the primitive held
 *     and, where a wait can be granted at once, free.
 *
 * A row opts out of a scenario by what it lacks (see tests/prims.h): no
 * `grant` (one call serves all: latch, barrier, readers, manual event), no
 * `avail` (no state to look at: condvar, barrier), no `open`.
 */
#include "harness.h"
#include "prims.h"

#include <stdlib.h>
#include <string.h>

enum { N = 5 };

/* ---- helpers ---------------------------------------------------------- */

static bool tp_any(const tp_ops *o) { (void)o; return true; }
static bool tp_all_rows_grant_all(const tp_ops *o) { return o->grant_all != NULL; }

/* Run L (and B when not NULL) until R holds n entries. */
static void wait_n(th_loop *L, th_loop *B, th_rec *R, unsigned n)
{
    if (!B) {
        th_rec_wait(L, R, n);
        return;
    }
    double dl = th_now() + TH_TIMEOUT;
    while (th_rec_count(R) < n) {
        if (th_pump(L) + th_pump(B) == 0)
            th_loop_wait(L, 1);
        if (th_now() > dl)
            th_fail("%u of %u callbacks after %gs", th_rec_count(R), n, (double)TH_TIMEOUT);
    }
}

static void quiet(th_loop *L, th_loop *B)
{
    if (!B) {
        th_quiesce(L, TH_QUIET);
        return;
    }
    double end = th_now() + TH_QUIET;
    while (th_now() < end) {
        th_pump(L);
        th_pump(B);
        th_loop_wait(L, 1);
    }
}

/* Queue waiters w[0..n-1] (ids id0..), alternating between L and B when B
 * is not NULL; each must pend. */
static void queue(tp *p, th_waiter *w, int n, int id0, th_rec *R, th_loop *L, th_loop *B)
{
    for (int i = 0; i < n; i++) {
        th_waiter_init(&w[i], R, (B && (i & 1)) ? B : L, id0 + i);
        if (p->ops->wait(p, &w[i], AS_NO_DEADLINE) != 0)
            th_fail("%s: wait %d did not pend", p->ops->name, id0 + i);
        TH_EQ(as_wait_pending(&w[i].w), 1);
    }
}

/* Serve the n queued waiters whose ids are ids[] (oldest first); R held
 * `base` entries before.  A row with `grant`: one grant each (a row whose
 * callback passes the grant on: one grant in all), the next callback only
 * after it; else one grant_all.  Checks order and status 0. */
static void serve(tp *p, th_loop *L, th_loop *B, th_rec *R, unsigned base, const int *ids,
                  unsigned n)
{
    const tp_ops *o = p->ops;
    if (o->grant && !o->cb_passes) {
        for (unsigned i = 0; i < n; i++) {
            TH_RC(o->grant(p), 0);
            TH_EQ(th_rec_count(R), base + i); /* never inside the grant */
            if (o->avail && !B)               /* handed: not for a newcomer */
                TH_EQ(o->avail(p), 0);
            wait_n(L, B, R, base + i + 1);
            quiet(L, B);
            TH_EQ(th_rec_count(R), base + i + 1); /* the oldest alone */
            TH_EQ(th_rec_get(R, base + i).id, ids[i]);
        }
    } else {
        TH_RC(o->grant ? o->grant(p) : o->grant_all(p), 0);
        TH_EQ(th_rec_count(R), base);
        if (o->grant && o->avail && !B)
            TH_EQ(o->avail(p), 0);
        wait_n(L, B, R, base + n);
        quiet(L, B);
        TH_EQ(th_rec_count(R), base + n);
    }
    for (unsigned i = 0; i < n; i++) {
        th_rec_entry e = th_rec_get(R, base + i);
        if (e.id != ids[i])
            th_fail("%s: callback %u was waiter %d, expected %d", o->name, i, e.id, ids[i]);
        TH_RC(e.status, 0);
    }
    th_rec_assert_clean(R); /* held where it must be, on its own loop, once */
}

static void check_after_all(tp *p)
{
    if (p->ops->after_all >= 0)
        TH_EQ(p->ops->avail(p), p->ops->after_all);
    TH_EQ(p->ops->waiters(p), 0);
}

/* ---- fifo ------------------------------------------------------------- */

static void prims_fifo(void **state)
{
    FIX();
    TP_EACH_IF(p, tp_any) {
        th_rec_reset(R);
        th_waiter w[N];
        queue(p, w, N, 0, R, L, NULL);
        TH_EQ(p->ops->waiters(p), N);
        if (p->ops->avail)
            TH_EQ(p->ops->avail(p), 0);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 0);
        static const int ids[N] = { 0, 1, 2, 3, 4 };
        serve(p, L, NULL, R, 0, ids, N);
        for (int i = 0; i < N; i++) {
            TH_EQ(as_wait_pending(&w[i].w), 0);
            TH_EQ(atomic_load(&w[i].calls), 1);
            TH_RC(as_cancel(&w[i].w), -ENOENT);
        }
        check_after_all(p);
    }
}

/* ---- grant_all -------------------------------------------------------- */

static void prims_grant_all(void **state)
{
    FIX();
    TP_EACH_IF(p, tp_all_rows_grant_all) {
        enum { M = 8 };
        th_rec_reset(R);
        th_waiter w[M];
        queue(p, w, M, 0, R, L, NULL);
        TH_RC(p->ops->grant_all(p), 0);
        TH_EQ(th_rec_count(R), 0); /* never inside */
        th_rec_wait(L, R, M);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), M);
        for (int i = 0; i < M; i++) {
            TH_EQ(th_rec_get(R, (unsigned)i).id, i);
            TH_RC(th_rec_get(R, (unsigned)i).status, 0);
            TH_EQ(atomic_load(&w[i].calls), 1);
        }
        th_rec_assert_clean(R);
        if (p->ops->flags & TP_SPENT) {
            /* a waiter that arrives after it is not served by it */
            th_waiter late;
            queue(p, &late, 1, 100, R, L, NULL);
            th_quiesce(L, TH_QUIET);
            TH_EQ(th_rec_count(R), M);
            TH_RC(p->ops->grant_all(p), 0);
            th_rec_wait(L, R, M + 1);
            TH_RC(th_rec_status_of(R, 100), 0);
        }
        check_after_all(p);
    }
}

/* ---- cancel at the head, the middle, the tail ------------------------- */

static void cancel_at(th_fix *f, int k)
{
    th_loop *L = &f->L;
    th_rec *R = &f->rec;
    TP_EACH_IF(p, tp_any) {
        th_rec_reset(R);
        th_waiter w[N];
        queue(p, w, N, 0, R, L, NULL);
        TH_RC(as_cancel(&w[k].w), 0);
        TH_EQ(th_rec_count(R), 0);           /* never inside as_cancel */
        TH_EQ(as_wait_pending(&w[k].w), 1);  /* the library's until the callback */
        th_rec_wait(L, R, 1);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 1);           /* that one alone */
        TH_EQ(th_rec_get(R, 0).id, k);
        TH_RC(th_rec_get(R, 0).status, -ECANCELED);
        TH_RC(as_cancel(&w[k].w), -ENOENT);
        TH_EQ(p->ops->waiters(p), N - 1);
        if (p->ops->avail) /* it took nothing, and nothing was granted */
            TH_EQ(p->ops->avail(p), 0);
        int ids[N - 1], n = 0;
        for (int i = 0; i < N; i++)
            if (i != k)
                ids[n++] = i;
        serve(p, L, NULL, R, 1, ids, (unsigned)n);
        check_after_all(p);
    }
}

static void prims_cancel_head(void **state) { cancel_at(*state, 0); }
static void prims_cancel_middle(void **state) { cancel_at(*state, N / 2); }
static void prims_cancel_tail(void **state) { cancel_at(*state, N - 1); }

/* ---- cancel, then grant: the grant is not swallowed ------------------- */

static void prims_cancel_then_grant(void **state)
{
    FIX();
    TP_EACH_IF(p, tp_any) {
        th_rec_reset(R);
        th_waiter a;
        queue(p, &a, 1, 1, R, L, NULL);
        TH_RC(as_cancel(&a.w), 0);
        th_rec_wait(L, R, 1);
        TH_RC(th_rec_status_of(R, 1), -ECANCELED);
        TH_EQ(p->ops->waiters(p), 0);
        TH_RC(p->ops->grant ? p->ops->grant(p) : p->ops->grant_all(p), 0);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 1);
        TH_EQ(atomic_load(&a.calls), 1);
        if (p->ops->avail)
            TH_EQ(p->ops->avail(p), 1);
        TH_EQ(p->ops->waiters(p), 0);
    }
}

/* ---- cancel after the grant, before the callback ---------------------- */

/* as_cancel from the test's thread (the loop's own: X1 gives the grant
 * back before as_cancel returns) or from a plain thread (the loop gives it
 * back just before the callback). */
typedef struct {
    as_wait *w;
    int rc[2];
} xcancel;

static void *xcancel_main(void *arg)
{
    xcancel *x = arg;
    x->rc[0] = as_cancel(x->w);
    x->rc[1] = as_cancel(x->w); /* idempotent: no second give-back */
    return NULL;
}

static void cancel_twice(as_wait *w, bool other_thread)
{
    xcancel x = { w, { 1, 1 } };
    if (other_thread) {
        pthread_t t;
        th_thread_start(&t, xcancel_main, &x);
        th_thread_join(t);
    } else {
        xcancel_main(&x);
    }
    TH_RC(x.rc[0], 0);
    TH_RC(x.rc[1], 0);
}

static void cancel_after_grant(void **state, bool other_thread)
{
    FIX();
    TP_EACH(p) {
        th_rec_reset(R);
        th_waiter w[2];
        queue(p, w, 2, 1, R, L, NULL);
        TH_RC(p->ops->grant(p), 0);           /* decided for w[0] */
        cancel_twice(&w[0].w, other_thread); /* ... which passes it to w[1] */
        TH_EQ(th_rec_count(R), 0);
        th_rec_wait(L, R, 2);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 2);
        TH_RC(th_rec_status_of(R, 1), -ECANCELED);
        TH_RC(th_rec_status_of(R, 2), 0);
        TH_RC(as_cancel(&w[0].w), -ENOENT);
        TH_RC(as_cancel(&w[1].w), -ENOENT);
        th_rec_assert_clean(R);
        check_after_all(p);
        /* nobody behind: the grant goes back to the primitive */
        if (p->ops->hold)
            p->ops->hold(p);
        th_waiter c;
        queue(p, &c, 1, 3, R, L, NULL);
        TH_RC(p->ops->grant(p), 0);
        cancel_twice(&c.w, other_thread);
        /* on the loop's own thread, back at once (X1) */
        if (!other_thread && p->ops->avail)
            TH_EQ(p->ops->avail(p), 1);
        th_rec_wait(L, R, 3);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 3);
        TH_RC(th_rec_status_of(R, 3), -ECANCELED);
        if (p->ops->avail)
            TH_EQ(p->ops->avail(p), 1);
        TH_EQ(p->ops->waiters(p), 0);
    }
}

static void prims_cancel_after_grant(void **state) { cancel_after_grant(state, false); }
static void prims_cancel_after_grant_xthread(void **state) { cancel_after_grant(state, true); }

/* A grant_all is not passed on by a cancel that comes after it: the
 * others keep theirs, the cancelled one gets -ECANCELED. */
static void prims_cancel_after_grant_all(void **state)
{
    FIX();
    TP_EACH_IF(p, tp_all_rows_grant_all) {
        th_rec_reset(R);
        th_waiter w[3];
        queue(p, w, 3, 1, R, L, NULL);
        TH_RC(p->ops->grant_all(p), 0);
        TH_RC(as_cancel(&w[1].w), 0);
        TH_EQ(th_rec_count(R), 0);
        th_rec_wait(L, R, 3);
        th_quiesce(L, TH_QUIET);
        TH_EQ(th_rec_count(R), 3);
        TH_RC(th_rec_status_of(R, 1), 0);
        TH_RC(th_rec_status_of(R, 2), -ECANCELED);
        TH_RC(th_rec_status_of(R, 3), 0);
        th_rec_assert_clean(R);
        check_after_all(p);
    }
}

/* ---- waiters on two loops --------------------------------------------- */

static void prims_two_loops(void **state)
{
    FIX();
    th_loop *B = th_zalloc(sizeof *B);
    th_loop_setup(B, L->kind, NULL);
    TP_EACH_IF(p, tp_any) {
        th_rec_reset(R);
        th_waiter w[N];
        queue(p, w, N, 0, R, L, B); /* 0, 2, 4 on L; 1, 3 on B */
        static const int ids[N] = { 0, 1, 2, 3, 4 };
        if (p->ops->grant) {
            serve(p, L, B, R, 0, ids, N);
        } else {
            /* all at once: each loop runs its own in order */
            TH_RC(p->ops->grant_all(p), 0);
            wait_n(L, B, R, N);
            quiet(L, B);
            TH_EQ(th_rec_count(R), N);
            int last[2] = { -1, -1 };
            for (unsigned i = 0; i < N; i++) {
                th_rec_entry e = th_rec_get(R, i);
                TH_RC(e.status, 0);
                if (e.id < last[e.id & 1])
                    th_fail("%s: waiter %d ran after %d on its loop", p->ops->name, e.id,
                            last[e.id & 1]);
                last[e.id & 1] = e.id;
            }
            th_rec_assert_clean(R); /* each on its own loop (TH_BAD_WRONG_LOOP) */
        }
        for (int i = 0; i < N; i++)
            TH_EQ(atomic_load(&w[i].calls), 1);
        check_after_all(p);
    }
    th_loop_destroy(B);
    free(B);
}

/* ---- bad input -------------------------------------------------------- */

static const unsigned char zeros[sizeof(as_loop) > sizeof(tp_obj) ? sizeof(as_loop)
                                                                   : sizeof(tp_obj)];

typedef struct bad {
    tp *p;
    th_loop *L;
    th_rec *R;
    tp_obj z, d, d_snap;   /* zeroed; destroyed, and its bytes */
    as_loop zl, dl, dl_snap;
    th_waiter t;           /* never armed */
    th_waiter *pend;       /* pending on p, or NULL */
    int avail;             /* avail() before */
} bad;

static void bad_check(bad *b, const char *what, int got, int want)
{
    const tp_ops *o = b->p->ops;
    if (got != want)
        th_fail("%s: %s returned %s, expected %s", o->name, what, th_errname(got),
                th_errname(want));
    th_quiesce(b->L, 0.01);
    if (th_rec_count(b->R) != 0)
        th_fail("%s: %s: a callback ran", o->name, what);
    TH_EQ(o->waiters(b->p), b->pend ? 1 : 0);
    if (b->pend)
        TH_EQ(as_wait_pending(&b->pend->w), 1);
    TH_EQ(as_wait_pending(&b->t.w), 0);
    if (o->avail)
        TH_EQ(o->avail(b->p), b->avail);
    if (memcmp(&b->z, zeros, sizeof b->z) != 0)
        th_fail("%s: %s: the zeroed object was modified", o->name, what);
    if (memcmp(&b->d, &b->d_snap, sizeof b->d) != 0)
        th_fail("%s: %s: the destroyed object was modified", o->name, what);
    if (memcmp(&b->zl, zeros, sizeof b->zl) != 0)
        th_fail("%s: %s: the zeroed loop was modified", o->name, what);
    if (memcmp(&b->dl, &b->dl_snap, sizeof b->dl) != 0)
        th_fail("%s: %s: the destroyed loop was modified", o->name, what);
}

/* The calls bad in any state of the object. */
static void bad_calls(bad *b)
{
    tp *p = b->p;
    const tp_ops *o = p->ops;
    void *obj = o->obj(p);
    as_loop *loop = &b->L->loop;
    th_waiter *t = &b->t;
#define BAD(what, call, want) bad_check(b, what, (call), (want))
    BAD("NULL object", o->raw(p, NULL, loop, &t->w, th_cb, t), -EINVAL);
    BAD("NULL loop", o->raw(p, obj, NULL, &t->w, th_cb, t), -EINVAL);
    BAD("NULL wait", o->raw(p, obj, loop, NULL, th_cb, t), -EINVAL);
    BAD("NULL callback", o->raw(p, obj, loop, &t->w, NULL, t), -EINVAL);
    BAD("zeroed object", o->raw(p, &b->z, loop, &t->w, th_cb, t), -EINVAL);
    BAD("destroyed object", o->raw(p, &b->d, loop, &t->w, th_cb, t), -EINVAL);
    BAD("zeroed loop", o->raw(p, obj, &b->zl, &t->w, th_cb, t), -EINVAL);
    BAD("destroyed loop", o->raw(p, obj, &b->dl, &t->w, th_cb, t), -EINVAL);
    BAD("destroy of the zeroed object", o->destroy(&b->z), -EINVAL);
    BAD("destroy of the destroyed object", o->destroy(&b->d), -EINVAL);
#undef BAD
}

static void prims_bad_input(void **state)
{
    FIX();
    bad *b = th_zalloc(sizeof *b);
    b->L = L;
    b->R = R;
    TH_RC(as_loop_init_generic(&b->dl, th_notify_noop, NULL, NULL), 0);
    TH_RC(as_loop_destroy(&b->dl), 0);
    b->dl_snap = b->dl;
    TP_EACH_IF(p, tp_any) {
        th_rec_reset(R);
        b->p = p;
        memset(&b->z, 0, sizeof b->z);
        memset(&b->d, 0xa5, sizeof b->d);
        TH_RC(p->ops->init(&b->d), 0);
        TH_RC(p->ops->destroy(&b->d), 0);
        b->d_snap = b->d;
        th_waiter_init(&b->t, R, L, 99);
        /* held, one waiter pending */
        th_waiter a;
        queue(p, &a, 1, 1, R, L, NULL);
        b->pend = &a;
        b->avail = 0;
        bad_calls(b);
        bad_check(b, "a wait already pending",
                  p->ops->raw(p, p->ops->obj(p), &L->loop, &a.w, th_cb, &a), -EBUSY);
        bad_check(b, "destroy with waiters", p->ops->destroy(p->ops->obj(p)), -EBUSY);
        /* it still works */
        static const int one[1] = { 1 };
        serve(p, L, NULL, R, 0, one, 1);
        th_rec_reset(R);
        b->pend = NULL;
        /* free (a wait would be granted at once) */
        if (p->ops->open) {
            p->ops->open(p);
            b->avail = 1;
            bad_check(b, "open", 0, 0);
            bad_calls(b);
        }
    }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(prims_fifo),
        TH_TEST(prims_grant_all),
        TH_TEST(prims_cancel_head),
        TH_TEST(prims_cancel_middle),
        TH_TEST(prims_cancel_tail),
        TH_TEST(prims_cancel_then_grant),
        TH_TEST(prims_cancel_after_grant),
        TH_TEST(prims_cancel_after_grant_xthread),
        TH_TEST(prims_cancel_after_grant_all),
        TH_TEST(prims_two_loops),
        TH_TEST(prims_bad_input),
    };
    return TH_MAIN("prims", tests);
}
