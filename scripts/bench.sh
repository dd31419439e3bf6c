#!/usr/bin/env bash
# Full pinned benchmark run; results kept in $BENCH_OUT (default /tmp/partyfuse-bench-results)
# as <UTC time>-<commit>.{txt,json,md}.
# Extra arguments go to scripts/bench.py (e.g. --big-mb 1024, --only upstream,partyfuse).
#
# Needs root (FUSE mounts, /proc/sys/vm/drop_caches) and at least two CPUs
# (copyparty on CPU 0, every client on CPU 1); with fewer it still runs, unpinned,
# and says so in the report.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: run as root (FUSE mounts and drop_caches need it)" >&2
    exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "bench.sh: only $(nproc) CPU; results will not be pinned" >&2
fi

out="${BENCH_OUT:-/tmp/partyfuse-bench-results}"
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD)"
python3 scripts/bench.py --json "$out/$stamp.json" "$@" | tee "$out/$stamp.txt"
python3 - "$out/$stamp.json" > "$out/$stamp.md" <<'EOF'
import json, sys
sys.path.insert(0, "scripts")
import bench
print(bench.format_report(json.load(open(sys.argv[1])), markdown=True))
EOF
echo "bench.sh: wrote $out/$stamp.{txt,json,md}" >&2
