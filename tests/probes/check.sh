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
    out=$(timeout 120 bpftrace "$src/docs/bpftrace/waits.bt" "$bin" -c "$bin" 2>&1) || {
        echo "$out" | tail -5
        if grep -qiE "permission|lockdown|not permitted|failed to attach|BPF" <<<"$out"; then
            echo "bpftrace could not attach here: skipped"
            exit 77
        fi
        exit 1
    }
    echo "$out" | tail -20
    grep -q '@wait_us\[sem\]' <<<"$out" && grep -q '@outcome\[sem, 0\]' <<<"$out"
    ;;
*)
    echo "usage: check.sh notes|bpftrace <src> <binary>" >&2
    exit 2
    ;;
esac
