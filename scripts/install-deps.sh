#!/usr/bin/env bash
# Installs the Debian 12 packages pkio needs to build, test and run. Idempotent and
# non-interactive; needs root (uses sudo when not root).
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libdpdk-dev dpdk-dev libnuma-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libpcap-dev libexpected-dev
  libcpp-httplib-dev prometheus
  iproute2 python3 doxygen tshark
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
