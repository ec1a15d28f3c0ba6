#!/usr/bin/env bash
# Sets up this machine, builds smux-echo and runs its demo: many streams over one loopback
# TCP connection. Extra arguments go to `smux-echo demo` (e.g. --streams 100 --version 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target smux-echo
exec build/release/tools/smux-echo demo "$@"
