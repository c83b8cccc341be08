/* Process-shared objects: participant ids, liveness, the cross-process
 * queue lock, slot allocation, wakes.  See pshared.h and docs/pshared.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pshared.h"

#ifdef AS__PS_SUPPORTED
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- participants (4) ---- */

uint32_t as__ps_id; /* atomic; 0: not computed in this process */

/* A fork child is another process: its id is computed again (the parent's
 * would make the child's slots and lock holds look like the parent's). */
static void as__ps_atfork_child(void) { as__store(&as__ps_id, 0u, AS_RELAXED); }

static void as__ps_atfork_register(void)
{
    (void)pthread_atfork(NULL, NULL, as__ps_atfork_child);
}

/* /proc/<pid>/stat: state (field 3) and start time (field 22).  0, or
 * -ENOENT (no such process), or -ENOSYS (no /proc to ask). */
static int as__ps_stat(pid_t pid, char *state, unsigned long long *start)
{
    char path[64], buf[1024], *p;
    ssize_t n;
    int fd, field;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH) {
            /* a missing /proc looks the same: tell them apart */
            return access("/proc/self/stat", F_OK) == 0 ? -ENOENT : -ENOSYS;
        }
        return -ENOSYS;
    }
    do {
        n = read(fd, buf, sizeof buf - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return n == 0 ? -ENOENT : -ENOSYS; /* ESRCH: it went meanwhile */
    buf[n] = '\0';
    /* the command name may hold anything, ')' too: the last ')' ends it */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -ENOSYS;
    p += 2;
    *state = *p;
    for (field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p)
        return -ENOSYS;
    *start = strtoull(p, NULL, 10);
    return 0;
}

static uint32_t as__ps_make_id(pid_t pid, unsigned long long start)
{
    return ((uint32_t)pid & 0x3fffffu) | ((uint32_t)(start % 512u) << 22);
}

uint32_t as__ps_me_slow(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    uint32_t id = as__load(&as__ps_id, AS_RELAXED);
    char st;
    unsigned long long start = 0;
    pid_t pid;
    if (as__likely(id != 0))
        return id;
    (void)pthread_once(&once, as__ps_atfork_register);
    pid = getpid();
    /* No /proc: the tag is 0 for everyone (liveness falls back to
     * kill(pid, 0), with the pid-reuse risk docs/pshared.md 4 states). */
    if (as__ps_stat(pid, &st, &start) < 0)
        start = 0;
    id = as__ps_make_id(pid, start);
    /* racing threads compute the same value */
    as__store(&as__ps_id, id, AS_RELAXED);
    return id;
}

/* P7: "dead" only for a process that is not there (no /proc entry, a
 * zombie, or another process under that pid: another start time). */
bool as__ps_alive(uint32_t id)
{
    pid_t pid = (pid_t)(id & 0x3fffffu);
    char st = 0;
    unsigned long long start = 0;
    int r;
    if (pid == 0)
        return false;
    r = as__ps_stat(pid, &st, &start);
    if (r == -ENOENT)
        return false;
    if (r < 0) /* no /proc: the pid alone */
        return !(kill(pid, 0) < 0 && errno == ESRCH);
    if (st == 'Z' || st == 'X')
        return false;
    return as__ps_make_id(pid, start) == (id & 0x7fffffffu);
}

/* ---- the health tick (9.1) ---- */

/* Read at every park (a slow path): a process may set it before it forks
 * its workers. */
uint64_t as__ps_tick_ns(void)
{
    const char *e = getenv("ASYNCSYNC_PSHARED_TICK_MS");
    char *end;
    unsigned long ms;
    if (!e || !*e)
        return AS__PS_TICK_NS;
    ms = strtoul(e, &end, 10);
    if (*end != '\0' || ms < 1 || ms > 3600000ul)
        return AS__PS_TICK_NS;
    return (uint64_t)ms * 1000000ull;
}

/* ---- the queue lock (5.1, 5.2) ---- */

#define AS__PS_SPINS 100
#define AS__PS_SLEEP_NS 1000000ull /* 1 ms */
#define AS__PS_SLEEPS_BEFORE_CHECK 10

bool as__ps_lock_slow(as__ps *ps, uint32_t me)
{
    unsigned spins = 0, sleeps = 0;
    uint32_t last = 0, want = me;
    for (;;) {
        uint32_t v = as__load(&ps->qlock, AS_RELAXED);
        if (v == 0) {
            /* After a sleep, take it as CONTENDED: others may sleep too. */
            if (as__cas(&ps->qlock, &v, want, AS_ACQUIRE, AS_RELAXED))
                return false;
            continue;
        }
        if (spins < AS__PS_SPINS) {
            spins++;
            as__cpu_relax();
            continue;
        }
        if (!(v & AS__PS_CONTENDED)) {
            if (!as__cas(&ps->qlock, &v, v | AS__PS_CONTENDED, AS_RELAXED,
                         AS_RELAXED))
                continue;
            v |= AS__PS_CONTENDED;
        }
        want = me | AS__PS_CONTENDED;
        if ((v & ~AS__PS_CONTENDED) == last) {
            sleeps++;
        } else {
            last = v & ~AS__PS_CONTENDED;
            sleeps = 1;
        }
        /* P5: taken over only from a holder found dead (a live but slow
         * or stopped holder is waited for: 5.2). */
        if (sleeps >= AS__PS_SLEEPS_BEFORE_CHECK) {
            sleeps = 0; /* a live holder is checked again 10 sleeps on */
            if (!as__ps_alive(last)) {
                if (as__cas(&ps->qlock, &v, me | AS__PS_CONTENDED, AS_ACQUIRE,
                            AS_RELAXED))
                    return true; /* the caller recovers (5.4) */
                continue;
            }
        }
        /* K1: a shared key; 1 ms bounds a wake lost to a contender killed
         * between its wake-up and its retry. */
        as__futex_wait_shared(&ps->qlock, v, as_now_ns() + AS__PS_SLEEP_NS);
    }
}

void as__ps_unlock(as__ps *ps)
{
    if (as__xchg(&ps->qlock, 0u, AS_RELEASE) & AS__PS_CONTENDED)
        (void)as__futex_wake_shared(&ps->qlock, false);
}

/* ---- slots ---- */

uint32_t as__ps_slot_alloc(as__ps *ps, uint32_t nslots, uint32_t me)
{
    for (uint32_t i = 0; i < nslots; i++) {
        as__ps_slot *sl = as__ps_slot_at(ps, i);
        uint32_t z = 0;
        /* seq_cst: ordered against the overflow count (6.6, sem_ps.c) */
        if (as__load(&sl->who, AS_RELAXED) == 0 &&
            as__cas(&sl->who, &z, me, AS_SEQ_CST, AS_RELAXED))
            return i;
    }
    return UINT32_MAX;
}

bool as__ps_slot_alloc_probe(as__ps *ps, uint32_t nslots)
{
    for (uint32_t i = 0; i < nslots; i++)
        if (as__load(&as__ps_slot_at(ps, i)->who, AS_RELAXED) == 0)
            return true;
    return false;
}

void as__ps_wakes_run(as__ps *ps, as__ps_wakes *wk)
{
    if (wk->ovf)
        (void)as__futex_wake_shared(&ps->ovf, true); /* K2 */
    if (wk->lo == UINT32_MAX) {
        wk->ovf = false;
        return;
    }
    for (uint32_t i = wk->lo; i <= wk->hi; i++)
        if (wk->bits[i / 64] & (1ull << (i % 64)))
            (void)as__futex_wake_shared(&as__ps_slot_at(ps, i)->fw, true); /* K2 */
    as__ps_wakes_init(wk);
}

void as__ps_ovf_kick(as__ps *ps)
{
    /* 6.6: the freed slot's who := 0 came first (seq_cst); a waiter counts
     * itself in novf (seq_cst) before it reads ovf and scans the slots, so
     * either we see its count here or its scan sees the free slot. */
    if (as__load(&ps->novf, AS_SEQ_CST) == 0)
        return;
    as__fetch_add(&ps->ovf, 1u, AS_SEQ_CST);
    (void)as__futex_wake_shared(&ps->ovf, true); /* K2 */
}
#else
typedef int as__pshared_unused;
#endif
