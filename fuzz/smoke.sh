#!/usr/bin/env bash
# The fuzz smoke test `make test` runs (TEST_SCRIPTS): builds every fuzz
# target with clang-14, replays the committed corpora and fuzz/regressions,
# and fuzzes each target for FUZZ_SECONDS (default 5).  Its last line is
# "N passed, N failed", N counting targets.
set -u
cd "$(dirname "$0")/.."
exec make --no-print-directory fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-5}"
