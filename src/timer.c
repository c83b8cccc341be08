/* A loop's deadlines: an intrusive binary min-heap on the waits' deadlines.
 *
 * The heap is a complete binary tree of as_wait nodes linked by parent /
 * left / right pointers inside the waits themselves (as libuv keeps its
 * timers), so a loop needs no memory of its own for any number of timed
 * waits: insert and remove are O(log n), the earliest is the root.  Node i
 * (1-based, in level order) is reached from the root by the bits of i below
 * its highest one (0: left, 1: right).
 *
 * Loop thread only: a wait is added by its *_until call and removed when it
 * expires or when its callback runs, both on the loop's thread.
 *
 * Invariant H1: a wait is in the heap iff as__deadline != AS_NO_DEADLINE;
 * every node's deadline is >= its parent's.
 */
#include "internal.h"
#include "probes.h"

static inline bool earlier(const as_wait *a, const as_wait *b)
{
    return a->as__deadline < b->as__deadline;
}

static inline unsigned top_bit(uint32_t n) { return 31u - (unsigned)__builtin_clz(n); }

/* c (a child of p) takes p's place and p goes down to c's. */
static void swap_with_parent(as_loop *loop, as_wait *p, as_wait *c)
{
    as_wait *gp = p->as__tparent, *cl = c->as__tleft, *cr = c->as__tright;
    if (p->as__tleft == c) {
        c->as__tleft = p;
        c->as__tright = p->as__tright;
        if (c->as__tright)
            c->as__tright->as__tparent = c;
    } else {
        c->as__tright = p;
        c->as__tleft = p->as__tleft;
        if (c->as__tleft)
            c->as__tleft->as__tparent = c;
    }
    p->as__tleft = cl;
    if (cl)
        cl->as__tparent = p;
    p->as__tright = cr;
    if (cr)
        cr->as__tparent = p;
    p->as__tparent = c;
    c->as__tparent = gp;
    if (!gp)
        loop->as__troot = c;
    else if (gp->as__tleft == p)
        gp->as__tleft = c;
    else
        gp->as__tright = c;
}

static void sift_up(as_loop *loop, as_wait *w)
{
    while (w->as__tparent && earlier(w, w->as__tparent))
        swap_with_parent(loop, w->as__tparent, w);
}

static void sift_down(as_loop *loop, as_wait *w)
{
    for (;;) {
        as_wait *m = w->as__tleft;
        if (w->as__tright && (!m || earlier(w->as__tright, m)))
            m = w->as__tright;
        if (!m || !earlier(m, w))
            return;
        swap_with_parent(loop, w, m);
    }
}

/* The node at 1-based level-order position n (1 <= n <= count). */
static as_wait *node_at(const as_loop *loop, uint32_t n)
{
    as_wait *x = loop->as__troot;
    for (unsigned k = top_bit(n); k-- > 0;)
        x = ((n >> k) & 1u) ? x->as__tright : x->as__tleft;
    return x;
}

void as__timer_add(as_loop *loop, as_wait *w, uint64_t deadline)
{
    uint32_t n = ++loop->as__tcount;
    /* atomic only for the readers of dumps (any thread, queue lock) */
    as__store(&w->as__deadline, deadline, AS_RELAXED);
    w->as__tleft = w->as__tright = NULL;
    if (n == 1) {
        w->as__tparent = NULL;
        loop->as__troot = w;
    } else {
        as_wait *p = node_at(loop, n >> 1);
        w->as__tparent = p;
        if (n & 1u)
            p->as__tright = w;
        else
            p->as__tleft = w;
        sift_up(loop, w);
    }
    if (loop->as__ops->timer)
        loop->as__ops->timer(loop);
}

void as__timer_remove(as_loop *loop, as_wait *w)
{
    uint32_t n = loop->as__tcount--;
    as_wait *last = node_at(loop, n);
    /* Detach the last node, then let it take w's place (unless it is w). */
    if (last == loop->as__troot)
        loop->as__troot = NULL;
    else if (last->as__tparent->as__tleft == last)
        last->as__tparent->as__tleft = NULL;
    else
        last->as__tparent->as__tright = NULL;
    if (last != w) {
        as_wait *p = w->as__tparent;
        last->as__tparent = p;
        last->as__tleft = w->as__tleft;
        last->as__tright = w->as__tright;
        if (last->as__tleft)
            last->as__tleft->as__tparent = last;
        if (last->as__tright)
            last->as__tright->as__tparent = last;
        if (!p)
            loop->as__troot = last;
        else if (p->as__tleft == w)
            p->as__tleft = last;
        else
            p->as__tright = last;
        if (p && earlier(last, p))
            sift_up(loop, last);
        else
            sift_down(loop, last);
    }
    as__store(&w->as__deadline, AS_NO_DEADLINE, AS_RELAXED);
    w->as__tparent = w->as__tleft = w->as__tright = NULL;
}

void as__timer_rekey(as_wait *w, uint64_t at)
{
    as_loop *loop = w->as__loop;
    uint64_t until = as__load(&w->as__until, AS_RELAXED);
    uint64_t key = at < until ? at : until;
    if (w->as__deadline == key)
        return;
    if (w->as__deadline != AS_NO_DEADLINE)
        as__timer_remove(loop, w);
    if (key != AS_NO_DEADLINE)
        as__timer_add(loop, w, key);
}

bool as__pass_may(const as_wait *w)
{
    return w->as__loop->as__ops->timer != NULL;
}

void as__wait_expire(as_wait *w)
{
    for (;;) {
        uint32_t s = as__load(&w->as__state, AS_ACQUIRE);
        /* Decided (a grant came first: it wins) or already cancelled. */
        if (!as__wait_busy(s) || as__wait_base(s) == AS__W_DONE ||
            (s & AS__W_CANCEL))
            return;
        if (w->as__kind->cancel(w, -ETIMEDOUT) == 0)
            return;
    }
}

unsigned as__timer_expire(as_loop *loop, uint64_t now)
{
    unsigned k = 0;
    as_wait *w;
    while ((w = loop->as__troot) != NULL && w->as__deadline <= now) {
        const struct as__kind *kind = w->as__kind;
        as__timer_remove(loop, w);
        if (kind->tick) { /* it may put w back, later than now */
            if (kind->tick(w, now)) {
                AS_PROBE2(timeout, loop, w);
                k++;
            }
            continue;
        }
        AS_PROBE2(timeout, loop, w);
        as__wait_expire(w);
        k++;
    }
    as__store(&loop->as__st[AS__ST_TIMEOUTS],
              as__load(&loop->as__st[AS__ST_TIMEOUTS], AS_RELAXED) + k, AS_RELAXED);
    return k;
}

int64_t as_loop_timeout_ns(const as_loop *loop)
{
    uint64_t d, now;
    if (!as__loop_valid(loop))
        return -EINVAL;
    d = as__timer_next(loop);
    if (d == AS_NO_DEADLINE)
        return -1;
    now = as_now_ns();
    return d <= now ? 0 : (int64_t)(d - now);
}
