#!/usr/bin/env bash
# Installs the built smux into a scratch prefix, then builds and runs a consumer project that
# finds it with find_package, and one that pulls the source tree in with FetchContent.
# Usage: run.sh SOURCE_DIR BUILD_DIR SCRATCH_DIR
set -euo pipefail
src=$1 build=$2 scratch=$3
rm -rf "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
"$src/tests/package/consumer.sh" "$src" "$scratch/prefix" "$scratch/find"
cmake -S "$src/tests/package/consumer" -B "$scratch/fetch" -DSMUX_CONSUME=FetchContent \
      -DSMUX_SOURCE_DIR="$src" >/dev/null
cmake --build "$scratch/fetch" -j2 --target consumer >/dev/null
"$scratch/fetch/consumer"
echo "find_package and FetchContent consumers built and ran"
