#!/usr/bin/env bash
# bench/profile.sh - where panpd spends its time under the 1 -> 100 fan-out
# at 256 B (what `make bench-profile` runs).
#
# With hardware counters (`perf stat -e instructions true` counts them):
# perf record -g on the running broker.  Without (VMs such as this one):
# panpd under valgrind --tool=callgrind, which counts instructions exactly
# but runs ~50x slower, so the rates it sees mean nothing; the shares do.
#
#   PANPD=... BENCH_BIN=... bash bench/profile.sh
#   PROFILE_TOOL=callgrind|perf   force one;  PROFILE_SECS=5  measured seconds
#   PROFILE_LISTENERS=100  PROFILE_PAYLOAD=256
# Writes bench/results/profile.txt (the summary) and keeps the raw profile
# under $PROFILE_DIR (default build/bench/profile).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${PANPD:?PANPD: path to panpd}" "${BENCH_BIN:?BENCH_BIN: path to panp-bench}"
SECS=${PROFILE_SECS:-5}
LISTENERS=${PROFILE_LISTENERS:-100}
PAYLOAD=${PROFILE_PAYLOAD:-256}
PROFILE_DIR=${PROFILE_DIR:-$(dirname "$BENCH_BIN")/profile}
OUT=$here/results/profile.txt
BROKER_CPU=${BENCH_BROKER_CPU:-0}
GEN_CPU=${BENCH_GEN_CPU:-1}

tool=${PROFILE_TOOL:-}
if [ -z "$tool" ]; then
  if perf stat -e instructions true 2>&1 | grep -q 'not supported\|not counted' ||
     ! perf stat -e instructions true >/dev/null 2>&1; then
    tool=callgrind
  else
    tool=perf
  fi
fi

mkdir -p "$PROFILE_DIR" "$here/results"
BENCH_TMP=$(mktemp -d /tmp/panp-profile.XXXXXX)
PERF_PID=
cleanup() {
  [ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null || true
  broker_stop || true
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export BENCH_TMP BENCH_BIN BROKER_CPU
source "$here/brokers.sh"

# Start panpd through brokers.sh, with valgrind in front when asked.
if [ "$tool" = callgrind ]; then
  real_panpd=$PANPD
  PANPD=$BENCH_TMP/panpd-under-callgrind
  cat >"$PANPD" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$PROFILE_DIR/callgrind.out.panpd \\
  --dump-instr=no --collect-jumps=no "$real_panpd" "\$@"
EOF
  chmod +x "$PANPD"
fi
export PANPD
broker_start panpd

if [ "$tool" = perf ]; then
  perf record -g -o "$PROFILE_DIR/perf.data" -p "$BROKER_PID" >/dev/null 2>&1 &
  PERF_PID=$!
fi
taskset -c "$GEN_CPU" "$BENCH_BIN" throughput "${BROKER_ARGS[@]}" --pid "$BROKER_PID" --label panpd \
  --listeners "$LISTENERS" --payload "$PAYLOAD" --secs "$SECS" --warmup 1 --drain-ms 10000 --concurrency 8 \
  >"$PROFILE_DIR/run.json"
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID" && wait "$PERF_PID" || true
  PERF_PID=
fi
# SIGTERM: panpd shuts down cleanly and callgrind writes its profile (slowly)
kill -TERM "$BROKER_PID" 2>/dev/null || true
for _ in $(seq 600); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
broker_stop

{
  echo "# panpd profile: 1 -> $LISTENERS fan-out, $PAYLOAD-byte payloads, $tool, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# the run (rates are meaningless under valgrind):"
  sed 's/^/#   /' "$PROFILE_DIR/run.json"
  echo
  if [ "$tool" = callgrind ]; then
    callgrind_annotate --inclusive=no "$PROFILE_DIR/callgrind.out.panpd" 2>/dev/null | head -60 || true
    echo
    echo "# inclusive"
    callgrind_annotate --inclusive=yes "$PROFILE_DIR/callgrind.out.panpd" 2>/dev/null | sed -n '1,70p'  || true
  else
    perf report -i "$PROFILE_DIR/perf.data" --no-children --stdio 2>/dev/null | grep -v '^$' | head -80 || true
  fi
} >"$OUT"
echo "profile: $OUT (raw: $PROFILE_DIR)"
head -45 "$OUT" || true
