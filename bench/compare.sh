#!/usr/bin/env bash
# Installs the dependencies, builds the C++ smux-bench (release preset) and the Go smuxbench,
# then runs bench/compare.py with the given arguments, e.g.:
#   bench/compare.sh              full matrix into bench/results/latest.{json,md,png}
#   bench/compare.sh --quick      tiny real run into bench/results/tmp/
#   bench/compare.sh --smoke      contract check (CI), results in a temporary directory
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
{
  cmake --preset release >/dev/null
  cmake --build --preset release --target smux-bench
  mkdir -p build/bench-go
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/build/bench-go/gocache" \
    go build -o build/bench-go/smuxbench-go ./bench/go/smuxbench
} >&2

# Debian's interpreter: python3-matplotlib (for the chart) is installed for it.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" bench/compare.py --cpp build/release/tools/smux-bench \
  --go build/bench-go/smuxbench-go "$@"
