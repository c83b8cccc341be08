/* Named process-shared objects (docs/pshared.md 12): as_sem_open,
 * as_mutex_open, as_event_open, as_latch_open, as_pshared_unmap, as_pshared_unlink, over
 * one generic opener (as__ps_open): each primitive is a type descriptor
 * and an init wrapper (as_mutex_open will be the same).
 *
 * THE OPEN (Linux)
 *   fd = shm_open(name); then, holding a flock(2) lock on fd (exclusive for
 *   an O_CREAT opener, shared for an attacher), fstat and pread the 48-byte
 *   header, and decide:
 *     - size 0: not created yet.  An O_CREAT opener creates it: ftruncate
 *       to AS_PSHARED_SIZE(T, slots), mmap, the primitive's init (magic
 *       last, release), unlock.  An attacher: -ENOENT (its open is ordered
 *       before the create that is starting).
 *     - magic set: attach, after the checks (layout and magic of the type,
 *       else -EPROTO; the size the header implies is the file's, else
 *       -EPROTO; slots and flags as asked, else -EINVAL).
 *     - size > 0, magic 0: created and not initialised.  The lock is held
 *       by every creator from before its ftruncate until after its magic
 *       store, so with the lock in hand nobody is initialising it: its
 *       creator died (or failed, or the object was destroyed).  An O_CREAT
 *       opener initialises it (repair: no process can be using an object
 *       whose magic was never published); an attacher retries, with short
 *       sleeps, up to 1 s, then -ETIMEDOUT.
 *   Waiting for a lock held by a creator is bounded the same way (1 s,
 *   sleeps of 50 us doubling to 2 ms): -ETIMEDOUT, never a hang behind a
 *   stopped process.
 *
 *   Who creates: the O_CREAT opener that finds the object zero-length (or
 *   never initialised) while it holds the exclusive lock.  Two racing
 *   O_CREAT openers are serialised by the lock: the second finds it
 *   initialised.  O_EXCL adds: this open's shm_open created the name, and
 *   the object was still zero-length under the lock (an O_CREAT opener that
 *   overlapped it may have initialised it first: -EEXIST, as if it had come
 *   first, which two overlapping calls allow).
 *
 *   The lock is flock(2), not an fcntl OFD lock as 12 first said: the same
 *   semantics for a whole file (owned by the open file description,
 *   released when the description goes, so a creator killed mid-init
 *   releases it; two opens in one process exclude each other), and every
 *   Linux kernel has it (OFD locks need 3.15).  A mapping of the object
 *   holds the description: the opener unlocks explicitly before it closes
 *   (a close alone leaves the lock held as long as the mapping lives).  A process that forks while
 *   another of its threads is inside an open shares the descriptor, and the
 *   lock, with the child until the child closes it or exits.
 *
 *   Failure after the create began (ftruncate ENOSPC, mmap ENOMEM): if this
 *   open's shm_open made the name, it is unlinked, under the lock, after
 *   checking the name still names this object; else the object is put back
 *   to zero length (the opener that made the name finishes the job).  A
 *   creator that finds, holding the lock, that the name no longer names the
 *   object it holds (unlinked meanwhile) starts over: it never initialises
 *   an object nobody can open any more while another opener creates a
 *   second one under the name.
 *
 * THE MAPPING
 *   [one private page: the record][the shared object, page-rounded]
 *   The record (read-only after the open) holds the mapping's address and
 *   length, so as_pshared_unmap never trusts the shared memory (which every
 *   process writes) for how much to unmap.  No heap: the pages are the
 *   caller's until as_pshared_unmap.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <string.h>

#include "pshared.h"

/* Names as shm_open(3) takes them on every libc: one leading '/', then 1 to
 * AS_PSHARED_NAME_MAX - 1 bytes (glibc refuses 254 and more after the
 * slash), none of them '/', not "." or "..". */
