#!/usr/bin/env bash
# cli.sh - the `panp` tool, the README examples and the port monitor
# example, end to end against a real panpd with a generated configuration.
#
# usage: reference-client/tests/cli.sh [BUILD_DIR]   (default build)
# `make test` runs it through $(B)/tests/client/cli.sh, so SANITIZE=1 tests
# the sanitizer build.  Ends with "cli: N passed, M failed".
set -u
cd "$(dirname "$0")/../.."
B=${1:-build}
PANP=$B/bin/panp
PANPD=$B/bin/panpd
EX=$B/examples/client
CERTS=$B/certs   # make certs (tools/make-certs.sh): the tls: part

pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() { echo "cli: $pass passed, $fail failed"; exit $((fail > 0)); }

for f in "$PANP" "$PANPD" "$EX/port_monitor" "$EX/listener" "$EX/sender"; do
  [ -x "$f" ] || { bad "$f is not built"; finish; }
done
[ -f "$CERTS/ca.pem" ] || { bad "no test certificates in $CERTS (make certs)"; finish; }
CERTS=$(cd "$CERTS" && pwd)

tmp=$(mktemp -d /tmp/panp-cli-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  jobs -p | xargs -r kill 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# expect RC DESCRIPTION -- COMMAND...: runs it, checks its exit code; its
# output is in $tmp/out and $tmp/err.
expect() {
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else
    bad "$what: exit $rc, want $want"; sed 's/^/    out: /' "$tmp/out"; sed 's/^/    err: /' "$tmp/err"
  fi
}
contains() { # FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then ok; else bad "$3: \"$2\" not in $(basename "$1")"; sed 's/^/    /' "$1"; fi
}

# ---- without a broker ---------------------------------------------------------------
expect 0 "top-level --help" -- "$PANP" --help
contains "$tmp/out" "Exit codes" "top-level help"
for cmd in listen send dialog answer registrations; do
  expect 0 "$cmd --help" -- "$PANP" "$cmd" --help
  contains "$tmp/out" "usage: panp $cmd" "$cmd help"
done
expect 1 "no command" -- "$PANP"
expect 1 "unknown command" -- "$PANP" frobnicate
contains "$tmp/err" 'unknown command "frobnicate"' "unknown command message"
expect 1 "bad count" -- "$PANP" listen --count many
expect 1 "bad type" -- "$PANP" send --type toner -m x
contains "$tmp/err" "neither a UUID nor a well-known name" "bad type message"
expect 1 "stray argument" -- "$PANP" listen extra
expect 1 "unknown option" -- "$PANP" send --frob
expect 1 "bad address" -- "$PANP" send -b carrier-pigeon:1 -m x
contains "$tmp/err" "bad broker address" "bad address message"
expect 1 "job without owner" -- "$PANP" send --job 3 -m x
expect 1 "dialog without question" -- "$PANP" dialog
expect 2 "missing broker" -- "$PANP" send -b "unix:$tmp/none.sock" -m x
contains "$tmp/err" "cannot connect to unix:$tmp/none.sock" "missing broker message"
expect 2 "missing broker (tcp)" -- "$PANP" listen -b tcp:127.0.0.1:1 --token t
expect 1 "bad --tls-min" -- "$PANP" send -b tls:127.0.0.1:1 --tls-min 1.1 -m x
contains "$tmp/err" "want 1.2 or 1.3" "bad --tls-min message"
expect 1 "bad PANP_TLS_MIN" -- env PANP_TLS_MIN=1.0 "$PANP" send -b tls:127.0.0.1:1 -m x
expect 1 "--key without --cert" -- "$PANP" send -b tls:127.0.0.1:1 --key "$CERTS/client-alice.key" -m x
expect 0 "send --help" -- "$PANP" send --help
for o in "--ca FILE" "--cert FILE" "--key FILE" "--server-name NAME" "--tls-min 1.2|1.3" '$PANP_CA'; do
  contains "$tmp/out" "$o" "help lists the TLS options"
done

# ---- a broker -------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tlsport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
me=$(id -un)
cat >"$tmp/users" <<EOF
alice:9c220f200955d76c0a38d308225e0ef10c5f971acaf2f8d1d8f732affa5bd1dc
carol:6c0d2c0b430d9d9e3231e2645090c735a5059173d4ddf51f186e3f32e01bc832
EOF
cat >"$tmp/panpd.conf" <<EOF
[server]
name = cli-test
listen = unix:$tmp/panpd.sock, tcp:127.0.0.1:$port, tls:127.0.0.1:$tlsport
users_file = users
[tls]
cert = $CERTS/server.pem
key = $CERTS/server.key
ca = $CERTS/ca.pem
auth = external, token
client_cert = optional
client_identity = cn
[printer lobby]
admins = alice
[access]
server_admins = $me
senders = $me, alice
trusted = $me
[log]
level = info
EOF
start_broker() {
  "$PANPD" -c "$tmp/panpd.conf" >>"$tmp/panpd.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -S "$tmp/panpd.sock" ] && "$PANP" registrations >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "panpd did not start:"; cat "$tmp/panpd.log"; return 1
}
export PANP_BROKER="unix:$tmp/panpd.sock"
start_broker || { bad "panpd start"; finish; }

# Waits until at least N registrations of ours exist.  Each scenario first
# waits for the previous one's registrations to be gone (settle), so a
# leftover cannot be mistaken for the new listener.
regs() { "$PANP" registrations --json 2>/dev/null | wc -l; }
wait_regs() {
  for _ in $(seq 200); do [ "$(regs)" -ge "$1" ] && return 0; sleep 0.05; done
  bad "registrations never reached $1"
}
settle() {
  for _ in $(seq 200); do [ "$(regs)" -eq 0 ] && return 0; sleep 0.05; done
  bad "registrations of an earlier step never went away"
}

# listen + send, text
settle
"$PANP" listen -C 2 -W 10 >"$tmp/l.out" 2>"$tmp/l.err" & lp=$!
wait_regs 1
expect 0 "send two" -- "$PANP" send -m "toner low" -m "paper out"
contains "$tmp/err" "sent #2 to 1 listener" "send report"
wait "$lp"; rc=$?
[ $rc -eq 0 ] && ok || bad "listen exit $rc"
[ "$(cat "$tmp/l.out")" = $'toner low\npaper out' ] && ok || bad "listen output: $(cat "$tmp/l.out")"

# listen --json, printer target, client state
settle
"$PANP" listen --json -p lobby -C 1 -W 10 --client-state cookie >"$tmp/l.out" 2>"$tmp/l.err" & lp=$!
wait_regs 1
expect 0 "send to lobby" -- "$PANP" send -p lobby -m '{"k": "v"}'
wait "$lp" && ok || bad "json listen exit"
python3 - "$tmp/l.out" <<'EOF' && ok || bad "json listen output: $(cat "$tmp/l.out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["event"] == "notify" and o["type_name"] == "async-ui", o
assert o["type"] == "f6853f92-eb31-4e23-b6e7-fd69056153f0"
assert o["target"] == {"printer": "lobby"} and o["payload"] == '{"k": "v"}', o
assert o["sequence"] == 1 and o["style"] == "unidirectional"
EOF

# send from standard input, JSON report
printf 'one\ntwo\nthree\n' | "$PANP" send --json >"$tmp/s.out" 2>"$tmp/s.err" && ok || bad "stdin send: $(cat "$tmp/s.err")"
[ "$(grep -c '"event":"sent"' "$tmp/s.out")" -eq 3 ] && ok || bad "stdin send count: $(cat "$tmp/s.out")"

# dialog / answer
settle
"$PANP" answer --reply yes -C 1 -W 10 >"$tmp/a.out" 2>"$tmp/a.err" & ap=$!
wait_regs 1
expect 0 "dialog" -- "$PANP" dialog -m "print 40 pages?" -W 5
[ "$(cat "$tmp/out")" = "yes" ] && ok || bad "dialog answer: $(cat "$tmp/out")"
wait "$ap" && ok || bad "answer exit"

settle
"$PANP" answer --exec 'printf "%s from %s" "$PANP_QUESTION" "$PANP_SENDER"' -C 2 -W 10 >"$tmp/a.out" 2>"$tmp/a.err" & ap=$!
wait_regs 1
expect 0 "two-turn dialog, --exec" -- "$PANP" dialog -m first -m second -W 5 --json
python3 - "$tmp/out" "$me" <<'EOF' && ok || bad "exec dialog output: $(cat "$tmp/out")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
replies = [e["payload"] for e in ev if e["event"] == "reply"]
assert replies == ["first from " + sys.argv[2], "second from " + sys.argv[2]], replies
EOF
wait "$ap" && ok || bad "exec answer exit"

settle
"$PANP" answer --close --reply OK -C 1 -W 10 >"$tmp/a.out" 2>"$tmp/a.err" & ap=$!
wait_regs 1
expect 0 "answered by closing" -- "$PANP" dialog -m "ready?" -W 5
[ "$(cat "$tmp/out")" = "OK" ] && ok || bad "close answer: $(cat "$tmp/out")"
wait "$ap" && ok || bad "close answer exit"

expect 4 "dialog timeout" -- "$PANP" dialog -m "anyone?" -W 0.5
contains "$tmp/err" "no answer" "dialog timeout message"
expect 4 "listen timeout with count" -- "$PANP" listen -C 1 -W 0.3
expect 0 "listen timeout without count" -- "$PANP" listen -W 0.3

# identities and refusals
expect 0 "tcp token" -- "$PANP" send -b "tcp:127.0.0.1:$port" --token alice-token -m hi
expect 3 "wrong token" -- "$PANP" send -b "tcp:127.0.0.1:$port" --token nope -m hi
contains "$tmp/err" "UNAUTHENTICATED" "wrong token message"
expect 3 "all-users needs admin" -- "$PANP" listen -b "tcp:127.0.0.1:$port" --token carol-token --all-users -p lobby
contains "$tmp/err" "ACCESS_DENIED" "access denied message"
expect 3 "carol may not send" -- "$PANP" send -b "tcp:127.0.0.1:$port" --token carol-token -m x
expect 3 "unknown printer" -- "$PANP" listen -p nowhere -W 0.1
contains "$tmp/err" "NOT_FOUND" "unknown printer message"

# tls: a client certificate (EXTERNAL: alice by its CN), options and the
# environment; a token inside TLS; a wrong CA, a wrong name
T="tls:localhost:$tlsport"
TLS_ALICE=(--ca "$CERTS/ca.pem" --cert "$CERTS/client-alice.pem" --key "$CERTS/client-alice.key")
alice_regs() { "$PANP" registrations -b "$T" "${TLS_ALICE[@]}" --json 2>/dev/null | wc -l; }
"$PANP" listen -b "$T" "${TLS_ALICE[@]}" -C 2 -W 10 >"$tmp/l.out" 2>"$tmp/l.err" & lp=$!
for _ in $(seq 200); do [ "$(alice_regs)" -ge 1 ] && break; sleep 0.05; done
[ "$(alice_regs)" -ge 1 ] && ok || bad "tls listener never registered ($(cat "$tmp/l.err"))"
expect 0 "send over tls with a client certificate" -- "$PANP" send -b "$T" "${TLS_ALICE[@]}" -m "over tls"
contains "$tmp/err" "sent #1 to 1 listener" "tls send report"
expect 0 "send over tls, settings from the environment" -- env PANP_BROKER="$T" PANP_CA="$CERTS/ca.pem" \
  PANP_CERT="$CERTS/client-alice.pem" PANP_KEY="$CERTS/client-alice.key" PANP_TLS_MIN=1.2 "$PANP" send -m "by env"
wait "$lp"; rc=$?
[ $rc -eq 0 ] && ok || bad "tls listen exit $rc ($(cat "$tmp/l.err"))"
[ "$(cat "$tmp/l.out")" = $'over tls\nby env' ] && ok || bad "tls listen output: $(cat "$tmp/l.out")"
# the facade (port monitor example) takes the same settings from the environment
"$PANP" answer -b "$T" "${TLS_ALICE[@]}" -t port-monitor -p lobby --reply 1234 -C 1 -W 10 >/dev/null 2>"$tmp/a.err" & ap=$!
for _ in $(seq 200); do [ "$(alice_regs)" -ge 1 ] && break; sleep 0.05; done
expect 0 "port monitor over tls (facade, environment)" -- env PANP_BROKER="$T" PANP_CA="$CERTS/ca.pem" \
  PANP_CERT="$CERTS/client-alice.pem" PANP_KEY="$CERTS/client-alice.key" "$EX/port_monitor" --printer lobby --pin 1234 --timeout 5
contains "$tmp/out" "job 7 released" "port monitor over tls"
wait "$ap" && ok || bad "tls pin answer exit ($(cat "$tmp/a.err"))"
for _ in $(seq 200); do [ "$(alice_regs)" -eq 0 ] && break; sleep 0.05; done
expect 0 "a token inside tls, by IP with --server-name" -- "$PANP" send -b "tls:127.0.0.1:$tlsport" \
  --ca "$CERTS/ca.pem" --server-name localhost --token alice-token --tls-min 1.3 -m x
expect 2 "tls with a wrong CA" -- "$PANP" send -b "$T" --ca "$CERTS/other-ca.pem" \
  --cert "$CERTS/client-alice.pem" --key "$CERTS/client-alice.key" -m x
contains "$tmp/err" "the broker's certificate is not trusted" "wrong CA message"
expect 2 "tls with a wrong name" -- "$PANP" send -b "$T" "${TLS_ALICE[@]}" --server-name wrong.example -m x
contains "$tmp/err" "is not for \"wrong.example\"" "wrong name message"
expect 3 "EXTERNAL over tls without a certificate" -- "$PANP" send -b "$T" --ca "$CERTS/ca.pem" -m x
contains "$tmp/err" "UNAUTHENTICATED" "no certificate message"
expect 2 "plain tcp: to the tls: port" -- "$PANP" send -b "tcp:127.0.0.1:$tlsport" --token alice-token -m x
contains "$tmp/err" "tls:" "wrong binding message"

# registrations listing
settle
"$PANP" listen -p lobby -t printer-configuration -W 10 >/dev/null 2>&1 & lp=$!
wait_regs 1
expect 0 "registrations" -- "$PANP" registrations
contains "$tmp/out" "printer-configuration" "registrations table"
contains "$tmp/out" "printer:lobby" "registrations target"
kill "$lp"; wait "$lp" 2>/dev/null

# the port monitor example (prnasnot facade) against `panp answer`
settle
"$PANP" answer -t port-monitor -p lobby --reply 1234 -C 1 -W 10 >/dev/null 2>"$tmp/a.err" & ap=$!
wait_regs 1
expect 0 "port monitor, right PIN" -- "$EX/port_monitor" --printer lobby --pin 1234 --timeout 5
contains "$tmp/out" "job 7 released" "port monitor release"
wait "$ap" && ok || bad "pin answer exit"
settle
"$PANP" answer -t port-monitor -p lobby --reply 0000 --json -W 10 >"$tmp/a.out" 2>"$tmp/a.err" & ap=$!
wait_regs 1
expect 1 "port monitor, wrong PIN" -- "$EX/port_monitor" --printer lobby --pin 1234 --tries 2 --timeout 5
contains "$tmp/out" "cancelled: wrong PIN" "port monitor cancel"
sleep 0.2; kill "$ap"; wait "$ap" 2>/dev/null
contains "$tmp/a.out" '"reason":"CLOSED_BY_SENDER"' "listener saw the verdict"
contains "$tmp/a.out" 'cancelled: wrong PIN' "verdict as the close reason"
expect 2 "port monitor, nobody answers" -- "$EX/port_monitor" --printer lobby --timeout 1
settle
expect 0 "port monitor on behalf of a job owner" -- bash -c \
  "\"$PANP\" answer -t port-monitor -p lobby --reply 1234 -C 1 -W 10 >/dev/null 2>&1 & sleep 0.5; \"$EX/port_monitor\" --printer lobby --owner $me --job 9 --pin 1234 --timeout 5; rc=\$?; wait; exit \$rc"
contains "$tmp/out" "job 9 released" "on-behalf port monitor"

# the README's ten-line listener and sender: shown verbatim, and working
for f in listener sender; do
  python3 - reference-client/README.md "reference-client/examples/$f.c" <<'EOF' && ok || bad "README does not show examples/$f.c verbatim"
import sys
readme, src = open(sys.argv[1]).read(), open(sys.argv[2]).read().splitlines()
start = next(i for i, l in enumerate(src) if l.startswith(("static void", "int main")))
assert "\n".join(src[start:]) in readme
EOF
done
settle
"$EX/listener" "$PANP_BROKER" >"$tmp/l.out" 2>"$tmp/l.err" & lp=$!
wait_regs 1
expect 0 "ten-line sender" -- "$EX/sender" "$PANP_BROKER" "hello from the README"
contains "$tmp/out" "sent to 1 listener(s)" "sender output"
for _ in $(seq 100); do [ -s "$tmp/l.out" ] && break; sleep 0.05; done
kill "$lp"; wait "$lp" 2>/dev/null
[ "$(cat "$tmp/l.out")" = "hello from the README" ] && ok || bad "listener output: $(cat "$tmp/l.out")"
expect 1 "ten-line sender, no broker" -- "$EX/sender" "unix:$tmp/none.sock"
expect 1 "ten-line listener, no broker" -- "$EX/listener" "unix:$tmp/none.sock"

# peer gone: the broker dies under a listener (exit 5); with --reconnect
# another listener survives and hears what is sent after the restart.
settle
"$PANP" listen -W 20 >"$tmp/l.out" 2>"$tmp/l.err" & lp=$!
"$PANP" listen --reconnect -C 1 -W 20 >"$tmp/r.out" 2>"$tmp/r.err" & rp=$!
wait_regs 2
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
wait "$lp"; rc=$?
[ $rc -eq 5 ] && ok || bad "listen after broker death: exit $rc, want 5 ($(cat "$tmp/l.err"))"
start_broker || bad "panpd restart"
wait_regs 1
expect 0 "send after restart" -- "$PANP" send -m "welcome back"
wait "$rp"; rc=$?
[ $rc -eq 0 ] && ok || bad "reconnecting listener exit $rc ($(cat "$tmp/r.err"))"
[ "$(cat "$tmp/r.out")" = "welcome back" ] && ok || bad "reconnect output: $(cat "$tmp/r.out")"
contains "$tmp/r.err" "reconnected" "reconnect message"

finish
