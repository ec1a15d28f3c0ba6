#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS (default 60),
# starting from the seed corpus in fuzz/corpus. New inputs go to build/fuzz/corpus-*; a crash
# leaves its input in build/fuzz/ and fails the script.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(frame_decode session_recv session_actions
                                     kcp_engine_input kcp_fec_decode kcp_packet)

scripts/install-deps.sh
cmake --preset fuzz >/dev/null
# Only the targets to run and the two engines under them: the build tree also holds the Asio
# front end's libraries, which no fuzz target links.
cmake --build --preset fuzz --target "${targets[@]/#/smux_fuzz_}"
for t in "${targets[@]}"; do
  work="build/fuzz/corpus-$t"
  mkdir -p "$work"
  echo "=== fuzzing $t for ${seconds}s ===" >&2
  build/fuzz/fuzz/smux_fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -artifact_prefix=build/fuzz/ -print_final_stats=1 "$work" "fuzz/corpus/$t" 2>&1 | tail -n 12
done
