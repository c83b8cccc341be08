#!/usr/bin/env bash
# USDT tracepoints (src/probes.h).
#
#   tests/probes/check.sh notes    <source dir> <libasyncsync.a>
#       every probe src/probes.h lists is in the library's ELF notes
#       (readelf -n: provider "asyncsync")
#   tests/probes/check.sh bpftrace <source dir> <probe_target binary>
#       runs docs/bpftrace/waits.bt against the target and checks that it
#       printed wait histograms; exit 77 (skipped) where bpftrace is missing
#       or the kernel does not let it attach (not root, lockdown...)
set -euo pipefail
mode=${1:?mode}
src=${2:?source dir}
bin=${3:?binary}

probes=$(sed -n 's/^ \*   \([a-z_]*\)(.*/\1/p' "$src/src/probes.h" | sort -u)
[ -n "$probes" ] || { echo "no probe listed in src/probes.h"; exit 1; }

case $mode in
notes)
    command -v readelf >/dev/null || { echo "readelf missing"; exit 77; }
    notes=$(readelf -n "$bin" | awk '/Provider: asyncsync/ { getline; print $2 }' | sort -u)
    missing=0
    for p in $probes; do
        if ! grep -qx "$p" <<<"$notes"; then
            echo "probe asyncsync:$p is not in $bin"
            missing=1
        fi
    done
    [ "$missing" = 0 ] && echo "probes in the library: $(echo $notes)"
    exit "$missing"
    ;;
bpftrace)
    command -v bpftrace >/dev/null || { echo "bpftrace not installed: skipped"; exit 77; }
    [ "$(id -u)" = 0 ] || { echo "bpftrace needs root: skipped"; exit 77; }
    # bpftrace maps count against RLIMIT_MEMLOCK on kernels before 5.11;
    # raise it as far as this process may (bpftrace itself may not).
    ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -Hl)" 2>/dev/null || true
    rc=0
    out=$(timeout 120 bpftrace "$src/docs/bpftrace/waits.bt" "$bin" -c "$bin" 2>&1) || rc=$?
    echo "$out" | tail -20
    # Skipped only when bpftrace never attached (its "Attaching N probes"
    # line is missing); once attached, a hang (124), a crash or a missing
    # histogram fails.
    if ! grep -q '^Attaching [0-9]* probes' <<<"$out"; then
        echo "bpftrace could not attach here (exit $rc): skipped"
        exit 77
    fi
    [ "$rc" = 0 ] || { echo "bpftrace or the target failed: exit $rc"; exit 1; }
    # bpftrace exits 0 whatever the target did: the target says that it
    # started and why it left
    if ! grep -q '^probe_target: started' <<<"$out"; then
        echo "bpftrace attached but never ran the target here: skipped"
        exit 77
    fi
    if grep -q '^probe_target: skipped' <<<"$out"; then
        echo "the target could not set up its ring under bpftrace: skipped"
        exit 77
    fi
    grep -q 'waits done' <<<"$out" || { echo "the target did not finish (crashed?)"; exit 1; }
    # every way a wait ends in the target: granted (most, many of them woken
    # on their loop and decided there), one cancel, some deadlines
    for want in '@wait_us\[sem\]' '@outcome\[sem, 0\]' '@outcome\[sem, -125\]'; do
        grep -q "$want" <<<"$out" || { echo "bpftrace printed no $want"; exit 1; }
    done
    ;;
*)
    echo "usage: check.sh notes|bpftrace <src> <binary>" >&2
    exit 2
    ;;
esac
