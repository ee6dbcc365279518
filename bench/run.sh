#!/usr/bin/env bash
# bench/run.sh - run every scenario against every broker, BENCH_REPS times,
# and make the report (bench/README.md says what each scenario measures).
#
#   PANPD=... BENCH_BIN=... bash bench/run.sh      (what `make bench` does)
#
# Knobs (environment):
#   BENCH_REPS=5           repetitions (median and min/max reported)
#   BENCH_SECS=3           measured seconds per throughput run (after BENCH_WARMUP=0.5)
#   BENCH_SLOW_SECS=6      measured seconds of the slow-consumer run
#   BENCH_RTT_N=5000       round trips per latency run
#   BENCH_IDLE_N=10000     idle connections;  BENCH_IDLE_SECS=10  idle CPU window
#   BENCH_BROKERS="panpd mosquitto nats-server panpd-unix"
#   BENCH_SCENARIOS="..."  a subset of the scenario names below
#   BENCH_BROKER_CPU=0 BENCH_GEN_CPU=1   pinning (taskset -c)
#   BENCH_DRAIN_MS=2000    stop waiting for deliveries after this long without progress
#   BENCH_GEN_ARGS="..."   more panp-bench options for every run (e.g. --window-deliveries N)
#   BENCH_QUICK=1          one short repetition, results/quick.* instead of latest.*
#   BENCH_OUT=bench/results/NAME   where to write NAME.{raw.jsonl,md,json}
#
# Each (repetition, scenario, broker) gets a freshly started broker; within a
# repetition the broker order rotates so slow drifts in background load do
# not always hit the same broker.  Every process started here is stopped on
# exit, also on Ctrl-C.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${PANPD:?PANPD: path to panpd}" "${BENCH_BIN:?BENCH_BIN: path to panp-bench}"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  : "${BENCH_REPS:=1}" "${BENCH_SECS:=1}" "${BENCH_WARMUP:=0.3}" "${BENCH_SLOW_SECS:=2}"
  : "${BENCH_RTT_N:=1000}" "${BENCH_IDLE_N:=2000}" "${BENCH_IDLE_SECS:=2}"
  : "${BENCH_OUT:=$here/results/quick}"
fi
REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-3}
WARMUP=${BENCH_WARMUP:-0.5}
SLOW_SECS=${BENCH_SLOW_SECS:-6}
RTT_N=${BENCH_RTT_N:-5000}
IDLE_N=${BENCH_IDLE_N:-10000}
IDLE_SECS=${BENCH_IDLE_SECS:-10}
BROKERS=${BENCH_BROKERS:-panpd mosquitto nats-server panpd-unix}
OUT=${BENCH_OUT:-$here/results/latest}
DRAIN_MS=${BENCH_DRAIN_MS:-2000}
BROKER_CPU=${BENCH_BROKER_CPU:-0}
GEN_CPU=${BENCH_GEN_CPU:-1}

# name | panp-bench arguments
SCENARIO_TABLE="
one2one-64   | throughput --listeners 1 --payload 64
one2one-256  | throughput --listeners 1 --payload 256
one2one-1024 | throughput --listeners 1 --payload 1024
fanout-10    | throughput --listeners 10 --payload 256
fanout-100   | throughput --listeners 100 --payload 256
fanout-1000  | throughput --listeners 1000 --payload 256
slow-100     | throughput --listeners 100 --payload 256 --slow --secs $SLOW_SECS
rtt          | rtt --payload 64 --rtt-n $RTT_N
idle         | idle --idle-n $IDLE_N --idle-secs $IDLE_SECS
"
ALL_SCENARIOS=$(echo "$SCENARIO_TABLE" | awk -F'|' 'NF>1 {gsub(/ /,"",$1); print $1}')
SCENARIOS=${BENCH_SCENARIOS:-$ALL_SCENARIOS}

scenario_args() {
  echo "$SCENARIO_TABLE" | awk -F'|' -v n="$1" '{k=$1; gsub(/ /,"",k)} k==n {print $2}'
}

for s in $SCENARIOS; do
  [ -n "$(scenario_args "$s")" ] || { echo "run.sh: unknown scenario $s" >&2; exit 2; }
done
for b in $BROKERS; do
  case $b in panpd|panpd-unix) ;; mosquitto|nats-server) command -v "$b" >/dev/null ||
    { echo "run.sh: $b is not installed (make deps)" >&2; exit 2; } ;;
  *) echo "run.sh: unknown broker $b" >&2; exit 2 ;; esac
done

# Idle connections need descriptors on both sides: take the hard limit.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((IDLE_N + 1000)) ]; then
  echo "run.sh: open-file limit $(ulimit -n) is too low for $IDLE_N idle connections" >&2
  exit 2
