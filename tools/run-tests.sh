#!/usr/bin/env bash
# Runs every test program and script given, counts individual cases, and
# ends with one line "N passed, N failed" (what CI reads).
#
# usage: run-tests.sh BIN... -- SCRIPT...
# A program's cases are counted from cmocka's "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines, or from its own "N passed, N failed" line;
# a program that prints neither counts as one case decided by its exit code.
# A non-zero exit always counts as at least one failure.
set -u

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

bins=(); scripts=(); seen_sep=0
for a in "$@"; do
  if [ "$a" = "--" ]; then seen_sep=1; continue; fi
  if [ $seen_sep -eq 0 ]; then bins+=("$a"); else scripts+=("$a"); fi
done

total_pass=0; total_fail=0; failed_units=()
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

run_unit() {
  local name=$1; shift
  local log="$log_dir/$(echo "$name" | tr '/ ' '__').log"
  local start=$SECONDS
  "$@" >"$log" 2>&1 </dev/null
  local rc=$?
  local p f line
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
      p=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
      f=$(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    elif [ $rc -eq 0 ]; then p=1; else f=1; fi
  fi
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if [ "$f" -ne 0 ]; then
    failed_units+=("$name")
    printf 'FAIL  %-48s %4d passed %3d failed  (%ds, exit %d)\n' "$name" "$p" "$f" $((SECONDS-start)) $rc
    echo "----- output of $name (last 60 lines) -----"
    tail -n 60 "$log"
    echo "-----"
  else
    printf 'ok    %-48s %4d passed  (%ds)\n' "$name" "$p" $((SECONDS-start))
  fi
}

for b in "${bins[@]}"; do run_unit "$b" "$b"; done
for s in "${scripts[@]}"; do
  case "$s" in
    *.py) run_unit "$s" /usr/bin/python3 "$s" ;;
    *)    run_unit "$s" bash "$s" ;;
  esac
done

echo
if [ ${#failed_units[@]} -gt 0 ]; then echo "failed: ${failed_units[*]}"; fi
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ]
