#!/usr/bin/env bash
# SPEC.md's appendix shows a session as hex.  Google's protoc must decode
# every frame of it to exactly what the matching conformance/vectors/session
# text file documents, and the hex must be the committed .bin byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=SPEC.md
dir=conformance/vectors/session
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
decode() { protoc -Iproto --decode=panp.v1.Frame panp/v1/panp.proto; }

# Split the ```hex session/NAME blocks into one hex file each.
awk -v out="$tmp" '
  /^```hex session\// { name = substr($2, 9); file = out "/" name ".hex"; next }
  /^```/ { file = ""; next }
  file != "" { print >> file }
' "$spec"

pass=0; fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); fi; }

frame_ok() {
  local name=$1 hex="$tmp/$1.hex" txt="$dir/$1.txtpb" bin="$dir/$1.bin"
  if [ ! -f "$hex" ]; then echo "appendix: no hex block for session/$name"; return 1; fi
  tr -d ' \t\n' < "$hex" | xxd -r -p > "$tmp/$name.appendix.bin"
  if ! cmp -s "$tmp/$name.appendix.bin" "$bin"; then
    echo "appendix: session/$name hex differs from $bin"; return 1
  fi
  if ! decode < "$tmp/$name.appendix.bin" > "$tmp/$name.from-appendix.txt"; then
    echo "appendix: protoc cannot decode session/$name"; return 1
  fi
  protoc -Iproto --encode=panp.v1.Frame panp/v1/panp.proto < "$txt" | decode > "$tmp/$name.documented.txt"
  if ! diff -u "$tmp/$name.documented.txt" "$tmp/$name.from-appendix.txt"; then
    echo "appendix: session/$name decodes to something other than $txt"; return 1
  fi
}

names=$(ls "$dir"/*.txtpb 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.txtpb$//' || true)
if [ -z "$names" ]; then echo "appendix: no session vectors in $dir"; exit 1; fi
for n in $names; do check frame_ok "$n"; done
for h in "$tmp"/*.hex; do
  n=$(basename "$h" .hex)
  [ -f "$dir/$n.txtpb" ] || { echo "appendix: block session/$n has no $dir/$n.txtpb"; fail=$((fail+1)); }
done
echo "spec-appendix: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
