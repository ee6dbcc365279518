#!/usr/bin/env bash
# panpd under valgrind (memcheck) through test_tls: TLS handshakes that
# succeed and every way they fail, certificate identities, the limits
# before authentication (slow peers, half-open floods, connection caps)
# and SIGTERM.  Any memcheck error or leak fails, and so does any case.
#
# valgrind cannot run AddressSanitizer binaries, so this always uses the
# plain build (build/), building what it needs, also under SANITIZE=1.
set -u
cd "$(dirname "$0")/../.."

verdict() { echo "valgrind-tls: $1 passed, $2 failed"; exit "$2"; }

if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed"; verdict 0 1
fi
if ! make --no-print-directory -s SANITIZE=0 build/bin/panpd build/tests/server/test_tls >/dev/null; then
  echo "cannot build panpd and test_tls"; verdict 0 1
fi

vdir=$(mktemp -d)
trap 'rm -rf "$vdir"' EXIT
# One log per panpd process (test_tls starts several): %p is the pid.
PANPD=build/bin/panpd \
PANPD_WRAPPER="valgrind --quiet --error-exitcode=1 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --track-fds=no --log-file=$vdir/vg.%p" \
  build/tests/server/test_tls
rc=$?
for f in "$vdir"/vg.*; do
  [ -s "$f" ] || continue
  echo "----- valgrind reported ($f) -----"; cat "$f"; rc=1
done
if [ $rc -eq 0 ]; then verdict 1 0; else verdict 0 1; fi