fi

BENCH_TMP=$(mktemp -d /tmp/panp-bench.XXXXXX)
export BENCH_TMP BENCH_BIN PANPD BROKER_CPU
# shellcheck source=bench/brokers.sh
source "$here/brokers.sh"
cleanup() {
  broker_stop || true
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$(dirname "$OUT")"
RAW=$OUT.raw.jsonl
: >"$RAW"

# ---- what the run happened on: machine, versions, background load
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
{
  printf '{"meta":true,"date":%s' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf ',"host":%s' "$(json_str "$(uname -srm)")"
  printf ',"cpu":%s' "$(json_str "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')")"
  printf ',"ncpu":%s,"mem_mib":%s' "$(nproc)" "$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)"
  printf ',"loadavg_start":%s' "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
  printf ',"panpd":%s' "$(json_str "$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo 'no git') + working tree, binary sha256 $(sha256sum "$PANPD" | cut -c1-12) built $(date -u -r "$PANPD" +%H:%MZ)")"
  printf ',"mosquitto":%s' "$(json_str "$(mosquitto -h 2>/dev/null | head -1)")"
  printf ',"nats_server":%s' "$(json_str "$(nats-server --version 2>/dev/null)")"
  printf ',"libmosquitto":%s' "$(json_str "$(dpkg-query -W -f='${Version}' libmosquitto1 2>/dev/null || echo '?')")"
  printf ',"reps":%s,"secs":%s,"warmup":%s,"slow_secs":%s,"rtt_n":%s,"idle_n":%s,"idle_secs":%s' \
    "$REPS" "$SECS" "$WARMUP" "$SLOW_SECS" "$RTT_N" "$IDLE_N" "$IDLE_SECS"
  printf ',"broker_cpu":%s,"gen_cpu":%s}\n' "$BROKER_CPU" "$GEN_CPU"
} >>"$RAW"

read -r -a broker_list <<<"$(echo $BROKERS)"
nb=${#broker_list[@]}
total=$(( REPS * $(echo $SCENARIOS | wc -w) * nb ))
done_runs=0
start=$SECONDS

for rep in $(seq "$REPS"); do
  for s in $SCENARIOS; do
    read -r -a args <<<"$(scenario_args "$s")"
    for i in $(seq 0 $((nb - 1))); do
      b=${broker_list[$(( (i + rep - 1) % nb ))]}
      done_runs=$((done_runs + 1))
      printf '[%3d/%d %4ds] rep %d %-13s %-12s ' "$done_runs" "$total" $((SECONDS - start)) "$rep" "$s" "$b" >&2
      if ! broker_start "$b"; then
        printf '{"scenario":"%s","broker":"%s","rep":%d,"ok":false,"error":"broker did not start"}\n' \
          "${args[0]}" "$b" "$rep" >>"$RAW"
        echo "broker did not start" >&2
        continue
      fi
      # the scenario's own options come last, so its --secs (slow-100) wins
      line=$(timeout 300 taskset -c "$GEN_CPU" "$BENCH_BIN" "${args[0]}" "${BROKER_ARGS[@]}" \
               --pid "$BROKER_PID" --label "$b" --rep "$rep" --secs "$SECS" --warmup "$WARMUP" \
               --broker-cpu "$BROKER_CPU" --gen-cpu "$GEN_CPU" --drain-ms "$DRAIN_MS" \
               ${BENCH_GEN_ARGS:-} "${args[@]:1}" \
               2>"$BENCH_TMP/gen.err" | tail -n 1) || true
      if [ -z "$line" ]; then
        line=$(printf '{"scenario":"%s","broker":"%s","rep":%d,"ok":false,"error":%s}' "${args[0]}" "$b" \
                 "$rep" "$(json_str "load generator failed: $(tail -c 300 "$BENCH_TMP/gen.err")")")
      fi
      if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        wait "$BROKER_PID" 2>/dev/null && rc=0 || rc=$?
        echo "  broker $b exited (status $rc) during the run; its log:" >&2
        tail -n 20 "$BENCH_TMP/$b/log" >&2 || true
      fi
      broker_stop
      printf '%s\n' "${line%\}},\"name\":\"$s\"}" >>"$RAW"
      python3 "$here/report.py" --brief "$line" >&2 || echo >&2
    done
  done
done

printf '{"meta_end":true,"loadavg_end":%s,"elapsed_s":%d}\n' \
  "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")" $((SECONDS - start)) >>"$RAW"
python3 "$here/report.py" "$RAW" --md "$OUT.md" --json "$OUT.json"
cat "$OUT.md"