static int ps_name_ok(const char *name)
{
    size_t n;
    if (!name || name[0] != '/')
        return 0;
    n = strlen(name + 1);
    if (n == 0 || n > AS_PSHARED_NAME_MAX - 1 || strchr(name + 1, '/'))
        return 0;
    if (strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
        return 0;
    return 1;
}

/* oflag: O_CREAT, O_EXCL (with O_CREAT only), O_RDWR (ignored: the object
 * is always opened read-write). */
static int ps_oflag_ok(int oflag)
{
    if (oflag & ~(O_CREAT | O_EXCL | O_RDWR))
        return 0;
    if ((oflag & O_EXCL) && !(oflag & O_CREAT))
        return 0;
    return 1;
}

#ifdef AS__PS_SUPPORTED
#include <errno.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void (*as__ps_open_hook)(int stage, void *obj, size_t len);

#define PS_OPEN_WAIT_NS 1000000000ull /* 1 s: then -ETIMEDOUT */
#define PS_SLEEP_MIN_NS 50000ull
#define PS_SLEEP_MAX_NS 2000000ull
#define PS_REC_MAGIC 0x50534f50454e3031ull /* "PSOPEN01" */
/* The largest object any type may be (a bound for the header checks). */
#define PS_SIZE_MAX (1u << 20)

typedef struct ps_rec {
    uint64_t magic; /* PS_REC_MAGIC ^ the object's address */
    void *obj;
    size_t len;     /* of the whole reservation: record page + object */
} ps_rec;

static size_t ps_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096u;
}

static void ps_sleep(uint64_t *ns)
{
    struct timespec ts = { 0, (long)*ns };
    (void)nanosleep(&ts, NULL); /* EINTR: the caller's deadline bounds it */
    if (*ns < PS_SLEEP_MAX_NS)
        *ns *= 2;
}

/* flock with the 1 s bound.  0, -ETIMEDOUT, or another negative errno. */
static int ps_lock(int fd, int how, uint64_t deadline, uint64_t *nap)
{
    for (;;) {
        if (flock(fd, how | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        if (as_now_ns() >= deadline)
            return -ETIMEDOUT;
        ps_sleep(nap);
    }
}

/* Unlock, then close: a mapping of the object keeps its open file
 * description, and with it the lock, alive after the close. */
static void ps_close(int fd)
{
    (void)flock(fd, LOCK_UN);
    close(fd);
}

static int ps_pread_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EPROTO; /* shorter than fstat said: not ours */
        got += (size_t)r;
    }
    return 0;
}

/* Does `name` still name the object fd holds?  1 yes, 0 no (unlinked, or
 * replaced by another object), or a negative errno. */
