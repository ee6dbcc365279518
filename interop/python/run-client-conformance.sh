#!/usr/bin/env bash
# make test: the client-side conformance cases against the independent
# Python client (interop/python/panp_client.py) through its adapter.
#
# Same mechanism as conformance/run-client-side.sh: panp-conformance plays a
# scripted broker, once on a temporary Unix socket and once on a loopback TCP
# port (TOKEN), and drives the client through conformance_adapter.py (the
# adapter protocol of conformance/README.md).  Expected failures are listed
# in interop/python/known-failures.txt (currently none); verdicts.py merges
# both runs and prints the last line "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
B=${PANP_BUILD:-build}
SCALE=1
case "$B" in *san*) SCALE=3 ;; esac
[ -n "${PANP_TIME_SCALE:-}" ] && SCALE=$PANP_TIME_SCALE
case "$B" in /*) gen=$B/gen/py ;; *) gen=$(pwd)/$B/gen/py ;; esac
export PYTHONPATH="$gen${PYTHONPATH:+:$PYTHONPATH}"
SUITE=$B/bin/panp-conformance
ADAPTER="/usr/bin/python3 $(pwd)/interop/python/conformance_adapter.py"
[ -x "$SUITE" ] || { echo "run-client-conformance: $SUITE not built"; echo "0 passed, 1 failed"; exit 1; }
[ -f "$gen/panp/v1/panp_pb2.py" ] || { echo "run-client-conformance: $gen/panp/v1/panp_pb2.py not generated"; echo "0 passed, 1 failed"; exit 1; }

work=$(mktemp -d /tmp/panp-py-client-XXXXXX)
trap 'rm -rf "$work"' EXIT
reports=()
for run in unix tcp; do
  addr="unix:$work/broker.sock"; [ "$run" = tcp ] && addr="tcp:127.0.0.1:0"
  "$SUITE" --as-broker "$addr" --client-cmd "$ADAPTER" --strict \
    --time-scale "$SCALE" --format json --output "$work/report-$run.json" >"$work/suite-$run.log" 2>&1
  grep -Ev '^PASS ' "$work/suite-$run.log" | sed "s/^/[$run] /"
  reports+=("$work/report-$run.json")
done
/usr/bin/python3 conformance/verdicts.py interop/python/known-failures.txt \
  "client-side conformance of the Python client" "${reports[@]}"
