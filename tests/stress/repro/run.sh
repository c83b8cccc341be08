#!/usr/bin/env bash
# Reproductions of the library defects the stress test found (src/ is not
# changed here).  Builds an unoptimised copy of the library and runs each
# program under gdb, whose script forces the interleaving:
#   cancel_rearm queued | done   a cross-thread as_cancel acting on a wait
#                                its loop re-armed meanwhile
#   forget_race                  as_sem_forget erasing a lock-free acquire
#   cond_done_race               as_cancel's reads of a signalled condvar
#                                waiter, unordered with its mutex hand-off
# Requires gdb (with Python) and liburing.  Exit status: 1 if a program
# reports BUG (0 once the library is fixed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
b=${BUILD_DIR:-$root/build-repro}
cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Debug -DASYNCSYNC_BUILD_TESTS=OFF \
    -DASYNCSYNC_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$b" --target asyncsync >/dev/null
uring=$(pkg-config --libs liburing 2>/dev/null || true)
for p in cancel_rearm forget_race cond_done_race; do
    cc -O0 -g -I"$root/include" "$here/$p.c" "$b/libasyncsync.a" $uring -lpthread -o "$b/$p"
done
status=0
run() { # title program gdb-breakpoint-or-empty [argument]
    local title=$1 prog=$2 bp=$3 arg=${4:-} log="$b/$2${4:+.$4}.log"
    echo "== $title"
    gdb -q -batch ${bp:+-ex "$bp"} -x "$here/$prog.gdb" --args "$b/$prog" $arg 2>&1 |
        grep -v -E '^\[|^Using host|^$|^#0|^Breakpoint [0-9]+ at|clone3|^[0-9]+\s' |
        tee "$log"
    if grep -q '^BUG' "$log"; then status=1; fi
}
run "cancel_rearm queued: sem_cancel on a mutex queue" cancel_rearm "break sem_cancel" queued
run "cancel_rearm done: ABA on DONE" cancel_rearm "break wait.c:97" done
run "forget_race" forget_race ""
run "cond_done_race" cond_done_race ""
exit $status
