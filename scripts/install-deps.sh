#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the tools need (only missing ones).
set -euo pipefail

packages=(
  cmake g++ clang clang-format libclang-rt-14-dev doxygen
  libasio-dev libcli11-dev nlohmann-json3-dev libssl-dev zlib1g-dev libsodium-dev libisal-dev libsnappy-dev pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  golang-go golang-github-xtaci-smux-dev golang-github-xtaci-kcp-dev golang-github-golang-snappy-dev
  kcptun
  python3 python3-matplotlib curl openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
