#!/usr/bin/env bash
# Compile every C code block of README.md and of include/asyncsync.h, so the
# documentation cannot drift from the API (issue 11: loop examples that did
# not declare their variables).
#
#   tests/docs/snippets.sh <source dir> <work dir>
#
# README.md: every ```c fenced block.  asyncsync.h: every ```c block inside a
# comment (" *   ```c" ... " *   ```").  A block whose lines start a function
# at column 0 ("{" alone on a line) is compiled at file scope; any other is
# the body of a function.  Both get a prelude that declares what examples
# take as given (the application's ring, its handle_own(), a request type).
# Blocks for Windows (<windows.h>, OVERLAPPED) are compiled with
# x86_64-w64-mingw32-gcc when it is installed, else reported as skipped.
# Exit 0 when every block compiles, 1 otherwise.
set -euo pipefail

src=${1:?source dir}
work=${2:?work dir}
mkdir -p "$work"
rm -f "$work"/snip_*.c

# ---- extract -----------------------------------------------------------------
awk -v out="$work/snip_readme_" '
    /^```c[ \t]*$/ { n++; f = out n ".c"; inb = 1; printf "" > f; next }
    /^```[ \t]*$/ && inb { inb = 0; close(f); next }
    inb { print > f }
' "$src/README.md"
awk -v out="$work/snip_header_" '
    /^ \*[ \t]+```c[ \t]*$/ { n++; f = out n ".c"; inb = 1; printf "" > f;
                              match($0, /```/); ind = RSTART; next }
    /^ \*[ \t]+```[ \t]*$/ && inb { inb = 0; close(f); next }
    inb { line = $0; sub(/^ \*/, "", line); print substr(line, ind - 2) > f }
' "$src/include/asyncsync.h"

cat >"$work/prelude_linux.h" <<'PRE'
#define _GNU_SOURCE
#include <asyncsync.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
/* What the examples take as the application's own. */
struct request { as_wait wait; int fd; };
struct task { as_wait wait; };
extern struct io_uring ring;
extern as_loop loop;
extern as_sem sem, limit;
extern struct task *task;
extern struct pollfd fds[4];
extern nfds_t nfds;
void handle_own(struct io_uring_cqe *cqe);
void on_acquired(as_wait *w, int status, void *arg);
void start_backend_work(struct request *rq);
void reply_503(struct request *rq);
PRE
cat >"$work/prelude_windows.h" <<'PRE'
#include <windows.h>
#include <asyncsync.h>
#include <stdint.h>
void handle_own(OVERLAPPED_ENTRY *e);
PRE

# ---- compile -----------------------------------------------------------------
cc=${CC:-cc}
mingw=$(command -v x86_64-w64-mingw32-gcc || true)
flags=(-std=c11 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-parameter
       -Wno-unused-variable -Wno-unused-function -I "$src/include")
fail=0 ok=0 skipped=0
for f in "$work"/snip_*.c; do
    [ -s "$f" ] || continue
    name=$(basename "$f" .c)
    windows=0
    grep -qE 'windows\.h|OVERLAPPED|HANDLE' "$f" && windows=1
    # the block's system headers are kept (after the prelude, whose
    # definitions come first); its other #include lines are dropped
    includes=$(grep '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$f" || true)
    body=$(grep -v '^[[:space:]]*#[[:space:]]*include' "$f")
    t="$work/$name.test.c"
    if [ "$windows" = 1 ]; then
        echo '#include "prelude_windows.h"' >"$t"
        compiler=$mingw
    else
        echo '#include "prelude_linux.h"' >"$t"
        compiler=$cc
    fi
    [ -z "$includes" ] || printf '%s\n' "$includes" >>"$t"
    if grep -q '^{' "$f"; then
        printf '%s\n' "$body" >>"$t"
    else
        printf 'void snippet_body(void);\nvoid snippet_body(void)\n{\n%s\n}\n' "$body" >>"$t"
    fi
    if [ -z "$compiler" ]; then
        echo "snippet $name: skipped (no mingw-w64 compiler here)"
        skipped=$((skipped + 1))
        continue
    fi
    if "$compiler" "${flags[@]}" -I "$work" "$t" 2>"$work/$name.log"; then
        ok=$((ok + 1))
    else
        echo "snippet $name does not compile:"
        sed 's/^/    /' "$f"
        sed 's/^/  | /' "$work/$name.log"
        fail=$((fail + 1))
    fi
done
echo "docs snippets: $ok compiled, $fail failed, $skipped skipped"
[ "$fail" = 0 ] && [ "$ok" -gt 0 ]
