/*
 * Named process-shared objects (as_sem_open, as_pshared_unmap,
 * as_pshared_unlink; docs/pshared.md 12).
 *
 * Each row uses names of its own ("/asyncsync-t<pid>-<n>") and the
 * teardown unlinks every name the row made (a failed row leaves no shm
 * object behind).  Children are forked processes that open the object by
 * name themselves (a child forked before the create inherits no mapping
 * of it); pipes order parent and children, never sleeps, except where the
 * row measures the library's own bounded wait (1 s).
 *
 * The creator-death rows use the library's test hook as__ps_open_hook,
 * called by a creator after it sized and mapped the object and before it
 * initialised it: the hook kills the creator there, or stops it on a pipe
 * (holding the creation lock), or counts creators.
 */
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The library's test hook (src/pshared.h). */
extern void (*as__ps_open_hook)(int stage, void *obj, size_t len);
#define HOOK_OPENED 0   /* after shm_open, before the lock; len: made the name */
#define HOOK_CREATING 1 /* a creator, after ftruncate and mmap, before init */

/* ---- names -------------------------------------------------------------- */

#define MAX_NAMES 16
static char names[MAX_NAMES][64];
static int n_names;

static const char *new_name(void)
{
    static unsigned seq;
    assert_true(n_names < MAX_NAMES);
    snprintf(names[n_names], sizeof names[0], "/asyncsync-t%d-%u", (int)getpid(),
             seq++);
    (void)shm_unlink(names[n_names]);
    return names[n_names++];
}

static bool name_exists(const char *name)
{
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* ---- children ----------------------------------------------------------- */

#define MAX_KIDS 4
static pid_t kids[MAX_KIDS];

typedef int (*kid_fn)(void *arg);

static pid_t spawn(kid_fn fn, void *arg)
{
    pid_t p;
    fflush(stdout);
    fflush(stderr);
    p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        th_child_mode = true;
        alarm(60);
        _exit(fn(arg));
    }
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] <= 0) {
            kids[i] = p;
            break;
        }
    return p;
}

/* Reap p; its wait status. */
static int reap(pid_t p)
{
    int st = 0;
    while (waitpid(p, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] == p)
            kids[i] = 0;
    return st;
}

#define REAP_OK(p)                                                             \
    do {                                                                       \
        int st_ = reap(p);                                                     \
        if (!WIFEXITED(st_) || WEXITSTATUS(st_) != 0)                          \
            fail_msg("child: %s %d", WIFEXITED(st_) ? "exit" : "signal",       \
                     WIFEXITED(st_) ? WEXITSTATUS(st_) : WTERMSIG(st_));       \
    } while (0)

static void put(int fd, int v)
{
    if (write(fd, &v, sizeof v) != (ssize_t)sizeof v)
        th_fail("pipe write");
}

static int get(int fd)
{
    int v;
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 10000) <= 0)
        th_fail("nothing on the pipe within 10 s");
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        th_fail("pipe closed (a process died)");
    return v;
}

static void mkpipe(int p[2]) { assert_int_equal(pipe2(p, O_CLOEXEC), 0); }

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] > 0) {
            int st;
            kill(kids[i], SIGKILL);
            while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
                ;
            kids[i] = 0;
        }
    for (int i = 0; i < n_names; i++)
        (void)shm_unlink(names[i]);
    n_names = 0;
    as__ps_open_hook = NULL;
    return 0;
}

/* ---- rows ----------------------------------------------------------------- */

#define CX (O_CREAT | O_EXCL)

/* Bad input: -EINVAL, and no shm object made. */
static void po_bad_input(void **state)
{
    (void)state;
    const char *n = new_name();
    as_sem *s = NULL, *keep = (as_sem *)(uintptr_t)0x1234;
    char lng[AS_PSHARED_NAME_MAX + 2];
    static const char *bad[] = { "", "/", "noslash", "/a/b", "/.", "/..", "//x",
                                 "x/" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = keep;
        TH_RC(as_sem_open(&s, bad[i], CX, 0600, 1, 0, 0), -EINVAL);
        TH_EQ(s == keep, 1); /* *out untouched */
        TH_RC(as_pshared_unlink(bad[i]), -EINVAL);
    }
    TH_RC(as_sem_open(&s, NULL, CX, 0600, 1, 0, 0), -EINVAL);
    TH_RC(as_pshared_unlink(NULL), -EINVAL);
    /* the length limit: AS_PSHARED_NAME_MAX with the '/', not one more */
    memset(lng, 'n', sizeof lng);
    lng[0] = '/';
    lng[AS_PSHARED_NAME_MAX + 1] = '\0';
    TH_RC(as_sem_open(&s, lng, CX, 0600, 1, 0, 0), -EINVAL);
    TH_RC(as_pshared_unlink(lng), -EINVAL);
    snprintf(lng, sizeof lng, "/asyncsync-t%d-", (int)getpid());
    memset(lng + strlen(lng), 'm', AS_PSHARED_NAME_MAX - strlen(lng));
    lng[AS_PSHARED_NAME_MAX] = '\0';
    (void)shm_unlink(lng);
    TH_RC(as_sem_open(&s, lng, CX, 0600, 1, 0, 0), 0);
    TH_RC(as_pshared_unlink(lng), 0);
    TH_RC(as_pshared_unmap(s), 0);

    TH_RC(as_sem_open(NULL, n, CX, 0600, 1, 0, 0), -EINVAL);
    TH_RC(as_sem_open(&s, n, O_EXCL, 0600, 1, 0, 0), -EINVAL);
    TH_RC(as_sem_open(&s, n, O_CREAT | O_TRUNC, 0600, 1, 0, 0), -EINVAL);
    TH_RC(as_sem_open(&s, n, O_CREAT | O_WRONLY, 0600, 1, 0, 0), -EINVAL);
    TH_RC(as_sem_open(&s, n, CX, 01600, 1, 0, 0), -EINVAL);
    TH_RC(as_sem_open(&s, n, CX, 0600, AS_PSHARED_SEM_VALUE_MAX + 1, 0, 0), -EINVAL);
    TH_RC(as_sem_open(&s, n, CX, 0600, 1, 0, AS_PSHARED_SLOTS_MAX + 1), -EINVAL);
    TH_RC(as_sem_open(&s, n, CX, 0600, 1, AS_PSHARED | AS_PSHARED_SLOTS(2), 2),
          -EINVAL);
    TH_RC(as_sem_open(&s, n, CX, 0600, 1, 0x100u, 0), -EINVAL);
    TH_EQ(name_exists(n), 0);
    TH_RC(as_pshared_unlink(n), -ENOENT);

    /* unmap: only what an open returned */
    TH_RC(as_pshared_unmap(NULL), -EINVAL);
    {
        long pg = sysconf(_SC_PAGESIZE);
        char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(m != MAP_FAILED);
        TH_RC(as_pshared_unmap(m + 8), -EINVAL);  /* not page-aligned */
        TH_RC(as_pshared_unmap(m + pg), -EINVAL); /* no record before it */
        munmap(m, (size_t)pg * 2);
    }
    /* AS_PSHARED may be given; O_RDWR is accepted */
    TH_RC(as_sem_open(&s, n, CX | O_RDWR, 0600, 2, AS_PSHARED, 0), 0);
    TH_EQ(as_sem_value(s), 2);
    TH_RC(as_pshared_unmap((char *)s + 16), -EINVAL);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(n), 0);
    TH_EQ(name_exists(n), 0);
}

