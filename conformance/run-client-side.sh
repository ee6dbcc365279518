#!/usr/bin/env bash
# make test: the client-side cases against the reference client library.
#
# panp-conformance plays a scripted broker on a temporary Unix socket and
# drives libpanp through build/bin/panp-client-adapter (the adapter protocol
# of conformance/README.md).  Known failures are in known-failures.txt; the
# verdict and the last line "N passed, N failed" come from verdicts.py.
set -u
cd "$(dirname "$0")/.."
B=${PANP_BUILD:-build}
SCALE=1
case "$B" in *san*) SCALE=3 ;; esac
[ -n "${PANP_TIME_SCALE:-}" ] && SCALE=$PANP_TIME_SCALE
work=$(mktemp -d /tmp/panp-client-side-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$B/bin/panp-conformance" --as-broker "unix:$work/broker.sock" --client-cmd "$B/bin/panp-client-adapter" \
  --time-scale "$SCALE" --format json --output "$work/report.json" >"$work/suite.log" 2>&1
grep -Ev '^PASS ' "$work/suite.log"
/usr/bin/python3 conformance/verdicts.py conformance/known-failures.txt "client-side conformance of libpanp" "$work/report.json"
