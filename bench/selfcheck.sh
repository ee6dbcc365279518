#!/usr/bin/env bash
# bench/selfcheck.sh - proves the harness works: every scenario, briefly,
# against every broker, checking counts and never timings.
#
#   bash bench/selfcheck.sh [BUILD_DIR]      (default build; needs panpd and panp-bench built)
#
# Checks, per record: the run completed (connections set up, no driver
# error, broker alive, no message seen twice or out of order), and for
# panpd the SPEC's promises: with the queue far below its bound every
# Notify is delivered (drops 0, no gaps), also to the 99 that keep reading
# while one listener stalls (SPEC FLOW-7).  Rates, latencies and memory are
# printed by `make bench`, never checked here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$here/../$build ;; esac
export PANPD=$build/bin/panpd BENCH_BIN=$build/bench/panp-bench
for f in "$PANPD" "$BENCH_BIN"; do
  [ -x "$f" ] || { echo "selfcheck: $f is not built"; echo "0 passed, 1 failed"; exit 1; }
done
out=$(mktemp -d /tmp/panp-selfcheck.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Short runs; a generous drain, so that a loaded machine slows the check
# down instead of failing it, and a small window, so that little is left to
# drain (the slowest broker needs seconds for 1000 x 1024 messages).
BENCH_REPS=1 BENCH_SECS=0.3 BENCH_WARMUP=0.1 BENCH_SLOW_SECS=0.5 BENCH_RTT_N=200 \
BENCH_IDLE_N=400 BENCH_IDLE_SECS=0.3 BENCH_DRAIN_MS=20000 BENCH_GEN_ARGS="--window-deliveries 32768" \
BENCH_OUT=$out/check \
  bash "$here/run.sh" >"$out/log" 2>&1 || { cat "$out/log"; echo "0 passed, 1 failed"; exit 1; }
grep '^\[' "$out/log" | sed 's/^/  /' || true

python3 - "$out/check.raw.jsonl" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
recs = [r for r in recs if not r.get("meta") and not r.get("meta_end")]
passed = failed = 0
def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)
brokers = {r["broker"] for r in recs}
names = {r["name"] for r in recs}
check(len(brokers) == 4 and len(names) == 9, "every scenario against every broker: %d x %d" % (len(names), len(brokers)))
for r in recs:
    tag = "%s/%s" % (r.get("name"), r.get("broker"))
    check(r.get("ok") is True, "%s: %s" % (tag, r.get("error")))
    if not r.get("ok"):
        continue
    if r["scenario"] == "throughput":
        check(r["delivered"] > 0 and r["delivered"] <= r["expected"], "%s: delivered %s of %s" % (tag, r["delivered"], r["expected"]))
        check(r["out_of_order"] == 0, "%s: out of order" % tag)
        if r["broker"].startswith("panpd"):
            check(r["drops"] == 0 and r["gaps"] == 0, "%s: panpd lost %s deliveries (gaps %s)" % (tag, r["drops"], r["gaps"]))
    elif r["scenario"] == "rtt":
        check(r["round_trips"] == 200, "%s: %s round trips" % (tag, r["round_trips"]))
    elif r["scenario"] == "idle":
        check(r["messages"] == 0 and r["bytes_per_conn"] is not None, "%s: idle record" % tag)
print("bench-selfcheck: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