/* O_EXCL on an existing name, attach of a missing one, attach with other
 * expectations (nothing changed), O_CREAT on an existing one attaches. */
static void po_create_modes(void **state)
{
    (void)state;
    const char *n = new_name();
    as_sem *a = NULL, *b = NULL, *c = NULL;
    TH_RC(as_sem_open(&a, n, 0, 0, 0, 0, 0), -ENOENT);
    TH_EQ(name_exists(n), 0);
    TH_RC(as_sem_open(&a, n, CX, 0600, 3, AS_SEM_STRICT_FIFO, 5), 0);
    TH_RC(as_sem_open(&b, n, CX, 0600, 3, AS_SEM_STRICT_FIFO, 5), -EEXIST);
    TH_EQ(b == NULL, 1);
    TH_RC(as_sem_try_acquire(a, 1), 1);
    /* another slot count, other flags: -EINVAL, nothing changed */
    TH_RC(as_sem_open(&b, n, 0, 0, 0, AS_SEM_STRICT_FIFO, 4), -EINVAL);
    TH_RC(as_sem_open(&b, n, O_CREAT, 0600, 9, AS_SEM_STRICT_FIFO, 6), -EINVAL);
    TH_RC(as_sem_open(&b, n, 0, 0, 0, 0, 5), -EINVAL);
    TH_EQ(b == NULL, 1);
    TH_EQ(as_sem_value(a), 2);
    /* attach, and O_CREAT on an existing object: permits ignored */
    TH_RC(as_sem_open(&b, n, 0, 0, 0, AS_SEM_STRICT_FIFO, 5), 0);
    TH_RC(as_sem_open(&c, n, O_CREAT, 0600, 100, AS_PSHARED | AS_SEM_STRICT_FIFO, 5), 0);
    TH_EQ(b != a && c != a && c != b, 1); /* three mappings of one object */
    TH_EQ(as_sem_value(c), 2);
    TH_RC(as_sem_release(b, 1), 0);
    TH_EQ(as_sem_value(a), 3);
    TH_EQ(as_sem_value(c), 3);
    {
        /* the object is AS_PSHARED_SIZE(as_sem, 5) bytes */
        struct stat st;
        int fd = shm_open(n, O_RDONLY, 0);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        close(fd);
        TH_EQ((size_t)st.st_size, AS_PSHARED_SIZE(as_sem, 5));
    }
    /* a closed semaphore still opens (its calls say -ESHUTDOWN) */
    TH_RC(as_sem_close(a), 0);
    TH_RC(as_pshared_unmap(c), 0);
    TH_RC(as_sem_open(&c, n, 0, 0, 0, AS_SEM_STRICT_FIFO, 5), 0);
    TH_RC(as_sem_try_acquire(c, 1), -ESHUTDOWN);
    TH_RC(as_pshared_unmap(a), 0);
    TH_RC(as_pshared_unmap(b), 0);
    TH_RC(as_pshared_unmap(c), 0);
    TH_RC(as_pshared_unlink(n), 0);
    TH_RC(as_pshared_unlink(n), -ENOENT);
}

/* -EPROTO: the name holds another primitive, another layout, or a shared
 * memory object of someone else; nothing of it is changed, O_CREAT
 * included. */
