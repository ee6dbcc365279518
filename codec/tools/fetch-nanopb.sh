#!/usr/bin/env bash
# Fetches the nanopb runtime sources (pb_common.c, pb_decode.c, pb_encode.c)
# of the nanopb version installed on this machine into DEST, with
# `apt-get source` from Debian's own archive.
#
# Why: Debian ships the runtime only as an x86-64 libprotobuf-nanopb.a (what
# host builds link).  `make footprint` compiles it for a Cortex-M4 with the
# device options (PB_BUFFER_ONLY, no PB_ENABLE_MALLOC), which needs the C
# sources.  Nothing fetched here is committed; it lives under build/.
#
# apt-get runs with a private source list and state directory, so the
# machine's apt configuration is not touched.
#
# usage: fetch-nanopb.sh DEST
set -euo pipefail

dest=${1:?usage: fetch-nanopb.sh DEST}
[ -f "$dest/pb_decode.c" ] && exit 0

version=$(dpkg-query -W -f='${Version}' nanopb 2>/dev/null || true)
[ -n "$version" ] || { echo "fetch-nanopb: the nanopb package is not installed (make deps)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
cat >"$work/parts/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
          -o "APT::Sandbox::User=root" -qq)

echo "fetch-nanopb: apt-get source nanopb=$version (private apt state in $work)" >&2
apt-get "${apt_opts[@]}" update >/dev/null
(cd "$work/src" && apt-get "${apt_opts[@]}" --download-only source "nanopb=$version" >/dev/null)

# Unpack the upstream tarball ourselves: works without dpkg-dev, and Debian
# carries no patches to the runtime sources.
orig=$(ls "$work"/src/nanopb_*.orig.tar.* | head -n 1)
mkdir -p "$work/unpacked"
tar -xf "$orig" -C "$work/unpacked"
top=$(find "$work/unpacked" -name pb_decode.c -printf '%h\n' | head -n 1)
[ -n "$top" ] || { echo "fetch-nanopb: no pb_decode.c in $orig" >&2; exit 1; }

# The headers we compile against are the system's (libnanopb-dev); refuse a
# runtime that does not match them byte for byte.
for h in pb.h pb_common.h pb_decode.h pb_encode.h; do
  if ! cmp -s "$top/$h" "/usr/include/$h"; then
    echo "fetch-nanopb: $h from the source package differs from /usr/include/$h" >&2
    exit 1
  fi
done

mkdir -p "$dest"
cp "$top"/pb_common.c "$top"/pb_decode.c "$top"/pb_encode.c "$top"/pb*.h "$top/LICENSE.txt" "$dest/"
echo "fetch-nanopb: nanopb $version runtime in $dest" >&2