static int ps_same(const char *name, int fd)
{
    struct stat a, b;
    int fd2 = shm_open(name, O_RDONLY, 0);
    int r;
    if (fd2 < 0)
        return errno == ENOENT ? 0 : -errno;
    r = (fstat(fd, &a) == 0 && fstat(fd2, &b) == 0)
            ? (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            : -errno;
    close(fd2);
    return r;
}

/* Map len bytes of fd after a private record page.  The object's address,
 * or NULL (errno set). */
static void *ps_map(int fd, size_t len)
{
    size_t pg = ps_page(), span = pg + ((len + pg - 1) & ~(pg - 1));
    char *base = mmap(NULL, span, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *obj;
    ps_rec *rec;
    int e;
    if (base == MAP_FAILED)
        return NULL;
    obj = mmap(base + pg, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
               fd, 0);
    if (obj == MAP_FAILED) {
        e = errno;
        munmap(base, span);
        errno = e;
        return NULL;
    }
    rec = (ps_rec *)(void *)base;
    rec->magic = PS_REC_MAGIC ^ (uint64_t)(uintptr_t)obj;
    rec->obj = obj;
    rec->len = span;
    /* stray writes into the record fault instead of changing what unmap
     * unmaps (best effort: the record is right either way) */
    (void)mprotect(base, pg, PROT_READ);
    return obj;
}

static void ps_unmap_rec(void *obj)
{
    const ps_rec *rec = (const ps_rec *)(const void *)((char *)obj - ps_page());
    munmap((char *)obj - ps_page(), rec->len);
}

/* The header checks of an initialised object (magic set) against what the
 * opener expects: 0, -EPROTO (another type, layout or size) or -EINVAL
 * (another slot count or other flags). */
static int ps_check_hdr(const as__ps *h, off_t size, const as__ps_type *t,
                        uint32_t flags)
{
    uint32_t k = (h->flags >> 16) & 0xfffu;
    if (h->magic != t->magic || h->layout != AS__PS_LAYOUT(t->base))
        return -EPROTO;
    if (k > AS_PSHARED_SLOTS_MAX || size != (off_t)AS__PS_SIZE(t->base, k))
        return -EPROTO;
    if ((h->flags & t->flags_mask) != flags)
        return -EINVAL;
    return 0;
}

int as__ps_open(void **out, const char *name, int oflag, unsigned mode,
                const as__ps_type *t, uint32_t flags, as__ps_init_fn init,
                const void *arg)
{
    const uint64_t deadline = as_now_ns() + PS_OPEN_WAIT_NS;
    const size_t size = AS__PS_SIZE(t->base, (flags >> 16) & 0xfffu);
    const bool creat = (oflag & O_CREAT) != 0, excl = (oflag & O_EXCL) != 0;
    uint64_t nap = PS_SLEEP_MIN_NS;
    int r;

    for (;;) {
        struct stat st;
        as__ps h;
        bool made = false;
        void *obj;
        int fd;

        /* who made the name matters only for cleaning up after a failure */
        fd = excl ? -1 : shm_open(name, O_RDWR, 0);
        if (fd < 0 && (excl || errno == ENOENT) && creat) {
            fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, (mode_t)mode);
            made = fd >= 0;
            if (fd < 0 && errno == EEXIST && !excl) {
                /* made by another opener since our look: again */
                if (as_now_ns() >= deadline)
                    return -ETIMEDOUT;
                continue;
            }
        }
        if (fd < 0)
            return -errno;
        if (as__ps_open_hook)
            as__ps_open_hook(AS__PS_HOOK_OPENED, NULL, made);

        r = ps_lock(fd, creat ? LOCK_EX : LOCK_SH, deadline, &nap);
        if (r < 0)
            goto out_close;
        if (fstat(fd, &st) < 0) {
            r = -errno;
            goto out_close;
        }
        memset(&h, 0, sizeof h);
        if (st.st_size != 0) {
            if (st.st_size < (off_t)sizeof h || st.st_size > (off_t)PS_SIZE_MAX) {
                r = -EPROTO; /* no object of ours has that size */
                goto out_close;
            }
            r = ps_pread_all(fd, &h, sizeof h);
            if (r < 0)
                goto out_close;
        }

        if (st.st_size != 0 && h.magic != 0) {
            /* initialised: attach */
            if (excl) {
                r = -EEXIST; /* initialised by an O_CREAT open that overlapped ours */
                goto out_close;
            }
            r = ps_check_hdr(&h, st.st_size, t, flags);
            if (r < 0)
                goto out_close;
            obj = ps_map(fd, size);
            if (!obj) {
                r = -errno;
                goto out_close;
            }
            *out = obj;
            ps_close(fd);
            return 0;
        }
        if (st.st_size != 0 && h.layout != 0 && h.layout != AS__PS_LAYOUT(t->base)) {
            r = -EPROTO; /* another layout, not initialised: not ours to repair */
            goto out_close;
        }
        if (!creat) {
            ps_close(fd);
            if (st.st_size == 0)
                return -ENOENT; /* not created yet */
            /* created, never initialised (its creator died): wait for an
             * O_CREAT opener to repair it, up to the bound */
            if (as_now_ns() >= deadline)
                return -ETIMEDOUT;
            ps_sleep(&nap);
            continue;
        }

        /* Create (size 0) or repair (magic 0): we hold the exclusive lock,
         * so nobody else is initialising it. */
        r = ps_same(name, fd);
        if (r == 0) {
            ps_close(fd); /* unlinked while we waited: start over */
            if (as_now_ns() >= deadline)
                return -ETIMEDOUT;
            continue;
        }
        if (r < 0)
            goto out_close;
        if (ftruncate(fd, (off_t)size) < 0) {
            r = -errno;
            goto out_undo;
        }
        obj = ps_map(fd, size);
        if (!obj) {
            r = -errno;
            goto out_undo;
        }
        if (as__ps_open_hook)
            as__ps_open_hook(AS__PS_HOOK_CREATING, obj, size); /* tests */
        r = init(obj, arg);
        if (r < 0) {
            ps_unmap_rec(obj);
            goto out_undo;
        }
        *out = obj;
        ps_close(fd);
        return 0;

    out_undo:
        /* Nobody attached (no magic): undo what this open created. */
        if (made) {
            if (ps_same(name, fd) == 1)
                (void)shm_unlink(name);
        } else if (st.st_size == 0) {
            (void)ftruncate(fd, 0);
        }
    out_close:
        ps_close(fd);
        return r;
    }
}

int as_pshared_unmap(void *obj)
{
    size_t pg = ps_page();
    const ps_rec *rec;
    if (!obj || ((uintptr_t)obj & (pg - 1)) != 0)
        return -EINVAL;
    rec = (const ps_rec *)(const void *)((char *)obj - pg);
    if (rec->magic != (PS_REC_MAGIC ^ (uint64_t)(uintptr_t)obj) || rec->obj != obj)
        return -EINVAL;
    if (munmap((char *)obj - pg, rec->len) < 0)
        return -errno;
    return 0;
}

int as_pshared_unlink(const char *name)
{
    if (!ps_name_ok(name))
        return -EINVAL;
    return shm_unlink(name) < 0 ? -errno : 0;
}

/* ---- the semaphore ---- */

static int ps_sem_init(void *obj, const void *arg)
{
    const uint32_t *a = arg; /* permits, flags */
    return as__sem_ps_init(obj, a[0], a[1]);
}

static const as__ps_type ps_sem_type = {
    AS__MAGIC_SEM, (uint32_t)sizeof(as_sem),
    AS_PSHARED | AS_SEM_STRICT_FIFO | AS_PSHARED_SLOTS(0xfffu)
};

/* ---- the mutex (mutex_ps.c) ---- */

static int ps_mutex_init(void *obj, const void *arg)
{
    return as__mutex_ps_init(obj, *(const uint32_t *)arg);
}

static const as__ps_type ps_mutex_type = {
    AS__MAGIC_MUTEX, (uint32_t)sizeof(as_mutex),
    AS_PSHARED | AS_MUTEX_STRICT_FIFO | AS_MUTEX_ROBUST | AS_PSHARED_SLOTS(0xfffu)
};

/* ---- the events (gwait_ps.c, sem_ps.c) and the latch (gwait_ps.c) ---- */

static int ps_event_init(void *obj, const void *arg)
{
    return as__event_ps_init(obj, *(const uint32_t *)arg);
}

/* AS_EVENT_INITIALLY_SET is the creator's initial state, not a property
 * an attacher must match (as a semaphore's permits). */
static const as__ps_type ps_event_type = {
    AS__MAGIC_EVENT, (uint32_t)sizeof(as_event),
    AS_PSHARED | AS_EVENT_MANUAL_RESET | AS_PSHARED_SLOTS(0xfffu)
};

static int ps_latch_init(void *obj, const void *arg)
{
    const uint32_t *a = arg; /* count, flags */
    return as__latch_ps_init(obj, a[0], a[1]);
}

static const as__ps_type ps_latch_type = {
    AS__MAGIC_LATCH, (uint32_t)sizeof(as_latch),
    AS_PSHARED | AS_PSHARED_SLOTS(0xfffu)
};
#endif /* AS__PS_SUPPORTED */

int as_sem_open(as_sem **out, const char *name, int oflag, unsigned mode,
                uint32_t permits, unsigned flags, unsigned slots)
{
    if (!out || !ps_name_ok(name) || !ps_oflag_ok(oflag) || (mode & ~0777u) ||
        permits > AS_PSHARED_SEM_VALUE_MAX || slots > AS_PSHARED_SLOTS_MAX ||
        (flags & ~(AS_PSHARED | AS_SEM_STRICT_FIFO)))
        return -EINVAL;
#ifdef AS__PS_SUPPORTED
    {
        uint32_t a[2];
        void *obj = NULL;
        int r;
        a[0] = permits;
        a[1] = flags | AS_PSHARED | AS_PSHARED_SLOTS(slots);
        r = as__ps_open(&obj, name, oflag, mode, &ps_sem_type, a[1],
                        ps_sem_init, a);
        if (r == 0)
            *out = obj;
        return r;
    }
#else
    return -EOPNOTSUPP;
#endif
}

int as_mutex_open(as_mutex **out, const char *name, int oflag, unsigned mode,
                  unsigned flags, unsigned slots)
{
    if (!out || !ps_name_ok(name) || !ps_oflag_ok(oflag) || (mode & ~0777u) ||
        slots > AS_PSHARED_SLOTS_MAX ||
        (flags & ~(AS_PSHARED | AS_MUTEX_STRICT_FIFO | AS_MUTEX_ROBUST)))
        return -EINVAL;
#ifdef AS__PS_SUPPORTED
    {
        uint32_t f = flags | AS_PSHARED | AS_PSHARED_SLOTS(slots);
        void *obj = NULL;
        int r = as__ps_open(&obj, name, oflag, mode, &ps_mutex_type, f,
                            ps_mutex_init, &f);
        if (r == 0)
            *out = obj;
        return r;
    }
#else
    return -EOPNOTSUPP;
#endif
}

int as_event_open(as_event **out, const char *name, int oflag, unsigned mode,
                  unsigned flags, unsigned slots)
{
    if (!out || !ps_name_ok(name) || !ps_oflag_ok(oflag) || (mode & ~0777u) ||
        slots > AS_PSHARED_SLOTS_MAX ||
        (flags & ~(AS_PSHARED | AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET)))
        return -EINVAL;
#ifdef AS__PS_SUPPORTED
    {
        uint32_t f = flags | AS_PSHARED | AS_PSHARED_SLOTS(slots);
        void *obj = NULL;
        int r = as__ps_open(&obj, name, oflag, mode, &ps_event_type,
                            f & ~(uint32_t)AS_EVENT_INITIALLY_SET, ps_event_init, &f);
        if (r == 0)
            *out = obj;
        return r;
    }
#else
    return -EOPNOTSUPP;
#endif
}

int as_latch_open(as_latch **out, const char *name, int oflag, unsigned mode,
                  uint32_t count, unsigned flags, unsigned slots)
{
    if (!out || !ps_name_ok(name) || !ps_oflag_ok(oflag) || (mode & ~0777u) ||
        count > AS_LATCH_VALUE_MAX || slots > AS_PSHARED_SLOTS_MAX ||
        (flags & ~AS_PSHARED))
        return -EINVAL;
#ifdef AS__PS_SUPPORTED
    {
        uint32_t a[2];
        void *obj = NULL;
        int r;
        a[0] = count;
        a[1] = flags | AS_PSHARED | AS_PSHARED_SLOTS(slots);
        r = as__ps_open(&obj, name, oflag, mode, &ps_latch_type, a[1],
                        ps_latch_init, a);
        if (r == 0)
            *out = obj;
        return r;
    }
#else
    return -EOPNOTSUPP;
#endif
}

#ifndef AS__PS_SUPPORTED
int as_pshared_unmap(void *obj)
{
    return obj ? -EOPNOTSUPP : -EINVAL;
}

int as_pshared_unlink(const char *name)
{
    return ps_name_ok(name) ? -EOPNOTSUPP : -EINVAL;
}
#endif
