#!/usr/bin/env bash
# Runs the panp fuzz targets one at a time (fuzz/README.md).
#
#   run.sh campaign BINDIR SECONDS TARGET...   grow fuzz/corpus-work/<target>, crashes
#                                              into fuzz/artifacts/<target>/
#   run.sh smoke    BINDIR SECONDS TARGET...   replay fuzz/corpus and fuzz/regressions,
#                                              then fuzz SECONDS in a throw-away corpus
#   run.sh merge    BINDIR 0 TARGET...         add what fuzz/corpus-work covers beyond
#                                              fuzz/corpus to fuzz/corpus (minimised)
#
# Each target runs under `nice -n 10`, one process (-jobs=1 -workers=1 for
# campaigns), -timeout=10 -rss_limit_mb=2048.  Prints one line per target
# and ends with "N passed, N failed" (N counts targets); exits non-zero if
# any target crashed, leaked, timed out or ran out of memory.
#
# FUZZ_CPU_SECONDS=N (campaigns only) replaces SECONDS of wall time with N
# seconds of CPU: on shared cores a fuzzer gets a fraction of a CPU, and
# what a campaign is worth is the CPU it ran.  A watcher sums the fuzzer's
# CPU and asks it to stop (SIGUSR1: libFuzzer ends the run and prints its
# final stats) once it reaches N; wall time is capped at 4N + 60 s.  The
# fuzzer notices only between inputs, after loading its corpus, so the
# CPU reported can exceed N a little; it is never less.
set -u
mode=${1:?usage: run.sh campaign|smoke|merge BINDIR SECONDS TARGET...}
bindir=$(cd "${2:?}" && pwd)
secs=${3:?}
shift 3
root=$(pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Per target: the largest input worth generating, and whether the
# dictionary (field tags, preface) applies (byte-level targets only).
flags_for() {
  case $1 in
    decode_pbc|decode_nanopb|differential) echo "-max_len=66000 -dict=$root/fuzz/panp.dict" ;;
    framer) echo "-max_len=16384 -dict=$root/fuzz/panp.dict" ;;
    encode) echo "-max_len=4096" ;;
    broker_core|client) echo "-max_len=8192" ;;
    *) echo "" ;;
  esac
}

pass=0; fail=0; cpu=
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

summary() { # the last status line libFuzzer printed
  grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$1" | tail -n 1 |
    sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*exec\/s: ([0-9]+).*/\1 runs, \2, \3 exec\/s/'
}

# CPU seconds (user + sys) of this shell's reaped children so far.  `times`
# must run in this shell (a $(...) subshell has children of its own).
children_cpu() {
  times >"$logs/times"
  awk 'NR == 2 { s = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }
    printf "%.1f\n", s }' "$logs/times"
}

# CPU seconds used so far by pid and every process below it.
tree_cpu() {
  ps -e -o pid=,ppid=,times= | awk -v root="$1" '
    { parent[$1] = $2; used[$1] = $3 }
    END { s = 0
          for (p in parent) { q = p; while (q != root && q in parent && q > 1) q = parent[q]
                              if (q == root) s += used[p] }
          print s }'
}

# Asks the fuzzer pid to stop once it has used budget CPU seconds.
cpu_watch() {
  local pid=$1 budget=$2
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(tree_cpu "$pid")" -ge "$budget" ]; then
      kill -USR1 "$pid" 2>/dev/null
      return
    fi
    sleep 2
  done
}

for t in "$@"; do
  bin=$bindir/fuzz_$t
  seeds=$root/fuzz/corpus/$t
  regs=$root/fuzz/regressions/$t
  log=$logs/$t.log
  mkdir -p "$seeds"
  read -r -a extra <<<"$(flags_for "$t")"
  common=(-timeout=10 -rss_limit_mb=2048 "${extra[@]}")
  start=$SECONDS
  rc=0
  case $mode in
    campaign)
      work=$root/fuzz/corpus-work/$t
      art=$root/fuzz/artifacts/$t
      mkdir -p "$work" "$art" "$logs/$t"
      # jobs mode writes fuzz-0.log into the current directory; `time` gives
      # the CPU the fuzzer used (user + sys), which is what a campaign costs
      # on shared cores.
      TIMEFORMAT='%U %S'
      if [ -n "${FUZZ_CPU_SECONDS:-}" ]; then
        # One process, no jobs mode: the signal must reach the fuzzing loop
        # itself (a jobs-mode parent would die of it).  The fuzzer is reaped
        # before the watcher, so the CPU counted is the fuzzer's alone.
        children_cpu >"$logs/before"
        budget=$FUZZ_CPU_SECONDS
        nice -n 10 "$bin" -max_total_time=$((4 * budget + 60)) -print_final_stats=1 \
            "${common[@]}" -artifact_prefix="$art/" "$work" "$seeds" >"$log" 2>&1 &
        fuzz_pid=$!
        cpu_watch "$fuzz_pid" "$budget" &
        watch_pid=$!
        wait "$fuzz_pid" || rc=$?
        children_cpu >"$logs/after"
        awk 'NR == FNR { a = $1; next } { print $1 - a, 0 }' "$logs/before" "$logs/after" \
            >"$logs/$t.cpu"
        kill "$watch_pid" 2>/dev/null
        wait "$watch_pid" 2>/dev/null
      else
        { time (cd "$logs/$t" && nice -n 10 "$bin" -jobs=1 -workers=1 -max_total_time="$secs" \
            -print_final_stats=1 "${common[@]}" -artifact_prefix="$art/" "$work" "$seeds" \
            >"$log" 2>&1); } 2>"$logs/$t.cpu" || rc=$?
      fi
      cpu=$(awk '{printf "%.0f CPU-s", $1 + $2}' "$logs/$t.cpu" 2>/dev/null)
      cat "$logs/$t"/fuzz-*.log >>"$log" 2>/dev/null
      ;;
    smoke)
      replay=("$seeds")
      [ -d "$regs" ] && replay+=("$regs")
      nice -n 10 "$bin" -runs=0 "${common[@]}" "${replay[@]}" >"$log" 2>&1 || rc=$?
      if [ $rc -eq 0 ]; then
        tmp=$(mktemp -d)
        mkdir -p "$root/fuzz/artifacts/$t"
        nice -n 10 "$bin" -max_total_time="$secs" "${common[@]}" \
            -artifact_prefix="$root/fuzz/artifacts/$t/" "$tmp" "$seeds" >>"$log" 2>&1 || rc=$?
        rm -rf "$tmp"
      fi
      ;;
    merge)
      work=$root/fuzz/corpus-work/$t
      [ -d "$work" ] || { echo "skip  $t (no fuzz/corpus-work/$t)"; continue; }
      # Edges only (no hit counters): what is committed stays small.
      nice -n 10 "$bin" -merge=1 -use_counters=0 "${common[@]}" "$seeds" "$work" >"$log" 2>&1 ||
        rc=$?
      ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1))
    printf 'ok    %-14s %4ds  %s%s\n' "$t" $((SECONDS - start)) "${cpu:+$cpu, }" \
        "$(summary "$log")"
  else
    fail=$((fail + 1))
    printf 'FAIL  %-14s %4ds  exit %d\n' "$t" $((SECONDS - start)) $rc
    grep -E -A1 'invariant failed' "$log" | head -n 4
    grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written|^Running: ' "$log" | head -n 8
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
