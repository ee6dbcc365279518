#!/usr/bin/env bash
# Line coverage that the fuzz corpora reach (make fuzz-coverage).
#
#   coverage.sh COVDIR TARGET...
#
# COVDIR/bin holds the targets built with -fprofile-instr-generate
# -fcoverage-mapping (no sanitizers).  Each replays fuzz/corpus/<target>,
# fuzz/corpus-work/<target> when a campaign left one, and
# fuzz/regressions/<target>; llvm-profdata-14 merges the profiles and
# llvm-cov-14 reports, per file and in total, codec/src (goal: 90 % of
# lines) and reference-server/core (goal: 80 %).  The HTML report goes to
# COVDIR/html/index.html.  Debian's libprotobuf-c and libprotobuf-nanopb
# are not instrumented, so their lines are not counted anywhere.
set -u
covdir=$(cd "${1:?usage: coverage.sh COVDIR TARGET...}" && pwd)
shift
root=$(pwd)
prof=$covdir/prof
rm -rf "$prof"
mkdir -p "$prof"
objects=()
for t in "$@"; do
  bin=$covdir/bin/fuzz_$t
  dirs=()
  for d in fuzz/corpus/$t fuzz/corpus-work/$t fuzz/regressions/$t; do
    [ -d "$root/$d" ] && dirs+=("$root/$d")
  done
  [ ${#dirs[@]} -gt 0 ] || continue
  LLVM_PROFILE_FILE="$prof/$t-%p.profraw" nice -n 10 "$bin" -runs=0 -timeout=30 -artifact_prefix="$prof/" \
      -rss_limit_mb=2048 "${dirs[@]}" >"$prof/$t.log" 2>&1 ||
    echo "warning: $t exited non-zero replaying its corpus (see $prof/$t.log)"
  if [ ${#objects[@]} -eq 0 ]; then objects+=("$bin"); else objects+=(-object "$bin"); fi
done
llvm-profdata-14 merge -sparse "$prof"/*.profraw -o "$prof/all.profdata"

report() { # title, goal, files...
  local title=$1 goal=$2
  shift 2
  echo "== $title"
  llvm-cov-14 report "${objects[@]}" -instr-profile="$prof/all.profdata" "$@" |
    awk -v goal="$goal" -v title="$title" '
      /^Filename/ || /^---/ { next }
      NF >= 10 { f = $1; sub(".*/", "", f); printf "  %-22s lines %6s of %5d\n", f, $10, $8 }
      /^TOTAL/ { pct = $10; sub("%", "", pct); total = pct }
      END { printf "  %s line coverage: %s%% (goal %d%%)%s\n", title, total, goal,
                   (total + 0 < goal ? "  BELOW GOAL" : "") }'
}
report "codec/src" 90 "$root"/codec/src/*.c
report "reference-server/core" 80 "$root"/reference-server/core/*.c
report "reference-client/src" 0 "$root"/reference-client/src/*.c
llvm-cov-14 show "${objects[@]}" -instr-profile="$prof/all.profdata" -format=html \
    -output-dir="$covdir/html" "$root"/codec/src/*.c "$root"/reference-server/core/*.c \
    "$root"/reference-client/src/*.c >/dev/null 2>&1 &&
  echo "html: $covdir/html/index.html"
