#!/usr/bin/env bash
# Installs the Debian packages panp builds, tests and benchmarks with.
# Does nothing when they are all present; needs root (or sudo) otherwise.
set -euo pipefail

pkgs=(
  make gcc clang-14 llvm-14 libclang-rt-14-dev valgrind pkg-config
  protobuf-c-compiler libprotobuf-c-dev nanopb libnanopb-dev
  protobuf-compiler libprotobuf-dev python3-protobuf
  libcmocka-dev libevent-dev libssl-dev libinih-dev
  mosquitto libmosquitto-dev nats-server gcc-arm-none-eabi libnewlib-arm-none-eabi
  openssl iproute2 procps xxd
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
