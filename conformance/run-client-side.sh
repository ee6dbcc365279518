#!/usr/bin/env bash
# make test: the client-side cases against the reference client library.
#
# panp-conformance plays a scripted broker and drives libpanp through
# build/bin/panp-client-adapter (the adapter protocol of
# conformance/README.md), twice: on a temporary Unix socket, and as a tls:
# broker on a free loopback port (every case then runs inside TLS, with a
# broker certificate from the suite's own throwaway CA, which the adapter is
# told to trust).  libpanp implements the tls binding, so both runs claim
# feature tls (--features tls): the client.tls.* cases run instead of
# skipping.  Known failures are in known-failures.txt; the verdict and the
# last line "N passed, N failed" come from verdicts.py (a case must pass in
# one run and fail in none).
set -u
cd "$(dirname "$0")/.."
B=${PANP_BUILD:-build}
SCALE=1
case "$B" in *san*) SCALE=3 ;; esac
[ -n "${PANP_TIME_SCALE:-}" ] && SCALE=$PANP_TIME_SCALE
work=$(mktemp -d /tmp/panp-client-side-XXXXXX)
trap 'rm -rf "$work"' EXIT
reports=()
for run in unix tls; do
  addr="unix:$work/broker.sock"; [ "$run" = tls ] && addr="tls:127.0.0.1:0"
  "$B/bin/panp-conformance" --as-broker "$addr" --client-cmd "$B/bin/panp-client-adapter" --features tls \
    --time-scale "$SCALE" --format json --output "$work/report-$run.json" >"$work/suite-$run.log" 2>&1
  grep -Ev '^PASS ' "$work/suite-$run.log" | sed "s/^/[$run] /"
  reports+=("$work/report-$run.json")
done
/usr/bin/python3 conformance/verdicts.py conformance/known-failures.txt "client-side conformance of libpanp" "${reports[@]}"
