#!/usr/bin/env bash
# panpd under valgrind (memcheck) through the whole integration scenario:
# every connection kind, peer deaths, bad frames and the SIGTERM shutdown.
# Any memcheck error or leak fails, and so does any failed scenario.
#
# valgrind cannot run AddressSanitizer binaries, so this always uses the
# plain build (build/), building what it needs, also under SANITIZE=1.
set -u
cd "$(dirname "$0")/../.."

verdict() { echo "valgrind: $1 passed, $2 failed"; exit "$2"; }

if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed"; verdict 0 1
fi
if ! make --no-print-directory -s SANITIZE=0 build/bin/panpd build/tests/server/test_integ >/dev/null; then
  echo "cannot build panpd"; verdict 0 1
fi

vlog=$(mktemp)
trap 'rm -f "$vlog"' EXIT
PANPD=build/bin/panpd \
PANPD_WRAPPER="valgrind --quiet --error-exitcode=1 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --track-fds=no --log-file=$vlog" \
  build/tests/server/test_integ
rc=$?
if [ -s "$vlog" ]; then
  echo "----- valgrind reported -----"; cat "$vlog"; rc=1
fi
if [ $rc -eq 0 ]; then verdict 1 0; else verdict 0 1; fi