static void po_eproto(void **state)
{
    (void)state;
    const char *n = new_name();
    as_sem proto;
    unsigned char img[sizeof(as_sem)], back[sizeof(as_sem)];
    uint32_t *u = (uint32_t *)(void *)img;
    as_sem *s = NULL;
    int fd;
    struct {
        unsigned word, xor_;
    } forge[] = {
        { 2, AS__MAGIC_SEM ^ AS__MAGIC_MUTEX }, /* a mutex's magic */
        { 2, AS__MAGIC_SEM ^ AS__MAGIC_EVENT }, /* an event's */
        { 4, 0x1000u },                         /* another layout version */
        { 4, 0x8u },                            /* another struct size */
    };
    TH_RC(as_sem_init(&proto, 1, AS_PSHARED), 0);
    for (size_t i = 0; i < sizeof forge / sizeof forge[0]; i++) {
        memcpy(img, &proto, sizeof img);
        u[forge[i].word] ^= forge[i].xor_;
        fd = shm_open(n, O_RDWR | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, img, sizeof img), (int)sizeof img);
        TH_RC(as_sem_open(&s, n, 0, 0, 0, 0, 0), -EPROTO);
        TH_RC(as_sem_open(&s, n, O_CREAT, 0600, 1, 0, 0), -EPROTO);
        TH_EQ(s == NULL, 1);
        assert_int_equal(pread(fd, back, sizeof back, 0), (int)sizeof back);
        TH_EQ(memcmp(img, back, sizeof img), 0);
        close(fd);
        TH_RC(as_pshared_unlink(n), 0);
    }
    /* someone else's objects: short, long, of garbage */
    {
        static const size_t sizes[] = { 10, 4096, 3u << 20 };
        for (size_t i = 0; i < 3; i++) {
            fd = shm_open(n, O_RDWR | O_CREAT | O_EXCL, 0600);
            assert_true(fd >= 0);
            assert_int_equal(ftruncate(fd, (off_t)sizes[i]), 0);
            memset(img, 0x5a, sizeof img);
            assert_int_equal(pwrite(fd, img, sizes[i] < sizeof img ? sizes[i] : sizeof img, 0),
                             (int)(sizes[i] < sizeof img ? sizes[i] : sizeof img));
            TH_RC(as_sem_open(&s, n, 0, 0, 0, 0, 0), -EPROTO);
            TH_RC(as_sem_open(&s, n, O_CREAT, 0600, 1, 0, 0), -EPROTO);
            {
                struct stat st;
                assert_int_equal(fstat(fd, &st), 0);
                TH_EQ((size_t)st.st_size, sizes[i]);
            }
            close(fd);
            TH_RC(as_pshared_unlink(n), 0);
        }
    }
    TH_RC(as_sem_destroy(&proto), 0);
}

/* ---- create here, attach in a child that opens the name itself; an async
 * wait in each process released by the other ---- */

static const char *ca_name;
static int ca_up[2], ca_down[2];
static bool ca_done;
static int ca_status;

static void ca_cb(as_wait *w, int status, void *arg)
{
    (void)w;
    (void)arg;
    ca_status = status;
    ca_done = true;
}
static bool ca_pred(void *arg)
{
    (void)arg;
    return ca_done;
}

static int ca_child(void *arg)
{
    as_sem *s = NULL;
    th_loop L;
    as_wait w;
    (void)arg;
    memset(&w, 0, sizeof w);
    (void)get(ca_down[0]); /* created */
    TH_RC(as_sem_open(&s, ca_name, 0, 0, 0, 0, 2), 0);
    TH_RC(th_loop_init(&L, TH_RING, NULL), 0);
    TH_CHECK(as_loop_caps(&L.loop) & AS_CAP_PSHARED, "no AS_CAP_PSHARED");
    ca_done = false;
    TH_RC(as_sem_acquire_async(s, &L.loop, &w, 1, ca_cb, NULL), 0);
    put(ca_up[1], 1); /* queued */
    th_run_until_woken(&L, ca_pred, NULL, TH_TIMEOUT);
    TH_RC(ca_status, 0);
    put(ca_up[1], 2); /* acquired */
    (void)get(ca_down[0]); /* the parent queued a wait */
    TH_RC(as_sem_release(s, 1), 0);
    TH_RC(th_loop_destroy_rc(&L), 0);
    TH_RC(as_pshared_unmap(s), 0);
    return 0;
}

static void po_async_across(void **state)
{
    (void)state;
    th_loop L;
    as_sem *s = NULL;
    as_wait w;
    pid_t p;
    memset(&w, 0, sizeof w);
    th_loop_setup(&L, TH_RING, NULL);
    if (!(as_loop_caps(&L.loop) & AS_CAP_PSHARED)) {
        th_loop_destroy(&L);
        skip();
    }
    ca_name = new_name();
    mkpipe(ca_up);
    mkpipe(ca_down);
    p = spawn(ca_child, NULL); /* before the create: it inherits no mapping */
    TH_RC(as_sem_open(&s, ca_name, CX, 0600, 0, 0, 2), 0);
    put(ca_down[1], 0);
    TH_EQ(get(ca_up[0]), 1);
    TH_EQ(as_sem_waiters(s), 1);
    TH_RC(as_sem_release(s, 1), 0); /* wakes the child's loop */
    TH_EQ(get(ca_up[0]), 2);
    TH_EQ(as_sem_value(s), 0);
    ca_done = false;
    TH_RC(as_sem_acquire_async(s, &L.loop, &w, 1, ca_cb, NULL), 0);
    put(ca_down[1], 0);
    th_run_until_woken(&L, ca_pred, NULL, TH_TIMEOUT);
    TH_RC(ca_status, 0);
    REAP_OK(p);
    TH_EQ(as_sem_value(s), 0);
    TH_EQ(as_sem_waiters(s), 0);
    th_loop_destroy(&L);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(ca_name), 0);
    for (int i = 0; i < 2; i++) {
        close(ca_up[i]);
        close(ca_down[i]);
    }
}

