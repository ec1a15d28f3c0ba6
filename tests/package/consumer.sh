#!/usr/bin/env bash
# Builds the consumer project (tests/package/consumer) against the smux installed under PREFIX
# with find_package(smux COMPONENTS ...), and runs each of its programs.
# Usage: consumer.sh SOURCE_DIR PREFIX BUILD_DIR [COMPONENTS]
#   COMPONENTS: a CMake list, e.g. "kcp;ssl" (which also builds consumer_kcp)
set -euo pipefail
src=$1 prefix=$2 build=$3 components=${4:-}
cmake -S "$src/tests/package/consumer" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DSMUX_COMPONENTS="$components" >/dev/null
jobs=${CMAKE_BUILD_PARALLEL_LEVEL:-2}  # two at most, as the other package tests
((jobs <= 2)) || jobs=2
cmake --build "$build" -j "$jobs" >/dev/null
"$build/consumer"
if [[ -x "$build/consumer_kcp" ]]; then
  "$build/consumer_kcp"
fi
