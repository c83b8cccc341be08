#!/usr/bin/env bash
# Install check: install the project from an existing build directory into a
# temporary prefix, then prove an outside application can use it:
#   0. the manual pages are installed (every page of man/man3, asyncsync.7);
#   1. the installed header compiles alone, warning-free, as C11 and C++11;
#   2. find_package(asyncsync CONFIG) + asyncsync::asyncsync builds and runs
#      consumer.c (C) and consumer.cpp (C++);
#   3. `cc consumer.c $(pkg-config --cflags --libs asyncsync)` builds and runs.
#
#   tests/consumer/check.sh <source-dir> <build-dir>
#
# The build directory must be built already (ctest runs this as
# consumer.install after the build).  Exit 0 on success; the consumers exit
# 77 when the kernel refuses io_uring, and this script then still checks the
# build and link but exits 77 (skipped) at the end.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 <source-dir> <build-dir>" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
here=$src/tests/consumer
cc=${CC:-cc}
cxx=${CXX:-c++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asyncsync-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
skipped=0

step() { printf '\n-- consumer check: %s\n' "$*"; }

# Run a consumer; 0 passes, 77 (no io_uring) is remembered as a skip.
run() {
    local rc=0
    "$@" || rc=$?
    case $rc in
    0) ;;
    77) skipped=1 ;;
    *) echo "consumer check: '$*' exited $rc" >&2; exit 1 ;;
    esac
}

step "install $build into a temporary prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/asyncsync.h"
find "$prefix" -type f ! -name '*.[37]' | sed "s|^$prefix/|   |" | sort

step "the manual pages are installed: man3 (one per public function) and man7"
# Wherever CMAKE_INSTALL_MANDIR put them (share/man by default).
want3=$(find "$src/man/man3" -name '*.3' | wc -l)
got3=$(find "$prefix" -path '*/man3/*.3' | wc -l)
ov=$(find "$prefix" -path '*/man7/asyncsync.7' -print -quit)
if [ "$want3" -eq 0 ] || [ "$got3" -ne "$want3" ] || [ -z "$ov" ]; then
    echo "consumer check: $got3 of $want3 man3 pages installed, asyncsync.7: ${ov:-missing}" >&2
    exit 1
fi
mandest=${ov%/man7/asyncsync.7}
echo "   ${mandest#"$prefix"/}: $got3 pages in man3, and man7/asyncsync.7"

step "the installed header compiles alone as C11 and C++11 (-Werror -pedantic)"
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
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -Wstrict-prototypes -Wundef
        -Wshadow -Wcast-qual -Wconversion)
cxxflags=(-std=c++11 -Wall -Wextra -Werror -pedantic -Wundef -Wshadow
          -Wcast-qual -Wold-style-cast -Wconversion)
"$cc" "${cflags[@]}" -I"$prefix/include" -fsyntax-only -x c "$tmp/header.c"
"$cxx" "${cxxflags[@]}" -I"$prefix/include" -fsyntax-only -x c++ "$tmp/header.c"
echo "   $cc and $cxx: ok"
if command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then
    clang "${cflags[@]}" -I"$prefix/include" -fsyntax-only -x c "$tmp/header.c"
    clang++ "${cxxflags[@]}" -I"$prefix/include" -fsyntax-only -x c++ "$tmp/header.c"
    echo "   clang and clang++: ok"
fi

step "find_package(asyncsync CONFIG) consumer, C and C++"
cmake -S "$here" -B "$tmp/cmake-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log"; exit 1; }
grep 'asyncsync .* from' "$tmp/configure.log" || true
cmake --build "$tmp/cmake-build" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log"; exit 1; }
for backend in "" generic; do
    for exe in consumer consumer_cxx; do
        echo "   ASYNCSYNC_BACKEND=${backend:-(default)} $exe"
        if [ -n "$backend" ]; then
            run env ASYNCSYNC_BACKEND="$backend" "$tmp/cmake-build/$exe"
        else
            run env -u ASYNCSYNC_BACKEND "$tmp/cmake-build/$exe"
        fi
    done
done

step "pkg-config consumer: cc consumer.c \$(pkg-config --cflags --libs asyncsync)"
pc=$(find "$prefix" -name asyncsync.pc -print -quit)
test -n "$pc" || { echo "consumer check: asyncsync.pc not installed" >&2; exit 1; }
pcdir=$(dirname "$pc")
pcflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs asyncsync)
echo "   pkg-config: $pcflags"
# shellcheck disable=SC2086 # pkg-config output is meant to be word-split
"$cc" -std=c11 -Wall -Wextra -Werror "$here/consumer.c" -o "$tmp/consumer-pc" $pcflags
run env -u ASYNCSYNC_BACKEND "$tmp/consumer-pc"

if [ "$skipped" = 1 ]; then
    echo "consumer check: built and linked; runs skipped (no io_uring)"
    exit 77
fi
echo "consumer check: ok"