/* ---- racing O_CREAT opens: exactly one initialises ---- */

/* A shared page: the creators of this round, counted by the hook, and the
 * last one's pid. */
static struct race_sh {
    unsigned inits;
    int creator;
} *race_sh;
static const char *race_name;
static int race_go[2][2], race_done[2][2];

static void race_hook(int stage, void *obj, size_t len)
{
    (void)obj;
    (void)len;
    if (stage != HOOK_CREATING)
        return;
    __atomic_fetch_add(&race_sh->inits, 1u, __ATOMIC_SEQ_CST);
    __atomic_store_n(&race_sh->creator, (int)getpid(), __ATOMIC_SEQ_CST);
}

/* Kid k: per round, opens with O_CREAT (kid 0 with O_EXCL on odd rounds)
 * and takes a permit, which it keeps: a second init would give it back. */
static int race_kid(void *arg)
{
    int k = (int)(uintptr_t)arg;
    uint32_t permits = k == 0 ? 3 : 5;
    for (;;) {
        as_sem *s = NULL;
        int i = get(race_go[k][0]), r;
        if (i < 0)
            return 0;
        r = as_sem_open(&s, race_name, (k == 0 && (i & 1)) ? CX : O_CREAT, 0600,
                        permits, 0, 1);
        if (r == 0) {
            TH_RC(as_sem_try_acquire(s, 1), 1);
            TH_RC(as_pshared_unmap(s), 0);
        }
        put(race_done[k][1], r);
    }
}

static void po_race(void **state)
{
    (void)state;
    int rounds = th_scaled(300);
    pid_t p[2];
    unsigned made[2] = { 0, 0 }, eexist = 0;
    race_sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    assert_true(race_sh != MAP_FAILED);
    as__ps_open_hook = race_hook;
    race_name = new_name();
    for (int k = 0; k < 2; k++) {
        mkpipe(race_go[k]);
        mkpipe(race_done[k]);
    }
    for (int k = 0; k < 2; k++)
        p[k] = spawn(race_kid, (void *)(uintptr_t)k);
    for (int i = 0; i < rounds; i++) {
        as_sem *s = NULL;
        int rc[2], who, held;
        race_sh->inits = 0;
        race_sh->creator = 0;
        put(race_go[0][1], i);
        put(race_go[1][1], i);
        rc[0] = get(race_done[0][0]);
        rc[1] = get(race_done[1][0]);
        TH_EQ(__atomic_load_n(&race_sh->inits, __ATOMIC_SEQ_CST), 1);
        who = race_sh->creator == p[0] ? 0 : race_sh->creator == p[1] ? 1 : -1;
        TH_EQ(who >= 0, 1);
        made[who]++;
        TH_RC(rc[1], 0);
        if (i & 1) {
            /* O_EXCL: 0 only if it created, -EEXIST if the other did */
            if (!(rc[0] == 0 && who == 0) && !(rc[0] == -EEXIST && who == 1))
                fail_msg("round %d: O_EXCL open %s, creator kid %d", i,
                         th_errname(rc[0]), who);
            eexist += rc[0] == -EEXIST;
        } else {
            TH_RC(rc[0], 0);
        }
        held = (rc[0] == 0) + (rc[1] == 0);
        TH_RC(as_sem_open(&s, race_name, 0, 0, 0, 0, 1), 0);
        /* the creator's permits, less those held */
        if (as_sem_value(s) != (who == 0 ? 3 : 5) - held)
            fail_msg("round %d: value %lld, creator kid %d, %d held", i,
                     (long long)as_sem_value(s), who, held);
        TH_RC(as_pshared_unmap(s), 0);
        TH_RC(as_pshared_unlink(race_name), 0);
    }
    for (int k = 0; k < 2; k++)
        put(race_go[k][1], -1);
    for (int k = 0; k < 2; k++)
        REAP_OK(p[k]);
    print_message("po_race: %d rounds, creators %u and %u, O_EXCL -EEXIST %u\n",
                  rounds, made[0], made[1], eexist);
    munmap(race_sh, 4096);
    as__ps_open_hook = NULL;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 2; i++) {
            close(race_go[k][i]);
            close(race_done[k][i]);
        }
}

/* ---- a creator killed mid-init ---- */

static const char *kc_name;

/* Killed in the middle of init: the fields init writes before magic are
 * there (those of a real object), magic is not. */
static void kc_hook_die(int stage, void *obj, size_t len)
{
    union {
        as_sem s;
        unsigned char b[AS_PSHARED_SIZE(as_sem, 3)];
    } img;
    if (stage != HOOK_CREATING)
        return;
    if (len != sizeof img.b || as_sem_init(&img.s, 7, AS_PSHARED | AS_PSHARED_SLOTS(3)) != 0)
        _exit(5);
    memcpy(obj, img.b, sizeof img.b);
    ((uint32_t *)obj)[2] = 0; /* magic never published */
    raise(SIGKILL);
}

static int kc_child(void *arg)
{
    as_sem *s = NULL;
    (void)arg;
    as__ps_open_hook = kc_hook_die;
    (void)as_sem_open(&s, kc_name, CX, 0600, 7, 0, 3);
    return 3; /* not reached */
}

