#!/usr/bin/env bash
# Packs the build with CPack into its Debian packages (libsmux-dev, smux-tools), unpacks them
# into a scratch root (no dpkg database, no root needed), runs the tools from there, and builds
# and runs consumers against the unpacked files: find_package(smux COMPONENTS kcp ssl), and
# pkg-config with smux, smux-kcp and smux-ssl.
# Usage: deb.sh SOURCE_DIR BUILD_DIR SCRATCH_DIR
set -euo pipefail
src=$1 build=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch/root"
(cd "$build" && cpack -G DEB -B "$scratch/debs" >/dev/null)
for name in libsmux-dev smux-tools; do
  deb=$(ls "$scratch"/debs/"${name}"_*.deb)
  dpkg-deb --field "$deb" Package Version Depends
  dpkg-deb -x "$deb" "$scratch/root"
done
usr="$scratch/root/usr"

# The tools, from the unpacked smux-tools.
"$usr/bin/smux-tunnel" --version
timeout 60 "$usr/bin/smux-echo" demo --streams 4 >/dev/null
"$usr/bin/smux-bench" --help >/dev/null

# CMake: the unpacked libsmux-dev, with both components.
"$src/tests/package/consumer.sh" "$src" "$usr" "$scratch/find" "kcp;ssl"

# pkg-config: --define-prefix takes the prefix from where the .pc files are.
pc() { PKG_CONFIG_PATH="$usr/lib/pkgconfig" pkg-config --define-prefix "$@"; }
cxx=${CXX:-c++}
# shellcheck disable=SC2046 # the flags are words
"$cxx" -std=c++20 -o "$scratch/pc_consumer" "$src/tests/package/consumer/main.cpp" \
  $(pc --cflags --libs smux)
"$scratch/pc_consumer"
# shellcheck disable=SC2046
"$cxx" -std=c++20 -o "$scratch/pc_consumer_kcp" "$src/tests/package/consumer/consumer_kcp.cpp" \
  $(pc --cflags --libs smux-kcp smux-ssl)
"$scratch/pc_consumer_kcp"
echo "the Debian packages unpacked, their tools ran, and CMake and pkg-config consumers built and ran"
