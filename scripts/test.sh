#!/usr/bin/env bash
# Sets up this machine, then builds and runs the whole test suite: release build (unit, Asio
# and interop tests), the same suite under AddressSanitizer + UBSan and under ThreadSanitizer,
# a clang 14 build, and the source checks. `--quick` runs the release suite only.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/install-deps.sh
scripts/check-sources.sh

run_preset() {
  local preset=$1
  echo "=== $preset ===" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset"
}

run_preset release
if [ "$quick" -eq 0 ]; then
  run_preset asan
  run_preset tsan
  run_preset clang
fi
echo "all tests passed" >&2