static void po_killed_creator(void **state)
{
    (void)state;
    as_sem *s = NULL, *t = NULL;
    int st;
    uint64_t t0, dt;
    kc_name = new_name();
    st = reap(spawn(kc_child, NULL));
    TH_EQ(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, 1);
    TH_EQ(name_exists(kc_name), 1);
    /* attach: waits its bound, then -ETIMEDOUT */
    t0 = as_now_ns();
    TH_RC(as_sem_open(&s, kc_name, 0, 0, 0, 0, 3), -ETIMEDOUT);
    dt = as_now_ns() - t0;
    if (dt < 900000000ull || dt > 5000000000ull)
        fail_msg("-ETIMEDOUT after %llu ms, not about 1 s", (unsigned long long)(dt / 1000000));
    TH_RC(as_sem_open(&s, kc_name, CX, 0600, 1, 0, 3), -EEXIST);
    TH_EQ(s == NULL, 1);
    /* unlink, and a new create works */
    TH_RC(as_pshared_unlink(kc_name), 0);
    TH_RC(as_sem_open(&s, kc_name, CX, 0600, 2, 0, 3), 0);
    TH_EQ(as_sem_value(s), 2);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(kc_name), 0);
    /* without the unlink, an O_CREAT open initialises it (repair) */
    st = reap(spawn(kc_child, NULL));
    TH_EQ(WIFSIGNALED(st), 1);
    TH_RC(as_sem_open(&s, kc_name, O_CREAT, 0600, 4, 0, 3), 0);
    TH_EQ(as_sem_value(s), 4);
    TH_RC(as_sem_open(&t, kc_name, 0, 0, 0, 0, 3), 0);
    TH_RC(as_sem_try_acquire(t, 4), 1);
    TH_EQ(as_sem_value(s), 0);
    TH_RC(as_sem_release(s, 4), 0);
    TH_RC(as_pshared_unmap(t), 0);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(kc_name), 0);
}

/* ---- a creator stopped mid-init (holding the creation lock) ---- */

static int sc_up[2], sc_down[2];

static void sc_hook_stop(int stage, void *obj, size_t len)
{
    (void)obj;
    (void)len;
    if (stage != HOOK_CREATING)
        return;
    put(sc_up[1], 1);
    (void)get(sc_down[0]);
}

static int sc_child(void *arg)
{
    as_sem *s = NULL;
    (void)arg;
    as__ps_open_hook = sc_hook_stop;
    TH_RC(as_sem_open(&s, kc_name, CX, 0600, 6, 0, 0), 0);
    put(sc_up[1], 2);
    (void)get(sc_down[0]);
    return 0;
}

struct sc_open {
    int oflag;
    as_sem *s;
    int rc;
    uint64_t ns;
    _Atomic long tid; /* set when it is about to open */
};
static void *sc_open_thread(void *arg)
{
    struct sc_open *o = arg;
    uint64_t t0 = as_now_ns();
    atomic_store(&o->tid, th_thread_id());
    o->rc = as_sem_open(&o->s, kc_name, o->oflag, 0600, 9, 0, 0);
    o->ns = as_now_ns() - t0;
    return NULL;
}

static void po_stopped_creator(void **state)
{
    (void)state;
    pid_t p;
    pthread_t th[2];
    struct sc_open o[2] = { { 0, NULL, 1, 0, 0 }, { O_CREAT, NULL, 1, 0, 0 } };
    as_sem *s = NULL;
    kc_name = new_name();
    mkpipe(sc_up);
    mkpipe(sc_down);
    p = spawn(sc_child, NULL);
    TH_EQ(get(sc_up[0]), 1); /* the creator is inside, lock held */
    /* both kinds of open wait their bound for it, then -ETIMEDOUT */
    for (int i = 0; i < 2; i++)
        th_thread_start(&th[i], sc_open_thread, &o[i]);
    for (int i = 0; i < 2; i++) {
        th_thread_join(th[i]);
        TH_RC(o[i].rc, -ETIMEDOUT);
        if (o[i].ns < 900000000ull)
            fail_msg("-ETIMEDOUT after %llu ms", (unsigned long long)(o[i].ns / 1000000));
    }
    /* opens waiting while it finishes succeed: they see its permits */
    o[0].rc = o[1].rc = 1;
    atomic_store(&o[0].tid, 0);
    atomic_store(&o[1].tid, 0);
    for (int i = 0; i < 2; i++)
        th_thread_start(&th[i], sc_open_thread, &o[i]);
    /* they are waiting (asleep in the kernel: on the creation lock) before
     * the creator goes on; a wrong early answer fails below anyway */
    for (int i = 0; i < 2; i++) {
        double end = th_now() + TH_TIMEOUT;
        while (atomic_load(&o[i].tid) == 0) {
            if (th_now() > end)
                fail_msg("opener %d never started", i);
            sched_yield();
        }
        th_wait_asleep(atomic_load(&o[i].tid));
    }
    put(sc_down[1], 0);
    TH_EQ(get(sc_up[0]), 2);
    for (int i = 0; i < 2; i++) {
        th_thread_join(th[i]);
        TH_RC(o[i].rc, 0);
        TH_EQ(as_sem_value(o[i].s), 6);
    }
    TH_RC(as_sem_open(&s, kc_name, 0, 0, 0, 0, 0), 0);
    TH_RC(as_sem_try_acquire(s, 6), 1);
    TH_EQ(as_sem_value(o[0].s), 0);
    put(sc_down[1], 0);
    REAP_OK(p);
    for (int i = 0; i < 2; i++)
        TH_RC(as_pshared_unmap(o[i].s), 0);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(kc_name), 0);
    for (int i = 0; i < 2; i++) {
        close(sc_up[i]);
        close(sc_down[i]);
    }
}

/* ---- unmap here, the other process goes on; unlink while mapped ---- */

