#include <errno.h>

#include "asyncsync.h"

/* One table, names not numbers: the CRT's numbers differ on Windows. */
const char *as_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case -EINVAL: return "EINVAL: invalid argument";
    case -EBUSY: return "EBUSY: busy (wait pending, waiters queued or locked)";
    case -ECANCELED: return "ECANCELED: wait cancelled";
    case -ETIMEDOUT: return "ETIMEDOUT: timed out (deadline passed)";
    case -ESHUTDOWN: return "ESHUTDOWN: the primitive was closed";
    case -EBADF: return "EBADF: bad file descriptor (ring or port)";
    case -EPERM: return "EPERM: operation not permitted (mutex not locked)";
    case -EOVERFLOW: return "EOVERFLOW: count would overflow";
    case -ERANGE: return "ERANGE: count would go below zero";
    case -ENOENT: return "ENOENT: no such pending wait";
    case -EAGAIN: return "EAGAIN: try again (completions outstanding)";
    case -EOPNOTSUPP: return "EOPNOTSUPP: not supported by this kernel or build";
    case -ENOMEM: return "ENOMEM: out of memory";
#ifdef EPROTO
    case -EPROTO: return "EPROTO: process-shared object of another layout or library version";
#endif
#ifdef EOWNERDEAD
    case -EOWNERDEAD: return "EOWNERDEAD: the previous owner died; the lock is held: make the state consistent (as_mutex_consistent)";
#endif
#ifdef ENOTRECOVERABLE
    case -ENOTRECOVERABLE: return "ENOTRECOVERABLE: unlocked after an owner died without as_mutex_consistent";
#endif
    default: return "unknown error";
    }
}
