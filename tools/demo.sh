#!/usr/bin/env bash
# `make run`: starts panpd on its embedded configuration (a Unix socket at
# ./run/panpd.sock, the current user as administrator and sender, two
# example printers), runs the scripted demo against it, then leaves panpd
# in the foreground until Ctrl-C.  DEMO_ONLY=1 stops panpd after the demo.
#
# usage: tools/demo.sh PANPD DEMO_CLIENT
set -euo pipefail

panpd=${1:?usage: demo.sh PANPD DEMO_CLIENT}
demo=${2:?usage: demo.sh PANPD DEMO_CLIENT}
sock=./run/panpd.sock
log=./run/panpd.log
mkdir -p run

echo "Starting panpd (log: $log) ..."
"$panpd" -l info 2>"$log" &
pid=$!
stop() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap stop EXIT

for _ in $(seq 1 100); do
  [ -S "$sock" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "panpd did not start:"; cat "$log"; exit 1
  fi
  sleep 0.05
done
[ -S "$sock" ] || { echo "panpd did not create $sock"; cat "$log"; exit 1; }

"$demo" "$sock"

echo
echo "What panpd logged:"
sed 's/^/  | /' "$log"

if [ "${DEMO_ONLY:-0}" = 1 ]; then
  stop
  trap - EXIT
  echo "panpd stopped (DEMO_ONLY=1)."
  exit 0
fi

echo
echo "panpd keeps running on unix:$sock (pid $pid). Press Ctrl-C to stop it."
trap 'echo; stop; trap - EXIT; echo "panpd stopped."; exit 0' INT TERM
tail -n 0 -f "$log" --pid="$pid" &
wait "$pid" || true
trap - EXIT
