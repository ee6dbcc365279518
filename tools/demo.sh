#!/usr/bin/env bash
# `make run`: starts panpd on its embedded configuration (a Unix socket at
# ./run/panpd.sock, the current user as administrator and sender, two
# example printers), shows a listener and a sender talking through it with
# the `panp` tool, then leaves panpd in the foreground until Ctrl-C.
# DEMO_ONLY=1 stops panpd after the demo.
#
# usage: tools/demo.sh PANPD PANP
set -euo pipefail

panpd=${1:?usage: demo.sh PANPD PANP}
panp=${2:?usage: demo.sh PANPD PANP}
sock=./run/panpd.sock
log=./run/panpd.log
out=$(mktemp -d)
mkdir -p run
export PANP_BROKER=unix:$sock

pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${panpd_pid:-}" ] && kill -0 "$panpd_pid" 2>/dev/null; then
    kill -TERM "$panpd_pid" 2>/dev/null || true
    wait "$panpd_pid" 2>/dev/null || true
  fi
  rm -rf "$out"
}
trap stop_all EXIT

if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; else bold=; plain=; fi
step() { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
show() { sed "s/^/  $1 | /" "$2"; }

# Waits (at most 5 s) until the broker lists N registrations of ours: the
# demo never races a sender against a listener that is not there yet.
await_registrations() {
  for _ in $(seq 1 100); do
    n=$("$panp" registrations --json 2>/dev/null | grep -c '"event":"registration"' || true)
    [ "$n" -ge "$1" ] && return 0
    sleep 0.05
  done
  echo "demo: the listener did not register in time"; exit 1
}

echo "Starting panpd on its embedded default configuration (log: $log)"
"$panpd" -l info 2>"$log" &
panpd_pid=$!
for _ in $(seq 1 100); do
  [ -S "$sock" ] && break
  kill -0 "$panpd_pid" 2>/dev/null || { echo "panpd did not start:"; cat "$log"; exit 1; }
  sleep 0.05
done
[ -S "$sock" ] || { echo "panpd did not create $sock"; cat "$log"; exit 1; }

step "1. A listener registers for AsyncUI notifications on the print server"
echo "  \$ panp listen --type async-ui -v &"
"$panp" listen --type async-ui -v >"$out/listener" 2>&1 &
pids+=($!)
await_registrations 1
"$panp" registrations | sed 's/^/  /'

step "2. A sender (a driver, say) opens a channel and says \"toner low\""
echo "  \$ panp send -m 'Toner low on Office-Laser'"
"$panp" send -m 'Toner low on Office-Laser' 2>&1 | sed 's/^/  sender   | /'

step "3. A port monitor asks a question; a listener answers; the first answer wins"
echo "  \$ panp answer --reply 1234 --count 1 &      (the user's agent, answering with a PIN)"
"$panp" answer --reply 1234 --count 1 >"$out/answerer" 2>&1 &
pids+=($!)
await_registrations 2
echo "  \$ panp dialog -m 'Enter your PIN to release job 42'"
"$panp" dialog -m 'Enter your PIN to release job 42' 2>/dev/null | sed 's/^/  sender   | answer: /'
wait "${pids[-1]}" 2>/dev/null || true
show "answerer" "$out/answerer"

step "4. A sender dies without closing its channel: listeners get NOTIFICATION_RELEASE"
mkfifo "$out/fifo"
"$panp" send <"$out/fifo" >/dev/null 2>&1 &
sender=$!
exec 7>"$out/fifo"
echo "Paper jam in tray 2" >&7
for _ in $(seq 1 100); do grep -q 'Paper jam' "$out/listener" && break; sleep 0.05; done
echo "  (killing the sender with SIGKILL)"
kill -9 "$sender"; wait "$sender" 2>/dev/null || true
exec 7>&-
for _ in $(seq 1 100); do grep -q 'NOTIFICATION_RELEASE' "$out/listener" && break; sleep 0.05; done
show "listener" "$out/listener"

echo
echo "What panpd logged:"
sed 's/^/  | /' "$log"

if [ "${DEMO_ONLY:-0}" = 1 ]; then
  echo "Demo complete; panpd stopped (DEMO_ONLY=1)."
  exit 0
fi

for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
echo
echo "Demo complete. panpd keeps running on unix:$sock (pid $panpd_pid); try, in another shell:"
echo "  $panp listen -v            and           $panp send -m hello"
echo "Press Ctrl-C to stop it."
trap 'echo; stop_all; trap - EXIT; echo "panpd stopped."; exit 0' INT TERM
tail -n 0 -f "$log" --pid="$panpd_pid" &
pids+=($!)
wait "$panpd_pid" || true
