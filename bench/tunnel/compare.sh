#!/usr/bin/env bash
# Builds smux-tunnel and udp-relay (release preset), installs Debian's kcptun, then runs
# bench/tunnel/compare.py with the given arguments, e.g.:
#   bench/tunnel/compare.sh           full comparison into bench/results/tunnel.{json,md}
#   bench/tunnel/compare.sh --smoke   a check that every part works, in a temporary directory
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/install-deps.sh
{
  cmake --preset release >/dev/null
  cmake --build --preset release --target smux-tunnel udp-relay
} >&2

py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" bench/tunnel/compare.py --smux build/release/tools/smux-tunnel \
  --relay build/release/tests/tools/udp_relay/udp-relay "$@"
