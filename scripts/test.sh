#!/usr/bin/env bash
# Sets up this machine, then builds and runs the whole test suite: the source checks; the
# release build's tests with g++ 12 (engine, Asio front end, fuzz corpus replay, packaging, Go
# interop); the same suite built with clang 14 under AddressSanitizer + UBSan; the tests that
# run smux on more than one thread built with g++ under ThreadSanitizer (a single-threaded
# test cannot race); each libFuzzer target for a short bounded time; and the benchmark
# contract's smoke runs (smux, the KCP link and the tunnel: every pairing and mode once, for
# correctness, not speed).
# Both compilers build and test everything: g++ in release, clang in ASan (the presets
# `clang` and `asan-gcc` give the other pairings by hand).
# `--quick` runs the source checks and the release suite only.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# Each stage reports how long it took, so a slow CI run shows where its time went.
stage() {
  local name=$1 start=$SECONDS
  shift
  echo "=== $name ===" >&2
  "$@"
  echo "=== $name: $((SECONDS - start)) s ===" >&2
}

stage install-deps scripts/install-deps.sh
stage check-sources scripts/check-sources.sh

run_preset() {
  local preset=$1
  cmake --preset "$preset" >/dev/null
  stage "$preset build" cmake --build --preset "$preset"
  stage "$preset tests" ctest --preset "$preset"
}

run_preset release
if [ "$quick" -eq 0 ]; then
  run_preset asan
  run_preset tsan
  # 6 targets x 15 s: the 90 s the 3 smux targets had at 30 s each.
  stage fuzz scripts/fuzz.sh "${SMUX_CI_FUZZ_SECONDS:-15}"
  stage "bench smoke" bench/compare.sh --smoke
  stage "kcp bench smoke" bench/kcp/compare.sh --smoke
  stage "tunnel bench smoke" bench/tunnel/compare.sh --smoke
fi
echo "all tests passed in $SECONDS s" >&2
