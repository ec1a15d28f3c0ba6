#!/usr/bin/env bash
# Builds the C++ smux-kcp-bench and udp-relay (release preset) and the Go kcpbench, then runs
# bench/kcp/compare.py with the given arguments, e.g.:
#   bench/kcp/compare.sh              full comparison into bench/results/kcp-latest.{json,md}
#   bench/kcp/compare.sh --quick      1 round, 8 MiB per run, into bench/results/tmp/
#   bench/kcp/compare.sh --smoke      contract check (CI), results in a temporary directory
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/install-deps.sh
{
  cmake --preset release >/dev/null
  cmake --build --preset release --target smux-kcp-bench udp-relay
  mkdir -p build/bench-go
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/build/bench-go/gocache" \
    go build -o build/bench-go/kcpbench-go ./bench/kcp/go/kcpbench
} >&2

py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" bench/kcp/compare.py --cpp build/release/bench/kcp/smux-kcp-bench \
  --go build/bench-go/kcpbench-go --relay build/release/tests/tools/udp_relay/udp-relay "$@"
