/* USDT tracepoints (<sys/sdt.h>): a nop in the code when nobody traces, an
 * ELF note per probe (readelf -n shows them) that perf, bpftrace and
 * SystemTap attach to.  Provider "asyncsync".  Every probe of the library
 * is listed here, with its arguments; README "Observing a running service"
 * has a bpftrace recipe.
 *
 *   park(prim, wait, kind)          a wait queued (kind: "sem", "mutex"...)
 *   done(prim, wait, kind, status)  a queued wait left its queue with its
 *                                   outcome (0 granted, -ECANCELED,
 *                                   -ETIMEDOUT, -ESHUTDOWN)
 *   handoff(prim, wait, loop)       ... granted to a waiter of another
 *                                   thread's loop (or a blocked thread)
 *   cancel(wait, status)            as_cancel returned 0 for a decided wait
 *                                   (status: the outcome it overrides)
 *   close(prim, kind)               a primitive was closed
 *   wake_send(loop, how)            a sleeping loop was woken (how: 1 ring
 *                                   message, 2 futex, 3 eventfd, 4 IOCP
 *                                   packet, 5 notify, 6 blocked thread)
 *   wake_recv(loop, how)            a loop handled a wake (1 message,
 *                                   2 doorbell)
 *   timeout(loop, wait)             a loop's deadline expired a wait
 *   callback(loop, wait, status)    a callback is about to run
 */
#ifndef AS_PROBES_H
#define AS_PROBES_H

#if defined(AS_HAVE_SDT)
#include <sys/sdt.h>
#define AS_PROBE2(n, a, b) DTRACE_PROBE2(asyncsync, n, a, b)
#define AS_PROBE3(n, a, b, c) DTRACE_PROBE3(asyncsync, n, a, b, c)
#define AS_PROBE4(n, a, b, c, d) DTRACE_PROBE4(asyncsync, n, a, b, c, d)
#else
#define AS_PROBE2(n, a, b) ((void)0)
#define AS_PROBE3(n, a, b, c) ((void)0)
#define AS_PROBE4(n, a, b, c, d) ((void)0)
#endif

enum { AS__HOW_MSG = 1, AS__HOW_FUTEX, AS__HOW_EVENTFD, AS__HOW_PORT,
       AS__HOW_NOTIFY, AS__HOW_THREAD };

#endif