static int um_up[2], um_down[2];
static const char *um_name;

static int um_child(void *arg)
{
    as_sem *s = NULL;
    (void)arg;
    TH_RC(as_sem_open(&s, um_name, 0, 0, 0, 0, 0), 0);
    put(um_up[1], 1);
    (void)get(um_down[0]); /* the parent unmapped its mapping */
    TH_RC(as_sem_try_acquire(s, 1), 1);
    TH_RC(as_sem_release(s, 2), 0);
    put(um_up[1], 2);
    (void)get(um_down[0]); /* the parent unlinked the name */
    TH_RC(as_sem_release(s, 10), 0);
    put(um_up[1], 3);
    (void)get(um_down[0]);
    TH_RC(as_pshared_unmap(s), 0);
    return 0;
}

static void po_unmap_unlink(void **state)
{
    (void)state;
    as_sem *s = NULL, *t = NULL;
    pid_t p;
    um_name = new_name();
    mkpipe(um_up);
    mkpipe(um_down);
    TH_RC(as_sem_open(&s, um_name, CX, 0600, 1, 0, 0), 0);
    p = spawn(um_child, NULL);
    TH_EQ(get(um_up[0]), 1);
    TH_RC(as_pshared_unmap(s), 0);
    put(um_down[1], 0);
    TH_EQ(get(um_up[0]), 2);
    TH_RC(as_sem_open(&s, um_name, 0, 0, 0, 0, 0), 0);
    TH_EQ(as_sem_value(s), 2);
    /* unlink while both map it: the mappings stay one object */
    TH_RC(as_pshared_unlink(um_name), 0);
    TH_EQ(name_exists(um_name), 0);
    put(um_down[1], 0);
    TH_EQ(get(um_up[0]), 3);
    TH_EQ(as_sem_value(s), 12);
    TH_RC(as_sem_open(&t, um_name, 0, 0, 0, 0, 0), -ENOENT);
    /* the name is free for a new object */
    TH_RC(as_sem_open(&t, um_name, O_CREAT, 0600, 5, 0, 0), 0);
    TH_EQ(as_sem_value(t), 5);
    TH_EQ(as_sem_value(s), 12);
    put(um_down[1], 0);
    REAP_OK(p);
    TH_RC(as_pshared_unmap(t), 0);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(um_name), 0);
    for (int i = 0; i < 2; i++) {
        close(um_up[i]);
        close(um_down[i]);
    }
}

/* ---- a create that fails half-way leaves nothing behind ---- */

static const char *cf_name;

/* In a child (the limit is per process): ftruncate fails with EFBIG past
 * RLIMIT_FSIZE, after shm_open made the name. */
static int cf_child(void *arg)
{
    struct rlimit rl = { 64, 64 };
    as_sem *s = NULL;
    int fd;
    struct stat st;
    (void)arg;
    signal(SIGXFSZ, SIG_IGN);
    TH_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
    TH_RC(as_sem_open(&s, cf_name, CX, 0600, 1, 0, 8), -EFBIG);
    TH_EQ(name_exists(cf_name), 0);
    TH_RC(as_sem_open(&s, cf_name, O_CREAT, 0600, 1, 0, 8), -EFBIG);
    TH_EQ(name_exists(cf_name), 0);
    TH_EQ(s == NULL, 1);
    /* a name this open did not make stays, as it was (zero-length) */
    fd = shm_open(cf_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    TH_CHECK(fd >= 0, "shm_open");
    TH_RC(as_sem_open(&s, cf_name, O_CREAT, 0600, 1, 0, 8), -EFBIG);
    TH_EQ(fstat(fd, &st), 0);
    TH_EQ(st.st_size, 0);
    TH_EQ(name_exists(cf_name), 1);
    TH_RC(as_sem_open(&s, cf_name, 0, 0, 0, 0, 8), -ENOENT); /* not created */
    close(fd);
    TH_RC(as_pshared_unlink(cf_name), 0);
    return 0;
}

static void po_create_fails(void **state)
{
    (void)state;
    as_sem *s = NULL;
    cf_name = new_name();
    REAP_OK(spawn(cf_child, NULL));
    TH_EQ(name_exists(cf_name), 0);
    TH_RC(as_sem_open(&s, cf_name, CX, 0600, 1, 0, 8), 0);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(cf_name), 0);
}

/* ---- an opener paused between its shm_open and the lock ---- */

static int pz_up[2], pz_down[2];
static const char *pz_name;

static void pz_hook(int stage, void *obj, size_t len)
{
    (void)obj;
    if (stage != HOOK_OPENED || len != 1)
        return; /* only the open that made the name pauses */
    put(pz_up[1], 1);
    (void)get(pz_down[0]);
}

/* Opens with oflag (arg), pausing after it made the name; reports the
 * result, then (on success) the value after taking one permit. */
static int pz_child(void *arg)
{
    int oflag = (int)(intptr_t)arg;
    as_sem *s = NULL;
    int r;
    as__ps_open_hook = pz_hook;
    r = as_sem_open(&s, pz_name, oflag, 0600, 2, 0, 0);
    put(pz_up[1], r);
    if (r == 0) {
        TH_RC(as_sem_try_acquire(s, 1), 1);
        put(pz_up[1], (int)as_sem_value(s));
        TH_RC(as_pshared_unmap(s), 0);
    }
    return 0;
}

