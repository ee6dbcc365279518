#!/usr/bin/env bash
# Checks the golden vectors in conformance/vectors/positive: every .txtpb
# must encode (protoc --encode, Google's reference encoder) to exactly the
# committed .bin, and every .bin must survive a parse and re-serialise with
# python3-protobuf unchanged (canonical form).  Also checks that every
# negative vector named in negative/index.json exists and vice versa.
#
# usage: tools/check-vectors.sh            check (what `make test` runs)
#        tools/check-vectors.sh --update   rewrite the .bin files from the .txtpb
set -u
cd "$(dirname "$0")/.."

# The generated Python module ($(GEN)/py): the plain build's, else the
# sanitizer build's, else generated here with the same protoc command.
if [ -z "${GEN:-}" ]; then
  for g in build/gen build-san/gen; do
    [ -f "$g/py/panp/v1/panp_pb2.py" ] && { GEN=$g; break; }
  done
fi
PROTO=panp/v1/panp.proto
POS=conformance/vectors/positive
NEG=conformance/vectors/negative
update=0
[ "${1:-}" = "--update" ] && update=1

pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${GEN:-}" ]; then
  GEN=$tmp/gen
  mkdir -p "$GEN/py"
  protoc -Iproto --python_out="$GEN/py" "proto/$PROTO"
fi

shopt -s nullglob
txts=("$POS"/*.txtpb)
[ ${#txts[@]} -gt 0 ] || bad "no positive vectors in $POS"

for t in "${txts[@]}"; do
  b=${t%.txtpb}.bin
  head -n 1 "$t" | grep -q '^#' || bad "$t: does not start with a # comment"
  if ! protoc -Iproto --encode=panp.v1.Frame "$PROTO" <"$t" >"$tmp/out.bin" 2>"$tmp/err"; then
    bad "$t: protoc --encode failed: $(cat "$tmp/err")"
    continue
  fi
  if [ $update -eq 1 ]; then
    cmp -s "$tmp/out.bin" "$b" || { cp "$tmp/out.bin" "$b"; echo "updated $b"; }
  fi
  if cmp -s "$tmp/out.bin" "$b"; then ok; else bad "$b differs from protoc's encoding of $t"; fi
done

for b in "$POS"/*.bin; do
  [ -f "${b%.bin}.txtpb" ] || bad "$b has no .txtpb"
done

# Parse and re-serialise every .bin with Google's Python runtime.
if [ ! -f "$GEN/py/panp/v1/panp_pb2.py" ]; then
  bad "$GEN/py/panp/v1/panp_pb2.py missing (make generate)"
else
  out=$(PYTHONPATH="$GEN/py" /usr/bin/python3 - "$POS" <<'PY'
import glob, os, sys
from panp.v1 import panp_pb2
bad = 0
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.bin")))
for path in files:
    data = open(path, "rb").read()
    m = panp_pb2.Frame()
    m.ParseFromString(data)
    if m.SerializeToString(deterministic=True) != data:
        print("FAIL %s: python re-serialisation differs" % path)
        bad += 1
    if m.WhichOneof("body") is None:
        print("FAIL %s: no body" % path)
        bad += 1
print("python %d %d" % (len(files) - bad, bad))
PY
)
  echo "$out" | grep '^FAIL' || true
  p=$(echo "$out" | awk '/^python/ {print $2}'); f=$(echo "$out" | awk '/^python/ {print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
fi

# Negative vectors: index and files agree.
if [ -f "$NEG/index.json" ]; then
  out=$(/usr/bin/python3 - "$NEG" <<'PY'
import json, os, sys
neg = sys.argv[1]
idx = json.load(open(os.path.join(neg, "index.json")))
named = set()
bad = 0
codes = {"INVALID_ARGUMENT", "PROTOCOL_VIOLATION", "FRAME_TOO_LARGE", "RESOURCE_EXHAUSTED"}
for e in idx:
    named.add(e["file"])
    missing = [k for k in ("file", "level", "peer", "expect", "field", "why") if k not in e]
    if missing or e["level"] not in ("frame", "stream") or e["peer"] not in ("broker", "client", "any") \
            or e["expect"] not in codes or not os.path.isfile(os.path.join(neg, e["file"])):
        print("FAIL negative/index.json entry %r" % e)
        bad += 1
for f in os.listdir(neg):
    if f.endswith(".bin") and f not in named:
        print("FAIL negative/%s is not in index.json" % f)
        bad += 1
print("negative %d %d" % (len(idx) - bad, bad))
PY
)
  echo "$out" | grep '^FAIL' || true
  p=$(echo "$out" | awk '/^negative/ {print $2}'); f=$(echo "$out" | awk '/^negative/ {print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
else
  bad "$NEG/index.json missing"
fi

echo "check-vectors: $pass passed, $fail failed"
[ $fail -eq 0 ]
