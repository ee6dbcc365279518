#!/usr/bin/env bash
# make test: every MUST / MUST NOT of SPEC.md is checked by a conformance
# case (or carries a justified waiver), and no case cites an unknown ID.
# Prints "coverage: N passed, N failed" (N = requirements).
set -u
cd "$(dirname "$0")/.."
B=${PANP_BUILD:-build}
exec "$B/bin/panp-conformance" --coverage SPEC.md