static void po_paused_opener(void **state)
{
    (void)state;
    as_sem *s = NULL;
    pid_t p;
    pz_name = new_name();
    mkpipe(pz_up);
    mkpipe(pz_down);

    /* O_EXCL made the name, then an O_CREAT open initialised it first:
     * -EEXIST (as if the other had come first), the other's permits */
    p = spawn(pz_child, (void *)(intptr_t)CX);
    TH_EQ(get(pz_up[0]), 1);
    TH_RC(as_sem_open(&s, pz_name, O_CREAT, 0600, 7, 0, 0), 0);
    put(pz_down[1], 0);
    TH_RC(get(pz_up[0]), -EEXIST);
    REAP_OK(p);
    TH_EQ(as_sem_value(s), 7);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(pz_name), 0);

    /* the name it made was unlinked and made again while it waited: it
     * attaches to the object the name names now, never creates a second
     * one nobody else can open */
    p = spawn(pz_child, (void *)(intptr_t)O_CREAT);
    TH_EQ(get(pz_up[0]), 1);
    TH_RC(as_pshared_unlink(pz_name), 0);
    TH_RC(as_sem_open(&s, pz_name, O_CREAT, 0600, 9, 0, 0), 0);
    put(pz_down[1], 0);
    TH_RC(get(pz_up[0]), 0);
    TH_EQ(get(pz_up[0]), 8);
    REAP_OK(p);
    TH_EQ(as_sem_value(s), 8);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(pz_name), 0);
    for (int i = 0; i < 2; i++) {
        close(pz_up[i]);
        close(pz_down[i]);
    }
}

/* ---- the manual-reset event and the latch by name ---- */

static int el_up[2], el_down[2];
static const char *el_ev, *el_lt;

static int el_child(void *arg)
{
    as_event *e = NULL;
    as_latch *l = NULL;
    (void)arg;
    (void)get(el_down[0]); /* the parent made them */
    TH_RC(as_event_open(&e, el_ev, 0, 0, AS_EVENT_MANUAL_RESET, 2), 0);
    TH_RC(as_latch_open(&l, el_lt, 0, 0, 0, 0, 2), 0);
    put(el_up[1], 1);
    TH_RC(as_event_wait_blocking(e, as_now_ns() + 5000000000ull), 0);
    TH_RC(as_latch_count_down(l, 2), 0);
    TH_RC(as_pshared_unmap(e), 0);
    TH_RC(as_pshared_unmap(l), 0);
    return 0;
}

static void po_event_latch(void **state)
{
    (void)state;
    const char *sn = new_name();
    as_event *e = NULL, *e2 = NULL;
    as_latch *l = NULL, *l2 = NULL;
    as_sem *s = NULL;
    pid_t p;
    double end;
    el_ev = new_name();
    el_lt = new_name();
    mkpipe(el_up);
    mkpipe(el_down);
    TH_RC(as_event_open(&e, el_ev, CX, 0600, AS_EVENT_MANUAL_RESET | 0x4u, 2), -EINVAL);
    TH_RC(as_latch_open(&l, el_lt, CX, 0600, AS_LATCH_VALUE_MAX + 1u, 0, 2), -EINVAL);
    TH_EQ(name_exists(el_lt), 0);

    p = spawn(el_child, NULL); /* before the creates: no mapping inherited */
    TH_RC(as_event_open(&e, el_ev, CX, 0600, AS_EVENT_MANUAL_RESET | AS_PSHARED, 2), 0);
    TH_RC(as_latch_open(&l, el_lt, CX, 0600, 2, 0, 2), 0);
    put(el_down[1], 0); /* the child opens them now (it raced the creates) */
    TH_EQ(get(el_up[0]), 1);
    /* the child's blocking wait parks; a set here releases it */
    end = th_now() + TH_TIMEOUT;
    while (as_event_waiters(e) != 1) {
        if (th_now() > end)
            fail_msg("the child's wait never parked (waiters %lld)",
                     (long long)as_event_waiters(e));
        usleep(1000);
    }
    TH_RC(as_event_set(e), 0);
    TH_RC(as_latch_wait_blocking(l, as_now_ns() + 5000000000ull), 0);
    REAP_OK(p);
    TH_EQ(as_latch_value(l), 0);

    /* attach: the initial state and count are the creator's, slots must
     * match */
    TH_RC(as_event_open(&e2, el_ev, O_CREAT, 0600,
                        AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET, 2), 0);
    TH_RC(as_event_reset(e2), 0);
    TH_RC(as_event_is_set(e), 0);
    TH_RC(as_event_open(&e2, el_ev, 0, 0, AS_EVENT_MANUAL_RESET, 3), -EINVAL);
    TH_RC(as_latch_open(&l2, el_lt, O_CREAT, 0600, 9, 0, 2), 0);
    TH_EQ(as_latch_value(l2), 0);
    TH_RC(as_latch_open(&l2, el_lt, 0, 0, 0, 0, 1), -EINVAL);
    TH_RC(as_pshared_unmap(e2), 0); /* the failed opens left them as they were */
    TH_RC(as_pshared_unmap(l2), 0);
    {
        /* created set; an attacher not asking for it attaches all the same */
        const char *n2 = new_name();
        as_event *a = NULL, *b = NULL;
        TH_RC(as_event_open(&a, n2, CX, 0600,
                            AS_EVENT_MANUAL_RESET | AS_EVENT_INITIALLY_SET, 0), 0);
        TH_RC(as_event_open(&b, n2, 0, 0, AS_EVENT_MANUAL_RESET, 0), 0);
        TH_RC(as_event_is_set(b), 1);
        TH_RC(as_pshared_unmap(a), 0);
        TH_RC(as_pshared_unmap(b), 0);
        TH_RC(as_pshared_unlink(n2), 0);
    }

    /* a name of another primitive: -EPROTO, nothing changed */
    TH_RC(as_sem_open(&s, sn, CX, 0600, 1, 0, 2), 0);
    TH_RC(as_event_open(&e2, sn, O_CREAT, 0600, AS_EVENT_MANUAL_RESET, 2), -EPROTO);
    TH_RC(as_latch_open(&l2, sn, 0, 0, 0, 0, 2), -EPROTO);
    TH_RC(as_sem_open(&s, el_ev, 0, 0, 0, 0, 2), -EPROTO);
    TH_RC(as_latch_open(&l2, el_ev, O_CREAT, 0600, 1, 0, 2), -EPROTO);
    TH_RC(as_event_open(&e2, el_lt, 0, 0, AS_EVENT_MANUAL_RESET, 2), -EPROTO);
    TH_EQ(as_sem_value(s), 1);
    TH_RC(as_event_is_set(e), 0);
    TH_EQ(as_latch_value(l), 0);

    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unmap(e), 0);
    TH_RC(as_pshared_unmap(l), 0);
    TH_RC(as_pshared_unlink(sn), 0);
    TH_RC(as_pshared_unlink(el_ev), 0);
    TH_RC(as_pshared_unlink(el_lt), 0);
    close(el_up[0]);
    close(el_up[1]);
    close(el_down[0]);
    close(el_down[1]);
}

