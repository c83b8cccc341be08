#!/usr/bin/env bash
# Windows install check: cross-build the library with mingw-w64, install it
# into a temporary prefix, then prove an outside Windows application can use
# it with nothing but the installed files:
#   1. the installed header compiles alone, warning-free, as C11 (and as
#      C++11 when x86_64-w64-mingw32-g++ is there) for Windows;
#   2. tests/consumer/win/consumer.c builds with a plain
#        x86_64-w64-mingw32-gcc -static consumer.c -I<prefix>/include \
#            <prefix>/lib/libasyncsync.a
#      (no CMake, no include path into the source tree);
#   3. it runs under Wine and every check passes (two IOCP loops: semaphore,
#      mutex, condvar, event, cancellation, bad input, teardown).
#
#   tests/consumer/check-windows.sh <source-dir> [<build-dir>]
#
# Without <build-dir>, the library is cross-built from <source-dir> in the
# temporary directory (tests and examples off: a few seconds).  With it, that
# directory must hold a mingw-w64 build (cmake/toolchain/mingw-w64-x86_64.cmake).
# Environment: WINEPREFIX (default: <source-dir>/build-win/wineprefix, shared
# with scripts/test-windows and scripts/demo-windows; created on first use).
# Needs mingw-w64 and Wine: scripts/deps --windows installs them.
# Exit 0 only when everything passed.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 <source-dir> [<build-dir>]" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
here=$src/tests/consumer
triple=x86_64-w64-mingw32
cc=$triple-gcc
cxx=$triple-g++

missing=()
for tool in cmake "$cc" wine wineserver; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "consumer check (windows): missing ${missing[*]}; run scripts/deps --windows" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asyncsync-consumer-win.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '\n-- consumer check (windows): %s\n' "$*"; }
# Print a command (on stderr: it shows even when stdout goes to a log),
# then run it.
run() {
    printf '   + %s\n' "$*" >&2
    "$@"
}

if [ $# -eq 2 ]; then
    build=$(cd "$2" && pwd)
    if ! grep -q '^CMAKE_SYSTEM_NAME:.*=Windows$' "$build/CMakeCache.txt" 2>/dev/null &&
       ! grep -q '^CMAKE_TOOLCHAIN_FILE:.*mingw' "$build/CMakeCache.txt" 2>/dev/null; then
        echo "consumer check (windows): $build is not a mingw-w64 build" >&2
        exit 1
    fi
    step "use the cross build in $build"
    run cmake --build "$build" --target asyncsync >"$tmp/build.log" 2>&1 ||
        { cat "$tmp/build.log"; exit 1; }
else
    build=$tmp/build
    step "cross-build the library (mingw-w64) in a temporary directory"
    run cmake --no-warn-unused-cli -S "$src" -B "$build" \
        -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain/mingw-w64-x86_64.cmake" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DASYNCSYNC_BUILD_TESTS=OFF -DASYNCSYNC_BUILD_EXAMPLES=OFF \
        >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
    run cmake --build "$build" -j"$(nproc)" >"$tmp/build.log" 2>&1 ||
        { cat "$tmp/build.log"; exit 1; }
fi

step "install into a temporary prefix"
run cmake --install "$build" --prefix "$prefix" >/dev/null
find "$prefix" -type f | sed "s|^$prefix/|   |" | sort
header=$prefix/include/asyncsync.h
lib=$(find "$prefix" -name libasyncsync.a -print -quit)
test -f "$header" || { echo "consumer check (windows): asyncsync.h not installed" >&2; exit 1; }
test -n "$lib" || { echo "consumer check (windows): libasyncsync.a not installed" >&2; exit 1; }

step "the installed header compiles alone for Windows (-Werror -pedantic)"
cat >"$tmp/header.c" <<'C'
#include <asyncsync.h>
static as_sem s = AS_SEM_INITIALIZER(1);
static as_mutex m = AS_MUTEX_INITIALIZER;
static as_cond c = AS_COND_INITIALIZER;
static as_event e = AS_EVENT_INITIALIZER(AS_EVENT_MANUAL_RESET);
int main(void)
{
    (void)&s; (void)&m; (void)&c; (void)&e;
    return 0;
}
C
run "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -Wstrict-prototypes -Wundef \
    -Wshadow -Wcast-qual -Wconversion -I"$prefix/include" -fsyntax-only -x c "$tmp/header.c"
if command -v "$cxx" >/dev/null 2>&1; then
    run "$cxx" -std=c++11 -Wall -Wextra -Werror -pedantic -Wundef -Wshadow \
        -Wcast-qual -Wold-style-cast -Wconversion -I"$prefix/include" \
        -fsyntax-only -x c++ "$tmp/header.c"
fi

step "build the consumer with the installed files only (no CMake)"
# Copied out of the source tree first: its directory is on the quote include
# path, and nothing of the tree may be.
cp "$here/win/consumer.c" "$tmp/consumer.c"
run "$cc" -std=c11 -O2 -Wall -Wextra -Werror -pedantic -static \
    "$tmp/consumer.c" -I"$prefix/include" "$lib" -o "$tmp/consumer.exe"

step "run it under Wine"
export WINEPREFIX=${WINEPREFIX:-$src/build-win/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "   creating the Wine prefix $WINEPREFIX (no Mono, no Gecko)"
    mkdir -p "$(dirname "$WINEPREFIX")"
    run env WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >/dev/null 2>&1
    run wineserver -w
fi
echo "   + WINEPREFIX=$WINEPREFIX wine consumer.exe"
# The consumer bounds each of its checks (10 s); this bounds Wine itself.
set +e
timeout --kill-after=10 300 wine "$tmp/consumer.exe" >"$tmp/run.log" 2>&1
rc=$?
set -e
tr -d '\r' <"$tmp/run.log" | sed 's/^/   /'
# Wine's crash handler can end a crashed program with status 0: demand the
# consumer's own last word as well.
if [ "$rc" -ne 0 ] || ! tr -d '\r' <"$tmp/run.log" | grep -qx 'consumer (windows): ok'; then
    echo "consumer check (windows): FAILED (consumer.exe exited $rc)" >&2
    exit 1
fi
echo "consumer check (windows): ok"