/* The mutex and the auto-reset event by name: a child that opens them
 * itself finds the parent's lock held (robust: it may not unlock it) and
 * consumes the parent's set; attach must match the flags. */
static const char *ma_mx, *ma_ev;

static int ma_child(void *arg)
{
    as_mutex *m = NULL;
    as_event *e = NULL;
    (void)arg;
    TH_RC(as_mutex_open(&m, ma_mx, 0, 0, AS_MUTEX_ROBUST, 2), 0);
    TH_RC(as_event_open(&e, ma_ev, 0, 0, 0, 4), 0);
    TH_RC(as_mutex_try_lock(m), 0);      /* the parent holds it */
    TH_RC(as_mutex_unlock(m), -EPERM);   /* robust: not ours */
    TH_RC(as_event_is_set(e), 1);
    TH_RC(as_event_wait_blocking(e, as_now_ns() + 5000000000ull), 0);
    TH_RC(as_event_is_set(e), 0);        /* auto-reset: consumed */
    TH_RC(as_pshared_unmap(m), 0);
    TH_RC(as_pshared_unmap(e), 0);
    return 0;
}

static void po_mutex_auto_event(void **state)
{
    (void)state;
    as_mutex *m = NULL, *m2 = NULL;
    as_event *e = NULL, *e2 = NULL;
    as_sem *s = NULL;
    const char *sn = new_name();
    ma_mx = new_name();
    ma_ev = new_name();
    TH_RC(as_mutex_open(&m, ma_mx, CX, 0600, AS_MUTEX_ROBUST, 2), 0);
    TH_RC(as_event_open(&e, ma_ev, CX, 0600, 0, 4), 0);
    /* attach must ask for the creator's flags and slots */
    TH_RC(as_mutex_open(&m2, ma_mx, 0, 0, 0, 2), -EINVAL);
    TH_RC(as_mutex_open(&m2, ma_mx, 0, 0, AS_MUTEX_ROBUST, 3), -EINVAL);
    TH_RC(as_event_open(&e2, ma_ev, 0, 0, AS_EVENT_MANUAL_RESET, 4), -EINVAL);
    TH_EQ(m2 == NULL && e2 == NULL, 1);
    /* names of other primitives */
    TH_RC(as_sem_open(&s, sn, CX, 0600, 1, 0, 2), 0);
    TH_RC(as_mutex_open(&m2, sn, 0, 0, AS_MUTEX_ROBUST, 2), -EPROTO);
    TH_RC(as_sem_open(&s, ma_mx, 0, 0, 0, 0, 2), -EPROTO);
    TH_RC(as_mutex_open(&m2, ma_ev, 0, 0, 0, 4), -EPROTO);
    TH_RC(as_mutex_try_lock(m), 1);
    TH_RC(as_event_set(e), 0);
    TH_EQ(reap(spawn(ma_child, NULL)), 0);
    TH_RC(as_event_is_set(e), 0);
    TH_RC(as_mutex_unlock(m), 0);
    TH_RC(as_mutex_try_lock(m), 1);
    TH_RC(as_mutex_unlock(m), 0);
    TH_RC(as_pshared_unmap(m), 0);
    TH_RC(as_pshared_unmap(e), 0);
    TH_RC(as_pshared_unmap(s), 0);
    TH_RC(as_pshared_unlink(ma_mx), 0);
    TH_RC(as_pshared_unlink(ma_ev), 0);
    TH_RC(as_pshared_unlink(sn), 0);
}

#define PO_TEST(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PO_TEST(po_bad_input),
        PO_TEST(po_create_modes),
        PO_TEST(po_eproto),
        PO_TEST(po_create_fails),
        PO_TEST(po_async_across),
        PO_TEST(po_race),
        PO_TEST(po_killed_creator),
        PO_TEST(po_stopped_creator),
        PO_TEST(po_paused_opener),
        PO_TEST(po_unmap_unlink),
        PO_TEST(po_event_latch),
        PO_TEST(po_mutex_auto_event),
    };
    /* long health ticks: nothing here needs one */
    setenv("ASYNCSYNC_PSHARED_TICK_MS", "60000", 1);
    return TH_MAIN("pshared_open", tests);
}
